//! The jobs tables: creation inside a decision's transaction, claims with a lease, lease
//! renewal, logs, completion, and recovery of jobs whose runner died.

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Store, Tx};
use crate::chat::MessageRef;
use crate::jobs::model::{Job, JobStatus, NewJob, StoredLogLine};

pub(super) const JOB_COLUMNS: &str = "id, tenant, command, args, environment, requester, requester_user, approvers, dry_run, reason, channel, status, attempt, max_attempts, created_at, started_at, finished_at, cancel_requested, error, message_channel, message_id, retry_of, request_id, reply_to, card, secrets";

/// RFC 3339 with milliseconds, UTC: the one time format of every table.
pub(crate) fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(super) fn job_from_row(
    row: &AnyRow,
    keyring: Option<&crate::secrets::Keyring>,
) -> anyhow::Result<Job> {
    let id: i64 = row.try_get("id")?;
    let args: String = row.try_get("args")?;
    let approvers: String = row.try_get("approvers")?;
    let status: String = row.try_get("status")?;
    let message_channel: Option<String> = row.try_get("message_channel")?;
    let message_id: Option<String> = row.try_get("message_id")?;
    let message = match (message_channel, message_id) {
        (Some(channel), Some(id)) => channel
            .parse()
            .ok()
            .map(|channel| MessageRef { channel, id }),
        _ => None,
    };
    Ok(Job {
        id: row.try_get("id")?,
        tenant: row.try_get("tenant")?,
        command: row.try_get("command")?,
        args: serde_json::from_str(&args)?,
        environment: row.try_get("environment")?,
        requester: row.try_get("requester")?,
        requester_user: row.try_get("requester_user")?,
        approvers: serde_json::from_str(&approvers)?,
        dry_run: row.try_get::<i64, _>("dry_run")? != 0,
        reason: row.try_get("reason")?,
        channel: row.try_get("channel")?,
        status: JobStatus::parse(&status)
            .ok_or_else(|| anyhow::anyhow!("unknown job status `{status}`"))?,
        attempt: row.try_get::<i64, _>("attempt")? as u32,
        max_attempts: row.try_get::<i64, _>("max_attempts")? as u32,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        cancel_requested: row.try_get::<i64, _>("cancel_requested")? != 0,
        error: row.try_get("error")?,
        message,
        retry_of: row.try_get("retry_of")?,
        card: row.try_get("card")?,
        secrets: row.try_get("secrets")?,
        request_id: row.try_get("request_id")?,
        reply_to: super::sealed::open_capability(
            keyring,
            "jobs",
            id,
            "reply_to",
            row.try_get("reply_to")?,
        )
        .map(crate::chat::ReplyHandle::from_stored),
    })
}

