//! The `licentric` binary against the real `licentric-server` binary on loopback, each test
//! with its own SQLite file, data folder and config file. No OS keyring is reachable here
//! (the session bus address leads nowhere), as on a headless server: the key goes to the
//! owner-only file fallback.

#![allow(clippy::unwrap_used)]

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
};

use licentric_client::{Licentric, ListParams};
use serde_json::Value;

const CLI: &str = env!("CARGO_BIN_EXE_licentric");
const SALT: &str = "cli-test-salt";

/// The server binary beside this one, built first when a lone `cargo test -p licentric-cli`
/// has not built it.
fn server_binary() -> PathBuf {
    let path = Path::new(CLI).with_file_name("licentric-server");
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "-p",
                "licentric-server",
                "--bin",
                "licentric-server",
            ])
            .status()
            .unwrap();
        assert!(status.success(), "building licentric-server failed");
    }
    path
}

struct Server {
    process: Child,
    url: String,
    init: Value,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Server {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("licentric.db");
        let bin = server_binary();
        let output = Command::new(&bin)
            .args(["init", "--demo", "--json", "--database-url"])
            .arg(&database)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let init: Value = serde_json::from_slice(&output.stdout).unwrap();
        let mut process = Command::new(&bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url"])
            .arg(&database)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(process.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("Licentric server listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self {
            process,
            url,
            init,
            _dir: dir,
        }
    }

    fn field(&self, name: &str) -> String {
        self.init[name].as_str().unwrap().to_owned()
    }

    fn key(&self) -> String {
        self.field("licenseKey")
    }

    fn admin(&self) -> Licentric {
        Licentric::builder()
            .base_url(&self.url)
            .api_key(self.field("apiKey"))
            .build()
            .unwrap()
    }

    async fn jwks(&self) -> String {
        reqwest::get(format!(
            "{}/api/v1/accounts/{}/jwks.json",
            self.url,
            self.field("accountId")
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
    }

    async fn machines(&self) -> Vec<licentric_client::Machine> {
        self.admin()
            .list_machines(&ListParams::default())
            .await
            .unwrap()
            .data
    }
}

/// One machine's `licentric`: a config file naming the server, product and key file, a
/// data folder, and a system root holding no container markers unless a test adds them.
struct Machine {
    dir: tempfile::TempDir,
}

impl Machine {
    async fn new(server: &Server) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("jwks.json"), server.jwks().await).unwrap();
        // The machine's own root: its machine id (so two "machines" on one host differ)
        // and, when a test adds them, container markers.
        std::fs::create_dir_all(dir.path().join("root/etc")).unwrap();
        let machine_id = format!("{:032x}", rand::random::<u128>());
        std::fs::write(dir.path().join("root/etc/machine-id"), machine_id).unwrap();
        // Paths relative to the config file: the file layer is read for real.
        std::fs::write(
            dir.path().join("licentric.toml"),
            format!(
                "server_url = \"{}\"\nproduct_id = \"{}\"\nproduct_salt = \"{SALT}\"\npublic_key_file = \"jwks.json\"\ndata_dir = \"data\"\nsystem_root = \"root\"\n",
                server.url,
                server.field("productId")
            ),
        )
        .unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self) -> Command {
        let mut command = Command::new(CLI);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("LICENTRIC_") {
                command.env_remove(name);
            }
        }
        command
            .env("LICENTRIC_CONFIG", self.path("licentric.toml"))
            .env("HOME", self.dir.path())
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/licentric-cli-test-bus",
            )
            .env_remove("DISPLAY")
            .env_remove("KUBERNETES_SERVICE_HOST");
        command
    }

    fn run(&self, args: &[&str]) -> Run {
        Run(self.command().args(args).output().unwrap())
    }

    fn storage(&self, server: &Server) -> PathBuf {
        self.path("data/licenses").join(server.field("productId"))
    }

    fn status(&self, extra: &[&str]) -> Value {
        let run = self.run(&[&["status", "--json"], extra].concat());
        assert_eq!(run.code(), 0, "{run:?}");
        serde_json::from_str(&run.stdout()).unwrap()
    }
}

