//! PostgreSQL: connecting, migrating, the runtime role's check, and the tenant's
//! transaction. See docs/architecture.md, "PostgreSQL".
//!
//! Every statement of a request runs in a transaction begun by [`begin_for`], which sets
//! the tenant the row-level security policies read; without it, every tenant table is
//! empty to the server's role.

use std::{str::FromStr, time::Duration};

use anyhow::{bail, Context};
use sqlx::{
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool, Postgres, Transaction,
};

use crate::tenant::Tenant;

/// The PostgreSQL schema migrations, embedded at compile time from `migrations/postgres/`.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// The role the server's login role must be a member of; made by the first migration.
pub const RUNTIME_ROLE: &str = "licentric_runtime";

/// How the server connects to PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSettings {
    /// Connections kept at most.
    pub max_connections: u32,
    /// How long one statement may run before PostgreSQL cancels it (`statement_timeout`).
    pub statement_timeout: Duration,
    /// How long a request waits for a free connection before it fails.
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            statement_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// Whether a database URL names PostgreSQL.
pub fn is_postgres_url(database_url: &str) -> bool {
    let url = database_url.trim();
    url.starts_with("postgres:") || url.starts_with("postgresql:")
}

/// Opens a pool on `database_url` (no migrations: see [`migrate`]).
pub async fn connect(database_url: &str, settings: &PoolSettings) -> anyhow::Result<PgPool> {
    let timeout_ms = settings.statement_timeout.as_millis().to_string();
    let options = PgConnectOptions::from_str(database_url.trim())
        // Never echo the URL: it may hold a password.
        .context("invalid PostgreSQL database URL")?
        .application_name("licentric-server")
        .options([("statement_timeout", timeout_ms.as_str())]);
    let host = options.get_host().to_owned();
    let database = options.get_database().unwrap_or("(default)").to_owned();
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .connect_with(options)
        .await
        .with_context(|| format!("cannot connect to PostgreSQL database {database} on {host}"))
}

/// Brings the schema to this server's version. Run as the migration role, which owns
/// the tables (and needs CREATEROLE the first time, unless `licentric_runtime` exists).
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("cannot migrate the PostgreSQL database to this server version (run `licentric-server migrate` as the role that owns the schema)")
}

/// What the connected role is, as far as row-level security cares.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RoleFacts {
    /// The role's name.
    pub name: String,
    /// A superuser bypasses every policy.
    pub superuser: bool,
    /// So does a role with BYPASSRLS.
    pub bypass_rls: bool,
    /// Tables of this schema the role owns (directly or through a role it is in): an
    /// owner can turn the policies off.
    pub owned_tables: i64,
    /// Whether it is a member of [`RUNTIME_ROLE`].
    pub runtime_member: bool,
}

/// Reads [`RoleFacts`] of the connected role.
pub async fn role_facts(pool: &PgPool) -> super::Result<RoleFacts> {
    Ok(sqlx::query_as(
        "SELECT r.rolname::text AS name, r.rolsuper AS superuser, r.rolbypassrls AS bypass_rls,
                (SELECT count(*) FROM pg_class c
                  WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
                    AND pg_has_role(current_user, c.relowner, 'USAGE')) AS owned_tables,
                coalesce(pg_has_role(current_user, $1, 'MEMBER'), false) AS runtime_member
           FROM pg_roles r WHERE r.rolname = current_user",
    )
    .bind(RUNTIME_ROLE)
    .fetch_one(pool)
    .await?)
}

