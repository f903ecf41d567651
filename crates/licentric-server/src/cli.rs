//! The `licentric-server` command line: `serve`, `init`, `backup` and `restore`.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use anyhow::bail;
use licentric_core::{Environment, SystemClock};
use sqlx::SqlitePool;

use clap::{Parser, Subcommand};

use crate::{
    admission::Admission,
    backup, config,
    db::{self, postgres},
    delivery::DeliveryConfig,
    domain::{audit::Retention, runtime::WalLimit},
    forwarded::TrustedProxies,
    provision,
    rate_limit::{Quota, RateLimits},
    secret::{SecretOrigin, ServerSecret, DEFAULT_SECRET_FILE, SECRET_ENV},
    signing,
    tenant::Tenant,
    webhook_target::PrivateTargets,
    AppState, Application, ProvisionOptions, Settings,
};

/// What `--secret-file` says, shared by `serve` and `init`.
const SECRET_FILE_HELP: &str = "File holding the server secret that seals the accounts' signing keys (at least 32 characters). Without it: the LICENTRIC_SECRET variable, else `server-secret` beside the database, created on first use";

/// The Licentric license server.
#[derive(Debug, Parser)]
#[command(name = "licentric-server", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The server's subcommands.
// `Serve` carries every setting; a command line is parsed once, so its size costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the /api/v1 API. Creates and migrates the database on start.
    Serve {
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, env = "LICENTRIC_LISTEN", default_value = config::DEFAULT_LISTEN)]
        listen: SocketAddr,
        /// Database URL (`sqlite://path.db`, a file path, or `postgres://app@host/db` as a
        /// member of licentric_runtime). Default: licentric.db in the user's data directory.
        #[arg(long, env = "LICENTRIC_DATABASE_URL")]
        database_url: Option<String>,
        /// PostgreSQL only: the migration role's URL (`postgres://owner@host/db`); when
        /// given, the schema is migrated with it on start. Without it the schema must be
        /// current (`licentric-server migrate`), or the server refuses to start.
        #[arg(long, env = "LICENTRIC_DATABASE_MIGRATION_URL")]
        database_migration_url: Option<String>,
        #[command(flatten)]
        postgres: PostgresArgs,
        /// Requests allowed per API key, as REQUESTS/PERIOD (e.g. 1200/60s).
        #[arg(long, env = "LICENTRIC_RATE_LIMIT_API_KEY", default_value = "1200/60s")]
        rate_limit_api_key: Quota,
        /// Requests allowed per license key.
        #[arg(
            long,
            env = "LICENTRIC_RATE_LIMIT_LICENSE_KEY",
            default_value = "300/60s"
        )]
        rate_limit_license_key: Quota,
        /// Requests allowed per client address without credentials (validate-key).
        #[arg(
            long,
            env = "LICENTRIC_RATE_LIMIT_ANONYMOUS",
            default_value = "300/60s"
        )]
        rate_limit_anonymous: Quota,
        /// Failed authentications (401s, validations of unknown keys) allowed per client
        /// address per period; one more locks the address out of unauthenticated requests
        /// for the period.
        #[arg(
            long,
            env = "LICENTRIC_RATE_LIMIT_AUTH_FAILURES",
            default_value = "30/300s"
        )]
        rate_limit_auth_failures: Quota,
        /// Days the audit trail keeps events; older ones are pruned every minute.
        #[arg(long, env = "LICENTRIC_AUDIT_RETENTION_DAYS", default_value_t = 365,
              value_parser = clap::value_parser!(u32).range(1..))]
        audit_retention_days: u32,
        #[arg(long, env = "LICENTRIC_SECRET_FILE", help = SECRET_FILE_HELP)]
        secret_file: Option<PathBuf>,
        /// Which non-public addresses webhooks may be sent to: none (the default: public
        /// addresses only), loopback (this machine), or all (also private networks:
        /// 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7). The flag alone means all;
        /// true and false also work. Link-local and cloud metadata addresses are always
        /// refused.
        #[arg(
            long,
            env = "LICENTRIC_ALLOW_PRIVATE_WEBHOOK_TARGETS",
            value_name = "none|loopback|all",
            default_value = "none",
            num_args = 0..=1,
            require_equals = true,
            default_missing_value = "all"
        )]
        allow_private_webhook_targets: PrivateTargets,
        /// Hours after which a webhook endpoint that has failed every delivery attempt
        /// since is disabled (with the reason on the endpoint, until it is enabled again).
        #[arg(long, env = "LICENTRIC_WEBHOOK_DISABLE_AFTER_HOURS", default_value_t = 24,
              value_parser = clap::value_parser!(u32).range(1..))]
        webhook_disable_after_hours: u32,
        /// Requests worked on at once; more wait for a turn.
        #[arg(long, env = "LICENTRIC_MAX_IN_FLIGHT", default_value_t = 256,
              value_parser = clap::value_parser!(u64).range(1..))]
        max_in_flight: u64,
        /// Requests waiting for a turn; one more is refused at once with 503 `overloaded`
        /// and `Retry-After`.
        #[arg(long, env = "LICENTRIC_MAX_QUEUED", default_value_t = 1024)]
        max_queued: u64,
        /// Milliseconds a request may wait for a turn before it is refused the same way.
        #[arg(long, env = "LICENTRIC_QUEUE_WAIT_MS", default_value_t = 500)]
        queue_wait_ms: u64,
        /// Seconds a stop (SIGTERM, Ctrl-C) waits for requests and webhook deliveries in
        /// flight before the server exits anyway.
        #[arg(long, env = "LICENTRIC_SHUTDOWN_TIMEOUT_SECS", default_value_t = 30)]
        shutdown_timeout_secs: u64,
        /// MiB a SQLite database's write-ahead log (`<file>-wal`) may grow to under a
        /// steady stream of validations before the server restarts it, holding them for
        /// a moment (about two fsyncs; longer for a longer log). Ignored on PostgreSQL.
        #[arg(long, env = "LICENTRIC_SQLITE_WAL_LIMIT_MIB", default_value_t = 64,
              value_parser = clap::value_parser!(u64).range(1..=65536))]
        sqlite_wal_limit_mib: u64,
        /// Reverse proxies (addresses or networks, comma-separated: `127.0.0.1`,
        /// `10.0.0.0/8`) whose `X-Forwarded-For` names the client, for the rate limits
        /// per address and the audit trail. Behind nginx or a load balancer, name it: else
        /// every client counts as the proxy's address, and one client's failed
        /// authentications lock all of them out. The header is ignored from any other
        /// address (a client could write anything there). Default: none.
        #[arg(
            long,
            env = "LICENTRIC_TRUSTED_PROXIES",
            value_name = "ADDRESSES",
            default_value = ""
        )]
        trusted_proxies: TrustedProxies,
    },
    /// Bring the database's schema to this server's version, and nothing else. For
    /// PostgreSQL, run it as the role that owns the schema (the server's own role, a member
    /// of licentric_runtime, cannot and should not); SQLite databases are also migrated
    /// by `serve` on start.
    Migrate {
        /// Database URL (`postgres://owner@host/db`, `sqlite://path.db` or a file path).
        #[arg(long, env = "LICENTRIC_DATABASE_URL")]
        database_url: Option<String>,
        #[command(flatten)]
        postgres: PostgresArgs,
    },
    /// Move a SQLite database into PostgreSQL: every account, key hash, signing key,
    /// product, policy, license, machine, event and delivery, in one transaction, checked
    /// table by table (row counts and a SHA-256 of the rows) before it is committed. Run it
    /// as the role that owns the PostgreSQL schema, with the servers stopped; the servers
    /// on PostgreSQL need the same server secret (it seals the signing keys).
    MigrateDb {
        /// The SQLite database to copy (`sqlite://path.db` or a file path); read only.
        #[arg(long, value_name = "URL")]
        from: String,
        /// The PostgreSQL database to fill (`postgres://owner@host/db`); migrated first.
        #[arg(long, value_name = "URL")]
        to: String,
        /// Delete what the PostgreSQL database already holds first (without it, a
        /// database that holds any row is refused).
        #[arg(long)]
        replace: bool,
    },
    /// Create an account with a live and a test API key holding every scope (shown once).
    Init {
        /// Database URL (`sqlite://path.db` or a file path).
        #[arg(long, env = "LICENTRIC_DATABASE_URL")]
        database_url: Option<String>,
        /// Also create a demo product, policy and license.
        #[arg(long)]
        demo: bool,
        /// Print one JSON object on stdout instead of prose.
        #[arg(long)]
        json: bool,
        /// The account's display name.
        #[arg(long, default_value = "My account")]
        account_name: String,
        #[arg(long, env = "LICENTRIC_SECRET_FILE", help = SECRET_FILE_HELP)]
        secret_file: Option<PathBuf>,
    },
    /// Copy the database into a new file while the server runs: a consistent snapshot
    /// (SQLite's VACUUM INTO), checked before it is given its name. The server secret is
    /// not in it: keep a copy of the secret apart from the backups.
    Backup {
        /// Database URL, as given to `serve`.
        #[arg(long, env = "LICENTRIC_DATABASE_URL")]
        database_url: Option<String>,
        /// The backup file to create; an existing file is never overwritten.
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Replace the database with a backup, once the backup is checked: an undamaged
    /// Licentric database of a schema this server knows, whose signing keys the server
    /// secret unseals. Stop the server first. The replaced database is kept beside it as
    /// `<name>.before-restore-<time>`.
    Restore {
        /// Database URL, as given to `serve`: the database to replace (or create).
        #[arg(long, env = "LICENTRIC_DATABASE_URL")]
        database_url: Option<String>,
        /// The backup file to restore.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        #[arg(long, env = "LICENTRIC_SECRET_FILE", help = SECRET_FILE_HELP)]
        secret_file: Option<PathBuf>,
    },
}

