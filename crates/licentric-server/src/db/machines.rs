//! Machines activated on licenses, and their heartbeats, on SQLite and PostgreSQL (the
//! SQL of each where it differs).

use super::{postgres, run, DbRef, DbTx};
use chrono::{DateTime, Duration, Utc};
use licentric_core::wire::{HeartbeatStatus, Machine, Platform};
use sqlx::{FromRow, QueryBuilder, Row, Sqlite};

use crate::{
    params::{self, Cursor, Page},
    tenant::Tenant,
};

/// Sortable fields of a machine list.
pub const SORTABLE: &[(&str, &str)] = &[
    ("createdAt", "m.created_at"),
    ("updatedAt", "m.updated_at"),
    ("name", "ifnull(m.name, '')"),
    ("lastHeartbeatAt", "ifnull(m.last_heartbeat_at, '')"),
];

/// A machine as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MachineRecord {
    /// The machine's id.
    pub id: String,
    /// Its license.
    pub license_id: String,
    /// Its fingerprint.
    pub fingerprint: String,
    /// Its name.
    pub name: Option<String>,
    /// Its platform.
    pub platform: Option<String>,
    /// Its last heartbeat.
    pub last_heartbeat_at: Option<DateTime<Utc>>,
    /// When it was activated.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// What a policy asks of its machines' heartbeats.
#[derive(Debug, Clone, Copy)]
pub struct HeartbeatRule {
    /// Whether heartbeats are required.
    pub required: bool,
    /// Seconds between heartbeats.
    pub interval_secs: u32,
}

/// A machine's heartbeat standing at `now`, and when the next is due.
///
/// A new machine has one interval to send its first heartbeat; after that each heartbeat
/// buys one more interval. Without a requirement a machine is never dead.
pub fn heartbeat(
    rule: HeartbeatRule,
    last: Option<DateTime<Utc>>,
    created: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (HeartbeatStatus, Option<DateTime<Utc>>) {
    if !rule.required {
        let status = if last.is_some() {
            HeartbeatStatus::Alive
        } else {
            HeartbeatStatus::NotStarted
        };
        return (status, None);
    }
    let due = last.unwrap_or(created) + Duration::seconds(i64::from(rule.interval_secs));
    let status = if now >= due {
        HeartbeatStatus::Dead
    } else if last.is_some() {
        HeartbeatStatus::Alive
    } else {
        HeartbeatStatus::NotStarted
    };
    (status, Some(due))
}

impl MachineRecord {
    /// The wire form at `now` under `rule`.
    pub fn into_wire(self, rule: HeartbeatRule, now: DateTime<Utc>) -> Machine {
        let (heartbeat_status, heartbeat_due_at) =
            heartbeat(rule, self.last_heartbeat_at, self.created_at, now);
        Machine {
            platform: self.platform.as_deref().and_then(Platform::parse),
            id: self.id,
            license_id: self.license_id,
            fingerprint: self.fingerprint,
            name: self.name,
            heartbeat_status,
            last_heartbeat_at: self.last_heartbeat_at,
            heartbeat_due_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
            token: None,
        }
    }

    /// Whether its heartbeat is overdue at `now` under `rule`.
    pub fn is_dead(&self, rule: HeartbeatRule, now: DateTime<Utc>) -> bool {
        heartbeat(rule, self.last_heartbeat_at, self.created_at, now).0 == HeartbeatStatus::Dead
    }
}

const COLUMNS: &str =
    "id, license_id, fingerprint, name, platform, last_heartbeat_at, created_at, updated_at";

/// Inserts a machine only while the license has fewer than `max` machines (`None`: no
/// limit). One statement, so two activations racing for the last slot cannot both win: the
/// runtime batches' own statement ([`super::runtime::insert_machines`]), for one machine.
/// `false` when the license is full or already has a machine with this fingerprint.
pub async fn insert_within_limit(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    machine: &MachineRecord,
    max: Option<u32>,
) -> super::Result<bool> {
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            // The license row's lock (FOR UPDATE) orders every activation of the license,
            // in this process or another, between the count and the insert: exact limits.
            let mut tx = postgres::begin_for(db, tenant).await?;
            let count: Option<i64> = sqlx::query_scalar(
                "SELECT machines_count FROM licenses WHERE id = $1 AND account_id = $2 AND environment = $3
                 FOR UPDATE",
            )
            .bind(&machine.license_id)
            .bind(&tenant.account_id)
            .bind(tenant.environment.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let fits = match (count, max) {
                (None, _) => false,
                (Some(_), None) => true,
                (Some(count), Some(max)) => count < i64::from(max),
            };
            let inserted = fits
                && sqlx::query(
                    "INSERT INTO machines (account_id, environment, id, license_id, fingerprint, name, platform,
                                           last_heartbeat_at, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                     ON CONFLICT (license_id, fingerprint) DO NOTHING",
                )
                .bind(&tenant.account_id)
                .bind(tenant.environment.as_str())
                .bind(&machine.id)
                .bind(&machine.license_id)
                .bind(&machine.fingerprint)
                .bind(&machine.name)
                .bind(&machine.platform)
                .bind(machine.last_heartbeat_at)
                .bind(machine.created_at)
                .bind(machine.updated_at)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
            tx.commit().await?;
            return Ok(inserted);
        }
    };
    let mut conn = db.acquire().await?;
    let inserted = super::runtime::insert_machines(
        &mut super::runtime::Conn::Sqlite(&mut conn),
        tenant,
        std::slice::from_ref(machine),
        max,
    )
    .await?;
    Ok(inserted == 1)
}

