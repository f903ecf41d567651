//! [`Licentric`]: the typed HTTP client of the `/api/v1` API.

use std::time::Duration;

use licentric_core::wire::{ValidateKeyRequest, ValidationResult};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::{de::DeserializeOwned, Serialize};

use crate::Error;

/// Where the client sends requests unless told otherwise.
pub const DEFAULT_BASE_URL: &str = "https://licentric.com";
/// How long a request may take unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A client of the Licentric API.
///
/// Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Licentric {
    http: reqwest::Client,
    api_base: String,
    timeout: Duration,
}

impl std::fmt::Debug for Licentric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Licentric")
            .field("api_base", &self.api_base)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Licentric`] client (seed 000's constructor parameters).
#[derive(Clone)]
pub struct LicentricBuilder {
    api_key: Option<String>,
    base_url: String,
    timeout: Duration,
}

impl std::fmt::Debug for LicentricBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The API key is a secret: say whether there is one, never what it is.
        f.debug_struct("LicentricBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Default for LicentricBuilder {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl LicentricBuilder {
    /// The API key (`lk_live_…` or `lk_test_…`) for management calls. Validation needs none.
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// The server's base URL, e.g. `https://your-instance.licentric.com`. A trailing slash
    /// or a trailing `/api/v1` is accepted and ignored.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// The time limit of each request.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Builds the client, checking the configuration.
    pub fn build(self) -> Result<Licentric, Error> {
        let api_base = api_base(&self.base_url)?;
        let mut headers = HeaderMap::new();
        if let Some(key) = &self.api_key {
            if !(key.starts_with("lk_live_") || key.starts_with("lk_test_")) {
                return Err(Error::Configuration(
                    "the API key must start with lk_live_ or lk_test_; copy it again from the console".to_owned(),
                ));
            }
            let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {key}"))
                .map_err(|_| {
                    Error::Configuration(
                        "the API key contains characters that are not allowed".to_owned(),
                    )
                })?;
            value.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .default_headers(headers)
            .user_agent(concat!("licentric-rust/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Configuration(format!("cannot build the HTTP client: {e}")))?;
        Ok(Licentric {
            http,
            api_base,
            timeout: self.timeout,
        })
    }
}

/// `https://host/` and `https://host/api/v1/` both become `https://host/api/v1`.
fn api_base(base_url: &str) -> Result<String, Error> {
    let trimmed = base_url.trim().trim_end_matches('/');
    let root = trimmed.strip_suffix("/api/v1").unwrap_or(trimmed);
    let url = reqwest::Url::parse(root).map_err(|e| {
        Error::Configuration(format!(
            "the server URL {base_url:?} is not a valid URL ({e}); use e.g. https://your-instance.licentric.com"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(Error::Configuration(format!(
            "the server URL {base_url:?} must start with http:// or https:// and name a host"
        )));
    }
    Ok(format!("{root}/api/v1"))
}

impl Licentric {
    /// A builder with the defaults of seed 000: base URL `https://licentric.com`, 30 s.
    pub fn builder() -> LicentricBuilder {
        LicentricBuilder::default()
    }

    /// The `/api/v1` URL this client talks to.
    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    /// Validates a license key. Needs no API key: the key itself is the credential.
    ///
    /// A key that does not exist is not an error: the result's `code` is `NOT_FOUND`.
    pub async fn validate(
        &self,
        key: &str,
        fingerprint: Option<&str>,
        entitlements: &[&str],
    ) -> Result<ValidationResult, Error> {
        let body = ValidateKeyRequest {
            key: key.to_owned(),
            fingerprint: fingerprint.map(str::to_owned),
            entitlements: (!entitlements.is_empty())
                .then(|| entitlements.iter().map(|e| (*e).to_owned()).collect()),
        };
        self.post("/licenses/validate-key", &body).await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, Error> {
        let url = format!("{}{path}", self.api_base);
        let response = self
            .http
            .post(&url)
            .json(body)
            .send()
            .await
            .map_err(|e| network_error(&url, &e, self.timeout))?;
        read_response(&url, response, self.timeout).await
    }
}

async fn read_response<T: DeserializeOwned>(
    url: &str,
    response: reqwest::Response,
    timeout: Duration,
) -> Result<T, Error> {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let bytes = response
        .bytes()
        .await
        .map_err(|e| network_error(url, &e, timeout))?;
    if !status.is_success() {
        return Err(Error::from_response(status.as_u16(), retry_after, &bytes));
    }
    serde_json::from_slice(&bytes).map_err(|e| Error::UnexpectedResponse {
        url: url.to_owned(),
        reason: format!("the body is not the expected JSON ({e})"),
    })
}

fn network_error(url: &str, error: &reqwest::Error, timeout: Duration) -> Error {
    let reason = if error.is_timeout() {
        format!("no answer within {} seconds", timeout.as_secs_f32())
    } else {
        // reqwest's own message is generic ("error sending request"); the root cause
        // ("Connection refused", "dns error") is what helps a person.
        let mut source: &dyn std::error::Error = error;
        while let Some(inner) = source.source() {
            source = inner;
        }
        source.to_string()
    };
    Error::Network {
        url: url.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_forgives_trailing_slashes_and_api_suffix() {
        for input in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:8080/api/v1",
            "http://127.0.0.1:8080/api/v1/",
            " http://127.0.0.1:8080// ",
        ] {
            assert_eq!(
                api_base(input).unwrap(),
                "http://127.0.0.1:8080/api/v1",
                "{input:?}"
            );
        }
    }

    #[test]
    fn base_url_must_be_http_with_a_host() {
        for bad in ["", "licentric.com", "ftp://licentric.com", "http://"] {
            assert!(
                matches!(api_base(bad), Err(Error::Configuration(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn api_key_must_have_a_known_prefix_and_is_never_in_debug_output() {
        let bad = Licentric::builder().api_key("sk_123").build();
        assert!(matches!(bad, Err(Error::Configuration(_))));
        let builder = Licentric::builder().api_key("lk_test_secret123");
        assert!(!format!("{builder:?}").contains("secret123"));
        assert!(builder.build().is_ok());
    }
}
