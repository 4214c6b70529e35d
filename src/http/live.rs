//! The live streams (SPEC §18): `GET /jobs/{id}/events?t=TOKEN` and
//! `GET /dashboard/events?t=TOKEN`, as Server-Sent Events.
//!
//! Both are driven from the database, not from in-process channels: each stream polls the rows
//! it shows (a job's log lines and audit events after its cursor, the job's status; the
//! tenant's audit head) every [`POLL`], so a page served by one replica follows a job that
//! another replica runs. The token is checked when the stream opens and its expiry on every
//! poll; the stream ends with an `end` event when the job finishes or the link expires. When
//! warden shuts down, the stream is closed without `end`, so the browser reconnects (to another
//! replica) and resumes from its `Last-Event-ID`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use futures_util::Stream;
use tokio::sync::mpsc;

use super::pages::{
    dashboard_view, job_view, open_dashboard, open_job, protect, Denied, JobAccess, LinkToken,
    LOG_PAGE,
};
use super::Outcome;
use crate::app::AppState;
use crate::links::DashboardGrant;
use crate::pages::{self, EndOfStream, JobCursor, Patch};

/// How often a stream reads the database: fast enough that a log line shows "the moment it is
/// printed" (the runner writes lines within 250 ms), slow enough that a page costs little.
pub const POLL: Duration = Duration::from_millis(300);

/// How often a dashboard is re-read even when its audit chain did not move (a job's running
/// time, an approval's expiry).
const DASHBOARD_REFRESH: Duration = Duration::from_secs(30);

/// The SSE response around the events a task sends: never cached, never buffered by a proxy
/// (`X-Accel-Buffering: no` for nginx), with a comment every 15 s so idle connections stay open.
fn sse(events: mpsc::Receiver<Event>) -> Response {
    let stream = futures_util::stream::unfold(events, |mut events| async move {
        events
            .recv()
            .await
            .map(|event| (Ok::<_, Infallible>(event), events))
    });
    sse_response(stream)
}

fn sse_response(
    stream: impl Stream<Item = Result<Event, Infallible>> + Send + 'static,
) -> Response {
    let mut response = (
        Outcome("ok"),
        Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))),
    )
        .into_response();
    protect(&mut response);
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// A stream that only says it ended (a link that expired before the page connected).
fn ended(end: &EndOfStream) -> Response {
    let event = end_event(end);
    sse_response(futures_util::stream::iter([Ok(event)]))
}

fn refused(denied: Denied) -> Response {
    let (status, outcome) = match denied {
        Denied::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "error"),
        _ => (StatusCode::FORBIDDEN, "refused"),
    };
    let mut response = (
        status,
        Outcome(outcome),
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "This link does not open this stream.\n",
    )
        .into_response();
    protect(&mut response);
    response
}

fn patch_event(patch: &Patch, id: Option<String>) -> Event {
    let event = Event::default().event("patch");
    let event = match id {
        Some(id) => event.id(id),
        None => event,
    };
    event.data(serde_json::to_string(patch).expect("a patch serializes"))
}

fn end_event(end: &EndOfStream) -> Event {
    Event::default()
        .event("end")
        .data(serde_json::to_string(end).expect("an end serializes"))
}

/// Where a reconnecting browser was (`Last-Event-ID`), else where the page's snapshot ended.
fn start_from(headers: &HeaderMap, from: Option<&str>) -> Option<String> {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .or(from)
        .map(str::to_owned)
}

pub(super) async fn job_events(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(token): Query<LinkToken>,
    headers: HeaderMap,
) -> Response {
    let access = match open_job(&state, &id, &token.t, Utc::now().timestamp()).await {
        Ok(access) => access,
        Err(Denied::Expired(hint)) => return ended(&EndOfStream::expired(&hint)),
        Err(denied) => return refused(denied),
    };
    let cursor = start_from(&headers, token.from.as_deref())
        .and_then(|c| c.parse().ok())
        .unwrap_or_default();
    let (sender, receiver) = mpsc::channel(16);
    tokio::spawn(follow_job(state, access, cursor, sender));
    sse(receiver)
}

