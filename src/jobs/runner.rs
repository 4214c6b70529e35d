//! The job runner: claims queued jobs with a lease (one runner per job, whatever the number of
//! runners or replicas), runs their actions with bounded concurrency, streams their logs into
//! the database and their chat message, and records the outcome with its audit event.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::sync::{mpsc, watch, Notify, Semaphore};
use tracing::Instrument;

use crate::actions::{
    self, ActionEnv, ActionOutcome, ActionRun, JobLog, LogLine, Scrubber, Stream,
};
use crate::audit::NewEvent;
use crate::commands::args::{parse_args, RawArgs};
use crate::commands::{ActionSpec, CommandSpec, Registry};
use crate::config::Directory;
use crate::model::ChannelRef;
use crate::outbox::{Delivery, Outbound};
use crate::storage::{Store, Tx};

use super::model::{Job, JobStatus, StoredLogLine};
use super::thread::Moment;
use super::{builtin, render};

/// Tunables of the runner.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// How many jobs this process runs at once.
    pub concurrency: usize,
    /// How long a claim lasts without renewal; renewed every third of it.
    pub lease: Duration,
    /// How often to look for work when nothing wakes the runner.
    pub poll: Duration,
    /// How long shutdown waits for running jobs before handing them back.
    pub shutdown_grace: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            concurrency: 8,
            lease: Duration::from_secs(30),
            poll: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

/// The key of a job's chat message in the outbox: posted when the job is created, edited as
/// it progresses.
pub fn job_key(id: i64) -> String {
    format!("job:{id}")
}

/// Makes the signed links to job pages.
#[derive(Clone)]
pub struct LinkMaker {
    /// `WARDEN_PUBLIC_URL`.
    pub public_url: String,
    /// The server's link key.
    pub key: Arc<Vec<u8>>,
}

impl std::fmt::Debug for LinkMaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkMaker")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl LinkMaker {
    /// The key job and dashboard links are signed with (tests mint links with it).
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The link to a job's page, valid for `links::LINK_TTL_SECS`.
    pub fn job(&self, tenant: &str, id: i64) -> String {
        crate::links::job_url(
            &self.public_url,
            &self.key,
            tenant,
            id,
            Utc::now().timestamp(),
        )
    }
}

/// Runs jobs. One per process; share it with `Arc`.
#[derive(Debug)]
pub struct Runner {
    pub(crate) store: Store,
    pub(crate) registry: Arc<Registry>,
    pub(crate) directory: Arc<Directory>,
    pub(crate) env: Arc<ActionEnv>,
    pub(crate) fallback_alert_channel: Option<ChannelRef>,
    pub(crate) links: LinkMaker,
    http: reqwest::Client,
    owner: String,
    config: RunnerConfig,
    wake: Arc<Notify>,
    /// The keys that open secret argument values at rest (SPEC §16).
    pub(crate) keyring: Option<crate::secrets::Keyring>,
}

impl Runner {
    /// What job and dashboard links are made with (the public URL and the signing key).
    pub fn links(&self) -> &LinkMaker {
        &self.links
    }
}

impl Runner {
    /// A runner with a fresh owner id.
    pub fn new(
        store: Store,
        registry: Arc<Registry>,
        directory: Arc<Directory>,
        env: Arc<ActionEnv>,
        fallback_alert_channel: Option<ChannelRef>,
        links: LinkMaker,
        config: RunnerConfig,
    ) -> Self {
        Runner {
            store,
            registry,
            directory,
            env,
            fallback_alert_channel,
            links,
            http: actions::http_client(),
            owner: format!("runner-{}", uuid::Uuid::new_v4()),
            config,
            wake: Arc::new(Notify::new()),
            keyring: None,
        }
    }

    /// This runner, opening secret argument values with `keyring`.
    pub fn with_keyring(mut self, keyring: Option<crate::secrets::Keyring>) -> Self {
        self.keyring = keyring;
        self
    }

