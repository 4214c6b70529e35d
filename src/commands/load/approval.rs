//! The `[approval]` of a command: when it applies, who may approve, how many approvals it needs
//! and how long it waits.

use super::ctx::Ctx;
use super::raw::{RawApproval, S};
use super::syntax::scalar_text;
use super::DEFAULT_EXPIRES_IN;
use crate::commands::spec::{ApprovalSpec, ArgSpec};
use crate::model::{Role, Subject};

pub(super) fn build_approval(
    ctx: &mut Ctx<'_>,
    raw: &S<RawApproval>,
    args: &[ArgSpec],
) -> Option<ApprovalSpec> {
    let header = raw.span();
    let raw = raw.get_ref();
    let mut when = Vec::new();
    for (key, value) in raw.when.iter().flatten() {
        let name = key.get_ref();
        let Some(arg) = args.iter().find(|a| &a.name == name) else {
            ctx.at(
                &key.span(),
                format!("approval `when` names `{name}`, but there is no argument `{name}`"),
            );
            continue;
        };
        // A condition on an absent value would silently skip approval.
        if !arg.required && arg.default.is_none() {
            ctx.at(
                &key.span(),
                format!("approval `when` uses `{name}`, which must be required or have a default"),
            );
        }
        let items: Vec<toml::Value> = match value.get_ref() {
            toml::Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        if items.is_empty() {
            ctx.at(
                &value.span(),
                format!("approval `when` lists no values for `{name}`"),
            );
        }
        let mut values = Vec::new();
        for item in &items {
            match scalar_text(item).map(|t| arg.parse_value(&t)) {
                Some(Ok(v)) => values.push(v.to_string()),
                Some(Err(err)) => ctx.at(&value.span(), format!("approval `when`: {err}")),
                None => ctx.at(
                    &value.span(),
                    format!("approval `when` values for `{name}` must be strings, numbers or true/false"),
                ),
            }
        }
        when.push((name.clone(), values));
    }

    let approvals = match &raw.approvals {
        None => 1,
        Some(a) => match u32::try_from(*a.get_ref()) {
            Ok(n) if n >= 1 => n,
            _ => {
                ctx.at(&a.span(), "approvals must be at least 1");
                1
            }
        },
    };
    let mut approvers = Vec::new();
    for approver in raw.approvers.iter().flatten() {
        if let Some(subject) = ctx.parse::<Subject>(approver) {
            if approvers.contains(&subject) {
                ctx.at(
                    &approver.span(),
                    format!("approver `{subject}` is listed twice"),
                );
            } else {
                approvers.push(subject);
            }
        }
    }
    let approver_role = raw
        .approver_role
        .as_ref()
        .and_then(|r| ctx.parse::<Role>(r));
    if raw.approvers.as_ref().is_none_or(|a| a.is_empty()) && raw.approver_role.is_none() {
        ctx.at(
            &header,
            "approval needs `approvers`, `approver_role` or both",
        );
    }
    // Individually named people are the only approvers whose number is known here; groups and
    // roles can grow, so only an all-individuals list can be shown to be too short.
    let all_individuals = approver_role.is_none()
        && !approvers.is_empty()
        && approvers.iter().all(|s| !matches!(s, Subject::Group(_)));
    if all_individuals && approvals as usize > approvers.len() {
        if let Some(a) = &raw.approvals {
            ctx.at(
                &a.span(),
                format!(
                    "approvals = {approvals} can never be reached: only {} approvers are listed",
                    approvers.len()
                ),
            );
        }
    }
    let expires_in = ctx.duration("expires_in", &raw.expires_in, DEFAULT_EXPIRES_IN);
    Some(ApprovalSpec {
        when,
        approvals,
        approvers,
        approver_role,
        allow_self: raw.allow_self.unwrap_or(false),
        expires_in,
    })
}
