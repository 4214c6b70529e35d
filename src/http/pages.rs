//! `GET /jobs/{id}?t=TOKEN`: a job's read-only page, reachable only with the short-lived
//! signed link handed out in chat (bound to the job and its tenant).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::Outcome;
use crate::app::AppState;
use crate::jobs::parse_id;
use crate::links::{verify_job_link, LinkError};
use crate::pages::{self, JobView, LogLineView};

#[derive(Deserialize)]
pub(super) struct LinkToken {
    #[serde(default)]
    t: String,
}

fn page(status: StatusCode, outcome: &'static str, html: String) -> Response {
    (
        status,
        Outcome(outcome),
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                pages::CONTENT_SECURITY_POLICY,
            ),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        html,
    )
        .into_response()
}

fn refused(message: &str) -> Response {
    page(
        StatusCode::FORBIDDEN,
        "refused",
        pages::render_error_page("This link does not open this job", message),
    )
}

pub(super) async fn job_page(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(token): Query<LinkToken>,
) -> Response {
    let service = &state.service;
    let Some(id) = parse_id(&id) else {
        return refused("The address is not a job link.");
    };
    let job = match service.store.job(id).await {
        Ok(job) => job,
        Err(error) => {
            tracing::error!("reading a job for its page failed: {error:#}");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "error",
                pages::render_error_page(
                    "warden is unavailable",
                    "Its database could not be read. Try again in a minute.",
                ),
            );
        }
    };
    // An unknown job and a bad token get the same answer, so the page cannot be used to probe
    // which job ids exist.
    let Some(job) = job else {
        return refused("The link is not valid.");
    };
    let key = &service.runner.links.key;
    match verify_job_link(
        key,
        &job.tenant,
        id,
        &token.t,
        chrono::Utc::now().timestamp(),
    ) {
        Ok(()) => {}
        Err(LinkError::Expired) => {
            return refused(&format!(
                "This link has expired. Ask warden for a fresh one with `{} jobs show {}`.",
                service.root,
                job.display_id()
            ))
        }
        Err(_) => return refused("The link is not valid."),
    }
    let log = service.store.job_log(id, None).await.unwrap_or_default();
    let audit = service
        .store
        .job_audit(&job.tenant, &job.display_id(), &job.request_id)
        .await
        .unwrap_or_default();
    let view = JobView {
        id,
        tenant: job.tenant.clone(),
        command: job.command.clone(),
        args: service.runner.shown_args(&job),
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
            .map(|l| LogLineView {
                at: l.at,
                stream: l.stream,
                text: l.text,
            })
            .collect(),
        audit,
    };
    page(StatusCode::OK, "ok", pages::render_job_page(&view))
}
