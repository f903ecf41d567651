//! The end user checks a license key in the License view.

use crate::harness::{App, Launch, TestServer, UI_TIMEOUT};

const KEY_INPUT: &str = "[data-testid=license-key-input]";
const VALIDATE: &str = "[data-testid=validate-button]";
const CODE: &str = "[data-testid=validation-code]";
const TITLE: &str = "[data-testid=validation-title]";
const NEXT_STEP: &str = "[data-testid=validation-next-step]";
const ERROR: &str = "[data-testid=error-message]";

fn validate(app: &App, key: &str) {
    let input = app.session.wait_for(KEY_INPUT, UI_TIMEOUT);
    app.session.type_into(&input, key);
    let button = app.session.wait_for(VALIDATE, UI_TIMEOUT);
    app.session.click(&button);
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn the_demo_key_is_valid_and_an_unknown_key_is_not_found() {
    let server = TestServer::start();
    let mut app = App::launch(
        "license-validate",
        Launch {
            server_url: Some(server.url()),
        },
    );
    app.session.wait_for(KEY_INPUT, UI_TIMEOUT);
    app.screenshot("start");

    validate(&app, &server.demo.license_key);
    app.session
        .wait_for_text(CODE, UI_TIMEOUT, |code| code == "VALID");
    let title = app.session.wait_for(TITLE, UI_TIMEOUT);
    assert_eq!(app.session.text(&title), "License is valid");
    app.screenshot("valid");

    validate(&app, "DEMO-AAAA-BBBB-CCCC-DDDD");
    app.session
        .wait_for_text(CODE, UI_TIMEOUT, |code| code == "NOT_FOUND");
    let title = app.session.wait_for(TITLE, UI_TIMEOUT);
    assert_eq!(app.session.text(&title), "Invalid license key");
    let next = app.session.wait_for(NEXT_STEP, UI_TIMEOUT);
    assert!(app.session.text(&next).contains("Check the key for typos"));
    app.screenshot("not-found");
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn the_local_server_starts_with_a_demo_key_the_user_can_try() {
    let mut app = App::launch("license-local-server", Launch::default());
    let badge = app
        .session
        .wait_for("[data-testid=server-badge]", UI_TIMEOUT);
    assert!(app.session.text(&badge).contains("Local demo server"));
    let demo = app.session.wait_for("[data-testid=demo-key]", UI_TIMEOUT);
    let demo_key = app.session.text(&demo);
    assert!(demo_key.starts_with("DEMO-"), "{demo_key:?}");
    app.screenshot("start");

    validate(&app, &demo_key);
    app.session
        .wait_for_text(CODE, UI_TIMEOUT, |code| code == "VALID");
    app.screenshot("valid");
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn a_server_that_is_down_gives_a_clear_error_and_keeps_the_key() {
    let mut server = TestServer::start();
    let mut app = App::launch(
        "license-server-down",
        Launch {
            server_url: Some(server.url()),
        },
    );
    server.stop();
    let key = server.demo.license_key.clone();
    validate(&app, &key);
    let message = app
        .session
        .wait_for_text(ERROR, UI_TIMEOUT, |text| !text.is_empty());
    assert!(
        message.starts_with("Cannot reach the license server"),
        "{message}"
    );
    assert!(message.contains("Check the server URL"), "{message}");
    let input = app.session.wait_for(KEY_INPUT, UI_TIMEOUT);
    assert_eq!(app.session.property(&input, "value"), key);
    app.screenshot("server-down");
}
