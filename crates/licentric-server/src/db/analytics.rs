//! The dashboard's snapshots of now: seats per policy and licenses about to expire. (The
//! per-day series are read from the activity log, in [`super::activity`].) On SQLite and
//! PostgreSQL.

use chrono::{DateTime, Utc};

use crate::tenant::Tenant;

use super::{postgres, run, DbRef};

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
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    product_id: Option<&str>,
) -> super::Result<Vec<ProductRow>> {
    run!(
        db.into(),
        tenant,
        query_as(
            "SELECT id, name FROM products
             WHERE account_id = $1 AND environment = $2 AND (CAST($3 AS text) IS NULL OR id = $3)
             ORDER BY name, id",
            &tenant.account_id,
            tenant.environment.as_str(),
            product_id,
        )
        .fetch_all
    )
}

/// The tenant's policies (of one product, or all), each with its licenses that are active
/// and unexpired at `now` and their machines; by name.
pub async fn policy_use(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    product_id: Option<&str>,
    now: DateTime<Utc>,
) -> super::Result<Vec<PolicyUse>> {
    // Read as i64: PostgreSQL has no unsigned integers (and its sums are numeric, hence
    // the casts).
    type Row = (String, String, String, bool, Option<i64>, i64, i64);
    // The licenses are grouped first (an index range of licenses_by_status_expiry, each
    // license's machines read from its stored count), then joined to the few policies.
    let rows: Vec<Row> = run!(
        db.into(),
        tenant,
        query_as(
            "WITH used AS (
                 SELECT l.policy_id, count(*) AS active_licenses,
                        sum(l.machines_count) AS machines_used
                 FROM licenses l
                 WHERE l.account_id = $1 AND l.environment = $2 AND l.status = 'active'
                   AND (l.expires_at IS NULL OR l.expires_at > $3)
                   AND (CAST($4 AS text) IS NULL OR l.product_id = $4)
                 GROUP BY l.policy_id
             )
             SELECT po.id, po.name, po.product_id, po.floating, po.max_machines,
                    CAST(coalesce(u.active_licenses, 0) AS bigint) AS active_licenses,
                    CAST(coalesce(u.machines_used, 0) AS bigint) AS machines_used
             FROM policies po LEFT JOIN used u ON u.policy_id = po.id
             WHERE po.account_id = $1 AND po.environment = $2
               AND (CAST($4 AS text) IS NULL OR po.product_id = $4)
             ORDER BY po.name, po.id",
            &tenant.account_id,
            tenant.environment.as_str(),
            now,
            product_id,
        )
        .fetch_all
    )?;
    Ok(rows
        .into_iter()
        .map(
            |(id, name, product_id, floating, max_machines, active, used)| PolicyUse {
                id,
                name,
                product_id,
                floating,
                max_machines: max_machines.map(postgres::count),
                active_licenses: postgres::count(active),
                machines_used: postgres::count(used),
            },
        )
        .collect())
}

/// How many active licenses (of one product, or all) expire after `now` and no later than
/// each of three ends, the last being the latest.
pub async fn expiring(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    product_id: Option<&str>,
    now: DateTime<Utc>,
    ends: [DateTime<Utc>; 3],
) -> super::Result<[u32; 3]> {
    // One range of licenses_by_status_expiry up to the longest window; the shorter ones are
    // counted within it.
    let (a, b, c): (i64, i64, i64) = run!(
        db.into(),
        tenant,
        query_as(
            "SELECT count(*) FILTER (WHERE expires_at <= $1), count(*) FILTER (WHERE expires_at <= $2),
                    count(*)
             FROM licenses
             WHERE account_id = $4 AND environment = $5 AND status = 'active'
               AND expires_at > $6 AND expires_at <= $3 AND (CAST($7 AS text) IS NULL OR product_id = $7)",
            ends[0],
            ends[1],
            ends[2],
            &tenant.account_id,
            tenant.environment.as_str(),
            now,
            product_id,
        )
        .fetch_one
    )?;
    Ok([a, b, c].map(postgres::count))
}
