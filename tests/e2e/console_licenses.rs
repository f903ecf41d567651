//! The console's licenses and machines, as a vendor uses them: find a customer's license
//! by a key fragment and by e-mail, suspend and reinstate it, free a seat, issue 200 with
//! progress and their keys saved, revoke many with one refusal shown, import a CSV whose
//! bad rows are refused before anything is written, and find machines across licenses.
//! The console talks to a real server the test sets up through the SDK.

use std::time::{Duration, Instant};

use licentric_client::ListParams;
use licentric_core::wire::{BulkIssue, LicenseUpdate};
use serde_json::json;

use crate::harness::{App, Launch, TestServer, UI_TIMEOUT};

/// Opens the console and connects it to `server` through the Connections form.
fn console_on(name: &str, server: &TestServer) -> App {
    let app = App::launch(
        name,
        Launch {
            console: true,
            ..Launch::default()
        },
    );
    app.wait_text("[data-testid=env-label]", "LIVE");
    app.go("/connections");
    app.type_in("[data-testid=connection-name]", "E2E server");
    app.type_in("[data-testid=connection-url]", &server.url());
    app.type_in("[data-testid=connection-key]", &server.api_key);
    app.click("[data-testid=add-connection-submit]");
    app.wait_text("[data-testid=env-connection]", "E2E server");
    app
}

/// Waits until `check` holds for what the page answers to `script`.
pub fn wait_until(
    app: &App,
    what: &str,
    script: &str,
    check: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + UI_TIMEOUT;
    loop {
        let value = app.session.execute(script);
        if check(&value) {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}; last seen: {value}");
        std::thread::sleep(Duration::from_millis(150));
    }
}

/// The ids of the rows a table shows now, once its loading has settled.
const ROW_IDS: &str = "
  if (document.querySelector('[data-testid=licenses-loading], [data-testid=machines-loading]')) return null;
  return [...document.querySelectorAll('tr[data-testid$=-row]')].map((r) => r.dataset.rowId);";

/// Waits until the list `timing` (`licenses-list`, `machines-list`) has put on screen the
/// first page of a search for `q`, as its performance measure records; rows shown before
/// that belong to the search before.
pub fn wait_search(app: &App, timing: &str, q: &str) {
    let script = format!(
        "const done = performance.getEntriesByType('measure').filter((m) => m.name === {});
         const last = done.at(-1);
         return last && last.detail ? last.detail.key : null;",
        json!(timing)
    );
    let wanted = json!(q).to_string();
    wait_until(
        app,
        &format!("the search for {q:?} never reached the screen"),
        &script,
        |v| v.as_str().is_some_and(|key| key.contains(&wanted)),
    );
}

/// Waits until the table lists exactly `ids` (in any order).
pub fn wait_rows(app: &App, ids: &[&str]) {
    let mut want: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    wait_until(
        app,
        &format!("the table never listed exactly {want:?}"),
        ROW_IDS,
        |v| {
            let mut got: Vec<String> = v
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            got.sort();
            v.is_array() && got == want
        },
    );
}

/// Clicks `css`, finding it again if the list re-rendered it between finding and clicking
/// (rows are redrawn when, e.g., product names arrive).
pub fn click_fresh(app: &App, css: &str) {
    for _ in 0..3 {
        let clicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| app.click(css)));
        if clicked.is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    app.click(css);
}

/// Closes every toast on screen with its × button.
pub fn close_toasts(app: &App) {
    app.session.execute(
        "document.querySelectorAll('.toast-close').forEach((b) => b.click()); return true;",
    );
    app.wait_gone("[data-testid=toast]");
}

/// Chooses `value` in a `<select>`, as picking it from the list does.
pub fn choose(app: &App, css: &str, value: &str) {
    app.session.wait_for(css, UI_TIMEOUT);
    let done = app.session.execute(&format!(
        "const el = document.querySelector({css});
         if (![...el.options].some((o) => o.value === {value})) return false;
         const set = Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value').set;
         set.call(el, {value});
         el.dispatchEvent(new Event('change', {{ bubbles: true }}));
         return true;",
        css = json!(css),
        value = json!(value),
    ));
    assert_eq!(done, true, "{css} has no option {value}");
}

/// Waits until the select offers `value` (its options load from the server).
pub fn wait_option(app: &App, css: &str, value: &str) {
    let script = format!(
        "const el = document.querySelector({});
         return !!el && [...el.options].some((o) => o.value === {});",
        json!(css),
        json!(value)
    );
    wait_until(app, &format!("{css} never offered {value}"), &script, |v| {
        v == true
    });
}

