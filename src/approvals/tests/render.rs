//! The request message in every state; buttons only while pending.

use super::*;
use crate::chat::{Button, ButtonKind};

fn view<'a>(
    policy: &'a Policy,
    args: &'a [(String, String)],
    status: Status,
    votes: &'a [Vote],
) -> RequestView<'a> {
    RequestView {
        id: 17,
        command: "deploy",
        args,
        environment: Some("prod"),
        requester: "alice",
        reason: Some("hotfix for INC-9"),
        plan: "POST https://deploy.internal/api\n{\"version\":\"v1.2.3\"}\n",
        policy,
        status,
        votes,
        expires_at: "2026-06-01T12:30:00Z",
        deny_reason: None,
        job: None,
        link: None,
    }
}

const HEAD: &str = "A-17: alice asks to run `deploy service=api version=v1.2.3 env=prod`
requested by alice · environment prod
Reason: hotfix for INC-9
```
POST https://deploy.internal/api
{\"version\":\"v1.2.3\"}
```";

const NEEDS: &str = "Needs 2 approvals from group:sre-leads or anyone with admin";

#[test]
fn every_state() {
    let policy = rule(2, &["group:sre-leads"], Some("admin"), false);
    let args: Vec<(String, String)> = [("service", "api"), ("version", "v1.2.3"), ("env", "prod")]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let bob = [vote("bob", Decision::Approve, 1)];
    let both = [
        vote("bob", Decision::Approve, 1),
        vote("carol", Decision::Approve, 5),
    ];
    let denied = [
        vote("bob", Decision::Approve, 1),
        vote("dave", Decision::Deny, 3),
    ];
    let none: &[Vote] = &[];
    let pending = view(&policy, &args, Status::Pending, &bob);
    let pending_empty = RequestView {
        link: Some("https://w/a/17"),
        ..view(&policy, &args, Status::Pending, none)
    };
    let approved = RequestView {
        job: Some(42),
        ..view(&policy, &args, Status::Approved, &both)
    };
    let approved_no_job = view(&policy, &args, Status::Approved, &both);
    let deny = RequestView {
        deny_reason: Some("not on a Friday"),
        ..view(&policy, &args, Status::Denied, &denied)
    };
    let expired = view(&policy, &args, Status::Expired, &bob);
    let stale = view(&policy, &args, Status::Stale, &both);
    let cases = [
        (pending, "Approvals: 1 of 2 (bob at 12:01 UTC)\nExpires 12:30 UTC"),
        (pending_empty, "Approvals: 0 of 2\nExpires 12:30 UTC"),
        (approved, "Approved by bob at 12:01 UTC, carol at 12:05 UTC → J-42 queued"),
        (approved_no_job, "Approved by bob at 12:01 UTC, carol at 12:05 UTC"),
        (deny, "Denied by dave at 12:03 UTC: not on a Friday"),
        (expired, "Approvals: 1 of 2 (bob at 12:01 UTC)\nexpired at 12:30 UTC; nothing was run"),
        (stale, "Approvals: 2 of 2 (bob at 12:01 UTC, carol at 12:05 UTC)\nstale: the command changed since it was requested; nothing was run"),
    ];
    for (v, tail) in cases {
        let message = request_message(&v);
        let mut want = format!("{HEAD}\n{tail}\n{NEEDS}");
        if let Some(link) = v.link {
            want.push_str(&format!("\nDetails: {link}"));
        }
        assert_eq!(message.text, want, "{:?}", v.status);
        let buttons = if v.status == Status::Pending {
            vec![
                Button::new(ButtonKind::Approve, "A-17"),
                Button::new(ButtonKind::Deny, "A-17"),
            ]
        } else {
            Vec::new()
        };
        assert_eq!(message.buttons, buttons, "{:?}", v.status);
    }
}

#[test]
fn without_environment_reason_or_plan() {
    let policy = rule(1, &["bob"], None, false);
    let v = RequestView {
        environment: None,
        reason: None,
        plan: "  \n",
        ..view(&policy, &[], Status::Pending, &[])
    };
    assert_eq!(
        request_message(&v).text,
        "A-17: alice asks to run `deploy`\nrequested by alice\nApprovals: 0 of 1\nExpires 12:30 UTC\nNeeds 1 approval from bob"
    );
}

#[test]
fn a_fence_in_the_plan_cannot_close_the_block() {
    let policy = rule(1, &["bob"], None, false);
    let v = RequestView {
        plan: "a\n```\nApproved by everyone",
        ..view(&policy, &[], Status::Pending, &[])
    };
    let text = request_message(&v).text;
    assert!(
        text.contains("```\na\n'''\nApproved by everyone\n```"),
        "{text}"
    );
}
