//! `/api/v1/licenses`: management (API key), the license's own view (license key), and
//! `validate-key` (no authentication).

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Extension, Json,
};
use chrono::Duration;
use licentric_core::{
    evaluate,
    wire::{
        EntitlementCodes, License, LicenseOverview, LicenseSummary, LicenseUpdate, NewLicense,
        Page, ValidateKeyRequest, ValidationResult,
    },
    FingerprintCheck, KeyPrefix, LicenseFacts, LicenseKey, LicenseStatus, Nonce, Scope,
    ValidationCode,
};
use rand::rngs::OsRng;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{machines, Created};
use crate::{
    auth::{ApiKeyAuth, Caller, LicenseAuth},
    db::{self, activity::Kind, licenses::LicenseRecord, machines::HeartbeatRule},
    events,
    extract::ApiJson,
    issuance,
    openapi::ErrorResponses,
    params::{ApiQuery, Paging, Problems},
    rate_limit,
    tenant::Tenant,
    ApiError, AppState,
};

/// Longest key accepted before it is refused as bad input rather than looked up.
const MAX_KEY_LEN: usize = 128;
/// Largest metadata object, serialised.
const MAX_METADATA_BYTES: usize = 16 * 1024;

async fn load(state: &AppState, tenant: &Tenant, id: &str) -> Result<LicenseRecord, ApiError> {
    db::licenses::get(&state.db, tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("license"))
}

async fn wire(state: &AppState, record: LicenseRecord) -> Result<License, ApiError> {
    let codes =
        db::entitlements::codes_of_license(&state.db, &record.id, &record.policy_id).await?;
    Ok(record.into_wire(codes)?)
}

async fn emit(
    state: &AppState,
    tenant: &Tenant,
    event: &str,
    license: &License,
) -> Result<(), ApiError> {
    let mut data = serde_json::to_value(license).map_err(|e| ApiError::Internal(e.into()))?;
    // The key is the customer's secret: webhook receivers get the id.
    if let Some(object) = data.as_object_mut() {
        object.remove("key");
    }
    events::emit(state, tenant, event, json!({ "license": data })).await
}

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
        data.push(wire(&state, record).await?);
    }
    Ok(Json(page.wrap(data, total)))
}

fn check_metadata(
    problems: &mut Problems,
    metadata: &serde_json::Map<String, serde_json::Value>,
) -> String {
    let text = serde_json::Value::Object(metadata.clone()).to_string();
    if text.len() > MAX_METADATA_BYTES {
        problems.add(
            "metadata",
            format!("must be at most {MAX_METADATA_BYTES} bytes of JSON"),
        );
    }
    text
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
    let mut problems = Problems::default();
    let policy = db::policies::get(&state.db, &auth.tenant, &body.policy_id).await?;
    if policy.is_none() {
        problems.add(
            "policyId",
            "no policy with this id in this account and environment",
        );
    }
    let name = body.name.as_deref().map(|n| problems.text("name", n, 200));
    let metadata = check_metadata(&mut problems, &body.metadata.unwrap_or_default());
    let custom_key = match body.key.as_deref().map(LicenseKey::parse) {
        Some(Ok(key)) => Some(key),
        Some(Err(error)) => {
            problems.add("key", error.to_string());
            None
        }
        None => None,
    };
    for code in &body.entitlements {
        problems.entitlement_code("entitlements", code);
    }
    let (entitlement_ids, missing) =
        db::entitlements::resolve(&state.db, &auth.tenant, &body.entitlements).await?;
    if !missing.is_empty() {
        problems.add(
            "entitlements",
            format!(
                "no entitlement with code {}; create it first",
                missing.join(", ")
            ),
        );
    }
    problems.finish()?;
    let Some(policy) = policy else {
        return Err(ApiError::not_found("policy"));
    };
    let product = db::products::get(&state.db, &auth.tenant, &policy.product_id)
        .await?
        .ok_or_else(|| ApiError::not_found("product"))?;

    let now = state.clock.now();
    let expires_at = match body.expires_at {
        Some(explicit) => explicit,
        None => policy
            .duration
            .map(|secs| now + Duration::seconds(i64::from(secs))),
    };
    let id = Uuid::new_v4().to_string();
    let inserted = match custom_key {
        Some(key) => {
            insert(
                &state,
                &auth.tenant,
                &id,
                &policy,
                key.as_str(),
                name.as_deref(),
                expires_at,
                &metadata,
            )
            .await?
        }
        None => {
            let prefix =
                KeyPrefix::parse(&product.key_prefix).map_err(|e| ApiError::Internal(e.into()))?;
            let mut inserted = false;
            // 80 random bits: a collision is astronomically rare, but never fatal.
            for _ in 0..5 {
                let key = LicenseKey::generate(&prefix, &mut OsRng);
                if insert(
                    &state,
                    &auth.tenant,
                    &id,
                    &policy,
                    key.as_str(),
                    name.as_deref(),
                    expires_at,
                    &metadata,
                )
                .await?
                {
                    inserted = true;
                    break;
                }
            }
            inserted
        }
    };
    if !inserted {
        return Err(ApiError::conflict("key_in_use", "A license with this key already exists. Choose another key, or leave key out to have one generated."));
    }
    db::entitlements::attach_to_license(&state.db, &id, &entitlement_ids).await?;
    let license = wire(&state, load(&state, &auth.tenant, &id).await?).await?;
    emit(&state, &auth.tenant, "license.created", &license).await?;
    Ok((StatusCode::CREATED, Json(license)))
}

