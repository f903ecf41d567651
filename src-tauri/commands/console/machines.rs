//! Machines across licenses: search by fingerprint or name, heartbeat state, deactivate,
//! export.

use licentric_client::Download;
use licentric_core::wire::{Machine, Page};
use tauri::State;

use super::{licenses::SavedExport, run, session, ListQuery};
use crate::{commands::export_folder, error::Error, state::AppState};

/// Lists machines: `q` matches the start of a fingerprint or a fragment of the name;
/// filters `licenseId`, `heartbeatStatus`, `platform`.
#[tauri::command]
pub async fn list_machines(
    state: State<'_, AppState>,
    query: ListQuery,
) -> Result<Page<Machine>, Error> {
    run(&state, "list_machines", |api| async move {
        api.list_machines(&query.params()).await
    })
    .await
}

/// Deactivates a machine: its slot on the license is free at once.
#[tauri::command]
pub async fn delete_machine(state: State<'_, AppState>, id: String) -> Result<(), Error> {
    run(&state, "delete_machine", |api| async move {
        api.delete_machine(&id).await
    })
    .await
}

/// Exports the machines the list's search and filters match as CSV into Downloads.
#[tauri::command]
pub async fn export_machines_csv(
    state: State<'_, AppState>,
    query: ListQuery,
) -> Result<SavedExport, Error> {
    let session = session(&state, "export_machines_csv").await?;
    let download = session
        .api
        .export_machines_csv(&query.params())
        .await
        .map_err(|error| state.remember("export_machines_csv", error.into()))?;
    save_download(
        &state,
        "export_machines_csv",
        "licentric-machines",
        download,
    )
    .await
}

/// Streams a CSV download into `<Downloads>/<stem>-<time>.csv`; a download cut short
/// leaves no file behind.
pub(crate) async fn save_download(
    state: &AppState,
    during: &str,
    stem: &str,
    mut download: Download,
) -> Result<SavedExport, Error> {
    use std::io::Write;
    let folder = export_folder(state.data_dir(), "exports");
    let path = folder.join(format!(
        "{stem}-{}.csv",
        state.now().format("%Y%m%d-%H%M%S")
    ));
    let storage = |e: std::io::Error| state.remember(during, Error::Storage(e.to_string()));
    std::fs::create_dir_all(&folder).map_err(storage)?;
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).map_err(storage)?);
    let mut newlines: u32 = 0;
    loop {
        match download.chunk().await {
            Ok(Some(bytes)) => {
                newlines += bytes.iter().filter(|b| **b == b'\n').count() as u32;
                file.write_all(&bytes).map_err(storage)?;
            }
            Ok(None) => break,
            Err(error) => {
                drop(file);
                let _ = std::fs::remove_file(&path);
                return Err(state.remember(during, error.into()));
            }
        }
    }
    file.flush().map_err(storage)?;
    Ok(SavedExport {
        path: path.display().to_string(),
        rows: newlines.saturating_sub(1),
    })
}
