//! The one error type of the core crate.

/// Everything the core crate can refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A key prefix is not 2–12 characters of `A–Z` and `0–9` starting with a letter.
    #[error("invalid key prefix {0:?}: use 2 to 12 letters or digits (A-Z, 0-9), starting with a letter")]
    InvalidKeyPrefix(String),
    /// A license key is not of the form `PREFIX-XXXX-XXXX-XXXX-XXXX`.
    #[error(
        "invalid license key: expected PREFIX-XXXX-XXXX-XXXX-XXXX, e.g. MYAPP-A2B3-C4D5-E6F7-G8H9"
    )]
    InvalidLicenseKey,
    /// A string is not one of the known license statuses.
    #[error("unknown license status {0:?}: expected active, suspended, revoked or banned")]
    UnknownLicenseStatus(String),
    /// A string is not one of the thirteen API key scopes.
    #[error("unknown scope {0:?}: expected one of licenses:read, licenses:write, machines:read, machines:write, products:read, products:write, policies:read, policies:write, entitlements:read, entitlements:write, webhooks:read, webhooks:write, analytics:read")]
    UnknownScope(String),
    /// A string is not `live` or `test`.
    #[error("unknown environment {0:?}: expected live or test")]
    UnknownEnvironment(String),
    /// A signing key id is not 1–64 characters of `A–Z a–z 0–9 . _ -`.
    #[error("invalid key id {0:?}: use 1 to 64 letters, digits, '.', '_' or '-'")]
    InvalidKeyId(String),
    /// A public key is not a usable Ed25519 public key.
    #[error("invalid Ed25519 public key: expected 32 bytes as unpadded base64url, and not a weak (small-order) point")]
    InvalidPublicKey,
    /// Two different public keys were given the same key id.
    #[error("key id {0:?} names two different public keys; give each key its own id")]
    DuplicateKeyId(String),
    /// A JWKS document holds an Ed25519 key that cannot be used.
    #[error("invalid JWKS: {0}")]
    InvalidJwks(String),
    /// A request nonce is not 16–128 characters of base64url (`A–Z a–z 0–9 - _`).
    #[error(
        "invalid nonce: use 16 to 128 characters of A-Z, a-z, 0-9, '-' or '_' (base64url or hex)"
    )]
    InvalidNonce,
    /// What was to be signed breaks a rule of its format, so nothing was signed.
    #[error("cannot sign: {0}")]
    InvalidSigningInput(&'static str),
}
