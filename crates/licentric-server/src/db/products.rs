//! Products, on SQLite and PostgreSQL (the SQL of each where it differs).

use crate::{params::Page, tenant::Tenant};
use chrono::{DateTime, Utc};
use licentric_core::wire::{CurrentSigningKey, Product};

use super::{postgres, DbRef};

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
    const POSTGRES: &str =
        "INSERT INTO products (id, account_id, environment, name, key_prefix, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)";
    match db.into() {
        DbRef::Sqlite(db) => {
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
        }
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, tenant).await?;
            sqlx::query(POSTGRES)
                .bind(id)
                .bind(&tenant.account_id)
                .bind(tenant.environment.as_str())
                .bind(name)
                .bind(key_prefix)
                .bind(now)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
    }
    Ok(())
}

/// The tenant's product with this id.
pub async fn get(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    id: &str,
) -> super::Result<Option<ProductRecord>> {
    match db.into() {
        DbRef::Sqlite(db) => sqlx::query_as(
            "SELECT id, name, key_prefix, created_at, updated_at FROM products WHERE id = ? AND account_id = ? AND environment = ?",
        )
        .bind(id)
        .bind(&tenant.account_id)
        .bind(tenant.environment.as_str())
        .fetch_optional(db)
        .await
        .map_err(Into::into),
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, tenant).await?;
            let product = sqlx::query_as(
                "SELECT id, name, key_prefix, created_at, updated_at FROM products WHERE id = $1 AND account_id = $2 AND environment = $3",
            )
            .bind(id)
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(product)
        }
    }
}

/// One page of the tenant's products, and how many there are.
pub async fn list(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    q: Option<&str>,
    page: &Page,
) -> super::Result<(Vec<ProductRecord>, u32)> {
    let like = q.map(|q| format!("%{}%", q.trim()));
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            let search = postgres::Search {
                table: "products",
                columns: "id, name, key_prefix, created_at, updated_at",
                searched: &["name"],
            };
            return postgres::search_page(db, tenant, search, like.as_deref(), page).await;
        }
    };
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
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    product: &ProductRecord,
) -> super::Result<()> {
    match db.into() {
        DbRef::Sqlite(db) => {
            sqlx::query("UPDATE products SET name = ?, key_prefix = ?, updated_at = ? WHERE id = ? AND account_id = ? AND environment = ?")
                .bind(&product.name)
                .bind(&product.key_prefix)
                .bind(product.updated_at)
                .bind(&product.id)
                .bind(&tenant.account_id)
                .bind(tenant.environment.as_str())
                .execute(db)
                .await?;
        }
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, tenant).await?;
            sqlx::query("UPDATE products SET name = $1, key_prefix = $2, updated_at = $3 WHERE id = $4 AND account_id = $5 AND environment = $6")
                .bind(&product.name)
                .bind(&product.key_prefix)
                .bind(product.updated_at)
                .bind(&product.id)
                .bind(&tenant.account_id)
                .bind(tenant.environment.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
    }
    Ok(())
}

/// How many licenses the tenant's product has.
pub async fn license_count(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    product_id: &str,
) -> super::Result<u32> {
    match db.into() {
        DbRef::Sqlite(db) => sqlx::query_scalar(
            "SELECT count(*) FROM licenses WHERE product_id = ? AND account_id = ? AND environment = ?",
        )
        .bind(product_id)
        .bind(&tenant.account_id)
        .bind(tenant.environment.as_str())
        .fetch_one(db)
        .await
        .map_err(Into::into),
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, tenant).await?;
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM licenses WHERE product_id = $1 AND account_id = $2 AND environment = $3",
            )
            .bind(product_id)
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(u32::try_from(n).unwrap_or(u32::MAX))
        }
    }
}

/// Deletes a product and its policies.
pub async fn delete(db: impl Into<DbRef<'_>>, tenant: &Tenant, id: &str) -> super::Result<bool> {
    let deleted = match db.into() {
        DbRef::Sqlite(db) => {
            sqlx::query("DELETE FROM products WHERE id = ? AND account_id = ? AND environment = ?")
                .bind(id)
                .bind(&tenant.account_id)
                .bind(tenant.environment.as_str())
                .execute(db)
                .await?
                .rows_affected()
        }
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, tenant).await?;
            let n = sqlx::query(
                "DELETE FROM products WHERE id = $1 AND account_id = $2 AND environment = $3",
            )
            .bind(id)
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            n
        }
    };
    Ok(deleted == 1)
}
