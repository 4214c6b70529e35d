//! Firing scheduled commands (SPEC §17), the `schedules` built-in, and pausing.
//!
//! Every tick, each schedule whose slot is due runs as an ordinary invocation of its principal
//! through the whole guard. The run's writes (its audit event, job or approval request and their
//! cards, or its refusal and the alert) commit in one transaction with the slot's claim, which
//! is refused when another replica claimed the slot first or the schedule is paused.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use crate::audit::NewEvent;
use crate::chat::{Message, Reply};
use crate::config::ScheduledCommand;
use crate::guard::{self, Context, Next, Prepared, StatefulRequest};
use crate::outbox::{Delivery, Outbound};
use crate::schedules::{self, Due};
use crate::storage::{SchedulePause, Store};

use super::writer::{Outcome, SlotClaim, Unit};
use super::{Handled, Service};

/// How a scheduled run ended, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// Accepted: a job, or an approval request, was created.
    Accepted,
    /// Refused by the guard (audited and alerted).
    Refused,
    /// The slot was claimed already (another replica ran it).
    Replay,
    /// The schedule is paused.
    Paused,
}

impl RunOutcome {
    /// The metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Accepted => "accepted",
            RunOutcome::Refused => "refused",
            RunOutcome::Replay => "replay",
            RunOutcome::Paused => "paused",
        }
    }
}

impl Service {
    /// Runs every schedule whose slot is due at `now`; returns how many runs this call
    /// recorded (accepted or refused). A schedule seen for the first time only records its
    /// current slot. A schedule that fails is logged and the others are still tried.
    pub async fn fire_schedules(&self, now: DateTime<Utc>) -> anyhow::Result<usize> {
        if self.directory.schedules.is_empty() {
            return Ok(0);
        }
        let paused = self.store.schedule_pauses().await?;
        let mut fired = 0;
        for schedule in &self.directory.schedules {
            if is_paused(&paused, schedule) {
                continue;
            }
            let result = async {
                let last = self
                    .store
                    .last_schedule_slot(&schedule.tenant, &schedule.name)
                    .await?;
                match schedules::due(schedule, last, now) {
                    Due::Nothing => Ok(None),
                    Due::Baseline(slot) => {
                        self.store
                            .record_schedule_baseline(&schedule.tenant, &schedule.name, slot, now)
                            .await?;
                        Ok(None)
                    }
                    Due::Fire(slot) => self.run_scheduled(schedule, slot, now).await.map(Some),
                }
            }
            .await;
            match result {
                Ok(None) => {}
                Ok(Some(outcome)) => {
                    self.metrics.schedule_run(outcome.as_str());
                    if matches!(outcome, RunOutcome::Accepted | RunOutcome::Refused) {
                        fired += 1;
                    }
                }
                Err(error) => {
                    self.metrics.schedule_run("error");
                    tracing::warn!(
                        tenant.id = %schedule.tenant,
                        schedule.name = %schedule.name,
                        "a scheduled run failed: {error:#}"
                    );
                }
            }
        }
        Ok(fired)
    }

