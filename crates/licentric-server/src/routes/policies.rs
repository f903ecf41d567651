//! `/api/v1/policies`.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use licentric_core::{
    wire::{NewPolicy, Page, Policy, PolicyUpdate},
    Scope,
};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;

use super::Created;
use crate::{
    auth::ApiKeyAuth,
    db,
    domain::audit,
    extract::ApiJson,
    openapi::ErrorResponses,
    params::{self, ApiQuery, Paging, Problems},
    tenant::Tenant,
    ApiError, AppState,
};

/// Query of `GET /policies`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListPolicies {
    /// A fragment of the policy's name.
    #[param(max_length = 200)]
    q: Option<String>,
    /// Only this product's policies.
    product_id: Option<String>,
    /// Page size, 1–100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Records to skip.
    #[param(minimum = 0, maximum = 2147483647)]
    offset: Option<u32>,
    /// `createdAt`, `updatedAt` or `name`; prefix `-` for descending.
    #[param(pattern = "^-?(createdAt|updatedAt|name)$")]
    sort: Option<String>,
}

/// Heartbeat interval bounds, in seconds: a minute to a week.
const HEARTBEAT_INTERVAL: std::ops::RangeInclusive<u32> = 60..=604_800;
const DEFAULT_HEARTBEAT_INTERVAL: u32 = 600;
const MAX_MACHINES: std::ops::RangeInclusive<u32> = 1..=1_000_000;

/// Checks a policy's rules together: node-locked means one machine.
fn check_rules(policy: &Policy, problems: &mut Problems) {
    match (policy.floating, policy.max_machines) {
        (false, Some(1)) => {}
        (false, _) => problems.add(
            "maxMachines",
            "a node-locked policy allows exactly one machine; set floating: true to allow more",
        ),
        (true, Some(max)) => problems.range("maxMachines", max, MAX_MACHINES),
        (true, None) => {}
    }
    problems.range(
        "heartbeatInterval",
        policy.heartbeat_interval,
        HEARTBEAT_INTERVAL,
    );
    if let Some(duration) = policy.duration {
        problems.range("duration", duration, 3600..=u32::MAX);
    }
    problems.range("offlineMaxDays", policy.offline_max_days, 1..=365);
    problems.range("graceDays", policy.grace_days, 0..=90);
    if let Some(max_uses) = policy.max_uses {
        problems.range("maxUses", max_uses, 1..=u32::MAX);
    }
    for code in &policy.entitlements {
        problems.entitlement_code("entitlements", code);
    }
}

/// Resolves the policy's entitlement codes to ids, reporting unknown ones.
async fn entitlement_ids(
    state: &AppState,
    tenant: &Tenant,
    codes: &[String],
    problems: &mut Problems,
) -> Result<Vec<String>, ApiError> {
    let (ids, missing) = db::entitlements::resolve(&state.db, tenant, codes).await?;
    if !missing.is_empty() {
        problems.add(
            "entitlements",
            format!(
                "no entitlement with code {}; create it first",
                missing.join(", ")
            ),
        );
    }
    Ok(ids)
}

/// Lists policies.
#[utoipa::path(get, path = "/api/v1/policies", tag = "policies", params(ListPolicies),
    responses((status = 200, body = Page<Policy>), ErrorResponses), security(("api_key" = [])))]
pub async fn list(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListPolicies>,
) -> Result<Json<Page<Policy>>, ApiError> {
    auth.require(Scope::PoliciesRead)?;
    let page = Paging::from_query(q.limit, q.offset, q.sort).page(db::policies::SORTABLE)?;
    params::check_search(q.q.as_deref(), 200)?;
    let (data, total) = db::policies::list(
        &state.db,
        &auth.tenant,
        q.q.as_deref(),
        q.product_id.as_deref(),
        &page,
    )
    .await?;
    Ok(Json(page.wrap(data, total)))
}

/// Creates a policy.
#[utoipa::path(post, path = "/api/v1/policies", tag = "policies", request_body = NewPolicy,
    responses((status = 201, body = Policy), ErrorResponses), security(("api_key" = [])))]
pub async fn create(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewPolicy>,
) -> Result<Created<Policy>, ApiError> {
    auth.require(Scope::PoliciesWrite)?;
    let mut problems = Problems::default();
    let name = problems.text("name", &body.name, 200);
    if db::products::get(&state.db, &auth.tenant, &body.product_id)
        .await?
        .is_none()
    {
        problems.add(
            "productId",
            "no product with this id in this account and environment",
        );
    }
    let now = state.clock.now();
    let max_machines = match body.max_machines {
        Some(explicit) => explicit,
        None if body.floating => None,
        None => Some(1),
    };
    let policy = Policy {
        id: Uuid::new_v4().to_string(),
        product_id: body.product_id,
        name,
        max_machines,
        floating: body.floating,
        require_heartbeat: body.require_heartbeat,
        heartbeat_interval: body
            .heartbeat_interval
            .unwrap_or(DEFAULT_HEARTBEAT_INTERVAL),
        cull_dead_machines: body.cull_dead_machines,
        duration: body.duration,
        offline_max_days: body.offline_max_days.unwrap_or(14),
        grace_days: body.grace_days.unwrap_or(7),
        max_uses: body.max_uses,
        entitlements: dedup(body.entitlements),
        created_at: now,
        updated_at: now,
    };
    check_rules(&policy, &mut problems);
    let ids = if problems.is_empty() {
        entitlement_ids(&state, &auth.tenant, &policy.entitlements, &mut problems).await?
    } else {
        vec![]
    };
    problems.finish()?;
    db::policies::insert(&state.db, &auth.tenant, &policy).await?;
    db::policies::set_entitlements(&state.db, &auth.tenant, &policy.id, &ids).await?;
    let resource = ("policy", policy.id.as_str());
    audit::wrote(
        &state,
        &auth.tenant,
        &auth.actor,
        "policy.created",
        resource,
        None,
        Some(&policy),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(policy)))
}

