//! Rate limits: a token bucket per API key, per license key, and per client address for
//! unauthenticated calls. Every answer carries `X-RateLimit-Limit`, `-Remaining` and
//! `-Reset`; a refusal is a 429 with `Retry-After` in seconds.
//!
//! Buckets live in this process's memory: behind a load balancer each server counts on
//! its own, so the effective limit is the configured one times the number of servers.

use std::{
    collections::HashMap,
    net::SocketAddr,
    str::FromStr,
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::{
    extract::{ConnectInfo, MatchedPath, Request, State},
    http::{HeaderMap, HeaderValue},
    middleware::Next,
    response::{IntoResponse, Response},
};
use licentric_core::LicenseKey;
use sha2::{Digest, Sha256};

use crate::{auth, ApiError, AppState};

/// `requests` per `period`, refilled continuously.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests allowed in a full bucket.
    pub requests: u32,
    /// The time it takes to refill an empty bucket.
    pub period: Duration,
}

impl FromStr for Quota {
    type Err = String;

    /// Parses `600/60s`, `600/1m` or `10/1s`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad =
            || format!("invalid rate limit {s:?}: use REQUESTS/PERIOD, e.g. 600/60s or 100/1m");
        let (requests, period) = s.trim().split_once('/').ok_or_else(bad)?;
        let requests: u32 = requests.trim().parse().map_err(|_| bad())?;
        let period = period.trim();
        let (number, unit) = period.split_at(
            period
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(period.len()),
        );
        let number: u64 = number.parse().map_err(|_| bad())?;
        let seconds = match unit {
            "" | "s" => number,
            "m" => number * 60,
            "h" => number * 3600,
            _ => return Err(bad()),
        };
        if requests == 0 || seconds == 0 {
            return Err(bad());
        }
        Ok(Self {
            requests,
            period: Duration::from_secs(seconds),
        })
    }
}

/// The limits of each kind of caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Per API key.
    pub api_key: Quota,
    /// Per license key.
    pub license_key: Quota,
    /// Per client address, for calls without credentials (validate-key).
    pub anonymous: Quota,
}

impl Default for RateLimits {
    fn default() -> Self {
        let minute = Duration::from_secs(60);
        Self {
            api_key: Quota {
                requests: 1200,
                period: minute,
            },
            license_key: Quota {
                requests: 300,
                period: minute,
            },
            anonymous: Quota {
                requests: 300,
                period: minute,
            },
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Decides whether a request may proceed.
#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// What one check decided.
#[derive(Debug, Clone, Copy)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The bucket's size.
    pub limit: u32,
    /// Requests left now.
    pub remaining: u32,
    /// Seconds until a request would be allowed (0 if it is).
    pub retry_after: u64,
    /// Seconds until the bucket is full again.
    pub reset: u64,
}

/// Buckets kept before idle (full) ones are dropped.
const PRUNE_ABOVE: usize = 10_000;

impl RateLimiter {
    /// A limiter with these limits.
    pub fn new(limits: RateLimits) -> Self {
        Self {
            limits,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from `key`'s bucket if it has one.
    pub fn check(&self, key: &str, quota: Quota, now: Instant) -> Decision {
        let capacity = f64::from(quota.requests);
        let per_second = capacity / quota.period.as_secs_f64();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * per_second < capacity
            });
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.updated = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        let seconds = |tokens: f64| (tokens / per_second).ceil().max(0.0) as u64;
        Decision {
            allowed,
            limit: quota.requests,
            remaining: bucket.tokens.floor() as u32,
            retry_after: if allowed {
                0
            } else {
                seconds(1.0 - bucket.tokens).max(1)
            },
            reset: seconds(capacity - bucket.tokens),
        }
    }
}

fn short_hash(value: &str) -> String {
    hex::encode(&Sha256::digest(value.as_bytes())[..12])
}

/// Public endpoints: always counted per client address, whatever credential is sent, so
/// that fetching a JWKS never spends an API key's budget.
const PUBLIC_PATHS: &[&str] = &["/api/v1/accounts/{accountId}/jwks.json"];

/// The middleware: picks the caller's bucket from its credential (checked or not: bad
/// credentials are limited too) or its address, and answers 429 when it is empty.
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let limits = state.rate_limiter.limits;
    let public = parts
        .extensions
        .get::<MatchedPath>()
        .is_some_and(|path| PUBLIC_PATHS.contains(&path.as_str()));
    let credential = if public {
        Ok(None)
    } else {
        auth::credential(&parts)
    };
    let (key, quota) = match credential {
        Ok(Some(auth::Credential::Bearer(token))) => {
            (format!("api:{}", short_hash(token)), limits.api_key)
        }
        Ok(Some(auth::Credential::License(key))) => (
            format!("lic:{}", short_hash(&LicenseKey::normalize(key))),
            limits.license_key,
        ),
        _ => {
            let address = parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(|| "unknown".to_owned(), |ConnectInfo(a)| a.ip().to_string());
            (format!("ip:{address}"), limits.anonymous)
        }
    };
    let decision = state.rate_limiter.check(&key, quota, Instant::now());
    let mut response = if decision.allowed {
        next.run(Request::from_parts(parts, body)).await
    } else {
        ApiError::RateLimited {
            retry_after_secs: decision.retry_after,
        }
        .into_response()
    };
    add_headers(response.headers_mut(), &decision);
    response
}

fn add_headers(headers: &mut HeaderMap, decision: &Decision) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(decision.limit));
    headers.insert(
        "x-ratelimit-remaining",
        HeaderValue::from(decision.remaining),
    );
    headers.insert("x-ratelimit-reset", HeaderValue::from(decision.reset));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_parse_and_bad_ones_are_refused() {
        assert_eq!(
            "600/60s".parse::<Quota>(),
            Ok(Quota {
                requests: 600,
                period: Duration::from_secs(60)
            })
        );
        assert_eq!(
            "100/1m".parse::<Quota>().unwrap().period,
            Duration::from_secs(60)
        );
        assert_eq!(
            "5/2h".parse::<Quota>().unwrap().period,
            Duration::from_secs(7200)
        );
        for bad in ["", "600", "0/1s", "5/0s", "x/1s", "5/1d"] {
            assert!(bad.parse::<Quota>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_bucket_empties_refills_and_says_when() {
        let limiter = RateLimiter::new(RateLimits::default());
        let quota = Quota {
            requests: 3,
            period: Duration::from_secs(3),
        };
        let start = Instant::now();
        for remaining in [2, 1, 0] {
            let d = limiter.check("k", quota, start);
            assert!(d.allowed);
            assert_eq!(d.remaining, remaining);
        }
        let refused = limiter.check("k", quota, start);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after, 1);
        assert_eq!(refused.reset, 3);
        // Other keys have their own buckets.
        assert!(limiter.check("other", quota, start).allowed);
        // One second later one request is allowed again.
        assert!(
            limiter
                .check("k", quota, start + Duration::from_secs(1))
                .allowed
        );
        assert!(
            !limiter
                .check("k", quota, start + Duration::from_secs(1))
                .allowed
        );
    }
}
