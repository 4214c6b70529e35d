//! The dispatcher's two clocks, pure and testable: a token bucket per channel lane (about one
//! message per second with a small burst, what Slack and Discord tolerate per channel), and
//! the delay before a failed delivery is tried again.
//!
//! A lane's bucket is kept in the database (`outbox_pacing`) and updated in the transaction
//! that claims the lane's next row, so that every replica paces a channel together: a lane's
//! rows are claimed one at a time, in order, by whichever replica gets there.

use std::time::Duration;

/// The pacing rule: `per_sec` tokens a second per lane, up to `burst`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pacing {
    per_sec: f64,
    burst: f64,
}

/// A lane's bucket: the tokens it held at `at_ms`.
pub(crate) type Bucket = (f64, i64);

impl Pacing {
    /// `None` when the rate is 0 or less (or not finite): pacing is off.
    pub(crate) fn new(per_sec: f64, burst: u32) -> Option<Pacing> {
        (per_sec.is_finite() && per_sec > 0.0).then(|| Pacing {
            per_sec,
            burst: f64::from(burst.max(1)),
        })
    }

    /// Takes a token from a lane whose bucket was `bucket` (`None`: never used, so full) at
    /// `now_ms`: the bucket afterwards, or how many milliseconds until a token is there.
    pub(crate) fn take(&self, bucket: Option<Bucket>, now_ms: i64) -> Result<Bucket, i64> {
        let (tokens, at_ms) = bucket.unwrap_or((self.burst, now_ms));
        let elapsed = (now_ms - at_ms).max(0) as f64 / 1000.0;
        let tokens = (tokens + elapsed * self.per_sec).min(self.burst);
        let at_ms = now_ms.max(at_ms);
        if tokens >= 1.0 {
            Ok((tokens - 1.0, at_ms))
        } else {
            Err(((1.0 - tokens) / self.per_sec * 1000.0).ceil() as i64)
        }
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
        let pacing = Pacing::new(1.0, 3).unwrap();
        let t0 = 1_700_000_000_000;
        let mut bucket = None;
        for _ in 0..3 {
            bucket = Some(pacing.take(bucket, t0).unwrap());
        }
        let wait = pacing.take(bucket, t0).unwrap_err();
        assert!(wait > 990 && wait <= 1000, "{wait}");
        // Another lane (a bucket never used) is not affected.
        assert!(pacing.take(None, t0).is_ok());
        assert!(pacing.take(bucket, t0 + 500).is_err());
        let bucket = pacing.take(bucket, t0 + 1000).unwrap();
        // A clock that went backwards (another replica's) never adds tokens.
        assert!(pacing.take(Some(bucket), t0).is_err());
        // Refilling never exceeds the burst.
        let later = t0 + 100_000;
        let mut bucket = Some(bucket);
        for _ in 0..3 {
            bucket = Some(pacing.take(bucket, later).unwrap());
        }
        assert!(pacing.take(bucket, later).is_err());
    }

    #[test]
    fn zero_rate_disables_pacing() {
        assert!(Pacing::new(0.0, 1).is_none());
        assert!(Pacing::new(f64::NAN, 1).is_none());
        assert!(Pacing::new(-1.0, 1).is_none());
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
