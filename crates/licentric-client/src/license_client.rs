//! [`LicenseClient`]: seed 004's high-level client, in Rust idiom.
//!
//! `check_license()` validates online when it can and caches the signed token the server
//! returns; offline it verifies the cached token against the pinned public keys and
//! applies the grace period; a clock turned back behind trusted time is refused as
//! `clock_tampered`. `get_error()`, `get_status()`, `get_message()` and
//! `get_license_info()` report the outcome. The license key lives in the OS keyring.
//!
//! Nothing licenses a machine unless the vendor's pinned key proves it. Online, a `VALID`
//! counts only with a token that verifies with the pinned keys, is for this product and
//! machine, and carries the fresh nonce sent with this very request; an unsigned, forged
//! or replayed answer is `invalid_token` and changes nothing on disk. A refusal (`REVOKED`,
//! `NOT_FOUND`, …) is believed unsigned: an impostor can deny service, which it could do
//! anyway by not answering, but never grant it. Only
//! [`LicenseClientBuilder::dangerously_skip_signature_verification`] turns this off.
//!
//! Shape: like the core's `LicenseState::assess`, the decisions are pure functions of
//! their facts — [`decide_online`] of the server's answer, [`decide_offline`] of the files
//! as read, the clock and trusted time — with the I/O before them (network, disk, keyring)
//! and after them (saving what the decision says to keep). A fault is then a small test of
//! a decision, and a storage fault an outcome told to the user (`could_not_save`).

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use licentric_core::{
    authenticate_answer, authenticate_token, fingerprint, verify_license_file,
    wire::ValidationResult, Clock, LicenseKey, LicenseState, Nonce, NotLicensedReason,
    OfflineRefusal, PublicKeySet, SystemClock, TokenSource, TrustedTime, ValidationCode,
    VerifiedToken,
};
use serde::{Deserialize, Serialize};

use crate::{
    machine::{MachineIdentity, SystemMachine},
    secrets::{KeyLocation, KeyStorage, SecretStore},
    storage::{Storage, LICENSE_FILE, STATE_FILE, TOKEN_FILE},
    Error, Licentric,
};

/// The folder name under the user's config directory unless told otherwise.
pub const DEFAULT_APP_NAME: &str = "Licentric";

/// Why the application is not (fully) licensed: seed 004's codes plus `clock_tampered`
/// and `uses_exceeded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum LicenseErrorCode {
    /// The key does not exist on the server.
    NotFound,
    /// The vendor revoked (or banned) the license.
    Revoked,
    /// The license is past its expiry.
    Expired,
    /// The license is suspended.
    Suspended,
    /// Licensed, but with a warning (offline grace period, overdue heartbeat).
    Degraded,
    /// Too many machines are activated.
    MachineLimit,
    /// No network, timeout or server error, and no usable cache.
    Network,
    /// The cached token is corrupt, signed by an unknown key, or its grace period ended;
    /// or the server's answer was not signed by the vendor's key for this request.
    InvalidToken,
    /// No license is activated on this machine.
    NotActivated,
    /// The system clock is behind a time already trusted.
    ClockTampered,
    /// The license was validated more often than its policy allows.
    UsesExceeded,
}

impl LicenseErrorCode {
    /// The wire spelling, e.g. `machine_limit`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::Suspended => "suspended",
            Self::Degraded => "degraded",
            Self::MachineLimit => "machine_limit",
            Self::Network => "network",
            Self::InvalidToken => "invalid_token",
            Self::NotActivated => "not_activated",
            Self::ClockTampered => "clock_tampered",
            Self::UsesExceeded => "uses_exceeded",
        }
    }
}

/// A licensing problem: `code` for programs, `message` (what happened, what to do) for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct LicenseError {
    /// Machine-readable code.
    pub code: LicenseErrorCode,
    /// What happened and what to do.
    pub message: String,
}

impl LicenseError {
    fn new(code: LicenseErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Where the license stands on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum Standing {
    /// Validated online just now.
    Online,
    /// Offline, on a cached token that has not expired.
    Offline,
    /// Offline, on an imported license file.
    OfflineFile,
    /// Offline, the token has expired, within the grace period.
    Grace,
    /// The clock is behind trusted time.
    ClockTampered,
    /// Not licensed.
    NotLicensed,
}

/// What is known about the license (seed 004's `get_license_info()`, plus the offline
/// facts the desktop app shows).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct LicenseInfo {
    /// The key with its middle hidden, e.g. `MYAPP-****-****-****-G8H9`.
    pub license_key: Option<String>,
    /// The license's id.
    pub license_id: Option<String>,
    /// The product.
    pub product_id: String,
    /// `active`, `suspended`, `revoked`, `banned`, or `degraded` in grace.
    pub status: Option<String>,
    /// The policy's name, when known.
    pub variant: Option<String>,
    /// A message for the user (offline, grace, warnings).
    pub message: Option<String>,
    /// Machines activated on the license, when last known.
    pub machines_used: Option<u32>,
    /// Machines allowed; `null` for unlimited.
    pub max_machines: Option<u32>,
    /// Until when this machine may run without checking in (token or file expiry).
    pub expires_at: Option<DateTime<Utc>>,
    /// The license's own expiry.
    pub license_expires_at: Option<DateTime<Utc>>,
    /// Whole days until the license expires.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub days_remaining: Option<i64>,
    /// The license's entitlement codes.
    pub entitlements: Vec<String>,
    /// Online, offline, grace, …
    pub standing: Option<Standing>,
    /// When the grace period ends, while in it.
    pub grace_ends_at: Option<DateTime<Utc>>,
    /// The last successful online check.
    pub last_online_at: Option<DateTime<Utc>>,
    /// This machine's id on the server.
    pub machine_id: Option<String>,
    /// This machine's fingerprint (a keyed hash, never the raw machine id).
    pub fingerprint: Option<String>,
    /// Whether the policy requires heartbeats, and how often (seconds).
    pub heartbeat_interval: Option<u32>,
}

/// What `activate` returns (seed 004's dict).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ActivationInfo {
    /// Machines activated, this one included.
    pub machines_used: u32,
    /// Machines allowed; `null` for unlimited.
    pub max_machines: Option<u32>,
    /// The license's expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// The license's status.
    pub status: String,
    /// The policy's name, when known.
    pub variant: Option<String>,
    /// A note, e.g. where the key was stored.
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PersistedState {
    #[serde(default)]
    trusted_time: TrustedTime,
    #[serde(default)]
    info: Option<LicenseInfo>,
}

#[derive(Debug, Default)]
struct Outcome {
    error: Option<LicenseError>,
    info: Option<LicenseInfo>,
    /// What could not be saved during the check under way, told with its outcome.
    storage_problem: Option<String>,
}

/// Configures a [`LicenseClient`].
#[derive(Debug)]
pub struct LicenseClientBuilder {
    server_url: String,
    product_id: String,
    product_salt: String,
    storage_dir: Option<PathBuf>,
    app_name: String,
    public_keys: Option<PublicKeySet>,
    public_key_problem: Option<String>,
    clock: Arc<dyn Clock>,
    machine: Arc<dyn MachineIdentity>,
    key_storage: KeyStorage,
    timeout: Duration,
    proxy: Option<String>,
    skip_signature_verification: bool,
}

impl LicenseClientBuilder {
    /// Overrides the storage folder (default `<config>/<app>/<product id>/`).
    pub fn storage_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.storage_dir = Some(dir.into());
        self
    }

    /// The folder name under the config directory (default `Licentric`).
    pub fn app_name(mut self, name: &str) -> Self {
        self.app_name = name.to_owned();
        self
    }

