//! The server secret: the root of the key that seals the accounts' signing keys at rest.
//!
//! The database holds every account's Ed25519 signing key, so a copy of the database file
//! alone must not be enough to forge licenses. Each key's 32-byte seed is sealed with
//! XChaCha20-Poly1305 under a *sealing key* derived from this secret with HKDF-SHA256;
//! the secret itself lives outside the database (a file beside it, or the environment).
//!
//! Only the derived sealing key is kept in memory, wiped on drop, and never printed:
//! `Debug` shows where the secret came from, nothing of its value.

use std::{
    fmt,
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::Context;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    XChaCha20Poly1305, XNonce,
};
use hkdf::Hkdf;
use rand::{rngs::OsRng, RngCore};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The shortest secret accepted, in characters.
pub const MIN_SECRET_LEN: usize = 32;

/// The environment variable that may hold the secret itself.
pub const SECRET_ENV: &str = "LICENTRIC_SECRET";

/// The file `serve` and `init` use beside the SQLite database when no secret is given.
pub const DEFAULT_SECRET_FILE: &str = "server-secret";

/// HKDF salt and info: they bind the derived key to this one purpose, so the same secret
/// could safely key something else later under another label.
const HKDF_SALT: &[u8] = b"licentric server secret";
const HKDF_INFO: &[u8] = b"licentric/v1 signing-key sealing";

/// The length of an XChaCha20-Poly1305 nonce.
pub const NONCE_LEN: usize = 24;

/// Where a secret came from, for messages (never the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretOrigin {
    /// Made up when the process started and forgotten when it ends: keys sealed with it
    /// cannot be unsealed by the next process, so they are replaced when found.
    Ephemeral,
    /// The `LICENTRIC_SECRET` environment variable.
    Environment,
    /// A file; `created` when this process wrote it.
    File {
        /// The file.
        path: PathBuf,
        /// Whether it was created just now.
        created: bool,
    },
}

impl fmt::Display for SecretOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ephemeral => f.write_str("an ephemeral secret made up at start"),
            Self::Environment => write!(f, "the {SECRET_ENV} environment variable"),
            Self::File {
                path,
                created: false,
            } => write!(f, "the file {}", path.display()),
            Self::File {
                path,
                created: true,
            } => write!(f, "the file {} (created just now)", path.display()),
        }
    }
}

/// The server secret, reduced to the key that seals signing keys. Cheap to clone.
#[derive(Clone)]
pub struct ServerSecret {
    sealing_key: Zeroizing<[u8; 32]>,
    origin: SecretOrigin,
}

impl ServerSecret {
    /// A secret from its text (surrounding whitespace, such as a file's final newline, is
    /// ignored). Refused when shorter than [`MIN_SECRET_LEN`] characters.
    pub fn from_text(text: &str, origin: SecretOrigin) -> anyhow::Result<Self> {
        let text = text.trim();
        if text.chars().count() < MIN_SECRET_LEN {
            anyhow::bail!(
                "the server secret from {origin} is too short: use at least {MIN_SECRET_LEN} characters (e.g. the output of `openssl rand -base64 32`)"
            );
        }
        Ok(Self::derive(text.as_bytes(), origin))
    }

    /// A random secret that lives only as long as this process: for tests and for servers
    /// whose database is thrown away with them.
    pub fn ephemeral() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(bytes.as_mut());
        Self::derive(bytes.as_ref(), SecretOrigin::Ephemeral)
    }

    /// Reads the secret from `path`.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text =
            Zeroizing::new(std::fs::read_to_string(path).with_context(|| {
                format!("cannot read the server secret file {}", path.display())
            })?);
        Self::from_text(
            &text,
            SecretOrigin::File {
                path: path.to_owned(),
                created: false,
            },
        )
    }

    /// Reads the secret from `path`, first creating the file with a new random secret
    /// (readable by its owner only) when it does not exist.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        if path.exists() {
            return Self::from_file(path);
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(bytes.as_mut());
        let text = Zeroizing::new(format!("{}\n", URL_SAFE_NO_PAD.encode(bytes.as_ref())));
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create the directory {}", parent.display()))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(path)
            .with_context(|| format!("cannot create the server secret file {}", path.display()))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write the server secret file {}", path.display()))?;
        Self::from_text(
            &text,
            SecretOrigin::File {
                path: path.to_owned(),
                created: true,
            },
        )
    }

    fn derive(secret: &[u8], origin: SecretOrigin) -> Self {
        let mut sealing_key = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(HKDF_SALT), secret)
            .expand(HKDF_INFO, sealing_key.as_mut())
            .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA256 output length"));
        Self {
            sealing_key,
            origin,
        }
    }

    /// Where the secret came from.
    pub fn origin(&self) -> &SecretOrigin {
        &self.origin
    }

    /// Whether the secret dies with this process.
    pub fn is_ephemeral(&self) -> bool {
        self.origin == SecretOrigin::Ephemeral
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.sealing_key.as_ref().into())
    }

    /// Seals a signing key's seed under a fresh random nonce; `context` is authenticated
    /// with it (e.g. the key's owner and id), so the sealed seed is bound to its row.
    /// Returns the nonce and the ciphertext with its tag.
    pub fn seal(&self, seed: &[u8; 32], context: &[u8]) -> ([u8; NONCE_LEN], Vec<u8>) {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: seed,
                    aad: context,
                },
            )
            .unwrap_or_else(|_| unreachable!("XChaCha20-Poly1305 seals 32 bytes"));
        (nonce, sealed)
    }

    /// Opens what [`Self::seal`] sealed with the same `context`; `None` when the secret,
    /// the context, the nonce or a byte of the ciphertext differs.
    pub fn open(&self, nonce: &[u8], sealed: &[u8], context: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
        if nonce.len() != NONCE_LEN {
            return None;
        }
        let opened = Zeroizing::new(
            self.cipher()
                .decrypt(
                    XNonce::from_slice(nonce),
                    Payload {
                        msg: sealed,
                        aad: context,
                    },
                )
                .ok()?,
        );
        let mut seed = Zeroizing::new([0u8; 32]);
        if opened.len() != seed.len() {
            return None;
        }
        seed.copy_from_slice(&opened);
        Some(seed)
    }
}

