//! The SQL of the runtime endpoints' batch transaction (`domain::runtime`): what one batch
//! reads and writes on its one connection, many requests' rows to a statement, on SQLite
//! (inside `BEGIN IMMEDIATE`) or PostgreSQL (inside a transaction that is moved from
//! tenant to tenant as the batch goes; row locks keep the limits exact).

use chrono::{DateTime, SecondsFormat, Utc};
use licentric_core::ValidationCode;
use sqlx::{PgConnection, SqliteConnection};

use super::{licenses::LicenseRecord, machines::MachineRecord, postgres};
use crate::tenant::Tenant;

/// The connection of a batch's transaction.
#[derive(Debug)]
pub enum Conn<'c> {
    /// SQLite, inside `BEGIN IMMEDIATE` (the write lock is held from the first read).
    Sqlite(&'c mut SqliteConnection),
    /// PostgreSQL, inside a transaction; `tenant` is the one its settings are set for.
    Postgres {
        /// The connection.
        conn: &'c mut PgConnection,
        /// The tenant the row-level security policies see now.
        tenant: Option<Tenant>,
    },
}

impl Conn<'_> {
    /// PostgreSQL's connection, set for `tenant` (one round trip when it moves).
    async fn pg_for(&mut self, tenant: &Tenant) -> super::Result<Option<&mut PgConnection>> {
        match self {
            Self::Sqlite(_) => Ok(None),
            Self::Postgres { conn, tenant: set } => {
                if set.as_ref() != Some(tenant) {
                    set_tenant(conn, tenant).await?;
                    *set = Some(tenant.clone());
                }
                Ok(Some(&mut **conn))
            }
        }
    }
}

