//! The command line: subcommands and the settings every one of them takes.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Layer;

/// Activate and check Licentric licenses on servers, containers and CI runners.
///
/// Settings come from flags, then LICENTRIC_* environment variables, then the config file
/// (--config, else ~/.config/licentric/licentric.toml, else /etc/licentric/licentric.toml).
/// `licentric check` exits 0 when licensed and with a distinct code per problem otherwise
/// (see the README).
#[derive(Debug, Parser)]
#[command(name = "licentric", version, about, long_about)]
pub struct Cli {
    /// Settings shared by every command.
    #[command(flatten)]
    pub settings: Settings,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Settings shared by every command; each can come from the environment too.
#[derive(Debug, Args)]
pub struct Settings {
    /// The config file (TOML) to read instead of the default ones.
    #[arg(long, env = "LICENTRIC_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The settings a config file may give too.
    #[command(flatten)]
    pub layer: Layer,
    /// Log what happens underneath to stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Activate this machine with a license key and cache the signed license.
    Activate {
        /// The license key, e.g. ACME-A2B3-C4D5-E6F7-G8H9 (or LICENTRIC_LICENSE_KEY).
        #[arg(env = "LICENTRIC_LICENSE_KEY", hide_env_values = true)]
        key: String,
    },
    /// Show where the license stands (online when the server answers, else from cache).
    Status {
        /// One JSON object on stdout.
        #[arg(long)]
        json: bool,
        /// Do not contact the server: report from the cache.
        #[arg(long)]
        offline: bool,
    },
    /// Exit 0 when licensed, else with the code of the problem (for start scripts).
    Check {
        /// Do not contact the server: check the cached license only (fast, no network).
        #[arg(long)]
        offline: bool,
        /// Print nothing; the exit code says it all.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Free this machine's seat on the server and forget the license here.
    Deactivate {
        /// Only forget the license on this machine, without asking the server (for a
        /// machine that can no longer reach it; the seat stays taken until the vendor
        /// frees it).
        #[arg(long)]
        local_only: bool,
    },
    /// Activate a machine that has no network, through a request and a license file.
    #[command(subcommand)]
    Offline(Offline),
    /// Send heartbeats until stopped (SIGTERM or Ctrl-C), for a service.
    Heartbeat {
        /// Time between heartbeats, e.g. 30s, 5m, 1h.
        #[arg(long, default_value = "5m", value_parser = crate::config::parse_duration)]
        every: std::time::Duration,
        /// Send one heartbeat and exit.
        #[arg(long)]
        once: bool,
    },
}

/// Offline activation.
#[derive(Debug, Subcommand)]
pub enum Offline {
    /// Print this machine's activation request (text, and a QR code on a terminal) for
    /// the vendor's support to turn into a license file.
    Request {
        /// The license key (or LICENTRIC_LICENSE_KEY).
        #[arg(env = "LICENTRIC_LICENSE_KEY", hide_env_values = true)]
        key: String,
        /// Also write the request to this file (owner-only: it holds the key).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Show the QR code: auto (when stdout is a terminal), always, never.
        #[arg(long, default_value = "auto", value_name = "auto|always|never")]
        qr: QrMode,
    },
    /// Import the license file support sent back, verified against the vendor's key.
    Import {
        /// The .lic file.
        file: PathBuf,
        /// The license key, kept so the machine validates online once it can.
        #[arg(long, env = "LICENTRIC_LICENSE_KEY", hide_env_values = true)]
        key: Option<String>,
    },
}

/// When to print a QR code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QrMode {
    /// When stdout is a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}
