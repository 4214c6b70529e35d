//! Approvals end to end, with clicks built from the buttons warden actually posted: N-of-M,
//! no self-approval, one vote per person, deny with a reason, expiry, cross-tenant clicks,
//! exactly one job under concurrent clicks, restarts, access requests and break-glass.

mod common;

use std::time::{Duration, Instant};

use common::*;
use warden::jobs::JobStatus;

struct World {
    app: TestApp,
    fake: FakeSlack,
    downstream: FakeDownstream,
    response_url: String,
}

async fn world(expires: &str) -> World {
    let fake = FakeSlack::default();
    let api = fake.start().await;
    let downstream = FakeDownstream::default();
    let url = downstream.start(200).await;
    let app = TestApp::spawn_with(Options {
        env: vec![("SLACK_API_URL".into(), api.clone())],
        commands: vec![ship(&url, expires)],
    })
    .await;
    World {
        app,
        fake,
        downstream,
        response_url: format!("{api}response"),
    }
}

fn approval_id(text: &str) -> String {
    let start = text
        .find("A-")
        .unwrap_or_else(|| panic!("no approval id in {text}"));
    let digits: String = text[start + 2..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    format!("A-{digits}")
}

/// The approval request message warden posted (the first chat.postMessage carrying it), and
/// the value of its Approve button, as a click would send it.
async fn posted_request(fake: &FakeSlack, id: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let found = fake.calls_of("chat.postMessage").into_iter().find(|m| {
            m["text"]
                .as_str()
                .unwrap_or_default()
                .starts_with(&format!("{id}:"))
        });
        if let Some(message) = found {
            return message;
        }
        assert!(
            Instant::now() < deadline,
            "no request message: {:?}",
            fake.calls()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn button(message: &serde_json::Value, label: &str) -> (String, String) {
    let blocks = message["blocks"].as_array().unwrap();
    for block in blocks {
        for element in block["elements"].as_array().into_iter().flatten() {
            if element["text"]["text"] == label {
                return (
                    element["action_id"].as_str().unwrap().to_string(),
                    element["value"].as_str().unwrap().to_string(),
                );
            }
        }
    }
    panic!("no {label} button in {message}");
}

async fn click(w: &World, team: &str, user: &str, (action, value): &(String, String)) -> String {
    let r = w
        .app
        .click(team, user, action, value, &w.response_url)
        .await;
    assert_eq!(r.status(), 200);
    let json: serde_json::Value = r.json().await.unwrap();
    json["text"].as_str().unwrap_or_default().to_string()
}

async fn approval_status(app: &TestApp, id: &str) -> String {
    let n: i64 = id[2..].parse().unwrap();
    app.server
        .state
        .service
        .store
        .approval(n)
        .await
        .unwrap()
        .unwrap()
        .status
}

#[tokio::test]
async fn staging_runs_at_once_and_prod_needs_two_distinct_leads() {
    let w = world("30m").await;
    let staging = w
        .app
        .slack("T0ACME", "U0ALICE", "ship api env=staging")
        .await;
    assert!(staging.text().contains("queued"), "{}", staging.text());

    let prod = w
        .app
        .slack(
            "T0ACME",
            "U0ALICE",
            "ship web env=prod --reason \"release 42\"",
        )
        .await;
    let id = approval_id(prod.text());
    assert!(prod.text().contains("requested"), "{}", prod.text());
    let message = posted_request(&w.fake, &id).await;
    assert_eq!(message["channel"], "C0DEPLOYS");
    let text = message["text"].as_str().unwrap();
    assert!(text.contains("alice"), "{text}");
    assert!(text.contains("ship"), "{text}");
    assert!(text.contains("env=prod"), "{text}");
    assert!(text.contains("release 42"), "{text}");
    assert!(text.contains("/ship/web"), "the plan is shown: {text}");
    let approve = button(&message, "Approve");
    assert_eq!(approve.1, id);
    button(&message, "Deny");

    // The requester cannot approve; bob is no lead; carol's second click counts once.
    let own = click(&w, "T0ACME", "U0ALICE", &approve).await;
    assert!(own.contains("Refused"), "{own}");
    let bob = click(&w, "T0ACME", "U0BOB", &approve).await;
    assert!(bob.contains("Refused"), "{bob}");
    let first = click(&w, "T0ACME", "U0CAROL", &approve).await;
    assert!(first.contains("1 of 2"), "{first}");
    let again = click(&w, "T0ACME", "U0CAROL", &approve).await;
    assert!(again.contains("Refused"), "{again}");
    assert_eq!(approval_status(&w.app, &id).await, "pending");
    // Not a single downstream call for prod yet: only the staging one.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.downstream.received().len(), 1);

    let second = click(&w, "T0ACME", "U0DAVE", &approve).await;
    assert!(second.contains("approved"), "{second}");
    assert_eq!(approval_status(&w.app, &id).await, "approved");
    let deadline = Instant::now() + Duration::from_secs(10);
    while w.downstream.received().len() < 2 {
        assert!(Instant::now() < deadline, "the approved job did not run");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let prod_call = &w.downstream.received()[1];
    assert_eq!(prod_call.path_and_query, "/ship/web");

    // The request's card was updated in place with who approved, and lost its buttons (the
    // outbox delivers it after the click's transaction, so wait for it). The card then tells
    // the job's story, so the newest edit may already be the job's, which names the approvers
    // too (an edit not sent yet is replaced by a newer one).
    let deadline = Instant::now() + Duration::from_secs(10);
    let last = loop {
        let decided = w.fake.calls_of("chat.update").into_iter().find(|u| {
            let text = u["text"].as_str().unwrap_or_default();
            (text.starts_with(&format!("{id}:")) || text.starts_with("J-"))
                && text.contains("carol")
                && text.contains("dave")
        });
        if let Some(update) = decided {
            break update;
        }
        assert!(
            Instant::now() < deadline,
            "{:?}",
            w.fake.calls_of("chat.update")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        !last["blocks"].to_string().contains("warden.approve"),
        "{last}"
    );

    let kinds: Vec<String> = w.app.audit().await.into_iter().map(|e| e.kind).collect();
    for kind in [
        "approval.requested",
        "approval.refused",
        "approval.voted",
        "approval.approved",
        "job.queued",
    ] {
        assert!(
            kinds.contains(&kind.to_string()),
            "{kind} missing from {kinds:?}"
        );
    }
    w.app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn deny_asks_for_a_reason_and_ends_the_request() {
    let w = world("30m").await;
    let prod = w.app.slack("T0ACME", "U0ALICE", "ship api env=prod").await;
    let id = approval_id(prod.text());
    let message = posted_request(&w.fake, &id).await;
    let deny = button(&message, "Deny");

    // Bob may not decide: refused at once, no form.
    let bob = click(&w, "T0ACME", "U0BOB", &deny).await;
    assert!(bob.contains("Refused"), "{bob}");
    assert!(w.fake.calls_of("views.open").is_empty());

    // Carol gets the reason form.
    let r = w
        .app
        .click("T0ACME", "U0CAROL", &deny.0, &deny.1, &w.response_url)
        .await;
    assert_eq!(r.status(), 200);
    let views = w.fake.calls_of("views.open");
    assert_eq!(views.len(), 1, "{views:?}");
    let view = &views[0]["view"];
    assert_eq!(view["private_metadata"], id.as_str());
    let callback = view["callback_id"].as_str().unwrap().to_string();
    assert_eq!(
        approval_status(&w.app, &id).await,
        "pending",
        "opening the form decides nothing"
    );

    let submit = |reason: &str| {
        let payload = serde_json::json!({
            "type": "view_submission",
            "team": { "id": "T0ACME", "domain": "acme" },
            "user": { "id": "U0CAROL", "username": "carol", "team_id": "T0ACME" },
            "api_app_id": "A0WARDEN",
            "trigger_id": format!("{}.1.x", reason.len()),
            "view": {
                "id": "V0DENY", "team_id": "T0ACME", "hash": "1.x", "type": "modal",
            "title": { "type": "plain_text", "text": "Deny" }, "blocks": [], "callback_id": callback, "private_metadata": id,
                "state": { "values": { "reason": { "reason": { "type": "plain_text_input", "value": reason } } } }
            }
        });
        serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap()
    };
    let short = w
        .app
        .post_slack("/slack/interactions", &submit("no"), SLACK_SECRET, now())
        .await;
    let json: serde_json::Value = short.json().await.unwrap();
    assert_eq!(json["response_action"], "errors", "{json}");
    assert_eq!(approval_status(&w.app, &id).await, "pending");

    let ok = w
        .app
        .post_slack(
            "/slack/interactions",
            &submit("not during the freeze"),
            SLACK_SECRET,
            now(),
        )
        .await;
    let json: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(json["response_action"], "clear", "{json}");
    assert_eq!(approval_status(&w.app, &id).await, "denied");

    // The requester is mentioned in the request's thread, and the card says who denied and why.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let told = w.fake.calls_of("chat.postMessage").into_iter().any(|m| {
            let t = m["text"].as_str().unwrap_or_default();
            m["thread_ts"].is_string()
                && t.starts_with("<@U0ALICE>")
                && t.contains("denied by carol")
                && t.contains("not during the freeze")
        });
        if told {
            break;
        }
        assert!(Instant::now() < deadline, "{:?}", w.fake.calls());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let approve = button(&message, "Approve");
    let late = click(&w, "T0ACME", "U0DAVE", &approve).await;
    assert!(late.contains("Refused"), "{late}");
    assert!(w.downstream.received().is_empty());
    let denied = w
        .app
        .audit()
        .await
        .into_iter()
        .find(|e| e.kind == "approval.denied")
        .unwrap();
    assert!(denied.details.contains("not during the freeze"));
    w.app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_unanswered_request_expires_and_the_requester_is_told() {
    let w = world("1s").await;
    let prod = w.app.slack("T0ACME", "U0ALICE", "ship api env=prod").await;
    let id = approval_id(prod.text());
    let message = posted_request(&w.fake, &id).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while approval_status(&w.app, &id).await != "expired" {
        assert!(Instant::now() < deadline, "the request never expired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let approve = button(&message, "Approve");
    let late = click(&w, "T0ACME", "U0CAROL", &approve).await;
    assert!(late.contains("Refused"), "{late}");
    assert!(w
        .app
        .audit()
        .await
        .iter()
        .any(|e| e.kind == "approval.expired"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !w
        .fake
        .calls_of("chat.postMessage")
        .iter()
        .any(|m| m["text"].as_str().unwrap_or_default().contains("expired"))
    {
        assert!(Instant::now() < deadline, "{:?}", w.fake.calls());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    w.app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_click_from_another_workspace_is_refused() {
    let w = world("30m").await;
    let prod = w.app.slack("T0ACME", "U0ALICE", "ship api env=prod").await;
    let id = approval_id(prod.text());
    let message = posted_request(&w.fake, &id).await;
    let approve = button(&message, "Approve");
    // Carol exists in globex too, but the request belongs to acme.
    let foreign = click(&w, "T0GLOBEX", "U0CAROL", &approve).await;
    assert!(foreign.contains("no pending request"), "{foreign}");
    let evil = click(&w, "T0EVIL", "U0CAROL", &approve).await;
    assert!(evil.contains("not connected"), "{evil}");
    let n: i64 = id[2..].parse().unwrap();
    let record = w
        .app
        .server
        .state
        .service
        .store
        .approval(n)
        .await
        .unwrap()
        .unwrap();
    assert!(record.votes.is_empty());
    w.app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn fifty_concurrent_clicks_make_exactly_one_job_and_one_downstream_call() {
    let w = world("30m").await;
    let prod = w.app.slack("T0ACME", "U0ALICE", "ship web env=prod").await;
    let id = approval_id(prod.text());
    let message = posted_request(&w.fake, &id).await;
    let approve = button(&message, "Approve");
    let voters = ["U0CAROL", "U0DAVE", "U0ERIN"];
    let clicks = (0..50).map(|i| {
        w.app.click(
            "T0ACME",
            voters[i % 3],
            &approve.0,
            &approve.1,
            &w.response_url,
        )
    });
    let responses = futures_util::future::join_all(clicks).await;
    for r in responses {
        assert_eq!(r.status(), 200);
    }
    assert_eq!(approval_status(&w.app, &id).await, "approved");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let store = &w.app.server.state.service.store;
    let jobs = store.recent_jobs("acme", 100).await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(
        w.app.wait_job(jobs[0].id).await.status,
        JobStatus::Succeeded
    );
    assert_eq!(jobs[0].approvers.len(), 2, "{:?}", jobs[0].approvers);
    assert_eq!(w.downstream.received().len(), 1);
    let n: i64 = id[2..].parse().unwrap();
    assert_eq!(store.approval(n).await.unwrap().unwrap().votes.len(), 2);
    // One card, and one "approved" reply in its thread, however many clicks raced.
    let posts = w.fake.calls_of("chat.postMessage");
    let cards: Vec<_> = posts.iter().filter(|m| m["thread_ts"].is_null()).collect();
    assert_eq!(cards.len(), 1, "{cards:?}");
    let approved: Vec<_> = posts
        .iter()
        .filter(|m| {
            m["text"]
                .as_str()
                .unwrap_or_default()
                .contains("was approved by")
        })
        .collect();
    assert_eq!(approved.len(), 1, "{approved:?}");
    assert!(approved[0]["thread_ts"].is_string());

    assert_audit_verifies(&w.app.database_url());
    w.app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_restart_between_request_and_approval_loses_nothing() {
    let w = world("30m").await;
    let prod = w.app.slack("T0ACME", "U0ALICE", "ship api env=prod").await;
    let id = approval_id(prod.text());
    let message = posted_request(&w.fake, &id).await;
    let approve = button(&message, "Approve");
    let first = click(&w, "T0ACME", "U0CAROL", &approve).await;
    assert!(first.contains("1 of 2"), "{first}");

    let World {
        app,
        fake,
        downstream,
        response_url,
    } = w;
    let app = app.restart().await;
    let w = World {
        app,
        fake,
        downstream,
        response_url,
    };
    let pending = w.app.slack("T0ACME", "U0DAVE", "approvals").await;
    assert!(pending.text().contains(&id), "{}", pending.text());
    // With a link to the request message warden posted (its ts from the fake Slack).
    assert!(
        pending
            .text()
            .contains("https://slack.com/archives/C0DEPLOYS/p1700000000"),
        "{}",
        pending.text()
    );
    let second = click(&w, "T0ACME", "U0DAVE", &approve).await;
    assert!(second.contains("approved"), "{second}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while w.downstream.received().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the approved job did not run after the restart"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    w.app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_person_counts_once_across_slack_and_discord() {
    let w = world("30m").await;
    let prod = w.app.slack("T0ACME", "U0ALICE", "ship api env=prod").await;
    let id = approval_id(prod.text());
    let message = posted_request(&w.fake, &id).await;
    let approve = button(&message, "Approve");
    let slack = click(&w, "T0ACME", "U0DAVE", &approve).await;
    assert!(slack.contains("1 of 2"), "{slack}");
    // Dave clicks the same request's button from Discord.
    let discord_click = discord_click(
        "830000000000000001",
        "900000000000000001",
        "100000000000000004",
        "dave",
        "840000000000000001",
        &format!("warden.approve:{id}"),
    );
    let r = w.app.post_discord(&discord_click, now()).await;
    let body: serde_json::Value = r.json().await.unwrap();
    let content = body["data"]["content"].as_str().unwrap();
    assert!(content.contains("Refused"), "{content}");
    assert_eq!(approval_status(&w.app, &id).await, "pending");
    w.app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn access_requests_breakglass_and_revoke() {
    let w = world("30m").await;
    // Bob (viewer) asks for operator in staging for 2h; carol is operator, not admin: refused;
    // alice is not admin either. Nobody in the test directory is admin, so break-glass first.
    let asked = w
        .app
        .slack(
            "T0ACME",
            "U0BOB",
            "access request operator env=staging --for 2h --reason \"on call\"",
        )
        .await;
    let id = approval_id(asked.text());
    let message = posted_request(&w.fake, &id).await;
    let approve = button(&message, "Approve");
    let carol = click(&w, "T0ACME", "U0CAROL", &approve).await;
    assert!(carol.contains("Refused"), "{carol}");

    // Bob cannot break glass (not in the tenant's list); alice can, loudly.
    let no = w
        .app
        .slack(
            "T0ACME",
            "U0BOB",
            "access breakglass admin --reason \"prod down\"",
        )
        .await;
    assert!(
        no.text().starts_with("Refused at the `authorize` step."),
        "{}",
        no.text()
    );
    let glass = w
        .app
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
    let deadline = Instant::now() + Duration::from_secs(5);
    while !w.fake.calls_of("chat.postMessage").iter().any(|m| {
        m["channel"] == "C0ALERTS"
            && m["text"]
                .as_str()
                .unwrap_or_default()
                .contains("BREAK-GLASS")
    }) {
        assert!(Instant::now() < deadline, "{:?}", w.fake.calls());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let who = w.app.slack("T0ACME", "U0ALICE", "whoami").await;
    assert!(who.text().contains("admin"), "{}", who.text());

    // Now alice is admin: she approves bob's request, and bob can run operator commands in
    // staging (but still not in prod).
    let approved = click(&w, "T0ACME", "U0ALICE", &approve).await;
    assert!(approved.contains("approved"), "{approved}");
    let bob_staging = w.app.slack("T0ACME", "U0BOB", "ship api env=staging").await;
    assert!(
        bob_staging.text().contains("queued"),
        "{}",
        bob_staging.text()
    );
    let bob_prod = w.app.slack("T0ACME", "U0BOB", "ship api env=prod").await;
    assert!(
        bob_prod
            .text()
            .starts_with("Refused at the `authorize` step."),
        "{}",
        bob_prod.text()
    );

    // Revoke: bob's grant ends at once.
    let list = w.app.slack("T0ACME", "U0ALICE", "access list").await;
    let bob_line = list
        .text()
        .lines()
        .find(|l| l.contains("bob"))
        .unwrap_or_else(|| panic!("{}", list.text()))
        .to_string();
    let binding = bob_line.split_whitespace().next().unwrap().to_string();
    let revoked = w
        .app
        .slack("T0ACME", "U0ALICE", &format!("access revoke {binding}"))
        .await;
    assert!(revoked.text().contains("Revoked"), "{}", revoked.text());
    let after = w.app.slack("T0ACME", "U0BOB", "ship api env=staging").await;
    assert!(
        after.text().starts_with("Refused at the `authorize` step."),
        "{}",
        after.text()
    );

    let kinds: Vec<String> = w.app.audit().await.into_iter().map(|e| e.kind).collect();
    for kind in ["access.breakglass", "access.granted", "access.revoked"] {
        assert!(
            kinds.contains(&kind.to_string()),
            "{kind} missing from {kinds:?}"
        );
    }
    w.app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_approval_of_a_changed_plan_is_stale_and_runs_nothing() {
    let w = world("30m").await;
    let prod = w.app.slack("T0ACME", "U0ALICE", "ship api env=prod").await;
    let id = approval_id(prod.text());
    let message = posted_request(&w.fake, &id).await;
    let approve = button(&message, "Approve");
    assert!(click(&w, "T0ACME", "U0CAROL", &approve)
        .await
        .contains("1 of 2"));

    // An operator edits the command: it now calls another URL. The approvers never saw that.
    let file = w.app.dir.path().join("commands").join("ship.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("/ship/", "/ship-v2/")).unwrap();
    let World {
        app,
        fake,
        downstream,
        response_url,
    } = w;
    let app = app.restart().await;
    let w = World {
        app,
        fake,
        downstream,
        response_url,
    };

    let last = click(&w, "T0ACME", "U0DAVE", &approve).await;
    assert!(last.contains("stale"), "{last}");
    assert_eq!(approval_status(&w.app, &id).await, "stale");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        w.downstream.received().is_empty(),
        "a stale approval must not run"
    );
    assert!(w
        .app
        .server
        .state
        .service
        .store
        .recent_jobs("acme", 10)
        .await
        .unwrap()
        .is_empty());
    assert!(w
        .app
        .audit()
        .await
        .iter()
        .any(|e| e.kind == "approval.stale"));
    w.app.server.shutdown().await.unwrap();
}

/// Issue 18.1: an admin bound only in `staging` approved `access request admin` with no
/// environment (every environment), and the new admin could return the favour. Deciding by
/// role now needs the role in every environment the request covers.
#[tokio::test]
async fn an_admin_of_one_environment_cannot_approve_a_wider_access_request() {
    let w = world("30m").await;
    let request = |text: &'static str| {
        let app = &w.app;
        async move { approval_id(app.slack("T0ACME", "U0BOB", text).await.text()) }
    };

    // Everywhere: frank (admin in staging only) is refused, and nothing is granted.
    let everywhere = request("access request admin --reason \"take over\"").await;
    let approve = button(&posted_request(&w.fake, &everywhere).await, "Approve");
    let frank = click(&w, "T0ACME", "U0FRANK", &approve).await;
    assert!(frank.contains("Refused"), "{frank}");
    assert!(
        frank.contains("`*`"),
        "the refusal says what is missing: {frank}"
    );
    assert_eq!(approval_status(&w.app, &everywhere).await, "pending");

    // staging and prod: frank holds admin in one of the two, which is not enough.
    let two = request("access request admin env=staging,prod --reason \"both\"").await;
    let approve_two = button(&posted_request(&w.fake, &two).await, "Approve");
    let frank = click(&w, "T0ACME", "U0FRANK", &approve_two).await;
    assert!(
        frank.contains("Refused") && frank.contains("`prod`"),
        "{frank}"
    );
    assert_eq!(approval_status(&w.app, &two).await, "pending");

    // Deny is guarded the same way: no form opens for frank.
    let deny = button(&posted_request(&w.fake, &everywhere).await, "Deny");
    let frank = click(&w, "T0ACME", "U0FRANK", &deny).await;
    assert!(frank.contains("Refused"), "{frank}");
    assert!(w.fake.calls_of("views.open").is_empty());

    // Within his environment frank decides as before.
    let staging = request("access request operator env=staging --reason \"on call\"").await;
    let approve_staging = button(&posted_request(&w.fake, &staging).await, "Approve");
    let frank = click(&w, "T0ACME", "U0FRANK", &approve_staging).await;
    assert!(frank.contains("approved"), "{frank}");
    assert_eq!(approval_status(&w.app, &staging).await, "approved");
    let who = w.app.slack("T0ACME", "U0BOB", "whoami").await;
    assert!(who.text().contains("operator in staging"), "{}", who.text());
    assert!(!who.text().contains("admin"), "{}", who.text());

    // An admin in `*` (alice, through break-glass) may decide on the wide request.
    let glass = w
        .app
        .slack(
            "T0ACME",
            "U0ALICE",
            "access breakglass admin --for 30m --reason \"review\"",
        )
        .await;
    assert!(
        glass.text().contains("Break-glass granted"),
        "{}",
        glass.text()
    );
    let alice = click(&w, "T0ACME", "U0ALICE", &approve).await;
    assert!(alice.contains("approved"), "{alice}");
    let granted: Vec<String> = w
        .app
        .audit()
        .await
        .into_iter()
        .filter(|e| e.kind == "access.granted")
        .map(|e| e.actor)
        .collect();
    assert_eq!(granted, ["frank", "alice"]);
    w.app.server.shutdown().await.unwrap();
}
