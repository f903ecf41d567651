//! The vendor console's connections: which license servers it can manage, and with which
//! API key.
//!
//! A connection is a name and a server URL, saved in `console-connections.json`; its API
//! key lives in the OS keyring (service [`KEYRING_SERVICE`], user = the connection's id)
//! and never leaves the Rust side: the web view sees the key's masked prefix and scopes,
//! as `GET /api-keys/me` tells them. The app's own local server is always there as the
//! connection [`LOCAL`]; its all-scopes key is created on first use and kept in the
//! keyring too.
//!
//! Commands take the active connection when they start ([`Console::session`]) and use it
//! throughout, as the end-user side does with its license server.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use licentric_client::Licentric;
use licentric_core::wire::CurrentApiKey;
use serde::{Deserialize, Serialize};

use crate::{error::Error, local_server::LocalServer};

/// The keyring service under which console API keys are kept.
pub const KEYRING_SERVICE: &str = "licentric-console";

/// The id of the app's own local server connection.
pub const LOCAL: &str = "local";

/// The file of saved connections, in the app's data folder.
const FILE: &str = "console-connections.json";

/// Where the console's API keys are kept. The app uses [`OsKeyring`]; unit tests a map.
pub trait KeyStore: Send + Sync + std::fmt::Debug {
    /// The key saved for `id`, if any.
    fn get(&self, id: &str) -> Result<Option<String>, String>;
    /// Saves `key` for `id`.
    fn set(&self, id: &str, key: &str) -> Result<(), String>;
    /// Forgets the key of `id` (nothing if there is none).
    fn delete(&self, id: &str) -> Result<(), String>;
}

/// The OS keyring (Secret Service on Linux, Keychain on macOS, Credential Manager on
/// Windows).
#[derive(Debug, Default)]
pub struct OsKeyring;

impl OsKeyring {
    fn entry(id: &str) -> Result<keyring::Entry, String> {
        keyring::Entry::new(KEYRING_SERVICE, id).map_err(|e| e.to_string())
    }
}

impl KeyStore for OsKeyring {
    fn get(&self, id: &str) -> Result<Option<String>, String> {
        match Self::entry(id)?.get_password() {
            Ok(key) => Ok(Some(key)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(error.to_string()),
        }
    }

    fn set(&self, id: &str, key: &str) -> Result<(), String> {
        Self::entry(id)?
            .set_password(key)
            .map_err(|e| e.to_string())?;
        // Read back through a fresh entry: a keyring that accepts writes but keeps nothing
        // would otherwise lose the key silently.
        match Self::entry(id)?.get_password() {
            Ok(stored) if stored == key => Ok(()),
            Ok(_) => Err("the keyring returned another value than was stored".to_owned()),
            Err(error) => Err(format!("the keyring did not keep the key ({error})")),
        }
    }

    fn delete(&self, id: &str) -> Result<(), String> {
        match Self::entry(id)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(error) => Err(error.to_string()),
        }
    }
}

/// Keys in memory: for unit tests, which must not touch the user's keyring.
#[derive(Debug, Default)]
pub struct MemoryKeys(Mutex<HashMap<String, String>>);

impl KeyStore for MemoryKeys {
    fn get(&self, id: &str) -> Result<Option<String>, String> {
        Ok(self.lock().get(id).cloned())
    }
    fn set(&self, id: &str, key: &str) -> Result<(), String> {
        self.lock().insert(id.to_owned(), key.to_owned());
        Ok(())
    }
    fn delete(&self, id: &str) -> Result<(), String> {
        self.lock().remove(id);
        Ok(())
    }
}

