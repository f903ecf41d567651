//! `/api/v1/products`.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use licentric_core::{
    wire::{CurrentSigningKey, NewProduct, Page, Product, ProductUpdate},
    KeyPrefix, Scope,
};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::Created;
use crate::{
    auth::ApiKeyAuth,
    db::{self, products::ProductRecord},
    domain::audit,
    extract::ApiJson,
    openapi::ErrorResponses,
    params::{self, ApiQuery, Paging, Problems},
    signing,
    tenant::Tenant,
    ApiError, AppState,
};

/// The tenant's current signing key, which every product shows so vendors can pin it.
async fn signing_key(state: &AppState, tenant: &Tenant) -> Result<CurrentSigningKey, ApiError> {
    Ok(signing::current(
        state.db.sqlite()?,
        &state.settings.secret,
        tenant,
        state.clock.now(),
    )
    .await?)
}

/// Query of `GET /products`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListProducts {
    /// A fragment of the product's name.
    #[param(max_length = 200)]
    q: Option<String>,
    /// Page size, 1–100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Records to skip.
    #[param(minimum = 0, maximum = 2147483647)]
    offset: Option<u32>,
    /// `createdAt`, `updatedAt` or `name`; prefix `-` for descending (default `-createdAt`).
    #[param(pattern = "^-?(createdAt|updatedAt|name)$")]
    sort: Option<String>,
}

/// Lists products. Each carries `signingKey`, the key its files and tokens are signed
/// with now.
#[utoipa::path(get, path = "/api/v1/products", tag = "products", params(ListProducts),
    responses((status = 200, body = Page<Product>), ErrorResponses), security(("api_key" = [])))]
pub async fn list(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListProducts>,
) -> Result<Json<Page<Product>>, ApiError> {
    auth.require(Scope::ProductsRead)?;
    let page = Paging::from_query(q.limit, q.offset, q.sort).page(db::products::SORTABLE)?;
    params::check_search(q.q.as_deref(), 200)?;
    let (records, total) =
        db::products::list(&state.db, &auth.tenant, q.q.as_deref(), &page).await?;
    let key = signing_key(&state, &auth.tenant).await?;
    let data = records
        .into_iter()
        .map(|record| record.into_wire(&auth.tenant, key.clone()))
        .collect();
    Ok(Json(page.wrap(data, total)))
}

/// Creates a product.
#[utoipa::path(post, path = "/api/v1/products", tag = "products", request_body = NewProduct,
    responses((status = 201, body = Product), ErrorResponses), security(("api_key" = [])))]
pub async fn create(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewProduct>,
) -> Result<Created<Product>, ApiError> {
    auth.require(Scope::ProductsWrite)?;
    let mut problems = Problems::default();
    let name = problems.text("name", &body.name, 200);
    let prefix = check_prefix(&mut problems, &body.key_prefix);
    problems.finish()?;
    let now = state.clock.now();
    let product = ProductRecord {
        id: Uuid::new_v4().to_string(),
        name,
        key_prefix: prefix,
        created_at: now,
        updated_at: now,
    };
    db::products::insert(
        &state.db,
        &auth.tenant,
        &product.id,
        &product.name,
        &product.key_prefix,
        now,
    )
    .await?;
    let key = signing_key(&state, &auth.tenant).await?;
    let product = product.into_wire(&auth.tenant, key);
    let resource = ("product", product.id.as_str());
    audit::wrote(
        &state,
        &auth.tenant,
        &auth.actor,
        "product.created",
        resource,
        None,
        Some(&product),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(product)))
}

fn check_prefix(problems: &mut Problems, prefix: &str) -> String {
    match KeyPrefix::parse(prefix) {
        Ok(prefix) => prefix.as_str().to_owned(),
        Err(error) => {
            problems.add("keyPrefix", error.to_string());
            String::new()
        }
    }
}

/// Retrieves a product.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "products", params(("id" = String, Path)),
    responses((status = 200, body = Product), ErrorResponses), security(("api_key" = [])))]
pub async fn get(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Product>, ApiError> {
    auth.require(Scope::ProductsRead)?;
    let product = db::products::get(&state.db, &auth.tenant, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("product"))?;
    let key = signing_key(&state, &auth.tenant).await?;
    Ok(Json(product.into_wire(&auth.tenant, key)))
}

/// Updates a product's name or key prefix (existing keys keep theirs).
#[utoipa::path(patch, path = "/api/v1/products/{id}", tag = "products", params(("id" = String, Path)), request_body = ProductUpdate,
    responses((status = 200, body = Product), ErrorResponses), security(("api_key" = [])))]
pub async fn update(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ProductUpdate>,
) -> Result<Json<Product>, ApiError> {
    auth.require(Scope::ProductsWrite)?;
    let mut product = db::products::get(&state.db, &auth.tenant, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("product"))?;
    let key = signing_key(&state, &auth.tenant).await?;
    let before = product.clone().into_wire(&auth.tenant, key.clone());
    let mut problems = Problems::default();
    if let Some(name) = &body.name {
        product.name = problems.text("name", name, 200);
    }
    if let Some(prefix) = &body.key_prefix {
        product.key_prefix = check_prefix(&mut problems, prefix);
    }
    problems.finish()?;
    product.updated_at = state.clock.now();
    db::products::update(&state.db, &auth.tenant, &product).await?;
    let product = product.into_wire(&auth.tenant, key);
    let resource = ("product", product.id.as_str());
    audit::wrote(
        &state,
        &auth.tenant,
        &auth.actor,
        "product.updated",
        resource,
        Some(&before),
        Some(&product),
    )
    .await?;
    Ok(Json(product))
}

/// Deletes a product and its policies. Refused while it has licenses.
#[utoipa::path(delete, path = "/api/v1/products/{id}", tag = "products", params(("id" = String, Path)),
    responses((status = 204), (status = 409, body = licentric_core::wire::ErrorEnvelope), ErrorResponses), security(("api_key" = [])))]
pub async fn delete(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    auth.require(Scope::ProductsWrite)?;
    let product = db::products::get(&state.db, &auth.tenant, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("product"))?;
    let licenses = db::products::license_count(&state.db, &auth.tenant, &id).await?;
    if licenses > 0 {
        return Err(ApiError::conflict(
            "product_has_licenses",
            format!("This product has {licenses} license(s). Delete or revoke them first; deleting a product never deletes licenses silently."),
        ));
    }
    db::products::delete(&state.db, &auth.tenant, &id).await?;
    let key = signing_key(&state, &auth.tenant).await?;
    let product = product.into_wire(&auth.tenant, key);
    audit::wrote(
        &state,
        &auth.tenant,
        &auth.actor,
        "product.deleted",
        ("product", &id),
        Some(&product),
        None,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
