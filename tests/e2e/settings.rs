//! Settings and polish: switching to the vendor's server while the app runs (checked as
//! typed, tested before saving, kept across a restart), the diagnostics export without a
//! secret, a keyboard-only activation, and the dark theme.

use crate::{
    harness::{App, HomeDirs, Launch, TestServer},
    webdriver::{ENTER, TAB},
};

const BADGE: &str = "[data-testid=server-badge]";
const STATUS: &str = "[data-testid=status-label]";
const SAVE: &str = "[data-testid=save-settings]";
const URL_PROBLEM: &str = "[data-testid=problem-serverUrl]";

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn settings_switch_to_the_vendors_server_and_the_choice_survives_a_restart() {
    let server = TestServer::start();
    let home = HomeDirs::new();
    let launch = Launch {
        home: home.home(),
        ..Launch::default()
    };
    let mut app = App::launch("settings-switch-server", launch.clone());
    app.wait_text(BADGE, "Local demo server");
    app.click("[data-testid=tab-settings]");
    app.click("[data-testid=server-remote]");

    // Checked as typed, with what to do; nothing can be saved meanwhile.
    app.type_in("[data-testid=server-url]", "licensing.example.com");
    app.wait_text(URL_PROBLEM, "not a web address");
    // Fields not yet reached are listed beside Save rather than shown in red.
    app.wait_text(
        "[data-testid=settings-incomplete]",
        "Product id, Product fingerprint salt",
    );
    let save_disabled = "return document.querySelector('[data-testid=save-settings]').disabled";
    assert_eq!(app.session.execute(save_disabled), true);
    app.screenshot("invalid-url");

    app.type_in("[data-testid=server-url]", &server.url());
    app.wait_gone(URL_PROBLEM);
    app.type_in("[data-testid=product-id]", &server.demo.product_id);
    app.type_in("[data-testid=product-salt]", crate::harness::PRODUCT_SALT);
    let jwks = server.jwks();
    app.type_in("[data-testid=public-key]", &jwks);
    app.wait_gone("[data-testid=problem-publicKey]");
    // A server that is not there: the test says so before anything is saved.
    app.type_in("[data-testid=server-url]", "http://127.0.0.1:9");
    app.click("[data-testid=test-connection]");
    app.wait_text(
        "[data-testid=connection-result]",
        "Cannot reach the license server",
    );
    app.type_in("[data-testid=server-url]", &server.url());
    app.click("[data-testid=test-connection]");
    app.wait_text("[data-testid=connection-result]", "Connected to Licentric");
    assert_eq!(app.session.execute(save_disabled), false);
    app.click(SAVE);
    app.wait_text("[data-testid=settings-saved]", &server.url());
    app.wait_text(BADGE, &server.url());
    app.screenshot("saved");

    // The License view now talks to the vendor's server: its key activates there.
    app.click("[data-testid=tab-license]");
    app.wait_text(STATUS, "Not activated");
    app.type_in("[data-testid=license-key-input]", &server.demo.license_key);
    app.click("[data-testid=activate-button]");
    app.wait_text(STATUS, "Active");
    assert_eq!(server.machines_in_use(), 1);

    // Diagnostics for support: useful facts, never the key.
    app.click("[data-testid=tab-settings]");
    app.click("[data-testid=export-diagnostics]");
    app.wait_text("[data-testid=diagnostics-saved]", "licentric-diagnostics-");
    let text = app.property("[data-testid=diagnostics-text]", "value");
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["server"]["url"], server.url().as_str());
    assert_eq!(report["server"]["reachable"]["ok"], true);
    assert_eq!(report["license"]["standing"], "online");
    let hash = report["machine"]["fingerprintSha256"]
        .as_str()
        .unwrap_or_default();
    assert!(
        hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()),
        "{hash:?}"
    );
    assert_eq!(report["recentErrors"][0]["during"], "test_connection");
    assert_eq!(report["recentErrors"][0]["code"], "network");
    for secret in [
        server.demo.license_key.as_str(),
        crate::harness::PRODUCT_SALT,
    ] {
        assert!(!text.contains(secret), "the report holds {secret}: {text}");
    }
    app.session.execute(
        "document.querySelector('[data-testid=diagnostics-text]').scrollIntoView({block: 'center'})",
    );
    app.screenshot("diagnostics");
    drop(app);

    // Saved settings outlive the app: it comes back on the vendor's server, licensed.
    let mut app = App::launch("settings-after-restart", launch);
    app.wait_text(BADGE, &server.url());
    app.wait_text(STATUS, "Active");
    app.screenshot("after-restart");
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn a_keyboard_alone_activates_and_the_dark_theme_applies() {
    let server = TestServer::start();
    let mut app = App::launch("keyboard-and-dark-theme", server.launch());
    app.wait_text(STATUS, "Not activated");

    // From the top of the window, Tab reaches the key field, with a visible focus ring.
    let focused = "return document.activeElement?.dataset?.testid ?? ''";
    let mut reached = false;
    for _ in 0..15 {
        app.session.press(TAB);
        if app.session.execute(focused) == "license-key-input" {
            reached = true;
            break;
        }
    }
    assert!(reached, "Tab never reached the license key field");
    let outline = app
        .session
        .execute("return getComputedStyle(document.activeElement).outlineStyle");
    assert_eq!(outline, "solid", "the focused field shows a focus ring");
    app.screenshot("key-field-focused");
    app.session.press(&server.demo.license_key);
    app.session.press(ENTER);
    app.wait_text(STATUS, "Active");
    app.screenshot("activated-by-keyboard");

    // Dark theme: chosen in Settings, applied at once, kept when saved.
    app.click("[data-testid=tab-settings]");
    app.click("[data-testid=theme] option[value=dark]");
    let background = "return getComputedStyle(document.documentElement).backgroundColor";
    assert_eq!(app.session.execute(background), "rgb(21, 22, 28)");
    app.click(SAVE);
    app.wait_text("[data-testid=settings-saved]", "Settings saved");
    let saved = std::fs::read_to_string(app.data_dir().join("settings.json")).unwrap();
    assert!(saved.contains("\"theme\": \"dark\""), "{saved}");
    app.screenshot("dark-settings");
    app.click("[data-testid=server-remote]");
    app.assert_usable_at(800, 600);
    app.screenshot("settings-800x600");
    app.click("[data-testid=server-local]");
    app.click("[data-testid=tab-license]");
    app.wait_text(STATUS, "Active");
    assert_eq!(app.session.execute(background), "rgb(21, 22, 28)");
    app.screenshot("dark-license");
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn the_header_reads_in_full_at_800x600_in_both_themes() {
    let server = TestServer::start();
    let mut app = App::launch("header-800x600", server.launch());
    app.wait_text(BADGE, "License server");
    app.wait_text(STATUS, "Not activated");
    // At the window's first size the chip shows the server's address too.
    app.screenshot("license-1024x720");
    app.wait_text(BADGE, &server.url());
    app.assert_usable_at(800, 600);
    app.screenshot_both_themes("license-800x600");
    // Nothing in the header is cut: each piece of text is as wide as it needs to be and
    // inside the window (the server's URL may give way; it is in the chip's tooltip).
    let clipped = app.session.execute(
        "const cut = [];
         for (const el of document.querySelectorAll('.brand-name, .tab, .server-label, [data-testid=open-console]')) {
           const r = el.getBoundingClientRect();
           if (el.scrollWidth > el.clientWidth + 1 || r.right > window.innerWidth || r.width === 0)
             cut.push(el.textContent);
         }
         const badge = document.querySelector('[data-testid=server-badge]').getBoundingClientRect();
         const label = document.querySelector('.server-label').getBoundingClientRect();
         if (label.right > badge.right) cut.push('label outside its chip');
         return cut;",
    );
    assert_eq!(clipped, serde_json::json!([]), "cut at 800x600");
    assert_eq!(
        app.session
            .execute("return document.querySelector('[data-testid=server-badge]').title"),
        server.url(),
        "the URL stays in the chip's tooltip"
    );
}
