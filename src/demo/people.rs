//! The demo's people and what they do in #deploys: slash commands and button clicks, sent to
//! warden exactly as Slack sends them (form-encoded, signed with the demo's secret, each with
//! its own trigger id), and warden's answers as the person sees them.

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use serde_json::{json, Value};

use super::transcript;
use crate::chat::verify::slack_signature;

/// The demo's Slack workspace.
pub const TEAM: &str = "T0DEMO";
/// The channel everyone types in.
pub const CHANNEL: &str = "C0DEPLOYS";

/// A person of the demo: their name in `warden.toml` and their Slack user id.
#[derive(Debug, Clone, Copy)]
pub struct Person {
    pub name: &'static str,
    pub user: &'static str,
}

pub const ANA: Person = Person {
    name: "ana",
    user: "U0ANA",
};
pub const BEN: Person = Person {
    name: "ben",
    user: "U0BEN",
};
pub const CLEO: Person = Person {
    name: "cleo",
    user: "U0CLEO",
};
pub const DAN: Person = Person {
    name: "dan",
    user: "U0DAN",
};

/// Sends what people type and click to warden, signed.
pub struct Chat {
    /// warden's base URL.
    pub base: String,
    /// The demo's Slack signing secret (random, for this run only).
    pub secret: String,
    slack_api: String,
    http: reqwest::Client,
    next: AtomicU64,
}

/// The text of an answer or a message body.
pub fn text_of(body: &Value) -> String {
    transcript::unescape(body["text"].as_str().unwrap_or_default())
}

impl Chat {
    pub fn new(base: String, secret: String, slack_api: String) -> anyhow::Result<Chat> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        Ok(Chat {
            base,
            secret,
            slack_api,
            http,
            next: AtomicU64::new(1),
        })
    }

    /// A slash command body as Slack sends it; its `response_url` answers to `who`.
    pub fn slash_body(&self, who: Person, text: &str) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let trigger = format!("{n}.4744562912.demo{n:04}");
        let response_url = format!("{}response?to={}", self.slack_api, who.name);
        let fields = [
            ("token", "unused-verification-token"),
            ("team_id", TEAM),
            ("team_domain", "demo"),
            ("channel_id", CHANNEL),
            ("channel_name", "deploys"),
            ("user_id", who.user),
            ("user_name", who.name),
            ("command", "/ops"),
            ("text", text),
            ("api_app_id", "A0WARDEN"),
            ("response_url", response_url.as_str()),
            ("trigger_id", trigger.as_str()),
        ];
        serde_urlencoded::to_string(fields).unwrap_or_default()
    }

    /// The `X-Slack-Signature` of `body` at `timestamp`.
    pub fn sign(&self, body: &str, timestamp: i64) -> String {
        slack_signature(&self.secret, &timestamp.to_string(), body.as_bytes())
    }

    async fn post(&self, path: &str, body: String) -> anyhow::Result<Value> {
        let ts = chrono::Utc::now().timestamp();
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", ts.to_string())
            .header("x-slack-signature", self.sign(&body, ts))
            .body(body)
            .send()
            .await
            .with_context(|| format!("sending a signed request to {path}"))?;
        let status = response.status();
        anyhow::ensure!(status.is_success(), "warden answered {path} with {status}");
        Ok(response.json().await.unwrap_or(Value::Null))
    }

    /// Alertmanager sends one alert (`status` firing or resolved) to warden, with its bearer
    /// token, as its `webhook_configs` would; prints it and warden's answer.
    pub async fn alert(&self, token: &str, status: &str) -> anyhow::Result<Value> {
        let body = json!({
            "version": "4",
            "status": status,
            "receiver": "warden",
            "alerts": [{
                "status": status,
                "labels": { "alertname": "HighErrorRate", "team": "web", "service": "web", "env": "staging", "severity": "critical" },
                "annotations": {
                    "summary": "5xx above 5% on web",
                    "runbook_url": "https://runbooks.example/web-errors"
                },
                "startsAt": (chrono::Utc::now() - chrono::Duration::minutes(3)).to_rfc3339(),
                "endsAt": if status == "resolved" { chrono::Utc::now().to_rfc3339() } else { "0001-01-01T00:00:00Z".to_string() },
                "generatorURL": "http://prometheus.example:9090/graph?g0.expr=http_errors",
                "fingerprint": "d1e2a3d4b5e6e7f8",
            }],
        });
        println!("alertmanager> POST /alerts/alertmanager: HighErrorRate {status}");
        let response = self
            .http
            .post(format!("{}/alerts/alertmanager", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .context("sending an alert")?;
        let status = response.status();
        anyhow::ensure!(
            status.is_success(),
            "warden answered the alert with {status}"
        );
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        println!("warden (to alertmanager): 200 {answer}");
        Ok(answer)
    }

    /// `who` types `/ops TEXT` in #deploys; prints it and warden's answer, and returns it.
    pub async fn type_command(&self, who: Person, text: &str) -> anyhow::Result<Value> {
        println!("{}> /ops {text}", who.name);
        let answer = self
            .post("/slack/commands", self.slash_body(who, text))
            .await?;
        print_answer(who, &answer);
        Ok(answer)
    }

    /// `who` clicks the button labelled `label` of `message` (a body warden posted); prints
    /// the click and warden's answer, and returns it.
    pub async fn click(&self, who: Person, message: &Value, label: &str) -> anyhow::Result<Value> {
        let (label, action_id, value) = transcript::buttons(message)
            .into_iter()
            .find(|(l, _, _)| l == label)
            .with_context(|| format!("no [{label}] button in {}", text_of(message)))?;
        println!("{}> clicks [{label}] on {value}", who.name);
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let payload = json!({
            "type": "block_actions",
            "team": { "id": TEAM, "domain": "demo" },
            "user": { "id": who.user, "username": who.name, "team_id": TEAM },
            "api_app_id": "A0WARDEN",
            "token": "unused-verification-token",
            "container": {
                "type": "message",
                "message_ts": message["ts"].as_str().unwrap_or("1700000000.000001"),
                "channel_id": message["channel"].as_str().unwrap_or(CHANNEL),
                "is_ephemeral": false
            },
            "trigger_id": format!("{n}.4744562912.click{n:04}"),
            "channel": { "id": message["channel"].as_str().unwrap_or(CHANNEL) },
            // The answer also comes back in the HTTP response, which is what is printed.
            "response_url": format!("{}response", self.slack_api),
            "actions": [{
                "action_id": action_id,
                "block_id": "b1",
                "text": { "type": "plain_text", "text": label },
                "value": value,
                "type": "button",
                "action_ts": format!("1700000001.{n:06}")
            }]
        });
        let body = serde_urlencoded::to_string([("payload", payload.to_string())])?;
        let answer = self.post("/slack/interactions", body).await?;
        print_answer(who, &answer);
        Ok(answer)
    }
}

fn print_answer(who: Person, answer: &Value) {
    if text_of(answer).is_empty() {
        return;
    }
    let shown = if answer["response_type"] == "in_channel" {
        "#deploys  warden".to_string()
    } else {
        format!("warden (only {})", who.name)
    };
    println!("{}", transcript::message(&shown, answer));
}
