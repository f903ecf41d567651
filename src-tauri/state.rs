//! What lives as long as the app: the SDK client and, when used, the local server.

use licentric_client::Licentric;
use serde::Serialize;

use crate::{config::AppConfig, error::Error, local_server};

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
    client: Result<Licentric, String>,
    server: ServerInfo,
    // Held so the local server keeps running; it stops when the app drops its state.
    _local: Option<local_server::LocalServer>,
}

impl AppState {
    /// Connects to the configured server, or starts the local one. Never fails: a server
    /// that cannot be used is recorded and reported by every command that needs it.
    pub async fn start(config: AppConfig) -> Self {
        match config.server_url {
            Some(url) => Self::remote(url),
            None => Self::local(&config).await,
        }
    }

    fn remote(url: String) -> Self {
        let client = Licentric::builder().base_url(&url).build();
        let problem = client.as_ref().err().map(ToString::to_string);
        Self {
            client: client.map_err(|e| e.to_string()),
            server: ServerInfo {
                mode: ServerMode::Remote,
                url: Some(url),
                problem,
                demo_license_key: None,
            },
            _local: None,
        }
    }

    async fn local(config: &AppConfig) -> Self {
        let started = local_server::start(&config.data_dir).await;
        let (client, url, problem, demo, local) = match started {
            Ok(local) => {
                let url = local.running.base_url();
                let client = Licentric::builder()
                    .base_url(&url)
                    .build()
                    .map_err(|e| e.to_string());
                let demo = Some(local.demo.license_key.clone());
                (client, Some(url), None, demo, Some(local))
            }
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), "local server did not start");
                let problem = format!("{error:#}");
                (Err(problem.clone()), None, Some(problem), None, None)
            }
        };
        Self {
            client,
            server: ServerInfo {
                mode: ServerMode::Local,
                url,
                problem,
                demo_license_key: demo,
            },
            _local: local,
        }
    }

    /// The SDK client, or why there is none.
    pub fn client(&self) -> Result<&Licentric, Error> {
        self.client
            .as_ref()
            .map_err(|problem| Error::LocalServer(problem.clone()))
    }

    /// Which server the app uses.
    pub fn server(&self) -> &ServerInfo {
        &self.server
    }
}
