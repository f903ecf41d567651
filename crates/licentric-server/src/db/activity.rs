//! The activity log (validations, activations, deactivations) and the analytics read from
//! it, on SQLite and PostgreSQL.

use chrono::{DateTime, NaiveDate, Utc};
use licentric_core::{
    wire::{ActivationsOnDay, ProductUsage, ValidationsOnDay},
    ValidationCode,
};

use crate::tenant::Tenant;

use super::{postgres, run, DbRef};

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
    run!(
        db.into(),
        tenant,
        query(
            "INSERT INTO activity (account_id, environment, kind, product_id, license_id, code, day, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &tenant.account_id,
            tenant.environment.as_str(),
            kind,
            product_id,
            license_id,
            code,
            now.date_naive().to_string(),
            now,
        )
        .execute
    )?;
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
    run!(
        db.into(),
        tenant,
        query(
            "INSERT INTO activity (account_id, environment, kind, product_id, license_id, code, day, created_at)
             SELECT $1, $2, 'deactivation', $3, $4, NULL, $5, $6 FROM machines
             WHERE license_id = $4 AND account_id = $1 AND environment = $2",
            &tenant.account_id,
            tenant.environment.as_str(),
            product_id,
            license_id,
            now.date_naive().to_string(),
            now,
        )
        .execute
    )
}

/// Machines activated now, of one product or all. Sums are cast to `bigint`, which
/// PostgreSQL's `sum` of a `bigint` is not (it is `numeric`) and SQLite's already is.
pub async fn machines_now(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    product_id: Option<&str>,
) -> super::Result<u32> {
    let db = db.into();
    // Two statements rather than `$3 IS NULL OR …`, so each gets the plan that fits it.
    let count: i64 = match product_id {
        None => run!(
            db,
            tenant,
            // The counters the list totals read (migration 0012; PostgreSQL's 0001): a
            // count of the rows read all of a tenant's machines, 250,000 in the benchmark,
            // a parallel scan of them on PostgreSQL (118 ms p50 for the series).
            query_scalar(
                "SELECT CAST(coalesce(sum(n), 0) AS bigint) FROM machine_totals
                  WHERE account_id = $1 AND environment = $2",
                &tenant.account_id,
                tenant.environment.as_str(),
            )
            .fetch_one
        )?,
        Some(product_id) => run!(
            db,
            tenant,
            query_scalar(
                "SELECT CAST(coalesce(sum(machines_count), 0) AS bigint) FROM licenses
                  WHERE account_id = $1 AND environment = $2 AND product_id = $3",
                &tenant.account_id,
                tenant.environment.as_str(),
                product_id,
            )
            .fetch_one
        )?,
    };
    Ok(postgres::count(count))
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
    let rows: Vec<(String, String, i64)> = run!(
        db.into(),
        tenant,
        query_as(
            "SELECT day, code, CAST(sum(count) AS bigint) FROM activity_daily
             WHERE account_id = $1 AND environment = $2 AND kind = 'validation' AND day >= $3 AND day <= $4
               AND (CAST($5 AS text) IS NULL OR product_id = $5)
             GROUP BY day, code ORDER BY day, code",
            &tenant.account_id,
            tenant.environment.as_str(),
            from.to_string(),
            to.to_string(),
            product_id,
        )
        .fetch_all
    )?;
    rows.into_iter()
        .map(|(date, code, count)| {
            Ok(ValidationsOnDay {
                date,
                code: serde_json::from_value(serde_json::Value::String(code))?,
                count: postgres::count(count),
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
    let rows: Vec<(String, i64, i64)> = run!(
        db.into(),
        tenant,
        query_as(
            "SELECT day, CAST(sum(CASE kind WHEN 'activation' THEN count ELSE 0 END) AS bigint),
                    CAST(sum(CASE kind WHEN 'deactivation' THEN count ELSE 0 END) AS bigint)
             FROM activity_daily
             WHERE account_id = $1 AND environment = $2 AND kind IN ('activation', 'deactivation')
               AND day >= $3 AND day <= $4 AND (CAST($5 AS text) IS NULL OR product_id = $5)
             GROUP BY day ORDER BY day",
            &tenant.account_id,
            tenant.environment.as_str(),
            from.to_string(),
            to.to_string(),
            product_id,
        )
        .fetch_all
    )?;
    Ok(rows
        .into_iter()
        .map(|(date, activations, deactivations)| ActivationsOnDay {
            date,
            activations: postgres::count(activations),
            deactivations: postgres::count(deactivations),
        })
        .collect())
}

/// Per product: licenses active and unexpired at `now`, and their seats.
pub async fn product_usage(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    now: DateTime<Utc>,
) -> super::Result<Vec<ProductUsage>> {
    let rows: Vec<(String, String, i64, i64, i64, i64)> = run!(
        db.into(),
        tenant,
        query_as(
            "SELECT pr.id, pr.name,
                    count(l.id),
                    CAST(coalesce(sum(l.machines_count), 0) AS bigint),
                    CAST(coalesce(sum(CASE WHEN NOT po.floating THEN 1 ELSE coalesce(po.max_machines, 0) END), 0) AS bigint),
                    count(*) FILTER (WHERE po.floating AND po.max_machines IS NULL)
             FROM products pr
             LEFT JOIN licenses l ON l.product_id = pr.id AND l.status = 'active'
                  AND (l.expires_at IS NULL OR l.expires_at > $1)
             LEFT JOIN policies po ON po.id = l.policy_id
             WHERE pr.account_id = $2 AND pr.environment = $3
             GROUP BY pr.id, pr.name ORDER BY pr.name, pr.id",
            now,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .fetch_all
    )?;
    Ok(rows
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
        .collect())
}
