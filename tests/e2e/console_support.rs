//! The support desk: an air-gapped customer's request — pasted, or a picture of its QR
//! code — checked, its problems named before anything is issued, and the `.lic` issued,
//! saved and imported by the customer's own app.

use std::time::Duration;

use base64::{engine::general_purpose::STANDARD, Engine};
use licentric_core::{wire::Platform, ActivationRequest, LicenseKey, LicenseReference};

use crate::harness::{App, Launch, TestServer, UI_TIMEOUT};

/// Opens the vendor console and connects it to `server` through the Connections form,
/// as a support agent with the vendor's key does.
pub fn console_on(name: &str, server: &TestServer) -> App {
    let app = App::launch(
        name,
        Launch {
            console: true,
            ..Launch::default()
        },
    );
    app.wait_text("[data-testid=env-label]", "LIVE");
    connect(&app, server);
    app
}

/// Adds `server` in Connections and uses it.
pub fn connect(app: &App, server: &TestServer) {
    app.go("/connections");
    app.type_in("[data-testid=connection-name]", "Vendor server");
    app.type_in("[data-testid=connection-url]", &server.url());
    app.type_in("[data-testid=connection-key]", &server.api_key);
    app.click("[data-testid=add-connection-submit]");
    app.wait_text("[data-testid=env-connection]", "Vendor server");
}

