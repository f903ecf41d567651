//! Policies: the rules of a product's licenses.

use licentric_core::wire::{NewPolicy, Page, Policy, PolicyUpdate};
use tauri::State;

use super::{run, ListQuery};
use crate::{error::Error, state::AppState};

/// Lists policies (`q` matches names; filter `productId`).
#[tauri::command]
pub async fn list_policies(
    state: State<'_, AppState>,
    query: ListQuery,
) -> Result<Page<Policy>, Error> {
    run(&state, "list_policies", |api| async move {
        api.list_policies(&query.params()).await
    })
    .await
}

/// One policy.
#[tauri::command]
pub async fn get_policy(state: State<'_, AppState>, id: String) -> Result<Policy, Error> {
    run(&state, "get_policy", |api| async move {
        api.get_policy(&id).await
    })
    .await
}

/// Creates a policy.
#[tauri::command]
pub async fn create_policy(state: State<'_, AppState>, policy: NewPolicy) -> Result<Policy, Error> {
    run(&state, "create_policy", |api| async move {
        api.create_policy(&policy).await
    })
    .await
}

/// Edits a policy.
#[tauri::command]
pub async fn update_policy(
    state: State<'_, AppState>,
    id: String,
    update: PolicyUpdate,
) -> Result<Policy, Error> {
    run(&state, "update_policy", |api| async move {
        api.update_policy(&id, &update).await
    })
    .await
}

/// Deletes a policy (refused while licenses use it).
#[tauri::command]
pub async fn delete_policy(state: State<'_, AppState>, id: String) -> Result<(), Error> {
    run(&state, "delete_policy", |api| async move {
        api.delete_policy(&id).await
    })
    .await
}
