//! The console's connections: list, add (key checked by the server, then kept in the OS
//! keyring), choose, remove. The web view gets each key's masked prefix and scopes only.

use serde::Deserialize;
use tauri::State;

use super::session;
use crate::{
    console::{ConsoleConnection, ConsoleSession},
    error::Error,
    state::AppState,
};

/// What the vendor enters to add a connection.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct NewConnection {
    /// A name, e.g. "Production".
    pub name: String,
    /// The server's base URL.
    pub url: String,
    /// The API key: checked, kept in the keyring, never given back.
    pub api_key: String,
}

/// Every connection, the local server first.
#[tauri::command]
pub async fn console_connections(
    state: State<'_, AppState>,
) -> Result<Vec<ConsoleConnection>, Error> {
    Ok(state
        .console()
        .connections(state.local_server().await.as_deref()))
}

/// The connection in use and what its key may do.
#[tauri::command]
pub async fn console_session(state: State<'_, AppState>) -> Result<ConsoleSession, Error> {
    Ok(session(&state, "console_session").await?.info.clone())
}

/// Adds a connection after the server accepted its key, and uses it.
#[tauri::command]
pub async fn add_console_connection(
    state: State<'_, AppState>,
    connection: NewConnection,
) -> Result<ConsoleSession, Error> {
    let local = state.local_server().await;
    state
        .console()
        .add(
            &connection.name,
            &connection.url,
            &connection.api_key,
            local.as_deref(),
        )
        .await
        .map(|session| session.info.clone())
        .map_err(|error| state.remember("add_console_connection", error))
}

/// Uses another connection.
#[tauri::command]
pub async fn use_console_connection(
    state: State<'_, AppState>,
    id: String,
) -> Result<ConsoleSession, Error> {
    let local = state.local_server().await;
    state
        .console()
        .choose(&id, local.as_deref())
        .await
        .map(|session| session.info.clone())
        .map_err(|error| state.remember("use_console_connection", error))
}

/// Forgets a connection and its key.
#[tauri::command]
pub async fn remove_console_connection(
    state: State<'_, AppState>,
    id: String,
) -> Result<Vec<ConsoleConnection>, Error> {
    let local = state.local_server().await;
    state
        .console()
        .remove(&id, local.as_deref())
        .await
        .map_err(|error| state.remember("remove_console_connection", error))
}
