//! The database: connecting, migrating, and one file of SQL per area.
//!
//! SQLite is the embedded default: one file, created on first start, migrated on every
//! start. PostgreSQL (`postgres.rs`) is being added beside it (issue 15). Every query takes the account (and environment) it acts for, so one tenant's
//! rows are invisible to another's requests.

pub mod accounts;
pub mod activity;
pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod entitlements;
pub mod licenses;
pub mod machines;
pub mod policies;
pub mod postgres;
pub mod products;
pub mod rate_limits;
pub mod runtime;
pub mod signing_keys;
pub mod webhooks;

use std::{
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

use anyhow::{bail, Context};
use sqlx::{
    migrate::Migrator,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    SqlitePool,
};

/// The database a storage function runs on: SQLite's pool or PostgreSQL's. Functions of
/// a ported module take `impl Into<DbRef<'_>>`, so callers that hold a `SqlitePool` pass
/// it unchanged while the rest of the storage layer is ported (docs/architecture.md,
/// "PostgreSQL").
#[derive(Debug, Clone, Copy)]
pub enum DbRef<'a> {
    /// The embedded default.
    Sqlite(&'a SqlitePool),
    /// PostgreSQL: every statement runs in a transaction set for its tenant.
    Postgres(&'a sqlx::PgPool),
}

impl<'a> From<&'a SqlitePool> for DbRef<'a> {
    fn from(pool: &'a SqlitePool) -> Self {
        Self::Sqlite(pool)
    }
}

impl<'a> From<&'a sqlx::PgPool> for DbRef<'a> {
    fn from(pool: &'a sqlx::PgPool) -> Self {
        Self::Postgres(pool)
    }
}

/// The server's database: SQLite's pool or PostgreSQL's. What `AppState::db` holds; a
/// storage function of a ported module takes `&Db` as `impl Into<DbRef<'_>>`, and a call
/// site of one not ported yet asks for [`Db::sqlite`], which on PostgreSQL is the named
/// error [`Error::Unsupported`] (a 501), never a panic.
#[derive(Debug, Clone)]
pub enum Db {
    /// The embedded default.
    Sqlite(SqlitePool),
    /// PostgreSQL (docs/architecture.md, "PostgreSQL").
    Postgres(sqlx::PgPool),
}

impl Db {
    /// SQLite's pool, for storage functions not yet ported to PostgreSQL.
    pub fn sqlite(&self) -> Result<&SqlitePool> {
        match self {
            Self::Sqlite(pool) => Ok(pool),
            Self::Postgres(_) => Err(Error::Unsupported),
        }
    }

    /// Which database this is, as `/health` reports it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgresql",
        }
    }

    /// Whether the database answers a trivial statement.
    pub async fn ping(&self) -> Result<()> {
        match self {
            Self::Sqlite(pool) => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
            Self::Postgres(pool) => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
        }
        Ok(())
    }

    /// Closes the pool.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

impl From<SqlitePool> for Db {
    fn from(pool: SqlitePool) -> Self {
        Self::Sqlite(pool)
    }
}

impl From<sqlx::PgPool> for Db {
    fn from(pool: sqlx::PgPool) -> Self {
        Self::Postgres(pool)
    }
}

impl<'a> From<&'a Db> for DbRef<'a> {
    fn from(db: &'a Db) -> Self {
        match db {
            Db::Sqlite(pool) => Self::Sqlite(pool),
            Db::Postgres(pool) => Self::Postgres(pool),
        }
    }
}

impl<'a> DbRef<'a> {
    /// SQLite's pool, for code not yet ported to PostgreSQL ([`Error::Unsupported`] there).
    pub fn sqlite(self) -> Result<&'a SqlitePool> {
        match self {
            Self::Sqlite(pool) => Ok(pool),
            Self::Postgres(_) => Err(Error::Unsupported),
        }
    }
}

