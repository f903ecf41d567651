//! Where the license key lives: the OS keyring (Secret Service on Linux, Keychain on macOS,
//! Credential Manager on Windows), or — only when no keyring is reachable, and never
//! silently — a file readable by its owner only, beside the token cache.
//!
//! Every save is read back, so a keyring that accepts writes but keeps nothing (as
//! keyring's mock does) is caught and the fallback used instead.

use std::path::PathBuf;

use crate::storage::Storage;

/// The key's file when no keyring is reachable.
pub const KEY_FILE: &str = "license.key";

/// Which stores may hold the license key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyStorage {
    /// The OS keyring, falling back to an owner-only file (with a warning) when no
    /// keyring is reachable.
    #[default]
    KeyringOrFile,
    /// The OS keyring only: refuse when it is unreachable.
    KeyringOnly,
    /// An owner-only file only (e.g. headless servers with no keyring).
    FileOnly,
}

/// Where a key was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLocation {
    /// In the OS keyring.
    Keyring,
    /// In this owner-only file, because no keyring was reachable (the reason is kept).
    File {
        /// The file.
        path: PathBuf,
        /// Why the keyring could not be used.
        keyring_problem: Option<String>,
    },
}

/// The license key store of one product.
#[derive(Debug, Clone)]
pub struct SecretStore {
    service: String,
    storage: Storage,
    mode: KeyStorage,
}

impl SecretStore {
    /// The store of `product_id`'s key, with the keyring entry
    /// `service = "licentric:<product id>"`, `user = "license-key"`.
    pub fn new(product_id: &str, storage: Storage, mode: KeyStorage) -> Self {
        Self {
            service: format!("licentric:{product_id}"),
            storage,
            mode,
        }
    }

    fn entry(&self) -> Result<keyring::Entry, String> {
        keyring::Entry::new(&self.service, "license-key").map_err(|e| e.to_string())
    }

    fn keyring_save(&self, key: &str) -> Result<(), String> {
        let entry = self.entry()?;
        entry.set_password(key).map_err(|e| e.to_string())?;
        // Read back through a fresh entry: only a real store returns what was written.
        match self.entry()?.get_password() {
            Ok(stored) if stored == key => Ok(()),
            Ok(_) => Err("the keyring returned a different value than was stored".to_owned()),
            Err(e) => Err(format!("the keyring did not keep the key ({e})")),
        }
    }

    /// Stores the key; says where.
    pub fn save(&self, key: &str) -> Result<KeyLocation, String> {
        let keyring_problem = match self.mode {
            KeyStorage::FileOnly => None,
            _ => match self.keyring_save(key) {
                Ok(()) => {
                    // One place only: a key left in a file after the keyring works is a leak.
                    let _ = self.storage.remove(KEY_FILE);
                    return Ok(KeyLocation::Keyring);
                }
                Err(problem) if self.mode == KeyStorage::KeyringOnly => {
                    return Err(format!(
                        "cannot store the license key in the OS keyring: {problem}"
                    ));
                }
                Err(problem) => Some(problem),
            },
        };
        if let Some(problem) = &keyring_problem {
            tracing::warn!(%problem, file = %self.storage.path(KEY_FILE).display(),
                "no OS keyring is reachable; the license key is kept in an owner-only file instead");
        }
        self.storage.write(KEY_FILE, key.as_bytes()).map_err(|e| {
            format!(
                "cannot store the license key in {}: {e}",
                self.storage.path(KEY_FILE).display()
            )
        })?;
        Ok(KeyLocation::File {
            path: self.storage.path(KEY_FILE),
            keyring_problem,
        })
    }

    /// The stored key, from the keyring or the fallback file.
    pub fn load(&self) -> Result<Option<String>, String> {
        if self.mode != KeyStorage::FileOnly {
            let found = self.entry().and_then(|entry| match entry.get_password() {
                Ok(key) => Ok(Some(key)),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(e.to_string()),
            });
            match found {
                Ok(Some(key)) => return Ok(Some(key)),
                Err(problem) if self.mode == KeyStorage::KeyringOnly => return Err(problem),
                Ok(None) | Err(_) => {}
            }
        }
        self.storage
            .read_text(KEY_FILE)
            .map(|key| key.map(|k| k.trim().to_owned()).filter(|k| !k.is_empty()))
            .map_err(|e| e.to_string())
    }

    /// Forgets the key everywhere.
    pub fn delete(&self) -> Result<(), String> {
        if self.mode != KeyStorage::FileOnly {
            if let Ok(entry) = self.entry() {
                match entry.delete_credential() {
                    Ok(()) | Err(keyring::Error::NoEntry) => {}
                    Err(e) if self.mode == KeyStorage::KeyringOnly => return Err(e.to_string()),
                    Err(_) => {}
                }
            }
        }
        self.storage.remove(KEY_FILE).map_err(|e| e.to_string())
    }
}
