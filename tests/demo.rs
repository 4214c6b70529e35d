//! `warden demo` end to end: the binary, with no configuration at all (an empty environment),
//! plays the whole story against the real server and prints it; the transcript shows every
//! step, in order, and the database it leaves behind verifies.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WARDEN: &str = env!("CARGO_BIN_EXE_warden");

/// Runs `warden demo` with an empty environment, bounded at 90 s; returns (success, stdout,
/// stderr, elapsed).
fn run_demo() -> (bool, String, String, Duration) {
    run_demo_with(&[])
}

/// `run_demo`, with extra arguments after `demo`.
fn run_demo_with(args: &[&str]) -> (bool, String, String, Duration) {
    let started = Instant::now();
    let mut child = Command::new(WARDEN)
        .arg("demo")
        .args(args)
        .env_clear()
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("warden starts");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).unwrap();
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).unwrap();
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "warden demo did not finish within 90 s; so far:\n{}",
                reader.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let elapsed = started.elapsed();
    (
        status.success(),
        reader.join().unwrap(),
        err_reader.join().unwrap(),
        elapsed,
    )
}

/// Removes the demo's directory when the test ends, passed or failed.
struct Cleanup(Option<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(dir) = &self.0 {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[test]
fn the_demo_plays_the_whole_story_with_no_configuration() {
    let (ok, out, err, elapsed) = run_demo();
    let dir = out
        .lines()
        .find_map(|l| l.split_once("Everything is in ").map(|(_, d)| d))
        .and_then(|d| d.strip_suffix(':'))
        .map(str::to_string);
    let _cleanup = Cleanup(dir.clone());
    assert!(ok, "warden demo failed:\n{out}\nstderr:\n{err}");
    assert!(
        elapsed < Duration::from_secs(60),
        "the demo took {elapsed:?}"
    );

    // Every step of the story, in the order it happens.
    let steps = [
        // An engineer types a command.
        "ana> /ops help",
        "`/ops deploy`: Deploy a service version",
        // A refusal for a missing role.
        "dan> /ops deploy web v2.4.1 env=staging",
        "warden (only dan): Refused at the `authorize` step.",
        "you need the `operator` role in `staging`; you have `viewer` there",
        // A dry run and its plan, from the deployer.
        "ana> /ops deploy web v2.4.1 env=prod --dry-run",
        "dry run queued",
        "dry run succeeded",
        "plan: web v2.3.9 -> v2.4.1 in prod",
        // A production deploy that needs two approvals, posted with its buttons.
        "ana> /ops deploy web v2.4.1 env=prod --reason \"fixes checkout timeouts (INC-2231)\"",
        "A-1 requested",
        "needs 2 approvals from group:sre",
        "#deploys  warden: A-1: ana asks to run `deploy service=web version=v2.4.1 env=prod`",
        "[Approve] [Deny]",
        // A self-approval refused.
        "ana> clicks [Approve] on A-1",
        "warden (only ana): Refused: you asked for this, so someone else has to approve it",
        // Two approvers.
        "ben> clicks [Approve] on A-1",
        "Your approval of A-1 is recorded: 1 of 2.",
        "cleo> clicks [Approve] on A-1",
        "A-1 is approved; J-2 queued.",
        // The job runs and succeeds. (Its signed call to the deployer is checked below: the
        // deployer's line and the card's `running` edit race each other in the transcript.)
        "J-2 `deploy service=web version=v2.4.1 env=prod`: running",
        "J-2 `deploy service=web version=v2.4.1 env=prod`: succeeded",
        "3/3 instances replaced and healthy",
        // Live progress of a streamed job.
        "ana> /ops restart api",
        "│ api-1 drained, restarted, healthy (1/4)",
        "J-3 `restart service=api env=staging`: succeeded",
        // A failure and its alert, with Retry, in the alert channel.
        "ana> /ops migrate web",
        "#alerts  warden: ALERT: J-4 `migrate service=web env=staging` failed",
        "ERROR: lock timeout on table orders",
        "[Retry]",
        // A monitoring alert: its card, an operator's click on Restart, the resolution.
        "alertmanager> POST /alerts/alertmanager: HighErrorRate firing",
        "#alerts  warden: *FIRING* `HighErrorRate`",
        "[Restart]",
        "ana> clicks [Restart] on AL-1:0",
        "J-5 `restart service=web env=staging`: succeeded",
        "alertmanager> POST /alerts/alertmanager: HighErrorRate resolved",
        "RESOLVED* `HighErrorRate` after 3m",
        // An audit search from chat.
        "cleo> /ops audit kind=approval",
        "ana approval.refused A-1",
        "cleo approval.approved A-1",
        // A digest.
        "#audit  warden: Audit summary for `demo`",
        "Audit chain: verified",
        // The chain verifies.
        "audit chain verified: ",
        // The job page.
        "/jobs/2?t=",
        "200 OK: J-2's full log",
        // Where things are.
        "audit verify",
        "outbox list",
    ];
    assert!(
        out.contains(
            "deployer: signed POST /deploys from warden, Idempotency-Key J-2, signature valid"
        ),
        "the approved deploy reached the deployer, signed:\n{out}"
    );
    let mut from = 0;
    for step in steps {
        match out[from..].find(step) {
            Some(i) => from += i + step.len(),
            None => panic!("`{step}` missing (or out of order) in the transcript:\n{out}"),
        }
    }

    // The directory it leaves behind holds JSON logs and a database that `warden audit verify`
    // accepts.
    let dir = dir.unwrap_or_else(|| panic!("no directory in:\n{out}"));
    let db = std::path::Path::new(&dir).join("warden.db");
    let log = std::path::Path::new(&dir).join("warden.log");
    assert!(db.is_file() && log.is_file(), "{dir}");
    let first_log_line = std::fs::read_to_string(&log).unwrap();
    let first_log_line = first_log_line.lines().next().unwrap_or_default();
    assert!(
        serde_json::from_str::<serde_json::Value>(first_log_line).is_ok(),
        "{first_log_line}"
    );
    let verify = Command::new(WARDEN)
        .args(["audit", "verify"])
        .env_clear()
        // The demo always runs on the embedded SQLite default, whatever the suite runs on.
        .env("WARDEN_DATABASE_URL", format!("sqlite://{}", db.display()))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success() && said.contains("audit chain verified"),
        "{said}"
    );
}

#[test]
fn the_socket_mode_demo_answers_over_the_websocket_with_no_public_url() {
    let (ok, out, err, _) = run_demo_with(&["--socket-mode"]);
    let dir = out
        .lines()
        .find_map(|l| l.strip_prefix("warden's log: "))
        .and_then(|log| std::path::Path::new(log).parent())
        .map(|d| d.display().to_string());
    let _cleanup = Cleanup(dir);
    assert!(
        ok,
        "warden demo --socket-mode failed:\n{out}\nstderr:\n{err}"
    );
    for expected in [
        "Slack → warden  hello (connection 1)",
        "ack e-1 with the answer: ",
        "warden opened connection 2 while connection 1 was still open",
        "ack e-2 on connection 2",
        "the audit log holds 2 commands",
        "slack_socket: connected",
    ] {
        assert!(out.contains(expected), "missing `{expected}` in:\n{out}");
    }
}
