//! The service applies the guard's decisions. For one invocation it asks the pure guard what
//! may happen, then hands the writes (replay key, rate-limit use, audit event; later jobs and
//! outgoing messages) to the group-commit writer, which commits them in one transaction with
//! those of other concurrent requests. Either all of a request's writes land or none do.

mod writer;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use crate::audit::NewEvent;
use crate::chat::invocation::without_nul;
use crate::chat::{Invocation, Reply};
use crate::commands::Registry;
use crate::config::Directory;
use crate::guard::{self, Context, Next, Prepared, Refusal};
use crate::jobs::Runner;
use crate::metrics::Metrics;
use crate::storage::Store;

use writer::{Outcome, RatePlan, Submission, Then, Unit};

mod accepted;
mod access;
mod alert_clicks;
mod alerts;
mod approvals;
mod bindings_cache;
mod clicks;
mod dashboard;
mod jobs_builtin;
mod remind;
mod schedules;
mod sealing;

pub use sealing::seal_legacy;
mod votes;
mod why;

use bindings_cache::BindingsCache;
pub use clicks::{ClickAnswer, DENY_FORM};
pub use schedules::{list as list_schedules, set_paused as set_schedule_paused, RunOutcome};
pub use why::{count_uses, runtime_bindings};

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
    /// The job runner (woken when a job is queued; also makes job links).
    pub runner: Arc<Runner>,
    bindings: Arc<BindingsCache>,
    /// `help` lists rendered once per (tenant, role set): valid for `registry` and `root`,
    /// which never change while the service lives.
    help_cache: Arc<guard::HelpCache>,
    writer: mpsc::Sender<Submission>,
    /// For Alertmanager's silences API: a short timeout, since a click is answered within
    /// Slack's 3 seconds.
    silences: reqwest::Client,
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
    /// A form was refused for what was typed into it (a reason too short, a NUL character):
    /// the person should correct it in the form, which stays open where the platform allows.
    InvalidForm,
}

impl Handled {
    /// The metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Handled::Ok => "ok",
            Handled::Refused => "refused",
            Handled::Replay => "replay",
            Handled::InvalidForm => "refused",
        }
    }
}

impl Service {
    /// Builds the service and starts its writer task (so it must run inside a tokio runtime).
    pub fn new(
        store: Store,
        directory: Arc<Directory>,
        registry: Arc<Registry>,
        root: String,
        metrics: Arc<Metrics>,
        runner: Arc<Runner>,
    ) -> Self {
        let writer = writer::spawn(store.clone());
        let bindings = Arc::new(BindingsCache::new(store.clone()));
        Service {
            bindings,
            help_cache: Arc::default(),
            store,
            directory,
            registry,
            root,
            metrics,
            runner,
            writer,
            silences: reqwest::Client::builder()
                .timeout(std::time::Duration::from_millis(2_000))
                .build()
                .expect("a reqwest client with a timeout always builds"),
        }
    }

