//! The job page: header, outcome, facts, timeline, arguments, full log and audit trail of one
//! job, as a snapshot that the live stream then extends (`live.rs` renders the same parts).

use chrono::{DateTime, Utc};
use maud::{html, Markup};

use super::format::{self, human_duration, moment, parse_time, status_class, status_text};
use super::{document, Depth, Shell};
use crate::audit::AuditEvent;

/// Everything the job page shows, gathered by the caller from storage. The page trusts none of
/// it to be markup: every string is escaped when rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobView {
    /// The job id, shown as `J-{id}`.
    pub id: i64,
    /// The tenant the job belongs to.
    pub tenant: String,
    /// The command name, e.g. `deploy`.
    pub command: String,
    /// The arguments as name and value, in definition order, already redacted by the caller.
    pub args: Vec<(String, String)>,
    /// The environment the command ran against, if the command has one.
    pub environment: Option<String>,
    /// Who asked for the job.
    pub requester: String,
    /// Who approved it, in the order they voted; empty when no approval was needed.
    pub approvers: Vec<String>,
    /// One of `queued`, `running`, `succeeded`, `failed`, `timed_out`, `cancelled`.
    pub status: String,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// The reason the requester gave with `--reason`, if any.
    pub reason: Option<String>,
    /// The attempt number, starting at 1; retries increase it.
    pub attempt: u32,
    /// When the job was created, RFC 3339 UTC.
    pub created_at: String,
    /// When a runner started it, RFC 3339 UTC.
    pub started_at: Option<String>,
    /// When it reached a final status, RFC 3339 UTC.
    pub finished_at: Option<String>,
    /// What the last attempt ended with: the result of a success ("HTTP 200 OK (1.5 s)") or
    /// why it failed, timed out or was cancelled.
    pub error: Option<String>,
    /// The job's log, oldest line first.
    pub log: Vec<LogLineView>,
    /// This job's audit trail, oldest first.
    pub audit: Vec<AuditEvent>,
    /// A link to the chat thread where its story is told (SPEC §13), once known.
    pub thread_link: Option<String>,
    /// The command that hands out a fresh link, shown when this one expires
    /// (`/ops jobs show J-42`, or `/ops dashboard` for a page opened from the dashboard).
    pub fresh_link_hint: String,
}

/// One line of a job's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLineView {
    /// Its position in the job's log (1, 2, …): the stream's cursor.
    pub seq: i64,
    /// When the line was written, RFC 3339 UTC.
    pub at: String,
    /// `stdout`, `stderr` or `info` (warden's own notes, e.g. "attempt 2 started").
    pub stream: String,
    /// The text of the line, without its trailing newline.
    pub text: String,
}

impl JobView {
    /// Whether the job reached a final status (nothing more will happen to it).
    pub fn is_final(&self) -> bool {
        matches!(
            self.status.as_str(),
            "succeeded" | "failed" | "timed_out" | "cancelled"
        )
    }
}

/// A complete HTML5 document for one job. A job that can still change also names its stream
/// (`{id}/events`) and where the stream should start (`{last log seq}.{last audit id}`), so the
/// page's script follows it; a finished job's page is a plain snapshot.
pub fn render_job_page(job: &JobView, now: DateTime<Utc>) -> String {
    let live = !job.is_final();
    let cursor = super::JobCursor {
        log: job.log.last().map_or(0, |l| l.seq),
        audit: job.audit.last().map_or(0, |e| e.id),
    };
    let body = html! {
        div.top {
            span.muted { "warden · job page · read-only" } " "
            @if live {
                span #live-state .live { "snapshot" }
            } @else {
                span #live-state .live { "finished" }
            }
        }
        div #notice .notice {}
        (summary(job, now))
        h2 { "Arguments" }
        (arguments(&job.args))
        h2 { "Log " (log_count(job.log.len())) }
        pre #log .log { @for line in &job.log { (log_line(line)) } }
        p.log-empty.empty { "No log lines yet." }
        h2 { "Audit trail" }
        ol #audit .events { @for event in &job.audit { (audit_event(event, now)) } }
        @if job.audit.is_empty() { p.empty { "No audit events." } }
    };
    document(
        Shell {
            title: &format!("J-{} {}", job.id, job.command),
            depth: Depth::Nested,
            stream: live.then(|| format!("{}/events", job.id)),
            cursor: live.then(|| cursor.to_string()),
        },
        body,
    )
}

