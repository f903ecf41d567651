//! Webhooks: endpoints with event filters, enable/disable, test events, the delivery log
//! and redelivery.

use licentric_core::wire::{
    NewWebhook, Page, Webhook, WebhookDelivery, WebhookTestResult, WebhookUpdate,
};
use tauri::State;

use super::{run, ListQuery};
use crate::{error::Error, state::AppState};

/// Lists webhook endpoints (`q` matches URLs).
#[tauri::command]
pub async fn list_webhooks(
    state: State<'_, AppState>,
    query: ListQuery,
) -> Result<Page<Webhook>, Error> {
    run(&state, "list_webhooks", |api| async move {
        api.list_webhooks(&query.params()).await
    })
    .await
}

/// Creates an endpoint; the answer holds its signing secret.
#[tauri::command]
pub async fn create_webhook(
    state: State<'_, AppState>,
    webhook: NewWebhook,
) -> Result<Webhook, Error> {
    run(&state, "create_webhook", |api| async move {
        api.create_webhook(&webhook).await
    })
    .await
}

/// One endpoint, for its page.
#[tauri::command]
pub async fn get_webhook(state: State<'_, AppState>, id: String) -> Result<Webhook, Error> {
    run(&state, "get_webhook", |api| async move {
        api.get_webhook(&id).await
    })
    .await
}

/// Edits an endpoint (URL, events, enabled).
#[tauri::command]
pub async fn update_webhook(
    state: State<'_, AppState>,
    id: String,
    update: WebhookUpdate,
) -> Result<Webhook, Error> {
    run(&state, "update_webhook", |api| async move {
        api.update_webhook(&id, &update).await
    })
    .await
}

/// Deletes an endpoint.
#[tauri::command]
pub async fn delete_webhook(state: State<'_, AppState>, id: String) -> Result<(), Error> {
    run(&state, "delete_webhook", |api| async move {
        api.delete_webhook(&id).await
    })
    .await
}

/// Replaces an endpoint's signing secret; the answer holds the new one.
#[tauri::command]
pub async fn rotate_webhook_secret(
    state: State<'_, AppState>,
    id: String,
) -> Result<Webhook, Error> {
    run(&state, "rotate_webhook_secret", |api| async move {
        api.rotate_webhook_secret(&id).await
    })
    .await
}

/// Sends a test event now and answers what the receiver said.
#[tauri::command]
pub async fn test_webhook(
    state: State<'_, AppState>,
    id: String,
) -> Result<WebhookTestResult, Error> {
    run(&state, "test_webhook", |api| async move {
        api.test_webhook(&id).await
    })
    .await
}

/// An endpoint's delivery log, newest first.
#[tauri::command]
pub async fn webhook_deliveries(
    state: State<'_, AppState>,
    id: String,
    query: ListQuery,
) -> Result<Page<WebhookDelivery>, Error> {
    run(&state, "webhook_deliveries", |api| async move {
        api.webhook_deliveries(&id, &query.params()).await
    })
    .await
}

/// Sends a delivery again.
#[tauri::command]
pub async fn redeliver_webhook_delivery(
    state: State<'_, AppState>,
    id: String,
    delivery_id: String,
) -> Result<WebhookDelivery, Error> {
    run(&state, "redeliver_webhook_delivery", |api| async move {
        api.redeliver_webhook_delivery(&id, &delivery_id).await
    })
    .await
}
