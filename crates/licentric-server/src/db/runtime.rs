//! The SQL of the runtime endpoints' batch transaction (`domain::runtime`): what one batch
//! reads and writes on its one connection, many requests' rows to a statement.

use chrono::{DateTime, Utc};
use licentric_core::ValidationCode;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::{licenses::LicenseRecord, machines::MachineRecord};
use crate::tenant::Tenant;

/// Rows per multi-row `INSERT`: well under SQLite's limit of bound parameters.
const ROWS_PER_INSERT: usize = 400;

const MACHINE_COLUMNS: &str =
    "id, license_id, fingerprint, name, platform, last_heartbeat_at, created_at, updated_at";

/// The number every write to what the runtime keeps in memory moves (migration 0014).
pub async fn generation(conn: &mut SqliteConnection) -> super::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT value FROM runtime_generation WHERE id = 1")
            .fetch_one(conn)
            .await?,
    )
}

/// A license by its (normalised) key, in any account.
pub async fn license_by_key(
    conn: &mut SqliteConnection,
    key: &str,
) -> super::Result<Option<LicenseRecord>> {
    Ok(
        sqlx::query_as(&format!("{} WHERE l.key = ?", super::licenses::SELECT))
            .bind(key)
            .fetch_optional(conn)
            .await?,
    )
}

/// The tenant's license with this id.
pub async fn license_by_id(
    conn: &mut SqliteConnection,
    tenant: &Tenant,
    id: &str,
) -> super::Result<Option<LicenseRecord>> {
    Ok(sqlx::query_as(&format!(
        "{} WHERE l.id = ? AND l.account_id = ? AND l.environment = ?",
        super::licenses::SELECT
    ))
    .bind(id)
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .fetch_optional(conn)
    .await?)
}

/// Counts `n` validations of a license at once; answers its use count after them and its
/// machines now. `None` when the license is gone.
pub async fn count_uses(
    conn: &mut SqliteConnection,
    license_id: &str,
    n: u32,
) -> super::Result<Option<(u32, u32)>> {
    Ok(sqlx::query_as(
        "UPDATE licenses SET uses = uses + ? WHERE id = ? RETURNING uses, machines_count",
    )
    .bind(n)
    .bind(license_id)
    .fetch_optional(conn)
    .await?)
}

/// A license's use count and machines now.
pub async fn usage(
    conn: &mut SqliteConnection,
    license_id: &str,
) -> super::Result<Option<(u32, u32)>> {
    Ok(
        sqlx::query_as("SELECT uses, machines_count FROM licenses WHERE id = ?")
            .bind(license_id)
            .fetch_optional(conn)
            .await?,
    )
}

/// The license's machine with this fingerprint.
pub async fn machine_by_fingerprint(
    conn: &mut SqliteConnection,
    license_id: &str,
    fingerprint: &str,
) -> super::Result<Option<MachineRecord>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {MACHINE_COLUMNS} FROM machines WHERE license_id = ? AND fingerprint = ?"
    ))
    .bind(license_id)
    .bind(fingerprint)
    .fetch_optional(conn)
    .await?)
}

/// The tenant's machine with this id.
pub async fn machine(
    conn: &mut SqliteConnection,
    tenant: &Tenant,
    id: &str,
) -> super::Result<Option<MachineRecord>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {MACHINE_COLUMNS} FROM machines WHERE id = ? AND account_id = ? AND environment = ?"
    ))
    .bind(id)
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .fetch_optional(conn)
    .await?)
}

/// All of a license's machines, oldest first.
pub async fn machines_of(
    conn: &mut SqliteConnection,
    license_id: &str,
) -> super::Result<Vec<MachineRecord>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {MACHINE_COLUMNS} FROM machines WHERE license_id = ? ORDER BY created_at ASC, rowid ASC"
    ))
    .bind(license_id)
    .fetch_all(conn)
    .await?)
}

