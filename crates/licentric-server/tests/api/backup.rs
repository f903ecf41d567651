//! `licentric-server backup` and `restore`, the real binary on real files: a backup made
//! while clients validate and activate restores into a fresh data directory whose server
//! validates the same keys; a restore refuses a damaged file, a file that is not a
//! Licentric database, a wrong secret and a database in use, and then changes nothing.

use std::{
    path::{Path, PathBuf},
    process::Output,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::binary::{self, text, ServerProcess, NO_RATE_LIMITS};

const SECRET_A: &str = "backup-secret-a: at least thirty-two characters";
const SECRET_B: &str = "backup-secret-b: at least thirty-two characters";

fn run(args: &[&str]) -> Output {
    binary::command(args).output().unwrap()
}

fn secret_file(dir: &Path, name: &str, secret: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, secret).unwrap();
    path
}

/// `init --demo --json` of a new database.
fn init(database: &Path, secret: &Path) -> Value {
    binary::init(database, &["--demo", "--secret-file", text(secret)])
}

/// `serve` on a free port, without rate limits in the way of the load below; its URL too.
fn serve(database: &Path, secret: &Path) -> (ServerProcess, String) {
    let server = ServerProcess::serve(
        database,
        &[&["--secret-file", text(secret)], NO_RATE_LIMITS].concat(),
    );
    let url = server.url.clone();
    (server, url)
}

