//! The audit trail (`GET /events`) and who-am-I (`GET /api-keys/me`).

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app, Auth, TestApp};

async fn events(app: &TestApp, key: &str, query: &str) -> Vec<Value> {
    let (status, page) = app
        .call(
            Method::GET,
            &format!("/api/v1/events{query}"),
            Auth::Bearer(key),
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_suspension_is_recorded_with_its_key_request_and_change() {
    let app = spawn_app().await;
    let ops = app
        .create(
            "/api/v1/api-keys",
            json!({ "name": "ops desk", "scopes": ["licenses:write", "events:read"] }),
        )
        .await;
    let (ops_id, ops_key) = (
        ops["id"].as_str().unwrap(),
        ops["key"].as_str().unwrap().to_owned(),
    );
    let license = &app.demo.license_id;
    let response = app
        .http
        .post(app.url(&format!("/api/v1/licenses/{license}/suspend")))
        .bearer_auth(&ops_key)
        .header("x-request-id", "support-ticket-4711")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "support-ticket-4711");

    let found = events(
        &app,
        &ops_key,
        &format!("?resourceType=license&resourceId={license}&action=license.suspended"),
    )
    .await;
    assert_eq!(found.len(), 1, "{found:?}");
    let event = &found[0];
    assert_eq!(event["actorType"], "api_key");
    assert_eq!(event["actorId"], ops_id);
    assert_eq!(event["actorName"], "ops desk");
    assert_eq!(event["requestId"], "support-ticket-4711");
    assert_eq!(event["clientAddress"], "127.0.0.1");
    assert_eq!(
        event["changes"]["status"],
        json!({ "before": "active", "after": "suspended" })
    );
    // Filtering by actor finds it; another actor's id finds nothing.
    assert_eq!(
        events(&app, &ops_key, &format!("?actorId={ops_id}"))
            .await
            .len(),
        1
    );
    assert!(events(&app, &ops_key, "?actorId=nobody").await.is_empty());
}

#[tokio::test]
async fn updates_record_before_and_after_and_runtime_events_their_actor() {
    let app = spawn_app().await;
    let license = app.demo.license_id.clone();
    let (status, _) = app
        .admin(
            Method::PATCH,
            &format!("/api/v1/licenses/{license}"),
            Some(json!({ "name": "Acme GmbH", "metadata": { "email": "ops@acme.test" } })),
        )
        .await;
    assert_eq!(status, 200);
    let (status, machine) = app.activate(&app.demo.license_key, &"m".repeat(32)).await;
    assert_eq!(status, 201, "{machine}");
    let (status, _) = app
        .validate(json!({ "key": app.demo.license_key, "fingerprint": "m".repeat(32) }))
        .await;
    assert_eq!(status, 200);

    let all = events(&app, &app.api_key, &format!("?resourceId={license}")).await;
    let actions: Vec<&str> = all.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["license.validated", "license.updated"],
        "newest first"
    );
    let updated = &all[1];
    assert_eq!(updated["changes"]["name"]["after"], "Acme GmbH");
    assert_eq!(
        updated["changes"]["metadata"]["after"]["email"],
        "ops@acme.test"
    );
    assert!(updated["changes"].get("updatedAt").is_none());
    let validated = &all[0];
    assert_eq!(validated["actorType"], "anonymous");
    assert_eq!(validated["changes"]["code"], "VALID");

    let activated = events(&app, &app.api_key, "?action=machine.activated").await;
    assert_eq!(activated.len(), 1);
    assert_eq!(activated[0]["actorType"], "license");
    assert_eq!(activated[0]["actorId"], license.as_str());
    assert_eq!(activated[0]["resourceId"], machine["id"]);
}