#[allow(clippy::too_many_arguments)]
async fn insert(
    state: &AppState,
    tenant: &Tenant,
    id: &str,
    policy: &licentric_core::wire::Policy,
    key: &str,
    name: Option<&str>,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    metadata: &str,
) -> Result<bool, ApiError> {
    let row = db::licenses::NewLicenseRow {
        id,
        product_id: &policy.product_id,
        policy_id: &policy.id,
        key,
        name,
        expires_at,
        metadata,
    };
    Ok(db::licenses::insert(&state.db, tenant, &row, state.clock.now()).await?)
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
    let record = load(&state, caller.tenant(), &id).await?;
    Ok(Json(wire(&state, record).await?))
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
    let mut record = load(&state, &auth.tenant, &id).await?;
    let mut problems = Problems::default();
    if let Some(name) = body.name {
        record.name = name.map(|n| problems.text("name", &n, 200));
    }
    if let Some(expires_at) = body.expires_at {
        record.expires_at = expires_at;
    }
    if let Some(metadata) = &body.metadata {
        record.metadata = check_metadata(&mut problems, metadata);
    }
    if let Some(uses) = body.uses {
        record.uses = uses;
    }
    if let Some(policy_id) = &body.policy_id {
        match db::policies::get(&state.db, &auth.tenant, policy_id).await? {
            Some(policy) if policy.product_id == record.product_id => record.policy_id = policy.id,
            Some(_) => problems.add(
                "policyId",
                "the policy belongs to another product; a license stays with its product",
            ),
            None => problems.add(
                "policyId",
                "no policy with this id in this account and environment",
            ),
        }
    }
    problems.finish()?;
    db::licenses::update(&state.db, &record, state.clock.now()).await?;
    let license = wire(&state, load(&state, &auth.tenant, &id).await?).await?;
    emit(&state, &auth.tenant, "license.updated", &license).await?;
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
    let license = wire(&state, load(&state, &auth.tenant, &id).await?).await?;
    db::licenses::delete(&state.db, &auth.tenant, &id).await?;
    emit(&state, &auth.tenant, "license.deleted", &license).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A status change and the statuses it may start from.
struct Transition {
    verb: &'static str,
    event: &'static str,
    from: &'static [LicenseStatus],
    to: LicenseStatus,
}

async fn transition(
    auth: ApiKeyAuth,
    state: AppState,
    id: String,
    t: Transition,
) -> Result<Json<License>, ApiError> {
    auth.require(Scope::LicensesWrite)?;
    let mut record = load(&state, &auth.tenant, &id).await?;
    let status = record.status;
    if !t.from.contains(&status) {
        return Err(ApiError::Conflict {
            code: "invalid_transition",
            message: format!(
                "Cannot {} a license that is {status}. {}",
                t.verb,
                match status {
                    LicenseStatus::Revoked =>
                        "A revoked license is final; issue a new license instead.",
                    LicenseStatus::Suspended => "Reinstate it first, or revoke it.",
                    _ => "Check the license's status first.",
                }
            ),
            details: Some(json!({ "status": status })),
        });
    }
    record.status = t.to;
    db::licenses::update(&state.db, &record, state.clock.now()).await?;
    let license = wire(&state, load(&state, &auth.tenant, &id).await?).await?;
    emit(&state, &auth.tenant, t.event, &license).await?;
    Ok(Json(license))
}

/// Suspends an active license: validations answer `SUSPENDED` until it is reinstated.
#[utoipa::path(post, path = "/api/v1/licenses/{id}/suspend", tag = "licenses", params(("id" = String, Path)),
    responses((status = 200, body = License), (status = 409, body = licentric_core::wire::ErrorEnvelope), ErrorResponses), security(("api_key" = [])))]
