//! The one reminder of a pending approval (SPEC §13): when half of `expires_in` has passed, a
//! reply in the request's thread mentions the people who may still approve it and have a
//! linked identity on the card's platform; the others are named. Posted once across replicas
//! (a compare-and-set on `reminded_ms`); `remind = false` or `thread = false` turns it off.

use chrono::{DateTime, TimeZone, Utc};

use crate::approvals::{self, Decision, Policy};
use crate::chat::Message;
use crate::config::Binding;
use crate::model::{ChannelRef, Platform, Subject};
use crate::policy;
use crate::storage::ApprovalRecord;
use crate::threads;

use super::approvals::{scope_of, votes_of};
use super::Service;

impl Service {
    /// Posts the reminder of every pending request past half of its life that has none yet.
    /// Returns how many were posted.
    pub async fn remind_approvals(&self, now: DateTime<Utc>) -> anyhow::Result<usize> {
        let now_ms = now.timestamp_millis();
        let due: Vec<i64> = self
            .store
            .unreminded_approvals()
            .await?
            .into_iter()
            .filter(|(_, created_at, expires_ms)| {
                DateTime::parse_from_rfc3339(created_at).is_ok_and(|created| {
                    let created = created.timestamp_millis();
                    now_ms >= created + (expires_ms - created) / 2 && now_ms < *expires_ms
                })
            })
            .map(|(id, _, _)| id)
            .collect();
        let mut sent = 0;
        for id in due {
            let runtime = self.bindings.get(now).await;
            let mut tx = self.store.begin().await?;
            let Some(record) = tx.approval(id).await? else {
                continue;
            };
            // Marked even when nothing is posted (reminders off, no channel), so the request
            // is not looked at again every second.
            if !tx.mark_reminded(id, now_ms).await? {
                continue;
            }
            let rule: Option<Policy> = serde_json::from_str(&record.policy).ok();
            let channel = record.channel.parse::<ChannelRef>().ok();
            if let (Some(rule), Some(channel)) = (rule, channel) {
                if rule.remind && rule.thread {
                    let (mentions, named) =
                        self.eligible_approvers(&record, &rule, &runtime, &channel, now);
                    let text = reminder_text(&record, &rule, &named);
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
                    sent += 1;
                }
            }
            tx.commit().await?;
        }
        Ok(sent)
    }

    /// Who may still approve `record`, split into user ids to mention on the card's platform
    /// and the names of those who cannot be mentioned there (no linked identity on it). The
    /// requester (unless the rule allows self-approval) and those who voted are left out.
    fn eligible_approvers(
        &self,
        record: &ApprovalRecord,
        rule: &Policy,
        runtime: &[Binding],
        channel: &ChannelRef,
        now: DateTime<Utc>,
    ) -> (Vec<String>, Vec<String>) {
        let scope = scope_of(record);
        let voted: Vec<String> = votes_of(record).into_iter().map(|v| v.voter).collect();
        let workspace =
            self.directory
                .tenants
                .get(&record.tenant)
                .and_then(|t| match channel.platform {
                    Platform::Slack => t.slack_team.clone(),
                    Platform::Discord => t.discord_guild.clone(),
                    Platform::Console => Some(t.name.clone()),
                });
        let mut mentions = Vec::new();
        let mut named = Vec::new();
        // Everyone who could be an approver: the people of the directory, and raw identities
        // named by the rule or by a binding of the tenant.
        let raw_subjects: Vec<Subject> = rule
            .approvers
            .iter()
            .filter_map(|s| s.parse::<Subject>().ok())
            .chain(
                self.directory
                    .bindings
                    .iter()
                    .chain(runtime.iter())
                    .filter(|b| b.tenant == record.tenant)
                    .map(|b| b.subject.clone()),
            )
            .collect();
        for (_, identities) in policy::candidates(&self.directory, &raw_subjects) {
            // Judge the candidate as they would click: through an identity of this tenant.
            let Some(identity) = policy::identity_in(&self.directory, &record.tenant, &identities)
            else {
                continue;
            };
            let principal = policy::principal_for(&self.directory, &record.tenant, identity);
            let actor = crate::guard::actor_name(&principal);
            if voted.contains(&actor) || (actor == record.requester && !rule.allow_self) {
                continue;
            }
            let grants = policy::grants_for(
                self.directory.bindings.iter().chain(runtime.iter()),
                &principal,
                now,
            );
            let may = approvals::may_decide(rule, &principal, &grants, &scope);
            let request = approvals::Request {
                tenant: &record.tenant,
                requester: &record.requester,
                status: super::approvals::status_of(record),
                policy: rule,
                environment: record.environment.as_deref(),
                expires_ms: record.expires_ms,
                votes: &votes_of(record),
            };
            if let approvals::Outcome::Refused(_) = approvals::decide(
                &request,
                &record.tenant,
                &actor,
                may,
                Decision::Approve,
                now.timestamp_millis(),
            ) {
                continue;
            }
            let here = identities.iter().find(|i| {
                i.platform == channel.platform && Some(&i.workspace) == workspace.as_ref()
            });
            match here {
                Some(user) => mentions.push(user.user.clone()),
                None => named.push(actor),
            }
        }
        (mentions, named)
    }
}

/// The reminder's words: what is still needed, until when, and who cannot be mentioned.
fn reminder_text(record: &ApprovalRecord, rule: &Policy, named: &[String]) -> String {
    let approvals_so_far = record
        .votes
        .iter()
        .filter(|(_, decision, _)| decision == "approve")
        .count() as u32;
    let missing = rule.needed.saturating_sub(approvals_so_far).max(1);
    let noun = if missing == 1 {
        "approval"
    } else {
        "approvals"
    };
    let until = Utc
        .timestamp_millis_opt(record.expires_ms)
        .single()
        .map(|t| t.format("%H:%M UTC").to_string())
        .unwrap_or_default();
    let mut text = format!(
        "Reminder: {} still needs {missing} more {noun} ({}); it expires at {until}.",
        approvals::display_id(record.id),
        rule.describe()
    );
    if !named.is_empty() {
        text.push_str(&format!(" Also able to approve: {}.", named.join(", ")));
    }
    text
}