fn dedup(mut codes: Vec<String>) -> Vec<String> {
    codes.sort();
    codes.dedup();
    codes
}

/// Retrieves a policy.
#[utoipa::path(get, path = "/api/v1/policies/{id}", tag = "policies", params(("id" = String, Path)),
    responses((status = 200, body = Policy), ErrorResponses), security(("api_key" = [])))]
pub async fn get(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Policy>, ApiError> {
    auth.require(Scope::PoliciesRead)?;
    let policy = db::policies::get(&state.db, &auth.tenant, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("policy"))?;
    Ok(Json(policy))
}

/// Updates a policy; its licenses follow the new rules at once.
#[utoipa::path(patch, path = "/api/v1/policies/{id}", tag = "policies", params(("id" = String, Path)), request_body = PolicyUpdate,
    responses((status = 200, body = Policy), ErrorResponses), security(("api_key" = [])))]
pub async fn update(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PolicyUpdate>,
) -> Result<Json<Policy>, ApiError> {
    auth.require(Scope::PoliciesWrite)?;
    let mut policy = db::policies::get(&state.db, &auth.tenant, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("policy"))?;
    let before = policy.clone();
    let mut problems = Problems::default();
    if let Some(name) = &body.name {
        policy.name = problems.text("name", name, 200);
    }
    if let Some(floating) = body.floating {
        policy.floating = floating;
        if !floating && body.max_machines.is_none() {
            policy.max_machines = Some(1);
        }
    }
    if let Some(max_machines) = body.max_machines {
        policy.max_machines = max_machines;
    }
    if let Some(v) = body.require_heartbeat {
        policy.require_heartbeat = v;
    }
    if let Some(v) = body.heartbeat_interval {
        policy.heartbeat_interval = v;
    }
    if let Some(v) = body.cull_dead_machines {
        policy.cull_dead_machines = v;
    }
    if let Some(v) = body.duration {
        policy.duration = v;
    }
    if let Some(v) = body.offline_max_days {
        policy.offline_max_days = v;
    }
    if let Some(v) = body.grace_days {
        policy.grace_days = v;
    }
    if let Some(v) = body.max_uses {
        policy.max_uses = v;
    }
    if let Some(codes) = body.entitlements {
        policy.entitlements = dedup(codes);
    }
    check_rules(&policy, &mut problems);
    let ids = if problems.is_empty() {
        entitlement_ids(&state, &auth.tenant, &policy.entitlements, &mut problems).await?
    } else {
        vec![]
    };
    problems.finish()?;
    policy.updated_at = state.clock.now();
    db::policies::update(&state.db, &auth.tenant, &policy).await?;
    db::policies::set_entitlements(&state.db, &auth.tenant, &policy.id, &ids).await?;
    let resource = ("policy", policy.id.as_str());
    audit::wrote(
        &state,
        &auth.tenant,
        &auth.actor,
        "policy.updated",
        resource,
        Some(&before),
        Some(&policy),
    )
    .await?;
    Ok(Json(policy))
}

/// Deletes a policy. Refused while licenses use it.
#[utoipa::path(delete, path = "/api/v1/policies/{id}", tag = "policies", params(("id" = String, Path)),
    responses((status = 204), (status = 409, body = licentric_core::wire::ErrorEnvelope), ErrorResponses), security(("api_key" = [])))]
pub async fn delete(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    auth.require(Scope::PoliciesWrite)?;
    let policy = db::policies::get(&state.db, &auth.tenant, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("policy"))?;
    let licenses = db::policies::license_count(&state.db, &auth.tenant, &id).await?;
    if licenses > 0 {
        return Err(ApiError::Conflict {
            code: "policy_in_use",
            message: format!("{licenses} license(s) use this policy. Move them to another policy (PATCH policyId) or delete them first."),
            details: Some(json!({ "licenses": licenses })),
        });
    }
    db::policies::delete(&state.db, &auth.tenant, &id).await?;
    audit::wrote(
        &state,
        &auth.tenant,
        &auth.actor,
        "policy.deleted",
        ("policy", &id),
        Some(&policy),
        None,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
