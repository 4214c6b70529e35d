//! Slack Socket Mode (SPEC §14): warden opens the WebSocket itself, so no public URL is
//! needed. One supervisor keeps one live connection: it calls `apps.connections.open`,
//! connects, and replaces the connection when Slack asks (`disconnect`: the new one is opened
//! while the old one still delivers), when it closes, or when it stops answering pings. A
//! refused app token stops the transport with one log line instead of a retry loop.
//!
//! Each envelope is handled in its own task, so a slow request never delays the
//! acknowledgement of the next one on the same connection; the acknowledgement goes back
//! through the connection's writer with the answer as its `payload`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::backoff::{random_unit, Backoff};
use super::slack as answers;
use super::TransportState;
use crate::app::AppState;
use crate::chat::slack::socket::{self, Envelope, EnvelopeKind, Frame, Opened};
use crate::chat::slack::{self, SlackInteraction};
use crate::chat::Transport;

/// The transport's label in metrics and `/readyz`.
pub const LABEL: &str = "slack_socket";

/// The longest wait between two connection attempts.
const BACKOFF_CAP: Duration = Duration::from_secs(30);

/// How long a connection Slack asked to refresh may keep delivering before warden closes it.
const REFRESH_GRACE: Duration = Duration::from_secs(30);

/// What the Socket Mode loop needs.
pub struct SocketConfig {
    /// The Web API base URL, ending with `/` (`SLACK_API_URL`).
    pub api_url: String,
    /// The app-level token (`xapp-…`).
    pub app_token: SecretString,
    /// How often to ping; a connection silent for two intervals is dead.
    pub ping: Duration,
    /// The first reconnect delay (doubling, with jitter, up to 30 s).
    pub backoff_base: Duration,
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What a connection tells the supervisor.
#[derive(Debug)]
enum Signal {
    /// Slack said `hello`: the connection works.
    Hello(u64),
    /// Slack asked for a new connection; this one keeps delivering until it closes.
    Refresh(u64),
    /// The connection ended, and why (`closed`, `dead`).
    Ended(u64, &'static str),
}

/// Why no connection could be made.
enum OpenError {
    /// The token was refused: stop.
    Refused(String),
    /// Anything else: try again after a delay.
    Failed(String),
}

/// Runs Socket Mode until `stop` turns true or the token is refused.
pub async fn run(state: Arc<AppState>, config: SocketConfig, mut stop: watch::Receiver<bool>) {
    let transports = state.transports.clone();
    transports.set(LABEL, TransportState::Connecting);
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(http) => http,
        Err(error) => {
            tracing::error!("Slack Socket Mode stopped: cannot build its HTTP client: {error}");
            transports.set(LABEL, TransportState::Stopped(error.to_string()));
            return;
        }
    };
    let (signal_tx, mut signals) = mpsc::channel::<Signal>(16);
    let mut backoff = Backoff::new(config.backoff_base, BACKOFF_CAP);
    let mut connections = JoinSet::new();
    let mut current: Option<u64> = None;
    let mut next_id = 0u64;
    let mut wait = Duration::ZERO;
    loop {
        if current.is_none() {
            if !wait.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => break,
                }
            }
            let opened = tokio::select! {
                opened = open(&http, &config) => opened,
                _ = stop.changed() => break,
            };
            match opened {
                Ok(ws) => {
                    next_id += 1;
                    current = Some(next_id);
                    wait = Duration::ZERO;
                    connections.spawn(connection(
                        ws,
                        next_id,
                        state.clone(),
                        signal_tx.clone(),
                        stop.clone(),
                        config.ping,
                    ));
                }
                Err(OpenError::Refused(error)) => {
                    tracing::error!(
                        "Slack Socket Mode stopped: Slack refused SLACK_APP_TOKEN ({error}); create an app-level token with the connections:write scope, set SLACK_APP_TOKEN and restart"
                    );
                    transports.set(
                        LABEL,
                        TransportState::Stopped(format!("SLACK_APP_TOKEN refused: {error}")),
                    );
                    break;
                }
                Err(OpenError::Failed(error)) => {
                    wait = backoff.next_delay(random_unit());
                    transports.reconnect(LABEL, "failed");
                    tracing::warn!(
                        "Slack Socket Mode: could not connect ({error}); trying again in {:.1}s",
                        wait.as_secs_f64()
                    );
                    continue;
                }
            }
        }
        tokio::select! {
            Some(signal) = signals.recv() => match signal {
                Signal::Hello(id) if current == Some(id) => {
                    backoff.reset();
                    transports.set(LABEL, TransportState::Connected);
                    tracing::info!(connection = id, "Slack Socket Mode connected");
                }
                Signal::Refresh(id) if current == Some(id) => {
                    // The old connection keeps delivering and acknowledging until Slack closes
                    // it; the new one is opened right away.
                    transports.reconnect(LABEL, "refresh");
                    current = None;
                }
                Signal::Ended(id, reason) if current == Some(id) => {
                    transports.set(LABEL, TransportState::Connecting);
                    transports.reconnect(LABEL, reason);
                    wait = backoff.next_delay(random_unit());
                    tracing::warn!(
                        connection = id,
                        "Slack Socket Mode connection {reason}; reconnecting in {:.1}s",
                        wait.as_secs_f64()
                    );
                    current = None;
                }
                // A replaced connection saying goodbye, or a late hello.
                _ => {}
            },
            Some(_) = connections.join_next() => {}
            _ = stop.changed() => break,
        }
    }
    // Connections watch `stop` too and close themselves; a refused token leaves none.
    drop(signal_tx);
    while connections.join_next().await.is_some() {}
    if !matches!(transports.state(LABEL), Some(TransportState::Stopped(_))) {
        transports.set(LABEL, TransportState::Stopped("shut down".into()));
    }
}

