//! Reading `commands/*.toml` into [`CommandSpec`]s. This is the only part of the module that
//! does IO (it reads files).
//!
//! Every problem is reported as a [`Problem`] with the file and a 1-based line: syntax errors,
//! unknown keys and wrong types come from the TOML deserializer's span (these stop the file,
//! since nothing after them can be trusted); everything else is checked here against the
//! spans of the fields, and all of a file's semantic problems are reported together so that
//! an operator can fix a file in one go.
//!
//! The file as written is in `load/raw.rs`; `load/ctx.rs` collects the problems and
//! `load/syntax.rs` holds the small checks of names and values. Each part of a command is built
//! and checked in its own file: `command.rs`, `arg.rs`, `approval.rs` and `action.rs`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::commands::registry::Registry;
use crate::commands::spec::CommandSpec;
use crate::model::{line_of, toml_message, Problem};

mod action;
mod approval;
mod arg;
mod command;
mod ctx;
mod limits;
mod raw;
mod syntax;

pub use limits::slash_command_problem;
pub use syntax::is_slash_command;

use command::build;
use ctx::Ctx;
use raw::RawCommand;

/// The timeout of a command that does not set one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// How long an approval request waits when `expires_in` is not set.
pub const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(3600);
/// The most retries a command may ask for; more would hide a broken action for a long time
/// and repeat non-idempotent requests.
pub const MAX_RETRIES: u32 = 10;

/// Parses one command file. `file` is only used in problems and recorded in the spec.
pub fn load_str(file: &Path, text: &str) -> Result<CommandSpec, Vec<Problem>> {
    let raw: RawCommand = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(err) => {
            let line = err.span().map(|s| line_of(text, s.start)).unwrap_or(1);
            let message = toml_message(&err, text);
            return Err(vec![Problem::at(file, line, message)]);
        }
    };
    let mut ctx = Ctx {
        file,
        text,
        problems: Vec::new(),
    };
    let spec = build(&mut ctx, raw);
    if ctx.problems.is_empty() {
        spec.ok_or_else(|| vec![Problem::at(file, 1, "the command could not be loaded")])
    } else {
        let mut problems = ctx.problems;
        problems.sort_by_key(|p| p.line);
        Err(problems)
    }
}

/// Loads every `*.toml` file of a directory, in file-name order, into a [`Registry`]. Bad files
/// do not stop the load: all problems of all files are returned together, including duplicate
/// command names and slash commands across files (reported at the later file).
pub fn load_dir(dir: &Path) -> Result<Registry, Vec<Problem>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            return Err(vec![Problem::file(
                dir,
                format!("cannot read the commands directory: {err}"),
            )])
        }
    };
    let mut problems = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
                    files.push(path);
                }
            }
            Err(err) => problems.push(Problem::file(
                dir,
                format!("cannot list the commands directory: {err}"),
            )),
        }
    }
    files.sort();
    let mut specs = Vec::new();
    for path in files {
        match std::fs::read_to_string(&path) {
            Ok(text) => match load_str(&path, &text) {
                Ok(spec) => specs.push(spec),
                Err(mut file_problems) => problems.append(&mut file_problems),
            },
            Err(err) => problems.push(Problem::file(&path, format!("cannot read the file: {err}"))),
        }
    }
    match Registry::from_specs(specs) {
        Ok(registry) if problems.is_empty() => Ok(registry),
        Ok(_) => Err(problems),
        Err(mut more) => {
            problems.append(&mut more);
            problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests;
