//! Discord's interaction shapes, reduced to the fields warden reads.

use serde::Deserialize;

use crate::chat::{ArgsInput, Invocation};
use crate::commands::args::RawArgs;
use crate::model::{Platform, PlatformUser};

/// A verified interaction, classified.
#[derive(Debug, Clone)]
pub enum Interaction {
    /// Discord checking the endpoint.
    Ping,
    /// An application command, already turned into the neutral invocation.
    Command(Box<Invocation>),
    /// A button click (type 3) or a modal submit (type 5), with its interaction id.
    Component {
        /// The interaction id, the replay key.
        id: String,
    },
}

#[derive(Deserialize)]
struct RawInteraction {
    #[serde(rename = "type")]
    kind: u8,
    id: String,
    #[serde(default)]
    guild_id: Option<String>,
    #[serde(default)]
    channel_id: Option<String>,
    #[serde(default)]
    member: Option<Member>,
    #[serde(default)]
    user: Option<User>,
    /// Kept raw: its shape depends on the interaction type.
    #[serde(default)]
    data: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Member {
    user: User,
}

#[derive(Deserialize)]
struct User {
    id: String,
    #[serde(default)]
    username: Option<String>,
}

#[derive(Deserialize)]
struct CommandData {
    name: String,
    #[serde(default)]
    options: Vec<CommandOption>,
}

#[derive(Deserialize)]
struct CommandOption {
    name: String,
    #[serde(default)]
    value: Option<serde_json::Value>,
}

fn option_text(value: serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Parses a verified interaction body.
pub fn parse_interaction(body: &[u8], request_id: String) -> Result<Interaction, String> {
    let raw: RawInteraction =
        serde_json::from_slice(body).map_err(|e| format!("not a Discord interaction: {e}"))?;
    match raw.kind {
        1 => Ok(Interaction::Ping),
        2 => {
            let data: CommandData = raw
                .data
                .ok_or("application command without data")
                .and_then(|d| {
                    serde_json::from_value(d).map_err(|_| "application command data is malformed")
                })?;
            let user = raw
                .member
                .map(|m| m.user)
                .or(raw.user)
                .ok_or("interaction without a user")?;
            // Interactions from direct messages have no guild; they are refused at the tenant
            // step, which needs a workspace string to report.
            let guild = raw.guild_id.unwrap_or_default();
            let mut args = RawArgs::default();
            for option in data.options {
                let value = option.value.map(option_text).unwrap_or_default();
                match option.name.as_str() {
                    "dry_run" | "dry-run" => args.dry_run = value == "true",
                    "reason" => args.reason = Some(value),
                    _ => args.named.push((option.name, value)),
                }
            }
            Ok(Interaction::Command(Box::new(Invocation {
                request_id,
                platform: Platform::Discord,
                workspace: guild.clone(),
                user: PlatformUser {
                    platform: Platform::Discord,
                    workspace: guild,
                    user: user.id,
                },
                user_name: user.username,
                channel: raw.channel_id.map(|c| format!("discord:{c}")),
                command: data.name,
                input: ArgsInput::Structured(args),
                replay_key: Some(format!("discord:{}", raw.id)),
            })))
        }
        3 | 5 => Ok(Interaction::Component { id: raw.id }),
        other => Err(format!("unsupported interaction type {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_options_become_named_args() {
        let body = br#"{"type":2,"id":"42","guild_id":"9","channel_id":"7","member":{"user":{"id":"1","username":"alice"}},"data":{"id":"c","name":"deploy","type":1,"options":[{"name":"service","type":3,"value":"api"},{"name":"replicas","type":4,"value":3},{"name":"dry_run","type":5,"value":true},{"name":"reason","type":3,"value":"hotfix"}]}}"#;
        let Interaction::Command(inv) = parse_interaction(body, "r".into()).unwrap() else {
            panic!("expected a command")
        };
        assert_eq!(inv.command, "deploy");
        assert_eq!(inv.workspace, "9");
        assert_eq!(inv.replay_key.as_deref(), Some("discord:42"));
        let ArgsInput::Structured(args) = &inv.input else {
            panic!("structured")
        };
        assert_eq!(
            args.named,
            vec![
                ("service".into(), "api".into()),
                ("replicas".into(), "3".into())
            ]
        );
        assert!(args.dry_run);
        assert_eq!(args.reason.as_deref(), Some("hotfix"));
    }

    #[test]
    fn ping_and_garbage() {
        assert!(matches!(
            parse_interaction(br#"{"type":1,"id":"1"}"#, "r".into()),
            Ok(Interaction::Ping)
        ));
        assert!(parse_interaction(b"[]", "r".into()).is_err());
    }
}