async fn validate(http: &reqwest::Client, url: &str, body: Value) -> (u16, Value) {
    let response = http
        .post(format!("{url}/api/v1/licenses/validate-key"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn activate(http: &reqwest::Client, url: &str, key: &str, fingerprint: &str) -> u16 {
    http.post(format!("{url}/api/v1/machines"))
        .header("Authorization", format!("License {key}"))
        .json(&json!({ "fingerprint": fingerprint, "name": "Backup test" }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn digest(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_made_under_load_restores_into_a_fresh_server_that_validates_the_same_keys() {
    let dir = tempfile::tempdir().unwrap();
    let secret = secret_file(dir.path(), "secret", SECRET_A);
    let database = dir.path().join("live/licentric.db");
    let created = init(&database, &secret);
    let (server, url) = serve(&database, &secret);
    let http = reqwest::Client::new();
    let api_key = created["apiKey"].as_str().unwrap().to_owned();
    let admin = |method: reqwest::Method, path: &str, body: Value| {
        http.request(method, format!("{url}{path}"))
            .bearer_auth(&api_key)
            .json(&body)
    };
    let product: Value = admin(
        reqwest::Method::POST,
        "/api/v1/products",
        json!({ "name": "Backed up", "keyPrefix": "BACK" }),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let policy: Value = admin(
        reqwest::Method::POST,
        "/api/v1/policies",
        json!({ "productId": product["id"], "name": "Seats", "floating": true, "maxMachines": 1000 }),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let issued: Value = admin(
        reqwest::Method::POST,
        "/api/v1/licenses/bulk",
        json!({ "policyId": policy["id"], "count": 20 }),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let keys: Vec<String> = issued["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys.len(), 20, "{issued}");
    // Acknowledged before the backup starts: must be in it.
    for (n, key) in keys.iter().enumerate() {
        assert_eq!(
            activate(&http, &url, key, &format!("before-{n:04}")).await,
            201
        );
    }

    // Clients validate and activate throughout the backup.
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let mut clients = vec![];
    for client in 0..4 {
        let (http, url, keys) = (http.clone(), url.clone(), keys.clone());
        let (stop, done) = (stop.clone(), done.clone());
        clients.push(tokio::spawn(async move {
            let mut statuses = vec![];
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let key = &keys[n % keys.len()];
                let fingerprint = format!("during-{client}-{n:05}");
                statuses.push(activate(&http, &url, key, &fingerprint).await);
                let (status, _) = validate(
                    &http,
                    &url,
                    json!({ "key": key, "fingerprint": fingerprint }),
                )
                .await;
                statuses.push(status);
                done.fetch_add(1, Ordering::Relaxed);
                n += 1;
            }
            statuses
        }));
    }
    while done.load(Ordering::Relaxed) < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let before_backup = done.load(Ordering::Relaxed);
    let backup_file = dir.path().join("backups/licentric-backup.db");
    std::fs::create_dir_all(backup_file.parent().unwrap()).unwrap();
    let (db_arg, to_arg) = (text(&database).to_owned(), text(&backup_file).to_owned());
    let output = tokio::task::spawn_blocking(move || {
        run(&["backup", "--database-url", &db_arg, "--to", &to_arg])
    })
    .await
    .unwrap();
    let during_backup = done.load(Ordering::Relaxed) - before_backup;
    stop.store(true, Ordering::Relaxed);
    let mut statuses = vec![];
    for client in clients {
        statuses.extend(client.await.unwrap());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("Backed up") && stdout.contains("secret"),
        "{stdout}"
    );
    assert!(!stdout.contains(SECRET_A));
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 201),
        "every request answered while the backup ran: {:?}",
        statuses.iter().filter(|s| **s >= 300).collect::<Vec<_>>()
    );
    // The backup is a process of its own (start, copy, check, flush): clients got
    // answers while it ran.
    assert!(
        during_backup > 0,
        "no request completed while the backup ran"
    );

    // A backup never overwrites a file.
    let again = run(&[
        "backup",
        "--database-url",
        text(&database),
        "--to",
        text(&backup_file),
    ]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // The running server's database is not replaced under it.
    let refused = run(&[
        "restore",
        "--database-url",
        text(&database),
        "--from",
        text(&backup_file),
        "--secret-file",
        text(&secret),
    ]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(stderr.contains("in use"), "{stderr}");
    let (status, _) = validate(&http, &url, json!({ "key": keys[0] })).await;
    assert_eq!(status, 200, "the server still serves its own database");
    let jwks_path = format!(
        "/api/v1/accounts/{}/jwks.json",
        created["accountId"].as_str().unwrap()
    );
    let jwks: Value = http
        .get(format!("{url}{jwks_path}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    drop(server);
    assert!(listing(database.parent().unwrap())
        .iter()
        .all(|name| !name.contains("before-restore") && !name.contains("restoring")));

    // The copy is one consistent instant: the counters the triggers keep agree with rows.
    let copy = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&backup_file)
            .read_only(true),
    )
    .await
    .unwrap();
    let consistent: bool = sqlx::query_scalar(
        "SELECT (SELECT sum(n) FROM machine_totals) = (SELECT count(*) FROM machines)
            AND (SELECT sum(n) FROM license_totals) = (SELECT count(*) FROM licenses)
            AND (SELECT count(*) FROM licenses l
                 WHERE l.machines_count <> (SELECT count(*) FROM machines m WHERE m.license_id = l.id)) = 0",
    )
    .fetch_one(&copy)
    .await
    .unwrap();
    assert!(consistent);
    copy.close().await;

    // Restored into a fresh data directory, a new server validates the same keys.
    let fresh = dir.path().join("fresh/licentric.db");
    let restored = run(&[
        "restore",
        "--database-url",
        text(&fresh),
        "--from",
        text(&backup_file),
        "--secret-file",
        text(&secret),
    ]);
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert!(String::from_utf8_lossy(&restored.stdout).contains("Restored"));
    let (_server, url) = serve(&fresh, &secret);
    for (n, key) in keys.iter().enumerate() {
        let (status, result) = validate(
            &http,
            &url,
            json!({ "key": key, "fingerprint": format!("before-{n:04}") }),
        )
        .await;
        assert_eq!(
            (status, result["code"].as_str()),
            (200, Some("VALID")),
            "{result}"
        );
    }
    let (status, result) = validate(&http, &url, json!({ "key": created["licenseKey"] })).await;
    assert_eq!(
        (status, result["code"].as_str()),
        (200, Some("VALID")),
        "{result}"
    );
    // The same account keys, unsealed with the same secret, sign the new server's answers.
    let restored_jwks: Value = http
        .get(format!("{url}{jwks_path}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(restored_jwks, jwks);
    let machine: Value = http
        .post(format!("{url}/api/v1/machines"))
        .header("Authorization", format!("License {}", keys[0]))
        .json(&json!({ "fingerprint": "after-restore-0001" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(machine["token"].is_string(), "{machine}");
    let listed: Value = http
        .get(format!("{url}/api/v1/machines?q=before-&limit=1"))
        .bearer_auth(&api_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["total"], 20, "{listed}");
}

#[tokio::test]
async fn a_restore_refuses_damaged_foreign_and_wrongly_keyed_files_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let secret = secret_file(dir.path(), "secret", SECRET_A);
    let other_secret = secret_file(dir.path(), "other-secret", SECRET_B);
    let source = dir.path().join("source/licentric.db");
    init(&source, &secret);
    let good = dir.path().join("good.db");
    let output = run(&[
        "backup",
        "--database-url",
        text(&source),
        "--to",
        text(&good),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // The database a refused restore must leave as it was.
    let target = dir.path().join("target/licentric.db");
    let target_account = init(&target, &secret);
    let target_digest = digest(&target);
    let target_files = listing(target.parent().unwrap());

    let bytes = std::fs::read(&good).unwrap();
    let truncated = dir.path().join("truncated.db");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let scribbled = dir.path().join("scribbled.db");
    let mut damaged = bytes.clone();
    // Past the header and the schema's first page: pages of tables and indexes.
    for byte in &mut damaged[8192..12288] {
        *byte = 0x5a;
    }
    std::fs::write(&scribbled, &damaged).unwrap();
    let not_sqlite = dir.path().join("notes.txt");
    std::fs::write(&not_sqlite, "licenses: remember to back up\n".repeat(200)).unwrap();
    let foreign = dir.path().join("foreign.db");
    {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", text(&foreign)))
            .await
            .unwrap();
        sqlx::query("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let missing = dir.path().join("missing.db");

    for (from, key, expected) in [
        (&truncated, &secret, "damaged"),
        (&scribbled, &secret, "damaged"),
        (&not_sqlite, &secret, "not an SQLite database"),
        (&foreign, &secret, "not a Licentric one"),
        (&good, &other_secret, "cannot unseal"),
        (&missing, &secret, "no such file"),
    ] {
        let output = run(&[
            "restore",
            "--database-url",
            text(&target),
            "--from",
            text(from),
            "--secret-file",
            text(key),
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{}: restored", from.display());
        assert!(
            stderr.contains(expected) && stderr.contains("refusing to restore"),
            "{}: {stderr}",
            from.display()
        );
        assert!(!stderr.contains(SECRET_A) && !stderr.contains(SECRET_B));
        assert_eq!(digest(&target), target_digest, "{}", from.display());
        assert_eq!(listing(target.parent().unwrap()), target_files);
    }
    // Without any secret, the default file beside the target is not there: refused.
    let output = run(&[
        "restore",
        "--database-url",
        text(&dir.path().join("elsewhere/licentric.db")),
        "--from",
        text(&good),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("server-secret"), "{stderr}");
    assert!(!dir.path().join("elsewhere/licentric.db").exists());

    // The good file with its secret replaces the target, which is kept aside.
    let output = run(&[
        "restore",
        "--database-url",
        text(&target),
        "--from",
        text(&good),
        "--secret-file",
        text(&secret),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("before-restore"), "{stdout}");
    let kept = listing(target.parent().unwrap())
        .into_iter()
        .find(|name| name.starts_with("licentric.db.before-restore-"))
        .unwrap();
    let accounts = |file: PathBuf| async move {
        let pool = sqlx::SqlitePool::connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(file)
                .read_only(true),
        )
        .await
        .unwrap();
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM accounts")
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        ids
    };
    // The replaced database, whole (its log folded in before it was set aside).
    let target_account = target_account["accountId"].as_str().unwrap().to_owned();
    assert_eq!(
        accounts(target.with_file_name(kept)).await,
        std::slice::from_ref(&target_account)
    );
    let restored = accounts(target.clone()).await;
    assert_eq!(restored.len(), 1);
    assert_ne!(restored, [target_account]);
}