    /// The vendor's public keys as the JWKS the server publishes at
    /// `/api/v1/accounts/{accountId}/jwks.json`. Without them nothing can be verified, so
    /// the client licenses nothing, online or offline (unless
    /// [`Self::dangerously_skip_signature_verification`]).
    pub fn public_key(mut self, jwks_json: &str) -> Self {
        match serde_json::from_str(jwks_json)
            .map_err(|e| e.to_string())
            .and_then(|jwks| PublicKeySet::from_jwks(&jwks).map_err(|e| e.to_string()))
        {
            Ok(keys) => self.public_keys = Some(keys),
            Err(problem) => {
                self.public_key_problem =
                    Some(format!("the public key is not a valid JWKS ({problem})"))
            }
        }
        self
    }

    /// The vendor's public keys, already parsed.
    pub fn public_keys(mut self, keys: PublicKeySet) -> Self {
        self.public_keys = Some(keys);
        self
    }

    /// Where time comes from (tests simulate days offline with a manual clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Where machine facts come from.
    pub fn machine(mut self, machine: Arc<dyn MachineIdentity>) -> Self {
        self.machine = machine;
        self
    }

    /// Where the license key may be stored.
    pub fn key_storage(mut self, mode: KeyStorage) -> Self {
        self.key_storage = mode;
        self
    }

    /// The time limit of each request (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A proxy for every request; by default the system's proxy variables apply.
    pub fn proxy(mut self, proxy: &str) -> Self {
        self.proxy = Some(proxy.to_owned());
        self
    }

    /// Believes the license server's online answers without proof: a `VALID` licenses
    /// the app whether or not it carries a token signed by the vendor's key for this
    /// request. Anyone who can answer in the server's place (a hosts-file entry, a DNS
    /// record, a proxy) can then license the app, even a revoked copy.
    ///
    /// Only for development against a server whose key is not at hand. A token that does
    /// come is still checked against keys that are pinned, and offline checks still need
    /// a pinned key: there is nothing else to check a cached token against.
    pub fn dangerously_skip_signature_verification(mut self) -> Self {
        self.skip_signature_verification = true;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<LicenseClient, Error> {
        if let Some(problem) = self.public_key_problem {
            return Err(Error::Configuration(problem));
        }
        if self.product_salt.is_empty() {
            return Err(Error::Configuration(
                "the product salt must not be empty".into(),
            ));
        }
        let mut api = Licentric::builder()
            .base_url(&self.server_url)
            .timeout(self.timeout);
        if let Some(proxy) = &self.proxy {
            api = api.proxy(proxy);
        }
        let storage = Storage::locate(
            &self.app_name,
            &self.product_id,
            self.storage_dir.as_deref(),
        )
        .map_err(|e| Error::Configuration(e.to_string()))?;
        let secrets = SecretStore::new(&self.product_id, storage.clone(), self.key_storage);
        if self.skip_signature_verification {
            tracing::warn!(
                product_id = %self.product_id,
                "signature verification is OFF: any server answering in the license server's place can license this app"
            );
        }
        Ok(LicenseClient {
            api: api.build()?,
            product_id: self.product_id,
            product_salt: self.product_salt,
            storage,
            secrets,
            public_keys: self.public_keys,
            clock: self.clock,
            machine: self.machine,
            skip_signature_verification: self.skip_signature_verification,
            outcome: Mutex::new(Outcome::default()),
        })
    }
}

/// Seed 004's `LicenseClient`. Methods that talk to the server are `async`.
#[derive(Debug)]
pub struct LicenseClient {
    api: Licentric,
    product_id: String,
    product_salt: String,
    storage: Storage,
    secrets: SecretStore,
    public_keys: Option<PublicKeySet>,
    clock: Arc<dyn Clock>,
    machine: Arc<dyn MachineIdentity>,
    skip_signature_verification: bool,
    outcome: Mutex<Outcome>,
}

impl LicenseClient {
    /// A client with the defaults: storage under the user's config folder, the OS keyring,
    /// the system clock and machine. It pins no public key, so it can manage machines
    /// but licenses nothing: use [`Self::builder`] with
    /// [`LicenseClientBuilder::public_key`] to check licenses.
    pub fn new(server_url: &str, product_id: &str, product_salt: &str) -> Result<Self, Error> {
        Self::builder(server_url, product_id, product_salt).build()
    }

    /// A builder for the other options.
    pub fn builder(server_url: &str, product_id: &str, product_salt: &str) -> LicenseClientBuilder {
        LicenseClientBuilder {
            server_url: server_url.to_owned(),
            product_id: product_id.to_owned(),
            product_salt: product_salt.to_owned(),
            storage_dir: None,
            app_name: DEFAULT_APP_NAME.to_owned(),
            public_keys: None,
            public_key_problem: None,
            clock: Arc::new(SystemClock),
            machine: Arc::new(SystemMachine),
            key_storage: KeyStorage::default(),
            timeout: crate::DEFAULT_TIMEOUT,
            proxy: None,
            skip_signature_verification: false,
        }
    }

    /// The HTTP client underneath.
    pub fn api(&self) -> &Licentric {
        &self.api
    }

    /// The folder holding the token cache and state.
    pub fn storage_dir(&self) -> &std::path::Path {
        self.storage.dir()
    }

    /// The key ids of the pinned public keys (empty when none is pinned).
    pub fn public_key_ids(&self) -> Vec<String> {
        self.public_keys
            .iter()
            .flat_map(|keys| keys.iter().map(|k| k.key_id().to_owned()))
            .collect()
    }

    /// This machine's fingerprint: HMAC-SHA256 of the OS machine id keyed by the product
    /// salt. The raw machine id never leaves this machine.
    pub fn fingerprint(&self) -> Result<String, LicenseError> {
        let id = self.machine.machine_id().map_err(|problem| {
            LicenseError::new(
                LicenseErrorCode::NotActivated,
                format!("This machine has no usable id: {problem}."),
            )
        })?;
        Ok(fingerprint(&self.product_salt, &id))
    }

    /// The saved state; a damaged file (torn by a power cut, edited by hand) is never
    /// half-believed: the state starts afresh and the outcome says so. Trusted time then
    /// starts again from the signed token's issue time, which a damaged file cannot move.
    fn state(&self) -> PersistedState {
        let text = match self.storage.read_text(STATE_FILE) {
            Ok(text) => text,
            Err(error) => {
                tracing::warn!(%error, "cannot read the license state");
                None
            }
        };
        let Some(text) = text else {
            return PersistedState::default();
        };
        serde_json::from_str(&text).unwrap_or_else(|error| {
            tracing::warn!(%error, "the license state file is damaged; starting afresh");
            let mut outcome = self.outcome.lock().unwrap_or_else(|p| p.into_inner());
            outcome.storage_problem = Some(format!(
                "The license state saved in {} was damaged (a write cut short?) and was started afresh.",
                self.storage.dir().display()
            ));
            PersistedState::default()
        })
    }

    fn save_state(&self, state: &PersistedState) {
        if let Err(error) = self.storage.write_json(STATE_FILE, state) {
            self.could_not_save(&error, "its license state");
        }
    }

    /// Notes that `what` could not be saved: the check goes on from what is in memory and
    /// on disk (every write replaces a whole file, so the last good copy stays), and its
    /// outcome's message says what is wrong and what to do.
    fn could_not_save(&self, error: &std::io::Error, what: &str) {
        tracing::warn!(%error, dir = %self.storage.dir().display(), "cannot save {what}");
        let problem = storage_problem(self.storage.dir(), error, what);
        let mut outcome = self.outcome.lock().unwrap_or_else(|p| p.into_inner());
        outcome.storage_problem = Some(problem);
    }