/// Where a storage function that may run inside its caller's transaction runs: a pool
/// (the function makes its own transaction when it needs one), or a connection the caller
/// holds (a transaction, or a pooled connection). Functions that take
/// `impl Into<DbTx<'_>>` accept `&SqlitePool`, `&mut SqliteConnection` (`&mut *tx`),
/// `&PgPool`, `&mut PgConnection` and a [`DbRef`], so callers written for SQLite's
/// executors compile unchanged (docs/architecture.md, "PostgreSQL").
///
/// A PostgreSQL connection given here must be in a transaction already set for the
/// tenant (`postgres::begin_for`): the function does not set it again, so the caller's
/// writes and its own commit or roll back together.
#[derive(Debug)]
pub enum DbTx<'a> {
    /// SQLite's pool.
    SqlitePool(&'a SqlitePool),
    /// A SQLite connection, usually a transaction's.
    Sqlite(&'a mut sqlx::SqliteConnection),
    /// PostgreSQL's pool: the function begins (and commits) its own tenant's transaction.
    PostgresPool(&'a sqlx::PgPool),
    /// A PostgreSQL transaction's connection, already set for the tenant.
    Postgres(&'a mut sqlx::PgConnection),
}

impl<'a> From<&'a SqlitePool> for DbTx<'a> {
    fn from(pool: &'a SqlitePool) -> Self {
        Self::SqlitePool(pool)
    }
}

impl<'a> From<&'a mut sqlx::SqliteConnection> for DbTx<'a> {
    fn from(conn: &'a mut sqlx::SqliteConnection) -> Self {
        Self::Sqlite(conn)
    }
}

impl<'a> From<&'a sqlx::PgPool> for DbTx<'a> {
    fn from(pool: &'a sqlx::PgPool) -> Self {
        Self::PostgresPool(pool)
    }
}

impl<'a> From<&'a mut sqlx::PgConnection> for DbTx<'a> {
    fn from(conn: &'a mut sqlx::PgConnection) -> Self {
        Self::Postgres(conn)
    }
}

impl<'a> From<&'a Db> for DbTx<'a> {
    fn from(db: &'a Db) -> Self {
        DbRef::from(db).into()
    }
}

impl<'a> From<DbRef<'a>> for DbTx<'a> {
    fn from(db: DbRef<'a>) -> Self {
        match db {
            DbRef::Sqlite(pool) => Self::SqlitePool(pool),
            DbRef::Postgres(pool) => Self::PostgresPool(pool),
        }
    }
}

