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

use std::future::Future;

use axum::{
    body::{Body, Bytes},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{openapi, params::Cursor, ApiError, AppState};

/// A 201 with the created record.
pub type Created<T> = (StatusCode, Json<T>);

/// A CSV download streamed in chunks, in constant memory. `chunk` gets the writer (which
/// keeps its state, such as whether the header is out) and the cursor of the chunk
/// before (`None` for the first), and answers the writer, the chunk's bytes and the next
/// cursor (`None` after the last chunk).
pub fn csv_download<W, F, Fut>(filename: &str, writer: W, chunk: F) -> Response
where
    W: Send + 'static,
    F: Fn(W, Option<Cursor>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(W, Vec<u8>, Option<Cursor>), ApiError>> + Send + 'static,
{
    let chunks = futures_util::stream::try_unfold(
        (Some(writer), None::<Cursor>),
        move |(writer, cursor)| {
            let next = writer.map(|writer| chunk(writer, cursor));
            async move {
                let Some(next) = next else {
                    return Ok::<_, std::io::Error>(None);
                };
                let (writer, bytes, cursor) = next.await.map_err(std::io::Error::other)?;
                // After the last chunk the writer is dropped, which ends the stream.
                let writer = cursor.is_some().then_some(writer);
                Ok(Some((Bytes::from(bytes), (writer, cursor))))
            }
        },
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        Body::from_stream(chunks),
    )
        .into_response()
}

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
        .routes(routes!(events::export_csv))
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
