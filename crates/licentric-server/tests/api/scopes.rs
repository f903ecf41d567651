//! The scope matrix: a key holding one scope can do exactly that scope's operations.

use licentric_core::Scope;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app, Auth, TestApp};

/// One representative operation per scope; `n` makes bodies unique per attempt.
fn operation(app: &TestApp, scope: Scope, n: usize) -> (Method, String, Option<Value>) {
    let license = &app.demo.license_id;
    match scope {
        Scope::LicensesRead => (Method::GET, format!("/api/v1/licenses/{license}"), None),
        Scope::LicensesWrite => (
            Method::PATCH,
            format!("/api/v1/licenses/{license}"),
            Some(json!({ "name": format!("n{n}") })),
        ),
        Scope::MachinesRead => (Method::GET, "/api/v1/machines".into(), None),
        Scope::MachinesWrite => (
            Method::POST,
            "/api/v1/machines".into(),
            Some(json!({ "licenseId": license, "fingerprint": format!("fingerprint-{n}") })),
        ),
        Scope::ProductsRead => (Method::GET, "/api/v1/products".into(), None),
        Scope::ProductsWrite => (
            Method::POST,
            "/api/v1/products".into(),
            Some(json!({ "name": "P", "keyPrefix": "PP" })),
        ),
        Scope::PoliciesRead => (Method::GET, "/api/v1/policies".into(), None),
        Scope::PoliciesWrite => (
            Method::POST,
            "/api/v1/policies".into(),
            Some(json!({ "productId": app.demo.product_id, "name": "Q" })),
        ),
        Scope::EntitlementsRead => (Method::GET, "/api/v1/entitlements".into(), None),
        Scope::EntitlementsWrite => (
            Method::POST,
            "/api/v1/entitlements".into(),
            Some(json!({ "code": format!("e{n}") })),
        ),
        Scope::WebhooksRead => (Method::GET, "/api/v1/webhooks".into(), None),
        Scope::WebhooksWrite => (
            Method::POST,
            "/api/v1/webhooks".into(),
            Some(json!({ "url": "http://127.0.0.1:9/hook" })),
        ),
        Scope::AnalyticsRead => (Method::GET, "/api/v1/analytics/usage".into(), None),
        Scope::EventsRead => (Method::GET, "/api/v1/events".into(), None),
    }
}

#[tokio::test]
async fn each_scope_allows_exactly_its_operations() {
    let app = spawn_app().await;
    let mut n = 0;
    for held in Scope::ALL {
        let key = app
            .create(
                "/api/v1/api-keys",
                json!({ "name": held.as_str(), "scopes": [held.as_str()] }),
            )
            .await;
        let key = key["key"].as_str().unwrap().to_owned();
        for wanted in Scope::ALL {
            n += 1;
            let (method, path, body) = operation(&app, wanted, n);
            let (status, answer) = app
                .call(method.clone(), &path, Auth::Bearer(&key), body)
                .await;
            if held == wanted {
                assert!(
                    (200..300).contains(&status),
                    "{held} should allow {method} {path}: {status} {answer}"
                );
            } else {
                assert_eq!(
                    error_code(status, &answer, 403),
                    "forbidden",
                    "{held} must not allow {method} {path}"
                );
                assert!(
                    answer["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains(wanted.as_str()),
                    "{answer}"
                );
            }
        }
    }
}

#[tokio::test]
async fn missing_wrong_and_revoked_credentials_are_401s_that_say_what_to_send() {
    let app = spawn_app().await;
    for auth in [
        Auth::None,
        Auth::Bearer("lk_live_nonsense"),
        Auth::Bearer("sk_live_abc"),
        Auth::License(&app.demo.license_key),
    ] {
        let (status, body) = app.call(Method::GET, "/api/v1/products", auth, None).await;
        assert_eq!(error_code(status, &body, 401), "unauthorized", "{auth:?}");
    }
    let response = app
        .http
        .get(app.url("/api/v1/products"))
        .header("authorization", "Basic dXNlcjpwdw==")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let (status, body) = app
        .call(Method::GET, "/api/v1/machines", Auth::None, None)
        .await;
    assert_eq!(error_code(status, &body, 401), "unauthorized");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("License"));
}
