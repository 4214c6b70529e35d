//! The dispatcher's two clocks, pure and testable: a token bucket per channel lane (about one
//! message per second with a small burst, what Slack and Discord tolerate per channel), and
//! the delay before a failed delivery is tried again.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Buckets kept before full (idle) ones are forgotten.
const MAX_IDLE_LANES: usize = 4096;

/// A token bucket per lane, in memory, for this process only.
#[derive(Debug)]
pub(crate) struct Pacer {
    per_sec: f64,
    burst: f64,
    lanes: HashMap<String, Bucket>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Pacer {
    /// `per_sec` tokens a second up to `burst`; a rate of 0 or less (or not finite) disables
    /// pacing.
    pub(crate) fn new(per_sec: f64, burst: u32) -> Self {
        Pacer {
            per_sec,
            burst: f64::from(burst.max(1)),
            lanes: HashMap::new(),
        }
    }

    fn enabled(&self) -> bool {
        self.per_sec.is_finite() && self.per_sec > 0.0
    }

    /// Takes a token of `lane` at `now`, or says how long until one is available.
    pub(crate) fn take(&mut self, lane: &str, now: Instant) -> Result<(), Duration> {
        if !self.enabled() {
            return Ok(());
        }
        if self.lanes.len() > MAX_IDLE_LANES {
            let (per_sec, burst) = (self.per_sec, self.burst);
            self.lanes
                .retain(|_, b| refill(*b, now, per_sec, burst).tokens < burst);
        }
        let bucket = self.lanes.entry(lane.to_string()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        *bucket = refill(*bucket, now, self.per_sec, self.burst);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_sec,
            ))
        }
    }
}

fn refill(b: Bucket, now: Instant, per_sec: f64, burst: f64) -> Bucket {
    let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
    Bucket {
        tokens: (b.tokens + elapsed * per_sec).min(burst),
        at: now.max(b.at),
    }
}

/// The delay before the next attempt after the `failures`-th failure (1 for the first):
/// `base × 2^(failures-1)` capped at `max`, spread by ±25 % (`unit` is uniform in [0, 1)),
/// and never sooner than what the platform asked for.
pub(crate) fn retry_delay(
    failures: u32,
    base: Duration,
    max: Duration,
    retry_after: Option<Duration>,
    unit: f64,
) -> Duration {
    let exponent = failures.saturating_sub(1).min(30);
    let backoff = base.saturating_mul(1u32 << exponent).min(max);
    let jittered = backoff.mul_f64(0.75 + 0.5 * unit.clamp(0.0, 1.0));
    jittered.max(retry_after.unwrap_or_default())
}

/// A uniform number in [0, 1) from the operating system's randomness (through a v4 UUID, so
/// that no extra crate is needed).
pub(crate) fn unit_random() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() as u64 >> 11;
    bits as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lane_gets_its_burst_then_one_a_second() {
        let mut pacer = Pacer::new(1.0, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(pacer.take("slack:C1", t0), Ok(()));
        }
        let wait = pacer.take("slack:C1", t0).unwrap_err();
        assert!(wait > Duration::from_millis(990) && wait <= Duration::from_secs(1));
        // Another lane is not affected.
        assert_eq!(pacer.take("slack:C2", t0), Ok(()));
        assert!(pacer
            .take("slack:C1", t0 + Duration::from_millis(500))
            .is_err());
        assert_eq!(pacer.take("slack:C1", t0 + Duration::from_secs(1)), Ok(()));
        // Refilling never exceeds the burst.
        let later = t0 + Duration::from_secs(100);
        for _ in 0..3 {
            assert_eq!(pacer.take("slack:C1", later), Ok(()));
        }
        assert!(pacer.take("slack:C1", later).is_err());
    }

    #[test]
    fn zero_rate_disables_pacing() {
        let mut pacer = Pacer::new(0.0, 1);
        let t0 = Instant::now();
        for _ in 0..100 {
            assert_eq!(pacer.take("slack:C1", t0), Ok(()));
        }
    }

    #[test]
    fn retry_delays_grow_cap_and_honour_retry_after() {
        let base = Duration::from_secs(1);
        let max = Duration::from_secs(300);
        let mid = |failures, after| retry_delay(failures, base, max, after, 0.5);
        // (failures, retry_after, expected with the jitter at its midpoint)
        let cases = [
            (1, None, 1),
            (2, None, 2),
            (4, None, 8),
            (9, None, 256),
            (10, None, 300),
            (1_000, None, 300),
            (1, Some(30), 30),
            (9, Some(30), 256),
        ];
        for (failures, after, secs) in cases {
            let after = after.map(Duration::from_secs);
            assert_eq!(
                mid(failures, after),
                Duration::from_secs(secs),
                "{failures}"
            );
        }
        assert_eq!(
            retry_delay(1, base, max, None, 0.0),
            Duration::from_millis(750)
        );
        assert_eq!(
            retry_delay(1, base, max, None, 1.0),
            Duration::from_millis(1250)
        );
        // Jitter never brings a retry before the platform's Retry-After.
        assert_eq!(
            retry_delay(1, base, max, Some(Duration::from_secs(1)), 0.0),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn unit_random_is_in_range() {
        for _ in 0..1000 {
            let u = unit_random();
            assert!((0.0..1.0).contains(&u));
        }
    }
}
