//! Launching the real app for a test: Xvfb, a private D-Bus session with an unlocked
//! gnome-keyring, tauri-driver + WebKitWebDriver, and the app binary built by Cargo.
//! Everything started here is in one process group, killed when the test ends, pass or
//! fail, so no app instance outlives its test.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use licentric_core::SystemClock;
use licentric_server::{
    db, provision, AppState, Application, DemoData, ProvisionOptions, RunningServer,
};

use crate::{
    screen::{self, Display},
    webdriver::Session,
};

/// The app binary Cargo built for these tests.
const APP: &str = env!("CARGO_BIN_EXE_licentric-desktop");

/// A generous bound for anything the UI does: cold machines are slow.
pub const UI_TIMEOUT: Duration = Duration::from_secs(20);

/// Where screenshots go: `test-artifacts/screenshots/<test>/NN-step.png` (ignored by git).
pub fn artifacts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test-artifacts")
}

/// The salt the tests' product uses for fingerprints.
pub const PRODUCT_SALT: &str = "e2e-product-salt";

/// A license server for the app to talk to: in this process, on loopback, with a fresh
/// SQLite file and demo data.
pub struct TestServer {
    pub demo: DemoData,
    pub account_id: String,
    pub api_key: String,
    running: Option<RunningServer>,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub fn start() -> Self {
        let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let db_path = dir.path().join("licentric.db");
        let (running, demo, account_id, api_key) = runtime.block_on(async {
            let db = db::connect(db_path.to_str().unwrap())
                .await
                .expect("database");
            let created = provision(
                &db,
                &ProvisionOptions {
                    account_name: "E2E".into(),
                    demo: true,
                },
                chrono::Utc::now(),
            )
            .await
            .expect("demo data");
            let state = AppState::new(db, Arc::new(SystemClock));
            let running = Application::with_state(([127, 0, 0, 1], 0).into(), state)
                .await
                .expect("server")
                .spawn();
            (
                running,
                created.demo.expect("demo"),
                created.account_id,
                created.api_key,
            )
        });
        Self {
            demo,
            account_id,
            api_key,
            running: Some(running),
            runtime,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        self.running.as_ref().expect("server is running").base_url()
    }

    /// Runs SDK calls on the server's runtime.
    pub fn block_on<T>(&self, future: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(future)
    }

    /// The account's JWKS, as the vendor pins it in the app.
    pub fn jwks(&self) -> String {
        let api = licentric_client::Licentric::builder()
            .base_url(self.url())
            .build()
            .expect("client");
        self.block_on(api.jwks(&self.account_id)).expect("jwks")
    }

    /// How the app is started to license the demo product against this server.
    pub fn launch(&self) -> Launch {
        Launch {
            server_url: Some(self.url()),
            product: Some((
                self.demo.product_id.clone(),
                PRODUCT_SALT.to_owned(),
                self.jwks(),
            )),
            ..Launch::default()
        }
    }

    /// The vendor's management client (all scopes).
    pub fn admin(&self) -> licentric_client::Licentric {
        licentric_client::Licentric::builder()
            .base_url(self.url())
            .api_key(&self.api_key)
            .build()
            .expect("client")
    }

    /// The same product, for an app on an air-gapped machine: its server URL leads nowhere.
    pub fn launch_air_gapped(&self) -> Launch {
        Launch {
            server_url: Some("http://127.0.0.1:9".to_owned()),
            ..self.launch()
        }
    }

    /// Support's side of offline activation: the request in, the signed file out.
    pub fn issue_offline_file(&self, request: &str) -> String {
        let admin = self.admin();
        self.block_on(admin.offline_activation(request))
            .expect("offline activation")
            .certificate
    }

    /// How many machines the server has on the demo license.
    pub fn machines_in_use(&self) -> u32 {
        let admin = self.admin();
        let params =
            licentric_client::ListParams::new().filter("licenseId", self.demo.license_id.clone());
        self.block_on(admin.list_machines(&params))
            .expect("machines")
            .total
    }

    /// Makes the demo policy require a heartbeat every `seconds` (60 at the least).
    pub fn require_heartbeats(&self, seconds: u32) {
        let update = licentric_core::wire::PolicyUpdate {
            require_heartbeat: Some(true),
            heartbeat_interval: Some(seconds),
            ..Default::default()
        };
        self.block_on(self.admin().update_policy(&self.demo.policy_id, &update))
            .expect("update policy");
    }

    /// The last heartbeat of each machine on the demo license.
    pub fn last_heartbeats(&self) -> Vec<Option<chrono::DateTime<chrono::Utc>>> {
        let params =
            licentric_client::ListParams::new().filter("licenseId", self.demo.license_id.clone());
        self.block_on(self.admin().list_machines(&params))
            .expect("machines")
            .data
            .into_iter()
            .map(|m| m.last_heartbeat_at)
            .collect()
    }

    /// Activates another machine on the demo license, as a second computer would.
    pub fn activate_elsewhere(&self, fingerprint: &str, name: &str) {
        let api = licentric_client::Licentric::builder()
            .base_url(self.url())
            .build()
            .expect("client");
        self.block_on(api.activate(
            &self.demo.license_key,
            fingerprint,
            Some(name),
            Some("windows"),
        ))
        .expect("activate");
    }

    /// Stops the server, as when the network or the server goes down.
    pub fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            self.runtime.block_on(running.stop()).expect("server stops");
        }
    }
}

