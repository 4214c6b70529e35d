//! The table of problems in command files, each with the line it must be reported at.

use super::*;

/// Replaces line `n` (1-based) of BASE, or inserts after it with `+`.
fn edit(line: usize, replacement: &str) -> String {
    let mut lines: Vec<&str> = BASE.lines().collect();
    lines[line - 1] = replacement;
    lines.join("\n") + "\n"
}

fn append(extra: &str) -> String {
    format!("{BASE}{extra}")
}

/// BASE with its action replaced by an exec action whose fields start at line 11.
fn exec(fields: &str) -> String {
    let head = BASE.split("[action]").next().unwrap_or_default();
    format!("{head}[action]\ntype = \"exec\"\n{fields}\n")
}

/// BASE with its action replaced by a builtin action whose fields start at line 11.
fn builtin(fields: &str) -> String {
    let head = BASE.split("[action]").next().unwrap_or_default();
    format!("{head}[action]\ntype = \"builtin\"\n{fields}\n")
}

#[test]
fn problems_with_lines() {
    let cases: Vec<(String, Vec<(usize, &str)>)> = vec![
        // Syntax, unknown keys and wrong types come from the deserializer.
        (edit(2, "summary = \"Deploy"), vec![(2, "")]),
        (
            edit(2, "colour = \"red\""),
            vec![(2, "unknown field `colour`")],
        ),
        (
            edit(7, "typo = \"choice\""),
            vec![(7, "unknown field `typo`")],
        ),
        (append("bogus = 1\n"), vec![(12, "unknown field `bogus`")]),
        (
            append("[approval]\nwhen = { env = [\"prod\"] }\napprovers = [\"a\"]\nextra = 1\n"),
            vec![(15, "unknown field `extra`")],
        ),
        (edit(3, "role = 5"), vec![(3, "invalid type")]),
        (append("retries = -1\n"), vec![(12, "")]),
        // Top-level semantics.
        (
            edit(1, "name = \"Deploy\""),
            vec![(1, "command name `Deploy`")],
        ),
        (edit(1, "name = \"help\""), vec![(1, "built-in command")]),
        (edit(1, "# no name"), vec![(1, "missing `name`")]),
        (
            edit(2, "summary = \"  \""),
            vec![(2, "summary must be one non-empty line")],
        ),
        (edit(3, "role = \"root\""), vec![(3, "unknown role `root`")]),
        (edit(3, "risk = \"low\""), vec![(1, "missing `role`")]),
        (
            edit(2, "summary = \"x\"\nrisk = \"extreme\""),
            vec![(3, "unknown risk `extreme`")],
        ),
        (
            edit(2, "summary = \"x\"\ncommand = \"deploy\""),
            vec![(3, "not a slash command")],
        ),
        (
            edit(2, "summary = \"x\"\nrate_limit = \"10/fortnight\""),
            vec![(3, "not a rate limit")],
        ),
        (
            edit(2, "summary = \"x\"\ntimeout = \"10\""),
            vec![(3, "timeout: `10` is not a duration")],
        ),
        (
            edit(2, "summary = \"x\"\nretries = 11"),
            vec![(3, "retries must be at most 10")],
        ),
        (
            edit(2, "summary = \"x\"\nalert_channel = \"mail:x\""),
            vec![(3, "not a channel")],
        ),
        // Environment.
        (
            edit(4, "environment = \"Prod!\""),
            vec![(4, "must be a name")],
        ),
        (
            edit(4, "environment = \"{{nope}}\""),
            vec![(4, "no argument `nope`")],
        ),
        (
            edit(4, "environment = \"x-{{env}}\""),
            vec![(4, "exactly one argument")],
        ),
        (
            edit(4, "environment = \"{{ env }}\""),
            vec![(4, "not a template reference")],
        ),
        (
            edit(8, "choices = [\"staging\", \"prod\"]\nrequired = false"),
            vec![
                (4, "must be required or have a default"),
                (12, "optional without a default"),
            ],
        ),
        (
            edit(7, "type = \"int\"").replace("choices = [\"staging\", \"prod\"]\n", ""),
            vec![(4, "must be a choice")],
        ),
        (
            edit(8, "choices = [\"staging\", \"prod\"]\nsecret = true"),
            vec![(4, "cannot be secret")],
        ),
        // Arguments.
        (
            edit(6, "name = \"Env\""),
            vec![
                (4, "no argument `env`"),
                (6, "argument name `Env`"),
                (11, "no argument `env`"),
            ],
        ),
        (
            edit(6, "name = \"reason\""),
            vec![
                (4, "no argument `env`"),
                (6, "confused with --reason"),
                (11, "no argument `env`"),
            ],
        ),
        (
            edit(6, "# no name"),
            vec![
                (4, "no argument `env`"),
                (5, "missing `name`"),
                (11, "no argument `env`"),
            ],
        ),
        (
            append("[[args]]\nname = \"env\"\ntype = \"string\"\n").replace(
                "[action]\ntype = \"http\"\nurl = \"https://deployer.internal/{{env}}\"\n",
                "",
            ) + "[action]\ntype = \"builtin\"\nname = \"a.b\"\n",
            vec![(10, "declared twice")],
        ),
        (
            edit(7, "kind = \"choice\""),
            vec![(7, "unknown field `kind`")],
        ),
        (
            edit(7, "type = \"float\""),
            vec![
                (7, "unknown argument type `float`"),
                (8, "only allowed with type = \"choice\""),
            ],
        ),
        (edit(8, "# no choices"), vec![(6, "needs `choices`")]),
        (
            edit(8, "choices = []"),
            vec![(8, "choices cannot be empty")],
        ),
        (
            edit(8, "choices = [\"a\",\n  \"a\",\n  \"b c\"]"),
            vec![(9, "listed twice"), (10, "without spaces")],
        ),
        (
            append("[[args]]\nname = \"v\"\ntype = \"string\"\npattern = '^v(\\d+$'\n"),
            vec![(15, "pattern `^v(\\d+$` is not a valid regex")],
        ),
        (
            append("[[args]]\nname = \"v\"\ntype = \"int\"\npattern = 'x'\nmin = 3\nmax = 2\n"),
            vec![
                (15, "only allowed with type = \"string\""),
                (17, "max 2 is smaller than min 3"),
            ],
        ),
        (
            append("[[args]]\nname = \"v\"\ntype = \"bool\"\nmin = 3\n"),
            vec![(15, "`min` is only allowed with type = \"int\"")],
        ),
        (
            edit(8, "choices = [\"staging\", \"prod\"]\ndefault = \"qa\""),
            vec![(
                9,
                "default is invalid: argument `env`: `qa` is not one of staging, prod",
            )],
        ),
        (
            append("[[args]]\nname = \"n\"\ntype = \"int\"\nmax = 5\ndefault = 9\n"),
            vec![(
                16,
                "default is invalid: argument `n`: 9 is too large: use at most 5",
            )],
        ),
        (
            append("[[args]]\nname = \"d\"\ntype = \"duration\"\ndefault = [1]\n"),
            vec![(15, "default must be a string, a number or true/false")],
        ),
        (
            edit(
                8,
                "choices = [\"staging\", \"prod\"]\ndefault = \"prod\"\nrequired = true",
            ),
            vec![(10, "has a default, so it cannot be required")],
        ),
        // Approval.
        (
            append("[approval]\nwhen = { nope = [\"x\"] }\napprovers = [\"a\"]\n"),
            vec![(13, "there is no argument `nope`")],
        ),
        (
            append("[approval]\nwhen = { env = [\"qa\"] }\napprovers = [\"a\"]\n"),
            vec![(
                13,
                "approval `when`: argument `env`: `qa` is not one of staging, prod",
            )],
        ),
        (
            append("[approval]\nwhen = { env = [] }\napprovers = [\"a\"]\n"),
            vec![(13, "lists no values")],
        ),
        (
            append("[approval]\napprovals = 0\napprovers = [\"a\"]\n"),
            vec![(13, "approvals must be at least 1")],
        ),
        (
            append("[approval]\napprovals = 3\napprovers = [\"alice\", \"slack:T1/U2\"]\n"),
            vec![(13, "can never be reached")],
        ),
        (
            append("[approval]\napprovers = [\"alice\",\n \"Bob\",\n \"alice\"]\n"),
            vec![(14, "not a subject"), (15, "listed twice")],
        ),
        (
            append("[approval]\nexpires_in = \"1w\"\n"),
            vec![
                (12, "needs `approvers`, `approver_role` or both"),
                (13, "expires_in"),
            ],
        ),
        (
            append("[approval]\napprover_role = \"boss\"\n"),
            vec![(13, "unknown role `boss`")],
        ),
        // Actions.
        (
            BASE.replace(
                "[action]\ntype = \"http\"\nurl = \"https://deployer.internal/{{env}}\"\n",
                "",
            ),
            vec![(1, "missing `[action]`")],
        ),
        (edit(10, "method = \"GET\""), vec![(9, "missing `type`")]),
        (
            edit(10, "type = \"ftp\""),
            vec![(10, "unknown action type `ftp`")],
        ),
        (
            edit(11, "program = \"/bin/x\""),
            vec![
                (9, "needs `url`"),
                (11, "`program` is not allowed in an action of type http"),
            ],
        ),
        (
            edit(11, "url = \"ftp://x/{{env}}\""),
            vec![(11, "must start with http:// or https://")],
        ),
        (
            edit(11, "url = \"https://{{env}}.internal/\""),
            vec![(11, "host of the url cannot contain templates")],
        ),
        (edit(11, "url = \"https:///x\""), vec![(11, "has no host")]),
        (
            edit(11, "url = \"https://x/{{envs}}\""),
            vec![(11, "url uses `{{envs}}`, but there is no argument `envs`")],
        ),
        (
            edit(11, "url = \"https://x/{{env\""),
            vec![(11, "never closed")],
        ),
        (
            append("method = \"FETCH\"\n"),
            vec![(12, "unknown method `FETCH`")],
        ),
        (
            append("headers = { \"Bad Header\" = \"x\", X-A = \"{{nope}}\" }\n"),
            vec![
                (12, "not a valid header name"),
                (12, "header `X-A` uses `{{nope}}`"),
            ],
        ),
        (
            append("sign_secret_env = \"lower\"\n"),
            vec![(12, "sign_secret_env `lower`")],
        ),
        (
            append("method = \"GET\"\n[action.body]\na = 1\nb = \"{{missing}}\"\n"),
            vec![
                (13, "a GET request has no body"),
                (15, "body uses `{{missing}}`"),
            ],
        ),
        (
            append("[action.body]\nx = \"\"\"\nline one\n{{nope}}\"\"\"\n"),
            vec![(15, "body uses `{{nope}}`")],
        ),
    ];
    let cases = cases.into_iter().chain(vec![
        // Exec and builtin actions.
        (exec("program = \"restart\""), vec![(11, "must be an absolute path")]),
        (exec("program = \"/bin/{{env}}\""), vec![(11, "program cannot contain templates")]),
        (exec("program = \"/bin/x\"\nargs = [\"a\",\n  \"{{nope}}\"]"), vec![(13, "args uses `{{nope}}`")]),
        (exec("program = \"/bin/x\"\ndry_run_args = [\"-n\"]"), vec![(12, "does not have dry_run = true")]),
        (exec("program = \"/bin/x\"\nenv = { MODE = \"{{env}}\", \"1X\" = \"y\" }"), vec![(12, "`1X` is not an environment variable name"), (12, "env `MODE` cannot contain templates")]),
        (exec("program = \"/bin/x\"\ninherit_env = [\"PATH\", \"A-B\"]"), vec![(12, "`A-B` is not an environment variable name")]),
        (exec("program = \"/bin/x\"\nworkdir = \"tmp\""), vec![(12, "workdir `tmp` must be an absolute path")]),
        (exec("program = \"/bin/x\"\nurl = \"https://x\""), vec![(12, "`url` is not allowed in an action of type exec")]),
        (exec("args = []"), vec![(9, "an exec action needs `program`")]),
        (builtin(""), vec![(9, "a builtin action needs `name`")]),
        (builtin("name = \"Flags.Set\""), vec![(11, "must look like flags.set")]),
        (builtin("name = \"flags..set\""), vec![(11, "must look like flags.set")]),
        (builtin("name = \"flags.set\"\nmethod = \"GET\""), vec![(12, "`method` is not allowed in an action of type builtin")]),
        (
            append("[[args]]\nname = \"opt\"\ntype = \"string\"\nrequired = false\n[action.body]\nx = \"{{opt}}\"\n")
                .replace("[action]\ntype = \"http\"\nurl = \"https://deployer.internal/{{env}}\"\n[[args]]", "[[args]]")
                .replace("[action.body]", "[action]\ntype = \"http\"\nurl = \"https://deployer.internal/{{env}}\"\n[action.body]"),
            vec![(17, "body uses `{{opt}}`, but `opt` is optional without a default")],
        ),
        (append("[action.body]\nx = nan\n"), vec![(12, "has no JSON form")]),
    ]);
    let mut failures = Vec::new();
    for (text, want) in cases {
        let got = problems(&text);
        let matches = got.len() == want.len()
            && got
                .iter()
                .zip(&want)
                .all(|((line, message), (want_line, want_message))| {
                    line == want_line && message.contains(want_message)
                });
        if !matches {
            failures.push(format!("{text}=> got {got:?}\n   want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
