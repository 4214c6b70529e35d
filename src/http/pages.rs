//! The pages (SPEC §18): `GET /jobs/{id}?t=TOKEN` (a job's page), `GET /dashboard?t=TOKEN`
//! (the tenant dashboard) and the two static assets they use. Each page is reachable only with
//! a short-lived signed link handed out in chat; `live.rs` serves their streams with the same
//! checks.
//!
//! A job page opens with the job's own link (bound to the job and its tenant) or with a
//! dashboard link of the job's tenant, so the dashboard can link to its jobs without putting a
//! new capability on the page: the link it uses is the one the viewer already holds.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::Outcome;
use crate::app::AppState;
use crate::audit::AuditEvent;
use crate::jobs::model::StoredLogLine;
use crate::jobs::{parse_id, Job};
use crate::links::{verify_dashboard_link, verify_job_link, DashboardGrant, LinkError};
use crate::pages::{
    self, AlertRow, ApprovalRow, DashboardView, Depth, JobRow, JobView, LogLineView,
};
use crate::storage::{ApprovalRecord, DashboardRows};

/// The most log lines a page or one stream event carries; a longer log arrives in steps.
pub(super) const LOG_PAGE: u32 = 5000;

#[derive(Deserialize)]
pub(super) struct LinkToken {
    #[serde(default)]
    pub(super) t: String,
    /// Where a stream starts (`live.rs`); pages ignore it.
    #[serde(default)]
    pub(super) from: Option<String>,
}

