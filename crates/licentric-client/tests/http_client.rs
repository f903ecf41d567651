//! `Licentric` (the HTTP client) against the real server: retries that honour
//! `Retry-After`, and the management API end to end.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use licentric_client::{Error, Licentric, ListParams, RetryPolicy};
use licentric_core::wire::{NewLicense, NewPolicy, NewProduct};
use licentric_server::{
    rate_limit::{Quota, RateLimits},
    Settings,
};
use support::Server;

fn tight() -> Settings {
    let quota = Quota {
        requests: 1,
        period: Duration::from_secs(1),
    };
    Settings {
        rate_limits: RateLimits {
            api_key: quota,
            license_key: quota,
            anonymous: quota,
            ..RateLimits::default()
        },
        ..Settings::default()
    }
}

#[tokio::test]
async fn a_rate_limited_call_waits_for_retry_after_and_succeeds() {
    let server = Server::start_with(tight()).await;
    let client = Licentric::builder().base_url(server.url()).build().unwrap();
    client
        .validate(&server.demo.license_key, None, &[])
        .await
        .unwrap();
    let started = Instant::now();
    let second = client
        .validate(&server.demo.license_key, None, &[])
        .await
        .unwrap();
    assert!(second.valid);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "it waited for the bucket to refill: {:?}",
        started.elapsed()
    );

    let impatient = Licentric::builder()
        .base_url(server.url())
        .retry(RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    let error = impatient
        .validate(&server.demo.license_key, None, &[])
        .await
        .unwrap_err();
    let Error::RateLimited { retry_after, error } = error else {
        panic!("expected 429")
    };
    assert_eq!(retry_after, Duration::from_secs(1));
    assert_eq!(error.code, "rate_limited");
}

/// An overloaded server refuses with 503 `overloaded` and `Retry-After`; the SDK waits
/// that long (plus jitter) and sends the validation again, which is then served. The
/// server is held at its bound by a request whose body never finishes arriving.
#[tokio::test]
async fn an_overloaded_server_is_retried_after_its_retry_after() {
    let server = Server::start_with(Settings {
        admission: licentric_server::admission::Admission {
            max_in_flight: 1,
            max_queued: 0,
            queue_wait: Duration::from_secs(1),
            retry_after: Duration::from_secs(1),
        },
        ..Settings::default()
    })
    .await;
    let address = server.url().trim_start_matches("http://").to_owned();
    let address = address.trim_end_matches('/').to_owned();
    let mut held = std::net::TcpStream::connect(&address).unwrap();
    std::io::Write::write_all(
        &mut held,
        format!("POST /api/v1/licenses/validate-key HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{{").as_bytes(),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let impatient = Licentric::builder()
        .base_url(server.url())
        .retry(RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    let error = impatient
        .validate(&server.demo.license_key, None, &[])
        .await
        .unwrap_err();
    let Error::RateLimited { retry_after, error } = error else {
        panic!("expected the overloaded server's refusal, got {error:?}")
    };
    assert_eq!((retry_after, error.status), (Duration::from_secs(1), 503));
    assert_eq!(error.code, "overloaded");

    // The load goes away half a second from now; the patient client's retry finds room.
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        drop(held);
    });
    let client = Licentric::builder().base_url(server.url()).build().unwrap();
    let started = Instant::now();
    let answer = client
        .validate(&server.demo.license_key, None, &[])
        .await
        .unwrap();
    assert!(answer.valid);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1000) && waited < Duration::from_secs(5),
        "it waited Retry-After (1 s) plus at most half again: {waited:?}"
    );
    release.await.unwrap();
}

#[tokio::test]
async fn the_management_api_manages_products_policies_and_licenses() {
    let server = Server::start().await;
    let admin = server.admin();
    let product = admin
        .create_product(&NewProduct {
            name: "Pro".into(),
            key_prefix: "PRO".into(),
        })
        .await
        .unwrap();
    let policy = admin
        .create_policy(&NewPolicy {
            product_id: product.id.clone(),
            name: "Team".into(),
            max_machines: Some(Some(5)),
            floating: true,
            require_heartbeat: false,
            heartbeat_interval: None,
            cull_dead_machines: false,
            duration: Some(86_400 * 30),
            offline_max_days: None,
            grace_days: None,
            max_uses: None,
            entitlements: vec![],
        })
        .await
        .unwrap();
    let license = admin
        .create_license(&NewLicense {
            policy_id: policy.id,
            name: Some("ACME".into()),
            key: None,
            expires_at: None,
            metadata: None,
            entitlements: vec![],
        })
        .await
        .unwrap();
    assert!(license.key.starts_with("PRO-"));
    let suspended = admin.suspend_license(&license.id).await.unwrap();
    assert_eq!(suspended.status, licentric_core::LicenseStatus::Suspended);
    let page = admin
        .list_licenses(&ListParams::new().filter("status", "suspended"))
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.data[0].id, license.id);

    let missing = admin.get_license("no-such-license").await.unwrap_err();
    assert!(matches!(missing, Error::NotFound(_)), "{missing:?}");
    let invalid = admin
        .create_product(&NewProduct {
            name: "".into(),
            key_prefix: "1".into(),
        })
        .await
        .unwrap_err();
    let Error::Validation(api) = invalid else {
        panic!("expected 400")
    };
    assert!(api.details.unwrap().get("keyPrefix").is_some());

    let unauthenticated = Licentric::builder().base_url(server.url()).build().unwrap();
    assert!(matches!(
        unauthenticated.list_products(&ListParams::new()).await,
        Err(Error::Configuration(_))
    ));
    let wrong = Licentric::builder()
        .base_url(server.url())
        .api_key("lk_live_wrong")
        .build()
        .unwrap();
    assert!(matches!(
        wrong.list_products(&ListParams::new()).await,
        Err(Error::Authentication(_))
    ));
}

