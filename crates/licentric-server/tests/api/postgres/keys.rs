//! Parity: API keys and signing keys.

use super::*;

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
        let at = story_time() + chrono::Duration::seconds(i64::try_from(i).unwrap());
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
    let used = story_time() + chrono::Duration::hours(1);
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
    let Story {
        pg,
        sqlite,
        tenant,
        _dir,
    } = story(live("acc_story")).await;
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
    assert!(!api_keys::revoke(&pg.app, &a(), "key_b", story_time())
        .await
        .unwrap());
    // A touch for the wrong tenant changes nothing.
    api_keys::touch(&pg.app, &a(), "key_b", story_time(), story_time())
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
        signing_keys::insert_if_none_active(db, &row("kid_1", story_time()))
            .await
            .unwrap(),
        signing_keys::insert_if_none_active(db, &row("kid_2", story_time()))
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
    let later = story_time() + chrono::Duration::days(1);
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
    let Story {
        pg,
        sqlite,
        tenant,
        _dir,
    } = story(live("acc_story")).await;
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
