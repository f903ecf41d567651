//! What every request handler can reach.

use std::sync::Arc;

use licentric_core::Clock;
use sqlx::SqlitePool;

/// Shared state of a running server. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub db: SqlitePool,
    /// Where "now" comes from; tests move it.
    pub clock: Arc<dyn Clock>,
}
