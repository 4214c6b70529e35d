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

impl Store {
    /// Deletes the log lines of jobs that reached a final state (succeeded, failed, timed out,
    /// cancelled) before `before` (an RFC 3339 time, as `finished_at` is stored). A queued or
    /// running job keeps its log whatever its age; the job row and its audit events stay.
    /// Returns how many lines were removed.
    pub async fn purge_job_logs(&self, before: &str) -> anyhow::Result<u64> {
        let done = sqlx::query(
            "DELETE FROM job_logs WHERE job_id IN (
                 SELECT id FROM jobs
                 WHERE status IN ('succeeded', 'failed', 'timed_out', 'cancelled')
                   AND finished_at IS NOT NULL AND finished_at < $1)",
        )
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Deletes confirmations whose window closed before `before_ms`, whatever their status: a
    /// prompt past its window can no longer be confirmed. One still inside its window (or
    /// closed less than the retention ago) stays. Returns how many were removed.
    pub async fn purge_confirmations(&self, before_ms: i64) -> anyhow::Result<u64> {
        let done = sqlx::query("DELETE FROM confirmations WHERE expires_ms < $1")
            .bind(before_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Deletes the remembered chat messages (the ids updates edit) recorded before
    /// `before_ms` that nothing live can edit any more: no outbox row of their key is queued,
    /// being sent or dead-lettered (it may be retried), none was written since `before_ms`,
    /// and the job (`job:N`) or approval (`approval:N`) they show is no longer queued, running
    /// or pending. Returns how many were removed.
    pub async fn purge_chat_messages(&self, before_ms: i64) -> anyhow::Result<u64> {
        let done = sqlx::query(
            "DELETE FROM chat_messages WHERE created_ms < $1
               AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.key = chat_messages.key
                               AND (o.status IN ('pending', 'sending', 'dead') OR o.created_ms >= $1))
               AND NOT EXISTS (SELECT 1 FROM jobs j
                               WHERE j.id = CASE WHEN chat_messages.key LIKE 'job:%'
                                                 THEN CAST(substr(chat_messages.key, 5) AS BIGINT) END
                                 AND j.status IN ('queued', 'running'))
               AND NOT EXISTS (SELECT 1 FROM approvals a
                               WHERE a.id = CASE WHEN chat_messages.key LIKE 'approval:%'
                                                 THEN CAST(substr(chat_messages.key, 10) AS BIGINT) END
                                 AND a.status = 'pending')",
        )
        .bind(before_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
