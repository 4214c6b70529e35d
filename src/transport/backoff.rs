//! The delay before reconnecting: doubling from a base, capped, with "full jitter" so that many
//! replicas cut off at once do not all come back in the same second.

use std::time::Duration;

/// Reconnect delays for one transport.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

impl Backoff {
    /// Starts at `base`, never waits more than `cap`.
    pub fn new(base: Duration, cap: Duration) -> Self {
        Backoff {
            base,
            cap,
            failures: 0,
        }
    }

    /// A connection worked: the next failure waits the base delay again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// The delay before the next attempt, given a random `unit` in `[0, 1)`: between half and
    /// all of `base × 2^failures`, capped.
    pub fn next_delay(&mut self, unit: f64) -> Duration {
        let exp = self.base.saturating_mul(1u32 << self.failures.min(16));
        self.failures = self.failures.saturating_add(1);
        let ceiling = exp.min(self.cap);
        ceiling.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0))
    }
}

/// A random number in `[0, 1)` from the operating system's random source (through a v4 UUID,
/// which warden already uses for keys), good enough for jitter.
pub fn random_unit() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() as u64 >> 11;
    bits as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_with_jitter_and_stays_under_the_cap() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        let delays: Vec<Duration> = (0..8).map(|_| b.next_delay(1.0)).collect();
        let secs: Vec<u64> = delays.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(b.next_delay(0.0), Duration::from_secs(15));
        b.reset();
        assert_eq!(b.next_delay(0.0), Duration::from_millis(500));
        for _ in 0..100 {
            let unit = random_unit();
            assert!((0.0..1.0).contains(&unit));
            assert!(b.next_delay(unit) <= Duration::from_secs(30));
        }
    }
}
