//! The service applies the guard's decisions: for one invocation it opens ONE write
//! transaction, claims the replay key, runs the rate-limit step against the stored uses, writes
//! the audit event (and, later, the job and outgoing messages), and commits. Either all of it
//! lands or none of it does.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

use crate::audit::NewEvent;
use crate::chat::{Invocation, Reply};
use crate::commands::Registry;
use crate::config::Directory;
use crate::guard::{self, Context, Prepared, Refusal};
use crate::metrics::Metrics;
use crate::storage::Store;

/// How long a replay key is kept, in seconds: longer than the 300 s signature window on either
/// side, so a replay is either refused as stale or found here.
pub const REPLAY_KEY_TTL_SECS: i64 = 900;

/// Everything the pipeline needs, shared by every request.
#[derive(Clone, Debug)]
pub struct Service {
    /// The database.
    pub store: Store,
    /// Tenants, people, groups and bindings.
    pub directory: Arc<Directory>,
    /// Command definitions.
    pub registry: Arc<Registry>,
    /// The root slash command shown in messages.
    pub root: String,
    /// Metrics.
    pub metrics: Arc<Metrics>,
}

/// How an invocation ended, for the request's metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// Answered or accepted.
    Ok,
    /// Refused by a guard step.
    Refused,
    /// A replay of a request already acted on.
    Replay,
}

impl Handled {
    /// The metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Handled::Ok => "ok",
            Handled::Refused => "refused",
            Handled::Replay => "replay",
        }
    }
}

impl Service {
    /// Runs one invocation through the whole pipeline and returns what to tell the caller.
    /// An `Err` means the database failed: nothing was recorded, and the caller is told so.
    pub async fn handle(
        &self,
        inv: &Invocation,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(Reply, Handled)> {
        let ctx = Context {
            directory: &self.directory,
            registry: &self.registry,
            root: &self.root,
        };
        let prepared = guard::prepare(&ctx, inv, now);
        let mut tx = self.store.begin().await?;
        if let Some(key) = &inv.replay_key {
            if !tx
                .claim_replay_key(key, now.timestamp() + REPLAY_KEY_TTL_SECS)
                .await?
            {
                tracing::info!(request.id = %inv.request_id, "replayed request answered, not acted on");
                return Ok((
                    Reply::ephemeral(
                        "This request was already received and handled; warden does not act on it twice.",
                    ),
                    Handled::Replay,
                ));
            }
        }
        let channel = inv.channel.clone().unwrap_or_default();
        let outcome = match prepared {
            Prepared::Refused(refusal) => Err(refusal),
            Prepared::Builtin(answer) => {
                let event = NewEvent {
                    tenant: answer.tenant.clone(),
                    actor: guard::actor_name(&answer.principal),
                    kind: "command.invoked".into(),
                    target: answer.command.clone(),
                    channel: channel.clone(),
                    request_id: inv.request_id.clone(),
                    details: json!({ "builtin": true, "platform": inv.platform.as_str() }),
                };
                tx.append_audit(&event, now).await?;
                Ok(Reply::ephemeral(answer.text))
            }
            Prepared::Accepted(accepted) => {
                let spec = accepted.spec;
                let actor = guard::actor_name(&accepted.principal);
                let mut refused = None;
                if let Some(limit) = &spec.rate_limit {
                    let now_ms = now.timestamp_millis();
                    let window_start = now_ms - limit.per.as_millis() as i64;
                    let uses = tx
                        .rate_uses(&accepted.tenant, &actor, &spec.name, window_start)
                        .await?;
                    let oldest = uses
                        .oldest_ms
                        .and_then(|ms| Utc.timestamp_millis_opt(ms).single());
                    match guard::check_rate(&accepted, limit, uses.count, oldest, now) {
                        None => {
                            tx.record_rate_use(
                                &accepted.tenant,
                                &actor,
                                &spec.name,
                                now_ms,
                                window_start,
                            )
                            .await?
                        }
                        Some(refusal) => refused = Some(refusal),
                    }
                }
                match refused {
                    Some(refusal) => Err(refusal),
                    None => {
                        let mut details = guard::accepted_details(&accepted);
                        details["platform"] = inv.platform.as_str().into();
                        let event = NewEvent {
                            tenant: accepted.tenant.clone(),
                            actor,
                            kind: "command.invoked".into(),
                            target: spec.name.clone(),
                            channel: channel.clone(),
                            request_id: inv.request_id.clone(),
                            details,
                        };
                        tx.append_audit(&event, now).await?;
                        Ok(Reply::ephemeral(guard::accepted_reply(
                            &accepted, &self.root,
                        )))
                    }
                }
            }
        };
        let result = match outcome {
            Ok(reply) => (reply, Handled::Ok),
            Err(refusal) => {
                self.audit_refusal(&mut tx, inv, &refusal, &channel, now)
                    .await?;
                (Reply::ephemeral(refusal.reply_text()), Handled::Refused)
            }
        };
        tx.commit().await?;
        if let (_, Handled::Refused) = &result {
            tracing::info!(request.id = %inv.request_id, "invocation refused");
        }
        Ok(result)
    }

    async fn audit_refusal(
        &self,
        tx: &mut crate::storage::Tx,
        inv: &Invocation,
        refusal: &Refusal,
        channel: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        self.metrics.refuse(refusal.step.as_str());
        tracing::info!(
            request.id = %inv.request_id,
            tenant.id = %refusal.tenant,
            actor.id = %refusal.actor,
            command.name = %refusal.command,
            guard.step = refusal.step.as_str(),
            "refused"
        );
        let mut details = refusal.details.clone();
        details["platform"] = inv.platform.as_str().into();
        let event = NewEvent {
            tenant: refusal.tenant.clone(),
            actor: refusal.actor.clone(),
            kind: "command.refused".into(),
            target: refusal.command.clone(),
            channel: channel.to_string(),
            request_id: inv.request_id.clone(),
            details,
        };
        tx.append_audit(&event, now).await?;
        Ok(())
    }
}
