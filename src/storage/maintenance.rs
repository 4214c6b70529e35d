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
