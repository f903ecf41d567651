//! Malformed and hostile input anywhere never produces a 500: every refusal is a 4xx with
//! the error envelope.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Auth};

fn hostile_values() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(-1),
        json!(1e308),
        json!(18446744073709551615u64),
        json!(""),
        json!("' OR 1=1 --"),
        json!("\u{0}\u{7}\u{1b}[31m"),
        json!("🔑".repeat(300)),
        json!("x".repeat(70_000)),
        json!([]),
        json!({}),
        json!({ "$ne": null }),
    ]
}

#[tokio::test]
async fn no_hostile_body_on_any_write_endpoint_causes_a_server_error() {
    let app = spawn_app().await;
    let license = &app.demo.license_id;
    let endpoints: Vec<(Method, String, Vec<&str>)> = vec![
        (
            Method::POST,
            "/api/v1/products".into(),
            vec!["name", "keyPrefix"],
        ),
        (
            Method::POST,
            "/api/v1/policies".into(),
            vec![
                "productId",
                "name",
                "maxMachines",
                "duration",
                "entitlements",
                "floating",
            ],
        ),
        (
            Method::POST,
            "/api/v1/licenses".into(),
            vec!["policyId", "key", "expiresAt", "metadata", "entitlements"],
        ),
        (
            Method::PATCH,
            format!("/api/v1/licenses/{license}"),
            vec!["name", "expiresAt", "metadata", "policyId", "uses"],
        ),
        (
            Method::POST,
            "/api/v1/machines".into(),
            vec!["fingerprint", "name", "platform", "licenseId"],
        ),
        (
            Method::POST,
            "/api/v1/entitlements".into(),
            vec!["code", "name"],
        ),
        (
            Method::POST,
            "/api/v1/webhooks".into(),
            vec!["url", "events", "enabled"],
        ),
        (
            Method::POST,
            "/api/v1/api-keys".into(),
            vec!["name", "scopes"],
        ),
        (
            Method::POST,
            "/api/v1/licenses/validate-key".into(),
            vec!["key", "fingerprint", "entitlements"],
        ),
    ];
    let mut sent = 0;
    for (method, path, fields) in &endpoints {
        for field in fields {
            for value in hostile_values() {
                let body = json!({ *field: value });
                let (status, answer) = app.admin(method.clone(), path, Some(body.clone())).await;
                sent += 1;
                assert!(status < 500, "{method} {path} {body} -> {status} {answer}");
                if status >= 400 {
                    assert!(
                        answer["error"]["code"].is_string(),
                        "{method} {path} {body} -> {answer}"
                    );
                }
            }
        }
    }
    assert!(sent > 300);
}

#[tokio::test]
async fn hostile_paths_queries_and_headers_are_refused_cleanly() {
    let app = spawn_app().await;
    let paths = [
        "/api/v1/licenses/'%20OR%201=1",
        "/api/v1/licenses/%00",
        "/api/v1/licenses/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/products?limit=-1",
        "/api/v1/products?offset=99999999999",
        "/api/v1/products?sort=created_at;DROP",
        "/api/v1/licenses?status[]=active",
        "/api/v1/machines/🔑",
        "/api/v1/analytics/validations?from=9999-99-99",
    ];
    for path in paths {
        let (status, body) = app.admin(Method::GET, path, None).await;
        assert!((400..500).contains(&status), "{path} -> {status} {body}");
        assert!(body["error"]["code"].is_string(), "{path} -> {body}");
    }
    let response = app
        .http
        .get(app.url("/api/v1/products"))
        .header(
            "authorization",
            format!("Bearer lk_live_{}", "a".repeat(10_000)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let (status, _) = app
        .call(
            Method::GET,
            "/api/v1/licenses/me",
            Auth::License("' OR 1=1 --"),
            None,
        )
        .await;
    assert_eq!(status, 401);
}
