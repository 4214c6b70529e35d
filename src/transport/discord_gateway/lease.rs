//! The Gateway's lease: one replica at a time runs the Discord session. The lease is a promise
//! kept by the holder: it renews well before expiry, and when a renewal fails or cannot be
//! confirmed, it closes its session before the lease can run out, so that a replica taking over
//! a lapsed lease never overlaps a session still running. The clocks of the replicas are
//! assumed to agree within the safety margin (NTP).

use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{GatewayConfig, LABEL};
use crate::storage::Store;
use crate::transport::{TransportState, Transports};

/// How long a lease lasts, how often it is renewed, how often a replica in standby tries to
/// take it, and how long before expiry an unconfirmed holder closes its session.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// The lease's life after each renewal.
    pub ttl: Duration,
    /// The pause between renewals.
    pub renew_every: Duration,
    /// The pause between two attempts of a replica in standby.
    pub standby_retry: Duration,
    /// How long before the lease would lapse its holder closes the session.
    pub margin: Duration,
}

impl Default for Timing {
    /// 15 s leases renewed every 5 s (two renewals can fail before the session is closed), and
    /// standby attempts every 3 s: a dead holder's lease is taken within 15 + 3 s.
    fn default() -> Self {
        Timing {
            ttl: Duration::from_secs(15),
            renew_every: Duration::from_secs(5),
            standby_retry: Duration::from_secs(3),
            margin: Duration::from_secs(2),
        }
    }
}

/// A lease this replica holds, kept alive by a renewal task.
pub struct Held {
    /// The instant the lease lapses unless renewed again (by this process's clock).
    deadline: watch::Receiver<Instant>,
    margin: Duration,
    renewal: JoinHandle<()>,
}

impl Held {
    /// Completes when the session must close: `margin` before the lease would lapse, unless a
    /// renewal moved the deadline first, or at once when another replica took the lease.
    pub async fn lost(&self) {
        let mut deadline = self.deadline.clone();
        loop {
            let until = *deadline.borrow_and_update();
            let close_at = until.checked_sub(self.margin).unwrap_or(until);
            tokio::select! {
                _ = tokio::time::sleep_until(close_at.into()) => return,
                changed = deadline.changed() => {
                    if changed.is_err() {
                        // The renewal task ended: the last deadline stands.
                        tokio::time::sleep_until(close_at.into()).await;
                        return;
                    }
                }
            }
        }
    }

    /// Stops renewing (the session is closed; `release` or expiry frees the row).
    pub fn stop(self) {
        self.renewal.abort();
    }
}