    /// Runs one slot of `schedule` through the guard, as its principal.
    pub async fn run_scheduled(
        &self,
        schedule: &ScheduledCommand,
        slot: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<RunOutcome> {
        let inv = schedules::invocation(schedule, slot);
        let runtime = self.bindings.get(now).await;
        let ctx = Context {
            directory: &self.directory,
            registry: &self.registry,
            root: &self.root,
            runtime_bindings: &runtime,
            can_seal: self.runner.keyring.is_some(),
            help_cache: Some(&self.help_cache),
        };
        let claim = || SlotClaim {
            tenant: schedule.tenant.clone(),
            name: schedule.name.clone(),
            slot_ms: slot.timestamp_millis(),
        };
        let slot_text = slot.to_rfc3339_opts(SecondsFormat::Secs, true);
        let tag = |details: &mut serde_json::Value| {
            details["platform"] = inv.platform.as_str().into();
            details["schedule"] = schedule.name.clone().into();
            details["slot"] = slot_text.clone().into();
        };
        let refusal = match guard::prepare(&ctx, &inv, now) {
            Prepared::Accepted(accepted) => {
                let mut details = guard::accepted_details(&accepted);
                tag(&mut details);
                let alert = self.schedule_alert(schedule, slot, "it reached its rate limit");
                let (unit, next) =
                    self.accepted_unit(&inv, &accepted, now, details, None, true, alert)?;
                let outcome = self.submit_claiming(&inv, now, unit, Some(claim())).await?;
                return Ok(match outcome {
                    Outcome::Done(created) => {
                        if let (Next::Run, Some(_)) = (next, created) {
                            self.runner.wake();
                        }
                        RunOutcome::Accepted
                    }
                    Outcome::RateLimited(_) => {
                        self.metrics.refuse(guard::Step::RateLimit.as_str());
                        RunOutcome::Refused
                    }
                    Outcome::Replay => RunOutcome::Replay,
                    Outcome::Paused => RunOutcome::Paused,
                });
            }
            Prepared::Refused(refusal) => refusal,
            // `warden check` refuses a built-in in a schedule; a run that still meets one (a
            // definition changed under a running server) is refused like any other.
            _ => guard::Refusal {
                step: guard::Step::Command,
                tenant: schedule.tenant.clone(),
                actor: schedule.run_as.to_string(),
                command: inv.command.clone(),
                message: format!(
                    "`{}` is a built-in, which a schedule cannot run",
                    inv.command
                ),
                details: json!({ "step": "command", "builtin": true }),
            },
        };
        let mut details = refusal.details.clone();
        tag(&mut details);
        let event = NewEvent {
            tenant: refusal.tenant.clone(),
            actor: refusal.actor.clone(),
            kind: "command.refused".into(),
            target: refusal.command.clone(),
            channel: inv.channel.clone().unwrap_or_default(),
            request_id: inv.request_id.clone(),
            details,
        };
        let unit = match self.schedule_alert(schedule, slot, &refusal.reply_text()) {
            Some(alert) => Unit::RecordAndPost(event, Box::new(alert)),
            None => {
                tracing::warn!(tenant.id = %schedule.tenant, schedule.name = %schedule.name, "a scheduled run was refused and no alert channel is configured");
                Unit::Record(event)
            }
        };
        Ok(
            match self.submit_claiming(&inv, now, unit, Some(claim())).await? {
                Outcome::Replay => RunOutcome::Replay,
                Outcome::Paused => RunOutcome::Paused,
                _ => {
                    self.metrics.refuse(refusal.step.as_str());
                    tracing::warn!(
                        tenant.id = %schedule.tenant,
                        schedule.name = %schedule.name,
                        guard.step = refusal.step.as_str(),
                        "a scheduled run was refused"
                    );
                    RunOutcome::Refused
                }
            },
        )
    }

    /// The alert telling the tenant's alert channel that a scheduled run did not happen.
    fn schedule_alert(
        &self,
        schedule: &ScheduledCommand,
        slot: DateTime<Utc>,
        why: &str,
    ) -> Option<Outbound> {
        let channel = self
            .directory
            .tenants
            .get(&schedule.tenant)
            .and_then(|t| t.alert_channel.clone())
            .or_else(|| self.runner.fallback_alert_channel.clone())?;
        let text = format!(
            "Scheduled command `{}` did not run: `{} {}` as {}, slot {}. {why}\nSee why with `warden policy explain --as {} {}`, or pause it with `warden schedules pause {}`.",
            schedule.name,
            self.root,
            schedule.command,
            schedule.run_as,
            slot.format("%Y-%m-%d %H:%M:%S UTC"),
            schedules::principal_user(schedule),
            schedule.command,
            schedule.name,
        );
        Some(Outbound {
            tenant: schedule.tenant.clone(),
            delivery: Delivery::Post {
                channel,
                key: None,
                fallback: None,
                thread: None,
            },
            message: Message {
                text,
                buttons: Vec::new(),
            },
            important: true,
        })
    }

    /// `schedules`: the tenant's schedules, with their state, last and next runs.
    pub(super) async fn schedules_builtin(
        &self,
        request: &StatefulRequest,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(Reply, Handled)> {
        let text = list(
            &self.store,
            &self.directory.schedules,
            Some(&request.tenant),
            now,
        )
        .await?;
        Ok((Reply::ephemeral(text), Handled::Ok))
    }
}

fn is_paused(paused: &[SchedulePause], schedule: &ScheduledCommand) -> bool {
    paused
        .iter()
        .any(|p| p.tenant == schedule.tenant && p.name == schedule.name)
}

/// The schedules (of one tenant, or all), one line each: name, when, what as whom, where,
/// paused or not, the last run and the next slot.
pub async fn list(
    store: &Store,
    all: &[ScheduledCommand],
    tenant: Option<&str>,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let paused = store.schedule_pauses().await?;
    let mut lines = Vec::new();
    for schedule in all.iter().filter(|s| tenant.is_none_or(|t| t == s.tenant)) {
        let fired = store
            .fired_schedule_slots(&schedule.tenant, &schedule.name, 1)
            .await?;
        let last = fired
            .first()
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_else(|| "never".into());
        let state = match paused
            .iter()
            .find(|p| p.tenant == schedule.tenant && p.name == schedule.name)
        {
            Some(p) => format!(
                "PAUSED by {} at {}",
                p.paused_by,
                DateTime::from_timestamp_millis(p.paused_ms)
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default()
            ),
            None => {
                let next = crate::digests::latest_slot(&schedule.schedule, now)
                    + crate::digests::period(&schedule.schedule);
                format!("next {}", next.format("%Y-%m-%d %H:%M:%S UTC"))
            }
        };
        lines.push(format!(
            "`{}` ({}): `{}` as {} in {}, {}; {state}; last run {last}",
            schedule.name,
            schedule.tenant,
            schedule.command,
            schedule.run_as,
            schedule.channel,
            schedule.schedule,
        ));
    }
    if lines.is_empty() {
        return Ok("No schedules are configured.".to_string());
    }
    lines.insert(0, "Schedules:".to_string());
    Ok(lines.join("\n"))
}

/// Pauses (`paused = true`) or resumes the schedule, audited (`schedule.paused`,
/// `schedule.resumed`) in the same transaction; every replica reads it at its next tick, and a
/// run that commits after it sees it. Resuming records the current slot as already handled, so
/// the slots missed while paused are not caught up. Returns false when nothing changed.
pub async fn set_paused(
    store: &Store,
    schedule: &ScheduledCommand,
    actor: &str,
    paused: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let mut tx = store.begin().await?;
    let changed = if paused {
        tx.pause_schedule(&schedule.tenant, &schedule.name, actor, now)
            .await?
    } else {
        let slot = crate::digests::latest_slot(&schedule.schedule, now);
        tx.record_schedule_baseline(&schedule.tenant, &schedule.name, slot, now)
            .await?;
        tx.resume_schedule(&schedule.tenant, &schedule.name).await?
    };
    if !changed {
        return Ok(false);
    }
    tx.append_audit(
        NewEvent {
            tenant: schedule.tenant.clone(),
            actor: actor.to_string(),
            kind: if paused {
                "schedule.paused"
            } else {
                "schedule.resumed"
            }
            .into(),
            target: schedule.name.clone(),
            channel: String::new(),
            request_id: format!("cli-{}", uuid::Uuid::new_v4()),
            details: json!({ "command": schedule.command, "schedule": schedule.schedule.to_string() }),
        },
        now,
    );
    tx.commit().await?;
    Ok(true)
}
