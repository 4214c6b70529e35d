//! Table-driven tests of the approvals module: the rule and who may decide (`policy`), clicks
//! (`decide`), the plan hash (`plan`), the request message (`render`) and `access` (`access`).

use super::*;
use crate::model::{Platform, PlatformUser, Role};
use crate::policy::{Grant, Principal};

mod access;
mod decide;
mod plan;
mod policy;
mod props;
mod render;

/// A rule needing `needed` approvals from `approvers` or the `role`.
fn rule(needed: u32, approvers: &[&str], role: Option<&str>, allow_self: bool) -> Policy {
    Policy {
        needed,
        approvers: approvers.iter().map(|s| s.to_string()).collect(),
        approver_role: role.map(str::to_string),
        allow_self,
        thread: true,
        remind: true,
    }
}

/// A Slack principal in `acme`, linked to `person` (if any) in `groups`.
fn principal(user: &str, person: Option<&str>, groups: &[&str]) -> Principal {
    Principal {
        tenant: "acme".into(),
        user: PlatformUser {
            platform: Platform::Slack,
            workspace: "T01".into(),
            user: user.into(),
        },
        person: person.map(str::to_string),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        display: person.unwrap_or(user).to_string(),
    }
}

/// A grant of `role` in `envs`.
fn grant(role: Role, envs: &[&str]) -> Grant {
    Grant {
        role,
        environments: envs.iter().map(|e| e.to_string()).collect(),
        expires: None,
        source: "test".into(),
    }
}

/// A vote by `voter` at 12:MM UTC on 2026-06-01.
fn vote(voter: &str, decision: Decision, minute: u32) -> Vote {
    Vote {
        voter: voter.into(),
        decision,
        at: format!("2026-06-01T12:{minute:02}:00Z"),
    }
}

#[test]
fn ids_round_trip() {
    assert_eq!(display_id(17), "A-17");
    let cases = [
        ("A-17", Some(17)),
        ("a-17", Some(17)),
        ("17", Some(17)),
        (" A-17 ", Some(17)),
        ("A-0", None),
        ("A--1", None),
        ("A-+1", None),
        ("J-17", None),
        ("A-", None),
        ("", None),
    ];
    for (input, want) in cases {
        assert_eq!(parse_id(input), want, "{input:?}");
    }
}

#[test]
fn names_round_trip() {
    for status in Status::ALL {
        assert_eq!(Status::parse(status.as_str()), Some(status));
        assert_eq!(status.to_string(), status.as_str());
    }
    assert_eq!(Status::parse("Pending"), None);
    for decision in [Decision::Approve, Decision::Deny] {
        assert_eq!(Decision::parse(decision.as_str()), Some(decision));
    }
    assert_eq!(Decision::parse("approved"), None);
    let v = vote("bob", Decision::Deny, 1);
    let json = serde_json::to_string(&v).unwrap();
    assert_eq!(
        json,
        r#"{"voter":"bob","decision":"deny","at":"2026-06-01T12:01:00Z"}"#
    );
    assert_eq!(serde_json::from_str::<Vote>(&json).unwrap(), v);
}
