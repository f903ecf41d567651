//! Tauri's build step. Every command the web view may call is declared here, so that it
//! gets `allow-…` / `deny-…` permissions and is refused unless a capability grants it.

/// The app's commands, one per `#[tauri::command]` in `commands/`.
const COMMANDS: &[&str] = &[
    "app_info",
    "license_status",
    "activate_license",
    "license_slots",
    "deactivate_machine",
    "deactivate_this_machine",
    "offline_request",
    "import_license_file",
    "get_settings",
    "check_settings",
    "save_settings",
    "test_connection",
    "export_diagnostics",
];

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .capabilities_path_pattern("./src-tauri/capabilities/**/*")
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("failed to run tauri-build");
}
