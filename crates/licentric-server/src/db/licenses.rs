//! Licenses, on SQLite and PostgreSQL (the SQL of each where it differs).

use super::{postgres, run, DbRef, DbTx};
use chrono::{DateTime, Utc};
use licentric_core::{wire::License, Environment, LicenseStatus};
use sqlx::{FromRow, QueryBuilder, Row, Sqlite};

use crate::{
    params::{self, Cursor, Page},
    tenant::Tenant,
};

/// Sortable fields of a license list.
/// Each has an index leading with the tenant (migration 0006); nullable fields sort as
/// empty text, so a cursor can compare them.
pub const SORTABLE: &[(&str, &str)] = &[
    ("createdAt", "l.created_at"),
    ("updatedAt", "l.updated_at"),
    ("expiresAt", "ifnull(l.expires_at, '')"),
    ("name", "ifnull(l.name, '')"),
    ("status", "l.status"),
    ("uses", "l.uses"),
];

/// A license to insert.
#[derive(Debug)]
pub struct NewLicenseRow<'a> {
    /// The license's id.
    pub id: &'a str,
    /// The licensed product.
    pub product_id: &'a str,
    /// The governing policy.
    pub policy_id: &'a str,
    /// Its key, normalised.
    pub key: &'a str,
    /// Its label.
    pub name: Option<&'a str>,
    /// When it expires; `None` for perpetual.
    pub expires_at: Option<DateTime<Utc>>,
    /// JSON object text.
    pub metadata: &'a str,
}

/// Inserts an active license; `false` when the key is taken (in any account).
pub async fn insert(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    license: &NewLicenseRow<'_>,
    now: DateTime<Utc>,
) -> super::Result<bool> {
    insert_in(db.into(), tenant, license, now).await
}

/// [`insert`] through a pool or inside the caller's transaction (a batch's). The key's
/// unique index spans every account: on PostgreSQL a key of another tenant, invisible
/// here, is still a conflict. `ON CONFLICT DO NOTHING` is SQLite's `INSERT OR IGNORE` for
/// a unique key.
pub async fn insert_in(
    db: impl Into<DbTx<'_>>,
    tenant: &Tenant,
    license: &NewLicenseRow<'_>,
    now: DateTime<Utc>,
) -> super::Result<bool> {
    let done = run!(
        db.into(),
        tenant,
        query(
            "INSERT INTO licenses (id, account_id, environment, product_id, policy_id, key, name, status,
                                   expires_at, metadata, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9, $10, $10)
             ON CONFLICT DO NOTHING",
            license.id,
            &tenant.account_id,
            tenant.environment.as_str(),
            license.product_id,
            license.policy_id,
            license.key,
            license.name,
            license.expires_at,
            license.metadata,
            now,
        )
        .execute
    )?;
    Ok(done == 1)
}

/// A license with what its policy says about it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LicenseRecord {
    /// The license's id.
    pub id: String,
    /// The owning account.
    pub account_id: String,
    /// Live or test.
    #[sqlx(try_from = "String")]
    pub environment: Environment,
    /// Its key.
    pub key: String,
    /// Its label.
    pub name: Option<String>,
    /// The licensed product.
    pub product_id: String,
    /// The governing policy.
    pub policy_id: String,
    /// Active, suspended, revoked or banned.
    #[sqlx(try_from = "String")]
    pub status: LicenseStatus,
    /// When it expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// Validations so far.
    pub uses: u32,
    /// JSON object text.
    pub metadata: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The policy's validation limit.
    pub max_uses: Option<u32>,
    /// The policy's machine limit (ignored for node-locked policies).
    pub policy_max_machines: Option<u32>,
    /// Whether the policy is floating.
    pub floating: bool,
    /// Machines activated now.
    pub machines_count: u32,
    /// Its position in the table, for list cursors.
    pub rowid: i64,
}

impl LicenseRecord {
    /// Machines allowed: the policy's limit when floating, one when node-locked.
    pub fn max_machines(&self) -> Option<u32> {
        if self.floating {
            self.policy_max_machines
        } else {
            Some(1)
        }
    }

    /// The tenant it belongs to.
    pub fn tenant(&self) -> Tenant {
        Tenant {
            account_id: self.account_id.clone(),
            environment: self.environment,
        }
    }

