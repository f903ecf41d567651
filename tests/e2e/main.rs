//! End-to-end tests of the desktop app: the real binary in its real WebKit web view,
//! driven over WebDriver, talking to a real license server over loopback.
//!
//! They need Xvfb, dbus, gnome-keyring, WebKitWebDriver and tauri-driver, so they are
//! `#[ignore]`d in a plain `cargo test`; `scripts/test` installs the tools and runs them
//! with `--ignored`. Screenshots of each step land in `test-artifacts/screenshots/`.

// A test that cannot set itself up should stop right there, loudly.
#![allow(clippy::unwrap_used)]

mod console;
mod console_catalog;
mod console_dashboard;
mod console_journey;
mod console_licenses;
mod console_support;
mod harness;
mod license;
mod offline;
mod package;
mod screen;
mod settings;
mod webdriver;
