//! `/api/v1/signing-keys`: the caller's account's signing keys (list, rotate), and the
//! public key set of any account at `/api/v1/accounts/{accountId}/jwks.json`.

use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::IntoResponse,
    Json,
};
use licentric_core::{
    wire::{DataList, ErrorEnvelope, SigningKey},
    Environment, Scope,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::Created;
use crate::{
    auth::ApiKeyAuth, db, domain::audit, openapi::ErrorResponses, params::ApiQuery, signing,
    tenant::Tenant, ApiError, AppState,
};

/// Lists the account's signing keys in the key's environment, newest first: the active
/// one and those retired by rotation. Only public halves.
#[utoipa::path(get, path = "/api/v1/signing-keys", tag = "signing-keys",
    responses((status = 200, body = DataList<SigningKey>), ErrorResponses), security(("api_key" = [])))]
pub async fn list(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
) -> Result<Json<DataList<SigningKey>>, ApiError> {
    auth.require(Scope::ProductsRead)?;
    let data = signing::list(
        state.db.sqlite()?,
        &state.settings.secret,
        &auth.tenant,
        state.clock.now(),
    )
    .await?;
    Ok(Json(DataList { data }))
}

/// Rotates the signing key of the key's environment: a new key signs from now on, the
/// old one is retired. Files and tokens it signed stay verifiable, because the JWKS
/// keeps publishing retired keys; applications that pin a single key need the new one
/// (every product's `signingKey` shows it).
#[utoipa::path(post, path = "/api/v1/signing-keys/rotate", tag = "signing-keys",
    responses((status = 201, body = SigningKey), ErrorResponses), security(("api_key" = [])))]
pub async fn rotate(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
) -> Result<Created<SigningKey>, ApiError> {
    auth.require(Scope::ProductsWrite)?;
    let key = signing::rotate(
        state.db.sqlite()?,
        &state.settings.secret,
        &auth.tenant,
        state.clock.now(),
    )
    .await?;
    let resource = ("signing_key", key.key_id.as_str());
    audit::wrote(
        &state,
        &auth.tenant,
        &auth.actor,
        "signing_key.rotated",
        resource,
        None,
        Some(&key),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(key)))
}

/// Query of the JWKS.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JwksQuery {
    /// Whose keys: `live` (default) or `test` data's.
    environment: Option<Environment>,
}

/// A JSON Web Key Set (RFC 7517 §5) of Ed25519 keys (RFC 8037).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct JwksDocument {
    /// The keys, current and retired.
    keys: Vec<JwkDocument>,
}

/// One Ed25519 public key as a JWK.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct JwkDocument {
    /// Always `OKP`.
    #[schema(example = "OKP")]
    kty: String,
    /// Always `Ed25519`.
    #[schema(example = "Ed25519")]
    crv: String,
    /// The public key: unpadded base64url of its 32 bytes.
    x: String,
    /// The key id that files and tokens signed with it carry.
    kid: String,
    /// Always `EdDSA`.
    #[schema(example = "EdDSA")]
    alg: String,
    /// Always `sig`.
    #[serde(rename = "use")]
    #[schema(example = "sig")]
    r#use: String,
}

/// The account's public signing keys, current and retired, as a standard JWKS: what any
/// JWT library needs to verify validation tokens, and any Ed25519 library to verify
/// offline license files. Public: no credentials, limited like other anonymous calls.
#[utoipa::path(get, path = "/api/v1/accounts/{accountId}/jwks.json", tag = "signing-keys",
    params(("accountId" = String, Path, description = "The account's id"), JwksQuery),
    responses((status = 200, body = JwksDocument, headers(("Cache-Control" = String))),
              (status = 400, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope)),
    security(()))]
pub async fn jwks(
    State(state): State<AppState>,
    Path(account_id): Path<String>,
    ApiQuery(q): ApiQuery<JwksQuery>,
) -> Result<impl IntoResponse, ApiError> {
    if !db::accounts::exists(&state.db, &account_id).await? {
        return Err(ApiError::NotFound(
            "No account with this id. The id is in the product's signingKey.jwksUrl, and in the answer of `licentric-server init`.".into(),
        ));
    }
    let tenant = Tenant {
        account_id,
        environment: q.environment.unwrap_or(Environment::Live),
    };
    let keys = signing::key_set(
        state.db.sqlite()?,
        &state.settings.secret,
        &tenant,
        state.clock.now(),
    )
    .await?;
    // Short enough that a rotation reaches clients within minutes; a client meeting an
    // unknown key id should fetch again anyway.
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(keys.to_jwks()),
    ))
}
