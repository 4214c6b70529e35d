//! The guard: one pipeline for every platform. It takes a neutral `Invocation`, the directory,
//! the command registry and the time, and decides, step by step, what may happen:
//! tenant → principal → command → arguments → authorize → (rate limit, decided with the counts
//! storage supplies). Later steps (dry-run, confirm, approval, job) build on `Accepted`.
//!
//! Architecture invariant: no IO. Every input is a parameter and every output is data, so each
//! step is table-tested without a database or a network.

mod builtins;
pub mod explain;
mod help_cache;

pub use explain::Explanation;
pub use help_cache::HelpCache;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::audit::SYSTEM_TENANT;
use crate::chat::invocation::{without_nul, NUL};
use crate::chat::{ArgsInput, Invocation};
use crate::commands::args::{self, ParsedArgs, RawArgs};
use crate::commands::{CommandSpec, Registry};
use crate::config::Directory;
use crate::model::{Platform, Role};
use crate::policy::{self, Grant, Principal};

/// The steps of the pipeline, named as people and metrics see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The workspace or guild must belong to a tenant.
    Tenant,
    /// The caller must be identifiable.
    Principal,
    /// The command must exist.
    Command,
    /// The arguments must parse and validate.
    Args,
    /// The caller must hold the command's role in its environment.
    Authorize,
    /// The caller must be under the command's rate limit.
    RateLimit,
}

impl Step {
    /// The stable name used in replies, audit details and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Tenant => "tenant",
            Step::Principal => "principal",
            Step::Command => "command",
            Step::Args => "args",
            Step::Authorize => "authorize",
            Step::RateLimit => "rate_limit",
        }
    }
}

/// A refusal: the step that failed, and what to tell the caller and the audit log.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// Which step refused.
    pub step: Step,
    /// The tenant chain the refusal is audited in (`_system` when the tenant is unknown).
    pub tenant: String,
    /// Who asked, as recorded in the audit log.
    pub actor: String,
    /// The command name as typed.
    pub command: String,
    /// One or more sentences for the caller (ephemeral).
    pub message: String,
    /// Structured details for the audit event (no secret values).
    pub details: serde_json::Value,
}

/// A built-in command answered by the guard itself.
#[derive(Debug, Clone)]
pub struct BuiltinAnswer {
    /// The tenant.
    pub tenant: String,
    /// Who asked.
    pub principal: Principal,
    /// `help` or `whoami`.
    pub command: String,
    /// The answer text.
    pub text: String,
}

/// A registry command that passed every step up to the rate limit.
#[derive(Debug, Clone)]
pub struct Accepted<'r> {
    /// The tenant.
    pub tenant: String,
    /// Who asked.
    pub principal: Principal,
    /// The command definition.
    pub spec: &'r CommandSpec,
    /// The validated arguments.
    pub args: ParsedArgs,
    /// The RBAC environment the command runs in, if it has one.
    pub environment: Option<String>,
    /// The role that allowed it.
    pub role: Role,
}

/// The `jobs` built-in: what the caller asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobsAction {
    /// `jobs`: the tenant's recent jobs.
    List,
    /// `jobs show J-42`.
    Show(i64),
    /// `jobs cancel J-42`.
    Cancel(i64),
    /// `jobs retry J-42`.
    Retry(i64),
}

/// A `jobs` request that passed the tenant and principal steps. Access to each action is
/// decided by the service with the job at hand (cancel: requester or admin; retry: the
/// original command's guard).
#[derive(Debug, Clone)]
pub struct JobsRequest {
    /// The tenant.
    pub tenant: String,
    /// Who asked.
    pub principal: Principal,
    /// The caller's grants now.
    pub grants: Vec<Grant>,
    /// What they asked for.
    pub action: JobsAction,
}

/// A built-in answered from the database, past the tenant and principal steps.
#[derive(Debug, Clone)]
pub struct StatefulRequest {
    /// The tenant.
    pub tenant: String,
    /// Who asked.
    pub principal: Principal,
    /// The caller's grants now.
    pub grants: Vec<Grant>,
}