/// Runs one statement written once, with PostgreSQL's numbered parameters (`$1`, `$2`,
/// …), on whichever database `db` is (anything [`DbTx`] converts from: `&Db`, a
/// [`DbRef`], a pool, `&mut *tx`, or `&mut` a [`Scope`]):
///
/// - SQLite: on the pool or connection, exactly as a hand-written `?` statement would
///   (sqlx binds SQLite's `$NNN` parameters by their number, so one parameter may be used
///   twice and in any order);
/// - PostgreSQL's pool: in a transaction of its own from [`postgres::begin_for`] for
///   `tenant` (row-level security sees that tenant alone), committed after the statement;
///   when PostgreSQL aborts it to break a deadlock (a runtime batch locking the same rows
///   in another order), it has been rolled back whole and is run again (up to three
///   times, [`postgres::retry`]);
/// - a PostgreSQL connection (a [`Scope`]'s, a batch's): on it, trusting its caller to
///   have set the tenant.
///
/// `query`, `query_as` or `query_scalar` with the SQL and its binds, then
/// `fetch_one`, `fetch_optional`, `fetch_all`, or `execute` (which answers the number of
/// rows affected):
///
/// ```ignore
/// let product: Option<ProductRecord> = run!(db, tenant, query_as(
///     "SELECT id, name FROM products WHERE id = $1 AND account_id = $2 AND environment = $3",
///     id, &tenant.account_id, tenant.environment.as_str()
/// ).fetch_optional)?;
/// ```
///
/// Where the two dialects differ (`RETURNING`, casts, `ON CONFLICT`, FTS5 against
/// trigram search), a function keeps two statements and says why.
macro_rules! run {
    ($db:expr, $tenant:expr, $query:ident($sql:expr $(, $bind:expr)* $(,)?).execute) => {
        async {
            use $crate::db::DbTx;
            Ok::<u64, $crate::db::Error>(match DbTx::from($db) {
                DbTx::SqlitePool(pool) => sqlx::$query($sql)$(.bind($bind))*.execute(pool).await?.rows_affected(),
                DbTx::Sqlite(conn) => sqlx::$query($sql)$(.bind($bind))*.execute(conn).await?.rows_affected(),
                DbTx::Postgres(conn) => sqlx::$query($sql)$(.bind($bind))*.execute(conn).await?.rows_affected(),
                DbTx::PostgresPool(pool) => {
                    let mut attempt = 0;
                    loop {
                        let mut tx = $crate::db::postgres::begin_for(pool, $tenant).await?;
                        match sqlx::$query($sql)$(.bind($bind))*.execute(&mut *tx).await {
                            Ok(done) => {
                                tx.commit().await?;
                                break done.rows_affected();
                            }
                            Err(error) if $crate::db::postgres::retry(&error, &mut attempt) => {}
                            Err(error) => return Err(error.into()),
                        }
                    }
                }
            })
        }
        .await
    };
    ($db:expr, $tenant:expr, $query:ident($sql:expr $(, $bind:expr)* $(,)?).$fetch:ident) => {
        async {
            use $crate::db::DbTx;
            Ok::<_, $crate::db::Error>(match DbTx::from($db) {
                DbTx::SqlitePool(pool) => sqlx::$query($sql)$(.bind($bind))*.$fetch(pool).await?,
                DbTx::Sqlite(conn) => sqlx::$query($sql)$(.bind($bind))*.$fetch(conn).await?,
                DbTx::Postgres(conn) => sqlx::$query($sql)$(.bind($bind))*.$fetch(conn).await?,
                DbTx::PostgresPool(pool) => {
                    let mut attempt = 0;
                    loop {
                        let mut tx = $crate::db::postgres::begin_for(pool, $tenant).await?;
                        match sqlx::$query($sql)$(.bind($bind))*.$fetch(&mut *tx).await {
                            Ok(out) => {
                                tx.commit().await?;
                                break out;
                            }
                            Err(error) if $crate::db::postgres::retry(&error, &mut attempt) => {}
                            Err(error) => return Err(error.into()),
                        }
                    }
                }
            })
        }
        .await
    };
}
pub(crate) use run;

