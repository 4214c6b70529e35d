//! The two services the demo stands in for, both on 127.0.0.1: Slack's Web API (every call
//! recorded, answered `ok`, and printed as a line of the conversation) and a deployer that
//! checks warden's request signature. What they receive goes into one [`Feed`], printed in the
//! order it arrived, so the transcript follows what really happened.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::{Path, Query, RawQuery, Request};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::Notify;

use super::transcript;

/// One Slack Web API call: the method (`response` for a `response_url`), its JSON body, and
/// for a `response_url` whom it answers (`None`: a click's answer, already shown).
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub body: Value,
    pub to: Option<String>,
    /// For a thread reply, the id its card shows (`J-4`, `A-1`).
    pub card: Option<String>,
}

enum Entry {
    Slack(Call),
    Note(String),
}

#[derive(Default)]
struct State {
    entries: Vec<Entry>,
    printed: usize,
}

/// What the fakes received, in order, and how much of it has been printed.
#[derive(Clone, Default)]
pub struct Feed {
    state: Arc<Mutex<State>>,
    arrived: Arc<Notify>,
}

impl Feed {
    fn push(&self, entry: Entry) {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entries
            .push(entry);
        self.arrived.notify_waiters();
    }

    /// Prints every entry not printed yet, up to index `upto` (excluded).
    fn print_upto(state: &mut State, upto: usize) {
        while state.printed < upto.min(state.entries.len()) {
            match &state.entries[state.printed] {
                Entry::Slack(call) => {
                    if let Some(line) = transcript::render_call(
                        &call.method,
                        &call.body,
                        call.to.as_deref(),
                        call.card.as_deref(),
                    ) {
                        println!("{line}");
                    }
                }
                Entry::Note(note) => println!("          ({note})"),
            }
            state.printed += 1;
        }
    }

    /// Prints everything received so far.
    pub fn flush(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let all = state.entries.len();
        Self::print_upto(&mut state, all);
    }

