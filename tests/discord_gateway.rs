//! The Discord Gateway end to end (SPEC §14): a fake Discord on 127.0.0.1 serves `GET /gateway`,
//! the interaction callbacks, and a Gateway WebSocket that says HELLO, READY and RESUMED and
//! records what warden sends. warden identifies without intents, answers INTERACTION_CREATE
//! through the callback exactly as the HTTP route answers, resumes after a zombie connection,
//! identifies again after an invalid session, stops on a refused token, and runs one session
//! across replicas. Every wait is bounded.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

const GUILD: &str = "900000000000000001";
const ALICE: &str = "100000000000000001";
const BOT_TOKEN: &str = "discord-bot-token-for-gateway-tests-7f3a";

/// What a test tells one fake connection to do.
enum Order {
    Send(String),
    Close(u16),
}

/// One connection warden opened to the fake Gateway.
struct Conn {
    /// The request path and query warden connected to.
    path: String,
    orders: mpsc::UnboundedSender<Order>,
    /// Every frame warden sent on it, parsed.
    received: Arc<Mutex<Vec<Value>>>,
}

/// A fake Discord: REST (`GET /gateway`, interaction callbacks) and the Gateway WebSocket.
#[derive(Clone)]
struct FakeDiscord {
    conns: Arc<Mutex<Vec<Conn>>>,
    callbacks: Arc<Mutex<Vec<(String, String, Value)>>>,
    /// The heartbeat interval HELLO announces.
    heartbeat_ms: u64,
    /// When false, the first connection's heartbeats are never acknowledged.
    ack_first: Arc<AtomicBool>,
    /// Close every connection with 4004 as soon as it identifies.
    refuse_token: Arc<AtomicBool>,
    ws_addr: Arc<Mutex<Option<std::net::SocketAddr>>>,
}

impl FakeDiscord {
    fn new(heartbeat_ms: u64) -> Self {
        FakeDiscord {
            conns: Arc::default(),
            callbacks: Arc::default(),
            heartbeat_ms,
            ack_first: Arc::new(AtomicBool::new(true)),
            refuse_token: Arc::default(),
            ws_addr: Arc::default(),
        }
    }