/// Everything `css` holds as text, shown or clipped (a narrow column cuts it off on screen).
pub fn text_content(app: &App, css: &str) -> String {
    app.session.wait_for(css, UI_TIMEOUT);
    app.session
        .execute(&format!(
            "return document.querySelector({}).textContent;",
            json!(css)
        ))
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn license_total(server: &TestServer, params: ListParams) -> u32 {
    server
        .block_on(server.admin().list_licenses(&params.limit(1)))
        .expect("list licenses")
        .total
}

fn status_of(server: &TestServer, id: &str) -> String {
    let license = server
        .block_on(server.admin().get_license(id))
        .expect("license");
    serde_json::to_value(license.status)
        .expect("status")
        .as_str()
        .expect("status text")
        .to_owned()
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn a_vendor_finds_a_license_by_key_and_email_suspends_reinstates_it_and_frees_a_seat() {
    let server = TestServer::start();
    let admin = server.admin();
    let license_id = server.demo.license_id.clone();
    let email = "ana.customer@example.com";
    let update = LicenseUpdate {
        name: Some(Some("Ana Customer".into())),
        metadata: Some(
            json!({ "email": email, "order": "A-1047" })
                .as_object()
                .cloned()
                .unwrap(),
        ),
        ..LicenseUpdate::default()
    };
    server
        .block_on(admin.update_license(&license_id, &update))
        .expect("set the customer's e-mail");
    // Other customers' licenses, so a search has something to leave out.
    server
        .block_on(
            admin.bulk_issue_licenses(&BulkIssue {
                policy_id: server.demo.policy_id.clone(),
                count: 40,
                name: Some("Other Customer".into()),
                metadata: Some(
                    json!({ "email": "someone.else@example.com" })
                        .as_object()
                        .cloned()
                        .unwrap(),
                ),
            }),
        )
        .expect("other licenses");
    server.activate_elsewhere("e2e-seat-one-0001", "Ana's laptop");
    server.activate_elsewhere("e2e-seat-two-0002", "Ana's desktop");
    assert_eq!(server.machines_in_use(), 2);

    let mut app = console_on("console-licenses-find", &server);
    app.assert_usable_at(1024, 700);
    app.go("/licenses");
    wait_option(&app, "[data-testid=filter-policy]", &server.demo.policy_id);
    let total = license_total(&server, ListParams::new());
    app.wait_text("[data-testid=licenses-count]", &format!("{total} results"));
    app.screenshot_both_themes("list");

    // The first page's arrival on screen is measured for the benchmarks.
    wait_until(
        &app,
        "no licenses-list measure was recorded",
        "return performance.getEntriesByType('measure').filter((m) => m.name === 'licenses-list').length;",
        |v| v.as_u64().unwrap_or(0) >= 1,
    );

    // A fragment of the key, as a customer reads it out over the phone (lower case).
    let key = server.demo.license_key.clone();
    let fragment = key.split('-').nth(2).expect("key group").to_lowercase();
    app.type_in("[data-testid=license-search]", &fragment);
    wait_search(&app, "licenses-list", &fragment);
    wait_rows(&app, &[&license_id]);
    app.wait_text("[data-testid=licenses-count]", "1 result");

    // The customer's e-mail, kept in the license's metadata.
    app.type_in("[data-testid=license-search]", email);
    wait_search(&app, "licenses-list", email);
    wait_rows(&app, &[&license_id]);
    app.screenshot("found-by-email");
    let row = text_content(&app, &format!("[data-row-id=\"{license_id}\"]"));
    assert!(row.contains(email) && row.contains("Ana Customer"), "{row}");

    // Its page.
    click_fresh(&app, &format!("[data-row-id=\"{license_id}\"] .lic-key"));
    app.wait_text("[data-testid=detail-status]", "Active");
    assert_eq!(app.property("[data-testid=detail-key]", "value"), key);
    app.wait_text("[data-testid=machines-card]", "Ana's laptop");
    app.wait_text("[data-testid=detail-machines-count]", "2 of 3");
    app.screenshot_both_themes("detail");

    // Suspend, with a confirmation; Undo in the toast reinstates it.
    app.click("[data-testid=action-suspend]");
    app.wait_text("[data-testid=confirm-dialog]", "SUSPENDED");
    app.click("[data-testid=confirm-button]");
    app.wait_text("[data-testid=detail-status]", "Suspended");
    assert_eq!(status_of(&server, &license_id), "suspended");
    app.wait_text("[data-testid=toast]", "License suspended");
    app.click("[data-testid=toast-action]");
    app.wait_text("[data-testid=detail-status]", "Active");
    assert_eq!(status_of(&server, &license_id), "active");

    // Suspended again: the list shows it too.
    app.click("[data-testid=action-suspend]");
    app.click("[data-testid=confirm-button]");
    app.wait_text("[data-testid=detail-status]", "Suspended");
    app.click(".breadcrumb a");
    app.type_in("[data-testid=license-search]", &fragment);
    wait_search(&app, "licenses-list", &fragment);
    wait_rows(&app, &[&license_id]);
    app.wait_text(
        &format!("[data-row-id=\"{license_id}\"] [data-testid=license-status]"),
        "Suspended",
    );
    // A link such as the dashboard's, with its filters in the route, opens the list filtered.
    app.go("/licenses?status=suspended");
    wait_rows(&app, &[&license_id]);
    assert_eq!(
        app.property("[data-testid=filter-status]", "value"),
        "suspended"
    );
    // …and Reinstate on its page makes it active.
    click_fresh(&app, &format!("[data-row-id=\"{license_id}\"] .lic-key"));
    app.click("[data-testid=action-reinstate]");
    app.click("[data-testid=confirm-button]");
    app.wait_text("[data-testid=detail-status]", "Active");
    assert_eq!(status_of(&server, &license_id), "active");
    app.wait_text("[data-testid=timeline-card]", "Suspended");
    app.wait_text("[data-testid=timeline-card]", "Reinstated");

    // Edit: a bad e-mail is caught at its field and what was typed stays; a good one saves,
    // and the rest of the metadata is kept.
    app.click("[data-testid=action-edit]");
    app.type_in("[data-testid=edit-email]", "ana-at-newmail");
    close_toasts(&app);
    app.click("[data-testid=edit-save]");
    app.wait_text("[data-testid=edit-license] .field-problem", "e-mail");
    assert_eq!(
        app.property("[data-testid=edit-email]", "value"),
        "ana-at-newmail"
    );
    app.type_in("[data-testid=edit-email]", "ana@newmail.example");
    app.screenshot_both_themes("edit");
    close_toasts(&app);
    app.click("[data-testid=edit-save]");
    app.wait_gone("[data-testid=edit-license]");
    app.wait_text("[data-testid=license-detail]", "ana@newmail.example");
    let metadata = server
        .block_on(admin.get_license(&license_id))
        .expect("license")
        .metadata;
    assert_eq!(metadata.get("email"), Some(&json!("ana@newmail.example")));
    assert_eq!(metadata.get("order"), Some(&json!("A-1047")));

    // "Why is it failing?" runs every check. (The toasts are closed first, as a person
    // would, since at 1024×700 they sit over the card's button.)
    close_toasts(&app);
    app.click("[data-testid=diagnose-run]");
    app.wait_text("[data-testid=diagnosis-verdict]", "would validate");
    app.type_in("[data-testid=diagnose-fingerprint]", "never-activated-here");
    app.click("[data-testid=diagnose-run]");
    app.wait_text("[data-testid=diagnosis-verdict]", "would fail");
    app.screenshot_both_themes("detail-diagnosis");

    // Free a seat: deactivate a machine, with a confirmation.
    close_toasts(&app);
    app.click("[data-testid=deactivate-machine]");
    app.wait_text("[data-testid=confirm-dialog]", "Frees its seat");
    app.screenshot("deactivate-confirm");
    app.click("[data-testid=confirm-button]");
    app.wait_text("[data-testid=detail-machines-count]", "1 of 3");
    assert_eq!(server.machines_in_use(), 1);
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn a_vendor_issues_200_licenses_with_progress_and_revokes_many_with_a_refusal_shown() {
    let server = TestServer::start();
    let admin = server.admin();
    let mut app = console_on("console-licenses-bulk", &server);
    let before = license_total(&server, ListParams::new());

    app.go("/licenses/issue");
    wait_option(&app, "[data-testid=issue-policy]", &server.demo.policy_id);
    app.screenshot_both_themes("issue-one");
    app.click("[data-testid=issue-mode-many]");
    choose(&app, "[data-testid=issue-policy]", &server.demo.policy_id);
    app.type_in("[data-testid=issue-count]", "200");
    app.type_in("[data-testid=issue-name]", "Bulk Co");
    app.type_in("[data-testid=issue-email]", "buyer@bulk.example");
    app.screenshot("issue-many");
    // Record every progress figure shown while the licenses are issued.
    app.session.execute(
        "window.__progress = [];
         new MutationObserver(() => {
           const el = document.querySelector('[data-testid=issue-progress-count]');
           if (el && window.__progress.at(-1) !== el.textContent) window.__progress.push(el.textContent);
         }).observe(document.body, { subtree: true, childList: true, characterData: true });
         return true;",
    );
    close_toasts(&app);
    app.click("[data-testid=issue-submit]");
    let result = app.wait_text("[data-testid=issue-result]", "Issued 200 licenses");
    app.screenshot_both_themes("issue-done");
    let progress = app.session.execute("return window.__progress;");
    let figures: Vec<u32> = progress
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str()?.replace(',', "").parse().ok())
        .collect();
    assert!(
        figures.iter().any(|n| *n > 0 && *n < 200),
        "no progress between 0 and 200 was shown: {figures:?} ({result})"
    );

    // The keys are saved where the screen says, one row per license.
    let saved = app.session.text(
        &app.session
            .wait_for("[data-testid=issue-saved-to]", UI_TIMEOUT),
    );
    let csv = std::fs::read_to_string(&saved).expect("the saved CSV exists");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 201, "header + 200 rows in {saved}");
    assert_eq!(lines[0], "id,key,name,expiresAt");
    assert!(lines[1].contains("Bulk Co"), "{}", lines[1]);
    assert_eq!(license_total(&server, ListParams::new()), before + 200);

    // A long issue can be cancelled: what was issued before Cancel is kept and saved.
    app.type_in("[data-testid=issue-count]", "3000");
    close_toasts(&app);
    app.click("[data-testid=issue-submit]");
    wait_until(
        &app,
        "no progress was shown",
        "const el = document.querySelector('[data-testid=issue-progress-count]');
         return el ? Number(el.textContent.replace(/,/g, '')) : 0;",
        |v| v.as_u64().unwrap_or(0) > 0,
    );
    app.click("[data-testid=issue-cancel]");
    let cancelled = app.wait_text("[data-testid=issue-result]", "cancelled");
    let issued: u32 = cancelled
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.replace(',', "").parse().ok())
        .expect("the result says how many were issued");
    assert!(issued > 0 && issued < 3000, "{cancelled}");
    assert_eq!(
        license_total(&server, ListParams::new()),
        before + 200 + issued
    );
    app.screenshot("issue-cancelled");

    // Three licenses of one customer, one of them already revoked: the server refuses it.
    let three = server
        .block_on(admin.bulk_issue_licenses(&BulkIssue {
            policy_id: server.demo.policy_id.clone(),
            count: 3,
            name: Some("Revoke Me Ltd".into()),
            metadata: None,
        }))
        .expect("three licenses");
    server
        .block_on(admin.revoke_license(&three[0].id))
        .expect("revoke one beforehand");
    app.go("/licenses");
    app.type_in("[data-testid=license-search]", "Revoke Me");
    wait_search(&app, "licenses-list", "Revoke Me");
    let ids: Vec<&str> = three.iter().map(|l| l.id.as_str()).collect();
    wait_rows(&app, &ids);
    app.click("[data-testid=licenses-select-all]");
    app.wait_text("[data-testid=bulk-bar]", "3 selected");
    app.screenshot("bulk-selected");
    app.click("[data-testid=bulk-revoke]");
    app.wait_text("[data-testid=confirm-dialog]", "final");
    app.click("[data-testid=confirm-button]");
    app.wait_text("[data-testid=bulk-summary]", "2 licenses revoked; 1 failed");
    let failure = app.wait_text("[data-testid=bulk-failure]", &three[0].key);
    assert!(failure.contains("revoked"), "{failure}");
    app.screenshot_both_themes("bulk-outcome");
    for license in &three {
        assert_eq!(status_of(&server, &license.id), "revoked");
    }

    // Export what the search matches.
    app.click("[data-testid=export-open]");
    app.wait_text("[data-testid=export-panel]", "3 licenses");
    app.screenshot("export");
    app.click("[data-testid=export-run]");
    app.wait_text("[data-testid=export-saved]", "Exported 3 licenses");
    let path = text_content(&app, "[data-testid=export-saved] code");
    let exported = std::fs::read_to_string(&path).expect("the export exists");
    assert_eq!(exported.trim_end().lines().count(), 4, "{exported}");
}

