//! Licentric's pure licensing domain.
//!
//! This crate owns the vocabulary every other part speaks: license keys and their
//! prefixes, license statuses, the validation codes of the `/api/v1` wire API with their
//! plain-language explanations, and the [`Clock`] through which all time enters.
//! It performs no I/O: no network, no files, no database, no UI. Time and randomness are
//! parameters, so tests control them.
#![deny(missing_docs)]

mod clock;
mod error;
mod key;
mod license;
mod scope;
mod validation;
pub mod wire;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::Error;
pub use key::{KeyPrefix, LicenseKey, KEY_ALPHABET};
pub use license::LicenseStatus;
pub use scope::{Environment, Scope};
pub use validation::{evaluate, Explanation, FingerprintCheck, LicenseFacts, ValidationCode};
