//! Accounts (tenants) and their API keys.

use chrono::{DateTime, Utc};
use licentric_core::{Environment, Scope};
use sqlx::SqlitePool;

/// Inserts an account.
pub async fn insert_account(
    db: &SqlitePool,
    id: &str,
    name: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)")
        .bind(id)
        .bind(name)
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}

/// What is stored of a new API key: never the key itself.
#[derive(Debug)]
pub struct ApiKeyRow<'a> {
    /// The key's id.
    pub id: &'a str,
    /// The owning account.
    pub account_id: &'a str,
    /// Live or test.
    pub environment: Environment,
    /// A label chosen by the person who made it.
    pub name: &'a str,
    /// SHA-256 hex of the key.
    pub key_hash: &'a str,
    /// The key's first characters, for display.
    pub display_prefix: &'a str,
    /// What the key may do.
    pub scopes: &'a [Scope],
}

/// Inserts an API key.
pub async fn insert_api_key(
    db: &SqlitePool,
    key: &ApiKeyRow<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let scopes = serde_json::to_string(key.scopes).map_err(|e| sqlx::Error::Encode(e.into()))?;
    sqlx::query(
        "INSERT INTO api_keys (id, account_id, environment, name, key_hash, display_prefix, scopes, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(key.id)
    .bind(key.account_id)
    .bind(key.environment.as_str())
    .bind(key.name)
    .bind(key.key_hash)
    .bind(key.display_prefix)
    .bind(scopes)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}
