//! Server configuration: command-line flags, then `LICENTRIC_…` environment variables,
//! then defaults (see `cli.rs` for the flags).

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context;

use crate::state::Settings;

/// Where the server listens unless told otherwise: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

/// What a server needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// `sqlite://path/to/file.db`, `sqlite::memory:`, or a plain file path.
    pub database_url: String,
    /// Rate limits and webhook delivery.
    pub settings: Settings,
}

/// The default database: `licentric.db` in the user's data directory
/// (`~/.local/share/licentric-server/` on Linux).
pub fn default_database_url() -> anyhow::Result<String> {
    let dirs = directories::ProjectDirs::from("com", "Licentric", "licentric-server")
        .context("cannot find the user's data directory; pass --database-url")?;
    let path: PathBuf = dirs.data_dir().join("licentric.db");
    Ok(format!("sqlite://{}", path.display()))
}
