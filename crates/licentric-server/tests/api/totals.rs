//! List totals are exact: the counters that answer them (migration 0012) agree with a
//! count of the rows after every kind of write, and a heartbeat status's total with the
//! machines listed under it.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Auth, TestApp};

/// The counters equal the rows they count, group by group, and the list totals they
/// answer equal the rows each filter lists.
async fn assert_exact(app: &TestApp, step: &str) {
    let kept = app
        .all_rows(
            "SELECT account_id, environment, product_id, policy_id, status, CAST(n AS TEXT)
               FROM license_totals WHERE n <> 0 ORDER BY 1, 2, 3, 4, 5",
        )
        .await;
    let counted = app
        .all_rows(
            "SELECT account_id, environment, product_id, policy_id, status, CAST(count(*) AS TEXT)
               FROM licenses GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5",
        )
        .await;
    assert_eq!(kept, counted, "license counters after {step}");
    let kept = app
        .all_rows(
            "SELECT account_id, environment, platform, CAST(started AS TEXT), CAST(n AS TEXT)
               FROM machine_totals WHERE n <> 0 ORDER BY 1, 2, 3, 4",
        )
        .await;
    let counted = app
        .all_rows(
            "SELECT account_id, environment, coalesce(platform, ''),
                    CAST(last_heartbeat_at IS NOT NULL AS TEXT), CAST(count(*) AS TEXT)
               FROM machines GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
        )
        .await;
    assert_eq!(kept, counted, "machine counters after {step}");

    let filters = [
        String::new(),
        "status=active".into(),
        "status=suspended".into(),
        "status=revoked".into(),
        format!("policyId={}", app.demo.policy_id),
        format!("productId={}", app.demo.product_id),
        format!("productId={}&status=active", app.demo.product_id),
    ];
    for filter in filters {
        let (listed, total) = all_of(app, "licenses", &filter).await;
        assert_eq!(total, listed, "licenses?{filter} after {step}");
    }
    for filter in [
        "",
        "platform=linux",
        "platform=macos",
        "heartbeatStatus=NOT_STARTED",
        "heartbeatStatus=ALIVE",
        "heartbeatStatus=DEAD",
        "heartbeatStatus=NOT_STARTED&platform=linux",
        "heartbeatStatus=ALIVE&platform=linux",
    ] {
        let (listed, total) = all_of(app, "machines", filter).await;
        assert_eq!(total, listed, "machines?{filter} after {step}");
    }
}

