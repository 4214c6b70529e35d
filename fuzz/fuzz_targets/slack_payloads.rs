//! Slack interactivity payloads (button clicks, modal submissions) and Events API callbacks.
//!
//! Input: a JSON document. It is parsed as an Events API body, and as the `payload` of an
//! interactivity body (form-encoded, as Slack posts it); the input is also tried as a raw
//! interactivity body, and as a Socket Mode frame.
//!
//! Invariants:
//! - no input panics; a refusal is an error message;
//! - a click is Slack's, by the user and in the workspace the payload names, in a `slack:`
//!   channel, with a replay key naming the action's timestamp and the user, and a message
//!   reference in the click's own channel;
//! - a modal submission keeps only values of named inputs and a `slack:` channel;
//! - the `response_url`, a credential, never shows in `Debug` output;
//! - a Socket Mode envelope always has a non-empty `envelope_id`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden::chat::slack::{parse_event, parse_interaction, EventRequest, SlackInteraction};
use warden::model::Platform;

fn check(interaction: SlackInteraction, payload: &str) {
    let shown = format!("{interaction:?}");
    match interaction {
        SlackInteraction::Click {
            click,
            response_url,
            ..
        } => {
            assert_eq!(click.platform, Platform::Slack);
            assert_eq!(click.user.platform, Platform::Slack);
            assert_eq!(click.user.workspace, click.workspace);
            assert_eq!(click.request_id, "req-1");
            if let Some(channel) = &click.channel {
                assert!(channel.starts_with("slack:"));
            }
            if let Some(key) = &click.replay_key {
                assert!(key.starts_with("slack-action:"), "{key}");
                assert!(key.ends_with(&format!(":{}", click.user.user)), "{key}");
            }
            if let Some(message) = &click.message {
                assert_eq!(message.channel.platform, Platform::Slack);
                assert_eq!(
                    click.channel.as_deref(),
                    Some(format!("slack:{}", message.channel.id).as_str())
                );
            }
            if let Some(url) = response_url {
                // The URL is looked for only where it cannot also be some other field.
                let rest = payload.replacen(&url, "", 1);
                if warden_fuzz::recognisable(&url, &[&rest, "req-1", "slack-action:"]) {
                    assert!(!shown.contains(&url), "response_url in Debug: {shown}");
                }
            }
        }
        SlackInteraction::ModalSubmit(submit) => {
            assert_eq!(submit.platform, Platform::Slack);
            assert_eq!(submit.user.workspace, submit.workspace);
            if let Some(channel) = &submit.channel {
                assert!(channel.starts_with("slack:"));
            }
            if let Some(key) = &submit.replay_key {
                assert!(key.starts_with("slack-view:"));
            }
        }
        SlackInteraction::Other(other) => {
            assert!(!other.kind.is_empty() || payload.contains("\"type\""));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = parse_interaction(data, "req-1".into()) {
        let payload = serde_urlencoded::from_bytes::<Vec<(String, String)>>(data)
            .ok()
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "payload"))
            .map(|(_, v)| v)
            .unwrap_or_default();
        check(raw, &payload);
    }
    let Some(json) = warden_fuzz::text(data) else {
        return;
    };
    let body = serde_urlencoded::to_string([("payload", json)]).expect("strings encode");
    match parse_interaction(body.as_bytes(), "req-1".into()) {
        Ok(interaction) => check(interaction, json),
        // The message names what the bytes are not: an interaction, or one kind of it.
        Err(message) => assert!(message.starts_with("not a Slack "), "{message}"),
    }
    match parse_event(data) {
        Ok(EventRequest::AppMention { event_id, .. }) => {
            assert!(!event_id.is_empty() || json.contains("\"\""))
        }
        Ok(_) => {}
        Err(message) => assert!(!message.is_empty()),
    }
    match warden::chat::slack::socket::parse_frame(json) {
        Ok(warden::chat::slack::socket::Frame::Envelope(envelope)) => {
            assert!(!envelope.envelope_id.is_empty())
        }
        Ok(_) => {}
        Err(message) => assert!(!message.is_empty()),
    }
});
