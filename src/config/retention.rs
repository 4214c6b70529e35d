//! [`Retention`]: how long warden keeps the history tables that would otherwise grow forever.
//!
//! The audit log is kept for ever (it is append-only and chained); jobs and approvals keep
//! their rows. What goes is bulk that only matters for a while: job log lines, settled
//! confirmation prompts, delivered outbox rows and the remembered ids of chat messages that
//! nothing will edit again. Replay keys need no setting: they go when their 300 s window has
//! long closed.

use std::time::Duration;

use crate::model::parse_duration;

/// The shortest retention accepted: shorter would purge rows that are still in use (a
/// confirmation prompt lives 5 minutes, a job message is edited while its job runs).
pub const MIN_RETENTION: Duration = Duration::from_secs(3600);

/// How long each purgeable table keeps its rows, from the `WARDEN_RETENTION_*` variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Log lines of finished jobs, counted from the job's end (`WARDEN_RETENTION_JOB_LOGS`,
    /// default 90 days). The job page then shows the job without its log.
    pub job_logs: Duration,
    /// Confirmation prompts, counted from the end of their 5-minute window
    /// (`WARDEN_RETENTION_CONFIRMATIONS`, default 7 days).
    pub confirmations: Duration,
    /// Delivered or dropped outbox rows, for `warden outbox list`
    /// (`WARDEN_RETENTION_OUTBOX`, default 7 days). Dead letters stay until retried or dropped.
    pub outbox: Duration,
    /// Remembered chat message ids of finished jobs and decided approvals
    /// (`WARDEN_RETENTION_CHAT_MESSAGES`, default 30 days).
    pub chat_messages: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        const DAY: u64 = 86_400;
        Retention {
            job_logs: Duration::from_secs(90 * DAY),
            confirmations: Duration::from_secs(7 * DAY),
            outbox: Duration::from_secs(7 * DAY),
            chat_messages: Duration::from_secs(30 * DAY),
        }
    }
}

impl Retention {
    /// Reads the `WARDEN_RETENTION_*` variables through `get`, adding a line to `errors` for
    /// each value that is not a duration of at least an hour.
    pub(super) fn from_env<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
        errors: &mut Vec<String>,
    ) -> Retention {
        let mut retention = Retention::default();
        let fields: [(&str, &mut Duration); 4] = [
            ("WARDEN_RETENTION_JOB_LOGS", &mut retention.job_logs),
            (
                "WARDEN_RETENTION_CONFIRMATIONS",
                &mut retention.confirmations,
            ),
            ("WARDEN_RETENTION_OUTBOX", &mut retention.outbox),
            (
                "WARDEN_RETENTION_CHAT_MESSAGES",
                &mut retention.chat_messages,
            ),
        ];
        for (name, field) in fields {
            let Some(value) = get(name) else { continue };
            match parse_duration(value) {
                Ok(d) if d >= MIN_RETENTION => *field = d,
                Ok(_) => errors.push(format!(
                    "{name}: `{value}` is shorter than the shortest retention, 1h"
                )),
                Err(e) => errors.push(format!("{name}: {e}")),
            }
        }
        retention
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> (Retention, Vec<String>) {
        let mut errors = Vec::new();
        let get = |name: &str| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        (Retention::from_env(get, &mut errors), errors)
    }

    #[test]
    fn defaults_values_and_errors() {
        assert_eq!(read(&[]), (Retention::default(), vec![]));
        let (r, errors) = read(&[
            ("WARDEN_RETENTION_JOB_LOGS", "30d"),
            ("WARDEN_RETENTION_CHAT_MESSAGES", "1h"),
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(r.job_logs, Duration::from_secs(30 * 86_400));
        assert_eq!(r.chat_messages, MIN_RETENTION);
        assert_eq!(r.outbox, Retention::default().outbox);
        let (_, errors) = read(&[
            ("WARDEN_RETENTION_OUTBOX", "10m"),
            ("WARDEN_RETENTION_CONFIRMATIONS", "soon"),
        ]);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].starts_with("WARDEN_RETENTION_CONFIRMATIONS: "),
            "{errors:?}"
        );
        assert!(
            errors[1].contains("shorter than the shortest retention"),
            "{errors:?}"
        );
    }
}
