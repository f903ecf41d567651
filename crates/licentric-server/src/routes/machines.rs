//! `/api/v1/machines`: activation, heartbeats and deactivation, with a license key (its own
//! machines only) or an API key.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
    Json,
};
use licentric_core::{
    wire::{HeartbeatStatus, Machine, NewMachine, Page, Platform, Policy},
    Scope,
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    auth::{ApiKeyAuth, Caller},
    csv_rows,
    db::{self, licenses::LicenseRecord, machines::MachineRecord},
    domain::machines,
    extract::ApiJson,
    openapi::ErrorResponses,
    params::{ApiQuery, Cursor, Page as Paged, Paging, Problems},
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

/// Query of `GET /machines` (and of its CSV export).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListMachines {
    /// The start of a fingerprint, or a fragment of a machine's name.
    #[param(max_length = 255)]
    q: Option<String>,
    /// Only this license's machines (with a license key: always its own).
    license_id: Option<String>,
    /// Only machines of this platform: `macos`, `windows`, `linux`, `docker`, `kubernetes`.
    platform: Option<String>,
    /// Only machines whose heartbeat is `NOT_STARTED`, `ALIVE` or `DEAD` now.
    heartbeat_status: Option<HeartbeatStatus>,
    /// Page size, 1–100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Records to skip (prefer `after` for deep pages).
    #[param(minimum = 0, maximum = 2147483647)]
    offset: Option<u32>,
    /// The `nextCursor` of the page before: the page after it, in the same sort.
    after: Option<String>,
    /// `createdAt`, `updatedAt`, `name` or `lastHeartbeatAt`; prefix `-` for descending.
    #[param(pattern = "^-?(createdAt|updatedAt|name|lastHeartbeatAt)$")]
    sort: Option<String>,
}

impl ListMachines {
    /// The filters, page and cursor asked for, for `caller` (a license key sees only its
    /// own license's machines); a 400 names what is wrong.
    fn read(
        &self,
        caller: &Caller,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(db::machines::Filters<'_>, Paged, Option<Cursor>), ApiError> {
        let license_id = match caller {
            Caller::ApiKey(_) => self.license_id.as_deref(),
            Caller::License(auth) => {
                if self
                    .license_id
                    .as_ref()
                    .is_some_and(|id| *id != auth.license_id)
                {
                    return Err(ApiError::not_found("license"));
                }
                None
            }
        };
        let mut problems = Problems::default();
        let page = Paging::from_query(self.limit, self.offset, self.sort.clone())
            .check(db::machines::SORTABLE, &mut problems);
        if self.q.as_deref().is_some_and(|q| q.chars().count() > 255) {
            problems.add("q", "must be at most 255 characters");
        }
        if let Some(platform) = &self.platform {
            if Platform::parse(platform).is_none() {
                problems.add(
                    "platform",
                    "must be one of macos, windows, linux, docker, kubernetes",
                );
            }
        }
        let cursor = self
            .after
            .as_deref()
            .and_then(|after| Cursor::decode(after, &page, &mut problems));
        problems.finish()?;
        let filters = db::machines::Filters {
            license_id,
            q: self.q.as_deref(),
            platform: self.platform.as_deref(),
            heartbeat_status: self.heartbeat_status,
            now: Some(now),
            search_hits: None,
        };
        Ok((filters, page, cursor))
    }
}

/// Lists machines: searched by fingerprint or name, filtered by license, platform and
/// heartbeat status; paged by `offset` or by the `after` cursor.
#[utoipa::path(get, path = "/api/v1/machines", tag = "machines", params(ListMachines),
    responses((status = 200, body = Page<Machine>), ErrorResponses), security(("api_key" = []), ("license_key" = [])))]
pub async fn list(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListMachines>,
) -> Result<Json<Page<Machine>>, ApiError> {
    if let Caller::ApiKey(auth) = &caller {
        auth.require(Scope::MachinesRead)?;
    }
    let now = state.clock.now();
    let (mut filters, page, cursor) = q.read(&caller, now)?;
    let own;
    if let Caller::License(auth) = &caller {
        own = auth.license_id.clone();
        filters.license_id = Some(&own);
    }
    let (rows, total, next) =
        db::machines::list(&state.db, caller.tenant(), &filters, &page, cursor.as_ref()).await?;
    let data = rows
        .into_iter()
        .map(|row| {
            let rule = row.rule();
            row.machine.into_wire(rule, now)
        })
        .collect();
    let mut answer = page.wrap(data, total);
    answer.next_cursor = next.map(|c| c.encode());
    if cursor.is_some() {
        answer.has_more = answer.next_cursor.is_some();
    }
    Ok(Json(answer))
}

/// Exports the machines the list's filters match as CSV (RFC 4180, a header row), in
/// constant memory.
#[utoipa::path(get, path = "/api/v1/machines/export.csv", tag = "machines", params(ListMachines),
    responses((status = 200, description = "The CSV file", content_type = "text/csv", body = String), ErrorResponses),
    security(("api_key" = [])))]
pub async fn export_csv(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListMachines>,
) -> Result<Response, ApiError> {
    auth.require(Scope::MachinesRead)?;
    let caller = Caller::ApiKey(auth.clone());
    q.read(&caller, state.clock.now())?;
    let writer = csv_rows::MachineCsv::new().map_err(|e| ApiError::Internal(e.into()))?;
    let tenant = auth.tenant;
    Ok(super::csv_download(
        "machines.csv",
        writer,
        move |mut writer, cursor| {
            let (state, tenant, query, caller) =
                (state.clone(), tenant.clone(), q.clone(), caller.clone());
            async move {
                let now = state.clock.now();
                let (filters, mut page, _) = query.read(&caller, now)?;
                page.limit = 500;
                let (rows, next) =
                    db::machines::page_of(&state.db, &tenant, &filters, &page, cursor.as_ref())
                        .await?;
                let internal = |e: csv::Error| ApiError::Internal(e.into());
                for row in rows {
                    let rule = row.rule();
                    let machine = row.machine.into_wire(rule, now);
                    writer
                        .push(&csv_rows::MachineRow::from(&machine))
                        .map_err(internal)?;
                }
                let bytes = writer.take().map_err(internal)?;
                Ok((writer, bytes, next))
            }
        },
    ))
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
    let own_license = match &caller {
        Caller::License(auth) => Some(auth.license_id.as_str()),
        Caller::ApiKey(_) => None,
    };
    let machine =
        machines::heartbeat(&state, caller.tenant(), caller.actor(), &id, own_license).await?;
    Ok(Json(machine))
}
