//! The built-in commands the guard answers itself: `help` and `whoami`.

use crate::commands::args::{self, RawArgs};
use crate::commands::Registry;
use crate::policy::{self, Grant, Principal};

use super::Context;

/// `help` lists the commands the caller may run; `help NAME` describes one command. The list
/// comes from the service's cache when the context has one (`help_cache.rs`).
pub(super) fn help(ctx: &Context<'_>, tenant: &str, grants: &[Grant], raw: &RawArgs) -> String {
    let wanted = raw.positional.first().cloned().or_else(|| {
        raw.named
            .iter()
            .find(|(k, _)| k == "command")
            .map(|(_, v)| v.clone())
    });
    if let Some(name) = wanted {
        return match ctx.registry.get(&name) {
            Some(spec) => {
                let mut text = args::describe(spec, ctx.root);
                let envs = spec.possible_environments();
                if !policy::may_run(grants, spec.role, envs.as_deref()) {
                    text.push_str(&format!(
                        "\nYou may not run it: it needs the `{}` role.",
                        spec.role
                    ));
                }
                text
            }
            None if ["help", "whoami", "why", "dashboard"].contains(&name.as_str()) => {
                builtin_usage(ctx.root, &name)
            }
            None => format!(
                "There is no command `{name}`. Type `{} help` for the commands you may run.",
                ctx.root
            ),
        };
    }
    match ctx.help_cache {
        Some(cache) => cache
            .get_or_render(tenant, grants, || help_list(ctx, grants))
            .to_string(),
        None => help_list(ctx, grants),
    }
}

/// The list `help` answers: the built-ins, then every command the grants may run.
fn help_list(ctx: &Context<'_>, grants: &[Grant]) -> String {
    let mut lines = vec!["Commands you may run:".to_string()];
    lines.push(format!(
        "`{} help [COMMAND]`: this list, or one command's usage",
        ctx.root
    ));
    lines.push(format!(
        "`{} whoami`: who warden thinks you are, and your roles",
        ctx.root
    ));
    lines.push(format!(
        "`{} why COMMAND [args…]`: why a command would or would not run for you, and what to do",
        ctx.root
    ));
    lines.push(format!(
        "`{} jobs [show|cancel|retry J-42]`: recent jobs, one job, or act on it",
        ctx.root
    ));
    lines.push(format!(
        "`{} approvals`: pending approval requests you can decide",
        ctx.root
    ));
    if !grants.is_empty() {
        lines.push(format!(
            "`{} audit [COMMAND] [actor=…] [kind=…] [since=24h] [last=50]`: search this tenant's audit log",
            ctx.root
        ));
    }
    lines.push(format!(
        "`{} access request|breakglass|revoke|list`: time-boxed roles",
        ctx.root
    ));
    if !grants.is_empty() {
        lines.push(format!(
            "`{} schedules`: this tenant's scheduled commands, paused or not, last and next runs",
            ctx.root
        ));
        lines.push(format!(
            "`{} dashboard`: a private link to this tenant's live dashboard (read-only)",
            ctx.root
        ));
    }
    let mut hidden = 0;
    for spec in ctx.registry.iter() {
        let envs = spec.possible_environments();
        if policy::may_run(grants, spec.role, envs.as_deref()) {
            lines.push(format!("`{} {}`: {}", ctx.root, spec.name, spec.summary));
        } else {
            hidden += 1;
        }
    }
    if hidden > 0 {
        lines.push(format!(
            "({hidden} more need a role you do not have; `{} whoami` shows yours.)",
            ctx.root
        ));
    }
    lines.join("\n")
}

fn builtin_usage(root: &str, name: &str) -> String {
    match name {
        "help" => format!(
            "`{root} help [COMMAND]`: lists the commands you may run, or shows one command's usage."
        ),
        "why" => format!(
            "`{root} why COMMAND [args…]`: runs the guard's steps for that command without running it, shows each step's verdict and your bindings, and says what would let you run it."
        ),
        "dashboard" => format!(
            "`{root} dashboard`: answers you alone with a signed link (valid 12 h at most) to this tenant's live dashboard: running and recent jobs, pending approvals, the latest audit events. Read-only: actions stay in chat."
        ),
        _ => format!("`{root} whoami`: shows your identity, tenant, groups and roles."),
    }
}

/// `whoami`: identity, tenant, groups and roles.
pub(super) fn whoami(principal: &Principal, grants: &[Grant]) -> String {
    let mut lines = vec![format!(
        "You are {} ({}) in tenant `{}`.",
        principal.display, principal.user, principal.tenant
    )];
    if principal.person.is_none() {
        lines.push("This identity is not linked to a person in warden.toml.".to_string());
    }
    if !principal.groups.is_empty() {
        lines.push(format!("Groups: {}.", principal.groups.join(", ")));
    }
    let roles = policy::roles_summary(grants);
    if roles.is_empty() {
        lines.push("Roles: none in this tenant.".to_string());
    } else {
        lines.push(format!("Roles: {}.", roles.join("; ")));
    }
    lines.join("\n")
}

/// Parses the arguments of the `jobs` built-in.
pub(super) fn parse_jobs(raw: &RawArgs) -> Result<super::JobsAction, String> {
    use super::JobsAction;
    let words: Vec<&str> = raw.positional.iter().map(String::as_str).collect();
    let id = |word: Option<&&str>| {
        word.and_then(|w| crate::jobs::parse_id(w))
            .ok_or_else(|| "name the job, e.g. `J-42`".to_string())
    };
    match words.first() {
        None | Some(&"list") if words.len() <= 1 => Ok(JobsAction::List),
        Some(&"show") if words.len() == 2 => id(words.get(1)).map(JobsAction::Show),
        Some(&"cancel") if words.len() == 2 => id(words.get(1)).map(JobsAction::Cancel),
        Some(&"retry") if words.len() == 2 => id(words.get(1)).map(JobsAction::Retry),
        Some(word) if crate::jobs::parse_id(word).is_some() && words.len() == 1 => {
            id(words.first()).map(JobsAction::Show)
        }
        _ => Err(format!("`jobs {}` is not a jobs command", words.join(" "))),
    }
}

/// The registered command closest to a mistyped name, if one is close enough to suggest.
pub(super) fn closest_command(registry: &Registry, typed: &str) -> Option<String> {
    registry
        .iter()
        .map(|spec| spec.name.as_str())
        .chain(["help", "whoami", "why", "dashboard"])
        .map(|name| (edit_distance(name, typed), name))
        .filter(|(d, name)| *d <= 2.max(name.len() / 3))
        .min()
        .map(|(_, name)| name.to_string())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::edit_distance;

    #[test]
    fn distances() {
        for (a, b, d) in [
            ("deploy", "deploy", 0),
            ("deploy", "depoly", 2),
            ("", "abc", 3),
            ("scale", "scal", 1),
        ] {
            assert_eq!(edit_distance(a, b), d, "{a} {b}");
        }
    }
}
