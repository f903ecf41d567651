//! The activity log (validations, activations, deactivations) and the analytics read from
//! it, on SQLite and PostgreSQL.

use chrono::{DateTime, NaiveDate, Utc};
use licentric_core::{
    wire::{ActivationsOnDay, ProductUsage, ValidationsOnDay},
    ValidationCode,
};

use crate::tenant::Tenant;

use super::{postgres, DbRef};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A validation, with its code.
    Validation(ValidationCode),
    /// A machine was activated.
    Activation,
    /// A machine was deactivated or culled.
    Deactivation,
}

/// Records one activity of a license.
pub async fn record(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    kind: Kind,
    product_id: &str,
    license_id: &str,
    now: DateTime<Utc>,
) -> super::Result<()> {
    let (kind, code) = match kind {
        Kind::Validation(code) => ("validation", Some(code.as_str())),
        Kind::Activation => ("activation", None),
        Kind::Deactivation => ("deactivation", None),
    };
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, tenant).await?;
            sqlx::query(
                "INSERT INTO activity (account_id, environment, kind, product_id, license_id, code, day, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .bind(kind)
            .bind(product_id)
            .bind(license_id)
            .bind(code)
            .bind(now.date_naive().to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(());
        }
    };
    sqlx::query(
        "INSERT INTO activity (account_id, environment, kind, product_id, license_id, code, day, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(kind)
    .bind(product_id)
    .bind(license_id)
    .bind(code)
    .bind(now.date_naive().to_string())
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Records a deactivation for each machine of a license that is about to be deleted with
/// it, so the active-machines series does not keep counting them. Returns how many.
pub async fn record_license_removal(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    product_id: &str,
    license_id: &str,
    now: DateTime<Utc>,
) -> super::Result<u64> {
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, tenant).await?;
            let done = sqlx::query(
                "INSERT INTO activity (account_id, environment, kind, product_id, license_id, code, day, created_at)
                 SELECT $1, $2, 'deactivation', $3, $4, NULL, $5, $6 FROM machines
                 WHERE license_id = $4 AND account_id = $1 AND environment = $2",
            )
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .bind(product_id)
            .bind(license_id)
            .bind(now.date_naive().to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(done.rows_affected());
        }
    };
    let done = sqlx::query(
        "INSERT INTO activity (account_id, environment, kind, product_id, license_id, code, day, created_at)
         SELECT ?, ?, 'deactivation', ?, ?, NULL, ?, ? FROM machines
         WHERE license_id = ? AND account_id = ? AND environment = ?",
    )
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(product_id)
    .bind(license_id)
    .bind(now.date_naive().to_string())
    .bind(now)
    .bind(license_id)
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Machines activated now, of one product or all.
pub async fn machines_now(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    product_id: Option<&str>,
) -> super::Result<u32> {
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, tenant).await?;
            let count: i64 =
                match product_id {
                    None => sqlx::query_scalar(
                        "SELECT count(*) FROM machines WHERE account_id = $1 AND environment = $2",
                    )
                    .bind(&tenant.account_id)
                    .bind(tenant.environment.as_str())
                    .fetch_one(&mut *tx)
                    .await?,
                    Some(product_id) => {
                        sqlx::query_scalar(
                            "SELECT coalesce(sum(machines_count), 0)::bigint FROM licenses
                         WHERE account_id = $1 AND environment = $2 AND product_id = $3",
                        )
                        .bind(&tenant.account_id)
                        .bind(tenant.environment.as_str())
                        .bind(product_id)
                        .fetch_one(&mut *tx)
                        .await?
                    }
                };
            tx.commit().await?;
            return Ok(postgres::count(count));
        }
    };
    // Two statements rather than `? IS NULL OR …`, so each gets the plan that fits it.
    let count = match product_id {
        None => {
            sqlx::query_scalar(
                "SELECT count(*) FROM machines WHERE account_id = ? AND environment = ?",
            )
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .fetch_one(db)
            .await?
        }
        Some(product_id) => {
            sqlx::query_scalar(
                "SELECT coalesce(sum(machines_count), 0) FROM licenses
                 WHERE account_id = ? AND environment = ? AND product_id = ?",
            )
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .bind(product_id)
            .fetch_one(db)
            .await?
        }
    };
    Ok(count)
}

/// Validations per day and code between two days (inclusive), from the daily rollup
/// (`activity_daily`, kept by a trigger on every insert into the log).
pub async fn validations_by_day(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    from: NaiveDate,
    to: NaiveDate,
    product_id: Option<&str>,
) -> super::Result<Vec<ValidationsOnDay>> {
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, tenant).await?;
            let rows: Vec<(String, String, i64)> = sqlx::query_as(
                "SELECT day, code, sum(count)::bigint FROM activity_daily
                 WHERE account_id = $1 AND environment = $2 AND kind = 'validation' AND day >= $3 AND day <= $4
                   AND ($5::text IS NULL OR product_id = $5)
                 GROUP BY day, code ORDER BY day, code",
            )
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .bind(from.to_string())
            .bind(to.to_string())
            .bind(product_id)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            return rows
                .into_iter()
                .map(|(date, code, count)| {
                    Ok(ValidationsOnDay {
                        date,
                        code: serde_json::from_value(serde_json::Value::String(code))?,
                        count: postgres::count(count),
                    })
                })
                .collect();
        }
    };
    let rows: Vec<(String, String, u32)> = sqlx::query_as(
        "SELECT day, code, sum(count) FROM activity_daily
         WHERE account_id = ? AND environment = ? AND kind = 'validation' AND day >= ? AND day <= ?
           AND (? IS NULL OR product_id = ?)
         GROUP BY day, code ORDER BY day, code",
    )
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(from.to_string())
    .bind(to.to_string())
    .bind(product_id)
    .bind(product_id)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(date, code, count)| {
            Ok(ValidationsOnDay {
                date,
                code: serde_json::from_value(serde_json::Value::String(code))?,
                count,
            })
        })
        .collect()
}

