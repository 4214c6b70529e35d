//! Retention: job logs, confirmations and remembered chat messages older than their retention
//! are purged; newer ones, and every one still in use (a queued or running job's log and
//! message, a prompt inside its window, a pending approval's message, a message a queued or
//! dead-lettered outbox row may still edit), stay.

mod common;

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use common::*;
use warden::config::Retention;

const DAY_MS: i64 = 86_400_000;

fn at(ms_ago: i64) -> String {
    chrono::DateTime::from_timestamp_millis(Utc::now().timestamp_millis() - ms_ago)
        .unwrap()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

async fn confirmation_exists(store: &warden::storage::Store, id: i64) -> bool {
    let mut tx = store.begin().await.unwrap();
    let found = tx.confirmation(id).await.unwrap().is_some();
    drop(tx);
    found
}

#[tokio::test]
async fn history_past_its_retention_is_purged_and_live_rows_stay() {
    // The app migrates the database, then stops: its job runner would otherwise claim the
    // queued job below and finish it.
    let app = TestApp::spawn().await;
    let url = app.database_url();
    let TestApp {
        server, dir: _dir, ..
    } = app;
    server.shutdown().await.unwrap();
    let store = &warden::storage::Store::connect(&url).await.unwrap();
    let now_ms = Utc::now().timestamp_millis();
    let mut sql = Vec::new();
    // Jobs: finished 100 days ago, finished yesterday, running since 100 days, queued.
    for (id, status, finished) in [
        (1001, "succeeded", Some(at(100 * DAY_MS))),
        (1002, "failed", Some(at(DAY_MS))),
        (1003, "running", None),
        (1004, "queued", None),
    ] {
        let finished = finished.map_or("NULL".to_string(), |f| format!("'{f}'"));
        sql.push(format!(
            "INSERT INTO jobs (id, tenant, command, args, requester, requester_user, status, created_at, finished_at, request_id)
             VALUES ({id}, 'acme', 'deploy', '[]', 'alice', 'slack:T0ACME/U0ALICE', '{status}', '{}', {finished}, 'r')",
            at(100 * DAY_MS)
        ));
        for seq in 1..=2 {
            sql.push(format!(
                "INSERT INTO job_logs (job_id, seq, at, stream, text) VALUES ({id}, {seq}, '{}', 'stdout', 'line {seq}')",
                at(100 * DAY_MS)
            ));
        }
    }
    // Confirmations: closed 10 days ago (still `pending`: nobody clicked), confirmed and
    // closed yesterday, and one still open.
    for (id, status, expires_ms) in [
        (501, "pending", now_ms - 10 * DAY_MS),
        (502, "confirmed", now_ms - DAY_MS),
        (503, "pending", now_ms + 240_000),
    ] {
        sql.push(format!(
            "INSERT INTO confirmations (id, tenant, command, args, requester, requester_user, plan, status, created_at, expires_ms)
             VALUES ({id}, 'acme', 'deploy', '[]', 'alice', 'slack:T0ACME/U0ALICE', 'plan', '{status}', '{}', {expires_ms})",
            at(10 * DAY_MS)
        ));
    }
    // A pending approval (its message is edited when it is decided).
    sql.push(format!(
        "INSERT INTO approvals (id, tenant, kind, command, args, requester, requester_user, plan, plan_hash, policy, status, created_at, expires_ms, request_id)
         VALUES (2001, 'acme', 'command', 'deploy', '[]', 'alice', 'slack:T0ACME/U0ALICE', 'plan', 'h', '{{}}', 'pending', '{}', {}, 'r')",
        at(40 * DAY_MS),
        now_ms + DAY_MS
    ));
    // A dead letter that an operator may still retry: it edits `alert:dead`.
    sql.push(format!(
        "INSERT INTO outbox (tenant, kind, lane, channel, key, message, status, next_attempt_ms, created_ms)
         VALUES ('acme', 'update', 'slack:C0X', 'slack:C0X', 'alert:dead', '{{}}', 'dead', {ms}, {ms})",
        ms = now_ms - 40 * DAY_MS
    ));
    // Remembered messages, all 40 days old but the last.
    for (key, created_ms) in [
        ("job:1001", now_ms - 40 * DAY_MS),
        ("job:1003", now_ms - 40 * DAY_MS),
        ("job:1004", now_ms - 40 * DAY_MS),
        ("approval:2001", now_ms - 40 * DAY_MS),
        ("alert:dead", now_ms - 40 * DAY_MS),
        ("digest:old", now_ms - 40 * DAY_MS),
        ("job:1002", now_ms - DAY_MS),
    ] {
        sql.push(format!(
            "INSERT INTO chat_messages (key, channel, message_id, created_ms) VALUES ('{key}', 'slack:C0X', '1.{created_ms}', {created_ms})"
        ));
    }
    store.execute_raw(&sql.join(";\n")).await.unwrap();

    warden::app::purge(store, &Retention::default(), Utc::now()).await;

    let mut logs = Vec::new();
    for id in [1001, 1002, 1003, 1004] {
        logs.push((id, store.job_log(id, None).await.unwrap().len()));
    }
    assert_eq!(
        logs,
        vec![(1001, 0), (1002, 2), (1003, 2), (1004, 2)],
        "only the log of the job finished 100 days ago goes (90 days by default)"
    );
    for (id, kept) in [(501, false), (502, true), (503, true)] {
        assert_eq!(
            confirmation_exists(store, id).await,
            kept,
            "confirmation {id}"
        );
    }
    for (key, kept) in [
        ("job:1001", false),
        ("digest:old", false),
        ("job:1003", true),
        ("job:1004", true),
        ("approval:2001", true),
        ("alert:dead", true),
        ("job:1002", true),
    ] {
        assert_eq!(
            store.chat_message(key).await.unwrap().is_some(),
            kept,
            "chat message {key}"
        );
    }

    // Shorter retentions, as set through WARDEN_RETENTION_*, take what is newer too, but
    // never what is live.
    let short = Retention {
        job_logs: Duration::from_secs(3600),
        confirmations: Duration::from_secs(3600),
        outbox: Duration::from_secs(3600),
        chat_messages: Duration::from_secs(3600),
    };
    warden::app::purge(store, &short, Utc::now()).await;
    assert!(store.job_log(1002, None).await.unwrap().is_empty());
    assert_eq!(store.job_log(1003, None).await.unwrap().len(), 2);
    assert!(!confirmation_exists(store, 502).await);
    assert!(confirmation_exists(store, 503).await);
    assert!(store.chat_message("job:1002").await.unwrap().is_none());
    for key in ["job:1003", "approval:2001", "alert:dead"] {
        assert!(store.chat_message(key).await.unwrap().is_some(), "{key}");
    }
    // The jobs themselves, and the audit log, are never purged.
    assert!(store.job(1001).await.unwrap().is_some());
    assert_audit_verifies(&url);
}
