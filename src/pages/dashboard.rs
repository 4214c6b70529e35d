//! The tenant dashboard (SPEC §18): running and recent jobs, pending approvals with links to
//! their cards, and the latest audit events, read-only. Each section renders from one field of
//! [`DashboardView`]; the stream replaces `#sections` whole whenever the tenant's audit chain
//! grows (every change warden makes is audited), so the live page and the snapshot are the same
//! markup.

use chrono::{DateTime, Utc};
use maud::{html, Markup};

use super::format::{human_duration, moment, parse_time, status_class, status_text};
use super::job::audit_event;
use super::live::{EndOfStream, Patch};
use super::{document, Depth, Shell};
use crate::audit::AuditEvent;

/// Everything the dashboard shows, gathered by the caller (one storage read) and already
/// redacted: secret argument values are `[redacted]` before they get here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardView {
    /// The tenant.
    pub tenant: String,
    /// The role the link was issued for (the caller's role when they asked).
    pub role: String,
    /// Who asked for the link.
    pub actor: String,
    /// When the link expires, RFC 3339 UTC.
    pub expires_at: String,
    /// Queued and running jobs, oldest first.
    pub active: Vec<JobRow>,
    /// The latest finished jobs, newest first.
    pub recent: Vec<JobRow>,
    /// Pending approval requests, oldest first.
    pub approvals: Vec<ApprovalRow>,
    /// The latest audit events, newest first.
    pub audit: Vec<AuditEvent>,
    /// Firing alerts from monitoring, newest first.
    pub alerts: Vec<AlertRow>,
}

/// One firing alert in the dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    /// Shown as `AL-{id}`.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its severity label, if any.
    pub severity: Option<String>,
    /// Its summary annotation, if any.
    pub summary: Option<String>,
    /// When it started firing, RFC 3339 UTC.
    pub fired_at: String,
    /// The link to its card in chat, where known.
    pub card_link: Option<String>,
}

/// One job in a dashboard list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    /// Shown as `J-{id}`.
    pub id: i64,
    /// The command name.
    pub command: String,
    /// Arguments, redacted.
    pub args: Vec<(String, String)>,
    /// The environment, if any.
    pub environment: Option<String>,
    /// Who asked.
    pub requester: String,
    /// The job's status.
    pub status: String,
    /// Whether it is a dry run.
    pub dry_run: bool,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC.
    pub started_at: Option<String>,
    /// RFC 3339 UTC.
    pub finished_at: Option<String>,
    /// The job page, relative to the dashboard (`jobs/42?t=…`, with the dashboard's own token).
    pub page: String,
}

/// One pending approval request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRow {
    /// Shown as `A-{id}`.
    pub id: i64,
    /// The command name (`access` for an access request).
    pub command: String,
    /// Arguments, redacted.
    pub args: Vec<(String, String)>,
    /// The environment, if any.
    pub environment: Option<String>,
    /// Who asked.
    pub requester: String,
    /// The reason given.
    pub reason: Option<String>,
    /// Approvals given so far, by whom.
    pub approved_by: Vec<String>,
    /// Approvals needed.
    pub needed: u32,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC.
    pub expires_at: String,
    /// The link to its card in chat, once the card is posted.
    pub card_link: Option<String>,
}

/// The whole dashboard page; its script follows `dashboard/events` from `head`, the length of
/// the tenant's audit chain when the view was read.
pub fn render_dashboard_page(view: &DashboardView, head: i64, now: DateTime<Utc>) -> String {
    let body = html! {
        div.top {
            span.muted { "warden · dashboard · read-only" } " "
            span #live-state .live { "snapshot" }
        }
        h1 { "Dashboard of " code { (view.tenant) } }
        p.muted.readonly {
            "Opened by " strong { (view.actor) } " as " strong { (view.role) }
            ". Nothing here changes anything: every action stays in chat, where it is guarded and audited. Link valid until "
            (moment(&view.expires_at, now)) "."
        }
        div #notice .notice {}
        (render_dashboard_sections(view, now))
    };
    document(
        Shell {
            title: &format!("{} dashboard", view.tenant),
            depth: Depth::Top,
            stream: Some("dashboard/events".to_owned()),
            cursor: Some(head.to_string()),
        },
        body,
    )
}

/// The sections, as one element (`#sections`) that the stream replaces.
///
/// Firing alerts (SPEC §15) get their own section here, between pending approvals and the audit
/// events, from a field of [`DashboardView`] filled by the same storage read.
pub fn render_dashboard_sections(view: &DashboardView, now: DateTime<Utc>) -> Markup {
    html! {
        main #sections {
            h2 { "Running and queued jobs " span.muted { "(" (view.active.len()) ")" } }
            (jobs(&view.active, now, "No job is running or queued."))
            h2 { "Pending approvals " span.muted { "(" (view.approvals.len()) ")" } }
            (approvals(&view.approvals, now))
            h2 { "Firing alerts " span.muted { "(" (view.alerts.len()) ")" } }
            (alerts(&view.alerts, now))
            h2 { "Recent jobs" }
            (jobs(&view.recent, now, "No job has finished yet."))
            h2 { "Latest audit events" }
            @if view.audit.is_empty() {
                p.empty { "No audit events yet." }
            } @else {
                ol.events { @for event in &view.audit { (audit_event(event, now)) } }
            }
        }
    }
}

