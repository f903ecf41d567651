//! `/api/v1/machines` and `/api/v1/licenses/me`: activation, slots, heartbeats.

use chrono::Duration;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{error_code, spawn_app, Auth};

#[tokio::test]
async fn activating_the_same_fingerprint_twice_returns_the_same_machine() {
    let app = spawn_app().await;
    let key = app.demo.license_key.as_str();
    let (status, machine) = app.activate(key, "ab12cd34ef56").await;
    assert_eq!(status, 201, "{machine}");
    assert_eq!(machine["fingerprint"], "ab12cd34ef56");
    assert_eq!(machine["platform"], "linux");
    assert_eq!(machine["heartbeatStatus"], "NOT_STARTED");
    assert_eq!(machine["licenseId"], app.demo.license_id.as_str());
    let (status, again) = app.activate(key, "ab12cd34ef56").await;
    assert_eq!(status, 200);
    assert_eq!(again["id"], machine["id"]);

    let (_, body) = app
        .validate(json!({ "key": key, "fingerprint": "ab12cd34ef56" }))
        .await;
    assert_eq!(body["code"], "VALID");
    assert_eq!(body["machine"]["id"], machine["id"]);
}

#[tokio::test]
async fn a_full_license_refuses_with_the_limit_and_a_freed_slot_can_be_reused() {
    let app = spawn_app().await;
    let key = app.demo.license_key.as_str(); // floating, 3 machines
    for fp in ["machine-1", "machine-2", "machine-3"] {
        assert_eq!(app.activate(key, fp).await.0, 201);
    }
    let (status, body) = app.activate(key, "machine-4").await;
    assert_eq!(error_code(status, &body, 409), "machine_limit_exceeded");
    assert_eq!(
        body["error"]["details"],
        json!({ "maxMachines": 3, "machinesUsed": 3 })
    );
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Deactivate"));

    let (status, me) = app
        .call(Method::GET, "/api/v1/licenses/me", Auth::License(key), None)
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (me["machinesUsed"].as_u64(), me["maxMachines"].as_u64()),
        (Some(3), Some(3))
    );
    let first = me["machines"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(me["machines"][0]["fingerprint"], "machine-1");

    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/machines/{first}"),
            Auth::License(key),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(app.activate(key, "machine-4").await.0, 201);
}

#[tokio::test]
async fn a_node_locked_license_takes_one_machine() {
    let app = spawn_app().await;
    let license = app.license_with_policy(json!({})).await;
    let key = license["key"].as_str().unwrap();
    assert_eq!(app.activate(key, "first-machine").await.0, 201);
    let (status, body) = app.activate(key, "second-machine").await;
    assert_eq!(error_code(status, &body, 409), "machine_limit_exceeded");
}

#[tokio::test]
async fn activation_input_is_checked() {
    let app = spawn_app().await;
    let key = app.demo.license_key.as_str();
    let cases = [
        (json!({ "fingerprint": "short" }), "fingerprint"),
        (json!({ "fingerprint": "x".repeat(256) }), "fingerprint"),
        (
            json!({ "fingerprint": "abcdefgh", "platform": "beos" }),
            "platform",
        ),
        (json!({ "fingerprint": "abcdefgh", "name": "" }), "name"),
    ];
    for (body, field) in cases {
        let (status, answer) = app
            .call(
                Method::POST,
                "/api/v1/machines",
                Auth::License(key),
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            error_code(status, &answer, 400),
            "invalid_request",
            "{body}"
        );
        assert!(
            answer["error"]["details"][field].is_string(),
            "{body} -> {answer}"
        );
    }
    // With an API key the license must be named.
    let (status, answer) = app
        .admin(
            Method::POST,
            "/api/v1/machines",
            Some(json!({ "fingerprint": "abcdefgh" })),
        )
        .await;
    assert_eq!(error_code(status, &answer, 400), "invalid_request");
    assert!(answer["error"]["details"]["licenseId"].is_string());
    let (status, machine) = app
        .admin(
            Method::POST,
            "/api/v1/machines",
            Some(json!({ "fingerprint": "abcdefgh", "licenseId": app.demo.license_id })),
        )
        .await;
    assert_eq!(status, 201, "{machine}");
}

#[tokio::test]
async fn licenses_that_are_not_usable_cannot_activate_machines() {
    let app = spawn_app().await;
    let key = app.demo.license_key.as_str();
    for (status, code) in [
        ("suspended", "license_suspended"),
        ("revoked", "license_revoked"),
        ("banned", "license_banned"),
    ] {
        app.set_license_status(status).await;
        let (http, body) = app.activate(key, "abcdefgh1").await;
        assert_eq!(error_code(http, &body, 409), code);
    }
    app.set_license_status("active").await;
    app.clock.set(app.demo.license_expires_at);
    let (http, body) = app.activate(key, "abcdefgh1").await;
    assert_eq!(error_code(http, &body, 409), "license_expired");
}

