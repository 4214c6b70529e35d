//! Scheduled audit digests (`[[digests]]` in `warden.toml`): when a digest is due, and
//! (`send`) posting it. The slot arithmetic (`latest_slot`, `due`) is shared with scheduled
//! commands (`schedules`), which add `every DURATION`.
//!
//! A schedule has slots: every hour, every day at HH:MM, or every week on a day at HH:MM, all
//! in UTC. `due` fires the most recent slot that was not sent; after downtime only that slot
//! fires, once, however many were missed. A slot is claimed in `digest_slots` in the same
//! transaction that enqueues the digest and appends its `digest.sent` event, so with several
//! replicas exactly one sends it.
//!
//! Architecture invariant: the slot arithmetic here does no IO and reads no clock; `send` does
//! the IO and takes `now` as an argument too.

mod send;

pub use send::{send_now, summary_for, tick, LOOKBACK_DAYS};

use chrono::{DateTime, Datelike, Duration, NaiveTime, Timelike, Utc};

use crate::config::Schedule;

/// The time between two slots of `schedule`.
pub fn period(schedule: &Schedule) -> Duration {
    match schedule {
        Schedule::Every(every) => Duration::from_std(*every).unwrap_or(Duration::hours(1)),
        Schedule::Hourly => Duration::hours(1),
        Schedule::Daily { .. } => Duration::days(1),
        Schedule::Weekly { .. } => Duration::weeks(1),
    }
}

/// The most recent slot of `schedule` at or before `now`.
pub fn latest_slot(schedule: &Schedule, now: DateTime<Utc>) -> DateTime<Utc> {
    let at = |date: chrono::NaiveDate, hour: u32, minute: u32| {
        let time = NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN);
        date.and_time(time).and_utc()
    };
    match *schedule {
        Schedule::Every(every) => {
            // Slots are counted from the Unix epoch, so every replica computes the same ones.
            let step = (every.as_millis() as i64).max(1);
            let ms = now.timestamp_millis();
            DateTime::from_timestamp_millis(ms - ms.rem_euclid(step)).unwrap_or(now)
        }
        Schedule::Hourly => at(now.date_naive(), now.hour(), 0),
        Schedule::Daily { hour, minute } => {
            let today = at(now.date_naive(), hour, minute);
            if today <= now {
                today
            } else {
                today - Duration::days(1)
            }
        }
        Schedule::Weekly {
            weekday,
            hour,
            minute,
        } => {
            let back =
                (7 + now.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
            let this_week = at(now.date_naive(), hour, minute) - Duration::days(back.into());
            if this_week <= now {
                this_week
            } else {
                this_week - Duration::weeks(1)
            }
        }
    }
}

/// The slot to send now, if any: the latest slot, unless it (or a later one) was already sent.
pub fn due(
    schedule: &Schedule,
    last_sent_slot: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let slot = latest_slot(schedule, now);
    match last_sent_slot {
        Some(sent) if sent >= slot => None,
        _ => Some(slot),
    }
}

