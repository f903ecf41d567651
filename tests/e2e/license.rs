//! The end user's journeys in the License view: activate, see the slots fill, free a slot
//! from the list, meet a full license, and keep working when the server is gone.

use crate::harness::{App, HomeDirs, Launch, TestServer, UI_TIMEOUT};

const KEY_INPUT: &str = "[data-testid=license-key-input]";
const KEY_HINT: &str = "[data-testid=key-hint]";
const ACTIVATE: &str = "[data-testid=activate-button]";
const STATUS: &str = "[data-testid=status-label]";
const MESSAGE: &str = "[data-testid=status-message]";
const SLOTS: &str = "[data-testid=slots-meter]";
const THIS_MACHINE: &str = "[data-testid=machine-row][data-this-machine=true]";
const DEACTIVATE_OTHER: &str = "[data-testid=deactivate-machine]";
const CONFIRM: &str = "[data-testid=confirm-button]";
const REFRESH: &str = "[data-testid=refresh-button]";
const ERROR: &str = "[data-testid=error-message]";

fn wait_text(app: &App, css: &str, expected: &str) -> String {
    app.session
        .wait_for_text(css, UI_TIMEOUT, |text| text.contains(expected))
}

fn click(app: &App, css: &str) {
    app.click(css);
}

fn activate(app: &App, typed: &str) {
    let input = app.session.wait_for(KEY_INPUT, UI_TIMEOUT);
    app.session.type_into(&input, typed);
    wait_text(app, KEY_HINT, "Ready:");
    click(app, ACTIVATE);
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn activate_see_the_slots_fill_and_free_another_machine() {
    let server = TestServer::start();
    let mut app = App::launch("license-activate-and-slots", server.launch());
    wait_text(&app, STATUS, "Not activated");
    app.screenshot("not-activated");

    // Typed sloppily, as from an e-mail: case and spaces are forgiven.
    activate(
        &app,
        &format!(" {} ", server.demo.license_key.to_lowercase()),
    );
    wait_text(&app, STATUS, "Active");
    wait_text(&app, SLOTS, "1 of 3 seats used");
    let this = app.session.wait_for(THIS_MACHINE, UI_TIMEOUT);
    assert!(app.session.text(&this).contains("This machine"));
    app.screenshot("activated");

    server.activate_elsewhere("old-desktop-fingerprint", "Old desktop");
    click(&app, REFRESH);
    wait_text(&app, SLOTS, "2 of 3 seats used");
    app.screenshot("two-seats");

    click(&app, DEACTIVATE_OTHER);
    wait_text(
        &app,
        "[data-testid=confirm-dialog]",
        "Deactivate Old desktop?",
    );
    app.screenshot("confirm");
    click(&app, CONFIRM);
    wait_text(&app, SLOTS, "1 of 3 seats used");
    assert!(
        app.session.find(DEACTIVATE_OTHER).is_none(),
        "only this machine is left"
    );
    app.screenshot("freed");

    // The smallest window the app allows is still usable: nothing runs off the side.
    app.assert_usable_at(800, 600);
    app.screenshot("800x600");
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn a_full_license_offers_to_free_a_slot_right_there() {
    let server = TestServer::start();
    for (fingerprint, name) in [
        ("fp-one-11111", "Laptop"),
        ("fp-two-22222", "Desktop"),
        ("fp-three-333", "Build box"),
    ] {
        server.activate_elsewhere(fingerprint, name);
    }
    let mut app = App::launch("license-machine-limit", server.launch());
    activate(&app, &server.demo.license_key);
    let message = wait_text(&app, ERROR, "3 of 3");
    assert!(message.contains("Deactivate one of them"), "{message}");
    wait_text(
        &app,
        "[data-testid=free-a-slot]",
        "Choose a machine to deactivate",
    );
    let input = app.session.wait_for(KEY_INPUT, UI_TIMEOUT);
    assert_eq!(
        app.session.property(&input, "value"),
        server.demo.license_key,
        "what the user typed is kept"
    );
    wait_text(&app, SLOTS, "3 of 3 seats used");
    app.screenshot("full");

    click(&app, DEACTIVATE_OTHER);
    click(&app, CONFIRM);
    wait_text(&app, SLOTS, "2 of 3 seats used");
    click(&app, ACTIVATE);
    wait_text(&app, STATUS, "Active");
    wait_text(&app, SLOTS, "3 of 3 seats used");
    app.screenshot("activated-after-freeing");
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn with_the_server_gone_the_license_keeps_working_offline() {
    let mut server = TestServer::start();
    let mut app = App::launch("license-offline", server.launch());
    activate(&app, &server.demo.license_key);
    wait_text(&app, STATUS, "Active");
    server.stop();
    click(&app, REFRESH);
    wait_text(&app, STATUS, "Offline");
    let message = wait_text(&app, MESSAGE, "Working offline");
    assert!(message.contains("cannot be reached"), "{message}");
    assert!(
        !message.contains("os error"),
        "no socket errors for end users: {message}"
    );
    // The demo policy allows 14 days offline, counted from the last online check.
    wait_text(&app, "[data-testid=offline-until]", "(in 14 days)");
    app.session
        .wait_for("[data-testid=slots-offline]", UI_TIMEOUT);
    app.screenshot("offline");
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn days_offline_later_the_grace_period_counts_down_and_the_desktop_says_so() {
    let mut server = TestServer::start();
    let home = HomeDirs::new();
    let launch = Launch {
        home: home.home(),
        ..server.launch()
    };
    {
        let app = App::launch("license-grace-activate", launch.clone());
        activate(&app, &server.demo.license_key);
        wait_text(&app, STATUS, "Active");
    }
    server.stop();

    // 18 days on, with the server still gone: the token (14 days) has run out, and 3 of
    // the policy's 7 days of grace are left.
    let mut app = App::launch(
        "license-grace",
        Launch {
            clock_offset_days: Some(18),
            ..launch
        },
    );
    wait_text(&app, STATUS, "Grace period");
    wait_text(&app, "[data-testid=grace-ends]", "(in 3 days)");
    let message = app.session.text(&app.session.wait_for(MESSAGE, UI_TIMEOUT));
    assert!(!message.is_empty(), "the grace state explains itself");
    let notice = app.wait_for_notification("Grace period ends in 3 days");
    assert!(notice.contains("Connect to the internet"), "{notice}");
    app.screenshot("grace");

    // Shown once: a refresh (which reviews the notices again) does not repeat it.
    app.refresh_license();
    wait_text(&app, STATUS, "Grace period");
    assert_eq!(
        app.notifications()
            .matches("summary: 'Grace period")
            .count(),
        1,
        "{}",
        app.notifications()
    );
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn the_app_sends_the_heartbeats_its_policy_requires() {
    let server = TestServer::start();
    // The shortest interval a policy allows; the app beats at half of it.
    server.require_heartbeats(60);
    let mut app = App::launch("license-heartbeats", server.launch());
    activate(&app, &server.demo.license_key);
    wait_text(&app, STATUS, "Active");
    wait_text(
        &app,
        "[data-testid=heartbeat]",
        "Every minute, sent while the app runs",
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(50);
    while server
        .last_heartbeats()
        .first()
        .copied()
        .flatten()
        .is_none()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no heartbeat reached the server within 50 s"
        );
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    click(&app, REFRESH);
    wait_text(&app, THIS_MACHINE, "last heartbeat");
    app.screenshot("heartbeats");
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn a_clock_set_back_does_not_buy_time_and_says_what_to_do() {
    let mut server = TestServer::start();
    let home = HomeDirs::new();
    let launch = Launch {
        home: home.home(),
        ..server.launch()
    };
    {
        let app = App::launch("license-clock-activate", launch.clone());
        activate(&app, &server.demo.license_key);
        wait_text(&app, STATUS, "Active");
    }
    server.stop();

    // Offline, with the clock three days behind what the app has already seen.
    let mut app = App::launch(
        "license-clock-back",
        Launch {
            clock_offset_days: Some(-3),
            ..launch
        },
    );
    wait_text(&app, STATUS, "Clock problem");
    let message = wait_text(&app, MESSAGE, "behind a time this app already trusted");
    assert!(message.contains("Set the clock"), "{message}");
    assert!(
        app.session.find("[data-testid=offline-until]").is_none(),
        "no offline days are counted from a clock set back"
    );
    app.screenshot("clock-set-back");
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn activating_with_the_server_down_says_so_and_keeps_the_key() {
    let mut server = TestServer::start();
    let mut app = App::launch("license-server-down", server.launch());
    wait_text(&app, STATUS, "Not activated");
    server.stop();
    activate(&app, &server.demo.license_key);
    let message = wait_text(&app, ERROR, "license server");
    assert!(message.contains("Check the server URL"), "{message}");
    let input = app.session.wait_for(KEY_INPUT, UI_TIMEOUT);
    assert_eq!(
        app.session.property(&input, "value"),
        server.demo.license_key
    );
    app.screenshot("server-down");
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn the_local_server_offers_a_demo_key_that_activates() {
    let mut app = App::launch("license-local-server", Launch::default());
    let badge = app
        .session
        .wait_for("[data-testid=server-badge]", UI_TIMEOUT);
    assert!(app.session.text(&badge).contains("Local demo server"));
    let demo = app.session.wait_for("[data-testid=demo-key]", UI_TIMEOUT);
    assert!(app.session.text(&demo).starts_with("DEMO-"));
    app.screenshot("start");
    click(&app, "button.link");
    wait_text(&app, KEY_HINT, "Ready:");
    click(&app, ACTIVATE);
    wait_text(&app, STATUS, "Active");
    wait_text(&app, SLOTS, "1 of 3 seats used");
    app.screenshot("activated");
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn deactivating_this_machine_frees_its_seat_and_forgets_the_key() {
    let server = TestServer::start();
    let mut app = App::launch("license-deactivate-this", server.launch());
    activate(&app, &server.demo.license_key);
    wait_text(&app, SLOTS, "1 of 3 seats used");
    click(&app, "[data-testid=deactivate-this-button]");
    wait_text(
        &app,
        "[data-testid=confirm-dialog]",
        "Deactivate this machine?",
    );
    click(&app, CONFIRM);
    wait_text(&app, STATUS, "Not activated");
    assert!(
        app.session.find(SLOTS).is_none(),
        "no slots without a license"
    );
    let input = app.session.wait_for(KEY_INPUT, UI_TIMEOUT);
    assert_eq!(
        app.session.property(&input, "value"),
        "",
        "the key is gone from this machine"
    );
    assert_eq!(
        server.machines_in_use(),
        0,
        "the seat is free on the server"
    );
    app.screenshot("deactivated");
}
