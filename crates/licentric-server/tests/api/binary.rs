//! The real `licentric-server` binary, for the tests that need a process of their own:
//! `init` a database, start `serve` and read where it listens, then stop it the way the
//! test needs (dropped: killed; `kill()`: SIGKILL now; `terminate()`: SIGTERM).

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

/// The binary Cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_licentric-server");

/// Rate limits raised out of the way of a test's load.
pub const NO_RATE_LIMITS: &[&str] = &[
    "--rate-limit-anonymous",
    "1000000/1s",
    "--rate-limit-license-key",
    "1000000/1s",
    "--rate-limit-api-key",
    "1000000/1s",
];

/// The binary with `args` and none of the environment's `LICENTRIC_*` settings, so a test
/// gets exactly what it passes.
pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("LICENTRIC_SECRET")
        .env_remove("LICENTRIC_SECRET_FILE")
        .env_remove("LICENTRIC_DATABASE_URL");
    command
}

/// `init --json --database-url DATABASE` plus `extra` (e.g. `--demo`); its JSON answer.
pub fn init(database: &Path, extra: &[&str]) -> Value {
    let output = command(&["init", "--json", "--database-url", text(database)])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "init failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A path as the command-line argument it is.
pub fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A running `serve`: killed when dropped.
pub struct ServerProcess {
    child: Child,
    log: tempfile::NamedTempFile,
    /// Where it listens, e.g. `http://127.0.0.1:40123`.
    pub url: String,
}

impl ServerProcess {
    /// `serve` on a free loopback port with `database`, plus `extra` arguments.
    pub fn serve(database: &Path, extra: &[&str]) -> Self {
        let mut serve = command(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            text(database),
        ]);
        serve.args(extra);
        Self::start(serve).unwrap_or_else(|refusal| panic!("the server did not start: {refusal}"))
    }

    /// Starts `command` (a `serve`) and waits for its "listening on" line. When it exits
    /// instead, the error is its exit status and everything it wrote to stderr.
    pub fn start(mut command: Command) -> Result<Self, String> {
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let mut server = Self {
            child,
            log,
            url: String::new(),
        };
        match line.trim().strip_prefix("Licentric server listening on ") {
            Some(url) => {
                server.url = url.to_owned();
                Ok(server)
            }
            None => {
                let status = server.child.wait().unwrap();
                Err(format!("{status}: {}", server.log()))
            }
        }
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Everything it has written to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap()
    }

    /// SIGKILL, and waits for it to be gone: a crash, as far as the server can tell.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM: asks for a graceful stop.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits for it to exit by itself; fails the test (killing it) after `within`.
    pub fn wait_for_exit(&mut self, within: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if started.elapsed() > within {
                let _ = self.child.kill();
                panic!("the server was still running {within:?} after it was asked to stop");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