/// The tenant's machine with this id.
pub async fn get(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    id: &str,
) -> super::Result<Option<MachineRecord>> {
    run!(
        db.into(),
        tenant,
        query_as(
            &format!(
                "SELECT {COLUMNS} FROM machines WHERE id = $1 AND account_id = $2 AND environment = $3"
            ),
            id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .fetch_optional
    )
}

/// The tenant's license's machine with this fingerprint.
pub async fn find_by_fingerprint(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    license_id: &str,
    fingerprint: &str,
) -> super::Result<Option<MachineRecord>> {
    let db = db.into();
    if matches!(db, DbRef::Postgres(_)) && !postgres::storable(fingerprint) {
        return Ok(None);
    }
    run!(
        db,
        tenant,
        query_as(
            &format!(
                "SELECT {COLUMNS} FROM machines WHERE license_id = $1 AND fingerprint = $2
                   AND account_id = $3 AND environment = $4"
            ),
            license_id,
            fingerprint,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .fetch_optional
    )
}

/// All of the tenant's license's machines, oldest first.
pub async fn of_license(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    license_id: &str,
) -> super::Result<Vec<MachineRecord>> {
    run!(
        db.into(),
        tenant,
        query_as(
            &format!(
                "SELECT {COLUMNS} FROM machines WHERE license_id = $1 AND account_id = $2 AND environment = $3
                 ORDER BY created_at ASC, rowid ASC"
            ),
            license_id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .fetch_all
    )
}

/// A machine as listed: with its policy's heartbeat rule, so the list needs no query per
/// machine to tell its heartbeat status.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListedMachine {
    /// The machine.
    #[sqlx(flatten)]
    pub machine: MachineRecord,
    /// Whether its policy requires heartbeats.
    pub require_heartbeat: bool,
    /// Seconds between heartbeats.
    pub heartbeat_interval: u32,
    /// Its position in the table, for list cursors.
    pub rowid: i64,
}

impl ListedMachine {
    /// Its policy's heartbeat rule.
    pub fn rule(&self) -> HeartbeatRule {
        HeartbeatRule {
            required: self.require_heartbeat,
            interval_secs: self.heartbeat_interval,
        }
    }
}

/// Filters of a machine list; every one given must match.
#[derive(Debug, Default)]
pub struct Filters<'a> {
    /// Only this license's machines.
    pub license_id: Option<&'a str>,
    /// The start of a fingerprint, or a fragment of a name.
    pub q: Option<&'a str>,
    /// Only machines of this platform.
    pub platform: Option<&'a str>,
    /// Only machines with this heartbeat status at `now`.
    pub heartbeat_status: Option<HeartbeatStatus>,
    /// The time heartbeat statuses are judged at.
    pub now: Option<DateTime<Utc>>,
    /// The rowids `q` matches, found once for a page and its total ([`search_hits`]).
    pub search_hits: Option<SearchHits>,
}

/// The rowids a search found, as a JSON array.
#[derive(Debug, Clone)]
pub struct SearchHits {
    rowids: String,
    /// Whether they are candidates from the word index, whose names are still to be
    /// tested against `q` (the fingerprint matches among them are exact).
    candidates: bool,
}

macro_rules! listed_columns {
    () => {
        "m.id, m.license_id, m.fingerprint, m.name, m.platform, m.last_heartbeat_at,
        m.created_at, m.updated_at, p.require_heartbeat, p.heartbeat_interval_secs AS heartbeat_interval,
        m.rowid AS rowid"
    };
}

const LISTED: &str = concat!(
    "SELECT ",
    listed_columns!(),
    " FROM machines m JOIN licenses l ON l.id = m.license_id JOIN policies p ON p.id = l.policy_id"
);

/// `FROM …` of a machine query: the machines, or the matches of a search first (few),
/// joined to their machines; CROSS JOIN keeps that order.
fn push_from<'a>(query: &mut QueryBuilder<'a, Sqlite>, filters: &Filters<'a>) {
    match &filters.search_hits {
        Some(hits) => {
            query
                .push(" FROM json_each(")
                .push_bind(hits.rowids.clone())
                .push(") s CROSS JOIN machines m ON m.rowid = s.value");
        }
        None => {
            query.push(" FROM machines m");
        }
    }
}

