//! The dispatcher's rules, without IO: how errors are classified, when a reply handle has
//! expired, and what the alert about a dead letter says.

use std::time::Duration;

use crate::chat::Message;
use crate::model::ChannelRef;
use crate::notifier::{DeliveryError, DeliveryErrorKind};
use crate::outbox::{Delivery, Outbound, StoredMessage};
use crate::storage::OutboxRow;

/// How long a Slack `response_url` can be used.
const SLACK_REPLY_LIFE: Duration = Duration::from_secs(30 * 60);
/// How long a Discord interaction token can be used for follow-ups.
const DISCORD_REPLY_LIFE: Duration = Duration::from_secs(15 * 60);
/// How many characters of a message an alert quotes.
pub(super) const PREVIEW_CHARS: usize = 80;

/// The alert about an important dead letter. It is not important itself, so a dead alert
/// is never alerted about again; nor is anything that died in the dead-letter channel.
pub(super) fn alert(
    dead_letter_channel: Option<&ChannelRef>,
    row: &OutboxRow,
    failures: u32,
    error: &str,
) -> Option<Outbound> {
    let channel = dead_letter_channel?;
    if !row.important || row.lane == channel.to_string() {
        return None;
    }
    let whom = match &row.channel {
        Some(channel) if row.reply_to.is_none() => format!("`{channel}`"),
        _ => "a request's reply handle".to_string(),
    };
    let text = format!(
            "Outbox #{id} could not be delivered: a {kind} to {whom} for tenant `{tenant}` failed after {failures} attempt(s): {error}.\nMessage: “{preview}”\nRetry with `warden outbox retry {id}`, or give up with `warden outbox drop {id}`.",
            id = row.id,
            kind = row.kind,
            tenant = row.tenant,
            preview = preview(&row.message),
        );
    Some(Outbound {
        tenant: row.tenant.clone(),
        delivery: Delivery::Post {
            channel: channel.clone(),
            key: None,
            fallback: None,
            thread: None,
        },
        message: Message {
            text,
            buttons: Vec::new(),
        },
        important: false,
    })
}

pub(super) fn permanent(message: impl Into<String>) -> DeliveryError {
    DeliveryError {
        kind: DeliveryErrorKind::Permanent,
        message: message.into(),
    }
}

/// The `ChatNotifier` always fails with a `DeliveryError`; anything else is taken as passing.
pub(super) fn classify(error: anyhow::Error) -> DeliveryError {
    match error.downcast::<DeliveryError>() {
        Ok(e) => e,
        Err(other) => DeliveryError {
            kind: DeliveryErrorKind::Retryable { retry_after: None },
            message: truncate(&format!("{other:#}"), 200),
        },
    }
}

pub(super) fn parse_channel(row: &OutboxRow) -> Result<ChannelRef, DeliveryError> {
    row.channel
        .as_deref()
        .ok_or_else(|| permanent("a post without a channel"))?
        .parse()
        .map_err(|_: String| permanent("the channel is not slack:ID or discord:ID"))
}

/// Why a reply handle (stored form) created at `created_ms` can no longer be used at
/// `now_ms`, if it cannot. Unknown kinds of handle are left to the notifier to refuse.
pub(super) fn expired(handle: &str, created_ms: i64, now_ms: i64) -> Option<String> {
    let (life, what) = if handle.starts_with("slack:") {
        (SLACK_REPLY_LIFE, "a Slack response_url lasts 30 minutes")
    } else if handle.starts_with("discord:") {
        (
            DISCORD_REPLY_LIFE,
            "a Discord interaction token lasts 15 minutes",
        )
    } else {
        return None;
    };
    let age_ms = now_ms.saturating_sub(created_ms);
    (age_ms > life.as_millis() as i64).then(|| {
        format!(
            "the reply handle expired ({what}; this message is {} minutes old)",
            age_ms / 60_000
        )
    })
}

/// At most `max` characters of `text`, marked when cut.
pub(super) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The first characters of a stored message's text, on one line.
pub(super) fn preview(stored: &str) -> String {
    let text = serde_json::from_str::<StoredMessage>(stored)
        .map(|m| m.text)
        .unwrap_or_default();
    truncate(
        &text.split_whitespace().collect::<Vec<_>>().join(" "),
        PREVIEW_CHARS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_handles_expire_by_platform() {
        let min = 60_000;
        let cases = [
            ("slack:https://hooks.slack.com/x", 29 * min, false),
            ("slack:https://hooks.slack.com/x", 31 * min, true),
            ("discord:1:tok", 14 * min, false),
            ("discord:1:tok", 16 * min, true),
            ("other:x", 1000 * min, false),
        ];
        for (handle, age, dead) in cases {
            let problem = expired(handle, 0, age);
            assert_eq!(problem.is_some(), dead, "{handle} {age}");
            assert!(!problem.unwrap_or_default().contains("hooks"));
        }
    }

    #[test]
    fn previews_are_one_short_line() {
        let long = serde_json::to_string(&StoredMessage::from(&crate::chat::Message {
            text: format!("line one\nline two {}", "x".repeat(200)),
            buttons: Vec::new(),
        }))
        .unwrap();
        let p = preview(&long);
        assert!(p.starts_with("line one line two x"), "{p}");
        assert_eq!(p.chars().count(), PREVIEW_CHARS + 1);
        assert_eq!(truncate("héllo", 10), "héllo");
        assert_eq!(truncate("héllo", 2), "hé…");
    }
}
