//! [`Licentric`]: the typed HTTP client of the `/api/v1` API (seed 000).

use std::time::Duration;

use licentric_core::{
    wire::{LicenseOverview, Machine, NewMachine, ValidateKeyRequest, ValidationResult},
    Nonce,
};
use reqwest::{header::RETRY_AFTER, Method, StatusCode};
use serde::{de::DeserializeOwned, Serialize};

use crate::{models::LicenseFile, Error};

/// Where the client sends requests unless told otherwise.
pub const DEFAULT_BASE_URL: &str = "https://licentric.com";
/// How long a request may take unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a checked-out license file lasts unless told otherwise: 14 days.
pub const DEFAULT_CHECKOUT_TTL: u32 = 1_209_600;

/// When and how often a failed request is tried again.
///
/// A 429 is always retried after its `Retry-After` (the server did nothing), as long as
/// the wait is at most `max_wait`. Network failures and 502/503/504 are retried only for
/// idempotent calls, with exponential backoff from `base_delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 turns retrying off).
    pub max_retries: u32,
    /// The first backoff; each retry doubles it.
    pub base_delay: Duration,
    /// The longest wait the client accepts before giving up and returning the error.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            base_delay: Duration::from_millis(250),
            max_wait: Duration::from_secs(30),
        }
    }
}

/// A client of the Licentric API. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Licentric {
    http: reqwest::Client,
    api_base: String,
    timeout: Duration,
    api_key: Option<String>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for Licentric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Licentric")
            .field("api_base", &self.api_base)
            .field("timeout", &self.timeout)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("retry", &self.retry)
            .finish()
    }
}

/// Configures a [`Licentric`] client (seed 000's constructor parameters).
#[derive(Clone)]
pub struct LicentricBuilder {
    api_key: Option<String>,
    base_url: String,
    timeout: Duration,
    retry: RetryPolicy,
    proxy: Option<String>,
}

impl std::fmt::Debug for LicentricBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The API key is a secret: say whether there is one, never what it is.
        f.debug_struct("LicentricBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("proxy", &self.proxy)
            .finish()
    }
}

impl Default for LicentricBuilder {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            proxy: None,
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

    /// How failed requests are retried.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// A proxy for every request (`http://host:port`). Without one, the system's
    /// `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` apply.
    pub fn proxy(mut self, proxy: impl Into<String>) -> Self {
        self.proxy = Some(proxy.into()).filter(|p: &String| !p.trim().is_empty());
        self
    }