async fn set_tenant(conn: &mut PgConnection, tenant: &Tenant) -> super::Result<()> {
    sqlx::query(
        "SELECT set_config('licentric.account_id', $1, true), set_config('licentric.environment', $2, true)",
    )
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

const MACHINE_COLUMNS: &str =
    "id, license_id, fingerprint, name, platform, last_heartbeat_at, created_at, updated_at";

/// The number every write to what the runtime keeps in memory moves (SQLite's migration
/// 0014). On PostgreSQL the sum of every tenant's row (migration 0010): read in the batch's
/// transaction, it moves with any write another process committed before the batch began.
pub async fn generation(conn: &mut Conn<'_>) -> super::Result<i64> {
    match conn {
        Conn::Sqlite(conn) => Ok(sqlx::query_scalar(
            "SELECT value FROM runtime_generation WHERE id = 1",
        )
        .fetch_one(&mut **conn)
        .await?),
        Conn::Postgres { conn, .. } => {
            Ok(sqlx::query_scalar("SELECT licentric_runtime_generation()")
                .fetch_one(&mut **conn)
                .await?)
        }
    }
}

/// A license by its (normalised) key, in any account.
pub async fn license_by_key(
    conn: &mut Conn<'_>,
    key: &str,
) -> super::Result<Option<LicenseRecord>> {
    let pg = match conn {
        Conn::Sqlite(conn) => {
            return Ok(
                sqlx::query_as(&format!("{} WHERE l.key = ?", super::licenses::SELECT))
                    .bind(key)
                    .fetch_optional(&mut **conn)
                    .await?,
            )
        }
        Conn::Postgres { conn, .. } => conn,
    };
    if !postgres::storable(key) {
        return Ok(None);
    }
    // The tenant first, through the narrow lookup; then the license as its tenant.
    let row: Option<(String, String, String)> = sqlx::query_as(
        "SELECT account_id, environment, license_id FROM licentric_license_by_key($1)",
    )
    .bind(key)
    .fetch_optional(&mut **pg)
    .await?;
    let Some((account_id, environment, id)) = row else {
        return Ok(None);
    };
    let tenant = Tenant {
        account_id,
        environment: environment.parse().map_err(super::Error::from)?,
    };
    license_by_id(conn, &tenant, &id).await
}

/// The tenant's license with this id.
pub async fn license_by_id(
    conn: &mut Conn<'_>,
    tenant: &Tenant,
    id: &str,
) -> super::Result<Option<LicenseRecord>> {
    if let Some(pg) = conn.pg_for(tenant).await? {
        return super::licenses::get_pg(pg, tenant, id).await;
    }
    let conn = sqlite(conn);
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
/// machines now. `None` when the license is gone. On PostgreSQL the `UPDATE` takes the
/// license row's lock until the batch commits: another process's batch counting the same
/// license waits, then counts on top (consecutive counts, exact `maxUses`).
pub async fn count_uses(
    conn: &mut Conn<'_>,
    tenant: &Tenant,
    license_id: &str,
    n: u32,
) -> super::Result<Option<(u32, u32)>> {
    if let Some(pg) = conn.pg_for(tenant).await? {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "UPDATE licenses SET uses = uses + $1 WHERE id = $2 RETURNING uses, machines_count",
        )
        .bind(i64::from(n))
        .bind(license_id)
        .fetch_optional(pg)
        .await?;
        return counts(row);
    }
    let conn = sqlite(conn);
    Ok(sqlx::query_as(
        "UPDATE licenses SET uses = uses + ? WHERE id = ? RETURNING uses, machines_count",
    )
    .bind(n)
    .bind(license_id)
    .fetch_optional(conn)
    .await?)
}

/// A license's use count and machines now. On PostgreSQL the read locks the license row
/// (`FOR UPDATE`) until the batch commits: the machines decided from this count are
/// inserted before any other process can read it (exact `maxMachines`).
pub async fn usage(
    conn: &mut Conn<'_>,
    tenant: &Tenant,
    license_id: &str,
) -> super::Result<Option<(u32, u32)>> {
    if let Some(pg) = conn.pg_for(tenant).await? {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT uses, machines_count FROM licenses WHERE id = $1 FOR UPDATE")
                .bind(license_id)
                .fetch_optional(pg)
                .await?;
        return counts(row);
    }
    let conn = sqlite(conn);
    Ok(
        sqlx::query_as("SELECT uses, machines_count FROM licenses WHERE id = ?")
            .bind(license_id)
            .fetch_optional(conn)
            .await?,
    )
}

/// A license's use count and machines, counting `add` validations first (`Some`, as
/// [`count_uses`]) or not (`None`, as [`usage`], which locks the row on PostgreSQL), and
/// its machines with these fingerprints: on SQLite one round trip to sqlx's SQLite thread
/// (the two statements as one [`Script`]), on PostgreSQL the two statements. `None` for the
/// counts when the license is gone.
pub async fn counts_and_machines(
    conn: &mut Conn<'_>,
    tenant: &Tenant,
    license_id: &str,
    add: Option<u32>,
    fingerprints: &[&str],
) -> super::Result<(Option<(u32, u32)>, Vec<MachineRecord>)> {
    if let Conn::Postgres { .. } = conn {
        let counts = match add {
            Some(n) => count_uses(&mut *conn, tenant, license_id, n).await?,
            None => usage(&mut *conn, tenant, license_id).await?,
        };
        let machines = machines_by_fingerprints(conn, tenant, license_id, fingerprints).await?;
        return Ok((counts, machines));
    }
    let conn = sqlite(conn);
    let fingerprints = if fingerprints.is_empty() {
        None
    } else {
        Some(serde_json::to_string(fingerprints)?)
    };
    let mut script = Script::default();
    match add {
        Some(n) => script.push(
            "UPDATE licenses SET uses = uses + ? WHERE id = ? RETURNING uses, machines_count",
            [Bind::Int(Some(i64::from(n))), Bind::Text(Some(license_id))],
        ),
        None => script.push(
            "SELECT uses, machines_count FROM licenses WHERE id = ?",
            [Bind::Text(Some(license_id))],
        ),
    }
    if let Some(fingerprints) = &fingerprints {
        script.push(
            &format!(
                "SELECT {MACHINE_COLUMNS} FROM machines
                 WHERE license_id = ? AND fingerprint IN (SELECT value FROM json_each(?))"
            ),
            [
                Bind::Text(Some(license_id)),
                Bind::Text(Some(fingerprints.as_str())),
            ],
        );
    }
    let mut counts = None;
    let mut machines = Vec::new();
    for row in script.fetch_all(conn).await? {
        // The counts' row has two columns, a machine's eight.
        if sqlx::Row::len(&row) == 2 {
            counts = Some((sqlx::Row::try_get(&row, 0)?, sqlx::Row::try_get(&row, 1)?));
        } else {
            machines.push(<MachineRecord as sqlx::FromRow<_>>::from_row(&row)?);
        }
    }
    Ok((counts, machines))
}

fn counts(row: Option<(i64, i64)>) -> super::Result<Option<(u32, u32)>> {
    row.map(|(uses, machines)| Ok((postgres::to_u32(uses)?, postgres::to_u32(machines)?)))
        .transpose()
}

/// SQLite's connection of a `Conn` that is not PostgreSQL's.
fn sqlite<'a>(conn: &'a mut Conn<'_>) -> &'a mut SqliteConnection {
    match conn {
        Conn::Sqlite(conn) => conn,
        Conn::Postgres { .. } => unreachable!("pg_for answered the PostgreSQL connection"),
    }
}

/// The license's machine with this fingerprint.
pub async fn machine_by_fingerprint(
    conn: &mut Conn<'_>,
    tenant: &Tenant,
    license_id: &str,
    fingerprint: &str,
) -> super::Result<Option<MachineRecord>> {
    if !postgres::storable(fingerprint) {
        if let Conn::Postgres { .. } = conn {
            return Ok(None);
        }
    }
    if let Some(pg) = conn.pg_for(tenant).await? {
        return Ok(sqlx::query_as(&format!(
            "SELECT {MACHINE_COLUMNS} FROM machines WHERE license_id = $1 AND fingerprint = $2"
        ))
        .bind(license_id)
        .bind(fingerprint)
        .fetch_optional(pg)
        .await?);
    }
    let conn = sqlite(conn);
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
    conn: &mut Conn<'_>,
    tenant: &Tenant,
    id: &str,
) -> super::Result<Option<MachineRecord>> {
    if let Some(pg) = conn.pg_for(tenant).await? {
        return Ok(sqlx::query_as(&format!(
            "SELECT {MACHINE_COLUMNS} FROM machines WHERE id = $1 AND account_id = $2 AND environment = $3"
        ))
        .bind(id)
        .bind(&tenant.account_id)
        .bind(tenant.environment.as_str())
        .fetch_optional(pg)
        .await?);
    }
    let conn = sqlite(conn);
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
    conn: &mut Conn<'_>,
    tenant: &Tenant,
    license_id: &str,
) -> super::Result<Vec<MachineRecord>> {
    if let Some(pg) = conn.pg_for(tenant).await? {
        return Ok(sqlx::query_as(&format!(
            "SELECT {MACHINE_COLUMNS} FROM machines WHERE license_id = $1 ORDER BY created_at ASC, rowid ASC"
        ))
        .bind(license_id)
        .fetch_all(pg)
        .await?);
    }
    let conn = sqlite(conn);
    Ok(sqlx::query_as(&format!(
        "SELECT {MACHINE_COLUMNS} FROM machines WHERE license_id = ? ORDER BY created_at ASC, rowid ASC"
    ))
    .bind(license_id)
    .fetch_all(conn)
    .await?)
}

/// Deletes a machine; `false` when it was gone already.
pub async fn delete_machine(conn: &mut Conn<'_>, tenant: &Tenant, id: &str) -> super::Result<bool> {
    if let Some(pg) = conn.pg_for(tenant).await? {
        let done = sqlx::query("DELETE FROM machines WHERE id = $1")
            .bind(id)
            .execute(pg)
            .await?;
        return Ok(done.rows_affected() == 1);
    }
    let conn = sqlite(conn);
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

/// One value bound to a [`Script`].
#[derive(Debug, Clone, Copy)]
pub enum Bind<'q> {
    /// Text or NULL.
    Text(Option<&'q str>),
    /// An integer or NULL.
    Int(Option<i64>),
}

/// Several SQLite statements sent to sqlx's SQLite thread as one text, so that they cost
/// one round trip to that thread (a message there and a wake-up back) instead of one each.
/// sqlx runs the statements of a text in order and binds each one's `?` from the values
/// left after the statements before it; a statement that fails stops the rest (the
/// batch's transaction is then rolled back by its caller, which closes the connection).
/// Each distinct text is prepared once per connection and kept.
#[derive(Debug, Default)]
pub struct Script<'q> {
    sql: String,
    binds: Vec<Bind<'q>>,
}

impl<'q> Script<'q> {
    /// Appends a statement (without its `;`) and its values.
    pub fn push(&mut self, statement: &str, binds: impl IntoIterator<Item = Bind<'q>>) {
        if !self.sql.is_empty() {
            self.sql.push_str(";\n");
        }
        self.sql.push_str(statement);
        self.binds.extend(binds);
    }

    /// Whether no statement was pushed.
    pub fn is_empty(&self) -> bool {
        self.sql.is_empty()
    }

    fn query(&self) -> sqlx::query::Query<'_, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'_>> {
        let mut query = sqlx::query(&self.sql);
        for bind in &self.binds {
            query = match *bind {
                Bind::Text(text) => query.bind(text),
                Bind::Int(int) => query.bind(int),
            };
        }
        query
    }

    /// Runs the statements; answers the rows changed (summed over them).
    pub async fn execute(&self, conn: &mut SqliteConnection) -> super::Result<u64> {
        Ok(self.query().execute(conn).await?.rows_affected())
    }

    /// Runs the statements; answers every row they return, in order.
    pub async fn fetch_all(
        &self,
        conn: &mut SqliteConnection,
    ) -> super::Result<Vec<sqlx::sqlite::SqliteRow>> {
        Ok(self.query().fetch_all(conn).await?)
    }
}

/// Appends to `script` the insert of `rows` into `table` in one statement, whatever their
/// number: each row holds the `columns`' values in order (text or NULL), bound as
/// parameters of one `INSERT … SELECT column1, … FROM (VALUES (…, row), …) WHERE rowN IS
/// NOT NULL`. The VALUES list has room for the next power of two of rows (the rest bound
/// NULL and left out by that `WHERE`), so a table has at most ten statement texts (1 to
/// 512 rows), each prepared once. `rest` continues the `WHERE` (`AND …`, each row's values
/// are `column1`…, its index from 0 `column{N+1}`) and may add an `ON CONFLICT` clause;
/// its placeholders are bound from `binds`. No rows: nothing is appended.
///
/// Without an `ON CONFLICT` clause of its own the statement is `INSERT OR FAIL`: a row
/// that breaks a constraint stops it with an error, as `INSERT` would, but keeps the rows
/// before it rather than undoing them, so SQLite need not keep a statement journal (a copy
/// of every page the statement changes, to undo the statement alone): measured with
/// these tables' indexes and triggers, 32 validations' activity and audit rows a batch,
/// about 21 against 15 µs per validation. Nothing here survives such an error: the batch's
/// transaction is rolled back whole (its caller closes the connection) and its requests
/// are tried one by one.
///
/// (Before, the rows travelled as one JSON array taken apart by `json_each` and `->>`:
/// SQLite parsed every row's text again for each column, 5–8 % of a validation's CPU.)
pub fn push_rows<'q, const N: usize>(
    script: &mut Script<'q>,
    table: &str,
    columns: &[&str; N],
    rows: &[[Option<&'q str>; N]],
    rest: &str,
    binds: &[Option<u32>],
) {
    if rows.is_empty() {
        return;
    }
    let room = rows.len().next_power_of_two();
    let row = format!("({}?)", "?, ".repeat(N));
    // `OR FAIL` unless the statement resolves conflicts itself (see the doc above).
    let or_fail = if rest.contains("ON CONFLICT") {
        ""
    } else {
        " OR FAIL"
    };
    let sql = format!(
        "INSERT{or_fail} INTO {table} ({}) SELECT {} FROM (VALUES {}) WHERE column{} IS NOT NULL {rest}",
        columns.join(", "),
        (1..=N)
            .map(|i| format!("column{i}"))
            .collect::<Vec<_>>()
            .join(", "),
        vec![row; room].join(", "),
        N + 1
    );
    let mut values = Vec::with_capacity(room * (N + 1) + binds.len());
    for (index, row) in rows.iter().enumerate() {
        values.extend(row.iter().map(|value| Bind::Text(*value)));
        values.push(Bind::Int(i64::try_from(index).ok()));
    }
    values.extend((rows.len() * (N + 1)..room * (N + 1)).map(|_| Bind::Text(None)));
    values.extend(binds.iter().map(|bind| Bind::Int(bind.map(i64::from))));
    script.push(&sql, values);
}

/// Inserts `rows` into `table` in one statement ([`push_rows`]); answers the rows inserted.
pub async fn insert_rows<const N: usize>(
    conn: &mut SqliteConnection,
    table: &str,
    columns: &[&str; N],
    rows: &[[Option<&str>; N]],
    rest: &str,
    binds: &[Option<u32>],
) -> super::Result<u64> {
    let mut script = Script::default();
    push_rows(&mut script, table, columns, rows, rest, binds);
    if script.is_empty() {
        return Ok(0);
    }
    script.execute(conn).await
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
    conn: &mut Conn<'_>,
    tenant: &Tenant,
    machines: &[MachineRecord],
    max: Option<u32>,
) -> super::Result<u64> {
    if let Some(pg) = conn.pg_for(tenant).await? {
        return insert_machines_pg(pg, tenant, machines, max).await;
    }
    let conn = sqlite(conn);
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

/// PostgreSQL's [`insert_machines`]: the license rows are locked first (`FOR UPDATE`:
/// another process's activations of them wait for this batch's commit), then the same
/// guarded insert, with `WITH ORDINALITY` giving each row its place k: PostgreSQL, too,
/// judges every row of an `INSERT … SELECT` against the count before the statement.
async fn insert_machines_pg(
    pg: &mut PgConnection,
    tenant: &Tenant,
    machines: &[MachineRecord],
    max: Option<u32>,
) -> super::Result<u64> {
    if machines.is_empty() {
        return Ok(0);
    }
    let column = |f: fn(&MachineRecord) -> Option<String>| -> Vec<Option<String>> {
        machines.iter().map(f).collect()
    };
    let licenses = column(|m| Some(m.license_id.clone()));
    sqlx::query("SELECT 1 FROM licenses WHERE id = ANY($1) FOR UPDATE")
        .bind(&licenses)
        .execute(&mut *pg)
        .await?;
    let done = sqlx::query(
        "INSERT INTO machines (account_id, environment, id, license_id, fingerprint, name, platform,
                               last_heartbeat_at, created_at, updated_at)
         SELECT $1, $2, r.id, r.license_id, r.fingerprint, r.name, r.platform, r.hb, r.created, r.updated
           FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                       $8::timestamptz[], $9::timestamptz[], $10::timestamptz[])
                WITH ORDINALITY AS r(id, license_id, fingerprint, name, platform, hb, created, updated, k)
          WHERE $11::bigint IS NULL
             OR (SELECT machines_count FROM licenses WHERE id = r.license_id) + r.k - 1 < $11
         ON CONFLICT (license_id, fingerprint) DO NOTHING",
    )
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(column(|m| Some(m.id.clone())))
    .bind(&licenses)
    .bind(column(|m| Some(m.fingerprint.clone())))
    .bind(column(|m| m.name.clone()))
    .bind(column(|m| m.platform.clone()))
    .bind(machines.iter().map(|m| m.last_heartbeat_at).collect::<Vec<_>>())
    .bind(machines.iter().map(|m| m.created_at).collect::<Vec<_>>())
    .bind(machines.iter().map(|m| m.updated_at).collect::<Vec<_>>())
    .bind(max.map(i64::from))
    .execute(pg)
    .await?;
    Ok(done.rows_affected())
}

/// The license's machines with these fingerprints.
pub async fn machines_by_fingerprints(
    conn: &mut Conn<'_>,
    tenant: &Tenant,
    license_id: &str,
    fingerprints: &[&str],
) -> super::Result<Vec<MachineRecord>> {
    if fingerprints.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(pg) = conn.pg_for(tenant).await? {
        // A text PostgreSQL cannot hold (a NUL) names no machine.
        let fingerprints: Vec<&str> = fingerprints
            .iter()
            .copied()
            .filter(|f| postgres::storable(f))
            .collect();
        return Ok(sqlx::query_as(&format!(
            "SELECT {MACHINE_COLUMNS} FROM machines WHERE license_id = $1 AND fingerprint = ANY($2)"
        ))
        .bind(license_id)
        .bind(&fingerprints)
        .fetch_all(pg)
        .await?);
    }
    let conn = sqlite(conn);
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
    conn: &mut Conn<'_>,
    tenant: &Tenant,
    id: &str,
    now: DateTime<Utc>,
) -> super::Result<Option<MachineRecord>> {
    if let Some(pg) = conn.pg_for(tenant).await? {
        return Ok(sqlx::query_as(&format!(
            "UPDATE machines SET last_heartbeat_at = $1, updated_at = $1, death_recorded_at = NULL
             WHERE id = $2 AND account_id = $3 AND environment = $4
             RETURNING {MACHINE_COLUMNS}"
        ))
        .bind(now)
        .bind(id)
        .bind(&tenant.account_id)
        .bind(tenant.environment.as_str())
        .fetch_optional(pg)
        .await?);
    }
    let conn = sqlite(conn);
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

/// A machine with its tenant, as a statement over several tenants' machines reads it.
#[derive(sqlx::FromRow)]
struct OwnedMachine {
    account_id: String,
    environment: String,
    #[sqlx(flatten)]
    machine: MachineRecord,
}

/// `rows` (machines of any tenant) answered for each asked `(tenant, id)` in order: the
/// machine with that id if it is that tenant's, else `None` (another tenant's machine is
/// no machine, as everywhere).
fn aligned(
    asked: &[(&Tenant, &str)],
    rows: impl IntoIterator<Item = (String, String, MachineRecord)>,
) -> Vec<Option<MachineRecord>> {
    let found: std::collections::HashMap<String, (String, String, MachineRecord)> = rows
        .into_iter()
        .map(|(account, environment, m)| (m.id.clone(), (account, environment, m)))
        .collect();
    asked
        .iter()
        .map(|(tenant, id)| {
            found
                .get(*id)
                .filter(|(account, environment, _)| {
                    *account == tenant.account_id && environment == tenant.environment.as_str()
                })
                .map(|(_, _, m)| m.clone())
        })
        .collect()
}

/// The asked tenants' machines by id, for a batch's heartbeats. Answers each
/// `(tenant, id)` in order ([`machines_of_batch`]).
pub async fn machines_by_ids(
    conn: &mut Conn<'_>,
    asked: &[(&Tenant, &str)],
) -> super::Result<Vec<Option<MachineRecord>>> {
    machines_of_batch(conn, asked, None).await
}

/// Records the heartbeats of a batch at `now`. Answers each `(tenant, id)` in order: the
/// machine after the heartbeat, `None` when that tenant has no such machine (on
/// PostgreSQL another process may delete one between the batch's read and this update).
/// An id asked many times is updated once ([`machines_of_batch`]).
pub async fn heartbeats(
    conn: &mut Conn<'_>,
    asked: &[(&Tenant, &str)],
    now: DateTime<Utc>,
) -> super::Result<Vec<Option<MachineRecord>>> {
    machines_of_batch(conn, asked, Some(now)).await
}

/// The asked tenants' machines by id, read as they are or, with `heartbeat_at`, after a
/// heartbeat then (`UPDATE … RETURNING`): one statement for the whole batch on SQLite
/// (its tenants' machines, matched to each request's tenant here), one per tenant on
/// PostgreSQL (row-level security sees one tenant at a time). Answers each `(tenant, id)`
/// in order; an id asked many times is read (or updated) once.
async fn machines_of_batch(
    conn: &mut Conn<'_>,
    asked: &[(&Tenant, &str)],
    heartbeat_at: Option<DateTime<Utc>>,
) -> super::Result<Vec<Option<MachineRecord>>> {
    if asked.is_empty() {
        return Ok(Vec::new());
    }
    if let Conn::Sqlite(sqlite) = conn {
        let ids: Vec<&str> = asked.iter().map(|(_, id)| *id).collect();
        let sql = match heartbeat_at {
            None => format!(
                "SELECT account_id, environment, {MACHINE_COLUMNS} FROM machines
                 WHERE id IN (SELECT value FROM json_each(?1))"
            ),
            Some(_) => format!(
                "UPDATE OR FAIL machines
                    SET last_heartbeat_at = ?2, updated_at = ?2, death_recorded_at = NULL
                 WHERE id IN (SELECT value FROM json_each(?1))
                 RETURNING account_id, environment, {MACHINE_COLUMNS}"
            ),
        };
        let mut query = sqlx::query_as::<_, OwnedMachine>(&sql).bind(serde_json::to_string(&ids)?);
        if let Some(now) = heartbeat_at {
            query = query.bind(now);
        }
        let rows = query.fetch_all(&mut **sqlite).await?;
        return Ok(aligned(
            asked,
            rows.into_iter()
                .map(|r| (r.account_id, r.environment, r.machine)),
        ));
    }
    let sql = match heartbeat_at {
        None => format!(
            "SELECT {MACHINE_COLUMNS} FROM machines
             WHERE id = ANY($1) AND account_id = $2 AND environment = $3"
        ),
        Some(_) => format!(
            "UPDATE machines SET last_heartbeat_at = $4, updated_at = $4, death_recorded_at = NULL
             WHERE id = ANY($1) AND account_id = $2 AND environment = $3
             RETURNING {MACHINE_COLUMNS}"
        ),
    };
    let mut rows = Vec::new();
    for (tenant, members) in by_tenant(asked, |(tenant, _)| *tenant) {
        let ids: Vec<&str> = members
            .iter()
            .map(|(_, id)| *id)
            .filter(|id| postgres::storable(id))
            .collect();
        let Some(pg) = conn.pg_for(tenant).await? else {
            continue;
        };
        let mut query = sqlx::query_as::<_, MachineRecord>(&sql)
            .bind(&ids)
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str());
        if let Some(now) = heartbeat_at {
            query = query.bind(now);
        }
        let found = query.fetch_all(pg).await?;
        let (account, environment) = (&tenant.account_id, tenant.environment.as_str());
        rows.extend(
            found
                .into_iter()
                .map(|m| (account.clone(), environment.to_owned(), m)),
        );
    }
    Ok(aligned(asked, rows))
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
    conn: &mut Conn<'_>,
    rows: &[Activity],
    now: DateTime<Utc>,
) -> super::Result<()> {
    if let Conn::Postgres { .. } = conn {
        for (tenant, rows) in by_tenant(rows, |a| &a.tenant) {
            let Some(pg) = conn.pg_for(tenant).await? else {
                continue;
            };
            sqlx::query(
                "INSERT INTO activity (account_id, environment, kind, product_id, license_id, code, day, created_at)
                 SELECT $1, $2, r.kind, r.product_id, r.license_id, r.code, $3, $4
                   FROM unnest($5::text[], $6::text[], $7::text[], $8::text[])
                        AS r(kind, product_id, license_id, code)",
            )
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .bind(now.date_naive().to_string())
            .bind(now)
            .bind(rows.iter().map(|a| a.kind).collect::<Vec<_>>())
            .bind(rows.iter().map(|a| a.product_id.as_str()).collect::<Vec<_>>())
            .bind(rows.iter().map(|a| a.license_id.as_str()).collect::<Vec<_>>())
            .bind(rows.iter().map(|a| a.code.map(ValidationCode::as_str)).collect::<Vec<_>>())
            .execute(pg)
            .await?;
        }
        return Ok(());
    }
    let conn = sqlite(conn);
    let (day, at) = (now.date_naive().to_string(), stamp(now));
    let mut script = Script::default();
    push_activity(&mut script, rows, &day, &at);
    if !script.is_empty() {
        script.execute(conn).await?;
    }
    Ok(())
}

/// Appends the insert of activity rows on `day`, at `at` (as [`stamp`]), to `script`.
fn push_activity<'q>(script: &mut Script<'q>, rows: &'q [Activity], day: &'q str, at: &'q str) {
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
                Some(day),
                Some(at),
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
    push_rows(script, "activity", &columns, &rows, "", &[]);
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
    conn: &mut Conn<'_>,
    rows: &[Audit],
    now: DateTime<Utc>,
) -> super::Result<()> {
    if let Conn::Postgres { .. } = conn {
        for (tenant, rows) in by_tenant(rows, |a| &a.tenant) {
            let Some(pg) = conn.pg_for(tenant).await? else {
                continue;
            };
            let text =
                |f: fn(&Audit) -> Option<&str>| rows.iter().map(|a| f(a)).collect::<Vec<_>>();
            sqlx::query(
                "INSERT INTO audit_events (account_id, environment, occurred_at, actor_type, actor_id,
                     actor_name, action, resource_type, resource_id, client_address, request_id, changes)
                 SELECT $1, $2, $3, r.actor_type, r.actor_id, r.actor_name, r.action, r.resource_type,
                        r.resource_id, r.client_address, r.request_id, r.changes
                   FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                               $10::text[], $11::text[], $12::text[])
                        AS r(actor_type, actor_id, actor_name, action, resource_type, resource_id,
                             client_address, request_id, changes)",
            )
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .bind(now)
            .bind(text(|a| Some(a.actor_type)))
            .bind(text(|a| a.actor_id.as_deref()))
            .bind(text(|a| a.actor_name.as_deref()))
            .bind(text(|a| Some(a.action)))
            .bind(text(|a| Some(a.resource_type)))
            .bind(text(|a| Some(a.resource_id.as_str())))
            .bind(text(|a| a.client_address.as_deref()))
            .bind(text(|a| a.request_id.as_deref()))
            .bind(text(|a| a.changes.as_deref()))
            .execute(pg)
            .await?;
        }
        return Ok(());
    }
    let conn = sqlite(conn);
    let at = stamp(now);
    let mut script = Script::default();
    push_audit(&mut script, rows, &at);
    if !script.is_empty() {
        script.execute(conn).await?;
    }
    Ok(())
}

