//! The reads behind the live pages (SPEC §18): a job's log and audit events after a cursor,
//! the tenant's audit head (the dashboard's change signal), and the dashboard's data in one
//! call. Every live page polls these, so each is an indexed range read; they are plain reads,
//! never inside a write transaction, and work the same whichever replica wrote the rows.

use std::collections::HashMap;

use super::audit::{event_from_row, EVENT_COLUMNS};
use super::jobs::{job_from_row, JOB_COLUMNS};
use super::{ApprovalRecord, AuditQuery, Store};
use crate::audit::AuditEvent;
use crate::jobs::model::StoredLogLine;
use crate::jobs::Job;

/// How many finished jobs and audit events the dashboard shows.
const DASHBOARD_RECENT: u32 = 15;

/// How many queued and running jobs the dashboard shows at most.
const DASHBOARD_ACTIVE: i64 = 50;

/// Everything the dashboard shows for one tenant, as stored. The HTTP edge redacts and turns it
/// into the page's view.
///
/// Firing alerts (SPEC §15) belong here as one more field, read in [`Store::dashboard`].
#[derive(Debug, Clone, Default)]
pub struct DashboardRows {
    /// Queued and running jobs, oldest first.
    pub active: Vec<Job>,
    /// The latest finished jobs, newest first.
    pub recent: Vec<Job>,
    /// Pending approval requests, oldest first, with their votes.
    pub approvals: Vec<ApprovalRecord>,
    /// Links to the approval requests' cards in chat, by approval id, where known.
    pub approval_links: HashMap<i64, String>,
    /// The latest audit events, newest first.
    pub audit: Vec<AuditEvent>,
    /// Firing alerts from monitoring, newest first.
    pub alerts: Vec<super::AlertRow>,
    /// Links to the alerts' cards in chat, by alert id, where known.
    pub alert_links: HashMap<i64, String>,
}

impl Store {
    /// Log lines of job `id` after line `after` (its `seq`), oldest first, at most `limit`,
    /// each with its `seq`.
    pub async fn job_log_after(
        &self,
        id: i64,
        after: i64,
        limit: u32,
    ) -> anyhow::Result<Vec<(i64, StoredLogLine)>> {
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT seq, at, stream, text FROM job_logs WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(id)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(seq, at, stream, text)| (seq, StoredLogLine { at, stream, text }))
            .collect())
    }

    /// The events of one job's audit trail (as [`Store::job_audit`]) with an id above `after`,
    /// oldest first. The id range comes first so the read stays small on a long log.
    pub async fn job_audit_after(
        &self,
        tenant: &str,
        job: &str,
        request_id: &str,
        after: i64,
    ) -> anyhow::Result<Vec<AuditEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM audit_events
             WHERE id > $4 AND tenant = $1 AND (target = $2 OR (request_id = $3 AND request_id != ''))
             ORDER BY id LIMIT 1000"
        );
        let rows = sqlx::query(&sql)
            .bind(tenant)
            .bind(job)
            .bind(request_id)
            .bind(after)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(event_from_row)
            .collect::<Result<Vec<_>, _>>()?)
    }

    /// The length of the tenant's audit chain (0 when it has none). Every state change warden
    /// makes is audited in the transaction that makes it, so this number moves exactly when
    /// the dashboard may have something new to show.
    pub async fn audit_head_seq(&self, tenant: &str) -> anyhow::Result<i64> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT seq FROM audit_heads WHERE tenant = $1")
            .bind(tenant)
            .fetch_optional(&self.pool)
            .await?;
        Ok(seq.unwrap_or(0))
    }

    /// Everything the tenant's dashboard shows, in one call.
    pub async fn dashboard(&self, tenant: &str) -> anyhow::Result<DashboardRows> {
        let active_sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE tenant = $1 AND status IN ('queued', 'running') ORDER BY id LIMIT $2"
        );
        let active = sqlx::query(&active_sql)
            .bind(tenant)
            .bind(DASHBOARD_ACTIVE)
            .fetch_all(&self.pool)
            .await?;
        let recent_sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE tenant = $1 AND status NOT IN ('queued', 'running') ORDER BY id DESC LIMIT $2"
        );
        let recent = sqlx::query(&recent_sql)
            .bind(tenant)
            .bind(i64::from(DASHBOARD_RECENT))
            .fetch_all(&self.pool)
            .await?;
        let keyring = self.keyring.as_deref();
        let jobs = |rows: Vec<sqlx::any::AnyRow>| {
            rows.iter()
                .map(|r| job_from_row(r, keyring))
                .collect::<anyhow::Result<Vec<Job>>>()
        };
        let approvals = self.pending_approvals(Some(tenant)).await?;
        let mut approval_links = HashMap::new();
        for approval in &approvals {
            let card = self
                .card_message(&format!("approval:{}", approval.id))
                .await?;
            if let Some(link) = card.and_then(|c| c.link) {
                approval_links.insert(approval.id, link);
            }
        }
        let mut audit = self
            .audit_events(&AuditQuery {
                tenant: Some(tenant.to_owned()),
                last: Some(DASHBOARD_RECENT),
                ..AuditQuery::default()
            })
            .await?;
        audit.reverse();
        let alerts = self.firing_alerts(tenant, DASHBOARD_ACTIVE).await?;
        let mut alert_links = HashMap::new();
        for alert in &alerts {
            let card = self
                .card_message(&crate::alerts::card_key(alert.id))
                .await?;
            if let Some(link) = card.and_then(|c| c.link) {
                alert_links.insert(alert.id, link);
            }
        }
        Ok(DashboardRows {
            alerts,
            alert_links,
            active: jobs(active)?,
            recent: jobs(recent)?,
            approvals,
            approval_links,
            audit,
        })
    }
}
