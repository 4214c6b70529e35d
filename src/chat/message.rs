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
    /// Run one of an alert route's actions (SPEC §15), as the person clicking, through the
    /// whole guard. Its label is the route's (`Restart`); its value `AL-12:0` names the alert
    /// and the action.
    AlertAction,
    /// Silence an alert in Alertmanager (SPEC §15). Its label is the route's (`Silence 1h`).
    Silence,
    /// A link (a runbook, the alert's source): the value is the URL, opened by the platform.
    /// Nothing comes back to warden when it is clicked.
    Link,
}

impl ButtonKind {
    /// Every kind that comes back as a click (a [`ButtonKind::Link`] never does).
    pub const ALL: [ButtonKind; 7] = [
        ButtonKind::Approve,
        ButtonKind::Deny,
        ButtonKind::Confirm,
        ButtonKind::Cancel,
        ButtonKind::Retry,
        ButtonKind::AlertAction,
        ButtonKind::Silence,
    ];

    /// The label people see when the button has none of its own.
    pub fn label(self) -> &'static str {
        match self {
            ButtonKind::Approve => "Approve",
            ButtonKind::Deny => "Deny",
            ButtonKind::Confirm => "Confirm",
            ButtonKind::Cancel => "Cancel",
            ButtonKind::Retry => "Retry",
            ButtonKind::AlertAction => "Run",
            ButtonKind::Silence => "Silence",
            ButtonKind::Link => "Open",
        }
    }

    /// The stable identifier carried in the platform's action id / custom id. Kinds that may
    /// appear several times on one message (alert actions, links) are told apart by a suffix,
    /// `warden.alert:AL-12:0`, because Slack refuses two buttons with one action id in a block.
    pub fn action_id(self) -> &'static str {
        match self {
            ButtonKind::Approve => "warden.approve",
            ButtonKind::Deny => "warden.deny",
            ButtonKind::Confirm => "warden.confirm",
            ButtonKind::Cancel => "warden.cancel",
            ButtonKind::Retry => "warden.retry",
            ButtonKind::AlertAction => "warden.alert",
            ButtonKind::Silence => "warden.silence",
            ButtonKind::Link => "warden.link",
        }
    }

    /// The kind for a clicked action id (with or without its `:suffix`), if it is one of ours.
    pub fn from_action_id(id: &str) -> Option<ButtonKind> {
        let id = id.split(':').next().unwrap_or(id);
        ButtonKind::ALL.into_iter().find(|k| k.action_id() == id)
    }

    /// The kind for a stored action id, links included.
    pub fn from_stored_id(id: &str) -> Option<ButtonKind> {
        if id == ButtonKind::Link.action_id() {
            return Some(ButtonKind::Link);
        }
        ButtonKind::from_action_id(id)
    }

    /// Whether the platform should draw it as the main (green/blue) or a dangerous (red) action.
    pub fn style(self) -> ButtonStyle {
        match self {
            ButtonKind::Approve
            | ButtonKind::Confirm
            | ButtonKind::Retry
            | ButtonKind::AlertAction => ButtonStyle::Primary,
            ButtonKind::Deny => ButtonStyle::Danger,
            ButtonKind::Cancel | ButtonKind::Silence | ButtonKind::Link => ButtonStyle::Secondary,
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
    /// The id it acts on (the URL of a link).
    pub value: String,
    /// Its own label (an alert action's `Restart`); `None` shows the kind's label.
    pub label: Option<String>,
}

impl Button {
    /// A button with its kind's label.
    pub fn new(kind: ButtonKind, value: impl Into<String>) -> Button {
        Button {
            kind,
            value: value.into(),
            label: None,
        }
    }

    /// A button with a label of its own.
    pub fn labelled(
        kind: ButtonKind,
        value: impl Into<String>,
        label: impl Into<String>,
    ) -> Button {
        Button {
            kind,
            value: value.into(),
            label: Some(label.into()),
        }
    }

    /// The label people see.
    pub fn text(&self) -> &str {
        self.label.as_deref().unwrap_or(self.kind.label())
    }
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
    /// How the click arrived; recorded with the invocations it starts.
    pub transport: crate::chat::Transport,
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

impl Click {
    /// Names the first part of the click that holds a NUL character, if any (see
    /// [`crate::chat::Invocation::nul_field`]).
    pub fn nul_field(&self) -> Option<String> {
        let message = self.message.as_ref();
        super::invocation::first_nul([
            ("the button's value".to_string(), Some(self.value.as_str())),
            ("the workspace id".into(), Some(self.workspace.as_str())),
            ("the user id".into(), Some(self.user.workspace.as_str())),
            ("the user id".into(), Some(self.user.user.as_str())),
            ("the channel id".into(), self.channel.as_deref()),
            ("the request id".into(), Some(self.request_id.as_str())),
            (
                "the request's replay key".into(),
                self.replay_key.as_deref(),
            ),
            ("the message id".into(), message.map(|m| m.id.as_str())),
            (
                "the channel id".into(),
                message.map(|m| m.channel.id.as_str()),
            ),
        ])
    }
}

impl ModalSubmit {
    /// Names the first part of the submission that holds a NUL character, if any: an input
    /// (`the reason`), or an id.
    pub fn nul_field(&self) -> Option<String> {
        let mut fields: Vec<(String, Option<&str>)> = self
            .values
            .iter()
            .flat_map(|(id, value)| {
                let shown = super::invocation::without_nul(id);
                [
                    (format!("the form field `{shown}`"), Some(id.as_str())),
                    (format!("the {shown}"), Some(value.as_str())),
                ]
            })
            .collect();
        fields.extend([
            ("the form's id".to_string(), Some(self.callback_id.as_str())),
            ("the form's subject".into(), Some(self.metadata.as_str())),
            ("the workspace id".into(), Some(self.workspace.as_str())),
            ("the user id".into(), Some(self.user.workspace.as_str())),
            ("the user id".into(), Some(self.user.user.as_str())),
            ("the channel id".into(), self.channel.as_deref()),
            ("the request id".into(), Some(self.request_id.as_str())),
            (
                "the request's replay key".into(),
                self.replay_key.as_deref(),
            ),
        ]);
        super::invocation::first_nul(fields)
    }

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
