//! The audit trail's rows.

use chrono::{DateTime, Utc};
use licentric_core::Environment;
use serde_json::Value;
use sqlx::SqlitePool;

/// One event to record.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// The account; `None` for an event of the server itself.
    pub account_id: Option<&'a str>,
    /// Live or test.
    pub environment: Option<Environment>,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// `api_key`, `license`, `anonymous`, `system` or `address`.
    pub actor_type: &'a str,
    /// The actor's id (for `address`, the client address).
    pub actor_id: Option<&'a str>,
    /// The actor's name (an API key's).
    pub actor_name: Option<&'a str>,
    /// What was done, e.g. `license.suspended`.
    pub action: &'a str,
    /// The kind of record.
    pub resource_type: Option<&'a str>,
    /// Its id.
    pub resource_id: Option<&'a str>,
    /// The client's address.
    pub client_address: Option<&'a str>,
    /// The request's id.
    pub request_id: Option<&'a str>,
    /// What changed; never a secret.
    pub changes: Option<&'a Value>,
}

/// Records one event.
pub async fn insert<'e>(
    db: impl sqlx::SqliteExecutor<'e>,
    event: &NewEvent<'_>,
) -> super::Result<()> {
    sqlx::query(
        "INSERT INTO audit_events (account_id, environment, occurred_at, actor_type, actor_id, actor_name,
                                   action, resource_type, resource_id, client_address, request_id, changes)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(event.account_id)
    .bind(event.environment.map(Environment::as_str))
    .bind(event.occurred_at)
    .bind(event.actor_type)
    .bind(event.actor_id)
    .bind(event.actor_name)
    .bind(event.action)
    .bind(event.resource_type)
    .bind(event.resource_id)
    .bind(event.client_address)
    .bind(event.request_id)
    .bind(event.changes.map(Value::to_string))
    .execute(db)
    .await?;
    Ok(())
}

/// Filters of the audit trail; every one given must match.
#[derive(Debug, Default)]
pub struct Filters<'a> {
    /// Only events of this kind of record.
    pub resource_type: Option<&'a str>,
    /// Only events of this record.
    pub resource_id: Option<&'a str>,
    /// Only this action.
    pub action: Option<&'a str>,
    /// Only events by this API key or license.
    pub actor_id: Option<&'a str>,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only events before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only events older than this id (the cursor of the page before).
    pub before_id: Option<i64>,
}

/// An event as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    /// Its id, increasing with time.
    pub id: i64,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Who acted.
    pub actor_type: String,
    /// The actor's id.
    pub actor_id: Option<String>,
    /// The actor's name.
    pub actor_name: Option<String>,
    /// What was done.
    pub action: String,
    /// The kind of record.
    pub resource_type: Option<String>,
    /// Its id.
    pub resource_id: Option<String>,
    /// The client's address.
    pub client_address: Option<String>,
    /// The request's id.
    pub request_id: Option<String>,
    /// What changed, JSON.
    pub changes: Option<String>,
}

fn push_filters<'a>(
    query: &mut sqlx::QueryBuilder<'a, sqlx::Sqlite>,
    tenant: &'a crate::tenant::Tenant,
    filters: &Filters<'a>,
) {
    query
        .push(" WHERE account_id = ")
        .push_bind(&tenant.account_id)
        .push(" AND environment = ")
        .push_bind(tenant.environment.as_str());
    let texts = [
        ("resource_type", filters.resource_type),
        ("resource_id", filters.resource_id),
        ("action", filters.action),
        ("actor_id", filters.actor_id),
    ];
    for (column, value) in texts {
        if let Some(value) = value {
            query.push(format!(" AND {column} = ")).push_bind(value);
        }
    }
    if let Some(since) = filters.since {
        query.push(" AND occurred_at >= ").push_bind(since);
    }
    if let Some(until) = filters.until {
        query.push(" AND occurred_at < ").push_bind(until);
    }
    if let Some(before) = filters.before_id {
        query.push(" AND id < ").push_bind(before);
    }
}

/// A page of the tenant's events, newest first, and how many match in all.
pub async fn list(
    db: &SqlitePool,
    tenant: &crate::tenant::Tenant,
    filters: &Filters<'_>,
    limit: u32,
    offset: u32,
) -> super::Result<(Vec<EventRow>, u32)> {
    let mut query = sqlx::QueryBuilder::new(
        "SELECT id, occurred_at, actor_type, actor_id, actor_name, action, resource_type, resource_id,
                client_address, request_id, changes FROM audit_events",
    );
    push_filters(&mut query, tenant, filters);
    query
        .push(" ORDER BY id DESC LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset);
    let rows = query.build_query_as().fetch_all(db).await?;
    let mut count = sqlx::QueryBuilder::new("SELECT count(*) FROM audit_events");
    push_filters(&mut count, tenant, filters);
    let total: u32 = count.build_query_scalar().fetch_one(db).await?;
    Ok((rows, total))
}

/// Deletes events older than `before`; answers how many.
pub async fn prune(db: &SqlitePool, before: DateTime<Utc>) -> super::Result<u64> {
    let done = sqlx::query("DELETE FROM audit_events WHERE occurred_at < ?")
        .bind(before)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
