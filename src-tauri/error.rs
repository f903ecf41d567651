//! The app's one error type, sent to the web UI as `{code, message}`.
//!
//! `code` is stable, for the UI to branch on; `message` is a sentence for a person that
//! says what happened and what to do next.

use std::collections::BTreeMap;

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
    /// The OS keyring could not keep or give back a console API key.
    #[error("The system keyring could not be used ({0}). Unlock your keyring (e.g. log in to the desktop session again), then try again.")]
    Keyring(String),
    /// The vendor console has no connection to use; the message says what to do.
    #[error("{0}")]
    NoConnection(String),
    /// A licensing outcome (`machine_limit`, `not_found`, …) from the SDK.
    #[error("{}", .0.message)]
    License(licentric_client::LicenseError),
}

impl From<licentric_client::LicenseError> for Error {
    fn from(error: licentric_client::LicenseError) -> Self {
        Self::License(error)
    }
}

/// The app's own error codes; with the SDK's `LicenseErrorCode`s they make
/// [`ErrorCode`], the union the UI branches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub enum AppErrorCode {
    /// The server refused the credential (401).
    Unauthorized,
    /// The server refused the request's parameters (400); `details` says which field.
    InvalidRequest,
    /// The API key lacks the scope for this (403).
    Forbidden,
    /// No such record (404).
    NotFound,
    /// A conflict with the record's state (409), e.g. an entitlement still in use.
    Conflict,
    /// Too many requests (429).
    RateLimited,
    /// The server failed (5xx).
    ServerError,
    /// The server could not be reached.
    Network,
    /// The answer was not the Licentric API.
    UnexpectedResponse,
    /// The SDK was configured wrongly.
    Configuration,
    /// No license server can be used.
    ServerUnavailable,
    /// What the user typed cannot be used.
    InvalidInput,
    /// The app's files could not be written.
    Storage,
    /// The OS keyring could not be used.
    Keyring,
    /// The console has no usable connection.
    NoConnection,
    /// Not from Rust: the UI's own fallback when a call failed without a `{code, message}`.
    Internal,
}

impl AppErrorCode {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::InvalidRequest => "invalid_request",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::RateLimited => "rate_limited",
            Self::ServerError => "server_error",
            Self::Network => "network",
            Self::UnexpectedResponse => "unexpected_response",
            Self::Configuration => "configuration",
            Self::ServerUnavailable => "server_unavailable",
            Self::InvalidInput => "invalid_input",
            Self::Storage => "storage",
            Self::Keyring => "keyring",
            Self::NoConnection => "no_connection",
            Self::Internal => "internal",
        }
    }
}

/// Every code a command's error can carry: generated for the UI as a union of strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub enum ErrorCode {
    /// The app's own.
    App(AppErrorCode),
    /// A licensing outcome.
    License(licentric_client::LicenseErrorCode),
}

impl ErrorCode {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::App(code) => code.as_str(),
            Self::License(code) => code.as_str(),
        }
    }
}

impl Error {
    /// The stable code the UI branches on.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// The stable code, typed.
    pub fn error_code(&self) -> ErrorCode {
        use licentric_client::Error as Client;
        ErrorCode::App(match self {
            Self::Client(error) => match error {
                Client::Authentication(_) => AppErrorCode::Unauthorized,
                Client::Validation(_) => AppErrorCode::InvalidRequest,
                Client::Forbidden(_) => AppErrorCode::Forbidden,
                Client::NotFound(_) => AppErrorCode::NotFound,
                Client::RateLimited { .. } => AppErrorCode::RateLimited,
                Client::Api(api) if api.status == 409 => AppErrorCode::Conflict,
                Client::Api(_) => AppErrorCode::ServerError,
                Client::Network { .. } => AppErrorCode::Network,
                Client::UnexpectedResponse { .. } => AppErrorCode::UnexpectedResponse,
                Client::Configuration(_) => AppErrorCode::Configuration,
            },
            Self::ServerUnavailable(_) => AppErrorCode::ServerUnavailable,
            Self::InvalidInput(_) => AppErrorCode::InvalidInput,
            Self::Storage(_) => AppErrorCode::Storage,
            Self::Keyring(_) => AppErrorCode::Keyring,
            Self::NoConnection(_) => AppErrorCode::NoConnection,
            Self::License(error) => return ErrorCode::License(error.code),
        })
    }

    /// What a person reads: the server's own sentence for a refusal it explained, with
    /// what to do where the server cannot know it; the error's text otherwise.
    fn message(&self) -> String {
        use licentric_client::Error as Client;
        match self {
            Self::Client(Client::Authentication(api)) => format!(
                "{} The server refused this connection's API key: it may have been revoked or rotated. Add the connection again with a current key.",
                api.message
            ),
            Self::Client(Client::Forbidden(api) | Client::NotFound(api) | Client::Validation(api)) => {
                api.message.clone()
            }
            Self::Client(Client::RateLimited { error, retry_after }) => format!(
                "{} Wait {} s, then try again.",
                error.message,
                retry_after.as_secs().max(1)
            ),
            Self::Client(Client::Api(api)) if api.status == 409 => api.message.clone(),
            Self::Client(Client::Api(api)) => format!(
                "The server failed ({}, HTTP {}). Try again; if it keeps happening, ask the server's operator to look at its log.",
                api.message, api.status
            ),
            _ => {
                // Library messages start in lower case (Rust convention); people read
                // sentences.
                let text = self.to_string();
                let mut chars = text.chars();
                chars
                    .next()
                    .map(|first| first.to_uppercase().chain(chars).collect())
                    .unwrap_or_default()
            }
        }
    }

    /// The server's per-field problems of a refused request, field → what is wrong.
    fn details(&self) -> BTreeMap<String, String> {
        let Self::Client(error) = self else {
            return BTreeMap::new();
        };
        let Some(serde_json::Value::Object(fields)) =
            error.api_error().and_then(|api| api.details.as_ref())
        else {
            return BTreeMap::new();
        };
        fields
            .iter()
            .map(|(field, problem)| {
                let text = match problem {
                    serde_json::Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                (field.clone(), text)
            })
            .collect()
    }
}

/// The shape the UI receives for every failed command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct CommandError {
    /// Stable machine-readable code, e.g. `network`.
    pub code: ErrorCode,
    /// What happened and what to do next.
    pub message: String,
    /// Per-field problems of a refused form (field → what is wrong); empty otherwise.
    pub details: BTreeMap<String, String>,
}

impl From<&Error> for CommandError {
    fn from(error: &Error) -> Self {
        Self {
            code: error.error_code(),
            message: error.message(),
            details: error.details(),
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
            serde_json::json!({"code": "invalid_input", "message": "Enter a license key.", "details": {}})
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
