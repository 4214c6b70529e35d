//! The set of loaded commands, looked up by name or by dedicated slash command.

use std::collections::BTreeMap;

use crate::commands::spec::CommandSpec;
use crate::model::Problem;

/// Names of warden's built-in commands, which command files cannot use.
pub const RESERVED_NAMES: [&str; 10] = [
    "help",
    "whoami",
    "why",
    "schedules",
    "dashboard",
    "jobs",
    "approvals",
    "audit",
    "access",
    "flags",
];

/// Whether `name` belongs to a built-in command.
pub fn is_reserved(name: &str) -> bool {
    RESERVED_NAMES.contains(&name)
}

/// Every loaded command, unique by name and by slash command.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    commands: BTreeMap<String, CommandSpec>,
    slash: BTreeMap<String, String>,
}

impl Registry {
    /// Builds a registry, refusing reserved names and duplicate names or slash commands. A
    /// duplicate is reported at the later spec (in the order given), which for
    /// [`crate::commands::load::load_dir`] is the later file name.
    pub fn from_specs(specs: Vec<CommandSpec>) -> Result<Registry, Vec<Problem>> {
        let mut registry = Registry::default();
        let mut problems = Vec::new();
        for spec in specs {
            if is_reserved(&spec.name) {
                problems.push(Problem::at(
                    &spec.file,
                    spec.line,
                    format!(
                        "`{}` is the name of a built-in command; choose another name",
                        spec.name
                    ),
                ));
                continue;
            }
            if let Some(first) = registry.commands.get(&spec.name) {
                problems.push(Problem::at(
                    &spec.file,
                    spec.line,
                    format!(
                        "command `{}` is already defined in {}:{}",
                        spec.name,
                        first.file.display(),
                        first.line
                    ),
                ));
                continue;
            }
            if let Some(slash) = &spec.slash_command {
                if let Some(owner) = registry.slash.get(slash) {
                    let place = registry
                        .commands
                        .get(owner)
                        .map(|first| format!(" in {}", first.file.display()))
                        .unwrap_or_default();
                    problems.push(Problem::at(
                        &spec.file,
                        spec.line,
                        format!("slash command `{slash}` is already used by `{owner}`{place}"),
                    ));
                    continue;
                }
                registry.slash.insert(slash.clone(), spec.name.clone());
            }
            registry.commands.insert(spec.name.clone(), spec);
        }
        if problems.is_empty() {
            Ok(registry)
        } else {
            Err(problems)
        }
    }

    /// The command called `name`.
    pub fn get(&self, name: &str) -> Option<&CommandSpec> {
        self.commands.get(name)
    }

    /// Every command, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &CommandSpec> {
        self.commands.values()
    }

    /// The command whose dedicated slash command is `slash`, e.g. `/deploy`.
    pub fn by_slash_command(&self, slash: &str) -> Option<&CommandSpec> {
        self.slash
            .get(slash)
            .and_then(|name| self.commands.get(name))
    }

    /// How many commands there are.
    pub fn len(&self) -> usize {
        self.commands.len()
    }

    /// Whether there are no commands.
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn spec(file: &str, name: &str, slash: Option<&str>) -> CommandSpec {
        let command = slash
            .map(|s| format!("command = \"{s}\"\n"))
            .unwrap_or_default();
        let text = format!(
            "name = \"{name}\"\nsummary = \"S\"\n{command}role = \"viewer\"\n[action]\ntype = \"builtin\"\nname = \"flags.list\"\n"
        );
        crate::commands::load::load_str(Path::new(file), &text).unwrap()
    }

    #[test]
    fn lookups() {
        let registry = Registry::from_specs(vec![
            spec("b.toml", "status", None),
            spec("a.toml", "deploy", Some("/deploy")),
        ])
        .unwrap();
        assert_eq!(registry.len(), 2);
        assert!(!registry.is_empty());
        let names: Vec<&str> = registry.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["deploy", "status"]);
        assert_eq!(registry.get("status").unwrap().file, Path::new("b.toml"));
        assert_eq!(registry.by_slash_command("/deploy").unwrap().name, "deploy");
        assert!(registry.by_slash_command("/status").is_none());
        assert!(registry.get("nope").is_none());
        assert!(Registry::default().is_empty());
    }

    #[test]
    fn problems() {
        let mut reserved = spec("r.toml", "x", None);
        reserved.name = "help".into();
        let problems = Registry::from_specs(vec![
            spec("a.toml", "deploy", Some("/deploy")),
            spec("b.toml", "deploy", None),
            spec("c.toml", "ship", Some("/deploy")),
            reserved,
        ])
        .unwrap_err();
        let got: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            got,
            [
                "b.toml:1: command `deploy` is already defined in a.toml:1",
                "c.toml:1: slash command `/deploy` is already used by `deploy` in a.toml",
                "r.toml:1: `help` is the name of a built-in command; choose another name",
            ]
        );
        for name in RESERVED_NAMES {
            assert!(is_reserved(name));
        }
        assert!(!is_reserved("deploy"));
    }
}
