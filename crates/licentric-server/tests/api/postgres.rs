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

/// A fresh database migrated by its owner, with tenants A (live and test) and B seeded
/// through the runtime role.
async fn fresh() -> Pg {
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
    for (tenant, tag) in [(a(), "a"), (a_test(), "at"), (b(), "b")] {
        seed(&app, &tenant, tag).await;
    }
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

/// Which tenant a row of `table` belongs to, as SQL over the row (`r`), written without
/// the policies' help: the link tables by their parent's id, which ends in the tag.
fn owner_of(table: &str) -> &'static str {
    match table {
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
    let pg = fresh().await;
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
