//! Tests of the grammar, of checking arguments against a command, of the errors and of the
//! usage and help text.

use super::*;
use std::path::Path;

fn deploy() -> CommandSpec {
    let text = r#"
name = "deploy"
summary = "Deploy a service version"
command = "/deploy"
role = "operator"
environment = "{{env}}"
dry_run = true
[[args]]
name = "service"
type = "choice"
choices = ["api", "web", "worker"]
description = "The service"
[[args]]
name = "version"
type = "string"
pattern = '^v\d+\.\d+\.\d+$'
[[args]]
name = "env"
type = "choice"
choices = ["staging", "prod"]
default = "staging"
[[args]]
name = "replicas"
type = "int"
min = 1
max = 20
required = false
[[args]]
name = "force"
type = "bool"
default = false
[[args]]
name = "wait"
type = "duration"
default = "5m"
[[args]]
name = "token"
type = "string"
secret = true
required = false
[approval]
when = { env = ["prod"] }
approvals = 2
approvers = ["group:sre-leads"]
expires_in = "30m"
[action]
type = "builtin"
name = "deploy.run"
"#;
    crate::commands::load::load_str(Path::new("deploy.toml"), text).unwrap()
}

fn toks(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn split_table() {
    let cases: &[(&str, Result<&[&str], GrammarError>)] = &[
        ("", Ok(&[])),
        ("   ", Ok(&[])),
        ("api v1.2.3", Ok(&["api", "v1.2.3"])),
        ("  api \t v1  ", Ok(&["api", "v1"])),
        ("\"two words\" x", Ok(&["two words", "x"])),
        ("'two words'", Ok(&["two words"])),
        ("reason=\"two words\"", Ok(&["reason=two words"])),
        ("a\"b c\"d", Ok(&["ab cd"])),
        ("\"say \\\"hi\\\"\"", Ok(&["say \"hi\""])),
        ("\"a\\\\b\"", Ok(&["a\\b"])),
        ("\"^v\\d+$\"", Ok(&["^v\\d+$"])),
        ("'it\\'", Ok(&["it\\"])),
        ("a\\ b", Ok(&["a\\", "b"])),
        ("\"\" x=''", Ok(&["", "x="])),
        ("\u{201C}two words\u{201D}", Ok(&["two words"])),
        ("\u{2018}two words\u{2019}", Ok(&["two words"])),
        ("\"it\u{2019}s\"", Ok(&["it's"])),
        ("api;\u{a0}touch", Ok(&["api;", "touch"])),
        ("\"api; touch /tmp/x\"", Ok(&["api; touch /tmp/x"])),
        (
            "\"open",
            Err(GrammarError::UnterminatedQuote { quote: '"' }),
        ),
        (
            "'open",
            Err(GrammarError::UnterminatedQuote { quote: '\'' }),
        ),
        (
            "\"open\\\"",
            Err(GrammarError::UnterminatedQuote { quote: '"' }),
        ),
        (
            "\u{201C}open",
            Err(GrammarError::UnterminatedQuote { quote: '"' }),
        ),
    ];
    for (input, want) in cases {
        let want = want.clone().map(toks);
        assert_eq!(split_command_text(input), want, "{input:?}");
    }
}

#[test]
fn parse_raw_table() {
    let raw = |pos: &[&str], named: &[(&str, &str)], dry: bool, reason: Option<&str>| RawArgs {
        positional: toks(pos),
        named: named
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        dry_run: dry,
        reason: reason.map(str::to_string),
    };
    let cases: Vec<(&[&str], Result<RawArgs, GrammarError>)> = vec![
        (&[], Ok(RawArgs::default())),
        (&["api", "v1"], Ok(raw(&["api", "v1"], &[], false, None))),
        (
            &["env=prod", "api"],
            Ok(raw(&["api"], &[("env", "prod")], false, None)),
        ),
        (
            &["version=a=b"],
            Ok(raw(&[], &[("version", "a=b")], false, None)),
        ),
        (
            &["Env=prod", "=x", "-5", "a-b=c"],
            Ok(raw(&["Env=prod", "=x", "-5", "a-b=c"], &[], false, None)),
        ),
        (&["env="], Ok(raw(&[], &[("env", "")], false, None))),
        (&["--dry-run", "api"], Ok(raw(&["api"], &[], true, None))),
        (
            &["--reason", "hot fix", "api"],
            Ok(raw(&["api"], &[], false, Some("hot fix"))),
        ),
        (
            &["--reason=hot fix"],
            Ok(raw(&[], &[], false, Some("hot fix"))),
        ),
        (&["--reason"], Err(GrammarError::MissingReason)),
        (&["--reason="], Err(GrammarError::MissingReason)),
        (&["--reason", "  "], Err(GrammarError::MissingReason)),
        (&["--reason", "--dry-run"], Err(GrammarError::MissingReason)),
        (
            &["--reason=a", "--reason=b"],
            Err(GrammarError::RepeatedReason),
        ),
        (
            &["--force"],
            Err(GrammarError::UnknownFlag {
                flag: "--force".into(),
            }),
        ),
        (
            &["--dry-run=yes"],
            Err(GrammarError::UnknownFlag {
                flag: "--dry-run=yes".into(),
            }),
        ),
        (
            &["--"],
            Err(GrammarError::UnknownFlag { flag: "--".into() }),
        ),
    ];
    for (tokens, want) in cases {
        assert_eq!(parse_raw(&toks(tokens)), want, "{tokens:?}");
    }
    assert_eq!(
        GrammarError::UnknownFlag {
            flag: "--force".into()
        }
        .to_string(),
        "unknown option `--force`: only --dry-run, --reason and (for `access`) --for are understood"
    );
}

fn typed(text: &str) -> Result<ParsedArgs, ArgError> {
    let raw = parse_raw(&split_command_text(text).unwrap()).unwrap();
    parse_args(&deploy(), &raw)
}

#[test]
fn parse_args_fills_positionals_and_defaults() {
    let got = typed("api v1.2.3").unwrap();
    assert_eq!(
        got.values,
        vec![
            ("service".to_string(), ArgValue::Str("api".into())),
            ("version".to_string(), ArgValue::Str("v1.2.3".into())),
            ("env".to_string(), ArgValue::Str("staging".into())),
            ("force".to_string(), ArgValue::Bool(false)),
            (
                "wait".to_string(),
                ArgValue::Duration(Duration::from_secs(300))
            ),
        ]
    );
    // Named values take their slot; positionals fill the rest in order.
    let got = typed("env=prod api v1.0.0 7 yes 90s --dry-run --reason \"roll it\"").unwrap();
    assert_eq!(got.get("env"), Some(&ArgValue::Str("prod".into())));
    assert_eq!(got.get("replicas"), Some(&ArgValue::Int(7)));
    assert_eq!(got.get("force"), Some(&ArgValue::Bool(true)));
    assert_eq!(got.get("wait").unwrap().to_string(), "90s");
    assert!(got.dry_run);
    assert_eq!(got.reason.as_deref(), Some("roll it"));
    let got = typed("version=v1.0.0 service=web token=hunter2 force=OFF").unwrap();
    assert_eq!(got.get("force"), Some(&ArgValue::Bool(false)));
    assert_eq!(
        got.as_strings()[..2],
        [
            ("service".to_string(), "web".to_string()),
            ("version".to_string(), "v1.0.0".to_string())
        ]
    );
    assert_eq!(
        got.redacted(&deploy()),
        serde_json::json!({
            "service": "web", "version": "v1.0.0", "env": "staging",
            "force": false, "wait": "5m", "token": "[redacted]"
        })
    );
}

#[test]
fn parse_args_errors() {
    let cases: &[(&str, &str, Option<&str>)] = &[
        (
            "api v1.0.0 prod 3 no 1m tok extra",
            "unexpected extra value `extra`: every argument already has a value",
            None,
        ),
        (
            "api v1.0.0 sevice=web",
            "there is no argument `sevice`; did you mean `service`?",
            Some("sevice"),
        ),
        (
            "api v1.0.0 colour=red",
            "there is no argument `colour`",
            Some("colour"),
        ),
        (
            "api v1.0.0 env=prod env=staging",
            "argument `env` is given more than once",
            Some("env"),
        ),
        ("api", "argument `version` is required", Some("version")),
        ("", "argument `service` is required", Some("service")),
        (
            "api v1.0.0 replicas=many",
            "argument `replicas`: `many` is not a whole number",
            Some("replicas"),
        ),
        (
            "api v1.0.0 replicas=0",
            "argument `replicas`: 0 is out of range: use 1 to 20",
            Some("replicas"),
        ),
        (
            "api v1.0.0 replicas=21",
            "argument `replicas`: 21 is out of range: use 1 to 20",
            Some("replicas"),
        ),
        (
            "api v1.0.0 force=maybe",
            "argument `force`: `maybe` is not yes or no (write true/false, yes/no, on/off or 1/0)",
            Some("force"),
        ),
        (
            "api v1.0.0 wait=soon",
            "argument `wait`: `soon` is not a duration (write 30s, 10m, 2h or 1d)",
            Some("wait"),
        ),
        (
            "db v1.0.0",
            "argument `service`: `db` is not one of api, web, worker",
            Some("service"),
        ),
        (
            "\"api; touch /tmp/x\" v1.0.0",
            "argument `service`: `api; touch /tmp/x` is not one of api, web, worker",
            Some("service"),
        ),
        (
            "api 1.2",
            "argument `version`: `1.2` does not match ^v\\d+\\.\\d+\\.\\d+$",
            Some("version"),
        ),
        (
            "api \"v1.0.0; rm -rf /\"",
            "argument `version`: `v1.0.0; rm -rf /` does not match ^v\\d+\\.\\d+\\.\\d+$",
            Some("version"),
        ),
        (
            "api v1.0.0 env=qa",
            "argument `env`: `qa` is not one of staging, prod",
            Some("env"),
        ),
        (
            "api v`1 ",
            "argument `version`: `v?1` does not match ^v\\d+\\.\\d+\\.\\d+$",
            Some("version"),
        ),
    ];
    for (input, message, arg) in cases {
        let err = typed(input).unwrap_err();
        assert_eq!(err.to_string(), *message, "{input}");
        assert_eq!(err.arg(), *arg, "{input}");
    }
    let mut spec = deploy();
    spec.dry_run = false;
    let raw = RawArgs {
        positional: toks(&["api", "v1.0.0"]),
        dry_run: true,
        ..RawArgs::default()
    };
    let err = parse_args(&spec, &raw).unwrap_err();
    assert_eq!(err.to_string(), "`deploy` does not support --dry-run");
    assert_eq!(err.arg(), None);
}

#[test]
fn errors_never_repeat_secrets_or_novels() {
    let mut spec = deploy();
    spec.args[6].pattern = Some(regex::Regex::new("^[a-f0-9]{8}$").unwrap());
    let raw = RawArgs {
        positional: toks(&["api", "v1.0.0"]),
        named: vec![("token".into(), "hunter2".into())],
        ..RawArgs::default()
    };
    let err = parse_args(&spec, &raw).unwrap_err().to_string();
    assert!(
        !err.contains("hunter2") && err.contains("[redacted]"),
        "{err}"
    );
    let long = "x".repeat(500);
    let err = typed(&format!("api {long}")).unwrap_err().to_string();
    assert!(err.len() < 200 && err.contains('…'), "{err}");
}

/// A secret `int` outside its range is refused without its number: the range error used to
/// repeat it (an invariant of the `typed_args` fuzz target).
#[test]
fn out_of_range_secret_numbers_are_not_repeated() {
    let mut spec = deploy();
    spec.args[3].secret = true;
    let raw = RawArgs {
        positional: toks(&["api", "v1.0.0"]),
        named: vec![("replicas".into(), "424242".into())],
        ..RawArgs::default()
    };
    let err = parse_args(&spec, &raw).unwrap_err();
    assert_eq!(
        err.to_string(),
        "argument `replicas`: [redacted] is out of range: use 1 to 20"
    );
    spec.args[3].secret = false;
    let err = parse_args(&spec, &raw).unwrap_err().to_string();
    assert_eq!(
        err,
        "argument `replicas`: 424242 is out of range: use 1 to 20"
    );
}

#[test]
fn patterns_match_whole_values() {
    let mut spec = deploy();
    spec.args[1].pattern = Some(regex::Regex::new("[a-z]+|v1").unwrap());
    let parse = |v: &str| {
        let raw = RawArgs {
            positional: toks(&["api", v]),
            ..RawArgs::default()
        };
        parse_args(&spec, &raw).is_ok()
    };
    assert!(parse("abc"));
    assert!(parse("v1"));
    assert!(!parse("abc; rm"));
    assert!(!parse("v12"));
}

#[test]
fn suggestions_are_only_for_close_names() {
    let spec = deploy();
    assert_eq!(suggest(&spec, "sevrice").as_deref(), Some("service"));
    assert_eq!(suggest(&spec, "evn").as_deref(), Some("env"));
    assert_eq!(suggest(&spec, "xyz"), None);
    assert_eq!(distance("kitten", "sitting"), 3);
}

#[test]
fn arg_value_display() {
    assert_eq!(ArgValue::Str("a b".into()).to_string(), "a b");
    assert_eq!(ArgValue::Int(-3).to_string(), "-3");
    assert_eq!(ArgValue::Bool(true).to_string(), "true");
    assert_eq!(
        ArgValue::Duration(Duration::from_secs(600)).to_string(),
        "10m"
    );
}

#[test]
fn usage_and_describe() {
    let mut spec = deploy();
    spec.args.truncate(3);
    assert_eq!(
        usage(&spec, "/ops"),
        "/ops deploy <service:api|web|worker> <version> [env=staging|prod] [--dry-run] [--reason \"…\"]"
    );
    assert_eq!(
        usage(&spec, "/deploy"),
        "/deploy <service:api|web|worker> <version> [env=staging|prod] [--dry-run] [--reason \"…\"]"
    );
    let full = deploy();
    assert!(
        usage(&full, "/ops").contains("[replicas=int] [force=bool] [wait=duration] [token=token]")
    );
    let help = describe(&full, "/ops");
    for needle in [
        "deploy — Deploy a service version",
        "Usage: /ops deploy <service:api|web|worker>",
        "  service (choice, one of api, web, worker, required): The service",
        "  version (string, matching ^v\\d+\\.\\d+\\.\\d+$, required)",
        "  env (choice, one of staging, prod, default staging)",
        "  replicas (int, 1 to 20, optional)",
        "  token (string, optional, secret)",
        "Role: operator or above",
        "Environment: the value of `env`",
        "Risk: low",
        "Approval: when env is prod, 2 approvals from group:sre-leads within 30m; requesters cannot approve their own requests",
    ] {
        assert!(help.contains(needle), "{needle}\n---\n{help}");
    }
}

/// A free string placed in the path of an http action's URL cannot be empty, `.` or `..`
/// (the request would reach another path than the plan shows); the same value elsewhere in
/// the URL, or a value merely containing dots, is fine.
#[test]
fn url_path_values_cannot_be_dot_segments() {
    let spec = crate::commands::load::load_str(
        Path::new("fetch.toml"),
        r#"
name = "fetch"
summary = "Fetch a report"
role = "viewer"
[[args]]
name = "team"
type = "string"
[[args]]
name = "report"
type = "string"
default = "latest"
[[args]]
name = "note"
type = "string"
default = "none"
[action]
type = "http"
method = "GET"
url = "https://reports.internal/teams/{{team}}/reports/{{report}}?note={{note}}"
"#,
    )
    .unwrap();
    let parse = |named: &[(&str, &str)]| {
        parse_args(
            &spec,
            &RawArgs {
                named: named
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
                ..RawArgs::default()
            },
        )
    };
    let refused = |name: &str| {
        Err(ArgError::DotSegment {
            name: name.to_string(),
        })
    };
    type Case<'a> = (Vec<(&'a str, &'a str)>, Result<(), ArgError>);
    let cases: Vec<Case<'_>> = vec![
        (vec![("team", "web"), ("note", "..")], Ok(())),
        (vec![("team", "web.eu"), ("report", "...")], Ok(())),
        (vec![("team", "../admin")], Ok(())),
        (vec![("team", "..")], refused("team")),
        (vec![("team", ".")], refused("team")),
        (vec![("team", "")], refused("team")),
        (vec![("team", "web"), ("report", "..")], refused("report")),
        (vec![("team", "web"), ("report", "")], refused("report")),
    ];
    for (named, want) in cases {
        assert_eq!(parse(&named).map(|_| ()), want, "{named:?}");
    }
    assert_eq!(
        refused("team").unwrap_err().to_string(),
        "argument `team`: a value placed in the URL path cannot be empty, `.` or `..`"
    );
}
