//! The audit trail: who changed what, and when.

use licentric_core::wire::{AuditEvent, Page};
use tauri::State;

use super::{run, ListQuery};
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
