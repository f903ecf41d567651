//! About the app itself.

use serde::Serialize;
use tauri::State;

use crate::state::{AppState, ServerInfo};

/// What the UI shows about the app and its server.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct AppInfo {
    /// The app's version.
    pub version: String,
    /// The license server in use.
    pub server: ServerInfo,
    /// Why the saved settings could not be used, until new ones are saved.
    pub settings_problem: Option<String>,
}

impl AppInfo {
    /// This app, talking to `server`.
    pub fn new(server: ServerInfo, settings_problem: Option<String>) -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            server,
            settings_problem,
        }
    }
}

/// The app's version and which license server it talks to.
#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    AppInfo::new(state.server(), state.settings_problem())
}
