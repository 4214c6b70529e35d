//! The delivery side of the outbox: claims with a lease, in order per lane; the outcome of each
//! attempt; the delivered messages remembered by key; and the operators' view (list, requeue,
//! drop, backlog statistics). Rows are written by `Tx::enqueue` (`outbox.rs`).
//!
//! Lane order: a row is claimable only when no older row of its lane is still pending or being
//! sent. Dead, dropped and delivered rows do not block. An update waiting for its post does not
//! block either (the post may come after it in the lane), and once the post is finished without
//! a message to edit (dead, dropped, or answered through its fallback), the update is claimable
//! so that the dispatcher dead-letters it.

use chrono::DateTime;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Store, Tx};
use crate::chat::MessageRef;
use crate::outbox::Outbound;

const COLUMNS: &str = "id, tenant, kind, lane, channel, key, reply_to, fallback, message, important, status, attempts, next_attempt_ms, last_error, created_ms, delivered_ms, parent";

/// One outbox row as the dispatcher and operators see it.
#[derive(Clone)]
pub struct OutboxRow {
    /// The row id (the order within a lane).
    pub id: i64,
    /// The tenant it belongs to.
    pub tenant: String,
    /// `post`, `update` or `reply`.
    pub kind: String,
    /// The ordering lane (`slack:C01`, `reply:HASH`).
    pub lane: String,
    /// The channel of a post or update.
    pub channel: Option<String>,
    /// The key a post is remembered under, or the key an update edits.
    pub key: Option<String>,
    /// A reply handle (stored form). A credential: never print or log it. On a post, it means
    /// the post failed for good and is answered through its fallback instead.
    pub reply_to: Option<String>,
    /// A post's fallback reply handle (stored form). A credential too.
    pub fallback: Option<String>,
    /// The `StoredMessage` JSON.
    pub message: String,
    /// Whether a dead letter alerts operators.
    pub important: bool,
    /// `pending`, `sending`, `done`, `dead` or `dropped`.
    pub status: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Not to be tried before this (Unix milliseconds).
    pub next_attempt_ms: i64,
    /// The error of the last failed attempt (never a token, URL or message text).
    pub last_error: Option<String>,
    /// When it was enqueued (Unix milliseconds).
    pub created_ms: i64,
    /// When it was delivered (Unix milliseconds).
    pub delivered_ms: Option<i64>,
    /// The card key a thread reply goes under, or a linked post links to.
    pub parent: Option<String>,
}

impl std::fmt::Debug for OutboxRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxRow")
            .field("id", &self.id)
            .field("tenant", &self.tenant)
            .field("kind", &self.kind)
            .field("lane", &self.lane)
            .field("channel", &self.channel)
            .field("key", &self.key)
            .field("reply_to", &self.reply_to.as_ref().map(|_| "[redacted]"))
            .field("fallback", &self.fallback.as_ref().map(|_| "[redacted]"))
            .field("status", &self.status)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// A card as delivered: where it is, its Discord thread, and its link once known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardMessage {
    /// The card's message.
    pub at: MessageRef,
    /// The Discord thread started from it.
    pub thread_id: Option<String>,
    /// A link to it (Slack permalink, Discord message link).
    pub link: Option<String>,
}

/// The backlog, for metrics and health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxStats {
    /// Rows not delivered yet (pending or being sent).
    pub pending: i64,
    /// Dead-lettered rows.
    pub dead: i64,
    /// Age of the oldest undelivered row.
    pub oldest_pending_age_ms: Option<i64>,
}

fn row_from(row: &AnyRow) -> anyhow::Result<OutboxRow> {
    Ok(OutboxRow {
        id: row.try_get("id")?,
        tenant: row.try_get("tenant")?,
        kind: row.try_get("kind")?,
        lane: row.try_get("lane")?,
        channel: row.try_get("channel")?,
        key: row.try_get("key")?,
        reply_to: row.try_get("reply_to")?,
        fallback: row.try_get("fallback")?,
        message: row.try_get("message")?,
        important: row.try_get::<i64, _>("important")? != 0,
        status: row.try_get("status")?,
        attempts: row.try_get::<i64, _>("attempts")?.max(0) as u32,
        next_attempt_ms: row.try_get("next_attempt_ms")?,
        last_error: row.try_get("last_error")?,
        created_ms: row.try_get("created_ms")?,
        delivered_ms: row.try_get("delivered_ms")?,
        parent: row.try_get("parent")?,
    })
}

