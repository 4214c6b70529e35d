//! The command itself: name, summary, slash command, role, risk, limits and environment, and the
//! assembly of the [`CommandSpec`] from all its parts.

use super::action::build_action;
use super::approval::build_approval;
use super::arg::build_args;
use super::ctx::Ctx;
use super::limits;
use super::raw::{RawCommand, S};
use super::syntax::{is_command_name, is_slash_command};
use super::{DEFAULT_TIMEOUT, MAX_RETRIES};
use crate::commands::registry;
use crate::commands::spec::{ArgSpec, ArgType, CommandSpec, EnvScope, Risk};
use crate::commands::template;
use crate::model::{ChannelRef, RateLimit, Role};

/// Builds the spec, recording problems in `ctx`. Returns `None` only when a part without any
/// sensible stand-in is missing; callers must look at `ctx.problems` regardless.
pub(super) fn build(ctx: &mut Ctx<'_>, raw: RawCommand) -> Option<CommandSpec> {
    let dry_run = raw.dry_run.unwrap_or(false);

    let mut line = 1;
    let name = match &raw.name {
        None => {
            ctx.at_line(1, "missing `name`");
            String::new()
        }
        Some(name) => {
            line = ctx.line(&name.span());
            let n = name.get_ref();
            if !is_command_name(n) {
                ctx.at(
                    &name.span(),
                    format!("command name `{n}` must be lowercase letters, digits and `-`, starting with a letter"),
                );
            } else if registry::is_reserved(n) {
                ctx.at(
                    &name.span(),
                    format!("`{n}` is the name of a built-in command; choose another name"),
                );
            }
            n.clone()
        }
    };

    let summary = match &raw.summary {
        None => {
            ctx.at_line(1, "missing `summary`");
            String::new()
        }
        Some(s) if s.get_ref().trim().is_empty() || s.get_ref().contains('\n') => {
            ctx.at(&s.span(), "summary must be one non-empty line");
            String::new()
        }
        Some(s) => s.get_ref().trim().to_string(),
    };

    limits::check_command(ctx, raw.name.as_ref(), raw.summary.as_ref());
    limits::check_option_count(ctx, &raw.args, dry_run);

    let slash_command = raw.command.as_ref().and_then(|c| {
        if let Some(problem) = limits::slash_command_problem(c.get_ref()) {
            ctx.at(&c.span(), problem);
            None
        } else if is_slash_command(c.get_ref()) {
            Some(c.get_ref().clone())
        } else {
            ctx.at(
                &c.span(),
                format!(
                    "command `{}` is not a slash command: write `/` and lowercase letters, digits, `-` or `_`",
                    c.get_ref()
                ),
            );
            None
        }
    });

    let role = match &raw.role {
        None => {
            ctx.at_line(1, "missing `role` (viewer, operator or admin)");
            None
        }
        Some(r) => ctx.parse::<Role>(r),
    };

    let risk = raw
        .risk
        .as_ref()
        .and_then(|r| ctx.parse::<Risk>(r))
        .unwrap_or_default();

    let rate_limit = raw
        .rate_limit
        .as_ref()
        .and_then(|r| ctx.parse::<RateLimit>(r));
    let timeout = ctx.duration("timeout", &raw.timeout, DEFAULT_TIMEOUT);
    let retries = match &raw.retries {
        None => 0,
        Some(r) if *r.get_ref() > MAX_RETRIES => {
            ctx.at(&r.span(), format!("retries must be at most {MAX_RETRIES}"));
            0
        }
        Some(r) => *r.get_ref(),
    };
    let alert_channel = raw
        .alert_channel
        .as_ref()
        .and_then(|c| ctx.parse::<ChannelRef>(c));

    let args = build_args(ctx, &raw.args);
    let environment = raw
        .environment
        .as_ref()
        .and_then(|e| build_environment(ctx, e, &args));
    let approval = raw
        .approval
        .as_ref()
        .and_then(|a| build_approval(ctx, a, &args));
    let action = match &raw.action {
        None => {
            ctx.at_line(1, "missing `[action]`");
            None
        }
        Some(a) => build_action(ctx, a, &args, dry_run),
    };

    Some(CommandSpec {
        name,
        summary,
        description: raw.description.filter(|d| !d.trim().is_empty()),
        slash_command,
        role: role?,
        environment,
        risk,
        dry_run,
        rate_limit,
        timeout,
        retries,
        alert_channel,
        args,
        approval,
        thread: raw.thread.unwrap_or(true),
        remind: raw.remind.unwrap_or(true),
        action: action?,
        file: ctx.file.to_path_buf(),
        line,
    })
}

fn build_environment(ctx: &mut Ctx<'_>, env: &S<String>, args: &[ArgSpec]) -> Option<EnvScope> {
    let value = env.get_ref();
    if !value.contains("{{") {
        if crate::model::is_name(value) {
            return Some(EnvScope::Literal(value.clone()));
        }
        ctx.at(
            &env.span(),
            format!("environment `{value}` must be a name like prod, or one argument like \"{{{{env}}}}\""),
        );
        return None;
    }
    let refs = match template::parse(value) {
        Ok(segments) => segments,
        Err(err) => {
            ctx.at(&env.span(), format!("environment: {err}"));
            return None;
        }
    };
    let [template::Segment::Ref(name)] = refs.as_slice() else {
        ctx.at(
            &env.span(),
            format!("environment `{value}` must be exactly one argument like \"{{{{env}}}}\", with nothing around it"),
        );
        return None;
    };
    let Some(arg) = args.iter().find(|a| a.name == *name) else {
        ctx.at(
            &env.span(),
            format!("environment uses `{{{{{name}}}}}`, but there is no argument `{name}`"),
        );
        return None;
    };
    let mut ok = true;
    if !matches!(arg.kind, ArgType::Choice | ArgType::String) {
        ctx.at(
            &env.span(),
            format!(
                "environment argument `{name}` must be a choice (or a string), not {}",
                arg.kind
            ),
        );
        ok = false;
    }
    if arg.secret {
        ctx.at(
            &env.span(),
            format!("environment argument `{name}` cannot be secret: environments are shown in audit records"),
        );
        ok = false;
    }
    // An environment that can be absent would let an invocation escape its RBAC scope.
    if !arg.required && arg.default.is_none() {
        ctx.at(
            &env.span(),
            format!("environment argument `{name}` must be required or have a default"),
        );
        ok = false;
    }
    ok.then(|| EnvScope::Arg(name.to_string()))
}
