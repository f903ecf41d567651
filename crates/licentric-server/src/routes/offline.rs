//! Offline licensing: the signed `.lic` file of a license (seed 003's `offline-file`, the
//! SDK's `checkout` of seed 000), and the offline activation round trip that turns an
//! air-gapped machine's request text into a registered machine and a file bound to it.

use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use licentric_core::{
    wire::{
        CheckoutRequest, ErrorEnvelope, LicenseCheckout, OfflineActivation,
        OfflineActivationRequest, OfflineFileRequest, Policy,
    },
    ActivationRequest, LicenseKey, LicenseReference, Scope,
};
use serde_json::json;

use crate::{
    auth::ApiKeyAuth,
    db::{self, licenses::LicenseRecord, machines::HeartbeatRule},
    domain::{
        audit::{self, Actor, Event},
        licenses, machines,
    },
    extract::{ApiJson, OptionalApiJson},
    issuance::{self, Subject},
    openapi::ErrorResponses,
    params::Problems,
    tenant::Tenant,
    ApiError, AppState,
};

/// The media type of a `.lic` file.
pub const LICENSE_FILE_MEDIA_TYPE: &str = "application/x-licentric-license";

async fn load(
    state: &AppState,
    tenant: &Tenant,
    id: &str,
) -> Result<(LicenseRecord, Policy), ApiError> {
    let license = db::licenses::get(&state.db, tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("license"))?;
    let policy = db::policies::get(&state.db, tenant, &license.policy_id)
        .await?
        .ok_or_else(|| ApiError::not_found("policy"))?;
    Ok((license, policy))
}

/// Signs a file for `fingerprint` on `license`, naming the machine when that fingerprint
/// is activated on it. Returns the file and the seconds it lasts.
async fn sign_file(
    state: &AppState,
    tenant: &Tenant,
    actor: &Actor,
    license: &LicenseRecord,
    policy: &Policy,
    fingerprint: &str,
    ttl: u32,
) -> Result<(String, u32), ApiError> {
    let machine =
        db::machines::find_by_fingerprint(&state.db, tenant, &license.id, fingerprint).await?;
    let entitlements = db::licenses::entitlement_codes(&state.db, license).await?;
    let subject = Subject {
        license,
        policy,
        entitlements,
        fingerprint,
        machine_id: machine.as_ref().map(|m| m.id.as_str()),
    };
    let (file, lasts) =
        issuance::license_file(state, tenant, &subject, ttl, state.clock.now()).await?;
    audit::record(
        state,
        tenant,
        actor,
        Event {
            action: "license.offline_file_issued",
            resource_type: "license",
            resource_id: &license.id,
            changes: Some(json!({ "fingerprint": fingerprint, "ttl": lasts })),
        },
    )
    .await?;
    Ok((file, lasts))
}

/// Downloads a signed offline license file (`.lic`) for a license.
///
/// The body is optional. Without a `fingerprint` the file is bound to the license's only
/// machine; a license with no machine or several needs `{"fingerprint": "…"}`. The file
/// lasts `ttl` seconds (default 14 days, at most the policy's `offlineMaxDays`), never
/// past the license's expiry. Suspended, revoked, banned and expired licenses get no
/// file (409).
#[utoipa::path(post, path = "/api/v1/licenses/{id}/offline-file", tag = "licenses",
    params(("id" = String, Path)),
    request_body(content = Option<OfflineFileRequest>, description = "Optional: the fingerprint to bind the file to, and its lifetime"),
    responses(
        (status = 200, description = "The signed license file", content_type = "application/x-licentric-license", body = String,
            headers(("Content-Disposition" = String, description = "attachment; filename=\"license.lic\""))),
        (status = 409, body = ErrorEnvelope),
        ErrorResponses),
    security(("api_key" = [])))]
pub async fn offline_file(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    OptionalApiJson(body): OptionalApiJson<OfflineFileRequest>,
) -> Result<Response, ApiError> {
    auth.require(Scope::LicensesRead)?;
    let body = body.unwrap_or_default();
    let (license, policy) = load(&state, &auth.tenant, &id).await?;
    let mut problems = Problems::default();
    if let Some(fingerprint) = &body.fingerprint {
        machines::check_fingerprint(&mut problems, fingerprint);
    }
    let ttl = issuance::file_ttl(body.ttl, &policy, &mut problems);
    problems.finish()?;
    machines::refuse_unusable(&license, state.clock.now())?;
    let fingerprint = match &body.fingerprint {
        Some(fingerprint) => fingerprint.trim().to_owned(),
        None => only_machine(&state, &license).await?,
    };
    let (file, _) = sign_file(
        &state,
        &auth.tenant,
        &auth.actor,
        &license,
        &policy,
        &fingerprint,
        ttl,
    )
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, LICENSE_FILE_MEDIA_TYPE),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"license.lic\"",
            ),
        ],
        file,
    )
        .into_response())
}

/// The fingerprint of the license's only machine, or a 400 that says to name one.
async fn only_machine(state: &AppState, license: &LicenseRecord) -> Result<String, ApiError> {
    let mut machines = db::machines::of_license(&state.db, &license.tenant(), &license.id).await?;
    if machines.len() == 1 {
        if let Some(machine) = machines.pop() {
            return Ok(machine.fingerprint);
        }
    }
    let why = if machines.is_empty() {
        "this license has no activated machine".to_owned()
    } else {
        format!("this license has {} activated machines", machines.len())
    };
    Err(ApiError::BadRequest {
        code: "fingerprint_required",
        message: format!(
            "An offline file is bound to one machine, and {why}: send a JSON body {{\"fingerprint\": \"…\"}} with the fingerprint of the machine the file is for."
        ),
        details: Some(json!({ "fingerprint": format!("is required: {why}") })),
    })
}

