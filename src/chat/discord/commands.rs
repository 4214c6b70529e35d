//! The Discord application commands generated from the command registry: one command per
//! warden command, with typed options and choices, plus the built-ins. Register them with a
//! bulk overwrite (`PUT /applications/{id}/commands`). The bodies are serenity's
//! `CreateCommand` and `CreateCommandOption`, serialised with serde_json.

use serde_json::Value;
use serenity::builder::{CreateCommand, CreateCommandOption};
use serenity::model::application::{CommandOptionType, CommandType};

use crate::commands::{ArgType, Registry};

/// Discord refuses a command or option description over 100 characters.
const MAX_DESCRIPTION: usize = 100;

/// Discord accepts at most 25 choices for an option.
const MAX_CHOICES: usize = 25;

fn clip(text: &str, max: usize) -> String {
    let text = if text.is_empty() { "-" } else { text };
    if text.chars().count() <= max {
        text.to_string()
    } else {
        text.chars().take(max - 1).collect::<String>() + "…"
    }
}

fn option(
    kind: CommandOptionType,
    name: &str,
    description: &str,
    required: bool,
) -> CreateCommandOption {
    CreateCommandOption::new(kind, name, clip(description, MAX_DESCRIPTION)).required(required)
}

/// A chat-input (slash) command.
fn command(name: &str, description: &str) -> CreateCommand {
    CreateCommand::new(name)
        .kind(CommandType::ChatInput)
        .description(clip(description, MAX_DESCRIPTION))
}

/// Serenity's integer bounds take `u64`; a negative bound can only be written as a number,
/// which Discord reads as the same value.
fn with_min(option: CreateCommandOption, min: i64) -> CreateCommandOption {
    match u64::try_from(min) {
        Ok(min) => option.min_int_value(min),
        Err(_) => option.min_number_value(min as f64),
    }
}

fn with_max(option: CreateCommandOption, max: i64) -> CreateCommandOption {
    match u64::try_from(max) {
        Ok(max) => option.max_int_value(max),
        Err(_) => option.max_number_value(max as f64),
    }
}

fn built_ins() -> Vec<CreateCommand> {
    use CommandOptionType::String;
    vec![
        command("help", "The commands you may run, or one command's usage").add_option(option(
            String,
            "command",
            "A command to describe",
            false,
        )),
        command("whoami", "Who warden thinks you are, and your roles"),
        command("approvals", "Pending approval requests you can decide"),
        command(
            "schedules",
            "This server's scheduled commands: when, as whom, paused or not",
        ),
        command(
            "dashboard",
            "A private link to this server's live dashboard (read-only)",
        ),
        command(
            "why",
            "Why a command would or would not run for you, and what to do",
        )
        .add_option(option(String, "command", "The command to explain", true))
        .add_option(option(
            String,
            "args",
            "Its arguments, as typed in Slack (e.g. api v1.2.3 env=prod)",
            false,
        )),
    ]
}

/// The application commands for every registered command and built-in.
pub fn create_commands(registry: &Registry) -> Vec<CreateCommand> {
    let mut out = built_ins();
    for spec in registry.iter() {
        let mut options = Vec::new();
        // Discord wants required options first.
        let mut args: Vec<_> = spec.args.iter().collect();
        args.sort_by_key(|a| !a.required);
        for arg in args {
            let kind = match arg.kind {
                ArgType::Int => CommandOptionType::Integer,
                ArgType::Bool => CommandOptionType::Boolean,
                _ => CommandOptionType::String,
            };
            let description = arg
                .description
                .clone()
                .unwrap_or_else(|| arg.kind.to_string());
            let mut o = option(kind, &arg.name, &description, arg.required);
            if arg.kind == ArgType::Choice && arg.choices.len() <= MAX_CHOICES {
                for choice in &arg.choices {
                    o = o.add_string_choice(choice, choice);
                }
            }
            if let Some(min) = arg.min {
                o = with_min(o, min);
            }
            if let Some(max) = arg.max {
                o = with_max(o, max);
            }
            options.push(o);
        }
        if spec.dry_run {
            options.push(option(
                CommandOptionType::Boolean,
                "dry_run",
                "Show the plan; change nothing",
                false,
            ));
        }
        options.push(option(
            CommandOptionType::String,
            "reason",
            "Why (shown to approvers, kept in the audit log)",
            false,
        ));
        out.push(command(&spec.name, &spec.summary).set_options(options));
    }
    out
}

/// The application-command JSON for every registered command and built-in: the body of the
/// bulk overwrite, and `warden manifest discord`.
pub fn application_commands(registry: &Registry) -> Value {
    serde_json::to_value(create_commands(registry)).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_bounds_keep_their_sign() {
        let o = option(CommandOptionType::Integer, "n", "", true);
        let v = serde_json::to_value(with_max(with_min(o, -5), 20)).unwrap();
        assert_eq!(v["min_value"].as_f64(), Some(-5.0));
        assert_eq!(v["max_value"], 20);
        assert_eq!(v["description"], "-");
        assert_eq!(v["required"], true);
        assert_eq!(v["type"], 4);
    }
}
