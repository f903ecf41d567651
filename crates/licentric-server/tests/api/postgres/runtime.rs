//! The runtime's batches (validations, activations, heartbeats) on both databases, and
//! two engines on one PostgreSQL.

use super::*;

/// A product, a policy with these limits and a license `lic_rt` with key `RT-…` of it,
/// through the storage layer (either database).
async fn runtime_seed(
    db: DbRef<'_>,
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
        licentric_server::domain::runtime::WalLimit::default(),
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
    let Story {
        pg,
        sqlite,
        tenant,
        _dir,
    } = story(live("acc_rt")).await;
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
    let Story {
        pg,
        sqlite: _sqlite,
        tenant,
        ..
    } = story(live("acc_two")).await;
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

/// The generation the runtime's memory is checked against (migration 0010): the sum of
/// every tenant's row, read as the runtime reads it.
async fn summed_generation(pool: &PgPool, tenant: &Tenant) -> i64 {
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
    use licentric_core::{LicenseStatus, ValidationCode};
    let story = story(live("acc_seen")).await;
    let (pg, tenant) = (&story.pg, &story.tenant);
    runtime_seed((&pg.app).into(), tenant, "RT-SEEN-0001", None, None).await;
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
    let kept = summed_generation(&pg.app, tenant).await;
    assert_eq!(code().await, ValidationCode::Valid);
    assert_eq!(code().await, ValidationCode::Valid);
    assert_eq!(summed_generation(&pg.app, tenant).await, kept);

    // Another process suspends, reinstates and revokes: each is the very next answer.
    let mut status = LicenseStatus::Active;
    for (next, expected) in [
        (LicenseStatus::Suspended, ValidationCode::Suspended),
        (LicenseStatus::Active, ValidationCode::Valid),
        (LicenseStatus::Revoked, ValidationCode::Revoked),
    ] {
        let before = licentric_server::db::licenses::get(&other, tenant, "lic_rt")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(before.status, status);
        let after = licentric_server::db::licenses::LicenseRecord {
            status: next,
            ..before.clone()
        };
        assert!(
            licentric_server::db::licenses::update(&other, &before, &after, story_time())
                .await
                .unwrap()
        );
        assert!(summed_generation(&pg.app, tenant).await > kept);
        assert_eq!(code().await, expected, "after {next:?} by another process");
        status = next;
    }
}

/// The first backend of this database (other than `not`) waiting for a row lock.
async fn backend_waiting_for_a_lock(admin: &PgPool, not: Option<i32>) -> i32 {
    for _ in 0..500 {
        let waiting: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock'
                AND pid IS DISTINCT FROM $1
              LIMIT 1",
        )
        .bind(not)
        .fetch_optional(admin)
        .await
        .unwrap();
        if let Some(pid) = waiting {
            return pid;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no backend waited for the license's row within 10 s");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run inside pg_virtualenv (see scripts/test)"]
async fn a_batch_whose_connection_is_ended_before_its_commit_runs_again_on_another() {
    use licentric_server::domain::runtime::Activation;
    let story = story(live("acc_lost")).await;
    let (pg, tenant) = (&story.pg, &story.tenant);
    runtime_seed((&pg.app).into(), tenant, "RT-LOST-0001", Some(10), None).await;
    let runtime = runtime_on(pg.app.clone().into());
    // Another process holds the license's row, so the batch's activations wait for it
    // inside their transaction, where an administrator ends the batch's backend.
    let mut holder = postgres::begin_for(&pg.app, tenant).await.unwrap();
    sqlx::query("SELECT 1 FROM licenses WHERE id = 'lic_rt' FOR UPDATE")
        .execute(&mut *holder)
        .await
        .unwrap();
    let activations = futures_util::future::join_all((0..4).map(|i| {
        runtime.activate(Activation {
            tenant: tenant.clone(),
            actor: licentric_server::domain::Actor::system(),
            license_id: "lic_rt".into(),
            fingerprint: format!("fp-lost-{i:04}"),
            name: None,
            platform: None,
        })
    }));
    let administrator = async {
        let ended = backend_waiting_for_a_lock(&pg.admin, None).await;
        let done: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
            .bind(ended)
            .fetch_one(&pg.admin)
            .await
            .unwrap();
        assert!(done);
        // The batch again, on another connection, waiting for the row in turn.
        let again = backend_waiting_for_a_lock(&pg.admin, Some(ended)).await;
        holder.commit().await.unwrap();
        (ended, again)
    };
    let (results, (ended, again)) = tokio::join!(activations, administrator);
    assert_ne!(ended, again);
    // Every activation answered (none 503), each machine once.
    let created = results
        .iter()
        .filter(|r| r.as_ref().is_ok_and(|a| a.created))
        .count();
    assert_eq!(created, 4, "{results:?}");
    let license = licentric_server::db::licenses::get(&pg.app, tenant, "lic_rt")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(license.machines_count, 4);
}