fn push_filters<'a>(
    query: &mut QueryBuilder<'a, Sqlite>,
    tenant: &'a Tenant,
    filters: &Filters<'a>,
) {
    query
        .push(" WHERE m.account_id = ")
        .push_bind(&tenant.account_id)
        .push(" AND m.environment = ")
        .push_bind(tenant.environment.as_str());
    if let Some(license_id) = filters.license_id {
        query.push(" AND m.license_id = ").push_bind(license_id);
    }
    if let Some(platform) = filters.platform {
        query.push(" AND m.platform = ").push_bind(platform);
    }
    if let Some(hits) = &filters.search_hits {
        // Joined in FROM (push_from); the word index's candidates are tested here, on the
        // machine row the page reads anyway: the name contains q, or the fingerprint
        // starts with it (the fingerprint matches among the hits are exact).
        if let (true, Some(q)) = (hits.candidates, search_text(filters)) {
            query
                .push(" AND (m.name LIKE ")
                .push_bind(format!("%{q}%"))
                .push(" OR (m.fingerprint >= ")
                .push_bind(q)
                .push(" AND m.fingerprint < ")
                .push_bind(format!("{q}\u{10FFFF}"))
                .push("))");
        }
    } else if let Some(q) = search_text(filters) {
        // A fingerprint by its start (a range of its index), a name by any fragment (the
        // trigram index of 0010); two SELECTs, so each is answered by its own index.
        query
            .push(" AND m.rowid IN (SELECT rowid FROM machines WHERE fingerprint >= ")
            .push_bind(q)
            .push(" AND fingerprint < ")
            .push_bind(format!("{q}\u{10FFFF}"))
            .push(" UNION SELECT rowid FROM machine_search WHERE text LIKE ")
            .push_bind(format!("%{q}%"))
            .push(")");
    }
    if let (Some(status), Some(now)) = (filters.heartbeat_status, filters.now) {
        // As `heartbeat()` decides, on the due time the triggers of 0011 keep; spelt as
        // plain comparisons of heartbeat_due_jd (no function around it), so its indexes
        // (machines_by_due, 0012's machines_unstarted_*) can answer.
        match status {
            HeartbeatStatus::Dead => {
                query
                    .push(" AND m.heartbeat_due_jd <= julianday(")
                    .push_bind(now)
                    .push(")");
            }
            HeartbeatStatus::Alive | HeartbeatStatus::NotStarted => {
                let started = if status == HeartbeatStatus::Alive {
                    "IS NOT NULL"
                } else {
                    "IS NULL"
                };
                query
                    .push(format!(
                        " AND m.last_heartbeat_at {started} \
                         AND (m.heartbeat_due_jd IS NULL OR m.heartbeat_due_jd > julianday("
                    ))
                    .push_bind(now)
                    .push("))");
            }
        }
    }
}

/// One page of the tenant's machines matching `filters` (after `cursor`, else at the
/// page's offset), how many match in all, and the cursor of the next page.
pub async fn list(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    filters: &Filters<'_>,
    page: &Page,
    cursor: Option<&Cursor>,
) -> super::Result<(Vec<ListedMachine>, u32, Option<Cursor>)> {
    let db = match db.into() {
        DbRef::Sqlite(db) => db,
        DbRef::Postgres(db) => {
            // The page and its total in one transaction: one snapshot, so they agree.
            let mut tx = postgres::begin_for(db, tenant).await?;
            let (rows, next) = page_pg(&mut tx, tenant, filters, page, cursor).await?;
            let total = count_pg(&mut tx, tenant, filters).await?;
            tx.commit().await?;
            return Ok((rows, total, next));
        }
    };
    let hits = search_hits(db, filters).await?;
    let filters = &Filters {
        search_hits: hits,
        ..*filters
    };
    // A search's first page counts its matches in the same pass as it sorts them.
    let with_total = filters.search_hits.is_some() && cursor.is_none();
    let (rows, total, next) = page_with(db, tenant, filters, page, cursor, with_total).await?;
    let total = match total {
        Some(total) => total,
        None => count(db, tenant, filters).await?,
    };
    Ok((rows, total, next))
}

/// Matches of `q` above this many are not collected: the page and the total then each
/// search the indexes themselves.
const MAX_COLLECTED_HITS: i64 = 20_000;

/// The search of `filters`, trimmed; `None` when there is none.
fn search_text<'a>(filters: &Filters<'a>) -> Option<&'a str> {
    filters.q.map(str::trim).filter(|q| !q.is_empty())
}

