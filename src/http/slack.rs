//! Slack's three endpoints. Each verifies the signature on the raw bytes first.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::{
    header, json_reply, malformed, outcome_of, reject, request_id, unavailable, Outcome, RawBody,
};
use crate::app::AppState;
use crate::chat::slack::{self, EventRequest};
use crate::chat::verify::{verify_slack, Rejection};
use crate::chat::{ArgsInput, Invocation, Reply};
use crate::model::{Platform, PlatformUser};

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

/// `POST /slack/interactions`: button clicks and modal submissions. Verified and parsed; the
/// approvals issue gives them meaning. Until then the clicker is told, and nothing changes.
pub(super) async fn interactions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Response {
    if let Err(rejection) = verify(&state, &headers, &body) {
        return reject(&state, "/slack/interactions", rejection);
    }
    match slack::parse_interaction(&body, request_id(&headers)) {
        Ok(interaction) => {
            tracing::info!(slack.interaction = %interaction.kind(), "interaction received; not supported yet");
            json_reply(
                Outcome("ok"),
                slack::render_reply(&Reply::ephemeral(
                    "Buttons and forms are not supported by this warden build yet; nothing was done.",
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
