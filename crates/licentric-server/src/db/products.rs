//! Products.

use chrono::{DateTime, Utc};
use licentric_core::wire::{CurrentSigningKey, Product};
use sqlx::SqlitePool;

use crate::{params::Page, tenant::Tenant};

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
    db: &SqlitePool,
    tenant: &Tenant,
    id: &str,
    name: &str,
    key_prefix: &str,
    now: DateTime<Utc>,
) -> super::Result<()> {
    sqlx::query(
        "INSERT INTO products (id, account_id, environment, name, key_prefix, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(name)
    .bind(key_prefix)
    .bind(now)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// The tenant's product with this id.
pub async fn get(
    db: &SqlitePool,
    tenant: &Tenant,
    id: &str,
) -> super::Result<Option<ProductRecord>> {
    sqlx::query_as(
        "SELECT id, name, key_prefix, created_at, updated_at FROM products WHERE id = ? AND account_id = ? AND environment = ?",
    )
    .bind(id)
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .fetch_optional(db)
    .await
    .map_err(Into::into)
}

/// One page of the tenant's products, and how many there are.
pub async fn list(
    db: &SqlitePool,
    tenant: &Tenant,
    q: Option<&str>,
    page: &Page,
) -> super::Result<(Vec<ProductRecord>, u32)> {
    let like = q.map(|q| format!("%{}%", q.trim()));
    let rows = sqlx::query_as(&format!(
        "SELECT id, name, key_prefix, created_at, updated_at FROM products WHERE account_id = ? AND environment = ? AND (? IS NULL OR name LIKE ?)
         ORDER BY {} LIMIT ? OFFSET ?",
        page.order_by
    ))
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(q)
    .bind(&like)
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(db)
    .await?;
    let total = sqlx::query_scalar(
        "SELECT count(*) FROM products WHERE account_id = ? AND environment = ? AND (? IS NULL OR name LIKE ?)",
    )
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(q)
    .bind(&like)
    .fetch_one(db)
    .await?;
    Ok((rows, total))
}

/// Saves a changed product.
pub async fn update(
    db: &SqlitePool,
    tenant: &Tenant,
    product: &ProductRecord,
) -> super::Result<()> {
    sqlx::query("UPDATE products SET name = ?, key_prefix = ?, updated_at = ? WHERE id = ? AND account_id = ? AND environment = ?")
        .bind(&product.name)
        .bind(&product.key_prefix)
        .bind(product.updated_at)
        .bind(&product.id)
        .bind(&tenant.account_id)
        .bind(tenant.environment.as_str())
        .execute(db)
        .await?;
    Ok(())
}

/// How many licenses the product has.
pub async fn license_count(db: &SqlitePool, product_id: &str) -> super::Result<u32> {
    sqlx::query_scalar("SELECT count(*) FROM licenses WHERE product_id = ?")
        .bind(product_id)
        .fetch_one(db)
        .await
        .map_err(Into::into)
}

/// Deletes a product and its policies.
pub async fn delete(db: &SqlitePool, tenant: &Tenant, id: &str) -> super::Result<bool> {
    let done =
        sqlx::query("DELETE FROM products WHERE id = ? AND account_id = ? AND environment = ?")
            .bind(id)
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .execute(db)
            .await?;
    Ok(done.rows_affected() == 1)
}
