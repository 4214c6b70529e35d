//! Slack's three endpoints. Each verifies the signature on the raw bytes first.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::{
    header, json_reply, malformed, outcome_of, reject, request_id, unavailable, Outcome, RawBody,
};
use crate::app::AppState;
use crate::chat::slack::{self, EventRequest, SlackInteraction};
use crate::chat::verify::{verify_slack, Rejection};
use crate::chat::{ArgsInput, ButtonKind, Invocation, Message, Reply};
use crate::model::{Platform, PlatformUser};
use crate::service::{ClickAnswer, Handled};

fn verify(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<String, Rejection> {
    verify_slack(
        &state.slack_secrets,
        header(headers, "x-slack-request-timestamp"),
        header(headers, "x-slack-signature"),
        body,
        chrono::Utc::now().timestamp(),
    )
}

/// `POST /slack/commands`: a slash command.
pub(super) async fn commands(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Response {
    let replay_key = match verify(&state, &headers, &body) {
        Ok(key) => key,
        Err(rejection) => return reject(&state, "/slack/commands", rejection),
    };
    let cmd = match slack::parse_command(&body) {
        Ok(cmd) => cmd,
        Err(problem) => return malformed("/slack/commands", &problem),
    };
    let rid = request_id(&headers);
    let inv = slack::invocation(
        cmd,
        &state.service.root,
        &state.slack_dedicated,
        rid.clone(),
        Some(replay_key),
    );
    match state.service.handle(&inv, chrono::Utc::now()).await {
        Ok((reply, handled)) => json_reply(outcome_of(handled), slack::render_reply(&reply)),
        Err(error) => json_reply(
            Outcome("error"),
            slack::render_reply(&unavailable(&rid, &error)),
        ),
    }
}

/// `POST /slack/interactions`: button clicks (Confirm, Cancel, Retry, …) and modal
/// submissions. A click is verified like every request, then handled by the service; the
/// answer goes back through the click's `response_url` (Slack ignores the HTTP body of a
/// `block_actions` request) and, for tests and logs, in the body too.
pub(super) async fn interactions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Response {
    if let Err(rejection) = verify(&state, &headers, &body) {
        return reject(&state, "/slack/interactions", rejection);
    }
    let rid = request_id(&headers);
    match slack::parse_interaction(&body, rid.clone()) {
        Ok(SlackInteraction::Click {
            click,
            response_url,
            trigger_id,
        }) => {
            let answer = state.service.click(&click, chrono::Utc::now()).await;
            let (reply, outcome) = match answer {
                Ok(ClickAnswer::Reply(reply, handled)) => (reply, outcome_of(handled)),
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
                        Ok(()) => return json_reply(Outcome("ok"), serde_json::json!({})),
                        Err(error) => {
                            tracing::warn!("opening the Deny form failed: {error}");
                            (
                                Reply::ephemeral("warden could not open the Deny form; nothing was done. Try again."),
                                Outcome("error"),
                            )
                        }
                    }
                }
                Err(error) => (unavailable(&rid, &error), Outcome("error")),
            };
            // The Confirm / Cancel prompt is replaced by its outcome; anything else (a Retry
            // on an alert, a vote on a request) gets a new message only the clicker sees.
            let replace = matches!(click.kind, ButtonKind::Confirm | ButtonKind::Cancel);
            if let (Some(url), Some(client)) = (response_url, state.slack_client.clone()) {
                let message = Message {
                    text: reply.text.clone(),
                    buttons: reply.buttons.clone(),
                };
                tokio::spawn(async move {
                    if let Err(error) = client.respond(&url, &message, true, replace).await {
                        tracing::warn!(
                            "answering a click through its response_url failed: {error}"
                        );
                    }
                });
            }
            json_reply(outcome, slack::render_reply(&reply))
        }
        Ok(SlackInteraction::ModalSubmit(submit)) => {
            match state
                .service
                .modal_submit(&submit, chrono::Utc::now())
                .await
            {
                Ok((reply, Handled::InvalidForm)) => json_reply(
                    Outcome("refused"),
                    slack::render::view_errors("reason", &reply.text),
                ),
                Ok((reply, handled)) => {
                    tracing::info!(request.id = %rid, "form submitted: {}", reply.text);
                    json_reply(outcome_of(handled), slack::render::close_view())
                }
                Err(error) => {
                    unavailable(&rid, &error);
                    json_reply(
                        Outcome("error"),
                        slack::render::view_errors(
                            "reason",
                            "warden's database is unavailable; nothing was done. Try again.",
                        ),
                    )
                }
            }
        }
        Ok(interaction) => {
            tracing::info!(slack.interaction = %interaction.kind(), "interaction received; not supported yet");
            json_reply(
                Outcome("ok"),
                slack::render_reply(&Reply::ephemeral(
                    "This form is not supported by this warden build yet; nothing was done.",
                )),
            )
        }
        Err(problem) => malformed("/slack/interactions", &problem),
    }
}

/// `POST /slack/events`: the URL check and `app_mention` (answered with help, once per
/// `event_id` however often Slack retries).
pub(super) async fn events(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Response {
    if let Err(rejection) = verify(&state, &headers, &body) {
        return reject(&state, "/slack/events", rejection);
    }
    let event = match slack::parse_event(&body) {
        Ok(event) => event,
        Err(problem) => return malformed("/slack/events", &problem),
    };
    match event {
        EventRequest::UrlVerification { challenge } => {
            json_reply(Outcome("ok"), serde_json::json!({ "challenge": challenge }))
        }
        EventRequest::AppMention {
            event_id,
            team_id,
            user,
            channel,
        } => {
            let rid = request_id(&headers);
            let inv = Invocation {
                request_id: rid.clone(),
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
                    if handled != crate::service::Handled::Replay {
                        state.answer_mention(channel, user, reply.text);
                    }
                    json_reply(outcome_of(handled), serde_json::json!({}))
                }
                Err(error) => {
                    unavailable(&rid, &error);
                    // A 500 makes Slack retry the event later, which is what we want when the
                    // database is briefly unavailable.
                    (
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                        Outcome("error"),
                        (),
                    )
                        .into_response()
                }
            }
        }
        EventRequest::Other { .. } => json_reply(Outcome("ok"), serde_json::json!({})),
    }
}
