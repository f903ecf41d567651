//! Row-level security on a real PostgreSQL, at the database level, as the server's runtime
//! role: isolation that holds when the SQL forgets its tenant filter.
//!
//! Ignored by a plain `cargo test` (they need a PostgreSQL server); `scripts/test` runs
//! them inside `pg_virtualenv`, which sets PGHOST, PGPORT, PGUSER and PGPASSWORD for a
//! superuser of a throw-away cluster. Each test makes its own database, owner role and
//! runtime login role, and migrates it with the server's own migrations.

use licentric_core::Environment;
use licentric_server::{db::postgres, tenant::Tenant};
use sqlx::{postgres::PgConnectOptions, Executor, PgPool, Row};

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

mod migrate_db;

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
    let options = admin_options();
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

/// Tables of no tenant, which only their definer functions read and write: no request's
/// transaction sees a row of them.
const UNTENANTED: &[&str] = &["rate_buckets"];

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

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn a_query_without_the_tenant_filter_sees_only_that_tenants_rows() {
    let pg = fresh().await;
    let tables = tables(&pg).await;
    assert!(tables.len() >= 18, "{tables:?}");
    for (tenant, tag) in [(a(), "a"), (a_test(), "at"), (b(), "b")] {
        let mut tx = postgres::begin_for(&pg.app, &tenant).await.unwrap();
        for table in &tables {
            // No WHERE at all: the policies alone decide what comes back.
            let owners: Vec<String> = sqlx::query_scalar(&format!(
                "SELECT DISTINCT {} FROM {table} r",
                owner_of(table)
            ))
            .fetch_all(&mut *tx)
            .await
            .unwrap();
            if UNTENANTED.contains(&table.as_str()) {
                assert_eq!(owners, Vec::<String>::new(), "{table} as {tenant:?}");
                continue;
            }
            let expected = label(&tenant, tag, table);
            // An account is seen from both of its environments.
            let expected = if table == "accounts" {
                format!("{}/live", tenant.account_id)
            } else {
                expected
            };
            assert_eq!(
                owners,
                vec![expected],
                "{table} as {tenant:?}: every row, and only rows, of this tenant"
            );
        }
        tx.rollback().await.unwrap();
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn a_transaction_set_for_tenant_b_finds_nothing_of_tenant_a() {
    let pg = fresh().await;
    let mut tx = postgres::begin_for(&pg.app, &b()).await.unwrap();
    // Asked for by id, with A's own tenant filter written into the SQL: still nothing.
    for (table, id) in [
        ("licenses", "lic_a"),
        ("products", "prod_a"),
        ("machines", "mach_a"),
        ("api_keys", "key_a"),
        ("webhooks", "wh_a"),
        ("webhook_deliveries", "del_a"),
    ] {
        let found: Option<String> = sqlx::query_scalar(&format!(
            "SELECT id FROM {table} WHERE id = $1 AND account_id = 'acc_a'"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .unwrap();
        assert_eq!(found, None, "{table} {id} read from tenant B's transaction");
        let changed = sqlx::query(&format!("UPDATE {table} SET id = id WHERE id = $1"))
            .bind(id)
            .execute(&mut *tx)
            .await
            .unwrap()
            .rows_affected();
        assert_eq!(
            changed, 0,
            "{table} {id} updated from tenant B's transaction"
        );
        let deleted = sqlx::query(&format!("DELETE FROM {table} WHERE id = $1"))
            .bind(id)
            .execute(&mut *tx)
            .await
            .unwrap()
            .rows_affected();
        assert_eq!(
            deleted, 0,
            "{table} {id} deleted from tenant B's transaction"
        );
    }
    let seen: Option<String> =
        sqlx::query_scalar("SELECT policy_id FROM policy_entitlements WHERE policy_id = 'pol_a'")
            .fetch_optional(&mut *tx)
            .await
            .unwrap();
    assert_eq!(seen, None);
    // The environment is a wall too: A's live transaction does not see A's test license.
    postgres::set_tenant(&mut tx, &a()).await.unwrap();
    let test_license: Option<String> =
        sqlx::query_scalar("SELECT id FROM licenses WHERE id = 'lic_at'")
            .fetch_optional(&mut *tx)
            .await
            .unwrap();
    assert_eq!(test_license, None);
    tx.rollback().await.unwrap();

    // Nor can B write a row into A: WITH CHECK refuses it.
    let mut tx = postgres::begin_for(&pg.app, &b()).await.unwrap();
    let error = sqlx::query(
        "INSERT INTO products VALUES ('prod_x', 'acc_a', 'live', 'X', 'X', now(), now())",
    )
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert!(error.to_string().contains("row-level security"), "{error}");
    tx.rollback().await.unwrap();

    // A's rows are all still there, as A sees them.
    let mut tx = postgres::begin_for(&pg.app, &a()).await.unwrap();
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM licenses")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(ids, ["lic_a"]);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn with_no_tenant_set_every_table_is_empty_to_the_runtime_role() {
    let pg = fresh().await;
    for table in tables(&pg).await {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&pg.app)
            .await
            .unwrap();
        assert_eq!(n, 0, "{table} without a tenant");
        // The owner (the migration role) is filtered as well: FORCE ROW LEVEL SECURITY.
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&pg.owner)
            .await
            .unwrap();
        assert_eq!(n, 0, "{table} read by the owner without a tenant");
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn the_runtime_role_owns_nothing_and_cannot_turn_row_level_security_off() {
    let pg = fresh().await;
    let role = postgres::check_runtime_role(&pg.app).await.unwrap();
    assert!(!role.superuser && !role.bypass_rls && role.runtime_member);
    assert_eq!(role.owned_tables, 0);
    for statement in [
        "ALTER TABLE licenses DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE licenses NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY tenant ON licenses",
        "CREATE POLICY everything ON licenses USING (true)",
        "ALTER TABLE licenses OWNER TO CURRENT_USER",
        "CREATE TABLE escape (id text)",
        "CREATE OR REPLACE FUNCTION licentric_account() RETURNS text LANGUAGE sql AS $$ SELECT 'acc_a' $$",
    ] {
        let error = pg.app.execute(statement).await.unwrap_err();
        assert!(
            error.to_string().contains("must be owner")
                || error.to_string().contains("permission denied"),
            "{statement}: {error}"
        );
    }
    // Asking to skip the policies is an error, not a way around them.
    let mut conn = pg.app.acquire().await.unwrap();
    conn.execute("SET row_security = off").await.unwrap();
    let error = sqlx::query("SELECT count(*) FROM licenses")
        .fetch_one(&mut *conn)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("row-level security"), "{error}");
    drop(conn);

    // The server refuses the roles that would bypass the policies.
    let error = postgres::check_runtime_role(&pg.owner).await.unwrap_err();
    assert!(
        error.to_string().contains("owns the schema's tables"),
        "{error}"
    );
    let error = postgres::check_runtime_role(&pg.admin).await.unwrap_err();
    assert!(error.to_string().contains("superuser"), "{error}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn every_table_forces_row_level_security_and_has_a_policy() {
    let pg = fresh().await;
    let unprotected: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c
          WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
            AND c.relname <> '_sqlx_migrations'
            AND (NOT c.relrowsecurity OR NOT c.relforcerowsecurity
                 OR NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid))",
    )
    .fetch_all(&pg.admin)
    .await
    .unwrap();
    assert_eq!(unprotected, Vec::<String>::new());
    // The runtime role may not write the migrations' record.
    let error = pg
        .app
        .execute("DELETE FROM _sqlx_migrations")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("permission denied"), "{error}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn anonymous_lookups_find_exactly_one_key_and_nothing_else() {
    let pg = fresh().await;
    let (tenant, id) = postgres::license_by_key(&pg.app, "KEY-b")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((tenant, id.as_str()), (b(), "lic_b"));
    for pattern in ["KEY-%", "%", "key-b", ""] {
        assert_eq!(
            postgres::license_by_key(&pg.app, pattern).await.unwrap(),
            None,
            "{pattern:?}"
        );
    }
    // The lookup leaves nothing behind: after it, the licenses are hidden again.
    let mut tx = pg.app.begin().await.unwrap();
    let _: Vec<(String, String, String)> =
        sqlx::query_as("SELECT * FROM licentric_license_by_key('KEY-a')")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    let visible: i64 = sqlx::query_scalar("SELECT count(*) FROM licenses")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(visible, 0);
    // Setting the lookup's variable by hand opens nothing to the runtime role: the
    // lookup policy is the owner's alone.
    sqlx::query("SELECT set_config('licentric.lookup', 'KEY-a', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let visible: i64 = sqlx::query_scalar("SELECT count(*) FROM licenses")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(visible, 0);
    tx.rollback().await.unwrap();

    let key: Option<(String, String, String)> = sqlx::query_as(
        "SELECT id, account_id, environment FROM licentric_api_key_by_hash('hash_at')",
    )
    .fetch_optional(&pg.app)
    .await
    .unwrap();
    assert_eq!(key, Some(("key_at".into(), "acc_a".into(), "test".into())));
    // Only the runtime role may call them.
    let public: bool = sqlx::query_scalar(
        "SELECT has_function_privilege('public', 'licentric_license_by_key(text)', 'EXECUTE')",
    )
    .fetch_one(&pg.admin)
    .await
    .unwrap();
    assert!(!public);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn the_counters_kept_by_triggers_work_under_the_policies() {
    let pg = fresh().await;
    let mut tx = postgres::begin_for(&pg.app, &a()).await.unwrap();
    let row = sqlx::query(
        "SELECT l.machines_count, (SELECT n FROM license_totals WHERE status = 'suspended') AS suspended,
                (SELECT n FROM license_totals WHERE status = 'active') AS active,
                (SELECT value FROM runtime_generation) AS generation,
                (SELECT count FROM activity_daily) AS validations,
                (SELECT heartbeat_due_jd IS NOT NULL FROM machines) AS due
           FROM licenses l",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(row.get::<i64, _>("machines_count"), 1);
    assert_eq!(row.get::<i64, _>("suspended"), 1);
    assert_eq!(row.get::<i64, _>("active"), 0);
    assert!(row.get::<i64, _>("generation") >= 2);
    assert_eq!(row.get::<i64, _>("validations"), 1);
    assert!(row.get::<bool, _>("due"));
    // The search index's text, as SQLite's license_search has it.
    let found: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM licenses WHERE licentric_license_text(key, id, name, metadata) ILIKE '%a@example%'",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert_eq!(found, ["lic_a"]);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn migrate_runs_once_as_the_owner_and_not_as_the_runtime_role() {
    let pg = fresh().await;
    let run = |args: &[&str]| {
        let out = crate::binary::command(args).output().unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    // Already migrated by fresh(): a second run changes nothing and says the version.
    let (ok, out) = run(&["migrate", "--database-url", &pg.owner_url]);
    assert!(ok, "{out}");
    let newest = postgres::MIGRATOR.iter().map(|m| m.version).max().unwrap();
    assert!(
        out.contains(&format!("schema is at version {newest}")),
        "{out}"
    );
    // The runtime role cannot migrate (it may not create anything).
    let (ok, out) = run(&["migrate", "--database-url", &pg.app_url]);
    assert!(!ok, "{out}");
    // The flags of the pool are taken.
    let (ok, out) = run(&[
        "migrate",
        "--database-url",
        &pg.owner_url,
        "--database-pool-size",
        "2",
        "--database-statement-timeout-ms",
        "1000",
    ]);
    assert!(ok, "{out}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn serve_runs_as_the_runtime_role_on_a_current_schema_and_refuses_otherwise() {
    use crate::binary::{command, ServerProcess};
    // Empty: fresh()'s seeded signing keys are not sealed with any secret, and the server
    // checks its secret against the keys it finds on start.
    let pg = fresh_empty().await;
    let secret = "a server secret of at least thirty-two characters";
    let serve = |url: &str, extra: &[&str]| {
        let mut serve = command(&["serve", "--listen", "127.0.0.1:0", "--database-url", url]);
        serve.args(extra).env("LICENTRIC_SECRET", secret);
        ServerProcess::start(serve)
    };
    // The migration role owns the tables (it could turn the policies off): refused.
    let refusal = serve(&pg.owner_url, &[]).err().unwrap();
    assert!(refusal.contains("owns the schema's tables"), "{refusal}");
    // No secret given: refused (each process must use the same one).
    let mut no_secret = command(&["serve", "--listen", "127.0.0.1:0", "--database-url"]);
    no_secret.arg(&pg.app_url);
    let refusal = ServerProcess::start(no_secret).err().unwrap();
    assert!(refusal.contains("server secret must be given"), "{refusal}");
    // The runtime role on the current schema: serves, and says which database.
    let server = serve(&pg.app_url, &["--database-pool-size", "2"]).unwrap();
    let health: serde_json::Value = reqwest::get(format!("{}/health", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"], "postgresql");
    drop(server);
    // A schema behind this server's version: refused with the way out, unless the
    // migration role's URL is given, which migrates on start.
    sqlx::query("UPDATE _sqlx_migrations SET version = -version WHERE version = (SELECT max(version) FROM _sqlx_migrations)")
        .execute(&pg.admin)
        .await
        .unwrap();
    let refusal = serve(&pg.app_url, &[]).err().unwrap();
    assert!(
        refusal.contains("run `licentric-server migrate"),
        "{refusal}"
    );
    sqlx::query("UPDATE _sqlx_migrations SET version = -version WHERE version < 0")
        .execute(&pg.admin)
        .await
        .unwrap();
    let server = serve(&pg.app_url, &["--database-migration-url", &pg.owner_url]).unwrap();
    let (status, _) = crate::helpers::read(
        reqwest::get(format!("{}/health", server.url))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
}

/// Runs the same product operations through the storage layer on `db`, and says what
/// each gave back, so SQLite's and PostgreSQL's answers can be compared.
async fn product_story(db: licentric_server::db::DbRef<'_>, tenant: &Tenant) -> Vec<String> {
    use licentric_server::{db::products, params::Paging};
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00.123456Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let mut said = Vec::new();
    for (i, name) in ["Zeta Suite", "alpha app", "Beta Tool"].iter().enumerate() {
        let at = t0 + chrono::Duration::seconds(i64::try_from(i).unwrap());
        products::insert(db, tenant, &format!("prod_story_{i}"), name, "ZT", at)
            .await
            .unwrap();
    }
    for (q, sort) in [
        (None, None),
        (None, Some("name")),
        (Some("A"), Some("-createdAt")),
        (Some("app"), None),
    ] {
        let page = Paging::from_query(Some(2), None, sort.map(str::to_owned))
            .page(products::SORTABLE)
            .unwrap();
        let (rows, total) = products::list(db, tenant, q, &page).await.unwrap();
        let names: Vec<_> = rows.iter().map(|p| p.name.as_str()).collect();
        said.push(format!("list q={q:?} sort={sort:?}: {names:?} of {total}"));
    }
    let mut product = products::get(db, tenant, "prod_story_1")
        .await
        .unwrap()
        .unwrap();
    said.push(format!(
        "get: {} {} {} {}",
        product.name, product.key_prefix, product.created_at, product.updated_at
    ));
    product.name = "Alpha App".into();
    product.updated_at = t0 + chrono::Duration::minutes(5);
    products::update(db, tenant, &product).await.unwrap();
    let again = products::get(db, tenant, "prod_story_1")
        .await
        .unwrap()
        .unwrap();
    said.push(format!("updated: {} {}", again.name, again.updated_at));
    said.push(format!(
        "licenses: {}",
        products::license_count(db, tenant, "prod_story_1")
            .await
            .unwrap()
    ));
    said.push(format!(
        "deleted: {} then {}",
        products::delete(db, tenant, "prod_story_2").await.unwrap(),
        products::delete(db, tenant, "prod_story_2").await.unwrap()
    ));
    said.push(format!(
        "after delete: {:?}",
        products::get(db, tenant, "prod_story_2")
            .await
            .unwrap()
            .map(|p| p.id)
    ));
    said
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn products_answer_the_same_on_sqlite_and_postgresql() {
    let pg = fresh().await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite = licentric_server::db::connect(dir.path().join("story.db").to_str().unwrap())
        .await
        .unwrap();
    // A tenant of its own on both, with nothing in it yet.
    let tenant = Tenant {
        account_id: "acc_c".into(),
        environment: Environment::Live,
    };
    sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES (?, 'C', ?)")
        .bind(&tenant.account_id)
        .bind(chrono::Utc::now())
        .execute(&sqlite)
        .await
        .unwrap();
    let mut tx = postgres::begin_for(&pg.app, &tenant).await.unwrap();
    sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ($1, 'C', now())")
        .bind(&tenant.account_id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let on_sqlite = product_story((&sqlite).into(), &tenant).await;
    let on_postgres = product_story((&pg.app).into(), &tenant).await;
    assert_eq!(on_postgres, on_sqlite);
    // Tenant A's own product was never touched by C's story, and is still there.
    let a_product = licentric_server::db::products::get(&pg.app, &a(), "prod_a")
        .await
        .unwrap();
    assert!(a_product.is_some());
}

/// Account operations through the storage layer, and what each gave back.
async fn account_story(
    db: licentric_server::db::DbRef<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> (bool, bool, bool, bool) {
    use licentric_server::db::accounts;
    let before = accounts::exists(db, "acc_new").await.unwrap();
    accounts::insert_account(db, "acc_new", "New", now)
        .await
        .unwrap();
    let after = accounts::exists(db, "acc_new").await.unwrap();
    // A second account with the same id is refused by the key.
    let twice = accounts::insert_account(db, "acc_new", "Again", now)
        .await
        .is_err();
    let unknown = accounts::exists(db, "acc_none").await.unwrap();
    (before, after, twice, unknown)
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn accounts_answer_the_same_on_sqlite_and_postgresql() {
    let pg = fresh().await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite = licentric_server::db::connect(dir.path().join("accounts.db").to_str().unwrap())
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let on_sqlite = account_story((&sqlite).into(), now).await;
    assert_eq!(on_sqlite, (false, true, true, false));
    assert_eq!(account_story((&pg.app).into(), now).await, on_sqlite);
    // The seeded accounts are found too, each through a transaction of its own.
    assert!(licentric_server::db::accounts::exists(&pg.app, "acc_a")
        .await
        .unwrap());
}

/// Entitlement operations through the storage layer, and what each gave back.
async fn entitlement_story(db: licentric_server::db::DbRef<'_>, tenant: &Tenant) -> Vec<String> {
    use licentric_core::wire::Entitlement;
    use licentric_server::{db::entitlements, params::Paging};
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00.5Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let mut said = Vec::new();
    for (i, (code, name)) in [
        ("PRO", "Pro features"),
        ("api", "API access"),
        ("Export", "exports"),
    ]
    .iter()
    .enumerate()
    {
        let at = t0 + chrono::Duration::seconds(i64::try_from(i).unwrap());
        let entitlement = Entitlement {
            id: format!("ent_story_{i}"),
            code: (*code).to_owned(),
            name: (*name).to_owned(),
            created_at: at,
            updated_at: at,
        };
        said.push(format!(
            "insert {code}: {}",
            entitlements::insert(db, tenant, &entitlement)
                .await
                .unwrap()
        ));
    }
    let taken = Entitlement {
        id: "ent_story_x".into(),
        code: "PRO".into(),
        name: "again".into(),
        created_at: t0,
        updated_at: t0,
    };
    said.push(format!(
        "insert PRO again: {}",
        entitlements::insert(db, tenant, &taken).await.unwrap()
    ));
    for (q, sort) in [
        (None, None),
        (None, Some("code")),
        (Some("p"), Some("-name")),
        (Some("EXP"), None),
    ] {
        let page = Paging::from_query(Some(2), None, sort.map(str::to_owned))
            .page(entitlements::SORTABLE)
            .unwrap();
        let (rows, total) = entitlements::list(db, tenant, q, &page).await.unwrap();
        let codes: Vec<_> = rows.iter().map(|e| e.code.as_str()).collect();
        said.push(format!("list q={q:?} sort={sort:?}: {codes:?} of {total}"));
    }
    let later = t0 + chrono::Duration::hours(1);
    said.push(format!(
        "rename: {} {}",
        entitlements::rename(db, tenant, "ent_story_1", "API", later)
            .await
            .unwrap(),
        entitlements::rename(db, tenant, "ent_none", "API", later)
            .await
            .unwrap()
    ));
    said.push(format!(
        "get: {:?}",
        entitlements::get(db, tenant, "ent_story_1").await.unwrap()
    ));
    let codes = ["api".to_owned(), "NOPE".to_owned(), "Export".to_owned()];
    said.push(format!(
        "resolve: {:?}",
        entitlements::resolve(db, tenant, &codes).await.unwrap()
    ));
    said.push(format!(
        "delete: {} then {}",
        entitlements::delete(db, tenant, "ent_story_2")
            .await
            .unwrap(),
        entitlements::delete(db, tenant, "ent_story_2")
            .await
            .unwrap()
    ));
    said
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn entitlements_answer_the_same_on_sqlite_and_postgresql() {
    use licentric_server::db::accounts;
    let pg = fresh().await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite =
        licentric_server::db::connect(dir.path().join("entitlements.db").to_str().unwrap())
            .await
            .unwrap();
    let tenant = Tenant {
        account_id: "acc_e".into(),
        environment: Environment::Test,
    };
    let now = chrono::Utc::now();
    accounts::insert_account(&sqlite, "acc_e", "E", now)
        .await
        .unwrap();
    accounts::insert_account(&pg.app, "acc_e", "E", now)
        .await
        .unwrap();
    let on_sqlite = entitlement_story((&sqlite).into(), &tenant).await;
    let on_postgres = entitlement_story((&pg.app).into(), &tenant).await;
    assert_eq!(on_postgres, on_sqlite);
    // Another tenant's code is neither found nor taken.
    let (ids, missing) =
        licentric_server::db::entitlements::resolve(&pg.app, &a(), &["api".into()])
            .await
            .unwrap();
    assert_eq!((ids, missing), (vec![], vec!["api".to_owned()]));
}

// ---------------------------------------------------------------------------------------
// The second step of the port: API keys, signing keys, the audit trail, the activity log
// and analytics, webhooks and their deliveries, and a license's own entitlements. Each
// story runs the same calls on SQLite and PostgreSQL and compares what they said.
// ---------------------------------------------------------------------------------------

use licentric_server::db::DbRef;

/// A fresh SQLite database and a fresh PostgreSQL one, each with the account of `tenant`.
async fn both(tenant: &Tenant) -> (Pg, sqlx::SqlitePool, tempfile::TempDir) {
    use licentric_server::db::accounts;
    let pg = fresh().await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite = licentric_server::db::connect(dir.path().join("story.db").to_str().unwrap())
        .await
        .unwrap();
    let now = chrono::Utc::now();
    accounts::insert_account(&sqlite, &tenant.account_id, "Story", now)
        .await
        .unwrap();
    accounts::insert_account(&pg.app, &tenant.account_id, "Story", now)
        .await
        .unwrap();
    (pg, sqlite, dir)
}

fn story_tenant() -> Tenant {
    Tenant {
        account_id: "acc_story".into(),
        environment: Environment::Live,
    }
}

fn t0() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00.250Z")
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
    licentric_server::db::products::insert(db, tenant, "prod_s", "Story", "ST", t0())
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
            id, acc, env, name, max, floating, t0(), t0()
        );
    }
    let in_10_days = t0() + chrono::Duration::days(10);
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
            id, acc, env, policy, format!("ST-{id}"), status, expires, t0(), t0()
        );
    }
    for (id, license) in [("m_1", "lic_1"), ("m_2", "lic_4"), ("m_3", "lic_4")] {
        exec!(
            db,
            tenant,
            "INSERT INTO machines (id, account_id, environment, license_id, fingerprint, platform, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 'linux', $6, $7)",
            id, acc, env, license, format!("fingerprint-{id}"), t0(), t0()
        );
    }
}

async fn api_key_story(db: DbRef<'_>, tenant: &Tenant) -> Vec<String> {
    use licentric_core::Scope;
    use licentric_server::{db::api_keys, params::Paging};
    use std::collections::BTreeSet;
    const SORTABLE: &[(&str, &str)] = &[
        ("createdAt", "created_at"),
        ("name", "name"),
        ("lastUsedAt", "last_used_at"),
    ];
    let mut said = Vec::new();
    let read: BTreeSet<Scope> = [Scope::LicensesRead].into();
    let all: BTreeSet<Scope> = [Scope::LicensesRead, Scope::LicensesWrite].into();
    for (i, (name, scopes)) in [("zeta", &read), ("Alpha", &all), ("beta", &read)]
        .into_iter()
        .enumerate()
    {
        let id = format!("key_story_{i}");
        let hash = format!("hash_story_{i}");
        let row = api_keys::NewApiKeyRow {
            id: &id,
            tenant,
            name,
            key_hash: &hash,
            display_prefix: "lk_live_ab",
            scopes,
        };
        let at = t0() + chrono::Duration::seconds(i64::try_from(i).unwrap());
        api_keys::insert(db, &row, at).await.unwrap();
    }
    let found = api_keys::find_active_by_hash(db, "hash_story_1")
        .await
        .unwrap()
        .unwrap();
    said.push(format!(
        "found: {} {} {:?} {} {:?}",
        found.id,
        found.name,
        found.tenant(),
        found.created_at,
        found.scope_set().unwrap()
    ));
    said.push(format!(
        "unknown hash: {:?}",
        api_keys::find_active_by_hash(db, "hash_none")
            .await
            .unwrap()
            .map(|k| k.id)
    ));
    // A use is recorded at most once a minute.
    let used = t0() + chrono::Duration::hours(1);
    api_keys::touch(
        db,
        tenant,
        "key_story_1",
        used,
        used - chrono::Duration::minutes(1),
    )
    .await
    .unwrap();
    api_keys::touch(
        db,
        tenant,
        "key_story_1",
        used + chrono::Duration::seconds(5),
        used + chrono::Duration::seconds(5) - chrono::Duration::minutes(1),
    )
    .await
    .unwrap();
    for (within, sort) in [
        (&all, None),
        (&all, Some("name")),
        (&all, Some("lastUsedAt")),
        (&all, Some("-lastUsedAt")),
        (&read, Some("-createdAt")),
    ] {
        let page = Paging::from_query(Some(2), None, sort.map(str::to_owned))
            .page(SORTABLE)
            .unwrap();
        let (rows, total) = api_keys::list(db, tenant, within, &page).await.unwrap();
        let names: Vec<_> = rows
            .iter()
            .map(|k| format!("{}@{:?}", k.name, k.last_used_at))
            .collect();
        said.push(format!(
            "list {sort:?} within {within:?}: {names:?} of {total}"
        ));
    }
    said.push(format!(
        "rotate: {} then find old {:?}, new {:?}",
        api_keys::rotate(db, tenant, "key_story_0", "hash_story_0b", "lk_live_cd")
            .await
            .unwrap(),
        api_keys::find_active_by_hash(db, "hash_story_0")
            .await
            .unwrap()
            .map(|k| k.id),
        api_keys::find_active_by_hash(db, "hash_story_0b")
            .await
            .unwrap()
            .map(|k| (k.id, k.display_prefix, k.last_used_at))
    ));
    said.push(format!(
        "revoke: {} then {}; get {:?}; find {:?}",
        api_keys::revoke(db, tenant, "key_story_2", used)
            .await
            .unwrap(),
        api_keys::revoke(db, tenant, "key_story_2", used)
            .await
            .unwrap(),
        api_keys::get(db, tenant, "key_story_2")
            .await
            .unwrap()
            .map(|k| k.id),
        api_keys::find_active_by_hash(db, "hash_story_2")
            .await
            .unwrap()
            .map(|k| k.id),
    ));
    said.push(format!(
        "get: {:?}",
        api_keys::get(db, tenant, "key_story_1")
            .await
            .unwrap()
            .map(|k| (k.id, k.last_used_at))
    ));
    said
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn api_keys_answer_the_same_on_sqlite_and_postgresql() {
    use licentric_server::db::api_keys;
    let tenant = story_tenant();
    let (pg, sqlite, _dir) = both(&tenant).await;
    let on_sqlite = api_key_story((&sqlite).into(), &tenant).await;
    let on_postgres = api_key_story((&pg.app).into(), &tenant).await;
    assert_eq!(on_postgres, on_sqlite);
    // By hash the key is found from no tenant at all, with its own tenant; by id, only by
    // its tenant.
    let key = api_keys::find_active_by_hash(&pg.app, "hash_b")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((key.id.as_str(), key.tenant()), ("key_b", b()));
    assert!(api_keys::get(&pg.app, &a(), "key_b")
        .await
        .unwrap()
        .is_none());
    assert!(!api_keys::revoke(&pg.app, &a(), "key_b", t0())
        .await
        .unwrap());
    // A touch for the wrong tenant changes nothing.
    api_keys::touch(&pg.app, &a(), "key_b", t0(), t0())
        .await
        .unwrap();
    let key = api_keys::get(&pg.app, &b(), "key_b")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(key.last_used_at, None);
}

async fn signing_key_story(db: DbRef<'_>, tenant: &Tenant) -> Vec<String> {
    use licentric_server::db::signing_keys::{self, SigningKeyRow};
    let row = |kid: &str, at| SigningKeyRow {
        account_id: tenant.account_id.clone(),
        environment: tenant.environment.as_str().to_owned(),
        kid: kid.to_owned(),
        public_key: format!("pk-{kid}"),
        sealing: "v1".into(),
        seed_nonce: vec![1, 2, 3],
        sealed_seed: vec![0, 255, 7],
        created_at: at,
        retired_at: None,
    };
    let show = |k: &SigningKeyRow| {
        format!(
            "{} {} {:?} {:?} {} {:?}",
            k.kid, k.public_key, k.seed_nonce, k.sealed_seed, k.created_at, k.retired_at
        )
    };
    let mut said = vec![format!(
        "newest of none: {:?}",
        signing_keys::newest(db).await.unwrap().map(|k| k.kid)
    )];
    said.push(format!(
        "first: {}, second while one is active: {}",
        signing_keys::insert_if_none_active(db, &row("kid_1", t0()))
            .await
            .unwrap(),
        signing_keys::insert_if_none_active(db, &row("kid_2", t0()))
            .await
            .unwrap()
    ));
    said.push(format!(
        "active: {:?}",
        signing_keys::active(db, tenant)
            .await
            .unwrap()
            .map(|k| show(&k))
    ));
    let later = t0() + chrono::Duration::days(1);
    said.push(format!(
        "rotate: {}, to a taken key id: {}",
        signing_keys::rotate(db, &row("kid_3", later), later)
            .await
            .unwrap(),
        signing_keys::rotate(db, &row("kid_1", later), later)
            .await
            .unwrap()
    ));
    let all: Vec<String> = signing_keys::all(db, tenant)
        .await
        .unwrap()
        .iter()
        .map(show)
        .collect();
    said.push(format!("all: {all:?}"));
    said.push(format!(
        "newest: {:?}",
        signing_keys::newest(db).await.unwrap().map(|k| show(&k))
    ));
    signing_keys::retire(db, tenant, "kid_3", later + chrono::Duration::hours(1))
        .await
        .unwrap();
    said.push(format!(
        "retired: active {:?}, newest {:?}",
        signing_keys::active(db, tenant)
            .await
            .unwrap()
            .map(|k| k.kid),
        signing_keys::newest(db).await.unwrap().map(|k| show(&k))
    ));
    said
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn signing_keys_answer_the_same_on_sqlite_and_postgresql() {
    use licentric_server::db::signing_keys;
    let tenant = story_tenant();
    let (pg, sqlite, _dir) = both(&tenant).await;
    // The seeded tenants' keys would be the newest on PostgreSQL: remove them first (as
    // each tenant) so both databases start with none.
    for t in [a(), a_test(), b()] {
        let mut tx = postgres::begin_for(&pg.app, &t).await.unwrap();
        sqlx::query("DELETE FROM signing_keys")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let on_sqlite = signing_key_story((&sqlite).into(), &tenant).await;
    let on_postgres = signing_key_story((&pg.app).into(), &tenant).await;
    assert_eq!(on_postgres, on_sqlite);
    // Another tenant's keys are not this tenant's.
    assert!(signing_keys::all(&pg.app, &a()).await.unwrap().is_empty());
    assert!(signing_keys::active(&pg.app, &b()).await.unwrap().is_none());
}

/// Long before any test runs: the audit story's events, older than the seeded ones.
fn old() -> chrono::DateTime<chrono::Utc> {
    t0() - chrono::Duration::days(3650)
}

async fn audit_story(db: DbRef<'_>, tenant: &Tenant) -> Vec<String> {
    use licentric_server::db::audit::{self, Filters, NewEvent};
    let changes = serde_json::json!({"name": {"before": "a", "after": "b"}});
    for (i, (action, resource)) in [
        ("license.created", "lic_1"),
        ("license.suspended", "lic_1"),
        ("product.updated", "prod_1"),
    ]
    .into_iter()
    .enumerate()
    {
        let event = NewEvent {
            account_id: Some(&tenant.account_id),
            environment: Some(tenant.environment),
            occurred_at: old() + chrono::Duration::days(i64::try_from(i).unwrap()),
            actor_type: "api_key",
            actor_id: Some("key_1"),
            actor_name: Some("CI"),
            action,
            resource_type: action.split('.').next(),
            resource_id: Some(resource),
            client_address: Some("192.0.2.1"),
            request_id: Some("req_1"),
            changes: (i == 2).then_some(&changes),
        };
        audit::insert(db, &event).await.unwrap();
    }
    // An event of the server itself, of no tenant: written, never listed.
    let system = NewEvent {
        account_id: None,
        environment: None,
        occurred_at: old(),
        actor_type: "address",
        actor_id: Some("192.0.2.9"),
        actor_name: None,
        action: "auth.locked_out",
        resource_type: None,
        resource_id: None,
        client_address: Some("192.0.2.9"),
        request_id: None,
        changes: None,
    };
    audit::insert(db, &system).await.unwrap();
    let mut said = Vec::new();
    let show = |rows: &[audit::EventRow]| -> Vec<String> {
        rows.iter()
            .map(|e| {
                format!(
                    "{} {} {:?} {:?} {:?} {:?}",
                    e.occurred_at,
                    e.action,
                    e.resource_id,
                    e.actor_name,
                    e.client_address,
                    e.changes
                )
            })
            .collect()
    };
    for filters in [
        Filters::default(),
        Filters {
            resource_id: Some("lic_1"),
            ..Filters::default()
        },
        Filters {
            since: Some(old() + chrono::Duration::hours(1)),
            action: Some("product.updated"),
            ..Filters::default()
        },
        Filters {
            until: Some(old() + chrono::Duration::days(2)),
            ..Filters::default()
        },
    ] {
        let (rows, total) = audit::list(db, tenant, &filters, 2, 0).await.unwrap();
        said.push(format!("{filters:?}: {:?} of {total}", show(&rows)));
    }
    // The cursor of the next page is the last id; ids grow with time on both.
    let (first, _) = audit::list(db, tenant, &Filters::default(), 1, 0)
        .await
        .unwrap();
    let older = Filters {
        before_id: Some(first[0].id),
        ..Filters::default()
    };
    let (rows, total) = audit::list(db, tenant, &older, 10, 0).await.unwrap();
    said.push(format!("before the newest: {:?} of {total}", show(&rows)));
    said.push(format!(
        "pruned: {}",
        audit::prune(db, old() + chrono::Duration::hours(12))
            .await
            .unwrap()
    ));
    let (rows, total) = audit::list(db, tenant, &Filters::default(), 10, 0)
        .await
        .unwrap();
    said.push(format!("after pruning: {:?} of {total}", show(&rows)));
    said
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn the_audit_trail_answers_the_same_on_sqlite_and_postgresql() {
    use licentric_server::db::audit;
    let tenant = story_tenant();
    let (pg, sqlite, _dir) = both(&tenant).await;
    let on_sqlite = audit_story((&sqlite).into(), &tenant).await;
    // The seeded tenants' events (written now) are not pruned by the story; its own
    // oldest event and the system one are, so PostgreSQL prunes what SQLite does.
    let on_postgres = audit_story((&pg.app).into(), &tenant).await;
    assert_eq!(on_postgres, on_sqlite);
    let (rows, _) = audit::list(&pg.app, &b(), &audit::Filters::default(), 10, 0)
        .await
        .unwrap();
    let actions: Vec<_> = rows.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["seeded"], "B sees its own events only");
    // Inside a caller's transaction (DbTx::Postgres): rolled back with it.
    let mut tx = postgres::begin_for(&pg.app, &b()).await.unwrap();
    let event = audit::NewEvent {
        account_id: Some("acc_b"),
        environment: Some(Environment::Live),
        occurred_at: t0(),
        actor_type: "system",
        actor_id: None,
        actor_name: None,
        action: "rolled.back",
        resource_type: None,
        resource_id: None,
        client_address: None,
        request_id: None,
        changes: None,
    };
    audit::insert(&mut *tx, &event).await.unwrap();
    tx.rollback().await.unwrap();
    let (_, total) = audit::list(&pg.app, &b(), &audit::Filters::default(), 10, 0)
        .await
        .unwrap();
    assert_eq!(total, 1);
}

async fn activity_story(db: DbRef<'_>, tenant: &Tenant) -> Vec<String> {
    use licentric_core::ValidationCode;
    use licentric_server::db::{activity, analytics};
    seed_licensing(db, tenant).await;
    let day = |n: i64| t0() + chrono::Duration::days(n);
    for (kind, license, at) in [
        (
            activity::Kind::Validation(ValidationCode::Valid),
            "lic_1",
            day(0),
        ),
        (
            activity::Kind::Validation(ValidationCode::Valid),
            "lic_1",
            day(0),
        ),
        (
            activity::Kind::Validation(ValidationCode::Expired),
            "lic_2",
            day(1),
        ),
        (activity::Kind::Activation, "lic_4", day(1)),
        (activity::Kind::Activation, "lic_4", day(2)),
        (activity::Kind::Deactivation, "lic_4", day(2)),
    ] {
        activity::record(db, tenant, kind, "prod_s", license, at)
            .await
            .unwrap();
    }
    let mut said = vec![format!(
        "removal of lic_4: {}",
        activity::record_license_removal(db, tenant, "prod_s", "lic_4", day(3))
            .await
            .unwrap()
    )];
    let (from, to) = (day(-1).date_naive(), day(5).date_naive());
    for product in [None, Some("prod_s"), Some("prod_none")] {
        said.push(format!(
            "{product:?}: validations {:?}, activations {:?}, machines now {}",
            activity::validations_by_day(db, tenant, from, to, product)
                .await
                .unwrap(),
            activity::activations_by_day(db, tenant, from, to, product)
                .await
                .unwrap(),
            activity::machines_now(db, tenant, product).await.unwrap()
        ));
        said.push(format!(
            "{product:?}: products {:?}, policies {:?}, expiring {:?}",
            analytics::products(db, tenant, product)
                .await
                .unwrap()
                .into_iter()
                .map(|p| (p.id, p.name))
                .collect::<Vec<_>>(),
            analytics::policy_use(db, tenant, product, t0())
                .await
                .unwrap()
                .into_iter()
                .map(|p| format!(
                    "{} {} {} {:?} {} {}",
                    p.id, p.name, p.floating, p.max_machines, p.active_licenses, p.machines_used
                ))
                .collect::<Vec<_>>(),
            analytics::expiring(db, tenant, product, t0(), [day(7), day(30), day(90)])
                .await
                .unwrap()
        ));
    }
    said.push(format!(
        "usage: {:?}",
        activity::product_usage(db, tenant, t0()).await.unwrap()
    ));
    // After lic_2 has expired, it no longer counts.
    said.push(format!(
        "usage later: {:?}",
        activity::product_usage(db, tenant, day(11)).await.unwrap()
    ));
    said
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn activity_and_analytics_answer_the_same_on_sqlite_and_postgresql() {
    use licentric_server::db::activity;
    let tenant = story_tenant();
    let (pg, sqlite, _dir) = both(&tenant).await;
    let on_sqlite = activity_story((&sqlite).into(), &tenant).await;
    let on_postgres = activity_story((&pg.app).into(), &tenant).await;
    assert_eq!(on_postgres, on_sqlite);
    // B's one seeded machine, not the story's.
    assert_eq!(
        activity::machines_now(&pg.app, &b(), None).await.unwrap(),
        1
    );
}

async fn webhook_story(db: DbRef<'_>, tenant: &Tenant) -> Vec<String> {
    use licentric_core::wire::{DeliveryStatus, Webhook};
    use licentric_server::{
        db::webhooks::{self, AttemptRecord, NewDelivery},
        params::Paging,
    };
    let hook = |id: &str, url: &str, events: &[&str], i: i64| Webhook {
        id: id.into(),
        url: url.into(),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
        enabled: true,
        disabled_reason: None,
        disabled_at: None,
        description: (i == 1).then(|| "Billing \\ CRM".to_owned()),
        secret: None,
        created_at: t0() + chrono::Duration::seconds(i),
        updated_at: t0() + chrono::Duration::seconds(i),
    };
    let mut said = Vec::new();
    webhooks::insert(
        db,
        tenant,
        &hook("wh_1", "https://a.example/hook", &["*"], 0),
        "s1",
    )
    .await
    .unwrap();
    webhooks::insert(
        db,
        tenant,
        &hook("wh_2", "https://B.example/x", &["license.created"], 1),
        "s2",
    )
    .await
    .unwrap();
    for (q, sort) in [
        (None, Some("url")),
        (Some("b.EXAMPLE"), None),
        (Some("crm"), Some("-createdAt")),
        (Some("\\"), None),
        (Some("nothing"), None),
    ] {
        let page = Paging::from_query(Some(5), None, sort.map(str::to_owned))
            .page(webhooks::SORTABLE)
            .unwrap();
        let (rows, total) = webhooks::list(db, tenant, q, &page).await.unwrap();
        let ids: Vec<_> = rows.iter().map(|w| w.id.as_str()).collect();
        said.push(format!("list {q:?} {sort:?}: {ids:?} of {total}"));
    }
    for event in ["license.created", "machine.created"] {
        said.push(format!(
            "subscribers of {event}: {:?}",
            webhooks::subscribers(db, tenant, event).await.unwrap()
        ));
    }
    // Two deliveries to wh_1, one to wh_2.
    for (id, webhook) in [("d_1", "wh_1"), ("d_2", "wh_1"), ("d_3", "wh_2")] {
        let delivery = NewDelivery {
            id,
            tenant,
            webhook_id: webhook,
            event_id: "ev_1",
            event: "license.created",
            payload: "{\"id\":\"ev_1\"}",
        };
        webhooks::queue(db, &delivery, t0()).await.unwrap();
    }
    let due = |at| async move {
        webhooks::due(db, at, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|d| {
                format!(
                    "{} {:?} {} {} {} {}",
                    d.id,
                    d.tenant(),
                    d.webhook_id,
                    d.attempts,
                    d.url,
                    d.secret
                )
            })
            .collect::<Vec<_>>()
    };
    said.push(format!(
        "due before: {:?}",
        due(t0() - chrono::Duration::seconds(1)).await
    ));
    let mut due_now = due(t0()).await;
    due_now.sort();
    said.push(format!("due now: {due_now:?}"));
    // d_1 succeeds; d_2 fails and is retried later; d_3's endpoint is disabled.
    let later = t0() + chrono::Duration::minutes(1);
    webhooks::record_attempt(
        db,
        tenant,
        "d_1",
        DeliveryStatus::Succeeded,
        1,
        Some(204),
        None,
        None,
        Some(later),
    )
    .await
    .unwrap();
    webhooks::record_attempt(
        db,
        tenant,
        "d_2",
        DeliveryStatus::Pending,
        1,
        Some(500),
        Some("HTTP 500"),
        Some(later + chrono::Duration::minutes(5)),
        None,
    )
    .await
    .unwrap();
    said.push(format!(
        "failing since: {:?} then {:?}; success {:?}",
        webhooks::note_failure(db, tenant, "wh_1", later)
            .await
            .unwrap(),
        webhooks::note_failure(db, tenant, "wh_1", later + chrono::Duration::hours(1))
            .await
            .unwrap(),
        webhooks::note_success(db, tenant, "wh_1").await.unwrap(),
    ));
    said.push(format!(
        "disable: {:?} then {:?}",
        webhooks::disable(db, tenant, "wh_2", "broken", later)
            .await
            .unwrap(),
        webhooks::disable(db, tenant, "wh_2", "broken", later)
            .await
            .unwrap()
    ));
    let mut due_later = due(later + chrono::Duration::hours(1)).await;
    due_later.sort();
    said.push(format!("due later: {due_later:?}"));
    said.push(format!(
        "get wh_2: {:?}",
        webhooks::get(db, tenant, "wh_2").await.unwrap()
    ));
    // Enabling it again forgets its run of failures.
    let mut two = webhooks::get(db, tenant, "wh_2").await.unwrap().unwrap();
    two.enabled = true;
    two.disabled_reason = None;
    two.disabled_at = None;
    two.updated_at = later;
    webhooks::update(db, tenant, &two).await.unwrap();
    said.push(format!(
        "after enabling: {:?}, failing since {:?}",
        webhooks::get(db, tenant, "wh_2").await.unwrap(),
        webhooks::note_failure(db, tenant, "wh_2", later + chrono::Duration::hours(2))
            .await
            .unwrap()
    ));
    said.push(format!(
        "set secret: {} {}; target {:?}",
        webhooks::set_secret(db, tenant, "wh_1", "s1b", later)
            .await
            .unwrap(),
        webhooks::set_secret(db, tenant, "wh_none", "x", later)
            .await
            .unwrap(),
        webhooks::target(db, tenant, "wh_1").await.unwrap()
    ));
    let test = NewDelivery {
        id: "d_test",
        tenant,
        webhook_id: "wh_1",
        event_id: "ev_t",
        event: "webhook.test",
        payload: "{}",
    };
    let attempt = AttemptRecord {
        status: DeliveryStatus::Failed,
        status_code: Some(404),
        error: Some("HTTP 404"),
        delivered_at: None,
    };
    webhooks::insert_attempted(db, &test, &attempt, later)
        .await
        .unwrap();
    for sort in [None, Some("status"), Some("-createdAt")] {
        let page = Paging::from_query(Some(5), None, sort.map(str::to_owned))
            .page(webhooks::DELIVERY_SORTABLE)
            .unwrap();
        let (rows, total) = webhooks::deliveries(db, tenant, "wh_1", &page)
            .await
            .unwrap();
        said.push(format!("deliveries {sort:?}: {rows:?} of {total}"));
    }
    said.push(format!(
        "delivery: {:?}; payload {:?}; of another endpoint {:?}",
        webhooks::delivery(db, tenant, "wh_1", "d_2").await.unwrap(),
        webhooks::payload(db, tenant, "wh_1", "d_2").await.unwrap(),
        webhooks::delivery(db, tenant, "wh_2", "d_2").await.unwrap(),
    ));
    said.push(format!(
        "delete: {} then {}; its deliveries {:?}",
        webhooks::delete(db, tenant, "wh_1").await.unwrap(),
        webhooks::delete(db, tenant, "wh_1").await.unwrap(),
        webhooks::delivery(db, tenant, "wh_1", "d_1").await.unwrap()
    ));
    said
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn webhooks_answer_the_same_on_sqlite_and_postgresql() {
    use licentric_server::db::webhooks;
    let tenant = story_tenant();
    let (pg, sqlite, _dir) = both(&tenant).await;
    let on_sqlite = webhook_story((&sqlite).into(), &tenant).await;
    let on_postgres = webhook_story((&pg.app).into(), &tenant).await;
    assert_eq!(on_postgres, on_sqlite);
    // Another tenant's endpoint and delivery are not found, nor changed.
    assert!(webhooks::get(&pg.app, &a(), "wh_b")
        .await
        .unwrap()
        .is_none());
    assert!(webhooks::delivery(&pg.app, &a(), "wh_b", "del_b")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        webhooks::disable(&pg.app, &a(), "wh_b", "x", t0())
            .await
            .unwrap(),
        None
    );
    assert!(
        webhooks::get(&pg.app, &b(), "wh_b")
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
    // Inside a caller's transaction (DbTx::Postgres), as the runtime reads them: the
    // tenant the transaction is set for decides, not the one asked for.
    let mut tx = postgres::begin_for(&pg.app, &b()).await.unwrap();
    let own = webhooks::subscribers(&mut *tx, &b(), "license.created")
        .await
        .unwrap();
    let foreign = webhooks::subscribers(&mut *tx, &a(), "license.created")
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!((own, foreign), (vec!["wh_b".to_owned()], vec![]));
}

async fn license_entitlement_story(db: DbRef<'_>, tenant: &Tenant) -> Vec<String> {
    use licentric_core::wire::Entitlement;
    use licentric_server::db::entitlements;
    seed_licensing(db, tenant).await;
    for code in ["PRO", "API", "EXPORT"] {
        let e = Entitlement {
            id: format!("ent_{code}"),
            code: code.into(),
            name: code.into(),
            created_at: t0(),
            updated_at: t0(),
        };
        entitlements::insert(db, tenant, &e).await.unwrap();
    }
    let links = || async move {
        let sql = "SELECT license_id || ':' || entitlement_id FROM license_entitlements ORDER BY 1";
        match db {
            DbRef::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
            DbRef::Postgres(pool) => {
                let mut tx = postgres::begin_for(pool, tenant).await.unwrap();
                let rows: Vec<String> = sqlx::query_scalar(sql).fetch_all(&mut *tx).await.unwrap();
                tx.commit().await.unwrap();
                rows
            }
        }
    };
    let ids = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let mut said = Vec::new();
    entitlements::attach_to_license(db, tenant, "lic_1", &ids(&["ent_PRO", "ent_API"]))
        .await
        .unwrap();
    // Again, and with an entitlement that does not exist: nothing more, and no error.
    entitlements::attach_to_license(db, tenant, "lic_1", &ids(&["ent_PRO", "ent_none"]))
        .await
        .unwrap();
    said.push(format!("attached: {:?}", links().await));
    entitlements::detach_from_license(db, tenant, "lic_1", &ids(&["ent_PRO", "ent_EXPORT"]))
        .await
        .unwrap();
    said.push(format!("detached: {:?}", links().await));
    said
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn a_licenses_own_entitlements_answer_the_same_and_stay_in_their_tenant() {
    use licentric_server::db::entitlements;
    let tenant = story_tenant();
    let (pg, sqlite, _dir) = both(&tenant).await;
    let on_sqlite = license_entitlement_story((&sqlite).into(), &tenant).await;
    let on_postgres = license_entitlement_story((&pg.app).into(), &tenant).await;
    assert_eq!(on_postgres, on_sqlite);
    // Another tenant's entitlement is not given to the story's license, nor is the
    // story's taken away by another tenant: on SQLite by the tenant filter alone.
    let other = Tenant {
        account_id: "acc_other".into(),
        environment: Environment::Live,
    };
    licentric_server::db::accounts::insert_account(&sqlite, "acc_other", "O", t0())
        .await
        .unwrap();
    let foreign = licentric_core::wire::Entitlement {
        id: "ent_other".into(),
        code: "OTHER".into(),
        name: "O".into(),
        created_at: t0(),
        updated_at: t0(),
    };
    assert!(entitlements::insert(&sqlite, &other, &foreign)
        .await
        .unwrap());
    entitlements::attach_to_license(&sqlite, &tenant, "lic_1", &["ent_other".to_owned()])
        .await
        .unwrap();
    entitlements::attach_to_license(&sqlite, &other, "lic_1", &["ent_other".to_owned()])
        .await
        .unwrap();
    entitlements::detach_from_license(&sqlite, &other, "lic_1", &["ent_API".to_owned()])
        .await
        .unwrap();
    let links: Vec<String> = sqlx::query_scalar(
        "SELECT license_id || ':' || entitlement_id FROM license_entitlements ORDER BY 1",
    )
    .fetch_all(&sqlite)
    .await
    .unwrap();
    assert_eq!(links, ["lic_1:ent_API"]);
    // On PostgreSQL: A can neither give its entitlement to B's license nor take B's.
    entitlements::attach_to_license(&pg.app, &a(), "lic_b", &["ent_a".to_owned()])
        .await
        .unwrap();
    entitlements::detach_from_license(&pg.app, &a(), "lic_b", &["ent_b".to_owned()])
        .await
        .unwrap();
    let mut tx = postgres::begin_for(&pg.app, &b()).await.unwrap();
    let links: Vec<String> = sqlx::query_scalar(
        "SELECT license_id || ':' || entitlement_id FROM license_entitlements ORDER BY 1",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert_eq!(links, ["lic_b:ent_b"]);
    tx.rollback().await.unwrap();
    // As the superuser sees it (no policies): B's license has its own entitlement only.
    let links: Vec<String> = sqlx::query_scalar(
        "SELECT entitlement_id FROM license_entitlements WHERE license_id = 'lic_b'",
    )
    .fetch_all(&pg.admin)
    .await
    .unwrap();
    assert_eq!(links, ["ent_b"]);
}

/// Queues `n` deliveries due at `at` to tenant B's seeded endpoint, with ids `prefix_000`….
async fn queue_deliveries(
    pool: &PgPool,
    prefix: &str,
    n: usize,
    at: chrono::DateTime<chrono::Utc>,
) {
    use licentric_server::db::webhooks::{self, NewDelivery};
    for i in 0..n {
        let id = format!("{prefix}_{i:03}");
        let delivery = NewDelivery {
            id: &id,
            tenant: &b(),
            webhook_id: "wh_b",
            event_id: "ev",
            event: "license.created",
            payload: "{}",
        };
        webhooks::queue(pool, &delivery, at).await.unwrap();
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn a_leased_delivery_is_sent_once_and_taken_over_when_its_process_dies() {
    use licentric_core::wire::DeliveryStatus;
    use licentric_server::db::webhooks;
    let pg = fresh().await;
    // Two server processes: two pools, two connections' worth of sessions.
    let settings = postgres::PoolSettings::default();
    let one = pg.app.clone();
    let two = postgres::connect(&pg.app_url, &settings).await.unwrap();
    queue_deliveries(&one, "lease", 1, t0()).await;
    let minute = chrono::Duration::minutes(1);
    let ids = |due: Vec<webhooks::DueDelivery>| -> Vec<String> {
        due.into_iter().map(|d| d.id).collect()
    };
    // One leases it; the other, a moment later, finds nothing to do.
    let leased = webhooks::lease(&one, t0(), 10, minute, "one")
        .await
        .unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!(leased[0].tenant(), b());
    assert_eq!(leased[0].url, "https://example.com/b");
    let at = t0() + chrono::Duration::seconds(30);
    assert!(webhooks::lease(&two, at, 10, minute, "two")
        .await
        .unwrap()
        .is_empty());
    assert!(webhooks::lease(&one, at, 10, minute, "one")
        .await
        .unwrap()
        .is_empty());
    // Process one dies without recording an attempt: once its lease has run out, two
    // takes the delivery over.
    let after = t0() + minute + chrono::Duration::seconds(1);
    let taken = webhooks::lease(&two, after, 10, minute, "two")
        .await
        .unwrap();
    assert_eq!(ids(taken.clone()), ["lease_000"]);
    let holder: String =
        sqlx::query_scalar("SELECT leased_by FROM webhook_deliveries WHERE id = 'lease_000'")
            .fetch_one(&pg.admin)
            .await
            .unwrap();
    assert_eq!(holder, "two");
    // Two sends it and records the attempt: no one leases it again, ever.
    webhooks::record_attempt(
        &two,
        &taken[0].tenant(),
        "lease_000",
        DeliveryStatus::Succeeded,
        taken[0].attempts + 1,
        Some(200),
        None,
        None,
        Some(after),
    )
    .await
    .unwrap();
    let much_later = after + chrono::Duration::days(1);
    assert!(webhooks::lease(&one, much_later, 10, minute, "one")
        .await
        .unwrap()
        .is_empty());
    assert!(webhooks::lease(&two, much_later, 10, minute, "two")
        .await
        .unwrap()
        .is_empty());
    let (status, attempts, lease): (String, i64, Option<String>) = sqlx::query_as(
        "SELECT status, attempts, leased_by FROM webhook_deliveries WHERE id = 'lease_000'",
    )
    .fetch_one(&pg.admin)
    .await
    .unwrap();
    assert_eq!((status.as_str(), attempts, lease), ("succeeded", 1, None));

    // Many at once: the two processes lease concurrently, in small batches, until the
    // queue is empty; each delivery goes to exactly one of them.
    queue_deliveries(&one, "many", 60, much_later).await;
    let worker = |pool: PgPool, name: &'static str| async move {
        let mut got = Vec::new();
        loop {
            let batch = webhooks::lease(&pool, much_later, 4, minute, name)
                .await
                .unwrap();
            if batch.is_empty() {
                return got;
            }
            got.extend(batch.into_iter().map(|d| d.id));
            tokio::task::yield_now().await;
        }
    };
    let (from_one, from_two) = tokio::join!(
        tokio::spawn(worker(one.clone(), "one")),
        tokio::spawn(worker(two.clone(), "two"))
    );
    let (from_one, from_two) = (from_one.unwrap(), from_two.unwrap());
    let mut all: Vec<String> = from_one.iter().chain(&from_two).cloned().collect();
    all.sort();
    let total = all.len();
    all.dedup();
    assert_eq!(total, all.len(), "a delivery was leased twice");
    assert_eq!(
        all.len(),
        60,
        "one {}, two {}",
        from_one.len(),
        from_two.len()
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn the_cross_tenant_functions_give_exactly_their_rows_and_open_nothing() {
    use licentric_server::db::{audit, signing_keys, webhooks};
    let pg = fresh().await;
    // The newest key of any tenant: one row, sealed.
    let newest = signing_keys::newest(&pg.app).await.unwrap().unwrap();
    assert!(["kid_a", "kid_at", "kid_b"].contains(&newest.kid.as_str()));
    // Leasing returns every tenant's due deliveries (each with its tenant) and leaves the
    // tables as hidden as before.
    let mut tx = postgres::begin_for(&pg.app, &a()).await.unwrap();
    sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = now()")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = postgres::begin_for(&pg.app, &b()).await.unwrap();
    sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = now()")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let later = chrono::Utc::now() + chrono::Duration::seconds(1);
    let mut leased: Vec<(String, Tenant)> =
        webhooks::lease(&pg.app, later, 10, chrono::Duration::minutes(1), "t")
            .await
            .unwrap()
            .into_iter()
            .map(|d| (d.id.clone(), d.tenant()))
            .collect();
    leased.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        leased,
        [("del_a".to_owned(), a()), ("del_b".to_owned(), b())]
    );
    let mut tx = pg.app.begin().await.unwrap();
    // The functions' own settings, set by hand, open nothing to the runtime role.
    for setting in [
        "licentric.lease",
        "licentric.prune",
        "licentric.startup",
        "licentric.deaths",
    ] {
        sqlx::query("SELECT set_config($1, 'on', true)")
            .bind(setting)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    for table in [
        "webhook_deliveries",
        "webhooks",
        "audit_events",
        "signing_keys",
        "machines",
    ] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(n, 0, "{table} seen through a function's setting");
    }
    tx.rollback().await.unwrap();
    // Pruning reaches every tenant's old events, and only old ones.
    let pruned = audit::prune(&pg.app, chrono::Utc::now() - chrono::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(pruned, 0);
    let pruned = audit::prune(&pg.app, chrono::Utc::now() + chrono::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(pruned, 3);
    for name in [
        "licentric_lease_deliveries(timestamptz, timestamptz, text, integer)",
        "licentric_prune_audit(timestamptz)",
        "licentric_newest_signing_key()",
        "licentric_unrecorded_deaths(timestamptz, integer)",
    ] {
        let public: bool =
            sqlx::query_scalar("SELECT has_function_privilege('public', $1, 'EXECUTE')")
                .bind(name)
                .fetch_one(&pg.admin)
                .await
                .unwrap();
        assert!(!public, "{name} may be called by anyone");
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn a_transaction_set_for_tenant_b_reaches_no_row_of_tenant_a_in_any_tenant_table() {
    let pg = fresh().await;
    // Every table with a tenant column, from the catalogue (ids of these are not all
    // text, so they are asked for by their account).
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
          WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
            AND a.attname = 'account_id' ORDER BY 1",
    )
    .fetch_all(&pg.admin)
    .await
    .unwrap();
    assert!(tables.len() >= 15, "{tables:?}");
    let mut tx = postgres::begin_for(&pg.app, &b()).await.unwrap();
    for table in &tables {
        let seen: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {table} WHERE account_id = 'acc_a'"
        ))
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!(seen, 0, "{table}: A's rows read from B's transaction");
        let changed = sqlx::query(&format!(
            "UPDATE {table} SET account_id = account_id WHERE account_id = 'acc_a'"
        ))
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
        assert_eq!(changed, 0, "{table}: A's rows updated from B's transaction");
        let deleted = sqlx::query(&format!("DELETE FROM {table} WHERE account_id = 'acc_a'"))
            .execute(&mut *tx)
            .await
            .unwrap()
            .rows_affected();
        assert_eq!(deleted, 0, "{table}: A's rows deleted from B's transaction");
    }
    tx.rollback().await.unwrap();
    // Every one of A's rows is still there, as A sees them.
    let mut tx = postgres::begin_for(&pg.app, &a()).await.unwrap();
    for table in &tables {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert!(n >= 1, "{table}: A's rows are gone");
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn two_processes_share_one_rate_limit_budget_exactly() {
    use licentric_server::db::rate_limits;
    let pg = fresh().await;
    let two = postgres::connect(&pg.app_url, &postgres::PoolSettings::default())
        .await
        .unwrap();
    let minute = std::time::Duration::from_secs(60);
    let key = "api_key:key_shared";
    // 10 a minute; 40 requests at one instant, 20 through each process, concurrently:
    // exactly 10 are allowed in all, not 10 per process.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let pool = if i % 2 == 0 {
            pg.app.clone()
        } else {
            two.clone()
        };
        tasks.push(tokio::spawn(async move {
            rate_limits::take(&pool, key, 10, minute, t0())
                .await
                .unwrap()
        }));
    }
    let mut allowed = 0;
    for task in tasks {
        allowed += usize::from(task.await.unwrap().allowed);
    }
    assert_eq!(allowed, 10);
    // It refills continuously: one token every 6 s, whichever process asks.
    let later = t0() + chrono::Duration::seconds(6);
    let take = rate_limits::take(&two, key, 10, minute, later)
        .await
        .unwrap();
    assert!(take.allowed && take.tokens < 1.0, "{take:?}");
    let take = rate_limits::take(&pg.app, key, 10, minute, later)
        .await
        .unwrap();
    assert!(!take.allowed, "{take:?}");
    // A clock behind the last use refills nothing.
    let take = rate_limits::take(&pg.app, key, 10, minute, t0())
        .await
        .unwrap();
    assert!(!take.allowed, "{take:?}");
    // Another key has its own bucket.
    let other = rate_limits::take(&pg.app, "api_key:other", 10, minute, later)
        .await
        .unwrap();
    assert_eq!(
        other,
        rate_limits::Take {
            allowed: true,
            tokens: 9.0
        }
    );
    // Stored by hash only; the runtime role sees no bucket at all.
    let names: Vec<String> = sqlx::query_scalar("SELECT bucket FROM rate_buckets")
        .fetch_all(&pg.admin)
        .await
        .unwrap();
    assert!(names.contains(&rate_limits::bucket_name(key)), "{names:?}");
    assert!(names
        .iter()
        .all(|n| !n.contains("key_shared") && n.len() == 64));
    let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM rate_buckets")
        .fetch_one(&pg.app)
        .await
        .unwrap();
    assert_eq!(seen, 0);
    // Full buckets are forgotten; the spent one is kept until it has refilled.
    let pruned = rate_limits::prune(&pg.app, later + chrono::Duration::seconds(1))
        .await
        .unwrap();
    let left: Vec<String> = sqlx::query_scalar("SELECT bucket FROM rate_buckets")
        .fetch_all(&pg.admin)
        .await
        .unwrap();
    assert!(left.contains(&rate_limits::bucket_name(key)), "{left:?}");
    assert_eq!(pruned, 0, "the other bucket is not full yet");
    let pruned = rate_limits::prune(&pg.app, later + chrono::Duration::hours(1))
        .await
        .unwrap();
    assert!(pruned >= 2, "{pruned}");
}

/// A fresh SQLite file and a live account `account_id` on it and on `pg` (through the
/// runtime role), for a parity story to run in.
async fn story_databases(
    pg: &Pg,
    dir: &tempfile::TempDir,
    account_id: &str,
) -> (sqlx::SqlitePool, Tenant) {
    use licentric_server::db::accounts;
    let sqlite = licentric_server::db::connect(dir.path().join("story.db").to_str().unwrap())
        .await
        .unwrap();
    let now = chrono::Utc::now();
    accounts::insert_account(&sqlite, account_id, "Story", now)
        .await
        .unwrap();
    accounts::insert_account(&pg.app, account_id, "Story", now)
        .await
        .unwrap();
    let tenant = Tenant {
        account_id: account_id.into(),
        environment: Environment::Live,
    };
    (sqlite, tenant)
}

fn story_time() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00.123456Z")
        .unwrap()
        .with_timezone(&chrono::Utc)
}

/// Policy operations through the storage layer, and what each gave back.
async fn policy_story(db: licentric_server::db::DbRef<'_>, tenant: &Tenant) -> Vec<String> {
    use licentric_core::wire::{Entitlement, Policy};
    use licentric_server::{
        db::{entitlements, policies, products},
        params::Paging,
    };
    let t0 = story_time();
    let mut said = Vec::new();
    products::insert(db, tenant, "prod_p1", "One", "ONE", t0)
        .await
        .unwrap();
    products::insert(db, tenant, "prod_p2", "Two", "TWO", t0)
        .await
        .unwrap();
    for (i, code) in ["SSO", "API"].iter().enumerate() {
        let entitlement = Entitlement {
            id: format!("ent_p{i}"),
            code: (*code).into(),
            name: (*code).into(),
            created_at: t0,
            updated_at: t0,
        };
        entitlements::insert(db, tenant, &entitlement)
            .await
            .unwrap();
    }
    for (i, (name, product, max_machines, max_uses)) in [
        ("Standard", "prod_p1", Some(3), None),
        ("floating pro", "prod_p1", None, Some(100)),
        ("Enterprise", "prod_p2", Some(4_000_000_000), Some(1)),
    ]
    .into_iter()
    .enumerate()
    {
        let at = t0 + chrono::Duration::seconds(i64::try_from(i).unwrap());
        let policy = Policy {
            id: format!("pol_p{i}"),
            product_id: product.into(),
            name: name.into(),
            max_machines,
            floating: i % 2 == 1,
            require_heartbeat: i == 2,
            heartbeat_interval: 600 + u32::try_from(i).unwrap(),
            cull_dead_machines: i == 2,
            duration: (i == 0).then_some(86_400),
            offline_max_days: 14,
            grace_days: 7,
            max_uses,
            entitlements: vec![],
            created_at: at,
            updated_at: at,
        };
        policies::insert(db, tenant, &policy).await.unwrap();
    }
    policies::set_entitlements(db, tenant, "pol_p0", &["ent_p0".into(), "ent_p1".into()])
        .await
        .unwrap();
    for (q, product, sort) in [
        (None, None, None),
        (None, Some("prod_p1"), Some("name")),
        (Some("PRO"), None, Some("-createdAt")),
        (Some("e"), None, Some("-name")),
    ] {
        let page = Paging::from_query(Some(2), None, sort.map(str::to_owned))
            .page(policies::SORTABLE)
            .unwrap();
        let (rows, total) = policies::list(db, tenant, q, product, &page).await.unwrap();
        let names: Vec<_> = rows
            .iter()
            .map(|p| format!("{} {:?}", p.name, p.entitlements))
            .collect();
        said.push(format!(
            "list q={q:?} product={product:?} sort={sort:?}: {names:?} of {total}"
        ));
    }
    let mut policy = policies::get(db, tenant, "pol_p0").await.unwrap().unwrap();
    said.push(format!("get: {policy:?}"));
    policy.name = "Standard 2".into();
    policy.max_machines = None;
    policy.max_uses = Some(7);
    policy.updated_at = t0 + chrono::Duration::minutes(5);
    policies::update(db, tenant, &policy).await.unwrap();
    policies::set_entitlements(db, tenant, "pol_p0", &["ent_p1".into()])
        .await
        .unwrap();
    said.push(format!(
        "updated: {:?}",
        policies::get(db, tenant, "pol_p0").await.unwrap()
    ));
    said.push(format!(
        "licenses: {}",
        policies::license_count(db, tenant, "pol_p0").await.unwrap()
    ));
    said.push(format!(
        "deleted: {} then {}",
        policies::delete(db, tenant, "pol_p2").await.unwrap(),
        policies::delete(db, tenant, "pol_p2").await.unwrap()
    ));
    said.push(format!(
        "after delete: {:?}",
        policies::get(db, tenant, "pol_p2").await.unwrap()
    ));
    said
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn policies_answer_the_same_on_sqlite_and_postgresql() {
    use licentric_server::db::policies;
    let pg = fresh().await;
    let dir = tempfile::tempdir().unwrap();
    let (sqlite, tenant) = story_databases(&pg, &dir, "acc_p").await;
    let on_sqlite = policy_story((&sqlite).into(), &tenant).await;
    let on_postgres = policy_story((&pg.app).into(), &tenant).await;
    assert_eq!(on_postgres, on_sqlite);
    // Another tenant's policy is not there for this one, on either database, and its
    // licenses are not counted for it (the count used to have no tenant filter).
    assert!(policies::get(&pg.app, &tenant, "pol_a")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        policies::license_count(&pg.app, &tenant, "pol_a")
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        policies::license_count(&pg.app, &a(), "pol_a")
            .await
            .unwrap(),
        1
    );
}

/// License and machine operations through the storage layer (lists with searches,
/// cursors and totals included), and what each gave back.
async fn license_story(db: licentric_server::db::DbRef<'_>, tenant: &Tenant) -> Vec<String> {
    use licentric_core::{
        wire::{HeartbeatStatus, Policy},
        LicenseStatus,
    };
    use licentric_server::{
        db::{licenses, machines, policies, products},
        params::{Cursor, Paging},
    };
    let t0 = story_time();
    let mut said = Vec::new();
    products::insert(db, tenant, "prod_l", "L", "LIC", t0)
        .await
        .unwrap();
    let policy = Policy {
        id: "pol_l".into(),
        product_id: "prod_l".into(),
        name: "Two seats".into(),
        max_machines: Some(2),
        floating: true,
        require_heartbeat: true,
        heartbeat_interval: 600,
        cull_dead_machines: false,
        duration: None,
        offline_max_days: 14,
        grace_days: 7,
        max_uses: Some(5),
        entitlements: vec![],
        created_at: t0,
        updated_at: t0,
    };
    policies::insert(db, tenant, &policy).await.unwrap();
    let entitlement = licentric_core::wire::Entitlement {
        id: "ent_l".into(),
        code: "OFFLINE".into(),
        name: "Offline".into(),
        created_at: t0,
        updated_at: t0,
    };
    licentric_server::db::entitlements::insert(db, tenant, &entitlement)
        .await
        .unwrap();
    policies::set_entitlements(db, tenant, "pol_l", &["ent_l".into()])
        .await
        .unwrap();
    let keys = [
        "LIC-AAAA-BBBB",
        "LIC-CCCC-DDDD",
        "LIC-EEEE-FFFF",
        "LIC-GGGG-HHHH",
    ];
    let metadata = [
        r#"{"email": "grace@example.com"}"#,
        r#"{"email": "ada@example.com", "seats": 10}"#,
        "{}",
        r#"{"note": "100% off_road"}"#,
    ];
    for (i, key) in keys.iter().enumerate() {
        // Equal creation times for the first two: the tie goes to insertion order.
        let at = t0 + chrono::Duration::seconds(i64::try_from(i.max(1)).unwrap());
        let row = licenses::NewLicenseRow {
            id: &format!("lic_l{i}"),
            product_id: "prod_l",
            policy_id: "pol_l",
            key,
            name: (i != 2).then_some(["Grace", "Ada", "", "Zed"][i]),
            expires_at: (i % 2 == 0)
                .then(|| t0 + chrono::Duration::days(30 + i64::try_from(i).unwrap())),
            metadata: metadata[i],
        };
        said.push(format!(
            "insert {key}: {}",
            licenses::insert(db, tenant, &row, at).await.unwrap()
        ));
    }
    let taken = licenses::NewLicenseRow {
        id: "lic_dup",
        product_id: "prod_l",
        policy_id: "pol_l",
        key: keys[0],
        name: None,
        expires_at: None,
        metadata: "{}",
    };
    said.push(format!(
        "insert a taken key: {}",
        licenses::insert(db, tenant, &taken, t0).await.unwrap()
    ));
    let found = licenses::find_by_key(db, keys[1]).await.unwrap().unwrap();
    said.push(format!(
        "by key: {} uses {} rowid>0 {}",
        found.id,
        found.uses,
        found.rowid > 0
    ));
    let owner = licenses::find_owner_by_key(db, keys[2])
        .await
        .unwrap()
        .unwrap();
    said.push(format!("owner: {} {}", owner.license_id, owner.product_id));
    let mut existing: Vec<_> = licenses::existing_keys(db, &[keys[0], "LIC-NONE", keys[3]])
        .await
        .unwrap()
        .into_iter()
        .collect();
    existing.sort();
    said.push(format!("existing: {existing:?}"));
    let mut many: Vec<_> = licenses::get_many(
        db,
        tenant,
        &["lic_l3".into(), "lic_none".into(), "lic_l0".into()],
    )
    .await
    .unwrap()
    .into_iter()
    .map(|l| l.id)
    .collect();
    many.sort();
    said.push(format!("many: {many:?}"));
    // Lists: filters, searches (key with and without dashes, metadata, a case, LIKE's
    // wildcards), every sort, and a walk by cursor.
    for (q, status, sort) in [
        (None, None, None),
        (Some("ccccdddd"), None, None),
        (Some("cccc-dddd"), None, None),
        (Some("EXAMPLE.COM"), None, Some("-name")),
        (Some("100%"), None, None),
        (Some("no match"), None, None),
        (None, Some(LicenseStatus::Active), Some("expiresAt")),
        (None, None, Some("-expiresAt")),
        (None, None, Some("name")),
        (None, None, Some("-uses")),
        (None, None, Some("status")),
        (None, None, Some("updatedAt")),
    ] {
        let filters = licenses::Filters {
            q,
            status,
            ..Default::default()
        };
        let page = Paging::from_query(Some(3), None, sort.map(str::to_owned))
            .page(licenses::SORTABLE)
            .unwrap();
        let (rows, total, next) = licenses::list(db, tenant, &filters, &page, None)
            .await
            .unwrap();
        let ids: Vec<_> = rows.iter().map(|l| l.id.as_str()).collect();
        let mut line = format!("list q={q:?} sort={sort:?}: {ids:?} of {total}");
        if let Some(next) = next {
            let next = Cursor::decode(&next.encode(), &page, &mut Default::default()).unwrap();
            let (rest, _) = licenses::page_of(db, tenant, &filters, &page, Some(&next))
                .await
                .unwrap();
            let ids: Vec<_> = rest.iter().map(|l| l.id.as_str()).collect();
            line.push_str(&format!(" then {ids:?}"));
        }
        said.push(line);
    }
    // A compare-and-set update, and one that lost (the record changed since).
    let before = licenses::get(db, tenant, "lic_l0").await.unwrap().unwrap();
    let mut after = before.clone();
    after.status = LicenseStatus::Suspended;
    after.name = None;
    after.uses = 3;
    let later = t0 + chrono::Duration::hours(1);
    said.push(format!(
        "update: {} then {}",
        licenses::update(db, &before, &after, later).await.unwrap(),
        licenses::update(db, &before, &after, later).await.unwrap()
    ));
    let got = licenses::get(db, tenant, "lic_l0").await.unwrap().unwrap();
    said.push(format!(
        "after update: {:?} {:?} {} {}",
        got.status, got.name, got.uses, got.updated_at
    ));
    let mut codes: Vec<_> = licenses::entitlement_codes_of(db, tenant, std::slice::from_ref(&got))
        .await
        .unwrap()
        .into_iter()
        .collect();
    codes.sort();
    said.push(format!(
        "entitlements: {:?} {codes:?}",
        licenses::entitlement_codes(db, &got).await.unwrap()
    ));
    let counted = licenses::count(
        db,
        tenant,
        &licenses::Filters {
            status: Some(LicenseStatus::Suspended),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    said.push(format!("suspended: {counted}"));

    // Machines: two seats, a duplicate fingerprint, a third refused.
    for (i, fingerprint) in ["fp-alpha-1", "fp-beta-22", "fp-alpha-1", "fp-gamma-333"]
        .iter()
        .enumerate()
    {
        let at = t0 + chrono::Duration::seconds(i64::try_from(i).unwrap());
        let machine = machines::MachineRecord {
            id: format!("mach_l{i}"),
            license_id: "lic_l1".into(),
            fingerprint: (*fingerprint).into(),
            name: Some(format!("Grace's MacBook {i}")),
            platform: Some("linux".into()),
            last_heartbeat_at: None,
            created_at: at,
            updated_at: at,
        };
        said.push(format!(
            "activate {fingerprint}: {}",
            machines::insert_within_limit(db, tenant, &machine, Some(2))
                .await
                .unwrap()
        ));
    }
    let lic = licenses::get(db, tenant, "lic_l1").await.unwrap().unwrap();
    said.push(format!("machines_count: {}", lic.machines_count));
    machines::heartbeat_now(db, tenant, "mach_l1", t0 + chrono::Duration::minutes(5))
        .await
        .unwrap();
    let of: Vec<_> = machines::of_license(db, tenant, "lic_l1")
        .await
        .unwrap()
        .into_iter()
        .map(|m| format!("{} {:?}", m.id, m.last_heartbeat_at))
        .collect();
    said.push(format!("of license: {of:?}"));
    said.push(format!(
        "by fingerprint: {:?}",
        machines::find_by_fingerprint(db, tenant, "lic_l1", "fp-beta-22")
            .await
            .unwrap()
            .map(|m| m.id)
    ));
    let now = t0 + chrono::Duration::minutes(12);
    for (q, status, sort) in [
        (None, None, None),
        (Some("fp-al"), None, None),
        (Some("macbook 1"), None, Some("-name")),
        (None, Some(HeartbeatStatus::Dead), None),
        (None, Some(HeartbeatStatus::Alive), Some("lastHeartbeatAt")),
        (None, Some(HeartbeatStatus::NotStarted), None),
    ] {
        let filters = machines::Filters {
            q,
            heartbeat_status: status,
            now: Some(now),
            ..Default::default()
        };
        let page = Paging::from_query(Some(1), None, sort.map(str::to_owned))
            .page(machines::SORTABLE)
            .unwrap();
        let (rows, total, next) = machines::list(db, tenant, &filters, &page, None)
            .await
            .unwrap();
        let ids: Vec<_> = rows.iter().map(|m| m.machine.id.as_str()).collect();
        let mut line = format!("machines q={q:?} status={status:?}: {ids:?} of {total}");
        if let Some(next) = next {
            let next = Cursor::decode(&next.encode(), &page, &mut Default::default()).unwrap();
            let (rest, _) = machines::page_of(db, tenant, &filters, &page, Some(&next))
                .await
                .unwrap();
            let ids: Vec<_> = rest.iter().map(|m| m.machine.id.as_str()).collect();
            line.push_str(&format!(" then {ids:?}"));
        }
        said.push(line);
    }
    said.push(format!(
        "deactivate: {} then {}",
        machines::delete(db, tenant, "mach_l0").await.unwrap(),
        machines::delete(db, tenant, "mach_l0").await.unwrap()
    ));
    said.push(format!(
        "delete license: {} then {}",
        licenses::delete(db, tenant, "lic_l1").await.unwrap(),
        licenses::delete(db, tenant, "lic_l1").await.unwrap()
    ));
    said
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn licenses_and_machines_answer_the_same_on_sqlite_and_postgresql() {
    use licentric_server::db::{licenses, machines};
    let pg = fresh().await;
    let dir = tempfile::tempdir().unwrap();
    let (sqlite, tenant) = story_databases(&pg, &dir, "acc_l").await;
    let on_sqlite = license_story((&sqlite).into(), &tenant).await;
    let on_postgres = license_story((&pg.app).into(), &tenant).await;
    assert_eq!(on_postgres, on_sqlite);
    // Tenant A's license and machine are found by A and by A's key, never as this tenant.
    assert!(licenses::get(&pg.app, &tenant, "lic_a")
        .await
        .unwrap()
        .is_none());
    assert!(licenses::get(&pg.app, &a(), "lic_a")
        .await
        .unwrap()
        .is_some());
    assert!(machines::get(&pg.app, &tenant, "mach_a")
        .await
        .unwrap()
        .is_none());
    assert!(!machines::delete(&pg.app, &tenant, "mach_a").await.unwrap());
    assert!(machines::get(&pg.app, &a(), "mach_a")
        .await
        .unwrap()
        .is_some());
    let owner = licenses::find_owner_by_key(&pg.app, "KEY-a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (owner.license_id.as_str(), owner.account_id.as_str()),
        ("lic_a", "acc_a")
    );
}

/// A product, a policy with these limits and a license `lic_rt` with key `RT-…` of it,
/// through the storage layer (either database).
async fn runtime_seed(
    db: licentric_server::db::DbRef<'_>,
    tenant: &Tenant,
    key: &str,
    max_machines: Option<u32>,
    max_uses: Option<u32>,
) {
    use licentric_core::wire::Policy;
    use licentric_server::db::{licenses, policies, products};
    let t0 = story_time();
    products::insert(db, tenant, "prod_rt", "Runtime", "RT", t0)
        .await
        .unwrap();
    let policy = Policy {
        id: "pol_rt".into(),
        product_id: "prod_rt".into(),
        name: "Runtime".into(),
        max_machines,
        floating: true,
        require_heartbeat: true,
        heartbeat_interval: 600,
        cull_dead_machines: false,
        duration: None,
        offline_max_days: 14,
        grace_days: 7,
        max_uses,
        entitlements: vec![],
        created_at: t0,
        updated_at: t0,
    };
    policies::insert(db, tenant, &policy).await.unwrap();
    let row = licenses::NewLicenseRow {
        id: "lic_rt",
        product_id: "prod_rt",
        policy_id: "pol_rt",
        key,
        name: Some("Runtime"),
        expires_at: None,
        metadata: "{}",
    };
    assert!(licenses::insert(db, tenant, &row, t0).await.unwrap());
}

fn runtime_on(db: licentric_server::db::Db) -> licentric_server::domain::runtime::Runtime {
    let clock = licentric_core::ManualClock::new(story_time() + chrono::Duration::minutes(1));
    licentric_server::domain::runtime::Runtime::new(
        db,
        std::sync::Arc::new(clock),
        std::sync::Arc::new(tokio::sync::Notify::new()),
    )
}

fn anonymous() -> licentric_server::domain::Actor {
    licentric_server::domain::Actor {
        kind: licentric_server::domain::ActorKind::Anonymous,
        ..licentric_server::domain::Actor::system()
    }
}

/// Validations, activations and heartbeats through the runtime's batches, and what each
/// answered (machine ids are new each run: their fingerprints stand for them).
async fn runtime_story(
    runtime: &licentric_server::domain::runtime::Runtime,
    tenant: &Tenant,
    key: &str,
) -> Vec<String> {
    use licentric_server::domain::runtime::Activation;
    let mut said = Vec::new();
    let validate = |fingerprint: Option<&str>, entitlements: Vec<String>| {
        runtime.validate(
            key.to_owned(),
            fingerprint.map(str::to_owned),
            entitlements,
            anonymous(),
        )
    };
    let v = validate(None, vec![]).await.unwrap().unwrap();
    said.push(format!("validate: {:?} {:?}", v.code, v.license.record.id));
    let missing = runtime
        .validate("RT-NOPE".into(), None, vec![], anonymous())
        .await
        .unwrap();
    said.push(format!("unknown key: {:?}", missing.map(|v| v.code)));
    // PostgreSQL's text cannot hold NUL: such a key names nothing there either.
    let nul = runtime
        .validate(
            "RT-\0-NUL".into(),
            Some("fp-\0-nul-1".into()),
            vec![],
            anonymous(),
        )
        .await
        .unwrap();
    said.push(format!("NUL key: {:?}", nul.map(|v| v.code)));
    let activate = |fingerprint: &str| {
        runtime.activate(Activation {
            tenant: tenant.clone(),
            actor: licentric_server::domain::Actor::system(),
            license_id: "lic_rt".into(),
            fingerprint: fingerprint.into(),
            name: Some(format!("Machine {fingerprint}")),
            platform: None,
        })
    };
    let mut first_machine = None;
    for fingerprint in ["fp-one-0001", "fp-two-0002", "fp-one-0001", "fp-three-003"] {
        match activate(fingerprint).await {
            Ok(done) => {
                first_machine.get_or_insert(done.machine.id.clone());
                said.push(format!(
                    "activate {fingerprint}: created {} valid {}",
                    done.created, done.valid
                ));
            }
            Err(error) => said.push(format!("activate {fingerprint}: {}", error.code())),
        }
    }
    let v = validate(Some("fp-two-0002"), vec!["NONE".into()])
        .await
        .unwrap()
        .unwrap();
    said.push(format!(
        "validate with machine: {:?} {:?}",
        v.code,
        v.machine.map(|m| m.fingerprint)
    ));
    let v = validate(Some("fp-unknown-1"), vec![])
        .await
        .unwrap()
        .unwrap();
    said.push(format!("validate other machine: {:?}", v.code));
    let beat = runtime
        .heartbeat(
            tenant.clone(),
            licentric_server::domain::Actor::system(),
            first_machine.unwrap(),
            None,
        )
        .await
        .unwrap();
    said.push(format!(
        "heartbeat: {} {:?} {:?}",
        beat.fingerprint, beat.heartbeat_status, beat.last_heartbeat_at
    ));
    // Up to the use limit and past it.
    for _ in 0..3 {
        let v = validate(None, vec![]).await.unwrap().unwrap();
        said.push(format!("validate: {:?}", v.code));
    }
    said
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn the_runtime_answers_the_same_on_sqlite_and_postgresql() {
    let pg = fresh().await;
    let dir = tempfile::tempdir().unwrap();
    let (sqlite, tenant) = story_databases(&pg, &dir, "acc_rt").await;
    runtime_seed((&sqlite).into(), &tenant, "RT-AAAA-0001", Some(2), Some(5)).await;
    runtime_seed((&pg.app).into(), &tenant, "RT-AAAA-0001", Some(2), Some(5)).await;
    let on_sqlite =
        runtime_story(&runtime_on(sqlite.clone().into()), &tenant, "RT-AAAA-0001").await;
    let on_postgres =
        runtime_story(&runtime_on(pg.app.clone().into()), &tenant, "RT-AAAA-0001").await;
    assert_eq!(on_postgres, on_sqlite);
    // What the batches wrote beside the answers: the same activity and audit rows.
    let activity_sqlite: i64 =
        sqlx::query_scalar("SELECT count(*) FROM activity WHERE account_id = 'acc_rt'")
            .fetch_one(&sqlite)
            .await
            .unwrap();
    let audit_sqlite: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE account_id = 'acc_rt'")
            .fetch_one(&sqlite)
            .await
            .unwrap();
    let mut tx = postgres::begin_for(&pg.app, &tenant).await.unwrap();
    // No tenant filter: the policies keep it to acc_rt's rows.
    let activity_pg: i64 = sqlx::query_scalar("SELECT count(*) FROM activity")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let audit_pg: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!((activity_pg, audit_pg), (activity_sqlite, audit_sqlite));
    assert!(activity_pg > 0 && audit_pg > 0);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn two_runtimes_on_one_postgresql_keep_max_machines_and_max_uses_exact() {
    use licentric_core::ValidationCode;
    use licentric_server::domain::runtime::Activation;
    let pg = fresh().await;
    let dir = tempfile::tempdir().unwrap();
    let (_sqlite, tenant) = story_databases(&pg, &dir, "acc_two").await;
    runtime_seed((&pg.app).into(), &tenant, "RT-TWO-0001", Some(3), Some(10)).await;
    // Two engines with pools of their own: two server processes as far as the database
    // can tell (each its own writer, memory and connections).
    let second = postgres::connect(&pg.app_url, &postgres::PoolSettings::default())
        .await
        .unwrap();
    let runtimes = [runtime_on(pg.app.clone().into()), runtime_on(second.into())];
    let activations = (0..12).map(|i| {
        let runtime = &runtimes[i % 2];
        runtime.activate(Activation {
            tenant: tenant.clone(),
            actor: licentric_server::domain::Actor::system(),
            license_id: "lic_rt".into(),
            fingerprint: format!("fp-racer-{i:04}"),
            name: None,
            platform: None,
        })
    });
    let results = futures_util::future::join_all(activations).await;
    let created = results
        .iter()
        .filter(|r| r.as_ref().is_ok_and(|a| a.created))
        .count();
    let refused = results
        .iter()
        .filter(|r| {
            r.as_ref()
                .is_err_and(|e| e.code() == "machine_limit_exceeded")
        })
        .count();
    assert_eq!((created, refused), (3, 9), "{results:?}");
    let validations =
        (0..24).map(|i| runtimes[i % 2].validate("RT-TWO-0001".into(), None, vec![], anonymous()));
    let codes: Vec<ValidationCode> = futures_util::future::join_all(validations)
        .await
        .into_iter()
        .map(|v| v.unwrap().unwrap().code)
        .collect();
    let valid = codes
        .iter()
        .filter(|c| **c == ValidationCode::Valid)
        .count();
    let exceeded = codes
        .iter()
        .filter(|c| **c == ValidationCode::UsesExceeded)
        .count();
    assert_eq!((valid, exceeded), (10, 14), "{codes:?}");
    let license = licentric_server::db::licenses::get(&pg.app, &tenant, "lic_rt")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((license.uses, license.machines_count), (24, 3));
}
