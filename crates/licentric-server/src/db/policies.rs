//! Policies and the entitlements every license of a policy has, on SQLite and
//! PostgreSQL (the SQL of each where it differs).

use super::{postgres, run, DbRef, Scope};
use chrono::{DateTime, Utc};
use licentric_core::wire::Policy;

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

/// A policy as PostgreSQL returns it (`bigint` where SQLite's integers decode as `u32`).
#[derive(Debug, sqlx::FromRow)]
struct PgRow {
    id: String,
    product_id: String,
    name: String,
    max_machines: Option<i64>,
    floating: bool,
    require_heartbeat: bool,
    heartbeat_interval_secs: i64,
    cull_dead_machines: bool,
    duration_secs: Option<i64>,
    offline_max_days: i64,
    grace_days: i64,
    max_uses: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<PgRow> for Row {
    type Error = super::Error;

    fn try_from(row: PgRow) -> super::Result<Self> {
        use postgres::to_u32;
        Ok(Self {
            id: row.id,
            product_id: row.product_id,
            name: row.name,
            max_machines: row.max_machines.map(to_u32).transpose()?,
            floating: row.floating,
            require_heartbeat: row.require_heartbeat,
            heartbeat_interval_secs: to_u32(row.heartbeat_interval_secs)?,
            cull_dead_machines: row.cull_dead_machines,
            duration_secs: row.duration_secs.map(to_u32).transpose()?,
            offline_max_days: to_u32(row.offline_max_days)?,
            grace_days: to_u32(row.grace_days)?,
            max_uses: row.max_uses.map(to_u32).transpose()?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A policy's entitlement codes (`$1` the policy), sorted.
const CODES_OF_POLICY: &str =
    "SELECT e.code FROM policy_entitlements pe JOIN entitlements e ON e.id = pe.entitlement_id
     WHERE pe.policy_id = $1 ORDER BY e.code";

/// A PostgreSQL row with its entitlement codes, read in the same transaction.
async fn pg_wire(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    row: PgRow,
) -> super::Result<Policy> {
    let row = Row::try_from(row)?;
    let codes = entitlement_codes_pg(tx, &row.id).await?;
    Ok(row.into_wire(codes))
}

async fn entitlement_codes_pg(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    policy_id: &str,
) -> super::Result<Vec<String>> {
    Ok(sqlx::query_scalar(CODES_OF_POLICY)
        .bind(policy_id)
        .fetch_all(&mut **tx)
        .await?)
}

/// Inserts a policy (its entitlements are set separately). Counts are bound as `i64`:
/// PostgreSQL has no unsigned integers, and SQLite stores both alike.
pub async fn insert(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    policy: &Policy,
) -> super::Result<()> {
    run!(
        db.into(),
        tenant,
        query(
            &format!(
                "INSERT INTO policies (account_id, environment, {COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
            ),
            &tenant.account_id,
            tenant.environment.as_str(),
            &policy.id,
            &policy.product_id,
            &policy.name,
            policy.max_machines.map(i64::from),
            policy.floating,
            policy.require_heartbeat,
            i64::from(policy.heartbeat_interval),
            policy.cull_dead_machines,
            policy.duration.map(i64::from),
            i64::from(policy.offline_max_days),
            i64::from(policy.grace_days),
            policy.max_uses.map(i64::from),
            policy.created_at,
            policy.updated_at,
        )
        .execute
    )?;
    Ok(())
}

/// Saves a changed policy (its entitlements are set separately).
pub async fn update(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    policy: &Policy,
) -> super::Result<()> {
    run!(
        db.into(),
        tenant,
        query(
            "UPDATE policies SET name = $1, max_machines = $2, floating = $3, require_heartbeat = $4,
                heartbeat_interval_secs = $5, cull_dead_machines = $6, duration_secs = $7,
                offline_max_days = $8, grace_days = $9, max_uses = $10, updated_at = $11
             WHERE id = $12 AND account_id = $13 AND environment = $14",
            &policy.name,
            policy.max_machines.map(i64::from),
            policy.floating,
            policy.require_heartbeat,
            i64::from(policy.heartbeat_interval),
            policy.cull_dead_machines,
            policy.duration.map(i64::from),
            i64::from(policy.offline_max_days),
            i64::from(policy.grace_days),
            policy.max_uses.map(i64::from),
            policy.updated_at,
            &policy.id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .execute
    )?;
    Ok(())
}

/// Replaces the tenant's policy's entitlements (the tenant's own, as resolved), in one
/// transaction. On PostgreSQL the link table's policy admits a row only when both its
/// ends are the transaction's tenant's.
pub async fn set_entitlements(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    policy_id: &str,
    entitlement_ids: &[String],
) -> super::Result<()> {
    let mut tx = Scope::transaction(db, tenant).await?;
    run!(
        &mut tx,
        tenant,
        query(
            "DELETE FROM policy_entitlements WHERE policy_id = $1",
            policy_id
        )
        .execute
    )?;
    for id in entitlement_ids {
        run!(
            &mut tx,
            tenant,
            query(
                "INSERT INTO policy_entitlements (policy_id, entitlement_id) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
                policy_id,
                id,
            )
            .execute
        )?;
    }
    tx.commit().await
}

async fn entitlement_codes<'e>(
    db: impl sqlx::SqliteExecutor<'e>,
    policy_id: &str,
) -> super::Result<Vec<String>> {
    sqlx::query_scalar(CODES_OF_POLICY)
        .bind(policy_id)
        .fetch_all(db)
        .await
        .map_err(Into::into)
}

/// The tenant's policy with this id.
pub async fn get(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    id: &str,
) -> super::Result<Option<Policy>> {
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, tenant).await?;
            let row: Option<PgRow> = sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM policies WHERE id = $1 AND account_id = $2 AND environment = $3"
            ))
            .bind(id)
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let policy = match row {
                Some(row) => Some(pg_wire(&mut tx, row).await?),
                None => None,
            };
            tx.commit().await?;
            return Ok(policy);
        }
    };
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

/// The tenant's policy with this id, on a PostgreSQL connection inside a transaction set
/// for the tenant (the runtime batches').
pub(crate) async fn get_pg(
    conn: &mut sqlx::PgConnection,
    tenant: &Tenant,
    id: &str,
) -> super::Result<Option<Policy>> {
    let row: Option<PgRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM policies WHERE id = $1 AND account_id = $2 AND environment = $3"
    ))
    .bind(id)
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let row = Row::try_from(row)?;
    let codes: Vec<String> = sqlx::query_scalar(CODES_OF_POLICY)
        .bind(&row.id)
        .fetch_all(&mut *conn)
        .await?;
    Ok(Some(row.into_wire(codes)))
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

