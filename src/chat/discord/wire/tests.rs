use serde_json::json;

use super::*;
use crate::chat::message::Modal;

/// A guild member as Discord sends it: serenity needs roles, deaf, mute and flags.
fn member(id: &str, username: &str) -> Value {
    json!({
        "user": { "id": id, "username": username, "discriminator": "0", "global_name": null, "avatar": null, "public_flags": 0 },
        "roles": [], "premium_since": null, "permissions": "17179869183", "pending": false,
        "nick": null, "mute": false, "deaf": false, "flags": 0,
        "joined_at": "2017-03-13T19:19:14.040000+00:00"
    })
}

/// The fields Discord sends with every command, component and modal interaction.
fn envelope(kind: u8, id: &str, token: &str) -> Value {
    json!({
        "type": kind, "id": id, "version": 1, "token": token,
        "application_id": "290926444748734465",
        "locale": "en-US", "guild_locale": "en-US", "app_permissions": "442368",
        "entitlements": [], "attachment_size_limit": 26214400
    })
}

/// `base` with `extra`'s fields added or replaced.
fn with(mut base: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

/// The message a button sat on, in full: serenity reads it whole.
fn message(id: &str, channel: &str, custom_id: &str) -> Value {
    json!({
        "id": id, "type": 0, "channel_id": channel,
        "content": "Approve `deploy api`?",
        "author": { "id": "290926444748734465", "username": "warden", "discriminator": "0", "avatar": null, "bot": true },
        "timestamp": "2021-05-19T02:12:51.710000+00:00", "edited_timestamp": null,
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
        "attachments": [], "embeds": [], "pinned": false, "flags": 0,
        "components": [{ "type": 1, "components": [{ "type": 2, "style": 1, "label": "Approve", "custom_id": custom_id }] }]
    })
}

#[test]
fn command_options_become_named_args() {
    let body = with(
        envelope(2, "42", "tok"),
        json!({
            "guild_id": "9", "channel_id": "7", "member": member("1", "alice"),
            "data": { "id": "3", "name": "deploy", "type": 1, "options": [
                { "name": "service", "type": 3, "value": "api" },
                { "name": "replicas", "type": 4, "value": 3 },
                { "name": "dry_run", "type": 5, "value": true },
                { "name": "reason", "type": 3, "value": "hotfix" }
            ] }
        }),
    )
    .to_string();
    let Interaction::Command(inv) = parse_interaction(body.as_bytes(), "r".into()).unwrap() else {
        panic!("expected a command")
    };
    assert_eq!(inv.command, "deploy");
    assert_eq!(inv.workspace, "9");
    assert_eq!(inv.replay_key.as_deref(), Some("discord:42"));
    let ArgsInput::Structured(args) = &inv.input else {
        panic!("structured")
    };
    assert_eq!(
        args.named,
        vec![
            ("service".into(), "api".into()),
            ("replicas".into(), "3".into())
        ]
    );
    assert!(args.dry_run);
    assert_eq!(args.reason.as_deref(), Some("hotfix"));
}

#[test]
fn ping_and_garbage() {
    let ping = br#"{"type":1,"id":"1","application_id":"2","token":"t","version":1}"#;
    assert!(matches!(
        parse_interaction(ping, "r".into()),
        Ok(Interaction::Ping)
    ));
    assert!(parse_interaction(b"[]", "r".into()).is_err());
}

/// A button click shaped like the message-component example in discord/discord-api-docs.
fn click_payload(custom_id: &str) -> Value {
    with(
        envelope(3, "846462639134605312", "unique_interaction_token"),
        json!({
            "guild_id": "772904309264089089",
            "channel_id": "772908445358620702",
            "member": member("53908232506183680", "Mason"),
            "message": message("846462638832091146", "772908445358620702", custom_id),
            "data": { "custom_id": custom_id, "component_type": 2 },
        }),
    )
}

#[test]
fn our_button_becomes_a_click() {
    let body = click_payload("warden.confirm:C-12").to_string();
    let i = parse_interaction(body.as_bytes(), "r1".into()).unwrap();
    assert_eq!(i.id(), Some("846462639134605312"));
    let Interaction::Click { click, handle } = i else {
        panic!("expected a click")
    };
    assert_eq!(click.request_id, "r1");
    assert_eq!(click.platform, Platform::Discord);
    assert_eq!(click.workspace, "772904309264089089");
    assert_eq!(click.user.user, "53908232506183680");
    assert_eq!(click.user.workspace, "772904309264089089");
    assert_eq!(click.channel.as_deref(), Some("discord:772908445358620702"));
    assert_eq!(click.kind, ButtonKind::Confirm);
    assert_eq!(click.value, "C-12");
    assert_eq!(
        click.replay_key.as_deref(),
        Some("discord:846462639134605312")
    );
    let m = click.message.unwrap();
    assert_eq!(m.channel.to_string(), "discord:772908445358620702");
    assert_eq!(m.id, "846462638832091146");
    assert_eq!(handle.token, "unique_interaction_token");
    assert_eq!(handle.application_id, "290926444748734465");
    assert!(!format!("{handle:?}").contains("unique_interaction_token"));
}

#[test]
fn a_click_in_a_dm_uses_the_top_level_user() {
    let mut p = click_payload("warden.retry:J-4");
    p.as_object_mut().unwrap().remove("member");
    p.as_object_mut().unwrap().remove("guild_id");
    p["user"] = member("42", "dm")["user"].clone();
    let Interaction::Click { click, .. } =
        parse_interaction(p.to_string().as_bytes(), "r".into()).unwrap()
    else {
        panic!("expected a click")
    };
    assert_eq!(click.user.user, "42");
    assert_eq!(click.workspace, "");
    assert_eq!(click.kind, ButtonKind::Retry);
}

#[test]
fn foreign_or_incomplete_components_are_not_clicks() {
    for custom_id in ["approve:A-1", "warden.nope:1", "", "warden.approve"] {
        let body = click_payload(custom_id).to_string();
        match parse_interaction(body.as_bytes(), "r".into()).unwrap() {
            Interaction::Component { id } if !custom_id.starts_with("warden.approve") => {
                assert_eq!(id, "846462639134605312")
            }
            // `warden.approve` without a value still names our button: a click on "".
            Interaction::Click { click, .. } => assert_eq!(click.value, ""),
            other => panic!("{custom_id}: {other:?}"),
        }
    }
    // Discord named nobody: answered, not acted on.
    let mut nobody = click_payload("warden.approve:A-1");
    nobody.as_object_mut().unwrap().remove("member");
    assert!(matches!(
        parse_interaction(nobody.to_string().as_bytes(), "r".into()),
        Ok(Interaction::Component { id }) if id == "846462639134605312"
    ));
    // No token, no message, no locale: not an interaction serenity can read, and the error
    // names what is missing.
    let bare = json!({ "type": 3, "id": "6", "guild_id": "9", "data": { "custom_id": "warden.approve:A-1", "component_type": 2 } });
    let error = parse_interaction(bare.to_string().as_bytes(), "r".into()).unwrap_err();
    assert!(error.contains("missing field"), "{error}");
}

#[test]
fn modal_submit_collects_text_inputs() {
    let p = with(
        envelope(5, "900", "tok"),
        json!({
            "guild_id": "9", "channel_id": "7",
            "member": member("1", "alice"),
            "data": {
                "custom_id": "warden.deny:A-17",
                "components": [
                    { "type": 1, "components": [{ "type": 4, "custom_id": "reason", "value": "not during the freeze" }] },
                    { "type": 18, "component": { "type": 4, "custom_id": "note", "value": "see #ops" } },
                    { "type": 18, "component": { "type": 3, "custom_id": "env", "values": ["prod"] } },
                    { "type": 1, "components": [{ "type": 4, "custom_id": "broken" }] }
                ]
            }
        }),
    );
    let Interaction::ModalSubmit { submit, handle } =
        parse_interaction(p.to_string().as_bytes(), "r".into()).unwrap()
    else {
        panic!("expected a modal submit")
    };
    assert_eq!(submit.platform, Platform::Discord);
    assert_eq!(submit.callback_id, "warden.deny");
    assert_eq!(submit.metadata, "A-17");
    assert_eq!(submit.workspace, "9");
    assert_eq!(submit.channel.as_deref(), Some("discord:7"));
    assert_eq!(submit.user.user, "1");
    assert_eq!(submit.replay_key.as_deref(), Some("discord:900"));
    assert_eq!(
        submit.values,
        BTreeMap::from([
            ("reason".to_string(), "not during the freeze".to_string()),
            ("note".to_string(), "see #ops".to_string()),
            ("env".to_string(), "prod".to_string()),
        ])
    );
    assert_eq!(handle.id, "900");
}

/// What Discord posts when the modal from `render::modal` is submitted after a click on a Deny
/// button: the modal's `custom_id`, and each action row echoed back with the text input's
/// `custom_id` and typed `value` (Discord adds numeric component `id`s and drops the labels).
fn modal_submit_payload(modal: &Modal, text: &str) -> Value {
    let opened = crate::chat::discord::render::modal(modal);
    let mut p = click_payload(&format!("warden.deny:{}", modal.metadata));
    p["type"] = 5.into();
    p["id"] = "846462700000000000".into();
    p["token"] = "modal_submit_token".into();
    p["channel"] =
        json!({ "id": "772908445358620702", "type": 0, "guild_id": "772904309264089089" });
    p["data"] = json!({
        "custom_id": opened["data"]["custom_id"],
        "components": [{
            "type": 1,
            "id": 1,
            "components": [{
                "type": 4,
                "id": 2,
                "custom_id": opened["data"]["components"][0]["components"][0]["custom_id"],
                "value": text
            }]
        }]
    });
    p
}

#[test]
fn rendered_deny_modal_round_trips() {
    let modal = Modal::deny("A-17");
    let p = modal_submit_payload(&modal, "not during the freeze");
    let i = parse_interaction(p.to_string().as_bytes(), "r9".into()).unwrap();
    assert_eq!(i.id(), Some("846462700000000000"));
    let Interaction::ModalSubmit { submit, handle } = i else {
        panic!("expected a modal submit")
    };
    assert_eq!(
        *submit,
        ModalSubmit {
            request_id: "r9".into(),
            platform: Platform::Discord,
            workspace: "772904309264089089".into(),
            user: PlatformUser {
                platform: Platform::Discord,
                workspace: "772904309264089089".into(),
                user: "53908232506183680".into(),
            },
            callback_id: "warden.deny".into(),
            metadata: "A-17".into(),
            values: BTreeMap::from([("reason".to_string(), "not during the freeze".to_string())]),
            replay_key: Some("discord:846462700000000000".into()),
            channel: Some("discord:772908445358620702".into()),
        }
    );
    assert_eq!(submit.value(Modal::REASON), Some("not during the freeze"));
    assert_eq!(handle.token, "modal_submit_token");
    assert_eq!(handle.application_id, "290926444748734465");

    // Metadata with a colon survives: only the first colon separates the callback id.
    let mut odd = Modal::deny("A-17");
    odd.metadata = "A-17:x".into();
    let p = modal_submit_payload(&odd, "why");
    let Interaction::ModalSubmit { submit, .. } =
        parse_interaction(p.to_string().as_bytes(), "r".into()).unwrap()
    else {
        panic!("expected a modal submit")
    };
    assert_eq!(submit.callback_id, "warden.deny");
    assert_eq!(submit.metadata, "A-17:x");
}

#[test]
fn modal_submit_in_a_dm_without_channel_id() {
    let mut p = modal_submit_payload(&Modal::deny("A-3"), "no");
    let o = p.as_object_mut().unwrap();
    o.remove("member");
    o.remove("guild_id");
    o.remove("channel_id");
    o.remove("message");
    p["user"] = member("42", "dm")["user"].clone();
    p["channel"] = json!({ "id": "55", "type": 1 });
    let Interaction::ModalSubmit { submit, .. } =
        parse_interaction(p.to_string().as_bytes(), "r".into()).unwrap()
    else {
        panic!("expected a modal submit")
    };
    assert_eq!(submit.workspace, "");
    assert_eq!(submit.user.user, "42");
    assert_eq!(submit.channel.as_deref(), Some("discord:55"));
    assert_eq!(submit.metadata, "A-3");
    assert_eq!(submit.value("reason"), Some("no"));
}

#[test]
fn garbage_never_panics() {
    let samples = [
        click_payload("warden.deny:A-1").to_string().into_bytes(),
        modal_submit_payload(&Modal::deny("A-1"), "why").to_string().into_bytes(),
        json!({ "type": 5, "id": "1", "token": "t", "application_id": "2", "user": { "id": "3" },
                "data": { "custom_id": 5, "components": [1, { "components": "x" }, { "component": [] }] } })
        .to_string()
        .into_bytes(),
        br#"{"type":2,"id":"1","member":{"user":{"id":"1"}},"data":{"name":"x","options":[{"name":"a"}]}}"#.to_vec(),
    ];
    for body in &samples {
        for cut in 0..body.len() {
            let _ = parse_interaction(&body[..cut], "r".into());
        }
        for i in 0..body.len() {
            for byte in [b'"', b'}', b'3', b':', 0xff] {
                let mut b = body.clone();
                b[i] = byte;
                let _ = parse_interaction(&b, "r".into());
            }
        }
    }
    for body in [
        &b"null"[..],
        b"{}",
        b"{\"type\":300,\"id\":\"1\"}",
        b"\"x\"",
    ] {
        assert!(parse_interaction(body, "r".into()).is_err());
    }
}

/// Fuzzing found that serenity 0.12's image-hash parser panics on a non-ASCII hash of hash
/// length. Such a hash anywhere in the payload costs nothing: the click is still read.
#[test]
fn a_malformed_avatar_hash_neither_panics_nor_refuses() {
    // 34 bytes, starting with `a_`, with a two-byte character across an even offset.
    let hash = "a_d5efa99b3eeaa7dd43acca8\u{499}5692432";
    assert_eq!(hash.len(), 34);
    let mut body = click_payload("warden.deny:A-17");
    body["member"]["user"]["avatar"] = json!(hash);
    body["member"]["avatar"] = json!(hash);
    body["message"]["author"]["avatar"] = json!(hash);
    let bytes = body.to_string().into_bytes();
    let parsed = std::panic::catch_unwind(|| parse_interaction(&bytes, "r".into()))
        .expect("parsing a malformed avatar hash must not panic");
    let Interaction::Click { click, .. } = parsed.unwrap() else {
        panic!("expected a click")
    };
    assert_eq!(click.user.user, "53908232506183680");

    // The fuzzer's own input, kept as a corpus seed too. It also mangled `locale`, so it is
    // refused, with an error that names the field instead of a panic.
    let found = include_bytes!("../../../../tests/fixtures/discord/fuzz_avatar_hash.json");
    let parsed = std::panic::catch_unwind(|| parse_interaction(found, "r".into()))
        .expect("the fuzzer's input must not panic");
    let refusal = parsed.unwrap_err();
    assert!(refusal.contains("`locale`"), "{refusal}");
}
