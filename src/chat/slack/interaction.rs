//! Slack interactivity payloads (`payload=` JSON, form-encoded): button clicks on warden's
//! buttons become the neutral `Click`, modal submissions a `ModalSubmit`, anything else is
//! reported as `Other`. Every field is optional on the way in, so a strange payload is a
//! classification, never a panic.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::chat::message::{ButtonKind, Click, MessageRef, ModalSubmit};
use crate::model::{ChannelRef, Platform, PlatformUser};

/// A verified interaction, classified.
#[derive(Clone)]
pub enum SlackInteraction {
    /// A click on one of warden's buttons.
    Click {
        /// The neutral click.
        click: Click,
        /// Where to answer (replace the message, tell the clicker). Valid 30 minutes, 5 uses.
        /// A bearer credential in all but name: never log it.
        response_url: Option<String>,
        /// Needed to open a modal (the reason asked for on Deny); valid 3 seconds.
        trigger_id: Option<String>,
    },
    /// A modal was submitted (a `view_submission`). Its HTTP answer is `render::close_view()`
    /// or `render::view_errors(..)`, within 3 seconds.
    ModalSubmit(ModalSubmit),
    /// Anything else (other apps' action ids, shortcuts, view closes): acknowledged, ignored.
    Other(InteractionRequest),
}

impl SlackInteraction {
    /// Slack's payload type (`block_actions`, `view_submission`, …), for logs.
    pub fn kind(&self) -> &str {
        match self {
            SlackInteraction::Click { .. } => "block_actions",
            SlackInteraction::ModalSubmit(_) => "view_submission",
            SlackInteraction::Other(other) => &other.kind,
        }
    }
}

// By hand, so that `response_url` never reaches a log through `{:?}`.
impl std::fmt::Debug for SlackInteraction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SlackInteraction::Click {
                click,
                response_url,
                trigger_id,
            } => f
                .debug_struct("Click")
                .field("click", click)
                .field("response_url", &response_url.as_ref().map(|_| "[redacted]"))
                .field("trigger_id", trigger_id)
                .finish(),
            SlackInteraction::ModalSubmit(m) => f.debug_tuple("ModalSubmit").field(m).finish(),
            SlackInteraction::Other(o) => f.debug_tuple("Other").field(o).finish(),
        }
    }
}

/// An interaction warden does not act on, reduced to who and where.
#[derive(Debug, Clone)]
pub struct InteractionRequest {
    /// `block_actions`, `view_submission`, …
    pub kind: String,
    /// The workspace.
    pub team_id: Option<String>,
    /// Who clicked.
    pub user_id: Option<String>,
    /// Slack's id of this interaction.
    pub trigger_id: Option<String>,
}

#[derive(Deserialize)]
struct InteractionForm {
    payload: String,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    team: Option<Team>,
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    trigger_id: Option<String>,
    #[serde(default)]
    channel: Option<Id>,
    #[serde(default)]
    container: Option<Container>,
    #[serde(default)]
    message: Option<RawMessage>,
    #[serde(default)]
    response_url: Option<String>,
    #[serde(default)]
    actions: Vec<Action>,
    #[serde(default)]
    view: Option<View>,
    /// On a `view_submission` whose view has a `response_url_enabled` conversation input:
    /// where to answer. Only the channel is read (the URLs are credentials); kept raw so that
    /// an odd entry never makes the whole submission unreadable.
    #[serde(default)]
    response_urls: Option<Value>,
}

#[derive(Deserialize)]
struct Id {
    id: String,
}

#[derive(Deserialize)]
struct Team {
    #[serde(default)]
    id: Option<String>,
}

#[derive(Deserialize)]
struct User {
    id: String,
    /// Present on Enterprise Grid, where the top-level `team` can be null.
    #[serde(default)]
    team_id: Option<String>,
}

#[derive(Deserialize)]
struct Container {
    #[serde(default)]
    message_ts: Option<String>,
    #[serde(default)]
    channel_id: Option<String>,
}

#[derive(Deserialize)]
struct RawMessage {
    #[serde(default)]
    ts: Option<String>,
}

#[derive(Deserialize)]
struct Action {
    #[serde(default)]
    action_id: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    action_ts: Option<String>,
}

#[derive(Deserialize)]
struct View {
    #[serde(default)]
    callback_id: Option<String>,
    #[serde(default)]
    private_metadata: Option<String>,
    #[serde(default)]
    state: Option<ViewState>,
}

#[derive(Deserialize)]
struct ViewState {
    /// `block_id` → `action_id` → element state; kept raw because each element type has its
    /// own shape.
    #[serde(default)]
    values: BTreeMap<String, BTreeMap<String, Value>>,
}

