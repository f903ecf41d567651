//! The outcome codes of license validation and what they mean to a person.
//!
//! The codes are exactly those of the Licentric v1 API (seed 001). When several apply,
//! the server reports the first in [`ValidationCode::PRECEDENCE`]: facts about the license
//! itself before facts about this request, so a revoked license says "revoked" even when
//! it is also expired.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::LicenseStatus;

/// Why a license is, or is not, valid.
// Ord: the dashboard's per-day validations are a map keyed by code, in declaration order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ValidationCode {
    /// The license is valid and the request succeeded.
    Valid,
    /// No license exists with the provided key.
    NotFound,
    /// The license has passed its expiration date.
    Expired,
    /// The license has been temporarily suspended.
    Suspended,
    /// The license has been permanently revoked.
    Revoked,
    /// The license has been flagged for abuse.
    Banned,
    /// The maximum number of machine activations has been reached.
    MachineLimitExceeded,
    /// The device fingerprint is not activated for this license.
    FingerprintNotFound,
    /// The machine's heartbeat is overdue.
    HeartbeatRequired,
    /// The license has exceeded its maximum validation count.
    UsesExceeded,
    /// Required entitlements are not attached to the license.
    EntitlementsMissing,
}

/// A validation code in plain words: what happened, and what to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// A short headline, e.g. "Device not activated".
    pub title: &'static str,
    /// What caused it.
    pub cause: &'static str,
    /// What the person should do now.
    pub next_step: &'static str,
}

impl ValidationCode {
    /// Every code, in the order the server reports them when several apply.
    pub const PRECEDENCE: [ValidationCode; 11] = [
        Self::NotFound,
        Self::Banned,
        Self::Revoked,
        Self::Suspended,
        Self::Expired,
        Self::UsesExceeded,
        Self::EntitlementsMissing,
        Self::FingerprintNotFound,
        Self::HeartbeatRequired,
        Self::MachineLimitExceeded,
        Self::Valid,
    ];

    /// Whether this code means the license may be used.
    pub fn is_valid(self) -> bool {
        self == Self::Valid
    }

    /// The wire spelling, e.g. `MACHINE_LIMIT_EXCEEDED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "VALID",
            Self::NotFound => "NOT_FOUND",
            Self::Expired => "EXPIRED",
            Self::Suspended => "SUSPENDED",
            Self::Revoked => "REVOKED",
            Self::Banned => "BANNED",
            Self::MachineLimitExceeded => "MACHINE_LIMIT_EXCEEDED",
            Self::FingerprintNotFound => "FINGERPRINT_NOT_FOUND",
            Self::HeartbeatRequired => "HEARTBEAT_REQUIRED",
            Self::UsesExceeded => "USES_EXCEEDED",
            Self::EntitlementsMissing => "ENTITLEMENTS_MISSING",
        }
    }

    /// The code in plain words, in the tone of the troubleshooting guide: the cause and
    /// the next step, never just a name.
    pub fn explain(self) -> Explanation {
        let (title, cause, next_step) = match self {
            Self::Valid => (
                "License is valid",
                "The license is active and this request met all its conditions.",
                "Nothing to do.",
            ),
            Self::NotFound => (
                "Invalid license key",
                "No license exists with this key. It may be mistyped, or belong to the other environment (test keys do not exist in live, and vice versa).",
                "Check the key for typos, or copy it again from your purchase e-mail.",
            ),
            Self::Expired => (
                "License has expired",
                "The license's expiry date is in the past.",
                "Renew the license, or ask the vendor to extend its expiry date.",
            ),
            Self::Suspended => (
                "License is suspended",
                "The vendor has temporarily suspended this license.",
                "Contact the vendor's support to have it reinstated.",
            ),
            Self::Revoked => (
                "License has been revoked",
                "The vendor has permanently withdrawn this license.",
                "Contact the vendor's support; a revoked license cannot be reactivated.",
            ),
            Self::Banned => (
                "License is banned",
                "The license has been flagged for abuse.",
                "Contact the vendor's support.",
            ),
            Self::MachineLimitExceeded => (
                "Too many devices",
                "The license has reached the maximum number of machines its policy allows.",
                "Deactivate another machine to free a slot, or ask the vendor for more seats.",
            ),
            Self::FingerprintNotFound => (
                "Device not activated",
                "This machine is not activated for the license.",
                "Activate this machine first, then check again.",
            ),
            Self::HeartbeatRequired => (
                "Device needs to check in",
                "The license requires regular heartbeats and this machine's last one is overdue.",
                "Send a heartbeat (keep the app online for a moment), then check again.",
            ),
            Self::UsesExceeded => (
                "Usage limit reached",
                "The license has been validated more times than its policy allows.",
                "Ask the vendor to raise the usage limit or issue a new license.",
            ),
            Self::EntitlementsMissing => (
                "Required features not present",
                "The license does not include a feature this check asked for.",
                "Ask the vendor to add the missing entitlement, or upgrade your plan.",
            ),
        };
        Explanation {
            title,
            cause,
            next_step,
        }
    }
}

