//! Rate limits: a token bucket per API key, per license key, and per client address for
//! unauthenticated calls. Every answer carries `X-RateLimit-Limit`, `-Remaining` and
//! `-Reset`; a refusal is a 429 with `Retry-After` in seconds.
//!
//! Only a credential that verified gets a budget of its own. A request with no credential,
//! or one that does not verify, spends its client address's budget, so made-up credentials
//! buy no extra requests. Failed authentication (a 401, or a validation of a key that does
//! not exist) is also counted per address: when an address has used up its
//! `auth_failures` quota it is locked out of every unauthenticated request for one period,
//! and the lockout is recorded in the audit trail.
//!
//! On SQLite (one server process per file) the buckets live in this process's memory. On
//! PostgreSQL, where several server processes share one database, they live in the
//! database (`db::rate_limits`, one statement per take), so N processes allow what one
//! would; failed authentications are counted there too. A lockout, once a process has
//! counted the failure that used up the address's quota, is kept by that process; another
//! process locks the address out at its next failure, which finds the shared bucket empty.

use std::{
    collections::HashMap,
    convert::Infallible,
    future::Future,
    net::IpAddr,
    pin::Pin,
    str::FromStr,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{
    extract::{ConnectInfo, MatchedPath, Request},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::json;
use tower::{Layer, Service};

use crate::{auth, db, listener::ClientAddr, ApiError, AppState};

/// How long a request waits for the shared bucket on PostgreSQL before this process's own
/// decides: short, so a database outage is answered by the request's own database work
/// (a 503 with Retry-After after the pool's wait) instead of being waited for twice.
const SHARED_BUCKET_WAIT: std::time::Duration = std::time::Duration::from_secs(1);
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
    /// Per client address, for calls without credentials (validate-key) or with ones
    /// that do not verify.
    pub anonymous: Quota,
    /// Failed authentications per client address before it is locked out for one period.
    pub auth_failures: Quota,
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
            auth_failures: Quota {
                requests: 30,
                period: Duration::from_secs(300),
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
    /// Client addresses locked out after too many failed authentications, and until when.
    lockouts: Mutex<HashMap<IpAddr, Instant>>,
}

/// Marks a response as a failed authentication that did not answer 401 (a validation of
/// a license key that does not exist), so the limiter counts it against the address.
#[derive(Debug, Clone, Copy)]
pub struct FailedAuthentication;

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
            lockouts: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds left of `address`'s lockout, if it is locked out.
    pub fn locked_out(&self, address: IpAddr, now: Instant) -> Option<u64> {
        let mut lockouts = self.lockouts.lock().unwrap_or_else(|p| p.into_inner());
        match lockouts.get(&address) {
            Some(until) if *until > now => Some(until.duration_since(now).as_secs().max(1)),
            Some(_) => {
                lockouts.remove(&address);
                None
            }
            None => None,
        }
    }

    /// Counts one failed authentication from `address`; true when it used up the
    /// address's quota and so began a lockout.
    pub fn record_failure(&self, address: IpAddr, now: Instant) -> bool {
        let quota = self.limits.auth_failures;
        let decision = self.check(&format!("fail:{address}"), quota, now);
        self.lock_out_when_spent(address, decision, now)
    }

    /// Takes one token from `key`'s bucket: in this process's memory on SQLite, in the
    /// database's shared bucket on PostgreSQL (`wall` is the time the shared buckets count
    /// in: the real time, as `now` is for the memory's). Should the database not answer, this process's own bucket
    /// decides, so an outage of the limiter's table never refuses or fails a request.
    pub async fn take(
        &self,
        db: &db::Db,
        key: &str,
        quota: Quota,
        now: Instant,
        wall: chrono::DateTime<chrono::Utc>,
    ) -> Decision {
        if let db::Db::Postgres(pool) = db {
            let shared = db::rate_limits::take(pool, key, quota.requests, quota.period, wall);
            match tokio::time::timeout(SHARED_BUCKET_WAIT, shared).await {
                Ok(Ok(taken)) => return decision(quota, taken.tokens, taken.allowed),
                Ok(Err(error)) => tracing::warn!(
                    %error,
                    "cannot take from the shared rate-limit bucket; this process's own decides"
                ),
                Err(_) => tracing::warn!(
                    "the shared rate-limit bucket did not answer in {SHARED_BUCKET_WAIT:?}; this process's own decides"
                ),
            }
        }
        self.check(key, quota, now)
    }

    /// [`RateLimiter::record_failure`], counted in the shared buckets on PostgreSQL.
    pub async fn record_failure_in(
        &self,
        db: &db::Db,
        address: IpAddr,
        now: Instant,
        wall: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        let quota = self.limits.auth_failures;
        let decision = self
            .take(db, &format!("fail:{address}"), quota, now, wall)
            .await;
        self.lock_out_when_spent(address, decision, now)
    }

    fn lock_out_when_spent(&self, address: IpAddr, decision: Decision, now: Instant) -> bool {
        if decision.allowed && decision.remaining > 0 {
            return false;
        }
        let quota = self.limits.auth_failures;
        let mut lockouts = self.lockouts.lock().unwrap_or_else(|p| p.into_inner());
        if lockouts.len() > PRUNE_ABOVE {
            lockouts.retain(|_, until| *until > now);
        }
        lockouts.insert(address, now + quota.period);
        true
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
        // Looked up by `&str` first: a key that has a bucket costs no allocation.
        if let Some(bucket) = buckets.get_mut(key) {
            return take(bucket, quota, now);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        take(bucket, quota, now)
    }
}

/// Refills `bucket` for the time since it was last used and takes one token if it has one.
fn take(bucket: &mut Bucket, quota: Quota, now: Instant) -> Decision {
    let capacity = f64::from(quota.requests);
    let per_second = capacity / quota.period.as_secs_f64();
    let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
    bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
    bucket.updated = now;
    let allowed = bucket.tokens >= 1.0;
    if allowed {
        bucket.tokens -= 1.0;
    }
    decision(quota, bucket.tokens, allowed)
}

/// What a take came to, from the tokens left after it (in memory or in the database).
fn decision(quota: Quota, tokens: f64, allowed: bool) -> Decision {
    let capacity = f64::from(quota.requests);
    let per_second = capacity / quota.period.as_secs_f64();
    let seconds = |tokens: f64| (tokens / per_second).ceil().max(0.0) as u64;
    Decision {
        allowed,
        limit: quota.requests,
        remaining: tokens.floor() as u32,
        retry_after: if allowed {
            0
        } else {
            seconds(1.0 - tokens).max(1)
        },
        reset: seconds(capacity - tokens),
    }
}

/// Public endpoints: always counted per client address, whatever credential is sent, so
/// that fetching a JWKS never spends an API key's budget.
const PUBLIC_PATHS: &[&str] = &["/api/v1/accounts/{accountId}/jwks.json"];

/// The rate limit as a layer on every limited route ([`limit`] around each request).
///
/// A hand-written service rather than `axum::middleware::from_fn_with_state`: that one
/// cloned the whole `AppState` twice per request (its state, then the `State`
/// extractor), boxed a clone of the route for `Next` and the future; this one shares the
/// state behind one `Arc` and boxes only the future.
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    state: Arc<AppState>,
}

impl RateLimitLayer {
    /// The layer for a server's state.
    pub fn new(state: AppState) -> Self {
        Self {
            state: Arc::new(state),
        }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimited<S>;

    fn layer(&self, inner: S) -> RateLimited<S> {
        RateLimited {
            inner,
            state: Arc::clone(&self.state),
        }
    }
}

/// A route behind [`RateLimitLayer`].
#[derive(Debug, Clone)]
pub struct RateLimited<S> {
    inner: S,
    state: Arc<AppState>,
}

impl<S> Service<Request> for RateLimited<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The service that was polled ready serves this request; a clone takes its place.
        let ready = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, ready);
        let state = Arc::clone(&self.state);
        Box::pin(async move { Ok(limit(&state, request, inner).await) })
    }
}

