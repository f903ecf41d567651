//! `/api/v1/api-keys`: shown once, stored hashed, never wider than their creator.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{error_code, spawn_app, Auth};

#[tokio::test]
async fn a_new_key_is_shown_once_and_works_within_its_scopes() {
    let app = spawn_app().await;
    let created = app
        .create(
            "/api/v1/api-keys",
            json!({ "name": "CI", "scopes": ["licenses:read", "products:read"] }),
        )
        .await;
    let key = created["key"].as_str().unwrap();
    assert!(key.starts_with("lk_live_"));
    assert_eq!(created["environment"], "live");
    assert_eq!(created["scopes"], json!(["licenses:read", "products:read"]));
    assert_eq!(&key[..12], created["displayPrefix"].as_str().unwrap());

    let (status, listed) = app.admin(Method::GET, "/api/v1/api-keys", None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["total"], 2);
    assert!(
        !listed.to_string().contains(key),
        "a listed key never shows the secret"
    );
    let (_, fetched) = app
        .admin(
            Method::GET,
            &format!("/api/v1/api-keys/{}", created["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert!(fetched["key"].is_null());

    let (status, _) = app
        .call(Method::GET, "/api/v1/licenses", Auth::Bearer(key), None)
        .await;
    assert_eq!(status, 200);
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(key.as_bytes()));
    let stored = app
        .scalar(
            "SELECT count(*) FROM api_keys WHERE key_hash = ?",
            &[hash.into()],
        )
        .await;
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn a_key_cannot_create_rotate_or_revoke_beyond_its_own_scopes() {
    let app = spawn_app().await;
    let narrow = app
        .create(
            "/api/v1/api-keys",
            json!({ "name": "narrow", "scopes": ["licenses:read"] }),
        )
        .await;
    let narrow_key = narrow["key"].as_str().unwrap();
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/api-keys",
            Auth::Bearer(narrow_key),
            Some(json!({ "name": "wide", "scopes": ["licenses:read", "licenses:write"] })),
        )
        .await;
    assert_eq!(error_code(status, &body, 403), "forbidden");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("licenses:write"));
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/api-keys",
            Auth::Bearer(narrow_key),
            Some(json!({ "name": "same", "scopes": ["licenses:read"] })),
        )
        .await;
    assert_eq!(status, 201);

    let (_, keys) = app
        .admin(Method::GET, "/api/v1/api-keys?sort=createdAt", None)
        .await;
    // The all-scopes key (the keys were made at one instant: their order is the ids').
    let admin_id = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["scopes"].as_array().unwrap().len() > 1)
        .unwrap()["id"]
        .as_str()
        .unwrap();
    for (method, path) in [
        (Method::POST, format!("/api/v1/api-keys/{admin_id}/rotate")),
        (Method::DELETE, format!("/api/v1/api-keys/{admin_id}")),
    ] {
        // A more powerful key is not even visible to it (least privilege): 404.
        let (status, body) = app
            .call(method, &path, Auth::Bearer(narrow_key), None)
            .await;
        assert_eq!(error_code(status, &body, 404), "not_found");
    }
    let (status, body) = app
        .admin(
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({ "name": "x", "scopes": ["licenses:admin"] })),
        )
        .await;
    assert_eq!(error_code(status, &body, 400), "invalid_request");
}

#[tokio::test]
async fn rotation_and_revocation_take_effect_at_once() {
    let app = spawn_app().await;
    let created = app
        .create(
            "/api/v1/api-keys",
            json!({ "name": "rotating", "scopes": ["products:read"] }),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let old = created["key"].as_str().unwrap();
    let (status, rotated) = app
        .admin(Method::POST, &format!("/api/v1/api-keys/{id}/rotate"), None)
        .await;
    assert_eq!(status, 200);
    let new = rotated["key"].as_str().unwrap();
    assert_ne!(old, new);
    let (status, _) = app
        .call(Method::GET, "/api/v1/products", Auth::Bearer(old), None)
        .await;
    assert_eq!(status, 401);
    let (status, _) = app
        .call(Method::GET, "/api/v1/products", Auth::Bearer(new), None)
        .await;
    assert_eq!(status, 200);

    let (status, _) = app
        .admin(Method::DELETE, &format!("/api/v1/api-keys/{id}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, body) = app
        .call(Method::GET, "/api/v1/products", Auth::Bearer(new), None)
        .await;
    assert_eq!(error_code(status, &body, 401), "unauthorized");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("revoked"));
}
