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
    assert!(out.contains("schema is at version 1"), "{out}");
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
    // Not served yet, and said so before anything is touched.
    let (ok, out) = run(&["serve", "--database-url", &pg.app_url]);
    assert!(
        !ok && out.contains("PostgreSQL is not supported by `serve`"),
        "{out}"
    );
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
