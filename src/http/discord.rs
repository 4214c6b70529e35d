//! Discord's interactions endpoint. Verified on the raw bytes first; PING is answered with
//! `{"type":1}`, as Discord requires before it accepts the endpoint.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{header, json_reply, outcome_of, reject, request_id, unavailable, Outcome, RawBody};
use crate::app::AppState;
use crate::chat::discord::{self, Interaction};
use crate::chat::verify::verify_discord;
use crate::chat::{ButtonKind, Message, Reply};
use crate::service::ClickAnswer;

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
    match interaction {
        Interaction::Ping => json_reply(Outcome("ok"), discord::pong()),
        Interaction::Command(inv) => match state.service.handle(&inv, chrono::Utc::now()).await {
            Ok((reply, handled)) => json_reply(outcome_of(handled), discord::render_reply(&reply)),
            Err(error) => json_reply(
                Outcome("error"),
                discord::render_reply(&unavailable(&rid, &error)),
            ),
        },
        Interaction::Click { click, .. } => {
            let (reply, outcome) = match state.service.click(&click, chrono::Utc::now()).await {
                Ok(ClickAnswer::Reply(reply, handled)) => (reply, outcome_of(handled)),
                Ok(ClickAnswer::Open(modal)) => {
                    return json_reply(Outcome("ok"), discord::render::modal(&modal))
                }
                Err(error) => (unavailable(&rid, &error), Outcome("error")),
            };
            // Confirm / Cancel update the prompt they were on (type 7); anything else answers
            // with a new message only the clicker sees.
            if matches!(click.kind, ButtonKind::Confirm | ButtonKind::Cancel) {
                let message = Message {
                    text: reply.text,
                    buttons: reply.buttons,
                };
                json_reply(outcome, discord::render_update(&message))
            } else {
                json_reply(outcome, discord::render_reply(&reply))
            }
        }
        Interaction::ModalSubmit { submit, .. } => {
            match state
                .service
                .modal_submit(&submit, chrono::Utc::now())
                .await
            {
                Ok((reply, handled)) => {
                    json_reply(outcome_of(handled), discord::render_reply(&reply))
                }
                Err(error) => json_reply(
                    Outcome("error"),
                    discord::render_reply(&unavailable(&rid, &error)),
                ),
            }
        }
        other => {
            tracing::info!(
                discord.interaction = other.id().unwrap_or_default(),
                "component interaction received; not supported yet"
            );
            json_reply(
                Outcome("ok"),
                discord::render_reply(&Reply::ephemeral(
                    "Buttons and forms are not supported by this warden build yet; nothing was done.",
                )),
            )
        }
    }
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
