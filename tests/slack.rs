//! Slack ingress end to end: signed requests against the real app, asserting on the reply the
//! person sees and on the audit rows.

mod common;

use common::*;

#[tokio::test]
async fn help_lists_only_what_the_caller_may_run() {
    let app = TestApp::spawn().await;
    let bob = app.slack("T0ACME", "U0BOB", "help").await;
    assert_eq!(bob.status, 200);
    assert!(bob.ephemeral());
    assert!(bob.text().contains("/ops status"), "{}", bob.text());
    assert!(!bob.text().contains("/ops deploy"), "{}", bob.text());
    assert!(bob.text().contains("more need a role"), "{}", bob.text());

    let alice = app.slack("T0ACME", "U0ALICE", "help").await;
    assert!(alice.text().contains("/ops deploy"), "{}", alice.text());
    assert!(alice.text().contains("/ops status"), "{}", alice.text());

    let usage = app.slack("T0ACME", "U0ALICE", "help deploy").await;
    assert!(usage.text().contains("/ops deploy"), "{}", usage.text());
    assert!(usage.text().contains("version"), "{}", usage.text());

    let events = app.audit().await;
    assert_eq!(events.len(), 3);
    assert!(events
        .iter()
        .all(|e| e.kind == "command.invoked" && e.target == "help"));
    assert_eq!(events[0].actor, "bob");
    assert_eq!(events[0].tenant, "acme");
    assert_eq!(events[0].channel, "slack:C0DEPLOYS");
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn empty_text_is_help_and_whoami_shows_roles() {
    let app = TestApp::spawn().await;
    let empty = app.slack("T0ACME", "U0BOB", "").await;
    assert!(
        empty.text().starts_with("Commands you may run"),
        "{}",
        empty.text()
    );

    let who = app.slack("T0ACME", "U0ALICE", "whoami").await;
    assert!(who.ephemeral());
    let text = who.text();
    assert!(text.contains("alice"), "{text}");
    assert!(text.contains("`acme`"), "{text}");
    assert!(text.contains("operator in staging, prod"), "{text}");
    assert!(text.contains("sre"), "{text}");

    // Carol's admin binding expired in 2020: whoami must not show it.
    let carol = app.slack("T0ACME", "U0CAROL", "whoami").await;
    assert!(!carol.text().contains("admin"), "{}", carol.text());
    assert!(
        carol.text().contains("operator in staging"),
        "{}",
        carol.text()
    );

    // An identity linked to nobody is still answered, with no roles.
    let stranger = app.slack("T0ACME", "U0NOBODY", "whoami").await;
    assert!(
        stranger.text().contains("not linked"),
        "{}",
        stranger.text()
    );
    assert!(stranger.text().contains("none"), "{}", stranger.text());
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn unknown_command_is_refused_with_a_suggestion() {
    let app = TestApp::spawn().await;
    let answer = app.slack("T0ACME", "U0ALICE", "deplyo api v1.2.3").await;
    assert_eq!(answer.status, 200);
    assert!(answer.ephemeral());
    assert!(
        answer.text().contains("no command `deplyo`"),
        "{}",
        answer.text()
    );
    assert!(
        answer.text().contains("Did you mean `deploy`"),
        "{}",
        answer.text()
    );
    let events = app.audit().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "command.refused");
    assert!(events[0].details.contains("\"step\":\"command\""));
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_argument_names_the_argument_and_shows_usage() {
    let app = TestApp::spawn().await;
    let answer = app
        .slack("T0ACME", "U0ALICE", "deploy api 1.2 env=staging")
        .await;
    assert!(answer.ephemeral());
    assert!(answer.text().contains("version"), "{}", answer.text());
    assert!(
        answer.text().contains("Usage: `/ops deploy"),
        "{}",
        answer.text()
    );

    let injected = app
        .slack("T0ACME", "U0ALICE", "deploy \"api; touch /tmp/x\" v1.2.3")
        .await;
    assert!(injected.text().contains("service"), "{}", injected.text());

    let unterminated = app.slack("T0ACME", "U0ALICE", "deploy api \"v1.2.3").await;
    assert!(
        unterminated.text().contains("could not read the arguments"),
        "{}",
        unterminated.text()
    );

    let events = app.audit().await;
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e.kind == "command.refused"));
    assert!(events
        .iter()
        .all(|e| e.details.contains("\"step\":\"args\"")));
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn missing_role_names_the_role_and_environment() {
    let app = TestApp::spawn().await;
    let bob = app
        .slack("T0ACME", "U0BOB", "deploy api v1.2.3 env=prod")
        .await;
    assert!(bob.ephemeral());
    assert!(
        bob.text().starts_with("Refused at the `authorize` step."),
        "{}",
        bob.text()
    );
    assert!(bob.text().contains("operator"), "{}", bob.text());
    assert!(bob.text().contains("prod"), "{}", bob.text());

    // Carol is operator in staging only: prod is refused, staging passes.
    let carol_prod = app
        .slack("T0ACME", "U0CAROL", "deploy api v1.2.3 env=prod")
        .await;
    assert!(carol_prod.text().contains("prod"), "{}", carol_prod.text());
    let carol_staging = app
        .slack("T0ACME", "U0CAROL", "deploy api v1.2.3 env=staging")
        .await;
    assert!(
        carol_staging.text().contains("is high risk"),
        "{}",
        carol_staging.text()
    );

    let events = app.audit().await;
    assert_eq!(events[0].kind, "command.refused");
    assert!(events[0].details.contains("\"step\":\"authorize\""));
    assert!(events[0].details.contains("\"required\":\"operator\""));
    assert_eq!(events[2].kind, "command.invoked");
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_high_risk_command_asks_its_requester_to_confirm_the_exact_plan() {
    let app = TestApp::spawn().await;
    let answer = app
        .slack(
            "T0ACME",
            "U0ALICE",
            "deploy api v1.2.3 env=prod --reason \"hotfix for INC-7\"",
        )
        .await;
    let text = answer.text();
    assert!(answer.ephemeral());
    assert!(text.contains("is high risk"), "{text}");
    assert!(
        text.contains("POST https://deployer.internal/deploys"),
        "{text}"
    );
    assert!(text.contains("v1.2.3"), "{text}");
    let buttons = &answer.body["blocks"][1]["elements"];
    assert_eq!(buttons[0]["text"]["text"], "Confirm");
    assert_eq!(buttons[1]["text"]["text"], "Cancel");
    assert_eq!(buttons[0]["value"], "C-1");
    let events = app.audit().await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["command.invoked", "confirmation.requested"]);
    let details: serde_json::Value = serde_json::from_str(&events[0].details).unwrap();
    assert_eq!(details["args"]["version"], "v1.2.3");
    assert_eq!(details["environment"], "prod");
    assert_eq!(details["reason"], "hotfix for INC-7");
    assert_eq!(details["needs_approval"], true);
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn secret_arguments_never_reach_audit_or_chat() {
    let app = TestApp::spawn().await;
    let ok = app
        .slack("T0ACME", "U0ALICE", "rotate-key api tok_abcdefgh")
        .await;
    assert!(ok.text().contains("token=[redacted]"), "{}", ok.text());
    assert!(!ok.text().contains("tok_abcdefgh"));
    let bad = app
        .slack("T0ACME", "U0ALICE", "rotate-key api tok_SECRETVALUE")
        .await;
    assert!(bad.text().contains("token"), "{}", bad.text());
    assert!(!bad.text().contains("SECRETVALUE"), "{}", bad.text());
    for event in app.audit().await {
        assert!(!event.details.contains("tok_abcdefgh"), "{}", event.details);
        assert!(!event.details.contains("SECRETVALUE"), "{}", event.details);
    }
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn rate_limit_refuses_past_the_limit() {
    let app = TestApp::spawn().await;
    for _ in 0..2 {
        let ok = app
            .slack("T0ACME", "U0ALICE", "rotate-key web tok_abcdefgh")
            .await;
        assert!(ok.text().contains("queued"), "{}", ok.text());
    }
    let third = app
        .slack("T0ACME", "U0ALICE", "rotate-key web tok_abcdefgh")
        .await;
    assert!(
        third
            .text()
            .starts_with("Refused at the `rate_limit` step."),
        "{}",
        third.text()
    );
    assert!(third.text().contains("rate limit"), "{}", third.text());
    // The limit is per caller: carol still has room.
    let carol = app
        .slack("T0ACME", "U0CAROL", "rotate-key web tok_abcdefgh")
        .await;
    assert!(carol.text().contains("queued"), "{}", carol.text());
    let kinds = app.command_kinds().await;
    assert_eq!(
        kinds,
        [
            "command.invoked",
            "command.invoked",
            "command.refused",
            "command.invoked"
        ]
    );
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn unknown_workspace_is_refused_and_audited_in_the_system_chain() {
    let app = TestApp::spawn().await;
    let answer = app.slack("T0EVIL", "U0ALICE", "deploy api v1.2.3").await;
    assert_eq!(answer.status, 200);
    assert!(answer.ephemeral());
    assert!(
        answer.text().contains("not connected to warden"),
        "{}",
        answer.text()
    );
    let events = app.audit().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].tenant, "_system");
    assert_eq!(events[0].kind, "command.refused");
    assert!(events[0].details.contains("T0EVIL"));
    // A tenant's people mean nothing in another tenant: carol has no binding in globex.
    let globex = app.slack("T0GLOBEX", "U0CAROL", "whoami").await;
    assert!(globex.text().contains("none"), "{}", globex.text());
    assert!(app
        .metrics()
        .await
        .contains("warden_guard_refusals_total{step=\"tenant\"} 1"));
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_replayed_request_is_answered_but_not_acted_on() {
    let app = TestApp::spawn().await;
    let body = slash_body("T0ACME", "U0ALICE", "/ops", "deploy api v1.2.3");
    let ts = now();
    let first = app
        .post_slack("/slack/commands", &body, SLACK_SECRET, ts)
        .await;
    assert_eq!(first.status(), 200);
    let second = app
        .post_slack("/slack/commands", &body, SLACK_SECRET, ts)
        .await;
    assert_eq!(second.status(), 200);
    let text = second.json::<serde_json::Value>().await.unwrap()["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.contains("already received"), "{text}");
    assert_eq!(app.command_kinds().await, ["command.invoked"]);
    assert_eq!(
        app.audit().await.len(),
        2,
        "one invocation, one confirmation request"
    );
    assert!(app
        .metrics()
        .await
        .contains("warden_requests_total{route=\"/slack/commands\",outcome=\"replay\"} 1"));
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn forged_stale_and_tampered_requests_get_401_and_change_nothing() {
    let app = TestApp::spawn().await;
    let body = slash_body("T0ACME", "U0ALICE", "/ops", "whoami");

    let wrong = app
        .post_slack("/slack/commands", &body, "not-the-secret", now())
        .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(wrong.text().await.unwrap(), "");

    let stale = app
        .post_slack("/slack/commands", &body, SLACK_SECRET, now() - 301)
        .await;
    assert_eq!(stale.status(), 401);
    let future = app
        .post_slack("/slack/commands", &body, SLACK_SECRET, now() + 400)
        .await;
    assert_eq!(future.status(), 401);

    // A valid signature over a different body.
    let ts = now().to_string();
    let sig = warden::chat::verify::slack_signature(SLACK_SECRET, &ts, body.as_bytes());
    let tampered = body.replace("whoami", "deploy");
    let response = app
        .http
        .post(format!("{}/slack/commands", app.base))
        .header("x-slack-request-timestamp", &ts)
        .header("x-slack-signature", sig)
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    let missing = app
        .http
        .post(format!("{}/slack/commands", app.base))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);

    for route in ["/slack/interactions", "/slack/events"] {
        let r = app.post_slack(route, &body, "forged", now()).await;
        assert_eq!(r.status(), 401, "{route}");
    }

    assert!(app.audit().await.is_empty());
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("warden_requests_rejected_total{reason=\"bad_signature\"} 4"),
        "{metrics}"
    );
    assert!(
        metrics.contains("warden_requests_rejected_total{reason=\"stale_timestamp\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("warden_requests_rejected_total{reason=\"missing_headers\"} 1"),
        "{metrics}"
    );
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn both_secrets_work_during_a_rotation() {
    let app = TestApp::spawn().await;
    let body = slash_body("T0ACME", "U0ALICE", "/ops", "whoami");
    let new = app
        .post_slack("/slack/commands", &body, SLACK_SECRET, now())
        .await;
    assert_eq!(new.status(), 200);
    let body = slash_body("T0ACME", "U0ALICE", "/ops", "help");
    let old = app
        .post_slack("/slack/commands", &body, SLACK_OLD_SECRET, now())
        .await;
    assert_eq!(old.status(), 200);
    assert_eq!(app.audit().await.len(), 2);
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn oversized_body_is_413_before_verification() {
    let app = TestApp::spawn().await;
    let body = format!(
        "{}&pad={}",
        slash_body("T0ACME", "U0ALICE", "/ops", "help"),
        "x".repeat(70 * 1024)
    );
    let response = app
        .post_slack("/slack/commands", &body, SLACK_SECRET, now())
        .await;
    assert_eq!(response.status(), 413);
    assert!(app.audit().await.is_empty());
    let metrics = app.metrics().await;
    assert!(metrics.contains("outcome=\"too_large\""), "{metrics}");
    assert!(
        !metrics.contains("warden_requests_rejected_total{"),
        "{metrics}"
    );
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn dedicated_slash_command_reaches_the_same_command() {
    let app = TestApp::spawn().await;
    let body = slash_body("T0ACME", "U0ALICE", "/deploy", "api v1.2.3");
    let response = app
        .post_slack("/slack/commands", &body, SLACK_SECRET, now())
        .await;
    let json: serde_json::Value = response.json().await.unwrap();
    assert!(
        json["text"].as_str().unwrap().contains("is high risk"),
        "{json}"
    );
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn events_url_verification_and_app_mention_answered_once() {
    let fake = FakeSlack::default();
    let api = fake.start().await;
    let app = TestApp::spawn_with(Options {
        env: vec![("SLACK_API_URL".into(), api)],
        ..Options::default()
    })
    .await;
    let challenge = r#"{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let r = app
        .post_slack("/slack/events", challenge, SLACK_SECRET, now())
        .await;
    assert_eq!(r.status(), 200);
    let json: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        json["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );

    let mention = r#"{"type":"event_callback","team_id":"T0ACME","api_app_id":"A0WARDEN","event_id":"Ev0MENTION1","event_time":1,"event":{"type":"app_mention","user":"U0BOB","channel":"C0OPS","text":"<@U0WARDEN> hi","ts":"1.1"}}"#;
    // Slack retries the same event with a new signature and X-Slack-Retry-Num.
    for _ in 0..3 {
        let r = app
            .post_slack("/slack/events", mention, SLACK_SECRET, now())
            .await;
        assert_eq!(r.status(), 200);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while fake.calls().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let calls = fake.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let (method, body, auth) = &calls[0];
    assert_eq!(method, "chat.postEphemeral");
    assert_eq!(body["channel"], "C0OPS");
    assert_eq!(body["user"], "U0BOB");
    assert!(body["text"].as_str().unwrap().contains("/ops status"));
    assert_eq!(
        auth.as_deref(),
        Some(format!("Bearer {SLACK_BOT_TOKEN}").as_str())
    );
    assert_eq!(app.audit().await.len(), 1);
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn interactions_are_verified_and_answered_not_yet_supported() {
    let app = TestApp::spawn().await;
    let body = serde_urlencoded::to_string([(
        "payload",
        r#"{"type":"block_actions","team":{"id":"T0ACME"},"user":{"id":"U0ALICE"},"api_app_id":"A0WARDEN","container":{"type":"message","message_ts":"1.1","channel_id":"C0OPS"},"trigger_id":"1.2","actions":[]}"#,
    )])
    .unwrap();
    let r = app
        .post_slack("/slack/interactions", &body, SLACK_SECRET, now())
        .await;
    assert_eq!(r.status(), 200);
    let json: serde_json::Value = r.json().await.unwrap();
    assert!(
        json["text"].as_str().unwrap().contains("not supported"),
        "{json}"
    );
    assert!(app.audit().await.is_empty());
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn probes_and_metrics() {
    let app = TestApp::spawn().await;
    for path in ["/healthz", "/readyz"] {
        let r = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(r.headers().contains_key("x-request-id"));
    }
    app.slack("T0ACME", "U0BOB", "help").await;
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("warden_requests_total{route=\"/slack/commands\",outcome=\"ok\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("warden_request_duration_seconds_bucket{le="),
        "{metrics}"
    );
    // The pool: at least one connection open, never more than the ceiling (8 for SQLite,
    // WARDEN_DATABASE_MAX_CONNECTIONS, 10 by default, for PostgreSQL).
    let gauge = |name: &str| -> i64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {metrics}"))
    };
    let max = gauge("warden_database_max_connections ");
    assert!(max == 8 || max == 10, "{max}");
    let idle = gauge("warden_database_connections{state=\"idle\"} ");
    let in_use = gauge("warden_database_connections{state=\"in_use\"} ");
    assert!(idle + in_use >= 1 && idle + in_use <= max, "{metrics}");
    // SQLite's log: its size under the bound (64 MiB by default), and the checkpointer's
    // counters, listed from the start so that an alert on them has a series to watch.
    // PostgreSQL has neither.
    if common::db::on_postgres() {
        assert!(!metrics.contains("warden_sqlite_"), "{metrics}");
    } else {
        assert_eq!(gauge("warden_sqlite_wal_limit_bytes "), 64 * 1024 * 1024);
        let wal = gauge("warden_sqlite_wal_bytes ");
        assert!((0..32 * 1024 * 1024).contains(&wal), "{metrics}");
        for series in [
            "warden_sqlite_checkpoints_total{kind=\"bound\",result=\"partial\"} ",
            "warden_sqlite_checkpoints_total{kind=\"passive\",result=\"complete\"} ",
            "warden_sqlite_writes_delayed_total ",
        ] {
            assert!(gauge(series) >= 0, "{series}");
        }
    }
    let missing = app
        .http
        .get(format!("{}/nope", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    // With the database gone, readiness fails and a chat request gets a clear error.
    app.server.state.service.store.close().await;
    let r = app
        .http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let answer = app.slack("T0ACME", "U0BOB", "help").await;
    assert_eq!(answer.status, 200);
    assert!(answer.ephemeral());
    assert!(
        answer.text().contains("database is unavailable"),
        "{}",
        answer.text()
    );
}

#[tokio::test]
async fn concurrent_copies_of_one_request_act_once() {
    let app = TestApp::spawn().await;
    let body = slash_body("T0ACME", "U0ALICE", "/ops", "deploy api v1.2.3");
    let ts = now();
    let sends = (0..20).map(|_| app.post_slack("/slack/commands", &body, SLACK_SECRET, ts));
    let responses = futures_util::future::join_all(sends).await;
    let mut texts = Vec::new();
    for r in responses {
        assert_eq!(r.status(), 200);
        texts.push(
            r.json::<serde_json::Value>().await.unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(
        texts.iter().filter(|t| t.contains("is high risk")).count(),
        1,
        "{texts:?}"
    );
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("already received"))
            .count(),
        19
    );
    assert_eq!(app.command_kinds().await, ["command.invoked"]);
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_stalled_upload_times_out_and_changes_nothing() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn().await;
    let mut stream = tokio::net::TcpStream::connect(app.server.addr)
        .await
        .unwrap();
    stream
        .write_all(b"POST /slack/commands HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\nteam_id=T0ACME")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut response = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stream.read_to_end(&mut response),
    )
    .await;
    assert!(read.is_ok(), "the server never gave up on the stalled body");
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert!(app.audit().await.is_empty());
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn audit_search_from_chat_is_tenant_scoped_and_needs_a_role() {
    let app = TestApp::spawn().await;
    app.slack("T0ACME", "U0ALICE", "deploy api v1.2.3 env=prod")
        .await;
    app.slack("T0ACME", "U0BOB", "deploy api v1.2.3 env=prod")
        .await;
    app.slack("T0GLOBEX", "U0CAROL", "whoami").await;

    let refused = app
        .slack("T0ACME", "U0BOB", "audit kind=command.refused")
        .await;
    let text = refused.text();
    assert!(text.contains("command.refused"), "{text}");
    assert!(text.contains("bob"), "{text}");
    assert!(!text.contains("alice"), "only refusals: {text}");

    let deploys = app.slack("T0ACME", "U0BOB", "audit deploy last=10").await;
    assert!(deploys.text().contains("alice"), "{}", deploys.text());
    assert!(!deploys.text().contains("whoami"), "{}", deploys.text());

    // Carol's search in globex never shows acme's events.
    let globex = app.slack("T0GLOBEX", "U0CAROL", "audit").await;
    assert!(!globex.text().contains("deploy"), "{}", globex.text());

    // No role in the tenant: refused.
    let stranger = app.slack("T0ACME", "U0NOBODY", "audit").await;
    assert!(
        stranger
            .text()
            .starts_with("Refused at the `authorize` step."),
        "{}",
        stranger.text()
    );
    let bad = app.slack("T0ACME", "U0BOB", "audit since=yesterday").await;
    assert!(
        bad.text().starts_with("Refused at the `args` step."),
        "{}",
        bad.text()
    );
    app.server.shutdown().await.unwrap();
}