    /// Runs one invocation through the whole pipeline and returns what to tell the caller.
    /// An `Err` means the database failed: nothing was recorded, and the caller is told so.
    pub async fn handle(
        &self,
        inv: &Invocation,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(Reply, Handled)> {
        self.handle_retry(inv, now, None).await
    }

    /// `handle`, for an invocation that retries job `retry_of` (a Retry button or
    /// `jobs retry`): the same guard, as the person retrying.
    pub async fn handle_retry(
        &self,
        inv: &Invocation,
        now: DateTime<Utc>,
        retry_of: Option<i64>,
    ) -> anyhow::Result<(Reply, Handled)> {
        let runtime = self.bindings.get(now).await;
        let first = match retry_of {
            Some(id) => self.store.job(id).await?,
            None => None,
        };
        let ctx = Context {
            directory: &self.directory,
            registry: &self.registry,
            root: &self.root,
            runtime_bindings: &runtime,
            can_seal: self.runner.keyring.is_some(),
            help_cache: Some(&self.help_cache),
        };
        // A request holding a NUL is refused by the guard; its refusal is recorded with the
        // NUL replaced, because no database text column may hold one.
        let channel = without_nul(inv.channel.as_deref().unwrap_or_default());
        let request_id = without_nul(&inv.request_id);
        let event = |tenant: &str, actor: String, kind: &str, target: &str, details| NewEvent {
            tenant: tenant.to_string(),
            actor,
            kind: kind.to_string(),
            target: target.to_string(),
            channel: channel.clone(),
            request_id: request_id.clone(),
            details: with_transport(details, inv.transport),
        };
        let platform = inv.platform.as_str();
        match guard::prepare(&ctx, inv, now) {
            Prepared::Refused(refusal) => {
                let mut details = refusal.details.clone();
                details["platform"] = platform.into();
                let unit = Unit::Record(event(
                    &refusal.tenant,
                    refusal.actor.clone(),
                    "command.refused",
                    &refusal.command,
                    details,
                ));
                match self.submit(inv, now, unit).await? {
                    Outcome::Replay => Ok(replay(inv)),
                    _ => Ok(self.refused(inv, &refusal)),
                }
            }
            Prepared::Builtin(answer) => {
                let unit = Unit::Record(event(
                    &answer.tenant,
                    guard::actor_name(&answer.principal),
                    "command.invoked",
                    &answer.command,
                    json!({ "builtin": true, "platform": platform }),
                ));
                match self.submit(inv, now, unit).await? {
                    Outcome::Replay => Ok(replay(inv)),
                    _ => Ok((Reply::ephemeral(answer.text), Handled::Ok)),
                }
            }
            Prepared::Jobs(request) => {
                let unit = Unit::Record(event(
                    &request.tenant,
                    guard::actor_name(&request.principal),
                    "command.invoked",
                    "jobs",
                    json!({ "builtin": true, "action": format!("{:?}", request.action), "platform": platform }),
                ));
                match self.submit(inv, now, unit).await? {
                    Outcome::Replay => Ok(replay(inv)),
                    _ => self.jobs_builtin(inv, request, now).await,
                }
            }
            Prepared::Approvals(request) => {
                let unit = Unit::Record(event(
                    &request.tenant,
                    guard::actor_name(&request.principal),
                    "command.invoked",
                    "approvals",
                    json!({ "builtin": true, "platform": platform }),
                ));
                match self.submit(inv, now, unit).await? {
                    Outcome::Replay => Ok(replay(inv)),
                    _ => Ok((
                        self.approvals_builtin(
                            &request.tenant,
                            &request.principal,
                            &request.grants,
                            now,
                        )
                        .await?,
                        Handled::Ok,
                    )),
                }
            }
            Prepared::Access(request, crate::approvals::AccessAction::List) => {
                // Listing changes nothing, so it is recorded like the other read-only
                // built-ins: its replay key and event go through the group-commit writer.
                let unit = Unit::Record(event(
                    &request.tenant,
                    guard::actor_name(&request.principal),
                    "command.invoked",
                    "access",
                    json!({ "builtin": true, "action": "list", "platform": platform }),
                ));
                match self.submit(inv, now, unit).await? {
                    Outcome::Replay => Ok(replay(inv)),
                    _ => {
                        self.access(inv, request, crate::approvals::AccessAction::List, now)
                            .await
                    }
                }
            }
            // Every other form of `access` changes state: it claims the replay key in the
            // transaction that applies it.
            Prepared::Access(request, action) => self.access(inv, request, action, now).await,
            Prepared::Audit(request, filter) => {
                let unit = Unit::Record(event(
                    &request.tenant,
                    guard::actor_name(&request.principal),
                    "command.invoked",
                    "audit",
                    json!({ "builtin": true, "platform": platform }),
                ));
                match self.submit(inv, now, unit).await? {
                    Outcome::Replay => Ok(replay(inv)),
                    _ => {
                        let events = self.store.search_audit(&filter).await?;
                        let mut text =
                            crate::audit::search::render_results(&events, &request.tenant);
                        text.push_str(&self.thread_links(&events).await);
                        Ok((Reply::ephemeral(text), Handled::Ok))
                    }
                }
            }
            Prepared::Why(why) => self.why(why, now).await,
            Prepared::Schedules(request) => {
                let unit = Unit::Record(event(
                    &request.tenant,
                    guard::actor_name(&request.principal),
                    "command.invoked",
                    "schedules",
                    json!({ "builtin": true, "platform": platform }),
                ));
                match self.submit(inv, now, unit).await? {
                    Outcome::Replay => Ok(replay(inv)),
                    _ => self.schedules_builtin(&request, now).await,
                }
            }
            Prepared::Dashboard(request) => {
                let invoked = event(
                    &request.tenant,
                    guard::actor_name(&request.principal),
                    "command.invoked",
                    "dashboard",
                    json!({ "builtin": true, "platform": platform }),
                );
                self.dashboard_builtin(inv, request, invoked, now).await
            }
            Prepared::Accepted(accepted) => {
                let mut details = guard::accepted_details(&accepted);
                details["platform"] = platform.into();
                if let Some(retry_of) = retry_of {
                    details["retry_of"] = crate::jobs::display_id(retry_of).into();
                }
                let (unit, next) =
                    self.accepted_unit(inv, &accepted, now, details, first.as_ref(), false, None)?;
                match self.submit(inv, now, unit).await? {
                    Outcome::Replay | Outcome::Paused => Ok(replay(inv)),
                    Outcome::RateLimited(limited) => {
                        let refusal = guard::rate_refusal(&accepted, &limited);
                        Ok(self.refused(inv, &refusal))
                    }
                    Outcome::Done(created) => {
                        if let (Next::Run, Some(_)) = (next, created) {
                            self.runner.wake();
                        }
                        Ok((self.accepted_reply(&accepted, next, created), Handled::Ok))
                    }
                }
            }
        }
    }

    /// The writes of an accepted command: its `command.invoked` event (with `details`), the
    /// rate-limit step, and what comes next (job, confirmation or approval request). A
    /// scheduled run counts as confirmed (the schedule in the config is the confirmation) and
    /// carries the alert posted if the rate limit refuses it.
    #[allow(clippy::too_many_arguments)]
    fn accepted_unit(
        &self,
        inv: &Invocation,
        accepted: &guard::Accepted<'_>,
        now: DateTime<Utc>,
        details: serde_json::Value,
        first: Option<&crate::jobs::Job>,
        confirmed: bool,
        rate_alert: Option<crate::outbox::Outbound>,
    ) -> anyhow::Result<(Unit, Next)> {
        let spec = accepted.spec;
        let actor = guard::actor_name(&accepted.principal);
        let event = |actor: String, kind: &str, details| NewEvent {
            tenant: accepted.tenant.clone(),
            actor,
            kind: kind.to_string(),
            target: spec.name.clone(),
            channel: inv.channel.clone().unwrap_or_default(),
            request_id: inv.request_id.clone(),
            details: with_transport(details, inv.transport),
        };
        let mut refused_details =
            json!({ "step": "rate_limit", "platform": inv.platform.as_str() });
        for key in ["schedule", "slot"] {
            if let Some(value) = details.get(key) {
                refused_details[key] = value.clone();
            }
        }
        let invoked = event(actor.clone(), "command.invoked", details);
        let rate = spec.rate_limit.map(|limit| {
            refused_details["limit"] = limit.to_string().into();
            Box::new(RatePlan {
                tenant: accepted.tenant.clone(),
                actor: actor.clone(),
                command: spec.name.clone(),
                limit,
                refused: event(actor.clone(), "command.refused", refused_details),
                alert: rate_alert,
            })
        });
        let next = guard::next_step(accepted, confirmed);
        let parent = self.parent_card(inv, &accepted.tenant);
        let then = match next {
            Next::Run => {
                let job = self.new_job(inv, accepted, first);
                let (runner, draft) = (self.runner.clone(), job.clone());
                let announce: writer::Announce =
                    Arc::new(move |id| runner.job_post(&draft.queued(id, now.to_rfc3339()), now));
                Then::Job(Box::new(job), in_thread(announce, parent))
            }
            Next::Confirm => Then::Confirm(Box::new(self.new_confirmation(inv, accepted, now)?)),
            Next::NeedsApproval => {
                let approval = self.new_approval(inv, accepted, now)?;
                let (service, draft) = (self.clone(), approval.clone());
                let announce: writer::Announce =
                    Arc::new(move |id| service.approval_post(id, &draft, now));
                Then::Approval(Box::new(approval), in_thread(announce, parent))
            }
        };
        Ok((
            Unit::Accepted {
                event: invoked,
                rate,
                then,
            },
            next,
        ))
    }

    /// The card whose thread an invocation's card goes in (an alert's, for its action
    /// buttons), when it names one and has a channel.
    fn parent_card(&self, inv: &Invocation, tenant: &str) -> Option<crate::outbox::Card> {
        let thread = inv.thread.as_ref()?;
        let channel: crate::model::ChannelRef = inv.channel.as_deref()?.parse().ok()?;
        let guild = self
            .directory
            .tenants
            .get(tenant)
            .and_then(|t| t.discord_guild.as_deref());
        Some(crate::threads::card(
            thread.key.clone(),
            thread.title.clone(),
            &channel,
            guild,
        ))
    }

    async fn submit(
        &self,
        inv: &Invocation,
        now: DateTime<Utc>,
        unit: Unit,
    ) -> anyhow::Result<Outcome> {
        self.submit_claiming(inv, now, unit, None).await
    }

    /// `submit`, also claiming a schedule's slot in the same transaction: when the slot was
    /// claimed already, or the schedule is paused, nothing is written.
    async fn submit_claiming(
        &self,
        inv: &Invocation,
        now: DateTime<Utc>,
        unit: Unit,
        slot: Option<writer::SlotClaim>,
    ) -> anyhow::Result<Outcome> {
        let replay_key = inv.replay_key.as_deref().map(without_nul);
        let unit = match (unit, &slot) {
            (Unit::Record(event), None) if self.store.has_writer_thread() => {
                // One hop to the SQLite writer thread and one back, instead of through the
                // writer task as well (`storage/sqlite_writer.rs`).
                let record = crate::storage::Record {
                    replay_key: replay_key.map(|k| (k, now.timestamp() + REPLAY_KEY_TTL_SECS)),
                    event,
                    at: now,
                };
                return Ok(if self.store.record(record).await? {
                    Outcome::Done(None)
                } else {
                    Outcome::Replay
                });
            }
            (unit, _) => unit,
        };
        let (done, result) = oneshot::channel();
        let submission = Submission {
            replay_key,
            now,
            unit,
            slot,
            done,
        };
        self.writer
            .send(submission)
            .await
            .map_err(|_| anyhow::anyhow!("the database writer has stopped"))?;
        result
            .await
            .map_err(|_| anyhow::anyhow!("the database writer has stopped"))?
            .map_err(|message| anyhow::anyhow!(message))
    }

    /// The links to the threads of the cards the `events` name (SPEC §13), as lines to add
    /// under audit search results: `Threads: A-1 <link> · J-2 <link>`. Empty when none is
    /// known yet.
    async fn thread_links(&self, events: &[crate::audit::AuditEvent]) -> String {
        let mut seen: Vec<String> = Vec::new();
        let mut shown: Vec<String> = Vec::new();
        for event in events.iter().rev() {
            let details: serde_json::Value =
                serde_json::from_str(&event.details).unwrap_or_default();
            let Some(card) = details["card"].as_str() else {
                continue;
            };
            if seen.iter().any(|c| c == card) || seen.len() >= 5 {
                continue;
            }
            seen.push(card.to_string());
            if let Ok(Some(message)) = self.store.card_message(card).await {
                if let Some(link) = message.link {
                    shown.push(format!("{} {link}", event.target));
                }
            }
        }
        if shown.is_empty() {
            String::new()
        } else {
            shown.reverse();
            format!("\nThreads: {}", shown.join(" · "))
        }
    }

    /// Claims the invocation's replay key in `tx`, the transaction that applies it. False means
    /// a replay: the caller must write nothing and answer with [`replay`]. An invocation
    /// without a key (the CLI, a scheduled run) is never a replay.
    pub(super) async fn claim_replay_key(
        &self,
        tx: &mut crate::storage::Tx,
        inv: &Invocation,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        match &inv.replay_key {
            Some(key) => {
                tx.claim_replay_key(key, now.timestamp() + REPLAY_KEY_TTL_SECS)
                    .await
            }
            None => Ok(true),
        }
    }

    fn refused(&self, inv: &Invocation, refusal: &Refusal) -> (Reply, Handled) {
        self.metrics.refuse(refusal.step.as_str());
        tracing::info!(
            request.id = %inv.request_id,
            tenant.id = %refusal.tenant,
            actor.id = %refusal.actor,
            command.name = %refusal.command,
            guard.step = refusal.step.as_str(),
            "refused"
        );
        (Reply::ephemeral(refusal.reply_text()), Handled::Refused)
    }
}

pub(super) fn replay(inv: &Invocation) -> (Reply, Handled) {
    tracing::info!(request.id = %inv.request_id, "replayed request answered, not acted on");
    (
        Reply::ephemeral(
            "This request was already received and handled; warden does not act on it twice.",
        ),
        Handled::Replay,
    )
}

/// An announcement whose new card goes in `parent`'s thread rather than top-level.
fn in_thread(announce: writer::Announce, parent: Option<crate::outbox::Card>) -> writer::Announce {
    let Some(parent) = parent else {
        return announce;
    };
    Arc::new(move |id| {
        announce(id).map(|mut out| {
            if let crate::outbox::Delivery::Post { thread, .. } = &mut out.delivery {
                *thread = Some(parent.clone());
            }
            out
        })
    })
}

/// `details` with the request's transport added (`http`, `socket_mode`, `gateway`, `local`), so
/// that the audit trail says how a request arrived while the guard never looks at it.
fn with_transport(
    mut details: serde_json::Value,
    transport: crate::chat::Transport,
) -> serde_json::Value {
    if let Some(fields) = details.as_object_mut() {
        fields.insert("transport".into(), transport.as_str().into());
    }
    details
}
