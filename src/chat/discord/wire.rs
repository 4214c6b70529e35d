//! Verified interaction bodies parsed into serenity's models and turned into warden's neutral
//! types. A body serenity cannot read (an unknown interaction type, a missing field) is an
//! error that names the problem, never a panic.
//!
//! The raw body stays the record of what Discord sent: serenity's models do not re-serialise
//! byte for byte (it copies `member.user` into `user`, for one), so nothing here is meant to be
//! written back out.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use serenity::model::application::{
    ActionRowComponent, CommandDataOption, CommandDataOptionValue, CommandInteraction,
    ComponentInteraction, Interaction as Discord, ModalInteraction,
};
use serenity::model::guild::Member;
use serenity::model::id::GuildId;
use serenity::model::user::User;

use crate::chat::message::{ButtonKind, Click, MessageRef, ModalSubmit};
use crate::chat::{ArgsInput, Invocation};
use crate::commands::args::RawArgs;
use crate::model::{ChannelRef, Platform, PlatformUser};

mod labels;

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
    /// Any other component interaction (not one of warden's custom ids, or missing who
    /// clicked): acknowledged, not acted on.
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

/// Parses a verified interaction body.
pub fn parse_interaction(body: &[u8], request_id: String) -> Result<Interaction, String> {
    let mut object: Map<String, Value> =
        serde_json::from_slice(body).map_err(|e| format!("not a Discord interaction: {e}"))?;
    fill_channel_id(&mut object);
    drop_malformed_image_hashes(&mut object, 0);
    // Serenity fills a missing `user` with a placeholder; whether Discord named anyone is
    // read here, before that placeholder can be mistaken for a person.
    let names_a_user = ["member", "user"]
        .iter()
        .any(|k| object.get(*k).is_some_and(Value::is_object));
    let label_values = labels::values(&object);
    let parsed: Discord = serde_json::from_value(Value::Object(object))
        .map_err(|e| format!("not a Discord interaction warden can read: {e}"))?;
    match parsed {
        Discord::Ping(_) => Ok(Interaction::Ping),
        Discord::Command(command) => invocation(command, names_a_user, request_id),
        Discord::Autocomplete(command) => Err(format!(
            "autocomplete interactions are not supported (command `{}`): warden registers no autocomplete options",
            command.data.name
        )),
        Discord::Component(component) => Ok(click(component, names_a_user, request_id)),
        Discord::Modal(modal) => Ok(modal_submit(modal, names_a_user, label_values, request_id)),
        other => Err(format!("unsupported interaction type {:?}", other.kind())),
    }
}

/// Discord's documentation marks `channel_id` optional beside the partial `channel` object,
/// while serenity requires it. When only `channel` came, its id is the channel.
fn fill_channel_id(object: &mut Map<String, Value>) {
    if object.contains_key("channel_id") {
        return;
    }
    let id = object
        .get("channel")
        .and_then(|c| c.get("id"))
        .filter(|id| id.is_string())
        .cloned();
    if let Some(id) = id {
        object.insert("channel_id".into(), id);
    }
}

/// The keys under which serenity reads an image hash (avatars, banners, icons).
const IMAGE_HASH_KEYS: [&str; 10] = [
    "asset",
    "avatar",
    "badge",
    "banner",
    "cover_image",
    "discovery_splash",
    "icon",
    "icon_hash",
    "image",
    "splash",
];

