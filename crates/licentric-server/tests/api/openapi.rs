//! `GET /api/v1/openapi.json` describes every endpoint.

use serde_json::Value;

use crate::helpers::{read, spawn_app};

#[tokio::test]
async fn the_document_lists_every_endpoint_with_its_security() {
    let app = spawn_app().await;
    let (status, doc) = read(
        app.http
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let expected = [
        ("post", "/api/v1/licenses/validate-key"),
        ("get", "/api/v1/licenses/me"),
        ("get", "/api/v1/licenses"),
        ("post", "/api/v1/licenses"),
        ("get", "/api/v1/licenses/{id}"),
        ("patch", "/api/v1/licenses/{id}"),
        ("delete", "/api/v1/licenses/{id}"),
        ("post", "/api/v1/licenses/{id}/suspend"),
        ("post", "/api/v1/licenses/{id}/reinstate"),
        ("post", "/api/v1/licenses/{id}/revoke"),
        ("post", "/api/v1/licenses/{id}/ban"),
        ("post", "/api/v1/licenses/{id}/renew"),
        ("post", "/api/v1/licenses/{id}/entitlements"),
        ("delete", "/api/v1/licenses/{id}/entitlements/{code}"),
        ("get", "/api/v1/machines"),
        ("post", "/api/v1/machines"),
        ("get", "/api/v1/machines/{id}"),
        ("delete", "/api/v1/machines/{id}"),
        ("post", "/api/v1/machines/{id}/heartbeat"),
        ("get", "/api/v1/products"),
        ("post", "/api/v1/products"),
        ("patch", "/api/v1/products/{id}"),
        ("get", "/api/v1/policies/{id}"),
        ("post", "/api/v1/entitlements"),
        ("get", "/api/v1/webhooks/{id}/deliveries"),
        ("post", "/api/v1/webhooks/{id}/rotate-secret"),
        ("post", "/api/v1/api-keys"),
        ("post", "/api/v1/api-keys/{id}/rotate"),
        ("get", "/api/v1/analytics/validations"),
        ("get", "/api/v1/analytics/activations"),
        ("get", "/api/v1/analytics/usage"),
        ("post", "/api/v1/licenses/{id}/offline-file"),
        ("post", "/api/v1/licenses/{id}/checkout"),
        ("post", "/api/v1/licenses/offline-activations"),
        ("get", "/api/v1/signing-keys"),
        ("post", "/api/v1/signing-keys/rotate"),
        ("get", "/api/v1/accounts/{accountId}/jwks.json"),
    ];
    for (method, path) in expected {
        let operation = &doc["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is not documented");
        assert!(
            operation["responses"].is_object(),
            "{method} {path} has no responses"
        );
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["api_key"]["scheme"], "bearer");
    assert!(schemes["license_key"].is_object());
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for schema in [
        "License",
        "Machine",
        "Policy",
        "ValidationResult",
        "ErrorEnvelope",
        "ValidationCode",
        "SigningKey",
        "CurrentSigningKey",
        "LicenseCheckout",
        "OfflineActivation",
    ] {
        assert!(schemas.contains_key(schema), "schema {schema} missing");
    }
    let codes: Vec<&str> = schemas["ValidationCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 11, "{codes:?}");

    // The offline file is a download, its body optional; the JWKS needs no credentials.
    let offline_file = &doc["paths"]["/api/v1/licenses/{id}/offline-file"]["post"];
    assert!(
        offline_file["responses"]["200"]["content"]["application/x-licentric-license"].is_object(),
        "{offline_file}"
    );
    assert!(offline_file["responses"]["200"]["headers"]["Content-Disposition"].is_object());
    assert_ne!(offline_file["requestBody"]["required"], true);
    let jwks = &doc["paths"]["/api/v1/accounts/{accountId}/jwks.json"]["get"];
    assert_eq!(jwks["security"], serde_json::json!([{}]), "{jwks}");
    for field in ["serverTime", "token"] {
        assert!(
            schemas["ValidationResult"]["properties"][field].is_object(),
            "ValidationResult.{field}"
        );
    }
    assert!(schemas["Product"]["properties"]["signingKey"].is_object());
    assert!(schemas["Machine"]["properties"]["token"].is_object());
    let _: &Value = &doc;
}
