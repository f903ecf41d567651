//! `/api/v1/machines`: activation, heartbeats and deactivation, with a license key (its own
//! machines only) or an API key.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use licentric_core::{
    evaluate,
    wire::{Machine, NewMachine, Page, Platform, Policy},
    FingerprintCheck, LicenseFacts, LicenseStatus, Scope,
};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::{
    auth::Caller,
    db::{
        self,
        activity::Kind,
        licenses::LicenseRecord,
        machines::{HeartbeatRule, MachineRecord},
    },
    events,
    extract::ApiJson,
    issuance,
    openapi::ErrorResponses,
    params::{ApiQuery, Paging, Problems},
    tenant::Tenant,
    ApiError, AppState,
};

/// Checks a fingerprint: 8–255 characters, no control characters.
pub fn check_fingerprint(problems: &mut Problems, fingerprint: &str) {
    let length = fingerprint.trim().chars().count();
    if length < 8 {
        problems.add("fingerprint", "must be at least 8 characters");
    } else if length > 255 {
        problems.add("fingerprint", "must be at most 255 characters");
    } else if fingerprint.chars().any(char::is_control) {
        problems.add("fingerprint", "must not contain control characters");
    }
}

fn rule(policy: &Policy) -> HeartbeatRule {
    HeartbeatRule {
        required: policy.require_heartbeat,
        interval_secs: policy.heartbeat_interval,
    }
}

async fn policy_of(
    state: &AppState,
    tenant: &Tenant,
    license: &LicenseRecord,
) -> Result<Policy, ApiError> {
    db::policies::get(&state.db, tenant, &license.policy_id)
        .await?
        .ok_or_else(|| ApiError::not_found("policy"))
}

async fn emit(
    state: &AppState,
    tenant: &Tenant,
    event: &str,
    machine: &Machine,
) -> Result<(), ApiError> {
    events::emit(state, tenant, event, json!({ "machine": machine })).await
}

/// Removes the license's machines that missed their heartbeat, when its policy says so.
pub async fn cull_dead(
    state: &AppState,
    tenant: &Tenant,
    license: &LicenseRecord,
    policy: &Policy,
) -> Result<u32, ApiError> {
    if !(policy.cull_dead_machines && policy.require_heartbeat) {
        return Ok(0);
    }
    let now = state.clock.now();
    let mut culled = 0;
    for machine in db::machines::of_license(&state.db, &license.id).await? {
        if machine.is_dead(rule(policy), now)
            && db::machines::delete(&state.db, &machine.id).await?
        {
            culled += 1;
            db::activity::record(
                &state.db,
                tenant,
                Kind::Deactivation,
                &license.product_id,
                &license.id,
                now,
            )
            .await?;
            emit(
                state,
                tenant,
                "machine.culled",
                &machine.into_wire(rule(policy), now),
            )
            .await?;
        }
    }
    Ok(culled)
}

/// The machine with this id, if the caller may see it: a license key sees only its own.
async fn visible(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(MachineRecord, LicenseRecord, Policy), ApiError> {
    let tenant = caller.tenant();
    let machine = db::machines::get(&state.db, tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("machine"))?;
    if let Caller::License(auth) = caller {
        if auth.license_id != machine.license_id {
            return Err(ApiError::not_found("machine"));
        }
    }
    let license = db::licenses::get(&state.db, tenant, &machine.license_id)
        .await?
        .ok_or_else(|| ApiError::not_found("license"))?;
    let policy = policy_of(state, tenant, &license).await?;
    Ok((machine, license, policy))
}

/// Query of `GET /machines`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListMachines {
    /// Only this license's machines (with a license key: always its own).
    license_id: Option<String>,
    /// Page size, 1–100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Records to skip.
    #[param(minimum = 0, maximum = 2147483647)]
    offset: Option<u32>,
    /// `createdAt`, `updatedAt`, `name` or `lastHeartbeatAt`; prefix `-` for descending.
    #[param(pattern = "^-?(createdAt|updatedAt|name|lastHeartbeatAt)$")]
    sort: Option<String>,
}

