//! Events: what happened to licenses and machines, queued for every webhook endpoint that
//! subscribes to it, and written to the activity log behind analytics.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::{db, tenant::Tenant, ApiError, AppState};

/// Every event type a webhook endpoint can subscribe to (or `*` for all).
pub const EVENT_TYPES: &[&str] = &[
    "license.created",
    "license.updated",
    "license.deleted",
    "license.suspended",
    "license.reinstated",
    "license.revoked",
    "license.banned",
    "license.renewed",
    "license.validated",
    "machine.activated",
    "machine.deactivated",
    "machine.culled",
    "machine.heartbeat",
];

/// A new event's id and the body every delivery of it sends:
/// `{"id", "type", "createdAt", "environment", "data"}`.
pub fn envelope(
    tenant: &Tenant,
    event: &str,
    now: chrono::DateTime<chrono::Utc>,
    data: Value,
) -> (String, String) {
    let event_id = format!("evt_{}", Uuid::new_v4().simple());
    let payload = json!({
        "id": event_id,
        "type": event,
        "createdAt": now,
        "environment": tenant.environment.as_str(),
        "data": data,
    })
    .to_string();
    (event_id, payload)
}

/// Queues `event` with `data` for the tenant's subscribed endpoints and wakes the worker.
///
/// The body is fixed here, once, so every retry sends (and signs) the same bytes:
/// `{"id", "type", "createdAt", "environment", "data"}`.
pub async fn emit(
    state: &AppState,
    tenant: &Tenant,
    event: &str,
    data: Value,
) -> Result<(), ApiError> {
    debug_assert!(EVENT_TYPES.contains(&event), "unknown event {event}");
    let subscribers = db::webhooks::subscribers(state.db.sqlite()?, tenant, event).await?;
    if subscribers.is_empty() {
        return Ok(());
    }
    let now = state.clock.now();
    let (event_id, payload) = envelope(tenant, event, now, data);
    for webhook_id in subscribers {
        let id = Uuid::new_v4().to_string();
        db::webhooks::queue(
            state.db.sqlite()?,
            &db::webhooks::NewDelivery {
                id: &id,
                account_id: &tenant.account_id,
                webhook_id: &webhook_id,
                event_id: &event_id,
                event,
                payload: &payload,
            },
            now,
        )
        .await?;
    }
    state.deliveries.notify_one();
    Ok(())
}
