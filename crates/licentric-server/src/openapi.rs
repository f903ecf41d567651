//! The OpenAPI document of the `/api/v1` API, generated from the handlers' annotations
//! (`#[utoipa::path]`) and the wire types, and served at `GET /api/v1/openapi.json`.

use std::sync::LazyLock;

use licentric_core::wire::ErrorEnvelope;
use utoipa::{
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};

/// The document's fixed parts; paths are added by `routes::api_router`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Licentric API",
        version = "1",
        description = "Self-hostable software licensing: products, policies, licenses, machines, entitlements, webhooks and analytics, with Ed25519-signed offline license files and validation tokens. Every non-2xx answer is {\"error\": {\"code\", \"message\", \"details\"?}}."
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "licenses", description = "Licenses, their actions, and key validation"),
        (name = "machines", description = "Machine activation, heartbeats and deactivation"),
        (name = "products"), (name = "policies"), (name = "entitlements"),
        (name = "webhooks"), (name = "api-keys"), (name = "analytics"),
        (name = "events", description = "The audit trail: who changed what, and when"),
        (name = "signing-keys", description = "The account's Ed25519 signing keys, their rotation, and the public JWKS"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key: Authorization: Bearer lk_live_… or lk_test_…",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "license_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "A license key: Authorization: License PREFIX-XXXX-XXXX-XXXX-XXXX",
            ))),
        );
    }
}

/// The error answers every authenticated endpoint can give.
#[derive(Debug, utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ErrorResponses {
    /// Malformed JSON or invalid fields; `details` names them.
    #[response(status = 400)]
    BadRequest(ErrorEnvelope),
    /// Missing or invalid credentials.
    #[response(status = 401)]
    Unauthorized(ErrorEnvelope),
    /// The API key lacks the scope.
    #[response(status = 403)]
    Forbidden(ErrorEnvelope),
    /// No such record for this account and environment.
    #[response(status = 404)]
    NotFound(ErrorEnvelope),
    /// Too many requests; see `Retry-After`.
    #[response(status = 429)]
    RateLimited(ErrorEnvelope),
    /// The server is at its bound of concurrent and queued requests and did nothing with
    /// this one (`overloaded`); retry after `Retry-After`.
    #[response(status = 503)]
    Overloaded(ErrorEnvelope),
}

/// The complete document, built once.
pub static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> =
    LazyLock::new(|| crate::routes::api_router().split_for_parts().1);
