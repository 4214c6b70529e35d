//! The `exec` action: run a program directly, never through a shell.
//!
//! The program gets exactly the argv the command file shows (each template one element), an
//! environment built from nothing (the file's fixed `env`, the `inherit_env` variables captured
//! at start-up, `WARDEN_JOB_ID` and on dry runs `WARDEN_DRY_RUN=1`), a null stdin, and its own
//! process group. Stopping it (timeout, cancel, or leftovers after it exits) signals the whole
//! group, so a background grandchild cannot outlive the job.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::time::timeout;

use super::{cancelled, render, ActionOutcome, ActionRun, JobLog, Stream, LOG_LINE_CAP};
use crate::commands::args::ParsedArgs;
use crate::commands::spec::{ActionSpec, CommandSpec};
use crate::model::format_duration;

/// How long a process group gets between SIGTERM and SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(2);

/// The argv (without the program) an exec action runs with: the `args` templates and, on dry
/// runs, the `dry_run_args` templates, each rendered to exactly one element.
pub fn command_line(
    spec: &CommandSpec,
    args: &ParsedArgs,
    dry_run: bool,
) -> Result<Vec<String>, String> {
    let ActionSpec::Exec {
        args: templates,
        dry_run_args,
        ..
    } = &spec.action
    else {
        return Err("not an exec action".to_string());
    };
    let mut argv = render::argv(templates, args)?;
    if dry_run {
        argv.extend(render::argv(dry_run_args, args)?);
    }
    Ok(argv)
}

/// The names of the environment variables the program may see, in the order [`super::plan`]
/// shows them (an inherited variable is only set if it was set when warden started).
pub(super) fn env_names(spec: &CommandSpec, dry_run: bool) -> Vec<String> {
    let ActionSpec::Exec {
        env, inherit_env, ..
    } = &spec.action
    else {
        return Vec::new();
    };
    let mut names: Vec<String> = env.keys().cloned().collect();
    names.extend(inherit_env.iter().map(|n| format!("{n} (inherited)")));
    names.push("WARDEN_JOB_ID".to_string());
    if dry_run {
        names.push("WARDEN_DRY_RUN".to_string());
    }
    names
}

/// Why the wait for the program ended.
enum Ending {
    Exited(std::io::Result<ExitStatus>),
    TimedOut,
    Cancelled,
}

/// Runs the command's exec action, streaming its output into the log as it comes.
pub(super) async fn run(run: &ActionRun<'_>) -> ActionOutcome {
    let ActionSpec::Exec {
        program,
        env,
        inherit_env,
        workdir,
        ..
    } = &run.spec.action
    else {
        return ActionOutcome::Failed {
            error: "not an exec action".to_string(),
        };
    };
    let log = &run.log;
    let argv = match command_line(run.spec, run.args, run.dry_run) {
        Ok(argv) => argv,
        Err(error) => {
            log.info(format!("not started: {error}"));
            return ActionOutcome::Failed { error };
        }
    };
    let mut command = Command::new(program);
    command.args(&argv).env_clear().envs(env);
    for name in inherit_env {
        match run.env.get(name) {
            Some(value) => {
                command.env(name, value.expose_secret());
            }
            None => log.info(format!("{name} not set")),
        }
    }
    command.env("WARDEN_JOB_ID", run.job_id);
    if run.dry_run {
        command.env("WARDEN_DRY_RUN", "1");
    }
    command
        .current_dir(workdir.as_deref().unwrap_or(Path::new("/")))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group lets one signal reach everything the program starts.
        .process_group(0)
        // Should this future be dropped mid-run, the program must not be left running.
        .kill_on_drop(true);
    // If warden itself dies (kill -9, OOM), the kernel kills the program too, so a job that
    // recovery marks failed is not still acting in the background. Grandchildren the program
    // started are not covered; the runbook for stuck jobs says how to find them.
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe and touches only the child's own state between fork
    // and exec, which is all pre_exec allows.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = Instant::now();
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            let error = format!("could not start {}: {err}", program.display());
            log.info(error.clone());
            return ActionOutcome::Failed { error };
        }
    };
    // The id is only missing once the child has been reaped, which cannot have happened yet.
    let group = child.id().map(|id| id as libc::pid_t);
    let readers = [
        child
            .stdout
            .take()
            .map(|out| tokio::spawn(pump(out, log.clone(), Stream::Stdout))),
        child
            .stderr
            .take()
            .map(|err| tokio::spawn(pump(err, log.clone(), Stream::Stderr))),
    ];

    let mut cancel = run.cancel.clone();
    let ending = tokio::select! {
        status = child.wait() => Ending::Exited(status),
        () = tokio::time::sleep(run.spec.timeout) => Ending::TimedOut,
        () = cancelled(&mut cancel) => Ending::Cancelled,
    };
    let status = match &ending {
        Ending::Exited(status) => status.as_ref().map_err(|e| e.to_string()).copied(),
        Ending::TimedOut | Ending::Cancelled => {
            let why = match ending {
                Ending::TimedOut => {
                    format!("timed out after {}", format_duration(run.spec.timeout))
                }
                _ => "cancelled".to_string(),
            };
            log.info(format!("{why}: stopping the process group"));
            stop(&mut child, group).await.map_err(|e| e.to_string())
        }
    };
    // The run took until the program ended; cleaning up after it does not count.
    let took = started.elapsed().as_secs_f64();
    // Whatever is still in the group belongs to no one once the program is gone: stop it, so
    // that a job leaves nothing running and its output pipes close.
    if let Some(group) = group {
        if group_alive(group) {
            log.info("stopping processes the program left running");
            signal_group(group, libc::SIGTERM);
            drain_group(group, Instant::now() + KILL_GRACE).await;
        }
    }
    for reader in readers.into_iter().flatten() {
        // A process that left the group (setsid) may still hold a pipe open; the log is not
        // worth waiting for beyond the grace period.
        let abort = reader.abort_handle();
        if timeout(KILL_GRACE, reader).await.is_err() {
            abort.abort();
        }
    }
    let status = match status {
        Ok(status) => status,
        Err(err) => {
            let error = format!("could not wait for {}: {err}", program.display());
            log.info(error.clone());
            return ActionOutcome::Failed { error };
        }
    };
    let exit = describe(status);
    log.info(exit.clone());
    match ending {
        Ending::TimedOut => ActionOutcome::TimedOut,
        Ending::Cancelled => ActionOutcome::Cancelled,
        Ending::Exited(_) if status.success() => ActionOutcome::Succeeded {
            summary: format!("exit 0 in {took:.1} s"),
        },
        Ending::Exited(_) => ActionOutcome::Failed { error: exit },
    }
}

