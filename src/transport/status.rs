//! The state of each outbound transport, shared by its loop, `/readyz` and `/metrics`.

use std::sync::{Arc, Mutex};

use crate::metrics::Metrics;

/// Where a transport is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportState {
    /// Opening a connection (or waiting before the next attempt).
    Connecting,
    /// Connected and receiving.
    Connected,
    /// Configured, but another replica holds the lease (the Discord Gateway): who, for
    /// `/readyz`.
    Standby(String),
    /// Stopped for good, e.g. a refused token: the reason, for `/readyz`.
    Stopped(String),
}

impl std::fmt::Display for TransportState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransportState::Connecting => f.write_str("connecting"),
            TransportState::Connected => f.write_str("connected"),
            TransportState::Standby(why) => write!(f, "standby ({why})"),
            TransportState::Stopped(reason) => write!(f, "stopped ({reason})"),
        }
    }
}

/// The configured transports and their states, keyed by their metrics label
/// (`slack_socket`, `discord_gateway`).
#[derive(Debug, Clone)]
pub struct Transports {
    states: Arc<Mutex<Vec<(&'static str, TransportState)>>>,
    metrics: Arc<Metrics>,
}

impl Transports {
    /// No transport yet.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Transports {
            states: Arc::default(),
            metrics,
        }
    }

    /// Records `transport`'s state and its `warden_transport_connected` gauge.
    pub fn set(&self, transport: &'static str, state: TransportState) {
        self.metrics
            .transport_connected(transport, state == TransportState::Connected);
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        match states.iter_mut().find(|(name, _)| *name == transport) {
            Some((_, current)) => *current = state,
            None => states.push((transport, state)),
        }
    }

    /// Counts a replaced connection.
    pub fn reconnect(&self, transport: &'static str, reason: &str) {
        self.metrics.transport_reconnect(transport, reason);
    }

    /// Every configured transport with its state.
    pub fn snapshot(&self) -> Vec<(&'static str, TransportState)> {
        self.states
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The state of one transport, if configured.
    pub fn state(&self, transport: &str) -> Option<TransportState> {
        self.snapshot()
            .into_iter()
            .find(|(name, _)| *name == transport)
            .map(|(_, state)| state)
    }
}
