//! Trust on the wire: signing keys, offline license files (checkout), and the offline
//! activation round trip. The formats of what is signed are in `docs/formats.md`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{License, Machine};

/// The key that signs a product's offline files and validation tokens now: what a vendor
/// pins in their application. Older keys stay in the JWKS at `jwksUrl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct CurrentSigningKey {
    /// The key id (`kid`) files and tokens signed with it carry, e.g. `k1-21fe31df`.
    pub key_id: String,
    /// The Ed25519 public key: unpadded base64url of its 32 bytes (a JWK's `x`).
    pub public_key: String,
    /// Where the account's key set (current and retired keys) is published, relative to
    /// the server: `/api/v1/accounts/{accountId}/jwks.json` (with `?environment=test` for
    /// test data).
    pub jwks_url: String,
}

/// One of an account's signing keys (the public half; the private half never leaves
/// the server).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct SigningKey {
    /// The key id (`kid`).
    pub key_id: String,
    /// The Ed25519 public key: unpadded base64url of its 32 bytes.
    pub public_key: String,
    /// Always `EdDSA`.
    pub algorithm: String,
    /// Whether it signs new files and tokens (exactly one key is active).
    pub active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When a rotation retired it; `null` for the active key. What it signed stays
    /// verifiable: the JWKS keeps publishing it.
    pub retired_at: Option<DateTime<Utc>>,
}

/// Optional body of `POST /licenses/{id}/offline-file`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfflineFileRequest {
    /// The fingerprint to bind the file to; by default the license's only machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Seconds the file lasts, 3600 to the policy's `offlineMaxDays` (default 14 days,
    /// or `offlineMaxDays` when that is shorter). Never past the license's expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
}

/// Body of `POST /licenses/{id}/checkout`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckoutRequest {
    /// The fingerprint of the machine to bind the file to, 8–255 characters.
    pub fingerprint: String,
    /// Seconds the file lasts, 3600 to the policy's `offlineMaxDays` (default 1209600,
    /// 14 days, or `offlineMaxDays` when that is shorter). Never past the license's expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
}

/// A checked-out offline license file (seed 000's `LicenseFile`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct LicenseCheckout {
    /// The signed `.lic` text (see `docs/formats.md`).
    pub certificate: String,
    /// The license, as at issue.
    pub license: License,
    /// The fingerprint the file is bound to.
    pub fingerprint: String,
    /// Seconds from issue to the file's expiry: the ttl asked for, or less when the
    /// license expires sooner.
    pub ttl: u32,
}

/// Body of `POST /licenses/offline-activations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfflineActivationRequest {
    /// The request text the air-gapped machine shows (`LICENTRIC-REQ1.…`); spaces and
    /// line breaks anywhere are ignored.
    pub request: String,
    /// Seconds the file lasts, as for checkout (default 14 days, or `offlineMaxDays`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
}

/// The answer to an offline activation: the machine is registered on the license, and
/// the certificate is the `.lic` file to carry back to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct OfflineActivation {
    /// The signed `.lic` text, bound to the request's fingerprint.
    pub certificate: String,
    /// The machine, new or already activated with that fingerprint.
    pub machine: Machine,
    /// The license, with the machine counted.
    pub license: License,
}