    /// The secret argument values of `job`, opened. A job whose command has secret arguments
    /// and whose values cannot be opened (no key, an unknown key, a tampered or moved row, or
    /// erased) is refused with a clear reason: it never runs with garbage or with the
    /// `[redacted]` placeholder, and there is no plaintext fallback.
    pub(crate) fn open_secrets(&self, job: &Job) -> Result<crate::secrets::SecretValues, String> {
        let spec = self.registry.get(&job.command);
        let has_secrets = spec.is_some_and(|s| s.args.iter().any(|a| a.secret));
        let Some(sealed) = &job.secrets else {
            return if has_secrets {
                Err("its secret argument values are no longer stored (they are erased when a job ends); run the command again".to_string())
            } else {
                Ok(crate::secrets::SecretValues::default())
            };
        };
        let keyring = self.keyring.as_ref().ok_or_else(|| {
            "its secret arguments cannot be opened: WARDEN_ENCRYPTION_KEYS is not set".to_string()
        })?;
        let place = crate::secrets::Place {
            table: crate::storage::Sealed::JobSecrets.table(),
            id: job.id,
            column: crate::storage::Sealed::JobSecrets.column(),
        };
        let text = keyring
            .open(place, sealed)
            .map_err(|e| format!("its secret arguments cannot be opened: {e}"))?;
        crate::secrets::SecretValues::from_json(&text)
            .ok_or_else(|| "its secret arguments cannot be opened: they are damaged".to_string())
    }

    /// Wakes the runner: a job was just queued.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Runs until `stop` turns true; then stops claiming, waits up to the grace period for
    /// running jobs, and hands the rest back to the queue.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let slots = Arc::new(Semaphore::new(self.config.concurrency));
        let (cancel_all, cancelled) = watch::channel(false);
        let mut tick = tokio::time::interval(self.config.poll);
        let mut last_sweep: Option<tokio::time::Instant> = None;
        loop {
            // Looking for dead runners' jobs once per poll period is plenty: a lease lasts
            // many periods, and being woken for every new job must not multiply the query.
            if last_sweep.is_none_or(|at| at.elapsed() >= self.config.poll) {
                last_sweep = Some(tokio::time::Instant::now());
                if let Err(error) = super::recover::sweep(&self).await {
                    tracing::warn!("recovering expired job leases failed: {error:#}");
                }
            }
            while let Ok(permit) = slots.clone().try_acquire_owned() {
                let now = Utc::now();
                let lease_until = now.timestamp_millis() + self.config.lease.as_millis() as i64;
                // Measured before the claim, so it never overstates how long the lease is ours.
                let held_until = tokio::time::Instant::now() + self.config.lease;
                match self.store.claim_job(&self.owner, now, lease_until).await {
                    Ok(Some(job)) => {
                        let runner = self.clone();
                        let cancelled = cancelled.clone();
                        let span = tracing::info_span!("job", job.id = %job.display_id(), tenant.id = %job.tenant, command.name = %job.command);
                        tokio::spawn(
                            async move {
                                runner.clone().execute(job, cancelled, held_until).await;
                                drop(permit);
                                // A freed slot can take the next queued job at once, rather
                                // than at the next poll.
                                runner.wake();
                            }
                            .instrument(span),
                        );
                    }
                    Ok(None) => break,
                    Err(error) => {
                        tracing::warn!("claiming a job failed: {error:#}");
                        break;
                    }
                }
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
        }
        let all = self.config.concurrency as u32;
        if tokio::time::timeout(self.config.shutdown_grace, slots.acquire_many(all))
            .await
            .is_err()
        {
            tracing::warn!("jobs still running after the shutdown grace period: handing them back");
            let _ = cancel_all.send(true);
            let _ = tokio::time::timeout(Duration::from_secs(5), slots.acquire_many(all)).await;
        }
    }

