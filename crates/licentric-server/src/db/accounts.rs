//! Accounts (tenants), on SQLite and PostgreSQL.

use chrono::{DateTime, Utc};
use licentric_core::Environment;

use super::{run, DbRef};
use crate::tenant::Tenant;

/// The tenant a PostgreSQL transaction about the account itself is set for: the
/// accounts' policy reads the account alone, so either environment does.
fn itself(account_id: &str) -> Tenant {
    Tenant {
        account_id: account_id.to_owned(),
        environment: Environment::Live,
    }
}

/// Inserts an account. On PostgreSQL the transaction is set for the new account first:
/// the policy's WITH CHECK lets a transaction create only the account it is set for.
pub async fn insert_account(
    db: impl Into<DbRef<'_>>,
    id: &str,
    name: &str,
    now: DateTime<Utc>,
) -> super::Result<()> {
    run!(
        db.into(),
        &itself(id),
        query(
            "INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)",
            id,
            name,
            now,
        )
        .execute
    )?;
    Ok(())
}

/// Whether an account with this id exists.
pub async fn exists(db: impl Into<DbRef<'_>>, account_id: &str) -> super::Result<bool> {
    run!(
        db.into(),
        &itself(account_id),
        query_scalar(
            "SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1)",
            account_id,
        )
        .fetch_one
    )
}