/// Several statements of one tenant. [`Scope::begin`]: PostgreSQL runs them in one
/// transaction (its row-level security needs the tenant set, and a page and its total
/// must see one snapshot), SQLite on the pool as before, each on its own.
/// [`Scope::transaction`]: one transaction on both, for writes that must be all or none.
/// Pass `&mut scope` to [`run!`] for each statement, then [`Scope::commit`]; dropped
/// without it, the transaction rolls back.
#[derive(Debug)]
pub enum Scope<'a> {
    /// SQLite's pool.
    Sqlite(&'a SqlitePool),
    /// A SQLite transaction.
    SqliteTx(sqlx::Transaction<'static, sqlx::Sqlite>),
    /// A PostgreSQL transaction set for the tenant.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl<'a> Scope<'a> {
    /// The pool (SQLite) or a transaction for `tenant` (PostgreSQL).
    pub async fn begin(
        db: impl Into<DbRef<'a>>,
        tenant: &crate::tenant::Tenant,
    ) -> Result<Scope<'a>> {
        Ok(match db.into() {
            DbRef::Sqlite(pool) => Self::Sqlite(pool),
            DbRef::Postgres(pool) => Self::Postgres(postgres::begin_for(pool, tenant).await?),
        })
    }

    /// A transaction on either database (PostgreSQL's set for `tenant`).
    pub async fn transaction(
        db: impl Into<DbRef<'a>>,
        tenant: &crate::tenant::Tenant,
    ) -> Result<Scope<'a>> {
        Ok(match db.into() {
            DbRef::Sqlite(pool) => Self::SqliteTx(pool.begin().await?),
            DbRef::Postgres(pool) => Self::Postgres(postgres::begin_for(pool, tenant).await?),
        })
    }

    /// A transaction on either database that may write for several tenants (a
    /// background task's): PostgreSQL's is set for none until [`Scope::set_tenant`].
    pub async fn across_tenants(db: impl Into<DbRef<'a>>) -> Result<Scope<'a>> {
        Ok(match db.into() {
            DbRef::Sqlite(pool) => Self::SqliteTx(pool.begin().await?),
            DbRef::Postgres(pool) => Self::Postgres(pool.begin().await?),
        })
    }

    /// Points PostgreSQL's transaction at `tenant` (row-level security admits only its
    /// rows from here on); nothing to do on SQLite.
    pub async fn set_tenant(&mut self, tenant: &crate::tenant::Tenant) -> Result<()> {
        if let Self::Postgres(tx) = self {
            postgres::set_tenant(tx, tenant).await?;
        }
        Ok(())
    }

    /// Commits the transaction, if there is one.
    pub async fn commit(self) -> Result<()> {
        match self {
            Self::Sqlite(_) => {}
            Self::SqliteTx(tx) => tx.commit().await?,
            Self::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

impl<'a, 'b> From<&'b mut Scope<'a>> for DbTx<'b> {
    fn from(scope: &'b mut Scope<'a>) -> Self {
        match scope {
            Scope::Sqlite(pool) => Self::SqlitePool(pool),
            Scope::SqliteTx(tx) => Self::Sqlite(tx),
            Scope::Postgres(tx) => Self::Postgres(tx),
        }
    }
}

pub use postgres::Search;

/// One page of the tenant's rows of `search.table` whose searched text contains `q`
/// (any of `search.searched`; `None`: all), sorted as `page` says, and how many match in
/// all: the one paged name search every small tenant list uses. SQLite: `LIKE` (ASCII case
/// ignored), the page and its count on the pool as two statements, ties by rowid
/// (`page.order_by`). PostgreSQL: [`postgres::search_page`], which answers the same
/// (`ILIKE … ESCAPE ''`, NULLs ordered as SQLite orders them) in one transaction.
pub async fn search_page<T>(
    db: impl Into<DbRef<'_>>,
    tenant: &crate::tenant::Tenant,
    search: Search<'_>,
    q: Option<&str>,
    page: &crate::params::Page,
) -> Result<(Vec<T>, u32)>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    let like = q.map(|q| format!("%{}%", q.trim()));
    let pool = match db.into() {
        DbRef::Sqlite(pool) => pool,
        DbRef::Postgres(pool) => {
            return postgres::search_page(pool, tenant, search, like.as_deref(), page).await
        }
    };
    let matches = search
        .searched
        .iter()
        .map(|column| format!("{column} LIKE $3"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let filter = format!("account_id = $1 AND environment = $2 AND ($3 IS NULL OR ({matches}))");
    let rows = sqlx::query_as(&format!(
        "SELECT {columns} FROM {table} WHERE {filter} ORDER BY {order} LIMIT $4 OFFSET $5",
        columns = search.columns,
        table = search.table,
        order = page.order_by,
    ))
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(&like)
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(pool)
    .await?;
    let total: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM {table} WHERE {filter}",
        table = search.table
    ))
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(&like)
    .fetch_one(pool)
    .await?;
    Ok((rows, postgres::count(total)))
}

/// The one error of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database failed: I/O, locking, a constraint.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A stored value could not be read back as its type.
    #[error("a stored value is not valid: {0}")]
    Corrupt(String),
    /// The request needs storage that is not yet ported to PostgreSQL (issue 15): the
    /// server answers 501 `not_supported_on_postgresql`, never a panic.
    #[error("this operation is not yet supported on PostgreSQL")]
    Unsupported,
}

