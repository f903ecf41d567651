//! The runtime endpoints under concurrency (issue 13): limits stay exact when requests
//! race, a change through the management API is seen by the very next validation (also
//! by a second server on the same file), and what was answered survives `kill -9`.

use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use futures_util::future::join_all;
use licentric_server::{db, AppState, Application};
use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    binary::{self, ServerProcess, NO_RATE_LIMITS},
    helpers::{on_postgres, spawn_app, test_settings, Auth, TestApp},
};

/// A license of a new product and policy with these fields; answers (license, policy).
async fn license_of(app: &TestApp, policy: Value) -> (Value, Value) {
    static PRODUCTS: AtomicUsize = AtomicUsize::new(0);
    let n = PRODUCTS.fetch_add(1, Ordering::Relaxed);
    let product = app
        .create(
            "/api/v1/products",
            json!({ "name": "Runtime", "keyPrefix": format!("RUN{n}") }),
        )
        .await;
    let mut body = json!({ "productId": product["id"], "name": "Runtime policy" });
    body.as_object_mut()
        .unwrap()
        .extend(policy.as_object().unwrap().clone());
    let policy = app.create("/api/v1/policies", body).await;
    let license = app
        .create("/api/v1/licenses", json!({ "policyId": policy["id"] }))
        .await;
    (license, policy)
}

async fn validate(app: &TestApp, key: &str, extra: Value) -> Value {
    let mut body = json!({ "key": key });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let (status, answer) = app.validate(body).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

fn codes(answers: &[(u16, Value)]) -> Vec<&str> {
    answers
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 200, "{body}");
            body["code"].as_str().unwrap()
        })
        .collect()
}

