//! The commands: each builds the SDK's `LicenseClient` from the configuration, calls it,
//! and prints the outcome for people (or as JSON); exit codes come from `error.rs`.

use std::{
    io::{IsTerminal, Write},
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use licentric_client::{
    secrets::{SecretStore, KEY_FILE},
    storage::Storage,
    KeyStorage, LicenseClient, LicenseError, LicenseErrorCode, LicenseInfo, MachineIdentity,
    Standing,
};
use serde::Serialize;

use crate::{
    cli::{Command, Offline, QrMode},
    config::Config,
    error::{exit, license_exit_code, CliError},
    machine::HostMachine,
};

/// Prints a line on stdout; a reader that went away (`licentric status | head -1`) ends
/// the output quietly instead of a panic.
macro_rules! say {
    ($($arg:tt)*) => {
        emit(format_args!($($arg)*))
    };
}

fn emit(line: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    // A closed pipe is the reader's choice; there is nobody left to tell.
    let _ = writeln!(out, "{line}");
}

/// Stands in for the server URL on a machine that has none configured; only offline
/// methods are called then, so it is never contacted.
const NO_SERVER: &str = "http://license-server-not-configured.invalid";

/// Runs a command; `Ok` carries the exit code (`check` and `status` report a license
/// problem through it rather than as an error).
pub async fn run(command: Command, config: &Config) -> Result<u8, CliError> {
    match command {
        Command::Activate { key } => activate(config, &key).await,
        Command::Status { json, offline } => status(config, json, offline).await,
        Command::Check { offline, quiet } => check(config, offline, quiet).await,
        Command::Deactivate { local_only } => deactivate(config, local_only).await,
        Command::Offline(Offline::Request { key, out, qr }) => {
            offline_request(config, &key, out.as_deref(), qr)
        }
        Command::Offline(Offline::Import { file, key }) => {
            offline_import(config, &file, key.as_deref())
        }
        Command::Heartbeat { every, once } => heartbeat(config, every, once).await,
    }
}

fn machine(config: &Config) -> HostMachine {
    HostMachine {
        root: config.system_root.clone(),
    }
}

fn client(config: &Config) -> Result<LicenseClient, CliError> {
    let url = config.server_url.as_deref().unwrap_or(NO_SERVER);
    let mut builder = LicenseClient::builder(url, &config.product_id, &config.product_salt)
        .storage_dir(config.storage_dir())
        .machine(Arc::new(machine(config)))
        .key_storage(config.key_storage)
        .timeout(config.timeout);
    if let Some(jwks) = &config.public_key {
        builder = builder.public_key(jwks);
    }
    if let Some(proxy) = &config.proxy {
        builder = builder.proxy(proxy);
    }
    builder.build().map_err(|error| match error {
        licentric_client::Error::Configuration(problem) => {
            CliError::Config(format!("The configuration cannot be used: {problem}."))
        }
        other => CliError::Other(other.to_string()),
    })
}

async fn activate(config: &Config, key: &str) -> Result<u8, CliError> {
    config.require_server_url()?;
    config.require_public_key()?;
    let client = client(config)?;
    let activation = client.activate(key).await?;
    let seats = match activation.max_machines {
        Some(max) => format!("{}/{max}", activation.machines_used),
        None => format!("{} (unlimited)", activation.machines_used),
    };
    say!(
        "Activated this machine: license {}, machines in use {seats}.",
        activation.status
    );
    if let Some(expires) = activation.expires_at {
        say!(
            "The license expires {}.",
            expires.format("%Y-%m-%d %H:%M UTC")
        );
    }
    if let Some(note) = &activation.message {
        say!("{note}");
    }
    Ok(exit::OK)
}

/// Where the key is kept, for `status`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyPlace {
    /// `keyring`, `file` or `none`.
    storage: &'static str,
    /// The file, when it is the owner-only fallback.
    file: Option<PathBuf>,
}

fn key_place(config: &Config) -> KeyPlace {
    let file = config.storage_dir().join(KEY_FILE);
    if file.is_file() {
        return KeyPlace {
            storage: "file",
            file: Some(file),
        };
    }
    if config.key_storage != KeyStorage::FileOnly {
        if let Ok(storage) = Storage::locate("", &config.product_id, Some(&config.storage_dir())) {
            let store = SecretStore::new(&config.product_id, storage, KeyStorage::KeyringOnly);
            if matches!(store.load(), Ok(Some(_))) {
                return KeyPlace {
                    storage: "keyring",
                    file: None,
                };
            }
        }
    }
    KeyPlace {
        storage: "none",
        file: None,
    }
}

/// `status --json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusReport {
    licensed: bool,
    /// The problem's code (`degraded` while licensed in grace), or null.
    code: Option<&'static str>,
    message: Option<String>,
    /// What `licentric check` exits with in this state.
    exit_code: u8,
    license: Option<LicenseInfo>,
    platform: &'static str,
    key: KeyPlace,
    storage_dir: PathBuf,
    server_url: Option<String>,
    config_file: Option<PathBuf>,
}

