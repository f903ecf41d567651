//! Entitlements: the feature codes policies and licenses grant.

use licentric_core::wire::{Entitlement, EntitlementUpdate, NewEntitlement, Page};
use tauri::State;

use super::{run, ListQuery};
use crate::{error::Error, state::AppState};

/// Lists entitlements (`q` matches names and codes).
#[tauri::command]
pub async fn list_entitlements(
    state: State<'_, AppState>,
    query: ListQuery,
) -> Result<Page<Entitlement>, Error> {
    run(&state, "list_entitlements", |api| async move {
        api.list_entitlements(&query.params()).await
    })
    .await
}

/// Creates an entitlement.
#[tauri::command]
pub async fn create_entitlement(
    state: State<'_, AppState>,
    entitlement: NewEntitlement,
) -> Result<Entitlement, Error> {
    run(&state, "create_entitlement", |api| async move {
        api.create_entitlement(&entitlement).await
    })
    .await
}

/// Renames an entitlement.
#[tauri::command]
pub async fn update_entitlement(
    state: State<'_, AppState>,
    id: String,
    update: EntitlementUpdate,
) -> Result<Entitlement, Error> {
    run(&state, "update_entitlement", |api| async move {
        api.update_entitlement(&id, &update).await
    })
    .await
}

/// Deletes an entitlement (refused while in use).
#[tauri::command]
pub async fn delete_entitlement(state: State<'_, AppState>, id: String) -> Result<(), Error> {
    run(&state, "delete_entitlement", |api| async move {
        api.delete_entitlement(&id).await
    })
    .await
}
