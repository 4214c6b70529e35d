//! The one interface through which warden sends anything to a chat: post a message to a
//! channel, update one in place. Callers never hold a Slack or Discord client; the durable
//! outbox (SPEC §9) will sit behind this trait without changing them.
//!
//! Failures are `anyhow` errors wrapping a [`DeliveryError`], so whoever retries can ask
//! whether a retry can help (`err.downcast_ref::<DeliveryError>()`) without knowing which
//! platform failed.

pub mod outbox;
mod recording;

use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::chat::discord::{self, DiscordClient, DiscordError};
use crate::chat::slack::{self, SlackClient, SlackError};
use crate::chat::ReplyHandle;
use crate::chat::{Message, MessageRef};
use crate::model::{ChannelRef, Platform};

pub use recording::RecordingNotifier;

/// Sends neutral messages to chat channels.
pub trait Notifier: Send + Sync + std::fmt::Debug {
    /// Posts `message` in `channel`; the answer addresses it for later updates.
    fn post<'a>(
        &'a self,
        channel: &'a ChannelRef,
        message: &'a Message,
    ) -> BoxFuture<'a, anyhow::Result<MessageRef>>;

    /// Replaces the text and buttons of the message at `at`.
    fn update<'a>(
        &'a self,
        at: &'a MessageRef,
        message: &'a Message,
    ) -> BoxFuture<'a, anyhow::Result<()>>;

    /// Answers through a request's own reply handle (Slack `response_url`, Discord follow-up),
    /// for when its channel cannot be posted in. Visible to the channel, not only the caller.
    fn reply<'a>(
        &'a self,
        handle: &'a ReplyHandle,
        message: &'a Message,
    ) -> BoxFuture<'a, anyhow::Result<()>>;
}

/// Whether a failed delivery is worth retrying, whatever the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryErrorKind {
    /// Try again later, no earlier than `retry_after` when the platform said so.
    Retryable {
        /// The platform's requested delay.
        retry_after: Option<Duration>,
    },
    /// Will fail again the same way: dead-letter it.
    Permanent,
}

/// A failed delivery, platform-neutral. The message names the platform call and its error
/// code, never a token or URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    /// Whether to retry.
    pub kind: DeliveryErrorKind,
    /// What failed.
    pub message: String,
}

impl DeliveryError {
    fn permanent(message: impl Into<String>) -> Self {
        DeliveryError {
            kind: DeliveryErrorKind::Permanent,
            message: message.into(),
        }
    }
}

impl From<SlackError> for DeliveryError {
    fn from(e: SlackError) -> Self {
        let kind = match e.kind {
            slack::ErrorKind::Retryable { retry_after } => {
                DeliveryErrorKind::Retryable { retry_after }
            }
            slack::ErrorKind::Permanent => DeliveryErrorKind::Permanent,
        };
        DeliveryError {
            kind,
            message: format!("Slack {}", e.message),
        }
    }
}

impl From<DiscordError> for DeliveryError {
    fn from(e: DiscordError) -> Self {
        let kind = match e.kind {
            discord::ErrorKind::Retryable { retry_after } => {
                DeliveryErrorKind::Retryable { retry_after }
            }
            discord::ErrorKind::Permanent => DeliveryErrorKind::Permanent,
        };
        DeliveryError {
            kind,
            message: format!("Discord {}", e.message),
        }
    }
}

/// Delivers to Slack and Discord through their Web API clients, choosing by the channel's
/// platform. A platform without a client (no bot token) fails permanently, naming the
/// missing setting.
#[derive(Debug, Clone)]
pub struct ChatNotifier {
    slack: Option<SlackClient>,
    discord: Option<DiscordClient>,
}

impl ChatNotifier {
    /// A notifier over the configured clients.
    pub fn new(slack: Option<SlackClient>, discord: Option<DiscordClient>) -> Self {
        ChatNotifier { slack, discord }
    }

    fn slack(&self) -> Result<&SlackClient, DeliveryError> {
        self.slack.as_ref().ok_or_else(|| {
            DeliveryError::permanent("Slack is not configured: SLACK_BOT_TOKEN is not set")
        })
    }

    fn discord(&self) -> Result<&DiscordClient, DeliveryError> {
        self.discord.as_ref().ok_or_else(|| {
            DeliveryError::permanent("Discord is not configured: DISCORD_BOT_TOKEN is not set")
        })
    }

    async fn post_inner(
        &self,
        channel: &ChannelRef,
        message: &Message,
    ) -> Result<MessageRef, DeliveryError> {
        let id = match channel.platform {
            Platform::Slack => self.slack()?.post_message(&channel.id, message).await?,
            Platform::Discord => self.discord()?.create_message(&channel.id, message).await?,
            Platform::Console => return Err(console(channel)),
        };
        Ok(MessageRef {
            channel: channel.clone(),
            id,
        })
    }

    async fn update_inner(&self, at: &MessageRef, message: &Message) -> Result<(), DeliveryError> {
        match at.channel.platform {
            Platform::Slack => {
                self.slack()?
                    .update_message(&at.channel.id, &at.id, message)
                    .await?
            }
            Platform::Discord => {
                self.discord()?
                    .edit_message(&at.channel.id, &at.id, message)
                    .await?
            }
            Platform::Console => return Err(console(&at.channel)),
        }
        Ok(())
    }
}

impl ChatNotifier {
    async fn reply_inner(
        &self,
        handle: &ReplyHandle,
        message: &Message,
    ) -> Result<(), DeliveryError> {
        let stored = handle.stored();
        if let Some(url) = stored.strip_prefix("slack:") {
            // A response_url needs no bot token; any client's HTTP stack will do, but one is
            // only built with a token, so Slack must be configured.
            self.slack()?.respond(url, message, false, false).await?;
            return Ok(());
        }
        if let Some(rest) = stored.strip_prefix("discord:") {
            let (app, token) = rest
                .split_once(':')
                .ok_or_else(|| DeliveryError::permanent("a malformed Discord reply handle"))?;
            self.discord()?.followup(app, token, message, false).await?;
            return Ok(());
        }
        Err(DeliveryError::permanent("an unknown kind of reply handle"))
    }
}

/// Console channels exist only inside the demo, which uses a `RecordingNotifier`.
fn console(channel: &ChannelRef) -> DeliveryError {
    DeliveryError::permanent(format!(
        "`{channel}` is a console channel: there is no chat to deliver it to"
    ))
}

impl Notifier for ChatNotifier {
    fn post<'a>(
        &'a self,
        channel: &'a ChannelRef,
        message: &'a Message,
    ) -> BoxFuture<'a, anyhow::Result<MessageRef>> {
        Box::pin(async move { Ok(self.post_inner(channel, message).await?) })
    }

    fn update<'a>(
        &'a self,
        at: &'a MessageRef,
        message: &'a Message,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move { Ok(self.update_inner(at, message).await?) })
    }

    fn reply<'a>(
        &'a self,
        handle: &'a ReplyHandle,
        message: &'a Message,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move { Ok(self.reply_inner(handle, message).await?) })
    }
}

#[cfg(test)]
mod tests;
