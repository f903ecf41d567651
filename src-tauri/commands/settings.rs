//! Settings: read, check as typed, save (switching server while the app runs), test a
//! server before saving, and the diagnostics export support asks for.

use chrono::{DateTime, Utc};
use licentric_client::Licentric;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use tauri::State;

use super::{app::AppInfo, export_folder, save_export};
use crate::{
    error::Error,
    settings::{FieldProblem, Settings},
    state::AppState,
};

/// What the Settings view opens with.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct SettingsView {
    /// The settings in effect.
    pub settings: Settings,
    /// What "Reset" returns to: the environment's settings.
    pub defaults: Settings,
    /// Their problems (warnings, since saved settings have no errors).
    pub problems: Vec<FieldProblem>,
}

/// The outcome of testing a server.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct ConnectionTest {
    /// The server's version.
    pub version: String,
    /// What a person should know, e.g. that the server's clock is far from this one's.
    pub message: String,
    /// Whether something needs attention even though the server answered.
    pub warning: bool,
}

/// A diagnostics report, never holding a secret.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct Diagnostics {
    /// The report (JSON), to copy.
    pub text: String,
    /// Where it was also saved, when that worked.
    pub saved_to: Option<String>,
}

/// The settings in effect, their defaults and their warnings.
#[tauri::command]
pub fn get_settings(state: State<'_, AppState>) -> SettingsView {
    let settings = state.settings();
    SettingsView {
        problems: settings.problems(),
        defaults: state.default_settings().clone(),
        settings,
    }
}

/// The problems of settings being edited, field by field.
#[tauri::command]
pub fn check_settings(settings: Settings) -> Vec<FieldProblem> {
    settings.problems()
}

/// Saves the settings and switches to the server they describe.
#[tauri::command]
pub async fn save_settings(
    state: State<'_, AppState>,
    settings: Settings,
) -> Result<AppInfo, Error> {
    let server = state
        .apply(settings)
        .await
        .map_err(|e| state.remember("save_settings", e))?;
    Ok(AppInfo::new(
        server,
        state.settings_problem(),
        state.settings().theme,
    ))
}

/// Asks the server the settings name (through their proxy) whether it is up.
#[tauri::command]
pub async fn test_connection(
    state: State<'_, AppState>,
    settings: Settings,
) -> Result<ConnectionTest, Error> {
    async {
        settings.check_addresses()?;
        let url = if settings.local_server {
            state.server().await.url.unwrap_or_default()
        } else {
            settings.server_url.clone()
        };
        probe(&url, settings.effective_proxy(), state.now()).await
    }
    .await
    .map_err(|e| state.remember("test_connection", e))
}

async fn probe(url: &str, proxy: &str, now: DateTime<Utc>) -> Result<ConnectionTest, Error> {
    let api = Licentric::builder()
        .base_url(url)
        .proxy(proxy)
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    let health = api.health().await?;
    let skew = (health.time - now).num_seconds();
    let (message, warning) = if skew.abs() > 300 {
        (
            format!(
                "Connected to Licentric {}, but its clock and this computer's are {} apart. Set this computer's clock to the right time, or offline checks may be refused.",
                health.version,
                human_duration(skew.unsigned_abs())
            ),
            true,
        )
    } else {
        (format!("Connected to Licentric {}.", health.version), false)
    };
    Ok(ConnectionTest {
        version: health.version,
        message,
        warning,
    })
}

fn human_duration(seconds: u64) -> String {
    match seconds {
        s if s >= 2 * 86_400 => format!("{} days", s / 86_400),
        s if s >= 2 * 3_600 => format!("{} hours", s / 3_600),
        s => format!("{} minutes", s / 60),
    }
}

/// Writes a diagnostics report (versions, platform, hashed fingerprint, status, recent
/// errors; never a secret), shows it and saves it for support.
#[tauri::command]
pub async fn export_diagnostics(state: State<'_, AppState>) -> Result<Diagnostics, Error> {
    let text = diagnostics(&state).await;
    let now = state.now();
    let saved_to = save_export(
        &export_folder(state.data_dir(), "diagnostics"),
        "licentric-diagnostics",
        "json",
        &text,
        now,
    );
    Ok(Diagnostics { text, saved_to })
}

