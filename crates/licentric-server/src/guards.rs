//! Guards around every request: the body is read in full before anything answers, and
//! every error answer is the JSON envelope, whoever produced it.
//!
//! Reading the body first matters for keep-alive connections. A handler that refuses a
//! request from its headers alone (a bad credential, a rate limit) would otherwise answer
//! while the body is still on its way, and the connection's next request would wait
//! behind bytes nobody reads. A body that cannot be read in full (too large, too slow) is
//! refused with `Connection: close`, so the client opens a fresh connection.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::{to_bytes, Body, Bytes, HttpBody},
    extract::{ConnectInfo, Request},
    http::{self, header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    BoxError, Json,
};
use licentric_core::wire::{ErrorBody, ErrorEnvelope};
use tower::Service;

use crate::{
    admission::Gate, auth::RequestId, csv_rows, extract::MAX_BODY_BYTES, forwarded::TrustedProxies,
    listener::ClientAddr, ApiError,
};

/// How long a client may take to send a request's body once its headers arrived.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// The guards every request passes, as one service around the whole router: the request
/// id, admission, the body read first, and the error envelope.
///
/// One hand-written layer instead of four `from_fn`/`map_response` layers: each of those
/// boxed the request's future, cloned the whole stack of services inside it and wrapped
/// it in one more boxed service, per request (the runtime profiles had about a tenth of
/// their CPU in `malloc`/`free` from there). Here a request costs one boxed future and
/// one clone of the service inside (a reference count, for a `Router`).
///
/// In order, outside in:
/// - behind a trusted reverse proxy, the client's address is the one the proxy names
///   ([`TrustedProxies::client_address`]), for the rate limits and the audit trail;
/// - every request gets an id, answered as `X-Request-Id` and recorded with its audit
///   events. A client's own `X-Request-Id` is kept when it is a short token (letters,
///   digits, `-`, `_`, `.`), so logs on both sides line up; anything else is replaced;
/// - an error answer that is not already JSON becomes the envelope ([`ensure_envelope`]);
/// - admission ([`Gate::enter`]): a request refused for load costs nothing more;
/// - the whole body is read (at most [`MAX_BODY_BYTES`], within [`BODY_TIMEOUT`]) before
///   the request goes on, so no answer leaves unread bytes on the connection.
#[derive(Debug, Clone)]
pub struct Guards<S> {
    inner: S,
    gate: Arc<Gate>,
    proxies: Arc<TrustedProxies>,
}

impl<S> Guards<S> {
    /// `inner` behind the guards, admitted through `gate`, with the clients of `proxies`
    /// told by the proxies.
    pub fn new(inner: S, gate: Arc<Gate>, proxies: TrustedProxies) -> Self {
        Self {
            inner,
            gate,
            proxies: Arc::new(proxies),
        }
    }
}

impl<S, B> Service<Request> for Guards<S>
where
    S: Service<Request, Response = http::Response<B>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        // The service that was polled ready serves this request; a clone takes its place.
        let ready = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, ready);
        let gate = Arc::clone(&self.gate);
        if !self.proxies.is_empty() {
            forwarded_client(&self.proxies, &mut request);
        }
        Box::pin(async move { Ok(guard(inner, &gate, request).await) })
    }
}

/// Replaces the connection's address with the client a trusted proxy names.
fn forwarded_client(proxies: &TrustedProxies, request: &mut Request) {
    let Some(&ConnectInfo(ClientAddr(peer))) =
        request.extensions().get::<ConnectInfo<ClientAddr>>()
    else {
        return;
    };
    let client = proxies.client_address(peer.ip(), request.headers());
    if client != peer.ip() {
        request
            .extensions_mut()
            .insert(ConnectInfo(ClientAddr(std::net::SocketAddr::new(
                client, 0,
            ))));
    }
}

async fn guard<S, B>(inner: S, gate: &Gate, mut request: Request) -> Response
where
    S: Service<Request, Response = http::Response<B>, Error = Infallible>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let id = request_id(request.headers());
    request.extensions_mut().insert(RequestId(id.clone()));
    let response = admitted(inner, gate, request).await;
    let mut response = ensure_envelope(response).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// The client's own request id when it is a short token, else a fresh one.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map_or_else(
            || format!("req_{}", uuid::Uuid::new_v4().simple()),
            str::to_owned,
        )
}

const REQUEST_ID: &str = "x-request-id";

async fn admitted<S, B>(mut inner: S, gate: &Gate, request: Request) -> Response
where
    S: Service<Request, Response = http::Response<B>, Error = Infallible>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let turn = match gate.enter(request.uri().path()).await {
        Ok(turn) => turn,
        Err(refused) => return refused.into_response(),
    };
    let response = match read_body_first(request).await {
        Ok(request) => match inner.call(request).await {
            Ok(response) => response.map(Body::new),
            Err(never) => match never {},
        },
        Err(refused) => refused,
    };
    drop(turn);
    response
}

