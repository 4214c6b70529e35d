//! Neutral replies and messages rendered as Discord JSON: interaction responses (types 4, 7
//! and 9) and the bodies of channel messages, follow-ups and edits.

use serde_json::{json, Value};

use crate::chat::message::{Button, ButtonKind, ButtonStyle, Message, Modal};
use crate::chat::Reply;

/// Discord's message flag for "only the invoking user sees this".
pub const EPHEMERAL: u64 = 64;

/// Discord refuses message content over 2000 characters.
pub const MAX_CONTENT: usize = 2000;

/// Buttons per action row, and action rows per message, that Discord accepts.
const ROW_WIDTH: usize = 5;
const MAX_ROWS: usize = 5;

/// The `custom_id` of a button: `<action_id>:<value>`, e.g. `warden.confirm:C-12`.
pub fn custom_id(button: &Button) -> String {
    format!("{}:{}", button.kind.action_id(), button.value)
}

/// Discord refuses a modal title or a text input label longer than this (characters).
pub const MAX_MODAL_LABEL: usize = 45;

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

/// Discord refuses a button label over 80 characters.
const MAX_BUTTON_LABEL: usize = 80;

/// A button component; a link is style 5 with its `url` and no `custom_id` (Discord sends
/// nothing back when it is clicked).
fn button(b: &Button) -> Value {
    let label: String = b.text().chars().take(MAX_BUTTON_LABEL).collect();
    if b.kind == ButtonKind::Link {
        return json!({ "type": 2, "style": 5, "label": label, "url": b.value });
    }
    let style = match b.kind.style() {
        ButtonStyle::Primary => 1,
        ButtonStyle::Secondary => 2,
        ButtonStyle::Danger => 4,
    };
    json!({ "type": 2, "style": style, "label": label, "custom_id": custom_id(b) })
}

/// Action rows (type 1) of at most five buttons each. Buttons past Discord's 25 are dropped
/// rather than have the whole message refused.
fn components(buttons: &[Button]) -> Value {
    buttons
        .chunks(ROW_WIDTH)
        .take(MAX_ROWS)
        .map(|row| json!({ "type": 1, "components": row.iter().map(button).collect::<Vec<_>>() }))
        .collect()
}

/// The body of a channel message, follow-up or edit: `content`, `components` (always present,
/// so that an edit removes buttons that no longer apply) and `allowed_mentions` with nothing
/// allowed, so that text echoed from a command never pings anyone.
pub fn render_message(message: &Message) -> Value {
    json!({
        "content": content(&message.text),
        "components": components(&message.buttons),
        "allowed_mentions": { "parse": [] },
    })
}

/// Renders a reply as an interaction response (type 4, CHANNEL_MESSAGE_WITH_SOURCE).
pub fn render_reply(reply: &Reply) -> Value {
    let mut data = render_message(&Message {
        text: reply.text.clone(),
        buttons: reply.buttons.clone(),
    });
    if reply.ephemeral {
        data["flags"] = EPHEMERAL.into();
    }
    json!({ "type": 4, "data": data })
}

/// The answer to a click that replaces the message carrying the button (type 7,
/// UPDATE_MESSAGE).
pub fn render_update(message: &Message) -> Value {
    json!({ "type": 7, "data": render_message(message) })
}

/// The `custom_id` of a modal: `<callback_id>:<metadata>`, e.g. `warden.deny:A-17`, split
/// back into the two when the modal is submitted.
pub fn modal_custom_id(modal: &Modal) -> String {
    format!("{}:{}", modal.callback_id, modal.metadata)
}

