//! Backups of the SQLite database while the server runs, and restores that check a file
//! before anything is replaced.
//!
//! A backup is SQLite's `VACUUM INTO`: one read transaction, so the copy is the database
//! as of one instant however many writes the server makes meanwhile (in WAL mode a reader
//! does not stop writers). It is written beside the destination and renamed into place
//! only when complete and checked, so a failed backup never leaves a file that looks
//! like one.
//!
//! The server secret is not in a backup (the database alone must not be enough to forge
//! licenses, see `secret.rs`): a restore needs the secret the database was made with, and
//! checks it by unsealing a signing key before it replaces anything.

use std::{
    fs,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteLockingMode, SqlitePoolOptions},
    ConnectOptions, Connection, SqliteConnection, SqlitePool,
};

use crate::{db, secret::ServerSecret, signing};

/// What a backup made.
#[derive(Debug)]
pub struct BackupReport {
    /// The backup file.
    pub file: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// The schema version (latest migration) it holds.
    pub schema_version: i64,
}

/// What a restore replaced.
#[derive(Debug)]
pub struct RestoreReport {
    /// The database file now holding the backup's content.
    pub database: PathBuf,
    /// The schema version the backup holds (the server migrates it on start if older).
    pub schema_version: i64,
    /// Where the database it replaced was kept, if there was one.
    pub previous: Option<PathBuf>,
}

/// The database file of a URL, refusing an in-memory database.
pub fn database_file(database_url: &str) -> anyhow::Result<PathBuf> {
    db::database_file(database_url)?
        .context("an in-memory database has nothing to back up or restore: give a database file")
}

/// Copies the database at `database` into the new file `to`, consistently, while a server
/// may be using it. Refuses to overwrite an existing file.
pub async fn backup(database: &Path, to: &Path) -> anyhow::Result<BackupReport> {
    if !database.is_file() {
        bail!("there is no database at {}", database.display());
    }
    if to.exists() {
        bail!(
            "{} already exists: give a new file name (a backup never overwrites a file)",
            to.display()
        );
    }
    let partial = sibling(to, "partial")?;
    let _ = fs::remove_file(&partial);
    let result = async {
        let mut source = SqliteConnectOptions::new()
            .filename(database)
            .create_if_missing(false)
            // The server's writes hold the lock for milliseconds; wait for them.
            .busy_timeout(Duration::from_secs(30))
            .connect()
            .await
            .with_context(|| format!("cannot open the database {}", database.display()))?;
        sqlx::query("VACUUM INTO ?")
            .bind(partial.to_string_lossy().into_owned())
            .execute(&mut source)
            .await
            .with_context(|| format!("cannot copy the database into {}", partial.display()))?;
        source.close().await?;
        let checked = check(&partial, Thoroughness::Quick).await?;
        fs::File::open(&partial)
            .and_then(|file| file.sync_all())
            .with_context(|| format!("cannot flush {}", partial.display()))?;
        // A link fails if `to` appeared meanwhile: never overwritten.
        fs::hard_link(&partial, to)
            .with_context(|| format!("cannot move the backup to {}", to.display()))?;
        sync_directory(to)?;
        anyhow::Ok(checked)
    }
    .await;
    let _ = fs::remove_file(&partial);
    let schema_version = result?;
    Ok(BackupReport {
        file: to.to_owned(),
        bytes: fs::metadata(to)?.len(),
        schema_version,
    })
}

/// A backup file that passed [`open_backup`]'s checks, open read-only.
#[derive(Debug)]
pub struct CheckedBackup {
    file: PathBuf,
    pool: SqlitePool,
    schema_version: i64,
}

