//! Webhook endpoints and their delivery log.

use chrono::{DateTime, Utc};
use licentric_core::wire::{DeliveryStatus, Webhook, WebhookDelivery};
use sqlx::SqlitePool;

use licentric_core::Environment;

use crate::{params::Page, tenant::Tenant};

/// Sortable fields of a webhook list.
pub const SORTABLE: &[(&str, &str)] = &[
    ("createdAt", "created_at"),
    ("updatedAt", "updated_at"),
    ("url", "url"),
];
/// Sortable fields of a delivery list.
pub const DELIVERY_SORTABLE: &[(&str, &str)] = &[("createdAt", "created_at"), ("status", "status")];

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
    db: &SqlitePool,
    tenant: &Tenant,
    webhook: &Webhook,
    secret: &str,
) -> super::Result<()> {
    sqlx::query(&format!("INSERT INTO webhooks (account_id, environment, secret, {COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"))
        .bind(&tenant.account_id)
        .bind(tenant.environment.as_str())
        .bind(secret)
        .bind(&webhook.id)
        .bind(&webhook.url)
        .bind(serde_json::to_string(&webhook.events)?)
        .bind(webhook.enabled)
        .bind(&webhook.disabled_reason)
        .bind(webhook.disabled_at)
        .bind(&webhook.description)
        .bind(webhook.created_at)
        .bind(webhook.updated_at)
        .execute(db)
        .await?;
    Ok(())
}

/// The tenant's endpoint with this id.
pub async fn get(db: &SqlitePool, tenant: &Tenant, id: &str) -> super::Result<Option<Webhook>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhooks WHERE id = ? AND account_id = ? AND environment = ?"
    ))
    .bind(id)
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .fetch_optional(db)
    .await?;
    row.map(Row::into_wire).transpose()
}

/// One page of the tenant's endpoints, and how many there are.
pub async fn list(
    db: &SqlitePool,
    tenant: &Tenant,
    q: Option<&str>,
    page: &Page,
) -> super::Result<(Vec<Webhook>, u32)> {
    let like = q.map(|q| format!("%{}%", q.trim()));
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhooks WHERE account_id = ? AND environment = ? AND (? IS NULL OR (url LIKE ? OR ifnull(description, '') LIKE ?)) ORDER BY {} LIMIT ? OFFSET ?",
        page.order_by
    ))
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(q)
    .bind(&like)
    .bind(&like)
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(db)
    .await?;
    let total = sqlx::query_scalar(
        "SELECT count(*) FROM webhooks WHERE account_id = ? AND environment = ? AND (? IS NULL OR (url LIKE ? OR ifnull(description, '') LIKE ?))",
    )
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(q)
    .bind(&like)
    .bind(&like)
    .fetch_one(db)
    .await?;
    Ok((
        rows.into_iter()
            .map(Row::into_wire)
            .collect::<super::Result<_>>()?,
        total,
    ))
}

/// Saves a changed endpoint. Enabling a disabled endpoint also forgets its run of failed
/// deliveries, so the next failure starts a new one instead of disabling it again at once.
pub async fn update(db: &SqlitePool, tenant: &Tenant, webhook: &Webhook) -> super::Result<()> {
    sqlx::query(
        "UPDATE webhooks SET url = ?, events = ?,
            failing_since = CASE WHEN enabled = 0 AND ? THEN NULL ELSE failing_since END,
            enabled = ?, disabled_reason = ?, disabled_at = ?, description = ?, updated_at = ?
         WHERE id = ? AND account_id = ? AND environment = ?",
    )
    .bind(&webhook.url)
    .bind(serde_json::to_string(&webhook.events)?)
    .bind(webhook.enabled)
    .bind(webhook.enabled)
    .bind(&webhook.disabled_reason)
    .bind(webhook.disabled_at)
    .bind(&webhook.description)
    .bind(webhook.updated_at)
    .bind(&webhook.id)
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .execute(db)
    .await?;
    Ok(())
}

