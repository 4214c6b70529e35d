//! The argv escaper: values placed in an exec action's arguments.
//!
//! Input: the `args` of a command file as a JSON list of strings on the first line, its
//! `dry_run_args` as a JSON list on the second, then the values of its three string arguments
//! `a`, `b` and `c`, one a line (`\n`, `\t`, `\0` and `\\` escaped).
//!
//! Invariants, for every list the loader accepts and whatever the values:
//! - the argv has exactly one element per template (plus one per `dry_run_args` template on a
//!   dry run): no value splits or merges elements, whatever spaces, quotes or shell syntax it
//!   holds;
//! - each element is its template with each reference replaced by the value, nothing else;
//! - the plan people approve shows exactly that list.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use warden::actions::exec::command_line;
use warden::commands::args::{parse_args, RawArgs};
use warden::commands::load_str;

fuzz_target!(|data: &[u8]| {
    let Some(text) = warden_fuzz::text(data) else {
        return;
    };
    let mut lines = text.splitn(3, '\n');
    let (Some(args), Some(dry_args), rest) = (lines.next(), lines.next(), lines.next()) else {
        return;
    };
    let (Ok(templates), Ok(dry_templates)) = (
        serde_json::from_str::<Vec<String>>(args),
        serde_json::from_str::<Vec<String>>(dry_args),
    ) else {
        return;
    };
    let (_, values) = warden_fuzz::head_and_values(&format!("\n{}", rest.unwrap_or("")), 3);
    let list = |items: &[String]| {
        format!(
            "[{}]",
            items
                .iter()
                .map(|t| warden_fuzz::toml_str(t))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let file = format!(
        "name = \"fuzz\"\nsummary = \"s\"\ndry_run = true\n\
         [[args]]\nname = \"a\"\ntype = \"string\"\n\
         [[args]]\nname = \"b\"\ntype = \"string\"\n\
         [[args]]\nname = \"c\"\ntype = \"string\"\n\
         [action]\ntype = \"exec\"\nprogram = \"/usr/local/bin/restart-service\"\nargs = {}\ndry_run_args = {}\n",
        list(&templates),
        list(&dry_templates)
    );
    let Ok(spec) = load_str(Path::new("fuzz.toml"), &file) else {
        return;
    };
    let raw = RawArgs {
        named: ["a", "b", "c"]
            .iter()
            .zip(&values)
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect(),
        ..RawArgs::default()
    };
    let args = parse_args(&spec, &raw).expect("string arguments without a pattern accept anything");
    let named: Vec<(&str, String)> = ["a", "b", "c"]
        .into_iter()
        .zip(values.iter().cloned())
        .collect();
    for dry_run in [false, true] {
        let mut expected: Vec<String> = templates
            .iter()
            .map(|t| warden_fuzz::substitute(t, &named))
            .collect();
        if dry_run {
            expected.extend(
                dry_templates
                    .iter()
                    .map(|t| warden_fuzz::substitute(t, &named)),
            );
        }
        let argv = command_line(&spec, &args, dry_run).expect("accepted values render");
        assert_eq!(argv, expected, "values {values:?}");
        let plan = warden::actions::plan(&spec, &args, dry_run).expect("accepted values plan");
        let shown = plan
            .lines()
            .find_map(|l| l.strip_prefix("argv: "))
            .expect("the plan shows the argv");
        let shown: Vec<String> =
            serde_json::from_str(shown).expect("the plan's argv is a JSON list");
        assert_eq!(shown, expected);
    }
});
