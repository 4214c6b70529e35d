//! The chat platforms' own limits on what a command file becomes. Discord registers commands
//! with a bulk overwrite that is all-or-nothing, so one name over its limit stops every command
//! from registering; Slack refuses a manifest with an over-long slash command. Checking them at
//! load time puts the problem at the file and line where it is cheapest to fix, in
//! `warden check`, instead of in a platform's error at deploy time.
//!
//! The numbers come from Discord's OpenAPI document (`ApplicationCommandUpdateRequest` and its
//! option schemas) and Slack's manifest schema; `tests/manifests_schema.rs` validates the
//! generated registrations against both documents.

use super::ctx::Ctx;
use super::raw::{RawArg, S};

/// Discord: command and option names.
pub(super) const NAME_MAX: usize = 32;
/// Discord: command and option descriptions (warden's summary is the command's description).
pub(super) const DESCRIPTION_MAX: usize = 100;
/// Discord: the name of a choice.
pub(super) const CHOICE_MAX: usize = 100;
/// Discord: options per command, counting the `dry_run` and `reason` options warden adds.
pub(super) const OPTIONS_MAX: usize = 25;
/// Slack: a slash command, with its `/` (the manifest schema's `maxLength`).
pub(crate) const SLASH_COMMAND_MAX: usize = 32;
/// Discord: integer option bounds are JSON numbers that must stay exact (2^53 - 1).
pub(super) const INT_BOUND_MAX: i64 = 9_007_199_254_740_991;

fn too_long(text: &str, max: usize) -> bool {
    text.chars().count() > max
}

/// The command's name and summary.
pub(super) fn check_command(
    ctx: &mut Ctx<'_>,
    name: Option<&S<String>>,
    summary: Option<&S<String>>,
) {
    if let Some(name) = name {
        let n = name.get_ref();
        if too_long(n, NAME_MAX) {
            ctx.at(
                &name.span(),
                format!(
                    "command name `{n}` is {} characters; Discord allows at most {NAME_MAX}",
                    n.chars().count()
                ),
            );
        }
    }
    if let Some(summary) = summary {
        let count = summary.get_ref().trim().chars().count();
        if count > DESCRIPTION_MAX {
            ctx.at(
                &summary.span(),
                format!(
                    "summary is {count} characters; Discord shows it as the command's description, which allows at most {DESCRIPTION_MAX}"
                ),
            );
        }
    }
}

/// A Slack slash command's length: [`super::syntax::is_slash_command`] checks its shape.
pub fn slash_command_problem(command: &str) -> Option<String> {
    let count = command.chars().count();
    (count > SLASH_COMMAND_MAX).then(|| {
        format!("slash command `{command}` is {count} characters; Slack allows at most {SLASH_COMMAND_MAX}, with the `/`")
    })
}

/// One argument's name, description, choices and bounds.
pub(super) fn check_arg(ctx: &mut Ctx<'_>, raw: &RawArg) {
    if let Some(name) = &raw.name {
        let n = name.get_ref();
        if too_long(n, NAME_MAX) {
            ctx.at(
                &name.span(),
                format!(
                    "argument name `{n}` is {} characters; Discord allows at most {NAME_MAX}",
                    n.chars().count()
                ),
            );
        }
    }
    if let Some(description) = &raw.description {
        let count = description.get_ref().chars().count();
        if count > DESCRIPTION_MAX {
            ctx.at(
                &description.span(),
                format!("argument description is {count} characters; Discord allows at most {DESCRIPTION_MAX}"),
            );
        }
    }
    if let Some(choices) = &raw.choices {
        for choice in choices.get_ref() {
            let count = choice.get_ref().chars().count();
            if count > CHOICE_MAX {
                ctx.at(
                    &choice.span(),
                    format!("choice is {count} characters; Discord allows at most {CHOICE_MAX}"),
                );
            }
        }
    }
    for (key, bound) in [("min", &raw.min), ("max", &raw.max)] {
        if let Some(b) = bound {
            if b.get_ref().unsigned_abs() > INT_BOUND_MAX as u64 {
                ctx.at(
                    &b.span(),
                    format!("`{key}` must be between -{INT_BOUND_MAX} and {INT_BOUND_MAX} (Discord's integer range)"),
                );
            }
        }
    }
}

/// The number of Discord options: the arguments, plus `dry_run` when the command has a dry
/// run, plus `reason`, which every command takes.
pub(super) fn check_option_count(ctx: &mut Ctx<'_>, args: &[S<RawArg>], dry_run: bool) {
    let total = args.len() + usize::from(dry_run) + 1;
    if total > OPTIONS_MAX {
        // The first argument past the limit is where the operator has to act.
        let line = args
            .get(OPTIONS_MAX.saturating_sub(1 + usize::from(dry_run)))
            .map(|a| ctx.line(&a.span()))
            .unwrap_or(1);
        ctx.at_line(
            line,
            format!(
                "{} arguments{} and `reason` make {total} Discord options; Discord allows at most {OPTIONS_MAX}",
                args.len(),
                if dry_run { ", `dry_run`" } else { "" }
            ),
        );
    }
}
