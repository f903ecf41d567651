//! `/api/v1/analytics/…`.

use chrono::Duration;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{error_code, spawn_app, Auth};

#[tokio::test]
async fn validations_activations_and_seats_are_counted_per_day_and_product() {
    let app = spawn_app().await;
    let key = app.demo.license_key.clone();
    app.validate(json!({ "key": key })).await;
    app.validate(json!({ "key": key })).await;
    app.validate(json!({ "key": key, "fingerprint": "unknown-machine" }))
        .await;
    app.activate(&key, "seat-one").await;
    app.activate(&key, "seat-two").await;
    app.clock.advance(Duration::days(1));
    app.validate(json!({ "key": key })).await;
    let (_, me) = app
        .call(
            Method::GET,
            "/api/v1/licenses/me",
            Auth::License(&key),
            None,
        )
        .await;
    let machine = me["machines"][0]["id"].as_str().unwrap();
    app.call(
        Method::DELETE,
        &format!("/api/v1/machines/{machine}"),
        Auth::License(&key),
        None,
    )
    .await;

    let (status, validations) = app
        .admin(
            Method::GET,
            "/api/v1/analytics/validations?from=2026-03-01&to=2026-03-02",
            None,
        )
        .await;
    assert_eq!(status, 200, "{validations}");
    assert_eq!(
        validations["data"],
        json!([
            { "date": "2026-03-01", "code": "FINGERPRINT_NOT_FOUND", "count": 1 },
            { "date": "2026-03-01", "code": "VALID", "count": 2 },
            { "date": "2026-03-02", "code": "VALID", "count": 1 },
        ])
    );
    let (_, activations) = app
        .admin(Method::GET, "/api/v1/analytics/activations", None)
        .await;
    assert_eq!(
        activations["data"],
        json!([
            { "date": "2026-03-01", "activations": 2, "deactivations": 0 },
            { "date": "2026-03-02", "activations": 0, "deactivations": 1 },
        ])
    );
    let (_, usage) = app
        .admin(Method::GET, "/api/v1/analytics/usage", None)
        .await;
    assert_eq!(
        usage["data"],
        json!([{ "productId": app.demo.product_id, "productName": "Demo App", "activeLicenses": 1, "seatsUsed": 1, "seatsTotal": 3 }])
    );
    let (_, other_product) = app
        .admin(
            Method::GET,
            "/api/v1/analytics/validations?productId=nope&from=2026-03-01&to=2026-03-02",
            None,
        )
        .await;
    assert_eq!(other_product["data"], json!([]));
}

#[tokio::test]
async fn analytics_ranges_are_checked() {
    let app = spawn_app().await;
    for query in [
        "from=2026-03-05&to=2026-03-01",
        "from=yesterday",
        "from=2020-01-01&to=2026-01-01",
    ] {
        let (status, body) = app
            .admin(
                Method::GET,
                &format!("/api/v1/analytics/validations?{query}"),
                None,
            )
            .await;
        assert_eq!(error_code(status, &body, 400), "invalid_request", "{query}");
    }
}
