//! Alerts from monitoring (SPEC §15), end to end: real-shaped Alertmanager, Grafana and
//! generic payloads against the running server, a fake Slack and a fake Alertmanager
//! silences API. Assertions are on what people see (cards, edits, thread replies), the rows
//! that must or must not exist, and the calls that must happen once.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const TOKEN: &str = "prom-token-3f9a";
const GRAFANA_TOKEN: &str = "grafana-token-77c1";
const HOOK_SECRET: &str = "hook-secret-51be";
const AM: &str = include_str!("fixtures/alertmanager.json");
const GRAFANA: &str = include_str!("fixtures/grafana.json");

struct World {
    app: TestApp,
    fake: FakeSlack,
    silences: FakeAlertmanager,
    response_url: String,
}

/// A fake Alertmanager silences API: records each request and answers with a silence id.
#[derive(Clone, Default)]
struct FakeAlertmanager {
    received: std::sync::Arc<std::sync::Mutex<Vec<(String, Value)>>>,
}

impl FakeAlertmanager {
    async fn start(&self) -> String {
        let received = self.received.clone();
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let received = received.clone();
            async move {
                let path = req.uri().path().to_string();
                let body = axum::body::to_bytes(req.into_body(), 1 << 20)
                    .await
                    .unwrap();
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let mut received = received.lock().unwrap();
                received.push((path, body));
                axum::Json(json!({ "silenceID": format!("silence-{}", received.len()) }))
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    }

    fn received(&self) -> Vec<(String, Value)> {
        self.received.lock().unwrap().clone()
    }
}

fn alert_config(silence_url: &str) -> String {
    format!(
        r#"
[alert_sources.prom]
kind = "alertmanager"
token_env = "PROM_ALERT_TOKEN"
silence_url = "{silence_url}"

[alert_sources.graf]
kind = "grafana"
token_env = "GRAFANA_ALERT_TOKEN"

[alert_sources.hooks]
kind = "webhook"
hmac_secret_env = "HOOK_SECRET"

[[alert_routes]]
source = "prom"
tenant = "acme"
match = {{ team = "web" }}
actions = [
  {{ label = "Restart", command = "restart service={{{{labels.service}}}} env={{{{labels.env}}}}" }},
  {{ label = "Silence 1h", silence = "1h" }},
]
storm = 3

[[alert_routes]]
source = "graf"
tenant = "acme"
channel = "slack:C0GRAF"

[[alert_routes]]
source = "hooks"
tenant = "acme"
match_re = {{ service = "web|api" }}
"#
    )
}

async fn world() -> World {
    let fake = FakeSlack::default();
    let api = fake.start().await;
    let silences = FakeAlertmanager::default();
    let am = silences.start().await;
    let directory = format!("{DIRECTORY}\n{}", alert_config(&am));
    let app = TestApp::spawn_with_directory(
        Options {
            env: vec![
                ("SLACK_API_URL".into(), api.clone()),
                ("PROM_ALERT_TOKEN".into(), TOKEN.into()),
                ("GRAFANA_ALERT_TOKEN".into(), GRAFANA_TOKEN.into()),
                ("HOOK_SECRET".into(), HOOK_SECRET.into()),
            ],
            commands: Vec::new(),
        },
        &directory,
    )
    .await;
    World {
        app,
        fake,
        silences,
        response_url: format!("{api}response"),
    }
}

impl World {
    async fn send(&self, kind: &str, token: Option<&str>, body: &str) -> reqwest::Response {
        let mut request = self
            .app
            .http
            .post(format!("{}/alerts/{kind}", self.app.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// A generic alert signed with `secret` at `timestamp`, as warden signs its own requests.
    async fn signed_webhook(&self, secret: &str, timestamp: u64, body: &str) -> reqwest::Response {
        self.app
            .http
            .post(format!("{}/alerts/webhook", self.app.base))
            .header("x-warden-timestamp", timestamp.to_string())
            .header(
                "x-warden-signature",
                warden::actions::http::signature(secret.as_bytes(), timestamp, body.as_bytes()),
            )
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    async fn alertmanager(&self, body: &str) -> Value {
        let r = self.send("alertmanager", Some(TOKEN), body).await;
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    async fn click(&self, user: &str, action: &str, value: &str) -> String {
        let r = self
            .app
            .click(
                "T0ACME",
                user,
                &format!("{action}:{value}"),
                value,
                &self.response_url,
            )
            .await;
        assert_eq!(r.status(), 200);
        let json: Value = r.json().await.unwrap();
        json["text"].as_str().unwrap_or_default().to_string()
    }

    async fn alert_count(&self) -> i64 {
        let store = &self.app.server.state.service.store;
        let mut n = 0;
        for id in 1..10_000 {
            match store.alert(id).await.unwrap() {
                Some(_) => n += 1,
                None => break,
            }
        }
        n
    }
}

/// The messages posted in `channel`: (top-level ones, thread replies).
fn posts_in(fake: &FakeSlack, channel: &str) -> (Vec<Value>, Vec<Value>) {
    fake.calls_of("chat.postMessage")
        .into_iter()
        .filter(|m| m["channel"] == channel)
        .partition(|m| m["thread_ts"].is_null())
}

fn text(m: &Value) -> &str {
    m["text"].as_str().unwrap_or_default()
}

/// The ts the fake gave a posted message.
fn ts_of(fake: &FakeSlack, found: &Value) -> String {
    let n = fake
        .calls()
        .iter()
        .position(|(method, body, _)| method == "chat.postMessage" && body == found)
        .expect("the call was made")
        + 1;
    format!("1700000000.{n:06}")
}

/// The buttons of a Slack message: (action_id, text, url).
fn buttons(m: &Value) -> Vec<(String, String, Option<String>)> {
    m["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .map(|e| {
            (
                e["action_id"].as_str().unwrap_or_default().to_string(),
                e["text"]["text"].as_str().unwrap_or_default().to_string(),
                e["url"].as_str().map(str::to_string),
            )
        })
        .collect()
}

async fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check() {
        assert!(Instant::now() < deadline, "waited in vain for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// One Alertmanager alert, in a version 4 payload.
fn one(fingerprint: &str, status: &str, service: &str, env: &str) -> String {
    json!({
        "version": "4",
        "status": status,
        "alerts": [{
            "status": status,
            "labels": { "alertname": "HighErrorRate", "team": "web", "service": service, "env": env, "severity": "critical" },
            "annotations": { "summary": format!("5xx on {service}") },
            "startsAt": "2026-12-02T00:10:00Z",
            "endsAt": if status == "resolved" { "2026-12-02T00:22:05Z" } else { "0001-01-01T00:00:00Z" },
            "fingerprint": fingerprint,
        }],
    })
    .to_string()
}

#[tokio::test]
async fn requests_without_the_sources_credentials_are_refused_and_post_nothing() {
    let w = world().await;
    for token in [None, Some("wrong"), Some(GRAFANA_TOKEN)] {
        let r = w.send("alertmanager", token, AM).await;
        assert_eq!(r.status(), 401, "{token:?}");
        assert!(r.text().await.unwrap().is_empty());
    }
    // The generic source takes only warden's signature, within the time window.
    let body = r#"{"fingerprint":"f1","status":"firing","title":"Queue backed up","labels":{"service":"web"}}"#;
    let stale = (now() - 600) as u64;
    let r = w.signed_webhook(HOOK_SECRET, stale, body).await;
    assert_eq!(r.status(), 401, "a signature outside the 300 s window");
    let r = w.signed_webhook("not-the-secret", now() as u64, body).await;
    assert_eq!(r.status(), 401, "a signature made with another secret");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.alert_count().await, 0);
    assert!(w.fake.calls_of("chat.postMessage").is_empty());
    assert!(w
        .app
        .metrics()
        .await
        .contains("warden_requests_rejected_total"));

    // Signed now, it is taken.
    let r = w.signed_webhook(HOOK_SECRET, now() as u64, body).await;
    assert_eq!(r.status(), 200);
    until("the generic alert's card", || {
        !posts_in(&w.fake, "C0ALERTS").0.is_empty()
    })
    .await;
    assert!(text(&posts_in(&w.fake, "C0ALERTS").0[0]).contains("Queue backed up"));
}

#[tokio::test]
async fn malformed_payloads_are_400_naming_the_problem_and_change_nothing() {
    let w = world().await;
    for (body, wanted) in [
        ("not json", "not an Alertmanager webhook payload"),
        (r#"{"version":"3","alerts":[]}"#, "version `3`"),
        (
            r#"{"version":"4","alerts":[{"status":"exploding","labels":{}}]}"#,
            "status `exploding`",
        ),
    ] {
        let r = w.send("alertmanager", Some(TOKEN), body).await;
        assert_eq!(r.status(), 400, "{body}");
        let text = r.text().await.unwrap();
        assert!(text.contains(wanted), "{body}: {text}");
    }
    assert_eq!(w.alert_count().await, 0);
}

#[tokio::test]
async fn one_card_per_alert_edited_on_resolve_and_reopened_in_its_thread() {
    let w = world().await;
    // A grouped payload of two alerts: two cards.
    let answer = w.alertmanager(AM).await;
    assert_eq!(answer["posted"], 2, "{answer}");
    until("two cards", || posts_in(&w.fake, "C0ALERTS").0.len() == 2).await;
    let cards = posts_in(&w.fake, "C0ALERTS").0;
    let web = cards
        .iter()
        .find(|c| text(c).contains("5xx above 5% on web"))
        .expect("the web alert's card")
        .clone();
    assert!(text(&web).starts_with("*FIRING* `HighErrorRate`"), "{web}");
    let labels: Vec<String> = buttons(&web).into_iter().map(|b| b.1).collect();
    assert_eq!(labels, ["Restart", "Silence 1h", "Runbook", "Source"]);
    let runbook = buttons(&web)
        .into_iter()
        .find(|b| b.1 == "Runbook")
        .unwrap();
    assert_eq!(
        runbook.2.as_deref(),
        Some("https://runbooks.example/web-errors")
    );

    // The same payload again changes nothing visible.
    let answer = w.alertmanager(AM).await;
    assert_eq!(answer["repeated"], 2, "{answer}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(posts_in(&w.fake, "C0ALERTS").0.len(), 2);
    assert!(w.fake.calls_of("chat.update").is_empty());

    // Resolved: the same card is edited (no buttons to act with), and its thread says so.
    let web_ts = ts_of(&w.fake, &web);
    let resolved = AM
        .replace("\"status\": \"firing\"", "\"status\": \"resolved\"")
        .replace(
            "\"endsAt\": \"0001-01-01T00:00:00Z\"",
            "\"endsAt\": \"2026-12-02T00:22:05Z\"",
        );
    let answer = w.alertmanager(&resolved).await;
    assert_eq!(answer["resolved"], 2, "{answer}");
    until("the edits and replies", || {
        w.fake.calls_of("chat.update").len() == 2 && posts_in(&w.fake, "C0ALERTS").1.len() == 2
    })
    .await;
    let edit = w
        .fake
        .calls_of("chat.update")
        .into_iter()
        .find(|u| u["ts"] == web_ts.as_str())
        .expect("the web card was edited");
    assert!(
        text(&edit).starts_with("*RESOLVED* `HighErrorRate` after 12m 5s"),
        "{edit}"
    );
    assert!(
        buttons(&edit).iter().all(|b| b.2.is_some()),
        "only links remain: {edit}"
    );
    let reply = posts_in(&w.fake, "C0ALERTS")
        .1
        .into_iter()
        .find(|r| r["thread_ts"] == web_ts.as_str())
        .expect("a reply in the web card's thread");
    assert!(text(&reply).contains("Resolved"), "{reply}");

    // Firing again re-opens the same card.
    let answer = w.alertmanager(AM).await;
    assert_eq!(answer["reopened"], 2, "{answer}");
    until("the re-open", || w.fake.calls_of("chat.update").len() == 4).await;
    assert_eq!(posts_in(&w.fake, "C0ALERTS").0.len(), 2, "no new card");
    let kinds: Vec<String> = w
        .app
        .audit()
        .await
        .into_iter()
        .filter(|e| e.kind.starts_with("alert."))
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "alert.received",
            "alert.received",
            "alert.resolved",
            "alert.resolved",
            "alert.received",
            "alert.received"
        ]
    );
}

#[tokio::test]
async fn a_storm_is_folded_into_one_summary_card() {
    let w = world().await;
    let many = |from: usize, n: usize| {
        let alerts: Vec<Value> = (from..from + n)
            .map(|i| {
                json!({
                    "status": "firing",
                    "labels": { "alertname": if i % 2 == 0 { "NodeDown" } else { "DiskFull" }, "team": "web", "service": "web", "env": "prod", "instance": format!("node-{i}") },
                    "annotations": {},
                    "startsAt": "2026-12-02T00:10:00Z",
                    "fingerprint": format!("storm-{i}"),
                })
            })
            .collect();
        json!({ "version": "4", "status": "firing", "alerts": alerts }).to_string()
    };
    let answer = w.alertmanager(&many(0, 40)).await;
    assert_eq!(answer["posted"], 3, "{answer}");
    assert_eq!(answer["folded"], 37, "{answer}");
    let answer = w.alertmanager(&many(40, 40)).await;
    assert_eq!(answer["folded"], 40, "{answer}");
    until("the cards and the summary", || {
        posts_in(&w.fake, "C0ALERTS").0.len() == 4
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let top = posts_in(&w.fake, "C0ALERTS").0;
    assert_eq!(top.len(), 4, "3 cards and one summary");
    let summary = top
        .iter()
        .find(|m| text(m).starts_with("*Alert storm*"))
        .expect("a summary card");
    assert!(text(summary).contains("37 more alerts"), "{summary}");
    // The second payload edits the summary instead of posting; the outbox holds no row per
    // folded alert.
    let updates = w.fake.calls_of("chat.update");
    assert!(
        updates.iter().any(|u| text(u).contains("77 more alerts")),
        "{updates:?}"
    );
    // 80 alerts, 6 chat calls at most: 3 cards, the summary, and an edit or two of it.
    let calls = w.fake.calls().len();
    assert!(calls <= 6, "{calls} chat calls for a storm of 80");
}

#[tokio::test]
async fn unrouted_alerts_are_counted_and_audited_in_the_system_chain() {
    let w = world().await;
    let body = AM.replace("\"team\": \"web\"", "\"team\": \"data\"");
    let answer = w.alertmanager(&body).await;
    assert_eq!(answer["unrouted"], 2, "{answer}");
    let events = w.app.audit().await;
    let unrouted: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "alert.unrouted")
        .collect();
    assert_eq!(unrouted.len(), 2);
    assert!(unrouted.iter().all(|e| e.tenant == "_system"));
    assert!(w
        .app
        .metrics()
        .await
        .contains("warden_alerts_total{outcome=\"unrouted\"} 2"));
    assert_verifies(&w);
}

fn assert_verifies(w: &World) {
    assert_audit_verifies(&w.app.database_url());
}

#[tokio::test]
async fn an_operators_click_runs_the_action_through_the_guard_and_a_viewers_is_refused() {
    let w = world().await;
    w.alertmanager(&one("fp-staging", "firing", "web", "staging"))
        .await;
    until("the card", || !posts_in(&w.fake, "C0ALERTS").0.is_empty()).await;
    let card = posts_in(&w.fake, "C0ALERTS").0[0].clone();
    let value = buttons(&card)[0].0.split_once(':').unwrap().1.to_string();
    assert_eq!(value, "AL-1:0");

    // bob is a viewer: refused, nothing runs.
    let refused = w.click("U0BOB", "warden.alert", &value).await;
    assert!(refused.contains("operator"), "{refused}");
    assert!(w
        .app
        .server
        .state
        .service
        .store
        .job(1)
        .await
        .unwrap()
        .is_none());

    // alice is an operator in staging: the restart is queued with the labels filled in.
    let accepted = w.click("U0ALICE", "warden.alert", &value).await;
    assert!(accepted.contains("J-1"), "{accepted}");
    let job = w
        .app
        .server
        .state
        .service
        .store
        .job(1)
        .await
        .unwrap()
        .expect("a job");
    assert_eq!(job.command, "restart");
    assert_eq!(
        job.args,
        [
            ("service".to_string(), "web".to_string()),
            ("env".to_string(), "staging".to_string())
        ]
    );
    until("the reply in the alert's thread", || {
        posts_in(&w.fake, "C0ALERTS")
            .1
            .iter()
            .any(|r| text(r).contains("clicked *Restart*"))
    })
    .await;
    // The job's card is a reply in the alert's thread, not a new top-level message, and the
    // job's own replies (its start, its outcome) go in that same thread.
    w.app.wait_job(1).await;
    let alert_ts = ts_of(&w.fake, &card);
    until("the job's outcome in the alert's thread", || {
        posts_in(&w.fake, "C0ALERTS")
            .1
            .iter()
            .filter(|r| text(r).contains("J-1"))
            .count()
            >= 2
    })
    .await;
    let (top, replies) = posts_in(&w.fake, "C0ALERTS");
    assert_eq!(top.len(), 1, "only the alert's card is top-level: {top:?}");
    let job_card = replies
        .iter()
        .find(|r| text(r).starts_with("J-1"))
        .expect("the job's card in the thread")
        .clone();
    assert_eq!(job_card["thread_ts"], alert_ts.as_str());
    assert!(
        replies.iter().all(|r| r["thread_ts"] == alert_ts.as_str()),
        "{replies:?}"
    );
    let job_ts = ts_of(&w.fake, &job_card);
    until("the job's card edited in place", || {
        w.fake
            .calls_of("chat.update")
            .iter()
            .any(|u| u["ts"] == job_ts.as_str())
    })
    .await;
    let events = w.app.audit().await;
    let actions: Vec<_> = events.iter().filter(|e| e.kind == "alert.action").collect();
    assert_eq!(actions.len(), 2, "the refused and the accepted click");
    assert!(
        actions[1]
            .details
            .contains("restart service=web env=staging"),
        "{}",
        actions[1].details
    );

    // In prod the same button asks for approval, as typing the command would.
    w.alertmanager(&one("fp-prod", "firing", "web", "prod"))
        .await;
    let asked = w.click("U0ALICE", "warden.alert", "AL-2:0").await;
    assert!(asked.contains("A-1"), "{asked}");
    until("the approval's card in the second alert's thread", || {
        posts_in(&w.fake, "C0ALERTS")
            .1
            .iter()
            .any(|r| text(r).starts_with("A-1"))
    })
    .await;
    let (top, replies) = posts_in(&w.fake, "C0ALERTS");
    let second = top
        .iter()
        .find(|c| text(c).contains("AL-2"))
        .expect("the second alert's card");
    let approval = replies.iter().find(|r| text(r).starts_with("A-1")).unwrap();
    assert_eq!(approval["thread_ts"], ts_of(&w.fake, second).as_str());
    assert!(
        !buttons(approval).is_empty(),
        "Approve and Deny in the thread"
    );
}

#[tokio::test]
async fn silence_creates_one_alertmanager_silence_for_an_operator_only() {
    let w = world().await;
    w.alertmanager(&one("fp-s", "firing", "web", "prod")).await;
    let refused = w.click("U0BOB", "warden.silence", "AL-1:1").await;
    assert!(refused.contains("operator"), "{refused}");
    assert!(w.silences.received().is_empty());

    let done = w.click("U0ALICE", "warden.silence", "AL-1:1").await;
    assert!(done.contains("silenced `HighErrorRate` until"), "{done}");
    let calls = w.silences.received();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, "/api/v2/silences");
    let body = &calls[0].1;
    let matchers = body["matchers"].as_array().unwrap();
    assert!(matchers.contains(
        &json!({ "name": "service", "value": "web", "isRegex": false, "isEqual": true })
    ));
    assert_eq!(matchers.len(), 5);
    assert_eq!(body["createdBy"], "alice");
    let events = w.app.audit().await;
    assert_eq!(
        events.iter().filter(|e| e.kind == "alert.silenced").count(),
        1
    );
    assert!(done.contains("silence-1"), "{done}");
    until("the reply in the alert's thread", || {
        posts_in(&w.fake, "C0ALERTS")
            .1
            .iter()
            .any(|r| text(r).contains("silence-1"))
    })
    .await;
    // The same click again (a platform retry) does not make a second silence.
    let again = common::click_body(
        "T0ACME",
        "U0ALICE",
        "warden.silence:AL-1:1",
        "AL-1:1",
        &w.response_url,
    );
    let first = w
        .app
        .post_slack("/slack/interactions", &again, SLACK_SECRET, now())
        .await;
    assert_eq!(first.status(), 200);
    let second = w
        .app
        .post_slack("/slack/interactions", &again, SLACK_SECRET, now())
        .await;
    assert_eq!(second.status(), 200);
    assert_eq!(
        w.silences.received().len(),
        2,
        "one more silence for one more click, none for its replay"
    );
}

#[tokio::test]
async fn grafana_alerts_get_a_card_with_dashboard_links_in_their_routes_channel() {
    let w = world().await;
    let r = w.send("grafana", Some(GRAFANA_TOKEN), GRAFANA).await;
    assert_eq!(r.status(), 200);
    until("the card", || !posts_in(&w.fake, "C0GRAF").0.is_empty()).await;
    let card = posts_in(&w.fake, "C0GRAF").0[0].clone();
    let labels: Vec<String> = buttons(&card).into_iter().map(|b| b.1).collect();
    assert_eq!(labels, ["Source", "Dashboard", "Panel"]);
}

#[tokio::test]
async fn the_dashboard_lists_firing_alerts_until_they_resolve() {
    let w = world().await;
    w.alertmanager(&one("fp-dash", "firing", "web", "prod"))
        .await;
    let answer = w.app.slack("T0ACME", "U0ALICE", "dashboard").await;
    let text = answer.text().to_string();
    let start = text.find("/dashboard?t=").expect("a dashboard link");
    let path: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '|')
        .collect();
    let page = |path: String| {
        let url = format!("{}{path}", w.app.base);
        async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
    };
    let html = page(path.clone()).await;
    assert!(html.contains("<strong>AL-1</strong>"), "{html}");
    assert!(html.contains("5xx on web"), "{html}");
    w.alertmanager(&one("fp-dash", "resolved", "web", "prod"))
        .await;
    let html = page(path).await;
    assert!(!html.contains("<strong>AL-1</strong>"), "{html}");
    assert!(html.contains("No alert is firing."), "{html}");
}

#[tokio::test]
async fn alert_routes_take_bodies_up_to_1_mib_and_audit_search_finds_them() {
    let w = world().await;
    // 400 alerts are about 150 KiB: over the chat routes' 64 KiB, within the alert routes' 1 MiB.
    let alerts: Vec<Value> = (0..400)
        .map(|i| {
            json!({
                "status": "firing",
                "labels": { "alertname": "Big", "team": "web", "service": "web", "env": "prod", "instance": format!("node-{i}") },
                "annotations": { "description": "x".repeat(200) },
                "fingerprint": format!("big-{i}"),
            })
        })
        .collect();
    let body = json!({ "version": "4", "alerts": alerts }).to_string();
    assert!(body.len() > 64 * 1024 && body.len() < 1024 * 1024);
    let answer = w.alertmanager(&body).await;
    assert_eq!(answer["alerts"], 400, "{answer}");
    let huge = format!(
        "{{\"version\":\"4\",\"alerts\":[],\"pad\":\"{}\"}}",
        "x".repeat(1024 * 1024)
    );
    let r = w.send("alertmanager", Some(TOKEN), &huge).await;
    assert_eq!(r.status(), 413);

    let answer = w
        .app
        .slack("T0ACME", "U0ALICE", "audit kind=alert last=5")
        .await;
    assert!(
        answer.text().contains("alert.received"),
        "{}",
        answer.text()
    );
}

#[tokio::test]
async fn an_action_click_sent_twice_runs_once() {
    let w = world().await;
    w.alertmanager(&one("fp-twice", "firing", "web", "staging"))
        .await;
    let body = common::click_body(
        "T0ACME",
        "U0ALICE",
        "warden.alert:AL-1:0",
        "AL-1:0",
        &w.response_url,
    );
    let at = now();
    for _ in 0..2 {
        let r = w
            .app
            .post_slack("/slack/interactions", &body, SLACK_SECRET, at)
            .await;
        assert_eq!(r.status(), 200);
    }
    let store = &w.app.server.state.service.store;
    assert!(store.job(1).await.unwrap().is_some());
    assert!(
        store.job(2).await.unwrap().is_none(),
        "the replay ran nothing"
    );
    let actions = w
        .app
        .audit()
        .await
        .into_iter()
        .filter(|e| e.kind == "alert.action")
        .count();
    assert_eq!(actions, 1);
    assert!(w.app.metrics().await.contains("outcome=\"replay\""));
}
