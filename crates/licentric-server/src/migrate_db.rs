//! `licentric-server migrate-db`: a vendor's SQLite database moved into PostgreSQL in one
//! command (issue 15, "the move").
//!
//! Every row of every table is copied as it is stored, in one PostgreSQL transaction, so
//! a failed move leaves the target as it was:
//!
//! - the target is migrated first and must be empty (or `--replace` empties it);
//! - row-level security is lifted for the owner (`NO FORCE`) and the counters' triggers
//!   are switched off for the copy, so the derived counters (`machines_count`,
//!   `license_totals`, `activity_daily`, …) arrive as SQLite kept them instead of being
//!   counted twice; both are put back before the commit;
//! - the source is read in one SQLite read transaction (a consistent snapshot, so a server
//!   still running on the file does no harm) and streamed with `COPY … FROM STDIN`;
//! - each table is then read back and compared with the source: row counts and a SHA-256
//!   over the rows in key order, each value in one canonical text form. A difference
//!   aborts the move.
//!
//! Times go from SQLite's nanoseconds to PostgreSQL's microseconds (truncated). The
//! runtime's generation counter is not copied (its shape differs, and every server starts
//! with empty caches): it restarts on the first write. API keys stay hashed and signing
//! keys stay sealed: the servers on PostgreSQL need the same server secret.

use std::fmt::Write as _;

use anyhow::{bail, Context};
use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::{
    postgres::PgRow, sqlite::SqliteRow, Connection, Executor, PgConnection, PgPool, Row,
    SqliteConnection, SqlitePool,
};

/// The tables moved, parents before children (the foreign keys stay on during the copy).
pub const TABLES: &[&str] = &[
    "accounts",
    "api_keys",
    "products",
    "policies",
    "licenses",
    "entitlements",
    "policy_entitlements",
    "license_entitlements",
    "machines",
    "webhooks",
    "webhook_deliveries",
    "activity",
    "activity_daily",
    "signing_keys",
    "audit_events",
    "license_totals",
    "machine_totals",
];

/// Tables of the target that are checked for emptiness (and emptied by `--replace`) but not
/// copied: PostgreSQL's own (the shared rate-limit buckets, which are transient) and the
/// runtime's generation (see the module's documentation).
const NOT_COPIED: &[&str] = &["runtime_generation", "rate_buckets"];

/// Bytes of COPY text sent at once.
const CHUNK: usize = 1 << 20;

/// What one table's move gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// The table.
    pub table: &'static str,
    /// Rows copied (and found again in the target).
    pub rows: u64,
    /// SHA-256 (hex) over the rows in key order, the same in the source and the target.
    pub checksum: String,
}

/// How a column's values are read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Integer,
    Boolean,
    Time,
    Real,
    Bytes,
}

#[derive(Debug)]
struct Column {
    name: String,
    kind: Kind,
}

#[derive(Debug)]
struct Table {
    name: &'static str,
    columns: Vec<Column>,
    key: Vec<String>,
}

impl Table {
    fn select(&self) -> String {
        let columns: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        format!(
            "SELECT {} FROM {} ORDER BY {}",
            columns.join(", "),
            self.name,
            self.key.join(", ")
        )
    }

    fn copy(&self) -> String {
        let columns: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        format!("COPY {} ({}) FROM STDIN", self.name, columns.join(", "))
    }
}

