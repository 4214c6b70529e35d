//! The one place where configuration is read: environment settings ([`Settings`]) and the
//! directory file `warden.toml` ([`Directory`]: tenants, people, groups, bindings, digests).
//!
//! Architecture invariant: no other module reads environment variables or `warden.toml`. Both
//! loaders collect every problem they find instead of stopping at the first, so that an operator
//! fixes a broken deployment in one pass. Secrets are kept in
//! [`SecretString`](secrecy::SecretString) and never appear in error messages or `Debug` output;
//! code that needs one calls `ExposeSecret` at the point of use.
//!
//! `settings.rs` reads the environment; `directory.rs` models `warden.toml` and loads it, with
//! the file as written in `directory/raw.rs` and the semantic checks in `directory/check.rs`;
//! `redact.rs` shows a database URL without its password; `retention.rs` reads how long the
//! history tables keep their rows; `server.rs` the HTTP server's connection limits.

mod directory;
mod redact;
mod retention;
mod server;
mod settings;

pub use directory::{
    load_directory, parse_directory, AlertAction, AlertActionKind, AlertAuth, AlertRoute,
    AlertSource, AlertSourceKind, Binding, Digest, Directory, LabelMatch, Person, Schedule,
    ScheduledCommand, Tenant, DEFAULT_STORM,
};
pub use redact::redact_url;
pub use retention::{Retention, MIN_RETENTION};
pub use server::ServerLimits;
pub use settings::{DiscordSettings, LogFormat, Settings, SlackSettings};
