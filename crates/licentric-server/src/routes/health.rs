//! `GET /health`: is the server up, and what time does it think it is.

use axum::{extract::State, Json};
use serde_json::{json, Value};

use crate::{ApiError, AppState};

/// Answers 200 with the server's version, time and database (`sqlite` or `postgresql`)
/// once the database answers too.
pub async fn health(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.db.ping().await?;
    Ok(Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "time": state.clock.now(),
        "database": state.db.kind(),
    })))
}
