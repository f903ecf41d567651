//! Row-level security on a real PostgreSQL, at the database level, as the server's runtime
//! role: isolation that holds when the SQL forgets its tenant filter.
//!
//! Ignored by a plain `cargo test` (they need a PostgreSQL server); `scripts/test` runs
//! them inside `pg_virtualenv`, which sets PGHOST, PGPORT, PGUSER and PGPASSWORD for a
//! superuser of a throw-away cluster. Each test makes its own database, owner role and
//! runtime login role, and migrates it with the server's own migrations.
//!
//! By subject: `rls` (row-level security at the database level), `serve` (the roles the
//! binary runs as), the parity stories that run the same storage calls on SQLite and on
//! PostgreSQL and compare what they said (`catalog`, `keys`, `events`, `runtime`),
//! `processes` (two engines on one database), `cluster` (two real server processes
//! behind one port), `restart` (PostgreSQL stopped and started under load) and
//! `migrate_db` (the move from SQLite).

use licentric_core::Environment;
use licentric_server::{
    db::{postgres, DbRef},
    tenant::Tenant,
};
use sqlx::{postgres::PgConnectOptions, Executor, PgPool, Row, SqlitePool};

/// Creating roles is cluster-wide: one test at a time creates `licentric_runtime`.
static SETUP: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const PASSWORD: &str = "licentric-test";

struct Pg {
    /// A superuser on the test's database.
    admin: PgPool,
    /// The migration role's pool (owner of the schema).
    owner: PgPool,
    /// The server's role: a login member of licentric_runtime.
    app: PgPool,
    owner_url: String,
    app_url: String,
}

fn admin_options() -> PgConnectOptions {
    assert!(
        std::env::var("PGHOST").is_ok(),
        "these tests need a PostgreSQL server: run them inside pg_virtualenv (see scripts/test)"
    );
    // Reads PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE.
    PgConnectOptions::new()
}

fn url(options: &PgConnectOptions, user: &str, database: &str) -> String {
    format!(
        "postgres://{user}:{PASSWORD}@{}:{}/{database}",
        options.get_host(),
        options.get_port()
    )
}

