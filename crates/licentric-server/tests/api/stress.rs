//! Many concurrent clients at once (issue 14): interleaved activations (often of the same
//! fingerprint), deactivations, heartbeats, validations, suspensions, reinstatements,
//! renewals and bulk actions against one real server, in bursts. After every burst the
//! invariants are checked over HTTP:
//!
//! - no answer is a 5xx;
//! - no license holds more machines than its policy's `maxMachines`;
//! - a license's `uses` is exactly the number of its validations that were answered;
//! - every acknowledged change is in the audit trail once, and nothing unacknowledged is;
//! - every acknowledged change reaches a real local webhook receiver, once per event id;
//! - a live machine of a license nothing suspends gets every heartbeat answered 200.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use licentric_server::rate_limit::{Quota, RateLimits};
use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::helpers::{spawn_app_with, test_settings, Auth, Receiver, TestApp};

const LICENSES: usize = 3;
/// One more license, never suspended, reinstated, renewed or deactivated: its machine's
/// heartbeats, sent amid the rest, must all be answered 200. (A heartbeat of the other
/// licenses meets a machine and an active license only by chance: in some runs none did.)
const STEADY: usize = LICENSES;
/// Heartbeats of the steady license's machine in each burst.
const STEADY_HEARTBEATS: usize = 4;
const MAX_MACHINES: u64 = 3;
/// Fingerprints per license: more than its slots, few enough that the same one is often
/// activated by several clients at once.
const FINGERPRINTS: usize = 5;
const BURSTS: usize = 5;
const CALLS_PER_BURST: usize = 72;

/// One client's call.
#[derive(Debug, Clone)]
enum Call {
    Validate {
        license: usize,
        fingerprint: Option<usize>,
    },
    Activate {
        license: usize,
        fingerprint: usize,
    },
    Deactivate {
        license: usize,
        fingerprint: usize,
    },
    Heartbeat {
        license: usize,
        fingerprint: usize,
    },
    Suspend {
        license: usize,
    },
    Reinstate {
        license: usize,
    },
    Renew {
        license: usize,
    },
    Bulk {
        action: &'static str,
    },
}

/// What the clients were told, kept to check against what the server kept.
#[derive(Default)]
struct Ledger {
    /// Validations answered 200, per license.
    uses: BTreeMap<usize, u64>,
    /// Acknowledged changes: (audit action, license; none for a machine's) → count.
    audited: BTreeMap<(&'static str, Option<usize>), u64>,
    /// Acknowledged webhook events by type.
    events: BTreeMap<&'static str, u64>,
    /// Answers seen, by call kind and status: the test's own coverage check.
    answers: BTreeMap<(String, u16), u64>,
}

struct Fixture {
    app: TestApp,
    receiver: Receiver,
    /// (id, key) of each license.
    licenses: Vec<(String, String)>,
    /// Machine ids by (license, fingerprint), as last seen activated.
    machines: Mutex<BTreeMap<(usize, usize), String>>,
    ledger: Mutex<Ledger>,
}

fn fingerprint(license: usize, index: usize) -> String {
    format!("stress-{license}-machine-{index}")
}

fn kind(call: &Call) -> String {
    let name = format!("{call:?}");
    name.split([' ', '{']).next().unwrap().to_owned()
}

impl Fixture {
    async fn new() -> Arc<Self> {
        let mut settings = test_settings();
        // The clients are many but the caller is one address: this test is about
        // concurrency, not budgets (rate_limits.rs tests those).
        let plenty = Quota {
            requests: 1_000_000,
            period: std::time::Duration::from_secs(60),
        };
        settings.rate_limits = RateLimits {
            api_key: plenty,
            license_key: plenty,
            anonymous: plenty,
            auth_failures: plenty,
        };
        let app = spawn_app_with(settings).await;
        let receiver = Receiver::start(vec![]).await;
        app.create("/api/v1/webhooks", json!({ "url": receiver.url }))
            .await;
        let product = app
            .create(
                "/api/v1/products",
                json!({ "name": "Stress", "keyPrefix": "STRESS" }),
            )
            .await;
        let policy = app
            .create(
                "/api/v1/policies",
                json!({
                    "productId": product["id"],
                    "name": "Floating, three machines, yearly",
                    "floating": true,
                    "maxMachines": MAX_MACHINES,
                    "duration": 365 * 86_400,
                }),
            )
            .await;
        let mut licenses = Vec::new();
        for _ in 0..=STEADY {
            let license = app
                .create("/api/v1/licenses", json!({ "policyId": policy["id"] }))
                .await;
            licenses.push((
                license["id"].as_str().unwrap().to_owned(),
                license["key"].as_str().unwrap().to_owned(),
            ));
        }
        // The licenses created above were webhook events too; wait for them, so that what the
        // bursts cause can be counted apart.
        receiver.wait_for(STEADY + 1).await;
        let mut ledger = Ledger::default();
        let (status, machine) = app
            .activate(&licenses[STEADY].1, &fingerprint(STEADY, 0))
            .await;
        assert_eq!(status, 201, "{machine}");
        ledger.audited.insert(("machine.activated", None), 1);
        ledger.events.insert("machine.activated", 1);
        let machine = machine["id"].as_str().unwrap().to_owned();
        Arc::new(Self {
            app,
            receiver,
            licenses,
            machines: Mutex::new(BTreeMap::from([((STEADY, 0), machine)])),
            ledger: Mutex::new(ledger),
        })
    }