/// The outcome of the stateless steps.
#[derive(Debug, Clone)]
pub enum Prepared<'r> {
    /// Refused at one of the steps.
    Refused(Refusal),
    /// A built-in answered.
    Builtin(BuiltinAnswer),
    /// The `jobs` built-in, answered by the service from the database.
    Jobs(JobsRequest),
    /// The `approvals` built-in: pending requests the caller can decide.
    Approvals(StatefulRequest),
    /// The `access` built-in: request, break-glass, revoke, list.
    Access(StatefulRequest, crate::approvals::AccessAction),
    /// The `audit` built-in: search this tenant's audit log (viewers and up).
    Audit(StatefulRequest, crate::audit::search::SearchFilter),
    /// A registry command, pending the rate-limit step.
    Accepted(Box<Accepted<'r>>),
    /// The `schedules` built-in: the tenant's scheduled commands (viewers and up).
    Schedules(StatefulRequest),
    /// The `dashboard` built-in: a signed link to the tenant's live dashboard (viewers and up,
    /// SPEC §18).
    Dashboard(StatefulRequest),
    /// The `why` built-in: the guard's verdicts on another invocation, pending the rate-limit
    /// count that storage supplies.
    Why(Box<Explanation<'r>>),
}

/// What happens to a command once every check passed: the later steps of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Create the job (a dry run when asked: dry runs need no confirmation or approval,
    /// because they change nothing).
    Run,
    /// High risk: show the plan and wait for the caller's Confirm.
    Confirm,
    /// The command's approval rule matches: approvals are needed before it can run.
    NeedsApproval,
}

/// The steps after the rate limit: dry-run? → confirm (high risk) → approval (if `when`
/// matches) → job. `confirmed` is true when the caller already clicked Confirm.
pub fn next_step(accepted: &Accepted<'_>, confirmed: bool) -> Next {
    let spec = accepted.spec;
    if accepted.args.dry_run {
        return Next::Run;
    }
    if spec.risk == crate::commands::Risk::High && !confirmed {
        return Next::Confirm;
    }
    if spec.approval.is_some() && spec.needs_approval(&accepted.args) {
        return Next::NeedsApproval;
    }
    Next::Run
}

/// What the guard reads besides the invocation.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Tenants, people, groups and bindings.
    pub directory: &'a Directory,
    /// The command definitions.
    pub registry: &'a Registry,
    /// The root slash command shown in usage lines (`/ops`).
    pub root: &'a str,
    /// Bindings granted at run time (access requests, break-glass), beside the config's.
    pub runtime_bindings: &'a [crate::config::Binding],
    /// Whether secret argument values can be kept sealed (`WARDEN_ENCRYPTION_KEYS` is set);
    /// without it, commands with secret arguments are refused (SPEC §16).
    pub can_seal: bool,
    /// Where `help` lists are kept once rendered (the service's, for its registry and
    /// root); `None` renders every time.
    pub help_cache: Option<&'a HelpCache>,
}

/// The name recorded as actor: the person when the identity is linked to one, else the raw
/// platform identity.
pub fn actor_name(principal: &Principal) -> String {
    principal
        .person
        .clone()
        .unwrap_or_else(|| principal.user.to_string())
}

