//! Products.

use chrono::{DateTime, Utc};
use licentric_core::wire::Product;
use sqlx::SqlitePool;

use crate::{auth::Tenant, params::Page};

/// Sortable fields of a product list.
pub const SORTABLE: &[(&str, &str)] = &[
    ("createdAt", "created_at"),
    ("updatedAt", "updated_at"),
    ("name", "name"),
];

#[derive(Debug, sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    key_prefix: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Row> for Product {
    fn from(r: Row) -> Self {
        Product {
            id: r.id,
            name: r.name,
            key_prefix: r.key_prefix,
            created_at: r.created_at,
            updated_at: r.updated_at,
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
) -> sqlx::Result<()> {
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
pub async fn get(db: &SqlitePool, tenant: &Tenant, id: &str) -> sqlx::Result<Option<Product>> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, name, key_prefix, created_at, updated_at FROM products WHERE id = ? AND account_id = ? AND environment = ?",
    )
    .bind(id)
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .fetch_optional(db)
    .await?;
    Ok(row.map(Into::into))
}

/// One page of the tenant's products, and how many there are.
pub async fn list(
    db: &SqlitePool,
    tenant: &Tenant,
    page: &Page,
) -> sqlx::Result<(Vec<Product>, u32)> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT id, name, key_prefix, created_at, updated_at FROM products WHERE account_id = ? AND environment = ?
         ORDER BY {} LIMIT ? OFFSET ?",
        page.order_by
    ))
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(db)
    .await?;
    let total = sqlx::query_scalar(
        "SELECT count(*) FROM products WHERE account_id = ? AND environment = ?",
    )
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .fetch_one(db)
    .await?;
    Ok((rows.into_iter().map(Into::into).collect(), total))
}

/// Saves a changed product.
pub async fn update(db: &SqlitePool, tenant: &Tenant, product: &Product) -> sqlx::Result<()> {
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
pub async fn license_count(db: &SqlitePool, product_id: &str) -> sqlx::Result<u32> {
    sqlx::query_scalar("SELECT count(*) FROM licenses WHERE product_id = ?")
        .bind(product_id)
        .fetch_one(db)
        .await
}

/// Deletes a product and its policies.
pub async fn delete(db: &SqlitePool, tenant: &Tenant, id: &str) -> sqlx::Result<bool> {
    let done =
        sqlx::query("DELETE FROM products WHERE id = ? AND account_id = ? AND environment = ?")
            .bind(id)
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .execute(db)
            .await?;
    Ok(done.rows_affected() == 1)
}
