//! Where `licentric` gets its settings, highest first:
//!
//! 1. command-line flags (`--server-url`, …);
//! 2. environment variables (`LICENTRIC_SERVER_URL`, …: the desktop app's names);
//! 3. the config file: `--config` / `LICENTRIC_CONFIG`, else the first that exists of
//!    `<user config dir>/licentric/licentric.toml` and `/etc/licentric/licentric.toml`;
//! 4. defaults.
//!
//! Each setting is taken from the highest layer that has it (the public key counts as one
//! setting, given inline or as a file). Relative paths in the config file are relative to
//! the file's folder.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use licentric_client::KeyStorage;
use serde::Deserialize;

use crate::error::CliError;

/// The app's identifier in tauri.conf.json: the CLI keeps its files where the desktop app
/// does, so both see one activation on a machine.
pub const APP_IDENTIFIER: &str = "com.licentric.desktop";
/// The config file's name in the user's and the system's config folder.
pub const CONFIG_FILE_NAME: &str = "licentric.toml";
/// The system-wide config file.
pub const SYSTEM_CONFIG_FILE: &str = "/etc/licentric/licentric.toml";
/// The time limit of each request unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// One layer of settings, every field optional: the flags (each with its environment
/// variable, which clap reads when the flag is absent) and the config file alike.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    /// The license server, e.g. https://license.example.com.
    #[arg(long, env = "LICENTRIC_SERVER_URL", global = true, value_name = "URL")]
    pub server_url: Option<String>,
    /// The product's id (from the vendor).
    #[arg(long, env = "LICENTRIC_PRODUCT_ID", global = true, value_name = "ID")]
    pub product_id: Option<String>,
    /// The product's fingerprint salt (from the vendor).
    #[arg(
        long,
        env = "LICENTRIC_PRODUCT_SALT",
        global = true,
        value_name = "SALT",
        hide_env_values = true
    )]
    pub product_salt: Option<String>,
    /// The vendor's public keys (JWKS JSON), inline.
    #[arg(
        long,
        env = "LICENTRIC_PUBLIC_KEY",
        global = true,
        value_name = "JWKS",
        hide_env_values = true
    )]
    pub public_key: Option<String>,
    /// A file holding the vendor's public keys (JWKS JSON).
    #[arg(
        long,
        env = "LICENTRIC_PUBLIC_KEY_FILE",
        global = true,
        value_name = "FILE"
    )]
    pub public_key_file: Option<PathBuf>,
    /// Where the license cache lives, as `licenses/<product id>/` in it (default: the
    /// desktop app's data folder, so both share one activation).
    #[arg(long, env = "LICENTRIC_DATA_DIR", global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where the license key is kept: auto (the OS keyring, else an owner-only file),
    /// keyring, or file.
    #[arg(
        long,
        env = "LICENTRIC_KEY_STORAGE",
        global = true,
        value_name = "auto|keyring|file"
    )]
    pub key_storage: Option<String>,
    /// Time limit of each request to the server, e.g. 10s.
    #[arg(
        long,
        env = "LICENTRIC_TIMEOUT",
        global = true,
        value_name = "DURATION"
    )]
    pub timeout: Option<String>,
    /// A proxy for every request (default: the system's proxy variables).
    #[arg(long, env = "LICENTRIC_PROXY", global = true, value_name = "URL")]
    pub proxy: Option<String>,
    /// The folder under which the machine id and container markers (/.dockerenv,
    /// /proc/1/cgroup) are read; for chroots and tests.
    #[arg(
        long,
        env = "LICENTRIC_SYSTEM_ROOT",
        global = true,
        value_name = "DIR",
        hide = true
    )]
    pub system_root: Option<PathBuf>,
}

