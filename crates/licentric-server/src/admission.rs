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

use tokio::sync::{Semaphore, SemaphorePermit};

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

impl Gate {
    /// Waits for a turn to work on a request to `path`, or refuses it with 503
    /// `overloaded` when the queue is full or the wait too long. Health checks need no
    /// turn (`None`): a busy server is alive. The request holds the turn until its answer
    /// is ready ([`crate::guards::Guards`] drops it then).
    pub async fn enter(&self, path: &str) -> Result<Option<SemaphorePermit<'_>>, ApiError> {
        if matches!(path, "/health" | "/api/v1/health") {
            return Ok(None);
        }
        if let Ok(turn) = self.turns.try_acquire() {
            return Ok(Some(turn));
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.bounds.max_queued {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(self.refuse());
        }
        let waited = tokio::time::timeout(self.bounds.queue_wait, self.turns.acquire()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        match waited {
            Ok(Ok(turn)) => Ok(Some(turn)),
            _ => Err(self.refuse()),
        }
    }
}