impl MemoryKeys {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A saved connection: no secret in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedConnection {
    /// Its id (`local`, or `c-<uuid>`).
    pub id: String,
    /// The name the vendor gave it.
    pub name: String,
    /// The server's base URL.
    pub url: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedConnections {
    active: Option<String>,
    connections: Vec<SavedConnection>,
}

/// A connection as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct ConsoleConnection {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The server's base URL, when known (the local server's only while it runs).
    pub url: Option<String>,
    /// Whether it is the app's own local server.
    pub local: bool,
    /// Whether the console uses it now.
    pub active: bool,
}

/// What the console may do on the connection in use: the web view's whole knowledge of
/// the API key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct ConsoleSession {
    /// The connection.
    pub connection: ConsoleConnection,
    /// The API key, as the server describes it: masked prefix, scopes, environment.
    pub key: CurrentApiKey,
}

/// The connection in use: its client (holding the key) and what the server said of it.
#[derive(Debug)]
pub struct Session {
    /// The management client, with the connection's API key.
    pub api: Licentric,
    /// What the web view may know.
    pub info: ConsoleSession,
}

/// The console's connections and the one in use.
#[derive(Debug)]
pub struct Console {
    file: PathBuf,
    keys: Arc<dyn KeyStore>,
    saved: Mutex<SavedConnections>,
    session: tokio::sync::Mutex<Option<Arc<Session>>>,
}

