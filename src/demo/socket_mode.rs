//! `warden demo --socket-mode`: the no-public-URL story (SPEC §14). The real server starts
//! with `SLACK_APP_TOKEN` and no signing secret, so nothing can reach it from Slack over HTTP;
//! it connects out to a fake Slack Socket Mode server on 127.0.0.1, which plays people typing
//! slash commands, a connection refresh and a re-delivered envelope, and prints what goes
//! over the socket.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::routing::post;
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::transcript;

/// One connection warden opened, seen from the fake Slack.
struct Conn {
    to_warden: mpsc::UnboundedSender<Option<String>>,
}

/// The fake: the connections warden opened and every frame it sent back.
#[derive(Clone, Default)]
struct Fake {
    conns: Arc<Mutex<Vec<Conn>>>,
    acks: Arc<Mutex<Vec<(usize, Value)>>>,
}

impl Fake {
    /// Starts `apps.connections.open` (answering every other Web API method `ok`) and the
    /// WebSocket server; returns the Web API base URL.
    async fn start(&self) -> anyhow::Result<String> {
        let ws = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let ws_addr = ws.local_addr()?;
        let fake = self.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = ws.accept().await {
                let Ok(socket) = tokio_tungstenite::accept_async(tcp).await else {
                    continue;
                };
                let (tx, rx) = mpsc::unbounded_channel();
                let index = {
                    let mut conns = fake.conns.lock().unwrap_or_else(|p| p.into_inner());
                    conns.push(Conn { to_warden: tx });
                    conns.len()
                };
                tokio::spawn(serve(socket, index, rx, fake.acks.clone()));
            }
        });
        let open = move || async move {
            Json(json!({ "ok": true, "url": format!("ws://{ws_addr}/link/?ticket=demo") }))
        };
        let other = || async { Json(json!({ "ok": true })) };
        let app = Router::new()
            .route("/api/apps.connections.open", post(open))
            .fallback(other);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(format!("http://{addr}/api/"))
    }

    fn count(&self) -> usize {
        self.conns.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Sends `frame` on connection `n` (1-based); `None` closes it.
    fn send(&self, n: usize, frame: Option<String>) {
        let conns = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(conn) = conns.get(n - 1) {
            let _ = conn.to_warden.send(frame);
        }
    }

    /// Waits (at most 10 s) for warden's `n`th connection.
    async fn wait_conns(&self, n: usize) -> anyhow::Result<()> {
        for _ in 0..200 {
            if self.count() >= n {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("warden did not open connection {n}")
    }

    /// Waits (at most 10 s) for the `nth` ack of `envelope_id`: the connection and the ack.
    async fn ack(&self, envelope_id: &str, nth: usize) -> anyhow::Result<(usize, Value)> {
        for _ in 0..200 {
            let found = self
                .acks
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .filter(|(_, ack)| ack["envelope_id"] == envelope_id)
                .nth(nth)
                .cloned();
            if let Some(found) = found {
                return Ok(found);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("warden did not acknowledge {envelope_id}")
    }
}

async fn serve(
    socket: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    index: usize,
    mut from_story: mpsc::UnboundedReceiver<Option<String>>,
    acks: Arc<Mutex<Vec<(usize, Value)>>>,
) {
    let (mut sink, mut stream) = socket.split();
    let hello =
        json!({"type": "hello", "num_connections": index, "connection_info": {"app_id": "A0DEMO"}});
    if sink.send(Message::text(hello.to_string())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    if let Ok(ack) = serde_json::from_str::<Value>(text.as_str()) {
                        acks.lock().unwrap_or_else(|p| p.into_inner()).push((index, ack));
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            order = from_story.recv() => match order {
                Some(Some(frame)) => {
                    if sink.send(Message::text(frame)).await.is_err() {
                        break;
                    }
                }
                _ => {
                    let _ = sink.send(Message::Close(None)).await;
                    break;
                }
            },
        }
    }
}

/// A `slash_commands` envelope from `user` in the demo workspace.
fn slash(envelope_id: &str, user: &str, name: &str, text: &str) -> String {
    json!({
        "envelope_id": envelope_id,
        "type": "slash_commands",
        "accepts_response_payload": true,
        "payload": {
            "team_id": "T0DEMO", "team_domain": "demo", "channel_id": "C0DEPLOYS",
            "channel_name": "deploys", "user_id": user, "user_name": name, "command": "/ops",
            "text": text, "api_app_id": "A0DEMO",
            "response_url": "https://hooks.slack.invalid/commands/demo",
            "trigger_id": format!("{envelope_id}.demo"),
        },
    })
    .to_string()
}

/// The first line of an ack's answer, for the transcript.
fn answer_line(ack: &Value) -> String {
    let text = ack["payload"]["text"].as_str().unwrap_or("(no answer)");
    text.lines().next().unwrap_or_default().to_string()
}

/// Plays the Socket Mode story against a server started with `env` (the demo's environment
/// without its signing secret).
pub(super) async fn play(mut env: HashMap<String, String>) -> anyhow::Result<()> {
    let fake = Fake::default();
    let api = fake.start().await?;
    env.remove("SLACK_SIGNING_SECRET");
    env.insert("SLACK_API_URL".into(), api);
    env.insert("SLACK_APP_TOKEN".into(), "xapp-1-A0DEMO-demo".into());
    let settings =
        crate::config::Settings::from_env(&env).map_err(|p| anyhow::anyhow!(p.join("; ")))?;
    println!(
        "warden demo --socket-mode: no public URL. warden has no Slack signing secret, so its"
    );
    println!(
        "  HTTP routes refuse every Slack request; it connects out to a fake Slack Socket Mode"
    );
    println!("  server on 127.0.0.1 instead, and every request comes back over that WebSocket.");
    let server = crate::app::start(settings).await?;
    let result = story(&fake, &server).await;
    server.shutdown().await?;
    result
}

async fn story(fake: &Fake, server: &crate::app::RunningServer) -> anyhow::Result<()> {
    println!("{}", transcript::scene("warden connects"));
    fake.wait_conns(1).await?;
    println!("  warden → Slack  apps.connections.open with SLACK_APP_TOKEN, then a WebSocket");
    println!("  Slack → warden  hello (connection 1)");

    println!("{}", transcript::scene("ana types /ops whoami"));
    fake.send(1, Some(slash("e-1", "U0ANA", "ana", "whoami")));
    let (_, ack) = fake.ack("e-1", 0).await?;
    println!("  Slack → warden  slash_commands envelope e-1");
    println!(
        "  warden → Slack  ack e-1 with the answer: {}",
        answer_line(&ack)
    );

    println!("{}", transcript::scene("Slack refreshes the connection"));
    fake.send(
        1,
        Some(json!({"type": "disconnect", "reason": "refresh_requested"}).to_string()),
    );
    fake.wait_conns(2).await?;
    println!("  Slack → warden  disconnect (refresh_requested) on connection 1");
    println!("  warden opened connection 2 while connection 1 was still open");
    fake.send(1, None);

    println!(
        "{}",
        transcript::scene("ben types /ops help, over the new connection")
    );
    fake.send(2, Some(slash("e-2", "U0BEN", "ben", "help")));
    let (conn, ack) = fake.ack("e-2", 0).await?;
    println!(
        "  warden → Slack  ack e-2 on connection {conn}: {}",
        answer_line(&ack)
    );

    println!("{}", transcript::scene("Slack delivers envelope e-2 again"));
    fake.send(2, Some(slash("e-2", "U0BEN", "ben", "help")));
    fake.ack("e-2", 1).await?;
    let invoked = server
        .state
        .service
        .store
        .audit_events(&crate::storage::AuditQuery::default())
        .await
        .context("reading the audit log")?
        .into_iter()
        .filter(|e| e.kind.starts_with("command."))
        .count();
    println!("  warden → Slack  ack e-2 again; the audit log holds {invoked} commands, not 3: the envelope id is the replay key");
    let ready = server
        .state
        .transports
        .snapshot()
        .into_iter()
        .map(|(name, state)| format!("{name}: {state}"))
        .collect::<Vec<_>>()
        .join(", ");
    println!("{}", transcript::scene("the end"));
    println!("  /readyz reports {ready}. In Slack: `warden manifest slack --socket-mode`, an");
    println!(
        "  app-level token in SLACK_APP_TOKEN, and `warden serve` (README, \"Connecting Slack\")."
    );
    Ok(())
}