/// Opens the backup `from` for a restore, refusing it unless it is an undamaged Licentric
/// database of a schema this server knows.
pub async fn open_backup(from: &Path) -> anyhow::Result<CheckedBackup> {
    if !from.is_file() {
        bail!(
            "refusing to restore {}: there is no such file",
            from.display()
        );
    }
    let refuse = |e: anyhow::Error| anyhow::anyhow!("refusing to restore: {e:#}");
    let schema_version = check(from, Thoroughness::Full).await.map_err(refuse)?;
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(read_only(from)?)
        .await
        .map_err(|e| refuse(not_a_database(from, &e)))?;
    Ok(CheckedBackup {
        file: from.to_owned(),
        pool,
        schema_version,
    })
}

impl CheckedBackup {
    /// The backup's content, read-only (e.g. to find how its secret must be resolved).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Replaces the database at `database` with this backup, after checking that `secret`
    /// unseals its signing keys (a backup without keys accepts any secret) and that no
    /// server has `database` open. The database it replaces is kept beside it as
    /// `<name>.before-restore-<now>`; at every step the file at `database` is either the
    /// old database or the whole backup, never a mix.
    pub async fn restore(
        self,
        database: &Path,
        secret: &ServerSecret,
        now: DateTime<Utc>,
    ) -> anyhow::Result<RestoreReport> {
        let from = self.file;
        let secret_check = signing::check_secret(&self.pool, secret).await;
        self.pool.close().await;
        secret_check
            .map_err(|e| anyhow::anyhow!("refusing to restore {}: {e:#}", from.display()))?;

        // Copied beside the database first, so the replacement is one rename.
        if let Some(parent) = database.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create the directory {}", parent.display()))?;
        }
        let incoming = sibling(database, "restoring")?;
        let result = async {
            fs::copy(&from, &incoming).with_context(|| {
                format!("cannot copy {} to {}", from.display(), incoming.display())
            })?;
            fs::File::open(&incoming)
                .and_then(|file| file.sync_all())
                .with_context(|| format!("cannot flush {}", incoming.display()))?;
            check(&incoming, Thoroughness::Quick)
                .await
                .context("the copy of the backup does not read back")?;
            let previous = if database.exists() {
                quiesce(database).await?;
                let kept = with_suffix(
                    database,
                    &format!(".before-restore-{}", now.format("%Y%m%dT%H%M%SZ")),
                );
                fs::hard_link(database, &kept).with_context(|| {
                    format!("cannot keep the current database as {}", kept.display())
                })?;
                Some(kept)
            } else {
                // A log without its database (a crash, a deleted file) must not be read
                // into the restored one.
                let _ = fs::remove_file(with_suffix(database, "-wal"));
                None
            };
            // quiesce() left no log; the index of the replaced database's log goes too.
            let _ = fs::remove_file(with_suffix(database, "-shm"));
            fs::rename(&incoming, database).with_context(|| {
                format!(
                    "cannot move the restored database to {}",
                    database.display()
                )
            })?;
            sync_directory(database)?;
            anyhow::Ok(previous)
        }
        .await;
        let _ = fs::remove_file(&incoming);
        Ok(RestoreReport {
            database: database.to_owned(),
            schema_version: self.schema_version,
            previous: result?,
        })
    }
}

/// How much of a file SQLite checks.
#[derive(Debug, Clone, Copy)]
enum Thoroughness {
    /// `integrity_check`: every page, and every index against its table.
    Full,
    /// `quick_check`: every page, not the indexes against their tables — for a file just
    /// written by SQLite itself or copied from one fully checked.
    Quick,
}

