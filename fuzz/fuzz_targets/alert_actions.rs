//! An alert route's action command, filled in from an alert (SPEC §15, "escaped as in §5").
//!
//! Input: the first line is the action's `command` as written in `warden.toml`; each further
//! line is a label `NAME=VALUE` (value escapes as in `src/lib.rs`: `\n`, `\t`, `\0`, `\\`).
//!
//! Invariants:
//! - no input panics;
//! - a value from an alert is always exactly one argument's value: filling never adds, drops,
//!   renames or reorders an argument, and never turns on `--dry-run` or a reason, whatever
//!   the labels hold (spaces, quotes, `=`, `--dry-run`, newlines);
//! - a value equals an independent substitution of the template's `{{labels.NAME}}`;
//! - the command line shown on the card and in the audit log, typed after `/ops`, gives back
//!   the same arguments (except a lone smart single quote, which no one can type).
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use warden::alerts::template::CommandTemplate;
use warden::commands::args::{parse_raw, split_command_text};

fuzz_target!(|data: &[u8]| {
    let Some(text) = warden_fuzz::text(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let command = lines.next().unwrap_or("");
    let labels: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), warden_fuzz::unescape(v)))
        .collect();
    let Ok(template) = CommandTemplate::parse(command) else {
        return;
    };
    let Ok(args) = template.fill(&labels, &BTreeMap::new()) else {
        return;
    };
    let names: Vec<&str> = args.named.iter().map(|(n, _)| n.as_str()).collect();
    let wanted: Vec<&str> = template.named.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, wanted, "filling changed the arguments");
    assert_eq!(args.dry_run, template.dry_run);
    assert!(args.reason.is_none() && args.positional.is_empty());
    for ((_, value), (_, written)) in args.named.iter().zip(&template.named) {
        let values: Vec<(&str, String)> = labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let expected = independent(written, &values);
        assert_eq!(value, &expected, "template {written}");
    }
    if args
        .named
        .iter()
        .any(|(_, v)| v.contains(['\u{2018}', '\u{2019}']))
    {
        return;
    }
    let line = CommandTemplate::display(&template.command, &args);
    let tokens = split_command_text(&line).expect("the shown line splits");
    assert_eq!(tokens[0], template.command, "{line}");
    let again = parse_raw(&tokens[1..]).expect("the shown line parses");
    assert_eq!(again.named, args.named, "{line}");
    assert_eq!(again.dry_run, args.dry_run, "{line}");
});

/// `{{labels.NAME}}` replaced left to right by the label's value, written apart from warden's
/// own renderer.
fn independent(template: &str, labels: &[(&str, String)]) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .expect("parse accepted it, so it is closed");
        let name = after[..end].trim().trim_start_matches("labels.");
        let value = labels
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
            .expect("fill succeeded, so the label exists");
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}
