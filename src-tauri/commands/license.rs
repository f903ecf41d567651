//! The end user's license: its status, activation, machine slots and deactivation.
//! Every call goes through the SDK's `LicenseClient`; the key stays in the OS keyring.

use chrono::{DateTime, Utc};
use licentric_client::{LicenseError, LicenseInfo, LicenseKey};
use licentric_core::wire::{HeartbeatStatus, LicenseOverview, Platform};
use serde::Serialize;
use tauri::State;

use crate::{
    error::Error,
    state::{AppState, Connection},
};

/// What the License view shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct LicenseView {
    /// Whether the application may run (including degraded).
    pub licensed: bool,
    /// Why not (or the degraded warning).
    pub error: Option<LicenseError>,
    /// What is known about the license.
    pub info: Option<LicenseInfo>,
    /// The machine slots, when the server could be asked.
    pub slots: Option<Slots>,
    /// Whether this app is sending the heartbeats the license's policy requires.
    pub heartbeats: bool,
    /// When this was checked, by the app's clock: what "in 3 days" is counted from.
    pub checked_at: DateTime<Utc>,
}

/// A license's machine slots.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct Slots {
    /// Slots in use.
    pub used: u32,
    /// Slots in all; `null` for unlimited.
    pub max: Option<u32>,
    /// The machines, oldest first.
    pub machines: Vec<SlotMachine>,
}

/// One machine in a slot.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct SlotMachine {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// Its platform.
    pub platform: Option<Platform>,
    /// Whether it checks in as required.
    pub heartbeat_status: HeartbeatStatus,
    /// Its last heartbeat.
    pub last_heartbeat_at: Option<DateTime<Utc>>,
    /// When it was activated.
    pub activated_at: DateTime<Utc>,
    /// Whether it is the machine this app runs on.
    pub this_machine: bool,
}

fn slots(overview: LicenseOverview, fingerprint: Option<&str>) -> Slots {
    Slots {
        used: overview.machines_used,
        max: overview.max_machines,
        machines: overview
            .machines
            .into_iter()
            .map(|m| SlotMachine {
                this_machine: Some(m.fingerprint.as_str()) == fingerprint,
                id: m.id,
                name: m.name,
                platform: m.platform,
                heartbeat_status: m.heartbeat_status,
                last_heartbeat_at: m.last_heartbeat_at,
                activated_at: m.created_at,
            })
            .collect(),
    }
}

pub(crate) async fn view(state: &AppState, connection: &Connection) -> Result<LicenseView, Error> {
    let client = connection.license()?;
    let licensed = client.check_license().await;
    connection.keep_heartbeat(licensed);
    let info = client.get_license_info();
    let fingerprint = client.fingerprint().ok();
    let error = client.get_error();
    if let Some(error) = error.clone().filter(|e| e.code.as_str() != "not_activated") {
        state.remember("license check", Error::License(error));
    }
    if let Some(info) = &info {
        state.review_notices(info);
    }
    // Slots come from the server; offline there are none to show.
    let slots = match info.as_ref().and_then(|i| i.last_online_at) {
        Some(_) if licensed || info.as_ref().is_some_and(|i| i.machine_id.is_some()) => client
            .overview(None)
            .await
            .ok()
            .map(|o| slots(o, fingerprint.as_deref())),
        _ => None,
    };
    Ok(LicenseView {
        licensed,
        error,
        info,
        slots,
        heartbeats: connection.heartbeat_running(),
        checked_at: state.now(),
    })
}

/// Checks the license (online when possible) and reports everything the view shows.
#[tauri::command]
pub async fn license_status(state: State<'_, AppState>) -> Result<LicenseView, Error> {
    view(&state, &state.connection())
        .await
        .map_err(|e| state.remember("license_status", e))
}

/// Activates `key` on this machine.
#[tauri::command]
pub async fn activate_license(
    state: State<'_, AppState>,
    key: String,
) -> Result<LicenseView, Error> {
    async {
        let key = parse_key(&key)?;
        let connection = state.connection();
        connection.license()?.activate(key.as_str()).await?;
        view(&state, &connection).await
    }
    .await
    .map_err(|e| state.remember("activate_license", e))
}

/// The machine slots of `key` (a key being activated) or of the activated license.
#[tauri::command]
pub async fn license_slots(
    state: State<'_, AppState>,
    key: Option<String>,
) -> Result<Slots, Error> {
    async {
        let connection = state.connection();
        let client = connection.license()?;
        let key = key.as_deref().map(parse_key).transpose()?;
        let overview = client
            .overview(key.as_ref().map(LicenseKey::as_str))
            .await?;
        Ok(slots(overview, client.fingerprint().ok().as_deref()))
    }
    .await
    .map_err(|e| state.remember("license_slots", e))
}

/// Deactivates another machine of the license, freeing its seat.
#[tauri::command]
pub async fn deactivate_machine(
    state: State<'_, AppState>,
    machine_id: String,
    key: Option<String>,
) -> Result<Slots, Error> {
    async {
        let connection = state.connection();
        let client = connection.license()?;
        let key = key.as_deref().map(parse_key).transpose()?;
        client
            .deactivate_machine(&machine_id, key.as_ref().map(LicenseKey::as_str))
            .await?;
        let overview = client
            .overview(key.as_ref().map(LicenseKey::as_str))
            .await?;
        Ok(slots(overview, client.fingerprint().ok().as_deref()))
    }
    .await
    .map_err(|e| state.remember("deactivate_machine", e))
}

/// Deactivates this machine: frees its seat and forgets the key and the cached license.
#[tauri::command]
pub async fn deactivate_this_machine(state: State<'_, AppState>) -> Result<LicenseView, Error> {
    async {
        let connection = state.connection();
        connection.license()?.deactivate().await?;
        view(&state, &connection).await
    }
    .await
    .map_err(|e| state.remember("deactivate_this_machine", e))
}

fn parse_key(key: &str) -> Result<LicenseKey, Error> {
    LicenseKey::parse(key).map_err(|_| {
        Error::InvalidInput(
            "That is not a license key. It looks like PREFIX-XXXX-XXXX-XXXX-XXXX; copy it again from your purchase e-mail.".to_owned(),
        )
    })
}