    fn plan(rng: &mut StdRng) -> Vec<Call> {
        let mut calls = Vec::with_capacity(CALLS_PER_BURST);
        let license = |rng: &mut StdRng| rng.gen_range(0..LICENSES);
        let fp = |rng: &mut StdRng| rng.gen_range(0..FINGERPRINTS);
        for i in 0..CALLS_PER_BURST {
            let call = match i % 12 {
                0..=2 => Call::Validate {
                    license: license(rng),
                    fingerprint: rng.gen_bool(0.5).then(|| fp(rng)),
                },
                3..=5 => Call::Activate {
                    license: license(rng),
                    fingerprint: fp(rng),
                },
                6 => Call::Deactivate {
                    license: license(rng),
                    fingerprint: fp(rng),
                },
                7 => Call::Heartbeat {
                    license: license(rng),
                    fingerprint: fp(rng),
                },
                8 => Call::Suspend {
                    license: license(rng),
                },
                9 => Call::Reinstate {
                    license: license(rng),
                },
                10 => Call::Renew {
                    license: license(rng),
                },
                _ => Call::Bulk {
                    // Reinstated more often than suspended, so heartbeats and
                    // activations meet usable licenses too.
                    action: if rng.gen_bool(0.35) {
                        "suspend"
                    } else {
                        "reinstate"
                    },
                },
            };
            calls.push(call);
        }
        // Several activations of one fingerprint side by side: what a client retrying on
        // a flaky network does.
        for _ in 0..6 {
            calls.push(Call::Activate {
                license: 0,
                fingerprint: 0,
            });
        }
        for _ in 0..STEADY_HEARTBEATS {
            calls.push(Call::Heartbeat {
                license: STEADY,
                fingerprint: 0,
            });
        }
        calls.shuffle(rng);
        calls
    }

