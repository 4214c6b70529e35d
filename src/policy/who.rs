//! Who could hold a role in a tenant, and who may run a command now (`warden policy who-can`,
//! and the approvers a reminder mentions).

use chrono::{DateTime, Utc};

use crate::config::{Binding, Directory};
use crate::model::{Platform, PlatformUser, Role, Subject};

use super::{authorize, grants_for, principal_for};

/// Everyone who could hold a role: each person of the directory with their identities, and
/// each raw identity named by `subjects` that is not linked to a person (named by itself).
pub fn candidates<'a>(
    directory: &Directory,
    subjects: impl IntoIterator<Item = &'a Subject>,
) -> Vec<(String, Vec<PlatformUser>)> {
    let mut candidates: Vec<(String, Vec<PlatformUser>)> = directory
        .people
        .values()
        .map(|p| (p.name.clone(), p.identities.clone()))
        .collect();
    for subject in subjects {
        if let Subject::User(user) = subject {
            let name = user.to_string();
            let linked = directory
                .people
                .values()
                .any(|p| p.identities.contains(user));
            if !linked && !candidates.iter().any(|(n, _)| *n == name) {
                candidates.push((name, vec![user.clone()]));
            }
        }
    }
    candidates
}

/// The first of `identities` that belongs to `tenant` (its Slack team or Discord guild; a
/// console identity belongs to every tenant): the identity the person would act through there.
pub fn identity_in<'a>(
    directory: &Directory,
    tenant: &str,
    identities: &'a [PlatformUser],
) -> Option<&'a PlatformUser> {
    let tenant = directory.tenants.get(tenant)?;
    identities.iter().find(|i| match i.platform {
        Platform::Slack => tenant.slack_team.as_deref() == Some(&i.workspace),
        Platform::Discord => tenant.discord_guild.as_deref() == Some(&i.workspace),
        Platform::Console => true,
    })
}

/// One principal who may run a command now, and through which binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    /// The person, or the raw identity of an unlinked user.
    pub who: String,
    /// The identity they were judged through (`console:TENANT/NAME` for a person without an
    /// identity in the tenant: they can act through the CLI or a schedule).
    pub identity: PlatformUser,
    /// The role that allows it.
    pub role: Role,
    /// The environments the allowing binding covers.
    pub environments: Vec<String>,
    /// Whom the allowing binding names.
    pub subject: String,
    /// Where the allowing binding comes from (`warden.toml:12`, `B-3 (…)`).
    pub source: String,
    /// When the allowing binding expires, if ever.
    pub until: Option<DateTime<Utc>>,
}

/// Who may run a command needing `required` in `environment` (or anywhere, without one) in
/// `tenant` at `now`, from the config's bindings and those granted at run time.
pub fn who_can(
    directory: &Directory,
    runtime: &[Binding],
    tenant: &str,
    required: Role,
    environment: Option<&str>,
    now: DateTime<Utc>,
) -> Vec<Allowed> {
    let bindings: Vec<&Binding> = directory.bindings.iter().chain(runtime).collect();
    let subjects = bindings.iter().map(|b| &b.subject);
    let mut allowed = Vec::new();
    for (who, identities) in candidates(directory, subjects) {
        let identity = match identity_in(directory, tenant, &identities) {
            Some(identity) => identity.clone(),
            None if directory.people.contains_key(&who) => PlatformUser {
                platform: Platform::Console,
                workspace: tenant.to_string(),
                user: who.clone(),
            },
            None => continue,
        };
        let principal = principal_for(directory, tenant, &identity);
        let grants = grants_for(bindings.iter().copied(), &principal, now);
        let Ok(role) = authorize(&grants, required, environment) else {
            continue;
        };
        let Some(grant) = grants
            .iter()
            .find(|g| g.role == role && environment.is_none_or(|e| g.covers(e)))
        else {
            continue;
        };
        let subject = bindings
            .iter()
            .find(|b| b.source == grant.source && b.tenant == tenant)
            .map(|b| b.subject.to_string())
            .unwrap_or_default();
        allowed.push(Allowed {
            who,
            identity,
            role,
            environments: grant.environments.clone(),
            subject,
            source: grant.source.clone(),
            until: grant.expires,
        });
    }
    allowed
}
