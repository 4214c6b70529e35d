//! Action executors: what running a command actually does once the guard has let it through
//! and the job runner has claimed the job.
//!
//! [`run`] executes an `http` action ([`http`]) or an `exec` action ([`exec`]) to completion,
//! bounded by the command's timeout and by cancellation, and streams what happens into a
//! [`JobLog`]. [`plan`] describes, as text for people, exactly what [`run`] would do; it is shown
//! in confirmation messages and hashed into approvals, so it is deterministic and never shows a
//! secret argument. Builtin actions are not run here: they need the database, so the job
//! runner runs them itself.
//!
//! Architecture invariant: nothing here reads the process environment. The variables command
//! files reference (`sign_secret_env`, `inherit_env`) are captured once at start-up into an
//! [`ActionEnv`], so what a program or a signature sees cannot change behind the operator's back.
//!
//! Whatever an action logs or reports is scrubbed of the job's secret values first
//! (`actions/scrub.rs`), because programs print their arguments and services echo requests.
//!
//! The templates of an action are rendered in `actions/render.rs`, each value escaped for where
//! it lands: percent-encoded in URLs, a JSON value in bodies, unescaped but without line breaks
//! in headers, and exactly one argv element for programs.

use std::time::Duration;

use crate::commands::args::ParsedArgs;
use crate::commands::spec::{ActionSpec, CommandSpec};

mod env;
pub mod exec;
pub mod http;
mod log;
mod plan;
mod render;
mod scrub;

pub use env::ActionEnv;
pub use log::{JobLog, LogLine, Stream, LOG_LINE_CAP, LOG_MAX_BYTES, LOG_MAX_LINES};
pub use plan::plan;
pub use scrub::{Scrubber, MIN_INHERITED_SECRET_LEN};

/// Everything one attempt of an action needs. The job runner builds one per attempt.
pub struct ActionRun<'a> {
    /// The job id as shown to people, e.g. `J-42`; sent as the idempotency key.
    pub job_id: &'a str,
    /// The command being run.
    pub spec: &'a CommandSpec,
    /// The checked arguments of this invocation.
    pub args: &'a ParsedArgs,
    /// Whether this is a dry run; the action is still run, but told so.
    pub dry_run: bool,
    /// The environment variables captured at start-up.
    pub env: &'a ActionEnv,
    /// Where the action's log lines go.
    pub log: JobLog,
    /// Becomes `true` when someone cancels the job.
    pub cancel: tokio::sync::watch::Receiver<bool>,
    /// The HTTP client, built by [`http_client`].
    pub http: &'a reqwest::Client,
}

/// How one attempt of an action ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionOutcome {
    /// The action did what it was asked, e.g. `exit 0 in 1.2 s` or `201 Created`.
    Succeeded {
        /// One line for the job's chat message.
        summary: String,
    },
    /// The action ran (or could not start) and failed.
    Failed {
        /// One line saying why, safe to show in chat (no secrets).
        error: String,
    },
    /// The command's timeout passed before the action finished; it was stopped.
    TimedOut,
    /// Someone cancelled the job while it ran; the action was stopped.
    Cancelled,
}

/// Runs an http or exec action to completion, honouring `spec.timeout` and cancellation. A
/// builtin action is not run here and yields [`ActionOutcome::Failed`].
pub async fn run(run: ActionRun<'_>) -> ActionOutcome {
    let outcome = match &run.spec.action {
        ActionSpec::Http { .. } => http::run(&run).await,
        ActionSpec::Exec { .. } => exec::run(&run).await,
        ActionSpec::Builtin { .. } => ActionOutcome::Failed {
            error: "builtin actions are run by the job runner".to_string(),
        },
    };
    // The action's own texts are scrubbed where they are made; this catches the rest.
    let outcome = run.log.scrubber().outcome(outcome);
    let dropped = run.log.dropped();
    if dropped > 0 {
        tracing::info!(
            job.id = run.job_id,
            log.dropped = dropped,
            "job log truncated"
        );
    }
    outcome
}

/// The reqwest client for actions. Redirects are not followed, because a redirect would send
/// a signed request (and its arguments) somewhere the command file does not name; proxies are
/// not taken from the environment, because nothing reads the environment after start-up.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(Duration::from_secs(10))
        .build()
        // Building only fails when the TLS back end cannot initialise, which is a broken build
        // rather than a condition to handle at run time.
        .expect("the rustls HTTP client can be built")
}

/// Waits until the job is cancelled. A dropped sender means nobody can cancel any more, so
/// this then waits forever rather than reporting a cancellation that never happened.
async fn cancelled(cancel: &mut tokio::sync::watch::Receiver<bool>) {
    if cancel.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// A duration for log lines and summaries: `123 ms` below a second, else `1.2 s`.
fn elapsed_text(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests;
