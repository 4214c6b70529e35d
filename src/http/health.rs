//! Probes and metrics: `/healthz` (the process is up), `/readyz` (the database answers and is
//! migrated) and `/metrics` (Prometheus text).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::Outcome;
use crate::app::AppState;

pub(super) async fn healthz() -> Response {
    (Outcome("ok"), "ok\n").into_response()
}

/// `/readyz`: 200 when the database answers and is migrated. The body also lists each outbound
/// transport's state (`slack_socket: connected`), one a line; a transport that is down does
/// not make the replica unready, since the HTTP routes and the jobs still work.
pub(super) async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let transports: String = state
        .transports
        .snapshot()
        .iter()
        .map(|(name, transport)| format!("{name}: {transport}\n"))
        .collect();
    match state.service.store.ready().await {
        Ok(()) => (Outcome("ok"), format!("ready\n{transports}")).into_response(),
        Err(error) => {
            tracing::warn!("not ready: {error:#}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Outcome("not_ready"),
                format!("database unavailable or not migrated\n{transports}"),
            )
                .into_response()
        }
    }
}

pub(super) async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let (open, idle, max) = state.service.store.pool_usage();
    state.metrics.database_pool(open, idle, max);
    if let Some(wal) = state.service.store.sqlite_wal() {
        state.metrics.sqlite_wal(&wal);
    }
    (
        Outcome("ok"),
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}
