//! The shipped example (`examples/license_check.rs`) run as a vendor would run it,
//! against the real server: it exits 0 when licensed and says why when not.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;

use support::Server;

fn example_binary() -> PathBuf {
    // Cargo builds examples beside the test binaries: target/<profile>/examples/.
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_owned();
    deps.parent()
        .unwrap()
        .join("examples")
        .join("license_check")
}

async fn run(server: &Server, storage: &std::path::Path, key: Option<&str>) -> (i32, String) {
    let mut command = tokio::process::Command::new(example_binary());
    command
        .env("LICENTRIC_SERVER_URL", server.url())
        .env("LICENTRIC_PRODUCT_ID", &server.demo.product_id)
        .env("LICENTRIC_PRODUCT_SALT", support::SALT)
        .env("LICENTRIC_PUBLIC_KEY", server.jwks().await)
        .env("LICENTRIC_STORAGE_DIR", storage)
        // No keyring in this process's environment: the example falls back to a file.
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .env_remove("LICENTRIC_LICENSE_KEY");
    if let Some(key) = key {
        command.env("LICENTRIC_LICENSE_KEY", key);
    }
    // Asynchronously: the server under test runs on this test's runtime.
    let output = command.output().await.unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[tokio::test]
async fn the_example_activates_runs_licensed_and_explains_a_refusal() {
    let server = Server::start().await;
    let storage = tempfile::tempdir().unwrap();

    let (code, out) = run(&server, storage.path(), None).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("error: not_activated"), "{out}");

    let (code, out) = run(&server, storage.path(), Some(&server.demo.license_key)).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Activated.") && out.contains("Machines: 1/3"),
        "{out}"
    );
    assert!(out.contains("status: active"), "{out}");

    let (code, out) = run(&server, storage.path(), None).await;
    assert_eq!(
        code, 0,
        "a later run is licensed from the stored key: {out}"
    );

    server
        .admin()
        .revoke_license(&server.demo.license_id)
        .await
        .unwrap();
    let (code, out) = run(&server, storage.path(), None).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("revoked") && out.contains("error: revoked"),
        "{out}"
    );
}
