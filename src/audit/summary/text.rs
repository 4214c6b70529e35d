//! The chat text of a summary.

use chrono::{DateTime, Utc};

use super::{parse_at, Summary, MAX_LIST};

impl Summary {
    /// The summary as a chat message text.
    pub fn text(&self) -> String {
        let mut lines = vec![format!(
            "Audit summary for `{}`: {} to {} ({} events)",
            self.tenant,
            utc(self.from),
            utc(self.to),
            self.events
        )];
        if self.commands.is_empty() {
            lines.push("Commands: none.".to_string());
        } else {
            lines.push("Commands:".to_string());
            for (name, c) in &self.commands {
                let mut parts = Vec::new();
                for (n, what) in [(c.invoked, "invoked"), (c.refused, "refused")] {
                    if n > 0 {
                        parts.push(format!("{n} {what}"));
                    }
                }
                let jobs: Vec<String> = [
                    (c.succeeded, "succeeded"),
                    (c.failed, "failed"),
                    (c.timed_out, "timed out"),
                    (c.cancelled, "cancelled"),
                ]
                .iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, what)| format!("{n} {what}"))
                .collect();
                if !jobs.is_empty() {
                    parts.push(format!("jobs: {}", jobs.join(", ")));
                }
                lines.push(format!("• `{name}`: {}", parts.join(" · ")));
            }
        }
        self.approval_lines(&mut lines);
        if self.failures.is_empty() {
            lines.push("Failures: none.".to_string());
        } else {
            lines.push(format!("Failures ({}):", self.failures.len()));
            for f in self.failures.iter().take(MAX_LIST) {
                let command = f.command.as_deref().unwrap_or("(unknown)");
                let mut line = format!("• {} `{command}` {}: {}", f.job, f.outcome, f.error);
                if !f.link.is_empty() {
                    line.push_str(&format!(" · {}", f.link));
                }
                lines.push(line);
            }
            more(&mut lines, self.failures.len());
        }
        if self.refusals.is_empty() {
            lines.push("Refusals: none.".to_string());
        } else {
            let steps: Vec<String> = self
                .refusals
                .iter()
                .map(|(step, n)| format!("{step} {n}"))
                .collect();
            lines.push(format!("Refusals by step: {}", steps.join(", ")));
        }
        if self.breakglass.is_empty() {
            lines.push("Break-glass: none.".to_string());
        } else {
            lines.push(format!("Break-glass ({}):", self.breakglass.len()));
            for b in self.breakglass.iter().take(MAX_LIST) {
                let at = parse_at(&b.at).map(utc).unwrap_or_else(|| b.at.clone());
                lines.push(format!(
                    "• {} took `{}` for {} at {at}: {}",
                    b.actor, b.role, b.duration, b.reason
                ));
            }
            more(&mut lines, self.breakglass.len());
        }
        if !self.alerts.is_empty() {
            lines.push(format!("Alerts ({} names):", self.alerts.len()));
            let mut by_count: Vec<_> = self.alerts.iter().collect();
            by_count.sort_by_key(|(name, a)| (std::cmp::Reverse(a.fired), name.as_str()));
            for (name, a) in by_count.iter().take(MAX_LIST) {
                let mut line = format!("• `{name}`: fired {}, resolved {}", a.fired, a.resolved);
                if let Some(mean) = a.mean_resolve_seconds() {
                    line.push_str(&format!(
                        ", {} to resolve on average",
                        crate::alerts::card::human_duration(mean as i64)
                    ));
                }
                lines.push(line);
            }
            more(&mut lines, self.alerts.len());
        }
        lines.push(match &self.chain {
            Ok(n) => format!("Audit chain: verified ({n} events)"),
            Err(at) => format!("Audit chain: BROKEN at {at}"),
        });
        lines.join("\n")
    }

    fn approval_lines(&self, lines: &mut Vec<String>) {
        let pending = match self.pending_approvals {
            0 => String::new(),
            n => format!("; {n} still pending"),
        };
        if self.approvals.is_empty() {
            lines.push(format!("Approvals: none decided{pending}."));
            return;
        }
        let count = |o: &str| self.approvals.iter().filter(|a| a.outcome == o).count();
        let mut head = format!(
            "Approvals: {} decided ({} approved, {} denied, {} expired)",
            self.approvals.len(),
            count("approved"),
            count("denied"),
            count("expired")
        );
        if let Some((median, max)) = self.decision_minutes() {
            head.push_str(&format!(
                "; time to decide: median {}, max {}",
                minutes(median),
                minutes(max)
            ));
        }
        head.push_str(&pending);
        lines.push(head);
        for a in self.approvals.iter().take(MAX_LIST) {
            let command = a
                .command
                .as_deref()
                .map(|c| format!(" `{c}`"))
                .unwrap_or_default();
            let after = a
                .minutes
                .map(|m| format!(" after {}", minutes(m)))
                .unwrap_or_default();
            lines.push(format!(
                "• {}{command} {} by {}{after}",
                a.id, a.outcome, a.by
            ));
        }
        more(lines, self.approvals.len());
    }
}

fn more(lines: &mut Vec<String>, total: usize) {
    if total > MAX_LIST {
        lines.push(format!("  … and {} more", total - MAX_LIST));
    }
}

fn minutes(m: f64) -> String {
    format!("{m:.1} min")
}

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}
