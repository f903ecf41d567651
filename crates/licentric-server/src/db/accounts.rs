//! Accounts (tenants).

use chrono::{DateTime, Utc};
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
