//! Audit summaries: what happened in a tenant during a window, as counted from its audit
//! events. Used by the scheduled digests, `warden digest send` and `warden audit summary`.
//!
//! Architecture invariant: this module does no IO and reads no clock. Events, the window, the
//! chain's verification result and the job-link maker come in as arguments, so the same log
//! always gives the same text.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::AuditEvent;

mod text;

/// How many lines each list (approvals, failures, break-glass uses) shows before it says how
/// many more there are, so a digest stays one chat message.
pub const MAX_LIST: usize = 10;

/// Outcome counts of one command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandCounts {
    /// `command.invoked` events.
    pub invoked: u64,
    /// `command.refused` events.
    pub refused: u64,
    /// Jobs that succeeded.
    pub succeeded: u64,
    /// Jobs that failed.
    pub failed: u64,
    /// Jobs that timed out.
    pub timed_out: u64,
    /// Jobs that were cancelled.
    pub cancelled: u64,
}

/// An approval decided in the window.
#[derive(Debug, Clone, PartialEq)]
pub struct DecidedApproval {
    /// `A-n`.
    pub id: String,
    /// The command it was for, when its request is among the events.
    pub command: Option<String>,
    /// `approved`, `denied`, `expired` or `stale`.
    pub outcome: String,
    /// Who decided: the approvers, the person who denied, or `warden`.
    pub by: String,
    /// Minutes from the request to the decision, when the request is among the events.
    pub minutes: Option<f64>,
}

/// A job that failed or timed out in the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `J-n`.
    pub job: String,
    /// The command, when the job's `job.queued` event is among the events.
    pub command: Option<String>,
    /// `failed` or `timed out`.
    pub outcome: String,
    /// The error recorded.
    pub error: String,
    /// The link to the job page.
    pub link: String,
}

/// One use of break-glass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlass {
    /// Who used it.
    pub actor: String,
    /// The role taken.
    pub role: String,
    /// For how long, as written (`1h`).
    pub duration: String,
    /// The reason given.
    pub reason: String,
    /// When, RFC 3339.
    pub at: String,
}

/// What happened in one tenant in `[from, to)`.
/// How often one alert fired and resolved in the window, and how long it took to resolve.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertCounts {
    /// `alert.received` events (first firing or firing again).
    pub fired: u64,
    /// `alert.resolved` events.
    pub resolved: u64,
    /// The seconds from firing to resolving, summed over the resolutions.
    pub resolve_seconds: u64,
}