/// Refuses a role that row-level security would not hold: a superuser, a BYPASSRLS role,
/// an owner of the tables, or one outside [`RUNTIME_ROLE`].
pub async fn check_runtime_role(pool: &PgPool) -> anyhow::Result<RoleFacts> {
    let role = role_facts(pool)
        .await
        .context("cannot read the connected role")?;
    let name = &role.name;
    if role.superuser {
        bail!("the database role {name} is a superuser, which bypasses row-level security; serve as a member of {RUNTIME_ROLE} instead (see README, PostgreSQL)");
    }
    if role.bypass_rls {
        bail!("the database role {name} has BYPASSRLS; serve as a role without it");
    }
    if role.owned_tables > 0 {
        bail!("the database role {name} owns the schema's tables and could turn row-level security off; it is the migration role: run `licentric-server migrate` with it, and serve as a member of {RUNTIME_ROLE}");
    }
    if !role.runtime_member {
        bail!("the database role {name} is not a member of {RUNTIME_ROLE}: GRANT {RUNTIME_ROLE} TO {name}");
    }
    Ok(role)
}

/// Begins a transaction for `tenant`: the row-level security policies see its rows, and
/// only its rows, until the transaction ends (the settings are transaction-local, so the
/// pooled connection does not carry them into the next request).
pub async fn begin_for(
    pool: &PgPool,
    tenant: &Tenant,
) -> super::Result<Transaction<'static, Postgres>> {
    let mut tx = pool.begin().await?;
    set_tenant(&mut tx, tenant).await?;
    Ok(tx)
}

/// Points an open transaction at `tenant` (a batch that spans tenants moves between them).
pub async fn set_tenant(tx: &mut Transaction<'_, Postgres>, tenant: &Tenant) -> super::Result<()> {
    sqlx::query(
        "SELECT set_config('licentric.account_id', $1, true), set_config('licentric.environment', $2, true)",
    )
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The tenant and id of the license a key names, through the narrow lookup function (the
/// one way to find a license before its tenant is known).
pub async fn license_by_key(pool: &PgPool, key: &str) -> super::Result<Option<(Tenant, String)>> {
    if !storable(key) {
        return Ok(None);
    }
    let row: Option<(String, String, String)> = sqlx::query_as(
        "SELECT account_id, environment, license_id FROM licentric_license_by_key($1)",
    )
    .bind(key)
    .fetch_optional(pool)
    .await?;
    row.map(|(account_id, environment, license_id)| {
        let environment = environment.parse().map_err(super::Error::from)?;
        Ok((
            Tenant {
                account_id,
                environment,
            },
            license_id,
        ))
    })
    .transpose()
}

// ---------------------------------------------------------------------------------------
// Paged searches of a tenant's table: one helper for every list that is "a page of the
// tenant's rows whose name (or other text columns) contains q, and how many there are".
// ---------------------------------------------------------------------------------------

/// What a paged search reads: the table, its columns, and the text columns `q` is
/// looked for in (SQL expressions over the row, e.g. `coalesce(description, '')`).
#[derive(Debug, Clone, Copy)]
pub struct Search<'a> {
    /// The table, which has `account_id` and `environment` columns.
    pub table: &'a str,
    /// The columns selected, as the row type reads them.
    pub columns: &'a str,
    /// The text expressions a row matches `q` in (any of them).
    pub searched: &'a [&'a str],
}

/// One page of the tenant's rows of `search.table` that contain `like` (a pattern
/// `%q%`, or `None` for all) in any searched column, sorted as `page` says, and how many
/// match in all; in one transaction, so the page and the total agree.
///
/// As SQLite's `LIKE`: ASCII case is ignored (`ILIKE`) and there is no escape character
/// (`ESCAPE ''`: a backslash in `q` is a backslash). Ties of the sort are broken by `id`
/// (SQLite breaks them by rowid, the order of insertion).
pub async fn search_page<T>(
    db: &PgPool,
    tenant: &Tenant,
    search: Search<'_>,
    like: Option<&str>,
    page: &crate::params::Page,
) -> super::Result<(Vec<T>, u32)>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let matches = search
        .searched
        .iter()
        .map(|column| format!("{column} ILIKE $3 ESCAPE ''"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let filter =
        format!("account_id = $1 AND environment = $2 AND ($3::text IS NULL OR ({matches}))");
    let mut tx = begin_for(db, tenant).await?;
    let rows = sqlx::query_as(&format!(
        "SELECT {columns} FROM {table} WHERE {filter} ORDER BY {order} LIMIT $4 OFFSET $5",
        columns = search.columns,
        table = search.table,
        order = order_by(page),
    ))
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(like)
    .bind(i64::from(page.limit))
    .bind(i64::from(page.offset))
    .fetch_all(&mut *tx)
    .await?;
    let total: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM {table} WHERE {filter}",
        table = search.table
    ))
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(like)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((rows, count(total)))
}

