//! Webhook endpoints and their delivery log.

use chrono::{DateTime, Utc};
use licentric_core::wire::{DeliveryStatus, Webhook, WebhookDelivery};
use sqlx::SqlitePool;

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
    description: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Row {
    fn into_wire(self) -> anyhow::Result<Webhook> {
        Ok(Webhook {
            events: serde_json::from_str(&self.events)?,
            id: self.id,
            url: self.url,
            enabled: self.enabled,
            description: self.description,
            secret: None,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

const COLUMNS: &str = "id, url, events, enabled, description, created_at, updated_at";

/// Inserts an endpoint with its signing secret.
pub async fn insert(
    db: &SqlitePool,
    tenant: &Tenant,
    webhook: &Webhook,
    secret: &str,
) -> anyhow::Result<()> {
    sqlx::query(&format!("INSERT INTO webhooks (account_id, environment, secret, {COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"))
        .bind(&tenant.account_id)
        .bind(tenant.environment.as_str())
        .bind(secret)
        .bind(&webhook.id)
        .bind(&webhook.url)
        .bind(serde_json::to_string(&webhook.events)?)
        .bind(webhook.enabled)
        .bind(&webhook.description)
        .bind(webhook.created_at)
        .bind(webhook.updated_at)
        .execute(db)
        .await?;
    Ok(())
}

/// The tenant's endpoint with this id.
pub async fn get(db: &SqlitePool, tenant: &Tenant, id: &str) -> anyhow::Result<Option<Webhook>> {
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
    page: &Page,
) -> anyhow::Result<(Vec<Webhook>, u32)> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhooks WHERE account_id = ? AND environment = ? ORDER BY {} LIMIT ? OFFSET ?",
        page.order_by
    ))
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(db)
    .await?;
    let total = sqlx::query_scalar(
        "SELECT count(*) FROM webhooks WHERE account_id = ? AND environment = ?",
    )
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .fetch_one(db)
    .await?;
    Ok((
        rows.into_iter()
            .map(Row::into_wire)
            .collect::<anyhow::Result<_>>()?,
        total,
    ))
}

/// Saves a changed endpoint.
pub async fn update(db: &SqlitePool, tenant: &Tenant, webhook: &Webhook) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE webhooks SET url = ?, events = ?, enabled = ?, description = ?, updated_at = ?
         WHERE id = ? AND account_id = ? AND environment = ?",
    )
    .bind(&webhook.url)
    .bind(serde_json::to_string(&webhook.events)?)
    .bind(webhook.enabled)
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
pub async fn subscribers(
    db: &SqlitePool,
    tenant: &Tenant,
    event: &str,
) -> anyhow::Result<Vec<String>> {
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
        "SELECT d.id, d.event, d.payload, d.attempts, w.url, w.secret
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
    let status = match status {
        DeliveryStatus::Pending => "pending",
        DeliveryStatus::Succeeded => "succeeded",
        DeliveryStatus::Failed => "failed",
    };
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

/// One page of an endpoint's delivery log, and how many entries it has.
pub async fn deliveries(
    db: &SqlitePool,
    webhook_id: &str,
    page: &Page,
) -> super::Result<(Vec<WebhookDelivery>, u32)> {
    let rows: Vec<DeliveryRow> = sqlx::query_as(&format!(
        "SELECT id, webhook_id, event_id, event, status, attempts, last_status_code, last_error, next_attempt_at,
                created_at, delivered_at
         FROM webhook_deliveries WHERE webhook_id = ? ORDER BY {} LIMIT ? OFFSET ?",
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
    let data = rows
        .into_iter()
        .map(|r| WebhookDelivery {
            status: match r.status.as_str() {
                "succeeded" => DeliveryStatus::Succeeded,
                "failed" => DeliveryStatus::Failed,
                _ => DeliveryStatus::Pending,
            },
            id: r.id,
            webhook_id: r.webhook_id,
            event_id: r.event_id,
            event: r.event,
            attempts: r.attempts,
            last_status_code: r.last_status_code,
            last_error: r.last_error,
            next_attempt_at: r.next_attempt_at,
            created_at: r.created_at,
            delivered_at: r.delivered_at,
        })
        .collect();
    Ok((data, total))
}