async fn diagnostics(state: &AppState) -> String {
    let settings = state.settings();
    let connection = state.connection().await;
    let server = connection.server().clone();
    let now = state.now();
    let reachable = match &server.url {
        Some(url) => match probe(url, settings.effective_proxy(), now).await {
            Ok(test) => json!({ "ok": true, "version": test.version, "note": test.message }),
            Err(error) => {
                json!({ "ok": false, "code": error.code(), "note": crate::error::CommandError::from(&error).message })
            }
        },
        None => json!({ "ok": false, "note": "no server in use" }),
    };
    let client = connection.license().ok();
    let info = client.as_ref().and_then(|c| c.get_license_info());
    let error = client.as_ref().and_then(|c| c.get_error());
    let fingerprint = client.as_ref().and_then(|c| c.fingerprint().ok());
    let public_key_ids = client
        .as_ref()
        .map(|c| c.public_key_ids())
        .unwrap_or_default();
    let report = json!({
        "generatedAt": now,
        "app": {
            "name": "Licentric",
            "version": env!("CARGO_PKG_VERSION"),
            "tauri": tauri::VERSION,
            "webview": tauri::webview_version().ok(),
        },
        "platform": {
            "os": std::env::consts::OS,
            "family": std::env::consts::FAMILY,
            "arch": std::env::consts::ARCH,
            "osRelease": os_release(),
        },
        "server": {
            "mode": server.mode,
            "url": server.url,
            "problem": server.problem,
            "proxy": if settings.effective_proxy().is_empty() { "system settings" } else { "configured" },
            "reachable": reachable,
        },
        "product": {
            "id": info.as_ref().map_or_else(|| settings.product_id.clone(), |i| i.product_id.clone()),
            "pinnedPublicKeyIds": public_key_ids,
        },
        "machine": {
            "fingerprintSha256": fingerprint.as_deref().map(|f| hex::encode(Sha256::digest(f.as_bytes()))),
        },
        "license": info.as_ref().map(|i| json!({
            "key": i.license_key.as_deref().map(mask_key),
            "licenseId": i.license_id,
            "status": i.status,
            "standing": i.standing,
            "expiresAt": i.license_expires_at,
            "tokenValidUntil": i.expires_at,
            "graceEndsAt": i.grace_ends_at,
            "lastOnlineAt": i.last_online_at,
            "machineId": i.machine_id,
            "machinesUsed": i.machines_used,
            "maxMachines": i.max_machines,
            "entitlements": i.entitlements,
            "heartbeatIntervalSeconds": i.heartbeat_interval,
            "heartbeatsRunning": connection.heartbeat_running(),
        })),
        "outcome": error.as_ref().map(|e| json!({ "code": e.code.as_str(), "message": e.message })),
        "settings": {
            "localServer": settings.local_server,
            "notifications": settings.notifications,
            "theme": settings.theme,
        },
        "recentErrors": state.recent_errors(),
    });
    mask_keys(&serde_json::to_string_pretty(&report).unwrap_or_default())
}

/// Masks anything shaped like a license key: belt and braces, should a message quote one.
fn mask_keys(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if licentric_client::LicenseKey::parse(word).is_ok() {
            out.push_str(&mask_key(word));
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '-' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// `DEMO-ABCD-…-WXYZ`: enough for support to tell keys apart, not enough to use one.
fn mask_key(key: &str) -> String {
    let key = key.trim().to_ascii_uppercase();
    let prefix = key.split('-').next().unwrap_or_default();
    let tail = key.get(key.len().saturating_sub(4)..).unwrap_or_default();
    format!("{prefix}-…-{tail}")
}

fn os_release() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("PRETTY_NAME="))
        .map(|name| name.trim_matches('"').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn diagnostics_hold_the_facts_support_needs_and_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::config::AppConfig::from_vars(
            Some(dir.path().display().to_string()),
            None,
            dir.path().into(),
        );
        let state = AppState::start(config, Box::new(crate::notices::Recorder::default())).await;
        // A proxy saved for later remote use: the local server is never reached through it.
        let with_proxy = Settings {
            proxy: "http://proxy.example.com:3128".into(),
            ..Settings::default()
        };
        state.apply(with_proxy).await.unwrap();
        let key = state.server().await.demo_license_key.unwrap();
        let connection = state.connection().await;
        let client = connection.license().unwrap();
        client.activate(&key).await.unwrap();
        assert!(client.check_license().await);
        // An error that quotes the key, as a careless message might.
        state.remember(
            "activate_license",
            Error::InvalidInput(format!("{key} is not valid here.")),
        );

        let report = diagnostics(&state).await;
        let json: serde_json::Value = serde_json::from_str(&report).unwrap();
        assert_eq!(json["license"]["standing"], "online");
        assert_eq!(json["server"]["mode"], "local");
        assert_eq!(json["server"]["proxy"], "system settings");
        assert_eq!(json["server"]["reachable"]["ok"], true);
        assert_eq!(json["recentErrors"][0]["during"], "activate_license");
        let fingerprint = client.fingerprint().unwrap();
        assert_eq!(
            json["machine"]["fingerprintSha256"],
            hex::encode(Sha256::digest(fingerprint.as_bytes()))
        );
        assert!(!report.contains(&key), "{report}");
        assert!(!report.contains(&fingerprint), "{report}");
        assert!(report.contains(&mask_key(&key)), "{report}");
        assert_eq!(
            json["product"]["pinnedPublicKeyIds"]
                .as_array()
                .map(Vec::len),
            Some(1),
            "the local server's key is pinned"
        );
    }

    #[test]
    fn a_masked_key_tells_keys_apart_but_cannot_be_used() {
        assert_eq!(mask_key("DEMO-ABCD-EFGH-IJKL-MNOP"), "DEMO-…-MNOP");
        assert!(
            licentric_client::LicenseKey::parse(&mask_key("DEMO-ABCD-EFGH-IJKL-MNOP")).is_err()
        );
    }

    #[test]
    fn clock_differences_read_as_people_say_them() {
        assert_eq!(human_duration(600), "10 minutes");
        assert_eq!(human_duration(3 * 3_600), "3 hours");
        assert_eq!(human_duration(5 * 86_400 + 7), "5 days");
    }
}
