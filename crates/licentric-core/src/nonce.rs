//! The nonce that ties an online validation answer to the request it answers.
//!
//! A client sends a fresh [`Nonce`] with each `validate-key` request; the server copies it
//! into the signed token's `nonce` claim. A token that carries another nonce (or none)
//! answers some other request: a replay, however genuine its signature. See
//! [`crate::authenticate_answer`] and `docs/formats.md`.

use std::fmt;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::{CryptoRng, RngCore};

use crate::Error;

/// A request nonce: 16–128 characters of `A–Z a–z 0–9 - _` (base64url without padding;
/// hex is a subset).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Nonce(String);

impl Nonce {
    /// The fewest characters a nonce may have.
    pub const MIN_LEN: usize = 16;
    /// The most characters a nonce may have.
    pub const MAX_LEN: usize = 128;

    /// Checks the shape of a nonce. Surrounding whitespace is not forgiven: a nonce is
    /// machine-made, and must come back byte for byte.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if (Self::MIN_LEN..=Self::MAX_LEN).contains(&text.len()) && text.chars().all(allowed) {
            Ok(Self(text.to_owned()))
        } else {
            Err(Error::InvalidNonce)
        }
    }

    /// A fresh nonce of 32 random bytes (43 base64url characters) from a cryptographically
    /// secure source.
    pub fn generate(rng: &mut (impl CryptoRng + RngCore)) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The nonce as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use rand::{rngs::StdRng, SeedableRng};

    use super::*;

    #[test]
    fn generated_nonces_are_fresh_and_parse_back() {
        let mut rng = StdRng::seed_from_u64(7);
        let first = Nonce::generate(&mut rng);
        let second = Nonce::generate(&mut rng);
        assert_ne!(first, second);
        assert_eq!(first.as_str().len(), 43);
        assert_eq!(Nonce::parse(first.as_str()), Ok(first));
    }

    #[test]
    fn shape_is_16_to_128_base64url_or_hex_characters() {
        for good in [
            "0123456789abcdef",
            "A-_zA-_zA-_zA-_z",
            &"f".repeat(128),
            "0123456789ABCDEF0123456789abcdef",
        ] {
            assert!(Nonce::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "0123456789abcde",
            &"f".repeat(129),
            "0123456789abcdef=",
            "0123456789 abcdef",
            " 0123456789abcdef",
            "0123456789abcdé+/",
            "0123456789abcdef\n",
        ] {
            assert_eq!(Nonce::parse(bad), Err(Error::InvalidNonce), "{bad:?}");
        }
    }
}
