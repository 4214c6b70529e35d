//! The chat messages about a job: the live job message and the failure alert.

use chrono::{DateTime, Utc};

use crate::chat::{Button, ButtonKind, Message};

use super::model::{Job, JobStatus, StoredLogLine};

/// How many log lines the live message shows.
pub const TAIL_LINES: usize = 5;

/// The command as typed, arguments as `name=value` (already redacted by the caller).
pub fn command_line(command: &str, args: &[(String, String)]) -> String {
    let mut line = command.to_string();
    for (name, value) in args {
        line.push_str(&format!(" {name}={value}"));
    }
    line
}

fn seconds_between(start: Option<&str>, end: Option<&str>, now: DateTime<Utc>) -> Option<f64> {
    let start = DateTime::parse_from_rfc3339(start?).ok()?;
    let end = match end {
        Some(end) => DateTime::parse_from_rfc3339(end).ok()?.with_timezone(&Utc),
        None => now,
    };
    Some((end - start.with_timezone(&Utc)).num_milliseconds().max(0) as f64 / 1000.0)
}

/// How long the job ran (or has been running), e.g. `1.2 s`, once it started.
pub fn duration_text(job: &Job, now: DateTime<Utc>) -> Option<String> {
    seconds_between(job.started_at.as_deref(), job.finished_at.as_deref(), now)
        .map(|secs| format!("{secs:.1} s"))
}

/// The reply in a job's thread when it reaches a final state: the outcome, how long it took
/// and the last log lines; a failure or time-out carries **Retry**.
pub fn outcome_reply(job: &Job, tail: &[StoredLogLine], now: DateTime<Utc>) -> Message {
    let id = job.display_id();
    let mut text = match job.status {
        JobStatus::Succeeded if job.dry_run => format!("{id}: the dry run succeeded"),
        JobStatus::Succeeded => format!("{id} succeeded"),
        JobStatus::Failed => format!("{id} failed"),
        JobStatus::TimedOut => format!("{id} timed out"),
        JobStatus::Cancelled => format!("{id} was cancelled"),
        JobStatus::Queued | JobStatus::Running => format!("{id} is {}", job.status),
    };
    if let Some(took) = duration_text(job, now) {
        let word = if job.status == JobStatus::Succeeded {
            " in "
        } else {
            " after "
        };
        text.push_str(word);
        text.push_str(&took);
    }
    if let Some(error) = &job.error {
        // A success's "error" is its summary (e.g. `HTTP 200 OK`).
        if job.status != JobStatus::Cancelled {
            text.push_str(&format!(": {error}"));
        }
    }
    let mut lines = vec![text];
    if !tail.is_empty() {
        lines.push("Last log lines:".to_string());
        push_tail(&mut lines, tail, TAIL_LINES * 2);
    }
    let buttons = match job.status {
        JobStatus::Failed | JobStatus::TimedOut => vec![Button::new(ButtonKind::Retry, id)],
        _ => Vec::new(),
    };
    Message {
        text: lines.join("\n"),
        buttons,
    }
}

/// The reply in a job's thread when it starts.
pub fn started_reply(job: &Job) -> Message {
    let mut text = format!("{} started", job.display_id());
    if job.max_attempts > 1 {
        text.push_str(&format!(" (attempt {}/{})", job.attempt, job.max_attempts));
    }
    if let (Some(first), 1) = (job.retry_of, job.attempt) {
        text.push_str(&format!(", retrying {}", super::display_id(first)));
    }
    Message {
        text,
        buttons: Vec::new(),
    }
}

/// The reply in a job's thread when an attempt failed and another follows.
pub fn requeued_reply(job: &Job) -> Message {
    Message {
        text: format!(
            "{} attempt {}/{} failed: {}; it will be tried again.",
            job.display_id(),
            job.attempt,
            job.max_attempts,
            job.error.as_deref().unwrap_or("unknown error")
        ),
        buttons: Vec::new(),
    }
}

/// A progress reply in a job's thread: the log lines since the last one (the newest
/// `TAIL_LINES * 2` of them).
pub fn progress_reply(job: &Job, lines: &[StoredLogLine]) -> Message {
    let mut text = vec![format!("{} is running:", job.display_id())];
    push_tail(&mut text, lines, TAIL_LINES * 2);
    Message {
        text: text.join("\n"),
        buttons: Vec::new(),
    }
}