    fn finish(
        &self,
        licensed: bool,
        error: Option<LicenseError>,
        mut info: Option<LicenseInfo>,
    ) -> bool {
        let mut outcome = self.outcome.lock().unwrap_or_else(|p| p.into_inner());
        if let (Some(problem), Some(info)) = (outcome.storage_problem.take(), info.as_mut()) {
            info.message = Some(match info.message.take() {
                Some(message) => format!("{message} {problem}"),
                None => problem,
            });
        }
        outcome.error = error;
        outcome.info = info;
        licensed
    }

    fn stored_key(&self) -> Option<String> {
        match self.secrets.load() {
            Ok(key) => key,
            Err(problem) => {
                tracing::warn!(%problem, "cannot read the license key");
                None
            }
        }
    }

    /// Validates the cached token or re-validates online: the primary entry point.
    /// `true` when the application may run (including `degraded`); after `false`,
    /// [`Self::get_error`] says why.
    pub async fn check_license(&self) -> bool {
        let now = self.clock.now();
        let mut state = self.state();
        let fingerprint = match self.fingerprint() {
            Ok(fp) => fp,
            Err(error) => return self.finish(false, Some(error), None),
        };
        let key = self.stored_key();
        let mut info = state.info.clone().unwrap_or_default();
        info.product_id = self.product_id.clone();
        info.fingerprint = Some(fingerprint.clone());

        let online = match &key {
            Some(key) => Some(self.validate_online(key, &fingerprint).await),
            None => None,
        };
        let (result, nonce) = match online {
            Some(Ok(answer)) => answer,
            Some(Err(error)) if is_offline(&error) => {
                return self.check_offline(
                    now,
                    &fingerprint,
                    &mut state,
                    info,
                    Some(error.to_string()),
                );
            }
            Some(Err(error)) => {
                return self.finish(
                    false,
                    Some(LicenseError::new(
                        LicenseErrorCode::Network,
                        error.to_string(),
                    )),
                    Some(info),
                );
            }
            None => return self.check_offline(now, &fingerprint, &mut state, info, None),
        };

        let decision = decide_online(
            &OnlineFacts {
                now,
                fingerprint: &fingerprint,
                product_id: &self.product_id,
                keys: self.public_keys.as_ref(),
                skip_signature_verification: self.skip_signature_verification,
                key: key.as_deref(),
                result: &result,
                nonce: &nonce,
            },
            info,
        );
        if !decision.save {
            // Refused unproven: nothing is written, so an impostor cannot replace the
            // cached token, the trusted time or the license facts.
            return self.finish(decision.licensed, decision.error, Some(decision.info));
        }
        if let Some(server_time) = decision.reset_trusted_time_to {
            state.trusted_time.reset_to_server_time(server_time);
        }
        if decision.forget_token {
            let _ = self.storage.remove(TOKEN_FILE);
        }
        if let Some(token) = decision.cache_token {
            if let Err(error) = self.storage.write(TOKEN_FILE, token.as_bytes()) {
                self.could_not_save(&error, "the token it needs to work offline");
            }
        }
        state.info = Some(decision.info.clone());
        self.save_state(&state);
        self.finish(decision.licensed, decision.error, Some(decision.info))
    }

    /// Checks the license from what this machine holds (the cached token or an imported
    /// license file), without asking the server: the same verification, grace period and
    /// clock rules as [`Self::check_license`] offline. For start-up scripts that must not
    /// wait on the network; the outcome is reported the same way.
    pub fn check_license_offline(&self) -> bool {
        let now = self.clock.now();
        let mut state = self.state();
        let fingerprint = match self.fingerprint() {
            Ok(fp) => fp,
            Err(error) => return self.finish(false, Some(error), None),
        };
        let mut info = state.info.clone().unwrap_or_default();
        info.product_id = self.product_id.clone();
        info.fingerprint = Some(fingerprint.clone());
        self.check_offline(now, &fingerprint, &mut state, info, None)
    }

    /// Validates online with a fresh nonce per request; answers the result and the nonce
    /// it must carry.
    async fn validate_online(
        &self,
        key: &str,
        fingerprint: &str,
    ) -> Result<(ValidationResult, Nonce), Error> {
        let nonce = Nonce::generate(&mut rand::rngs::OsRng);
        let result = self
            .api
            .validate_with_nonce(key, Some(fingerprint), &[], &nonce)
            .await?;
        if result.code == ValidationCode::HeartbeatRequired {
            // Overdue: check in now and ask again, rather than refusing a live machine.
            if let Some(machine) = &result.machine {
                if self.api.heartbeat(&machine.id, key).await.is_ok() {
                    let nonce = Nonce::generate(&mut rand::rngs::OsRng);
                    let result = self
                        .api
                        .validate_with_nonce(key, Some(fingerprint), &[], &nonce)
                        .await?;
                    return Ok((result, nonce));
                }
            }
        }
        Ok((result, nonce))
    }

    /// Offline: reads what this machine holds, lets [`decide_offline`] judge it, and saves
    /// what the decision says to keep.
    fn check_offline(
        &self,
        now: DateTime<Utc>,
        fingerprint: &str,
        state: &mut PersistedState,
        info: LicenseInfo,
        network_problem: Option<String>,
    ) -> bool {
        let token = self.storage.read_text(TOKEN_FILE).ok().flatten();
        let file = self.storage.read_text(LICENSE_FILE).ok().flatten();
        // People need to know the server cannot be reached, not the socket error; that is
        // logged for support.
        if let Some(problem) = &network_problem {
            tracing::info!(%problem, "license server unreachable; checking offline");
        }
        let decision = decide_offline(
            &OfflineFacts {
                now,
                fingerprint,
                product_id: &self.product_id,
                keys: self.public_keys.as_ref(),
                token: token.as_deref(),
                file: file.as_deref(),
                trusted_time: &state.trusted_time,
                network_problem: network_problem.as_deref(),
            },
            info,
        );
        for time in &decision.trusted {
            state.trusted_time.observe(*time);
        }
        if decision.save {
            state.info = Some(decision.info.clone());
            self.save_state(state);
        }
        self.finish(decision.licensed, decision.error, Some(decision.info))
    }

    /// The last error from [`Self::check_license`] (or `degraded` while licensed).
    pub fn get_error(&self) -> Option<LicenseError> {
        self.outcome
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .error
            .clone()
    }

    /// `active`, `degraded`, `suspended`, … as last determined.
    pub fn get_status(&self) -> Option<String> {
        let outcome = self.outcome.lock().unwrap_or_else(|p| p.into_inner());
        if outcome
            .error
            .as_ref()
            .is_some_and(|e| e.code == LicenseErrorCode::Degraded)
        {
            return Some("degraded".to_owned());
        }
        outcome.info.as_ref().and_then(|i| i.status.clone())
    }

    /// A message for the user, if any (offline, grace, warnings).
    pub fn get_message(&self) -> Option<String> {
        let outcome = self.outcome.lock().unwrap_or_else(|p| p.into_inner());
        outcome
            .info
            .as_ref()
            .and_then(|i| i.message.clone())
            .or_else(|| outcome.error.as_ref().map(|e| e.message.clone()))
    }

    /// What is known about the license, after `check_license` or `activate`.
    pub fn get_license_info(&self) -> Option<LicenseInfo> {
        self.outcome
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .info
            .clone()
    }

