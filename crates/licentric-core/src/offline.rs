//! Offline verification of license files and validation tokens, and its named outcomes.
//!
//! Both checks refuse with one [`OfflineRefusal`], a closed set of reasons a support
//! person can act on. Checks run in this order, and the first that fails is reported:
//!
//! 1. **parse** — the text has the exact shape of its format ([`OfflineRefusal::Malformed`]);
//! 2. **key id known** — the signing key is in the pinned [`PublicKeySet`] ([`OfflineRefusal::UnknownKeyId`]);
//! 3. **signature** — it verifies over the signed bytes ([`OfflineRefusal::BadSignature`]);
//!    only now is the payload interpreted, so nothing unauthenticated is ever read as claims;
//! 4. **product** — issued for this product ([`OfflineRefusal::WrongProduct`]);
//! 5. **fingerprint** — issued for this machine ([`OfflineRefusal::WrongMachine`]);
//! 6. **clock tampering** — `now` is not behind trusted time ([`OfflineRefusal::ClockMovedBack`]);
//! 7. **not yet valid** — not issued in the future ([`OfflineRefusal::NotYetValid`]);
//! 8. **file expiry** — the file's (token's) own `expiresAt` (`exp`) has not passed
//!    ([`OfflineRefusal::FileExpired`]);
//! 9. **license status** — active ([`OfflineRefusal::LicenseSuspended`], `…Revoked`, `…Banned`);
//! 10. **license expiry** — the license itself has not expired ([`OfflineRefusal::LicenseExpired`]).
//!
//! Authenticity comes first because nothing else a file says can be believed before it;
//! product and machine come next because a file for the wrong product or machine is
//! useless whatever its dates; clock checks precede every date comparison because a set-back
//! clock would make those comparisons lie; the license's own standing comes last.
//! Expiry is exact to the second: at `expiresAt` itself the file is expired.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    grace::CLOCK_TOLERANCE, license_file::LicenseFile, token::authenticate_token, Explanation,
    LicenseStatus, PublicKeySet, TrustedTime, VerifiedLicenseFile, VerifiedToken,
};

/// Why an offline license file or cached token was refused.
///
/// `Display` is the [`code`](Self::code), for logs; show people [`Self::explain`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
// Not `ts(export)` yet: an exported type must be committed under ui/src/bindings, which
// belongs to the UI change that first shows refusals.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum OfflineRefusal {
    /// Not a Licentric license file or token, or garbled.
    Malformed,
    /// The signature does not match the contents: tampered, or not from this vendor.
    BadSignature,
    /// Signed with a key id the pinned key set does not hold.
    UnknownKeyId,
    /// Bound to another machine's fingerprint.
    WrongMachine,
    /// Issued for another product.
    WrongProduct,
    /// Issued later than this machine's clock shows, beyond the tolerance.
    NotYetValid,
    /// The file's (or token's) own expiry has passed.
    FileExpired,
    /// The license's expiry date has passed.
    LicenseExpired,
    /// The license is suspended.
    LicenseSuspended,
    /// The license is revoked.
    LicenseRevoked,
    /// The license is banned.
    LicenseBanned,
    /// This machine's clock is behind a time already trusted.
    ClockMovedBack,
}

impl OfflineRefusal {
    /// Every refusal, in the order the checks run.
    pub const ALL: [OfflineRefusal; 12] = [
        Self::Malformed,
        Self::UnknownKeyId,
        Self::BadSignature,
        Self::WrongProduct,
        Self::WrongMachine,
        Self::ClockMovedBack,
        Self::NotYetValid,
        Self::FileExpired,
        Self::LicenseSuspended,
        Self::LicenseRevoked,
        Self::LicenseBanned,
        Self::LicenseExpired,
    ];

