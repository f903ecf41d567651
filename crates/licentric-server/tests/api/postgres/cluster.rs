//! Many servers, one database: two real `licentric-server` processes on one PostgreSQL
//! behind one port (nginx from Debian, run by the test as a non-daemon with a
//! configuration in a temporary folder), as a vendor would run them. Seats (`maxMachines`)
//! and uses (`maxUses`) stay exact across the processes, and a webhook delivery is sent
//! once, and taken over by the other process when the one holding it is killed.

use std::{
    collections::BTreeSet,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use axum::{http::HeaderMap, routing::post, Router};
use futures_util::future::join_all;
use licentric_server::{provision, DemoData, ProvisionOptions};
use reqwest::Method;
use serde_json::{json, Value};

use super::*;
use crate::{
    binary::{command, ServerProcess, NO_RATE_LIMITS},
    nginx::Nginx,
};

/// The server secret every process of a test shares (it seals the signing keys).
pub(super) const SECRET: &str = "the PostgreSQL cluster tests' shared server secret";

/// A database with the demo account, provisioned as the runtime role (as `init` does for
/// a SQLite file); the signing keys are made by the servers on first use.
pub(super) struct Served {
    pub pg: Pg,
    pub api_key: String,
    pub demo: DemoData,
}

pub(super) async fn served(pg: Pg) -> Served {
    let db = licentric_server::db::Db::Postgres(pg.app.clone());
    let created = provision(
        &db,
        &ProvisionOptions {
            account_name: "Cluster".into(),
            demo: true,
        },
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    Served {
        pg,
        api_key: created.api_key,
        demo: created.demo.unwrap(),
    }
}

/// `serve` as the runtime role on `app_url` with the shared secret, webhooks allowed to
/// loopback (where the tests' receivers listen), no rate limits in the way, plus `extra`.
pub(super) fn serve(app_url: &str, extra: &[&str]) -> ServerProcess {
    let mut serve = command(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        app_url,
        "--allow-private-webhook-targets=loopback",
    ]);
    serve
        .args(NO_RATE_LIMITS)
        .args(["--rate-limit-auth-failures", "1000000/1s"])
        .args(extra)
        .env("LICENTRIC_SECRET", SECRET);
    ServerProcess::start(serve).unwrap_or_else(|refusal| panic!("serve refused: {refusal}"))
}

/// One answer: status, the process that gave it (nginx's `X-Upstream`), the body.
pub(super) type Answer = (u16, String, Value);

/// Sends a request to `base`, with `auth` as the whole authorization header.
pub(super) async fn send(
    http: &reqwest::Client,
    method: Method,
    url: String,
    auth: Option<String>,
    body: Option<Value>,
) -> Answer {
    let mut request = http.request(method, url);
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let upstream = response
        .headers()
        .get("x-upstream")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let (status, body) = crate::helpers::read(response).await;
    (status, upstream, body)
}

/// Two servers on one fresh database, behind nginx, and a client of the whole.
struct Cluster {
    served: Served,
    servers: Vec<ServerProcess>,
    nginx: Nginx,
    http: reqwest::Client,
}

impl Cluster {
    async fn start() -> Self {
        let served = served(fresh_empty().await).await;
        let servers: Vec<_> = (0..2)
            .map(|_| serve(&served.pg.app_url, &["--database-pool-size", "4"]))
            .collect();
        let urls: Vec<String> = servers.iter().map(|s| s.url.clone()).collect();
        let nginx = Nginx::start(&urls);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Self {
            served,
            servers,
            nginx,
            http,
        }
    }

    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        send(
            &self.http,
            method,
            format!("{}{path}", self.nginx.url),
            Some(format!("Bearer {}", self.served.api_key)),
            body,
        )
        .await
    }

    async fn create(&self, path: &str, body: Value) -> Value {
        let (status, _, created) = self.admin(Method::POST, path, Some(body)).await;
        assert_eq!(status, 201, "POST {path}: {created}");
        created
    }

    /// A license of a new floating policy with these fields.
    async fn license(&self, policy: Value) -> Value {
        let product = self
            .create(
                "/api/v1/products",
                json!({ "name": "Cluster App", "keyPrefix": "CLU" }),
            )
            .await;
        let mut body = json!({ "productId": product["id"], "name": "Cluster", "floating": true });
        body.as_object_mut()
            .unwrap()
            .extend(policy.as_object().unwrap().clone());
        let policy = self.create("/api/v1/policies", body).await;
        self.create("/api/v1/licenses", json!({ "policyId": policy["id"] }))
            .await
    }

    /// The upstream addresses as nginx names them (`127.0.0.1:PORT`).
    fn upstreams(&self) -> BTreeSet<String> {
        self.servers
            .iter()
            .map(|s| s.url.trim_start_matches("http://").to_owned())
            .collect()
    }
}