/// The rowids `q` matches (in every tenant; the filters narrow them) as a JSON array that
/// SQLite builds (one row to fetch, not one per match): searched once for a page and its
/// total. A `q` of words asks the word index of 0013 for candidates first (a phrase of a
/// few words' short lists, where the trigram index reads a list per three letters); the
/// page tests their names. Too many candidates, or a fragment: the trigram index.
pub async fn search_hits(
    db: impl Into<DbRef<'_>>,
    filters: &Filters<'_>,
) -> super::Result<Option<SearchHits>> {
    let db = db.into().sqlite()?;
    let Some(q) = search_text(filters) else {
        return Ok(None);
    };
    if let Some(phrase) = super::reversed_word_phrase(q) {
        let names = "SELECT rowid FROM machine_words WHERE machine_words MATCH ?";
        let found = collect_hits(db, q, names, phrase).await?;
        if let Some(rowids) = found {
            return Ok(Some(SearchHits {
                rowids,
                candidates: true,
            }));
        }
    }
    // A name: a phrase of the trigram index when it can be one (no stored text re-read).
    let found = match super::trigram_phrase(q) {
        Some(phrase) => {
            let names = "SELECT rowid FROM machine_search WHERE machine_search MATCH ?";
            collect_hits(db, q, names, phrase).await?
        }
        None => {
            let names = "SELECT rowid FROM machine_search WHERE text LIKE ?";
            collect_hits(db, q, names, format!("%{q}%")).await?
        }
    };
    Ok(found.map(|rowids| SearchHits {
        rowids,
        candidates: false,
    }))
}

/// The machines whose fingerprint starts with `q` and the rowids `names` selects (with
/// `name` bound), as a JSON array; `None` above [`MAX_COLLECTED_HITS`].
async fn collect_hits(
    db: impl Into<DbRef<'_>>,
    q: &str,
    names: &str,
    name: String,
) -> super::Result<Option<String>> {
    let db = db.into().sqlite()?;
    // UNION ALL, the fingerprints less those `names` found: a UNION would put every match
    // through a temporary B-tree to drop duplicates (a sixth of this statement's work over
    // 3,739 matches). `names` is run a second time only if a fingerprint starts with q.
    let (found, hits): (i64, String) = sqlx::query_as(&format!(
        "SELECT count(*), json_group_array(r) FROM (
             SELECT rowid AS r FROM ({names})
             UNION ALL
             SELECT rowid FROM machines WHERE fingerprint >= ? AND fingerprint < ?
                 AND rowid NOT IN ({names})
             LIMIT ?)"
    ))
    .bind(&name)
    .bind(q)
    .bind(format!("{q}\u{10FFFF}"))
    .bind(&name)
    .bind(MAX_COLLECTED_HITS + 1)
    .fetch_one(db)
    .await?;
    Ok((found <= MAX_COLLECTED_HITS).then_some(hits))
}

/// How many of the tenant's machines match `filters`. Without a search or a license, from
/// the counters of migration 0012 (per platform, and whether a machine ever sent a
/// heartbeat), less the overdue machines a heartbeat status excludes — a range of an
/// index; else counted.
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
    let status = filters.heartbeat_status.zip(filters.now);
    if !counted_by_totals(filters) {
        let mut count = QueryBuilder::new("SELECT count(*)");
        push_from(&mut count, filters);
        push_filters(&mut count, tenant, filters);
        return Ok(count.build_query_scalar().fetch_one(db).await?);
    }
    let mut total =
        QueryBuilder::new("SELECT ifnull(sum(n), 0) FROM machine_totals WHERE account_id = ");
    total
        .push_bind(&tenant.account_id)
        .push(" AND environment = ")
        .push_bind(tenant.environment.as_str());
    if let Some(platform) = filters.platform {
        total.push(" AND platform = ").push_bind(platform);
    }
    match status {
        Some((HeartbeatStatus::NotStarted, _)) => {
            total.push(" AND started = 0");
        }
        Some((HeartbeatStatus::Alive, _)) => {
            total.push(" AND started = 1");
        }
        _ => {}
    }
    let mut n: i64 = total.build_query_scalar().fetch_one(db).await?;
    if let Some((status, now)) = status {
        // Machines that never started and are overdue: dead, not "not started".
        let mut unstarted_dead = QueryBuilder::new(
            "SELECT count(*) FROM machines m INDEXED BY machines_unstarted_by_due
             WHERE m.last_heartbeat_at IS NULL AND m.account_id = ",
        );
        unstarted_dead
            .push_bind(&tenant.account_id)
            .push(" AND m.environment = ")
            .push_bind(tenant.environment.as_str())
            .push(" AND m.heartbeat_due_jd <= julianday(")
            .push_bind(now)
            .push(")");
        if let Some(platform) = filters.platform {
            unstarted_dead
                .push(" AND m.platform = ")
                .push_bind(platform);
        }
        let unstarted_dead: i64 = unstarted_dead.build_query_scalar().fetch_one(db).await?;
        let dead = match status {
            HeartbeatStatus::Alive => Some(
                sqlx::query_scalar(
                    "SELECT count(*) FROM machines m WHERE m.account_id = ? AND m.environment = ?
                     AND m.heartbeat_due_jd <= julianday(?)",
                )
                .bind(&tenant.account_id)
                .bind(tenant.environment.as_str())
                .bind(now)
                .fetch_one(db)
                .await?,
            ),
            _ => None,
        };
        n = less_the_overdue(status, n, unstarted_dead, dead);
    }
    Ok(u32::try_from(n).unwrap_or_default())
}