impl Error {
    /// Whether PostgreSQL refused text holding the NUL character (SQLSTATE 22021): its
    /// `text` cannot store one, where SQLite's can. Nothing was written (the statement
    /// failed whole); the API answers 400, not 500.
    pub fn is_nul_in_text(&self) -> bool {
        matches!(self, Self::Database(error) if nul_in_text(error))
    }
}

impl Error {
    /// Whether the connection a statement ran on was lost under it: I/O failed, or the
    /// server ended the session (SQLSTATE class 08, or 57P01–57P03: an administrator's
    /// `pg_terminate_backend`, a shutdown or a crash). Not a pool that could not hand a
    /// connection out (`PoolTimedOut`): nothing was begun then.
    pub fn is_lost_connection(&self) -> bool {
        match self {
            Self::Database(sqlx::Error::Io(_)) => true,
            Self::Database(sqlx::Error::Database(error)) => error.code().is_some_and(|code| {
                code.starts_with("08") || ["57P01", "57P02", "57P03"].contains(&&*code)
            }),
            _ => false,
        }
    }
}

/// [`Error::is_nul_in_text`] of a bare sqlx error.
pub fn nul_in_text(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.code().as_deref() == Some("22021"))
}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Self {
        Self::Corrupt(error.to_string())
    }
}

impl From<licentric_core::Error> for Error {
    fn from(error: licentric_core::Error) -> Self {
        Self::Corrupt(error.to_string())
    }
}

/// A storage-layer result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The schema migrations, embedded at compile time from `migrations/`.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long a connection waits for another's lock before SQLite answers busy.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens (creating if needed) and migrates the database at `database_url`.
///
/// Accepts `sqlite://path`, `sqlite:path`, `sqlite::memory:` and a plain file path.
pub async fn connect(database_url: &str) -> anyhow::Result<SqlitePool> {
    let url = sqlite_url(database_url)?;
    let options = SqliteConnectOptions::from_str(&url)
        .with_context(|| format!("invalid database URL {database_url:?}"))?
        .create_if_missing(true)
        .foreign_keys(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(BUSY_TIMEOUT)
        // Deleted and overwritten content is zeroed, not left in free space: a replaced
        // webhook secret must not linger in the file (see forget_overwritten).
        .pragma("secure_delete", "ON")
        // Pages are read through a memory map of the file (up to 1 GiB) rather than copied
        // in by a read() each: a search over thousands of matches reads thousands of
        // scattered license rows, and each of the pool's eight connections would otherwise
        // copy them into its own 2 MiB cache again and again (perf: most of the time in
        // pread). The mapped pages are the OS's file cache, shared by all connections.
        .pragma("mmap_size", "1073741824");
    let file = options.get_filename().to_path_buf();
    let in_memory = url.contains(":memory:");
    if !in_memory {
        if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| {
                format!("cannot create the database directory {}", parent.display())
            })?;
        }
    }
    let pool = SqlitePoolOptions::new()
        // An in-memory database exists per connection: share exactly one.
        .max_connections(if in_memory { 1 } else { 8 })
        .connect_with(options)
        .await
        .with_context(|| format!("cannot open the database {}", describe(&file)))?;
    MIGRATOR
        .run(&pool)
        .await
        .context("cannot migrate the database to this server version")?;
    check_search(&pool)
        .await
        .context("cannot check the search indexes")?;
    // Fresh statistics for the planner where they are missing or stale (SQLite's advice
    // for long-lived connections); without them it may walk a list's index testing every
    // row instead of starting from a search's few matches.
    sqlx::query("PRAGMA optimize=0x10002")
        .execute(&pool)
        .await
        .context("cannot update the query planner's statistics")?;
    Ok(pool)
}

