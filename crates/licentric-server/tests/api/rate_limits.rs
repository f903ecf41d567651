//! Rate limits per API key, per license key and per client address.

use std::time::Duration;

use licentric_server::{
    rate_limit::{Quota, RateLimits},
    Settings,
};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{error_code, spawn_app_with, test_settings, Auth};

fn tight() -> Settings {
    let quota = |requests| Quota {
        requests,
        period: Duration::from_secs(60),
    };
    Settings {
        rate_limits: RateLimits {
            api_key: quota(3),
            license_key: quota(2),
            anonymous: quota(2),
            ..RateLimits::default()
        },
        ..test_settings()
    }
}

#[tokio::test]
async fn an_api_key_over_its_budget_gets_429_with_retry_after_and_others_are_unaffected() {
    let app = spawn_app_with(tight()).await;
    for remaining in ["2", "1", "0"] {
        let response = app
            .http
            .get(app.url("/api/v1/products"))
            .bearer_auth(&app.api_key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-ratelimit-limit"], "3");
        assert_eq!(response.headers()["x-ratelimit-remaining"], remaining);
    }
    let response = app
        .http
        .get(app.url("/api/v1/products"))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    assert_eq!(response.headers()["x-ratelimit-remaining"], "0");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error_code(429, &body, 429), "rate_limited");

    // The test key has its own budget, and health checks are never limited.
    let (status, _) = app
        .call(
            Method::GET,
            "/api/v1/products",
            Auth::Bearer(&app.test_api_key),
            None,
        )
        .await;
    assert_eq!(status, 200);
    for _ in 0..5 {
        assert_eq!(
            app.http
                .get(app.url("/health"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
}

#[tokio::test]
async fn license_keys_and_anonymous_callers_have_their_own_budgets() {
    let app = spawn_app_with(tight()).await;
    let key = app.demo.license_key.clone();
    for _ in 0..2 {
        assert_eq!(
            app.call(
                Method::GET,
                "/api/v1/licenses/me",
                Auth::License(&key),
                None
            )
            .await
            .0,
            200
        );
    }
    let (status, body) = app
        .call(
            Method::GET,
            "/api/v1/licenses/me",
            Auth::License(&key),
            None,
        )
        .await;
    assert_eq!(error_code(status, &body, 429), "rate_limited");
    // Case and spaces do not buy a new budget.
    let (status, _) = app
        .call(
            Method::GET,
            "/api/v1/licenses/me",
            Auth::License(&key.to_lowercase()),
            None,
        )
        .await;
    assert_eq!(status, 429);

    for _ in 0..2 {
        assert_eq!(app.validate(json!({ "key": key })).await.0, 200);
    }
    let (status, body) = app.validate(json!({ "key": key })).await;
    assert_eq!(error_code(status, &body, 429), "rate_limited");
}

#[tokio::test]
async fn the_jwks_spends_the_anonymous_budget_whatever_credential_is_sent() {
    let app = spawn_app_with(tight()).await;
    let path = format!("/api/v1/accounts/{}/jwks.json", app.account_id);
    // Two anonymous requests are allowed; sending the API key does not switch buckets.
    for _ in 0..2 {
        let (status, _) = app
            .call(Method::GET, &path, Auth::Bearer(&app.api_key), None)
            .await;
        assert_eq!(status, 200);
    }
    let (status, body) = app.call(Method::GET, &path, Auth::None, None).await;
    assert_eq!(error_code(status, &body, 429), "rate_limited");
    // The API key's own budget is untouched.
    let (status, _) = app.admin(Method::GET, "/api/v1/products", None).await;
    assert_eq!(status, 200);
}