/// A heartbeat status's count from `machine_totals`: `totals` counts the machines that
/// never started (for `NotStarted`) or that did (for `Alive`); the overdue ones belong to
/// `Dead`. `unstarted_dead` counts those that never started and are overdue; `dead`, every
/// overdue machine (asked for `Alive` only). Any other status is counted row by row
/// ([`counted_by_totals`]), so `totals` is its count as it is. Both databases.
fn less_the_overdue(
    status: HeartbeatStatus,
    totals: i64,
    unstarted_dead: i64,
    dead: Option<i64>,
) -> i64 {
    match (status, dead) {
        (HeartbeatStatus::NotStarted, _) => totals - unstarted_dead,
        // The started ones less the started ones that are dead.
        (HeartbeatStatus::Alive, Some(dead)) => totals - (dead - unstarted_dead),
        _ => totals,
    }
}

/// Whether `filters` are counted from `machine_totals` (less the overdue machines a
/// heartbeat status excludes), on either database, rather than row by row.
fn counted_by_totals(filters: &Filters<'_>) -> bool {
    let searched = filters.search_hits.is_some()
        || filters.q.is_some_and(|q| !q.trim().is_empty())
        || filters.license_id.is_some();
    match filters.heartbeat_status.zip(filters.now) {
        _ if searched => false,
        None => true,
        Some((HeartbeatStatus::NotStarted, _)) => true,
        // An alive machine with a platform would need the dead ones of that platform.
        Some((HeartbeatStatus::Alive, _)) => filters.platform.is_none(),
        // Dead is already a range of machines_by_due.
        Some((HeartbeatStatus::Dead, _)) => false,
    }
}

