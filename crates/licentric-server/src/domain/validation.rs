//! Validation: gathering a license's facts for a request (its status, expiry, uses,
//! entitlements, the machine a fingerprint names) and deciding its code with the core's
//! precedence; recording the outcome and signing a token for a valid machine. The
//! counted validation of `validate-key` is decided in the runtime's batches
//! ([`super::runtime`]); the diagnosis reads the same facts without counting.

use chrono::{DateTime, Utc};
use licentric_core::{
    failing,
    wire::{Check, Diagnosis, Policy, ValidationResult},
    FingerprintCheck, LicenseFacts, LicenseKey, Nonce, ValidationCode,
};

use super::{audit::Actor, licenses, machines, runtime};
use crate::{
    db::{self, licenses::LicenseRecord},
    issuance,
    tenant::Tenant,
    ApiError, AppState,
};

/// What is asked of a license.
#[derive(Debug, Clone, Default)]
pub struct Question {
    /// The machine that asks, when it names itself.
    pub fingerprint: Option<String>,
    /// Entitlement codes the license must have.
    pub entitlements: Vec<String>,
}

/// A license's facts for one question, and what they decide.
#[derive(Debug)]
struct Gathered {
    policy: Policy,
    entitlements: Vec<String>,
    facts: LicenseFacts,
    now: DateTime<Utc>,
}

/// Reads what decides a validation of `record` for `question`. `uses` is the count to
/// judge `maxUses` by (a validation judges the count including itself).
async fn gather(
    state: &AppState,
    record: LicenseRecord,
    policy: Policy,
    question: &Question,
    uses: u32,
) -> Result<Gathered, ApiError> {
    let now = state.clock.now();
    let rule = machines::rule(&policy);
    let entitlements = db::licenses::entitlement_codes(&state.db, &record).await?;
    let missing_entitlements = question
        .entitlements
        .iter()
        .filter(|wanted| !entitlements.contains(wanted))
        .cloned()
        .collect();
    let machine = match question.fingerprint.as_deref().map(str::trim) {
        Some(fingerprint) => {
            db::machines::find_by_fingerprint(&state.db, &record.tenant(), &record.id, fingerprint)
                .await?
        }
        None => None,
    };
    let fingerprint = match (&question.fingerprint, &machine) {
        (None, _) => FingerprintCheck::NotRequested,
        (Some(_), None) => FingerprintCheck::NotActivated,
        (Some(_), Some(m)) => FingerprintCheck::Activated {
            heartbeat_overdue: m.is_dead(rule, now),
        },
    };
    let facts = LicenseFacts {
        status: record.status,
        expires_at: record.expires_at,
        uses: u64::from(uses),
        max_uses: record.max_uses.map(u64::from),
        missing_entitlements,
        fingerprint,
        machines: u64::from(record.machines_count),
        max_machines: record.max_machines().map(u64::from),
    };
    Ok(Gathered {
        policy,
        entitlements,
        facts,
        now,
    })
}

/// Validates a license key (`validate-key`): counts a use, records the outcome in the
/// activity log and the audit trail, emits `license.validated` (all through the runtime's
/// batches, [`super::runtime`]), and signs a token (with the client's nonce) for a valid
/// machine once that is committed. `None` when no license has this key.
pub async fn validate_key(
    state: &AppState,
    actor: &Actor,
    key: &str,
    question: &Question,
    nonce: Option<&Nonce>,
) -> Result<Option<ValidationResult>, ApiError> {
    let key = LicenseKey::normalize(key);
    let Some(validated) = state
        .runtime
        .validate(
            key,
            question.fingerprint.clone(),
            question.entitlements.clone(),
            actor.clone(),
        )
        .await?
    else {
        return Ok(None);
    };
    let view = &validated.license;
    let code = validated.code;
    let now = validated.now;
    // A VALID answer for a fingerprint is worth a token: the machine can prove it offline.
    let token = match &validated.machine {
        Some(machine) if code.is_valid() => {
            let tenant = view.record.tenant();
            let key = state
                .runtime
                .signing_key(&state.settings.secret, &tenant, validated.generation, now)
                .await?;
            let subject = issuance::Subject {
                license: &view.record,
                policy: &view.policy,
                entitlements: view.entitlements.clone(),
                fingerprint: &machine.fingerprint,
                machine_id: Some(&machine.id),
            };
            issuance::sign_token(&key, &subject, nonce, now)?
        }
        _ => None,
    };
    let rule = machines::rule(&view.policy);
    Ok(Some(ValidationResult {
        valid: code.is_valid(),
        code,
        license: Some(runtime::summary(&view.record)),
        machine: validated.machine.map(|m| m.into_wire(rule, now)),
        entitlements: view.entitlements.clone(),
        server_time: Some(now),
        token,
    }))
}

