//! Discord ingress end to end: PING, signatures, and application commands that reach the same
//! guard as Slack's.

mod common;

use common::*;
use serde_json::json;

const GUILD: &str = "900000000000000001";
const ALICE: &str = "100000000000000001";
const BOB: &str = "100000000000000002";

#[tokio::test]
async fn ping_is_answered_with_type_1() {
    let app = TestApp::spawn().await;
    let r = app
        .post_discord(
            &json!({ "type": 1, "id": "1", "application_id": "2", "token": "t", "version": 1 }),
            now(),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        json!({ "type": 1 })
    );
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_signatures_get_401() {
    let app = TestApp::spawn().await;
    let body = json!({ "type": 1, "id": "1" }).to_string();
    let ts = now().to_string();
    let good = discord_signature(&ts, body.as_bytes());
    let mut flipped = good.clone().into_bytes();
    flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
    let cases = [
        (
            ts.clone(),
            String::from_utf8(flipped).unwrap(),
            body.clone(),
        ),
        (ts.clone(), good.clone(), body.replace("\"1\"", "\"2\"")),
        (
            (now() - 400).to_string(),
            discord_signature(&(now() - 400).to_string(), body.as_bytes()),
            body.clone(),
        ),
        (ts.clone(), "zz".to_string(), body.clone()),
    ];
    for (ts, sig, body) in cases {
        let r = app
            .http
            .post(format!("{}/discord/interactions", app.base))
            .header("x-signature-timestamp", ts)
            .header("x-signature-ed25519", sig)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.text().await.unwrap(), "");
    }
    let unsigned = app
        .http
        .post(format!("{}/discord/interactions", app.base))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("warden_requests_rejected_total{reason=\"bad_signature\"} 2"),
        "{metrics}"
    );
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn discord_and_slack_reach_the_same_invocation() {
    let app = TestApp::spawn().await;
    let options = json!([
        { "name": "service", "type": 3, "value": "api" },
        { "name": "version", "type": 3, "value": "v1.2.3" },
        { "name": "env", "type": 3, "value": "staging" },
        { "name": "reason", "type": 3, "value": "weekly release" }
    ]);
    let r = app
        .post_discord(
            &discord_command("800000000000000001", GUILD, ALICE, "deploy", options),
            now(),
        )
        .await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["type"], 4);
    assert_eq!(body["data"]["flags"], 64);
    let discord_text = body["data"]["content"].as_str().unwrap().to_string();
    assert!(discord_text.contains("is high risk"), "{discord_text}");

    let slack = app
        .slack(
            "T0ACME",
            "U0ALICE",
            "deploy api v1.2.3 env=staging --reason \"weekly release\"",
        )
        .await;
    assert_eq!(slack.text(), discord_text);

    let events: Vec<_> = app
        .audit()
        .await
        .into_iter()
        .filter(|e| e.kind == "command.invoked")
        .collect();
    assert_eq!(events.len(), 2);
    let details: Vec<serde_json::Value> = events
        .iter()
        .map(|e| {
            let mut d: serde_json::Value = serde_json::from_str(&e.details).unwrap();
            d.as_object_mut().unwrap().remove("platform");
            d
        })
        .collect();
    assert_eq!(
        details[0], details[1],
        "both platforms record the same invocation"
    );
    assert_eq!(events[0].actor, "alice");
    assert_eq!(events[1].actor, "alice");
    assert_eq!(events[0].channel, "discord:700000000000000001");
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn refusals_are_ephemeral_and_name_the_step() {
    let app = TestApp::spawn().await;
    let options = json!([
        { "name": "service", "type": 3, "value": "api" },
        { "name": "version", "type": 3, "value": "v1.2.3" },
        { "name": "env", "type": 3, "value": "prod" }
    ]);
    let r = app
        .post_discord(
            &discord_command("800000000000000002", GUILD, BOB, "deploy", options),
            now(),
        )
        .await;
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["data"]["flags"], 64);
    assert!(
        body["data"]["content"]
            .as_str()
            .unwrap()
            .contains("operator"),
        "{body}"
    );

    let bad = json!([{ "name": "service", "type": 3, "value": "db" }, { "name": "version", "type": 3, "value": "v1" }]);
    let r = app
        .post_discord(
            &discord_command("800000000000000003", GUILD, ALICE, "deploy", bad),
            now(),
        )
        .await;
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["data"]["content"]
            .as_str()
            .unwrap()
            .contains("service"),
        "{body}"
    );

    let r = app
        .post_discord(
            &discord_command("800000000000000004", "999", ALICE, "help", json!([])),
            now(),
        )
        .await;
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["data"]["content"]
            .as_str()
            .unwrap()
            .contains("not connected"),
        "{body}"
    );

    let kinds: Vec<(String, String)> = app
        .audit()
        .await
        .into_iter()
        .map(|e| (e.tenant, e.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("acme".to_string(), "command.refused".to_string()),
            ("acme".to_string(), "command.refused".to_string()),
            ("_system".to_string(), "command.refused".to_string()),
        ]
    );
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_replayed_interaction_id_is_not_acted_on_twice() {
    let app = TestApp::spawn().await;
    let interaction = discord_command("800000000000000005", GUILD, BOB, "whoami", json!([]));
    let first = app.post_discord(&interaction, now()).await;
    assert_eq!(first.status(), 200);
    // Same interaction id, signed again later: still a replay.
    let second = app.post_discord(&interaction, now()).await;
    let body: serde_json::Value = second.json().await.unwrap();
    assert!(
        body["data"]["content"]
            .as_str()
            .unwrap()
            .contains("already received"),
        "{body}"
    );
    assert_eq!(app.audit().await.len(), 1);
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn components_are_verified_and_answered_not_yet_supported() {
    let app = TestApp::spawn().await;
    // A button warden did not render (another app's custom id).
    let click = discord_click(
        "800000000000000006",
        GUILD,
        ALICE,
        "alice",
        "820000000000000006",
        "approve:A-1",
    );
    let r = app.post_discord(&click, now()).await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["data"]["content"]
            .as_str()
            .unwrap()
            .contains("not supported"),
        "{body}"
    );
    assert!(app.audit().await.is_empty());
    app.server.shutdown().await.unwrap();
}

