//! How the demo prints the conversation: each message as a person would see it in a channel,
//! rendered from the exact Slack Web API bodies warden sent (pure: no IO).

use serde_json::Value;

/// The demo's Slack channels, by id.
const CHANNELS: [(&str, &str); 3] = [
    ("C0DEPLOYS", "#deploys"),
    ("C0ALERTS", "#alerts"),
    ("C0AUDIT", "#audit"),
];

/// The demo's people, by Slack user id.
const PEOPLE: [(&str, &str); 4] = [
    ("U0ANA", "ana"),
    ("U0BEN", "ben"),
    ("U0CLEO", "cleo"),
    ("U0DAN", "dan"),
];

/// `#deploys` for `C0DEPLOYS`, or the id itself for a channel the demo does not know.
pub fn channel_name(id: &str) -> String {
    CHANNELS
        .iter()
        .find(|(known, _)| *known == id)
        .map(|(_, name)| name.to_string())
        .unwrap_or_else(|| id.to_string())
}

/// `ana` for `U0ANA`, or the id itself.
pub fn person_name(id: &str) -> String {
    PEOPLE
        .iter()
        .find(|(known, _)| *known == id)
        .map(|(_, name)| name.to_string())
        .unwrap_or_else(|| id.to_string())
}

/// Undoes Slack's mrkdwn escaping (`&lt;`, `&gt;`, `&amp;`) for the terminal, and shows
/// mentions (`<@U0ANA>`) as `@ana`.
pub fn unescape(text: &str) -> String {
    let mut text = text.to_string();
    for (id, name) in PEOPLE {
        text = text.replace(&format!("<@{id}>"), &format!("@{name}"));
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Shortens the signed token of job links (`/jobs/2?t=1795…` becomes `/jobs/2?t=…`): it is
/// long, and the same link appears in every edit of a message. The ending prints one in full.
pub fn shorten_links(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("?t=") {
        out.push_str(&rest[..i + 3]);
        rest = &rest[i + 3..];
        let token = rest
            .find(|c: char| !(c.is_ascii_hexdigit() || c == '.'))
            .unwrap_or(rest.len());
        if token > 0 {
            out.push('…');
        }
        rest = &rest[token..];
    }
    out.push_str(rest);
    out
}

/// The buttons of a message body or answer, in order: (label, action_id, value).
pub fn buttons(body: &Value) -> Vec<(String, String, String)> {
    let field = |v: &Value| v.as_str().unwrap_or_default().to_string();
    body["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|block| block["elements"].as_array().into_iter().flatten())
        .filter(|element| element["type"] == "button")
        .map(|b| {
            (
                field(&b["text"]["text"]),
                field(&b["action_id"]),
                field(&b["value"]),
            )
        })
        .collect()
}

/// One message: `who: first line`, the next lines indented under it, code blocks (```…```)
/// drawn with a bar, and the buttons as `[Approve] [Deny]`.
pub fn message(who: &str, body: &Value) -> String {
    let text = shorten_links(&unescape(body["text"].as_str().unwrap_or_default()));
    let indent = " ".repeat(who.chars().count() + 2);
    let mut lines: Vec<String> = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim() == "```" {
            in_code = !in_code;
            continue;
        }
        lines.push(if in_code {
            format!("│ {line}")
        } else {
            line.to_string()
        });
    }
    let labels: Vec<String> = buttons(body)
        .into_iter()
        .map(|(label, _, _)| format!("[{label}]"))
        .collect();
    if !labels.is_empty() {
        lines.push(labels.join(" "));
    }
    let mut out = format!("{who}: ");
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&indent);
        }
        out.push_str(line);
    }
    out
}

/// A Slack Web API call as a line of the conversation, or `None` for a call nobody sees as a
/// new message (a click's answer through its `response_url`, already shown from the click).
/// A reply in a card's thread is indented under the channel's messages and names its card
/// (`card`, e.g. `J-4`).
pub fn render_call(
    method: &str,
    body: &Value,
    to: Option<&str>,
    card: Option<&str>,
) -> Option<String> {
    let channel = channel_name(body["channel"].as_str().unwrap_or_default());
    Some(match method {
        "chat.postMessage" if body["thread_ts"].is_string() => {
            let thread = match card {
                Some(card) => format!("in {card}'s thread"),
                None => "in a thread".to_string(),
            };
            let also = if body["reply_broadcast"] == true {
                ", also sent to the channel"
            } else {
                ""
            };
            let label = format!("↳ warden ({thread}{also})");
            let who = format!("{}    {label}", " ".repeat(channel.chars().count()));
            message(&who, body)
        }
        "chat.postMessage" => message(&format!("{channel}  warden"), body),
        "chat.update" => message(&format!("{channel}  warden (edited)"), body),
        "chat.postEphemeral" => {
            let user = person_name(body["user"].as_str().unwrap_or_default());
            message(&format!("{channel}  warden (only {user})"), body)
        }
        "views.open" => {
            let title = body["view"]["title"]["text"].as_str().unwrap_or("a form");
            format!("warden opens a form: {title}")
        }
        "response" => {
            let to = to?;
            message(&format!("warden (only {to}, via response_url)"), body)
        }
        other => format!("warden calls Slack's {other}"),
    })
}

/// A scene title.
pub fn scene(title: &str) -> String {
    format!("\n── {title}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_message_with_code_and_buttons_reads_like_a_channel() {
        let body = json!({
            "channel": "C0DEPLOYS",
            "text": "A-1: deploy &lt;web&gt;\n```\nPOST /deploys\n```\nExpires soon",
            "blocks": [{"type": "actions", "elements": [
                {"type": "button", "text": {"text": "Approve"}, "action_id": "warden.approve", "value": "A-1"},
                {"type": "button", "text": {"text": "Deny"}, "action_id": "warden.deny", "value": "A-1"}
            ]}]
        });
        let shown = render_call("chat.postMessage", &body, None, None).unwrap();
        assert_eq!(
            shown,
            "#deploys  warden: A-1: deploy <web>\n                  │ POST /deploys\n                  Expires soon\n                  [Approve] [Deny]"
        );
        assert_eq!(buttons(&body)[0].2, "A-1");
        assert!(render_call("response", &body, None, None).is_none());
        let reply = json!({ "channel": "C0DEPLOYS", "thread_ts": "1.1", "text": "&lt;@U0ANA&gt; x <@U0ANA> J-4 failed" });
        assert_eq!(
            render_call("chat.postMessage", &reply, None, Some("J-4")).unwrap(),
            "            ↳ warden (in J-4's thread): <@U0ANA> x @ana J-4 failed"
        );
        assert_eq!(person_name("U0CLEO"), "cleo");
        assert_eq!(channel_name("C9"), "C9");
        assert_eq!(
            shorten_links("Details: http://h/jobs/2?t=17.ab9f\nnext ?t=x"),
            "Details: http://h/jobs/2?t=…\nnext ?t=x"
        );
    }
}
