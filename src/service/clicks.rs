//! Button clicks: Confirm / Cancel of a high-risk command (only its requester, within the
//! window, exactly once however many clicks arrive) and Retry of a failed job (guarded like
//! the original command, as the person clicking).

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::approvals::Decision;
use crate::audit::{NewEvent, SYSTEM_TENANT};
use crate::chat::message::{Modal, ModalSubmit};
use crate::chat::{ArgsInput, ButtonKind, Click, Invocation, Reply};
use crate::commands::args::RawArgs;
use crate::guard::{self, Context, Next, Prepared};
use crate::jobs::{display_id, parse_id};
use crate::policy;
use crate::storage::{Sealed, Tx};

use super::{Handled, Service, REPLAY_KEY_TTL_SECS};

/// The callback id of the Deny reason form.
pub const DENY_FORM: &str = "warden.deny";

/// What to do with a click: answer it, or open a form first (Deny asks for a reason).
#[derive(Debug)]
pub enum ClickAnswer {
    /// Tell the person who clicked.
    Reply(Reply, Handled),
    /// Open this form; its submission comes back through `Service::modal_submit`.
    Open(Modal),
}

impl Service {
    /// Handles one verified click and returns what to do.
    pub async fn click(&self, click: &Click, now: DateTime<Utc>) -> anyhow::Result<ClickAnswer> {
        if let Some(field) = click.nul_field() {
            return Ok(ClickAnswer::Reply(nul_refused(&field), Handled::Refused));
        }
        if click.kind == ButtonKind::Deny {
            return self.deny_form(click, now).await;
        }
        let (reply, handled) = self.click_reply(click, now).await?;
        Ok(ClickAnswer::Reply(reply, handled))
    }

    /// A Deny click opens the reason form, but only for someone whose Deny would count; anyone
    /// else is refused at once, without a form.
    async fn deny_form(&self, click: &Click, now: DateTime<Utc>) -> anyhow::Result<ClickAnswer> {
        let tenant = policy::tenant_for(&self.directory, click.platform, &click.workspace)
            .map(|t| t.name.clone());
        let Some(tenant) = tenant else {
            let (reply, handled) = self.click_reply(click, now).await?;
            return Ok(ClickAnswer::Reply(reply, handled));
        };
        match self.may_deny(click, &tenant, now).await? {
            Ok(id) => {
                let a_id = crate::approvals::display_id(id);
                Ok(ClickAnswer::Open(Modal {
                    callback_id: DENY_FORM.to_string(),
                    metadata: a_id.clone(),
                    title: format!("Deny {a_id}"),
                    prompt: "Why are you denying this request?".to_string(),
                    input_id: "reason".to_string(),
                    submit: "Deny".to_string(),
                }))
            }
            Err(text) => {
                let inv = click_invocation(click);
                let principal = policy::principal_for(&self.directory, &tenant, &click.user);
                let mut tx = self.store.begin().await?;
                audit(
                    &mut tx,
                    &inv,
                    &tenant,
                    &guard::actor_name(&principal),
                    "approval.refused",
                    &click.value,
                    json!({ "reason": text, "decision": "deny" }),
                    now,
                );
                tx.commit().await?;
                Ok(ClickAnswer::Reply(Reply::ephemeral(text), Handled::Refused))
            }
        }
    }