/// How many rows a list gives when paged to its end by cursor, and the `total` of every
/// page (which must all agree).
async fn all_of(app: &TestApp, resource: &str, filter: &str) -> (usize, usize) {
    let mut listed = 0;
    let mut totals = vec![];
    let mut after = String::new();
    loop {
        let (status, page) = app
            .admin(
                Method::GET,
                &format!("/api/v1/{resource}?limit=3&{filter}{after}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{resource}?{filter}: {page}");
        listed += page["data"].as_array().unwrap().len();
        totals.push(page["total"].as_u64().unwrap() as usize);
        match page["nextCursor"].as_str() {
            Some(cursor) => after = format!("&after={cursor}"),
            None => break,
        }
    }
    totals.dedup();
    assert_eq!(totals.len(), 1, "{resource}?{filter}: totals {totals:?}");
    (listed, totals[0])
}

async fn post(app: &TestApp, path: &str, body: Option<Value>) -> Value {
    let (status, answer) = app.admin(Method::POST, path, body).await;
    assert!(
        status == 200 || status == 201,
        "POST {path}: {status} {answer}"
    );
    answer
}

#[tokio::test]
async fn totals_stay_exact_through_every_kind_of_write() {
    let app = spawn_app().await;
    assert_exact(&app, "start").await;

    // Created one by one, in bulk and by import.
    let mut ids = vec![];
    for name in ["One", "Two", "Three"] {
        let license = app
            .create(
                "/api/v1/licenses",
                json!({ "policyId": app.demo.policy_id, "name": name }),
            )
            .await;
        ids.push(license["id"].as_str().unwrap().to_owned());
    }
    assert_exact(&app, "creates").await;
    let issued = post(
        &app,
        "/api/v1/licenses/bulk",
        Some(json!({ "policyId": app.demo.policy_id, "count": 7 })),
    )
    .await;
    ids.extend(
        issued["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_str().unwrap().to_owned()),
    );
    assert_exact(&app, "bulk issue").await;
    let policy = &app.demo.policy_id;
    let response = app
        .http
        .post(app.url("/api/v1/licenses/import"))
        .bearer_auth(&app.api_key)
        .header("content-type", "text/csv")
        .body(format!(
            "policy,name\n{policy},Imported A\n{policy},Imported B\n"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_exact(&app, "import").await;

    // Status changes, one by one and in bulk; a PATCH that leaves the status alone.
    post(&app, &format!("/api/v1/licenses/{}/suspend", ids[0]), None).await;
    post(&app, &format!("/api/v1/licenses/{}/revoke", ids[1]), None).await;
    post(
        &app,
        "/api/v1/licenses/actions",
        Some(json!({ "action": "suspend", "ids": [ids[2], ids[3], ids[4]] })),
    )
    .await;
    post(
        &app,
        "/api/v1/licenses/actions",
        Some(json!({ "action": "reinstate", "ids": [ids[3]] })),
    )
    .await;
    let (status, _) = app
        .admin(
            Method::PATCH,
            &format!("/api/v1/licenses/{}", ids[5]),
            Some(json!({ "name": "Renamed" })),
        )
        .await;
    assert_eq!(status, 200);
    assert_exact(&app, "status changes").await;

    // Machines come (with and without a platform), beat, and go; a license with machines
    // is deleted, taking them along.
    let with_machines = app
        .license_with_policy(json!({ "floating": true, "maxMachines": 5, "requireHeartbeat": true, "heartbeatInterval": 600 }))
        .await;
    let key = with_machines["key"].as_str().unwrap();
    let mut machines = vec![];
    for (fingerprint, platform) in [
        ("aaaa0001", Some("linux")),
        ("aaaa0002", Some("linux")),
        ("aaaa0003", Some("macos")),
        ("aaaa0004", None),
    ] {
        let mut body = json!({ "fingerprint": fingerprint });
        if let Some(platform) = platform {
            body["platform"] = json!(platform);
        }
        let (status, machine) = app
            .call(
                Method::POST,
                "/api/v1/machines",
                Auth::License(key),
                Some(body),
            )
            .await;
        assert_eq!(status, 201, "{machine}");
        machines.push(machine["id"].as_str().unwrap().to_owned());
    }
    let (status, _) = app.activate(&app.demo.license_key, "bbbb0001").await;
    assert_eq!(status, 201);
    assert_exact(&app, "activations").await;
    app.clock.advance(chrono::Duration::minutes(5));
    for machine in &machines[..2] {
        let (status, _) = app
            .call(
                Method::POST,
                &format!("/api/v1/machines/{machine}/heartbeat"),
                Auth::License(key),
                None,
            )
            .await;
        assert_eq!(status, 200);
    }
    assert_exact(&app, "first heartbeats").await;
    // The two silent ones die first; then the two that beat.
    app.clock.advance(chrono::Duration::minutes(6));
    assert_exact(&app, "silent machines overdue").await;
    app.clock.advance(chrono::Duration::minutes(6));
    assert_exact(&app, "every heartbeat machine overdue").await;
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/machines/{}", machines[0]),
            Auth::License(key),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_exact(&app, "a deactivation").await;
    let (status, _) = app
        .admin(
            Method::DELETE,
            &format!("/api/v1/licenses/{}", with_machines["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_exact(&app, "a license deleted with its machines").await;

    // Deleted in bulk; another tenant's writes are its own.
    post(
        &app,
        "/api/v1/licenses/actions",
        Some(json!({ "action": "delete", "ids": [ids[0], ids[6], ids[7]] })),
    )
    .await;
    app.other_account().await;
    assert_exact(&app, "bulk delete and another account").await;
    let (_, total) = all_of(&app, "licenses", "").await;
    let mine = app
        .scalar(
            "SELECT count(*) FROM licenses WHERE account_id = ? AND environment = 'live'",
            &[app.account_id.as_str().into()],
        )
        .await;
    assert_eq!(total as i64, mine);
}