/// Lists machines.
#[utoipa::path(get, path = "/api/v1/machines", tag = "machines", params(ListMachines),
    responses((status = 200, body = Page<Machine>), ErrorResponses), security(("api_key" = []), ("license_key" = [])))]
pub async fn list(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListMachines>,
) -> Result<Json<Page<Machine>>, ApiError> {
    let license_id = match &caller {
        Caller::ApiKey(auth) => {
            auth.require(Scope::MachinesRead)?;
            q.license_id.clone()
        }
        Caller::License(auth) => {
            if q.license_id
                .as_ref()
                .is_some_and(|id| *id != auth.license_id)
            {
                return Err(ApiError::not_found("license"));
            }
            Some(auth.license_id.clone())
        }
    };
    let page = Paging::from_query(q.limit, q.offset, q.sort).page(db::machines::SORTABLE)?;
    let tenant = caller.tenant();
    let (records, total) =
        db::machines::list(&state.db, tenant, license_id.as_deref(), &page).await?;
    let now = state.clock.now();
    let mut data = Vec::with_capacity(records.len());
    for record in records {
        let license = db::licenses::get(&state.db, tenant, &record.license_id)
            .await?
            .ok_or_else(|| ApiError::not_found("license"))?;
        let policy = policy_of(&state, tenant, &license).await?;
        data.push(record.into_wire(rule(&policy), now));
    }
    Ok(Json(page.wrap(data, total)))
}

/// Activates a machine on a license (201), or returns the machine already activated with
/// this fingerprint (200). A full license is a 409 `machine_limit_exceeded`. While the
/// license validates, the answer carries a validation `token` for the machine.
#[utoipa::path(post, path = "/api/v1/machines", tag = "machines", request_body = NewMachine,
    responses((status = 201, body = Machine), (status = 200, body = Machine), (status = 409, body = licentric_core::wire::ErrorEnvelope), ErrorResponses),
    security(("license_key" = []), ("api_key" = [])))]
pub async fn activate(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewMachine>,
) -> Result<(StatusCode, Json<Machine>), ApiError> {
    let mut problems = Problems::default();
    check_fingerprint(&mut problems, &body.fingerprint);
    let name = body.name.as_deref().map(|n| problems.text("name", n, 255));
    let platform = match body.platform.as_deref().map(|p| (p, Platform::parse(p))) {
        Some((_, Some(platform))) => Some(platform),
        Some((given, None)) => {
            problems.add(
                "platform",
                format!("{given:?} is not one of macos, windows, linux, docker, kubernetes"),
            );
            None
        }
        None => None,
    };
    let license_id = match &caller {
        Caller::ApiKey(auth) => {
            auth.require(Scope::MachinesWrite)?;
            if body.license_id.is_none() {
                problems.add("licenseId", "is required when activating with an API key");
            }
            body.license_id.clone().unwrap_or_default()
        }
        Caller::License(auth) => {
            if body
                .license_id
                .as_ref()
                .is_some_and(|id| *id != auth.license_id)
            {
                return Err(ApiError::not_found("license"));
            }
            auth.license_id.clone()
        }
    };
    problems.finish()?;
    let tenant = caller.tenant();
    let license = db::licenses::get(&state.db, tenant, &license_id)
        .await?
        .ok_or_else(|| ApiError::not_found("license"))?;
    let policy = policy_of(&state, tenant, &license).await?;
    let registered = register(
        &state,
        tenant,
        &license,
        &policy,
        &body.fingerprint,
        name,
        platform,
    )
    .await?;
    let now = state.clock.now();
    let token = activation_token(
        &state,
        tenant,
        &license.id,
        &policy,
        &registered.machine,
        now,
    )
    .await?;
    let status = if registered.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut machine = registered.machine.into_wire(rule(&policy), now);
    machine.token = token;
    Ok((status, Json(machine)))
}

