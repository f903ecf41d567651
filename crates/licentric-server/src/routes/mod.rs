//! The HTTP API, one file per area. Every handler carries its OpenAPI description.

pub mod analytics;
pub mod api_keys;
pub mod entitlements;
pub mod events;
pub mod health;
pub mod licenses;
pub mod machines;
pub mod offline;
pub mod policies;
pub mod products;
pub mod signing_keys;
pub mod webhooks;

use axum::{http::StatusCode, routing::get, Json, Router};
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{openapi, AppState};

/// A 201 with the created record.
pub type Created<T> = (StatusCode, Json<T>);

/// Every `/api/v1` route, with its OpenAPI description.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(licenses::validate_key))
        .routes(routes!(licenses::me))
        .routes(routes!(licenses::list, licenses::create))
        .routes(routes!(licenses::bulk_issue))
        .routes(routes!(licenses::act))
        .routes(routes!(licenses::import))
        .routes(routes!(licenses::export_csv))
        .routes(routes!(licenses::diagnose))
        .routes(routes!(licenses::get, licenses::update, licenses::delete))
        .routes(routes!(licenses::suspend))
        .routes(routes!(licenses::reinstate))
        .routes(routes!(licenses::revoke))
        .routes(routes!(licenses::ban))
        .routes(routes!(licenses::renew))
        .routes(routes!(licenses::attach_entitlements))
        .routes(routes!(licenses::detach_entitlement))
        .routes(routes!(offline::offline_file))
        .routes(routes!(offline::checkout))
        .routes(routes!(offline::offline_activation))
        .routes(routes!(machines::list, machines::activate))
        .routes(routes!(machines::export_csv))
        .routes(routes!(machines::get, machines::deactivate))
        .routes(routes!(machines::heartbeat))
        .routes(routes!(products::list, products::create))
        .routes(routes!(products::get, products::update, products::delete))
        .routes(routes!(policies::list, policies::create))
        .routes(routes!(policies::get, policies::update, policies::delete))
        .routes(routes!(entitlements::list, entitlements::create))
        .routes(routes!(
            entitlements::get,
            entitlements::update,
            entitlements::delete
        ))
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(webhooks::get, webhooks::update, webhooks::delete))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::test))
        .routes(routes!(webhooks::redeliver))
        .routes(routes!(api_keys::me))
        .routes(routes!(api_keys::list, api_keys::create))
        .routes(routes!(api_keys::get, api_keys::revoke))
        .routes(routes!(api_keys::rotate))
        .routes(routes!(events::list))
        .routes(routes!(analytics::validations))
        .routes(routes!(analytics::activations))
        .routes(routes!(analytics::usage))
        .routes(routes!(analytics::series))
        .routes(routes!(analytics::seats))
        .routes(routes!(analytics::expiring))
        .routes(routes!(signing_keys::list))
        .routes(routes!(signing_keys::rotate))
        .routes(routes!(signing_keys::jwks))
}

/// The rate-limited API.
pub fn router() -> Router<AppState> {
    api_router().split_for_parts().0
}

/// Routes outside the rate limits: health checks and the API description.
pub fn unlimited() -> Router<AppState> {
    Router::new()
        .route("/health", get(health::health))
        .route("/api/v1/health", get(health::health))
        .route(
            "/api/v1/openapi.json",
            get(|| async { Json(&*openapi::DOCUMENT) }),
        )
}
