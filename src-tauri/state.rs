//! What lives as long as the app: the settings, the connection they describe (the license
//! server in use, local or remote, and the SDK's `LicenseClient` for the product), the
//! heartbeat loop, the recent errors support may ask for, and the notices already shown.
//!
//! Saving Settings swaps the connection while the app runs: commands take the current one
//! at their start, so a command in flight finishes against the server it began with.
//!
//! The state exists before its first connection does: the app manages it at once and
//! opens the connection (starting the local server) beside the window's loading, so a
//! launch waits for the slower of the two, not for both in turn. Commands that need the
//! connection wait for it.

use std::{
    collections::VecDeque,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, RwLock},
};

use chrono::{DateTime, Utc};
use licentric_client::{HeartbeatHandle, LicenseClient, Licentric};
use licentric_core::Clock;
use serde::Serialize;

use crate::{
    config::AppConfig,
    console::Console,
    error::Error,
    local_server::{self, LocalServer},
    notices::{Notices, Notifier},
    settings::Settings,
};

/// The local demo product's fingerprint salt. Real products keep theirs out of the repo.
pub const DEMO_PRODUCT_SALT: &str = "licentric-local-demo";

/// How many recent errors the diagnostics keep.
const RECENT_ERRORS: usize = 20;

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
    /// Given by Settings or `LICENTRIC_SERVER_URL`.
    Remote,
}

/// One error a person met, kept for the diagnostics export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentError {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What was being done (a command's name, or `license check`).
    pub during: String,
    /// The error's code.
    pub code: String,
    /// Its message.
    pub message: String,
}

/// The license server in use and the product's license client. A command takes the
/// current one when it starts (`AppState::connection`) and uses it throughout.
#[derive(Debug)]
pub struct Connection {
    license: Result<Arc<LicenseClient>, String>,
    server: ServerInfo,
    heartbeat: Mutex<Option<HeartbeatHandle>>,
    // Held so the local server keeps running; shared with the next connection when that
    // one is local too, and stopped when the last holder lets go.
    local: Option<Arc<LocalServer>>,
}

impl Connection {
    /// The product's license client, or why there is none.
    pub fn license(&self) -> Result<&Arc<LicenseClient>, Error> {
        self.license
            .as_ref()
            .map_err(|problem| Error::ServerUnavailable(problem.clone()))
    }

    /// Which server this connection talks to.
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

    /// Whether heartbeats are being sent.
    pub fn heartbeat_running(&self) -> bool {
        self.heartbeat
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    async fn open(
        data_dir: &Path,
        settings: &Settings,
        clock: &Arc<dyn Clock>,
        running_local: Option<Arc<LocalServer>>,
    ) -> Self {
        if !settings.local_server {
            return Self::remote(data_dir, settings, clock);
        }
        let local = match running_local {
            Some(local) => Ok(local),
            None => local_server::start(data_dir).await.map(Arc::new),
        };
        match local {
            Ok(local) => {
                let url = local.running.base_url();
                // The server runs in this process, so its public key can be trusted as-is;
                // pinned like a vendor's, it lets the SDK verify the server's answers. Without
                // it nothing could be licensed, so its absence is the connection's problem.
                let public_key = match Licentric::builder().base_url(&url).build() {
                    Ok(api) => api.jwks(&local.demo.account_id).await,
                    Err(error) => Err(error),
                }
                .map_err(|error| {
                    format!("The local license server did not give its public key ({error}), so no license could be verified. Restart the app.")
                });
                let license = public_key.and_then(|public_key| {
                    let product = Settings {
                        product_id: local.demo.product_id.clone(),
                        product_salt: DEMO_PRODUCT_SALT.to_owned(),
                        public_key,
                        server_url: url.clone(),
                        proxy: String::new(),
                        ..settings.clone()
                    };
                    license_client(data_dir, &product, clock)
                });
                Self {
                    license,
                    server: ServerInfo {
                        mode: ServerMode::Local,
                        url: Some(url),
                        problem: None,
                        demo_license_key: Some(local.demo.license_key.clone()),
                    },
                    heartbeat: Mutex::new(None),
                    local: Some(local),
                }
            }
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), "local server did not start");
                let problem = format!("The local license server did not start: {error:#}. Restart the app; if it keeps happening, turn the local server off in Settings and use your vendor's license server.");
                Self {
                    license: Err(problem.clone()),
                    server: ServerInfo {
                        mode: ServerMode::Local,
                        url: None,
                        problem: Some(problem),
                        demo_license_key: None,
                    },
                    heartbeat: Mutex::new(None),
                    local: None,
                }
            }
        }
    }

    fn remote(data_dir: &Path, settings: &Settings, clock: &Arc<dyn Clock>) -> Self {
        let license = match settings.check() {
            Ok(settings) => license_client(data_dir, &settings, clock),
            Err(problem) => Err(format!(
                "The license server is not set up: {problem} Open Settings to finish."
            )),
        };
        Self {
            server: ServerInfo {
                mode: ServerMode::Remote,
                url: Some(crate::settings::shown_url(&settings.server_url))
                    .filter(|u| !u.is_empty()),
                problem: license.as_ref().err().cloned(),
                demo_license_key: None,
            },
            license,
            heartbeat: Mutex::new(None),
            local: None,
        }
    }
}