    /// A submitted form: the reason of a Deny.
    pub async fn modal_submit(
        &self,
        submit: &ModalSubmit,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(Reply, Handled)> {
        if submit.callback_id != DENY_FORM {
            return Ok((
                Reply::ephemeral("This form is not one of warden's; nothing was done."),
                Handled::Refused,
            ));
        }
        // A NUL cannot be stored (PostgreSQL refuses it), so a reason holding one is refused
        // here, like a reason that is too short, before anything is written.
        if let Some(field) = submit.nul_field() {
            return Ok((nul_refused(&field), Handled::InvalidForm));
        }
        let reason = submit
            .values
            .get("reason")
            .map(|r| r.trim())
            .unwrap_or_default();
        if reason.chars().count() < 3 {
            return Ok((
                Reply::ephemeral("Give a reason of at least 3 characters; nothing was done."),
                Handled::InvalidForm,
            ));
        }
        let click = Click {
            transport: crate::chat::Transport::Http,
            request_id: submit.request_id.clone(),
            platform: submit.platform,
            workspace: submit.workspace.clone(),
            user: submit.user.clone(),
            channel: submit.channel.clone(),
            kind: ButtonKind::Deny,
            value: submit.metadata.clone(),
            replay_key: submit.replay_key.clone(),
            message: None,
        };
        let Some(tenant) = policy::tenant_for(&self.directory, click.platform, &click.workspace)
            .map(|t| t.name.clone())
        else {
            return self.click_reply(&click, now).await;
        };
        let inv = click_invocation(&click);
        self.vote(&click, &inv, &tenant, Decision::Deny, Some(reason), now)
            .await
    }

    /// Every click but Deny's form.
    async fn click_reply(
        &self,
        click: &Click,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(Reply, Handled)> {
        let inv = click_invocation(click);
        let Some(tenant) = policy::tenant_for(&self.directory, click.platform, &click.workspace)
        else {
            let refusal = guard::Refusal {
                step: guard::Step::Tenant,
                tenant: SYSTEM_TENANT.into(),
                actor: click.user.to_string(),
                command: click.kind.label().to_lowercase(),
                message: format!(
                    "this workspace (`{}`) is not connected to warden.",
                    click.workspace
                ),
                details: json!({ "step": "tenant", "workspace": click.workspace, "button": click.kind.label() }),
            };
            self.record_refusal(&inv, &refusal, now).await?;
            return Ok(self.refused(&inv, &refusal));
        };
        let tenant = tenant.name.clone();
        match click.kind {
            ButtonKind::Confirm | ButtonKind::Cancel => {
                self.settle(click, &inv, &tenant, now).await
            }
            ButtonKind::Retry => {
                let job = match parse_id(&click.value) {
                    Some(id) => self.tenant_job(&tenant, id).await?,
                    None => None,
                };
                let Some(job) = job else {
                    return Ok((
                        Reply::ephemeral(format!(
                            "There is no job {} in this tenant.",
                            click.value
                        )),
                        Handled::Refused,
                    ));
                };
                if let Some(refusal) = self.secrets_gone(&job) {
                    return Ok(refusal);
                }
                let retry =
                    super::jobs_builtin::retry_invocation(&inv, &job, click.replay_key.clone());
                self.handle_retry(&retry, now, Some(job.id)).await
            }
            ButtonKind::Approve => {
                self.vote(click, &inv, &tenant, Decision::Approve, None, now)
                    .await
            }
            ButtonKind::Deny => {
                self.vote(click, &inv, &tenant, Decision::Deny, None, now)
                    .await
            }
            ButtonKind::AlertAction | ButtonKind::Silence => {
                self.alert_click(click, &inv, &tenant, now).await
            }
            // A link opens in the browser; the platforms send nothing back for it.
            ButtonKind::Link => Ok((Reply::ephemeral("Nothing to do."), Handled::Ok)),
        }
    }

    async fn settle(
        &self,
        click: &Click,
        inv: &Invocation,
        tenant: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(Reply, Handled)> {
        let mut tx = self.store.begin().await?;
        if let Some(answer) = claim_click(&mut tx, click, now).await? {
            return Ok(answer);
        }
        let confirmation = match click.value.strip_prefix("C-").and_then(|d| d.parse().ok()) {
            Some(id) => tx.confirmation(id).await?.filter(|c| c.tenant == tenant),
            None => None,
        };
        let Some(confirmation) = confirmation else {
            tx.commit().await?;
            return Ok((
                Reply::ephemeral(format!(
                    "There is no pending command {} in this tenant.",
                    click.value
                )),
                Handled::Refused,
            ));
        };
        let principal = policy::principal_for(&self.directory, tenant, &click.user);
        let actor = guard::actor_name(&principal);
        let label = click.kind.label().to_lowercase();
        if confirmation.requester_user != click.user.to_string() {
            let refusal = guard::Refusal {
                step: guard::Step::Authorize,
                tenant: tenant.to_string(),
                actor: actor.clone(),
                command: confirmation.command.clone(),
                message: format!(
                    "only {} can {label} {}: they typed the command.",
                    confirmation.requester, click.value
                ),
                details: json!({ "step": "confirm", "confirmation": click.value, "button": click.kind.label() }),
            };
            audit(
                &mut tx,
                inv,
                tenant,
                &actor,
                "command.refused",
                &confirmation.command,
                refusal.details.clone(),
                now,
            );
            tx.commit().await?;
            return Ok(self.refused(inv, &refusal));
        }
        if confirmation.status != "pending" {
            tx.commit().await?;
            return Ok((
                Reply::ephemeral(format!(
                    "{} was already {}.",
                    click.value, confirmation.status
                )),
                Handled::Ok,
            ));
        }
        // An expired prompt, or a Cancel, ends the confirmation without running anything.
        let ending = if now.timestamp_millis() > confirmation.expires_ms {
            Some((
                "expired",
                "confirmation.expired",
                click.value.clone(),
                json!({ "command": confirmation.command }),
                format!(
                    "{} expired before it was confirmed; nothing was run. Type the command again.",
                    click.value
                ),
                Handled::Refused,
            ))
        } else if click.kind == ButtonKind::Cancel {
            Some((
                "cancelled",
                "command.cancelled",
                confirmation.command.clone(),
                json!({ "confirmation": click.value }),
                format!("Cancelled `{}`; nothing was run.", confirmation.command),
                Handled::Ok,
            ))
        } else {
            None
        };
        if let Some((status, kind, target, details, text, handled)) = ending {
            tx.settle_confirmation(confirmation.id, status, None)
                .await?;
            tx.erase_sealed(Sealed::ConfirmationSecrets, confirmation.id)
                .await?;
            audit(&mut tx, inv, tenant, &actor, kind, &target, details, now);
            tx.commit().await?;
            return Ok((Reply::ephemeral(text), handled));
        }

        // Confirm: the whole guard runs again as of now (a role may have expired, the
        // definition may have changed), then the job is created in this same transaction. The
        // secret values come out of their seal for it, and go into the job's.
        let secrets = match self
            .open_sealed(&mut tx, Sealed::ConfirmationSecrets, confirmation.id)
            .await
        {
            Ok(secrets) => secrets,
            Err(why) => {
                tx.settle_confirmation(confirmation.id, "cancelled", None)
                    .await?;
                tx.erase_sealed(Sealed::ConfirmationSecrets, confirmation.id)
                    .await?;
                audit(
                    &mut tx,
                    inv,
                    tenant,
                    &actor,
                    "command.refused",
                    &confirmation.command,
                    json!({ "step": "confirm", "confirmation": click.value, "reason": why }),
                    now,
                );
                tx.commit().await?;
                return Ok((
                    Reply::ephemeral(format!(
                        "{} cannot run: {why}. Nothing was run; type the command again.",
                        click.value
                    )),
                    Handled::Refused,
                ));
            }
        };
        let again = Invocation {
            channel: Some(confirmation.channel.clone()).filter(|c| !c.is_empty()),
            command: confirmation.command.clone(),
            input: ArgsInput::Structured(RawArgs {
                positional: Vec::new(),
                named: crate::secrets::merge_secrets(&confirmation.args, &secrets),
                dry_run: false,
                reason: confirmation.reason.clone(),
            }),
            replay_key: None,
            ..inv.clone()
        };
        let runtime = self.bindings.get(now).await;
        let ctx = Context {
            directory: &self.directory,
            registry: &self.registry,
            root: &self.root,
            runtime_bindings: &runtime,
            can_seal: self.runner.keyring.is_some(),
            help_cache: Some(&self.help_cache),
        };
        let accepted = match guard::prepare(&ctx, &again, now) {
            Prepared::Accepted(accepted) => accepted,
            Prepared::Refused(refusal) => {
                tx.settle_confirmation(confirmation.id, "cancelled", None)
                    .await?;
                tx.erase_sealed(Sealed::ConfirmationSecrets, confirmation.id)
                    .await?;
                audit(
                    &mut tx,
                    inv,
                    tenant,
                    &actor,
                    "command.refused",
                    &confirmation.command,
                    refusal.details.clone(),
                    now,
                );
                tx.commit().await?;
                return Ok(self.refused(inv, &refusal));
            }
            _ => anyhow::bail!("a confirmation names a built-in command"),
        };
        let next = guard::next_step(&accepted, true);
        // Confirmed: the job runs, or, when the approval rule matches, the approval request is
        // created, in this same transaction.
        let (job_id, approval_id) = match next {
            Next::Run => {
                let job = self.new_job(&again, &accepted, None);
                let id = tx.insert_job(&job, now).await?;
                if let Some(out) = self.runner.job_post(&job.queued(id, now.to_rfc3339()), now) {
                    tx.enqueue(&out, now).await?;
                }
                (Some(id), None)
            }
            Next::NeedsApproval => {
                let approval = self.new_approval(&again, &accepted, now)?;
                let id = tx.insert_approval(&approval, now).await?;
                if let Some(out) = self.approval_post(id, &approval, now) {
                    tx.enqueue(&out, now).await?;
                }
                (None, Some(id))
            }
            Next::Confirm => (None, None),
        };
        tx.erase_sealed(Sealed::ConfirmationSecrets, confirmation.id)
            .await?;
        tx.settle_confirmation(confirmation.id, "confirmed", job_id)
            .await?;
        audit(
            &mut tx,
            inv,
            tenant,
            &actor,
            "command.confirmed",
            &confirmation.command,
            json!({ "confirmation": click.value, "job": job_id.map(display_id) }),
            now,
        );
        if let Some(id) = job_id {
            audit(
                &mut tx,
                inv,
                tenant,
                &actor,
                "job.queued",
                &display_id(id),
                json!({ "command": confirmation.command }),
                now,
            );
        }
        if let Some(id) = approval_id {
            audit(
                &mut tx,
                inv,
                tenant,
                &actor,
                "approval.requested",
                &crate::approvals::display_id(id),
                json!({ "command": confirmation.command }),
                now,
            );
        }
        tx.commit().await?;
        if job_id.is_some() {
            self.runner.wake();
        }
        let created = job_id.or(approval_id);
        Ok((self.accepted_reply(&accepted, next, created), Handled::Ok))
    }
}

#[allow(clippy::too_many_arguments)]
fn audit(
    tx: &mut Tx,
    inv: &Invocation,
    tenant: &str,
    actor: &str,
    kind: &str,
    target: &str,
    details: serde_json::Value,
    now: DateTime<Utc>,
) {
    tx.append_audit(
        NewEvent {
            tenant: tenant.to_string(),
            actor: actor.to_string(),
            kind: kind.to_string(),
            target: target.to_string(),
            channel: inv.channel.clone().unwrap_or_default(),
            request_id: inv.request_id.clone(),
            details,
        },
        now,
    );
}

/// Claims the click's replay key in `tx`; the answer to give instead when the click was
/// received before (a platform retry, a double click), so that it is acted on once.
pub(super) async fn claim_click(
    tx: &mut Tx,
    click: &Click,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<(Reply, Handled)>> {
    if let Some(key) = &click.replay_key {
        if !tx
            .claim_replay_key(key, now.timestamp() + REPLAY_KEY_TTL_SECS)
            .await?
        {
            return Ok(Some((
                Reply::ephemeral(
                    "This click was already received; warden does not act on it twice.",
                ),
                Handled::Replay,
            )));
        }
    }
    Ok(None)
}

/// The neutral invocation a click stands for (its identity, channel and request id), used for
/// refusals and audit events.
fn click_invocation(click: &Click) -> Invocation {
    Invocation {
        request_id: click.request_id.clone(),
        transport: click.transport,
        platform: click.platform,
        workspace: click.workspace.clone(),
        user: click.user.clone(),
        user_name: None,
        channel: click.channel.clone(),
        command: click.kind.label().to_lowercase(),
        input: ArgsInput::Text(String::new()),
        replay_key: click.replay_key.clone(),
        reply: None,
        thread: None,
    }
}

/// The answer to a click or form holding a NUL character: nothing is done or recorded.
fn nul_refused(field: &str) -> Reply {
    Reply::ephemeral(format!(
        "This request is refused: {field} contains a NUL character (\\0), which warden does not accept. Nothing was done."
    ))
}
