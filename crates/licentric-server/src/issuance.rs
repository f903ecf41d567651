//! What the server signs: validation tokens and offline license files, filled in from a
//! license, its policy and a machine, and signed with the tenant's active key.
//!
//! Lifetimes (see `docs/formats.md`):
//! - a token lasts `offlineMaxDays` days from issue, but never past the license's expiry;
//! - a file lasts its ttl (default 14 days, never more than `offlineMaxDays`), but never
//!   past the license's expiry.
//!
//! Times are cut to whole seconds first: both formats carry whole seconds, and a lifetime
//! computed from the cut times is exactly the one written down.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use licentric_core::{
    issue_token, wire::Policy, AccountSigningKey, LicenseFile, LicensePayload, Nonce, TokenClaims,
};

use crate::{
    db::licenses::LicenseRecord, params::Problems, signing, tenant::Tenant, ApiError, AppState,
};

/// A file's lifetime when none is asked for: 14 days (seed 000's checkout default).
pub const DEFAULT_FILE_TTL_SECS: u32 = 1_209_600;
/// The shortest lifetime a file may be asked for: one hour.
pub const MIN_FILE_TTL_SECS: u32 = 3_600;
const SECONDS_PER_DAY: u32 = 86_400;

/// Who and what a token or file is about.
#[derive(Debug)]
pub struct Subject<'a> {
    /// The license.
    pub license: &'a LicenseRecord,
    /// Its policy.
    pub policy: &'a Policy,
    /// Its entitlement codes.
    pub entitlements: Vec<String>,
    /// The machine fingerprint it is bound to.
    pub fingerprint: &'a str,
    /// That machine's id, when it is activated.
    pub machine_id: Option<&'a str>,
}

/// The expiry of a token issued at `issued_at` (whole seconds), or `None` when the
/// license expires before a token could last a second.
pub fn token_expiry(
    issued_at: DateTime<Utc>,
    offline_max_days: u32,
    license_expires_at: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    let by_policy = issued_at + Duration::days(i64::from(offline_max_days));
    let expires_at = license_expires_at
        .map(|lex| lex.trunc_subsecs(0))
        .map_or(by_policy, |lex| lex.min(by_policy));
    (expires_at > issued_at).then_some(expires_at)
}

fn internal(error: impl Into<anyhow::Error>) -> ApiError {
    ApiError::Internal(error.into())
}

/// A validation token for `subject`, or `None` when the license expires within the
/// second. Call it only for a license that validates as `VALID`. `nonce` is the request's
/// (already checked), signed in so the client can tell this answer from a replayed one.
pub async fn token(
    state: &AppState,
    tenant: &Tenant,
    subject: &Subject<'_>,
    nonce: Option<&Nonce>,
    now: DateTime<Utc>,
) -> Result<Option<String>, ApiError> {
    let lasts = token_expiry(
        now.trunc_subsecs(0),
        subject.policy.offline_max_days,
        subject.license.expires_at,
    );
    if lasts.is_none() {
        return Ok(None);
    }
    let key = signing::active_key(state.db.sqlite()?, &state.settings.secret, tenant, now).await?;
    sign_token(&key, subject, nonce, now)
}

/// [`token`] signed with `key`, the tenant's active key.
pub fn sign_token(
    key: &AccountSigningKey,
    subject: &Subject<'_>,
    nonce: Option<&Nonce>,
    now: DateTime<Utc>,
) -> Result<Option<String>, ApiError> {
    let issued_at = now.trunc_subsecs(0);
    let Some(expires_at) = token_expiry(
        issued_at,
        subject.policy.offline_max_days,
        subject.license.expires_at,
    ) else {
        return Ok(None);
    };
    let claims = TokenClaims {
        license_id: subject.license.id.clone(),
        product_id: subject.license.product_id.clone(),
        issued_at,
        not_before: issued_at,
        expires_at,
        fingerprint: subject.fingerprint.to_owned(),
        machine_id: subject.machine_id.map(str::to_owned),
        status: subject.license.status,
        entitlements: subject.entitlements.clone(),
        license_expires_at: subject.license.expires_at.map(|at| at.trunc_subsecs(0)),
        grace_days: subject.policy.grace_days,
        offline_max_days: subject.policy.offline_max_days,
        nonce: nonce.map(|n| n.as_str().to_owned()),
    };
    issue_token(&claims, key).map(Some).map_err(internal)
}

