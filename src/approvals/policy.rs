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
    /// Whether the request's story is told in a thread under its card (SPEC §13). Requests
    /// stored before threads existed read as `true`, like every new one by default.
    #[serde(default = "yes")]
    pub thread: bool,
    /// Whether the approvers are reminded once at half of the request's life.
    #[serde(default = "yes")]
    pub remind: bool,
}

fn yes() -> bool {
    true
}

impl Policy {
    /// Freezes a command's `[approval]` rule, with how the command wants its conversation
    /// told (`thread`, `remind`).
    pub fn from_spec(spec: &ApprovalSpec, thread: bool, remind: bool) -> Policy {
        Policy {
            needed: spec.approvals.max(1),
            approvers: spec.approvers.iter().map(Subject::to_string).collect(),
            approver_role: spec.approver_role.map(|r| r.as_str().to_string()),
            allow_self: spec.allow_self,
            thread,
            remind,
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

/// The environments an approval request covers, each of which an approver deciding by role
/// must hold the role in. An access request covers the environments it grants (`*` when it
/// names none); a command request covers its environment, and one without an environment
/// covers every environment (`*`), because its action is not confined to any one of them.
pub fn covered_environments(
    kind: &str,
    environment: Option<&str>,
    args: &[(String, String)],
) -> Vec<String> {
    let listed: Vec<String> = if kind == "access" {
        args.iter()
            .find(|(name, _)| name == "environments")
            .map(|(_, list)| {
                list.split(',')
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    } else {
        environment.map(|e| vec![e.to_string()]).unwrap_or_default()
    };
    // An empty list must never mean "no environment to check": it means all of them.
    if listed.is_empty() || listed.iter().any(|e| e == "*") {
        vec!["*".to_string()]
    } else {
        listed
    }
}

/// Whether `principal`, with the `grants` in force now in the approval's tenant, may approve
/// or deny under `policy` a request covering `environments` (see [`covered_environments`]):
/// they match one of the approvers, or hold at least the approver role in every one of those
/// environments (`*` is covered only by a grant in `*`). `Err` carries the reason, told to the
/// clicker.
///
/// Holding the role in one environment is not enough to decide on a request that reaches
/// further: otherwise an admin of `staging` could approve an admin grant everywhere, and the
/// new admin approve the first one's in return.
///
/// The same check serves Approve and Deny: letting anyone deny would let anyone block a change.
pub fn may_decide(
    policy: &Policy,
    principal: &Principal,
    grants: &[Grant],
    environments: &[String],
) -> Result<(), String> {
    if policy.subjects().any(|s| principal.is(&s)) {
        return Ok(());
    }
    let role_refusal = match policy.role() {
        Some(role) => match role_in_every(grants, role, environments) {
            Ok(()) => return Ok(()),
            Err(why) => Some(why),
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

/// `Ok` when `grants` hold `role` in each of `environments`, else why not, for the first
/// environment that is not covered.
fn role_in_every(grants: &[Grant], role: Role, environments: &[String]) -> Result<(), String> {
    let wide = ["*".to_string()];
    let environments = if environments.is_empty() {
        &wide[..]
    } else {
        environments
    };
    for env in environments {
        if let Err(denied) = authorize(grants, role, Some(env)) {
            if env == "*" {
                return Err(match denied.held {
                    Some(held) => format!(
                        "this request covers every environment, so you need the `{role}` role in `*`; you have `{held}` there"
                    ),
                    None => format!(
                        "this request covers every environment, so you need the `{role}` role in `*`, and no grant of yours covers `*`"
                    ),
                });
            }
            return Err(denied.to_string());
        }
    }
    Ok(())
}
