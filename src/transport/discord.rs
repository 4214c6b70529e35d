//! What warden answers to a Discord interaction, whichever way it arrived. The HTTP route puts
//! the answer in its response body; the Gateway posts it to the interaction's callback URL.
//! Both call `answer`, so a command, a click or a form is handled the same way over either.

use serde_json::Value;

use crate::app::AppState;
use crate::chat::discord::{self, Interaction};
use crate::chat::{ButtonKind, Message, Reply, Transport};
use crate::service::ClickAnswer;
use crate::transport::unavailable;

/// The answer to one Discord interaction.
#[derive(Debug)]
pub struct Answer {
    /// The metrics label (`ok`, `refused`, `replay`, `error`, …).
    pub outcome: &'static str,
    /// Discord's interaction response (`{"type": 4, "data": …}` and the like).
    pub body: Value,
}

fn answer_of(outcome: &'static str, body: Value) -> Answer {
    Answer { outcome, body }
}

/// Handles a parsed interaction that arrived over `transport`: the neutral invocation or click
/// goes through the service, and the reply is rendered as Discord's interaction response.
pub async fn answer(
    state: &AppState,
    interaction: Interaction,
    request_id: &str,
    transport: Transport,
) -> Answer {
    match interaction {
        Interaction::Ping => answer_of("ok", discord::pong()),
        Interaction::Command(mut inv) => {
            inv.transport = transport;
            match state.service.handle(&inv, chrono::Utc::now()).await {
                Ok((reply, handled)) => answer_of(handled.as_str(), discord::render_reply(&reply)),
                Err(error) => answer_of(
                    "error",
                    discord::render_reply(&unavailable(request_id, &error)),
                ),
            }
        }
        Interaction::Click { mut click, .. } => {
            click.transport = transport;
            let (reply, outcome) = match state.service.click(&click, chrono::Utc::now()).await {
                Ok(ClickAnswer::Reply(reply, handled)) => (reply, handled.as_str()),
                Ok(ClickAnswer::Open(modal)) => {
                    return answer_of("ok", discord::render::modal(&modal))
                }
                Err(error) => (unavailable(request_id, &error), "error"),
            };
            // Confirm / Cancel update the prompt they were on (type 7); anything else answers
            // with a new message only the clicker sees.
            if matches!(click.kind, ButtonKind::Confirm | ButtonKind::Cancel) {
                let message = Message {
                    text: reply.text,
                    buttons: reply.buttons,
                };
                answer_of(outcome, discord::render_update(&message))
            } else {
                answer_of(outcome, discord::render_reply(&reply))
            }
        }
        Interaction::ModalSubmit { submit, .. } => {
            match state
                .service
                .modal_submit(&submit, chrono::Utc::now())
                .await
            {
                Ok((reply, handled)) => answer_of(handled.as_str(), discord::render_reply(&reply)),
                Err(error) => answer_of(
                    "error",
                    discord::render_reply(&unavailable(request_id, &error)),
                ),
            }
        }
        other => {
            tracing::info!(
                discord.interaction = other.id().unwrap_or_default(),
                "component interaction received; not supported yet"
            );
            answer_of(
                "ok",
                discord::render_reply(&Reply::ephemeral(
                    "Buttons and forms are not supported by this warden build yet; nothing was done.",
                )),
            )
        }
    }
}