/// How long a linked post (a failure alert) waits for its card's message id before it goes
/// with a plain reference instead of a link: an alert must not wait on a card held up by a
/// chat outage or by a crashed dispatcher's lease.
pub const LINK_WAIT_MS: i64 = 5_000;

/// SQL: the row `r` waits for a post: an update for the post it edits, a thread reply or a
/// linked post for its card (`parent`). It waits while that message is not known yet and its
/// post is still to come or still on its way; a linked post waits at most [`LINK_WAIT_MS`].
/// `$3` is the claim's time (Unix ms).
fn waiting(r: &str) -> String {
    format!(
        "(({r}.kind = 'update'
           AND NOT EXISTS (SELECT 1 FROM chat_messages m WHERE m.key = {r}.key)
           AND (NOT EXISTS (SELECT 1 FROM outbox p WHERE p.kind = 'post' AND p.key = {r}.key)
                OR EXISTS (SELECT 1 FROM outbox p WHERE p.kind = 'post' AND p.key = {r}.key
                           AND p.status IN ('pending', 'sending'))))
         OR ({r}.parent IS NOT NULL
           AND NOT ({r}.kind = 'post' AND {r}.key IS NULL AND {r}.created_ms <= $3 - {LINK_WAIT_MS})
           AND NOT EXISTS (SELECT 1 FROM chat_messages m WHERE m.key = {r}.parent)
           AND (NOT EXISTS (SELECT 1 FROM outbox p WHERE p.kind = 'post' AND p.key = {r}.parent)
                OR EXISTS (SELECT 1 FROM outbox p WHERE p.kind = 'post' AND p.key = {r}.parent
                           AND p.status IN ('pending', 'sending')))))"
    )
}

/// A pacing rule: a lane's bucket (tokens, at ms; `None` when never used) and the time in,
/// the bucket after taking a token or the milliseconds to wait out.
pub type PaceRule = dyn Fn(Option<(f64, i64)>, i64) -> Result<(f64, i64), i64> + Send + Sync;

/// Takes a token of `row`'s lane, or hands the row back due when the lane has one. Runs in the
/// claim's transaction, which holds the write lock.
async fn take_token(
    tx: &mut Tx,
    pace: &PaceRule,
    row: &OutboxRow,
    now_ms: i64,
) -> anyhow::Result<bool> {
    let bucket: Option<(f64, i64)> =
        sqlx::query_as("SELECT tokens, at_ms FROM outbox_pacing WHERE lane = $1")
            .bind(&row.lane)
            .fetch_optional(&mut *tx.inner)
            .await?;
    match pace(bucket, now_ms) {
        Ok((tokens, at_ms)) => {
            sqlx::query(
                "INSERT INTO outbox_pacing (lane, tokens, at_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (lane) DO UPDATE SET tokens = excluded.tokens, at_ms = excluded.at_ms",
            )
            .bind(&row.lane)
            .bind(tokens)
            .bind(at_ms)
            .execute(&mut *tx.inner)
            .await?;
            Ok(true)
        }
        Err(wait_ms) => {
            sqlx::query(
                "UPDATE outbox SET status = 'pending', next_attempt_ms = $1, lease_owner = NULL, lease_expires_ms = NULL
                 WHERE id = $2",
            )
            .bind(now_ms.saturating_add(wait_ms.max(1)))
            .bind(row.id)
            .execute(&mut *tx.inner)
            .await?;
            Ok(false)
        }
    }
}

