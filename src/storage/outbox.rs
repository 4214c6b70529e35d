//! Writing outgoing messages into the outbox, inside the transaction of the state change that
//! caused them. Delivery-side queries live in `outbox_dispatch.rs`.

use chrono::{DateTime, Utc};

use super::Tx;
use crate::outbox::{Delivery, Outbound, StoredMessage};

impl Tx {
    /// Adds a message to the outbox in this transaction; it is delivered after commit, in
    /// order per lane. An update of a keyed message replaces an older update of the same key
    /// that has not been attempted yet, so a fast-moving job does not queue stale progress.
    pub async fn enqueue(&mut self, out: &Outbound, now: DateTime<Utc>) -> anyhow::Result<()> {
        let mut stored = StoredMessage::from(&out.message);
        let mut parent: Option<String> = None;
        match &out.delivery {
            Delivery::Thread {
                card,
                broadcast,
                mentions,
                ..
            } => {
                stored.broadcast = *broadcast;
                stored.mentions = mentions.clone();
                stored.card_title = Some(card.title.clone());
                stored.guild = card.guild.clone();
                parent = Some(card.key.clone());
            }
            Delivery::Post {
                thread: Some(card), ..
            }
            | Delivery::Linked { card, .. } => {
                stored.card_title = Some(card.title.clone());
                stored.guild = card.guild.clone();
                parent = Some(card.key.clone());
            }
            _ => {}
        }
        let message = serde_json::to_string(&stored)?;
        let now_ms = now.timestamp_millis();
        let (kind, lane, channel, key, reply_to, fallback) = match &out.delivery {
            Delivery::Post {
                channel,
                key,
                fallback,
                ..
            } => (
                "post",
                channel.to_string(),
                Some(channel.to_string()),
                key.clone(),
                None,
                fallback.as_ref().map(|f| f.stored().to_string()),
            ),
            Delivery::Update { channel, key } => {
                let replaced = sqlx::query(
                    "UPDATE outbox SET message = $1, important = CASE WHEN important > $2 THEN important ELSE $2 END
                     WHERE kind = 'update' AND key = $3 AND status = 'pending' AND attempts = 0",
                )
                .bind(&message)
                .bind(out.important as i64)
                .bind(key)
                .execute(&mut *self.inner)
                .await?;
                if replaced.rows_affected() > 0 {
                    return Ok(());
                }
                (
                    "update",
                    channel.to_string(),
                    Some(channel.to_string()),
                    Some(key.clone()),
                    None,
                    None,
                )
            }
            Delivery::Thread { channel, .. } => (
                "thread",
                channel.to_string(),
                Some(channel.to_string()),
                None,
                None,
                None,
            ),
            Delivery::Linked { channel, .. } => (
                "post",
                channel.to_string(),
                Some(channel.to_string()),
                None,
                None,
                None,
            ),
            Delivery::Reply { handle } => (
                "reply",
                // Replies to one request keep their order; they need no channel pacing.
                format!("reply:{}", short_hash(handle.stored())),
                None,
                None,
                Some(handle.stored().to_string()),
                None,
            ),
        };
        // Reply handles are capabilities: written sealed once the row id is known (below).
        let handles = (reply_to, fallback);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO outbox (tenant, kind, lane, channel, key, reply_to, fallback, message, important, next_attempt_ms, created_ms, parent)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11) RETURNING id",
        )
        .bind(&out.tenant)
        .bind(kind)
        .bind(lane)
        .bind(channel)
        .bind(key)
        .bind(None::<String>)
        .bind(None::<String>)
        .bind(&message)
        .bind(out.important as i64)
        .bind(now_ms)
        .bind(parent)
        .fetch_one(&mut *self.inner)
        .await?;
        if let (None, None) = handles {
        } else {
            let seal = |h: Option<String>| {
                h.map(|h| {
                    super::sealed::seal_capability(
                        self.keyring.as_deref(),
                        "outbox",
                        id,
                        super::sealed::OUTBOX_HANDLE,
                        &h,
                    )
                })
            };
            let (reply_to, fallback) = (seal(handles.0), seal(handles.1));
            sqlx::query("UPDATE outbox SET reply_to = $1, fallback = $2 WHERE id = $3")
                .bind(reply_to)
                .bind(fallback)
                .bind(id)
                .execute(&mut *self.inner)
                .await?;
        }
        self.enqueued = true;
        Ok(())
    }
}

/// A short, stable name for a reply handle's lane, so the credential itself is not the lane.
fn short_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}
