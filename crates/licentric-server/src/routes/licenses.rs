//! `/api/v1/licenses`: management (API key), the license's own view (license key), and
//! `validate-key` (no authentication).

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Extension, Json,
};
use licentric_core::{
    wire::{
        EntitlementCodes, License, LicenseOverview, LicenseUpdate, NewLicense, Page,
        ValidateKeyRequest, ValidationResult,
    },
    LicenseStatus, Nonce, Scope, ValidationCode,
};
use serde::Deserialize;
use utoipa::IntoParams;

use super::Created;
use crate::{
    auth::{ApiKeyAuth, Caller, LicenseAuth},
    db,
    domain::{licenses, machines, validation, Actor},
    extract::ApiJson,
    openapi::ErrorResponses,
    params::{ApiQuery, Paging, Problems},
    rate_limit, ApiError, AppState,
};

/// Longest key accepted before it is refused as bad input rather than looked up.
const MAX_KEY_LEN: usize = 128;
/// Query of `GET /licenses`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListLicenses {
    /// Only this product's licenses.
    product_id: Option<String>,
    /// Only this policy's licenses.
    policy_id: Option<String>,
    /// Only licenses with this status.
    status: Option<LicenseStatus>,
    /// Page size, 1–100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Records to skip.
    #[param(minimum = 0, maximum = 2147483647)]
    offset: Option<u32>,
    /// `createdAt`, `updatedAt`, `expiresAt`, `name` or `status`; prefix `-` for descending.
    #[param(pattern = "^-?(createdAt|updatedAt|expiresAt|name|status)$")]
    sort: Option<String>,
}

/// Lists licenses.
#[utoipa::path(get, path = "/api/v1/licenses", tag = "licenses", params(ListLicenses),
    responses((status = 200, body = Page<License>), ErrorResponses), security(("api_key" = [])))]
pub async fn list(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListLicenses>,
) -> Result<Json<Page<License>>, ApiError> {
    auth.require(Scope::LicensesRead)?;
    let page = Paging::from_query(q.limit, q.offset, q.sort).page(db::licenses::SORTABLE)?;
    let filters = db::licenses::Filters {
        product_id: q.product_id.as_deref(),
        policy_id: q.policy_id.as_deref(),
        status: q.status,
    };
    let (records, total) = db::licenses::list(&state.db, &auth.tenant, &filters, &page).await?;
    let mut data = Vec::with_capacity(records.len());
    for record in records {
        data.push(licenses::wire(&state, record).await?);
    }
    Ok(Json(page.wrap(data, total)))
}

/// Creates a license; its key is generated with the product's prefix unless given.
#[utoipa::path(post, path = "/api/v1/licenses", tag = "licenses", request_body = NewLicense,
    responses((status = 201, body = License), (status = 409, body = licentric_core::wire::ErrorEnvelope), ErrorResponses),
    security(("api_key" = [])))]
pub async fn create(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewLicense>,
) -> Result<Created<License>, ApiError> {
    auth.require(Scope::LicensesWrite)?;
    let license = licenses::create(&state, &auth.tenant, &auth.actor, body).await?;
    Ok((StatusCode::CREATED, Json(license)))
}

/// Retrieves a license. With a license key, only its own.
#[utoipa::path(get, path = "/api/v1/licenses/{id}", tag = "licenses", params(("id" = String, Path)),
    responses((status = 200, body = License), ErrorResponses), security(("api_key" = []), ("license_key" = [])))]
pub async fn get(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<License>, ApiError> {
    match &caller {
        Caller::ApiKey(auth) => auth.require(Scope::LicensesRead)?,
        Caller::License(auth) if auth.license_id != id => {
            return Err(ApiError::not_found("license"))
        }
        Caller::License(_) => {}
    }
    let record = licenses::load(&state, caller.tenant(), &id).await?;
    Ok(Json(licenses::wire(&state, record).await?))
}

/// Updates a license's name, expiry, metadata, policy or use count.
#[utoipa::path(patch, path = "/api/v1/licenses/{id}", tag = "licenses", params(("id" = String, Path)), request_body = LicenseUpdate,
    responses((status = 200, body = License), ErrorResponses), security(("api_key" = [])))]
pub async fn update(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<LicenseUpdate>,
) -> Result<Json<License>, ApiError> {
    auth.require(Scope::LicensesWrite)?;
    let license = licenses::update(&state, &auth.tenant, &auth.actor, &id, body).await?;
    Ok(Json(license))
}