/// The customer's side, step 1: the request their air-gapped app makes.
pub fn customer_request(customer: &App, server: &TestServer) -> String {
    customer.click("[data-testid=tab-offline]");
    customer.type_in("[data-testid=offline-key-input]", &server.demo.license_key);
    customer.click("[data-testid=make-request]");
    for _ in 0..200 {
        let request = customer.property("[data-testid=request-text]", "value");
        if !request.is_empty() {
            return request;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the customer's app made no request");
}

/// Waits until the element's `attribute` is `expected`.
pub fn wait_attribute(app: &App, css: &str, attribute: &str, expected: &str) {
    let deadline = std::time::Instant::now() + UI_TIMEOUT;
    loop {
        if let Some(element) = app.session.find(css) {
            if app.session.attribute(&element, attribute) == expected {
                return;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{css} never had {attribute}={expected}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Hands the desk `bytes` as the file `name`, either picked in its file input (`how` =
/// "pick", as the file dialog does) or dropped on its drop zone ("drop"). WebKit's
/// WebDriver cannot drive the native file dialog or a drag from the desktop, so the
/// script gives the page the same `File` those would.
pub fn give_file(app: &App, how: &str, name: &str, mime: &str, bytes: &[u8]) {
    let script = format!(
        "const bytes = Uint8Array.from(atob({}), (c) => c.charCodeAt(0));
         const file = new File([bytes], {}, {{ type: {} }});
         if ({} === 'pick') {{
           const input = document.querySelector('[data-testid=request-file-input]');
           Object.defineProperty(input, 'files', {{ value: [file], configurable: true }});
           input.dispatchEvent(new Event('change', {{ bubbles: true }}));
         }} else {{
           const zone = document.querySelector('[data-testid=request-dropzone]');
           const drop = new Event('drop', {{ bubbles: true, cancelable: true }});
           Object.defineProperty(drop, 'dataTransfer', {{ value: {{ files: [file] }} }});
           zone.dispatchEvent(drop);
         }}
         return file.size;",
        serde_json::json!(STANDARD.encode(bytes)),
        serde_json::json!(name),
        serde_json::json!(mime),
        serde_json::json!(how),
    );
    assert_eq!(
        app.session.execute(&script),
        bytes.len(),
        "the file was not given"
    );
}

/// A request as a photo of a screen would show its QR code: a PNG, grey margins and all.
pub fn qr_png(text: &str) -> Vec<u8> {
    let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
    let width = code.width() as u32;
    let colors = code.to_colors();
    let (scale, margin) = (7u32, 60u32);
    let side = width * scale + 2 * margin;
    let picture = image::GrayImage::from_fn(side + 90, side, |x, y| {
        let inside = x >= margin && y >= margin && x < margin + width * scale && y < side - margin;
        if !inside {
            // A screen's surroundings, not a clean white page.
            return image::Luma([if x > side { 90 } else { 235 }]);
        }
        let (mx, my) = ((x - margin) / scale, (y - margin) / scale);
        let dark = colors[(my * width + mx) as usize] == qrcode::Color::Dark;
        image::Luma([if dark { 25 } else { 240 }])
    });
    let mut png = Vec::new();
    picture
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    png
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn support_turns_a_pasted_request_into_a_license_file_the_customer_imports() {
    let server = TestServer::start();
    let mut customer = App::launch("support-desk-customer", server.launch_air_gapped());
    let request = customer_request(&customer, &server);
    assert!(request.starts_with("LICENTRIC-REQ1."), "{request}");

    let mut desk = console_on("support-desk-pasted", &server);
    desk.go("/support");
    desk.wait_text("[data-testid=support-desk] h1", "Support desk");
    desk.screenshot_both_themes("empty");

    // A request cut short in the chat window is named before anything else happens.
    paste_request(&desk, &request[..40]);
    desk.click("[data-testid=check-request]");
    desk.wait_text("[data-testid=problem][data-code=malformed]", "cut short");
    wait_attribute(
        &desk,
        "[data-testid=request-review]",
        "data-can-issue",
        "false",
    );
    desk.screenshot_both_themes("truncated");

    // The whole request: what it asks for, and ready.
    paste_request(&desk, &request);
    desk.click("[data-testid=check-request]");
    desk.wait_text("[data-testid=no-problems]", "Ready to issue");
    desk.wait_text("[data-testid=asks-license]", &server.demo.license_key);
    desk.wait_text("[data-testid=license-name]", "Demo customer");
    desk.wait_text("[data-testid=license-status]", "Active");
    desk.wait_text("[data-testid=license-machines]", "0 of 3 used");
    let fingerprint = desk.wait_text("[data-testid=asks-fingerprint]", "");
    assert!(fingerprint.len() >= 8, "{fingerprint}");
    desk.screenshot_both_themes("checked");

    desk.click("[data-testid=issue-license]");
    desk.wait_text("[data-testid=issued-note]", "License file issued");
    desk.wait_text("[data-testid=issued-note]", "1 of 3 machines");
    desk.wait_text("[data-testid=issued-note]", "works offline until");
    desk.wait_text("[data-testid=customer-note]", "");
    let note = desk.property("[data-testid=customer-note]", "value");
    assert!(note.contains("Offline activation"), "{note}");
    assert!(note.contains("step 2"), "{note}");
    desk.click("[data-testid=save-license]");
    let saved = desk.wait_text("[data-testid=saved-path]", ".lic");
    let (folder, rest) = saved
        .trim_start_matches("Saved in ")
        .split_once(" as ")
        .unwrap();
    let name = rest.split(" — ").next().unwrap().trim();
    let path = std::path::Path::new(folder).join(name);
    let file = std::fs::read_to_string(&path).expect("the saved license file");
    assert_eq!(
        file,
        desk.property("[data-testid=license-file-text]", "value")
    );
    assert_eq!(server.machines_in_use(), 1);
    desk.screenshot_both_themes("issued");

    // The customer imports the file on the air-gapped machine, and it is accepted.
    customer.click("[data-testid=to-import]");
    customer.type_in(
        "[data-testid=license-file-text]",
        &file.replace('\n', "\u{E007}"),
    );
    customer.click("[data-testid=import-file]");
    customer.wait_text("[data-testid=import-done]", "issued for this machine");
    customer.screenshot("customer-imported");

    // The same request again: already activated, and a fresh file is allowed.
    desk.click("[data-testid=check-request]");
    desk.wait_text(
        "[data-testid=problem][data-code=already_activated]",
        "no extra seat",
    );
    desk.wait_text("[data-testid=issue-license]", "Issue a fresh license file");
    desk.screenshot_both_themes("already-activated");
    desk.click("[data-testid=issue-license]");
    desk.wait_text("[data-testid=issued-note]", "Fresh license file issued");
    assert_eq!(server.machines_in_use(), 1);
    desk.assert_usable_at(1024, 700);
    desk.screenshot("reissued-1024x700");
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn support_reads_a_qr_photo_names_a_suspended_license_and_frees_a_slot() {
    let server = TestServer::start();
    // Three machines elsewhere fill the demo license (3 seats); then it is suspended.
    for n in 1..=3 {
        server.activate_elsewhere(
            &format!("elsewhere-fingerprint-{n}"),
            &format!("Old PC {n}"),
        );
    }
    let admin = server.admin();
    server
        .block_on(admin.suspend_license(&server.demo.license_id))
        .unwrap();
    let request = ActivationRequest::new(
        "lab-pc-3-fingerprint-0001",
        LicenseReference::Key(LicenseKey::parse(&server.demo.license_key).unwrap()),
        "Lab PC 3",
        Platform::Windows,
        chrono::Utc::now(),
    )
    .unwrap()
    .to_text();

    let mut desk = console_on("support-desk-qr", &server);
    desk.go("/support");
    // Not a picture of a request: said so, nothing else happens.
    give_file(
        &desk,
        "pick",
        "notes.txt",
        "text/plain",
        b"Dear support, my app says offline.",
    );
    desk.wait_text(
        "[data-testid=read-error]",
        "does not contain an activation request",
    );

    give_file(
        &desk,
        "drop",
        "IMG_2041.png",
        "image/png",
        &qr_png(&request),
    );
    desk.wait_text("[data-testid=read-source]", "QR code in IMG_2041.png");
    assert_eq!(
        desk.property("[data-testid=request-input]", "value"),
        request
    );
    desk.wait_text("[data-testid=asks-machine]", "Lab PC 3");
    desk.wait_text("[data-testid=asks-platform]", "Windows");
    desk.wait_text(
        "[data-testid=problem][data-code=license_suspended]",
        "License suspended",
    );
    desk.wait_text("[data-testid=license-status]", "Suspended");
    wait_attribute(
        &desk,
        "[data-testid=request-review]",
        "data-can-issue",
        "false",
    );
    let issue = desk
        .session
        .wait_for("[data-testid=issue-license]", UI_TIMEOUT);
    assert_eq!(desk.session.attribute(&issue, "disabled"), "true");
    desk.screenshot_both_themes("suspended");

    // Reinstated: now the full license is the problem, and a slot can be freed here.
    server
        .block_on(admin.reinstate_license(&server.demo.license_id))
        .unwrap();
    desk.click("[data-testid=check-request]");
    desk.wait_text(
        "[data-testid=problem][data-code=machine_limit_reached]",
        "All 3 machine slots",
    );
    desk.wait_text("[data-testid=free-slot]", "Old PC 2");
    desk.screenshot_both_themes("machine-limit");
    desk.click("[data-testid=deactivate-slot]");
    desk.wait_text("[data-testid=confirm-dialog]", "Deactivate");
    desk.screenshot("confirm-deactivate");
    desk.click("[data-testid=confirm-button]");
    desk.wait_text("[data-testid=no-problems]", "Ready to issue");
    desk.wait_text("[data-testid=license-machines]", "2 of 3 used");
    assert_eq!(server.machines_in_use(), 2);

    desk.click("[data-testid=issue-license]");
    desk.wait_text("[data-testid=issued-note]", "3 of 3 machines");
    let file = desk.property("[data-testid=license-file-text]", "value");
    assert!(
        file.starts_with("-----BEGIN LICENTRIC LICENSE FILE-----"),
        "{file}"
    );
    assert_eq!(server.machines_in_use(), 3);
    desk.screenshot_both_themes("qr-issued");
}

/// A request from "Lab PC 7" for the license `key` (a key the test makes up, when it is
/// not on the server).
fn request_for(key: &str) -> String {
    ActivationRequest::new(
        "lab-pc-7-fingerprint-0007",
        LicenseReference::Key(LicenseKey::parse(key).unwrap()),
        "Lab PC 7",
        Platform::Linux,
        chrono::Utc::now(),
    )
    .unwrap()
    .to_text()
}

/// Pastes `request`, checks it, and waits until the problem `code` is named with `title`;
/// then asserts nothing can be issued: the review says so and Issue is disabled.
fn named_and_refused(desk: &App, request: &str, code: &str, title: &str) {
    paste_request(desk, request);
    desk.click("[data-testid=check-request]");
    let shown = wait_problem(desk, code, title);
    wait_attribute(
        desk,
        "[data-testid=request-review]",
        "data-can-issue",
        "false",
    );
    let issue = desk
        .session
        .wait_for("[data-testid=issue-license]", UI_TIMEOUT);
    assert_eq!(
        desk.session.attribute(&issue, "disabled"),
        "true",
        "Issue is offered despite: {shown}"
    );
    assert!(
        desk.session.find("[data-testid=issued]").is_none(),
        "a file is shown for a refused request"
    );
}

/// Types `request` into the desk's field and waits until the field holds all of it, so
/// that Check checks the whole request and not the part typed so far.
fn paste_request(desk: &App, request: &str) {
    desk.type_in("[data-testid=request-input]", request);
    let deadline = std::time::Instant::now() + UI_TIMEOUT;
    loop {
        let typed = desk.property("[data-testid=request-input]", "value");
        if typed == request {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the request field holds {} of the {} characters typed",
            typed.len(),
            request.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until the problem `code` is named with `title`; returns its text. When it is
/// not, the failure says what the desk shows instead (its review, or the check's error).
fn wait_problem(desk: &App, code: &str, title: &str) -> String {
    let css = format!("[data-testid=problem][data-code={code}]");
    let deadline = std::time::Instant::now() + UI_TIMEOUT;
    loop {
        if let Some(problem) = desk.session.find(&css) {
            let text = desk.session.text(&problem);
            if text.contains(title) {
                return text;
            }
        }
        if std::time::Instant::now() >= deadline {
            let shown = |css: &str| {
                desk.session
                    .find(css)
                    .map(|element| desk.session.text(&element))
                    .unwrap_or_else(|| "(none)".into())
            };
            panic!(
                "{css} never showed {title:?} within {UI_TIMEOUT:?}; the review shows: {}; the check's error: {}; the button: {}",
                shown("[data-testid=request-review] [data-testid=problems]"),
                shown("[data-testid=check-error]"),
                shown("[data-testid=check-request]"),
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn machines_in_account(server: &TestServer) -> u32 {
    server
        .block_on(
            server
                .admin()
                .list_machines(&licentric_client::ListParams::new()),
        )
        .expect("machines")
        .total
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn support_names_a_wrong_product_an_unknown_license_an_expired_and_a_revoked_one_and_issues_nothing(
) {
    use licentric_core::wire::{NewLicense, NewProduct};
    let server = TestServer::start();
    let admin = server.admin();
    let other = server
        .block_on(admin.create_product(&NewProduct {
            name: "Studio Pro".into(),
            key_prefix: "STUDIO".into(),
        }))
        .expect("a second product");
    let issue = |name: &str, expires_at| {
        server
            .block_on(admin.create_license(&NewLicense {
                policy_id: server.demo.policy_id.clone(),
                name: Some(name.into()),
                key: None,
                expires_at: Some(expires_at),
                metadata: None,
                entitlements: Vec::new(),
            }))
            .expect("a license")
    };
    let expired = issue(
        "Lapsed Customer",
        Some(chrono::Utc::now() - chrono::Duration::days(3)),
    );
    let revoked = issue("Gone Customer", None);
    server
        .block_on(admin.revoke_license(&revoked.id))
        .expect("revoke");
    let before = machines_in_account(&server);

    let mut desk = console_on("support-desk-problems", &server);
    desk.click("[data-testid=nav-support]");
    desk.wait_text("[data-testid=support-desk] h1", "Support desk");

    // The customer says they are activating Studio Pro, but the key is for the demo product.
    let demo_request = request_for(&server.demo.license_key);
    desk.session.wait_for(
        &format!(
            "[data-testid=support-product] option[value=\"{}\"]",
            other.id
        ),
        UI_TIMEOUT,
    );
    crate::console_licenses::choose(&desk, "[data-testid=support-product]", &other.id);
    named_and_refused(&desk, &demo_request, "wrong_product", "Wrong product");
    desk.wait_text(
        "[data-testid=problem][data-code=wrong_product]",
        "not the product chosen",
    );
    desk.screenshot_both_themes("wrong-product");
    // With the right product (or any), the same request is fine.
    crate::console_licenses::choose(&desk, "[data-testid=support-product]", "");
    desk.click("[data-testid=check-request]");
    desk.wait_text("[data-testid=no-problems]", "Ready to issue");

    // A key that is well formed but not on this server (a typo, or another vendor's).
    let demo_key = &server.demo.license_key;
    let (start, last) = demo_key.rsplit_once('-').unwrap();
    let unknown_key = format!("{start}-{}", if last == "ZZZZ" { "YYYY" } else { "ZZZZ" });
    named_and_refused(
        &desk,
        &request_for(&unknown_key),
        "unknown_license",
        "Unknown license",
    );
    desk.wait_text(
        "[data-testid=problem][data-code=unknown_license]",
        &unknown_key,
    );
    desk.screenshot_both_themes("unknown-license");

    named_and_refused(
        &desk,
        &request_for(&expired.key),
        "license_expired",
        "License expired",
    );
    desk.wait_text(
        "[data-testid=problem][data-code=license_expired]",
        "Renew it",
    );
    desk.screenshot("expired");

    named_and_refused(
        &desk,
        &request_for(&revoked.key),
        "license_revoked",
        "License revoked",
    );
    desk.wait_text(
        "[data-testid=problem][data-code=license_revoked]",
        "new license",
    );

    // Nothing was issued for any of them.
    assert_eq!(machines_in_account(&server), before);
}