/// The request with its whole body read, or the answer that refuses it (too large, too
/// slow, unreadable) with `Connection: close`.
async fn read_body_first(request: Request) -> Result<Request, Response> {
    let (parts, body) = request.into_parts();
    let limit = body_limit(parts.uri.path());
    let declared_too_large = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|length| length > limit as u64);
    if declared_too_large {
        return Err(closing(too_large(limit)));
    }
    match tokio::time::timeout(BODY_TIMEOUT, to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(Request::from_parts(parts, Body::from(bytes))),
        Ok(Err(error)) => {
            let too_large = std::error::Error::source(&error)
                .is_some_and(|e| e.is::<http_body_util::LengthLimitError>());
            Err(closing(if too_large {
                self::too_large(limit)
            } else {
                ApiError::BadRequest {
                    code: "unreadable_body",
                    message: "The request body could not be read; send it again.".into(),
                    details: None,
                }
                .into_response()
            }))
        }
        Err(_) => Err(closing(ApiError::RequestTimeout.into_response())),
    }
}

/// The largest body a path accepts: a CSV import may be large, everything else is JSON
/// of at most [`MAX_BODY_BYTES`].
fn body_limit(path: &str) -> usize {
    if path == "/api/v1/licenses/import" {
        csv_rows::MAX_IMPORT_BYTES
    } else {
        MAX_BODY_BYTES
    }
}

fn too_large(limit: usize) -> Response {
    if limit == MAX_BODY_BYTES {
        return ApiError::PayloadTooLarge.into_response();
    }
    let mut response = ApiError::BadRequest {
        code: "payload_too_large",
        message: format!(
            "The file is larger than {} MiB. Split it into several imports.",
            limit / (1024 * 1024)
        ),
        details: None,
    }
    .into_response();
    *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    response
}

fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Turns an error answer that is not already JSON (axum's own rejections, such as a path
/// that is not valid UTF-8) into the documented envelope, keeping its status and headers.
pub async fn ensure_envelope(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(response.headers()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let (code, message) = describe(status, &text);
    let envelope = Json(ErrorEnvelope {
        error: ErrorBody {
            code: code.to_owned(),
            message,
            details: None,
        },
    })
    .into_response();
    let (json_parts, json_body) = envelope.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        json_parts.headers[header::CONTENT_TYPE].clone(),
    );
    Response::from_parts(parts, json_body)
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// The envelope's code and message for a bare status and its plain-text reason.
fn describe(status: StatusCode, text: &str) -> (&'static str, String) {
    let reason = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text.to_owned()
    };
    match status {
        StatusCode::BAD_REQUEST => (
            "invalid_request",
            format!("The request is malformed: {reason}. Check the path, the query and the headers."),
        ),
        StatusCode::NOT_FOUND => (
            "not_found",
            format!("Not found: {reason}. Every endpoint is under /api/v1; see /api/v1/openapi.json."),
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "This endpoint does not accept this HTTP method; see /api/v1/openapi.json.".into(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", ApiError::PayloadTooLarge.to_string()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "Send the body as JSON with the header Content-Type: application/json.".into(),
        ),
        s if s.is_server_error() => (
            "internal_error",
            "Something went wrong on the license server. Try again; if it keeps happening, contact the server's operator.".into(),
        ),
        _ => ("invalid_request", format!("The request was refused: {reason}.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn a_plain_text_rejection_becomes_the_envelope_with_its_status_and_headers() {
        let mut plain = (StatusCode::BAD_REQUEST, "Invalid URL: bad UTF-8").into_response();
        plain
            .headers_mut()
            .insert("x-request-id", HeaderValue::from_static("r1"));
        let response = ensure_envelope(plain).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()["x-request-id"], "r1");
        assert!(is_json(response.headers()));
        let body = body_of(response).await;
        assert_eq!(body["error"]["code"], "invalid_request");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Invalid URL: bad UTF-8"));
    }

    #[tokio::test]
    async fn json_errors_and_successes_pass_untouched() {
        let ok = ensure_envelope((StatusCode::OK, "fine").into_response()).await;
        assert!(!is_json(ok.headers()));
        let own = ensure_envelope(ApiError::not_found("product").into_response()).await;
        assert_eq!(body_of(own).await["error"]["code"], "not_found");
        let empty = ensure_envelope(StatusCode::INTERNAL_SERVER_ERROR.into_response()).await;
        assert_eq!(body_of(empty).await["error"]["code"], "internal_error");
    }
}