    /// Builds the client, checking the configuration.
    pub fn build(self) -> Result<Licentric, Error> {
        let api_base = api_base(&self.base_url)?;
        if let Some(key) = &self.api_key {
            if !(key.starts_with("lk_live_") || key.starts_with("lk_test_")) {
                return Err(Error::Configuration(
                    "the API key must start with lk_live_ or lk_test_; copy it again from the console".to_owned(),
                ));
            }
            if key.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(Error::Configuration(
                    "the API key contains spaces or control characters".to_owned(),
                ));
            }
        }
        let mut http = reqwest::Client::builder()
            .timeout(self.timeout)
            .user_agent(concat!("licentric-rust/", env!("CARGO_PKG_VERSION")));
        if let Some(proxy) = &self.proxy {
            let proxy = reqwest::Proxy::all(proxy).map_err(|e| {
                Error::Configuration(format!("the proxy {proxy:?} is not a valid URL ({e})"))
            })?;
            http = http.proxy(proxy);
        }
        let http = http
            .build()
            .map_err(|e| Error::Configuration(format!("cannot build the HTTP client: {e}")))?;
        Ok(Licentric {
            http,
            api_base,
            timeout: self.timeout,
            api_key: self.api_key,
            retry: self.retry,
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

/// What `GET /api/v1/health` answers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerHealth {
    /// `ok` when the server and its database answer.
    pub status: String,
    /// The server's version.
    pub version: String,
    /// The server's clock.
    pub time: chrono::DateTime<chrono::Utc>,
}

/// A file the server is sending (a CSV export), read chunk by chunk as it arrives, so
/// an export of any size needs no more memory than one chunk.
///
/// ```no_run
/// # async fn run(admin: licentric_client::Licentric) -> Result<(), Box<dyn std::error::Error>> {
/// use std::io::Write;
/// let mut export = admin
///     .export_licenses_csv(&licentric_client::ListParams::new(), false)
///     .await?;
/// let mut file = std::fs::File::create("licenses.csv")?;
/// while let Some(chunk) = export.chunk().await? {
///     file.write_all(&chunk)?;
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Download {
    response: reqwest::Response,
    url: String,
    timeout: Duration,
}

impl Download {
    /// The next chunk of the file; `None` once it is complete. An error here means the
    /// file is cut short: discard what was written and export again.
    pub async fn chunk(&mut self) -> Result<Option<Vec<u8>>, Error> {
        self.response
            .chunk()
            .await
            .map(|chunk| chunk.map(|bytes| bytes.to_vec()))
            .map_err(|e| network_error(&self.url, &e, self.timeout))
    }

    /// The rest of the file, in memory: for files known to be small.
    pub async fn bytes(mut self) -> Result<Vec<u8>, Error> {
        let mut all = Vec::new();
        while let Some(chunk) = self.chunk().await? {
            all.extend_from_slice(&chunk);
        }
        Ok(all)
    }
}

/// Which credential a request carries.
#[derive(Clone, Copy)]
pub(crate) enum Credential<'a> {
    /// No `Authorization` header.
    None,
    /// The client's API key.
    ApiKey,
    /// A license key (`Authorization: License …`).
    License(&'a str),
}

/// One call: what to send and whether it may be repeated safely.
pub(crate) struct Call<'a, B> {
    pub method: Method,
    pub path: String,
    pub credential: Credential<'a>,
    pub query: &'a [(String, String)],
    pub body: Option<&'a B>,
    pub idempotent: bool,
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

    /// The server root (without `/api/v1`).
    pub fn server_url(&self) -> &str {
        self.api_base
            .strip_suffix("/api/v1")
            .unwrap_or(&self.api_base)
    }

    /// Sends a call, retrying as the policy allows; returns the status and raw body.
    pub(crate) async fn send<B: Serialize>(
        &self,
        call: &Call<'_, B>,
    ) -> Result<(StatusCode, Vec<u8>), Error> {
        let url = format!("{}{}", self.api_base, call.path);
        self.retrying(&url, call.idempotent, || async {
            let response = self.respond(&url, self.request(&url, call)?).await?;
            let status = response.status();
            let bytes = response
                .bytes()
                .await
                .map_err(|e| network_error(&url, &e, self.timeout))?;
            Ok((status, bytes.to_vec()))
        })
        .await
    }

    /// Sends a call whose body is `bytes` of `content_type` instead of JSON, retrying as
    /// the policy allows; returns the status and raw answer.
    pub(crate) async fn send_bytes(
        &self,
        call: &Call<'_, ()>,
        content_type: &'static str,
        bytes: &[u8],
    ) -> Result<(StatusCode, Vec<u8>), Error> {
        let url = format!("{}{}", self.api_base, call.path);
        self.retrying(&url, call.idempotent, || async {
            let request = self
                .request(&url, call)?
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(bytes.to_vec());
            let response = self.respond(&url, request).await?;
            let status = response.status();
            let answer = response
                .bytes()
                .await
                .map_err(|e| network_error(&url, &e, self.timeout))?;
            Ok((status, answer.to_vec()))
        })
        .await
    }

    /// Sends a call and hands over its answer unread, for the caller to stream. Only the
    /// request is retried: once the body flows, a failure is the caller's to see.
    pub(crate) async fn download<B: Serialize>(
        &self,
        call: &Call<'_, B>,
    ) -> Result<Download, Error> {
        let url = format!("{}{}", self.api_base, call.path);
        let response = self
            .retrying(&url, call.idempotent, || async {
                self.respond(&url, self.request(&url, call)?).await
            })
            .await?;
        Ok(Download {
            response,
            url,
            timeout: self.timeout,
        })
    }

    /// Runs `attempt` until it succeeds or the policy says to stop.
    async fn retrying<T, F, Fut>(&self, url: &str, idempotent: bool, attempt: F) -> Result<T, Error>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, Error>>,
    {
        let mut tries = 0;
        loop {
            let outcome = attempt().await;
            let wait = match &outcome {
                Err(Error::RateLimited { retry_after, .. }) => Some(*retry_after),
                Err(Error::Network { .. }) if idempotent => Some(self.backoff(tries)),
                Err(Error::Api(api)) if idempotent && matches!(api.status, 502..=504) => {
                    Some(self.backoff(tries))
                }
                _ => None,
            };
            match wait {
                Some(wait) if tries < self.retry.max_retries && wait <= self.retry.max_wait => {
                    // After Retry-After, not at it: the many clients an overloaded server
                    // turned away together come back spread over a further half of it.
                    let wait = match &outcome {
                        Err(Error::RateLimited { .. }) => jittered(wait),
                        _ => wait,
                    };
                    tracing::debug!(%url, attempt = tries, ?wait, "retrying");
                    tokio::time::sleep(wait).await;
                    tries += 1;
                }
                _ => return outcome,
            }
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        // Full jitter: spreads the retries of many clients that failed together.
        let ceiling = self
            .retry
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt));
        let millis = u64::try_from(ceiling.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        Duration::from_millis(rand::Rng::gen_range(
            &mut rand::thread_rng(),
            millis / 2..=millis,
        ))
    }

    /// The request of a call: method, query, credential and JSON body.
    fn request<B: Serialize>(
        &self,
        url: &str,
        call: &Call<'_, B>,
    ) -> Result<reqwest::RequestBuilder, Error> {
        let mut request = self.http.request(call.method.clone(), url);
        if !call.query.is_empty() {
            request = request.query(call.query);
        }
        request = match call.credential {
            Credential::None => request,
            Credential::ApiKey => {
                let key = self.api_key.as_deref().ok_or_else(|| {
                    Error::Configuration(
                        "this call needs an API key: set one with Licentric::builder().api_key(…)"
                            .to_owned(),
                    )
                })?;
                request.bearer_auth(key)
            }
            Credential::License(key) => request.header(
                reqwest::header::AUTHORIZATION,
                format!("License {}", key.trim()),
            ),
        };
        if let Some(body) = call.body {
            request = request.json(body);
        }
        Ok(request)
    }

    /// Sends a request once; a 2xx answer comes back unread, any other is the typed error.
    async fn respond(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Error> {
        let response = request
            .send()
            .await
            .map_err(|e| network_error(url, &e, self.timeout))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| network_error(url, &e, self.timeout))?;
        Err(Error::from_response(status.as_u16(), retry_after, &bytes))
    }

    /// Sends a call and parses its JSON answer.
    pub(crate) async fn json<B: Serialize, T: DeserializeOwned>(
        &self,
        call: &Call<'_, B>,
    ) -> Result<T, Error> {
        let (_, bytes) = self.send(call).await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::UnexpectedResponse {
            url: format!("{}{}", self.api_base, call.path),
            reason: format!("the body is not the expected JSON ({e})"),
        })
    }

