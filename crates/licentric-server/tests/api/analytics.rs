//! `/api/v1/analytics/…`.

use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app, Auth};

#[tokio::test]
async fn validations_activations_and_seats_are_counted_per_day_and_product() {
    let app = spawn_app().await;
    let key = app.demo.license_key.clone();
    app.validate(json!({ "key": key })).await;
    app.validate(json!({ "key": key })).await;
    app.validate(json!({ "key": key, "fingerprint": "unknown-machine" }))
        .await;
    app.activate(&key, "seat-one").await;
    app.activate(&key, "seat-two").await;
    app.clock.advance(Duration::days(1));
    app.validate(json!({ "key": key })).await;
    let (_, me) = app
        .call(
            Method::GET,
            "/api/v1/licenses/me",
            Auth::License(&key),
            None,
        )
        .await;
    let machine = me["machines"][0]["id"].as_str().unwrap();
    app.call(
        Method::DELETE,
        &format!("/api/v1/machines/{machine}"),
        Auth::License(&key),
        None,
    )
    .await;

    let (status, validations) = app
        .admin(
            Method::GET,
            "/api/v1/analytics/validations?from=2026-03-01&to=2026-03-02",
            None,
        )
        .await;
    assert_eq!(status, 200, "{validations}");
    assert_eq!(
        validations["data"],
        json!([
            { "date": "2026-03-01", "code": "FINGERPRINT_NOT_FOUND", "count": 1 },
            { "date": "2026-03-01", "code": "VALID", "count": 2 },
            { "date": "2026-03-02", "code": "VALID", "count": 1 },
        ])
    );
    let (_, activations) = app
        .admin(Method::GET, "/api/v1/analytics/activations", None)
        .await;
    assert_eq!(
        activations["data"],
        json!([
            { "date": "2026-03-01", "activations": 2, "deactivations": 0 },
            { "date": "2026-03-02", "activations": 0, "deactivations": 1 },
        ])
    );
    let (_, usage) = app
        .admin(Method::GET, "/api/v1/analytics/usage", None)
        .await;
    assert_eq!(
        usage["data"],
        json!([{ "productId": app.demo.product_id, "productName": "Demo App", "activeLicenses": 1, "seatsUsed": 1, "seatsTotal": 3 }])
    );
    let (_, other_product) = app
        .admin(
            Method::GET,
            "/api/v1/analytics/validations?productId=nope&from=2026-03-01&to=2026-03-02",
            None,
        )
        .await;
    assert_eq!(other_product["data"], json!([]));
}

#[tokio::test]
async fn analytics_ranges_are_checked() {
    let app = spawn_app().await;
    for query in [
        "from=2026-03-05&to=2026-03-01",
        "from=yesterday",
        "from=2020-01-01&to=2026-01-01",
    ] {
        let (status, body) = app
            .admin(
                Method::GET,
                &format!("/api/v1/analytics/validations?{query}"),
                None,
            )
            .await;
        assert_eq!(error_code(status, &body, 400), "invalid_request", "{query}");
    }
}

/// The dashboard's per-day series, `GET /api/v1/analytics/series{query}`.
async fn series(app: &crate::helpers::TestApp, key: &str, query: &str) -> Value {
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/api/v1/analytics/series{query}"),
            Auth::Bearer(key),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// `(date, validations of each code that is not zero, total, activations, deactivations,
/// active machines)` of each day, so a test can state a whole series in a few lines.
fn rows(series: &Value) -> Vec<Value> {
    series["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|day| {
            let codes = day["validations"].as_object().unwrap();
            assert_eq!(codes.len(), 11, "every code on every day: {day}");
            let nonzero: serde_json::Map<String, Value> = codes
                .iter()
                .filter(|(_, n)| *n != 0)
                .map(|(c, n)| (c.clone(), n.clone()))
                .collect();
            json!([
                day["date"],
                nonzero,
                day["validationsTotal"],
                day["activations"],
                day["deactivations"],
                day["activeMachines"]
            ])
        })
        .collect()
}

