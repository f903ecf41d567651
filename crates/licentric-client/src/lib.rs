//! The Licentric Rust SDK.
//!
//! [`Licentric`] speaks the Licentric `/api/v1` API: it validates license keys today, and
//! grows into activation, heartbeats, offline checkout and the management API.
//!
//! ```no_run
//! # async fn run() -> Result<(), licentric_client::Error> {
//! use licentric_client::Licentric;
//!
//! let client = Licentric::builder()
//!     .base_url("https://your-instance.licentric.com")
//!     .build()?;
//! let result = client
//!     .validate("MYAPP-XXXX-XXXX-XXXX-XXXX", Some("abc123def456"), &["export_pdf"])
//!     .await?;
//! if result.valid {
//!     println!("License is valid: {}", result.code);
//! } else {
//!     println!("License invalid: {} ({})", result.code, result.code.explain().next_step);
//! }
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod client;
mod error;

pub use client::{Licentric, LicentricBuilder, DEFAULT_BASE_URL, DEFAULT_TIMEOUT};
pub use error::{ApiError, Error};
pub use licentric_core::wire::{LicenseSummary, Machine, ValidationResult};
pub use licentric_core::{LicenseStatus, ValidationCode};
