//! Entitlements, and which licenses and policies carry them.
//!
//! On both databases: `insert`, `get`, `list`, `rename`, `delete`, `resolve`,
//! `attach_to_license`, `detach_from_license`. SQLite only until the licenses are ported
//! (they take no tenant yet, and the runtime reads them in its own transaction):
//! `codes_of_license`, `codes_of_licenses`.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use licentric_core::wire::Entitlement;
use sqlx::{QueryBuilder, SqlitePool};

use crate::{params::Page, tenant::Tenant};

use super::{run, DbRef, Scope, Search};

/// Sortable fields of an entitlement list.
pub const SORTABLE: &[(&str, &str)] = &[
    ("createdAt", "created_at"),
    ("code", "code"),
    ("name", "name"),
];

#[derive(Debug, sqlx::FromRow)]
struct Row {
    id: String,
    code: String,
    name: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Row> for Entitlement {
    fn from(r: Row) -> Self {
        Entitlement {
            id: r.id,
            code: r.code,
            name: r.name,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Inserts an entitlement; `false` when the code is taken. `ON CONFLICT DO NOTHING`
/// (SQLite's upsert form of `INSERT OR IGNORE`) on both databases.
pub async fn insert(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    e: &Entitlement,
) -> super::Result<bool> {
    let done = run!(
        db.into(),
        tenant,
        query(
            "INSERT INTO entitlements (id, account_id, environment, code, name, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            &e.id,
            &tenant.account_id,
            tenant.environment.as_str(),
            &e.code,
            &e.name,
            e.created_at,
            e.updated_at,
        )
        .execute
    )?;
    Ok(done == 1)
}

/// The tenant's entitlement with this id.
pub async fn get(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    id: &str,
) -> super::Result<Option<Entitlement>> {
    let row: Option<Row> = run!(
        db.into(),
        tenant,
        query_as(
            "SELECT id, code, name, created_at, updated_at FROM entitlements
              WHERE id = $1 AND account_id = $2 AND environment = $3",
            id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .fetch_optional
    )?;
    Ok(row.map(Into::into))
}

/// One page of the tenant's entitlements, and how many there are.
pub async fn list(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    q: Option<&str>,
    page: &Page,
) -> super::Result<(Vec<Entitlement>, u32)> {
    let search = Search {
        table: "entitlements",
        columns: "id, code, name, created_at, updated_at",
        searched: &["name", "code"],
    };
    let (rows, total): (Vec<Row>, u32) = super::search_page(db, tenant, search, q, page).await?;
    Ok((rows.into_iter().map(Into::into).collect(), total))
}

/// Renames an entitlement.
pub async fn rename(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    id: &str,
    name: &str,
    now: DateTime<Utc>,
) -> super::Result<bool> {
    let done = run!(
        db.into(),
        tenant,
        query(
            "UPDATE entitlements SET name = $1, updated_at = $2
              WHERE id = $3 AND account_id = $4 AND environment = $5",
            name,
            now,
            id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .execute
    )?;
    Ok(done == 1)
}

/// Deletes an entitlement; licenses and policies lose it.
pub async fn delete(db: impl Into<DbRef<'_>>, tenant: &Tenant, id: &str) -> super::Result<bool> {
    let done = run!(
        db.into(),
        tenant,
        query(
            "DELETE FROM entitlements WHERE id = $1 AND account_id = $2 AND environment = $3",
            id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .execute
    )?;
    Ok(done == 1)
}

/// The ids of the tenant's entitlements with these codes, and the codes that do not exist.
pub async fn resolve(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    codes: &[String],
) -> super::Result<(Vec<String>, Vec<String>)> {
    let mut ids = Vec::new();
    let mut missing = Vec::new();
    let mut scope = Scope::begin(db, tenant).await?;
    for code in codes {
        let id: Option<String> = run!(
            &mut scope,
            tenant,
            query_scalar(
                "SELECT id FROM entitlements WHERE account_id = $1 AND environment = $2 AND code = $3",
                &tenant.account_id,
                tenant.environment.as_str(),
                code,
            )
            .fetch_optional
        )?;
        match id {
            Some(id) => ids.push(id),
            None => missing.push(code.clone()),
        }
    }
    scope.commit().await?;
    Ok((ids, missing))
}

/// A license's entitlement codes (`$1` the license, `$2` its policy), sorted.
pub(crate) const CODES_OF_LICENSE: &str = "SELECT code FROM entitlements WHERE id IN (
         SELECT entitlement_id FROM license_entitlements WHERE license_id = $1
         UNION SELECT entitlement_id FROM policy_entitlements WHERE policy_id = $2)
     ORDER BY code";

/// A license's entitlement codes: its policy's and its own, sorted (SQLite, on a
/// connection the caller holds; `licenses::entitlement_codes` on either database).
pub async fn codes_of_license<'e>(
    db: impl sqlx::SqliteExecutor<'e>,
    license_id: &str,
    policy_id: &str,
) -> super::Result<Vec<String>> {
    sqlx::query_scalar(CODES_OF_LICENSE)
        .bind(license_id)
        .bind(policy_id)
        .fetch_all(db)
        .await
        .map_err(Into::into)
}

/// The entitlement codes of each of these `(license id, policy id)` pairs, as
/// [`codes_of_license`] gives them, in two queries per 500 licenses rather than one query
/// each: a list page's licenses cost two round trips, not twenty-five.
pub async fn codes_of_licenses(
    db: &SqlitePool,
    licenses: &[(&str, &str)],
) -> super::Result<HashMap<String, Vec<String>>> {
    let mut own: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut by_policy: HashMap<String, Vec<String>> = HashMap::new();
    let policies: BTreeSet<&str> = licenses.iter().map(|(_, policy)| *policy).collect();
    let policies: Vec<&str> = policies.into_iter().collect();
    // Well under SQLite's limit of bound parameters per statement.
    for chunk in licenses.chunks(500) {
        let mut query = QueryBuilder::new(
            "SELECT le.license_id, e.code FROM license_entitlements le
             JOIN entitlements e ON e.id = le.entitlement_id WHERE le.license_id IN (",
        );
        let mut ids = query.separated(", ");
        for (id, _) in chunk {
            ids.push_bind(*id);
        }
        query.push(")");
        let rows: Vec<(String, String)> = query.build_query_as().fetch_all(db).await?;
        for (license, code) in rows {
            own.entry(license).or_default().insert(code);
        }
    }
    for chunk in policies.chunks(500) {
        let mut query = QueryBuilder::new(
            "SELECT pe.policy_id, e.code FROM policy_entitlements pe
             JOIN entitlements e ON e.id = pe.entitlement_id WHERE pe.policy_id IN (",
        );
        let mut ids = query.separated(", ");
        for id in chunk {
            ids.push_bind(*id);
        }
        query.push(")");
        let rows: Vec<(String, String)> = query.build_query_as().fetch_all(db).await?;
        for (policy, code) in rows {
            by_policy.entry(policy).or_default().push(code);
        }
    }
    Ok(licenses
        .iter()
        .map(|(license, policy)| {
            // Codes are unique in a tenant: a set gives the UNION of codes_of_license.
            let mut codes = own.remove(*license).unwrap_or_default();
            codes.extend(by_policy.get(*policy).into_iter().flatten().cloned());
            ((*license).to_owned(), codes.into_iter().collect())
        })
        .collect())
}

/// Gives the tenant's license these of the tenant's entitlements (beyond its policy's);
/// a license or an entitlement of another tenant is left alone.
pub async fn attach_to_license(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    license_id: &str,
    entitlement_ids: &[String],
) -> super::Result<()> {
    let mut scope = Scope::begin(db, tenant).await?;
    for id in entitlement_ids {
        // `WHERE` before `ON CONFLICT`: SQLite's parser needs it after a SELECT.
        run!(
            &mut scope,
            tenant,
            query(
                "INSERT INTO license_entitlements (license_id, entitlement_id)
                 SELECT l.id, e.id FROM licenses l, entitlements e
                  WHERE l.id = $1 AND l.account_id = $3 AND l.environment = $4
                    AND e.id = $2 AND e.account_id = $3 AND e.environment = $4
                 ON CONFLICT DO NOTHING",
                license_id,
                id,
                &tenant.account_id,
                tenant.environment.as_str(),
            )
            .execute
        )?;
    }
    scope.commit().await
}

/// Takes these entitlements from the tenant's license (its policy's stay).
pub async fn detach_from_license(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    license_id: &str,
    entitlement_ids: &[String],
) -> super::Result<()> {
    let mut scope = Scope::begin(db, tenant).await?;
    for id in entitlement_ids {
        run!(
            &mut scope,
            tenant,
            query(
                "DELETE FROM license_entitlements WHERE license_id = $1 AND entitlement_id = $2
                   AND EXISTS (SELECT 1 FROM licenses l
                                WHERE l.id = $1 AND l.account_id = $3 AND l.environment = $4)",
                license_id,
                id,
                &tenant.account_id,
                tenant.environment.as_str(),
            )
            .execute
        )?;
    }
    scope.commit().await
}
