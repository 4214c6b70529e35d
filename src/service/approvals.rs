//! Approvals: the request, the votes (Approve clicks, Deny with a reason), the quorum that
//! creates the job exactly once on exactly the plan the approvers saw, and expiry.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

use crate::approvals::{self, Decision, Outcome, Policy, RequestView, Status, Vote};
use crate::audit::NewEvent;
use crate::chat::{Click, Invocation, Message, Reply};
use crate::guard::{self, Accepted};
use crate::model::ChannelRef;
use crate::outbox::{Card, Delivery, Outbound};
use crate::policy;
use crate::storage::{ApprovalRecord, NewApproval, Tx};
use crate::threads;

use super::Service;

/// The environments a decider by role must hold the role in (see
/// [`approvals::covered_environments`]).
pub(super) fn scope_of(record: &ApprovalRecord) -> Vec<String> {
    approvals::covered_environments(&record.kind, record.environment.as_deref(), &record.args)
}

pub(super) fn status_of(record: &ApprovalRecord) -> Status {
    Status::parse(&record.status).unwrap_or(Status::Pending)
}

pub(super) fn votes_of(record: &ApprovalRecord) -> Vec<Vote> {
    record
        .votes
        .iter()
        .map(|(voter, decision, at)| Vote {
            voter: voter.clone(),
            decision: if decision == "deny" {
                Decision::Deny
            } else {
                Decision::Approve
            },
            at: at.clone(),
        })
        .collect()
}