/// Checks that `file` is an undamaged SQLite database holding a Licentric schema this
/// server knows (every migration it records is one of ours, applied, unchanged); returns
/// its schema version.
async fn check(file: &Path, thoroughness: Thoroughness) -> anyhow::Result<i64> {
    let mut conn = open_read_only(file).await?;
    let pragma = match thoroughness {
        Thoroughness::Full => "PRAGMA integrity_check(5)",
        Thoroughness::Quick => "PRAGMA quick_check(5)",
    };
    let result = async {
        let problems: Vec<String> = sqlx::query_scalar(pragma)
            .fetch_all(&mut conn)
            .await
            .map_err(|e| not_a_database(file, &e))?;
        if problems != ["ok"] {
            bail!(
                "{} is damaged (SQLite's integrity check: {})",
                file.display(),
                problems.join("; ")
            );
        }
        let has_migrations: bool = sqlx::query_scalar(
            "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_one(&mut conn)
        .await?;
        if !has_migrations {
            bail!(
                "{} is an SQLite database but not a Licentric one (it has no migrations table)",
                file.display()
            );
        }
        let applied: Vec<(i64, bool, Vec<u8>)> =
            sqlx::query_as("SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&mut conn)
                .await?;
        let known = db::MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        for (version, success, checksum) in &applied {
            match db::MIGRATOR.iter().find(|m| m.version == *version) {
                None if *version > known => bail!(
                    "{} was made by a newer Licentric server (schema {version}; this server knows schemas up to {known}): restore it with that version",
                    file.display()
                ),
                None => bail!("{} records migration {version}, which Licentric never had: it is not a Licentric database", file.display()),
                Some(ours) if ours.checksum.as_ref() != checksum.as_slice() => bail!(
                    "{}'s migration {version} differs from this server's: it is not a database this server made",
                    file.display()
                ),
                Some(_) if !success => bail!("{}'s migration {version} did not finish", file.display()),
                Some(_) => {}
            }
        }
        match applied.last() {
            Some((version, ..)) => Ok(*version),
            None => bail!("{} has an empty migrations table: it is not a Licentric database", file.display()),
        }
    }
    .await;
    conn.close().await?;
    result
}

fn not_a_database(file: &Path, error: &sqlx::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "{} is damaged or not an SQLite database ({error})",
        file.display()
    )
}

/// Options for a connection that cannot change `file`: read-only and `immutable` (no
/// locks, no log), for files no server uses — a backup, or a copy about to replace a
/// database.
fn read_only(file: &Path) -> anyhow::Result<SqliteConnectOptions> {
    Ok(SqliteConnectOptions::new()
        .filename(file)
        .read_only(true)
        .immutable(true)
        .create_if_missing(false))
}

async fn open_read_only(file: &Path) -> anyhow::Result<SqliteConnection> {
    read_only(file)?
        .connect()
        .await
        .map_err(|e| not_a_database(file, &e))
}

/// Checkpoints the database and empties its write-ahead log under an exclusive lock: it
/// fails while a server has the database open, so a running server is never pulled out
/// from under. Closing the connection then removes the log.
async fn quiesce(database: &Path) -> anyhow::Result<()> {
    let in_use = || {
        anyhow::anyhow!(
            "the database {} is in use (is a server running on it?): stop the server, then restore",
            database.display()
        )
    };
    let mut conn = SqliteConnectOptions::new()
        .filename(database)
        .create_if_missing(false)
        .locking_mode(SqliteLockingMode::Exclusive)
        .busy_timeout(Duration::ZERO)
        .connect()
        .await
        .map_err(|_| in_use())?;
    let locked = async {
        // The first write takes the exclusive lock (held until the connection closes).
        sqlx::query("BEGIN EXCLUSIVE").execute(&mut conn).await?;
        sqlx::query("COMMIT").execute(&mut conn).await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await?;
        anyhow::Ok(())
    }
    .await;
    conn.close().await?;
    locked.map_err(|_| in_use())?;
    let wal = with_suffix(database, "-wal");
    if fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
        return Err(in_use());
    }
    let _ = fs::remove_file(wal);
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// A hidden file beside `path` for work in progress.
fn sibling(path: &Path, what: &str) -> anyhow::Result<PathBuf> {
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let mut hidden = std::ffi::OsString::from(".");
    hidden.push(name);
    hidden.push(format!(".{what}-{}", std::process::id()));
    Ok(path.with_file_name(hidden))
}

/// Makes a rename or link in `path`'s directory durable.
fn sync_directory(path: &Path) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot flush the directory {}", dir.display()))
}
