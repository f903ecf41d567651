//! Creating an account, its first API key, and optionally demo data.
//!
//! Used by `licentric-server init` and by the desktop app's local server.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use licentric_core::{wire::Policy, Environment, KeyPrefix, LicenseKey, Scope};
use rand::rngs::OsRng;
use serde::Serialize;
use sqlx::SqlitePool;

use crate::db::DbRef;
use uuid::Uuid;

use crate::{api_key, db, tenant::Tenant};

/// What to create.
#[derive(Debug, Clone)]
pub struct ProvisionOptions {
    /// The account's display name.
    pub account_name: String,
    /// Also create a demo product, policy and license.
    pub demo: bool,
}

/// What was created. Holds the API key's only clear copy: print it once, then drop it.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Provisioned {
    /// The new account.
    pub account_id: String,
    /// A live API key holding every scope.
    pub api_key: String,
    /// A test (sandbox) API key holding every scope: it sees only test data.
    pub test_api_key: String,
    /// The demo records, when asked for.
    #[serde(flatten)]
    pub demo: Option<DemoData>,
}

impl std::fmt::Debug for Provisioned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provisioned")
            .field("account_id", &self.account_id)
            .field("demo", &self.demo)
            .finish_non_exhaustive()
    }
}

/// The demo product, policy and license.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DemoData {
    /// The demo product ("Demo App", key prefix `DEMO`).
    pub product_id: String,
    /// Its policy: 3 machines, one year, 14 days offline, 7 days grace.
    pub policy_id: String,
    /// An active license valid for a year.
    pub license_id: String,
    /// That license's key.
    pub license_key: String,
    /// When the demo license expires.
    pub license_expires_at: DateTime<Utc>,
}

/// The demo license lasts this long from its creation.
pub const DEMO_LICENSE_DAYS: i64 = 365;

/// Creates the account, its all-scopes live API key, and (with `demo`) the demo records,
/// in one transaction-free sequence of inserts stamped with `now`.
pub async fn provision(
    db: impl Into<DbRef<'_>>,
    options: &ProvisionOptions,
    now: DateTime<Utc>,
) -> anyhow::Result<Provisioned> {
    let db = db.into();
    let account_id = Uuid::new_v4().to_string();
    db::accounts::insert_account(db, &account_id, &options.account_name, now).await?;
    let tenant = Tenant {
        account_id,
        environment: Environment::Live,
    };

    let key = initial_key(db, &tenant, now).await?;
    let test_key = initial_key(
        db,
        &Tenant {
            account_id: tenant.account_id.clone(),
            environment: Environment::Test,
        },
        now,
    )
    .await?;

    let demo = if options.demo {
        Some(create_demo(db, &tenant, now).await?)
    } else {
        None
    };
    Ok(Provisioned {
        account_id: tenant.account_id,
        api_key: key.secret,
        test_api_key: test_key.secret,
        demo,
    })
}

/// Whether `key` is an active API key of `account_id`; how the desktop app checks the
/// local console's key it kept in the keyring before using it.
pub async fn api_key_is_active(
    db: &SqlitePool,
    account_id: &str,
    key: &str,
) -> anyhow::Result<bool> {
    Ok(db::api_keys::find_active_by_hash(db, &api_key::hash(key))
        .await?
        .is_some_and(|row| row.tenant().account_id == account_id))
}

/// Creates an all-scopes live API key named `name` for `account_id` and returns its only
/// clear copy: how the desktop app gives its vendor console a key to the local server.
pub async fn issue_api_key(
    db: &SqlitePool,
    account_id: &str,
    name: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let tenant = Tenant {
        account_id: account_id.to_owned(),
        environment: Environment::Live,
    };
    Ok(all_scopes_key(db.into(), &tenant, name, now).await?.secret)
}

async fn initial_key(
    db: DbRef<'_>,
    tenant: &Tenant,
    now: DateTime<Utc>,
) -> anyhow::Result<api_key::NewApiKey> {
    all_scopes_key(db, tenant, "Initial key (all scopes)", now).await
}

async fn all_scopes_key(
    db: DbRef<'_>,
    tenant: &Tenant,
    name: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<api_key::NewApiKey> {
    let key = api_key::generate(tenant.environment);
    let scopes: BTreeSet<Scope> = Scope::ALL.into_iter().collect();
    db::api_keys::insert(
        db,
        &db::api_keys::NewApiKeyRow {
            id: &Uuid::new_v4().to_string(),
            tenant,
            name,
            key_hash: &key.hash,
            display_prefix: &key.display_prefix,
            scopes: &scopes,
        },
        now,
    )
    .await?;
    Ok(key)
}

async fn create_demo(
    db: DbRef<'_>,
    tenant: &Tenant,
    now: DateTime<Utc>,
) -> anyhow::Result<DemoData> {
    let product_id = Uuid::new_v4().to_string();
    let prefix = KeyPrefix::parse("DEMO")?;
    db::products::insert(db, tenant, &product_id, "Demo App", prefix.as_str(), now).await?;

    let duration = Duration::days(DEMO_LICENSE_DAYS);
    let policy = Policy {
        id: Uuid::new_v4().to_string(),
        product_id: product_id.clone(),
        name: "Standard (3 machines, 1 year)".to_owned(),
        max_machines: Some(3),
        floating: true,
        require_heartbeat: false,
        heartbeat_interval: 600,
        cull_dead_machines: false,
        duration: Some(u32::try_from(duration.num_seconds())?),
        offline_max_days: 14,
        grace_days: 7,
        max_uses: None,
        entitlements: vec![],
        created_at: now,
        updated_at: now,
    };
    db::policies::insert(db, tenant, &policy).await?;

    let license_id = Uuid::new_v4().to_string();
    let key = LicenseKey::generate(&prefix, &mut OsRng);
    let expires_at = now + duration;
    db::licenses::insert(
        db,
        tenant,
        &db::licenses::NewLicenseRow {
            id: &license_id,
            product_id: &product_id,
            policy_id: &policy.id,
            key: key.as_str(),
            name: Some("Demo customer"),
            expires_at: Some(expires_at),
            metadata: "{}",
        },
        now,
    )
    .await?;

    Ok(DemoData {
        product_id,
        policy_id: policy.id,
        license_id,
        license_key: key.as_str().to_owned(),
        license_expires_at: expires_at,
    })
}