impl Layer {
    /// Blank values count as unset, so `LICENTRIC_PROXY=` does not mean "proxy ''".
    fn normalized(self) -> Self {
        let text = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let path = |v: Option<PathBuf>| v.filter(|p| !p.as_os_str().is_empty());
        Self {
            server_url: text(self.server_url),
            product_id: text(self.product_id),
            product_salt: text(self.product_salt),
            public_key: text(self.public_key),
            public_key_file: path(self.public_key_file),
            data_dir: path(self.data_dir),
            key_storage: text(self.key_storage),
            timeout: text(self.timeout),
            proxy: text(self.proxy),
            system_root: path(self.system_root),
        }
    }

    /// Relative paths of a config file are relative to its folder.
    fn relative_to(mut self, base: &Path) -> Self {
        for path in [
            &mut self.public_key_file,
            &mut self.data_dir,
            &mut self.system_root,
        ]
        .into_iter()
        .flatten()
        {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
        self
    }
}

/// Where the public key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PublicKeySource {
    Inline(String),
    File(PathBuf),
}

impl Layer {
    fn public_key_source(&self) -> Option<PublicKeySource> {
        self.public_key
            .clone()
            .map(PublicKeySource::Inline)
            .or_else(|| self.public_key_file.clone().map(PublicKeySource::File))
    }
}

/// The settings in force.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// The license server; `None` on an air-gapped machine (offline commands only).
    pub server_url: Option<String>,
    /// The product's id.
    pub product_id: String,
    /// The product's fingerprint salt.
    pub product_salt: String,
    /// The vendor's JWKS.
    pub public_key: Option<String>,
    /// The folder of the app's data; the license cache is `licenses/<product id>/` in it.
    pub data_dir: PathBuf,
    /// Where the license key may be kept.
    pub key_storage: KeyStorage,
    /// Request time limit.
    pub timeout: Duration,
    /// A proxy for every request.
    pub proxy: Option<String>,
    /// The root container markers are read under.
    pub system_root: PathBuf,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("server_url", &self.server_url)
            .field("product_id", &self.product_id)
            .field("public_key", &self.public_key.is_some())
            .field("data_dir", &self.data_dir)
            .field("key_storage", &self.key_storage)
            .field("config_file", &self.config_file)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// The license cache of the configured product.
    pub fn storage_dir(&self) -> PathBuf {
        self.data_dir.join("licenses").join(&self.product_id)
    }

    /// The server URL, or a configuration error naming the ways to give it.
    pub fn require_server_url(&self) -> Result<&str, CliError> {
        self.server_url.as_deref().ok_or_else(|| {
            CliError::Config("No license server is configured: pass --server-url, set LICENTRIC_SERVER_URL, or put server_url in the config file. (On a machine without network use `licentric offline request`.)".into())
        })
    }

    /// The public key, or a configuration error: without it nothing can be verified.
    pub fn require_public_key(&self) -> Result<&str, CliError> {
        self.public_key.as_deref().ok_or_else(|| {
            CliError::Config("No public key of the vendor is configured, so no license can be verified: pass --public-key-file (the JWKS from /api/v1/accounts/<account id>/jwks.json), set LICENTRIC_PUBLIC_KEY_FILE or LICENTRIC_PUBLIC_KEY, or put public_key_file in the config file.".into())
        })
    }
}

/// Which config file to read: the one named, else the first default that exists.
pub fn config_file(named: Option<&Path>, user_config_dir: Option<&Path>) -> Option<PathBuf> {
    if let Some(named) = named {
        return Some(named.to_owned());
    }
    user_config_dir
        .map(|dir| dir.join("licentric").join(CONFIG_FILE_NAME))
        .into_iter()
        .chain([PathBuf::from(SYSTEM_CONFIG_FILE)])
        .find(|path| path.is_file())
}

