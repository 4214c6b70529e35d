//! One Gateway connection: HELLO, IDENTIFY or RESUME, heartbeats, dispatches, and why it ended.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use secrecy::ExposeSecret;
use serde_json::Value;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::lease::Held;
use super::{GatewayConfig, LABEL};
use crate::app::AppState;
use crate::chat::discord::gateway::{self, CloseAction, Dispatch, Incoming};
use crate::chat::discord::{self, DiscordClient};
use crate::chat::Transport;
use crate::transport::backoff::random_unit;
use crate::transport::TransportState;

/// What resuming needs, kept across connections while this replica holds the lease.
#[derive(Debug, Default)]
pub(super) struct Session {
    /// The session id from READY.
    pub id: Option<String>,
    /// Where to resume it.
    pub resume_url: Option<String>,
    /// The last sequence number received.
    pub seq: Option<u64>,
}

/// Why a connection ended.
pub(super) enum Ended {
    /// warden is stopping.
    Shutdown,
    /// The lease could not be confirmed in time.
    LeaseLost,
    /// Discord refused the configuration for good.
    Fatal(String),
    /// Connect again: resume the session, or identify anew when `identify`.
    Reconnect {
        /// The metrics label (`zombie`, `reconnect`, `invalid_session`, `closed`, `failed`).
        reason: &'static str,
        /// The session is gone: the next connection identifies.
        identify: bool,
    },
}

/// How long Discord may take to open the connection and say HELLO.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs one connection to `url` until it ends.
pub(super) async fn run(
    state: &Arc<AppState>,
    client: &DiscordClient,
    config: &GatewayConfig,
    url: &str,
    session: &mut Session,
    held: &Held,
    stop: &mut watch::Receiver<bool>,
) -> Ended {
    let failed = Ended::Reconnect {
        reason: "failed",
        identify: false,
    };
    let connect = tokio::time::timeout(
        OPEN_TIMEOUT,
        tokio_tungstenite::connect_async(gateway::connect_url(url)),
    );
    let ws = tokio::select! {
        connected = connect => match connected {
            Ok(Ok((ws, _))) => ws,
            Ok(Err(error)) => {
                tracing::warn!("Discord Gateway: connecting failed: {error}");
                return failed;
            }
            Err(_) => {
                tracing::warn!("Discord Gateway: connecting timed out");
                return failed;
            }
        },
        _ = held.lost() => return Ended::LeaseLost,
        _ = stop.changed() => return Ended::Shutdown,
    };
    let (mut sink, mut stream) = ws.split();
    let token = config.token.expose_secret();

    // HELLO comes first and sets the heartbeat; IDENTIFY (or RESUME) answers it.
    let interval = tokio::select! {
        frame = tokio::time::timeout(OPEN_TIMEOUT, stream.next()) => match frame {
            Ok(Some(Ok(WsMessage::Text(text)))) => match gateway::parse(text.as_str()) {
                Ok(Incoming::Hello { heartbeat_interval }) => heartbeat_interval,
                Ok(other) => {
                    tracing::warn!("Discord Gateway: expected HELLO, got {other:?}");
                    return failed;
                }
                Err(problem) => {
                    tracing::warn!("Discord Gateway: {problem}");
                    return failed;
                }
            },
            Ok(Some(Ok(WsMessage::Close(frame)))) => return closed(frame.map(|f| u16::from(f.code))),
            _ => {
                tracing::warn!("Discord Gateway: no HELLO");
                return failed;
            }
        },
        _ = held.lost() => return Ended::LeaseLost,
        _ = stop.changed() => return Ended::Shutdown,
    };
    let greeting = match (&session.id, session.seq) {
        (Some(id), seq) => gateway::resume(token, id, seq),
        (None, _) => gateway::identify(token),
    };
    if sink.send(WsMessage::text(greeting)).await.is_err() {
        return failed;
    }

    // The first heartbeat goes after a random part of the interval, so that many clients
    // reconnecting together do not heartbeat together; then one every interval.
    let first = interval.mul_f64(random_unit());
    let mut beat = tokio::time::interval_at((Instant::now() + first).into(), interval);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut acked = true;
    let ended = loop {
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(WsMessage::Text(text))) => match gateway::parse(text.as_str()) {
                    Ok(Incoming::HeartbeatAck) => acked = true,
                    Ok(Incoming::HeartbeatRequest) => {
                        if sink.send(WsMessage::text(gateway::heartbeat(session.seq))).await.is_err() {
                            break failed;
                        }
                    }
                    Ok(Incoming::Reconnect) => {
                        tracing::info!("Discord asked for a new Gateway connection");
                        break close(&mut sink, "reconnect", false).await;
                    }
                    Ok(Incoming::InvalidSession { resumable }) => {
                        tracing::info!(resumable, "Discord invalidated the Gateway session");
                        break close(&mut sink, "invalid_session", !resumable).await;
                    }
                    Ok(Incoming::Dispatch { seq, event }) => {
                        if seq.is_some() {
                            session.seq = seq;
                        }
                        dispatch(state, client, session, event);
                    }
                    Ok(Incoming::Hello { .. }) | Ok(Incoming::Other(_)) => {}
                    Err(problem) => tracing::warn!("Discord Gateway: {problem}"),
                },
                Some(Ok(WsMessage::Close(frame))) => break closed(frame.map(|f| u16::from(f.code))),
                None => break closed(None),
                // Pings are answered by tungstenite itself.
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    tracing::warn!("Discord Gateway connection failed: {error}");
                    break closed(None);
                }
            },
            _ = beat.tick() => {
                if !acked {
                    // No ACK since the last heartbeat: the connection is a zombie.
                    tracing::warn!("Discord Gateway: heartbeat not acknowledged; reconnecting");
                    break close(&mut sink, "zombie", false).await;
                }
                acked = false;
                if sink.send(WsMessage::text(gateway::heartbeat(session.seq))).await.is_err() {
                    break failed;
                }
            }
            _ = held.lost() => {
                close_for_good(&mut sink).await;
                break Ended::LeaseLost;
            }
            _ = stop.changed() => {
                close_for_good(&mut sink).await;
                break Ended::Shutdown;
            }
        }
    };
    ended
}