/// How the server connects to PostgreSQL (ignored for SQLite).
#[derive(Debug, Clone, clap::Args)]
pub struct PostgresArgs {
    /// PostgreSQL only: connections in the pool.
    #[arg(long, env = "LICENTRIC_DATABASE_POOL_SIZE", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub database_pool_size: u32,
    /// PostgreSQL only: milliseconds one statement may run before the database cancels it.
    #[arg(long, env = "LICENTRIC_DATABASE_STATEMENT_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub database_statement_timeout_ms: u64,
}

impl PostgresArgs {
    /// The pool settings these flags give.
    pub fn pool_settings(&self) -> postgres::PoolSettings {
        postgres::PoolSettings {
            max_connections: self.database_pool_size,
            statement_timeout: Duration::from_millis(self.database_statement_timeout_ms),
            ..postgres::PoolSettings::default()
        }
    }
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            listen,
            database_url,
            database_migration_url,
            postgres,
            rate_limit_api_key,
            rate_limit_license_key,
            rate_limit_anonymous,
            rate_limit_auth_failures,
            audit_retention_days,
            secret_file,
            allow_private_webhook_targets,
            webhook_disable_after_hours,
            max_in_flight,
            max_queued,
            queue_wait_ms,
            shutdown_timeout_secs,
            sqlite_wal_limit_mib,
            trusted_proxies,
        } => {
            let settings = Settings {
                rate_limits: RateLimits {
                    api_key: rate_limit_api_key,
                    license_key: rate_limit_license_key,
                    anonymous: rate_limit_anonymous,
                    auth_failures: rate_limit_auth_failures,
                },
                deliveries: DeliveryConfig {
                    private_targets: allow_private_webhook_targets,
                    disable_after: std::time::Duration::from_secs(
                        u64::from(webhook_disable_after_hours) * 3600,
                    ),
                    ..DeliveryConfig::default()
                },
                audit_retention: Retention {
                    days: audit_retention_days,
                    ..Retention::default()
                },
                admission: Admission {
                    max_in_flight: usize::try_from(max_in_flight)?,
                    max_queued: usize::try_from(max_queued)?,
                    queue_wait: Duration::from_millis(queue_wait_ms),
                    ..Admission::default()
                },
                wal_limit: WalLimit {
                    bytes: sqlite_wal_limit_mib << 20,
                },
                trusted_proxies,
                ..Settings::default()
            };
            let shutdown_timeout = Duration::from_secs(shutdown_timeout_secs);
            let database = DatabaseArgs {
                url: database_url,
                migration_url: database_migration_url,
                postgres,
            };
            serve(listen, database, secret_file, settings, shutdown_timeout).await
        }
        Command::Migrate {
            database_url,
            postgres,
        } => migrate(database_url, &postgres).await,
        Command::MigrateDb { from, to, replace } => migrate_db(&from, &to, replace).await,
        Command::Init {
            database_url,
            demo,
            json,
            account_name,
            secret_file,
        } => init(database_url, demo, json, account_name, secret_file).await,
        Command::Backup { database_url, to } => {
            let database_url = database_url_or_default(database_url)?;
            let database = backup::database_file(&database_url)?;
            let made = backup::backup(&database, &to).await?;
            println!(
                "Backed up {} to {} ({} bytes, schema {}).",
                database.display(),
                made.file.display(),
                made.bytes,
                made.schema_version
            );
            println!("The server secret is not in the backup: keep a copy of it apart; a restore needs it.");
            Ok(())
        }
        Command::Restore {
            database_url,
            from,
            secret_file,
        } => {
            let database_url = database_url_or_default(database_url)?;
            let database = backup::database_file(&database_url)?;
            let checked = backup::open_backup(&from).await?;
            // The secret the restored database will be served with, found as `serve`
            // finds it (the default file beside the database being replaced).
            let secret = resolve_secret(secret_file, &database_url, checked.pool())
                .await
                .map_err(|e| anyhow::anyhow!("refusing to restore {}: {e:#}", from.display()))?;
            let restored = checked
                .restore(&database, &secret, chrono::Utc::now())
                .await?;
            println!(
                "Restored {} into {} (schema {}; the server migrates it on start if older).",
                from.display(),
                restored.database.display(),
                restored.schema_version
            );
            if let Some(previous) = restored.previous {
                println!(
                    "The database it replaced is kept as {}.",
                    previous.display()
                );
            }
            Ok(())
        }
    }
}

