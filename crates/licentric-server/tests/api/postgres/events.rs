//! Parity: the audit trail, the activity log and analytics, webhooks and deliveries.

use super::*;

/// Long before any test runs: the audit story's events, older than the seeded ones.
fn old() -> chrono::DateTime<chrono::Utc> {
    story_time() - chrono::Duration::days(3650)
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
    let Story {
        pg,
        sqlite,
        tenant,
        _dir,
    } = story(live("acc_story")).await;
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
        occurred_at: story_time(),
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
    let day = |n: i64| story_time() + chrono::Duration::days(n);
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
            analytics::policy_use(db, tenant, product, story_time())
                .await
                .unwrap()
                .into_iter()
                .map(|p| format!(
                    "{} {} {} {:?} {} {}",
                    p.id, p.name, p.floating, p.max_machines, p.active_licenses, p.machines_used
                ))
                .collect::<Vec<_>>(),
            analytics::expiring(
                db,
                tenant,
                product,
                story_time(),
                [day(7), day(30), day(90)]
            )
            .await
            .unwrap()
        ));
    }
    said.push(format!(
        "usage: {:?}",
        activity::product_usage(db, tenant, story_time())
            .await
            .unwrap()
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
    let Story {
        pg,
        sqlite,
        tenant,
        _dir,
    } = story(live("acc_story")).await;
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
        created_at: story_time() + chrono::Duration::seconds(i),
        updated_at: story_time() + chrono::Duration::seconds(i),
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
        webhooks::queue(db, &delivery, story_time()).await.unwrap();
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
        due(story_time() - chrono::Duration::seconds(1)).await
    ));
    let mut due_now = due(story_time()).await;
    due_now.sort();
    said.push(format!("due now: {due_now:?}"));
    // d_1 succeeds; d_2 fails and is retried later; d_3's endpoint is disabled.
    let later = story_time() + chrono::Duration::minutes(1);
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
    let Story {
        pg,
        sqlite,
        tenant,
        _dir,
    } = story(live("acc_story")).await;
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
        webhooks::disable(&pg.app, &a(), "wh_b", "x", story_time())
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