/// The interaction response that opens a modal (type 9, MODAL): one paragraph text input
/// whose `custom_id` is `input_id`, so that the submission (type 5) parses to
/// `values[input_id]`. Only valid as the answer to a command or a component click, not to
/// another modal submit.
pub fn modal(modal: &Modal) -> Value {
    json!({
        "type": 9,
        "data": {
            "custom_id": modal_custom_id(modal),
            "title": truncated(&modal.title, MAX_MODAL_LABEL),
            "components": [{
                "type": 1,
                "components": [{
                    "type": 4,
                    "custom_id": modal.input_id,
                    "label": truncated(&modal.prompt, MAX_MODAL_LABEL),
                    "style": 2,
                    "min_length": Modal::MIN_INPUT_CHARS,
                    "max_length": Modal::MAX_INPUT_CHARS,
                    "required": true,
                }],
            }],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::message::ButtonKind;

    fn b(kind: ButtonKind, value: &str) -> Button {
        Button::new(kind, value)
    }

    #[test]
    fn alert_buttons_carry_their_labels_and_links_are_style_5_without_custom_id() {
        let message = Message {
            text: "x".into(),
            buttons: vec![
                Button::labelled(ButtonKind::AlertAction, "AL-1:0", "Restart"),
                Button::labelled(ButtonKind::Link, "https://runbooks.example/a", "Runbook"),
            ],
        };
        let body = render_message(&message);
        let row = &body["components"][0]["components"];
        assert_eq!(row[0]["label"], "Restart");
        assert_eq!(row[0]["custom_id"], "warden.alert:AL-1:0");
        assert_eq!(row[1]["style"], 5);
        assert_eq!(row[1]["url"], "https://runbooks.example/a");
        assert!(row[1]["custom_id"].is_null());
    }

    #[test]
    fn reply_with_confirm_and_cancel() {
        let reply = Reply {
            ephemeral: true,
            text: "Run `deploy api` in prod?".into(),
            buttons: vec![
                b(ButtonKind::Confirm, "C-12"),
                b(ButtonKind::Cancel, "C-12"),
            ],
        };
        assert_eq!(
            render_reply(&reply),
            json!({
                "type": 4,
                "data": {
                    "content": "Run `deploy api` in prod?",
                    "flags": 64,
                    "allowed_mentions": { "parse": [] },
                    "components": [{ "type": 1, "components": [
                        { "type": 2, "style": 1, "label": "Confirm", "custom_id": "warden.confirm:C-12" },
                        { "type": 2, "style": 2, "label": "Cancel", "custom_id": "warden.cancel:C-12" },
                    ] }],
                },
            })
        );
    }

    #[test]
    fn in_channel_reply_has_no_flags_and_deny_is_red() {
        let reply = Reply {
            ephemeral: false,
            text: "x".into(),
            buttons: vec![b(ButtonKind::Deny, "A-1")],
        };
        let v = render_reply(&reply);
        assert_eq!(v["data"].get("flags"), None);
        assert_eq!(v["data"]["components"][0]["components"][0]["style"], 4);
    }

    #[test]
    fn rows_of_five_and_truncation() {
        let many: Vec<_> = (0..12)
            .map(|i| b(ButtonKind::Retry, &format!("J-{i}")))
            .collect();
        let m = render_message(&Message {
            text: "x".repeat(3000),
            buttons: many,
        });
        let rows = m["components"].as_array().unwrap();
        assert_eq!(
            rows.iter()
                .map(|r| r["components"].as_array().unwrap().len())
                .collect::<Vec<_>>(),
            vec![5, 5, 2]
        );
        let content = m["content"].as_str().unwrap();
        assert_eq!(content.chars().count(), MAX_CONTENT);
        assert!(content.ends_with('…'));
    }

    #[test]
    fn deny_modal_is_type_9() {
        assert_eq!(
            modal(&Modal::deny("A-17")),
            json!({
                "type": 9,
                "data": {
                    "custom_id": "warden.deny:A-17",
                    "title": "Deny A-17",
                    "components": [{ "type": 1, "components": [{
                        "type": 4,
                        "custom_id": "reason",
                        "label": "Why are you denying this request?",
                        "style": 2,
                        "min_length": 3,
                        "max_length": 500,
                        "required": true,
                    }] }],
                },
            })
        );
    }

    #[test]
    fn modal_title_and_label_are_cut_to_45() {
        let mut m = Modal::deny("A-17");
        m.title = "t".repeat(100);
        m.prompt = "é".repeat(46);
        let v = modal(&m);
        let title = v["data"]["title"].as_str().unwrap();
        assert_eq!(title.chars().count(), MAX_MODAL_LABEL);
        assert!(title.ends_with('…'));
        let label = v["data"]["components"][0]["components"][0]["label"]
            .as_str()
            .unwrap();
        assert_eq!(label.chars().count(), MAX_MODAL_LABEL);
        m.prompt = "é".repeat(45);
        assert_eq!(
            modal(&m)["data"]["components"][0]["components"][0]["label"],
            "é".repeat(45)
        );
    }

    #[test]
    fn update_is_type_7_and_clears_buttons() {
        let v = render_update(&Message {
            text: "Approved by <@1>".into(),
            buttons: vec![],
        });
        assert_eq!(v["type"], 7);
        assert_eq!(v["data"]["content"], "Approved by <@1>");
        assert_eq!(v["data"]["components"], json!([]));
        assert_eq!(v["data"]["allowed_mentions"], json!({ "parse": [] }));
    }
}
