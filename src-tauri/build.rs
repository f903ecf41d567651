//! Tauri's build step. Every command the web view may call is declared here (from
//! `commands/list.rs`), so that it gets `allow-…` / `deny-…` permissions and is refused
//! unless a window's capability grants it.

include!("commands/list.rs");

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    println!("cargo:rerun-if-changed=src-tauri/commands/list.rs");
    let mut commands: Vec<&'static str> = MAIN_WINDOW.to_vec();
    for command in CONSOLE_WINDOW {
        if !commands.contains(command) {
            commands.push(command);
        }
    }
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .capabilities_path_pattern("./src-tauri/capabilities/**/*")
            .app_manifest(tauri_build::AppManifest::new().commands(commands.leak())),
    )
    .expect("failed to run tauri-build");
}
