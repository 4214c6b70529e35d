use serde_json::json;

use super::*;
use crate::chat::message::Modal;

fn form(payload: &Value) -> Vec<u8> {
    serde_urlencoded::to_string([("payload", payload.to_string())])
        .unwrap()
        .into_bytes()
}

/// Shaped like the `block_actions` bodies in slackapi/bolt-python `tests/scenario_tests/`.
fn block_actions(action_id: &str) -> Value {
    json!({
        "type": "block_actions",
        "user": { "id": "W111", "username": "primary-owner", "name": "primary-owner", "team_id": "T111" },
        "api_app_id": "A111",
        "token": "verification_token",
        "container": { "type": "message", "message_ts": "111.222", "channel_id": "C111", "is_ephemeral": false },
        "trigger_id": "111.222.valid",
        "team": { "id": "T111", "domain": "workspace-domain" },
        "channel": { "id": "C111", "name": "test-channel" },
        "message": { "bot_id": "B111", "type": "message", "text": "x", "user": "W111", "ts": "111.222" },
        "response_url": "https://hooks.slack.com/actions/T111/111/random-value",
        "actions": [{
            "action_id": action_id, "block_id": "b", "type": "button",
            "text": { "type": "plain_text", "text": "Approve", "emoji": true },
            "value": "A-17", "style": "primary", "action_ts": "1596530385.194939"
        }]
    })
}

#[test]
fn our_button_becomes_a_click() {
    let i = parse_interaction(&form(&block_actions("warden.approve")), "r1".into()).unwrap();
    let SlackInteraction::Click {
        click,
        response_url,
        trigger_id,
    } = &i
    else {
        panic!("expected a click, got {i:?}")
    };
    assert_eq!(click.request_id, "r1");
    assert_eq!(click.platform, Platform::Slack);
    assert_eq!(click.workspace, "T111");
    assert_eq!(click.user.user, "W111");
    assert_eq!(click.user.workspace, "T111");
    assert_eq!(click.channel.as_deref(), Some("slack:C111"));
    assert_eq!(click.kind, ButtonKind::Approve);
    assert_eq!(click.value, "A-17");
    assert_eq!(
        click.replay_key.as_deref(),
        Some("slack-action:111.222:1596530385.194939:W111")
    );
    let m = click.message.as_ref().unwrap();
    assert_eq!(m.channel.to_string(), "slack:C111");
    assert_eq!(m.id, "111.222");
    assert_eq!(
        response_url.as_deref(),
        Some("https://hooks.slack.com/actions/T111/111/random-value")
    );
    assert_eq!(trigger_id.as_deref(), Some("111.222.valid"));
    assert_eq!(i.kind(), "block_actions");
    assert!(!format!("{i:?}").contains("hooks.slack.com"));
}

#[test]
fn ephemeral_message_and_enterprise_grid() {
    // Ephemeral messages carry only the container; on Enterprise Grid `team` can be null.
    let mut p = block_actions("warden.deny");
    p["message"] = Value::Null;
    p["team"] = Value::Null;
    p["container"]["message_ts"] = "333.444".into();
    let SlackInteraction::Click { click, .. } = parse_interaction(&form(&p), "r".into()).unwrap()
    else {
        panic!("expected a click")
    };
    assert_eq!(click.workspace, "T111");
    assert_eq!(click.kind, ButtonKind::Deny);
    assert_eq!(click.message.unwrap().id, "333.444");
}

#[test]
fn foreign_actions_and_empty_actions_are_other() {
    for p in [block_actions("someone.else"), {
        let mut p = block_actions("x");
        p["actions"] = json!([]);
        p
    }] {
        let i = parse_interaction(&form(&p), "r".into()).unwrap();
        assert!(
            matches!(&i, SlackInteraction::Other(o) if o.kind == "block_actions" && o.team_id.as_deref() == Some("T111")),
            "{i:?}"
        );
    }
    let shortcut = json!({ "type": "shortcut", "team": { "id": "T1" }, "user": { "id": "U1" } });
    assert_eq!(
        parse_interaction(&form(&shortcut), "r".into())
            .unwrap()
            .kind(),
        "shortcut"
    );
}

#[test]
fn view_submission_becomes_a_modal_submit() {
    let p = json!({
        "type": "view_submission",
        "team": { "id": "T111", "domain": "workspace-domain" },
        "user": { "id": "W111", "username": "primary-owner", "team_id": "T111" },
        "api_app_id": "A111",
        "token": "verification_token",
        "trigger_id": "111.222.valid",
        "view": {
            "id": "V111", "team_id": "T111", "type": "modal",
            "title": { "type": "plain_text", "text": "Deny A-17" }, "blocks": [],
            "callback_id": "warden.deny", "private_metadata": "A-17",
            "state": { "values": {
                "reason_block": { "reason": { "type": "plain_text_input", "value": "not during the freeze" } },
                "pick": { "env": { "type": "static_select", "selected_option": { "value": "prod", "text": { "type": "plain_text", "text": "prod" } } } },
                "empty": { "nothing": { "type": "plain_text_input", "value": null } }
            } },
            "hash": "156772938.1827394"
        },
        "response_urls": []
    });
    let SlackInteraction::ModalSubmit(m) = parse_interaction(&form(&p), "r".into()).unwrap() else {
        panic!("expected a modal submit")
    };
    assert_eq!(m.platform, Platform::Slack);
    assert_eq!(m.workspace, "T111");
    assert_eq!(m.user.user, "W111");
    assert_eq!(m.channel, None);
    assert_eq!(m.callback_id, "warden.deny");
    assert_eq!(m.metadata, "A-17");
    assert_eq!(
        m.values,
        BTreeMap::from([
            ("reason".to_string(), "not during the freeze".to_string()),
            ("env".to_string(), "prod".to_string()),
        ])
    );
    assert_eq!(m.replay_key.as_deref(), Some("slack-view:111.222.valid"));
}