    /// Activates `key` on this machine: registers the machine, stores the key in the OS
    /// keyring and caches a signed token.
    pub async fn activate(&self, key: &str) -> Result<ActivationInfo, LicenseError> {
        let key = LicenseKey::parse(key).map_err(|e| {
            LicenseError::new(
                LicenseErrorCode::NotFound,
                format!("That is not a license key: {e}. Copy it again from your purchase e-mail."),
            )
        })?;
        let fingerprint = self.fingerprint()?;
        let name = self.machine.name();
        let platform = self.machine.platform();
        self.api
            .activate(
                key.as_str(),
                &fingerprint,
                name.as_deref(),
                Some(platform.as_str()),
            )
            .await
            .map_err(activation_error)?;
        let location = self.secrets.save(key.as_str()).map_err(|problem| {
            LicenseError::new(
                LicenseErrorCode::NotActivated,
                format!("The machine was activated, but the key could not be stored: {problem}"),
            )
        })?;
        let overview = self
            .api
            .license_overview(key.as_str())
            .await
            .map_err(activation_error)?;
        let licensed = self.check_license().await;
        if !licensed {
            return Err(self.get_error().unwrap_or_else(|| {
                LicenseError::new(
                    LicenseErrorCode::NotActivated,
                    "Activation did not complete.",
                )
            }));
        }
        let mut state = self.state();
        if let Some(mut info) = state.info.take() {
            info.machines_used = Some(overview.machines_used);
            info.max_machines = overview.max_machines;
            info.heartbeat_interval = overview
                .require_heartbeat
                .then_some(overview.heartbeat_interval);
            info.variant = None;
            state.info = Some(info.clone());
            self.save_state(&state);
            self.finish(true, self.get_error(), Some(info));
        }
        let message = match location {
            KeyLocation::Keyring => None,
            KeyLocation::File { path, keyring_problem } => Some(format!(
                "No OS keyring is available{}; the license key is stored in {} (readable only by you).",
                keyring_problem.map(|p| format!(" ({p})")).unwrap_or_default(),
                path.display()
            )),
        };
        Ok(ActivationInfo {
            machines_used: overview.machines_used,
            max_machines: overview.max_machines,
            expires_at: overview.license.expires_at,
            status: overview.license.status.as_str().to_owned(),
            variant: None,
            message,
        })
    }

    /// Deactivates this machine (freeing its seat) and forgets the key, token and file.
    pub async fn deactivate(&self) -> Result<bool, LicenseError> {
        let Some(key) = self.stored_key() else {
            return Err(LicenseError::new(
                LicenseErrorCode::NotActivated,
                "No license is activated on this machine.",
            ));
        };
        let fingerprint = self.fingerprint()?;
        let overview = self
            .api
            .license_overview(&key)
            .await
            .map_err(activation_error)?;
        if let Some(machine) = overview
            .machines
            .iter()
            .find(|m| m.fingerprint == fingerprint)
        {
            match self.api.deactivate(&machine.id, &key).await {
                Ok(()) | Err(Error::NotFound(_)) => {}
                Err(error) => return Err(activation_error(error)),
            }
        }
        self.forget();
        Ok(true)
    }

    /// The license's machine slots, with the stored key or `key` (e.g. a key being
    /// activated whose license is full, so the user can free a slot first).
    pub async fn overview(
        &self,
        key: Option<&str>,
    ) -> Result<licentric_core::wire::LicenseOverview, LicenseError> {
        let key = match key {
            Some(key) => key.trim().to_owned(),
            None => self.stored_key().ok_or_else(|| {
                LicenseError::new(
                    LicenseErrorCode::NotActivated,
                    "No license is activated on this machine.",
                )
            })?,
        };
        self.api
            .license_overview(&key)
            .await
            .map_err(activation_error)
    }

    /// Deactivates another machine of the license (with the stored key or `key`), freeing
    /// its seat. A machine that is already gone counts as done.
    pub async fn deactivate_machine(
        &self,
        machine_id: &str,
        key: Option<&str>,
    ) -> Result<(), LicenseError> {
        let key = match key {
            Some(key) => key.trim().to_owned(),
            None => self.stored_key().ok_or_else(|| {
                LicenseError::new(
                    LicenseErrorCode::NotActivated,
                    "No license is activated on this machine.",
                )
            })?,
        };
        match self.api.deactivate(machine_id, &key).await {
            Ok(()) | Err(Error::NotFound(_)) => Ok(()),
            Err(error) => Err(activation_error(error)),
        }
    }

    /// Forgets the key, the cached token, any license file and the license facts, without
    /// asking the server (for a machine that can no longer reach it).
    pub fn forget(&self) {
        let _ = self.secrets.delete();
        for file in [TOKEN_FILE, LICENSE_FILE] {
            let _ = self.storage.remove(file);
        }
        let mut state = self.state();
        state.info = None;
        self.save_state(&state);
        self.finish(false, None, None);
    }

    /// Sends a heartbeat for this machine. A machine the server culled for missing
    /// heartbeats (after a network outage) is activated again, so it is not lost.
    pub async fn send_heartbeat(&self) -> Result<bool, LicenseError> {
        let Some(key) = self.stored_key() else {
            return Err(LicenseError::new(
                LicenseErrorCode::NotActivated,
                "No license is activated on this machine.",
            ));
        };
        let fingerprint = self.fingerprint()?;
        let machine_id = self.state().info.and_then(|i| i.machine_id);
        let outcome = match &machine_id {
            Some(id) => self.api.heartbeat(id, &key).await.map(|_| ()),
            None => Err(Error::NotFound(crate::ApiError {
                status: 404,
                code: "not_found".into(),
                message: "no machine id known".into(),
                details: None,
            })),
        };
        match outcome {
            Ok(()) => Ok(true),
            Err(Error::NotFound(_)) => {
                let platform = self.machine.platform();
                let machine = self
                    .api
                    .activate(
                        &key,
                        &fingerprint,
                        self.machine.name().as_deref(),
                        Some(platform.as_str()),
                    )
                    .await
                    .map_err(activation_error)?;
                self.api
                    .heartbeat(&machine.id, &key)
                    .await
                    .map_err(activation_error)?;
                let mut state = self.state();
                if let Some(info) = state.info.as_mut() {
                    info.machine_id = Some(machine.id);
                }
                self.save_state(&state);
                Ok(true)
            }
            Err(error) => Err(activation_error(error)),
        }
    }

    /// The offline activation request of this machine for `key`, as text to show, copy,
    /// encode as a QR code or save: support turns it into a license file for this machine.
    pub fn activation_request(&self, key: &str) -> Result<String, LicenseError> {
        let key = LicenseKey::parse(key).map_err(|e| {
            LicenseError::new(
                LicenseErrorCode::NotFound,
                format!("That is not a license key: {e}."),
            )
        })?;
        let name: String = self
            .machine
            .name()
            .unwrap_or_default()
            .chars()
            .filter(|c| c.is_ascii_graphic() || *c == ' ')
            .take(64)
            .collect();
        let name = if name.trim().is_empty() {
            "Unnamed machine".to_owned()
        } else {
            name.trim().to_owned()
        };
        licentric_core::ActivationRequest::new(
            &self.fingerprint()?,
            licentric_core::LicenseReference::Key(key),
            &name,
            self.machine.platform(),
            self.clock.now(),
        )
        .map(|request| request.to_text())
        .map_err(|refusal| {
            LicenseError::new(
                LicenseErrorCode::NotActivated,
                format!("Cannot make an activation request: {refusal}"),
            )
        })
    }