/// Copies every row of `from` into `to` (already migrated by the caller), verifies each
/// table and commits; nothing is written unless every table matches. `replace` empties a
/// target that holds data; without it such a target is refused.
pub async fn migrate_db(
    from: &SqlitePool,
    to: &PgPool,
    replace: bool,
) -> anyhow::Result<Vec<Moved>> {
    let mut target = to.begin().await?;
    let mut tables = describe(&mut target).await?;
    let mut source_connection = from.acquire().await?;
    source_columns(&mut source_connection, &mut tables).await?;

    let every: Vec<&str> = TABLES.iter().chain(NOT_COPIED).copied().collect();
    for table in &every {
        // As the owner, without FORCE, the policies no longer filter this transaction.
        target
            .execute(format!("ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY").as_str())
            .await
            .map_err(|e| owner_needed(e, table))?;
    }
    let mut held = vec![];
    for table in &every {
        let any: bool = sqlx::query_scalar(&format!("SELECT EXISTS (SELECT 1 FROM {table})"))
            .fetch_one(&mut *target)
            .await?;
        if any {
            held.push(*table);
        }
    }
    if !held.is_empty() {
        if !replace {
            bail!(
                "the PostgreSQL database already holds data (in {}); migrate-db moves into an empty database only: pass --replace to delete what it holds first",
                held.join(", ")
            );
        }
        target
            .execute(format!("TRUNCATE {} RESTART IDENTITY", every.join(", ")).as_str())
            .await?;
    }
    for table in &every {
        target
            .execute(format!("ALTER TABLE {table} DISABLE TRIGGER USER").as_str())
            .await?;
    }

    // One read transaction: every table from the same snapshot of the file.
    let mut source = source_connection.begin().await?;
    let mut moved = vec![];
    for table in &tables {
        let (rows, checksum) = copy_table(&mut source, &mut target, table)
            .await
            .with_context(|| format!("cannot move the table {}", table.name))?;
        moved.push(Moved {
            table: table.name,
            rows,
            checksum,
        });
    }
    source.commit().await?;

    for table in ["activity", "audit_events"] {
        // The identities go on after the highest id copied.
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) FROM {table}"
        ))
        .execute(&mut *target)
        .await?;
    }
    for (table, expected) in tables.iter().zip(&moved) {
        let (rows, checksum) = digest_target(&mut target, table).await?;
        if rows != expected.rows || checksum != expected.checksum {
            bail!(
                "the table {} did not arrive intact ({} rows read back of {} copied, checksum {} against {}); nothing was written",
                table.name, rows, expected.rows, checksum, expected.checksum
            );
        }
    }
    for table in &every {
        target
            .execute(
                format!(
                    "ALTER TABLE {table} ENABLE TRIGGER USER; ALTER TABLE {table} FORCE ROW LEVEL SECURITY"
                )
                .as_str(),
            )
            .await?;
    }
    // The search tables (PostgreSQL migration 0011) are kept by triggers, which were off.
    target.execute("SELECT licentric_rebuild_search()").await?;
    target.commit().await?;
    // Copied rows are not yet marked visible to all, the search tables' trigram indexes
    // hold them in their pending lists, and the planner has no statistics until
    // autovacuum comes by (in the benchmark a machine search right after the move took
    // about ten times as long as five minutes later). VACUUM (ANALYZE) does it all now;
    // it cannot run inside a transaction, so it is a plain statement of its own.
    to.execute("VACUUM (ANALYZE)").await?;
    Ok(moved)
}

fn owner_needed(error: sqlx::Error, table: &str) -> anyhow::Error {
    anyhow::Error::new(error).context(format!(
        "cannot lift row-level security on {table}: run migrate-db as the role that owns the schema (the one `licentric-server migrate` ran as), not as the server's runtime role"
    ))
}

/// The copied tables' columns and primary keys, from the target's catalogue.
async fn describe(target: &mut PgConnection) -> anyhow::Result<Vec<Table>> {
    let mut tables = vec![];
    for &name in TABLES {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text FROM information_schema.columns
              WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(name)
        .fetch_all(&mut *target)
        .await?;
        if rows.is_empty() {
            bail!("the PostgreSQL database has no table {name}: is it migrated by this server version?");
        }
        let mut columns = vec![];
        for (column, data_type) in rows {
            let kind = match data_type.as_str() {
                "text" => Kind::Text,
                "bigint" | "integer" => Kind::Integer,
                "boolean" => Kind::Boolean,
                "timestamp with time zone" => Kind::Time,
                "double precision" => Kind::Real,
                "bytea" => Kind::Bytes,
                other => bail!("{name}.{column} has a type migrate-db does not know: {other}"),
            };
            columns.push(Column { name: column, kind });
        }
        let key: Vec<String> = sqlx::query_scalar(
            "SELECT a.attname::text FROM pg_index i
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
              WHERE i.indrelid = $1::regclass AND i.indisprimary
              ORDER BY array_position(i.indkey::int2[], a.attnum)",
        )
        .bind(name)
        .fetch_all(&mut *target)
        .await?;
        if key.is_empty() {
            bail!("the PostgreSQL table {name} has no primary key");
        }
        tables.push(Table { name, columns, key });
    }
    Ok(tables)
}

/// Keeps the columns the source has: a column only PostgreSQL has (a delivery's lease)
/// starts empty. Refuses a source with a column the target lacks (its data would be lost).
async fn source_columns(source: &mut SqliteConnection, tables: &mut [Table]) -> anyhow::Result<()> {
    for table in tables {
        let columns: Vec<String> =
            sqlx::query_scalar("SELECT name FROM pragma_table_info(?) ORDER BY cid")
                .bind(table.name)
                .fetch_all(&mut *source)
                .await?;
        if columns.is_empty() {
            bail!(
                "the SQLite database has no table {}: is it a Licentric database?",
                table.name
            );
        }
        for column in &columns {
            if !table.columns.iter().any(|c| &c.name == column) {
                bail!(
                    "the SQLite column {}.{column} has no place in the PostgreSQL schema; is the target migrated by this server version?",
                    table.name
                );
            }
        }
        table.columns.retain(|c| columns.contains(&c.name));
    }
    Ok(())
}

