//! The SQL of the runtime endpoints' batch transaction (`domain::runtime`): what one batch
//! reads and writes on its one connection, many requests' rows to a statement.

use chrono::{DateTime, SecondsFormat, Utc};
use licentric_core::ValidationCode;
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

/// Inserts `rows` into `table` in one statement, whatever their number: each row holds the
/// `columns`' values in order (text or NULL), bound as parameters of one
/// `INSERT … SELECT column1, … FROM (VALUES (…, row), …) WHERE rowN IS NOT NULL`. The
/// VALUES list has room for the next power of two of rows (the rest bound NULL and left
/// out by that `WHERE`), so a table has at most ten statement texts (1 to 512 rows), each
/// prepared once. `rest` continues the `WHERE` (`AND …`, each row's values are `column1`…,
/// its index from 0 `column{N+1}`) and may add an `ON CONFLICT` clause; its placeholders
/// are bound from `binds`. Answers the rows inserted.
///
/// (Before, the rows travelled as one JSON array taken apart by `json_each` and `->>`:
/// SQLite parsed every row's text again for each column, 5–8 % of a validation's CPU.)
pub async fn insert_rows<const N: usize>(
    conn: &mut SqliteConnection,
    table: &str,
    columns: &[&str; N],
    rows: &[[Option<&str>; N]],
    rest: &str,
    binds: &[Option<u32>],
) -> super::Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let room = rows.len().next_power_of_two();
    let row = format!("({}?)", "?, ".repeat(N));
    let sql = format!(
        "INSERT INTO {table} ({}) SELECT {} FROM (VALUES {}) WHERE column{} IS NOT NULL {rest}",
        columns.join(", "),
        (1..=N)
            .map(|i| format!("column{i}"))
            .collect::<Vec<_>>()
            .join(", "),
        vec![row; room].join(", "),
        N + 1
    );
    let mut query = sqlx::query(&sql);
    for (index, values) in rows.iter().enumerate() {
        for value in values {
            query = query.bind(*value);
        }
        query = query.bind(i64::try_from(index).ok());
    }
    for _ in rows.len()..room {
        for _ in 0..=N {
            query = query.bind(None::<&str>);
        }
    }
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
    let stamps: Vec<_> = machines
        .iter()
        .map(|m| {
            (
                m.last_heartbeat_at.map(stamp),
                stamp(m.created_at),
                stamp(m.updated_at),
            )
        })
        .collect();
    let rows: Vec<_> = machines
        .iter()
        .zip(&stamps)
        .map(|(m, (heartbeat, created, updated))| {
            [
                Some(tenant.account_id.as_str()),
                Some(tenant.environment.as_str()),
                Some(m.id.as_str()),
                Some(m.license_id.as_str()),
                Some(m.fingerprint.as_str()),
                m.name.as_deref(),
                m.platform.as_deref(),
                heartbeat.as_deref(),
                Some(created.as_str()),
                Some(updated.as_str()),
            ]
        })
        .collect();
    let columns = [
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
    ];
    // column4 is the row's license, column11 its index in the statement.
    insert_rows(
        conn,
        "machines",
        &columns,
        &rows,
        "AND (? IS NULL OR (SELECT machines_count FROM licenses WHERE id = column4) + column11 < ?)
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
            [
                Some(a.tenant.account_id.as_str()),
                Some(a.tenant.environment.as_str()),
                Some(a.kind),
                Some(a.product_id.as_str()),
                Some(a.license_id.as_str()),
                a.code.map(ValidationCode::as_str),
                Some(day.as_str()),
                Some(at.as_str()),
            ]
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
            [
                Some(a.tenant.account_id.as_str()),
                Some(a.tenant.environment.as_str()),
                Some(at.as_str()),
                Some(a.actor_type),
                a.actor_id.as_deref(),
                a.actor_name.as_deref(),
                Some(a.action),
                Some(a.resource_type),
                Some(a.resource_id.as_str()),
                a.client_address.as_deref(),
                a.request_id.as_deref(),
                a.changes.as_deref(),
            ]
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
            [
                Some(d.id.as_str()),
                Some(d.account_id.as_str()),
                Some(d.webhook_id.as_str()),
                Some(d.event_id.as_str()),
                Some(d.event),
                Some(&*d.payload),
                Some("pending"),
                Some(at.as_str()),
                Some(at.as_str()),
            ]
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
