//! Neutral outgoing messages and incoming button clicks. The guard, the job runner and the
//! alerts build these; `chat::slack` and `chat::discord` render and parse the platform forms.

use crate::model::{ChannelRef, Platform, PlatformUser};

/// The buttons warden ever shows. Their labels are part of the product contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ButtonKind {
    /// Approve an approval request.
    Approve,
    /// Deny an approval request.
    Deny,
    /// Confirm a high-risk command.
    Confirm,
    /// Cancel a high-risk command before it runs.
    Cancel,
    /// Run a failed job again (guarded like the original command).
    Retry,
}

impl ButtonKind {
    /// Every kind.
    pub const ALL: [ButtonKind; 5] = [
        ButtonKind::Approve,
        ButtonKind::Deny,
        ButtonKind::Confirm,
        ButtonKind::Cancel,
        ButtonKind::Retry,
    ];

    /// The label people see.
    pub fn label(self) -> &'static str {
        match self {
            ButtonKind::Approve => "Approve",
            ButtonKind::Deny => "Deny",
            ButtonKind::Confirm => "Confirm",
            ButtonKind::Cancel => "Cancel",
            ButtonKind::Retry => "Retry",
        }
    }

    /// The stable identifier carried in the platform's action id / custom id.
    pub fn action_id(self) -> &'static str {
        match self {
            ButtonKind::Approve => "warden.approve",
            ButtonKind::Deny => "warden.deny",
            ButtonKind::Confirm => "warden.confirm",
            ButtonKind::Cancel => "warden.cancel",
            ButtonKind::Retry => "warden.retry",
        }
    }

    /// The kind for an action id, if it is one of ours.
    pub fn from_action_id(id: &str) -> Option<ButtonKind> {
        ButtonKind::ALL.into_iter().find(|k| k.action_id() == id)
    }

    /// Whether the platform should draw it as the main (green/blue) or a dangerous (red) action.
    pub fn style(self) -> ButtonStyle {
        match self {
            ButtonKind::Approve | ButtonKind::Confirm | ButtonKind::Retry => ButtonStyle::Primary,
            ButtonKind::Deny => ButtonStyle::Danger,
            ButtonKind::Cancel => ButtonStyle::Secondary,
        }
    }
}

/// How a button is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonStyle {
    /// The expected action.
    Primary,
    /// A destructive or refusing action.
    Danger,
    /// Neutral.
    Secondary,
}

/// A button and what it refers to (`C-12` for a confirmation, `J-42` for a job, `A-17` for an
/// approval).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    /// Which button.
    pub kind: ButtonKind,
    /// The id it acts on.
    pub value: String,
}

/// A message to post or to show in place of an earlier one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// Plain lines; `backticks` for literals (rendered by both platforms).
    pub text: String,
    /// Buttons under the text, in order.
    pub buttons: Vec<Button>,
}

/// Where a posted message lives, so it can be updated in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRef {
    /// The channel it was posted in.
    pub channel: ChannelRef,
    /// Slack's message `ts`, or Discord's message id.
    pub id: String,
}

/// A verified button click, whatever platform it came from.
#[derive(Debug, Clone)]
pub struct Click {
    /// The HTTP request id.
    pub request_id: String,
    /// The platform.
    pub platform: Platform,
    /// The Slack team or Discord guild the click came from.
    pub workspace: String,
    /// Who clicked.
    pub user: PlatformUser,
    /// The channel of the message, as `platform:ID`.
    pub channel: Option<String>,
    /// Which button.
    pub kind: ButtonKind,
    /// The id the button refers to.
    pub value: String,
    /// The key under which the click is recorded so it is not acted on twice.
    pub replay_key: Option<String>,
    /// The message the button was on, when the platform says.
    pub message: Option<MessageRef>,
}
