//! Approval requests and their votes.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::jobs::ts;
use super::{Store, Tx};
use crate::chat::MessageRef;

const COLUMNS: &str = "id, tenant, kind, command, args, environment, reason, requester, requester_user, channel, plan, plan_hash, policy, status, created_at, expires_ms, decided_at, deny_reason, job_id, binding_id, message_channel, message_id, request_id";

/// An approval request as stored, with its votes.
#[derive(Debug, Clone)]
pub struct ApprovalRecord {
    /// Shown as `A-{id}`.
    pub id: i64,
    /// The tenant.
    pub tenant: String,
    /// `command` (a job on approval) or `access` (a binding on approval).
    pub kind: String,
    /// The command name (`access` for access requests).
    pub command: String,
    /// The validated arguments as text.
    pub args: Vec<(String, String)>,
    /// The RBAC environment.
    pub environment: Option<String>,
    /// The reason given.
    pub reason: Option<String>,
    /// Who asked.
    pub requester: String,
    /// The platform identity that asked.
    pub requester_user: String,
    /// Where it was asked.
    pub channel: String,
    /// The plan the approvers see.
    pub plan: String,
    /// The hash of command, arguments, environment and plan.
    pub plan_hash: String,
    /// The approval rule frozen at request time (JSON).
    pub policy: String,
    /// pending | approved | denied | expired | stale.
    pub status: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// When it expires (Unix ms).
    pub expires_ms: i64,
    /// When it was decided.
    pub decided_at: Option<String>,
    /// Why it was denied.
    pub deny_reason: Option<String>,
    /// The job created on approval.
    pub job_id: Option<i64>,
    /// The binding created on approval of an access request.
    pub binding_id: Option<i64>,
    /// The request message in the channel.
    pub message: Option<MessageRef>,
    /// The request that created it.
    pub request_id: String,
    /// The votes, oldest first: (voter, decision, at).
    pub votes: Vec<(String, String, String)>,
}

/// An approval request about to be created.
#[derive(Debug, Clone)]
pub struct NewApproval {
    /// The tenant.
    pub tenant: String,
    /// `command` or `access`.
    pub kind: String,
    /// The command name.
    pub command: String,
    /// The validated arguments as text.
    pub args: Vec<(String, String)>,
    /// The RBAC environment.
    pub environment: Option<String>,
    /// The reason given.
    pub reason: Option<String>,
    /// Who asked.
    pub requester: String,
    /// The platform identity that asked.
    pub requester_user: String,
    /// Where it was asked.
    pub channel: String,
    /// The plan.
    pub plan: String,
    /// Its hash.
    pub plan_hash: String,
    /// The frozen rule (JSON).
    pub policy: String,
    /// When it expires (Unix ms).
    pub expires_ms: i64,
    /// The request that created it.
    pub request_id: String,
    /// The values of its secret arguments, in memory only: sealed into `secrets` when the
    /// request is inserted (its `args` hold `[redacted]` in their place).
    pub secrets: crate::secrets::SecretValues,
}

fn from_row(row: &AnyRow) -> anyhow::Result<ApprovalRecord> {
    let args: String = row.try_get("args")?;
    let channel: Option<String> = row.try_get("message_channel")?;
    let id: Option<String> = row.try_get("message_id")?;
    Ok(ApprovalRecord {
        id: row.try_get("id")?,
        tenant: row.try_get("tenant")?,
        kind: row.try_get("kind")?,
        command: row.try_get("command")?,
        args: serde_json::from_str(&args)?,
        environment: row.try_get("environment")?,
        reason: row.try_get("reason")?,
        requester: row.try_get("requester")?,
        requester_user: row.try_get("requester_user")?,
        channel: row.try_get("channel")?,
        plan: row.try_get("plan")?,
        plan_hash: row.try_get("plan_hash")?,
        policy: row.try_get("policy")?,
        status: row.try_get("status")?,
        created_at: row.try_get("created_at")?,
        expires_ms: row.try_get("expires_ms")?,
        decided_at: row.try_get("decided_at")?,
        deny_reason: row.try_get("deny_reason")?,
        job_id: row.try_get("job_id")?,
        binding_id: row.try_get("binding_id")?,
        message: match (channel, id) {
            (Some(c), Some(id)) => c.parse().ok().map(|channel| MessageRef { channel, id }),
            _ => None,
        },
        request_id: row.try_get("request_id")?,
        votes: Vec::new(),
    })
}

async fn votes<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    id: i64,
) -> anyhow::Result<Vec<(String, String, String)>> {
    Ok(sqlx::query_as(
        "SELECT voter, decision, at FROM approval_votes WHERE approval_id = $1 ORDER BY at, voter",
    )
    .bind(id)
    .fetch_all(executor)
    .await?)
}

