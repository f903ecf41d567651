//! The runtime writer's memory on PostgreSQL (migration 0010): kept from batch to batch
//! while nothing it is made of changes, forgotten at the first batch after any process
//! commits such a change.

use super::*;
use licentric_core::{LicenseStatus, ValidationCode};

async fn generation(pool: &PgPool, tenant: &Tenant) -> i64 {
    let mut tx = postgres::begin_for(pool, tenant).await.unwrap();
    let value: i64 = sqlx::query_scalar("SELECT licentric_runtime_generation()")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    value
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run inside pg_virtualenv (see scripts/test)"]
async fn a_change_committed_by_another_process_is_seen_by_the_next_validation() {
    let pg = fresh().await;
    let dir = tempfile::tempdir().unwrap();
    let (_sqlite, tenant) = story_databases(&pg, &dir, "acc_seen").await;
    runtime_seed((&pg.app).into(), &tenant, "RT-SEEN-0001", None, None).await;
    // The runtime of one server process, and the pool of another that changes the license.
    let runtime = runtime_on(pg.app.clone().into());
    let other = postgres::connect(&pg.app_url, &postgres::PoolSettings::default())
        .await
        .unwrap();
    let code = || async {
        runtime
            .validate("RT-SEEN-0001".into(), None, vec![], anonymous())
            .await
            .unwrap()
            .unwrap()
            .code
    };

    assert_eq!(code().await, ValidationCode::Valid);
    // Validations count uses, which the runtime does not keep: the generation stays, so the
    // next batches answer from memory.
    let kept = generation(&pg.app, &tenant).await;
    assert_eq!(code().await, ValidationCode::Valid);
    assert_eq!(code().await, ValidationCode::Valid);
    assert_eq!(generation(&pg.app, &tenant).await, kept);

    // Another process suspends, reinstates and revokes: each is the very next answer.
    let mut status = LicenseStatus::Active;
    for (next, expected) in [
        (LicenseStatus::Suspended, ValidationCode::Suspended),
        (LicenseStatus::Active, ValidationCode::Valid),
        (LicenseStatus::Revoked, ValidationCode::Revoked),
    ] {
        let before = licentric_server::db::licenses::get(&other, &tenant, "lic_rt")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(before.status, status);
        let after = licentric_server::db::licenses::LicenseRecord {
            status: next,
            ..before.clone()
        };
        assert!(licentric_server::db::licenses::update(
            &other,
            &before,
            &after,
            story_time()
        )
        .await
        .unwrap());
        assert!(generation(&pg.app, &tenant).await > kept);
        assert_eq!(code().await, expected, "after {next:?} by another process");
        status = next;
    }
}
