//! The support desk: a customer's offline activation request in (text, file or a picture
//! of its QR code), checked against the license it names, and the signed `.lic` out. The
//! decisions are in `support.rs`; these commands fetch the facts and carry the answers.

use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, Utc};
use licentric_client::ListParams;
use licentric_core::{
    wire::{License, Machine},
    ActivationRequest, LicenseReference,
};
use serde::Serialize;
use tauri::State;

use super::{run, session};
use crate::{
    commands::export_folder,
    error::Error,
    state::AppState,
    support::{self, Found, ReadRequest, RequestReview},
};

/// The largest picture or file the desk reads: a phone photo is a few MB.
const MAX_FILE_BYTES: usize = 25 * 1024 * 1024;

/// Reads a request out of a dropped or chosen file (base64 of its bytes): a text file, or
/// a photo or screenshot of the request's QR code, decoded here rather than in the web
/// view.
#[tauri::command]
pub async fn read_activation_request(
    state: State<'_, AppState>,
    bytes_base64: String,
) -> Result<ReadRequest, Error> {
    let bytes = STANDARD.decode(bytes_base64.trim()).map_err(|_| {
        Error::InvalidInput("The file did not arrive whole. Drop or choose it again.".into())
    })?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(Error::InvalidInput(
            "This file is larger than 25 MB, too large for a request or a photo of one. Ask the customer for a smaller picture or the request's text.".into(),
        ));
    }
    // Decoding a large photo takes a moment of CPU: off the async runtime.
    let read = tokio::task::spawn_blocking(move || support::read_request_file(&bytes))
        .await
        .map_err(|e| Error::InvalidInput(format!("The picture could not be read ({e}).")))?;
    read.map_err(|refusal| {
        state.remember(
            "read_activation_request",
            Error::InvalidInput(refusal.to_string()),
        )
    })
}

/// Checks a request before anything is issued: what it asks for, the license it names
/// (and its machines), and every problem, by name. `product_id`: the product support
/// expects the customer to be activating, if chosen.
#[tauri::command]
pub async fn review_activation_request(
    state: State<'_, AppState>,
    request: String,
    product_id: Option<String>,
) -> Result<RequestReview, Error> {
    let parsed = match ActivationRequest::parse(&request) {
        Ok(parsed) => parsed,
        Err(refusal) => return Ok(support::malformed(&request, refusal)),
    };
    let during = "review_activation_request";
    let api = session(&state, during).await?.api.clone();
    let remember = |error: licentric_client::Error| state.remember(during, error.into());
    let license = match parsed.license() {
        LicenseReference::Key(key) => {
            let params = ListParams {
                search: Some(key.as_str().to_owned()),
                ..ListParams::new().limit(10)
            };
            api.list_licenses(&params)
                .await
                .map_err(remember)?
                .data
                .into_iter()
                .find(|license| license.key == key.as_str())
        }
        LicenseReference::Id(id) => match api.get_license(id).await {
            Ok(license) => Some(license),
            Err(licentric_client::Error::NotFound(_)) => None,
            Err(error) => return Err(remember(error)),
        },
    };
    let mut found = Found {
        license,
        ..Found::default()
    };
    if let Some(license) = &found.license {
        // The name only makes the problems readable; a key without products:read still
        // gets a review.
        found.product_name = api
            .get_product(&license.product_id)
            .await
            .ok()
            .map(|p| p.name);
        let params = ListParams::new()
            .filter("licenseId", license.id.clone())
            .limit(100);
        found.machines = api.list_machines(&params).await.map_err(remember)?.data;
    }
    let product_id = product_id.filter(|p| !p.trim().is_empty());
    Ok(support::review(
        &parsed,
        found,
        product_id.as_deref(),
        state.now(),
    ))
}

/// A license file issued for a request.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct IssuedLicenseFile {
    /// The signed `.lic` text.
    pub certificate: String,
    /// The name to save it under, e.g. `licentric-license-render-node-07.lic`.
    pub file_name: String,
    /// The machine, now on the license.
    pub machine: Machine,
    /// The license, with the machine counted.
    pub license: License,
    /// Until when the file lets the machine work offline; before then the customer sends
    /// a new request for a fresh file.
    pub works_offline_until: Option<DateTime<Utc>>,
}

/// Issues the signed license file for a request: the server checks the license again,
/// registers the machine (or finds it already there) and signs a file bound to it.
#[tauri::command]
pub async fn issue_offline_license(
    state: State<'_, AppState>,
    request: String,
) -> Result<IssuedLicenseFile, Error> {
    let activation = run(&state, "issue_offline_license", |api| async move {
        api.offline_activation(&request).await
    })
    .await?;
    let name = activation
        .machine
        .name
        .clone()
        .unwrap_or_else(|| activation.machine.fingerprint.chars().take(12).collect());
    // Read back for the message to the customer only: the file came from the server just
    // now, and the customer's app verifies it.
    let works_offline_until =
        licentric_core::dangerous::decode_license_file_unverified(&activation.certificate)
            .ok()
            .map(|(_, payload)| payload.expires_at);
    Ok(IssuedLicenseFile {
        works_offline_until,
        certificate: activation.certificate,
        file_name: format!("{}.lic", support::license_file_stem(&name)),
        machine: activation.machine,
        license: activation.license,
    })
}

/// Where a file was saved.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct SavedFile {
    /// Its full path.
    pub path: String,
    /// The folder, to tell the user where to look.
    pub folder: String,
}

/// Saves an issued license file into Downloads (or the app's data folder when there is
/// none) under the machine's name, never overwriting an earlier one.
#[tauri::command]
pub async fn save_license_file(
    state: State<'_, AppState>,
    certificate: String,
    machine_name: String,
) -> Result<SavedFile, Error> {
    let folder = export_folder(state.data_dir(), "license-files");
    let stem = support::license_file_stem(&machine_name);
    let storage =
        |e: std::io::Error| state.remember("save_license_file", Error::Storage(e.to_string()));
    std::fs::create_dir_all(&folder).map_err(storage)?;
    let mut path = folder.join(format!("{stem}.lic"));
    let mut n = 2;
    while path.exists() {
        path = folder.join(format!("{stem}-{n}.lic"));
        n += 1;
    }
    std::fs::write(&path, certificate).map_err(storage)?;
    Ok(SavedFile {
        path: path.display().to_string(),
        folder: folder.display().to_string(),
    })
}
