//! The job record and its states, as plain data.

use std::fmt;

use crate::chat::MessageRef;

/// Where a job is in its life: `queued → running → succeeded | failed | timed_out | cancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Waiting for a runner.
    Queued,
    /// Claimed by a runner that holds its lease.
    Running,
    /// The action reported success.
    Succeeded,
    /// The action failed, or its runner died and no retry was left.
    Failed,
    /// The action ran past its timeout and was killed.
    TimedOut,
    /// Cancelled by a person before or while it ran.
    Cancelled,
}

impl JobStatus {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::TimedOut => "timed_out",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<JobStatus> {
        [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Succeeded,
            JobStatus::Failed,
            JobStatus::TimedOut,
            JobStatus::Cancelled,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
    }

    /// True once the job can no longer change.
    pub fn is_final(self) -> bool {
        !matches!(self, JobStatus::Queued | JobStatus::Running)
    }

    /// The audit event kind recorded when a job ends in this state.
    pub fn audit_kind(self) -> &'static str {
        match self {
            JobStatus::Queued => "job.queued",
            JobStatus::Running => "job.started",
            JobStatus::Succeeded => "job.succeeded",
            JobStatus::Failed => "job.failed",
            JobStatus::TimedOut => "job.timed_out",
            JobStatus::Cancelled => "job.cancelled",
        }
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job as stored.
#[derive(Debug, Clone)]
pub struct Job {
    /// Shown as `J-{id}`.
    pub id: i64,
    /// The tenant it belongs to.
    pub tenant: String,
    /// The command name.
    pub command: String,
    /// The validated arguments, in definition order, as text.
    pub args: Vec<(String, String)>,
    /// The RBAC environment.
    pub environment: Option<String>,
    /// Who asked (person or platform identity).
    pub requester: String,
    /// The platform identity that asked, e.g. `slack:T01/U01`.
    pub requester_user: String,
    /// Who approved it.
    pub approvers: Vec<String>,
    /// A dry run: the action runs in plan mode.
    pub dry_run: bool,
    /// The reason given with `--reason`.
    pub reason: Option<String>,
    /// Where it was asked for, `platform:ID`, or empty.
    pub channel: String,
    /// Current status.
    pub status: JobStatus,
    /// How many times a runner has started it.
    pub attempt: u32,
    /// 1 + the command's automatic retries.
    pub max_attempts: u32,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// When the current or last attempt started.
    pub started_at: Option<String>,
    /// When it reached its final state.
    pub finished_at: Option<String>,
    /// Someone asked to cancel it while it ran.
    pub cancel_requested: bool,
    /// Why it failed.
    pub error: Option<String>,
    /// The chat message that shows it.
    pub message: Option<MessageRef>,
    /// The job this one retries.
    pub retry_of: Option<i64>,
    /// The request that created it.
    pub request_id: String,
    /// How to answer when the channel cannot be posted in (a credential: never shown).
    pub reply_to: Option<crate::chat::ReplyHandle>,
    /// The card its story is told on when that is not its own message (`approval:7` for a
    /// job an approval created, the first job's card for a retry); see [`Job::card_key`].
    pub card: Option<String>,
    /// The sealed values of its secret arguments (SPEC §16), until they are erased; opened
    /// only by the runner that runs it.
    pub secrets: Option<String>,
}

impl Job {
    /// The outbox key of the message that shows this job: the inherited card, else its own
    /// message `job:N`.
    pub fn card_key(&self) -> String {
        self.card
            .clone()
            .unwrap_or_else(|| crate::jobs::runner::job_key(self.id))
    }

    /// The id as people see it.
    pub fn display_id(&self) -> String {
        display_id(self.id)
    }
}

/// `J-42`.
pub fn display_id(id: i64) -> String {
    format!("J-{id}")
}

/// Parses `J-42` (or `42`) into 42.
pub fn parse_id(s: &str) -> Option<i64> {
    let digits = s
        .strip_prefix("J-")
        .or_else(|| s.strip_prefix("j-"))
        .unwrap_or(s);
    digits.parse().ok().filter(|id| *id > 0)
}

/// A job about to be created.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// The tenant.
    pub tenant: String,
    /// The command name.
    pub command: String,
    /// The validated arguments as text.
    pub args: Vec<(String, String)>,
    /// The RBAC environment.
    pub environment: Option<String>,
    /// Who asked.
    pub requester: String,
    /// The platform identity that asked.
    pub requester_user: String,
    /// Who approved it (empty without approval).
    pub approvers: Vec<String>,
    /// A dry run.
    pub dry_run: bool,
    /// The reason given.
    pub reason: Option<String>,
    /// Where it was asked for.
    pub channel: String,
    /// 1 + retries.
    pub max_attempts: u32,
    /// The card it inherits (see [`Job::card`]); `None` gives it its own.
    pub card: Option<String>,
    /// The values of its secret arguments, in memory only: sealed into `jobs.secrets` when
    /// the job is inserted (its `args` hold `[redacted]` in their place).
    pub secrets: crate::secrets::SecretValues,
    /// The job this one retries.
    pub retry_of: Option<i64>,
    /// The request that created it.
    pub request_id: String,
    /// How to answer when the channel cannot be posted in.
    pub reply_to: Option<crate::chat::ReplyHandle>,
}

impl NewJob {
    /// The job as it stands right after creation, with its id: queued, attempt 0.
    pub fn queued(&self, id: i64, created_at: String) -> Job {
        Job {
            id,
            tenant: self.tenant.clone(),
            command: self.command.clone(),
            args: self.args.clone(),
            environment: self.environment.clone(),
            requester: self.requester.clone(),
            requester_user: self.requester_user.clone(),
            approvers: self.approvers.clone(),
            dry_run: self.dry_run,
            reason: self.reason.clone(),
            channel: self.channel.clone(),
            status: JobStatus::Queued,
            attempt: 0,
            max_attempts: self.max_attempts,
            created_at,
            started_at: None,
            finished_at: None,
            cancel_requested: false,
            error: None,
            message: None,
            retry_of: self.retry_of,
            request_id: self.request_id.clone(),
            reply_to: self.reply_to.clone(),
            card: self.card.clone(),
            secrets: None,
        }
    }
}

/// One line of a job's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLogLine {
    /// RFC 3339 UTC with milliseconds.
    pub at: String,
    /// `stdout`, `stderr` or `info`.
    pub stream: String,
    /// The text.
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_statuses() {
        assert_eq!(parse_id("J-42"), Some(42));
        assert_eq!(parse_id("42"), Some(42));
        assert_eq!(parse_id("J-0"), None);
        assert_eq!(parse_id("A-1"), None);
        for s in [
            "queued",
            "running",
            "succeeded",
            "failed",
            "timed_out",
            "cancelled",
        ] {
            assert_eq!(JobStatus::parse(s).unwrap().as_str(), s);
        }
        assert!(JobStatus::TimedOut.is_final() && !JobStatus::Running.is_final());
    }
}