/// What the server knows about the machine named in a validation request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FingerprintCheck {
    /// The request named no fingerprint.
    NotRequested,
    /// The fingerprint is not activated for this license.
    NotActivated,
    /// The fingerprint is activated; `heartbeat_overdue` when its policy requires
    /// heartbeats and the last one is too old.
    Activated {
        /// The machine missed its heartbeat window.
        heartbeat_overdue: bool,
    },
}

/// Everything [`evaluate`] needs to know about an existing license and one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseFacts {
    /// The status set by the vendor.
    pub status: LicenseStatus,
    /// When the license stops being valid; `None` for a perpetual license.
    pub expires_at: Option<DateTime<Utc>>,
    /// Validations so far, and the policy's limit (`None`: unlimited).
    pub uses: u64,
    /// The policy's maximum number of validations.
    pub max_uses: Option<u64>,
    /// Entitlement codes the request asked for that the license lacks.
    pub missing_entitlements: Vec<String>,
    /// The requested machine's standing.
    pub fingerprint: FingerprintCheck,
    /// Machines activated, and the policy's limit (`None`: unlimited).
    pub machines: u64,
    /// The policy's maximum number of machines.
    pub max_machines: Option<u64>,
}

/// Decides the validation code of an existing license at `now`, applying
/// [`ValidationCode::PRECEDENCE`] when several codes apply. (A key that matches no
/// license is [`ValidationCode::NotFound`] before any of this is asked.)
pub fn evaluate(facts: &LicenseFacts, now: DateTime<Utc>) -> ValidationCode {
    failing(facts, now)
        .first()
        .copied()
        .unwrap_or(ValidationCode::Valid)
}

/// Every check an existing license fails at `now`, in [`ValidationCode::PRECEDENCE`]
/// order: what "why is this license failing?" shows, where [`evaluate`] answers only the
/// first.
pub fn failing(facts: &LicenseFacts, now: DateTime<Utc>) -> Vec<ValidationCode> {
    let applies = |code: ValidationCode| match code {
        ValidationCode::NotFound | ValidationCode::Valid => false,
        ValidationCode::Banned => facts.status == LicenseStatus::Banned,
        ValidationCode::Revoked => facts.status == LicenseStatus::Revoked,
        ValidationCode::Suspended => facts.status == LicenseStatus::Suspended,
        ValidationCode::Expired => facts.expires_at.is_some_and(|expiry| expiry <= now),
        ValidationCode::UsesExceeded => facts.max_uses.is_some_and(|max| facts.uses > max),
        ValidationCode::EntitlementsMissing => !facts.missing_entitlements.is_empty(),
        ValidationCode::FingerprintNotFound => facts.fingerprint == FingerprintCheck::NotActivated,
        ValidationCode::HeartbeatRequired => matches!(
            facts.fingerprint,
            FingerprintCheck::Activated {
                heartbeat_overdue: true
            }
        ),
        ValidationCode::MachineLimitExceeded => {
            facts.max_machines.is_some_and(|max| facts.machines > max)
        }
    };
    ValidationCode::PRECEDENCE
        .into_iter()
        .filter(|&code| applies(code))
        .collect()
}

