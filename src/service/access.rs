//! The `access` built-in: time-boxed roles. A request is itself an approval (one admin of the
//! tenant approves it); break-glass grants at once to those the tenant lists, and alerts
//! loudly; revoke ends a grant at once.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

use crate::approvals::{self, AccessAction, Policy};
use crate::audit::NewEvent;
use crate::chat::{Invocation, Message, Reply};
use crate::guard::{self, StatefulRequest};
use crate::model::{format_duration, Role};
use crate::outbox::{Delivery, Outbound};
use crate::storage::{NewApproval, RuntimeBinding};

use super::{Handled, Service};

/// How long an access request waits for an admin.
const ACCESS_REQUEST_TTL_SECS: i64 = 3600;

impl Service {
    pub(super) async fn access(
        &self,
        inv: &Invocation,
        request: StatefulRequest,
        action: AccessAction,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(Reply, Handled)> {
        let actor = guard::actor_name(&request.principal);
        let tenant = request.tenant.clone();
        let event = |kind: &str, target: String, details: serde_json::Value| NewEvent {
            tenant: tenant.clone(),
            actor: actor.clone(),
            kind: kind.to_string(),
            target,
            channel: inv.channel.clone().unwrap_or_default(),
            request_id: inv.request_id.clone(),
            details,
        };
        // The subject a grant is for: the person when the identity is linked, else the raw
        // platform identity, exactly as bindings in warden.toml name them.
        let subject = request
            .principal
            .person
            .clone()
            .unwrap_or_else(|| request.principal.user.to_string());
        match action {
            AccessAction::List => {
                let now_ms = now.timestamp_millis();
                let active: Vec<String> = self
                    .store
                    .active_bindings(now)
                    .await?
                    .into_iter()
                    .filter(|b| b.tenant == tenant && b.expires_ms > now_ms)
                    .map(|b| {
                        format!(
                            "B-{} {} is {} in {} until {} ({}, granted by {}: {})",
                            b.id,
                            b.subject,
                            b.role,
                            b.environments.join(", "),
                            Utc.timestamp_millis_opt(b.expires_ms)
                                .single()
                                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                                .unwrap_or_default(),
                            b.source,
                            b.granted_by,
                            b.reason
                        )
                    })
                    .collect();
                let text = if active.is_empty() {
                    "No time-boxed roles are in force in this tenant.".to_string()
                } else {
                    format!("Time-boxed roles in force:\n{}", active.join("\n"))
                };
                Ok((Reply::ephemeral(text), Handled::Ok))
            }
            AccessAction::Request {
                role,
                environments,
                duration,
                reason,
            } => {
                let plan = format!(
                    "grant {role} in {} to {subject} for {}",
                    environments.join(", "),
                    format_duration(duration)
                );
                let args = vec![
                    ("subject".to_string(), subject.clone()),
                    ("role".to_string(), role.to_string()),
                    ("environments".to_string(), environments.join(",")),
                    ("seconds".to_string(), duration.as_secs().to_string()),
                ];
                // One admin of the tenant decides, in the environment asked for when there is
                // exactly one; the requester can never approve their own access.
                let environment = (environments.len() == 1 && environments[0] != "*")
                    .then(|| environments[0].clone());
                let policy = Policy {
                    needed: 1,
                    approvers: Vec::new(),
                    approver_role: Some(Role::Admin.to_string()),
                    allow_self: false,
                    thread: true,
                    remind: true,
                };
                let approval = NewApproval {
                    secrets: Default::default(),
                    tenant: tenant.clone(),
                    kind: "access".into(),
                    command: "access".into(),
                    plan_hash: approvals::plan_hash("access", &args, environment.as_deref(), &plan),
                    args,
                    environment,
                    reason: Some(reason.clone()),
                    requester: actor.clone(),
                    requester_user: inv.user.to_string(),
                    channel: inv.channel.clone().unwrap_or_default(),
                    plan,
                    policy: serde_json::to_string(&policy)?,
                    expires_ms: now.timestamp_millis() + ACCESS_REQUEST_TTL_SECS * 1000,
                    request_id: inv.request_id.clone(),
                };
                let mut tx = self.store.begin().await?;
                if !self.claim_replay_key(&mut tx, inv, now).await? {
                    return Ok(super::replay(inv));
                }
                let id = tx.insert_approval(&approval, now).await?;
                if let Some(out) = self.approval_post(id, &approval, now) {
                    tx.enqueue(&out, now).await?;
                }
                tx.append_audit(
                    event("approval.requested", approvals::display_id(id), json!({ "kind": "access", "role": role.as_str(), "environments": environments, "for": format_duration(duration), "reason": reason })),
                    now,
                );
                tx.commit().await?;
                Ok((
                    Reply::ephemeral(format!(
                        "{} requested: {} for {} in {}. An admin of this tenant must approve it; the request is posted in this channel.",
                        approvals::display_id(id),
                        role,
                        format_duration(duration),
                        environments.join(", ")
                    )),
                    Handled::Ok,
                ))
            }
            AccessAction::Breakglass {
                role,
                duration,
                reason,
            } => {
                let allowed =
                    self.directory.tenants.get(&tenant).is_some_and(|t| {
                        approvals::may_breakglass(&t.breakglass, &request.principal)
                    });
                if !allowed {
                    let refusal = guard::Refusal {
                        step: guard::Step::Authorize,
                        tenant: tenant.clone(),
                        actor: actor.clone(),
                        command: "access".into(),
                        message: "you are not listed for break-glass in this tenant (warden.toml `breakglass`).".into(),
                        details: json!({ "step": "authorize", "action": "breakglass", "role": role.as_str() }),
                    };
                    if !self.record_refusal_once(inv, &refusal, now).await? {
                        return Ok(super::replay(inv));
                    }
                    return Ok(self.refused(inv, &refusal));
                }
                let binding = RuntimeBinding {
                    id: 0,
                    tenant: tenant.clone(),
                    subject: subject.clone(),
                    role: role.to_string(),
                    environments: vec!["*".to_string()],
                    expires_ms: now.timestamp_millis() + duration.as_millis() as i64,
                    source: "breakglass".into(),
                    granted_by: actor.clone(),
                    reason: reason.clone(),
                };
                let mut tx = self.store.begin().await?;
                if !self.claim_replay_key(&mut tx, inv, now).await? {
                    return Ok(super::replay(inv));
                }
                let id = tx.insert_binding(&binding, now).await?;
                tx.append_audit(
                    event("access.breakglass", format!("B-{id}"), json!({ "subject": subject, "role": role.as_str(), "for": format_duration(duration), "reason": reason })),
                    now,
                );
                let until = Utc
                    .timestamp_millis_opt(binding.expires_ms)
                    .single()
                    .map(|t| t.format("%H:%M UTC").to_string())
                    .unwrap_or_default();
                let alert = Message {
                    text: format!(
                        "BREAK-GLASS in tenant `{tenant}`: {actor} took the `{role}` role everywhere until {until} (B-{id}).\nReason: {reason}\nReview it, and revoke it early with `{} access revoke B-{id}`.",
                        self.root
                    ),
                    buttons: Vec::new(),
                };
                // The loud alert commits with the grant: nobody holds break-glass unannounced.
                let channel = self
                    .directory
                    .tenants
                    .get(&tenant)
                    .and_then(|t| t.alert_channel.clone())
                    .or_else(|| self.runner.fallback_alert_channel.clone());
                match channel {
                    Some(channel) => {
                        tx.enqueue(
                            &Outbound {
                                tenant: tenant.clone(),
                                delivery: Delivery::Post {
                                    channel,
                                    key: None,
                                    fallback: None,
                                    thread: None,
                                },
                                message: alert,
                                important: true,
                            },
                            now,
                        )
                        .await?
                    }
                    None => {
                        tracing::warn!(tenant.id = %tenant, "break-glass used but no alert channel is configured")
                    }
                }
                tx.commit().await?;
                self.bindings.invalidate().await;
                Ok((
                    Reply::ephemeral(format!(
                        "Break-glass granted: you hold `{role}` in every environment until {until} (B-{id}). This was announced in the alert channel and audited."
                    )),
                    Handled::Ok,
                ))
            }
            AccessAction::Revoke(id) => {
                let is_admin = request.grants.iter().any(|g| g.role >= Role::Admin);
                let owner = self
                    .store
                    .active_bindings(now)
                    .await?
                    .into_iter()
                    .find(|b| b.id == id && b.tenant == tenant)
                    .map(|b| b.subject);
                let Some(owner) = owner else {
                    // Nothing changes, but the key is still claimed so that the same bytes
                    // sent again are answered as what they are: a replay.
                    let mut tx = self.store.begin().await?;
                    let fresh = self.claim_replay_key(&mut tx, inv, now).await?;
                    tx.commit().await?;
                    if !fresh {
                        return Ok(super::replay(inv));
                    }
                    return Ok((
                        Reply::ephemeral(format!(
                            "There is no time-boxed role B-{id} in force in this tenant."
                        )),
                        Handled::Refused,
                    ));
                };
                if owner != subject && !is_admin {
                    let refusal = guard::Refusal {
                        step: guard::Step::Authorize,
                        tenant: tenant.clone(),
                        actor: actor.clone(),
                        command: "access".into(),
                        message: format!(
                            "only {owner} or an admin of this tenant may revoke B-{id}."
                        ),
                        details: json!({ "step": "authorize", "action": "revoke", "binding": format!("B-{id}") }),
                    };
                    if !self.record_refusal_once(inv, &refusal, now).await? {
                        return Ok(super::replay(inv));
                    }
                    return Ok(self.refused(inv, &refusal));
                }
                let mut tx = self.store.begin().await?;
                if !self.claim_replay_key(&mut tx, inv, now).await? {
                    return Ok(super::replay(inv));
                }
                let revoked = tx.revoke_binding(&tenant, id, &actor, now).await?;
                if let Some(b) = &revoked {
                    tx.append_audit(
                        event(
                            "access.revoked",
                            format!("B-{id}"),
                            json!({ "subject": b.subject, "role": b.role }),
                        ),
                        now,
                    );
                }
                tx.commit().await?;
                self.bindings.invalidate().await;
                Ok((
                    Reply::ephemeral(match revoked {
                        Some(b) => format!(
                            "Revoked B-{id}: {} no longer holds {} from it.",
                            b.subject, b.role
                        ),
                        None => format!("B-{id} was already revoked or expired."),
                    }),
                    Handled::Ok,
                ))
            }
        }
    }
}
