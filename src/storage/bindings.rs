//! Role bindings granted at run time: approved access requests and break-glass.

use chrono::{DateTime, Utc};

use super::jobs::ts;
use super::{Store, Tx};

/// A binding granted at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeBinding {
    /// Shown as `B-{id}`.
    pub id: i64,
    /// The tenant.
    pub tenant: String,
    /// The subject, as written in warden.toml (`alice`, `slack:T01/U01`).
    pub subject: String,
    /// The role name.
    pub role: String,
    /// The environments it covers.
    pub environments: Vec<String>,
    /// When it stops counting (Unix ms).
    pub expires_ms: i64,
    /// `access` (approved request) or `breakglass`.
    pub source: String,
    /// Who granted it (the approvers, or the caller for break-glass).
    pub granted_by: String,
    /// Why.
    pub reason: String,
}

impl Tx {
    /// Grants a binding; returns its id.
    pub async fn insert_binding(
        &mut self,
        b: &RuntimeBinding,
        now: DateTime<Utc>,
    ) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO bindings (tenant, subject, role, environments, expires_ms, source, granted_by, reason, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(&b.tenant)
        .bind(&b.subject)
        .bind(&b.role)
        .bind(serde_json::to_string(&b.environments)?)
        .bind(b.expires_ms)
        .bind(&b.source)
        .bind(&b.granted_by)
        .bind(&b.reason)
        .bind(ts(now))
        .fetch_one(&mut *self.inner)
        .await?)
    }

    /// Revokes a binding of the tenant at once; returns it, or `None` when there is no such
    /// active binding.
    pub async fn revoke_binding(
        &mut self,
        tenant: &str,
        id: i64,
        by: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<RuntimeBinding>> {
        let row: Option<Row> = sqlx::query_as(
            "UPDATE bindings SET revoked_at = $1, revoked_by = $2
             WHERE id = $3 AND tenant = $4 AND revoked_at IS NULL AND expires_ms > $5
             RETURNING id, tenant, subject, role, environments, expires_ms, source, granted_by, reason",
        )
        .bind(ts(now))
        .bind(by)
        .bind(id)
        .bind(tenant)
        .bind(now.timestamp_millis())
        .fetch_optional(&mut *self.inner)
        .await?;
        row.map(to_binding).transpose()
    }
}

type Row = (
    i64,
    String,
    String,
    String,
    String,
    i64,
    String,
    String,
    String,
);

fn to_binding(row: Row) -> anyhow::Result<RuntimeBinding> {
    let (id, tenant, subject, role, environments, expires_ms, source, granted_by, reason) = row;
    Ok(RuntimeBinding {
        id,
        tenant,
        subject,
        role,
        environments: serde_json::from_str(&environments)?,
        expires_ms,
        source,
        granted_by,
        reason,
    })
}

impl Store {
    /// Every binding in force at `now` (not expired, not revoked), of every tenant.
    pub async fn active_bindings(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<RuntimeBinding>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, tenant, subject, role, environments, expires_ms, source, granted_by, reason
             FROM bindings WHERE revoked_at IS NULL AND expires_ms > $1 ORDER BY id",
        )
        .bind(now.timestamp_millis())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(to_binding).collect()
    }
}
