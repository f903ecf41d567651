//! Seeds a database at the scale a vendor console must handle, for `scripts/bench-server`.
//!
//! ```sh
//! cargo run --release -p licentric-server --example seed_scale -- \
//!     --database-url /tmp/scale/licentric.db --licenses 100000 --machines 250000 --validations 1000000
//! ```
//!
//! The account, its API keys, products, policies and entitlements go through the server's
//! own code (`provision`, `db::…::insert`), so they are exactly what the API would write.
//! The bulk rows (licenses, machines, activity) are written with multi-row prepared
//! `INSERT`s in large transactions, with the same columns, id formats (UUIDs), key format
//! (`LicenseKey::generate`) and time encoding (sqlx binds `DateTime<Utc>`) as `db/*.rs`.
//!
//! Every bulk value comes from a seeded RNG and the `--now` instant, so the same arguments
//! give the same rows; only the account id and the API keys (made by `provision` from the
//! OS's randomness, as in production) differ between runs. A license's machine count is
//! not stored (the server counts `machines` rows), and each license's `uses` is the number
//! of validations the activity log holds for it, so the two stay consistent.
//!
//! Ends by printing one JSON object: the account, its live API key, and sample values a
//! benchmark needs.

use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use clap::Parser;
use licentric_core::{
    wire::{Entitlement, Policy},
    Environment, KeyPrefix, LicenseKey, ValidationCode,
};
use licentric_server::{cli, db, provision, signing, tenant::Tenant, ProvisionOptions};
use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};
use serde_json::json;
use sqlx::{sqlite::SqliteConnection, Connection};

/// Seed a Licentric database with many licenses, machines and validation records.
#[derive(Debug, Parser)]
struct Args {
    /// Database URL or file path; created and migrated when missing.
    #[arg(long)]
    database_url: String,
    /// Licenses to create.
    #[arg(long, default_value_t = 100_000)]
    licenses: usize,
    /// Machines to spread over the licenses (never more than a license's policy allows).
    #[arg(long, default_value_t = 250_000)]
    machines: usize,
    /// Rows of the activity log (validations, activations, deactivations).
    #[arg(long, default_value_t = 1_000_000)]
    validations: usize,
    /// The RNG seed: the same seed and `--now` give the same rows.
    #[arg(long, default_value_t = 10)]
    seed: u64,
    /// The instant the data is relative to (RFC 3339); default: now.
    #[arg(long)]
    now: Option<DateTime<Utc>>,
}

/// Rows per multi-row `INSERT`: well under SQLite's 32,766 bound parameters.
const ROWS_PER_STATEMENT: usize = 500;
/// Rows per transaction: large enough to amortise the commit, small enough to keep the
/// write-ahead log from growing to the size of the whole table.
const ROWS_PER_TRANSACTION: usize = 100_000;

struct SeedProduct {
    id: String,
    prefix: KeyPrefix,
    /// Share of the licenses, in per mille.
    weight: u32,
    policies: Vec<SeedPolicy>,
}

#[derive(Clone)]
struct SeedPolicy {
    id: String,
    /// Machines a license may hold; `None` for unlimited.
    capacity: Option<u32>,
    duration_days: Option<i64>,
    require_heartbeat: bool,
    heartbeat_secs: i64,
    weight: u32,
}

struct SeedLicense {
    id: String,
    key: String,
    product: usize,
    policy: usize,
    name: Option<String>,
    email: String,
    status: &'static str,
    expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    machines: u32,
    uses: u32,
}

