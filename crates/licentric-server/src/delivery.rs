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
//!
//! An endpoint whose every attempt has failed for [`DeliveryConfig::disable_after`] is
//! disabled, with the reason on the endpoint and a `webhook.disabled` audit event by the
//! server itself. A test (`POST /webhooks/{id}/test`) goes through the same client.

use std::{sync::Arc, time::Duration};

use hmac::{Hmac, Mac};
use licentric_core::wire::{DeliveryStatus, WebhookTestResult};
use serde_json::json;
use sha2::Sha256;
use tokio::sync::watch;
use uuid::Uuid;

use crate::{
    db::webhooks::{self, AttemptRecord, DueDelivery, NewDelivery},
    domain::audit::{self, Actor},
    events,
    tenant::Tenant,
    webhook_target::{self, CheckedResolver, Lookup, PrivateTargets, Refusal, Unresolved},
    ApiError, AppState,
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
    /// An endpoint whose every attempt failed for this long is disabled.
    pub disable_after: Duration,
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
            disable_after: Duration::from_secs(24 * 3600),
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

/// The HTTP client every delivery and test goes through: host names resolved with `dns`
/// and every address checked as it connects, no redirects, no proxy.
pub fn http_client(
    config: &DeliveryConfig,
    dns: Arc<dyn Lookup>,
) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(config.timeout)
        // A redirect would go to a host nobody checked.
        .redirect(reqwest::redirect::Policy::none())
        // Through a proxy, the proxy would resolve and reach the host, unchecked.
        .no_proxy()
        .dns_resolver(Arc::new(CheckedResolver::new(dns, config.private_targets)))
        .user_agent(concat!("Licentric-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Runs deliveries until `stop` turns true; host names are resolved with `state.dns`,
/// time comes from `state.clock`, and `state.deliveries` wakes the worker.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let config = &state.settings.deliveries;
    let http = match http_client(config, state.dns.clone()) {
        Ok(http) => http,
        Err(error) => {
            tracing::error!(%error, "webhook deliveries are off: cannot build an HTTP client");
            return;
        }
    };
    loop {
        if let Err(error) = deliver_due(&state, &http).await {
            tracing::error!(error = %format!("{error:#}"), "webhook delivery round failed");
        }
        tokio::select! {
            _ = state.deliveries.notified() => {}
            _ = tokio::time::sleep(config.poll_interval) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
    }
}

async fn deliver_due(state: &AppState, http: &reqwest::Client) -> anyhow::Result<()> {
    for delivery in webhooks::due(&state.db, state.clock.now(), 50).await? {
        attempt(state, http, delivery).await?;
    }
    Ok(())
}

/// What one signed POST carries.
struct Message<'a> {
    url: &'a str,
    event: &'a str,
    delivery_id: &'a str,
    secret: &'a str,
    payload: &'a str,
}

/// Sends `message`, signed at `sent_at` (unix seconds), unless its URL is refused.
async fn send(
    http: &reqwest::Client,
    config: &DeliveryConfig,
    message: &Message<'_>,
    sent_at: i64,
) -> Outcome {
    match reqwest::Url::parse(message.url)
        .map_err(|_| Refusal::Scheme)
        .and_then(|url| {
            webhook_target::check_before_connect(&url, config.private_targets)?;
            Ok(url)
        }) {
        Err(refusal) => Outcome::Refused(refusal),
        Ok(url) => Outcome::from_response(
            http.post(url)
                .header("content-type", "application/json")
                .header("licentric-event", message.event)
                .header("licentric-delivery", message.delivery_id)
                .header(
                    "licentric-signature",
                    signature(message.secret, sent_at, message.payload.as_bytes()),
                )
                .body(message.payload.to_owned())
                .send()
                .await,
        ),
    }
}

async fn attempt(
    state: &AppState,
    http: &reqwest::Client,
    delivery: DueDelivery,
) -> anyhow::Result<()> {
    let (db, config) = (&state.db, &state.settings.deliveries);
    let tenant = delivery.tenant();
    let message = Message {
        url: &delivery.url,
        event: &delivery.event,
        delivery_id: &delivery.id,
        secret: &delivery.secret,
        payload: &delivery.payload,
    };
    let outcome = send(http, config, &message, state.clock.now().timestamp()).await;
    let attempts = delivery.attempts + 1;
    let status_code = outcome.status_code();
    let error = outcome.tenant_message(config.timeout);
    let now = state.clock.now();
    match error {
        None => {
            webhooks::note_success(db, &tenant, &delivery.webhook_id).await?;
            webhooks::record_attempt(
                db,
                &tenant,
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
                &tenant,
                &delivery.id,
                status,
                attempts,
                status_code,
                Some(&error),
                next,
                None,
            )
            .await?;
            let failing_since =
                webhooks::note_failure(db, &tenant, &delivery.webhook_id, now).await?;
            let disable_after = chrono::Duration::from_std(config.disable_after)?;
            if failing_since.is_some_and(|since| now - since >= disable_after) {
                disable(state, &tenant, &delivery.webhook_id, &error).await?;
            }
        }
    }
    Ok(())
}

/// Disables an endpoint whose every attempt failed for `disable_after`, and records why in
/// the endpoint and in its tenant's audit trail, by the server itself.
async fn disable(
    state: &AppState,
    tenant: &Tenant,
    webhook_id: &str,
    last_error: &str,
) -> anyhow::Result<()> {
    let now = state.clock.now();
    let reason = format!(
        "Disabled automatically: every delivery failed for {} (last error: {last_error}). Fix the receiver, then enable the endpoint again.",
        span(state.settings.deliveries.disable_after)
    );
    // The endpoint's disabling and its audit event in one transaction: both or neither.
    let mut tx = crate::db::Scope::transaction(&state.db, tenant).await?;
    let Some(tenant) = webhooks::disable(&mut tx, tenant, webhook_id, &reason, now).await? else {
        return Ok(());
    };
    audit::record_in(
        &mut tx,
        now,
        &tenant,
        &Actor::system(),
        &audit::Event {
            action: "webhook.disabled",
            resource_type: "webhook",
            resource_id: webhook_id,
            changes: Some(json!({
                "enabled": { "before": true, "after": false },
                "disabledReason": { "before": null, "after": reason },
            })),
        },
    )
    .await
    .map_err(|error| anyhow::anyhow!("cannot record the webhook's disabling: {error}"))?;
    tx.commit().await?;
    tracing::warn!(webhook = webhook_id, account = %tenant.account_id, %reason, "webhook endpoint disabled");
    Ok(())
}

/// A duration as people say it: "24 hours", "90 minutes", "1 hour".
fn span(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let (n, unit) = if seconds % 3600 == 0 {
        (seconds / 3600, "hour")
    } else if seconds % 60 == 0 {
        (seconds / 60, "minute")
    } else {
        (seconds, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// What a test delivery came to.
#[derive(Debug)]
pub struct TestReport {
    /// The answer to the tenant.
    pub result: WebhookTestResult,
    /// The URL, or an address its host resolves to, is not allowed: nothing was sent.
    pub refused: bool,
}

/// Sends a signed `webhook.test` event to the tenant's endpoint now, whether it is enabled
/// or not (a test is how a tenant checks a fixed receiver before enabling it again), and
/// logs it as a delivery that is never retried. A success ends the endpoint's run of
/// failures; a failure does not extend it, since a test is not an event anyone missed.
/// `None` when the tenant has no such endpoint.
pub async fn test(
    state: &AppState,
    tenant: &Tenant,
    webhook_id: &str,
) -> Result<Option<TestReport>, ApiError> {
    let Some((url, secret)) = webhooks::target(&state.db, tenant, webhook_id).await? else {
        return Ok(None);
    };
    let config = &state.settings.deliveries;
    let http = http_client(config, state.dns.clone())
        .map_err(|error| anyhow::anyhow!("cannot build the webhook HTTP client: {error}"))?;
    let now = state.clock.now();
    let (event_id, payload) = events::envelope(
        tenant,
        TEST_EVENT,
        now,
        json!({ "webhook": { "id": webhook_id, "url": url } }),
    );
    let delivery_id = Uuid::new_v4().to_string();
    let message = Message {
        url: &url,
        event: TEST_EVENT,
        delivery_id: &delivery_id,
        secret: &secret,
        payload: &payload,
    };
    // The attempt's length is a measurement, not a time of the domain: the wall clock's.
    let started = std::time::Instant::now();
    let outcome = send(&http, config, &message, now.timestamp()).await;
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let error = outcome.tenant_message(config.timeout);
    if let Some(error) = &error {
        tracing::info!(delivery = %delivery_id, %error, cause = %outcome.cause(), "webhook test failed");
    }
    let delivered = error.is_none();
    let done = state.clock.now();
    webhooks::insert_attempted(
        &state.db,
        &NewDelivery {
            id: &delivery_id,
            tenant,
            webhook_id,
            event_id: &event_id,
            event: TEST_EVENT,
            payload: &payload,
        },
        &AttemptRecord {
            status: if delivered {
                DeliveryStatus::Succeeded
            } else {
                DeliveryStatus::Failed
            },
            status_code: outcome.status_code(),
            error: error.as_deref(),
            delivered_at: delivered.then_some(done),
        },
        now,
    )
    .await?;
    if delivered {
        webhooks::note_success(&state.db, tenant, webhook_id).await?;
    }
    Ok(Some(TestReport {
        refused: matches!(outcome, Outcome::Refused(_)),
        result: WebhookTestResult {
            delivered,
            status: outcome.status_code(),
            duration_ms,
            error,
            delivery_id,
        },
    }))
}

/// The type of the event a test sends; no endpoint subscribes to it.
pub const TEST_EVENT: &str = "webhook.test";

/// Queues a new delivery of an endpoint's delivery: the same event id and body, so a
/// receiver can tell it has seen the event, under a new delivery id with its own attempts
/// (the original's log entry stays as it was). `None` when the endpoint has no such
/// delivery; the caller has checked the endpoint is the tenant's.
pub async fn redeliver(
    state: &AppState,
    tenant: &Tenant,
    webhook_id: &str,
    delivery_id: &str,
) -> Result<Option<licentric_core::wire::WebhookDelivery>, ApiError> {
    let Some(original) = webhooks::delivery(&state.db, tenant, webhook_id, delivery_id).await?
    else {
        return Ok(None);
    };
    let Some(payload) = webhooks::payload(&state.db, tenant, webhook_id, delivery_id).await? else {
        return Ok(None);
    };
    let id = Uuid::new_v4().to_string();
    webhooks::queue(
        &state.db,
        &NewDelivery {
            id: &id,
            tenant,
            webhook_id,
            event_id: &original.event_id,
            event: &original.event,
            payload: &payload,
        },
        state.clock.now(),
    )
    .await?;
    // Read before the worker is woken, so the answer shows the delivery as queued.
    let queued = webhooks::delivery(&state.db, tenant, webhook_id, &id).await?;
    state.deliveries.notify_one();
    Ok(queued)
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
