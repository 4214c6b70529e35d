//! `warden outbox list | retry | drop` against a database with a dead letter.

use std::process::Command;

use super::*;

fn warden(db: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .env_clear()
        .env("WARDEN_DATABASE_URL", db)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_list_retry_and_drop_without_seeing_reply_handles() {
    let env = Env::new().await;
    let db = crate::db::database_url(&env.dir.path().join("outbox.db"));
    let handle = ReplyHandle::slack("https://hooks.slack.com/actions/T0/SECRET-HOOK");
    let long = format!("J-5 failed {}", "x".repeat(100));
    let delivery = Delivery::Post {
        channel: "slack:C1".parse().unwrap(),
        key: None,
        fallback: Some(handle),
        thread: None,
    };
    env.enqueue(delivery, &long, true).await;
    env.enqueue(post("slack:C2"), "waiting", false).await;
    let now = Utc::now().timestamp_millis();
    let claimed = env
        .store
        .claim_outbox("cli-test", now, 60_000, 10)
        .await
        .unwrap();
    let dead = claimed.iter().find(|r| r.lane == "slack:C1").unwrap().id;
    let pending = claimed.iter().find(|r| r.lane == "slack:C2").unwrap().id;
    assert!(env
        .store
        .outbox_dead(
            dead,
            "cli-test",
            1,
            "Slack chat.postMessage: Slack error `channel_not_found`",
            None,
            now
        )
        .await
        .unwrap());
    env.store
        .outbox_retry_later(pending, "cli-test", 1, now + 60_000, "HTTP 500")
        .await
        .unwrap();

    let (code, out, err) = warden(&db, &["outbox", "list"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("channel_not_found") && out.contains("dead") && out.contains("pending"),
        "{out}"
    );
    assert!(
        out.contains(&format!("J-5 failed {}…", "x".repeat(49))),
        "{out}"
    );
    assert!(
        !out.contains("SECRET") && !out.contains("hooks.slack.com"),
        "{out}"
    );
    let (_, out, _) = warden(&db, &["outbox", "list", "--status", "dead", "-n", "5"]);
    assert!(out.contains("J-5") && !out.contains("waiting"), "{out}");

    let (code, _, err) = warden(&db, &["outbox", "retry", "999"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("#999") && err.contains("no such message"),
        "{err}"
    );
    let (code, _, err) = warden(&db, &["outbox", "retry", &pending.to_string()]);
    assert_ne!(code, 0);
    assert!(err.contains("it is pending"), "{err}");
    let (code, out, err) = warden(&db, &["outbox", "retry", &dead.to_string()]);
    assert_eq!(code, 0, "{out}{err}");
    let row = env.store.outbox_row(dead).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 0));

    let (code, out, err) = warden(&db, &["outbox", "drop", &dead.to_string()]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = warden(&db, &["outbox", "drop", &dead.to_string()]);
    assert_ne!(code, 0);
    assert!(err.contains("it is dropped"), "{err}");
    let (code, _, err) = warden(&db, &["outbox", "drop", "12345"]);
    assert_ne!(code, 0);
    assert!(err.contains("no such message"), "{err}");
}
