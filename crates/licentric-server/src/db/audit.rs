//! The audit trail: one row per event worth answering "who did this, and when?" for.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::SqlitePool;

/// One event to record.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Who did it: `api_key`, `license`, `system` or `address` (an unauthenticated client).
    pub actor_type: &'static str,
    /// The actor's id (for `address`, the client address).
    pub actor_id: Option<&'a str>,
    /// What was done, e.g. `auth.locked_out`.
    pub action: &'static str,
    /// The client address the request came from.
    pub client_address: Option<&'a str>,
    /// Facts about the event; never a secret.
    pub details: Option<Value>,
}

/// Records a server-wide event (one of no account).
pub async fn record_server_event(db: &SqlitePool, event: &NewEvent<'_>) -> super::Result<()> {
    sqlx::query(
        "INSERT INTO audit_events (occurred_at, actor_type, actor_id, action, client_address, details)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(event.occurred_at)
    .bind(event.actor_type)
    .bind(event.actor_id)
    .bind(event.action)
    .bind(event.client_address)
    .bind(event.details.as_ref().map(Value::to_string))
    .execute(db)
    .await?;
    Ok(())
}