const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Grace",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Alan",
    "Radia",
    "Guido",
    "Katherine",
    "Edsger",
    "Hedy",
    "Tim",
    "Joan",
    "Bjarne",
    "Sophie",
    "Niklaus",
    "Annie",
];
const COMPANY_WORDS: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Wonka",
    "Aperture",
    "Black Mesa",
    "Gringotts",
    "Monarch",
];
const COMPANY_KINDS: &[&str] = &[
    "GmbH", "Ltd", "Inc.", "SAS", "AB", "Studio", "Labs", "Group",
];
const PLANS: &[&str] = &["starter", "pro", "team", "enterprise", "education"];
const REGIONS: &[&str] = &["eu-west", "us-east", "us-west", "ap-south", "sa-east"];
const PLATFORMS: &[(Option<&str>, u32)] = &[
    (Some("windows"), 40),
    (Some("macos"), 30),
    (Some("linux"), 18),
    (Some("docker"), 5),
    (Some("kubernetes"), 2),
    (None, 5),
];
/// Outcomes of validations, in per mille. `not_found` is absent: it has no license.
const CODES: &[(ValidationCode, u32)] = &[
    (ValidationCode::Valid, 850),
    (ValidationCode::Expired, 40),
    (ValidationCode::FingerprintNotFound, 30),
    (ValidationCode::Suspended, 20),
    (ValidationCode::MachineLimitExceeded, 20),
    (ValidationCode::HeartbeatRequired, 15),
    (ValidationCode::Revoked, 10),
    (ValidationCode::EntitlementsMissing, 7),
    (ValidationCode::UsesExceeded, 5),
    (ValidationCode::Banned, 3),
];

fn pick<'a, T>(rng: &mut StdRng, weighted: &'a [(T, u32)]) -> &'a T {
    let total: u32 = weighted.iter().map(|(_, w)| w).sum();
    let mut at = rng.gen_range(0..total);
    for (value, weight) in weighted {
        if at < *weight {
            return value;
        }
        at -= weight;
    }
    &weighted[weighted.len() - 1].0
}

fn uuid(rng: &mut StdRng) -> String {
    uuid::Builder::from_random_bytes(rng.gen())
        .into_uuid()
        .to_string()
}

fn seconds(secs: i64) -> Duration {
    Duration::seconds(secs)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let now = args.now.unwrap_or_else(Utc::now);
    let mut rng = StdRng::seed_from_u64(args.seed);

    // The account and its catalogue, through the server's own code.
    let pool = db::connect(&args.database_url).await?;
    let secret = cli::resolve_secret(None, &args.database_url, &pool).await?;
    signing::check_secret(&pool, &secret).await?;
    let created = provision(
        &pool,
        &ProvisionOptions {
            account_name: "Scale benchmark".to_owned(),
            demo: true,
        },
        now,
    )
    .await?;
    let tenant = Tenant {
        account_id: created.account_id.clone(),
        environment: Environment::Live,
    };
    for environment in [Environment::Live, Environment::Test] {
        let tenant = Tenant {
            account_id: created.account_id.clone(),
            environment,
        };
        signing::ensure_key(&pool, &secret, &tenant, now).await?;
    }
    let products = catalogue(&pool, &tenant, &created, now, &mut rng).await?;

    // Plan every bulk row in memory first: a license's `uses` depends on the activity log.
    let mut licenses = plan_licenses(&products, args.licenses, now, &mut rng);
    spread_machines(&products, &mut licenses, args.machines, &mut rng)?;
    let activity = plan_activity(&mut licenses, args.validations, now, &mut rng);
    let planned = started.elapsed();

    let mut conn = pool.acquire().await?;
    // A seed that fails is thrown away, so durability buys nothing here.
    for pragma in [
        "PRAGMA synchronous = OFF",
        "PRAGMA cache_size = -262144",
        "PRAGMA temp_store = MEMORY",
    ] {
        sqlx::query(pragma).execute(&mut *conn).await?;
    }
    write_licenses(&mut conn, &tenant, &products, &licenses).await?;
    let after_licenses = started.elapsed();
    let fingerprints = write_machines(&mut conn, &tenant, &products, &licenses, now, &mut rng)
        .await
        .context("cannot write the machines")?;
    let after_machines = started.elapsed();
    write_activity(&mut conn, &tenant, &products, &licenses, &activity).await?;
    let after_activity = started.elapsed();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut *conn)
        .await?;
    drop(conn);
    pool.close().await;

    // Samples from the middle of the data, so they are neither the newest nor the oldest.
    let sample = &licenses[licenses.len() / 2];
    let key_fragment = sample.key.split('-').nth(2).unwrap_or_default().to_owned();
    let product = &products[sample.product];
    let summary = json!({
        "accountId": created.account_id,
        "apiKey": created.api_key,
        "now": now,
        "seed": args.seed,
        "counts": {
            "licenses": licenses.len(),
            "machines": fingerprints.len(),
            "activity": activity.len(),
        },
        "productId": product.id,
        "policyId": product.policies[sample.policy].id,
        "productIds": products.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        "policyIds": products
            .iter()
            .flat_map(|p| p.policies.iter().map(|q| q.id.as_str()))
            .collect::<Vec<_>>(),
        "licenseId": sample.id,
        "keyFragment": key_fragment,
        "customerEmail": sample.email,
        "fingerprint": fingerprints.get(fingerprints.len() / 2),
        "seconds": {
            "plan": planned.as_secs_f64(),
            "licenses": (after_licenses - planned).as_secs_f64(),
            "machines": (after_machines - after_licenses).as_secs_f64(),
            "activity": (after_activity - after_machines).as_secs_f64(),
            "total": started.elapsed().as_secs_f64(),
        },
    });
    println!("{summary}");
    Ok(())
}

