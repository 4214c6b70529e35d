//! Scheduled audit digests against a real database: one digest per slot, a missed slot caught
//! up once, replicas racing for a slot, counts that match the log, a tampered chain, and the
//! `warden digest send` / `warden audit summary | search` commands.

#[path = "common/db.rs"]
mod db;

use std::path::Path;
use std::process::Command;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use warden::audit::NewEvent;
use warden::config::{parse_directory, Directory};
use warden::digests::tick;
use warden::storage::Store;

const DIRECTORY: &str = r#"
[tenants.acme]
slack_team = "T0ACME"
alert_channel = "slack:C0ALERTS"
audit_channel = "slack:C0AUDIT"

[tenants.globex]
slack_team = "T0GLOBEX"

[[digests]]
tenant = "acme"
schedule = "daily 09:00"
"#;

const URL: &str = "https://warden.example";
const KEY: &[u8] = b"digest test link key";

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn directory() -> Directory {
    parse_directory(Path::new("warden.toml"), DIRECTORY).expect("the test directory is valid")
}

async fn store(dir: &Path) -> Store {
    let store = Store::connect(&db_url(dir)).await.unwrap();
    store.migrate().await.unwrap();
    store
}

fn db_url(dir: &Path) -> String {
    db::database_url(&dir.join("warden.db"))
}

/// Appends events written one a line as `AT TENANT ACTOR KIND TARGET DETAILS`, each in its own
/// transaction.
async fn append(store: &Store, log: &str) {
    for line in log.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let parts: Vec<&str> = line.splitn(6, ' ').collect();
        let mut tx = store.begin().await.unwrap();
        tx.append_audit(
            NewEvent {
                tenant: parts[1].to_string(),
                actor: parts[2].to_string(),
                kind: parts[3].to_string(),
                target: parts[4].to_string(),
                channel: "slack:C01".to_string(),
                request_id: String::new(),
                details: serde_json::from_str(parts[5]).unwrap(),
            },
            t(parts[0]),
        );
        tx.commit().await.unwrap();
    }
}

/// A day of activity in acme (and one event in globex) in the window of the 2026-11-22 09:00
/// slot, with one event before the window and one at its end (excluded).
const ACTIVITY: &str = r#"
    2026-11-21T08:00:00Z acme alice command.invoked deploy {}
    2026-11-21T10:00:00Z acme alice command.invoked deploy {}
    2026-11-21T10:00:00Z acme alice job.queued J-1 {"command":"deploy"}
    2026-11-21T10:01:00Z acme warden job.failed J-1 {"error":"deployer answered 503"}
    2026-11-21T11:00:00Z acme alice command.invoked deploy {}
    2026-11-21T11:00:00Z acme alice approval.requested A-2 {"command":"deploy"}
    2026-11-21T11:06:00Z acme bob approval.approved A-2 {"approvers":["bob"]}
    2026-11-21T11:06:00Z acme alice job.queued J-3 {"command":"deploy"}
    2026-11-21T11:07:00Z acme warden job.succeeded J-3 {}
    2026-11-21T12:00:00Z acme eve command.refused deploy {"step":"authorize"}
    2026-11-22T03:00:00Z acme alice access.breakglass B-1 {"role":"admin","for":"1h","reason":"incident 42"}
    2026-11-21T12:00:00Z globex carol command.invoked deploy {}
    2026-11-22T09:00:00Z acme alice command.invoked help {}
"#;

/// The outbox rows: (channel, text, important).
async fn outbox(dir: &Path) -> Vec<(String, String, bool)> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db_url(dir)).await.unwrap();
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT channel, message, important FROM outbox ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    rows.into_iter()
        .map(|(channel, message, important)| {
            let message: Value = serde_json::from_str(&message).unwrap();
            (
                channel,
                message["text"].as_str().unwrap().to_string(),
                important != 0,
            )
        })
        .collect()
}