/// The `ORDER BY` of a page as SQLite sorts it: NULLs first when ascending and last when
/// descending (PostgreSQL's default is the reverse), ties by `id` (SQLite: rowid).
pub fn order_by(page: &crate::params::Page) -> String {
    let (direction, nulls) = if page.descending {
        ("DESC", "LAST")
    } else {
        ("ASC", "FIRST")
    };
    format!(
        "{column} {direction} NULLS {nulls}, id {direction}",
        column = page.column
    )
}

/// A count read from PostgreSQL (bigint) as the API's `u32`, saturating.
pub fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// The newest migration applied to the database, `None` before the first.
pub async fn schema_version(pool: &PgPool) -> super::Result<Option<i64>> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if !exists {
        return Ok(None);
    }
    Ok(
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await?,
    )
}

/// Refuses to serve a schema of another version than this server's: an older one needs
/// `licentric-server migrate` by the migration role (the server's own role cannot), a
/// newer one a newer server.
pub async fn check_schema(pool: &PgPool) -> anyhow::Result<()> {
    let wanted = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let found = schema_version(pool)
        .await
        .context("cannot read the PostgreSQL schema's version")?;
    match found {
        Some(found) if found == wanted => Ok(()),
        Some(found) if found > wanted => bail!(
            "the PostgreSQL schema is at version {found}, newer than this server's {wanted}: serve it with a newer licentric-server"
        ),
        found => bail!(
            "the PostgreSQL schema is at version {}, and this server needs {wanted}: run `licentric-server migrate --database-url postgres://<migration role>@…` as the role that owns the schema, or start the server with --database-migration-url (the server's own role cannot migrate)",
            found.unwrap_or(0)
        ),
    }
}

/// Whether a statement that ran in a transaction of its own should run again: PostgreSQL
/// aborted the transaction to break a deadlock (40P01) or a serialization conflict
/// (40001), so nothing of it was applied. At most three retries (`attempt` counts them).
pub fn retry(error: &sqlx::Error, attempt: &mut u32) -> bool {
    let transient = matches!(
        error,
        sqlx::Error::Database(e) if matches!(e.code().as_deref(), Some("40P01" | "40001"))
    );
    if transient && *attempt < 3 {
        *attempt += 1;
        tracing::debug!(%error, attempt = *attempt, "running a statement again after a deadlock");
        true
    } else {
        false
    }
}

/// Whether PostgreSQL can hold this text: its `text` refuses the NUL character (SQLite
/// keeps it), so a key or fingerprint with one names nothing stored, and is looked up as
/// such instead of failing the statement (a 500).
pub fn storable(text: &str) -> bool {
    !text.contains('\0')
}

/// A count or limit PostgreSQL keeps as `bigint`, as the `u32` SQLite's decodes into.
pub fn to_u32(value: i64) -> super::Result<u32> {
    u32::try_from(value)
        .map_err(|_| super::Error::Corrupt(format!("{value} is not a count or limit")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_are_told_apart_from_sqlite_ones() {
        assert!(is_postgres_url("postgres://u@localhost/db"));
        assert!(is_postgres_url(" postgresql://localhost/db"));
        assert!(!is_postgres_url("sqlite://x.db"));
        assert!(!is_postgres_url("postgres.db"));
    }
}
