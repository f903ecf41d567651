//! Tenants and environments: another account's record is a 404, and live and test data
//! never meet.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{error_code, spawn_app, Auth};

#[tokio::test]
async fn another_accounts_records_are_not_found_and_never_listed() {
    let app = spawn_app().await;
    let (other_key, other_demo) = app.other_account().await;
    let (_, their_machine) = app.activate(&other_demo.license_key, "their-machine").await;
    let their_entitlement = app
        .call(
            Method::POST,
            "/api/v1/entitlements",
            Auth::Bearer(&other_key),
            Some(json!({ "code": "sso" })),
        )
        .await
        .1;
    let their_webhook = app
        .call(
            Method::POST,
            "/api/v1/webhooks",
            Auth::Bearer(&other_key),
            Some(json!({ "url": "http://127.0.0.1:9/x" })),
        )
        .await
        .1;
    let (_, their_keys) = app
        .call(
            Method::GET,
            "/api/v1/api-keys",
            Auth::Bearer(&other_key),
            None,
        )
        .await;

    let paths = [
        format!("/api/v1/products/{}", other_demo.product_id),
        format!("/api/v1/policies/{}", other_demo.policy_id),
        format!("/api/v1/licenses/{}", other_demo.license_id),
        format!("/api/v1/machines/{}", their_machine["id"].as_str().unwrap()),
        format!(
            "/api/v1/entitlements/{}",
            their_entitlement["id"].as_str().unwrap()
        ),
        format!("/api/v1/webhooks/{}", their_webhook["id"].as_str().unwrap()),
        format!(
            "/api/v1/api-keys/{}",
            their_keys["data"][0]["id"].as_str().unwrap()
        ),
    ];
    for path in &paths {
        for method in [Method::GET, Method::DELETE] {
            let (status, body) = app.admin(method.clone(), path, None).await;
            assert_eq!(
                error_code(status, &body, 404),
                "not_found",
                "{method} {path}"
            );
        }
    }
    let (status, body) = app
        .admin(
            Method::POST,
            &format!("/api/v1/licenses/{}/suspend", other_demo.license_id),
            None,
        )
        .await;
    assert_eq!(error_code(status, &body, 404), "not_found");
    let (status, body) = app
        .admin(
            Method::POST,
            "/api/v1/licenses",
            Some(json!({ "policyId": other_demo.policy_id })),
        )
        .await;
    assert_eq!(
        error_code(status, &body, 400),
        "invalid_request",
        "another account's policy does not exist here"
    );
    let (status, body) = app
        .admin(
            Method::POST,
            "/api/v1/machines",
            Some(json!({ "licenseId": other_demo.license_id, "fingerprint": "abcdefgh" })),
        )
        .await;
    assert_eq!(error_code(status, &body, 404), "not_found");

    for list in [
        "/api/v1/products",
        "/api/v1/policies",
        "/api/v1/licenses",
        "/api/v1/machines",
        "/api/v1/entitlements",
        "/api/v1/webhooks",
    ] {
        let (_, page) = app.admin(Method::GET, list, None).await;
        let text = page.to_string();
        for theirs in [
            &other_demo.product_id,
            &other_demo.policy_id,
            &other_demo.license_id,
        ] {
            assert!(!text.contains(theirs.as_str()), "{list} leaks {theirs}");
        }
    }
    // Their license is untouched.
    assert_eq!(
        app.validate(json!({ "key": other_demo.license_key }))
            .await
            .1["code"],
        "VALID"
    );
}

#[tokio::test]
async fn live_and_test_keys_see_separate_worlds() {
    let app = spawn_app().await;
    let test = Auth::Bearer(&app.test_api_key);
    let (status, page) = app.call(Method::GET, "/api/v1/licenses", test, None).await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 0, "the demo license is live: {page}");
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/api/v1/licenses/{}", app.demo.license_id),
            test,
            None,
        )
        .await;
    assert_eq!(error_code(status, &body, 404), "not_found");

    let (_, product) = app
        .call(
            Method::POST,
            "/api/v1/products",
            test,
            Some(json!({ "name": "Sandbox", "keyPrefix": "SBX" })),
        )
        .await;
    let (_, policy) = app
        .call(
            Method::POST,
            "/api/v1/policies",
            test,
            Some(json!({ "productId": product["id"], "name": "T" })),
        )
        .await;
    let (status, license) = app
        .call(
            Method::POST,
            "/api/v1/licenses",
            test,
            Some(json!({ "policyId": policy["id"] })),
        )
        .await;
    assert_eq!(status, 201, "{license}");
    let (status, body) = app
        .admin(
            Method::GET,
            &format!("/api/v1/licenses/{}", license["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        error_code(status, &body, 404),
        "not_found",
        "a test license does not exist in live"
    );
    let (_, live_products) = app.admin(Method::GET, "/api/v1/products", None).await;
    assert!(!live_products.to_string().contains("Sandbox"));
    // A live key cannot use a test policy either.
    let (status, _) = app
        .admin(
            Method::POST,
            "/api/v1/licenses",
            Some(json!({ "policyId": policy["id"] })),
        )
        .await;
    assert_eq!(status, 400);
    // The test license itself validates: the key carries its own environment.
    assert_eq!(
        app.validate(json!({ "key": license["key"] })).await.1["code"],
        "VALID"
    );
}
