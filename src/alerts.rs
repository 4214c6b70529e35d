//! Alerts from monitoring (SPEC §15), pure: the neutral [`Alert`] every source's payload
//! becomes (`parse`), which route takes it, the buttons its card offers (`template` fills
//! the route's command templates from the alert's labels), the card and its thread replies
//! (`card`), the Alertmanager silence a Silence click asks for (`silence`), and the checks of
//! the routes that need the command registry (`check`).
//!
//! An alert is known by its tenant and fingerprint: one card per alert, edited as it fires,
//! resolves and fires again. `service::alerts` does the IO: one transaction per payload
//! (alert rows, audit events and outbox rows together), and the clicks.
//!
//! Architecture invariant: no IO and no clock here.

pub mod card;
pub mod check;
pub mod parse;
pub mod silence;
pub mod template;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::AlertRoute;

/// Whether an alert is firing or has resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    /// Firing.
    Firing,
    /// Resolved.
    Resolved,
}

impl AlertStatus {
    /// The stored and shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }

    /// The status for a stored name.
    pub fn parse(s: &str) -> Option<AlertStatus> {
        match s {
            "firing" => Some(AlertStatus::Firing),
            "resolved" => Some(AlertStatus::Resolved),
            _ => None,
        }
    }
}

/// A link shown as a button on the card (a runbook, the source, a dashboard).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertLink {
    /// The button's label.
    pub label: String,
    /// An `http(s)` URL (others are dropped when parsing).
    pub url: String,
}

/// One alert, whatever sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// The sender's identity for the alert: the same alert has the same fingerprint each
    /// time it is sent.
    pub fingerprint: String,
    /// Firing or resolved.
    pub status: AlertStatus,
    /// Its name (`alertname`, or the generic alert's title).
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its annotations (`summary`, `description`, `runbook_url`…).
    pub annotations: BTreeMap<String, String>,
    /// When it started firing, when the sender says.
    pub starts_at: Option<DateTime<Utc>>,
    /// When it resolved, when the sender says (and it has).
    pub ends_at: Option<DateTime<Utc>>,
    /// Links to show as buttons.
    pub links: Vec<AlertLink>,
}

impl Alert {
    /// Its severity label, if any.
    pub fn severity(&self) -> Option<&str> {
        self.labels.get("severity").map(String::as_str)
    }
}

/// How an alert is shown in ids: `AL-12`.
pub fn display_id(id: i64) -> String {
    format!("AL-{id}")
}

/// The button value of a card's action: `AL-12:0` (the alert and the action's position).
pub fn action_value(id: i64, action: usize) -> String {
    format!("AL-{id}:{action}")
}

/// The alert id and action position of a button value, if it is one.
pub fn parse_action_value(value: &str) -> Option<(i64, usize)> {
    let (id, action) = value.strip_prefix("AL-")?.split_once(':')?;
    Some((id.parse().ok()?, action.parse().ok()?))
}

/// The outbox key of an alert's card.
pub fn card_key(id: i64) -> String {
    format!("alert:{id}")
}

/// The outbox key of a storm's summary card.
pub fn storm_key(id: i64) -> String {
    format!("alert-storm:{id}")
}

/// The route that takes an alert from `source`: the first whose matchers all hold.
pub fn route_for<'a>(
    routes: &'a [AlertRoute],
    source: &str,
    labels: &BTreeMap<String, String>,
) -> Option<&'a AlertRoute> {
    routes.iter().find(|r| r.matches(source, labels))
}

/// The minute an instant falls in, counted from the Unix epoch: the storm window.
pub fn storm_minute(at_ms: i64) -> i64 {
    at_ms.div_euclid(60_000)
}

#[cfg(test)]
mod tests;
