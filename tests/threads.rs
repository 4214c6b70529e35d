//! Conversations in threads (SPEC §13), end to end against the fake Slack: one top-level card
//! per story, everything else a reply under it, the card edited in place, the requester
//! mentioned, the reminder, alerts that link to the thread, retries in the same thread, and
//! `thread = false`. Assertions are on structure (`thread_ts`, `ts`, buttons), not wording.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use warden::jobs::JobStatus;

struct World {
    app: TestApp,
    fake: FakeSlack,
    response_url: String,
}

async fn world(commands: Vec<(String, String)>) -> World {
    let fake = FakeSlack::default();
    let api = fake.start().await;
    let app = TestApp::spawn_with(Options {
        env: vec![("SLACK_API_URL".into(), api.clone())],
        commands,
    })
    .await;
    World {
        app,
        fake,
        response_url: format!("{api}response"),
    }
}

fn text(m: &Value) -> &str {
    m["text"].as_str().unwrap_or_default()
}

fn has_buttons(m: &Value) -> bool {
    m["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|b| b["type"] == "actions")
}

/// The messages posted in `channel`: (top-level ones, thread replies).
fn posts_in(fake: &FakeSlack, channel: &str) -> (Vec<Value>, Vec<Value>) {
    fake.calls_of("chat.postMessage")
        .into_iter()
        .filter(|m| m["channel"] == channel)
        .partition(|m| m["thread_ts"].is_null())
}

/// The ts the fake gave the `n`-th call (1-based), as it answers them.
fn ts_of_call(fake: &FakeSlack, found: &Value) -> String {
    let calls = fake.calls();
    let n = calls
        .iter()
        .position(|(method, body, _)| method == "chat.postMessage" && body == found)
        .expect("the call was made")
        + 1;
    format!("1700000000.{n:06}")
}

async fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check() {
        assert!(Instant::now() < deadline, "waited in vain for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn number(prefix: &str, text: &str) -> i64 {
    number_after(prefix, text)
}

async fn click(w: &World, user: &str, action: &str, value: &str) -> String {
    let r = w
        .app
        .click("T0ACME", user, action, value, &w.response_url)
        .await;
    assert_eq!(r.status(), 200);
    let json: Value = r.json().await.unwrap();
    json["text"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn an_approved_deploy_tells_its_whole_story_under_one_card() {
    let downstream = FakeDownstream::default();
    let url = downstream.start(200).await;
    let w = world(vec![ship(&url, "30m")]).await;
    let asked = w.app.slack("T0ACME", "U0ALICE", "ship web env=prod").await;
    let a = format!("A-{}", number("A-", asked.text()));
    until("the card", || !posts_in(&w.fake, "C0DEPLOYS").0.is_empty()).await;
    let card = posts_in(&w.fake, "C0DEPLOYS").0[0].clone();
    assert!(text(&card).starts_with(&format!("{a}:")), "{card}");
    assert!(has_buttons(&card));
    let card_ts = ts_of_call(&w.fake, &card);

    let one = click(&w, "U0CAROL", "warden.approve", &a).await;
    assert!(one.contains("1 of 2"), "{one}");
    let two = click(&w, "U0DAVE", "warden.approve", &a).await;
    let job = number("J-", &two);
    assert_eq!(w.app.wait_job(job).await.status, JobStatus::Succeeded);
    until("the outcome reply", || {
        posts_in(&w.fake, "C0DEPLOYS")
            .1
            .iter()
            .any(|m| text(m).contains(&format!("J-{job} succeeded")))
    })
    .await;
    until("the card's last edit", || {
        w.fake
            .calls_of("chat.update")
            .last()
            .is_some_and(|m| text(m).contains("succeeded"))
    })
    .await;

    let (top, replies) = posts_in(&w.fake, "C0DEPLOYS");
    assert_eq!(top.len(), 1, "one card for the whole story: {top:?}");
    assert!(
        replies.iter().all(|r| r["thread_ts"] == card_ts.as_str()),
        "every reply is under the card: {replies:?}"
    );
    let said: Vec<&str> = replies.iter().map(text).collect();
    let position = |needle: &str| {
        said.iter()
            .position(|t| t.contains(needle))
            .unwrap_or_else(|| panic!("no reply with {needle}: {said:?}"))
    };
    // In order: the votes, the decision (mentioning the requester), the start, the outcome
    // (mentioning the requester).
    let vote = position("carol approved (1 of 2)");
    let decided = position("was approved by carol, dave");
    let started = position(&format!("J-{job} started"));
    let outcome = position(&format!("J-{job} succeeded"));
    assert!(
        vote < decided && decided < started && started < outcome,
        "{said:?}"
    );
    assert!(said[decided].starts_with("<@U0ALICE>"), "{said:?}");
    assert!(said[outcome].starts_with("<@U0ALICE>"), "{said:?}");
    assert_eq!(
        said.iter()
            .filter(|t| t.contains("was approved by"))
            .count(),
        1
    );
    // The card is edited in place, never re-posted, and ends without buttons.
    let updates = w.fake.calls_of("chat.update");
    assert!(!updates.is_empty());
    assert!(updates
        .iter()
        .all(|u| u["ts"] == card_ts.as_str() && u["channel"] == "C0DEPLOYS"));
    let last = updates.last().unwrap();
    assert!(!has_buttons(last), "{last}");
    assert!(text(last).contains(&format!("J-{job}")), "{last}");
    assert!(text(last).contains("approved by carol, dave"), "{last}");

    // `/ops audit` and the job page link to the thread.
    let link = format!(
        "https://demo.slack.example/archives/C0DEPLOYS/p{}",
        card_ts.replace('.', "")
    );
    let search = w
        .app
        .slack("T0ACME", "U0ALICE", "audit kind=approval")
        .await;
    assert!(
        search.text().contains(&format!("Threads: {a} {link}")),
        "{}",
        search.text()
    );
    let job_page = text(last)
        .lines()
        .find_map(|l| l.strip_prefix("Details: "))
        .expect("the card links to the job page")
        .to_string();
    // The public URL of the test app names port 0; the page is served on the real one.
    let path = &job_page[job_page.find("/jobs/").unwrap()..];
    let html = reqwest::get(format!("{}{path}", w.app.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("<a href=\"{link}\">")), "{html}");

    // The audit trail names the card, so searches can link to the thread.
    let events = w.app.audit().await;
    for kind in [
        "approval.requested",
        "approval.voted",
        "job.started",
        "job.succeeded",
    ] {
        let event = events.iter().find(|e| e.kind == kind).unwrap();
        assert!(
            event.details.contains(&format!("approval:{}", &a[2..])),
            "{kind}: {}",
            event.details
        );
    }
    w.app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_approvers_are_reminded_once_at_half_the_expiry() {
    let downstream = FakeDownstream::default();
    let url = downstream.start(200).await;
    let w = world(vec![ship(&url, "4s")]).await;
    let started = Instant::now();
    let asked = w.app.slack("T0ACME", "U0ALICE", "ship web env=prod").await;
    let a = format!("A-{}", number("A-", asked.text()));
    let one = click(&w, "U0ERIN", "warden.approve", &a).await;
    assert!(one.contains("1 of 2"), "{one}");
    until("the reminder", || {
        posts_in(&w.fake, "C0DEPLOYS")
            .1
            .iter()
            .any(|m| text(m).contains("Reminder"))
    })
    .await;
    let reminded_after = started.elapsed();
    assert!(
        reminded_after >= Duration::from_millis(1900),
        "reminded after {reminded_after:?}, before half of 4 s"
    );
    until("the expiry", || {
        posts_in(&w.fake, "C0DEPLOYS")
            .1
            .iter()
            .any(|m| text(m).contains("expired"))
    })
    .await;
    let (_, replies) = posts_in(&w.fake, "C0DEPLOYS");
    let reminders: Vec<&Value> = replies
        .iter()
        .filter(|m| text(m).contains("Reminder"))
        .collect();
    assert_eq!(reminders.len(), 1, "{reminders:?}");
    let reminder = text(reminders[0]);
    // The leads who have not voted are mentioned; the one who voted and the requester are not.
    for lead in ["<@U0CAROL>", "<@U0DAVE>"] {
        assert!(reminder.contains(lead), "{reminder}");
    }
    for not in ["<@U0ERIN>", "<@U0ALICE>"] {
        assert!(!reminder.contains(not), "{reminder}");
    }
    assert!(reminder.contains(&a), "{reminder}");
    // The expiry is told to the requester, in the thread.
    let expired = replies
        .iter()
        .find(|m| text(m).contains("expired"))
        .unwrap();
    assert!(text(expired).starts_with("<@U0ALICE>"), "{expired}");
    w.app.server.shutdown().await.unwrap();
}

/// `ship`, renamed, with extra top-level keys.
fn variant(url: &str, name: &str, extra: &str) -> (String, String) {
    let (_, text) = ship(url, "30m");
    (
        format!("{name}.toml"),
        text.replace("name = \"ship\"", &format!("name = \"{name}\"\n{extra}")),
    )
}

#[tokio::test]
async fn a_failure_alert_links_to_the_thread_or_is_broadcast_in_it_and_a_retry_stays_there() {
    let broken = FakeDownstream::default();
    let url = broken.start(500).await;
    let w = world(vec![
        variant(&url, "broken", ""),
        variant(&url, "broken-here", "alert_channel = \"slack:C0DEPLOYS\""),
    ])
    .await;

    // The alert channel is another channel: a top-level alert there links to the thread.
    let first = w.app.slack("T0ACME", "U0ALICE", "broken web").await;
    let job = w.app.wait_job(number("J-", first.text())).await;
    assert_eq!(job.status, JobStatus::Failed);
    until("the alert", || !posts_in(&w.fake, "C0ALERTS").0.is_empty()).await;
    let card = posts_in(&w.fake, "C0DEPLOYS").0[0].clone();
    let card_ts = ts_of_call(&w.fake, &card);
    let alert = posts_in(&w.fake, "C0ALERTS").0[0].clone();
    let link = format!(
        "https://demo.slack.example/archives/C0DEPLOYS/p{}",
        card_ts.replace('.', "")
    );
    assert!(text(&alert).contains(&link), "{alert}");
    // Asked for once per lane at most (the alert's and the thread's may race), then
    // remembered with the card.
    assert!((1..=2).contains(&w.fake.calls_of("chat.getPermalink").len()));
    // The outcome in the thread carries Retry and mentions the requester.
    until("the outcome reply", || {
        posts_in(&w.fake, "C0DEPLOYS")
            .1
            .iter()
            .any(|m| text(m).contains(&format!("{} failed", job.display_id())))
    })
    .await;
    let (_, replies) = posts_in(&w.fake, "C0DEPLOYS");
    let outcome = replies
        .iter()
        .find(|m| text(m).contains(&format!("{} failed", job.display_id())))
        .unwrap();
    assert!(has_buttons(outcome) && text(outcome).starts_with("<@U0ALICE>"));
    assert!(outcome["reply_broadcast"].is_null());

    // Retry from the thread: the new job is told on the same card, in the same thread.
    let retried = click(&w, "U0ALICE", "warden.retry", &job.display_id()).await;
    let again = w.app.wait_job(number("J-", &retried)).await;
    assert_eq!(again.status, JobStatus::Failed);
    until("the retry's outcome", || {
        posts_in(&w.fake, "C0DEPLOYS")
            .1
            .iter()
            .any(|m| text(m).contains(&format!("{} failed", again.display_id())))
    })
    .await;
    let (top, replies) = posts_in(&w.fake, "C0DEPLOYS");
    assert_eq!(top.len(), 1, "the retry posted no card of its own: {top:?}");
    assert!(replies.iter().all(|r| r["thread_ts"] == card_ts.as_str()));
    assert!(replies
        .iter()
        .any(|r| text(r).contains(&format!("retrying {}", job.display_id()))));
    until("the card shows the retry", || {
        w.fake
            .calls_of("chat.update")
            .iter()
            .any(|u| u["ts"] == card_ts.as_str() && text(u).starts_with(&again.display_id()))
    })
    .await;

    // The alert channel is the card's channel: the outcome reply is broadcast, and there is
    // no separate top-level alert.
    let here = w.app.slack("T0ACME", "U0ALICE", "broken-here web").await;
    let job = w.app.wait_job(number("J-", here.text())).await;
    until("the broadcast outcome", || {
        posts_in(&w.fake, "C0DEPLOYS")
            .1
            .iter()
            .any(|m| text(m).contains(&format!("{} failed", job.display_id())))
    })
    .await;
    let (top, replies) = posts_in(&w.fake, "C0DEPLOYS");
    let outcome = replies
        .iter()
        .find(|m| text(m).contains(&format!("{} failed", job.display_id())))
        .unwrap();
    assert_eq!(outcome["reply_broadcast"], true, "{outcome}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let alerts = top.iter().filter(|m| text(m).starts_with("ALERT")).count();
    assert_eq!(alerts, 0, "{top:?}");
    until("the retry's alert", || {
        posts_in(&w.fake, "C0ALERTS").0.len() >= 2
    })
    .await;
    assert_eq!(
        posts_in(&w.fake, "C0ALERTS").0.len(),
        2,
        "one alert for the first command and one for its retry, none for the broadcast one"
    );
    w.app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn thread_false_keeps_the_flat_layout() {
    let downstream = FakeDownstream::default();
    let url = downstream.start(200).await;
    let w = world(vec![variant(&url, "flat", "thread = false")]).await;
    let asked = w.app.slack("T0ACME", "U0ALICE", "flat web env=prod").await;
    let a = format!("A-{}", number("A-", asked.text()));
    click(&w, "U0CAROL", "warden.approve", &a).await;
    let two = click(&w, "U0DAVE", "warden.approve", &a).await;
    let job = number("J-", &two);
    assert_eq!(w.app.wait_job(job).await.status, JobStatus::Succeeded);
    until("the job's own message", || {
        posts_in(&w.fake, "C0DEPLOYS")
            .0
            .iter()
            .any(|m| text(m).starts_with(&format!("J-{job} ")))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (top, replies) = posts_in(&w.fake, "C0DEPLOYS");
    assert!(replies.is_empty(), "no thread replies: {replies:?}");
    // The request, the note to the requester, and the job's own message.
    assert!(top.iter().any(|m| text(m).starts_with(&format!("{a}:"))));
    assert!(top
        .iter()
        .any(|m| text(m).starts_with("alice: ") && text(m).contains("was approved")));
    w.app.server.shutdown().await.unwrap();
}