/// The server secret on PostgreSQL: `--secret-file` / `LICENTRIC_SECRET_FILE` or
/// `LICENTRIC_SECRET`, never a file made on first use: every server process on one
/// database must seal and unseal the signing keys with the same secret.
fn postgres_secret(secret_file: Option<PathBuf>) -> anyhow::Result<ServerSecret> {
    let from_env = std::env::var(SECRET_ENV).ok().filter(|v| !v.is_empty());
    match (secret_file, from_env) {
        (Some(_), Some(_)) => bail!(
            "the server secret is given twice: by --secret-file (or LICENTRIC_SECRET_FILE) and by {SECRET_ENV}; give it one way"
        ),
        (Some(path), None) => ServerSecret::from_file(&path),
        (None, Some(text)) => ServerSecret::from_text(&text, SecretOrigin::Environment),
        (None, None) => bail!(
            "on PostgreSQL the server secret must be given, the same to every server process on the database: --secret-file / LICENTRIC_SECRET_FILE or {SECRET_ENV} (at least 32 characters)"
        ),
    }
}

/// The server secret: `--secret-file` / `LICENTRIC_SECRET_FILE`, or `LICENTRIC_SECRET`,
/// or the `server-secret` file beside the database, created when missing on a database
/// that has no signing keys yet. An in-memory database gets an ephemeral secret.
pub async fn resolve_secret(
    secret_file: Option<PathBuf>,
    database_url: &str,
    db: &SqlitePool,
) -> anyhow::Result<ServerSecret> {
    let from_env = std::env::var(SECRET_ENV).ok().filter(|v| !v.is_empty());
    match (secret_file, from_env) {
        (Some(_), Some(_)) => bail!(
            "the server secret is given twice: by --secret-file (or LICENTRIC_SECRET_FILE) and by {SECRET_ENV}; give it one way"
        ),
        (Some(path), None) => ServerSecret::from_file(&path),
        (None, Some(text)) => ServerSecret::from_text(&text, SecretOrigin::Environment),
        (None, None) => match db::database_file(database_url)? {
            None => Ok(ServerSecret::ephemeral()),
            Some(database) => {
                let path = database.with_file_name(DEFAULT_SECRET_FILE);
                if !path.exists() && signing::any_keys(db).await? {
                    bail!(
                        "this database already holds signing keys, but the server secret file {} does not exist. Put back the server-secret file that was created with the database, or give its secret with --secret-file / LICENTRIC_SECRET_FILE / {SECRET_ENV}",
                        path.display()
                    );
                }
                ServerSecret::load_or_create(&path)
            }
        },
    }
}