/// The demo product from `provision`, three more products, their policies and a few
/// entitlements.
async fn catalogue(
    pool: &sqlx::SqlitePool,
    tenant: &Tenant,
    created: &licentric_server::Provisioned,
    now: DateTime<Utc>,
    rng: &mut StdRng,
) -> anyhow::Result<Vec<SeedProduct>> {
    let demo = created
        .demo
        .as_ref()
        .context("provision made no demo data")?;
    let mut products = vec![SeedProduct {
        id: demo.product_id.clone(),
        prefix: KeyPrefix::parse("DEMO")?,
        weight: 50,
        policies: vec![SeedPolicy {
            id: demo.policy_id.clone(),
            capacity: Some(3),
            duration_days: Some(365),
            require_heartbeat: false,
            heartbeat_secs: 600,
            weight: 1,
        }],
    }];

    let mut entitlement_ids = Vec::new();
    for (code, name) in [
        ("export_pdf", "Export to PDF"),
        ("cloud_sync", "Cloud sync"),
        ("priority_support", "Priority support"),
    ] {
        let entitlement = Entitlement {
            id: uuid(rng),
            code: code.to_owned(),
            name: name.to_owned(),
            created_at: now,
            updated_at: now,
        };
        db::entitlements::insert(pool, tenant, &entitlement).await?;
        entitlement_ids.push(entitlement.id);
    }

    // (name, max machines, floating, heartbeat, duration days, entitlements, weight)
    type PolicySpec = (
        &'static str,
        Option<u32>,
        bool,
        bool,
        Option<i64>,
        usize,
        u32,
    );
    let catalogue: [(&str, &str, u32, Vec<PolicySpec>); 3] = [
        (
            "Photon Studio",
            "PHOTON",
            500,
            vec![
                (
                    "Personal (node-locked)",
                    None,
                    false,
                    false,
                    Some(365),
                    1,
                    40,
                ),
                ("Team (5 seats)", Some(5), true, false, Some(365), 2, 45),
                ("Perpetual (3 seats)", Some(3), true, false, None, 1, 15),
            ],
        ),
        (
            "Atlas CLI",
            "ATLAS",
            300,
            vec![
                (
                    "Developer (3 machines)",
                    Some(3),
                    true,
                    false,
                    Some(365),
                    0,
                    70,
                ),
                ("CI (unlimited)", None, true, true, Some(30), 0, 30),
            ],
        ),
        (
            "Nimbus Server",
            "NIMBUS",
            150,
            vec![
                (
                    "Site (10 nodes, heartbeat)",
                    Some(10),
                    true,
                    true,
                    Some(365),
                    3,
                    60,
                ),
                (
                    "Trial (2 nodes, 30 days)",
                    Some(2),
                    true,
                    true,
                    Some(30),
                    0,
                    40,
                ),
            ],
        ),
    ];
    for (name, prefix, weight, policies) in catalogue {
        let product_id = uuid(rng);
        db::products::insert(pool, tenant, &product_id, name, prefix, now).await?;
        let mut seeded = Vec::new();
        for (policy_name, max, floating, heartbeat, days, entitlements, weight) in policies {
            let heartbeat_interval = 3600;
            let policy = Policy {
                id: uuid(rng),
                product_id: product_id.clone(),
                name: policy_name.to_owned(),
                max_machines: max,
                floating,
                require_heartbeat: heartbeat,
                heartbeat_interval,
                cull_dead_machines: false,
                duration: days.map(|d| u32::try_from(d * 86_400)).transpose()?,
                offline_max_days: 14,
                grace_days: 7,
                max_uses: None,
                entitlements: vec![],
                created_at: now,
                updated_at: now,
            };
            db::policies::insert(pool, tenant, &policy).await?;
            db::policies::set_entitlements(
                pool,
                tenant,
                &policy.id,
                &entitlement_ids[..entitlements],
            )
            .await?;
            seeded.push(SeedPolicy {
                id: policy.id,
                // The server allows one machine on a node-locked license.
                capacity: if floating { max } else { Some(1) },
                duration_days: days,
                require_heartbeat: heartbeat,
                heartbeat_secs: i64::from(heartbeat_interval),
                weight,
            });
        }
        products.push(SeedProduct {
            id: product_id,
            prefix: KeyPrefix::parse(prefix)?,
            weight,
            policies: seeded,
        });
    }
    Ok(products)
}

