//! What lives as long as the app: the license server in use (local or remote), the SDK's
//! `LicenseClient` for the product this app licenses, and the heartbeat loop.

use std::sync::{Arc, Mutex};

use licentric_client::{HeartbeatHandle, LicenseClient, Licentric};
use serde::Serialize;

use crate::{
    config::{AppConfig, ProductConfig},
    error::Error,
    local_server,
};

/// The local demo product's fingerprint salt. Real products keep theirs out of the repo.
pub const DEMO_PRODUCT_SALT: &str = "licentric-local-demo";

/// Which license server the app talks to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct ServerInfo {
    /// `local` (started by the app, with demo data) or `remote`.
    pub mode: ServerMode,
    /// The server's base URL, when it is up.
    pub url: Option<String>,
    /// Why the server cannot be used, when it cannot.
    pub problem: Option<String>,
    /// The local server's demo license key, for trying the app out.
    pub demo_license_key: Option<String>,
}

/// Local or remote server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub enum ServerMode {
    /// Started by the app on loopback.
    Local,
    /// Given by `LICENTRIC_SERVER_URL` or Settings.
    Remote,
}

/// The app's managed state.
#[derive(Debug)]
pub struct AppState {
    data_dir: std::path::PathBuf,
    license: Result<Arc<LicenseClient>, String>,
    server: ServerInfo,
    heartbeat: Mutex<Option<HeartbeatHandle>>,
    // Held so the local server keeps running; it stops when the app drops its state.
    _local: Option<local_server::LocalServer>,
}

impl AppState {
    /// Connects to the configured server, or starts the local one. Never fails: a server
    /// or product that cannot be used is recorded and reported by every command.
    pub async fn start(config: AppConfig) -> Self {
        match config.server_url.clone() {
            Some(url) => Self::remote(&config, url).await,
            None => Self::local(&config).await,
        }
    }

    async fn remote(config: &AppConfig, url: String) -> Self {
        let license = match &config.product {
            Some(product) => license_client(config, &url, product),
            None => Err("No product is configured for this license server: set LICENTRIC_PRODUCT_ID and LICENTRIC_PRODUCT_SALT (and LICENTRIC_PUBLIC_KEY for offline use).".to_owned()),
        };
        let problem = Licentric::builder()
            .base_url(&url)
            .build()
            .err()
            .map(|e| e.to_string());
        Self {
            data_dir: config.data_dir.clone(),
            license,
            server: ServerInfo {
                mode: ServerMode::Remote,
                url: Some(url),
                problem,
                demo_license_key: None,
            },
            heartbeat: Mutex::new(None),
            _local: None,
        }
    }

    async fn local(config: &AppConfig) -> Self {
        let started = local_server::start(&config.data_dir).await;
        match started {
            Ok(local) => {
                let url = local.running.base_url();
                // The server runs in this process, so its public key can be trusted as-is.
                let public_key = match Licentric::builder().base_url(&url).build() {
                    Ok(api) => api.jwks(&local.demo.account_id).await.ok(),
                    Err(_) => None,
                };
                let product = ProductConfig {
                    product_id: local.demo.product_id.clone(),
                    product_salt: DEMO_PRODUCT_SALT.to_owned(),
                    public_key,
                };
                Self {
                    data_dir: config.data_dir.clone(),
                    license: license_client(config, &url, &product),
                    server: ServerInfo {
                        mode: ServerMode::Local,
                        url: Some(url),
                        problem: None,
                        demo_license_key: Some(local.demo.license_key.clone()),
                    },
                    heartbeat: Mutex::new(None),
                    _local: Some(local),
                }
            }
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), "local server did not start");
                let problem = format!("{error:#}");
                Self {
                    data_dir: config.data_dir.clone(),
                    license: Err(problem.clone()),
                    server: ServerInfo {
                        mode: ServerMode::Local,
                        url: None,
                        problem: Some(problem),
                        demo_license_key: None,
                    },
                    heartbeat: Mutex::new(None),
                    _local: None,
                }
            }
        }
    }

    /// The product's license client, or why there is none.
    pub fn license(&self) -> Result<&Arc<LicenseClient>, Error> {
        self.license
            .as_ref()
            .map_err(|problem| Error::LocalServer(problem.clone()))
    }

    /// Where the app keeps its files.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// Which server the app uses.
    pub fn server(&self) -> &ServerInfo {
        &self.server
    }

    /// Starts heartbeats when the license's policy requires them (once), or stops them
    /// when no license is active.
    pub fn keep_heartbeat(&self, licensed: bool) {
        let mut heartbeat = self.heartbeat.lock().unwrap_or_else(|p| p.into_inner());
        if !licensed {
            *heartbeat = None;
        } else if heartbeat.is_none() {
            if let Ok(client) = &self.license {
                *heartbeat = client.start_heartbeat_if_required();
            }
        }
    }
}

fn license_client(
    config: &AppConfig,
    url: &str,
    product: &ProductConfig,
) -> Result<Arc<LicenseClient>, String> {
    let mut builder = LicenseClient::builder(url, &product.product_id, &product.product_salt)
        .storage_dir(config.data_dir.join("licenses").join(&product.product_id));
    if let Some(jwks) = &product.public_key {
        builder = builder.public_key(jwks);
    }
    builder.build().map(Arc::new).map_err(|e| e.to_string())
}
