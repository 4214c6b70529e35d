//! Slack Socket Mode end to end (SPEC §14): a fake Slack on 127.0.0.1 answers
//! `apps.connections.open` with a `ws://` URL and speaks Socket Mode on it; warden connects,
//! acknowledges envelopes with the answers, and survives refreshes, closes and dead sockets.
//! Every wait is bounded.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::post;
use axum::{Json, Router};
use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// What a test tells one fake connection to do.
enum Order {
    Send(String),
    /// Drop the TCP connection without a close frame.
    Kill,
    /// Stop reading, so pings go unanswered.
    Freeze,
}

/// One connection warden opened to the fake.
struct Conn {
    orders: mpsc::UnboundedSender<Order>,
    closed: Arc<std::sync::atomic::AtomicBool>,
}

/// A fake Slack: the Web API's `apps.connections.open` and the Socket Mode WebSocket.
#[derive(Clone, Default)]
struct FakeSocketSlack {
    opens: Arc<AtomicUsize>,
    refuse: Arc<Mutex<Option<String>>>,
    conns: Arc<Mutex<Vec<Conn>>>,
    /// Every frame warden sent (the acks), parsed, with the connection's index.
    received: Arc<Mutex<Vec<(usize, Value)>>>,
}

impl FakeSocketSlack {
    /// Starts both servers and returns the Web API base URL (ending in `/`).
    async fn start(&self) -> String {
        let ws_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ws_addr = ws_listener.local_addr().unwrap();
        let fake = self.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = ws_listener.accept().await {
                let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
                    continue;
                };
                let (tx, rx) = mpsc::unbounded_channel();
                let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
                let index = {
                    let mut conns = fake.conns.lock().unwrap();
                    conns.push(Conn {
                        orders: tx,
                        closed: closed.clone(),
                    });
                    conns.len() - 1
                };
                tokio::spawn(serve_conn(ws, index, rx, closed, fake.received.clone()));
            }
        });
        let fake = self.clone();
        let open = move || {
            let fake = fake.clone();
            async move {
                fake.opens.fetch_add(1, Ordering::SeqCst);
                match fake.refuse.lock().unwrap().clone() {
                    Some(error) => Json(json!({"ok": false, "error": error})),
                    None => Json(json!({"ok": true, "url": format!("ws://{ws_addr}/link")})),
                }
            }
        };
        let app = Router::new().route("/api/apps.connections.open", post(open));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/api/")
    }

    fn conn_count(&self) -> usize {
        self.conns.lock().unwrap().len()
    }

    fn order(&self, index: usize, order: Order) {
        let conns = self.conns.lock().unwrap();
        let _ = conns[index].orders.send(order);
    }

    fn is_closed(&self, index: usize) -> bool {
        self.conns.lock().unwrap()[index]
            .closed
            .load(Ordering::SeqCst)
    }

    /// Waits (at most 15 s) until warden has opened `n` connections.
    async fn wait_conns(&self, n: usize) {
        for _ in 0..300 {
            if self.conn_count() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("warden opened {} connections, not {n}", self.conn_count());
    }

    /// Waits (at most 10 s) for the `nth` (0-based) ack of `envelope_id`.
    async fn wait_ack(&self, envelope_id: &str, nth: usize) -> (usize, Value) {
        for _ in 0..200 {
            let acks: Vec<(usize, Value)> = self
                .received
                .lock()
                .unwrap()
                .iter()
                .filter(|(_, v)| v["envelope_id"] == envelope_id)
                .cloned()
                .collect();
            if let Some(ack) = acks.get(nth) {
                return ack.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no ack #{nth} for {envelope_id}");
    }
}

async fn serve_conn(
    ws: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    index: usize,
    mut orders: mpsc::UnboundedReceiver<Order>,
    closed: Arc<std::sync::atomic::AtomicBool>,
    received: Arc<Mutex<Vec<(usize, Value)>>>,
) {
    let (mut sink, mut stream) = ws.split();
    let hello =
        json!({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0WARDEN"}});
    sink.send(Message::text(hello.to_string())).await.unwrap();
    loop {
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(text.as_str()).unwrap();
                    received.lock().unwrap().push((index, value));
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            order = orders.recv() => match order {
                Some(Order::Send(text)) => {
                    if sink.send(Message::text(text)).await.is_err() {
                        break;
                    }
                }
                Some(Order::Kill) | None => break,
                Some(Order::Freeze) => {
                    // Hold the socket without reading: no pong ever goes back.
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    break;
                }
            },
        }
    }
    closed.store(true, Ordering::SeqCst);
}

/// A `slash_commands` envelope carrying the same fields Slack posts over HTTP.
fn slash_envelope(envelope_id: &str, team: &str, user: &str, text: &str) -> String {
    let form = slash_body(team, user, "/ops", text);
    let fields: Vec<(String, String)> = serde_urlencoded::from_str(&form).unwrap();
    let payload: serde_json::Map<String, Value> = fields
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    json!({
        "envelope_id": envelope_id,
        "payload": payload,
        "type": "slash_commands",
        "accepts_response_payload": true,
    })
    .to_string()
}

async fn spawn_with_fake(fake: &FakeSocketSlack, extra: &[(&str, &str)]) -> TestApp {
    let api = fake.start().await;
    let mut env = vec![
        ("SLACK_API_URL".to_string(), api),
        ("SLACK_APP_TOKEN".to_string(), "xapp-1-test".to_string()),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    TestApp::spawn_with(Options {
        env,
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn a_slash_command_over_socket_mode_is_acked_with_its_answer_and_audited_like_http() {
    let fake = FakeSocketSlack::default();
    let app = spawn_with_fake(&fake, &[]).await;
    fake.wait_conns(1).await;
    common::wait_ready_line(&app.base, "slack_socket: connected").await;
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"warden_transport_connected{transport="slack_socket"} 1"#),
        "{metrics}"
    );

    fake.order(
        0,
        Order::Send(slash_envelope("env-1", "T0ACME", "U0ALICE", "whoami")),
    );
    let (_, ack) = fake.wait_ack("env-1", 0).await;
    let text = ack["payload"]["text"].as_str().unwrap_or_default();
    assert!(text.contains("alice") && text.contains("`acme`"), "{ack}");
    assert_eq!(ack["payload"]["response_type"], "ephemeral", "{ack}");

    // The same command over HTTP: the audit records differ only in the transport.
    let http = app.slack("T0ACME", "U0ALICE", "whoami").await;
    assert_eq!(http.text(), text);
    let events = app.audit().await;
    let invoked: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "command.invoked")
        .collect();
    assert_eq!(invoked.len(), 2, "{events:?}");
    common::assert_alike_but_transport(invoked[0], "socket_mode", invoked[1], "http");
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_duplicate_envelope_is_acked_twice_and_acted_on_once() {
    let fake = FakeSocketSlack::default();
    let app = spawn_with_fake(&fake, &[]).await;
    fake.wait_conns(1).await;
    let envelope = slash_envelope("env-dup", "T0ACME", "U0ALICE", "whoami");
    fake.order(0, Order::Send(envelope.clone()));
    fake.wait_ack("env-dup", 0).await;
    fake.order(0, Order::Send(envelope));
    fake.wait_ack("env-dup", 1).await;
    assert_eq!(app.command_kinds().await, ["command.invoked"]);
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn envelopes_on_one_connection_do_not_wait_for_each_other() {
    let fake = FakeSocketSlack::default();
    let app = spawn_with_fake(&fake, &[]).await;
    fake.wait_conns(1).await;
    for i in 0..20 {
        let id = format!("env-many-{i}");
        fake.order(
            0,
            Order::Send(slash_envelope(&id, "T0ACME", "U0BOB", "help")),
        );
    }
    for i in 0..20 {
        let (_, ack) = fake.wait_ack(&format!("env-many-{i}"), 0).await;
        assert!(ack["payload"]["text"].is_string(), "{ack}");
    }
    assert_eq!(app.command_kinds().await.len(), 20);
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn disconnect_opens_a_new_connection_before_the_old_one_closes() {
    let fake = FakeSocketSlack::default();
    let app = spawn_with_fake(&fake, &[]).await;
    fake.wait_conns(1).await;
    fake.order(
        0,
        Order::Send(json!({"type": "disconnect", "reason": "refresh_requested"}).to_string()),
    );
    fake.wait_conns(2).await;
    assert!(!fake.is_closed(0), "the old connection was closed first");
    // Both connections still deliver: the old one until Slack closes it.
    fake.order(
        0,
        Order::Send(slash_envelope("env-old", "T0ACME", "U0BOB", "help")),
    );
    assert_eq!(fake.wait_ack("env-old", 0).await.0, 0);
    fake.order(0, Order::Kill);
    fake.order(
        1,
        Order::Send(slash_envelope("env-new", "T0ACME", "U0BOB", "help")),
    );
    assert_eq!(fake.wait_ack("env-new", 0).await.0, 1);
    // The old connection's close after a refresh does not open a third.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.conn_count(), 2);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(
            r#"warden_transport_reconnects_total{transport="slack_socket",reason="refresh"} 1"#
        ),
        "{metrics}"
    );
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_abrupt_close_leads_to_a_working_new_connection() {
    let fake = FakeSocketSlack::default();
    let app = spawn_with_fake(&fake, &[]).await;
    fake.wait_conns(1).await;
    fake.order(0, Order::Kill);
    fake.wait_conns(2).await;
    common::wait_ready_line(&app.base, "slack_socket: connected").await;
    fake.order(
        1,
        Order::Send(slash_envelope("env-after", "T0ACME", "U0BOB", "help")),
    );
    assert_eq!(fake.wait_ack("env-after", 0).await.0, 1);
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_silent_connection_is_noticed_by_ping_and_replaced() {
    let fake = FakeSocketSlack::default();
    let app = spawn_with_fake(&fake, &[("WARDEN_TRANSPORT_PING", "1s")]).await;
    fake.wait_conns(1).await;
    fake.order(0, Order::Freeze);
    fake.wait_conns(2).await;
    fake.order(
        1,
        Order::Send(slash_envelope("env-alive", "T0ACME", "U0BOB", "help")),
    );
    assert_eq!(fake.wait_ack("env-alive", 0).await.0, 1);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(
            r#"warden_transport_reconnects_total{transport="slack_socket",reason="dead"} 1"#
        ),
        "{metrics}"
    );
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_refused_app_token_stops_the_transport_without_a_retry_loop() {
    let fake = FakeSocketSlack::default();
    *fake.refuse.lock().unwrap() = Some("invalid_auth".into());
    let app = spawn_with_fake(&fake, &[]).await;
    let body = common::wait_ready_line(&app.base, "slack_socket: stopped").await;
    assert!(body.contains("invalid_auth"), "{body}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(fake.opens.load(Ordering::SeqCst), 1);
    assert_eq!(fake.conn_count(), 0);
    // The HTTP routes keep working beside it.
    assert_eq!(app.slack("T0ACME", "U0BOB", "help").await.status, 200);
    app.server.shutdown().await.unwrap();
}

/// A button over Socket Mode: the confirmation prompt comes back in the slash command's ack,
/// the Cancel click arrives as an `interactive` envelope, is acknowledged without a payload
/// (Slack reads none for clicks) and acted on like an HTTP click.
#[tokio::test]
async fn a_click_over_socket_mode_is_acted_on_like_an_http_click() {
    let fake = FakeSocketSlack::default();
    let app = spawn_with_fake(&fake, &[]).await;
    fake.wait_conns(1).await;
    let command = "deploy api v1.2.3 env=prod --reason \"hotfix for INC-7\"";
    fake.order(
        0,
        Order::Send(slash_envelope("env-deploy", "T0ACME", "U0ALICE", command)),
    );
    let (_, ack) = fake.wait_ack("env-deploy", 0).await;
    let buttons = &ack["payload"]["blocks"][1]["elements"];
    assert_eq!(buttons[1]["text"]["text"], "Cancel", "{ack}");
    let action_id = buttons[1]["action_id"].as_str().unwrap();
    let value = buttons[1]["value"].as_str().unwrap();
    let form = click_body(
        "T0ACME",
        "U0ALICE",
        action_id,
        value,
        "http://127.0.0.1:9/response",
    );
    let fields: Vec<(String, String)> = serde_urlencoded::from_str(&form).unwrap();
    let payload: Value = serde_json::from_str(&fields[0].1).unwrap();
    let envelope = json!({
        "envelope_id": "env-click",
        "payload": payload,
        "type": "interactive",
        "accepts_response_payload": false,
    });
    fake.order(0, Order::Send(envelope.to_string()));
    let (_, ack) = fake.wait_ack("env-click", 0).await;
    assert_eq!(ack, json!({"envelope_id": "env-click"}));
    for _ in 0..100 {
        if app
            .command_kinds()
            .await
            .contains(&"command.cancelled".to_string())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.command_kinds().await,
        ["command.invoked", "command.cancelled"]
    );
    app.server.shutdown().await.unwrap();
}

/// An Events API mention over Socket Mode: acknowledged without a payload, answered with help
/// and recorded once per `event_id`, whatever the envelope.
#[tokio::test]
async fn a_mention_over_socket_mode_is_recorded_once_per_event() {
    let fake = FakeSocketSlack::default();
    let app = spawn_with_fake(&fake, &[]).await;
    fake.wait_conns(1).await;
    let mention = |envelope_id: &str| {
        json!({
            "envelope_id": envelope_id,
            "type": "events_api",
            "accepts_response_payload": false,
            "retry_attempt": 0,
            "payload": {
                "type": "event_callback", "team_id": "T0ACME", "api_app_id": "A0WARDEN",
                "event_id": "Ev0MENTION", "event_time": 1_700_000_000,
                "event": {"type": "app_mention", "user": "U0BOB", "channel": "C0DEPLOYS",
                          "text": "<@UWARDEN> hi", "ts": "1700000000.000100"},
            },
        })
        .to_string()
    };
    fake.order(0, Order::Send(mention("env-ev-1")));
    assert_eq!(
        fake.wait_ack("env-ev-1", 0).await.1,
        json!({"envelope_id": "env-ev-1"})
    );
    fake.order(0, Order::Send(mention("env-ev-2")));
    fake.wait_ack("env-ev-2", 0).await;
    let events = app.audit().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].target, "help");
    assert!(
        events[0].details.contains(r#""transport":"socket_mode""#),
        "{}",
        events[0].details
    );
    app.server.shutdown().await.unwrap();
}
