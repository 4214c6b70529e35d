//! The durable outbox's vocabulary: what an outgoing message is and where it goes. Rows are
//! written with `storage::Tx::enqueue` in the same transaction as the state change that caused
//! them; the dispatcher (`notifier::outbox`) delivers them.
//!
//! Architecture invariant: nothing sends a chat message directly; everything goes through a
//! row, so a crash or a chat outage loses nothing.

use serde::{Deserialize, Serialize};

use crate::chat::{Button, ButtonKind, Message, ReplyHandle};
use crate::model::ChannelRef;

/// Where an outgoing message goes.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// A new message in `channel`; when `key` is set, the delivered message is remembered under
    /// it so that `Update`s can edit it in place. `fallback` answers through the request's
    /// reply handle if the post fails for good (the bot is not in the channel).
    Post {
        /// The channel.
        channel: ChannelRef,
        /// The key to remember the message under, e.g. `job:42`.
        key: Option<String>,
        /// The reply handle to fall back on.
        fallback: Option<ReplyHandle>,
    },
    /// Edit the message posted under `key` (in `channel`); waits until that post is delivered.
    /// A newer pending update of the same key replaces an older one that was not sent yet.
    Update {
        /// The channel of the keyed message (the ordering lane).
        channel: ChannelRef,
        /// The key of the message to edit.
        key: String,
    },
    /// Answer through a request's reply handle (Slack `response_url`, Discord follow-up).
    Reply {
        /// The handle.
        handle: ReplyHandle,
    },
}

/// One outgoing message.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// The tenant it belongs to.
    pub tenant: String,
    /// Where it goes.
    pub delivery: Delivery,
    /// What it says.
    pub message: Message,
    /// An alert or a decision people wait for: if it is dead-lettered, operators are alerted.
    pub important: bool,
}

/// The stored form of a message (JSON in the `message` column).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredMessage {
    /// The text.
    pub text: String,
    /// The buttons as (action id, value).
    #[serde(default)]
    pub buttons: Vec<(String, String)>,
}

impl From<&Message> for StoredMessage {
    fn from(m: &Message) -> Self {
        StoredMessage {
            text: m.text.clone(),
            buttons: m
                .buttons
                .iter()
                .map(|b| (b.kind.action_id().to_string(), b.value.clone()))
                .collect(),
        }
    }
}

impl StoredMessage {
    /// Back to a neutral message; unknown button kinds are dropped.
    pub fn to_message(&self) -> Message {
        Message {
            text: self.text.clone(),
            buttons: self
                .buttons
                .iter()
                .filter_map(|(action, value)| {
                    ButtonKind::from_action_id(action).map(|kind| Button {
                        kind,
                        value: value.clone(),
                    })
                })
                .collect(),
        }
    }
}
