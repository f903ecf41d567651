//! The JSON shapes of the Licentric v1 API that both the server and the SDK speak.
//!
//! Keeping one definition here means a renamed field breaks the server, the SDK and the
//! desktop UI's generated TypeScript at once, instead of drifting apart silently.
//! Fields are camelCase on the wire; timestamps are UTC RFC 3339.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{LicenseStatus, ValidationCode};

mod analytics;
mod console;
mod resources;
mod trust;
pub use analytics::*;
pub use console::*;
pub use resources::*;
pub use trust::*;

/// Body of `POST /api/v1/licenses/validate-key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidateKeyRequest {
    /// The license key, e.g. `PROAPP-A1B2-C3D4-E5F6-G7H8`.
    pub key: String,
    /// The machine fingerprint to check the activation of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Entitlement codes the license must have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entitlements: Option<Vec<String>>,
    /// A fresh random value (16–128 characters of base64url or hex) the server signs into
    /// the token as its `nonce` claim, so the client can tell this answer from a replayed
    /// one. Optional: without it the token carries no nonce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 16, max_length = 128, pattern = "^[A-Za-z0-9_-]{16,128}$")
    )]
    pub nonce: Option<String>,
}

/// The answer to a validation: a result, not an error, whatever the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ValidationResult {
    /// Whether the license may be used (`code` is `VALID`).
    pub valid: bool,
    /// Why it is, or is not, valid.
    pub code: ValidationCode,
    /// The license the key belongs to; absent for `NOT_FOUND`.
    pub license: Option<LicenseSummary>,
    /// The machine named by the request's fingerprint, when it is activated.
    pub machine: Option<Machine>,
    /// The entitlement codes the license has.
    pub entitlements: Vec<String>,
    /// The server's clock when it answered (RFC 3339). Clients keep it as trusted time:
    /// an offline check refuses a local clock set back before it. Licentric servers
    /// always send it; `null` only from servers older than this field.
    #[serde(default)]
    pub server_time: Option<DateTime<Utc>>,
    /// A validation token (an EdDSA-signed JWT, see `docs/formats.md`) for the request's
    /// fingerprint: present only when the code is `VALID` and a fingerprint was given.
    /// It lasts `offlineMaxDays` days, but never past the license's expiry, and carries the
    /// request's `nonce` when one was sent. Clients believe a `VALID` only with this token.
    #[serde(default)]
    pub token: Option<String>,
}

/// The part of a license a validation reveals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct LicenseSummary {
    /// The license's id.
    pub id: String,
    /// Its status as set by the vendor.
    pub status: LicenseStatus,
    /// The product it licenses.
    pub product_id: String,
    /// The policy that governs it.
    pub policy_id: String,
    /// When it expires; `null` for a perpetual license.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The envelope of every non-2xx answer: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorEnvelope {
    /// What went wrong.
    pub error: ErrorBody,
}

/// What went wrong, for people and for programs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// A stable, machine-readable code, e.g. `invalid_request`.
    pub code: String,
    /// A sentence for a person: what happened and what to do.
    pub message: String,
    /// Structured particulars, e.g. per-field problems for a 400.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub details: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_validate_key_example_parses_and_result_matches_seed_shape() {
        let request: ValidateKeyRequest = serde_json::from_str(
            r#"{"key": "PROAPP-A1B2-C3D4-E5F6-G7H8", "fingerprint": "ab12cd34ef56", "entitlements": ["export_pdf"]}"#,
        )
        .unwrap();
        assert_eq!(request.fingerprint.as_deref(), Some("ab12cd34ef56"));

        let result: ValidationResult = serde_json::from_str(
            r#"{"valid": true, "code": "VALID", "license": {"id": "lic_01H", "status": "active",
                "productId": "p", "policyId": "q", "expiresAt": "2027-01-01T00:00:00Z"},
                "machine": null, "entitlements": [], "serverTime": "2026-01-15T09:30:00Z"}"#,
        )
        .unwrap();
        assert_eq!(result.code, ValidationCode::Valid);
        assert_eq!(result.token, None);
        assert_eq!(
            result.server_time,
            Some("2026-01-15T09:30:00Z".parse().unwrap())
        );
        let json = serde_json::to_value(&result).unwrap();
        assert_eq!(json["license"]["expiresAt"], "2027-01-01T00:00:00Z");
    }

    #[test]
    fn unknown_request_fields_are_refused_so_typos_do_not_pass_silently() {
        let typo = serde_json::from_str::<ValidateKeyRequest>(r#"{"key": "K", "fingerprnt": "x"}"#);
        assert!(typo.is_err());
    }
}
