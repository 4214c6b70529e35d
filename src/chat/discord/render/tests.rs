//! The bodies serenity's builders produce for warden's messages, replies and modals.

use serde_json::json;

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
                "allowed_mentions": { "parse": [], "users": [], "roles": [] },
                "attachments": [],
                "components": [{ "type": 1, "components": [
                    { "type": 2, "style": 1, "label": "Confirm", "custom_id": "warden.confirm:C-12", "disabled": false },
                    { "type": 2, "style": 2, "label": "Cancel", "custom_id": "warden.cancel:C-12", "disabled": false },
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
    assert_eq!(
        v["data"]["allowed_mentions"],
        json!({ "parse": [], "users": [], "roles": [] })
    );
}

#[test]
fn pong_is_exactly_type_1() {
    assert_eq!(serde_json::to_string(&pong()).unwrap(), r#"{"type":1}"#);
}

#[test]
fn thread_messages_mention_only_the_named_users_first() {
    let message = Message {
        text: "x".repeat(3000),
        buttons: vec![],
    };
    let body = json(&thread_message(
        &message,
        &["42".into(), "<@everyone>".into(), "".into(), "7".into()],
    ));
    let content = body["content"].as_str().unwrap();
    assert!(content.starts_with("<@42> <@7> xxx"), "{content}");
    assert_eq!(content.chars().count(), MAX_CONTENT);
    assert_eq!(
        body["allowed_mentions"],
        json!({ "parse": [], "users": ["42", "7"], "roles": [] })
    );
    let plain = json(&thread_message(&message, &["not-an-id".into()]));
    assert_eq!(plain, render_message(&message));
}

#[test]
fn thread_bodies_and_followup_flags() {
    assert_eq!(
        json(&start_thread(&"n".repeat(150))),
        json!({ "name": "n".repeat(100), "auto_archive_duration": 10080 })
    );
    assert_eq!(json(&unarchive_thread()), json!({ "archived": false }));
    let m = Message {
        text: "done".into(),
        buttons: vec![b(ButtonKind::Retry, "J-1")],
    };
    assert_eq!(json(&followup(&m, true))["flags"], EPHEMERAL);
    assert_eq!(json(&followup(&m, false)).get("flags"), None);
    let edit = json(&edit_original(&m));
    assert_eq!(edit["content"], "done");
    assert_eq!(
        edit["components"][0]["components"][0]["custom_id"],
        "warden.retry:J-1"
    );
    assert_eq!(edit.get("flags"), None);
    let edit = json(&edit_message(&Message::default()));
    assert_eq!(edit["components"], json!([]));
}
