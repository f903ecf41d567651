//! API keys: stored as SHA-256 hashes, never in clear; on SQLite and PostgreSQL.
//!
//! On PostgreSQL a key is found by its hash (before its tenant is known) through the
//! narrow `licentric_api_key_by_hash` function; everything else runs in a transaction
//! set for the key's tenant.

use std::collections::BTreeSet;

use crate::{params::Page, tenant::Tenant};
use chrono::{DateTime, Utc};
use licentric_core::{wire::ApiKey, Environment, Scope};

use super::{postgres, run, DbRef};

/// What is stored of a new API key: never the key itself.
#[derive(Debug)]
pub struct NewApiKeyRow<'a> {
    /// The key's id.
    pub id: &'a str,
    /// The owner.
    pub tenant: &'a Tenant,
    /// A label chosen by the person who made it.
    pub name: &'a str,
    /// SHA-256 hex of the key.
    pub key_hash: &'a str,
    /// The key's first characters, for display.
    pub display_prefix: &'a str,
    /// What the key may do.
    pub scopes: &'a BTreeSet<Scope>,
}

/// Inserts an API key.
pub async fn insert(
    db: impl Into<DbRef<'_>>,
    key: &NewApiKeyRow<'_>,
    now: DateTime<Utc>,
) -> super::Result<()> {
    let scopes = serde_json::to_string(key.scopes).map_err(|e| sqlx::Error::Encode(e.into()))?;
    run!(
        db.into(),
        key.tenant,
        query(
            "INSERT INTO api_keys (id, account_id, environment, name, key_hash, display_prefix, scopes, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            key.id,
            &key.tenant.account_id,
            key.tenant.environment.as_str(),
            key.name,
            key.key_hash,
            key.display_prefix,
            &scopes,
            now,
        )
        .execute
    )?;
    Ok(())
}

/// An API key as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyRecord {
    /// The key's id.
    pub id: String,
    /// The owning account.
    pub account_id: String,
    /// Live or test.
    #[sqlx(try_from = "String")]
    pub environment: Environment,
    /// Its label.
    pub name: String,
    /// Its first characters.
    pub display_prefix: String,
    /// JSON array of scope names.
    pub scopes: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiKeyRecord {
    /// Its scopes.
    pub fn scope_set(&self) -> super::Result<BTreeSet<Scope>> {
        Ok(serde_json::from_str(&self.scopes)?)
    }

    /// The tenant it acts for.
    pub fn tenant(&self) -> Tenant {
        Tenant {
            environment: self.environment,
            account_id: self.account_id.clone(),
        }
    }

    /// The wire form, without the key.
    pub fn into_wire(self) -> super::Result<ApiKey> {
        Ok(ApiKey {
            scopes: self.scope_set()?.into_iter().collect(),
            environment: self.environment,
            id: self.id,
            name: self.name,
            display_prefix: self.display_prefix,
            key: None,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        })
    }
}

const COLUMNS: &str =
    "id, account_id, environment, name, display_prefix, scopes, created_at, last_used_at";

/// The unrevoked key with this hash.
pub async fn find_active_by_hash(
    db: impl Into<DbRef<'_>>,
    hash: &str,
) -> super::Result<Option<ApiKeyRecord>> {
    match db.into() {
        DbRef::Sqlite(db) => sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL"
        ))
        .bind(hash)
        .fetch_optional(db)
        .await
        .map_err(Into::into),
        DbRef::Postgres(db) => {
            // The lookup function gives the tenant; the rest of the record is read as
            // that tenant, in the same transaction.
            let mut tx = db.begin().await?;
            let found: Option<(String, String, String)> = sqlx::query_as(
                "SELECT id, account_id, environment FROM licentric_api_key_by_hash($1)
                 WHERE revoked_at IS NULL",
            )
            .bind(hash)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((id, account_id, environment)) = found else {
                tx.commit().await?;
                return Ok(None);
            };
            let tenant = Tenant {
                account_id,
                environment: environment.parse()?,
            };
            postgres::set_tenant(&mut tx, &tenant).await?;
            let record = sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM api_keys WHERE id = $1 AND key_hash = $2
                   AND account_id = $3 AND environment = $4 AND revoked_at IS NULL"
            ))
            .bind(&id)
            .bind(hash)
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(record)
        }
    }
}

