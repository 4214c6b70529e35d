//! The Slack text grammar (`/ops NAME [positional…] [key=value…] [--dry-run] [--reason "…"]`).
//!
//! Input: the text typed after the command name, as UTF-8.
//!
//! Invariants:
//! - splitting never panics, and a refusal is a typed `GrammarError` whose message repeats at
//!   most a short, control-free piece of what was typed;
//! - text without quotes or backslashes splits exactly as on whitespace;
//! - whatever splits renders back (`quote_token`) and splits to the same tokens;
//! - whatever parses into `RawArgs` renders back as text and parses to the same `RawArgs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden::commands::args::{parse_raw, quote_token, split_command_text, GrammarError, RawArgs};

/// The text a person would type for `raw`: positional values, `key=value` pairs, then the flags.
fn render(raw: &RawArgs) -> String {
    let mut words: Vec<String> = raw.positional.iter().map(|p| quote_token(p)).collect();
    for (name, value) in &raw.named {
        words.push(format!("{name}={}", quote_token(value)));
    }
    if raw.dry_run {
        words.push("--dry-run".to_string());
    }
    if let Some(reason) = &raw.reason {
        // Inline, so that a reason starting with `--` is not taken for a flag.
        words.push(format!("--reason={}", quote_token(reason)));
    }
    words.join(" ")
}

fn check_error(error: &GrammarError) {
    assert!(!error.to_string().is_empty());
    if let GrammarError::UnknownFlag { flag } = error {
        assert!(flag.chars().count() <= 65, "a long flag is repeated whole");
        assert!(
            !flag.contains(|c: char| c.is_control() || c == '`'),
            "{flag:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(text) = warden_fuzz::text(data) else {
        return;
    };
    let tokens = match split_command_text(text) {
        Ok(tokens) => tokens,
        Err(error) => return check_error(&error),
    };
    let quoting = |c: char| {
        matches!(
            c,
            '"' | '\'' | '\\' | '\u{201C}' | '\u{201D}' | '\u{2018}' | '\u{2019}'
        )
    };
    if !text.contains(quoting) {
        let words: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(tokens, words, "plain text splits on whitespace");
    }
    let again = tokens
        .iter()
        .map(|t| quote_token(t))
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(
        split_command_text(&again).as_ref(),
        Ok(&tokens),
        "tokens rendered as {again:?} split differently"
    );
    let raw = match parse_raw(&tokens) {
        Ok(raw) => raw,
        Err(error) => return check_error(&error),
    };
    let rendered = render(&raw);
    let reparsed = split_command_text(&rendered).and_then(|t| parse_raw(&t));
    assert_eq!(
        reparsed.as_ref(),
        Ok(&raw),
        "{raw:?} rendered as {rendered:?}"
    );
});
