//! `/api/v1/webhooks`: endpoints, their signing secrets, their delivery logs, and the
//! controls over them: a test event sent now, and a delivery sent again.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use licentric_core::{
    wire::{NewWebhook, Page, Webhook, WebhookDelivery, WebhookTestResult, WebhookUpdate},
    Scope,
};
use rand::{distributions::Alphanumeric, rngs::OsRng, Rng};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;

use super::Created;
use crate::{
    auth::ApiKeyAuth,
    db, delivery,
    domain::audit,
    events::EVENT_TYPES,
    extract::ApiJson,
    openapi::ErrorResponses,
    params::{self, ApiQuery, Paging, Problems},
    webhook_target, ApiError, AppState,
};

fn new_secret() -> String {
    let random: String = OsRng
        .sample_iter(&Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    format!("whsec_{random}")
}

/// Checks a webhook URL: its form, then where it leads (`webhook_target`: no credentials,
/// no loopback, private or metadata address unless the server allows it).
async fn check_url(problems: &mut Problems, state: &AppState, url: &str) -> String {
    let url = url.trim();
    match reqwest::Url::parse(url) {
        Ok(parsed) if url.len() <= 2048 => {
            if let Err(refusal) = webhook_target::check_saved(
                &parsed,
                state.settings.deliveries.private_targets,
                state.dns.as_ref(),
            )
            .await
            {
                problems.add("url", refusal.to_string());
            }
        }
        _ => problems.add(
            "url",
            "must be an http:// or https:// URL with a host, at most 2048 characters",
        ),
    }
    url.to_owned()
}

fn check_events(problems: &mut Problems, events: &[String]) {
    if events.is_empty() {
        problems.add(
            "events",
            "must list at least one event type, or \"*\" for all",
        );
    }
    for event in events {
        if event != "*" && !EVENT_TYPES.contains(&event.as_str()) {
            problems.add(
                "events",
                format!(
                    "{event:?} is not an event type; use one of {} or \"*\"",
                    EVENT_TYPES.join(", ")
                ),
            );
        }
    }
}

/// Query of `GET /webhooks`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListEndpoints {
    /// A fragment of the endpoint's URL or description.
    #[param(max_length = 200)]
    q: Option<String>,
    /// Page size, 1–100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Records to skip.
    #[param(minimum = 0, maximum = 2147483647)]
    offset: Option<u32>,
    /// A field to sort by; prefix `-` for descending (default `-createdAt`).
    sort: Option<String>,
}

/// Query of an endpoint's delivery log.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListWebhooks {
    /// Page size, 1–100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Records to skip.
    #[param(minimum = 0, maximum = 2147483647)]
    offset: Option<u32>,
    /// A field to sort by; prefix `-` for descending (default `-createdAt`).
    sort: Option<String>,
}

/// Lists webhook endpoints (without their secrets).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", params(ListEndpoints),
    responses((status = 200, body = Page<Webhook>), ErrorResponses), security(("api_key" = [])))]
pub async fn list(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListEndpoints>,
) -> Result<Json<Page<Webhook>>, ApiError> {
    auth.require(Scope::WebhooksRead)?;
    let page = Paging::from_query(q.limit, q.offset, q.sort).page(db::webhooks::SORTABLE)?;
    params::check_search(q.q.as_deref(), 200)?;
    let (data, total) =
        db::webhooks::list(state.db.sqlite()?, &auth.tenant, q.q.as_deref(), &page).await?;
    Ok(Json(page.wrap(data, total)))
}

/// Creates a webhook endpoint. The answer holds its signing secret, shown this once.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = NewWebhook,
    responses((status = 201, body = Webhook), ErrorResponses), security(("api_key" = [])))]
