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
pub mod notices;
pub mod settings;
pub mod state;

use tauri::Manager;
use tauri_plugin_notification::NotificationExt;

/// Shows notices through the OS notification service (org.freedesktop.Notifications on
/// Linux). Called from Rust only: the web view is granted no notification permission.
#[derive(Debug)]
struct DesktopNotifier(tauri::AppHandle);

impl notices::Notifier for DesktopNotifier {
    fn show(&self, notice: &notices::Notice) {
        tracing::info!(title = %notice.title, "showing a desktop notification");
        if let Err(error) = self
            .0
            .notification()
            .builder()
            .title(&notice.title)
            .body(&notice.body)
            .show()
        {
            tracing::warn!(%error, "the desktop notification could not be shown");
        }
    }
}

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
        .plugin(tauri_plugin_notification::init())
        .setup(|app| {
            let config = config::AppConfig::from_env(app.path().app_data_dir()?)?;
            let notifier = Box::new(DesktopNotifier(app.handle().clone()));
            let state = tauri::async_runtime::block_on(state::AppState::start(config, notifier));
            app.manage(state);
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                for hour in 0.. {
                    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                    handle.state::<state::AppState>().hourly(hour).await;
                }
            });
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
            commands::settings::get_settings,
            commands::settings::check_settings,
            commands::settings::save_settings,
            commands::settings::test_connection,
            commands::settings::export_diagnostics,
        ])
        .run(tauri::generate_context!())
        .expect("the Tauri runtime failed to start");
}
