//! Webhooks: signed deliveries, retries with backoff, and the delivery log.

use chrono::Duration;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::helpers::{error_code, spawn_app, Receiver};

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

async fn wait_for_delivery(
    app: &crate::helpers::TestApp,
    log: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..250 {
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