/// Deletes a license and its machines.
#[utoipa::path(delete, path = "/api/v1/licenses/{id}", tag = "licenses", params(("id" = String, Path)),
    responses((status = 204), ErrorResponses), security(("api_key" = [])))]
pub async fn delete(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    auth.require(Scope::LicensesWrite)?;
    licenses::delete(&state, &auth.tenant, &auth.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Suspends an active license: validations answer `SUSPENDED` until it is reinstated.
#[utoipa::path(post, path = "/api/v1/licenses/{id}/suspend", tag = "licenses", params(("id" = String, Path)),
    responses((status = 200, body = License), (status = 409, body = licentric_core::wire::ErrorEnvelope), ErrorResponses), security(("api_key" = [])))]
pub async fn suspend(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<License>, ApiError> {
    auth.require(Scope::LicensesWrite)?;
    let license =
        licenses::transition(&state, &auth.tenant, &auth.actor, &id, licenses::SUSPEND).await?;
    Ok(Json(license))
}

/// Reinstates a suspended license.
#[utoipa::path(post, path = "/api/v1/licenses/{id}/reinstate", tag = "licenses", params(("id" = String, Path)),
    responses((status = 200, body = License), (status = 409, body = licentric_core::wire::ErrorEnvelope), ErrorResponses), security(("api_key" = [])))]
pub async fn reinstate(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<License>, ApiError> {
    auth.require(Scope::LicensesWrite)?;
    let license =
        licenses::transition(&state, &auth.tenant, &auth.actor, &id, licenses::REINSTATE).await?;
    Ok(Json(license))
}

/// Revokes a license for good.
#[utoipa::path(post, path = "/api/v1/licenses/{id}/revoke", tag = "licenses", params(("id" = String, Path)),
    responses((status = 200, body = License), (status = 409, body = licentric_core::wire::ErrorEnvelope), ErrorResponses), security(("api_key" = [])))]
pub async fn revoke(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<License>, ApiError> {
    auth.require(Scope::LicensesWrite)?;
    let license =
        licenses::transition(&state, &auth.tenant, &auth.actor, &id, licenses::REVOKE).await?;
    Ok(Json(license))
}

/// Bans a license for abuse.
#[utoipa::path(post, path = "/api/v1/licenses/{id}/ban", tag = "licenses", params(("id" = String, Path)),
    responses((status = 200, body = License), (status = 409, body = licentric_core::wire::ErrorEnvelope), ErrorResponses), security(("api_key" = [])))]
pub async fn ban(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<License>, ApiError> {
    auth.require(Scope::LicensesWrite)?;
    let license =
        licenses::transition(&state, &auth.tenant, &auth.actor, &id, licenses::BAN).await?;
    Ok(Json(license))
}

/// Renews a license by its policy's duration, from its expiry or from now if it has lapsed.
#[utoipa::path(post, path = "/api/v1/licenses/{id}/renew", tag = "licenses", params(("id" = String, Path)),
    responses((status = 200, body = License), (status = 409, body = licentric_core::wire::ErrorEnvelope), ErrorResponses), security(("api_key" = [])))]
pub async fn renew(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<License>, ApiError> {
    auth.require(Scope::LicensesWrite)?;
    let license = licenses::renew(&state, &auth.tenant, &auth.actor, &id).await?;
    Ok(Json(license))
}

/// Gives a license entitlements beyond its policy's.
#[utoipa::path(post, path = "/api/v1/licenses/{id}/entitlements", tag = "licenses", params(("id" = String, Path)),
    request_body = EntitlementCodes, responses((status = 200, body = License), ErrorResponses), security(("api_key" = [])))]
pub async fn attach_entitlements(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EntitlementCodes>,
) -> Result<Json<License>, ApiError> {
    auth.require(Scope::LicensesWrite)?;
    let license =
        licenses::attach_entitlements(&state, &auth.tenant, &auth.actor, &id, &body.entitlements)
            .await?;
    Ok(Json(license))
}

/// Takes an entitlement from a license (its policy's entitlements stay).
#[utoipa::path(delete, path = "/api/v1/licenses/{id}/entitlements/{code}", tag = "licenses",
    params(("id" = String, Path), ("code" = String, Path)), responses((status = 200, body = License), ErrorResponses), security(("api_key" = [])))]