    /// The wire form, given its entitlement codes.
    pub fn into_wire(self, entitlements: Vec<String>) -> super::Result<License> {
        Ok(License {
            status: self.status,
            max_machines: self.max_machines(),
            metadata: serde_json::from_str(&self.metadata)?,
            id: self.id,
            key: self.key,
            name: self.name,
            product_id: self.product_id,
            policy_id: self.policy_id,
            expires_at: self.expires_at,
            uses: self.uses,
            max_uses: self.max_uses,
            machines_count: self.machines_count,
            entitlements,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

macro_rules! record_columns {
    () => {
        "l.id, l.account_id, l.environment, l.key, l.name, l.product_id, l.policy_id, l.status,
        l.expires_at, l.uses, l.metadata, l.created_at, l.updated_at,
        p.max_uses, p.max_machines AS policy_max_machines, p.floating,
        l.machines_count,
        l.rowid AS rowid"
    };
}

/// A license record's query, to be followed by its `WHERE`.
pub(crate) const SELECT: &str = concat!(
    "SELECT ",
    record_columns!(),
    " FROM licenses l JOIN policies p ON p.id = l.policy_id"
);

/// [`record_columns`] on PostgreSQL: the same, with the counts as `bigint`.
const PG_SELECT: &str =
    "SELECT l.id, l.account_id, l.environment, l.key, l.name, l.product_id, l.policy_id,
        l.status, l.expires_at, l.uses, l.metadata, l.created_at, l.updated_at,
        p.max_uses, p.max_machines AS policy_max_machines, p.floating, l.machines_count, l.rowid
     FROM licenses l JOIN policies p ON p.id = l.policy_id";

/// A license record as PostgreSQL returns it.
#[derive(Debug, sqlx::FromRow)]
struct PgRecord {
    id: String,
    account_id: String,
    #[sqlx(try_from = "String")]
    environment: Environment,
    key: String,
    name: Option<String>,
    product_id: String,
    policy_id: String,
    #[sqlx(try_from = "String")]
    status: LicenseStatus,
    expires_at: Option<DateTime<Utc>>,
    uses: i64,
    metadata: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    max_uses: Option<i64>,
    policy_max_machines: Option<i64>,
    floating: bool,
    machines_count: i64,
    rowid: i64,
}

impl TryFrom<PgRecord> for LicenseRecord {
    type Error = super::Error;

    fn try_from(r: PgRecord) -> super::Result<Self> {
        use postgres::to_u32;
        Ok(Self {
            id: r.id,
            account_id: r.account_id,
            environment: r.environment,
            key: r.key,
            name: r.name,
            product_id: r.product_id,
            policy_id: r.policy_id,
            status: r.status,
            expires_at: r.expires_at,
            uses: to_u32(r.uses)?,
            metadata: r.metadata,
            created_at: r.created_at,
            updated_at: r.updated_at,
            max_uses: r.max_uses.map(to_u32).transpose()?,
            policy_max_machines: r.policy_max_machines.map(to_u32).transpose()?,
            floating: r.floating,
            machines_count: to_u32(r.machines_count)?,
            rowid: r.rowid,
        })
    }
}

fn records(rows: Vec<PgRecord>) -> super::Result<Vec<LicenseRecord>> {
    rows.into_iter().map(LicenseRecord::try_from).collect()
}

/// The tenant's license with this id, on a PostgreSQL connection inside a transaction
/// set for the tenant (the runtime batches' too).
pub(crate) async fn get_pg(
    tx: &mut sqlx::PgConnection,
    tenant: &Tenant,
    id: &str,
) -> super::Result<Option<LicenseRecord>> {
    let row: Option<PgRecord> = sqlx::query_as(&format!(
        "{PG_SELECT} WHERE l.id = $1 AND l.account_id = $2 AND l.environment = $3"
    ))
    .bind(id)
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    row.map(LicenseRecord::try_from).transpose()
}

/// The tenant's license with this id.
pub async fn get(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    id: &str,
) -> super::Result<Option<LicenseRecord>> {
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, tenant).await?;
            let record = get_pg(&mut tx, tenant, id).await?;
            tx.commit().await?;
            return Ok(record);
        }
    };
    sqlx::query_as(&format!(
        "{SELECT} WHERE l.id = ? AND l.account_id = ? AND l.environment = ?"
    ))
    .bind(id)
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .fetch_optional(db)
    .await
    .map_err(Into::into)
}

/// The tenant's licenses with these ids (those that exist), in no particular order.
pub async fn get_many(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    ids: &[String],
) -> super::Result<Vec<LicenseRecord>> {
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, tenant).await?;
            let rows: Vec<PgRecord> = sqlx::query_as(&format!(
                "{PG_SELECT} WHERE l.account_id = $1 AND l.environment = $2 AND l.id = ANY($3)"
            ))
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .bind(ids)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            return records(rows);
        }
    };
    let mut records = Vec::with_capacity(ids.len());
    // Well under SQLite's limit of bound parameters per statement.
    for chunk in ids.chunks(500) {
        let mut query = QueryBuilder::new(format!("{SELECT} WHERE l.account_id = "));
        query
            .push_bind(&tenant.account_id)
            .push(" AND l.environment = ")
            .push_bind(tenant.environment.as_str())
            .push(" AND l.id IN (");
        let mut ids = query.separated(", ");
        for id in chunk {
            ids.push_bind(id);
        }
        query.push(")");
        records.extend(
            query
                .build_query_as::<LicenseRecord>()
                .fetch_all(db)
                .await?,
        );
    }
    Ok(records)
}