#[tokio::test]
async fn a_burst_of_validations_of_a_license_with_max_uses_20_gives_exactly_20_valid() {
    let app = spawn_app().await;
    let (license, _) = license_of(&app, json!({ "maxUses": 20 })).await;
    let key = license["key"].as_str().unwrap();
    let answers = join_all((0..60).map(|_| app.validate(json!({ "key": key })))).await;
    let codes = codes(&answers);
    assert_eq!(
        codes.iter().filter(|c| **c == "VALID").count(),
        20,
        "{codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|c| **c == "USES_EXCEEDED").count(),
        40,
        "{codes:?}"
    );
    let (_, stored) = app
        .admin(
            Method::GET,
            &format!("/api/v1/licenses/{}", license["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(stored["uses"], 60, "every validation is counted: {stored}");
}

#[tokio::test]
async fn concurrent_activations_take_exactly_max_machines_slots() {
    let app = spawn_app().await;
    let (license, _) = license_of(&app, json!({ "floating": true, "maxMachines": 5 })).await;
    let key = license["key"].as_str().unwrap();
    let fingerprints: Vec<String> = (0..30).map(|i| format!("race-machine-{i:04}")).collect();
    let answers = join_all(fingerprints.iter().map(|f| app.activate(key, f))).await;
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    let full = answers
        .iter()
        .filter(|(s, b)| *s == 409 && b["error"]["code"] == "machine_limit_exceeded")
        .count();
    assert_eq!((created, full), (5, 25), "{answers:?}");
    let (_, stored) = app
        .admin(
            Method::GET,
            &format!("/api/v1/licenses/{}", license["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(stored["machinesCount"], 5, "{stored}");
}

/// A batch decides a license's activations together (one read of its count and of the
/// fingerprints, one insert): a mixed burst of known, new and repeated fingerprints still
/// fills exactly the free slots, each machine once, each activation recorded once.
#[tokio::test]
async fn a_mixed_burst_of_activations_fills_exactly_the_free_slots() {
    let app = spawn_app().await;
    let (license, _) = license_of(&app, json!({ "floating": true, "maxMachines": 4 })).await;
    let key = license["key"].as_str().unwrap();
    let license_id = license["id"].as_str().unwrap();
    let (status, known) = app.activate(key, "known-machine").await;
    assert_eq!(status, 201, "{known}");
    let mut fingerprints: Vec<String> = Vec::new();
    for i in 0..10 {
        fingerprints.push("known-machine".into());
        fingerprints.push(format!("new-machine-{i:02}"));
        fingerprints.push("repeated-machine".into());
    }
    let answers = join_all(fingerprints.iter().map(|f| app.activate(key, f))).await;
    let mut ids_of: std::collections::HashMap<&str, HashSet<&str>> = Default::default();
    let mut created = 0;
    for (fingerprint, (status, body)) in fingerprints.iter().zip(&answers) {
        match status {
            200 | 201 => {
                created += usize::from(*status == 201);
                assert_eq!(body["fingerprint"], fingerprint.as_str(), "{body}");
                ids_of
                    .entry(fingerprint)
                    .or_default()
                    .insert(body["id"].as_str().unwrap());
            }
            409 => {
                assert_eq!(body["error"]["code"], "machine_limit_exceeded", "{body}");
                assert_eq!(body["error"]["details"]["machinesUsed"], 4, "{body}");
                assert_ne!(
                    fingerprint, "known-machine",
                    "a known machine is never refused"
                );
            }
            _ => panic!("HTTP {status}: {body}"),
        }
    }
    assert_eq!(created, 3, "the three free slots, no more: {answers:?}");
    assert!(ids_of.values().all(|ids| ids.len() == 1), "{ids_of:?}");
    assert_eq!(
        ids_of["known-machine"],
        HashSet::from([known["id"].as_str().unwrap()])
    );
    let (_, stored) = app
        .admin(Method::GET, &format!("/api/v1/licenses/{license_id}"), None)
        .await;
    assert_eq!(stored["machinesCount"], 4, "{stored}");
    let (_, machines) = app
        .admin(
            Method::GET,
            &format!("/api/v1/machines?licenseId={license_id}&limit=100"),
            None,
        )
        .await;
    assert_eq!(machines["data"].as_array().unwrap().len(), 4, "{machines}");
    let (_, events) = app
        .admin(
            Method::GET,
            "/api/v1/events?action=machine.activated&limit=100",
            None,
        )
        .await;
    assert_eq!(
        events["data"].as_array().unwrap().len(),
        4,
        "one audit event per machine: {events}"
    );
}

/// The guarded insert both activation paths use (`db::runtime::insert_machines`), given
/// several rows at once: SQLite judges every row against the count before the statement,
/// so the k-th row must fit beside the k before it, and a limit is never overrun, even
/// when the rows were not checked first.
#[tokio::test]
async fn the_guarded_machine_insert_never_overruns_the_limit_with_many_rows() {
    let app = spawn_app().await;
    let (license, _) = license_of(&app, json!({ "floating": true, "maxMachines": 3 })).await;
    let key = license["key"].as_str().unwrap();
    let license_id = license["id"].as_str().unwrap();
    assert_eq!(app.activate(key, "guarded-first-0001").await.0, 201);
    let tenant = licentric_server::tenant::Tenant {
        account_id: app.account_id.clone(),
        environment: licentric_core::Environment::Live,
    };
    let now = chrono::Utc::now();
    let machine = |fingerprint: &str| db::machines::MachineRecord {
        id: uuid::Uuid::new_v4().to_string(),
        license_id: license_id.to_owned(),
        fingerprint: format!("guarded-{fingerprint}-0001"),
        name: None,
        platform: None,
        last_heartbeat_at: None,
        created_at: now,
        updated_at: now,
    };
    // The same three inserts in one connection of either database (PostgreSQL's in a
    // transaction, as the runtime's batches are).
    async fn inserts(
        conn: &mut db::runtime::Conn<'_>,
        tenant: &licentric_server::tenant::Tenant,
        machine: impl Fn(&str) -> db::machines::MachineRecord,
    ) {
        let rows: Vec<_> = ["a", "b", "c", "d"].into_iter().map(&machine).collect();
        let inserted = db::runtime::insert_machines(conn, tenant, &rows, Some(3))
            .await
            .unwrap();
        assert_eq!(inserted, 2, "1 machine + 2 rows = the limit of 3");
        // A duplicate takes its row's place in the sum: never more, possibly fewer.
        let rows: Vec<_> = ["a", "e"].into_iter().map(&machine).collect();
        let inserted = db::runtime::insert_machines(conn, tenant, &rows, Some(4))
            .await
            .unwrap();
        assert_eq!(
            inserted, 0,
            "`a` is known, and `e` would be the fifth of 4 after it"
        );
        let rows: Vec<_> = ["e", "f"].into_iter().map(&machine).collect();
        let inserted = db::runtime::insert_machines(conn, tenant, &rows, None)
            .await
            .unwrap();
        assert_eq!(inserted, 2, "no limit");
    }
    match &app.database {
        db::Db::Sqlite(pool) => {
            let mut held = pool.acquire().await.unwrap();
            inserts(&mut db::runtime::Conn::Sqlite(&mut held), &tenant, machine).await;
        }
        db::Db::Postgres(pool) => {
            let mut tx = pool.begin().await.unwrap();
            let mut conn = db::runtime::Conn::Postgres {
                conn: &mut tx,
                tenant: None,
            };
            inserts(&mut conn, &tenant, machine).await;
            tx.commit().await.unwrap();
        }
    }
    let (_, stored) = app
        .admin(Method::GET, &format!("/api/v1/licenses/{license_id}"), None)
        .await;
    assert_eq!(stored["machinesCount"], 5, "{stored}");
}

/// Issue 14's fault: 40 concurrent activations of one fingerprint answered some with 500
/// (`UNIQUE constraint failed: machines.license_id, machines.fingerprint`).
#[tokio::test]
async fn concurrent_activations_of_one_fingerprint_all_get_the_one_machine() {
    let app = spawn_app().await;
    let (license, _) = license_of(&app, json!({ "floating": true, "maxMachines": 3 })).await;
    let key = license["key"].as_str().unwrap();
    let answers = join_all((0..40).map(|_| app.activate(key, "same-machine-0001"))).await;
    for (status, body) in &answers {
        assert!(matches!(status, 200 | 201), "HTTP {status}: {body}");
    }
    assert_eq!(answers.iter().filter(|(s, _)| *s == 201).count(), 1);
    let ids: HashSet<&str> = answers
        .iter()
        .map(|(_, body)| body["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "one machine for all: {ids:?}");
    let (_, stored) = app
        .admin(
            Method::GET,
            &format!("/api/v1/licenses/{}", license["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(stored["machinesCount"], 1, "{stored}");
}

#[tokio::test]
async fn suspend_revoke_policy_edits_and_entitlement_changes_are_seen_by_the_next_validation() {
    let app = spawn_app().await;
    let (license, policy) = license_of(&app, json!({ "floating": true, "maxMachines": 10 })).await;
    let key = license["key"].as_str().unwrap();
    let id = license["id"].as_str().unwrap();
    let policy_id = policy["id"].as_str().unwrap();
    let entitlement = app
        .create(
            "/api/v1/entitlements",
            json!({ "name": "Export", "code": "export" }),
        )
        .await;
    assert!(entitlement["id"].is_string());
    let wants_export = json!({ "entitlements": ["export"] });
    // Each validation warms what the server keeps in memory; each change must show at once.
    assert_eq!(validate(&app, key, json!({})).await["code"], "VALID");
    assert_eq!(
        validate(&app, key, wants_export.clone()).await["code"],
        "ENTITLEMENTS_MISSING"
    );
    let (status, body) = app
        .admin(
            Method::POST,
            &format!("/api/v1/licenses/{id}/entitlements"),
            Some(json!({ "entitlements": ["export"] })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        validate(&app, key, wants_export.clone()).await["code"],
        "VALID"
    );
    let (status, body) = app
        .admin(
            Method::DELETE,
            &format!("/api/v1/licenses/{id}/entitlements/export"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        validate(&app, key, wants_export).await["code"],
        "ENTITLEMENTS_MISSING"
    );

    let (status, body) = app
        .admin(
            Method::POST,
            &format!("/api/v1/licenses/{id}/suspend"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(validate(&app, key, json!({})).await["code"], "SUSPENDED");
    let (status, _) = app
        .admin(
            Method::POST,
            &format!("/api/v1/licenses/{id}/reinstate"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(validate(&app, key, json!({})).await["code"], "VALID");

    // A policy edit: the license has used 5 validations so far; a limit of 5 is exceeded.
    let (status, body) = app
        .admin(
            Method::PATCH,
            &format!("/api/v1/policies/{policy_id}"),
            Some(json!({ "maxUses": 5 })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        validate(&app, key, json!({})).await["code"],
        "USES_EXCEEDED"
    );
    let (status, _) = app
        .admin(
            Method::PATCH,
            &format!("/api/v1/policies/{policy_id}"),
            Some(json!({ "maxUses": null })),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(validate(&app, key, json!({})).await["code"], "VALID");

    // A write that bypasses the server entirely (another process, a tool) is seen too.
    app.execute(
        "UPDATE licenses SET status = 'banned' WHERE id = ?",
        &[id.into()],
    )
    .await;
    assert_eq!(validate(&app, key, json!({})).await["code"], "BANNED");
    app.execute(
        "UPDATE licenses SET status = 'active' WHERE id = ?",
        &[id.into()],
    )
    .await;

    let (status, _) = app
        .admin(Method::POST, &format!("/api/v1/licenses/{id}/revoke"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(validate(&app, key, json!({})).await["code"], "REVOKED");
    let (status, body) = app.activate(key, "after-revoke-01").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("license_revoked"))
    );

    // Deleted right after its key authenticated an activation (the server remembers whose
    // key it is): the key authenticates nothing any more, on any route.
    let (status, _) = app.activate(key, "after-revoke-02").await;
    assert_eq!(status, 409);
    let (status, _) = app
        .admin(Method::DELETE, &format!("/api/v1/licenses/{id}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .call(Method::GET, "/api/v1/licenses/me", Auth::License(key), None)
        .await;
    assert_eq!(
        status, 401,
        "a deleted license's key no longer authenticates"
    );
    let (status, _) = app.activate(key, "after-delete-01").await;
    assert_eq!(
        status, 401,
        "a deleted license's key no longer authenticates"
    );
    assert_eq!(validate(&app, key, json!({})).await["code"], "NOT_FOUND");
}

/// A second server process on the same file, as far as memory goes: its own state, its
/// own runtime, one database.
async fn second_server(
    app: &TestApp,
    file: &std::path::Path,
) -> (licentric_server::RunningServer, String) {
    let db = db::connect(file.to_str().unwrap()).await.unwrap();
    let state = AppState::with_settings(db, Arc::new(app.clock.clone()), test_settings());
    let server = Application::with_state("127.0.0.1:0".parse().unwrap(), state)
        .await
        .unwrap()
        .spawn();
    let url = server.base_url();
    (server, url)
}

#[tokio::test]
async fn two_servers_on_one_file_share_the_limits_and_see_each_others_changes() {
    let app = spawn_app().await;
    let file: String =
        sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_one(&app.db())
            .await
            .unwrap();
    let (_other, other_url) = second_server(&app, std::path::Path::new(&file)).await;
    let (license, _) = license_of(
        &app,
        json!({ "maxUses": 20, "floating": true, "maxMachines": 4 }),
    )
    .await;
    let key = license["key"].as_str().unwrap().to_owned();
    let id = license["id"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    let call = |base: String, path: &'static str, auth: Option<String>, body: Value| {
        let http = http.clone();
        async move {
            let mut request = http.post(format!("{base}{path}")).json(&body);
            if let Some(auth) = auth {
                request = request.header("authorization", auth);
            }
            crate::helpers::read(request.send().await.unwrap()).await
        }
    };
    // Warm both servers' memory of the license.
    for base in [app.base_url.clone(), other_url.clone()] {
        let (_, body) = call(
            base,
            "/api/v1/licenses/validate-key",
            None,
            json!({ "key": key }),
        )
        .await;
        assert_eq!(body["code"], "VALID");
    }
    let burst = (0..40).map(|i| {
        let base = if i % 2 == 0 {
            app.base_url.clone()
        } else {
            other_url.clone()
        };
        call(
            base,
            "/api/v1/licenses/validate-key",
            None,
            json!({ "key": key }),
        )
    });
    let answers = join_all(burst).await;
    let valid = codes(&answers).iter().filter(|c| **c == "VALID").count();
    assert_eq!(valid, 18, "20 uses in all, 2 spent warming up");

    let activations = (0..12).map(|i| {
        let base = if i % 2 == 0 {
            app.base_url.clone()
        } else {
            other_url.clone()
        };
        call(
            base,
            "/api/v1/machines",
            Some(format!("License {key}")),
            json!({ "fingerprint": format!("two-servers-{i:03}") }),
        )
    });
    let answers = join_all(activations).await;
    assert_eq!(
        answers.iter().filter(|(s, _)| *s == 201).count(),
        4,
        "{answers:?}"
    );
    assert!(
        answers.iter().all(|(s, _)| matches!(s, 201 | 409)),
        "{answers:?}"
    );

    // Suspended through one server: the other's next validation says so.
    let (status, _) = app
        .admin(
            Method::POST,
            &format!("/api/v1/licenses/{id}/suspend"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (_, body) = call(
        other_url.clone(),
        "/api/v1/licenses/validate-key",
        None,
        json!({ "key": key }),
    )
    .await;
    assert_eq!(body["code"], "SUSPENDED");
}

/// `serve` on port 0 with rate limits out of the way (the server secret is the file
/// `init` made beside the database); its URL too.
fn serve(database: &std::path::Path) -> (ServerProcess, String) {
    let server = ServerProcess::serve(database, NO_RATE_LIMITS);
    let url = server.url.clone();
    (server, url)
}

/// What the storm was told: validations answered 200, and machines answered 201.
#[derive(Default)]
struct Acknowledged {
    validations: u64,
    machines: Vec<(String, String)>,
    sent_validations: u64,
    sent_activations: u64,
}

#[tokio::test]
async fn every_acknowledged_validation_and_activation_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("licentric.db");
    let created = binary::init(&database, &[]);
    let api_key = created["apiKey"].as_str().unwrap().to_owned();
    let (mut server, url) = serve(&database);

    let http = reqwest::Client::new();
    let admin = |path: &str, body: Value| {
        let request = http
            .post(format!("{url}{path}"))
            .header("authorization", format!("Bearer {api_key}"))
            .json(&body);
        async move { crate::helpers::read(request.send().await.unwrap()).await }
    };
    let (_, product) = admin(
        "/api/v1/products",
        json!({ "name": "Storm", "keyPrefix": "STORM" }),
    )
    .await;
    let (_, policy) = admin(
        "/api/v1/policies",
        json!({ "productId": product["id"], "name": "Storm", "floating": true, "maxMachines": 100000 }),
    )
    .await;
    let (_, license) = admin("/api/v1/licenses", json!({ "policyId": policy["id"] })).await;
    let key = license["key"].as_str().unwrap().to_owned();
    let license_id = license["id"].as_str().unwrap().to_owned();

    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
    let mut workers = Vec::new();
    for worker in 0..16 {
        let (http, url, key, acknowledged) =
            (http.clone(), url.clone(), key.clone(), acknowledged.clone());
        workers.push(tokio::spawn(async move {
            for n in 0.. {
                let activation = n % 3 == 0;
                let fingerprint = format!("storm-{worker:02}-{n:06}");
                let request = if activation {
                    acknowledged.lock().unwrap().sent_activations += 1;
                    http.post(format!("{url}/api/v1/machines"))
                        .header("authorization", format!("License {key}"))
                        .json(&json!({ "fingerprint": fingerprint }))
                } else {
                    acknowledged.lock().unwrap().sent_validations += 1;
                    http.post(format!("{url}/api/v1/licenses/validate-key"))
                        .json(&json!({ "key": key }))
                };
                let Ok(response) = request.timeout(Duration::from_secs(5)).send().await else {
                    return;
                };
                let status = response.status().as_u16();
                let Ok(body) = response.json::<Value>().await else {
                    return;
                };
                let mut acknowledged = acknowledged.lock().unwrap();
                match (activation, status) {
                    (false, 200) => {
                        assert_eq!(body["code"], "VALID", "{body}");
                        acknowledged.validations += 1;
                    }
                    (true, 201) => acknowledged
                        .machines
                        .push((body["id"].as_str().unwrap().to_owned(), fingerprint)),
                    _ => panic!("HTTP {status}: {body}"),
                }
            }
        }));
    }
    // Let the storm run, then kill the server with answers in flight.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill();
    for worker in workers {
        worker.await.unwrap();
    }
    let acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap());
    assert!(
        acknowledged.validations > 50 && acknowledged.machines.len() > 20,
        "the storm was too small to show anything: {} validations, {} machines",
        acknowledged.validations,
        acknowledged.machines.len()
    );

    // Restart on the same file: everything acknowledged is there, nothing twice.
    let (_server, url) = serve(&database);
    let (status, stored) = crate::helpers::read(
        http.get(format!("{url}/api/v1/licenses/{license_id}"))
            .header("authorization", format!("Bearer {api_key}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{stored}");
    let uses = stored["uses"].as_u64().unwrap();
    assert!(
        (acknowledged.validations..=acknowledged.sent_validations).contains(&uses),
        "uses {uses}: {} acknowledged, {} sent",
        acknowledged.validations,
        acknowledged.sent_validations
    );
    let db = db::connect(database.to_str().unwrap()).await.unwrap();
    let validated: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'license.validated' AND resource_id = ?",
    )
    .bind(&license_id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(
        validated as u64, uses,
        "one audit event per counted validation"
    );
    let machines: Vec<(String, String)> =
        sqlx::query_as("SELECT id, fingerprint FROM machines WHERE license_id = ?")
            .bind(&license_id)
            .fetch_all(&db)
            .await
            .unwrap();
    let stored: HashSet<(String, String)> = machines.iter().cloned().collect();
    assert_eq!(stored.len(), machines.len(), "no machine twice");
    for machine in &acknowledged.machines {
        assert!(
            stored.contains(machine),
            "acknowledged machine {machine:?} lost"
        );
    }
    assert!(machines.len() as u64 <= acknowledged.sent_activations);
    assert_eq!(
        stored_count(&stored_license(&http, &url, &api_key, &license_id).await),
        machines.len() as u64
    );
}

async fn stored_license(http: &reqwest::Client, url: &str, api_key: &str, id: &str) -> Value {
    let (_, body) = crate::helpers::read(
        http.get(format!("{url}/api/v1/licenses/{id}"))
            .header("authorization", format!("Bearer {api_key}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    body
}

fn stored_count(license: &Value) -> u64 {
    license["machinesCount"].as_u64().unwrap()
}

#[tokio::test]
async fn heartbeats_through_the_batches_keep_their_rules() {
    let app = spawn_app().await;
    let (license, _) = license_of(&app, json!({ "floating": true, "maxMachines": 3 })).await;
    let key = license["key"].as_str().unwrap();
    let (_, machine) = app.activate(key, "heartbeat-machine-1").await;
    let machine_id = machine["id"].as_str().unwrap();
    let path = format!("/api/v1/machines/{machine_id}/heartbeat");
    let answers =
        join_all((0..20).map(|_| app.call(Method::POST, &path, Auth::License(key), None))).await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(body["heartbeatStatus"], "ALIVE");
    }
    // Another license's key does not see this machine.
    let (other, _) = license_of(&app, json!({})).await;
    let (status, _) = app
        .call(
            Method::POST,
            &path,
            Auth::License(other["key"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let id = license["id"].as_str().unwrap();
    let (status, _) = app
        .admin(
            Method::POST,
            &format!("/api/v1/licenses/{id}/suspend"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .call(Method::POST, &path, Auth::License(key), None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("license_suspended"))
    );
}

/// A burst of heartbeats of many kinds at once (so that they share batches, whose
/// machines are read with one statement and written with one): each is answered as it
/// would be alone, and only the accepted ones are written.
#[tokio::test]
async fn a_mixed_burst_of_heartbeats_answers_each_as_if_alone() {
    let app = spawn_app().await;
    let (license, _) = license_of(&app, json!({ "floating": true, "maxMachines": 5 })).await;
    let key = license["key"].as_str().unwrap();
    let id_of = |m: &Value| m["id"].as_str().unwrap().to_owned();
    let first = id_of(&app.activate(key, "burst-machine-1").await.1);
    let second = id_of(&app.activate(key, "burst-machine-2").await.1);
    let deleted = id_of(&app.activate(key, "burst-machine-3").await.1);
    let (status, _) = app
        .admin(Method::DELETE, &format!("/api/v1/machines/{deleted}"), None)
        .await;
    assert_eq!(status, 204);
    // A suspended license's machine.
    let (suspended, _) = license_of(&app, json!({})).await;
    let suspended_machine = id_of(
        &app.activate(suspended["key"].as_str().unwrap(), "burst-suspended")
            .await
            .1,
    );
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
    // Another license of this account, and another account's machine.
    let (neighbour, _) = license_of(&app, json!({})).await;
    let neighbour_key = neighbour["key"].as_str().unwrap();
    let (other_api_key, other_demo) = app.other_account().await;
    let (status, foreign) = app.activate(&other_demo.license_key, "burst-foreign").await;
    assert_eq!(status, 201, "{foreign}");
    let foreign = id_of(&foreign);
    // A culling policy's machine (left to the one-by-one path, which culls first).
    let (culling, _) = license_of(
        &app,
        json!({ "requireHeartbeat": true, "heartbeatInterval": 600, "cullDeadMachines": true }),
    )
    .await;
    let culling_key = culling["key"].as_str().unwrap();
    let culled = id_of(&app.activate(culling_key, "burst-culling").await.1);

    let path = |id: &str| format!("/api/v1/machines/{id}/heartbeat");
    let api_key = app.api_key.clone();
    // (path, auth, expected status, expected error code)
    let mut asks: Vec<(String, Auth<'_>, u16, Option<&str>)> = Vec::new();
    for _ in 0..8 {
        asks.push((path(&first), Auth::License(key), 200, None));
        asks.push((path(&second), Auth::Bearer(&api_key), 200, None));
        asks.push((path(&culled), Auth::License(culling_key), 200, None));
        asks.push((path(&foreign), Auth::Bearer(&other_api_key), 200, None));
        asks.push((
            path(&suspended_machine),
            Auth::Bearer(&api_key),
            409,
            Some("license_suspended"),
        ));
        asks.push((
            path(&foreign),
            Auth::Bearer(&api_key),
            404,
            Some("not_found"),
        ));
        asks.push((
            path(&first),
            Auth::License(neighbour_key),
            404,
            Some("not_found"),
        ));
        asks.push((path(&deleted), Auth::License(key), 404, Some("not_found")));
        asks.push((
            path("00000000-0000-0000-0000-000000000000"),
            Auth::Bearer(&api_key),
            404,
            Some("not_found"),
        ));
    }
    let answers = join_all(
        asks.iter()
            .map(|(path, auth, _, _)| app.call(Method::POST, path, *auth, None)),
    )
    .await;
    for ((path, _, status, code), (got, body)) in asks.iter().zip(&answers) {
        assert_eq!(got, status, "{path}: {body}");
        match code {
            Some(code) => assert_eq!(body["error"]["code"].as_str(), Some(*code), "{path}"),
            None => {
                assert_eq!(body["heartbeatStatus"], "ALIVE", "{path}: {body}");
                assert!(body["lastHeartbeatAt"].is_string(), "{path}: {body}");
            }
        }
    }
    // Written: the accepted heartbeats; not written: the refused one.
    for (id, api_key, beat) in [
        (&first, &api_key, true),
        (&second, &api_key, true),
        (&culled, &api_key, true),
        (&foreign, &other_api_key, true),
        (&suspended_machine, &api_key, false),
    ] {
        let (status, machine) = app
            .call(
                Method::GET,
                &format!("/api/v1/machines/{id}"),
                Auth::Bearer(api_key),
                None,
            )
            .await;
        assert_eq!(status, 200, "{machine}");
        assert_eq!(machine["lastHeartbeatAt"].is_string(), beat, "{machine}");
    }
}

/// A batch whose transaction fails is rolled back whole (the SQLite batch's transaction is
/// begun and committed as plain SQL, so only closing its connection undoes it) and its
/// requests are tried one by one: the one that cannot be written fails alone, the others
/// are answered, and the use count is exactly the answered validations, none of the
/// rolled-back batch's. The failure is injected with a trigger written behind the server's
/// back that refuses the audit event of one fingerprint (on PostgreSQL the batch is one
/// transaction the failure aborts).
#[tokio::test]
async fn a_failed_batch_is_rolled_back_whole_and_only_its_bad_request_fails() {
    let app = spawn_app().await;
    let (license, _) = license_of(&app, json!({})).await;
    let key = license["key"].as_str().unwrap();
    app.execute_as_owner(if on_postgres() {
        "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF NEW.changes LIKE '%poisoned-fingerprint%' THEN
                 RAISE EXCEPTION 'injected failure';
             END IF;
             RETURN NEW;
         END $$;
         CREATE TRIGGER poison BEFORE INSERT ON audit_events
             FOR EACH ROW EXECUTE FUNCTION poison();"
    } else {
        "CREATE TRIGGER poison BEFORE INSERT ON audit_events
         WHEN NEW.changes LIKE '%poisoned-fingerprint%'
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
    })
    .await;
    let mut answered = 0;
    for round in 0..3 {
        let bodies: Vec<Value> = (0..30)
            .map(|i| {
                if i == 15 {
                    json!({ "key": key, "fingerprint": "poisoned-fingerprint" })
                } else {
                    json!({ "key": key, "fingerprint": format!("good-{round}-{i}") })
                }
            })
            .collect();
        let answers = join_all(bodies.iter().map(|body| app.validate(body.clone()))).await;
        for (body, (status, answer)) in bodies.iter().zip(&answers) {
            if body["fingerprint"] == "poisoned-fingerprint" {
                assert_eq!(*status, 500, "{answer}");
            } else {
                assert_eq!(*status, 200, "{answer}");
                assert!(answer["code"].is_string(), "{answer}");
                answered += 1;
            }
        }
    }
    /// The license's use count and its validation events, as stored.
    async fn stored(app: &TestApp, id: &str) -> (i64, i64) {
        let uses = app
            .scalar("SELECT uses FROM licenses WHERE id = ?", &[id.into()])
            .await;
        let events = app
            .scalar(
                "SELECT count(*) FROM audit_events WHERE action = 'license.validated' AND resource_id = ?",
                &[id.into()],
            )
            .await;
        (uses, events)
    }
    let id = license["id"].as_str().unwrap();
    assert_eq!(stored(&app, id).await, (answered, answered));
    // The writer goes on: the next validation is answered and counted.
    app.execute_as_owner(if on_postgres() {
        "DROP TRIGGER poison ON audit_events"
    } else {
        "DROP TRIGGER poison"
    })
    .await;
    validate(&app, key, json!({})).await;
    assert_eq!(stored(&app, id).await, (answered + 1, answered + 1));
}

/// The checkpoint sequence number in a SQLite write-ahead log's header (bytes 12..16, big
/// endian): it goes up each time the log is restarted, that is written from its start
/// again. `None` while the file does not exist or is shorter than a header.
fn wal_restarts(wal: &std::path::Path) -> Option<u32> {
    use std::io::Read;
    let mut header = [0; 16];
    std::fs::File::open(wal)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    Some(u32::from_be_bytes(header[12..16].try_into().ok()?))
}

/// Under a stream of validations that never pauses, the write-ahead log is restarted
/// again and again and its file stays near the limit. SQLite restarts a log only when a
/// write begins with every frame already in the database; the checkpoints beside the
/// batches never catch up with a writer that never waits, so before the writer restarted
/// it (`runtime::restart_long_wal`) the log grew for as long as the stream ran: 1.4 GB in
/// an 8 s benchmark. A 1 MiB limit here (the default is 64) so that a debug build
/// crosses it many times in seconds. SQLite only: PostgreSQL keeps its own WAL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_of_validations_that_never_pauses_keeps_the_write_ahead_log_short() {
    use licentric_server::{
        domain::runtime::WalLimit,
        rate_limit::{Quota, RateLimits},
    };
    if on_postgres() {
        return;
    }
    let plenty = Quota {
        requests: 1_000_000,
        period: Duration::from_secs(60),
    };
    let mut settings = test_settings();
    settings.rate_limits = RateLimits {
        api_key: plenty,
        license_key: plenty,
        anonymous: plenty,
        auth_failures: plenty,
    };
    const LIMIT: u64 = 1 << 20;
    settings.wal_limit = WalLimit { bytes: LIMIT };
    let app = crate::helpers::spawn_app_with(settings).await;
    let (license, _) = license_of(&app, json!({})).await;
    let key = license["key"].as_str().unwrap().to_owned();
    let wal: std::path::PathBuf = {
        let file: String =
            sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
                .fetch_one(&app.db())
                .await
                .unwrap();
        format!("{file}-wal").into()
    };

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for _ in 0..16 {
        let (http, url, key) = (
            app.http.clone(),
            app.url("/api/v1/licenses/validate-key"),
            key.clone(),
        );
        let (stop, answered) = (stop.clone(), answered.clone());
        clients.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let response = http
                    .post(&url)
                    .json(&json!({ "key": key }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                answered.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Watch the log while the stream runs: how often it is restarted, and its largest size.
    let started = std::time::Instant::now();
    let first = loop {
        if let Some(n) = wal_restarts(&wal) {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let (mut restarts, mut largest) = (0, 0);
    let mut last = first;
    while restarts < 5 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        // Counted as changes seen: two restarts between two looks count as one.
        if let Some(n) = wal_restarts(&wal).filter(|n| *n != last) {
            restarts += 1;
            last = n;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }
    let answered = answered.load(Ordering::Relaxed);
    assert!(
        restarts >= 5,
        "the log was restarted {restarts} times in {:?} of a stream of {answered} validations; it grew to {largest} bytes",
        started.elapsed()
    );
    // Over the limit only by what is written between a checkpoint's report (every 100 ms)
    // and the restart after it.
    assert!(
        largest < 16 * LIMIT,
        "the log grew to {largest} bytes against a limit of {LIMIT}"
    );
}

/// With the database unreachable, every request of a runtime batch is answered 503
/// `database_unavailable` after one wait for a connection, not one wait each: the batch
/// used to be retried request by request, so that the last of eight queued validations
/// was answered after nine waits, or held until the database came back and never told of
/// the outage (CI saw a PostgreSQL restart under load answered so, all 200 after 8 s).
/// PostgreSQL here is a closed port on loopback, so this needs no PostgreSQL; the pool
/// waits 1 s for a connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_unreachable_a_whole_batch_is_answered_503_after_one_wait() {
    use licentric_server::{
        domain::{
            runtime::{Runtime, WalLimit},
            Actor, ActorKind,
        },
        error::ApiError,
    };
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    // A port nothing listens on: bound, then let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    const WAIT: Duration = Duration::from_secs(1);
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(WAIT)
        .connect_lazy_with(
            PgConnectOptions::new()
                .host("127.0.0.1")
                .port(port)
                .username("nobody")
                .database("nothing"),
        );
    let runtime = Arc::new(Runtime::new(
        pool.into(),
        Arc::new(licentric_core::ManualClock::new(
            crate::helpers::start_time(),
        )),
        Arc::new(tokio::sync::Notify::new()),
        WalLimit::default(),
    ));
    let anonymous = Actor {
        kind: ActorKind::Anonymous,
        ..Actor::system()
    };
    let started = std::time::Instant::now();
    let answers = join_all((0..8).map(|n| {
        let (runtime, actor) = (runtime.clone(), anonymous.clone());
        async move {
            let answer = runtime
                .validate(format!("DEMO-AAAA-BBBB-CCCC-{n:04}"), None, vec![], actor)
                .await;
            (answer, started.elapsed())
        }
    }))
    .await;
    for (answer, after) in &answers {
        assert!(
            matches!(answer, Err(ApiError::DatabaseUnavailable { .. })),
            "{answer:?}"
        );
        // One wait for the first batch (possibly of one request), one for the rest
        // queued behind it; tried one by one they took up to nine.
        assert!(
            *after < 4 * WAIT,
            "a request was answered after {after:?}, against a pool wait of {WAIT:?}"
        );
    }
}