/// A fresh database migrated by its owner, with tenants A (live and test) and B seeded
/// through the runtime role.
async fn fresh() -> Pg {
    let pg = fresh_empty().await;
    for (tenant, tag) in [(a(), "a"), (a_test(), "at"), (b(), "b")] {
        seed(&pg.app, &tenant, tag).await;
    }
    // A shared rate-limit bucket, which belongs to no tenant.
    licentric_server::db::rate_limits::take(
        &pg.app,
        "address:192.0.2.1",
        10,
        std::time::Duration::from_secs(60),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    pg
}

/// A fresh database migrated by its owner, holding no row.
async fn fresh_empty() -> Pg {
    fresh_empty_on(admin_options()).await
}

/// [`fresh_empty`] on the cluster a superuser's `options` reach.
async fn fresh_empty_on(options: PgConnectOptions) -> Pg {
    let bootstrap = PgPool::connect_with(options.clone()).await.unwrap();
    let name = format!("lt_{}", uuid::Uuid::new_v4().simple());
    let owner_url = url(&options, &format!("{name}_owner"), &name);
    let app_url = url(&options, &format!("{name}_app"), &name);
    {
        let _one_at_a_time = SETUP.lock().await;
        for statement in [
            format!("CREATE ROLE {name}_owner LOGIN CREATEROLE PASSWORD '{PASSWORD}'"),
            // A locale whose order is not byte order ("alpha" before "Beta"): the schema's
            // own "C" collation must keep sorting as SQLite's.
            format!(
                "CREATE DATABASE {name} OWNER {name}_owner TEMPLATE template0
                 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
            ),
            format!("CREATE ROLE {name}_app LOGIN PASSWORD '{PASSWORD}'"),
        ] {
            bootstrap.execute(statement.as_str()).await.unwrap();
        }
        let owner = postgres::connect(&owner_url, &postgres::PoolSettings::default())
            .await
            .unwrap();
        postgres::migrate(&owner).await.unwrap();
        owner.close().await;
    }
    bootstrap
        .execute(format!("GRANT {} TO {name}_app", postgres::RUNTIME_ROLE).as_str())
        .await
        .unwrap();
    bootstrap.close().await;
    // The superuser, on the test's database (for the catalogue).
    let admin = PgPool::connect_with(options.database(&name)).await.unwrap();
    let settings = postgres::PoolSettings::default();
    let owner = postgres::connect(&owner_url, &settings).await.unwrap();
    let app = postgres::connect(&app_url, &settings).await.unwrap();
    Pg {
        admin,
        owner,
        app,
        owner_url,
        app_url,
    }
}

fn a() -> Tenant {
    Tenant {
        account_id: "acc_a".into(),
        environment: Environment::Live,
    }
}

fn a_test() -> Tenant {
    Tenant {
        account_id: "acc_a".into(),
        environment: Environment::Test,
    }
}

fn b() -> Tenant {
    Tenant {
        account_id: "acc_b".into(),
        environment: Environment::Live,
    }
}

/// One of everything for `tenant`, written as the runtime role in a transaction set for
/// it (the policies' WITH CHECK would refuse anything else). Ids end in `tag`.
async fn seed(app: &PgPool, tenant: &Tenant, tag: &str) {
    let mut tx = postgres::begin_for(app, tenant).await.unwrap();
    let (acc, env) = (&tenant.account_id, tenant.environment.as_str());
    let account = if env == "live" {
        format!("INSERT INTO accounts VALUES ('{acc}', 'Account {acc}', now());")
    } else {
        String::new()
    };
    let sql = format!(
        "{account}
         INSERT INTO api_keys VALUES ('key_{tag}', '{acc}', '{env}', 'k', 'hash_{tag}', 'lk_', '[]', now(), NULL, NULL);
         INSERT INTO products VALUES ('prod_{tag}', '{acc}', '{env}', 'P', 'P', now(), now());
         INSERT INTO policies (id, account_id, environment, product_id, name, require_heartbeat, created_at, updated_at)
             VALUES ('pol_{tag}', '{acc}', '{env}', 'prod_{tag}', 'P', true, now(), now());
         INSERT INTO licenses (id, account_id, environment, product_id, policy_id, key, status, metadata, created_at, updated_at)
             VALUES ('lic_{tag}', '{acc}', '{env}', 'prod_{tag}', 'pol_{tag}', 'KEY-{tag}', 'active', '{{\"email\": \"{tag}@example.com\"}}', now(), now());
         INSERT INTO entitlements VALUES ('ent_{tag}', '{acc}', '{env}', 'CODE', 'E', now(), now());
         INSERT INTO policy_entitlements VALUES ('pol_{tag}', 'ent_{tag}');
         INSERT INTO license_entitlements VALUES ('lic_{tag}', 'ent_{tag}');
         INSERT INTO machines (id, account_id, environment, license_id, fingerprint, created_at, updated_at)
             VALUES ('mach_{tag}', '{acc}', '{env}', 'lic_{tag}', 'fp', now(), now());
         INSERT INTO webhooks (id, account_id, environment, url, events, secret, created_at, updated_at)
             VALUES ('wh_{tag}', '{acc}', '{env}', 'https://example.com/{tag}', '[\"*\"]', 's', now(), now());
         INSERT INTO webhook_deliveries (id, account_id, webhook_id, event_id, event, payload, status, created_at)
             VALUES ('del_{tag}', '{acc}', 'wh_{tag}', 'ev_{tag}', 'license.created', '{{}}', 'pending', now());
         INSERT INTO activity (account_id, environment, kind, product_id, license_id, code, day, created_at)
             VALUES ('{acc}', '{env}', 'validation', 'prod_{tag}', 'lic_{tag}', 'VALID', '2026-12-01', now());
         INSERT INTO signing_keys VALUES ('{acc}', '{env}', 'kid_{tag}', 'x', 'v1', '\\x00', '\\x00', now(), NULL);
         INSERT INTO audit_events (account_id, environment, occurred_at, actor_type, action)
             VALUES ('{acc}', '{env}', now(), 'system', 'seeded');
         UPDATE licenses SET status = 'suspended' WHERE id = 'lic_{tag}';"
    );
    sqlx::raw_sql(&sql).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

/// The tables of the schema (all but sqlx's own), from the catalogue, so that a table a
/// later migration adds is covered without editing these tests.
async fn tables(pg: &Pg) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT relname::text FROM pg_class
          WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'
            AND relname <> '_sqlx_migrations' ORDER BY 1",
    )
    .fetch_all(&pg.admin)
    .await
    .unwrap()
}

/// Tables which only their definer functions read and write: no request's transaction
/// sees a row of them (the rate buckets have no tenant; the search tables of migration
/// 0011 are read by the search functions, for the transaction's tenant).
const UNTENANTED: &[&str] = &["rate_buckets", "license_search", "machine_search"];

/// The tables whose owner policy is unconditional (migration 0011: a policy gated by a
/// setting would keep the trigram search a filter): the owner sees all of their rows.
const OWNER_READS: &[&str] = &["license_search", "machine_search"];

/// Which tenant a row of `table` belongs to, as SQL over the row (`r`), written without
/// the policies' help: the link tables by their parent's id, which ends in the tag.
fn owner_of(table: &str) -> &'static str {
    match table {
        "rate_buckets" => "r.bucket",
        "accounts" => "r.id || '/live'",
        "policy_entitlements" => "split_part(r.policy_id, '_', 2)",
        "license_entitlements" => "split_part(r.license_id, '_', 2)",
        "webhook_deliveries" => "split_part(r.webhook_id, '_', 2)",
        _ => "r.account_id || '/' || r.environment",
    }
}