/// Reads a config file's layer.
pub fn read_file(path: &Path) -> Result<Layer, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::Config(format!(
            "Cannot read the config file {}: {e}. Fix the path given by --config or LICENTRIC_CONFIG.",
            path.display()
        ))
    })?;
    let layer: Layer = toml::from_str(&text).map_err(|e| {
        CliError::Config(format!(
            "The config file {} is not valid: {e}",
            path.display()
        ))
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    Ok(layer.normalized().relative_to(base))
}

/// Merges the layers (flags and environment first, as clap already merged them; then the
/// file) over the defaults.
pub fn resolve(
    flags_and_env: Layer,
    file: Option<(PathBuf, Layer)>,
    default_data_dir: Option<PathBuf>,
) -> Result<Config, CliError> {
    let high = flags_and_env.normalized();
    let (config_file, low) = match file {
        Some((path, layer)) => (Some(path), layer),
        None => (None, Layer::default()),
    };
    let public_key = match high.public_key_source().or(low.public_key_source()) {
        None => None,
        Some(PublicKeySource::Inline(jwks)) => Some(jwks),
        Some(PublicKeySource::File(path)) => Some(std::fs::read_to_string(&path).map_err(|e| {
            CliError::Config(format!(
                "Cannot read the public key file {}: {e}. Give the path of the vendor's JWKS file.",
                path.display()
            ))
        })?),
    };
    let product_id = high.product_id.or(low.product_id).ok_or_else(|| {
        CliError::Config("No product is configured: pass --product-id, set LICENTRIC_PRODUCT_ID, or put product_id in the config file (your vendor gives it).".into())
    })?;
    let product_salt = high.product_salt.or(low.product_salt).ok_or_else(|| {
        CliError::Config("No product salt is configured: pass --product-salt, set LICENTRIC_PRODUCT_SALT, or put product_salt in the config file (your vendor gives it).".into())
    })?;
    let data_dir = high
        .data_dir
        .or(low.data_dir)
        .or(default_data_dir)
        .ok_or_else(|| {
            CliError::Config(
                "This user has no home folder: pass --data-dir or set LICENTRIC_DATA_DIR.".into(),
            )
        })?;
    let key_storage = match high.key_storage.or(low.key_storage).as_deref() {
        None | Some("auto") => KeyStorage::KeyringOrFile,
        Some("keyring") => KeyStorage::KeyringOnly,
        Some("file") => KeyStorage::FileOnly,
        Some(other) => {
            return Err(CliError::Config(format!(
                "key_storage must be auto, keyring or file, not {other:?}."
            )))
        }
    };
    let timeout = match high.timeout.or(low.timeout) {
        None => DEFAULT_TIMEOUT,
        Some(text) => parse_duration(&text)
            .map_err(|problem| CliError::Config(format!("timeout: {problem}")))?,
    };
    Ok(Config {
        server_url: high.server_url.or(low.server_url),
        product_id,
        product_salt,
        public_key,
        data_dir,
        key_storage,
        timeout,
        proxy: high.proxy.or(low.proxy),
        system_root: high
            .system_root
            .or(low.system_root)
            .unwrap_or_else(|| PathBuf::from("/")),
        config_file,
    })
}

/// The desktop app's data folder for this user (`~/.local/share/com.licentric.desktop` on
/// Linux).
pub fn default_data_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.data_dir().join(APP_IDENTIFIER))
}

