//! `/api/v1/api-keys`: a key sees, creates, rotates and revokes only keys of its account
//! and environment whose scopes it holds itself, so no key can widen its own powers or
//! learn of keys more powerful than itself (least privilege: an `analytics:read` key sees
//! only `analytics:read` keys). Any other key is a 404, as if it did not exist.

use std::collections::BTreeSet;

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use licentric_core::{
    wire::{ApiKey, CurrentApiKey, NewApiKey, Page},
    Scope,
};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::Created;
use crate::{
    api_key,
    auth::ApiKeyAuth,
    db::{self, api_keys::ApiKeyRecord},
    domain::audit,
    extract::ApiJson,
    openapi::ErrorResponses,
    params::{ApiQuery, Paging, Problems},
    ApiError, AppState,
};

const SORTABLE: &[(&str, &str)] = &[
    ("createdAt", "created_at"),
    ("name", "name"),
    ("lastUsedAt", "last_used_at"),
];

fn forbid_escalation(
    auth: &ApiKeyAuth,
    scopes: &BTreeSet<Scope>,
    verb: &str,
) -> Result<(), ApiError> {
    let missing: Vec<&str> = scopes
        .difference(&auth.scopes)
        .map(|s| s.as_str())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "This API key cannot {verb} a key with scopes it does not hold itself: {}.",
            missing.join(", ")
        )))
    }
}

/// The key with this id, if the caller may see it (its scopes lie within the caller's).
async fn load(state: &AppState, auth: &ApiKeyAuth, id: &str) -> Result<ApiKeyRecord, ApiError> {
    let record = db::api_keys::get(state.db.sqlite()?, &auth.tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("API key"))?;
    if record.scope_set()?.is_subset(&auth.scopes) {
        Ok(record)
    } else {
        Err(ApiError::not_found("API key"))
    }
}

/// Query of `GET /api-keys`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListApiKeys {
    /// Page size, 1–100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Records to skip.
    #[param(minimum = 0, maximum = 2147483647)]
    offset: Option<u32>,
    /// `createdAt`, `name` or `lastUsedAt`; prefix `-` for descending.
    #[param(pattern = "^-?(createdAt|name|lastUsedAt)$")]
    sort: Option<String>,
}

/// Lists the unrevoked API keys of this account and environment (never the keys themselves).
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api-keys", params(ListApiKeys),
    responses((status = 200, body = Page<ApiKey>), ErrorResponses), security(("api_key" = [])))]
pub async fn list(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListApiKeys>,
) -> Result<Json<Page<ApiKey>>, ApiError> {
    let page = Paging::from_query(q.limit, q.offset, q.sort).page(SORTABLE)?;
    let (records, total) =
        db::api_keys::list(state.db.sqlite()?, &auth.tenant, &auth.scopes, &page).await?;
    let data = records
        .into_iter()
        .map(ApiKeyRecord::into_wire)
        .collect::<db::Result<_>>()?;
    Ok(Json(page.wrap(data, total)))
}

/// Creates an API key for this key's environment, with some or all of this key's scopes.
/// The answer holds the key, shown this once.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api-keys", request_body = NewApiKey,
    responses((status = 201, body = ApiKey), ErrorResponses), security(("api_key" = [])))]
pub async fn create(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewApiKey>,
) -> Result<Created<ApiKey>, ApiError> {
    let mut problems = Problems::default();
    let name = problems.text("name", &body.name, 200);
    let mut scopes = BTreeSet::new();
    for scope in &body.scopes {
        match scope.parse::<Scope>() {
            Ok(scope) => {
                scopes.insert(scope);
            }
            Err(error) => problems.add("scopes", error.to_string()),
        }
    }
    if body.scopes.is_empty() {
        problems.add("scopes", "must list at least one scope");
    }
    problems.finish()?;
    forbid_escalation(&auth, &scopes, "create")?;
    let key = api_key::generate(auth.tenant.environment);
    let id = Uuid::new_v4().to_string();
    let row = db::api_keys::NewApiKeyRow {
        id: &id,
        tenant: &auth.tenant,
        name: &name,
        key_hash: &key.hash,
        display_prefix: &key.display_prefix,
        scopes: &scopes,
    };
    db::api_keys::insert(state.db.sqlite()?, &row, state.clock.now()).await?;
    let mut created = load(&state, &auth, &id).await?.into_wire()?;
    audit::wrote(
        &state,
        &auth.tenant,
        &auth.actor,
        "api_key.created",
        ("api_key", &id),
        None,
        Some(&created),
    )
    .await?;
    created.key = Some(key.secret);
    Ok((StatusCode::CREATED, Json(created)))
}

/// Retrieves an API key (never the key itself).
/// The calling key: its id, name, environment, scopes and account, so a client can show
/// only what the key may do. Needs no scope.
#[utoipa::path(get, path = "/api/v1/api-keys/me", tag = "api-keys",
    responses((status = 200, body = CurrentApiKey), ErrorResponses), security(("api_key" = [])))]
pub async fn me(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
) -> Result<Json<CurrentApiKey>, ApiError> {
    let key = load(&state, &auth, &auth.key_id).await?.into_wire()?;
    Ok(Json(CurrentApiKey {
        id: key.id,
        name: key.name,
        environment: key.environment,
        scopes: key.scopes,
        display_prefix: key.display_prefix,
        account_id: auth.tenant.account_id,
    }))
}

#[utoipa::path(get, path = "/api/v1/api-keys/{id}", tag = "api-keys", params(("id" = String, Path)),
    responses((status = 200, body = ApiKey), ErrorResponses), security(("api_key" = [])))]
pub async fn get(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ApiKey>, ApiError> {
    Ok(Json(load(&state, &auth, &id).await?.into_wire()?))
}

/// Revokes an API key; it stops working at once. A key may revoke itself.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api-keys", params(("id" = String, Path)),
    responses((status = 204), ErrorResponses), security(("api_key" = [])))]
pub async fn revoke(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    // A key more powerful than the caller is not found, so it can be neither revoked
    // nor rotated by it.
    let revoked = load(&state, &auth, &id).await?.into_wire()?;
    db::api_keys::revoke(state.db.sqlite()?, &auth.tenant, &id, state.clock.now()).await?;
    audit::wrote(
        &state,
        &auth.tenant,
        &auth.actor,
        "api_key.revoked",
        ("api_key", &id),
        Some(&revoked),
        None,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces an API key's secret; the old one stops working at once. The answer holds the
/// new key, shown this once.
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/rotate", tag = "api-keys", params(("id" = String, Path)),
    responses((status = 200, body = ApiKey), ErrorResponses), security(("api_key" = [])))]
pub async fn rotate(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ApiKey>, ApiError> {
    // A key more powerful than the caller is not found, so it can be neither revoked
    // nor rotated by it.
    load(&state, &auth, &id).await?;
    let key = api_key::generate(auth.tenant.environment);
    db::api_keys::rotate(
        state.db.sqlite()?,
        &auth.tenant,
        &id,
        &key.hash,
        &key.display_prefix,
    )
    .await?;
    let mut rotated = load(&state, &auth, &id).await?.into_wire()?;
    audit::wrote::<ApiKey>(
        &state,
        &auth.tenant,
        &auth.actor,
        "api_key.rotated",
        ("api_key", &id),
        None,
        None,
    )
    .await?;
    rotated.key = Some(key.secret);
    Ok(Json(rotated))
}
