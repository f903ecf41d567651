//! The `licentric-server` command line: `serve` and `init`.

use std::{net::SocketAddr, sync::Arc};

use clap::{Parser, Subcommand};
use licentric_core::SystemClock;

use crate::{
    config, db, provision,
    rate_limit::{Quota, RateLimits},
    Application, ProvisionOptions, ServerConfig, Settings,
};

/// The Licentric license server.
#[derive(Debug, Parser)]
#[command(name = "licentric-server", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The server's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the /api/v1 API. Creates and migrates the database on start.
    Serve {
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, env = "LICENTRIC_LISTEN", default_value = config::DEFAULT_LISTEN)]
        listen: SocketAddr,
        /// Database URL (`sqlite://path.db` or a file path). Default: licentric.db in the
        /// user's data directory.
        #[arg(long, env = "LICENTRIC_DATABASE_URL")]
        database_url: Option<String>,
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
    },
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            listen,
            database_url,
            rate_limit_api_key,
            rate_limit_license_key,
            rate_limit_anonymous,
        } => {
            let settings = Settings {
                rate_limits: RateLimits {
                    api_key: rate_limit_api_key,
                    license_key: rate_limit_license_key,
                    anonymous: rate_limit_anonymous,
                },
                ..Settings::default()
            };
            serve(listen, database_url, settings).await
        }
        Command::Init {
            database_url,
            demo,
            json,
            account_name,
        } => init(database_url, demo, json, account_name).await,
    }
}

fn database_url_or_default(database_url: Option<String>) -> anyhow::Result<String> {
    database_url.map_or_else(config::default_database_url, Ok)
}

async fn serve(
    listen: SocketAddr,
    database_url: Option<String>,
    settings: Settings,
) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = ServerConfig {
        listen,
        database_url: database_url_or_default(database_url)?,
        settings,
    };
    let app = Application::build(&config, Arc::new(SystemClock)).await?;
    // Scripts and tests read this line to learn the port when 0 was asked for.
    println!("Licentric server listening on http://{}", app.local_addr());
    app.run_until(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

async fn init(
    database_url: Option<String>,
    demo: bool,
    json: bool,
    account_name: String,
) -> anyhow::Result<()> {
    let database_url = database_url_or_default(database_url)?;
    let pool = db::connect(&database_url).await?;
    let created = provision(
        &pool,
        &ProvisionOptions { account_name, demo },
        chrono::Utc::now(),
    )
    .await?;
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
