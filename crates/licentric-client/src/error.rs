//! The SDK's one error type: each HTTP error status has its own variant (seed 000).

use std::time::Duration;

use licentric_core::wire::ErrorEnvelope;

/// What the server said when it refused a request.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// The server's machine-readable code, e.g. `invalid_request`.
    pub code: String,
    /// The server's sentence for a person.
    pub message: String,
    /// Structured particulars, e.g. per-field problems of a 400.
    pub details: Option<serde_json::Value>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (HTTP {}, {})", self.message, self.status, self.code)
    }
}

/// Every way a call can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 401: the API key or license key is missing or invalid.
    #[error("authentication failed: {0}")]
    Authentication(ApiError),
    /// 400: the request's parameters are invalid; `details` says which.
    #[error("invalid request: {0}")]
    Validation(ApiError),
    /// 403: the API key lacks the scope this call needs.
    #[error("forbidden: {0}")]
    Forbidden(ApiError),
    /// 404: the resource does not exist (or belongs to another account).
    #[error("not found: {0}")]
    NotFound(ApiError),
    /// 429 (too many requests), or 503 with `Retry-After` (the server is overloaded and
    /// refused the request before doing anything, code `overloaded`): wait `retry_after`,
    /// then the same request may be sent again.
    #[error("rate limited, retry after {}s: {error}", retry_after.as_secs())]
    RateLimited {
        /// What the server said.
        error: ApiError,
        /// How long to wait, from the `Retry-After` header.
        retry_after: Duration,
    },
    /// Any other error status.
    #[error("server error: {0}")]
    Api(ApiError),
    /// The server could not be reached, or did not answer in time.
    #[error("cannot reach the license server at {url}: {reason}. Check the server URL and your network connection, then try again.")]
    Network {
        /// The URL that was requested.
        url: String,
        /// What the network layer reported.
        reason: String,
    },
    /// The server answered with something that is not the Licentric API.
    #[error(
        "unexpected answer from {url}: {reason}. Is the server URL pointing at a Licentric server?"
    )]
    UnexpectedResponse {
        /// The URL that was requested.
        url: String,
        /// What was wrong with the answer.
        reason: String,
    },
    /// The client was configured wrongly, e.g. a base URL that is not http(s).
    #[error("invalid configuration: {0}")]
    Configuration(String),
}

impl Error {
    /// The HTTP status, for errors the server answered.
    pub fn status(&self) -> Option<u16> {
        self.api_error().map(|e| e.status)
    }

    /// The server's error details, for errors the server answered.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Self::Authentication(e)
            | Self::Validation(e)
            | Self::Forbidden(e)
            | Self::NotFound(e)
            | Self::Api(e)
            | Self::RateLimited { error: e, .. } => Some(e),
            Self::Network { .. } | Self::UnexpectedResponse { .. } | Self::Configuration(_) => None,
        }
    }

    /// Builds the error for a non-2xx answer from its status, headers and body.
    pub(crate) fn from_response(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Self {
        let error = match serde_json::from_slice::<ErrorEnvelope>(body) {
            Ok(envelope) => ApiError {
                status,
                code: envelope.error.code,
                message: envelope.error.message,
                details: envelope.error.details,
            },
            Err(_) => ApiError {
                status,
                code: "http_error".to_owned(),
                message: format!(
                    "the server answered HTTP {status} without a Licentric error body"
                ),
                details: None,
            },
        };
        match status {
            400 => Self::Validation(error),
            401 => Self::Authentication(error),
            403 => Self::Forbidden(error),
            404 => Self::NotFound(error),
            429 => Self::RateLimited {
                error,
                retry_after: retry_after.unwrap_or(Duration::from_secs(1)),
            },
            503 if retry_after.is_some() => Self::RateLimited {
                error,
                retry_after: retry_after.unwrap_or(Duration::from_secs(1)),
            },
            _ => Self::Api(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_status_maps_to_its_variant_with_code_and_message() {
        let body = br#"{"error": {"code": "some_code", "message": "Some message.", "details": {"key": "required"}}}"#;
        type IsExpected = fn(&Error) -> bool;
        let cases: [(u16, IsExpected); 6] = [
            (400, |e| matches!(e, Error::Validation(_))),
            (401, |e| matches!(e, Error::Authentication(_))),
            (403, |e| matches!(e, Error::Forbidden(_))),
            (404, |e| matches!(e, Error::NotFound(_))),
            (429, |e| matches!(e, Error::RateLimited { .. })),
            (500, |e| matches!(e, Error::Api(_))),
        ];
        for (status, is_expected) in cases {
            let error = Error::from_response(status, Some(Duration::from_secs(7)), body);
            assert!(is_expected(&error), "{status}: {error:?}");
            let api = error.api_error().unwrap();
            assert_eq!(api.status, status);
            assert_eq!(api.code, "some_code");
            assert_eq!(api.message, "Some message.");
            assert_eq!(api.details.as_ref().unwrap()["key"], "required");
        }
        let limited = Error::from_response(429, Some(Duration::from_secs(7)), body);
        assert!(
            matches!(limited, Error::RateLimited { retry_after, .. } if retry_after.as_secs() == 7)
        );
    }

    #[test]
    fn an_overloaded_server_is_waited_for_like_a_rate_limit() {
        let body = br#"{"error": {"code": "overloaded", "message": "Busy."}}"#;
        let error = Error::from_response(503, Some(Duration::from_secs(2)), body);
        assert!(
            matches!(&error, Error::RateLimited { retry_after, error } if retry_after.as_secs() == 2 && error.code == "overloaded"),
            "{error:?}"
        );
        // Without Retry-After a 503 is an ordinary server error.
        assert!(matches!(
            Error::from_response(503, None, body),
            Error::Api(_)
        ));
    }

    #[test]
    fn a_body_that_is_not_an_envelope_still_gives_a_typed_error() {
        let error = Error::from_response(502, None, b"<html>Bad gateway</html>");
        assert_eq!(error.status(), Some(502));
        assert_eq!(error.api_error().unwrap().code, "http_error");
    }
}
