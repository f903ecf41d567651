//! How the app is configured at start: environment variables, then defaults.
//!
//! - `LICENTRIC_SERVER_URL`: use this license server instead of starting the local one.
//! - `LICENTRIC_DATA_DIR`: keep the app's files here instead of the OS data directory.

use std::path::PathBuf;

use crate::error::Error;

/// The app's start-up configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfig {
    /// Where the app keeps its files (the local server's database among them).
    pub data_dir: PathBuf,
    /// A remote server to use; `None` starts the local server with demo data.
    pub server_url: Option<String>,
}

impl AppConfig {
    /// Reads the environment, falling back to `default_data_dir`.
    pub fn from_env(default_data_dir: PathBuf) -> Result<Self, Error> {
        Ok(Self::from_vars(
            std::env::var("LICENTRIC_DATA_DIR").ok(),
            std::env::var("LICENTRIC_SERVER_URL").ok(),
            default_data_dir,
        ))
    }

    /// The same, from explicit values (empty strings count as unset).
    pub fn from_vars(
        data_dir: Option<String>,
        server_url: Option<String>,
        default_data_dir: PathBuf,
    ) -> Self {
        let set = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        Self {
            data_dir: set(data_dir).map_or(default_data_dir, PathBuf::from),
            server_url: set(server_url),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_defaults_and_blank_values_are_ignored() {
        let default = PathBuf::from("/default");
        let config = AppConfig::from_vars(None, None, default.clone());
        assert_eq!(
            config,
            AppConfig {
                data_dir: default.clone(),
                server_url: None
            }
        );

        let config = AppConfig::from_vars(
            Some("/tmp/data".into()),
            Some(" http://127.0.0.1:9000 ".into()),
            default.clone(),
        );
        assert_eq!(config.data_dir, PathBuf::from("/tmp/data"));
        assert_eq!(config.server_url.as_deref(), Some("http://127.0.0.1:9000"));

        let config = AppConfig::from_vars(Some(" ".into()), Some(String::new()), default.clone());
        assert_eq!(
            config,
            AppConfig {
                data_dir: default,
                server_url: None
            }
        );
    }
}