impl fmt::Display for ValidationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn failing_lists_every_failed_check_in_precedence_order() {
        let mut facts = healthy();
        assert!(failing(&facts, now()).is_empty());
        facts.status = LicenseStatus::Suspended;
        facts.expires_at = Some(now() - Duration::days(1));
        facts.machines = 3;
        assert_eq!(
            failing(&facts, now()),
            vec![
                ValidationCode::Suspended,
                ValidationCode::Expired,
                ValidationCode::MachineLimitExceeded
            ]
        );
        assert_eq!(evaluate(&facts, now()), ValidationCode::Suspended);
    }

    fn healthy() -> LicenseFacts {
        LicenseFacts {
            status: LicenseStatus::Active,
            expires_at: Some(now() + Duration::days(30)),
            uses: 3,
            max_uses: Some(10),
            missing_entitlements: vec![],
            fingerprint: FingerprintCheck::Activated {
                heartbeat_overdue: false,
            },
            machines: 2,
            max_machines: Some(2),
        }
    }

    #[test]
    fn a_healthy_license_is_valid_and_perpetual_ones_never_expire() {
        assert_eq!(evaluate(&healthy(), now()), ValidationCode::Valid);
        let perpetual = LicenseFacts {
            expires_at: None,
            ..healthy()
        };
        assert_eq!(
            evaluate(&perpetual, now() + Duration::days(36_500)),
            ValidationCode::Valid
        );
    }

    #[test]
    fn expiry_is_exact_to_the_second() {
        let facts = healthy();
        let expiry = facts.expires_at.unwrap();
        assert_eq!(
            evaluate(&facts, expiry - Duration::seconds(1)),
            ValidationCode::Valid
        );
        assert_eq!(evaluate(&facts, expiry), ValidationCode::Expired);
    }

    #[test]
    fn each_fact_alone_yields_its_own_code() {
        let cases: Vec<(LicenseFacts, ValidationCode)> = vec![
            (
                LicenseFacts {
                    status: LicenseStatus::Banned,
                    ..healthy()
                },
                ValidationCode::Banned,
            ),
            (
                LicenseFacts {
                    status: LicenseStatus::Revoked,
                    ..healthy()
                },
                ValidationCode::Revoked,
            ),
            (
                LicenseFacts {
                    status: LicenseStatus::Suspended,
                    ..healthy()
                },
                ValidationCode::Suspended,
            ),
            (
                LicenseFacts {
                    expires_at: Some(now() - Duration::days(1)),
                    ..healthy()
                },
                ValidationCode::Expired,
            ),
            (
                LicenseFacts {
                    uses: 11,
                    ..healthy()
                },
                ValidationCode::UsesExceeded,
            ),
            (
                LicenseFacts {
                    missing_entitlements: vec!["sso".into()],
                    ..healthy()
                },
                ValidationCode::EntitlementsMissing,
            ),
            (
                LicenseFacts {
                    fingerprint: FingerprintCheck::NotActivated,
                    ..healthy()
                },
                ValidationCode::FingerprintNotFound,
            ),
            (
                LicenseFacts {
                    fingerprint: FingerprintCheck::Activated {
                        heartbeat_overdue: true,
                    },
                    ..healthy()
                },
                ValidationCode::HeartbeatRequired,
            ),
            (
                LicenseFacts {
                    machines: 3,
                    ..healthy()
                },
                ValidationCode::MachineLimitExceeded,
            ),
        ];
        for (facts, expected) in cases {
            assert_eq!(evaluate(&facts, now()), expected, "{facts:?}");
        }
    }

    #[test]
    fn when_everything_is_wrong_the_license_status_wins_in_precedence_order() {
        let mut facts = LicenseFacts {
            status: LicenseStatus::Banned,
            expires_at: Some(now() - Duration::days(1)),
            uses: 99,
            max_uses: Some(1),
            missing_entitlements: vec!["sso".into()],
            fingerprint: FingerprintCheck::NotActivated,
            machines: 9,
            max_machines: Some(1),
        };
        assert_eq!(evaluate(&facts, now()), ValidationCode::Banned);
        facts.status = LicenseStatus::Revoked;
        assert_eq!(evaluate(&facts, now()), ValidationCode::Revoked);
        facts.status = LicenseStatus::Suspended;
        assert_eq!(evaluate(&facts, now()), ValidationCode::Suspended);
        facts.status = LicenseStatus::Active;
        assert_eq!(evaluate(&facts, now()), ValidationCode::Expired);
        facts.expires_at = None;
        assert_eq!(evaluate(&facts, now()), ValidationCode::UsesExceeded);
        facts.max_uses = None;
        assert_eq!(evaluate(&facts, now()), ValidationCode::EntitlementsMissing);
        facts.missing_entitlements.clear();
        assert_eq!(evaluate(&facts, now()), ValidationCode::FingerprintNotFound);
        facts.fingerprint = FingerprintCheck::Activated {
            heartbeat_overdue: true,
        };
        assert_eq!(evaluate(&facts, now()), ValidationCode::HeartbeatRequired);
        facts.fingerprint = FingerprintCheck::NotRequested;
        assert_eq!(
            evaluate(&facts, now()),
            ValidationCode::MachineLimitExceeded
        );
    }

    #[test]
    fn serde_uses_the_wire_spelling_for_every_code() {
        for code in ValidationCode::PRECEDENCE {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: ValidationCode = serde_json::from_str(&json).unwrap();
            assert_eq!(back, code);
        }
    }

    #[test]
    fn precedence_lists_every_code_once_with_valid_last() {
        let mut codes = ValidationCode::PRECEDENCE
            .map(ValidationCode::as_str)
            .to_vec();
        assert_eq!(codes.last(), Some(&"VALID"));
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), 11);
    }

    #[test]
    fn every_code_has_a_distinct_title_and_a_next_step() {
        let mut titles = Vec::new();
        for code in ValidationCode::PRECEDENCE {
            let explanation = code.explain();
            assert!(!explanation.next_step.is_empty(), "{code}");
            assert!(!explanation.cause.is_empty(), "{code}");
            titles.push(explanation.title);
        }
        titles.sort_unstable();
        titles.dedup();
        assert_eq!(titles.len(), 11);
        assert!(!ValidationCode::NotFound.is_valid());
        assert!(ValidationCode::Valid.is_valid());
    }
}
