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
    /// On Discord, starts the thread under `card` (named `title`) when it has none yet and
    /// returns the new thread's id, which the caller must remember before posting in it (a
    /// message can start one thread only). Slack threads need no start: `None`.
    pub async fn ensure_thread(
        &self,
        card: &crate::storage::CardMessage,
        title: &str,
    ) -> Result<Option<String>, DeliveryError> {
        let at = &card.at;
        match (at.channel.platform, &card.thread_id) {
            (Platform::Discord, None) => {
                match self
                    .discord()?
                    .start_thread(&at.channel.id, &at.id, title)
                    .await
                {
                    Ok(thread) => Ok(Some(thread)),
                    // The card is itself in a thread (a command typed in a thread channel):
                    // Discord starts no thread inside a thread, so the replies go to that one.
                    Err(e) if e.code == Some(discord::client::NOT_IN_THIS_CHANNEL_TYPE) => {
                        Ok(Some(at.channel.id.clone()))
                    }
                    Err(e) => Err(e.into()),
                }
            }
            _ => Ok(None),
        }
    }

    /// Posts `message` in the thread under `card`: Slack `thread_ts` (with `reply_broadcast`
    /// when `broadcast`); Discord, in the card's thread (see [`ChatNotifier::ensure_thread`]),
    /// unarchived first when it was archived. `mentions` are user ids on the card's platform.
    /// Returns the reply's id.
    pub async fn thread_reply(
        &self,
        card: &crate::storage::CardMessage,
        message: &Message,
        mentions: &[String],
        broadcast: bool,
    ) -> Result<String, DeliveryError> {
        let at = &card.at;
        match at.channel.platform {
            Platform::Slack => Ok(self
                .slack()?
                .post_thread_reply(
                    &at.channel.id,
                    card.thread_id.as_deref().unwrap_or(&at.id),
                    message,
                    mentions,
                    broadcast,
                )
                .await?),
            Platform::Discord => {
                let discord = self.discord()?;
                let thread = card
                    .thread_id
                    .as_deref()
                    .ok_or_else(|| DeliveryError::permanent("the card has no thread yet"))?;
                match discord
                    .create_thread_message(thread, message, mentions)
                    .await
                {
                    Err(e) if e.code == Some(discord::client::THREAD_ARCHIVED) => {
                        discord.unarchive_thread(thread).await?;
                        Ok(discord
                            .create_thread_message(thread, message, mentions)
                            .await?)
                    }
                    other => Ok(other?),
                }
            }
            Platform::Console => Err(console(&at.channel)),
        }
    }

    /// A link to the card: Slack's permalink (`chat.getPermalink`), or a Discord message link
    /// in `guild`. `None` when it cannot be had; a link is a convenience, never a reason to
    /// hold a message back.
    pub async fn card_link(
        &self,
        at: &MessageRef,
        guild: Option<&str>,
    ) -> Result<Option<String>, DeliveryError> {
        match at.channel.platform {
            Platform::Slack => Ok(Some(self.slack()?.permalink(&at.channel.id, &at.id).await?)),
            Platform::Discord => Ok(guild.map(|guild| {
                format!(
                    "https://discord.com/channels/{guild}/{}/{}",
                    at.channel.id, at.id
                )
            })),
            Platform::Console => Ok(None),
        }
    }

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
