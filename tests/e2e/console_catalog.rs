//! The vendor console's catalogue screens, each journey in the real app against a real
//! server: an API key with fewer scopes shown once, a webhook's test event received by a
//! real local receiver, the audit log naming the key that suspended a license, and a
//! product and policy created through their forms with the server's field problems shown
//! at the fields. Every screen is photographed in both themes.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpListener,
    sync::{
        atomic::{AtomicU16, Ordering},
        mpsc, Arc,
    },
    time::Duration,
};

use licentric_core::SystemClock;
use licentric_server::{
    db, delivery::DeliveryConfig, provision, webhook_target::PrivateTargets, AppState, Application,
    ProvisionOptions, RunningServer, Settings,
};

use crate::harness::{App, Launch, UI_TIMEOUT};

fn console(name: &str) -> App {
    let app = App::launch(
        name,
        Launch {
            console: true,
            ..Launch::default()
        },
    );
    app.wait_text("[data-testid=env-label]", "LIVE");
    app
}

/// Everything the web view shows or holds in its inputs.
fn page_contents(app: &App) -> String {
    let contents = app.session.execute(
        "return document.documentElement.outerHTML + '\\n' + \
         [...document.querySelectorAll('input, textarea')].map((e) => e.value).join('\\n');",
    );
    contents.as_str().unwrap().to_owned()
}

fn ok(answer: serde_json::Value) -> serde_json::Value {
    assert!(
        answer.get("error").is_none(),
        "the command failed: {answer}"
    );
    answer["ok"].clone()
}

/// Closes the notes left by earlier actions, as a user would before reaching a button
/// they cover (they sit over the window's lower right corner for 8 s).
fn close_toasts(app: &App) {
    app.session
        .execute("document.querySelectorAll('.toast-close').forEach((b) => b.click());");
}

/// Text of every element matching `css`, joined by new lines.
fn texts(app: &App, css: &str) -> String {
    let found = app.session.execute(&format!(
        "return [...document.querySelectorAll({})].map((e) => e.innerText).join('\\n');",
        serde_json::json!(css)
    ));
    found.as_str().unwrap_or_default().to_owned()
}

