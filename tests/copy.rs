//! `warden migrate --copy-from`: a SQLite deployment with real history (commands, jobs with
//! logs, a confirmation, an approval with its vote, bindings, rate-limit uses, the outbox)
//! moves to PostgreSQL with every row, id and audit hash intact, and keeps working there.
//!
//! These tests need a PostgreSQL server (`WARDEN_TEST_DATABASE_URL`); without one they print
//! "skipped" and pass.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use warden::jobs::JobStatus;
use warden::storage::Store;

/// Runs the binary with exactly `env`, as an operator would.
fn warden(env: &[(&str, String)], args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.to_string(), v.clone())))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// True (after saying so) when no PostgreSQL server is configured.
fn skipped() -> bool {
    if db::on_postgres() {
        return false;
    }
    println!("skipped: set {} to run the copy tests", db::POSTGRES_ENV);
    true
}

/// `warden migrate --copy-from SOURCE` into `target`.
fn copy(source: &str, target: &str) -> (i32, String, String) {
    warden(
        &[("WARDEN_DATABASE_URL", target.to_string())],
        &["migrate", "--copy-from", source],
    )
}

/// The per-table counts the copy printed: table → (source, target).
fn counts(out: &str) -> BTreeMap<String, (u64, u64)> {
    out.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let table = words.next()?.to_string();
            let source = words.next()?.parse().ok()?;
            let target = words.next()?.parse().ok()?;
            Some((table, (source, target)))
        })
        .collect()
}

/// The number of events `warden audit verify` reports for `url` (and that it passed).
fn verified_events(url: &str) -> u64 {
    let (code, out, err) = warden(
        &[("WARDEN_DATABASE_URL", url.to_string())],
        &["audit", "verify"],
    );
    assert_eq!(code, 0, "{out}{err}");
    let rest = out
        .strip_prefix("audit chain verified: ")
        .unwrap_or_else(|| panic!("{out}"));
    rest.split(' ').next().unwrap().parse().unwrap()
}

/// Every audit event of `url`, exported as JSON lines.
fn export(url: &str) -> String {
    let (code, out, err) = warden(
        &[("WARDEN_DATABASE_URL", url.to_string())],
        &["audit", "export", "--format", "jsonl"],
    );
    assert_eq!(code, 0, "{err}");
    out
}

/// A high-risk exec command whose script writes a few log lines.
fn risky(dir: &Path) -> (String, String) {
    let script = dir.join("risky.sh");
    std::fs::write(&script, "#!/bin/sh\necho starting $1\necho done\n").unwrap();
    (
        "risky.toml".into(),
        format!(
            r#"
name = "risky"
summary = "A risky test command"
role = "operator"
environment = "staging"
risk = "high"

[[args]]
name = "target"
type = "string"
default = "api"

[action]
type = "exec"
program = "/bin/sh"
args = ["{}", "{{{{target}}}}"]
"#,
            script.display()
        ),
    )
}

/// The number after `prefix` in `text` (J-7 → 7, A-2 → 2).
fn number_after(text: &str, prefix: &str) -> i64 {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} in {text}"))
        + prefix.len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .unwrap()
}

