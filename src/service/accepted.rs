//! What an accepted command creates, and what its requester is told.

use chrono::{DateTime, Utc};

use crate::chat::{Button, ButtonKind, Invocation, Reply};
use crate::guard::{self, Accepted, Next};
use crate::jobs::{display_id, render, NewJob};
use crate::storage::NewConfirmation;

use super::Service;

/// How long the requester of a high-risk command has to click Confirm.
pub const CONFIRM_WINDOW_SECS: i64 = 300;

impl Service {
    pub(super) fn new_job(
        &self,
        inv: &Invocation,
        accepted: &Accepted<'_>,
        retry_of: Option<&crate::jobs::Job>,
    ) -> NewJob {
        // A retry keeps the story in its first job's thread (SPEC §13): same card, same
        // channel, wherever the Retry was clicked.
        let inherited = retry_of.filter(|_| accepted.spec.thread);
        let (args, secrets) = split_args(accepted);
        NewJob {
            secrets,
            tenant: accepted.tenant.clone(),
            command: accepted.spec.name.clone(),
            args,
            environment: accepted.environment.clone(),
            requester: guard::actor_name(&accepted.principal),
            requester_user: inv.user.to_string(),
            approvers: Vec::new(),
            dry_run: accepted.args.dry_run,
            reason: accepted.args.reason.clone(),
            channel: match inherited {
                Some(first) if !first.channel.is_empty() => first.channel.clone(),
                _ => inv.channel.clone().unwrap_or_default(),
            },
            max_attempts: 1 + accepted.spec.retries,
            retry_of: retry_of.map(|job| job.id),
            request_id: inv.request_id.clone(),
            reply_to: inv.reply.clone(),
            card: inherited.map(|first| first.card_key()),
        }
    }

    pub(super) fn new_confirmation(
        &self,
        inv: &Invocation,
        accepted: &Accepted<'_>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<NewConfirmation> {
        let plan = crate::actions::plan(accepted.spec, &accepted.args, false)
            .map_err(|problem| anyhow::anyhow!("cannot describe the plan: {problem}"))?;
        let (args, secrets) = split_args(accepted);
        Ok(NewConfirmation {
            secrets,
            tenant: accepted.tenant.clone(),
            command: accepted.spec.name.clone(),
            args,
            reason: accepted.args.reason.clone(),
            requester: guard::actor_name(&accepted.principal),
            requester_user: inv.user.to_string(),
            channel: inv.channel.clone().unwrap_or_default(),
            plan,
            expires_ms: now.timestamp_millis() + CONFIRM_WINDOW_SECS * 1000,
        })
    }

    /// What the requester sees once the command passed every check.
    pub(super) fn accepted_reply(
        &self,
        accepted: &Accepted<'_>,
        next: Next,
        created: Option<i64>,
    ) -> Reply {
        let shown = guard::shown_args(accepted);
        let line = format!(
            "{} {}",
            self.root,
            render::command_line(&accepted.spec.name, &shown)
        );
        match (next, created) {
            (Next::Run, Some(id)) => {
                let link = self.runner.links.job(&accepted.tenant, id);
                let what = if accepted.args.dry_run {
                    "dry run queued"
                } else {
                    "queued"
                };
                Reply::ephemeral(format!(
                    "{} {what}: `{line}`. Its progress is posted in this channel.\nJob page: {link}",
                    display_id(id)
                ))
            }
            (Next::Confirm, Some(id)) => {
                let plan = crate::actions::plan(accepted.spec, &accepted.args, false)
                    .unwrap_or_else(|problem| problem);
                let mut reply = Reply::ephemeral(format!(
                    "`{line}` is high risk. This is exactly what will run:\n```\n{plan}\n```\nConfirm within {} minutes, or cancel. Only you can confirm it.",
                    CONFIRM_WINDOW_SECS / 60
                ));
                reply.buttons = vec![
                    Button::new(ButtonKind::Confirm, format!("C-{id}")),
                    Button::new(ButtonKind::Cancel, format!("C-{id}")),
                ];
                reply
            }
            (Next::NeedsApproval, Some(id)) => {
                let rule = accepted.spec.approval.as_ref();
                let spec = accepted.spec;
                let policy =
                    rule.map(|r| crate::approvals::Policy::from_spec(r, spec.thread, spec.remind));
                let expires = rule
                    .map(|r| {
                        (Utc::now() + chrono::Duration::from_std(r.expires_in).unwrap_or_default())
                            .format("%H:%M UTC")
                            .to_string()
                    })
                    .unwrap_or_default();
                Reply::ephemeral(format!(
                    "{} requested: `{line}` needs {} before it runs. The request is posted in this channel with Approve and Deny buttons; it expires at {expires}.",
                    crate::approvals::display_id(id),
                    policy.map(|p| p.describe()).unwrap_or_default(),
                ))
            }
            _ => Reply::ephemeral(guard::approval_pending_reply(accepted, &self.root)),
        }
    }
}

/// The accepted arguments as stored: secret values replaced by `[redacted]`, and the secret
/// values apart, to be sealed (SPEC §16).
pub(super) fn split_args(
    accepted: &Accepted<'_>,
) -> (Vec<(String, String)>, crate::secrets::SecretValues) {
    let spec = accepted.spec;
    crate::secrets::split_secrets(&accepted.args.as_strings(), |name| {
        spec.arg(name).is_some_and(|a| a.secret)
    })
}
