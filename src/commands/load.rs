//! Reading `commands/*.toml` into [`CommandSpec`]s. This is the only part of the module that
//! does IO (it reads files).
//!
//! Every problem is reported as a [`Problem`] with the file and a 1-based line: syntax errors,
//! unknown keys and wrong types come from the TOML deserializer's span (these stop the file,
//! since nothing after them can be trusted); everything else is checked here against the
//! spans of the fields, and all of a file's semantic problems are reported together so that
//! an operator can fix a file in one go.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::commands::args::is_arg_name;
use crate::commands::registry::{self, Registry};
use crate::commands::spec::{
    ActionSpec, ApprovalSpec, ArgSpec, ArgType, CommandSpec, EnvScope, HttpMethod, Risk,
};
use crate::commands::template;
use crate::model::{line_of, parse_duration, ChannelRef, Problem, RateLimit, Role, Subject};

/// The timeout of a command that does not set one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// How long an approval request waits when `expires_in` is not set.
pub const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(3600);
/// The most retries a command may ask for; more would hide a broken action for a long time
/// and repeat non-idempotent requests.
pub const MAX_RETRIES: u32 = 10;

type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommand {
    name: Option<S<String>>,
    summary: Option<S<String>>,
    description: Option<String>,
    command: Option<S<String>>,
    role: Option<S<String>>,
    environment: Option<S<String>>,
    risk: Option<S<String>>,
    dry_run: Option<bool>,
    rate_limit: Option<S<String>>,
    timeout: Option<S<String>>,
    retries: Option<S<u32>>,
    alert_channel: Option<S<String>>,
    #[serde(default)]
    args: Vec<S<RawArg>>,
    approval: Option<S<RawApproval>>,
    action: Option<S<RawAction>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArg {
    name: Option<S<String>>,
    #[serde(rename = "type")]
    kind: Option<S<String>>,
    choices: Option<S<Vec<S<String>>>>,
    description: Option<String>,
    pattern: Option<S<String>>,
    default: Option<S<toml::Value>>,
    required: Option<S<bool>>,
    secret: Option<bool>,
    min: Option<S<i64>>,
    max: Option<S<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApproval {
    when: Option<BTreeMap<S<String>, S<toml::Value>>>,
    approvals: Option<S<i64>>,
    approvers: Option<Vec<S<String>>>,
    approver_role: Option<S<String>>,
    allow_self: Option<bool>,
    expires_in: Option<S<String>>,
}

/// One struct for all action types, so that a field that does not belong to the chosen type
/// is reported at its own line instead of as a vague "unknown variant" error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    #[serde(rename = "type")]
    kind: Option<S<String>>,
    method: Option<S<String>>,
    url: Option<S<String>>,
    headers: Option<BTreeMap<S<String>, S<String>>>,
    body: Option<S<toml::Table>>,
    sign_secret_env: Option<S<String>>,
    program: Option<S<String>>,
    args: Option<Vec<S<String>>>,
    env: Option<BTreeMap<S<String>, S<String>>>,
    inherit_env: Option<Vec<S<String>>>,
    dry_run_args: Option<Vec<S<String>>>,
    workdir: Option<S<String>>,
    name: Option<S<String>>,
}

/// Collects the problems of one file.
struct Ctx<'a> {
    file: &'a Path,
    text: &'a str,
    problems: Vec<Problem>,
}

impl Ctx<'_> {
    fn line(&self, span: &Range<usize>) -> usize {
        line_of(self.text, span.start)
    }

    fn at(&mut self, span: &Range<usize>, message: impl Into<String>) {
        let line = self.line(span);
        self.problems.push(Problem::at(self.file, line, message));
    }

    fn at_line(&mut self, line: usize, message: impl Into<String>) {
        self.problems.push(Problem::at(self.file, line, message));
    }

    /// The line of `needle` inside the source text of `span`, so that a bad reference in a
    /// multi-line string or a body table points at its own line; the span's line otherwise.
    fn line_of_needle(&self, span: &Range<usize>, needle: &str) -> usize {
        let found = self
            .text
            .get(span.clone())
            .and_then(|source| source.find(needle));
        match found {
            Some(pos) => line_of(self.text, span.start + pos),
            None => self.line(span),
        }
    }

    /// Parses a value with `FromStr`, reporting the parser's message at the value's line.
    fn parse<T: std::str::FromStr<Err = String>>(&mut self, value: &S<String>) -> Option<T> {
        match value.get_ref().parse() {
            Ok(v) => Some(v),
            Err(message) => {
                self.at(&value.span(), message);
                None
            }
        }
    }

    fn duration(&mut self, key: &str, value: &Option<S<String>>, default: Duration) -> Duration {
        match value {
            None => default,
            Some(v) => match parse_duration(v.get_ref()) {
                Ok(d) => d,
                Err(message) => {
                    self.at(&v.span(), format!("{key}: {message}"));
                    default
                }
            },
        }
    }

    /// Checks that every reference in a template names an argument that always has a value.
    fn check_template(&mut self, what: &str, text: &str, span: &Range<usize>, args: &[ArgSpec]) {
        let refs = match template::references(text) {
            Ok(refs) => refs,
            Err(err) => {
                let line = self.line_of_needle(span, "{{");
                self.at_line(line, format!("{what}: {err}"));
                return;
            }
        };
        let mut seen = BTreeSet::new();
        for name in refs {
            if !seen.insert(name) {
                continue;
            }
            let line = self.line_of_needle(span, &format!("{{{{{name}}}}}"));
            match args.iter().find(|a| a.name == name) {
                None => self.at_line(
                    line,
                    format!("{what} uses `{{{{{name}}}}}`, but there is no argument `{name}`"),
                ),
                Some(arg) if !arg.required && arg.default.is_none() => self.at_line(
                    line,
                    format!(
                        "{what} uses `{{{{{name}}}}}`, but `{name}` is optional without a default, so it may have no value"
                    ),
                ),
                Some(_) => {}
            }
        }
    }

    fn check_spanned_template(&mut self, what: &str, value: &S<String>, args: &[ArgSpec]) {
        self.check_template(what, value.get_ref(), &value.span(), args);
    }

    /// Reports a string that must not contain templates.
    fn no_template(&mut self, what: &str, value: &S<String>) {
        if value.get_ref().contains("{{") {
            let line = self.line_of_needle(&value.span(), "{{");
            self.at_line(line, format!("{what} cannot contain templates"));
        }
    }
}

/// True for command names: `[a-z][a-z0-9-]*`.
fn is_command_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// True for Slack slash commands: `/` and up to 31 of `[a-z0-9_-]`, Slack's own limits.
fn is_slash_command(s: &str) -> bool {
    s.strip_prefix('/').is_some_and(|rest| {
        !rest.is_empty()
            && rest.len() <= 31
            && rest
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    })
}