impl Console {
    /// The connections saved in `data_dir`, keys in `keys`. A broken file counts as none
    /// (logged): the keys are still in the keyring, and connections can be added again.
    pub fn new(data_dir: &Path, keys: Arc<dyn KeyStore>) -> Self {
        let file = data_dir.join(FILE);
        let saved = match std::fs::read(&file) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|error| {
                tracing::warn!(%error, "the console's saved connections are unreadable; starting with none");
                SavedConnections::default()
            }),
            Err(_) => SavedConnections::default(),
        };
        Self {
            file,
            keys,
            saved: Mutex::new(saved),
            session: tokio::sync::Mutex::new(None),
        }
    }

    fn saved(&self) -> SavedConnections {
        self.saved.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn store(&self, next: SavedConnections) -> Result<(), Error> {
        let bytes = serde_json::to_vec_pretty(&next).map_err(|e| Error::Storage(e.to_string()))?;
        let temporary = self.file.with_extension("json.tmp");
        std::fs::write(&temporary, bytes)
            .and_then(|()| std::fs::rename(&temporary, &self.file))
            .map_err(|e| Error::Storage(e.to_string()))?;
        *self.saved.lock().unwrap_or_else(|p| p.into_inner()) = next;
        Ok(())
    }

    fn active_id(&self, local: Option<&LocalServer>) -> Option<String> {
        let saved = self.saved();
        saved
            .active
            .filter(|id| id == LOCAL || saved.connections.iter().any(|c| &c.id == id))
            .or_else(|| local.map(|_| LOCAL.to_owned()))
            .or_else(|| saved.connections.first().map(|c| c.id.clone()))
    }

    /// Every connection: the local server first, then the saved ones in the order added.
    pub fn connections(&self, local: Option<&LocalServer>) -> Vec<ConsoleConnection> {
        let active = self.active_id(local);
        let local_entry = ConsoleConnection {
            id: LOCAL.to_owned(),
            name: "Local server".to_owned(),
            url: local.map(|l| l.running.base_url()),
            local: true,
            active: active.as_deref() == Some(LOCAL),
        };
        std::iter::once(local_entry)
            .chain(
                self.saved()
                    .connections
                    .into_iter()
                    .map(|c| ConsoleConnection {
                        active: active.as_deref() == Some(c.id.as_str()),
                        id: c.id,
                        name: c.name,
                        url: Some(c.url),
                        local: false,
                    }),
            )
            .collect()
    }

    /// The connection in use, opened (its key read from the keyring and described by the
    /// server) on first use.
    pub async fn session(&self, local: Option<&LocalServer>) -> Result<Arc<Session>, Error> {
        let mut current = self.session.lock().await;
        let wanted = self.active_id(local).ok_or_else(|| {
            Error::NoConnection("The console has no connection: the local server is off and no other server was added. Add a connection (server URL and API key), or turn the local server on in Settings.".to_owned())
        })?;
        if let Some(session) = current.as_ref().filter(|s| s.info.connection.id == wanted) {
            // The local server may have been restarted on another port since.
            let moved = wanted == LOCAL
                && local.map(|l| l.running.base_url()) != session.info.connection.url;
            if !moved {
                return Ok(session.clone());
            }
        }
        let session = Arc::new(self.open(&wanted, local).await?);
        *current = Some(session.clone());
        Ok(session)
    }

    async fn open(&self, id: &str, local: Option<&LocalServer>) -> Result<Session, Error> {
        let connection = self
            .connections(local)
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| Error::NoConnection(format!("There is no connection {id}.")))?;
        let (url, key) = if id == LOCAL {
            let local = local.ok_or_else(|| {
                Error::NoConnection("The local server is off, so its connection cannot be used. Turn it on in Settings, or choose another connection.".to_owned())
            })?;
            let key = local
                .console_key(self.keys.as_ref())
                .await
                .map_err(|e| Error::ServerUnavailable(format!("The local server could not give the console an API key: {e:#}. Restart the app.")))?;
            (local.running.base_url(), key)
        } else {
            let key = self.keys.get(id).map_err(Error::Keyring)?.ok_or_else(|| {
                Error::NoConnection(format!("The API key of \"{}\" is no longer in the system keyring. Remove the connection and add it again with its key.", connection.name))
            })?;
            (connection.url.clone().unwrap_or_default(), key)
        };
        let (api, key) = describe(&url, &key).await?;
        Ok(Session {
            api,
            info: ConsoleSession {
                connection: ConsoleConnection {
                    url: Some(url),
                    active: true,
                    ..connection
                },
                key,
            },
        })
    }

    /// Checks `api_key` against the server at `url`, then saves the connection (the key
    /// in the keyring) and makes it the one in use.
    pub async fn add(
        &self,
        name: &str,
        url: &str,
        api_key: &str,
        local: Option<&LocalServer>,
    ) -> Result<Arc<Session>, Error> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::InvalidInput(
                "Give the connection a name of 1 to 100 characters, e.g. \"Production\".".into(),
            ));
        }
        let url = check_url(url)?;
        let api_key = api_key.trim();
        if !api_key.starts_with("lk_") {
            return Err(Error::InvalidInput(
                "An API key starts with lk_live_ or lk_test_. Copy the whole key from where it was created.".into(),
            ));
        }
        // Asked first: a wrong key or URL saves nothing.
        let (api, key) = describe(&url, api_key).await?;
        let id = format!("c-{}", uuid_like());
        self.keys.set(&id, api_key).map_err(Error::Keyring)?;
        let mut saved = self.saved();
        saved.connections.push(SavedConnection {
            id: id.clone(),
            name: name.to_owned(),
            url: url.clone(),
        });
        saved.active = Some(id.clone());
        if let Err(error) = self.store(saved) {
            let _ = self.keys.delete(&id);
            return Err(error);
        }
        let connection = self
            .connections(local)
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| Error::NoConnection("The connection was not saved.".into()))?;
        let session = Arc::new(Session {
            api,
            info: ConsoleSession { connection, key },
        });
        *self.session.lock().await = Some(session.clone());
        Ok(session)
    }

    /// Makes `id` the connection in use; opens it to check it works before switching.
    pub async fn choose(
        &self,
        id: &str,
        local: Option<&LocalServer>,
    ) -> Result<Arc<Session>, Error> {
        let session = Arc::new(self.open(id, local).await?);
        let mut saved = self.saved();
        saved.active = Some(id.to_owned());
        self.store(saved)?;
        *self.session.lock().await = Some(session.clone());
        Ok(session)
    }

    /// Forgets a saved connection and its key. The local server cannot be removed.
    pub async fn remove(
        &self,
        id: &str,
        local: Option<&LocalServer>,
    ) -> Result<Vec<ConsoleConnection>, Error> {
        if id == LOCAL {
            return Err(Error::InvalidInput(
                "The local server's connection is part of the app and cannot be removed.".into(),
            ));
        }
        let mut saved = self.saved();
        let before = saved.connections.len();
        saved.connections.retain(|c| c.id != id);
        if saved.connections.len() == before {
            return Err(Error::NoConnection(format!("There is no connection {id}.")));
        }
        if saved.active.as_deref() == Some(id) {
            saved.active = None;
        }
        self.store(saved)?;
        self.keys.delete(id).map_err(Error::Keyring)?;
        let mut session = self.session.lock().await;
        if session.as_ref().is_some_and(|s| s.info.connection.id == id) {
            *session = None;
        }
        Ok(self.connections(local))
    }
}