impl AlertCounts {
    /// The mean time to resolve, in seconds, when anything resolved.
    pub fn mean_resolve_seconds(&self) -> Option<u64> {
        (self.resolved > 0).then(|| self.resolve_seconds / self.resolved)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The tenant.
    pub tenant: String,
    /// The start of the window (included).
    pub from: DateTime<Utc>,
    /// The end of the window (excluded).
    pub to: DateTime<Utc>,
    /// How many of the tenant's events fall in the window.
    pub events: u64,
    /// Counts per command name.
    pub commands: BTreeMap<String, CommandCounts>,
    /// Approvals decided in the window, in order.
    pub approvals: Vec<DecidedApproval>,
    /// Approvals requested in the window and not decided before its end.
    pub pending_approvals: u64,
    /// Jobs that failed or timed out, in order.
    pub failures: Vec<Failure>,
    /// Refusals per guard step (`authorize`, `rate_limit`, …).
    pub refusals: BTreeMap<String, u64>,
    /// Break-glass uses, in order.
    pub breakglass: Vec<BreakGlass>,
    /// Monitoring alerts by alert name (SPEC §15).
    pub alerts: BTreeMap<String, AlertCounts>,
    /// The number of events verified in the tenant's chain, or where it is broken.
    pub chain: Result<u64, String>,
}

/// Counts the events of `tenant` whose time is in `[from, to)`. Events outside the window (or of
/// other tenants) are only used to look things up: the command of a job (its `job.queued`
/// event) and when an approval was requested, so pass a few days before `from` too.
/// `job_link` makes the link to job `n`'s page.
pub fn summarize(
    events: &[AuditEvent],
    tenant: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    chain_ok: Result<u64, String>,
    job_link: &(dyn Fn(i64) -> String + Sync),
) -> Summary {
    let mut summary = Summary {
        tenant: tenant.to_string(),
        from,
        to,
        events: 0,
        commands: BTreeMap::new(),
        approvals: Vec::new(),
        pending_approvals: 0,
        failures: Vec::new(),
        refusals: BTreeMap::new(),
        breakglass: Vec::new(),
        alerts: BTreeMap::new(),
        chain: chain_ok,
    };
    let mut job_command: HashMap<&str, String> = HashMap::new();
    let mut requested: HashMap<&str, (DateTime<Utc>, Option<String>)> = HashMap::new();
    let mut pending: Vec<&str> = Vec::new();
    for event in events.iter().filter(|e| e.tenant == tenant) {
        let Some(at) = parse_at(&event.at) else {
            continue;
        };
        if at >= to {
            continue;
        }
        let details: Value = serde_json::from_str(&event.details).unwrap_or(Value::Null);
        let text = |key: &str| details.get(key).and_then(Value::as_str).map(str::to_string);
        // Lookups first: they matter even before the window.
        match event.kind.as_str() {
            "job.queued" => {
                if let Some(command) = text("command") {
                    job_command.insert(&event.target, command);
                }
            }
            "approval.requested" => {
                let command = text("command").or_else(|| text("kind"));
                requested.insert(&event.target, (at, command));
            }
            _ => {}
        }
        if at < from {
            continue;
        }
        summary.events += 1;
        match event.kind.as_str() {
            "command.invoked" => counts(&mut summary, &event.target).invoked += 1,
            "command.refused" => {
                counts(&mut summary, &event.target).refused += 1;
                let step = text("step").unwrap_or_else(|| "other".to_string());
                *summary.refusals.entry(step).or_default() += 1;
            }
            "job.succeeded" | "job.failed" | "job.timed_out" | "job.cancelled" => {
                let command = job_command.get(event.target.as_str()).cloned();
                let name = command.clone().unwrap_or_else(|| "(unknown)".to_string());
                let c = counts(&mut summary, &name);
                match event.kind.as_str() {
                    "job.succeeded" => c.succeeded += 1,
                    "job.failed" => c.failed += 1,
                    "job.timed_out" => c.timed_out += 1,
                    _ => c.cancelled += 1,
                }
                if matches!(event.kind.as_str(), "job.failed" | "job.timed_out") {
                    let link = event
                        .target
                        .strip_prefix("J-")
                        .and_then(|n| n.parse::<i64>().ok())
                        .map(job_link)
                        .unwrap_or_default();
                    summary.failures.push(Failure {
                        job: event.target.clone(),
                        command,
                        outcome: if event.kind == "job.failed" {
                            "failed".into()
                        } else {
                            "timed out".into()
                        },
                        error: text("error").unwrap_or_else(|| "unknown error".into()),
                        link,
                    });
                }
            }
            "approval.requested" => pending.push(&event.target),
            "approval.approved" | "approval.denied" | "approval.expired" | "approval.stale" => {
                pending.retain(|p| *p != event.target);
                let request = requested.get(event.target.as_str());
                let by = match details.get("approvers").and_then(Value::as_array) {
                    Some(list) if !list.is_empty() => list
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", "),
                    _ => event.actor.clone(),
                };
                summary.approvals.push(DecidedApproval {
                    id: event.target.clone(),
                    command: request
                        .and_then(|(_, c)| c.clone())
                        .or_else(|| text("command")),
                    outcome: event.kind["approval.".len()..].to_string(),
                    by,
                    minutes: request
                        .map(|(requested_at, _)| (at - *requested_at).num_seconds() as f64 / 60.0),
                });
            }
            "alert.received" => {
                let name = text("name").unwrap_or_else(|| event.target.clone());
                summary.alerts.entry(name).or_default().fired += 1;
            }
            "alert.resolved" => {
                let name = text("name").unwrap_or_else(|| event.target.clone());
                let counts = summary.alerts.entry(name).or_default();
                counts.resolved += 1;
                counts.resolve_seconds += details
                    .get("duration_s")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
            }
            "access.breakglass" => summary.breakglass.push(BreakGlass {
                actor: event.actor.clone(),
                role: text("role").unwrap_or_default(),
                duration: text("for").unwrap_or_default(),
                reason: text("reason").unwrap_or_default(),
                at: event.at.clone(),
            }),
            _ => {}
        }
    }
    summary.pending_approvals = pending.len() as u64;
    summary
}

fn counts<'a>(summary: &'a mut Summary, command: &str) -> &'a mut CommandCounts {
    summary.commands.entry(command.to_string()).or_default()
}

fn parse_at(at: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl Summary {
    /// The median and the longest time to decide, in minutes, over the approvals whose request
    /// is known.
    pub fn decision_minutes(&self) -> Option<(f64, f64)> {
        let mut times: Vec<f64> = self.approvals.iter().filter_map(|a| a.minutes).collect();
        if times.is_empty() {
            return None;
        }
        times.sort_by(f64::total_cmp);
        let n = times.len();
        let median = if n % 2 == 1 {
            times[n / 2]
        } else {
            (times[n / 2 - 1] + times[n / 2]) / 2.0
        };
        Some((median, times[n - 1]))
    }

    /// Whether the tenant's chain failed verification.
    pub fn chain_broken(&self) -> bool {
        self.chain.is_err()
    }

    /// The counts as JSON, for the details of the `digest.sent` event.
    pub fn details(&self) -> Value {
        let sum = |f: fn(&CommandCounts) -> u64| self.commands.values().map(f).sum::<u64>();
        json!({
            "from": self.from.to_rfc3339(),
            "to": self.to.to_rfc3339(),
            "events": self.events,
            "invoked": sum(|c| c.invoked),
            "refused": sum(|c| c.refused),
            "succeeded": sum(|c| c.succeeded),
            "failed": sum(|c| c.failed + c.timed_out),
            "approvals": self.approvals.len(),
            "breakglass": self.breakglass.len(),
            "alerts_fired": self.alerts.values().map(|a| a.fired).sum::<u64>(),
            "alerts_resolved": self.alerts.values().map(|a| a.resolved).sum::<u64>(),
            "chain": match &self.chain {
                Ok(_) => "verified".to_string(),
                Err(at) => format!("broken at {at}"),
            },
        })
    }
}

#[cfg(test)]
mod tests;
