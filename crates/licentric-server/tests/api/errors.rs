//! The error envelope on every failure path: bad input never becomes a 500.

use serde_json::json;

use crate::helpers::{error_code, read, spawn_app};

const VALIDATE: &str = "/api/v1/licenses/validate-key";

#[tokio::test]
async fn malformed_json_is_a_400_envelope() {
    let app = spawn_app().await;
    for body in [&b"{\"key\": "[..], b"not json", b"", b"{\"key\": \"A\"} {}"] {
        let (status, response) = app
            .post_raw(VALIDATE, Some("application/json"), body.to_vec())
            .await;
        assert_eq!(
            error_code(status, &response, 400),
            "malformed_json",
            "{body:?}"
        );
    }
}

#[tokio::test]
async fn wrong_types_missing_and_unknown_fields_name_the_field() {
    let app = spawn_app().await;
    let cases = [
        (json!({ "key": 42 }), "key"),
        (
            json!({ "key": "DEMO-AAAA-BBBB-CCCC-DDDD", "entitlements": "sso" }),
            "entitlements",
        ),
        (json!({}), "body"),
        (json!([]), "body"),
    ];
    for (body, field) in cases {
        let (status, response) = app.validate(body.clone()).await;
        assert_eq!(
            error_code(status, &response, 400),
            "invalid_request",
            "{body}"
        );
        assert!(
            response["error"]["details"].get(field).is_some(),
            "{body} -> {response}"
        );
    }
    let (status, response) = app
        .validate(json!({ "key": "X", "fingerprnt": "abcdefgh" }))
        .await;
    assert_eq!(error_code(status, &response, 400), "invalid_request");
    assert!(
        response["error"]["message"]
            .as_str()
            .unwrap()
            .contains("fingerprnt"),
        "{response}"
    );
}

#[tokio::test]
async fn empty_keys_and_short_fingerprints_are_refused_with_details() {
    let app = spawn_app().await;
    let (status, response) = app.validate(json!({ "key": "   " })).await;
    assert_eq!(error_code(status, &response, 400), "invalid_request");
    assert_eq!(response["error"]["details"]["key"], "is required");

    let (status, response) = app
        .validate(json!({ "key": app.demo.license_key, "fingerprint": "short" }))
        .await;
    assert_eq!(error_code(status, &response, 400), "invalid_request");
    assert_eq!(
        response["error"]["details"]["fingerprint"],
        "must be at least 8 characters"
    );

    let (status, response) = app.validate(json!({ "key": "K".repeat(500) })).await;
    assert_eq!(error_code(status, &response, 400), "invalid_request");
}

#[tokio::test]
async fn hostile_strings_are_just_keys_that_do_not_exist() {
    let app = spawn_app().await;
    for key in [
        "' OR 1=1 --",
        "DEMO-'; DROP TABLE licenses; --",
        "🔑🔑🔑",
        "\u{0}\u{1}",
        "%00",
        "DEMO-ÄÖÜ-ß",
    ] {
        let (status, body) = app.validate(json!({ "key": key })).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (200, Some("NOT_FOUND")),
            "{key:?}: {body}"
        );
    }
    // And the licenses table is still there.
    let (_, body) = app.validate(json!({ "key": app.demo.license_key })).await;
    assert_eq!(body["code"], "VALID");
}

#[tokio::test]
async fn a_body_without_json_content_type_is_a_400_that_says_what_to_send() {
    let app = spawn_app().await;
    let body = serde_json::to_vec(&json!({ "key": app.demo.license_key })).unwrap();
    for content_type in [None, Some("text/plain")] {
        let (status, response) = app.post_raw(VALIDATE, content_type, body.clone()).await;
        assert_eq!(error_code(status, &response, 400), "unsupported_media_type");
        assert!(response["error"]["message"]
            .as_str()
            .unwrap()
            .contains("application/json"));
    }
}

#[tokio::test]
async fn an_oversized_body_is_a_413_envelope() {
    let app = spawn_app().await;
    let huge = serde_json::to_vec(&json!({ "key": "K".repeat(200 * 1024) })).unwrap();
    let (status, response) = app.post_raw(VALIDATE, Some("application/json"), huge).await;
    assert_eq!(error_code(status, &response, 413), "payload_too_large");
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_are_enveloped_too() {
    let app = spawn_app().await;
    let (status, body) = read(app.http.get(app.url("/api/v1/nope")).send().await.unwrap()).await;
    assert_eq!(error_code(status, &body, 404), "not_found");
    let (status, body) = read(app.http.get(app.url(VALIDATE)).send().await.unwrap()).await;
    assert_eq!(error_code(status, &body, 405), "method_not_allowed");
}
