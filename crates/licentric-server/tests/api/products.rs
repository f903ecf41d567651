//! `/api/v1/products` and `/api/v1/policies`.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{error_code, spawn_app};

#[tokio::test]
async fn products_can_be_created_listed_paged_sorted_updated_and_deleted() {
    let app = spawn_app().await;
    for (name, prefix) in [("Zeta", "ZETA"), ("Alpha", "ALPHA"), ("Mid", "MID")] {
        let product = app
            .create(
                "/api/v1/products",
                json!({ "name": name, "keyPrefix": prefix }),
            )
            .await;
        assert_eq!(product["keyPrefix"], prefix);
        assert!(product["createdAt"].is_string());
    }
    // The demo product makes four.
    let (status, page) = app
        .admin(Method::GET, "/api/v1/products?limit=2&sort=name", None)
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 4);
    assert_eq!(page["hasMore"], true);
    let names: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Alpha", "Demo App"]);
    let (_, page) = app
        .admin(
            Method::GET,
            "/api/v1/products?limit=2&offset=2&sort=name",
            None,
        )
        .await;
    assert_eq!(page["hasMore"], false);
    assert_eq!(page["data"][1]["name"], "Zeta");
    let (_, page) = app
        .admin(Method::GET, "/api/v1/products?sort=-name&limit=1", None)
        .await;
    assert_eq!(page["data"][0]["name"], "Zeta");

    let id = page["data"][0]["id"].as_str().unwrap().to_owned();
    let (status, updated) = app
        .admin(
            Method::PATCH,
            &format!("/api/v1/products/{id}"),
            Some(json!({ "name": "Zeta 2", "keyPrefix": "zeta2" })),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        (updated["name"].as_str(), updated["keyPrefix"].as_str()),
        (Some("Zeta 2"), Some("ZETA2"))
    );
    let (status, _) = app
        .admin(Method::DELETE, &format!("/api/v1/products/{id}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, body) = app
        .admin(Method::GET, &format!("/api/v1/products/{id}"), None)
        .await;
    assert_eq!(error_code(status, &body, 404), "not_found");
}

#[tokio::test]
async fn product_fields_are_checked_and_every_problem_is_named() {
    let app = spawn_app().await;
    let (status, body) = app
        .admin(
            Method::POST,
            "/api/v1/products",
            Some(json!({ "name": " ", "keyPrefix": "1-bad" })),
        )
        .await;
    assert_eq!(error_code(status, &body, 400), "invalid_request");
    let details = &body["error"]["details"];
    assert!(
        details["name"].is_string() && details["keyPrefix"].is_string(),
        "{body}"
    );
    let (status, body) = app
        .admin(Method::GET, "/api/v1/products?sort=secret", None)
        .await;
    assert_eq!(error_code(status, &body, 400), "invalid_request");
    assert!(body["error"]["details"]["sort"]
        .as_str()
        .unwrap()
        .contains("name"));
    let (status, body) = app
        .admin(Method::GET, "/api/v1/products?limit=1000", None)
        .await;
    assert_eq!(error_code(status, &body, 400), "invalid_request");
    let (status, body) = app
        .admin(Method::GET, "/api/v1/products?limit=ten", None)
        .await;
    assert_eq!(error_code(status, &body, 400), "invalid_request");
}

#[tokio::test]
async fn a_product_with_licenses_cannot_be_deleted() {
    let app = spawn_app().await;
    let (status, body) = app
        .admin(
            Method::DELETE,
            &format!("/api/v1/products/{}", app.demo.product_id),
            None,
        )
        .await;
    assert_eq!(error_code(status, &body, 409), "product_has_licenses");
    let (status, body) = app
        .admin(
            Method::DELETE,
            &format!("/api/v1/policies/{}", app.demo.policy_id),
            None,
        )
        .await;
    assert_eq!(error_code(status, &body, 409), "policy_in_use");
    assert_eq!(body["error"]["details"]["licenses"], 1);
}

#[tokio::test]
async fn policies_default_to_one_node_locked_machine_and_check_their_rules() {
    let app = spawn_app().await;
    let product = app.demo.product_id.as_str();
    let policy = app
        .create(
            "/api/v1/policies",
            json!({ "productId": product, "name": "Basic" }),
        )
        .await;
    assert_eq!(policy["maxMachines"], 1);
    assert_eq!(policy["floating"], false);
    assert_eq!(policy["heartbeatInterval"], 600);
    assert_eq!(policy["offlineMaxDays"], 14);
    assert_eq!(policy["graceDays"], 7);
    assert!(policy["duration"].is_null() && policy["maxUses"].is_null());

    let site = app
        .create(
            "/api/v1/policies",
            json!({ "productId": product, "name": "Site", "floating": true }),
        )
        .await;
    assert!(
        site["maxMachines"].is_null(),
        "floating without a limit is unlimited: {site}"
    );

    let (status, body) = app
        .admin(
            Method::POST,
            "/api/v1/policies",
            Some(
                json!({ "productId": "nope", "name": "", "maxMachines": 5, "heartbeatInterval": 5,
                          "graceDays": 1000, "entitlements": ["Not A Code"] }),
            ),
        )
        .await;
    assert_eq!(error_code(status, &body, 400), "invalid_request");
    let details = &body["error"]["details"];
    for field in [
        "productId",
        "name",
        "maxMachines",
        "heartbeatInterval",
        "graceDays",
        "entitlements",
    ] {
        assert!(details[field].is_string(), "{field} missing in {details}");
    }
    assert!(details["maxMachines"]
        .as_str()
        .unwrap()
        .contains("floating"));

    let (status, body) = app
        .admin(
            Method::POST,
            "/api/v1/policies",
            Some(json!({ "productId": product, "name": "X", "entitlements": ["sso"] })),
        )
        .await;
    assert_eq!(error_code(status, &body, 400), "invalid_request");
    assert!(body["error"]["details"]["entitlements"]
        .as_str()
        .unwrap()
        .contains("sso"));
}

#[tokio::test]
async fn policies_are_filtered_by_product_and_updated_in_place() {
    let app = spawn_app().await;
    let other = app
        .create(
            "/api/v1/products",
            json!({ "name": "Other", "keyPrefix": "OTHER" }),
        )
        .await;
    let policy = app
        .create(
            "/api/v1/policies",
            json!({ "productId": other["id"], "name": "P" }),
        )
        .await;
    let (_, page) = app
        .admin(
            Method::GET,
            &format!(
                "/api/v1/policies?productId={}",
                other["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["data"][0]["id"], policy["id"]);

    app.create("/api/v1/entitlements", json!({ "code": "sso" }))
        .await;
    let path = format!("/api/v1/policies/{}", policy["id"].as_str().unwrap());
    let (status, updated) = app
        .admin(Method::PATCH, &path, Some(json!({ "floating": true, "maxMachines": 5, "requireHeartbeat": true,
                                                  "heartbeatInterval": 120, "duration": 86400, "entitlements": ["sso"] })))
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        (
            updated["maxMachines"].as_u64(),
            updated["heartbeatInterval"].as_u64()
        ),
        (Some(5), Some(120))
    );
    assert_eq!(updated["entitlements"], json!(["sso"]));
    let (_, fetched) = app.admin(Method::GET, &path, None).await;
    assert_eq!(fetched, updated);
    // Back to node-locked without saying a limit: one machine.
    let (_, locked) = app
        .admin(Method::PATCH, &path, Some(json!({ "floating": false })))
        .await;
    assert_eq!(locked["maxMachines"], 1);
}
