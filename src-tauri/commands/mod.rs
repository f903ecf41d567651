//! The commands the web UI can invoke, one file per area; `ui/src/api/<area>.ts` mirrors
//! each. Commands are thin: parse the input, call the SDK, map the answer.

pub mod app;
pub mod license;
pub mod offline;
pub mod settings;

use std::path::{Path, PathBuf};

/// Where files for the user to send on are saved: their Downloads folder, or `fallback`
/// in the app's data folder when there is none.
pub(crate) fn export_folder(data_dir: &Path, fallback: &str) -> PathBuf {
    directories::UserDirs::new()
        .and_then(|dirs| dirs.download_dir().map(Path::to_path_buf))
        .filter(|dir| dir.is_dir())
        .unwrap_or_else(|| data_dir.join(fallback))
}

/// Saves `text` for the user to send on as `<folder>/<stem>-<time>.<ext>`; `None` (and a
/// log line) when that fails, since the text is on screen to copy anyway.
pub(crate) fn save_export(
    folder: &Path,
    stem: &str,
    ext: &str,
    text: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<String> {
    let path = folder.join(format!("{stem}-{}.{ext}", now.format("%Y%m%d-%H%M%S")));
    std::fs::create_dir_all(folder)
        .and_then(|()| std::fs::write(&path, format!("{text}\n")))
        .map_err(|error| tracing::warn!(%error, path = %path.display(), "cannot save the file"))
        .ok()
        .map(|()| path.display().to_string())
}