/// Activations and deactivations per day between two days (inclusive); days without any
/// are left out.
pub async fn activations_by_day(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    from: NaiveDate,
    to: NaiveDate,
    product_id: Option<&str>,
) -> super::Result<Vec<ActivationsOnDay>> {
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, tenant).await?;
            let rows: Vec<(String, i64, i64)> = sqlx::query_as(
                "SELECT day, sum(CASE kind WHEN 'activation' THEN count ELSE 0 END)::bigint,
                        sum(CASE kind WHEN 'deactivation' THEN count ELSE 0 END)::bigint
                 FROM activity_daily
                 WHERE account_id = $1 AND environment = $2 AND kind IN ('activation', 'deactivation')
                   AND day >= $3 AND day <= $4 AND ($5::text IS NULL OR product_id = $5)
                 GROUP BY day ORDER BY day",
            )
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .bind(from.to_string())
            .bind(to.to_string())
            .bind(product_id)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(rows
                .into_iter()
                .map(|(date, activations, deactivations)| ActivationsOnDay {
                    date,
                    activations: postgres::count(activations),
                    deactivations: postgres::count(deactivations),
                })
                .collect());
        }
    };
    let rows: Vec<(String, u32, u32)> = sqlx::query_as(
        "SELECT day, sum(CASE kind WHEN 'activation' THEN count ELSE 0 END),
                sum(CASE kind WHEN 'deactivation' THEN count ELSE 0 END)
         FROM activity_daily
         WHERE account_id = ? AND environment = ? AND kind IN ('activation', 'deactivation')
           AND day >= ? AND day <= ? AND (? IS NULL OR product_id = ?)
         GROUP BY day ORDER BY day",
    )
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(from.to_string())
    .bind(to.to_string())
    .bind(product_id)
    .bind(product_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(date, activations, deactivations)| ActivationsOnDay {
            date,
            activations,
            deactivations,
        })
        .collect())
}

/// Per product: licenses active and unexpired at `now`, and their seats.
pub async fn product_usage(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    now: DateTime<Utc>,
) -> super::Result<Vec<ProductUsage>> {
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, tenant).await?;
            let rows: Vec<(String, String, i64, i64, i64, i64)> = sqlx::query_as(
                "SELECT pr.id, pr.name,
                        count(l.id),
                        coalesce(sum(l.machines_count), 0)::bigint,
                        coalesce(sum(CASE WHEN NOT po.floating THEN 1 ELSE coalesce(po.max_machines, 0) END), 0)::bigint,
                        count(*) FILTER (WHERE po.floating AND po.max_machines IS NULL)
                 FROM products pr
                 LEFT JOIN licenses l ON l.product_id = pr.id AND l.status = 'active'
                      AND (l.expires_at IS NULL OR l.expires_at > $1)
                 LEFT JOIN policies po ON po.id = l.policy_id
                 WHERE pr.account_id = $2 AND pr.environment = $3
                 GROUP BY pr.id, pr.name ORDER BY pr.name, pr.id",
            )
            .bind(now)
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(rows
                .into_iter()
                .map(
                    |(product_id, product_name, active_licenses, seats_used, seats, unlimited)| {
                        ProductUsage {
                            product_id,
                            product_name,
                            active_licenses: postgres::count(active_licenses),
                            seats_used: postgres::count(seats_used),
                            seats_total: (unlimited == 0).then_some(postgres::count(seats)),
                        }
                    },
                )
                .collect());
        }
    };
    let rows: Vec<(String, String, u32, u32, u32, u32)> = sqlx::query_as(
        "SELECT pr.id, pr.name,
                count(l.id),
                coalesce(sum(l.machines_count), 0),
                coalesce(sum(CASE WHEN po.floating = 0 THEN 1 ELSE coalesce(po.max_machines, 0) END), 0),
                coalesce(sum(po.floating = 1 AND po.max_machines IS NULL), 0)
         FROM products pr
         LEFT JOIN licenses l ON l.product_id = pr.id AND l.status = 'active'
              AND (l.expires_at IS NULL OR l.expires_at > ?)
         LEFT JOIN policies po ON po.id = l.policy_id
         WHERE pr.account_id = ? AND pr.environment = ?
         GROUP BY pr.id, pr.name ORDER BY pr.name, pr.id",
    )
    .bind(now)
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(product_id, product_name, active_licenses, seats_used, seats, unlimited)| {
                ProductUsage {
                    product_id,
                    product_name,
                    active_licenses,
                    seats_used,
                    seats_total: (unlimited == 0).then_some(seats),
                }
            },
        )
        .collect())
}
