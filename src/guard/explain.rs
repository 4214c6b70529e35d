//! `why` (SPEC §17): the guard run without acting. The verdicts come from the very functions
//! the real path runs ([`prepare`](super::prepare), [`rate::check`](crate::policy::rate::check)
//! and [`next_step`](super::next_step)); this module only adds what each verdict rests on (the
//! caller's bindings, the approval rule) and renders it, so `why` cannot disagree with what a
//! real invocation would do.
//!
//! It reveals the caller's own grants and the approver groups of the command, nothing else.

use chrono::{DateTime, Utc};

use crate::approvals::Policy;
use crate::chat::{ArgsInput, Invocation};
use crate::config::Binding;
use crate::model::Role;
use crate::policy::{self, Principal, RateLimited};

use super::{next_step, Accepted, Context, Next, Prepared, Refusal, Step};

/// What a real invocation would end in, as `why` predicts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Refused at this step.
    Refused(Step),
    /// A built-in command: answered without the later steps.
    Builtin,
    /// Accepted; then run, asked to confirm, or sent for approval.
    Accepted(Next),
}

impl Outcome {
    /// The metrics label: the refusing step, `builtin`, `run`, `confirm` or `approval`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Refused(step) => step.as_str(),
            Outcome::Builtin => "builtin",
            Outcome::Accepted(Next::Run) => "run",
            Outcome::Accepted(Next::Confirm) => "confirm",
            Outcome::Accepted(Next::NeedsApproval) => "approval",
        }
    }
}

/// The rate-limit step as `why` saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateVerdict {
    /// The command has no rate limit.
    NoLimit,
    /// The uses in the window have not been counted (the caller of [`explain`] supplies them
    /// with [`Explanation::count_uses`]).
    Unknown,
    /// Under the limit, with this many uses left in the window.
    Left(u32),
    /// The limit is reached.
    Limited(RateLimited),
}

/// How one of the caller's bindings relates to the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingState {
    /// The binding that allowed the command.
    Matched,
    /// Enough for the command, but another binding was the one that matched.
    AlsoAllows,
    /// Its role is below the command's.
    RoleTooLow,
    /// It does not cover the command's environment.
    OtherEnvironment,
    /// It has expired.
    Expired,
}

/// One of the caller's bindings in the tenant, with how it relates to the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingLine {
    /// The binding.
    pub binding: Binding,
    /// How it relates to the command.
    pub state: BindingState,
}

/// Everything `why` found, ready to render.
#[derive(Debug, Clone)]
pub struct Explanation<'r> {
    /// The caller, in their tenant.
    pub principal: Principal,
    /// The command as asked about.
    pub command: String,
    /// The real path's verdict on the stateless steps.
    pub verdict: Verdict<'r>,
    /// The caller's bindings in the tenant (expired ones too), for the authorize step.
    pub bindings: Vec<BindingLine>,
    /// The rate-limit step.
    pub rate: RateVerdict,
    /// Whether the caller is on the tenant's break-glass list (the fast way past authorize in
    /// an emergency).
    pub may_breakglass: bool,
}

/// The stateless steps' verdict, as [`prepare`](super::prepare) returned it.
#[derive(Debug, Clone)]
pub enum Verdict<'r> {
    /// Refused at a step.
    Refused(Refusal),
    /// A built-in.
    Builtin,
    /// Every stateless step passed.
    Accepted(Box<Accepted<'r>>),
}

/// Turns `why COMMAND [args…]` into the invocation it asks about: the same caller and place,
/// the first word as the command and the rest as its arguments. Discord sends the options
/// `command` and `args`. `None` when no command was named.
pub fn inner_invocation(inv: &Invocation) -> Option<Invocation> {
    let (command, input) = match &inv.input {
        ArgsInput::Text(text) => {
            let text = text.trim();
            let (command, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
            (
                command.to_string(),
                ArgsInput::Text(rest.trim().to_string()),
            )
        }
        ArgsInput::Structured(raw) => {
            let named = |key: &str| {
                raw.named
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
            };
            // A whole line typed into the `command` option still means command, then args.
            let typed = named("command").or_else(|| raw.positional.first().cloned())?;
            let (command, more) = typed
                .trim()
                .split_once(char::is_whitespace)
                .unwrap_or((typed.trim(), ""));
            let args = format!("{more} {}", named("args").unwrap_or_default());
            (
                command.to_string(),
                ArgsInput::Text(args.trim().to_string()),
            )
        }
    };
    if command.is_empty() {
        return None;
    }
    Some(Invocation {
        command,
        input,
        replay_key: None,
        reply: None,
        ..inv.clone()
    })
}

/// Runs the guard's steps for `inner` (the invocation `why` asks about) and collects what each
/// verdict rests on. The rate-limit step needs the uses in the window, which storage counts:
/// until [`Explanation::count_uses`] is called it stays [`RateVerdict::Unknown`].
pub fn explain<'r>(
    ctx: &Context<'r>,
    caller: Principal,
    inner: &Invocation,
    now: DateTime<Utc>,
) -> Explanation<'r> {
    let verdict = match super::prepare(ctx, inner, now) {
        Prepared::Refused(refusal) => Verdict::Refused(refusal),
        Prepared::Accepted(accepted) => Verdict::Accepted(accepted),
        _ => Verdict::Builtin,
    };
    let (required, environment) = match &verdict {
        Verdict::Accepted(a) => (Some(a.spec.role), a.environment.clone()),
        Verdict::Refused(r) if r.step == Step::Authorize => (
            ctx.registry.get(&r.command).map(|s| s.role),
            r.details["environment"].as_str().map(str::to_string),
        ),
        _ => (None, None),
    };
    let bindings = binding_lines(ctx, &caller, required, environment.as_deref(), now);
    let rate = match &verdict {
        Verdict::Accepted(a) if a.spec.rate_limit.is_some() => RateVerdict::Unknown,
        _ => RateVerdict::NoLimit,
    };
    let may_breakglass = ctx
        .directory
        .tenants
        .get(&caller.tenant)
        .is_some_and(|t| crate::approvals::may_breakglass(&t.breakglass, &caller));
    Explanation {
        may_breakglass,
        principal: caller,
        command: inner.command.clone(),
        verdict,
        bindings,
        rate,
    }
}

