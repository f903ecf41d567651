//! The app's one error type, sent to the web UI as `{code, message}`.
//!
//! `code` is stable, for the UI to branch on; `message` is a sentence for a person that
//! says what happened and what to do next.

use serde::{Serialize, Serializer};

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The license server could not be reached, or refused the call.
    #[error(transparent)]
    Client(#[from] licentric_client::Error),
    /// No license server can be used: the local one did not start, or Settings are
    /// incomplete. The message says why and what to do.
    #[error("{0}")]
    ServerUnavailable(String),
    /// What the user entered cannot be used; the message says how to fix it.
    #[error("{0}")]
    InvalidInput(String),
    /// A file of the app's could not be read or written (disk full, permissions).
    #[error("The app could not save its files: {0}. Free some disk space or check the folder's permissions, then try again.")]
    Storage(String),
    /// A licensing outcome (`machine_limit`, `not_found`, …) from the SDK.
    #[error("{}", .0.message)]
    License(licentric_client::LicenseError),
}

impl From<licentric_client::LicenseError> for Error {
    fn from(error: licentric_client::LicenseError) -> Self {
        Self::License(error)
    }
}

impl Error {
    /// The stable code the UI branches on.
    pub fn code(&self) -> &'static str {
        use licentric_client::Error as Client;
        match self {
            Self::Client(error) => match error {
                Client::Authentication(_) => "unauthorized",
                Client::Validation(_) => "invalid_request",
                Client::Forbidden(_) => "forbidden",
                Client::NotFound(_) => "not_found",
                Client::RateLimited { .. } => "rate_limited",
                Client::Api(_) => "server_error",
                Client::Network { .. } => "network",
                Client::UnexpectedResponse { .. } => "unexpected_response",
                Client::Configuration(_) => "configuration",
            },
            Self::ServerUnavailable(_) => "server_unavailable",
            Self::InvalidInput(_) => "invalid_input",
            Self::Storage(_) => "storage",
            Self::License(error) => error.code.as_str(),
        }
    }
}

/// The shape the UI receives for every failed command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct CommandError {
    /// Stable machine-readable code, e.g. `network`.
    pub code: String,
    /// What happened and what to do next.
    pub message: String,
}

impl From<&Error> for CommandError {
    fn from(error: &Error) -> Self {
        // Library messages start in lower case (Rust convention); people read sentences.
        let text = error.to_string();
        let mut chars = text.chars();
        let message = chars
            .next()
            .map(|first| first.to_uppercase().chain(chars).collect())
            .unwrap_or_default();
        Self {
            code: error.code().to_owned(),
            message,
        }
    }
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        CommandError::from(self).serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_reach_the_ui_as_code_and_message() {
        let error = Error::InvalidInput("Enter a license key.".into());
        assert_eq!(
            serde_json::to_value(&error).unwrap(),
            serde_json::json!({"code": "invalid_input", "message": "Enter a license key."})
        );

        let network = Error::Client(licentric_client::Error::Network {
            url: "http://127.0.0.1:1/api/v1/licenses/validate-key".into(),
            reason: "Connection refused (os error 111)".into(),
        });
        let json = serde_json::to_value(&network).unwrap();
        assert_eq!(json["code"], "network");
        let message = json["message"].as_str().unwrap();
        assert!(
            message.starts_with("Cannot reach the license server"),
            "{message}"
        );
        assert!(message.contains("Connection refused"), "{message}");
        assert!(message.contains("Check the server URL"), "{message}");
    }
}
