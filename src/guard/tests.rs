//! `why` against the real path: a table of cases run through both, which must agree on every
//! verdict (SPEC §17: the guard stays one function).

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::explain::{BindingState, Outcome};
use super::{next_step, prepare, Context, Next, Prepared, Step};
use crate::chat::{ArgsInput, Invocation};
use crate::commands::load::load_str;
use crate::commands::Registry;
use crate::config::{parse_directory, Binding, Directory};
use crate::model::{Platform, PlatformUser, Role, Subject};
use crate::policy::rate;

const DIRECTORY: &str = r#"
[tenants.acme]
slack_team = "T01"
breakglass = ["group:oncall"]

[people.vic]
slack = "T01/UVIC"
[people.olga]
slack = "T01/UOLGA"
[people.exp]
slack = "T01/UEXP"
[people.bea]
slack = "T01/UBEA"
[people.rob]
slack = "T01/UROB"
[people.pat]
slack = "T01/UPAT"

[groups]
everyone = ["vic", "olga", "exp", "bea", "rob", "pat"]
oncall = ["bea"]

[[bindings]]
subject = "group:everyone"
tenant = "acme"
role = "viewer"

[[bindings]]
subject = "olga"
tenant = "acme"
role = "operator"
environments = ["staging"]

[[bindings]]
subject = "exp"
tenant = "acme"
role = "operator"
environments = ["prod"]
expires = "2026-01-01T00:00:00Z"

[[bindings]]
subject = "rob"
tenant = "acme"
role = "operator"

[[bindings]]
subject = "pat"
tenant = "acme"
role = "operator"
environments = ["staging", "prod"]
"#;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

fn registry() -> Registry {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("commands");
    let specs = ["deploy", "restart", "status"]
        .iter()
        .map(|name| {
            let path = root.join(format!("{name}.toml"));
            load_str(&path, &std::fs::read_to_string(&path).unwrap()).unwrap()
        })
        .collect();
    Registry::from_specs(specs).unwrap()
}

/// Bea's break-glass grant, as the database hands it to the guard.
fn breakglass() -> Vec<Binding> {
    vec![Binding {
        subject: Subject::Person("bea".into()),
        tenant: "acme".into(),
        role: Role::Operator,
        environments: vec!["*".into()],
        expires: Some(now() + Duration::minutes(30)),
        source: "B-1 (breakglass)".into(),
    }]
}

fn invocation(user: &str, command: &str, text: &str) -> Invocation {
    let user = PlatformUser {
        platform: Platform::Slack,
        workspace: "T01".into(),
        user: user.into(),
    };
    Invocation {
        request_id: "test".into(),
        transport: crate::chat::Transport::Http,
        platform: Platform::Slack,
        workspace: "T01".into(),
        user,
        user_name: None,
        channel: Some("slack:C01".into()),
        command: command.into(),
        input: ArgsInput::Text(text.into()),
        replay_key: None,
        reply: None,
        thread: None,
    }
}

/// The real path's verdict: the stateless steps, the rate limit decided with `uses` in the
/// window (as the writer's transaction decides it), then the later steps.
fn real(ctx: &Context<'_>, inv: &Invocation, uses: u32) -> Outcome {
    match prepare(ctx, inv, now()) {
        Prepared::Refused(refusal) => Outcome::Refused(refusal.step),
        Prepared::Accepted(accepted) => {
            if let Some(limit) = accepted.spec.rate_limit {
                let oldest = Some(now() - Duration::minutes(1));
                if rate::check(&limit, uses, oldest, now()).is_err() {
                    return Outcome::Refused(Step::RateLimit);
                }
            }
            Outcome::Accepted(next_step(&accepted, false))
        }
        _ => Outcome::Builtin,
    }
}

