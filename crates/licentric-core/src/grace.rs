//! The offline grace period and clock-tampering detection (seed 004), as pure functions.
//!
//! A client that validated online holds a signed token. From then on its standing is
//! decided by [`LicenseState::assess`] from three inputs only — the authenticated token
//! (or none), the current time, and the [`TrustedTime`] high-water mark — so thirty
//! simulated days offline are thirty function calls:
//!
//! ```text
//! Online ──(offline)──▶ OfflineValid ──(exp)──▶ Grace ──(exp + grace days)──▶ NotLicensed
//!                                                                             (invalid_token)
//! any state ──(clock behind trusted time by more than CLOCK_TOLERANCE)──▶ ClockTampered
//! ```
//!
//! Grace bridges a lost connection; it never extends the license itself, so a license
//! that expires (`lex`) or is not active is not licensed, grace or not.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::{LicenseStatus, VerifiedToken};

/// How far the clock may fall behind trusted time, or behind a license's issue time,
/// before it counts as set back (or the license as issued in the future).
///
/// Five minutes absorbs what honest clocks do — NTP corrections, a machine a little slow
/// against the license server, a laptop waking from sleep — while turning the clock back
/// by an hour or a day, the cheap way to stretch an offline license, is caught.
pub const CLOCK_TOLERANCE: Duration = Duration::minutes(5);

/// The grace period after a token expires when the policy sets none (seed 004).
pub const DEFAULT_GRACE_DAYS: u32 = 7;

/// The latest time known to have really passed: the high-water mark of trusted time.
///
/// Feed it every time worth trusting, with [`Self::observe`]: the server time of every
/// online answer, the issue time of every verified file or token, and the time of each
/// run of the application. The SDK persists it (it is `Serialize`) between runs. A fresh
/// one starts at the Unix epoch, which every honest clock is past.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustedTime {
    high_water: DateTime<Utc>,
}

impl Default for TrustedTime {
    fn default() -> Self {
        Self::new(DateTime::UNIX_EPOCH)
    }
}

impl TrustedTime {
    /// A high-water mark starting at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self { high_water: at }
    }

    /// The latest trusted time seen.
    pub fn high_water(&self) -> DateTime<Utc> {
        self.high_water
    }

    /// Records that `at` has passed; the mark only ever moves forwards here.
    pub fn observe(&mut self, at: DateTime<Utc>) {
        self.high_water = self.high_water.max(at);
    }

    /// Resets the mark to the license server's `server_time`, even backwards.
    ///
    /// Only for a time from a verified online answer: the server is the authority, so
    /// this recovers a machine whose clock once ran ahead (a wrong year typed in, later
    /// corrected) and whose own observation would otherwise flag every run as tampered.
    pub fn reset_to_server_time(&mut self, server_time: DateTime<Utc>) {
        self.high_water = server_time;
    }

    /// Whether `now` lies more than [`CLOCK_TOLERANCE`] before the mark.
    pub fn is_set_back(&self, now: DateTime<Utc>) -> bool {
        now < self.high_water - CLOCK_TOLERANCE
    }
}

/// Where the token being assessed came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// The server issued it in answer to the validation just made.
    Online,
    /// It was read from the on-disk cache, without reaching the server.
    Cache,
}

/// Where a client stands, and how long it may keep working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicenseState {
    /// Just validated online.
    Online {
        /// When the token just received expires.
        token_expires_at: DateTime<Utc>,
    },
    /// Offline, with a cached token that has not expired.
    OfflineValid {
        /// When the cached token expires and the grace period starts.
        token_expires_at: DateTime<Utc>,
    },
    /// Offline, the cached token has expired, but the grace period has not.
    Grace {
        /// When the grace period ends (or the license expires, if sooner).
        ends_at: DateTime<Utc>,
        /// How long until then.
        time_left: Duration,
    },
    /// Not licensed on this machine.
    NotLicensed {
        /// Why.
        reason: NotLicensedReason,
    },
    /// The clock is behind a time already trusted, so no offline decision can be made.
    ClockTampered {
        /// The trusted time the clock is behind.
        trusted: DateTime<Utc>,
        /// What the clock says.
        now: DateTime<Utc>,
    },
}

