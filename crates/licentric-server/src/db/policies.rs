//! Policies and the entitlements every license of a policy has.

use chrono::{DateTime, Utc};
use licentric_core::wire::Policy;
use sqlx::SqlitePool;

use crate::{params::Page, tenant::Tenant};

/// Sortable fields of a policy list.
pub const SORTABLE: &[(&str, &str)] = &[
    ("createdAt", "created_at"),
    ("updatedAt", "updated_at"),
    ("name", "name"),
];

const COLUMNS: &str = "id, product_id, name, max_machines, floating, require_heartbeat, heartbeat_interval_secs,
    cull_dead_machines, duration_secs, offline_max_days, grace_days, max_uses, created_at, updated_at";

#[derive(Debug, sqlx::FromRow)]
struct Row {
    id: String,
    product_id: String,
    name: String,
    max_machines: Option<u32>,
    floating: bool,
    require_heartbeat: bool,
    heartbeat_interval_secs: u32,
    cull_dead_machines: bool,
    duration_secs: Option<u32>,
    offline_max_days: u32,
    grace_days: u32,
    max_uses: Option<u32>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Row {
    fn into_wire(self, entitlements: Vec<String>) -> Policy {
        Policy {
            id: self.id,
            product_id: self.product_id,
            name: self.name,
            max_machines: self.max_machines,
            floating: self.floating,
            require_heartbeat: self.require_heartbeat,
            heartbeat_interval: self.heartbeat_interval_secs,
            cull_dead_machines: self.cull_dead_machines,
            duration: self.duration_secs,
            offline_max_days: self.offline_max_days,
            grace_days: self.grace_days,
            max_uses: self.max_uses,
            entitlements,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// Inserts a policy (its entitlements are set separately).
pub async fn insert(db: &SqlitePool, tenant: &Tenant, policy: &Policy) -> super::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO policies (account_id, environment, {COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(&policy.id)
    .bind(&policy.product_id)
    .bind(&policy.name)
    .bind(policy.max_machines)
    .bind(policy.floating)
    .bind(policy.require_heartbeat)
    .bind(policy.heartbeat_interval)
    .bind(policy.cull_dead_machines)
    .bind(policy.duration)
    .bind(policy.offline_max_days)
    .bind(policy.grace_days)
    .bind(policy.max_uses)
    .bind(policy.created_at)
    .bind(policy.updated_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Saves a changed policy (its entitlements are set separately).
pub async fn update(db: &SqlitePool, tenant: &Tenant, policy: &Policy) -> super::Result<()> {
    sqlx::query(
        "UPDATE policies SET name = ?, max_machines = ?, floating = ?, require_heartbeat = ?, heartbeat_interval_secs = ?,
            cull_dead_machines = ?, duration_secs = ?, offline_max_days = ?, grace_days = ?, max_uses = ?, updated_at = ?
         WHERE id = ? AND account_id = ? AND environment = ?",
    )
    .bind(&policy.name)
    .bind(policy.max_machines)
    .bind(policy.floating)
    .bind(policy.require_heartbeat)
    .bind(policy.heartbeat_interval)
    .bind(policy.cull_dead_machines)
    .bind(policy.duration)
    .bind(policy.offline_max_days)
    .bind(policy.grace_days)
    .bind(policy.max_uses)
    .bind(policy.updated_at)
    .bind(&policy.id)
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .execute(db)
    .await?;
    Ok(())
}

/// Replaces the policy's entitlements.
pub async fn set_entitlements(
    db: &SqlitePool,
    policy_id: &str,
    entitlement_ids: &[String],
) -> super::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM policy_entitlements WHERE policy_id = ?")
        .bind(policy_id)
        .execute(&mut *tx)
        .await?;
    for id in entitlement_ids {
        sqlx::query(
            "INSERT OR IGNORE INTO policy_entitlements (policy_id, entitlement_id) VALUES (?, ?)",
        )
        .bind(policy_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await.map_err(Into::into)
}

async fn entitlement_codes<'e>(
    db: impl sqlx::SqliteExecutor<'e>,
    policy_id: &str,
) -> super::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT e.code FROM policy_entitlements pe JOIN entitlements e ON e.id = pe.entitlement_id
         WHERE pe.policy_id = ? ORDER BY e.code",
    )
    .bind(policy_id)
    .fetch_all(db)
    .await
    .map_err(Into::into)
}

/// The tenant's policy with this id.
pub async fn get(db: &SqlitePool, tenant: &Tenant, id: &str) -> super::Result<Option<Policy>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM policies WHERE id = ? AND account_id = ? AND environment = ?"
    ))
    .bind(id)
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .fetch_optional(db)
    .await?;
    match row {
        Some(row) => {
            let codes = entitlement_codes(db, &row.id).await?;
            Ok(Some(row.into_wire(codes)))
        }
        None => Ok(None),
    }
}

/// The tenant's policy with this id, read on `conn` (inside a transaction).
pub async fn get_in(
    conn: &mut sqlx::SqliteConnection,
    tenant: &Tenant,
    id: &str,
) -> super::Result<Option<Policy>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM policies WHERE id = ? AND account_id = ? AND environment = ?"
    ))
    .bind(id)
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => {
            let codes = entitlement_codes(&mut *conn, &row.id).await?;
            Ok(Some(row.into_wire(codes)))
        }
        None => Ok(None),
    }
}

