//! License endpoints. Today: `POST /api/v1/licenses/validate-key`.

use axum::{extract::State, Json};
use licentric_core::{
    evaluate,
    wire::{LicenseSummary, ValidateKeyRequest, ValidationResult},
    FingerprintCheck, LicenseFacts, LicenseKey, LicenseStatus, ValidationCode,
};
use serde_json::json;

use crate::{db, extract::ApiJson, ApiError, AppState};

/// Longest key accepted before it is refused as bad input rather than looked up.
const MAX_KEY_LEN: usize = 128;

/// Validates a license key. No authentication: the key in the body is the credential.
///
/// Always 200 for a well-formed request, whatever the outcome: a key that does not exist
/// is `{"valid": false, "code": "NOT_FOUND"}`, not a 404.
pub async fn validate_key(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ValidateKeyRequest>,
) -> Result<Json<ValidationResult>, ApiError> {
    check_request(&request)?;
    let key = LicenseKey::normalize(&request.key);
    let Some(license) = db::licenses::find_by_key(&state.db, &key).await? else {
        return Ok(Json(ValidationResult {
            valid: false,
            code: ValidationCode::NotFound,
            license: None,
            machine: None,
            entitlements: vec![],
        }));
    };

    let status: LicenseStatus = license
        .status
        .parse()
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?;
    // Entitlements and machine activation arrive with the management API; until then a
    // license has no entitlements and no activated machines, and the answer says so.
    let entitlements: Vec<String> = vec![];
    let missing_entitlements = request
        .entitlements
        .unwrap_or_default()
        .into_iter()
        .filter(|wanted| !entitlements.contains(wanted))
        .collect();
    let fingerprint = match request.fingerprint {
        Some(_) => FingerprintCheck::NotActivated,
        None => FingerprintCheck::NotRequested,
    };
    let facts = LicenseFacts {
        status,
        expires_at: license.expires_at,
        uses: u64::try_from(license.uses).unwrap_or(0),
        max_uses: license.max_uses.and_then(|m| u64::try_from(m).ok()),
        missing_entitlements,
        fingerprint,
        machines: 0,
        max_machines: license.max_machines.and_then(|m| u64::try_from(m).ok()),
    };
    let code = evaluate(&facts, state.clock.now());
    Ok(Json(ValidationResult {
        valid: code.is_valid(),
        code,
        license: Some(LicenseSummary {
            id: license.id,
            status,
            product_id: license.product_id,
            policy_id: license.policy_id,
            expires_at: license.expires_at,
        }),
        machine: None,
        entitlements,
    }))
}

fn check_request(request: &ValidateKeyRequest) -> Result<(), ApiError> {
    let mut problems = serde_json::Map::new();
    let key = request.key.trim();
    if key.is_empty() {
        problems.insert("key".into(), json!("is required"));
    } else if key.len() > MAX_KEY_LEN {
        problems.insert(
            "key".into(),
            json!(format!("must be at most {MAX_KEY_LEN} characters")),
        );
    }
    if let Some(fingerprint) = &request.fingerprint {
        if fingerprint.trim().chars().count() < 8 {
            problems.insert("fingerprint".into(), json!("must be at least 8 characters"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        let fields = problems.keys().cloned().collect::<Vec<_>>().join(", ");
        Err(ApiError::invalid(
            format!("Invalid {fields}: see details."),
            problems.into(),
        ))
    }
}