pub async fn detach_entitlement(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path((id, code)): Path<(String, String)>,
) -> Result<Json<License>, ApiError> {
    auth.require(Scope::LicensesWrite)?;
    let license =
        licenses::detach_entitlement(&state, &auth.tenant, &auth.actor, &id, code).await?;
    Ok(Json(license))
}

/// The license of the key in the `Authorization` header, with its machines and limits:
/// what an end user's machine-slots view shows.
#[utoipa::path(get, path = "/api/v1/licenses/me", tag = "licenses",
    responses((status = 200, body = LicenseOverview), ErrorResponses), security(("license_key" = [])))]
pub async fn me(
    auth: LicenseAuth,
    State(state): State<AppState>,
) -> Result<Json<LicenseOverview>, ApiError> {
    let overview = licenses::overview(&state, &auth.tenant, &auth.actor, &auth.license_id).await?;
    Ok(Json(overview))
}

/// Validates a license key. No authentication: the key in the body is the credential.
///
/// Always 200 for a well-formed request, whatever the outcome: a key that does not exist
/// is `{"valid": false, "code": "NOT_FOUND"}`, not a 404. Every validation of an existing
/// license counts towards its policy's `maxUses`. When several codes apply, the first of
/// NOT_FOUND, BANNED, REVOKED, SUSPENDED, EXPIRED, USES_EXCEEDED, ENTITLEMENTS_MISSING,
/// FINGERPRINT_NOT_FOUND, HEARTBEAT_REQUIRED, MACHINE_LIMIT_EXCEEDED is reported.
///
/// Every answer carries `serverTime`; a `VALID` answer for a fingerprint also carries a
/// `token`, an EdDSA-signed JWT the machine can check offline against the account's JWKS
/// (it lasts the policy's `offlineMaxDays`, never past the license's expiry). A request's
/// `nonce` is signed into the token's `nonce` claim, so the client can tell this answer
/// from a replayed one; a malformed nonce is a 400 naming `nonce`.
#[utoipa::path(post, path = "/api/v1/licenses/validate-key", tag = "licenses", request_body = ValidateKeyRequest,
    responses((status = 200, body = ValidationResult), (status = 400, body = licentric_core::wire::ErrorEnvelope),
              (status = 429, body = licentric_core::wire::ErrorEnvelope)), security(()))]
pub async fn validate_key(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(request): ApiJson<ValidateKeyRequest>,
) -> Result<Response, ApiError> {
    let nonce = check_request(&request)?;
    let question = validation::Question {
        fingerprint: request.fingerprint,
        entitlements: request.entitlements.unwrap_or_default(),
    };
    match validation::validate_key(&state, &actor, &request.key, &question, nonce.as_ref()).await? {
        Some(result) => Ok(Json(result).into_response()),
        None => {
            // A key that does not exist is a failed guess: the rate limiter counts it
            // against the client's address like a bad credential.
            let not_found = Json(ValidationResult {
                valid: false,
                code: ValidationCode::NotFound,
                license: None,
                machine: None,
                entitlements: vec![],
                server_time: Some(state.clock.now()),
                token: None,
            });
            Ok((Extension(rate_limit::FailedAuthentication), not_found).into_response())
        }
    }
}

/// Checks the request's fields; answers its nonce, when it sent one.
fn check_request(request: &ValidateKeyRequest) -> Result<Option<Nonce>, ApiError> {
    let mut problems = Problems::default();
    let key = request.key.trim();
    if key.is_empty() {
        problems.add("key", "is required");
    } else if key.len() > MAX_KEY_LEN {
        problems.add("key", format!("must be at most {MAX_KEY_LEN} characters"));
    }
    if let Some(fingerprint) = &request.fingerprint {
        machines::check_fingerprint(&mut problems, fingerprint);
    }
    if let Some(entitlements) = &request.entitlements {
        if entitlements.len() > 100 {
            problems.add("entitlements", "must list at most 100 codes");
        }
    }
    let nonce = request.nonce.as_deref().and_then(|text| {
        Nonce::parse(text)
            .map_err(|_| {
                problems.add(
                    "nonce",
                    format!(
                        "must be {} to {} characters of A-Z, a-z, 0-9, '-' or '_' (base64url or hex)",
                        Nonce::MIN_LEN,
                        Nonce::MAX_LEN
                    ),
                )
            })
            .ok()
    });
    problems.finish()?;
    Ok(nonce)
}
