//! Offline licensing: seed 003's offline file, seed 000's checkout, and the offline
//! activation round trip, each verified the way an application would, with the JWKS
//! fetched over HTTP.

use chrono::{DateTime, Duration, Utc};
use licentric_core::{
    verify_license_file, wire::Platform, ActivationRequest, LicenseKey, LicensePayload,
    LicenseReference, OfflineRefusal, PublicKeySet, TrustedTime,
};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app, start_time, Auth, TestApp};

/// Verifies a `.lic` text for `fingerprint` at the server's current time.
async fn verify(
    app: &TestApp,
    file: &str,
    product_id: &str,
    fingerprint: &str,
) -> Result<LicensePayload, OfflineRefusal> {
    let keys: PublicKeySet = app.key_set(&app.account_id, "").await;
    let now = app.clock_now();
    verify_license_file(
        file,
        &keys,
        product_id,
        fingerprint,
        now,
        &TrustedTime::new(now),
    )
    .map(licentric_core::VerifiedLicenseFile::into_payload)
}

/// POSTs to `/licenses/{id}/offline-file` with the admin key and an optional JSON body;
/// returns the status, the headers and the body text.
async fn offline_file(
    app: &TestApp,
    license_id: &str,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut request = app
        .http
        .post(app.url(&format!("/api/v1/licenses/{license_id}/offline-file")))
        .bearer_auth(&app.api_key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn time(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

#[tokio::test]
async fn the_seed_003_curl_line_downloads_a_file_that_verifies_for_the_licenses_machine() {
    let app = spawn_app().await;
    let (_, machine) = app.activate(&app.demo.license_key, "fp-seed-003-01").await;
    let dir = tempfile::tempdir().unwrap();
    // Seed 003, verbatim but for the host, the license id, the key and -s.
    let seed = r#"curl -X POST /api/v1/licenses/{id}/offline-file \
-H "Authorization: Bearer lk_live_..." \
-o license.lic"#;
    let command = seed
        .replace("/api/v1/", &format!("{}/api/v1/", app.base_url))
        .replace("{id}", &app.demo.license_id)
        .replace("lk_live_...", &app.api_key)
        .replacen("curl ", "curl -s ", 1);
    // Asynchronously: the server under test runs on this test's runtime.
    let output = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(&command)
        .current_dir(dir.path())
        .output()
        .await
        .expect("curl runs");
    assert!(
        output.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let file = std::fs::read_to_string(dir.path().join("license.lic")).unwrap();
    assert!(
        file.starts_with("-----BEGIN LICENTRIC LICENSE FILE-----\n"),
        "{file}"
    );

    let payload = verify(&app, &file, &app.demo.product_id, "fp-seed-003-01")
        .await
        .unwrap();
    assert_eq!(payload.license_id, app.demo.license_id);
    assert_eq!(payload.account_id, app.account_id);
    assert_eq!(payload.machine_id.as_deref(), machine["id"].as_str());
    assert_eq!(payload.max_machines, Some(3));
    assert_eq!(payload.offline_max_days, 14);
    assert_eq!(payload.grace_days, 7);
    assert_eq!(payload.issued_at, start_time());
    assert_eq!(payload.expires_at, start_time() + Duration::days(14));
    assert_eq!(
        payload.license_expires_at,
        Some(app.demo.license_expires_at)
    );
    assert_eq!(
        verify(&app, &file, &app.demo.product_id, "fp-somebody-else")
            .await
            .unwrap_err(),
        OfflineRefusal::WrongMachine
    );
    assert_eq!(
        verify(&app, &file, "another-product", "fp-seed-003-01")
            .await
            .unwrap_err(),
        OfflineRefusal::WrongProduct
    );

    // The same request over HTTP: the file is an attachment named license.lic.
    let (status, headers, _) = offline_file(&app, &app.demo.license_id, None).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/x-licentric-license");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"license.lic\""
    );
}

#[tokio::test]
async fn without_a_fingerprint_the_file_needs_exactly_one_machine() {
    let app = spawn_app().await;
    let id = app.demo.license_id.clone();
    let (status, _, body) = offline_file(&app, &id, None).await;
    assert_eq!(status, 400, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error_code(400, &body, 400), "fingerprint_required");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("\"fingerprint\""), "{message}");
    assert!(body["error"]["details"]["fingerprint"].is_string());

    app.activate(&app.demo.license_key, "fp-one-000001").await;
    app.activate(&app.demo.license_key, "fp-two-000002").await;
    let (status, _, body) = offline_file(&app, &id, None).await;
    assert_eq!(status, 400);
    assert!(body.contains("2 activated machines"), "{body}");
    let (status, _, file) = offline_file(&app, &id, Some(json!({}))).await;
    assert_eq!(status, 400, "{file}");

    // Named, the file is bound to that machine; an unactivated fingerprint gets a file
    // that names no machine id.
    let (status, _, file) =
        offline_file(&app, &id, Some(json!({ "fingerprint": "fp-two-000002" }))).await;
    assert_eq!(status, 200);
    let payload = verify(&app, &file, &app.demo.product_id, "fp-two-000002")
        .await
        .unwrap();
    assert!(payload.machine_id.is_some());
    let (status, _, file) =
        offline_file(&app, &id, Some(json!({ "fingerprint": "fp-air-gapped-3" }))).await;
    assert_eq!(status, 200);
    let payload = verify(&app, &file, &app.demo.product_id, "fp-air-gapped-3")
        .await
        .unwrap();
    assert_eq!(payload.machine_id, None);

    for (body, field) in [
        (json!({ "fingerprint": "short" }), "fingerprint"),
        (json!({ "fingerprint": "fp-two-000002", "ttl": 60 }), "ttl"),
        (json!({ "fingerprint": "fp-two-000002", "ttl": -1 }), "ttl"),
        (
            json!({ "fingerprint": "fp-two-000002", "tll": 3600 }),
            "tll",
        ),
    ] {
        let (status, _, answer) = offline_file(&app, &id, Some(body.clone())).await;
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(
            error_code(status, &answer, 400),
            "invalid_request",
            "{body}"
        );
        let details = answer["error"]["details"].as_object().unwrap();
        assert!(
            details.keys().any(|k| k.contains(field)),
            "{body} -> {answer}"
        );
    }
}

#[tokio::test]
async fn a_file_lasts_its_ttl_but_never_past_offline_max_days_or_the_license() {
    let app = spawn_app().await;
    let license = app
        .license_with_policy(json!({ "offlineMaxDays": 5, "floating": true, "maxMachines": 2 }))
        .await;
    let id = license["id"].as_str().unwrap().to_owned();
    let product = license["productId"].as_str().unwrap().to_owned();
    let fp = json!("fp-bounded-0001");

    // The default (14 days) is cut to the policy's 5 days.
    let (status, _, file) = offline_file(&app, &id, Some(json!({ "fingerprint": fp }))).await;
    assert_eq!(status, 200, "{file}");
    let payload = verify(&app, &file, &product, "fp-bounded-0001")
        .await
        .unwrap();
    assert_eq!(payload.expires_at, start_time() + Duration::days(5));

    // One hour, asked for.
    let (_, _, file) =
        offline_file(&app, &id, Some(json!({ "fingerprint": fp, "ttl": 3600 }))).await;
    let payload = verify(&app, &file, &product, "fp-bounded-0001")
        .await
        .unwrap();
    assert_eq!(payload.expires_at, start_time() + Duration::hours(1));

    // More than the policy allows is refused, not silently cut.
    let (status, _, body) = offline_file(
        &app,
        &id,
        Some(json!({ "fingerprint": fp, "ttl": 5 * 86400 + 1 })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("offlineMaxDays"), "{body}");

    // A license ending in two days bounds the file.
    let license_end = time("2026-03-03T12:00:00Z");
    app.admin(
        Method::PATCH,
        &format!("/api/v1/licenses/{id}"),
        Some(json!({ "expiresAt": license_end })),
    )
    .await;
    let (_, _, file) = offline_file(&app, &id, Some(json!({ "fingerprint": fp }))).await;
    let payload = verify(&app, &file, &product, "fp-bounded-0001")
        .await
        .unwrap();
    assert_eq!(payload.expires_at, license_end);
    assert_eq!(payload.license_expires_at, Some(license_end));

    // Once the license has expired there is no file.
    app.clock.advance(Duration::days(3));
    let (status, _, body) = offline_file(&app, &id, Some(json!({ "fingerprint": fp }))).await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error_code(status, &body, 409), "license_expired");
}

#[tokio::test]
async fn suspended_revoked_and_banned_licenses_get_no_file_and_others_see_404() {
    let app = spawn_app().await;
    let id = app.demo.license_id.clone();
    let body = json!({ "fingerprint": "fp-refused-001" });
    for status_name in ["suspended", "revoked", "banned"] {
        app.set_license_status(status_name).await;
        let (status, _, answer) = offline_file(&app, &id, Some(body.clone())).await;
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(
            error_code(status, &answer, 409),
            format!("license_{status_name}")
        );
        let (status, answer) = app
            .admin(
                Method::POST,
                &format!("/api/v1/licenses/{id}/checkout"),
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            error_code(status, &answer, 409),
            format!("license_{status_name}")
        );
    }

    let (other_key, _) = app.other_account().await;
    for path in [
        format!("/api/v1/licenses/{}/offline-file", app.demo.license_id),
        format!("/api/v1/licenses/{}/checkout", app.demo.license_id),
    ] {
        let (status, answer) = app
            .call(
                Method::POST,
                &path,
                Auth::Bearer(&other_key),
                Some(body.clone()),
            )
            .await;
        assert_eq!(error_code(status, &answer, 404), "not_found");
    }

    let machines_only = app
        .create(
            "/api/v1/api-keys",
            json!({ "name": "m", "scopes": ["machines:read"] }),
        )
        .await;
    let (status, answer) = app
        .call(
            Method::POST,
            &format!("/api/v1/licenses/{id}/offline-file"),
            Auth::Bearer(machines_only["key"].as_str().unwrap()),
            Some(body.clone()),
        )
        .await;
    assert_eq!(error_code(status, &answer, 403), "forbidden");
    let (status, answer) = app
        .call(
            Method::POST,
            &format!("/api/v1/licenses/{id}/offline-file"),
            Auth::License(&app.demo.license_key),
            None,
        )
        .await;
    assert_eq!(error_code(status, &answer, 401), "unauthorized");
}

#[tokio::test]
async fn checkout_answers_seed_000s_license_file_and_bounds_its_ttl() {
    let app = spawn_app().await;
    let path = format!("/api/v1/licenses/{}/checkout", app.demo.license_id);
    let (status, checkout) = app
        .admin(
            Method::POST,
            &path,
            Some(json!({ "fingerprint": "abc123def456" })),
        )
        .await;
    assert_eq!(status, 200, "{checkout}");
    assert_eq!(checkout["fingerprint"], "abc123def456");
    assert_eq!(checkout["ttl"], 1_209_600);
    assert_eq!(checkout["license"]["id"], app.demo.license_id.as_str());
    assert_eq!(checkout["license"]["status"], "active");
    let payload = verify(
        &app,
        checkout["certificate"].as_str().unwrap(),
        &app.demo.product_id,
        "abc123def456",
    )
    .await
    .unwrap();
    assert_eq!(
        payload.expires_at,
        start_time() + Duration::seconds(1_209_600)
    );

    let (status, short) = app
        .admin(
            Method::POST,
            &path,
            Some(json!({ "fingerprint": "abc123def456", "ttl": 3600 })),
        )
        .await;
    assert_eq!((status, &short["ttl"]), (200, &json!(3600)));

    // The demo policy allows 14 days offline: 14 days is the most.
    for (ttl, problem) in [(3599, "at least 3600"), (14 * 86400 + 1, "at most 1209600")] {
        let (status, answer) = app
            .admin(
                Method::POST,
                &path,
                Some(json!({ "fingerprint": "abc123def456", "ttl": ttl })),
            )
            .await;
        assert_eq!(error_code(status, &answer, 400), "invalid_request");
        let detail = answer["error"]["details"]["ttl"].as_str().unwrap();
        assert!(detail.contains(problem), "{ttl}: {detail}");
    }
    let (status, answer) = app
        .admin(Method::POST, &path, Some(json!({ "ttl": 3600 })))
        .await;
    assert_eq!(error_code(status, &answer, 400), "invalid_request");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("missing field `fingerprint`"), "{message}");

    // A license ending sooner shortens the ttl reported.
    let end = start_time() + Duration::days(2);
    app.admin(
        Method::PATCH,
        &format!("/api/v1/licenses/{}", app.demo.license_id),
        Some(json!({ "expiresAt": end })),
    )
    .await;
    let (_, bounded) = app
        .admin(
            Method::POST,
            &path,
            Some(json!({ "fingerprint": "abc123def456" })),
        )
        .await;
    assert_eq!(bounded["ttl"], 2 * 86400);
}

fn request_text(fingerprint: &str, license: LicenseReference) -> String {
    ActivationRequest::new(
        fingerprint,
        license,
        "render-node-07",
        Platform::Linux,
        start_time(),
    )
    .unwrap()
    .to_text()
}

async fn offline_activate(app: &TestApp, key: &str, body: Value) -> (u16, Value) {
    app.call(
        Method::POST,
        "/api/v1/licenses/offline-activations",
        Auth::Bearer(key),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn an_offline_activation_request_becomes_a_machine_and_a_file_bound_to_it() {
    let app = spawn_app().await;
    let fp = "39ef6df96c01d3dc19d3e62039d40604e702eee99fbbdc3a4fba553aed1291dd";
    let key = LicenseKey::parse(&app.demo.license_key).unwrap();
    let text = request_text(fp, LicenseReference::Key(key));
    // Mail programs wrap long lines: the text still reads.
    let wrapped: String = text
        .as_bytes()
        .chunks(60)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join("\n  ");

    let (status, answer) =
        offline_activate(&app, &app.api_key, json!({ "request": wrapped })).await;
    assert_eq!(status, 201, "{answer}");
    let machine = &answer["machine"];
    assert_eq!(machine["fingerprint"], fp);
    assert_eq!(machine["name"], "render-node-07");
    assert_eq!(machine["platform"], "linux");
    assert_eq!(machine["licenseId"], app.demo.license_id.as_str());
    assert_eq!(answer["license"]["machinesCount"], 1);
    let payload = verify(
        &app,
        answer["certificate"].as_str().unwrap(),
        &app.demo.product_id,
        fp,
    )
    .await
    .unwrap();
    assert_eq!(payload.machine_id.as_deref(), machine["id"].as_str());
    assert_eq!(payload.expires_at, start_time() + Duration::days(14));
    assert_eq!(
        verify(
            &app,
            answer["certificate"].as_str().unwrap(),
            &app.demo.product_id,
            "another-machine"
        )
        .await
        .unwrap_err(),
        OfflineRefusal::WrongMachine
    );

    // The same request again finds the same machine.
    let (status, again) = offline_activate(&app, &app.api_key, json!({ "request": text })).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["machine"]["id"], machine["id"]);
    assert_eq!(again["license"]["machinesCount"], 1);

    // By license id, with a ttl.
    let by_id = request_text(
        "fp-by-id-000001",
        LicenseReference::Id(app.demo.license_id.clone()),
    );
    let (status, answer) =
        offline_activate(&app, &app.api_key, json!({ "request": by_id, "ttl": 7200 })).await;
    assert_eq!(status, 201, "{answer}");
    let payload = verify(
        &app,
        answer["certificate"].as_str().unwrap(),
        &app.demo.product_id,
        "fp-by-id-000001",
    )
    .await
    .unwrap();
    assert_eq!(payload.expires_at, start_time() + Duration::hours(2));

    // Recorded like an online activation.
    let (_, activations) = app
        .admin(Method::GET, "/api/v1/analytics/activations", None)
        .await;
    assert_eq!(activations["data"][0]["activations"], 2, "{activations}");
}

#[tokio::test]
async fn offline_activation_refuses_a_full_license_a_bad_request_and_other_tenants() {
    let app = spawn_app().await;
    // A node-locked license: one machine.
    let license = app.license_with_policy(json!({})).await;
    let key = license["key"].as_str().unwrap();
    app.activate(key, "fp-first-00001").await;
    let text = request_text(
        "fp-second-0002",
        LicenseReference::Key(LicenseKey::parse(key).unwrap()),
    );
    let (status, answer) = offline_activate(&app, &app.api_key, json!({ "request": text })).await;
    assert_eq!(error_code(status, &answer, 409), "machine_limit_exceeded");
    assert_eq!(answer["error"]["details"]["maxMachines"], 1);

    for bad in ["", "hello", "LICENTRIC-REQ1.bm90IGpzb24"] {
        let (status, answer) =
            offline_activate(&app, &app.api_key, json!({ "request": bad })).await;
        assert_eq!(
            error_code(status, &answer, 400),
            "invalid_activation_request",
            "{bad}"
        );
        assert!(answer["error"]["details"]["request"].is_string());
    }

    // Another account's license, by key or by id, does not exist for this account.
    let (other_key, _) = app.other_account().await;
    let by_key = request_text(
        "fp-stranger-001",
        LicenseReference::Key(LicenseKey::parse(&app.demo.license_key).unwrap()),
    );
    let by_id = request_text(
        "fp-stranger-001",
        LicenseReference::Id(app.demo.license_id.clone()),
    );
    for text in [by_key, by_id] {
        let (status, answer) = offline_activate(&app, &other_key, json!({ "request": text })).await;
        assert_eq!(error_code(status, &answer, 404), "not_found");
    }
    // Nor does it in the test environment of the same account.
    let own = request_text(
        "fp-sandbox-0001",
        LicenseReference::Id(app.demo.license_id.clone()),
    );
    let (status, answer) =
        offline_activate(&app, &app.test_api_key, json!({ "request": own })).await;
    assert_eq!(error_code(status, &answer, 404), "not_found");

    // Suspended: refused, as online activation is.
    app.set_license_status("suspended").await;
    let text = request_text(
        "fp-suspended-01",
        LicenseReference::Id(app.demo.license_id.clone()),
    );
    let (status, answer) =
        offline_activate(&app, &app.api_key, json!({ "request": text.clone() })).await;
    assert_eq!(error_code(status, &answer, 409), "license_suspended");

    // Both scopes are needed.
    for scopes in [json!(["machines:write"]), json!(["licenses:read"])] {
        let limited = app
            .create(
                "/api/v1/api-keys",
                json!({ "name": "limited", "scopes": scopes }),
            )
            .await;
        let (status, answer) = offline_activate(
            &app,
            limited["key"].as_str().unwrap(),
            json!({ "request": text }),
        )
        .await;
        assert_eq!(error_code(status, &answer, 403), "forbidden");
    }
}