    /// Imports a `.lic` file for offline activation: verified locally (signature, this
    /// product, this machine, dates, trusted time) and kept for offline checks. The key,
    /// when given, is stored too, so the machine validates online once it can.
    pub fn import_license_file(
        &self,
        text: &str,
        key: Option<&str>,
    ) -> Result<LicenseInfo, LicenseError> {
        let Some(keys) = &self.public_keys else {
            return Err(LicenseError::new(
                LicenseErrorCode::InvalidToken,
                "The app has no public key pinned, so it cannot verify a license file.",
            ));
        };
        let now = self.clock.now();
        let fingerprint = self.fingerprint()?;
        let mut state = self.state();
        verify_license_file(
            text,
            keys,
            &self.product_id,
            &fingerprint,
            now,
            &state.trusted_time,
        )
        .map_err(offline_refusal)?;
        self.storage
            .write(LICENSE_FILE, text.as_bytes())
            .map_err(|e| {
                LicenseError::new(
                    LicenseErrorCode::InvalidToken,
                    format!("The license file is valid but could not be saved: {e}"),
                )
            })?;
        if let Some(key) = key.and_then(|k| LicenseKey::parse(k).ok()) {
            if let Err(problem) = self.secrets.save(key.as_str()) {
                tracing::warn!(%problem, "the license file was imported but its key could not be stored");
            }
        }
        let info = LicenseInfo {
            product_id: self.product_id.clone(),
            ..state.info.clone().unwrap_or_default()
        };
        state.info = Some(info);
        self.save_state(&state);
        let _ = self.check_offline(
            now,
            &fingerprint,
            &mut state,
            self.state().info.unwrap_or_default(),
            None,
        );
        self.get_license_info().ok_or_else(|| {
            LicenseError::new(
                LicenseErrorCode::InvalidToken,
                "The license file could not be read back.",
            )
        })
    }

    /// Starts the heartbeat loop at the policy's interval when the policy requires
    /// heartbeats (known after `activate` or `refresh`); `None` otherwise.
    pub fn start_heartbeat_if_required(self: &Arc<Self>) -> Option<HeartbeatHandle> {
        let interval = self.get_license_info()?.heartbeat_interval?;
        // Beat at half the interval, so one lost beat does not make the machine dead.
        Some(self.start_heartbeat(Duration::from_secs(u64::from(interval.max(2) / 2))))
    }

    /// Sends heartbeats every `interval` on the current Tokio runtime until the handle is
    /// stopped or dropped. Failures are logged and retried; the loop never gives up.
    pub fn start_heartbeat(self: &Arc<Self>, interval: Duration) -> HeartbeatHandle {
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let client = Arc::clone(self);
        let task = tokio::spawn(async move {
            let mut wait = interval;
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    _ = tokio::time::sleep(wait) => {}
                }
                wait = match client.send_heartbeat().await {
                    Ok(_) => interval,
                    Err(error) => {
                        tracing::warn!(code = error.code.as_str(), %error, "heartbeat failed; retrying");
                        // Sooner than the interval, so a short outage does not cost the slot.
                        interval.min(Duration::from_secs(30))
                    }
                };
            }
        });
        HeartbeatHandle {
            stop: Some(stop),
            task,
        }
    }
}

/// A running heartbeat loop; stops when dropped.
#[derive(Debug)]
pub struct HeartbeatHandle {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl HeartbeatHandle {
    /// Stops the loop and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for HeartbeatHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// "3 days", "1 day", "5 hours": whole days rounded (as the desktop app shows dates),
/// hours under a day.
/// What the online decision judges: the server's answer to this request, with the nonce
/// it had to carry, and what the app pins.
#[derive(Debug)]
struct OnlineFacts<'a> {
    now: DateTime<Utc>,
    fingerprint: &'a str,
    product_id: &'a str,
    keys: Option<&'a PublicKeySet>,
    skip_signature_verification: bool,
    /// The stored license key.
    key: Option<&'a str>,
    result: &'a ValidationResult,
    nonce: &'a Nonce,
}

/// The online outcome and what to keep: trusted time reset to a proven server time, the
/// cached token forgotten (the server has spoken) or replaced, and whether anything may
/// be saved at all (not after an unproven `VALID`).
#[derive(Debug)]
struct OnlineDecision {
    licensed: bool,
    error: Option<LicenseError>,
    info: LicenseInfo,
    reset_trusted_time_to: Option<DateTime<Utc>>,
    forget_token: bool,
    cache_token: Option<String>,
    save: bool,
}

/// Judges the server's answer (no disk, no network): a `VALID` counts only when the
/// vendor's key proves it answers this very request; a refusal is believed unsigned, as it
/// can only deny, which an impostor could do by not answering at all.
fn decide_online(facts: &OnlineFacts<'_>, mut info: LicenseInfo) -> OnlineDecision {
    let OnlineFacts {
        now,
        skip_signature_verification,
        key,
        result,
        ..
    } = *facts;
    let verified = if result.code == ValidationCode::Valid {
        match authenticate_valid(facts) {
            Ok(verified) => verified,
            Err(error) => {
                tracing::warn!(code = error.code.as_str(), %error, "refused the license server's answer");
                info.standing = Some(Standing::NotLicensed);
                info.status = None;
                return OnlineDecision {
                    licensed: false,
                    error: Some(error),
                    info,
                    reset_trusted_time_to: None,
                    forget_token: false,
                    cache_token: None,
                    save: false,
                };
            }
        }
    } else {
        None
    };

    // Only a verified answer may move trusted time, backwards included: its signed issue
    // time is the server's clock. An unsigned time could wind the mark back and hide a
    // turned-back clock from the next offline check.
    let reset_trusted_time_to = match (&verified, result.server_time) {
        (Some(verified), _) => Some(verified.claims().issued_at),
        (None, Some(server_time))
            if skip_signature_verification && result.code == ValidationCode::Valid =>
        {
            Some(server_time)
        }
        (None, _) => None,
    };
    info.last_online_at = Some(result.server_time.unwrap_or(now));
    info.license_key = key.map(redact);
    if let Some(license) = &result.license {
        info.license_id = Some(license.id.clone());
        info.status = Some(license.status.as_str().to_owned());
        info.license_expires_at = license.expires_at;
        info.days_remaining = license.expires_at.map(|e| (e - now).num_days());
    }
    info.entitlements = result.entitlements.clone();
    if let Some(machine) = &result.machine {
        info.machine_id = Some(machine.id.clone());
    }

    if result.code != ValidationCode::Valid {
        // The server has spoken: a cached token must not keep this machine running.
        let forget_token = matches!(
            result.code,
            ValidationCode::NotFound
                | ValidationCode::FingerprintNotFound
                | ValidationCode::Revoked
                | ValidationCode::Banned
        );
        if forget_token {
            info.machine_id = None;
        }
        info.standing = Some(Standing::NotLicensed);
        return OnlineDecision {
            licensed: false,
            error: Some(refusal(result.code)),
            info,
            reset_trusted_time_to,
            forget_token,
            cache_token: None,
            save: true,
        };
    }

    if let Some(verified) = &verified {
        // What licenses the app comes from the signed claims, not the unsigned fields
        // around them.
        let claims = verified.claims();
        info.license_id = Some(claims.license_id.clone());
        info.status = Some(claims.status.as_str().to_owned());
        info.license_expires_at = claims.license_expires_at;
        info.days_remaining = claims.license_expires_at.map(|e| (e - now).num_days());
        info.entitlements = claims.entitlements.clone();
        if let Some(machine_id) = &claims.machine_id {
            info.machine_id = Some(machine_id.clone());
        }
        info.expires_at = Some(claims.expires_at);
    }
    info.standing = Some(Standing::Online);
    info.grace_ends_at = None;
    info.message = None;
    OnlineDecision {
        licensed: true,
        error: None,
        info,
        reset_trusted_time_to,
        forget_token: false,
        cache_token: result.token.clone(),
        save: true,
    }
}

/// Whether a `VALID` answer may license this machine: `Ok(Some(token))` when the
/// vendor's key proves it answers this request, `Ok(None)` only when verification is
/// switched off and there is nothing to verify, else `invalid_token` saying why.
fn authenticate_valid(facts: &OnlineFacts<'_>) -> Result<Option<VerifiedToken>, LicenseError> {
    let OnlineFacts {
        result,
        fingerprint,
        nonce,
        product_id,
        ..
    } = *facts;
    let token = result.token.as_deref();
    match (facts.keys, facts.skip_signature_verification) {
        (Some(keys), false) => {
            authenticate_answer(token, keys, product_id, fingerprint, nonce)
                .map(Some)
                .map_err(|refusal| {
                    LicenseError::new(
                        LicenseErrorCode::InvalidToken,
                        format!("{} {}", refusal.message(), refusal.next_step()),
                    )
                })
        }
        (None, false) => Err(LicenseError::new(
            LicenseErrorCode::InvalidToken,
            "This app pins no public key of the vendor, so it cannot tell the vendor's license server from an impostor and accepts no license. Ask the vendor for an app update. (For the app's developer: pin the vendor's JWKS with LicenseClientBuilder::public_key.)",
        )),
        (Some(keys), true) => match token {
            Some(token) => authenticate_token(token, keys, product_id, fingerprint)
                .map(Some)
                .map_err(|refusal| {
                    LicenseError::new(
                        LicenseErrorCode::InvalidToken,
                        format!("The server's token does not verify with the pinned public key ({}). Check that the app pins this server's key: {}", refusal.message(), refusal.next_step()),
                    )
                }),
            None => Ok(None),
        },
        (None, true) => Ok(None),
    }
}

fn refusal(code: ValidationCode) -> LicenseError {
    let explanation = code.explain();
    let text = format!("{} {}", explanation.cause, explanation.next_step);
    let code = match code {
        ValidationCode::NotFound => LicenseErrorCode::NotFound,
        ValidationCode::Expired => LicenseErrorCode::Expired,
        ValidationCode::Suspended => LicenseErrorCode::Suspended,
        ValidationCode::Revoked | ValidationCode::Banned => LicenseErrorCode::Revoked,
        ValidationCode::MachineLimitExceeded => LicenseErrorCode::MachineLimit,
        ValidationCode::FingerprintNotFound => LicenseErrorCode::NotActivated,
        ValidationCode::HeartbeatRequired => LicenseErrorCode::Degraded,
        ValidationCode::UsesExceeded => LicenseErrorCode::UsesExceeded,
        ValidationCode::EntitlementsMissing | ValidationCode::Valid => {
            LicenseErrorCode::InvalidToken
        }
    };
    LicenseError::new(code, text)
}

/// What the offline decision judges, read before it: the clock, the machine, the pinned
/// keys, the files as they are on disk and the trusted time.
#[derive(Debug)]
struct OfflineFacts<'a> {
    now: DateTime<Utc>,
    fingerprint: &'a str,
    product_id: &'a str,
    keys: Option<&'a PublicKeySet>,
    /// The cached token (`license.dat`), as read.
    token: Option<&'a str>,
    /// An imported license file (`license.lic`), as read.
    file: Option<&'a str>,
    trusted_time: &'a TrustedTime,
    /// Why the server was not asked, if it could not be reached.
    network_problem: Option<&'a str>,
}

