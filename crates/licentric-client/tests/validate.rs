//! The SDK against the real server over HTTP on loopback, with a real SQLite file.

// A test that cannot set itself up should stop right there, loudly.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use licentric_client::{Error, Licentric, ValidationCode};
use licentric_core::SystemClock;
use licentric_server::{
    db, provision, AppState, Application, DemoData, ProvisionOptions, RunningServer,
};

struct Server {
    running: RunningServer,
    demo: DemoData,
    _dir: tempfile::TempDir,
}

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = db::connect(dir.path().join("licentric.db").to_str().unwrap())
        .await
        .unwrap();
    let created = provision(
        &db,
        &ProvisionOptions {
            account_name: "SDK tests".into(),
            demo: true,
        },
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let running = Application::with_state(
        "127.0.0.1:0".parse().unwrap(),
        AppState::new(db, Arc::new(SystemClock)),
    )
    .await
    .unwrap()
    .spawn();
    Server {
        running,
        demo: created.demo.unwrap(),
        _dir: dir,
    }
}

fn client(base_url: &str) -> Licentric {
    Licentric::builder().base_url(base_url).build().unwrap()
}

#[tokio::test]
async fn validate_returns_typed_results_for_valid_and_unknown_keys() {
    let server = server().await;
    // A trailing slash on the base URL is fine.
    let client = client(&format!("{}/", server.running.base_url()));
    let result = client
        .validate(&server.demo.license_key, None, &[])
        .await
        .unwrap();
    assert!(result.valid);
    assert_eq!(result.code, ValidationCode::Valid);
    let license = result.license.unwrap();
    assert_eq!(license.id, server.demo.license_id);
    assert_eq!(license.expires_at, Some(server.demo.license_expires_at));

    let unknown = client
        .validate("DEMO-AAAA-BBBB-CCCC-DDDD", None, &[])
        .await
        .unwrap();
    assert!(!unknown.valid);
    assert_eq!(unknown.code, ValidationCode::NotFound);
    assert!(unknown.license.is_none());

    let entitled = client
        .validate(&server.demo.license_key, None, &["export_pdf"])
        .await
        .unwrap();
    assert_eq!(entitled.code, ValidationCode::EntitlementsMissing);
}

#[tokio::test]
async fn a_400_is_a_validation_error_with_the_servers_details() {
    let server = server().await;
    let client = client(&server.running.base_url());
    let error = client
        .validate(&server.demo.license_key, Some("short"), &[])
        .await
        .unwrap_err();
    let Error::Validation(api) = &error else {
        panic!("expected a 400, got {error:?}")
    };
    assert_eq!(api.status, 400);
    assert_eq!(api.code, "invalid_request");
    assert_eq!(
        api.details.as_ref().unwrap()["fingerprint"],
        "must be at least 8 characters"
    );
}

#[tokio::test]
async fn a_stopped_server_is_a_network_error_that_says_what_to_check() {
    let server = server().await;
    let base_url = server.running.base_url();
    server.running.stop().await.unwrap();
    let error = client(&base_url)
        .validate("DEMO-AAAA-BBBB-CCCC-DDDD", None, &[])
        .await
        .unwrap_err();
    let Error::Network { url, reason } = &error else {
        panic!("expected a network error, got {error:?}")
    };
    assert!(url.starts_with(&base_url));
    assert!(reason.to_lowercase().contains("refused"), "{reason}");
    assert!(
        error.to_string().contains("Check the server URL"),
        "{error}"
    );
}