/// Replaces an endpoint's signing secret, and clears the old one from the database file
/// and its write-ahead log.
pub async fn set_secret(
    db: &SqlitePool,
    tenant: &Tenant,
    id: &str,
    secret: &str,
    now: DateTime<Utc>,
) -> super::Result<bool> {
    let done = sqlx::query("UPDATE webhooks SET secret = ?, updated_at = ? WHERE id = ? AND account_id = ? AND environment = ?")
        .bind(secret)
        .bind(now)
        .bind(id)
        .bind(&tenant.account_id)
        .bind(tenant.environment.as_str())
        .execute(db)
        .await?;
    if done.rows_affected() == 1 {
        super::forget_overwritten(db).await;
    }
    Ok(done.rows_affected() == 1)
}

/// Deletes an endpoint and its delivery log.
pub async fn delete(db: &SqlitePool, tenant: &Tenant, id: &str) -> super::Result<bool> {
    let done =
        sqlx::query("DELETE FROM webhooks WHERE id = ? AND account_id = ? AND environment = ?")
            .bind(id)
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .execute(db)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// The ids of the tenant's enabled endpoints that subscribe to `event`.
pub async fn subscribers<'e>(
    db: impl sqlx::SqliteExecutor<'e>,
    tenant: &Tenant,
    event: &str,
) -> super::Result<Vec<String>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, events FROM webhooks WHERE account_id = ? AND environment = ? AND enabled = 1",
    )
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .fetch_all(db)
    .await?;
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
    /// The owning account.
    pub account_id: &'a str,
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
    db: &SqlitePool,
    delivery: &NewDelivery<'_>,
    now: DateTime<Utc>,
) -> super::Result<()> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, account_id, webhook_id, event_id, event, payload, status, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
    )
    .bind(delivery.id)
    .bind(delivery.account_id)
    .bind(delivery.webhook_id)
    .bind(delivery.event_id)
    .bind(delivery.event)
    .bind(delivery.payload)
    .bind(now)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// A delivery due for an attempt, with where and how to send it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueDelivery {
    /// The delivery's id.
    pub id: String,
    /// The endpoint.
    pub webhook_id: String,
    /// The event type.
    pub event: String,
    /// The body.
    pub payload: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// The endpoint's URL.
    pub url: String,
    /// The endpoint's signing secret.
    pub secret: String,
}

/// Pending deliveries whose next attempt is due at `now`.
pub async fn due(
    db: &SqlitePool,
    now: DateTime<Utc>,
    limit: u32,
) -> super::Result<Vec<DueDelivery>> {
    sqlx::query_as(
        "SELECT d.id, d.webhook_id, d.event, d.payload, d.attempts, w.url, w.secret
         FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND w.enabled = 1
         ORDER BY d.next_attempt_at ASC LIMIT ?",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await
    .map_err(Into::into)
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
    db: &SqlitePool,
    delivery: &NewDelivery<'_>,
    attempt: &AttemptRecord<'_>,
    now: DateTime<Utc>,
) -> super::Result<()> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, account_id, webhook_id, event_id, event, payload, status, attempts,
            last_status_code, last_error, next_attempt_at, created_at, delivered_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, NULL, ?, ?)",
    )
    .bind(delivery.id)
    .bind(delivery.account_id)
    .bind(delivery.webhook_id)
    .bind(delivery.event_id)
    .bind(delivery.event)
    .bind(delivery.payload)
    .bind(status_text(attempt.status))
    .bind(attempt.status_code)
    .bind(attempt.error)
    .bind(now)
    .bind(attempt.delivered_at)
    .execute(db)
    .await?;
    Ok(())
}

/// An endpoint's delivery, as the log shows it.
pub async fn delivery(
    db: &SqlitePool,
    webhook_id: &str,
    id: &str,
) -> super::Result<Option<WebhookDelivery>> {
    let row: Option<DeliveryRow> = sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = ? AND id = ?"
    ))
    .bind(webhook_id)
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(DeliveryRow::into_wire))
}

/// The exact body an endpoint's delivery sent (or will send).
pub async fn payload(db: &SqlitePool, webhook_id: &str, id: &str) -> super::Result<Option<String>> {
    sqlx::query_scalar("SELECT payload FROM webhook_deliveries WHERE webhook_id = ? AND id = ?")
        .bind(webhook_id)
        .bind(id)
        .fetch_optional(db)
        .await
        .map_err(Into::into)
}

