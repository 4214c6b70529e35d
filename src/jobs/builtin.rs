//! Built-in actions that act on warden's own state: feature flags.

use chrono::Utc;
use serde_json::json;

use crate::actions::{ActionOutcome, JobLog};
use crate::audit::NewEvent;
use crate::commands::args::ParsedArgs;
use crate::storage::Store;

use super::model::Job;

/// Runs the built-in action `name` for a job. Flags are scoped to the job's tenant and its
/// environment (`*` for an environment-less command).
pub async fn run(
    store: &Store,
    job: &Job,
    name: &str,
    args: &ParsedArgs,
    log: &JobLog,
) -> ActionOutcome {
    let environment = job.environment.clone().unwrap_or_else(|| "*".to_string());
    let text = |arg: &str| args.get(arg).map(|v| v.to_string());
    let result = match name {
        "flags.set" => match (text("flag"), text("value")) {
            (Some(flag), Some(value)) => set(store, job, &environment, &flag, &value, log).await,
            _ => Err("flags.set needs the arguments `flag` and `value`".to_string()),
        },
        "flags.get" | "flags.list" => get(store, job, &environment, text("flag"), log).await,
        other => Err(format!("unknown built-in action `{other}`")),
    };
    match result {
        Ok(summary) => ActionOutcome::Succeeded { summary },
        Err(error) => ActionOutcome::Failed { error },
    }
}

async fn set(
    store: &Store,
    job: &Job,
    environment: &str,
    flag: &str,
    value: &str,
    log: &JobLog,
) -> Result<String, String> {
    if job.dry_run {
        let current = store
            .flags(&job.tenant, Some(environment), Some(flag))
            .await
            .map_err(|e| format!("reading flags failed: {e:#}"))?;
        let old = current
            .first()
            .map(|f| f.value.as_str())
            .unwrap_or("(unset)");
        log.info(format!(
            "dry run: would set {flag} in {environment} from {old} to {value}"
        ));
        return Ok(format!(
            "dry run: {flag} would change from {old} to {value}"
        ));
    }
    let now = Utc::now();
    let result = async {
        let mut tx = store.begin().await?;
        let old = tx
            .set_flag(&job.tenant, environment, flag, value, &job.requester, now)
            .await?;
        tx.append_audit(
            NewEvent {
                tenant: job.tenant.clone(),
                actor: job.requester.clone(),
                kind: "flag.changed".to_string(),
                target: flag.to_string(),
                channel: job.channel.clone(),
                request_id: job.request_id.clone(),
                details: json!({ "environment": environment, "old": old, "new": value, "job": job.display_id() }),
            },
            now,
        );
        tx.commit().await?;
        anyhow::Ok(old)
    }
    .await
    .map_err(|e| format!("setting the flag failed: {e:#}"))?;
    let old = result.unwrap_or_else(|| "(unset)".to_string());
    log.info(format!("{flag} in {environment}: {old} → {value}"));
    Ok(format!("{flag} in {environment}: {old} → {value}"))
}

async fn get(
    store: &Store,
    job: &Job,
    environment: &str,
    flag: Option<String>,
    log: &JobLog,
) -> Result<String, String> {
    let flags = store
        .flags(&job.tenant, Some(environment), flag.as_deref())
        .await
        .map_err(|e| format!("reading flags failed: {e:#}"))?;
    if flags.is_empty() {
        let what = flag
            .map(|f| format!("`{f}` is not set"))
            .unwrap_or_else(|| "no flags are set".into());
        log.info(format!("{what} in {environment}"));
        return Ok(format!("{what} in {environment}"));
    }
    for f in &flags {
        log.stdout(format!(
            "{} = {} (set by {} at {})",
            f.name, f.value, f.updated_by, f.updated_at
        ));
    }
    Ok(format!("{} flag(s) in {environment}", flags.len()))
}
