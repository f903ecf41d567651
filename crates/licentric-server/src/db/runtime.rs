//! The SQL of the runtime endpoints' batch transaction (`domain::runtime`): what one batch
//! reads and writes on its one connection, many requests' rows to a statement.

use chrono::{DateTime, SecondsFormat, Utc};
use licentric_core::ValidationCode;
use serde::Serialize;
use sqlx::SqliteConnection;

use super::{licenses::LicenseRecord, machines::MachineRecord};
use crate::tenant::Tenant;

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

/// A timestamp as sqlx binds one to SQLite (RFC 3339, `+00:00`), for values that travel
/// inside a JSON array of rows: stored exactly as a bound value would be.
pub fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// Inserts `rows` into `table` in one statement, whatever their number: each row is a JSON
/// array of the `columns`' values in order, and the rows travel as one JSON array bound
/// once, so the statement's text (and its prepared form) never changes. `rest` follows the
/// `SELECT … FROM json_each(?)`: a `WHERE` on each row (`value`, its index `key`) and an
/// `ON CONFLICT` clause, its placeholders bound from `binds`. Answers the rows inserted.
pub async fn insert_rows<R: Serialize>(
    conn: &mut SqliteConnection,
    table: &str,
    columns: &[&str],
    rows: &[R],
    rest: &str,
    binds: &[Option<u32>],
) -> super::Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let values: Vec<String> = (0..columns.len())
        .map(|i| format!("value ->> {i}"))
        .collect();
    let sql = format!(
        "INSERT INTO {table} ({}) SELECT {} FROM json_each(?) {rest}",
        columns.join(", "),
        values.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(serde_json::to_string(rows)?);
    for bind in binds {
        query = query.bind(*bind);
    }
    Ok(query.execute(conn).await?.rows_affected())
}

/// Inserts machines while their license has fewer than `max` machines (`None`: no limit)
/// and each fingerprint is new to it, in one statement; answers how many were inserted.
/// The limit is the same guarded `INSERT … WHERE count < max ON CONFLICT DO NOTHING` for
/// one machine (`db::machines::insert_within_limit`) and for a batch's activations of one
/// license: SQLite evaluates the condition against the count before the statement, so the
/// k-th row (from 0) must fit beside the k before it (`count + k < max`). A row skipped as
/// a duplicate still takes its place in that sum: never more than `max`, possibly fewer,
/// which is why the batch passes only fingerprints it found absent.
pub async fn insert_machines(
    conn: &mut SqliteConnection,
    tenant: &Tenant,
    machines: &[MachineRecord],
    max: Option<u32>,
) -> super::Result<u64> {
    let rows: Vec<_> = machines
        .iter()
        .map(|m| {
            (
                (&tenant.account_id, tenant.environment.as_str()),
                (&m.id, &m.license_id, &m.fingerprint, &m.name, &m.platform),
                (
                    m.last_heartbeat_at.map(stamp),
                    stamp(m.created_at),
                    stamp(m.updated_at),
                ),
            )
        })
        .map(|((a, e), (i, l, f, n, p), (h, c, u))| (a, e, i, l, f, n, p, h, c, u))
        .collect();
    insert_rows(
        conn,
        "machines",
        &[
            "account_id",
            "environment",
            "id",
            "license_id",
            "fingerprint",
            "name",
            "platform",
            "last_heartbeat_at",
            "created_at",
            "updated_at",
        ],
        &rows,
        "WHERE ? IS NULL OR (SELECT machines_count FROM licenses WHERE id = value ->> 3) + key < ?
         ON CONFLICT (license_id, fingerprint) DO NOTHING",
        &[max, max],
    )
    .await
}

/// The license's machines with these fingerprints.
pub async fn machines_by_fingerprints(
    conn: &mut SqliteConnection,
    license_id: &str,
    fingerprints: &[&str],
) -> super::Result<Vec<MachineRecord>> {
    if fingerprints.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_as(&format!(
        "SELECT {MACHINE_COLUMNS} FROM machines
         WHERE license_id = ? AND fingerprint IN (SELECT value FROM json_each(?))"
    ))
    .bind(license_id)
    .bind(serde_json::to_string(fingerprints)?)
    .fetch_all(conn)
    .await?)
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

/// Inserts activity rows, all at `now`, in one statement ([`insert_rows`]).
pub async fn insert_activity(
    conn: &mut SqliteConnection,
    rows: &[Activity],
    now: DateTime<Utc>,
) -> super::Result<()> {
    let (day, at) = (now.date_naive().to_string(), stamp(now));
    let rows: Vec<_> = rows
        .iter()
        .map(|a| {
            (
                &a.tenant.account_id,
                a.tenant.environment.as_str(),
                a.kind,
                &a.product_id,
                &a.license_id,
                a.code.map(ValidationCode::as_str),
                &day,
                &at,
            )
        })
        .collect();
    let columns = [
        "account_id",
        "environment",
        "kind",
        "product_id",
        "license_id",
        "code",
        "day",
        "created_at",
    ];
    insert_rows(conn, "activity", &columns, &rows, "", &[]).await?;
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

/// Inserts audit events, all at `now`, in one statement ([`insert_rows`]).
pub async fn insert_audit(
    conn: &mut SqliteConnection,
    rows: &[Audit],
    now: DateTime<Utc>,
) -> super::Result<()> {
    let at = stamp(now);
    let rows: Vec<_> = rows
        .iter()
        .map(|a| {
            (
                &a.tenant.account_id,
                a.tenant.environment.as_str(),
                &at,
                a.actor_type,
                &a.actor_id,
                &a.actor_name,
                a.action,
                a.resource_type,
                &a.resource_id,
                &a.client_address,
                &a.request_id,
                &a.changes,
            )
        })
        .collect();
    let columns = [
        "account_id",
        "environment",
        "occurred_at",
        "actor_type",
        "actor_id",
        "actor_name",
        "action",
        "resource_type",
        "resource_id",
        "client_address",
        "request_id",
        "changes",
    ];
    insert_rows(conn, "audit_events", &columns, &rows, "", &[]).await?;
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

/// Queues deliveries, all due at `now`, in one statement ([`insert_rows`]).
pub async fn queue_deliveries(
    conn: &mut SqliteConnection,
    rows: &[Delivery],
    now: DateTime<Utc>,
) -> super::Result<()> {
    let at = stamp(now);
    let rows: Vec<_> = rows
        .iter()
        .map(|d| {
            (
                &d.id,
                &d.account_id,
                &d.webhook_id,
                &d.event_id,
                d.event,
                &*d.payload,
                "pending",
                &at,
                &at,
            )
        })
        .collect();
    let columns = [
        "id",
        "account_id",
        "webhook_id",
        "event_id",
        "event",
        "payload",
        "status",
        "next_attempt_at",
        "created_at",
    ];
    insert_rows(conn, "webhook_deliveries", &columns, &rows, "", &[]).await?;
    Ok(())
}

/// Whether a tenant is this one (the environment as stored).
pub fn same_tenant(record: &LicenseRecord, tenant: &Tenant) -> bool {
    record.account_id == tenant.account_id && record.environment == tenant.environment
}
