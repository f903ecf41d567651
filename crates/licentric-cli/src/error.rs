//! The command's one error type and its exit codes: scripts branch on the code, people
//! read the message (what happened, what to do).

use licentric_client::{LicenseError, LicenseErrorCode};

/// Exit codes. Stable: scripts depend on them (the README lists them).
pub mod exit {
    /// Licensed (also in the offline grace period, with a warning), or the command worked.
    pub const OK: u8 = 0;
    /// Something else failed (a file could not be read or written, an unexpected answer).
    pub const FAILURE: u8 = 1;
    /// The command line is wrong (clap's own code).
    pub const USAGE: u8 = 2;
    /// The configuration is missing or wrong (no product id, a bad public key, …).
    pub const CONFIG: u8 = 3;
    /// No license is activated on this machine.
    pub const NOT_ACTIVATED: u8 = 10;
    /// The license key does not exist on the server.
    pub const NOT_FOUND: u8 = 11;
    /// The license has expired.
    pub const EXPIRED: u8 = 12;
    /// The license is suspended.
    pub const SUSPENDED: u8 = 13;
    /// The license was revoked or banned.
    pub const REVOKED: u8 = 14;
    /// The license has no free machine slot.
    pub const MACHINE_LIMIT: u8 = 15;
    /// The cached license cannot be trusted (damaged, another machine's, grace period over).
    pub const INVALID_TOKEN: u8 = 16;
    /// The system clock is behind a time already trusted.
    pub const CLOCK_TAMPERED: u8 = 17;
    /// The license was used more often than its policy allows.
    pub const USES_EXCEEDED: u8 = 18;
    /// The license server cannot be reached and nothing usable is cached.
    pub const NETWORK: u8 = 19;
}

/// Everything that can go wrong in `licentric`.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The configuration is incomplete or invalid; the message names the setting.
    #[error("{0}")]
    Config(String),
    /// The SDK reported a licensing problem.
    #[error("{0}")]
    License(#[from] LicenseError),
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    File {
        /// What was being done, e.g. "cannot read".
        action: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Anything else (the message says what to do).
    #[error("{0}")]
    Other(String),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) => exit::CONFIG,
            Self::License(error) => license_exit_code(error.code),
            Self::File { .. } | Self::Other(_) => exit::FAILURE,
        }
    }
}

/// The exit code of a licensing outcome; `degraded` still runs, so it is 0.
pub fn license_exit_code(code: LicenseErrorCode) -> u8 {
    match code {
        LicenseErrorCode::Degraded => exit::OK,
        LicenseErrorCode::NotActivated => exit::NOT_ACTIVATED,
        LicenseErrorCode::NotFound => exit::NOT_FOUND,
        LicenseErrorCode::Expired => exit::EXPIRED,
        LicenseErrorCode::Suspended => exit::SUSPENDED,
        LicenseErrorCode::Revoked => exit::REVOKED,
        LicenseErrorCode::MachineLimit => exit::MACHINE_LIMIT,
        LicenseErrorCode::InvalidToken => exit::INVALID_TOKEN,
        LicenseErrorCode::ClockTampered => exit::CLOCK_TAMPERED,
        LicenseErrorCode::UsesExceeded => exit::USES_EXCEEDED,
        LicenseErrorCode::Network => exit::NETWORK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failing_license_code_has_its_own_exit_code() {
        let codes = [
            LicenseErrorCode::NotActivated,
            LicenseErrorCode::NotFound,
            LicenseErrorCode::Expired,
            LicenseErrorCode::Suspended,
            LicenseErrorCode::Revoked,
            LicenseErrorCode::MachineLimit,
            LicenseErrorCode::InvalidToken,
            LicenseErrorCode::ClockTampered,
            LicenseErrorCode::UsesExceeded,
            LicenseErrorCode::Network,
        ];
        let mut seen = std::collections::BTreeSet::new();
        for code in codes {
            let exit_code = license_exit_code(code);
            assert!(
                ![exit::OK, exit::FAILURE, exit::USAGE, exit::CONFIG].contains(&exit_code),
                "{code:?}"
            );
            assert!(seen.insert(exit_code), "{code:?} shares {exit_code}");
        }
        assert_eq!(license_exit_code(LicenseErrorCode::Degraded), exit::OK);
    }
}
