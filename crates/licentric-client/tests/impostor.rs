//! `LicenseClient` against impostor license servers (issue 12, fault 7): a machine whose
//! license the vendor revoked is pointed at a fake server on loopback, as a hosts-file
//! entry would, that answers `VALID` unsigned, replays a genuine earlier answer, or signs
//! with another key. Each is refused as `invalid_token`, and none changes what is cached.

#![allow(clippy::unwrap_used)]

mod support;

use std::{
    path::Path,
    sync::{Arc, Mutex},
};

use axum::{routing::post, Json, Router};
use chrono::Duration;
use licentric_client::{LicenseClient, LicenseErrorCode, Standing};
use licentric_core::{
    dangerous, issue_token, AccountSigningKey, LicenseStatus, PublicKeySet, TokenClaims,
};
use serde_json::{json, Value};
use support::Server;

/// A fake license server: a real HTTP server on 127.0.0.1 that answers `validate-key` with
/// whatever `answer` makes of the request body. It stops when dropped.
struct Impostor {
    url: String,
    requests: Arc<Mutex<Vec<Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Impostor {
    async fn start(answer: impl Fn(&Value) -> Value + Send + Sync + 'static) -> Self {
        let answer = Arc::new(answer);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let app = Router::new().route(
            "/api/v1/licenses/validate-key",
            post(move |Json(body): Json<Value>| {
                let answer = answer.clone();
                let seen = seen.clone();
                async move {
                    let reply = answer(&body);
                    seen.lock().unwrap().push(body);
                    Json(reply)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            url,
            requests,
            task,
        }
    }

    fn nonces(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| r["nonce"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

impl Drop for Impostor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const MACHINE: &str = "machine-a";

/// What the real server would answer for an active license, minus the proof.
fn unsigned_valid(server: &Server) -> Value {
    json!({
        "valid": true,
        "code": "VALID",
        "license": {
            "id": server.demo.license_id,
            "status": "active",
            "productId": server.demo.product_id,
            "policyId": server.demo.policy_id,
            "expiresAt": server.demo.license_expires_at,
        },
        "machine": null,
        "entitlements": [],
        "serverTime": server.now(),
        "token": null,
    })
}

/// Activates the demo license on `MACHINE`, records a genuine answer of the real server
/// (to an earlier request, with its own nonce), then revokes the license, as in the issue.
async fn revoked_machine(server: &Server, storage: &Path) -> Value {
    let client = server.client(MACHINE, storage).await;
    client.activate(&server.demo.license_key).await.unwrap();
    assert!(client.check_license().await);
    let fingerprint = client.fingerprint().unwrap();
    let earlier = reqwest::Client::new()
        .post(format!("{}/api/v1/licenses/validate-key", server.url()))
        .json(&json!({
            "key": server.demo.license_key,
            "fingerprint": fingerprint,
            "nonce": "an-earlier-request-0001",
        }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(earlier["code"], "VALID");
    let claims = dangerous::decode_token_unverified(earlier["token"].as_str().unwrap()).unwrap();
    assert_eq!(claims.nonce.as_deref(), Some("an-earlier-request-0001"));

    server
        .admin()
        .revoke_license(&server.demo.license_id)
        .await
        .unwrap();
    assert!(!client.check_license().await);
    assert_eq!(client.get_error().unwrap().code, LicenseErrorCode::Revoked);
    earlier
}

/// What the issue saw: `check_license()` true and `get_status()` `active`. Now refused.
fn assert_refused(client: &LicenseClient, says: &str) {
    let error = client.get_error().unwrap();
    assert_eq!(error.code, LicenseErrorCode::InvalidToken, "{error:?}");
    assert!(error.message.contains(says), "{}", error.message);
    assert!(
        error.message.contains("Check the license server address"),
        "{}",
        error.message
    );
    assert_ne!(client.get_status().as_deref(), Some("active"));
    assert_eq!(
        client.get_license_info().unwrap().standing,
        Some(Standing::NotLicensed)
    );
}

#[tokio::test]
async fn an_unsigned_valid_does_not_license_a_revoked_machine() {
    let server = Server::start().await;
    let storage = tempfile::tempdir().unwrap();
    revoked_machine(&server, storage.path()).await;

    let answer = unsigned_valid(&server);
    let impostor = Impostor::start(move |_| answer.clone()).await;
    let client = server
        .client_at(&impostor.url, MACHINE, storage.path())
        .await;
    assert!(!client.check_license().await);
    assert_refused(&client, "without a token signed by the vendor's key");
    assert!(!storage.path().join("license.dat").exists());
}

#[tokio::test]
async fn a_replayed_genuine_answer_does_not_license_a_revoked_machine() {
    let server = Server::start().await;
    let storage = tempfile::tempdir().unwrap();
    let earlier = revoked_machine(&server, storage.path()).await;

    let impostor = Impostor::start(move |_| earlier.clone()).await;
    let client = server
        .client_at(&impostor.url, MACHINE, storage.path())
        .await;
    assert!(!client.check_license().await);
    assert_refused(&client, "does not answer this request");
    assert!(!storage.path().join("license.dat").exists());
    // Each check asks with a fresh nonce, so no recording can answer the next one.
    assert!(!client.check_license().await);
    let nonces = impostor.nonces();
    assert_eq!(nonces.len(), 2);
    assert_ne!(nonces[0], nonces[1]);
    assert!(nonces[0].len() >= 16, "{nonces:?}");
}

#[tokio::test]
async fn an_answer_signed_with_another_key_does_not_license_a_revoked_machine() {
    let server = Server::start().await;
    let storage = tempfile::tempdir().unwrap();
    revoked_machine(&server, storage.path()).await;
    let jwks: licentric_core::Jwks = serde_json::from_str(&server.jwks().await).unwrap();
    let genuine_kid = PublicKeySet::from_jwks(&jwks)
        .unwrap()
        .iter()
        .next()
        .unwrap()
        .key_id()
        .to_owned();

    // Everything right (product, machine, this request's nonce) but the key: under its
    // own key id, and under the vendor's.
    let own = AccountSigningKey::generate(&mut rand::rngs::OsRng);
    let posing = AccountSigningKey::generate(&mut rand::rngs::OsRng)
        .with_key_id(&genuine_kid)
        .unwrap();
    for (key, says) in [(own, "UNKNOWN_KEY_ID"), (posing, "BAD_SIGNATURE")] {
        let (base, product_id, license_id, now) = (
            unsigned_valid(&server),
            server.demo.product_id.clone(),
            server.demo.license_id.clone(),
            server.now(),
        );
        let impostor = Impostor::start(move |request| {
            let claims = TokenClaims {
                license_id: license_id.clone(),
                product_id: product_id.clone(),
                issued_at: now,
                not_before: now,
                expires_at: now + Duration::days(30),
                fingerprint: request["fingerprint"].as_str().unwrap().to_owned(),
                machine_id: None,
                status: LicenseStatus::Active,
                entitlements: vec![],
                license_expires_at: None,
                grace_days: 7,
                offline_max_days: 30,
                nonce: request["nonce"].as_str().map(str::to_owned),
            };
            let mut answer = base.clone();
            answer["token"] = issue_token(&claims, &key).unwrap().into();
            answer
        })
        .await;
        let client = server
            .client_at(&impostor.url, MACHINE, storage.path())
            .await;
        assert!(!client.check_license().await);
        assert_refused(&client, "not signed by the vendor's key");
        assert_refused(&client, says);
        assert!(!storage.path().join("license.dat").exists());
    }
}

#[tokio::test]
async fn a_refused_answer_keeps_the_cached_token_and_trusted_time() {
    let mut server = Server::start().await;
    let storage = tempfile::tempdir().unwrap();
    let client = server.client(MACHINE, storage.path()).await;
    client.activate(&server.demo.license_key).await.unwrap();
    let cached = std::fs::read(storage.path().join("license.dat")).unwrap();
    let genuine_check = server.now();
    let answer = unsigned_valid(&server);
    let granting = Impostor::start(move |_| answer.clone()).await;
    let fooled = server
        .client_at(&granting.url, MACHINE, storage.path())
        .await;
    let mut expired = unsigned_valid(&server);
    expired["valid"] = false.into();
    expired["code"] = "EXPIRED".into();
    let denying = Impostor::start(move |_| expired.clone()).await;
    let denied = server
        .client_at(&denying.url, MACHINE, storage.path())
        .await;

    // Five days offline: the app runs, and trusted time follows the clock.
    server.down().await;
    server.clock.advance(Duration::days(5));
    assert!(client.check_license().await);
    assert_eq!(
        client.get_license_info().unwrap().standing,
        Some(Standing::Offline)
    );

    assert!(!fooled.check_license().await);
    assert_eq!(
        std::fs::read(storage.path().join("license.dat")).unwrap(),
        cached,
        "the refused answer did not replace the cached token"
    );

    // A denial is believed unsigned, but its unsigned server time (five days back) is not:
    // it cannot wind trusted time back to hide a clock turned back afterwards.
    assert!(!denied.check_license().await);
    assert_eq!(denied.get_error().unwrap().code, LicenseErrorCode::Expired);
    drop(denying);
    server.clock.set(genuine_check + Duration::days(1));
    assert!(!denied.check_license().await, "offline, clock set back");
    assert_eq!(
        denied.get_error().unwrap().code,
        LicenseErrorCode::ClockTampered
    );

    // The genuine server still licenses the machine.
    server.clock.set(genuine_check + Duration::days(5));
    server.up().await;
    assert!(client.check_license().await);
    assert_eq!(client.get_status().as_deref(), Some("active"));
}

#[tokio::test]
async fn without_a_pinned_key_nothing_is_licensed_unless_the_vendor_opts_out() {
    let server = Server::start().await;
    let storage = tempfile::tempdir().unwrap();
    let machine = Arc::new(licentric_client::FixedMachine {
        id: MACHINE.into(),
        platform: licentric_core::wire::Platform::Linux,
        name: None,
    });
    let builder = || {
        LicenseClient::builder(&server.url(), &server.demo.product_id, support::SALT)
            .storage_dir(storage.path())
            .clock(Arc::new(server.clock.clone()))
            .machine(machine.clone())
            .key_storage(licentric_client::KeyStorage::FileOnly)
    };

    let keyless = builder().build().unwrap();
    let error = keyless
        .activate(&server.demo.license_key)
        .await
        .unwrap_err();
    assert_eq!(error.code, LicenseErrorCode::InvalidToken);
    assert!(
        error.message.contains("pins no public key"),
        "{}",
        error.message
    );
    assert!(!keyless.check_license().await);
    assert_ne!(keyless.get_status().as_deref(), Some("active"));

    let trusting = builder()
        .dangerously_skip_signature_verification()
        .build()
        .unwrap();
    assert!(trusting.check_license().await);
    assert_eq!(trusting.get_status().as_deref(), Some("active"));
}