/// Discord's own example shapes, signed and posted: PING gets exactly `{"type":1}` and the
/// command becomes an invocation that reaches the guard (the guild is not connected).
#[tokio::test]
async fn documented_payloads_are_answered() {
    let app = TestApp::spawn().await;
    let ping: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/discord/ping.json")).unwrap();
    let r = app.post_discord(&ping, now()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), r#"{"type":1}"#);
    let command: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/discord/application_command.json")).unwrap();
    let r = app.post_discord(&command, now()).await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["type"], 4);
    assert_eq!(body["data"]["flags"], 64);
    assert!(
        body["data"]["content"]
            .as_str()
            .unwrap()
            .contains("not connected"),
        "{body}"
    );
    app.server.shutdown().await.unwrap();
}

/// A signed body warden cannot read as an interaction is a 400 that names the problem, and
/// nothing is recorded.
#[tokio::test]
async fn unreadable_interactions_are_400_naming_the_problem() {
    let app = TestApp::spawn().await;
    let mut autocomplete = discord_command("800000000000000007", GUILD, ALICE, "deploy", json!([]));
    autocomplete["type"] = 4.into();
    let mut no_limit = discord_command("800000000000000008", GUILD, ALICE, "whoami", json!([]));
    no_limit
        .as_object_mut()
        .unwrap()
        .remove("attachment_size_limit");
    for (body, named) in [
        (json!({ "type": 42, "id": "1" }), "Unknown interaction type"),
        (autocomplete, "autocomplete"),
        (no_limit, "attachment_size_limit"),
        (json!([1, 2]), "not a Discord interaction"),
    ] {
        let r = app.post_discord(&body, now()).await;
        assert_eq!(r.status(), 400, "{named}");
        let text = r.text().await.unwrap();
        assert!(text.contains(named), "{named}: {text}");
    }
    assert!(app.audit().await.is_empty());
    app.server.shutdown().await.unwrap();
}
