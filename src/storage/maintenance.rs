//! Housekeeping that keeps the small bookkeeping tables small.

use super::Store;

impl Store {
    /// Deletes replay keys whose window has closed. Returns how many were removed.
    pub async fn purge_replay_keys(&self, now_secs: i64) -> anyhow::Result<u64> {
        let done = sqlx::query("DELETE FROM replay_keys WHERE expires_at < $1")
            .bind(now_secs)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

impl Store {
    /// Deletes outbox rows delivered or dropped before `before_ms`, so the table holds the
    /// queue and recent history, not every message ever sent. Dead letters are kept until an
    /// operator retries or drops them. Returns how many were removed.
    pub async fn purge_outbox(&self, before_ms: i64) -> anyhow::Result<u64> {
        let done = sqlx::query(
            "DELETE FROM outbox WHERE status IN ('done', 'dropped') AND created_ms < $1",
        )
        .bind(before_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
