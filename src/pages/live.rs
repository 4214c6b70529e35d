//! What the live streams send (SPEC §18): fragments of the same markup the snapshot is made of,
//! to append or replace by element id, and the last word when a stream ends. The page's script
//! (`assets/live.js`) puts them in place without interpreting them.

use chrono::{DateTime, Utc};
use maud::{html, Markup};
use serde::Serialize;

use super::fragment;
use super::job::{audit_event, log_count, log_line, summary};
use super::JobView;

/// Where a job stream stands: the last log line (`seq`) and the last audit event (`id`) the
/// page already shows. It travels as `{log}.{audit}`: in the page (`data-cursor`), as the first
/// request's `from`, and as each event's SSE id, so a reconnecting browser (`Last-Event-ID`)
/// resumes where it was instead of receiving everything again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCursor {
    /// The `seq` of the last log line shown.
    pub log: i64,
    /// The id of the last audit event shown.
    pub audit: i64,
}

impl std::fmt::Display for JobCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.log, self.audit)
    }
}

impl std::str::FromStr for JobCursor {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (log, audit) = s.split_once('.').ok_or(())?;
        let number = |n: &str| n.parse::<i64>().ok().filter(|n| *n >= 0).ok_or(());
        Ok(JobCursor {
            log: number(log)?,
            audit: number(audit)?,
        })
    }
}

/// One change to a page: `append` the fragment inside the element with id `target`, or
/// `replace` that element with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Patch {
    /// `append` or `replace`.
    pub op: &'static str,
    /// The id of the element it applies to.
    pub target: &'static str,
    /// The fragment, rendered with every value escaped.
    pub html: String,
}

impl Patch {
    fn append(target: &'static str, markup: Markup) -> Patch {
        Patch {
            op: "append",
            target,
            html: fragment(markup),
        }
    }

    /// Replaces the element `target` with `markup` (which should carry the same id).
    pub(super) fn replace(target: &'static str, markup: Markup) -> Patch {
        Patch {
            op: "replace",
            target,
            html: fragment(markup),
        }
    }
}

/// The last event of a stream: why it ended (shown as the page's live state) and the patches
/// that say so on the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndOfStream {
    /// `finished` or `link expired`.
    pub state: &'static str,
    /// Applied before the stream closes.
    pub patches: Vec<Patch>,
}

impl EndOfStream {
    /// The job reached a final status: everything about it has been sent.
    pub fn finished() -> EndOfStream {
        EndOfStream {
            state: "finished",
            patches: Vec::new(),
        }
    }

    /// The link expired while the page was open: the page keeps what it shows and says how to
    /// get a fresh link (`hint`, e.g. "/ops jobs show J-42").
    pub fn expired(hint: &str) -> EndOfStream {
        EndOfStream {
            state: "link expired",
            patches: vec![Patch::replace(
                "notice",
                html! {
                    div #notice .notice {
                        "This link has expired, so this page no longer updates. Ask warden for a fresh one with "
                        code { (hint) } "."
                    }
                },
            )],
        }
    }
}

/// The patches that bring a job page up to date: `job.log` and `job.audit` hold only what is
/// new since the cursor, `lines` is the log's length now (for the count), and the summary is
/// re-rendered when `status_changed`.
pub fn job_patches(
    job: &JobView,
    lines: usize,
    status_changed: bool,
    now: DateTime<Utc>,
) -> Vec<Patch> {
    let mut patches = Vec::new();
    if status_changed {
        patches.push(Patch::replace("summary", summary(job, now)));
    }
    if !job.log.is_empty() {
        patches.push(Patch::append(
            "log",
            html! { @for line in &job.log { (log_line(line)) } },
        ));
        patches.push(Patch::replace("log-count", log_count(lines)));
    }
    if !job.audit.is_empty() {
        patches.push(Patch::append(
            "audit",
            html! { @for event in &job.audit { (audit_event(event, now)) } },
        ));
    }
    patches
}
