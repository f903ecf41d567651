//! The Licentric desktop app: a Tauri shell around the web UI in `ui/`.
//!
//! The web view never talks to the network or holds a secret: every call goes through a
//! thin command in `commands/`, which uses the `licentric-client` SDK. `state.rs` owns
//! what lives for the app's lifetime (the SDK client, the local server), `error.rs` the
//! `{code, message}` errors the UI receives.

pub mod commands;
pub mod config;
pub mod console;
pub mod error;
pub mod launch;
pub mod local_server;
pub mod notices;
pub mod settings;
pub mod state;
pub mod support;
pub mod webview;

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
    // Where a launch's time goes (issue 16), in the log: from the process's start to
    // here, the window, the connection (the local server's start), the page loaded and
    // the License view painted (see launch.rs).
    launch::begin();
    webview::prepare_environment();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tao=warn,wry=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    launch::mark("run");

    tauri::Builder::default()
        .plugin(tauri_plugin_notification::init())
        .setup(|app| {
            // The event loop exists by now: GTK is initialised.
            launch::mark("setup");
            let config = config::AppConfig::from_env(app.path().app_data_dir()?)?;
            let notifier = Box::new(DesktopNotifier(app.handle().clone()));
            app.manage(state::AppState::new(config, notifier));
            // The connection (the local server's first start: its database created and
            // migrated, the demo data made) opens while the window and its web view load,
            // not before: commands wait for it, and the License view shows "Checking your
            // license…" meanwhile.
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                let state = handle.state::<state::AppState>();
                state.connect().await;
                launch::mark("connection open");
                for hour in 0.. {
                    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                    state.hourly(hour).await;
                }
            });
            // `--console` (or LICENTRIC_WINDOW=console) opens the vendor console alone;
            // otherwise the end user's window, from tauri.conf.json.
            let console_only = std::env::args().any(|a| a == "--console")
                || std::env::var("LICENTRIC_WINDOW").is_ok_and(|w| w == "console");
            if console_only {
                commands::app::show_console(app.handle())?;
            } else if let Some(main) = app.config().app.windows.first() {
                webview::open_when_loaded(tauri::WebviewWindowBuilder::from_config(
                    app.handle(),
                    main,
                )?)?;
            }
            launch::mark("window created");
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app::app_info,
            commands::app::open_console,
            commands::app::launch_painted,
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
            commands::console::connections::console_connections,
            commands::console::connections::console_session,
            commands::console::connections::add_console_connection,
            commands::console::connections::use_console_connection,
            commands::console::connections::remove_console_connection,
            commands::console::products::list_products,
            commands::console::products::get_product,
            commands::console::products::create_product,
            commands::console::products::update_product,
            commands::console::products::delete_product,
            commands::console::products::account_jwks,
            commands::console::policies::list_policies,
            commands::console::policies::get_policy,
            commands::console::policies::create_policy,
            commands::console::policies::update_policy,
            commands::console::policies::delete_policy,
            commands::console::entitlements::list_entitlements,
            commands::console::entitlements::create_entitlement,
            commands::console::entitlements::update_entitlement,
            commands::console::entitlements::delete_entitlement,
            commands::console::licenses::list_licenses,
            commands::console::licenses::get_license,
            commands::console::licenses::create_license,
            commands::console::licenses::update_license,
            commands::console::licenses::license_action,
            commands::console::licenses::attach_entitlements,
            commands::console::licenses::detach_entitlement,
            commands::console::licenses::diagnose_license,
            commands::console::licenses::act_on_licenses,
            commands::console::licenses::issue_licenses,
            commands::console::licenses::cancel_console_job,
            commands::console::licenses::import_licenses,
            commands::console::licenses::export_licenses_csv,
            commands::console::machines::list_machines,
            commands::console::machines::delete_machine,
            commands::console::machines::export_machines_csv,
            commands::console::api_keys::list_api_keys,
            commands::console::api_keys::create_api_key,
            commands::console::api_keys::rotate_api_key,
            commands::console::api_keys::revoke_api_key,
            commands::console::webhooks::list_webhooks,
            commands::console::webhooks::get_webhook,
            commands::console::webhooks::create_webhook,
            commands::console::webhooks::update_webhook,
            commands::console::webhooks::delete_webhook,
            commands::console::webhooks::rotate_webhook_secret,
            commands::console::webhooks::test_webhook,
            commands::console::webhooks::webhook_deliveries,
            commands::console::webhooks::redeliver_webhook_delivery,
            commands::console::events::list_events,
            commands::console::events::export_events_csv,
            commands::console::analytics::analytics_series,
            commands::console::analytics::analytics_seats,
            commands::console::analytics::analytics_expiring,
            commands::console::signing_keys::list_signing_keys,
            commands::console::signing_keys::rotate_signing_key,
            // support desk
            commands::console::support::read_activation_request,
            commands::console::support::review_activation_request,
            commands::console::support::issue_offline_license,
            commands::console::support::save_license_file,
        ])
        .run(tauri::generate_context!())
        .expect("the Tauri runtime failed to start");
}