/// The Approve button's (action, value) of the request message for approval `id`.
async fn approve_button(fake: &FakeSlack, id: i64) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let posted = fake.calls_of("chat.postMessage").into_iter().find(|m| {
            m["text"]
                .as_str()
                .unwrap_or_default()
                .starts_with(&format!("A-{id}:"))
        });
        if let Some(message) = posted {
            for block in message["blocks"].as_array().unwrap() {
                for element in block["elements"].as_array().into_iter().flatten() {
                    if element["text"]["text"] == "Approve" {
                        return (
                            element["action_id"].as_str().unwrap().to_string(),
                            element["value"].as_str().unwrap().to_string(),
                        );
                    }
                }
            }
        }
        assert!(Instant::now() < deadline, "no request message for A-{id}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Builds real history on a SQLite file through the running app; returns the job and
/// approval ids it created.
async fn history(sqlite_url: &str) -> (Vec<i64>, i64) {
    let fake = FakeSlack::default();
    let api = fake.start().await;
    let response_url = format!("{api}response");
    let scripts = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(Options {
        env: vec![
            ("WARDEN_DATABASE_URL".into(), sqlite_url.to_string()),
            ("SLACK_API_URL".into(), api),
        ],
        commands: vec![risky(scripts.path())],
    })
    .await;
    for text in ["help", "whoami", "nope"] {
        app.slack("T0ACME", "U0BOB", text).await;
    }
    app.slack("T0GLOBEX", "U0CAROL", "help").await;

    // A high-risk job: a confirmation first, then an exec job with a log.
    let prompt = app.slack("T0ACME", "U0ALICE", "risky web").await;
    let confirmation = prompt.body["blocks"][1]["elements"][0]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("no Confirm button in {}", prompt.body))
        .to_string();
    let confirmed = app
        .click(
            "T0ACME",
            "U0ALICE",
            "warden.confirm",
            &confirmation,
            &response_url,
        )
        .await;
    let confirmed: serde_json::Value = confirmed.json().await.unwrap();
    let risky_job = number_after(confirmed["text"].as_str().unwrap(), "J-");
    // A flag change, and a rate-limited command with a secret argument.
    let flag = app
        .slack(
            "T0ACME",
            "U0ALICE",
            "flag-set checkout.new_flow on env=staging",
        )
        .await;
    let flag_job = number_after(flag.text(), "J-");
    let rotate = app
        .slack("T0ACME", "U0ALICE", "rotate-key api tok_abcdefgh")
        .await;
    let rotate_job = number_after(rotate.text(), "J-");
    let jobs = vec![risky_job, flag_job, rotate_job];
    for id in &jobs {
        let job = app.wait_job(*id).await;
        assert_eq!(job.status, JobStatus::Succeeded, "J-{id}: {:?}", job.error);
    }

    // An access request, approved by alice once she has broken the glass.
    let asked = app
        .slack(
            "T0ACME",
            "U0BOB",
            "access request operator env=staging --for 2h --reason \"on call\"",
        )
        .await;
    let approval = number_after(asked.text(), "A-");
    let glass = app
        .slack(
            "T0ACME",
            "U0ALICE",
            "access breakglass admin --for 30m --reason \"prod down\"",
        )
        .await;
    assert!(
        glass.text().contains("Break-glass granted"),
        "{}",
        glass.text()
    );
    let (action, value) = approve_button(&fake, approval).await;
    let approved = app
        .click("T0ACME", "U0ALICE", &action, &value, &response_url)
        .await;
    let approved: serde_json::Value = approved.json().await.unwrap();
    assert!(
        approved["text"].as_str().unwrap().contains("approved"),
        "{approved}"
    );
    app.server.shutdown().await.unwrap();
    (jobs, approval)
}

