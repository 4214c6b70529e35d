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
        /// Post it in this card's thread rather than top-level (a job or approval started from
        /// an alert's card lives in the alert's thread, SPEC §15). It waits until that card is
        /// posted; if the card's post ended without a message, it is posted top-level.
        thread: Option<Card>,
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
    /// A reply in the thread under `card` (SPEC §13), in the card's channel and lane; waits
    /// until the card is posted. If the card's post ended without a message (dead-lettered or
    /// dropped), the reply is posted top-level in the channel instead, saying so.
    Thread {
        /// The card's channel (the ordering lane: replies share the channel's pacing).
        channel: ChannelRef,
        /// The card it goes under.
        card: Card,
        /// Also show it in the channel (Slack `reply_broadcast`), for an alert whose alert
        /// channel is the card's channel.
        broadcast: bool,
        /// User ids on the card's platform to mention at the start of the reply (the requester
        /// when their request is decided or their job ends; the approvers in a reminder).
        mentions: Vec<String>,
    },
    /// A top-level post in `channel` whose text links to `card`'s thread: every
    /// [`CARD_LINK`] in the text is replaced with the link when it is delivered (after the card
    /// is posted), or with a plain reference when the card has no message.
    Linked {
        /// Where it is posted.
        channel: ChannelRef,
        /// The card it links to.
        card: Card,
    },
}

/// Stands in a [`Delivery::Linked`] message's text for the link to the card's thread.
pub const CARD_LINK: &str = "{card_link}";

/// The card a thread reply or a link belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// The outbox key the card was posted under (`job:42`, `approval:7`).
    pub key: String,
    /// A short title, e.g. `J-42 deploy web`: the Discord thread's name, and how a reply
    /// that lost its card names it.
    pub title: String,
    /// The Discord guild of the card's channel, to build a message link; `None` on Slack.
    pub guild: Option<String>,
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
    /// The buttons' own labels, by position (`None`: the kind's label). Kept apart from
    /// `buttons` so that rows written before labels existed still read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<Option<String>>,
    /// A thread reply that is also shown in the channel (Slack `reply_broadcast`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub broadcast: bool,
    /// The title of the card a thread reply or link belongs to (see [`Card::title`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_title: Option<String>,
    /// The Discord guild of the card's channel (see [`Card::guild`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild: Option<String>,
    /// User ids to mention at the start of a thread reply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
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
            labels: if m.buttons.iter().any(|b| b.label.is_some()) {
                m.buttons.iter().map(|b| b.label.clone()).collect()
            } else {
                Vec::new()
            },
            broadcast: false,
            card_title: None,
            guild: None,
            mentions: Vec::new(),
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
                .enumerate()
                .filter_map(|(i, (action, value))| {
                    ButtonKind::from_stored_id(action).map(|kind| Button {
                        kind,
                        value: value.clone(),
                        label: self.labels.get(i).cloned().flatten(),
                    })
                })
                .collect(),
        }
    }
}
