//! Webhook endpoints and their delivery log, on SQLite and PostgreSQL.
//!
//! On PostgreSQL several server processes share the queue: a delivery is leased by one
//! process ([`lease`], `FOR UPDATE SKIP LOCKED` in the `licentric_lease_deliveries`
//! function) and taken over by another only when its lease runs out; recording the
//! attempt ends the lease.

use chrono::{DateTime, Utc};
use licentric_core::wire::{DeliveryStatus, Webhook, WebhookDelivery};

use licentric_core::Environment;

use crate::{params::Page, tenant::Tenant};

use super::{postgres, run, DbRef, DbTx, Scope, Search};

/// Sortable fields of a webhook list.
pub const SORTABLE: &[(&str, &str)] = &[
    ("createdAt", "created_at"),
    ("updatedAt", "updated_at"),
    ("url", "url"),
];
/// Sortable fields of a delivery list.
pub const DELIVERY_SORTABLE: &[(&str, &str)] = &[("createdAt", "created_at"), ("status", "status")];

/// How long a process holds the deliveries it leased (PostgreSQL) before another may
/// take them over: longer than a round of attempts takes (50 deliveries, each bounded by
/// the delivery time-out), so a live process is never overtaken, and short enough that a
/// dead one's deliveries wait minutes, not hours.
pub const DELIVERY_LEASE: chrono::Duration = chrono::Duration::minutes(10);

