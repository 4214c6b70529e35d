//! The approval rule frozen with a request, and whether a principal may decide under it.

use serde::{Deserialize, Serialize};

use crate::commands::spec::ApprovalSpec;
use crate::model::{Role, Subject};
use crate::policy::{authorize, Grant, Principal};

/// The approval rule frozen when the request was made. It is stored with the request as JSON,
/// so a later edit of the command file cannot change who may approve a pending request.
///
/// Subjects and the role are kept as strings because this is a storage format: the JSON stays
/// readable and stable even if the in-memory types change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// How many distinct approvals are needed (at least 1).
    pub needed: u32,
    /// Who may approve, as subject strings (`alice`, `group:sre-leads`, `slack:T01/U01`).
    pub approvers: Vec<String>,
    /// Anyone holding at least this role (by name) in the request's environment may approve.
    pub approver_role: Option<String>,
    /// Whether the requester may approve their own request.
    pub allow_self: bool,
}

impl Policy {
    /// Freezes a command's `[approval]` rule.
    pub fn from_spec(spec: &ApprovalSpec) -> Policy {
        Policy {
            needed: spec.approvals.max(1),
            approvers: spec.approvers.iter().map(Subject::to_string).collect(),
            approver_role: spec.approver_role.map(|r| r.as_str().to_string()),
            allow_self: spec.allow_self,
        }
    }

    /// The rule in words, e.g. `2 approvals from group:sre-leads or anyone with admin`.
    pub fn describe(&self) -> String {
        let needed = self.needed.max(1);
        let noun = if needed == 1 { "approval" } else { "approvals" };
        let mut who: Vec<String> = self.approvers.clone();
        if let Some(role) = &self.approver_role {
            who.push(format!("anyone with {role}"));
        }
        let mut text = match who.split_last() {
            None => format!("{needed} {noun} from nobody (no approvers are configured)"),
            Some((last, [])) => format!("{needed} {noun} from {last}"),
            Some((last, rest)) => format!("{needed} {noun} from {} or {last}", rest.join(", ")),
        };
        if self.allow_self {
            text.push_str("; the requester may approve too");
        }
        text
    }

    /// The approvers that parse as subjects. Entries that do not parse are skipped: the loader
    /// validated them when the rule was frozen, so this only guards against a damaged row, and
    /// a damaged entry must never match anyone.
    fn subjects(&self) -> impl Iterator<Item = Subject> + '_ {
        self.approvers.iter().filter_map(|s| s.parse().ok())
    }

    /// The approver role, when it names a known role (same reasoning as [`Policy::subjects`]).
    fn role(&self) -> Option<Role> {
        self.approver_role.as_deref().and_then(|r| r.parse().ok())
    }
}

/// Whether `principal`, with the `grants` in force now in the approval's tenant, may approve
/// or deny under `policy` for `environment`: they match one of the approvers, or hold at least
/// the approver role in that environment. `Err` carries the reason, told to the clicker.
///
/// The same check serves Approve and Deny: letting anyone deny would let anyone block a change.
pub fn may_decide(
    policy: &Policy,
    principal: &Principal,
    grants: &[Grant],
    environment: Option<&str>,
) -> Result<(), String> {
    if policy.subjects().any(|s| principal.is(&s)) {
        return Ok(());
    }
    let role_refusal = match policy.role() {
        Some(role) => match authorize(grants, role, environment) {
            Ok(_) => return Ok(()),
            Err(denied) => Some(denied.to_string()),
        },
        None => None,
    };
    Err(match (policy.approvers.is_empty(), role_refusal) {
        (true, Some(why)) => format!("you may not decide on this request: {why}"),
        (false, Some(why)) => format!(
            "you may not decide on this request: you are not one of {}, and {why}",
            policy.approvers.join(", ")
        ),
        (false, None) => format!(
            "you may not decide on this request: only {} may",
            policy.approvers.join(", ")
        ),
        (true, None) => "nobody may decide on this request: its rule names no approvers".into(),
    })
}
