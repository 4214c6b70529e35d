//! Group commit: one task writes the effects of many concurrent requests in one transaction.
//!
//! Requests that only record an event (built-in answers such as help, refusals) skip this
//! task on SQLite files: they go straight to the storage's SQLite writer thread, which groups
//! them the same way (`Service::submit`). Everything else comes here.
//!
//! SQLite has a single writer, and with sqlx every statement crosses threads, so one
//! transaction per request caps throughput at a couple of thousand requests a second and turns
//! concurrency into queueing. The writer instead takes whatever has queued up (up to
//! `MAX_BATCH`), claims all their replay keys with one INSERT, applies each unit in order, and
//! commits once; the audit events of the whole batch are written by one multi-row INSERT at
//! commit. Each unit still sees the effects of the units before it (a duplicate key later in
//! the same batch is a replay; rate-limit counts include earlier uses).
//!
//! One bad unit cannot fail the others: when the database refuses a batch because of the data
//! one unit holds (a value it cannot store, a constraint), the batch was rolled back whole and
//! each of its units is written again alone, in order, so only the bad one fails. "All or
//! nothing" holds per request either way. A batch that failed for any other reason (the
//! database is unreachable, a lock wait ran out) fails every unit at once, so that during an
//! outage nobody waits for a queue of doomed retries.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use tokio::sync::{mpsc, oneshot};

use crate::audit::NewEvent;
use crate::jobs::NewJob;
use crate::model::RateLimit;
use crate::outbox::Outbound;
use crate::policy::rate::{self, RateLimited};
use crate::storage::{NewApproval, NewConfirmation};
use crate::storage::{Store, Tx};

use super::REPLAY_KEY_TTL_SECS;

/// The most units committed together.
const MAX_BATCH: usize = 256;

/// What one request wants written. It is cloned for each attempt, because a batch that the
/// database refused is written again unit by unit.
#[derive(Clone)]
pub(super) enum Unit {
    /// Write these events and nothing else (refusals, built-in answers).
    Record(NewEvent),
    /// Write this event and post this message (a scheduled run's refusal and its alert).
    RecordAndPost(NewEvent, Box<Outbound>),
    /// An accepted command: check its rate limit, if any, then record its event and create
    /// what comes next (a job or a confirmation).
    Accepted {
        /// The `command.invoked` event.
        event: NewEvent,
        /// The rate-limit step, when the command has a limit.
        rate: Option<Box<RatePlan>>,
        /// What to create once it passed.
        then: Then,
    },
}

/// Renders the message announcing what was created, once its id is known. It may be called
/// once per attempt.
pub(super) type Announce = Arc<dyn Fn(i64) -> Option<Outbound> + Send + Sync>;

/// What an accepted command creates, in the same transaction as its audit event and the
/// message that announces it.
#[derive(Clone)]
pub(super) enum Then {
    /// A queued job, and its job message.
    Job(Box<NewJob>, Announce),
    /// A pending confirmation (answered in the HTTP reply itself).
    Confirm(Box<NewConfirmation>),
    /// A pending approval request, and its request message.
    Approval(Box<NewApproval>, Announce),
    /// Nothing beyond the event: a rate-limited built-in that only answers (`dashboard`).
    Nothing,
}

/// The rate-limit step, decided inside the transaction so that concurrent uses are counted.
#[derive(Clone)]
pub(super) struct RatePlan {
    pub tenant: String,
    pub actor: String,
    pub command: String,
    pub limit: RateLimit,
    /// The `command.refused` event written if the limit is reached.
    pub refused: NewEvent,
    /// The message posted if the limit is reached (a scheduled run's alert).
    pub alert: Option<Outbound>,
}

/// A schedule's slot, claimed in the transaction that records its run (SPEC §17).
pub(super) struct SlotClaim {
    pub tenant: String,
    pub name: String,
    pub slot_ms: i64,
}

/// How a unit ended.
pub(super) enum Outcome {
    /// Written; with the id of the job or confirmation created, if any.
    Done(Option<i64>),
    /// Its replay key was already recorded: nothing written.
    Replay,
    /// Refused by the rate limit; the refusal was recorded.
    RateLimited(RateLimited),
    /// A scheduled run whose schedule is paused: nothing written.
    Paused,
}

pub(super) struct Submission {
    pub replay_key: Option<String>,
    pub now: DateTime<Utc>,
    pub unit: Unit,
    pub slot: Option<SlotClaim>,
    pub done: oneshot::Sender<Result<Outcome, String>>,
}

/// One unit as the writer holds it: its replay key, its time, what to write, and the
/// schedule slot it claims.
type Pending = (Option<String>, DateTime<Utc>, Unit, Option<SlotClaim>);

/// Starts the writer task; it ends when every sender is dropped.
pub(super) fn spawn(store: Store) -> mpsc::Sender<Submission> {
    let (sender, mut receiver) = mpsc::channel::<Submission>(4 * MAX_BATCH);
    tokio::spawn(async move {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let (units, senders): (Vec<Pending>, Vec<_>) = batch
                .drain(..)
                .map(|s| ((s.replay_key, s.now, s.unit, s.slot), s.done))
                .unzip();
            for (done, result) in senders.into_iter().zip(write(&store, &units).await) {
                let _ = done.send(result.map_err(|error| format!("{error:#}")));
            }
        }
    });
    sender
}

