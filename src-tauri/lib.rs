//! The Licentric desktop app: a Tauri shell around the web UI in `ui/`.
//!
//! The web view never talks to the network or holds a secret: every call goes through a
//! thin command in `commands/`, which uses the `licentric-client` SDK. `state.rs` owns
//! what lives for the app's lifetime (the SDK client, the local server), `error.rs` the
//! `{code, message}` errors the UI receives.

pub mod commands;
pub mod config;
pub mod error;
pub mod local_server;
pub mod state;

use tauri::Manager;

/// Starts the app; returns when its last window closes.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tao=warn,wry=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();

    tauri::Builder::default()
        .setup(|app| {
            let config = config::AppConfig::from_env(app.path().app_data_dir()?)?;
            let state = tauri::async_runtime::block_on(state::AppState::start(config));
            app.manage(state);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app::app_info,
            commands::license::license_status,
            commands::license::activate_license,
            commands::license::license_slots,
            commands::license::deactivate_machine,
            commands::license::deactivate_this_machine,
            commands::offline::offline_request,
            commands::offline::import_license_file,
        ])
        .run(tauri::generate_context!())
        .expect("the Tauri runtime failed to start");
}