struct Run(Output);

impl Run {
    fn code(&self) -> i32 {
        self.0.status.code().unwrap()
    }
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\nstdout:\n{}\nstderr:\n{}",
            self.0.status.code(),
            self.stdout(),
            self.stderr()
        )
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn activate_status_check_deactivate_on_a_headless_machine() {
    let server = Server::start().await;
    let machine = Machine::new(&server).await;

    let before = machine.run(&["check"]);
    assert_eq!(before.code(), 10, "{before:?}");
    assert!(before.stderr().contains("licentric activate"), "{before:?}");

    let activated = machine.run(&["activate", &server.key()]);
    assert_eq!(activated.code(), 0, "{activated:?}");
    assert!(
        activated.stdout().contains("machines in use 1/3"),
        "{activated:?}"
    );
    // No Secret Service: the key is in an owner-only file, and the output says so.
    let key_file = machine.storage(&server).join("license.key");
    assert!(
        activated.stdout().contains("No OS keyring is available")
            && activated.stdout().contains(&key_file.display().to_string()),
        "{activated:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap().trim(),
        server.key()
    );
    #[cfg(unix)]
    assert_eq!(mode(&key_file), 0o600);

    let status = machine.status(&[]);
    assert_eq!(status["licensed"], true, "{status}");
    assert_eq!(status["exitCode"], 0);
    assert_eq!(status["license"]["standing"], "online");
    assert_eq!(status["license"]["status"], "active");
    assert_eq!(status["key"]["storage"], "file");
    assert_eq!(
        status["platform"], "linux",
        "no container markers under the root"
    );
    let human = machine.run(&["status"]);
    assert!(
        human.stdout().starts_with("Licensed (checked online)")
            && human.stdout().contains("owner-only file"),
        "{human:?}"
    );

    // The server sees the machine under the fingerprint the CLI reports.
    let machines = server.machines().await;
    assert_eq!(machines.len(), 1);
    assert_eq!(
        Some(machines[0].fingerprint.as_str()),
        status["license"]["fingerprint"].as_str()
    );

    assert_eq!(machine.run(&["check"]).code(), 0);
    let cached = machine.run(&["check", "--offline"]);
    assert_eq!(cached.code(), 0, "{cached:?}");
    assert!(cached.stdout().contains("offline"), "{cached:?}");

    let deactivated = machine.run(&["deactivate"]);
    assert_eq!(deactivated.code(), 0, "{deactivated:?}");
    assert!(server.machines().await.is_empty(), "the seat is free");
    assert!(!key_file.exists(), "the key is forgotten");
    assert_eq!(machine.run(&["check"]).code(), 10);
    assert_eq!(machine.run(&["check", "--offline", "--quiet"]).code(), 10);
}