/// A license by its (normalised) key, in any account: the key is the credential.
pub async fn find_by_key(
    db: impl Into<DbRef<'_>>,
    key: &str,
) -> super::Result<Option<LicenseRecord>> {
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            // The tenant first, through the narrow lookup; then the license as its tenant.
            let Some((tenant, id)) = postgres::license_by_key(db, key).await? else {
                return Ok(None);
            };
            let mut tx = postgres::begin_for(db, &tenant).await?;
            let record = get_pg(&mut tx, &tenant, &id).await?;
            tx.commit().await?;
            return Ok(record);
        }
    };
    sqlx::query_as(&format!("{SELECT} WHERE l.key = ?"))
        .bind(key)
        .fetch_optional(db)
        .await
        .map_err(Into::into)
}

/// Which of these (normalised) keys a license in any account has already: one query per
/// 500 keys, each an equality on the unique key index.
pub async fn existing_keys(
    db: impl Into<DbRef<'_>>,
    keys: &[&str],
) -> super::Result<std::collections::HashSet<String>> {
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            // Keys of every account, which the policies hide: each through the lookup.
            let keys: Vec<&str> = keys
                .iter()
                .copied()
                .filter(|key| postgres::storable(key))
                .collect();
            let found: Vec<String> = sqlx::query_scalar(
                "SELECT k FROM unnest($1::text[]) AS k
                  WHERE EXISTS (SELECT 1 FROM licentric_license_by_key(k))",
            )
            .bind(keys)
            .fetch_all(db)
            .await?;
            return Ok(found.into_iter().collect());
        }
    };
    let mut taken = std::collections::HashSet::new();
    // Well under SQLite's limit of bound parameters per statement.
    for chunk in keys.chunks(500) {
        let mut query = QueryBuilder::new("SELECT key FROM licenses WHERE key IN (");
        let mut list = query.separated(", ");
        for key in chunk {
            list.push_bind(*key);
        }
        query.push(")");
        let found: Vec<String> = query.build_query_scalar().fetch_all(db).await?;
        taken.extend(found);
    }
    Ok(taken)
}

/// What a request authenticated by this license key acts for.
pub async fn find_owner_by_key(
    db: impl Into<DbRef<'_>>,
    key: &str,
) -> super::Result<Option<KeyOwner>> {
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            let Some((tenant, id)) = postgres::license_by_key(db, key).await? else {
                return Ok(None);
            };
            let mut tx = postgres::begin_for(db, &tenant).await?;
            let owner = sqlx::query_as(
                "SELECT id AS license_id, product_id, account_id, environment FROM licenses WHERE id = $1",
            )
            .bind(&id)
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(owner);
        }
    };
    Ok(sqlx::query_as(
        "SELECT id AS license_id, product_id, account_id, environment FROM licenses WHERE key = ?",
    )
    .bind(key)
    .fetch_optional(db)
    .await?)
}

/// Whose license a key is: what authenticating with it establishes.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyOwner {
    /// The license.
    pub license_id: String,
    /// Its product.
    pub product_id: String,
    /// Its account.
    pub account_id: String,
    /// Its environment.
    #[sqlx(try_from = "String")]
    pub environment: Environment,
}

/// Filters of a license list; every one given must match.
#[derive(Debug, Default)]
pub struct Filters<'a> {
    /// Only this product's.
    pub product_id: Option<&'a str>,
    /// Only this policy's.
    pub policy_id: Option<&'a str>,
    /// Only with this status.
    pub status: Option<LicenseStatus>,
    /// A fragment of the key (case and dashes forgiven), the id, the name or any
    /// metadata value (e.g. a customer's e-mail).
    pub q: Option<&'a str>,
    /// Only the license a machine with this fingerprint is activated on.
    pub fingerprint: Option<&'a str>,
    /// Only licenses expiring before this time.
    pub expires_before: Option<DateTime<Utc>>,
    /// Only licenses expiring after this time.
    pub expires_after: Option<DateTime<Utc>>,
    /// The rowids `q` matches, found once for a page and its total ([`search_hits`]).
    pub search_hits: Option<String>,
}

/// `%text%` for LIKE. LIKE's wildcards in `text` are left as they are: they can only
/// widen a search, and an ESCAPE clause would keep the trigram index from answering.
fn contains(text: &str) -> String {
    format!("%{text}%")
}

