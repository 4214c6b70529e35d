//! The exec action with small `/bin/sh` scripts in a temporary directory. Scripts are run as
//! `/bin/sh SCRIPT`, never executed directly, so that writing a script while another test
//! forks cannot fail with "text file busy".

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{args, bounded, drain, run_simple, run_with, spec};
use crate::actions::{
    http_client, run, ActionEnv, ActionOutcome, ActionRun, JobLog, Stream, LOG_LINE_CAP,
    LOG_MAX_LINES,
};
use crate::commands::CommandSpec;

/// Writes a script into `dir`.
fn script(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("job.sh");
    std::fs::write(&path, body).unwrap();
    path
}

/// A command running `/bin/sh SCRIPT` followed by `extra_args` (TOML list items), with more
/// TOML lines for the action appended.
fn exec_spec(script: &Path, extra_args: &str, action_lines: &str) -> CommandSpec {
    spec(&format!(
        r#"
name = "job"
summary = "Job"
role = "operator"
dry_run = true
[[args]]
name = "service"
type = "string"
default = "api"
[action]
type = "exec"
program = "/bin/sh"
args = ["{}"{extra_args}]
inherit_env = ["PATH"]
{action_lines}
"#,
        script.display()
    ))
}

/// The environment warden captured at start-up, as far as these tests need it.
fn path_env() -> ActionEnv {
    ActionEnv::from_values([("PATH", "/usr/bin:/bin")])
}

#[tokio::test]
async fn argv_arrives_exactly_without_a_shell() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("x");
    let path = script(
        dir.path(),
        "pwd\nfor a in \"$@\"; do printf '<%s>\\n' \"$a\"; done\n",
    );
    let spec = exec_spec(
        &path,
        r#", "{{service}}", "--name={{service}}", "*", "$HOME""#,
        "",
    );
    let evil = format!("api; touch {}", marker.display());
    let args = args(&spec, &[("service", &evil)], false);
    let ran = bounded(
        Duration::from_secs(10),
        run_simple(&spec, &args, &path_env()),
    )
    .await;
    assert!(
        matches!(ran.outcome, ActionOutcome::Succeeded { .. }),
        "{}",
        ran.all()
    );
    assert_eq!(
        ran.texts(Stream::Stdout),
        vec![
            "/".to_string(),
            format!("<{evil}>"),
            format!("<--name={evil}>"),
            "<*>".to_string(),
            "<$HOME>".to_string(),
        ]
    );
    assert!(!marker.exists(), "nothing ran the argument as a command");
    assert_eq!(ran.texts(Stream::Info).last(), Some(&"exit code 0"));
}

#[tokio::test]
async fn environment_is_only_what_is_allowed() {
    let spec = spec(
        r#"
name = "job"
summary = "Job"
role = "operator"
dry_run = true
[action]
type = "exec"
program = "/usr/bin/env"
env = { FIXED = "one two" }
inherit_env = ["PATH", "HOME"]
workdir = "/tmp"
"#,
    );
    let ran_args = args(&spec, &[], false);
    let ran = bounded(
        Duration::from_secs(10),
        run_simple(&spec, &ran_args, &path_env()),
    )
    .await;
    assert!(
        matches!(ran.outcome, ActionOutcome::Succeeded { .. }),
        "{}",
        ran.all()
    );
    let mut seen = ran.texts(Stream::Stdout);
    seen.sort_unstable();
    assert_eq!(
        seen,
        vec!["FIXED=one two", "PATH=/usr/bin:/bin", "WARDEN_JOB_ID=J-42"],
        "HOME is absent: it was referenced but not captured"
    );
    assert!(
        ran.texts(Stream::Info).contains(&"HOME not set"),
        "{}",
        ran.all()
    );
}