/// Appends the insert of audit events, at `at` (as [`stamp`]), to `script`.
fn push_audit<'q>(script: &mut Script<'q>, rows: &'q [Audit], at: &'q str) {
    let rows: Vec<_> = rows
        .iter()
        .map(|a| {
            [
                Some(a.tenant.account_id.as_str()),
                Some(a.tenant.environment.as_str()),
                Some(at),
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
    push_rows(script, "audit_events", &columns, &rows, "", &[]);
}

/// One webhook delivery to queue (`db::webhooks::queue`'s, for many at once).
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The delivery's id.
    pub id: String,
    /// The tenant whose event it carries (its endpoint's).
    pub tenant: Tenant,
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
    conn: &mut Conn<'_>,
    rows: &[Delivery],
    now: DateTime<Utc>,
) -> super::Result<()> {
    if let Conn::Postgres { .. } = conn {
        for (tenant, rows) in by_tenant(rows, |d| &d.tenant) {
            let Some(pg) = conn.pg_for(tenant).await? else {
                continue;
            };
            let text = |f: fn(&Delivery) -> &str| rows.iter().map(|d| f(d)).collect::<Vec<_>>();
            sqlx::query(
                "INSERT INTO webhook_deliveries (id, account_id, webhook_id, event_id, event, payload,
                                                 status, next_attempt_at, created_at)
                 SELECT r.id, $1, r.webhook_id, r.event_id, r.event, r.payload, 'pending', $2, $2
                   FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
                        AS r(id, webhook_id, event_id, event, payload)",
            )
            .bind(&tenant.account_id)
            .bind(now)
            .bind(text(|d| d.id.as_str()))
            .bind(text(|d| d.webhook_id.as_str()))
            .bind(text(|d| d.event_id.as_str()))
            .bind(text(|d| d.event))
            .bind(text(|d| &d.payload))
            .execute(pg)
            .await?;
        }
        return Ok(());
    }
    let conn = sqlite(conn);
    let at = stamp(now);
    let mut script = Script::default();
    push_deliveries(&mut script, rows, &at);
    if !script.is_empty() {
        script.execute(conn).await?;
    }
    Ok(())
}

/// Appends the insert of webhook deliveries, due at `at` (as [`stamp`]), to `script`.
fn push_deliveries<'q>(script: &mut Script<'q>, rows: &'q [Delivery], at: &'q str) {
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
                Some(at),
                Some(at),
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
    push_rows(script, "webhook_deliveries", &columns, &rows, "", &[]);
}