/// Records a use of the tenant's key, unless one was recorded after `older_than`.
pub async fn touch(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    id: &str,
    now: DateTime<Utc>,
    older_than: DateTime<Utc>,
) -> super::Result<()> {
    run!(
        db.into(),
        tenant,
        query(
            "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND account_id = $3 AND environment = $4
               AND (last_used_at IS NULL OR last_used_at < $5)",
            now,
            id,
            &tenant.account_id,
            tenant.environment.as_str(),
            older_than,
        )
        .execute
    )?;
    Ok(())
}

/// Keys whose every scope is in the JSON array bound to the placeholder: the keys a
/// caller holding those scopes may see.
const WITHIN_SCOPES: &str = "NOT EXISTS (SELECT 1 FROM json_each(api_keys.scopes) AS held
     WHERE held.value NOT IN (SELECT value FROM json_each(?)))";
/// The same on PostgreSQL, the array bound to `$3`.
const WITHIN_SCOPES_POSTGRES: &str = "NOT EXISTS (
     SELECT 1 FROM jsonb_array_elements_text(api_keys.scopes::jsonb) AS held(value)
     WHERE held.value NOT IN (SELECT jsonb_array_elements_text($3::jsonb)))";

/// One page of the tenant's unrevoked keys whose scopes all lie within `within`, and how
/// many there are.
pub async fn list(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    within: &BTreeSet<Scope>,
    page: &Page,
) -> super::Result<(Vec<ApiKeyRecord>, u32)> {
    let within = serde_json::to_string(within).map_err(|e| sqlx::Error::Encode(e.into()))?;
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            let filter = format!(
                "account_id = $1 AND environment = $2 AND revoked_at IS NULL AND {WITHIN_SCOPES_POSTGRES}"
            );
            let mut tx = postgres::begin_for(db, tenant).await?;
            let rows = sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM api_keys WHERE {filter}
                 ORDER BY {order} LIMIT $4 OFFSET $5",
                order = postgres::order_by(page)
            ))
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .bind(&within)
            .bind(i64::from(page.limit))
            .bind(i64::from(page.offset))
            .fetch_all(&mut *tx)
            .await?;
            let total: i64 =
                sqlx::query_scalar(&format!("SELECT count(*) FROM api_keys WHERE {filter}"))
                    .bind(&tenant.account_id)
                    .bind(tenant.environment.as_str())
                    .bind(&within)
                    .fetch_one(&mut *tx)
                    .await?;
            tx.commit().await?;
            return Ok((rows, postgres::count(total)));
        }
    };
    let rows = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_keys WHERE account_id = ? AND environment = ? AND revoked_at IS NULL
         AND {WITHIN_SCOPES} ORDER BY {} LIMIT ? OFFSET ?",
        page.order_by
    ))
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(&within)
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(db)
    .await?;
    let total: u32 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM api_keys WHERE account_id = ? AND environment = ? AND revoked_at IS NULL
         AND {WITHIN_SCOPES}"
    ))
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(&within)
    .fetch_one(db)
    .await?;
    Ok((rows, total))
}

/// The tenant's unrevoked key with this id.
pub async fn get(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    id: &str,
) -> super::Result<Option<ApiKeyRecord>> {
    run!(
        db.into(),
        tenant,
        query_as(
            &format!(
                "SELECT {COLUMNS} FROM api_keys
                  WHERE id = $1 AND account_id = $2 AND environment = $3 AND revoked_at IS NULL"
            ),
            id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .fetch_optional
    )
}

/// Revokes a key; it stops working at once.
pub async fn revoke(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    id: &str,
    now: DateTime<Utc>,
) -> super::Result<bool> {
    let done = run!(
        db.into(),
        tenant,
        query(
            "UPDATE api_keys SET revoked_at = $1
              WHERE id = $2 AND account_id = $3 AND environment = $4 AND revoked_at IS NULL",
            now,
            id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .execute
    )?;
    Ok(done == 1)
}

/// Replaces a key's secret; the old one stops working at once.
pub async fn rotate(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    id: &str,
    hash: &str,
    display_prefix: &str,
) -> super::Result<bool> {
    let done = run!(
        db.into(),
        tenant,
        query(
            "UPDATE api_keys SET key_hash = $1, display_prefix = $2, last_used_at = NULL
             WHERE id = $3 AND account_id = $4 AND environment = $5 AND revoked_at IS NULL",
            hash,
            display_prefix,
            id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .execute
    )?;
    Ok(done == 1)
}