    /// The stable machine-readable spelling, e.g. `WRONG_MACHINE`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Malformed => "MALFORMED",
            Self::BadSignature => "BAD_SIGNATURE",
            Self::UnknownKeyId => "UNKNOWN_KEY_ID",
            Self::WrongMachine => "WRONG_MACHINE",
            Self::WrongProduct => "WRONG_PRODUCT",
            Self::NotYetValid => "NOT_YET_VALID",
            Self::FileExpired => "FILE_EXPIRED",
            Self::LicenseExpired => "LICENSE_EXPIRED",
            Self::LicenseSuspended => "LICENSE_SUSPENDED",
            Self::LicenseRevoked => "LICENSE_REVOKED",
            Self::LicenseBanned => "LICENSE_BANNED",
            Self::ClockMovedBack => "CLOCK_MOVED_BACK",
        }
    }

    /// A short headline, e.g. "Issued for another machine".
    pub fn title(self) -> &'static str {
        self.texts().0
    }

    /// What happened, in plain words.
    pub fn message(self) -> &'static str {
        self.texts().1
    }

    /// What the person should do now.
    pub fn next_step(self) -> &'static str {
        self.texts().2
    }

    /// Title, cause and next step together, as [`crate::ValidationCode::explain`] gives them.
    pub fn explain(self) -> Explanation {
        let (title, cause, next_step) = self.texts();
        Explanation {
            title,
            cause,
            next_step,
        }
    }

    fn texts(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Malformed => (
                "Not a readable license",
                "This is not a Licentric license file or token, or it was damaged on the way: for example only part of it was copied, or an editor or e-mail program changed its spacing or line endings.",
                "Import the file exactly as you received it (as an attachment, not pasted into a message), or ask support to send it again.",
            ),
            Self::BadSignature => (
                "License has been altered",
                "The license's signature does not match its contents: it was changed after it was issued, or it was not issued by this vendor.",
                "Do not edit license files. Ask the vendor's support for a fresh one.",
            ),
            Self::UnknownKeyId => (
                "Signed with an unknown key",
                "The license was signed with a key this application does not know. The vendor may have changed its signing keys since this version was released, or the license belongs to another vendor's product.",
                "Update the application to get the vendor's current keys, or ask support to issue the license again.",
            ),
            Self::WrongMachine => (
                "Issued for another machine",
                "The license is bound to a different machine than this one.",
                "Import it on the machine it was issued for, or send support the activation request from this machine to get a license for it.",
            ),
            Self::WrongProduct => (
                "Issued for another product",
                "The license is for a different product than this application.",
                "Check that you imported the right file, or ask support for a license for this product.",
            ),
            Self::NotYetValid => (
                "License is not valid yet",
                "The license was issued at a later time than this computer's clock shows, by more than a few minutes.",
                "Check this computer's date, time and time zone. If they are right, wait a few minutes and try again.",
            ),
            Self::FileExpired => (
                "Offline license has expired",
                "This offline license (file or saved validation) has passed its own expiry date; offline licenses last a limited number of days.",
                "Connect to the internet so the application can check in, or ask support for a new offline license file.",
            ),
            Self::LicenseExpired => (
                "License has expired",
                "The license's expiry date is in the past.",
                "Renew the license, or ask the vendor to extend its expiry date.",
            ),
            Self::LicenseSuspended => (
                "License is suspended",
                "The vendor has temporarily suspended this license.",
                "Contact the vendor's support to have it reinstated.",
            ),
            Self::LicenseRevoked => (
                "License has been revoked",
                "The vendor has permanently withdrawn this license.",
                "Contact the vendor's support; a revoked license cannot be reactivated.",
            ),
            Self::LicenseBanned => (
                "License is banned",
                "The license has been flagged for abuse.",
                "Contact the vendor's support.",
            ),
            Self::ClockMovedBack => (
                "Computer clock was set back",
                "This computer's clock shows a time earlier than one already confirmed (by the license server, a license's issue time, or this application's last run), so an offline check cannot trust it.",
                "Set the correct date, time and time zone, then try again. Connecting to the internet once also resolves it.",
            ),
        }
    }
}

impl fmt::Display for OfflineRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl std::error::Error for OfflineRefusal {}

/// The time-dependent facts steps 6–10 judge.
pub(crate) struct Dated {
    /// Not valid before this (server time, so also a trusted time).
    pub(crate) valid_from: DateTime<Utc>,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) status: LicenseStatus,
    pub(crate) license_expires_at: Option<DateTime<Utc>>,
}

/// Steps 6–10 of the module's order.
pub(crate) fn check_dates(
    facts: &Dated,
    now: DateTime<Utc>,
    trusted: &TrustedTime,
) -> Result<(), OfflineRefusal> {
    if trusted.is_set_back(now) {
        return Err(OfflineRefusal::ClockMovedBack);
    }
    if now < facts.valid_from - CLOCK_TOLERANCE {
        return Err(OfflineRefusal::NotYetValid);
    }
    if facts.expires_at <= now {
        return Err(OfflineRefusal::FileExpired);
    }
    match facts.status {
        LicenseStatus::Active => {}
        LicenseStatus::Suspended => return Err(OfflineRefusal::LicenseSuspended),
        LicenseStatus::Revoked => return Err(OfflineRefusal::LicenseRevoked),
        LicenseStatus::Banned => return Err(OfflineRefusal::LicenseBanned),
    }
    if facts.license_expires_at.is_some_and(|expiry| expiry <= now) {
        return Err(OfflineRefusal::LicenseExpired);
    }
    Ok(())
}

/// Verifies a `.lic` file completely, in the order of the module docs: whether this
/// machine may use this product now, offline.
///
/// After success, feed the file's issue time to `trusted` ([`TrustedTime::observe`]),
/// so later checks can tell if the clock is turned back past it.
pub fn verify_license_file(
    text: &str,
    keys: &PublicKeySet,
    expected_product_id: &str,
    local_fingerprint: &str,
    now: DateTime<Utc>,
    trusted: &TrustedTime,
) -> Result<VerifiedLicenseFile, OfflineRefusal> {
    LicenseFile::parse(text)?.verify(keys, expected_product_id, local_fingerprint, now, trusted)
}