/// The offline outcome: whether the app may run, what to tell, the license facts to show,
/// the times trusted time may move up to, and whether the facts are worth saving.
#[derive(Debug)]
struct OfflineDecision {
    licensed: bool,
    error: Option<LicenseError>,
    info: LicenseInfo,
    trusted: Vec<DateTime<Utc>>,
    save: bool,
}

/// Judges a machine offline from its facts alone (no disk, no network, no clock): an
/// imported license file that verifies wins; else the cached token, assessed by
/// [`LicenseState::assess`] against trusted time (valid, grace, clock turned back, or not
/// licensed). A damaged or foreign file or token is never half-believed.
fn decide_offline(facts: &OfflineFacts<'_>, mut info: LicenseInfo) -> OfflineDecision {
    let OfflineFacts {
        now,
        fingerprint,
        product_id,
        keys,
        token,
        file,
        trusted_time,
        network_problem,
    } = *facts;
    let refuse = |info: LicenseInfo, error: LicenseError| OfflineDecision {
        licensed: false,
        error: Some(error),
        info,
        trusted: Vec::new(),
        save: false,
    };
    if token.is_none() && file.is_none() {
        let error = match network_problem {
            Some(problem) => LicenseError::new(
                LicenseErrorCode::Network,
                format!(
                    "Cannot reach the license server and no cached license was found: {problem}"
                ),
            ),
            None => LicenseError::new(
                LicenseErrorCode::NotActivated,
                "No license is activated on this machine. Enter your license key to activate it.",
            ),
        };
        info.standing = Some(Standing::NotLicensed);
        return refuse(info, error);
    }
    let Some(keys) = keys else {
        let error = LicenseError::new(
            LicenseErrorCode::InvalidToken,
            "Cannot verify the cached license: the app has no public key of the vendor pinned, so it accepts no license. Ask the vendor for an app update.",
        );
        return refuse(info, error);
    };

    // An imported license file takes over when it verifies.
    if let Some(text) = file {
        match verify_license_file(text, keys, product_id, fingerprint, now, trusted_time) {
            Ok(verified) => {
                let payload = verified.payload();
                info.license_id = Some(payload.license_id.clone());
                info.status = Some(payload.status.as_str().to_owned());
                info.expires_at = Some(payload.expires_at);
                info.license_expires_at = payload.license_expires_at;
                info.days_remaining = payload.license_expires_at.map(|e| (e - now).num_days());
                info.entitlements = payload.entitlements.clone();
                info.max_machines = payload.max_machines;
                info.standing = Some(Standing::OfflineFile);
                info.message = Some(format!(
                    "Licensed offline by a license file valid until {}.",
                    payload.expires_at.format("%Y-%m-%d %H:%M UTC")
                ));
                return OfflineDecision {
                    licensed: true,
                    error: None,
                    info,
                    trusted: vec![payload.issued_at, now],
                    save: true,
                };
            }
            Err(refusal) if token.is_none() => {
                info.standing = Some(Standing::NotLicensed);
                return refuse(info, offline_refusal(refusal));
            }
            Err(_) => {}
        }
    }

    let verified = match token.map(|t| authenticate_token(t, keys, product_id, fingerprint)) {
        Some(Ok(verified)) => verified,
        Some(Err(refusal)) => {
            info.standing = Some(Standing::NotLicensed);
            let error = LicenseError::new(
                LicenseErrorCode::InvalidToken,
                format!(
                    "The cached license token is damaged or not for this machine ({}). Connect to the internet and check again, or activate the license again.",
                    refusal.message()
                ),
            );
            return refuse(info, error);
        }
        None => unreachable!("no token and no usable file was handled above"),
    };
    let assessed = LicenseState::assess(Some(&verified), TokenSource::Cache, now, trusted_time);
    let claims = verified.claims();
    info.expires_at = Some(claims.expires_at);
    info.license_expires_at = claims.license_expires_at;
    info.entitlements = claims.entitlements.clone();
    info.license_id = Some(claims.license_id.clone());
    let offline_note = if network_problem.is_some() {
        " The license server cannot be reached right now."
    } else {
        ""
    };
    let (licensed, error) = match assessed {
        LicenseState::Online { .. } | LicenseState::OfflineValid { .. } => {
            info.standing = Some(Standing::Offline);
            info.grace_ends_at = None;
            info.message = Some(format!(
                "Working offline: the license works without the server until {}.{offline_note}",
                claims.expires_at.format("%Y-%m-%d %H:%M UTC")
            ));
            (true, None)
        }
        LicenseState::Grace { ends_at, time_left } => {
            info.standing = Some(Standing::Grace);
            info.grace_ends_at = Some(ends_at);
            let message = format!(
                "Offline grace period: {} left (until {}). Connect to the internet so the license can be checked.{offline_note}",
                time_left_in_words(time_left),
                ends_at.format("%Y-%m-%d %H:%M UTC")
            );
            info.message = Some(message.clone());
            (
                true,
                Some(LicenseError::new(LicenseErrorCode::Degraded, message)),
            )
        }
        LicenseState::ClockTampered { trusted, now } => {
            info.standing = Some(Standing::ClockTampered);
            (false, Some(LicenseError::new(
                LicenseErrorCode::ClockTampered,
                format!(
                    "The system clock ({}) is behind a time this app already trusted ({}). Set the clock to the correct time, or connect to the internet so the license server can confirm it.",
                    now.format("%Y-%m-%d %H:%M UTC"),
                    trusted.format("%Y-%m-%d %H:%M UTC")
                ),
            )))
        }
        LicenseState::NotLicensed { reason } => {
            info.standing = Some(Standing::NotLicensed);
            (false, Some(not_licensed(reason)))
        }
    };
    OfflineDecision {
        licensed,
        error,
        info,
        // Only a licensed run moves trusted time: a refused one proves nothing about now.
        trusted: if licensed {
            vec![claims.issued_at, now]
        } else {
            Vec::new()
        },
        save: true,
    }
}

