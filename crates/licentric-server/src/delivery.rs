//! Delivering webhooks: each attempt POSTs the event's JSON, signed with HMAC-SHA256, and
//! failed attempts are retried on a backoff schedule. The delivery log records every
//! outcome.
//!
//! Signature: header `Licentric-Signature: t=<unix seconds>,v1=<hex>` where `<hex>` is
//! HMAC-SHA256 keyed by the endpoint's secret over `"<t>.<raw body>"`. A receiver
//! recomputes it, compares in constant time, and rejects timestamps older than a few
//! minutes, which defeats replays. See docs/webhooks.md.

use std::{sync::Arc, time::Duration};

use hmac::{Hmac, Mac};
use licentric_core::{wire::DeliveryStatus, Clock};
use sha2::Sha256;
use sqlx::SqlitePool;
use tokio::sync::{watch, Notify};

use crate::db::webhooks::{self, DueDelivery};

/// How deliveries are attempted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// How often the worker looks for due deliveries (it is also woken by new events).
    pub poll_interval: Duration,
    /// The wait before each retry; one attempt more than its length is made in all.
    pub retry_schedule: Vec<Duration>,
    /// How long one attempt may take.
    pub timeout: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        Self {
            poll_interval: Duration::from_secs(5),
            retry_schedule: vec![
                minutes(1),
                minutes(5),
                minutes(30),
                minutes(120),
                minutes(360),
                minutes(1440),
            ],
            timeout: Duration::from_secs(10),
        }
    }
}

/// The `Licentric-Signature` header value for `body` sent at unix time `timestamp`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Runs deliveries until `stop` turns true.
pub async fn run(
    db: SqlitePool,
    clock: Arc<dyn Clock>,
    config: DeliveryConfig,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let http = match reqwest::Client::builder()
        .timeout(config.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Licentric-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(http) => http,
        Err(error) => {
            tracing::error!(%error, "webhook deliveries are off: cannot build an HTTP client");
            return;
        }
    };
    loop {
        if let Err(error) = deliver_due(&db, clock.as_ref(), &config, &http).await {
            tracing::error!(error = %format!("{error:#}"), "webhook delivery round failed");
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(config.poll_interval) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
    }
}

async fn deliver_due(
    db: &SqlitePool,
    clock: &dyn Clock,
    config: &DeliveryConfig,
    http: &reqwest::Client,
) -> anyhow::Result<()> {
    for delivery in webhooks::due(db, clock.now(), 50).await? {
        attempt(db, clock, config, http, delivery).await?;
    }
    Ok(())
}

async fn attempt(
    db: &SqlitePool,
    clock: &dyn Clock,
    config: &DeliveryConfig,
    http: &reqwest::Client,
    delivery: DueDelivery,
) -> anyhow::Result<()> {
    let sent_at = clock.now();
    let response = http
        .post(&delivery.url)
        .header("content-type", "application/json")
        .header("licentric-event", &delivery.event)
        .header("licentric-delivery", &delivery.id)
        .header(
            "licentric-signature",
            signature(
                &delivery.secret,
                sent_at.timestamp(),
                delivery.payload.as_bytes(),
            ),
        )
        .body(delivery.payload.clone())
        .send()
        .await;
    let attempts = delivery.attempts + 1;
    let (status_code, error) = match &response {
        Ok(r) if r.status().is_success() => (Some(r.status().as_u16()), None),
        Ok(r) => (
            Some(r.status().as_u16()),
            Some(format!(
                "the endpoint answered HTTP {}",
                r.status().as_u16()
            )),
        ),
        Err(e) if e.is_timeout() => (
            None,
            Some(format!("no answer within {} s", config.timeout.as_secs())),
        ),
        Err(e) => (
            None,
            Some(format!("cannot reach the endpoint: {}", root_cause(e))),
        ),
    };
    let now = clock.now();
    match error {
        None => {
            webhooks::record_attempt(
                db,
                &delivery.id,
                DeliveryStatus::Succeeded,
                attempts,
                status_code,
                None,
                None,
                Some(now),
            )
            .await?;
        }
        Some(error) => {
            let retry = usize::try_from(delivery.attempts)
                .ok()
                .and_then(|i| config.retry_schedule.get(i));
            let (status, next) = match retry {
                Some(wait) => (
                    DeliveryStatus::Pending,
                    Some(now + chrono::Duration::from_std(*wait)?),
                ),
                None => (DeliveryStatus::Failed, None),
            };
            tracing::warn!(delivery = %delivery.id, attempts, %error, "webhook delivery failed");
            webhooks::record_attempt(
                db,
                &delivery.id,
                status,
                attempts,
                status_code,
                Some(&error),
                next,
                None,
            )
            .await?;
        }
    }
    Ok(())
}

fn root_cause(error: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = error;
    while let Some(inner) = source.source() {
        source = inner;
    }
    source.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Known answer computed independently:
        // python3 -c 'import hmac,hashlib;print(hmac.new(b"whsec_test",b"1700000000.{}",hashlib.sha256).hexdigest())'
        assert_eq!(
            signature("whsec_test", 1_700_000_000, b"{}"),
            "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
    }
}