/// The part of the page that changes with the job's status: title and badge, facts, outcome
/// and timeline. The stream replaces it whole when the status changes.
pub(super) fn summary(job: &JobView, now: DateTime<Utc>) -> Markup {
    let approvers = if job.approvers.is_empty() {
        "none".to_owned()
    } else {
        job.approvers.join(", ")
    };
    html! {
        section #summary {
            h1 {
                span { "J-" (job.id) } " " code { (job.command) } " "
                span class=(status_class(&job.status)) { (status_text(&job.status)) }
                @if job.dry_run { " " span.badge.dry { "dry run" } }
            }
            p.muted {
                "Requested by " strong { (job.requester) } " in tenant " strong { (job.tenant) }
                ", environment " strong { (job.environment.as_deref().unwrap_or("none")) } "."
            }
            (outcome(job))
            dl.facts {
                dt { "Tenant" } dd { (job.tenant) }
                dt { "Requester" } dd { (job.requester) }
                dt { "Environment" } dd { (job.environment.as_deref().unwrap_or("none")) }
                dt { "Approvers" } dd { (approvers) }
                dt { "Reason" } dd { (job.reason.as_deref().unwrap_or("none given")) }
                dt { "Dry run" } dd { (if job.dry_run { "yes" } else { "no" }) }
                dt { "Attempt" } dd { (job.attempt) }
                // Only a web link is made clickable: anything else in the column is not a link
                // warden made.
                @if let Some(link) = job.thread_link.as_deref().filter(|l| l.starts_with("https://") || l.starts_with("http://")) {
                    dt { "Thread" } dd { a href=(link) { "the conversation in chat" } }
                }
            }
            h2 { "Timeline" }
            (timeline(job, now))
        }
    }
}

/// The outcome in its own colour: a success is green and titled "Succeeded", never "Error".
fn outcome(job: &JobView) -> Markup {
    let Some(text) = job.error.as_deref() else {
        return html! {};
    };
    let (class, title) = match job.status.as_str() {
        "succeeded" => ("outcome ok", "Succeeded"),
        "failed" => ("outcome bad", "Failed"),
        "timed_out" => ("outcome bad", "Timed out"),
        "cancelled" => ("outcome warn", "Cancelled"),
        // Queued or running again after a failed attempt: the text is that attempt's end.
        _ => ("outcome warn", "Previous attempt"),
    };
    html! {
        div class=(class) { h2 { (title) } p { (text) } }
    }
}

fn arguments(args: &[(String, String)]) -> Markup {
    html! {
        @if args.is_empty() {
            p.empty { "No arguments." }
        } @else {
            table.args {
                thead { tr { th { "Name" } th { "Value" } } }
                tbody {
                    @for (name, value) in args {
                        tr { td { code { (name) } } td { code { (value) } } }
                    }
                }
            }
        }
    }
}

fn timeline(job: &JobView, now: DateTime<Utc>) -> Markup {
    let created = parse_time(&job.created_at);
    let started = job.started_at.as_deref().and_then(parse_time);
    let finished = job.finished_at.as_deref().and_then(parse_time);
    let queued = match (created, started) {
        (Some(c), Some(s)) => format!("{} in queue", human_duration(s - c)),
        _ => String::new(),
    };
    // A job cancelled while queued never started, so its run is measured from creation.
    let ran = match (started, created, finished) {
        (Some(from), _, Some(to)) => format!("ran {}", human_duration(to - from)),
        (None, Some(from), Some(to)) => format!("{} after creation", human_duration(to - from)),
        (Some(from), _, None) => format!("running for {}", human_duration(now - from)),
        _ => String::new(),
    };
    let not_started = if job.finished_at.is_some() {
        "never"
    } else {
        "not yet"
    };
    html! {
        table.timeline {
            thead { tr { th { "Step" } th { "Time" } th { "Duration" } } }
            tbody {
                tr { td { "Created" } td { (moment(&job.created_at, now)) } td {} }
                tr {
                    td { "Started" }
                    td { @match &job.started_at { Some(t) => (moment(t, now)), None => (not_started) } }
                    td { (queued) }
                }
                tr {
                    td { "Finished" }
                    td { @match &job.finished_at { Some(t) => (moment(t, now)), None => "not yet" } }
                    td { (ran) }
                }
                @if let (Some(c), Some(f)) = (created, finished) {
                    tr { td { "Total" } td {} td { (human_duration(f - c)) } }
                }
            }
        }
    }
}

/// `(3 lines)`, in a span the stream replaces as lines arrive.
pub(super) fn log_count(lines: usize) -> Markup {
    let text = match lines {
        1 => "1 line".to_owned(),
        n => format!("{n} lines"),
    };
    html! { span #log-count .muted data-lines=(lines) { "(" (text) ")" } }
}

/// One log line. Each carries a visible stream tag as well as a class, so stderr stays marked
/// when the log is copied as plain text or read without styles.
pub(super) fn log_line(line: &LogLineView) -> Markup {
    let (class, tag) = match line.stream.as_str() {
        "stdout" => ("ln stdout", "out"),
        "stderr" => ("ln stderr", "err"),
        _ => ("ln info", "inf"),
    };
    let short = parse_time(&line.at)
        .map(|t| t.format("%H:%M:%S%.3f").to_string())
        .unwrap_or_else(|| line.at.clone());
    html! {
        span class=(class) title=(format::absolute(&line.at)) {
            span.ts { (short) } " " (tag) " " (line.text.trim_end_matches(['\n', '\r']))
        }
    }
}

/// One audit event: id, kind, actor and time, then its details as key/value pairs that wrap.
pub(super) fn audit_event(event: &AuditEvent, now: DateTime<Utc>) -> Markup {
    html! {
        li {
            div.when { strong { (event.display_id()) } br; (moment(&event.at, now)) }
            div {
                div.what { code { (event.kind) } span { "by " strong { (event.actor) } } span.muted { "on " (event.target) } }
                (format::details(&event.details))
            }
        }
    }
}