#[test]
fn why_agrees_with_the_real_path() {
    let directory: Directory = parse_directory(Path::new("warden.toml"), DIRECTORY).unwrap();
    let registry = registry();
    let runtime = breakglass();
    let ctx = Context {
        directory: &directory,
        registry: &registry,
        root: "/ops",
        runtime_bindings: &runtime,
        can_seal: true,
        help_cache: None,
    };
    // (case, user, command and arguments, uses in the rate window, expected verdict, words
    // the answer must contain)
    type Case<'a> = (&'a str, &'a str, &'a str, u32, Outcome, &'a [&'a str]);
    let cases: &[Case] = &[
        (
            "viewer",
            "UVIC",
            "restart api env=staging",
            0,
            Outcome::Refused(Step::Authorize),
            &["role too low", "access request operator env=staging"],
        ),
        (
            "operator outside the environment",
            "UOLGA",
            "restart api env=prod",
            0,
            Outcome::Refused(Step::Authorize),
            &[
                "does not cover this environment",
                "access request operator env=prod",
            ],
        ),
        (
            "expired binding",
            "UEXP",
            "restart api env=prod",
            0,
            Outcome::Refused(Step::Authorize),
            &["until 2026-01-01 00:00 UTC): expired"],
        ),
        (
            "break-glass grant",
            "UBEA",
            "restart api env=staging",
            0,
            Outcome::Accepted(Next::Run),
            &["B-1 (breakglass)", "matched", "Next: you can run it."],
        ),
        (
            "rate limit exhausted",
            "UROB",
            "restart api env=staging",
            6,
            Outcome::Refused(Step::RateLimit),
            &["rate_limit: REFUSED", "Next: wait"],
        ),
        (
            "rate limit not yet reached",
            "UROB",
            "restart api env=staging",
            5,
            Outcome::Accepted(Next::Run),
            &["1 use left of 6/1h"],
        ),
        (
            "approval needed",
            "UPAT",
            "restart api env=prod",
            0,
            Outcome::Accepted(Next::NeedsApproval),
            &[
                "approval: needed: 1 approval from anyone with admin",
                "may not approve",
            ],
        ),
        (
            "unknown argument",
            "UOLGA",
            "restart api env=staging colour=red",
            0,
            Outcome::Refused(Step::Args),
            &["args: REFUSED", "authorize: not reached"],
        ),
        (
            "high risk asks to confirm",
            "UOLGA",
            "deploy api v1.2.3",
            0,
            Outcome::Accepted(Next::Confirm),
            &["confirmation: needed"],
        ),
        (
            "a dry run needs neither",
            "UPAT",
            "deploy api v1.2.3 env=prod --dry-run",
            0,
            Outcome::Accepted(Next::Run),
            &["approval: not needed", "dry run"],
        ),
        (
            "unknown command",
            "UOLGA",
            "restat api",
            0,
            Outcome::Refused(Step::Command),
            &[
                "command: REFUSED",
                "args: not reached",
                "Did you mean `restart`",
            ],
        ),
        (
            "a built-in",
            "UVIC",
            "whoami",
            0,
            Outcome::Builtin,
            &["built-in"],
        ),
        (
            "an unlinked user",
            "UNOBODY",
            "status api",
            0,
            Outcome::Refused(Step::Authorize),
            &[
                "not linked to a person",
                "you have no bindings in this tenant",
            ],
        ),
    ];
    for (case, user, typed, uses, expect, words) in cases {
        let (command, rest) = typed.split_once(' ').unwrap_or((typed, ""));
        let got_real = real(&ctx, &invocation(user, command, rest), *uses);
        assert_eq!(got_real, *expect, "{case}: the real path");
        let Prepared::Why(mut why) = prepare(&ctx, &invocation(user, "why", typed), now()) else {
            panic!("{case}: `why` is answered by the guard");
        };
        why.count_uses(*uses, Some(now() - Duration::minutes(1)), now());
        assert_eq!(
            why.outcome(),
            got_real,
            "{case}: why disagrees with the real path"
        );
        let text = why.render("/ops");
        for word in *words {
            assert!(text.contains(word), "{case}: `{word}` missing from\n{text}");
        }
    }
}