/// How to start the app.
#[derive(Default, Clone)]
pub struct Launch {
    /// `LICENTRIC_SERVER_URL`; `None` lets the app start its local server.
    pub server_url: Option<String>,
    /// `LICENTRIC_PRODUCT_ID`, `LICENTRIC_PRODUCT_SALT`, `LICENTRIC_PUBLIC_KEY`.
    pub product: Option<(String, String, String)>,
    /// `LICENTRIC_TEST_CLOCK_OFFSET_DAYS`: the app's clock runs this far ahead.
    pub clock_offset_days: Option<i64>,
    /// The app's data folder and keyring, kept by the test to restart the app on them;
    /// by default fresh ones that go with the app.
    pub home: Option<Home>,
    /// Open the vendor console's window alone (`LICENTRIC_WINDOW=console`) instead of
    /// the end user's.
    pub console: bool,
    /// The app binary to start; by default the one Cargo built for these tests (the
    /// package test starts the one its .deb installed).
    pub binary: Option<PathBuf>,
}

/// A data folder and a keyring that outlive one run of the app, as a user's do.
#[derive(Clone)]
pub struct Home {
    pub data_dir: PathBuf,
    pub keyring_dir: PathBuf,
}

/// The folders behind a [`Home`]; removed when dropped.
pub struct HomeDirs {
    data: tempfile::TempDir,
    keyring: tempfile::TempDir,
}

impl HomeDirs {
    pub fn new() -> Self {
        Self {
            data: tempfile::tempdir().expect("temp dir"),
            keyring: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn home(&self) -> Option<Home> {
        Some(Home {
            data_dir: self.data.path().to_path_buf(),
            keyring_dir: self.keyring.path().to_path_buf(),
        })
    }
}

/// The running app, driven over WebDriver.
pub struct App {
    pub session: Session,
    name: String,
    step: usize,
    driver: Child,
    notifications: PathBuf,
    /// The Xvfb display the app runs on, for screenshots.
    display: Display,
    data_dir: PathBuf,
    _own_data_dir: Option<tempfile::TempDir>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn require(tool: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()));
    assert!(
        found,
        "{tool} is not installed. The end-to-end tests need Xvfb, dbus, gnome-keyring, \
         WebKitWebDriver and tauri-driver: run scripts/test, which installs them."
    );
}

impl App {
    /// Starts the app for the test `name`, with a fresh data directory.
    pub fn launch(name: &str, launch: Launch) -> Self {
        for tool in [
            "xvfb-run",
            "dbus-run-session",
            "gnome-keyring-daemon",
            "WebKitWebDriver",
            "tauri-driver",
        ] {
            require(tool);
        }
        let (own_dir, data_dir) = match &launch.home {
            Some(home) => (None, home.data_dir.clone()),
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().to_path_buf();
                (Some(dir), path)
            }
        };
        let logs = artifacts_dir().join("logs");
        std::fs::create_dir_all(&logs).expect("logs dir");
        let log = std::fs::File::create(logs.join(format!("{name}.log"))).expect("log file");
        let notifications = logs.join(format!("{name}.notifications.log"));
        let _ = std::fs::remove_file(&notifications);
        let display_file = screen::display_file(&logs, name);
        let _ = std::fs::remove_file(&display_file);
        let (port, native_port) = (free_port(), free_port());

