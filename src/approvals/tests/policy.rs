//! The frozen rule and who may decide under it.

use std::time::Duration;

use super::*;
use crate::commands::spec::ApprovalSpec;
use crate::model::Subject;

#[test]
fn from_spec_freezes_the_rule_as_json() {
    let spec = ApprovalSpec {
        when: Vec::new(),
        approvals: 2,
        approvers: vec![
            Subject::Group("sre-leads".into()),
            "slack:T01/U9".parse().unwrap(),
        ],
        approver_role: Some(Role::Admin),
        allow_self: false,
        expires_in: Duration::from_secs(1800),
    };
    let policy = Policy::from_spec(&spec, true, true);
    assert_eq!(
        policy,
        rule(
            2,
            &["group:sre-leads", "slack:T01/U9"],
            Some("admin"),
            false
        )
    );
    let json = serde_json::to_string(&policy).unwrap();
    assert_eq!(
        json,
        r#"{"needed":2,"approvers":["group:sre-leads","slack:T01/U9"],"approver_role":"admin","allow_self":false,"thread":true,"remind":true}"#
    );
    assert_eq!(serde_json::from_str::<Policy>(&json).unwrap(), policy);
    // A rule frozen before threads existed reads as threaded, with a reminder.
    let old = r#"{"needed":2,"approvers":["group:sre-leads","slack:T01/U9"],"approver_role":"admin","allow_self":false}"#;
    assert_eq!(serde_json::from_str::<Policy>(old).unwrap(), policy);
}

#[test]
fn describe() {
    let cases = [
        (
            rule(2, &["group:sre-leads"], Some("admin"), false),
            "2 approvals from group:sre-leads or anyone with admin",
        ),
        (rule(1, &["alice"], None, false), "1 approval from alice"),
        (
            rule(1, &[], Some("operator"), true),
            "1 approval from anyone with operator; the requester may approve too",
        ),
        (
            rule(3, &["alice", "bob", "group:sre"], None, false),
            "3 approvals from alice, bob or group:sre",
        ),
        (
            rule(1, &[], None, false),
            "1 approval from nobody (no approvers are configured)",
        ),
    ];
    for (policy, want) in cases {
        assert_eq!(policy.describe(), want);
    }
}

#[test]
fn who_may_decide() {
    let by_group = rule(1, &["group:sre-leads"], None, false);
    let by_person = rule(1, &["carol"], None, false);
    let by_user = rule(1, &["slack:T01/U7"], None, false);
    let by_role = rule(1, &[], Some("admin"), false);
    let either = rule(1, &["group:sre-leads"], Some("admin"), false);
    let damaged = rule(1, &["Not A Subject"], Some("root"), false);
    let lead = principal("U1", Some("dave"), &["sre-leads"]);
    let carol = principal("U2", Some("carol"), &[]);
    let raw = principal("U7", None, &[]);
    let admin_prod = [grant(Role::Admin, &["prod"])];
    let admin_all = [grant(Role::Admin, &["*"])];
    let operator_prod = [grant(Role::Operator, &["prod"])];
    // (rule, principal, grants, environment, Ok or the refusal)
    type Case<'a> = (
        &'a Policy,
        &'a Principal,
        &'a [Grant],
        Option<&'a str>,
        Result<(), &'a str>,
    );
    let cases: &[Case] = &[
        (&by_group, &lead, &[], Some("prod"), Ok(())),
        (
            &by_group,
            &carol,
            &admin_all,
            Some("prod"),
            Err("you may not decide on this request: only group:sre-leads may"),
        ),
        (&by_person, &carol, &[], None, Ok(())),
        (
            &by_person,
            &lead,
            &[],
            None,
            Err("you may not decide on this request: only carol may"),
        ),
        (&by_user, &raw, &[], None, Ok(())),
        (&by_role, &carol, &admin_prod, Some("prod"), Ok(())),
        (&by_role, &carol, &admin_all, Some("prod"), Ok(())),
        (
            &by_role,
            &carol,
            &admin_prod,
            None,
            Err("you may not decide on this request: this request covers every environment, so you need the `admin` role in `*`, and no grant of yours covers `*`"),
        ),
        (&by_role, &carol, &admin_all, None, Ok(())),
        (
            &by_role,
            &carol,
            &admin_prod,
            Some("staging"),
            Err("you may not decide on this request: you need the `admin` role in `staging`; you have no role there"),
        ),
        (
            &by_role,
            &carol,
            &operator_prod,
            Some("prod"),
            Err("you may not decide on this request: you need the `admin` role in `prod`; you have `operator` there"),
        ),
        (&either, &lead, &[], Some("prod"), Ok(())),
        (&either, &carol, &admin_prod, Some("prod"), Ok(())),
        (
            &either,
            &carol,
            &operator_prod,
            Some("prod"),
            Err("you may not decide on this request: you are not one of group:sre-leads, and you need the `admin` role in `prod`; you have `operator` there"),
        ),
        // A damaged row matches nobody, however powerful.
        (
            &damaged,
            &carol,
            &admin_all,
            Some("prod"),
            Err("you may not decide on this request: only Not A Subject may"),
        ),
        (
            &rule(1, &[], None, false),
            &carol,
            &admin_all,
            None,
            Err("nobody may decide on this request: its rule names no approvers"),
        ),
    ];
    for (i, (policy, who, grants, env, want)) in cases.iter().enumerate() {
        let scope = covered_environments("command", *env, &[]);
        let got = may_decide(policy, who, grants, &scope);
        assert_eq!(got, want.map_err(str::to_string), "case {i}");
    }
}

