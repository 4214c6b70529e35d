//! The HTTP edge: the axum router, its layers (body limit, timeouts, request ids, tracing,
//! metrics) and the handlers. Only this module imports axum. `request_id.rs` decides which
//! client-supplied `X-Request-Id` is kept; `server.rs` accepts and bounds connections.
//!
//! Every chat route takes the raw body as `Bytes`, verifies the signature on those bytes, and
//! only then hands them to `chat::slack` / `chat::discord` to parse. The body limit runs before
//! the handler, so an oversized body is a 413 before any signature work.

mod alerts;
mod discord;
mod health;
mod live;
mod pages;
mod request_id;
mod server;
mod slack;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};
use tower_http::trace::TraceLayer;

use crate::app::AppState;
use crate::chat::verify::Rejection;

/// Bodies larger than this are refused with 413 before anything else happens.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How long a client may take to send its body.
const BODY_TIMEOUT: Duration = Duration::from_secs(5);

use request_id::REQUEST_ID;
pub use request_id::{acceptable as request_id_acceptable, MAX_REQUEST_ID_LEN};

/// How a request ended, attached to the response for the metrics middleware.
#[derive(Debug, Clone, Copy)]
struct Outcome(&'static str);

/// Builds the router with every route and layer.
pub fn router(state: Arc<AppState>, request_timeout: Duration) -> Router {
    Router::new()
        .route("/slack/commands", post(slack::commands))
        .route("/slack/interactions", post(slack::interactions))
        .route("/slack/events", post(slack::events))
        .route("/discord/interactions", post(discord::interactions))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/jobs/{id}", get(pages::job_page))
        .route(
            "/alerts/{kind}",
            post(alerts::receive).layer(DefaultBodyLimit::max(alerts::MAX_ALERT_BODY_BYTES)),
        )
        .route("/jobs/{id}/events", get(live::job_events))
        .route("/dashboard", get(pages::dashboard_page))
        .route("/dashboard/events", get(live::dashboard_events))
        .route("/assets/pages.css", get(pages::stylesheet))
        .route("/assets/live.js", get(pages::script))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(refuse_declared_oversize))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(
            ServiceBuilder::new()
                .map_request(request_id::drop_unacceptable)
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http().make_span_with(|req: &Request| {
                        let id = req
                            .headers()
                            .get(REQUEST_ID)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("");
                        tracing::info_span!("request", request.id = %id, http.method = %req.method(), http.path = %req.uri().path())
                    }),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    request_timeout,
                ))
                .layer(RequestBodyTimeoutLayer::new(BODY_TIMEOUT)),
        )
        .with_state(state)
}

/// Serves until `stop` completes, then lets in-flight requests finish; connections are
/// bounded by `limits` (see `http/server.rs`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: crate::config::ServerLimits,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    server::serve(listener, router, limits, stop)
        .await
        .map_err(|e| anyhow::anyhow!("serving HTTP: {e}"))
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Outcome("not_found"), ()).into_response()
}

impl axum::response::IntoResponseParts for Outcome {
    type Error = std::convert::Infallible;

    fn into_response_parts(
        self,
        mut res: axum::response::ResponseParts,
    ) -> Result<axum::response::ResponseParts, Self::Error> {
        res.extensions_mut().insert(self);
        Ok(res)
    }
}

/// Counts every request by matched route and outcome, and its latency. The outcome is what the
/// handler attached, else derived from the status (413 from the body limit, 408 from a timeout).
async fn observe(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let response = next.run(req).await;
    let outcome = match response.extensions().get::<Outcome>() {
        Some(Outcome(o)) => *o,
        None => match response.status() {
            StatusCode::PAYLOAD_TOO_LARGE => "too_large",
            StatusCode::REQUEST_TIMEOUT => "timeout",
            s if s.is_server_error() => "error",
            s if s.is_client_error() => "bad_request",
            _ => "ok",
        },
    };
    state
        .metrics
        .observe_request(&route, outcome, started.elapsed().as_secs_f64());
    response
}

/// A request that declares a body over [`MAX_BODY_BYTES`] (`Content-Length`; 1 MiB on the
/// alert routes) is answered 413
/// at once, without reading a byte of it, and its connection is closed: a client cannot make
/// warden wait for (or read) megabytes it will refuse anyway. A body without a declared length
/// is still cut at the limit by `DefaultBodyLimit` as it arrives.
async fn refuse_declared_oversize(req: Request, next: Next) -> Response {
    let limit = if req.uri().path().starts_with("/alerts/") {
        alerts::MAX_ALERT_BODY_BYTES
    } else {
        MAX_BODY_BYTES
    };
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => (
            StatusCode::PAYLOAD_TOO_LARGE,
            [(axum::http::header::CONNECTION, "close")],
            Outcome("too_large"),
            (),
        )
            .into_response(),
        _ => next.run(req).await,
    }
}

/// The raw request body. Like `Bytes`, but a body that stalled past the body timeout is a 408
/// (the client was too slow), not axum's generic 400; an oversized body stays a 413.
struct RawBody(Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(RawBody(bytes)),
            Err(rejection) => {
                let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&rejection);
                while let Some(error) = source {
                    if error.is::<tower_http::timeout::TimeoutError>() {
                        tracing::warn!("request body not received in time");
                        return Err(
                            (StatusCode::REQUEST_TIMEOUT, Outcome("timeout"), ()).into_response()
                        );
                    }
                    source = error.source();
                }
                Err(rejection.into_response())
            }
        }
    }
}

/// The request id set by the request-id layer.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// One header as text, when present and printable.
fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A failed verification: 401 with an empty body, counted by reason, logged without the body.
fn reject(state: &AppState, route: &str, rejection: Rejection) -> Response {
    state.metrics.reject(rejection.reason());
    tracing::warn!(
        http.route = route,
        reject.reason = rejection.reason(),
        "request rejected: {rejection}"
    );
    (StatusCode::UNAUTHORIZED, Outcome("rejected"), ()).into_response()
}

/// A verified request whose body is not what the platform sends: 400, logged without the body.
fn malformed(route: &str, problem: &str) -> Response {
    tracing::warn!(http.route = route, "malformed verified request: {problem}");
    (StatusCode::BAD_REQUEST, Outcome("bad_request"), ()).into_response()
}

/// JSON with an outcome attached.
fn json_reply(outcome: Outcome, body: serde_json::Value) -> Response {
    (outcome, Json(body)).into_response()
}
