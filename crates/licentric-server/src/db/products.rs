//! Products and policies.

use chrono::{DateTime, Utc};
use licentric_core::{Environment, KeyPrefix};
use sqlx::SqlitePool;

/// A product to insert.
#[derive(Debug)]
pub struct NewProduct<'a> {
    /// The product's id.
    pub id: &'a str,
    /// The owning account.
    pub account_id: &'a str,
    /// Live or test.
    pub environment: Environment,
    /// Its display name.
    pub name: &'a str,
    /// The prefix of its license keys.
    pub key_prefix: &'a KeyPrefix,
}

/// Inserts a product.
pub async fn insert_product(
    db: &SqlitePool,
    product: &NewProduct<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO products (id, account_id, environment, name, key_prefix, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(product.id)
    .bind(product.account_id)
    .bind(product.environment.as_str())
    .bind(product.name)
    .bind(product.key_prefix.as_str())
    .bind(now)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// A policy to insert.
#[derive(Debug)]
pub struct NewPolicy<'a> {
    /// The policy's id.
    pub id: &'a str,
    /// The owning account.
    pub account_id: &'a str,
    /// Live or test.
    pub environment: Environment,
    /// The product it belongs to.
    pub product_id: &'a str,
    /// Its display name.
    pub name: &'a str,
    /// Most machines per license; `None` for unlimited.
    pub max_machines: Option<i64>,
    /// How long a new license lasts, in seconds; `None` for perpetual.
    pub duration_secs: Option<i64>,
    /// How long a machine may stay offline, in days.
    pub offline_max_days: i64,
    /// Grace period after the cached token expires, in days.
    pub grace_days: i64,
}

/// Inserts a policy.
pub async fn insert_policy(
    db: &SqlitePool,
    policy: &NewPolicy<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO policies (id, account_id, environment, product_id, name, max_machines,
                               duration_secs, offline_max_days, grace_days, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(policy.id)
    .bind(policy.account_id)
    .bind(policy.environment.as_str())
    .bind(policy.product_id)
    .bind(policy.name)
    .bind(policy.max_machines)
    .bind(policy.duration_secs)
    .bind(policy.offline_max_days)
    .bind(policy.grace_days)
    .bind(now)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}
