//! Webhooks: signed deliveries, retries with backoff, the delivery log, and the controls:
//! test, redeliver, and disabling an endpoint that fails for too long.

use chrono::Duration;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;

use std::sync::Arc;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

use crate::helpers::{
    error_code, read, refusing_settings, spawn_app, spawn_app_with, spawn_app_with_dns, Auth,
    FakeDns, Receiver, TestApp,
};

fn verify(secret: &str, header: &str, body: &str) -> i64 {
    let mut parts = header.split(',');
    let t = parts.next().unwrap().strip_prefix("t=").unwrap();
    let v1 = parts.next().unwrap().strip_prefix("v1=").unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    mac.verify_slice(&hex::decode(v1).unwrap())
        .expect("signature verifies");
    t.parse().unwrap()
}

#[tokio::test]
async fn a_license_event_is_delivered_signed_with_the_endpoints_secret() {
    let app = spawn_app().await;
    let receiver = Receiver::start(vec![]).await;
    let webhook = app
        .create(
            "/api/v1/webhooks",
            json!({ "url": receiver.url, "events": ["license.suspended"], "description": "CRM" }),
        )
        .await;
    let secret = webhook["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    let (_, fetched) = app
        .admin(
            Method::GET,
            &format!("/api/v1/webhooks/{}", webhook["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert!(fetched["secret"].is_null(), "the secret is shown once");

    app.admin(
        Method::PATCH,
        &format!("/api/v1/licenses/{}", app.demo.license_id),
        Some(json!({ "name": "ignored event" })),
    )
    .await;
    app.admin(
        Method::POST,
        &format!("/api/v1/licenses/{}/suspend", app.demo.license_id),
        None,
    )
    .await;
    let received = receiver.wait_for(1).await;
    let (headers, body) = &received[0];
    assert_eq!(headers["licentric-event"], "license.suspended");
    let timestamp = verify(
        secret,
        headers["licentric-signature"].to_str().unwrap(),
        body,
    );
    assert_eq!(timestamp, app.clock_now().timestamp());
    let event: Value = serde_json::from_str(body).unwrap();
    assert_eq!(event["type"], "license.suspended");
    assert_eq!(event["environment"], "live");
    assert_eq!(event["data"]["license"]["id"], app.demo.license_id.as_str());
    assert_eq!(event["data"]["license"]["status"], "suspended");
    assert!(
        event["data"]["license"].get("key").is_none(),
        "the license key is a secret: {event}"
    );
    // A tampered body does not verify.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{}", body.replace("suspended", "active")).as_bytes());
    let sig = headers["licentric-signature"]
        .to_str()
        .unwrap()
        .split("v1=")
        .nth(1)
        .unwrap()
        .to_owned();
    assert!(mac.verify_slice(&hex::decode(sig).unwrap()).is_err());

    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(
        receiver.count(),
        1,
        "only the subscribed event is delivered"
    );
}

#[tokio::test]
async fn failed_deliveries_are_retried_on_schedule_then_given_up_and_logged() {
    let app = spawn_app().await;
    let receiver = Receiver::start(vec![500, 503, 500]).await;
    let webhook = app
        .create("/api/v1/webhooks", json!({ "url": receiver.url }))
        .await;
    let log = format!(
        "/api/v1/webhooks/{}/deliveries",
        webhook["id"].as_str().unwrap()
    );
    app.activate(&app.demo.license_key, "retried-machine").await;
    receiver.wait_for(1).await;

    let delivery = wait_for_delivery(&app, &log, |d| d["attempts"] == 1).await;
    assert_eq!(delivery["status"], "pending");
    assert_eq!(delivery["lastStatusCode"], 500);
    assert_eq!(delivery["event"], "machine.activated");
    assert!(delivery["lastError"].as_str().unwrap().contains("500"));

    // The first retry waits 60 s (test schedule).
    app.clock.advance(Duration::seconds(59));
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert_eq!(receiver.count(), 1, "not retried before its time");
    app.clock.advance(Duration::seconds(1));
    receiver.wait_for(2).await;
    app.clock.advance(Duration::seconds(600));
    receiver.wait_for(3).await;
    let delivery = wait_for_delivery(&app, &log, |d| d["status"] == "failed").await;
    assert_eq!(delivery["attempts"], 3);
    assert!(delivery["nextAttemptAt"].is_null());
    let bodies: Vec<String> = receiver
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| b.clone())
        .collect();
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every attempt sends the same event"
    );
}

#[tokio::test]
async fn a_retry_that_succeeds_is_logged_as_delivered() {
    let app = spawn_app().await;
    let receiver = Receiver::start(vec![502]).await;
    let webhook = app
        .create(
            "/api/v1/webhooks",
            json!({ "url": receiver.url, "events": ["machine.activated"] }),
        )
        .await;
    let log = format!(
        "/api/v1/webhooks/{}/deliveries",
        webhook["id"].as_str().unwrap()
    );
    app.activate(&app.demo.license_key, "eventually-ok").await;
    wait_for_delivery(&app, &log, |d| d["attempts"] == 1).await;
    app.clock.advance(Duration::seconds(60));
    let delivery = wait_for_delivery(&app, &log, |d| d["status"] == "succeeded").await;
    assert_eq!(
        (
            delivery["attempts"].as_u64(),
            delivery["lastStatusCode"].as_u64()
        ),
        (Some(2), Some(200))
    );
    assert!(delivery["deliveredAt"].is_string());
}

async fn wait_for_delivery(app: &TestApp, log: &str, done: impl Fn(&Value) -> bool) -> Value {
    // Bounded at 15 s, like Receiver::wait_for; it returns as soon as the state is reached.
    for _ in 0..750 {
        let (_, page) = app.admin(Method::GET, log, None).await;
        if let Some(d) = page["data"].as_array().and_then(|d| d.first()) {
            if done(d) {
                return d.clone();
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the delivery never reached the expected state");
}

#[tokio::test]
async fn endpoints_are_validated_updated_rotated_and_deleted() {
    let app = spawn_app().await;
    let (status, body) = app
        .admin(
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({ "url": "ftp://x", "events": ["license.exploded"] })),
        )
        .await;
    assert_eq!(error_code(status, &body, 400), "invalid_request");
    assert!(
        body["error"]["details"]["url"].is_string()
            && body["error"]["details"]["events"].is_string()
    );

    let webhook = app
        .create(
            "/api/v1/webhooks",
            json!({ "url": "http://127.0.0.1:9/hook" }),
        )
        .await;
    assert_eq!(webhook["events"], json!(["*"]));
    let path = format!("/api/v1/webhooks/{}", webhook["id"].as_str().unwrap());
    let (_, updated) = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({ "enabled": false, "events": ["license.created"] })),
        )
        .await;
    assert_eq!(
        (updated["enabled"].as_bool(), updated["events"].clone()),
        (Some(false), json!(["license.created"]))
    );
    let (_, rotated) = app
        .admin(Method::POST, &format!("{path}/rotate-secret"), None)
        .await;
    assert_ne!(rotated["secret"], webhook["secret"]);
    assert!(rotated["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(app.admin(Method::DELETE, &path, None).await.0, 204);
    assert_eq!(app.admin(Method::GET, &path, None).await.0, 404);
}

/// URLs that lead into the server's own machine or network, or to a cloud metadata
/// service: issue 12's list, and the other spellings of the same places.
fn internal_urls(app: &TestApp) -> Vec<String> {
    let mut urls: Vec<String> = [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://metadata.google.internal./computeMetadata/v1/",
        "http://127.0.0.1:6379/",
        "http://[::1]/",
        "http://0.0.0.0:8787/",
        "http://[::]/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://127.1/",
        "http://0177.0.0.1/",
        "http://10.0.0.1/",
        "http://10.255.255.255/",
        "http://172.16.0.1/",
        "http://172.31.255.254/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://[fd12:3456::1]/",
        "http://[fe80::1]/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "http://user:pass@127.0.0.1/",
        "http://user:pass@hooks.example.com/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://localhost/",
        "http://LOCALHOST.:8787/",
        "http://redis:6379/",
        "http://db.internal/",
        "gopher://127.0.0.1:6379/_INFO",
        "file:///etc/passwd",
    ]
    .map(str::to_owned)
    .to_vec();
    // The server's own routes.
    urls.push(app.url("/api/v1/licenses/validate-key"));
    urls
}

/// A server with the default for webhook targets (public only), resolving with `dns`.
async fn refusing_app(dns: &Arc<FakeDns>) -> TestApp {
    spawn_app_with_dns(refusing_settings(), dns.clone()).await
}

#[tokio::test]
async fn internal_urls_are_refused_when_an_endpoint_is_created_or_updated() {
    let dns = Arc::new(FakeDns::default());
    dns.answer("hooks.example.com", &["93.184.216.34"]);
    let app = refusing_app(&dns).await;
    let webhook = app
        .create(
            "/api/v1/webhooks",
            json!({ "url": "https://hooks.example.com/licentric" }),
        )
        .await;
    let path = format!("/api/v1/webhooks/{}", webhook["id"].as_str().unwrap());
    for url in internal_urls(&app) {
        for (method, path) in [
            (Method::POST, "/api/v1/webhooks"),
            (Method::PATCH, path.as_str()),
        ] {
            let (status, body) = app
                .admin(method.clone(), path, Some(json!({ "url": url })))
                .await;
            assert_eq!(
                error_code(status, &body, 400),
                "invalid_request",
                "{method} {url}"
            );
            assert!(
                body["error"]["details"]["url"].is_string(),
                "{method} {url}: {body}"
            );
        }
    }
    let (_, list) = app.admin(Method::GET, "/api/v1/webhooks", None).await;
    assert_eq!(list["total"], 1, "nothing refused was created: {list}");
    assert_eq!(
        list["data"][0]["url"], "https://hooks.example.com/licentric",
        "nothing refused was saved"
    );
}

#[tokio::test]
async fn a_refusal_says_why_and_how_the_operator_can_allow_private_targets() {
    let dns = Arc::new(FakeDns::default());
    dns.answer("intranet.example.com", &["93.184.216.34", "10.1.2.3"]);
    let app = refusing_app(&dns).await;
    let refusal = |url: &'static str| {
        let app = &app;
        async move {
            let (status, body) = app
                .admin(
                    Method::POST,
                    "/api/v1/webhooks",
                    Some(json!({ "url": url })),
                )
                .await;
            assert_eq!(error_code(status, &body, 400), "invalid_request", "{url}");
            body["error"]["message"].as_str().unwrap().to_owned()
        }
    };
    let message = refusal("http://127.0.0.1:6379/").await;
    assert!(
        message.contains("127.0.0.1")
            && message.contains("loopback")
            && message.contains("--allow-private-webhook-targets=loopback"),
        "{message}"
    );
    let message = refusal("https://intranet.example.com/hook").await;
    assert!(
        message.contains("resolves to a private-network address")
            && message.contains("--allow-private-webhook-targets=all"),
        "{message}"
    );
    assert!(
        !message.contains("10.1.2.3"),
        "what a name resolves to is the server's business: {message}"
    );
    let message = refusal("http://169.254.169.254/latest/meta-data/").await;
    assert!(
        message.contains("metadata") && message.contains("never"),
        "{message}"
    );
    let message = refusal("https://user:pass@hooks.example.com/").await;
    assert!(message.contains("password"), "{message}");
}

#[tokio::test]
async fn a_public_url_is_saved_and_so_is_a_name_that_does_not_resolve_yet() {
    let dns = Arc::new(FakeDns::default());
    dns.answer(
        "hooks.example.com",
        &["93.184.216.34", "2606:2800:220:1::1"],
    );
    let app = refusing_app(&dns).await;
    for url in [
        "https://hooks.example.com/licentric",
        "https://not-yet.example.com/licentric",
        "http://93.184.216.34:8080/hook",
        "https://[2606:2800:220:1::1]/hook",
    ] {
        app.create("/api/v1/webhooks", json!({ "url": url })).await;
    }
}

#[tokio::test]
async fn a_name_that_turns_to_loopback_after_saving_is_refused_when_delivering() {
    // DNS rebinding: the name resolves to a public address when the endpoint is saved and
    // to loopback when the delivery connects. The real resolver cannot be made to do this
    // here, so the server is given one that can (`FakeDns`).
    let receiver = Receiver::start(vec![]).await;
    let port = receiver.url.rsplit(':').next().unwrap();
    let dns = Arc::new(FakeDns::default());
    dns.answer("rebind.example.com", &["93.184.216.34"]);
    let app = refusing_app(&dns).await;
    let webhook = app
        .create(
            "/api/v1/webhooks",
            json!({ "url": format!("http://rebind.example.com:{port}") }),
        )
        .await;
    dns.answer("rebind.example.com", &["127.0.0.1"]);

    app.activate(&app.demo.license_key, "rebinding").await;
    let log = format!(
        "/api/v1/webhooks/{}/deliveries",
        webhook["id"].as_str().unwrap()
    );
    let delivery = wait_for_delivery(&app, &log, |d| d["attempts"] == 1).await;
    let error = delivery["lastError"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("refused:") && error.contains("loopback"),
        "not refused: {delivery} (the receiver got {})",
        receiver.count()
    );
    assert!(delivery["lastStatusCode"].is_null());
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(receiver.count(), 0, "nothing reached loopback");
}

#[tokio::test]
async fn an_internal_url_saved_before_is_refused_when_delivering() {
    // An endpoint saved under an earlier version, or while the server allowed private
    // targets: the address in the URL is checked again when connecting.
    let receiver = Receiver::start(vec![]).await;
    let app = spawn_app_with(refusing_settings()).await;
    let webhook = app
        .create(
            "/api/v1/webhooks",
            json!({ "url": "https://hooks.example.com/licentric" }),
        )
        .await;
    let id = webhook["id"].as_str().unwrap();
    app.execute(
        "UPDATE webhooks SET url = ? WHERE id = ?",
        &[receiver.url.as_str().into(), id.into()],
    )
    .await;
    app.activate(&app.demo.license_key, "saved-before").await;
    let delivery = wait_for_delivery(&app, &format!("/api/v1/webhooks/{id}/deliveries"), |d| {
        d["attempts"] == 1
    })
    .await;
    assert!(
        delivery["lastError"]
            .as_str()
            .is_some_and(|e| e.starts_with("refused:")),
        "not refused: {delivery} (the receiver got {})",
        receiver.count()
    );
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(receiver.count(), 0, "nothing reached loopback");
}

#[tokio::test]
async fn with_loopback_allowed_a_receiver_on_this_machine_gets_deliveries() {
    // `spawn_app` runs with --allow-private-webhook-targets=loopback.
    let app = spawn_app().await;
    let receiver = Receiver::start(vec![]).await;
    let port = receiver.url.rsplit(':').next().unwrap();
    app.create(
        "/api/v1/webhooks",
        json!({ "url": format!("http://localhost:{port}"), "events": ["machine.activated"] }),
    )
    .await;
    app.activate(&app.demo.license_key, "loopback-allowed")
        .await;
    let received = receiver.wait_for(1).await;
    assert_eq!(received[0].0["licentric-event"], "machine.activated");
    // Loopback only: the private network stays refused.
    let (status, body) = app
        .admin(
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({ "url": "http://192.168.1.1/hook" })),
        )
        .await;
    assert_eq!(error_code(status, &body, 400), "invalid_request");
}

#[tokio::test]
async fn a_closed_port_and_a_port_that_does_not_speak_http_read_the_same_in_the_log() {
    let app = spawn_app().await;
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    // An SSH-like service: it greets, reads what comes, answers something that is not HTTP.
    let not_http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let not_http_addr = not_http.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = not_http.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let _ = socket.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").await;
                let mut buffer = [0; 1024];
                let _ = socket.read(&mut buffer).await;
                let _ = socket.write_all(b"Protocol mismatch.\n").await;
            });
        }
    });
    let mut errors = Vec::new();
    for (name, addr) in [("closed", closed), ("not-http", not_http_addr)] {
        let webhook = app
            .create(
                "/api/v1/webhooks",
                json!({ "url": format!("http://{addr}/hook"), "events": ["license.updated"] }),
            )
            .await;
        app.admin(
            Method::PATCH,
            &format!("/api/v1/licenses/{}", app.demo.license_id),
            Some(json!({ "name": name })),
        )
        .await;
        let log = format!(
            "/api/v1/webhooks/{}/deliveries",
            webhook["id"].as_str().unwrap()
        );
        let delivery = wait_for_delivery(&app, &log, |d| d["attempts"] == 1).await;
        assert!(delivery["lastStatusCode"].is_null(), "{delivery}");
        errors.push(delivery["lastError"].as_str().unwrap().to_owned());
        app.admin(
            Method::PATCH,
            &format!("/api/v1/webhooks/{}", webhook["id"].as_str().unwrap()),
            Some(json!({ "enabled": false })),
        )
        .await;
    }
    assert_eq!(errors[0], errors[1], "{errors:?}");
    assert!(errors[0].starts_with("failed:"), "{errors:?}");
    assert!(
        !errors[0].contains("os error") && !errors[0].contains("refused"),
        "{errors:?}"
    );
}

