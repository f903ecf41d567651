//! `POST /api/v1/licenses/validate-key`.

use chrono::Duration;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_demo_key_is_valid_and_the_answer_describes_the_license() {
    let app = spawn_app().await;
    let (status, body) = app.validate(json!({ "key": app.demo.license_key })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["valid"], true);
    assert_eq!(body["code"], "VALID");
    assert_eq!(body["license"]["id"], app.demo.license_id.as_str());
    assert_eq!(body["license"]["status"], "active");
    assert_eq!(body["license"]["productId"], app.demo.product_id.as_str());
    assert_eq!(body["license"]["policyId"], app.demo.policy_id.as_str());
    let expires_at: chrono::DateTime<chrono::Utc> = body["license"]["expiresAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(expires_at, app.demo.license_expires_at);
}

#[tokio::test]
async fn a_key_typed_in_lower_case_with_spaces_is_still_found() {
    let app = spawn_app().await;
    let sloppy = format!("  {}\n", app.demo.license_key.to_lowercase());
    let (status, body) = app.validate(json!({ "key": sloppy })).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (200, Some("VALID")),
        "{body}"
    );
}

#[tokio::test]
async fn an_unknown_key_is_a_not_found_result_not_an_http_error() {
    let app = spawn_app().await;
    let (status, body) = app
        .validate(json!({ "key": "DEMO-AAAA-BBBB-CCCC-DDDD" }))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["valid"], false);
    assert_eq!(body["code"], "NOT_FOUND");
    assert!(body["license"].is_null());
}

#[tokio::test]
async fn the_seed_001_example_body_is_accepted_verbatim() {
    let app = spawn_app().await;
    // The request body of seed 001's validate-key curl example, byte for byte.
    let body = br#"{
"key": "PROAPP-A1B2-C3D4-E5F6-G7H8",
"fingerprint": "ab12cd34ef56",
"entitlements": ["export_pdf"]
}"#;
    let (status, body) = app
        .post_raw(
            "/api/v1/licenses/validate-key",
            Some("application/json"),
            body.to_vec(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["code"], "NOT_FOUND");
}

#[tokio::test]
async fn a_license_past_its_expiry_is_expired_to_the_second() {
    let app = spawn_app().await;
    let expiry = app.demo.license_expires_at;
    app.clock.set(expiry - Duration::seconds(1));
    let (_, body) = app.validate(json!({ "key": app.demo.license_key })).await;
    assert_eq!(body["code"], "VALID");

    app.clock.set(expiry);
    let (status, body) = app.validate(json!({ "key": app.demo.license_key })).await;
    assert_eq!(status, 200);
    assert_eq!(body["valid"], false);
    assert_eq!(body["code"], "EXPIRED");
    assert_eq!(body["license"]["id"], app.demo.license_id.as_str());
}

#[tokio::test]
async fn suspended_revoked_and_banned_licenses_say_so() {
    let app = spawn_app().await;
    for (status, code) in [
        ("suspended", "SUSPENDED"),
        ("revoked", "REVOKED"),
        ("banned", "BANNED"),
    ] {
        app.set_license_status(status).await;
        let (http, body) = app.validate(json!({ "key": app.demo.license_key })).await;
        assert_eq!((http, body["code"].as_str()), (200, Some(code)), "{body}");
        assert_eq!(body["license"]["status"], status);
    }
}

#[tokio::test]
async fn a_revoked_license_says_revoked_even_when_it_has_also_expired() {
    let app = spawn_app().await;
    app.set_license_status("revoked").await;
    app.clock.advance(Duration::days(400));
    let (_, body) = app.validate(json!({ "key": app.demo.license_key })).await;
    assert_eq!(body["code"], "REVOKED");
}

#[tokio::test]
async fn an_unactivated_fingerprint_and_missing_entitlements_are_reported() {
    let app = spawn_app().await;
    let (_, body) = app
        .validate(json!({ "key": app.demo.license_key, "fingerprint": "ab12cd34ef56" }))
        .await;
    assert_eq!(body["code"], "FINGERPRINT_NOT_FOUND");
    let (_, body) = app
        .validate(json!({ "key": app.demo.license_key, "entitlements": ["export_pdf"] }))
        .await;
    assert_eq!(body["code"], "ENTITLEMENTS_MISSING");
    assert_eq!(body["valid"], false);
}