/// SQLite: starts a batch's transaction and reads the generation (migration 0014) in one
/// round trip: `BEGIN IMMEDIATE` (the write lock, for this process and any other on the
/// file, from before the first read to the commit) and the read, as one text. The caller
/// ends the transaction with [`commit_sqlite`], or closes the connection (which rolls it
/// back) when anything fails: sqlx does not know of this transaction, so nothing else
/// would.
pub async fn begin_sqlite(conn: &mut SqliteConnection) -> super::Result<i64> {
    let mut script = Script::default();
    script.push("BEGIN IMMEDIATE", []);
    script.push("SELECT value FROM runtime_generation WHERE id = 1", []);
    let rows = script.fetch_all(conn).await?;
    let row = rows.first().ok_or(sqlx::Error::RowNotFound)?;
    Ok(sqlx::Row::try_get(row, 0)?)
}

/// SQLite: writes a batch's activity rows, audit events and webhook deliveries, all at
/// `now`, and commits its transaction ([`begin_sqlite`]), in one round trip: the inserts
/// and `COMMIT` as one text. If an insert fails, `COMMIT` is not reached and the error is
/// answered (the caller closes the connection, which rolls the transaction back).
pub async fn commit_sqlite(
    conn: &mut SqliteConnection,
    activity: &[Activity],
    audit: &[Audit],
    deliveries: &[Delivery],
    now: DateTime<Utc>,
) -> super::Result<()> {
    let (day, at) = (now.date_naive().to_string(), stamp(now));
    let mut script = Script::default();
    push_activity(&mut script, activity, &day, &at);
    push_audit(&mut script, audit, &at);
    push_deliveries(&mut script, deliveries, &at);
    script.push("COMMIT", []);
    script.execute(conn).await?;
    Ok(())
}

