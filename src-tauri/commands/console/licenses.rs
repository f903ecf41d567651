//! Licenses: the searchable list, one license and its actions, entitlements and dry-run
//! validation; issuing many with progress (cancellable, keys saved as CSV), actions on
//! many, CSV import (dry run first) and export.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, OnceLock,
    },
};

use licentric_core::wire::{
    ActionResults, BulkIssue, DiagnoseRequest, Diagnosis, ImportReport, License, LicenseAction,
    LicenseUpdate, NewLicense, Page,
};
use serde::{Deserialize, Serialize};
use tauri::{ipc::Channel, State};

use super::{run, session, ListQuery};
use crate::{
    commands::{export_folder, save_export},
    error::Error,
    state::AppState,
};

/// Lists licenses: `q` matches a key fragment, id, name or metadata value (e.g. an
/// e-mail); filters `status`, `productId`, `policyId`, `expiresBefore`, `expiresAfter`,
/// `fingerprint`.
#[tauri::command]
pub async fn list_licenses(
    state: State<'_, AppState>,
    query: ListQuery,
) -> Result<Page<License>, Error> {
    run(&state, "list_licenses", |api| async move {
        api.list_licenses(&query.params()).await
    })
    .await
}

/// One license.
#[tauri::command]
pub async fn get_license(state: State<'_, AppState>, id: String) -> Result<License, Error> {
    run(&state, "get_license", |api| async move {
        api.get_license(&id).await
    })
    .await
}

/// Issues one license.
#[tauri::command]
pub async fn create_license(
    state: State<'_, AppState>,
    license: NewLicense,
) -> Result<License, Error> {
    run(&state, "create_license", |api| async move {
        api.create_license(&license).await
    })
    .await
}

/// Edits a license's name, expiry, metadata, policy or use count.
#[tauri::command]
pub async fn update_license(
    state: State<'_, AppState>,
    id: String,
    update: LicenseUpdate,
) -> Result<License, Error> {
    run(&state, "update_license", |api| async move {
        api.update_license(&id, &update).await
    })
    .await
}

/// Suspends, reinstates, revokes, bans, renews or deletes one license; answers the
/// license as it is now (`null` once deleted).
#[tauri::command]
pub async fn license_action(
    state: State<'_, AppState>,
    id: String,
    action: LicenseAction,
) -> Result<Option<License>, Error> {
    run(&state, "license_action", |api| async move {
        match action {
            LicenseAction::Suspend => api.suspend_license(&id).await.map(Some),
            LicenseAction::Reinstate => api.reinstate_license(&id).await.map(Some),
            LicenseAction::Revoke => api.revoke_license(&id).await.map(Some),
            LicenseAction::Ban => api.ban_license(&id).await.map(Some),
            LicenseAction::Renew => api.renew_license(&id).await.map(Some),
            LicenseAction::Delete => api.delete_license(&id).await.map(|()| None),
        }
    })
    .await
}

/// Grants a license entitlements beyond its policy's.
#[tauri::command]
pub async fn attach_entitlements(
    state: State<'_, AppState>,
    id: String,
    codes: Vec<String>,
) -> Result<License, Error> {
    run(&state, "attach_entitlements", |api| async move {
        let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
        api.attach_entitlements(&id, &codes).await
    })
    .await
}

/// Takes one of the license's own entitlements away.
#[tauri::command]
pub async fn detach_entitlement(
    state: State<'_, AppState>,
    id: String,
    code: String,
) -> Result<License, Error> {
    run(&state, "detach_entitlement", |api| async move {
        api.detach_entitlement(&id, &code).await
    })
    .await
}

/// "Why is it failing?": every check `validate-key` would make, without counting a use.
#[tauri::command]
pub async fn diagnose_license(
    state: State<'_, AppState>,
    id: String,
    request: DiagnoseRequest,
) -> Result<Diagnosis, Error> {
    run(&state, "diagnose_license", |api| async move {
        api.diagnose_license(&id, &request).await
    })
    .await
}

/// One action on up to 1,000 licenses, with a result per license.
#[tauri::command]
pub async fn act_on_licenses(
    state: State<'_, AppState>,
    action: LicenseAction,
    ids: Vec<String>,
) -> Result<ActionResults, Error> {
    run(&state, "act_on_licenses", |api| async move {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        api.act_on_licenses(action, &ids).await
    })
    .await
}

/// How far an issue of many licenses has come.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct IssueProgress {
    /// Licenses issued so far.
    pub issued: u32,
    /// Licenses asked for.
    pub total: u32,
}

/// What issuing many licenses did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct IssuedLicenses {
    /// Licenses issued (fewer than asked when cancelled or failed part way).
    pub issued: u32,
    /// Licenses asked for.
    pub total: u32,
    /// Whether the vendor cancelled before the end.
    pub cancelled: bool,
    /// Where the new keys were saved as CSV (`id,key,name,expiresAt`), when that worked.
    pub saved_to: Option<String>,
    /// Why issuing stopped early, when it failed part way (what was issued is saved).
    pub error: Option<String>,
}

