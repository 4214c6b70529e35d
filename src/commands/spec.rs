//! The validated, typed model of one command file. Values of these types only come out of
//! [`crate::commands::load`] (or tests), so code that receives a [`CommandSpec`] may rely on
//! every invariant the loader checks: templates name declared arguments, defaults are valid,
//! the environment argument always has a value, and so on.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::commands::args::ParsedArgs;
use crate::model::{ChannelRef, RateLimit, Role, Subject};

/// One command, as declared in `commands/NAME.toml`.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    /// The command name people type after the root command, `[a-z][a-z0-9-]*`.
    pub name: String,
    /// One line saying what the command does, shown in `help`.
    pub summary: String,
    /// Longer help text, shown by `help NAME`.
    pub description: Option<String>,
    /// A dedicated Slack slash command (`/deploy`) that runs this command directly.
    pub slash_command: Option<String>,
    /// The minimum role needed to invoke the command.
    pub role: Role,
    /// The RBAC scope the invocation runs in; `None` means environment-less.
    pub environment: Option<EnvScope>,
    /// How dangerous the command is; shown to approvers and used by policies.
    pub risk: Risk,
    /// Whether the command understands `--dry-run`.
    pub dry_run: bool,
    /// How often the command may run.
    pub rate_limit: Option<RateLimit>,
    /// How long one attempt of the action may take.
    pub timeout: Duration,
    /// How many times a failed action is retried.
    pub retries: u32,
    /// Where runs of this command are announced.
    pub alert_channel: Option<ChannelRef>,
    /// The arguments, in declaration order (the order positionals fill them).
    pub args: Vec<ArgSpec>,
    /// The approval rule, when the command needs one.
    pub approval: Option<ApprovalSpec>,
    /// Tell the story in a thread under one card (SPEC §13); `false` keeps every message
    /// top-level (key `thread`, default `true`).
    pub thread: bool,
    /// Remind the approvers once, in the thread, at half of `expires_in` (key `remind`,
    /// default `true`).
    pub remind: bool,
    /// What running the command does.
    pub action: ActionSpec,
    /// The file the command was loaded from.
    pub file: PathBuf,
    /// The 1-based line of the command's `name`, for problems about the command as a whole.
    pub line: usize,
}

/// The RBAC scope of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvScope {
    /// Always this environment, e.g. `prod`.
    Literal(String),
    /// The value of this argument, written `{{env}}` in the file.
    Arg(String),
}

/// One declared argument.
#[derive(Debug, Clone)]
pub struct ArgSpec {
    /// The argument name, `[a-z][a-z0-9_]*`.
    pub name: String,
    /// The value type.
    pub kind: ArgType,
    /// Help text for `help NAME`.
    pub description: Option<String>,
    /// The allowed values of a `choice` argument (empty for other types).
    pub choices: Vec<String>,
    /// A regex a `string` value must match as a whole.
    pub pattern: Option<regex::Regex>,
    /// The value used when the argument is not given; valid for the argument.
    pub default: Option<String>,
    /// Whether the argument must be given (never true when there is a default).
    pub required: bool,
    /// Whether the value is redacted in audit records and messages.
    pub secret: bool,
    /// The smallest allowed value of an `int` argument.
    pub min: Option<i64>,
    /// The largest allowed value of an `int` argument.
    pub max: Option<i64>,
}

/// The type of an argument value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgType {
    /// Any text (optionally restricted by a pattern).
    String,
    /// A whole number (optionally within min/max).
    Int,
    /// true/false, yes/no, on/off or 1/0.
    Bool,
    /// One of a fixed list of values.
    Choice,
    /// A duration written 30s, 10m, 2h or 1d.
    Duration,
}

impl ArgType {
    /// The name used in files and help.
    pub fn as_str(self) -> &'static str {
        match self {
            ArgType::String => "string",
            ArgType::Int => "int",
            ArgType::Bool => "bool",
            ArgType::Choice => "choice",
            ArgType::Duration => "duration",
        }
    }
}

impl fmt::Display for ArgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How dangerous a command is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Risk {
    /// Read-only or trivially reversible.
    #[default]
    Low,
    /// Changes something, but the blast radius is small.
    Medium,
    /// Can take production down.
    High,
}

impl Risk {
    /// The lowercase name used in files and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
        }
    }
}

