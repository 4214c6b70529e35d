//! Interactions shaped like the examples in Discord's documentation (`tests/fixtures/discord`)
//! parse through serenity's models into the same neutral types warden has always produced,
//! and what serenity cannot read is refused with an error naming the problem.

use serde_json::json;

use super::*;

const PING: &str = include_str!("../../../../tests/fixtures/discord/ping.json");
const COMMAND: &str = include_str!("../../../../tests/fixtures/discord/application_command.json");
const COMPONENT: &str = include_str!("../../../../tests/fixtures/discord/message_component.json");
const MODAL: &str = include_str!("../../../../tests/fixtures/discord/modal_submit.json");

fn parse(body: &str) -> Result<Interaction, String> {
    parse_interaction(body.as_bytes(), "req-7".into())
}

#[test]
fn ping() {
    assert!(matches!(parse(PING), Ok(Interaction::Ping)));
}

#[test]
fn application_command_becomes_the_invocation() {
    let Interaction::Command(inv) = parse(COMMAND).unwrap() else {
        panic!("expected a command")
    };
    let guild = "290926798626357999";
    assert_eq!(inv.request_id, "req-7");
    assert_eq!(inv.platform, Platform::Discord);
    assert_eq!(inv.workspace, guild);
    assert_eq!(
        inv.user,
        PlatformUser {
            platform: Platform::Discord,
            workspace: guild.into(),
            user: "53908232506183680".into(),
        }
    );
    assert_eq!(inv.user_name.as_deref(), Some("Mason"));
    assert_eq!(inv.channel.as_deref(), Some("discord:645027906669510667"));
    assert_eq!(inv.command, "deploy");
    assert_eq!(
        inv.input,
        ArgsInput::Structured(RawArgs {
            positional: vec![],
            named: vec![
                ("service".into(), "api".into()),
                ("replicas".into(), "3".into())
            ],
            dry_run: true,
            reason: Some("weekly release".into()),
        })
    );
    assert_eq!(
        inv.replay_key.as_deref(),
        Some("discord:786008729715212338")
    );
    assert_eq!(
        inv.reply,
        Some(crate::chat::ReplyHandle::discord(
            "290926444748734465",
            "A_UNIQUE_TOKEN"
        ))
    );
    assert!(inv.thread.is_none());
}

#[test]
fn message_component_becomes_the_click() {
    let Interaction::Click { click, handle } = parse(COMPONENT).unwrap() else {
        panic!("expected a click")
    };
    let guild = "290926798626357999";
    assert_eq!(click.request_id, "req-7");
    assert_eq!(click.platform, Platform::Discord);
    assert_eq!(click.workspace, guild);
    assert_eq!(click.user.user, "53908232506183680");
    assert_eq!(click.user.workspace, guild);
    assert_eq!(click.channel.as_deref(), Some("discord:345626669114982402"));
    assert_eq!(click.kind, ButtonKind::Approve);
    assert_eq!(click.value, "A-17");
    assert_eq!(
        click.replay_key.as_deref(),
        Some("discord:846462639134605312")
    );
    assert_eq!(
        click.message,
        Some(MessageRef {
            channel: ChannelRef {
                platform: Platform::Discord,
                id: "345626669114982402".into(),
            },
            id: "844397162624450620".into(),
        })
    );
    assert_eq!(
        handle,
        InteractionHandle {
            id: "846462639134605312".into(),
            application_id: "290926444748734465".into(),
            token: "unique_interaction_token".into(),
        }
    );
}

#[test]
fn modal_submit_becomes_the_submission() {
    let Interaction::ModalSubmit { submit, handle } = parse(MODAL).unwrap() else {
        panic!("expected a modal submit")
    };
    assert_eq!(
        *submit,
        ModalSubmit {
            request_id: "req-7".into(),
            platform: Platform::Discord,
            workspace: "290926798626357999".into(),
            user: PlatformUser {
                platform: Platform::Discord,
                workspace: "290926798626357999".into(),
                user: "53908232506183680".into(),
            },
            callback_id: "warden.deny".into(),
            metadata: "A-17".into(),
            values: BTreeMap::from([("reason".to_string(), "not during the freeze".to_string())]),
            replay_key: Some("discord:846462700000000000".into()),
            channel: Some("discord:345626669114982402".into()),
        }
    );
    assert_eq!(handle.token, "modal_submit_token");
}

#[test]
fn what_serenity_cannot_read_is_named() {
    let mut autocomplete: Value = serde_json::from_str(COMMAND).unwrap();
    autocomplete["type"] = 4.into();
    let mut unknown: Value = serde_json::from_str(COMMAND).unwrap();
    unknown["type"] = 99.into();
    let mut no_limit: Value = serde_json::from_str(COMPONENT).unwrap();
    no_limit
        .as_object_mut()
        .unwrap()
        .remove("attachment_size_limit");
    let mut no_message: Value = serde_json::from_str(COMPONENT).unwrap();
    no_message.as_object_mut().unwrap().remove("message");
    for (body, named) in [
        (autocomplete, "autocomplete"),
        (unknown, "Unknown interaction type"),
        (no_limit, "attachment_size_limit"),
        (no_message, "message"),
        (json!({ "id": "1" }), "type"),
        (json!({ "type": 1, "id": "1" }), "application_id"),
    ] {
        let error = parse(&body.to_string()).unwrap_err();
        assert!(error.contains(named), "{named}: {error}");
    }
    assert!(parse("not json")
        .unwrap_err()
        .contains("not a Discord interaction"));
}