#[tokio::test]
async fn the_series_has_every_day_of_the_range_with_zeros_and_machines_at_each_days_end() {
    let app = spawn_app().await;
    let key = app.demo.license_key.clone();
    // 1 March: three validations, two machines.
    app.validate(json!({ "key": key })).await;
    app.validate(json!({ "key": key })).await;
    app.validate(json!({ "key": key, "fingerprint": "unknown-machine" }))
        .await;
    activated(&app, &key, "seat-one-machine").await;
    activated(&app, &key, "seat-two-machine").await;
    // 2 March: nothing. 3 March: one validation, one machine deactivated, one activated
    // and deactivated again.
    app.clock.advance(Duration::days(2));
    app.validate(json!({ "key": key })).await;
    let (_, me) = app
        .call(
            Method::GET,
            "/api/v1/licenses/me",
            Auth::License(&key),
            None,
        )
        .await;
    let machine = me["machines"][0]["id"].as_str().unwrap().to_owned();
    deactivate(&app, &key, &machine).await;
    let third = activated(&app, &key, "seat-three-machine").await;
    deactivate(&app, &key, third["id"].as_str().unwrap()).await;

    let body = series(&app, &app.api_key, "?from=2026-02-27&to=2026-03-05").await;
    assert_eq!(body["from"], "2026-02-27");
    assert_eq!(body["to"], "2026-03-05");
    assert_eq!(body["productId"], Value::Null);
    assert_eq!(
        rows(&body),
        [
            json!(["2026-02-27", {}, 0, 0, 0, 0]),
            json!(["2026-02-28", {}, 0, 0, 0, 0]),
            json!(["2026-03-01", { "FINGERPRINT_NOT_FOUND": 1, "VALID": 2 }, 3, 2, 0, 2]),
            json!(["2026-03-02", {}, 0, 0, 0, 2]),
            json!(["2026-03-03", { "VALID": 1 }, 1, 1, 2, 1]),
            // Days that have not begun: no machines yet, not zero machines.
            json!(["2026-03-04", {}, 0, 0, 0, null]),
            json!(["2026-03-05", {}, 0, 0, 0, null]),
        ]
    );

    // Counted back from now, so a range that ends before today still knows its machines.
    let body = series(&app, &app.api_key, "?from=2026-03-01&to=2026-03-02").await;
    let active: Vec<&Value> = body["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["activeMachines"])
        .collect();
    assert_eq!(active, [&json!(2), &json!(2)]);

    // The default range: the 30 days up to today, all present.
    let body = series(&app, &app.api_key, "").await;
    let days = body["days"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    assert_eq!(days[0]["date"], "2026-02-02");
    assert_eq!(days[29]["date"], "2026-03-03");
    assert_eq!(days[29]["activeMachines"], 1);
}

async fn deactivate(app: &crate::helpers::TestApp, key: &str, machine: &str) {
    let (status, body) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/machines/{machine}"),
            Auth::License(key),
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");
}

#[tokio::test]
async fn the_series_counts_one_product_and_only_the_accounts_own_environment() {
    let app = spawn_app().await;
    let demo_key = app.demo.license_key.clone();
    let pro = app
        .license_with_policy(json!({ "floating": true, "maxMachines": 5 }))
        .await;
    let pro_key = pro["key"].as_str().unwrap().to_owned();
    let pro_product = pro["productId"].as_str().unwrap().to_owned();
    app.validate(json!({ "key": demo_key })).await;
    activated(&app, &demo_key, "demo-1-machine").await;
    for fingerprint in ["pro-1", "pro-2", "pro-3"] {
        activated(&app, &pro_key, &format!("{fingerprint}-machine")).await;
    }
    app.validate(json!({ "key": pro_key })).await;
    app.validate(json!({ "key": pro_key })).await;
    // Another account's activity, on the same days, is never counted.
    let (other_api_key, other) = app.other_account().await;
    app.validate(json!({ "key": other.license_key })).await;
    activated(&app, &other.license_key, "theirs-machine").await;
    app.clock.advance(Duration::days(1));
    // A license deleted with its machines takes them out of the count.
    let (status, _) = app
        .admin(
            Method::DELETE,
            &format!("/api/v1/licenses/{}", pro["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 204);

    let range = "from=2026-03-01&to=2026-03-02";
    let all = series(&app, &app.api_key, &format!("?{range}")).await;
    assert_eq!(
        rows(&all),
        [
            json!(["2026-03-01", { "VALID": 3 }, 3, 4, 0, 4]),
            json!(["2026-03-02", {}, 0, 0, 3, 1]),
        ]
    );
    let pro_only = series(
        &app,
        &app.api_key,
        &format!("?{range}&productId={pro_product}"),
    )
    .await;
    assert_eq!(pro_only["productId"], pro_product.as_str());
    assert_eq!(
        rows(&pro_only),
        [
            json!(["2026-03-01", { "VALID": 2 }, 2, 3, 0, 3]),
            json!(["2026-03-02", {}, 0, 0, 3, 0]),
        ]
    );
    let demo_only = series(
        &app,
        &app.api_key,
        &format!("?{range}&productId={}", app.demo.product_id),
    )
    .await;
    assert_eq!(
        rows(&demo_only),
        [
            json!(["2026-03-01", { "VALID": 1 }, 1, 1, 0, 1]),
            json!(["2026-03-02", {}, 0, 0, 0, 1]),
        ]
    );
    // The other account sees its own, and not ours even when it names our product.
    let theirs = series(&app, &other_api_key, &format!("?{range}")).await;
    assert_eq!(
        rows(&theirs),
        [
            json!(["2026-03-01", { "VALID": 1 }, 1, 1, 0, 1]),
            json!(["2026-03-02", {}, 0, 0, 0, 1]),
        ]
    );
    let named = series(
        &app,
        &other_api_key,
        &format!("?{range}&productId={pro_product}"),
    )
    .await;
    assert_eq!(
        rows(&named),
        [
            json!(["2026-03-01", {}, 0, 0, 0, 0]),
            json!(["2026-03-02", {}, 0, 0, 0, 0]),
        ]
    );
    // The test environment of our own account has seen nothing.
    let test = series(&app, &app.test_api_key, &format!("?{range}")).await;
    assert_eq!(
        rows(&test),
        [
            json!(["2026-03-01", {}, 0, 0, 0, 0]),
            json!(["2026-03-02", {}, 0, 0, 0, 0]),
        ]
    );
}

#[tokio::test]
async fn seats_are_counted_per_product_and_policy_with_unlimited_policies_apart() {
    let app = spawn_app().await;
    let demo_key = app.demo.license_key.clone();
    activated(&app, &demo_key, "demo-1-machine").await;
    activated(&app, &demo_key, "demo-2-machine").await;
    // A suspended license of the demo policy counts nowhere.
    let suspended = app
        .create(
            "/api/v1/licenses",
            json!({ "policyId": app.demo.policy_id }),
        )
        .await;
    activated(
        &app,
        suspended["key"].as_str().unwrap(),
        "suspended-1-machine",
    )
    .await;
    let (status, _) = app
        .admin(
            Method::POST,
            &format!(
                "/api/v1/licenses/{}/suspend",
                suspended["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(status, 200);
    // Pro App: an unlimited floating policy with one license and two machines, and a
    // node-locked one with two licenses and one machine.
    let unlimited = app
        .license_with_policy(json!({ "floating": true, "maxMachines": null }))
        .await;
    let unlimited_key = unlimited["key"].as_str().unwrap();
    activated(&app, unlimited_key, "u-1-machine").await;
    activated(&app, unlimited_key, "u-2-machine").await;
    let pro_product = unlimited["productId"].as_str().unwrap().to_owned();
    let locked = app
        .create(
            "/api/v1/policies",
            json!({ "productId": pro_product, "name": "Locked" }),
        )
        .await;
    let locked_one = app
        .create("/api/v1/licenses", json!({ "policyId": locked["id"] }))
        .await;
    app.create("/api/v1/licenses", json!({ "policyId": locked["id"] }))
        .await;
    activated(&app, locked_one["key"].as_str().unwrap(), "l-1-machine").await;
    let (other_api_key, _) = app.other_account().await;

    let (status, report) = app
        .admin(Method::GET, "/api/v1/analytics/seats", None)
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["asOf"], "2026-03-01T09:00:00Z");
    let seats = |active, used, available, unlimited, on_unlimited| {
        json!({ "activeLicenses": active, "machinesUsed": used, "seatsAvailable": available,
                "unlimitedLicenses": unlimited, "machinesOnUnlimited": on_unlimited })
    };
    assert_eq!(
        report["products"],
        json!([
            { "productId": app.demo.product_id, "productName": "Demo App", "seats": seats(1, 2, 3, 0, 0) },
            { "productId": pro_product, "productName": "Pro App", "seats": seats(3, 3, 2, 1, 2) },
        ])
    );
    assert_eq!(
        report["policies"],
        json!([
            { "policyId": app.demo.policy_id, "policyName": "Standard (3 machines, 1 year)",
              "productId": app.demo.product_id, "seats": seats(1, 2, 3, 0, 0) },
            { "policyId": locked["id"], "policyName": "Locked",
              "productId": pro_product, "seats": seats(2, 1, 2, 0, 0) },
            { "policyId": unlimited["policyId"], "policyName": "Policy",
              "productId": pro_product, "seats": seats(1, 2, 0, 1, 2) },
        ])
    );

    let (_, one) = app
        .admin(
            Method::GET,
            &format!("/api/v1/analytics/seats?productId={pro_product}"),
            None,
        )
        .await;
    assert_eq!(one["products"].as_array().unwrap().len(), 1);
    assert_eq!(one["products"][0]["seats"], seats(3, 3, 2, 1, 2));
    assert_eq!(one["policies"].as_array().unwrap().len(), 2);

    // Expired licenses stop counting when their day comes (the demo's runs one year).
    app.clock.advance(Duration::days(366));
    let (_, later) = app
        .admin(
            Method::GET,
            &format!("/api/v1/analytics/seats?productId={}", app.demo.product_id),
            None,
        )
        .await;
    assert_eq!(later["products"][0]["seats"], seats(0, 0, 0, 0, 0));

    // Another account sees only its own demo product.
    let (_, theirs) = app
        .call(
            Method::GET,
            "/api/v1/analytics/seats",
            Auth::Bearer(&other_api_key),
            None,
        )
        .await;
    assert_eq!(theirs["products"].as_array().unwrap().len(), 1);
    assert_ne!(
        theirs["products"][0]["productId"],
        app.demo.product_id.as_str()
    );
    assert_eq!(theirs["policies"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn expiring_licenses_are_counted_in_7_30_and_90_day_windows_from_the_servers_clock() {
    let app = spawn_app().await;
    let now = app.clock_now();
    let license_expiring_in = |days: i64| json!({ "policyId": app.demo.policy_id, "expiresAt": (now + Duration::days(days)).to_rfc3339() });
    for days in [3, 20, 60, 200] {
        app.create("/api/v1/licenses", license_expiring_in(days))
            .await;
    }
    // A suspended license is not counted, whenever it expires.
    let suspended = app.create("/api/v1/licenses", license_expiring_in(5)).await;
    app.admin(
        Method::POST,
        &format!(
            "/api/v1/licenses/{}/suspend",
            suspended["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    let other_product = app
        .license_with_policy(json!({ "duration": 10 * 86_400 }))
        .await;
    let (other_api_key, _) = app.other_account().await;

    let expiring = |key: String, query: String| {
        let app = &app;
        async move {
            let (status, body) = app
                .call(
                    Method::GET,
                    &format!("/api/v1/analytics/expiring{query}"),
                    Auth::Bearer(&key),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    let counts = |body: &Value| -> Vec<u64> {
        body["windows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["count"].as_u64().unwrap())
            .collect()
    };
    let all = expiring(app.api_key.clone(), String::new()).await;
    assert_eq!(all["asOf"], "2026-03-01T09:00:00Z");
    assert_eq!(all["productId"], Value::Null);
    assert_eq!(
        all["windows"],
        json!([
            { "days": 7, "expiresBefore": "2026-03-08T09:00:00Z", "count": 1 },
            { "days": 30, "expiresBefore": "2026-03-31T09:00:00Z", "count": 3 },
            { "days": 90, "expiresBefore": "2026-05-30T09:00:00Z", "count": 4 },
        ])
    );
    let demo = expiring(
        app.api_key.clone(),
        format!("?productId={}", app.demo.product_id),
    )
    .await;
    assert_eq!(counts(&demo), [1, 2, 3]);
    let other = expiring(
        app.api_key.clone(),
        format!(
            "?productId={}",
            other_product["productId"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(counts(&other), [0, 1, 1]);

    // Ten days on: the 3-day license has expired, the others are ten days closer.
    app.clock.advance(Duration::days(10));
    let later = expiring(app.api_key.clone(), String::new()).await;
    assert_eq!(later["asOf"], "2026-03-11T09:00:00Z");
    assert_eq!(counts(&later), [0, 1, 2]);

    let theirs = expiring(other_api_key, String::new()).await;
    assert_eq!(counts(&theirs), [0, 0, 0]);
    let test = expiring(app.test_api_key.clone(), String::new()).await;
    assert_eq!(counts(&test), [0, 0, 0]);
}

#[tokio::test]
async fn the_dashboard_routes_check_their_queries_and_scope_and_are_documented() {
    let app = spawn_app().await;
    for query in [
        "from=2026-03-05&to=2026-03-01",
        "from=yesterday",
        "to=2026-13-01",
        "from=2020-01-01&to=2026-01-01",
        "product=x",
    ] {
        let (status, body) = app
            .admin(
                Method::GET,
                &format!("/api/v1/analytics/series?{query}"),
                None,
            )
            .await;
        assert_eq!(error_code(status, &body, 400), "invalid_request", "{query}");
    }
    // 366 days is the longest range.
    let body = series(&app, &app.api_key, "?from=2025-03-01&to=2026-03-01").await;
    assert_eq!(body["days"].as_array().unwrap().len(), 366);
    for path in ["seats", "expiring"] {
        let (status, body) = app
            .admin(
                Method::GET,
                &format!("/api/v1/analytics/{path}?from=2026-03-01"),
                None,
            )
            .await;
        assert_eq!(error_code(status, &body, 400), "invalid_request", "{path}");
    }

    let (status, licenses_only) = app
        .admin(
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({ "name": "no analytics", "scopes": ["licenses:read"] })),
        )
        .await;
    assert_eq!(status, 201);
    let key = licenses_only["key"].as_str().unwrap();
    for path in ["series", "seats", "expiring"] {
        let (status, body) = app
            .call(
                Method::GET,
                &format!("/api/v1/analytics/{path}"),
                Auth::Bearer(key),
                None,
            )
            .await;
        assert_eq!(error_code(status, &body, 403), "forbidden", "{path}");
        let (status, _) = app
            .call(
                Method::GET,
                &format!("/api/v1/analytics/{path}"),
                Auth::None,
                None,
            )
            .await;
        assert_eq!(status, 401, "{path}");
    }

    let (_, doc) = app
        .call(Method::GET, "/api/v1/openapi.json", Auth::None, None)
        .await;
    for path in ["series", "seats", "expiring"] {
        let operation = &doc["paths"][format!("/api/v1/analytics/{path}")]["get"];
        assert!(operation["responses"]["200"].is_object(), "{path}");
        assert!(
            operation["description"].as_str().unwrap_or_default().len()
                + operation["summary"].as_str().unwrap_or_default().len()
                > 0,
            "{path}"
        );
    }
    let schemas = &doc["components"]["schemas"];
    for schema in [
        "AnalyticsSeries",
        "AnalyticsDay",
        "SeatsReport",
        "ProductSeats",
        "PolicySeats",
        "Seats",
        "ExpiringLicenses",
        "ExpiryWindow",
    ] {
        assert!(schemas[schema].is_object(), "{schema} is not documented");
    }
}

/// Activates `fingerprint` on the license with this key, asserting it is new; returns the
/// machine.
async fn activated(app: &crate::helpers::TestApp, key: &str, fingerprint: &str) -> Value {
    let (status, machine) = app.activate(key, fingerprint).await;
    assert_eq!(status, 201, "{machine}");
    machine
}