/// Calls `apps.connections.open` and connects to the URL it returns.
async fn open(http: &reqwest::Client, config: &SocketConfig) -> Result<Socket, OpenError> {
    let response = http
        .post(format!("{}apps.connections.open", config.api_url))
        .bearer_auth(config.app_token.expose_secret())
        .send()
        .await
        .map_err(|e| OpenError::Failed(format!("apps.connections.open: {e}")))?;
    if response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return Err(OpenError::Failed(
            "apps.connections.open: rate limited".into(),
        ));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| OpenError::Failed(format!("apps.connections.open: {e}")))?;
    let url = match socket::parse_opened(&body) {
        Opened::Url(url) => url,
        Opened::Refused(error) => return Err(OpenError::Refused(error)),
        Opened::Failed(error) => {
            return Err(OpenError::Failed(format!("apps.connections.open: {error}")))
        }
    };
    let connect = tokio_tungstenite::connect_async(url.as_str());
    match tokio::time::timeout(Duration::from_secs(10), connect).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(error)) => Err(OpenError::Failed(format!("connecting: {error}"))),
        Err(_) => Err(OpenError::Failed("connecting timed out".into())),
    }
}

/// Reads and writes one connection until it closes, goes silent, or warden stops.
async fn connection(
    ws: Socket,
    id: u64,
    state: Arc<AppState>,
    signals: mpsc::Sender<Signal>,
    mut stop: watch::Receiver<bool>,
    ping_every: Duration,
) {
    let (mut sink, mut stream) = ws.split();
    let (ack_tx, mut acks) = mpsc::channel::<String>(64);
    let mut ping = tokio::time::interval(ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let mut refresh_asked: Option<Instant> = None;
    let ending = loop {
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(WsMessage::Text(text))) => {
                    last_heard = Instant::now();
                    match socket::parse_frame(text.as_str()) {
                        Ok(Frame::Hello { num_connections }) => {
                            tracing::info!(
                                connection = id,
                                slack.num_connections = num_connections,
                                "Slack Socket Mode hello"
                            );
                            let _ = signals.send(Signal::Hello(id)).await;
                        }
                        Ok(Frame::Disconnect { reason }) => {
                            tracing::info!(connection = id, "Slack asked for a new Socket Mode connection ({reason})");
                            if refresh_asked.is_none() {
                                refresh_asked = Some(Instant::now());
                                let _ = signals.send(Signal::Refresh(id)).await;
                            }
                        }
                        Ok(Frame::Envelope(envelope)) => {
                            tokio::spawn(answer(state.clone(), envelope, ack_tx.clone()));
                        }
                        Ok(Frame::Other(kind)) => {
                            tracing::debug!(connection = id, "Socket Mode frame `{kind}` ignored");
                        }
                        Err(problem) => tracing::warn!(connection = id, "Socket Mode: {problem}"),
                    }
                }
                Some(Ok(WsMessage::Close(_))) | None => break "closed",
                // Pings are answered by tungstenite itself; pongs and anything else show the
                // connection is alive.
                Some(Ok(_)) => last_heard = Instant::now(),
                Some(Err(error)) => {
                    tracing::warn!(connection = id, "Socket Mode connection failed: {error}");
                    break "closed";
                }
            },
            Some(ack) = acks.recv() => {
                if sink.send(WsMessage::text(ack)).await.is_err() {
                    break "closed";
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > ping_every * 2 {
                    break "dead";
                }
                if refresh_asked.is_some_and(|at| at.elapsed() > REFRESH_GRACE) {
                    let _ = sink.send(WsMessage::Close(None)).await;
                    break "closed";
                }
                if sink.send(WsMessage::Ping(Default::default())).await.is_err() {
                    break "closed";
                }
            }
            _ = stop.changed() => {
                let _ = sink.send(WsMessage::Close(None)).await;
                return;
            }
        }
    };
    let _ = signals.send(Signal::Ended(id, ending)).await;
}

