//! The `digest_slots` table: a scheduled digest claims its slot in the transaction that
//! enqueues it, so a slot fires once however many replicas tick.

use chrono::{DateTime, TimeZone, Utc};

use super::{Store, Tx};

impl Store {
    /// The latest slot claimed for the digest of `tenant` to `channel`, if any.
    pub async fn last_digest_slot(
        &self,
        tenant: &str,
        channel: &str,
    ) -> anyhow::Result<Option<DateTime<Utc>>> {
        let slot: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(slot_ms) FROM digest_slots WHERE tenant = $1 AND channel = $2",
        )
        .bind(tenant)
        .bind(channel)
        .fetch_one(&self.pool)
        .await?;
        Ok(slot.and_then(|ms| Utc.timestamp_millis_opt(ms).single()))
    }

    /// How many slots have been claimed for the digest of `tenant` to `channel`.
    pub async fn digest_slot_count(&self, tenant: &str, channel: &str) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM digest_slots WHERE tenant = $1 AND channel = $2",
        )
        .bind(tenant)
        .bind(channel)
        .fetch_one(&self.pool)
        .await?)
    }
}

impl Tx {
    /// Claims `slot` of the digest of `tenant` to `channel`. Returns false when it was already
    /// claimed (by this replica earlier, or by another one): the caller then sends nothing.
    pub async fn claim_digest_slot(
        &mut self,
        tenant: &str,
        channel: &str,
        slot: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let inserted = sqlx::query(
            "INSERT INTO digest_slots (tenant, channel, slot_ms, sent_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant, channel, slot_ms) DO NOTHING",
        )
        .bind(tenant)
        .bind(channel)
        .bind(slot.timestamp_millis())
        .bind(now.timestamp_millis())
        .execute(&mut *self.inner)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }
}