#[derive(Debug, sqlx::FromRow)]
struct Row {
    id: String,
    url: String,
    events: String,
    enabled: bool,
    disabled_reason: Option<String>,
    disabled_at: Option<DateTime<Utc>>,
    description: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Row {
    fn into_wire(self) -> super::Result<Webhook> {
        Ok(Webhook {
            events: serde_json::from_str(&self.events)?,
            id: self.id,
            url: self.url,
            enabled: self.enabled,
            disabled_reason: self.disabled_reason,
            disabled_at: self.disabled_at,
            description: self.description,
            secret: None,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

const COLUMNS: &str =
    "id, url, events, enabled, disabled_reason, disabled_at, description, created_at, updated_at";

/// Inserts an endpoint with its signing secret.
pub async fn insert(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    webhook: &Webhook,
    secret: &str,
) -> super::Result<()> {
    let events = serde_json::to_string(&webhook.events)?;
    run!(
        db.into(),
        tenant,
        query(
            &format!(
                "INSERT INTO webhooks (account_id, environment, secret, {COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            ),
            &tenant.account_id,
            tenant.environment.as_str(),
            secret,
            &webhook.id,
            &webhook.url,
            &events,
            webhook.enabled,
            &webhook.disabled_reason,
            webhook.disabled_at,
            &webhook.description,
            webhook.created_at,
            webhook.updated_at,
        )
        .execute
    )?;
    Ok(())
}

/// The tenant's endpoint with this id.
pub async fn get(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    id: &str,
) -> super::Result<Option<Webhook>> {
    let row: Option<Row> = run!(
        db.into(),
        tenant,
        query_as(
            &format!(
                "SELECT {COLUMNS} FROM webhooks WHERE id = $1 AND account_id = $2 AND environment = $3"
            ),
            id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .fetch_optional
    )?;
    row.map(Row::into_wire).transpose()
}

/// One page of the tenant's endpoints, and how many there are.
pub async fn list(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    q: Option<&str>,
    page: &Page,
) -> super::Result<(Vec<Webhook>, u32)> {
    let search = Search {
        table: "webhooks",
        columns: COLUMNS,
        searched: &["url", "coalesce(description, '')"],
    };
    let (rows, total): (Vec<Row>, u32) = super::search_page(db, tenant, search, q, page).await?;
    Ok((
        rows.into_iter()
            .map(Row::into_wire)
            .collect::<super::Result<_>>()?,
        total,
    ))
}

/// Saves a changed endpoint. Enabling a disabled endpoint also forgets its run of failed
/// deliveries, so the next failure starts a new one instead of disabling it again at once.
pub async fn update(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    webhook: &Webhook,
) -> super::Result<()> {
    let events = serde_json::to_string(&webhook.events)?;
    run!(
        db.into(),
        tenant,
        query(
            "UPDATE webhooks SET url = $1, events = $2,
                failing_since = CASE WHEN NOT enabled AND $3 THEN NULL ELSE failing_since END,
                enabled = $3, disabled_reason = $4, disabled_at = $5, description = $6, updated_at = $7
             WHERE id = $8 AND account_id = $9 AND environment = $10",
            &webhook.url,
            &events,
            webhook.enabled,
            &webhook.disabled_reason,
            webhook.disabled_at,
            &webhook.description,
            webhook.updated_at,
            &webhook.id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .execute
    )?;
    Ok(())
}

/// Replaces an endpoint's signing secret. On SQLite the old one is also cleared from the
/// database file and its write-ahead log; PostgreSQL's old row versions are its own to
/// vacuum.
pub async fn set_secret(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    id: &str,
    secret: &str,
    now: DateTime<Utc>,
) -> super::Result<bool> {
    let db = db.into();
    let done = run!(
        db,
        tenant,
        query(
            "UPDATE webhooks SET secret = $1, updated_at = $2
              WHERE id = $3 AND account_id = $4 AND environment = $5",
            secret,
            now,
            id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .execute
    )?;
    if let (DbRef::Sqlite(pool), 1) = (db, done) {
        super::forget_overwritten(pool).await;
    }
    Ok(done == 1)
}

/// Deletes an endpoint and its delivery log.
pub async fn delete(db: impl Into<DbRef<'_>>, tenant: &Tenant, id: &str) -> super::Result<bool> {
    let done = run!(
        db.into(),
        tenant,
        query(
            "DELETE FROM webhooks WHERE id = $1 AND account_id = $2 AND environment = $3",
            id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .execute
    )?;
    Ok(done == 1)
}

/// The ids of the tenant's enabled endpoints that subscribe to `event`, through a pool or
/// inside the caller's transaction.
pub async fn subscribers(
    db: impl Into<DbTx<'_>>,
    tenant: &Tenant,
    event: &str,
) -> super::Result<Vec<String>> {
    let rows: Vec<(String, String)> = run!(
        db.into(),
        tenant,
        query_as(
            "SELECT id, events FROM webhooks WHERE account_id = $1 AND environment = $2 AND enabled",
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .fetch_all
    )?;
    let mut ids = Vec::new();
    for (id, events) in rows {
        let events: Vec<String> = serde_json::from_str(&events)?;
        if events.iter().any(|e| e == "*" || e == event) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// A delivery to queue.
#[derive(Debug)]
pub struct NewDelivery<'a> {
    /// The delivery's id.
    pub id: &'a str,
    /// The owning tenant (its endpoint's).
    pub tenant: &'a Tenant,
    /// The endpoint.
    pub webhook_id: &'a str,
    /// The event's id.
    pub event_id: &'a str,
    /// The event type.
    pub event: &'a str,
    /// The exact body to send.
    pub payload: &'a str,
}

/// Queues a delivery, due now.
pub async fn queue(
    db: impl Into<DbRef<'_>>,
    delivery: &NewDelivery<'_>,
    now: DateTime<Utc>,
) -> super::Result<()> {
    run!(
        db.into(),
        delivery.tenant,
        query(
            "INSERT INTO webhook_deliveries (id, account_id, webhook_id, event_id, event, payload, status, next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7)",
            delivery.id,
            &delivery.tenant.account_id,
            delivery.webhook_id,
            delivery.event_id,
            delivery.event,
            delivery.payload,
            now,
        )
        .execute
    )?;
    Ok(())
}

/// A delivery due for an attempt, with where and how to send it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueDelivery {
    /// The delivery's id.
    pub id: String,
    /// The owning account.
    pub account_id: String,
    /// Live or test (the endpoint's).
    #[sqlx(try_from = "String")]
    pub environment: Environment,
    /// The endpoint.
    pub webhook_id: String,
    /// The event type.
    pub event: String,
    /// The body.
    pub payload: String,
    /// Attempts made so far.
    #[sqlx(try_from = "i64")]
    pub attempts: u32,
    /// The endpoint's URL.
    pub url: String,
    /// The endpoint's signing secret.
    pub secret: String,
}

impl DueDelivery {
    /// The tenant the delivery belongs to.
    pub fn tenant(&self) -> Tenant {
        Tenant {
            account_id: self.account_id.clone(),
            environment: self.environment,
        }
    }
}

/// Pending deliveries whose next attempt is due at `now`: on PostgreSQL leased to this
/// process for [`DELIVERY_LEASE`] (see [`lease`]).
pub async fn due(
    db: impl Into<DbRef<'_>>,
    now: DateTime<Utc>,
    limit: u32,
) -> super::Result<Vec<DueDelivery>> {
    let process = format!("pid {}", std::process::id());
    lease(db, now, limit, DELIVERY_LEASE, &process).await
}

/// Pending deliveries whose next attempt is due at `now`, of enabled endpoints, oldest
/// first. On PostgreSQL each is leased to `by` until `now + lease_for`: no other caller
/// gets it until that time passes (it is then taken over, as its holder is presumed dead)
/// or its attempt is recorded. SQLite has one server process per file and no leases.
pub async fn lease(
    db: impl Into<DbRef<'_>>,
    now: DateTime<Utc>,
    limit: u32,
    lease_for: chrono::Duration,
    by: &str,
) -> super::Result<Vec<DueDelivery>> {
    match db.into() {
        DbRef::Sqlite(db) => sqlx::query_as(
            "SELECT d.id, w.account_id, w.environment, d.webhook_id, d.event, d.payload, d.attempts, w.url, w.secret
             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
             WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND w.enabled = 1
             ORDER BY d.next_attempt_at ASC LIMIT ?",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(db)
        .await
        .map_err(Into::into),
        DbRef::Postgres(db) => sqlx::query_as(
            "SELECT id, account_id, environment, webhook_id, event, payload, attempts, url, secret
             FROM licentric_lease_deliveries($1, $2, $3, $4)",
        )
        .bind(now)
        .bind(now + lease_for)
        .bind(by)
        .bind(i32::try_from(limit).unwrap_or(i32::MAX))
        .fetch_all(db)
        .await
        .map_err(Into::into),
    }
}

fn status_text(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Pending => "pending",
        DeliveryStatus::Succeeded => "succeeded",
        DeliveryStatus::Failed => "failed",
    }
}

/// The outcome of one attempt, as the delivery log records it.
#[derive(Debug, Clone)]
pub struct AttemptRecord<'a> {
    /// Where the delivery stands now.
    pub status: DeliveryStatus,
    /// The HTTP status answered, if any.
    pub status_code: Option<u16>,
    /// The tenant's message for a failure.
    pub error: Option<&'a str>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Logs a delivery whose only attempt was made already (a test): it is never due, so the
/// worker cannot send it a second time.
pub async fn insert_attempted(
    db: impl Into<DbRef<'_>>,
    delivery: &NewDelivery<'_>,
    attempt: &AttemptRecord<'_>,
    now: DateTime<Utc>,
) -> super::Result<()> {
    run!(
        db.into(),
        delivery.tenant,
        query(
            "INSERT INTO webhook_deliveries (id, account_id, webhook_id, event_id, event, payload, status, attempts,
                last_status_code, last_error, next_attempt_at, created_at, delivered_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, NULL, $10, $11)",
            delivery.id,
            &delivery.tenant.account_id,
            delivery.webhook_id,
            delivery.event_id,
            delivery.event,
            delivery.payload,
            status_text(attempt.status),
            attempt.status_code.map(i64::from),
            attempt.error,
            now,
            attempt.delivered_at,
        )
        .execute
    )?;
    Ok(())
}

/// The tenant's endpoint's delivery, as the log shows it.
pub async fn delivery(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    webhook_id: &str,
    id: &str,
) -> super::Result<Option<WebhookDelivery>> {
    let row: Option<DeliveryRow> = run!(
        db.into(),
        tenant,
        query_as(
            &format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 AND id = $2
                   AND {OF_TENANT}"
            ),
            webhook_id,
            id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .fetch_optional
    )?;
    Ok(row.map(DeliveryRow::into_wire))
}

/// A delivery's endpoint is the tenant's (a delivery has an account but no environment of
/// its own); `$3` and `$4` take the account and the environment.
const OF_TENANT: &str =
    "EXISTS (SELECT 1 FROM webhooks w WHERE w.id = webhook_deliveries.webhook_id
       AND w.account_id = $3 AND w.environment = $4)";

/// The exact body the tenant's endpoint's delivery sent (or will send).
pub async fn payload(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    webhook_id: &str,
    id: &str,
) -> super::Result<Option<String>> {
    run!(
        db.into(),
        tenant,
        query_scalar(
            &format!(
                "SELECT payload FROM webhook_deliveries WHERE webhook_id = $1 AND id = $2 AND {OF_TENANT}"
            ),
            webhook_id,
            id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .fetch_optional
    )
}

/// The tenant's endpoint's URL and signing secret.
pub async fn target(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    id: &str,
) -> super::Result<Option<(String, String)>> {
    run!(
        db.into(),
        tenant,
        query_as(
            "SELECT url, secret FROM webhooks WHERE id = $1 AND account_id = $2 AND environment = $3",
            id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .fetch_optional
    )
}

/// Notes a failed attempt to the tenant's endpoint; answers when its unbroken run of
/// failures began.
pub async fn note_failure(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    webhook_id: &str,
    now: DateTime<Utc>,
) -> super::Result<Option<DateTime<Utc>>> {
    run!(
        db.into(),
        tenant,
        query_scalar(
            "UPDATE webhooks SET failing_since = COALESCE(failing_since, $1)
             WHERE id = $2 AND account_id = $3 AND environment = $4 RETURNING failing_since",
            now,
            webhook_id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .fetch_optional
    )
}

/// Notes a successful attempt to the tenant's endpoint: its run of failures, if any, is
/// over.
pub async fn note_success(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    webhook_id: &str,
) -> super::Result<()> {
    run!(
        db.into(),
        tenant,
        query(
            "UPDATE webhooks SET failing_since = NULL
             WHERE id = $1 AND account_id = $2 AND environment = $3 AND failing_since IS NOT NULL",
            webhook_id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .execute
    )?;
    Ok(())
}

/// Disables the tenant's enabled endpoint, saying why; answers its tenant, or `None` when
/// it was disabled already (or is gone).
pub async fn disable(
    db: impl Into<DbTx<'_>>,
    tenant: &Tenant,
    webhook_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> super::Result<Option<Tenant>> {
    let done = run!(
        db.into(),
        tenant,
        query(
            "UPDATE webhooks SET enabled = false, disabled_reason = $1, disabled_at = $2, updated_at = $2
             WHERE id = $3 AND account_id = $4 AND environment = $5 AND enabled",
            reason,
            now,
            webhook_id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .execute
    )?;
    Ok((done == 1).then(|| tenant.clone()))
}

/// Records one attempt's outcome of the tenant's delivery; on PostgreSQL this also ends
/// the delivery's lease.
#[allow(clippy::too_many_arguments)]
pub async fn record_attempt(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    id: &str,
    status: DeliveryStatus,
    attempts: u32,
    status_code: Option<u16>,
    error: Option<&str>,
    next_attempt_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
) -> super::Result<()> {
    let db = db.into();
    // The lease columns exist on PostgreSQL alone (SQLite has one worker per file).
    let end_lease = match db {
        DbRef::Sqlite(_) => "",
        DbRef::Postgres(_) => ", leased_until = NULL, leased_by = NULL",
    };
    run!(
        db,
        tenant,
        query(
            &format!(
                "UPDATE webhook_deliveries SET status = $1, attempts = $2, last_status_code = $3,
                    last_error = $4, next_attempt_at = $5, delivered_at = $6{end_lease}
                 WHERE id = $7 AND account_id = $8"
            ),
            status_text(status),
            i64::from(attempts),
            status_code.map(i64::from),
            error,
            next_attempt_at,
            delivered_at,
            id,
            &tenant.account_id,
        )
        .execute
    )?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
struct DeliveryRow {
    id: String,
    webhook_id: String,
    event_id: String,
    event: String,
    status: String,
    // i64 (not u32 and u16) so that one row type reads both databases: PostgreSQL has no
    // unsigned integers.
    attempts: i64,
    last_status_code: Option<i64>,
    last_error: Option<String>,
    next_attempt_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
}

impl DeliveryRow {
    fn into_wire(self) -> WebhookDelivery {
        WebhookDelivery {
            status: match self.status.as_str() {
                "succeeded" => DeliveryStatus::Succeeded,
                "failed" => DeliveryStatus::Failed,
                _ => DeliveryStatus::Pending,
            },
            id: self.id,
            webhook_id: self.webhook_id,
            event_id: self.event_id,
            event: self.event,
            attempts: postgres::count(self.attempts),
            last_status_code: self.last_status_code.and_then(|c| u16::try_from(c).ok()),
            last_error: self.last_error,
            next_attempt_at: self.next_attempt_at,
            created_at: self.created_at,
            delivered_at: self.delivered_at,
        }
    }
}

const DELIVERY_COLUMNS: &str = "id, webhook_id, event_id, event, status, attempts, last_status_code, last_error, next_attempt_at, created_at, delivered_at";

/// One page of the tenant's endpoint's delivery log, and how many entries it has.
pub async fn deliveries(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    webhook_id: &str,
    page: &Page,
) -> super::Result<(Vec<WebhookDelivery>, u32)> {
    let db = db.into();
    // SQLite breaks ties by rowid; PostgreSQL has none, and sorts NULLs the other way.
    let order = match db {
        DbRef::Sqlite(_) => page.order_by.clone(),
        DbRef::Postgres(_) => postgres::order_by(page),
    };
    let mut scope = Scope::begin(db, tenant).await?;
    let rows: Vec<DeliveryRow> = run!(
        &mut scope,
        tenant,
        query_as(
            &format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 AND account_id = $2
                 ORDER BY {order} LIMIT $3 OFFSET $4"
            ),
            webhook_id,
            &tenant.account_id,
            i64::from(page.limit),
            i64::from(page.offset),
        )
        .fetch_all
    )?;
    let total: i64 = run!(
        &mut scope,
        tenant,
        query_scalar(
            "SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1 AND account_id = $2",
            webhook_id,
            &tenant.account_id,
        )
        .fetch_one
    )?;
    scope.commit().await?;
    Ok((
        rows.into_iter().map(DeliveryRow::into_wire).collect(),
        postgres::count(total),
    ))
}
