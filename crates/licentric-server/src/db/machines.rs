//! Machines activated on licenses, and their heartbeats.

use chrono::{DateTime, Duration, Utc};
use licentric_core::wire::{HeartbeatStatus, Machine, Platform};
use sqlx::SqlitePool;

use crate::{params::Page, tenant::Tenant};

/// Sortable fields of a machine list.
pub const SORTABLE: &[(&str, &str)] = &[
    ("createdAt", "created_at"),
    ("updatedAt", "updated_at"),
    ("name", "name"),
    ("lastHeartbeatAt", "last_heartbeat_at"),
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
/// limit). One statement, so two activations racing for the last slot cannot both win.
/// `false` when the license is full.
pub async fn insert_within_limit(
    db: &SqlitePool,
    tenant: &Tenant,
    machine: &MachineRecord,
    max: Option<u32>,
) -> super::Result<bool> {
    let done = sqlx::query(&format!(
        "INSERT INTO machines (account_id, environment, {COLUMNS})
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
         WHERE ? IS NULL OR (SELECT count(*) FROM machines WHERE license_id = ?) < ?"
    ))
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
    .bind(max)
    .bind(&machine.license_id)
    .bind(max)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The tenant's machine with this id.
pub async fn get(
    db: &SqlitePool,
    tenant: &Tenant,
    id: &str,
) -> super::Result<Option<MachineRecord>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM machines WHERE id = ? AND account_id = ? AND environment = ?"
    ))
    .bind(id)
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .fetch_optional(db)
    .await
    .map_err(Into::into)
}

/// The license's machine with this fingerprint.
pub async fn find_by_fingerprint(
    db: &SqlitePool,
    license_id: &str,
    fingerprint: &str,
) -> super::Result<Option<MachineRecord>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM machines WHERE license_id = ? AND fingerprint = ?"
    ))
    .bind(license_id)
    .bind(fingerprint)
    .fetch_optional(db)
    .await
    .map_err(Into::into)
}

/// All of a license's machines, oldest first.
pub async fn of_license(db: &SqlitePool, license_id: &str) -> super::Result<Vec<MachineRecord>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM machines WHERE license_id = ? ORDER BY created_at ASC, rowid ASC"
    ))
    .bind(license_id)
    .fetch_all(db)
    .await
    .map_err(Into::into)
}

/// One page of the tenant's machines (optionally of one license), and how many match.
pub async fn list(
    db: &SqlitePool,
    tenant: &Tenant,
    license_id: Option<&str>,
    page: &Page,
) -> super::Result<(Vec<MachineRecord>, u32)> {
    let filter = "account_id = ? AND environment = ? AND (? IS NULL OR license_id = ?)";
    let rows = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM machines WHERE {filter} ORDER BY {} LIMIT ? OFFSET ?",
        page.order_by
    ))
    .bind(&tenant.account_id)
    .bind(tenant.environment.as_str())
    .bind(license_id)
    .bind(license_id)
    .bind(page.limit)
    .bind(page.offset)
    .fetch_all(db)
    .await?;
    let total = sqlx::query_scalar(&format!("SELECT count(*) FROM machines WHERE {filter}"))
        .bind(&tenant.account_id)
        .bind(tenant.environment.as_str())
        .bind(license_id)
        .bind(license_id)
        .fetch_one(db)
        .await?;
    Ok((rows, total))
}

/// Records a heartbeat.
pub async fn heartbeat_now(db: &SqlitePool, id: &str, now: DateTime<Utc>) -> super::Result<()> {
    sqlx::query("UPDATE machines SET last_heartbeat_at = ?, updated_at = ? WHERE id = ?")
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes a machine, freeing its slot.
pub async fn delete(db: &SqlitePool, id: &str) -> super::Result<bool> {
    let done = sqlx::query("DELETE FROM machines WHERE id = ?")
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
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
