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
        retry_of: Option<i64>,
    ) -> NewJob {
        NewJob {
            tenant: accepted.tenant.clone(),
            command: accepted.spec.name.clone(),
            args: accepted.args.as_strings(),
            environment: accepted.environment.clone(),
            requester: guard::actor_name(&accepted.principal),
            requester_user: inv.user.to_string(),
            approvers: Vec::new(),
            dry_run: accepted.args.dry_run,
            reason: accepted.args.reason.clone(),
            channel: inv.channel.clone().unwrap_or_default(),
            max_attempts: 1 + accepted.spec.retries,
            retry_of,
            request_id: inv.request_id.clone(),
            reply_to: inv.reply.clone(),
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
        Ok(NewConfirmation {
            tenant: accepted.tenant.clone(),
            command: accepted.spec.name.clone(),
            args: accepted.args.as_strings(),
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
                    Button {
                        kind: ButtonKind::Confirm,
                        value: format!("C-{id}"),
                    },
                    Button {
                        kind: ButtonKind::Cancel,
                        value: format!("C-{id}"),
                    },
                ];
                reply
            }
            (Next::NeedsApproval, Some(id)) => {
                let rule = accepted.spec.approval.as_ref();
                let policy = rule.map(crate::approvals::Policy::from_spec);
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
