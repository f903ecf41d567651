//! How the app is configured at start: environment variables, then defaults.
//!
//! - `LICENTRIC_SERVER_URL`: use this license server instead of starting the local one.
//! - `LICENTRIC_DATA_DIR`: keep the app's files here instead of the OS data directory.
//! - `LICENTRIC_PRODUCT_ID`, `LICENTRIC_PRODUCT_SALT`, `LICENTRIC_PUBLIC_KEY` (the vendor's
//!   JWKS): the product this app licenses, when using another server. The local server
//!   brings its own demo product.
//! - `LICENTRIC_TEST_CLOCK_OFFSET_DAYS` (debug builds only): the app's clock runs this many
//!   days ahead, so end-to-end tests can see a grace period run out. Release builds ignore
//!   it.
//!
//! These are the defaults of Settings: once the user saves Settings, `settings.json` wins.

use std::path::PathBuf;

use crate::{error::Error, settings::Settings};

/// The app's start-up configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfig {
    /// Where the app keeps its files (the local server's database among them).
    pub data_dir: PathBuf,
    /// A remote server to use; `None` starts the local server with demo data.
    pub server_url: Option<String>,
    /// The product licensed through a remote server.
    pub product: Option<ProductConfig>,
    /// How far ahead of the system clock the app's clock runs (tests only).
    pub clock_offset: Option<chrono::Duration>,
}

/// The product this app licenses.
#[derive(Clone, PartialEq, Eq)]
pub struct ProductConfig {
    /// The product's id.
    pub product_id: String,
    /// The salt of its fingerprints.
    pub product_salt: String,
    /// The vendor's JWKS, pinned for offline checks.
    pub public_key: Option<String>,
}

impl std::fmt::Debug for ProductConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProductConfig")
            .field("product_id", &self.product_id)
            .field("public_key", &self.public_key.is_some())
            .finish_non_exhaustive()
    }
}

impl AppConfig {
    /// Reads the environment, falling back to `default_data_dir`.
    pub fn from_env(default_data_dir: PathBuf) -> Result<Self, Error> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut config = Self::from_vars(
            var("LICENTRIC_DATA_DIR"),
            var("LICENTRIC_SERVER_URL"),
            default_data_dir,
        );
        if let (Some(product_id), Some(product_salt)) =
            (var("LICENTRIC_PRODUCT_ID"), var("LICENTRIC_PRODUCT_SALT"))
        {
            config.product = Some(ProductConfig {
                product_id,
                product_salt,
                public_key: var("LICENTRIC_PUBLIC_KEY"),
            });
        }
        if cfg!(debug_assertions) {
            if let Some(days) = var("LICENTRIC_TEST_CLOCK_OFFSET_DAYS") {
                let days: i64 = days.parse().map_err(|_| {
                    Error::InvalidInput(format!(
                        "LICENTRIC_TEST_CLOCK_OFFSET_DAYS must be a whole number of days, not {days:?}."
                    ))
                })?;
                config.clock_offset = Some(chrono::Duration::days(days));
            }
        }
        Ok(config)
    }

    /// The settings the environment gives, used until the user saves Settings.
    pub fn default_settings(&self) -> Settings {
        let product = self.product.clone();
        Settings {
            local_server: self.server_url.is_none(),
            server_url: self.server_url.clone().unwrap_or_default(),
            product_id: product
                .as_ref()
                .map(|p| p.product_id.clone())
                .unwrap_or_default(),
            product_salt: product
                .as_ref()
                .map(|p| p.product_salt.clone())
                .unwrap_or_default(),
            public_key: product.and_then(|p| p.public_key).unwrap_or_default(),
            ..Settings::default()
        }
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
            product: None,
            clock_offset: None,
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
                server_url: None,
                product: None,
                clock_offset: None,
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
                server_url: None,
                product: None,
                clock_offset: None,
            }
        );
    }
}