fn label(tenant: &Tenant, tag: &str, table: &str) -> String {
    match table {
        "policy_entitlements" | "license_entitlements" | "webhook_deliveries" => tag.to_owned(),
        _ => format!("{}/{}", tenant.account_id, tenant.environment.as_str()),
    }
}

/// A parity story's databases: a fresh SQLite file and a fresh PostgreSQL database (as
/// [`fresh`] seeds it), each with the account of `tenant` and nothing else of it.
struct Story {
    pg: Pg,
    sqlite: SqlitePool,
    tenant: Tenant,
    _dir: tempfile::TempDir,
}

async fn story(tenant: Tenant) -> Story {
    use licentric_server::db::accounts;
    let pg = fresh().await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite = licentric_server::db::connect(dir.path().join("story.db").to_str().unwrap())
        .await
        .unwrap();
    let now = chrono::Utc::now();
    for db in [DbRef::from(&sqlite), DbRef::from(&pg.app)] {
        accounts::insert_account(db, &tenant.account_id, "Story", now)
            .await
            .unwrap();
    }
    Story {
        pg,
        sqlite,
        tenant,
        _dir: dir,
    }
}

/// A live tenant of its own for a story.
fn live(account_id: &str) -> Tenant {
    Tenant {
        account_id: account_id.into(),
        environment: Environment::Live,
    }
}

/// When the stories' records are made (microseconds, which both databases keep).
fn story_time() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00.123456Z")
        .unwrap()
        .with_timezone(&chrono::Utc)
}

/// Runs one statement with `$n` placeholders on either database, as `tenant` (SQLite
/// numbers its placeholders `?n`).
macro_rules! exec {
    ($db:expr, $tenant:expr, $sql:expr $(, $bind:expr)* $(,)?) => {
        match $db {
            DbRef::Sqlite(pool) => {
                sqlx::query(&$sql.replace('$', "?"))
                    $(.bind($bind))*
                    .execute(pool)
                    .await
                    .unwrap();
            }
            DbRef::Postgres(pool) => {
                let mut tx = postgres::begin_for(pool, $tenant).await.unwrap();
                sqlx::query($sql)
                    $(.bind($bind))*
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
        }
    };
}

/// A product with two policies (node-locked; floating with 3 seats) and four licenses
/// (active, active expiring in 10 days, suspended, active without expiry on the floating
/// policy), with machines; written with plain SQL, as the licenses are another part's port.
async fn seed_licensing(db: DbRef<'_>, tenant: &Tenant) {
    let (acc, env) = (tenant.account_id.as_str(), tenant.environment.as_str());
    licentric_server::db::products::insert(db, tenant, "prod_s", "Story", "ST", story_time())
        .await
        .unwrap();
    for (id, name, floating, max) in [
        ("pol_node", "Node", false, None),
        ("pol_float", "Float", true, Some(3_i64)),
    ] {
        exec!(
            db,
            tenant,
            "INSERT INTO policies (id, account_id, environment, product_id, name, max_machines, floating, created_at, updated_at)
             VALUES ($1, $2, $3, 'prod_s', $4, $5, $6, $7, $8)",
            id, acc, env, name, max, floating, story_time(), story_time()
        );
    }
    let in_10_days = story_time() + chrono::Duration::days(10);
    for (id, policy, status, expires) in [
        ("lic_1", "pol_node", "active", None),
        ("lic_2", "pol_node", "active", Some(in_10_days)),
        ("lic_3", "pol_node", "suspended", None),
        ("lic_4", "pol_float", "active", None),
    ] {
        exec!(
            db,
            tenant,
            "INSERT INTO licenses (id, account_id, environment, product_id, policy_id, key, status, expires_at, created_at, updated_at)
             VALUES ($1, $2, $3, 'prod_s', $4, $5, $6, $7, $8, $9)",
            id, acc, env, policy, format!("ST-{id}"), status, expires, story_time(), story_time()
        );
    }
    for (id, license) in [("m_1", "lic_1"), ("m_2", "lic_4"), ("m_3", "lic_4")] {
        exec!(
            db,
            tenant,
            "INSERT INTO machines (id, account_id, environment, license_id, fingerprint, platform, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 'linux', $6, $7)",
            id, acc, env, license, format!("fingerprint-{id}"), story_time(), story_time()
        );
    }
}

mod catalog;
mod cluster;
mod events;
mod keys;
mod migrate_db;
mod processes;
mod restart;
mod rls;
mod runtime;
mod serve;