/// One page of the tenant's machines matching `filters`, and the cursor of the next.
pub async fn page_of(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    filters: &Filters<'_>,
    page: &Page,
    cursor: Option<&Cursor>,
) -> super::Result<(Vec<ListedMachine>, Option<Cursor>)> {
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
) -> super::Result<(Vec<ListedMachine>, Option<u32>, Option<Cursor>)> {
    let db = db.into().sqlite()?;
    let direction = if page.descending { "DESC" } else { "ASC" };
    let order = format!("{} {direction}, m.rowid {direction}", page.column);
    // The page's rowids first, from the machines alone; only those 25 are joined to
    // their licenses and policies (a search's thousands of matches are not).
    // With the total: the matches (rowid and sort key) are gathered once, then counted and
    // their page sorted out of that (a window's count(*) OVER () would buffer and delete
    // every match again: a fifth more work over 3,739 matches).
    let mut query = if with_total {
        QueryBuilder::new(format!(
            "WITH c AS MATERIALIZED (SELECT m.rowid AS r, {} AS k",
            page.column
        ))
    } else {
        QueryBuilder::new(format!("{LISTED} WHERE m.rowid IN (SELECT m.rowid"))
    };
    push_from(&mut query, filters);
    push_filters(&mut query, tenant, filters);
    if let Some(cursor) = cursor {
        params::push_after(&mut query, page, cursor);
    }
    if with_total {
        query.push(format!(
            ") SELECT (SELECT count(*) FROM c) AS total, {} \
             FROM (SELECT r FROM c ORDER BY k {direction}, r {direction} LIMIT ",
            listed_columns!()
        ));
    } else {
        query.push(format!(" ORDER BY {order} LIMIT "));
    }
    query.push_bind(page.limit);
    if cursor.is_none() {
        query.push(" OFFSET ").push_bind(page.offset);
    }
    let (rows, total) = if with_total {
        query.push(format!(
            ") t CROSS JOIN machines m ON m.rowid = t.r JOIN licenses l ON l.id = m.license_id \
             JOIN policies p ON p.id = l.policy_id ORDER BY {order}"
        ));
        let raw = query.build().fetch_all(db).await?;
        let total = match raw.first() {
            Some(row) => Some(u32::try_from(row.try_get::<i64, _>("total")?).unwrap_or_default()),
            None => None,
        };
        let machines = raw
            .iter()
            .map(ListedMachine::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        (machines, total)
    } else {
        query.push(format!(") ORDER BY {order}"));
        (query.build_query_as().fetch_all(db).await?, None)
    };
    let next = match rows.last() {
        Some(last) if rows.len() == page.limit as usize => {
            let value: String = sqlx::query_scalar(&format!(
                "SELECT {} FROM machines m WHERE m.rowid = ?",
                page.column
            ))
            .bind(last.rowid)
            .fetch_one(db)
            .await?;
            Some(Cursor {
                field: page.sort_field.clone(),
                descending: page.descending,
                value: value.into(),
                rowid: last.rowid,
            })
        }
        _ => None,
    };
    Ok((rows, total, next))
}

/// Records a heartbeat of the tenant's machine.
pub async fn heartbeat_now(
    db: impl Into<DbRef<'_>>,
    tenant: &Tenant,
    id: &str,
    now: DateTime<Utc>,
) -> super::Result<()> {
    run!(
        db.into(),
        tenant,
        query(
            "UPDATE machines SET last_heartbeat_at = $1, updated_at = $1, death_recorded_at = NULL
             WHERE id = $2 AND account_id = $3 AND environment = $4",
            now,
            id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .execute
    )?;
    Ok(())
}

/// A machine whose heartbeat death is not yet recorded.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Death {
    /// The machine.
    pub id: String,
    /// Its license.
    pub license_id: String,
    /// Its account.
    pub account_id: String,
    /// Its environment.
    #[sqlx(try_from = "String")]
    pub environment: licentric_core::Environment,
    /// Its last heartbeat, if it ever sent one.
    pub last_heartbeat_at: Option<DateTime<Utc>>,
}

impl Death {
    /// The tenant of the machine.
    pub fn tenant(&self) -> Tenant {
        Tenant {
            account_id: self.account_id.clone(),
            environment: self.environment,
        }
    }
}

/// Machines of heartbeat policies that are overdue at `now` and not yet recorded dead, of
/// every tenant (up to 5,000). Two statements: on PostgreSQL the read across tenants goes
/// through the narrow `licentric_unrecorded_deaths` function (migration 0006), as the
/// upkeep acts for no tenant.
pub async fn unrecorded_deaths(
    db: impl Into<DbRef<'_>>,
    now: DateTime<Utc>,
) -> super::Result<Vec<Death>> {
    match db.into() {
        DbRef::Sqlite(db) => Ok(sqlx::query_as(
            "SELECT m.id, m.license_id, m.account_id, m.environment, m.last_heartbeat_at
             FROM machines m
             WHERE m.heartbeat_due_jd <= julianday(?) AND m.death_recorded_at IS NULL
             LIMIT 5000",
        )
        .bind(now)
        .fetch_all(db)
        .await?),
        DbRef::Postgres(db) => Ok(sqlx::query_as(
            "SELECT id, license_id, account_id, environment, last_heartbeat_at
               FROM licentric_unrecorded_deaths($1, 5000)",
        )
        .bind(now)
        .fetch_all(db)
        .await?),
    }
}

/// Marks the tenant's machine's death as recorded (inside the caller's transaction, which
/// on PostgreSQL is set for the tenant).
pub async fn death_recorded(
    db: impl Into<DbTx<'_>>,
    tenant: &Tenant,
    id: &str,
    now: DateTime<Utc>,
) -> super::Result<()> {
    run!(
        db.into(),
        tenant,
        query(
            "UPDATE machines SET death_recorded_at = $1
              WHERE id = $2 AND account_id = $3 AND environment = $4",
            now,
            id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .execute
    )?;
    Ok(())
}

/// Deletes the tenant's machine, freeing its slot.
pub async fn delete(db: impl Into<DbRef<'_>>, tenant: &Tenant, id: &str) -> super::Result<bool> {
    let done = run!(
        db.into(),
        tenant,
        query(
            "DELETE FROM machines WHERE id = $1 AND account_id = $2 AND environment = $3",
            id,
            &tenant.account_id,
            tenant.environment.as_str(),
        )
        .execute
    )?;
    Ok(done == 1)
}

/// The sort expressions of [`SORTABLE`] on PostgreSQL, with the type a cursor's value is
/// read back as; a missing name or heartbeat sorts first, as SQLite's empty text does.
/// The name is `CASE`, not `coalesce`, so that a cursor seeks under the tenant policies
/// (`machines_by_name_first`, PostgreSQL migration 0011; see the licenses' `pg_sort`).
fn pg_sort(field: &str) -> (&'static str, &'static str) {
    match field {
        "updatedAt" => ("m.updated_at", "timestamptz"),
        "name" => ("CASE WHEN m.name IS NULL THEN '' ELSE m.name END", "text"),
        "lastHeartbeatAt" => ("coalesce(m.last_heartbeat_at, '-infinity')", "timestamptz"),
        _ => ("m.created_at", "timestamptz"),
    }
}

/// A listed machine as PostgreSQL returns it.
#[derive(Debug, sqlx::FromRow)]
struct PgListed {
    #[sqlx(flatten)]
    machine: MachineRecord,
    require_heartbeat: bool,
    heartbeat_interval: i64,
    rowid: i64,
}

/// The filters of a machine list on PostgreSQL, as [`push_filters`] decides them: `q`
/// is the start of a fingerprint or a fragment of a name (ILIKE, the trigram index of
/// migration 0011), a heartbeat status a comparison of the due time the triggers keep.
fn push_filters_pg<'a>(
    query: &mut QueryBuilder<'a, sqlx::Postgres>,
    tenant: &'a Tenant,
    filters: &Filters<'a>,
) {
    query
        .push(" WHERE m.account_id = ")
        .push_bind(&tenant.account_id)
        .push(" AND m.environment = ")
        .push_bind(tenant.environment.as_str());
    if let Some(license_id) = filters.license_id {
        query.push(" AND m.license_id = ").push_bind(license_id);
    }
    if let Some(platform) = filters.platform {
        query.push(" AND m.platform = ").push_bind(platform);
    }
    if let Some(q) = search_text(filters) {
        // Two leak-free halves, so that each uses its index under the tenant policy: the
        // fingerprint prefix (starts_with is leak-free) and the ids of the tenant's names
        // that match (migration 0011's trigram index; ILIKE is not leak-free).
        query
            .push(" AND m.id IN (SELECT id FROM machines WHERE starts_with(fingerprint, ")
            .push_bind(q)
            .push(") UNION ALL SELECT licentric_search_machine_names(")
            .push_bind(format!("%{}%", q.replace('\\', "\\\\")))
            .push("))");
    }
    if let (Some(status), Some(now)) = (filters.heartbeat_status, filters.now) {
        match status {
            HeartbeatStatus::Dead => {
                query
                    .push(" AND m.heartbeat_due_jd <= licentric_julianday(")
                    .push_bind(now)
                    .push(")");
            }
            HeartbeatStatus::Alive | HeartbeatStatus::NotStarted => {
                let started = if status == HeartbeatStatus::Alive {
                    "IS NOT NULL"
                } else {
                    "IS NULL"
                };
                query
                    .push(format!(
                        " AND m.last_heartbeat_at {started} \
                         AND (m.heartbeat_due_jd IS NULL OR m.heartbeat_due_jd > licentric_julianday("
                    ))
                    .push_bind(now)
                    .push("))");
            }
        }
    }
}

/// [`count`] on PostgreSQL, inside the tenant's transaction: from `machine_totals` when
/// the filters allow ([`counted_by_totals`]), as on SQLite; else row by row (which, for
/// all of a tenant's 250,000 machines, was a parallel scan of the table per page).
async fn count_pg(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    tenant: &Tenant,
    filters: &Filters<'_>,
) -> super::Result<u32> {
    if !counted_by_totals(filters) {
        let mut count = QueryBuilder::<sqlx::Postgres>::new("SELECT count(*) FROM machines m");
        push_filters_pg(&mut count, tenant, filters);
        let n: i64 = count.build_query_scalar().fetch_one(&mut **tx).await?;
        return postgres::to_u32(n);
    }
    let status = filters.heartbeat_status.zip(filters.now);
    let mut total = QueryBuilder::<sqlx::Postgres>::new(
        "SELECT coalesce(sum(n), 0)::bigint FROM machine_totals WHERE account_id = ",
    );
    total
        .push_bind(&tenant.account_id)
        .push(" AND environment = ")
        .push_bind(tenant.environment.as_str());
    if let Some(platform) = filters.platform {
        total.push(" AND platform = ").push_bind(platform);
    }
    match status {
        Some((HeartbeatStatus::NotStarted, _)) => {
            total.push(" AND NOT started");
        }
        Some((HeartbeatStatus::Alive, _)) => {
            total.push(" AND started");
        }
        _ => {}
    }
    let mut n: i64 = total.build_query_scalar().fetch_one(&mut **tx).await?;
    if let Some((status, now)) = status {
        // Overdue machines: those that never started are dead, not "not started"; the
        // started ones are dead, not alive (ranges of machines_unstarted_by_due and
        // machines_by_due).
        let overdue = |unstarted: bool| {
            let mut query = QueryBuilder::<sqlx::Postgres>::new(
                "SELECT count(*) FROM machines m WHERE m.account_id = ",
            );
            query
                .push_bind(tenant.account_id.clone())
                .push(" AND m.environment = ")
                .push_bind(tenant.environment.as_str())
                .push(" AND m.heartbeat_due_jd <= licentric_julianday(")
                .push_bind(now)
                .push(")");
            if unstarted {
                query.push(" AND m.last_heartbeat_at IS NULL");
                if let Some(platform) = filters.platform {
                    query
                        .push(" AND m.platform = ")
                        .push_bind(platform.to_owned());
                }
            }
            query
        };
        let unstarted_dead: i64 = overdue(true)
            .build_query_scalar()
            .fetch_one(&mut **tx)
            .await?;
        let dead = match status {
            HeartbeatStatus::Alive => Some(
                overdue(false)
                    .build_query_scalar()
                    .fetch_one(&mut **tx)
                    .await?,
            ),
            _ => None,
        };
        n = less_the_overdue(status, n, unstarted_dead, dead);
    }
    postgres::to_u32(n)
}

async fn page_pg(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    tenant: &Tenant,
    filters: &Filters<'_>,
    page: &Page,
    cursor: Option<&Cursor>,
) -> super::Result<(Vec<ListedMachine>, Option<Cursor>)> {
    let (column, kind) = pg_sort(&page.sort_field);
    let direction = if page.descending { "DESC" } else { "ASC" };
    let mut query = QueryBuilder::<sqlx::Postgres>::new(LISTED);
    push_filters_pg(&mut query, tenant, filters);
    if let Some(cursor) = cursor {
        let past = if page.descending { "<" } else { ">" };
        query
            .push(format!(" AND ({column}, m.rowid) {past} ("))
            .push_bind(cursor.value.as_str().unwrap_or_default().to_owned())
            .push(format!("::{kind}, "))
            .push_bind(cursor.rowid)
            .push(")");
    }
    query
        .push(format!(
            " ORDER BY {column} {direction}, m.rowid {direction} LIMIT "
        ))
        .push_bind(i64::from(page.limit));
    if cursor.is_none() {
        query.push(" OFFSET ").push_bind(i64::from(page.offset));
    }
    let raw: Vec<PgListed> = query.build_query_as().fetch_all(&mut **tx).await?;
    let rows = raw
        .into_iter()
        .map(|row| {
            Ok(ListedMachine {
                machine: row.machine,
                require_heartbeat: row.require_heartbeat,
                heartbeat_interval: postgres::to_u32(row.heartbeat_interval)?,
                rowid: row.rowid,
            })
        })
        .collect::<super::Result<Vec<_>>>()?;
    let next = match rows.last() {
        Some(last) if rows.len() == page.limit as usize => {
            let value: String = sqlx::query_scalar(&format!(
                "SELECT ({column})::text FROM machines m WHERE m.rowid = $1"
            ))
            .bind(last.rowid)
            .fetch_one(&mut **tx)
            .await?;
            Some(Cursor {
                field: page.sort_field.clone(),
                descending: page.descending,
                value: value.into(),
                rowid: last.rowid,
            })
        }
        _ => None,
    };
    Ok((rows, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn the_overdue_machines_are_dead_not_alive_or_not_started() {
        // 10 machines: 4 never started (1 of them overdue), 6 started (2 of them overdue).
        // machine_totals gives 4 not started and 6 started; 3 are overdue in all.
        assert_eq!(less_the_overdue(HeartbeatStatus::NotStarted, 4, 1, None), 3);
        assert_eq!(less_the_overdue(HeartbeatStatus::Alive, 6, 1, Some(3)), 4);
        assert_eq!(less_the_overdue(HeartbeatStatus::Alive, 6, 0, Some(0)), 6);
    }

    #[test]
    fn heartbeat_status_follows_the_interval_to_the_second() {
        let rule = HeartbeatRule {
            required: true,
            interval_secs: 600,
        };
        assert_eq!(
            heartbeat(rule, None, t(0), t(599)),
            (HeartbeatStatus::NotStarted, Some(t(600)))
        );
        assert_eq!(heartbeat(rule, None, t(0), t(600)).0, HeartbeatStatus::Dead);
        assert_eq!(
            heartbeat(rule, Some(t(500)), t(0), t(1099)),
            (HeartbeatStatus::Alive, Some(t(1100)))
        );
        assert_eq!(
            heartbeat(rule, Some(t(500)), t(0), t(1100)).0,
            HeartbeatStatus::Dead
        );
    }

    #[test]
    fn without_a_requirement_a_machine_is_never_dead() {
        let rule = HeartbeatRule {
            required: false,
            interval_secs: 600,
        };
        assert_eq!(
            heartbeat(rule, None, t(0), t(100_000)),
            (HeartbeatStatus::NotStarted, None)
        );
        assert_eq!(
            heartbeat(rule, Some(t(1)), t(0), t(100_000)),
            (HeartbeatStatus::Alive, None)
        );
    }
}
