//! `/api/v1/entitlements`.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use licentric_core::{
    wire::{Entitlement, EntitlementUpdate, NewEntitlement, Page},
    Scope,
};
use serde::Deserialize;
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
    ApiError, AppState,
};

/// Query of `GET /entitlements`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListEntitlements {
    /// A fragment of the entitlement's name or code.
    #[param(max_length = 200)]
    q: Option<String>,
    /// Page size, 1–100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Records to skip.
    #[param(minimum = 0, maximum = 2147483647)]
    offset: Option<u32>,
    /// `createdAt`, `code` or `name`; prefix `-` for descending.
    #[param(pattern = "^-?(createdAt|code|name)$")]
    sort: Option<String>,
}

/// Lists entitlements.
#[utoipa::path(get, path = "/api/v1/entitlements", tag = "entitlements", params(ListEntitlements),
    responses((status = 200, body = Page<Entitlement>), ErrorResponses), security(("api_key" = [])))]
pub async fn list(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListEntitlements>,
) -> Result<Json<Page<Entitlement>>, ApiError> {
    auth.require(Scope::EntitlementsRead)?;
    let page = Paging::from_query(q.limit, q.offset, q.sort).page(db::entitlements::SORTABLE)?;
    params::check_search(q.q.as_deref(), 200)?;
    let (data, total) =
        db::entitlements::list(&state.db, &auth.tenant, q.q.as_deref(), &page).await?;
    Ok(Json(page.wrap(data, total)))
}

/// Creates an entitlement. Its code is unique per account and environment.
#[utoipa::path(post, path = "/api/v1/entitlements", tag = "entitlements", request_body = NewEntitlement,
    responses((status = 201, body = Entitlement), (status = 409, body = licentric_core::wire::ErrorEnvelope), ErrorResponses), security(("api_key" = [])))]
pub async fn create(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewEntitlement>,
) -> Result<Created<Entitlement>, ApiError> {
    auth.require(Scope::EntitlementsWrite)?;
    let mut problems = Problems::default();
    problems.entitlement_code("code", &body.code);
    let name = match &body.name {
        Some(name) => problems.text("name", name, 200),
        None => body.code.clone(),
    };
    problems.finish()?;
    let now = state.clock.now();
    let entitlement = Entitlement {
        id: Uuid::new_v4().to_string(),
        code: body.code,
        name,
        created_at: now,
        updated_at: now,
    };
    if !db::entitlements::insert(&state.db, &auth.tenant, &entitlement).await? {
        return Err(ApiError::conflict(
            "code_in_use",
            format!(
                "An entitlement with code {:?} already exists.",
                entitlement.code
            ),
        ));
    }
    let resource = ("entitlement", entitlement.id.as_str());
    audit::wrote(
        &state,
        &auth.tenant,
        &auth.actor,
        "entitlement.created",
        resource,
        None,
        Some(&entitlement),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(entitlement)))
}

/// Retrieves an entitlement.
#[utoipa::path(get, path = "/api/v1/entitlements/{id}", tag = "entitlements", params(("id" = String, Path)),
    responses((status = 200, body = Entitlement), ErrorResponses), security(("api_key" = [])))]
pub async fn get(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Entitlement>, ApiError> {
    auth.require(Scope::EntitlementsRead)?;
    let entitlement = db::entitlements::get(&state.db, &auth.tenant, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("entitlement"))?;
    Ok(Json(entitlement))
}

/// Renames an entitlement (its code is permanent).
#[utoipa::path(patch, path = "/api/v1/entitlements/{id}", tag = "entitlements", params(("id" = String, Path)), request_body = EntitlementUpdate,
    responses((status = 200, body = Entitlement), ErrorResponses), security(("api_key" = [])))]
pub async fn update(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EntitlementUpdate>,
) -> Result<Json<Entitlement>, ApiError> {
    auth.require(Scope::EntitlementsWrite)?;
    let mut problems = Problems::default();
    let name = problems.text("name", &body.name, 200);
    problems.finish()?;
    let before = db::entitlements::get(&state.db, &auth.tenant, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("entitlement"))?;
    if !db::entitlements::rename(&state.db, &auth.tenant, &id, &name, state.clock.now()).await? {
        return Err(ApiError::not_found("entitlement"));
    }
    // The answer is the record just written: `entitlements:write` covers it, and no scope
    // check may come after the write (a 403 must never follow a committed change).
    let entitlement = db::entitlements::get(&state.db, &auth.tenant, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("entitlement"))?;
    let resource = ("entitlement", id.as_str());
    audit::wrote(
        &state,
        &auth.tenant,
        &auth.actor,
        "entitlement.updated",
        resource,
        Some(&before),
        Some(&entitlement),
    )
    .await?;
    Ok(Json(entitlement))
}

/// Deletes an entitlement; licenses and policies lose it.
#[utoipa::path(delete, path = "/api/v1/entitlements/{id}", tag = "entitlements", params(("id" = String, Path)),
    responses((status = 204), ErrorResponses), security(("api_key" = [])))]
pub async fn delete(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    auth.require(Scope::EntitlementsWrite)?;
    let entitlement = db::entitlements::get(&state.db, &auth.tenant, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("entitlement"))?;
    if !db::entitlements::delete(&state.db, &auth.tenant, &id).await? {
        return Err(ApiError::not_found("entitlement"));
    }
    let resource = ("entitlement", id.as_str());
    audit::wrote(
        &state,
        &auth.tenant,
        &auth.actor,
        "entitlement.deleted",
        resource,
        Some(&entitlement),
        None,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