impl Service {
    /// The approval request for an accepted command whose `[approval]` rule matched.
    pub(super) fn new_approval(
        &self,
        inv: &Invocation,
        accepted: &Accepted<'_>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<NewApproval> {
        let spec = accepted.spec;
        let rule = spec
            .approval
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("{} has no approval rule", spec.name))?;
        // The hash covers the arguments as stored, secret values redacted: approvers never
        // see those values, and a hash of them must not be stored either.
        let (args, secrets) = super::accepted::split_args(accepted);
        let plan = crate::actions::plan(spec, &accepted.args, false)
            .map_err(|problem| anyhow::anyhow!("cannot describe the plan: {problem}"))?;
        let plan_hash =
            approvals::plan_hash(&spec.name, &args, accepted.environment.as_deref(), &plan);
        Ok(NewApproval {
            secrets,
            tenant: accepted.tenant.clone(),
            kind: "command".into(),
            command: spec.name.clone(),
            args,
            environment: accepted.environment.clone(),
            reason: accepted.args.reason.clone(),
            requester: guard::actor_name(&accepted.principal),
            requester_user: inv.user.to_string(),
            channel: inv.channel.clone().unwrap_or_default(),
            plan,
            plan_hash,
            policy: serde_json::to_string(&Policy::from_spec(rule, spec.thread, spec.remind))?,
            expires_ms: now.timestamp_millis() + rule.expires_in.as_millis() as i64,
            request_id: inv.request_id.clone(),
        })
    }

    /// The request message of an approval, as it stands.
    pub(super) fn approval_message(&self, record: &ApprovalRecord) -> Message {
        let policy: Policy = serde_json::from_str(&record.policy).unwrap_or(Policy {
            needed: 1,
            approvers: Vec::new(),
            approver_role: None,
            allow_self: false,
            thread: true,
            remind: false,
        });
        let shown = self.shown(&record.command, &record.args);
        let votes = votes_of(record);
        let expires_at = Utc
            .timestamp_millis_opt(record.expires_ms)
            .single()
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        let link = record
            .job_id
            .map(|id| self.runner.links.job(&record.tenant, id));
        approvals::request_message(&RequestView {
            id: record.id,
            command: &record.command,
            args: &shown,
            environment: record.environment.as_deref(),
            requester: &record.requester,
            reason: record.reason.as_deref(),
            plan: &record.plan,
            policy: &policy,
            status: status_of(record),
            votes: &votes,
            expires_at: &expires_at,
            deny_reason: record.deny_reason.as_deref(),
            job: record.job_id,
            link: link.as_deref(),
        })
    }

    /// Arguments as people may see them, by the command's current definition (every value is
    /// hidden when the command is gone, since nothing says which were secret).
    pub(super) fn shown(&self, command: &str, args: &[(String, String)]) -> Vec<(String, String)> {
        let spec = self.registry.get(command);
        args.iter()
            .map(|(name, value)| {
                let secret =
                    command != "access" && spec.and_then(|s| s.arg(name)).is_none_or(|a| a.secret);
                let value = if secret {
                    crate::commands::args::REDACTED.to_string()
                } else {
                    value.clone()
                };
                (name.clone(), value)
            })
            .collect()
    }

    /// The outbox row that posts a new request's message in the channel where it was asked,
    /// remembered under `approval:N` so votes can edit it in place.
    pub(super) fn approval_post(
        &self,
        id: i64,
        a: &NewApproval,
        now: DateTime<Utc>,
    ) -> Option<Outbound> {
        let channel: ChannelRef = a.channel.parse().ok()?;
        let record = ApprovalRecord {
            id,
            tenant: a.tenant.clone(),
            kind: a.kind.clone(),
            command: a.command.clone(),
            args: a.args.clone(),
            environment: a.environment.clone(),
            reason: a.reason.clone(),
            requester: a.requester.clone(),
            requester_user: a.requester_user.clone(),
            channel: a.channel.clone(),
            plan: a.plan.clone(),
            plan_hash: a.plan_hash.clone(),
            policy: a.policy.clone(),
            status: "pending".into(),
            created_at: now.to_rfc3339(),
            expires_ms: a.expires_ms,
            decided_at: None,
            deny_reason: None,
            job_id: None,
            binding_id: None,
            message: None,
            request_id: a.request_id.clone(),
            votes: Vec::new(),
        };
        Some(Outbound {
            tenant: a.tenant.clone(),
            delivery: Delivery::Post {
                channel,
                key: Some(approval_key(id)),
                fallback: None,
                thread: None,
            },
            message: self.approval_message(&record),
            important: true,
        })
    }

    /// Adds to `tx` the update of the request's card as it now stands (read inside `tx`, so
    /// it shows this transaction's vote or decision) and what is `said` about it: in the
    /// card's thread, mentioning the requester when `said.tell_requester` (SPEC §13); or, for
    /// a command with `thread = false`, a top-level note to the requester when they are to be
    /// told, and nothing for a mere vote.
    pub(super) async fn enqueue_approval_update(
        &self,
        tx: &mut Tx,
        id: i64,
        said: Option<Said>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let Some(record) = tx.approval(id).await? else {
            return Ok(());
        };
        let Ok(channel) = record.channel.parse::<ChannelRef>() else {
            return Ok(());
        };
        tx.enqueue(
            &Outbound {
                tenant: record.tenant.clone(),
                delivery: Delivery::Update {
                    channel: channel.clone(),
                    key: approval_key(id),
                },
                message: self.approval_message(&record),
                important: false,
            },
            now,
        )
        .await?;
        let Some(said) = said else {
            return Ok(());
        };
        if rule_threads(&record) {
            let mut mentions = Vec::new();
            let mut text = said.text;
            if said.tell_requester {
                match threads::mention(&record.requester_user, &channel) {
                    Some(user) => mentions.push(user),
                    None => text = format!("{}: {text}", record.requester),
                }
            }
            let out = threads::reply(
                &record.tenant,
                &channel,
                self.approval_card(&record, &channel),
                Message {
                    text,
                    buttons: Vec::new(),
                },
                mentions,
                false,
            );
            tx.enqueue(&out, now).await?;
        } else if said.tell_requester {
            tx.enqueue(
                &Outbound {
                    tenant: record.tenant.clone(),
                    delivery: Delivery::Post {
                        channel,
                        key: None,
                        fallback: None,
                        thread: None,
                    },
                    message: Message {
                        text: format!("{}: {}", record.requester, said.text),
                        buttons: Vec::new(),
                    },
                    important: true,
                },
                now,
            )
            .await?;
        }
        Ok(())
    }

    /// The card of an approval request (`approval:N`), titled like `A-7 deploy web`.
    pub(super) fn approval_card(&self, record: &ApprovalRecord, channel: &ChannelRef) -> Card {
        let shown = self.shown(&record.command, &record.args);
        threads::card(
            approval_key(record.id),
            threads::title(&approvals::display_id(record.id), &record.command, &shown),
            channel,
            self.guild_of(&record.tenant),
        )
    }

    /// The tenant's Discord guild, for message links.
    pub(super) fn guild_of(&self, tenant: &str) -> Option<&str> {
        self.directory
            .tenants
            .get(tenant)
            .and_then(|t| t.discord_guild.as_deref())
    }

    /// Marks every pending request whose time ran out as expired, updates its message and
    /// tells its requester. Returns how many expired.
    pub async fn expire_approvals(&self, now: DateTime<Utc>) -> anyhow::Result<usize> {
        let mut expired = 0;
        for id in self.store.expired_approvals(now).await? {
            let mut tx = self.store.begin().await?;
            let Some(record) = tx.approval(id).await? else {
                continue;
            };
            if !tx
                .settle_approval(id, "expired", None, None, None, now)
                .await?
            {
                continue;
            }
            tx.erase_sealed(crate::storage::Sealed::ApprovalSecrets, id)
                .await?;
            tx.append_audit(
                NewEvent {
                    tenant: record.tenant.clone(),
                    actor: "warden".into(),
                    kind: "approval.expired".into(),
                    target: approvals::display_id(id),
                    channel: record.channel.clone(),
                    request_id: record.request_id.clone(),
                    details: json!({ "command": record.command, "votes": record.votes.len() }),
                },
                now,
            );
            let a_id = approvals::display_id(id);
            let note = Said::telling(format!(
                "{a_id} expired before it was approved; nothing was run."
            ));
            self.enqueue_approval_update(&mut tx, id, Some(note), now)
                .await?;
            tx.commit().await?;
            expired += 1;
        }
        Ok(expired)
    }

    /// `approvals`: the pending requests the caller could decide now.
    pub(super) async fn approvals_builtin(
        &self,
        tenant: &str,
        principal: &policy::Principal,
        grants: &[policy::Grant],
        now: DateTime<Utc>,
    ) -> anyhow::Result<Reply> {
        let voter = guard::actor_name(principal);
        let mut lines = Vec::new();
        for record in self.store.pending_approvals(Some(tenant)).await? {
            let rule: Policy = match serde_json::from_str(&record.policy) {
                Ok(rule) => rule,
                Err(_) => continue,
            };
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
            let may = approvals::may_decide(&rule, principal, grants, &scope_of(&record));
            // Asking `decide` with a hypothetical Approve tells whether a click would count.
            if let Outcome::Refused(_) = approvals::decide(
                &request,
                tenant,
                &voter,
                may,
                Decision::Approve,
                now.timestamp_millis(),
            ) {
                continue;
            }
            let shown = self.shown(&record.command, &record.args);
            let approvals_so_far = votes
                .iter()
                .filter(|v| v.decision == Decision::Approve)
                .count();
            let mut line = format!(
                "{} `{}` by {} · {} of {} · expires {}",
                approvals::display_id(record.id),
                crate::jobs::render::command_line(&record.command, &shown),
                record.requester,
                approvals_so_far,
                rule.needed,
                Utc.timestamp_millis_opt(record.expires_ms)
                    .single()
                    .map(|t| t.format("%H:%M UTC").to_string())
                    .unwrap_or_default()
            );
            let posted = self.store.chat_message(&approval_key(record.id)).await?;
            if let Some(link) = posted.as_ref().and_then(|at| message_link(at, &record)) {
                line.push_str(&format!(" · {link}"));
            } else if let Some(at) = posted {
                line.push_str(&format!(" · in {}", at.channel));
            }
            lines.push(line);
        }
        Ok(Reply::ephemeral(if lines.is_empty() {
            "No pending approvals you can decide.".to_string()
        } else {
            format!("Pending approvals you can decide (click Approve or Deny on the request message):\n{}", lines.join("\n"))
        }))
    }

    /// Whether a Deny click may open the reason form: the same checks as a vote, without
    /// recording anything. `Err` is the refusal to show.
    pub(super) async fn may_deny(
        &self,
        click: &Click,
        tenant: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Result<i64, String>> {
        let Some(id) = approvals::parse_id(&click.value) else {
            return Ok(Err(format!(
                "There is no pending request {} in this tenant.",
                click.value
            )));
        };
        let Some(record) = self
            .store
            .approval(id)
            .await?
            .filter(|r| r.tenant == tenant)
        else {
            return Ok(Err(format!(
                "There is no pending request {} in this tenant.",
                click.value
            )));
        };
        let runtime = self.bindings.get(now).await;
        let principal = policy::principal_for(&self.directory, tenant, &click.user);
        let voter = guard::actor_name(&principal);
        let grants = policy::grants_for(
            self.directory.bindings.iter().chain(runtime.iter()),
            &principal,
            now,
        );
        let rule: Policy = serde_json::from_str(&record.policy)?;
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
        let may = approvals::may_decide(&rule, &principal, &grants, &scope_of(&record));
        Ok(
            match approvals::decide(
                &request,
                tenant,
                &voter,
                may,
                Decision::Deny,
                now.timestamp_millis(),
            ) {
                Outcome::Refused(refusal) => Err(format!("Refused: {refusal}")),
                _ => Ok(id),
            },
        )
    }
}

