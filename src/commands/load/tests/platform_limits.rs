//! The platforms' limits reported at the file and line where they are broken: each case is a
//! file that Discord's bulk overwrite or Slack's manifest would refuse.

use super::{load, problems, BASE};

/// The line and message of the one problem of `text`, which must mention `needle`.
fn one_problem(text: &str, needle: &str) -> usize {
    let found = problems(text);
    assert_eq!(found.len(), 1, "{found:?}");
    let (line, message) = &found[0];
    assert!(
        message.contains(needle),
        "{message:?} should mention {needle:?}"
    );
    *line
}

#[test]
fn names_over_32_characters() {
    let long = format!("d{}", "e".repeat(32));
    let text = BASE.replace("name = \"deploy\"", &format!("name = \"{long}\""));
    assert_eq!(one_problem(&text, "at most 32"), 1);
    let text = BASE
        .replace("name = \"env\"", &format!("name = \"e{}\"", "n".repeat(32)))
        .replace("{{env}}", &format!("{{{{e{}}}}}", "n".repeat(32)));
    assert_eq!(one_problem(&text, "argument name"), 6);
    // Exactly 32 is allowed.
    let exact = format!("d{}", "e".repeat(31));
    assert!(load(&BASE.replace("name = \"deploy\"", &format!("name = \"{exact}\""))).is_ok());
}

#[test]
fn descriptions_over_100_characters() {
    let text = BASE.replace(
        "summary = \"Deploy\"",
        &format!("summary = \"{}\"", "s".repeat(101)),
    );
    assert_eq!(one_problem(&text, "at most 100"), 2);
    let text = BASE.replace(
        "type = \"choice\"\n",
        &format!("type = \"choice\"\ndescription = \"{}\"\n", "d".repeat(101)),
    );
    assert_eq!(one_problem(&text, "argument description"), 8);
    let text = BASE.replace(
        "summary = \"Deploy\"",
        &format!("summary = \"{}\"", "s".repeat(100)),
    );
    assert!(load(&text).is_ok());
}

#[test]
fn choices_over_100_characters() {
    let text = BASE.replace("\"prod\"]", &format!("\"prod\", \"{}\"]", "p".repeat(101)));
    assert_eq!(one_problem(&text, "choice is 101 characters"), 8);
}

#[test]
fn more_than_25_options_with_dry_run_and_reason() {
    // 23 arguments, `dry_run` and `reason` make 25: allowed.
    let args = |n: usize| -> String {
        (0..n)
            .map(|i| format!("[[args]]\nname = \"a{i}\"\ntype = \"string\"\nrequired = false\n"))
            .collect()
    };
    let file = |n: usize| {
        format!(
            "name = \"wide\"\nsummary = \"Wide\"\nrole = \"operator\"\ndry_run = true\n{}[action]\ntype = \"http\"\nurl = \"https://x.internal/\"\n",
            args(n)
        )
    };
    let ok = load(&file(23));
    assert!(ok.is_ok(), "{:?}", ok.err());
    // One more is refused, at the first argument past the limit (the 24th, on line 5 + 23*4).
    let line = one_problem(&file(24), "26 Discord options");
    assert_eq!(line, 5 + 23 * 4);
}

#[test]
fn slash_commands_over_32_characters() {
    let long = format!("/{}", "d".repeat(32));
    let text = BASE.replace(
        "role = \"operator\"",
        &format!("command = \"{long}\"\nrole = \"operator\""),
    );
    assert_eq!(one_problem(&text, "Slack allows at most 32"), 3);
}

#[test]
fn integer_bounds_beyond_discords_range() {
    let text = BASE.replace(
        "[action]",
        "[[args]]\nname = \"n\"\ntype = \"int\"\nmax = 9007199254740992\n[action]",
    );
    assert_eq!(one_problem(&text, "Discord's integer range"), 12);
}