    /// Starts both servers; returns the REST base URL and the Gateway URL.
    async fn start(&self) -> (String, String) {
        let ws_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ws_addr = ws_listener.local_addr().unwrap();
        *self.ws_addr.lock().unwrap() = Some(ws_addr);
        let fake = self.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = ws_listener.accept().await {
                let path = Arc::new(Mutex::new(String::new()));
                let seen = path.clone();
                // tungstenite's callback type fixes the error type; its size is not ours to pick.
                #[allow(clippy::result_large_err)]
                let callback = move |req: &Request, resp: Response| {
                    *seen.lock().unwrap() = req.uri().to_string();
                    Ok(resp)
                };
                let Ok(ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
                    continue;
                };
                let (tx, rx) = mpsc::unbounded_channel();
                let received = Arc::new(Mutex::new(Vec::new()));
                let index = {
                    let mut conns = fake.conns.lock().unwrap();
                    conns.push(Conn {
                        path: path.lock().unwrap().clone(),
                        orders: tx,
                        received: received.clone(),
                    });
                    conns.len() - 1
                };
                tokio::spawn(serve_conn(fake.clone(), ws, index, rx, received));
            }
        });
        let app = Router::new()
            .route("/api/v10/gateway", get(gateway_url))
            .route(
                "/api/v10/interactions/{id}/{token}/callback",
                post(callback),
            )
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}/api/v10"), format!("ws://{ws_addr}"))
    }

    fn conn_count(&self) -> usize {
        self.conns.lock().unwrap().len()
    }

    fn order(&self, index: usize, order: Order) {
        let _ = self.conns.lock().unwrap()[index].orders.send(order);
    }

    fn path(&self, index: usize) -> String {
        self.conns.lock().unwrap()[index].path.clone()
    }

    /// Every IDENTIFY (op 2) and RESUME (op 6) warden sent, with its connection's index.
    fn greetings(&self) -> Vec<(usize, Value)> {
        let conns = self.conns.lock().unwrap();
        conns
            .iter()
            .enumerate()
            .flat_map(|(i, c)| {
                c.received
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|f| f["op"] == 2 || f["op"] == 6)
                    .map(|f| (i, f.clone()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Waits (at most `within`) for the `n`th (1-based) IDENTIFY or RESUME.
    async fn wait_greeting(&self, n: usize, within: Duration) -> (usize, Value) {
        let deadline = Instant::now() + within;
        loop {
            if let Some(g) = self.greetings().get(n - 1) {
                return g.clone();
            }
            assert!(
                Instant::now() < deadline,
                "warden sent {} IDENTIFY/RESUME frames, not {n}",
                self.greetings().len()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits (at most 10 s) for `n` callbacks of interaction `id`.
    async fn wait_callbacks(&self, id: &str, n: usize) -> Vec<Value> {
        for _ in 0..400 {
            let bodies: Vec<Value> = self
                .callbacks
                .lock()
                .unwrap()
                .iter()
                .filter(|(i, _, _)| i == id)
                .map(|(_, _, body)| body.clone())
                .collect();
            if bodies.len() >= n {
                return bodies;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("fewer than {n} callbacks for interaction {id}");
    }
}

async fn gateway_url(State(fake): State<FakeDiscord>) -> Json<Value> {
    let addr = fake.ws_addr.lock().unwrap().unwrap();
    Json(json!({ "url": format!("ws://{addr}") }))
}

async fn callback(
    State(fake): State<FakeDiscord>,
    Path((id, token)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> StatusCode {
    fake.callbacks.lock().unwrap().push((id, token, body));
    StatusCode::NO_CONTENT
}

/// Speaks the Gateway on one connection: HELLO, then READY for IDENTIFY (session `sess-N`,
/// resume URL `/resume`), RESUMED for RESUME, ACKs for heartbeats (unless withheld), and
/// whatever the test orders.
async fn serve_conn(
    fake: FakeDiscord,
    ws: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    index: usize,
    mut orders: mpsc::UnboundedReceiver<Order>,
    received: Arc<Mutex<Vec<Value>>>,
) {
    let (mut sink, mut stream) = ws.split();
    let hello =
        json!({"op": 10, "d": {"heartbeat_interval": fake.heartbeat_ms}, "s": null, "t": null});
    let _ = sink.send(Message::text(hello.to_string())).await;
    let addr = fake.ws_addr.lock().unwrap().unwrap();
    let mut seq = 0u64;
    loop {
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(text.as_str()).unwrap();
                    received.lock().unwrap().push(value.clone());
                    let answer = match value["op"].as_u64() {
                        Some(1) if index > 0 || fake.ack_first.load(Ordering::SeqCst) => {
                            Some(json!({"op": 11}))
                        }
                        Some(2) if fake.refuse_token.load(Ordering::SeqCst) => {
                            let frame = CloseFrame {
                                code: CloseCode::from(4004),
                                reason: "Authentication failed.".into(),
                            };
                            let _ = sink.send(Message::Close(Some(frame))).await;
                            break;
                        }
                        Some(2) => {
                            seq += 1;
                            Some(json!({"op": 0, "s": seq, "t": "READY", "d": {
                                "v": 10, "session_id": format!("sess-{index}"),
                                "resume_gateway_url": format!("ws://{addr}/resume"),
                                "user": {"id": "123456789012345678", "username": "warden", "bot": true},
                                "guilds": [], "application": {"id": "123456789012345678", "flags": 0}
                            }}))
                        }
                        Some(6) => {
                            seq = value["d"]["seq"].as_u64().unwrap_or(seq) + 1;
                            Some(json!({"op": 0, "s": seq, "t": "RESUMED", "d": {}}))
                        }
                        _ => None,
                    };
                    if let Some(answer) = answer {
                        if sink.send(Message::text(answer.to_string())).await.is_err() {
                            break;
                        }
                    }
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
                Some(Order::Close(code)) => {
                    let frame = CloseFrame { code: CloseCode::from(code), reason: "".into() };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    break;
                }
                None => break,
            },
        }
    }
}

/// An INTERACTION_CREATE dispatch carrying `interaction` with sequence number `seq`.
fn interaction_create(seq: u64, interaction: &Value) -> String {
    json!({"op": 0, "s": seq, "t": "INTERACTION_CREATE", "d": interaction}).to_string()
}

/// The environment that turns the Gateway on against `fake`.
fn gateway_env(rest: &str, gateway: Option<&str>) -> Vec<(String, String)> {
    let mut env = vec![
        ("DISCORD_GATEWAY".to_string(), "1".to_string()),
        ("DISCORD_BOT_TOKEN".to_string(), BOT_TOKEN.to_string()),
        ("DISCORD_API_URL".to_string(), rest.to_string()),
    ];
    if let Some(url) = gateway {
        env.push(("DISCORD_GATEWAY_URL".to_string(), url.to_string()));
    }
    env
}

async fn spawn_with_fake(fake: &FakeDiscord, via_rest: bool) -> TestApp {
    let (rest, ws) = fake.start().await;
    let env = gateway_env(&rest, (!via_rest).then_some(ws.as_str()));
    TestApp::spawn_with(Options {
        env,
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn an_interaction_over_the_gateway_is_answered_through_its_callback_like_http() {
    let fake = FakeDiscord::new(30_000);
    // The Gateway's URL comes from GET /gateway here.
    let app = spawn_with_fake(&fake, true).await;
    let (index, identify) = fake.wait_greeting(1, Duration::from_secs(10)).await;
    assert_eq!(index, 0);
    assert_eq!(identify["op"], 2, "{identify}");
    assert_eq!(identify["d"]["token"], BOT_TOKEN);
    assert_eq!(identify["d"]["intents"], 0);
    assert!(fake.path(0).contains("v=10"), "{}", fake.path(0));
    common::wait_ready_line(&app.base, "discord_gateway: connected").await;
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"warden_transport_connected{transport="discord_gateway"} 1"#),
        "{metrics}"
    );

    let command = discord_command("800000000000000001", GUILD, ALICE, "whoami", json!([]));
    fake.order(0, Order::Send(interaction_create(2, &command)));
    let bodies = fake.wait_callbacks("800000000000000001", 1).await;
    let gateway_answer = &bodies[0];
    assert_eq!(gateway_answer["type"], 4, "{gateway_answer}");
    let content = gateway_answer["data"]["content"].as_str().unwrap();
    assert!(
        content.contains("alice") && content.contains("`acme`"),
        "{content}"
    );
    let token = fake.callbacks.lock().unwrap()[0].1.clone();
    assert_eq!(token, "interaction-token");

    // The same command over HTTP gets the same answer, and the audit records differ only in
    // the transport.
    let http_command = discord_command("800000000000000002", GUILD, ALICE, "whoami", json!([]));
    let http = app.post_discord(&http_command, now()).await;
    assert_eq!(http.status(), 200);
    assert_eq!(&http.json::<Value>().await.unwrap(), gateway_answer);
    let events = app.audit().await;
    let invoked: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "command.invoked")
        .collect();
    assert_eq!(invoked.len(), 2, "{events:?}");
    common::assert_alike_but_transport(invoked[0], "discord_gateway", invoked[1], "http");
    app.server.shutdown().await.unwrap();
}

/// Discord's documented application-command example (a guild warden does not know) gets the
/// same answer, and the same audit record apart from the transport, over both transports.
#[tokio::test]
async fn the_documented_command_is_answered_alike_over_gateway_and_http() {
    let fake = FakeDiscord::new(30_000);
    let app = spawn_with_fake(&fake, false).await;
    fake.wait_greeting(1, Duration::from_secs(10)).await;
    let documented: Value =
        serde_json::from_str(include_str!("fixtures/discord/application_command.json")).unwrap();
    fake.order(0, Order::Send(interaction_create(2, &documented)));
    let gateway_answer = fake.wait_callbacks("786008729715212338", 1).await.remove(0);
    let token = fake.callbacks.lock().unwrap()[0].1.clone();
    assert_eq!(token, "A_UNIQUE_TOKEN");
    let mut over_http = documented.clone();
    over_http["id"] = json!("786008729715212339");
    let http = app.post_discord(&over_http, now()).await;
    assert_eq!(http.json::<Value>().await.unwrap(), gateway_answer);
    let events = app.audit().await;
    assert_eq!(events.len(), 2, "{events:?}");
    common::assert_alike_but_transport(&events[0], "discord_gateway", &events[1], "http");
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_duplicate_interaction_is_acted_on_once() {
    let fake = FakeDiscord::new(30_000);
    let app = spawn_with_fake(&fake, false).await;
    fake.wait_greeting(1, Duration::from_secs(10)).await;
    let command = discord_command("800000000000000010", GUILD, ALICE, "whoami", json!([]));
    fake.order(0, Order::Send(interaction_create(2, &command)));
    let first = fake.wait_callbacks("800000000000000010", 1).await;
    fake.order(0, Order::Send(interaction_create(3, &command)));
    let both = fake.wait_callbacks("800000000000000010", 2).await;
    assert_eq!(both[0], first[0]);
    assert_ne!(
        both[1], first[0],
        "the second delivery is not acted on again"
    );
    assert_eq!(app.command_kinds().await, ["command.invoked"]);
    app.server.shutdown().await.unwrap();
}

/// Interactions run in their own tasks: a burst is answered in full while heartbeats keep
/// going on a short interval, and the connection is never taken for a zombie.
#[tokio::test]
async fn a_burst_of_interactions_does_not_hold_up_heartbeats() {
    // A 1 s interval: short enough to see heartbeats during the burst, long enough that a
    // loaded CI machine does not miss an ACK.
    let fake = FakeDiscord::new(1000);
    let app = spawn_with_fake(&fake, false).await;
    fake.wait_greeting(1, Duration::from_secs(10)).await;
    for i in 0..20u64 {
        let id = format!("8000000000000001{i:02}");
        let command = discord_command(&id, GUILD, ALICE, "help", json!([]));
        fake.order(0, Order::Send(interaction_create(2 + i, &command)));
    }
    for i in 0..20u64 {
        fake.wait_callbacks(&format!("8000000000000001{i:02}"), 1)
            .await;
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let heartbeats = fake.conns.lock().unwrap()[0]
        .received
        .lock()
        .unwrap()
        .iter()
        .filter(|f| f["op"] == 1)
        .count();
    assert!(heartbeats >= 2, "{heartbeats} heartbeats");
    assert_eq!(fake.conn_count(), 1, "no reconnect");
    assert_eq!(app.command_kinds().await.len(), 20);
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn withheld_heartbeat_acks_lead_to_a_resume_at_the_resume_url() {
    let fake = FakeDiscord::new(300);
    fake.ack_first.store(false, Ordering::SeqCst);
    let app = spawn_with_fake(&fake, false).await;
    let (_, identify) = fake.wait_greeting(1, Duration::from_secs(10)).await;
    assert_eq!(identify["op"], 2);
    let (index, resume) = fake.wait_greeting(2, Duration::from_secs(10)).await;
    assert_eq!(index, 1);
    assert!(fake.path(1).starts_with("/resume"), "{}", fake.path(1));
    assert_eq!(resume["op"], 6, "{resume}");
    assert_eq!(resume["d"]["session_id"], "sess-0");
    assert_eq!(resume["d"]["seq"], 1, "READY's sequence number");
    assert_eq!(resume["d"]["token"], BOT_TOKEN);
    common::wait_ready_line(&app.base, "discord_gateway: connected").await;
    // The resumed session delivers.
    let command = discord_command("800000000000000020", GUILD, ALICE, "whoami", json!([]));
    fake.order(1, Order::Send(interaction_create(3, &command)));
    fake.wait_callbacks("800000000000000020", 1).await;
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(
            r#"warden_transport_reconnects_total{transport="discord_gateway",reason="zombie"} 1"#
        ),
        "{metrics}"
    );
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_invalid_session_leads_to_a_new_identify() {
    let fake = FakeDiscord::new(30_000);
    let app = spawn_with_fake(&fake, false).await;
    fake.wait_greeting(1, Duration::from_secs(10)).await;
    fake.order(0, Order::Send(json!({"op": 9, "d": false}).to_string()));
    let (index, identify) = fake.wait_greeting(2, Duration::from_secs(10)).await;
    assert_eq!(index, 1);
    assert_eq!(
        identify["op"], 2,
        "a new IDENTIFY, not a RESUME: {identify}"
    );
    assert!(!fake.path(1).starts_with("/resume"), "{}", fake.path(1));
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_close_by_discord_is_resumed_and_op_7_too() {
    let fake = FakeDiscord::new(30_000);
    let app = spawn_with_fake(&fake, false).await;
    fake.wait_greeting(1, Duration::from_secs(10)).await;
    fake.order(0, Order::Close(4000));
    let (index, resume) = fake.wait_greeting(2, Duration::from_secs(10)).await;
    assert_eq!((index, &resume["op"]), (1, &json!(6)), "{resume}");
    assert_eq!(resume["d"]["session_id"], "sess-0");
    fake.order(1, Order::Send(json!({"op": 7, "d": null}).to_string()));
    let (index, resume) = fake.wait_greeting(3, Duration::from_secs(10)).await;
    assert_eq!((index, &resume["op"]), (2, &json!(6)), "{resume}");
    assert_eq!(resume["d"]["session_id"], "sess-0");
    assert_eq!(resume["d"]["seq"], 2, "RESUMED's sequence number");
    app.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_refused_token_stops_the_gateway_without_a_retry_loop() {
    let fake = FakeDiscord::new(30_000);
    fake.refuse_token.store(true, Ordering::SeqCst);
    let app = spawn_with_fake(&fake, false).await;
    let body = common::wait_ready_line(&app.base, "discord_gateway: stopped").await;
    assert!(body.contains("4004"), "{body}");
    assert!(!body.contains(BOT_TOKEN), "{body}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(fake.conn_count(), 1, "no second connection after 4004");
    // The HTTP route keeps working beside it.
    let command = discord_command("800000000000000030", GUILD, ALICE, "whoami", json!([]));
    assert_eq!(app.post_discord(&command, now()).await.status(), 200);
    app.server.shutdown().await.unwrap();
}

/// The lease is a promise: when the holder finds at renewal that another replica has the
/// lease, it closes its session (with 1000, which ends it) and stands by.
#[tokio::test]
async fn a_holder_that_loses_its_lease_closes_its_session() {
    let fake = FakeDiscord::new(30_000);
    let app = spawn_with_fake(&fake, false).await;
    fake.wait_greeting(1, Duration::from_secs(10)).await;
    common::wait_ready_line(&app.base, "discord_gateway: connected").await;
    let store = &app.server.state.service.store;
    let holder = store
        .lease_holder("discord_gateway")
        .await
        .unwrap()
        .unwrap();
    assert!(
        holder.owner.contains(&format!("/{}/", std::process::id())),
        "{holder:?}"
    );
    // Another replica takes the lease (as if this one's had lapsed).
    store
        .release_lease("discord_gateway", &holder.owner)
        .await
        .unwrap();
    let now_ms = chrono::Utc::now().timestamp_millis();
    assert!(store
        .acquire_lease("discord_gateway", "thief/1/x", now_ms, now_ms + 600_000)
        .await
        .unwrap());
    // The next renewal (at most 5 s away) finds it gone: the session closes, the state reads
    // `standby (lease lost)`, and the next standby attempt names the new holder.
    let body = common::wait_ready_line(
        &app.base,
        "discord_gateway: standby (lease held by thief/1/x",
    )
    .await;
    assert!(body.contains("thief/1/x"), "{body}");
    assert_eq!(
        fake.conn_count(),
        1,
        "no new session while another holds the lease"
    );
    app.server.shutdown().await.unwrap();
}

/// A free port on loopback for a warden process to bind.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_process(
    env: &std::collections::HashMap<String, String>,
    port: u16,
    log: &std::path::Path,
) -> Child {
    let mut env = env.clone();
    env.insert("WARDEN_LISTEN".into(), format!("127.0.0.1:{port}"));
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("serve")
        .env_clear()
        .envs(&env)
        .stdout(std::fs::File::create(log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Two warden processes on one database: exactly one opens a Gateway session, the other
/// stands by; when the holder is killed with SIGKILL, the other identifies within 30 s; a
/// graceful stop gives the lease back.
#[tokio::test]
async fn two_replicas_run_one_session_and_the_survivor_takes_over_after_kill_9() {
    let fake = FakeDiscord::new(30_000);
    let (rest, ws) = fake.start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("warden.toml");
    std::fs::write(&config, DIRECTORY).unwrap();
    let env = settings_env(
        dir.path(),
        &config,
        &shipped_commands(),
        &gateway_env(&rest, Some(&ws)),
    );
    let ports = [free_port(), free_port()];
    let mut replicas: Vec<Child> = ports
        .iter()
        .enumerate()
        .map(|(i, port)| start_process(&env, *port, &dir.path().join(format!("replica-{i}.log"))))
        .collect();
    let bases: Vec<String> = ports
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}"))
        .collect();
    fake.wait_greeting(1, Duration::from_secs(30)).await;
    // Both replicas are up, one connected and the other in standby naming the holder.
    let mut states = Vec::new();
    for base in &bases {
        let body = common::wait_ready_line(base, "discord_gateway: ").await;
        states.push(body);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let holder = loop {
        states = futures_util::future::join_all(bases.iter().map(|b| common::readyz(b))).await;
        let connected: Vec<usize> = (0..2)
            .filter(|i| states[*i].contains("discord_gateway: connected"))
            .collect();
        let standby = states
            .iter()
            .filter(|s| s.contains("discord_gateway: standby (lease held by"))
            .count();
        if connected.len() == 1 && standby == 1 {
            break connected[0];
        }
        assert!(Instant::now() < deadline, "{states:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        states[1 - holder].contains(&format!("/{}/", replicas[holder].id())),
        "the standby names the holder's process: {states:?}"
    );
    // Several standby attempts later, still one session.
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(fake.greetings().len(), 1, "{:?}", fake.greetings());
    assert_eq!(fake.conn_count(), 1);

    replicas[holder].kill().unwrap(); // SIGKILL: the lease is not released.
    replicas[holder].wait().unwrap();
    let killed_at = Instant::now();
    let (index, identify) = fake.wait_greeting(2, Duration::from_secs(30)).await;
    assert!(killed_at.elapsed() < Duration::from_secs(30));
    assert_eq!(index, 1);
    assert_eq!(identify["op"], 2);
    let survivor = 1 - holder;
    common::wait_ready_line(&bases[survivor], "discord_gateway: connected").await;

    // A graceful stop gives the lease back.
    Command::new("kill")
        .arg("-TERM")
        .arg(replicas[survivor].id().to_string())
        .status()
        .unwrap();
    replicas[survivor].wait().unwrap();
    let store = warden::storage::Store::connect(&env["WARDEN_DATABASE_URL"])
        .await
        .unwrap();
    assert_eq!(store.lease_holder("discord_gateway").await.unwrap(), None);
}

/// The bot token travels inside IDENTIFY and RESUME frames and the interaction token inside
/// INTERACTION_CREATE: at `RUST_LOG=trace` neither may reach the logs, in plain text or as the
/// hex dump of a WebSocket frame.
#[tokio::test]
async fn the_gateway_never_logs_its_tokens_even_at_trace() {
    const INTERACTION_TOKEN: &str = "itok-l0gsafe-4b1d";
    let fake = FakeDiscord::new(500);
    let (rest, ws) = fake.start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("warden.toml");
    std::fs::write(&config, DIRECTORY).unwrap();
    let mut env = settings_env(
        dir.path(),
        &config,
        &shipped_commands(),
        &gateway_env(&rest, Some(&ws)),
    );
    let port = free_port();
    env.insert("WARDEN_LISTEN".into(), format!("127.0.0.1:{port}"));
    env.insert("RUST_LOG".into(), "trace".into());
    env.insert("WARDEN_LOG_FORMAT".into(), "json".into());
    let log = dir.path().join("warden.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("serve")
        .env_clear()
        .envs(&env)
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(dir.path().join("warden.err")).unwrap())
        .spawn()
        .unwrap();
    fake.wait_greeting(1, Duration::from_secs(30)).await;
    let mut command = discord_command("800000000000000040", GUILD, ALICE, "whoami", json!([]));
    command["token"] = json!(INTERACTION_TOKEN);
    fake.order(0, Order::Send(interaction_create(2, &command)));
    fake.wait_callbacks("800000000000000040", 1).await;
    // A few heartbeats, each a logged frame.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    let mut output = std::fs::read_to_string(&log).unwrap();
    output.push_str(&std::fs::read_to_string(dir.path().join("warden.err")).unwrap());
    assert!(
        output.contains("Discord Gateway connected"),
        "the log was written"
    );
    for secret in [BOT_TOKEN, INTERACTION_TOKEN] {
        let line = output
            .lines()
            .find(|l| l.contains(secret))
            .unwrap_or_default();
        assert!(!output.contains(secret), "{secret} in the log: {line}");
        let hex_form = hex::encode(secret);
        assert!(!output.contains(&hex_form), "{secret} in the log, as hex");
    }
}