/// A machine registered on a license by [`register`].
#[derive(Debug)]
pub struct Registered {
    /// The machine.
    pub machine: MachineRecord,
    /// Whether it was activated just now (else it already was).
    pub created: bool,
}

/// Activates `fingerprint` on `license`, or finds it already activated. A machine whose
/// heartbeat is overdue under a culling policy is replaced. Refuses a license that cannot
/// take machines (409), and a full one (409 `machine_limit_exceeded`, decided in one
/// statement so two racing activations cannot both take the last slot). Records the
/// activation and emits `machine.activated`.
pub async fn register(
    state: &AppState,
    tenant: &Tenant,
    license: &LicenseRecord,
    policy: &Policy,
    fingerprint: &str,
    name: Option<String>,
    platform: Option<Platform>,
) -> Result<Registered, ApiError> {
    let now = state.clock.now();
    let fingerprint = fingerprint.trim();
    if let Some(existing) =
        db::machines::find_by_fingerprint(&state.db, &license.id, fingerprint).await?
    {
        if !existing.is_dead(rule(policy), now) || !policy.cull_dead_machines {
            return Ok(Registered {
                machine: existing,
                created: false,
            });
        }
    }
    refuse_unusable(license, now)?;
    cull_dead(state, tenant, license, policy).await?;

    let machine = MachineRecord {
        id: Uuid::new_v4().to_string(),
        license_id: license.id.clone(),
        fingerprint: fingerprint.to_owned(),
        name,
        platform: platform.map(|p| p.as_str().to_owned()),
        last_heartbeat_at: None,
        created_at: now,
        updated_at: now,
    };
    let max = license.max_machines();
    if !db::machines::insert_within_limit(&state.db, tenant, &machine, max).await? {
        let used = db::machines::of_license(&state.db, &license.id)
            .await?
            .len();
        return Err(ApiError::Conflict {
            code: "machine_limit_exceeded",
            message: format!(
                "This license is already activated on {used} of {} machine(s). Deactivate one of them to free a slot, or ask the vendor for more seats.",
                max.unwrap_or_default()
            ),
            details: Some(json!({ "maxMachines": max, "machinesUsed": used })),
        });
    }
    db::activity::record(
        &state.db,
        tenant,
        Kind::Activation,
        &license.product_id,
        &license.id,
        now,
    )
    .await?;
    emit(
        state,
        tenant,
        "machine.activated",
        &machine.clone().into_wire(rule(policy), now),
    )
    .await?;
    Ok(Registered {
        machine,
        created: true,
    })
}

