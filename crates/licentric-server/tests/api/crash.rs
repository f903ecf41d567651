//! Crash safety of webhooks (issue 14): the real server binary is killed with SIGKILL in
//! the middle of a delivery storm and started again on the same database. Every event is
//! then delivered at least once, and a delivery sent twice (the one in flight at the kill)
//! carries the same `Licentric-Delivery` id, so a receiver can drop the repeat.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{http::HeaderMap, routing::post, Router};
use serde_json::{json, Value};

use crate::binary::{self, ServerProcess};

/// Starts `serve` on `database` (port 0), webhooks allowed to loopback; its URL too.
fn serve(database: &Path) -> (ServerProcess, String) {
    let server = ServerProcess::serve(database, &["--allow-private-webhook-targets=loopback"]);
    let url = server.url.clone();
    (server, url)
}

/// A slow receiver (20 ms an event): what it got, as (delivery id, event id) pairs.
async fn receiver() -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: String| {
            let seen = seen.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let event: Value = serde_json::from_str(&body).unwrap();
                let delivery = headers["licentric-delivery"].to_str().unwrap().to_owned();
                seen.lock()
                    .unwrap()
                    .push((delivery, event["id"].as_str().unwrap().to_owned()));
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_queued_before_a_kill_are_delivered_after_the_restart_with_their_ids() {
    const EVENTS: usize = 150;
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("licentric.db");
    let created = binary::init(&database, &["--demo"]);
    let api_key = created["apiKey"].as_str().unwrap();
    let (hook, got) = receiver().await;

    let (mut server, url) = serve(&database);
    let http = reqwest::Client::new();
    let webhook = http
        .post(format!("{url}/api/v1/webhooks"))
        .bearer_auth(api_key)
        .json(&json!({ "url": hook, "events": ["license.created"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(webhook.status(), 201);
    // One request, 150 events: acknowledged, so every one of them must arrive.
    let issued = http
        .post(format!("{url}/api/v1/licenses/bulk"))
        .bearer_auth(api_key)
        .json(&json!({ "policyId": created["policyId"], "count": EVENTS }))
        .send()
        .await
        .unwrap();
    assert_eq!(issued.status(), 201, "{}", issued.text().await.unwrap());

    // Killed mid-storm: some delivered, most not.
    let started = Instant::now();
    while got.lock().unwrap().len() < 10 {
        assert!(started.elapsed() < Duration::from_secs(30), "no deliveries");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    let before_restart = got.lock().unwrap().len();
    assert!(
        before_restart < EVENTS,
        "the storm was over before the kill; nothing tested"
    );

    let (_server, _) = serve(&database);
    let started = Instant::now();
    let by_event = loop {
        let mut by_event: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (delivery, event) in got.lock().unwrap().iter() {
            by_event
                .entry(event.clone())
                .or_default()
                .insert(delivery.clone());
        }
        if by_event.len() >= EVENTS || started.elapsed() > Duration::from_secs(60) {
            break by_event;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        by_event.len(),
        EVENTS,
        "events delivered after the restart (before it: {before_restart})"
    );
    for (event, deliveries) in &by_event {
        assert_eq!(
            deliveries.len(),
            1,
            "event {event} came with several delivery ids: {deliveries:?}"
        );
    }
}
