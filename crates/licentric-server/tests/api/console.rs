//! What a vendor console needs of the licenses API: search and filters with exact totals,
//! cursor paging, bulk issue and actions, CSV export and import, and a diagnosis.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error_code, on_postgres, spawn_app, Auth, TestApp};

async fn list(app: &TestApp, query: &str) -> Value {
    let (status, page) = app
        .admin(Method::GET, &format!("/api/v1/licenses{query}"), None)
        .await;
    assert_eq!(status, 200, "{query}: {page}");
    page
}

fn names(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Three customers' licenses, one with a machine; answers their bodies.
async fn customers(app: &TestApp) -> Vec<Value> {
    let mut made = vec![];
    for (name, email) in [
        ("Acme GmbH", "ops@acme.test"),
        ("Globex", "it@globex.test"),
        ("Initech, \"TPS\" dept.", "bill@initech.test"),
    ] {
        made.push(
            app.create(
                "/api/v1/licenses",
                json!({ "policyId": app.demo.policy_id, "name": name, "metadata": { "email": email } }),
            )
            .await,
        );
    }
    made
}

#[tokio::test]
async fn search_finds_a_license_by_key_fragment_email_name_or_fingerprint() {
    let app = spawn_app().await;
    let made = customers(&app).await;
    let globex_key = made[1]["key"].as_str().unwrap();
    // A fragment of the key, in lower case and without its dashes.
    let fragment = globex_key[globex_key.len() - 9..]
        .replace('-', "")
        .to_lowercase();
    let page = list(&app, &format!("?q={fragment}")).await;
    assert_eq!(names(&page), ["Globex"], "{fragment}");
    assert_eq!(page["total"], 1);
    // The customer's e-mail in metadata, and a piece of the name.
    assert_eq!(names(&list(&app, "?q=ops@acme.test").await), ["Acme GmbH"]);
    assert_eq!(
        names(&list(&app, "?q=initech").await),
        ["Initech, \"TPS\" dept."]
    );
    assert_eq!(list(&app, "?q=nobody-here").await["total"], 0);
    // A machine's fingerprint finds the license it is activated on.
    let (status, _) = app.activate(globex_key, &"f".repeat(40)).await;
    assert_eq!(status, 201);
    let page = list(&app, &format!("?fingerprint={}", "f".repeat(40))).await;
    assert_eq!(names(&page), ["Globex"]);
    // Search follows renames.
    let (status, _) = app
        .admin(
            Method::PATCH,
            &format!("/api/v1/licenses/{}", made[0]["id"].as_str().unwrap()),
            Some(json!({ "name": "Acme Corporation" })),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        names(&list(&app, "?q=corporation").await),
        ["Acme Corporation"]
    );
    assert_eq!(list(&app, "?q=GmbH").await["total"], 0);
}

#[tokio::test]
async fn filters_combine_and_totals_count_every_match() {
    let app = spawn_app().await;
    let made = customers(&app).await;
    let suspended = made[2]["id"].as_str().unwrap();
    app.admin(
        Method::POST,
        &format!("/api/v1/licenses/{suspended}/suspend"),
        None,
    )
    .await;
    let soon = (app.clock_now() + chrono::Duration::days(3)).to_rfc3339();
    app.admin(
        Method::PATCH,
        &format!("/api/v1/licenses/{}", made[0]["id"].as_str().unwrap()),
        Some(json!({ "expiresAt": soon })),
    )
    .await;
    // The demo license plus three.
    assert_eq!(list(&app, "").await["total"], 4);
    let page = list(&app, "?status=suspended").await;
    assert_eq!(
        (page["total"].clone(), names(&page)),
        (json!(1), vec!["Initech, \"TPS\" dept.".to_owned()])
    );
    let before = (app.clock_now() + chrono::Duration::days(7)).format("%Y-%m-%dT%H:%M:%SZ");
    let page = list(&app, &format!("?expiresBefore={before}&status=active")).await;
    assert_eq!(names(&page), ["Acme GmbH"]);
    let page = list(
        &app,
        &format!("?productId={}&q=test&status=active", app.demo.product_id),
    )
    .await;
    // "test" is in two e-mails; the suspended one is filtered out.
    assert_eq!(page["total"], 2);
    let page = list(&app, "?sort=name&limit=2").await;
    assert_eq!(page["total"], 4);
    assert_eq!(page["hasMore"], true);
    let (status, body) = app
        .admin(Method::GET, "/api/v1/licenses?sort=key", None)
        .await;
    assert_eq!(error_code(status, &body, 400), "invalid_request");
    // Another tenant sees none of them.
    let (other, _) = app.other_account().await;
    let (_, page) = app
        .call(
            Method::GET,
            "/api/v1/licenses?q=acme",
            Auth::Bearer(&other),
            None,
        )
        .await;
    assert_eq!(page["total"], 0);
}

#[tokio::test]
async fn a_cursor_pages_through_everything_once_while_licenses_are_added() {
    let app = spawn_app().await;
    for n in 0..7 {
        app.create(
            "/api/v1/licenses",
            json!({ "policyId": app.demo.policy_id, "name": format!("n{n}") }),
        )
        .await;
        app.clock.advance(chrono::Duration::seconds(1));
    }
    let mut seen = vec![];
    let mut query = "?sort=createdAt&limit=3".to_owned();
    for round in 0.. {
        let page = list(&app, &query).await;
        seen.extend(names(&page));
        if round == 0 {
            // A license issued between pages comes after the cursor: it is not skipped,
            // and nothing is seen twice.
            app.create(
                "/api/v1/licenses",
                json!({ "policyId": app.demo.policy_id, "name": "late" }),
            )
            .await;
        }
        match page["nextCursor"].as_str() {
            Some(cursor) => query = format!("?sort=createdAt&limit=3&after={cursor}"),
            None => break,
        }
        assert!(round < 10, "the cursor does not end");
    }
    let demo_name = seen[0].clone();
    assert_eq!(
        seen,
        [
            demo_name.as_str(),
            "n0",
            "n1",
            "n2",
            "n3",
            "n4",
            "n5",
            "n6",
            "late"
        ]
    );
    // A cursor from another sort is refused with the field named.
    let page = list(&app, "?sort=createdAt&limit=3").await;
    let cursor = page["nextCursor"].as_str().unwrap();
    let (status, body) = app
        .admin(
            Method::GET,
            &format!("/api/v1/licenses?sort=-name&after={cursor}"),
            None,
        )
        .await;
    assert_eq!(error_code(status, &body, 400), "invalid_request");
    assert!(body["error"]["details"]["after"].is_string());
}

#[tokio::test]
async fn bulk_issue_is_all_or_none() {
    let app = spawn_app().await;
    let (status, issued) = app
        .admin(
            Method::POST,
            "/api/v1/licenses/bulk",
            Some(json!({ "policyId": app.demo.policy_id, "count": 200, "name": "Campus" })),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let data = issued["data"].as_array().unwrap();
    assert_eq!(data.len(), 200);
    let keys: std::collections::HashSet<&str> =
        data.iter().map(|l| l["key"].as_str().unwrap()).collect();
    assert_eq!(keys.len(), 200, "every license has its own key");
    assert_eq!(list(&app, "?q=Campus").await["total"], 200);
    let (_, created) = app
        .admin(
            Method::GET,
            "/api/v1/events?action=license.created&limit=1",
            None,
        )
        .await;
    assert_eq!(created["total"], 200, "an audit event per license");
    assert_eq!(created["data"][0]["actorType"], "api_key");
    // A bad request writes nothing.
    for body in [
        json!({ "policyId": app.demo.policy_id, "count": 1001 }),
        json!({ "policyId": "nope", "count": 5 }),
        json!({ "policyId": app.demo.policy_id, "count": 0 }),
    ] {
        let (status, answer) = app
            .admin(Method::POST, "/api/v1/licenses/bulk", Some(body))
            .await;
        assert_eq!(error_code(status, &answer, 400), "invalid_request");
    }
    assert_eq!(list(&app, "").await["total"], 201);
}

#[tokio::test]
async fn actions_answer_per_license_and_record_each() {
    let app = spawn_app().await;
    let made = customers(&app).await;
    let (_, other) = app.other_account().await;
    let revoked = made[2]["id"].as_str().unwrap();
    app.admin(
        Method::POST,
        &format!("/api/v1/licenses/{revoked}/revoke"),
        None,
    )
    .await;
    let ids = json!([
        made[0]["id"],
        made[1]["id"],
        revoked,
        "no-such-license",
        other.license_id,
        made[0]["id"],
    ]);
    let (status, answer) = app
        .admin(
            Method::POST,
            "/api/v1/licenses/actions",
            Some(json!({ "action": "suspend", "ids": ids })),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let results: Vec<(&str, &str)> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        results,
        [
            (made[0]["id"].as_str().unwrap(), "ok"),
            (made[1]["id"].as_str().unwrap(), "ok"),
            (revoked, "invalid_transition"),
            ("no-such-license", "not_found"),
            (other.license_id.as_str(), "not_found"),
            (made[0]["id"].as_str().unwrap(), "duplicate_id"),
        ]
    );
    assert_eq!(
        (answer["succeeded"].clone(), answer["failed"].clone()),
        (json!(2), json!(4))
    );
    assert!(answer["results"][2]["message"]
        .as_str()
        .unwrap()
        .contains("revoked"));
    // Each success is its own audit event; the other account's license is untouched.
    let (_, events) = app
        .admin(Method::GET, "/api/v1/events?action=license.suspended", None)
        .await;
    assert_eq!(events["total"], 2);
    let (status, body) = app
        .admin(
            Method::POST,
            "/api/v1/licenses/actions",
            Some(json!({ "action": "explode", "ids": ["x"] })),
        )
        .await;
    assert_eq!(error_code(status, &body, 400), "invalid_request");
}

async fn export(app: &TestApp, query: &str) -> (u16, String) {
    let path = format!("/api/v1/licenses/export.csv{query}");
    crate::helpers::csv_export(app, &app.api_key, &path).await
}

#[tokio::test]
async fn export_quotes_names_guards_formulas_and_hides_keys_by_default() {
    let app = spawn_app().await;
    let made = customers(&app).await;
    app.create(
        "/api/v1/licenses",
        json!({ "policyId": app.demo.policy_id, "name": "=cmd|' /C calc'!A0" }),
    )
    .await;
    let (status, csv) = export(&app, "?sort=createdAt").await;
    assert_eq!(status, 200, "{csv}");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert!(!header.iter().any(|h| h == "key"), "{header:?}");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 5);
    let name = header.iter().position(|h| h == "name").unwrap();
    assert_eq!(&rows[3][name], "Initech, \"TPS\" dept.");
    assert_eq!(&rows[4][name], "'=cmd|' /C calc'!A0");
    // Names hold no line breaks (the API refuses control characters); the metadata cell
    // is JSON, so a line break in a value is written escaped. Quoting of cells with line
    // breaks is tested in csv_rows.
    assert!(!csv.contains(made[0]["key"].as_str().unwrap()));

    // Keys only when asked, and only for a key that may write licenses.
    let (status, with_keys) = export(&app, "?includeKeys=true").await;
    assert_eq!(status, 200);
    assert!(with_keys.contains(made[0]["key"].as_str().unwrap()));
    let reader_key = app
        .create(
            "/api/v1/api-keys",
            json!({ "name": "reader", "scopes": ["licenses:read"] }),
        )
        .await;
    let (status, body) = app
        .call(
            Method::GET,
            "/api/v1/licenses/export.csv?includeKeys=true",
            Auth::Bearer(reader_key["key"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(error_code(status, &body, 403), "forbidden");
    // The list's filters apply.
    let (_, filtered) = export(&app, "?q=globex").await;
    assert_eq!(filtered.lines().count(), 2, "{filtered}");
}

#[tokio::test]
async fn export_streams_more_rows_than_one_chunk() {
    let app = spawn_app().await;
    for _ in 0..3 {
        let (status, _) = app
            .admin(
                Method::POST,
                "/api/v1/licenses/bulk",
                Some(json!({ "policyId": app.demo.policy_id, "count": 400 })),
            )
            .await;
        assert_eq!(status, 201);
    }
    let (status, csv) = export(&app, "").await;
    assert_eq!(status, 200);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let ids: std::collections::HashSet<String> =
        reader.records().map(|r| r.unwrap()[0].to_owned()).collect();
    assert_eq!(ids.len(), 1201, "every license once, across chunks of 500");
}

async fn import(app: &TestApp, csv: &str, dry_run: bool) -> (u16, Value) {
    let response = app
        .http
        .post(app.url(&format!("/api/v1/licenses/import?dryRun={dry_run}")))
        .bearer_auth(&app.api_key)
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap();
    crate::helpers::read(response).await
}

#[tokio::test]
async fn import_checks_every_row_first_and_writes_all_or_nothing() {
    let app = spawn_app().await;
    let policy = &app.demo.policy_id;
    let taken = app.demo.license_key.clone();
    let bad = format!(
        "key,policy,name,expiry,metadata\n\
         ,{policy},Good one,2027-01-31,\"{{\"\"email\"\": \"\"a@b.test\"\"}}\"\n\
         {taken},{policy},Taken key,,\n\
         ,nope,Unknown policy,,\n\
         ,{policy},Bad date,31/01/2027,\n"
    );
    let (status, report) = import(&app, &bad, true).await;
    assert_eq!(status, 200, "{report}");
    let lines: Vec<(u64, &str)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["line"].as_u64().unwrap(),
                p["field"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [(3, "key"), (4, "policy"), (5, "expiry")],
        "{report}"
    );
    assert_eq!(report["imported"], 0);
    // A real run of a bad file writes nothing either.
    let (status, report) = import(&app, &bad, false).await;
    assert_eq!(status, 200);
    assert_eq!(report["imported"], 0);
    assert_eq!(list(&app, "?q=Good").await["total"], 0);

    let good = format!(
        "Key,Policy,Name,Expiry,metadata.email\n\
         IMP-AAAA-BBBB-CCCC-DDDD,{policy},Moved over,2027-01-31,x@y.test\n\
         ,{policy},Generated key,,\n"
    );
    let (status, report) = import(&app, &good, true).await;
    assert_eq!((status, report["problems"].clone()), (200, json!([])));
    assert_eq!(
        list(&app, "?q=Moved").await["total"],
        0,
        "a dry run writes nothing"
    );
    let (status, report) = import(&app, &good, false).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["imported"], 2);
    let moved = list(&app, "?q=x@y.test").await;
    assert_eq!(names(&moved), ["Moved over"]);
    assert_eq!(moved["data"][0]["key"], "IMP-AAAA-BBBB-CCCC-DDDD");
}

#[tokio::test]
async fn an_import_larger_than_a_json_body_is_read_whole() {
    let app = spawn_app().await;
    let policy = &app.demo.policy_id;
    // About 200 KiB: three times the limit of a JSON body.
    let rows: String = (0..4000)
        .map(|n| format!(",{policy},Customer number {n} of the migration\n"))
        .collect();
    let csv = format!("key,policy,name\n{rows}");
    assert!(csv.len() > 3 * 64 * 1024);
    let (status, report) = import(&app, &csv, true).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (report["rows"].clone(), report["problems"].clone()),
        (json!(4000), json!([]))
    );
}

#[tokio::test]
async fn an_import_over_the_size_limit_is_a_413() {
    let app = spawn_app().await;
    let huge = "key,policy\n".to_owned() + &",x\n".repeat(11 * 1024 * 1024);
    let (status, body) = import(&app, &huge, true).await;
    assert_eq!(error_code(status, &body, 413), "payload_too_large");
    assert!(body["error"]["message"].as_str().unwrap().contains("MiB"));
}

#[tokio::test]
async fn a_diagnosis_lists_every_check_and_counts_nothing() {
    let app = spawn_app().await;
    let license = app.demo.license_id.clone();
    let (_, before) = app
        .admin(Method::GET, &format!("/api/v1/licenses/{license}"), None)
        .await;
    app.set_license_status("suspended").await;
    let past = (app.clock_now() - chrono::Duration::days(1)).to_rfc3339();
    app.admin(
        Method::PATCH,
        &format!("/api/v1/licenses/{license}"),
        Some(json!({ "expiresAt": past })),
    )
    .await;
    let (status, diagnosis) = app
        .admin(
            Method::POST,
            &format!("/api/v1/licenses/{license}/validate"),
            Some(json!({ "fingerprint": "z".repeat(32), "entitlements": ["pro"] })),
        )
        .await;
    assert_eq!(status, 200, "{diagnosis}");
    assert_eq!(diagnosis["code"], "SUSPENDED");
    let outcome: Vec<(&str, Value)> = diagnosis["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["check"].as_str().unwrap(), c["passed"].clone()))
        .collect();
    assert_eq!(
        outcome,
        [
            ("status", json!(false)),
            ("expiry", json!(false)),
            ("uses", json!(true)),
            ("entitlements", json!(false)),
            ("fingerprint", json!(false)),
            ("heartbeat", Value::Null),
            ("machineLimit", json!(true)),
        ]
    );
    let (_, after) = app
        .admin(Method::GET, &format!("/api/v1/licenses/{license}"), None)
        .await;
    assert_eq!(after["uses"], before["uses"], "a diagnosis counts no use");
    let (_, validations) = app
        .admin(Method::GET, "/api/v1/events?action=license.validated", None)
        .await;
    assert_eq!(validations["total"], 0, "and records no validation");
    let (other, _) = app.other_account().await;
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/v1/licenses/{license}/validate"),
            Auth::Bearer(&other),
            None,
        )
        .await;
    assert_eq!(error_code(status, &body, 404), "not_found");
}

async fn machines(app: &TestApp, query: &str) -> Vec<String> {
    let (status, page) = app
        .admin(Method::GET, &format!("/api/v1/machines{query}"), None)
        .await;
    assert_eq!(status, 200, "{query}: {page}");
    let mut names: Vec<String> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn machines_are_found_by_fingerprint_name_platform_and_heartbeat() {
    let app = spawn_app().await;
    let license = app
        .license_with_policy(json!({ "floating": true, "maxMachines": 5, "requireHeartbeat": true, "heartbeatInterval": 600 }))
        .await;
    let key = license["key"].as_str().unwrap();
    let mut ids = vec![];
    for (fingerprint, name, platform) in [
        ("aaaa1111bbbb2222", "Build server", "linux"),
        ("aaaa9999cccc0000", "Lab Mac", "macos"),
        ("ffff0000eeee1111", "Reception PC", "windows"),
    ] {
        let (status, machine) = app
            .call(
                Method::POST,
                "/api/v1/machines",
                Auth::License(key),
                Some(json!({ "fingerprint": fingerprint, "name": name, "platform": platform })),
            )
            .await;
        assert_eq!(status, 201, "{machine}");
        ids.push(machine["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(machines(&app, "?q=aaaa").await, ["Build server", "Lab Mac"]);
    assert_eq!(machines(&app, "?q=reception").await, ["Reception PC"]);
    assert_eq!(machines(&app, "?platform=macos").await, ["Lab Mac"]);
    let (status, body) = app
        .admin(Method::GET, "/api/v1/machines?platform=amiga", None)
        .await;
    assert_eq!(error_code(status, &body, 400), "invalid_request");
    // Five minutes on, one machine beats; eleven minutes on, the two silent ones are dead.
    app.clock.advance(chrono::Duration::minutes(5));
    let path = format!("/api/v1/machines/{}/heartbeat", ids[1]);
    let (status, _) = app
        .call(Method::POST, &path, Auth::License(key), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(machines(&app, "?heartbeatStatus=ALIVE").await, ["Lab Mac"]);
    assert_eq!(
        machines(&app, "?heartbeatStatus=NOT_STARTED").await,
        ["Build server", "Reception PC"]
    );
    app.clock.advance(chrono::Duration::minutes(6));
    assert_eq!(
        machines(&app, "?heartbeatStatus=DEAD").await,
        ["Build server", "Reception PC"]
    );
    assert_eq!(machines(&app, "?heartbeatStatus=ALIVE").await, ["Lab Mac"]);
    // The policy's rule decides: with heartbeats no longer required, nobody is dead, and
    // a longer interval revives the machines that are within it.
    let policy = format!("/api/v1/policies/{}", license["policyId"].as_str().unwrap());
    let (status, _) = app
        .admin(
            Method::PATCH,
            &policy,
            Some(json!({ "requireHeartbeat": false })),
        )
        .await;
    assert_eq!(status, 200);
    assert!(machines(&app, "?heartbeatStatus=DEAD").await.is_empty());
    let (status, _) = app
        .admin(
            Method::PATCH,
            &policy,
            Some(json!({ "requireHeartbeat": true, "heartbeatInterval": 3600 })),
        )
        .await;
    assert_eq!(status, 200);
    assert!(machines(&app, "?heartbeatStatus=DEAD").await.is_empty());
    assert_eq!(
        machines(&app, "?heartbeatStatus=NOT_STARTED").await,
        ["Build server", "Reception PC"]
    );
    app.admin(
        Method::PATCH,
        &policy,
        Some(json!({ "heartbeatInterval": 600 })),
    )
    .await;
    // Cursor pages cover all three once.
    let (_, first) = app
        .admin(Method::GET, "/api/v1/machines?limit=2&sort=name", None)
        .await;
    let cursor = first["nextCursor"].as_str().unwrap();
    let (_, second) = app
        .admin(
            Method::GET,
            &format!("/api/v1/machines?limit=2&sort=name&after={cursor}"),
            None,
        )
        .await;
    assert_eq!(first["data"][0]["name"], "Build server");
    assert_eq!(first["data"][1]["name"], "Lab Mac");
    assert_eq!(second["data"][0]["name"], "Reception PC");
    assert_eq!(second["hasMore"], false);
    // The export has the same rows, with their heartbeat status.
    let response = app
        .http
        .get(app.url("/api/v1/machines/export.csv?heartbeatStatus=DEAD"))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let csv = response.text().await.unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(
        csv.contains("Reception PC") && csv.contains("DEAD"),
        "{csv}"
    );
}

#[tokio::test]
async fn products_policies_entitlements_and_webhooks_are_searched_by_name() {
    let app = spawn_app().await;
    let product = app
        .create(
            "/api/v1/products",
            json!({ "name": "Photo Studio", "keyPrefix": "PHOTO" }),
        )
        .await;
    app.create(
        "/api/v1/policies",
        json!({ "productId": product["id"], "name": "Studio yearly" }),
    )
    .await;
    app.create(
        "/api/v1/entitlements",
        json!({ "code": "raw-export", "name": "RAW export" }),
    )
    .await;
    app.create(
        "/api/v1/webhooks",
        json!({ "url": "http://127.0.0.1:9/billing-hook", "description": "Billing" }),
    )
    .await;
    for (path, q, expected) in [
        ("/api/v1/products", "studio", 1),
        ("/api/v1/products", "nothing", 0),
        ("/api/v1/policies", "YEARLY", 1),
        ("/api/v1/entitlements", "raw-exp", 1),
        ("/api/v1/entitlements", "RAW export", 1),
        ("/api/v1/webhooks", "billing", 1),
    ] {
        let (status, page) = app
            .admin(
                Method::GET,
                &format!("{path}?q={}", q.replace(' ', "%20")),
                None,
            )
            .await;
        assert_eq!(status, 200, "{path}: {page}");
        assert_eq!(page["total"], expected, "{path}?q={q}: {page}");
    }
}

#[tokio::test]
async fn an_import_needs_licenses_write_a_csv_body_and_writes_nothing_when_refused() {
    let app = spawn_app().await;
    let csv = format!("policy,name\n{},Scoped\n", app.demo.policy_id);
    let reader = app
        .create(
            "/api/v1/api-keys",
            json!({ "name": "reader", "scopes": ["licenses:read"] }),
        )
        .await;
    let send = |key: String, content_type: &'static str, body: String| {
        let request = app
            .http
            .post(app.url("/api/v1/licenses/import"))
            .bearer_auth(key)
            .header("content-type", content_type)
            .body(body);
        async move { crate::helpers::read(request.send().await.unwrap()).await }
    };
    let (status, body) = send(
        reader["key"].as_str().unwrap().into(),
        "text/csv",
        csv.clone(),
    )
    .await;
    assert_eq!(error_code(status, &body, 403), "forbidden");
    let (status, body) = send(app.api_key.clone(), "application/json", csv.clone()).await;
    assert_eq!(error_code(status, &body, 400), "unsupported_media_type");
    let (status, body) = send(app.api_key.clone(), "text/csv", String::new()).await;
    assert_eq!(error_code(status, &body, 400), "empty_body");
    assert_eq!(list(&app, "?q=Scoped").await["total"], 0);
    let writer = app
        .create(
            "/api/v1/api-keys",
            json!({ "name": "writer", "scopes": ["licenses:write"] }),
        )
        .await;
    let (status, report) = send(writer["key"].as_str().unwrap().into(), "text/csv", csv).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["imported"], 1);
}

#[tokio::test]
async fn a_file_without_a_license_header_and_an_overlong_search_are_400s() {
    let app = spawn_app().await;
    let (status, body) = import(&app, "{}", true).await;
    assert_eq!(error_code(status, &body, 400), "invalid_csv");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("column"));
    for path in [
        "/api/v1/products",
        "/api/v1/policies",
        "/api/v1/entitlements",
        "/api/v1/webhooks",
        "/api/v1/licenses",
        "/api/v1/machines",
    ] {
        let (status, body) = app
            .admin(Method::GET, &format!("{path}?q={}", "x".repeat(300)), None)
            .await;
        assert_eq!(error_code(status, &body, 400), "invalid_request", "{path}");
        assert!(body["error"]["details"]["q"].is_string(), "{path}: {body}");
    }
}

#[tokio::test]
async fn bulk_work_import_and_export_stay_within_the_tenant() {
    let app = spawn_app().await;
    let (other_key, other) = app.other_account().await;
    // Another account's policy is unknown here, for a bulk issue and for an import.
    let (status, body) = app
        .admin(
            Method::POST,
            "/api/v1/licenses/bulk",
            Some(json!({ "policyId": other.policy_id, "count": 3 })),
        )
        .await;
    assert_eq!(error_code(status, &body, 400), "invalid_request");
    assert!(body["error"]["details"]["policyId"].is_string());
    let (status, report) = import(
        &app,
        &format!("policy,name\n{},Stolen\n", other.policy_id),
        true,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(report["problems"][0]["field"], "policy");
    // The other account's license is in neither this account's export nor its search,
    // and its test data is not in its live data.
    let (_, csv) = export(&app, "").await;
    assert!(!csv.contains(&other.license_id));
    assert_eq!(
        list(&app, &format!("?q={}", other.license_id)).await["total"],
        0
    );
    let (status, page) = app
        .call(
            Method::GET,
            "/api/v1/licenses",
            Auth::Bearer(&app.test_api_key),
            None,
        )
        .await;
    assert_eq!((status, page["total"].clone()), (200, json!(0)));
    let response = app
        .http
        .get(app.url("/api/v1/machines/export.csv"))
        .bearer_auth(&other_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await.unwrap().lines().count(),
        1,
        "a header, no machine"
    );
}

#[tokio::test]
async fn search_indexes_that_lost_their_pairing_are_rebuilt_at_start() {
    let app = spawn_app().await;
    customers(&app).await;
    let (status, _) = app.activate(&app.demo.license_key, &"p".repeat(32)).await;
    assert_eq!(status, 201);
    // As after a VACUUM that renumbered rows: the indexes point nowhere.
    for index in ["license_search", "machine_search", "machine_words"] {
        sqlx::query(&format!("UPDATE {index} SET rowid = rowid + 1000000"))
            .execute(&app.db())
            .await
            .unwrap();
    }
    assert_eq!(list(&app, "?q=globex").await["total"], 0);
    licentric_server::db::check_search(&app.db()).await.unwrap();
    assert_eq!(names(&list(&app, "?q=globex").await), ["Globex"]);
    assert_eq!(
        machines(&app, &format!("?q=Machine%20{}", "p".repeat(8)))
            .await
            .len(),
        1
    );
    // Words are searched in the word index (machine_words) first.
    assert_eq!(machines(&app, "?q=Machine%20ppp").await.len(), 1);
}

#[tokio::test]
async fn an_email_search_finds_what_a_search_of_the_whole_text_finds() {
    let app = spawn_app().await;
    for (name, metadata) in [
        ("Plain", json!({ "email": "ops@acme.test" })),
        ("Longer mailbox", json!({ "email": "devops@acme.test" })),
        ("Longer domain", json!({ "billing": "ops@acme.test.uk" })),
        ("Shouting", json!({ "email": "OPS@ACME.TEST" })),
        ("In the name ops@acme.test", json!({})),
        ("Dashed", json!({ "email": "o-ps@acme.test" })),
        ("Other", json!({ "email": "ops@acme.example" })),
        ("Dotted", json!({ "email": "first.last@acme.test" })),
    ] {
        app.create(
            "/api/v1/licenses",
            json!({ "policyId": app.demo.policy_id, "name": name, "metadata": metadata }),
        )
        .await;
    }
    for q in [
        "ops@acme.test",
        "OPS@Acme.Test",
        "o-ps@acme.test",
        "devops@acme",
        "ps@acme.test",
        "ops@",
        "last@acme.test",
        "t.last@acme.test",
        "o_s@acme.test",
        "nobody@acme.test",
    ] {
        // The search of the whole text, as lists ran it before e-mails were narrowed.
        let expected = licenses_like(&app, q).await;
        let page = list(&app, &format!("?limit=100&q={}", urlencode(q))).await;
        let mut found = names(&page);
        found.sort();
        assert_eq!(found, expected, "q={q}");
        assert_eq!(page["total"], expected.len(), "q={q}");
    }
}

/// The names (or '') of the demo account's live licenses whose whole text contains `q`,
/// or `q` without its dashes (the key is searched either way), by a LIKE over every row:
/// the answer each search is checked against. On SQLite over the search table's text; on
/// PostgreSQL over each license's own text (`licentric_license_text`), read by a superuser
/// past the search tables and functions the server reads.
async fn licenses_like(app: &TestApp, q: &str) -> Vec<String> {
    let sql = if on_postgres() {
        "SELECT coalesce(l.name, '') FROM licenses l WHERE l.account_id = ? AND l.environment = 'live'
         AND (licentric_license_text(l.key, l.id, l.name, l.metadata) ILIKE ?
              OR licentric_license_text(l.key, l.id, l.name, l.metadata) ILIKE ?)"
    } else {
        "SELECT ifnull(l.name, '') FROM licenses l WHERE l.account_id = ? AND l.environment = 'live'
         AND l.rowid IN (SELECT rowid FROM license_search WHERE text LIKE ?
                         UNION SELECT rowid FROM license_search WHERE text LIKE ?)"
    };
    let params = [
        app.account_id.as_str().into(),
        format!("%{q}%").into(),
        format!("%{}%", q.replace('-', "")).into(),
    ];
    first_column_sorted(app.all_rows_with(sql, &params).await)
}

/// The names of the demo account's live machines whose fingerprint starts with `q` or
/// whose name contains it, by a LIKE over every row (see [`licenses_like`]).
async fn machines_like(app: &TestApp, q: &str) -> Vec<String> {
    let account = app.account_id.as_str().into();
    let rows = if on_postgres() {
        app.all_rows_with(
            "SELECT m.name FROM machines m WHERE m.account_id = ? AND m.environment = 'live'
             AND (starts_with(m.fingerprint, ?) OR coalesce(m.name, '') ILIKE '%' || ? || '%')",
            &[account, q.into(), q.into()],
        )
        .await
    } else {
        app.all_rows_with(
            "SELECT m.name FROM machines m WHERE m.account_id = ? AND m.environment = 'live'
             AND (m.fingerprint >= ? AND m.fingerprint < ? OR m.name LIKE '%' || ? || '%')",
            &[account, q.into(), format!("{q}\u{10FFFF}").into(), q.into()],
        )
        .await
    };
    first_column_sorted(rows)
}

fn first_column_sorted(rows: Vec<Vec<Option<String>>>) -> Vec<String> {
    let mut names: Vec<String> = rows
        .into_iter()
        .map(|row| row[0].clone().unwrap_or_default())
        .collect();
    names.sort();
    names
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_plain_search_finds_what_a_like_over_the_whole_text_finds() {
    let app = spawn_app().await;
    let made = customers(&app).await;
    let key = made[1]["key"].as_str().unwrap().to_owned();
    for name in [
        "GLOBEX north",
        "Say \"hi\" Ltd",
        "50% off",
        "under_score",
        "Globe",
    ] {
        app.create(
            "/api/v1/licenses",
            json!({ "policyId": app.demo.policy_id, "name": name }),
        )
        .await;
    }
    let dashed_piece = key[key.len() - 9..].to_owned();
    for q in [
        "Globex",
        "globex",
        "lobe",
        "say \"hi\"",
        "\"",
        "50%",
        "der_sc",
        "gl",
        "tps\" dept",
        dashed_piece.as_str(),
        &dashed_piece.to_lowercase(),
    ] {
        let expected = licenses_like(&app, q).await;
        let page = list(&app, &format!("?limit=100&q={}", urlencode(q))).await;
        let mut found = names(&page);
        found.sort();
        assert_eq!(found, expected, "q={q}");
        assert_eq!(page["total"], expected.len(), "q={q}");
    }

    let license = app
        .license_with_policy(json!({ "floating": true, "maxMachines": 5 }))
        .await;
    let key = license["key"].as_str().unwrap();
    for (fingerprint, name) in [
        ("abc1230000000000", "Grace's MacBook Pro"),
        ("abd4560000000000", "grace's macbook pro 2"),
        ("fff7890000000000", "Build_server 100%"),
    ] {
        let (status, _) = app
            .call(
                Method::POST,
                "/api/v1/machines",
                Auth::License(key),
                Some(json!({ "fingerprint": fingerprint, "name": name })),
            )
            .await;
        assert_eq!(status, 201);
    }
    for q in [
        "Grace's MacBook Pro",
        "MACBOOK",
        "ab",
        "abc",
        "d_s",
        "100%",
        "'s M",
    ] {
        let expected = machines_like(&app, q).await;
        let (status, page) = app
            .admin(
                Method::GET,
                &format!("/api/v1/machines?limit=100&q={}", urlencode(q)),
                None,
            )
            .await;
        assert_eq!(status, 200, "{page}");
        let mut found: Vec<String> = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_owned())
            .collect();
        found.sort();
        assert_eq!(found, expected, "machines q={q}");
        assert_eq!(page["total"], expected.len(), "machines q={q}");
    }
}

/// Activates machines named `names` (fingerprints `{prefix}{n:04}`, or the name's own
/// fingerprint when given) on a new floating license of the caller's tenant.
async fn machines_named(app: &TestApp, api_key: &str, prefix: &str, names: &[(&str, &str)]) {
    let bearer = Auth::Bearer(api_key);
    let (_, product) = app
        .call(
            Method::POST,
            "/api/v1/products",
            bearer,
            Some(json!({ "name": "Named", "keyPrefix": "NAMED" })),
        )
        .await;
    let (_, policy) = app
        .call(
            Method::POST,
            "/api/v1/policies",
            bearer,
            Some(json!({ "productId": product["id"], "name": "Many", "floating": true, "maxMachines": 100 })),
        )
        .await;
    let (status, license) = app
        .call(
            Method::POST,
            "/api/v1/licenses",
            bearer,
            Some(json!({ "policyId": policy["id"] })),
        )
        .await;
    assert_eq!(status, 201, "{license}");
    let key = license["key"].as_str().unwrap();
    for (n, (name, fingerprint)) in names.iter().enumerate() {
        let fingerprint = match *fingerprint {
            "" => format!("{prefix}{n:04}"),
            given => given.to_owned(),
        };
        let (status, machine) = app
            .call(
                Method::POST,
                "/api/v1/machines",
                Auth::License(key),
                Some(json!({ "fingerprint": fingerprint, "name": name })),
            )
            .await;
        assert_eq!(status, 201, "{name}: {machine}");
    }
}

#[tokio::test]
async fn a_search_of_words_finds_what_a_like_over_the_names_finds() {
    let app = spawn_app().await;
    let names = [
        ("Grace's MacBook Pro", ""),
        ("grace's macbook pro 2", ""),
        ("GRACE'S MACBOOK PROS", ""),
        // The first word of q at the end of a longer word, ASCII or not.
        ("XGrace's MacBook Pro", ""),
        ("ÉGrace's MacBook Pro", ""),
        // The same words with other separators, or other words after them.
        ("Grace-s MacBook Pro", ""),
        ("Grace’s MacBook Pro", ""),
        ("Grace's  MacBook Pro", ""),
        ("Grace's MacBook Air", ""),
        ("Pro MacBook's Grace", ""),
        ("Grace's MacBook Pro (2019)", ""),
        ("Ada's MacBook Pro", ""),
        ("grace-workstation-0", ""),
        ("grace-workstation-10", ""),
        ("Büro-PC 3", ""),
        // Found by its fingerprint's start, not its name.
        ("Lab box", "Grace's MacBook Pro serial 7"),
        // Found by both its name and its fingerprint's start: listed and counted once.
        ("Grace's MacBook Pro M4", "Grace's MacBook Pro M4 serial 8"),
    ];
    machines_named(&app, &app.api_key, "live", &names).await;
    // The same names in another account and in this account's test data: never found.
    let (other_key, _) = app.other_account().await;
    machines_named(&app, &other_key, "other", &names[..3]).await;
    machines_named(&app, &app.test_api_key, "test", &names[..3]).await;
    for q in [
        "Grace's MacBook Pro",
        "grace's macbook pro",
        "GRACE'S MACBOOK PRO",
        "race's MacBook Pr",
        "e's MacBook Pro",
        "'s MacBook Pro",
        "'s MacBook Pro (",
        "s MacBook",
        "Grace'",
        "Grace's",
        "MacBook Pro",
        "Pro (2019)",
        "workstation-1",
        "grace-workstation-",
        "Grace-s",
        "Grace’s",
        "ro-PC 3",
        "'s",
        "'-'",
    ] {
        let expected = machines_like(&app, q).await;
        let (status, page) = app
            .admin(
                Method::GET,
                &format!("/api/v1/machines?limit=100&q={}", urlencode(q)),
                None,
            )
            .await;
        assert_eq!(status, 200, "{page}");
        let mut found: Vec<String> = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_owned())
            .collect();
        found.sort();
        assert_eq!(found, expected, "q={q}");
        assert_eq!(page["total"], expected.len(), "q={q}");
        // Page by page through a cursor: the same machines, each page's total exact.
        let mut paged = vec![];
        let mut query = format!("?limit=2&q={}", urlencode(q));
        for round in 0.. {
            let (status, page) = app
                .admin(Method::GET, &format!("/api/v1/machines{query}"), None)
                .await;
            assert_eq!(status, 200, "{page}");
            assert_eq!(page["total"], expected.len(), "q={q}, page {round}");
            paged.extend(
                page["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["name"].as_str().unwrap().to_owned()),
            );
            match page["nextCursor"].as_str() {
                Some(cursor) => query = format!("?limit=2&q={}&after={cursor}", urlencode(q)),
                None => break,
            }
            assert!(round < 20, "the cursor does not end");
        }
        paged.sort();
        assert_eq!(paged, expected, "q={q}, paged");
    }
    if on_postgres() {
        // PostgreSQL has no word index: its names are searched by trigrams.
        return;
    }
    // The word index's phrase for the first q: this account's eleven names with its words
    // in a row (the name test removes the near misses), three in each other tenant.
    let candidates: i64 =
        sqlx::query_scalar("SELECT count(*) FROM machine_words WHERE machine_words MATCH ?")
            .bind(licentric_server::db::reversed_word_phrase("Grace's MacBook Pro").unwrap())
            .fetch_one(&app.db())
            .await
            .unwrap();
    assert_eq!(candidates, 11 + 3 + 3);
}
