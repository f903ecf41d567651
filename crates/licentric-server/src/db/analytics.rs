//! The dashboard's snapshots of now: seats per policy and licenses about to expire. (The
//! per-day series are read from the activity log, in [`super::activity`].) On SQLite and
//! PostgreSQL.

use chrono::{DateTime, Utc};

use crate::tenant::Tenant;

use super::{postgres, DbRef};

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
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, tenant).await?;
            let rows = sqlx::query_as(
                "SELECT id, name FROM products
                 WHERE account_id = $1 AND environment = $2 AND ($3::text IS NULL OR id = $3)
                 ORDER BY name, id",
            )
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .bind(product_id)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(rows);
        }
    };
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
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    product_id: Option<&str>,
    now: DateTime<Utc>,
) -> super::Result<Vec<PolicyUse>> {
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            type Row = (String, String, String, bool, Option<i64>, i64, i64);
            let mut tx = postgres::begin_for(db, tenant).await?;
            let rows: Vec<Row> = sqlx::query_as(
                "WITH used AS (
                     SELECT l.policy_id, count(*) AS active_licenses,
                            sum(l.machines_count) AS machines_used
                     FROM licenses l
                     WHERE l.account_id = $1 AND l.environment = $2 AND l.status = 'active'
                       AND (l.expires_at IS NULL OR l.expires_at > $3)
                       AND ($4::text IS NULL OR l.product_id = $4)
                     GROUP BY l.policy_id
                 )
                 SELECT po.id, po.name, po.product_id, po.floating, po.max_machines,
                        coalesce(u.active_licenses, 0)::bigint,
                        coalesce(u.machines_used, 0)::bigint
                 FROM policies po LEFT JOIN used u ON u.policy_id = po.id
                 WHERE po.account_id = $1 AND po.environment = $2 AND ($4::text IS NULL OR po.product_id = $4)
                 ORDER BY po.name, po.id",
            )
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .bind(now)
            .bind(product_id)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(rows
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
                .collect());
        }
    };
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
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    product_id: Option<&str>,
    now: DateTime<Utc>,
    ends: [DateTime<Utc>; 3],
) -> super::Result<[u32; 3]> {
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, tenant).await?;
            let (a, b, c): (i64, i64, i64) = sqlx::query_as(
                "SELECT count(*) FILTER (WHERE expires_at <= $1), count(*) FILTER (WHERE expires_at <= $2),
                        count(*)
                 FROM licenses
                 WHERE account_id = $4 AND environment = $5 AND status = 'active'
                   AND expires_at > $6 AND expires_at <= $3 AND ($7::text IS NULL OR product_id = $7)",
            )
            .bind(ends[0])
            .bind(ends[1])
            .bind(ends[2])
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .bind(now)
            .bind(product_id)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok([a, b, c].map(postgres::count));
        }
    };
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
