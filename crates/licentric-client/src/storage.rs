//! Files a [`crate::LicenseClient`] keeps per product: the cached validation token
//! (`license.dat`, seed 004's name), an imported offline license file (`license.lic`) and
//! non-secret state (`state.json`: trusted time, machine id, last known license facts).
//!
//! Default folder: `<config dir>/<app>/<product id>/` — `~/.config/Licentric/<id>/` on
//! Linux, `~/Library/Application Support/Licentric/<id>/` on macOS,
//! `%APPDATA%\Licentric\<id>\` on Windows. Every write goes to a temporary file in the same
//! folder that is then renamed over the old one, so a crash never leaves a torn file; on
//! Unix the files are readable by their owner only.

use std::{
    io::{self, Write},
    path::{Path, PathBuf},
};

use serde::{de::DeserializeOwned, Serialize};

/// The cached token's file name (seed 004).
pub const TOKEN_FILE: &str = "license.dat";
/// An imported offline license file.
pub const LICENSE_FILE: &str = "license.lic";
/// Non-secret state.
pub const STATE_FILE: &str = "state.json";

/// The per-product folder and its files.
#[derive(Debug, Clone)]
pub struct Storage {
    dir: PathBuf,
}

impl Storage {
    /// The default folder for `app` and `product_id`, or `override_dir` when given.
    pub fn locate(app: &str, product_id: &str, override_dir: Option<&Path>) -> io::Result<Self> {
        if let Some(dir) = override_dir {
            return Ok(Self {
                dir: dir.to_owned(),
            });
        }
        let safe = !product_id.is_empty()
            && product_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && product_id != "."
            && product_id != "..";
        if !safe {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the product id {product_id:?} cannot name a folder: use letters, digits, - _ ."),
            ));
        }
        let base = directories::BaseDirs::new().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "no home folder: pass a storage folder explicitly",
            )
        })?;
        Ok(Self {
            dir: base.config_dir().join(app).join(product_id),
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of one of its files.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A text file's contents, or `None` if it does not exist.
    pub fn read_text(&self, name: &str) -> io::Result<Option<String>> {
        match std::fs::read_to_string(self.path(name)) {
            Ok(text) => Ok(Some(text)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// A JSON file's contents, or `None` if it does not exist or cannot be read as `T`
    /// (a damaged state file is started afresh, never fatal).
    pub fn read_json<T: DeserializeOwned>(&self, name: &str) -> io::Result<Option<T>> {
        Ok(self
            .read_text(name)?
            .and_then(|text| serde_json::from_str(&text).ok()))
    }

    /// Replaces a file atomically, readable by its owner only.
    pub fn write(&self, name: &str, contents: &[u8]) -> io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        restrict_dir(&self.dir);
        let mut file = tempfile::NamedTempFile::new_in(&self.dir)?;
        restrict_file(file.as_file())?;
        file.write_all(contents)?;
        file.as_file().sync_all()?;
        file.persist(self.path(name)).map_err(|e| e.error)?;
        Ok(())
    }

    /// Writes a value as JSON, atomically.
    pub fn write_json<T: Serialize>(&self, name: &str, value: &T) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
        self.write(name, &bytes)
    }

    /// Deletes a file; a missing file is fine.
    pub fn remove(&self, name: &str) -> io::Result<()> {
        match std::fs::remove_file(self.path(name)) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }
}

#[cfg(unix)]
fn restrict_file(file: &std::fs::File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict_file(_file: &std::fs::File) -> io::Result<()> {
    // Windows: files under %APPDATA% inherit the user profile's owner-only ACL.
    Ok(())
}

#[cfg(unix)]
fn restrict_dir(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
}

#[cfg(not(unix))]
fn restrict_dir(_dir: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_whole_files_owner_only_and_leave_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::locate("App", "prod_1", Some(&dir.path().join("p"))).unwrap();
        assert_eq!(storage.read_text(TOKEN_FILE).unwrap(), None);
        storage.write(TOKEN_FILE, b"first").unwrap();
        storage.write(TOKEN_FILE, b"second").unwrap();
        assert_eq!(
            storage.read_text(TOKEN_FILE).unwrap().as_deref(),
            Some("second")
        );
        let names: Vec<_> = std::fs::read_dir(storage.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from(TOKEN_FILE)]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(storage.path(TOKEN_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        storage.remove(TOKEN_FILE).unwrap();
        storage.remove(TOKEN_FILE).unwrap();
    }

    #[test]
    fn a_damaged_json_file_reads_as_absent() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::locate("App", "p", Some(dir.path())).unwrap();
        storage.write(STATE_FILE, b"{ torn").unwrap();
        assert_eq!(
            storage.read_json::<serde_json::Value>(STATE_FILE).unwrap(),
            None
        );
    }

    #[test]
    fn default_folder_is_per_app_and_product_and_refuses_path_tricks() {
        let storage = Storage::locate("CGLicense", "prod_abc123", None).unwrap();
        assert!(
            storage.dir().ends_with("CGLicense/prod_abc123"),
            "{:?}",
            storage.dir()
        );
        for bad in ["", "..", "a/b", "a\\\\b", "x y"] {
            assert!(Storage::locate("App", bad, None).is_err(), "{bad:?}");
        }
    }
}