/// True for names of environment variables: `[A-Za-z_][A-Za-z0-9_]*`.
fn is_env_var(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// True for the names of secret variables: `[A-Z_][A-Z0-9_]*`.
fn is_upper_env_var(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// True for built-in action names: `[a-z_]+(\.[a-z_]+)*`.
fn is_builtin_name(s: &str) -> bool {
    s.split('.')
        .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
}

/// True for HTTP header names (RFC 9110 tokens).
fn is_header_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

/// Argument names that would be confused with the grammar's own options.
const RESERVED_ARG_NAMES: [&str; 2] = ["reason", "dry_run"];

/// Converts a TOML scalar written as a default or a `when` value into the text a person would
/// type, so that it goes through the same validation as typed values.
fn scalar_text(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(n) => Some(n.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Converts a TOML body into JSON. Datetimes become their TOML text; non-finite floats have no
/// JSON form and are refused.
fn toml_to_json(value: &toml::Value) -> Result<serde_json::Value, String> {
    Ok(match value {
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Integer(n) => serde_json::Value::from(*n),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .ok_or_else(|| format!("body: {f} has no JSON form"))?,
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        toml::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(toml_to_json).collect::<Result<_, _>>()?)
        }
        toml::Value::Table(table) => serde_json::Value::Object(
            table
                .iter()
                .map(|(k, v)| Ok((k.clone(), toml_to_json(v)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

/// Parses one command file. `file` is only used in problems and recorded in the spec.
pub fn load_str(file: &Path, text: &str) -> Result<CommandSpec, Vec<Problem>> {
    let raw: RawCommand = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(err) => {
            let line = err.span().map(|s| line_of(text, s.start)).unwrap_or(1);
            let message = err.message().trim().to_string();
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

/// Builds the spec, recording problems in `ctx`. Returns `None` only when a part without any
/// sensible stand-in is missing; callers must look at `ctx.problems` regardless.
fn build(ctx: &mut Ctx<'_>, raw: RawCommand) -> Option<CommandSpec> {
    let dry_run = raw.dry_run.unwrap_or(false);

    let mut line = 1;
    let name = match &raw.name {
        None => {
            ctx.at_line(1, "missing `name`");
            String::new()
        }
        Some(name) => {
            line = ctx.line(&name.span());
            let n = name.get_ref();
            if !is_command_name(n) {
                ctx.at(
                    &name.span(),
                    format!("command name `{n}` must be lowercase letters, digits and `-`, starting with a letter"),
                );
            } else if registry::is_reserved(n) {
                ctx.at(
                    &name.span(),
                    format!("`{n}` is the name of a built-in command; choose another name"),
                );
            }
            n.clone()
        }
    };

    let summary = match &raw.summary {
        None => {
            ctx.at_line(1, "missing `summary`");
            String::new()
        }
        Some(s) if s.get_ref().trim().is_empty() || s.get_ref().contains('\n') => {
            ctx.at(&s.span(), "summary must be one non-empty line");
            String::new()
        }
        Some(s) => s.get_ref().trim().to_string(),
    };

    let slash_command = raw.command.as_ref().and_then(|c| {
        if is_slash_command(c.get_ref()) {
            Some(c.get_ref().clone())
        } else {
            ctx.at(
                &c.span(),
                format!(
                    "command `{}` is not a slash command: write `/` and lowercase letters, digits, `-` or `_`",
                    c.get_ref()
                ),
            );
            None
        }
    });

    let role = match &raw.role {
        None => {
            ctx.at_line(1, "missing `role` (viewer, operator or admin)");
            None
        }
        Some(r) => ctx.parse::<Role>(r),
    };

    let risk = raw
        .risk
        .as_ref()
        .and_then(|r| ctx.parse::<Risk>(r))
        .unwrap_or_default();

    let rate_limit = raw
        .rate_limit
        .as_ref()
        .and_then(|r| ctx.parse::<RateLimit>(r));
    let timeout = ctx.duration("timeout", &raw.timeout, DEFAULT_TIMEOUT);
    let retries = match &raw.retries {
        None => 0,
        Some(r) if *r.get_ref() > MAX_RETRIES => {
            ctx.at(&r.span(), format!("retries must be at most {MAX_RETRIES}"));
            0
        }
        Some(r) => *r.get_ref(),
    };
    let alert_channel = raw
        .alert_channel
        .as_ref()
        .and_then(|c| ctx.parse::<ChannelRef>(c));

    let args = build_args(ctx, &raw.args);
    let environment = raw
        .environment
        .as_ref()
        .and_then(|e| build_environment(ctx, e, &args));
    let approval = raw
        .approval
        .as_ref()
        .and_then(|a| build_approval(ctx, a, &args));
    let action = match &raw.action {
        None => {
            ctx.at_line(1, "missing `[action]`");
            None
        }
        Some(a) => build_action(ctx, a, &args, dry_run),
    };

    Some(CommandSpec {
        name,
        summary,
        description: raw.description.filter(|d| !d.trim().is_empty()),
        slash_command,
        role: role?,
        environment,
        risk,
        dry_run,
        rate_limit,
        timeout,
        retries,
        alert_channel,
        args,
        approval,
        action: action?,
        file: ctx.file.to_path_buf(),
        line,
    })
}

fn build_args(ctx: &mut Ctx<'_>, raw_args: &[S<RawArg>]) -> Vec<ArgSpec> {
    let mut args: Vec<ArgSpec> = Vec::new();
    for raw in raw_args {
        let header = raw.span();
        let raw = raw.get_ref();
        let Some(name) = &raw.name else {
            ctx.at(&header, "an argument is missing `name`");
            continue;
        };
        let n = name.get_ref().clone();
        if !is_arg_name(&n) {
            ctx.at(
                &name.span(),
                format!("argument name `{n}` must be lowercase letters, digits and `_`, starting with a letter"),
            );
        } else if RESERVED_ARG_NAMES.contains(&n.as_str()) {
            ctx.at(
                &name.span(),
                format!(
                    "`{n}` cannot be an argument name: it would be confused with --{}",
                    n.replace('_', "-")
                ),
            );
        } else if args.iter().any(|a| a.name == n) {
            ctx.at(&name.span(), format!("argument `{n}` is declared twice"));
        }

        let kind = match &raw.kind {
            None => {
                ctx.at(&name.span(), format!("argument `{n}` is missing `type`"));
                ArgType::String
            }
            Some(k) => match k.get_ref().as_str() {
                "string" => ArgType::String,
                "int" => ArgType::Int,
                "bool" => ArgType::Bool,
                "choice" => ArgType::Choice,
                "duration" => ArgType::Duration,
                other => {
                    ctx.at(
                        &k.span(),
                        format!("unknown argument type `{other}` (expected string, int, bool, choice or duration)"),
                    );
                    ArgType::String
                }
            },
        };

        let mut choices = Vec::new();
        match (&raw.choices, kind) {
            (None, ArgType::Choice) => ctx.at(
                &name.span(),
                format!("argument `{n}` is a choice, so it needs `choices`"),
            ),
            (Some(c), ArgType::Choice) => {
                if c.get_ref().is_empty() {
                    ctx.at(&c.span(), "choices cannot be empty");
                }
                for choice in c.get_ref() {
                    let value = choice.get_ref();
                    if value.trim().is_empty() || value.chars().any(char::is_whitespace) {
                        ctx.at(
                            &choice.span(),
                            format!("choice `{value}` must be non-empty and without spaces"),
                        );
                    } else if choices.contains(value) {
                        ctx.at(&choice.span(), format!("choice `{value}` is listed twice"));
                    } else {
                        choices.push(value.clone());
                    }
                }
            }
            (Some(c), _) => ctx.at(
                &c.span(),
                "`choices` is only allowed with type = \"choice\"",
            ),
            (None, _) => {}
        }

        let pattern = match (&raw.pattern, kind) {
            (Some(p), ArgType::String) => match regex::Regex::new(p.get_ref()) {
                Ok(re) => Some(re),
                Err(err) => {
                    let first = err.to_string();
                    let summary = first.lines().last().unwrap_or("invalid").trim();
                    ctx.at(
                        &p.span(),
                        format!("pattern `{}` is not a valid regex: {summary}", p.get_ref()),
                    );
                    None
                }
            },
            (Some(p), _) => {
                ctx.at(
                    &p.span(),
                    "`pattern` is only allowed with type = \"string\"",
                );
                None
            }
            (None, _) => None,
        };

        for (key, bound) in [("min", &raw.min), ("max", &raw.max)] {
            if let (Some(b), true) = (bound, kind != ArgType::Int) {
                ctx.at(
                    &b.span(),
                    format!("`{key}` is only allowed with type = \"int\""),
                );
            }
        }
        let (min, max) = if kind == ArgType::Int {
            (
                raw.min.as_ref().map(|m| *m.get_ref()),
                raw.max.as_ref().map(|m| *m.get_ref()),
            )
        } else {
            (None, None)
        };
        if let (Some(lo), Some(hi), Some(span)) = (min, max, raw.max.as_ref().map(|m| m.span())) {
            if lo > hi {
                ctx.at(&span, format!("max {hi} is smaller than min {lo}"));
            }
        }

        let mut arg = ArgSpec {
            name: n.clone(),
            kind,
            description: raw.description.clone(),
            choices,
            pattern,
            default: None,
            required: false,
            secret: raw.secret.unwrap_or(false),
            min,
            max,
        };

        if let Some(default) = &raw.default {
            match scalar_text(default.get_ref()) {
                None => ctx.at(
                    &default.span(),
                    "default must be a string, a number or true/false",
                ),
                Some(text) => match arg.parse_value(&text) {
                    // The canonical form is stored, so `yes` and `true` compare equal later.
                    Ok(value) => arg.default = Some(value.to_string()),
                    // Keeping the text avoids follow-up problems about a missing default; the
                    // spec is discarded anyway because of this problem.
                    Err(err) => {
                        ctx.at(&default.span(), format!("default is invalid: {err}"));
                        arg.default = Some(text);
                    }
                },
            }
        }
        arg.required = match &raw.required {
            Some(r) if *r.get_ref() && raw.default.is_some() => {
                ctx.at(
                    &r.span(),
                    format!("argument `{n}` has a default, so it cannot be required"),
                );
                false
            }
            Some(r) => *r.get_ref(),
            None => raw.default.is_none(),
        };
        args.push(arg);
    }
    args
}

fn build_environment(ctx: &mut Ctx<'_>, env: &S<String>, args: &[ArgSpec]) -> Option<EnvScope> {
    let value = env.get_ref();
    if !value.contains("{{") {
        if crate::model::is_name(value) {
            return Some(EnvScope::Literal(value.clone()));
        }
        ctx.at(
            &env.span(),
            format!("environment `{value}` must be a name like prod, or one argument like \"{{{{env}}}}\""),
        );
        return None;
    }
    let refs = match template::parse(value) {
        Ok(segments) => segments,
        Err(err) => {
            ctx.at(&env.span(), format!("environment: {err}"));
            return None;
        }
    };
    let [template::Segment::Ref(name)] = refs.as_slice() else {
        ctx.at(
            &env.span(),
            format!("environment `{value}` must be exactly one argument like \"{{{{env}}}}\", with nothing around it"),
        );
        return None;
    };
    let Some(arg) = args.iter().find(|a| a.name == *name) else {
        ctx.at(
            &env.span(),
            format!("environment uses `{{{{{name}}}}}`, but there is no argument `{name}`"),
        );
        return None;
    };
    let mut ok = true;
    if !matches!(arg.kind, ArgType::Choice | ArgType::String) {
        ctx.at(
            &env.span(),
            format!(
                "environment argument `{name}` must be a choice (or a string), not {}",
                arg.kind
            ),
        );
        ok = false;
    }
    if arg.secret {
        ctx.at(
            &env.span(),
            format!("environment argument `{name}` cannot be secret: environments are shown in audit records"),
        );
        ok = false;
    }
    // An environment that can be absent would let an invocation escape its RBAC scope.
    if !arg.required && arg.default.is_none() {
        ctx.at(
            &env.span(),
            format!("environment argument `{name}` must be required or have a default"),
        );
        ok = false;
    }
    ok.then(|| EnvScope::Arg(name.to_string()))
}

fn build_approval(
    ctx: &mut Ctx<'_>,
    raw: &S<RawApproval>,
    args: &[ArgSpec],
) -> Option<ApprovalSpec> {
    let header = raw.span();
    let raw = raw.get_ref();
    let mut when = Vec::new();
    for (key, value) in raw.when.iter().flatten() {
        let name = key.get_ref();
        let Some(arg) = args.iter().find(|a| &a.name == name) else {
            ctx.at(
                &key.span(),
                format!("approval `when` names `{name}`, but there is no argument `{name}`"),
            );
            continue;
        };
        // A condition on an absent value would silently skip approval.
        if !arg.required && arg.default.is_none() {
            ctx.at(
                &key.span(),
                format!("approval `when` uses `{name}`, which must be required or have a default"),
            );
        }
        let items: Vec<toml::Value> = match value.get_ref() {
            toml::Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        if items.is_empty() {
            ctx.at(
                &value.span(),
                format!("approval `when` lists no values for `{name}`"),
            );
        }
        let mut values = Vec::new();
        for item in &items {
            match scalar_text(item).map(|t| arg.parse_value(&t)) {
                Some(Ok(v)) => values.push(v.to_string()),
                Some(Err(err)) => ctx.at(&value.span(), format!("approval `when`: {err}")),
                None => ctx.at(
                    &value.span(),
                    format!("approval `when` values for `{name}` must be strings, numbers or true/false"),
                ),
            }
        }
        when.push((name.clone(), values));
    }

    let approvals = match &raw.approvals {
        None => 1,
        Some(a) => match u32::try_from(*a.get_ref()) {
            Ok(n) if n >= 1 => n,
            _ => {
                ctx.at(&a.span(), "approvals must be at least 1");
                1
            }
        },
    };
    let mut approvers = Vec::new();
    for approver in raw.approvers.iter().flatten() {
        if let Some(subject) = ctx.parse::<Subject>(approver) {
            if approvers.contains(&subject) {
                ctx.at(
                    &approver.span(),
                    format!("approver `{subject}` is listed twice"),
                );
            } else {
                approvers.push(subject);
            }
        }
    }
    let approver_role = raw
        .approver_role
        .as_ref()
        .and_then(|r| ctx.parse::<Role>(r));
    if raw.approvers.as_ref().is_none_or(|a| a.is_empty()) && raw.approver_role.is_none() {
        ctx.at(
            &header,
            "approval needs `approvers`, `approver_role` or both",
        );
    }
    // Individually named people are the only approvers whose number is known here; groups and
    // roles can grow, so only an all-individuals list can be shown to be too short.
    let all_individuals = approver_role.is_none()
        && !approvers.is_empty()
        && approvers.iter().all(|s| !matches!(s, Subject::Group(_)));
    if all_individuals && approvals as usize > approvers.len() {
        if let Some(a) = &raw.approvals {
            ctx.at(
                &a.span(),
                format!(
                    "approvals = {approvals} can never be reached: only {} approvers are listed",
                    approvers.len()
                ),
            );
        }
    }
    let expires_in = ctx.duration("expires_in", &raw.expires_in, DEFAULT_EXPIRES_IN);
    Some(ApprovalSpec {
        when,
        approvals,
        approvers,
        approver_role,
        allow_self: raw.allow_self.unwrap_or(false),
        expires_in,
    })
}

fn build_action(
    ctx: &mut Ctx<'_>,
    raw: &S<RawAction>,
    args: &[ArgSpec],
    dry_run: bool,
) -> Option<ActionSpec> {
    let header = raw.span();
    let raw = raw.get_ref();
    let Some(kind) = &raw.kind else {
        ctx.at(&header, "action is missing `type` (http, exec or builtin)");
        return None;
    };
    let kind_name = kind.get_ref().as_str();
    let allowed: &[&str] = match kind_name {
        "http" => &["method", "url", "headers", "body", "sign_secret_env"],
        "exec" => &[
            "program",
            "args",
            "env",
            "inherit_env",
            "dry_run_args",
            "workdir",
        ],
        "builtin" => &["name"],
        other => {
            ctx.at(
                &kind.span(),
                format!("unknown action type `{other}` (expected http, exec or builtin)"),
            );
            return None;
        }
    };
    let first_key_span = |m: &BTreeMap<S<String>, S<String>>| m.keys().next().map(|k| k.span());
    let first_item_span = |v: &Vec<S<String>>| v.first().map(|k| k.span());
    let present: [(&str, Option<Range<usize>>); 12] = [
        ("method", raw.method.as_ref().map(|v| v.span())),
        ("url", raw.url.as_ref().map(|v| v.span())),
        (
            "headers",
            raw.headers
                .as_ref()
                .map(|m| first_key_span(m).unwrap_or(header.clone())),
        ),
        ("body", raw.body.as_ref().map(|v| v.span())),
        (
            "sign_secret_env",
            raw.sign_secret_env.as_ref().map(|v| v.span()),
        ),
        ("program", raw.program.as_ref().map(|v| v.span())),
        (
            "args",
            raw.args
                .as_ref()
                .map(|v| first_item_span(v).unwrap_or(header.clone())),
        ),
        (
            "env",
            raw.env
                .as_ref()
                .map(|m| first_key_span(m).unwrap_or(header.clone())),
        ),
        (
            "inherit_env",
            raw.inherit_env
                .as_ref()
                .map(|v| first_item_span(v).unwrap_or(header.clone())),
        ),
        (
            "dry_run_args",
            raw.dry_run_args
                .as_ref()
                .map(|v| first_item_span(v).unwrap_or(header.clone())),
        ),
        ("workdir", raw.workdir.as_ref().map(|v| v.span())),
        ("name", raw.name.as_ref().map(|v| v.span())),
    ];
    for (key, span) in present {
        if let Some(span) = span {
            if !allowed.contains(&key) {
                ctx.at(
                    &span,
                    format!("`{key}` is not allowed in an action of type {kind_name}"),
                );
            }
        }
    }
    match kind_name {
        "http" => build_http(ctx, raw, &header, args),
        "exec" => build_exec(ctx, raw, &header, args, dry_run),
        _ => match &raw.name {
            None => {
                ctx.at(&header, "a builtin action needs `name`, e.g. \"flags.set\"");
                None
            }
            Some(name) if !is_builtin_name(name.get_ref()) => {
                ctx.at(
                    &name.span(),
                    format!("builtin name `{}` must look like flags.set", name.get_ref()),
                );
                None
            }
            Some(name) => Some(ActionSpec::Builtin {
                name: name.get_ref().clone(),
            }),
        },
    }
}

fn build_http(
    ctx: &mut Ctx<'_>,
    raw: &RawAction,
    header: &Range<usize>,
    args: &[ArgSpec],
) -> Option<ActionSpec> {
    let method = raw
        .method
        .as_ref()
        .and_then(|m| ctx.parse::<HttpMethod>(m))
        .unwrap_or_default();
    let url = match &raw.url {
        None => {
            ctx.at(header, "an http action needs `url`");
            None
        }
        Some(url) => {
            let text = url.get_ref();
            let rest = text
                .strip_prefix("https://")
                .or_else(|| text.strip_prefix("http://"));
            match rest {
                None => ctx.at(
                    &url.span(),
                    format!("url `{text}` must start with http:// or https://"),
                ),
                Some(rest) => {
                    // The host decides where arguments (and the signature) are sent, so it is
                    // never taken from what a person typed.
                    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
                    if host.is_empty() {
                        ctx.at(&url.span(), format!("url `{text}` has no host"));
                    } else if host.contains("{{") {
                        ctx.at(&url.span(), "the host of the url cannot contain templates");
                    } else {
                        ctx.check_spanned_template("url", url, args);
                    }
                }
            }
            Some(text.clone())
        }
    };
    let mut headers = BTreeMap::new();
    for (key, value) in raw.headers.iter().flatten() {
        if !is_header_name(key.get_ref()) {
            ctx.at(
                &key.span(),
                format!("`{}` is not a valid header name", key.get_ref()),
            );
        }
        if value.get_ref().chars().any(char::is_control) {
            ctx.at(
                &value.span(),
                format!(
                    "header `{}` cannot contain control characters",
                    key.get_ref()
                ),
            );
        }
        ctx.check_spanned_template(&format!("header `{}`", key.get_ref()), value, args);
        headers.insert(key.get_ref().clone(), value.get_ref().clone());
    }
    let body = raw.body.as_ref().and_then(|b| {
        if method == HttpMethod::Get {
            ctx.at(
                &b.span(),
                "a GET request has no body; put values in the url instead",
            );
        }
        let json = match toml_to_json(&toml::Value::Table(b.get_ref().clone())) {
            Ok(json) => json,
            Err(message) => {
                ctx.at(&b.span(), message);
                return None;
            }
        };
        for s in template::json_strings(&json) {
            ctx.check_template("body", s, &b.span(), args);
        }
        Some(json)
    });
    let sign_secret_env = raw.sign_secret_env.as_ref().and_then(|s| {
        if is_upper_env_var(s.get_ref()) {
            Some(s.get_ref().clone())
        } else {
            ctx.at(
                &s.span(),
                format!("sign_secret_env `{}` must be an environment variable name like DEPLOYER_HMAC_SECRET", s.get_ref()),
            );
            None
        }
    });
    Some(ActionSpec::Http {
        method,
        url: url?,
        headers,
        body,
        sign_secret_env,
    })
}

fn build_exec(
    ctx: &mut Ctx<'_>,
    raw: &RawAction,
    header: &Range<usize>,
    args: &[ArgSpec],
    dry_run: bool,
) -> Option<ActionSpec> {
    let program = match &raw.program {
        None => {
            ctx.at(header, "an exec action needs `program`");
            None
        }
        Some(p) => {
            ctx.no_template("program", p);
            if !p.get_ref().starts_with('/') {
                ctx.at(
                    &p.span(),
                    format!("program `{}` must be an absolute path, so that PATH cannot change what runs", p.get_ref()),
                );
            }
            Some(PathBuf::from(p.get_ref()))
        }
    };
    let mut argv = Vec::new();
    for a in raw.args.iter().flatten() {
        ctx.check_spanned_template("args", a, args);
        argv.push(a.get_ref().clone());
    }
    let mut dry_run_args = Vec::new();
    for a in raw.dry_run_args.iter().flatten() {
        ctx.check_spanned_template("dry_run_args", a, args);
        dry_run_args.push(a.get_ref().clone());
    }
    if let (Some(first), false) = (raw.dry_run_args.as_ref().and_then(|v| v.first()), dry_run) {
        ctx.at(
            &first.span(),
            "dry_run_args is set, but the command does not have dry_run = true",
        );
    }
    let mut env = BTreeMap::new();
    for (key, value) in raw.env.iter().flatten() {
        if !is_env_var(key.get_ref()) {
            ctx.at(
                &key.span(),
                format!("`{}` is not an environment variable name", key.get_ref()),
            );
        }
        // Environment values are fixed so that typed text never reaches a program through a
        // channel the file does not show; arguments go through `args`.
        ctx.no_template(&format!("env `{}`", key.get_ref()), value);
        env.insert(key.get_ref().clone(), value.get_ref().clone());
    }
    let mut inherit_env = Vec::new();
    for name in raw.inherit_env.iter().flatten() {
        if !is_env_var(name.get_ref()) {
            ctx.at(
                &name.span(),
                format!("`{}` is not an environment variable name", name.get_ref()),
            );
        }
        inherit_env.push(name.get_ref().clone());
    }
    let workdir = raw.workdir.as_ref().map(|w| {
        ctx.no_template("workdir", w);
        if !w.get_ref().starts_with('/') {
            ctx.at(
                &w.span(),
                format!("workdir `{}` must be an absolute path", w.get_ref()),
            );
        }
        PathBuf::from(w.get_ref())
    });
    Some(ActionSpec::Exec {
        program: program?,
        args: argv,
        env,
        inherit_env,
        dry_run_args,
        workdir,
    })
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
mod tests {
    use super::*;

    /// A valid file with one line per key, so that line numbers in the cases are easy to
    /// count: the name is on line 1, `[action]` on line 9.
    const BASE: &str = r#"name = "deploy"
summary = "Deploy"
role = "operator"
environment = "{{env}}"
[[args]]
name = "env"
type = "choice"
choices = ["staging", "prod"]
[action]
type = "http"
url = "https://deployer.internal/{{env}}"
"#;

    fn load(text: &str) -> Result<CommandSpec, Vec<Problem>> {
        load_str(Path::new("commands/x.toml"), text)
    }

    /// The (line, message) pairs of a file that must fail.
    fn problems(text: &str) -> Vec<(usize, String)> {
        match load(text) {
            Ok(_) => panic!("expected problems in:\n{text}"),
            Err(problems) => problems
                .into_iter()
                .map(|p| {
                    assert_eq!(p.file, Path::new("commands/x.toml"));
                    (p.line.expect("every problem has a line"), p.message)
                })
                .collect(),
        }
    }

    #[test]
    fn base_file_loads() {
        let spec = load(BASE).unwrap();
        assert_eq!(spec.name, "deploy");
        assert_eq!(spec.line, 1);
        assert_eq!(spec.role, Role::Operator);
        assert_eq!(spec.environment, Some(EnvScope::Arg("env".into())));
        assert_eq!(spec.timeout, DEFAULT_TIMEOUT);
        assert_eq!(spec.risk, Risk::Low);
        assert!(spec.args[0].required);
        assert_eq!(spec.action.kind(), "http");
    }

    #[test]
    fn full_file_loads_every_field() {
        let text = r#"
name = "scale"
summary = "Scale"
description = "Longer"
command = "/scale"
role = "admin"
environment = "prod"
risk = "medium"
dry_run = true
rate_limit = "3/10m"
timeout = "2m"
retries = 3
alert_channel = "discord:123"
[[args]]
name = "replicas"
type = "int"
min = 1
max = 20
default = 2
[[args]]
name = "force"
type = "bool"
default = "yes"
[[args]]
name = "token"
type = "string"
secret = true
required = false
[[args]]
name = "wait"
type = "duration"
default = "600s"
[approval]
when = { force = [true], replicas = [1, "2"] }
approvals = 2
approvers = ["alice", "bob", "group:sre"]
allow_self = true
expires_in = "45m"
[action]
type = "exec"
program = "/usr/bin/scale"
args = ["--replicas={{replicas}}", "--wait", "{{wait}}"]
dry_run_args = ["-n"]
env = { MODE = "x" }
inherit_env = ["PATH", "http_proxy"]
workdir = "/tmp"
"#;
        let spec = load(text).unwrap();
        assert_eq!(spec.line, 2);
        assert_eq!(spec.slash_command.as_deref(), Some("/scale"));
        assert_eq!(spec.environment, Some(EnvScope::Literal("prod".into())));
        assert_eq!(spec.rate_limit.unwrap().per, Duration::from_secs(600));
        assert_eq!(spec.retries, 3);
        assert_eq!(spec.args[0].default.as_deref(), Some("2"));
        assert_eq!(spec.args[1].default.as_deref(), Some("true"));
        assert!(!spec.args[2].required && spec.args[2].secret);
        assert_eq!(spec.args[3].default.as_deref(), Some("10m"));
        let approval = spec.approval.as_ref().unwrap();
        assert_eq!(
            approval.when,
            vec![
                ("force".to_string(), vec!["true".to_string()]),
                (
                    "replicas".to_string(),
                    vec!["1".to_string(), "2".to_string()]
                ),
            ]
        );
        assert_eq!(approval.expires_in, Duration::from_secs(2700));
        assert_eq!(spec.possible_environments(), Some(vec!["prod".to_string()]));
        match &spec.action {
            ActionSpec::Exec {
                program,
                args,
                env,
                inherit_env,
                dry_run_args,
                workdir,
            } => {
                assert_eq!(program, Path::new("/usr/bin/scale"));
                assert_eq!(args.len(), 3);
                assert_eq!(env.get("MODE").map(String::as_str), Some("x"));
                assert_eq!(inherit_env.len(), 2);
                assert_eq!(dry_run_args, &["-n"]);
                assert_eq!(workdir.as_deref(), Some(Path::new("/tmp")));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn http_body_becomes_json() {
        let text = format!(
            "{BASE}method = \"PUT\"\nheaders = {{ X-Env = \"{{{{env}}}}\" }}\n[action.body]\nenv = \"{{{{env}}}}\"\nn = 1.5\nlist = [1, \"a\"]\nwhen = 1979-05-27T07:32:00Z\n"
        );
        let spec = load(&text).unwrap();
        let ActionSpec::Http {
            method,
            headers,
            body,
            ..
        } = &spec.action
        else {
            panic!("not http");
        };
        assert_eq!(*method, HttpMethod::Put);
        assert_eq!(headers.get("X-Env").map(String::as_str), Some("{{env}}"));
        assert_eq!(
            body.as_ref().unwrap(),
            &serde_json::json!({"env": "{{env}}", "n": 1.5, "list": [1, "a"], "when": "1979-05-27T07:32:00Z"})
        );
    }

    /// Replaces line `n` (1-based) of BASE, or inserts after it with `+`.
    fn edit(line: usize, replacement: &str) -> String {
        let mut lines: Vec<&str> = BASE.lines().collect();
        lines[line - 1] = replacement;
        lines.join("\n") + "\n"
    }

    fn append(extra: &str) -> String {
        format!("{BASE}{extra}")
    }

    /// BASE with its action replaced by an exec action whose fields start at line 11.
    fn exec(fields: &str) -> String {
        let head = BASE.split("[action]").next().unwrap_or_default();
        format!("{head}[action]\ntype = \"exec\"\n{fields}\n")
    }

    /// BASE with its action replaced by a builtin action whose fields start at line 11.
    fn builtin(fields: &str) -> String {
        let head = BASE.split("[action]").next().unwrap_or_default();
        format!("{head}[action]\ntype = \"builtin\"\n{fields}\n")
    }

    #[test]
    fn problems_with_lines() {
        let cases: Vec<(String, Vec<(usize, &str)>)> = vec![
            // Syntax, unknown keys and wrong types come from the deserializer.
            (edit(2, "summary = \"Deploy"), vec![(2, "")]),
            (
                edit(2, "colour = \"red\""),
                vec![(2, "unknown field `colour`")],
            ),
            (
                edit(7, "typo = \"choice\""),
                vec![(7, "unknown field `typo`")],
            ),
            (append("bogus = 1\n"), vec![(12, "unknown field `bogus`")]),
            (
                append("[approval]\nwhen = { env = [\"prod\"] }\napprovers = [\"a\"]\nextra = 1\n"),
                vec![(15, "unknown field `extra`")],
            ),
            (edit(3, "role = 5"), vec![(3, "invalid type")]),
            (append("retries = -1\n"), vec![(12, "")]),
            // Top-level semantics.
            (
                edit(1, "name = \"Deploy\""),
                vec![(1, "command name `Deploy`")],
            ),
            (edit(1, "name = \"help\""), vec![(1, "built-in command")]),
            (edit(1, "# no name"), vec![(1, "missing `name`")]),
            (
                edit(2, "summary = \"  \""),
                vec![(2, "summary must be one non-empty line")],
            ),
            (edit(3, "role = \"root\""), vec![(3, "unknown role `root`")]),
            (edit(3, "risk = \"low\""), vec![(1, "missing `role`")]),
            (
                edit(2, "summary = \"x\"\nrisk = \"extreme\""),
                vec![(3, "unknown risk `extreme`")],
            ),
            (
                edit(2, "summary = \"x\"\ncommand = \"deploy\""),
                vec![(3, "not a slash command")],
            ),
            (
                edit(2, "summary = \"x\"\nrate_limit = \"10/fortnight\""),
                vec![(3, "not a rate limit")],
            ),
            (
                edit(2, "summary = \"x\"\ntimeout = \"10\""),
                vec![(3, "timeout: `10` is not a duration")],
            ),
            (
                edit(2, "summary = \"x\"\nretries = 11"),
                vec![(3, "retries must be at most 10")],
            ),
            (
                edit(2, "summary = \"x\"\nalert_channel = \"mail:x\""),
                vec![(3, "not a channel")],
            ),
            // Environment.
            (
                edit(4, "environment = \"Prod!\""),
                vec![(4, "must be a name")],
            ),
            (
                edit(4, "environment = \"{{nope}}\""),
                vec![(4, "no argument `nope`")],
            ),
            (
                edit(4, "environment = \"x-{{env}}\""),
                vec![(4, "exactly one argument")],
            ),
            (
                edit(4, "environment = \"{{ env }}\""),
                vec![(4, "not a template reference")],
            ),
            (
                edit(8, "choices = [\"staging\", \"prod\"]\nrequired = false"),
                vec![
                    (4, "must be required or have a default"),
                    (12, "optional without a default"),
                ],
            ),
            (
                edit(7, "type = \"int\"").replace("choices = [\"staging\", \"prod\"]\n", ""),
                vec![(4, "must be a choice")],
            ),
            (
                edit(8, "choices = [\"staging\", \"prod\"]\nsecret = true"),
                vec![(4, "cannot be secret")],
            ),
            // Arguments.
            (
                edit(6, "name = \"Env\""),
                vec![
                    (4, "no argument `env`"),
                    (6, "argument name `Env`"),
                    (11, "no argument `env`"),
                ],
            ),
            (
                edit(6, "name = \"reason\""),
                vec![
                    (4, "no argument `env`"),
                    (6, "confused with --reason"),
                    (11, "no argument `env`"),
                ],
            ),
            (
                edit(6, "# no name"),
                vec![
                    (4, "no argument `env`"),
                    (5, "missing `name`"),
                    (11, "no argument `env`"),
                ],
            ),
            (
                append("[[args]]\nname = \"env\"\ntype = \"string\"\n").replace(
                    "[action]\ntype = \"http\"\nurl = \"https://deployer.internal/{{env}}\"\n",
                    "",
                ) + "[action]\ntype = \"builtin\"\nname = \"a.b\"\n",
                vec![(10, "declared twice")],
            ),
            (
                edit(7, "kind = \"choice\""),
                vec![(7, "unknown field `kind`")],
            ),
            (
                edit(7, "type = \"float\""),
                vec![
                    (7, "unknown argument type `float`"),
                    (8, "only allowed with type = \"choice\""),
                ],
            ),
            (edit(8, "# no choices"), vec![(6, "needs `choices`")]),
            (
                edit(8, "choices = []"),
                vec![(8, "choices cannot be empty")],
            ),
            (
                edit(8, "choices = [\"a\",\n  \"a\",\n  \"b c\"]"),
                vec![(9, "listed twice"), (10, "without spaces")],
            ),
            (
                append("[[args]]\nname = \"v\"\ntype = \"string\"\npattern = '^v(\\d+$'\n"),
                vec![(15, "pattern `^v(\\d+$` is not a valid regex")],
            ),
            (
                append("[[args]]\nname = \"v\"\ntype = \"int\"\npattern = 'x'\nmin = 3\nmax = 2\n"),
                vec![
                    (15, "only allowed with type = \"string\""),
                    (17, "max 2 is smaller than min 3"),
                ],
            ),
            (
                append("[[args]]\nname = \"v\"\ntype = \"bool\"\nmin = 3\n"),
                vec![(15, "`min` is only allowed with type = \"int\"")],
            ),
            (
                edit(8, "choices = [\"staging\", \"prod\"]\ndefault = \"qa\""),
                vec![(
                    9,
                    "default is invalid: argument `env`: `qa` is not one of staging, prod",
                )],
            ),
            (
                append("[[args]]\nname = \"n\"\ntype = \"int\"\nmax = 5\ndefault = 9\n"),
                vec![(
                    16,
                    "default is invalid: argument `n`: 9 is too large: use at most 5",
                )],
            ),
            (
                append("[[args]]\nname = \"d\"\ntype = \"duration\"\ndefault = [1]\n"),
                vec![(15, "default must be a string, a number or true/false")],
            ),
            (
                edit(
                    8,
                    "choices = [\"staging\", \"prod\"]\ndefault = \"prod\"\nrequired = true",
                ),
                vec![(10, "has a default, so it cannot be required")],
            ),
            // Approval.
            (
                append("[approval]\nwhen = { nope = [\"x\"] }\napprovers = [\"a\"]\n"),
                vec![(13, "there is no argument `nope`")],
            ),
            (
                append("[approval]\nwhen = { env = [\"qa\"] }\napprovers = [\"a\"]\n"),
                vec![(
                    13,
                    "approval `when`: argument `env`: `qa` is not one of staging, prod",
                )],
            ),
            (
                append("[approval]\nwhen = { env = [] }\napprovers = [\"a\"]\n"),
                vec![(13, "lists no values")],
            ),
            (
                append("[approval]\napprovals = 0\napprovers = [\"a\"]\n"),
                vec![(13, "approvals must be at least 1")],
            ),
            (
                append("[approval]\napprovals = 3\napprovers = [\"alice\", \"slack:T1/U2\"]\n"),
                vec![(13, "can never be reached")],
            ),
            (
                append("[approval]\napprovers = [\"alice\",\n \"Bob\",\n \"alice\"]\n"),
                vec![(14, "not a subject"), (15, "listed twice")],
            ),
            (
                append("[approval]\nexpires_in = \"1w\"\n"),
                vec![
                    (12, "needs `approvers`, `approver_role` or both"),
                    (13, "expires_in"),
                ],
            ),
            (
                append("[approval]\napprover_role = \"boss\"\n"),
                vec![(13, "unknown role `boss`")],
            ),
            // Actions.
            (
                BASE.replace(
                    "[action]\ntype = \"http\"\nurl = \"https://deployer.internal/{{env}}\"\n",
                    "",
                ),
                vec![(1, "missing `[action]`")],
            ),
            (edit(10, "method = \"GET\""), vec![(9, "missing `type`")]),
            (
                edit(10, "type = \"ftp\""),
                vec![(10, "unknown action type `ftp`")],
            ),
            (
                edit(11, "program = \"/bin/x\""),
                vec![
                    (9, "needs `url`"),
                    (11, "`program` is not allowed in an action of type http"),
                ],
            ),
            (
                edit(11, "url = \"ftp://x/{{env}}\""),
                vec![(11, "must start with http:// or https://")],
            ),
            (
                edit(11, "url = \"https://{{env}}.internal/\""),
                vec![(11, "host of the url cannot contain templates")],
            ),
            (edit(11, "url = \"https:///x\""), vec![(11, "has no host")]),
            (
                edit(11, "url = \"https://x/{{envs}}\""),
                vec![(11, "url uses `{{envs}}`, but there is no argument `envs`")],
            ),
            (
                edit(11, "url = \"https://x/{{env\""),
                vec![(11, "never closed")],
            ),
            (
                append("method = \"FETCH\"\n"),
                vec![(12, "unknown method `FETCH`")],
            ),
            (
                append("headers = { \"Bad Header\" = \"x\", X-A = \"{{nope}}\" }\n"),
                vec![
                    (12, "not a valid header name"),
                    (12, "header `X-A` uses `{{nope}}`"),
                ],
            ),
            (
                append("sign_secret_env = \"lower\"\n"),
                vec![(12, "sign_secret_env `lower`")],
            ),
            (
                append("method = \"GET\"\n[action.body]\na = 1\nb = \"{{missing}}\"\n"),
                vec![
                    (13, "a GET request has no body"),
                    (15, "body uses `{{missing}}`"),
                ],
            ),
            (
                append("[action.body]\nx = \"\"\"\nline one\n{{nope}}\"\"\"\n"),
                vec![(15, "body uses `{{nope}}`")],
            ),
        ];
        let cases = cases.into_iter().chain(vec![
            // Exec and builtin actions.
            (exec("program = \"restart\""), vec![(11, "must be an absolute path")]),
            (exec("program = \"/bin/{{env}}\""), vec![(11, "program cannot contain templates")]),
            (exec("program = \"/bin/x\"\nargs = [\"a\",\n  \"{{nope}}\"]"), vec![(13, "args uses `{{nope}}`")]),
            (exec("program = \"/bin/x\"\ndry_run_args = [\"-n\"]"), vec![(12, "does not have dry_run = true")]),
            (exec("program = \"/bin/x\"\nenv = { MODE = \"{{env}}\", \"1X\" = \"y\" }"), vec![(12, "`1X` is not an environment variable name"), (12, "env `MODE` cannot contain templates")]),
            (exec("program = \"/bin/x\"\ninherit_env = [\"PATH\", \"A-B\"]"), vec![(12, "`A-B` is not an environment variable name")]),
            (exec("program = \"/bin/x\"\nworkdir = \"tmp\""), vec![(12, "workdir `tmp` must be an absolute path")]),
            (exec("program = \"/bin/x\"\nurl = \"https://x\""), vec![(12, "`url` is not allowed in an action of type exec")]),
            (exec("args = []"), vec![(9, "an exec action needs `program`")]),
            (builtin(""), vec![(9, "a builtin action needs `name`")]),
            (builtin("name = \"Flags.Set\""), vec![(11, "must look like flags.set")]),
            (builtin("name = \"flags..set\""), vec![(11, "must look like flags.set")]),
            (builtin("name = \"flags.set\"\nmethod = \"GET\""), vec![(12, "`method` is not allowed in an action of type builtin")]),
            (
                append("[[args]]\nname = \"opt\"\ntype = \"string\"\nrequired = false\n[action.body]\nx = \"{{opt}}\"\n")
                    .replace("[action]\ntype = \"http\"\nurl = \"https://deployer.internal/{{env}}\"\n[[args]]", "[[args]]")
                    .replace("[action.body]", "[action]\ntype = \"http\"\nurl = \"https://deployer.internal/{{env}}\"\n[action.body]"),
                vec![(17, "body uses `{{opt}}`, but `opt` is optional without a default")],
            ),
            (append("[action.body]\nx = nan\n"), vec![(12, "has no JSON form")]),
        ]);
        let mut failures = Vec::new();
        for (text, want) in cases {
            let got = problems(&text);
            let matches = got.len() == want.len()
                && got
                    .iter()
                    .zip(&want)
                    .all(|((line, message), (want_line, want_message))| {
                        line == want_line && message.contains(want_message)
                    });
            if !matches {
                failures.push(format!("{text}=> got {got:?}\n   want {want:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    }

    /// A fresh scratch directory for one test.
    fn scratch_dir(test: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("warden-commands-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn load_dir_reports_every_file() {
        let dir = scratch_dir("every-file");
        let slash = BASE.replace("role = ", "command = \"/deploy\"\nrole = ");
        std::fs::write(dir.join("a.toml"), &slash).unwrap();
        // Same name as a.toml: reported at b.toml's name line.
        std::fs::write(dir.join("b.toml"), format!("# copy\n{BASE}")).unwrap();
        // Another name but the same slash command.
        std::fs::write(dir.join("c.toml"), slash.replace("\"deploy\"", "\"ship\"")).unwrap();
        std::fs::write(dir.join("d.toml"), "name = \"broken\"\nsummary = 3\n").unwrap();
        std::fs::write(dir.join("e.toml"), BASE.replace("\"deploy\"", "\"ok\"")).unwrap();
        std::fs::write(dir.join("notes.txt"), "not a command").unwrap();
        let problems = load_dir(&dir).unwrap_err();
        let got: Vec<(String, Option<usize>, bool)> = problems
            .iter()
            .map(|p| {
                (
                    p.file.file_name().unwrap().to_string_lossy().into_owned(),
                    p.line,
                    p.message.contains("already"),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("b.toml".to_string(), Some(2), true),
                ("c.toml".to_string(), Some(1), true),
                ("d.toml".to_string(), Some(2), false),
            ],
            "{problems:#?}"
        );
        assert!(problems[1].message.contains("slash command `/deploy`"));

        std::fs::remove_file(dir.join("b.toml")).unwrap();
        std::fs::remove_file(dir.join("c.toml")).unwrap();
        std::fs::remove_file(dir.join("d.toml")).unwrap();
        let registry = load_dir(&dir).unwrap();
        let names: Vec<&str> = registry.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["deploy", "ok"]);
        assert_eq!(registry.by_slash_command("/deploy").unwrap().name, "deploy");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn load_dir_missing_directory() {
        let dir = std::env::temp_dir().join("warden-commands-does-not-exist");
        let problems = load_dir(&dir).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].file, dir);
        assert!(problems[0]
            .message
            .contains("cannot read the commands directory"));
    }

    #[test]
    fn shipped_examples_load() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/commands"));
        let registry = match load_dir(dir) {
            Ok(registry) => registry,
            Err(problems) => panic!(
                "{}",
                problems
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        };
        for name in [
            "deploy", "rollback", "restart", "flag-set", "flag-get", "scale", "status",
        ] {
            assert!(registry.get(name).is_some(), "missing {name}");
        }
        let viewer_visible = registry.iter().filter(|c| c.role == Role::Viewer).count();
        assert!(viewer_visible >= 1);
        let deploy = registry.by_slash_command("/deploy").unwrap();
        assert_eq!(deploy.risk, Risk::High);
        assert_eq!(deploy.approval.as_ref().unwrap().approvals, 2);
    }

    #[test]
    fn truncated_files_never_panic() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/commands/deploy.toml");
        let text = std::fs::read_to_string(path).unwrap();
        for (cut, _) in text.char_indices() {
            if let Err(problems) = load_str(Path::new("deploy.toml"), &text[..cut]) {
                assert!(!problems.is_empty());
                assert!(problems.iter().all(|p| p.line.is_some()), "{problems:?}");
            }
        }
    }
}
