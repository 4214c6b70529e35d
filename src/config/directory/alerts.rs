//! The alert part of `warden.toml` (SPEC §15): `[alert_sources.NAME]`, where alerts come
//! from and how they authenticate, and `[[alert_routes]]`, which tenant and channel an alert
//! goes to and which buttons its card offers.

use std::time::Duration;

use crate::model::ChannelRef;

/// Which monitoring system sends to a source, and so which route and payload shape it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertSourceKind {
    /// Prometheus Alertmanager, webhook version 4: `POST /alerts/alertmanager`.
    Alertmanager,
    /// Grafana's webhook contact point: `POST /alerts/grafana`.
    Grafana,
    /// warden's generic alert: `POST /alerts/webhook`.
    Webhook,
}

impl AlertSourceKind {
    /// The name written in the file and in the route's path.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertSourceKind::Alertmanager => "alertmanager",
            AlertSourceKind::Grafana => "grafana",
            AlertSourceKind::Webhook => "webhook",
        }
    }

    /// The kind for a name written in the file.
    pub fn parse(s: &str) -> Option<AlertSourceKind> {
        [
            AlertSourceKind::Alertmanager,
            AlertSourceKind::Grafana,
            AlertSourceKind::Webhook,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// How a source proves a request is its own. Only the names of the environment variables
/// are configuration; their values are read when warden starts and never stored here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertAuth {
    /// `Authorization: Bearer <token>`, the token in this environment variable.
    Bearer {
        /// The variable's name.
        env: String,
    },
    /// `X-Warden-Timestamp` and `X-Warden-Signature: v1=hex(HMAC-SHA256(secret,
    /// "{timestamp}.{body}"))` (SPEC §5), the secret in this environment variable.
    Hmac {
        /// The variable's name.
        env: String,
    },
}

impl AlertAuth {
    /// The environment variable holding the credential.
    pub fn env(&self) -> &str {
        match self {
            AlertAuth::Bearer { env } | AlertAuth::Hmac { env } => env,
        }
    }
}

/// `[alert_sources.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertSource {
    /// The source's name, as routes name it.
    pub name: String,
    /// What sends to it.
    pub kind: AlertSourceKind,
    /// How its requests authenticate.
    pub auth: AlertAuth,
    /// Alertmanager's base URL, for the Silence button.
    pub silence_url: Option<String>,
}

/// A label matcher of a route: `match` (equal) or `match_re` (the whole value matches the
/// regular expression, anchored at both ends as in Alertmanager).
#[derive(Debug, Clone)]
pub enum LabelMatch {
    /// The label equals the value.
    Equal(String, String),
    /// The label's whole value matches.
    Regex(String, regex::Regex),
}

impl PartialEq for LabelMatch {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (LabelMatch::Equal(a, x), LabelMatch::Equal(b, y)) => a == b && x == y,
            (LabelMatch::Regex(a, x), LabelMatch::Regex(b, y)) => {
                a == b && x.as_str() == y.as_str()
            }
            _ => false,
        }
    }
}

impl LabelMatch {
    /// Whether the labels satisfy this matcher (a missing label is the empty string, as in
    /// Alertmanager).
    pub fn matches(&self, labels: &std::collections::BTreeMap<String, String>) -> bool {
        match self {
            LabelMatch::Equal(name, value) => {
                labels.get(name).map(String::as_str).unwrap_or("") == value
            }
            LabelMatch::Regex(name, re) => {
                re.is_match(labels.get(name).map(String::as_str).unwrap_or(""))
            }
        }
    }
}

/// What an action button does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertActionKind {
    /// Runs a registry command, typed after `/ops`, with `{{labels.X}}` and
    /// `{{annotations.X}}` filled in from the alert (each value stays one argument value).
    Command(String),
    /// Silences the alert in Alertmanager for this long.
    Silence(Duration),
}

/// One button of a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertAction {
    /// The button's label.
    pub label: String,
    /// What it does.
    pub kind: AlertActionKind,
}

/// `[[alert_routes]]`: routes are tried in file order; the first match wins.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRoute {
    /// Its position among the routes (0-based), which names it in storm windows.
    pub index: usize,
    /// The source it takes alerts from.
    pub source: String,
    /// The tenant the alerts belong to.
    pub tenant: String,
    /// Where the cards go (the route's `channel`, else the tenant's `alert_channel`).
    pub channel: ChannelRef,
    /// Every matcher must hold.
    pub matchers: Vec<LabelMatch>,
    /// The buttons of its cards.
    pub actions: Vec<AlertAction>,
    /// New cards per minute before the rest are folded into one summary card.
    pub storm: u32,
    /// The file it was declared in.
    pub file: std::path::PathBuf,
    /// The line of its `[[alert_routes]]` entry.
    pub line: usize,
}

impl AlertRoute {
    /// Whether an alert from `source` with these labels belongs to this route.
    pub fn matches(
        &self,
        source: &str,
        labels: &std::collections::BTreeMap<String, String>,
    ) -> bool {
        self.source == source && self.matchers.iter().all(|m| m.matches(labels))
    }
}

/// The storm threshold when a route does not set one (SPEC §15).
pub const DEFAULT_STORM: u32 = 20;