/// Verifies the caller's credential (once; the extractors reuse the result), picks its
/// bucket, answers 429 when it is empty or the address is locked out, and counts failed
/// authentications against the client's address.
async fn limit<S>(state: &AppState, request: Request, mut inner: S) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let (mut parts, body) = request.into_parts();
    let limits = state.rate_limiter.limits;
    let address = parts
        .extensions
        .get::<ConnectInfo<ClientAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |ConnectInfo(ClientAddr(a))| {
            a.ip()
        });
    let public = parts
        .extensions
        .get::<MatchedPath>()
        .is_some_and(|path| PUBLIC_PATHS.contains(&path.as_str()));
    let verified = if public {
        None
    } else {
        match auth::verify(state, &parts).await {
            Ok(verified) => verified,
            Err(error) => return error.into_response(),
        }
    };
    let now = Instant::now();
    let (key, quota) = match verified.as_ref().map(|v| &v.0) {
        Some(Ok(auth::Caller::ApiKey(caller))) => {
            (format!("api:{}", caller.key_id), limits.api_key)
        }
        Some(Ok(auth::Caller::License(caller))) => {
            (format!("lic:{}", caller.license_id), limits.license_key)
        }
        _ => {
            if let Some(retry_after_secs) = state.rate_limiter.locked_out(address, now) {
                return ApiError::TooManyFailures { retry_after_secs }.into_response();
            }
            (format!("ip:{address}"), limits.anonymous)
        }
    };
    let decision = state
        .rate_limiter
        .take(&state.db, &key, quota, now, chrono::Utc::now())
        .await;
    if let Some(verified) = verified {
        parts.extensions.insert(verified);
    }
    let mut response = if decision.allowed {
        match inner.call(Request::from_parts(parts, body)).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    } else {
        ApiError::RateLimited {
            retry_after_secs: decision.retry_after,
        }
        .into_response()
    };
    let failed = response.status() == StatusCode::UNAUTHORIZED
        || response
            .extensions()
            .get::<FailedAuthentication>()
            .is_some();
    let failure_locks_out = failed
        && state
            .rate_limiter
            .record_failure_in(&state.db, address, Instant::now(), chrono::Utc::now())
            .await;
    if failure_locks_out {
        lockout_event(state, address).await;
    }
    add_headers(response.headers_mut(), &decision);
    response
}

