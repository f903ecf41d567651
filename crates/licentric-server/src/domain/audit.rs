//! The audit trail: who did what to which record, when, from where, and what changed.
//!
//! Events are recorded by the domain functions that make the change, with the [`Actor`]
//! the handler hands them. Secrets never enter an event: [`changes`] drops every field
//! that could hold one (license keys, webhook secrets, API keys, tokens).

use std::net::IpAddr;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::{db, tenant::Tenant, ApiError, AppState};

/// What kind of party acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// An API key (management).
    ApiKey,
    /// A license key (a license's own machines).
    License,
    /// Nobody authenticated: `validate-key`.
    Anonymous,
    /// The server itself (culling, pruning, disabling a failing endpoint).
    System,
}

impl ActorKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api_key",
            Self::License => "license",
            Self::Anonymous => "anonymous",
            Self::System => "system",
        }
    }
}

/// Who acts in a request, and the request's own marks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// What kind of party.
    pub kind: ActorKind,
    /// The API key's or license's id.
    pub id: Option<String>,
    /// The API key's name.
    pub name: Option<String>,
    /// The client's address.
    pub client_address: Option<IpAddr>,
    /// The request's `X-Request-Id`.
    pub request_id: Option<String>,
}

impl Actor {
    /// The server itself, outside any request.
    pub fn system() -> Self {
        Self {
            kind: ActorKind::System,
            id: None,
            name: None,
            client_address: None,
            request_id: None,
        }
    }
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// What was done, e.g. `license.suspended`.
    pub action: &'a str,
    /// The kind of record, e.g. `license`.
    pub resource_type: &'a str,
    /// Its id.
    pub resource_id: &'a str,
    /// For updates, `{field: {"before", "after"}}`; other facts otherwise. No secrets.
    pub changes: Option<Value>,
}

/// Records `event` by `actor` in `tenant`'s audit trail.
pub async fn record(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    event: Event<'_>,
) -> Result<(), ApiError> {
    record_in(&state.db, state.clock.now(), tenant, actor, &event).await
}

/// Records `event` through `db` (a pool, or a transaction that writes many at once).
pub async fn record_in(
    db: impl Into<db::DbTx<'_>>,
    now: chrono::DateTime<chrono::Utc>,
    tenant: &Tenant,
    actor: &Actor,
    event: &Event<'_>,
) -> Result<(), ApiError> {
    let address = actor.client_address.map(|a| a.to_string());
    db::audit::insert(
        db,
        &db::audit::NewEvent {
            account_id: Some(&tenant.account_id),
            environment: Some(tenant.environment),
            occurred_at: now,
            actor_type: actor.kind.as_str(),
            actor_id: actor.id.as_deref(),
            actor_name: actor.name.as_deref(),
            action: event.action,
            resource_type: Some(event.resource_type),
            resource_id: Some(event.resource_id),
            client_address: address.as_deref(),
            request_id: actor.request_id.as_deref(),
            changes: event.changes.as_ref(),
        },
    )
    .await?;
    Ok(())
}

/// Records a management write of a record: its fields when created or deleted, what
/// changed when updated (`before` and `after` both given).
pub async fn wrote<T: Serialize>(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    action: &str,
    (resource_type, resource_id): (&str, &str),
    before: Option<&T>,
    after: Option<&T>,
) -> Result<(), ApiError> {
    let changes = match (before, after) {
        (Some(before), Some(after)) => changes(before, after),
        (None, Some(record)) | (Some(record), None) => snapshot(record),
        (None, None) => None,
    };
    record(
        state,
        tenant,
        actor,
        Event {
            action,
            resource_type,
            resource_id,
            changes,
        },
    )
    .await
}

/// How long the audit trail keeps events, and how often the upkeep runs (pruning them,
/// recording heartbeat deaths).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Events older than this many days are deleted.
    pub days: u32,
    /// How often the pruner runs.
    pub every: std::time::Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            days: 365,
            every: std::time::Duration::from_secs(60),
        }
    }
}

/// The server's upkeep, now and then every `retention.every` until `stop` turns true:
/// deletes audit events older than the retention period, and records the heartbeat deaths
/// of machines that went silent since the last round. Time comes from the server's clock.
pub async fn upkeep_until_stopped(
    state: AppState,
    retention: Retention,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let cutoff = state.clock.now() - chrono::Duration::days(i64::from(retention.days));
        match db::audit::prune(&state.db, cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(events = n, "pruned audit events past their retention"),
            Err(error) => tracing::error!(%error, "cannot prune the audit trail"),
        }
        if let Err(error) = super::machines::record_deaths(&state).await {
            tracing::error!(error = %format!("{error:#}"), "cannot record heartbeat deaths");
        }
        // PostgreSQL's shared rate-limit buckets: forget those that are full again (SQLite's
        // live in the process, which prunes its own). Real time, as the limiter counts in.
        if let db::Db::Postgres(pool) = &state.db {
            if let Err(error) = db::rate_limits::prune(pool, chrono::Utc::now()).await {
                tracing::error!(%error, "cannot prune the rate-limit buckets");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(retention.every) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// Fields that may hold a secret: never recorded.
const SECRET_FIELDS: &[&str] = &["key", "secret", "token", "keyHash", "signingKey"];
/// Fields that change with every write and say nothing.
const NOISE_FIELDS: &[&str] = &["updatedAt"];

/// The fields that differ between two serialised records, as
/// `{field: {"before": …, "after": …}}`; `None` when nothing differs.
pub fn changes<T: Serialize>(before: &T, after: &T) -> Option<Value> {
    let (Ok(Value::Object(before)), Ok(Value::Object(after))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return None;
    };
    let mut changed = Map::new();
    for (field, new) in &after {
        if SECRET_FIELDS.contains(&field.as_str()) || NOISE_FIELDS.contains(&field.as_str()) {
            continue;
        }
        let old = before.get(field).unwrap_or(&Value::Null);
        if old != new {
            changed.insert(
                field.clone(),
                serde_json::json!({ "before": old, "after": new }),
            );
        }
    }
    (!changed.is_empty()).then_some(Value::Object(changed))
}

/// A record's fields without its secrets, for the event of a creation or deletion.
pub fn snapshot<T: Serialize>(record: &T) -> Option<Value> {
    match serde_json::to_value(record) {
        Ok(Value::Object(mut fields)) => {
            for field in SECRET_FIELDS.iter().chain(NOISE_FIELDS) {
                fields.remove(*field);
            }
            Some(Value::Object(fields))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn changes_name_each_changed_field_and_never_a_secret() {
        let before = json!({ "name": "Old", "key": "DEMO-AAAA", "uses": 1, "updatedAt": "a", "secret": "s1" });
        let after = json!({ "name": "New", "key": "DEMO-BBBB", "uses": 1, "updatedAt": "b", "secret": "s2" });
        let changed = changes(&before, &after).unwrap();
        assert_eq!(
            changed,
            json!({ "name": { "before": "Old", "after": "New" } })
        );
        assert_eq!(changes(&before, &before), None);
        let snap = snapshot(&after).unwrap();
        assert!(snap.get("key").is_none() && snap.get("secret").is_none());
        assert_eq!(snap["name"], "New");
    }
}