/// Checks out a signed offline license file for a machine (seed 000's `checkout`):
/// `{"certificate", "license", "fingerprint", "ttl"}`.
///
/// `ttl` is in seconds: at least 3600, at most the policy's `offlineMaxDays`; by default
/// 1209600 (14 days), or `offlineMaxDays` when that is shorter. The answer's `ttl` is the
/// file's actual lifetime, shorter when the license expires sooner.
#[utoipa::path(post, path = "/api/v1/licenses/{id}/checkout", tag = "licenses",
    params(("id" = String, Path)), request_body = CheckoutRequest,
    responses((status = 200, body = LicenseCheckout), (status = 409, body = ErrorEnvelope), ErrorResponses),
    security(("api_key" = [])))]
pub async fn checkout(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CheckoutRequest>,
) -> Result<Json<LicenseCheckout>, ApiError> {
    auth.require(Scope::LicensesRead)?;
    let (license, policy) = load(&state, &auth.tenant, &id).await?;
    let mut problems = Problems::default();
    machines::check_fingerprint(&mut problems, &body.fingerprint);
    let ttl = issuance::file_ttl(body.ttl, &policy, &mut problems);
    problems.finish()?;
    machines::refuse_unusable(&license, state.clock.now())?;
    let fingerprint = body.fingerprint.trim().to_owned();
    let (certificate, ttl) = sign_file(
        &state,
        &auth.tenant,
        &auth.actor,
        &license,
        &policy,
        &fingerprint,
        ttl,
    )
    .await?;
    Ok(Json(LicenseCheckout {
        certificate,
        license: licenses::wire(&state, license).await?,
        fingerprint,
        ttl,
    }))
}

/// Completes an offline activation: registers the machine an activation request
/// (`LICENTRIC-REQ1.…`, made on the air-gapped machine) describes, and answers with a
/// signed `.lic` file bound to its fingerprint, to carry back to it.
///
/// The request is not trusted: the license (by key or id, in this account) is checked
/// like an online activation — suspended, revoked, banned or expired licenses are
/// refused (409), and a full license is 409 `machine_limit_exceeded`. The same request
/// twice finds the same machine (200 instead of 201) and issues a fresh file.
#[utoipa::path(post, path = "/api/v1/licenses/offline-activations", tag = "licenses",
    request_body = OfflineActivationRequest,
    responses((status = 201, body = OfflineActivation), (status = 200, body = OfflineActivation),
              (status = 409, body = ErrorEnvelope), ErrorResponses),
    security(("api_key" = [])))]
pub async fn offline_activation(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<OfflineActivationRequest>,
) -> Result<(StatusCode, Json<OfflineActivation>), ApiError> {
    auth.require(Scope::MachinesWrite)?;
    auth.require(Scope::LicensesRead)?;
    let request =
        ActivationRequest::parse(&body.request).map_err(|refusal| ApiError::BadRequest {
            code: "invalid_activation_request",
            message: refusal.to_string(),
            details: Some(json!({ "request": refusal.to_string() })),
        })?;
    let tenant = &auth.tenant;
    let license = match request.license() {
        LicenseReference::Key(key) => find_by_key(&state, tenant, key).await?,
        LicenseReference::Id(id) => db::licenses::get(&state.db, tenant, id).await?,
    }
    .ok_or_else(|| {
        ApiError::NotFound(
            "The license this request names does not exist in this account and environment. Check that the customer's key or license id is right, and that the API key is for the right environment (lk_live_ or lk_test_).".into(),
        )
    })?;
    let policy = db::policies::get(&state.db, tenant, &license.policy_id)
        .await?
        .ok_or_else(|| ApiError::not_found("policy"))?;
    let mut problems = Problems::default();
    let ttl = issuance::file_ttl(body.ttl, &policy, &mut problems);
    problems.finish()?;
    machines::refuse_unusable(&license, state.clock.now())?;

    let name = request.machine_name().trim();
    let registered = machines::register(
        &state,
        tenant,
        &auth.actor,
        &license,
        &policy,
        machines::NewMachineAsked {
            fingerprint: request.fingerprint(),
            name: (!name.is_empty()).then(|| name.to_owned()),
            platform: Some(request.platform()),
        },
    )
    .await?;
    // Read again: the machine count now includes this machine.
    let (license, policy) = load(&state, tenant, &license.id).await?;
    let (certificate, _) = sign_file(
        &state,
        tenant,
        &auth.actor,
        &license,
        &policy,
        &registered.machine.fingerprint,
        ttl,
    )
    .await?;
    let rule = HeartbeatRule {
        required: policy.require_heartbeat,
        interval_secs: policy.heartbeat_interval,
    };
    let status = if registered.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(OfflineActivation {
            certificate,
            machine: registered.machine.into_wire(rule, state.clock.now()),
            license: licenses::wire(&state, license).await?,
        }),
    ))
}

/// The tenant's license with this key: keys are unique across accounts, so another
/// tenant's key is simply not found here.
async fn find_by_key(
    state: &AppState,
    tenant: &Tenant,
    key: &LicenseKey,
) -> Result<Option<LicenseRecord>, ApiError> {
    let found = db::licenses::find_by_key(&state.db, key.as_str()).await?;
    Ok(found.filter(|license| {
        license.account_id == tenant.account_id && license.environment == tenant.environment
    }))
}
