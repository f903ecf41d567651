//! The `licentric-server` binary itself: `init` and `serve`.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_licentric-server");

fn init_json(database: &std::path::Path, demo: bool) -> Value {
    let mut command = Command::new(BIN);
    command.args([
        "init",
        "--json",
        "--database-url",
        database.to_str().unwrap(),
    ]);
    if demo {
        command.arg("--demo");
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn init_prints_one_json_object_and_stores_the_api_key_only_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("fresh/licentric.db");
    let created = init_json(&database, true);
    for field in [
        "accountId",
        "apiKey",
        "productId",
        "policyId",
        "licenseId",
        "licenseKey",
    ] {
        assert!(
            created[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field}: {created}"
        );
    }
    let api_key = created["apiKey"].as_str().unwrap();
    assert!(api_key.starts_with("lk_live_"), "{api_key}");
    assert!(created["licenseKey"].as_str().unwrap().starts_with("DEMO-"));

    let pool = licentric_server::db::connect(database.to_str().unwrap())
        .await
        .unwrap();
    let (hash, scopes): (String, String) = sqlx::query_as("SELECT key_hash, scopes FROM api_keys")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(hash, hex::encode(Sha256::digest(api_key.as_bytes())));
    assert_eq!(
        serde_json::from_str::<Vec<String>>(&scopes).unwrap().len(),
        13
    );
    // The clear key is nowhere in the database file.
    drop(pool);
    let raw = std::fs::read(&database).unwrap();
    let wal = std::fs::read(database.with_extension("db-wal")).unwrap_or_default();
    for bytes in [raw, wal] {
        assert!(!bytes
            .windows(api_key.len())
            .any(|w| w == api_key.as_bytes()));
    }
}

#[test]
fn init_without_demo_creates_no_demo_records() {
    let dir = tempfile::tempdir().unwrap();
    let created = init_json(&dir.path().join("licentric.db"), false);
    assert!(created["accountId"].is_string());
    assert!(created.get("licenseKey").is_none(), "{created}");
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serve_listens_where_told_and_validates_the_demo_key() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("licentric.db");
    let created = init_json(&database, true);
    let mut server = Server(
        Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env(
                "LICENTRIC_DATABASE_URL",
                format!("sqlite://{}", database.display()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base_url = line
        .trim()
        .strip_prefix("Licentric server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();

    let http = reqwest::Client::new();
    let health: Value = http
        .get(format!("{base_url}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let result: Value = http
        .post(format!("{base_url}/api/v1/licenses/validate-key"))
        .json(&json!({ "key": created["licenseKey"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(result["code"], "VALID");
}

#[test]
fn serve_refuses_an_unsupported_database_with_a_clear_message() {
    let output = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "postgres://localhost/x",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("PostgreSQL is not supported"), "{stderr}");
}