impl Store {
    /// Claims up to `limit` rows that are due, at most one per lane and each the oldest
    /// undelivered row of its lane, leasing them to `owner` until `now_ms + lease_ms`. Rows
    /// whose lease expired (their dispatcher died) are handed back first.
    pub async fn claim_outbox(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> anyhow::Result<Vec<OutboxRow>> {
        self.claim_outbox_paced(owner, now_ms, lease_ms, limit, None)
            .await
    }

    /// `claim_outbox`, paced: each claimed row that posts in a channel takes a token from its
    /// lane's bucket (`outbox_pacing`), in the claim's transaction. `pace` is the rule: given
    /// the lane's bucket (`None` when never used) and the time, the bucket after taking a
    /// token, or the milliseconds until one is there. A row whose lane has no token left is
    /// handed back at once, due when the token is, and not returned. Because a lane's rows are
    /// claimed one at a time and in order, every replica paces a channel together.
    pub async fn claim_outbox_paced(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
        pace: Option<&PaceRule>,
    ) -> anyhow::Result<Vec<OutboxRow>> {
        // Most polls find nothing to do: a plain read says so without taking the write lock,
        // which every request's transaction needs too.
        let due: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM outbox
             WHERE (status = 'pending' AND next_attempt_ms <= $1)
                OR (status = 'sending' AND lease_expires_ms <= $1)
             LIMIT 1",
        )
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE outbox SET status = 'pending', lease_owner = NULL, lease_expires_ms = NULL
             WHERE status = 'sending' AND lease_expires_ms <= $1",
        )
        .bind(now_ms)
        .execute(&mut *tx.inner)
        .await?;
        let sql = format!(
            "UPDATE outbox SET status = 'sending', lease_owner = $1, lease_expires_ms = $2
             WHERE id IN (
                SELECT o.id FROM outbox o
                WHERE o.status = 'pending' AND o.next_attempt_ms <= $3 AND NOT {wait_o}
                  AND NOT EXISTS (
                    SELECT 1 FROM outbox b
                    WHERE b.lane = o.lane AND b.id < o.id AND b.status IN ('pending', 'sending')
                      AND NOT (b.status = 'pending' AND {wait_b}))
                ORDER BY o.id LIMIT $4)
             RETURNING {COLUMNS}",
            wait_o = waiting("o"),
            wait_b = waiting("b"),
        );
        let rows = sqlx::query(&sql)
            .bind(owner)
            .bind(now_ms.saturating_add(lease_ms))
            .bind(now_ms)
            .bind(limit as i64)
            .fetch_all(&mut *tx.inner)
            .await?;
        let mut rows = rows
            .iter()
            .map(row_from)
            .collect::<anyhow::Result<Vec<_>>>()?;
        rows.sort_by_key(|r| r.id);
        for row in &mut rows {
            self.open_handles(row);
        }
        if let Some(pace) = pace {
            let mut paced = Vec::with_capacity(rows.len());
            for row in rows {
                // Answers through a reply handle do not post in the channel.
                if row.reply_to.is_some() || take_token(&mut tx, pace, &row, now_ms).await? {
                    paced.push(row);
                }
            }
            rows = paced;
        }
        tx.commit().await?;
        Ok(rows)
    }

    /// Records a delivery by `owner`; a keyed post remembers its message (`key`, channel,
    /// message id) so that updates can edit it. False when `owner` no longer held the row.
    pub async fn outbox_delivered(
        &self,
        id: i64,
        owner: &str,
        key_and_message: Option<(&str, &str, &str, Option<&str>)>,
        now_ms: i64,
    ) -> anyhow::Result<bool> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE outbox SET status = 'done', delivered_ms = $1, lease_owner = NULL, lease_expires_ms = NULL
             WHERE id = $2 AND status = 'sending' AND lease_owner = $3",
        )
        .bind(now_ms)
        .bind(id)
        .bind(owner)
        .execute(&mut *tx.inner)
        .await?
        .rows_affected()
            > 0;
        // The message exists whoever holds the row now, so it is remembered either way.
        // A card posted in another card's thread is remembered with that thread, so that its
        // own replies go there too (a thread holds no thread).
        if let Some((key, channel, message_id, thread)) = key_and_message {
            sqlx::query(
                "INSERT INTO chat_messages (key, channel, message_id, created_ms, thread_id) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (key) DO UPDATE SET channel = excluded.channel, message_id = excluded.message_id, created_ms = excluded.created_ms, thread_id = excluded.thread_id",
            )
            .bind(key)
            .bind(channel)
            .bind(message_id)
            .bind(now_ms)
            .bind(thread)
            .execute(&mut *tx.inner)
            .await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    /// Hands a row back to try again at `next_attempt_ms`, after `attempts` failures.
    pub async fn outbox_retry_later(
        &self,
        id: i64,
        owner: &str,
        attempts: u32,
        next_attempt_ms: i64,
        error: &str,
    ) -> anyhow::Result<bool> {
        let result = sqlx::query(
            "UPDATE outbox SET status = 'pending', attempts = $1, next_attempt_ms = $2, last_error = $3,
                lease_owner = NULL, lease_expires_ms = NULL
             WHERE id = $4 AND status = 'sending' AND lease_owner = $5",
        )
        .bind(i64::from(attempts))
        .bind(next_attempt_ms)
        .bind(error)
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() > 0)
    }

    /// A post that failed for good is answered through its fallback reply handle instead: the
    /// row keeps its place in its lane and is due at once.
    pub async fn outbox_use_fallback(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        now_ms: i64,
    ) -> anyhow::Result<bool> {
        let result = sqlx::query(
            "UPDATE outbox SET reply_to = fallback, fallback = NULL, status = 'pending', next_attempt_ms = $1,
                last_error = $2, lease_owner = NULL, lease_expires_ms = NULL
             WHERE id = $3 AND status = 'sending' AND lease_owner = $4 AND kind = 'post' AND fallback IS NOT NULL",
        )
        .bind(now_ms)
        .bind(error)
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() > 0)
    }

    /// Dead-letters a row after `attempts` failures, enqueueing `alert` in the same
    /// transaction. False (and no alert) when `owner` no longer held the row.
    pub async fn outbox_dead(
        &self,
        id: i64,
        owner: &str,
        attempts: u32,
        error: &str,
        alert: Option<&Outbound>,
        now_ms: i64,
    ) -> anyhow::Result<bool> {
        let mut tx = self.begin().await?;
        let dead = sqlx::query(
            "UPDATE outbox SET status = 'dead', attempts = $1, last_error = $2, lease_owner = NULL, lease_expires_ms = NULL
             WHERE id = $3 AND status = 'sending' AND lease_owner = $4",
        )
        .bind(i64::from(attempts))
        .bind(error)
        .bind(id)
        .bind(owner)
        .execute(&mut *tx.inner)
        .await?
        .rows_affected()
            > 0;
        if let (true, Some(alert)) = (dead, alert) {
            let now = DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
            tx.enqueue(alert, now).await?;
        }
        tx.commit().await?;
        Ok(dead)
    }

    /// The message delivered under `key`, if any.
    pub async fn chat_message(&self, key: &str) -> anyhow::Result<Option<MessageRef>> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT channel, message_id FROM chat_messages WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(channel, id)| {
            let channel = channel
                .parse()
                .map_err(|e: String| anyhow::anyhow!("chat_messages `{key}`: {e}"))?;
            Ok(MessageRef { channel, id })
        })
        .transpose()
    }

    /// The card posted under `key`, with its Discord thread and link once known.
    pub async fn card_message(&self, key: &str) -> anyhow::Result<Option<CardMessage>> {
        let row: Option<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT channel, message_id, thread_id, link FROM chat_messages WHERE key = $1",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(channel, id, thread_id, link)| {
            let channel = channel
                .parse()
                .map_err(|e: String| anyhow::anyhow!("chat_messages `{key}`: {e}"))?;
            Ok(CardMessage {
                at: MessageRef { channel, id },
                thread_id,
                link,
            })
        })
        .transpose()
    }

    /// Remembers the Discord thread started from the card posted under `key`.
    pub async fn set_card_thread(&self, key: &str, thread_id: &str) -> anyhow::Result<()> {
        sqlx::query("UPDATE chat_messages SET thread_id = $1 WHERE key = $2")
            .bind(thread_id)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Remembers the link to the card posted under `key`.
    pub async fn set_card_link(&self, key: &str, link: &str) -> anyhow::Result<()> {
        sqlx::query("UPDATE chat_messages SET link = $1 WHERE key = $2")
            .bind(link)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Rows for operators: with `status`, the oldest `limit` pending ones (the heads of the
    /// queues) or the newest `limit` of another status; without, the newest `limit` rows.
    /// Always in id order.
    pub async fn outbox_rows(
        &self,
        status: Option<&str>,
        limit: u32,
    ) -> anyhow::Result<Vec<OutboxRow>> {
        let order = if status == Some("pending") {
            "ASC"
        } else {
            "DESC"
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM outbox WHERE ($1 IS NULL OR status = $1) ORDER BY id {order} LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(status)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let mut rows = rows
            .iter()
            .map(row_from)
            .collect::<anyhow::Result<Vec<_>>>()?;
        rows.sort_by_key(|r| r.id);
        Ok(rows)
    }

    /// One row, for operators.
    pub async fn outbox_row(&self, id: i64) -> anyhow::Result<Option<OutboxRow>> {
        let sql = format!("SELECT {COLUMNS} FROM outbox WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(row_from).transpose()
    }

    /// Puts a dead row back in its lane, due at once with a fresh attempt count. False when
    /// there is no dead row `id`.
    pub async fn outbox_requeue(&self, id: i64, now_ms: i64) -> anyhow::Result<bool> {
        let mut tx = self.begin().await?;
        let requeued = sqlx::query(
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_ms = $1 WHERE id = $2 AND status = 'dead'",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&mut *tx.inner)
        .await?
        .rows_affected()
            > 0;
        // Wakes this process's dispatcher after commit.
        tx.enqueued = requeued;
        tx.commit().await?;
        Ok(requeued)
    }

    /// Gives up on a pending or dead row for good. False when there is no such row.
    pub async fn outbox_drop(&self, id: i64) -> anyhow::Result<bool> {
        let result = sqlx::query(
            "UPDATE outbox SET status = 'dropped' WHERE id = $1 AND status IN ('pending', 'dead')",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() > 0)
    }

    /// The backlog at `now_ms`.
    pub async fn outbox_stats(&self, now_ms: i64) -> anyhow::Result<OutboxStats> {
        let (pending, dead, oldest): (i64, i64, Option<i64>) = sqlx::query_as(
            "SELECT COALESCE(SUM(CASE WHEN status = 'dead' THEN 0 ELSE 1 END), 0),
                    COALESCE(SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END), 0),
                    MIN(CASE WHEN status = 'dead' THEN NULL ELSE created_ms END)
             FROM outbox WHERE status IN ('pending', 'sending', 'dead')",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(OutboxStats {
            pending,
            dead,
            oldest_pending_age_ms: oldest.map(|at| (now_ms - at).max(0)),
        })
    }
}

impl Store {
    /// The reply handle a keyed post was answered through (its fallback), and when the post
    /// was queued, if it went that way.
    pub async fn post_fallback(&self, key: &str) -> anyhow::Result<Option<(String, i64)>> {
        let row: Option<(i64, String, i64)> = sqlx::query_as(
            "SELECT id, reply_to, created_ms FROM outbox
             WHERE kind = 'post' AND key = $1 AND status = 'done' AND reply_to IS NOT NULL
             ORDER BY id DESC LIMIT 1",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|(id, handle, created_ms)| {
            super::sealed::open_capability(
                self.keyring.as_deref(),
                "outbox",
                id,
                super::sealed::OUTBOX_HANDLE,
                Some(handle),
            )
            .map(|handle| (handle, created_ms))
        }))
    }

    /// Opens a claimed row's reply handles, for the dispatcher (which alone uses them).
    fn open_handles(&self, row: &mut OutboxRow) {
        let keyring = self.keyring.as_deref();
        let open = |h: Option<String>| {
            super::sealed::open_capability(
                keyring,
                "outbox",
                row.id,
                super::sealed::OUTBOX_HANDLE,
                h,
            )
        };
        row.reply_to = open(row.reply_to.take());
        row.fallback = open(row.fallback.take());
    }
}
