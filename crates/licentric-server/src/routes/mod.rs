//! The HTTP API, one file per area.

pub mod health;
pub mod licenses;

use axum::{
    routing::{get, post},
    Router,
};

use crate::AppState;

/// Every route of the server.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health::health))
        .route("/api/v1/health", get(health::health))
        .route(
            "/api/v1/licenses/validate-key",
            post(licenses::validate_key),
        )
}