    /// An audit event about a job, by warden itself.
    pub(crate) fn job_event(&self, job: &Job, kind: &str, details: serde_json::Value) -> NewEvent {
        let mut details = details;
        // The card the story is told on, so audit searches and the job page can link to its
        // thread (SPEC §13).
        if let (true, Some(map)) = (self.threaded(job), details.as_object_mut()) {
            map.insert("card".into(), job.card_key().into());
        }
        NewEvent {
            tenant: job.tenant.clone(),
            actor: "warden".to_string(),
            kind: kind.to_string(),
            target: job.display_id(),
            channel: job.channel.clone(),
            request_id: job.request_id.clone(),
            details,
        }
    }

    /// The arguments as people may see them.
    pub(crate) fn shown_args(&self, job: &Job) -> Vec<(String, String)> {
        let spec = self.registry.get(&job.command);
        job.args
            .iter()
            .map(|(name, value)| {
                let secret = spec.and_then(|s| s.arg(name)).is_none_or(|a| a.secret);
                let value = if secret {
                    crate::commands::args::REDACTED.to_string()
                } else {
                    value.clone()
                };
                (name.clone(), value)
            })
            .collect()
    }

    /// Adds to `tx` the outbox rows that show a job's current state at `moment`: an update of
    /// its card (its own message `job:N`, or the card it inherited) and, for a threaded job,
    /// the moment's reply in the card's thread. Without a channel, the start and the end of
    /// the job go through the request's reply handle instead, while it is valid.
    pub(crate) async fn enqueue_show(
        &self,
        tx: &mut Tx,
        job: &Job,
        tail: &[StoredLogLine],
        moment: Moment,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        self.enqueue_moment(tx, job, tail, moment, now).await?;
        let link = self.links.job(&job.tenant, job.id);
        let message = render::job_message(job, &self.shown_args(job), tail, &link, now);
        let key = job.card_key();
        let milestone = job.status.is_final() || moment != Moment::Progress;
        let channel = job.channel.parse::<ChannelRef>().ok();
        // With a channel, the dispatcher itself answers through the post's fallback handle
        // when the post could not be made; without one, the reply handle is the only way.
        let unreachable = channel.is_none();
        if let Some(channel) = channel {
            tx.enqueue(
                &Outbound {
                    tenant: job.tenant.clone(),
                    delivery: Delivery::Update { channel, key },
                    message: message.clone(),
                    // The final state is what people wait for: it must not be lost quietly.
                    important: job.status.is_final(),
                },
                now,
            )
            .await?;
        }
        if let (true, true, Some(handle)) = (unreachable, milestone, &job.reply_to) {
            tx.enqueue(
                &Outbound {
                    tenant: job.tenant.clone(),
                    delivery: Delivery::Reply {
                        handle: handle.clone(),
                    },
                    message,
                    important: false,
                },
                now,
            )
            .await?;
        }
        Ok(())
    }

    /// The outbox row that posts a new job's message where it was asked for (remembered under
    /// `job:N` so it is edited in place as the job runs), or answers through the request's
    /// reply handle when there is no channel. Written in the job's creation transaction.
    pub fn job_post(&self, job: &Job, now: DateTime<Utc>) -> Option<Outbound> {
        let link = self.links.job(&job.tenant, job.id);
        let message = render::job_message(job, &self.shown_args(job), &[], &link, now);
        let delivery = match job.channel.parse::<ChannelRef>() {
            // A job told on an inherited card (its approval's, or its first run's) edits that
            // card: one card for the whole story.
            Ok(channel) if job.card.is_some() => Delivery::Update {
                channel,
                key: job.card_key(),
            },
            Ok(channel) => Delivery::Post {
                channel,
                key: Some(job_key(job.id)),
                fallback: job.reply_to.clone(),
                thread: None,
            },
            Err(_) => Delivery::Reply {
                handle: job.reply_to.clone()?,
            },
        };
        Some(Outbound {
            tenant: job.tenant.clone(),
            delivery,
            message,
            important: false,
        })
    }

