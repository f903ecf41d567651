//! The installed package: the binary that the `.deb` put under a scratch root (see
//! tests/package/desktop.sh) starts to a painted License view and activates a license.

use std::path::PathBuf;

use crate::harness::{App, Launch, TestServer};

/// Set by scripts/test to the binary tests/package/desktop.sh installed.
const INSTALLED_APP: &str = "LICENTRIC_E2E_INSTALLED_APP";

#[test]
#[ignore = "needs the installed .deb, Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn the_installed_package_starts_to_the_license_view_and_activates() {
    let binary = std::env::var_os(INSTALLED_APP).map(PathBuf::from).unwrap_or_else(|| {
        panic!("{INSTALLED_APP} is not set: scripts/test builds the .deb, installs it with tests/package/desktop.sh and sets it")
    });
    assert!(
        binary.ends_with("usr/bin/licentric-desktop") && binary.is_file(),
        "{} is not an installed app",
        binary.display()
    );
    let server = TestServer::start();
    let mut app = App::launch(
        "installed-package",
        Launch {
            binary: Some(binary.clone()),
            ..server.launch()
        },
    );
    app.wait_text("[data-testid=status-label]", "Not activated");
    // The window is the installed binary's, not the one Cargo built.
    let running = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path().join("exe")).ok())
        .any(|exe| exe == binary);
    assert!(running, "no process runs {}", binary.display());
    app.screenshot("license-view");
    app.type_in("[data-testid=license-key-input]", &server.demo.license_key);
    app.wait_text("[data-testid=key-hint]", "Ready:");
    app.click("[data-testid=activate-button]");
    app.wait_text("[data-testid=status-label]", "Active");
    app.screenshot("activated");
}