/// Checks the license online when a server is configured and `offline` is not asked,
/// else from the cache.
async fn assess(config: &Config, offline: bool) -> Result<(LicenseClient, bool), CliError> {
    config.require_public_key()?;
    let client = client(config)?;
    let licensed = if offline || config.server_url.is_none() {
        client.check_license_offline()
    } else {
        client.check_license().await
    };
    Ok((client, licensed))
}

fn outcome_exit_code(licensed: bool, error: Option<&LicenseError>) -> u8 {
    match (licensed, error) {
        (true, _) => exit::OK,
        (false, Some(error)) => license_exit_code(error.code),
        (false, None) => exit::NOT_ACTIVATED,
    }
}

async fn status(config: &Config, json: bool, offline: bool) -> Result<u8, CliError> {
    let (client, licensed) = assess(config, offline).await?;
    let error = client.get_error();
    let info = client.get_license_info();
    let report = StatusReport {
        licensed,
        code: error.as_ref().map(|e| e.code.as_str()),
        message: client.get_message(),
        exit_code: outcome_exit_code(licensed, error.as_ref()),
        license: info.clone(),
        platform: machine(config).platform().as_str(),
        key: key_place(config),
        storage_dir: config.storage_dir(),
        server_url: config.server_url.clone(),
        config_file: config.config_file.clone(),
    };
    if json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| CliError::Other(format!("cannot write the status as JSON: {e}")))?;
        say!("{text}");
        return Ok(exit::OK);
    }
    let info = info.unwrap_or_default();
    let headline = if licensed {
        format!("Licensed ({})", standing_words(info.standing))
    } else {
        "Not licensed".to_owned()
    };
    say!("{headline}");
    if let Some(message) = &report.message {
        say!("  {message}");
    }
    let row = |label: &str, value: Option<String>| {
        if let Some(value) = value {
            say!("  {label:<22}{value}");
        }
    };
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
    };
    row("License key", info.license_key.clone());
    row("Status", info.status.clone());
    row(
        "License expires",
        when(info.license_expires_at).map(|t| match info.days_remaining {
            Some(days) => format!("{t} ({days} days)"),
            None => t,
        }),
    );
    row("Works offline until", when(info.expires_at));
    row("Grace period ends", when(info.grace_ends_at));
    row("Last online check", when(info.last_online_at));
    if !info.entitlements.is_empty() {
        row("Entitlements", Some(info.entitlements.join(", ")));
    }
    row(
        "Machines",
        info.machines_used.map(|used| match info.max_machines {
            Some(max) => format!("{used}/{max}"),
            None => format!("{used} (unlimited)"),
        }),
    );
    row("Machine id", info.machine_id.clone());
    row("Platform", Some(report.platform.to_owned()));
    row(
        "License key kept in",
        Some(match (&report.key.storage, &report.key.file) {
            (_, Some(file)) => format!(
                "{} (owner-only file: no OS keyring was reachable)",
                file.display()
            ),
            (&"keyring", None) => "the OS keyring".to_owned(),
            _ => "nowhere (not activated)".to_owned(),
        }),
    );
    row("Cache", Some(report.storage_dir.display().to_string()));
    row(
        "Server",
        Some(
            report
                .server_url
                .clone()
                .unwrap_or_else(|| "none configured (offline only)".to_owned()),
        ),
    );
    Ok(exit::OK)
}

fn standing_words(standing: Option<Standing>) -> &'static str {
    match standing {
        Some(Standing::Online) => "checked online",
        Some(Standing::Offline) => "offline, from the cached license",
        Some(Standing::OfflineFile) => "offline, by an imported license file",
        Some(Standing::Grace) => "offline grace period",
        Some(Standing::ClockTampered) => "clock behind trusted time",
        Some(Standing::NotLicensed) | None => "unknown",
    }
}

async fn check(config: &Config, offline: bool, quiet: bool) -> Result<u8, CliError> {
    let (client, licensed) = assess(config, offline).await?;
    let error = client.get_error();
    let code = outcome_exit_code(licensed, error.as_ref());
    if quiet {
        return Ok(code);
    }
    let info = client.get_license_info().unwrap_or_default();
    if licensed {
        say!("Licensed ({}).", standing_words(info.standing));
        if let Some(warning) = error.filter(|e| e.code == LicenseErrorCode::Degraded) {
            eprintln!("warning: {warning}");
        }
    } else {
        let code_name = error.as_ref().map_or("not_activated", |e| e.code.as_str());
        let message = match error {
            Some(error) if error.code != LicenseErrorCode::NotActivated => error.message,
            _ => {
                "No license is activated on this machine: run `licentric activate KEY`.".to_owned()
            }
        };
        eprintln!("licentric: not licensed ({code_name}): {message}");
    }
    Ok(code)
}