/// The processes that gave `answers`, which must be both.
fn assert_both_served(cluster: &Cluster, answers: &[Answer]) {
    let gave: BTreeSet<String> = answers.iter().map(|(_, u, _)| u.clone()).collect();
    assert_eq!(gave, cluster.upstreams(), "each process answered some");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn two_servers_behind_one_port_hand_out_exactly_max_machines_and_max_uses() {
    let cluster = Cluster::start().await;
    let license = cluster
        .license(json!({ "maxMachines": 4, "maxUses": 20 }))
        .await;
    let key = license["key"].as_str().unwrap().to_owned();
    let id = license["id"].as_str().unwrap().to_owned();
    // One machine first, on one process: the account's signing key (an activation's token
    // is signed) is made once, before the race.
    let (status, _, body) = send(
        &cluster.http,
        Method::POST,
        format!("{}/api/v1/machines", cluster.servers[0].url),
        Some(format!("License {key}")),
        Some(json!({ "fingerprint": "cluster-warm-up-0000" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    // 30 machines at once through the one port: exactly 3 more seats.
    let activations = (0..30).map(|i| {
        send(
            &cluster.http,
            Method::POST,
            format!("{}/api/v1/machines", cluster.nginx.url),
            Some(format!("License {key}")),
            Some(json!({ "fingerprint": format!("cluster-racer-{i:04}") })),
        )
    });
    let answers = join_all(activations).await;
    assert_both_served(&cluster, &answers);
    let created = answers.iter().filter(|(s, _, _)| *s == 201).count();
    let full = answers
        .iter()
        .filter(|(s, _, b)| *s == 409 && b["error"]["code"] == "machine_limit_exceeded")
        .count();
    assert_eq!((created, full), (3, 27), "{answers:?}");

    // 40 validations at once: exactly 20 valid, every one counted.
    let validations = (0..40).map(|_| {
        send(
            &cluster.http,
            Method::POST,
            format!("{}/api/v1/licenses/validate-key", cluster.nginx.url),
            None,
            Some(json!({ "key": key })),
        )
    });
    let answers = join_all(validations).await;
    assert_both_served(&cluster, &answers);
    let codes: Vec<&str> = answers
        .iter()
        .map(|(status, _, body)| {
            assert_eq!(*status, 200, "{body}");
            body["code"].as_str().unwrap()
        })
        .collect();
    let valid = codes.iter().filter(|c| **c == "VALID").count();
    let exceeded = codes.iter().filter(|c| **c == "USES_EXCEEDED").count();
    assert_eq!((valid, exceeded), (20, 20), "{codes:?}");

    // What each process reads back agrees: 4 machines, 40 uses.
    for server in &cluster.servers {
        let (status, _, stored) = send(
            &cluster.http,
            Method::GET,
            format!("{}/api/v1/licenses/{id}", server.url),
            Some(format!("Bearer {}", cluster.served.api_key)),
            None,
        )
        .await;
        assert_eq!(status, 200, "{stored}");
        assert_eq!(
            (stored["machinesCount"].clone(), stored["uses"].clone()),
            (json!(4), json!(40)),
            "{stored}"
        );
    }
    let machines: i64 = sqlx::query_scalar("SELECT count(*) FROM machines WHERE license_id = $1")
        .bind(&id)
        .fetch_one(&cluster.served.pg.admin)
        .await
        .unwrap();
    assert_eq!(machines, 4);
}

/// A webhook endpoint on loopback that records each delivery's id (`Licentric-Delivery`)
/// and answers 200, or, while `hold` is set, never answers (its sender is then killed).
#[derive(Clone)]
struct Hook {
    url: String,
    received: Arc<Mutex<Vec<String>>>,
    hold: Arc<AtomicBool>,
}

impl Hook {
    async fn start() -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let hold = Arc::new(AtomicBool::new(false));
        let (r, h) = (received.clone(), hold.clone());
        let app = Router::new().route(
            "/hook",
            post(move |headers: HeaderMap| {
                let (r, h) = (r.clone(), h.clone());
                async move {
                    let id = headers
                        .get("licentric-delivery")
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default();
                    r.lock().unwrap().push(id);
                    if h.load(Ordering::SeqCst) {
                        std::future::pending::<()>().await;
                    }
                    axum::http::StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url,
            received,
            hold,
        }
    }

    fn received(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (at most 30 s) until `n` deliveries have arrived.
    async fn wait_for(&self, n: usize) -> Vec<String> {
        let started = Instant::now();
        while self.received().len() < n {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "expected {n} deliveries, got {:?}",
                self.received()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.received()
    }
}

/// Waits (at most 30 s) until no delivery of the database is pending.
async fn wait_until_delivered(pg: &Pg) {
    let started = Instant::now();
    loop {
        let pending: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM webhook_deliveries WHERE status <> 'succeeded'",
        )
        .fetch_one(&pg.admin)
        .await
        .unwrap();
        if pending == 0 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{pending} deliveries still not delivered after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it inside pg_virtualenv"]
async fn two_servers_send_each_webhook_once_and_take_over_a_killed_ones() {
    let mut cluster = Cluster::start().await;
    let hook = Hook::start().await;
    cluster
        .create(
            "/api/v1/webhooks",
            json!({ "url": hook.url, "events": ["license.created"] }),
        )
        .await;
    let product = cluster
        .create(
            "/api/v1/products",
            json!({ "name": "Hooked", "keyPrefix": "HOOK" }),
        )
        .await;
    let policy = cluster
        .create(
            "/api/v1/policies",
            json!({ "productId": product["id"], "name": "Hooked" }),
        )
        .await;
    let new_license = || {
        cluster.admin(
            Method::POST,
            "/api/v1/licenses",
            Some(json!({ "policyId": policy["id"] })),
        )
    };

    // 20 licenses at once through the one port, so both processes queue and both send:
    // each delivery arrives exactly once.
    let answers = join_all((0..20).map(|_| new_license())).await;
    assert!(answers.iter().all(|(s, _, _)| *s == 201), "{answers:?}");
    assert_both_served(&cluster, &answers);
    hook.wait_for(20).await;
    wait_until_delivered(&cluster.served.pg).await;
    // Both processes poll every few seconds: give them a round more than that to send
    // anything twice.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let received = hook.received();
    let distinct: BTreeSet<&String> = received.iter().collect();
    assert_eq!((received.len(), distinct.len()), (20, 20), "{received:?}");

    // One more, whose receiver never answers: the process that leased the delivery is
    // killed while sending it.
    hook.hold.store(true, Ordering::SeqCst);
    let (status, _, body) = new_license().await;
    assert_eq!(status, 201, "{body}");
    let received = hook.wait_for(21).await;
    let held = received[20].clone();
    let holder: String =
        sqlx::query_scalar("SELECT leased_by FROM webhook_deliveries WHERE id = $1")
            .bind(&held)
            .fetch_one(&cluster.served.pg.admin)
            .await
            .unwrap();
    let index = cluster
        .servers
        .iter()
        .position(|s| holder == format!("pid {}", s.id()))
        .unwrap_or_else(|| panic!("leased by {holder}, not one of the servers"));
    hook.hold.store(false, Ordering::SeqCst);
    cluster.servers[index].kill();
    // Its lease (ten minutes, so a live process is never overtaken) runs out: moved into
    // the past here rather than waited for.
    sqlx::query(
        "UPDATE webhook_deliveries SET leased_until = now() - interval '1 second' WHERE id = $1",
    )
    .bind(&held)
    .execute(&cluster.served.pg.admin)
    .await
    .unwrap();
    // The other process takes it over and sends it: the endpoint got it twice in all
    // (the unanswered attempt and the one that succeeded), everything else once.
    let received = hook.wait_for(22).await;
    assert_eq!(received[21], held, "{received:?}");
    wait_until_delivered(&cluster.served.pg).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let received = hook.received();
    let distinct: BTreeSet<&String> = received.iter().collect();
    assert_eq!((received.len(), distinct.len()), (22, 21), "{received:?}");
    // The survivor answers for the whole through the one port.
    let (status, upstream, _) = cluster
        .admin(Method::GET, "/api/v1/licenses?limit=1", None)
        .await;
    assert_eq!(status, 200);
    let survivor = cluster.servers[1 - index].url.trim_start_matches("http://");
    assert!(upstream.ends_with(survivor), "{upstream}");
}
