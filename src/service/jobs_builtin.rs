//! The `jobs` built-in: list, show, cancel and retry, each guarded.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::audit::NewEvent;
use crate::chat::{ArgsInput, Invocation, Reply};
use crate::commands::args::RawArgs;
use crate::guard::{self, JobsAction, JobsRequest};
use crate::jobs::{display_id, render, Job, JobStatus};
use crate::model::Role;
use crate::storage::Tx;

use super::{Handled, Service};

impl Service {
    pub(super) async fn jobs_builtin(
        &self,
        inv: &Invocation,
        request: JobsRequest,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(Reply, Handled)> {
        let tenant = request.tenant.as_str();
        match request.action {
            JobsAction::List => {
                let jobs = self.store.recent_jobs(tenant, 10).await?;
                if jobs.is_empty() {
                    return Ok((Reply::ephemeral("No jobs yet in this tenant."), Handled::Ok));
                }
                let mut lines = vec!["Recent jobs:".to_string()];
                for job in &jobs {
                    lines.push(format!(
                        "{} `{}` · {} · {} · {}",
                        job.display_id(),
                        render::command_line(&job.command, &self.runner.shown_args(job)),
                        job.status,
                        job.requester,
                        job.created_at
                    ));
                }
                Ok((Reply::ephemeral(lines.join("\n")), Handled::Ok))
            }
            JobsAction::Show(id) => {
                let Some(job) = self.tenant_job(tenant, id).await? else {
                    return Ok(not_found(id));
                };
                let tail = self.store.job_log(id, Some(10)).await?;
                let link = self.runner.links.job(tenant, id);
                let message =
                    render::job_message(&job, &self.runner.shown_args(&job), &tail, &link, now);
                Ok((Reply::ephemeral(message.text), Handled::Ok))
            }
            JobsAction::Cancel(id) => self.cancel(inv, &request, id, now).await,
            JobsAction::Retry(id) => {
                let Some(job) = self.tenant_job(tenant, id).await? else {
                    return Ok(not_found(id));
                };
                if let Some(refusal) = self.secrets_gone(&job) {
                    return Ok(refusal);
                }
                let retry = retry_invocation(inv, &job, None);
                // `handle_retry` reaches this function again for a `jobs` invocation, so the
                // recursive call is boxed.
                Box::pin(self.handle_retry(&retry, now, Some(id))).await
            }
        }
    }

    /// A job of this tenant; a job of another tenant is "not found", never shown.
    pub(super) async fn tenant_job(&self, tenant: &str, id: i64) -> anyhow::Result<Option<Job>> {
        Ok(self.store.job(id).await?.filter(|job| job.tenant == tenant))
    }

    async fn cancel(
        &self,
        inv: &Invocation,
        request: &JobsRequest,
        id: i64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(Reply, Handled)> {
        let tenant = request.tenant.as_str();
        let Some(job) = self.tenant_job(tenant, id).await? else {
            return Ok(not_found(id));
        };
        let actor = guard::actor_name(&request.principal);
        let is_admin = request.grants.iter().any(|g| g.role >= Role::Admin);
        if job.requester != actor && !is_admin {
            let refusal = guard::Refusal {
                step: guard::Step::Authorize,
                tenant: tenant.to_string(),
                actor,
                command: "jobs".into(),
                message: format!(
                    "only {} (who asked for {}) or an admin of this tenant may cancel it.",
                    job.requester,
                    job.display_id()
                ),
                details: json!({ "step": "authorize", "action": "cancel", "job": job.display_id() }),
            };
            self.record_refusal(inv, &refusal, now).await?;
            return Ok(self.refused(inv, &refusal));
        }
        let mut tx = self.store.begin().await?;
        let before = tx.cancel_job(tenant, id, now).await?;
        let text = match before {
            Some(JobStatus::Queued) => format!("{} was cancelled before it ran.", display_id(id)),
            Some(JobStatus::Running) => format!(
                "{} is being stopped; its message will show when it has.",
                display_id(id)
            ),
            Some(status) => format!(
                "{} already ended ({status}); nothing to cancel.",
                display_id(id)
            ),
            None => return Ok(not_found(id)),
        };
        if matches!(before, Some(JobStatus::Queued | JobStatus::Running)) {
            let kind = if before == Some(JobStatus::Queued) {
                "job.cancelled"
            } else {
                "job.cancel_requested"
            };
            tx.append_audit(
                NewEvent {
                    tenant: tenant.to_string(),
                    actor,
                    kind: kind.to_string(),
                    target: display_id(id),
                    channel: inv.channel.clone().unwrap_or_default(),
                    request_id: inv.request_id.clone(),
                    details: json!({ "status_before": before.map(|s| s.as_str()) }),
                },
                now,
            );
        }
        if before == Some(JobStatus::Queued) {
            // A queued job never reaches a runner, so its message is updated here, with the
            // cancellation.
            tx.erase_sealed(crate::storage::Sealed::JobSecrets, job.id)
                .await?;
            let mut job = job;
            job.status = JobStatus::Cancelled;
            job.error = Some("cancelled before it ran".into());
            job.finished_at = Some(now.to_rfc3339());
            self.runner
                .enqueue_show(
                    &mut tx,
                    &job,
                    &[],
                    crate::jobs::thread::Moment::Finished,
                    now,
                )
                .await?;
        }
        tx.commit().await?;
        Ok((Reply::ephemeral(text), Handled::Ok))
    }

    /// Writes a refusal decided outside the guard (job ownership, confirmation owner).
    pub(super) async fn record_refusal(
        &self,
        inv: &Invocation,
        refusal: &guard::Refusal,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let mut tx = self.store.begin().await?;
        Self::append_refusal(&mut tx, inv, refusal, now);
        tx.commit().await
    }

    /// [`Service::record_refusal`] for a request whose replay key nothing has claimed yet: the
    /// key is claimed in the same transaction. Returns false, recording nothing, for a replay.
    pub(super) async fn record_refusal_once(
        &self,
        inv: &Invocation,
        refusal: &guard::Refusal,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut tx = self.store.begin().await?;
        if !self.claim_replay_key(&mut tx, inv, now).await? {
            return Ok(false);
        }
        Self::append_refusal(&mut tx, inv, refusal, now);
        tx.commit().await?;
        Ok(true)
    }

    fn append_refusal(tx: &mut Tx, inv: &Invocation, refusal: &guard::Refusal, now: DateTime<Utc>) {
        let mut details = refusal.details.clone();
        details["platform"] = inv.platform.as_str().into();
        tx.append_audit(
            NewEvent {
                tenant: refusal.tenant.clone(),
                actor: refusal.actor.clone(),
                kind: "command.refused".into(),
                target: refusal.command.clone(),
                channel: inv.channel.clone().unwrap_or_default(),
                request_id: inv.request_id.clone(),
                details,
            },
            now,
        );
    }
}

/// The invocation that runs `job` again, as the person at `by` (its identity, channel and
/// request id), through the whole guard.
pub(super) fn retry_invocation(
    by: &Invocation,
    job: &Job,
    replay_key: Option<String>,
) -> Invocation {
    Invocation {
        request_id: by.request_id.clone(),
        transport: by.transport,
        platform: by.platform,
        workspace: by.workspace.clone(),
        user: by.user.clone(),
        user_name: by.user_name.clone(),
        channel: by
            .channel
            .clone()
            .or_else(|| Some(job.channel.clone()))
            .filter(|c| !c.is_empty()),
        command: job.command.clone(),
        input: ArgsInput::Structured(RawArgs {
            positional: Vec::new(),
            named: job.args.clone(),
            dry_run: job.dry_run,
            reason: job.reason.clone(),
        }),
        replay_key,
        reply: by.reply.clone(),
        thread: None,
    }
}

fn not_found(id: i64) -> (Reply, Handled) {
    (
        Reply::ephemeral(format!(
            "There is no job {} in this tenant.",
            display_id(id)
        )),
        Handled::Refused,
    )
}
