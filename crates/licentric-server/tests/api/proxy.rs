//! The client's address behind a reverse proxy (`--trusted-proxies`): Debian's nginx in
//! front of a real server process on a SQLite file, configured as in
//! docs/postgresql-two-servers.nginx.conf. nginx connects to the server from 127.0.0.2
//! (`proxy_bind`), and each test client from an address of its own in 127/8, so the
//! server can tell the proxy from its clients on one machine.

use std::{net::IpAddr, path::Path};

use serde_json::{json, Value};

use crate::{
    binary::{init, text, ServerProcess},
    helpers::{error_code, read},
    nginx::Nginx,
};

const PROXY: &str = "127.0.0.2";
/// nginx's own address towards the server.
const PROXY_BIND: &str = "            proxy_bind 127.0.0.2;\n";

/// A client whose connections come from `address`.
fn client_at(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// `validate-key` for `key` at `base`, with a made-up `X-Forwarded-For` when given.
async fn validate(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    forwarded_for: Option<&str>,
) -> (u16, Value) {
    let mut request = client
        .post(format!("{base}/api/v1/licenses/validate-key"))
        .json(&json!({ "key": key }));
    if let Some(made_up) = forwarded_for {
        request = request.header("x-forwarded-for", made_up);
    }
    read(request.send().await.unwrap()).await
}

/// Asserts a validation was answered 200 with `code`.
fn assert_answered(answer: (u16, Value), code: &str) {
    let (status, body) = answer;
    assert_eq!((status, body["code"].as_str()), (200, Some(code)), "{body}");
}

/// The addresses the audit trail recorded for the account's validations, oldest first.
async fn validated_from(server: &ServerProcess, api_key: &str) -> Vec<String> {
    let response = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/events?action=license.validated&limit=100",
            server.url
        ))
        .bearer_auth(api_key)
        .send()
        .await
        .unwrap();
    let (status, page) = read(response).await;
    assert_eq!(status, 200, "{page}");
    let mut addresses: Vec<String> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["clientAddress"].as_str().unwrap_or("none").to_owned())
        .collect();
    addresses.reverse();
    addresses
}

/// The addresses the lockouts named (their audit events belong to no account, so no API
/// lists them: read from the database file).
async fn locked_out(database: &Path) -> Vec<String> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", text(database)))
        .await
        .unwrap();
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT actor_id FROM audit_events WHERE action = 'auth.locked_out' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows.into_iter().map(|(address,)| address).collect()
}

/// A demo database and its server with three failed authentications allowed per address.
fn served(dir: &Path, extra: &[&str]) -> (ServerProcess, Value) {
    let database = dir.join("licentric.db");
    let demo = init(&database, &["--demo"]);
    let mut args = vec!["--rate-limit-auth-failures", "3/300s"];
    args.extend_from_slice(extra);
    (ServerProcess::serve(&database, &args), demo)
}

/// Guesses keys from `client` through `base` until its address is locked out, each with a
/// different made-up `X-Forwarded-For` (which must not spread the failures).
async fn guess_until_locked_out(client: &reqwest::Client, base: &str) {
    for n in 0..3 {
        assert_answered(
            validate(
                client,
                base,
                &format!("DEMO-GUESS-{n:04}"),
                Some(&format!("198.51.100.{n}")),
            )
            .await,
            "NOT_FOUND",
        );
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_is_limited_and_audited_by_its_own_address() {
    let dir = tempfile::tempdir().unwrap();
    let (server, demo) = served(dir.path(), &["--trusted-proxies", PROXY]);
    let nginx = Nginx::start_with(std::slice::from_ref(&server.url), PROXY_BIND);
    let key = demo["licenseKey"].as_str().unwrap();

    // A client guessing keys through the proxy is locked out; a made-up
    // X-Forwarded-For (nginx appends the real address after it) does not help it.
    let guesser = client_at("127.0.0.3");
    guess_until_locked_out(&guesser, &nginx.url).await;
    let (status, body) = validate(&guesser, &nginx.url, key, Some("203.0.113.50")).await;
    assert_eq!(error_code(status, &body, 429), "too_many_failures");

    // Another client behind the same proxy is served.
    let other = client_at("127.0.0.4");
    assert_answered(validate(&other, &nginx.url, key, None).await, "VALID");

    // Straight to the server, not through the proxy, a made-up header names nobody.
    let direct = client_at("127.0.0.5");
    assert_answered(
        validate(&direct, &server.url, key, Some("203.0.113.9")).await,
        "VALID",
    );

    // The audit trail names the clients, never the proxy nor a made-up address.
    assert_eq!(
        validated_from(&server, demo["apiKey"].as_str().unwrap()).await,
        ["127.0.0.4", "127.0.0.5"]
    );
    assert_eq!(
        locked_out(&dir.path().join("licentric.db")).await,
        ["127.0.0.3"]
    );
}

/// The fault `--trusted-proxies` mends, and the default that keeps a client from naming
/// its own address: without it every client behind the proxy is the proxy's address.
#[tokio::test]
async fn without_trusted_proxies_one_client_behind_the_proxy_locks_every_client_out() {
    let dir = tempfile::tempdir().unwrap();
    let (server, demo) = served(dir.path(), &[]);
    let nginx = Nginx::start_with(std::slice::from_ref(&server.url), PROXY_BIND);
    let key = demo["licenseKey"].as_str().unwrap();

    guess_until_locked_out(&client_at("127.0.0.3"), &nginx.url).await;
    let (status, body) = validate(&client_at("127.0.0.4"), &nginx.url, key, None).await;
    assert_eq!(error_code(status, &body, 429), "too_many_failures");
    assert_eq!(locked_out(&dir.path().join("licentric.db")).await, [PROXY]);

    // Straight to the server, X-Forwarded-For is ignored.
    assert_answered(
        validate(&client_at("127.0.0.5"), &server.url, key, Some("127.0.0.4")).await,
        "VALID",
    );
    assert_eq!(
        validated_from(&server, demo["apiKey"].as_str().unwrap()).await,
        ["127.0.0.5"]
    );
}

#[test]
fn a_trusted_proxy_that_is_not_an_address_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("licentric.db");
    init(&database, &[]);
    let serve = crate::binary::command(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        text(&database),
        "--trusted-proxies",
        "127.0.0.1,nginx",
    ]);
    let refusal = ServerProcess::start(serve)
        .err()
        .expect("the server started with a proxy list it cannot read");
    assert!(refusal.contains("\"nginx\" is not an address"), "{refusal}");
}
