//! PostgreSQL stopped and started again under load, on a cluster of the test's own
//! (`initdb` and `pg_ctl` of Debian's PostgreSQL in a temporary folder, run as the
//! `postgres` user when the test runs as root). Through the outage the server answers
//! 503 with `Retry-After` and nothing else; afterwards it recovers without a restart; and
//! no write is half-applied.

use std::{
    path::PathBuf,
    process::Command,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use reqwest::Method;
use serde_json::{json, Value};

use super::cluster::{send, serve, served};
use super::*;
use crate::nginx::free_port;

/// A PostgreSQL cluster of the test's own: stopped and removed when dropped.
struct OwnCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl OwnCluster {
    fn start() -> Self {
        // The newest installed major version's tools.
        let mut bins: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .expect("this test needs Debian's PostgreSQL (scripts/setup.sh installs it)")
            .map(|e| e.unwrap().path().join("bin"))
            .filter(|b| b.join("pg_ctl").exists())
            .collect();
        bins.sort_by_key(|b| {
            b.parent()
                .and_then(|v| v.file_name())
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok())
        });
        let bin = bins.pop().expect("no PostgreSQL in /usr/lib/postgresql");
        let dir = tempfile::tempdir().unwrap();
        let cluster = Self {
            dir,
            bin,
            port: free_port(),
        };
        if is_root() {
            // PostgreSQL refuses to run as root: the folder is the postgres user's.
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(cluster.dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let data = cluster.data();
        cluster.tool(
            "initdb",
            &["-D", &data, "-U", "postgres", "-A", "trust", "--no-sync"],
        );
        cluster.up();
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// Runs one of PostgreSQL's tools (as the postgres user when root); fails the test if
    /// it fails.
    fn tool(&self, name: &str, args: &[&str]) {
        let program = self.bin.join(name);
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        let output = command.args(args).output().unwrap();
        assert!(
            output.status.success(),
            "{name} {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Starts it and waits until it takes connections.
    fn up(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=50 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        self.tool(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-w",
                "-o",
                &options,
                "start",
            ],
        );
    }

    /// A fast shutdown: every session is ended, transactions in flight are rolled back.
    fn down(&self) {
        self.tool("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    /// A superuser's connection options.
    fn options(&self) -> PgConnectOptions {
        PgConnectOptions::new()
            .host("127.0.0.1")
            .port(self.port)
            .username("postgres")
            .password("unused: trust")
            .database("postgres")
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let program = self.bin.join("pg_ctl");
        let data = self.data();
        let args = ["-D", data.as_str(), "-m", "immediate", "stop"];
        let _ = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(program)
                .args(args)
                .output()
        } else {
            Command::new(program).args(args).output()
        };
    }
}

fn is_root() -> bool {
    let output = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

/// What a request of the load was, and what it got.
#[derive(Debug, Clone)]
struct Sent {
    kind: &'static str,
    /// The fingerprint activated, or the validations' key.
    what: String,
    status: u16,
    retry_after: Option<String>,
    code: String,
    /// When it was answered, from the start of the load.
    at: Duration,
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn a_postgresql_restart_under_load_gives_503s_then_recovers_and_half_applies_nothing() {
    let cluster = OwnCluster::start();
    let served = served(fresh_empty_on(cluster.options()).await).await;
    // A short wait for a connection and short statements, so the outage is answered soon.
    let server = serve(
        &served.pg.app_url,
        &[
            "--database-pool-size",
            "4",
            "--database-statement-timeout-ms",
            "3000",
        ],
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let bearer = format!("Bearer {}", served.api_key);
    let admin = |method: Method, path: String, body: Option<Value>| {
        send(
            &http,
            method,
            format!("{}{path}", server.url),
            Some(bearer.clone()),
            body,
        )
    };
    let (status, _, policy) = admin(
        Method::POST,
        "/api/v1/policies".into(),
        Some(json!({ "productId": served.demo.product_id, "name": "Load", "floating": true, "maxMachines": 100000 })),
    )
    .await;
    assert_eq!(status, 201, "{policy}");
    let (status, _, license) = admin(
        Method::POST,
        "/api/v1/licenses".into(),
        Some(json!({ "policyId": policy["id"] })),
    )
    .await;
    assert_eq!(status, 201, "{license}");
    let key = license["key"].as_str().unwrap().to_owned();
    let license_id = license["id"].as_str().unwrap().to_owned();

    // Four clients, each validating and activating in turn, until told to stop.
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(Mutex::new(Vec::<Sent>::new()));
    let counter = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (stop, sent, counter) = (stop.clone(), sent.clone(), counter.clone());
            let (http, url, key) = (http.clone(), server.url.clone(), key.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let n = counter.fetch_add(1, Ordering::SeqCst);
                    let (kind, what, request) = if n % 2 == 0 {
                        let request = http
                            .post(format!("{url}/api/v1/licenses/validate-key"))
                            .json(&json!({ "key": key }));
                        ("validation", key.clone(), request)
                    } else {
                        let fingerprint = format!("restart-load-{n:06}");
                        let request = http
                            .post(format!("{url}/api/v1/machines"))
                            .header("authorization", format!("License {key}"))
                            .json(&json!({ "fingerprint": fingerprint }));
                        ("activation", fingerprint, request)
                    };
                    let response = request
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("a {kind} got no answer: {e}"));
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .map(|v| v.to_str().unwrap().to_owned());
                    let (status, body) = crate::helpers::read(response).await;
                    let code = body["error"]["code"]
                        .as_str()
                        .or(body["code"].as_str())
                        .unwrap_or_default()
                        .to_owned();
                    sent.lock().unwrap().push(Sent {
                        kind,
                        what,
                        status,
                        retry_after,
                        code,
                        at: started.elapsed(),
                    });
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stopping = started.elapsed();
    cluster.down();
    let stopped = started.elapsed();
    // Longer than the pool waits for a connection (5 s): requests that came in during
    // the outage are answered within it, not only those whose connection was cut.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let starting = started.elapsed();
    cluster.up();
    // Recovered: answers of every kind succeed again, without restarting the server.
    let up = started.elapsed();
    let recovered = loop {
        let answered = sent.lock().unwrap().clone();
        let first_good = |kind| {
            answered
                .iter()
                .filter(|s| s.kind == kind && s.at > up && (200..300).contains(&s.status))
                .map(|s| s.at)
                .min()
        };
        if let (Some(v), Some(a)) = (first_good("validation"), first_good("activation")) {
            break v.max(a);
        }
        assert!(
            started.elapsed() < up + Duration::from_secs(30),
            "no recovery 30 s after PostgreSQL started again: {:?}",
            answered.last()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }
    let sent = sent.lock().unwrap().clone();

    // Nothing but successes, refusals the load expects (none) and 503s with Retry-After.
    let refused: Vec<&Sent> = sent.iter().filter(|s| s.status == 503).collect();
    for s in &sent {
        assert!(
            (200..300).contains(&s.status) || s.status == 503,
            "only 2xx and 503 are right here: {s:?}"
        );
    }
    for s in &refused {
        assert!(
            s.retry_after
                .as_deref()
                .is_some_and(|r| r.parse::<u64>().is_ok_and(|r| r > 0)),
            "a 503 without Retry-After: {s:?}"
        );
        assert_eq!(s.code, "database_unavailable", "{s:?}");
        assert!(s.at > stopping, "a 503 before the outage: {s:?}");
    }
    assert!(!refused.is_empty(), "the outage was never seen: {sent:?}");
    assert!(
        sent.iter()
            .any(|s| s.at < stopping && (200..300).contains(&s.status)),
        "no load was answered before the outage"
    );
    // After the first success past the restart, everything succeeds.
    let after: Vec<&Sent> = sent.iter().filter(|s| s.at > recovered).collect();
    assert!(!after.is_empty());
    assert!(
        after.iter().all(|s| (200..300).contains(&s.status)),
        "{after:?}"
    );
    eprintln!(
        "restart: {} requests, {} refused with 503; stopped at {stopping:?}..{stopped:?}, started at {starting:?}..{up:?}, recovered by {recovered:?}",
        sent.len(),
        refused.len()
    );

    // No write half-applied: each machine has its audit event and its activity record (all
    // written in its activation's transaction), each activation answered 201 is there,
    // and the uses counted are the validations recorded.
    let db = &served.pg.admin;
    let machines: Vec<String> =
        sqlx::query_scalar("SELECT fingerprint FROM machines WHERE license_id = $1")
            .bind(&license_id)
            .fetch_all(db)
            .await
            .unwrap();
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'machine.activated' AND resource_id IN (SELECT id FROM machines WHERE license_id = $1)",
    )
    .bind(&license_id)
    .fetch_one(db)
    .await
    .unwrap();
    let (uses, machines_count): (i64, i64) =
        sqlx::query_as("SELECT uses, machines_count FROM licenses WHERE id = $1")
            .bind(&license_id)
            .fetch_one(db)
            .await
            .unwrap();
    let activations: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM activity WHERE license_id = $1 AND kind = 'activation'",
    )
    .bind(&license_id)
    .fetch_one(db)
    .await
    .unwrap();
    let validations: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM activity WHERE license_id = $1 AND kind = 'validation'",
    )
    .bind(&license_id)
    .fetch_one(db)
    .await
    .unwrap();
    let n = |v: usize| i64::try_from(v).unwrap();
    let answered = |kind: &str, ok: bool| {
        n(sent
            .iter()
            .filter(|s| s.kind == kind && (200..300).contains(&s.status) == ok)
            .count())
    };
    assert_eq!(n(machines.len()), machines_count);
    assert_eq!(audited, machines_count);
    assert_eq!(activations, machines_count);
    assert_eq!(validations, uses);
    for s in sent
        .iter()
        .filter(|s| s.kind == "activation" && s.status == 201)
    {
        assert!(machines.contains(&s.what), "{s:?} is not stored");
    }
    // A refused request may have been applied whole before its connection was lost, but
    // never more than was asked.
    assert!(machines_count >= answered("activation", true));
    assert!(machines_count <= answered("activation", true) + answered("activation", false));
    assert!(uses >= answered("validation", true));
    assert!(uses <= answered("validation", true) + answered("validation", false));
}