#[tokio::test]
async fn check_exits_with_a_distinct_code_per_problem() {
    let server = Server::start().await;
    let machine = Machine::new(&server).await;

    // Usage and configuration.
    assert_eq!(machine.run(&["chekc"]).code(), 2);
    let unconfigured = machine
        .command()
        .env("LICENTRIC_CONFIG", machine.path("missing.toml"))
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(unconfigured.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&unconfigured.stderr).contains("missing.toml"));

    // A key the server does not know.
    let unknown = machine.run(&["activate", "DEMO-2222-3333-4444-5555"]);
    assert_eq!(unknown.code(), 11, "{unknown:?}");
    assert!(
        unknown.stderr().contains("no license exists"),
        "{unknown:?}"
    );

    // Every seat taken by other machines.
    let admin = server.admin();
    for n in 0..3 {
        admin
            .activate(&server.key(), &format!("{n:064x}"), Some("other"), None)
            .await
            .unwrap();
    }
    let full = machine.run(&["activate", &server.key()]);
    assert_eq!(full.code(), 15, "{full:?}");
    for other in server.machines().await {
        admin.delete_machine(&other.id).await.unwrap();
    }
    assert_eq!(machine.run(&["activate", &server.key()]).code(), 0);

    let license = server.field("licenseId");
    admin.suspend_license(&license).await.unwrap();
    let suspended = machine.run(&["check"]);
    assert_eq!(suspended.code(), 13, "{suspended:?}");
    admin.reinstate_license(&license).await.unwrap();
    assert_eq!(machine.run(&["check"]).code(), 0);

    // A damaged cache cannot be trusted offline.
    let token = machine.storage(&server).join("license.dat");
    let good = std::fs::read(&token).unwrap();
    std::fs::write(&token, b"not a token").unwrap();
    assert_eq!(machine.run(&["check", "--offline"]).code(), 16);
    std::fs::write(&token, &good).unwrap();

    // The server unreachable and nothing cached: a network problem, not "unlicensed".
    std::fs::remove_file(&token).unwrap();
    let unreachable = machine
        .command()
        .env("LICENTRIC_SERVER_URL", "http://127.0.0.1:9")
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(unreachable.status.code(), Some(19));

    admin.revoke_license(&license).await.unwrap();
    let revoked = machine.run(&["check"]);
    assert_eq!(revoked.code(), 14, "{revoked:?}");
    let status = machine.status(&[]);
    assert_eq!(status["licensed"], false);
    assert_eq!(status["code"], "revoked");
    assert_eq!(status["exitCode"], 14);
}

/// Whether this process may make a network namespace (root with unshare(1)).
fn can_unshare_network() -> bool {
    Command::new("unshare")
        .args(["-n", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test]
async fn with_no_route_to_the_server_check_runs_from_the_cache() {
    let server = Server::start().await;
    let machine = Machine::new(&server).await;
    assert_eq!(machine.run(&["activate", &server.key()]).code(), 0);

    let offline = if can_unshare_network() {
        // A network namespace of its own: no interface but a down loopback, no route.
        let command = machine.command();
        let program = command.get_program().to_owned();
        let mut isolated = Command::new("unshare");
        isolated.arg("-n").arg(program).args(["status", "--json"]);
        for (name, value) in command.get_envs() {
            match value {
                Some(value) => isolated.env(name, value),
                None => isolated.env_remove(name),
            };
        }
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("LICENTRIC_") {
                isolated.env_remove(name);
            }
        }
        Run(isolated.output().unwrap())
    } else {
        eprintln!("note: cannot make a network namespace here (needs root and unshare); the server's port is closed instead");
        Run(machine
            .command()
            .env("LICENTRIC_SERVER_URL", "http://127.0.0.1:9")
            .args(["status", "--json"])
            .output()
            .unwrap())
    };
    assert_eq!(offline.code(), 0, "{offline:?}");
    let status: Value = serde_json::from_str(&offline.stdout()).unwrap();
    assert_eq!(status["licensed"], true, "{status}");
    assert_eq!(status["license"]["standing"], "offline");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("cannot be reached"),
        "{status}"
    );
}

