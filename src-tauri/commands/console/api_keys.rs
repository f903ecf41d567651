//! API keys: list, create with some of the current key's scopes (shown once), rotate,
//! revoke. The console's own key is never among the answers' secrets: only keys created
//! or rotated here are shown, once, for the vendor to copy.

use licentric_core::wire::{ApiKey, NewApiKey, Page};
use tauri::State;

use super::{run, ListQuery};
use crate::{error::Error, state::AppState};

/// Lists the account's API keys in this environment (prefixes only).
#[tauri::command]
pub async fn list_api_keys(
    state: State<'_, AppState>,
    query: ListQuery,
) -> Result<Page<ApiKey>, Error> {
    run(&state, "list_api_keys", |api| async move {
        api.list_api_keys(&query.params()).await
    })
    .await
}

/// Creates an API key; the answer holds it, once.
#[tauri::command]
pub async fn create_api_key(state: State<'_, AppState>, key: NewApiKey) -> Result<ApiKey, Error> {
    run(&state, "create_api_key", |api| async move {
        api.create_api_key(&key).await
    })
    .await
}

/// Replaces an API key's secret; the answer holds the new one, once.
#[tauri::command]
pub async fn rotate_api_key(state: State<'_, AppState>, id: String) -> Result<ApiKey, Error> {
    run(&state, "rotate_api_key", |api| async move {
        api.rotate_api_key(&id).await
    })
    .await
}

/// Revokes an API key.
#[tauri::command]
pub async fn revoke_api_key(state: State<'_, AppState>, id: String) -> Result<(), Error> {
    run(&state, "revoke_api_key", |api| async move {
        api.revoke_api_key(&id).await
    })
    .await
}