/// The headers every page and stream carries: no caching anywhere (the URL holds a token and
/// the content changes), no referrer (the URL holds a token), and the strict CSP.
pub(super) fn protect(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(pages::CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

pub(super) fn page(status: StatusCode, outcome: &'static str, html: String) -> Response {
    let mut response = (
        status,
        Outcome(outcome),
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    protect(&mut response);
    response
}

/// Why a link did not open a page.
pub(super) enum Denied {
    /// Not a link this server issued for this page (or no such job): one answer for both, so
    /// the pages cannot be used to probe which job ids exist.
    Invalid,
    /// A genuine link whose time is up; the text says how to get a fresh one.
    Expired(String),
    /// The database could not be read.
    Unavailable,
}

impl Denied {
    /// The HTML answer for a page at `depth`.
    pub(super) fn page(&self, depth: Depth) -> Response {
        let (status, outcome, title, message) = match self {
            Denied::Invalid => (
                StatusCode::FORBIDDEN,
                "refused",
                "This link does not open this page",
                "The link is not valid.".to_owned(),
            ),
            Denied::Expired(hint) => (
                StatusCode::FORBIDDEN,
                "refused",
                "This link has expired",
                format!("This link has expired. Ask warden for a fresh one with `{hint}`."),
            ),
            Denied::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "error",
                "warden is unavailable",
                "Its database could not be read. Try again in a minute.".to_owned(),
            ),
        };
        page(
            status,
            outcome,
            pages::render_error_page(title, &message, depth),
        )
    }
}

/// A job and the link that opened it.
pub(super) struct JobAccess {
    pub(super) job: Job,
    /// Unix seconds when the link expires.
    pub(super) expires: i64,
    /// The command that gives a fresh link.
    pub(super) hint: String,
}

/// Reads job `id` and checks `token` against it: the job's own link, or a dashboard link of
/// the job's tenant.
pub(super) async fn open_job(
    state: &AppState,
    id: &str,
    token: &str,
    now: i64,
) -> Result<JobAccess, Denied> {
    let service = &state.service;
    let id = parse_id(id).ok_or(Denied::Invalid)?;
    let job = match service.store.job(id).await {
        Ok(Some(job)) => job,
        Ok(None) => return Err(Denied::Invalid),
        Err(error) => {
            tracing::error!("reading a job for its page failed: {error:#}");
            return Err(Denied::Unavailable);
        }
    };
    let key = service.runner.links().key();
    let job_hint = format!("{} jobs show {}", service.root, job.display_id());
    match verify_job_link(key, &job.tenant, id, token, now) {
        Ok(()) => {
            // A verified job token is `{expires}.{mac}`.
            let expires = token
                .split_once('.')
                .and_then(|(e, _)| e.parse().ok())
                .unwrap_or(now);
            return Ok(JobAccess {
                job,
                expires,
                hint: job_hint,
            });
        }
        Err(LinkError::Expired) => return Err(Denied::Expired(job_hint)),
        Err(_) => {}
    }
    match open_dashboard(state, token, now) {
        Ok(grant) if grant.tenant == job.tenant => Ok(JobAccess {
            job,
            expires: grant.expires,
            hint: format!("{} dashboard", service.root),
        }),
        Err(Denied::Expired(hint)) => Err(Denied::Expired(hint)),
        _ => Err(Denied::Invalid),
    }
}

/// Checks a dashboard token: genuine, unexpired, and for a tenant that still exists.
pub(super) fn open_dashboard(
    state: &AppState,
    token: &str,
    now: i64,
) -> Result<DashboardGrant, Denied> {
    let service = &state.service;
    match verify_dashboard_link(service.runner.links().key(), token, now) {
        Ok(grant) if service.directory.tenants.contains_key(&grant.tenant) => Ok(grant),
        Ok(_) => Err(Denied::Invalid),
        Err(LinkError::Expired) => Err(Denied::Expired(format!("{} dashboard", service.root))),
        Err(_) => Err(Denied::Invalid),
    }
}

/// The job page's view of `job`: its arguments redacted as in chat, the given log lines and
/// audit events, and its thread link when `with_thread` (one more read).
pub(super) async fn job_view(
    state: &AppState,
    access: &JobAccess,
    log: Vec<(i64, StoredLogLine)>,
    audit: Vec<AuditEvent>,
    with_thread: bool,
) -> JobView {
    let service = &state.service;
    let job = &access.job;
    let thread_link = if with_thread {
        match service.store.card_message(&job.card_key()).await {
            Ok(card) => card.and_then(|c| c.link),
            Err(error) => {
                tracing::warn!("reading the job's card failed: {error:#}");
                None
            }
        }
    } else {
        None
    };
    JobView {
        thread_link,
        id: job.id,
        tenant: job.tenant.clone(),
        command: job.command.clone(),
        args: service.runner.shown_args(job),
        environment: job.environment.clone(),
        requester: job.requester.clone(),
        approvers: job.approvers.clone(),
        status: job.status.as_str().to_string(),
        dry_run: job.dry_run,
        reason: job.reason.clone(),
        attempt: job.attempt,
        created_at: job.created_at.clone(),
        started_at: job.started_at.clone(),
        finished_at: job.finished_at.clone(),
        error: job.error.clone(),
        log: log
            .into_iter()
            .map(|(seq, l)| LogLineView {
                seq,
                at: l.at,
                stream: l.stream,
                text: l.text,
            })
            .collect(),
        audit,
        fresh_link_hint: access.hint.clone(),
    }
}

pub(super) async fn job_page(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(token): Query<LinkToken>,
) -> Response {
    let now = Utc::now();
    let access = match open_job(&state, &id, &token.t, now.timestamp()).await {
        Ok(access) => access,
        Err(denied) => return denied.page(Depth::Nested),
    };
    let store = &state.service.store;
    let job = &access.job;
    let log = store
        .job_log_after(job.id, 0, LOG_PAGE)
        .await
        .unwrap_or_default();
    let audit = store
        .job_audit(&job.tenant, &job.display_id(), &job.request_id)
        .await
        .unwrap_or_default();
    let view = job_view(&state, &access, log, audit, true).await;
    page(StatusCode::OK, "ok", pages::render_job_page(&view, now))
}

pub(super) async fn dashboard_page(
    State(state): State<Arc<AppState>>,
    Query(token): Query<LinkToken>,
) -> Response {
    let now = Utc::now();
    let grant = match open_dashboard(&state, &token.t, now.timestamp()) {
        Ok(grant) => grant,
        Err(denied) => return denied.page(Depth::Top),
    };
    let store = &state.service.store;
    // The head is read first: a change that lands between the two reads is sent again by
    // the stream rather than missed.
    let head = store.audit_head_seq(&grant.tenant).await;
    let rows = store.dashboard(&grant.tenant).await;
    let (head, rows) = match (head, rows) {
        (Ok(head), Ok(rows)) => (head, rows),
        (Err(error), _) | (_, Err(error)) => {
            tracing::error!(tenant.id = %grant.tenant, "reading the dashboard failed: {error:#}");
            return Denied::Unavailable.page(Depth::Top);
        }
    };
    let view = dashboard_view(&state, &grant, &token.t, rows);
    page(
        StatusCode::OK,
        "ok",
        pages::render_dashboard_page(&view, head, now),
    )
}

/// The dashboard's view: arguments redacted as in chat, job pages linked with the dashboard's
/// own token.
pub(super) fn dashboard_view(
    state: &AppState,
    grant: &DashboardGrant,
    token: &str,
    rows: DashboardRows,
) -> DashboardView {
    let runner = &state.service.runner;
    let job_row = |job: &Job| JobRow {
        id: job.id,
        command: job.command.clone(),
        args: runner.shown_args(job),
        environment: job.environment.clone(),
        requester: job.requester.clone(),
        status: job.status.as_str().to_owned(),
        dry_run: job.dry_run,
        created_at: job.created_at.clone(),
        started_at: job.started_at.clone(),
        finished_at: job.finished_at.clone(),
        page: format!("jobs/{}?t={token}", job.id),
    };
    let approval_row = |a: &ApprovalRecord| {
        let needed = serde_json::from_str::<crate::approvals::Policy>(&a.policy)
            .map(|p| p.needed)
            .unwrap_or(1);
        ApprovalRow {
            id: a.id,
            command: a.command.clone(),
            args: shown_request_args(state, a),
            environment: a.environment.clone(),
            requester: a.requester.clone(),
            reason: a.reason.clone(),
            approved_by: a
                .votes
                .iter()
                .filter(|(_, decision, _)| decision == "approve")
                .map(|(voter, _, _)| voter.clone())
                .collect(),
            needed,
            created_at: a.created_at.clone(),
            expires_at: DateTime::<Utc>::from_timestamp_millis(a.expires_ms)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
            card_link: rows.approval_links.get(&a.id).cloned(),
        }
    };
    DashboardView {
        tenant: grant.tenant.clone(),
        role: grant.role.as_str().to_owned(),
        actor: grant.actor.clone(),
        expires_at: DateTime::<Utc>::from_timestamp(grant.expires, 0)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default(),
        active: rows.active.iter().map(job_row).collect(),
        recent: rows.recent.iter().map(job_row).collect(),
        approvals: rows.approvals.iter().map(approval_row).collect(),
        alerts: rows
            .alerts
            .iter()
            .map(|a| {
                let alert: Option<crate::alerts::Alert> = serde_json::from_str(&a.alert).ok();
                AlertRow {
                    id: a.id,
                    name: a.name.clone(),
                    severity: alert.as_ref().and_then(|x| x.severity().map(str::to_owned)),
                    summary: alert.and_then(|x| x.annotations.get("summary").cloned()),
                    fired_at: DateTime::<Utc>::from_timestamp_millis(a.fired_ms)
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_default(),
                    card_link: rows.alert_links.get(&a.id).cloned(),
                }
            })
            .collect(),
        audit: rows.audit,
    }
}

/// An approval request's arguments as chat shows them: a command's secret arguments (and any
/// argument its definition no longer names) are `[redacted]`. Access requests have no secret
/// arguments.
fn shown_request_args(state: &AppState, approval: &ApprovalRecord) -> Vec<(String, String)> {
    if approval.kind == "access" {
        return approval.args.clone();
    }
    let spec = state.service.registry.get(&approval.command);
    approval
        .args
        .iter()
        .map(|(name, value)| {
            let secret = spec.and_then(|s| s.arg(name)).is_none_or(|a| a.secret);
            let value = if secret {
                crate::commands::args::REDACTED.to_owned()
            } else {
                value.clone()
            };
            (name.clone(), value)
        })
        .collect()
}

/// `GET /assets/pages.css` and `GET /assets/live.js`: the pages' only assets. They hold no data,
/// so they may be cached, but are revalidated so that a new release is picked up at once (the
/// pages also pin them by hash).
pub(super) async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", pages::STYLESHEET)
}

pub(super) async fn script() -> Response {
    asset("text/javascript; charset=utf-8", pages::SCRIPT)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        Outcome("ok"),
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}
