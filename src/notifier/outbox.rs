//! The outbox dispatcher (SPEC §9): claims due rows with a lease, in order per lane, delivers
//! them through the Slack and Discord clients with bounded concurrency, and records each
//! outcome: delivered, tried again later (exponential backoff with jitter, never before the
//! platform's `Retry-After`), or dead-lettered (with an alert for important messages).
//!
//! Pacing is a token bucket per channel lane, kept in the database and taken in the claim's
//! transaction, so that all replicas pace a channel together: a lane with no token left is
//! handed back untried, due when its next token is. Replies through a reply handle are not
//! paced.
//!
//! Nothing here logs or stores a token, a reply handle or more than the first 80 characters of
//! a message: errors come from the clients' `DeliveryError`s, which name the call and the
//! platform's error code only.

mod pacing;
mod rules;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{watch, Notify, Semaphore};
use tracing::Instrument;

use super::{ChatNotifier, DeliveryError, DeliveryErrorKind, Notifier};
use crate::chat::discord::DiscordClient;
use crate::chat::slack::SlackClient;
use crate::chat::{Message, ReplyHandle};
use crate::metrics::Metrics;
use crate::model::ChannelRef;
use crate::outbox::{StoredMessage, CARD_LINK};
use crate::storage::{OutboxRow, PaceRule, Store};

use pacing::{retry_delay, unit_random, Pacing};
use rules::{classify, expired, parse_channel, permanent, truncate};

/// How long shutdown waits for deliveries in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Tunables of the dispatcher.
#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// Deliveries in flight at once (8).
    pub concurrency: usize,
    /// Attempts before a retryable failure is dead-lettered (10).
    pub max_attempts: u32,
    /// The first retry delay, doubled at each failure (1 s).
    pub base_backoff: Duration,
    /// The longest retry delay (5 min).
    pub max_backoff: Duration,
    /// How often to look for due rows when nothing wakes the dispatcher (250 ms).
    pub poll: Duration,
    /// Messages a second per channel (1.0); 0 disables pacing.
    pub per_channel_per_sec: f64,
    /// Messages a channel may receive at once before pacing applies (3).
    pub burst: u32,
    /// Where alerts about dead-lettered important messages go (none: only logged).
    pub dead_letter_channel: Option<ChannelRef>,
    /// How long a claim lasts; a dead dispatcher's rows are delivered by another after it (60 s).
    pub lease: Duration,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        DispatcherConfig {
            concurrency: 8,
            max_attempts: 10,
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            poll: Duration::from_millis(250),
            per_channel_per_sec: 1.0,
            burst: 3,
            dead_letter_channel: None,
            lease: Duration::from_secs(60),
        }
    }
}

/// Delivers the outbox. One per process; share it with `Arc`.
#[derive(Debug)]
pub struct Dispatcher {
    store: Store,
    chat: ChatNotifier,
    metrics: Arc<Metrics>,
    config: DispatcherConfig,
    owner: String,
    /// Signalled when a delivery finishes, so its lane's next row goes at once.
    finished: Notify,
}

/// What a successful attempt leaves to remember: (key, channel, message id, thread) of a keyed
/// post; the thread is set for a card posted in another card's thread.
type Remember = Option<(String, String, String, Option<String>)>;

impl Dispatcher {
    /// A dispatcher with a fresh lease owner id. A platform without a client fails its
    /// messages permanently.
    pub fn new(
        store: Store,
        slack: Option<SlackClient>,
        discord: Option<DiscordClient>,
        metrics: Arc<Metrics>,
        config: DispatcherConfig,
    ) -> Self {
        Dispatcher {
            store,
            chat: ChatNotifier::new(slack, discord),
            metrics,
            config,
            owner: format!("outbox-{}", uuid::Uuid::new_v4()),
            finished: Notify::new(),
        }
    }