    /// Shows the job's progress in a transaction of its own: new log lines are not a state
    /// change, and a failure here must not fail the job.
    pub(crate) async fn show(&self, job: &Job, tail: &[StoredLogLine]) {
        let result = async {
            let now = Utc::now();
            let mut tx = self.store.begin().await?;
            self.enqueue_show(&mut tx, job, tail, Moment::Progress, now)
                .await?;
            tx.commit().await
        }
        .await;
        if let Err(error) = result {
            tracing::warn!(job.id = %job.display_id(), "queueing the job message failed: {error:#}");
        }
    }

    /// Adds the failure alert to `tx`: to the command's alert channel, else the tenant's.
    pub(crate) async fn enqueue_alert(
        &self,
        tx: &mut Tx,
        job: &Job,
        tail: &[StoredLogLine],
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let channel = self.alert_channel(job);
        let Some(channel) = channel else {
            tracing::warn!(job.id = %job.display_id(), "job failed but no alert channel is configured for it, its tenant, or WARDEN_ALERT_CHANNEL");
            return Ok(());
        };
        let link = self.links.job(&job.tenant, job.id);
        let message = render::alert_message(job, &self.shown_args(job), tail, &link);
        if self.threaded(job) {
            // In the card's own channel the outcome reply is broadcast and is the alert;
            // elsewhere the alert links to the card's thread.
            if self.alert_in_thread(job) {
                return Ok(());
            }
            if let Some(out) = self.linked_alert(job, channel.clone(), message.clone()) {
                return tx.enqueue(&out, now).await;
            }
        }
        tx.enqueue(
            &Outbound {
                tenant: job.tenant.clone(),
                delivery: Delivery::Post {
                    channel,
                    key: None,
                    fallback: None,
                    thread: None,
                },
                message,
                important: true,
            },
            now,
        )
        .await
    }

    async fn execute(
        self: Arc<Self>,
        job: Job,
        mut shutdown: watch::Receiver<bool>,
        held_until: tokio::time::Instant,
    ) {
        let id = job.display_id();
        // The start is recorded and shown in one transaction: the audit event and the updated
        // job message commit together. A database that is briefly unreachable is waited for,
        // but only for the first half of the lease: the job must start while it is still ours.
        let start_by = held_until - self.config.lease / 2;
        let started = retrying(&id, "recording the job's start", start_by, || async {
            let now = Utc::now();
            let mut tx = self.store.begin().await?;
            tx.append_audit(
                self.job_event(
                    &job,
                    "job.started",
                    // The runner names the replica (process) that ran this attempt.
                    json!({ "attempt": job.attempt, "dry_run": job.dry_run, "runner": self.owner }),
                ),
                now,
            );
            self.enqueue_show(&mut tx, &job, &[], Moment::Started, now)
                .await?;
            tx.commit().await
        })
        .await;
        if let Err(error) = started {
            // Nothing runs that the audit log does not show starting. The job stays claimed
            // until its lease runs out; recovery then retries it or fails it with an alert.
            tracing::error!(job.id = %id, "recording the job's start failed, so it is not run; recovery will take it over: {error:#}");
            return;
        }

        // Everything the action logs or reports is scrubbed of the job's secret values (its
        // secret arguments, the signing secret, inherited tokens) before it is stored or shown.
        // The secret arguments are stored sealed apart (SPEC §16): the scrubber needs their
        // values, opened here as the action will open them.
        let opened = self.open_secrets(&job).unwrap_or_default();
        let full_args = crate::secrets::merge_secrets(&job.args, &opened);
        let scrubber = Scrubber::for_job(self.registry.get(&job.command), &full_args, &self.env);
        let (log, lines) = JobLog::scrubbing(scrubber.clone());
        let (cancel_tx, cancel_rx) = watch::channel(false);
        let drain = tokio::spawn(self.clone().drain(job.clone(), lines));
        let abandoned = Arc::new(AtomicBool::new(false));
        let renew = tokio::spawn(renew_lease(
            Lease {
                store: self.store.clone(),
                id: job.id,
                owner: self.owner.clone(),
                length: self.config.lease,
                held_until,
            },
            cancel_tx.clone(),
            abandoned.clone(),
        ));
        let stopping = shutdown.clone();
        let forward_shutdown = {
            let cancel_tx = cancel_tx.clone();
            tokio::spawn(async move {
                if shutdown.wait_for(|stop| *stop).await.is_ok() {
                    let _ = cancel_tx.send(true);
                }
            })
        };

        let outcome = match self.prepare(&job) {
            Err(error) => ActionOutcome::Failed { error },
            Ok((spec, args)) => match &spec.action {
                ActionSpec::Builtin { name } => {
                    builtin::run(&self.store, &job, name, &args, &log).await
                }
                _ => {
                    actions::run(ActionRun {
                        job_id: &id,
                        spec,
                        args: &args,
                        dry_run: job.dry_run,
                        env: &self.env,
                        log: log.clone(),
                        cancel: cancel_rx.clone(),
                        http: &self.http,
                    })
                    .await
                }
            },
        };
        let outcome = scrubber.outcome(outcome);
        drop(log);
        renew.abort();
        forward_shutdown.abort();
        let _ = drain.await;
        if abandoned.load(Ordering::SeqCst) {
            // The lease is (or is about to be) no longer ours: recovery decides this job's
            // fate, once, on whichever replica gets there; recording an outcome here could
            // contradict it.
            tracing::warn!(job.id = %id, "the job's lease could not be kept; its action was stopped and recovery will record it");
            return;
        }
        // A job stopped because this process is shutting down goes back to the queue for
        // another runner, rather than being reported as cancelled by a person.
        let handed_back = matches!(outcome, ActionOutcome::Cancelled) && *stopping.borrow();
        self.finish(job, outcome, handed_back).await;
    }

