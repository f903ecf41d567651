//! The local server: the license server run inside the app on loopback, with its SQLite
//! file in the app's data directory and demo data, so the whole system works with no
//! infrastructure at all.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use licentric_core::SystemClock;
use licentric_server::{
    db, provision, secret::ServerSecret, AppState, Application, ProvisionOptions, RunningServer,
    Settings,
};
use serde::{Deserialize, Serialize};

/// What the app remembers of the demo data it created on first start. Not an API key:
/// the vendor console's is kept in the OS keyring (see [`LocalServer::console_key`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DemoRecords {
    /// The demo account.
    pub account_id: String,
    /// The demo product.
    pub product_id: String,
    /// The demo license.
    pub license_id: String,
    /// The demo license's key, offered in the UI to try.
    pub license_key: String,
}

/// A running local server and its demo records.
#[derive(Debug)]
pub struct LocalServer {
    /// The server; stops when dropped.
    pub running: RunningServer,
    /// The demo records.
    pub demo: DemoRecords,
    pool: sqlx::SqlitePool,
}

impl LocalServer {
    /// The vendor console's all-scopes API key to this server: the one kept in `keys`
    /// while the server still accepts it, else a new one (saved there). When the keyring
    /// cannot keep it, the key works for this run only and the next run makes another.
    pub async fn console_key(&self, keys: &dyn crate::console::KeyStore) -> anyhow::Result<String> {
        let entry = format!("local:{}", self.demo.account_id);
        match keys.get(&entry) {
            Ok(Some(key))
                if provision::api_key_is_active(&self.pool, &self.demo.account_id, &key)
                    .await? =>
            {
                return Ok(key)
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "cannot read the console's local key from the keyring")
            }
        }
        let key = provision::issue_api_key(
            &self.pool,
            &self.demo.account_id,
            "Desktop console (local server)",
            chrono::Utc::now(),
        )
        .await?;
        if let Err(error) = keys.set(&entry, &key) {
            tracing::warn!(%error, "the keyring cannot keep the console's local key; it is used for this run only");
        }
        Ok(key)
    }
}

/// The folder of the local server's files inside the app's data directory.
pub fn directory(data_dir: &Path) -> PathBuf {
    data_dir.join("local-server")
}

/// Opens (creating and filling with demo data on first start) the local database and
/// serves it on a free loopback port.
pub async fn start(data_dir: &Path) -> anyhow::Result<LocalServer> {
    let dir = directory(data_dir);
    std::fs::create_dir_all(&dir)?;
    let pool = db::connect(dir.join("licentric.db").to_str().unwrap_or_default()).await?;
    let demo_file = dir.join("demo.json");
    let demo = match std::fs::read(&demo_file) {
        Ok(bytes) => serde_json::from_slice(&bytes)?,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let created = provision(
                &pool,
                &ProvisionOptions {
                    account_name: "Local demo".into(),
                    demo: true,
                },
                chrono::Utc::now(),
            )
            .await?;
            let demo = created
                .demo
                .map(|d| DemoRecords {
                    account_id: created.account_id.clone(),
                    product_id: d.product_id,
                    license_id: d.license_id,
                    license_key: d.license_key,
                })
                .ok_or_else(|| anyhow::anyhow!("demo data was not created"))?;
            std::fs::write(&demo_file, serde_json::to_vec_pretty(&demo)?)?;
            demo
        }
        Err(error) => return Err(error.into()),
    };
    // A secret kept beside the database, so the local account keeps its signing keys (and
    // the public key an app pins) across restarts.
    let settings = Settings {
        secret: ServerSecret::load_or_create(&dir.join("server-secret"))?,
        ..Settings::default()
    };
    let state = AppState::with_settings(pool.clone(), Arc::new(SystemClock), settings);
    let running = Application::with_state(([127, 0, 0, 1], 0).into(), state)
        .await?
        .spawn();
    tracing::info!(url = %running.base_url(), "local license server started");
    Ok(LocalServer {
        running,
        demo,
        pool,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn first_start_creates_demo_data_and_later_starts_reuse_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = start(dir.path()).await.unwrap();
        let demo = first.demo.clone();
        assert!(demo.license_key.starts_with("DEMO-"));
        let jwks_url =
            |base: String| format!("{base}/api/v1/accounts/{}/jwks.json", demo.account_id);
        let keys_before = reqwest_text(&jwks_url(first.running.base_url())).await;
        assert!(keys_before.contains("\"kid\""), "{keys_before}");
        first.running.stop().await.unwrap();

        let second = start(dir.path()).await.unwrap();
        assert_eq!(second.demo, demo);
        let client = licentric_client::Licentric::builder()
            .base_url(second.running.base_url())
            .build()
            .unwrap();
        let result = client.validate(&demo.license_key, None, &[]).await.unwrap();
        assert!(result.valid, "{result:?}");
        // The signing key survived the restart: an app that pinned it keeps working.
        assert_eq!(
            reqwest_text(&jwks_url(second.running.base_url())).await,
            keys_before
        );
    }

    async fn reqwest_text(url: &str) -> String {
        reqwest::get(url).await.unwrap().text().await.unwrap()
    }
}