fn push_filters<'a>(
    query: &mut QueryBuilder<'a, Sqlite>,
    tenant: &'a Tenant,
    filters: &Filters<'a>,
) {
    query
        .push(" WHERE l.account_id = ")
        .push_bind(&tenant.account_id);
    query
        .push(" AND l.environment = ")
        .push_bind(tenant.environment.as_str());
    if let Some(product_id) = filters.product_id {
        query.push(" AND l.product_id = ").push_bind(product_id);
    }
    if let Some(policy_id) = filters.policy_id {
        query.push(" AND l.policy_id = ").push_bind(policy_id);
    }
    if let Some(status) = filters.status {
        query.push(" AND l.status = ").push_bind(status.as_str());
    }
    // The same bounds again on the expiry sort's expression (implied: a license expiring
    // before or after a time has an expiry), so that `sort=expiresAt` reads a range of
    // licenses_by_expiry instead of walking every perpetual license sorted first.
    if let Some(before) = filters.expires_before {
        query
            .push(" AND l.expires_at < ")
            .push_bind(before)
            .push(" AND ifnull(l.expires_at, '') > '' AND ifnull(l.expires_at, '') < ")
            .push_bind(before);
    }
    if let Some(after) = filters.expires_after {
        query
            .push(" AND l.expires_at > ")
            .push_bind(after)
            .push(" AND ifnull(l.expires_at, '') > ")
            .push_bind(after);
    }
}

/// `FROM …` of a license query: the licenses themselves, or, when a search or a
/// fingerprint narrows them, the matches first (few) joined to their licenses, so the
/// planner cannot walk every license testing each. CROSS JOIN keeps that order.
fn push_from<'a>(query: &mut QueryBuilder<'a, Sqlite>, filters: &Filters<'a>) {
    let mut sources = 0;
    if let Some(hits) = &filters.search_hits {
        query
            .push(" FROM json_each(")
            .push_bind(hits.clone())
            .push(") s CROSS JOIN licenses l ON l.rowid = s.value");
        sources += 1;
    } else if let Some(q) = filters.q.map(str::trim).filter(|q| !q.is_empty()) {
        // One LIKE per SELECT, so the trigram index answers each; the key is held both as
        // issued and without dashes.
        query
            .push(" FROM (SELECT rowid AS r FROM license_search WHERE text LIKE ")
            .push_bind(contains(q));
        let undashed = q.replace('-', "");
        if undashed != q {
            query
                .push(" UNION SELECT rowid FROM license_search WHERE text LIKE ")
                .push_bind(contains(&undashed));
        }
        query.push(") s CROSS JOIN licenses l ON l.rowid = s.r");
        sources += 1;
    }
    if let Some(fingerprint) = filters.fingerprint {
        // A fingerprint is on a license at most once: the join adds no duplicates.
        query
            .push(if sources == 0 {
                " FROM "
            } else {
                " CROSS JOIN "
            })
            .push("(SELECT license_id FROM machines WHERE fingerprint = ")
            .push_bind(fingerprint)
            .push(") fm")
            .push(if sources == 0 {
                " CROSS JOIN licenses l ON l.id = fm.license_id"
            } else {
                " ON fm.license_id = l.id"
            });
        sources += 1;
    }
    if sources == 0 {
        query.push(" FROM licenses l");
    }
}

/// One page of the tenant's licenses (after `cursor`, else at the page's offset), how
/// many match in all, and the cursor of the next page. Only the page's own rows are
/// read in full: the sort and filters run on indexes first.
pub async fn list(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    filters: &Filters<'_>,
    page: &Page,
    cursor: Option<&Cursor>,
) -> super::Result<(Vec<LicenseRecord>, u32, Option<Cursor>)> {
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => return list_pg(db, tenant, filters, page, cursor).await,
    };
    let hits = search_hits(db, filters).await?;
    let filters = &Filters {
        search_hits: hits,
        ..*filters
    };
    // A search's first page counts its matches in the same pass as it sorts them (each
    // match's row is read once, not once for the page and again for the total).
    let with_total = filters.search_hits.is_some() && cursor.is_none();
    let (rows, total, next) = page_with(db, tenant, filters, page, cursor, with_total).await?;
    let total = match total {
        Some(total) => total,
        None => count(db, tenant, filters).await?,
    };
    Ok((rows, total, next))
}

/// Matches of `q` above this many are not collected: the page and the total then each
/// search the index themselves.
const MAX_COLLECTED_HITS: usize = 20_000;

