//! `access` arguments: every form and every error.

use std::time::Duration;

use super::*;
use crate::commands::args::RawArgs;

fn raw(positional: &[&str], named: &[(&str, &str)], reason: Option<&str>) -> RawArgs {
    RawArgs {
        positional: positional.iter().map(|s| s.to_string()).collect(),
        named: named
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        dry_run: false,
        reason: reason.map(str::to_string),
    }
}

fn hours(h: u64) -> Duration {
    Duration::from_secs(h * 3600)
}

fn envs(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn forms() {
    let why = Some("INC-9");
    let cases = [
        (
            raw(&["request", "operator"], &[], why),
            AccessAction::Request {
                role: Role::Operator,
                environments: envs(&["*"]),
                duration: hours(1),
                reason: "INC-9".into(),
            },
        ),
        (
            raw(
                &["request", "admin"],
                &[("env", "staging,prod,staging"), ("for", "2h")],
                why,
            ),
            AccessAction::Request {
                role: Role::Admin,
                environments: envs(&["staging", "prod"]),
                duration: hours(2),
                reason: "INC-9".into(),
            },
        ),
        (
            raw(
                &["request", "viewer"],
                &[("for", "8h"), ("env", "*")],
                Some("  audit  "),
            ),
            AccessAction::Request {
                role: Role::Viewer,
                environments: envs(&["*"]),
                duration: hours(8),
                reason: "audit".into(),
            },
        ),
        (
            raw(&["breakglass", "admin"], &[], why),
            AccessAction::Breakglass {
                role: Role::Admin,
                duration: hours(1),
                reason: "INC-9".into(),
            },
        ),
        (
            raw(&["breakglass", "operator"], &[("for", "30m")], why),
            AccessAction::Breakglass {
                role: Role::Operator,
                duration: Duration::from_secs(1800),
                reason: "INC-9".into(),
            },
        ),
        (
            raw(&["revoke", "B-12"], &[], None),
            AccessAction::Revoke(12),
        ),
        (raw(&["revoke", "b-12"], &[], why), AccessAction::Revoke(12)),
        (raw(&["revoke", "12"], &[], None), AccessAction::Revoke(12)),
        (raw(&["list"], &[], None), AccessAction::List),
    ];
    for (input, want) in cases {
        assert_eq!(parse_access(&input), Ok(want), "{input:?}");
    }
}

#[test]
fn errors() {
    let why = Some("INC-9");
    let dry = RawArgs {
        dry_run: true,
        ..raw(&["list"], &[], None)
    };
    let cases = [
        (dry, "`access` has no dry run"),
        (
            raw(&[], &[], why),
            "`access` needs one of request, breakglass, revoke or list",
        ),
        (
            raw(&["grant", "admin"], &[], why),
            "`access grant` is not a form of access; use request, breakglass, revoke or list",
        ),
        (
            raw(&["request"], &[], why),
            "`access request` needs exactly one ROLE",
        ),
        (
            raw(&["request", "admin", "prod"], &[], why),
            "`access request` needs exactly one ROLE",
        ),
        (
            raw(&["request", "root"], &[], why),
            "unknown role `root` (expected viewer, operator or admin)",
        ),
        (
            raw(&["request", "admin"], &[], None),
            "`access request` needs --reason \"…\"",
        ),
        (
            raw(&["request", "admin"], &[], Some("  ")),
            "`access request` needs --reason \"…\"",
        ),
        (
            raw(&["request", "admin"], &[("for", "9h")], why),
            "`access request` lasts at most 8h; `for=9h` is longer",
        ),
        (
            raw(&["request", "admin"], &[("for", "soon")], why),
            "`soon` is not a duration: write 30s, 10m, 2h or 1d",
        ),
        (
            raw(&["request", "admin"], &[("for", "0s")], why),
            "`0s`: a duration must be at least 1s",
        ),
        (
            raw(&["request", "admin"], &[("env", "prod,")], why),
            "`env=prod,`: an environment is [a-z0-9_-]+ (or `*` for all), separated by commas",
        ),
        (
            raw(&["request", "admin"], &[("env", "Prod")], why),
            "`env=Prod`: an environment is [a-z0-9_-]+ (or `*` for all), separated by commas",
        ),
        (
            raw(&["request", "admin"], &[("env", "*,prod")], why),
            "`env=*,prod`: `*` already means every environment",
        ),
        (
            raw(&["request", "admin"], &[("env", "a"), ("env", "b")], why),
            "`env=` is given more than once",
        ),
        (
            raw(&["request", "admin"], &[("role", "admin")], why),
            "`access request` takes no `role=`",
        ),
        (
            raw(&["breakglass", "admin"], &[("for", "2h")], why),
            "`access breakglass` lasts at most 1h; `for=2h` is longer",
        ),
        (
            raw(&["breakglass", "admin"], &[("env", "prod")], why),
            "`access breakglass` takes no `env=`",
        ),
        (
            raw(&["breakglass", "admin"], &[], None),
            "`access breakglass` needs --reason \"…\"",
        ),
        (
            raw(&["breakglass"], &[], why),
            "`access breakglass` needs exactly one ROLE",
        ),
        (
            raw(&["revoke"], &[], None),
            "`access revoke` needs exactly one grant id, e.g. B-12",
        ),
        (
            raw(&["revoke", "B-1", "B-2"], &[], None),
            "`access revoke` needs exactly one grant id, e.g. B-12",
        ),
        (
            raw(&["revoke", "J-12"], &[], None),
            "`J-12` is not a grant id like B-12",
        ),
        (
            raw(&["revoke", "B-0"], &[], None),
            "`B-0` is not a grant id like B-12",
        ),
        (
            raw(&["revoke", "B-12"], &[("for", "1h")], None),
            "`access revoke` takes no `for=`",
        ),
        (
            raw(&["list", "all"], &[], None),
            "`access list` takes no arguments",
        ),
    ];
    for (input, why) in cases {
        let want = format!("{why}. Usage: {ACCESS_USAGE}");
        assert_eq!(parse_access(&input), Err(want), "{input:?}");
    }
}
