//! The approval request message, in the style of the job message (`jobs::render`): a headline
//! with the id and the command, a line of facts, the reason, the plan, then where it stands.

use chrono::{DateTime, Utc};

use crate::chat::{Button, ButtonKind, Message};
use crate::jobs::render::command_line;

use super::{display_id, Decision, Policy, Status, Vote};

/// Everything the request message shows. `args` are already redacted by the caller.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    /// The approval id (shown as `A-17`).
    pub id: i64,
    /// The command name.
    pub command: &'a str,
    /// The arguments as `(name, value)`, redacted.
    pub args: &'a [(String, String)],
    /// The environment of the command, if it has one.
    pub environment: Option<&'a str>,
    /// Who asked (actor name).
    pub requester: &'a str,
    /// Why they asked.
    pub reason: Option<&'a str>,
    /// The dry-run plan approvers sign off on; empty when the command has none.
    pub plan: &'a str,
    /// The rule frozen with the request.
    pub policy: &'a Policy,
    /// Where it stands.
    pub status: Status,
    /// The votes, oldest first.
    pub votes: &'a [Vote],
    /// When it expires, RFC 3339.
    pub expires_at: &'a str,
    /// Why it was denied, from the Deny modal.
    pub deny_reason: Option<&'a str>,
    /// The job created on approval.
    pub job: Option<i64>,
    /// A link to the job or request page.
    pub link: Option<&'a str>,
}

/// The request message posted in the channel and updated in place as it is decided. Approve and
/// Deny buttons (valued with the approval id) are shown only while it is pending, so a decided
/// request offers nothing to click.
pub fn request_message(view: &RequestView<'_>) -> Message {
    let id = display_id(view.id);
    let mut lines = vec![format!(
        "{id}: {} asks to run `{}`",
        view.requester,
        command_line(view.command, view.args)
    )];
    let mut facts = vec![format!("requested by {}", view.requester)];
    if let Some(env) = view.environment {
        facts.push(format!("environment {env}"));
    }
    lines.push(facts.join(" · "));
    if let Some(reason) = view.reason {
        lines.push(format!("Reason: {reason}"));
    }
    if !view.plan.trim().is_empty() {
        lines.push("```".to_string());
        // A fence inside the plan would close the block early and let the rest pose as text.
        lines.push(view.plan.trim_end().replace("```", "'''"));
        lines.push("```".to_string());
    }
    let approvals = approvals_line(view.policy, view.votes);
    match view.status {
        Status::Pending => {
            lines.push(approvals);
            lines.push(format!("Expires {}", clock(view.expires_at)));
        }
        Status::Approved => {
            let mut line = format!("Approved by {}", signed(view.votes, Decision::Approve));
            if let Some(job) = view.job {
                line.push_str(&format!(" → {} queued", crate::jobs::display_id(job)));
            }
            lines.push(line);
        }
        Status::Denied => {
            let mut line = format!("Denied by {}", signed(view.votes, Decision::Deny));
            if let Some(reason) = view.deny_reason {
                line.push_str(&format!(": {reason}"));
            }
            lines.push(line);
        }
        Status::Expired => {
            lines.push(approvals);
            lines.push(format!(
                "expired at {}; nothing was run",
                clock(view.expires_at)
            ));
        }
        Status::Stale => {
            lines.push(approvals);
            lines.push(
                "stale: the command changed since it was requested; nothing was run".to_string(),
            );
        }
    }
    lines.push(format!("Needs {}", view.policy.describe()));
    if let Some(link) = view.link {
        lines.push(format!("Details: {link}"));
    }
    let buttons = if view.status == Status::Pending {
        [ButtonKind::Approve, ButtonKind::Deny]
            .into_iter()
            .map(|kind| Button::new(kind, id.clone()))
            .collect()
    } else {
        Vec::new()
    };
    Message {
        text: lines.join("\n"),
        buttons,
    }
}

/// `Approvals: 1 of 2 (bob at 12:01 UTC)`.
fn approvals_line(policy: &Policy, votes: &[Vote]) -> String {
    let count = votes
        .iter()
        .filter(|v| v.decision == Decision::Approve)
        .count();
    let mut line = format!("Approvals: {count} of {}", policy.needed.max(1));
    if count > 0 {
        line.push_str(&format!(" ({})", signed(votes, Decision::Approve)));
    }
    line
}

/// `bob at 12:01 UTC, carol at 12:05 UTC` for the votes with `decision`.
fn signed(votes: &[Vote], decision: Decision) -> String {
    let names: Vec<String> = votes
        .iter()
        .filter(|v| v.decision == decision)
        .map(|v| format!("{} at {}", v.voter, clock(&v.at)))
        .collect();
    if names.is_empty() {
        // Only reachable with a damaged row; say so rather than print an empty name.
        "(unknown)".to_string()
    } else {
        names.join(", ")
    }
}

/// `12:01 UTC` for an RFC 3339 time; the text unchanged if it does not parse, so a damaged
/// value still shows something.
fn clock(at: &str) -> String {
    DateTime::parse_from_rfc3339(at)
        .map(|t| t.with_timezone(&Utc).format("%H:%M UTC").to_string())
        .unwrap_or_else(|_| at.to_string())
}