#[test]
fn why_shows_only_the_callers_bindings() {
    let directory: Directory = parse_directory(Path::new("warden.toml"), DIRECTORY).unwrap();
    let registry = registry();
    let runtime = breakglass();
    let ctx = Context {
        directory: &directory,
        registry: &registry,
        root: "/ops",
        runtime_bindings: &runtime,
        can_seal: true,
        help_cache: None,
    };
    let Prepared::Why(why) = prepare(&ctx, &invocation("UOLGA", "why", "restart api"), now())
    else {
        panic!("why");
    };
    let sources: Vec<&str> = why
        .bindings
        .iter()
        .map(|l| l.binding.source.as_str())
        .collect();
    assert_eq!(sources.len(), 2, "{sources:?}");
    assert!(why
        .bindings
        .iter()
        .any(|l| l.state == BindingState::Matched && l.binding.role == Role::Operator));
    let text = why.render("/ops");
    assert!(!text.contains("B-1"), "{text}");
    assert!(!text.contains("prod ("), "{text}");
}

#[test]
fn why_without_a_command_is_refused_with_its_usage() {
    let directory: Directory = parse_directory(Path::new("warden.toml"), DIRECTORY).unwrap();
    let registry = registry();
    let ctx = Context {
        directory: &directory,
        registry: &registry,
        root: "/ops",
        runtime_bindings: &[],
        can_seal: true,
        help_cache: None,
    };
    match prepare(&ctx, &invocation("UOLGA", "why", "  "), now()) {
        Prepared::Refused(refusal) => {
            assert_eq!(refusal.step, Step::Args);
            assert!(refusal.message.contains("why COMMAND"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn why_offers_break_glass_only_to_those_who_may_use_it() {
    let directory: Directory = parse_directory(Path::new("warden.toml"), DIRECTORY).unwrap();
    let registry = registry();
    let ctx = Context {
        directory: &directory,
        registry: &registry,
        root: "/ops",
        runtime_bindings: &[],
        can_seal: true,
        help_cache: None,
    };
    for (user, offered) in [("UBEA", true), ("UVIC", false)] {
        let inv = invocation(user, "why", "restart api env=prod");
        let Prepared::Why(why) = prepare(&ctx, &inv, now()) else {
            panic!("why");
        };
        let text = why.render("/ops");
        assert_eq!(
            text.contains("`/ops access breakglass operator --reason \"…\"`"),
            offered,
            "{user}: {text}"
        );
    }
}

/// The cached `help` list is the list: for every kind of caller (viewer, operator in one
/// environment, operator in two, expired grant, break-glass), twice each, the answer through
/// the cache equals the answer built afresh, and callers with different roles see different
/// lists.
#[test]
fn cached_help_is_the_same_list_per_role_set() {
    let directory: Directory = parse_directory(Path::new("warden.toml"), DIRECTORY).unwrap();
    let registry = registry();
    let runtime = breakglass();
    let cache = super::HelpCache::default();
    let ctx = |help_cache| Context {
        directory: &directory,
        registry: &registry,
        root: "/ops",
        runtime_bindings: &runtime,
        can_seal: true,
        help_cache,
    };
    let help =
        |ctx: &Context<'_>, user: &str| match prepare(ctx, &invocation(user, "help", ""), now()) {
            Prepared::Builtin(answer) => answer.text,
            other => panic!("{other:?}"),
        };
    let users = ["UVIC", "UOLGA", "UEXP", "UBEA", "UPAT"];
    for _ in 0..2 {
        for user in users {
            assert_eq!(
                help(&ctx(Some(&cache)), user),
                help(&ctx(None), user),
                "{user}"
            );
        }
    }
    // Vic and Exp hold the same grants now (Exp's operator grant expired): one list for both.
    assert_eq!(cache.len(), users.len() - 1);
    assert_ne!(help(&ctx(None), "UVIC"), help(&ctx(None), "UPAT"));
}
