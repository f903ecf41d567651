//! What the user can change in Settings: which license server, the product it licenses,
//! its public key, a proxy, notifications and the theme. Saved as `settings.json` in the
//! app's data directory; until the user saves, the environment (see `config.rs`) decides.
//!
//! Nothing here is a secret: the license key lives in the OS keyring, and a proxy URL with
//! a password in it is refused rather than written to disk.

use std::path::{Path, PathBuf};

use licentric_core::PublicKeySet;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The settings, as the Settings view edits them. Empty strings mean "not set".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct Settings {
    /// Run the license server inside the app, with demo data, instead of `server_url`.
    pub local_server: bool,
    /// The license server to use when `local_server` is off.
    pub server_url: String,
    /// The product this app licenses on that server.
    pub product_id: String,
    /// The salt of the product's machine fingerprints, from the vendor.
    pub product_salt: String,
    /// The vendor's public keys (JWKS), pinned for offline checks and license files.
    pub public_key: String,
    /// An HTTP(S) proxy for every request; empty uses the system's proxy variables.
    pub proxy: String,
    /// Desktop notifications when the license is about to expire or grace runs low.
    pub notifications: bool,
    /// The colour theme.
    pub theme: Theme,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            local_server: true,
            server_url: String::new(),
            product_id: String::new(),
            product_salt: String::new(),
            public_key: String::new(),
            proxy: String::new(),
            notifications: true,
            theme: Theme::System,
        }
    }
}

/// The colour theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub enum Theme {
    /// Follow the operating system.
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

impl<'de> Deserialize<'de> for Theme {
    /// A theme this version does not know (saved by a newer one) reads as `system`, rather
    /// than making the whole settings file unreadable.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match String::deserialize(deserializer)?.as_str() {
            "light" => Self::Light,
            "dark" => Self::Dark,
            _ => Self::System,
        })
    }
}

/// One problem with one field, for the Settings view to show beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct FieldProblem {
    /// The field (`serverUrl`, `productId`, `productSalt`, `publicKey`, `proxy`).
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
    /// `true` for an error that blocks saving, `false` for a warning.
    pub blocking: bool,
}

impl FieldProblem {
    fn error(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
            blocking: true,
        }
    }

    fn warning(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
            blocking: false,
        }
    }
}

impl Settings {
    /// The same settings with whitespace trimmed and the server URL without a trailing
    /// slash, as they are saved.
    pub fn normalized(&self) -> Self {
        Self {
            server_url: self.server_url.trim().trim_end_matches('/').to_owned(),
            product_id: self.product_id.trim().to_owned(),
            product_salt: self.product_salt.trim().to_owned(),
            public_key: self.public_key.trim().to_owned(),
            proxy: self.proxy.trim().to_owned(),
            ..self.clone()
        }
    }

    /// The proxy in use: none for the local server, which is on this computer.
    pub fn effective_proxy(&self) -> &str {
        if self.local_server {
            ""
        } else {
            self.proxy.trim()
        }
    }

    /// Refuses a server URL or proxy that should not be contacted (credentials in it,
    /// not http): what Test connection checks before it sends anything.
    pub fn check_addresses(&self) -> Result<(), Error> {
        match self
            .problems()
            .into_iter()
            .find(|p| p.blocking && (p.field == "serverUrl" || p.field == "proxy"))
        {
            Some(problem) => Err(Error::InvalidInput(problem.message)),
            None => Ok(()),
        }
    }

    /// Whether both describe the same connection (server, product, key and proxy).
    pub fn connection_eq(&self, other: &Self) -> bool {
        let (a, b) = (self.normalized(), other.normalized());
        a.local_server == b.local_server
            && a.proxy == b.proxy
            && (a.local_server
                || (a.server_url == b.server_url
                    && a.product_id == b.product_id
                    && a.product_salt == b.product_salt
                    && a.public_key == b.public_key))
    }

