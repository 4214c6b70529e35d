//! The bindings granted at run time (break-glass, approved access requests), for the authorize
//! step of every request.
//!
//! While none is in force, which is the usual case, an empty list is cached for up to
//! `MAX_AGE`, so the hot path adds no query; a grant made through another replica may take
//! that long to count here (failing closed). While any is in force, the list is read from the
//! database for every decision: a revocation through any replica counts at once everywhere,
//! which is what a revocation is for. Expiry needs no reload: the guard checks each binding's
//! expiry against the request's `now`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use tokio::sync::RwLock;

use crate::config::Binding;
use crate::storage::{RuntimeBinding, Store};

/// How long another replica's grant or revocation may take to be seen here.
pub const MAX_AGE: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub struct BindingsCache {
    store: Store,
    state: RwLock<Option<(Instant, Arc<Vec<Binding>>)>>,
}

impl BindingsCache {
    pub fn new(store: Store) -> Self {
        BindingsCache {
            store,
            state: RwLock::new(None),
        }
    }

    /// The bindings in force: the cached empty list while it is younger than `MAX_AGE`, else
    /// read from the database. A database error is logged and answered with the last known
    /// list (or none): the config's bindings still apply.
    pub async fn get(&self, now: DateTime<Utc>) -> Arc<Vec<Binding>> {
        let cached = self.state.read().await.clone();
        if let Some((at, list)) = &cached {
            if list.is_empty() && at.elapsed() < MAX_AGE {
                return list.clone();
            }
        }
        match self.store.active_bindings(now).await {
            Ok(rows) => {
                let list = Arc::new(rows.iter().filter_map(to_binding).collect::<Vec<_>>());
                *self.state.write().await = Some((Instant::now(), list.clone()));
                list
            }
            Err(error) => {
                tracing::warn!("reading run-time bindings failed: {error:#}");
                cached.map(|(_, list)| list).unwrap_or_default()
            }
        }
    }

    /// Forgets the cached list, after this process granted or revoked a binding.
    pub async fn invalidate(&self) {
        *self.state.write().await = None;
    }
}

/// A stored binding as the guard sees it. A row that no longer parses (a hand-edited table)
/// is skipped and logged rather than granting anything.
pub(super) fn to_binding(row: &RuntimeBinding) -> Option<Binding> {
    let parsed = (|| {
        Some(Binding {
            subject: row.subject.parse().ok()?,
            tenant: row.tenant.clone(),
            role: row.role.parse().ok()?,
            environments: row.environments.clone(),
            expires: Some(Utc.timestamp_millis_opt(row.expires_ms).single()?),
            source: format!("B-{} ({})", row.id, row.source),
        })
    })();
    if parsed.is_none() {
        tracing::warn!(
            binding.id = row.id,
            "ignoring a stored binding that does not parse"
        );
    }
    parsed
}
