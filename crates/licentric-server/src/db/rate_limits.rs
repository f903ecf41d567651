//! Rate-limit buckets shared by every server process on one PostgreSQL database (issue
//! 15): token buckets as `rate_limit::RateLimiter` keeps them in memory, counted in the
//! database so that N processes allow what one would. SQLite has one server process per
//! file, and keeps its buckets in that process's memory.
//! `rate_limit::RateLimiter::take` takes from them on PostgreSQL; the upkeep prunes them.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// What taking a token from a shared bucket came to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Take {
    /// Whether a token was taken: the request may proceed.
    pub allowed: bool,
    /// Tokens left in the bucket (fractional: it refills continuously).
    pub tokens: f64,
}

/// The stored name of a bucket: a SHA-256 (hex) of what the limiter counts by (a
/// credential's id, a client address), so neither is kept in the table.
pub fn bucket_name(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Takes one token from `key`'s bucket of `requests` per `period` (full on first use,
/// refilled continuously), at the server's time `now`; one statement, exact across
/// processes.
pub async fn take(
    db: &PgPool,
    key: &str,
    requests: u32,
    period: Duration,
    now: DateTime<Utc>,
) -> super::Result<Take> {
    let capacity = f64::from(requests);
    let per_second = capacity / period.as_secs_f64();
    let (allowed, tokens): (bool, f64) =
        sqlx::query_as("SELECT allowed, tokens FROM licentric_rate_take($1, $2, $3, $4)")
            .bind(bucket_name(key))
            .bind(capacity)
            .bind(per_second)
            .bind(now)
            .fetch_one(db)
            .await?;
    Ok(Take { allowed, tokens })
}

/// Forgets the buckets that are full again at `now`; answers how many.
pub async fn prune(db: &PgPool, now: DateTime<Utc>) -> super::Result<u64> {
    let n: i64 = sqlx::query_scalar("SELECT licentric_rate_prune($1)")
        .bind(now)
        .fetch_one(db)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}
