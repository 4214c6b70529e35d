//! Neutral outgoing messages, incoming button clicks, and the one-input forms (modals) warden
//! opens and receives back. The guard, the job runner and the alerts build these;
//! `chat::slack` and `chat::discord` render and parse the platform forms.

use std::collections::BTreeMap;

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

/// A one-input form to open in answer to a click (the reason asked for on Deny). Both
/// platforms render it with a multi-line text input of `MIN_INPUT_CHARS..=MAX_INPUT_CHARS`
/// characters; the submission comes back as a [`ModalSubmit`] carrying the same
/// `callback_id` and `metadata`, with the text under `values[input_id]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modal {
    /// Which form this is (`warden.deny`).
    pub callback_id: String,
    /// What it is about (`A-17`).
    pub metadata: String,
    /// The title (`Deny A-17`); cut to what the platform accepts.
    pub title: String,
    /// The label of the input (`Why are you denying this request?`).
    pub prompt: String,
    /// The id of the input, the key of its value in the submission (`reason`).
    pub input_id: String,
    /// The label of the submit button (`Deny`).
    pub submit: String,
}

impl Modal {
    /// The fewest characters the input accepts (enforced by the platform's form; the service
    /// should check the trimmed value again).
    pub const MIN_INPUT_CHARS: usize = 3;
    /// The most characters the input accepts.
    pub const MAX_INPUT_CHARS: usize = 500;
    /// The input id of the Deny form.
    pub const REASON: &'static str = "reason";

    /// The form asking why an approval request is denied: callback id `warden.deny` (the Deny
    /// button's action id), metadata the approval id, input `reason`.
    pub fn deny(approval: &str) -> Modal {
        Modal {
            callback_id: ButtonKind::Deny.action_id().to_string(),
            metadata: approval.to_string(),
            title: format!("Deny {approval}"),
            prompt: "Why are you denying this request?".to_string(),
            input_id: Modal::REASON.to_string(),
            submit: ButtonKind::Deny.label().to_string(),
        }
    }
}

/// A verified modal submission, whatever platform it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModalSubmit {
    /// The HTTP request id.
    pub request_id: String,
    /// The platform.
    pub platform: Platform,
    /// The Slack team or Discord guild the submission came from.
    pub workspace: String,
    /// Who submitted.
    pub user: PlatformUser,
    /// Which form (the [`Modal::callback_id`] it was opened with, e.g. `warden.deny`).
    pub callback_id: String,
    /// What it is about (the [`Modal::metadata`], e.g. `A-17`).
    pub metadata: String,
    /// Input values keyed by input id (`reason`), untrimmed, as typed.
    pub values: BTreeMap<String, String>,
    /// The key under which the submission is recorded so it is not acted on twice.
    pub replay_key: Option<String>,
    /// The channel the form was opened from, as `platform:ID`, when the platform says
    /// (always on Discord; on Slack only if the view carries a `response_urls` entry).
    pub channel: Option<String>,
}

impl ModalSubmit {
    /// The value of one input, if it was submitted.
    pub fn value(&self, input_id: &str) -> Option<&str> {
        self.values.get(input_id).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_modal() {
        assert_eq!(
            Modal::deny("A-17"),
            Modal {
                callback_id: "warden.deny".into(),
                metadata: "A-17".into(),
                title: "Deny A-17".into(),
                prompt: "Why are you denying this request?".into(),
                input_id: "reason".into(),
                submit: "Deny".into(),
            }
        );
        assert_eq!(
            ButtonKind::from_action_id(&Modal::deny("A-1").callback_id),
            Some(ButtonKind::Deny)
        );
    }
}
