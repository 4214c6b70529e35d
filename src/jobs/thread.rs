//! A job's conversation (SPEC §13): its card is edited in place (`Runner::enqueue_show`) and
//! each moment of its life is a reply in the card's thread: the start, coalesced progress, an
//! attempt that will be retried, and the outcome with the last log lines, **Retry** on failure
//! and the requester mentioned. A command with `thread = false` keeps the flat layout.

use chrono::{DateTime, Utc};

use crate::chat::Message;
use crate::model::ChannelRef;
use crate::outbox::{Card, Delivery, Outbound, CARD_LINK};
use crate::storage::Tx;
use crate::threads;

use super::model::{Job, JobStatus, StoredLogLine};
use super::render;
use super::runner::Runner;

/// Which moment of a job's life a message shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// Created, waiting for a runner.
    Queued,
    /// A runner started an attempt.
    Started,
    /// New log lines while it runs (the card only; progress replies are coalesced apart).
    Progress,
    /// An attempt failed and another will follow.
    Requeued,
    /// It reached a final state.
    Finished,
}

impl Runner {
    /// Whether this job's story is told in a thread: it inherited a card (from an approval or
    /// the job it retries), or its command keeps the default `thread = true`.
    pub(crate) fn threaded(&self, job: &Job) -> bool {
        job.card.is_some() || self.registry.get(&job.command).is_none_or(|s| s.thread)
    }

    /// The card this job is shown on.
    pub(crate) fn card_of(&self, job: &Job, channel: &ChannelRef) -> Card {
        let guild = self
            .directory
            .tenants
            .get(&job.tenant)
            .and_then(|t| t.discord_guild.as_deref());
        threads::card(
            job.card_key(),
            threads::title(&job.display_id(), &job.command, &self.shown_args(job)),
            channel,
            guild,
        )
    }

    /// Where this job's failure alert goes: the command's alert channel, else the tenant's,
    /// else `WARDEN_ALERT_CHANNEL`.
    pub(crate) fn alert_channel(&self, job: &Job) -> Option<ChannelRef> {
        self.registry
            .get(&job.command)
            .and_then(|spec| spec.alert_channel.clone())
            .or_else(|| {
                self.directory
                    .tenants
                    .get(&job.tenant)
                    .and_then(|t| t.alert_channel.clone())
            })
            .or_else(|| self.fallback_alert_channel.clone())
    }

    /// Whether the failure alert of `job` is its outcome reply itself, broadcast to the
    /// channel: the alert channel is the card's channel (SPEC §13).
    pub(crate) fn alert_in_thread(&self, job: &Job) -> bool {
        let card_channel = job.channel.parse::<ChannelRef>().ok();
        self.threaded(job) && card_channel.is_some() && self.alert_channel(job) == card_channel
    }

    /// Adds to `tx` the reply of `moment` in the job's thread, when it is threaded and has a
    /// channel. The outcome mentions the requester; a failure whose alert channel is the
    /// card's channel is broadcast (it is the alert).
    pub(crate) async fn enqueue_moment(
        &self,
        tx: &mut Tx,
        job: &Job,
        tail: &[StoredLogLine],
        moment: Moment,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let Ok(channel) = job.channel.parse::<ChannelRef>() else {
            return Ok(());
        };
        if !self.threaded(job) {
            return Ok(());
        }
        let (mut message, tell) = match moment {
            Moment::Started => (render::started_reply(job), false),
            Moment::Requeued => (render::requeued_reply(job), false),
            Moment::Finished if job.status.is_final() => {
                (render::outcome_reply(job, tail, now), true)
            }
            Moment::Queued | Moment::Progress | Moment::Finished => return Ok(()),
        };
        let mut mentions = Vec::new();
        if tell {
            match threads::mention(&job.requester_user, &channel) {
                Some(user) => mentions.push(user),
                None => message.text = format!("{}: {}", job.requester, message.text),
            }
        }
        let broadcast = moment == Moment::Finished
            && matches!(job.status, JobStatus::Failed | JobStatus::TimedOut)
            && self.alert_in_thread(job);
        let card = self.card_of(job, &channel);
        let reply = threads::reply(&job.tenant, &channel, card, message, mentions, broadcast);
        tx.enqueue(&reply, now).await
    }

    /// A progress reply with the log lines since the last one, in a transaction of its own
    /// (log lines are not a state change; a failure here must not fail the job).
    pub(crate) async fn progress_reply(&self, job: &Job, lines: &[StoredLogLine]) {
        let Ok(channel) = job.channel.parse::<ChannelRef>() else {
            return;
        };
        if !self.threaded(job) || lines.is_empty() {
            return;
        }
        let result = async {
            let now = Utc::now();
            let mut tx = self.store.begin().await?;
            let card = self.card_of(job, &channel);
            let message = render::progress_reply(job, lines);
            let reply = threads::reply(&job.tenant, &channel, card, message, Vec::new(), false);
            tx.enqueue(
                &Outbound {
                    important: false,
                    ..reply
                },
                now,
            )
            .await?;
            tx.commit().await
        }
        .await;
        if let Err(error) = result {
            tracing::warn!(job.id = %job.display_id(), "queueing a progress reply failed: {error:#}");
        }
    }

    /// The failure alert of a threaded job in another channel than its card's: a top-level
    /// message there that links to the card's thread.
    pub(crate) fn linked_alert(
        &self,
        job: &Job,
        alert_channel: ChannelRef,
        mut message: Message,
    ) -> Option<Outbound> {
        let channel = job.channel.parse::<ChannelRef>().ok()?;
        message.text.push_str(&format!("\nThread: {CARD_LINK}"));
        Some(Outbound {
            tenant: job.tenant.clone(),
            delivery: Delivery::Linked {
                channel: alert_channel,
                card: self.card_of(job, &channel),
            },
            message,
            important: true,
        })
    }
}
