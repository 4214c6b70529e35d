//! Selecting the role grants that apply to a principal.

use chrono::{DateTime, Utc};

use crate::config::Binding;
use crate::model::Role;

use super::identity::Principal;

/// A role a principal holds, from one binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The role held.
    pub role: Role,
    /// The environments it applies in; `*` means all.
    pub environments: Vec<String>,
    /// When it stops applying, if ever.
    pub expires: Option<DateTime<Utc>>,
    /// Where the binding came from, e.g. `warden.toml:12`.
    pub source: String,
}

#[cfg(test)]
impl Grant {
    /// A grant from `warden.toml` without expiry, for tests.
    pub(crate) fn for_test(role: Role, envs: &[&str]) -> Grant {
        Grant {
            role,
            environments: envs.iter().map(|e| e.to_string()).collect(),
            expires: None,
            source: "warden.toml:1".into(),
        }
    }
}

impl Grant {
    /// True when the grant applies in `environment`: it lists it or `*`.
    pub fn covers(&self, environment: &str) -> bool {
        self.environments
            .iter()
            .any(|e| e == "*" || e == environment)
    }
}

/// The grants of `principal` at `now`, highest role first: bindings of the principal's tenant
/// whose subject names the principal and that have not expired (a binding expiring exactly at
/// `now` has expired). Bindings of other tenants never apply, whoever they name.
///
/// Takes any iterator of bindings because they come from `warden.toml` and from the database.
pub fn grants_for<'a>(
    bindings: impl IntoIterator<Item = &'a Binding>,
    principal: &Principal,
    now: DateTime<Utc>,
) -> Vec<Grant> {
    let mut grants: Vec<Grant> = bindings
        .into_iter()
        .filter(|b| b.tenant == principal.tenant)
        .filter(|b| b.expires.is_none_or(|e| e > now))
        .filter(|b| principal.is(&b.subject))
        .map(|b| Grant {
            role: b.role,
            environments: b.environments.clone(),
            expires: b.expires,
            source: b.source.clone(),
        })
        .collect();
    // A stable sort keeps file order among equal roles, so messages are predictable.
    grants.sort_by_key(|g| std::cmp::Reverse(g.role));
    grants
}