/// Why a client is not licensed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotLicensedReason {
    /// No token: this machine was never activated, or the cache is gone.
    NoToken,
    /// The token expired and so did its grace period.
    GraceEnded {
        /// When the grace period ended.
        ended_at: DateTime<Utc>,
    },
    /// The license itself has expired.
    LicenseExpired {
        /// When it expired.
        expired_at: DateTime<Utc>,
    },
    /// The token says the vendor suspended the license.
    Suspended,
    /// The token says the vendor revoked the license.
    Revoked,
    /// The token says the license is banned.
    Banned,
    /// The token's `nbf` is still ahead.
    NotYetValid {
        /// When the token becomes valid.
        valid_from: DateTime<Utc>,
    },
}

impl NotLicensedReason {
    /// The SDK error code of seed 004: `not_activated`, `invalid_token`, `expired`,
    /// `suspended`, `revoked`, or `banned`.
    pub fn code(self) -> &'static str {
        match self {
            Self::NoToken => "not_activated",
            Self::GraceEnded { .. } | Self::NotYetValid { .. } => "invalid_token",
            Self::LicenseExpired { .. } => "expired",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
            Self::Banned => "banned",
        }
    }
}

impl LicenseState {
    /// Decides the state from an authenticated token (see [`crate::authenticate_token`]),
    /// where it came from, the time, and the trusted-time mark.
    ///
    /// In order: no token → not licensed; a cached token with the clock behind trusted
    /// time or behind the token's own issue time (server time, so trusted too) →
    /// clock tampered; a license that is not active or has expired → not licensed; then
    /// the token's `exp` and grace days decide between online / offline valid, grace and
    /// `invalid_token`. Times are exact to the second: at `exp` the grace period begins,
    /// at `exp + grace days` it is over.
    ///
    /// A token that just came from the server skips the clock checks: the server has
    /// vouched for the license this very moment, whatever the local clock says.
    pub fn assess(
        token: Option<&VerifiedToken>,
        source: TokenSource,
        now: DateTime<Utc>,
        trusted: &TrustedTime,
    ) -> Self {
        let Some(token) = token else {
            return Self::not_licensed(NotLicensedReason::NoToken);
        };
        let claims = token.claims();
        if source == TokenSource::Cache {
            let mut high_water = *trusted;
            high_water.observe(claims.issued_at);
            if high_water.is_set_back(now) {
                return Self::ClockTampered {
                    trusted: high_water.high_water(),
                    now,
                };
            }
        }
        let inactive = match claims.status {
            LicenseStatus::Active => None,
            LicenseStatus::Suspended => Some(NotLicensedReason::Suspended),
            LicenseStatus::Revoked => Some(NotLicensedReason::Revoked),
            LicenseStatus::Banned => Some(NotLicensedReason::Banned),
        };
        if let Some(reason) = inactive {
            return Self::not_licensed(reason);
        }
        if let Some(expired_at) = claims.license_expires_at.filter(|&at| at <= now) {
            return Self::not_licensed(NotLicensedReason::LicenseExpired { expired_at });
        }
        if source == TokenSource::Cache && now < claims.not_before - CLOCK_TOLERANCE {
            return Self::not_licensed(NotLicensedReason::NotYetValid {
                valid_from: claims.not_before,
            });
        }
        if now < claims.expires_at {
            return match source {
                TokenSource::Online => Self::Online {
                    token_expires_at: claims.expires_at,
                },
                TokenSource::Cache => Self::OfflineValid {
                    token_expires_at: claims.expires_at,
                },
            };
        }
        let grace_end = claims.expires_at + Duration::days(i64::from(claims.grace_days));
        if now < grace_end {
            let ends_at = claims
                .license_expires_at
                .map_or(grace_end, |expiry| expiry.min(grace_end));
            return Self::Grace {
                ends_at,
                time_left: ends_at - now,
            };
        }
        Self::not_licensed(NotLicensedReason::GraceEnded {
            ended_at: grace_end,
        })
    }

    fn not_licensed(reason: NotLicensedReason) -> Self {
        Self::NotLicensed { reason }
    }