/// A client for `url` with `key`, and what the server says the key may do.
async fn describe(url: &str, key: &str) -> Result<(Licentric, CurrentApiKey), Error> {
    let api = Licentric::builder().base_url(url).api_key(key).build()?;
    let described = api.current_api_key().await?;
    Ok((api, described))
}

/// The URL as the console will use it, or why it cannot be.
fn check_url(url: &str) -> Result<String, Error> {
    let trimmed = url.trim().trim_end_matches('/');
    let parsed = url::Url::parse(trimmed).map_err(|e| {
        Error::InvalidInput(format!(
            "\"{trimmed}\" is not a URL ({e}). Enter the server's address, e.g. https://licenses.example.com."
        ))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(Error::InvalidInput(
            "The server URL must start with https:// (or http:// for a server on this machine or your network).".into(),
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::InvalidInput(
            "Leave the user name and password out of the URL: the API key is the credential."
                .into(),
        ));
    }
    Ok(trimmed.to_owned())
}

/// A random id for a saved connection.
fn uuid_like() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_local_server_is_a_ready_connection_and_others_are_checked_before_saving() {
        let dir = tempfile::tempdir().unwrap();
        let keys: Arc<dyn KeyStore> = Arc::new(MemoryKeys::default());
        let local = crate::local_server::start(dir.path()).await.unwrap();
        let console = Console::new(dir.path(), keys.clone());

        let session = console.session(Some(&local)).await.unwrap();
        assert_eq!(session.info.connection.id, LOCAL);
        assert!(session.info.key.scopes.len() > 10, "{:?}", session.info.key);
        let kept = keys
            .get(&format!("local:{}", local.demo.account_id))
            .unwrap()
            .expect("the local key is kept");
        assert!(kept.starts_with(&session.info.key.display_prefix));
        let serialized = serde_json::to_string(&session.info).unwrap();
        assert!(!serialized.contains(&kept), "the key never leaves Rust");

        // A wrong key saves nothing; a good one is saved, in use, and only in the keyring.
        let url = local.running.base_url();
        let refused = console
            .add("Prod", &url, "lk_live_nope", Some(&local))
            .await;
        assert_eq!(refused.unwrap_err().code(), "unauthorized");
        assert_eq!(console.connections(Some(&local)).len(), 1);
        assert_eq!(
            console
                .add("", &url, &kept, Some(&local))
                .await
                .unwrap_err()
                .code(),
            "invalid_input"
        );
        let added = console
            .add("Second", &url, &kept, Some(&local))
            .await
            .unwrap();
        let id = added.info.connection.id.clone();
        assert!(!added.info.connection.local);
        let file = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert!(!file.contains(&kept), "{file}");
        assert!(file.contains("Second"), "{file}");

        // The choice survives a restart; switching back and removing work.
        let reopened = Console::new(dir.path(), keys.clone());
        assert_eq!(
            reopened
                .session(Some(&local))
                .await
                .unwrap()
                .info
                .connection
                .id,
            id
        );
        reopened.choose(LOCAL, Some(&local)).await.unwrap();
        let left = reopened.remove(&id, Some(&local)).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(keys.get(&id).unwrap(), None);
        assert_eq!(
            reopened
                .remove(LOCAL, Some(&local))
                .await
                .unwrap_err()
                .code(),
            "invalid_input"
        );
        local.running.stop().await.unwrap();
    }
}
