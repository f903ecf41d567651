//! Building and running the server.
//!
//! [`Application::build`] opens the database and binds the listener before anything is
//! served, so a test can ask for port 0 and learn the real port before the first request.

use std::{any::Any, future::Future, net::SocketAddr, sync::Arc};

use anyhow::Context;
use axum::{extract::DefaultBodyLimit, response::IntoResponse, Router, ServiceExt as _};
use licentric_core::Clock;
use tokio::{
    net::TcpListener,
    sync::{oneshot, watch},
    task::JoinHandle,
};
use tower::ServiceBuilder;
use tower_http::{catch_panic::CatchPanicLayer, trace::TraceLayer};

use crate::{
    admission, db, delivery, domain,
    extract::MAX_BODY_BYTES,
    guards,
    listener::{ClientAddr, EnvelopeListener},
    rate_limit, routes, signing, ApiError, AppState, ServerConfig,
};

/// A server that is bound and ready to serve.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    router: Router,
    state: AppState,
}

impl Application {
    /// Opens and migrates the database, then binds `config.listen`.
    pub async fn build(config: &ServerConfig, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let db = db::connect(&config.database_url).await?;
        Self::with_state(
            config.listen,
            AppState::with_settings(db, clock, config.settings.clone()),
        )
        .await
    }

    /// Binds `listen` and serves `state`, for callers that opened the database themselves.
    ///
    /// Refuses to start when the state's server secret cannot unseal the signing keys
    /// already in the database (an ephemeral secret is exempt: with it, keys of earlier
    /// processes are replaced on first use).
    pub async fn with_state(listen: SocketAddr, state: AppState) -> anyhow::Result<Self> {
        let secret = &state.settings.secret;
        if !secret.is_ephemeral() {
            signing::check_secret(&state.db, secret).await?;
        } else if signing::any_keys(&state.db).await? {
            tracing::warn!(
                "serving with an ephemeral server secret: the signing keys already in this database cannot be used and will be replaced on first use; configure a persistent secret to keep them"
            );
        }
        let listener = crate::listener::bind(listen)
            .with_context(|| format!("cannot listen on {listen}; is another server using it?"))?;
        let local_addr = listener.local_addr()?;
        Ok(Self {
            listener,
            local_addr,
            router: router(state.clone()),
            state,
        })
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves (and delivers webhooks) until `shutdown` completes, then finishes in-flight
    /// requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop, stopped) = watch::channel(false);
        let worker = tokio::spawn(delivery::run(self.state.clone(), stopped));
        let pruner = tokio::spawn(domain::audit::upkeep_until_stopped(
            self.state.clone(),
            self.state.settings.audit_retention.clone(),
            stop.subscribe(),
        ));
        let served = axum::serve(
            EnvelopeListener(self.listener),
            guarded(self.router, &self.state).into_make_service_with_connect_info::<ClientAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        let _ = stop.send(true);
        let _ = worker.await;
        let _ = pruner.await;
        served
    }

    /// Serves on a background task of the current Tokio runtime.
    pub fn spawn(self) -> RunningServer {
        let (stop, stopped) = oneshot::channel::<()>();
        let local_addr = self.local_addr;
        let task = tokio::spawn(self.run_until(async {
            // A dropped sender also means stop.
            let _ = stopped.await;
        }));
        RunningServer {
            local_addr,
            stop: Some(stop),
            task,
        }
    }
}

/// A server running on a background task; stops when dropped or [`RunningServer::stop`]ped.
#[derive(Debug)]
pub struct RunningServer {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://127.0.0.1:PORT`, the base URL clients use.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// Stops accepting connections and waits for in-flight requests to finish.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task)
            .await
            .unwrap_or_else(|join_error| Err(std::io::Error::other(join_error)))
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The whole HTTP surface: the routes (each rate limited, see [`rate_limit::RateLimitLayer`]) and
/// the answers for unknown paths and wrong methods.
pub fn router(state: AppState) -> Router {
    routes::router()
        .route_layer(rate_limit::RateLimitLayer::new(state.clone()))
        .merge(routes::unlimited())
        .fallback(|| async {
            ApiError::NotFound(
                "No such endpoint. Every endpoint is under /api/v1; see /api/v1/openapi.json."
                    .to_owned(),
            )
        })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
}

/// `router` as served: behind [`guards::Guards`] (request id, error envelope, admission,
/// the body read first), then tracing, panics answered as a 500 envelope, and the body
/// limit for extractors.
///
/// These wrap the router once, as plain tower services, rather than each route through
/// `Router::layer`: a layer added that way is one more boxed service per route, and each
/// request cloned the whole nest of them level by level (allocations that showed in the
/// runtime endpoints' profiles). Tracing now sits inside admission, so a request refused
/// for load before it was read is not traced as a failure.
fn guarded(
    router: Router,
    state: &AppState,
) -> guards::Guards<
    impl tower::Service<
            axum::extract::Request,
            Response = axum::http::Response<
                impl axum::body::HttpBody<
                        Data = axum::body::Bytes,
                        Error = impl Into<axum::BoxError>,
                    > + Send
                    + 'static,
            >,
            Error = std::convert::Infallible,
            Future = impl Future + Send + 'static,
        > + Clone
        + Send
        + Sync
        + 'static,
> {
    let inner = ServiceBuilder::new()
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(answer_panic))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .service(router);
    guards::Guards::new(
        inner,
        admission::Gate::new(state.settings.admission.clone()),
        state.settings.trusted_proxies.clone(),
    )
}

fn answer_panic(_panic: Box<dyn Any + Send>) -> axum::response::Response {
    ApiError::Internal(anyhow::anyhow!("a request handler panicked")).into_response()
}