/// Polls one job until it ends, the link expires, warden stops or the browser goes away (a
/// send fails).
async fn follow_job(
    state: Arc<AppState>,
    mut access: JobAccess,
    mut cursor: JobCursor,
    events: mpsc::Sender<Event>,
) {
    let mut stopping = state.stopping.clone();
    let store = &state.service.store;
    let id = access.job.id;
    // The snapshot's status is not known here, so the first poll always sends the summary.
    let mut shown: Option<String> = None;
    loop {
        if *stopping.borrow() {
            return;
        }
        let now = Utc::now();
        if now.timestamp() >= access.expires {
            let _ = events
                .send(end_event(&EndOfStream::expired(&access.hint)))
                .await;
            return;
        }
        let polled = async {
            let job = store.job(id).await?;
            let log = store.job_log_after(id, cursor.log, LOG_PAGE).await?;
            anyhow::Ok((job, log))
        }
        .await;
        let (job, log) = match polled {
            Ok((Some(job), log)) => (job, log),
            Ok((None, _)) => return,
            Err(error) => {
                // A database hiccup: try again at the next poll, as a reconnect would.
                tracing::warn!(job.id = %access.job.display_id(), "a job stream could not read: {error:#}");
                if pause(&mut stopping).await {
                    continue;
                }
                return;
            }
        };
        // Read after the job row: everything committed before a final status is visible now.
        let audit = store
            .job_audit_after(
                &job.tenant,
                &job.display_id(),
                &job.request_id,
                cursor.audit,
            )
            .await
            .unwrap_or_default();
        let status = format!(
            "{}|{}|{:?}|{:?}|{:?}",
            job.status.as_str(),
            job.attempt,
            job.started_at,
            job.finished_at,
            job.error
        );
        let status_changed = shown.as_deref() != Some(status.as_str());
        let more_log = log.len() == LOG_PAGE as usize;
        access.job = job;
        if let Some((seq, _)) = log.last() {
            cursor.log = *seq;
        }
        if let Some(event) = audit.last() {
            cursor.audit = event.id;
        }
        let view = job_view(&state, &access, log, audit, status_changed).await;
        let patches = pages::job_patches(&view, cursor.log as usize, status_changed, now);
        for patch in &patches {
            if events
                .send(patch_event(patch, Some(cursor.to_string())))
                .await
                .is_err()
            {
                return;
            }
        }
        shown = Some(status);
        if view.is_final() && !more_log {
            let _ = events.send(end_event(&EndOfStream::finished())).await;
            return;
        }
        if events.is_closed() || !pause(&mut stopping).await {
            return;
        }
    }
}

/// Waits one poll interval; false when warden is stopping.
async fn pause(stopping: &mut tokio::sync::watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(POLL) => !*stopping.borrow(),
        _ = stopping.changed() => false,
    }
}

pub(super) async fn dashboard_events(
    State(state): State<Arc<AppState>>,
    Query(token): Query<LinkToken>,
    headers: HeaderMap,
) -> Response {
    let grant = match open_dashboard(&state, &token.t, Utc::now().timestamp()) {
        Ok(grant) => grant,
        Err(Denied::Expired(_)) => return ended(&pages::dashboard_expired()),
        Err(denied) => return refused(denied),
    };
    let head = start_from(&headers, token.from.as_deref()).and_then(|h| h.parse::<i64>().ok());
    let (sender, receiver) = mpsc::channel(4);
    tokio::spawn(follow_dashboard(state, grant, token.t, head, sender));
    sse(receiver)
}

/// Re-reads the dashboard whenever the tenant's audit chain grows (and every
/// [`DASHBOARD_REFRESH`]) and sends the sections; ends when the link expires.
async fn follow_dashboard(
    state: Arc<AppState>,
    grant: DashboardGrant,
    token: String,
    mut shown: Option<i64>,
    events: mpsc::Sender<Event>,
) {
    let mut stopping = state.stopping.clone();
    let store = &state.service.store;
    let mut refreshed = tokio::time::Instant::now();
    loop {
        let now = Utc::now();
        if now.timestamp() >= grant.expires {
            let _ = events.send(end_event(&pages::dashboard_expired())).await;
            return;
        }
        match store.audit_head_seq(&grant.tenant).await {
            Ok(head) if Some(head) != shown || refreshed.elapsed() >= DASHBOARD_REFRESH => {
                match store.dashboard(&grant.tenant).await {
                    Ok(rows) => {
                        let view = dashboard_view(&state, &grant, &token, rows);
                        let patch = pages::dashboard_patch(&view, now);
                        if events
                            .send(patch_event(&patch, Some(head.to_string())))
                            .await
                            .is_err()
                        {
                            return;
                        }
                        shown = Some(head);
                        refreshed = tokio::time::Instant::now();
                    }
                    Err(error) => {
                        tracing::warn!(tenant.id = %grant.tenant, "a dashboard stream could not read: {error:#}");
                    }
                }
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(tenant.id = %grant.tenant, "a dashboard stream could not read: {error:#}");
            }
        }
        if events.is_closed() || !pause(&mut stopping).await {
            return;
        }
    }
}