#[tokio::test]
async fn no_secret_ever_enters_the_audit_trail() {
    let app = spawn_app().await;
    let license = app
        .create(
            "/api/v1/licenses",
            json!({ "policyId": app.demo.policy_id, "name": "Secretive" }),
        )
        .await;
    let webhook = app
        .create(
            "/api/v1/webhooks",
            json!({ "url": "http://127.0.0.1:9/hook" }),
        )
        .await;
    let (_, rotated) = app
        .admin(
            Method::POST,
            &format!(
                "/api/v1/webhooks/{}/rotate-secret",
                webhook["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    let key = app
        .create(
            "/api/v1/api-keys",
            json!({ "name": "ci", "scopes": ["licenses:read"] }),
        )
        .await;
    let (_, rotated_key) = app
        .admin(
            Method::POST,
            &format!("/api/v1/api-keys/{}/rotate", key["id"].as_str().unwrap()),
            None,
        )
        .await;
    let trail = serde_json::to_string(&events(&app, &app.api_key, "?limit=100").await).unwrap();
    for secret in [
        license["key"].as_str().unwrap(),
        webhook["secret"].as_str().unwrap(),
        rotated["secret"].as_str().unwrap(),
        key["key"].as_str().unwrap(),
        rotated_key["key"].as_str().unwrap(),
        app.api_key.as_str(),
    ] {
        assert!(!trail.contains(secret), "a secret is in the audit trail");
    }
    for action in [
        "license.created",
        "webhook.created",
        "webhook.secret_rotated",
        "api_key.created",
        "api_key.rotated",
    ] {
        assert!(trail.contains(action), "{action} missing");
    }
}

#[tokio::test]
async fn the_trail_is_per_tenant_and_needs_events_read() {
    let app = spawn_app().await;
    let (other_key, _) = app.other_account().await;
    let (status, _) = app
        .admin(
            Method::POST,
            &format!("/api/v1/licenses/{}/suspend", app.demo.license_id),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(!events(&app, &app.api_key, "").await.is_empty());
    // Another account and this account's test data see none of it.
    assert!(events(&app, &other_key, "").await.is_empty());
    assert!(events(&app, &app.test_api_key, "").await.is_empty());
    let reader = app
        .create(
            "/api/v1/api-keys",
            json!({ "name": "no audit", "scopes": ["licenses:read"] }),
        )
        .await;
    let (status, body) = app
        .call(
            Method::GET,
            "/api/v1/events",
            Auth::Bearer(reader["key"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(error_code(status, &body, 403), "forbidden");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("events:read"));
}

#[tokio::test]
async fn pages_follow_a_cursor_that_new_events_do_not_shift() {
    let app = spawn_app().await;
    for n in 0..5 {
        app.create(
            "/api/v1/entitlements",
            json!({ "code": format!("feature-{n}") }),
        )
        .await;
    }
    let first = events(&app, &app.api_key, "?limit=2").await;
    assert_eq!(first.len(), 2);
    // An event arrives between pages: the cursor keeps the next page where it was.
    app.create("/api/v1/entitlements", json!({ "code": "late" }))
        .await;
    let after = first[1]["id"].as_str().unwrap();
    let (_, page) = app.admin(Method::GET, "/api/v1/events?limit=2", None).await;
    assert_eq!(
        page["nextCursor"], page["data"][1]["id"],
        "the next page starts below the last id"
    );
    let second = events(&app, &app.api_key, &format!("?limit=2&after={after}")).await;
    let codes = |page: &[Value]| -> Vec<String> {
        page.iter()
            .map(|e| e["changes"]["code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(codes(&first), ["feature-4", "feature-3"]);
    assert_eq!(codes(&second), ["feature-2", "feature-1"]);
    let (status, body) = app
        .admin(Method::GET, "/api/v1/events?after=yesterday", None)
        .await;
    assert_eq!(error_code(status, &body, 400), "invalid_request");
    assert!(body["error"]["details"]["after"].is_string());
}

#[tokio::test]
async fn who_am_i_answers_the_calling_key_without_its_secret() {
    let app = spawn_app().await;
    let narrow = app
        .create(
            "/api/v1/api-keys",
            json!({ "name": "dashboard", "scopes": ["analytics:read"] }),
        )
        .await;
    let secret = narrow["key"].as_str().unwrap();
    let (status, me) = app
        .call(
            Method::GET,
            "/api/v1/api-keys/me",
            Auth::Bearer(secret),
            None,
        )
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["id"], narrow["id"]);
    assert_eq!(me["name"], "dashboard");
    assert_eq!(me["environment"], "live");
    assert_eq!(me["scopes"], json!(["analytics:read"]));
    assert_eq!(me["accountId"], app.account_id.as_str());
    assert!(!me.to_string().contains(secret));
    let (status, body) = app
        .call(Method::GET, "/api/v1/api-keys/me", Auth::None, None)
        .await;
    assert_eq!(error_code(status, &body, 401), "unauthorized");
}

#[tokio::test]
async fn events_past_their_retention_are_pruned_in_the_background() {
    use licentric_server::domain::audit::Retention;
    let app = crate::helpers::spawn_app_with(licentric_server::Settings {
        audit_retention: Retention {
            days: 30,
            every: std::time::Duration::from_millis(50),
        },
        ..crate::helpers::test_settings()
    })
    .await;
    app.create("/api/v1/entitlements", json!({ "code": "old" }))
        .await;
    app.clock.advance(chrono::Duration::days(20));
    app.create("/api/v1/entitlements", json!({ "code": "recent" }))
        .await;
    app.clock.advance(chrono::Duration::days(11));
    // The pruner runs every 50 ms here (hourly by default); give it a few rounds.
    let mut codes = vec![];
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        codes = events(&app, &app.api_key, "")
            .await
            .iter()
            .map(|e| e["changes"]["code"].as_str().unwrap_or_default().to_owned())
            .collect();
        if codes.len() == 1 {
            break;
        }
    }
    assert_eq!(
        codes,
        ["recent"],
        "the 31-day-old event is pruned, the 11-day-old kept"
    );
}

#[tokio::test]
async fn a_heartbeat_death_is_recorded_once_by_the_upkeep() {
    use licentric_server::domain::audit::Retention;
    let app = crate::helpers::spawn_app_with(licentric_server::Settings {
        audit_retention: Retention {
            days: 365,
            every: std::time::Duration::from_millis(30),
        },
        ..crate::helpers::test_settings()
    })
    .await;
    let license = app
        .license_with_policy(json!({ "requireHeartbeat": true, "heartbeatInterval": 600 }))
        .await;
    let key = license["key"].as_str().unwrap();
    let (status, machine) = app.activate(key, &"d".repeat(32)).await;
    assert_eq!(status, 201);
    let deaths = || async {
        events(&app, &app.api_key, "?action=machine.heartbeat_dead")
            .await
            .len()
    };
    let settle = || tokio::time::sleep(std::time::Duration::from_millis(200));
    settle().await;
    assert_eq!(deaths().await, 0, "alive for its first interval");
    app.clock.advance(chrono::Duration::minutes(11));
    settle().await;
    assert_eq!(deaths().await, 1);
    settle().await;
    assert_eq!(deaths().await, 1, "recorded once");
    let dead = &events(&app, &app.api_key, "?action=machine.heartbeat_dead").await[0];
    assert_eq!(dead["actorType"], "system");
    assert_eq!(dead["resourceId"], machine["id"]);
    assert_eq!(dead["changes"]["licenseId"], license["id"]);
    // A heartbeat revives it; the next silence is a new death.
    let path = format!(
        "/api/v1/machines/{}/heartbeat",
        machine["id"].as_str().unwrap()
    );
    let (status, _) = app
        .call(Method::POST, &path, Auth::License(key), None)
        .await;
    assert_eq!(status, 200);
    app.clock.advance(chrono::Duration::minutes(11));
    settle().await;
    assert_eq!(deaths().await, 2);
}

async fn export(app: &TestApp, key: &str, query: &str) -> (u16, String) {
    let path = format!("/api/v1/events/export.csv{query}");
    crate::helpers::csv_export(app, key, &path).await
}

#[tokio::test]
async fn the_export_holds_every_matching_event_once_newest_first_across_chunks() {
    let app = spawn_app().await;
    for _ in 0..2 {
        let (status, _) = app
            .admin(
                Method::POST,
                "/api/v1/licenses/bulk",
                Some(json!({ "policyId": app.demo.policy_id, "count": 300 })),
            )
            .await;
        assert_eq!(status, 201);
    }
    let (_, page) = app
        .admin(
            Method::GET,
            "/api/v1/events?action=license.created&limit=1",
            None,
        )
        .await;
    let total = page["total"].as_u64().unwrap() as usize;
    assert!(total > 500, "more than one chunk of 500: {total}");

    let (status, csv) = export(&app, &app.api_key, "?action=license.created&limit=3").await;
    assert_eq!(status, 200, "{csv}");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "id",
            "occurred_at",
            "actor_type",
            "actor_id",
            "actor_name",
            "action",
            "resource_type",
            "resource_id",
            "client_address",
            "request_id",
            "changes"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    // Every match (the page size ignored), each once, newest first.
    assert_eq!(rows.len(), total);
    let ids: Vec<i64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeat"
    );
    assert!(rows.iter().all(|r| &r[5] == "license.created"));
    let changes: Value = serde_json::from_str(&rows[0][10]).unwrap();
    assert!(changes.is_object(), "{changes}");

    // A time range, and a bad cursor refused before anything is sent.
    let (status, csv) = export(&app, &app.api_key, "?since=2100-01-01T00:00:00Z").await;
    assert_eq!(status, 200);
    assert_eq!(csv.lines().count(), 1, "the header alone: {csv}");
    for bad in ["?after=yesterday", "?offset=2147483648", "?limit=0"] {
        let (status, body) = export(&app, &app.api_key, bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
}

#[tokio::test]
async fn the_export_is_per_tenant_and_needs_events_read() {
    let app = spawn_app().await;
    let (other_key, _) = app.other_account().await;
    let (status, _) = app
        .admin(
            Method::POST,
            &format!("/api/v1/licenses/{}/suspend", app.demo.license_id),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, mine) = export(&app, &app.api_key, "").await;
    assert_eq!(status, 200);
    assert!(mine.contains("license.suspended"), "{mine}");
    for key in [&other_key, &app.test_api_key] {
        let (status, theirs) = export(&app, key, "").await;
        assert_eq!(status, 200);
        assert!(!theirs.contains(&app.demo.license_id), "{theirs}");
    }
    let reader = app
        .create(
            "/api/v1/api-keys",
            json!({ "name": "no audit", "scopes": ["licenses:read"] }),
        )
        .await;
    let (status, body) = export(&app, reader["key"].as_str().unwrap(), "").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("events:read"), "{body}");
}
