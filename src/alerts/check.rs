//! The problems of `[[alert_routes]]` that need the command registry: an action must name a
//! registered command (not a built-in), every argument it names must be one of the command's,
//! and a value written without a reference must be valid for its argument.

use crate::commands::{registry, Registry};
use crate::config::{AlertActionKind, Directory};
use crate::model::Problem;

use super::template::{references, CommandTemplate};

/// Every problem of the routes' actions, each at its route's line.
pub fn check(directory: &Directory, registry: &Registry) -> Vec<Problem> {
    let mut problems = Vec::new();
    for route in &directory.alert_routes {
        for action in &route.actions {
            let AlertActionKind::Command(text) = &action.kind else {
                continue;
            };
            let problem = |message: String| {
                Problem::at(
                    &route.file,
                    route.line,
                    format!(
                        "alert route {}, action `{}`: {message}",
                        route.index + 1,
                        action.label
                    ),
                )
            };
            let template = match CommandTemplate::parse(text) {
                Ok(t) => t,
                Err(e) => {
                    problems.push(problem(e));
                    continue;
                }
            };
            let Some(spec) = registry.get(&template.command) else {
                problems.push(problem(if registry::is_reserved(&template.command) {
                    format!(
                        "`{}` is a built-in; an alert action runs a command from the commands folder",
                        template.command
                    )
                } else {
                    format!("there is no command `{}`", template.command)
                }));
                continue;
            };
            for (name, value) in &template.named {
                let Some(arg) = spec.arg(name) else {
                    problems.push(problem(format!(
                        "`{}` has no argument `{name}`",
                        template.command
                    )));
                    continue;
                };
                if references(value).is_ok_and(|r| r.is_empty()) {
                    if let Err(e) = arg.parse_value(value) {
                        problems.push(problem(e.to_string()));
                    }
                }
            }
            if template.dry_run && !spec.dry_run {
                problems.push(problem(format!(
                    "`{}` does not support --dry-run",
                    template.command
                )));
            }
        }
    }
    problems
}
