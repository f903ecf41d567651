//! A real license server on loopback with a fresh SQLite file, sharing a manual clock with
//! the client under test, and restartable on the same port (server down, server back).

#![allow(dead_code)]

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use chrono::{DateTime, Utc};
use licentric_client::{FixedMachine, KeyStorage, LicenseClient, Licentric};
use licentric_core::{wire::Platform, Clock, ManualClock};
use licentric_server::{
    db, provision, AppState, Application, DemoData, ProvisionOptions, RunningServer, Settings,
};

pub const SALT: &str = "test-product-salt";

pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub struct Server {
    pub clock: ManualClock,
    pub demo: DemoData,
    pub api_key: String,
    pub account_id: String,
    pub addr: SocketAddr,
    pub settings: Settings,
    db_path: PathBuf,
    running: Option<RunningServer>,
    pub dir: tempfile::TempDir,
}

impl Server {
    pub async fn start() -> Self {
        Self::start_with(Settings::default()).await
    }

    pub async fn start_with(settings: Settings) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("licentric.db");
        let pool = db::connect(db_path.to_str().unwrap()).await.unwrap();
        let clock = ManualClock::new(start_time());
        let created = provision(
            &pool,
            &ProvisionOptions {
                account_name: "SDK".into(),
                demo: true,
            },
            start_time(),
        )
        .await
        .unwrap();
        let mut server = Self {
            clock,
            demo: created.demo.unwrap(),
            api_key: created.api_key,
            account_id: created.account_id,
            addr: "127.0.0.1:0".parse().unwrap(),
            settings,
            db_path,
            running: None,
            dir,
        };
        server.up().await;
        server
    }

    /// Starts serving (again), on the same port once one was chosen.
    pub async fn up(&mut self) {
        let pool = db::connect(self.db_path.to_str().unwrap()).await.unwrap();
        let state =
            AppState::with_settings(pool, Arc::new(self.clock.clone()), self.settings.clone());
        let app = Application::with_state(self.addr, state).await.unwrap();
        self.addr = app.local_addr();
        self.running = Some(app.spawn());
    }

    /// Stops serving: the network or the server is down.
    pub async fn down(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await.unwrap();
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn admin(&self) -> Licentric {
        Licentric::builder()
            .base_url(self.url())
            .api_key(&self.api_key)
            .build()
            .unwrap()
    }

    /// The account's JWKS, fetched over HTTP as a vendor would to pin it.
    pub async fn jwks(&self) -> String {
        reqwest::get(format!(
            "{}/api/v1/accounts/{}/jwks.json",
            self.url(),
            self.account_id
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// A client for the demo product on the machine `machine_id`, with its own storage.
    pub async fn client(&self, machine_id: &str, storage: &std::path::Path) -> LicenseClient {
        self.client_at(&self.url(), machine_id, storage).await
    }

    /// The same client, but sending its requests to `url` (e.g. an impostor server that a
    /// hosts-file entry put in the real one's place); it still pins the real account's key.
    pub async fn client_at(
        &self,
        url: &str,
        machine_id: &str,
        storage: &std::path::Path,
    ) -> LicenseClient {
        LicenseClient::builder(url, &self.demo.product_id, SALT)
            .public_key(&self.jwks().await)
            .storage_dir(storage)
            .clock(Arc::new(self.clock.clone()))
            .machine(Arc::new(FixedMachine {
                id: machine_id.into(),
                platform: Platform::Linux,
                name: Some(format!("host-{machine_id}")),
            }))
            .key_storage(KeyStorage::FileOnly)
            .build()
            .unwrap()
    }
}