async fn deactivate(config: &Config, local_only: bool) -> Result<u8, CliError> {
    let client = client(config)?;
    if local_only {
        client.forget();
        say!("Forgot the license on this machine. Its seat on the server stays taken until the vendor frees it.");
        return Ok(exit::OK);
    }
    config.require_server_url()?;
    client.deactivate().await?;
    say!("Deactivated: this machine's seat is free and the license is forgotten here.");
    Ok(exit::OK)
}

/// Writes `text` to a new or replaced owner-only file.
fn write_private(path: &Path, text: &str) -> Result<(), CliError> {
    let failed = |source| CliError::File {
        action: "cannot write",
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let mut file = options.open(path).map_err(failed)?;
        // An existing file keeps its mode on open: narrow it too.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(failed)?;
        file.write_all(text.as_bytes()).map_err(failed)?;
    }
    #[cfg(not(unix))]
    {
        let mut file = options.open(path).map_err(failed)?;
        file.write_all(text.as_bytes()).map_err(failed)?;
    }
    Ok(())
}

/// The QR code of `text` for a terminal: two rows of modules per line of text.
pub fn terminal_qr(text: &str) -> Result<String, CliError> {
    use qrcode::render::unicode::Dense1x2;
    let code = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| CliError::Other(format!("cannot encode the request as a QR code: {e}")))?;
    // Light modules drawn as blocks: terminals are usually dark, and scanners need dark
    // modules on a light ground.
    Ok(code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

fn offline_request(
    config: &Config,
    key: &str,
    out: Option<&Path>,
    qr: QrMode,
) -> Result<u8, CliError> {
    let client = client(config)?;
    let request = client.activation_request(key)?;
    let show_qr = match qr {
        QrMode::Always => true,
        QrMode::Never => false,
        QrMode::Auto => std::io::stdout().is_terminal(),
    };
    if show_qr {
        say!("{}", terminal_qr(&request)?);
    }
    say!("{}", request.trim_end());
    if let Some(out) = out {
        write_private(out, &request)?;
        eprintln!("Wrote the request to {}.", out.display());
    }
    eprintln!("Send this request to your vendor's support (scan the QR code, or send the text or file). Import the license file they send back with `licentric offline import FILE --key KEY`.");
    Ok(exit::OK)
}

fn offline_import(config: &Config, file: &Path, key: Option<&str>) -> Result<u8, CliError> {
    config.require_public_key()?;
    let text = std::fs::read_to_string(file).map_err(|source| CliError::File {
        action: "cannot read the license file",
        path: file.to_owned(),
        source,
    })?;
    let client = client(config)?;
    let info = client.import_license_file(&text, key)?;
    say!(
        "Imported the license file: licensed offline{}.",
        info.expires_at
            .map(|t| format!(" until {}", t.format("%Y-%m-%d %H:%M UTC")))
            .unwrap_or_default()
    );
    Ok(exit::OK)
}

async fn heartbeat(config: &Config, every: Duration, once: bool) -> Result<u8, CliError> {
    config.require_server_url()?;
    let client = client(config)?;
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| CliError::Other(format!("cannot listen for SIGTERM: {e}")))?;
    let stop = async move {
        tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = tokio::signal::ctrl_c() => "interrupt",
        }
    };
    tokio::pin!(stop);
    if !once {
        say!(
            "Sending a heartbeat every {} s until stopped.",
            every.as_secs()
        );
    }
    let mut wait;
    loop {
        let beat = tokio::select! {
            why = &mut stop => {
                say!("Stopped ({why}).");
                return Ok(exit::OK);
            }
            beat = client.send_heartbeat() => beat,
        };
        let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC");
        match beat {
            Ok(_) => {
                say!("{now} heartbeat sent");
                wait = every;
            }
            Err(error) if once || error.code == LicenseErrorCode::NotActivated => {
                return Err(error.into());
            }
            Err(error) => {
                // Sooner than the interval, so a short outage does not cost the seat.
                wait = every.min(Duration::from_secs(30));
                eprintln!(
                    "{now} heartbeat failed ({}): {error}; retrying in {} s",
                    error.code.as_str(),
                    wait.as_secs()
                );
            }
        }
        if once {
            return Ok(exit::OK);
        }
        tokio::select! {
            why = &mut stop => {
                say!("Stopped ({why}).");
                return Ok(exit::OK);
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_fits_a_terminal_qr_code() {
        let qr = terminal_qr(&"LICENTRIC-REQUEST ".repeat(40)).unwrap();
        let lines: Vec<&str> = qr.lines().collect();
        assert!(lines.len() > 20, "{}", lines.len());
        assert!(lines
            .iter()
            .all(|l| l.chars().count() == lines[0].chars().count()));
        assert!(qr.contains('█') || qr.contains('▀') || qr.contains('▄'));
    }

    #[test]
    fn private_files_are_owner_only_even_when_they_existed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("request.txt");
        std::fs::write(&path, "old").unwrap();
        write_private(&path, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
