//! Admission: a bound on the requests the server works on at once and on those waiting
//! for a turn. Beyond both, a request is refused at once with 503 `overloaded` and
//! `Retry-After`, before anything is read or written, so a client is told the truth
//! quickly instead of waiting into its own time-out; retrying it later is always safe.
//!
//! A request waits at most [`Admission::queue_wait`] for a turn: latency stays bounded
//! however far the offered load exceeds what the machine can serve.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{extract::Request, middleware::Next, response::Response};
use tokio::sync::Semaphore;

use crate::ApiError;

/// The bounds, from the `serve` flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// Requests worked on at once.
    pub max_in_flight: usize,
    /// Requests waiting for a turn; one more is refused at once.
    pub max_queued: usize,
    /// How long a request may wait for a turn before it is refused.
    pub queue_wait: Duration,
    /// The `Retry-After` a refused request is given.
    pub retry_after: Duration,
}

impl Default for Admission {
    fn default() -> Self {
        Self {
            max_in_flight: 256,
            max_queued: 1024,
            queue_wait: Duration::from_millis(500),
            retry_after: Duration::from_secs(1),
        }
    }
}

/// The running gate: turns to work and the count of those waiting for one.
#[derive(Debug)]
pub struct Gate {
    bounds: Admission,
    turns: Semaphore,
    waiting: AtomicUsize,
}

impl Gate {
    /// A gate with these bounds.
    pub fn new(bounds: Admission) -> Arc<Self> {
        Arc::new(Self {
            turns: Semaphore::new(bounds.max_in_flight.max(1)),
            waiting: AtomicUsize::new(0),
            bounds,
        })
    }

    fn refuse(&self) -> ApiError {
        ApiError::Overloaded {
            retry_after_secs: self.bounds.retry_after.as_secs().max(1),
        }
    }
}

/// Middleware: runs the request when it gets a turn, else answers 503 `overloaded`.
pub async fn admit(
    axum::extract::State(gate): axum::extract::State<Arc<Gate>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    // Health checks are answered whatever the load: a busy server is alive.
    if matches!(request.uri().path(), "/health" | "/api/v1/health") {
        return Ok(next.run(request).await);
    }
    let turn = match gate.turns.try_acquire() {
        Ok(turn) => turn,
        Err(_) => {
            if gate.waiting.fetch_add(1, Ordering::AcqRel) >= gate.bounds.max_queued {
                gate.waiting.fetch_sub(1, Ordering::AcqRel);
                return Err(gate.refuse());
            }
            let waited = tokio::time::timeout(gate.bounds.queue_wait, gate.turns.acquire()).await;
            gate.waiting.fetch_sub(1, Ordering::AcqRel);
            match waited {
                Ok(Ok(turn)) => turn,
                _ => return Err(gate.refuse()),
            }
        }
    };
    let response = next.run(request).await;
    drop(turn);
    Ok(response)
}
