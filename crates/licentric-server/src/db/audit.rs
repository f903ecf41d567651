//! The audit trail's rows, on SQLite and PostgreSQL.

use chrono::{DateTime, Utc};
use licentric_core::Environment;
use serde_json::Value;

use super::{postgres, run, DbRef, DbTx};
use crate::tenant::Tenant;

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

/// Records one event, through a pool or inside the caller's transaction.
pub async fn insert(db: impl Into<DbTx<'_>>, event: &NewEvent<'_>) -> super::Result<()> {
    match (db.into(), event.account_id, event.environment) {
        (db, Some(account_id), Some(environment)) => {
            // A tenant's event is written as that tenant (on PostgreSQL's pool, in a
            // transaction set for it).
            let tenant = Tenant {
                account_id: account_id.to_owned(),
                environment,
            };
            write(db, &tenant, event).await
        }
        (DbTx::PostgresPool(pool), _, _) => {
            // A system event (no account): in a transaction set for nobody, which its own
            // policy admits.
            let mut tx = pool.begin().await?;
            write(DbTx::Postgres(&mut tx), &nobody(), event).await?;
            tx.commit().await?;
            Ok(())
        }
        (db, _, _) => write(db, &nobody(), event).await,
    }
}

/// The tenant given to [`write`] for a system event, which has none: `write` sets a
/// tenant only on PostgreSQL's pool, and a system event never reaches it there.
fn nobody() -> Tenant {
    Tenant {
        account_id: String::new(),
        environment: Environment::Live,
    }
}

/// The one insert; `tenant` sets PostgreSQL's transaction only when `db` is its pool.
async fn write(db: DbTx<'_>, tenant: &Tenant, event: &NewEvent<'_>) -> super::Result<()> {
    run!(
        db,
        tenant,
        query(
            "INSERT INTO audit_events (account_id, environment, occurred_at, actor_type, actor_id, actor_name,
                                       action, resource_type, resource_id, client_address, request_id, changes)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            event.account_id,
            event.environment.map(Environment::as_str),
            event.occurred_at,
            event.actor_type,
            event.actor_id,
            event.actor_name,
            event.action,
            event.resource_type,
            event.resource_id,
            event.client_address,
            event.request_id,
            event.changes.map(Value::to_string),
        )
        .execute
    )?;
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

/// The WHERE clause of a list, for either database (the builder numbers PostgreSQL's
/// placeholders).
fn push_filters<'a, DB>(
    query: &mut sqlx::QueryBuilder<'a, DB>,
    tenant: &'a crate::tenant::Tenant,
    filters: &Filters<'a>,
) where
    DB: sqlx::Database,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    DateTime<Utc>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    query
        .push(" WHERE account_id = ")
        .push_bind(tenant.account_id.as_str())
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

/// The columns of an [`EventRow`].
const SELECT: &str =
    "SELECT id, occurred_at, actor_type, actor_id, actor_name, action, resource_type, resource_id,
            client_address, request_id, changes FROM audit_events";

/// A page of the tenant's events, newest first, and how many match in all.
pub async fn list(
    db: impl Into<DbRef<'_>>,
    tenant: &crate::tenant::Tenant,
    filters: &Filters<'_>,
    limit: u32,
    offset: u32,
) -> super::Result<(Vec<EventRow>, u32)> {
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, tenant).await?;
            let mut query = sqlx::QueryBuilder::<sqlx::Postgres>::new(SELECT);
            push_filters(&mut query, tenant, filters);
            query
                .push(" ORDER BY id DESC LIMIT ")
                .push_bind(i64::from(limit))
                .push(" OFFSET ")
                .push_bind(i64::from(offset));
            let rows = query.build_query_as().fetch_all(&mut *tx).await?;
            let mut count =
                sqlx::QueryBuilder::<sqlx::Postgres>::new("SELECT count(*) FROM audit_events");
            push_filters(&mut count, tenant, filters);
            let total: i64 = count.build_query_scalar().fetch_one(&mut *tx).await?;
            tx.commit().await?;
            return Ok((rows, postgres::count(total)));
        }
    };
    let mut query = sqlx::QueryBuilder::new(SELECT);
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

/// Up to `limit` of the tenant's events matching `filters`, newest first, without the
/// count [`list`] adds: an export's chunks, each starting below the last one's id
/// (`filters.before_id`).
pub async fn newest(
    db: impl Into<DbRef<'_>>,
    tenant: &crate::tenant::Tenant,
    filters: &Filters<'_>,
    limit: u32,
) -> super::Result<Vec<EventRow>> {
    match db.into() {
        DbRef::Sqlite(db) => {
            let mut query = sqlx::QueryBuilder::new(SELECT);
            push_filters(&mut query, tenant, filters);
            query.push(" ORDER BY id DESC LIMIT ").push_bind(limit);
            Ok(query.build_query_as().fetch_all(db).await?)
        }
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, tenant).await?;
            let mut query = sqlx::QueryBuilder::<sqlx::Postgres>::new(SELECT);
            push_filters(&mut query, tenant, filters);
            query
                .push(" ORDER BY id DESC LIMIT ")
                .push_bind(i64::from(limit));
            let rows = query.build_query_as().fetch_all(&mut *tx).await?;
            tx.commit().await?;
            Ok(rows)
        }
    }
}

/// Deletes events (of every tenant) older than `before`; answers how many. On
/// PostgreSQL through the narrow `licentric_prune_audit` function, as the background
/// task acts for no tenant.
pub async fn prune(db: impl Into<DbRef<'_>>, before: DateTime<Utc>) -> super::Result<u64> {
    match db.into() {
        DbRef::Sqlite(db) => {
            let done = sqlx::query("DELETE FROM audit_events WHERE occurred_at < ?")
                .bind(before)
                .execute(db)
                .await?;
            Ok(done.rows_affected())
        }
        DbRef::Postgres(db) => {
            let n: i64 = sqlx::query_scalar("SELECT licentric_prune_audit($1)")
                .bind(before)
                .fetch_one(db)
                .await?;
            Ok(u64::try_from(n).unwrap_or(0))
        }
    }
}
