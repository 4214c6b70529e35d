//! The `access` built-in's arguments, and who may use break-glass.
//!
//! The chat grammar only knows the flags `--dry-run` and `--reason`, so the duration and the
//! environments are named arguments: `for=2h`, `env=staging,prod`.

use std::time::Duration;

use crate::commands::args::RawArgs;
use crate::model::{format_duration, is_name, parse_duration, Role, Subject};
use crate::policy::Principal;

/// How to use `access`, one form a line; quoted at the end of every parse error.
pub const ACCESS_USAGE: &str = "access request ROLE [env=E[,E2]] [for=1h] --reason \"…\" · \
access breakglass ROLE [for=30m] --reason \"…\" · access revoke B-12 · access list";

const DEFAULT_FOR: Duration = Duration::from_secs(3600);
/// A requested role is still approved by someone, so it may last a working day.
const MAX_REQUEST: Duration = Duration::from_secs(8 * 3600);
/// Break-glass skips approval, so it is kept short (§4: at most one hour).
const MAX_BREAKGLASS: Duration = Duration::from_secs(3600);

/// What an `access` invocation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessAction {
    /// Ask for a time-boxed role, granted once approved.
    Request {
        /// The role asked for.
        role: Role,
        /// The environments it should cover; `["*"]` when none were named.
        environments: Vec<String>,
        /// How long the grant lasts once approved.
        duration: Duration,
        /// Why it is needed (required).
        reason: String,
    },
    /// Take a time-boxed role at once, without approval, with a loud alert.
    Breakglass {
        /// The role taken.
        role: Role,
        /// How long it lasts.
        duration: Duration,
        /// Why (required).
        reason: String,
    },
    /// End a run-time grant early, by binding id (`B-12`).
    Revoke(i64),
    /// List the run-time grants of the tenant.
    List,
}

/// Parses the arguments of `access`. Errors are one sentence ending with the usage.
pub fn parse_access(raw: &RawArgs) -> Result<AccessAction, String> {
    let fail = |why: String| Err(format!("{why}. Usage: {ACCESS_USAGE}"));
    if raw.dry_run {
        return fail("`access` has no dry run".into());
    }
    let Some((verb, rest)) = raw.positional.split_first() else {
        return fail("`access` needs one of request, breakglass, revoke or list".into());
    };
    let allowed_named: &[&str] = match verb.as_str() {
        "request" => &["env", "for"],
        "breakglass" => &["for"],
        "revoke" | "list" => &[],
        other => {
            return fail(format!(
                "`access {other}` is not a form of access; use request, breakglass, revoke or list"
            ))
        }
    };
    if let Some((name, _)) = raw
        .named
        .iter()
        .find(|(n, _)| !allowed_named.contains(&n.as_str()))
    {
        return fail(format!("`access {verb}` takes no `{name}=`"));
    }
    if let Some(name) = repeated(&raw.named) {
        return fail(format!("`{name}=` is given more than once"));
    }
    let want_operands = usize::from(verb != "list");
    if rest.len() != want_operands {
        return fail(match verb.as_str() {
            "request" | "breakglass" => format!("`access {verb}` needs exactly one ROLE"),
            "revoke" => "`access revoke` needs exactly one grant id, e.g. B-12".to_string(),
            _ => "`access list` takes no arguments".to_string(),
        });
    }
    match verb.as_str() {
        "request" | "breakglass" => {
            let role: Role = match rest[0].parse() {
                Ok(role) => role,
                Err(why) => return fail(why),
            };
            let max = if verb == "request" {
                MAX_REQUEST
            } else {
                MAX_BREAKGLASS
            };
            let duration = match named(raw, "for") {
                None => DEFAULT_FOR,
                Some(text) => match parse_duration(text) {
                    Ok(d) if d <= max => d,
                    Ok(_) => {
                        return fail(format!(
                            "`access {verb}` lasts at most {}; `for={text}` is longer",
                            format_duration(max)
                        ))
                    }
                    Err(why) => return fail(why),
                },
            };
            let Some(reason) = raw
                .reason
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
            else {
                return fail(format!("`access {verb}` needs --reason \"…\""));
            };
            let reason = reason.to_string();
            if verb == "breakglass" {
                return Ok(AccessAction::Breakglass {
                    role,
                    duration,
                    reason,
                });
            }
            let environments = match named(raw, "env") {
                None => vec!["*".to_string()],
                Some(list) => match environments(list) {
                    Ok(envs) => envs,
                    Err(why) => return fail(why),
                },
            };
            Ok(AccessAction::Request {
                role,
                environments,
                duration,
                reason,
            })
        }
        "revoke" => match parse_grant_id(&rest[0]) {
            Some(id) => Ok(AccessAction::Revoke(id)),
            None => fail(format!("`{}` is not a grant id like B-12", rest[0])),
        },
        _ => Ok(AccessAction::List),
    }
}

/// Whether `principal` may use break-glass in its tenant: it matches one of the tenant's
/// `breakglass` subjects. An empty list (the default) means nobody may.
pub fn may_breakglass(breakglass: &[Subject], principal: &Principal) -> bool {
    breakglass.iter().any(|s| principal.is(s))
}

fn named<'a>(raw: &'a RawArgs, name: &str) -> Option<&'a str> {
    raw.named
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn repeated(named: &[(String, String)]) -> Option<&str> {
    named
        .iter()
        .enumerate()
        .find(|(i, (n, _))| named[..*i].iter().any(|(m, _)| m == n))
        .map(|(_, (n, _))| n.as_str())
}

/// `staging,prod` → `["staging", "prod"]`; `*` stands for every environment and only alone.
fn environments(list: &str) -> Result<Vec<String>, String> {
    let mut envs: Vec<String> = Vec::new();
    for env in list.split(',').map(str::trim) {
        if !(env == "*" || is_name(env)) {
            return Err(format!(
                "`env={list}`: an environment is [a-z0-9_-]+ (or `*` for all), separated by commas"
            ));
        }
        if !envs.iter().any(|e| e == env) {
            envs.push(env.to_string());
        }
    }
    if envs.len() > 1 && envs.iter().any(|e| e == "*") {
        return Err(format!("`env={list}`: `*` already means every environment"));
    }
    Ok(envs)
}

/// `B-12` (or `b-12`, or `12`) → 12.
fn parse_grant_id(s: &str) -> Option<i64> {
    let digits = s
        .strip_prefix("B-")
        .or_else(|| s.strip_prefix("b-"))
        .unwrap_or(s);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|id| *id > 0)
}