/// The token an activation answers with: what `validate-key` would give this machine now,
/// without counting a use. `None` when the license would not validate as `VALID`.
async fn activation_token(
    state: &AppState,
    tenant: &Tenant,
    license_id: &str,
    policy: &Policy,
    machine: &MachineRecord,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<String>, ApiError> {
    let Some(license) = db::licenses::get(&state.db, tenant, license_id).await? else {
        return Ok(None);
    };
    let entitlements =
        db::entitlements::codes_of_license(&state.db, &license.id, &license.policy_id).await?;
    let facts = LicenseFacts {
        status: license.status,
        expires_at: license.expires_at,
        uses: u64::from(license.uses),
        max_uses: license.max_uses.map(u64::from),
        missing_entitlements: vec![],
        fingerprint: FingerprintCheck::Activated {
            heartbeat_overdue: machine.is_dead(rule(policy), now),
        },
        machines: u64::from(license.machines_count),
        max_machines: license.max_machines().map(u64::from),
    };
    if !evaluate(&facts, now).is_valid() {
        return Ok(None);
    }
    let subject = issuance::Subject {
        license: &license,
        policy,
        entitlements,
        fingerprint: &machine.fingerprint,
        machine_id: Some(&machine.id),
    };
    issuance::token(state, tenant, &subject, None, now).await
}

/// A license that cannot take new machines (or offline files) says why: 409
/// `license_expired`, `license_suspended`, `license_revoked` or `license_banned`.
pub fn refuse_unusable(
    license: &LicenseRecord,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ApiError> {
    let (code, message) = match license.status {
        LicenseStatus::Active => match license.expires_at {
            Some(expiry) if expiry <= now => (
                "license_expired",
                "This license has expired. Renew it before activating machines.",
            ),
            _ => return Ok(()),
        },
        LicenseStatus::Suspended => (
            "license_suspended",
            "This license is suspended. Contact the vendor to have it reinstated.",
        ),
        LicenseStatus::Revoked => (
            "license_revoked",
            "This license has been revoked and cannot be activated.",
        ),
        LicenseStatus::Banned => (
            "license_banned",
            "This license is banned and cannot be activated.",
        ),
    };
    Err(ApiError::conflict(code, message))
}

/// Retrieves a machine.
#[utoipa::path(get, path = "/api/v1/machines/{id}", tag = "machines", params(("id" = String, Path)),
    responses((status = 200, body = Machine), ErrorResponses), security(("api_key" = []), ("license_key" = [])))]
pub async fn get(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Machine>, ApiError> {
    if let Caller::ApiKey(auth) = &caller {
        auth.require(Scope::MachinesRead)?;
    }
    let (machine, _, policy) = visible(&state, &caller, &id).await?;
    Ok(Json(machine.into_wire(rule(&policy), state.clock.now())))
}

/// Deactivates a machine, freeing its slot.
#[utoipa::path(delete, path = "/api/v1/machines/{id}", tag = "machines", params(("id" = String, Path)),
    responses((status = 204), ErrorResponses), security(("license_key" = []), ("api_key" = [])))]
pub async fn deactivate(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if let Caller::ApiKey(auth) = &caller {
        auth.require(Scope::MachinesWrite)?;
    }
    let (machine, license, policy) = visible(&state, &caller, &id).await?;
    let now = state.clock.now();
    if db::machines::delete(&state.db, &machine.id).await? {
        let tenant = caller.tenant();
        db::activity::record(
            &state.db,
            tenant,
            Kind::Deactivation,
            &license.product_id,
            &license.id,
            now,
        )
        .await?;
        emit(
            &state,
            tenant,
            "machine.deactivated",
            &machine.into_wire(rule(&policy), now),
        )
        .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Records a heartbeat: the machine is alive for another interval. A license that is
/// suspended, revoked, banned or expired answers 409 with that state's code.
#[utoipa::path(post, path = "/api/v1/machines/{id}/heartbeat", tag = "machines", params(("id" = String, Path)),
    responses((status = 200, body = Machine), (status = 409, body = licentric_core::wire::ErrorEnvelope), ErrorResponses), security(("license_key" = []), ("api_key" = [])))]
pub async fn heartbeat(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Machine>, ApiError> {
    if let Caller::ApiKey(auth) = &caller {
        auth.require(Scope::MachinesWrite)?;
    }
    let (_, license, policy) = visible(&state, &caller, &id).await?;
    let tenant = caller.tenant();
    let now = state.clock.now();
    // A machine of a license that cannot be used is not kept alive: the 409 tells the
    // application why, as activation does.
    refuse_unusable(&license, now)?;
    cull_dead(&state, tenant, &license, &policy).await?;
    db::machines::heartbeat_now(&state.db, &id, now).await?;
    let machine = db::machines::get(&state.db, tenant, &id)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(
                "This machine was deactivated because it missed its heartbeats. Activate it again."
                    .into(),
            )
        })?;
    let machine = machine.into_wire(rule(&policy), now);
    emit(&state, tenant, "machine.heartbeat", &machine).await?;
    Ok(Json(machine))
}
