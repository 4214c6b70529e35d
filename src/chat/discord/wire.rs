//! Discord's interaction shapes, reduced to the fields warden reads. Every field but the type
//! and id is optional on the way in, so a strange payload is a classification or an error,
//! never a panic.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::chat::message::{ButtonKind, Click, MessageRef, ModalSubmit};
use crate::chat::{ArgsInput, Invocation};
use crate::commands::args::RawArgs;
use crate::model::{ChannelRef, Platform, PlatformUser};

/// A verified interaction, classified.
#[derive(Debug, Clone)]
pub enum Interaction {
    /// Discord checking the endpoint.
    Ping,
    /// An application command, already turned into the neutral invocation.
    Command(Box<Invocation>),
    /// A click on one of warden's buttons (type 3).
    Click {
        /// The neutral click.
        click: Box<Click>,
        /// What is needed to answer it later.
        handle: InteractionHandle,
    },
    /// A submitted modal (type 5). Warden's modal `custom_id` is `<callback_id>:<metadata>`
    /// (`render::modal`) because Discord modals have no separate metadata field; it is split
    /// back here. Answer with `render_reply` (type 4) or, when the modal was opened from a
    /// button on a message, `render_update` (type 7).
    ModalSubmit {
        /// The neutral submission.
        submit: Box<ModalSubmit>,
        /// What is needed to answer it later.
        handle: InteractionHandle,
    },
    /// Any other component or modal interaction (not one of warden's custom ids, or missing
    /// who clicked): acknowledged, not acted on.
    Component {
        /// The interaction id, the replay key.
        id: String,
    },
}

impl Interaction {
    /// The interaction id, for logs (PING has none worth logging).
    pub fn id(&self) -> Option<&str> {
        match self {
            Interaction::Ping => None,
            Interaction::Command(inv) => inv.replay_key.as_deref()?.strip_prefix("discord:"),
            Interaction::Click { handle, .. } | Interaction::ModalSubmit { handle, .. } => {
                Some(&handle.id)
            }
            Interaction::Component { id } => Some(id),
        }
    }
}

/// What a later answer to an interaction needs: follow-ups and edits of the original response
/// go to `/webhooks/{application_id}/{token}` for 15 minutes. The token is a credential: it is
/// redacted from `Debug` and must never be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct InteractionHandle {
    /// The interaction id.
    pub id: String,
    /// The application the interaction was sent to.
    pub application_id: String,
    /// The interaction token.
    pub token: String,
}

impl std::fmt::Debug for InteractionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InteractionHandle")
            .field("id", &self.id)
            .field("application_id", &self.application_id)
            .field("token", &"[redacted]")
            .finish()
    }
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
    channel: Option<IdOnly>,
    #[serde(default)]
    member: Option<Member>,
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    application_id: Option<String>,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    message: Option<IdOnly>,
    /// Kept raw: its shape depends on the interaction type.
    #[serde(default)]
    data: Option<Value>,
}

#[derive(Deserialize)]
struct IdOnly {
    id: String,
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
    value: Option<Value>,
}

fn option_text(value: Value) -> String {
    match value {
        Value::String(s) => s,
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
                reply: match (&raw.application_id, &raw.token) {
                    (Some(app), Some(token)) => Some(crate::chat::ReplyHandle::discord(app, token)),
                    _ => None,
                },
                thread: None,
            })))
        }
        3 | 5 => Ok(component(raw, request_id)),
        other => Err(format!("unsupported interaction type {other}")),
    }
}

/// Classifies a component (3) or modal submit (5) interaction. Only warden's own custom ids
/// with a user, a token and an application id become a `Click` or `ModalSubmit`; anything
/// else is `Component`, answered but not acted on.
fn component(raw: RawInteraction, request_id: String) -> Interaction {
    let data = raw.data.unwrap_or(Value::Null);
    let custom_id = data.get("custom_id").and_then(Value::as_str).unwrap_or("");
    let (action, value) = custom_id.split_once(':').unwrap_or((custom_id, ""));
    let user = raw.member.map(|m| m.user).or(raw.user);
    let (Some(user), Some(application_id), Some(token)) = (user, raw.application_id, raw.token)
    else {
        return Interaction::Component { id: raw.id };
    };
    let guild = raw.guild_id.unwrap_or_default();
    let user = PlatformUser {
        platform: Platform::Discord,
        workspace: guild.clone(),
        user: user.id,
    };
    let handle = InteractionHandle {
        id: raw.id.clone(),
        application_id,
        token,
    };
    let replay_key = Some(format!("discord:{}", raw.id));
    let channel_id = raw.channel_id.or(raw.channel.map(|c| c.id));
    if raw.kind == 5 {
        return Interaction::ModalSubmit {
            submit: Box::new(ModalSubmit {
                request_id,
                platform: Platform::Discord,
                workspace: guild,
                user,
                callback_id: action.to_string(),
                metadata: value.to_string(),
                values: modal_values(&data),
                replay_key,
                channel: channel_id.map(|c| format!("discord:{c}")),
            }),
            handle,
        };
    }
    let Some(kind) = ButtonKind::from_action_id(action) else {
        return Interaction::Component { id: raw.id };
    };
    let message = match (&channel_id, raw.message) {
        (Some(channel), Some(m)) => Some(MessageRef {
            channel: ChannelRef {
                platform: Platform::Discord,
                id: channel.clone(),
            },
            id: m.id,
        }),
        _ => None,
    };
    Interaction::Click {
        click: Box::new(Click {
            request_id,
            platform: Platform::Discord,
            workspace: guild,
            user,
            channel: channel_id.map(|c| format!("discord:{c}")),
            kind,
            value: value.to_string(),
            replay_key,
            message,
        }),
        handle,
    }
}

/// The text inputs of a modal submit: `data.components[*]` are action rows holding
/// `components`, or (newer modals) labels holding one `component`.
fn modal_values(data: &Value) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    let rows = data.get("components").and_then(Value::as_array);
    for row in rows.into_iter().flatten() {
        let inner = row.get("components").and_then(Value::as_array);
        let single = row.get("component").into_iter();
        for input in inner.into_iter().flatten().chain(single) {
            let id = input.get("custom_id").and_then(Value::as_str);
            let value = input.get("value").and_then(Value::as_str).or_else(|| {
                // Selects in modals submit `values`; warden's forms use one choice.
                input.get("values")?.as_array()?.first()?.as_str()
            });
            if let (Some(id), Some(value)) = (id, value) {
                values.insert(id.to_string(), value.to_string());
            }
        }
    }
    values
}

#[cfg(test)]
mod tests;