/// `rows` grouped by tenant, in the order each tenant first appears (a PostgreSQL
/// statement writes one tenant's rows: the policies' `WITH CHECK` admits no other).
fn by_tenant<T>(rows: &[T], tenant: fn(&T) -> &Tenant) -> Vec<(&Tenant, Vec<&T>)> {
    let mut groups: Vec<(&Tenant, Vec<&T>)> = Vec::new();
    for row in rows {
        match groups.iter_mut().find(|(t, _)| *t == tenant(row)) {
            Some((_, members)) => members.push(row),
            None => groups.push((tenant(row), vec![row])),
        }
    }
    groups
}

/// The tenant's license's entitlement codes: its policy's and its own, sorted.
pub async fn entitlement_codes(
    conn: &mut Conn<'_>,
    tenant: &Tenant,
    license_id: &str,
    policy_id: &str,
) -> super::Result<Vec<String>> {
    if let Some(pg) = conn.pg_for(tenant).await? {
        return Ok(sqlx::query_scalar(
            "SELECT code FROM entitlements WHERE id IN (
                 SELECT entitlement_id FROM license_entitlements WHERE license_id = $1
                 UNION SELECT entitlement_id FROM policy_entitlements WHERE policy_id = $2)
             ORDER BY code",
        )
        .bind(license_id)
        .bind(policy_id)
        .fetch_all(pg)
        .await?);
    }
    super::entitlements::codes_of_license(sqlite(conn), license_id, policy_id).await
}

