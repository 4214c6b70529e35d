//! What warden answers to a Slack request, whichever way it arrived. The HTTP routes put the
//! answer in the response body; Socket Mode puts it in the envelope's acknowledgement. Both
//! call these functions, so a slash command, a click, a form or a mention is handled the same
//! way over either transport.

use serde_json::Value;

use crate::app::AppState;
use crate::chat::slack::{self, EventRequest, SlackInteraction, SlashCommand};
use crate::chat::{ArgsInput, ButtonKind, Invocation, Message, Reply, Transport};
use crate::model::{Platform, PlatformUser};
use crate::service::{ClickAnswer, Handled};
use crate::transport::unavailable;

/// The answer to one Slack request.
#[derive(Debug)]
pub struct Answer {
    /// The metrics label (`ok`, `refused`, `replay`, `error`, …).
    pub outcome: &'static str,
    /// The JSON to send back (an HTTP body, or a Socket Mode acknowledgement's `payload`).
    pub body: Value,
    /// True when the request must fail so that Slack delivers it again (the database was
    /// unavailable while recording an event).
    pub retry: bool,
}

impl Answer {
    fn new(outcome: &'static str, body: Value) -> Self {
        Answer {
            outcome,
            body,
            retry: false,
        }
    }
}

/// A slash command: the neutral invocation through the guard, the answer rendered as Slack's
/// message JSON.
pub async fn command(
    state: &AppState,
    cmd: SlashCommand,
    request_id: String,
    replay_key: String,
    transport: Transport,
) -> Answer {
    let inv = slack::invocation(
        cmd,
        &state.service.root,
        &state.slack_dedicated,
        request_id.clone(),
        Some(replay_key),
        transport,
    );
    match state.service.handle(&inv, chrono::Utc::now()).await {
        Ok((reply, handled)) => Answer::new(handled.as_str(), slack::render_reply(&reply)),
        Err(error) => Answer::new(
            "error",
            slack::render_reply(&unavailable(&request_id, &error)),
        ),
    }
}

/// A click, a form submission or another interaction. A click's answer also goes through
/// its `response_url` (Slack ignores the body of a `block_actions` answer); a form's answer is
/// the body (`clear`, or the errors to show under the input).
pub async fn interaction(
    state: &AppState,
    interaction: SlackInteraction,
    request_id: String,
) -> Answer {
    match interaction {
        SlackInteraction::Click {
            click,
            response_url,
            trigger_id,
        } => click_answer(state, click, response_url, trigger_id, request_id).await,
        SlackInteraction::ModalSubmit(submit) => {
            match state
                .service
                .modal_submit(&submit, chrono::Utc::now())
                .await
            {
                Ok((reply, Handled::InvalidForm)) => {
                    Answer::new("refused", slack::render::view_errors("reason", &reply.text))
                }
                Ok((reply, handled)) => {
                    tracing::info!(request.id = %request_id, "form submitted: {}", reply.text);
                    Answer::new(handled.as_str(), slack::render::close_view())
                }
                Err(error) => {
                    unavailable(&request_id, &error);
                    Answer::new(
                        "error",
                        slack::render::view_errors(
                            "reason",
                            "warden's database is unavailable; nothing was done. Try again.",
                        ),
                    )
                }
            }
        }
        SlackInteraction::Other(other) => {
            tracing::info!(slack.interaction = %other.kind, "interaction received; not supported yet");
            Answer::new(
                "ok",
                slack::render_reply(&Reply::ephemeral(
                    "This form is not supported by this warden build yet; nothing was done.",
                )),
            )
        }
    }
}

async fn click_answer(
    state: &AppState,
    click: crate::chat::Click,
    response_url: Option<String>,
    trigger_id: Option<String>,
    request_id: String,
) -> Answer {
    let answer = state.service.click(&click, chrono::Utc::now()).await;
    let (reply, outcome) = match answer {
        Ok(ClickAnswer::Reply(reply, handled)) => (reply, handled.as_str()),
        Ok(ClickAnswer::Open(modal)) => {
            // Slack's trigger_id lasts 3 seconds, so the form is opened right here.
            let opened = match (trigger_id, state.slack_client.as_ref()) {
                (Some(trigger), Some(client)) => client
                    .open_view(&trigger, &modal)
                    .await
                    .map_err(|e| e.to_string()),
                _ => Err("SLACK_BOT_TOKEN is not set".to_string()),
            };
            match opened {
                Ok(()) => return Answer::new("ok", serde_json::json!({})),
                Err(error) => {
                    tracing::warn!("opening the Deny form failed: {error}");
                    (
                        Reply::ephemeral(
                            "warden could not open the Deny form; nothing was done. Try again.",
                        ),
                        "error",
                    )
                }
            }
        }
        Err(error) => (unavailable(&request_id, &error), "error"),
    };
    // The Confirm / Cancel prompt is replaced by its outcome; anything else (a Retry on an
    // alert, a vote on a request) gets a new message only the clicker sees.
    let replace = matches!(click.kind, ButtonKind::Confirm | ButtonKind::Cancel);
    if let (Some(url), Some(client)) = (response_url, state.slack_client.clone()) {
        let message = Message {
            text: reply.text.clone(),
            buttons: reply.buttons.clone(),
        };
        tokio::spawn(async move {
            if let Err(error) = client.respond(&url, &message, true, replace).await {
                tracing::warn!("answering a click through its response_url failed: {error}");
            }
        });
    }
    Answer::new(outcome, slack::render_reply(&reply))
}

/// An Events API callback: the URL check is echoed, a mention is answered with help (once per
/// `event_id`, however often Slack retries), anything else is acknowledged.
pub async fn event(
    state: &AppState,
    event: EventRequest,
    request_id: String,
    transport: Transport,
) -> Answer {
    match event {
        EventRequest::UrlVerification { challenge } => {
            Answer::new("ok", serde_json::json!({ "challenge": challenge }))
        }
        EventRequest::AppMention {
            event_id,
            team_id,
            user,
            channel,
        } => {
            let inv = Invocation {
                request_id: request_id.clone(),
                transport,
                platform: Platform::Slack,
                workspace: team_id.clone(),
                user: PlatformUser {
                    platform: Platform::Slack,
                    workspace: team_id,
                    user: user.clone(),
                },
                user_name: None,
                channel: Some(format!("slack:{channel}")),
                command: "help".into(),
                input: ArgsInput::Text(String::new()),
                replay_key: Some(format!("slack-event:{event_id}")),
                reply: None,
                thread: None,
            };
            match state.service.handle(&inv, chrono::Utc::now()).await {
                Ok((reply, handled)) => {
                    if handled != Handled::Replay {
                        state.answer_mention(channel, user, reply.text);
                    }
                    Answer::new(handled.as_str(), serde_json::json!({}))
                }
                Err(error) => {
                    unavailable(&request_id, &error);
                    // Failing makes Slack deliver the event again later, which is what we want
                    // when the database is briefly unavailable.
                    Answer {
                        outcome: "error",
                        body: Value::Null,
                        retry: true,
                    }
                }
            }
        }
        EventRequest::Other { .. } => Answer::new("ok", serde_json::json!({})),
    }
}