/// Writes a batch, and when the database refused it for the data of some unit, each unit
/// alone. Returns one result per unit, in order.
async fn write(store: &Store, units: &[Pending]) -> Vec<anyhow::Result<Outcome>> {
    let first = write_batch(store, units).await;
    let error = match first {
        Ok(outcomes) => return outcomes.into_iter().map(Ok).collect(),
        Err(error) => error,
    };
    if units.len() == 1 || !crate::storage::is_data_rejection(&error) {
        let message = format!("{error:#}");
        return units
            .iter()
            .map(|_| Err(anyhow::anyhow!(message.clone())))
            .collect();
    }
    tracing::warn!(
        batch.units = units.len(),
        "the database refused a batch; writing its units one by one: {error:#}"
    );
    let mut results = Vec::with_capacity(units.len());
    for unit in units {
        let result = write_batch(store, std::slice::from_ref(unit))
            .await
            .map(|mut outcomes| outcomes.remove(0));
        if let Err(error) = &result {
            tracing::warn!("a unit the database refused failed alone: {error:#}");
        }
        results.push(result);
    }
    results
}

async fn write_batch(store: &Store, units: &[Pending]) -> anyhow::Result<Vec<Outcome>> {
    let mut tx = store.begin().await?;
    let keys: Vec<(String, i64)> = units
        .iter()
        .filter_map(|(key, now, _, _)| {
            key.clone()
                .map(|k| (k, now.timestamp() + REPLAY_KEY_TTL_SECS))
        })
        .collect();
    let mut fresh = if keys.is_empty() {
        Default::default()
    } else {
        tx.claim_replay_keys(&keys).await?
    };
    let mut outcomes = Vec::with_capacity(units.len());
    for (key, now, unit, slot) in units {
        if let Some(key) = key {
            // The first unit with a key takes it; any later one is a replay.
            if !fresh.remove(key) {
                outcomes.push(Outcome::Replay);
                continue;
            }
        }
        if let Some(slot) = slot {
            // Read under the write lock, so a pause committed before this transaction counts
            // on every replica.
            if tx.schedule_paused(&slot.tenant, &slot.name).await? {
                outcomes.push(Outcome::Paused);
                continue;
            }
            if !tx
                .claim_schedule_slot(&slot.tenant, &slot.name, slot.slot_ms, *now)
                .await?
            {
                outcomes.push(Outcome::Replay);
                continue;
            }
        }
        outcomes.push(apply(&mut tx, unit.clone(), *now).await?);
    }
    tx.commit().await?;
    Ok(outcomes)
}

async fn apply(tx: &mut Tx, unit: Unit, now: DateTime<Utc>) -> anyhow::Result<Outcome> {
    match unit {
        Unit::Record(event) => {
            tx.append_audit(event, now);
            Ok(Outcome::Done(None))
        }
        Unit::RecordAndPost(event, out) => {
            tx.append_audit(event, now);
            tx.enqueue(&out, now).await?;
            Ok(Outcome::Done(None))
        }
        Unit::Accepted {
            event,
            rate: None,
            then,
        } => {
            tx.append_audit(event.clone(), now);
            create(tx, then, &event, now).await.map(Outcome::Done)
        }
        Unit::Accepted {
            event,
            rate: Some(plan),
            then,
        } => {
            let now_ms = now.timestamp_millis();
            let window_start = now_ms - plan.limit.per.as_millis() as i64;
            let uses = tx
                .rate_uses(&plan.tenant, &plan.actor, &plan.command, window_start)
                .await?;
            let oldest = uses
                .oldest_ms
                .and_then(|ms| Utc.timestamp_millis_opt(ms).single());
            match rate::check(&plan.limit, uses.count, oldest, now) {
                Ok(()) => {
                    tx.record_rate_use(
                        &plan.tenant,
                        &plan.actor,
                        &plan.command,
                        now_ms,
                        window_start,
                    )
                    .await?;
                    tx.append_audit(event.clone(), now);
                    create(tx, then, &event, now).await.map(Outcome::Done)
                }
                Err(limited) => {
                    let RatePlan {
                        mut refused, alert, ..
                    } = *plan;
                    refused.details["uses"] = uses.count.into();
                    tx.append_audit(refused, now);
                    if let Some(alert) = alert {
                        tx.enqueue(&alert, now).await?;
                    }
                    Ok(Outcome::RateLimited(limited))
                }
            }
        }
    }
}

/// Creates the job or confirmation an accepted command leads to, with its audit event.
async fn create(
    tx: &mut Tx,
    then: Then,
    invoked: &NewEvent,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<i64>> {
    let (kind, target, id) = match then {
        Then::Nothing => return Ok(None),
        Then::Job(job, announce) => {
            let id = tx.insert_job(&job, now).await?;
            if let Some(out) = announce(id) {
                tx.enqueue(&out, now).await?;
            }
            ("job.queued", crate::jobs::display_id(id), id)
        }
        Then::Confirm(confirmation) => {
            let id = tx.insert_confirmation(&confirmation, now).await?;
            ("confirmation.requested", format!("C-{id}"), id)
        }
        Then::Approval(approval, announce) => {
            let id = tx.insert_approval(&approval, now).await?;
            if let Some(out) = announce(id) {
                tx.enqueue(&out, now).await?;
            }
            ("approval.requested", crate::approvals::display_id(id), id)
        }
    };
    let mut details = serde_json::json!({ "command": invoked.target });
    if kind == "approval.requested" {
        // The card it is told on (SPEC §13), for links from audit searches.
        details["card"] = format!("approval:{id}").into();
    }
    tx.append_audit(
        NewEvent {
            kind: kind.to_string(),
            target,
            details,
            ..invoked.clone()
        },
        now,
    );
    Ok(Some(id))
}