/// The app's managed state.
#[derive(Debug)]
pub struct AppState {
    data_dir: PathBuf,
    clock: Arc<dyn Clock>,
    defaults: Settings,
    settings: RwLock<Settings>,
    // `None` until the first connection is open (see `connect`).
    connection: tokio::sync::watch::Sender<Option<Arc<Connection>>>,
    switching: tokio::sync::Mutex<()>,
    recent_errors: Mutex<VecDeque<RecentError>>,
    settings_problem: Mutex<Option<String>>,
    notices: Notices,
    console: Console,
}

impl AppState {
    /// Opens the saved settings (or the environment's, before the first save) and connects
    /// accordingly. Never fails: a server or product that cannot be used is recorded and
    /// reported by every command.
    pub async fn start(config: AppConfig, notifier: Box<dyn Notifier>) -> Self {
        let state = Self::new(config, notifier);
        state.connect().await;
        state
    }

    /// The state with the saved settings (or the environment's) and no connection yet:
    /// commands wait until [`AppState::connect`] has opened it.
    pub fn new(config: AppConfig, notifier: Box<dyn Notifier>) -> Self {
        let clock: Arc<dyn Clock> = match config.clock_offset {
            Some(offset) => Arc::new(ShiftedClock { offset }),
            None => Arc::new(licentric_core::SystemClock),
        };
        let defaults = config.default_settings();
        let mut recent_errors = VecDeque::new();
        let mut settings_problem = None;
        let settings = match Settings::load(&config.data_dir) {
            Ok(saved) => saved.unwrap_or_else(|| defaults.clone()),
            Err(error) => {
                let kept = match crate::settings::set_aside(&config.data_dir) {
                    Ok(aside) => format!("They were kept as {}", aside.display()),
                    Err(e) => format!("They could not be moved aside ({e})"),
                };
                let problem = format!(
                    "{error} {kept}, and the app uses its default settings: check Settings and save them again."
                );
                recent_errors.push_back(recent_error(
                    clock.now(),
                    "opening settings",
                    &Error::InvalidInput(problem.clone()),
                ));
                settings_problem = Some(problem);
                defaults.clone()
            }
        };
        Self {
            console: Console::new(&config.data_dir, Arc::new(crate::console::OsKeyring)),
            notices: Notices::new(&config.data_dir, notifier),
            data_dir: config.data_dir,
            clock,
            defaults,
            settings: RwLock::new(settings),
            connection: tokio::sync::watch::Sender::new(None),
            switching: tokio::sync::Mutex::new(()),
            recent_errors: Mutex::new(recent_errors),
            settings_problem: Mutex::new(settings_problem),
        }
    }