fn access_args(environments: &str) -> Vec<(String, String)> {
    vec![
        ("subject".to_string(), "eve".to_string()),
        ("role".to_string(), "admin".to_string()),
        ("environments".to_string(), environments.to_string()),
        ("seconds".to_string(), "3600".to_string()),
    ]
}

#[test]
fn covered_environments_never_come_out_empty() {
    let envs = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // (kind, environment, arguments, covered)
    type Case<'a> = (&'a str, Option<&'a str>, Vec<(String, String)>, Vec<String>);
    let cases: &[Case] = &[
        ("command", Some("prod"), vec![], envs(&["prod"])),
        ("command", None, vec![], envs(&["*"])),
        ("access", None, access_args("*"), envs(&["*"])),
        (
            "access",
            None,
            access_args("staging,prod"),
            envs(&["staging", "prod"]),
        ),
        (
            "access",
            Some("staging"),
            access_args("staging"),
            envs(&["staging"]),
        ),
        // A damaged access row without its list covers everything, never nothing.
        ("access", None, vec![], envs(&["*"])),
        ("access", None, access_args(""), envs(&["*"])),
    ];
    for (kind, env, args, want) in cases {
        assert_eq!(
            &covered_environments(kind, *env, args),
            want,
            "{kind} {env:?} {args:?}"
        );
    }
}

/// The escalation this guards against: an admin bound only in `staging` approving an admin
/// grant in every environment (and the new admin returning the favour).
#[test]
fn deciding_by_role_needs_the_role_in_every_covered_environment() {
    let by_role = rule(1, &[], Some("admin"), false);
    let carol = principal("U2", Some("carol"), &[]);
    let admin_staging = [grant(Role::Admin, &["staging"])];
    let admin_both = [
        grant(Role::Admin, &["staging"]),
        grant(Role::Admin, &["prod"]),
    ];
    let admin_all = [grant(Role::Admin, &["*"])];
    let operator_all_admin_staging = [
        grant(Role::Operator, &["*"]),
        grant(Role::Admin, &["staging"]),
    ];
    let wide = covered_environments("access", None, &access_args("*"));
    let two = covered_environments("access", None, &access_args("staging,prod"));
    let no_env_command = covered_environments("command", None, &[]);
    type Case<'a> = (&'a [Grant], &'a [String], Result<(), &'a str>);
    let cases: &[Case] = &[
        (&admin_staging, &wide, Err("you may not decide on this request: this request covers every environment, so you need the `admin` role in `*`, and no grant of yours covers `*`")),
        (&operator_all_admin_staging, &wide, Err("you may not decide on this request: this request covers every environment, so you need the `admin` role in `*`; you have `operator` there")),
        (&admin_both, &wide, Err("you may not decide on this request: this request covers every environment, so you need the `admin` role in `*`, and no grant of yours covers `*`")),
        (&admin_all, &wide, Ok(())),
        (&admin_staging, &two, Err("you may not decide on this request: you need the `admin` role in `prod`; you have no role there")),
        (&admin_both, &two, Ok(())),
        (&admin_all, &two, Ok(())),
        (&admin_staging, &no_env_command, Err("you may not decide on this request: this request covers every environment, so you need the `admin` role in `*`, and no grant of yours covers `*`")),
        (&admin_all, &no_env_command, Ok(())),
    ];
    for (i, (grants, scope, want)) in cases.iter().enumerate() {
        let got = may_decide(&by_role, &carol, grants, scope);
        assert_eq!(got, want.map_err(str::to_string), "case {i}");
    }
    // A named approver decides whatever the scope: the command file chose them by name.
    let by_person = rule(1, &["carol"], None, false);
    assert_eq!(may_decide(&by_person, &carol, &[], &wide), Ok(()));
}

#[test]
fn breakglass_list() {
    let oncall = [Subject::Group("oncall".into())];
    let cases = [
        (
            &oncall[..],
            principal("U1", Some("dave"), &["oncall"]),
            true,
        ),
        (&oncall[..], principal("U2", Some("carol"), &["sre"]), false),
        (&oncall[..], principal("U3", None, &[]), false),
        (&[][..], principal("U1", Some("dave"), &["oncall"]), false),
    ];
    for (list, who, want) in cases {
        assert_eq!(may_breakglass(list, &who), want, "{}", who.display);
    }
}
