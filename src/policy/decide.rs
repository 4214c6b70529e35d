//! Deciding whether a principal's grants allow a command.

use std::fmt;

use crate::model::Role;

use super::bindings::Grant;

/// Why a command was refused: what it needs and the best the person has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// The role the command requires.
    pub required: Role,
    /// The environment the command targets, if it has one.
    pub environment: Option<String>,
    /// The best role held for that environment (or in the tenant, for a command without
    /// environment), if any.
    pub held: Option<Role>,
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.environment, self.held) {
            (Some(env), Some(held)) => write!(
                f,
                "you need the `{}` role in `{env}`; you have `{held}` there",
                self.required
            ),
            (Some(env), None) => write!(
                f,
                "you need the `{}` role in `{env}`; you have no role there",
                self.required
            ),
            (None, Some(held)) => write!(
                f,
                "you need the `{}` role; you have `{held}`",
                self.required
            ),
            (None, None) => write!(
                f,
                "you need the `{}` role; you have no role in this tenant",
                self.required
            ),
        }
    }
}

impl std::error::Error for Denied {}

/// Decides whether `grants` allow a command requiring `required` in `environment`. A grant
/// covers an environment when it lists it or `*`; a command without environment is allowed by
/// any grant with a high enough role. On success returns the highest role that allowed it, for
/// the audit log.
pub fn authorize(
    grants: &[Grant],
    required: Role,
    environment: Option<&str>,
) -> Result<Role, Denied> {
    let held = grants
        .iter()
        .filter(|g| environment.is_none_or(|env| g.covers(env)))
        .map(|g| g.role)
        .max();
    match held {
        Some(role) if role >= required => Ok(role),
        _ => Err(Denied {
            required,
            environment: environment.map(str::to_string),
            held,
        }),
    }
}

/// True when `grants` allow a command requiring `required` in at least one of
/// `possible_envs` (or at all, for a command without environment). Used to hide from `help` the
/// commands a person could never run.
pub fn may_run(grants: &[Grant], required: Role, possible_envs: Option<&[String]>) -> bool {
    match possible_envs {
        None => authorize(grants, required, None).is_ok(),
        Some(envs) => envs
            .iter()
            .any(|env| authorize(grants, required, Some(env)).is_ok()),
    }
}

/// One line per grant for `whoami`, e.g. `operator in staging, prod (until 2026-12-31 00:00 UTC)`.
pub fn roles_summary(grants: &[Grant]) -> Vec<String> {
    grants
        .iter()
        .map(|g| {
            let mut line = format!("{} in {}", g.role, g.environments.join(", "));
            if let Some(expires) = g.expires {
                line.push_str(&format!(
                    " (until {})",
                    expires.format("%Y-%m-%d %H:%M UTC")
                ));
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(role: Role, envs: &[&str]) -> Grant {
        Grant::for_test(role, envs)
    }

    #[test]
    fn star_covers_every_environment() {
        let grants = [grant(Role::Operator, &["*"])];
        for env in ["prod", "staging", "anything"] {
            assert_eq!(
                authorize(&grants, Role::Operator, Some(env)),
                Ok(Role::Operator)
            );
            assert!(authorize(&grants, Role::Admin, Some(env)).is_err());
        }
    }

    #[test]
    fn best_role_for_the_environment_wins() {
        let grants = [grant(Role::Admin, &["dev"]), grant(Role::Viewer, &["*"])];
        let cases = [
            (Role::Admin, Some("dev"), Ok(Role::Admin)),
            (Role::Viewer, Some("prod"), Ok(Role::Viewer)),
            (Role::Admin, None, Ok(Role::Admin)),
        ];
        for (required, env, want) in cases {
            assert_eq!(authorize(&grants, required, env), want);
        }
        let denied = authorize(&grants, Role::Operator, Some("prod")).unwrap_err();
        assert_eq!(
            denied,
            Denied {
                required: Role::Operator,
                environment: Some("prod".into()),
                held: Some(Role::Viewer),
            }
        );
    }

    #[test]
    fn empty_summary() {
        assert!(roles_summary(&[]).is_empty());
        assert_eq!(
            roles_summary(&[grant(Role::Viewer, &["*"])]),
            ["viewer in *"]
        );
    }
}
