//! Products, on SQLite and PostgreSQL: each statement written once ([`run!`]); the list
//! is the shared paged search ([`super::search_page`]).

use crate::{params::Page, tenant::Tenant};
use chrono::{DateTime, Utc};
use licentric_core::wire::{CurrentSigningKey, Product};

use super::{postgres, run, DbRef, Search};

/// Sortable fields of a product list.
pub const SORTABLE: &[(&str, &str)] = &[
    ("createdAt", "created_at"),
    ("updatedAt", "updated_at"),
    ("name", "name"),
];

/// A product as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProductRecord {
    /// The product's id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// The prefix of its license keys.
    pub key_prefix: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl ProductRecord {
    /// The wire form, with its tenant's account and current signing key.
    pub fn into_wire(self, tenant: &Tenant, signing_key: CurrentSigningKey) -> Product {
        Product {
            id: self.id,
            account_id: tenant.account_id.clone(),
            name: self.name,
            key_prefix: self.key_prefix,
            signing_key,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// Inserts a product.
pub async fn insert(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    id: &str,
    name: &str,
    key_prefix: &str,
    now: DateTime<Utc>,
) -> super::Result<()> {
    run!(
        db.into(),
        tenant,
        query(
            "INSERT INTO products (id, account_id, environment, name, key_prefix, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
            id,
            &tenant.account_id,
            tenant.environment.as_str(),
            name,
            key_prefix,
            now,
        )
        .execute
    )?;
    Ok(())
}

/// The tenant's product with this id.
pub async fn get(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    id: &str,
) -> super::Result<Option<ProductRecord>> {
    run!(
        db.into(),
        tenant,
        query_as(
            "SELECT id, name, key_prefix, created_at, updated_at FROM products
              WHERE id = $1 AND account_id = $2 AND environment = $3",
            id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .fetch_optional
    )
}

/// One page of the tenant's products whose name contains `q`, and how many there are.
pub async fn list(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    q: Option<&str>,
    page: &Page,
) -> super::Result<(Vec<ProductRecord>, u32)> {
    let search = Search {
        table: "products",
        columns: "id, name, key_prefix, created_at, updated_at",
        searched: &["name"],
    };
    super::search_page(db, tenant, search, q, page).await
}

/// Saves a changed product.
pub async fn update(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    product: &ProductRecord,
) -> super::Result<()> {
    run!(
        db.into(),
        tenant,
        query(
            "UPDATE products SET name = $1, key_prefix = $2, updated_at = $3
              WHERE id = $4 AND account_id = $5 AND environment = $6",
            &product.name,
            &product.key_prefix,
            product.updated_at,
            &product.id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .execute
    )?;
    Ok(())
}

/// How many licenses the tenant's product has.
pub async fn license_count(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    product_id: &str,
) -> super::Result<u32> {
    let n: i64 = run!(
        db.into(),
        tenant,
        query_scalar(
            "SELECT count(*) FROM licenses WHERE product_id = $1 AND account_id = $2 AND environment = $3",
            product_id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .fetch_one
    )?;
    Ok(postgres::count(n))
}

/// Deletes a product and its policies.
pub async fn delete(db: impl Into<DbRef<'_>>, tenant: &Tenant, id: &str) -> super::Result<bool> {
    let deleted = run!(
        db.into(),
        tenant,
        query(
            "DELETE FROM products WHERE id = $1 AND account_id = $2 AND environment = $3",
            id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .execute
    )?;
    Ok(deleted == 1)
}
