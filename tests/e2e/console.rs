//! The vendor console's frame: its connections (the local server out of the box, a second
//! server added with its key), the API key never reaching the web view, and the end
//! user's window unable to call a management command.

use crate::harness::{App, Launch, TestServer};

/// The first thing in `text` that looks like a whole API key: `lk_live_` or `lk_test_`
/// and 16 or more characters of its secret (a masked prefix shows 4).
fn full_key(text: &str) -> Option<&str> {
    ["lk_live_", "lk_test_"].into_iter().find_map(|start| {
        text.match_indices(start).find_map(|(at, _)| {
            let rest = &text[at + start.len()..];
            let secret = rest.chars().take_while(char::is_ascii_alphanumeric).count();
            (secret >= 16).then(|| &text[at..at + start.len() + secret])
        })
    })
}

/// Records every IPC answer and error the web view receives from now on.
pub const RECORD_IPC: &str = "
  if (!window.__ipcLog) {
    window.__ipcLog = [];
    const original = window.__TAURI_INTERNALS__.invoke;
    window.__TAURI_INTERNALS__.invoke = async (...args) => {
      try {
        const answer = await original(...args);
        window.__ipcLog.push(JSON.stringify(answer === undefined ? null : answer));
        return answer;
      } catch (error) {
        window.__ipcLog.push(JSON.stringify(error));
        throw error;
      }
    };
  }
  return true;";

/// Everything the web view holds: IPC answers seen, the DOM with input values, and
/// both web storages.
const WEB_VIEW_CONTENTS: &str = "
  const inputs = [...document.querySelectorAll('input, textarea')].map((e) => e.value).join('\\n');
  const storage = (s) => Object.keys(s).map((k) => k + '=' + s.getItem(k)).join('\\n');
  return [
    (window.__ipcLog || []).join('\\n'),
    document.documentElement.outerHTML,
    inputs,
    storage(localStorage),
    storage(sessionStorage),
  ].join('\\n----\\n');";

pub fn assert_no_key_in_web_view(app: &App, known_key: &str) {
    let contents = app.session.execute(WEB_VIEW_CONTENTS);
    let contents = contents.as_str().unwrap();
    assert!(
        contents.len() > 1000,
        "the web view's contents were not read"
    );
    assert!(
        !contents.contains(known_key),
        "the added key is in the web view"
    );
    if let Some(found) = full_key(contents) {
        panic!("an API key reached the web view: {}…", &found[..14]);
    }
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn the_console_connects_to_the_local_server_and_a_second_one_and_never_sees_a_key() {
    let second = TestServer::start();
    let mut app = App::launch(
        "console-connections",
        Launch {
            console: true,
            ..Launch::default()
        },
    );
    assert_eq!(app.session.execute(RECORD_IPC), true);

    // The local server is ready with no set-up: live, all scopes, key masked.
    app.wait_text("[data-testid=env-label]", "LIVE");
    app.screenshot("console-opened");
    app.wait_text("[data-testid=env-connection]", "Local server");
    app.go("/connections");
    app.wait_text("[data-testid=session-scopes]", "licenses:write");
    let prefix = app.session.text(&app.session.wait_for(
        "[data-testid=session-key-prefix]",
        crate::harness::UI_TIMEOUT,
    ));
    assert!(prefix.starts_with("lk_live_"), "{prefix}");
    app.screenshot_both_themes("local-connection");

    // A wrong key is refused by the server and nothing is saved; what was typed stays.
    app.type_in("[data-testid=connection-name]", "Second server");
    app.type_in("[data-testid=connection-url]", &second.url());
    app.type_in(
        "[data-testid=connection-key]",
        "lk_live_wrongwrongwrongwrong",
    );
    app.click("[data-testid=add-connection-submit]");
    app.wait_text("[data-testid=form-error]", "API key");
    assert_eq!(
        app.property("[data-testid=connection-name]", "value"),
        "Second server"
    );
    assert_eq!(
        app.property("[data-testid=connection-url]", "value"),
        second.url()
    );

    // The right key: checked, saved to the keyring, in use, and cleared from the form.
    app.type_in("[data-testid=connection-key]", &second.api_key);
    app.click("[data-testid=add-connection-submit]");
    app.wait_text("[data-testid=env-connection]", "Second server");
    app.wait_text("[data-testid=env-connection]", &second.url());
    assert_eq!(app.property("[data-testid=connection-key]", "value"), "");
    app.screenshot("second-connection");

    // Walk the console's screens so their answers pass through the recorder too.
    for route in ["/", "/licenses", "/api-keys", "/connections"] {
        app.go(route);
        std::thread::sleep(std::time::Duration::from_millis(700));
    }
    assert_no_key_in_web_view(&app, &second.api_key);

    // Back to the local server, by its button.
    app.click("[data-connection-id=local] [data-testid=use-connection]");
    app.wait_text("[data-testid=env-connection]", "Local server");
    assert_no_key_in_web_view(&app, &second.api_key);
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn the_end_user_window_cannot_call_console_commands() {
    let app = App::launch("console-permissions", Launch::default());
    app.wait_text("[data-testid=server-badge]", "Local demo server");
    // Its own commands work…
    let own = app.invoke("license_status", serde_json::json!({}));
    assert!(own.get("ok").is_some(), "{own}");
    // …management commands are refused by Tauri before any Rust runs.
    for (command, args) in [
        ("console_session", serde_json::json!({})),
        ("list_licenses", serde_json::json!({ "query": {} })),
        (
            "create_api_key",
            serde_json::json!({ "key": { "name": "x", "scopes": [] } }),
        ),
        (
            "license_action",
            serde_json::json!({ "id": "x", "action": "revoke" }),
        ),
    ] {
        let answer = app.invoke(command, args);
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("not allowed"),
            "{command} from the end user's window: {answer}"
        );
    }
}
