//! Slack: the wire format of slash commands, interactions and Events API callbacks, turned into
//! neutral types (`wire`, `interaction`); neutral replies and messages rendered as Block Kit
//! (`render`); and the Web API client (`client`). Nothing else in warden knows Slack's JSON.

pub mod client;
mod interaction;
pub mod manifest;
pub mod render;
mod wire;

pub use client::{ErrorKind, SlackClient, SlackError};
pub use interaction::{parse_interaction, InteractionRequest, SlackInteraction};
pub use render::{render_reply, render_update};
pub use wire::{parse_event, EventRequest, SlashCommand};

use std::collections::HashMap;

use crate::chat::{ArgsInput, Invocation};
use crate::model::{Platform, PlatformUser};

/// Parses a form-encoded slash command body (already verified).
pub fn parse_command(body: &[u8]) -> Result<SlashCommand, String> {
    serde_urlencoded::from_bytes::<SlashCommand>(body)
        .map_err(|e| format!("not a Slack slash command: {e}"))
}

/// Builds the neutral invocation of a slash command. `root` is the root command (`/ops`), whose
/// first word names the warden command; `dedicated` maps per-command slash commands
/// (`/deploy`) to warden command names.
pub fn invocation(
    cmd: SlashCommand,
    root: &str,
    dedicated: &HashMap<String, String>,
    request_id: String,
    replay_key: Option<String>,
) -> Invocation {
    let text = cmd.text.trim();
    let (command, rest) = match dedicated.get(&cmd.command) {
        Some(name) if cmd.command != root => (name.clone(), text.to_string()),
        _ => match text.split_once(char::is_whitespace) {
            Some((name, rest)) => (name.to_string(), rest.trim().to_string()),
            None if text.is_empty() => ("help".to_string(), String::new()),
            None => (text.to_string(), String::new()),
        },
    };
    Invocation {
        request_id,
        platform: Platform::Slack,
        workspace: cmd.team_id.clone(),
        user: PlatformUser {
            platform: Platform::Slack,
            workspace: cmd.team_id,
            user: cmd.user_id,
        },
        user_name: cmd.user_name,
        channel: cmd.channel_id.map(|c| format!("slack:{c}")),
        command,
        input: ArgsInput::Text(rest),
        replay_key,
        reply: cmd
            .response_url
            .as_deref()
            .map(crate::chat::ReplyHandle::slack),
        thread: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(command: &str, text: &str) -> SlashCommand {
        parse_command(
            serde_urlencoded::to_string([
                ("team_id", "T01"),
                ("user_id", "U01"),
                ("user_name", "alice"),
                ("channel_id", "C01"),
                ("command", command),
                ("text", text),
                ("response_url", "https://hooks.slack.com/x"),
            ])
            .unwrap()
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn root_and_dedicated_commands() {
        let dedicated = HashMap::from([("/deploy".to_string(), "deploy".to_string())]);
        let inv = invocation(
            cmd("/ops", "deploy api  v1"),
            "/ops",
            &dedicated,
            "r".into(),
            None,
        );
        assert_eq!(inv.command, "deploy");
        assert_eq!(inv.input, ArgsInput::Text("api  v1".into()));
        assert_eq!(inv.channel.as_deref(), Some("slack:C01"));
        let inv = invocation(
            cmd("/deploy", "api v1"),
            "/ops",
            &dedicated,
            "r".into(),
            None,
        );
        assert_eq!(inv.command, "deploy");
        assert_eq!(inv.input, ArgsInput::Text("api v1".into()));
        let inv = invocation(cmd("/ops", "  "), "/ops", &dedicated, "r".into(), None);
        assert_eq!(inv.command, "help");
    }
}