/// Streams one table from the source into the target; its row count and checksum.
async fn copy_table(
    source: &mut SqliteConnection,
    target: &mut PgConnection,
    table: &Table,
) -> anyhow::Result<(u64, String)> {
    let mut copy = target.copy_in_raw(&table.copy()).await?;
    let select = table.select();
    let mut rows = sqlx::query(&select).fetch(&mut *source);
    let mut hasher = Sha256::new();
    let mut buffer = String::with_capacity(CHUNK + 4096);
    let mut count = 0u64;
    while let Some(row) = rows.try_next().await? {
        let start = buffer.len();
        for (i, column) in table.columns.iter().enumerate() {
            if i > 0 {
                buffer.push('\t');
            }
            let value = sqlite_value(&row, i, column.kind).with_context(|| {
                format!(
                    "row {} of {}, column {}",
                    count + 1,
                    table.name,
                    column.name
                )
            })?;
            push_copy_value(&mut buffer, value.as_deref());
        }
        buffer.push('\n');
        hasher.update(&buffer.as_bytes()[start..]);
        count += 1;
        if buffer.len() >= CHUNK {
            copy.send(buffer.as_bytes()).await?;
            buffer.clear();
        }
    }
    drop(rows);
    if !buffer.is_empty() {
        copy.send(buffer.as_bytes()).await?;
    }
    copy.finish().await?;
    Ok((count, hex::encode(hasher.finalize())))
}

/// One table of the target read back as the source's rows were hashed.
async fn digest_target(target: &mut PgConnection, table: &Table) -> anyhow::Result<(u64, String)> {
    let select = table.select();
    let mut rows = sqlx::query(&select).fetch(&mut *target);
    let mut hasher = Sha256::new();
    let mut line = String::new();
    let mut count = 0u64;
    while let Some(row) = rows.try_next().await? {
        line.clear();
        for (i, column) in table.columns.iter().enumerate() {
            if i > 0 {
                line.push('\t');
            }
            let value = postgres_value(&row, i, column.kind)?;
            push_copy_value(&mut line, value.as_deref());
        }
        line.push('\n');
        hasher.update(line.as_bytes());
        count += 1;
    }
    Ok((count, hex::encode(hasher.finalize())))
}

/// A time as both sides write it: microseconds, UTC.
fn time_text(time: DateTime<Utc>) -> String {
    time.trunc_subsecs(6)
        .to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn sqlite_value(row: &SqliteRow, i: usize, kind: Kind) -> anyhow::Result<Option<String>> {
    Ok(match kind {
        Kind::Text => row.try_get::<Option<String>, _>(i)?,
        Kind::Integer => row.try_get::<Option<i64>, _>(i)?.map(|v| v.to_string()),
        Kind::Boolean => row
            .try_get::<Option<bool>, _>(i)?
            .map(|v| if v { "t" } else { "f" }.to_owned()),
        Kind::Time => row.try_get::<Option<DateTime<Utc>>, _>(i)?.map(time_text),
        Kind::Real => row.try_get::<Option<f64>, _>(i)?.map(|v| v.to_string()),
        Kind::Bytes => row
            .try_get::<Option<Vec<u8>>, _>(i)?
            .map(|v| format!("\\x{}", hex::encode(v))),
    })
}

fn postgres_value(row: &PgRow, i: usize, kind: Kind) -> anyhow::Result<Option<String>> {
    Ok(match kind {
        Kind::Text => row.try_get::<Option<String>, _>(i)?,
        Kind::Integer => row.try_get::<Option<i64>, _>(i)?.map(|v| v.to_string()),
        Kind::Boolean => row
            .try_get::<Option<bool>, _>(i)?
            .map(|v| if v { "t" } else { "f" }.to_owned()),
        Kind::Time => row.try_get::<Option<DateTime<Utc>>, _>(i)?.map(time_text),
        Kind::Real => row.try_get::<Option<f64>, _>(i)?.map(|v| v.to_string()),
        Kind::Bytes => row
            .try_get::<Option<Vec<u8>>, _>(i)?
            .map(|v| format!("\\x{}", hex::encode(v))),
    })
}

/// A value in COPY's text format: `\N` for NULL, backslash escapes for the rest.
fn push_copy_value(out: &mut String, value: Option<&str>) {
    let Some(value) = value else {
        out.push_str("\\N");
        return;
    };
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            // PostgreSQL's text cannot hold NUL: COPY refuses the escape with a clear error.
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
}

/// The summary a vendor reads after a move.
pub fn summary(moved: &[Moved]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<22} {:>10}  checksum (SHA-256, the same in both)",
        "table", "rows"
    );
    for m in moved {
        let _ = writeln!(out, "{:<22} {:>10}  {}", m.table, m.rows, m.checksum);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_what_copy_reads_as_syntax() {
        let mut out = String::new();
        push_copy_value(&mut out, Some("a\\b\tc\nd\re"));
        out.push('\t');
        push_copy_value(&mut out, None);
        assert_eq!(out, "a\\\\b\\tc\\nd\\re\t\\N");
    }

    #[test]
    fn times_are_written_in_microseconds() {
        let time = DateTime::parse_from_rfc3339("2026-12-01T11:57:37.848675590+00:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(time_text(time), "2026-12-01T11:57:37.848675Z");
    }
}
