//! Accounts (tenants).

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

/// Inserts an account.
pub async fn insert_account(
    db: &SqlitePool,
    id: &str,
    name: &str,
    now: DateTime<Utc>,
) -> super::Result<()> {
    sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)")
        .bind(id)
        .bind(name)
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}

/// Whether an account with this id exists.
pub async fn exists(db: &SqlitePool, account_id: &str) -> super::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM accounts WHERE id = ?")
        .bind(account_id)
        .fetch_optional(db)
        .await?;
    Ok(found.is_some())
}