    async fn run(self: &Arc<Self>, call: Call) {
        let app = &self.app;
        let (status, body) = match &call {
            Call::Validate {
                license,
                fingerprint: fp,
            } => {
                let mut body = json!({ "key": self.licenses[*license].1 });
                if let Some(fp) = fp {
                    body["fingerprint"] = json!(fingerprint(*license, *fp));
                }
                app.validate(body).await
            }
            Call::Activate {
                license,
                fingerprint: fp,
            } => {
                app.activate(&self.licenses[*license].1, &fingerprint(*license, *fp))
                    .await
            }
            Call::Deactivate {
                license,
                fingerprint: fp,
            } => {
                let Some(id) = self.machines.lock().await.get(&(*license, *fp)).cloned() else {
                    return;
                };
                app.admin(Method::DELETE, &format!("/api/v1/machines/{id}"), None)
                    .await
            }
            Call::Heartbeat {
                license,
                fingerprint: fp,
            } => {
                let Some(id) = self.machines.lock().await.get(&(*license, *fp)).cloned() else {
                    return;
                };
                app.call(
                    Method::POST,
                    &format!("/api/v1/machines/{id}/heartbeat"),
                    Auth::License(&self.licenses[*license].1),
                    None,
                )
                .await
            }
            Call::Suspend { license } | Call::Reinstate { license } | Call::Renew { license } => {
                let verb = match call {
                    Call::Suspend { .. } => "suspend",
                    Call::Reinstate { .. } => "reinstate",
                    _ => "renew",
                };
                app.admin(
                    Method::POST,
                    &format!("/api/v1/licenses/{}/{verb}", self.licenses[*license].0),
                    None,
                )
                .await
            }
            Call::Bulk { action } => {
                let ids: Vec<&str> = self.licenses[..LICENSES]
                    .iter()
                    .map(|(id, _)| id.as_str())
                    .collect();
                app.admin(
                    Method::POST,
                    "/api/v1/licenses/actions",
                    Some(json!({ "action": action, "ids": ids })),
                )
                .await
            }
        };
        assert!(
            status < 500,
            "{call:?} answered {status}, a server error: {body}"
        );
        let mut ledger = self.ledger.lock().await;
        *ledger.answers.entry((kind(&call), status)).or_default() += 1;
        match call {
            Call::Validate { license, .. } if status == 200 => {
                *ledger.uses.entry(license).or_default() += 1;
                *ledger
                    .audited
                    .entry(("license.validated", Some(license)))
                    .or_default() += 1;
                *ledger.events.entry("license.validated").or_default() += 1;
            }
            Call::Activate {
                license,
                fingerprint: fp,
            } if status == 200 || status == 201 => {
                let id = body["id"].as_str().unwrap().to_owned();
                self.machines.lock().await.insert((license, fp), id);
                if status == 201 {
                    *ledger
                        .audited
                        .entry(("machine.activated", None))
                        .or_default() += 1;
                    *ledger.events.entry("machine.activated").or_default() += 1;
                }
            }
            Call::Deactivate { .. } if status == 204 => {
                *ledger
                    .audited
                    .entry(("machine.deactivated", None))
                    .or_default() += 1;
                *ledger.events.entry("machine.deactivated").or_default() += 1;
            }
            Call::Heartbeat { license, .. } if license == STEADY => {
                assert_eq!(status, 200, "a live machine of an active license: {body}");
                *ledger.events.entry("machine.heartbeat").or_default() += 1;
            }
            Call::Heartbeat { .. } if status == 200 => {
                *ledger.events.entry("machine.heartbeat").or_default() += 1;
            }
            Call::Suspend { license } if status == 200 => ledger.changed("suspended", license),
            Call::Reinstate { license } if status == 200 => {
                ledger.changed("reinstated", license);
            }
            Call::Renew { license } if status == 200 => ledger.changed("renewed", license),
            Call::Bulk { action } => {
                assert_eq!(status, 200, "{body}");
                for result in body["results"].as_array().unwrap() {
                    if result["result"] == "ok" {
                        let license = self
                            .licenses
                            .iter()
                            .position(|(id, _)| result["id"] == id.as_str())
                            .unwrap();
                        ledger.changed(
                            if action == "suspend" {
                                "suspended"
                            } else {
                                "reinstated"
                            },
                            license,
                        );
                    }
                }
            }
            _ => {}
        }
    }

    /// How many audit events of `action` there are, on one license or (`None`) on all.
    async fn audit_count(&self, action: &str, license: Option<usize>) -> u64 {
        let mut path = format!("/api/v1/events?action={action}&limit=1");
        if let Some(license) = license {
            path.push_str(&format!("&resourceId={}", self.licenses[license].0));
        }
        let (status, page) = self.app.admin(Method::GET, &path, None).await;
        assert_eq!(status, 200, "{page}");
        page["total"].as_u64().unwrap()
    }

