//! A scriptable fake of the Slack Web API (and `response_url`s) and of Discord's REST API on
//! 127.0.0.1. Every call is recorded with its arrival time and body; each route answers from
//! its queue of scripted answers, then with success.
//!
//! Routes: `chat.postMessage:CHANNEL`, `chat.update:CHANNEL`, `respond`, `permalink`
//! (Slack); `create:CHANNEL`, `edit:CHANNEL`, `followup`, `thread:CHANNEL` (a thread started
//! from a message), `unarchive:THREAD` (Discord).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde_json::{json, Value};
use warden::chat::discord::DiscordClient;
use warden::chat::slack::SlackClient;

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Answer {
    /// An HTTP status, headers and a body.
    Http(u16, Vec<(&'static str, String)>, String),
    /// No answer for this long, then a 500 (the client times out first).
    Hang(Duration),
}

impl Answer {
    /// A Slack Web API error answer (HTTP 200, `ok: false`).
    pub fn slack_error(code: &str) -> Answer {
        Answer::Http(200, vec![], json!({"ok": false, "error": code}).to_string())
    }

    /// A bare status.
    pub fn status(code: u16) -> Answer {
        Answer::Http(code, vec![], "{}".into())
    }
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Call {
    /// The route, e.g. `chat.postMessage:C1`.
    pub route: String,
    /// The request path.
    pub path: String,
    /// The JSON body.
    pub body: Value,
    /// When it arrived.
    pub at: Instant,
    /// Whether it was answered with success (the message was accepted).
    pub accepted: bool,
}

impl Call {
    /// The message text (Slack `text`, Discord `content`).
    pub fn text(&self) -> String {
        self.body["text"]
            .as_str()
            .or(self.body["content"].as_str())
            .unwrap_or_default()
            .to_string()
    }
}

/// The fake servers.
#[derive(Clone)]
pub struct Fake {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    calls: Arc<Mutex<Vec<Call>>>,
    script: Arc<Mutex<HashMap<String, VecDeque<Answer>>>>,
    ids: Arc<AtomicU64>,
}

impl Fake {
    /// Starts the fake on a free port.
    pub async fn start() -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = Fake {
            base: format!("http://{}", listener.local_addr().unwrap()),
            calls: Arc::default(),
            script: Arc::default(),
            ids: Arc::new(AtomicU64::new(1000)),
        };
        let state = fake.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: String| {
                let fake = state.clone();
                async move { fake.answer(method, uri, headers, body).await }
            },
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        fake
    }

    /// Queues answers for a route.
    pub fn script(&self, route: &str, answers: impl IntoIterator<Item = Answer>) {
        self.script
            .lock()
            .unwrap()
            .entry(route.to_string())
            .or_default()
            .extend(answers);
    }

    /// Every call so far, in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// The calls of routes starting with `prefix`.
    pub fn calls_to(&self, prefix: &str) -> Vec<Call> {
        let calls = self.calls();
        calls
            .into_iter()
            .filter(|c| c.route.starts_with(prefix))
            .collect()
    }

    /// The texts accepted on routes starting with `prefix`, in arrival order.
    pub fn accepted(&self, prefix: &str) -> Vec<String> {
        let calls = self.calls_to(prefix);
        calls
            .iter()
            .filter(|c| c.accepted)
            .map(Call::text)
            .collect()
    }

    /// A Slack client (bot token) against this fake, giving up on a call after `timeout`.
    pub fn slack(&self, timeout: Duration) -> SlackClient {
        SlackClient::new(
            format!("{}/api/", self.base),
            SecretString::from("xoxb-outbox-test-token"),
            timeout,
        )
    }

    /// A Discord client against this fake.
    pub fn discord(&self, http: &reqwest::Client) -> DiscordClient {
        DiscordClient::new(
            http.clone(),
            format!("{}/discord", self.base),
            SecretString::from("discord-outbox-test-token"),
            Some("777".into()),
        )
    }

    async fn answer(&self, method: Method, uri: Uri, headers: HeaderMap, body: String) -> Response {
        let at = Instant::now();
        let path = uri.path().to_string();
        // slack-morphism sends `chat.getPermalink` as a GET with a query.
        let body: Value = if path.starts_with("/api/") {
            warden::demo::fakes::web_api_body(uri.query(), body.as_bytes())
        } else {
            serde_json::from_str(&body).unwrap_or(Value::Null)
        };
        if path.starts_with("/discord/") {
            if let Some(problem) = discord_problem(&path, &headers, &body) {
                // What Discord answers a body it refuses: 400, code 50035.
                eprintln!("fake Discord refused {method} {path}: {problem}");
                self.record("refused".into(), path, body, at, false);
                let answer =
                    json!({ "code": 50035, "message": format!("Invalid Form Body: {problem}") });
                return (StatusCode::BAD_REQUEST, answer.to_string()).into_response();
            }
        }
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let id = self.ids.fetch_add(1, Ordering::SeqCst);
        let channel = body["channel"].as_str().unwrap_or_default();
        let (route, ok) = match (method.as_str(), segments.as_slice()) {
            ("POST", ["api", "chat.postMessage"]) => (
                format!("chat.postMessage:{channel}"),
                warden::demo::fakes::web_api_answer(
                    "chat.postMessage",
                    &body,
                    &format!("{id}.0001"),
                )
                .to_string(),
            ),
            ("POST", ["api", "chat.update"]) => (
                format!("chat.update:{channel}"),
                warden::demo::fakes::web_api_answer("chat.update", &body, "").to_string(),
            ),
            ("POST", ["respond", ..]) => ("respond".to_string(), "ok".to_string()),
            ("GET", ["api", "chat.getPermalink"]) => (
                "permalink".to_string(),
                json!({"ok": true, "channel": channel, "permalink": format!("https://slack.test/archives/p{id}")})
                    .to_string(),
            ),
            ("POST", ["discord", "channels", ch, "messages", _, "threads"]) => (
                format!("thread:{ch}"),
                json!({"id": id.to_string()}).to_string(),
            ),
            ("PATCH", ["discord", "channels", ch]) => (format!("unarchive:{ch}"), "{}".to_string()),
            ("POST", ["discord", "channels", ch, "messages"]) => (
                format!("create:{ch}"),
                json!({"id": id.to_string()}).to_string(),
            ),
            ("PATCH", ["discord", "channels", ch, "messages", _]) => {
                (format!("edit:{ch}"), "{}".to_string())
            }
            ("POST", ["discord", "webhooks", _, _]) => (
                "followup".to_string(),
                json!({"id": id.to_string()}).to_string(),
            ),
            _ => ("unknown".to_string(), "{}".to_string()),
        };
        let scripted = self
            .script
            .lock()
            .unwrap()
            .get_mut(&route)
            .and_then(VecDeque::pop_front);
        let (status, headers, text) = match scripted {
            None => (200, vec![], ok),
            Some(Answer::Http(status, headers, text)) => (status, headers, text),
            Some(Answer::Hang(d)) => {
                self.record(route, path, body, at, false);
                tokio::time::sleep(d).await;
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        };
        let accepted = status == 200 && !text.contains("\"ok\":false");
        // Slack answers a response_url with a bare `ok` in HTML, everything else in JSON.
        let content_type = if route == "respond" {
            "text/html"
        } else {
            "application/json"
        };
        self.record(route, path, body, at, accepted);
        let mut response = (StatusCode::from_u16(status).unwrap(), text).into_response();
        response
            .headers_mut()
            .insert("content-type", content_type.parse().unwrap());
        for (name, value) in headers {
            response.headers_mut().insert(name, value.parse().unwrap());
        }
        response
    }

    fn record(&self, route: String, path: String, body: Value, at: Instant, accepted: bool) {
        self.calls.lock().unwrap().push(Call {
            route,
            path,
            body,
            at,
            accepted,
        });
    }
}

/// Checks a request to the fake Discord as Discord would: the bot token on channel routes and
/// none on interaction webhooks, a JSON body, and the limits and shapes of messages, buttons and
/// threads. `None` when the request is acceptable.
fn discord_problem(path: &str, headers: &HeaderMap, body: &Value) -> Option<String> {
    let json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json || !body.is_object() {
        return Some("the body is not a JSON object".into());
    }
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["discord", "webhooks", ..] if auth.is_some() => {
            return Some("webhooks take no Authorization".into())
        }
        ["discord", "channels", ..] if auth != Some("Bot discord-outbox-test-token") => {
            return Some("channel routes need the bot token".into())
        }
        _ => {}
    }
    match segments.as_slice() {
        ["discord", "channels", _, "messages", _, "threads"] => {
            let name = body["name"].as_str().unwrap_or_default().chars().count();
            let archive = body["auto_archive_duration"].as_u64().unwrap_or_default();
            (!(1..=100).contains(&name) || ![60, 1440, 4320, 10080].contains(&archive))
                .then(|| format!("bad thread: {body}"))
        }
        ["discord", "channels", _] => {
            (body != &json!({ "archived": false })).then(|| format!("bad thread edit: {body}"))
        }
        _ => message_problem(body),
    }
}

/// A message body: content of 1 to 2000 characters, no mention allowed by type, at most five
/// action rows of one to five buttons, each a link (style 5, `url`) or a button with a
/// `custom_id`, and an ephemeral flag only where one may be.
fn message_problem(body: &Value) -> Option<String> {
    let Some(content) = body["content"].as_str().map(|c| c.chars().count()) else {
        return Some("no content".into());
    };
    if !(1..=2000).contains(&content) {
        return Some(format!("content of {content} characters"));
    }
    if body["allowed_mentions"]["parse"] != json!([]) {
        return Some(format!("mentions allowed: {}", body["allowed_mentions"]));
    }
    if !matches!(body.get("flags"), None | Some(Value::Null)) && body["flags"] != 64 {
        return Some(format!("flags {}", body["flags"]));
    }
    let Some(rows) = body["components"].as_array() else {
        return Some("no components".into());
    };
    if rows.len() > 5 {
        return Some("more than five action rows".into());
    }
    for row in rows {
        let buttons = row["components"].as_array().cloned().unwrap_or_default();
        if row["type"] != 1 || buttons.is_empty() || buttons.len() > 5 {
            return Some(format!("bad action row: {row}"));
        }
        for b in &buttons {
            let label = b["label"].as_str().unwrap_or_default().chars().count();
            let well_formed = b["type"] == 2
                && (1..=80).contains(&label)
                && match b["style"].as_u64() {
                    Some(5) => b["url"].is_string() && b.get("custom_id").is_none(),
                    Some(1..=4) => b["custom_id"].as_str().is_some_and(|c| c.len() <= 100),
                    _ => false,
                };
            if !well_formed {
                return Some(format!("bad button: {b}"));
            }
        }
    }
    None
}

/// The fake refuses what Discord would refuse, so the passing tests above say something about
/// the bodies serenity's builders produce.
#[test]
fn the_fake_discord_refuses_what_discord_would() {
    let mut bot = HeaderMap::new();
    bot.insert("content-type", "application/json".parse().unwrap());
    let mut webhook = bot.clone();
    bot.insert(
        "authorization",
        "Bot discord-outbox-test-token".parse().unwrap(),
    );
    let ok = json!({ "content": "hi", "allowed_mentions": { "parse": [] }, "components": [] });
    assert_eq!(
        discord_problem("/discord/channels/1/messages", &bot, &ok),
        None
    );
    assert_eq!(
        discord_problem("/discord/webhooks/7/t", &webhook, &ok),
        None
    );
    let refused = [
        ("/discord/channels/1/messages", &webhook, ok.clone()),
        (
            "/discord/channels/1/messages",
            &bot,
            json!({ "content": "hi", "components": [] }),
        ),
        (
            "/discord/channels/1/messages",
            &bot,
            json!({ "content": "", "allowed_mentions": { "parse": [] }, "components": [] }),
        ),
        (
            "/discord/channels/1/messages",
            &bot,
            json!({ "content": "hi", "allowed_mentions": { "parse": [] }, "components": [
            { "type": 1, "components": [{ "type": 2, "style": 5, "label": "x", "url": "u", "custom_id": "c" }] }
        ] }),
        ),
        ("/discord/channels/1", &bot, json!({ "archived": true })),
        (
            "/discord/channels/1/messages/2/threads",
            &bot,
            json!({ "name": "t", "auto_archive_duration": 7 }),
        ),
    ];
    for (path, headers, body) in refused {
        assert!(
            discord_problem(path, headers, &body).is_some(),
            "{path} {body}"
        );
    }
    webhook.insert("authorization", "Bot x".parse().unwrap());
    assert!(discord_problem("/discord/webhooks/7/t", &webhook, &ok).is_some());
}