    /// Moves log lines from the action into the database in small batches, and refreshes the
    /// job's chat message with the newest lines at most every two seconds.
    async fn drain(self: Arc<Self>, job: Job, mut lines: mpsc::UnboundedReceiver<LogLine>) {
        const BATCH: usize = 200;
        let refresh = Duration::from_secs(2);
        // Thread replies are coalesced harder than card edits (SPEC §13): at most one per 10 s.
        let reply_every = Duration::from_secs(10);
        let mut last_shown = tokio::time::Instant::now();
        let mut last_reply = tokio::time::Instant::now();
        let mut unreplied: Vec<StoredLogLine> = Vec::new();
        let mut tail: Vec<StoredLogLine> = Vec::new();
        let mut batch: Vec<LogLine> = Vec::with_capacity(BATCH);
        loop {
            let open = tokio::time::timeout(
                Duration::from_millis(250),
                lines.recv_many(&mut batch, BATCH),
            )
            .await
            .map(|n| n > 0)
            .unwrap_or(true);
            if !batch.is_empty() {
                let at = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                let stored: Vec<StoredLogLine> = batch
                    .drain(..)
                    .map(|line| StoredLogLine {
                        at: at.clone(),
                        stream: stream_name(&line.stream).to_string(),
                        text: line.text,
                    })
                    .collect();
                if let Err(error) = self.store.append_job_log(job.id, &stored).await {
                    tracing::warn!(job.id = %job.display_id(), "writing job log lines failed: {error:#}");
                }
                unreplied.extend(stored.iter().cloned());
                let keep = unreplied.len().saturating_sub(render::TAIL_LINES * 2);
                unreplied.drain(..keep);
                tail.extend(stored);
                let keep = tail.len().saturating_sub(render::TAIL_LINES);
                tail.drain(..keep);
                if open && last_shown.elapsed() >= refresh {
                    self.show(&job, &tail).await;
                    last_shown = tokio::time::Instant::now();
                }
                if open && last_reply.elapsed() >= reply_every {
                    self.progress_reply(&job, &unreplied).await;
                    unreplied.clear();
                    last_reply = tokio::time::Instant::now();
                }
            }
            if !open {
                return;
            }
        }
    }

