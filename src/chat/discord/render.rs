//! Neutral replies and messages turned into Discord request bodies with serenity's builders:
//! interaction responses (PONG and types 4, 7 and 9) and the bodies of channel messages,
//! thread messages, follow-ups, edits and thread changes. Nothing here writes Discord JSON by
//! hand; the builders are serialised with serde_json, either here (for the answers axum sends)
//! or by reqwest (for the REST calls in `client`).

use serde::Serialize;
use serde_json::Value;
use serenity::builder::{
    CreateActionRow, CreateAllowedMentions, CreateButton, CreateInputText,
    CreateInteractionResponse, CreateInteractionResponseFollowup, CreateInteractionResponseMessage,
    CreateMessage, CreateModal, CreateThread, EditInteractionResponse, EditMessage, EditThread,
};
use serenity::model::application::{ButtonStyle as DiscordStyle, InputTextStyle};
use serenity::model::channel::{AutoArchiveDuration, MessageFlags};
use serenity::model::id::UserId;

use crate::chat::message::{Button, ButtonKind, ButtonStyle, Message, Modal};
use crate::chat::Reply;

/// Discord's message flag for "only the invoking user sees this".
pub const EPHEMERAL: u64 = MessageFlags::EPHEMERAL.bits();

/// Discord refuses message content over 2000 characters.
pub const MAX_CONTENT: usize = 2000;

/// Buttons per action row, and action rows per message, that Discord accepts.
const ROW_WIDTH: usize = 5;
const MAX_ROWS: usize = 5;

/// Discord refuses a modal title or a text input label longer than this (characters).
pub const MAX_MODAL_LABEL: usize = 45;

/// Discord refuses a button label over 80 characters.
const MAX_BUTTON_LABEL: usize = 80;

/// The modal's input limits in the type serenity takes; both are far below `u16::MAX`.
const MIN_INPUT: u16 = Modal::MIN_INPUT_CHARS as u16;
const MAX_INPUT: u16 = Modal::MAX_INPUT_CHARS as u16;

/// Discord refuses a thread name over 100 characters.
const MAX_THREAD_NAME: usize = 100;

/// The `custom_id` of a button: `<action_id>:<value>`, e.g. `warden.confirm:C-12`.
pub fn custom_id(button: &Button) -> String {
    format!("{}:{}", button.kind.action_id(), button.value)
}

/// The `custom_id` of a modal: `<callback_id>:<metadata>`, e.g. `warden.deny:A-17`, split
/// back into the two when the modal is submitted.
pub fn modal_custom_id(modal: &Modal) -> String {
    format!("{}:{}", modal.callback_id, modal.metadata)
}

/// Cuts `text` to at most `max` characters, ending with `…` when cut.
fn truncated(text: &str, max: usize) -> String {
    if text.chars().count() > max {
        text.chars().take(max - 1).collect::<String>() + "…"
    } else {
        text.to_string()
    }
}

fn content(text: &str) -> String {
    truncated(text, MAX_CONTENT)
}

/// Serialises a builder. Serenity's builders hold only strings, numbers, booleans, lists and
/// string-keyed maps, which serde_json always serialises; `Null` is unreachable in practice
/// and would be refused by Discord rather than misread.
fn json(body: &impl Serialize) -> Value {
    serde_json::to_value(body).unwrap_or(Value::Null)
}

/// One button. A link is Discord's style 5 with its `url` and no `custom_id` (Discord sends
/// nothing back when it is clicked).
fn button(b: &Button) -> CreateButton {
    let label: String = b.text().chars().take(MAX_BUTTON_LABEL).collect();
    if b.kind == ButtonKind::Link {
        return CreateButton::new_link(b.value.clone()).label(label);
    }
    let style = match b.kind.style() {
        ButtonStyle::Primary => DiscordStyle::Primary,
        ButtonStyle::Secondary => DiscordStyle::Secondary,
        ButtonStyle::Danger => DiscordStyle::Danger,
    };
    CreateButton::new(custom_id(b)).style(style).label(label)
}

/// Action rows of at most five buttons each. Buttons past Discord's 25 are dropped rather
/// than have the whole message refused.
fn action_rows(buttons: &[Button]) -> Vec<CreateActionRow> {
    buttons
        .chunks(ROW_WIDTH)
        .take(MAX_ROWS)
        .map(|row| CreateActionRow::Buttons(row.iter().map(button).collect()))
        .collect()
}

/// Mentions allowed in everything warden sends: none, so that text echoed from a command
/// never pings anyone.
fn no_mentions() -> CreateAllowedMentions {
    CreateAllowedMentions::new()
}

/// The body of `POST /channels/{id}/messages`. `components` is always present, so that the
/// same rendering used for an edit removes buttons that no longer apply.
pub fn create_message(message: &Message) -> CreateMessage {
    CreateMessage::new()
        .content(content(&message.text))
        .components(action_rows(&message.buttons))
        .allowed_mentions(no_mentions())
}

