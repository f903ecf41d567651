//! Signing keys: each account's Ed25519 keys per environment, the private half sealed;
//! on SQLite and PostgreSQL.

use chrono::{DateTime, Utc};

use crate::tenant::Tenant;

use super::{run, DbRef, DbTx, Scope};

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

/// The tenant a key row belongs to.
fn tenant_of(row: &SigningKeyRow) -> super::Result<Tenant> {
    Ok(Tenant {
        account_id: row.account_id.clone(),
        environment: row.environment.parse()?,
    })
}

/// The tenant's active key.
pub async fn active(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
) -> super::Result<Option<SigningKeyRow>> {
    run!(
        db.into(),
        tenant,
        query_as(
            &format!(
                "SELECT {COLUMNS} FROM signing_keys
                  WHERE account_id = $1 AND environment = $2 AND retired_at IS NULL"
            ),
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .fetch_optional
    )
}

/// All of the tenant's keys, newest first. Two statements: ties (keys made in the same
/// microsecond) go by SQLite's rowid, and PostgreSQL has none (by key id there).
pub async fn all(db: impl Into<DbRef<'_>>, tenant: &Tenant) -> super::Result<Vec<SigningKeyRow>> {
    let db = db.into();
    let order = match db {
        DbRef::Sqlite(_) => "created_at DESC, rowid DESC",
        DbRef::Postgres(_) => "created_at DESC, kid DESC",
    };
    run!(
        db,
        tenant,
        query_as(
            &format!(
                "SELECT {COLUMNS} FROM signing_keys WHERE account_id = $1 AND environment = $2
                 ORDER BY {order}"
            ),
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .fetch_all
    )
}

/// The most recently created key of any account (an active one first): what start-up
/// unseals to check the server secret. It spans tenants on purpose: start-up has none.
/// On PostgreSQL it is read through the narrow `licentric_newest_signing_key` function,
/// the one way the server's role sees a key outside a tenant's transaction.
pub async fn newest(db: impl Into<DbRef<'_>>) -> super::Result<Option<SigningKeyRow>> {
    match db.into() {
        DbRef::Sqlite(db) => sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM signing_keys ORDER BY retired_at IS NOT NULL, created_at DESC, rowid DESC LIMIT 1"
        ))
        .fetch_optional(db)
        .await
        .map_err(Into::into),
        DbRef::Postgres(db) => {
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM licentric_newest_signing_key()"))
                .fetch_optional(db)
                .await
                .map_err(Into::into)
        }
    }
}

/// Inserts `row` as the tenant's active key unless it already has one (or the key id is
/// taken); `false` then. Two racing first uses cannot both create a key.
pub async fn insert_if_none_active(
    db: impl Into<DbRef<'_>>,
    row: &SigningKeyRow,
) -> super::Result<bool> {
    Ok(insert(db.into(), &tenant_of(row)?, row).await? == 1)
}

/// `INSERT … ON CONFLICT DO NOTHING` (`INSERT OR IGNORE` for a unique key): a taken key
/// id or a second active key (`signing_keys_one_active`) inserts nothing.
async fn insert(
    db: impl Into<DbTx<'_>>,
    tenant: &Tenant,
    row: &SigningKeyRow,
) -> super::Result<u64> {
    run!(
        db.into(),
        tenant,
        query(
            &format!(
                "INSERT INTO signing_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)
                 ON CONFLICT DO NOTHING"
            ),
            &row.account_id,
            &row.environment,
            &row.kid,
            &row.public_key,
            &row.sealing,
            &row.seed_nonce,
            &row.sealed_seed,
            row.created_at,
        )
        .execute
    )
}

/// Retires the tenant's active key and makes `row` the active one, in one transaction;
/// `false` (and nothing changed) when `row`'s key id is already taken.
pub async fn rotate(
    db: impl Into<DbRef<'_>>,
    row: &SigningKeyRow,
    now: DateTime<Utc>,
) -> super::Result<bool> {
    let tenant = tenant_of(row)?;
    let mut tx = Scope::transaction(db, &tenant).await?;
    run!(
        &mut tx,
        &tenant,
        query(
            "UPDATE signing_keys SET retired_at = $1
              WHERE account_id = $2 AND environment = $3 AND retired_at IS NULL",
            now,
            &row.account_id,
            &row.environment,
        )
        .execute
    )?;
    if insert(&mut tx, &tenant, row).await? != 1 {
        // Dropped: rolled back.
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

/// Retires one key (when its seed can no longer be unsealed).
pub async fn retire(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    kid: &str,
    now: DateTime<Utc>,
) -> super::Result<()> {
    run!(
        db.into(),
        tenant,
        query(
            "UPDATE signing_keys SET retired_at = $1
              WHERE account_id = $2 AND environment = $3 AND kid = $4 AND retired_at IS NULL",
            now,
            &tenant.account_id,
            tenant.environment.as_str(),
            kid,
        )
        .execute
    )?;
    Ok(())
}