    /// Runs until `stop` turns true (or its sender is dropped); then stops claiming and waits
    /// up to 5 s for deliveries in flight. Rows still in flight after that are delivered by
    /// the next dispatcher once their lease expires.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let concurrency = self.config.concurrency.max(1);
        let slots = Arc::new(Semaphore::new(concurrency));
        let wake = self.store.outbox_wake();
        let pacing = Pacing::new(self.config.per_channel_per_sec, self.config.burst);
        let mut tick = tokio::time::interval(self.config.poll.max(Duration::from_millis(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_stats: Option<Instant> = None;
        while !*stop.borrow() {
            if last_stats.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
                last_stats = Some(Instant::now());
                self.refresh_stats().await;
            }
            let free = slots.available_permits();
            if free > 0 {
                self.claim_and_start(free, &slots, pacing).await;
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = self.finished.notified() => {}
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
        }
        let all = concurrency as u32;
        if tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(all))
            .await
            .is_err()
        {
            tracing::warn!("outbox deliveries still in flight after {SHUTDOWN_GRACE:?}: their leases will expire and another dispatcher will send them");
        }
    }

    async fn claim_and_start(
        self: &Arc<Self>,
        free: usize,
        slots: &Arc<Semaphore>,
        pacing: Option<Pacing>,
    ) {
        let now_ms = Utc::now().timestamp_millis();
        let lease_ms = self.config.lease.as_millis() as i64;
        let rule = pacing.map(|p| move |bucket, now_ms| p.take(bucket, now_ms));
        let rule = rule.as_ref().map(|r| r as &PaceRule);
        let rows = match self
            .store
            .claim_outbox_paced(&self.owner, now_ms, lease_ms, free, rule)
            .await
        {
            Ok(rows) => rows,
            Err(error) => {
                tracing::warn!("claiming outbox rows failed: {error:#}");
                return;
            }
        };
        // Paced rows whose lane had no token left were handed back by the claim itself.
        for row in rows {
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                // Cannot happen (one claim per free slot); the lease hands it back if it does.
                tracing::warn!(outbox.id = row.id, "no delivery slot for a claimed row");
                continue;
            };
            let span = tracing::info_span!("outbox", outbox.id = row.id, outbox.kind = %row.kind, outbox.lane = %row.lane, tenant.id = %row.tenant);
            let this = self.clone();
            tokio::spawn(
                async move {
                    this.deliver(row).await;
                    drop(permit);
                    this.finished.notify_one();
                }
                .instrument(span),
            );
        }
    }

    async fn refresh_stats(&self) {
        match self.store.outbox_stats(Utc::now().timestamp_millis()).await {
            Ok(s) => {
                let oldest = s.oldest_pending_age_ms.unwrap_or(0) as f64 / 1000.0;
                self.metrics.outbox_backlog(s.pending, s.dead, oldest);
            }
            Err(error) => tracing::warn!("reading outbox statistics failed: {error:#}"),
        }
    }

    /// One attempt at one row, and its outcome recorded.
    async fn deliver(&self, row: OutboxRow) {
        let outcome = self.attempt(&row).await;
        let now_ms = Utc::now().timestamp_millis();
        let result = match outcome {
            Ok(remember) => self.delivered(&row, remember, now_ms).await,
            Err(error) => self.failed(&row, error, now_ms).await,
        };
        if let Err(error) = result {
            // The lease will expire and the row be tried again: at least once, never lost.
            tracing::error!(
                outbox.id = row.id,
                "recording an outbox outcome failed: {error:#}"
            );
        }
    }

