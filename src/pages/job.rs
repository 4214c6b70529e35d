//! The read-only job page: header, arguments, timeline, full log and audit trail of one job.

use std::fmt::Write as _;

use chrono::{DateTime, TimeDelta, Utc};

use super::{document, escape_html};
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
    /// Why it failed, timed out or was cancelled, if known.
    pub error: Option<String>,
    /// The job's log, oldest line first.
    pub log: Vec<LogLineView>,
    /// This job's audit trail, oldest first.
    pub audit: Vec<AuditEvent>,
}

/// One line of a job's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLineView {
    /// When the line was written, RFC 3339 UTC.
    pub at: String,
    /// `stdout`, `stderr` or `info` (warden's own notes, e.g. "attempt 2 started").
    pub stream: String,
    /// The text of the line, without its trailing newline.
    pub text: String,
}

/// A complete, self-contained HTML5 document for one job: a header with `J-{id}`, the command,
/// a status badge, requester and environment; the arguments; a timeline (created, started,
/// finished, with durations); the full log in a `<pre>` with per-line timestamps and stderr
/// lines marked; and the audit trail (E-n, time, actor, kind, details). Everything interpolated
/// is HTML-escaped. Times are shown in UTC.
pub fn render_job_page(job: &JobView) -> String {
    let mut body = String::with_capacity(4096 + job.log.len() * 96 + job.audit.len() * 256);
    header(&mut body, job);
    arguments(&mut body, job);
    timeline(&mut body, job);
    log(&mut body, &job.log);
    audit(&mut body, &job.audit);
    document(&format!("J-{} {}", job.id, job.command), &body)
}

// Writing into a `String` cannot fail, so the `fmt::Result`s of `write!` below are ignored.

fn header(out: &mut String, job: &JobView) {
    let e = escape_html;
    let _ = write!(
        out,
        "<header>\n<h1>J-{} <code>{}</code> <span class=\"badge {}\">{}</span>",
        job.id,
        e(&job.command),
        status_class(&job.status),
        e(&job.status)
    );
    if job.dry_run {
        out.push_str(" <span class=\"badge dry\">dry run</span>");
    }
    out.push_str("</h1>\n");
    let _ = writeln!(
        out,
        "<p class=\"muted\">Requested by <strong>{}</strong> in tenant <strong>{}</strong>, \
         environment <strong>{}</strong>.</p>\n</header>",
        e(&job.requester),
        e(&job.tenant),
        e(job.environment.as_deref().unwrap_or("none"))
    );
    let approvers = if job.approvers.is_empty() {
        "none".to_owned()
    } else {
        job.approvers.join(", ")
    };
    out.push_str("<dl>\n");
    let rows = [
        ("Tenant", job.tenant.as_str()),
        ("Requester", job.requester.as_str()),
        ("Environment", job.environment.as_deref().unwrap_or("none")),
        ("Approvers", approvers.as_str()),
        ("Reason", job.reason.as_deref().unwrap_or("none given")),
        ("Dry run", if job.dry_run { "yes" } else { "no" }),
    ];
    for (name, value) in rows {
        let _ = writeln!(out, "<dt>{name}</dt><dd>{}</dd>", e(value));
    }
    let _ = writeln!(out, "<dt>Attempt</dt><dd>{}</dd>\n</dl>", job.attempt);
    if let Some(error) = &job.error {
        let _ = writeln!(
            out,
            "<h2>Error</h2>\n<div class=\"error\">{}</div>",
            e(error)
        );
    }
}

fn arguments(out: &mut String, job: &JobView) {
    out.push_str("<h2>Arguments</h2>\n");
    if job.args.is_empty() {
        out.push_str("<p class=\"muted\">No arguments.</p>\n");
        return;
    }
    out.push_str("<table class=\"args\">\n<tr><th>Name</th><th>Value</th></tr>\n");
    for (name, value) in &job.args {
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td><code>{}</code></td></tr>",
            escape_html(name),
            escape_html(value)
        );
    }
    out.push_str("</table>\n");
}