pub async fn create(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewWebhook>,
) -> Result<Created<Webhook>, ApiError> {
    auth.require(Scope::WebhooksWrite)?;
    let mut problems = Problems::default();
    let url = check_url(&mut problems, &state, &body.url).await;
    let events = body.events.unwrap_or_else(|| vec!["*".to_owned()]);
    check_events(&mut problems, &events);
    let description = body
        .description
        .as_deref()
        .map(|d| problems.text("description", d, 500));
    problems.finish()?;
    let now = state.clock.now();
    let secret = new_secret();
    let mut webhook = Webhook {
        id: Uuid::new_v4().to_string(),
        url,
        events,
        enabled: body.enabled.unwrap_or(true),
        disabled_reason: None,
        disabled_at: None,
        description,
        secret: None,
        created_at: now,
        updated_at: now,
    };
    db::webhooks::insert(state.db.sqlite()?, &auth.tenant, &webhook, &secret).await?;
    let resource = ("webhook", webhook.id.as_str());
    audit::wrote(
        &state,
        &auth.tenant,
        &auth.actor,
        "webhook.created",
        resource,
        None,
        Some(&webhook),
    )
    .await?;
    webhook.secret = Some(secret);
    Ok((StatusCode::CREATED, Json(webhook)))
}

/// Retrieves a webhook endpoint (without its secret).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = Webhook), ErrorResponses), security(("api_key" = [])))]
pub async fn get(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Webhook>, ApiError> {
    auth.require(Scope::WebhooksRead)?;
    let webhook = db::webhooks::get(state.db.sqlite()?, &auth.tenant, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    Ok(Json(webhook))
}

/// Updates a webhook endpoint.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)), request_body = WebhookUpdate,
    responses((status = 200, body = Webhook), ErrorResponses), security(("api_key" = [])))]
pub async fn update(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<WebhookUpdate>,
) -> Result<Json<Webhook>, ApiError> {
    auth.require(Scope::WebhooksWrite)?;
    let mut webhook = db::webhooks::get(state.db.sqlite()?, &auth.tenant, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    let before = webhook.clone();
    let mut problems = Problems::default();
    if let Some(url) = &body.url {
        webhook.url = check_url(&mut problems, &state, url).await;
    }
    if let Some(events) = body.events {
        check_events(&mut problems, &events);
        webhook.events = events;
    }
    if let Some(enabled) = body.enabled {
        if enabled && !webhook.enabled {
            // Enabled again: the reason it was disabled no longer holds (and `db::webhooks`
            // forgets its run of failures).
            webhook.disabled_reason = None;
            webhook.disabled_at = None;
        }
        webhook.enabled = enabled;
    }
    if let Some(description) = body.description {
        webhook.description = description.map(|d| problems.text("description", &d, 500));
    }
    problems.finish()?;
    webhook.updated_at = state.clock.now();
    db::webhooks::update(state.db.sqlite()?, &auth.tenant, &webhook).await?;
    let resource = ("webhook", webhook.id.as_str());
    audit::wrote(
        &state,
        &auth.tenant,
        &auth.actor,
        "webhook.updated",
        resource,
        Some(&before),
        Some(&webhook),
    )
    .await?;
    Ok(Json(webhook))
}

/// Deletes a webhook endpoint and its delivery log.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 204), ErrorResponses), security(("api_key" = [])))]
pub async fn delete(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    auth.require(Scope::WebhooksWrite)?;
    let webhook = db::webhooks::get(state.db.sqlite()?, &auth.tenant, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    if !db::webhooks::delete(state.db.sqlite()?, &auth.tenant, &id).await? {
        return Err(ApiError::not_found("webhook"));
    }
    let resource = ("webhook", id.as_str());
    audit::wrote(
        &state,
        &auth.tenant,
        &auth.actor,
        "webhook.deleted",
        resource,
        Some(&webhook),
        None,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces the signing secret; the answer holds the new one, shown this once.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = Webhook), ErrorResponses), security(("api_key" = [])))]
pub async fn rotate_secret(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Webhook>, ApiError> {
    auth.require(Scope::WebhooksWrite)?;
    let secret = new_secret();
    if !db::webhooks::set_secret(
        state.db.sqlite()?,
        &auth.tenant,
        &id,
        &secret,
        state.clock.now(),
    )
    .await?
    {
        return Err(ApiError::not_found("webhook"));
    }
    let mut webhook = db::webhooks::get(state.db.sqlite()?, &auth.tenant, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    audit::wrote::<Webhook>(
        &state,
        &auth.tenant,
        &auth.actor,
        "webhook.secret_rotated",
        ("webhook", &id),
        None,
        None,
    )
    .await?;
    webhook.secret = Some(secret);
    Ok(Json(webhook))
}

/// The endpoint's delivery log, newest first by default.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = String, Path), ListWebhooks),
    responses((status = 200, body = Page<WebhookDelivery>), ErrorResponses), security(("api_key" = [])))]