/// Handles one dispatch. An interaction runs in its own task: the loop goes straight back to
/// reading and heartbeating.
fn dispatch(state: &Arc<AppState>, client: &DiscordClient, session: &mut Session, event: Dispatch) {
    match event {
        Dispatch::Ready {
            session_id,
            resume_gateway_url,
        } => {
            session.id = Some(session_id);
            session.resume_url = Some(resume_gateway_url);
            state.transports.set(LABEL, TransportState::Connected);
            tracing::info!("Discord Gateway connected (session identified)");
        }
        Dispatch::Resumed => {
            state.transports.set(LABEL, TransportState::Connected);
            tracing::info!("Discord Gateway session resumed");
        }
        Dispatch::InteractionCreate(body) => {
            tokio::spawn(interaction(state.clone(), client.clone(), body));
        }
        Dispatch::Other(name) => tracing::debug!("Discord Gateway event `{name}` ignored"),
    }
}

/// Handles one INTERACTION_CREATE exactly as the HTTP route would, and posts the same answer
/// to the interaction's callback URL.
async fn interaction(state: Arc<AppState>, client: DiscordClient, body: Value) {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let Some(target) = gateway::callback_target(&body) else {
        tracing::warn!("Discord Gateway: an interaction without id or token was ignored");
        return;
    };
    let bytes = body.to_string();
    let answer = match discord::parse_interaction(bytes.as_bytes(), request_id.clone()) {
        Ok(parsed) => {
            super::super::discord::answer(&state, parsed, &request_id, Transport::Gateway).await
        }
        Err(problem) => {
            tracing::warn!(discord.interaction = %target.id, "unreadable Gateway interaction: {problem}");
            state.metrics.observe_request(
                "discord_gateway:interaction",
                "malformed",
                started.elapsed().as_secs_f64(),
            );
            return;
        }
    };
    if let Err(error) = client
        .interaction_callback(&target.id, &target.token, &answer.body)
        .await
    {
        tracing::warn!(discord.interaction = %target.id, request.id = %request_id, "answering a Gateway interaction failed: {error}");
    }
    state.metrics.observe_request(
        "discord_gateway:interaction",
        answer.outcome,
        started.elapsed().as_secs_f64(),
    );
}

type Sink = futures_util::stream::SplitSink<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    WsMessage,
>;

/// Closes a connection warden means to replace, with a code that keeps the session
/// resumable unless `identify`.
async fn close(sink: &mut Sink, reason: &'static str, identify: bool) -> Ended {
    let frame = CloseFrame {
        code: CloseCode::from(gateway::RESUMABLE_CLOSE),
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        sink.send(WsMessage::Close(Some(frame))),
    )
    .await;
    Ended::Reconnect { reason, identify }
}

/// Closes with 1000, which ends the session: another replica will identify its own.
async fn close_for_good(sink: &mut Sink) {
    let frame = CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    };
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        sink.send(WsMessage::Close(Some(frame))),
    )
    .await;
}

/// What Discord's close (or a lost connection, `None`) means.
fn closed(code: Option<u16>) -> Ended {
    match gateway::close_action(code) {
        CloseAction::Stop(reason) => Ended::Fatal(reason.to_string()),
        CloseAction::Identify => Ended::Reconnect {
            reason: "closed",
            identify: true,
        },
        CloseAction::Resume => Ended::Reconnect {
            reason: "closed",
            identify: false,
        },
    }
}
