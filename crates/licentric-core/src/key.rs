//! License keys: `PREFIX-XXXX-XXXX-XXXX-XXXX`.
//!
//! The prefix belongs to the product (`MYAPP`, `PROAPP`). Generated keys draw their
//! sixteen characters uniformly from [`KEY_ALPHABET`], which leaves out the look-alikes
//! `0 O 1 I`, giving 80 bits of entropy. Parsing is more lenient than generation: any
//! `A–Z 0–9` group is accepted, so keys imported from elsewhere (and the documentation's
//! `PROAPP-A1B2-C3D4-E5F6-G7H8`) keep working. Case and surrounding whitespace are
//! forgiven, because people paste keys from e-mails.

use std::fmt;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::Error;

/// The characters a generated key group is drawn from: `A–Z` and `2–9` without `I`, `O`.
pub const KEY_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

const GROUPS: usize = 4;
const GROUP_LEN: usize = 4;

/// A product's license key prefix: 2–12 characters `A–Z 0–9`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyPrefix(String);

impl KeyPrefix {
    /// Parses a prefix, upper-casing it first.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let prefix = input.trim().to_ascii_uppercase();
        let valid_length = (2..=12).contains(&prefix.len());
        let starts_with_letter = prefix.starts_with(|c: char| c.is_ascii_uppercase());
        let all_allowed = prefix
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if valid_length && starts_with_letter && all_allowed {
            Ok(Self(prefix))
        } else {
            Err(Error::InvalidKeyPrefix(input.to_owned()))
        }
    }

    /// The prefix as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for KeyPrefix {
    type Error = Error;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<KeyPrefix> for String {
    fn from(value: KeyPrefix) -> Self {
        value.0
    }
}

impl fmt::Display for KeyPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A well-formed license key, normalised to upper case.
///
/// `Debug` shows only the prefix and the last group: keys are secrets and end up in logs.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LicenseKey(String);

impl LicenseKey {
    /// Parses a key typed or pasted by a person: surrounding whitespace and case are
    /// forgiven, the shape is not.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let key = Self::normalize(input);
        let mut parts = key.split('-');
        let prefix_ok = parts
            .next()
            .is_some_and(|prefix| KeyPrefix::parse(prefix).is_ok());
        let groups: Vec<&str> = parts.collect();
        let groups_ok = groups.len() == GROUPS
            && groups.iter().all(|group| {
                group.len() == GROUP_LEN
                    && group
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            });
        if prefix_ok && groups_ok {
            Ok(Self(key))
        } else {
            Err(Error::InvalidLicenseKey)
        }
    }

    /// The canonical spelling of whatever was typed: trimmed and upper-cased. Servers look
    /// keys up by this form, so a key that is not well-formed simply is not found.
    pub fn normalize(input: &str) -> String {
        input.trim().to_ascii_uppercase()
    }

    /// A fresh key for `prefix`, with its groups drawn uniformly from [`KEY_ALPHABET`].
    pub fn generate(prefix: &KeyPrefix, rng: &mut impl Rng) -> Self {
        let mut key = String::with_capacity(prefix.as_str().len() + GROUPS * (GROUP_LEN + 1));
        key.push_str(prefix.as_str());
        for _ in 0..GROUPS {
            key.push('-');
            for _ in 0..GROUP_LEN {
                let index = rng.gen_range(0..KEY_ALPHABET.len());
                key.push(char::from(KEY_ALPHABET[index]));
            }
        }
        Self(key)
    }

    /// The key as text. Handle with care: this is the secret.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The prefix part of the key.
    pub fn prefix(&self) -> &str {
        self.0.split('-').next().unwrap_or_default()
    }

    /// A form safe for logs and screens that must not show the secret:
    /// `MYAPP-****-****-****-G8H9`.
    pub fn redacted(&self) -> String {
        let last = self.0.rsplit('-').next().unwrap_or_default();
        format!("{}-****-****-****-{last}", self.prefix())
    }
}

impl fmt::Debug for LicenseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LicenseKey").field(&self.redacted()).finish()
    }
}

#[cfg(test)]
mod tests {
    use rand::{rngs::StdRng, SeedableRng};

    use super::*;

    #[test]
    fn prefix_accepts_seed_prefixes_and_rejects_bad_ones() {
        assert_eq!(KeyPrefix::parse("proapp").unwrap().as_str(), "PROAPP");
        assert_eq!(KeyPrefix::parse("MYAPP").unwrap().as_str(), "MYAPP");
        for bad in ["", "A", "1APP", "MY-APP", "ABCDEFGHIJKLM", "ÄPP"] {
            assert_eq!(
                KeyPrefix::parse(bad),
                Err(Error::InvalidKeyPrefix(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn parse_forgives_case_and_whitespace_but_not_shape() {
        let key = LicenseKey::parse("  proapp-a1b2-c3d4-e5f6-g7h8\n").unwrap();
        assert_eq!(key.as_str(), "PROAPP-A1B2-C3D4-E5F6-G7H8");
        assert_eq!(key.prefix(), "PROAPP");
        for bad in [
            "",
            "PROAPP",
            "PROAPP-A1B2-C3D4-E5F6",
            "PROAPP-A1B2-C3D4-E5F6-G7H8-J9K2",
            "PROAPP-A1B2-C3D4-E5F6-G7H",
            "PROAPP-A1B2-C3D4-E5F6-G7H8X",
            "PROAPP_A1B2_C3D4_E5F6_G7H8",
            "PROAPP-A1B2-C3D4-E5F6-G7H!",
            "-A1B2-C3D4-E5F6-G7H8",
        ] {
            assert_eq!(
                LicenseKey::parse(bad),
                Err(Error::InvalidLicenseKey),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn generated_keys_parse_use_the_unambiguous_alphabet_and_differ() {
        let prefix = KeyPrefix::parse("MYAPP").unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let keys: Vec<LicenseKey> = (0..200)
            .map(|_| LicenseKey::generate(&prefix, &mut rng))
            .collect();
        for key in &keys {
            assert_eq!(LicenseKey::parse(key.as_str()).as_ref(), Ok(key));
            assert!(key.as_str().starts_with("MYAPP-"));
            let body = &key.as_str()["MYAPP-".len()..];
            assert!(body.bytes().all(|b| b == b'-' || KEY_ALPHABET.contains(&b)));
            assert!(!body.contains(['0', 'O', '1', 'I']));
        }
        let mut unique = keys.iter().map(LicenseKey::as_str).collect::<Vec<_>>();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), keys.len());
    }

    #[test]
    fn debug_and_redacted_hide_the_secret_part() {
        let key = LicenseKey::parse("MYAPP-A2B3-C4D5-E6F7-G8H9").unwrap();
        assert_eq!(key.redacted(), "MYAPP-****-****-****-G8H9");
        let debug = format!("{key:?}");
        assert!(!debug.contains("A2B3"), "{debug}");
    }
}