/// The rowids `q` matches (in every tenant; the filters narrow them), as a JSON array:
/// searched once, so a page and its total do not both search the trigram index. SQLite
/// builds the array: thousands of matches cross from the database as one row, not one
/// row each (about 6 µs a row through sqlx).
pub async fn search_hits(
    db: impl Into<DbRef<'_>>,
    filters: &Filters<'_>,
) -> super::Result<Option<String>> {
    let db = db.into().sqlite()?;
    let Some(q) = filters.q.map(str::trim).filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    let undashed = q.replace('-', "");
    let mut query = QueryBuilder::new(
        "SELECT count(*), json_group_array(r) FROM (SELECT rowid AS r FROM license_search WHERE ",
    );
    if let Some(piece) = email_piece(q) {
        // The index finds the texts holding the piece (few: the end of a mailbox name);
        // `+text` keeps the whole pattern out of the index, so SQLite tests it on those
        // few texts alone. The same matches as below, without reading the doclists of
        // trigrams every e-mail shares ("@ex", "com"): 0.3 ms instead of 10-20.
        query
            .push("text LIKE ")
            .push_bind(contains(piece))
            .push(" AND (+text LIKE ")
            .push_bind(contains(q));
        if undashed != q {
            query.push(" OR +text LIKE ").push_bind(contains(&undashed));
        }
        query.push(")");
    } else {
        push_search(&mut query, q);
        if undashed != q {
            query.push(" UNION SELECT rowid FROM license_search WHERE ");
            push_search(&mut query, &undashed);
        }
    }
    query
        .push(" LIMIT ")
        .push_bind(MAX_COLLECTED_HITS as i64 + 1)
        .push(")");
    let (found, hits): (i64, String) = query.build_query_as().fetch_one(db).await?;
    if found > MAX_COLLECTED_HITS as i64 {
        return Ok(None);
    }
    Ok(Some(hits))
}

/// `license_search` rows containing `q`: a phrase of the index when it can be one, else
/// a LIKE.
fn push_search(query: &mut QueryBuilder<'_, Sqlite>, q: &str) {
    match super::trigram_phrase(q) {
        Some(phrase) => query.push("license_search MATCH ").push_bind(phrase),
        None => query.push("text LIKE ").push_bind(contains(q)),
    };
}

/// For an e-mail-shaped search, the end of its mailbox name with the `@` (`50000@` of
/// `customer-50000@example.com`): a piece of `q` that any text containing `q` contains,
/// and that few texts do. Letters, digits and dots only, so it is also a piece of `q`
/// without dashes and holds no LIKE wildcard; at least three of them, for the trigram
/// index. `None` when `q` has no such piece.
fn email_piece(q: &str) -> Option<&str> {
    let at = q.find('@')?;
    let mailbox = &q[..at];
    let start = mailbox
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '.')
        .take(6)
        .last()
        .map(|(i, _)| i)?;
    (at - start >= 3).then(|| &q[start..=at])
}

/// How many of the tenant's licenses match `filters`: from the counters of migration
/// 0012 when the filters are only product, policy and status (a few rows, however many
/// licenses), else counted.
pub async fn count(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    filters: &Filters<'_>,
) -> super::Result<u32> {
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, tenant).await?;
            let n = count_pg(&mut tx, tenant, filters).await?;
            tx.commit().await?;
            return Ok(n);
        }
    };
    let counted_by_totals = filters.q.map(str::trim).unwrap_or_default().is_empty()
        && filters.search_hits.is_none()
        && filters.fingerprint.is_none()
        && filters.expires_before.is_none()
        && filters.expires_after.is_none();
    if counted_by_totals {
        let mut total =
            QueryBuilder::new("SELECT ifnull(sum(n), 0) FROM license_totals WHERE account_id = ");
        total
            .push_bind(&tenant.account_id)
            .push(" AND environment = ")
            .push_bind(tenant.environment.as_str());
        if let Some(product_id) = filters.product_id {
            total.push(" AND product_id = ").push_bind(product_id);
        }
        if let Some(policy_id) = filters.policy_id {
            total.push(" AND policy_id = ").push_bind(policy_id);
        }
        if let Some(status) = filters.status {
            total.push(" AND status = ").push_bind(status.as_str());
        }
        let n: i64 = total.build_query_scalar().fetch_one(db).await?;
        return Ok(u32::try_from(n).unwrap_or_default());
    }
    counted(db, tenant, filters).await
}

/// How many of the tenant's licenses match `filters`, counted row by row.
pub async fn counted(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    filters: &Filters<'_>,
) -> super::Result<u32> {
    let db = db.into().sqlite()?;
    let mut count = QueryBuilder::new("SELECT count(*)");
    push_from(&mut count, filters);
    push_filters(&mut count, tenant, filters);
    Ok(count.build_query_scalar().fetch_one(db).await?)
}

/// One page of the tenant's licenses matching `filters` and the cursor of the next.
pub async fn page_of(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    filters: &Filters<'_>,
    page: &Page,
    cursor: Option<&Cursor>,
) -> super::Result<(Vec<LicenseRecord>, Option<Cursor>)> {
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            let mut tx = postgres::begin_for(db, tenant).await?;
            let (rows, next) = page_pg(&mut tx, tenant, filters, page, cursor).await?;
            tx.commit().await?;
            return Ok((rows, next));
        }
    };
    let (rows, _, next) = page_with(db, tenant, filters, page, cursor, false).await?;
    Ok((rows, next))
}

