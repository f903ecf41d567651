//! Issue 11's "done when", as one journey through the real app: a vendor who has never
//! seen the console connects it, finds a customer's license by e-mail, frees a seat,
//! issues fifty licenses and exports them; then a support agent turns the customer's QR
//! photo into a license file the customer's own app accepts — and the API key never
//! reaches the web view. Everything is done by clicking and typing, as people do; the
//! test only sets up the server's data and hands over the photo (WebDriver cannot drag a
//! file from the desktop).

use std::collections::HashSet;

use licentric_core::wire::LicenseUpdate;
use serde_json::json;

use crate::{
    console::{assert_no_key_in_web_view, RECORD_IPC},
    console_licenses::{
        click_fresh, close_toasts, text_content, wait_option, wait_rows, wait_search,
    },
    console_support::{customer_request, give_file, qr_png},
    harness::{App, Launch, TestServer, UI_TIMEOUT},
};

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn a_new_vendor_and_a_support_agent_do_the_whole_job_and_the_key_stays_in_rust() {
    let server = TestServer::start();
    let admin = server.admin();
    let license_id = server.demo.license_id.clone();
    let email = "mia.lopez@customer.example";
    server
        .block_on(admin.update_license(
            &license_id,
            &LicenseUpdate {
                name: Some(Some("Mia Lopez".into())),
                metadata: Some(json!({ "email": email }).as_object().cloned().unwrap()),
                ..LicenseUpdate::default()
            },
        ))
        .expect("the customer's e-mail");
    // All three of Mia's seats are taken; her new, air-gapped machine needs one.
    for (n, name) in ["Old laptop", "Office PC", "Retired server"]
        .iter()
        .enumerate()
    {
        server.activate_elsewhere(&format!("mia-machine-{n}-fingerprint"), name);
    }
    let mut customer = App::launch("journey-customer", server.launch_air_gapped());
    let request = customer_request(&customer, &server);

    // A vendor opens the console for the first time and connects it to their server.
    let mut app = App::launch(
        "journey-console",
        Launch {
            console: true,
            ..Launch::default()
        },
    );
    assert_eq!(app.session.execute(RECORD_IPC), true);
    app.wait_text("[data-testid=env-label]", "LIVE");
    app.click("[data-testid=nav-connections]");
    app.type_in("[data-testid=connection-name]", "Production");
    app.type_in("[data-testid=connection-url]", &server.url());
    app.type_in("[data-testid=connection-key]", &server.api_key);
    app.click("[data-testid=add-connection-submit]");
    app.wait_text("[data-testid=env-connection]", "Production");
    app.screenshot("connected");

    // Finds Mia's license by her e-mail.
    app.click("[data-testid=nav-licenses]");
    app.type_in("[data-testid=license-search]", email);
    wait_search(&app, "licenses-list", email);
    wait_rows(&app, &[&license_id]);
    let row = text_content(&app, &format!("[data-row-id=\"{license_id}\"]"));
    assert!(row.contains("Mia Lopez") && row.contains(email), "{row}");
    app.screenshot("found-by-email");
    click_fresh(&app, &format!("[data-row-id=\"{license_id}\"] .lic-key"));
    app.wait_text("[data-testid=detail-status]", "Active");
    app.wait_text("[data-testid=detail-machines-count]", "3 of 3");

    // Frees a seat: the retired server's.
    app.wait_text("[data-testid=machines-card]", "Retired server");
    let freed = app.session.execute(
        "const rows = [...document.querySelectorAll('[data-testid=machines-card] tr')];
         const row = rows.find((r) => r.textContent.includes('Retired server'));
         const button = row && row.querySelector('[data-testid=deactivate-machine]');
         if (!button) return false;
         button.id = 'free-this-seat';
         return true;",
    );
    assert_eq!(
        freed, true,
        "no Deactivate button on the retired server's row"
    );
    app.click("#free-this-seat");
    app.wait_text("[data-testid=confirm-dialog]", "Frees its seat");
    app.click("[data-testid=confirm-button]");
    app.wait_text("[data-testid=detail-machines-count]", "2 of 3");
    let left: Vec<String> = server
        .block_on(admin.list_machines(&licentric_client::ListParams::new()))
        .expect("machines")
        .data
        .into_iter()
        .filter_map(|m| m.name)
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(!left.iter().any(|n| n == "Retired server"), "{left:?}");
    app.screenshot("seat-freed");

    // Issues fifty licenses for a reseller.
    close_toasts(&app);
    app.click("[data-testid=nav-licenses]");
    app.click("[data-testid=issue-link]");
    app.click("[data-testid=issue-mode-many]");
    wait_option(&app, "[data-testid=issue-policy]", &server.demo.policy_id);
    app.click(&format!(
        "[data-testid=issue-policy] option[value=\"{}\"]",
        server.demo.policy_id
    ));
    assert_eq!(
        app.property("[data-testid=issue-policy]", "value"),
        server.demo.policy_id
    );
    app.type_in("[data-testid=issue-count]", "50");
    app.type_in("[data-testid=issue-name]", "Reseller Batch 7");
    app.click("[data-testid=issue-submit]");
    app.wait_text("[data-testid=issue-result]", "Issued 50 licenses");
    let saved = app.session.text(
        &app.session
            .wait_for("[data-testid=issue-saved-to]", UI_TIMEOUT),
    );
    let issued = std::fs::read_to_string(&saved).expect("the issued keys' CSV");
    let issued_keys: HashSet<&str> = issued
        .lines()
        .skip(1)
        .filter_map(|line| line.split(',').nth(1))
        .collect();
    assert_eq!(issued_keys.len(), 50, "{saved}");
    app.screenshot("issued-fifty");

    // …and exports them, keys included, from the list.
    close_toasts(&app);
    app.click("[data-testid=nav-licenses]");
    app.type_in("[data-testid=license-search]", "Reseller Batch 7");
    wait_search(&app, "licenses-list", "Reseller Batch 7");
    app.wait_text("[data-testid=licenses-count]", "50 results");
    app.click("[data-testid=export-open]");
    app.wait_text("[data-testid=export-panel]", "50 licenses");
    app.click("[data-testid=export-include-keys]");
    app.click("[data-testid=export-run]");
    app.wait_text("[data-testid=export-saved]", "Exported 50 licenses");
    let path = text_content(&app, "[data-testid=export-saved] code");
    let exported = std::fs::read_to_string(&path).expect("the export");
    assert_eq!(exported.trim_end().lines().count(), 51, "{exported}");
    for key in &issued_keys {
        assert!(exported.contains(key), "{key} is not in the export");
    }
    app.screenshot("exported");

    // A support agent drops the photo of Mia's QR code on the support desk…
    app.click("[data-testid=nav-support]");
    app.wait_text("[data-testid=support-desk] h1", "Support desk");
    give_file(
        &app,
        "drop",
        "IMG_3107.jpg.png",
        "image/png",
        &qr_png(&request),
    );
    app.wait_text("[data-testid=read-source]", "QR code in IMG_3107");
    app.wait_text("[data-testid=license-name]", "Mia Lopez");
    app.wait_text("[data-testid=license-machines]", "2 of 3 used");
    app.wait_text("[data-testid=no-problems]", "Ready to issue");
    app.click("[data-testid=issue-license]");
    app.wait_text("[data-testid=issued-note]", "3 of 3 machines");
    app.click("[data-testid=save-license]");
    app.wait_text("[data-testid=saved-path]", ".lic");
    let file = app.property("[data-testid=license-file-text]", "value");
    assert_eq!(server.machines_in_use(), 3);
    app.screenshot("license-file-issued");

    // …and Mia's app accepts the file.
    customer.click("[data-testid=to-import]");
    customer.type_in(
        "[data-testid=license-file-text]",
        &file.replace('\n', "\u{E007}"),
    );
    customer.click("[data-testid=import-file]");
    customer.wait_text("[data-testid=import-done]", "issued for this machine");
    customer.screenshot("accepted");

    // In all of it, the API key never reached the web view.
    assert_no_key_in_web_view(&app, &server.api_key);
}
