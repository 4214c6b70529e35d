//! Tests of the action executors: real requests to a fake downstream on 127.0.0.1 and real
//! programs in a temporary directory, each bounded in time.

use std::path::Path;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::*;
use crate::commands::args::{parse_args, RawArgs};

mod exec;
mod http;
mod log;
mod plan;

/// Loads a command from TOML, panicking with the problems when it does not load.
fn spec(toml: &str) -> CommandSpec {
    crate::commands::load::load_str(Path::new("t.toml"), toml)
        .unwrap_or_else(|problems| panic!("{problems:?}\n{toml}"))
}

/// Parses `name=value` pairs (and `--dry-run`) against a command.
fn args(spec: &CommandSpec, named: &[(&str, &str)], dry_run: bool) -> ParsedArgs {
    let raw = RawArgs {
        named: named
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        dry_run,
        ..RawArgs::default()
    };
    parse_args(spec, &raw).expect("valid arguments")
}

/// What one run produced.
struct Ran {
    outcome: ActionOutcome,
    lines: Vec<LogLine>,
}

impl Ran {
    fn texts(&self, stream: Stream) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|l| l.stream == stream)
            .map(|l| l.text.as_str())
            .collect()
    }

    fn all(&self) -> String {
        self.lines
            .iter()
            .map(|l| format!("{}: {}", l.stream.as_str(), l.text))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Runs an action with a cancel sender the caller controls, collecting its log.
async fn run_with(
    spec: &CommandSpec,
    args: &ParsedArgs,
    env: &ActionEnv,
    cancel: watch::Receiver<bool>,
) -> Ran {
    let (log, mut rx) = JobLog::channel();
    let client = http_client();
    let outcome = run(ActionRun {
        job_id: "J-42",
        spec,
        args,
        dry_run: args.dry_run,
        env,
        log,
        cancel,
        http: &client,
    })
    .await;
    Ran {
        outcome,
        lines: drain(&mut rx),
    }
}

/// Runs an action that nobody cancels.
async fn run_simple(spec: &CommandSpec, args: &ParsedArgs, env: &ActionEnv) -> Ran {
    let (_tx, cancel) = watch::channel(false);
    run_with(spec, args, env, cancel).await
}

fn drain(rx: &mut mpsc::UnboundedReceiver<LogLine>) -> Vec<LogLine> {
    let mut lines = Vec::new();
    while let Ok(line) = rx.try_recv() {
        lines.push(line);
    }
    lines
}

/// Fails a test that takes too long instead of hanging it.
async fn bounded<F: std::future::Future>(limit: Duration, f: F) -> F::Output {
    tokio::time::timeout(limit, f)
        .await
        .expect("the test finished in time")
}

#[test]
fn builtin_actions_are_not_run_here() {
    let spec = spec("name = \"f\"\nsummary = \"F\"\nrole = \"viewer\"\n[action]\ntype = \"builtin\"\nname = \"flags.get\"\n");
    let args = args(&spec, &[], false);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ran = rt.block_on(run_simple(&spec, &args, &ActionEnv::empty()));
    assert_eq!(
        ran.outcome,
        ActionOutcome::Failed {
            error: "builtin actions are run by the job runner".into()
        }
    );
}

#[test]
fn env_capture_reports_missing_and_hides_values() {
    let http = spec("name = \"a\"\nsummary = \"A\"\nrole = \"viewer\"\n[action]\ntype = \"http\"\nurl = \"https://x.internal/a\"\nsign_secret_env = \"A_SECRET\"\n");
    let exec = spec("name = \"b\"\nsummary = \"B\"\nrole = \"viewer\"\n[action]\ntype = \"exec\"\nprogram = \"/bin/true\"\ninherit_env = [\"PATH\", \"HOME\", \"A_SECRET\"]\n");
    let registry = crate::commands::Registry::from_specs(vec![http, exec]).unwrap();
    let process: std::collections::HashMap<String, String> = [
        ("A_SECRET", "hunter2"),
        ("PATH", "/usr/bin"),
        ("UNRELATED", "x"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let (env, missing) = ActionEnv::capture(&registry, &process);
    assert_eq!(missing, vec!["HOME".to_string()]);
    use secrecy::ExposeSecret;
    assert_eq!(env.get("A_SECRET").unwrap().expose_secret(), "hunter2");
    assert!(
        env.get("UNRELATED").is_none(),
        "only referenced variables are kept"
    );
    let debug = format!("{env:?}");
    assert!(
        debug.contains("A_SECRET") && debug.contains("PATH"),
        "{debug}"
    );
    assert!(
        !debug.contains("hunter2") && !debug.contains("/usr/bin"),
        "{debug}"
    );
    assert!(ActionEnv::empty().get("PATH").is_none());
}