/// Hands `csv` to the import's file input, as choosing a file in the dialog does
/// (WebDriver cannot drive the native file dialog).
fn pick_csv(app: &App, name: &str, csv: &str) {
    app.session
        .wait_for("[data-testid=import-file]", UI_TIMEOUT);
    app.session.execute(&format!(
        "const input = document.querySelector('[data-testid=import-file]');
         const files = new DataTransfer();
         files.items.add(new File([{}], {}, {{ type: 'text/csv' }}));
         input.files = files.files;
         input.dispatchEvent(new Event('change', {{ bubbles: true }}));
         return true;",
        json!(csv),
        json!(name)
    ));
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn an_import_with_a_bad_row_is_refused_in_the_dry_run_and_a_clean_file_imports() {
    let server = TestServer::start();
    let mut app = console_on("console-licenses-import", &server);
    let before = license_total(&server, ListParams::new());
    let policy = &server.demo.policy_id;

    app.go("/licenses/import");
    app.wait_text("[data-testid=import-page]", "Choose CSV file");
    app.screenshot_both_themes("import");
    let bad = format!(
        "policy,name,expiry,metadata.email\n\
         {policy},Good Row Ltd,2027-06-30,good@example.com\n\
         no-such-policy,Wrong Policy Ltd,2027-06-30,wrong@example.com\n\
         {policy},Bad Date Ltd,31/12/2027,date@example.com\n"
    );
    pick_csv(&app, "customers.csv", &bad);
    app.wait_text("[data-testid=import-file-name]", "customers.csv");
    app.wait_text(
        "[data-testid=import-problems-summary]",
        "Nothing was imported",
    );
    let problems = app.wait_text("[data-testid=import-problems]", "expiry");
    let lines = app.session.execute(
        "return [...document.querySelectorAll('[data-testid=import-problem] td:first-child')].map((td) => td.textContent);",
    );
    assert!(
        lines.as_array().unwrap().contains(&json!("3")),
        "{problems}"
    );
    assert!(
        lines.as_array().unwrap().contains(&json!("4")),
        "{problems}"
    );
    assert!(
        !lines.as_array().unwrap().contains(&json!("2")),
        "{problems}"
    );
    assert!(
        app.session.find("[data-testid=import-run]").is_none(),
        "Import is offered for a file with bad rows"
    );
    app.screenshot_both_themes("import-refused");
    assert_eq!(license_total(&server, ListParams::new()), before);

    // Fixed, the file checks clean, and only then is it imported.
    let good = format!(
        "policy,name,expiry,metadata.email\n\
         {policy},Good Row Ltd,2027-06-30,good@example.com\n\
         {policy},Bad Date Ltd,2027-12-31,date@example.com\n"
    );
    pick_csv(&app, "customers-fixed.csv", &good);
    app.wait_text("[data-testid=import-clean]", "All 2 rows are good");
    assert_eq!(license_total(&server, ListParams::new()), before);
    app.click("[data-testid=import-run]");
    app.wait_text("[data-testid=import-done]", "Imported 2 licenses");
    assert_eq!(license_total(&server, ListParams::new()), before + 2);
    assert_eq!(
        license_total(&server, ListParams::new().search("date@example.com")),
        1
    );
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn machines_are_found_by_fingerprint_or_name_across_licenses_and_deactivated() {
    let server = TestServer::start();
    server.activate_elsewhere("aaaa1111bbbb2222", "Reception PC");
    server.activate_elsewhere("cccc3333dddd4444", "Build server");
    let mut app = console_on("console-machines", &server);
    app.assert_usable_at(1024, 700);

    app.go("/machines");
    app.wait_text("[data-testid=machines-count]", "2 results");
    app.screenshot_both_themes("machines");
    let machines = server
        .block_on(server.admin().list_machines(&ListParams::new()))
        .expect("machines")
        .data;
    let build = machines
        .iter()
        .find(|m| m.fingerprint.starts_with("cccc"))
        .expect("the build server");

    // By the start of its fingerprint, and by a part of its name.
    app.type_in("[data-testid=machine-search]", "cccc3333");
    wait_search(&app, "machines-list", "cccc3333");
    wait_rows(&app, &[&build.id]);
    app.type_in("[data-testid=machine-search]", "server");
    wait_search(&app, "machines-list", "server");
    wait_rows(&app, &[&build.id]);

    // Deactivate it, with a confirmation: the server frees the seat.
    app.click("[data-testid=machine-deactivate]");
    app.wait_text("[data-testid=confirm-dialog]", "cccc3333dddd4444");
    app.click("[data-testid=confirm-button]");
    app.wait_text("[data-testid=toast]", "deactivated");
    wait_rows(&app, &[]);
    assert_eq!(server.machines_in_use(), 1);

    // The other one links to its license.
    app.click("[data-testid=machines-clear-filters]");
    app.wait_text("[data-testid=machines-count]", "1 result");
    app.click("[data-testid=machine-license-link]");
    app.wait_text("[data-testid=license-detail]", &server.demo.license_key);
    app.wait_text("[data-testid=machines-card]", "Reception PC");
}

/// WebDriver's codes for the keys a keyboard-only user presses.
const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";
const ESCAPE: &str = "\u{E00C}";
const SHIFT: &str = "\u{E008}";

/// What has the focus: its test id, or its tag and text.
const FOCUSED: &str = "
  const e = document.activeElement;
  if (!e || e === document.body) return 'body';
  return e.dataset.testid || (e.tagName.toLowerCase() + ':' + (e.textContent || '').trim().slice(0, 30));";

fn focused(app: &App) -> String {
    app.session
        .execute(FOCUSED)
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Presses Tab until the focus is on `testid`, at most `most` times; answers how many.
fn tab_to(app: &App, testid: &str, most: usize) -> usize {
    let mut seen = Vec::new();
    for presses in 1..=most {
        app.session.press(TAB);
        let now = focused(app);
        if now == testid {
            return presses;
        }
        seen.push(now);
    }
    panic!("{most} presses of Tab never reached {testid}; the focus went {seen:?}");
}

/// Waits until the focus is on `testid`.
fn wait_focus(app: &App, testid: &str) {
    wait_until(
        app,
        &format!("the focus never came to {testid}"),
        FOCUSED,
        |v| v == testid,
    );
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn a_vendor_finds_and_suspends_a_license_with_the_keyboard_alone() {
    let server = TestServer::start();
    let license_id = server.demo.license_id.clone();
    let email = "kim.keys@example.com";
    server
        .block_on(server.admin().update_license(
            &license_id,
            &LicenseUpdate {
                name: Some(Some("Kim Keys".into())),
                metadata: Some(json!({ "email": email }).as_object().cloned().unwrap()),
                ..LicenseUpdate::default()
            },
        ))
        .expect("the customer's e-mail");
    let mut app = console_on("console-keyboard", &server);
    app.wait_text("[data-testid=session-scopes]", "licenses:write");
    // From the top of the page, as after opening the window.
    app.session
        .execute("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); return true;");

    // The navigation's Licenses entry, then Enter.
    tab_to(&app, "nav-licenses", 12);
    app.session.press(ENTER);
    app.wait_text(".licenses-page h1", "Licenses");

    // The search box comes next after the navigation and the page's buttons.
    tab_to(&app, "license-search", 25);
    app.session.press(email);
    wait_search(&app, "licenses-list", email);
    wait_rows(&app, &[&license_id]);

    // On to the row (past the filters and the table's own controls), and Enter opens it.
    tab_to(&app, "licenses-row", 20);
    app.session.press(ENTER);
    app.wait_text("[data-testid=detail-status]", "Active");

    // Suspend: the dialog takes the focus on its safe answer, Cancel…
    tab_to(&app, "action-suspend", 6);
    app.session.press(ENTER);
    app.wait_text("[data-testid=confirm-dialog]", "SUSPENDED");
    wait_focus(&app, "confirm-cancel");
    app.screenshot("keyboard-confirm");
    // …keeps it inside while open (Tab and Shift+Tab go round its two buttons)…
    app.session.press(TAB);
    assert_eq!(focused(&app), "confirm-button");
    app.session.press(TAB);
    assert_eq!(focused(&app), "confirm-cancel");
    app.session.chord(SHIFT, TAB);
    assert_eq!(focused(&app), "confirm-button");
    // …and Escape closes it with nothing done, the focus back on Suspend.
    app.session.press(ESCAPE);
    app.wait_gone("[data-testid=confirm-dialog]");
    wait_focus(&app, "action-suspend");
    assert_eq!(status_of(&server, &license_id), "active");

    // Again, this time confirmed: suspended, and the focus is on Reinstate, its way back.
    app.session.press(ENTER);
    wait_focus(&app, "confirm-cancel");
    app.session.press(TAB);
    app.session.press(ENTER);
    app.wait_text("[data-testid=detail-status]", "Suspended");
    assert_eq!(status_of(&server, &license_id), "suspended");
    wait_focus(&app, "action-reinstate");
    app.screenshot("keyboard-suspended");
}