/// The tenant's endpoint's URL and signing secret.
pub async fn target(
    db: &SqlitePool,
    tenant: &Tenant,
    id: &str,
) -> super::Result<Option<(String, String)>> {
    sqlx::query_as(
        "SELECT url, secret FROM webhooks WHERE id = ? AND account_id = ? AND environment = ?",
    )
    .bind(id)
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .fetch_optional(db)
    .await
    .map_err(Into::into)
}

/// Notes a failed attempt to the endpoint; answers when its unbroken run of failures began.
pub async fn note_failure(
    db: &SqlitePool,
    webhook_id: &str,
    now: DateTime<Utc>,
) -> super::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar(
        "UPDATE webhooks SET failing_since = COALESCE(failing_since, ?) WHERE id = ? RETURNING failing_since",
    )
    .bind(now)
    .bind(webhook_id)
    .fetch_optional(db)
    .await
    .map_err(Into::into)
}

/// Notes a successful attempt to the endpoint: its run of failures, if any, is over.
pub async fn note_success(db: &SqlitePool, webhook_id: &str) -> super::Result<()> {
    sqlx::query(
        "UPDATE webhooks SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL",
    )
    .bind(webhook_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Disables an enabled endpoint, saying why; answers its tenant, or `None` when it was
/// disabled already (or is gone).
pub async fn disable(
    db: &SqlitePool,
    webhook_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> super::Result<Option<Tenant>> {
    let owner: Option<(String, String)> = sqlx::query_as(
        "UPDATE webhooks SET enabled = 0, disabled_reason = ?, disabled_at = ?, updated_at = ?
         WHERE id = ? AND enabled = 1 RETURNING account_id, environment",
    )
    .bind(reason)
    .bind(now)
    .bind(now)
    .bind(webhook_id)
    .fetch_optional(db)
    .await?;
    owner
        .map(|(account_id, environment)| {
            Ok(Tenant {
                account_id,
                environment: environment.parse::<Environment>()?,
            })
        })
        .transpose()
}

/// Records one attempt's outcome.
#[allow(clippy::too_many_arguments)]
pub async fn record_attempt(
    db: &SqlitePool,
    id: &str,
    status: DeliveryStatus,
    attempts: u32,
    status_code: Option<u16>,
    error: Option<&str>,
    next_attempt_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
) -> super::Result<()> {
    let status = status_text(status);
    sqlx::query(
        "UPDATE webhook_deliveries SET status = ?, attempts = ?, last_status_code = ?, last_error = ?,
            next_attempt_at = ?, delivered_at = ? WHERE id = ?",
    )
    .bind(status)
    .bind(attempts)
    .bind(status_code)
    .bind(error)
    .bind(next_attempt_at)
    .bind(delivered_at)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
struct DeliveryRow {
    id: String,
    webhook_id: String,
    event_id: String,
    event: String,
    status: String,
    attempts: u32,
    last_status_code: Option<u16>,
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
            attempts: self.attempts,
            last_status_code: self.last_status_code,
            last_error: self.last_error,
            next_attempt_at: self.next_attempt_at,
            created_at: self.created_at,
            delivered_at: self.delivered_at,
        }
    }
}

const DELIVERY_COLUMNS: &str = "id, webhook_id, event_id, event, status, attempts, last_status_code, last_error, next_attempt_at, created_at, delivered_at";

/// One page of an endpoint's delivery log, and how many entries it has.
pub async fn deliveries(
    db: &SqlitePool,
    webhook_id: &str,
    page: &Page,
) -> super::Result<(Vec<WebhookDelivery>, u32)> {
    let rows: Vec<DeliveryRow> = sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = ? ORDER BY {} LIMIT ? OFFSET ?",
        page.order_by
    ))
    .bind(webhook_id)
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(db)
    .await?;
    let total = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = ?")
        .bind(webhook_id)
        .fetch_one(db)
        .await?;
    Ok((
        rows.into_iter().map(DeliveryRow::into_wire).collect(),
        total,
    ))
}
