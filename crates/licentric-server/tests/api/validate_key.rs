//! `POST /api/v1/licenses/validate-key`.

use chrono::Duration;
use serde_json::json;

use reqwest::Method;

use crate::helpers::{spawn_app, Auth};

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

/// Every one of the eleven codes, reached through the API alone.
#[tokio::test]
async fn all_eleven_codes_are_reachable_through_the_api() {
    let app = spawn_app().await;
    let mut seen = std::collections::BTreeSet::new();
    let mut check = |body: &serde_json::Value, expected: &str| {
        assert_eq!(body["code"], expected, "{body}");
        assert_eq!(body["valid"], expected == "VALID");
        seen.insert(expected.to_owned());
    };

    let (_, body) = app
        .validate(json!({ "key": "DEMO-ZZZZ-ZZZZ-ZZZZ-ZZZZ" }))
        .await;
    check(&body, "NOT_FOUND");

    app.create("/api/v1/entitlements", json!({ "code": "sso" }))
        .await;
    let license = app
        .license_with_policy(json!({ "floating": true, "maxMachines": 2, "maxUses": 100, "duration": 86400,
                                     "requireHeartbeat": true, "heartbeatInterval": 3600, "entitlements": ["sso"] }))
        .await;
    let key = license["key"].as_str().unwrap();
    let id = license["id"].as_str().unwrap();
    let policy = license["policyId"].as_str().unwrap();
    let v = |extra: serde_json::Value| {
        let mut body = json!({ "key": key });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };

    check(&app.validate(v(json!({}))).await.1, "VALID");
    check(
        &app.validate(v(json!({ "entitlements": ["sso", "export_pdf"] })))
            .await
            .1,
        "ENTITLEMENTS_MISSING",
    );
    check(
        &app.validate(v(json!({ "fingerprint": "never-activated" })))
            .await
            .1,
        "FINGERPRINT_NOT_FOUND",
    );

    app.activate(key, "machine-one").await;
    app.activate(key, "machine-two").await;
    app.clock.advance(Duration::seconds(3600));
    check(
        &app.validate(v(json!({ "fingerprint": "machine-one" })))
            .await
            .1,
        "HEARTBEAT_REQUIRED",
    );
    app.clock.advance(Duration::seconds(-3600));

    // The vendor lowers the seat count below what is in use.
    app.admin(
        Method::PATCH,
        &format!("/api/v1/policies/{policy}"),
        Some(json!({ "maxMachines": 1 })),
    )
    .await;
    check(
        &app.validate(v(json!({}))).await.1,
        "MACHINE_LIMIT_EXCEEDED",
    );
    app.admin(
        Method::PATCH,
        &format!("/api/v1/policies/{policy}"),
        Some(json!({ "maxMachines": 2 })),
    )
    .await;

    app.admin(
        Method::PATCH,
        &format!("/api/v1/policies/{policy}"),
        Some(json!({ "maxUses": 1 })),
    )
    .await;
    check(&app.validate(v(json!({}))).await.1, "USES_EXCEEDED");
    app.admin(
        Method::PATCH,
        &format!("/api/v1/licenses/{id}"),
        Some(json!({ "uses": 0 })),
    )
    .await;
    check(&app.validate(v(json!({}))).await.1, "VALID");
    app.admin(
        Method::PATCH,
        &format!("/api/v1/policies/{policy}"),
        Some(json!({ "maxUses": null })),
    )
    .await;

    app.clock.advance(Duration::days(2));
    check(&app.validate(v(json!({}))).await.1, "EXPIRED");
    app.clock.advance(Duration::days(-2));

    for (action, code) in [
        ("suspend", "SUSPENDED"),
        ("ban", "BANNED"),
        ("revoke", "REVOKED"),
    ] {
        app.admin(
            Method::POST,
            &format!("/api/v1/licenses/{id}/{action}"),
            None,
        )
        .await;
        check(&app.validate(v(json!({}))).await.1, code);
    }
    assert_eq!(seen.len(), 11, "{seen:?}");
}

#[tokio::test]
async fn every_validation_counts_towards_max_uses() {
    let app = spawn_app().await;
    let license = app.license_with_policy(json!({ "maxUses": 2 })).await;
    let key = license["key"].as_str().unwrap();
    for expected in ["VALID", "VALID", "USES_EXCEEDED"] {
        assert_eq!(
            app.validate(json!({ "key": key })).await.1["code"],
            expected
        );
    }
    let (_, fetched) = app
        .admin(
            Method::GET,
            &format!("/api/v1/licenses/{}", license["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(fetched["uses"], 3);
    let (_, own) = app
        .call(
            Method::GET,
            &format!("/api/v1/licenses/{}", license["id"].as_str().unwrap()),
            Auth::License(key),
            None,
        )
        .await;
    assert_eq!(own["uses"], 3);
}