async fn digest_events(store: &Store) -> Vec<warden::audit::AuditEvent> {
    store
        .audit_events(&warden::storage::AuditQuery {
            kind: Some("digest.sent".into()),
            ..Default::default()
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn one_digest_per_slot_and_a_missed_slot_fires_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let dirs = directory();
    let slot = t("2026-11-22T09:00:00Z");

    assert_eq!(
        tick(&store, &dirs, URL, KEY, slot + Duration::minutes(5))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        tick(&store, &dirs, URL, KEY, slot + Duration::minutes(10))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .digest_slot_count("acme", "slack:C0AUDIT")
            .await
            .unwrap(),
        1
    );
    assert_eq!(outbox(dir.path()).await.len(), 1);

    // Three days down: only the latest missed slot fires, once.
    let later = t("2026-11-25T10:00:00Z");
    assert_eq!(tick(&store, &dirs, URL, KEY, later).await.unwrap(), 1);
    assert_eq!(
        tick(&store, &dirs, URL, KEY, later + Duration::minutes(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .digest_slot_count("acme", "slack:C0AUDIT")
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .last_digest_slot("acme", "slack:C0AUDIT")
            .await
            .unwrap(),
        Some(t("2026-11-25T09:00:00Z"))
    );
    let sent = digest_events(&store).await;
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].target, "2026-11-25T09:00:00Z");
    assert_eq!(sent[1].actor, "warden");
}

#[tokio::test]
async fn racing_replicas_send_a_slot_once() {
    let dir = tempfile::tempdir().unwrap();
    let a = store(dir.path()).await;
    let b = Store::connect(&db_url(dir.path())).await.unwrap();
    let c = Store::connect(&db_url(dir.path())).await.unwrap();
    append(&a, ACTIVITY).await;
    let dirs = directory();
    let now = t("2026-11-22T09:05:00Z");
    // Three replicas tick at the same instant, each with its own connection pool.
    let (x, y, z) = tokio::join!(
        tick(&a, &dirs, URL, KEY, now),
        tick(&b, &dirs, URL, KEY, now),
        tick(&c, &dirs, URL, KEY, now)
    );
    assert_eq!(x.unwrap() + y.unwrap() + z.unwrap(), 1);
    assert_eq!(outbox(dir.path()).await.len(), 1);
    assert_eq!(digest_events(&a).await.len(), 1);
}

#[tokio::test]
async fn the_digest_counts_what_the_log_holds() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    append(&store, ACTIVITY).await;
    let sent = tick(&store, &directory(), URL, KEY, t("2026-11-22T09:05:00Z")).await;
    assert_eq!(sent.unwrap(), 1);

    let rows = outbox(dir.path()).await;
    assert_eq!(rows.len(), 1, "no alert for an intact chain");
    let (channel, text, important) = &rows[0];
    assert_eq!(channel, "slack:C0AUDIT");
    assert!(!important);
    for expected in [
        "Audit summary for `acme`: 2026-11-21 09:00 UTC to 2026-11-22 09:00 UTC (10 events)",
        "• `deploy`: 2 invoked · 1 refused · jobs: 1 succeeded, 1 failed",
        "Approvals: 1 decided (1 approved, 0 denied, 0 expired); time to decide: median 6.0 min, max 6.0 min",
        "• A-2 `deploy` approved by bob after 6.0 min",
        "• J-1 `deploy` failed: deployer answered 503 · https://warden.example/jobs/1?t=",
        "Refusals by step: authorize 1",
        "• alice took `admin` for 1h at 2026-11-22 03:00 UTC: incident 42",
        "Audit chain: verified (12 events)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    assert!(
        !text.contains("help"),
        "events after the slot are not counted:\n{text}"
    );

    let sent = digest_events(&store).await;
    assert_eq!(sent.len(), 1);
    let details: Value = serde_json::from_str(&sent[0].details).unwrap();
    assert_eq!(details["events"], 10);
    assert_eq!(details["invoked"], 2);
    assert_eq!(details["failed"], 1);
    assert_eq!(details["chain"], "verified");
    assert_eq!(sent[0].channel, "slack:C0AUDIT");
}

#[tokio::test]
async fn a_tampered_chain_is_reported_broken_and_alerted() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    append(&store, ACTIVITY).await;
    store
        .execute_raw(&format!(
            "{}; UPDATE audit_events SET details = replace(details, '503', '504') WHERE id = 4",
            db::drop_trigger("audit_events_no_update")
        ))
        .await
        .unwrap();
    let sent = tick(&store, &directory(), URL, KEY, t("2026-11-22T09:05:00Z")).await;
    assert_eq!(sent.unwrap(), 1);
    let rows = outbox(dir.path()).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows[0].1.contains("Audit chain: BROKEN at E-4"),
        "{}",
        rows[0].1
    );
    assert_eq!(rows[1].0, "slack:C0ALERTS");
    assert!(rows[1].2, "the alert is important");
    assert!(rows[1]
        .1
        .contains("ALERT: the audit chain of tenant `acme` is BROKEN at E-4"));
    let details: Value = serde_json::from_str(&digest_events(&store).await[0].details).unwrap();
    assert_eq!(details["alerted"], true);
}

fn warden(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let config = dir.join("warden.toml");
    std::fs::write(&config, DIRECTORY).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .env_clear()
        .env("WARDEN_DATABASE_URL", db_url(dir))
        .env("WARDEN_CONFIG", &config)
        .env("WARDEN_PUBLIC_URL", URL)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn cli_sends_summarises_and_searches() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    // Recent activity, so that `--since 24h` and `send` (the last 24 hours) see it.
    let now = Utc::now();
    let ago = |m: i64| (now - Duration::minutes(m)).to_rfc3339();
    let log = format!(
        r#"
        {a} acme alice command.invoked deploy {{}}
        {a} acme alice job.queued J-1 {{"command":"deploy"}}
        {b} acme warden job.failed J-1 {{"error":"boom"}}
        {c} globex carol command.invoked restart {{}}
        "#,
        a = ago(30),
        b = ago(20),
        c = ago(10)
    );
    append(&store, &log).await;

    let (code, out, err) = warden(dir.path(), &["digest", "send", "--tenant", "acme"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("queued") && out.contains("warden serve"),
        "{out}"
    );
    let rows = outbox(dir.path()).await;
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0].1.contains("• J-1 `deploy` failed: boom"),
        "{}",
        rows[0].1
    );
    assert_eq!(digest_events(&store).await.len(), 1);

    let (code, out, _) = warden(dir.path(), &["digest", "send", "--tenant", "nope"]);
    assert_ne!(code, 0);
    assert!(out.is_empty());

    let (code, out, err) = warden(dir.path(), &["audit", "summary", "--since", "24h"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Audit summary for `acme`"), "{out}");
    assert!(out.contains("Audit summary for `globex`"), "{out}");
    assert!(out.contains("Audit chain: verified (4 events)"), "{out}");

    let (code, out, err) = warden(
        dir.path(),
        &[
            "audit",
            "search",
            "--tenant",
            "acme",
            "--command",
            "deploy",
            "--kind",
            "job",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(lines[0].contains("job.queued J-1"), "{out}");

    let (code, out, _) = warden(
        dir.path(),
        &["audit", "search", "--actor", "carol", "-n", "5"],
    );
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1, "{out}");

    let (code, _, err) = warden(dir.path(), &["audit", "search", "--since", "later"]);
    assert_eq!(code, 2);
    assert!(err.contains("is not a time"), "{err}");
}
