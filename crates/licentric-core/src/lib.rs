//! Licentric's pure licensing domain.
//!
//! This crate owns the vocabulary every other part speaks: license keys and their
//! prefixes, license statuses, the validation codes of the `/api/v1` wire API with their
//! plain-language explanations, and the [`Clock`] through which all time enters.
//! It performs no I/O: no network, no files, no database, no UI. Time and randomness are
//! parameters, so tests control them.
//!
//! It also owns the trust primitives: account signing keys and the JWKS clients pin
//! ([`PublicKeySet`]), the signed offline license file ([`LicenseFile`]), the signed
//! validation token ([`issue_token`], [`authenticate_token`], and for an online answer
//! [`authenticate_answer`] with the request's [`Nonce`]), offline verification with
//! named refusals ([`verify_license_file`], [`OfflineRefusal`]), the grace period and
//! clock-tampering state machine ([`LicenseState`], [`TrustedTime`]), offline activation
//! requests ([`ActivationRequest`]) and machine fingerprints ([`fingerprint()`]).
//! `docs/formats.md` describes every format byte for byte.
#![deny(missing_docs)]

mod clock;
mod error;
mod key;
mod license;
mod scope;
mod validation;
pub mod wire;

mod activation_request;
pub mod dangerous;
mod fingerprint;
mod grace;
mod license_file;
mod nonce;
mod offline;
mod signing;
mod token;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::Error;
pub use key::{KeyPrefix, LicenseKey, KEY_ALPHABET};
pub use license::LicenseStatus;
pub use scope::{Environment, Scope};
pub use validation::{
    evaluate, failing, Explanation, FingerprintCheck, LicenseFacts, ValidationCode,
};

pub use activation_request::{
    ActivationRequest, LicenseReference, RequestRefusal, ACTIVATION_REQUEST_PREFIX,
};
pub use fingerprint::fingerprint;
pub use grace::{
    LicenseState, NotLicensedReason, TokenSource, TrustedTime, CLOCK_TOLERANCE, DEFAULT_GRACE_DAYS,
};
pub use license_file::{LicenseFile, LicensePayload, VerifiedLicenseFile, LICENSE_FILE_FORMAT};
pub use nonce::Nonce;
pub use offline::{verify_license_file, verify_token, OfflineRefusal};
pub use signing::{derive_key_id, AccountPublicKey, AccountSigningKey, Jwk, Jwks, PublicKeySet};
pub use token::{
    authenticate_answer, authenticate_token, issue_token, AnswerRefusal, TokenClaims,
    VerifiedToken, TOKEN_ISSUER,
};