impl std::str::FromStr for Risk {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "low" => Ok(Risk::Low),
            "medium" => Ok(Risk::Medium),
            "high" => Ok(Risk::High),
            other => Err(format!(
                "unknown risk `{other}` (expected low, medium or high)"
            )),
        }
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When and from whom a command needs approval before it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalSpec {
    /// Approval is needed iff every listed argument has one of its listed values (values are
    /// stored in their canonical form, e.g. `true` for `yes`). Empty means always.
    pub when: Vec<(String, Vec<String>)>,
    /// How many distinct approvals are needed, at least 1.
    pub approvals: u32,
    /// Who may approve.
    pub approvers: Vec<Subject>,
    /// Anyone holding at least this role may approve as well.
    pub approver_role: Option<Role>,
    /// Whether the requester may approve their own request.
    pub allow_self: bool,
    /// How long a request waits for approvals before it expires.
    pub expires_in: Duration,
}

/// The HTTP method of an `http` action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpMethod {
    /// GET.
    Get,
    /// POST, the default.
    #[default]
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
}

impl HttpMethod {
    /// The method as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }
}

impl std::str::FromStr for HttpMethod {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "GET" => Ok(HttpMethod::Get),
            "POST" => Ok(HttpMethod::Post),
            "PUT" => Ok(HttpMethod::Put),
            "PATCH" => Ok(HttpMethod::Patch),
            "DELETE" => Ok(HttpMethod::Delete),
            other => Err(format!(
                "unknown method `{other}` (expected GET, POST, PUT, PATCH or DELETE)"
            )),
        }
    }
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What running a command does. Strings documented as templates may contain `{{arg}}`
/// references, all of which name declared arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionSpec {
    /// Call an HTTP endpoint.
    Http {
        /// The request method.
        method: HttpMethod,
        /// The URL template; the scheme and host are always literal.
        url: String,
        /// Header templates, by header name.
        headers: BTreeMap<String, String>,
        /// The JSON body; its string values are templates.
        body: Option<serde_json::Value>,
        /// The name of the environment variable holding the HMAC key that signs the request.
        sign_secret_env: Option<String>,
    },
    /// Run a program directly (never through a shell).
    Exec {
        /// The absolute path of the program.
        program: PathBuf,
        /// Argument templates, one argv entry each.
        args: Vec<String>,
        /// Fixed environment variables (not templates).
        env: BTreeMap<String, String>,
        /// Names of warden's own environment variables passed through.
        inherit_env: Vec<String>,
        /// Argument templates appended on `--dry-run`.
        dry_run_args: Vec<String>,
        /// The absolute working directory.
        workdir: Option<PathBuf>,
    },
    /// Run one of warden's built-in actions, e.g. `flags.set`.
    Builtin {
        /// The built-in's dotted name.
        name: String,
    },
}

impl ActionSpec {
    /// The action type as written in files: `http`, `exec` or `builtin`.
    pub fn kind(&self) -> &'static str {
        match self {
            ActionSpec::Http { .. } => "http",
            ActionSpec::Exec { .. } => "exec",
            ActionSpec::Builtin { .. } => "builtin",
        }
    }
}

impl CommandSpec {
    /// The declared argument called `name`.
    pub fn arg(&self, name: &str) -> Option<&ArgSpec> {
        self.args.iter().find(|a| a.name == name)
    }

    /// The environment this invocation runs in, or `None` for an environment-less command.
    /// For an argument scope the loader guarantees the argument always has a value after
    /// [`crate::commands::args::parse_args`], so `None` then only happens with hand-made args.
    pub fn environment_for(&self, args: &ParsedArgs) -> Option<String> {
        match self.environment.as_ref()? {
            EnvScope::Literal(env) => Some(env.clone()),
            EnvScope::Arg(name) => args.get(name).map(|v| v.to_string()),
        }
    }

    /// Every environment the command can run in, so that access checks can tell whether a
    /// person may use the command at all. `None` means environment-less. For an argument
    /// scope this is the argument's choices, or for a non-choice argument its default (an
    /// empty list when it has none, since the environment is then only known per invocation).
    pub fn possible_environments(&self) -> Option<Vec<String>> {
        match self.environment.as_ref()? {
            EnvScope::Literal(env) => Some(vec![env.clone()]),
            EnvScope::Arg(name) => Some(match self.arg(name) {
                Some(arg) if arg.kind == ArgType::Choice => arg.choices.clone(),
                Some(arg) => arg.default.iter().cloned().collect(),
                None => Vec::new(),
            }),
        }
    }