/// Waits in standby until this replica takes the lease, reporting who holds it meanwhile.
/// `None` when warden stops first.
pub async fn wait_for(
    store: &Store,
    transports: &Transports,
    config: &GatewayConfig,
    stop: &mut watch::Receiver<bool>,
) -> Option<Held> {
    let timing = config.lease;
    loop {
        if *stop.borrow() {
            return None;
        }
        let sent = Instant::now();
        let now_ms = chrono::Utc::now().timestamp_millis();
        let attempt = store.acquire_lease(LABEL, &config.owner, now_ms, now_ms + ms(timing.ttl));
        match tokio::time::timeout(timing.ttl / 3, attempt).await {
            Ok(Ok(true)) => {
                let (tx, deadline) = watch::channel(sent + timing.ttl);
                let renewal = tokio::spawn(renew(store.clone(), config.owner.clone(), timing, tx));
                return Some(Held {
                    deadline,
                    margin: timing.margin,
                    renewal,
                });
            }
            Ok(Ok(false)) => {
                let holder = match store.lease_holder(LABEL).await {
                    Ok(Some(holder)) => format!(
                        "lease held by {} until {}",
                        holder.owner,
                        chrono::DateTime::from_timestamp_millis(holder.expires_ms)
                            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                            .unwrap_or_default()
                    ),
                    _ => "lease held elsewhere".into(),
                };
                transports.set(LABEL, TransportState::Standby(holder));
            }
            Ok(Err(error)) => {
                tracing::warn!("Discord Gateway: cannot read its lease: {error:#}");
                transports.set(
                    LABEL,
                    TransportState::Standby("cannot read the lease: database unavailable".into()),
                );
            }
            Err(_) => {
                tracing::warn!("Discord Gateway: reading its lease timed out");
                transports.set(
                    LABEL,
                    TransportState::Standby("cannot read the lease: database too slow".into()),
                );
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(timing.standby_retry) => {}
            _ = stop.changed() => return None,
        }
    }
}

/// Renews the lease until aborted. A renewal is confirmed only when the database answered in
/// time; while it is not, the deadline stays where the last confirmed renewal put it, and
/// `Held::lost` closes the session before it. Another owner in the row ends the hold at once.
async fn renew(store: Store, owner: String, timing: Timing, deadline: watch::Sender<Instant>) {
    let mut pause = timing.renew_every;
    loop {
        tokio::time::sleep(pause).await;
        let sent = Instant::now();
        let now_ms = chrono::Utc::now().timestamp_millis();
        let budget = deadline.borrow().saturating_duration_since(sent);
        let attempt = store.acquire_lease(LABEL, &owner, now_ms, now_ms + ms(timing.ttl));
        match tokio::time::timeout(budget, attempt).await {
            Ok(Ok(true)) => {
                let _ = deadline.send(sent + timing.ttl);
                pause = timing.renew_every;
            }
            Ok(Ok(false)) => {
                tracing::warn!("Discord Gateway: another replica took the lease");
                let _ = deadline.send(sent);
                return;
            }
            Ok(Err(error)) => {
                tracing::warn!("Discord Gateway: renewing the lease failed: {error:#}");
                pause = Duration::from_secs(1).min(timing.renew_every);
            }
            Err(_) => {
                tracing::warn!("Discord Gateway: renewing the lease timed out");
                pause = Duration::from_secs(1).min(timing.renew_every);
            }
        }
    }
}

/// Gives the lease back (graceful shutdown, or a stop for good), so another replica need not
/// wait for it to lapse.
pub async fn release(store: &Store, owner: &str) {
    match tokio::time::timeout(Duration::from_secs(2), store.release_lease(LABEL, owner)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!("Discord Gateway: releasing the lease failed: {error:#}"),
        Err(_) => tracing::warn!("Discord Gateway: releasing the lease timed out"),
    }
}

fn ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(until: Instant, margin: Duration) -> (watch::Sender<Instant>, Held) {
        let (tx, deadline) = watch::channel(until);
        let renewal = tokio::spawn(std::future::pending());
        (
            tx,
            Held {
                deadline,
                margin,
                renewal,
            },
        )
    }

    /// Without a confirmed renewal, the session is told to close `margin` before the lease
    /// lapses; each confirmed renewal moves that moment.
    #[tokio::test]
    async fn lost_fires_before_the_deadline_unless_renewed() {
        // Wide margins: the bounds must hold on a loaded two-core CI machine too.
        let start = Instant::now();
        let (tx, lease) = held(start + Duration::from_secs(2), Duration::from_secs(1));
        lease.lost().await;
        let fired = start.elapsed();
        assert!(fired >= Duration::from_millis(990), "{fired:?}");
        assert!(fired < Duration::from_secs(2), "{fired:?}");
        drop(tx);
        lease.stop();

        let start = Instant::now();
        let (tx, lease) = held(
            start + Duration::from_millis(600),
            Duration::from_millis(300),
        );
        let renewals = tokio::spawn(async move {
            for _ in 0..4 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let _ = tx.send(Instant::now() + Duration::from_millis(600));
            }
        });
        lease.lost().await;
        // The last renewal (at 400 ms or later) put the deadline 600 ms ahead: the close
        // comes 300 ms before it, so no earlier than 700 ms.
        assert!(
            start.elapsed() >= Duration::from_millis(690),
            "{:?}",
            start.elapsed()
        );
        renewals.await.unwrap();
        lease.stop();

        // Another owner in the row: the deadline becomes now, and the session closes at once.
        let (tx, lease) = held(
            Instant::now() + Duration::from_secs(60),
            Duration::from_secs(2),
        );
        let _ = tx.send(Instant::now());
        tokio::time::timeout(Duration::from_millis(100), lease.lost())
            .await
            .expect("closes at once");
        lease.stop();
    }
}
