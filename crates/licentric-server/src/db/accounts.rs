//! Accounts (tenants), on SQLite and PostgreSQL.

use chrono::{DateTime, Utc};
use licentric_core::Environment;

use super::{postgres, DbRef};
use crate::tenant::Tenant;

/// The tenant a PostgreSQL transaction about the account itself is set for: the
/// accounts' policy reads the account alone, so either environment does.
fn itself(account_id: &str) -> Tenant {
    Tenant {
        account_id: account_id.to_owned(),
        environment: Environment::Live,
    }
}

/// Inserts an account.
pub async fn insert_account(
    db: impl Into<DbRef<'_>>,
    id: &str,
    name: &str,
    now: DateTime<Utc>,
) -> super::Result<()> {
    match db.into() {
        DbRef::Sqlite(db) => {
            sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)")
                .bind(id)
                .bind(name)
                .bind(now)
                .execute(db)
                .await?;
        }
        DbRef::Postgres(db) => {
            // Set for the new account first: the policy's WITH CHECK lets a transaction
            // create only the account it is set for.
            let mut tx = postgres::begin_for(db, &itself(id)).await?;
            sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(name)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
    }
    Ok(())
}

/// Whether an account with this id exists.
pub async fn exists(db: impl Into<DbRef<'_>>, account_id: &str) -> super::Result<bool> {
    let found: Option<i64> = match db.into() {
        DbRef::Sqlite(db) => {
            sqlx::query_scalar("SELECT 1 FROM accounts WHERE id = ?")
                .bind(account_id)
                .fetch_optional(db)
                .await?
        }
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, &itself(account_id)).await?;
            let found = sqlx::query_scalar("SELECT 1::bigint FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_optional(&mut *tx)
                .await?;
            tx.commit().await?;
            found
        }
    };
    Ok(found.is_some())
}
