//! Slack, spoken through slack-morphism: slash commands, interactions and Events API callbacks
//! parsed into the library's models and turned into neutral types (`command`, `interaction`,
//! `events`); neutral replies and messages rendered as the library's Block Kit models
//! (`render`); and the Web API client on the library's hyper client (`client`). Nothing else in
//! warden knows Slack's JSON or slack-morphism.

pub mod client;
mod command;
mod events;
mod interaction;
pub mod manifest;
pub mod render;
pub mod socket;

pub use client::{ErrorKind, SlackClient, SlackError};
pub use command::{parse_command, parse_command_payload, SlashCommand};
pub use events::{parse_event, EventRequest};
pub use interaction::{
    parse_interaction, parse_interaction_payload, InteractionRequest, SlackInteraction,
};
pub use render::{render_reply, render_update};

use std::collections::HashMap;

use crate::chat::{ArgsInput, Invocation};
use crate::model::{Platform, PlatformUser};

/// Builds the neutral invocation of a slash command. `root` is the root command (`/ops`), whose
/// first word names the warden command; `dedicated` maps per-command slash commands
/// (`/deploy`) to warden command names.
pub fn invocation(
    cmd: SlashCommand,
    root: &str,
    dedicated: &HashMap<String, String>,
    request_id: String,
    replay_key: Option<String>,
    transport: crate::chat::Transport,
) -> Invocation {
    let SlashCommand { event, user_name } = cmd;
    let slash = event.command.0;
    let text = event.text.as_deref().unwrap_or_default().trim();
    let (command, rest) = match dedicated.get(&slash) {
        Some(name) if slash != root => (name.clone(), text.to_string()),
        _ => match text.split_once(char::is_whitespace) {
            Some((name, rest)) => (name.to_string(), rest.trim().to_string()),
            None if text.is_empty() => ("help".to_string(), String::new()),
            None => (text.to_string(), String::new()),
        },
    };
    Invocation {
        request_id,
        transport,
        platform: Platform::Slack,
        workspace: event.team_id.0.clone(),
        user: PlatformUser {
            platform: Platform::Slack,
            workspace: event.team_id.0,
            user: event.user_id.0,
        },
        user_name,
        channel: Some(format!("slack:{}", event.channel_id.0)),
        command,
        input: ArgsInput::Text(rest),
        replay_key,
        reply: Some(crate::chat::ReplyHandle::slack(
            event.response_url.0.as_str(),
        )),
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
                ("trigger_id", "1.2.3"),
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
            crate::chat::Transport::Http,
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
            crate::chat::Transport::Http,
        );
        assert_eq!(inv.command, "deploy");
        assert_eq!(inv.input, ArgsInput::Text("api v1".into()));
        let inv = invocation(
            cmd("/ops", "  "),
            "/ops",
            &dedicated,
            "r".into(),
            None,
            crate::chat::Transport::Http,
        );
        assert_eq!(inv.command, "help");
    }
}
