//! An alert action's command, `restart service={{labels.service}} env={{labels.env}}`: which
//! command it runs and, for each argument, a template filled from the alert's `labels` and
//! `annotations` when the card is posted.
//!
//! The escaping rule (SPEC §5: a value lands as exactly one value) is structural: the text is
//! split into tokens with the command grammar *before* anything is filled in, every argument
//! is written `name=value`, and a filled-in value becomes that one argument's value whatever
//! it holds. A label such as `web env=prod` or `"x" --dry-run` cannot add or change another
//! argument; it is checked against the argument's type by the guard like a typed value.

use std::collections::BTreeMap;

use crate::commands::args::{split_command_text, RawArgs};

/// Where a reference takes its value from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `{{labels.NAME}}`.
    Labels,
    /// `{{annotations.NAME}}`.
    Annotations,
}

/// A parsed action command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandTemplate {
    /// The registry command it runs.
    pub command: String,
    /// `name=template` pairs, in order.
    pub named: Vec<(String, String)>,
    /// `--dry-run` was written.
    pub dry_run: bool,
}

/// The references of a value template, as (scope, name), in order.
pub fn references(template: &str) -> Result<Vec<(Scope, String)>, String> {
    let mut refs = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("`{{{{` in `{template}` is never closed with `}}}}`"))?;
        let inner = after[..end].trim();
        let (scope, name) = match inner.split_once('.') {
            Some(("labels", name)) => (Scope::Labels, name),
            Some(("annotations", name)) => (Scope::Annotations, name),
            _ => {
                return Err(format!(
                    "`{{{{{inner}}}}}` is not a reference: write {{{{labels.NAME}}}} or {{{{annotations.NAME}}}}"
                ))
            }
        };
        let valid = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return Err(format!(
                "`{{{{{inner}}}}}`: `{name}` is not a label or annotation name"
            ));
        }
        refs.push((scope, name.to_string()));
        rest = &after[end + 2..];
    }
    Ok(refs)
}

/// Fills a value template; `None` when a referenced label or annotation is missing (the
/// button is then not offered: half a command is never run).
pub fn fill(
    template: &str,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) -> Option<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}")?;
        let inner = after[..end].trim();
        let value = match inner.split_once('.') {
            Some(("labels", name)) => labels.get(name)?,
            Some(("annotations", name)) => annotations.get(name)?,
            _ => return None,
        };
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Some(out)
}

impl CommandTemplate {
    /// Parses an action's `command`; the error says what to write instead.
    pub fn parse(text: &str) -> Result<CommandTemplate, String> {
        let tokens = split_command_text(text).map_err(|e| e.to_string())?;
        let mut tokens = tokens.into_iter();
        let command = tokens
            .next()
            .filter(|c| !c.is_empty())
            .ok_or("the command is empty")?;
        if command.contains("{{") {
            return Err("the command name cannot be filled from the alert".into());
        }
        // A command name is `[a-z][a-z0-9-]*` (SPEC §5); anything else could never name one,
        // and would not read back the same from the card's command line.
        let named = command.starts_with(|c: char| c.is_ascii_lowercase())
            && command
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !named {
            return Err(format!(
                "`{command}` is not a command name (lowercase letters, digits and `-`)"
            ));
        }
        let mut template = CommandTemplate {
            command,
            named: Vec::new(),
            dry_run: false,
        };
        for token in tokens {
            if token == "--dry-run" {
                template.dry_run = true;
                continue;
            }
            match token.split_once('=') {
                Some((name, value))
                    if crate::commands::args::is_arg_name(name) =>
                {
                    references(value)?;
                    template.named.push((name.to_string(), value.to_string()));
                }
                _ => {
                    return Err(format!(
                        "`{token}`: an alert action names every argument (`service={{{{labels.service}}}}`), so that a value from an alert can only ever be that argument's value"
                    ))
                }
            }
        }
        Ok(template)
    }

    /// The arguments for an alert, or the first missing reference's name.
    pub fn fill(
        &self,
        labels: &BTreeMap<String, String>,
        annotations: &BTreeMap<String, String>,
    ) -> Result<RawArgs, String> {
        let mut named = Vec::with_capacity(self.named.len());
        for (name, template) in &self.named {
            match fill(template, labels, annotations) {
                Some(value) => named.push((name.clone(), value)),
                None => {
                    let missing = references(template)
                        .unwrap_or_default()
                        .into_iter()
                        .find(|(scope, n)| match scope {
                            Scope::Labels => !labels.contains_key(n),
                            Scope::Annotations => !annotations.contains_key(n),
                        })
                        .map(|(scope, n)| match scope {
                            Scope::Labels => format!("label `{n}`"),
                            Scope::Annotations => format!("annotation `{n}`"),
                        })
                        .unwrap_or_else(|| "a value".into());
                    return Err(missing);
                }
            }
        }
        Ok(RawArgs {
            positional: Vec::new(),
            named,
            dry_run: self.dry_run,
            reason: None,
        })
    }

    /// The command as a person would type it, for the card and the audit log: each value is
    /// quoted as the grammar reads it back (`quote_token`), so the line, typed after `/ops`,
    /// gives the same arguments.
    pub fn display(command: &str, args: &RawArgs) -> String {
        let mut line = command.to_string();
        for (name, value) in &args.named {
            line.push(' ');
            line.push_str(name);
            line.push('=');
            line.push_str(&crate::commands::args::quote_token(value));
        }
        if args.dry_run {
            line.push_str(" --dry-run");
        }
        line
    }
}
