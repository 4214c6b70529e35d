//! The one-line usage of a command and the longer text shown by `help NAME`.

use crate::commands::spec::{ArgSpec, ArgType, CommandSpec, EnvScope};
use crate::model::format_duration;

/// How an argument's value is shown in usage lines.
fn value_hint(arg: &ArgSpec) -> String {
    match arg.kind {
        ArgType::Choice => arg.choices.join("|"),
        ArgType::String => arg.name.clone(),
        other => other.as_str().to_string(),
    }
}

/// The one-line usage of a command, e.g.
/// `/ops deploy <service:api|web|worker> <version> [env=staging|prod] [--dry-run] [--reason "…"]`.
/// When `root` is the command's own slash command, the name is not repeated after it.
pub fn usage(spec: &CommandSpec, root: &str) -> String {
    let mut parts = vec![root.to_string()];
    if spec.slash_command.as_deref() != Some(root) {
        parts.push(spec.name.clone());
    }
    parts.push(arguments_usage(spec));
    parts.join(" ")
}

/// The arguments part of [`usage`], without the command: what Slack shows after a dedicated
/// slash command as its usage hint (Slack prints the command itself).
pub fn arguments_usage(spec: &CommandSpec) -> String {
    let mut parts = Vec::new();
    for arg in &spec.args {
        parts.push(match (arg.required, arg.kind) {
            (true, ArgType::String) => format!("<{}>", arg.name),
            (true, _) => format!("<{}:{}>", arg.name, value_hint(arg)),
            (false, _) => format!("[{}={}]", arg.name, value_hint(arg)),
        });
    }
    if spec.dry_run {
        parts.push("[--dry-run]".to_string());
    }
    parts.push("[--reason \"…\"]".to_string());
    parts.join(" ")
}

/// The multi-line help shown by `help NAME`: summary, usage, arguments, who may run it, where,
/// how risky it is and when it needs approval.
pub fn describe(spec: &CommandSpec, root: &str) -> String {
    let mut out = format!(
        "{} — {}\nUsage: {}\n",
        spec.name,
        spec.summary,
        usage(spec, root)
    );
    if let Some(description) = &spec.description {
        out.push_str(&format!("{}\n", description.trim_end()));
    }
    if !spec.args.is_empty() {
        out.push_str("Arguments:\n");
        for arg in &spec.args {
            let mut facts = vec![arg.kind.as_str().to_string()];
            if arg.kind == ArgType::Choice {
                facts.push(format!("one of {}", arg.choices.join(", ")));
            }
            if let Some(pattern) = &arg.pattern {
                facts.push(format!("matching {}", pattern.as_str()));
            }
            match (arg.min, arg.max) {
                (Some(lo), Some(hi)) => facts.push(format!("{lo} to {hi}")),
                (Some(lo), None) => facts.push(format!("at least {lo}")),
                (None, Some(hi)) => facts.push(format!("at most {hi}")),
                (None, None) => {}
            }
            match (&arg.default, arg.required) {
                (Some(default), _) => facts.push(format!("default {default}")),
                (None, true) => facts.push("required".to_string()),
                (None, false) => facts.push("optional".to_string()),
            }
            if arg.secret {
                facts.push("secret".to_string());
            }
            out.push_str(&format!("  {} ({})", arg.name, facts.join(", ")));
            if let Some(description) = &arg.description {
                out.push_str(&format!(": {description}"));
            }
            out.push('\n');
        }
    }
    out.push_str(&format!("Role: {} or above\n", spec.role));
    match &spec.environment {
        Some(EnvScope::Literal(env)) => out.push_str(&format!("Environment: {env}\n")),
        Some(EnvScope::Arg(name)) => out.push_str(&format!("Environment: the value of `{name}`\n")),
        None => {}
    }
    out.push_str(&format!("Risk: {}\n", spec.risk));
    if let Some(approval) = &spec.approval {
        let count = match approval.approvals {
            1 => "1 approval".to_string(),
            n => format!("{n} approvals"),
        };
        let mut from: Vec<String> = approval.approvers.iter().map(|s| s.to_string()).collect();
        if let Some(role) = approval.approver_role {
            from.push(format!("anyone with role {role} or above"));
        }
        let when = if approval.when.is_empty() {
            "always".to_string()
        } else {
            let conditions: Vec<String> = approval
                .when
                .iter()
                .map(|(name, values)| format!("{name} is {}", values.join(" or ")))
                .collect();
            format!("when {}", conditions.join(" and "))
        };
        let own = if approval.allow_self {
            "; requesters may approve their own requests"
        } else {
            "; requesters cannot approve their own requests"
        };
        out.push_str(&format!(
            "Approval: {when}, {count} from {} within {}{own}\n",
            from.join(", "),
            format_duration(approval.expires_in)
        ));
    }
    out
}