#[tokio::test]
async fn requests_go_through_the_configured_proxy() {
    use axum::{routing::post, Json, Router};
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let recorder = seen.clone();
    // A stand-in proxy on loopback: it records the absolute-form request line and answers.
    let proxy = Router::new().route(
        "/api/v1/licenses/validate-key",
        post(move |uri: axum::http::Uri| {
            let recorder = recorder.clone();
            async move {
                recorder.lock().unwrap().push(uri.to_string());
                Json(serde_json::json!({ "valid": false, "code": "NOT_FOUND", "license": null, "machine": null, "entitlements": [] }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, proxy).await.unwrap() });

    let client = Licentric::builder()
        .base_url("http://licensing.invalid")
        .proxy(&proxy_url)
        .build()
        .unwrap();
    let result = client
        .validate("DEMO-AAAA-BBBB-CCCC-DDDD", None, &[])
        .await
        .unwrap();
    assert_eq!(result.code, licentric_client::ValidationCode::NotFound);
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        ["http://licensing.invalid/api/v1/licenses/validate-key"]
    );
}

#[tokio::test]
async fn health_says_whether_a_url_is_a_licentric_server() {
    let server = Server::start().await;
    let client = Licentric::builder().base_url(server.url()).build().unwrap();
    let health = client.health().await.unwrap();
    assert_eq!(health.status, "ok");
    assert_eq!(health.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(health.time, server.now(), "the server tells its own clock");

    // Something else answering 200 on that path is not mistaken for a license server.
    let other = axum::Router::new().route("/api/v1/health", axum::routing::get(|| async { "OK" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, other).await.unwrap() });
    let client = Licentric::builder().base_url(other_url).build().unwrap();
    let error = client.health().await.unwrap_err();
    assert!(
        matches!(&error, Error::UnexpectedResponse { reason, .. } if reason.contains("does not look like a Licentric server")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_webhook_is_tested_and_its_delivery_sent_again() {
    use axum::{routing::post, Router};
    use licentric_core::wire::NewWebhook;
    use licentric_server::{delivery::DeliveryConfig, webhook_target::PrivateTargets};
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    let receiver = Router::new().route(
        "/hook",
        post(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { "ok" }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
    let server = Server::start_with(Settings {
        deliveries: DeliveryConfig {
            private_targets: PrivateTargets::Loopback,
            ..DeliveryConfig::default()
        },
        ..Settings::default()
    })
    .await;
    let admin = server.admin();
    let webhook = admin
        .create_webhook(&NewWebhook {
            url,
            events: None,
            enabled: None,
            description: None,
        })
        .await
        .unwrap();

    let tested = admin.test_webhook(&webhook.id).await.unwrap();
    assert!(tested.delivered, "{tested:?}");
    assert_eq!(tested.status, Some(200));
    let queued = admin
        .redeliver_webhook_delivery(&webhook.id, &tested.delivery_id)
        .await
        .unwrap();
    assert_ne!(queued.id, tested.delivery_id);
    assert_eq!(queued.event, "webhook.test");
    let error = admin
        .redeliver_webhook_delivery(&webhook.id, "no-such-delivery")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NotFound(_)), "{error}");
    assert!(hits.load(std::sync::atomic::Ordering::SeqCst) >= 1);
}

#[tokio::test]
async fn the_dashboards_analytics_come_back_typed() {
    let server = Server::start().await;
    let admin = server.admin();
    let products = admin.list_products(&ListParams::new()).await.unwrap();
    let demo = &products.data[0].id;

    let series = admin
        .analytics_series(Some("2026-02-25"), None, Some(demo))
        .await
        .unwrap();
    assert_eq!(series.product_id.as_deref(), Some(demo.as_str()));
    assert_eq!(series.days.len(), 5, "{series:?}");
    assert!(series.days.iter().all(|day| day.validations_total == 0
        && day.validations.len() == licentric_core::ValidationCode::PRECEDENCE.len()));
    assert_eq!(series.days[4].active_machines, Some(0));

    let seats = admin.seats(None).await.unwrap();
    assert_eq!(seats.products.len(), 1);
    assert_eq!(seats.products[0].seats.active_licenses, 1);
    assert_eq!(seats.products[0].seats.seats_available, 3);
    assert_eq!(seats.policies.len(), 1);

    let expiring = admin.expiring_licenses(Some(demo)).await.unwrap();
    let windows: Vec<(u32, u32)> = expiring.windows.iter().map(|w| (w.days, w.count)).collect();
    assert_eq!(windows, [(7, 0), (30, 0), (90, 0)]);

    let refused = admin
        .analytics_series(Some("2026-03-05"), Some("2026-03-01"), None)
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Validation(_)), "{refused:?}");
}