/// The audit events of `action` on the webhook `id`.
async fn audit_events(app: &TestApp, action: &str, id: &str) -> Vec<Value> {
    let (status, page) = app
        .admin(
            Method::GET,
            &format!("/api/v1/events?resourceType=webhook&resourceId={id}&action={action}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().unwrap().clone()
}

async fn webhook_to(app: &TestApp, receiver: &Receiver, events: Value) -> (String, String) {
    let webhook = app
        .create(
            "/api/v1/webhooks",
            json!({ "url": receiver.url, "events": events }),
        )
        .await;
    (
        webhook["id"].as_str().unwrap().to_owned(),
        webhook["secret"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_test_event_is_sent_signed_now_answered_with_the_receivers_status_and_logged() {
    let app = spawn_app().await;
    let receiver = Receiver::start(vec![]).await;
    let (id, secret) = webhook_to(&app, &receiver, json!(["license.created"])).await;

    let (status, result) = app
        .admin(Method::POST, &format!("/api/v1/webhooks/{id}/test"), None)
        .await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["delivered"], true, "{result}");
    assert_eq!(result["status"], 200);
    assert!(result["error"].is_null());
    assert!(result["durationMs"].is_u64(), "{result}");
    // Sent before the answer: no worker, no waiting.
    assert_eq!(receiver.count(), 1);
    let (headers, body) = receiver.received.lock().unwrap()[0].clone();
    assert_eq!(headers["licentric-event"], "webhook.test");
    assert_eq!(
        headers["licentric-delivery"],
        result["deliveryId"].as_str().unwrap()
    );
    let timestamp = verify(
        &secret,
        headers["licentric-signature"].to_str().unwrap(),
        &body,
    );
    assert_eq!(timestamp, app.clock_now().timestamp());
    let event: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(event["type"], "webhook.test");
    assert_eq!(event["environment"], "live");
    assert!(event["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(event["data"]["webhook"]["id"], id.as_str());

    let (_, log) = app
        .admin(
            Method::GET,
            &format!("/api/v1/webhooks/{id}/deliveries"),
            None,
        )
        .await;
    let logged = &log["data"][0];
    assert_eq!(
        (
            &logged["id"],
            &logged["event"],
            &logged["status"],
            &logged["attempts"]
        ),
        (
            &result["deliveryId"],
            &json!("webhook.test"),
            &json!("succeeded"),
            &json!(1)
        )
    );
    let audited = audit_events(&app, "webhook.tested", &id).await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(audited[0]["actorType"], "api_key");
    assert_eq!(audited[0]["changes"]["delivered"], true);
}

#[tokio::test]
async fn a_failing_test_says_why_is_not_retried_and_works_on_a_disabled_endpoint() {
    let app = spawn_app().await;
    let receiver = Receiver::start(vec![503]).await;
    let (id, _) = webhook_to(&app, &receiver, json!(["*"])).await;
    app.admin(
        Method::PATCH,
        &format!("/api/v1/webhooks/{id}"),
        Some(json!({ "enabled": false })),
    )
    .await;
    let (status, result) = app
        .admin(Method::POST, &format!("/api/v1/webhooks/{id}/test"), None)
        .await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(
        (&result["delivered"], &result["status"], &result["error"]),
        (
            &json!(false),
            &json!(503),
            &json!("failed: the endpoint answered HTTP 503")
        )
    );
    let log = format!("/api/v1/webhooks/{id}/deliveries");
    let logged = wait_for_delivery(&app, &log, |d| d["status"] == "failed").await;
    assert!(logged["nextAttemptAt"].is_null(), "{logged}");
    app.clock.advance(Duration::hours(2));
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert_eq!(receiver.count(), 1, "a test is never retried");

    // Nothing listens on a closed port: failed, in the words of the delivery log.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    app.admin(
        Method::PATCH,
        &format!("/api/v1/webhooks/{id}"),
        Some(json!({ "url": format!("http://{closed}/hook") })),
    )
    .await;
    let (status, result) = app
        .admin(Method::POST, &format!("/api/v1/webhooks/{id}/test"), None)
        .await;
    assert_eq!(status, 200, "{result}");
    assert!(result["status"].is_null());
    assert_eq!(
        result["error"],
        "failed: cannot connect to the endpoint or read an HTTP answer"
    );
}

#[tokio::test]
async fn a_test_to_a_refused_target_sends_nothing_and_says_refused() {
    // The name resolved to a public address when saved and to loopback now (rebinding).
    let receiver = Receiver::start(vec![]).await;
    let port = receiver.url.rsplit(':').next().unwrap();
    let dns = Arc::new(FakeDns::default());
    dns.answer("rebind.example.com", &["93.184.216.34"]);
    let app = refusing_app(&dns).await;
    let webhook = app
        .create(
            "/api/v1/webhooks",
            json!({ "url": format!("http://rebind.example.com:{port}") }),
        )
        .await;
    let id = webhook["id"].as_str().unwrap();
    dns.answer("rebind.example.com", &["127.0.0.1"]);
    let (status, body) = app
        .admin(Method::POST, &format!("/api/v1/webhooks/{id}/test"), None)
        .await;
    assert_eq!(error_code(status, &body, 409), "webhook_target_refused");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("refused:") && message.contains("loopback"),
        "{message}"
    );
    assert_eq!(receiver.count(), 0, "nothing reached loopback");
}

#[tokio::test]
async fn a_delivery_is_redelivered_with_the_same_event_and_body_under_a_new_id() {
    let app = spawn_app().await;
    let receiver = Receiver::start(vec![500]).await;
    let (id, secret) = webhook_to(&app, &receiver, json!(["machine.activated"])).await;
    app.activate(&app.demo.license_key, "redelivered").await;
    let log = format!("/api/v1/webhooks/{id}/deliveries");
    let original = wait_for_delivery(&app, &log, |d| d["attempts"] == 1).await;
    let original_id = original["id"].as_str().unwrap();

    let (status, queued) = app
        .admin(
            Method::POST,
            &format!("/api/v1/webhooks/{id}/deliveries/{original_id}/redeliver"),
            None,
        )
        .await;
    assert_eq!(status, 202, "{queued}");
    assert_ne!(queued["id"], original["id"]);
    assert_eq!(queued["eventId"], original["eventId"]);
    assert_eq!(queued["event"], "machine.activated");
    let received = receiver.wait_for(2).await;
    assert_eq!(received[0].1, received[1].1, "the same body");
    assert_eq!(
        received[1].0["licentric-delivery"],
        queued["id"].as_str().unwrap()
    );
    verify(
        &secret,
        received[1].0["licentric-signature"].to_str().unwrap(),
        &received[1].1,
    );
    let (_, page) = app.admin(Method::GET, &log, None).await;
    assert_eq!(page["total"], 2, "the original stays in the log: {page}");

    let audited = audit_events(&app, "webhook.redelivered", &id).await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(audited[0]["changes"]["redeliveryOf"], original_id);
    assert_eq!(audited[0]["changes"]["deliveryId"], queued["id"]);

    // A disabled endpoint would not send it: say so rather than queue it unseen.
    app.admin(
        Method::PATCH,
        &format!("/api/v1/webhooks/{id}"),
        Some(json!({ "enabled": false })),
    )
    .await;
    let (status, body) = app
        .admin(
            Method::POST,
            &format!("/api/v1/webhooks/{id}/deliveries/{original_id}/redeliver"),
            None,
        )
        .await;
    assert_eq!(error_code(status, &body, 409), "webhook_disabled");
}

#[tokio::test]
async fn an_endpoint_failing_every_attempt_for_a_day_is_disabled_and_enabling_clears_the_reason() {
    let app = spawn_app().await;
    let receiver = Receiver::start(vec![500; 100]).await;
    let (id, _) = webhook_to(&app, &receiver, json!(["license.updated"])).await;
    let touch = |name: &'static str| {
        let app = &app;
        async move {
            let (status, body) = app
                .admin(
                    Method::PATCH,
                    &format!("/api/v1/licenses/{}", app.demo.license_id),
                    Some(json!({ "name": name })),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
    };
    let path = format!("/api/v1/webhooks/{id}");
    let log = format!("{path}/deliveries");
    touch("failing-1").await;
    wait_for_delivery(&app, &log, |d| d["attempts"] == 1).await;

    // 23 hours of failures: still enabled.
    app.clock.advance(Duration::hours(23));
    touch("failing-2").await;
    wait_for_delivery(&app, &log, |d| d["attempts"] == 1).await;
    let n = receiver.wait_for(3).await.len();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let (_, webhook) = app.admin(Method::GET, &path, None).await;
    assert_eq!(webhook["enabled"], true, "{webhook}");
    assert!(webhook["disabledReason"].is_null());

    // Past 24 hours, the next failed attempt (a retry) disables it.
    app.clock.advance(Duration::hours(2));
    receiver.wait_for(n + 1).await;
    let webhook = wait_for_webhook(&app, &path, |w| w["enabled"] == false).await;
    let reason = webhook["disabledReason"].as_str().unwrap();
    assert!(
        reason.starts_with("Disabled automatically: every delivery failed for 24 hours")
            && reason.contains("failed: the endpoint answered HTTP 500")
            && reason.contains("enable the endpoint again"),
        "{reason}"
    );
    assert_eq!(
        webhook["disabledAt"]
            .as_str()
            .map(|t| t.parse::<chrono::DateTime<chrono::Utc>>().unwrap()),
        Some(app.clock_now())
    );
    // The worker records the event just after the endpoint's change (two statements):
    // wait for it rather than race it.
    let mut audited = audit_events(&app, "webhook.disabled", &id).await;
    for _ in 0..50 {
        if !audited.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        audited = audit_events(&app, "webhook.disabled", &id).await;
    }
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(audited[0]["actorType"], "system");
    assert_eq!(audited[0]["changes"]["enabled"]["after"], false);

    // Disabled: events are no longer sent.
    let sent = receiver.count();
    touch("while-disabled").await;
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert_eq!(receiver.count(), sent, "a disabled endpoint gets nothing");

    // Enabled again: the reason goes, and the failures start counting afresh.
    let (status, webhook) = app
        .admin(Method::PATCH, &path, Some(json!({ "enabled": true })))
        .await;
    assert_eq!(status, 200, "{webhook}");
    assert!(webhook["disabledReason"].is_null() && webhook["disabledAt"].is_null());
    touch("after-enabling").await;
    receiver.wait_for(sent + 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let (_, webhook) = app.admin(Method::GET, &path, None).await;
    assert_eq!(
        webhook["enabled"], true,
        "not disabled again at once: {webhook}"
    );
}

async fn wait_for_webhook(app: &TestApp, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..250 {
        let (_, webhook) = app.admin(Method::GET, path, None).await;
        if done(&webhook) {
            return webhook;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the webhook never reached the expected state");
}

#[tokio::test]
async fn test_and_redeliver_need_webhooks_write_and_see_only_the_keys_own_endpoints() {
    let app = spawn_app().await;
    let receiver = Receiver::start(vec![]).await;
    let (id, _) = webhook_to(&app, &receiver, json!(["machine.activated"])).await;
    app.activate(&app.demo.license_key, "isolated").await;
    let delivery = wait_for_delivery(&app, &format!("/api/v1/webhooks/{id}/deliveries"), |d| {
        d["status"] == "succeeded"
    })
    .await;
    let delivery_id = delivery["id"].as_str().unwrap();
    let test = format!("/api/v1/webhooks/{id}/test");
    let redeliver = format!("/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver");
    let sent = receiver.count();

    // Scopes: read is not enough; write alone is.
    let key = |scopes: Value| {
        let app = &app;
        async move {
            let key = app
                .create("/api/v1/api-keys", json!({ "name": "k", "scopes": scopes }))
                .await;
            key["key"].as_str().unwrap().to_owned()
        }
    };
    let reader = key(json!(["webhooks:read", "events:read"])).await;
    for path in [&test, &redeliver] {
        let (status, body) = app
            .call(Method::POST, path, Auth::Bearer(&reader), None)
            .await;
        assert_eq!(error_code(status, &body, 403), "forbidden", "{path}");
    }
    assert_eq!(receiver.count(), sent, "a refused key sends nothing");
    let writer = key(json!(["webhooks:write"])).await;
    let (status, body) = app
        .call(Method::POST, &test, Auth::Bearer(&writer), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .call(Method::POST, &redeliver, Auth::Bearer(&writer), None)
        .await;
    assert_eq!(status, 202, "{body}");

    // Another account, the test environment, and another endpoint's delivery: 404.
    let (other_key, _) = app.other_account().await;
    let other = app
        .create("/api/v1/webhooks", json!({ "url": receiver.url }))
        .await;
    let other_id = other["id"].as_str().unwrap();
    let cases = [
        (other_key.as_str(), test.clone()),
        (other_key.as_str(), redeliver.clone()),
        (app.test_api_key.as_str(), test.clone()),
        (app.test_api_key.as_str(), redeliver.clone()),
        (
            app.api_key.as_str(),
            format!("/api/v1/webhooks/{other_id}/deliveries/{delivery_id}/redeliver"),
        ),
        (
            app.api_key.as_str(),
            format!("/api/v1/webhooks/{id}/deliveries/no-such-delivery/redeliver"),
        ),
        (
            app.api_key.as_str(),
            "/api/v1/webhooks/no-such-webhook/test".to_owned(),
        ),
    ];
    let sent = receiver.wait_for(sent + 2).await.len();
    for (key, path) in cases {
        let (status, body) = app.call(Method::POST, &path, Auth::Bearer(key), None).await;
        assert_eq!(error_code(status, &body, 404), "not_found", "{path}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(
        receiver.count(),
        sent,
        "nothing was sent for another tenant"
    );
}

#[tokio::test]
async fn the_openapi_document_describes_test_and_redeliver() {
    let app = spawn_app().await;
    let (status, doc) = read(
        app.http
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let test = &doc["paths"]["/api/v1/webhooks/{id}/test"]["post"];
    assert!(
        test["responses"]["200"].is_object() && test["responses"]["409"].is_object(),
        "{test}"
    );
    let redeliver =
        &doc["paths"]["/api/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver"]["post"];
    assert!(
        redeliver["responses"]["202"].is_object() && redeliver["responses"]["409"].is_object(),
        "{redeliver}"
    );
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["WebhookTestResult"]["properties"]["durationMs"].is_object());
    assert!(schemas["Webhook"]["properties"]["disabledReason"].is_object());
}
