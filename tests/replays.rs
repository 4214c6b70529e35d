//! Issue 18.2: the same signed bytes sent twice act once. This walks every built-in and every
//! button: the second delivery is answered as a replay and changes nothing (no audit event,
//! no approval, grant, job or message), and `warden_requests_total{outcome="replay"}` counts it.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use warden::jobs::JobStatus;

/// What a replay must leave untouched: every audit event (kind and target), and the answer
/// counted as a replay.
async fn snapshot(app: &TestApp) -> Vec<(String, String)> {
    // Jobs add their events asynchronously: wait until the log is quiet for a moment.
    let mut last = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now: Vec<(String, String)> = app
            .audit()
            .await
            .into_iter()
            .map(|e| (e.kind, e.target))
            .collect();
        if now == last || Instant::now() > deadline {
            return now;
        }
        last = now;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn replays_counted(metrics: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("warden_requests_total") && l.contains("outcome=\"replay\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// Sends `body` to `path` twice with the same timestamp (so the same signature), asserts that
/// the second delivery changed nothing and was counted as a replay, and returns the first
/// answer.
async fn twice(app: &TestApp, what: &str, path: &str, body: &str) -> Value {
    twice_counted(app, what, path, body, true).await
}

/// [`twice`], for a request that changes nothing at all (a Deny click only opens the reason
/// form): a second delivery must still change nothing, but need not be counted as a replay.
async fn twice_counted(app: &TestApp, what: &str, path: &str, body: &str, counted: bool) -> Value {
    let ts = now();
    let first = app.post_slack(path, body, SLACK_SECRET, ts).await;
    assert_eq!(first.status(), 200, "{what}");
    let first: Value = first.json().await.unwrap_or(Value::Null);
    let before = snapshot(app).await;
    let replays = replays_counted(&app.metrics().await);
    let second = app.post_slack(path, body, SLACK_SECRET, ts).await;
    assert_eq!(second.status(), 200, "{what}");
    let second: Value = second.json().await.unwrap_or(Value::Null);
    let after = snapshot(app).await;
    assert_eq!(before, after, "{what}: the replay changed the audit log");
    assert_eq!(
        replays_counted(&app.metrics().await),
        replays + u64::from(counted),
        "{what}: the replay was not counted as one ({second})"
    );
    first
}

async fn command(app: &TestApp, user: &str, text: &str) -> String {
    let body = slash_body("T0ACME", user, "/ops", text);
    let answer = twice(app, text, "/slack/commands", &body).await;
    answer["text"].as_str().unwrap_or_default().to_string()
}

async fn click(app: &TestApp, user: &str, action: &str, value: &str, url: &str) -> String {
    let body = click_body("T0ACME", user, action, value, url);
    let answer = twice(
        app,
        &format!("{action} {value}"),
        "/slack/interactions",
        &body,
    )
    .await;
    answer["text"].as_str().unwrap_or_default().to_string()
}

/// The value of the `label` button on the first message posted whose text starts with `id:`.
async fn posted_button(fake: &FakeSlack, id: &str, label: &str) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        for m in fake.calls_of("chat.postMessage") {
            if !m["text"]
                .as_str()
                .unwrap_or_default()
                .starts_with(&format!("{id}:"))
            {
                continue;
            }
            for block in m["blocks"].as_array().into_iter().flatten() {
                for e in block["elements"].as_array().into_iter().flatten() {
                    if e["text"]["text"] == label {
                        return (
                            e["action_id"].as_str().unwrap().to_string(),
                            e["value"].as_str().unwrap().to_string(),
                        );
                    }
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "no {label} on {id}: {:?}",
            fake.calls()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn id_after(prefix: &str, text: &str) -> String {
    format!("{prefix}{}", number_after(prefix, text))
}

#[tokio::test]
async fn every_built_in_and_every_button_acts_once_per_signed_request() {
    let fake = FakeSlack::default();
    let api = fake.start().await;
    let response_url = format!("{api}response");
    let ok = FakeDownstream::default();
    let ok_url = ok.start(200).await;
    let broken = FakeDownstream::default();
    let broken_url = broken.start(500).await;
    let (_, broken_ship) = ship(&broken_url, "30m");
    let broken_ship = broken_ship.replace("name = \"ship\"", "name = \"broken\"");
    let (_, risky) = ship(&ok_url, "30m");
    let risky = risky.replace("name = \"ship\"", "name = \"risky\"\nrisk = \"high\"");
    let app = TestApp::spawn_with(Options {
        env: vec![("SLACK_API_URL".into(), api)],
        commands: vec![
            ship(&ok_url, "30m"),
            ("broken.toml".into(), broken_ship),
            ("risky.toml".into(), risky),
        ],
    })
    .await;

    // Read-only built-ins: answered, recorded once.
    for text in [
        "help",
        "whoami",
        "approvals",
        "audit",
        "jobs",
        "access list",
    ] {
        command(&app, "U0ALICE", text).await;
    }

    // access request / breakglass / revoke: one approval, one grant, one revocation.
    let asked = command(
        &app,
        "U0BOB",
        "access request operator env=staging --reason \"on call\"",
    )
    .await;
    let request = id_after("A-", &asked);
    let glass = command(
        &app,
        "U0ALICE",
        "access breakglass admin --for 30m --reason \"prod down\"",
    )
    .await;
    assert!(glass.contains("Break-glass granted"), "{glass}");
    // A refused break-glass is recorded once too.
    command(&app, "U0BOB", "access breakglass admin --reason \"me too\"").await;
    let (action, value) = posted_button(&fake, &request, "Approve").await;
    let approved = click(&app, "U0ALICE", &action, &value, &response_url).await;
    assert!(approved.contains("approved"), "{approved}");
    let list = app.slack("T0ACME", "U0ALICE", "access list").await;
    let bob_grant = list
        .text()
        .lines()
        .find(|l| l.contains("bob"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("{}", list.text()))
        .to_string();
    let revoked = command(&app, "U0ALICE", &format!("access revoke {bob_grant}")).await;
    assert!(revoked.contains("Revoked"), "{revoked}");

    // A command that runs at once, and `jobs show`.
    let queued = command(&app, "U0ALICE", "ship api env=staging").await;
    let job = number_after("J-", &queued);
    assert_eq!(app.wait_job(job).await.status, JobStatus::Succeeded);
    command(&app, "U0ALICE", &format!("jobs show J-{job}")).await;

    // Approve and Deny (its form, then the reason) on a request for two approvals.
    let prod = command(&app, "U0ALICE", "ship api env=prod").await;
    let a = id_after("A-", &prod);
    let (action, value) = posted_button(&fake, &a, "Approve").await;
    let one = click(&app, "U0CAROL", &action, &value, &response_url).await;
    assert!(one.contains("1 of 2"), "{one}");
    let (deny, deny_value) = posted_button(&fake, &a, "Deny").await;
    let deny_body = click_body("T0ACME", "U0DAVE", &deny, &deny_value, &response_url);
    twice_counted(&app, "deny click", "/slack/interactions", &deny_body, false).await;
    let callback = fake.calls_of("views.open")[0]["view"]["callback_id"]
        .as_str()
        .unwrap()
        .to_string();
    let payload = serde_json::json!({
        "type": "view_submission",
        "team": { "id": "T0ACME", "domain": "acme" },
        "user": { "id": "U0DAVE", "username": "dave", "team_id": "T0ACME" },
        "api_app_id": "A0WARDEN",
        "trigger_id": "77.1.x",
        "view": {
            "id": "V0DENY", "team_id": "T0ACME", "hash": "1.x", "type": "modal",
            "title": { "type": "plain_text", "text": "Deny" }, "blocks": [], "callback_id": callback, "private_metadata": a,
            "state": { "values": { "reason": { "reason": { "type": "plain_text_input", "value": "not today" } } } }
        }
    });
    let form = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
    twice(&app, "deny form", "/slack/interactions", &form).await;
    let denials = app
        .audit()
        .await
        .into_iter()
        .filter(|e| e.kind == "approval.denied")
        .count();
    assert_eq!(denials, 1);

    // Confirm and Cancel of high-risk commands.
    let confirm = app.slack("T0ACME", "U0ALICE", "risky web").await;
    let c = confirm.body["blocks"][1]["elements"][0]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", confirm.body))
        .to_string();
    let confirmed = click(&app, "U0ALICE", "warden.confirm", &c, &response_url).await;
    let risky_job = number_after("J-", &confirmed);
    assert_eq!(app.wait_job(risky_job).await.status, JobStatus::Succeeded);
    let cancel = app.slack("T0ACME", "U0ALICE", "risky api").await;
    let c2 = cancel.body["blocks"][1]["elements"][0]["value"]
        .as_str()
        .unwrap()
        .to_string();
    click(&app, "U0ALICE", "warden.cancel", &c2, &response_url).await;

    // A failed job, retried by its button and by `jobs retry`; `jobs cancel`.
    let failing = app.slack("T0ACME", "U0ALICE", "broken api").await;
    let failed = app.wait_job(number_after("J-", failing.text())).await;
    assert_eq!(failed.status, JobStatus::Failed);
    let retried = click(
        &app,
        "U0ALICE",
        "warden.retry",
        &failed.display_id(),
        &response_url,
    )
    .await;
    app.wait_job(number_after("J-", &retried)).await;
    let again = command(
        &app,
        "U0ALICE",
        &format!("jobs retry {}", failed.display_id()),
    )
    .await;
    app.wait_job(number_after("J-", &again)).await;
    command(&app, "U0ALICE", &format!("jobs cancel J-{job}")).await;

    // The downstreams saw one call per job that ran, never a second one for a replay.
    assert_eq!(ok.received().len(), 2, "ship and risky, once each");
    assert_eq!(broken.received().len(), 3, "the first run and two retries");
    let grants = app
        .audit()
        .await
        .into_iter()
        .filter(|e| e.kind.starts_with("access."))
        .map(|e| e.kind)
        .collect::<Vec<_>>();
    assert_eq!(
        grants,
        ["access.breakglass", "access.granted", "access.revoked"]
    );
    app.server.shutdown().await.unwrap();
}
