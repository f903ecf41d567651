//! About the app itself.

use serde::Serialize;
use tauri::{AppHandle, Manager, State};

use crate::{
    error::Error,
    settings::Theme,
    state::{AppState, ServerInfo},
};

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
    /// The theme chosen in Settings.
    pub theme: Theme,
}

impl AppInfo {
    /// This app, talking to `server`.
    pub fn new(server: ServerInfo, settings_problem: Option<String>, theme: Theme) -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            server,
            settings_problem,
            theme,
        }
    }
}

/// The app's version and which license server it talks to.
// Async (with a `Result`, as Tauri asks of async commands that borrow state): it waits
// for the connection, which opens beside the window's loading.
#[tauri::command]
pub async fn app_info(state: State<'_, AppState>) -> Result<AppInfo, Error> {
    Ok(AppInfo::new(
        state.server().await,
        state.settings_problem(),
        state.settings().theme,
    ))
}

/// The License view is on screen: it calls this in the frame after the one that drew the
/// status. Logged as `launch: painted` with the time since the process started, the first
/// time only (issue 16's launch benchmark reads it). The License window's only.
#[tauri::command]
pub fn launch_painted() {
    crate::launch::painted();
}

/// The label of the vendor console's window; `capabilities/console.json` grants it the
/// management commands, and nothing else has them.
pub const CONSOLE_WINDOW: &str = "console";

/// Opens the vendor console in its own window (or brings it to the front).
#[tauri::command]
pub async fn open_console(app: AppHandle) -> Result<(), Error> {
    show_console(&app)
}

/// Opens or focuses the console window.
pub fn show_console(app: &AppHandle) -> Result<(), Error> {
    if let Some(window) = app.get_webview_window(CONSOLE_WINDOW) {
        let _ = window.unminimize();
        let _ = window.set_focus();
        return Ok(());
    }
    crate::webview::open_when_loaded(
        tauri::WebviewWindowBuilder::new(
            app,
            CONSOLE_WINDOW,
            tauri::WebviewUrl::App("index.html".into()),
        )
        .title("Licentric — Vendor console")
        .inner_size(1280.0, 820.0)
        .min_inner_size(1024.0, 700.0),
    )
    .map_err(|e| {
        Error::ServerUnavailable(format!(
            "The console window could not open ({e}). Restart the app."
        ))
    })
}