/// What Slack posts when the modal from `render::view` is submitted: the rendered view echoed
/// back with Slack's own fields added, and the typed text under
/// `state.values[block_id][action_id]` (shaped like the `view_submission` body in
/// slackapi/bolt-python `tests/scenario_tests/test_view_submission.py`).
fn submitted(modal: &Modal, text: Value) -> Value {
    let mut view = serde_json::to_value(crate::chat::slack::render::view(modal)).unwrap();
    let extra = json!({
        "id": "V111", "team_id": "T111",
        "state": { "values": {
            modal.input_id.clone(): { modal.input_id.clone(): { "type": "plain_text_input", "value": text } }
        } },
        "hash": "1596530361.3wRYuk3R",
        "clear_on_close": false, "notify_on_close": false,
        "previous_view_id": null, "root_view_id": "V111", "app_id": "A111",
        "external_id": "", "app_installed_team_id": "T111", "bot_id": "B111"
    });
    for (k, v) in extra.as_object().unwrap() {
        view[k] = v.clone();
    }
    json!({
        "type": "view_submission",
        "team": { "id": "T111", "domain": "workspace-domain", "enterprise_id": "E111", "enterprise_name": "Sandbox Org" },
        "user": { "id": "W111", "username": "primary-owner", "name": "primary-owner", "team_id": "T111" },
        "api_app_id": "A111",
        "token": "verification_token",
        "trigger_id": "111.222.valid",
        "view": view,
        "response_urls": [],
        "is_enterprise_install": false
    })
}

#[test]
fn rendered_deny_view_round_trips() {
    let modal = Modal::deny("A-17");
    let p = submitted(&modal, json!("not during the freeze\nsee #ops"));
    let i = parse_interaction(&form(&p), "r7".into()).unwrap();
    assert_eq!(i.kind(), "view_submission");
    let SlackInteraction::ModalSubmit(m) = i else {
        panic!("expected a modal submit")
    };
    assert_eq!(
        m,
        ModalSubmit {
            request_id: "r7".into(),
            platform: Platform::Slack,
            workspace: "T111".into(),
            user: PlatformUser {
                platform: Platform::Slack,
                workspace: "T111".into(),
                user: "W111".into(),
            },
            callback_id: "warden.deny".into(),
            metadata: "A-17".into(),
            values: BTreeMap::from([(
                "reason".to_string(),
                "not during the freeze\nsee #ops".to_string()
            )]),
            replay_key: Some("slack-view:111.222.valid".into()),
            channel: None,
        }
    );
    assert_eq!(
        m.value(Modal::REASON),
        Some("not during the freeze\nsee #ops")
    );

    // An optional input left empty comes back as `null`: no value, not a panic.
    let p = submitted(&modal, Value::Null);
    let SlackInteraction::ModalSubmit(m) = parse_interaction(&form(&p), "r".into()).unwrap() else {
        panic!("expected a modal submit")
    };
    assert_eq!(m.value("reason"), None);
}

#[test]
fn response_urls_give_the_channel() {
    let mut p = submitted(&Modal::deny("A-17"), json!("no"));
    p["response_urls"] = json!([{
        "block_id": "b", "action_id": "a", "channel_id": "C111",
        "response_url": "https://hooks.slack.com/app/T111/111/secret"
    }]);
    let i = parse_interaction(&form(&p), "r".into()).unwrap();
    assert!(!format!("{i:?}").contains("hooks.slack.com"));
    let SlackInteraction::ModalSubmit(m) = i else {
        panic!("expected a modal submit")
    };
    assert_eq!(m.channel.as_deref(), Some("slack:C111"));
    // Odd `response_urls` (null, wrong types) do not lose the submission.
    for odd in [json!(null), json!("x"), json!([1, { "channel_id": 5 }])] {
        p["response_urls"] = odd;
        let SlackInteraction::ModalSubmit(m) = parse_interaction(&form(&p), "r".into()).unwrap()
        else {
            panic!("expected a modal submit")
        };
        assert_eq!(m.channel, None);
        assert_eq!(m.value("reason"), Some("no"));
    }
}

#[test]
fn garbage_never_panics() {
    assert!(parse_interaction(b"payload=notjson", "r".into()).is_err());
    assert!(parse_interaction(b"", "r".into()).is_err());
    let samples = [
        form(&block_actions("warden.approve")),
        form(
            &json!({ "type": "view_submission", "team": { "id": "T" }, "user": { "id": "U" },
                      "view": { "state": { "values": { "b": { "a": { "value": 3 } } } } } }),
        ),
        form(&submitted(&Modal::deny("A-1"), json!("why"))),
    ];
    for body in &samples {
        for cut in 0..body.len() {
            let _ = parse_interaction(&body[..cut], "r".into());
        }
        for i in 0..body.len() {
            for byte in [b'"', b'{', b'%', b'0', 0xff] {
                let mut b = body.clone();
                b[i] = byte;
                let _ = parse_interaction(&b, "r".into());
            }
        }
    }
    // Wrong types in otherwise valid JSON are errors or `Other`, not panics.
    for payload in [
        json!({ "type": "block_actions", "team": { "id": 1 }, "user": { "id": "U" } }),
        json!({ "type": "block_actions", "team": { "id": "T" }, "user": { "id": "U" }, "actions": [{ "action_id": 5 }] }),
        json!({ "type": 7 }),
        json!([]),
    ] {
        let _ = parse_interaction(&form(&payload), "r".into());
    }
}