    fn prepare(
        &self,
        job: &Job,
    ) -> Result<(&CommandSpec, crate::commands::args::ParsedArgs), String> {
        let spec = self
            .registry
            .get(&job.command)
            .ok_or_else(|| format!("the command `{}` is no longer defined", job.command))?;
        let secrets = self.open_secrets(job)?;
        let raw = RawArgs {
            positional: Vec::new(),
            named: crate::secrets::merge_secrets(&job.args, &secrets),
            dry_run: job.dry_run,
            reason: job.reason.clone(),
        };
        let args = parse_args(spec, &raw)
            .map_err(|e| format!("the arguments are no longer valid for `{}`: {e}", spec.name))?;
        Ok((spec, args))
    }

    async fn finish(&self, job: Job, outcome: ActionOutcome, handed_back: bool) {
        let (status, error) = match outcome {
            ActionOutcome::Succeeded { summary } => (JobStatus::Succeeded, Some(summary)),
            ActionOutcome::Failed { error } => (JobStatus::Failed, Some(error)),
            ActionOutcome::TimedOut => (
                JobStatus::TimedOut,
                Some("killed at its timeout".to_string()),
            ),
            ActionOutcome::Cancelled => (JobStatus::Cancelled, Some("cancelled".to_string())),
        };
        let retry = handed_back
            || (matches!(status, JobStatus::Failed | JobStatus::TimedOut)
                && job.attempt < job.max_attempts);
        let error = if handed_back {
            Some("handed back to the queue at shutdown".to_string())
        } else {
            error
        };
        let now = Utc::now();
        let kind = if retry {
            "job.retried"
        } else {
            status.audit_kind()
        };
        let details = json!({
            "attempt": job.attempt,
            "status": status.as_str(),
            "error": error,
            "dry_run": job.dry_run,
            "handed_back": handed_back,
        });
        let event = self.job_event(&job, kind, details);
        // What people will see, prepared before the transaction: the log was fully drained.
        let tail = self
            .store
            .job_log(job.id, Some(render::TAIL_LINES as u32 * 2))
            .await
            .unwrap_or_default();
        let mut shown = job.clone();
        if retry {
            shown.status = JobStatus::Queued;
        } else {
            shown.status = status;
            shown.finished_at = Some(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        }
        shown.error = error.clone();
        // The outcome, its audit event, the updated job message and the alert commit together.
        // When the database is briefly unreachable (a restart, a failover), the outcome is
        // recorded once it is back, for as long as the lease would still be ours; after that,
        // recovery on some replica records the job as failed, and a late write here is refused.
        let deadline = tokio::time::Instant::now() + self.config.lease;
        let recorded = retrying(
            &job.display_id(),
            "recording the job's outcome",
            deadline,
            || self.record_outcome(&job, retry, status, &error, &event, &shown, &tail, now),
        )
        .await;
        match recorded {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(job.id = %job.display_id(), "the job's lease was lost before it finished; recovery has recorded it");
                return;
            }
            Err(error) => {
                tracing::error!(job.id = %job.display_id(), "recording the job's outcome failed; recovery will fail it when its lease runs out: {error:#}");
                return;
            }
        }
        let job = shown;
        if retry {
            self.wake();
        }
        tracing::info!(job.id = %job.display_id(), job.status = %job.status, "job finished");
    }

