//! Support walks a customer through offline activation of an air-gapped machine: the
//! request out, the signed license file in, verified on the machine.

use crate::harness::{App, TestServer, UI_TIMEOUT};

fn click(app: &App, css: &str) {
    let element = app.session.wait_for(css, UI_TIMEOUT);
    app.session.click(&element);
}

/// Steps 1 and 2: the request, handed to support, and the file support sends back.
fn request_and_get_file(app: &mut App, server: &TestServer) -> String {
    click(app, "[data-testid=tab-offline]");
    let input = app
        .session
        .wait_for("[data-testid=offline-key-input]", UI_TIMEOUT);
    app.session.type_into(&input, &server.demo.license_key);
    click(app, "[data-testid=make-request]");
    let request_box = app
        .session
        .wait_for("[data-testid=request-text]", UI_TIMEOUT);
    let mut request = String::new();
    for _ in 0..100 {
        request = app.session.property(&request_box, "value");
        if !request.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(request.starts_with("LICENTRIC-REQ1."), "{request:?}");
    app.session.wait_for("[data-testid=request-qr]", UI_TIMEOUT);
    let saved = app
        .session
        .wait_for_text("[data-testid=request-saved]", UI_TIMEOUT, |t| {
            t.ends_with(".txt")
        });
    let path = saved.trim_start_matches("Also saved as ").trim();
    assert_eq!(
        std::fs::read_to_string(path).expect("request file").trim(),
        request
    );
    app.screenshot("request");
    server.issue_offline_file(&request)
}

fn paste_file(app: &App, text: &str) {
    click(app, "[data-testid=to-import]");
    let area = app
        .session
        .wait_for("[data-testid=license-file-text]", UI_TIMEOUT);
    // WebKitWebDriver drops "\n" in typed text; the Enter key (U+E007) types a newline.
    app.session
        .type_into(&area, &text.replace('\n', "\u{E007}"));
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn an_air_gapped_machine_is_activated_with_a_license_file() {
    let server = TestServer::start();
    let mut app = App::launch("offline-wizard", server.launch_air_gapped());
    let file = request_and_get_file(&mut app, &server);
    paste_file(&app, &file);
    app.screenshot("import");
    click(&app, "[data-testid=import-file]");
    app.session
        .wait_for_text("[data-testid=import-done]", UI_TIMEOUT, |t| {
            t.contains("issued for this machine")
        });
    let until = app
        .session
        .wait_for_text("[data-testid=file-expiry]", UI_TIMEOUT, |t| {
            t.contains("in ")
        });
    assert!(until.contains("days"), "{until}");
    app.screenshot("done");

    click(&app, "[data-testid=wizard-finish]");
    app.session
        .wait_for_text("[data-testid=status-label]", UI_TIMEOUT, |t| {
            t == "Offline license file"
        });
    app.screenshot("license-view");
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn a_tampered_license_file_is_refused_with_its_reason() {
    let server = TestServer::start();
    let mut app = App::launch("offline-wizard-tampered", server.launch_air_gapped());
    let file = request_and_get_file(&mut app, &server);
    // One character of the signed payload changed, as an over-helpful editor might.
    let mut lines: Vec<String> = file.lines().map(str::to_owned).collect();
    let body = lines
        .iter()
        .position(|l| l.is_empty())
        .expect("blank line before the payload")
        + 1;
    let flipped: String = lines[body]
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 10 {
                if c == 'A' {
                    'B'
                } else {
                    'A'
                }
            } else {
                c
            }
        })
        .collect();
    lines[body] = flipped;
    paste_file(&app, &(lines.join("\n") + "\n"));
    click(&app, "[data-testid=import-file]");
    let reason = app
        .session
        .wait_for_text("[data-testid=import-error]", UI_TIMEOUT, |t| !t.is_empty());
    assert!(reason.contains("changed after it was issued"), "{reason}");
    assert!(
        reason.contains("Ask the vendor's support for a fresh one"),
        "{reason}"
    );
    app.screenshot("refused");
}