        let mut command = Command::new("xvfb-run");
        command
            .args([
                "-a",
                "-s",
                "-screen 0 1280x800x24",
                "dbus-run-session",
                "--",
            ])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/driver.sh"))
            .args([port.to_string(), native_port.to_string()])
            .env("NO_AT_BRIDGE", "1")
            .env("LICENTRIC_DATA_DIR", &data_dir)
            .env("LICENTRIC_E2E_NOTIFICATIONS", &notifications)
            .env("LICENTRIC_E2E_DISPLAY_FILE", &display_file)
            .env_remove("LICENTRIC_SERVER_URL")
            .env_remove("LICENTRIC_TEST_CLOCK_OFFSET_DAYS")
            .env_remove("LICENTRIC_E2E_KEYRING_HOME")
            .env_remove("LICENTRIC_WINDOW")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        for name in [
            "LICENTRIC_PRODUCT_ID",
            "LICENTRIC_PRODUCT_SALT",
            "LICENTRIC_PUBLIC_KEY",
        ] {
            command.env_remove(name);
        }
        if let Some(url) = &launch.server_url {
            command.env("LICENTRIC_SERVER_URL", url);
        }
        if let Some((id, salt, jwks)) = &launch.product {
            command
                .env("LICENTRIC_PRODUCT_ID", id)
                .env("LICENTRIC_PRODUCT_SALT", salt)
                .env("LICENTRIC_PUBLIC_KEY", jwks);
        }
        if let Some(days) = launch.clock_offset_days {
            command.env("LICENTRIC_TEST_CLOCK_OFFSET_DAYS", days.to_string());
        }
        if let Some(home) = &launch.home {
            command.env("LICENTRIC_E2E_KEYRING_HOME", &home.keyring_dir);
        }
        if launch.console {
            command.env("LICENTRIC_WINDOW", "console");
        }
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let driver = command.spawn().expect("start xvfb-run");

        let mut app = Self {
            session: Session::unconnected(),
            name: name.to_owned(),
            step: 0,
            driver,
            notifications,
            display: Display::unknown(),
            data_dir: data_dir.clone(),
            _own_data_dir: own_dir,
        };
        let driver_url = format!("http://127.0.0.1:{port}");
        let binary = launch.binary.clone().unwrap_or_else(|| PathBuf::from(APP));
        app.session = connect(&driver_url, &binary);
        app.display = Display::read(&display_file);
        app
    }

