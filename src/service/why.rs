//! The `why` built-in and `warden policy explain` (SPEC §17): the guard's verdicts with the
//! rate-limit uses counted from storage. Nothing is written: `why` changes no state, so it is
//! counted in metrics (`warden_explains_total`) rather than audited.

use chrono::{DateTime, TimeZone, Utc};

use crate::chat::Reply;
use crate::config::Binding;
use crate::guard::{self, Explanation};
use crate::storage::Store;

use super::{Handled, Service};

impl Service {
    /// Answers `why`: counts the caller's uses for the rate-limit step and renders the
    /// explanation for the caller alone.
    pub(super) async fn why(
        &self,
        mut why: Box<Explanation<'_>>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(Reply, Handled)> {
        count_uses(&self.store, &mut why, now).await?;
        self.metrics.explain(why.outcome().as_str());
        Ok((Reply::ephemeral(why.render(&self.root)), Handled::Ok))
    }
}

/// Decides the explanation's rate-limit step with the uses storage counts in the window, as
/// the real path's transaction does (read here without a transaction: `why` decides nothing).
pub async fn count_uses(
    store: &Store,
    why: &mut Explanation<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let Some(accepted) = why.accepted() else {
        return Ok(());
    };
    let Some(limit) = accepted.spec.rate_limit else {
        return Ok(());
    };
    let window_start = now.timestamp_millis() - limit.per.as_millis() as i64;
    let uses = store
        .rate_uses(
            &accepted.tenant,
            &guard::actor_name(&accepted.principal),
            &accepted.spec.name,
            window_start,
        )
        .await?;
    let oldest = uses
        .oldest_ms
        .and_then(|ms| Utc.timestamp_millis_opt(ms).single());
    why.count_uses(uses.count, oldest, now);
    Ok(())
}

/// The bindings granted at run time that are in force at `now`, as the guard reads them (for
/// the CLI, which has no bindings cache).
pub async fn runtime_bindings(store: &Store, now: DateTime<Utc>) -> anyhow::Result<Vec<Binding>> {
    Ok(store
        .active_bindings(now)
        .await?
        .iter()
        .filter_map(super::bindings_cache::to_binding)
        .collect())
}
