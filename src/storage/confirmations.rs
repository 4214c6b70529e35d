//! Pending confirmations of high-risk commands.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::jobs::ts;
use super::Tx;

/// A high-risk command waiting for its requester's Confirm.
#[derive(Debug, Clone)]
pub struct Confirmation {
    /// Shown as `C-{id}`.
    pub id: i64,
    /// The tenant.
    pub tenant: String,
    /// The command name.
    pub command: String,
    /// The validated arguments as text.
    pub args: Vec<(String, String)>,
    /// The reason given.
    pub reason: Option<String>,
    /// Who asked (person or identity).
    pub requester: String,
    /// The platform identity that asked; only it may confirm.
    pub requester_user: String,
    /// Where it was asked.
    pub channel: String,
    /// The plan shown to the requester.
    pub plan: String,
    /// `pending`, `confirmed`, `cancelled` or `expired`.
    pub status: String,
    /// When it stops being confirmable (Unix ms).
    pub expires_ms: i64,
}

/// A confirmation about to be created.
#[derive(Debug, Clone)]
pub struct NewConfirmation {
    /// The tenant.
    pub tenant: String,
    /// The command name.
    pub command: String,
    /// The validated arguments as text.
    pub args: Vec<(String, String)>,
    /// The reason given.
    pub reason: Option<String>,
    /// Who asked.
    pub requester: String,
    /// The platform identity that asked.
    pub requester_user: String,
    /// Where it was asked.
    pub channel: String,
    /// The plan shown.
    pub plan: String,
    /// When it stops being confirmable (Unix ms).
    pub expires_ms: i64,
    /// The values of its secret arguments, in memory only: sealed into `secrets` when it is
    /// inserted.
    pub secrets: crate::secrets::SecretValues,
}

impl Tx {
    /// Creates a pending confirmation; returns its id.
    pub async fn insert_confirmation(
        &mut self,
        c: &NewConfirmation,
        now: DateTime<Utc>,
    ) -> anyhow::Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO confirmations (tenant, command, args, reason, requester, requester_user, channel, plan, status, created_at, expires_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10) RETURNING id",
        )
        .bind(&c.tenant)
        .bind(&c.command)
        .bind(serde_json::to_string(&c.args)?)
        .bind(&c.reason)
        .bind(&c.requester)
        .bind(&c.requester_user)
        .bind(&c.channel)
        .bind(&c.plan)
        .bind(ts(now))
        .bind(c.expires_ms)
        .fetch_one(&mut *self.inner)
        .await?;
        self.seal_after_insert(super::Sealed::ConfirmationSecrets, id, &c.secrets)
            .await?;
        Ok(id)
    }

    /// Reads a confirmation.
    pub async fn confirmation(&mut self, id: i64) -> anyhow::Result<Option<Confirmation>> {
        let sql = format!(
            "SELECT id, tenant, command, args, reason, requester, requester_user, channel, plan, status, expires_ms FROM confirmations WHERE id = $1{}",
            self.backend.for_update()
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut *self.inner)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let args: String = row.try_get("args")?;
        Ok(Some(Confirmation {
            id: row.try_get("id")?,
            tenant: row.try_get("tenant")?,
            command: row.try_get("command")?,
            args: serde_json::from_str(&args)?,
            reason: row.try_get("reason")?,
            requester: row.try_get("requester")?,
            requester_user: row.try_get("requester_user")?,
            channel: row.try_get("channel")?,
            plan: row.try_get("plan")?,
            status: row.try_get("status")?,
            expires_ms: row.try_get("expires_ms")?,
        }))
    }

    /// Moves a pending confirmation to `status` (compare-and-set: of concurrent clicks, exactly
    /// one succeeds). Returns whether this call made the change.
    pub async fn settle_confirmation(
        &mut self,
        id: i64,
        status: &str,
        job_id: Option<i64>,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE confirmations SET status = $1, job_id = $2 WHERE id = $3 AND status = 'pending'",
        )
        .bind(status)
        .bind(job_id)
        .bind(id)
        .execute(&mut *self.inner)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
