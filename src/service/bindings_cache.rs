//! The bindings granted at run time, cached for the hot path. Every request needs them for the
//! authorize step; reading them from the database each time would add a query to every
//! request. The cache is reloaded when older than `MAX_AGE` and at once after this process
//! changes a binding. Expiry needs no reload: the guard checks each binding's expiry against
//! the request's `now`, so an expired binding stops working at once.

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

    /// The bindings in force, from a cache at most `MAX_AGE` old. A database error is logged
    /// and answered with the last known list (or none): the config's bindings still apply.
    pub async fn get(&self, now: DateTime<Utc>) -> Arc<Vec<Binding>> {
        if let Some((at, list)) = self.state.read().await.as_ref() {
            if at.elapsed() < MAX_AGE {
                return list.clone();
            }
        }
        let mut state = self.state.write().await;
        if let Some((at, list)) = state.as_ref() {
            if at.elapsed() < MAX_AGE {
                return list.clone();
            }
        }
        match self.store.active_bindings(now).await {
            Ok(rows) => {
                let list = Arc::new(rows.iter().filter_map(to_binding).collect::<Vec<_>>());
                *state = Some((Instant::now(), list.clone()));
                list
            }
            Err(error) => {
                tracing::warn!("reading run-time bindings failed: {error:#}");
                state
                    .as_ref()
                    .map(|(_, list)| list.clone())
                    .unwrap_or_default()
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
fn to_binding(row: &RuntimeBinding) -> Option<Binding> {
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
