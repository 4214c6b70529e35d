//! Slack slash commands: the form-encoded body and the invocation built from it.
//!
//! Input: a slash-command body as Slack posts it (`team_id=T01&user_id=U01&command=%2Fops&…`).
//!
//! Invariants:
//! - parsing never panics; a refusal is an error message, never a half-read command;
//! - the form parser inverts the form encoder: `parse(encode(fields)) == fields` for the fields
//!   of any body that parses, with every field re-encoded in any order;
//! - the invocation names the command Slack's user typed: the dedicated slash command's, or the
//!   first word of the text (`help` for none), and passes the rest on trimmed;
//! - the `response_url`, a credential, never shows in `Debug` output of the command or the
//!   invocation.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use warden::chat::slack::{invocation, parse_command, SlashCommand};
use warden::chat::{ArgsInput, Transport};

fn fields(cmd: &SlashCommand) -> Vec<(&'static str, Option<String>)> {
    let e = &cmd.event;
    vec![
        ("team_id", Some(e.team_id.0.clone())),
        ("user_id", Some(e.user_id.0.clone())),
        ("user_name", cmd.user_name.clone()),
        ("channel_id", Some(e.channel_id.0.clone())),
        ("command", Some(e.command.0.clone())),
        ("text", e.text.clone()),
        ("response_url", Some(e.response_url.0.to_string())),
        ("trigger_id", Some(e.trigger_id.0.clone())),
    ]
}

fuzz_target!(|data: &[u8]| {
    let cmd = match parse_command(data) {
        Ok(cmd) => cmd,
        Err(message) => {
            assert!(
                message.starts_with("not a Slack slash command"),
                "{message}"
            );
            return;
        }
    };

    // Round trip through the encoder, fields in reverse order and with a field Slack adds that
    // warden does not read.
    let mut pairs: Vec<(&str, String)> = fields(&cmd)
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .rev()
        .collect();
    pairs.insert(1, ("api_app_id", "A0123".to_string()));
    let encoded = serde_urlencoded::to_string(&pairs).expect("strings always encode");
    let again = parse_command(encoded.as_bytes()).expect("an encoded command parses");
    assert_eq!(fields(&again), fields(&cmd), "{encoded}");

    let dedicated = HashMap::from([("/deploy".to_string(), "deploy".to_string())]);
    let inv = invocation(
        cmd.clone(),
        "/ops",
        &dedicated,
        "req-1".into(),
        Some("key".into()),
        Transport::Http,
    );
    let ArgsInput::Text(rest) = &inv.input else {
        panic!("a slash command carries text");
    };
    let text = cmd.event.text.as_deref().unwrap_or_default().trim();
    if cmd.event.command.0 == "/deploy" {
        assert_eq!(inv.command, "deploy");
        assert_eq!(rest, text);
    } else if text.is_empty() {
        assert_eq!(inv.command, "help");
        assert!(rest.is_empty());
    } else {
        assert!(!inv.command.is_empty() && !inv.command.contains(char::is_whitespace));
        assert!(text.starts_with(&inv.command));
        assert_eq!(rest, text[inv.command.len()..].trim());
    }
    assert_eq!(inv.workspace, cmd.event.team_id.0);
    assert_eq!(inv.user.user, cmd.event.user_id.0);
    assert_eq!(
        inv.channel,
        Some(format!("slack:{}", cmd.event.channel_id.0))
    );
    // Slack always sends a `response_url`, and the parser requires one: every command can be
    // answered.
    assert!(inv.reply.is_some());

    {
        let url = &cmd.event.response_url.0.to_string();
        let all = fields(&cmd);
        let others: Vec<&str> = all
            .iter()
            .filter(|(k, _)| *k != "response_url")
            .filter_map(|(_, v)| v.as_deref())
            .collect();
        let mut context = others.clone();
        context.extend(["req-1", "key", "deploy", "help", "Slack", "slack:"]);
        // Leaked pieces of the URL would show too; the whole URL is the credential to look for.
        if warden_fuzz::recognisable(url, &context) {
            let shown = format!("{cmd:?} {inv:?}");
            assert!(
                !shown.contains(url.as_str()),
                "response_url in Debug: {shown}"
            );
        }
    }
});
