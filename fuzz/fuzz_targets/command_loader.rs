//! The command-file loader (`commands/*.toml`).
//!
//! Input: the text of a command file.
//!
//! Invariants:
//! - loading never panics, and gives the same answer twice;
//! - a refusal lists problems that each name the file and, with a line, a line of the file;
//! - a loaded command keeps the file's key facts: its name, summary, the names of its arguments
//!   in order, its action type and its line; each default is a valid value of its argument; the
//!   usage line names every argument; and a command whose arguments all have defaults or are
//!   optional runs on its defaults to a plan.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use warden::commands::args::{parse_args, usage, RawArgs};
use warden::commands::{load_str, ActionSpec};

fuzz_target!(|data: &[u8]| {
    let Some(text) = warden_fuzz::text(data) else {
        return;
    };
    let file = Path::new("commands/fuzz.toml");
    let spec = match load_str(file, text) {
        Ok(spec) => spec,
        Err(problems) => {
            warden_fuzz::check_problems(&problems, file, text);
            let again = load_str(file, text).expect_err("the same text loads the second time");
            assert_eq!(again, problems);
            return;
        }
    };
    let again = load_str(file, text).expect("the same text is refused the second time");
    assert_eq!(format!("{again:?}"), format!("{spec:?}"));

    let toml: toml::Table = toml::from_str(text).expect("a loaded file is TOML");
    assert_eq!(
        toml.get("name").and_then(|v| v.as_str()),
        Some(spec.name.as_str())
    );
    assert_eq!(
        toml.get("summary").and_then(|v| v.as_str()),
        Some(spec.summary.as_str())
    );
    let declared: Vec<&str> = toml
        .get("args")
        .and_then(|a| a.as_array())
        .map(|a| a.iter().filter_map(|t| t.get("name")?.as_str()).collect())
        .unwrap_or_default();
    let loaded: Vec<&str> = spec.args.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(loaded, declared);
    let action_type = toml
        .get("action")
        .and_then(|a| a.get("type"))
        .and_then(|t| t.as_str());
    let expected_type = match &spec.action {
        ActionSpec::Http { .. } => "http",
        ActionSpec::Exec { .. } => "exec",
        ActionSpec::Builtin { .. } => "builtin",
    };
    assert_eq!(action_type, Some(expected_type));
    assert!(
        (1..=text.split('\n').count()).contains(&spec.line),
        "line {}",
        spec.line
    );
    let line = usage(&spec, "/ops");
    for arg in &spec.args {
        assert!(line.contains(arg.name.as_str()), "{line}");
        if let Some(default) = &arg.default {
            assert!(
                arg.parse_value(default).is_ok(),
                "default {default:?} of `{}`",
                arg.name
            );
        }
    }
    if let Ok(args) = parse_args(&spec, &RawArgs::default()) {
        if !matches!(spec.action, ActionSpec::Builtin { .. }) {
            warden::actions::plan(&spec, &args, false)
                .unwrap_or_else(|e| panic!("the defaults of a loaded command do not plan: {e}"));
        }
    }
});
