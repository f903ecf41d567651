//! The documentation's curl examples (seed 001), replayed verbatim with the real `curl`;
//! only the host and the placeholder API key are replaced.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

const HOST: &str = "https://your-instance.licentric.com";

async fn curl(app: &TestApp, command: &str) -> Value {
    let command = command
        .replace(HOST, &app.base_url)
        .replace("lk_live_abc123def456...", &app.api_key);
    // -s: no progress meter; the seeds' lines are otherwise unchanged.
    let command = command.replacen("curl ", "curl -s ", 1);
    // Asynchronously: the server under test runs on this test's runtime.
    let output = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(&command)
        .output()
        .await
        .expect("curl runs");
    assert!(
        output.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{command}: {e}: {:?}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[tokio::test]
async fn the_seed_001_curl_examples_work_against_the_server() {
    let app = spawn_app().await;
    // The license the examples use: PROAPP-A1B2-C3D4-E5F6-G7H8, expiring 2027-01-01, with
    // the export_pdf entitlement.
    app.create("/api/v1/entitlements", json!({ "code": "export_pdf" }))
        .await;
    let license = app
        .license_with_policy(
            json!({ "floating": true, "maxMachines": 3, "entitlements": ["export_pdf"] }),
        )
        .await;
    let (status, _) = app
        .admin(
            Method::DELETE,
            &format!("/api/v1/licenses/{}", license["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let license = app
        .create(
            "/api/v1/licenses",
            json!({ "policyId": license["policyId"], "key": "PROAPP-A1B2-C3D4-E5F6-G7H8", "expiresAt": "2027-01-01T00:00:00Z" }),
        )
        .await;

    let listed = curl(
        &app,
        r#"curl -X GET https://your-instance.licentric.com/api/v1/licenses \
-H "Authorization: Bearer lk_live_abc123def456...""#,
    )
    .await;
    assert!(
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["key"] == "PROAPP-A1B2-C3D4-E5F6-G7H8"),
        "{listed}"
    );

    let machine = curl(
        &app,
        r#"curl -X POST https://your-instance.licentric.com/api/v1/machines \
-H "Authorization: License PROAPP-A1B2-C3D4-E5F6-G7H8" \
-H "Content-Type: application/json" \
-d '{
"fingerprint": "ab12cd34ef56",
"name": "Workstation-1"
}'"#,
    )
    .await;
    assert_eq!(machine["fingerprint"], "ab12cd34ef56");
    assert_eq!(machine["name"], "Workstation-1");

    let validation = curl(
        &app,
        r#"curl -X POST https://your-instance.licentric.com/api/v1/licenses/validate-key \
-H "Content-Type: application/json" \
-d '{
"key": "PROAPP-A1B2-C3D4-E5F6-G7H8",
"fingerprint": "ab12cd34ef56",
"entitlements": ["export_pdf"]
}'"#,
    )
    .await;
    // The seed's answer, field for field.
    assert_eq!(validation["valid"], true);
    assert_eq!(validation["code"], "VALID");
    assert_eq!(validation["license"]["id"], license["id"]);
    assert_eq!(validation["license"]["status"], "active");
    assert_eq!(validation["license"]["expiresAt"], "2027-01-01T00:00:00Z");
}
