//! The `[[args]]` of a command: names, types, choices, patterns, ranges, defaults and whether
//! they are required.

use super::ctx::Ctx;
use super::limits;
use super::raw::{RawArg, S};
use super::syntax::{scalar_text, RESERVED_ARG_NAMES};
use crate::commands::args::is_arg_name;
use crate::commands::spec::{ArgSpec, ArgType};

pub(super) fn build_args(ctx: &mut Ctx<'_>, raw_args: &[S<RawArg>]) -> Vec<ArgSpec> {
    let mut args: Vec<ArgSpec> = Vec::new();
    for raw in raw_args {
        let header = raw.span();
        let raw = raw.get_ref();
        limits::check_arg(ctx, raw);
        let Some(name) = &raw.name else {
            ctx.at(&header, "an argument is missing `name`");
            continue;
        };
        let n = name.get_ref().clone();
        if !is_arg_name(&n) {
            ctx.at(
                &name.span(),
                format!("argument name `{n}` must be lowercase letters, digits and `_`, starting with a letter"),
            );
        } else if RESERVED_ARG_NAMES.contains(&n.as_str()) {
            ctx.at(
                &name.span(),
                format!(
                    "`{n}` cannot be an argument name: it would be confused with --{}",
                    n.replace('_', "-")
                ),
            );
        } else if args.iter().any(|a| a.name == n) {
            ctx.at(&name.span(), format!("argument `{n}` is declared twice"));
        }

        let kind = match &raw.kind {
            None => {
                ctx.at(&name.span(), format!("argument `{n}` is missing `type`"));
                ArgType::String
            }
            Some(k) => match k.get_ref().as_str() {
                "string" => ArgType::String,
                "int" => ArgType::Int,
                "bool" => ArgType::Bool,
                "choice" => ArgType::Choice,
                "duration" => ArgType::Duration,
                other => {
                    ctx.at(
                        &k.span(),
                        format!("unknown argument type `{other}` (expected string, int, bool, choice or duration)"),
                    );
                    ArgType::String
                }
            },
        };

        let mut choices = Vec::new();
        match (&raw.choices, kind) {
            (None, ArgType::Choice) => ctx.at(
                &name.span(),
                format!("argument `{n}` is a choice, so it needs `choices`"),
            ),
            (Some(c), ArgType::Choice) => {
                if c.get_ref().is_empty() {
                    ctx.at(&c.span(), "choices cannot be empty");
                }
                for choice in c.get_ref() {
                    let value = choice.get_ref();
                    if value.trim().is_empty() || value.chars().any(char::is_whitespace) {
                        ctx.at(
                            &choice.span(),
                            format!("choice `{value}` must be non-empty and without spaces"),
                        );
                    } else if choices.contains(value) {
                        ctx.at(&choice.span(), format!("choice `{value}` is listed twice"));
                    } else {
                        choices.push(value.clone());
                    }
                }
            }
            (Some(c), _) => ctx.at(
                &c.span(),
                "`choices` is only allowed with type = \"choice\"",
            ),
            (None, _) => {}
        }

        let pattern = match (&raw.pattern, kind) {
            (Some(p), ArgType::String) => match regex::Regex::new(p.get_ref()) {
                Ok(re) => Some(re),
                Err(err) => {
                    let first = err.to_string();
                    let summary = first.lines().last().unwrap_or("invalid").trim();
                    ctx.at(
                        &p.span(),
                        format!("pattern `{}` is not a valid regex: {summary}", p.get_ref()),
                    );
                    None
                }
            },
            (Some(p), _) => {
                ctx.at(
                    &p.span(),
                    "`pattern` is only allowed with type = \"string\"",
                );
                None
            }
            (None, _) => None,
        };

        for (key, bound) in [("min", &raw.min), ("max", &raw.max)] {
            if let (Some(b), true) = (bound, kind != ArgType::Int) {
                ctx.at(
                    &b.span(),
                    format!("`{key}` is only allowed with type = \"int\""),
                );
            }
        }
        let (min, max) = if kind == ArgType::Int {
            (
                raw.min.as_ref().map(|m| *m.get_ref()),
                raw.max.as_ref().map(|m| *m.get_ref()),
            )
        } else {
            (None, None)
        };
        if let (Some(lo), Some(hi), Some(span)) = (min, max, raw.max.as_ref().map(|m| m.span())) {
            if lo > hi {
                ctx.at(&span, format!("max {hi} is smaller than min {lo}"));
            }
        }

        let mut arg = ArgSpec {
            name: n.clone(),
            kind,
            description: raw.description.as_ref().map(|d| d.get_ref().clone()),
            choices,
            pattern,
            default: None,
            required: false,
            secret: raw.secret.unwrap_or(false),
            min,
            max,
        };

        if let Some(default) = &raw.default {
            match scalar_text(default.get_ref()) {
                None => ctx.at(
                    &default.span(),
                    "default must be a string, a number or true/false",
                ),
                Some(text) => match arg.parse_value(&text) {
                    // The canonical form is stored, so `yes` and `true` compare equal later.
                    Ok(value) => arg.default = Some(value.to_string()),
                    // Keeping the text avoids follow-up problems about a missing default; the
                    // spec is discarded anyway because of this problem.
                    Err(err) => {
                        ctx.at(&default.span(), format!("default is invalid: {err}"));
                        arg.default = Some(text);
                    }
                },
            }
        }
        arg.required = match &raw.required {
            Some(r) if *r.get_ref() && raw.default.is_some() => {
                ctx.at(
                    &r.span(),
                    format!("argument `{n}` has a default, so it cannot be required"),
                );
                false
            }
            Some(r) => *r.get_ref(),
            None => raw.default.is_none(),
        };
        args.push(arg);
    }
    args
}