pub async fn deliveries(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ListWebhooks>,
) -> Result<Json<Page<WebhookDelivery>>, ApiError> {
    auth.require(Scope::WebhooksRead)?;
    db::webhooks::get(state.db.sqlite()?, &auth.tenant, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    let page =
        Paging::from_query(q.limit, q.offset, q.sort).page(db::webhooks::DELIVERY_SORTABLE)?;
    let (data, total) = db::webhooks::deliveries(state.db.sqlite()?, &id, &page).await?;
    Ok(Json(page.wrap(data, total)))
}

/// Sends a signed `webhook.test` event to the endpoint now, enabled or not, and answers
/// what the receiver did. The test is logged among the deliveries, and never retried.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks", params(("id" = String, Path)),
    responses(
        (status = 200, body = WebhookTestResult, description = "Sent: `delivered` says whether the receiver answered 2xx in time; a failure is not an error of this request."),
        (status = 409, body = licentric_core::wire::ErrorEnvelope, description = "`webhook_target_refused`: nothing was sent, since the URL or an address its host resolves to is not allowed."),
        ErrorResponses),
    security(("api_key" = [])))]
pub async fn test(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<WebhookTestResult>, ApiError> {
    auth.require(Scope::WebhooksWrite)?;
    let report = delivery::test(&state, &auth.tenant, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    let result = report.result;
    audit::record(
        &state,
        &auth.tenant,
        &auth.actor,
        audit::Event {
            action: "webhook.tested",
            resource_type: "webhook",
            resource_id: &id,
            changes: Some(json!({
                "deliveryId": result.delivery_id,
                "delivered": result.delivered,
                "status": result.status,
                "error": result.error,
            })),
        },
    )
    .await?;
    if report.refused {
        return Err(ApiError::conflict(
            "webhook_target_refused",
            format!(
                "{}. Nothing was sent; change the endpoint's URL.",
                result.error.unwrap_or_else(|| "refused".to_owned())
            ),
        ));
    }
    Ok(Json(result))
}

/// Queues the delivery again: a new delivery (with its own id and attempts) of the same
/// event, with the same body and event id, so a receiver can tell it has seen it.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver", tag = "webhooks",
    params(("id" = String, Path), ("deliveryId" = String, Path)),
    responses(
        (status = 202, body = WebhookDelivery, description = "Queued: the new delivery, pending."),
        (status = 409, body = licentric_core::wire::ErrorEnvelope, description = "`webhook_disabled`: enable the endpoint first."),
        ErrorResponses),
    security(("api_key" = [])))]
pub async fn redeliver(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<WebhookDelivery>), ApiError> {
    auth.require(Scope::WebhooksWrite)?;
    let webhook = db::webhooks::get(state.db.sqlite()?, &auth.tenant, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    if db::webhooks::delivery(state.db.sqlite()?, &id, &delivery_id)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("delivery"));
    }
    if !webhook.enabled {
        // Queued, it would wait unseen until the endpoint is enabled.
        return Err(ApiError::conflict(
            "webhook_disabled",
            "The endpoint is disabled, so nothing would be sent. Enable it (PATCH with \"enabled\": true), then redeliver.",
        ));
    }
    let queued = delivery::redeliver(&state, &auth.tenant, &id, &delivery_id)
        .await?
        .ok_or_else(|| ApiError::not_found("delivery"))?;
    audit::record(
        &state,
        &auth.tenant,
        &auth.actor,
        audit::Event {
            action: "webhook.redelivered",
            resource_type: "webhook",
            resource_id: &id,
            changes: Some(json!({
                "deliveryId": queued.id,
                "redeliveryOf": delivery_id,
                "eventId": queued.event_id,
                "event": queued.event,
            })),
        },
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(queued)))
}