impl Tx {
    /// Marks a pending request as reminded, once: false when it was reminded already or is
    /// no longer pending (so one replica posts the reminder).
    pub async fn mark_reminded(&mut self, id: i64, now_ms: i64) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE approvals SET reminded_ms = $1
             WHERE id = $2 AND status = 'pending' AND reminded_ms IS NULL",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&mut *self.inner)
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Creates a pending approval request; returns its id.
    pub async fn insert_approval(
        &mut self,
        a: &NewApproval,
        now: DateTime<Utc>,
    ) -> anyhow::Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO approvals (tenant, kind, command, args, environment, reason, requester, requester_user, channel, plan, plan_hash, policy, status, created_at, expires_ms, request_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', $13, $14, $15) RETURNING id",
        )
        .bind(&a.tenant)
        .bind(&a.kind)
        .bind(&a.command)
        .bind(serde_json::to_string(&a.args)?)
        .bind(&a.environment)
        .bind(&a.reason)
        .bind(&a.requester)
        .bind(&a.requester_user)
        .bind(&a.channel)
        .bind(&a.plan)
        .bind(&a.plan_hash)
        .bind(&a.policy)
        .bind(ts(now))
        .bind(a.expires_ms)
        .bind(&a.request_id)
        .fetch_one(&mut *self.inner)
        .await?;
        self.seal_after_insert(super::Sealed::ApprovalSecrets, id, &a.secrets)
            .await?;
        Ok(id)
    }

    /// Reads an approval request and its votes inside the transaction.
    pub async fn approval(&mut self, id: i64) -> anyhow::Result<Option<ApprovalRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM approvals WHERE id = $1{}",
            self.backend.for_update()
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut *self.inner)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let mut record = from_row(&row)?;
        record.votes = votes(&mut *self.inner, id).await?;
        Ok(Some(record))
    }

    /// Records a vote; false when this voter already voted (the primary key refuses it).
    pub async fn add_vote(
        &mut self,
        id: i64,
        voter: &str,
        decision: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO approval_votes (approval_id, voter, decision, at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (approval_id, voter) DO NOTHING",
        )
        .bind(id)
        .bind(voter)
        .bind(decision)
        .bind(ts(now))
        .execute(&mut *self.inner)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Moves a pending request to its final status (compare-and-set: of concurrent deciders,
    /// exactly one succeeds). Returns whether this call made the change.
    pub async fn settle_approval(
        &mut self,
        id: i64,
        status: &str,
        job_id: Option<i64>,
        binding_id: Option<i64>,
        deny_reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE approvals SET status = $1, job_id = $2, binding_id = $3, deny_reason = $4, decided_at = $5
             WHERE id = $6 AND status = 'pending'",
        )
        .bind(status)
        .bind(job_id)
        .bind(binding_id)
        .bind(deny_reason)
        .bind(ts(now))
        .bind(id)
        .execute(&mut *self.inner)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    /// An approval request and its votes.
    pub async fn approval(&self, id: i64) -> anyhow::Result<Option<ApprovalRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM approvals WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let mut record = from_row(&row)?;
        record.votes = votes(&self.pool, id).await?;
        Ok(Some(record))
    }

    /// Remembers the request message of an approval.
    pub async fn set_approval_message(&self, id: i64, at: &MessageRef) -> anyhow::Result<()> {
        sqlx::query("UPDATE approvals SET message_channel = $1, message_id = $2 WHERE id = $3")
            .bind(at.channel.to_string())
            .bind(&at.id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Pending requests (of one tenant, or all), oldest first, with their votes.
    pub async fn pending_approvals(
        &self,
        tenant: Option<&str>,
    ) -> anyhow::Result<Vec<ApprovalRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM approvals WHERE status = 'pending' AND ($1 IS NULL OR tenant = $1) ORDER BY id LIMIT 500"
        );
        let rows = sqlx::query(&sql).bind(tenant).fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut record = from_row(row)?;
            record.votes = votes(&self.pool, record.id).await?;
            out.push(record);
        }
        Ok(out)
    }

    /// Pending requests not reminded yet: (id, created_at as RFC 3339, expires_ms). The
    /// caller decides which are due (half of their life has passed).
    pub async fn unreminded_approvals(&self) -> anyhow::Result<Vec<(i64, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT id, created_at, expires_ms FROM approvals
             WHERE status = 'pending' AND reminded_ms IS NULL ORDER BY id LIMIT 500",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Ids of pending requests that expired before `now`.
    pub async fn expired_approvals(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM approvals WHERE status = 'pending' AND expires_ms <= $1 ORDER BY id",
        )
        .bind(now.timestamp_millis())
        .fetch_all(&self.pool)
        .await?)
    }
}