/// Waits until some element matching `css` shows text containing `expected`.
fn wait_any_text(app: &App, css: &str, expected: &str) -> String {
    let deadline = std::time::Instant::now() + UI_TIMEOUT;
    loop {
        let all = texts(app, css);
        if all.contains(expected) {
            return all;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {css} showed {expected:?}; they show {all:?}"
        );
        std::thread::sleep(Duration::from_millis(150));
    }
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn an_api_key_with_fewer_scopes_is_shown_once_then_only_its_prefix_is_listed() {
    let mut app = console("console-api-keys");
    app.go("/api-keys");
    app.wait_text("[data-testid=api-keys-count]", "result");
    app.screenshot_both_themes("api-keys-list");

    app.click("[data-testid=new-api-key]");
    app.type_in("[data-testid=api-key-name]", "Nightly report");
    app.click("[data-testid='scope-licenses:read']");
    app.click("[data-testid='scope-events:read']");
    app.screenshot_both_themes("api-key-form");
    app.click("[data-testid=api-key-submit]");

    // Shown once, with Copy and the warning.
    let key = app.property("[data-testid=secret-value]", "value");
    assert!(key.starts_with("lk_live_") && key.len() > 24, "{key}");
    app.wait_text("[data-testid=secret-warning]", "will not be shown again");
    app.session
        .wait_for("[data-testid=secret-value-copy]", UI_TIMEOUT);
    app.screenshot_both_themes("api-key-shown-once");

    // Dismissed: gone from the screen and from the DOM; the list shows its prefix and scopes.
    app.click("[data-testid=secret-dismiss]");
    app.wait_gone("[data-testid=secret-once]");
    let row = wait_any_text(&app, "[data-testid=api-keys-row]", "Nightly report");
    let line = row
        .lines()
        .skip_while(|line| !line.contains("Nightly report"))
        .take(6)
        .collect::<Vec<_>>()
        .join(" ");
    let prefix = line
        .split_whitespace()
        .find(|word| word.starts_with("lk_live_"))
        .unwrap_or_else(|| panic!("no prefix in the key's row: {line:?}"))
        .trim_end_matches('…');
    assert!(
        key.starts_with(prefix) && prefix.len() < key.len() / 2,
        "the row shows {prefix:?}, not a short prefix of the key"
    );
    assert!(
        line.contains("licenses:read") && line.contains("events:read"),
        "{line}"
    );
    assert!(!line.contains("licenses:write"), "{line}");
    assert!(
        !page_contents(&app).contains(&key),
        "the dismissed key is still in the web view"
    );
    app.screenshot_both_themes("api-key-listed");
    app.assert_usable_at(1024, 700);
    app.screenshot("api-keys-1024x700");

    // Rotated: a new secret, shown once too; then revoked, and gone from the list.
    let target = app.session.execute(
        "const rows = [...document.querySelectorAll('[data-testid=api-keys-row]')];\n\
         const row = rows.find((r) => r.innerText.includes('Nightly report'));\n\
         return row ? row.dataset.rowId : null;",
    );
    let id = target.as_str().expect("the new key's row").to_owned();
    app.click(&format!(
        "[data-row-id='{id}'] [data-testid=rotate-api-key]"
    ));
    app.wait_text(
        "[data-testid=confirm-dialog]",
        "refused until you give it the new one",
    );
    app.screenshot_both_themes("api-key-rotate-confirm");
    app.click("[data-testid=confirm-button]");
    let rotated = app.property("[data-testid=secret-value]", "value");
    assert!(
        rotated.starts_with("lk_live_") && rotated != key,
        "{rotated}"
    );
    app.click("[data-testid=secret-dismiss]");
    app.wait_gone("[data-testid=secret-once]");
    assert!(!page_contents(&app).contains(&rotated));
    app.click(&format!(
        "[data-row-id='{id}'] [data-testid=revoke-api-key]"
    ));
    app.wait_text("[data-testid=confirm-dialog]", "stops working at once");
    app.click("[data-testid=confirm-button]");
    app.wait_gone(&format!("[data-row-id='{id}']"));
}

/// A tiny HTTP receiver on loopback: answers every request with the status in `answer`
/// and hands over what it received (request line, headers and body).
fn receiver(answer: Arc<AtomicU16>) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/licentric", listener.local_addr().unwrap());
    let (sent, received) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let status = answer.load(Ordering::SeqCst);
            let reply = format!(
                "HTTP/1.1 {status} Status\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
            );
            let _ = stream.write_all(reply.as_bytes());
            let _ = sent.send(format!("{head}\r\n{}", String::from_utf8_lossy(&body)));
        }
    });
    (url, received)
}

