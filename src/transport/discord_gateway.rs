//! The Discord Gateway (SPEC §14): warden opens the WebSocket itself, so no public URL is
//! needed. Discord keeps one session per bot, so one replica at a time runs it, under a lease
//! row in the database (`lease`); the others wait in standby and take over within 30 s of the
//! holder's death.
//!
//! While it holds the lease, the loop identifies, heartbeats, and resumes the session after a
//! drop: a heartbeat not acknowledged before the next one means a zombie connection, which is
//! closed and resumed at `resume_gateway_url`. A refused token (close code 4004) or another
//! configuration Discord will keep refusing (4010–4014) stops the transport with one log line.
//!
//! Each INTERACTION_CREATE is handled in its own task, exactly as `POST /discord/interactions`
//! handles it (`transport::discord`), and answered through the interaction's callback URL, so
//! a slow command never delays a heartbeat or another interaction.

mod connection;
pub mod lease;

use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use tokio::sync::watch;

use super::backoff::{random_unit, Backoff};
use super::TransportState;
use crate::app::AppState;
use crate::chat::discord::DiscordClient;
use connection::{Ended, Session};

/// The transport's label in metrics, `/readyz` and the lease table.
pub const LABEL: &str = "discord_gateway";

/// The longest wait between two connection attempts.
const BACKOFF_CAP: Duration = Duration::from_secs(30);

/// What the Gateway loop needs.
pub struct GatewayConfig {
    /// `DISCORD_GATEWAY_URL`, or `None` to ask `GET {DISCORD_API_URL}/gateway`.
    pub url: Option<String>,
    /// The bot token.
    pub token: SecretString,
    /// This replica's name in the lease table.
    pub owner: String,
    /// The lease's timings.
    pub lease: lease::Timing,
    /// The first reconnect delay (doubling, with jitter, up to 30 s).
    pub backoff_base: Duration,
}

/// Runs the Gateway until `stop` turns true or Discord refuses the configuration.
pub async fn run(
    state: Arc<AppState>,
    client: DiscordClient,
    config: GatewayConfig,
    mut stop: watch::Receiver<bool>,
) {
    let transports = state.transports.clone();
    let store = state.service.store.clone();
    transports.set(LABEL, TransportState::Connecting);
    let mut backoff = Backoff::new(config.backoff_base, BACKOFF_CAP);
    loop {
        let Some(held) = lease::wait_for(&store, &transports, &config, &mut stop).await else {
            break;
        };
        tracing::info!(lease.owner = %config.owner, "holding the Discord Gateway lease");
        let ended = hold(&state, &client, &config, &held, &mut backoff, &mut stop).await;
        held.stop();
        match ended {
            Hold::Shutdown => break,
            Hold::LeaseLost => {
                transports.set(LABEL, TransportState::Standby("lease lost".into()));
                transports.reconnect(LABEL, "lease_lost");
                tracing::warn!(
                    "Discord Gateway closed: the lease could not be renewed in time; trying to take it again"
                );
            }
            Hold::Fatal(reason) => {
                tracing::error!(
                    "Discord Gateway stopped: {reason}; fix the configuration (DISCORD_BOT_TOKEN, Bot → Reset Token) and restart"
                );
                transports.set(LABEL, TransportState::Stopped(reason));
                lease::release(&store, &config.owner).await;
                return;
            }
        }
    }
    lease::release(&store, &config.owner).await;
    if !matches!(transports.state(LABEL), Some(TransportState::Stopped(_))) {
        transports.set(LABEL, TransportState::Stopped("shut down".into()));
    }
}

/// How holding the lease ended.
enum Hold {
    Shutdown,
    LeaseLost,
    Fatal(String),
}

/// Runs connections one after the other, resuming the session between them, until the lease
/// is lost, warden stops, or Discord refuses the configuration.
async fn hold(
    state: &Arc<AppState>,
    client: &DiscordClient,
    config: &GatewayConfig,
    held: &lease::Held,
    backoff: &mut Backoff,
    stop: &mut watch::Receiver<bool>,
) -> Hold {
    let transports = &state.transports;
    let mut session = Session::default();
    let mut gateway_url = config.url.clone();
    let mut wait = Duration::ZERO;
    loop {
        if !wait.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = held.lost() => return Hold::LeaseLost,
                _ = stop.changed() => return Hold::Shutdown,
            }
        }
        // The Gateway's URL is asked once per lease; a resume goes to the session's own URL.
        let url = match (&session.resume_url, &gateway_url) {
            (Some(url), _) if session.id.is_some() => url.clone(),
            (_, Some(url)) => url.clone(),
            (_, None) => match client.gateway_url().await {
                Ok(url) => {
                    gateway_url = Some(url.clone());
                    url
                }
                Err(error) => {
                    wait = backoff.next_delay(random_unit());
                    transports.reconnect(LABEL, "failed");
                    tracing::warn!(
                        "Discord Gateway: GET /gateway failed ({error}); trying again in {:.1}s",
                        wait.as_secs_f64()
                    );
                    continue;
                }
            },
        };
        let started = Instant::now();
        let ended = connection::run(state, client, config, &url, &mut session, held, stop).await;
        let reason = match ended {
            Ended::Shutdown => return Hold::Shutdown,
            Ended::LeaseLost => return Hold::LeaseLost,
            Ended::Fatal(reason) => return Hold::Fatal(reason),
            Ended::Reconnect { reason, identify } => {
                if identify {
                    session = Session::default();
                }
                reason
            }
        };
        transports.set(LABEL, TransportState::Connecting);
        transports.reconnect(LABEL, reason);
        // A connection that worked for a while starts the delays over.
        if started.elapsed() > BACKOFF_CAP {
            backoff.reset();
        }
        wait = if reason == "invalid_session" {
            // Discord asks for a new IDENTIFY after a random 1–5 s.
            Duration::from_millis(1_000 + (random_unit() * 4_000.0) as u64)
        } else {
            backoff.next_delay(random_unit())
        };
        tracing::warn!(
            "Discord Gateway connection ended ({reason}); {} in {:.1}s",
            if session.id.is_some() {
                "resuming"
            } else {
                "identifying"
            },
            wait.as_secs_f64()
        );
    }
}

/// This replica's name in the lease table: host, process id and a random part, so that an
/// operator can tell which replica holds the Gateway and a restarted process is a new owner.
pub fn owner_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}/{}/{}", std::process::id(), &random[..8])
}
