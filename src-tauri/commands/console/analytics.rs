//! The dashboard's figures: daily series, seats and licenses expiring soon.

use licentric_core::wire::{AnalyticsSeries, ExpiringLicenses, SeatsReport};
use serde::Deserialize;
use tauri::State;

use super::run;
use crate::{error::Error, state::AppState};

/// Which days and product the dashboard shows.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct AnalyticsQuery {
    /// First day, `YYYY-MM-DD` (default: 30 days ago).
    #[serde(default)]
    #[cfg_attr(test, ts(optional))]
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (default: today).
    #[serde(default)]
    #[cfg_attr(test, ts(optional))]
    pub to: Option<String>,
    /// One product, or all.
    #[serde(default)]
    #[cfg_attr(test, ts(optional))]
    pub product_id: Option<String>,
}

/// Every day's validations by code, activations, deactivations and active machines.
#[tauri::command]
pub async fn analytics_series(
    state: State<'_, AppState>,
    query: AnalyticsQuery,
) -> Result<AnalyticsSeries, Error> {
    run(&state, "analytics_series", |api| async move {
        api.analytics_series(
            query.from.as_deref(),
            query.to.as_deref(),
            query.product_id.as_deref(),
        )
        .await
    })
    .await
}

/// Seats in use per product and policy.
#[tauri::command]
pub async fn analytics_seats(
    state: State<'_, AppState>,
    product_id: Option<String>,
) -> Result<SeatsReport, Error> {
    run(&state, "analytics_seats", |api| async move {
        api.seats(product_id.as_deref()).await
    })
    .await
}

/// Active licenses expiring in the next 7, 30 and 90 days.
#[tauri::command]
pub async fn analytics_expiring(
    state: State<'_, AppState>,
    product_id: Option<String>,
) -> Result<ExpiringLicenses, Error> {
    run(&state, "analytics_expiring", |api| async move {
        api.expiring_licenses(product_id.as_deref()).await
    })
    .await
}
