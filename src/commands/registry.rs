//! The set of loaded commands, looked up by name or by dedicated slash command.

use std::collections::BTreeMap;

use crate::commands::spec::CommandSpec;
use crate::model::Problem;

/// Names of warden's built-in commands, which command files cannot use.
pub const RESERVED_NAMES: [&str; 7] = [
    "help",
    "whoami",
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
                    format!("`{}` is the name of a built-in command; choose another name", spec.name),
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
                    let first = &registry.commands[owner];
                    problems.push(Problem::at(
                        &spec.file,
                        spec.line,
                        format!(
                            "slash command `{slash}` is already used by `{owner}` in {}",
                            first.file.display()
                        ),
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
        self.slash.get(slash).and_then(|name| self.commands.get(name))
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