/// A license server whose operator allows webhooks to loopback, where the test's receiver
/// listens (the server's default refuses private targets); it retries every second and
/// gives up on an endpoint after two seconds of failures, so a test can watch it happen.
struct WebhookServer {
    api_key: String,
    license_id: String,
    running: Option<RunningServer>,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl WebhookServer {
    fn start() -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("licentric.db");
        let (running, api_key, license_id) = runtime.block_on(async {
            let db = db::connect(path.to_str().unwrap()).await.unwrap();
            let created = provision(
                &db,
                &ProvisionOptions {
                    account_name: "Webhooks".into(),
                    demo: true,
                },
                chrono::Utc::now(),
            )
            .await
            .unwrap();
            let settings = Settings {
                deliveries: DeliveryConfig {
                    private_targets: PrivateTargets::Loopback,
                    poll_interval: Duration::from_millis(200),
                    retry_schedule: vec![Duration::from_secs(1); 5],
                    disable_after: Duration::from_secs(2),
                    ..DeliveryConfig::default()
                },
                ..Settings::default()
            };
            let state = AppState::with_settings(db, Arc::new(SystemClock), settings);
            let running = Application::with_state(([127, 0, 0, 1], 0).into(), state)
                .await
                .unwrap()
                .spawn();
            let license_id = created.demo.unwrap().license_id;
            (running, created.api_key, license_id)
        });
        Self {
            api_key,
            license_id,
            running: Some(running),
            runtime,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        self.running.as_ref().unwrap().base_url()
    }
}

impl Drop for WebhookServer {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = self.runtime.block_on(running.stop());
        }
    }
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn a_webhook_test_event_reaches_a_real_receiver_and_its_answer_is_shown() {
    let server = WebhookServer::start();
    let answer = Arc::new(AtomicU16::new(200));
    let (hook_url, received) = receiver(answer.clone());
    let mut app = console("console-webhooks");

    // Connect the console to the server that allows loopback targets.
    app.go("/connections");
    app.type_in("[data-testid=connection-name]", "Webhook server");
    app.type_in("[data-testid=connection-url]", &server.url());
    app.type_in("[data-testid=connection-key]", &server.api_key);
    app.click("[data-testid=add-connection-submit]");
    app.wait_text("[data-testid=env-connection]", "Webhook server");

    app.go("/webhooks");
    app.wait_text("[data-testid=webhooks-table]", "No webhook endpoints yet");
    app.screenshot_both_themes("webhooks-empty");
    app.click("[data-testid=new-webhook]");
    app.type_in("[data-testid=webhook-url]", &hook_url);
    app.type_in("[data-testid=webhook-description]", "CRM sync");
    app.click("[data-testid=webhook-all-events]");
    app.click("[data-testid='event-license.suspended']");
    app.click("[data-testid='event-license.revoked']");
    app.screenshot_both_themes("webhook-form");
    app.click("[data-testid=webhook-submit]");

    // The signing secret, once; then the endpoint's page.
    let secret = app.property("[data-testid=secret-value]", "value");
    assert!(!secret.is_empty());
    app.screenshot_both_themes("webhook-secret-once");
    app.click("[data-testid=secret-dismiss]");
    app.wait_text("[data-testid=webhook-detail-url]", &hook_url);
    app.wait_text("[data-testid=webhook-status]", "Enabled");
    assert!(!page_contents(&app).contains(&secret));

    // A new signing secret, shown once, after a warning of what it means for the receiver.
    app.click("[data-testid=webhook-rotate]");
    app.wait_text("[data-testid=confirm-dialog]", "will reject them");
    app.click("[data-testid=confirm-button]");
    let rotated = app.property("[data-testid=secret-value]", "value");
    assert!(!rotated.is_empty() && rotated != secret);
    app.screenshot_both_themes("webhook-secret-rotated");
    app.click("[data-testid=secret-dismiss]");
    app.wait_gone("[data-testid=secret-once]");
    assert!(!page_contents(&app).contains(&rotated));

    // The test event: the receiver gets it, and the screen shows what it answered.
    app.click("[data-testid=webhook-test]");
    let request = received
        .recv_timeout(UI_TIMEOUT)
        .expect("the receiver got no request");
    assert!(request.starts_with("POST /hooks/licentric"), "{request}");
    assert!(
        request
            .to_ascii_lowercase()
            .contains("licentric-signature:"),
        "{request}"
    );
    assert!(request.contains("webhook.test"), "{request}");
    app.wait_text("[data-testid=webhook-test-result]", "Delivered");
    app.wait_text("[data-testid=webhook-test-status]", "HTTP 200");
    let took = app.wait_text("[data-testid=webhook-test-duration]", " ms");
    assert!(
        took.trim_end_matches(" ms").parse::<u64>().is_ok(),
        "{took}"
    );
    wait_any_text(&app, "[data-testid=deliveries-row]", "webhook.test");
    app.screenshot_both_themes("webhook-tested");

    // A receiver in trouble: its answer and what went wrong are shown.
    answer.store(503, Ordering::SeqCst);
    app.click("[data-testid=webhook-test]");
    received
        .recv_timeout(UI_TIMEOUT)
        .expect("the second test event");
    app.wait_text("[data-testid=webhook-test-result]", "Not delivered");
    app.wait_text("[data-testid=webhook-test-status]", "HTTP 503");
    app.wait_text("[data-testid=webhook-test-error]", "2xx");
    wait_any_text(&app, "[data-testid=deliveries-row]", "Failed");
    app.screenshot_both_themes("webhook-test-failed");

    // Fixed, then the failed delivery sent again from the log.
    answer.store(200, Ordering::SeqCst);
    close_toasts(&app);
    app.click("[data-testid=deliveries-row] [data-testid=redeliver]");
    let again = received
        .recv_timeout(UI_TIMEOUT)
        .expect("the redelivery reached the receiver");
    assert!(again.contains("webhook.test"), "{again}");
    let deadline = std::time::Instant::now() + UI_TIMEOUT;
    while texts(&app, "[data-testid=deliveries-row]")
        .matches("Delivered")
        .count()
        < 2
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the redelivery never showed as delivered"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // Turned off and on again by hand.
    app.click("[data-testid=webhook-toggle]");
    app.wait_text("[data-testid=webhook-status]", "Disabled");
    app.click("[data-testid=webhook-toggle]");
    app.wait_text("[data-testid=webhook-status]", "Enabled");

    app.go("/webhooks");
    wait_any_text(&app, "[data-testid=webhooks-row]", "CRM sync");
    app.screenshot_both_themes("webhooks-list");

    // A receiver that keeps failing real events: the server turns the endpoint off and
    // the console says why.
    answer.store(500, Ordering::SeqCst);
    let api = licentric_client::Licentric::builder()
        .base_url(server.url())
        .api_key(&server.api_key)
        .build()
        .unwrap();
    server
        .runtime
        .block_on(api.suspend_license(&server.license_id))
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let row = texts(&app, "[data-testid=webhooks-row]");
        if row.contains("Disabled by the server") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never disabled: {row}"
        );
        std::thread::sleep(Duration::from_millis(500));
        app.go("/connections");
        app.go("/webhooks");
        std::thread::sleep(Duration::from_millis(300));
    }
    app.click("[data-testid=webhooks-row] td");
    app.wait_text(
        "[data-testid=webhook-disabled-reason]",
        "turned this endpoint off",
    );
    app.wait_text("[data-testid=webhook-disabled-reason]", "HTTP 500");
    app.screenshot_both_themes("webhook-disabled-by-server");
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn the_audit_log_shows_a_suspension_by_the_key_that_made_it() {
    let mut app = console("console-audit");
    let session = ok(app.invoke("console_session", serde_json::json!({})));
    let server_url = session["connection"]["url"].as_str().unwrap().to_owned();

    // A support bot with its own, smaller key suspends a license through the SDK.
    let bot = ok(app.invoke(
        "create_api_key",
        serde_json::json!({ "key": { "name": "Support bot", "scopes": ["licenses:read", "licenses:write"] } }),
    ));
    let bot_key = bot["key"].as_str().unwrap().to_owned();
    let licenses = ok(app.invoke(
        "list_licenses",
        serde_json::json!({ "query": { "limit": 1 } }),
    ));
    let license_id = licenses["data"][0]["id"].as_str().unwrap().to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let api = licentric_client::Licentric::builder()
        .base_url(&server_url)
        .api_key(&bot_key)
        .build()
        .unwrap();
    runtime
        .block_on(api.suspend_license(&license_id))
        .expect("the bot suspends the license");

    app.go("/audit");
    app.wait_text("[data-testid=audit-count]", "newest first");
    app.screenshot_both_themes("audit-log");

    // Filtered by the license and the action: the suspension, by the bot.
    app.type_in("[data-testid=audit-resource-id]", &license_id);
    app.type_in("[data-testid=audit-action]", "license.suspended");
    app.wait_text("[data-testid=audit-count]", "1 event match");
    let event = "[data-testid=audit-event][data-action='license.suspended']";
    wait_any_text(&app, event, "Support bot");
    wait_any_text(&app, event, "license.suspended");

    // By actor too: the console's own key made no such change.
    app.click(&format!(
        "[data-testid=audit-actor] option[value='{}']",
        session["key"]["id"].as_str().unwrap()
    ));
    app.wait_text("[data-testid=audit-empty]", "No event matches");
    app.click(&format!(
        "[data-testid=audit-actor] option[value='{}']",
        bot["id"].as_str().unwrap()
    ));
    wait_any_text(&app, event, "Support bot");

    // In time: the last hour holds it; a custom range opens From and Until, filled in with
    // the last day (never the greyed, empty template WebKit shows for a blank field).
    app.click("[data-testid=audit-range] option[value='1h']");
    app.wait_text("[data-testid=audit-count]", "1 event match");
    app.click("[data-testid=audit-range] option[value='custom']");
    let from = app.property("[data-testid=audit-since]", "value");
    let until = app.property("[data-testid=audit-until]", "value");
    assert!(
        !from.is_empty() && from < until,
        "custom range {from} .. {until}"
    );
    wait_any_text(&app, event, "Support bot");
    app.screenshot_both_themes("audit-custom-range");

    // Exported as filtered: the one suspension, by the bot, into a CSV file.
    app.click("[data-testid=audit-export]");
    app.wait_text("[data-testid=audit-export-saved]", "Exported 1 event");
    let path = crate::console_licenses::text_content(&app, "[data-testid=audit-export-saved] code");
    let exported = std::fs::read_to_string(&path).expect("the export exists");
    let lines: Vec<&str> = exported.trim_end().lines().collect();
    assert_eq!(lines.len(), 2, "{exported}");
    assert!(
        lines[0].starts_with("id,occurred_at,actor_type"),
        "{exported}"
    );
    assert!(
        lines[1].contains("license.suspended") && lines[1].contains("Support bot"),
        "{exported}"
    );
    assert!(lines[1].contains(&license_id), "{exported}");

    // Opened: who, from where, and what changed.
    app.click(&format!("{event} summary"));
    let body = wait_any_text(&app, "[data-testid=audit-event-body]", "Support bot");
    assert!(body.contains(bot["id"].as_str().unwrap()), "{body}");
    app.screenshot_both_themes("audit-suspension-by-bot");
    app.assert_usable_at(1024, 700);
    app.screenshot("audit-1024x700");
}

