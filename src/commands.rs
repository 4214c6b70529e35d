//! Command definitions: the `commands/*.toml` files operators write, validated into typed
//! [`CommandSpec`]s, plus the argument grammar people type in chat and the `{{arg}}` templates
//! actions use.
//!
//! Architecture invariant: only [`load`] touches the file system (it reads files); everything
//! else is pure data and parsing, so the guard pipeline and the tests can use it freely. This
//! module imports neither axum, sqlx nor tokio.
//!
//! The flow is: [`load::load_dir`] builds a [`Registry`] at start-up; a chat adapter turns what
//! the person typed into [`RawArgs`] (Slack through [`args::split_command_text`] and
//! [`args::parse_raw`], Discord by filling the options directly); [`args::parse_args`] checks
//! them against the command's [`CommandSpec`] and yields [`ParsedArgs`]; the executor renders
//! the action's templates with [`template::render`].

pub mod args;
pub mod load;
pub mod registry;
pub mod spec;
pub mod template;

pub use args::{
    parse_args, parse_raw, split_command_text, ArgError, ArgValue, GrammarError, ParsedArgs,
    RawArgs,
};
pub use load::{load_dir, load_str};
pub use registry::Registry;
pub use spec::{
    ActionSpec, ApprovalSpec, ArgSpec, ArgType, CommandSpec, EnvScope, HttpMethod, Risk,
};
pub use template::TemplateError;
