//! Offline activation for an air-gapped machine, step by step: the request out (text, QR
//! code, file), the signed license file in, verified locally with a precise reason when
//! it is refused.

use serde::Serialize;
use tauri::State;

use super::{
    export_folder,
    license::{view, LicenseView},
    save_export,
};
use crate::{error::Error, state::AppState};

/// This machine's activation request, ready to hand to support.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct OfflineRequest {
    /// The request as text (`LICENTRIC-REQ1.…`), to copy or read out.
    pub text: String,
    /// The same as a QR code (SVG markup).
    pub qr_svg: String,
    /// Where it was also saved as a file, when that worked.
    pub saved_to: Option<String>,
}

/// Makes this machine's activation request for `key`, and saves it as a file.
#[tauri::command]
pub async fn offline_request(
    state: State<'_, AppState>,
    key: String,
) -> Result<OfflineRequest, Error> {
    let text = state
        .connection()
        .await
        .license()?
        .activation_request(&key)
        .map_err(|e| state.remember("offline_request", e.into()))?;
    let qr_svg = qr_svg(&text)?;
    let saved_to = save_export(
        &export_folder(state.data_dir(), "requests"),
        "licentric-activation-request",
        "txt",
        &text,
        state.now(),
    );
    Ok(OfflineRequest {
        text,
        qr_svg,
        saved_to,
    })
}

/// Verifies and imports a license file (its text, from a file or pasted).
#[tauri::command]
pub async fn import_license_file(
    state: State<'_, AppState>,
    text: String,
    key: Option<String>,
) -> Result<LicenseView, Error> {
    let connection = state.connection().await;
    connection
        .license()?
        .import_license_file(&normalize_pasted(&text), key.as_deref())
        .map_err(|e| state.remember("import_license_file", e.into()))?;
    view(&state, &connection).await
}

fn qr_svg(text: &str) -> Result<String, Error> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| {
        Error::InvalidInput(format!(
            "The request is too long for a QR code ({e}); copy the text instead."
        ))
    })?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build())
}

/// A pasted file loses or gains line endings on the way (clipboards, text boxes): restore
/// the file's own framing, LF lines and one final newline. Its content stays untouched,
/// and the signature still decides.
fn normalize_pasted(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    format!("{}\n", text.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_files_get_their_framing_back_and_nothing_else_changes() {
        assert_eq!(normalize_pasted("  A\r\nB\r\n\r\n"), "A\nB\n");
        assert_eq!(normalize_pasted("A\nB\n"), "A\nB\n");
        assert_eq!(normalize_pasted("A B"), "A B\n");
    }

    #[test]
    fn a_request_becomes_a_qr_code_and_a_file() {
        let svg = qr_svg(&format!("LICENTRIC-REQ1.{}", "x".repeat(300))).unwrap();
        assert!(
            svg.starts_with("<?xml") && svg.contains("<svg"),
            "{}",
            &svg[..80]
        );
        let dir = tempfile::tempdir().unwrap();
        let now = chrono::DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z")
            .unwrap()
            .to_utc();
        let path = save_export(
            &dir.path().join("requests"),
            "licentric-activation-request",
            "txt",
            "LICENTRIC-REQ1.abc",
            now,
        )
        .unwrap();
        assert!(path.ends_with("licentric-activation-request-20260301-090000.txt"));
        assert_eq!(
            std::fs::read_to_string(path).unwrap(),
            "LICENTRIC-REQ1.abc\n"
        );
    }
}
