//! Scheduled commands (SPEC §17) end to end: a schedule runs as its principal through the whole
//! guard and is audited as the schedule's run; each slot acts once across replicas; a revoked
//! principal's run is refused, audited and alerted; an approval rule still applies; pausing
//! stops it on every replica; `warden check` reports bad entries with their lines.

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::*;
use warden::service::RunOutcome;

/// An operator command (approval by an admin in prod) and an admin one, both harmless.
const FLUSH: &str = r#"
name = "cache-flush"
summary = "Flush a cache"
role = "operator"
environment = "{{env}}"

[[args]]
name = "env"
type = "choice"
choices = ["staging", "prod"]
default = "staging"

[approval]
when = { env = ["prod"] }
approver_role = "admin"

[action]
type = "builtin"
name = "flags.get"
"#;

const PURGE: &str = r#"
name = "purge"
summary = "Purge everything"
role = "admin"
environment = "staging"

[action]
type = "builtin"
name = "flags.get"
"#;

fn directory(schedules: &str) -> String {
    format!("{DIRECTORY}\n{schedules}")
}

const EVERY_10S: &str = r#"
[[schedules]]
name = "flush"
tenant = "acme"
run_as = "alice"
command = "cache-flush env=staging"
schedule = "every 10s"
channel = "slack:C0OPS"
"#;

const PURGE_HOURLY: &str = r#"
[[schedules]]
name = "purge"
tenant = "acme"
run_as = "alice"
command = "purge"
schedule = "every 1h"
channel = "slack:C0OPS"
"#;

const FLUSH_HOURLY: &str = r#"
[[schedules]]
name = "flush-prod"
tenant = "acme"
run_as = "alice"
command = "cache-flush env=prod"
schedule = "every 1h"
channel = "slack:C0OPS"
"#;

fn commands() -> Vec<(String, String)> {
    vec![
        ("cache-flush.toml".into(), FLUSH.into()),
        ("purge.toml".into(), PURGE.into()),
    ]
}

async fn spawn(schedules: &str, env: Vec<(String, String)>) -> TestApp {
    TestApp::spawn_with_directory(
        Options {
            env,
            commands: commands(),
        },
        &directory(schedules),
    )
    .await
}

fn details(event: &warden::audit::AuditEvent) -> serde_json::Value {
    serde_json::from_str(&event.details).unwrap()
}

/// A time far from now, on an hour boundary, so that the real-time ticker never fires it.
fn future(hours: i64) -> DateTime<Utc> {
    let base = Utc::now() + chrono::Duration::days(30);
    let ms = base.timestamp_millis();
    DateTime::from_timestamp_millis(ms - ms % 3_600_000).unwrap() + chrono::Duration::hours(hours)
}

