//! The audit trail: who changed what, and when; exported as CSV.

use licentric_core::wire::{AuditEvent, Page};
use tauri::State;

use super::{licenses::SavedExport, machines::save_download, run, session, ListQuery};
use crate::{error::Error, state::AppState};

/// The audit trail, newest first; filters `resourceType`, `resourceId`, `action`,
/// `actorId`, `since`, `until`; `after` = the last event's id for the next page.
#[tauri::command]
pub async fn list_events(
    state: State<'_, AppState>,
    query: ListQuery,
) -> Result<Page<AuditEvent>, Error> {
    run(&state, "list_events", |api| async move {
        api.list_events(&query.params()).await
    })
    .await
}

/// Exports the events the audit log's filters match as CSV into Downloads.
#[tauri::command]
pub async fn export_events_csv(
    state: State<'_, AppState>,
    query: ListQuery,
) -> Result<SavedExport, Error> {
    let session = session(&state, "export_events_csv").await?;
    let download = session
        .api
        .export_events_csv(&query.params())
        .await
        .map_err(|error| state.remember("export_events_csv", error.into()))?;
    save_download(&state, "export_events_csv", "licentric-audit-log", download).await
}