/// The key of an approval request's message in the outbox.
pub(super) fn approval_key(id: i64) -> String {
    format!("approval:{id}")
}

/// A link that opens the request message: Slack's archive permalink, or Discord's message URL
/// (which needs the guild, taken from the requester's identity).
fn message_link(at: &crate::chat::MessageRef, record: &ApprovalRecord) -> Option<String> {
    match at.channel.platform {
        crate::model::Platform::Slack => Some(format!(
            "https://slack.com/archives/{}/p{}",
            at.channel.id,
            at.id.replace('.', "")
        )),
        crate::model::Platform::Discord => {
            let guild = record
                .requester_user
                .strip_prefix("discord:")?
                .split('/')
                .next()?;
            Some(format!(
                "https://discord.com/channels/{guild}/{}/{}",
                at.channel.id, at.id
            ))
        }
        crate::model::Platform::Console => None,
    }
}

/// Whether a request's story is told in a thread (frozen with its rule; see `Policy::thread`).
pub(super) fn rule_threads(record: &ApprovalRecord) -> bool {
    serde_json::from_str::<Policy>(&record.policy).is_ok_and(|p| p.thread)
}

/// What is said about a request in its thread (or, flat, to its requester).
#[derive(Debug, Clone)]
pub(super) struct Said {
    /// The words.
    pub text: String,
    /// Mention (or name) the requester: the request was decided or expired.
    pub tell_requester: bool,
}

impl Said {
    /// Said to the requester.
    pub fn telling(text: String) -> Said {
        Said {
            text,
            tell_requester: true,
        }
    }

    /// Said in the thread only (a vote).
    pub fn noting(text: String) -> Said {
        Said {
            text,
            tell_requester: false,
        }
    }
}
