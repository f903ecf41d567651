//! The Licentric Rust SDK.
//!
//! Two layers:
//!
//! - [`Licentric`]: the typed HTTP client of the `/api/v1` API (seed 000) — `validate`,
//!   `activate`, `deactivate`, `heartbeat`, `checkout`, and the whole management API —
//!   with typed errors, bounded retries that honour `Retry-After`, timeouts and proxies.
//! - [`LicenseClient`]: what an application embeds (seed 004) — `check_license()` at
//!   start-up, a signed token cached for offline use, a grace period after it expires, a
//!   clock that cannot be turned back, the license key in the OS keyring, and this
//!   machine's fingerprint.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use licentric_client::LicenseClient;
//!
//! let client = LicenseClient::builder("https://your-domain.com", "prod_abc123", "your-product-salt")
//!     .public_key(r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"…","kid":"k1-…"}]}"#)
//!     .build()?;
//! if !client.check_license().await {
//!     match client.get_error() {
//!         Some(error) if error.code.as_str() == "not_activated" => {
//!             let info = client.activate("MYAPP-A2B3-C4D5-E6F7-G8H9").await?;
//!             println!("Activated. Machines: {}/{:?}", info.machines_used, info.max_machines);
//!         }
//!         Some(error) => return Err(error.into()),
//!         None => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod client;
mod error;
mod license_client;
pub mod machine;
mod management;
mod models;
pub mod secrets;
pub mod storage;

pub use client::{
    Download, Licentric, LicentricBuilder, RetryPolicy, ServerHealth, DEFAULT_BASE_URL,
    DEFAULT_CHECKOUT_TTL, DEFAULT_TIMEOUT,
};
pub use error::{ApiError, Error};
pub use license_client::{
    ActivationInfo, HeartbeatHandle, LicenseClient, LicenseClientBuilder, LicenseError,
    LicenseErrorCode, LicenseInfo, Standing, DEFAULT_APP_NAME,
};
pub use licentric_core::wire::{LicenseSummary, Machine, ValidationResult};
pub use licentric_core::{LicenseKey, LicenseStatus, ValidationCode};
pub use machine::{FixedMachine, MachineIdentity, SystemMachine};
pub use models::{LicenseFile, ListParams, OfflineActivation};
pub use secrets::{KeyLocation, KeyStorage};