    /// Whether the application may run: online, offline valid, or in grace.
    pub fn is_licensed(&self) -> bool {
        matches!(
            self,
            Self::Online { .. } | Self::OfflineValid { .. } | Self::Grace { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        authenticate_token, issue_token,
        signing::tests::test_key,
        token::tests::{at, claims, keys, FP},
        TokenClaims,
    };

    fn verified(claims: &TokenClaims) -> VerifiedToken {
        let token = issue_token(claims, &test_key()).unwrap();
        authenticate_token(&token, &keys(), "prod_abc123", FP).unwrap()
    }

    fn cached(now: DateTime<Utc>, trusted: &TrustedTime) -> LicenseState {
        LicenseState::assess(Some(&verified(&claims())), TokenSource::Cache, now, trusted)
    }

    #[test]
    fn no_token_is_not_activated() {
        let state = LicenseState::assess(
            None,
            TokenSource::Cache,
            at("2026-01-15T00:00:00Z"),
            &TrustedTime::default(),
        );
        assert_eq!(
            state,
            LicenseState::NotLicensed {
                reason: NotLicensedReason::NoToken
            }
        );
        assert!(!state.is_licensed());
        assert_eq!(NotLicensedReason::NoToken.code(), "not_activated");
    }

    #[test]
    fn a_fresh_token_from_the_server_is_online_and_from_the_cache_offline_valid() {
        let token = verified(&claims());
        let now = claims().issued_at;
        let trusted = TrustedTime::new(now);
        let expires = claims().expires_at;
        assert_eq!(
            LicenseState::assess(Some(&token), TokenSource::Online, now, &trusted),
            LicenseState::Online {
                token_expires_at: expires
            }
        );
        assert_eq!(
            cached(now, &trusted),
            LicenseState::OfflineValid {
                token_expires_at: expires
            }
        );
    }

    #[test]
    fn boundaries_are_exact_to_the_second() {
        let exp = claims().expires_at;
        let grace_end = exp + Duration::days(7);
        let trusted = TrustedTime::new(claims().issued_at);
        assert_eq!(
            cached(exp - Duration::seconds(1), &trusted),
            LicenseState::OfflineValid {
                token_expires_at: exp
            }
        );
        assert_eq!(
            cached(exp, &trusted),
            LicenseState::Grace {
                ends_at: grace_end,
                time_left: Duration::days(7)
            }
        );
        assert_eq!(
            cached(grace_end - Duration::seconds(1), &trusted),
            LicenseState::Grace {
                ends_at: grace_end,
                time_left: Duration::seconds(1)
            }
        );
        let over = cached(grace_end, &trusted);
        assert_eq!(
            over,
            LicenseState::NotLicensed {
                reason: NotLicensedReason::GraceEnded {
                    ended_at: grace_end
                }
            }
        );
        if let LicenseState::NotLicensed { reason } = over {
            assert_eq!(reason.code(), "invalid_token");
        }
    }

    #[test]
    fn thirty_five_days_offline_walked_day_by_day() {
        // Token issued day 0 for 3 days, 7 days of grace: days 0–2 offline valid,
        // days 3–9 grace, day 10 onwards not licensed. The app runs once a day and records
        // the time, as the SDK does.
        let start = claims().issued_at;
        let token = verified(&claims());
        let mut trusted = TrustedTime::new(start);
        let mut seen = Vec::new();
        for day in 0..35 {
            let now = start + Duration::days(day);
            let state = LicenseState::assess(Some(&token), TokenSource::Cache, now, &trusted);
            trusted.observe(now);
            seen.push(match state {
                LicenseState::OfflineValid { .. } => 'V',
                LicenseState::Grace { time_left, .. } => {
                    assert_eq!(time_left, Duration::days(10 - day));
                    'G'
                }
                LicenseState::NotLicensed {
                    reason: NotLicensedReason::GraceEnded { .. },
                } => 'N',
                other => panic!("day {day}: {other:?}"),
            });
        }
        assert_eq!(
            seen.into_iter().collect::<String>(),
            format!("VVV{}{}", "G".repeat(7), "N".repeat(25))
        );
    }

    #[test]
    fn clock_set_back_a_day_after_a_later_trusted_time_is_tampering() {
        let start = claims().issued_at;
        let mut trusted = TrustedTime::new(start);
        // The app ran on day 12 (grace over) ...
        let day12 = start + Duration::days(12);
        trusted.observe(day12);
        // ... and the clock is now set back a day, and then all the way to day 1.
        for now in [day12 - Duration::days(1), start + Duration::days(1)] {
            assert_eq!(
                cached(now, &trusted),
                LicenseState::ClockTampered {
                    trusted: day12,
                    now
                }
            );
        }
        assert!(!cached(start, &trusted).is_licensed());
    }

    #[test]
    fn clock_behind_within_tolerance_is_not_tampering() {
        let start = claims().issued_at;
        let trusted = TrustedTime::new(start + Duration::days(1));
        let now = start + Duration::days(1) - CLOCK_TOLERANCE;
        assert!(matches!(
            cached(now, &trusted),
            LicenseState::OfflineValid { .. }
        ));
        assert!(matches!(
            cached(now - Duration::seconds(1), &trusted),
            LicenseState::ClockTampered { .. }
        ));
    }

    #[test]
    fn a_cached_token_issued_after_now_counts_as_trusted_time() {
        let issued = claims().issued_at;
        let now = issued - Duration::hours(1);
        assert_eq!(
            cached(now, &TrustedTime::default()),
            LicenseState::ClockTampered {
                trusted: issued,
                now
            }
        );
        // From the server just now, the local clock is not the judge.
        let token = verified(&claims());
        assert!(matches!(
            LicenseState::assess(
                Some(&token),
                TokenSource::Online,
                now,
                &TrustedTime::default()
            ),
            LicenseState::Online { .. }
        ));
    }

    #[test]
    fn grace_never_outlives_the_license() {
        let mut short = claims();
        short.license_expires_at = Some(short.expires_at + Duration::days(2));
        let token = verified(&short);
        let trusted = TrustedTime::new(short.issued_at);
        let in_grace = short.expires_at + Duration::days(1);
        assert_eq!(
            LicenseState::assess(Some(&token), TokenSource::Cache, in_grace, &trusted),
            LicenseState::Grace {
                ends_at: short.expires_at + Duration::days(2),
                time_left: Duration::days(1)
            }
        );
        let lapsed = short.expires_at + Duration::days(2);
        assert_eq!(
            LicenseState::assess(Some(&token), TokenSource::Cache, lapsed, &trusted),
            LicenseState::NotLicensed {
                reason: NotLicensedReason::LicenseExpired { expired_at: lapsed }
            }
        );
    }

    #[test]
    fn an_inactive_license_is_not_licensed_with_its_status() {
        for (status, reason, code) in [
            (
                LicenseStatus::Suspended,
                NotLicensedReason::Suspended,
                "suspended",
            ),
            (
                LicenseStatus::Revoked,
                NotLicensedReason::Revoked,
                "revoked",
            ),
            (LicenseStatus::Banned, NotLicensedReason::Banned, "banned"),
        ] {
            let token = verified(&TokenClaims { status, ..claims() });
            let state = LicenseState::assess(
                Some(&token),
                TokenSource::Cache,
                claims().issued_at,
                &TrustedTime::default(),
            );
            assert_eq!(state, LicenseState::NotLicensed { reason });
            if let LicenseState::NotLicensed { reason } = state {
                assert_eq!(reason.code(), code);
            }
        }
    }

    #[test]
    fn a_token_whose_nbf_is_ahead_is_not_valid_yet() {
        let mut later = claims();
        later.not_before = later.issued_at + Duration::hours(1);
        let token = verified(&later);
        assert_eq!(
            LicenseState::assess(
                Some(&token),
                TokenSource::Cache,
                later.issued_at,
                &TrustedTime::default()
            ),
            LicenseState::NotLicensed {
                reason: NotLicensedReason::NotYetValid {
                    valid_from: later.not_before
                }
            }
        );
    }

    #[test]
    fn trusted_time_only_moves_forward_unless_the_server_resets_it_and_persists() {
        let mut trusted = TrustedTime::default();
        assert_eq!(trusted.high_water(), DateTime::UNIX_EPOCH);
        let t = at("2026-03-01T12:00:00Z");
        trusted.observe(t);
        trusted.observe(t - Duration::days(3));
        assert_eq!(trusted.high_water(), t);
        assert!(!trusted.is_set_back(t - CLOCK_TOLERANCE));
        assert!(trusted.is_set_back(t - CLOCK_TOLERANCE - Duration::seconds(1)));

        let json = serde_json::to_string(&trusted).unwrap();
        assert_eq!(json, r#"{"highWater":"2026-03-01T12:00:00Z"}"#);
        assert_eq!(serde_json::from_str::<TrustedTime>(&json).unwrap(), trusted);

        // A clock that once ran a year ahead is forgiven by the server's word.
        trusted.observe(t + Duration::days(365));
        assert!(trusted.is_set_back(t));
        trusted.reset_to_server_time(t);
        assert!(!trusted.is_set_back(t));
    }
}
