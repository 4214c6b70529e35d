//! Discord interactions: PING, application commands, button clicks and modal submits.
//!
//! Input: an interaction body as Discord posts it (JSON), or a Gateway frame (an
//! INTERACTION_CREATE carries the same body in `d`).
//!
//! Invariants:
//! - no input panics; a refusal is an error message;
//! - a command is Discord's, by the user in the guild the payload names, in a `discord:`
//!   channel, with the interaction id as its replay key; `dry_run` and `reason` options become
//!   the flags, never named arguments;
//! - a click or a modal submit carries the interaction id in its handle and replay key;
//! - the interaction token, a credential, never shows in `Debug` output (of the parsed
//!   interaction, or of a Gateway interaction's callback target);
//! - a Gateway frame is read or refused with a message, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden::chat::discord::gateway::{self, Dispatch, Incoming};
use warden::chat::discord::{parse_interaction, Interaction};
use warden::chat::ArgsInput;
use warden::model::Platform;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        match gateway::parse(text) {
            Ok(Incoming::Dispatch {
                event: Dispatch::InteractionCreate(body),
                ..
            }) => {
                let _ = parse_interaction(body.to_string().as_bytes(), "req-1".into());
                if let Some(target) = gateway::callback_target(&body) {
                    let shown = format!("{target:?}");
                    if warden_fuzz::recognisable(&target.token, &[&target.id, "CallbackTarget"]) {
                        assert!(!shown.contains(target.token.as_str()), "{shown}");
                    }
                }
            }
            Ok(_) => {}
            Err(message) => assert!(!message.is_empty()),
        }
    }
    let interaction = match parse_interaction(data, "req-1".into()) {
        Ok(interaction) => interaction,
        Err(message) => {
            assert!(!message.is_empty());
            return;
        }
    };
    let shown = format!("{interaction:?}");
    let token = serde_json::from_slice::<serde_json::Value>(data)
        .ok()
        .and_then(|v| v.get("token")?.as_str().map(str::to_string));
    if let Some(token) = &token {
        let text = String::from_utf8_lossy(data);
        let rest = text.replacen(token.as_str(), "", 1);
        if warden_fuzz::recognisable(token, &[&rest, "req-1", "discord:", "InteractionHandle"]) {
            assert!(!shown.contains(token.as_str()), "token in Debug: {shown}");
        }
    }
    match interaction {
        Interaction::Ping => {}
        Interaction::Command(inv) => {
            assert_eq!(inv.platform, Platform::Discord);
            assert_eq!(inv.user.platform, Platform::Discord);
            assert_eq!(inv.user.workspace, inv.workspace);
            let id = inv
                .replay_key
                .as_deref()
                .and_then(|k| k.strip_prefix("discord:"));
            assert!(id.is_some(), "{:?}", inv.replay_key);
            if let Some(channel) = &inv.channel {
                assert!(channel.starts_with("discord:"));
            }
            let ArgsInput::Structured(args) = &inv.input else {
                panic!("a Discord command carries typed options");
            };
            assert!(args.positional.is_empty());
            for (name, _) in &args.named {
                assert!(
                    !matches!(name.as_str(), "dry_run" | "dry-run" | "reason"),
                    "{name}"
                );
            }
        }
        Interaction::Click { click, handle } => {
            assert_eq!(click.platform, Platform::Discord);
            assert_eq!(click.user.workspace, click.workspace);
            assert_eq!(click.replay_key, Some(format!("discord:{}", handle.id)));
            if let Some(message) = &click.message {
                assert_eq!(
                    click.channel.as_deref(),
                    Some(format!("discord:{}", message.channel.id).as_str())
                );
            }
        }
        Interaction::ModalSubmit { submit, handle } => {
            assert_eq!(submit.platform, Platform::Discord);
            assert_eq!(submit.user.workspace, submit.workspace);
            assert_eq!(submit.replay_key, Some(format!("discord:{}", handle.id)));
        }
        Interaction::Component { id } => {
            assert!(!shown.is_empty() && shown.contains(&format!("{id:?}")))
        }
    }
});