impl Tx {
    /// Creates a queued job; returns its id.
    pub async fn insert_job(&mut self, job: &NewJob, now: DateTime<Utc>) -> anyhow::Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO jobs (tenant, command, args, environment, requester, requester_user, approvers, dry_run, reason, channel, status, max_attempts, created_at, retry_of, request_id, reply_to, card)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'queued', $11, $12, $13, $14, $15, $16) RETURNING id",
        )
        .bind(&job.tenant)
        .bind(&job.command)
        .bind(serde_json::to_string(&job.args)?)
        .bind(&job.environment)
        .bind(&job.requester)
        .bind(&job.requester_user)
        .bind(serde_json::to_string(&job.approvers)?)
        .bind(job.dry_run as i64)
        .bind(&job.reason)
        .bind(&job.channel)
        .bind(i64::from(job.max_attempts))
        .bind(ts(now))
        .bind(job.retry_of)
        .bind(&job.request_id)
        // The reply handle is written sealed once the row id is known (below).
        .bind(None::<String>)
        .bind(&job.card)
        .fetch_one(&mut *self.inner)
        .await?;
        self.seal_after_insert(super::Sealed::JobSecrets, id, &job.secrets)
            .await?;
        if let Some(handle) = &job.reply_to {
            let sealed = super::sealed::seal_capability(
                self.keyring.as_deref(),
                "jobs",
                id,
                "reply_to",
                handle.stored(),
            );
            sqlx::query("UPDATE jobs SET reply_to = $1 WHERE id = $2")
                .bind(sealed)
                .bind(id)
                .execute(&mut *self.inner)
                .await?;
        }
        Ok(id)
    }

    /// Reads a job inside the transaction.
    pub async fn job(&mut self, id: i64) -> anyhow::Result<Option<Job>> {
        // Locked on PostgreSQL: claims run outside the write lock (see `claim_job`), and a
        // job read here is about to be decided on.
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1{}",
            self.backend.for_update()
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut *self.inner)
            .await?;
        row.as_ref()
            .map(|r| job_from_row(r, self.keyring.as_deref()))
            .transpose()
    }

    /// Ends a job held by `owner`. Returns false when this runner no longer holds it (its
    /// lease was taken over by recovery), in which case nothing changes.
    pub async fn finish_job(
        &mut self,
        id: i64,
        owner: &str,
        status: JobStatus,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET status = $1, error = $2, finished_at = $3, lease_owner = NULL, lease_expires_ms = NULL, pid = NULL
             WHERE id = $4 AND status = 'running' AND lease_owner = $5",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(ts(now))
        .bind(id)
        .bind(owner)
        .execute(&mut *self.inner)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Puts a job held by `owner` back in the queue for another attempt.
    pub async fn requeue_job(&mut self, id: i64, owner: &str, error: &str) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET status = 'queued', error = $1, lease_owner = NULL, lease_expires_ms = NULL, pid = NULL
             WHERE id = $2 AND status = 'running' AND lease_owner = $3",
        )
        .bind(error)
        .bind(id)
        .bind(owner)
        .execute(&mut *self.inner)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Cancels a queued job at once, or asks the runner of a running one to stop it. Returns
    /// the status the job had, or `None` when it does not exist in that tenant.
    pub async fn cancel_job(
        &mut self,
        tenant: &str,
        id: i64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<JobStatus>> {
        let Some(job) = self.job(id).await?.filter(|j| j.tenant == tenant) else {
            return Ok(None);
        };
        match job.status {
            JobStatus::Queued => {
                sqlx::query(
                    "UPDATE jobs SET status = 'cancelled', finished_at = $1, error = 'cancelled before it ran' WHERE id = $2 AND status = 'queued'",
                )
                .bind(ts(now))
                .bind(id)
                .execute(&mut *self.inner)
                .await?;
            }
            JobStatus::Running => {
                sqlx::query("UPDATE jobs SET cancel_requested = 1 WHERE id = $1")
                    .bind(id)
                    .execute(&mut *self.inner)
                    .await?;
            }
            _ => {}
        }
        Ok(Some(job.status))
    }

    /// Marks a running job whose lease expired before `now_ms` as failed or re-queued
    /// (compare-and-set, so only one replica recovers it). Returns the new status.
    pub async fn recover_job(
        &mut self,
        job: &Job,
        now: DateTime<Utc>,
        error: &str,
    ) -> anyhow::Result<Option<JobStatus>> {
        let retry = job.attempt < job.max_attempts && !job.cancel_requested;
        let status = if retry {
            JobStatus::Queued
        } else {
            JobStatus::Failed
        };
        let finished = (!retry).then(|| ts(now));
        let done = sqlx::query(
            "UPDATE jobs SET status = $1, error = $2, finished_at = $3, lease_owner = NULL, lease_expires_ms = NULL
             WHERE id = $4 AND status = 'running' AND lease_expires_ms < $5",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(finished)
        .bind(job.id)
        .bind(now.timestamp_millis())
        .execute(&mut *self.inner)
        .await?;
        Ok((done.rows_affected() == 1).then_some(status))
    }
}

impl Store {
    /// Claims the oldest queued job for `owner` with a lease until `lease_until_ms`, in one
    /// statement, so two runners can never claim the same job.
    pub async fn claim_job(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until_ms: i64,
    ) -> anyhow::Result<Option<Job>> {
        // An idle poll is a plain read: the write lock is shared with every request.
        let queued: Option<i64> =
            sqlx::query_scalar("SELECT id FROM jobs WHERE status = 'queued' LIMIT 1")
                .fetch_optional(&self.pool)
                .await?;
        if queued.is_none() {
            return Ok(None);
        }
        let claim = |lock: &str| {
            format!(
                "UPDATE jobs SET status = 'running', lease_owner = $1, lease_expires_ms = $2, attempt = attempt + 1, started_at = $3, cancel_requested = 0
                 WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1{lock})
                 RETURNING {JOB_COLUMNS}"
            )
        };
        let row = match self.backend {
            super::Backend::Sqlite => {
                let mut tx = self.begin().await?;
                let row = sqlx::query(&claim(""))
                    .bind(owner)
                    .bind(lease_until_ms)
                    .bind(ts(now))
                    .fetch_optional(&mut *tx.inner)
                    .await?;
                tx.commit().await?;
                row
            }
            // One statement, outside the write lock: replicas claim in parallel, each
            // skipping the rows another replica has locked for its own claim, and a row
            // claimed by one is no longer 'queued' when the next looks.
            super::Backend::Postgres => {
                sqlx::query(&claim(" FOR UPDATE SKIP LOCKED"))
                    .bind(owner)
                    .bind(lease_until_ms)
                    .bind(ts(now))
                    .fetch_optional(&self.pool)
                    .await?
            }
        };
        row.as_ref()
            .map(|r| job_from_row(r, self.keyring.as_deref()))
            .transpose()
    }

    /// Extends the lease of a job this runner holds. Returns `None` when the runner lost it,
    /// else whether someone asked to cancel the job.
    pub async fn renew_lease(
        &self,
        id: i64,
        owner: &str,
        lease_until_ms: i64,
    ) -> anyhow::Result<Option<bool>> {
        let row: Option<(i64,)> = sqlx::query_as(
            "UPDATE jobs SET lease_expires_ms = $1 WHERE id = $2 AND status = 'running' AND lease_owner = $3
             RETURNING cancel_requested",
        )
        .bind(lease_until_ms)
        .bind(id)
        .bind(owner)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(cancel,)| cancel != 0))
    }

    /// Records the process id of a job's program, so that recovery can find it.
    pub async fn set_job_pid(&self, id: i64, pid: Option<u32>) -> anyhow::Result<()> {
        sqlx::query("UPDATE jobs SET pid = $1 WHERE id = $2")
            .bind(pid.map(i64::from))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Remembers the chat message that shows a job.
    pub async fn set_job_message(&self, id: i64, message: &MessageRef) -> anyhow::Result<()> {
        sqlx::query("UPDATE jobs SET message_channel = $1, message_id = $2 WHERE id = $3")
            .bind(message.channel.to_string())
            .bind(&message.id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Appends log lines after the job's last one.
    pub async fn append_job_log(&self, id: i64, lines: &[StoredLogLine]) -> anyhow::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        let last: Option<i64> =
            sqlx::query_scalar("SELECT MAX(seq) FROM job_logs WHERE job_id = $1")
                .bind(id)
                .fetch_one(&mut *tx.inner)
                .await?;
        let first = last.unwrap_or(0) + 1;
        const CHUNK: usize = 300;
        for (n, chunk) in lines.chunks(CHUNK).enumerate() {
            let start = first + (n * CHUNK) as i64;
            let sql = format!(
                "INSERT INTO job_logs (job_id, seq, at, stream, text) VALUES {}",
                super::values_list(chunk.len(), 5)
            );
            let mut insert = sqlx::query(&sql);
            for (i, line) in chunk.iter().enumerate() {
                insert = insert
                    .bind(id)
                    .bind(start + i as i64)
                    .bind(&line.at)
                    .bind(&line.stream)
                    .bind(&line.text);
            }
            insert.execute(&mut *tx.inner).await?;
        }
        tx.commit().await
    }

    /// A job by id.
    pub async fn job(&self, id: i64) -> anyhow::Result<Option<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref()
            .map(|r| job_from_row(r, self.keyring.as_deref()))
            .transpose()
    }

    /// The newest jobs of a tenant, newest first.
    pub async fn recent_jobs(&self, tenant: &str, limit: u32) -> anyhow::Result<Vec<Job>> {
        let sql =
            format!("SELECT {JOB_COLUMNS} FROM jobs WHERE tenant = $1 ORDER BY id DESC LIMIT $2");
        let rows = sqlx::query(&sql)
            .bind(tenant)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| job_from_row(r, self.keyring.as_deref()))
            .collect()
    }

    /// A job's log, oldest line first; `last` keeps only the newest lines.
    pub async fn job_log(&self, id: i64, last: Option<u32>) -> anyhow::Result<Vec<StoredLogLine>> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT at, stream, text FROM job_logs WHERE job_id = $1 ORDER BY seq DESC LIMIT $2",
        )
        .bind(id)
        .bind(i64::from(last.unwrap_or(u32::MAX)))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .rev()
            .map(|(at, stream, text)| StoredLogLine { at, stream, text })
            .collect())
    }

    /// Running jobs whose lease ran out before `now`.
    pub async fn expired_leases(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<Job>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE status = 'running' AND lease_expires_ms < $1 ORDER BY id"
        );
        let rows = sqlx::query(&sql)
            .bind(now.timestamp_millis())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| job_from_row(r, self.keyring.as_deref()))
            .collect()
    }

    /// Counts jobs by status, for metrics and the operators' view.
    pub async fn job_counts(&self) -> anyhow::Result<Vec<(String, i64)>> {
        Ok(
            sqlx::query_as("SELECT status, COUNT(*) FROM jobs GROUP BY status ORDER BY status")
                .fetch_all(&self.pool)
                .await?,
        )
    }
}
