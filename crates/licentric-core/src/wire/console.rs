//! The shapes of the management routes a vendor console needs: diagnosing a license,
//! bulk work, and import reports.

use serde::{Deserialize, Serialize};

use super::License;
use crate::ValidationCode;

/// Body of `POST /licenses/{id}/validate` (all optional): what to check besides the
/// license itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct DiagnoseRequest {
    /// A machine's fingerprint, to check its activation and heartbeat too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Entitlement codes the license must have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entitlements: Option<Vec<String>>,
}

/// The answer to "why is this license failing?": the code `validate-key` would give, and
/// every check with its outcome. Nothing is counted or recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Diagnosis {
    /// Whether the license would validate.
    pub valid: bool,
    /// The code a validation would answer (the first failing check, or `VALID`).
    pub code: ValidationCode,
    /// Every check, in the order validation applies them.
    pub checks: Vec<Check>,
}

/// One check of a [`Diagnosis`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Check {
    /// What is checked: `status`, `expiry`, `uses`, `entitlements`, `fingerprint`,
    /// `heartbeat` or `machineLimit`.
    pub check: String,
    /// Whether it passed; `null` when it was not asked (no fingerprint given).
    pub passed: Option<bool>,
    /// The code it fails with.
    pub code: ValidationCode,
    /// What was found, in words.
    pub detail: String,
}

/// Body of `POST /licenses/bulk`: issue `count` licenses of one policy at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct BulkIssue {
    /// The policy of every new license.
    pub policy_id: String,
    /// How many, 1–1000.
    pub count: u32,
    /// A name for each (the same for all), e.g. the customer's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Metadata for each (the same for all), a JSON object of at most 16 KiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown> | null"))]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The licenses `POST /licenses/bulk` issued, with their keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct BulkIssued {
    /// The new licenses, keys included.
    pub data: Vec<License>,
}

/// What `POST /licenses/actions` does to each license.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum LicenseAction {
    /// Suspend an active license.
    Suspend,
    /// Reinstate a suspended license.
    Reinstate,
    /// Revoke for good.
    Revoke,
    /// Ban for abuse.
    Ban,
    /// Extend by the policy's duration.
    Renew,
    /// Delete with its machines.
    Delete,
}

/// Body of `POST /licenses/actions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct LicenseActions {
    /// What to do.
    pub action: LicenseAction,
    /// The licenses, 1–1000 ids.
    pub ids: Vec<String>,
}

/// The outcome of an action on one license.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ActionResult {
    /// The license's id, as sent.
    pub id: String,
    /// `ok`, or the error code for this license (e.g. `not_found`, `invalid_transition`).
    pub result: String,
    /// What went wrong, for a failed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The answer of `POST /licenses/actions`: a result per id, in the order sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ActionResults {
    /// How many succeeded.
    pub succeeded: u32,
    /// How many failed.
    pub failed: u32,
    /// One result per id.
    pub results: Vec<ActionResult>,
}

/// A row of an import that cannot be imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ImportProblem {
    /// The line in the file, as a person counts it (the header is line 1).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub line: u64,
    /// The column, when one is at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong, and what to do.
    pub reason: String,
}

/// The answer of `POST /licenses/import`: with `dryRun` (or any problem) nothing is
/// written; otherwise every row was imported, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ImportReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Rows read (not counting the header and blank lines).
    pub rows: u32,
    /// Licenses written: 0 for a dry run or a refused file.
    pub imported: u32,
    /// Every bad row, by line; empty when the file is clean.
    pub problems: Vec<ImportProblem>,
}