#[tokio::test]
async fn dry_run_sets_the_variable_and_appends_dry_run_args() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(
        dir.path(),
        "echo \"dry=${WARDEN_DRY_RUN-unset}\"\nfor a in \"$@\"; do printf '<%s>\\n' \"$a\"; done\n",
    );
    let spec = exec_spec(
        &path,
        r#", "{{service}}""#,
        r#"dry_run_args = ["--dry-run", "--svc={{service}}"]"#,
    );
    let cases = [
        (true, vec!["dry=1", "<web>", "<--dry-run>", "<--svc=web>"]),
        (false, vec!["dry=unset", "<web>"]),
    ];
    for (dry_run, want) in cases {
        let args = args(&spec, &[("service", "web")], dry_run);
        let ran = bounded(
            Duration::from_secs(10),
            run_simple(&spec, &args, &path_env()),
        )
        .await;
        assert!(
            matches!(ran.outcome, ActionOutcome::Succeeded { .. }),
            "{}",
            ran.all()
        );
        assert_eq!(ran.texts(Stream::Stdout), want, "dry_run={dry_run}");
    }
}

#[tokio::test]
async fn failures_name_the_exit() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("echo oops >&2\nexit 3\n", "exit code 3"),
        ("kill -9 $$\n", "killed by signal 9"),
    ];
    for (body, want) in cases {
        let path = script(dir.path(), body);
        let spec = exec_spec(&path, "", "");
        let args = args(&spec, &[], false);
        let ran = bounded(
            Duration::from_secs(10),
            run_simple(&spec, &args, &path_env()),
        )
        .await;
        assert_eq!(
            ran.outcome,
            ActionOutcome::Failed { error: want.into() },
            "{}",
            ran.all()
        );
        assert_eq!(ran.texts(Stream::Info).last(), Some(&want));
    }
    let path = script(dir.path(), "echo oops >&2\nexit 3\n");
    let ran = run_simple(&exec_spec(&path, "", ""), &Default::default(), &path_env()).await;
    assert_eq!(ran.texts(Stream::Stderr), vec!["oops"]);
}

#[tokio::test]
async fn spawn_failure_names_the_program() {
    let spec = spec(
        "name = \"job\"\nsummary = \"Job\"\nrole = \"operator\"\n[action]\ntype = \"exec\"\nprogram = \"/nonexistent/prog\"\n",
    );
    let args = args(&spec, &[], false);
    let ran = bounded(
        Duration::from_secs(10),
        run_simple(&spec, &args, &path_env()),
    )
    .await;
    let ActionOutcome::Failed { error } = &ran.outcome else {
        panic!("{:?}", ran.outcome);
    };
    assert!(
        error.starts_with("could not start /nonexistent/prog"),
        "{error}"
    );
}

