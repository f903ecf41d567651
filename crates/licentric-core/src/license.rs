//! The lifecycle status of a license.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::Error;

/// Where a license stands, as set by the vendor.
///
/// Expiry is not a status: it follows from `expiresAt` and the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum LicenseStatus {
    /// In good standing.
    Active,
    /// Temporarily switched off; can be reinstated.
    Suspended,
    /// Permanently withdrawn.
    Revoked,
    /// Flagged for abuse.
    Banned,
}

impl LicenseStatus {
    /// The wire spelling: `active`, `suspended`, `revoked`, `banned`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
            Self::Banned => "banned",
        }
    }
}

/// For rows read from a database: the stored text, parsed.
impl TryFrom<String> for LicenseStatus {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl FromStr for LicenseStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(Self::Active),
            "suspended" => Ok(Self::Suspended),
            "revoked" => Ok(Self::Revoked),
            "banned" => Ok(Self::Banned),
            other => Err(Error::UnknownLicenseStatus(other.to_owned())),
        }
    }
}

impl fmt::Display for LicenseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_spelling_round_trips_through_serde_and_from_str() {
        for status in [
            LicenseStatus::Active,
            LicenseStatus::Suspended,
            LicenseStatus::Revoked,
            LicenseStatus::Banned,
        ] {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            assert_eq!(status.as_str().parse::<LicenseStatus>(), Ok(status));
        }
        assert!("expired".parse::<LicenseStatus>().is_err());
    }
}