/// Handles one envelope and queues its acknowledgement. A payload warden cannot read is
/// acknowledged anyway (delivering it again would not help); an event the database could not
/// record is not, so that Slack delivers it again.
async fn answer(state: Arc<AppState>, envelope: Envelope, acks: mpsc::Sender<String>) {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let Envelope {
        envelope_id,
        kind,
        payload,
        accepts_response_payload,
    } = envelope;
    let (route, outcome, body) = match kind {
        EnvelopeKind::SlashCommand => match slack::parse_command_payload(&payload) {
            Ok(cmd) => {
                // The envelope id is the replay key: Slack keeps it when it delivers again.
                let replay_key = format!("slack-envelope:{envelope_id}");
                let answer =
                    answers::command(&state, cmd, request_id, replay_key, Transport::SocketMode)
                        .await;
                ("slash_commands", answer.outcome, Some(answer.body))
            }
            Err(problem) => {
                tracing::warn!("Socket Mode slash command refused: {problem}");
                ("slash_commands", "malformed", None)
            }
        },
        EnvelopeKind::Interactive => {
            match slack::parse_interaction_payload(payload, request_id.clone()) {
                Ok(mut interaction) => {
                    let form = matches!(interaction, SlackInteraction::ModalSubmit(_));
                    if let SlackInteraction::Click { click, .. } = &mut interaction {
                        click.transport = Transport::SocketMode;
                    }
                    let answer = answers::interaction(&state, interaction, request_id).await;
                    // Only a form's answer (close, or errors under the input) is read from the
                    // ack; a click is answered through its response_url.
                    let body = (form && accepts_response_payload).then_some(answer.body);
                    ("interactive", answer.outcome, body)
                }
                Err(problem) => {
                    tracing::warn!("Socket Mode interaction refused: {problem}");
                    ("interactive", "malformed", None)
                }
            }
        }
        EnvelopeKind::EventsApi => match slack::parse_event(payload.to_string().as_bytes()) {
            Ok(event) => {
                let answer = answers::event(&state, event, request_id, Transport::SocketMode).await;
                if answer.retry {
                    state.metrics.observe_request(
                        "socket_mode:events_api",
                        answer.outcome,
                        started.elapsed().as_secs_f64(),
                    );
                    return;
                }
                ("events_api", answer.outcome, None)
            }
            Err(problem) => {
                tracing::warn!("Socket Mode event refused: {problem}");
                ("events_api", "malformed", None)
            }
        },
    };
    state.metrics.observe_request(
        &format!("socket_mode:{route}"),
        outcome,
        started.elapsed().as_secs_f64(),
    );
    let _ = acks.send(socket::ack(&envelope_id, body.as_ref())).await;
}
