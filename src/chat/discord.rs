//! Discord: interactions (PING, application commands, components, modal submits) turned into
//! neutral types, and neutral replies rendered as interaction responses. Nothing else in warden
//! knows Discord's JSON.

mod wire;

pub use wire::{parse_interaction, Interaction};

use crate::chat::Reply;

/// Discord's message flag for "only the invoking user sees this".
pub const EPHEMERAL: u64 = 64;

/// Discord refuses message content over 2000 characters.
const MAX_CONTENT: usize = 2000;

/// The response to a PING.
pub fn pong() -> serde_json::Value {
    serde_json::json!({ "type": 1 })
}

/// Renders a reply as an interaction response (type 4, CHANNEL_MESSAGE_WITH_SOURCE).
pub fn render_reply(reply: &Reply) -> serde_json::Value {
    let mut content = reply.text.clone();
    if content.chars().count() > MAX_CONTENT {
        content = content.chars().take(MAX_CONTENT - 1).collect::<String>() + "…";
    }
    let mut data = serde_json::json!({
        "content": content,
        "allowed_mentions": { "parse": [] },
    });
    if reply.ephemeral {
        data["flags"] = EPHEMERAL.into();
    }
    serde_json::json!({ "type": 4, "data": data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ephemeral_flag_and_truncation() {
        let v = render_reply(&Reply::ephemeral("x".repeat(3000)));
        assert_eq!(v["type"], 4);
        assert_eq!(v["data"]["flags"], 64);
        assert_eq!(v["data"]["content"].as_str().unwrap().chars().count(), 2000);
    }
}