/// Runs the stateless steps of the pipeline.
pub fn prepare<'r>(ctx: &Context<'r>, inv: &Invocation, now: DateTime<Utc>) -> Prepared<'r> {
    if let Some(field) = inv.nul_field() {
        return Prepared::Refused(nul_refusal(ctx, inv, &field));
    }
    let raw_actor = inv.user.to_string();
    let Some(tenant) = policy::tenant_for(ctx.directory, inv.platform, &inv.workspace) else {
        let place = match inv.platform {
            Platform::Slack => "Slack workspace",
            Platform::Discord => "Discord server",
            Platform::Console => "tenant",
        };
        let message = if inv.workspace.is_empty() {
            "warden only answers inside a server or workspace that an operator has connected; direct messages are not supported.".to_string()
        } else {
            format!(
                "This {place} (`{}`) is not connected to warden. Ask a warden operator to add it as a tenant in warden.toml.",
                inv.workspace
            )
        };
        return Prepared::Refused(Refusal {
            step: Step::Tenant,
            tenant: SYSTEM_TENANT.to_string(),
            actor: raw_actor,
            command: inv.command.clone(),
            message,
            details: json!({ "step": "tenant", "platform": inv.platform.as_str(), "workspace": inv.workspace }),
        });
    };
    let tenant_name = tenant.name.clone();
    if inv.user.user.is_empty() {
        return Prepared::Refused(Refusal {
            step: Step::Principal,
            tenant: tenant_name,
            actor: raw_actor,
            command: inv.command.clone(),
            message: "warden could not tell who sent this request, so it did nothing.".into(),
            details: json!({ "step": "principal" }),
        });
    }
    let principal = policy::principal_for(ctx.directory, &tenant_name, &inv.user);
    let actor = actor_name(&principal);
    let grants = grants_now(ctx, &principal, now);
    let refuse = |step: Step, message: String, details: serde_json::Value| {
        Prepared::Refused(Refusal {
            step,
            tenant: tenant_name.clone(),
            actor: actor.clone(),
            command: inv.command.clone(),
            message,
            details,
        })
    };

    if inv.command == "why" {
        let Some(inner) = explain::inner_invocation(inv) else {
            return refuse(
                Step::Args,
                format!(
                    "name the command to explain.\nUsage: `{} why COMMAND [args…]`",
                    ctx.root
                ),
                json!({ "step": "args", "command": "why" }),
            );
        };
        return Prepared::Why(Box::new(explain::explain(ctx, principal, &inner, now)));
    }

    let raw = match raw_args(&inv.input) {
        Ok(raw) => raw,
        Err(problem) => {
            return refuse(
                Step::Args,
                format!("I could not read the arguments: {problem}"),
                json!({ "step": "args", "error": problem }),
            )
        }
    };

    match inv.command.as_str() {
        "help" => {
            let text = builtins::help(ctx, &tenant_name, &grants, &raw);
            return Prepared::Builtin(BuiltinAnswer {
                tenant: tenant_name,
                principal,
                command: "help".into(),
                text,
            });
        }
        "whoami" => {
            let text = builtins::whoami(&principal, &grants);
            return Prepared::Builtin(BuiltinAnswer {
                tenant: tenant_name,
                principal,
                command: "whoami".into(),
                text,
            });
        }
        _ => {}
    }

    if inv.command == "approvals" {
        return Prepared::Approvals(StatefulRequest {
            tenant: tenant_name.clone(),
            principal: principal.clone(),
            grants,
        });
    }
    if inv.command == "audit" {
        if grants.is_empty() {
            return refuse(
                Step::Authorize,
                "you need at least the `viewer` role in this tenant to search its audit log."
                    .to_string(),
                json!({ "step": "authorize", "command": "audit", "required": "viewer" }),
            );
        }
        return match crate::audit::search::parse_filter(&raw.positional, &raw.named, now) {
            Ok(mut filter) => {
                // Tenant-scoped, always: a search never reads another tenant's chain.
                filter.tenant = Some(tenant_name.clone());
                Prepared::Audit(
                    StatefulRequest {
                        tenant: tenant_name.clone(),
                        principal: principal.clone(),
                        grants,
                    },
                    filter,
                )
            }
            Err(problem) => refuse(
                Step::Args,
                format!("{problem}\nUsage: `{} audit [COMMAND] [actor=NAME] [kind=job.failed] [since=24h] [last=50]`", ctx.root),
                json!({ "step": "args", "command": "audit", "error": problem }),
            ),
        };
    }
    if inv.command == "schedules" {
        if grants.is_empty() {
            return refuse(
                Step::Authorize,
                "you need at least the `viewer` role in this tenant to see its schedules."
                    .to_string(),
                json!({ "step": "authorize", "command": "schedules", "required": "viewer" }),
            );
        }
        return Prepared::Schedules(StatefulRequest {
            tenant: tenant_name.clone(),
            principal: principal.clone(),
            grants,
        });
    }
    if inv.command == "dashboard" {
        if grants.is_empty() {
            return refuse(
                Step::Authorize,
                "you need at least the `viewer` role in this tenant to see its dashboard."
                    .to_string(),
                json!({ "step": "authorize", "command": "dashboard", "required": "viewer" }),
            );
        }
        if !raw.positional.is_empty() || !raw.named.is_empty() {
            return refuse(
                Step::Args,
                format!(
                    "`dashboard` takes no arguments.\nUsage: `{} dashboard`",
                    ctx.root
                ),
                json!({ "step": "args", "command": "dashboard" }),
            );
        }
        return Prepared::Dashboard(StatefulRequest {
            tenant: tenant_name.clone(),
            principal: principal.clone(),
            grants,
        });
    }
    if inv.command == "access" {
        return match crate::approvals::parse_access(&raw) {
            Ok(action) => Prepared::Access(
                StatefulRequest {
                    tenant: tenant_name.clone(),
                    principal: principal.clone(),
                    grants,
                },
                action,
            ),
            Err(problem) => refuse(
                Step::Args,
                problem.clone(),
                json!({ "step": "args", "command": "access", "error": problem }),
            ),
        };
    }
    if inv.command == "jobs" {
        return match builtins::parse_jobs(&raw) {
            Ok(action) => Prepared::Jobs(JobsRequest {
                tenant: tenant_name.clone(),
                principal: principal.clone(),
                grants,
                action,
            }),
            Err(problem) => refuse(
                Step::Args,
                format!("{problem}\nUsage: `{root} jobs`, `{root} jobs show J-42`, `{root} jobs cancel J-42`, `{root} jobs retry J-42`", root = ctx.root),
                json!({ "step": "args", "command": "jobs", "error": problem }),
            ),
        };
    }

    let Some(spec) = ctx.registry.get(&inv.command) else {
        let mut message = format!("There is no command `{}`.", inv.command);
        if let Some(close) = builtins::closest_command(ctx.registry, &inv.command) {
            message.push_str(&format!(" Did you mean `{close}`?"));
        }
        message.push_str(&format!(
            " Type `{} help` for the commands you may run.",
            ctx.root
        ));
        return refuse(
            Step::Command,
            message,
            json!({ "step": "command", "command": inv.command }),
        );
    };

    if !ctx.can_seal && spec.args.iter().any(|a| a.secret) {
        return refuse(
            Step::Args,
            format!(
                "`{}` takes secret arguments, and warden has no encryption key to keep them sealed (WARDEN_ENCRYPTION_KEYS is not set), so it refuses to take them. Ask an operator to configure a key; nothing was stored.",
                spec.name
            ),
            json!({ "step": "args", "command": spec.name, "error": "no encryption key for secret arguments" }),
        );
    }

    let parsed = match args::parse_args(spec, &raw) {
        Ok(parsed) => parsed,
        Err(error) => {
            // A refused secret argument is described without its value, in the reply as well as
            // in the audit log: chat is no place for a secret either.
            let secret = error
                .arg()
                .and_then(|name| spec.arg(name))
                .is_some_and(|a| a.secret);
            let what = if secret {
                format!(
                    "argument `{}` is not valid (its value is secret and not shown)",
                    error.arg().unwrap_or_default()
                )
            } else {
                error.to_string()
            };
            return refuse(
                Step::Args,
                format!("{what}\nUsage: `{}`", args::usage(spec, ctx.root)),
                json!({ "step": "args", "argument": error.arg(), "error": what }),
            );
        }
    };

    let environment = spec.environment_for(&parsed);
    let role = match policy::authorize(&grants, spec.role, environment.as_deref()) {
        Ok(role) => role,
        Err(denied) => {
            return refuse(
                Step::Authorize,
                format!("You may not run `{}`: {denied}.", spec.name),
                json!({
                    "step": "authorize",
                    "required": spec.role.as_str(),
                    "environment": environment,
                    "held": denied.held.map(|r| r.as_str()),
                    "args": parsed.redacted(spec),
                }),
            )
        }
    };

    Prepared::Accepted(Box::new(Accepted {
        tenant: tenant_name,
        principal,
        spec,
        args: parsed,
        environment,
        role,
    }))
}