/// A policy by id alone, for callers that already hold a license of it.
pub async fn get_unscoped(db: &SqlitePool, id: &str) -> super::Result<Option<Policy>> {
    let row: Option<Row> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM policies WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await?;
    match row {
        Some(row) => {
            let codes = entitlement_codes(db, &row.id).await?;
            Ok(Some(row.into_wire(codes)))
        }
        None => Ok(None),
    }
}

/// One page of the tenant's policies (optionally of one product), and how many there are.
pub async fn list(
    db: &SqlitePool,
    tenant: &Tenant,
    q: Option<&str>,
    product_id: Option<&str>,
    page: &Page,
) -> super::Result<(Vec<Policy>, u32)> {
    let like = q.map(|q| format!("%{}%", q.trim()));
    let filter = "account_id = ? AND environment = ? AND (? IS NULL OR product_id = ?) AND (? IS NULL OR name LIKE ?)";
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM policies WHERE {filter} ORDER BY {} LIMIT ? OFFSET ?",
        page.order_by
    ))
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(product_id)
    .bind(product_id)
    .bind(q)
    .bind(&like)
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(db)
    .await?;
    let total = sqlx::query_scalar(&format!("SELECT count(*) FROM policies WHERE {filter}"))
        .bind(&tenant.account_id)
        .bind(tenant.environment.as_str())
        .bind(product_id)
        .bind(product_id)
        .bind(q)
        .bind(&like)
        .fetch_one(db)
        .await?;
    let mut policies = Vec::with_capacity(rows.len());
    for row in rows {
        let codes = entitlement_codes(db, &row.id).await?;
        policies.push(row.into_wire(codes));
    }
    Ok((policies, total))
}

/// How many licenses use the policy.
pub async fn license_count(db: &SqlitePool, policy_id: &str) -> super::Result<u32> {
    sqlx::query_scalar("SELECT count(*) FROM licenses WHERE policy_id = ?")
        .bind(policy_id)
        .fetch_one(db)
        .await
        .map_err(Into::into)
}

/// Deletes a policy.
pub async fn delete(db: &SqlitePool, tenant: &Tenant, id: &str) -> super::Result<bool> {
    let done =
        sqlx::query("DELETE FROM policies WHERE id = ? AND account_id = ? AND environment = ?")
            .bind(id)
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .execute(db)
            .await?;
    Ok(done.rows_affected() == 1)
}