#[test]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: run scripts/test"]
fn a_product_and_a_policy_are_created_through_their_forms_with_field_problems_at_the_field() {
    let mut app = console("console-products");
    app.go("/products");
    app.wait_text("[data-testid=products-count]", "result");
    app.screenshot_both_themes("products-list");

    // A key prefix the server refuses: its problem is at the field; what was typed stays.
    app.click("[data-testid=new-product]");
    app.type_in("[data-testid=product-name]", "Photo Studio Pro");
    app.type_in("[data-testid=product-key-prefix]", "9PHOTO");
    app.click("[data-testid=product-submit]");
    let problem = app.wait_text(".field-invalid .field-problem", "");
    assert!(!problem.trim().is_empty());
    let invalid = app
        .session
        .execute("return document.querySelector('.field-invalid input').dataset.testid;");
    assert_eq!(invalid, "product-key-prefix");
    assert_eq!(
        app.property("[data-testid=product-name]", "value"),
        "Photo Studio Pro"
    );
    assert_eq!(
        app.property("[data-testid=product-key-prefix]", "value"),
        "9PHOTO"
    );
    app.wait_text("[data-testid=form-error]", "Nothing was saved");
    app.screenshot_both_themes("product-field-problem");

    app.type_in("[data-testid=product-key-prefix]", "PHOTO");
    app.click("[data-testid=product-submit]");
    app.wait_text("[data-testid=product-detail] h1", "Photo Studio Pro");
    let jwks = app.property("[data-testid=jwks]", "value");
    assert!(
        jwks.contains("\"keys\"") && jwks.contains("Ed25519"),
        "{jwks}"
    );
    app.session.wait_for("[data-testid=jwks-copy]", UI_TIMEOUT);
    app.wait_text("[data-testid=product-policies]", "No policies yet");
    app.screenshot_both_themes("product-detail");

    // A policy for it, from its page: an offline allowance beyond a year is refused at its field.
    app.click("[data-testid=new-policy-for-product]");
    app.wait_text("[data-testid=policy-form] h1", "New policy");
    app.wait_text("[data-testid=policy-product]", "Photo Studio Pro");
    app.type_in("[data-testid=policy-name]", "Pro yearly, 3 seats");
    app.click("[data-testid=policy-floating]");
    app.type_in("[data-testid=policy-max-machines]", "3");
    app.click("[data-testid=policy-require-heartbeat]");
    app.type_in("[data-testid=policy-offline-days]", "400");
    close_toasts(&app);
    app.click("[data-testid=policy-submit]");
    app.wait_text(".field-invalid .field-problem", "365");
    let invalid = app
        .session
        .execute("return document.querySelector('.field-invalid input').dataset.testid;");
    assert_eq!(invalid, "policy-offline-days");
    assert_eq!(
        app.property("[data-testid=policy-name]", "value"),
        "Pro yearly, 3 seats"
    );
    assert_eq!(
        app.property("[data-testid=policy-max-machines]", "value"),
        "3"
    );
    app.screenshot_both_themes("policy-field-problem");

    app.type_in("[data-testid=policy-offline-days]", "30");
    app.click("[data-testid=policy-submit]");
    app.wait_text("[data-testid=policy-form] h1", "Pro yearly, 3 seats");
    assert_eq!(
        app.property("[data-testid=policy-offline-days]", "value"),
        "30"
    );
    app.screenshot_both_themes("policy-saved");

    app.go("/policies");
    app.wait_text("[data-testid=policies-table]", "Pro yearly, 3 seats");
    app.screenshot_both_themes("policies-list");
    wait_any_text(&app, "[data-testid=policies-row]", "Floating, up to 3");

    // A product with licenses is not deleted: the refusal is said plainly.
    app.go("/products");
    app.type_in("[data-testid=products-search]", "Demo");
    app.wait_text("[data-testid=products-count]", "1 result");
    app.click("[data-testid=products-row] td");
    app.click("[data-testid=delete-product]");
    app.screenshot_both_themes("product-delete-confirm");
    app.click("[data-testid=confirm-button]");
    app.wait_text("[data-testid=delete-error]", "was not deleted");
    app.wait_text("[data-testid=delete-error]", "license(s)");
    app.screenshot_both_themes("product-delete-refused");

    // The other catalogue screens.
    app.go("/entitlements");
    app.wait_text("[data-testid=entitlements-count]", "result");
    app.click("[data-testid=new-entitlement]");
    app.type_in("[data-testid=entitlement-code]", "Export PDF");
    app.click("[data-testid=entitlement-submit]");
    app.wait_text(".field-invalid .field-problem", "");
    app.screenshot_both_themes("entitlement-field-problem");
    app.type_in("[data-testid=entitlement-code]", "export_pdf");
    app.type_in("[data-testid=entitlement-name]", "Export to PDF");
    app.click("[data-testid=entitlement-submit]");
    wait_any_text(&app, "[data-testid=entitlements-row]", "export_pdf");
    app.screenshot_both_themes("entitlements-list");
    close_toasts(&app);
    app.click("[data-testid=entitlements-row] td");
    app.type_in("[data-testid=entitlement-edit-name]", "Export as PDF");
    app.screenshot_both_themes("entitlement-edit");
    app.click("[data-testid=entitlement-edit-save]");
    wait_any_text(&app, "[data-testid=entitlements-row]", "Export as PDF");

    app.go("/signing-keys");
    wait_any_text(&app, "[data-testid=signing-key-row]", "Active");
    let before = texts(&app, "[data-testid=signing-key-id]");
    app.screenshot_both_themes("signing-keys");
    app.click("[data-testid=rotate-signing-key]");
    app.wait_text(
        "[data-testid=rotation-warning]",
        "pinned only the old public key",
    );
    app.screenshot_both_themes("signing-key-rotate-warning");
    app.click("[data-testid=confirm-button]");
    wait_any_text(&app, "[data-testid=signing-key-row]", "Retired");
    let after = texts(&app, "[data-testid=signing-key-id]");
    assert_eq!(after.lines().count(), before.lines().count() + 1, "{after}");
    app.screenshot_both_themes("signing-keys-rotated");
    app.assert_usable_at(1024, 700);
    app.go("/policies");
    app.wait_text("[data-testid=policies-table]", "Pro yearly, 3 seats");
    app.screenshot("policies-1024x700");
}
