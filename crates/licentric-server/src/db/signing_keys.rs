//! Signing keys: each account's Ed25519 keys per environment, the private half sealed.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use crate::tenant::Tenant;

/// A signing key as stored.
#[derive(Clone, sqlx::FromRow)]
pub struct SigningKeyRow {
    /// The owning account.
    pub account_id: String,
    /// `live` or `test`.
    pub environment: String,
    /// The key id.
    pub kid: String,
    /// Unpadded base64url of the 32 public key bytes.
    pub public_key: String,
    /// The sealing scheme of `sealed_seed`.
    pub sealing: String,
    /// The sealing nonce.
    pub seed_nonce: Vec<u8>,
    /// The sealed 32-byte seed with its tag.
    pub sealed_seed: Vec<u8>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stopped signing; `None` for the active key.
    pub retired_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for SigningKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The sealed seed is harmless without the secret, but stays out of logs anyway.
        f.debug_struct("SigningKeyRow")
            .field("account_id", &self.account_id)
            .field("environment", &self.environment)
            .field("kid", &self.kid)
            .field("public_key", &self.public_key)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str = "account_id, environment, kid, public_key, sealing, seed_nonce, sealed_seed, created_at, retired_at";

/// The tenant's active key.
pub async fn active(db: &SqlitePool, tenant: &Tenant) -> super::Result<Option<SigningKeyRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM signing_keys WHERE account_id = ? AND environment = ? AND retired_at IS NULL"
    ))
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .fetch_optional(db)
    .await
    .map_err(Into::into)
}

/// All of the tenant's keys, newest first.
pub async fn all(db: &SqlitePool, tenant: &Tenant) -> super::Result<Vec<SigningKeyRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM signing_keys WHERE account_id = ? AND environment = ?
         ORDER BY created_at DESC, rowid DESC"
    ))
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .fetch_all(db)
    .await
    .map_err(Into::into)
}

/// The most recently created key of any account: what start-up unseals to check the
/// server secret.
pub async fn newest(db: &SqlitePool) -> super::Result<Option<SigningKeyRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM signing_keys ORDER BY retired_at IS NOT NULL, created_at DESC, rowid DESC LIMIT 1"
    ))
    .fetch_optional(db)
    .await
    .map_err(Into::into)
}

/// Inserts `row` as the tenant's active key unless it already has one (or the key id is
/// taken); `false` then. Two racing first uses cannot both create a key.
pub async fn insert_if_none_active(db: &SqlitePool, row: &SigningKeyRow) -> super::Result<bool> {
    let done = sqlx::query(&format!(
        "INSERT OR IGNORE INTO signing_keys ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)"
    ))
    .bind(&row.account_id)
    .bind(&row.environment)
    .bind(&row.kid)
    .bind(&row.public_key)
    .bind(&row.sealing)
    .bind(&row.seed_nonce)
    .bind(&row.sealed_seed)
    .bind(row.created_at)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Retires the tenant's active key and makes `row` the active one, in one transaction;
/// `false` (and nothing changed) when `row`'s key id is already taken.
pub async fn rotate(
    db: &SqlitePool,
    row: &SigningKeyRow,
    now: DateTime<Utc>,
) -> super::Result<bool> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE signing_keys SET retired_at = ? WHERE account_id = ? AND environment = ? AND retired_at IS NULL",
    )
    .bind(now)
    .bind(&row.account_id)
    .bind(&row.environment)
    .execute(&mut *tx)
    .await?;
    let done = sqlx::query(&format!(
        "INSERT OR IGNORE INTO signing_keys ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)"
    ))
    .bind(&row.account_id)
    .bind(&row.environment)
    .bind(&row.kid)
    .bind(&row.public_key)
    .bind(&row.sealing)
    .bind(&row.seed_nonce)
    .bind(&row.sealed_seed)
    .bind(row.created_at)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

/// Retires one key (when its seed can no longer be unsealed).
pub async fn retire(
    db: &SqlitePool,
    tenant: &Tenant,
    kid: &str,
    now: DateTime<Utc>,
) -> super::Result<()> {
    sqlx::query(
        "UPDATE signing_keys SET retired_at = ? WHERE account_id = ? AND environment = ? AND kid = ? AND retired_at IS NULL",
    )
    .bind(now)
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(kid)
    .execute(db)
    .await?;
    Ok(())
}
