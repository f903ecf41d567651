//! `/api/v1/machines`: activation, heartbeats and deactivation, with a license key (its own
//! machines only) or an API key.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use licentric_core::{
    wire::{Machine, NewMachine, Page, Platform, Policy},
    Scope,
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    auth::Caller,
    db::{self, licenses::LicenseRecord, machines::MachineRecord},
    domain::machines,
    extract::ApiJson,
    openapi::ErrorResponses,
    params::{ApiQuery, Paging, Problems},
    ApiError, AppState,
};

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
    let policy = machines::policy_of(state, tenant, &license).await?;
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
        let policy = machines::policy_of(&state, tenant, &license).await?;
        data.push(record.into_wire(machines::rule(&policy), now));
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
    machines::check_fingerprint(&mut problems, &body.fingerprint);
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
    let (machine, created) = machines::activate(
        &state,
        caller.tenant(),
        caller.actor(),
        &license_id,
        machines::NewMachineAsked {
            fingerprint: &body.fingerprint,
            name,
            platform,
        },
    )
    .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(machine)))
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
    Ok(Json(
        machine.into_wire(machines::rule(&policy), state.clock.now()),
    ))
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
    machines::deactivate(
        &state,
        caller.tenant(),
        caller.actor(),
        machine,
        &license,
        &policy,
    )
    .await?;
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
    let machine = machines::heartbeat(
        &state,
        caller.tenant(),
        caller.actor(),
        &id,
        &license,
        &policy,
    )
    .await?;
    Ok(Json(machine))
}