fn push_tail(lines: &mut Vec<String>, tail: &[StoredLogLine], max: usize) {
    lines.push("```".to_string());
    for line in tail.iter().rev().take(max).rev() {
        // A fence inside a line would close the block early and let the rest pose as text.
        lines.push(line.text.replace("```", "'''"));
    }
    lines.push("```".to_string());
}

fn utc(at: &str) -> String {
    DateTime::parse_from_rfc3339(at)
        .map(|t| {
            t.with_timezone(&Utc)
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string()
        })
        .unwrap_or_else(|_| at.to_string())
}

/// The live message for a job: id, command, requester, status, timing, the last log lines and
/// the link to its page. `args` are the redacted arguments.
pub fn job_message(
    job: &Job,
    args: &[(String, String)],
    tail: &[StoredLogLine],
    link: &str,
    now: DateTime<Utc>,
) -> Message {
    let mut lines = Vec::new();
    let status = match (job.status, job.dry_run) {
        (JobStatus::Succeeded, true) => "dry run succeeded".to_string(),
        (status, true) => format!("{status} (dry run)"),
        (status, false) => status.to_string(),
    };
    lines.push(format!(
        "{} `{}`: {}",
        job.display_id(),
        command_line(&job.command, args),
        status
    ));
    let mut facts = vec![
        format!("requested by {}", job.requester),
        format!("created {}", utc(&job.created_at)),
    ];
    if let Some(env) = &job.environment {
        facts.push(format!("environment {env}"));
    }
    if job.max_attempts > 1 {
        facts.push(format!("attempt {}/{}", job.attempt, job.max_attempts));
    }
    if let Some(secs) = seconds_between(job.started_at.as_deref(), job.finished_at.as_deref(), now)
    {
        facts.push(format!("{secs:.1} s"));
    }
    if !job.approvers.is_empty() {
        facts.push(format!("approved by {}", job.approvers.join(", ")));
    }
    lines.push(facts.join(" · "));
    if let Some(reason) = &job.reason {
        lines.push(format!("Reason: {reason}"));
    }
    if let Some(error) = &job.error {
        if job.status.is_final() && job.status != JobStatus::Succeeded {
            lines.push(format!("Error: {error}"));
        }
    }
    if !tail.is_empty() {
        lines.push("```".to_string());
        for line in tail.iter().rev().take(TAIL_LINES).rev() {
            lines.push(line.text.replace("```", "'''"));
        }
        lines.push("```".to_string());
    }
    lines.push(format!("Details: {link}"));
    Message {
        text: lines.join("\n"),
        buttons: Vec::new(),
    }
}

/// The alert for a failed or timed-out job: command, arguments, requester, error, the last log
/// lines, the link, and a Retry button (guarded like the original command when clicked).
pub fn alert_message(
    job: &Job,
    args: &[(String, String)],
    tail: &[StoredLogLine],
    link: &str,
) -> Message {
    let mut lines = vec![format!(
        "ALERT: {} `{}` {} in tenant `{}`",
        job.display_id(),
        command_line(&job.command, args),
        match job.status {
            JobStatus::TimedOut => "timed out",
            _ => "failed",
        },
        job.tenant
    )];
    let mut facts = vec![format!("requested by {}", job.requester)];
    if let Some(started) = &job.started_at {
        facts.push(format!("started {}", utc(started)));
    }
    if let Some(finished) = &job.finished_at {
        facts.push(format!("ended {}", utc(finished)));
    }
    if job.max_attempts > 1 {
        facts.push(format!("attempt {}/{}", job.attempt, job.max_attempts));
    }
    lines.push(facts.join(" · "));
    lines.push(format!(
        "Error: {}",
        job.error.as_deref().unwrap_or("unknown error")
    ));
    if !tail.is_empty() {
        lines.push("Last log lines:".to_string());
        lines.push("```".to_string());
        for line in tail.iter().rev().take(TAIL_LINES * 2).rev() {
            lines.push(line.text.replace("```", "'''"));
        }
        lines.push("```".to_string());
    }
    lines.push(format!("Job page: {link}"));
    Message {
        text: lines.join("\n"),
        buttons: vec![Button::new(ButtonKind::Retry, job.display_id())],
    }
}