/// What a user is told when the storage folder cannot be written, by cause.
fn storage_problem(dir: &std::path::Path, error: &std::io::Error, what: &str) -> String {
    use std::io::ErrorKind;
    let dir = dir.display();
    let cause = match error.kind() {
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => {
            format!("the disk holding {dir} is full. Free some space")
        }
        ErrorKind::ReadOnlyFilesystem => {
            format!("{dir} is on a read-only file system. Make it writable")
        }
        ErrorKind::PermissionDenied => {
            format!("this user may not write to {dir}. Fix the folder's permissions")
        }
        _ => format!("{dir} cannot be written ({error}). Check the disk"),
    };
    format!(
        "This app cannot save {what}: {cause}; until then it works from the last copy it saved."
    )
}

fn time_left_in_words(time_left: chrono::Duration) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let seconds = time_left.num_seconds().max(0);
    if seconds >= 86_400 {
        plural((seconds + 43_200) / 86_400, "day")
    } else {
        plural(seconds / 3_600, "hour")
    }
}

fn redact(key: &str) -> String {
    LicenseKey::parse(key)
        .map(|k| k.redacted())
        .unwrap_or_else(|_| "****".to_owned())
}

fn is_offline(error: &Error) -> bool {
    match error {
        Error::Network { .. } | Error::RateLimited { .. } | Error::UnexpectedResponse { .. } => {
            true
        }
        Error::Api(api) => api.status >= 500,
        _ => false,
    }
}

fn offline_refusal(refusal: OfflineRefusal) -> LicenseError {
    let code = match refusal {
        OfflineRefusal::ClockMovedBack => LicenseErrorCode::ClockTampered,
        OfflineRefusal::LicenseExpired => LicenseErrorCode::Expired,
        OfflineRefusal::LicenseSuspended => LicenseErrorCode::Suspended,
        OfflineRefusal::LicenseRevoked | OfflineRefusal::LicenseBanned => LicenseErrorCode::Revoked,
        _ => LicenseErrorCode::InvalidToken,
    };
    LicenseError::new(
        code,
        format!("{} {}", refusal.message(), refusal.next_step()),
    )
}

fn not_licensed(reason: NotLicensedReason) -> LicenseError {
    let (code, message) = match reason {
        NotLicensedReason::NoToken => (LicenseErrorCode::NotActivated, "No license is activated on this machine. Enter your license key to activate it.".to_owned()),
        NotLicensedReason::GraceEnded { ended_at } => (
            LicenseErrorCode::InvalidToken,
            format!("The offline grace period ended on {}. Connect to the internet so the license can be checked again.", ended_at.format("%Y-%m-%d %H:%M UTC")),
        ),
        NotLicensedReason::LicenseExpired { expired_at } => (
            LicenseErrorCode::Expired,
            format!("The license expired on {}. Renew it, then connect to the internet.", expired_at.format("%Y-%m-%d")),
        ),
        NotLicensedReason::Suspended => (LicenseErrorCode::Suspended, "The license is suspended. Contact the vendor's support.".to_owned()),
        NotLicensedReason::Revoked | NotLicensedReason::Banned => {
            (LicenseErrorCode::Revoked, "The license has been revoked. Contact the vendor's support.".to_owned())
        }
        NotLicensedReason::NotYetValid { valid_from } => (
            LicenseErrorCode::ClockTampered,
            format!("The cached license is not valid before {}: check the system clock.", valid_from.format("%Y-%m-%d %H:%M UTC")),
        ),
    };
    LicenseError::new(code, message)
}

