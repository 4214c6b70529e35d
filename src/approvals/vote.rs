//! What one Approve or Deny click does to a request.

use thiserror::Error;

use super::{Decision, Status, Vote};

/// What the service knows about a request when a click arrives.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The tenant the request belongs to.
    pub tenant: &'a str,
    /// The actor name of who asked.
    pub requester: &'a str,
    /// Where it stands.
    pub status: Status,
    /// The rule frozen when it was made.
    pub policy: &'a super::Policy,
    /// The environment of the command, if it has one.
    pub environment: Option<&'a str>,
    /// When it expires, Unix milliseconds.
    pub expires_ms: i64,
    /// The votes so far, oldest first.
    pub votes: &'a [Vote],
}

/// Why a click was refused. Told to the clicker alone and audited as `approval.refused`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    /// The clicker is neither a listed approver nor holds the approver role; the reason says
    /// which.
    #[error("{0}")]
    NotAnApprover(String),
    /// The requester clicked on their own request and the rule does not allow that.
    #[error("you asked for this, so someone else has to approve it")]
    SelfApproval,
    /// The clicker has already voted (from this or another platform).
    #[error("you have already voted on this request")]
    AlreadyVoted,
    /// The request was already decided.
    #[error("this request is already {0}")]
    NotPending(Status),
    /// The request expired before the click.
    #[error("this request has expired; ask again if it is still needed")]
    Expired,
    /// The click came from a workspace of another tenant. The sentence says no more than
    /// "not found", so that ids of other tenants cannot be probed.
    #[error("there is no such approval request here")]
    OtherTenant,
}

impl Refusal {
    /// A stable code for audit records and metrics, e.g. `self_approval`.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotAnApprover(_) => "not_an_approver",
            Refusal::SelfApproval => "self_approval",
            Refusal::AlreadyVoted => "already_voted",
            Refusal::NotPending(_) => "not_pending",
            Refusal::Expired => "expired",
            Refusal::OtherTenant => "other_tenant",
        }
    }
}

/// What one click does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Refused, and why (told to the clicker alone, audited as `approval.refused`).
    Refused(Refusal),
    /// A vote was counted; `approvals` distinct approvals so far of `needed`.
    Counted {
        /// Distinct approvals including this one.
        approvals: u32,
        /// Approvals the rule needs.
        needed: u32,
    },
    /// This vote completes the quorum: the request is approved. The service then checks the
    /// plan hash and creates the job in the same transaction, compare-and-set on the status.
    Approved {
        /// The distinct approvers, in the order they voted, this voter last.
        approvers: Vec<String>,
    },
    /// A deny ends the request at once.
    Denied,
}

/// Decides one click by `voter` (an actor name) from a workspace of `click_tenant`. `may` is
/// the result of [`super::may_decide`] for the clicker, computed by the caller because it
/// needs the grants in force now.
///
/// Checks, in this order: other tenant, not pending, expired (`now_ms >= expires_ms`), may
/// decide, self-approval (unless `allow_self`), already voted (either decision), then count.
/// The order puts facts about the request before facts about the clicker, so everyone clicking
/// a finished request hears the same thing.
pub fn decide(
    request: &Request<'_>,
    click_tenant: &str,
    voter: &str,
    may: Result<(), String>,
    decision: Decision,
    now_ms: i64,
) -> Outcome {
    let refused = |why| Outcome::Refused(why);
    if click_tenant != request.tenant {
        return refused(Refusal::OtherTenant);
    }
    if request.status != Status::Pending {
        return refused(Refusal::NotPending(request.status));
    }
    if now_ms >= request.expires_ms {
        return refused(Refusal::Expired);
    }
    if let Err(why) = may {
        return refused(Refusal::NotAnApprover(why));
    }
    if voter == request.requester && !request.policy.allow_self {
        return refused(Refusal::SelfApproval);
    }
    if request.votes.iter().any(|v| v.voter == voter) {
        return refused(Refusal::AlreadyVoted);
    }
    if decision == Decision::Deny {
        return Outcome::Denied;
    }
    let mut approvers: Vec<String> = Vec::new();
    let earlier = request
        .votes
        .iter()
        .filter(|v| v.decision == Decision::Approve)
        .map(|v| v.voter.as_str());
    for name in earlier.chain([voter]) {
        // A stored duplicate (which the checks above prevent) must still count once.
        if !approvers.iter().any(|a| a == name) {
            approvers.push(name.to_string());
        }
    }
    let needed = request.policy.needed.max(1);
    let approvals = u32::try_from(approvers.len()).unwrap_or(u32::MAX);
    if approvals >= needed {
        Outcome::Approved { approvers }
    } else {
        Outcome::Counted { approvals, needed }
    }
}