/// The caller's bindings in the tenant, from the config and granted at run time, expired ones
/// included, each with how it relates to a command needing `required` in `environment`.
fn binding_lines(
    ctx: &Context<'_>,
    principal: &Principal,
    required: Option<Role>,
    environment: Option<&str>,
    now: DateTime<Utc>,
) -> Vec<BindingLine> {
    let grants = super::grants_now(ctx, principal, now);
    let matched = required.and_then(|role| {
        let allowed = policy::authorize(&grants, role, environment).ok()?;
        grants
            .iter()
            .find(|g| g.role == allowed && environment.is_none_or(|e| g.covers(e)))
            .map(|g| g.source.clone())
    });
    let mut lines: Vec<BindingLine> = ctx
        .directory
        .bindings
        .iter()
        .chain(ctx.runtime_bindings)
        .filter(|b| b.tenant == principal.tenant && principal.is(&b.subject))
        .map(|b| {
            let grant = policy::Grant {
                role: b.role,
                environments: b.environments.clone(),
                expires: b.expires,
                source: b.source.clone(),
            };
            let state = if b.expires.is_some_and(|e| e <= now) {
                BindingState::Expired
            } else if environment.is_some_and(|e| !grant.covers(e)) {
                BindingState::OtherEnvironment
            } else if required.is_some_and(|r| b.role < r) {
                BindingState::RoleTooLow
            } else if matched.as_deref() == Some(b.source.as_str()) {
                BindingState::Matched
            } else {
                BindingState::AlsoAllows
            };
            BindingLine {
                binding: b.clone(),
                state,
            }
        })
        .collect();
    lines.sort_by_key(|l| std::cmp::Reverse(l.binding.role));
    lines
}

impl<'r> Explanation<'r> {
    /// The accepted command, when every stateless step passed.
    pub fn accepted(&self) -> Option<&Accepted<'r>> {
        match &self.verdict {
            Verdict::Accepted(a) => Some(a),
            _ => None,
        }
    }

    /// Decides the rate-limit step with the uses storage counted in the window ending at
    /// `now`, with the same function the real path's transaction uses.
    pub fn count_uses(&mut self, uses: u32, oldest: Option<DateTime<Utc>>, now: DateTime<Utc>) {
        let Some(limit) = self.accepted().and_then(|a| a.spec.rate_limit) else {
            return;
        };
        self.rate = match policy::rate::check(&limit, uses, oldest, now) {
            Ok(()) => RateVerdict::Left(limit.count.saturating_sub(uses)),
            Err(limited) => RateVerdict::Limited(limited),
        };
    }

    /// What a real invocation would end in.
    pub fn outcome(&self) -> Outcome {
        match &self.verdict {
            Verdict::Refused(r) => Outcome::Refused(r.step),
            Verdict::Builtin => Outcome::Builtin,
            Verdict::Accepted(_) if matches!(self.rate, RateVerdict::Limited(_)) => {
                Outcome::Refused(Step::RateLimit)
            }
            Verdict::Accepted(a) => Outcome::Accepted(next_step(a, false)),
        }
    }

    /// The approval rule that would apply to this invocation, if any.
    pub fn approval(&self) -> Option<Policy> {
        let accepted = self.accepted()?;
        let spec = accepted.spec;
        let rule = spec.approval.as_ref()?;
        (!accepted.args.dry_run && spec.needs_approval(&accepted.args))
            .then(|| Policy::from_spec(rule, spec.thread, spec.remind))
    }
}

mod render;
