//! The `help` list, rendered once per (tenant, role set) for one registry.
//!
//! `help` is the most frequent command and its answer depends only on the registry, the root
//! command and which roles the caller holds in which environments: building it again for every
//! request is a dozen string formats and a join. The cache belongs to one `Service`, whose
//! registry and root never change while it lives (a new registry means a new service, hence a
//! new cache), so the registry's version is implicit in the cache's owner.
//!
//! A hit allocates nothing but the copy of the text the reply takes: the key is hashed from
//! borrowed data and compared field by field. The cache holds at most [`MAX_ENTRIES`] lists
//! and starts over when full, so a directory with very many distinct role sets cannot make it
//! grow without bound. Grant expiry is not part of the key: the grants given are the ones in
//! force at the request's time, so an expired grant is simply absent.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

use crate::model::Role;
use crate::policy::Grant;

/// The most lists kept; past it the cache is emptied and fills again.
const MAX_ENTRIES: usize = 1024;

/// One rendered list and the key it was rendered for.
#[derive(Debug)]
struct Entry {
    tenant: String,
    roles: Vec<(Role, Vec<String>)>,
    text: Arc<str>,
}

impl Entry {
    fn matches(&self, tenant: &str, grants: &[Grant]) -> bool {
        self.tenant == tenant
            && self.roles.len() == grants.len()
            && self
                .roles
                .iter()
                .zip(grants)
                .all(|((role, envs), g)| *role == g.role && *envs == g.environments)
    }
}

/// Rendered `help` lists by (tenant, role set).
#[derive(Debug, Default)]
pub struct HelpCache {
    entries: Mutex<HashMap<u64, Vec<Entry>>>,
    hasher: std::collections::hash_map::RandomState,
}

impl HelpCache {
    /// The list for `tenant` and `grants`, rendered by `render` only the first time.
    pub fn get_or_render(
        &self,
        tenant: &str,
        grants: &[Grant],
        render: impl FnOnce() -> String,
    ) -> Arc<str> {
        let key = self.key(tenant, grants);
        if let Some(text) = self.lookup(key, tenant, grants) {
            return text;
        }
        // Rendered outside the lock: two first requests may both render, and one keeps its.
        let text: Arc<str> = render().into();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.values().map(Vec::len).sum::<usize>() >= MAX_ENTRIES {
            entries.clear();
        }
        let bucket = entries.entry(key).or_default();
        if let Some(entry) = bucket.iter().find(|e| e.matches(tenant, grants)) {
            return entry.text.clone();
        }
        bucket.push(Entry {
            tenant: tenant.to_string(),
            roles: grants
                .iter()
                .map(|g| (g.role, g.environments.clone()))
                .collect(),
            text: text.clone(),
        });
        text
    }

    /// How many lists are kept (for tests).
    pub fn len(&self) -> usize {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.values().map(Vec::len).sum()
    }

    /// Whether no list is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lookup(&self, key: u64, tenant: &str, grants: &[Grant]) -> Option<Arc<str>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&key)?
            .iter()
            .find(|e| e.matches(tenant, grants))
            .map(|e| e.text.clone())
    }

    fn key(&self, tenant: &str, grants: &[Grant]) -> u64 {
        let mut h = self.hasher.build_hasher();
        tenant.hash(&mut h);
        grants.len().hash(&mut h);
        for g in grants {
            g.role.hash(&mut h);
            g.environments.hash(&mut h);
        }
        h.finish()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn grant(role: Role, envs: &[&str]) -> Grant {
        Grant::for_test(role, envs)
    }

    #[test]
    fn one_render_per_tenant_and_role_set() {
        let cache = HelpCache::default();
        let renders = Cell::new(0);
        let render = |label: &str| {
            renders.set(renders.get() + 1);
            label.to_string()
        };
        let viewer = [grant(Role::Viewer, &["*"])];
        let operator = [
            grant(Role::Viewer, &["*"]),
            grant(Role::Operator, &["staging"]),
        ];
        let prod = [
            grant(Role::Viewer, &["*"]),
            grant(Role::Operator, &["prod"]),
        ];

        assert_eq!(&*cache.get_or_render("acme", &viewer, || render("v")), "v");
        assert_eq!(&*cache.get_or_render("acme", &viewer, || render("x")), "v");
        assert_eq!(
            renders.get(),
            1,
            "the second viewer is served from the cache"
        );
        // Another environment, another role, another tenant, no role: each its own list.
        assert_eq!(
            &*cache.get_or_render("acme", &operator, || render("o")),
            "o"
        );
        assert_eq!(&*cache.get_or_render("acme", &prod, || render("p")), "p");
        assert_eq!(
            &*cache.get_or_render("globex", &viewer, || render("g")),
            "g"
        );
        assert_eq!(&*cache.get_or_render("acme", &[], || render("n")), "n");
        assert_eq!(renders.get(), 5);
        assert_eq!(cache.len(), 5);
        // The source and expiry of a grant do not change the list.
        let mut other_source = grant(Role::Operator, &["staging"]);
        other_source.source = "runtime:access A-3".into();
        other_source.expires = Some(chrono::Utc::now());
        let same = [grant(Role::Viewer, &["*"]), other_source];
        assert_eq!(&*cache.get_or_render("acme", &same, || render("y")), "o");
        assert_eq!(renders.get(), 5);
    }

    #[test]
    fn it_starts_over_when_full() {
        let cache = HelpCache::default();
        for n in 0..MAX_ENTRIES + 10 {
            cache.get_or_render(&format!("t{n}"), &[], || n.to_string());
        }
        assert!(cache.len() <= MAX_ENTRIES, "{}", cache.len());
        assert!(!cache.is_empty());
    }
}