impl Default for ServerSecret {
    /// An ephemeral secret (see [`ServerSecret::ephemeral`]).
    fn default() -> Self {
        Self::ephemeral()
    }
}

impl PartialEq for ServerSecret {
    fn eq(&self, other: &Self) -> bool {
        self.sealing_key == other.sealing_key
    }
}

impl Eq for ServerSecret {}

impl fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSecret")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "correct horse battery staple, long enough";

    fn secret(text: &str) -> ServerSecret {
        ServerSecret::from_text(text, SecretOrigin::Environment).unwrap()
    }

    #[test]
    fn a_sealed_seed_opens_only_with_the_same_secret_and_context() {
        let seed = [7u8; 32];
        let (nonce, sealed) = secret(TEXT).seal(&seed, b"acct-1/live/k1-x");
        assert_eq!(sealed.len(), 48);
        assert!(!sealed.windows(32).any(|w| w == seed));
        let opened = secret(&format!("  {TEXT}\n"))
            .open(&nonce, &sealed, b"acct-1/live/k1-x")
            .unwrap();
        assert_eq!(*opened, seed);
        assert!(secret(&format!("{TEXT}!"))
            .open(&nonce, &sealed, b"acct-1/live/k1-x")
            .is_none());
        assert!(secret(TEXT)
            .open(&nonce, &sealed, b"acct-2/live/k1-x")
            .is_none());
        let mut tampered = sealed.clone();
        tampered[0] ^= 1;
        assert!(secret(TEXT)
            .open(&nonce, &tampered, b"acct-1/live/k1-x")
            .is_none());
        assert!(secret(TEXT)
            .open(&nonce[..12], &sealed, b"acct-1/live/k1-x")
            .is_none());
    }

    #[test]
    fn every_seal_uses_a_new_nonce() {
        let s = secret(TEXT);
        let (n1, c1) = s.seal(&[1u8; 32], b"");
        let (n2, c2) = s.seal(&[1u8; 32], b"");
        assert_ne!(n1, n2);
        assert_ne!(c1, c2);
    }

    #[test]
    fn short_secrets_are_refused_and_debug_shows_no_key_material() {
        let error = ServerSecret::from_text("too short", SecretOrigin::Environment).unwrap_err();
        assert!(error.to_string().contains("at least 32"), "{error}");
        let s = secret(TEXT);
        let debug = format!("{s:?}");
        assert!(debug.contains("Environment"), "{debug}");
        assert!(!debug.contains("horse"));
        let hex_key = hex::encode(s.sealing_key.as_ref());
        assert!(!debug.contains(&hex_key[..8]));
        assert!(ServerSecret::ephemeral().is_ephemeral());
        assert_ne!(ServerSecret::ephemeral(), ServerSecret::ephemeral());
    }

    #[test]
    fn load_or_create_writes_a_private_file_once_and_reads_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/server-secret");
        let first = ServerSecret::load_or_create(&path).unwrap();
        assert!(matches!(
            first.origin(),
            SecretOrigin::File { created: true, .. }
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let second = ServerSecret::load_or_create(&path).unwrap();
        assert!(matches!(
            second.origin(),
            SecretOrigin::File { created: false, .. }
        ));
        assert_eq!(first, second);
    }
}