/// Rebuilds a search index (licenses' or machines') when its rows no longer pair with
/// their records' rowids (a VACUUM run from outside may renumber them). Cheap when all
/// is well.
pub async fn check_search(db: &SqlitePool) -> Result<()> {
    const INDEXES: [(&str, &str, &str, &str); 3] = [
        (
            "licenses",
            "license_search",
            "license_id",
            "replace(key, '-', '') || ' ' || key || ' ' || id || ' ' || ifnull(name, '') || ' ' ||
             ifnull((SELECT group_concat(value, ' ') FROM json_each(licenses.metadata)
                     WHERE type IN ('text', 'integer', 'real')), '')",
        ),
        (
            "machines",
            "machine_search",
            "machine_id",
            "ifnull(name, '')",
        ),
        (
            "machines",
            "machine_words",
            "machine_id",
            // The name reversed, as migration 0013's triggers write it.
            "ifnull((SELECT group_concat(substr(name, length(name) - key, 1), '')
                     FROM json_each('[' || substr(replace(printf('%.*c', length(name), 'x'), 'x', ',0'), 2) || ']')), '')",
        ),
    ];
    for (table, index, id_column, text) in INDEXES {
        let unpaired: i64 = sqlx::query_scalar(&format!(
            "SELECT (SELECT count(*) FROM {table}) -
                    (SELECT count(*) FROM {index} s JOIN {table} t
                       ON t.rowid = s.rowid AND t.id = s.{id_column})"
        ))
        .fetch_one(db)
        .await?;
        if unpaired != 0 {
            tracing::warn!(unpaired, index, "rebuilding a search index");
            let mut tx = db.begin().await?;
            sqlx::query(&format!("DELETE FROM {index}"))
                .execute(&mut *tx)
                .await?;
            sqlx::query(&format!(
                "INSERT INTO {index} (rowid, {id_column}, text) SELECT rowid, id, {text} FROM {table}"
            ))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
    }
    Ok(())
}

/// A trigram index query equal to `text LIKE '%q%'`, for a `q` it can be: ASCII without
/// LIKE's wildcards, three characters or more. FTS5 answers a phrase from the index alone,
/// where a LIKE also reads every candidate's stored text to test the pattern again (for
/// 5,938 matches 16 ms instead of 2). The one difference: the index folds the case of a
/// few non-ASCII letters that LIKE does not (the Kelvin sign matches `k`).
pub fn trigram_phrase(q: &str) -> Option<String> {
    let plain = q.chars().count() >= 3
        && q.chars()
            .all(|c| c.is_ascii() && !c.is_ascii_control() && c != '%' && c != '_');
    plain.then(|| format!("text : \"{}\"", q.replace('"', "\"\"")))
}

/// A query of the reversed word index of machine names (migration 0013) that every name
/// containing `q` matches (a LIKE `'%q%'`: the converse is tested on the name), for a `q`
/// of words: ASCII without LIKE's wildcards, with at least one word that is known to end
/// where the name's word does. `None` for a fragment (`MacBook`, `ace`), which the trigram
/// index answers.
///
/// q's words are runs of ASCII letters and digits, as `unicode61` splits them. A word of q
/// between two separators is a whole word of the name; the first, when q starts with it,
/// may be the end of a longer word (`XGrace's`), which reversed is a word's start: the
/// phrase's last token becomes a prefix (`*`), or is left out when shorter than three
/// letters (a prefix of one or two letters matches most of the index); the last, when q
/// ends with it, may go on in the name (`Pros`) and is left out.
pub fn reversed_word_phrase(q: &str) -> Option<String> {
    let plain = q
        .chars()
        .all(|c| c.is_ascii() && !c.is_ascii_control() && c != '%' && c != '_');
    if !plain {
        return None;
    }
    let mut words: Vec<&str> = q
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect();
    if q.ends_with(|c: char| c.is_ascii_alphanumeric()) {
        words.pop();
    }
    let mut prefix = false;
    if q.starts_with(|c: char| c.is_ascii_alphanumeric()) && !words.is_empty() {
        if words[0].len() < 3 {
            words.remove(0);
        } else {
            prefix = true;
        }
    }
    if words.is_empty() {
        return None;
    }
    let reversed: Vec<String> = words
        .iter()
        .rev()
        .map(|word| word.chars().rev().collect::<String>().to_ascii_lowercase())
        .collect();
    Some(format!(
        "text : \"{}\"{}",
        reversed.join(" "),
        if prefix { " *" } else { "" }
    ))
}

