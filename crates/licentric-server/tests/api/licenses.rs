//! `/api/v1/licenses`: creation, updates, actions and entitlements.

use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app, start_time, Auth, TestApp};

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

async fn code(app: &TestApp, key: &str) -> String {
    let (_, body) = app.validate(json!({ "key": key })).await;
    body["code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_new_license_gets_a_key_with_the_product_prefix_and_the_policys_duration() {
    let app = spawn_app().await;
    let license = app
        .license_with_policy(json!({ "duration": 30 * 86400 }))
        .await;
    let key = license["key"].as_str().unwrap();
    assert!(licentric_core::LicenseKey::parse(key).is_ok(), "{key}");
    assert!(key.starts_with("PROAPP-"));
    let expires: DateTime<Utc> = license["expiresAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires, start_time() + Duration::days(30));
    assert_eq!(license["status"], "active");
    assert_eq!(license["machinesCount"], 0);
    assert_eq!(license["maxMachines"], 1);
    assert_eq!(code(&app, key).await, "VALID");
}

#[tokio::test]
async fn custom_keys_are_checked_and_unique() {
    let app = spawn_app().await;
    let body = json!({ "policyId": app.demo.policy_id, "key": "proapp-a1b2-c3d4-e5f6-g7h8", "expiresAt": null });
    let license = app.create("/api/v1/licenses", body.clone()).await;
    assert_eq!(license["key"], "PROAPP-A1B2-C3D4-E5F6-G7H8");
    assert!(license["expiresAt"].is_null());
    let (status, again) = app
        .admin(Method::POST, "/api/v1/licenses", Some(body))
        .await;
    assert_eq!(error_code(status, &again, 409), "key_in_use");
    let (status, bad) = app
        .admin(
            Method::POST,
            "/api/v1/licenses",
            Some(json!({ "policyId": app.demo.policy_id, "key": "not a key" })),
        )
        .await;
    assert_eq!(error_code(status, &bad, 400), "invalid_request");
    assert!(bad["error"]["details"]["key"]
        .as_str()
        .unwrap()
        .contains("PREFIX-XXXX"));
    let (status, bad) = app
        .admin(
            Method::POST,
            "/api/v1/licenses",
            Some(json!({ "policyId": "missing" })),
        )
        .await;
    assert_eq!(error_code(status, &bad, 400), "invalid_request");
    assert!(bad["error"]["details"]["policyId"].is_string());
}

#[tokio::test]
async fn licenses_are_filtered_by_status_product_and_policy() {
    let app = spawn_app().await;
    let other = app.license_with_policy(json!({})).await;
    app.admin(
        Method::POST,
        &format!("/api/v1/licenses/{}/suspend", id(&other)),
        None,
    )
    .await;
    let (_, suspended) = app
        .admin(Method::GET, "/api/v1/licenses?status=suspended", None)
        .await;
    assert_eq!(suspended["total"], 1);
    assert_eq!(suspended["data"][0]["id"], other["id"]);
    let (_, demo) = app
        .admin(
            Method::GET,
            &format!("/api/v1/licenses?productId={}", app.demo.product_id),
            None,
        )
        .await;
    assert_eq!(demo["total"], 1);
    let (_, by_policy) = app
        .admin(
            Method::GET,
            &format!(
                "/api/v1/licenses?policyId={}",
                other["policyId"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(by_policy["data"][0]["id"], other["id"]);
    let (status, body) = app
        .admin(Method::GET, "/api/v1/licenses?status=expired", None)
        .await;
    assert_eq!(error_code(status, &body, 400), "invalid_request");
}

#[tokio::test]
async fn patch_changes_name_metadata_expiry_and_uses() {
    let app = spawn_app().await;
    let path = format!("/api/v1/licenses/{}", app.demo.license_id);
    let (status, license) = app
        .admin(Method::PATCH, &path, Some(json!({ "name": "ACME Corp", "metadata": { "seats": 5, "crm": "42" }, "expiresAt": null, "uses": 0 })))
        .await;
    assert_eq!(status, 200, "{license}");
    assert_eq!(license["name"], "ACME Corp");
    assert_eq!(license["metadata"]["crm"], "42");
    assert!(license["expiresAt"].is_null());
    // A perpetual license never expires, however far the clock moves.
    app.clock.advance(Duration::days(3650));
    assert_eq!(code(&app, &app.demo.license_key).await, "VALID");

    let foreign = app.license_with_policy(json!({})).await;
    let (status, body) = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({ "policyId": foreign["policyId"] })),
        )
        .await;
    assert_eq!(error_code(status, &body, 400), "invalid_request");
    assert!(body["error"]["details"]["policyId"]
        .as_str()
        .unwrap()
        .contains("another product"));
    let (status, body) = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({ "metadata": { "x": "y".repeat(20_000) } })),
        )
        .await;
    assert_eq!(error_code(status, &body, 400), "invalid_request");
}

#[tokio::test]
async fn suspend_reinstate_revoke_and_ban_change_what_validation_says() {
    let app = spawn_app().await;
    let key = app.demo.license_key.clone();
    let action = |verb: &'static str| format!("/api/v1/licenses/{}/{verb}", app.demo.license_id);

    let (status, license) = app.admin(Method::POST, &action("suspend"), None).await;
    assert_eq!(
        (status, license["status"].as_str()),
        (200, Some("suspended"))
    );
    assert_eq!(code(&app, &key).await, "SUSPENDED");
    let (status, body) = app.admin(Method::POST, &action("suspend"), None).await;
    assert_eq!(error_code(status, &body, 409), "invalid_transition");

    app.admin(Method::POST, &action("reinstate"), None).await;
    assert_eq!(code(&app, &key).await, "VALID");
    app.admin(Method::POST, &action("ban"), None).await;
    assert_eq!(code(&app, &key).await, "BANNED");
    app.admin(Method::POST, &action("revoke"), None).await;
    assert_eq!(code(&app, &key).await, "REVOKED");
    for verb in ["reinstate", "suspend", "ban", "revoke", "renew"] {
        let (status, body) = app.admin(Method::POST, &action(verb), None).await;
        assert_eq!(
            error_code(status, &body, 409),
            "invalid_transition",
            "{verb}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("revoked"),
            "{verb}: {body}"
        );
    }
}

#[tokio::test]
async fn renew_extends_from_expiry_or_from_now_when_lapsed() {
    let app = spawn_app().await;
    let path = format!("/api/v1/licenses/{}/renew", app.demo.license_id);
    let (_, renewed) = app.admin(Method::POST, &path, None).await;
    let expiry: DateTime<Utc> = renewed["expiresAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(expiry, app.demo.license_expires_at + Duration::days(365));

    app.clock.set(expiry + Duration::days(10));
    assert_eq!(code(&app, &app.demo.license_key).await, "EXPIRED");
    let (_, renewed) = app.admin(Method::POST, &path, None).await;
    let expiry2: DateTime<Utc> = renewed["expiresAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(expiry2, expiry + Duration::days(10) + Duration::days(365));
    assert_eq!(code(&app, &app.demo.license_key).await, "VALID");

    let perpetual = app.license_with_policy(json!({})).await;
    let (status, body) = app
        .admin(
            Method::POST,
            &format!("/api/v1/licenses/{}/renew", id(&perpetual)),
            None,
        )
        .await;
    assert_eq!(error_code(status, &body, 409), "perpetual_policy");
}

#[tokio::test]
async fn entitlements_come_from_the_policy_and_the_license() {
    let app = spawn_app().await;
    for code in ["export_pdf", "sso"] {
        app.create(
            "/api/v1/entitlements",
            json!({ "code": code, "name": code.to_uppercase() }),
        )
        .await;
    }
    let license = app
        .license_with_policy(json!({ "entitlements": ["sso"] }))
        .await;
    assert_eq!(license["entitlements"], json!(["sso"]));
    let key = license["key"].as_str().unwrap();
    let check = |wanted: Value| json!({ "key": key, "entitlements": wanted });

    let (_, body) = app.validate(check(json!(["sso", "export_pdf"]))).await;
    assert_eq!(body["code"], "ENTITLEMENTS_MISSING");
    let path = format!("/api/v1/licenses/{}/entitlements", id(&license));
    let (status, updated) = app
        .admin(
            Method::POST,
            &path,
            Some(json!({ "entitlements": ["export_pdf"] })),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["entitlements"], json!(["export_pdf", "sso"]));
    let (_, body) = app.validate(check(json!(["sso", "export_pdf"]))).await;
    assert_eq!(body["code"], "VALID");
    assert_eq!(body["entitlements"], json!(["export_pdf", "sso"]));

    let (status, updated) = app
        .admin(Method::DELETE, &format!("{path}/export_pdf"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(updated["entitlements"], json!(["sso"]));
    let (status, body) = app
        .admin(
            Method::POST,
            &path,
            Some(json!({ "entitlements": ["nope"] })),
        )
        .await;
    assert_eq!(error_code(status, &body, 400), "invalid_request");
}

#[tokio::test]
async fn a_deleted_license_is_not_found_anywhere() {
    let app = spawn_app().await;
    let path = format!("/api/v1/licenses/{}", app.demo.license_id);
    let (status, _) = app.admin(Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
    let (status, body) = app.admin(Method::GET, &path, None).await;
    assert_eq!(error_code(status, &body, 404), "not_found");
    assert_eq!(code(&app, &app.demo.license_key).await, "NOT_FOUND");
    let (status, body) = app
        .call(
            Method::GET,
            "/api/v1/licenses/me",
            Auth::License(&app.demo.license_key),
            None,
        )
        .await;
    assert_eq!(error_code(status, &body, 401), "unauthorized");
}
