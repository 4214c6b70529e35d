//! The platform-neutral request and answer. Slack, Discord, the CLI and the tests all build an
//! `Invocation` and get back a `Reply`, so they all pass through the same guard.

use crate::commands::args::RawArgs;
use crate::model::{Platform, PlatformUser};

/// The arguments as the platform delivered them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgsInput {
    /// Free text typed after the command name (Slack, the console); the guard applies the text
    /// grammar at its argument step, so that a grammar error is reported like any bad argument.
    Text(String),
    /// Already-structured options (Discord application-command options).
    Structured(RawArgs),
}

/// How a request reached warden. It is recorded in the audit details (`transport`) and never
/// consulted by the guard: every transport ends in the same pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A signed HTTP request to one of warden's routes.
    Http,
    /// An envelope over Slack's Socket Mode WebSocket.
    SocketMode,
    /// A dispatch over the Discord Gateway WebSocket.
    Gateway,
    /// Started inside warden: the CLI, the console, a schedule.
    Local,
}

impl Transport {
    /// The value written into audit details.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Http => "http",
            Transport::SocketMode => "socket_mode",
            Transport::Gateway => "discord_gateway",
            Transport::Local => "local",
        }
    }
}

/// One request to run a command, whatever platform it came from.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The id of the HTTP request (or CLI run), carried into logs and audit events.
    pub request_id: String,
    /// How the request arrived (HTTP, Socket Mode, the Gateway, or from inside warden).
    pub transport: Transport,
    /// The platform the request came from.
    pub platform: Platform,
    /// The Slack team id, the Discord guild id, or the tenant name for the console.
    pub workspace: String,
    /// Who typed the command.
    pub user: PlatformUser,
    /// The display name the platform sent, for readability only (never used for access).
    pub user_name: Option<String>,
    /// The channel the command was typed in, as `platform:ID`.
    pub channel: Option<String>,
    /// The command name (`help` when nothing was typed).
    pub command: String,
    /// The arguments.
    pub input: ArgsInput,
    /// The key under which this request is recorded so that a replay is not acted on twice.
    pub replay_key: Option<String>,
    /// How to answer later when a channel post is impossible (Slack's `response_url`, a
    /// Discord interaction token).
    pub reply: Option<ReplyHandle>,
    /// The card whose thread the command's own card goes in, when it was started from a card
    /// (an alert's action button, SPEC §15); `None` for a command typed in a channel.
    pub thread: Option<InThread>,
}

/// The card a command's card is posted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InThread {
    /// The parent card's outbox key (`alert:12`).
    pub key: String,
    /// Its title (`AL-12 HighErrorRate`): the Discord thread's name.
    pub title: String,
}

/// The character no database text column may hold: PostgreSQL refuses it outright, so it is
/// refused where it comes in rather than failing the transaction that would store it.
pub const NUL: char = '\0';

/// `text` with every NUL replaced by U+FFFD, for recording a refusal of it.
pub fn without_nul(text: &str) -> String {
    text.replace(NUL, "\u{fffd}")
}

/// The first of `fields` (name, value) whose value holds a NUL.
pub(crate) fn first_nul<'a>(
    fields: impl IntoIterator<Item = (String, Option<&'a str>)>,
) -> Option<String> {
    fields
        .into_iter()
        .find(|(_, value)| value.is_some_and(|v| v.contains(NUL)))
        .map(|(name, _)| name)
}

impl Invocation {
    /// Names the first part of the request that holds a NUL character (`the command text`,
    /// `argument `env``, `the reason`, `the user id`, …), if any. What a person typed and every
    /// id the platform sent are checked, because all of them reach the database.
    pub fn nul_field(&self) -> Option<String> {
        let mut fields: Vec<(String, Option<&str>)> = vec![
            ("the command name".into(), Some(self.command.as_str())),
            ("the workspace id".into(), Some(self.workspace.as_str())),
            ("the user id".into(), Some(self.user.workspace.as_str())),
            ("the user id".into(), Some(self.user.user.as_str())),
            ("the user name".into(), self.user_name.as_deref()),
            ("the channel id".into(), self.channel.as_deref()),
            ("the request id".into(), Some(self.request_id.as_str())),
            (
                "the request's replay key".into(),
                self.replay_key.as_deref(),
            ),
            (
                "the request's reply address".into(),
                self.reply.as_ref().map(ReplyHandle::stored),
            ),
        ];
        match &self.input {
            ArgsInput::Text(text) => fields.push(("the command text".into(), Some(text))),
            ArgsInput::Structured(raw) => {
                for value in &raw.positional {
                    fields.push(("a value".into(), Some(value)));
                }
                for (name, value) in &raw.named {
                    let shown = without_nul(name);
                    fields.push((format!("the name of argument `{shown}`"), Some(name)));
                    fields.push((format!("argument `{shown}`"), Some(value)));
                }
                fields.push(("the reason".into(), raw.reason.as_deref()));
            }
        }
        first_nul(fields)
    }
}

/// A way to answer a request later without the bot token: Slack's `response_url` (30
/// minutes, 5 uses) or a Discord interaction's follow-up webhook (15 minutes). It is a
/// credential, so it never appears in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct ReplyHandle(String);

impl ReplyHandle {
    /// Slack's `response_url`.
    pub fn slack(response_url: &str) -> Self {
        ReplyHandle(format!("slack:{response_url}"))
    }

    /// A Discord interaction's application id and token.
    pub fn discord(application_id: &str, token: &str) -> Self {
        ReplyHandle(format!("discord:{application_id}:{token}"))
    }

    /// The stored form, `slack:URL` or `discord:APP:TOKEN`.
    pub fn stored(&self) -> &str {
        &self.0
    }

    /// Back from the stored form.
    pub fn from_stored(stored: String) -> Self {
        ReplyHandle(stored)
    }
}

impl std::fmt::Debug for ReplyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReplyHandle([redacted])")
    }
}

/// What to tell the person, in neutral text: plain lines, with `backticks` for literals, which
/// both Slack and Discord render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Seen only by the caller (Slack `ephemeral`, Discord flag 64).
    pub ephemeral: bool,
    /// The message text.
    pub text: String,
    /// Buttons under the text (Confirm / Cancel for a high-risk command).
    pub buttons: Vec<crate::chat::message::Button>,
}

impl Reply {
    /// A message only the caller sees.
    pub fn ephemeral(text: impl Into<String>) -> Self {
        Reply {
            ephemeral: true,
            text: text.into(),
            buttons: Vec::new(),
        }
    }
}
