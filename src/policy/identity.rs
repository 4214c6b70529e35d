//! Mapping a platform request to a tenant and a principal (the user, their person and groups).

use crate::config::{Directory, Tenant};
use crate::model::{Platform, PlatformUser, Subject};

/// Finds the tenant that owns a workspace: the Slack team id or the Discord guild id. For the
/// console, which has no workspaces of its own, the workspace is the tenant's name.
pub fn tenant_for<'a>(
    dir: &'a Directory,
    platform: Platform,
    workspace: &str,
) -> Option<&'a Tenant> {
    match platform {
        Platform::Slack => dir
            .tenants
            .values()
            .find(|t| t.slack_team.as_deref() == Some(workspace)),
        Platform::Discord => dir
            .tenants
            .values()
            .find(|t| t.discord_guild.as_deref() == Some(workspace)),
        Platform::Console => dir.tenants.get(workspace),
    }
}

/// Who is asking, inside one tenant: the platform user, the person it is linked to (if any) and
/// the groups that person belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The tenant the request is for.
    pub tenant: String,
    /// The platform identity that sent the request.
    pub user: PlatformUser,
    /// The person the identity is linked to, if any.
    pub person: Option<String>,
    /// The groups the person belongs to, sorted by name; empty for an unlinked user.
    pub groups: Vec<String>,
    /// How to name the principal in messages: the person's display name or name, or the raw
    /// identity such as `slack:T01/U99`.
    pub display: String,
}

impl Principal {
    /// Every subject that names this principal: the raw user, the person and each group.
    pub fn subjects(&self) -> Vec<Subject> {
        let mut subjects = vec![Subject::User(self.user.clone())];
        subjects.extend(self.person.iter().cloned().map(Subject::Person));
        subjects.extend(self.groups.iter().cloned().map(Subject::Group));
        subjects
    }

    /// True when `subject` names this principal.
    pub fn is(&self, subject: &Subject) -> bool {
        match subject {
            Subject::User(u) => *u == self.user,
            Subject::Person(p) => self.person.as_ref() == Some(p),
            Subject::Group(g) => self.groups.contains(g),
        }
    }
}

/// Builds the principal for `user` in `tenant`. A user not linked to any person is still a
/// principal: bindings may name raw identities, and `whoami` must work for everyone.
///
/// Console users have no declared identities, so a console user whose id is a person's name is
/// that person: whoever can reach the console already controls the server.
pub fn principal_for(dir: &Directory, tenant: &str, user: &PlatformUser) -> Principal {
    let person = dir.people.values().find(|p| {
        p.identities.contains(user) || (user.platform == Platform::Console && p.name == user.user)
    });
    let groups = match person {
        Some(p) => dir
            .groups
            .iter()
            .filter(|(_, members)| members.contains(&p.name))
            .map(|(name, _)| name.clone())
            .collect(),
        None => Vec::new(),
    };
    let display = match person {
        Some(p) => p.display_name.clone().unwrap_or_else(|| p.name.clone()),
        None => user.to_string(),
    };
    Principal {
        tenant: tenant.to_string(),
        user: user.clone(),
        person: person.map(|p| p.name.clone()),
        groups,
        display,
    }
}