fn timeline(out: &mut String, job: &JobView) {
    let created = parse_time(&job.created_at);
    let started = job.started_at.as_deref().and_then(parse_time);
    let finished = job.finished_at.as_deref().and_then(parse_time);
    let still = if job.finished_at.is_some() {
        "never"
    } else {
        "not yet"
    };

    out.push_str("<h2>Timeline</h2>\n<table class=\"timeline\">\n");
    out.push_str("<tr><th>Step</th><th>Time (UTC)</th><th>Duration</th></tr>\n");
    timeline_row(out, "Created", Some(&job.created_at), String::new());
    let queued = match (created, started) {
        (Some(c), Some(s)) => format!("{} in queue", human_duration(s - c)),
        _ => String::new(),
    };
    timeline_row(
        out,
        "Started",
        job.started_at.as_deref().or(Some(still)),
        queued,
    );
    // A job cancelled while queued never started, so its run is measured from creation.
    let ran = match (started.or(created), finished) {
        (Some(from), Some(to)) if started.is_some() => format!("ran {}", human_duration(to - from)),
        (Some(from), Some(to)) => format!("{} after creation", human_duration(to - from)),
        _ => String::new(),
    };
    let finished_text = job.finished_at.as_deref().unwrap_or("not yet");
    timeline_row(out, "Finished", Some(finished_text), ran);
    if let (Some(c), Some(f)) = (created, finished) {
        let total = human_duration(f - c);
        let _ = writeln!(out, "<tr><td>Total</td><td></td><td>{total}</td></tr>");
    }
    out.push_str("</table>\n");
}

fn timeline_row(out: &mut String, step: &str, time: Option<&str>, duration: String) {
    let time = time.map(display_time).unwrap_or_default();
    let _ = writeln!(
        out,
        "<tr><td>{step}</td><td>{}</td><td>{}</td></tr>",
        escape_html(&time),
        escape_html(&duration)
    );
}

fn log(out: &mut String, lines: &[LogLineView]) {
    let count = match lines.len() {
        1 => "1 line".to_owned(),
        n => format!("{n} lines"),
    };
    let _ = writeln!(out, "<h2>Log <span class=\"muted\">({count})</span></h2>");
    if lines.is_empty() {
        out.push_str("<p class=\"muted\">No log lines yet.</p>\n");
        return;
    }
    out.push_str("<pre class=\"log\">");
    for line in lines {
        // Each line carries a visible stream tag as well as a class, so stderr stays marked when
        // the log is copied as plain text or read without styles.
        let (class, tag) = match line.stream.as_str() {
            "stdout" => ("stdout", "out"),
            "stderr" => ("stderr", "err"),
            _ => ("info", "inf"),
        };
        let short = parse_time(&line.at)
            .map(|t| t.format("%H:%M:%S%.3f").to_string())
            .unwrap_or_else(|| line.at.clone());
        let _ = writeln!(
            out,
            "<span class=\"ln {class}\" title=\"{}\"><span class=\"ts\">{}</span> {tag} {}</span>",
            escape_html(&display_time(&line.at)),
            escape_html(&short),
            escape_html(line.text.trim_end_matches(['\n', '\r']))
        );
    }
    out.push_str("</pre>\n");
}

fn audit(out: &mut String, events: &[AuditEvent]) {
    out.push_str("<h2>Audit trail</h2>\n");
    if events.is_empty() {
        out.push_str("<p class=\"muted\">No audit events.</p>\n");
        return;
    }
    out.push_str("<table class=\"audit\">\n<tr><th>Event</th><th>Time (UTC)</th><th>Actor</th>");
    out.push_str("<th>Kind</th><th>Details</th></tr>\n");
    for event in events {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
            escape_html(&event.display_id()),
            escape_html(&display_time(&event.at)),
            escape_html(&event.actor),
            escape_html(&event.kind),
            escape_html(&event.details)
        );
    }
    out.push_str("</table>\n");
}

/// The badge class for a status. Only known statuses get their colour; the status text itself
/// never lands in an attribute.
fn status_class(status: &str) -> &'static str {
    match status {
        "queued" => "s-queued",
        "running" => "s-running",
        "succeeded" => "s-succeeded",
        "failed" => "s-failed",
        "timed_out" => "s-timed_out",
        "cancelled" => "s-cancelled",
        _ => "s-unknown",
    }
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A stored time as people read it, in UTC. Text that is not RFC 3339 is shown as it is rather
/// than hidden, so a storage bug stays visible.
fn display_time(text: &str) -> String {
    match parse_time(text) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        None => text.to_owned(),
    }
}

/// A duration as people read it: `350 ms`, `12s`, `4m 05s`, `2h 03m 00s`, `1d 2h 03m`.
pub(super) fn human_duration(d: TimeDelta) -> String {
    // Clock skew between replicas can make a later step look earlier; show zero, not nonsense.
    let ms = d.num_milliseconds().max(0);
    if ms < 1000 {
        return format!("{ms} ms");
    }
    let s = ms / 1000;
    let (days, hours, mins, secs) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, _) => format!("{mins}m {secs:02}s"),
        (0, _, _) => format!("{hours}h {mins:02}m {secs:02}s"),
        _ => format!("{days}d {hours}h {mins:02}m"),
    }
}
