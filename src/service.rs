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
mod approvals;
mod bindings_cache;
mod clicks;
mod jobs_builtin;
mod votes;

use bindings_cache::BindingsCache;
pub use clicks::{ClickAnswer, DENY_FORM};

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
    writer: mpsc::Sender<Submission>,
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
            store,
            directory,
            registry,
            root,
            metrics,
            runner,
            writer,
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
        let ctx = Context {
            directory: &self.directory,
            registry: &self.registry,
            root: &self.root,
            runtime_bindings: &runtime,
        };
        let channel = inv.channel.clone().unwrap_or_default();
        let event = |tenant: &str, actor: String, kind: &str, target: &str, details| NewEvent {
            tenant: tenant.to_string(),
            actor,
            kind: kind.to_string(),
            target: target.to_string(),
            channel: channel.clone(),
            request_id: inv.request_id.clone(),
            details,
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
                        let text = crate::audit::search::render_results(&events, &request.tenant);
                        Ok((Reply::ephemeral(text), Handled::Ok))
                    }
                }
            }
            Prepared::Accepted(accepted) => {
                let spec = accepted.spec;
                let actor = guard::actor_name(&accepted.principal);
                let mut details = guard::accepted_details(&accepted);
                details["platform"] = platform.into();
                if let Some(retry_of) = retry_of {
                    details["retry_of"] = crate::jobs::display_id(retry_of).into();
                }
                let invoked = event(
                    &accepted.tenant,
                    actor.clone(),
                    "command.invoked",
                    &spec.name,
                    details,
                );
                let rate = spec.rate_limit.map(|limit| {
                    Box::new(RatePlan {
                        tenant: accepted.tenant.clone(),
                        actor: actor.clone(),
                        command: spec.name.clone(),
                        limit,
                        refused: event(
                            &accepted.tenant,
                            actor.clone(),
                            "command.refused",
                            &spec.name,
                            json!({ "step": "rate_limit", "limit": limit.to_string(), "platform": platform }),
                        ),
                    })
                });
                let next = guard::next_step(&accepted, false);
                let then = match next {
                    Next::Run => {
                        let job = self.new_job(inv, &accepted, retry_of);
                        let (runner, draft) = (self.runner.clone(), job.clone());
                        let announce: writer::Announce = Box::new(move |id| {
                            runner.job_post(&draft.queued(id, now.to_rfc3339()), now)
                        });
                        Then::Job(Box::new(job), announce)
                    }
                    Next::Confirm => {
                        Then::Confirm(Box::new(self.new_confirmation(inv, &accepted, now)?))
                    }
                    Next::NeedsApproval => {
                        let approval = self.new_approval(inv, &accepted, now)?;
                        let (service, draft) = (self.clone(), approval.clone());
                        let announce: writer::Announce =
                            Box::new(move |id| service.approval_post(id, &draft, now));
                        Then::Approval(Box::new(approval), announce)
                    }
                };
                let unit = Unit::Accepted {
                    event: invoked,
                    rate,
                    then,
                };
                match self.submit(inv, now, unit).await? {
                    Outcome::Replay => Ok(replay(inv)),
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

    async fn submit(
        &self,
        inv: &Invocation,
        now: DateTime<Utc>,
        unit: Unit,
    ) -> anyhow::Result<Outcome> {
        let (done, result) = oneshot::channel();
        let submission = Submission {
            replay_key: inv.replay_key.clone(),
            now,
            unit,
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

fn replay(inv: &Invocation) -> (Reply, Handled) {
    tracing::info!(request.id = %inv.request_id, "replayed request answered, not acted on");
    (
        Reply::ephemeral(
            "This request was already received and handled; warden does not act on it twice.",
        ),
        Handled::Replay,
    )
}