/// `90`, `90s`, `5m`, `2h`: a whole number of seconds, minutes or hours, more than zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: write e.g. 30s, 5m or 1h"))?;
    let seconds = match unit {
        "" | "s" => number,
        "m" => number.saturating_mul(60),
        "h" => number.saturating_mul(3600),
        _ => return Err(format!("{text:?} has an unknown unit: use s, m or h")),
    };
    if seconds == 0 {
        return Err(format!("{text:?} must be more than zero"));
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(server: &str, product: &str) -> Layer {
        Layer {
            server_url: Some(server.into()),
            product_id: Some(product.into()),
            product_salt: Some("salt".into()),
            ..Layer::default()
        }
    }

    #[test]
    fn flags_and_environment_win_over_the_file_setting_by_setting() {
        let high = Layer {
            server_url: Some("http://flag".into()),
            proxy: Some("  ".into()),
            ..Layer::default()
        };
        let low = Layer {
            proxy: Some("http://proxy".into()),
            key_storage: Some("file".into()),
            ..layer("http://file", "prod_file")
        };
        let config = resolve(high, Some(("/etc/x.toml".into(), low)), Some("/d".into())).unwrap();
        assert_eq!(config.server_url.as_deref(), Some("http://flag"));
        assert_eq!(config.product_id, "prod_file");
        assert_eq!(
            config.proxy.as_deref(),
            Some("http://proxy"),
            "blank is unset"
        );
        assert_eq!(config.key_storage, KeyStorage::FileOnly);
        assert_eq!(config.storage_dir(), PathBuf::from("/d/licenses/prod_file"));
        assert_eq!(config.timeout, DEFAULT_TIMEOUT);
        assert_eq!(config.system_root, PathBuf::from("/"));
    }

    #[test]
    fn the_public_key_is_one_setting_whether_inline_or_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("jwks.json");
        std::fs::write(&file, "{\"keys\":[]}").unwrap();
        let high = Layer {
            public_key_file: Some(file.clone()),
            ..Layer::default()
        };
        let low = Layer {
            public_key: Some("inline".into()),
            ..layer("u", "p")
        };
        let config = resolve(high, Some((file.clone(), low.clone())), Some("/d".into())).unwrap();
        assert_eq!(config.public_key.as_deref(), Some("{\"keys\":[]}"));
        let config = resolve(Layer::default(), Some((file, low)), Some("/d".into())).unwrap();
        assert_eq!(config.public_key.as_deref(), Some("inline"));

        let missing = Layer {
            public_key_file: Some(dir.path().join("nope.json")),
            ..layer("u", "p")
        };
        let error = resolve(missing, None, Some("/d".into())).unwrap_err();
        assert!(error.to_string().contains("nope.json"), "{error}");
    }

    #[test]
    fn missing_and_wrong_settings_say_how_to_give_them() {
        let error = resolve(Layer::default(), None, Some("/d".into())).unwrap_err();
        assert!(
            error.to_string().contains("LICENTRIC_PRODUCT_ID"),
            "{error}"
        );
        let bad = Layer {
            key_storage: Some("vault".into()),
            ..layer("u", "p")
        };
        let error = resolve(bad, None, Some("/d".into())).unwrap_err();
        assert!(
            error.to_string().contains("auto, keyring or file"),
            "{error}"
        );
        let no_server = Layer {
            server_url: None,
            ..layer("u", "p")
        };
        let config = resolve(no_server, None, Some("/d".into())).unwrap();
        assert!(config
            .require_server_url()
            .unwrap_err()
            .to_string()
            .contains("LICENTRIC_SERVER_URL"));
        assert!(config.require_public_key().is_err());
    }

    #[test]
    fn a_config_file_is_toml_with_paths_relative_to_it_and_no_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("licentric.toml");
        std::fs::write(
            &path,
            "server_url = \"http://s\"\nproduct_id = \"p\"\nproduct_salt = \"s\"\ndata_dir = \"data\"\n",
        )
        .unwrap();
        let layer = read_file(&path).unwrap();
        assert_eq!(layer.data_dir, Some(dir.path().join("data")));
        std::fs::write(&path, "server = \"http://s\"\n").unwrap();
        let error = read_file(&path).unwrap_err();
        assert!(error.to_string().contains("unknown field"), "{error}");

        assert_eq!(config_file(Some(&path), None), Some(path.clone()));
        let user = dir.path().join("user");
        std::fs::create_dir_all(user.join("licentric")).unwrap();
        std::fs::write(user.join("licentric").join(CONFIG_FILE_NAME), "").unwrap();
        assert_eq!(
            config_file(None, Some(&user)),
            Some(user.join("licentric").join(CONFIG_FILE_NAME))
        );
    }

    #[test]
    fn durations_are_whole_seconds_minutes_or_hours() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        for bad in ["", "m", "0s", "5d", "1.5h", "-1m"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
