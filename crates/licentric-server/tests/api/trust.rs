//! Trust: validation tokens, the public JWKS, products' pinned key, key rotation, and the
//! signing keys sealed at rest.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{jwk::JwkSet, Algorithm, DecodingKey, Validation};
use licentric_core::{
    verify_license_file, verify_token, Environment, ManualClock, OfflineRefusal, TrustedTime,
};
use licentric_server::{
    db, provision, secret::SecretOrigin, signing, tenant::Tenant, AppState, Application,
    ProvisionOptions, ServerSecret, Settings,
};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app, start_time, Auth, TestApp};

/// Verifies a token with the `jsonwebtoken` crate using only the JWKS fetched over HTTP,
/// as any vendor backend would; returns the claims. Times are checked by the caller
/// against the server's manual clock, not against this machine's.
async fn verify_with_jsonwebtoken(app: &TestApp, token: &str, product_id: &str) -> Value {
    let jwks: JwkSet = app
        .http
        .get(app.url(&format!("/api/v1/accounts/{}/jwks.json", app.account_id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let kid = header.kid.expect("the header names its key");
    let jwk = jwks.find(&kid).expect("the JWKS publishes the token's key");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[product_id]);
    validation.set_issuer(&["licentric"]);
    validation.validate_exp = false;
    let decoded =
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap();
    decoded.claims
}

fn ts(at: DateTime<Utc>) -> i64 {
    at.timestamp()
}

#[tokio::test]
async fn a_valid_validation_for_a_fingerprint_carries_a_token_any_jwt_library_verifies() {
    let app = spawn_app().await;
    let (status, machine) = app.activate(&app.demo.license_key, "fp-alpha-0001").await;
    assert_eq!(status, 201, "{machine}");
    app.clock.advance(Duration::minutes(5));

    let (status, result) = app
        .validate(json!({ "key": app.demo.license_key, "fingerprint": "fp-alpha-0001" }))
        .await;
    assert_eq!(status, 200);
    assert_eq!(result["code"], "VALID");
    let now = app.clock_now();
    assert_eq!(result["serverTime"], "2026-03-01T09:05:00Z");
    let server_time: DateTime<Utc> = result["serverTime"].as_str().unwrap().parse().unwrap();
    assert_eq!(server_time, now);

    let token = result["token"].as_str().expect("a token");
    let claims = verify_with_jsonwebtoken(&app, token, &app.demo.product_id).await;
    assert_eq!(
        claims,
        json!({
            "iss": "licentric",
            "sub": app.demo.license_id,
            "aud": app.demo.product_id,
            "iat": ts(now),
            "nbf": ts(now),
            // The demo policy allows 14 days offline; the license lasts a year.
            "exp": ts(now + Duration::days(14)),
            "fp": "fp-alpha-0001",
            "mid": machine["id"],
            "status": "active",
            "ent": [],
            "lex": ts(app.demo.license_expires_at),
            "gdays": 7,
            "omax": 14,
        })
    );

    // The core verifier agrees, with the key set a client would pin.
    let keys = app.key_set(&app.account_id, "").await;
    let verified = verify_token(
        token,
        &keys,
        &app.demo.product_id,
        "fp-alpha-0001",
        now,
        &TrustedTime::new(now),
    )
    .unwrap();
    assert_eq!(verified.claims().license_id, app.demo.license_id);
    assert_eq!(
        verify_token(
            token,
            &keys,
            &app.demo.product_id,
            "fp-other-0002",
            now,
            &TrustedTime::new(now)
        )
        .unwrap_err(),
        OfflineRefusal::WrongMachine
    );
}

#[tokio::test]
async fn the_requests_nonce_is_signed_into_the_token_and_a_bad_one_is_named() {
    let app = spawn_app().await;
    let key = app.demo.license_key.clone();
    app.activate(&key, "fp-alpha-0001").await;
    let nonce = "Jx2-dZ_8qLr0mN4vTa9yWb";
    let (status, result) = app
        .validate(json!({ "key": key, "fingerprint": "fp-alpha-0001", "nonce": nonce }))
        .await;
    assert_eq!(status, 200, "{result}");
    let claims = verify_with_jsonwebtoken(
        &app,
        result["token"].as_str().unwrap(),
        &app.demo.product_id,
    )
    .await;
    assert_eq!(claims["nonce"], nonce);
    // Hex is a nonce too; without one the token has no `nonce` claim (pinned above).
    let hex = "00112233445566778899aabbccddeeff";
    let (_, result) = app
        .validate(json!({ "key": key, "fingerprint": "fp-alpha-0001", "nonce": hex }))
        .await;
    let claims = verify_with_jsonwebtoken(
        &app,
        result["token"].as_str().unwrap(),
        &app.demo.product_id,
    )
    .await;
    assert_eq!(claims["nonce"], hex);

    for bad in [
        json!("short"),
        json!("x".repeat(129)),
        json!("padded-base64-nonce=="),
        json!("with spaces in the nonce"),
        json!(12345678901234567_u64),
    ] {
        let (status, response) = app
            .validate(json!({ "key": key, "fingerprint": "fp-alpha-0001", "nonce": bad }))
            .await;
        assert_eq!(error_code(status, &response, 400), "invalid_request");
        assert!(
            response["error"]["details"]["nonce"].is_string(),
            "{bad} -> {response}"
        );
    }
}

#[tokio::test]
async fn no_token_without_a_fingerprint_or_unless_valid_but_always_server_time() {
    let app = spawn_app().await;
    let key = app.demo.license_key.clone();
    app.activate(&key, "fp-alpha-0001").await;
    let cases = [
        json!({ "key": key }),
        json!({ "key": key, "fingerprint": "fp-not-activated" }),
        json!({ "key": key, "fingerprint": "fp-alpha-0001", "entitlements": ["sso"] }),
        json!({ "key": "DEMO-AAAA-BBBB-CCCC-DDDD", "fingerprint": "fp-alpha-0001" }),
    ];
    for body in cases {
        let (status, result) = app.validate(body.clone()).await;
        assert_eq!(status, 200);
        assert!(result["token"].is_null(), "{body} -> {result}");
        assert_eq!(result["serverTime"], "2026-03-01T09:00:00Z", "{result}");
    }
    app.set_license_status("suspended").await;
    let (_, result) = app
        .validate(json!({ "key": key, "fingerprint": "fp-alpha-0001" }))
        .await;
    assert_eq!(result["code"], "SUSPENDED");
    assert!(result["token"].is_null());
}

#[tokio::test]
async fn a_token_never_outlives_the_license() {
    let app = spawn_app().await;
    let expires = start_time() + Duration::days(3);
    let license = app
        .license_with_policy(json!({ "offlineMaxDays": 30 }))
        .await;
    let id = license["id"].as_str().unwrap();
    app.admin(
        Method::PATCH,
        &format!("/api/v1/licenses/{id}"),
        Some(json!({ "expiresAt": expires })),
    )
    .await;
    let key = license["key"].as_str().unwrap();
    app.activate(key, "fp-short-0001").await;
    let (_, result) = app
        .validate(json!({ "key": key, "fingerprint": "fp-short-0001" }))
        .await;
    let claims = verify_with_jsonwebtoken(
        &app,
        result["token"].as_str().unwrap(),
        license["productId"].as_str().unwrap(),
    )
    .await;
    assert_eq!(claims["exp"], ts(expires));
    assert_eq!(claims["lex"], ts(expires));
    assert_eq!(claims["omax"], 30);
}

#[tokio::test]
async fn activation_answers_with_a_token_for_the_machine_and_nothing_else_does() {
    let app = spawn_app().await;
    let key = app.demo.license_key.clone();
    let (status, machine) = app.activate(&key, "fp-alpha-0001").await;
    assert_eq!(status, 201);
    let claims = verify_with_jsonwebtoken(
        &app,
        machine["token"].as_str().expect("a token"),
        &app.demo.product_id,
    )
    .await;
    assert_eq!(claims["fp"], "fp-alpha-0001");
    assert_eq!(claims["mid"], machine["id"]);

    let (status, again) = app.activate(&key, "fp-alpha-0001").await;
    assert_eq!(status, 200);
    assert!(again["token"].is_string(), "{again}");

    let path = format!("/api/v1/machines/{}", machine["id"].as_str().unwrap());
    let (_, fetched) = app
        .call(Method::GET, &path, Auth::License(&key), None)
        .await;
    assert!(fetched["token"].is_null(), "{fetched}");
    let (_, listed) = app.admin(Method::GET, "/api/v1/machines", None).await;
    assert!(listed["data"][0]["token"].is_null());

    // An already-activated machine of a suspended license is found, but gets no token.
    app.set_license_status("suspended").await;
    let (status, suspended) = app.activate(&key, "fp-alpha-0001").await;
    assert_eq!(status, 200);
    assert!(suspended["token"].is_null());
}

#[tokio::test]
async fn the_jwks_is_public_per_account_and_environment_and_unknown_accounts_are_404() {
    let app = spawn_app().await;
    let path = format!("/api/v1/accounts/{}/jwks.json", app.account_id);
    let response = app.http.get(app.url(&path)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=300",
        "{:?}",
        response.headers()
    );
    let jwks: Value = response.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{jwks}");
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["crv"], "Ed25519");
    assert_eq!(keys[0]["alg"], "EdDSA");
    assert_eq!(keys[0]["use"], "sig");
    assert!(keys[0].get("d").is_none(), "no private part: {jwks}");

    // A credential, even a bogus one, changes nothing: the endpoint is public.
    let (status, same) = app
        .call(Method::GET, &path, Auth::Bearer("lk_live_bogus"), None)
        .await;
    assert_eq!((status, &same), (200, &jwks));

    // Test data has its own key.
    let test = app.key_set(&app.account_id, "?environment=test").await;
    let live = app.key_set(&app.account_id, "").await;
    assert_eq!(test.len(), 1);
    assert_ne!(
        test.iter().next().unwrap().key_id(),
        live.iter().next().unwrap().key_id()
    );

    let (status, body) = app
        .call(
            Method::GET,
            "/api/v1/accounts/no-such-account/jwks.json",
            Auth::None,
            None,
        )
        .await;
    assert_eq!(error_code(status, &body, 404), "not_found");
    let (status, body) = app
        .call(
            Method::GET,
            &format!("{path}?environment=prod"),
            Auth::None,
            None,
        )
        .await;
    assert_eq!(error_code(status, &body, 400), "invalid_request");
}

#[tokio::test]
async fn every_product_answer_carries_the_current_key_to_pin() {
    let app = spawn_app().await;
    let (_, product) = app
        .admin(
            Method::GET,
            &format!("/api/v1/products/{}", app.demo.product_id),
            None,
        )
        .await;
    assert_eq!(product["accountId"], app.account_id.as_str());
    let jwks_url = format!("/api/v1/accounts/{}/jwks.json", app.account_id);
    assert_eq!(product["signingKey"]["jwksUrl"], jwks_url.as_str());
    let keys = app.key_set(&app.account_id, "").await;
    let kid = product["signingKey"]["keyId"].as_str().unwrap();
    assert_eq!(
        keys.get(kid).unwrap().to_base64url(),
        product["signingKey"]["publicKey"].as_str().unwrap()
    );

    let created = app
        .create(
            "/api/v1/products",
            json!({ "name": "Other", "keyPrefix": "OTHER" }),
        )
        .await;
    let (_, listed) = app.admin(Method::GET, "/api/v1/products", None).await;
    let (_, updated) = app
        .admin(
            Method::PATCH,
            &format!("/api/v1/products/{}", created["id"].as_str().unwrap()),
            Some(json!({ "name": "Renamed" })),
        )
        .await;
    for answer in [&created, &listed["data"][0], &listed["data"][1], &updated] {
        assert_eq!(answer["signingKey"], product["signingKey"], "{answer}");
    }

    // A test product pins the test key, published at the test JWKS.
    let (status, test_product) = app
        .call(
            Method::POST,
            "/api/v1/products",
            Auth::Bearer(&app.test_api_key),
            Some(json!({ "name": "Sandbox", "keyPrefix": "SANDBOX" })),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        test_product["signingKey"]["jwksUrl"],
        format!("{jwks_url}?environment=test")
    );
    assert_ne!(test_product["signingKey"]["keyId"], kid);
}

async fn offline_file(app: &TestApp, license_id: &str, fingerprint: &str) -> String {
    let response = app
        .http
        .post(app.url(&format!("/api/v1/licenses/{license_id}/offline-file")))
        .bearer_auth(&app.api_key)
        .json(&json!({ "fingerprint": fingerprint }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

fn key_id_of(file: &str) -> String {
    file.lines()
        .find_map(|line| line.strip_prefix("Key-Id: "))
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn after_rotation_old_files_and_tokens_still_verify_and_new_ones_use_the_new_key() {
    let app = spawn_app().await;
    let key = app.demo.license_key.clone();
    let fp = "fp-rotate-0001";
    app.activate(&key, fp).await;
    let (_, before) = app.validate(json!({ "key": key, "fingerprint": fp })).await;
    let old_token = before["token"].as_str().unwrap().to_owned();
    let old_file = offline_file(&app, &app.demo.license_id, fp).await;
    let product_path = format!("/api/v1/products/{}", app.demo.product_id);
    let (_, old_product) = app.admin(Method::GET, &product_path, None).await;
    let old_kid = old_product["signingKey"]["keyId"].as_str().unwrap();
    assert_eq!(key_id_of(&old_file), old_kid);

    app.clock.advance(Duration::hours(1));
    let (status, rotated) = app
        .admin(Method::POST, "/api/v1/signing-keys/rotate", None)
        .await;
    assert_eq!(status, 201, "{rotated}");
    let new_kid = rotated["keyId"].as_str().unwrap();
    assert_ne!(new_kid, old_kid);
    assert_eq!(rotated["active"], true);
    assert_eq!(rotated["algorithm"], "EdDSA");
    assert!(rotated["retiredAt"].is_null());

    let (status, listed) = app.admin(Method::GET, "/api/v1/signing-keys", None).await;
    assert_eq!(status, 200);
    let listed = listed["data"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["keyId"], new_kid);
    assert_eq!(listed[1]["keyId"], old_kid);
    assert_eq!(listed[1]["active"], false);
    assert_eq!(listed[1]["retiredAt"], "2026-03-01T10:00:00Z");
    for key in listed {
        let fields: Vec<&String> = key.as_object().unwrap().keys().collect();
        assert_eq!(fields.len(), 6, "only public facts: {key}");
    }

    let now = app.clock_now();
    let keys = app.key_set(&app.account_id, "").await;
    assert_eq!(keys.len(), 2);
    let trusted = TrustedTime::new(now);
    verify_token(&old_token, &keys, &app.demo.product_id, fp, now, &trusted).unwrap();
    verify_license_file(&old_file, &keys, &app.demo.product_id, fp, now, &trusted).unwrap();

    let (_, after) = app.validate(json!({ "key": key, "fingerprint": fp })).await;
    let new_token = after["token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(new_token).unwrap();
    assert_eq!(header.kid.as_deref(), Some(new_kid));
    verify_token(new_token, &keys, &app.demo.product_id, fp, now, &trusted).unwrap();
    let new_file = offline_file(&app, &app.demo.license_id, fp).await;
    assert_eq!(key_id_of(&new_file), new_kid);
    verify_license_file(&new_file, &keys, &app.demo.product_id, fp, now, &trusted).unwrap();

    let (_, new_product) = app.admin(Method::GET, &product_path, None).await;
    assert_eq!(new_product["signingKey"]["keyId"], new_kid);
    assert_eq!(new_product["signingKey"]["publicKey"], rotated["publicKey"]);

    // The live rotation left the test environment's key alone.
    let test_keys = app.key_set(&app.account_id, "?environment=test").await;
    assert_eq!(test_keys.len(), 1);
}

#[tokio::test]
async fn rotating_needs_products_write_and_listing_products_read() {
    let app = spawn_app().await;
    let reader = app
        .create(
            "/api/v1/api-keys",
            json!({ "name": "reader", "scopes": ["products:read"] }),
        )
        .await;
    let reader = reader["key"].as_str().unwrap();
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/signing-keys/rotate",
            Auth::Bearer(reader),
            None,
        )
        .await;
    assert_eq!(error_code(status, &body, 403), "forbidden");
    let (status, _) = app
        .call(
            Method::GET,
            "/api/v1/signing-keys",
            Auth::Bearer(reader),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let unrelated = app
        .create(
            "/api/v1/api-keys",
            json!({ "name": "licenses", "scopes": ["licenses:read"] }),
        )
        .await;
    let (status, body) = app
        .call(
            Method::GET,
            "/api/v1/signing-keys",
            Auth::Bearer(unrelated["key"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(error_code(status, &body, 403), "forbidden");
    let (status, body) = app
        .call(Method::GET, "/api/v1/signing-keys", Auth::None, None)
        .await;
    assert_eq!(error_code(status, &body, 401), "unauthorized");
}

#[tokio::test]
async fn the_private_key_is_sealed_in_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("licentric.db");
    let pool = db::connect(path.to_str().unwrap()).await.unwrap();
    let created = provision(
        &pool,
        &ProvisionOptions {
            account_name: "Sealed".into(),
            demo: true,
        },
        start_time(),
    )
    .await
    .unwrap();
    let secret = ServerSecret::from_text(
        "a server secret of more than thirty-two characters",
        SecretOrigin::Environment,
    )
    .unwrap();
    let settings = Settings {
        secret: secret.clone(),
        ..Settings::default()
    };
    let state = AppState::with_settings(
        pool.clone(),
        Arc::new(ManualClock::new(start_time())),
        settings,
    );
    let server = Application::with_state("127.0.0.1:0".parse().unwrap(), state)
        .await
        .unwrap()
        .spawn();
    // Make the server create and use the key: a product answer shows it.
    let product: Value = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/products/{}",
            server.base_url(),
            created.demo.as_ref().unwrap().product_id
        ))
        .bearer_auth(&created.api_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    server.stop().await.unwrap();

    let tenant = Tenant {
        account_id: created.account_id.clone(),
        environment: Environment::Live,
    };
    let row = db::signing_keys::active(&pool, &tenant)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.kid, product["signingKey"]["keyId"].as_str().unwrap());
    let key = signing::unseal(&secret, &row).expect("the right secret unseals it");
    assert_eq!(
        key.public_key().to_base64url(),
        product["signingKey"]["publicKey"].as_str().unwrap()
    );
    let seed = key.to_secret_seed();
    pool.close().await;

    let mut files = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        files += 1;
        assert!(
            !bytes.windows(seed.len()).any(|w| w == seed),
            "the seed is in a file in clear"
        );
    }
    assert!(files >= 1);
    // And a wrong secret cannot unseal it.
    let wrong = ServerSecret::from_text(
        "another server secret of more than thirty-two chars",
        SecretOrigin::Environment,
    )
    .unwrap();
    assert!(signing::unseal(&wrong, &row).is_none());
    assert!(format!("{row:?}").contains(&row.kid));
    assert!(!format!("{secret:?}{row:?}").contains("thirty-two"));
}

#[tokio::test]
async fn concurrent_first_uses_settle_on_one_key() {
    let app = spawn_app().await;
    let url = app.url(&format!("/api/v1/products/{}", app.demo.product_id));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (http, url, key) = (app.http.clone(), url.clone(), app.api_key.clone());
            tokio::spawn(async move {
                let response = http.get(url).bearer_auth(key).send().await.unwrap();
                assert_eq!(response.status(), 200);
                response.json::<Value>().await.unwrap()
            })
        })
        .collect();
    let mut kids = Vec::new();
    for task in tasks {
        kids.push(task.await.unwrap()["signingKey"]["keyId"].clone());
    }
    assert!(kids.iter().all(|kid| *kid == kids[0]), "{kids:?}");
    let stored = app.scalar("SELECT count(*) FROM signing_keys", &[]).await;
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn with_an_ephemeral_secret_keys_of_an_earlier_process_are_replaced_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("licentric.db");
    let pool = db::connect(path.to_str().unwrap()).await.unwrap();
    let created = provision(
        &pool,
        &ProvisionOptions {
            account_name: "Restarted".into(),
            demo: true,
        },
        start_time(),
    )
    .await
    .unwrap();
    let tenant = Tenant {
        account_id: created.account_id.clone(),
        environment: Environment::Live,
    };
    // An earlier process, with its own ephemeral secret, made the key.
    let earlier = ServerSecret::ephemeral();
    let old_kid = signing::ensure_key(&pool, &earlier, &tenant, start_time())
        .await
        .unwrap();

    let state = AppState::new(pool.clone(), Arc::new(ManualClock::new(start_time())));
    let server = Application::with_state("127.0.0.1:0".parse().unwrap(), state)
        .await
        .expect("an ephemeral secret does not refuse to start")
        .spawn();
    let base = server.base_url();
    let product: Value = reqwest::Client::new()
        .get(format!(
            "{base}/api/v1/products/{}",
            created.demo.as_ref().unwrap().product_id
        ))
        .bearer_auth(&created.api_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_kid = product["signingKey"]["keyId"].as_str().unwrap();
    assert_ne!(new_kid, old_kid);
    let jwks: Value = reqwest::get(format!(
        "{base}/api/v1/accounts/{}/jwks.json",
        created.account_id
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&old_kid.as_str()) && kids.contains(&new_kid),
        "{jwks}"
    );
    // A configured secret that does not match refuses, in process too.
    let configured = ServerSecret::from_text(
        "a configured secret that is not the earlier one",
        SecretOrigin::Environment,
    )
    .unwrap();
    let state = AppState::with_settings(
        pool.clone(),
        Arc::new(ManualClock::new(start_time())),
        Settings {
            secret: configured,
            ..Settings::default()
        },
    );
    let error = Application::with_state("127.0.0.1:0".parse().unwrap(), state)
        .await
        .unwrap_err();
    assert!(
        format!("{error:#}").contains("cannot unseal signing key"),
        "{error:#}"
    );
}
