//! The Discord application commands generated from the command registry: one command per
//! warden command, with typed options and choices, plus the built-ins. Register them with a
//! bulk overwrite (`PUT /applications/{id}/commands`).

use serde_json::{json, Value};

use crate::commands::{ArgType, Registry};

const STRING: u8 = 3;
const INTEGER: u8 = 4;
const BOOLEAN: u8 = 5;

fn option(kind: u8, name: &str, description: &str, required: bool) -> Value {
    json!({
        "type": kind,
        "name": name,
        "description": clip(description, 100),
        "required": required,
    })
}

fn clip(text: &str, max: usize) -> String {
    let text = if text.is_empty() { "-" } else { text };
    if text.chars().count() <= max {
        text.to_string()
    } else {
        text.chars().take(max - 1).collect::<String>() + "…"
    }
}

/// The application-command JSON for every registered command and built-in.
pub fn application_commands(registry: &Registry) -> Value {
    let mut out = vec![
        json!({ "name": "help", "type": 1, "description": "The commands you may run, or one command's usage",
                "options": [option(STRING, "command", "A command to describe", false)] }),
        json!({ "name": "whoami", "type": 1, "description": "Who warden thinks you are, and your roles" }),
        json!({ "name": "approvals", "type": 1, "description": "Pending approval requests you can decide" }),
        json!({ "name": "schedules", "type": 1, "description": "This server's scheduled commands: when, as whom, paused or not" }),
        json!({ "name": "dashboard", "type": 1, "description": "A private link to this server's live dashboard (read-only)" }),
        json!({ "name": "why", "type": 1, "description": "Why a command would or would not run for you, and what to do",
                "options": [option(STRING, "command", "The command to explain", true),
                            option(STRING, "args", "Its arguments, as typed in Slack (e.g. api v1.2.3 env=prod)", false)] }),
    ];
    for spec in registry.iter() {
        let mut options: Vec<Value> = Vec::new();
        // Discord wants required options first.
        let mut args: Vec<_> = spec.args.iter().collect();
        args.sort_by_key(|a| !a.required);
        for arg in args {
            let kind = match arg.kind {
                ArgType::Int => INTEGER,
                ArgType::Bool => BOOLEAN,
                _ => STRING,
            };
            let description = arg
                .description
                .clone()
                .unwrap_or_else(|| arg.kind.to_string());
            let mut o = option(kind, &arg.name, &description, arg.required);
            if arg.kind == ArgType::Choice && arg.choices.len() <= 25 {
                o["choices"] = arg
                    .choices
                    .iter()
                    .map(|c| json!({ "name": c, "value": c }))
                    .collect();
            }
            if let Some(min) = arg.min {
                o["min_value"] = min.into();
            }
            if let Some(max) = arg.max {
                o["max_value"] = max.into();
            }
            options.push(o);
        }
        if spec.dry_run {
            options.push(option(
                BOOLEAN,
                "dry_run",
                "Show the plan; change nothing",
                false,
            ));
        }
        options.push(option(
            STRING,
            "reason",
            "Why (shown to approvers, kept in the audit log)",
            false,
        ));
        out.push(json!({
            "name": spec.name,
            "type": 1,
            "description": clip(&spec.summary, 100),
            "options": options,
        }));
    }
    Value::Array(out)
}