async fn wait_for_post(fake: &FakeSlack, channel: &str, words: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(m) = fake.calls_of("chat.postMessage").into_iter().find(|m| {
            m["channel"] == channel && m["text"].as_str().unwrap_or_default().contains(words)
        }) {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "no `{words}` in {channel}: {:?}",
            fake.calls()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_schedule_every_10s_fires_as_its_principal() {
    let fake = FakeSlack::default();
    let api = fake.start().await;
    let app = spawn(EVERY_10S, vec![("SLACK_API_URL".into(), api)]).await;
    // The first tick records the current slot; the next slot (within 10 s) fires.
    let deadline = Instant::now() + Duration::from_secs(25);
    let invoked = loop {
        let found = app
            .audit()
            .await
            .into_iter()
            .find(|e| e.kind == "command.invoked" && details(e)["schedule"] == "flush");
        if let Some(event) = found {
            break event;
        }
        assert!(Instant::now() < deadline, "the schedule did not fire");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(invoked.actor, "alice");
    assert_eq!(invoked.target, "cache-flush");
    assert_eq!(invoked.channel, "slack:C0OPS");
    let d = details(&invoked);
    assert_eq!(d["platform"], "console");
    assert_eq!(d["environment"], "staging");
    assert!(d["slot"].as_str().unwrap().ends_with("0Z"), "{d}");
    // The job and its card, as for a typed command, in the schedule's channel.
    let queued = app
        .audit()
        .await
        .into_iter()
        .find(|e| e.kind == "job.queued" && e.request_id == invoked.request_id)
        .expect("a job was queued");
    let id = number_after("J-", &queued.target);
    let job = app.wait_job(id).await;
    assert_eq!(job.requester, "alice");
    assert_eq!(job.channel, "slack:C0OPS");
    wait_for_post(&fake, "C0OPS", "cache-flush").await;
    assert!(app
        .metrics()
        .await
        .contains("warden_schedule_runs_total{outcome=\"accepted\"}"));
    assert_audit_verifies(&app.database_url());
}

#[tokio::test]
async fn two_replicas_fire_each_slot_once() {
    let first = spawn(FLUSH_HOURLY, Vec::new()).await;
    let env = vec![("WARDEN_DATABASE_URL".to_string(), first.database_url())];
    let second = spawn(FLUSH_HOURLY, env).await;
    let a = first.server.state.service.clone();
    let b = second.server.state.service.clone();
    let store = &a.store;
    store
        .record_schedule_baseline("acme", "flush-prod", future(0), future(0))
        .await
        .unwrap();
    for hour in 1..=4 {
        let now = future(hour) + chrono::Duration::seconds(3);
        let (x, y) = tokio::join!(a.fire_schedules(now), b.fire_schedules(now));
        // One of the two recorded the run (the other found the slot claimed).
        assert_eq!(x.unwrap() + y.unwrap(), 1, "hour {hour}");
    }
    // A missed slot is caught up once: five hours later, one run.
    let late = future(9) + chrono::Duration::minutes(5);
    let (x, y) = tokio::join!(a.fire_schedules(late), b.fire_schedules(late));
    assert_eq!(x.unwrap() + y.unwrap(), 1);
    assert_eq!(a.fire_schedules(late).await.unwrap(), 0);

    let mut per_slot: HashMap<String, usize> = HashMap::new();
    for e in first.audit().await {
        if e.kind == "command.invoked" && details(&e)["schedule"] == "flush-prod" {
            *per_slot.entry(details(&e)["slot"].to_string()).or_default() += 1;
        }
    }
    assert_eq!(per_slot.len(), 5, "{per_slot:?}");
    assert!(per_slot.values().all(|n| *n == 1), "{per_slot:?}");
    // Each run asked for approval (env=prod), as a typed command would: five requests.
    let requested = first
        .audit()
        .await
        .into_iter()
        .filter(|e| e.kind == "approval.requested")
        .count();
    assert_eq!(requested, 5);
    assert_audit_verifies(&first.database_url());
    second.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_revoked_principal_is_refused_audited_and_alerted() {
    let fake = FakeSlack::default();
    let api = fake.start().await;
    let both = format!("{PURGE_HOURLY}{FLUSH_HOURLY}");
    let app = spawn(&both, vec![("SLACK_API_URL".into(), api)]).await;
    let service = app.server.state.service.clone();
    let purge = service
        .directory
        .schedules
        .iter()
        .find(|s| s.name == "purge")
        .unwrap()
        .clone();

    // Alice takes admin by break-glass: the schedule now runs.
    let glass = app
        .slack(
            "T0ACME",
            "U0ALICE",
            "access breakglass admin --reason \"maintenance\"",
        )
        .await;
    assert!(
        glass.text().contains("Break-glass granted"),
        "{}",
        glass.text()
    );
    let now = Utc::now();
    let outcome = service.run_scheduled(&purge, future(1), now).await.unwrap();
    assert_eq!(outcome, RunOutcome::Accepted);
    // The same slot again (a second replica, a retry): nothing more.
    let again = service.run_scheduled(&purge, future(1), now).await.unwrap();
    assert_eq!(again, RunOutcome::Replay);

    // Her grant is revoked: the next slot is refused, audited and alerted.
    let list = app.slack("T0ACME", "U0ALICE", "access list").await;
    let binding = list
        .text()
        .lines()
        .find(|l| l.contains("alice"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("{}", list.text()))
        .to_string();
    let revoked = app
        .slack("T0ACME", "U0ALICE", &format!("access revoke {binding}"))
        .await;
    assert!(revoked.text().contains("Revoked"), "{}", revoked.text());
    let outcome = service
        .run_scheduled(&purge, future(2), Utc::now())
        .await
        .unwrap();
    assert_eq!(outcome, RunOutcome::Refused);
    let refused = app
        .audit()
        .await
        .into_iter()
        .find(|e| e.kind == "command.refused" && details(e)["schedule"] == "purge")
        .expect("the refusal is audited");
    assert_eq!(refused.actor, "alice");
    assert_eq!(details(&refused)["step"], "authorize");
    let alert = wait_for_post(&fake, "C0ALERTS", "Scheduled command `purge` did not run").await;
    let text = alert["text"].as_str().unwrap();
    assert!(text.contains("Refused at the `authorize` step"), "{text}");
    assert!(text.contains("warden schedules pause purge"), "{text}");

    // An approval rule applies to a scheduled run: its request card is posted.
    let flush = service
        .directory
        .schedules
        .iter()
        .find(|s| s.name == "flush-prod")
        .unwrap()
        .clone();
    let outcome = service
        .run_scheduled(&flush, future(1), Utc::now())
        .await
        .unwrap();
    assert_eq!(outcome, RunOutcome::Accepted);
    let requested = app
        .audit()
        .await
        .into_iter()
        .find(|e| e.kind == "approval.requested")
        .expect("an approval request");
    assert_eq!(requested.actor, "alice");
    wait_for_post(&fake, "C0OPS", "cache-flush").await;
    assert_audit_verifies(&app.database_url());
}

/// Runs the CLI against `app`'s database without blocking the runtime: the apps of this test
/// run on it, and one of them may hold the write lock in a transaction that must be allowed to
/// finish while the CLI waits for that lock.
async fn warden(app: &TestApp, args: &[&str]) -> (i32, String, String) {
    let dir = app.dir.path();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .env_clear()
        .env("WARDEN_DATABASE_URL", app.database_url())
        .env("WARDEN_CONFIG", dir.join("warden.toml"))
        .env("WARDEN_COMMANDS_DIR", dir.join("commands"))
        .output()
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn pause_stops_it_on_every_replica_and_is_audited() {
    let first = spawn(FLUSH_HOURLY, Vec::new()).await;
    let env = vec![("WARDEN_DATABASE_URL".to_string(), first.database_url())];
    let second = spawn(FLUSH_HOURLY, env).await;
    let (a, b) = (
        first.server.state.service.clone(),
        second.server.state.service.clone(),
    );
    a.store
        .record_schedule_baseline("acme", "flush-prod", future(0), future(0))
        .await
        .unwrap();

    let (code, out, err) = warden(
        &first,
        &["schedules", "pause", "flush-prod", "--by", "alice"],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("paused"), "{out}");
    for hour in 1..=2 {
        let now = future(hour);
        assert_eq!(a.fire_schedules(now).await.unwrap(), 0);
        assert_eq!(b.fire_schedules(now).await.unwrap(), 0);
    }
    let (_, out, _) = warden(&first, &["schedules", "list"]).await;
    let line = out
        .lines()
        .find(|l| l.contains("`flush-prod`"))
        .expect(&out);
    assert!(line.contains("PAUSED by alice"), "{line}");
    let chat = second.slack("T0ACME", "U0BOB", "schedules").await;
    assert!(chat.text().contains("PAUSED by alice"), "{}", chat.text());
    assert!(
        chat.text().contains("`cache-flush env=prod` as alice"),
        "{}",
        chat.text()
    );

    // Resumed: the slots missed while paused are not caught up; the next one fires.
    let (code, out, err) = warden(
        &second,
        &["schedules", "resume", "flush-prod", "--by", "alice"],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    let kinds: Vec<(String, String)> = first
        .audit()
        .await
        .into_iter()
        .filter(|e| e.kind.starts_with("schedule."))
        .map(|e| (e.kind, e.actor))
        .collect();
    assert_eq!(
        kinds,
        [
            ("schedule.paused".to_string(), "alice".to_string()),
            ("schedule.resumed".to_string(), "alice".to_string())
        ]
    );
    let real_now = Utc::now() + chrono::Duration::seconds(5);
    assert_eq!(a.fire_schedules(real_now).await.unwrap(), 0);
    let next = future(0) + chrono::Duration::days(1);
    let (x, y) = tokio::join!(a.fire_schedules(next), b.fire_schedules(next));
    assert_eq!(x.unwrap() + y.unwrap(), 1);
    assert_audit_verifies(&first.database_url());
    second.server.shutdown().await.unwrap();
}

#[test]
fn check_reports_bad_schedules_with_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let commands = dir.path().join("commands");
    std::fs::create_dir(&commands).unwrap();
    std::fs::write(commands.join("cache-flush.toml"), FLUSH).unwrap();
    let config = dir.path().join("warden.toml");
    let bad = directory(
        r#"
[[schedules]]
name = "flush"
tenant = "acme"
run_as = "alice"
command = "cache-flush env=qa"
schedule = "every 5s"
channel = "slack:C0OPS"
"#,
    );
    std::fs::write(&config, &bad).unwrap();
    let line = bad.lines().position(|l| l == "[[schedules]]").unwrap() + 1;
    let out = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("check")
        .env_clear()
        .env("WARDEN_CONFIG", &config)
        .env("WARDEN_COMMANDS_DIR", &commands)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stdout.contains(&format!(
            "warden.toml:{}: `every 5s`: a schedule runs every 10s at least",
            line + 5
        )),
        "{stdout}"
    );
    std::fs::write(&config, bad.replace("every 5s", "every 10s")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("check")
        .env_clear()
        .env("WARDEN_CONFIG", &config)
        .env("WARDEN_COMMANDS_DIR", &commands)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "warden.toml:{line}: schedule `flush`: `cache-flush env=qa`:"
        )),
        "{stdout}"
    );
    std::fs::write(
        &config,
        bad.replace("every 5s", "every 10s")
            .replace("env=qa", "env=prod"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("check")
        .env_clear()
        .env("WARDEN_CONFIG", &config)
        .env("WARDEN_COMMANDS_DIR", &commands)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("schedule `flush`"), "{stdout}");
}
