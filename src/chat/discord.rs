//! Discord through serenity's models and builders: verified interactions (PING, application
//! commands, components, modal submits) parsed into serenity's `Interaction` and turned into
//! neutral types (`wire`); neutral replies and messages built as serenity's interaction
//! responses and message builders (`render`); the registration bodies (`commands`); and the
//! REST client that sends the built bodies with warden's own reqwest client (`client`); and
//! the Gateway's op frames (`gateway`). Nothing else in warden knows Discord's JSON or serenity.

pub mod client;
pub mod commands;
pub mod gateway;
pub mod render;
mod wire;

pub use client::{DiscordClient, DiscordError, ErrorKind};
pub use render::{pong, render_message, render_reply, render_update, EPHEMERAL};
pub use wire::{parse_interaction, Interaction, InteractionHandle};

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

    /// Warden verifies Discord's signatures itself (`chat::verify`, with the time window that
    /// serenity's `Verifier` does not check); both agree on what Discord signed.
    #[test]
    fn warden_and_serenity_agree_on_signatures() {
        use ed25519_dalek::{Signer, SigningKey};
        use serenity::interactions_endpoint::Verifier;

        let signing = SigningKey::from_bytes(&[9u8; 32]);
        let serenity = Verifier::try_new(signing.verifying_key().to_bytes()).unwrap();
        let body = br#"{"type":1,"id":"1","application_id":"2","token":"t","version":1}"#;
        let ts = "1700000000";
        let sign = |ts: &str, body: &[u8]| {
            let mut message = ts.as_bytes().to_vec();
            message.extend_from_slice(body);
            hex::encode(signing.sign(&message).to_bytes())
        };
        let good = sign(ts, body);
        let other_body = sign(ts, br#"{"type":1}"#);
        let other_time = sign("1700000001", body);
        for (signature, valid) in [(&good, true), (&other_body, false), (&other_time, false)] {
            let ours = crate::chat::verify::verify_discord(
                Some(&signing.verifying_key()),
                Some(ts),
                Some(signature),
                body,
                1_700_000_010,
            );
            assert_eq!(ours.is_ok(), valid);
            assert_eq!(serenity.verify(signature, ts, body).is_ok(), valid);
        }
        // Only warden's check refuses a replay from an hour ago.
        assert!(serenity.verify(&good, ts, body).is_ok());
        assert!(crate::chat::verify::verify_discord(
            Some(&signing.verifying_key()),
            Some(ts),
            Some(&good),
            body,
            1_700_003_600,
        )
        .is_err());
    }
}