    /// Validates a license key. Needs no API key: the key itself is the credential.
    ///
    /// A key that does not exist is not an error: the result's `code` is `NOT_FOUND`.
    /// Only a 429 or an overloaded 503 (with `Retry-After`) is retried, after that wait
    /// plus jitter: the server did nothing with those, while a validation it did take
    /// counts towards `maxUses`.
    ///
    /// The answer is not authenticated: a `VALID` here proves nothing by itself. Use
    /// [`Self::validate_with_nonce`] and [`licentric_core::authenticate_answer`] (as
    /// [`crate::LicenseClient`] does) before licensing anything on it.
    pub async fn validate(
        &self,
        key: &str,
        fingerprint: Option<&str>,
        entitlements: &[&str],
    ) -> Result<ValidationResult, Error> {
        self.validate_request(key, fingerprint, entitlements, None)
            .await
    }

    /// [`Self::validate`], sending `nonce`: the server signs it into the answer's token,
    /// so the answer can be told from a replayed one.
    pub async fn validate_with_nonce(
        &self,
        key: &str,
        fingerprint: Option<&str>,
        entitlements: &[&str],
        nonce: &Nonce,
    ) -> Result<ValidationResult, Error> {
        self.validate_request(key, fingerprint, entitlements, Some(nonce))
            .await
    }

    async fn validate_request(
        &self,
        key: &str,
        fingerprint: Option<&str>,
        entitlements: &[&str],
        nonce: Option<&Nonce>,
    ) -> Result<ValidationResult, Error> {
        let body = ValidateKeyRequest {
            key: key.to_owned(),
            fingerprint: fingerprint.map(str::to_owned),
            entitlements: (!entitlements.is_empty())
                .then(|| entitlements.iter().map(|e| (*e).to_owned()).collect()),
            nonce: nonce.map(|n| n.as_str().to_owned()),
        };
        self.json(&Call {
            method: Method::POST,
            path: "/licenses/validate-key".into(),
            credential: Credential::None,
            query: &[],
            body: Some(&body),
            idempotent: false,
        })
        .await
    }

    /// Activates a machine for a license (License scheme). Activating the same fingerprint
    /// again returns the same machine, so this call is retried safely.
    pub async fn activate(
        &self,
        key: &str,
        fingerprint: &str,
        name: Option<&str>,
        platform: Option<&str>,
    ) -> Result<Machine, Error> {
        let body = NewMachine {
            fingerprint: fingerprint.to_owned(),
            name: name.map(str::to_owned),
            platform: platform.map(str::to_owned),
            license_id: None,
        };
        self.json(&Call {
            method: Method::POST,
            path: "/machines".into(),
            credential: Credential::License(key),
            query: &[],
            body: Some(&body),
            idempotent: true,
        })
        .await
    }