/// The patch that replaces the sections with their current state.
pub fn dashboard_patch(view: &DashboardView, now: DateTime<Utc>) -> Patch {
    Patch::replace("sections", render_dashboard_sections(view, now))
}

/// The end of a dashboard stream whose link expired.
pub fn dashboard_expired() -> EndOfStream {
    EndOfStream::expired("/ops dashboard")
}

fn args_text(args: &[(String, String)]) -> String {
    args.iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn jobs(rows: &[JobRow], now: DateTime<Utc>, empty: &str) -> Markup {
    html! {
        @if rows.is_empty() {
            p.empty { (empty) }
        } @else {
            table.list {
                thead { tr { th { "Job" } th { "Command" } th { "Status" } th { "Requester" } th { "When" } } }
                tbody {
                    @for job in rows {
                        tr {
                            td data-label="Job" { a href=(job.page) { "J-" (job.id) } }
                            td data-label="Command" {
                                code { (job.command) " " (args_text(&job.args)) }
                                @if let Some(env) = &job.environment { " " span.muted { "in " (env) } }
                            }
                            td data-label="Status" {
                                span class=(status_class(&job.status)) { (status_text(&job.status)) }
                                @if job.dry_run { " " span.badge.dry { "dry run" } }
                            }
                            td data-label="Requester" { (job.requester) }
                            td data-label="When" { (job_when(job, now)) }
                        }
                    }
                }
            }
        }
    }
}

fn job_when(job: &JobRow, now: DateTime<Utc>) -> Markup {
    let started = job.started_at.as_deref().and_then(parse_time);
    let finished = job.finished_at.as_deref().and_then(parse_time);
    html! {
        @match (&job.finished_at, &job.started_at) {
            (Some(finished_at), _) => {
                "finished " (moment(finished_at, now))
                @if let (Some(s), Some(f)) = (started, finished) { br; span.muted { "ran " (human_duration(f - s)) } }
            }
            (None, Some(started_at)) => { "started " (moment(started_at, now)) }
            (None, None) => { "queued " (moment(&job.created_at, now)) }
        }
    }
}

fn alerts(rows: &[AlertRow], now: DateTime<Utc>) -> Markup {
    html! {
        @if rows.is_empty() {
            p.empty { "No alert is firing." }
        } @else {
            table.list {
                thead { tr { th { "Alert" } th { "Name" } th { "Severity" } th { "Firing since" } } }
                tbody {
                    @for a in rows {
                        tr {
                            td data-label="Alert" {
                                strong { "AL-" (a.id) }
                                @if let Some(link) = a.card_link.as_deref().filter(|l| l.starts_with("https://") || l.starts_with("http://")) {
                                    br; a href=(link) rel="noreferrer" { "card in chat" }
                                }
                            }
                            td data-label="Name" {
                                code { (a.name) }
                                @if let Some(summary) = &a.summary { br; span.muted { (summary) } }
                            }
                            td data-label="Severity" { (a.severity.as_deref().unwrap_or("—")) }
                            td data-label="Firing since" { (moment(&a.fired_at, now)) }
                        }
                    }
                }
            }
        }
    }
}

fn approvals(rows: &[ApprovalRow], now: DateTime<Utc>) -> Markup {
    html! {
        @if rows.is_empty() {
            p.empty { "No approval request is pending." }
        } @else {
            table.list {
                thead { tr { th { "Request" } th { "Command" } th { "Requester" } th { "Approvals" } th { "Expires" } } }
                tbody {
                    @for a in rows {
                        tr {
                            td data-label="Request" {
                                strong { "A-" (a.id) }
                                @if let Some(link) = a.card_link.as_deref().filter(|l| l.starts_with("https://") || l.starts_with("http://")) {
                                    br; a href=(link) rel="noreferrer" { "card in chat" }
                                }
                            }
                            td data-label="Command" {
                                code { (a.command) " " (args_text(&a.args)) }
                                @if let Some(env) = &a.environment { " " span.muted { "in " (env) } }
                                @if let Some(reason) = &a.reason { br; span.muted { "“" (reason) "”" } }
                            }
                            td data-label="Requester" { (a.requester) br; span.muted { "asked " (moment(&a.created_at, now)) } }
                            td data-label="Approvals" {
                                (a.approved_by.len()) " of " (a.needed)
                                @if !a.approved_by.is_empty() { br; span.muted { "by " (a.approved_by.join(", ")) } }
                            }
                            td data-label="Expires" { (moment(&a.expires_at, now)) }
                        }
                    }
                }
            }
        }
    }
}
