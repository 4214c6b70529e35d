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
        buttons: vec![Button {
            kind: ButtonKind::Retry,
            value: job.display_id(),
        }],
    }
}
