//! Recovery: a job whose runner died (crash, kill -9, lost host) keeps status `running` with a
//! lease nobody renews. Every runner sweeps for expired leases; the first to notice fails the
//! job, or re-queues it when the command allows retries, audits it and alerts.

use chrono::Utc;
use serde_json::json;

use super::model::JobStatus;
use super::runner::Runner;
use super::thread::Moment;

const LOST: &str = "its runner stopped (crash or kill) and its lease ran out";

/// One sweep. Returns how many jobs were recovered.
pub async fn sweep(runner: &Runner) -> anyhow::Result<usize> {
    let now = Utc::now();
    let expired = runner.store.expired_leases(now).await?;
    let mut recovered = 0;
    for mut job in expired {
        let tail = runner
            .store
            .job_log(job.id, Some(10))
            .await
            .unwrap_or_default();
        let mut tx = runner.store.begin().await?;
        let Some(status) = tx.recover_job(&job, now, LOST).await? else {
            // Another replica recovered it, or its runner renewed just in time.
            continue;
        };
        let kind = if status == JobStatus::Queued {
            "job.retried"
        } else {
            "job.failed"
        };
        tx.append_audit(
            runner.job_event(
                &job,
                kind,
                json!({ "attempt": job.attempt, "error": LOST, "recovered": true }),
            ),
            now,
        );
        if status != JobStatus::Queued {
            tx.erase_sealed(crate::storage::Sealed::JobSecrets, job.id)
                .await?;
        }
        job.status = status;
        job.error = Some(LOST.to_string());
        if status == JobStatus::Failed {
            job.finished_at = Some(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        }
        // The recovery, its audit event, the updated job message and the alert commit together.
        let moment = if status == JobStatus::Queued {
            Moment::Requeued
        } else {
            Moment::Finished
        };
        runner
            .enqueue_show(&mut tx, &job, &tail, moment, now)
            .await?;
        if status == JobStatus::Failed {
            runner.enqueue_alert(&mut tx, &job, &tail, now).await?;
        }
        tx.commit().await?;
        recovered += 1;
        tracing::warn!(job.id = %job.display_id(), job.status = %status, "recovered a job whose runner died");
        if status == JobStatus::Queued {
            runner.wake();
        }
    }
    Ok(recovered)
}
