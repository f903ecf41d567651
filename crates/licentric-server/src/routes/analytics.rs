//! `/api/v1/analytics/…`: validations per day by code, activations per day, and active
//! licenses and seats per product.

use axum::{extract::State, Json};
use chrono::{Duration, NaiveDate};
use licentric_core::{
    wire::{ActivationsOnDay, DataList, ProductUsage, ValidationsOnDay},
    Scope,
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    auth::ApiKeyAuth,
    db,
    openapi::ErrorResponses,
    params::{ApiQuery, Problems},
    ApiError, AppState,
};

/// The longest range one query may cover.
const MAX_DAYS: i64 = 366;

/// Query of the per-day analytics.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Range {
    /// First UTC day, `YYYY-MM-DD` (default: 29 days before `to`).
    #[param(format = Date)]
    from: Option<String>,
    /// Last UTC day, `YYYY-MM-DD` (default: today).
    #[param(format = Date)]
    to: Option<String>,
    /// Only this product.
    product_id: Option<String>,
}

fn days(state: &AppState, range: &Range) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let mut problems = Problems::default();
    let mut parse = |field: &str, value: &Option<String>| {
        value
            .as_deref()
            .and_then(|v| match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
                Ok(day) => Some(day),
                Err(_) => {
                    problems.add(field, "must be a day as YYYY-MM-DD");
                    None
                }
            })
    };
    let to = parse("to", &range.to).unwrap_or_else(|| state.clock.now().date_naive());
    let from = parse("from", &range.from).unwrap_or(to - Duration::days(29));
    if from > to {
        problems.add("from", "must not be after to");
    } else if (to - from).num_days() >= MAX_DAYS {
        problems.add("from", format!("the range must be at most {MAX_DAYS} days"));
    }
    problems.finish()?;
    Ok((from, to))
}

/// Validations per UTC day and outcome code.
#[utoipa::path(get, path = "/api/v1/analytics/validations", tag = "analytics", params(Range),
    responses((status = 200, body = DataList<ValidationsOnDay>), ErrorResponses), security(("api_key" = [])))]
pub async fn validations(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<Range>,
) -> Result<Json<DataList<ValidationsOnDay>>, ApiError> {
    auth.require(Scope::AnalyticsRead)?;
    let (from, to) = days(&state, &q)?;
    let data = db::activity::validations_by_day(
        &state.db,
        &auth.tenant,
        from,
        to,
        q.product_id.as_deref(),
    )
    .await?;
    Ok(Json(DataList { data }))
}

/// Machine activations and deactivations per UTC day.
#[utoipa::path(get, path = "/api/v1/analytics/activations", tag = "analytics", params(Range),
    responses((status = 200, body = DataList<ActivationsOnDay>), ErrorResponses), security(("api_key" = [])))]
pub async fn activations(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<Range>,
) -> Result<Json<DataList<ActivationsOnDay>>, ApiError> {
    auth.require(Scope::AnalyticsRead)?;
    let (from, to) = days(&state, &q)?;
    let data = db::activity::activations_by_day(
        &state.db,
        &auth.tenant,
        from,
        to,
        q.product_id.as_deref(),
    )
    .await?;
    Ok(Json(DataList { data }))
}

/// Active (unexpired) licenses and seats used, per product, now.
#[utoipa::path(get, path = "/api/v1/analytics/usage", tag = "analytics",
    responses((status = 200, body = DataList<ProductUsage>), ErrorResponses), security(("api_key" = [])))]
pub async fn usage(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
) -> Result<Json<DataList<ProductUsage>>, ApiError> {
    auth.require(Scope::AnalyticsRead)?;
    let data = db::activity::product_usage(&state.db, &auth.tenant, state.clock.now()).await?;
    Ok(Json(DataList { data }))
}
