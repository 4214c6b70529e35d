//! Neutral messages rendered as Slack Block Kit, built from slack-morphism's models: the
//! slash-command response, the content of `chat.postMessage` / `chat.update`, the answer to a
//! click through `response_url`, and modals (the `view` of `views.open` and the HTTP answer to
//! a `view_submission`).

use serde::Serialize;
use serde_json::Value;
use slack_morphism::prelude::{
    SlackActionBlockElement, SlackActionId, SlackActionsBlock, SlackApiPostWebhookMessageRequest,
    SlackBlock, SlackBlockButtonElement, SlackBlockButtonStyle, SlackBlockId,
    SlackBlockMarkDownText, SlackBlockPlainText, SlackBlockPlainTextInputElement,
    SlackBlockPlainTextOnly, SlackBlockText, SlackCallbackId, SlackCommandEventResponse,
    SlackInputBlock, SlackMessageContent, SlackMessageResponseType, SlackModalView,
    SlackSectionBlock, SlackView, SlackViewSubmissionClearResponse,
    SlackViewSubmissionErrorsResponse, SlackViewSubmissionResponse,
};

use crate::chat::message::{Button, ButtonKind, ButtonStyle, Message, Modal};
use crate::chat::Reply;

/// Slack refuses a `section` whose text is longer than this (characters).
pub const MAX_SECTION_TEXT: usize = 3000;

/// Slack refuses an `actions` block with more elements than this.
const MAX_ACTIONS: usize = 25;

/// Escapes the three characters Slack's mrkdwn treats as control characters. Without it a
/// command argument like `<!channel>` would ping a whole channel; backticks stay, so literals
/// still render as code.
///
/// Every reply goes through here (the help text is a few KiB), so it copies the runs between
/// the three characters whole instead of pushing character by character: that loop was 4 % of
/// warden's CPU at 50 connections (docs/PERFORMANCE.md).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut start = 0;
    for (i, byte) in text.bytes().enumerate() {
        let entity = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            _ => continue,
        };
        // The three are ASCII, so `i` and `i + 1` are character boundaries.
        out.push_str(&text[start..i]);
        out.push_str(entity);
        start = i + 1;
    }
    out.push_str(&text[start..]);
    out
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        c => out.push(c),
    }
}

/// Escapes `text` and cuts it to at most `max` characters, ending with `…` when cut. It cuts
/// between source characters, so an entity such as `&amp;` is never split in half.
pub fn escape_truncated(text: &str, max: usize) -> String {
    let escaped = escape(text);
    if escaped.chars().count() <= max {
        return escaped;
    }
    let mut out = String::new();
    let mut used = 0;
    let mut piece = String::new();
    for c in text.chars() {
        piece.clear();
        push_escaped(&mut piece, c);
        let len = piece.chars().count();
        if used + len + 1 > max {
            break;
        }
        out.push_str(&piece);
        used += len;
    }
    out.push('…');
    out
}

/// Slack refuses a button label over 75 characters, and an action id over 255.
const MAX_BUTTON_LABEL: usize = 75;
const MAX_ACTION_ID: usize = 255;

fn plain(text: impl Into<String>) -> SlackBlockPlainTextOnly {
    SlackBlockPlainText::new(text.into()).into()
}

fn mrkdwn(text: String) -> SlackBlockText {
    SlackBlockText::MarkDown(SlackBlockMarkDownText::new(text))
}

/// A button element. Kinds that may appear several times in one block carry a suffix in their
/// action id (Slack refuses duplicates in a block): the value for alert actions, the position
/// for links, whose value is their URL.
fn button(index: usize, b: &Button) -> SlackBlockButtonElement {
    let label: String = b.text().chars().take(MAX_BUTTON_LABEL).collect();
    let action_id = match b.kind {
        ButtonKind::AlertAction | ButtonKind::Silence => {
            format!("{}:{}", b.kind.action_id(), b.value)
        }
        ButtonKind::Link => format!("{}:{index}", b.kind.action_id()),
        _ => b.kind.action_id().to_string(),
    };
    let element = SlackBlockButtonElement::new(plain(label)).with_action_id(SlackActionId(
        action_id.chars().take(MAX_ACTION_ID).collect(),
    ));
    // A link opens its URL and sends nothing warden acts on; a link whose value is not a URL
    // (which warden never builds) is shown as a plain button rather than refused by Slack.
    let element = if b.kind == ButtonKind::Link {
        element.opt_url(url::Url::parse(&b.value).ok())
    } else {
        element.with_value(b.value.clone())
    };
    match b.kind.style() {
        ButtonStyle::Primary => element.with_style(SlackBlockButtonStyle::Primary),
        ButtonStyle::Danger => element.with_style(SlackBlockButtonStyle::Danger),
        // Slack has no "secondary" style: the default look is the neutral one.
        ButtonStyle::Secondary => element,
    }
}