/// The tenant's policy with this id.
pub async fn policy(
    conn: &mut Conn<'_>,
    tenant: &Tenant,
    id: &str,
) -> super::Result<Option<licentric_core::wire::Policy>> {
    if let Some(pg) = conn.pg_for(tenant).await? {
        return super::policies::get_pg(pg, tenant, id).await;
    }
    super::policies::get_in(sqlite(conn), tenant, id).await
}

/// The ids of the tenant's enabled endpoints that subscribe to `event`.
pub async fn subscribers(
    conn: &mut Conn<'_>,
    tenant: &Tenant,
    event: &str,
) -> super::Result<Vec<String>> {
    let pg = match conn {
        Conn::Sqlite(conn) => {
            return super::webhooks::subscribers(&mut **conn, tenant, event).await
        }
        Conn::Postgres { .. } => conn
            .pg_for(tenant)
            .await?
            .ok_or(super::Error::Unsupported)?,
    };
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, events FROM webhooks WHERE account_id = $1 AND environment = $2 AND enabled",
    )
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .fetch_all(pg)
    .await?;
    let mut ids = Vec::new();
    for (id, events) in rows {
        let events: Vec<String> = serde_json::from_str(&events)?;
        if events.iter().any(|e| e == "*" || e == event) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Whether a tenant is this one (the environment as stored).
pub fn same_tenant(record: &LicenseRecord, tenant: &Tenant) -> bool {
    record.account_id == tenant.account_id && record.environment == tenant.environment
}
