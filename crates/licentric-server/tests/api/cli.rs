//! The `licentric-server` binary itself: `init` and `serve`.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::binary::{self, ServerProcess};

fn init_json(database: &std::path::Path, demo: bool) -> Value {
    binary::init(database, if demo { &["--demo"] } else { &[] })
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
        licentric_core::Scope::ALL.len(),
        "the initial key holds every scope, events:read included"
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

#[tokio::test]
async fn serve_listens_where_told_and_validates_the_demo_key() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("licentric.db");
    let created = init_json(&database, true);
    // The database given by the environment, not by an argument.
    let mut serve = binary::command(&["serve", "--listen", "127.0.0.1:0"]);
    serve.env(
        "LICENTRIC_DATABASE_URL",
        format!("sqlite://{}", database.display()),
    );
    let server = ServerProcess::start(serve).unwrap();
    let base_url = &server.url;

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
fn serve_refuses_an_unsupported_or_unreachable_database_with_a_clear_message() {
    let refusal = |url: &str| {
        let output = binary::command(&["serve", "--listen", "127.0.0.1:0", "--database-url", url])
            .env("LICENTRIC_SECRET", SECRET_A)
            .output()
            .unwrap();
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let stderr = refusal("mysql://localhost/x");
    assert!(stderr.contains("unsupported database URL"), "{stderr}");
    // PostgreSQL is served (tests/api/postgres.rs); nothing listens on port 1. The URL's
    // password is never echoed.
    let stderr = refusal("postgres://licentric:hunter2-secret@127.0.0.1:1/x");
    assert!(stderr.contains("cannot connect to PostgreSQL"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

const SECRET_A: &str = "secret-a: at least thirty-two characters long";
const SECRET_B: &str = "secret-b: at least thirty-two characters long";

/// `init --demo --json` with the secret in `LICENTRIC_SECRET` (or none).
fn init_with_secret(database: &std::path::Path, secret: Option<&str>) -> (Value, String) {
    let mut command = binary::command(&[
        "init",
        "--json",
        "--demo",
        "--database-url",
        binary::text(database),
    ]);
    if let Some(secret) = secret {
        command.env("LICENTRIC_SECRET", secret);
    }
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    (serde_json::from_slice(&output.stdout).unwrap(), stderr)
}

/// Starts `serve` on port 0; returns the server and its base URL, or the exit status and
/// stderr when it refuses to start.
fn serve(database: &std::path::Path, secret: Option<&str>) -> Result<ServerProcess, String> {
    let mut command = binary::command(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        binary::text(database),
    ]);
    command.env("RUST_LOG", "debug");
    if let Some(secret) = secret {
        command.env("LICENTRIC_SECRET", secret);
    }
    ServerProcess::start(command)
}

#[tokio::test]
async fn a_server_given_another_secret_than_its_database_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("licentric.db");
    let (created, _) = init_with_secret(&database, Some(SECRET_A));
    // No secret file is made when the secret comes from the environment.
    assert!(!dir.path().join("server-secret").exists());

    let refusal = serve(&database, Some(SECRET_B)).err().expect("refused");
    assert!(
        refusal.contains("cannot unseal signing key")
            && refusal.contains("LICENTRIC_SECRET environment variable")
            && refusal.contains("another secret"),
        "{refusal}"
    );
    assert!(!refusal.contains(SECRET_A) && !refusal.contains(SECRET_B));
    // Without any secret, the database's keys cannot be used either: refused too.
    let refusal = serve(&database, None).err().expect("refused");
    assert!(refusal.contains("does not exist"), "{refusal}");
    assert!(!dir.path().join("server-secret").exists());

    let mut server = serve(&database, Some(SECRET_A)).unwrap();
    let jwks: Value = reqwest::get(format!(
        "{}/api/v1/accounts/{}/jwks.json",
        server.url,
        created["accountId"].as_str().unwrap()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1, "{jwks}");
    server.kill();
    let log = server.log();
    assert!(!log.contains(SECRET_A), "the secret is never logged: {log}");
}

#[tokio::test]
async fn without_a_secret_init_creates_a_private_secret_file_beside_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("data/licentric.db");
    let (created, stderr) = init_with_secret(&database, None);
    let secret_file = dir.path().join("data/server-secret");
    assert!(stderr.contains("server-secret"), "{stderr}");
    let secret = std::fs::read_to_string(&secret_file).unwrap();
    assert!(secret.trim().len() >= 32);
    assert!(!stderr.contains(secret.trim()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // init made both environments' keys, sealed with that secret.
    let pool = licentric_server::db::connect(database.to_str().unwrap())
        .await
        .unwrap();
    let keys: i64 = sqlx::query_scalar("SELECT count(*) FROM signing_keys WHERE account_id = ?")
        .bind(created["accountId"].as_str().unwrap())
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(keys, 2);
    pool.close().await;

    // serve finds the same file by itself.
    drop(serve(&database, None).unwrap());
    // A lost secret file is not silently replaced.
    std::fs::remove_file(&secret_file).unwrap();
    let refusal = serve(&database, None).err().expect("refused");
    assert!(
        refusal.contains("does not exist") && refusal.contains("server-secret"),
        "{refusal}"
    );
    let refusal = {
        let output = binary::command(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            binary::text(&database),
        ])
        .env("LICENTRIC_SECRET", "short")
        .output()
        .unwrap();
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    assert!(refusal.contains("at least 32"), "{refusal}");
}
