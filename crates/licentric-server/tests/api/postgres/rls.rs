//! Row-level security at the database level, as the server's runtime role.

use super::*;

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
        if OWNER_READS.contains(&table.as_str()) {
            continue;
        }
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
        "licentric.generation",
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
        "runtime_generation",
        "license_search",
        "machine_search",
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
        "licentric_runtime_generation()",
        "licentric_search_licenses(text, text)",
        "licentric_search_machine_names(text)",
        "licentric_license_search()",
        "licentric_machine_search()",
        "licentric_rebuild_search()",
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
async fn the_search_functions_return_only_the_current_tenants_ids_as_the_rows_are_now() {
    let pg = fresh().await;
    async fn ids(pg: &Pg, tenant: Option<&Tenant>, sql: &str) -> Vec<String> {
        let mut tx = match tenant {
            Some(tenant) => postgres::begin_for(&pg.app, tenant).await.unwrap(),
            None => pg.app.begin().await.unwrap(),
        };
        let mut ids: Vec<String> = sqlx::query_scalar(sql).fetch_all(&mut *tx).await.unwrap();
        tx.rollback().await.unwrap();
        ids.sort();
        ids
    }
    // Every tenant's license holds "@example.com"; each tenant finds its own alone.
    let licenses = "SELECT licentric_search_licenses('%@EXAMPLE.com%', '%@EXAMPLE.com%')";
    assert_eq!(ids(&pg, Some(&a()), licenses).await, ["lic_a"]);
    assert_eq!(ids(&pg, Some(&a_test()), licenses).await, ["lic_at"]);
    assert_eq!(ids(&pg, Some(&b()), licenses).await, ["lic_b"]);
    assert_eq!(ids(&pg, None, licenses).await, Vec::<String>::new());
    // A nameless machine's name is '', which '%' matches, as coalesce(name, '') did.
    let machines = "SELECT licentric_search_machine_names('%')";
    assert_eq!(ids(&pg, Some(&a()), machines).await, ["mach_a"]);
    assert_eq!(ids(&pg, Some(&b()), machines).await, ["mach_b"]);
    assert_eq!(ids(&pg, None, machines).await, Vec::<String>::new());

    // The triggers keep the search text as the rows are: a rename, a new key, a delete.
    let old_key = "SELECT licentric_search_licenses('% key-a %', '% key-a %')";
    assert_eq!(ids(&pg, Some(&a()), old_key).await, ["lic_a"]);
    let mut tx = postgres::begin_for(&pg.app, &a()).await.unwrap();
    sqlx::raw_sql(
        "UPDATE machines SET name = 'Grace''s MacBook' WHERE id = 'mach_a';
         UPDATE licenses SET key = 'NEW-KEY-a', name = 'Hopper' WHERE id = 'lic_a';",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let grace = "SELECT licentric_search_machine_names('%grace''s%')";
    assert_eq!(ids(&pg, Some(&a()), grace).await, ["mach_a"]);
    assert_eq!(ids(&pg, Some(&b()), grace).await, Vec::<String>::new());
    for pattern in ["%newkeya%", "%new-key-a%", "%hopper%"] {
        let sql = format!("SELECT licentric_search_licenses('{pattern}', '{pattern}')");
        assert_eq!(ids(&pg, Some(&a()), &sql).await, ["lic_a"], "{pattern}");
        assert_eq!(
            ids(&pg, Some(&b()), &sql).await,
            Vec::<String>::new(),
            "{pattern}"
        );
    }
    assert_eq!(ids(&pg, Some(&a()), old_key).await, Vec::<String>::new());
    let mut tx = postgres::begin_for(&pg.app, &a()).await.unwrap();
    sqlx::raw_sql("DELETE FROM machines WHERE id = 'mach_a'")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(ids(&pg, Some(&a()), grace).await, Vec::<String>::new());
    // The owner's count of the search tables: one row per license and machine, every
    // tenant's (the migration role reads them all; the runtime role none).
    let (licenses, machines): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM license_search), (SELECT count(*) FROM machine_search)",
    )
    .fetch_one(&pg.owner)
    .await
    .unwrap();
    assert_eq!((licenses, machines), (3, 2));
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
    // The search tables: the runtime role may only SELECT them, and sees nothing there.
    let tables: Vec<String> = tables
        .into_iter()
        .filter(|t| !UNTENANTED.contains(&t.as_str()))
        .collect();
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