    async fn check_invariants(&self, burst: usize) {
        let ledger = self.ledger.lock().await;
        for (index, (id, _)) in self.licenses.iter().enumerate() {
            let (status, license) = self
                .app
                .admin(Method::GET, &format!("/api/v1/licenses/{id}"), None)
                .await;
            assert_eq!(status, 200, "{license}");
            let (status, machines) = self
                .app
                .admin(
                    Method::GET,
                    &format!("/api/v1/machines?licenseId={id}&limit=100"),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{machines}");
            let held = machines["total"].as_u64().unwrap();
            assert!(
                held <= MAX_MACHINES,
                "burst {burst}: license {index} holds {held} machines, more than {MAX_MACHINES}"
            );
            let fingerprints: HashSet<&str> = machines["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["fingerprint"].as_str().unwrap())
                .collect();
            assert_eq!(
                fingerprints.len() as u64,
                held,
                "burst {burst}: a fingerprint is stored twice on license {index}: {machines}"
            );
            assert_eq!(
                license["uses"].as_u64().unwrap(),
                ledger.uses.get(&index).copied().unwrap_or(0),
                "burst {burst}: license {index} counted another number of uses than validations answered"
            );
            for action in [
                "license.validated",
                "license.suspended",
                "license.reinstated",
                "license.renewed",
            ] {
                assert_eq!(
                    self.audit_count(action, Some(index)).await,
                    ledger
                        .audited
                        .get(&(action, Some(index)))
                        .copied()
                        .unwrap_or(0),
                    "burst {burst}: audit events {action} on license {index}"
                );
            }
        }
        // A machine's events name the machine: counted over the whole account.
        for action in ["machine.activated", "machine.deactivated"] {
            assert_eq!(
                self.audit_count(action, None).await,
                ledger.audited.get(&(action, None)).copied().unwrap_or(0),
                "burst {burst}: audit events {action}"
            );
        }

        // Every acknowledged change reaches the receiver; each event id counted once,
        // whatever the retries.
        let expected: u64 = ledger.events.values().sum();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let by_type = loop {
            let mut by_type: BTreeMap<String, HashSet<String>> = BTreeMap::new();
            for (_, body) in self.receiver.received.lock().unwrap().iter() {
                let event: Value = serde_json::from_str(body).unwrap();
                by_type
                    .entry(event["type"].as_str().unwrap().to_owned())
                    .or_default()
                    .insert(event["id"].as_str().unwrap().to_owned());
            }
            let wanted: u64 = ledger
                .events
                .keys()
                .map(|t| by_type.get(*t).map_or(0, |ids| ids.len() as u64))
                .sum();
            if wanted >= expected || std::time::Instant::now() > deadline {
                break by_type;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        for (event, count) in &ledger.events {
            assert_eq!(
                by_type.get(*event).map_or(0, |ids| ids.len() as u64),
                *count,
                "burst {burst}: webhook events {event}"
            );
        }
    }
}

/// Suspend, reinstate and renew also emit events named after the change.
impl Ledger {
    fn changed(&mut self, what: &'static str, license: usize) {
        let action: &'static str = match what {
            "suspended" => "license.suspended",
            "reinstated" => "license.reinstated",
            _ => "license.renewed",
        };
        *self.audited.entry((action, Some(license))).or_default() += 1;
        *self.events.entry(action).or_default() += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_clients_keep_every_invariant() {
    let fixture = Fixture::new().await;
    let mut rng = StdRng::seed_from_u64(14);
    for burst in 0..BURSTS {
        let calls = Fixture::plan(&mut rng);
        let mut clients = tokio::task::JoinSet::new();
        for call in calls {
            let fixture = fixture.clone();
            clients.spawn(async move { fixture.run(call).await });
        }
        while let Some(done) = clients.join_next().await {
            done.unwrap();
        }
        fixture.check_invariants(burst).await;
    }
    // The test itself must have met the cases it is about.
    let ledger = fixture.ledger.lock().await;
    let seen = |kind: &str, status: u16| {
        ledger
            .answers
            .get(&(kind.to_owned(), status))
            .copied()
            .unwrap_or(0)
    };
    assert!(seen("Activate", 201) > 0, "{:?}", ledger.answers);
    assert!(
        seen("Activate", 200) > 0,
        "no repeated activation: {:?}",
        ledger.answers
    );
    assert!(
        seen("Activate", 409) > 0,
        "never reached a limit or a suspension: {:?}",
        ledger.answers
    );
    assert!(seen("Deactivate", 204) > 0, "{:?}", ledger.answers);
    assert!(seen("Heartbeat", 200) > 0, "{:?}", ledger.answers);
    assert!(seen("Validate", 200) > 0, "{:?}", ledger.answers);
    // Suspensions and reinstatements took effect, by a license's own route or the bulk
    // action (the bulk actions commit last in most bursts, so the single ones alone are
    // sometimes all refused as transitions from the status the license is already in).
    let changed = |action| {
        (0..LICENSES)
            .filter_map(|license| ledger.audited.get(&(action, Some(license))))
            .sum::<u64>()
    };
    assert!(
        changed("license.suspended") > 0 && changed("license.reinstated") > 0,
        "{:?}",
        ledger.answers
    );
}

/// What an app retrying on a flaky network does: 40 activations of one fingerprint at
/// once. Each is told it has the one machine (one 201, the rest 200), none a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_concurrent_activations_of_one_fingerprint_get_the_one_machine() {
    let fixture = Fixture::new().await;
    let key = fixture.licenses[0].1.clone();
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let fixture = fixture.clone();
        let key = key.clone();
        clients.spawn(async move { fixture.app.activate(&key, "the-same-machine").await });
    }
    let mut created = 0;
    let mut ids = HashSet::new();
    while let Some(done) = clients.join_next().await {
        let (status, body) = done.unwrap();
        assert!(status == 200 || status == 201, "{status}: {body}");
        created += usize::from(status == 201);
        ids.insert(body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!((created, ids.len()), (1, 1));
    // This one and the steady license's, which the fixture activates.
    assert_eq!(fixture.audit_count("machine.activated", None).await, 2);
}

/// Management writes read a license and save it: two at once, or one beside a validation,
/// must not undo each other. Ten renewals at once extend the license ten times; uses
/// counted during suspensions and reinstatements all stay counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_changes_to_one_license_are_never_lost() {
    let fixture = Fixture::new().await;
    let (id, key) = fixture.licenses[0].clone();
    let (_, before) = fixture
        .app
        .admin(Method::GET, &format!("/api/v1/licenses/{id}"), None)
        .await;
    let expiry = |license: &Value| {
        license["expiresAt"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    };
    let mut clients = tokio::task::JoinSet::new();
    for i in 0..30 {
        let fixture = fixture.clone();
        let (id, key) = (id.clone(), key.clone());
        clients.spawn(async move {
            let path = match i % 3 {
                0 => format!("/api/v1/licenses/{id}/renew"),
                1 => return (false, fixture.app.validate(json!({ "key": key })).await.0),
                _ => format!(
                    "/api/v1/licenses/{id}/{}",
                    if i % 2 == 0 { "suspend" } else { "reinstate" }
                ),
            };
            (
                i % 3 == 0,
                fixture.app.admin(Method::POST, &path, None).await.0,
            )
        });
    }
    // A renewal that keeps losing the compare-and-set to other writers is told 409 (try
    // again), never silently dropped: every renewal answered 200 is in the expiry, once.
    let mut renewed = 0;
    while let Some(done) = clients.join_next().await {
        let (renewal, status) = done.unwrap();
        assert!(status == 200 || status == 409, "{status}");
        if renewal && status == 200 {
            renewed += 1;
        }
    }
    assert!(renewed > 0, "no renewal landed: nothing was tested");
    let (_, after) = fixture
        .app
        .admin(Method::GET, &format!("/api/v1/licenses/{id}"), None)
        .await;
    assert_eq!(after["uses"], 10, "{after}");
    assert_eq!(
        expiry(&after) - expiry(&before),
        chrono::Duration::days(renewed * 365),
        "{renewed} renewals answered 200: {before} → {after}"
    );
}
