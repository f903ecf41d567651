//! `licentric-server migrate-db`: a SQLite database filled by the real server over HTTP,
//! moved into a real PostgreSQL by the real binary, then read there as the runtime role.

use std::path::Path;

use licentric_server::{db::postgres, migrate_db::TABLES, tenant::Tenant};
use serde_json::{json, Value};
use sqlx::SqlitePool;

use super::{fresh_empty, Pg};
use crate::binary::{self, text, ServerProcess, NO_RATE_LIMITS};

/// A name with what COPY's text format escapes (a backslash; the API refuses control
/// characters in names, and the unit tests cover tab and newline), quotes and non-ASCII.
const AWKWARD_NAME: &str = "Ana \"Quote\" \\N back\\slash – Zoë";

/// A SQLite database holding one of most things: the demo, a renamed license, validations,
/// activations, a deactivation, a webhook with deliveries, audit events.
async fn filled_sqlite(dir: &Path) -> (std::path::PathBuf, Value) {
    let database = dir.join("licentric.db");
    let secret = dir.join("secret");
    std::fs::write(
        &secret,
        "migrate-db test secret: thirty-two characters or more",
    )
    .unwrap();
    let created = binary::init(&database, &["--demo", "--secret-file", text(&secret)]);
    let server = ServerProcess::serve(
        &database,
        &[&["--secret-file", text(&secret)], NO_RATE_LIMITS].concat(),
    );
    let http = reqwest::Client::new();
    let url = &server.url;
    let api_key = created["apiKey"].as_str().unwrap();
    let key = created["licenseKey"].as_str().unwrap();
    let send = |method: reqwest::Method, path: &str, body: Value| {
        http.request(method, format!("{url}{path}"))
            .bearer_auth(api_key)
            .json(&body)
    };
    let status = |response: reqwest::Response| response.status().as_u16();
    let webhook = send(
        reqwest::Method::POST,
        "/api/v1/webhooks",
        // A name that resolves nowhere: its deliveries stay as rows to move.
        json!({ "url": "https://hooks.example.invalid/licentric", "events": ["*"] }),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(webhook.status().as_u16(), 201);
    let renamed = send(
        reqwest::Method::PATCH,
        &format!(
            "/api/v1/licenses/{}",
            created["licenseId"].as_str().unwrap()
        ),
        json!({ "name": AWKWARD_NAME }),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(status(renamed), 200);
    for fingerprint in ["fingerprint-one", "fingerprint-two", "fingerprint-three"] {
        let activated = http
            .post(format!("{url}/api/v1/machines"))
            .header("Authorization", format!("License {key}"))
            .json(&json!({ "fingerprint": fingerprint, "name": format!("Box {fingerprint}"), "platform": "linux" }))
            .send()
            .await
            .unwrap();
        assert_eq!(status(activated), 201);
    }
    for fingerprint in ["fingerprint-one", "fingerprint-unknown"] {
        let validated = http
            .post(format!("{url}/api/v1/licenses/validate-key"))
            .json(&json!({ "key": key, "fingerprint": fingerprint }))
            .send()
            .await
            .unwrap();
        assert_eq!(status(validated), 200);
    }
    drop(server);
    (database, created)
}

async fn count_sqlite(db: &SqlitePool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(db)
        .await
        .unwrap()
}

/// As the superuser, which row-level security does not filter.
async fn count_postgres(pg: &Pg, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(&pg.admin)
        .await
        .unwrap()
}

fn migrate_db(database: &Path, to: &str, extra: &[&str]) -> std::process::Output {
    binary::command(&["migrate-db", "--from", text(database), "--to", to])
        .args(extra)
        .output()
        .unwrap()
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run inside pg_virtualenv (scripts/test)"]
async fn migrate_db_moves_every_row_checks_it_and_the_runtime_role_reads_it_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let (database, created) = filled_sqlite(dir.path()).await;
    let pg = fresh_empty().await;

    let output = migrate_db(&database, &pg.owner_url, &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("every table's rows and checksum match"),
        "{stdout}"
    );

    let sqlite = licentric_server::db::connect(text(&database))
        .await
        .unwrap();
    for table in TABLES {
        let (from, to) = (
            count_sqlite(&sqlite, table).await,
            count_postgres(&pg, table).await,
        );
        assert_eq!(from, to, "{table}");
        assert!(
            stdout
                .lines()
                .any(|l| l.split_whitespace().take(2).eq([*table, &to.to_string()])),
            "{table} with {to} rows in the summary: {stdout}"
        );
    }
    for table in [
        "accounts",
        "api_keys",
        "products",
        "policies",
        "licenses",
        "machines",
        "webhooks",
        "webhook_deliveries",
        "activity",
        "activity_daily",
        "signing_keys",
        "audit_events",
        "license_totals",
        "machine_totals",
    ] {
        assert!(
            count_postgres(&pg, table).await > 0,
            "{table} has rows to move"
        );
    }

    // As the server would read it: the runtime role, by key, then inside its tenant.
    let (account, environment, license_id): (String, String, String) =
        sqlx::query_as("SELECT * FROM licentric_license_by_key($1)")
            .bind(created["licenseKey"].as_str().unwrap())
            .fetch_one(&pg.app)
            .await
            .unwrap();
    assert_eq!(account, created["accountId"].as_str().unwrap());
    assert_eq!(license_id, created["licenseId"].as_str().unwrap());
    let tenant = Tenant {
        account_id: account,
        environment: environment.parse().unwrap(),
    };
    let mut tx = postgres::begin_for(&pg.app, &tenant).await.unwrap();
    let (name, machines_count): (String, i64) =
        sqlx::query_as("SELECT name, machines_count FROM licenses WHERE id = $1")
            .bind(&license_id)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(name, AWKWARD_NAME);
    assert_eq!(
        machines_count, 3,
        "the counter arrives as SQLite kept it, not counted twice"
    );
    let machines: i64 = sqlx::query_scalar("SELECT count(*) FROM machines")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(machines, 3);
    // The searches' tables (migration 0011), which the copy's triggers did not fill, are
    // filled: the key found by a fragment of it, the machines by their names.
    let key = created["licenseKey"].as_str().unwrap();
    let fragment = format!("%{}%", &key[key.len() - 8..]);
    let found: Vec<String> = sqlx::query_scalar("SELECT licentric_search_licenses($1, $1)")
        .bind(&fragment)
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(found, std::slice::from_ref(&license_id));
    let named: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM licentric_search_machine_names('%box FINGERPRINT-t%')",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(named, 2, "Box fingerprint-two and Box fingerprint-three");
    tx.commit().await.unwrap();
    // The moved tables are vacuumed (their pages marked visible to all) and analysed.
    let unvacuumed: Vec<String> = sqlx::query_scalar(
        "SELECT relname::text FROM pg_class
          WHERE relname IN ('licenses', 'machines', 'license_search', 'machine_search')
            AND (relallvisible = 0 OR reltuples < 0) ORDER BY 1",
    )
    .fetch_all(&pg.admin)
    .await
    .unwrap();
    assert_eq!(unvacuumed, Vec::<String>::new());
    // Row-level security and the triggers are back on after the move.
    let unforced: Vec<String> = sqlx::query_scalar(
        "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace
          AND relkind = 'r' AND relname <> '_sqlx_migrations' AND NOT relforcerowsecurity",
    )
    .fetch_all(&pg.admin)
    .await
    .unwrap();
    assert_eq!(unforced, Vec::<String>::new());
    let disabled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D'",
    )
    .fetch_one(&pg.admin)
    .await
    .unwrap();
    assert_eq!(disabled, 0);
    let visible_without_tenant: i64 = sqlx::query_scalar("SELECT count(*) FROM licenses")
        .fetch_one(&pg.app)
        .await
        .unwrap();
    assert_eq!(visible_without_tenant, 0);
    // A new row after the move gets an id after the copied ones.
    let mut tx = postgres::begin_for(&pg.app, &tenant).await.unwrap();
    let next: i64 = sqlx::query_scalar(
        "INSERT INTO audit_events (account_id, environment, occurred_at, actor_type, action)
         VALUES ($1, $2, now(), 'system', 'moved') RETURNING id",
    )
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let highest: i64 = sqlx::query_scalar("SELECT max(id) FROM audit_events")
        .fetch_one(&sqlite)
        .await
        .unwrap();
    assert!(next > highest, "{next} after {highest}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run inside pg_virtualenv (scripts/test)"]
async fn migrate_db_refuses_a_target_with_data_and_a_failed_move_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (database, _) = filled_sqlite(dir.path()).await;
    let pg = fresh_empty().await;
    assert!(migrate_db(&database, &pg.owner_url, &[]).status.success());
    let licenses = count_postgres(&pg, "licenses").await;

    // Again: the target holds data now.
    let again = migrate_db(&database, &pg.owner_url, &[]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success());
    assert!(
        stderr.contains("already holds data") && stderr.contains("--replace"),
        "{stderr}"
    );
    assert_eq!(count_postgres(&pg, "licenses").await, licenses);

    // A value PostgreSQL cannot hold (a NUL in a text): the move fails on that table and
    // the target keeps what it held, --replace or not.
    let sqlite = licentric_server::db::connect(text(&database))
        .await
        .unwrap();
    sqlx::query(
        "UPDATE machines SET name = 'bad' || char(0) || 'name' WHERE fingerprint = 'fingerprint-two'",
    )
    .execute(&sqlite)
    .await
    .unwrap();
    sqlite.close().await;
    let failed = migrate_db(&database, &pg.owner_url, &["--replace"]);
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success());
    assert!(
        stderr.contains("cannot move the table machines"),
        "{stderr}"
    );
    assert_eq!(count_postgres(&pg, "licenses").await, licenses);
    assert_eq!(count_postgres(&pg, "machines").await, 3);

    // The server's runtime role cannot run the move.
    let refused = migrate_db(&database, &pg.app_url, &["--replace"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(stderr.contains("owns the schema"), "{stderr}");

    // A source that is not there is not created.
    let missing = dir.path().join("typo.db");
    let output = migrate_db(&missing, &pg.owner_url, &["--replace"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("there is no SQLite database"));
    assert!(!missing.exists());
}