    async fn attempt(&self, row: &OutboxRow) -> Result<Remember, DeliveryError> {
        let stored: StoredMessage = serde_json::from_str(&row.message)
            .map_err(|_| permanent("the stored message is not valid JSON"))?;
        let message = stored.to_message();
        if let Some(handle) = &row.reply_to {
            self.reply(row, handle, &message).await?;
            return Ok(None);
        }
        match row.kind.as_str() {
            "post" if row.parent.is_some() && row.key.is_some() => {
                self.post_in_thread(row, &stored, message).await
            }
            "post" => {
                let channel = parse_channel(row)?;
                let mut message = message;
                if let Some(card) = &row.parent {
                    let link = self.link_text(card, &stored).await?;
                    message.text = message.text.replace(CARD_LINK, &link);
                }
                let at = self.chat.post(&channel, &message).await.map_err(classify)?;
                Ok(row
                    .key
                    .clone()
                    .map(|key| (key, channel.to_string(), at.id, None)))
            }
            "thread" => {
                self.thread_reply(row, &stored, message).await?;
                Ok(None)
            }
            "update" => {
                let key = row
                    .key
                    .as_deref()
                    .ok_or_else(|| permanent("an update without a key"))?;
                let at = self
                    .store
                    .chat_message(key)
                    .await
                    .map_err(|e| DeliveryError {
                        kind: DeliveryErrorKind::Retryable { retry_after: None },
                        message: format!("reading the posted message failed: {e:#}"),
                    })?;
                let Some(at) = at else {
                    // The post went through its fallback reply handle: there is no message to
                    // edit. The final state (an important update) follows the same way, while
                    // the handle lives; progress updates are skipped, since a Slack
                    // response_url takes only five messages.
                    let fallback =
                        self.store
                            .post_fallback(key)
                            .await
                            .map_err(|e| DeliveryError {
                                kind: DeliveryErrorKind::Retryable { retry_after: None },
                                message: format!("reading the post's fallback failed: {e:#}"),
                            })?;
                    return match fallback {
                        Some((handle, posted_ms)) if row.important => {
                            if let Some(problem) = expired(&handle, posted_ms, Utc::now().timestamp_millis()) {
                                return Err(permanent(problem));
                            }
                            let handle = ReplyHandle::from_stored(handle);
                            self.chat.reply(&handle, &message).await.map_err(classify)?;
                            Ok(None)
                        }
                        Some(_) => Ok(None),
                        None => Err(permanent("the message it edits was never posted (its post was dead-lettered or dropped)")),
                    };
                };
                self.chat.update(&at, &message).await.map_err(classify)?;
                Ok(None)
            }
            "reply" => Err(permanent("a reply without a reply handle")),
            other => Err(permanent(format!("unknown outbox kind `{other}`"))),
        }
    }

    /// A reply under its card. A card whose post ended without a message (dead-lettered,
    /// dropped) cannot hold it: the reply is posted top-level in the channel and says so, so
    /// that it is neither lost nor queued forever.
    async fn thread_reply(
        &self,
        row: &OutboxRow,
        stored: &StoredMessage,
        mut message: Message,
    ) -> Result<(), DeliveryError> {
        let key = row
            .parent
            .as_deref()
            .ok_or_else(|| permanent("a thread reply without its card"))?;
        let title = stored.card_title.as_deref().unwrap_or(key);
        let Some(card) = self.card_in_thread(key, title).await? else {
            let channel = parse_channel(row)?;
            message.text = format!(
                "(About {title}: its message could not be posted, so this reply is not in its thread.)\n{}",
                message.text
            );
            self.chat.post(&channel, &message).await.map_err(classify)?;
            return Ok(());
        };
        self.chat
            .thread_reply(&card, &message, &stored.mentions, stored.broadcast)
            .await?;
        if card.link.is_none() {
            // Best effort: the link serves the job page and later alerts.
            let _ = self
                .remember_link(key, &card.at, stored.guild.as_deref())
                .await;
        }
        Ok(())
    }

    /// The message of card `key` with its thread started (Discord), or `None` when the card's
    /// post ended without a message.
    async fn card_in_thread(
        &self,
        key: &str,
        title: &str,
    ) -> Result<Option<crate::storage::CardMessage>, DeliveryError> {
        let card = self
            .store
            .card_message(key)
            .await
            .map_err(|e| DeliveryError {
                kind: DeliveryErrorKind::Retryable { retry_after: None },
                message: format!("reading the card failed: {e:#}"),
            })?;
        let Some(mut card) = card else {
            return Ok(None);
        };
        if let Some(thread) = self.chat.ensure_thread(&card, title).await? {
            // Remembered before anything is posted in it: a message starts one thread only,
            // so a retry of this row must find this one.
            self.store
                .set_card_thread(key, &thread)
                .await
                .map_err(|e| DeliveryError {
                    kind: DeliveryErrorKind::Retryable { retry_after: None },
                    message: format!("remembering the card's thread failed: {e:#}"),
                })?;
            card.thread_id = Some(thread);
        }
        Ok(Some(card))
    }