#[tokio::test]
async fn a_license_key_only_reaches_its_own_machines() {
    let app = spawn_app().await;
    let other = app.license_with_policy(json!({})).await;
    let other_key = other["key"].as_str().unwrap();
    let (_, theirs) = app.activate(other_key, "their-machine").await;
    let theirs = theirs["id"].as_str().unwrap();
    let mine = app.demo.license_key.as_str();
    for (method, path) in [
        (Method::GET, format!("/api/v1/machines/{theirs}")),
        (Method::DELETE, format!("/api/v1/machines/{theirs}")),
        (Method::POST, format!("/api/v1/machines/{theirs}/heartbeat")),
        (
            Method::GET,
            format!("/api/v1/licenses/{}", other["id"].as_str().unwrap()),
        ),
        (
            Method::GET,
            format!(
                "/api/v1/machines?licenseId={}",
                other["id"].as_str().unwrap()
            ),
        ),
    ] {
        let (status, body) = app
            .call(method.clone(), &path, Auth::License(mine), None)
            .await;
        assert_eq!(
            error_code(status, &body, 404),
            "not_found",
            "{method} {path}"
        );
    }
    let (_, list) = app
        .call(Method::GET, "/api/v1/machines", Auth::License(mine), None)
        .await;
    assert_eq!(list["total"], 0);
    // Their machine is still there.
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/api/v1/machines/{theirs}"),
            Auth::License(other_key),
            None,
        )
        .await;
    assert_eq!(status, 200);
    // And management endpoints refuse license keys.
    let (status, body) = app
        .call(Method::GET, "/api/v1/licenses", Auth::License(mine), None)
        .await;
    assert_eq!(error_code(status, &body, 401), "unauthorized");
}

#[tokio::test]
async fn heartbeats_keep_a_machine_alive_and_a_missed_one_requires_a_heartbeat() {
    let app = spawn_app().await;
    let license = app
        .license_with_policy(json!({ "requireHeartbeat": true, "heartbeatInterval": 600, "floating": true, "maxMachines": 2 }))
        .await;
    let key = license["key"].as_str().unwrap();
    let (_, machine) = app.activate(key, "beating-heart").await;
    let id = machine["id"].as_str().unwrap();
    let validate = json!({ "key": key, "fingerprint": "beating-heart" });

    let (status, beat) = app
        .call(
            Method::POST,
            &format!("/api/v1/machines/{id}/heartbeat"),
            Auth::License(key),
            None,
        )
        .await;
    assert_eq!(status, 200, "{beat}");
    assert_eq!(beat["heartbeatStatus"], "ALIVE");
    app.clock.advance(Duration::seconds(599));
    assert_eq!(app.validate(validate.clone()).await.1["code"], "VALID");
    app.clock.advance(Duration::seconds(1));
    let (_, body) = app.validate(validate.clone()).await;
    assert_eq!(body["code"], "HEARTBEAT_REQUIRED");
    assert_eq!(body["machine"]["heartbeatStatus"], "DEAD");

    app.call(
        Method::POST,
        &format!("/api/v1/machines/{id}/heartbeat"),
        Auth::License(key),
        None,
    )
    .await;
    assert_eq!(app.validate(validate).await.1["code"], "VALID");
}

#[tokio::test]
async fn a_culling_policy_frees_the_slot_of_a_dead_machine() {
    let app = spawn_app().await;
    let license = app
        .license_with_policy(
            json!({ "requireHeartbeat": true, "heartbeatInterval": 60, "cullDeadMachines": true }),
        )
        .await;
    let key = license["key"].as_str().unwrap();
    let (_, first) = app.activate(key, "old-laptop").await;
    let (status, _) = app.activate(key, "new-laptop").await;
    assert_eq!(
        status, 409,
        "the only slot is taken while the old machine is alive"
    );

    app.clock.advance(Duration::seconds(61));
    let (status, second) = app.activate(key, "new-laptop").await;
    assert_eq!(status, 201, "{second}");
    let (_, me) = app
        .call(Method::GET, "/api/v1/licenses/me", Auth::License(key), None)
        .await;
    assert_eq!(me["machinesUsed"], 1);
    assert_eq!(me["machines"][0]["fingerprint"], "new-laptop");
    let (status, body) = app
        .call(
            Method::POST,
            &format!(
                "/api/v1/machines/{}/heartbeat",
                first["id"].as_str().unwrap()
            ),
            Auth::License(key),
            None,
        )
        .await;
    assert_eq!(error_code(status, &body, 404), "not_found");
}

#[tokio::test]
async fn api_keys_list_machines_by_license() {
    let app = spawn_app().await;
    app.activate(&app.demo.license_key, "listed-machine").await;
    let (status, page) = app
        .admin(
            Method::GET,
            &format!("/api/v1/machines?licenseId={}", app.demo.license_id),
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 1);
    assert_eq!(page["data"][0]["fingerprint"], "listed-machine");
    let id = page["data"][0]["id"].as_str().unwrap();
    let (status, _) = app
        .admin(Method::DELETE, &format!("/api/v1/machines/{id}"), None)
        .await;
    assert_eq!(status, 204);
}
