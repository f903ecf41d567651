//! Regression tests for the faults an attacker found (issue 12): each fails without its fix.

use std::time::Duration;

use licentric_core::Scope;
use licentric_server::{
    rate_limit::{Quota, RateLimits},
    Settings,
};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{error_code, spawn_app, spawn_app_with, test_settings, Auth, TestApp};

fn limits(anonymous: u32, auth_failures: u32) -> Settings {
    let quota = |requests| Quota {
        requests,
        period: Duration::from_secs(60),
    };
    Settings {
        rate_limits: RateLimits {
            anonymous: quota(anonymous),
            auth_failures: quota(auth_failures),
            ..RateLimits::default()
        },
        ..test_settings()
    }
}

fn random_credential(n: usize) -> String {
    format!("{:032x}", u128::from(n as u64) * 0x9E37_79B9_7F4A_7C15)
}

// --- 1. Rate limits cannot be sidestepped with made-up credentials ---------------------

/// Two server processes on one database (a second server on the test server's
/// database, with a limiter of its own): on PostgreSQL the buckets live in the database,
/// so together they allow exactly what one would; SQLite, one process per file, keeps
/// each process's buckets in its memory.
#[tokio::test]
async fn two_servers_on_one_postgresql_share_the_rate_limits() {
    use std::sync::Arc;
    let app = spawn_app_with(limits(10, 1000)).await;
    let state = licentric_server::AppState::with_settings(
        app.database.clone(),
        Arc::new(app.clock.clone()),
        limits(10, 1000),
    );
    let other = licentric_server::Application::with_state("127.0.0.1:0".parse().unwrap(), state)
        .await
        .unwrap()
        .spawn();
    let bases = [app.base_url.clone(), other.base_url()];
    let requests = (0..40).map(|n| {
        let url = format!("{}/api/v1/licenses/validate-key", bases[n % 2]);
        let request = app
            .http
            .post(url)
            .json(&json!({ "key": app.demo.license_key }));
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let statuses = futures_util::future::join_all(requests).await;
    let allowed = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(allowed + refused, 40, "{statuses:?}");
    let expected = if crate::helpers::on_postgres() {
        10
    } else {
        20
    };
    assert_eq!(allowed, expected, "{statuses:?}");
}

#[tokio::test]
async fn made_up_credentials_spend_the_address_budget_not_a_fresh_one() {
    let app = spawn_app_with(limits(3, 1000)).await;
    let key = app.demo.license_key.clone();
    for _ in 0..3 {
        assert_eq!(app.validate(json!({ "key": key })).await.0, 200);
    }
    let (status, body) = app.validate(json!({ "key": key })).await;
    assert_eq!(error_code(status, &body, 429), "rate_limited");
    for n in 0..40 {
        let credential = random_credential(n);
        let header = if n % 2 == 0 {
            format!("License {credential}")
        } else {
            format!("Bearer lk_live_{credential}")
        };
        let response = app
            .http
            .post(app.url("/api/v1/licenses/validate-key"))
            .header("authorization", header)
            .json(&json!({ "key": key }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 429, "attempt {n} got a fresh budget");
        assert!(response.headers().contains_key("retry-after"));
    }
    // A credential that verifies has a budget of its own.
    let (status, _) = app.admin(Method::GET, "/api/v1/products", None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn repeated_failed_authentication_locks_the_address_out_and_is_audited() {
    let app = spawn_app_with(limits(1000, 10)).await;
    let routes = [
        (Method::GET, "/api/v1/licenses/me", true),
        (Method::POST, "/api/v1/machines", true),
        (Method::GET, "/api/v1/products", false),
    ];
    let (mut unauthorized, mut locked) = (0, 0);
    for n in 0..120 {
        let (method, path, license) = &routes[n % routes.len()];
        let credential = random_credential(n);
        let auth = if *license {
            Auth::License(&credential)
        } else {
            Auth::Bearer(&credential)
        };
        let body = (*method == Method::POST).then(|| json!({ "fingerprint": "f".repeat(32) }));
        let (status, answer) = app.call(method.clone(), path, auth, body).await;
        match status {
            401 => unauthorized += 1,
            429 => {
                assert_eq!(error_code(status, &answer, 429), "too_many_failures");
                locked += 1;
            }
            other => panic!("unexpected {other}: {answer}"),
        }
    }
    assert_eq!((unauthorized, locked), (10, 110));

    // The lockout says when to come back, and names no secret.
    let response = app
        .http
        .get(app.url("/api/v1/products"))
        .bearer_auth("lk_live_guess")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Unauthenticated calls from the address are refused too; a valid key still works.
    let (status, _) = app.validate(json!({ "key": app.demo.license_key })).await;
    assert_eq!(status, 429);
    assert_eq!(
        app.admin(Method::GET, "/api/v1/products", None).await.0,
        200
    );
    let (status, _) = app
        .call(
            Method::GET,
            "/api/v1/licenses/me",
            Auth::License(&app.demo.license_key),
            None,
        )
        .await;
    assert_eq!(status, 200);

    // One audit event for the lockout, naming the address.
    let events = app
        .all_rows(
            "SELECT action, actor_id, CAST(changes AS TEXT) FROM audit_events WHERE account_id IS NULL",
        )
        .await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0][0].as_deref(), Some("auth.locked_out"));
    assert_eq!(events[0][1].as_deref(), Some("127.0.0.1"));
    assert!(!events[0][2].as_deref().unwrap().contains("guess"));
}

#[tokio::test]
async fn guessing_license_keys_through_validate_key_locks_the_address_out() {
    let app = spawn_app_with(limits(1000, 5)).await;
    for n in 0..5 {
        let (status, body) = app
            .validate(json!({ "key": format!("DEMO-{}", random_credential(n)) }))
            .await;
        assert_eq!((status, body["code"].as_str()), (200, Some("NOT_FOUND")));
    }
    let (status, body) = app.validate(json!({ "key": app.demo.license_key })).await;
    assert_eq!(error_code(status, &body, 429), "too_many_failures");
}

// --- 3. No write behind a 403 --------------------------------------------------------

/// One write route: its method, path, body and the scope it needs. Each call makes fresh
/// records with the admin key, so the write has something to act on.
async fn write_route(
    app: &TestApp,
    case: usize,
    n: usize,
) -> Option<(Method, String, Option<Value>, Scope)> {
    let product = || async {
        app.create(
            "/api/v1/products",
            json!({ "name": format!("P{n}"), "keyPrefix": format!("P{n}X") }),
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let policy = |duration: Option<u32>| async move {
        app.create(
            "/api/v1/policies",
            json!({ "productId": app.demo.product_id, "name": format!("Q{n}"), "duration": duration }),
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let license = |duration: Option<u32>| async move {
        let policy = policy(duration).await;
        app.create("/api/v1/licenses", json!({ "policyId": policy }))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let entitlement = || async {
        app.create(
            "/api/v1/entitlements",
            json!({ "code": format!("code-{n}") }),
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let machine = || async {
        let license = license(None).await;
        app.create(
            "/api/v1/machines",
            json!({ "licenseId": license, "fingerprint": format!("fingerprint-{n}") }),
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let webhook = || async {
        app.create(
            "/api/v1/webhooks",
            json!({ "url": "http://127.0.0.1:9/hook" }),
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    use Method as M;
    use Scope as S;
    let route = match case {
        0 => (
            M::POST,
            "/api/v1/products".into(),
            Some(json!({ "name": "N", "keyPrefix": format!("N{n}N") })),
            S::ProductsWrite,
        ),
        1 => (
            M::PATCH,
            format!("/api/v1/products/{}", product().await),
            Some(json!({ "name": "Renamed" })),
            S::ProductsWrite,
        ),
        2 => (
            M::DELETE,
            format!("/api/v1/products/{}", product().await),
            None,
            S::ProductsWrite,
        ),
        3 => (
            M::POST,
            "/api/v1/signing-keys/rotate".into(),
            None,
            S::ProductsWrite,
        ),
        4 => (
            M::POST,
            "/api/v1/policies".into(),
            Some(json!({ "productId": app.demo.product_id, "name": "Q" })),
            S::PoliciesWrite,
        ),
        5 => (
            M::PATCH,
            format!("/api/v1/policies/{}", policy(None).await),
            Some(json!({ "name": "Renamed" })),
            S::PoliciesWrite,
        ),
        6 => (
            M::DELETE,
            format!("/api/v1/policies/{}", policy(None).await),
            None,
            S::PoliciesWrite,
        ),
        7 => (
            M::POST,
            "/api/v1/entitlements".into(),
            Some(json!({ "code": format!("new-{n}") })),
            S::EntitlementsWrite,
        ),
        8 => (
            M::PATCH,
            format!("/api/v1/entitlements/{}", entitlement().await),
            Some(json!({ "name": "Renamed" })),
            S::EntitlementsWrite,
        ),
        9 => (
            M::DELETE,
            format!("/api/v1/entitlements/{}", entitlement().await),
            None,
            S::EntitlementsWrite,
        ),
        10 => (
            M::POST,
            "/api/v1/licenses".into(),
            Some(json!({ "policyId": app.demo.policy_id })),
            S::LicensesWrite,
        ),
        11 => (
            M::PATCH,
            format!("/api/v1/licenses/{}", license(None).await),
            Some(json!({ "name": "Renamed" })),
            S::LicensesWrite,
        ),
        12 => (
            M::DELETE,
            format!("/api/v1/licenses/{}", license(None).await),
            None,
            S::LicensesWrite,
        ),
        13 => (
            M::POST,
            format!("/api/v1/licenses/{}/suspend", license(None).await),
            None,
            S::LicensesWrite,
        ),
        14 => {
            let id = license(None).await;
            assert_eq!(
                app.admin(M::POST, &format!("/api/v1/licenses/{id}/suspend"), None)
                    .await
                    .0,
                200
            );
            (
                M::POST,
                format!("/api/v1/licenses/{id}/reinstate"),
                None,
                S::LicensesWrite,
            )
        }
        15 => (
            M::POST,
            format!("/api/v1/licenses/{}/revoke", license(None).await),
            None,
            S::LicensesWrite,
        ),
        16 => (
            M::POST,
            format!("/api/v1/licenses/{}/ban", license(None).await),
            None,
            S::LicensesWrite,
        ),
        17 => (
            M::POST,
            format!("/api/v1/licenses/{}/renew", license(Some(86_400)).await),
            None,
            S::LicensesWrite,
        ),
        18 => {
            entitlement().await;
            (
                M::POST,
                format!("/api/v1/licenses/{}/entitlements", license(None).await),
                Some(json!({ "entitlements": [format!("code-{n}")] })),
                S::LicensesWrite,
            )
        }
        19 => {
            entitlement().await;
            let id = license(None).await;
            let attach = json!({ "entitlements": [format!("code-{n}")] });
            assert_eq!(
                app.admin(
                    M::POST,
                    &format!("/api/v1/licenses/{id}/entitlements"),
                    Some(attach)
                )
                .await
                .0,
                200
            );
            (
                M::DELETE,
                format!("/api/v1/licenses/{id}/entitlements/code-{n}"),
                None,
                S::LicensesWrite,
            )
        }
        20 => (
            M::POST,
            "/api/v1/machines".into(),
            Some(
                json!({ "licenseId": license(None).await, "fingerprint": format!("new-fingerprint-{n}") }),
            ),
            S::MachinesWrite,
        ),
        21 => (
            M::DELETE,
            format!("/api/v1/machines/{}", machine().await),
            None,
            S::MachinesWrite,
        ),
        22 => (
            M::POST,
            format!("/api/v1/machines/{}/heartbeat", machine().await),
            None,
            S::MachinesWrite,
        ),
        23 => (
            M::POST,
            "/api/v1/webhooks".into(),
            Some(json!({ "url": "http://127.0.0.1:9/new" })),
            S::WebhooksWrite,
        ),
        24 => (
            M::PATCH,
            format!("/api/v1/webhooks/{}", webhook().await),
            Some(json!({ "enabled": false })),
            S::WebhooksWrite,
        ),
        25 => (
            M::DELETE,
            format!("/api/v1/webhooks/{}", webhook().await),
            None,
            S::WebhooksWrite,
        ),
        26 => (
            M::POST,
            format!("/api/v1/webhooks/{}/rotate-secret", webhook().await),
            None,
            S::WebhooksWrite,
        ),
        27 => (
            M::POST,
            "/api/v1/licenses/bulk".into(),
            Some(json!({ "policyId": app.demo.policy_id, "count": 2 })),
            S::LicensesWrite,
        ),
        28 => (
            M::POST,
            "/api/v1/licenses/actions".into(),
            Some(json!({ "action": "suspend", "ids": [license(None).await] })),
            S::LicensesWrite,
        ),
        // The import takes CSV, not JSON: its scope is tested in console.rs.
        29 => (
            M::POST,
            format!("/api/v1/webhooks/{}/test", webhook().await),
            None,
            S::WebhooksWrite,
        ),
        _ => return None,
    };
    Some(route)
}

async fn key_with(app: &TestApp, scopes: &[Scope]) -> String {
    let scopes: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    let key = app
        .create(
            "/api/v1/api-keys",
            json!({ "name": "scoped", "scopes": scopes }),
        )
        .await;
    let key = key["key"].as_str().unwrap().to_owned();
    // Its first use marks it used; do that now, so later calls write nothing of their own.
    app.call(Method::GET, "/api/v1/api-keys", Auth::Bearer(&key), None)
        .await;
    key
}

/// Watches the server's database for writes: on SQLite `PRAGMA data_version` of one
/// connection, which changes when any other connection commits; on PostgreSQL a digest of
/// every row of every table of the test server's database (read by a superuser, past
/// row-level security), but for the rate-limit buckets, which every request takes from.
enum Watcher {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Postgres(sqlx::PgPool),
}

impl Watcher {
    async fn new(app: &TestApp) -> Self {
        match &app.database {
            licentric_server::db::Db::Sqlite(pool) => Self::Sqlite(pool.acquire().await.unwrap()),
            licentric_server::db::Db::Postgres(pool) => {
                let database = pool.connect_options().get_database().unwrap().to_owned();
                let options = sqlx::postgres::PgConnectOptions::new().database(&database);
                Self::Postgres(sqlx::PgPool::connect_with(options).await.unwrap())
            }
        }
    }

    /// What changes when anything is committed.
    async fn mark(&mut self) -> String {
        match self {
            Self::Sqlite(connection) => sqlx::query_scalar::<_, i64>("PRAGMA data_version")
                .fetch_one(&mut **connection)
                .await
                .unwrap()
                .to_string(),
            Self::Postgres(superuser) => {
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT relname::text FROM pg_class
                      WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'
                        AND relname NOT IN ('_sqlx_migrations', 'rate_buckets') ORDER BY 1",
                )
                .fetch_all(&*superuser)
                .await
                .unwrap();
                let mut digest = String::new();
                for table in tables {
                    let rows: String = sqlx::query_scalar(&format!(
                        "SELECT coalesce(md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))), '')
                           FROM \"{table}\" t"
                    ))
                    .fetch_one(&*superuser)
                    .await
                    .unwrap();
                    digest.push_str(&format!("{table}:{rows} "));
                }
                digest
            }
        }
    }

    /// Waits until the delivery worker has made its first attempt at every webhook event
    /// so far (the test's endpoint refuses, and the next try is a minute away): that
    /// attempt is a write of the worker's own, which would otherwise land between a 403's
    /// two marks now and then.
    async fn webhooks_attempted(&mut self) {
        let sql =
            "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND attempts = 0";
        let started = std::time::Instant::now();
        loop {
            let waiting: i64 = match self {
                Self::Sqlite(connection) => sqlx::query_scalar(sql)
                    .fetch_one(&mut **connection)
                    .await
                    .unwrap(),
                Self::Postgres(superuser) => sqlx::query_scalar(sql)
                    .fetch_one(&*superuser)
                    .await
                    .unwrap(),
            };
            if waiting == 0 {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{waiting} deliveries never attempted"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test]
async fn every_write_route_needs_only_its_write_scope_and_a_403_writes_nothing() {
    let app = spawn_app().await;
    let mut watcher = Watcher::new(&app).await;
    let mut n = 0;
    for case in 0.. {
        n += 1;
        let Some((method, path, body, scope)) = write_route(&app, case, n).await else {
            break;
        };
        // Every scope but the one it needs: refused, and nothing is committed.
        let others: Vec<Scope> = Scope::ALL.into_iter().filter(|s| *s != scope).collect();
        let without = key_with(&app, &others).await;
        watcher.webhooks_attempted().await;
        let before = watcher.mark().await;
        let (status, answer) = app
            .call(method.clone(), &path, Auth::Bearer(&without), body.clone())
            .await;
        assert_eq!(
            error_code(status, &answer, 403),
            "forbidden",
            "{method} {path}"
        );
        assert_eq!(
            watcher.mark().await,
            before,
            "{method} {path} wrote to the database and then answered 403"
        );
        // Its write scope alone: the write succeeds and its answer is allowed too.
        let only = key_with(&app, &[scope]).await;
        let (status, answer) = app
            .call(method.clone(), &path, Auth::Bearer(&only), body)
            .await;
        assert!(
            (200..300).contains(&status),
            "{method} {path} with only {scope}: {status} {answer}"
        );
    }
    assert!(n > 29, "the route list ran out early");
}

// --- 4. A refused request leaves its connection usable ---------------------------------

/// Sends `head`, then `body` after a pause, on `stream`; returns the status line.
async fn exchange(stream: &mut TcpStream, head: &str, body: &str) -> String {
    stream.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(30)).await;
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    // Read until the headers and the whole Content-Length body are in.
    loop {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
            .await
            .expect("no answer within 5 s: the connection hangs")
            .unwrap();
        assert!(
            read > 0,
            "the server closed the connection instead of answering"
        );
        answer.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&answer);
        if let Some((headers, rest)) = text.split_once("\r\n\r\n") {
            let length = headers
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if rest.len() >= length {
                return headers.lines().next().unwrap().to_owned();
            }
        }
    }
}

#[tokio::test]
async fn a_request_refused_before_its_body_arrived_leaves_the_connection_usable() {
    let app = spawn_app().await;
    let address = app.base_url.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).await.unwrap();
    let body = json!({ "fingerprint": "f".repeat(32) }).to_string();
    for attempt in 0..5 {
        let head = format!(
            "POST /api/v1/machines HTTP/1.1\r\nHost: {address}\r\nAuthorization: License NOPE-{attempt}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let status = exchange(&mut stream, &head, &body).await;
        assert!(status.contains(" 401 "), "attempt {attempt}: {status}");
    }
    // And the same connection still answers an ordinary request.
    let head = format!("GET /health HTTP/1.1\r\nHost: {address}\r\n\r\n");
    assert!(exchange(&mut stream, &head, "").await.contains(" 200 "));
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_and_the_connection_closed() {
    let app = spawn_app().await;
    let address = app.base_url.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/v1/licenses/validate-key HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer))
        .await
        .expect("the connection was not closed")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(answer.contains("payload_too_large"), "{answer}");
}

// --- 5. A JSON array is not an object ------------------------------------------------

#[tokio::test]
async fn json_arrays_are_refused_where_objects_are_required() {
    let app = spawn_app().await;
    let product = format!("/api/v1/products/{}", app.demo.product_id);
    let (_, before) = app.admin(Method::GET, &product, None).await;

    let (status, body) = app.admin(Method::PATCH, &product, Some(json!(["x"]))).await;
    assert_eq!(error_code(status, &body, 400), "invalid_request");
    assert_eq!(body["error"]["details"]["body"], "must be a JSON object");
    let (_, after) = app.admin(Method::GET, &product, None).await;
    assert_eq!(after["name"], before["name"], "the product was renamed");

    let (status, body) = app.validate(json!([app.demo.license_key])).await;
    assert_eq!(error_code(status, &body, 400), "invalid_request");

    let license = app.demo.license_id.clone();
    for path in [
        product.clone(),
        format!("/api/v1/licenses/{license}"),
        format!("/api/v1/policies/{}", app.demo.policy_id),
    ] {
        let (status, body) = app.admin(Method::PATCH, &path, Some(json!([]))).await;
        assert_eq!(
            error_code(status, &body, 400),
            "invalid_request",
            "PATCH {path}"
        );
    }
    let (status, body) = app
        .admin(
            Method::POST,
            &format!("/api/v1/licenses/{license}/offline-file"),
            Some(json!([])),
        )
        .await;
    assert_eq!(error_code(status, &body, 400), "invalid_request");
}

// --- 6. Every error is the envelope -----------------------------------------------------

#[tokio::test]
async fn a_path_that_is_not_utf8_gets_the_envelope() {
    let app = spawn_app().await;
    for path in [
        "/api/v1/products/%ff%fe",
        "/api/v1/licenses/%ff%fe",
        "/api/v1/policies/%ff%fe",
        "/api/v1/entitlements/%ff%fe",
        "/api/v1/machines/%ff%fe",
        "/api/v1/webhooks/%ff%fe",
        "/api/v1/api-keys/%ff%fe",
        "/api/v1/licenses/%ff%fe/suspend",
        "/api/v1/webhooks/%ff%fe/deliveries",
        "/api/v1/accounts/%ff%fe/jwks.json",
    ] {
        let (status, body) = app.admin(Method::GET, path, None).await;
        let code = error_code(status, &body, status);
        assert!((400..500).contains(&status), "{path}: {status}");
        assert!(
            ["invalid_request", "not_found", "method_not_allowed"].contains(&code.as_str()),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn a_control_character_in_authorization_gets_the_envelope() {
    let app = spawn_app().await;
    let address = app.base_url.trim_start_matches("http://").to_owned();
    for control in ["\x01", "\x7f", "\x1b"] {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        let head = format!(
            "GET /api/v1/products HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer lk_live_{control}x\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer))
            .await
            .unwrap()
            .unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        assert!(head.starts_with("HTTP/1.1 4"), "{control:?}: {answer:?}");
        let body: Value = serde_json::from_str(body)
            .unwrap_or_else(|_| panic!("{control:?}: not the envelope: {answer:?}"));
        assert!(body["error"]["code"].is_string(), "{answer}");
        assert!(body["error"]["message"].is_string(), "{answer}");
    }
}

// --- Least privilege, heartbeats of unusable licenses, secrets at rest ----------------

#[tokio::test]
async fn a_key_sees_only_keys_whose_scopes_it_holds() {
    let app = spawn_app().await;
    let analytics = key_with(&app, &[Scope::AnalyticsRead]).await;
    let other_analytics = app
        .create(
            "/api/v1/api-keys",
            json!({ "name": "dashboard", "scopes": ["analytics:read"] }),
        )
        .await;
    let (status, list) = app
        .call(
            Method::GET,
            "/api/v1/api-keys",
            Auth::Bearer(&analytics),
            None,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    let names: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{list}");
    assert!(
        names.iter().all(|n| ["scoped", "dashboard"].contains(n)),
        "{names:?}"
    );
    assert_eq!(list["total"], 2);
    for key in list["data"].as_array().unwrap() {
        assert_eq!(key["scopes"], json!(["analytics:read"]), "{key}");
    }
    // The all-scopes key exists, but not for this key: 404 to read, revoke or rotate.
    let (_, all) = app.admin(Method::GET, "/api/v1/api-keys", None).await;
    let admin_id = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["scopes"].as_array().unwrap().len() == Scope::ALL.len())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (method, path) in [
        (Method::GET, format!("/api/v1/api-keys/{admin_id}")),
        (Method::DELETE, format!("/api/v1/api-keys/{admin_id}")),
        (Method::POST, format!("/api/v1/api-keys/{admin_id}/rotate")),
    ] {
        let (status, body) = app
            .call(method.clone(), &path, Auth::Bearer(&analytics), None)
            .await;
        assert_eq!(
            error_code(status, &body, 404),
            "not_found",
            "{method} {path}"
        );
    }
    // A key it may see, it may read.
    let (status, _) = app
        .call(
            Method::GET,
            &format!(
                "/api/v1/api-keys/{}",
                other_analytics["id"].as_str().unwrap()
            ),
            Auth::Bearer(&analytics),
            None,
        )
        .await;
    assert_eq!(status, 200);
    // The admin key still sees every key: its own, the test key is another environment.
    assert_eq!(all["total"], 3, "{all}");
}

#[tokio::test]
async fn heartbeats_of_an_unusable_license_are_refused_with_its_state() {
    let app = spawn_app().await;
    let key = app.demo.license_key.clone();
    let (status, machine) = app.activate(&key, &"a".repeat(32)).await;
    assert_eq!(status, 201, "{machine}");
    let path = format!(
        "/api/v1/machines/{}/heartbeat",
        machine["id"].as_str().unwrap()
    );
    assert_eq!(
        app.call(Method::POST, &path, Auth::License(&key), None)
            .await
            .0,
        200
    );
    for (status, code) in [
        ("suspended", "license_suspended"),
        ("revoked", "license_revoked"),
        ("banned", "license_banned"),
    ] {
        app.set_license_status(status).await;
        let (answer, body) = app
            .call(Method::POST, &path, Auth::License(&key), None)
            .await;
        assert_eq!(error_code(answer, &body, 409), code);
        let (answer, body) = app.admin(Method::POST, &path, None).await;
        assert_eq!(error_code(answer, &body, 409), code, "with an API key");
    }
    app.set_license_status("active").await;
    let expired = (app.clock_now() - chrono::Duration::days(1)).to_rfc3339();
    let (status, _) = app
        .admin(
            Method::PATCH,
            &format!("/api/v1/licenses/{}", app.demo.license_id),
            Some(json!({ "expiresAt": expired })),
        )
        .await;
    assert_eq!(status, 200);
    let (answer, body) = app
        .call(Method::POST, &path, Auth::License(&key), None)
        .await;
    assert_eq!(error_code(answer, &body, 409), "license_expired");
}

#[tokio::test]
async fn a_rotated_webhook_secret_leaves_no_bytes_in_the_database_files() {
    let app = spawn_app().await;
    let webhook = app
        .create(
            "/api/v1/webhooks",
            json!({ "url": "http://127.0.0.1:9/hook" }),
        )
        .await;
    let old = webhook["secret"].as_str().unwrap().to_owned();
    let (status, rotated) = app
        .admin(
            Method::POST,
            &format!(
                "/api/v1/webhooks/{}/rotate-secret",
                webhook["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(old, new);
    let file: String =
        sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_one(&app.db())
            .await
            .unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.extend(std::fs::read(format!("{file}-wal")).unwrap_or_default());
    let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(
        contains(&new),
        "the check must be able to see a live secret"
    );
    assert!(
        !contains(&old),
        "the rotated secret is still in the database files"
    );
}