    /// Whether this invocation needs approval: there is an approval rule and every argument
    /// its `when` lists has one of the listed values (an empty `when` always applies).
    pub fn needs_approval(&self, args: &ParsedArgs) -> bool {
        let Some(approval) = &self.approval else {
            return false;
        };
        approval.when.iter().all(|(name, values)| {
            args.get(name)
                .map(|v| v.to_string())
                .is_some_and(|v| values.contains(&v))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::args::{ArgValue, ParsedArgs};
    use std::path::Path;

    fn spec(environment: &str, env_arg: &str, approval: &str) -> CommandSpec {
        let text = format!(
            "name = \"x\"\nsummary = \"X\"\nrole = \"viewer\"\n{environment}\n{env_arg}\n{approval}\n[action]\ntype = \"builtin\"\nname = \"flags.get\"\n"
        );
        crate::commands::load::load_str(Path::new("x.toml"), &text).unwrap()
    }

    const CHOICE: &str = "[[args]]\nname = \"env\"\ntype = \"choice\"\nchoices = [\"staging\", \"prod\"]\ndefault = \"staging\"\n[[args]]\nname = \"force\"\ntype = \"bool\"\ndefault = false";

    fn with(values: &[(&str, ArgValue)]) -> ParsedArgs {
        ParsedArgs {
            values: values
                .iter()
                .map(|(n, v)| (n.to_string(), v.clone()))
                .collect(),
            ..ParsedArgs::default()
        }
    }

    #[test]
    fn environments() {
        let prod = with(&[("env", ArgValue::Str("prod".into()))]);
        // (spec, possible environments, environment when env=prod)
        type Case<'a> = (CommandSpec, Option<Vec<&'a str>>, Option<&'a str>);
        let cases: Vec<Case> = vec![
            (spec("", "", ""), None, None),
            (
                spec("environment = \"prod\"", "", ""),
                Some(vec!["prod"]),
                Some("prod"),
            ),
            (
                spec("environment = \"{{env}}\"", CHOICE, ""),
                Some(vec!["staging", "prod"]),
                Some("prod"),
            ),
            (
                spec(
                    "environment = \"{{env}}\"",
                    "[[args]]\nname = \"env\"\ntype = \"string\"\ndefault = \"dev\"",
                    "",
                ),
                Some(vec!["dev"]),
                Some("prod"),
            ),
            (
                spec(
                    "environment = \"{{env}}\"",
                    "[[args]]\nname = \"env\"\ntype = \"string\"",
                    "",
                ),
                Some(vec![]),
                Some("prod"),
            ),
        ];
        for (spec, possible, actual) in cases {
            let possible = possible.map(|v| v.into_iter().map(str::to_string).collect::<Vec<_>>());
            assert_eq!(
                spec.possible_environments(),
                possible,
                "{:?}",
                spec.environment
            );
            assert_eq!(
                spec.environment_for(&prod).as_deref(),
                actual,
                "{:?}",
                spec.environment
            );
        }
    }

    #[test]
    fn approval_conditions() {
        let always = spec("", CHOICE, "[approval]\napprover_role = \"admin\"");
        let in_prod = spec(
            "",
            CHOICE,
            "[approval]\nwhen = { env = [\"prod\"] }\napprover_role = \"admin\"",
        );
        let forced_prod = spec(
            "",
            CHOICE,
            "[approval]\nwhen = { env = \"prod\", force = [\"yes\"] }\napprover_role = \"admin\"",
        );
        let none = spec("", CHOICE, "");
        let args = |env: &str, force: bool| {
            with(&[
                ("env", ArgValue::Str(env.into())),
                ("force", ArgValue::Bool(force)),
            ])
        };
        let cases = [
            (&always, args("staging", false), true),
            (&in_prod, args("staging", true), false),
            (&in_prod, args("prod", false), true),
            (&forced_prod, args("prod", false), false),
            (&forced_prod, args("prod", true), true),
            (&forced_prod, args("staging", true), false),
            (&none, args("prod", true), false),
        ];
        for (i, (spec, args, want)) in cases.into_iter().enumerate() {
            assert_eq!(spec.needs_approval(&args), want, "case {i}");
        }
        assert_eq!(in_prod.arg("force").map(|a| a.kind), Some(ArgType::Bool));
        assert!(in_prod.arg("nope").is_none());
    }

    #[test]
    fn names_round_trip() {
        for risk in [Risk::Low, Risk::Medium, Risk::High] {
            assert_eq!(risk.as_str().parse::<Risk>(), Ok(risk));
        }
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            assert_eq!(method.parse::<HttpMethod>().unwrap().to_string(), method);
        }
        assert!("get".parse::<HttpMethod>().is_err());
        assert_eq!(ArgType::Duration.to_string(), "duration");
    }
}
