//! What every request handler can reach.

use std::sync::Arc;

use licentric_core::Clock;
use tokio::sync::Notify;

use crate::{
    admission::Admission,
    db::Db,
    delivery::DeliveryConfig,
    domain::{
        audit::Retention,
        runtime::{Runtime, WalLimit},
    },
    forwarded::TrustedProxies,
    rate_limit::{RateLimiter, RateLimits},
    secret::ServerSecret,
    webhook_target::{Lookup, SystemLookup},
};

/// Tunable behaviour of a server (the rest of [`crate::ServerConfig`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Requests allowed per API key, license key and client address.
    pub rate_limits: RateLimits,
    /// How webhooks are delivered and retried.
    pub deliveries: DeliveryConfig,
    /// How long the audit trail keeps events.
    pub audit_retention: Retention,
    /// Seals the accounts' signing keys at rest. The default is ephemeral (random, gone
    /// with the process): right for tests and throw-away databases; `serve` reads the
    /// real one from its configuration.
    pub secret: ServerSecret,
    /// How many requests are worked on and queued at once before the rest are refused.
    pub admission: Admission,
    /// How long SQLite's write-ahead log may grow before the writer restarts it.
    pub wal_limit: WalLimit,
    /// The reverse proxies whose `X-Forwarded-For` names the client (none by default).
    pub trusted_proxies: TrustedProxies,
}

/// Shared state of a running server. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database (SQLite or PostgreSQL).
    pub db: Db,
    /// Where "now" comes from; tests move it.
    pub clock: Arc<dyn Clock>,
    /// The server's settings.
    pub settings: Arc<Settings>,
    /// Per-caller request budgets.
    pub rate_limiter: Arc<RateLimiter>,
    /// Wakes the webhook worker when an event is queued.
    pub deliveries: Arc<Notify>,
    /// Resolves webhook hosts, when saved and when delivered to; tests replace it.
    pub dns: Arc<dyn Lookup>,
    /// Validations, activations and heartbeats, decided and written in batches.
    pub runtime: Arc<Runtime>,
}

impl AppState {
    /// State with the default settings.
    pub fn new(db: impl Into<Db>, clock: Arc<dyn Clock>) -> Self {
        Self::with_settings(db, clock, Settings::default())
    }

    /// State with the given settings.
    pub fn with_settings(db: impl Into<Db>, clock: Arc<dyn Clock>, settings: Settings) -> Self {
        let db = db.into();
        let deliveries = Arc::new(Notify::new());
        Self {
            runtime: Arc::new(Runtime::new(
                db.clone(),
                clock.clone(),
                deliveries.clone(),
                settings.wal_limit,
            )),
            db,
            clock,
            rate_limiter: Arc::new(RateLimiter::new(settings.rate_limits)),
            settings: Arc::new(settings),
            deliveries,
            dns: Arc::new(SystemLookup),
        }
    }
}
