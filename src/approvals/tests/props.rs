//! Property tests: no sequence of clicks, in any order, by anyone, yields two approvals of one
//! request, or any decision after the request ended.

use proptest::prelude::*;

use super::*;

/// One click: who (an index into a small cast, so repeats happen), Approve or Deny, whether
/// they may decide, and from which tenant.
fn click() -> impl Strategy<Value = (usize, bool, bool, bool)> {
    (
        0usize..5,
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.9),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_sequence_of_votes_yields_two_approvals(
        needed in 1u32..4,
        allow_self in any::<bool>(),
        clicks in prop::collection::vec(click(), 0..40),
    ) {
        let cast = ["ann", "ben", "cleo", "dan", "eve"];
        let rule = rule(needed, &["group:x"], None, allow_self);
        let mut status = Status::Pending;
        let mut votes: Vec<Vote> = Vec::new();
        let mut approved = 0;
        for (who, approve, may, same_tenant) in clicks {
            let request = Request {
                tenant: "acme",
                requester: "ann",
                status,
                policy: &rule,
                environment: None,
                expires_ms: i64::MAX,
                votes: &votes,
            };
            let decision = if approve { Decision::Approve } else { Decision::Deny };
            let tenant = if same_tenant { "acme" } else { "globex" };
            let may = if may { Ok(()) } else { Err("no".to_string()) };
            let ended = status != Status::Pending;
            match decide(&request, tenant, cast[who], may, decision, 0) {
                Outcome::Refused(_) => {}
                outcome => {
                    prop_assert!(!ended, "a decision after the end: {outcome:?}");
                    prop_assert!(!votes.iter().any(|v| v.voter == cast[who]), "a second vote");
                    votes.push(Vote { voter: cast[who].into(), decision, at: String::new() });
                    match outcome {
                        Outcome::Approved { approvers } => {
                            approved += 1;
                            prop_assert_eq!(approvers.len() as u32, needed);
                            status = Status::Approved;
                        }
                        Outcome::Denied => status = Status::Denied,
                        Outcome::Counted { approvals, needed: n } => {
                            prop_assert!(approvals < n);
                        }
                        Outcome::Refused(_) => unreachable!(),
                    }
                }
            }
        }
        prop_assert!(approved <= 1);
    }
}