/// Batches of this many are issued per request, so progress moves and Cancel is quick.
const ISSUE_BATCH: u32 = 50;

fn jobs() -> &'static Mutex<HashMap<String, Arc<AtomicBool>>> {
    static JOBS: OnceLock<Mutex<HashMap<String, Arc<AtomicBool>>>> = OnceLock::new();
    JOBS.get_or_init(Mutex::default)
}

/// Issues `issue.count` licenses (up to 10,000) in batches, reporting progress on
/// `progress`; cancellable by [`cancel_console_job`] with `job`. The new keys are saved
/// as CSV in the Downloads folder (the only copy the vendor gets: the list masks nothing,
/// but a file is what they hand on).
#[tauri::command]
pub async fn issue_licenses(
    state: State<'_, AppState>,
    issue: BulkIssue,
    job: String,
    progress: Channel<IssueProgress>,
) -> Result<IssuedLicenses, Error> {
    if issue.count == 0 || issue.count > 10_000 {
        return Err(Error::InvalidInput(
            "Issue between 1 and 10,000 licenses at a time.".into(),
        ));
    }
    let session = session(&state, "issue_licenses").await?;
    let cancel = Arc::new(AtomicBool::new(false));
    jobs()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(job.clone(), cancel.clone());
    let mut issued: Vec<License> = Vec::new();
    let mut error = None;
    while (issued.len() as u32) < issue.count && !cancel.load(Ordering::SeqCst) {
        let batch = BulkIssue {
            count: (issue.count - issued.len() as u32).min(ISSUE_BATCH),
            ..issue.clone()
        };
        match session.api.bulk_issue_licenses(&batch).await {
            Ok(licenses) => issued.extend(licenses),
            Err(failure) => {
                let failure = state.remember("issue_licenses", failure.into());
                if issued.is_empty() {
                    jobs()
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&job);
                    return Err(failure);
                }
                error = Some(crate::error::CommandError::from(&failure).message);
                break;
            }
        }
        let _ = progress.send(IssueProgress {
            issued: issued.len() as u32,
            total: issue.count,
        });
    }
    jobs()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&job);
    let saved_to = save_export(
        &export_folder(state.data_dir(), "exports"),
        "licentric-issued-licenses",
        "csv",
        &keys_csv(&issued),
        state.now(),
    );
    Ok(IssuedLicenses {
        issued: issued.len() as u32,
        total: issue.count,
        cancelled: cancel.load(Ordering::SeqCst),
        saved_to,
        error,
    })
}

/// Stops a long console job (an issue of many licenses) after its current batch.
#[tauri::command]
pub fn cancel_console_job(job: String) {
    if let Some(flag) = jobs().lock().unwrap_or_else(|p| p.into_inner()).get(&job) {
        flag.store(true, Ordering::SeqCst);
    }
}

fn keys_csv(licenses: &[License]) -> String {
    let mut out = csv::Writer::from_writer(Vec::new());
    let _ = out.write_record(["id", "key", "name", "expiresAt"]);
    for license in licenses {
        let _ = out.write_record([
            license.id.as_str(),
            license.key.as_str(),
            license.name.as_deref().unwrap_or(""),
            &license
                .expires_at
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
        ]);
    }
    String::from_utf8(out.into_inner().unwrap_or_default())
        .unwrap_or_default()
        .trim_end()
        .to_owned()
}

/// Imports licenses from CSV text (header `key,policy,name,expiry,metadata`); with
/// `dry_run` only checks every row. Nothing is written while any row is bad.
#[tauri::command]
pub async fn import_licenses(
    state: State<'_, AppState>,
    csv: String,
    dry_run: bool,
) -> Result<ImportReport, Error> {
    run(&state, "import_licenses", |api| async move {
        api.import_licenses(csv.as_bytes(), dry_run).await
    })
    .await
}

/// Where an export was saved.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct SavedExport {
    /// The file.
    pub path: String,
    /// Its rows, header excluded.
    pub rows: u32,
}

/// What to export.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct ExportQuery {
    /// The list's search, filters and sort (paging ignored).
    pub query: ListQuery,
    /// Include the license keys (needs `licenses:write`).
    #[serde(default)]
    pub include_keys: bool,
}

/// Exports the licenses the list's search and filters match as CSV into the Downloads
/// folder.
#[tauri::command]
pub async fn export_licenses_csv(
    state: State<'_, AppState>,
    export: ExportQuery,
) -> Result<SavedExport, Error> {
    let session = session(&state, "export_licenses_csv").await?;
    let download = session
        .api
        .export_licenses_csv(&export.query.params(), export.include_keys)
        .await
        .map_err(|error| state.remember("export_licenses_csv", error.into()))?;
    super::machines::save_download(
        &state,
        "export_licenses_csv",
        "licentric-licenses",
        download,
    )
    .await
}
