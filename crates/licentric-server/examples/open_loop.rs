//! The load generator of `scripts/bench-overload` (issue 14), in two modes:
//!
//! - **open loop** (`--rate R`): requests fall due at a fixed rate whatever the server
//!   does, as independent clients arrive in the real world, and each one's latency is
//!   counted from the moment it fell due, not from when a busy sender got round to it. A
//!   closed-loop tool (`wrk`) waits for an answer before it sends again, so an overloaded
//!   server slows the load down and its queueing never shows (coordinated omission); this
//!   one keeps offering the rate, so it does. A request that could not even be sent within
//!   `--timeout` of falling due counts as timed out, as its client would have given up.
//! - **closed loop** (`--rate 0`): every connection sends again as soon as it is answered,
//!   for the sustainable rate with this same client's cost on the same cores.
//!
//! Each of `--connections` simulated clients keeps one HTTP/1.1 connection alive (hyper's
//! connection-level client, no pool in between) and takes the next due request. `UNIQUE`
//! in `--body` becomes a number of its own in each request (e.g. a new fingerprint).
//!
//! ```sh
//! cargo run --release -p licentric-server --example open_loop -- \
//!     --url http://127.0.0.1:8787/api/v1/licenses/validate-key \
//!     --body '{"key":"…"}' --rate 8000 --duration 15 --connections 2048
//! ```
//!
//! Prints one JSON object: the rate offered and sent, how many answers were accepted
//! (2xx), refused (503/429, and how many of those had `Retry-After`), other statuses,
//! client errors and time-outs, and the latency percentiles (ms) of the accepted and of
//! the refused answers.

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::json;
use tokio::sync::{mpsc, Mutex};

/// The next number for a body's `UNIQUE`.
static NEXT_UNIQUE: AtomicU64 = AtomicU64::new(0);

/// What one request came to.
enum Outcome {
    Accepted(Duration),
    Refused { took: Duration, retry_after: bool },
    OtherStatus(u16),
    TimedOut,
    Failed,
}

struct Options {
    url: hyper::Uri,
    body: String,
    authorization: Option<String>,
    rate: f64,
    duration: Duration,
    timeout: Duration,
    connections: usize,
}

fn options() -> anyhow::Result<Options> {
    let (mut url, mut body, mut authorization) = (String::new(), String::new(), None);
    let mut rate = 0.0;
    let (mut duration, mut timeout, mut connections) = (15, 10, 2048);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--url" => url = value,
            "--body" => body = value,
            "--authorization" => authorization = Some(value),
            "--rate" => rate = value.parse().context("--rate: requests a second")?,
            "--duration" => duration = value.parse().context("--duration: seconds")?,
            "--timeout" => timeout = value.parse().context("--timeout: seconds")?,
            "--connections" => connections = value.parse().context("--connections")?,
            _ => bail!("unknown flag {flag}"),
        }
    }
    if url.is_empty() || rate < 0.0 || connections == 0 {
        bail!("usage: open_loop --url URL [--body JSON] [--authorization VALUE] --rate N|0 [--duration S] [--timeout S] [--connections N]");
    }
    Ok(Options {
        url: url.parse().context("--url")?,
        body,
        authorization,
        rate,
        duration: Duration::from_secs(duration),
        timeout: Duration::from_secs(timeout),
        connections,
    })
}

/// One simulated client's connection; reconnects after a failure.
struct Connection {
    sender: Option<hyper::client::conn::http1::SendRequest<Full<Bytes>>>,
}

impl Connection {
    async fn send(&mut self, options: &Options, timeout: Duration) -> Outcome {
        let started = Instant::now();
        match tokio::time::timeout(timeout, self.exchange(options)).await {
            Ok(Ok((status, retry_after))) => {
                let took = started.elapsed();
                match status {
                    200..=299 => Outcome::Accepted(took),
                    503 | 429 => Outcome::Refused { took, retry_after },
                    other => Outcome::OtherStatus(other),
                }
            }
            Ok(Err(_)) => {
                self.sender = None;
                Outcome::Failed
            }
            Err(_) => {
                self.sender = None;
                Outcome::TimedOut
            }
        }
    }

