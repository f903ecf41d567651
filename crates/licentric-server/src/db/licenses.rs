//! Licenses.

use chrono::{DateTime, Utc};
use licentric_core::{Environment, LicenseKey, LicenseStatus};
use sqlx::SqlitePool;

/// A license to insert.
#[derive(Debug)]
pub struct NewLicense<'a> {
    /// The license's id.
    pub id: &'a str,
    /// The owning account.
    pub account_id: &'a str,
    /// Live or test.
    pub environment: Environment,
    /// The licensed product.
    pub product_id: &'a str,
    /// The governing policy.
    pub policy_id: &'a str,
    /// Its key.
    pub key: &'a LicenseKey,
    /// When it expires; `None` for perpetual.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Inserts an active license.
pub async fn insert_license(
    db: &SqlitePool,
    license: &NewLicense<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO licenses (id, account_id, environment, product_id, policy_id, key, status,
                               expires_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(license.id)
    .bind(license.account_id)
    .bind(license.environment.as_str())
    .bind(license.product_id)
    .bind(license.policy_id)
    .bind(license.key.as_str())
    .bind(LicenseStatus::Active.as_str())
    .bind(license.expires_at)
    .bind(now)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// A license as validation sees it, with its policy's limits.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LicenseForValidation {
    /// The license's id.
    pub id: String,
    /// The licensed product.
    pub product_id: String,
    /// The governing policy.
    pub policy_id: String,
    /// `active`, `suspended`, `revoked` or `banned`.
    pub status: String,
    /// When it expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// Validations so far.
    pub uses: i64,
    /// The policy's validation limit.
    pub max_uses: Option<i64>,
    /// The policy's machine limit.
    pub max_machines: Option<i64>,
}

/// Finds a license by its (normalised) key, in any account: the key is the credential.
pub async fn find_by_key(db: &SqlitePool, key: &str) -> sqlx::Result<Option<LicenseForValidation>> {
    sqlx::query_as(
        "SELECT l.id, l.product_id, l.policy_id, l.status, l.expires_at, l.uses,
                p.max_uses, p.max_machines
         FROM licenses l JOIN policies p ON p.id = l.policy_id
         WHERE l.key = ?",
    )
    .bind(key)
    .fetch_optional(db)
    .await
}