    /// A card posted in another card's thread (a job started from an alert's card), to be
    /// remembered with that thread. A parent whose post ended without a message cannot hold
    /// it: the card is posted top-level and says so.
    async fn post_in_thread(
        &self,
        row: &OutboxRow,
        stored: &StoredMessage,
        mut message: Message,
    ) -> Result<Remember, DeliveryError> {
        let (Some(parent), Some(key)) = (row.parent.as_deref(), row.key.clone()) else {
            return Err(permanent("a card in a thread without its parent or key"));
        };
        let title = stored.card_title.as_deref().unwrap_or(parent);
        let Some(card) = self.card_in_thread(parent, title).await? else {
            let channel = parse_channel(row)?;
            message.text = format!(
                "(About {title}: its message could not be posted, so this is not in its thread.)\n{}",
                message.text
            );
            let at = self.chat.post(&channel, &message).await.map_err(classify)?;
            return Ok(Some((key, channel.to_string(), at.id, None)));
        };
        let id = self.chat.thread_reply(&card, &message, &[], false).await?;
        // Where the new message lives: on Slack, in the parent's channel under the parent's
        // ts; on Discord, in the thread, which is a channel of its own.
        let (channel, thread) = match card.at.channel.platform {
            crate::model::Platform::Discord => {
                let thread = card.thread_id.clone().unwrap_or(card.at.channel.id.clone());
                (format!("discord:{thread}"), thread)
            }
            _ => (
                card.at.channel.to_string(),
                card.thread_id.clone().unwrap_or(card.at.id.clone()),
            ),
        };
        Ok(Some((key, channel, id, Some(thread))))
    }

    /// The text that stands for the link to `key`'s card in a linked post: the link, or a
    /// plain reference to the card when it has no message or no link can be had.
    async fn link_text(&self, key: &str, stored: &StoredMessage) -> Result<String, DeliveryError> {
        let title = stored.card_title.as_deref().unwrap_or(key);
        let card = self
            .store
            .card_message(key)
            .await
            .map_err(|e| DeliveryError {
                kind: DeliveryErrorKind::Retryable { retry_after: None },
                message: format!("reading the card failed: {e:#}"),
            })?;
        let Some(card) = card else {
            return Ok(format!("(the message of {title} could not be posted)"));
        };
        if let Some(link) = card.link {
            return Ok(link);
        }
        match self
            .remember_link(key, &card.at, stored.guild.as_deref())
            .await
        {
            Some(link) => Ok(link),
            None => Ok(format!("the thread of {title} in {}", card.at.channel)),
        }
    }