/// Logs a lockout and records it in the audit trail; a failure to record is logged, not
/// answered (the client's request has been answered already).
async fn lockout_event(state: &AppState, address: IpAddr) {
    let quota = state.rate_limiter.limits.auth_failures;
    let address = address.to_string();
    tracing::warn!(%address, "client address locked out after repeated failed authentication");
    let details = json!({
        "failures": quota.requests,
        "periodSeconds": quota.period.as_secs(),
        "lockedOutSeconds": quota.period.as_secs(),
    });
    let event = db::audit::NewEvent {
        account_id: None,
        environment: None,
        occurred_at: state.clock.now(),
        actor_type: "address",
        actor_id: Some(&address),
        actor_name: None,
        action: "auth.locked_out",
        resource_type: None,
        resource_id: None,
        client_address: Some(&address),
        request_id: None,
        changes: Some(&details),
    };
    let recorded = db::audit::insert(&state.db, &event).await;
    if let Err(error) = recorded {
        tracing::error!(%error, "cannot record the lockout in the audit trail");
    }
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

    #[test]
    fn repeated_failures_lock_an_address_out_for_one_period() {
        let limiter = RateLimiter::new(RateLimits {
            auth_failures: Quota {
                requests: 3,
                period: Duration::from_secs(60),
            },
            ..RateLimits::default()
        });
        let attacker: IpAddr = [10, 0, 0, 7].into();
        let neighbour: IpAddr = [10, 0, 0, 8].into();
        let start = Instant::now();
        assert!(!limiter.record_failure(attacker, start));
        assert!(!limiter.record_failure(attacker, start));
        assert_eq!(limiter.locked_out(attacker, start), None);
        assert!(
            limiter.record_failure(attacker, start),
            "the third failure locks"
        );
        assert_eq!(limiter.locked_out(attacker, start), Some(60));
        assert_eq!(
            limiter.locked_out(attacker, start + Duration::from_secs(45)),
            Some(15)
        );
        assert_eq!(limiter.locked_out(neighbour, start), None);
        assert_eq!(
            limiter.locked_out(attacker, start + Duration::from_secs(60)),
            None
        );
    }
}