/// The `blocks` of a message: a mrkdwn `section` with the text, then the buttons in an
/// `actions` block. Always present (even with no buttons) so that an update removes buttons
/// that are no longer valid.
pub fn blocks(message: &Message) -> Vec<SlackBlock> {
    let mut blocks = Vec::new();
    // A section with empty text is refused by Slack (`invalid_blocks`).
    if !message.text.is_empty() {
        blocks.push(
            SlackSectionBlock::new()
                .with_text(mrkdwn(escape_truncated(&message.text, MAX_SECTION_TEXT)))
                .into(),
        );
    }
    for chunk in message.buttons.chunks(MAX_ACTIONS) {
        let elements: Vec<SlackActionBlockElement> = chunk
            .iter()
            .enumerate()
            .map(|(i, b)| button(i, b).into())
            .collect();
        blocks.push(SlackActionsBlock::new(elements).into());
    }
    blocks
}

/// The content every message-carrying Slack body shares: `text` (the notification fallback,
/// escaped and cut like the section) and `blocks`.
pub fn content(message: &Message) -> SlackMessageContent {
    SlackMessageContent::new()
        .with_text(escape_truncated(&message.text, MAX_SECTION_TEXT))
        .with_blocks(blocks(message))
}

/// The content of a thread reply that mentions `users` (Slack user ids) at its start. The
/// mentions are added after escaping, so only ids of the form `U…`/`W…` become `<@…>`: text
/// written by people can never produce one.
pub fn mentioning(message: &Message, users: &[String]) -> SlackMessageContent {
    let mut content = content(message);
    let prefix: Vec<String> = users
        .iter()
        .filter(|u| !u.is_empty() && u.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(|u| format!("<@{u}>"))
        .collect();
    if prefix.is_empty() {
        return content;
    }
    let prefix = prefix.join(" ");
    if let Some(text) = content.text.as_mut() {
        *text = format!("{prefix} {text}");
    }
    let blocks = content.blocks.get_or_insert_with(Vec::new);
    match blocks.first_mut() {
        Some(SlackBlock::Section(SlackSectionBlock {
            text: Some(SlackBlockText::MarkDown(first)),
            ..
        })) => first.text = format!("{prefix} {}", first.text),
        _ => blocks.insert(0, SlackSectionBlock::new().with_text(mrkdwn(prefix)).into()),
    }
    content
}

/// The body of an answer through a `response_url`. slack-morphism's webhook request carries
/// `replace_original` but not `response_type`, which decides whether everyone in the channel
/// sees the answer, so the library's request is sent with that one field added.
#[derive(Debug, Clone, Serialize)]
pub struct ResponseUrlMessage {
    /// The message and `replace_original`.
    #[serde(flatten)]
    pub message: SlackApiPostWebhookMessageRequest,
    /// `ephemeral` (only the clicker sees it) or `in_channel`.
    pub response_type: SlackMessageResponseType,
}

fn response_type(ephemeral: bool) -> SlackMessageResponseType {
    if ephemeral {
        SlackMessageResponseType::Ephemeral
    } else {
        SlackMessageResponseType::InChannel
    }
}

/// A response-URL body: the message plus `response_type` and, when asked,
/// `replace_original`.
pub fn response(message: &Message, ephemeral: bool, replace_original: bool) -> ResponseUrlMessage {
    ResponseUrlMessage {
        message: SlackApiPostWebhookMessageRequest::new(content(message))
            .opt_replace_original(replace_original.then_some(true)),
        response_type: response_type(ephemeral),
    }
}

/// Serializes a body warden builds; slack-morphism's models always serialize, so a failure
/// would be a bug in a model, answered as an empty object rather than a panic.
fn to_json(body: &impl Serialize) -> Value {
    serde_json::to_value(body).unwrap_or_else(|e| {
        tracing::error!("a Slack body did not serialize: {e}");
        Value::Object(Default::default())
    })
}

/// Renders a reply as the JSON body of a slash-command response.
pub fn render_reply(reply: &Reply) -> Value {
    let message = Message {
        text: reply.text.clone(),
        buttons: reply.buttons.clone(),
    };
    to_json(
        &SlackCommandEventResponse::new(content(&message))
            .with_response_type(response_type(reply.ephemeral)),
    )
}

/// The answer to a click that replaces the message carrying the button (sent as the click's
/// HTTP response or to its `response_url`).
pub fn render_update(message: &Message) -> Value {
    to_json(&SlackApiPostWebhookMessageRequest::new(content(message)).with_replace_original(true))
}

/// Slack refuses a modal whose `title`, `submit` or `close` text is longer than this.
pub const MAX_VIEW_BUTTON_TEXT: usize = 24;

/// Slack refuses an input block whose label is longer than this.
const MAX_LABEL: usize = 2000;

/// Cuts plain text (no escaping: `plain_text` is shown as is) to at most `max` characters,
/// ending with `…` when cut.
fn plain_truncated(text: &str, max: usize) -> SlackBlockPlainTextOnly {
    if text.chars().count() <= max {
        plain(text)
    } else {
        plain(text.chars().take(max - 1).collect::<String>() + "…")
    }
}

/// A modal as the `view` argument of `views.open`: one multi-line text input whose `block_id`
/// and `action_id` are both `input_id`, so that the `view_submission` carries the text at
/// `view.state.values[input_id][input_id].value` and parses to `values[input_id]`. The
/// callback id and metadata come back unchanged (`callback_id`, `private_metadata`).
pub fn view(modal: &Modal) -> SlackView {
    let input = SlackBlockPlainTextInputElement::new()
        .with_action_id(SlackActionId(modal.input_id.clone()))
        .with_multiline(true)
        .with_min_length(Modal::MIN_INPUT_CHARS as u64)
        .with_max_length(Modal::MAX_INPUT_CHARS as u64);
    let block = SlackInputBlock::new(plain_truncated(&modal.prompt, MAX_LABEL), input.into())
        .with_block_id(SlackBlockId(modal.input_id.clone()));
    SlackView::Modal(
        SlackModalView::new(
            plain_truncated(&modal.title, MAX_VIEW_BUTTON_TEXT),
            vec![block.into()],
        )
        .with_callback_id(SlackCallbackId(modal.callback_id.clone()))
        .with_private_metadata(modal.metadata.clone())
        .with_submit(plain_truncated(&modal.submit, MAX_VIEW_BUTTON_TEXT))
        .with_close(plain_truncated("Cancel", MAX_VIEW_BUTTON_TEXT)),
    )
}

/// The HTTP answer to a `view_submission` that closes the modal (and any it was pushed on).
pub fn close_view() -> Value {
    to_json(&SlackViewSubmissionResponse::Clear(
        SlackViewSubmissionClearResponse::new(),
    ))
}

/// The HTTP answer to a `view_submission` that keeps the modal open and shows `message` under
/// the input `input_id` (e.g. a reason that is too short once trimmed).
pub fn view_errors(input_id: &str, message: &str) -> Value {
    to_json(&SlackViewSubmissionResponse::Errors(
        SlackViewSubmissionErrorsResponse::new(
            [(input_id.to_string(), message.to_string())].into(),
        ),
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// What Slack receives for a rendered model.
    fn json(model: impl Serialize) -> Value {
        serde_json::to_value(model).unwrap()
    }

    #[test]
    fn alert_buttons_have_unique_action_ids_own_labels_and_links() {
        let message = Message {
            text: "x".into(),
            buttons: vec![
                Button::labelled(ButtonKind::AlertAction, "AL-1:0", "Restart"),
                Button::labelled(ButtonKind::AlertAction, "AL-1:1", "Scale up"),
                Button::labelled(ButtonKind::Silence, "AL-1:2", "Silence 1h"),
                Button::labelled(ButtonKind::Link, "https://runbooks.example/a", "Runbook"),
                Button::labelled(ButtonKind::Link, "https://prom.example/g", "Source"),
            ],
        };
        let blocks = json(blocks(&message));
        let elements = blocks[1]["elements"].as_array().unwrap();
        let ids: Vec<&str> = elements
            .iter()
            .map(|e| e["action_id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            [
                "warden.alert:AL-1:0",
                "warden.alert:AL-1:1",
                "warden.silence:AL-1:2",
                "warden.link:3",
                "warden.link:4"
            ]
        );
        assert_eq!(elements[0]["text"]["text"], "Restart");
        assert_eq!(elements[3]["url"], "https://runbooks.example/a");
        assert!(elements[3]["value"].is_null());
        // The clicked action id comes back to its kind, the suffix set aside.
        assert_eq!(
            ButtonKind::from_action_id(ids[1]),
            Some(ButtonKind::AlertAction)
        );
        assert_eq!(
            ButtonKind::from_action_id(ids[3]),
            None,
            "links send nothing to act on"
        );
    }

    #[test]
    fn deny_view() {
        assert_eq!(
            json(view(&Modal::deny("A-17"))),
            json!({
                "type": "modal",
                "callback_id": "warden.deny",
                "private_metadata": "A-17",
                "title": { "type": "plain_text", "text": "Deny A-17" },
                "submit": { "type": "plain_text", "text": "Deny" },
                "close": { "type": "plain_text", "text": "Cancel" },
                "blocks": [{
                    "type": "input",
                    "block_id": "reason",
                    "label": { "type": "plain_text", "text": "Why are you denying this request?" },
                    "element": {
                        "type": "plain_text_input",
                        "action_id": "reason",
                        "multiline": true,
                        "min_length": 3,
                        "max_length": 500,
                    },
                }],
            })
        );
    }

    #[test]
    fn long_titles_are_cut_and_text_is_not_escaped() {
        let mut m = Modal::deny("A-1234567890123456789012345");
        m.submit = "Deny this request right now, please".into();
        m.prompt = "Why <not>? & how".into();
        let v = json(view(&m));
        let title = v["title"]["text"].as_str().unwrap();
        assert_eq!(title.chars().count(), MAX_VIEW_BUTTON_TEXT);
        assert!(title.starts_with("Deny A-123") && title.ends_with('…'));
        assert_eq!(
            v["submit"]["text"].as_str().unwrap().chars().count(),
            MAX_VIEW_BUTTON_TEXT
        );
        assert_eq!(v["blocks"][0]["label"]["text"], "Why <not>? & how");
        // Multi-byte characters are counted, not bytes.
        m.title = "é".repeat(30);
        assert_eq!(
            json(view(&m))["title"]["text"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            MAX_VIEW_BUTTON_TEXT
        );
        m.title = "é".repeat(24);
        assert_eq!(json(view(&m))["title"]["text"], "é".repeat(24));
    }

    #[test]
    fn view_submission_answers() {
        assert_eq!(close_view(), json!({ "response_action": "clear" }));
        assert_eq!(
            view_errors("reason", "Please give a reason of at least 3 characters."),
            json!({
                "response_action": "errors",
                "errors": { "reason": "Please give a reason of at least 3 characters." },
            })
        );
    }

    fn confirm_reply() -> Reply {
        Reply {
            ephemeral: true,
            text: "Run `deploy api` in prod?".into(),
            buttons: vec![
                Button::new(ButtonKind::Confirm, "C-12"),
                Button::new(ButtonKind::Cancel, "C-12"),
            ],
        }
    }

    #[test]
    fn reply_with_confirm_and_cancel() {
        assert_eq!(
            render_reply(&confirm_reply()),
            json!({
                "response_type": "ephemeral",
                "text": "Run `deploy api` in prod?",
                "blocks": [
                    { "type": "section", "text": { "type": "mrkdwn", "text": "Run `deploy api` in prod?" } },
                    { "type": "actions", "elements": [
                        { "type": "button", "text": { "type": "plain_text", "text": "Confirm" },
                          "action_id": "warden.confirm", "value": "C-12", "style": "primary" },
                        { "type": "button", "text": { "type": "plain_text", "text": "Cancel" },
                          "action_id": "warden.cancel", "value": "C-12" },
                    ] },
                ],
            })
        );
    }

    #[test]
    fn deny_is_danger_and_no_buttons_means_no_actions_block() {
        let m = Message {
            text: "x".into(),
            buttons: vec![Button::new(ButtonKind::Deny, "A-1")],
        };
        assert_eq!(json(blocks(&m))[1]["elements"][0]["style"], "danger");
        let plain = render_reply(&Reply::ephemeral("hi"));
        assert_eq!(plain["blocks"].as_array().unwrap().len(), 1);
        assert_eq!(
            render_update(&Message::default())["blocks"],
            json!([]),
            "an empty update still clears old blocks"
        );
        assert_eq!(render_update(&m)["replace_original"], true);
    }

    #[test]
    fn escaping_keeps_backticks() {
        assert_eq!(escape(""), "");
        for (input, want) in [
            ("a & b", "a &amp; b"),
            ("<!channel> hi", "&lt;!channel&gt; hi"),
            ("`<service>`", "`&lt;service&gt;`"),
            ("plain", "plain"),
            ("<>&", "&lt;&gt;&amp;"),
            ("é<ü>ß", "é&lt;ü&gt;ß"),
            ("ends with &", "ends with &amp;"),
        ] {
            assert_eq!(escape(input), want, "{input}");
            let v = render_reply(&Reply::ephemeral(input));
            assert_eq!(v["text"], want);
            assert_eq!(v["blocks"][0]["text"]["text"], want);
        }
    }

    #[test]
    fn truncation() {
        let long = "y".repeat(5000);
        let t = escape_truncated(&long, MAX_SECTION_TEXT);
        assert_eq!(t.chars().count(), MAX_SECTION_TEXT);
        assert!(t.ends_with('…'));
        // An entity is never cut in half.
        let amps = "&".repeat(1000);
        let t = escape_truncated(&amps, MAX_SECTION_TEXT);
        assert!(t.chars().count() <= MAX_SECTION_TEXT);
        assert!(t.trim_end_matches('…').ends_with("&amp;"));
        assert_eq!(escape_truncated("short", 10), "short");
    }
}
