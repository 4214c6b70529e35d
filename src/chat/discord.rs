//! Discord: interactions (PING, application commands, components, modal submits) turned into
//! neutral types (`wire`); neutral replies and messages rendered as interaction responses and
//! message bodies (`render`); and the REST client (`client`). Nothing else in warden knows
//! Discord's JSON.

pub mod client;
pub mod commands;
pub mod render;
mod wire;

pub use client::{DiscordClient, DiscordError, ErrorKind};
pub use render::{render_message, render_reply, render_update, EPHEMERAL};
pub use wire::{parse_interaction, Interaction, InteractionHandle};

/// The response to a PING.
pub fn pong() -> serde_json::Value {
    serde_json::json!({ "type": 1 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::Reply;

    #[test]
    fn ephemeral_flag_and_truncation() {
        let v = render_reply(&Reply::ephemeral("x".repeat(3000)));
        assert_eq!(v["type"], 4);
        assert_eq!(v["data"]["flags"], 64);
        assert_eq!(v["data"]["content"].as_str().unwrap().chars().count(), 2000);
        assert_eq!(pong(), serde_json::json!({ "type": 1 }));
    }
}
