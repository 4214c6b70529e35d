//! The `schedule_slots` and `schedule_pauses` tables (SPEC §17): a scheduled command claims
//! its slot in the transaction that records its run, so a slot fires once however many
//! replicas tick; a pause is a row every replica reads at every tick.

use chrono::{DateTime, TimeZone, Utc};

use super::{Store, Tx};

/// A paused schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulePause {
    /// The tenant.
    pub tenant: String,
    /// The schedule's name.
    pub name: String,
    /// Who paused it.
    pub paused_by: String,
    /// When (Unix milliseconds).
    pub paused_ms: i64,
}

impl Store {
    /// The latest slot recorded for the schedule (fired, or the baseline it started from).
    pub async fn last_schedule_slot(
        &self,
        tenant: &str,
        name: &str,
    ) -> anyhow::Result<Option<DateTime<Utc>>> {
        let slot: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(slot_ms) FROM schedule_slots WHERE tenant = $1 AND name = $2",
        )
        .bind(tenant)
        .bind(name)
        .fetch_one(&self.pool)
        .await?;
        Ok(slot.and_then(|ms| Utc.timestamp_millis_opt(ms).single()))
    }

    /// The slots that fired (baselines left out), newest first, at most `limit`.
    pub async fn fired_schedule_slots(
        &self,
        tenant: &str,
        name: &str,
        limit: i64,
    ) -> anyhow::Result<Vec<DateTime<Utc>>> {
        let slots: Vec<i64> = sqlx::query_scalar(
            "SELECT slot_ms FROM schedule_slots WHERE tenant = $1 AND name = $2 AND baseline = 0
             ORDER BY slot_ms DESC LIMIT $3",
        )
        .bind(tenant)
        .bind(name)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(slots
            .into_iter()
            .filter_map(|ms| Utc.timestamp_millis_opt(ms).single())
            .collect())
    }

    /// Records the slot that was current when a schedule was first seen, without firing it:
    /// a slot from before the schedule existed is not a missed one. Returns false when some
    /// replica recorded one first.
    pub async fn record_schedule_baseline(
        &self,
        tenant: &str,
        name: &str,
        slot: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let inserted = sqlx::query(
            "INSERT INTO schedule_slots (tenant, name, slot_ms, fired_ms, baseline)
             VALUES ($1, $2, $3, $4, 1) ON CONFLICT (tenant, name, slot_ms) DO NOTHING",
        )
        .bind(tenant)
        .bind(name)
        .bind(slot.timestamp_millis())
        .bind(now.timestamp_millis())
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Every paused schedule.
    pub async fn schedule_pauses(&self) -> anyhow::Result<Vec<SchedulePause>> {
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT tenant, name, paused_by, paused_ms FROM schedule_pauses ORDER BY tenant, name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(tenant, name, paused_by, paused_ms)| SchedulePause {
                tenant,
                name,
                paused_by,
                paused_ms,
            })
            .collect())
    }
}

impl Tx {
    /// Whether the schedule is paused, read inside the write transaction.
    pub async fn schedule_paused(&mut self, tenant: &str, name: &str) -> anyhow::Result<bool> {
        let found: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM schedule_pauses WHERE tenant = $1 AND name = $2",
        )
        .bind(tenant)
        .bind(name)
        .fetch_one(&mut *self.inner)
        .await?;
        Ok(found > 0)
    }

    /// Claims `slot` of the schedule. Returns false when it was already claimed (by this
    /// replica earlier, or by another one): the caller then acts on nothing.
    pub async fn claim_schedule_slot(
        &mut self,
        tenant: &str,
        name: &str,
        slot_ms: i64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let inserted = sqlx::query(
            "INSERT INTO schedule_slots (tenant, name, slot_ms, fired_ms, baseline)
             VALUES ($1, $2, $3, $4, 0) ON CONFLICT (tenant, name, slot_ms) DO NOTHING",
        )
        .bind(tenant)
        .bind(name)
        .bind(slot_ms)
        .bind(now.timestamp_millis())
        .execute(&mut *self.inner)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Pauses the schedule. Returns false when it was already paused.
    pub async fn pause_schedule(
        &mut self,
        tenant: &str,
        name: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let inserted = sqlx::query(
            "INSERT INTO schedule_pauses (tenant, name, paused_by, paused_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant, name) DO NOTHING",
        )
        .bind(tenant)
        .bind(name)
        .bind(by)
        .bind(now.timestamp_millis())
        .execute(&mut *self.inner)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Records `slot` as handled without firing it (see
    /// [`Store::record_schedule_baseline`]), inside a transaction.
    pub async fn record_schedule_baseline(
        &mut self,
        tenant: &str,
        name: &str,
        slot: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let inserted = sqlx::query(
            "INSERT INTO schedule_slots (tenant, name, slot_ms, fired_ms, baseline)
             VALUES ($1, $2, $3, $4, 1) ON CONFLICT (tenant, name, slot_ms) DO NOTHING",
        )
        .bind(tenant)
        .bind(name)
        .bind(slot.timestamp_millis())
        .bind(now.timestamp_millis())
        .execute(&mut *self.inner)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Resumes the schedule. Returns false when it was not paused.
    pub async fn resume_schedule(&mut self, tenant: &str, name: &str) -> anyhow::Result<bool> {
        let deleted = sqlx::query("DELETE FROM schedule_pauses WHERE tenant = $1 AND name = $2")
            .bind(tenant)
            .bind(name)
            .execute(&mut *self.inner)
            .await?;
        Ok(deleted.rows_affected() == 1)
    }
}
