//! The words of a `why` answer: one line per guard step, the caller's bindings under the
//! authorize step, and the one thing to do next.

use crate::model::Platform;

use super::super::{shown_args, Next, Step};
use super::{BindingState, Explanation, Outcome, RateVerdict, Verdict};

/// The order of the steps a refusal can stop at.
const STEPS: [Step; 6] = [
    Step::Tenant,
    Step::Principal,
    Step::Command,
    Step::Args,
    Step::Authorize,
    Step::RateLimit,
];

impl Explanation<'_> {
    /// The answer, in neutral text (backticks for literals), for the caller alone.
    pub fn render(&self, root: &str) -> String {
        let principal = &self.principal;
        let mut lines = vec![format!(
            "Why `{root} {}` would or would not run for you, step by step (nothing was run):",
            self.command
        )];
        let refused_at = match self.outcome() {
            Outcome::Refused(step) => STEPS.iter().position(|s| *s == step),
            _ => None,
        };
        let state = |step: Step| {
            let index = STEPS.iter().position(|s| *s == step).unwrap_or(0);
            match refused_at {
                Some(at) if index == at => "REFUSED",
                Some(at) if index > at => "not reached",
                _ => "ok",
            }
        };
        let workspace = match principal.user.platform {
            Platform::Slack => "Slack workspace",
            Platform::Discord => "Discord server",
            Platform::Console => "console of",
        };
        lines.push(format!(
            "• tenant: {}: `{}` ({workspace} `{}`)",
            state(Step::Tenant),
            principal.tenant,
            principal.user.workspace
        ));
        let who = match &principal.person {
            Some(person) => format!(
                "`{person}`, matched by the linked identity `{}`",
                principal.user
            ),
            None => format!(
                "`{}`, not linked to a person in warden.toml",
                principal.user
            ),
        };
        let groups = if principal.groups.is_empty() {
            String::new()
        } else {
            format!("; groups: {}", principal.groups.join(", "))
        };
        lines.push(format!(
            "• principal: {}: {who}{groups}",
            state(Step::Principal)
        ));

        match &self.verdict {
            Verdict::Builtin => {
                lines.push(format!(
                    "• command: ok: `{}` is a built-in; `{root} help` describes it, and it checks its own arguments and access when it runs",
                    self.command
                ));
                lines.push("Next: you can run it.".to_string());
                return lines.join("\n");
            }
            Verdict::Refused(refusal) => {
                let step = refusal.step;
                for earlier in [Step::Command, Step::Args] {
                    if earlier == step {
                        lines.push(format!("• {}: REFUSED: {}", step.as_str(), refusal.message));
                    } else {
                        lines.push(format!("• {}: {}", earlier.as_str(), state(earlier)));
                    }
                }
                if step == Step::Authorize {
                    lines.push(format!("• authorize: REFUSED: {}", refusal.message));
                    self.binding_lines(&mut lines);
                } else {
                    lines.push("• authorize: not reached".to_string());
                }
            }
            Verdict::Accepted(accepted) => {
                let spec = accepted.spec;
                lines.push(format!(
                    "• command: ok: `{}`: {} (needs `{}`)",
                    spec.name, spec.summary, spec.role
                ));
                let shown: Vec<String> = shown_args(accepted)
                    .into_iter()
                    .map(|(name, value)| format!("{name}={value}"))
                    .collect();
                let env = accepted
                    .environment
                    .as_ref()
                    .map(|e| format!("; environment `{e}`"))
                    .unwrap_or_else(|| "; no environment".to_string());
                let dry = if accepted.args.dry_run {
                    "; dry run"
                } else {
                    ""
                };
                lines.push(format!("• args: ok: `{}`{env}{dry}", shown.join(" ")));
                lines.push(format!("• authorize: ok: allowed as `{}`", accepted.role));
                self.binding_lines(&mut lines);
            }
        }
        let Verdict::Accepted(accepted) = &self.verdict else {
            for step in ["rate_limit", "confirmation", "approval"] {
                lines.push(format!("• {step}: not reached"));
            }
            lines.push(self.next(root));
            return lines.join("\n");
        };
        let rate = match &self.rate {
            RateVerdict::NoLimit => "ok: no rate limit".to_string(),
            RateVerdict::Unknown => "ok: limited, uses not counted here".to_string(),
            RateVerdict::Left(left) => format!(
                "ok: {left} use{} left of {}",
                if *left == 1 { "" } else { "s" },
                accepted
                    .spec
                    .rate_limit
                    .map(|l| l.to_string())
                    .unwrap_or_default()
            ),
            RateVerdict::Limited(limited) => format!("REFUSED: {limited}"),
        };
        lines.push(format!("• rate_limit: {rate}"));
        let limited = matches!(self.rate, RateVerdict::Limited(_));
        let confirm = match self.outcome() {
            _ if limited => "not reached".to_string(),
            Outcome::Accepted(Next::Confirm) => {
                "needed: high risk, you will be shown the plan and asked to confirm".to_string()
            }
            _ if accepted.args.dry_run => "not needed for a dry run".to_string(),
            _ => "not needed".to_string(),
        };
        lines.push(format!("• confirmation: {confirm}"));
        let approval = match self.approval() {
            _ if limited => "not reached".to_string(),
            Some(rule) => format!(
                "needed: {}; the requester may{} approve",
                rule.describe(),
                if rule.allow_self { "" } else { " not" }
            ),
            None => "not needed".to_string(),
        };
        lines.push(format!("• approval: {approval}"));
        lines.push(self.next(root));
        lines.join("\n")
    }

    fn binding_lines(&self, lines: &mut Vec<String>) {
        if self.bindings.is_empty() {
            lines.push("    you have no bindings in this tenant".to_string());
        }
        for line in &self.bindings {
            let b = &line.binding;
            let until = b
                .expires
                .map(|e| format!(", until {}", e.format("%Y-%m-%d %H:%M UTC")))
                .unwrap_or_default();
            let verdict = match line.state {
                BindingState::Matched => "matched".to_string(),
                BindingState::AlsoAllows => "also allows it".to_string(),
                BindingState::RoleTooLow => "role too low".to_string(),
                BindingState::OtherEnvironment => "does not cover this environment".to_string(),
                BindingState::Expired => "expired".to_string(),
            };
            lines.push(format!(
                "    `{}` in {} ({}{until}): {verdict}",
                b.role,
                b.environments.join(", "),
                b.source
            ));
        }
    }

    fn next(&self, root: &str) -> String {
        if let (Outcome::Accepted(_), Some(rule)) = (self.outcome(), self.approval()) {
            let mut who = rule.approvers.clone();
            if let Some(role) = &rule.approver_role {
                who.push(format!("anyone with `{role}`"));
            }
            return format!(
                "Next: you can run it; then ask {} to approve it ({} needed).",
                who.join(" or "),
                rule.needed
            );
        }
        let text = match (&self.verdict, self.outcome()) {
            (_, Outcome::Refused(Step::Tenant)) => {
                "ask a warden operator to connect this workspace as a tenant.".to_string()
            }
            (_, Outcome::Refused(Step::Principal)) => {
                "use an account warden can identify.".to_string()
            }
            (_, Outcome::Refused(Step::Command)) => {
                format!("type `{root} help` for the commands you may run.")
            }
            (_, Outcome::Refused(Step::Args)) => {
                "fix the arguments as the usage line above shows.".to_string()
            }
            (Verdict::Refused(refusal), Outcome::Refused(Step::Authorize)) => {
                let role = refusal.details["required"].as_str().unwrap_or("operator");
                let env = refusal.details["environment"]
                    .as_str()
                    .map(|e| format!(" env={e}"))
                    .unwrap_or_default();
                let mut text = format!(
                    "type `{root} access request {role}{env} for=1h --reason \"…\"`; an approver grants it, then run the command again."
                );
                if self.may_breakglass {
                    text.push_str(&format!(
                        " In an emergency you may also take it at once, loudly: `{root} access breakglass {role} --reason \"…\"`."
                    ));
                }
                text
            }
            (_, Outcome::Refused(Step::RateLimit)) => match &self.rate {
                RateVerdict::Limited(limited) => format!("wait: {limited}."),
                _ => "wait for the rate-limit window to pass.".to_string(),
            },
            _ => "you can run it.".to_string(),
        };
        format!("Next: {text}")
    }
}
