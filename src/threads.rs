//! Conversations in threads (SPEC §13): each piece of work (an approval request, a job) has one
//! top-level message in its channel, its card, edited in place; everything else about it is a
//! reply under the card. This module builds those replies as outbox rows; the dispatcher posts
//! them under the card once the card's message id is known (`notifier::outbox`).
//!
//! Architecture invariant: no IO here. Callers pass the tenant's Discord guild (for message
//! links) and the people to mention; platform syntax (`<@U01>`) is the chat clients' business.

use crate::chat::Message;
use crate::model::{ChannelRef, Subject};
use crate::outbox::{Card, Delivery, Outbound};

/// The card posted under `key` in `channel`, titled e.g. `J-42 deploy web`. `guild` is the
/// tenant's Discord guild, used only for Discord message links.
pub fn card(key: String, title: String, channel: &ChannelRef, guild: Option<&str>) -> Card {
    Card {
        key,
        title,
        guild: match channel.platform {
            crate::model::Platform::Discord => guild.map(str::to_string),
            _ => None,
        },
    }
}

/// A short title for a card: its id, the command, and the first argument value shown (already
/// redacted by the caller), e.g. `A-7 deploy web`.
pub fn title(id: &str, command: &str, shown_args: &[(String, String)]) -> String {
    let mut title = format!("{id} {command}");
    if let Some((_, value)) = shown_args.first() {
        title.push(' ');
        title.push_str(value);
    }
    title.chars().take(100).collect()
}

/// A reply under `card` in `channel`, mentioning `mentions` (user ids on the channel's
/// platform, see [`mention`]). Replies are important: a decision or an outcome nobody sees is
/// a lost one, so a dead reply alerts the operators.
pub fn reply(
    tenant: &str,
    channel: &ChannelRef,
    card: Card,
    message: Message,
    mentions: Vec<String>,
    broadcast: bool,
) -> Outbound {
    Outbound {
        tenant: tenant.to_string(),
        delivery: Delivery::Thread {
            channel: channel.clone(),
            card,
            broadcast,
            mentions,
        },
        message,
        important: true,
    }
}

/// The user id to mention for `user` (a stored platform identity such as `slack:T01/U01`) in
/// `channel`: only an identity on the channel's own platform can be mentioned there.
pub fn mention(user: &str, channel: &ChannelRef) -> Option<String> {
    match user.parse::<Subject>() {
        Ok(Subject::User(u)) if u.platform == channel.platform => Some(u.user),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_only_on_the_same_platform() {
        let slack: ChannelRef = "slack:C01".parse().unwrap();
        let discord: ChannelRef = "discord:123".parse().unwrap();
        let cases = [
            ("slack:T01/U01", &slack, Some("U01")),
            ("slack:T01/U01", &discord, None),
            ("discord:9/42", &discord, Some("42")),
            ("alice", &slack, None),
            ("", &slack, None),
            ("group:sre", &slack, None),
        ];
        for (user, channel, want) in cases {
            assert_eq!(
                mention(user, channel).as_deref(),
                want,
                "{user} in {channel}"
            );
        }
    }

    #[test]
    fn titles_and_cards() {
        let args = vec![("service".to_string(), "web".to_string())];
        assert_eq!(title("J-42", "deploy", &args), "J-42 deploy web");
        assert_eq!(title("A-7", "status", &[]), "A-7 status");
        let long = vec![("x".to_string(), "y".repeat(300))];
        assert_eq!(title("J-1", "c", &long).chars().count(), 100);
        let slack: ChannelRef = "slack:C01".parse().unwrap();
        let discord: ChannelRef = "discord:123".parse().unwrap();
        assert_eq!(
            card("job:1".into(), "t".into(), &slack, Some("9")).guild,
            None
        );
        assert_eq!(
            card("job:1".into(), "t".into(), &discord, Some("9"))
                .guild
                .as_deref(),
            Some("9")
        );
    }
}
