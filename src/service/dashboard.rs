//! The `dashboard` built-in (SPEC §18): a signed, time-boxed link to the tenant's live
//! dashboard, answered to the caller alone. Handing out a link is audited like every built-in
//! and rate limited per caller, because each link is a capability to read the tenant's activity
//! until it expires.

use chrono::{DateTime, Utc};

use crate::audit::NewEvent;
use crate::chat::{Invocation, Reply};
use crate::guard::{self, StatefulRequest};
use crate::links::{DashboardGrant, DASHBOARD_TTL_SECS};
use crate::model::{RateLimit, Role};
use crate::policy::Grant;

use super::writer::{Outcome, RatePlan, Then, Unit};
use super::{replay, Handled, Service};

/// How many dashboard links one person may ask for: plenty for a person, too few to farm links.
pub const DASHBOARD_RATE_LIMIT: &str = "20/hour";

/// The role a link is issued for (the caller's highest in the tenant) and when it must expire:
/// [`DASHBOARD_TTL_SECS`] from now, or sooner when every grant of that role ends sooner, so a
/// link never outlives the access it was issued for.
pub fn dashboard_grant(
    tenant: &str,
    actor: &str,
    grants: &[Grant],
    now: DateTime<Utc>,
) -> Option<DashboardGrant> {
    let role: Role = grants.iter().map(|g| g.role).max()?;
    let latest_end = grants
        .iter()
        .filter(|g| g.role == role)
        .map(|g| g.expires.map(|t| t.timestamp()))
        .try_fold(i64::MIN, |latest, end| end.map(|e| latest.max(e)));
    let mut expires = now.timestamp() + DASHBOARD_TTL_SECS;
    if let Some(end) = latest_end {
        expires = expires.min(end);
    }
    Some(DashboardGrant {
        tenant: tenant.to_owned(),
        role,
        actor: actor.to_owned(),
        expires,
    })
}

impl Service {
    /// Answers `dashboard`: checks the rate limit and records `command.invoked` (with the
    /// role and expiry, never the token) in one transaction, then hands the link out.
    pub(super) async fn dashboard_builtin(
        &self,
        inv: &Invocation,
        request: StatefulRequest,
        mut invoked: NewEvent,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(Reply, Handled)> {
        let actor = guard::actor_name(&request.principal);
        let Some(grant) = dashboard_grant(&request.tenant, &actor, &request.grants, now) else {
            // The guard only lets callers with a grant through; nothing to hand out otherwise.
            return Ok((
                Reply::ephemeral(
                    "You have no role in this tenant, so there is no dashboard to show you.",
                ),
                Handled::Refused,
            ));
        };
        let expires = DateTime::from_timestamp(grant.expires, 0).unwrap_or(now);
        invoked.details["role"] = grant.role.as_str().into();
        invoked.details["expires"] = expires.to_rfc3339().into();
        let limit: RateLimit = DASHBOARD_RATE_LIMIT
            .parse()
            .expect("the dashboard's rate limit is valid");
        let refused = NewEvent {
            kind: "command.refused".into(),
            details: serde_json::json!({
                "step": "rate_limit", "limit": limit.to_string(), "platform": inv.platform.as_str(),
            }),
            ..invoked.clone()
        };
        let unit = Unit::Accepted {
            event: invoked,
            rate: Some(Box::new(RatePlan {
                tenant: request.tenant.clone(),
                actor: actor.clone(),
                command: "dashboard".into(),
                limit,
                refused,
                alert: None,
            })),
            then: Then::Nothing,
        };
        match self.submit(inv, now, unit).await? {
            Outcome::Replay | Outcome::Paused => Ok(replay(inv)),
            Outcome::RateLimited(_) => {
                self.metrics.refuse("rate_limit");
                Ok((
                    Reply::ephemeral(format!(
                        "rate limit: you asked for {limit} dashboard links already. Use one of the links you have, or try again later."
                    )),
                    Handled::Refused,
                ))
            }
            Outcome::Done(_) => {
                let links = &self.runner.links;
                let url = crate::links::dashboard_url(&links.public_url, &links.key, &grant);
                let text = format!(
                    "Dashboard of `{}`, read-only, for you as {}: {url}\nValid until {} ({}). Anyone holding the link sees this tenant's jobs, approvals and audit events until then, so keep it to yourself or a screen you control.",
                    request.tenant,
                    grant.role,
                    expires.format("%Y-%m-%d %H:%M UTC"),
                    crate::pages::duration_words(expires - now),
                );
                Ok((Reply::ephemeral(text), Handled::Ok))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(role: Role, expires: Option<&str>) -> Grant {
        Grant {
            role,
            environments: vec!["*".into()],
            expires: expires.map(|t| t.parse().unwrap()),
            source: "test".into(),
        }
    }

    #[test]
    fn the_link_carries_the_highest_role_and_never_outlives_it() {
        let now: DateTime<Utc> = "2026-03-01T09:00:00Z".parse().unwrap();
        let full = now.timestamp() + DASHBOARD_TTL_SECS;
        let cases = [
            (vec![], None),
            (vec![grant(Role::Viewer, None)], Some((Role::Viewer, full))),
            (
                vec![
                    grant(Role::Viewer, None),
                    grant(Role::Operator, Some("2026-03-01T10:00:00Z")),
                ],
                Some((Role::Operator, now.timestamp() + 3600)),
            ),
            (
                vec![
                    grant(Role::Admin, Some("2026-03-01T10:00:00Z")),
                    grant(Role::Admin, None),
                ],
                Some((Role::Admin, full)),
            ),
        ];
        for (grants, expected) in cases {
            let got = dashboard_grant("acme", "alice", &grants, now).map(|g| (g.role, g.expires));
            assert_eq!(got, expected, "{grants:?}");
        }
    }
}
