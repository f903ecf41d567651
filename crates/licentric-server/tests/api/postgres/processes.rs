//! Two processes' worth of engines on one PostgreSQL: leased deliveries and shared rate
//! limits.

use super::*;

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
    queue_deliveries(&one, "lease", 1, story_time()).await;
    let minute = chrono::Duration::minutes(1);
    let ids = |due: Vec<webhooks::DueDelivery>| -> Vec<String> {
        due.into_iter().map(|d| d.id).collect()
    };
    // One leases it; the other, a moment later, finds nothing to do.
    let leased = webhooks::lease(&one, story_time(), 10, minute, "one")
        .await
        .unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!(leased[0].tenant(), b());
    assert_eq!(leased[0].url, "https://example.com/b");
    let at = story_time() + chrono::Duration::seconds(30);
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
    let after = story_time() + minute + chrono::Duration::seconds(1);
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
            rate_limits::take(&pool, key, 10, minute, story_time())
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
    let later = story_time() + chrono::Duration::seconds(6);
    let take = rate_limits::take(&two, key, 10, minute, later)
        .await
        .unwrap();
    assert!(take.allowed && take.tokens < 1.0, "{take:?}");
    let take = rate_limits::take(&pg.app, key, 10, minute, later)
        .await
        .unwrap();
    assert!(!take.allowed, "{take:?}");
    // A clock behind the last use refills nothing.
    let take = rate_limits::take(&pg.app, key, 10, minute, story_time())
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