fn plan_licenses(
    products: &[SeedProduct],
    count: usize,
    now: DateTime<Utc>,
    rng: &mut StdRng,
) -> Vec<SeedLicense> {
    let product_weights: Vec<(usize, u32)> = products
        .iter()
        .enumerate()
        .map(|(i, p)| (i, p.weight))
        .collect();
    let policy_weights: Vec<Vec<(usize, u32)>> = products
        .iter()
        .map(|p| {
            p.policies
                .iter()
                .enumerate()
                .map(|(i, q)| (i, q.weight))
                .collect()
        })
        .collect();
    let statuses = [
        ("active", 880),
        ("suspended", 60),
        ("revoked", 50),
        ("banned", 10),
    ];
    let mut licenses = Vec::with_capacity(count);
    for i in 0..count {
        let product = *pick(rng, &product_weights);
        let policy = *pick(rng, &policy_weights[product]);
        let seed_policy = &products[product].policies[policy];
        // Created over the last two years, to the millisecond.
        let created_at = now - Duration::milliseconds(rng.gen_range(0..730 * 86_400_000));
        // Expiries spread over a year either side of now: about one in six has passed.
        let expires_at = seed_policy.duration_days.map(|days| {
            let offset = if rng.gen_ratio(1, 6) {
                -rng.gen_range(1..365 * 86_400)
            } else {
                rng.gen_range(1..days.min(365) * 86_400)
            };
            (now + seconds(offset)).max(created_at + seconds(3600))
        });
        let status = *pick(rng, &statuses);
        let updated_at = if status == "active" && rng.gen_ratio(3, 4) {
            created_at
        } else {
            created_at + (now - created_at) / rng.gen_range(2..10)
        };
        let first = FIRST_NAMES.choose(rng).copied().unwrap_or("Ada");
        let company = format!(
            "{} {}",
            COMPANY_WORDS.choose(rng).copied().unwrap_or("Acme"),
            COMPANY_KINDS.choose(rng).copied().unwrap_or("Ltd")
        );
        // Some licenses are unnamed, as the API allows.
        let name = (!rng.gen_ratio(1, 20)).then(|| format!("{company} — {first} #{i}"));
        licenses.push(SeedLicense {
            id: uuid(rng),
            key: LicenseKey::generate(&products[product].prefix, rng)
                .as_str()
                .to_owned(),
            product,
            policy,
            name,
            email: format!("customer-{i}@example.com"),
            status,
            expires_at,
            created_at,
            updated_at,
            machines: 0,
            uses: 0,
        });
    }
    licenses
}

/// Gives each machine a random license with a free slot (probing onwards when full).
fn spread_machines(
    products: &[SeedProduct],
    licenses: &mut [SeedLicense],
    count: usize,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    if licenses.is_empty() {
        anyhow::ensure!(count == 0, "machines need licenses");
        return Ok(());
    }
    for _ in 0..count {
        let start = rng.gen_range(0..licenses.len());
        let free = (0..licenses.len())
            .map(|step| (start + step) % licenses.len())
            .find(|&i| {
                let l = &licenses[i];
                products[l.product].policies[l.policy]
                    .capacity
                    .is_none_or(|cap| l.machines < cap)
            })
            .context("more machines than the licenses' policies allow")?;
        licenses[free].machines += 1;
    }
    Ok(())
}