/// Serenity 0.12's `ImageHash` parser slices its string by byte offsets and panics on a
/// non-ASCII hash of hash length (found by fuzzing). Discord's hashes are hex, and warden reads
/// no image, so a hash that is not ASCII is dropped rather than costing the user their command.
/// The walk stops at serde_json's own nesting limit.
fn drop_malformed_image_hashes(object: &mut Map<String, Value>, depth: usize) {
    if depth > 128 {
        return;
    }
    for (key, value) in object.iter_mut() {
        match value {
            Value::String(s) if !s.is_ascii() && IMAGE_HASH_KEYS.contains(&key.as_str()) => {
                *value = Value::Null;
            }
            Value::Object(inner) => drop_malformed_image_hashes(inner, depth + 1),
            Value::Array(items) => {
                for item in items.iter_mut() {
                    if let Value::Object(inner) = item {
                        drop_malformed_image_hashes(inner, depth + 1);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The person behind an interaction: the guild member's user in a server, the top-level user
/// in a direct message, or nobody when Discord named no one.
fn person<'a>(member: Option<&'a Member>, user: &'a User, named: bool) -> Option<&'a User> {
    member.map(|m| &m.user).or(named.then_some(user))
}

/// The guild id as the neutral workspace. Interactions from direct messages have no guild;
/// they are refused at the tenant step, which needs a workspace string to report.
fn workspace(guild: Option<GuildId>) -> String {
    guild.map(|g| g.to_string()).unwrap_or_default()
}

/// An option's value as the text the argument grammar reads.
fn option_text(value: &CommandDataOptionValue) -> String {
    match value {
        CommandDataOptionValue::String(s) => s.clone(),
        CommandDataOptionValue::Integer(n) => n.to_string(),
        CommandDataOptionValue::Number(n) => n.to_string(),
        CommandDataOptionValue::Boolean(b) => b.to_string(),
        CommandDataOptionValue::User(id) => id.to_string(),
        CommandDataOptionValue::Channel(id) => id.to_string(),
        CommandDataOptionValue::Role(id) => id.to_string(),
        CommandDataOptionValue::Mentionable(id) => id.to_string(),
        CommandDataOptionValue::Attachment(id) => id.to_string(),
        // Warden registers no subcommands and no autocomplete: these carry no plain value.
        _ => String::new(),
    }
}

fn args(options: &[CommandDataOption]) -> RawArgs {
    let mut args = RawArgs::default();
    for option in options {
        let value = option_text(&option.value);
        match option.name.as_str() {
            "dry_run" | "dry-run" => args.dry_run = value == "true",
            "reason" => args.reason = Some(value),
            _ => args.named.push((option.name.clone(), value)),
        }
    }
    args
}

/// An application command as the neutral invocation.
fn invocation(
    command: CommandInteraction,
    named: bool,
    request_id: String,
) -> Result<Interaction, String> {
    let user = person(command.member.as_deref(), &command.user, named)
        .ok_or("interaction without a user")?;
    let guild = workspace(command.guild_id);
    Ok(Interaction::Command(Box::new(Invocation {
        request_id,
        transport: crate::chat::Transport::Http,
        platform: Platform::Discord,
        workspace: guild.clone(),
        user: PlatformUser {
            platform: Platform::Discord,
            workspace: guild,
            user: user.id.to_string(),
        },
        user_name: Some(user.name.clone()).filter(|n| !n.is_empty()),
        channel: Some(format!("discord:{}", command.channel_id)),
        command: command.data.name.clone(),
        input: ArgsInput::Structured(args(&command.data.options)),
        replay_key: Some(format!("discord:{}", command.id)),
        reply: Some(crate::chat::ReplyHandle::discord(
            &command.application_id.to_string(),
            &command.token,
        )),
        thread: None,
    })))
}

/// A click on a button. Only warden's own custom ids clicked by a known user become a
/// `Click`; anything else is `Component`, answered but not acted on.
fn click(component: ComponentInteraction, named: bool, request_id: String) -> Interaction {
    let id = component.id.to_string();
    let custom_id = component.data.custom_id.as_str();
    let (action, value) = custom_id.split_once(':').unwrap_or((custom_id, ""));
    let (Some(kind), Some(user)) = (
        ButtonKind::from_action_id(action),
        person(component.member.as_ref(), &component.user, named),
    ) else {
        return Interaction::Component { id };
    };
    let guild = workspace(component.guild_id);
    let channel = component.channel_id.to_string();
    Interaction::Click {
        click: Box::new(Click {
            transport: crate::chat::Transport::Http,
            request_id,
            platform: Platform::Discord,
            workspace: guild.clone(),
            user: PlatformUser {
                platform: Platform::Discord,
                workspace: guild,
                user: user.id.to_string(),
            },
            channel: Some(format!("discord:{channel}")),
            kind,
            value: value.to_string(),
            replay_key: Some(format!("discord:{id}")),
            message: Some(MessageRef {
                channel: ChannelRef {
                    platform: Platform::Discord,
                    id: channel,
                },
                id: component.message.id.to_string(),
            }),
        }),
        handle: InteractionHandle {
            id,
            application_id: component.application_id.to_string(),
            token: component.token,
        },
    }
}

/// A submitted modal. Without a known user it is `Component`, answered but not acted on.
fn modal_submit(
    modal: ModalInteraction,
    named: bool,
    mut values: BTreeMap<String, String>,
    request_id: String,
) -> Interaction {
    let id = modal.id.to_string();
    let Some(user) = person(modal.member.as_ref(), &modal.user, named) else {
        return Interaction::Component { id };
    };
    let custom_id = modal.data.custom_id.as_str();
    let (callback_id, metadata) = custom_id.split_once(':').unwrap_or((custom_id, ""));
    // Text inputs in action rows, the form warden's own modals use (`render::modal`).
    let inputs = modal.data.components.iter().flat_map(|row| &row.components);
    for input in inputs {
        if let ActionRowComponent::InputText(text) = input {
            if let Some(value) = &text.value {
                values.insert(text.custom_id.clone(), value.clone());
            }
        }
    }
    let guild = workspace(modal.guild_id);
    Interaction::ModalSubmit {
        submit: Box::new(ModalSubmit {
            request_id,
            platform: Platform::Discord,
            workspace: guild.clone(),
            user: PlatformUser {
                platform: Platform::Discord,
                workspace: guild,
                user: user.id.to_string(),
            },
            callback_id: callback_id.to_string(),
            metadata: metadata.to_string(),
            values,
            replay_key: Some(format!("discord:{id}")),
            channel: Some(format!("discord:{}", modal.channel_id)),
        }),
        handle: InteractionHandle {
            id,
            application_id: modal.application_id.to_string(),
            token: modal.token,
        },
    }
}

#[cfg(test)]
mod round_trip;
#[cfg(test)]
mod tests;
