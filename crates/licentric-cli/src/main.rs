//! `licentric`: the headless license command (activate, status, check, deactivate,
//! offline activation, heartbeats) on the Licentric SDK, sharing the desktop app's cache,
//! keyring entry and grace rules. See the README for settings and exit codes.

mod cli;
mod commands;
mod config;
mod error;
mod machine;

use std::process::ExitCode;

use clap::Parser;

use crate::{cli::Cli, error::CliError};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(error::exit::USAGE));
        }
    };
    if cli.settings.verbose > 0 {
        let level = if cli.settings.verbose > 1 {
            "debug"
        } else {
            "info"
        };
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(format!(
                "warn,licentric_client={level},licentric={level}"
            )))
            .with_writer(std::io::stderr)
            .init();
    }
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("licentric: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<u8, CliError> {
    let file = match config::config_file(
        cli.settings.config.as_deref(),
        directories::BaseDirs::new()
            .as_ref()
            .map(|d| d.config_dir()),
    ) {
        Some(path) => {
            let layer = config::read_file(&path)?;
            Some((path, layer))
        }
        None => None,
    };
    let config = config::resolve(cli.settings.layer.clone(), file, config::default_data_dir())?;
    // One thread: a command does one thing at a time, and starts faster without a pool.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Other(format!("cannot start: {e}")))?;
    runtime.block_on(commands::run(cli.command, &config))
}
