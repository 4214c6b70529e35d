//! Deciding whether a rate limit allows one more use. Storage counts the recent uses; this only
//! decides, so that the rule can be tested without a database.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::RateLimit;

/// A refused use: the limit that was reached and when the next use will be allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimited {
    /// The limit that was reached.
    pub limit: RateLimit,
    /// How long until the oldest use in the window leaves it.
    pub retry_after: Duration,
}

impl fmt::Display for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rate limit {} reached; try again in {}",
            self.limit,
            human_wait(self.retry_after)
        )
    }
}

impl std::error::Error for RateLimited {}

/// Formats a wait for people, rounding up so that "try again in 12m" is never too early.
fn human_wait(d: Duration) -> String {
    let secs = d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0));
    if secs < 60 {
        return format!("{secs}s");
    }
    let minutes = secs.div_ceil(60);
    if minutes < 60 {
        return format!("{minutes}m");
    }
    match (minutes / 60, minutes % 60) {
        (hours, 0) => format!("{hours}h"),
        (hours, rest) => format!("{hours}h {rest}m"),
    }
}

/// Decides whether one more use is allowed, given how many uses happened in the window ending
/// at `now` and when the oldest of them was. When refused, the wait is until that oldest use
/// leaves the window (at least one second, so that clients never retry in a busy loop).
pub fn check(
    limit: &RateLimit,
    uses_in_window: u32,
    oldest_use_in_window: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), RateLimited> {
    if uses_in_window < limit.count {
        return Ok(());
    }
    // Without the oldest use (a store that only counts), the safe answer is a whole window.
    // Checked arithmetic, because an absurd window or timestamp must not panic the server.
    let leaves_window = oldest_use_in_window.and_then(|oldest| {
        chrono::Duration::from_std(limit.per)
            .ok()
            .and_then(|per| oldest.checked_add_signed(per))
    });
    let retry_after = match leaves_window {
        Some(at) => (at - now).to_std().unwrap_or(Duration::ZERO),
        None => limit.per,
    };
    Err(RateLimited {
        limit: *limit,
        retry_after: retry_after.max(Duration::from_secs(1)),
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn decisions() {
        let limit: RateLimit = "10/hour".parse().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        let mins = |m: i64| now - chrono::Duration::minutes(m);
        // (uses in window, oldest use, expected wait in seconds when refused)
        type Case = (u32, Option<DateTime<Utc>>, Option<u64>);
        let cases: &[Case] = &[
            (0, None, None),
            (9, Some(mins(59)), None),
            (10, Some(mins(48)), Some(12 * 60)),
            (11, Some(mins(30)), Some(30 * 60)),
            // A stale oldest use (the store's window lagging) still waits at least a second.
            (10, Some(mins(61)), Some(1)),
            (10, None, Some(3600)),
        ];
        for (uses, oldest, want) in cases {
            let got = check(&limit, *uses, *oldest, now)
                .err()
                .map(|e| e.retry_after.as_secs());
            assert_eq!(got, *want, "{uses} {oldest:?}");
        }
        let refused = check(&limit, 10, Some(mins(48)), now).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "rate limit 10/1h reached; try again in 12m"
        );
    }

    #[test]
    fn absurd_windows_do_not_panic() {
        let limit = RateLimit {
            count: 1,
            per: Duration::from_secs(u64::MAX),
        };
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert!(check(&limit, 1, Some(now), now).is_err());
        let limit: RateLimit = "1/100000000d".parse().unwrap();
        assert!(check(&limit, 1, Some(DateTime::<Utc>::MAX_UTC), now).is_err());
    }

    #[test]
    fn waits_read_well() {
        let cases = [
            (1, "1s"),
            (59, "59s"),
            (60, "1m"),
            (61, "2m"),
            (3599, "1h"),
            (3600, "1h"),
            (3601, "1h 1m"),
            (7200, "2h"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_wait(Duration::from_secs(secs)), want);
        }
        assert_eq!(human_wait(Duration::from_millis(1500)), "2s");
    }
}