/// `migrate`: the schema brought up to date, by the role that owns it.
async fn migrate(database_url: Option<String>, args: &PostgresArgs) -> anyhow::Result<()> {
    let database_url = database_url_or_default(database_url)?;
    if postgres::is_postgres_url(&database_url) {
        let pool = postgres::connect(&database_url, &args.pool_settings()).await?;
        postgres::migrate(&pool).await?;
        let version = postgres::MIGRATOR
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or(0);
        println!("The PostgreSQL schema is at version {version}; serve as a member of {} (not as this role).", postgres::RUNTIME_ROLE);
    } else {
        db::connect(&database_url).await?;
        let version = db::MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        println!("The SQLite database is at schema version {version}.");
    }
    Ok(())
}

/// `migrate-db`: the move from SQLite to PostgreSQL (see [`crate::migrate_db`]).
async fn migrate_db(from: &str, to: &str, replace: bool) -> anyhow::Result<()> {
    if postgres::is_postgres_url(from) {
        bail!("--from takes the SQLite database to move (sqlite://path.db or a file path)");
    }
    if !postgres::is_postgres_url(to) {
        bail!("--to takes the PostgreSQL database to move into (postgres://owner@host/db)");
    }
    let file = backup::database_file(from)?;
    if !file.is_file() {
        bail!("there is no SQLite database at {}", file.display());
    }
    // The file is brought to this server's schema first, as `serve` would on start.
    let source = db::connect(from).await?;
    let settings = postgres::PoolSettings {
        max_connections: 2,
        // One long transaction: the copy of a large table is one statement.
        statement_timeout: Duration::from_secs(6 * 3600),
        ..postgres::PoolSettings::default()
    };
    let target = postgres::connect(to, &settings).await?;
    postgres::migrate(&target).await?;
    let moved = crate::migrate_db::migrate_db(&source, &target, replace).await?;
    print!("{}", crate::migrate_db::summary(&moved));
    let rows: u64 = moved.iter().map(|m| m.rows).sum();
    println!(
        "Moved {rows} rows of {} tables from {} into PostgreSQL; every table's rows and checksum match. Start the servers with --database-url set to the PostgreSQL URL of a member of {} and the same server secret.",
        moved.len(),
        file.display(),
        postgres::RUNTIME_ROLE
    );
    Ok(())
}

