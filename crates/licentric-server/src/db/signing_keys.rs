//! Signing keys: each account's Ed25519 keys per environment, the private half sealed;
//! on SQLite and PostgreSQL.

use chrono::{DateTime, Utc};

use crate::tenant::Tenant;

use super::{postgres, DbRef};

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
    match db.into() {
        DbRef::Sqlite(db) => sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM signing_keys WHERE account_id = ? AND environment = ? AND retired_at IS NULL"
        ))
        .bind(&tenant.account_id)
        .bind(tenant.environment.as_str())
        .fetch_optional(db)
        .await
        .map_err(Into::into),
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, tenant).await?;
            let row = sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM signing_keys WHERE account_id = $1 AND environment = $2 AND retired_at IS NULL"
            ))
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(row)
        }
    }
}

/// All of the tenant's keys, newest first.
pub async fn all(db: impl Into<DbRef<'_>>, tenant: &Tenant) -> super::Result<Vec<SigningKeyRow>> {
    match db.into() {
        DbRef::Sqlite(db) => sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM signing_keys WHERE account_id = ? AND environment = ?
             ORDER BY created_at DESC, rowid DESC"
        ))
        .bind(&tenant.account_id)
        .bind(tenant.environment.as_str())
        .fetch_all(db)
        .await
        .map_err(Into::into),
        DbRef::Postgres(db) => {
            // No rowid: two keys made in the same microsecond are told apart by key id.
            let mut tx = postgres::begin_for(db, tenant).await?;
            let rows = sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM signing_keys WHERE account_id = $1 AND environment = $2
                 ORDER BY created_at DESC, kid DESC"
            ))
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(rows)
        }
    }
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
    let done = match db.into() {
        DbRef::Sqlite(db) => sqlx::query(&format!(
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
        .await?
        .rows_affected(),
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, &tenant_of(row)?).await?;
            let n = insert_postgres(&mut tx, row).await?;
            tx.commit().await?;
            n
        }
    };
    Ok(done == 1)
}

/// `INSERT … ON CONFLICT DO NOTHING` (SQLite's `INSERT OR IGNORE`): a taken key id or a
/// second active key (`signing_keys_one_active`) inserts nothing.
async fn insert_postgres(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    row: &SigningKeyRow,
) -> super::Result<u64> {
    Ok(sqlx::query(&format!(
        "INSERT INTO signing_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)
         ON CONFLICT DO NOTHING"
    ))
    .bind(&row.account_id)
    .bind(&row.environment)
    .bind(&row.kid)
    .bind(&row.public_key)
    .bind(&row.sealing)
    .bind(&row.seed_nonce)
    .bind(&row.sealed_seed)
    .bind(row.created_at)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Retires the tenant's active key and makes `row` the active one, in one transaction;
/// `false` (and nothing changed) when `row`'s key id is already taken.
pub async fn rotate(
    db: impl Into<DbRef<'_>>,
    row: &SigningKeyRow,
    now: DateTime<Utc>,
) -> super::Result<bool> {
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, &tenant_of(row)?).await?;
            sqlx::query(
                "UPDATE signing_keys SET retired_at = $1 WHERE account_id = $2 AND environment = $3 AND retired_at IS NULL",
            )
            .bind(now)
            .bind(&row.account_id)
            .bind(&row.environment)
            .execute(&mut *tx)
            .await?;
            if insert_postgres(&mut tx, row).await? != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            tx.commit().await?;
            return Ok(true);
        }
    };
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
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    kid: &str,
    now: DateTime<Utc>,
) -> super::Result<()> {
    match db.into() {
        DbRef::Sqlite(db) => {
            sqlx::query(
                "UPDATE signing_keys SET retired_at = ? WHERE account_id = ? AND environment = ? AND kid = ? AND retired_at IS NULL",
            )
            .bind(now)
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .bind(kid)
            .execute(db)
            .await?;
        }
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, tenant).await?;
            sqlx::query(
                "UPDATE signing_keys SET retired_at = $1 WHERE account_id = $2 AND environment = $3 AND kid = $4 AND retired_at IS NULL",
            )
            .bind(now)
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .bind(kid)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
    }
    Ok(())
}
