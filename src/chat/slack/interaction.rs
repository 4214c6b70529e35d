//! Slack interactivity payloads (`payload=` JSON, form-encoded), parsed by slack-morphism:
//! button clicks on warden's buttons become the neutral `Click`, modal submissions a
//! `ModalSubmit`, anything else is reported as `Other`. A payload the library cannot read is
//! an error naming the problem, never a panic.

use std::collections::BTreeMap;

use serde_json::Value;
use slack_morphism::prelude::{
    SlackInteractionActionContainer, SlackInteractionBlockActionsEvent, SlackInteractionEvent,
    SlackInteractionViewSubmissionEvent, SlackView, SlackViewStateValue,
};

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

/// Parses an interactivity body (`payload=` JSON, form-encoded; already verified) into
/// slack-morphism's `SlackInteractionEvent`. `block_actions` and `view_submission` must parse
/// as the library's models, or the body is refused with the library's reason; other payload
/// types are only classified by their `type`, so one the library does not model (or models
/// more strictly than Slack sends it) is still acknowledged.
pub fn parse_interaction(body: &[u8], request_id: String) -> Result<SlackInteraction, String> {
    let fields: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|e| format!("not a Slack interaction: {e}"))?;
    let payload = fields
        .into_iter()
        .find_map(|(k, v)| (k == "payload").then_some(v))
        .ok_or("not a Slack interaction: no `payload` field")?;
    let raw: Value = serde_json::from_str(&payload)
        .map_err(|e| format!("not a Slack interaction payload: {e}"))?;
    parse_interaction_payload(raw, request_id)
}

/// Classifies an interaction payload already decoded as JSON: the `payload` form field of an
/// HTTP request, or the `payload` of a Socket Mode `interactive` envelope.
pub fn parse_interaction_payload(
    mut raw: Value,
    request_id: String,
) -> Result<SlackInteraction, String> {
    let kind = raw
        .get("type")
        .and_then(Value::as_str)
        .ok_or("not a Slack interaction payload: no `type`")?
        .to_string();
    if !matches!(kind.as_str(), "block_actions" | "view_submission") {
        let field = |pointer: &str| {
            raw.pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let team = field("/team/id").or_else(|| field("/user/team_id"));
        return Ok(other(kind, team, field("/user/id"), field("/trigger_id")));
    }
    grid_team(&mut raw);
    // Not in the library's model of a view submission; read from the raw payload.
    let response_urls = raw.get("response_urls").cloned();
    let event: SlackInteractionEvent =
        serde_json::from_value(raw).map_err(|e| format!("not a Slack {kind} payload: {e}"))?;
    Ok(match event {
        SlackInteractionEvent::BlockActions(event) => block_actions(event, request_id),
        SlackInteractionEvent::ViewSubmission(event) => {
            view_submission(event, response_urls.as_ref(), request_id)
        }
        // The `type` tag decided the variant, so no other one can come back here.
        _ => other(kind, None, None, None),
    })
}

/// On Enterprise Grid an interaction's top-level `team` can be null, while the user still
/// names their workspace. slack-morphism requires `team`, so it is filled from the user's
/// `team_id` before parsing, the workspace warden used before the library.
fn grid_team(raw: &mut Value) {
    let team_missing = raw.get("team").is_none_or(Value::is_null);
    let user_team = raw.pointer("/user/team_id").and_then(Value::as_str);
    if let (true, Some(team)) = (team_missing, user_team) {
        raw["team"] = serde_json::json!({ "id": team });
    }
}

fn block_actions(event: SlackInteractionBlockActionsEvent, request_id: String) -> SlackInteraction {
    let team = event.team.id.0;
    let trigger_id = Some(event.trigger_id.0);
    let Some(user_id) = event.user.map(|u| u.id.0) else {
        return other("block_actions".into(), Some(team), None, trigger_id);
    };
    let ours = event.actions.iter().flatten().find_map(|a| {
        let kind = ButtonKind::from_action_id(&a.action_id.0)?;
        Some((kind, a))
    });
    let Some((kind, action)) = ours else {
        return other(
            "block_actions".into(),
            Some(team),
            Some(user_id),
            trigger_id,
        );
    };
    let (container_channel, container_ts) = match &event.container {
        SlackInteractionActionContainer::Message(c) => (c.channel_id.clone(), Some(&c.message_ts)),
        SlackInteractionActionContainer::MessageAttachment(c) => {
            (c.channel_id.clone(), Some(&c.message_ts))
        }
        SlackInteractionActionContainer::View(_) => (None, None),
    };
    let channel_id = event
        .channel
        .map(|c| c.id.0)
        .or(container_channel.map(|c| c.0));
    // Ephemeral messages have no `message` object, only the container's ts.
    let ts = container_ts
        .map(|ts| ts.0.clone())
        .or_else(|| event.message.map(|m| m.origin.ts.0));
    let replay_key = action.action_ts.as_ref().map(|action_ts| {
        format!(
            "slack-action:{}:{}:{user_id}",
            ts.as_deref().unwrap_or("-"),
            action_ts.0
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
    SlackInteraction::Click {
        click: Click {
            transport: crate::chat::Transport::Http,
            request_id,
            platform: Platform::Slack,
            workspace: team.clone(),
            user: PlatformUser {
                platform: Platform::Slack,
                workspace: team,
                user: user_id,
            },
            channel: channel_id.map(|c| format!("slack:{c}")),
            kind,
            value: action.value.clone().unwrap_or_default(),
            replay_key,
            message,
        },
        response_url: event.response_url.map(|u| u.0.to_string()),
        trigger_id,
    }
}

/// The submitted value of one input element: text inputs carry `value`, selects carry
/// `selected_option.value`. Anything else is skipped.
fn element_value(state: &SlackViewStateValue) -> Option<String> {
    state
        .value
        .clone()
        .or_else(|| state.selected_option.as_ref().map(|o| o.value.clone()))
}

fn view_submission(
    event: SlackInteractionViewSubmissionEvent,
    response_urls: Option<&Value>,
    request_id: String,
) -> SlackInteraction {
    let team = event.team.id.0;
    let (callback_id, metadata) = match event.view.view {
        SlackView::Modal(modal) => (modal.callback_id, modal.private_metadata),
        SlackView::Home(home) => (home.callback_id, home.private_metadata),
    };
    // Blocks in a stable order, so that an action id used in two blocks resolves the same way
    // every time.
    let blocks: BTreeMap<String, _> = event
        .view
        .state_params
        .state
        .map(|s| s.values)
        .unwrap_or_default()
        .into_iter()
        .map(|(block, actions)| (block.0, actions))
        .collect();
    let mut values = BTreeMap::new();
    for actions in blocks.into_values() {
        for (action_id, state) in actions {
            if let Some(value) = element_value(&state) {
                values.insert(action_id.0, value);
            }
        }
    }
    let channel = response_urls
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|r| r.get("channel_id")?.as_str())
        .map(|c| format!("slack:{c}"));
    SlackInteraction::ModalSubmit(ModalSubmit {
        request_id,
        platform: Platform::Slack,
        workspace: team.clone(),
        user: PlatformUser {
            platform: Platform::Slack,
            workspace: team,
            user: event.user.id.0,
        },
        callback_id: callback_id.map(|c| c.0).unwrap_or_default(),
        metadata: metadata.unwrap_or_default(),
        values,
        // Each submission gets a fresh trigger id; a byte-identical replay is caught earlier
        // by the signature replay key.
        replay_key: event.trigger_id.map(|t| format!("slack-view:{}", t.0)),
        channel,
    })
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