fn database_url_or_default(database_url: Option<String>) -> anyhow::Result<String> {
    database_url.map_or_else(config::default_database_url, Ok)
}

/// Where `serve` finds its database.
struct DatabaseArgs {
    url: Option<String>,
    migration_url: Option<String>,
    postgres: PostgresArgs,
}

/// PostgreSQL for `serve`: migrated first when the migration role's URL is given, then
/// opened as the server's own role, which must be one row-level security holds for, on a
/// schema of exactly this server's version.
async fn open_postgres(database: &DatabaseArgs, url: &str) -> anyhow::Result<db::Db> {
    let settings = database.postgres.pool_settings();
    if let Some(migration_url) = &database.migration_url {
        let owner = postgres::connect(migration_url, &settings).await?;
        postgres::migrate(&owner).await?;
        owner.close().await;
    }
    let pool = postgres::connect(url, &settings).await?;
    let role = postgres::check_runtime_role(&pool).await?;
    postgres::check_schema(&pool).await?;
    tracing::info!(role = %role.name, "serving on PostgreSQL");
    Ok(pool.into())
}

async fn serve(
    listen: SocketAddr,
    database: DatabaseArgs,
    secret_file: Option<PathBuf>,
    settings: Settings,
    shutdown_timeout: Duration,
) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let database_url = database_url_or_default(database.url.clone())?;
    let (db, secret) = if postgres::is_postgres_url(&database_url) {
        let db = open_postgres(&database, &database_url).await?;
        (db, postgres_secret(secret_file)?)
    } else {
        let pool = db::connect(&database_url).await?;
        let secret = resolve_secret(secret_file, &database_url, &pool).await?;
        (pool.into(), secret)
    };
    match secret.origin() {
        SecretOrigin::File {
            path,
            created: true,
        } => tracing::info!(
            path = %path.display(),
            "created a new server secret file: keep it (and back it up) with the database; the signing keys cannot be used without it"
        ),
        SecretOrigin::Ephemeral => {
            tracing::warn!("in-memory database: using an ephemeral server secret")
        }
        origin => tracing::info!(from = %origin, "using the server secret"),
    }
    let settings = Settings { secret, ..settings };
    let state = AppState::with_settings(db, Arc::new(SystemClock), settings);
    let app = Application::with_state(listen, state).await?;
    // Scripts and tests read this line to learn the port when 0 was asked for.
    println!("Licentric server listening on http://{}", app.local_addr());
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        stop_signal().await;
        tracing::info!(
            deadline = ?shutdown_timeout,
            "stopping: no new connections; finishing the requests and webhook deliveries in flight"
        );
        let _ = stop.send(true);
    });
    let mut deadline = stopping.clone();
    let serving = app.run_until(async move {
        let mut stopping = stopping;
        let _ = stopping.wait_for(|stop| *stop).await;
    });
    tokio::select! {
        served = serving => served?,
        () = async {
            let _ = deadline.wait_for(|stop| *stop).await;
            tokio::time::sleep(shutdown_timeout).await;
        } => {
            tracing::warn!(
                deadline = ?shutdown_timeout,
                "stopped with requests or deliveries still in flight after the shutdown deadline; an unanswered client will retry, and an unsent delivery is sent after the next start"
            );
        }
    }
    Ok(())
}

