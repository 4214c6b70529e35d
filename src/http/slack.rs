//! Slack's three endpoints. Each verifies the signature on the raw bytes first, then hands the
//! parsed request to `transport::slack`, which Socket Mode uses too.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::{header, json_reply, malformed, reject, request_id, Outcome, RawBody};
use crate::app::AppState;
use crate::chat::slack;
use crate::chat::verify::{verify_slack, Rejection};
use crate::chat::Transport;
use crate::transport::slack::{self as answers, Answer};

fn verify(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<String, Rejection> {
    verify_slack(
        &state.slack_secrets,
        header(headers, "x-slack-request-timestamp"),
        header(headers, "x-slack-signature"),
        body,
        chrono::Utc::now().timestamp(),
    )
}

fn respond(answer: Answer) -> Response {
    if answer.retry {
        // A 500 makes Slack deliver the request again later.
        return (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            Outcome(answer.outcome),
            (),
        )
            .into_response();
    }
    json_reply(Outcome(answer.outcome), answer.body)
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
    respond(
        answers::command(
            &state,
            cmd,
            request_id(&headers),
            replay_key,
            Transport::Http,
        )
        .await,
    )
}

/// `POST /slack/interactions`: button clicks (Confirm, Cancel, Retry, …) and modal
/// submissions. A click's answer goes back through its `response_url` (Slack ignores the HTTP
/// body of a `block_actions` request) and, for tests and logs, in the body too.
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
        Ok(interaction) => respond(answers::interaction(&state, interaction, rid).await),
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
    respond(answers::event(&state, event, request_id(&headers), Transport::Http).await)
}
