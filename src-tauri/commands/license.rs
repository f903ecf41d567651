//! The end user's license: validating a key.

use licentric_client::ValidationResult;
use licentric_core::Explanation;
use serde::Serialize;
use tauri::State;

use crate::{error::Error, state::AppState};

/// A validation result with its code in plain words.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct LicenseCheck {
    /// What the server answered.
    pub result: ValidationResult,
    /// The code explained: what happened, what to do.
    pub explanation: Explanation,
}

/// Validates `key` against the license server.
#[tauri::command]
pub async fn validate_license(
    state: State<'_, AppState>,
    key: String,
) -> Result<LicenseCheck, Error> {
    let key = key.trim();
    if key.is_empty() {
        return Err(Error::InvalidInput(
            "Enter a license key, e.g. DEMO-A2B3-C4D5-E6F7-G8H9.".to_owned(),
        ));
    }
    let result = state.client()?.validate(key, None, &[]).await?;
    let explanation = result.code.explain();
    Ok(LicenseCheck {
        result,
        explanation,
    })
}