/// (created_at, license index, kind, code): sorted by time, as a live server appends them.
type Activity = (DateTime<Utc>, u32, &'static str, Option<&'static str>);

fn plan_activity(
    licenses: &mut [SeedLicense],
    count: usize,
    now: DateTime<Utc>,
    rng: &mut StdRng,
) -> Vec<Activity> {
    let kinds = [
        ("validation", 900),
        ("activation", 70),
        ("deactivation", 30),
    ];
    let mut rows = Vec::with_capacity(count);
    if licenses.is_empty() {
        return rows;
    }
    for _ in 0..count {
        // A tenth of the licenses make half the calls, as busy customers do.
        let license = if rng.gen_bool(0.5) {
            rng.gen_range(0..licenses.len().div_ceil(10))
        } else {
            rng.gen_range(0..licenses.len())
        };
        let at = now - Duration::milliseconds(rng.gen_range(0..120 * 86_400_000));
        let kind = *pick(rng, &kinds);
        let code = (kind == "validation").then(|| pick(rng, CODES).as_str());
        if kind == "validation" {
            licenses[license].uses += 1;
        }
        rows.push((at, u32::try_from(license).unwrap_or(u32::MAX), kind, code));
    }
    rows.sort_by_key(|row| row.0);
    rows
}

/// Runs `INSERT INTO {head} VALUES (…), (…)` over `rows` in statements of
/// `ROWS_PER_STATEMENT` and transactions of `ROWS_PER_TRANSACTION`; `bind` binds one row.
async fn insert_all<T>(
    conn: &mut SqliteConnection,
    head: &str,
    columns: usize,
    rows: &[T],
    bind: impl for<'q> Fn(
        sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
        &'q T,
    )
        -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
) -> anyhow::Result<()> {
    let row = format!("({})", vec!["?"; columns].join(", "));
    let statement = |n: usize| {
        format!(
            "INSERT INTO {head} VALUES {}",
            vec![row.as_str(); n].join(", ")
        )
    };
    let full = statement(ROWS_PER_STATEMENT);
    for transaction in rows.chunks(ROWS_PER_TRANSACTION) {
        let mut tx = conn.begin().await?;
        for chunk in transaction.chunks(ROWS_PER_STATEMENT) {
            let sql = if chunk.len() == ROWS_PER_STATEMENT {
                full.clone()
            } else {
                statement(chunk.len())
            };
            let mut query = sqlx::query(&sql);
            for item in chunk {
                query = bind(query, item);
            }
            query
                .execute(&mut *tx)
                .await
                .with_context(|| format!("cannot insert into {head}"))?;
        }
        tx.commit().await?;
    }
    Ok(())
}

async fn write_licenses(
    conn: &mut SqliteConnection,
    tenant: &Tenant,
    products: &[SeedProduct],
    licenses: &[SeedLicense],
) -> anyhow::Result<()> {
    let rows: Vec<(&SeedLicense, String, &str, &str)> = licenses
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let product = &products[l.product];
            let metadata = json!({
                "email": l.email,
                "plan": PLANS[i % PLANS.len()],
                "region": REGIONS[(i / PLANS.len()) % REGIONS.len()],
                "orderId": format!("ORD-{:07}", 1_000_000 + i),
            })
            .to_string();
            (
                l,
                metadata,
                product.id.as_str(),
                product.policies[l.policy].id.as_str(),
            )
        })
        .collect();
    // Owned, because a bound value must outlive every statement it is bound to.
    let account = tenant.account_id.as_str();
    let environment = tenant.environment.as_str();
    insert_all(
        conn,
        "licenses (id, account_id, environment, product_id, policy_id, key, name, status, \
         expires_at, uses, metadata, created_at, updated_at)",
        13,
        &rows,
        |query, (l, metadata, product_id, policy_id)| {
            query
                .bind(l.id.as_str())
                .bind(account.to_owned())
                .bind(environment.to_owned())
                .bind(*product_id)
                .bind(*policy_id)
                .bind(l.key.as_str())
                .bind(l.name.as_deref())
                .bind(l.status)
                .bind(l.expires_at)
                .bind(l.uses)
                .bind(metadata.as_str())
                .bind(l.created_at)
                .bind(l.updated_at)
        },
    )
    .await
}