/// The submitted value of one input element: text inputs carry `value`, selects carry
/// `selected_option.value`. Anything else is skipped.
fn element_value(state: &Value) -> Option<String> {
    state
        .get("value")
        .and_then(Value::as_str)
        .or_else(|| state.pointer("/selected_option/value")?.as_str())
        .map(str::to_string)
}

/// Parses an interactivity body (`payload=` JSON, form-encoded; already verified).
pub fn parse_interaction(body: &[u8], request_id: String) -> Result<SlackInteraction, String> {
    let form: InteractionForm =
        serde_urlencoded::from_bytes(body).map_err(|e| format!("not a Slack interaction: {e}"))?;
    let raw: Raw = serde_json::from_str(&form.payload)
        .map_err(|e| format!("not a Slack interaction payload: {e}"))?;
    let team = raw
        .team
        .as_ref()
        .and_then(|t| t.id.clone())
        .or_else(|| raw.user.as_ref().and_then(|u| u.team_id.clone()));
    let user_id = raw.user.as_ref().map(|u| u.id.clone());
    let (Some(team), Some(user_id)) = (team.clone(), user_id.clone()) else {
        return Ok(other(raw.kind, team, user_id, raw.trigger_id));
    };
    let user = PlatformUser {
        platform: Platform::Slack,
        workspace: team.clone(),
        user: user_id.clone(),
    };
    match raw.kind.as_str() {
        "block_actions" => {
            let ours = raw.actions.iter().find_map(|a| {
                let kind = ButtonKind::from_action_id(a.action_id.as_deref()?)?;
                Some((kind, a))
            });
            let Some((kind, action)) = ours else {
                return Ok(other(raw.kind, Some(team), Some(user_id), raw.trigger_id));
            };
            let channel_id = raw
                .channel
                .map(|c| c.id)
                .or_else(|| raw.container.as_ref().and_then(|c| c.channel_id.clone()));
            // Ephemeral messages have no `message` object, only the container's ts.
            let ts = raw
                .container
                .and_then(|c| c.message_ts)
                .or_else(|| raw.message.and_then(|m| m.ts));
            let replay_key = action.action_ts.as_ref().map(|action_ts| {
                format!(
                    "slack-action:{}:{action_ts}:{user_id}",
                    ts.as_deref().unwrap_or("-")
                )
            });
            let message = match (&channel_id, &ts) {
                (Some(channel), Some(ts)) => Some(MessageRef {
                    channel: ChannelRef {
                        platform: Platform::Slack,
                        id: channel.clone(),
                    },
                    id: ts.clone(),
                }),
                _ => None,
            };
            Ok(SlackInteraction::Click {
                click: Click {
                    request_id,
                    platform: Platform::Slack,
                    workspace: team,
                    user,
                    channel: channel_id.map(|c| format!("slack:{c}")),
                    kind,
                    value: action.value.clone().unwrap_or_default(),
                    replay_key,
                    message,
                },
                response_url: raw.response_url,
                trigger_id: raw.trigger_id,
            })
        }
        "view_submission" => {
            let Some(view) = raw.view else {
                return Ok(other(raw.kind, Some(team), Some(user_id), raw.trigger_id));
            };
            let mut values = BTreeMap::new();
            for block in view
                .state
                .map(|s| s.values)
                .unwrap_or_default()
                .into_values()
            {
                for (action_id, state) in block {
                    if let Some(value) = element_value(&state) {
                        values.insert(action_id, value);
                    }
                }
            }
            let channel = raw
                .response_urls
                .as_ref()
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find_map(|r| r.get("channel_id")?.as_str())
                .map(|c| format!("slack:{c}"));
            Ok(SlackInteraction::ModalSubmit(ModalSubmit {
                request_id,
                platform: Platform::Slack,
                workspace: team,
                user,
                callback_id: view.callback_id.unwrap_or_default(),
                metadata: view.private_metadata.unwrap_or_default(),
                values,
                // Each submission gets a fresh trigger id; a byte-identical replay is caught
                // earlier by the signature replay key.
                replay_key: raw.trigger_id.map(|t| format!("slack-view:{t}")),
                channel,
            }))
        }
        _ => Ok(other(raw.kind, Some(team), Some(user_id), raw.trigger_id)),
    }
}

fn other(
    kind: String,
    team_id: Option<String>,
    user_id: Option<String>,
    trigger_id: Option<String>,
) -> SlackInteraction {
    SlackInteraction::Other(InteractionRequest {
        kind,
        team_id,
        user_id,
        trigger_id,
    })
}

#[cfg(test)]
mod tests;