pub async fn suspend(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<License>, ApiError> {
    transition(
        auth,
        state,
        id,
        Transition {
            verb: "suspend",
            event: "license.suspended",
            from: &[LicenseStatus::Active],
            to: LicenseStatus::Suspended,
        },
    )
    .await
    .map_err(Into::into)
}

/// Reinstates a suspended license.
#[utoipa::path(post, path = "/api/v1/licenses/{id}/reinstate", tag = "licenses", params(("id" = String, Path)),
    responses((status = 200, body = License), (status = 409, body = licentric_core::wire::ErrorEnvelope), ErrorResponses), security(("api_key" = [])))]
pub async fn reinstate(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<License>, ApiError> {
    transition(
        auth,
        state,
        id,
        Transition {
            verb: "reinstate",
            event: "license.reinstated",
            from: &[LicenseStatus::Suspended],
            to: LicenseStatus::Active,
        },
    )
    .await
}

/// Revokes a license for good.
#[utoipa::path(post, path = "/api/v1/licenses/{id}/revoke", tag = "licenses", params(("id" = String, Path)),
    responses((status = 200, body = License), (status = 409, body = licentric_core::wire::ErrorEnvelope), ErrorResponses), security(("api_key" = [])))]
pub async fn revoke(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<License>, ApiError> {
    let from = &[
        LicenseStatus::Active,
        LicenseStatus::Suspended,
        LicenseStatus::Banned,
    ];
    transition(
        auth,
        state,
        id,
        Transition {
            verb: "revoke",
            event: "license.revoked",
            from,
            to: LicenseStatus::Revoked,
        },
    )
    .await
}

/// Bans a license for abuse.
#[utoipa::path(post, path = "/api/v1/licenses/{id}/ban", tag = "licenses", params(("id" = String, Path)),
    responses((status = 200, body = License), (status = 409, body = licentric_core::wire::ErrorEnvelope), ErrorResponses), security(("api_key" = [])))]