/// Whether a process is gone. A killed grandchild is reparented to PID 1, which in some
/// containers never reaps it; a zombie has been killed and holds nothing but its pid, so it
/// counts as gone.
fn gone(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    if unsafe { libc::kill(pid, 0) } != 0 {
        return true;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit(')').next().unwrap_or("").trim_start();
    state.starts_with('Z') || stat.is_empty()
}

async fn assert_gone(pid_file: &Path) {
    let pid: libc::pid_t = std::fs::read_to_string(pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    while !gone(pid) {
        assert!(Instant::now() < deadline, "grandchild {pid} is still alive");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn timeout_stops_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    // The second case ignores SIGTERM (as does its grandchild), so only SIGKILL stops it.
    let cases = [
        ("", Duration::from_millis(2000)),
        ("trap '' TERM\n", Duration::from_millis(4500)),
    ];
    for (prelude, limit) in cases {
        let body = format!(
            "{prelude}sleep 30 &\necho $! > '{}'\necho started\nsleep 30\n",
            pid_file.display()
        );
        let path = script(dir.path(), &body);
        let mut spec = exec_spec(&path, "", "");
        spec.timeout = Duration::from_secs(1);
        let args = args(&spec, &[], false);
        let started = Instant::now();
        let ran = bounded(
            Duration::from_secs(15),
            run_simple(&spec, &args, &path_env()),
        )
        .await;
        let took = started.elapsed();
        assert_eq!(ran.outcome, ActionOutcome::TimedOut, "{}", ran.all());
        assert!(took < limit, "took {took:?} ({prelude:?})\n{}", ran.all());
        assert!(
            ran.texts(Stream::Info)
                .contains(&"timed out after 1s: stopping the process group"),
            "{}",
            ran.all()
        );
        assert_gone(&pid_file).await;
    }
}

#[tokio::test]
async fn leftover_background_processes_are_stopped_after_exit() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let body = format!("sleep 30 &\necho $! > '{}'\nexit 0\n", pid_file.display());
    let path = script(dir.path(), &body);
    let spec = exec_spec(&path, "", "");
    let args = args(&spec, &[], false);
    let ran = bounded(
        Duration::from_secs(10),
        run_simple(&spec, &args, &path_env()),
    )
    .await;
    assert!(
        matches!(ran.outcome, ActionOutcome::Succeeded { .. }),
        "{}",
        ran.all()
    );
    assert_gone(&pid_file).await;
}

#[tokio::test]
async fn cancel_stops_the_program() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(dir.path(), "echo started\nsleep 30\n");
    let spec = exec_spec(&path, "", "");
    let args = args(&spec, &[], false);
    let (tx, cancel) = watch::channel(false);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        tx.send(true).unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let started = Instant::now();
    let env = path_env();
    let ran = bounded(
        Duration::from_secs(10),
        run_with(&spec, &args, &env, cancel),
    )
    .await;
    assert_eq!(ran.outcome, ActionOutcome::Cancelled, "{}", ran.all());
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(ran.texts(Stream::Info).last(), Some(&"killed by signal 15"));
}

#[tokio::test]
async fn output_is_streamed_while_the_program_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(dir.path(), "echo first\nsleep 3\necho second\n");
    let spec = exec_spec(&path, "", "");
    let args = args(&spec, &[], false);
    let env = path_env();
    let client = http_client();
    let (log, mut rx) = JobLog::channel();
    let (_tx, cancel) = watch::channel(false);
    let running = run(ActionRun {
        job_id: "J-7",
        spec: &spec,
        args: &args,
        dry_run: false,
        env: &env,
        log,
        cancel,
        http: &client,
    });
    tokio::pin!(running);
    let started = Instant::now();
    let first = tokio::select! {
        line = rx.recv() => line.expect("a line"),
        outcome = &mut running => panic!("finished before any line arrived: {outcome:?}"),
    };
    assert_eq!(
        (first.stream, first.text.as_str()),
        (Stream::Stdout, "first")
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the line came early"
    );
    let outcome = bounded(Duration::from_secs(10), running).await;
    assert!(
        matches!(outcome, ActionOutcome::Succeeded { ref summary } if summary.starts_with("exit 0 in "))
    );
    let rest: Vec<String> = drain(&mut rx).into_iter().map(|l| l.text).collect();
    assert_eq!(rest, vec!["second", "exit code 0"]);
}

#[tokio::test]
async fn program_output_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    // One 10 000-byte line, then more lines than a job log keeps.
    let path = script(
        dir.path(),
        "head -c 10000 /dev/zero | tr '\\0' a\necho\nyes x | head -n 12000\n",
    );
    let spec = exec_spec(&path, "", "");
    let args = args(&spec, &[], false);
    let env = path_env();
    let client = http_client();
    let (log, mut rx) = JobLog::channel();
    let (_tx, cancel) = watch::channel(false);
    let outcome = bounded(
        Duration::from_secs(20),
        run(ActionRun {
            job_id: "J-8",
            spec: &spec,
            args: &args,
            dry_run: false,
            env: &env,
            log: log.clone(),
            cancel,
            http: &client,
        }),
    )
    .await;
    assert!(
        matches!(outcome, ActionOutcome::Succeeded { .. }),
        "{outcome:?}"
    );
    let lines = drain(&mut rx);
    assert_eq!(lines.len(), LOG_MAX_LINES + 1);
    let long = &lines[0].text;
    assert_eq!(long.len(), LOG_LINE_CAP + '…'.len_utf8());
    assert!(long.ends_with('…'));
    let last = lines.last().unwrap();
    assert_eq!(last.stream, Stream::Info);
    assert!(last.text.starts_with("[log truncated: "), "{}", last.text);
    // 12 000 x lines plus "exit code 0", less the 9 999 that fitted after the long line.
    assert_eq!(log.dropped(), 12_000 + 1 - (LOG_MAX_LINES as u64 - 1));
}