/// `exit code N` or `killed by signal N`.
fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => format!("ended with {status}"),
    }
}

/// Sends `signal` to every process in the group.
fn signal_group(group: libc::pid_t, signal: libc::c_int) {
    // SAFETY: killpg only sends a signal; it touches no memory of ours. The group id is the
    // id of a child we spawned with process_group(0), so it names that job's group. A failure
    // (ESRCH: the group is already gone) needs no handling.
    unsafe {
        libc::killpg(group, signal);
    }
}

/// Whether a live process is left in the group. Signal 0 checks without sending anything
/// (EPERM still means a process exists). A killed process whose parent has not reaped it yet
/// (a grandchild reparented to a PID 1 that never reaps, as in some containers) still counts
/// for the kernel, so on Linux the group's members are looked up in /proc and zombies ignored.
fn group_alive(group: libc::pid_t) -> bool {
    // SAFETY: as in `signal_group`; signal 0 is delivered to nobody.
    let rc = unsafe { libc::killpg(group, 0) };
    if rc != 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EPERM) {
        return false;
    }
    live_member_in_proc(group).unwrap_or(true)
}

/// Whether /proc lists a process of `group` that is not a zombie; `None` without /proc.
fn live_member_in_proc(group: libc::pid_t) -> Option<bool> {
    let entries = std::fs::read_dir("/proc").ok()?;
    let group = group.to_string();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // The fields after the command name, which may itself hold spaces and parentheses,
        // are: state, ppid, pgrp, …
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let (Some(state), Some(_ppid), Some(pgrp)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if pgrp == group && !matches!(state, "Z" | "X") {
            return Some(true);
        }
    }
    Some(false)
}

/// Stops a running program: SIGTERM to its group, SIGKILL when the program (or anything else
/// in the group) is still there after [`KILL_GRACE`].
async fn stop(child: &mut Child, group: Option<libc::pid_t>) -> std::io::Result<ExitStatus> {
    let Some(group) = group else {
        child.start_kill()?;
        return child.wait().await;
    };
    signal_group(group, libc::SIGTERM);
    let deadline = Instant::now() + KILL_GRACE;
    let status = match tokio::time::timeout_at(deadline.into(), child.wait()).await {
        Ok(status) => status,
        Err(_) => {
            signal_group(group, libc::SIGKILL);
            child.wait().await
        }
    };
    drain_group(group, deadline).await;
    status
}

/// Waits until the group is empty or `deadline` passes, then SIGKILLs what is left.
async fn drain_group(group: libc::pid_t, deadline: Instant) {
    while group_alive(group) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if group_alive(group) {
        signal_group(group, libc::SIGKILL);
    }
}

/// Copies a pipe into the log line by line as the lines arrive. A line is kept only up to the
/// log's cap (plus a little, so the log can tell it was cut), so one endless line cannot
/// exhaust memory; the pipe keeps being drained after the log is full, so the program never
/// blocks on a full pipe.
async fn pump(pipe: impl AsyncRead + Unpin, log: JobLog, stream: Stream) {
    const KEEP: usize = LOG_LINE_CAP + 4;
    let mut reader = BufReader::new(pipe);
    let mut line = Vec::new();
    loop {
        let buf = match reader.fill_buf().await {
            Ok([]) | Err(_) => break,
            Ok(buf) => buf,
        };
        let newline = buf.iter().position(|&b| b == b'\n');
        let take = newline.unwrap_or(buf.len());
        let room = KEEP.saturating_sub(line.len());
        line.extend_from_slice(&buf[..take.min(room)]);
        reader.consume(take + usize::from(newline.is_some()));
        if newline.is_some() {
            emit(&log, stream, &mut line);
        }
    }
    if !line.is_empty() {
        emit(&log, stream, &mut line);
    }
}

fn emit(log: &JobLog, stream: Stream, line: &mut Vec<u8>) {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    log.line(stream, String::from_utf8_lossy(line));
    line.clear();
}
