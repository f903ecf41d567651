//! [`ApiError`]: the one error type of the HTTP API, and its JSON envelope.
//!
//! Every non-2xx answer is `{"error": {"code", "message", "details"?}}`. A 500 never
//! carries internals: the cause goes to the log, the client gets a reference-free apology.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use licentric_core::wire::{ErrorBody, ErrorEnvelope};
use serde_json::Value;

/// Everything a request can fail with. Each variant documents its status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or fails validation; `details` says where.
    #[error("{message}")]
    BadRequest {
        /// Machine-readable code, e.g. `malformed_json`, `invalid_request`.
        code: &'static str,
        /// What is wrong and how to fix it.
        message: String,
        /// Per-field particulars.
        details: Option<Value>,
    },
    /// 401: credentials are missing or invalid.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the credentials are valid but lack the needed scope.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such record for this account, or no such endpoint.
    #[error("{0}")]
    NotFound(String),
    /// 405: the endpoint exists but not with this method.
    #[error("this endpoint does not accept this HTTP method")]
    MethodNotAllowed,
    /// 409: the request conflicts with the current state.
    #[error("{message}")]
    Conflict {
        /// Machine-readable code, e.g. `machine_limit_exceeded`.
        code: &'static str,
        /// What conflicts and what to do about it.
        message: String,
        /// Particulars, e.g. the limit and the count.
        details: Option<Value>,
    },
    /// 413: the body is larger than the server accepts.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// 408: the body did not arrive in time; the connection is closed.
    #[error("The request body did not arrive within 30 seconds; send the request again.")]
    RequestTimeout,
    /// 429: too many requests; `Retry-After` says how many seconds to wait.
    #[error("too many requests; retry after {retry_after_secs} seconds")]
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// 429 with `Retry-After`: this client address failed authentication too often and is
    /// locked out of requests without a valid credential for a while.
    #[error("Too many failed authentication attempts from this address: requests without a valid credential are refused for {retry_after_secs} seconds. Check that the license or API key is copied in full; a valid key still works meanwhile.")]
    TooManyFailures {
        /// Seconds until the lockout ends.
        retry_after_secs: u64,
    },
    /// 503 with `Retry-After`: the server is at its bound of concurrent and queued
    /// requests and refused this one before doing anything; retrying later is safe.
    #[error("The license server is too busy to take this request and did nothing with it: nothing was counted or changed. Send it again after {retry_after_secs} s (the Retry-After header).")]
    Overloaded {
        /// Seconds to wait before retrying.
        retry_after_secs: u64,
    },
    /// 503 with `Retry-After`: the database cannot be reached for the moment (PostgreSQL
    /// restarting, connections lost, none free in time). The request's transaction was
    /// committed whole or rolled back whole; sending it again later is the way on.
    #[error("The license server cannot reach its database for the moment. Send the request again after {retry_after_secs} s (the Retry-After header); a request cut off by this was applied whole or not at all.")]
    DatabaseUnavailable {
        /// Seconds to wait before retrying.
        retry_after_secs: u64,
    },
    /// 501: the server runs on PostgreSQL and this operation's storage is not yet ported
    /// there (issue 15). Nothing was changed.
    #[error("This operation is not yet supported when the license server runs on PostgreSQL; nothing was changed. Run the server on SQLite for it, or upgrade the server when it is.")]
    NotSupportedOnPostgres,
    /// 500: a fault on our side. The cause is logged, never sent.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// A 400 with per-field details.
    pub fn invalid(message: impl Into<String>, details: Value) -> Self {
        Self::BadRequest {
            code: "invalid_request",
            message: message.into(),
            details: Some(details),
        }
    }

    /// A 409 with a specific code.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
            details: None,
        }
    }

    /// A 404 for a record that does not exist for this tenant.
    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!(
            "No {what} with this id exists in this account and environment. Check the id, and that the key is for the right environment (lk_live_ or lk_test_)."
        ))
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::RateLimited { .. } | Self::TooManyFailures { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::Overloaded { .. } | Self::DatabaseUnavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::NotSupportedOnPostgres => StatusCode::NOT_IMPLEMENTED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable code sent in `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. } => code,
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict { code, .. } => code,
            Self::PayloadTooLarge => "payload_too_large",
            Self::RequestTimeout => "request_timeout",
            Self::RateLimited { .. } => "rate_limited",
            Self::TooManyFailures { .. } => "too_many_failures",
            Self::Overloaded { .. } => "overloaded",
            Self::DatabaseUnavailable { .. } => "database_unavailable",
            Self::NotSupportedOnPostgres => "not_supported_on_postgresql",
            Self::Internal(_) => "internal_error",
        }
    }

    fn body(&self) -> ErrorBody {
        let message = match self {
            Self::Internal(_) => {
                "Something went wrong on the license server. Try again; if it keeps happening, contact the server's operator.".to_owned()
            }
            Self::PayloadTooLarge => {
                "The request body is too large. Send at most 64 KiB of JSON.".to_owned()
            }
            other => other.to_string(),
        };
        let details = match self {
            Self::BadRequest { details, .. } | Self::Conflict { details, .. } => details.clone(),
            _ => None,
        };
        ErrorBody {
            code: self.code().to_owned(),
            message,
            details,
        }
    }
}

impl From<crate::db::Error> for ApiError {
    fn from(error: crate::db::Error) -> Self {
        match error {
            crate::db::Error::Unsupported => Self::NotSupportedOnPostgres,
            error if error.is_nul_in_text() => Self::nul_in_text(),
            error => Self::Internal(error.into()).or_unavailable(),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        if crate::db::nul_in_text(&error) {
            return Self::nul_in_text();
        }
        Self::Internal(error.into()).or_unavailable()
    }
}

/// Seconds a client is told to wait when the database cannot be reached: about one
/// PostgreSQL restart, and the pool's wait for a connection.
const DATABASE_RETRY_AFTER_SECS: u64 = 5;

/// Whether `error` says the database cannot be reached for now (rather than that the
/// request or our SQL is wrong): the connection failed or was lost, no connection came
/// free in time, or PostgreSQL is shutting down, starting or out of connections.
fn database_unreachable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
        sqlx::Error::Database(error) => error.code().is_some_and(|code| {
            // 08: connection exception; 57P01-57P03: admin or crash shutdown, cannot
            // connect now; 53300: too many connections.
            code.starts_with("08") || ["57P01", "57P02", "57P03", "53300"].contains(&&*code)
        }),
        _ => false,
    }
}

impl ApiError {
    /// The answer to each request of a runtime batch that failed with `error` (one error
    /// value, many requests): its message for a fault, a 503 for an unreachable database.
    pub fn for_each_of(error: &crate::db::Error) -> Self {
        match error {
            crate::db::Error::Unsupported => Self::NotSupportedOnPostgres,
            error => Self::Internal(anyhow::anyhow!("{error}")),
        }
        .or_unavailable_by(match error {
            crate::db::Error::Database(error) => database_unreachable(error),
            _ => false,
        })
    }

    fn or_unavailable_by(self, unreachable: bool) -> Self {
        if unreachable {
            Self::DatabaseUnavailable {
                retry_after_secs: DATABASE_RETRY_AFTER_SECS,
            }
        } else {
            self
        }
    }

    /// A 500 whose cause is an unreachable database becomes a 503 with `Retry-After`;
    /// anything else stays as it is.
    fn or_unavailable(self) -> Self {
        let Self::Internal(cause) = &self else {
            return self;
        };
        let unreachable = cause.chain().any(|error| {
            error
                .downcast_ref::<sqlx::Error>()
                .is_some_and(database_unreachable)
                || matches!(
                    error.downcast_ref::<crate::db::Error>(),
                    Some(crate::db::Error::Database(error)) if database_unreachable(error)
                )
        });
        if unreachable {
            tracing::warn!(error = %format!("{cause:#}"), "database unreachable: answered 503");
            Self::DatabaseUnavailable {
                retry_after_secs: DATABASE_RETRY_AFTER_SECS,
            }
        } else {
            self
        }
    }
}

impl ApiError {
    /// PostgreSQL cannot store the NUL character in text (SQLite can): a request carrying
    /// one in text the server writes or looks up is refused whole, as a bad request.
    fn nul_in_text() -> Self {
        Self::BadRequest {
            code: "nul_in_text",
            message: "A text in this request holds the NUL character (\\u0000), which this server's database cannot store; nothing was changed. Remove it and send the request again.".into(),
            details: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Causes wrapped on their way up (anyhow) are looked through here.
        let this = self.or_unavailable();
        if let Self::Internal(cause) = &this {
            tracing::error!(error = %format!("{cause:#}"), "request failed");
        }
        let status = this.status();
        let mut response = (status, Json(ErrorEnvelope { error: this.body() })).into_response();
        if let Self::RateLimited { retry_after_secs }
        | Self::TooManyFailures { retry_after_secs }
        | Self::Overloaded { retry_after_secs }
        | Self::DatabaseUnavailable { retry_after_secs } = this
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn envelope(error: ApiError) -> (StatusCode, Value, Option<String>) {
        let response = error.into_response();
        let status = response.status();
        let retry = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap(), retry)
    }

    #[tokio::test]
    async fn every_error_is_the_same_envelope_and_500s_leak_nothing() {
        let (status, body, _) = envelope(ApiError::invalid(
            "fingerprint is too short",
            serde_json::json!({"fingerprint": "must be at least 8 characters"}),
        ))
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], "invalid_request");
        assert_eq!(body["error"]["message"], "fingerprint is too short");
        assert_eq!(
            body["error"]["details"]["fingerprint"],
            "must be at least 8 characters"
        );

        let (status, body, _) = envelope(ApiError::Internal(anyhow::anyhow!(
            "database file /secret/path.db is locked"
        )))
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"]["code"], "internal_error");
        assert!(!body.to_string().contains("/secret/path.db"));
        assert!(body["error"].get("details").is_none());

        let (status, body, retry) = envelope(ApiError::RateLimited {
            retry_after_secs: 12,
        })
        .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(body["error"]["code"], "rate_limited");
        assert_eq!(retry.as_deref(), Some("12"));
    }

    #[tokio::test]
    async fn an_unreachable_database_is_a_503_with_retry_after_and_a_fault_stays_a_500() {
        let lost = || sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into());
        for error in [
            ApiError::from(sqlx::Error::PoolTimedOut),
            ApiError::from(crate::db::Error::Database(lost())),
            // Wrapped on its way up, as a domain function's `?` into anyhow does.
            ApiError::Internal(anyhow::Error::from(lost()).context("reading a license")),
            ApiError::for_each_of(&crate::db::Error::Database(lost())),
        ] {
            let (status, body, retry) = envelope(error).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(body["error"]["code"], "database_unavailable");
            assert_eq!(retry.as_deref(), Some("5"));
        }
        for error in [
            ApiError::from(sqlx::Error::RowNotFound),
            ApiError::for_each_of(&crate::db::Error::Corrupt("bad time".into())),
        ] {
            let (status, _, retry) = envelope(error).await;
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(retry, None);
        }
    }
}