pub async fn ban(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<License>, ApiError> {
    let from = &[LicenseStatus::Active, LicenseStatus::Suspended];
    transition(
        auth,
        state,
        id,
        Transition {
            verb: "ban",
            event: "license.banned",
            from,
            to: LicenseStatus::Banned,
        },
    )
    .await
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
    let mut record = load(&state, &auth.tenant, &id).await?;
    if record.status == LicenseStatus::Revoked {
        return Err(ApiError::conflict(
            "invalid_transition",
            "Cannot renew a revoked license; issue a new license instead.",
        ));
    }
    let policy = db::policies::get(&state.db, &auth.tenant, &record.policy_id)
        .await?
        .ok_or_else(|| ApiError::not_found("policy"))?;
    let Some(duration) = policy.duration else {
        return Err(ApiError::conflict(
            "perpetual_policy",
            "This license's policy has no duration, so there is nothing to renew by. Set expiresAt with PATCH instead.",
        ));
    };
    let now = state.clock.now();
    let from = record.expires_at.map_or(now, |expiry| expiry.max(now));
    record.expires_at = Some(from + Duration::seconds(i64::from(duration)));
    db::licenses::update(&state.db, &record, now).await?;
    let license = wire(&state, load(&state, &auth.tenant, &id).await?).await?;
    emit(&state, &auth.tenant, "license.renewed", &license).await?;
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
    load(&state, &auth.tenant, &id).await?;
    let mut problems = Problems::default();
    if body.entitlements.is_empty() {
        problems.add("entitlements", "must name at least one entitlement code");
    }
    let (ids, missing) =
        db::entitlements::resolve(&state.db, &auth.tenant, &body.entitlements).await?;
    if !missing.is_empty() {
        problems.add(
            "entitlements",
            format!(
                "no entitlement with code {}; create it first",
                missing.join(", ")
            ),
        );
    }
    problems.finish()?;
    db::entitlements::attach_to_license(&state.db, &id, &ids).await?;
    let license = wire(&state, load(&state, &auth.tenant, &id).await?).await?;
    emit(&state, &auth.tenant, "license.updated", &license).await?;
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
    load(&state, &auth.tenant, &id).await?;
    let (ids, _) = db::entitlements::resolve(&state.db, &auth.tenant, &[code]).await?;
    if ids.is_empty() {
        return Err(ApiError::not_found("entitlement"));
    }
    db::entitlements::detach_from_license(&state.db, &id, &ids).await?;
    let license = wire(&state, load(&state, &auth.tenant, &id).await?).await?;
    emit(&state, &auth.tenant, "license.updated", &license).await?;
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
    let record = load(&state, &auth.tenant, &auth.license_id).await?;
    let policy = db::policies::get(&state.db, &auth.tenant, &record.policy_id)
        .await?
        .ok_or_else(|| ApiError::not_found("policy"))?;
    machines::cull_dead(&state, &auth.tenant, &record, &policy).await?;
    let record = load(&state, &auth.tenant, &auth.license_id).await?;
    let now = state.clock.now();
    let rule = HeartbeatRule {
        required: policy.require_heartbeat,
        interval_secs: policy.heartbeat_interval,
    };
    let machines: Vec<_> = db::machines::of_license(&state.db, &record.id)
        .await?
        .into_iter()
        .map(|m| m.into_wire(rule, now))
        .collect();
    let license = wire(&state, record).await?;
    Ok(Json(LicenseOverview {
        machines_used: license.machines_count,
        max_machines: license.max_machines,
        license,
        machines,
        require_heartbeat: policy.require_heartbeat,
        heartbeat_interval: policy.heartbeat_interval,
        offline_max_days: policy.offline_max_days,
        grace_days: policy.grace_days,
        server_time: now,
    }))
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
    ApiJson(request): ApiJson<ValidateKeyRequest>,
) -> Result<Response, ApiError> {
    let nonce = check_request(&request)?;
    let key = LicenseKey::normalize(&request.key);
    let Some(record) = db::licenses::find_by_key(&state.db, &key).await? else {
        // A key that does not exist is a failed guess: the rate limiter counts it against
        // the client's address like a bad credential.
        let not_found = Json(ValidationResult {
            valid: false,
            code: ValidationCode::NotFound,
            license: None,
            machine: None,
            entitlements: vec![],
            server_time: Some(state.clock.now()),
            token: None,
        });
        return Ok((Extension(rate_limit::FailedAuthentication), not_found).into_response());
    };
    let tenant = record.tenant();
    let policy = db::policies::get(&state.db, &tenant, &record.policy_id)
        .await?
        .ok_or_else(|| ApiError::not_found("policy"))?;
    machines::cull_dead(&state, &tenant, &record, &policy).await?;
    let uses = db::licenses::increment_uses(&state.db, &record.id).await?;
    let record = load(&state, &tenant, &record.id).await?;
    let now = state.clock.now();
    let rule = HeartbeatRule {
        required: policy.require_heartbeat,
        interval_secs: policy.heartbeat_interval,
    };

    let entitlements =
        db::entitlements::codes_of_license(&state.db, &record.id, &record.policy_id).await?;
    let missing_entitlements = request
        .entitlements
        .unwrap_or_default()
        .into_iter()
        .filter(|wanted| !entitlements.contains(wanted))
        .collect();
    let machine = match request.fingerprint.as_deref().map(str::trim) {
        Some(fingerprint) => {
            db::machines::find_by_fingerprint(&state.db, &record.id, fingerprint).await?
        }
        None => None,
    };
    let fingerprint = match (&request.fingerprint, &machine) {
        (None, _) => FingerprintCheck::NotRequested,
        (Some(_), None) => FingerprintCheck::NotActivated,
        (Some(_), Some(m)) => FingerprintCheck::Activated {
            heartbeat_overdue: m.is_dead(rule, now),
        },
    };
    let status = record.status;
    let facts = LicenseFacts {
        status,
        expires_at: record.expires_at,
        uses: u64::from(uses),
        max_uses: record.max_uses.map(u64::from),
        missing_entitlements,
        fingerprint,
        machines: u64::from(record.machines_count),
        max_machines: record.max_machines().map(u64::from),
    };
    let code = evaluate(&facts, now);
    db::activity::record(
        &state.db,
        &tenant,
        Kind::Validation(code),
        &record.product_id,
        &record.id,
        now,
    )
    .await?;
    let summary = LicenseSummary {
        id: record.id.clone(),
        status,
        product_id: record.product_id.clone(),
        policy_id: record.policy_id.clone(),
        expires_at: record.expires_at,
    };
    events::emit(
        &state,
        &tenant,
        "license.validated",
        json!({ "license": summary, "code": code, "fingerprint": request.fingerprint }),
    )
    .await?;
    // A VALID answer for a fingerprint is worth a token: the machine can prove it offline.
    let token = match &machine {
        Some(machine) if code.is_valid() => {
            let subject = issuance::Subject {
                license: &record,
                policy: &policy,
                entitlements: entitlements.clone(),
                fingerprint: &machine.fingerprint,
                machine_id: Some(&machine.id),
            };
            issuance::token(&state, &tenant, &subject, nonce.as_ref(), now).await?
        }
        _ => None,
    };
    Ok(Json(ValidationResult {
        valid: code.is_valid(),
        code,
        license: Some(summary),
        machine: machine.map(|m| m.into_wire(rule, now)),
        entitlements,
        server_time: Some(now),
        token,
    })
    .into_response())
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