/// Copies the write-ahead log into the database file and empties it, so content that a
/// write just replaced (a rotated secret) lives on in neither. With `secure_delete` the
/// replaced bytes are zeroed in the file itself. Best effort: with readers active the log
/// cannot be emptied now, and the next checkpoint does it.
pub async fn forget_overwritten(db: &SqlitePool) {
    if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(db)
        .await
    {
        tracing::warn!(%error, "cannot checkpoint the database after replacing a secret");
    }
}

/// The database file a URL names; `None` for an in-memory database.
pub fn database_file(database_url: &str) -> anyhow::Result<Option<PathBuf>> {
    let url = sqlite_url(database_url)?;
    if url.contains(":memory:") {
        return Ok(None);
    }
    let options = SqliteConnectOptions::from_str(&url)
        .with_context(|| format!("invalid database URL {database_url:?}"))?;
    Ok(Some(options.get_filename().to_path_buf()))
}

fn describe(file: &Path) -> String {
    file.display().to_string()
}

fn sqlite_url(database_url: &str) -> anyhow::Result<String> {
    let url = database_url.trim();
    if url.starts_with("sqlite:") {
        Ok(url.to_owned())
    } else if postgres::is_postgres_url(url) {
        bail!("this command does not work on PostgreSQL yet (only `licentric-server migrate` does); use a sqlite:// URL or a file path")
    } else if url.contains("://") {
        bail!("unsupported database URL {url:?}: use sqlite://path/to/licentric.db or a file path")
    } else if url.is_empty() {
        bail!("the database URL is empty: use sqlite://path/to/licentric.db or a file path")
    } else {
        Ok(format!("sqlite://{url}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ascii_searches_become_index_phrases_and_the_rest_stay_likes() {
        assert_eq!(
            trigram_phrase("Globex").as_deref(),
            Some("text : \"Globex\"")
        );
        assert_eq!(
            trigram_phrase("say \"hi\" now").as_deref(),
            Some("text : \"say \"\"hi\"\" now\"")
        );
        assert_eq!(trigram_phrase("ab"), None);
        assert_eq!(trigram_phrase("50%"), None);
        assert_eq!(trigram_phrase("a_b_c"), None);
        assert_eq!(trigram_phrase("Müller"), None);
    }

    #[test]
    fn searches_of_words_become_reversed_phrases_and_fragments_do_not() {
        let phrase = |q| reversed_word_phrase(q);
        // The first word may end a longer word (a prefix reversed); the last may go on.
        assert_eq!(
            phrase("Grace's MacBook Pro").as_deref(),
            Some("text : \"koobcam s ecarg\" *")
        );
        // Separators at both ends: every word is whole.
        assert_eq!(
            phrase("'s MacBook Pro)").as_deref(),
            Some("text : \"orp koobcam s\"")
        );
        // Words and a fragment: the fragment at the end is left out.
        assert_eq!(
            phrase("race's MacBook Pr").as_deref(),
            Some("text : \"koobcam s ecar\" *")
        );
        // A short first word would be a prefix of one or two letters: left out.
        assert_eq!(
            phrase("e's MacBook Pro").as_deref(),
            Some("text : \"koobcam s\"")
        );
        assert_eq!(
            phrase("WORKSTATION-0").as_deref(),
            Some("text : \"noitatskrow\" *")
        );
        // Fragments, wildcards, non-ASCII, punctuation alone: the trigram index or a LIKE.
        for q in [
            "MacBook",
            "ace",
            "e's",
            "50%",
            "a_b c",
            "Müller's Mac",
            "'-'",
        ] {
            assert_eq!(phrase(q), None, "{q}");
        }
    }

    #[test]
    fn database_urls_are_normalised_and_unsupported_ones_refused_clearly() {
        assert_eq!(sqlite_url("data/x.db").unwrap(), "sqlite://data/x.db");
        assert_eq!(sqlite_url("sqlite::memory:").unwrap(), "sqlite::memory:");
        assert_eq!(
            sqlite_url("sqlite:///tmp/x.db").unwrap(),
            "sqlite:///tmp/x.db"
        );
        let error = sqlite_url("postgres://localhost/licentric").unwrap_err();
        assert!(error.to_string().contains("PostgreSQL"));
        assert!(sqlite_url("mysql://x").is_err());
        assert!(sqlite_url("  ").is_err());
        assert_eq!(
            database_file("sqlite:///tmp/x.db").unwrap(),
            Some(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(
            database_file("data/x.db").unwrap(),
            Some(PathBuf::from("data/x.db"))
        );
        assert_eq!(database_file("sqlite::memory:").unwrap(), None);
    }

    #[tokio::test]
    async fn connect_creates_the_file_and_its_directory_and_migrates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/deeper/licentric.db");
        let pool = connect(path.to_str().unwrap()).await.unwrap();
        assert!(path.exists());
        let tables: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('accounts', 'licenses')",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(tables, 2);
        // A second start finds the schema current and changes nothing.
        drop(pool);
        connect(path.to_str().unwrap()).await.unwrap();
    }
}

#[cfg(test)]
mod migration_tests {
    use super::MIGRATOR;

    /// A database remembers each applied migration's checksum and refuses to start when
    /// the file has changed since: once a migration has shipped, it is never edited. Add
    /// a new migration instead, and pin it here when it ships.
    const SHIPPED: &[(i64, &str)] = &[
        (1, "2cec83d736a21ae6"),
        (2, "7815455685016324"),
        (3, "f80be868862d3235"),
        (4, "80b2e55dbd32ee5a"),
        (5, "9f25690055da5253"),
        (6, "eb19a4e7eaca2a37"),
        (7, "500c80bec792f83c"),
        (8, "3e93ca5ae8f2181f"),
        (9, "85713c981466d1f9"),
        (10, "411503357b1853f9"),
        (11, "667a9c9488dbb952"),
        (12, "66d8118eb1b5d0e9"),
    ];

    #[test]
    fn shipped_migrations_never_change() {
        let now: Vec<(i64, String)> = MIGRATOR
            .iter()
            .map(|m| (m.version, hex::encode(&m.checksum[..8])))
            .collect();
        for (version, pinned) in SHIPPED {
            let current = now.iter().find(|(v, _)| v == version);
            assert_eq!(
                current.map(|(_, c)| c.as_str()),
                Some(*pinned),
                "migration {version} was shipped and has been edited (or removed); all: {now:?}"
            );
        }
        assert!(now.len() >= SHIPPED.len());
    }

    /// The same rule for PostgreSQL's migrations (`migrations/postgres/`).
    // 0004 and 0007-0009 were never used (held for branches that needed none): the next
    // PostgreSQL migration is 0012, never a lower number below one already applied.
    const SHIPPED_POSTGRES: &[(i64, &str)] = &[
        (1, "dc2e31bf2f0a825f"),
        (2, "fb70e87a9cdd3233"),
        (3, "692f5387d6514a3e"),
        (5, "d918ab899d5f44e2"),
        (6, "7165c80856b8676f"),
        (10, "588ed332703c55ae"),
        (11, "67e85613f0034079"),
    ];

    #[test]
    fn shipped_postgres_migrations_never_change() {
        let now: Vec<(i64, String)> = super::postgres::MIGRATOR
            .iter()
            .map(|m| (m.version, hex::encode(&m.checksum[..8])))
            .collect();
        for (version, pinned) in SHIPPED_POSTGRES {
            let current = now.iter().find(|(v, _)| v == version);
            assert_eq!(
                current.map(|(_, c)| c.as_str()),
                Some(*pinned),
                "PostgreSQL migration {version} was shipped and has been edited (or removed); all: {now:?}"
            );
        }
        assert!(now.len() >= SHIPPED_POSTGRES.len());
    }
}