    /// Every problem with these settings: errors block saving, warnings do not.
    pub fn problems(&self) -> Vec<FieldProblem> {
        let s = self.normalized();
        let mut problems = Vec::new();
        let remote = !s.local_server;
        if remote && s.server_url.is_empty() {
            problems.push(FieldProblem::error(
                "serverUrl",
                "Enter the license server's address, e.g. https://licensing.example.com, or turn the local server on.",
            ));
        } else if !s.server_url.is_empty() {
            problems.extend(url_problem("serverUrl", "server URL", &s.server_url));
            if remote && problems.is_empty() && is_plain_http_elsewhere(&s.server_url) {
                problems.push(FieldProblem::warning(
                    "serverUrl",
                    "This address uses plain http to another computer: license traffic can be read and altered on the way. Use https:// if the server offers it.",
                ));
            }
        }
        if remote && s.product_id.is_empty() {
            problems.push(FieldProblem::error(
                "productId",
                "Enter the product id your vendor gave you.",
            ));
        } else if s.product_id.chars().any(char::is_whitespace) || s.product_id.len() > 100 {
            problems.push(FieldProblem::error(
                "productId",
                "A product id is one word without spaces; copy it again from your vendor.",
            ));
        }
        if remote && s.product_salt.is_empty() {
            problems.push(FieldProblem::error(
                "productSalt",
                "Enter the product's fingerprint salt from your vendor; without it this machine cannot be recognised.",
            ));
        }
        if !s.public_key.is_empty() {
            if let Err(problem) = parse_public_key(&s.public_key) {
                problems.push(FieldProblem::error("publicKey", problem));
            }
        } else if remote {
            // The SDK believes only answers this key proves, so without it nothing licenses.
            problems.push(FieldProblem::error(
                "publicKey",
                "Enter the vendor's public key (the JWKS text your vendor gives you): without it the app cannot tell the vendor's license server from an impostor, so it accepts no license.",
            ));
        }
        if !s.proxy.is_empty() {
            problems.extend(url_problem("proxy", "proxy", &s.proxy));
        }
        problems
    }

    /// The first blocking problem, as an error for a command to return.
    pub fn check(&self) -> Result<Self, Error> {
        match self.problems().into_iter().find(|p| p.blocking) {
            Some(problem) => Err(Error::InvalidInput(problem.message)),
            None => Ok(self.normalized()),
        }
    }

    /// Reads the saved settings; `None` when nothing was saved yet.
    pub fn load(data_dir: &Path) -> Result<Option<Self>, Error> {
        match std::fs::read(file(data_dir)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                Error::InvalidInput(format!(
                    "The saved settings in {} cannot be read ({e}).",
                    file(data_dir).display()
                ))
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(Error::Storage(format!(
                "cannot read {}: {error}",
                file(data_dir).display()
            ))),
        }
    }

    /// Saves the settings atomically: a crash or a full disk leaves the old file whole.
    pub fn save(&self, data_dir: &Path) -> Result<(), Error> {
        let path = file(data_dir);
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(data_dir)?;
            let mut temp = tempfile::NamedTempFile::new_in(data_dir)?;
            std::io::Write::write_all(&mut temp, &serde_json::to_vec_pretty(self)?)?;
            temp.as_file().sync_all()?;
            temp.persist(&path).map_err(|e| e.error)?;
            Ok(())
        };
        write().map_err(|error| {
            Error::Storage(format!(
                "cannot save the settings to {}: {error}",
                path.display()
            ))
        })
    }
}

/// `url` as it may be shown: without a user name or password, should it carry one.
pub fn shown_url(text: &str) -> String {
    match url::Url::parse(text.trim()) {
        Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string().trim_end_matches('/').to_owned()
        }
        _ => text.trim().to_owned(),
    }
}

/// Moves an unreadable settings file aside (`settings.json.bad`), so that the next save
/// does not destroy what the user may want to repair. Returns where it went.
pub fn set_aside(data_dir: &Path) -> std::io::Result<PathBuf> {
    let aside = data_dir.join("settings.json.bad");
    std::fs::rename(file(data_dir), &aside)?;
    Ok(aside)
}