/// One page of the tenant's policies (optionally of one product), and how many there are.
pub async fn list(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    q: Option<&str>,
    product_id: Option<&str>,
    page: &Page,
) -> super::Result<(Vec<Policy>, u32)> {
    let like = q.map(|q| format!("%{}%", q.trim()));
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            return list_postgres(db, tenant, like.as_deref(), product_id, page).await
        }
    };
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

async fn list_postgres(
    db: &sqlx::PgPool,
    tenant: &Tenant,
    like: Option<&str>,
    product_id: Option<&str>,
    page: &Page,
) -> super::Result<(Vec<Policy>, u32)> {
    // ILIKE ignores ASCII case as SQLite's LIKE does; ties of the sort are broken by id
    // (SQLite's by rowid).
    const FILTER: &str =
        "account_id = $1 AND environment = $2 AND ($3::text IS NULL OR product_id = $3)
         AND ($4::text IS NULL OR name ILIKE $4)";
    let direction = if page.descending { "DESC" } else { "ASC" };
    let mut tx = postgres::begin_for(db, tenant).await?;
    let rows: Vec<PgRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM policies WHERE {FILTER}
         ORDER BY {column} {direction}, id {direction} LIMIT $5 OFFSET $6",
        column = page.column,
    ))
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(product_id)
    .bind(like)
    .bind(i64::from(page.limit))
    .bind(i64::from(page.offset))
    .fetch_all(&mut *tx)
    .await?;
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM policies WHERE {FILTER}"))
        .bind(&tenant.account_id)
        .bind(tenant.environment.as_str())
        .bind(product_id)
        .bind(like)
        .fetch_one(&mut *tx)
        .await?;
    let mut policies = Vec::with_capacity(rows.len());
    for row in rows {
        policies.push(pg_wire(&mut tx, row).await?);
    }
    tx.commit().await?;
    Ok((policies, postgres::to_u32(total)?))
}

/// How many of the tenant's licenses use the policy.
pub async fn license_count(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    policy_id: &str,
) -> super::Result<u32> {
    let n: i64 = run!(
        db.into(),
        tenant,
        query_scalar(
            "SELECT count(*) FROM licenses WHERE policy_id = $1 AND account_id = $2 AND environment = $3",
            policy_id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .fetch_one
    )?;
    postgres::to_u32(n)
}

/// Deletes a policy.
pub async fn delete(db: impl Into<DbRef<'_>>, tenant: &Tenant, id: &str) -> super::Result<bool> {
    let done = run!(
        db.into(),
        tenant,
        query(
            "DELETE FROM policies WHERE id = $1 AND account_id = $2 AND environment = $3",
            id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .execute
    )?;
    Ok(done == 1)
}
