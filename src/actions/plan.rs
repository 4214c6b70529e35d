//! [`plan`]: what running an action would do, as text for people.

use crate::commands::args::{ArgValue, ParsedArgs};
use crate::commands::spec::{ActionSpec, CommandSpec};

use super::{exec, http, render};

/// The exact plan of what [`super::run`] would do, as text for people. It is shown in
/// confirmation messages and hashed into approvals, so it is deterministic (same input, same
/// text) and shows secret arguments as `[redacted]`:
///
/// - http: `POST https://deployer.internal/deploys`, the header names (the signature as
///   `signed with $DEPLOYER_HMAC_SECRET`) and the JSON body exactly as it would be sent;
/// - exec: the program, the argv elements as a JSON list (so each element's bounds are
///   visible), the names of the environment variables and the working directory;
/// - builtin: `builtin flags.set flag=… value=…`.
///
/// Errors when a template cannot be rendered, or a header value would contain a line break,
/// since [`super::run`] would then refuse the action too.
pub fn plan(spec: &CommandSpec, args: &ParsedArgs, dry_run: bool) -> Result<String, String> {
    let shown = render::redact(spec, args);
    let mut lines = Vec::new();
    match &spec.action {
        ActionSpec::Http {
            method,
            url,
            headers,
            body,
            ..
        } => {
            // Headers are rendered with the real values only to find the ones run would
            // refuse; their values are not part of the plan.
            for (name, template) in headers {
                render::header(name, template, args)?;
            }
            render::url(url, args, false)?;
            lines.push(format!("{method} {}", render::url(url, &shown, true)?));
            lines.push(format!(
                "headers: {}",
                http::header_names(spec, dry_run).join(", ")
            ));
            if let Some(body) = render::body(body.as_ref(), &shown)? {
                lines.push(format!("body: {body}"));
            }
        }
        ActionSpec::Exec {
            program, workdir, ..
        } => {
            exec::command_line(spec, args, dry_run)?;
            let argv = exec::command_line(spec, &shown, dry_run)?;
            lines.push(format!("exec {}", program.display()));
            lines.push(format!("argv: {}", json_list(&argv)));
            lines.push(format!(
                "env: {}",
                exec::env_names(spec, dry_run).join(", ")
            ));
            let workdir = workdir.as_deref().unwrap_or(std::path::Path::new("/"));
            lines.push(format!("workdir: {}", workdir.display()));
        }
        ActionSpec::Builtin { name } => {
            let mut line = format!("builtin {name}");
            for (arg, value) in &shown.values {
                line.push_str(&format!(" {arg}={}", quoted(value)));
            }
            if dry_run {
                line.push_str(" --dry-run");
            }
            lines.push(line);
        }
    }
    if dry_run {
        lines.push("(dry run)".to_string());
    }
    Ok(lines.join("\n"))
}

fn json_list(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

/// A builtin argument value as it would be typed: bare when that is unambiguous, else quoted.
fn quoted(value: &ArgValue) -> String {
    let text = value.to_string();
    let plain = !text.is_empty()
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '\\'));
    if plain {
        text
    } else {
        serde_json::Value::from(text).to_string()
    }
}