/// Where the settings are saved.
pub fn file(data_dir: &Path) -> PathBuf {
    data_dir.join("settings.json")
}

/// The pinned public keys, or what is wrong with the text.
pub fn parse_public_key(jwks: &str) -> Result<PublicKeySet, String> {
    let value: serde_json::Value = serde_json::from_str(jwks).map_err(|_| {
        "The public key must be the JWKS text your vendor publishes ({\"keys\": [...]}); copy all of it again.".to_owned()
    })?;
    let keys = serde_json::from_value(value)
        .map_err(|e| e.to_string())
        .and_then(|jwks| PublicKeySet::from_jwks(&jwks).map_err(|e| e.to_string()))
        .map_err(|e| {
            format!(
                "The public key is not a valid Ed25519 JWKS ({e}); copy it again from your vendor."
            )
        })?;
    if keys.is_empty() {
        return Err(
            "The public key holds no keys; copy the whole JWKS again from your vendor.".to_owned(),
        );
    }
    Ok(keys)
}

fn url_problem(field: &str, what: &str, text: &str) -> Option<FieldProblem> {
    let error = |message: String| Some(FieldProblem::error(field, message));
    let Ok(url) = url::Url::parse(text) else {
        return error(format!(
            "This is not a web address. The {what} looks like https://licensing.example.com."
        ));
    };
    if !matches!(url.scheme(), "http" | "https") {
        return error(format!(
            "The {what} must start with https:// (or http://), not {}://.",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return error(format!(
            "The {what} must name a host, e.g. https://licensing.example.com."
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return error(format!(
            "Leave the user name and password out of the {what}: they would be saved in plain text."
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return error(format!(
            "The {what} cannot have a ?query or #fragment; remove them."
        ));
    }
    None
}

fn is_plain_http_elsewhere(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|url| {
        url.scheme() == "http"
            && !matches!(url.host(), Some(url::Host::Domain("localhost")))
            && !match url.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                _ => false,
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote() -> Settings {
        Settings {
            local_server: false,
            server_url: " https://licensing.example.com/ ".into(),
            product_id: "prod_123".into(),
            product_salt: "salt".into(),
            public_key: jwks(),
            proxy: String::new(),
            ..Settings::default()
        }
    }

    /// A valid JWKS to pin.
    fn jwks() -> String {
        let key = licentric_core::AccountSigningKey::from_secret_seed(&[7; 32]).public_key();
        serde_json::to_string(
            &licentric_core::PublicKeySet::from_keys([key])
                .unwrap()
                .to_jwks(),
        )
        .unwrap()
    }

    fn fields(problems: &[FieldProblem], blocking: bool) -> Vec<&str> {
        problems
            .iter()
            .filter(|p| p.blocking == blocking)
            .map(|p| p.field.as_str())
            .collect()
    }

    #[test]
    fn the_local_server_needs_nothing_else() {
        assert_eq!(Settings::default().problems(), []);
    }

    #[test]
    fn a_remote_server_needs_its_url_product_salt_and_key() {
        let empty = Settings {
            local_server: false,
            ..Settings::default()
        };
        assert_eq!(
            fields(&empty.problems(), true),
            ["serverUrl", "productId", "productSalt", "publicKey"]
        );
        // Without a public key nothing could be licensed, so it is not saved.
        let keyless = Settings {
            public_key: String::new(),
            ..remote()
        };
        assert_eq!(fields(&keyless.problems(), true), ["publicKey"]);
        let error = keyless.check().unwrap_err().to_string();
        assert!(error.contains("impostor"), "{error}");
        let ok = remote();
        assert_eq!(ok.problems(), []);
        assert_eq!(
            ok.check().unwrap().server_url,
            "https://licensing.example.com"
        );
    }

    #[test]
    fn urls_are_checked_and_say_how_to_fix_them() {
        for (bad, says) in [
            ("licensing.example.com", "not a web address"),
            ("ftp://licensing.example.com", "not ftp://"),
            ("https://user:secret@licensing.example.com", "plain text"),
            ("https://licensing.example.com/?x=1", "?query"),
        ] {
            let settings = Settings {
                server_url: bad.into(),
                ..remote()
            };
            let problems = settings.problems();
            let problem = problems
                .iter()
                .find(|p| p.field == "serverUrl")
                .unwrap_or_else(|| panic!("{bad} was accepted"));
            assert!(problem.blocking, "{bad}");
            assert!(problem.message.contains(says), "{bad}: {}", problem.message);
            let error = settings.check().unwrap_err();
            assert_eq!(error.code(), "invalid_input");

            let proxy = Settings {
                proxy: bad.into(),
                ..remote()
            };
            assert_eq!(fields(&proxy.problems(), true), ["proxy"], "{bad}");
        }
    }

    #[test]
    fn credentials_are_never_shown_and_addresses_are_checked_before_contact() {
        assert_eq!(
            shown_url("https://user:secret@licensing.example.com/"),
            "https://licensing.example.com"
        );
        assert_eq!(shown_url("not a url"), "not a url");
        let proxy_with_password = Settings {
            proxy: "http://user:secret@proxy.example.com:3128".into(),
            ..remote()
        };
        let message = proxy_with_password
            .check_addresses()
            .unwrap_err()
            .to_string();
        assert!(!message.contains("secret"), "{message}");
        // A missing product does not stop a connection test.
        let no_product = Settings {
            product_id: String::new(),
            ..remote()
        };
        assert!(no_product.check_addresses().is_ok());
        // The local server is on this computer: never through the proxy.
        let local = Settings {
            local_server: true,
            proxy: "http://proxy.example.com:3128".into(),
            ..remote()
        };
        assert_eq!(local.effective_proxy(), "");
    }

    #[test]
    fn plain_http_is_a_warning_except_on_this_computer() {
        let far = Settings {
            server_url: "http://licensing.example.com".into(),
            ..remote()
        };
        assert_eq!(fields(&far.problems(), false), ["serverUrl"]);
        for near in [
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
        ] {
            let near = Settings {
                server_url: near.into(),
                ..remote()
            };
            assert_eq!(fields(&near.problems(), false), Vec::<&str>::new());
        }
    }

    #[test]
    fn a_public_key_must_be_a_jwks_with_keys() {
        let key = licentric_core::AccountSigningKey::from_secret_seed(&[7; 32]).public_key();
        let jwks = serde_json::to_string(&licentric_core::Jwks {
            keys: vec![key.to_jwk()],
        })
        .unwrap();
        let good = Settings {
            public_key: jwks,
            ..remote()
        };
        assert_eq!(good.problems(), []);
        for bad in [
            "not json",
            "{\"keys\": []}",
            "{\"keys\": [{\"kty\": \"RSA\"}]}",
        ] {
            let settings = Settings {
                public_key: bad.into(),
                ..remote()
            };
            assert_eq!(fields(&settings.problems(), true), ["publicKey"], "{bad}");
        }
    }

    #[test]
    fn settings_survive_a_restart_and_a_broken_file_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Settings::load(dir.path()).unwrap(), None);
        let saved = remote().check().unwrap();
        saved.save(dir.path()).unwrap();
        assert_eq!(Settings::load(dir.path()).unwrap(), Some(saved));

        std::fs::write(file(dir.path()), "{ half a file").unwrap();
        let message = Settings::load(dir.path()).unwrap_err().to_string();
        assert!(message.contains("cannot be read"), "{message}");
        let aside = set_aside(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(aside).unwrap(), "{ half a file");
        assert_eq!(Settings::load(dir.path()).unwrap(), None);

        // A theme from a newer version is not a broken file.
        std::fs::write(file(dir.path()), r#"{"theme": "sepia"}"#).unwrap();
        let loaded = Settings::load(dir.path()).unwrap().unwrap();
        assert_eq!(loaded.theme, Theme::System);
    }
}
