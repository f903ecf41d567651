//! The dashboard's snapshots of now: seats per policy and licenses about to expire. (The
//! per-day series are read from the activity log, in [`super::activity`].)

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use crate::tenant::Tenant;

/// A product of the tenant.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProductRow {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// A policy of the tenant and what its active licenses use.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PolicyUse {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its product.
    pub product_id: String,
    /// Whether a license may have several machines (`max_machines`), else one.
    pub floating: bool,
    /// The machine limit of a floating license; `None` is unlimited.
    pub max_machines: Option<u32>,
    /// Its licenses that are active and unexpired at the time asked.
    pub active_licenses: u32,
    /// The machines of those licenses.
    pub machines_used: u32,
}

/// The tenant's products (or the one asked), by name.
pub async fn products(
    db: &SqlitePool,
    tenant: &Tenant,
    product_id: Option<&str>,
) -> super::Result<Vec<ProductRow>> {
    Ok(sqlx::query_as(
        "SELECT id, name FROM products
         WHERE account_id = ? AND environment = ? AND (? IS NULL OR id = ?)
         ORDER BY name, id",
    )
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(product_id)
    .bind(product_id)
    .fetch_all(db)
    .await?)
}

/// The tenant's policies (of one product, or all), each with its licenses that are active
/// and unexpired at `now` and their machines; by name.
pub async fn policy_use(
    db: &SqlitePool,
    tenant: &Tenant,
    product_id: Option<&str>,
    now: DateTime<Utc>,
) -> super::Result<Vec<PolicyUse>> {
    // The licenses are grouped first (an index range of licenses_by_status_expiry, each
    // license's machines read from its stored count), then joined to the few policies.
    Ok(sqlx::query_as(
        "WITH used AS (
             SELECT l.policy_id, count(*) AS active_licenses,
                    sum(l.machines_count) AS machines_used
             FROM licenses l
             WHERE l.account_id = ?1 AND l.environment = ?2 AND l.status = 'active'
               AND (l.expires_at IS NULL OR l.expires_at > ?3)
               AND (?4 IS NULL OR l.product_id = ?4)
             GROUP BY l.policy_id
         )
         SELECT po.id, po.name, po.product_id, po.floating, po.max_machines,
                coalesce(u.active_licenses, 0) AS active_licenses,
                coalesce(u.machines_used, 0) AS machines_used
         FROM policies po LEFT JOIN used u ON u.policy_id = po.id
         WHERE po.account_id = ?1 AND po.environment = ?2 AND (?4 IS NULL OR po.product_id = ?4)
         ORDER BY po.name, po.id",
    )
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(now)
    .bind(product_id)
    .fetch_all(db)
    .await?)
}

/// How many active licenses (of one product, or all) expire after `now` and no later than
/// each of three ends, the last being the latest.
pub async fn expiring(
    db: &SqlitePool,
    tenant: &Tenant,
    product_id: Option<&str>,
    now: DateTime<Utc>,
    ends: [DateTime<Utc>; 3],
) -> super::Result<[u32; 3]> {
    // One range of licenses_by_status_expiry up to the longest window; the shorter ones are
    // counted within it.
    let (a, b, c): (u32, u32, u32) = sqlx::query_as(
        "SELECT coalesce(sum(expires_at <= ?1), 0), coalesce(sum(expires_at <= ?2), 0), count(*)
         FROM licenses
         WHERE account_id = ?4 AND environment = ?5 AND status = 'active'
           AND expires_at > ?6 AND expires_at <= ?3 AND (?7 IS NULL OR product_id = ?7)",
    )
    .bind(ends[0])
    .bind(ends[1])
    .bind(ends[2])
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(now)
    .bind(product_id)
    .fetch_one(db)
    .await?;
    Ok([a, b, c])
}