    /// Deactivates (removes) a machine to free its slot (License scheme).
    pub async fn deactivate(&self, machine_id: &str, key: &str) -> Result<(), Error> {
        self.send(&Call::<()> {
            method: Method::DELETE,
            path: format!("/machines/{}", segment(machine_id)),
            credential: Credential::License(key),
            query: &[],
            body: None,
            idempotent: true,
        })
        .await
        .map(|_| ())
    }

    /// Sends a heartbeat for an active machine (License scheme).
    pub async fn heartbeat(&self, machine_id: &str, key: &str) -> Result<Machine, Error> {
        self.json(&Call::<()> {
            method: Method::POST,
            path: format!("/machines/{}/heartbeat", segment(machine_id)),
            credential: Credential::License(key),
            query: &[],
            body: None,
            idempotent: true,
        })
        .await
    }

    /// The license of `key` with its machines and limits (License scheme).
    pub async fn license_overview(&self, key: &str) -> Result<LicenseOverview, Error> {
        self.json(&Call::<()> {
            method: Method::GET,
            path: "/licenses/me".into(),
            credential: Credential::License(key),
            query: &[],
            body: None,
            idempotent: true,
        })
        .await
    }

    /// Asks the server whether it is up (`GET /api/v1/health`), with its version and clock.
    /// No credential: a settings screen uses it to test a server URL before saving it.
    pub async fn health(&self) -> Result<ServerHealth, Error> {
        let (_, bytes) = self
            .send(&Call::<()> {
                method: Method::GET,
                path: "/health".to_owned(),
                credential: Credential::None,
                query: &[],
                body: None,
                idempotent: true,
            })
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::UnexpectedResponse {
            url: format!("{}/health", self.api_base),
            reason: format!("this does not look like a Licentric server ({e})"),
        })
    }

    /// The JWKS (as published JSON) of an account's signing keys, for pinning. No
    /// credential: public keys are public.
    pub async fn jwks(&self, account_id: &str) -> Result<String, Error> {
        let (_, bytes) = self
            .send(&Call::<()> {
                method: Method::GET,
                path: format!("/accounts/{}/jwks.json", segment(account_id)),
                credential: Credential::None,
                query: &[],
                body: None,
                idempotent: true,
            })
            .await?;
        String::from_utf8(bytes).map_err(|_| Error::UnexpectedResponse {
            url: format!("{}/accounts/{account_id}/jwks.json", self.api_base),
            reason: "the JWKS is not text".into(),
        })
    }

    /// Checks out an Ed25519-signed offline license file bound to `fingerprint`
    /// (API key). `ttl` in seconds defaults to [`DEFAULT_CHECKOUT_TTL`] (14 days).
    pub async fn checkout(
        &self,
        license_id: &str,
        fingerprint: &str,
        ttl: Option<u32>,
    ) -> Result<LicenseFile, Error> {
        let body = serde_json::json!({ "fingerprint": fingerprint, "ttl": ttl.unwrap_or(DEFAULT_CHECKOUT_TTL) });
        self.json(&Call {
            method: Method::POST,
            path: format!("/licenses/{}/checkout", segment(license_id)),
            credential: Credential::ApiKey,
            query: &[],
            body: Some(&body),
            idempotent: true,
        })
        .await
    }
}

/// Escapes an id for use as one path segment, so an id can never reach another endpoint.
pub(crate) fn segment(id: &str) -> String {
    reqwest::Url::parse("http://x/")
        .ok()
        .and_then(|mut url| {
            url.path_segments_mut().ok()?.push(id);
            Some(url.path().trim_start_matches('/').to_owned())
        })
        .unwrap_or_default()
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

/// `wait` plus up to half of it again, at random.
fn jittered(wait: Duration) -> Duration {
    let millis = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
    wait + Duration::from_millis(rand::Rng::gen_range(
        &mut rand::thread_rng(),
        0..=millis / 2,
    ))
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
        let client = builder.build().unwrap();
        assert!(!format!("{client:?}").contains("secret123"));
    }

    #[test]
    fn ids_cannot_escape_their_path_segment() {
        assert_eq!(segment("abc-123"), "abc-123");
        assert_eq!(segment("../products"), "..%2Fproducts");
        assert_eq!(segment("a b?c#d"), "a%20b%3Fc%23d");
    }

    #[test]
    fn backoff_doubles_within_bounds() {
        let client = Licentric::builder().build().unwrap();
        for attempt in 0..4 {
            let ceiling = 250 * 2u64.pow(attempt);
            let wait = client.backoff(attempt).as_millis() as u64;
            assert!((ceiling / 2..=ceiling).contains(&wait), "{attempt}: {wait}");
        }
    }
}
