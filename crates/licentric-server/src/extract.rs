//! Request extractors that fail with [`ApiError`] instead of axum's plain-text rejections.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::{header, StatusCode},
};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::ApiError;

/// The largest JSON body the API accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON body. Malformed JSON, a wrong type or a missing field is a 400 whose
/// `details` names the offending field; an oversized body is a 413.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = is_json(&request);
        if !is_json {
            return Err(not_json());
        }
        let bytes = read_body(request, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A JSON body that may be left out: no body at all is `None`; a body is read like
/// [`ApiJson`] (it must be JSON, with `Content-Type: application/json`).
#[derive(Debug, Clone)]
pub struct OptionalApiJson<T>(pub Option<T>);

impl<S, T> FromRequest<S> for OptionalApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = is_json(&request);
        let bytes = read_body(request, state).await?;
        if bytes.is_empty() {
            return Ok(Self(None));
        }
        if !is_json {
            return Err(not_json());
        }
        parse_json(&bytes).map(|value| Self(Some(value)))
    }
}

fn is_json(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || mime.ends_with("+json")
        })
        .unwrap_or(false)
}

fn not_json() -> ApiError {
    ApiError::BadRequest {
        code: "unsupported_media_type",
        message: "Send the body as JSON with the header Content-Type: application/json.".to_owned(),
        details: None,
    }
}

async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest {
                    code: "unreadable_body",
                    message: "The request body could not be read; send it again.".to_owned(),
                    details: None,
                }
            }
        })
}

/// Parses a JSON body, telling malformed JSON apart from JSON of the wrong shape.
///
/// Every body of the API is an object: serde would otherwise read a struct from an array
/// of its fields in order (`["x"]` as `{"name": "x"}`), so anything else is refused.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        // Still tell "not JSON at all" apart from "JSON, but not an object".
        serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(|e| malformed(&e))?;
        return Err(ApiError::invalid(
            "The request body must be a JSON object ({…}), not an array, string, number or null.",
            json!({ "body": "must be a JSON object" }),
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            malformed(&inner)
        } else {
            let field = if path == "." { "body".to_owned() } else { path };
            ApiError::invalid(
                format!("The request body has an invalid field: {field}: {inner}."),
                json!({ field: inner.to_string() }),
            )
        }
    })?;
    // Trailing garbage after a valid document is malformed too.
    deserializer.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

fn malformed(error: &serde_json::Error) -> ApiError {
    ApiError::BadRequest {
        code: "malformed_json",
        message: format!("The request body is not valid JSON ({error}). Check quoting and commas."),
        details: None,
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    /// Found by the `request_bodies` fuzz target: a large number in metadata came back one
    /// digit off after the body was written out and read again (serde_json parses floats
    /// exactly only with its `float_roundtrip` feature).
    #[test]
    fn a_number_in_metadata_reads_back_exactly_as_written() {
        let body = br#"{"policyId":"p","metadata":{"n":99999999999998999999990}}"#;
        let first: licentric_core::wire::NewLicense = parse_json(body).unwrap();
        let written = serde_json::to_vec(&first).unwrap();
        let again: licentric_core::wire::NewLicense = parse_json(&written).unwrap();
        assert_eq!(
            serde_json::to_value(&first).unwrap(),
            serde_json::to_value(&again).unwrap()
        );
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        key: String,
        count: Option<u32>,
    }

    fn code(result: Result<Body, ApiError>) -> &'static str {
        result.unwrap_err().code()
    }

    #[test]
    fn syntax_errors_and_shape_errors_get_different_codes() {
        assert_eq!(code(parse_json(b"{\"key\": ")), "malformed_json");
        assert_eq!(
            code(parse_json(b"{\"key\": \"a\"} trailing")),
            "malformed_json"
        );
        assert_eq!(code(parse_json(b"")), "malformed_json");
        assert_eq!(code(parse_json(b"{\"key\": 5}")), "invalid_request");
        assert_eq!(code(parse_json(b"{}")), "invalid_request");
        assert_eq!(code(parse_json(b"[]")), "invalid_request");
        assert_eq!(code(parse_json(b"[\"a\"]")), "invalid_request");
        assert_eq!(code(parse_json(b"[\"a\"")), "malformed_json");
        assert_eq!(code(parse_json(b"null")), "invalid_request");
        assert_eq!(code(parse_json(b" \"a\"")), "invalid_request");
        assert!(parse_json::<Body>(b"{\"key\": \"a\", \"count\": 2}").is_ok());
    }

    #[test]
    fn an_array_of_the_fields_in_order_is_not_an_object() {
        // serde's derive reads `["a", 2]` as `{"key": "a", "count": 2}`; the API must not.
        let ApiError::BadRequest { details, .. } = parse_json::<Body>(b" [\"a\", 2]").unwrap_err()
        else {
            panic!("expected a 400");
        };
        assert_eq!(details.unwrap()["body"], "must be a JSON object");
        assert!(parse_json::<Body>(b" {\"key\": \"a\"}").is_ok());
    }

    #[test]
    fn shape_errors_name_the_field_in_details() {
        let ApiError::BadRequest { details, .. } =
            parse_json::<Body>(b"{\"key\": \"a\", \"count\": \"two\"}").unwrap_err()
        else {
            panic!("expected a 400");
        };
        let details = details.unwrap();
        assert!(
            details["count"].as_str().unwrap().contains("invalid type"),
            "{details}"
        );
    }
}