#[tokio::test]
async fn a_sqlite_deployment_moves_to_postgres_with_its_whole_history() {
    if skipped() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}", dir.path().join("old.db").display());
    let pg_url = db::database_url(&dir.path().join("new"));
    let (jobs, approval) = history(&sqlite_url).await;
    let events = verified_events(&sqlite_url);
    let source_export = export(&sqlite_url);
    let source_file = std::fs::read(dir.path().join("old.db")).unwrap();

    let (code, out, err) = copy(&sqlite_url, &pg_url);
    println!("{out}");
    assert_eq!(code, 0, "{out}{err}");
    let counts = counts(&out);
    for (table, (source, target)) in &counts {
        assert_eq!(source, target, "{table}: {out}");
    }
    for table in [
        "approval_votes",
        "approvals",
        "audit_events",
        "audit_heads",
        "bindings",
        "confirmations",
        "flags",
        "job_logs",
        "jobs",
        "outbox",
        "rate_uses",
        "replay_keys",
        "server_keys",
    ] {
        assert!(counts.get(table).is_some_and(|c| c.0 > 0), "{table}: {out}");
    }
    assert_eq!(counts["audit_events"].0, events, "{out}");
    assert_eq!(counts["jobs"].0, jobs.len() as u64, "{out}");
    assert!(
        out.contains(&format!(
            "audit chain verified: {events} events, every tenant intact"
        )),
        "{out}"
    );
    // The source was only read.
    assert_eq!(
        std::fs::read(dir.path().join("old.db")).unwrap(),
        source_file
    );

    // The same chain, event for event, and the same rows under the same ids.
    assert_eq!(verified_events(&pg_url), events);
    assert_eq!(export(&pg_url), source_export);
    // Sealed values (the job-link key among them) are copied as they are: the same keys
    // open them on both sides.
    let keys =
        || Some(warden::secrets::Keyring::parse(&format!("{TEST_KEY_ID}:{TEST_KEY}")).unwrap());
    let source = Store::connect(&sqlite_url)
        .await
        .unwrap()
        .with_keyring(keys());
    let target = Store::connect(&pg_url).await.unwrap().with_keyring(keys());
    for id in &jobs {
        let old = source.job(*id).await.unwrap().unwrap();
        let new = target.job(*id).await.unwrap().unwrap();
        assert_eq!(format!("{new:?}"), format!("{old:?}"));
        let old_log = source.job_log(*id, None).await.unwrap();
        assert_eq!(target.job_log(*id, None).await.unwrap(), old_log);
    }
    assert!(!source.job_log(jobs[0], None).await.unwrap().is_empty());
    let old = source.approval(approval).await.unwrap().unwrap();
    let new = target.approval(approval).await.unwrap().unwrap();
    assert_eq!(format!("{new:?}"), format!("{old:?}"));
    let fresh = [7u8; 32];
    let link_key = source.server_key("job-links", &fresh).await.unwrap();
    assert_ne!(link_key, fresh);
    assert_eq!(
        target.server_key("job-links", &fresh).await.unwrap(),
        link_key
    );
    source.close().await;
    target.close().await;

    // A second copy into the now live target is refused and changes nothing.
    let (code, again, err) = copy(&sqlite_url, &pg_url);
    assert_ne!(code, 0, "{again}");
    assert!(err.contains("nothing was copied"), "{err}");
    assert!(err.contains("the target database is not empty"), "{err}");
    assert!(err.contains("audit_events"), "{err}");
    assert_eq!(verified_events(&pg_url), events);
    assert_eq!(export(&pg_url), source_export);

    // Warden runs on the copy: new rows get ids above the copied ones, the chain goes on.
    let app = TestApp::spawn_with(Options {
        env: vec![("WARDEN_DATABASE_URL".into(), pg_url.clone())],
        ..Options::default()
    })
    .await;
    let flag = app
        .slack(
            "T0ACME",
            "U0ALICE",
            "flag-set checkout.new_flow off env=staging",
        )
        .await;
    let id = number_after(flag.text(), "J-");
    assert!(id > *jobs.iter().max().unwrap(), "J-{id} after {jobs:?}");
    let job = app.wait_job(id).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    let asked = app
        .slack(
            "T0ACME",
            "U0BOB",
            "access request operator env=staging --for 1h --reason \"later\"",
        )
        .await;
    assert!(
        number_after(asked.text(), "A-") > approval,
        "{}",
        asked.text()
    );
    app.server.shutdown().await.unwrap();
    assert!(verified_events(&pg_url) > events);
}

#[tokio::test]
async fn a_source_missing_a_migration_is_refused_until_it_is_migrated() {
    if skipped() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}", dir.path().join("old.db").display());
    let pg_url = db::database_url(&dir.path().join("new"));
    let source = Store::connect(&sqlite_url).await.unwrap();
    source.migrate().await.unwrap();
    // Undo migration 6 entirely, as if this file had been written by the previous release.
    source
        .execute_raw("DROP INDEX outbox_key; DELETE FROM _sqlx_migrations WHERE version = 6")
        .await
        .unwrap();
    source.close().await;

    let (code, out, err) = copy(&sqlite_url, &pg_url);
    assert_ne!(code, 0, "{out}");
    assert!(
        err.contains("the source has not applied migration(s) 6"),
        "{err}"
    );
    // What the message advises works: migrate the source, then copy again.
    let (code, _, err) = warden(&[("WARDEN_DATABASE_URL", sqlite_url.clone())], &["migrate"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = copy(&sqlite_url, &pg_url);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("audit chain verified: 0 events"), "{out}");
}
