//! Parity: products, accounts, entitlements, policies, licenses and machines answer the
//! same through the storage layer on SQLite and on PostgreSQL.

use super::*;

/// Runs the same product operations through the storage layer on `db`, and says what
/// each gave back, so SQLite's and PostgreSQL's answers can be compared.
async fn product_story(db: DbRef<'_>, tenant: &Tenant) -> Vec<String> {
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
    // A tenant of its own on both, with nothing in it yet.
    let Story {
        pg,
        sqlite,
        tenant,
        _dir,
    } = story(live("acc_c")).await;
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
    db: DbRef<'_>,
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
    let Story {
        pg, sqlite, _dir, ..
    } = story(live("acc_story")).await;
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
async fn entitlement_story(db: DbRef<'_>, tenant: &Tenant) -> Vec<String> {
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
    let Story {
        pg,
        sqlite,
        tenant,
        _dir,
    } = story(Tenant {
        account_id: "acc_e".into(),
        environment: Environment::Test,
    })
    .await;
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

async fn license_entitlement_story(db: DbRef<'_>, tenant: &Tenant) -> Vec<String> {
    use licentric_core::wire::Entitlement;
    use licentric_server::db::entitlements;
    seed_licensing(db, tenant).await;
    for code in ["PRO", "API", "EXPORT"] {
        let e = Entitlement {
            id: format!("ent_{code}"),
            code: code.into(),
            name: code.into(),
            created_at: story_time(),
            updated_at: story_time(),
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
    let Story {
        pg,
        sqlite,
        tenant,
        _dir,
    } = story(live("acc_story")).await;
    let on_sqlite = license_entitlement_story((&sqlite).into(), &tenant).await;
    let on_postgres = license_entitlement_story((&pg.app).into(), &tenant).await;
    assert_eq!(on_postgres, on_sqlite);
    // Another tenant's entitlement is not given to the story's license, nor is the
    // story's taken away by another tenant: on SQLite by the tenant filter alone.
    let other = Tenant {
        account_id: "acc_other".into(),
        environment: Environment::Live,
    };
    licentric_server::db::accounts::insert_account(&sqlite, "acc_other", "O", story_time())
        .await
        .unwrap();
    let foreign = licentric_core::wire::Entitlement {
        id: "ent_other".into(),
        code: "OTHER".into(),
        name: "O".into(),
        created_at: story_time(),
        updated_at: story_time(),
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

/// Policy operations through the storage layer, and what each gave back.
async fn policy_story(db: DbRef<'_>, tenant: &Tenant) -> Vec<String> {
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
    let Story {
        pg,
        sqlite,
        tenant,
        _dir,
    } = story(live("acc_p")).await;
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
async fn license_story(db: DbRef<'_>, tenant: &Tenant) -> Vec<String> {
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
    let Story {
        pg,
        sqlite,
        tenant,
        _dir,
    } = story(live("acc_l")).await;
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