/// Deletes a machine; `false` when it was gone already.
pub async fn delete_machine(conn: &mut SqliteConnection, id: &str) -> super::Result<bool> {
    let done = sqlx::query("DELETE FROM machines WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Inserts a machine while its license has fewer than `max` machines (`None`: no limit)
/// and the fingerprint is not on the license yet; `false` when either is not so.
pub async fn insert_machine(
    conn: &mut SqliteConnection,
    tenant: &Tenant,
    machine: &MachineRecord,
    max: Option<u32>,
) -> super::Result<bool> {
    let done = sqlx::query(&format!(
        "INSERT INTO machines (account_id, environment, {MACHINE_COLUMNS})
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
         WHERE ? IS NULL OR (SELECT machines_count FROM licenses WHERE id = ?) < ?
         ON CONFLICT (license_id, fingerprint) DO NOTHING"
    ))
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(&machine.id)
    .bind(&machine.license_id)
    .bind(&machine.fingerprint)
    .bind(&machine.name)
    .bind(&machine.platform)
    .bind(machine.last_heartbeat_at)
    .bind(machine.created_at)
    .bind(machine.updated_at)
    .bind(max)
    .bind(&machine.license_id)
    .bind(max)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a heartbeat of the tenant's machine (of `license_id`, when given); answers the
/// machine after it, `None` when there is no such machine.
pub async fn heartbeat(
    conn: &mut SqliteConnection,
    tenant: &Tenant,
    id: &str,
    now: DateTime<Utc>,
) -> super::Result<Option<MachineRecord>> {
    Ok(sqlx::query_as(&format!(
        "UPDATE machines SET last_heartbeat_at = ?, updated_at = ?, death_recorded_at = NULL
         WHERE id = ? AND account_id = ? AND environment = ?
         RETURNING {MACHINE_COLUMNS}"
    ))
    .bind(now)
    .bind(now)
    .bind(id)
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .fetch_optional(conn)
    .await?)
}

/// One activity row (`db::activity::record`'s, for many at once).
#[derive(Debug, Clone)]
pub struct Activity {
    /// Its tenant.
    pub tenant: Tenant,
    /// `validation`, `activation` or `deactivation`.
    pub kind: &'static str,
    /// A validation's code.
    pub code: Option<ValidationCode>,
    /// The license's product.
    pub product_id: String,
    /// The license.
    pub license_id: String,
}

/// Inserts activity rows, all at `now`.
pub async fn insert_activity(
    conn: &mut SqliteConnection,
    rows: &[Activity],
    now: DateTime<Utc>,
) -> super::Result<()> {
    let day = now.date_naive().to_string();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO activity (account_id, environment, kind, product_id, license_id, code, day, created_at) ",
        );
        query.push_values(chunk, |mut row, a| {
            row.push_bind(&a.tenant.account_id)
                .push_bind(a.tenant.environment.as_str())
                .push_bind(a.kind)
                .push_bind(&a.product_id)
                .push_bind(&a.license_id)
                .push_bind(a.code.map(ValidationCode::as_str))
                .push_bind(&day)
                .push_bind(now);
        });
        query.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// One audit event (`db::audit::insert`'s, for many at once).
#[derive(Debug, Clone)]
pub struct Audit {
    /// Its tenant.
    pub tenant: Tenant,
    /// `anonymous`, `license`, `api_key` or `system`.
    pub actor_type: &'static str,
    /// The actor's id.
    pub actor_id: Option<String>,
    /// The actor's name.
    pub actor_name: Option<String>,
    /// What was done.
    pub action: &'static str,
    /// The kind of record.
    pub resource_type: &'static str,
    /// Its id.
    pub resource_id: String,
    /// The client's address.
    pub client_address: Option<String>,
    /// The request's id.
    pub request_id: Option<String>,
    /// What changed, as JSON text.
    pub changes: Option<String>,
}

/// Inserts audit events, all at `now`.
pub async fn insert_audit(
    conn: &mut SqliteConnection,
    rows: &[Audit],
    now: DateTime<Utc>,
) -> super::Result<()> {
    for chunk in rows.chunks(ROWS_PER_INSERT / 2) {
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO audit_events (account_id, environment, occurred_at, actor_type, actor_id, actor_name,
                                       action, resource_type, resource_id, client_address, request_id, changes) ",
        );
        query.push_values(chunk, |mut row, a| {
            row.push_bind(&a.tenant.account_id)
                .push_bind(a.tenant.environment.as_str())
                .push_bind(now)
                .push_bind(a.actor_type)
                .push_bind(&a.actor_id)
                .push_bind(&a.actor_name)
                .push_bind(a.action)
                .push_bind(a.resource_type)
                .push_bind(&a.resource_id)
                .push_bind(&a.client_address)
                .push_bind(&a.request_id)
                .push_bind(&a.changes);
        });
        query.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// One webhook delivery to queue (`db::webhooks::queue`'s, for many at once).
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The delivery's id.
    pub id: String,
    /// The owning account.
    pub account_id: String,
    /// The endpoint.
    pub webhook_id: String,
    /// The event's id.
    pub event_id: String,
    /// The event type.
    pub event: &'static str,
    /// The exact body to send.
    pub payload: std::sync::Arc<str>,
}

/// Queues deliveries, all due at `now`.
pub async fn queue_deliveries(
    conn: &mut SqliteConnection,
    rows: &[Delivery],
    now: DateTime<Utc>,
) -> super::Result<()> {
    for chunk in rows.chunks(ROWS_PER_INSERT / 2) {
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO webhook_deliveries (id, account_id, webhook_id, event_id, event, payload, status, next_attempt_at, created_at) ",
        );
        query.push_values(chunk, |mut row, d| {
            row.push_bind(&d.id)
                .push_bind(&d.account_id)
                .push_bind(&d.webhook_id)
                .push_bind(&d.event_id)
                .push_bind(d.event)
                .push_bind(&*d.payload)
                .push_bind("pending")
                .push_bind(now)
                .push_bind(now);
        });
        query.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Whether a tenant is this one (the environment as stored).
pub fn same_tenant(record: &LicenseRecord, tenant: &Tenant) -> bool {
    record.account_id == tenant.account_id && record.environment == tenant.environment
}