/// Verifies a validation token completely, in the order of the module docs, with the
/// token's `exp` as the file expiry: an expired token is [`OfflineRefusal::FileExpired`].
///
/// To apply the grace period after `exp` instead, use [`authenticate_token`] and
/// [`crate::LicenseState::assess`].
pub fn verify_token(
    token: &str,
    keys: &PublicKeySet,
    expected_product_id: &str,
    local_fingerprint: &str,
    now: DateTime<Utc>,
    trusted: &TrustedTime,
) -> Result<VerifiedToken, OfflineRefusal> {
    let verified = authenticate_token(token, keys, expected_product_id, local_fingerprint)?;
    let claims = verified.claims();
    check_dates(
        &Dated {
            valid_from: claims.issued_at.max(claims.not_before),
            expires_at: claims.expires_at,
            status: claims.status,
            license_expires_at: claims.license_expires_at,
        },
        now,
        trusted,
    )?;
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::{
        issue_token,
        signing::tests::test_key,
        token::tests::{at, claims, keys, FP},
    };

    fn check(now: DateTime<Utc>, trusted: DateTime<Utc>) -> Result<VerifiedToken, OfflineRefusal> {
        verify_token(
            &issue_token(&claims(), &test_key()).unwrap(),
            &keys(),
            "prod_abc123",
            FP,
            now,
            &TrustedTime::new(trusted),
        )
    }

    #[test]
    fn every_refusal_has_its_own_code_title_and_next_step() {
        let mut codes: Vec<_> = OfflineRefusal::ALL.map(OfflineRefusal::code).to_vec();
        let mut titles: Vec<_> = OfflineRefusal::ALL.map(OfflineRefusal::title).to_vec();
        codes.sort_unstable();
        codes.dedup();
        titles.sort_unstable();
        titles.dedup();
        assert_eq!(codes.len(), 12);
        assert_eq!(titles.len(), 12);
        for refusal in OfflineRefusal::ALL {
            assert_eq!(
                serde_json::to_string(&refusal).unwrap(),
                format!("\"{}\"", refusal.code())
            );
            assert_eq!(refusal.to_string(), refusal.code());
            let explanation = refusal.explain();
            assert!(explanation.cause.ends_with('.'), "{refusal}");
            assert!(explanation.next_step.ends_with('.'), "{refusal}");
            assert_eq!(explanation.cause, refusal.message());
        }
    }

    #[test]
    fn token_is_valid_from_issue_until_the_second_before_exp() {
        let issued = claims().issued_at;
        let expires = claims().expires_at;
        assert!(check(issued, issued).is_ok());
        assert!(check(expires - Duration::seconds(1), issued).is_ok());
        assert_eq!(check(expires, issued), Err(OfflineRefusal::FileExpired));
    }

    #[test]
    fn issued_in_the_future_is_tolerated_for_five_minutes_only() {
        let issued = claims().issued_at;
        let epoch = DateTime::UNIX_EPOCH;
        assert!(check(issued - CLOCK_TOLERANCE, epoch).is_ok());
        assert_eq!(
            check(issued - CLOCK_TOLERANCE - Duration::seconds(1), epoch),
            Err(OfflineRefusal::NotYetValid)
        );
    }

    #[test]
    fn clock_set_back_behind_trusted_time_is_named_before_any_date_check() {
        let issued = claims().issued_at;
        let trusted = issued + Duration::days(2);
        assert_eq!(
            check(trusted - Duration::days(1), trusted),
            Err(OfflineRefusal::ClockMovedBack)
        );
        assert!(check(trusted - CLOCK_TOLERANCE, trusted).is_ok());
        // Even after expiry, a set-back clock is reported as what it is.
        assert_eq!(
            check(issued - Duration::days(1), issued + Duration::days(30)),
            Err(OfflineRefusal::ClockMovedBack)
        );
    }

    #[test]
    fn license_status_and_expiry_come_after_the_file_dates() {
        let now = at("2026-01-16T00:00:00Z");
        let trusted = TrustedTime::new(now);
        for (status, refusal) in [
            (LicenseStatus::Suspended, OfflineRefusal::LicenseSuspended),
            (LicenseStatus::Revoked, OfflineRefusal::LicenseRevoked),
            (LicenseStatus::Banned, OfflineRefusal::LicenseBanned),
        ] {
            let facts = Dated {
                valid_from: claims().issued_at,
                expires_at: claims().expires_at,
                status,
                license_expires_at: Some(now - Duration::days(1)),
            };
            assert_eq!(check_dates(&facts, now, &trusted), Err(refusal));
            let expired_file = Dated {
                expires_at: now,
                ..facts
            };
            assert_eq!(
                check_dates(&expired_file, now, &trusted),
                Err(OfflineRefusal::FileExpired)
            );
        }
        let lapsed = Dated {
            valid_from: claims().issued_at,
            expires_at: claims().expires_at,
            status: LicenseStatus::Active,
            license_expires_at: Some(now),
        };
        assert_eq!(
            check_dates(&lapsed, now, &trusted),
            Err(OfflineRefusal::LicenseExpired)
        );
        let perpetual = Dated {
            license_expires_at: None,
            ..lapsed
        };
        assert_eq!(check_dates(&perpetual, now, &trusted), Ok(()));
    }
}
