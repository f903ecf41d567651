//! Signing keys: the account's Ed25519 keys that sign tokens and license files.

use licentric_core::wire::SigningKey;
use tauri::State;

use super::run;
use crate::{error::Error, state::AppState};

/// The signing keys, newest first (public halves only).
#[tauri::command]
pub async fn list_signing_keys(state: State<'_, AppState>) -> Result<Vec<SigningKey>, Error> {
    run(&state, "list_signing_keys", |api| async move {
        api.list_signing_keys().await
    })
    .await
}

/// Rotates the signing key: apps that pinned only the old public key refuse what the
/// new one signs until they are given it.
#[tauri::command]
pub async fn rotate_signing_key(state: State<'_, AppState>) -> Result<SigningKey, Error> {
    run(&state, "rotate_signing_key", |api| async move {
        api.rotate_signing_key().await
    })
    .await
}