    /// Asks for the card's link and remembers it; `None` (logged) when it cannot be had.
    async fn remember_link(
        &self,
        key: &str,
        at: &crate::chat::MessageRef,
        guild: Option<&str>,
    ) -> Option<String> {
        match self.chat.card_link(at, guild).await {
            Ok(Some(link)) => {
                if let Err(error) = self.store.set_card_link(key, &link).await {
                    tracing::warn!("remembering a card's link failed: {error:#}");
                }
                Some(link)
            }
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(error = %error, "the card's link could not be had");
                None
            }
        }
    }

    async fn reply(
        &self,
        row: &OutboxRow,
        handle: &str,
        message: &Message,
    ) -> Result<(), DeliveryError> {
        if let Some(problem) = expired(handle, row.created_ms, Utc::now().timestamp_millis()) {
            return Err(permanent(problem));
        }
        let handle = ReplyHandle::from_stored(handle.to_string());
        self.chat.reply(&handle, message).await.map_err(classify)
    }

    async fn delivered(
        &self,
        row: &OutboxRow,
        remember: Remember,
        now_ms: i64,
    ) -> anyhow::Result<()> {
        let remember = remember
            .as_ref()
            .map(|(k, c, m, t)| (k.as_str(), c.as_str(), m.as_str(), t.as_deref()));
        let held = persist(|| {
            self.store
                .outbox_delivered(row.id, &self.owner, remember, now_ms)
        })
        .await?;
        self.metrics.outbox_delivery("delivered");
        if !held {
            tracing::warn!(
                outbox.id = row.id,
                "delivered after its lease was lost: it may be delivered twice"
            );
        }
        Ok(())
    }

    async fn failed(
        &self,
        row: &OutboxRow,
        error: DeliveryError,
        now_ms: i64,
    ) -> anyhow::Result<()> {
        let failures = row.attempts.saturating_add(1);
        let text = truncate(&error.message, 300);
        match error.kind {
            DeliveryErrorKind::Permanent
                if row.kind == "post" && row.reply_to.is_none() && row.fallback.is_some() =>
            {
                let fallback = row.fallback.as_deref().unwrap_or_default();
                if let Some(problem) = expired(fallback, row.created_ms, now_ms) {
                    let text = format!("{text}; no fallback: {problem}");
                    return self.dead(row, failures, &text, now_ms).await;
                }
                let text = format!("{text}; answering through the fallback reply handle");
                tracing::warn!(error = %text, "outbox post failed for good");
                persist(|| {
                    self.store
                        .outbox_use_fallback(row.id, &self.owner, &text, now_ms)
                })
                .await?;
                self.metrics.outbox_delivery("retried");
                self.finished.notify_one();
                Ok(())
            }
            DeliveryErrorKind::Retryable { retry_after } if failures < self.config.max_attempts => {
                let delay = retry_delay(
                    failures,
                    self.config.base_backoff,
                    self.config.max_backoff,
                    retry_after,
                    unit_random(),
                );
                let next = now_ms.saturating_add(delay.as_millis() as i64);
                tracing::warn!(error = %text, attempt = failures, retry_in_ms = delay.as_millis() as u64, "outbox delivery failed; will retry");
                persist(|| {
                    self.store
                        .outbox_retry_later(row.id, &self.owner, failures, next, &text)
                })
                .await?;
                self.metrics.outbox_delivery("retried");
                Ok(())
            }
            DeliveryErrorKind::Retryable { .. } => {
                let text = format!("{text} (gave up after {failures} attempts)");
                self.dead(row, failures, &text, now_ms).await
            }
            DeliveryErrorKind::Permanent => self.dead(row, failures, &text, now_ms).await,
        }
    }

    async fn dead(
        &self,
        row: &OutboxRow,
        failures: u32,
        error: &str,
        now_ms: i64,
    ) -> anyhow::Result<()> {
        let alert = rules::alert(
            self.config.dead_letter_channel.as_ref(),
            row,
            failures,
            error,
        );
        tracing::error!(error = %error, important = row.important, alerted = alert.is_some(), "outbox message dead-lettered");
        if row.important && alert.is_none() {
            tracing::error!("no alert sent for the dead letter: no dead-letter channel is configured, or it is the failing channel");
        }
        persist(|| {
            self.store
                .outbox_dead(row.id, &self.owner, failures, error, alert.as_ref(), now_ms)
        })
        .await?;
        self.metrics.outbox_delivery("dead");
        Ok(())
    }
}

/// Retries a database write a few times: losing the outcome of a delivery means sending the
/// message again after the lease expires.
async fn persist<T, F, Fut>(write: F) -> anyhow::Result<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let mut tries = 0;
    loop {
        match write().await {
            Ok(value) => return Ok(value),
            Err(error) if tries >= 2 => return Err(error),
            Err(error) => {
                tries += 1;
                tracing::warn!("writing an outbox outcome failed, trying again: {error:#}");
                tokio::time::sleep(Duration::from_millis(200 * tries)).await;
            }
        }
    }
}
