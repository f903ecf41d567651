//! API keys: `lk_live_…` / `lk_test_…`, generated from the OS CSPRNG, shown once, stored
//! only as a SHA-256 hash.

use licentric_core::Environment;
use rand::{distributions::Alphanumeric, rngs::OsRng, Rng};
use sha2::{Digest, Sha256};

/// Random characters after the `lk_live_` prefix: 40 alphanumerics, about 238 bits.
const SECRET_LEN: usize = 40;
/// How much of a key is kept in clear so a person can tell keys apart in a list.
const DISPLAY_LEN: usize = 12;

/// A freshly generated API key: the secret to show once, and what to store.
pub struct NewApiKey {
    /// The whole key. Show it once; never store it.
    pub secret: String,
    /// Hex SHA-256 of the whole key; what the database keeps.
    pub hash: String,
    /// The first characters, e.g. `lk_live_Ab3d`.
    pub display_prefix: String,
}

impl std::fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiKey")
            .field("display_prefix", &self.display_prefix)
            .finish_non_exhaustive()
    }
}

/// Generates a key for `environment` from the operating system's CSPRNG.
pub fn generate(environment: Environment) -> NewApiKey {
    let random: String = OsRng
        .sample_iter(&Alphanumeric)
        .take(SECRET_LEN)
        .map(char::from)
        .collect();
    let secret = format!("{}{random}", environment.api_key_prefix());
    NewApiKey {
        hash: hash(&secret),
        display_prefix: secret.chars().take(DISPLAY_LEN).collect(),
        secret,
    }
}

/// The stored form of a key: lowercase hex SHA-256.
pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_their_environment_prefix_and_hash_to_sha256_hex() {
        let live = generate(Environment::Live);
        assert!(live.secret.starts_with("lk_live_"));
        assert_eq!(live.secret.len(), "lk_live_".len() + SECRET_LEN);
        assert_eq!(live.hash, hash(&live.secret));
        assert_eq!(live.hash.len(), 64);
        assert!(!format!("{live:?}").contains(&live.secret));
        assert!(generate(Environment::Test).secret.starts_with("lk_test_"));
        assert_ne!(generate(Environment::Live).secret, live.secret);
        // Known vector, so the stored form is pinned: sha256("abc").
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
