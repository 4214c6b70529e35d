//! One click at a time: each refusal in the documented order, counting, quorum, deny, expiry.

use super::*;

const EXPIRES: i64 = 1_000_000;
const BEFORE: i64 = EXPIRES - 1;

fn request<'a>(policy: &'a Policy, status: Status, votes: &'a [Vote]) -> Request<'a> {
    Request {
        tenant: "acme",
        requester: "alice",
        status,
        policy,
        environment: Some("prod"),
        expires_ms: EXPIRES,
        votes,
    }
}

fn refused(r: Refusal) -> Outcome {
    Outcome::Refused(r)
}

fn approved(names: &[&str]) -> Outcome {
    Outcome::Approved {
        approvers: names.iter().map(|n| n.to_string()).collect(),
    }
}

#[test]
fn clicks() {
    use Decision::{Approve, Deny};
    let two = rule(2, &["group:sre"], None, false);
    let one = rule(1, &["group:sre"], None, false);
    let own = rule(1, &["group:sre"], None, true);
    let none: &[Vote] = &[];
    let bob = [vote("bob", Approve, 1)];
    let bob_twice = [vote("bob", Approve, 1), vote("bob", Approve, 2)];
    let why = "you may not decide on this request: only group:sre may".to_string();
    let no: Result<(), String> = Err(why.clone());
    let not_approver = Refusal::NotAnApprover(why);
    // (rule, status, votes, click tenant, voter, may, decision, now, expected)
    type Case<'a> = (
        &'a Policy,
        Status,
        &'a [Vote],
        &'a str,
        &'a str,
        Result<(), String>,
        Decision,
        i64,
        Outcome,
    );
    let three = rule(3, &[], None, false);
    let ok = || Ok(());
    // One row per click reads as a table; rustfmt would spread each row over eleven lines.
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        // Each refusal, and that it wins over every later one.
        (&two, Status::Approved, none, "globex", "alice", no.clone(), Approve, EXPIRES, refused(Refusal::OtherTenant)),
        (&two, Status::Approved, none, "acme", "alice", no.clone(), Approve, EXPIRES, refused(Refusal::NotPending(Status::Approved))),
        (&two, Status::Denied, none, "acme", "bob", ok(), Deny, BEFORE, refused(Refusal::NotPending(Status::Denied))),
        (&two, Status::Expired, none, "acme", "bob", ok(), Approve, BEFORE, refused(Refusal::NotPending(Status::Expired))),
        (&two, Status::Stale, none, "acme", "bob", ok(), Approve, BEFORE, refused(Refusal::NotPending(Status::Stale))),
        (&two, Status::Pending, &bob, "acme", "bob", no.clone(), Approve, EXPIRES, refused(Refusal::Expired)),
        (&two, Status::Pending, &bob, "acme", "alice", no.clone(), Approve, BEFORE, refused(not_approver.clone())),
        (&two, Status::Pending, none, "acme", "alice", ok(), Approve, BEFORE, refused(Refusal::SelfApproval)),
        (&two, Status::Pending, none, "acme", "alice", ok(), Deny, BEFORE, refused(Refusal::SelfApproval)),
        (&two, Status::Pending, &bob, "acme", "bob", ok(), Approve, BEFORE, refused(Refusal::AlreadyVoted)),
        (&two, Status::Pending, &bob, "acme", "bob", ok(), Deny, BEFORE, refused(Refusal::AlreadyVoted)),
        // The expiry boundary: the last millisecond before still counts.
        (&two, Status::Pending, none, "acme", "bob", ok(), Approve, BEFORE, Outcome::Counted { approvals: 1, needed: 2 }),
        (&two, Status::Pending, none, "acme", "bob", ok(), Approve, EXPIRES, refused(Refusal::Expired)),
        (&two, Status::Pending, none, "acme", "bob", ok(), Approve, EXPIRES + 1, refused(Refusal::Expired)),
        // Quorum at N.
        (&one, Status::Pending, none, "acme", "bob", ok(), Approve, BEFORE, approved(&["bob"])),
        (&two, Status::Pending, &bob, "acme", "carol", ok(), Approve, BEFORE, approved(&["bob", "carol"])),
        // A stored duplicate counts once.
        (&two, Status::Pending, &bob_twice, "acme", "carol", ok(), Approve, BEFORE, approved(&["bob", "carol"])),
        (&three, Status::Pending, &bob_twice, "acme", "carol", ok(), Approve, BEFORE, Outcome::Counted { approvals: 2, needed: 3 }),
        // A deny ends it, whatever the count.
        (&two, Status::Pending, &bob, "acme", "carol", ok(), Deny, BEFORE, Outcome::Denied),
        (&one, Status::Pending, none, "acme", "carol", ok(), Deny, BEFORE, Outcome::Denied),
        // Self-approval only with allow_self, and still only for an approver.
        (&own, Status::Pending, none, "acme", "alice", ok(), Approve, BEFORE, approved(&["alice"])),
        (&own, Status::Pending, none, "acme", "alice", no.clone(), Approve, BEFORE, refused(not_approver.clone())),
    ];
    for (i, (policy, status, votes, tenant, voter, may, decision, now, want)) in
        cases.into_iter().enumerate()
    {
        let got = decide(
            &request(policy, status, votes),
            tenant,
            voter,
            may,
            decision,
            now,
        );
        assert_eq!(got, want, "case {i}");
    }
}

#[test]
fn one_person_on_two_platforms_votes_once() {
    // The service names a voter by their person, so Slack and Discord clicks give the same
    // name; the second one is refused and the count does not move.
    let two = rule(2, &["group:sre"], None, false);
    let mut votes = Vec::new();
    let first = decide(
        &request(&two, Status::Pending, &votes),
        "acme",
        "bob",
        Ok(()),
        Decision::Approve,
        BEFORE,
    );
    assert_eq!(
        first,
        Outcome::Counted {
            approvals: 1,
            needed: 2
        }
    );
    votes.push(vote("bob", Decision::Approve, 1));
    let again = decide(
        &request(&two, Status::Pending, &votes),
        "acme",
        "bob",
        Ok(()),
        Decision::Approve,
        BEFORE,
    );
    assert_eq!(again, refused(Refusal::AlreadyVoted));
    let other = decide(
        &request(&two, Status::Pending, &votes),
        "acme",
        "carol",
        Ok(()),
        Decision::Approve,
        BEFORE,
    );
    assert_eq!(other, approved(&["bob", "carol"]));
}

#[test]
fn refusals_read_as_sentences() {
    let cases = [
        (
            Refusal::NotAnApprover("you may not".into()),
            "you may not",
            "not_an_approver",
        ),
        (
            Refusal::SelfApproval,
            "you asked for this, so someone else has to approve it",
            "self_approval",
        ),
        (
            Refusal::AlreadyVoted,
            "you have already voted on this request",
            "already_voted",
        ),
        (
            Refusal::NotPending(Status::Denied),
            "this request is already denied",
            "not_pending",
        ),
        (
            Refusal::Expired,
            "this request has expired; ask again if it is still needed",
            "expired",
        ),
        (
            Refusal::OtherTenant,
            "there is no such approval request here",
            "other_tenant",
        ),
    ];
    for (refusal, text, code) in cases {
        assert_eq!(refusal.to_string(), text);
        assert_eq!(refusal.code(), code);
    }
}
