//! Typed arguments: what a person typed, checked against a command's declared arguments.
//!
//! Input: the `[[args]]` tables of a command file, a line `---`, then the text typed after the
//! command name in Slack (`web v1.2.3 env=prod --reason "…"`).
//!
//! Invariants, for every declaration the loader accepts:
//! - an accepted value satisfies its argument's type: an int is a whole number within min and
//!   max, a choice is one of the choices, a string matches the whole pattern, a duration is at
//!   least a second; values come in declaration order, every required argument has one, and a
//!   named value is the one typed;
//! - a refusal is a typed `ArgError` naming a declared argument (or the unknown one typed), and
//!   never repeats the value typed for a `secret = true` argument.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use warden::commands::args::{parse_args, parse_raw, split_command_text, ArgError, ArgValue};
use warden::commands::{load_str, ArgType};

fuzz_target!(|data: &[u8]| {
    let Some(text) = warden_fuzz::text(data) else {
        return;
    };
    let Some((declarations, typed)) = text.split_once("\n---\n") else {
        return;
    };
    let file = format!(
        "name = \"fuzz\"\nsummary = \"s\"\ndry_run = true\n{declarations}\n\
         [action]\ntype = \"exec\"\nprogram = \"/usr/local/bin/fuzz\"\n"
    );
    let Ok(spec) = load_str(Path::new("fuzz.toml"), &file) else {
        return;
    };
    let Ok(raw) = split_command_text(typed).and_then(|tokens| parse_raw(&tokens)) else {
        return;
    };
    let parsed = match parse_args(&spec, &raw) {
        Ok(parsed) => parsed,
        Err(error) => {
            let message = error.to_string();
            assert!(!message.is_empty());
            if let Some(name) = error.arg() {
                let declared = spec.args.iter().any(|a| a.name == name);
                assert!(
                    declared || matches!(error, ArgError::UnknownArg { .. }),
                    "{error:?}"
                );
            }
            for (name, value) in &raw.named {
                let Some(arg) = spec.arg(name) else { continue };
                let mut context: Vec<&str> = vec![declarations, name];
                context.extend(
                    raw.named
                        .iter()
                        .filter(|(n, _)| n != name)
                        .map(|(_, v)| v.as_str()),
                );
                context.extend(raw.positional.iter().map(String::as_str));
                context.extend(raw.reason.as_deref());
                if arg.secret && warden_fuzz::recognisable(value.trim(), &context) {
                    assert!(
                        !message.contains(value.trim()),
                        "the secret value of `{name}` is repeated: {message}"
                    );
                }
            }
            return;
        }
    };
    assert_eq!(parsed.dry_run, raw.dry_run);
    let reason = raw
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    assert_eq!(parsed.reason.as_deref(), reason);
    let mut declared = spec.args.iter();
    for (name, value) in &parsed.values {
        let arg = declared
            .find(|a| &a.name == name)
            .unwrap_or_else(|| panic!("`{name}` is out of declaration order or undeclared"));
        match (arg.kind, value) {
            (ArgType::String, ArgValue::Str(s)) => {
                if let Some(pattern) = &arg.pattern {
                    let whole = regex::Regex::new(&format!("^(?:{})$", pattern.as_str()))
                        .expect("a loaded pattern compiles");
                    assert!(whole.is_match(s), "{s:?} does not match {pattern}");
                }
            }
            (ArgType::Choice, ArgValue::Str(s)) => assert!(arg.choices.contains(s), "{s:?}"),
            (ArgType::Int, ArgValue::Int(n)) => {
                assert!(arg.min.is_none_or(|lo| *n >= lo) && arg.max.is_none_or(|hi| *n <= hi));
            }
            (ArgType::Bool, ArgValue::Bool(_)) => {}
            (ArgType::Duration, ArgValue::Duration(d)) => assert!(d.as_secs() >= 1),
            (kind, value) => panic!("`{name}` is {kind} but has the value {value:?}"),
        }
        if let Some((_, typed)) = raw.named.iter().find(|(n, _)| n == name) {
            assert_eq!(arg.parse_value(typed).as_ref(), Ok(value));
        }
    }
    for arg in &spec.args {
        if arg.required || arg.default.is_some() {
            assert!(
                parsed.get(&arg.name).is_some(),
                "`{}` has no value",
                arg.name
            );
        }
    }
});