/// The body of a message posted in a thread, mentioning `mentions` (user ids) at the start;
/// only those users are notified. Ids that are not Discord snowflakes are left out.
pub fn thread_message(message: &Message, mentions: &[String]) -> CreateMessage {
    let users: Vec<UserId> = mentions
        .iter()
        .filter(|u| !u.is_empty() && u.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|u| u.parse::<u64>().ok().filter(|&id| id != 0))
        .map(UserId::new)
        .collect();
    if users.is_empty() {
        return create_message(message);
    }
    let prefix: Vec<String> = users.iter().map(|u| format!("<@{u}>")).collect();
    // The mentions lead, so that cutting a long text to Discord's limit keeps them.
    let text = format!("{} {}", prefix.join(" "), message.text);
    CreateMessage::new()
        .content(content(&text))
        .components(action_rows(&message.buttons))
        .allowed_mentions(no_mentions().users(users))
}

/// The body of `PATCH /channels/{id}/messages/{message_id}`: text and buttons replaced.
pub fn edit_message(message: &Message) -> EditMessage {
    EditMessage::new()
        .content(content(&message.text))
        .components(action_rows(&message.buttons))
        .allowed_mentions(no_mentions())
}

/// The body of `POST /webhooks/{application_id}/{token}`: a follow-up to an interaction.
pub fn followup(message: &Message, ephemeral: bool) -> CreateInteractionResponseFollowup {
    let body = CreateInteractionResponseFollowup::new()
        .content(content(&message.text))
        .components(action_rows(&message.buttons))
        .allowed_mentions(no_mentions());
    // Setting `ephemeral(false)` would still write `"flags": 0`; a public message has none.
    if ephemeral {
        body.ephemeral(true)
    } else {
        body
    }
}

/// The body of `PATCH /webhooks/{application_id}/{token}/messages/@original`.
pub fn edit_original(message: &Message) -> EditInteractionResponse {
    EditInteractionResponse::new()
        .content(content(&message.text))
        .components(action_rows(&message.buttons))
        .allowed_mentions(no_mentions())
}

/// The body of `POST /channels/{id}/messages/{message_id}/threads`: a thread named `name`
/// (cut to Discord's 100 characters) that archives after a week without messages.
pub fn start_thread(name: &str) -> CreateThread<'static> {
    let name: String = name.chars().take(MAX_THREAD_NAME).collect();
    CreateThread::new(name).auto_archive_duration(AutoArchiveDuration::OneWeek)
}

/// The body of `PATCH /channels/{thread_id}` that reopens an archived thread.
pub fn unarchive_thread() -> EditThread<'static> {
    EditThread::new().archived(false)
}

/// The message part of an interaction response: the same content, buttons and mentions as a
/// channel message.
fn response_message(message: &Message) -> CreateInteractionResponseMessage {
    CreateInteractionResponseMessage::new()
        .content(content(&message.text))
        .components(action_rows(&message.buttons))
        .allowed_mentions(no_mentions())
}

/// The body of a channel message as JSON (what `create_message` sends).
pub fn render_message(message: &Message) -> Value {
    json(&create_message(message))
}

/// Renders a reply as an interaction response (type 4, CHANNEL_MESSAGE_WITH_SOURCE).
pub fn render_reply(reply: &Reply) -> Value {
    let mut data = response_message(&Message {
        text: reply.text.clone(),
        buttons: reply.buttons.clone(),
    });
    // Setting `ephemeral(false)` would still write `"flags": 0`; a public reply has none.
    if reply.ephemeral {
        data = data.ephemeral(true);
    }
    json(&CreateInteractionResponse::Message(data))
}

/// The answer to a click that replaces the message carrying the button (type 7,
/// UPDATE_MESSAGE).
pub fn render_update(message: &Message) -> Value {
    json(&CreateInteractionResponse::UpdateMessage(response_message(
        message,
    )))
}

/// The response to a PING: exactly `{"type":1}`. Serenity writes `"data": null` beside the
/// type; Discord's endpoint check wants the bare type, so the empty `data` is dropped.
pub fn pong() -> Value {
    let mut body = json(&CreateInteractionResponse::Pong);
    if let Some(object) = body.as_object_mut() {
        object.retain(|_, v| !v.is_null());
    }
    body
}

/// The interaction response that opens a modal (type 9, MODAL): one paragraph text input
/// whose `custom_id` is `input_id`, so that the submission (type 5) parses to
/// `values[input_id]`. Only valid as the answer to a command or a component click, not to
/// another modal submit.
pub fn modal(modal: &Modal) -> Value {
    let input = CreateInputText::new(
        InputTextStyle::Paragraph,
        truncated(&modal.prompt, MAX_MODAL_LABEL),
        modal.input_id.clone(),
    )
    .min_length(MIN_INPUT)
    .max_length(MAX_INPUT)
    .required(true);
    let data = CreateModal::new(
        modal_custom_id(modal),
        truncated(&modal.title, MAX_MODAL_LABEL),
    )
    .components(vec![CreateActionRow::InputText(input)]);
    json(&CreateInteractionResponse::Modal(data))
}

#[cfg(test)]
mod tests;
