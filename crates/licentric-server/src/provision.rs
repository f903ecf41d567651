//! Creating an account, its first API key, and optionally demo data.
//!
//! Used by `licentric-server init` and by the desktop app's local server.

use chrono::{DateTime, Duration, Utc};
use licentric_core::{Environment, KeyPrefix, LicenseKey, Scope};
use rand::rngs::OsRng;
use serde::Serialize;
use sqlx::SqlitePool;
use uuid::Uuid;

use crate::{
    api_key,
    db::{
        accounts::{self, ApiKeyRow},
        licenses::{self, NewLicense},
        products::{self, NewPolicy, NewProduct},
    },
};

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
    db: &SqlitePool,
    options: &ProvisionOptions,
    now: DateTime<Utc>,
) -> anyhow::Result<Provisioned> {
    let account_id = Uuid::new_v4().to_string();
    accounts::insert_account(db, &account_id, &options.account_name, now).await?;

    let key = api_key::generate(Environment::Live);
    let key_id = Uuid::new_v4().to_string();
    accounts::insert_api_key(
        db,
        &ApiKeyRow {
            id: &key_id,
            account_id: &account_id,
            environment: Environment::Live,
            name: "Initial key (all scopes)",
            key_hash: &key.hash,
            display_prefix: &key.display_prefix,
            scopes: &Scope::ALL,
        },
        now,
    )
    .await?;

    let demo = if options.demo {
        Some(create_demo(db, &account_id, now).await?)
    } else {
        None
    };
    Ok(Provisioned {
        account_id,
        api_key: key.secret,
        demo,
    })
}

async fn create_demo(
    db: &SqlitePool,
    account_id: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<DemoData> {
    let product_id = Uuid::new_v4().to_string();
    let prefix = KeyPrefix::parse("DEMO")?;
    products::insert_product(
        db,
        &NewProduct {
            id: &product_id,
            account_id,
            environment: Environment::Live,
            name: "Demo App",
            key_prefix: &prefix,
        },
        now,
    )
    .await?;

    let policy_id = Uuid::new_v4().to_string();
    let duration = Duration::days(DEMO_LICENSE_DAYS);
    products::insert_policy(
        db,
        &NewPolicy {
            id: &policy_id,
            account_id,
            environment: Environment::Live,
            product_id: &product_id,
            name: "Standard (3 machines, 1 year)",
            max_machines: Some(3),
            duration_secs: Some(duration.num_seconds()),
            offline_max_days: 14,
            grace_days: 7,
        },
        now,
    )
    .await?;

    let license_id = Uuid::new_v4().to_string();
    let key = LicenseKey::generate(&prefix, &mut OsRng);
    let expires_at = now + duration;
    licenses::insert_license(
        db,
        &NewLicense {
            id: &license_id,
            account_id,
            environment: Environment::Live,
            product_id: &product_id,
            policy_id: &policy_id,
            key: &key,
            expires_at: Some(expires_at),
        },
        now,
    )
    .await?;

    Ok(DemoData {
        product_id,
        policy_id,
        license_id,
        license_key: key.as_str().to_owned(),
        license_expires_at: expires_at,
    })
}