/// One page, the cursor of the next, and with `with_total` (not after a cursor: it would
/// count only what follows) how many match in all, counted by the page's own statement
/// (`None` when the page is empty and so carries no count).
async fn page_with(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    filters: &Filters<'_>,
    page: &Page,
    cursor: Option<&Cursor>,
    with_total: bool,
) -> super::Result<(Vec<LicenseRecord>, Option<u32>, Option<Cursor>)> {
    let db = db.into().sqlite()?;
    let direction = if page.descending { "DESC" } else { "ASC" };
    let order = format!("{} {direction}, l.rowid {direction}", page.column);
    let mut query = if with_total {
        QueryBuilder::new(concat!(
            "SELECT t.total AS total, ",
            record_columns!(),
            " FROM (SELECT l.rowid AS r, count(*) OVER () AS total"
        ))
    } else {
        QueryBuilder::new(format!("{SELECT} WHERE l.rowid IN (SELECT l.rowid"))
    };
    push_from(&mut query, filters);
    push_filters(&mut query, tenant, filters);
    if let Some(cursor) = cursor {
        params::push_after(&mut query, page, cursor);
    }
    query
        .push(format!(" ORDER BY {order} LIMIT "))
        .push_bind(page.limit);
    if cursor.is_none() {
        query.push(" OFFSET ").push_bind(page.offset);
    }
    let (rows, total) = if with_total {
        query.push(format!(
            ") t CROSS JOIN licenses l ON l.rowid = t.r JOIN policies p ON p.id = l.policy_id \
             ORDER BY {order}"
        ));
        let raw = query.build().fetch_all(db).await?;
        let total = match raw.first() {
            Some(row) => Some(u32::try_from(row.try_get::<i64, _>("total")?).unwrap_or_default()),
            None => None,
        };
        let records = raw
            .iter()
            .map(LicenseRecord::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        (records, total)
    } else {
        query.push(format!(") ORDER BY {order}"));
        (query.build_query_as().fetch_all(db).await?, None)
    };

    let next = match rows.last() {
        Some(last) if rows.len() == page.limit as usize => {
            let value = if page.sort_field == "uses" {
                serde_json::Value::from(last.uses)
            } else {
                let text: String = sqlx::query_scalar(&format!(
                    "SELECT {} FROM licenses l WHERE l.rowid = ?",
                    page.column
                ))
                .bind(last.rowid)
                .fetch_one(db)
                .await?;
                serde_json::Value::from(text)
            };
            Some(Cursor {
                field: page.sort_field.clone(),
                descending: page.descending,
                value,
                rowid: last.rowid,
            })
        }
        _ => None,
    };
    Ok((rows, total, next))
}

/// Saves the editable fields of a license as `after`, if it is still as `before` was read
/// (compare and set); `false` when another request changed it in between.
pub async fn update(
    db: impl Into<DbRef<'_>>,
    before: &LicenseRecord,
    after: &LicenseRecord,
    now: DateTime<Utc>,
) -> super::Result<bool> {
    // `uses` is compared by nobody and written only when the change sets it: validations
    // count uses concurrently, and a management write must not undo them.
    let done = run!(
        db.into(),
        &before.tenant(),
        query(
            "UPDATE licenses SET name = $1, expires_at = $2, metadata = $3, policy_id = $4, status = $5,
                    uses = CASE WHEN $6 THEN $7 ELSE uses END, updated_at = $8
             WHERE id = $9 AND name IS NOT DISTINCT FROM $10 AND expires_at IS NOT DISTINCT FROM $11
               AND metadata = $12 AND policy_id = $13 AND status = $14",
            &after.name,
            after.expires_at,
            &after.metadata,
            &after.policy_id,
            after.status.as_str(),
            after.uses != before.uses,
            i64::from(after.uses),
            now,
            &before.id,
            &before.name,
            before.expires_at,
            &before.metadata,
            &before.policy_id,
            before.status.as_str(),
        )
        .execute
    )?;
    Ok(done == 1)
}

/// Deletes a license and its machines.
pub async fn delete(db: impl Into<DbRef<'_>>, tenant: &Tenant, id: &str) -> super::Result<bool> {
    let done = run!(
        db.into(),
        tenant,
        query(
            "DELETE FROM licenses WHERE id = $1 AND account_id = $2 AND environment = $3",
            id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .execute
    )?;
    Ok(done == 1)
}

/// A license's entitlement codes (its policy's and its own), sorted, on either database.
pub async fn entitlement_codes(
    db: impl Into<DbRef<'_>>,
    record: &LicenseRecord,
) -> super::Result<Vec<String>> {
    run!(
        db.into(),
        &record.tenant(),
        query_scalar(
            super::entitlements::CODES_OF_LICENSE,
            &record.id,
            &record.policy_id,
        )
        .fetch_all
    )
}

/// The entitlement codes of each of the tenant's `records` (a list page's), by license
/// id, as [`entitlement_codes`] gives them: `entitlements::codes_of_licenses` on SQLite,
/// one statement on PostgreSQL.
pub async fn entitlement_codes_of(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    records: &[LicenseRecord],
) -> super::Result<std::collections::HashMap<String, Vec<String>>> {
    let db = match db.into() {
        DbRef::Sqlite(db) => {
            let pairs: Vec<(&str, &str)> = records
                .iter()
                .map(|r| (r.id.as_str(), r.policy_id.as_str()))
                .collect();
            return super::entitlements::codes_of_licenses(db, &pairs).await;
        }
        DbRef::Postgres(db) => db,
    };
    let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    let mut tx = postgres::begin_for(db, tenant).await?;
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT x.license_id, e.code FROM (
             SELECT license_id, entitlement_id FROM license_entitlements WHERE license_id = ANY($1)
             UNION SELECT l.id, pe.entitlement_id FROM licenses l
                   JOIN policy_entitlements pe ON pe.policy_id = l.policy_id WHERE l.id = ANY($1)
         ) x JOIN entitlements e ON e.id = x.entitlement_id
         ORDER BY x.license_id, e.code",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut codes: std::collections::HashMap<String, Vec<String>> = ids
        .iter()
        .map(|id| ((*id).to_owned(), Vec::new()))
        .collect();
    for (license, code) in rows {
        codes.entry(license).or_default().push(code);
    }
    Ok(codes)
}

/// The sort expressions of [`SORTABLE`] on PostgreSQL, with the type a cursor's value is
/// read back as. A missing expiry or name sorts first, as SQLite's empty text does. The
/// name is `CASE`, not `coalesce`: under the tenant policies only a leak-free cursor
/// condition seeks in the index (`licenses_by_name_first`, PostgreSQL migration 0011);
/// PostgreSQL's leak check does not know `coalesce` and would filter the tenant's rows.
fn pg_sort(field: &str) -> (&'static str, &'static str) {
    match field {
        "updatedAt" => ("l.updated_at", "timestamptz"),
        "expiresAt" => ("coalesce(l.expires_at, '-infinity')", "timestamptz"),
        "name" => ("CASE WHEN l.name IS NULL THEN '' ELSE l.name END", "text"),
        "status" => ("l.status", "text"),
        "uses" => ("l.uses", "bigint"),
        _ => ("l.created_at", "timestamptz"),
    }
}

/// `%text%` for ILIKE, with PostgreSQL's escape character (backslash) taken literally,
/// as SQLite's LIKE (which has none) takes it; `%` and `_` stay wildcards there too.
fn pg_contains(text: &str) -> String {
    contains(&text.replace('\\', "\\\\"))
}

/// The filters of a license list on PostgreSQL, appended to a `WHERE` (after `$n` binds).
/// `q` is matched by the trigram index of `licentric_license_text` (migration 0011's
/// `licentric_search_licenses`), ILIKE ignoring ASCII case as SQLite's LIKE does; the
/// key is held with and without dashes, so a fragment either way matches.
fn push_filters_pg<'a>(
    query: &mut QueryBuilder<'a, sqlx::Postgres>,
    tenant: &'a Tenant,
    filters: &Filters<'a>,
) {
    query
        .push(" WHERE l.account_id = ")
        .push_bind(&tenant.account_id)
        .push(" AND l.environment = ")
        .push_bind(tenant.environment.as_str());
    if let Some(product_id) = filters.product_id {
        query.push(" AND l.product_id = ").push_bind(product_id);
    }
    if let Some(policy_id) = filters.policy_id {
        query.push(" AND l.policy_id = ").push_bind(policy_id);
    }
    if let Some(status) = filters.status {
        query.push(" AND l.status = ").push_bind(status.as_str());
    }
    if let Some(before) = filters.expires_before {
        query.push(" AND l.expires_at < ").push_bind(before);
    }
    if let Some(after) = filters.expires_after {
        query.push(" AND l.expires_at > ").push_bind(after);
    }
    if let Some(q) = filters.q.map(str::trim).filter(|q| !q.is_empty()) {
        // The ids of the tenant's matches, from the trigram index of migration 0011's
        // license_search: ILIKE is not leak-free, so on licenses itself it could only
        // filter every row of the tenant after the policy.
        let undashed = q.replace('-', "");
        query
            .push(" AND l.id IN (SELECT licentric_search_licenses(")
            .push_bind(pg_contains(q))
            .push(", ")
            .push_bind(pg_contains(&undashed))
            .push("))");
    }
    if let Some(fingerprint) = filters.fingerprint {
        query
            .push(" AND l.id IN (SELECT license_id FROM machines WHERE fingerprint = ")
            .push_bind(fingerprint)
            .push(")");
    }
}

async fn count_pg(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    tenant: &Tenant,
    filters: &Filters<'_>,
) -> super::Result<u32> {
    let by_totals = filters.q.map(str::trim).unwrap_or_default().is_empty()
        && filters.fingerprint.is_none()
        && filters.expires_before.is_none()
        && filters.expires_after.is_none();
    let n: i64 = if by_totals {
        // The counters of migration 0001 (SQLite's 0012): a few rows, however many licenses.
        let mut total = QueryBuilder::<sqlx::Postgres>::new(
            "SELECT coalesce(sum(n), 0)::bigint FROM license_totals WHERE account_id = ",
        );
        total
            .push_bind(&tenant.account_id)
            .push(" AND environment = ")
            .push_bind(tenant.environment.as_str());
        if let Some(product_id) = filters.product_id {
            total.push(" AND product_id = ").push_bind(product_id);
        }
        if let Some(policy_id) = filters.policy_id {
            total.push(" AND policy_id = ").push_bind(policy_id);
        }
        if let Some(status) = filters.status {
            total.push(" AND status = ").push_bind(status.as_str());
        }
        total.build_query_scalar().fetch_one(&mut **tx).await?
    } else {
        let mut count = QueryBuilder::<sqlx::Postgres>::new("SELECT count(*) FROM licenses l");
        push_filters_pg(&mut count, tenant, filters);
        count.build_query_scalar().fetch_one(&mut **tx).await?
    };
    postgres::to_u32(n)
}

async fn page_pg(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    tenant: &Tenant,
    filters: &Filters<'_>,
    page: &Page,
    cursor: Option<&Cursor>,
) -> super::Result<(Vec<LicenseRecord>, Option<Cursor>)> {
    let (column, kind) = pg_sort(&page.sort_field);
    let direction = if page.descending { "DESC" } else { "ASC" };
    let mut query = QueryBuilder::<sqlx::Postgres>::new(PG_SELECT);
    push_filters_pg(&mut query, tenant, filters);
    if let Some(cursor) = cursor {
        // The row after the cursor's (sort value, rowid), in the page's direction.
        let past = if page.descending { "<" } else { ">" };
        query.push(format!(" AND ({column}, l.rowid) {past} ("));
        match &cursor.value {
            serde_json::Value::Number(n) => {
                query.push_bind(n.as_i64().unwrap_or_default());
            }
            other => {
                query
                    .push_bind(other.as_str().unwrap_or_default().to_owned())
                    .push(format!("::{kind}"));
            }
        }
        query.push(", ").push_bind(cursor.rowid).push(")");
    }
    query
        .push(format!(
            " ORDER BY {column} {direction}, l.rowid {direction} LIMIT "
        ))
        .push_bind(i64::from(page.limit));
    if cursor.is_none() {
        query.push(" OFFSET ").push_bind(i64::from(page.offset));
    }
    let rows = records(query.build_query_as().fetch_all(&mut **tx).await?)?;
    let next = match rows.last() {
        Some(last) if rows.len() == page.limit as usize => {
            let value = if kind == "bigint" {
                serde_json::Value::from(last.uses)
            } else {
                let text: String = sqlx::query_scalar(&format!(
                    "SELECT ({column})::text FROM licenses l WHERE l.rowid = $1"
                ))
                .bind(last.rowid)
                .fetch_one(&mut **tx)
                .await?;
                serde_json::Value::from(text)
            };
            Some(Cursor {
                field: page.sort_field.clone(),
                descending: page.descending,
                value,
                rowid: last.rowid,
            })
        }
        _ => None,
    };
    Ok((rows, next))
}

async fn list_pg(
    db: &sqlx::PgPool,
    tenant: &Tenant,
    filters: &Filters<'_>,
    page: &Page,
    cursor: Option<&Cursor>,
) -> super::Result<(Vec<LicenseRecord>, u32, Option<Cursor>)> {
    // The page and its total in one transaction: one snapshot, so they agree.
    let mut tx = postgres::begin_for(db, tenant).await?;
    let (rows, next) = page_pg(&mut tx, tenant, filters, page, cursor).await?;
    let total = count_pg(&mut tx, tenant, filters).await?;
    tx.commit().await?;
    Ok((rows, total, next))
}

#[cfg(test)]
mod tests {
    use super::email_piece;

    #[test]
    fn an_email_search_is_narrowed_by_the_end_of_its_mailbox_name() {
        assert_eq!(email_piece("customer-50000@example.com"), Some("50000@"));
        assert_eq!(email_piece("grace.hopper@navy.mil"), Some("hopper@"));
        assert_eq!(email_piece("ops@acme.test"), Some("ops@"));
        assert_eq!(email_piece("OPS@"), Some("OPS@"));
        // Too short, or a wildcard or dash right before the @: the whole text is searched.
        assert_eq!(email_piece("jo@acme.test"), None);
        assert_eq!(email_piece("j_o@acme.test"), None);
        assert_eq!(email_piece("abc-@acme.test"), None);
        assert_eq!(email_piece("@acme.test"), None);
        assert_eq!(email_piece("no e-mail here"), None);
        assert_eq!(email_piece("ünïcode@x"), Some("code@"));
    }
}