/// The refusal of a request holding a NUL character, which no database text column may hold.
/// It is the first check, before any text of the request is used, and everything it records
/// has the NUL replaced (U+FFFD), so that the refusal itself can be stored.
fn nul_refusal(ctx: &Context<'_>, inv: &Invocation, field: &str) -> Refusal {
    let workspace = without_nul(&inv.workspace);
    let tenant =
        policy::tenant_for(ctx.directory, inv.platform, &workspace).map(|t| t.name.clone());
    let actor = match &tenant {
        Some(tenant) if !inv.user.user.contains(NUL) && !inv.user.workspace.contains(NUL) => {
            actor_name(&policy::principal_for(ctx.directory, tenant, &inv.user))
        }
        _ => without_nul(&inv.user.to_string()),
    };
    Refusal {
        step: Step::Args,
        tenant: tenant.unwrap_or_else(|| SYSTEM_TENANT.to_string()),
        actor,
        command: without_nul(&inv.command),
        message: format!(
            "{} contains a NUL character (\\0), which warden does not accept, so it did nothing. Remove it and try again.",
            capitalized(field)
        ),
        details: json!({ "step": "args", "error": "NUL character", "field": field }),
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn raw_args(input: &ArgsInput) -> Result<RawArgs, String> {
    match input {
        ArgsInput::Structured(raw) => Ok(raw.clone()),
        ArgsInput::Text(text) => args::split_command_text(text)
            .and_then(|tokens| args::parse_raw(&tokens))
            .map_err(|e| e.to_string()),
    }
}

/// The refusal for a caller who reached the command's rate limit (decided by storage-backed
/// counts in the service's transaction).
pub fn rate_refusal(accepted: &Accepted<'_>, limited: &policy::RateLimited) -> Refusal {
    Refusal {
        step: Step::RateLimit,
        tenant: accepted.tenant.clone(),
        actor: actor_name(&accepted.principal),
        command: accepted.spec.name.clone(),
        message: format!("`{}` is rate limited: {limited}.", accepted.spec.name),
        details: json!({ "step": "rate_limit", "limit": limited.limit.to_string() }),
    }
}

impl Refusal {
    /// The text the caller sees: the step that refused, then why.
    pub fn reply_text(&self) -> String {
        let mut chars = self.message.chars();
        let message = match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        };
        format!("Refused at the `{}` step. {message}", self.step.as_str())
    }
}

/// The audit details of an accepted command: everything that identifies what was asked, with
/// secret arguments redacted.
pub fn accepted_details(accepted: &Accepted<'_>) -> serde_json::Value {
    json!({
        "args": accepted.args.redacted(accepted.spec),
        "environment": accepted.environment,
        "dry_run": accepted.args.dry_run,
        "reason": accepted.args.reason,
        "role": accepted.role.as_str(),
        "needs_approval": accepted.spec.approval.is_some() && accepted.spec.needs_approval(&accepted.args),
    })
}

/// The arguments as people may see them: secret values replaced.
pub fn shown_args(accepted: &Accepted<'_>) -> Vec<(String, String)> {
    accepted
        .args
        .values
        .iter()
        .map(|(name, value)| {
            let secret = accepted.spec.arg(name).is_some_and(|a| a.secret);
            let shown = if secret {
                crate::commands::args::REDACTED.to_string()
            } else {
                value.to_string()
            };
            (name.clone(), shown)
        })
        .collect()
}

/// What the caller is told when a command passed every check but needs approvals, which this
/// build does not collect yet: nothing runs.
pub fn approval_pending_reply(accepted: &Accepted<'_>, root: &str) -> String {
    let spec = accepted.spec;
    let shown: Vec<String> = shown_args(accepted)
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let mut text = format!(
        "`{} {}{}` passed every check",
        root,
        spec.name,
        if shown.is_empty() {
            String::new()
        } else {
            format!(" {}", shown.join(" "))
        }
    );
    if let Some(env) = &accepted.environment {
        text.push_str(&format!(" (environment `{env}`, as {})", accepted.role));
    }
    text.push('.');
    if let Some(reason) = &accepted.args.reason {
        text.push_str(&format!("\nReason: {reason}"));
    }
    if let Some(approval) = &spec.approval {
        text.push_str(&format!(
            "\nIt needs {} approval{} before it can run, and this warden build does not collect approvals yet, so nothing was run.",
            approval.approvals,
            if approval.approvals == 1 { "" } else { "s" }
        ));
    }
    text
}

/// Convenience for callers that only need the grants of a principal now.
pub fn grants_now(ctx: &Context<'_>, principal: &Principal, now: DateTime<Utc>) -> Vec<Grant> {
    policy::grants_for(
        ctx.directory.bindings.iter().chain(ctx.runtime_bindings),
        principal,
        now,
    )
}

#[cfg(test)]
mod tests;