    /// One attempt at recording a finished job: its status, audit event, message and alert,
    /// in one transaction. False when this runner no longer holds the job.
    #[allow(clippy::too_many_arguments)]
    async fn record_outcome(
        &self,
        job: &Job,
        retry: bool,
        status: JobStatus,
        error: &Option<String>,
        event: &NewEvent,
        shown: &Job,
        tail: &[StoredLogLine],
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut tx = self.store.begin().await?;
        let held = if retry {
            tx.requeue_job(job.id, &self.owner, error.as_deref().unwrap_or(""))
                .await?
        } else {
            tx.finish_job(job.id, &self.owner, status, error.as_deref(), now)
                .await?
        };
        if held {
            if !retry {
                // Final, with no retry left: nothing will need the secret values again.
                tx.erase_sealed(crate::storage::Sealed::JobSecrets, job.id)
                    .await?;
            }
            tx.append_audit(event.clone(), now);
            let moment = if retry {
                Moment::Requeued
            } else {
                Moment::Finished
            };
            self.enqueue_show(&mut tx, shown, tail, moment, now).await?;
            if matches!(shown.status, JobStatus::Failed | JobStatus::TimedOut) {
                self.enqueue_alert(&mut tx, shown, tail, now).await?;
            }
            tx.commit().await?;
        }
        Ok(held)
    }
}

/// The lease a runner holds on one job.
struct Lease {
    store: Store,
    id: i64,
    owner: String,
    length: Duration,
    /// Until when the lease is certainly ours: measured before the claim or the last renewal
    /// was sent.
    held_until: tokio::time::Instant,
}

/// Renews the lease every third of its length (at least every 2 s, which is also how quickly a
/// cancel request is noticed); a lost lease or a cancel request cancels the action.
///
/// When the database cannot be reached, the lease cannot be renewed, and once it is about to
/// run out the job is no longer this runner's: recovery (here or on another replica) may hand
/// it to someone else as soon as the database is back. So the action is stopped before that
/// moment and `abandoned` is set: a job never runs twice at the same time, whatever the outage.
async fn renew_lease(mut lease: Lease, cancel: watch::Sender<bool>, abandoned: Arc<AtomicBool>) {
    let period = (lease.length / 3).min(Duration::from_secs(2));
    let mut tick = tokio::time::interval(period);
    tick.tick().await;
    let give_up =
        |held_until: tokio::time::Instant| tokio::time::Instant::now() + period * 2 >= held_until;
    loop {
        tick.tick().await;
        let sent = tokio::time::Instant::now();
        let until = Utc::now().timestamp_millis() + lease.length.as_millis() as i64;
        match lease.store.renew_lease(lease.id, &lease.owner, until).await {
            Ok(Some(cancel_requested)) => {
                lease.held_until = sent + lease.length;
                if cancel_requested {
                    let _ = cancel.send(true);
                }
            }
            Ok(None) => {
                tracing::warn!(
                    job.id = lease.id,
                    "lost the job's lease; stopping its action"
                );
                abandoned.store(true, Ordering::SeqCst);
                let _ = cancel.send(true);
                return;
            }
            Err(error) if give_up(lease.held_until) => {
                tracing::error!(job.id = lease.id, "cannot renew the job's lease before it runs out; stopping its action: {error:#}");
                abandoned.store(true, Ordering::SeqCst);
                let _ = cancel.send(true);
                return;
            }
            Err(error) => tracing::warn!(job.id = lease.id, "renewing the lease failed: {error:#}"),
        }
    }
}

/// Runs `attempt` until it succeeds or the next try would start after `deadline`; the
/// database may be unreachable for a moment (a restart, a failover).
async fn retrying<T, F, Fut>(
    job: &str,
    what: &str,
    deadline: tokio::time::Instant,
    mut attempt: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let mut pause = Duration::from_millis(250);
    loop {
        match attempt().await {
            Err(error) if tokio::time::Instant::now() + pause < deadline => {
                tracing::warn!(job.id = %job, "{what} failed; trying again: {error:#}");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
            other => return other,
        }
    }
}

fn stream_name(stream: &Stream) -> &'static str {
    match stream {
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
        Stream::Info => "info",
    }
}