/// Evaluates a license like `validate-key` without counting a use, recording a
/// validation or emitting anything, and lists every check with its outcome.
pub async fn diagnose(
    state: &AppState,
    tenant: &Tenant,
    id: &str,
    question: &Question,
) -> Result<Diagnosis, ApiError> {
    let record = licenses::load(state, tenant, id).await?;
    let policy = machines::policy_of(state, tenant, &record).await?;
    let uses = record.uses;
    let g = gather(state, record, policy, question, uses).await?;
    let failed = failing(&g.facts, g.now);
    let f = &g.facts;
    let fails = |code| Some(!failed.contains(&code));
    let status = f.status;
    let mut checks = vec![
        Check {
            check: "status".into(),
            passed: Some(!failed.iter().any(|c| {
                matches!(
                    c,
                    ValidationCode::Banned | ValidationCode::Revoked | ValidationCode::Suspended
                )
            })),
            code: match status {
                licentric_core::LicenseStatus::Banned => ValidationCode::Banned,
                licentric_core::LicenseStatus::Revoked => ValidationCode::Revoked,
                _ => ValidationCode::Suspended,
            },
            detail: format!("The license is {status}."),
        },
        Check {
            check: "expiry".into(),
            passed: fails(ValidationCode::Expired),
            code: ValidationCode::Expired,
            detail: match f.expires_at {
                Some(at) if at <= g.now => format!("It expired at {}.", at.to_rfc3339()),
                Some(at) => format!("It expires at {}.", at.to_rfc3339()),
                None => "It never expires.".into(),
            },
        },
        Check {
            check: "uses".into(),
            passed: fails(ValidationCode::UsesExceeded),
            code: ValidationCode::UsesExceeded,
            detail: match f.max_uses {
                Some(max) => format!("{} of {max} validations used.", f.uses),
                None => format!("{} validations; the policy sets no limit.", f.uses),
            },
        },
        Check {
            check: "entitlements".into(),
            passed: fails(ValidationCode::EntitlementsMissing),
            code: ValidationCode::EntitlementsMissing,
            detail: if f.missing_entitlements.is_empty() {
                format!(
                    "Has {} entitlement(s); none asked for is missing.",
                    g.entitlements.len()
                )
            } else {
                format!("Missing: {}.", f.missing_entitlements.join(", "))
            },
        },
    ];
    let (fingerprint, heartbeat) = match f.fingerprint {
        FingerprintCheck::NotRequested => (
            (
                None,
                "No fingerprint given: the machine checks were not asked.".to_owned(),
            ),
            (None, "No fingerprint given.".to_owned()),
        ),
        FingerprintCheck::NotActivated => (
            (
                Some(false),
                "No machine with this fingerprint is activated on the license.".to_owned(),
            ),
            (None, "The machine is not activated.".to_owned()),
        ),
        FingerprintCheck::Activated { heartbeat_overdue } => (
            (
                Some(true),
                "The machine is activated on the license.".to_owned(),
            ),
            (
                Some(!heartbeat_overdue),
                if heartbeat_overdue {
                    "Its heartbeat is overdue: the machine is dead.".to_owned()
                } else if g.policy.require_heartbeat {
                    "Its heartbeats are on time.".to_owned()
                } else {
                    "The policy requires no heartbeat.".to_owned()
                },
            ),
        ),
    };
    checks.push(Check {
        check: "fingerprint".into(),
        passed: fingerprint.0,
        code: ValidationCode::FingerprintNotFound,
        detail: fingerprint.1,
    });
    checks.push(Check {
        check: "heartbeat".into(),
        passed: heartbeat.0,
        code: ValidationCode::HeartbeatRequired,
        detail: heartbeat.1,
    });
    checks.push(Check {
        check: "machineLimit".into(),
        passed: fails(ValidationCode::MachineLimitExceeded),
        code: ValidationCode::MachineLimitExceeded,
        detail: match f.max_machines {
            Some(max) => format!("{} of {max} machine slot(s) in use.", f.machines),
            None => format!("{} machine(s); the policy sets no limit.", f.machines),
        },
    });
    let code = failed.first().copied().unwrap_or(ValidationCode::Valid);
    Ok(Diagnosis {
        valid: code.is_valid(),
        code,
        checks,
    })
}
