//! Delivering webhooks: each attempt POSTs the event's JSON, signed with HMAC-SHA256, and
//! failed attempts are retried on a backoff schedule. The delivery log records every
//! outcome.
//!
//! Signature: header `Licentric-Signature: t=<unix seconds>,v1=<hex>` where `<hex>` is
//! HMAC-SHA256 keyed by the endpoint's secret over `"<t>.<raw body>"`. A receiver
//! recomputes it, compares in constant time, and rejects timestamps older than a few
//! minutes, which defeats replays. See docs/webhooks.md.
//!
//! Where a delivery may go is checked again here, as it connects (see `webhook_target`),
//! and what the delivery log says about a failure is the same whatever answered: it must
//! not tell a tenant which ports of which hosts are open.

use std::{sync::Arc, time::Duration};

use hmac::{Hmac, Mac};
use licentric_core::{wire::DeliveryStatus, Clock};
use sha2::Sha256;
use sqlx::SqlitePool;
use tokio::sync::{watch, Notify};

use crate::{
    db::webhooks::{self, DueDelivery},
    webhook_target::{self, CheckedResolver, Lookup, PrivateTargets, Refusal, Unresolved},
};

/// How deliveries are attempted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// How often the worker looks for due deliveries (it is also woken by new events).
    pub poll_interval: Duration,
    /// The wait before each retry; one attempt more than its length is made in all.
    pub retry_schedule: Vec<Duration>,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// Which non-public addresses deliveries (and endpoints when saved) may go to.
    pub private_targets: PrivateTargets,
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
            private_targets: PrivateTargets::None,
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

/// Runs deliveries until `stop` turns true; host names are resolved with `dns`.
pub async fn run(
    db: SqlitePool,
    clock: Arc<dyn Clock>,
    config: DeliveryConfig,
    dns: Arc<dyn Lookup>,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let http = match reqwest::Client::builder()
        .timeout(config.timeout)
        // A redirect would go to a host nobody checked.
        .redirect(reqwest::redirect::Policy::none())
        // Through a proxy, the proxy would resolve and reach the host, unchecked.
        .no_proxy()
        .dns_resolver(Arc::new(CheckedResolver::new(dns, config.private_targets)))
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
    let outcome = match reqwest::Url::parse(&delivery.url)
        .map_err(|_| Refusal::Scheme)
        .and_then(|url| {
            webhook_target::check_before_connect(&url, config.private_targets)?;
            Ok(url)
        }) {
        Err(refusal) => Outcome::Refused(refusal),
        Ok(url) => Outcome::from_response(
            http.post(url)
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
                .await,
        ),
    };
    let attempts = delivery.attempts + 1;
    let status_code = outcome.status_code();
    let error = outcome.tenant_message(config.timeout);
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
            // The operator's log has the cause; the tenant's log only the tenant message.
            tracing::warn!(delivery = %delivery.id, attempts, %error, cause = %outcome.cause(), "webhook delivery failed");
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

/// What one attempt came to.
#[derive(Debug)]
enum Outcome {
    /// Not sent: the URL, or an address its host resolved to, is not allowed.
    Refused(Refusal),
    /// The endpoint answered with this status.
    Answered(reqwest::StatusCode),
    /// No HTTP answer: the name did not resolve, the connection failed, the answer was not
    /// HTTP, or the time ran out.
    NoAnswer(reqwest::Error),
}

impl Outcome {
    fn from_response(response: reqwest::Result<reqwest::Response>) -> Self {
        match response {
            Ok(response) => Self::Answered(response.status()),
            Err(error) => match find_cause::<Refusal>(&error) {
                Some(refusal) => Self::Refused(refusal.clone()),
                None => Self::NoAnswer(error),
            },
        }
    }

    fn status_code(&self) -> Option<u16> {
        match self {
            Self::Answered(status) => Some(status.as_u16()),
            _ => None,
        }
    }

    /// What the delivery log shows the tenant: `None` on success, else a message starting
    /// "refused" or "failed". A closed port, an open port that does not speak HTTP and a
    /// host that drops the connection read the same, so the log is no port scanner; only
    /// the time running out is told apart (so is it for a slow receiver).
    fn tenant_message(&self, timeout: Duration) -> Option<String> {
        match self {
            Self::Answered(status) if status.is_success() => None,
            Self::Answered(status) => Some(format!(
                "failed: the endpoint answered HTTP {}",
                status.as_u16()
            )),
            Self::Refused(refusal) => Some(format!("refused: the URL {refusal}")),
            Self::NoAnswer(error) if error.is_timeout() => {
                Some(format!("failed: no answer within {} s", timeout.as_secs()))
            }
            Self::NoAnswer(error) if find_cause::<Unresolved>(error).is_some() => {
                Some("failed: the endpoint's host name does not resolve".to_owned())
            }
            Self::NoAnswer(_) => {
                Some("failed: cannot connect to the endpoint or read an HTTP answer".to_owned())
            }
        }
    }

    /// The whole story, for the operator's log.
    fn cause(&self) -> String {
        match self {
            Self::Refused(refusal) => format!("refused: {refusal}"),
            Self::Answered(status) => format!("HTTP {status}"),
            Self::NoAnswer(error) => {
                let mut text = error.to_string();
                let mut source = std::error::Error::source(error);
                while let Some(inner) = source {
                    text.push_str(": ");
                    text.push_str(&inner.to_string());
                    source = inner.source();
                }
                text
            }
        }
    }
}

/// The first error of type `E` in `error`'s chain of sources.
fn find_cause<E: std::error::Error + 'static>(error: &reqwest::Error) -> Option<&E> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(inner) = source {
        if let Some(found) = inner.downcast_ref::<E>() {
            return Some(found);
        }
        source = inner.source();
    }
    None
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