    /// The app's data folder (`LICENTRIC_DATA_DIR`).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Clicks Refresh and waits until the License view shows a newer check.
    pub fn refresh_license(&self) {
        let card = "[data-testid=status-card]";
        let before = self.attribute(card, "data-checked-at");
        self.click("[data-testid=refresh-button]");
        let deadline = Instant::now() + UI_TIMEOUT;
        while self.attribute(card, "data-checked-at") == before {
            assert!(Instant::now() < deadline, "Refresh never finished");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn attribute(&self, css: &str, name: &str) -> String {
        let element = self.session.wait_for(css, UI_TIMEOUT);
        self.session.attribute(&element, name)
    }

    /// Waits until the first element matching `css` shows text containing `expected`.
    pub fn wait_text(&self, css: &str, expected: &str) -> String {
        self.session
            .wait_for_text(css, UI_TIMEOUT, |text| text.contains(expected))
    }

    /// Clicks the first element matching `css`, once there is one and it is enabled, as a
    /// person waits for a button to come alive: a click on a disabled button is lost (e.g.
    /// Settings' Test connection while the address just typed is still being checked).
    pub fn click(&self, css: &str) {
        let deadline = Instant::now() + UI_TIMEOUT;
        let element = loop {
            let element = self.session.wait_for(css, UI_TIMEOUT);
            if self.session.is_enabled(&element) {
                break element;
            }
            assert!(
                Instant::now() < deadline,
                "{css} is still disabled after {UI_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        self.session.click(&element);
    }

    /// Types `text` into the field matching `css`, replacing what was there.
    pub fn type_in(&self, css: &str, text: &str) {
        let element = self.session.wait_for(css, UI_TIMEOUT);
        self.session.type_into(&element, text);
    }

    /// A property (`value`…) of the element matching `css`, as text.
    pub fn property(&self, css: &str, name: &str) -> String {
        let element = self.session.wait_for(css, UI_TIMEOUT);
        self.session.property(&element, name)
    }

    /// Waits until no element matches `css`.
    pub fn wait_gone(&self, css: &str) {
        let deadline = Instant::now() + UI_TIMEOUT;
        while self.session.find(css).is_some() {
            assert!(Instant::now() < deadline, "{css} is still shown");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Shrinks the window and checks that nothing runs off its side.
    pub fn assert_usable_at(&self, width: u32, height: u32) {
        self.session.set_window_size(width, height);
        std::thread::sleep(Duration::from_millis(300));
        let sizes = self
            .session
            .execute("return [window.innerWidth, document.documentElement.scrollWidth];");
        let (inner, scroll) = (
            sizes[0].as_u64().unwrap_or(0),
            sizes[1].as_u64().unwrap_or(u64::MAX),
        );
        assert!(
            inner <= u64::from(width) + 20,
            "the window did not shrink: {sizes}"
        );
        assert!(
            scroll <= inner,
            "horizontal overflow at {width}x{height}: {sizes}"
        );
    }

    /// Waits until the desktop's notification daemon has shown a notification whose
    /// title contains `title`; returns everything it logged about it.
    pub fn wait_for_notification(&self, title: &str) -> String {
        let deadline = Instant::now() + UI_TIMEOUT;
        loop {
            let log = std::fs::read_to_string(&self.notifications).unwrap_or_default();
            // dunst -print writes one block per notification: `summary: '…'`, `body: '…'`, …
            if let Some(at) = log.find(&format!("summary: '{title}")) {
                let start = log[..at].rfind("{").unwrap_or(at);
                let end = log[at..].find('}').map_or(log.len(), |e| at + e);
                return log[start..end].to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no notification titled {title:?} was shown; the daemon logged: {log:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Everything the notification daemon logged.
    pub fn notifications(&self) -> String {
        std::fs::read_to_string(&self.notifications).unwrap_or_default()
    }

    /// Opens a console screen by its route (`/licenses`, `/licenses/<id>`…), as the
    /// navigation links do.
    pub fn go(&self, route: &str) {
        self.session.execute(&format!(
            "window.location.hash = {};",
            serde_json::json!(route)
        ));
    }

    /// Switches the theme the stylesheet shows (`light` or `dark`), as Settings' choice
    /// does, for screenshots of both.
    pub fn show_theme(&self, theme: &str) {
        self.session.execute(&format!(
            "document.documentElement.dataset.theme = {};",
            serde_json::json!(theme)
        ));
    }

    /// A screenshot in the light theme and one in the dark theme, then back to light.
    pub fn screenshot_both_themes(&mut self, step: &str) {
        self.show_theme("light");
        std::thread::sleep(Duration::from_millis(150));
        self.screenshot(&format!("{step}-light"));
        self.show_theme("dark");
        std::thread::sleep(Duration::from_millis(150));
        self.screenshot(&format!("{step}-dark"));
        self.show_theme("light");
    }

    /// Calls a command from the web view as the UI would, and answers `{ok}` or `{error}`.
    pub fn invoke(&self, command: &str, args: serde_json::Value) -> serde_json::Value {
        self.session.execute_async(&format!(
            "const done = arguments[arguments.length - 1];
             window.__TAURI_INTERNALS__.invoke({}, {})
               .then((ok) => done({{ ok: ok === undefined ? null : ok }}), (error) => done({{ error: String(error && error.message ? error.message : JSON.stringify(error)) }}));",
            serde_json::json!(command),
            args
        ))
    }

    /// Saves a screenshot of the app's window, as the X display shows it, as `NN-step.png`
    /// in this test's folder.
    pub fn screenshot(&mut self, step: &str) {
        self.step += 1;
        let dir = artifacts_dir().join("screenshots").join(&self.name);
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        self.session.wait_for_paint().expect("the page paints");
        let rect = self.session.window_rect().expect("the window's place");
        let png = self
            .display
            .capture(rect)
            .unwrap_or_else(|error| panic!("screenshot {step}: {error}"));
        std::fs::write(dir.join(format!("{:02}-{step}.png", self.step)), png)
            .expect("write screenshot");
    }
}

/// Waits for tauri-driver to listen, then opens a session, retrying on a cold machine.
fn connect(driver_url: &str, binary: &Path) -> Session {
    let deadline = Instant::now() + Duration::from_secs(60);
    let probe = reqwest::blocking::Client::new();
    while probe.get(format!("{driver_url}/status")).send().is_err() {
        assert!(
            Instant::now() < deadline,
            "tauri-driver did not start; see test-artifacts/logs"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut last_error = String::new();
    for _ in 0..3 {
        match Session::create(driver_url, &binary.to_string_lossy()) {
            Ok(session) => return session,
            Err(error) => last_error = error,
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    panic!("could not open a WebDriver session of the app: {last_error}");
}

impl Drop for App {
    fn drop(&mut self) {
        self.session.close();
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.driver.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.wait();
    }
}
