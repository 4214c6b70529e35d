//! Votes on approval requests: an Approve click or a Deny with its reason, counted under the
//! frozen rule; the quorum creates the job (or grants the access) exactly once, on exactly the
//! plan the approvers saw.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::approvals::{self, Decision, Outcome, Policy};
use crate::audit::NewEvent;
use crate::chat::{Click, Invocation, Reply};
use crate::commands::args::{parse_args, RawArgs};
use crate::guard;
use crate::jobs::{display_id as job_display_id, NewJob};
use crate::policy;
use crate::storage::{ApprovalRecord, RuntimeBinding, Sealed, Tx};

use super::approvals::{rule_threads, scope_of, status_of, votes_of, Said};
use super::clicks::claim_click;
use super::{Handled, Service};

impl Service {
    /// An Approve click, or a Deny submitted with its reason.
    pub(super) async fn vote(
        &self,
        click: &Click,
        inv: &Invocation,
        tenant: &str,
        decision: Decision,
        deny_reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(Reply, Handled)> {
        let Some(id) = approvals::parse_id(&click.value) else {
            return Ok(no_request(&click.value));
        };
        let runtime = self.bindings.get(now).await;
        let mut tx = self.store.begin().await?;
        if let Some(answer) = claim_click(&mut tx, click, now).await? {
            return Ok(answer);
        }
        let Some(record) = tx.approval(id).await? else {
            tx.commit().await?;
            return Ok(no_request(&click.value));
        };
        let principal = policy::principal_for(&self.directory, tenant, &click.user);
        let voter = guard::actor_name(&principal);
        let grants = policy::grants_for(
            self.directory.bindings.iter().chain(runtime.iter()),
            &principal,
            now,
        );
        let rule: Policy = serde_json::from_str(&record.policy)?;
        let may = approvals::may_decide(&rule, &principal, &grants, &scope_of(&record));
        let votes = votes_of(&record);
        let request = approvals::Request {
            tenant: &record.tenant,
            requester: &record.requester,
            status: status_of(&record),
            policy: &rule,
            environment: record.environment.as_deref(),
            expires_ms: record.expires_ms,
            votes: &votes,
        };
        let outcome = approvals::decide(
            &request,
            tenant,
            &voter,
            may,
            decision,
            now.timestamp_millis(),
        );
        let a_id = approvals::display_id(id);
        // A click naming another tenant's request is answered as if the request did not
        // exist, and audited in the clicker's tenant, never in the other one.
        let audit_tenant = if record.tenant == tenant {
            record.tenant.clone()
        } else {
            tenant.to_string()
        };
        // The card the request is told on, so audit searches can link to its thread.
        let card = (record.tenant == tenant && rule_threads(&record))
            .then(|| super::approvals::approval_key(id));
        let event = |kind: &str, mut details: serde_json::Value| {
            if let (Some(card), Some(map)) = (&card, details.as_object_mut()) {
                map.insert("card".into(), card.clone().into());
            }
            NewEvent {
                tenant: audit_tenant.clone(),
                actor: voter.clone(),
                kind: kind.to_string(),
                target: a_id.clone(),
                channel: inv.channel.clone().unwrap_or_default(),
                request_id: inv.request_id.clone(),
                details,
            }
        };
        let decision_name = match decision {
            Decision::Approve => "approve",
            Decision::Deny => "deny",
        };
        match outcome {
            Outcome::Refused(refusal) => {
                tx.append_audit(
                    event(
                        "approval.refused",
                        json!({ "reason": refusal.to_string(), "decision": decision_name }),
                    ),
                    now,
                );
                tx.commit().await?;
                if record.tenant != tenant {
                    return Ok(no_request(&click.value));
                }
                Ok((
                    Reply::ephemeral(format!("Refused: {refusal}")),
                    Handled::Refused,
                ))
            }
            Outcome::Counted { approvals, needed } => {
                tx.add_vote(id, &voter, decision_name, now).await?;
                tx.append_audit(event("approval.voted", json!({ "decision": decision_name, "approvals": approvals, "needed": needed })), now);
                let said = Said::noting(format!("{voter} approved ({approvals} of {needed})"));
                self.enqueue_approval_update(&mut tx, id, Some(said), now)
                    .await?;
                tx.commit().await?;
                Ok((
                    Reply::ephemeral(format!(
                        "Your approval of {a_id} is recorded: {approvals} of {needed}."
                    )),
                    Handled::Ok,
                ))
            }
            Outcome::Denied => {
                tx.add_vote(id, &voter, decision_name, now).await?;
                tx.settle_approval(id, "denied", None, None, deny_reason, now)
                    .await?;
                tx.erase_sealed(Sealed::ApprovalSecrets, id).await?;
                tx.append_audit(
                    event("approval.denied", json!({ "reason": deny_reason })),
                    now,
                );
                let why = deny_reason.unwrap_or("no reason given");
                let note = Said::telling(format!(
                    "{a_id} was denied by {voter}: {why}. Nothing was run."
                ));
                self.enqueue_approval_update(&mut tx, id, Some(note), now)
                    .await?;
                tx.commit().await?;
                Ok((Reply::ephemeral(format!("You denied {a_id}.")), Handled::Ok))
            }
            Outcome::Approved { approvers } => {
                tx.add_vote(id, &voter, decision_name, now).await?;
                tx.append_audit(
                    event("approval.voted", json!({ "decision": "approve" })),
                    now,
                );
                let done = self.complete(&mut tx, &record, &approvers, now).await?;
                let needed = approvers.len();
                let last = format!("{voter} approved ({needed} of {needed}). ");
                let (text, note) = match &done {
                    Completed::Job(job) => (
                        format!("{a_id} is approved; {} queued.", job_display_id(*job)),
                        format!(
                            "{last}{a_id} was approved by {}; {} queued.",
                            approvers.join(", "),
                            job_display_id(*job)
                        ),
                    ),
                    Completed::Binding(b) => (
                        format!("{a_id} is approved; binding B-{b} granted."),
                        format!(
                            "{last}{a_id} was approved by {}; access granted (B-{b}).",
                            approvers.join(", ")
                        ),
                    ),
                    Completed::Stale(why) => (
                        format!("{a_id} is stale and was not run: {why}"),
                        format!("{a_id} is stale and was not run: {why}"),
                    ),
                };
                tx.append_audit(
                    event(
                        if matches!(done, Completed::Stale(_)) {
                            "approval.stale"
                        } else {
                            "approval.approved"
                        },
                        json!({ "approvers": approvers, "result": text }),
                    ),
                    now,
                );
                self.enqueue_approval_update(&mut tx, id, Some(Said::telling(note)), now)
                    .await?;
                tx.commit().await?;
                match done {
                    Completed::Job(_) => self.runner.wake(),
                    Completed::Binding(_) => self.bindings.invalidate().await,
                    Completed::Stale(_) => {}
                }
                Ok((Reply::ephemeral(text), Handled::Ok))
            }
        }
    }

    /// The quorum was reached: check that what would run is still exactly what was approved,
    /// then create the job (or grant the access) in this transaction. The status moves from
    /// pending by compare-and-set, so concurrent last votes create one job.
    async fn complete(
        &self,
        tx: &mut Tx,
        record: &ApprovalRecord,
        approvers: &[String],
        now: DateTime<Utc>,
    ) -> anyhow::Result<Completed> {
        if record.kind == "access" {
            let binding = access_binding(record, approvers)?;
            let id = tx.insert_binding(&binding, now).await?;
            anyhow::ensure!(
                tx.settle_approval(record.id, "approved", None, Some(id), None, now)
                    .await?,
                "the approval was decided concurrently"
            );
            tx.append_audit(
                NewEvent {
                    tenant: record.tenant.clone(),
                    actor: approvers.join(", "),
                    kind: "access.granted".into(),
                    target: format!("B-{id}"),
                    channel: record.channel.clone(),
                    request_id: record.request_id.clone(),
                    details: json!({ "subject": binding.subject, "role": binding.role, "environments": binding.environments, "expires_ms": binding.expires_ms, "approval": approvals::display_id(record.id) }),
                },
                now,
            );
            return Ok(Completed::Binding(id));
        }
        let stale = |why: String| why;
        // The secret values travel sealed from the request to the job; a request whose values
        // do not open ends stale, with the reason, and nothing runs.
        let secrets = match self
            .open_sealed(tx, Sealed::ApprovalSecrets, record.id)
            .await
        {
            Ok(secrets) => secrets,
            Err(why) => {
                tx.settle_approval(record.id, "stale", None, None, None, now)
                    .await?;
                tx.erase_sealed(Sealed::ApprovalSecrets, record.id).await?;
                return Ok(Completed::Stale(why));
            }
        };
        let checked = (|| {
            let spec = self.registry.get(&record.command).ok_or_else(|| {
                stale(format!("the command `{}` no longer exists", record.command))
            })?;
            let raw = RawArgs {
                positional: Vec::new(),
                named: crate::secrets::merge_secrets(&record.args, &secrets),
                dry_run: false,
                reason: record.reason.clone(),
            };
            let args = parse_args(spec, &raw)
                .map_err(|e| stale(format!("its arguments are no longer valid: {e}")))?;
            let plan = crate::actions::plan(spec, &args, false).map_err(stale)?;
            let hash = approvals::plan_hash(
                &record.command,
                &record.args,
                record.environment.as_deref(),
                &plan,
            );
            if hash != record.plan_hash {
                return Err(
                    "the command's definition or plan changed since it was approved".to_string(),
                );
            }
            Ok(spec)
        })();
        let spec = match checked {
            Ok(spec) => spec,
            Err(why) => {
                tx.settle_approval(record.id, "stale", None, None, None, now)
                    .await?;
                tx.erase_sealed(Sealed::ApprovalSecrets, record.id).await?;
                return Ok(Completed::Stale(why));
            }
        };
        // The values move into the job's seal; the request's copy goes.
        tx.erase_sealed(Sealed::ApprovalSecrets, record.id).await?;
        let job = NewJob {
            secrets,
            tenant: record.tenant.clone(),
            command: record.command.clone(),
            args: record.args.clone(),
            environment: record.environment.clone(),
            requester: record.requester.clone(),
            requester_user: record.requester_user.clone(),
            approvers: approvers.to_vec(),
            dry_run: false,
            reason: record.reason.clone(),
            channel: record.channel.clone(),
            max_attempts: 1 + spec.retries,
            retry_of: None,
            request_id: record.request_id.clone(),
            // The approvers' clicks come long after the request: its reply handle has expired.
            reply_to: None,
            // One card for the whole story: the job is told on the approval's card.
            card: rule_threads(record).then(|| super::approvals::approval_key(record.id)),
        };
        let job_id = tx.insert_job(&job, now).await?;
        if let Some(out) = self
            .runner
            .job_post(&job.queued(job_id, now.to_rfc3339()), now)
        {
            tx.enqueue(&out, now).await?;
        }
        anyhow::ensure!(
            tx.settle_approval(record.id, "approved", Some(job_id), None, None, now)
                .await?,
            "the approval was decided concurrently"
        );
        tx.append_audit(
            NewEvent {
                tenant: record.tenant.clone(),
                actor: record.requester.clone(),
                kind: "job.queued".into(),
                target: job_display_id(job_id),
                channel: record.channel.clone(),
                request_id: record.request_id.clone(),
                details: json!({ "command": record.command, "approval": approvals::display_id(record.id), "approvers": approvers }),
            },
            now,
        );
        Ok(Completed::Job(job_id))
    }
}

/// What a completed approval created.
enum Completed {
    Job(i64),
    Binding(i64),
    Stale(String),
}

/// The binding an approved access request grants.
fn access_binding(record: &ApprovalRecord, approvers: &[String]) -> anyhow::Result<RuntimeBinding> {
    let arg = |name: &str| {
        record
            .args
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| anyhow::anyhow!("access request without `{name}`"))
    };
    let seconds: i64 = arg("seconds")?.parse()?;
    Ok(RuntimeBinding {
        id: 0,
        tenant: record.tenant.clone(),
        subject: arg("subject")?,
        role: arg("role")?,
        environments: arg("environments")?
            .split(',')
            .map(str::to_string)
            .collect(),
        expires_ms: Utc::now().timestamp_millis() + seconds * 1000,
        source: "access".into(),
        granted_by: approvers.join(", "),
        reason: record.reason.clone().unwrap_or_default(),
    })
}

fn no_request(value: &str) -> (Reply, Handled) {
    (
        Reply::ephemeral(format!(
            "There is no pending request {value} in this tenant."
        )),
        Handled::Refused,
    )
}