/// The most seconds a file of this policy may last.
pub fn max_file_ttl(policy: &Policy) -> u32 {
    policy.offline_max_days.saturating_mul(SECONDS_PER_DAY)
}

/// Checks a requested file lifetime against the policy; the default when none is given
/// is 14 days, or `offlineMaxDays` when that is shorter.
pub fn file_ttl(requested: Option<u32>, policy: &Policy, problems: &mut Problems) -> u32 {
    let max = max_file_ttl(policy);
    match requested {
        None => DEFAULT_FILE_TTL_SECS.min(max),
        Some(ttl) if ttl < MIN_FILE_TTL_SECS => {
            problems.add(
                "ttl",
                format!("must be at least {MIN_FILE_TTL_SECS} seconds (one hour)"),
            );
            ttl
        }
        Some(ttl) if ttl > max => {
            problems.add(
                "ttl",
                format!(
                    "must be at most {max} seconds: the policy allows {} days offline (offlineMaxDays)",
                    policy.offline_max_days
                ),
            );
            ttl
        }
        Some(ttl) => ttl,
    }
}

/// A signed `.lic` file for `subject` lasting `ttl` seconds (less when the license
/// expires sooner), and the seconds it actually lasts. Refuses (409) a license that has
/// expired. Call it only for an active license.
pub async fn license_file(
    state: &AppState,
    tenant: &Tenant,
    subject: &Subject<'_>,
    ttl: u32,
    now: DateTime<Utc>,
) -> Result<(String, u32), ApiError> {
    let issued_at = now.trunc_subsecs(0);
    let license_expires_at = subject.license.expires_at.map(|at| at.trunc_subsecs(0));
    let by_ttl = issued_at + Duration::seconds(i64::from(ttl));
    let expires_at = license_expires_at.map_or(by_ttl, |lex| lex.min(by_ttl));
    if expires_at <= issued_at {
        return Err(ApiError::conflict(
            "license_expired",
            "This license has expired, so no offline file can be issued for it. Renew it first.",
        ));
    }
    let key = signing::active_key(state.db.sqlite()?, &state.settings.secret, tenant, now).await?;
    let payload = LicensePayload {
        license_id: subject.license.id.clone(),
        product_id: subject.license.product_id.clone(),
        account_id: subject.license.account_id.clone(),
        status: subject.license.status,
        license_expires_at,
        entitlements: subject.entitlements.clone(),
        max_machines: subject.license.max_machines(),
        offline_max_days: subject.policy.offline_max_days,
        grace_days: subject.policy.grace_days,
        fingerprint: subject.fingerprint.to_owned(),
        machine_id: subject.machine_id.map(str::to_owned),
        issued_at,
        expires_at,
    };
    let text = LicenseFile::sign(&payload, &key).map_err(internal)?;
    let lasts = u32::try_from((expires_at - issued_at).num_seconds()).unwrap_or(ttl);
    Ok((text, lasts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_token_lasts_offline_max_days_but_never_past_the_license() {
        let now = t("2026-03-01T09:00:00Z");
        assert_eq!(token_expiry(now, 14, None), Some(t("2026-03-15T09:00:00Z")));
        assert_eq!(
            token_expiry(now, 14, Some(t("2026-03-05T00:00:00Z"))),
            Some(t("2026-03-05T00:00:00Z"))
        );
        assert_eq!(
            token_expiry(now, 14, Some(t("2027-01-01T00:00:00Z"))),
            Some(t("2026-03-15T09:00:00Z"))
        );
        // A license ending within the second gets no token rather than an empty one.
        assert_eq!(
            token_expiry(now, 14, Some(t("2026-03-01T09:00:00.5Z"))),
            None
        );
    }
}