    /// Waits (at most `within`) for the first Slack call that `wanted` accepts, prints the
    /// conversation up to and including it, and returns it.
    pub async fn wait_for(
        &self,
        what: &str,
        within: Duration,
        wanted: impl Fn(&Call) -> bool,
    ) -> anyhow::Result<Call> {
        let deadline = Instant::now() + within;
        loop {
            let arrived = self.arrived.notified();
            {
                let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                let found = state.entries.iter().position(|entry| match entry {
                    Entry::Slack(call) => wanted(call),
                    Entry::Note(_) => false,
                });
                if let Some(i) = found {
                    Self::print_upto(&mut state, i + 1);
                    if let Entry::Slack(call) = &state.entries[i] {
                        return Ok(call.clone());
                    }
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            anyhow::ensure!(
                !left.is_zero(),
                "the demo waited {} s for {what}, in vain",
                within.as_secs()
            );
            let _ = tokio::time::timeout(left.min(Duration::from_millis(250)), arrived).await;
        }
    }

    /// Prints what arrives from now on, as it arrives (`--keep`).
    pub fn print_live(&self) {
        let feed = self.clone();
        tokio::spawn(async move {
            loop {
                feed.flush();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
    }
}

#[derive(serde::Deserialize)]
struct ResponseTo {
    to: Option<String>,
}

/// Starts the fake Slack Web API and returns its base URL (ending in `/api/`). A
/// `response_url` is `{base}response?to=NAME`, or `{base}response` for a click's answer.
pub async fn start_slack(feed: Feed) -> anyhow::Result<String> {
    let next = Arc::new(AtomicU64::new(1));
    // Each top-level message's ts and the id it starts with, to name a reply's card.
    let cards: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let handler = move |Path(method): Path<String>,
                        Query(query): Query<ResponseTo>,
                        RawQuery(raw_query): RawQuery,
                        raw: axum::body::Bytes| {
        let feed = feed.clone();
        let cards = cards.clone();
        let n = next.fetch_add(1, Ordering::Relaxed);
        async move {
            let body = web_api_body(raw_query.as_deref(), &raw);
            let ts = format!("1700000000.{n:06}");
            let card = {
                let mut cards = cards.lock().unwrap_or_else(|e| e.into_inner());
                match body["thread_ts"].as_str() {
                    Some(parent) => cards.get(parent).cloned(),
                    None => {
                        if method == "chat.postMessage" {
                            let text = body["text"].as_str().unwrap_or_default();
                            let id: String = text
                                .split_whitespace()
                                .next()
                                .unwrap_or_default()
                                .trim_end_matches(':')
                                .to_string();
                            cards.insert(ts.clone(), id);
                        }
                        None
                    }
                }
            };
            let answer = web_api_answer(&method, &body, &ts);
            // A read: nobody sees it in the conversation.
            if method != "chat.getPermalink" {
                feed.push(Entry::Slack(Call {
                    method,
                    body,
                    to: query.to,
                    card,
                }));
            }
            Json(answer)
        }
    };
    // slack-morphism sends reads such as `chat.getPermalink` as GETs with a query.
    let app = Router::new().route("/api/{method}", post(handler.clone()).get(handler));
    let addr = serve(app).await?;
    Ok(format!("http://{addr}/api/"))
}

/// A Web API call's arguments as JSON, whether they came as a JSON body or, for the read
/// methods slack-morphism sends as GETs (`chat.getPermalink`), as the query.
pub fn web_api_body(query: Option<&str>, raw: &[u8]) -> Value {
    serde_json::from_slice(raw).unwrap_or_else(|_| {
        let form = if raw.is_empty() {
            query.unwrap_or_default().as_bytes()
        } else {
            raw
        };
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(form).unwrap_or_default();
        Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        )
    })
}

/// Slack's success answer to `method` called with `request`, with every field slack-morphism
/// requires of it: a posted message's `ts` (`ts` for the new one), an update's channel, ts and
/// message, an opened view with its `id`, `team_id` and `hash`, a permalink.
pub fn web_api_answer(method: &str, request: &Value, ts: &str) -> Value {
    match method {
        "chat.postMessage" => json!({
            "ok": true, "channel": request["channel"], "ts": ts,
            "message": { "type": "message", "ts": ts, "text": request["text"] },
        }),
        "chat.update" => json!({
            "ok": true, "channel": request["channel"], "ts": request["ts"],
            "text": request["text"], "message": { "text": request["text"] },
        }),
        "chat.postEphemeral" => json!({ "ok": true, "message_ts": ts }),
        "chat.getPermalink" => json!({
            "ok": true, "channel": request["channel"], "permalink": permalink(request),
        }),
        "views.open" => {
            let mut view = request["view"].clone();
            if view.is_object() {
                view["id"] = json!(format!("V{}", ts.replace('.', "")));
                view["team_id"] = json!("T0DEMO");
                view["hash"] = json!(format!("{ts}.hash"));
                view["state"] = json!({ "values": {} });
            }
            json!({ "ok": true, "view": view })
        }
        _ => json!({ "ok": true }),
    }
}

/// The link Slack would give for a message: `/archives/CHANNEL/pTS` with the dot removed.
pub fn permalink(body: &Value) -> String {
    format!(
        "https://demo.slack.example/archives/{}/p{}",
        body["channel"].as_str().unwrap_or_default(),
        body["message_ts"]
            .as_str()
            .unwrap_or_default()
            .replace('.', "")
    )
}

/// Starts the fake deployer: it checks `X-Warden-Signature` with `secret`, answers a dry run
/// with a plan at once, and a real deploy after a short rollout. Returns its base URL.
pub async fn start_deployer(feed: Feed, secret: String) -> anyhow::Result<String> {
    let versions: Arc<Mutex<HashMap<String, String>>> = Arc::new(Mutex::new(
        [("api", "v3.1.0"), ("web", "v2.3.9"), ("worker", "v1.8.2")]
            .into_iter()
            .map(|(s, v)| (s.to_string(), v.to_string()))
            .collect(),
    ));
    let app = Router::new().route(
        "/deploys",
        post(move |request: Request| {
            let (feed, secret, versions) = (feed.clone(), secret.clone(), versions.clone());
            async move { deploy(request, &feed, &secret, &versions).await }
        }),
    );
    let addr = serve(app).await?;
    Ok(format!("http://{addr}"))
}

async fn deploy(
    request: Request,
    feed: &Feed,
    secret: &str,
    versions: &Mutex<HashMap<String, String>>,
) -> (StatusCode, String) {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let timestamp: u64 = header("x-warden-timestamp").parse().unwrap_or(0);
    let expected = crate::actions::http::signature(secret.as_bytes(), timestamp, &body);
    let job = header("idempotency-key");
    if header("x-warden-signature") != expected {
        feed.push(Entry::Note(format!(
            "deployer: refused {job}: bad signature"
        )));
        return (StatusCode::UNAUTHORIZED, "bad signature".into());
    }
    let dry = header("x-warden-dry-run") == "1";
    let asked: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let field = |name: &str| asked[name].as_str().unwrap_or("?").to_string();
    let (service, version, env) = (field("service"), field("version"), field("environment"));
    let current = versions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&service)
        .cloned()
        .unwrap_or_else(|| "none".into());
    feed.push(Entry::Note(format!(
        "deployer: signed POST /deploys from warden, Idempotency-Key {job}, signature valid{}",
        if dry { ", dry run" } else { "" }
    )));
    if dry {
        return (
            StatusCode::OK,
            format!(
                "plan: {service} {current} -> {version} in {env}\n\
                 3 instances replaced one at a time, health-checked, about 2 minutes\n\
                 dry run: nothing was changed"
            ),
        );
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    versions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(service.clone(), version.clone());
    (
        StatusCode::OK,
        format!(
            "{service} {current} -> {version} in {env}\n\
             3/3 instances replaced and healthy\n\
             rollout complete"
        ),
    )
}

async fn serve(app: Router) -> anyhow::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding a loopback port for the demo's fake services")?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::warn!("a demo fake service stopped: {error}");
        }
    });
    Ok(addr)
}