    async fn exchange(&mut self, options: &Options) -> anyhow::Result<(u16, bool)> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let host = options.url.host().context("no host")?;
            let port = options.url.port_u16().unwrap_or(80);
            let stream = tokio::net::TcpStream::connect((host, port)).await?;
            stream.set_nodelay(true)?;
            let (sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
            tokio::spawn(connection);
            self.sender = Some(sender);
        }
        let sender = self.sender.as_mut().context("no connection")?;
        sender.ready().await?;
        let mut request = hyper::Request::post(options.url.clone())
            .header("host", options.url.authority().map_or("", |a| a.as_str()))
            .header("content-type", "application/json");
        if let Some(authorization) = &options.authorization {
            request = request.header("authorization", authorization);
        }
        // UNIQUE in the body becomes a number no other request of the run has.
        let body = if options.body.contains("UNIQUE") {
            let n = NEXT_UNIQUE.fetch_add(1, Ordering::Relaxed);
            options.body.replace("UNIQUE", &format!("{n:012}"))
        } else {
            options.body.clone()
        };
        let request = request.body(Full::new(Bytes::from(body)))?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let retry_after = response.headers().contains_key("retry-after");
        // The whole answer, as a client reads it.
        response.into_body().collect().await?;
        Ok((status, retry_after))
    }
}

/// The `p`th percentile of sorted `values`, in milliseconds (0 when there are none).
fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Arc::new(options()?);
    let start = Instant::now();
    let deadline = start + options.duration;
    // Open loop: the times requests fall due, taken by whichever client is free.
    let (due_sender, due) = mpsc::unbounded_channel::<Instant>();
    let due = Arc::new(Mutex::new(due));
    let mut clients = Vec::with_capacity(options.connections);
    for _ in 0..options.connections {
        let (options, due) = (options.clone(), due.clone());
        clients.push(tokio::spawn(async move {
            let mut connection = Connection { sender: None };
            let mut outcomes = Vec::new();
            loop {
                let outcome = if options.rate > 0.0 {
                    let Some(fell_due) = due.lock().await.recv().await else {
                        break;
                    };
                    let Some(left) = options.timeout.checked_sub(fell_due.elapsed()) else {
                        outcomes.push(Outcome::TimedOut);
                        continue;
                    };
                    match connection.send(&options, left).await {
                        // Counted from when it fell due.
                        Outcome::Accepted(_) => Outcome::Accepted(fell_due.elapsed()),
                        Outcome::Refused { retry_after, .. } => Outcome::Refused {
                            took: fell_due.elapsed(),
                            retry_after,
                        },
                        other => other,
                    }
                } else {
                    if Instant::now() >= deadline {
                        break;
                    }
                    connection.send(&options, options.timeout).await
                };
                outcomes.push(outcome);
            }
            outcomes
        }));
    }
    let mut sent: u64 = 0;
    if options.rate > 0.0 {
        let total = (options.rate * options.duration.as_secs_f64()).round() as u64;
        let interval = Duration::from_secs_f64(1.0 / options.rate);
        let mut ticker = tokio::time::interval(Duration::from_millis(1));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        while sent < total {
            ticker.tick().await;
            let elapsed = start.elapsed();
            while sent < total && interval.mul_f64(sent as f64) <= elapsed {
                due_sender.send(start + interval.mul_f64(sent as f64))?;
                sent += 1;
            }
        }
    }
    drop(due_sender);
    let sending = start.elapsed();
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    let (mut with_retry_after, mut other, mut timed_out, mut failed) = (0u64, 0u64, 0u64, 0u64);
    let mut other_statuses = BTreeMap::<u16, u64>::new();
    for client in clients {
        for outcome in client.await? {
            match outcome {
                Outcome::Accepted(took) => accepted.push(took),
                Outcome::Refused { took, retry_after } => {
                    refused.push(took);
                    with_retry_after += u64::from(retry_after);
                }
                Outcome::OtherStatus(status) => {
                    other += 1;
                    *other_statuses.entry(status).or_default() += 1;
                }
                Outcome::TimedOut => timed_out += 1,
                Outcome::Failed => failed += 1,
            }
        }
    }
    let answered = (accepted.len() + refused.len()) as u64 + other;
    if options.rate == 0.0 {
        sent = answered + timed_out + failed;
    }
    accepted.sort_unstable();
    refused.sort_unstable();
    let seconds = options.duration.as_secs_f64();
    println!(
        "{}",
        json!({
            "offeredPerSecond": options.rate,
            "connections": options.connections,
            "sent": sent,
            "sentPerSecond": (sent as f64 / sending.as_secs_f64().max(seconds)).round(),
            "acceptedPerSecond": (accepted.len() as f64 / seconds).round(),
            "accepted": accepted.len(),
            "refused": refused.len(),
            "refusedWithRetryAfter": with_retry_after,
            "otherStatus": other,
            "otherStatuses": other_statuses,
            "timedOut": timed_out,
            "failed": failed,
            "acceptedMs": {
                "p50": percentile_ms(&accepted, 50.0),
                "p99": percentile_ms(&accepted, 99.0),
                "max": percentile_ms(&accepted, 100.0),
            },
            "refusedMs": {
                "p50": percentile_ms(&refused, 50.0),
                "p99": percentile_ms(&refused, 99.0),
            },
        })
    );
    Ok(())
}