#[tokio::test]
async fn offline_activation_by_request_and_license_file() {
    let server = Server::start().await;
    let machine = Machine::new(&server).await;
    let out = machine.path("request.txt");
    let request = machine.run(&[
        "offline",
        "request",
        &server.key(),
        "--qr",
        "always",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(request.code(), 0, "{request:?}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("LICENTRIC-REQ"), "{text}");
    assert!(request.stdout().contains(text.trim()), "{request:?}");
    assert!(
        request.stdout().contains('█'),
        "a QR code is drawn: {request:?}"
    );
    #[cfg(unix)]
    assert_eq!(mode(&out), 0o600, "the request holds the key");
    // Piped and not asked for, there is no QR code: just the text, the same request but
    // for its time (kept to the second, so a second run may fall in the next second).
    let piped = machine.run(&["offline", "request", &server.key()]);
    assert_eq!(piped.stdout().trim().lines().count(), 1, "{piped:?}");
    let first = licentric_core::ActivationRequest::parse(text.trim()).unwrap();
    let again = licentric_core::ActivationRequest::parse(piped.stdout().trim()).unwrap();
    assert_eq!(
        (
            first.fingerprint(),
            first.license(),
            first.machine_name(),
            first.platform()
        ),
        (
            again.fingerprint(),
            again.license(),
            again.machine_name(),
            again.platform()
        )
    );
    let apart = again.created_at() - first.created_at();
    assert!((0..=60).contains(&apart.num_seconds()), "{apart}");

    // Support turns the request into a license file.
    let activation = server.admin().offline_activation(&text).await.unwrap();
    let file = machine.path("license.lic");
    std::fs::write(&file, &activation.certificate).unwrap();
    // Nothing reaches the server from here on: no server URL at all.
    let offline = |args: &[&str]| {
        Run(machine
            .command()
            .env("LICENTRIC_SERVER_URL", "")
            .args(args)
            .output()
            .unwrap())
    };
    let imported = offline(&[
        "offline",
        "import",
        file.to_str().unwrap(),
        "--key",
        &server.key(),
    ]);
    assert_eq!(imported.code(), 0, "{imported:?}");
    assert!(
        imported.stdout().contains("licensed offline until"),
        "{imported:?}"
    );
    let checked = offline(&["check"]);
    assert_eq!(checked.code(), 0, "{checked:?}");
    let status = machine.status(&["--offline"]);
    assert_eq!(status["license"]["standing"], "offline_file", "{status}");

    // A file for another machine is refused.
    let other = Machine::new(&server).await;
    let wrong = other.run(&["offline", "import", file.to_str().unwrap()]);
    assert_eq!(wrong.code(), 16, "{wrong:?}");
}

#[tokio::test]
async fn a_container_is_reported_as_docker() {
    let server = Server::start().await;
    // By /.dockerenv …
    let marked = Machine::new(&server).await;
    std::fs::write(marked.path("root/.dockerenv"), "").unwrap();
    assert_eq!(marked.run(&["activate", &server.key()]).code(), 0);
    assert_eq!(marked.status(&[])["platform"], "docker");
    // … and by the cgroup of process 1.
    let cgroup = Machine::new(&server).await;
    std::fs::create_dir_all(cgroup.path("root/proc/1")).unwrap();
    std::fs::write(
        cgroup.path("root/proc/1/cgroup"),
        "0::/system.slice/docker-0123abcd.scope\n",
    )
    .unwrap();
    assert_eq!(cgroup.run(&["activate", &server.key()]).code(), 0);

    let machines = server.machines().await;
    assert_eq!(
        machines.len(),
        2,
        "two containers on one host: {machines:?}"
    );
    assert!(machines
        .iter()
        .all(|m| m.platform.map(|p| p.as_str()) == Some("docker")));
}

#[tokio::test]
async fn heartbeat_beats_until_sigterm_and_then_exits_cleanly() {
    let server = Server::start().await;
    let machine = Machine::new(&server).await;
    assert_eq!(machine.run(&["activate", &server.key()]).code(), 0);

    let mut beating = machine
        .command()
        .args(["heartbeat", "--every", "1s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(beating.stdout.take().unwrap()).lines();
    let mut beats = 0;
    while beats < 2 {
        let line = lines.next().unwrap().unwrap();
        if line.ends_with("heartbeat sent") {
            beats += 1;
        }
    }
    let machines = server.machines().await;
    assert!(machines[0].last_heartbeat_at.is_some(), "{machines:?}");

    let killed = Command::new("kill")
        .args(["-TERM", &beating.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = beating.wait().unwrap();
    assert_eq!(status.code(), Some(0), "SIGTERM is a clean stop");
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert_eq!(
        rest.last().map(String::as_str),
        Some("Stopped (SIGTERM)."),
        "{rest:?}"
    );

    // Without an activation there is nothing to beat for: it says so and stops.
    let fresh = Machine::new(&server).await;
    let refused = fresh.run(&["heartbeat", "--every", "1s"]);
    assert_eq!(refused.code(), 10, "{refused:?}");
}