/// Completes on SIGTERM (systemd, docker, kill) or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the server gracefully");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn init(
    database_url: Option<String>,
    demo: bool,
    json: bool,
    account_name: String,
    secret_file: Option<PathBuf>,
) -> anyhow::Result<()> {
    let database_url = database_url_or_default(database_url)?;
    let pool = db::connect(&database_url).await?;
    let secret = resolve_secret(secret_file, &database_url, &pool).await?;
    signing::check_secret(&pool, &secret).await?;
    if let SecretOrigin::File {
        path,
        created: true,
    } = secret.origin()
    {
        eprintln!(
            "Created the server secret file {}: keep it (and back it up) with the database; the signing keys cannot be used without it.",
            path.display()
        );
    }
    let now = chrono::Utc::now();
    let created = provision(&pool, &ProvisionOptions { account_name, demo }, now).await?;
    for environment in [Environment::Live, Environment::Test] {
        let tenant = Tenant {
            account_id: created.account_id.clone(),
            environment,
        };
        signing::ensure_key(&pool, &secret, &tenant, now).await?;
    }
    if json {
        println!("{}", serde_json::to_string(&created)?);
        return Ok(());
    }
    println!("Created account {}", created.account_id);
    println!("API keys with every scope (shown once; store them now):");
    println!("  live  {}", created.api_key);
    println!("  test  {}", created.test_api_key);
    if let Some(demo) = &created.demo {
        println!("Demo product  {}", demo.product_id);
        println!("Demo policy   {}", demo.policy_id);
        println!("Demo license  {}", demo.license_id);
        println!("  key         {}", demo.license_key);
        println!("  expires at  {}", demo.license_expires_at.to_rfc3339());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn private_targets(args: &[&str]) -> Result<PrivateTargets, clap::Error> {
        let cli = Cli::try_parse_from(["licentric-server", "serve"].iter().chain(args))?;
        match cli.command {
            Command::Serve {
                allow_private_webhook_targets,
                ..
            } => Ok(allow_private_webhook_targets),
            _ => unreachable!(),
        }
    }

    #[test]
    fn private_webhook_targets_are_refused_unless_the_flag_says_otherwise() {
        assert_eq!(private_targets(&[]).unwrap(), PrivateTargets::None);
        let flag = "--allow-private-webhook-targets";
        assert_eq!(private_targets(&[flag]).unwrap(), PrivateTargets::All);
        for (value, expected) in [
            ("loopback", PrivateTargets::Loopback),
            ("all", PrivateTargets::All),
            ("none", PrivateTargets::None),
            ("true", PrivateTargets::All),
        ] {
            assert_eq!(
                private_targets(&[&format!("{flag}={value}")]).unwrap(),
                expected
            );
        }
        let error = private_targets(&[&format!("{flag}=lan")]).unwrap_err();
        assert!(
            error.to_string().contains("none, loopback or all"),
            "{error}"
        );
    }
}
