//! `/api/v1/analytics/…`: validations per day by code, activations per day, and active
//! licenses and seats per product; and for a dashboard, the continuous per-day series,
//! seats per product and policy, and licenses about to expire.
//!
//! The first three keep their original answers (days without events left out); the
//! dashboard's routes are new, so no existing client sees a changed shape.

use axum::{extract::State, Json};
use chrono::{Duration, NaiveDate};
use licentric_core::{
    wire::{
        ActivationsOnDay, AnalyticsSeries, DataList, ExpiringLicenses, ProductUsage, SeatsReport,
        ValidationsOnDay,
    },
    Scope,
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    auth::ApiKeyAuth,
    db, domain,
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

/// Query of the analytics of now.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProductFilter {
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
        state.db.sqlite()?,
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
        state.db.sqlite()?,
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
    let data =
        db::activity::product_usage(state.db.sqlite()?, &auth.tenant, state.clock.now()).await?;
    Ok(Json(DataList { data }))
}

/// Every UTC day of the range, none missing: validations by code, activations,
/// deactivations and active machines, for a dashboard to draw as it comes.
///
/// - `validations` holds every code, `0` when none; `validationsTotal` adds them up.
/// - `deactivations` counts machines deactivated by a person, culled after missing their
///   heartbeats, or removed with their license.
/// - `activeMachines` is the number of machines activated on the product's (or account's)
///   licenses at the end of the UTC day: activated on or before that day and not
///   deactivated by its end, whatever the license's status. For today it is the count now;
///   for a day that has not begun it is `null`. It is counted back from the machines that
///   exist now through the activity log, so today's point equals the machines listed by
///   `GET /machines`.
#[utoipa::path(get, path = "/api/v1/analytics/series", tag = "analytics", params(Range),
    responses((status = 200, body = AnalyticsSeries), ErrorResponses), security(("api_key" = [])))]
pub async fn series(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<Range>,
) -> Result<Json<AnalyticsSeries>, ApiError> {
    auth.require(Scope::AnalyticsRead)?;
    let (from, to) = days(&state, &q)?;
    let series =
        domain::analytics::series(&state, &auth.tenant, from, to, q.product_id.as_deref()).await?;
    Ok(Json(series))
}

/// Seats now, per product and per policy: active licenses (status `active`, not expired),
/// the machines activated on them, and the seats they allow.
///
/// A license of a policy that is not floating allows one seat; of a floating policy, its
/// `maxMachines`. A floating policy without `maxMachines` is unlimited: its licenses add
/// no seats to `seatsAvailable`, and are counted in `unlimitedLicenses` and their machines
/// in `machinesOnUnlimited` (and in `machinesUsed`). Every product and policy is listed,
/// with zeros when it has no active license.
#[utoipa::path(get, path = "/api/v1/analytics/seats", tag = "analytics", params(ProductFilter),
    responses((status = 200, body = SeatsReport), ErrorResponses), security(("api_key" = [])))]
pub async fn seats(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ProductFilter>,
) -> Result<Json<SeatsReport>, ApiError> {
    auth.require(Scope::AnalyticsRead)?;
    let report = domain::analytics::seats(&state, &auth.tenant, q.product_id.as_deref()).await?;
    Ok(Json(report))
}

/// Active licenses (status `active`) that expire in the next 7, 30 and 90 days, counted
/// from the server's clock: each window holds the licenses whose `expiresAt` is after
/// `asOf` and no later than its `expiresBefore`, so the 30-day window includes the 7-day
/// one.
///
/// To list a window's licenses, soonest first: `GET /api/v1/licenses?status=active&expiresBefore={expiresBefore}&sort=expiresAt`
/// (`licenses:read`).
#[utoipa::path(get, path = "/api/v1/analytics/expiring", tag = "analytics", params(ProductFilter),
    responses((status = 200, body = ExpiringLicenses), ErrorResponses), security(("api_key" = [])))]
pub async fn expiring(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ProductFilter>,
) -> Result<Json<ExpiringLicenses>, ApiError> {
    auth.require(Scope::AnalyticsRead)?;
    let report = domain::analytics::expiring(&state, &auth.tenant, q.product_id.as_deref()).await?;
    Ok(Json(report))
}