    /// Why the saved settings were not used at start, until the user saves new ones.
    pub fn settings_problem(&self) -> Option<String> {
        self.settings_problem
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Opens the first connection, the one the settings describe (starting the local
    /// server when they ask for it). Called once, as the app starts.
    pub async fn connect(&self) {
        let settings = self.settings();
        let connection = Connection::open(&self.data_dir, &settings, &self.clock, None).await;
        self.connection.send_if_modified(|current| {
            // Settings saved meanwhile opened their own connection: that one stays.
            let first = current.is_none();
            if first {
                *current = Some(Arc::new(connection));
            }
            first
        });
    }

    /// The connection in use now (once the first is open). A command holds it until it
    /// ends, so a switch of server in Settings never pulls the server from under it.
    pub async fn connection(&self) -> Arc<Connection> {
        let mut updates = self.connection.subscribe();
        loop {
            if let Some(connection) = updates.borrow_and_update().clone() {
                return connection;
            }
            if updates.changed().await.is_err() {
                // Cannot happen: the sender lives as long as `self`.
                std::future::pending::<()>().await;
            }
        }
    }

    /// The vendor console's connections.
    pub fn console(&self) -> &Console {
        &self.console
    }

    /// The local server, while it runs.
    pub async fn local_server(&self) -> Option<Arc<LocalServer>> {
        self.connection().await.local.clone()
    }

    /// Where the app keeps its files.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The app's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Which server the app uses.
    pub async fn server(&self) -> ServerInfo {
        self.connection().await.server.clone()
    }

    /// The settings in effect.
    pub fn settings(&self) -> Settings {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The settings the environment gives (what "Reset" returns to).
    pub fn default_settings(&self) -> &Settings {
        &self.defaults
    }

    /// Saves `settings` and switches to the server they describe. Heartbeats restart
    /// with the next license check.
    pub async fn apply(&self, settings: Settings) -> Result<ServerInfo, Error> {
        let _one_switch_at_a_time = self.switching.lock().await;
        let settings = settings.check()?;
        settings.save(&self.data_dir)?;
        *self
            .settings_problem
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
        if settings.connection_eq(&self.settings()) {
            // Only notifications or the theme changed: the connection stays as it is.
            *self.settings.write().unwrap_or_else(|p| p.into_inner()) = settings;
            return Ok(self.server().await);
        }
        let running_local = self.connection().await.local.clone();
        let next = Connection::open(&self.data_dir, &settings, &self.clock, running_local).await;
        let server = next.server.clone();
        *self.settings.write().unwrap_or_else(|p| p.into_inner()) = settings;
        // The old connection (its heartbeats, and the local server if it is no longer
        // used) stops when the last command holding it finishes.
        self.connection.send_replace(Some(Arc::new(next)));
        Ok(server)
    }

    /// Remembers an error a person met, for the diagnostics export; returns it unchanged.
    pub fn remember(&self, during: &str, error: Error) -> Error {
        let entry = recent_error(self.now(), during, &error);
        let mut errors = self.recent_errors.lock().unwrap_or_else(|p| p.into_inner());
        // A refusal seen at every refresh is one problem, not twenty.
        if errors
            .back()
            .is_some_and(|last| last.code == entry.code && last.message == entry.message)
        {
            errors.pop_back();
        }
        errors.push_back(entry);
        while errors.len() > RECENT_ERRORS {
            errors.pop_front();
        }
        error
    }

    /// The recent errors, oldest first.
    pub fn recent_errors(&self) -> Vec<RecentError> {
        self.recent_errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Shows the notice due for the license's latest facts, if any and if wanted.
    pub fn review_notices(&self, info: &licentric_client::LicenseInfo) {
        if self.settings().notifications {
            self.notices.consider(info, self.now());
        }
    }

    /// What runs every hour while the app is open, so notices come even when nobody
    /// presses Refresh: the cached facts each time, a license check every sixth time
    /// (which also notices the move from offline to grace) or when nothing is cached.
    pub async fn hourly(&self, hour: u64) {
        let connection = self.connection().await;
        let Ok(client) = connection.license() else {
            return;
        };
        // A client that has not checked yet (just after Settings switched server) knows
        // nothing to review.
        if hour % 6 == 5 || client.get_license_info().is_none() {
            let licensed = client.check_license().await;
            connection.keep_heartbeat(licensed);
        }
        if let Some(info) = client.get_license_info() {
            self.review_notices(&info);
        }
    }
}

fn recent_error(at: DateTime<Utc>, during: &str, error: &Error) -> RecentError {
    let shown = crate::error::CommandError::from(error);
    RecentError {
        at,
        during: during.to_owned(),
        code: shown.code.as_str().to_owned(),
        message: shown.message,
    }
}

fn license_client(
    data_dir: &Path,
    settings: &Settings,
    clock: &Arc<dyn Clock>,
) -> Result<Arc<LicenseClient>, String> {
    let mut builder = LicenseClient::builder(
        &settings.server_url,
        &settings.product_id,
        &settings.product_salt,
    )
    .storage_dir(data_dir.join("licenses").join(&settings.product_id))
    .clock(clock.clone());
    if !settings.public_key.is_empty() {
        builder = builder.public_key(&settings.public_key);
    }
    if !settings.proxy.is_empty() {
        builder = builder.proxy(&settings.proxy);
    }
    builder.build().map(Arc::new).map_err(|e| e.to_string())
}

/// The system clock moved by a fixed offset: how end-to-end tests see days pass.
#[derive(Debug)]
struct ShiftedClock {
    offset: chrono::Duration,
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notices::Recorder;

    #[tokio::test]
    async fn the_hourly_review_notifies_without_a_refresh_and_only_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = AppConfig::from_vars(None, None, dir.path().into());
        // The demo license runs a year; 355 days on, it has 10 days left.
        config.clock_offset = Some(chrono::Duration::days(355));
        let recorder = Recorder::default();
        let state = AppState::start(config, Box::new(recorder.clone())).await;
        let key = state.server().await.demo_license_key.unwrap();
        state
            .connection()
            .await
            .license()
            .unwrap()
            .clone()
            .activate(&key)
            .await
            .unwrap();
        assert!(recorder.0.lock().unwrap().is_empty());

        // Turned off in Settings: nothing is shown.
        let quiet = Settings {
            notifications: false,
            ..Settings::default()
        };
        state.apply(quiet).await.unwrap();
        state.hourly(0).await;
        assert!(recorder.0.lock().unwrap().is_empty());

        state.apply(Settings::default()).await.unwrap();
        state.hourly(1).await;
        state.hourly(2).await;
        let shown = recorder.0.lock().unwrap().clone();
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert_eq!(shown[0].title, "Your license expires in 10 days");
    }

    #[tokio::test]
    async fn broken_saved_settings_are_kept_aside_and_said_until_saved_again() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(crate::settings::file(dir.path()), "{ torn").unwrap();
        let config = AppConfig::from_vars(None, None, dir.path().into());
        let state = AppState::start(config, Box::new(Recorder::default())).await;
        let problem = state.settings_problem().unwrap();
        assert!(problem.contains("settings.json.bad"), "{problem}");
        assert!(problem.contains("check Settings and save"), "{problem}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("settings.json.bad")).unwrap(),
            "{ torn"
        );
        assert_eq!(
            state.server().await.mode,
            ServerMode::Local,
            "the defaults are in use"
        );
        assert_eq!(state.recent_errors()[0].during, "opening settings");

        state.apply(Settings::default()).await.unwrap();
        assert_eq!(state.settings_problem(), None);
    }

    #[tokio::test]
    async fn saving_settings_switches_server_and_refused_settings_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let config = AppConfig::from_vars(None, None, dir.path().into());
        let state = AppState::start(config, Box::new(Recorder::default())).await;
        let local = state.server().await;
        assert_eq!(local.mode, ServerMode::Local);

        // Incomplete settings are refused with what to fix; the app stays where it was.
        let incomplete = Settings {
            local_server: false,
            ..Settings::default()
        };
        let error = state.apply(incomplete).await.unwrap_err();
        assert_eq!(error.code(), "invalid_input");
        assert_eq!(state.server().await, local);
        assert_eq!(Settings::load(dir.path()).unwrap(), None, "nothing saved");

        // A remote server: saved, and used by the next command.
        let key = licentric_core::AccountSigningKey::from_secret_seed(&[7; 32]).public_key();
        let remote = Settings {
            local_server: false,
            server_url: "http://127.0.0.1:9".into(),
            product_id: "prod".into(),
            product_salt: "salt".into(),
            public_key: serde_json::to_string(&licentric_core::Jwks {
                keys: vec![key.to_jwk()],
            })
            .unwrap(),
            ..Settings::default()
        };
        // A command that began on the local server keeps it while the switch happens.
        let in_flight = state.connection().await;
        let server = state.apply(remote.clone()).await.unwrap();
        assert_eq!(server.mode, ServerMode::Remote);
        let key = local.demo_license_key.clone().unwrap();
        let slots = in_flight.license().unwrap().overview(Some(&key)).await;
        assert!(slots.is_ok(), "{slots:?}");
        // When it ends, the local server, used by nothing any more, stops.
        let health = format!("{}/api/v1/health", local.url.clone().unwrap());
        assert!(reqwest::get(&health).await.is_ok(), "up while in use");
        drop(in_flight);
        let mut stopped = false;
        for _ in 0..50 {
            if reqwest::get(&health).await.is_err() {
                stopped = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(stopped, "the old local server still answers");
        assert_eq!(server.url.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(state.settings(), remote);
        assert_eq!(Settings::load(dir.path()).unwrap(), Some(remote.clone()));
        let connection = state.connection().await;
        let client = connection.license().unwrap();
        assert!(!client.check_license().await);
        assert_eq!(client.get_error().unwrap().code.as_str(), "not_activated");

        // Notifications and theme alone keep the connection (and its cached license).
        let before = state.connection().await.license().unwrap().clone();
        let quieter = Settings {
            notifications: false,
            theme: crate::settings::Theme::Dark,
            ..remote.clone()
        };
        state.apply(quieter.clone()).await.unwrap();
        assert!(Arc::ptr_eq(
            &before,
            &state.connection().await.license().unwrap().clone()
        ));
        assert_eq!(state.settings(), quieter);

        // And back: the local server starts again with the same demo data.
        let back = state.apply(Settings::default()).await.unwrap();
        assert_eq!(back.mode, ServerMode::Local);
        assert_eq!(back.demo_license_key, local.demo_license_key);
    }
}
