//! The commands the web UI can invoke, one file per area; `ui/src/api/<area>.ts` mirrors
//! each. Commands are thin: parse the input, call the SDK, map the answer.

pub mod app;
pub mod console;
pub mod license;
pub mod list;
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::list::{CONSOLE_WINDOW, MAIN_WINDOW};

    fn granted(capability: &str) -> BTreeSet<String> {
        let path = format!(
            "{}/src-tauri/capabilities/{capability}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        json["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let p = p.as_str().unwrap();
                p.strip_prefix("allow-")
                    .unwrap_or_else(|| panic!("{capability}: only allow- permissions, not {p}"))
                    .replace('-', "_")
            })
            .collect()
    }

    fn source(path: &str) -> String {
        std::fs::read_to_string(format!("{}/src-tauri/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    /// The commands (`#[tauri::command]` then `fn name`) defined in `text`.
    fn commands_in(text: &str) -> Vec<String> {
        let mut lines = text.lines();
        let mut names = Vec::new();
        while let Some(line) = lines.next() {
            if line.trim() == "#[tauri::command]" {
                let signature = lines.by_ref().find(|l| l.contains("fn ")).unwrap();
                let name = signature
                    .split_once("fn ")
                    .unwrap()
                    .1
                    .split('(')
                    .next()
                    .unwrap();
                names.push(name.trim().to_owned());
            }
        }
        names
    }

    /// Every `#[tauri::command]` under `commands/`.
    fn defined() -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        let mut stack = vec![format!("{}/src-tauri/commands", env!("CARGO_MANIFEST_DIR"))];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path.display().to_string());
                } else {
                    names.extend(commands_in(&std::fs::read_to_string(&path).unwrap()));
                }
            }
        }
        names
    }

    /// The handlers `lib.rs` registers.
    fn registered() -> BTreeSet<String> {
        let lib = source("lib.rs");
        let list = lib
            .split_once("generate_handler![")
            .unwrap()
            .1
            .split_once(']')
            .unwrap()
            .0;
        list.split(',')
            .map(|path| path.trim().rsplit("::").next().unwrap().to_owned())
            .filter(|name| !name.is_empty())
            .collect()
    }

    #[test]
    fn the_command_lists_agree() {
        let main: BTreeSet<String> = MAIN_WINDOW.iter().map(|s| (*s).to_owned()).collect();
        let console: BTreeSet<String> = CONSOLE_WINDOW.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(main.len(), MAIN_WINDOW.len(), "a command is listed twice");
        assert_eq!(
            console.len(),
            CONSOLE_WINDOW.len(),
            "a command is listed twice"
        );
        assert_eq!(
            granted("main"),
            main,
            "capabilities/main.json vs MAIN_WINDOW"
        );
        assert_eq!(
            granted("console"),
            console,
            "capabilities/console.json vs CONSOLE_WINDOW"
        );
        let all: BTreeSet<String> = main.union(&console).cloned().collect();
        assert_eq!(registered(), all, "lib.rs's handlers vs commands/list.rs");
        assert_eq!(defined(), all, "the #[tauri::command]s vs commands/list.rs");
    }

    #[test]
    fn the_end_user_window_has_no_management_command() {
        let main: BTreeSet<&str> = MAIN_WINDOW.iter().copied().collect();
        let shared: Vec<&str> = CONSOLE_WINDOW
            .iter()
            .copied()
            .filter(|c| main.contains(c))
            .collect();
        assert_eq!(
            shared,
            ["app_info"],
            "only the app's version and theme are shared"
        );
        // The console's modules, by name: none may be granted to the main window.
        for file in std::fs::read_dir(format!(
            "{}/src-tauri/commands/console",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
        {
            let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
            for name in commands_in(&text) {
                assert!(
                    !main.contains(name.as_str()),
                    "{name} is a console command granted to the main window"
                );
            }
        }
    }
}
