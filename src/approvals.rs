//! Approvals: the rule frozen with a request ([`Policy`]), who may decide ([`may_decide`]), what
//! one click does ([`decide`]), the hash approvers sign off on ([`plan_hash`]), the request
//! message ([`request_message`]) and the `access` built-in's arguments ([`parse_access`]).
//!
//! Architecture invariant: nothing here does IO, reads the clock or imports axum, sqlx or
//! reqwest. The service loads the request and its votes, passes them in with `now`, and applies
//! the [`Outcome`] in one transaction (a compare-and-set on the status, so that the N-th
//! approval creates the job exactly once however many clicks race). That keeps every rule here
//! table-testable.

use std::fmt;

use serde::{Deserialize, Serialize};

mod access;
mod plan;
mod policy;
mod render;
mod vote;

#[cfg(test)]
mod tests;

pub use access::{may_breakglass, parse_access, AccessAction, ACCESS_USAGE};
pub use plan::plan_hash;
pub use policy::{covered_environments, may_decide, Policy};
pub use render::{request_message, RequestView};
pub use vote::{decide, Outcome, Refusal, Request};

/// Where an approval request stands. Only `Pending` accepts votes; the others are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting for votes.
    Pending,
    /// The quorum was reached.
    Approved,
    /// Someone denied it.
    Denied,
    /// Nobody decided before it expired.
    Expired,
    /// Approved, but the command, arguments or plan changed since, so nothing was run.
    Stale,
}

impl Status {
    /// Every status, in the order a request can move through them.
    pub const ALL: [Status; 5] = [
        Status::Pending,
        Status::Approved,
        Status::Denied,
        Status::Expired,
        Status::Stale,
    ];

    /// The name stored in the database and shown in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Denied => "denied",
            Status::Expired => "expired",
            Status::Stale => "stale",
        }
    }

    /// The status for a stored name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|status| status.as_str() == s)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a voter clicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The Approve button.
    Approve,
    /// The Deny button (with a reason asked for in a modal).
    Deny,
}

impl Decision {
    /// The name stored with a vote: `approve` or `deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Deny => "deny",
        }
    }

    /// The decision for a stored name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Decision> {
        match s {
            "approve" => Some(Decision::Approve),
            "deny" => Some(Decision::Deny),
            _ => None,
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One recorded vote on a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// The actor name: the person when the identity is linked to one, else the platform
    /// identity. Votes are distinct per name, so one person on two platforms votes once.
    pub voter: String,
    /// Approve or deny.
    pub decision: Decision,
    /// When the vote was cast, RFC 3339.
    pub at: String,
}

/// The id as people see it: `A-17`.
pub fn display_id(id: i64) -> String {
    format!("A-{id}")
}

/// Parses `A-17` (or `a-17`, or a bare `17`) into 17; `None` for anything else or a
/// non-positive id.
pub fn parse_id(s: &str) -> Option<i64> {
    let s = s.trim();
    let digits = s
        .strip_prefix("A-")
        .or_else(|| s.strip_prefix("a-"))
        .unwrap_or(s);
    // `i64::from_str` accepts a leading `+`, which is not an id anyone typed on purpose.
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|id| *id > 0)
}
