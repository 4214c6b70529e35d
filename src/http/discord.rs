//! Discord's interactions endpoint. Verified on the raw bytes first; PING is answered with
//! `{"type":1}`, as Discord requires before it accepts the endpoint. What is answered is
//! decided in `transport::discord`, shared with the Gateway.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{header, json_reply, reject, request_id, Outcome, RawBody};
use crate::app::AppState;
use crate::chat::discord;
use crate::chat::verify::verify_discord;
use crate::chat::Transport;
use crate::transport::discord as answers;

/// `POST /discord/interactions`.
pub(super) async fn interactions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Response {
    if let Err(rejection) = verify_discord(
        state.discord_key.as_ref(),
        header(&headers, "x-signature-timestamp"),
        header(&headers, "x-signature-ed25519"),
        &body,
        chrono::Utc::now().timestamp(),
    ) {
        return reject(&state, "/discord/interactions", rejection);
    }
    let rid = request_id(&headers);
    let interaction = match discord::parse_interaction(&body, rid.clone()) {
        Ok(interaction) => interaction,
        Err(problem) => return unreadable(&problem),
    };
    let answer = answers::answer(&state, interaction, &rid, Transport::Http).await;
    json_reply(Outcome(answer.outcome), answer.body)
}

/// A verified body that is not an interaction warden can read (an unknown type, a missing
/// field): 400 with the problem named in plain text. The body was signed by Discord, so the
/// answer goes back to Discord only and tells its developer what was wrong.
fn unreadable(problem: &str) -> Response {
    tracing::warn!(
        http.route = "/discord/interactions",
        "unreadable verified interaction: {problem}"
    );
    (
        StatusCode::BAD_REQUEST,
        Outcome("bad_request"),
        problem.to_string(),
    )
        .into_response()
}
