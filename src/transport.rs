//! How chat requests reach warden besides its HTTP routes: outbound WebSockets that need no
//! public URL (SPEC §14). Every transport ends in the same neutral `Invocation` / `Click` and
//! the same service calls as HTTP; the transport is only a field of the invocation.
//!
//! - `slack`: the answers to Slack requests, shared by the HTTP routes and Socket Mode.
//! - `slack_socket`: the Socket Mode connection loop (open, hello, envelopes, acks, refresh,
//!   dead-socket detection, backoff).
//! - `discord`: the answers to Discord interactions, shared by the HTTP route and the Gateway.
//! - `discord_gateway`: the Gateway session loop (identify, heartbeat, resume) under a lease
//!   that one replica holds at a time.
//! - `status`: each transport's state, for `/readyz` and `/metrics`.
//! - `backoff`: the reconnect delay with jitter (pure).

pub mod backoff;
pub mod discord;
pub mod discord_gateway;
pub mod slack;
pub mod slack_socket;
pub mod status;

pub use status::{TransportState, Transports};

use crate::chat::Reply;

/// Logs a failed request once and tells the caller nothing was done.
pub fn unavailable(request_id: &str, error: &anyhow::Error) -> Reply {
    tracing::error!(request.id = %request_id, "request failed: {error:#}");
    Reply::ephemeral(format!(
        "warden could not record this request (its database is unavailable), so it did nothing. Try again in a minute. Reference: `{request_id}`"
    ))
}