struct SeedMachine {
    id: String,
    license_id: String,
    fingerprint: String,
    name: Option<String>,
    platform: Option<&'static str>,
    last_heartbeat_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

/// Writes each license's machines; returns their fingerprints.
async fn write_machines(
    conn: &mut SqliteConnection,
    tenant: &Tenant,
    products: &[SeedProduct],
    licenses: &[SeedLicense],
    now: DateTime<Utc>,
    rng: &mut StdRng,
) -> anyhow::Result<Vec<String>> {
    let mut machines = Vec::new();
    for license in licenses {
        let policy = &products[license.product].policies[license.policy];
        for n in 0..license.machines {
            let platform = *pick(rng, PLATFORMS);
            let created_at = license.created_at + (now - license.created_at) / rng.gen_range(2..20);
            let last_heartbeat_at = if policy.require_heartbeat {
                // Most heartbeats are on time; some machines have gone quiet.
                let late = if rng.gen_ratio(4, 5) {
                    rng.gen_range(0..policy.heartbeat_secs)
                } else {
                    rng.gen_range(policy.heartbeat_secs..30 * 86_400)
                };
                Some((now - seconds(late)).max(created_at))
            } else {
                rng.gen_ratio(1, 5)
                    .then(|| created_at + (now - created_at) / rng.gen_range(1..5))
            };
            let fingerprint: [u8; 32] = rng.gen();
            let first = FIRST_NAMES.choose(rng).copied().unwrap_or("Ada");
            let name = match platform {
                Some("macos") => Some(format!("{first}'s MacBook Pro")),
                Some("windows") => Some(format!("DESKTOP-{:06X}", rng.gen_range(0..0xFF_FFFF))),
                Some("linux") => Some(format!("{}-workstation-{n}", first.to_lowercase())),
                Some(_) => Some(format!("build-agent-{}", rng.gen_range(1..500))),
                None => None,
            };
            machines.push(SeedMachine {
                id: uuid(rng),
                license_id: license.id.clone(),
                fingerprint: hex::encode(fingerprint),
                name,
                platform,
                last_heartbeat_at,
                created_at,
            });
        }
    }
    let account = tenant.account_id.as_str();
    let environment = tenant.environment.as_str();
    insert_all(
        conn,
        "machines (id, account_id, environment, license_id, fingerprint, name, platform, \
         last_heartbeat_at, created_at, updated_at)",
        10,
        &machines,
        |query, m| {
            query
                .bind(m.id.as_str())
                .bind(account.to_owned())
                .bind(environment.to_owned())
                .bind(m.license_id.as_str())
                .bind(m.fingerprint.as_str())
                .bind(m.name.as_deref())
                .bind(m.platform)
                .bind(m.last_heartbeat_at)
                .bind(m.created_at)
                .bind(m.last_heartbeat_at.unwrap_or(m.created_at))
        },
    )
    .await?;
    Ok(machines.into_iter().map(|m| m.fingerprint).collect())
}

async fn write_activity(
    conn: &mut SqliteConnection,
    tenant: &Tenant,
    products: &[SeedProduct],
    licenses: &[SeedLicense],
    activity: &[Activity],
) -> anyhow::Result<()> {
    let rows: Vec<(&Activity, &str, &str, NaiveDate)> = activity
        .iter()
        .map(|row| {
            let license = &licenses[row.1 as usize];
            (
                row,
                products[license.product].id.as_str(),
                license.id.as_str(),
                row.0.date_naive(),
            )
        })
        .collect();
    let account = tenant.account_id.as_str();
    let environment = tenant.environment.as_str();
    let days: Vec<String> = rows.iter().map(|r| r.3.to_string()).collect();
    let rows: Vec<_> = rows.into_iter().zip(days.iter()).collect();
    insert_all(
        conn,
        "activity (account_id, environment, kind, product_id, license_id, code, day, created_at)",
        8,
        &rows,
        |query, ((row, product_id, license_id, _), day)| {
            query
                .bind(account.to_owned())
                .bind(environment.to_owned())
                .bind(row.2)
                .bind(*product_id)
                .bind(*license_id)
                .bind(row.3)
                .bind(day.as_str())
                .bind(row.0)
        },
    )
    .await
}