/// The window a slot's digest covers: from the schedule's previous slot up to the slot.
pub fn window(schedule: &Schedule, slot: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (slot - period(schedule), slot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    const DAILY_9: Schedule = Schedule::Daily { hour: 9, minute: 0 };
    const MON_9: Schedule = Schedule::Weekly {
        weekday: Weekday::Mon,
        hour: 9,
        minute: 0,
    };

    #[test]
    fn latest_slots() {
        // 2026-11-23 is a Monday.
        let cases = [
            (
                Schedule::Hourly,
                "2026-11-22T10:00:00Z",
                "2026-11-22T10:00:00Z",
            ),
            (
                Schedule::Hourly,
                "2026-11-22T10:59:59Z",
                "2026-11-22T10:00:00Z",
            ),
            (
                Schedule::Hourly,
                "2026-11-23T00:00:01Z",
                "2026-11-23T00:00:00Z",
            ),
            (DAILY_9, "2026-11-22T09:00:00Z", "2026-11-22T09:00:00Z"),
            (DAILY_9, "2026-11-22T08:59:59Z", "2026-11-21T09:00:00Z"),
            (DAILY_9, "2026-11-22T23:59:59Z", "2026-11-22T09:00:00Z"),
            (DAILY_9, "2026-11-23T00:00:00Z", "2026-11-22T09:00:00Z"),
            (DAILY_9, "2026-01-01T00:30:00Z", "2025-12-31T09:00:00Z"),
            (
                Schedule::Daily {
                    hour: 23,
                    minute: 45,
                },
                "2026-11-23T00:10:00Z",
                "2026-11-22T23:45:00Z",
            ),
            (MON_9, "2026-11-23T09:00:00Z", "2026-11-23T09:00:00Z"),
            (MON_9, "2026-11-23T08:59:00Z", "2026-11-16T09:00:00Z"),
            (MON_9, "2026-11-22T23:00:00Z", "2026-11-16T09:00:00Z"),
            (MON_9, "2026-11-29T23:59:59Z", "2026-11-23T09:00:00Z"),
            (MON_9, "2026-11-30T09:01:00Z", "2026-11-30T09:00:00Z"),
            (MON_9, "2027-01-01T12:00:00Z", "2026-12-28T09:00:00Z"),
            (
                Schedule::Weekly {
                    weekday: Weekday::Sun,
                    hour: 18,
                    minute: 30,
                },
                "2026-11-23T09:00:00Z",
                "2026-11-22T18:30:00Z",
            ),
        ];
        let every = |secs| Schedule::Every(std::time::Duration::from_secs(secs));
        let cases = cases.into_iter().chain([
            (every(10), "2026-11-22T10:00:09Z", "2026-11-22T10:00:00Z"),
            (every(10), "2026-11-22T10:00:10Z", "2026-11-22T10:00:10Z"),
            (every(90), "2026-11-22T10:01:29Z", "2026-11-22T10:00:00Z"),
            (every(90), "2026-11-22T10:01:30Z", "2026-11-22T10:01:30Z"),
        ]);
        for (schedule, now, expect) in cases {
            assert_eq!(
                latest_slot(&schedule, t(now)),
                t(expect),
                "{schedule} at {now}"
            );
        }
    }

    #[test]
    fn due_fires_each_slot_once_and_only_the_latest_after_downtime() {
        let slot = t("2026-11-22T09:00:00Z");
        let cases = [
            // Never sent: the latest slot fires.
            (None, "2026-11-22T09:05:00Z", Some(slot)),
            // Sent: nothing until the next slot.
            (Some(slot), "2026-11-22T09:10:00Z", None),
            (Some(slot), "2026-11-23T08:59:59Z", None),
            (
                Some(slot),
                "2026-11-23T09:00:00Z",
                Some(t("2026-11-23T09:00:00Z")),
            ),
            // Three days down: only the latest missed slot fires.
            (
                Some(slot),
                "2026-11-25T10:00:00Z",
                Some(t("2026-11-25T09:00:00Z")),
            ),
            // A later slot already sent (e.g. a clock that went back) also means nothing to do.
            (
                Some(t("2026-11-23T09:00:00Z")),
                "2026-11-22T10:00:00Z",
                None,
            ),
        ];
        for (sent, now, expect) in cases {
            assert_eq!(
                due(&DAILY_9, sent, t(now)),
                expect,
                "sent {sent:?} at {now}"
            );
        }
    }

    #[test]
    fn windows_end_at_the_slot() {
        let slot = t("2026-11-23T09:00:00Z");
        assert_eq!(window(&DAILY_9, slot).0, t("2026-11-22T09:00:00Z"));
        assert_eq!(window(&MON_9, slot).0, t("2026-11-16T09:00:00Z"));
        assert_eq!(window(&Schedule::Hourly, slot).0, t("2026-11-23T08:00:00Z"));
        assert_eq!(window(&Schedule::Hourly, slot).1, slot);
    }
}
