//! An alert's card and the replies in its thread, as neutral messages: what people see in the
//! channel while an alert fires, after it resolves, and when a storm is folded.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::template::CommandTemplate;
use super::{action_value, display_id, Alert, AlertStatus};
use crate::chat::{Button, ButtonKind, Message};
use crate::config::{AlertActionKind, AlertRoute};

/// Descriptions longer than this are cut on the card (the source link has the rest).
const MAX_DESCRIPTION: usize = 600;
/// Labels shown on the card, at most.
const MAX_LABELS: usize = 12;

/// One of a card's actions as it was offered: what the button runs, filled in from the alert
/// when the card was posted. Stored with the alert, so that a click runs what the card showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardAction {
    /// The button's label.
    pub label: String,
    /// What it does.
    pub kind: CardActionKind,
}

/// What a card's action does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CardActionKind {
    /// Runs this command with these named arguments.
    Command {
        /// The registry command.
        command: String,
        /// `name=value` pairs, filled in.
        args: Vec<(String, String)>,
        /// Whether `--dry-run` is part of it.
        #[serde(default)]
        dry_run: bool,
    },
    /// Silences the alert for this many seconds.
    Silence {
        /// The silence's length.
        seconds: u64,
    },
    /// Not offered: the alert lacks something the command needs.
    Unavailable {
        /// What is missing, e.g. "label `service`".
        missing: String,
    },
}

impl CardAction {
    /// The command line it runs, as a person would type it.
    pub fn command_line(&self) -> Option<String> {
        match &self.kind {
            CardActionKind::Command {
                command,
                args,
                dry_run,
            } => Some(CommandTemplate::display(
                command,
                &crate::commands::args::RawArgs {
                    positional: Vec::new(),
                    named: args.clone(),
                    dry_run: *dry_run,
                    reason: None,
                },
            )),
            _ => None,
        }
    }
}

/// The actions a route offers for an alert, filled in from its labels and annotations.
pub fn actions_for(route: &AlertRoute, alert: &Alert) -> Vec<CardAction> {
    route
        .actions
        .iter()
        .map(|action| {
            let kind = match &action.kind {
                AlertActionKind::Silence(d) => CardActionKind::Silence {
                    seconds: d.as_secs(),
                },
                AlertActionKind::Command(text) => match CommandTemplate::parse(text) {
                    Ok(template) => match template.fill(&alert.labels, &alert.annotations) {
                        Ok(args) => CardActionKind::Command {
                            command: template.command,
                            args: args.named,
                            dry_run: args.dry_run,
                        },
                        Err(missing) => CardActionKind::Unavailable { missing },
                    },
                    // `warden check` refuses such a route; a card still shows why.
                    Err(problem) => CardActionKind::Unavailable { missing: problem },
                },
            };
            CardAction {
                label: action.label.clone(),
                kind,
            }
        })
        .collect()
}