fn activation_error(error: Error) -> LicenseError {
    let code = match &error {
        Error::Authentication(_) | Error::NotFound(_) => LicenseErrorCode::NotFound,
        Error::Api(api) | Error::Validation(api) | Error::Forbidden(api) => match api.code.as_str()
        {
            "machine_limit_exceeded" => LicenseErrorCode::MachineLimit,
            "license_suspended" => LicenseErrorCode::Suspended,
            "license_revoked" | "license_banned" => LicenseErrorCode::Revoked,
            "license_expired" => LicenseErrorCode::Expired,
            _ => LicenseErrorCode::Network,
        },
        _ => LicenseErrorCode::Network,
    };
    let message = match (&error, code) {
        (_, LicenseErrorCode::NotFound) => {
            "Invalid license key: no license exists with this key. Check it for typos.".to_owned()
        }
        (e, _) => e
            .api_error()
            .map_or_else(|| e.to_string(), |api| api.message.clone()),
    };
    LicenseError::new(code, message)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use licentric_core::{issue_token, AccountSigningKey, LicenseStatus, TokenClaims};

    use super::*;

    const PRODUCT: &str = "prod_1";
    const FP: &str = "fp-of-this-machine";

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, 9, 0, 0).unwrap()
    }

    /// A key pair and a token issued on day 1, usable offline until day 8, 3 days' grace.
    fn signed() -> (PublicKeySet, String) {
        let key = AccountSigningKey::from_secret_seed(&[7; 32]);
        let keys = PublicKeySet::from_keys([key.public_key()]).unwrap();
        let claims = TokenClaims {
            license_id: "lic_1".into(),
            product_id: PRODUCT.into(),
            issued_at: at(1),
            not_before: at(1),
            expires_at: at(8),
            fingerprint: FP.into(),
            machine_id: Some("m_1".into()),
            status: LicenseStatus::Active,
            entitlements: vec!["pro".into()],
            license_expires_at: None,
            grace_days: 3,
            offline_max_days: 7,
            nonce: None,
        };
        (keys, issue_token(&claims, &key).unwrap())
    }

    fn decide(
        now: DateTime<Utc>,
        keys: Option<&PublicKeySet>,
        token: Option<&str>,
        trusted: &TrustedTime,
        network_problem: Option<&str>,
    ) -> OfflineDecision {
        decide_offline(
            &OfflineFacts {
                now,
                fingerprint: FP,
                product_id: PRODUCT,
                keys,
                token,
                file: None,
                trusted_time: trusted,
                network_problem,
            },
            LicenseInfo::default(),
        )
    }

    #[test]
    fn nothing_cached_is_not_activated_or_a_network_problem() {
        let trusted = TrustedTime::default();
        let quiet = decide(at(2), None, None, &trusted, None);
        assert!(!quiet.licensed && !quiet.save);
        assert_eq!(quiet.error.unwrap().code, LicenseErrorCode::NotActivated);
        let cut_off = decide(at(2), None, None, &trusted, Some("connection refused"));
        let error = cut_off.error.unwrap();
        assert_eq!(error.code, LicenseErrorCode::Network);
        assert!(error.message.contains("connection refused"));
    }

    #[test]
    fn a_whole_token_licenses_offline_then_grace_then_nothing() {
        let (keys, token) = signed();
        let trusted = TrustedTime::new(at(1));
        let offline = decide(at(3), Some(&keys), Some(&token), &trusted, Some("down"));
        assert!(offline.licensed && offline.save);
        assert_eq!(offline.info.standing, Some(Standing::Offline));
        assert_eq!(offline.info.entitlements, ["pro"]);
        assert!(offline.info.message.unwrap().contains("cannot be reached"));
        assert_eq!(offline.trusted, [at(1), at(3)]);

        let grace = decide(at(9), Some(&keys), Some(&token), &trusted, None);
        assert!(grace.licensed);
        assert_eq!(grace.info.standing, Some(Standing::Grace));
        assert_eq!(grace.error.unwrap().code, LicenseErrorCode::Degraded);

        let over = decide(
            at(8) + Duration::days(4),
            Some(&keys),
            Some(&token),
            &trusted,
            None,
        );
        assert!(!over.licensed);
        assert_eq!(over.info.standing, Some(Standing::NotLicensed));
        assert!(
            over.trusted.is_empty(),
            "a refused run moves no trusted time"
        );
    }

    #[test]
    fn a_clock_behind_trusted_time_is_refused() {
        let (keys, token) = signed();
        let trusted = TrustedTime::new(at(5));
        let set_back = decide(at(2), Some(&keys), Some(&token), &trusted, None);
        assert!(!set_back.licensed);
        assert_eq!(
            set_back.error.unwrap().code,
            LicenseErrorCode::ClockTampered
        );
    }

    #[test]
    fn a_torn_or_foreign_token_is_never_believed() {
        let (keys, token) = signed();
        let trusted = TrustedTime::new(at(1));
        let torn = &token[..token.len() / 2];
        for text in [torn, "not a token", &token.replace('a', "b")] {
            let refused = decide(at(2), Some(&keys), Some(text), &trusted, None);
            assert!(!refused.licensed && !refused.save, "{text}");
            assert_eq!(refused.error.unwrap().code, LicenseErrorCode::InvalidToken);
        }
        let other_key = AccountSigningKey::from_secret_seed(&[9; 32]);
        let other = PublicKeySet::from_keys([other_key.public_key()]).unwrap();
        let foreign = decide(at(2), Some(&other), Some(&token), &trusted, None);
        assert_eq!(foreign.error.unwrap().code, LicenseErrorCode::InvalidToken);
        let unpinned = decide(at(2), None, Some(&token), &trusted, None);
        assert!(!unpinned.licensed);
        assert_eq!(unpinned.error.unwrap().code, LicenseErrorCode::InvalidToken);
    }

    fn answer(code: ValidationCode, token: Option<String>) -> ValidationResult {
        ValidationResult {
            valid: code == ValidationCode::Valid,
            code,
            license: None,
            machine: None,
            entitlements: vec![],
            server_time: Some(at(2)),
            token,
        }
    }

    fn judge(keys: &PublicKeySet, result: &ValidationResult, nonce: &Nonce) -> OnlineDecision {
        decide_online(
            &OnlineFacts {
                now: at(2),
                fingerprint: FP,
                product_id: PRODUCT,
                keys: Some(keys),
                skip_signature_verification: false,
                key: Some("PROD-AAAA-BBBB-CCCC-DDDD"),
                result,
                nonce,
            },
            LicenseInfo::default(),
        )
    }

    #[test]
    fn a_valid_answer_counts_only_with_a_token_for_this_very_request() {
        let key = AccountSigningKey::from_secret_seed(&[7; 32]);
        let keys = PublicKeySet::from_keys([key.public_key()]).unwrap();
        let nonce = Nonce::generate(&mut rand::rngs::OsRng);
        let mut claims = TokenClaims {
            license_id: "lic_1".into(),
            product_id: PRODUCT.into(),
            issued_at: at(2),
            not_before: at(2),
            expires_at: at(9),
            fingerprint: FP.into(),
            machine_id: Some("m_1".into()),
            status: LicenseStatus::Active,
            entitlements: vec!["pro".into()],
            license_expires_at: None,
            grace_days: 3,
            offline_max_days: 7,
            nonce: Some(nonce.as_str().to_owned()),
        };
        let token = issue_token(&claims, &key).unwrap();
        let proven = judge(
            &keys,
            &answer(ValidationCode::Valid, Some(token.clone())),
            &nonce,
        );
        assert!(proven.licensed && proven.save);
        assert_eq!(proven.info.standing, Some(Standing::Online));
        assert_eq!(proven.info.entitlements, ["pro"], "from the signed claims");
        assert_eq!(proven.cache_token.as_deref(), Some(token.as_str()));
        assert_eq!(proven.reset_trusted_time_to, Some(at(2)));

        // No token, or one answering another request (a replay): believed in nothing.
        claims.nonce = Some(Nonce::generate(&mut rand::rngs::OsRng).as_str().to_owned());
        let replayed = issue_token(&claims, &key).unwrap();
        for unproven in [None, Some(replayed)] {
            let refused = judge(&keys, &answer(ValidationCode::Valid, unproven), &nonce);
            assert!(!refused.licensed && !refused.save);
            assert_eq!(refused.error.unwrap().code, LicenseErrorCode::InvalidToken);
            assert_eq!(
                (refused.cache_token, refused.reset_trusted_time_to),
                (None, None)
            );
        }
    }

    #[test]
    fn a_refusal_is_believed_unsigned_and_a_final_one_forgets_the_token() {
        let keys =
            PublicKeySet::from_keys([AccountSigningKey::from_secret_seed(&[7; 32]).public_key()])
                .unwrap();
        let nonce = Nonce::generate(&mut rand::rngs::OsRng);
        let revoked = judge(&keys, &answer(ValidationCode::Revoked, None), &nonce);
        assert!(!revoked.licensed && revoked.save && revoked.forget_token);
        assert_eq!(revoked.error.unwrap().code, LicenseErrorCode::Revoked);
        assert_eq!(
            revoked.reset_trusted_time_to, None,
            "an unsigned time moves nothing"
        );
        let suspended = judge(&keys, &answer(ValidationCode::Suspended, None), &nonce);
        assert!(!suspended.licensed && !suspended.forget_token);
        assert_eq!(suspended.error.unwrap().code, LicenseErrorCode::Suspended);
    }
}
