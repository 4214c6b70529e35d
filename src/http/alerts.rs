//! `POST /alerts/alertmanager`, `/alerts/grafana`, `/alerts/webhook` (SPEC §15). The
//! credentials are checked on the raw bytes, in constant time, before anything is parsed: a
//! request no source of that kind vouches for is a 401 with an empty body. A payload that is
//! not what the sender should send is a 400 whose text names the problem. A recorded payload
//! is answered with its counts; the cards go through the outbox.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{header, json_reply, reject, request_id, Outcome, RawBody};
use crate::alerts::parse;
use crate::app::{AlertCredential, AppState};
use crate::chat::verify::{verify_bearer, verify_warden_signature, Rejection};
use crate::config::{AlertAuth, AlertSourceKind};

/// Alert routes accept bodies up to this size: a grouped Alertmanager payload of a thousand
/// alerts is several hundred kilobytes.
pub const MAX_ALERT_BODY_BYTES: usize = 1024 * 1024;

/// `POST /alerts/{kind}`.
pub(super) async fn receive(
    State(state): State<Arc<AppState>>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Response {
    let route = "/alerts/{kind}";
    let Some(kind) = AlertSourceKind::parse(&kind) else {
        return (StatusCode::NOT_FOUND, Outcome("not_found"), ()).into_response();
    };
    let now = chrono::Utc::now();
    let source = match authenticate(&state.alert_sources, kind, &headers, &body, now.timestamp()) {
        Ok(source) => source,
        Err(rejection) => return reject(&state, route, rejection),
    };
    let parsed = match kind {
        AlertSourceKind::Alertmanager => parse::alertmanager(&body),
        AlertSourceKind::Grafana => parse::grafana(&body),
        AlertSourceKind::Webhook => parse::webhook(&body),
    };
    let alerts = match parsed {
        Ok(alerts) => alerts,
        Err(problem) => {
            tracing::warn!(http.route = route, alert.source = %source.source.name, "malformed alert payload: {problem}");
            return (
                StatusCode::BAD_REQUEST,
                Outcome("bad_request"),
                format!("{problem}\n"),
            )
                .into_response();
        }
    };
    let rid = request_id(&headers);
    match state
        .service
        .ingest_alerts(&source.source, &alerts, &rid, now)
        .await
    {
        Ok(report) => json_reply(
            Outcome("ok"),
            serde_json::json!({
                "alerts": report.alerts,
                "posted": report.posted,
                "folded": report.folded,
                "repeated": report.repeated,
                "resolved": report.resolved,
                "reopened": report.reopened,
                "unrouted": report.unrouted,
            }),
        ),
        Err(error) => {
            // The sender retries a failed webhook (Alertmanager does, with backoff): nothing
            // was recorded, so nothing is lost by answering 503.
            tracing::error!(request.id = %rid, "recording alerts failed: {error:#}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Outcome("error"),
                "warden could not record these alerts (its database is unavailable); send them again\n",
            )
                .into_response()
        }
    }
}

/// The source of `kind` whose credentials the request carries. Every source of the kind is
/// tried, even after a match, so that the time taken does not tell which one matched.
fn authenticate<'a>(
    sources: &'a [AlertCredential],
    kind: AlertSourceKind,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<&'a AlertCredential, Rejection> {
    let mut found = None;
    let mut rejection = Rejection::NotConfigured;
    for credential in sources.iter().filter(|c| c.source.kind == kind) {
        let verdict = match &credential.source.auth {
            AlertAuth::Bearer { .. } => {
                verify_bearer(&credential.secret, header(headers, "authorization"))
            }
            AlertAuth::Hmac { .. } => verify_warden_signature(
                &credential.secret,
                header(headers, "x-warden-timestamp"),
                header(headers, "x-warden-signature"),
                body,
                now,
            ),
        };
        match verdict {
            Ok(()) if found.is_none() => found = Some(credential),
            Ok(()) => {}
            Err(r) => rejection = r,
        }
    }
    found.ok_or(rejection)
}