/// A duration for people: `45s`, `12m 3s`, `1h 5m`, `2d 3h`.
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) if sec > 0 => format!("{m}m {sec}s"),
        (0, 0, _) => format!("{m}m"),
        (0, _, _) if m > 0 => format!("{h}h {m}m"),
        (0, _, _) => format!("{h}h"),
        _ if h > 0 => format!("{d}d {h}h"),
        _ => format!("{d}d"),
    }
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The card of alert `id`: status, name, severity, summary and description, labels, since
/// when (`fired_at`, as recorded when it started firing) and from which source; the actions
/// while it fires, and its links always. `resolved_after` is how long it fired, once it has
/// resolved.
pub fn card(
    id: i64,
    source: &str,
    alert: &Alert,
    fired_at: DateTime<Utc>,
    resolved_after: Option<i64>,
    actions: &[CardAction],
) -> Message {
    let mut text = match (alert.status, resolved_after) {
        (AlertStatus::Resolved, Some(secs)) => format!(
            "*RESOLVED* `{}` after {} · {}",
            alert.name,
            human_duration(secs),
            display_id(id)
        ),
        (AlertStatus::Resolved, None) => {
            format!("*RESOLVED* `{}` · {}", alert.name, display_id(id))
        }
        (AlertStatus::Firing, _) => format!("*FIRING* `{}` · {}", alert.name, display_id(id)),
    };
    if let Some(severity) = alert.severity() {
        text.push_str(&format!(" · severity `{severity}`"));
    }
    if let Some(summary) = alert
        .annotations
        .get("summary")
        .filter(|s| !s.trim().is_empty())
    {
        text.push_str(&format!("\n{}", summary.trim()));
    }
    if let Some(description) = alert
        .annotations
        .get("description")
        .filter(|s| !s.trim().is_empty())
    {
        let mut d: String = description.trim().chars().take(MAX_DESCRIPTION).collect();
        if description.trim().chars().count() > MAX_DESCRIPTION {
            d.push('…');
        }
        text.push_str(&format!("\n{d}"));
    }
    let labels: Vec<String> = alert
        .labels
        .iter()
        .filter(|(k, _)| k.as_str() != "alertname")
        .take(MAX_LABELS)
        .map(|(k, v)| format!("`{k}={v}`"))
        .collect();
    if !labels.is_empty() {
        text.push_str(&format!("\nLabels: {}", labels.join(" ")));
    }
    text.push_str(&format!(
        "\nFiring since {} · from `{source}`",
        when(fired_at)
    ));
    let mut buttons = Vec::new();
    if alert.status == AlertStatus::Firing {
        for (i, action) in actions.iter().enumerate() {
            match &action.kind {
                CardActionKind::Command { .. } => buttons.push(Button::labelled(
                    ButtonKind::AlertAction,
                    action_value(id, i),
                    action.label.clone(),
                )),
                CardActionKind::Silence { .. } => buttons.push(Button::labelled(
                    ButtonKind::Silence,
                    action_value(id, i),
                    action.label.clone(),
                )),
                CardActionKind::Unavailable { missing } => text.push_str(&format!(
                    "\n{} is not offered: the alert has no {missing}.",
                    action.label
                )),
            }
        }
    }
    for link in &alert.links {
        buttons.push(Button::labelled(
            ButtonKind::Link,
            link.url.clone(),
            link.label.clone(),
        ));
    }
    Message { text, buttons }
}

/// The reply in the thread when the alert resolves.
pub fn resolved_reply(alert: &Alert, after_secs: i64) -> Message {
    Message {
        text: format!(
            "Resolved: `{}` fired for {}.",
            alert.name,
            human_duration(after_secs)
        ),
        buttons: Vec::new(),
    }
}

/// The reply in the thread when a resolved alert fires again.
pub fn refiring_reply(alert: &Alert) -> Message {
    Message {
        text: format!("Firing again: `{}`.", alert.name),
        buttons: Vec::new(),
    }
}

/// The counts a storm's summary card shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StormCounts {
    /// Alerts folded into it, by name, most frequent first: (name, firing, resolved).
    pub by_name: Vec<(String, i64, i64)>,
}

/// The summary card of a storm: how many alerts were folded into it, by name.
pub fn storm_card(
    route: usize,
    minute_start: DateTime<Utc>,
    threshold: u32,
    counts: &StormCounts,
) -> Message {
    let total: i64 = counts.by_name.iter().map(|(_, f, r)| f + r).sum();
    let firing: i64 = counts.by_name.iter().map(|(_, f, _)| f).sum();
    let mut text = format!(
        "*Alert storm*: {total} more alert{} arrived in the minute from {} than this route's {threshold} cards a minute, so they are folded into this one message ({firing} firing, {} resolved).",
        if total == 1 { "" } else { "s" },
        minute_start.format("%H:%M UTC"),
        total - firing,
    );
    for (name, firing, resolved) in counts.by_name.iter().take(15) {
        text.push_str(&format!(
            "\n• `{name}`: {firing} firing, {resolved} resolved"
        ));
    }
    if counts.by_name.len() > 15 {
        text.push_str(&format!(
            "\n… and {} more alert names.",
            counts.by_name.len() - 15
        ));
    }
    text.push_str(&format!(
        "\nRoute {} · `/ops audit kind=alert.received` lists every one.",
        route + 1
    ));
    Message {
        text,
        buttons: Vec::new(),
    }
}
