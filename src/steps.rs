//! Step series: a quantity over time, sorted by time, each value holding until the next (the
//! dynos that ran, a schedule's floor). One reading of them for `chart` and `replay`; the two
//! differ only in what holds before the first step, which the caller says.

use chrono::{DateTime, Utc};

/// A step series.
pub type Steps = [(DateTime<Utc>, u32)];

/// What holds before a series' first step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Before {
    /// Nothing ran: a replay starts from no record of dynos.
    Nothing,
    /// The first value: a record that begins mid-run (a chart's window of the daemon's lines),
    /// so what ran and what was scheduled cover the same time.
    First,
}

impl Before {
    fn value(self, steps: &Steps) -> u32 {
        match self {
            Before::Nothing => 0,
            Before::First => steps.first().map_or(0, |s| s.1),
        }
    }
}

/// The value in force at `t`: the latest step at or before it, else what holds before the
/// first; `None` for an empty series.
pub fn value_at(steps: &Steps, t: DateTime<Utc>, before: Before) -> Option<u32> {
    if steps.is_empty() {
        return None;
    }
    Some(match steps.partition_point(|s| s.0 <= t) {
        0 => before.value(steps),
        n => steps[n - 1].1,
    })
}

/// Dyno-hours over `[from, to)`: each value times the time it holds, exactly (milliseconds).
/// An empty span or series is 0.
pub fn dyno_hours(steps: &Steps, from: DateTime<Utc>, to: DateTime<Utc>, before: Before) -> f64 {
    if to <= from {
        return 0.0;
    }
    let mut total: i128 = 0;
    let mut t = from;
    let mut value = before.value(steps);
    for &(at, next) in steps {
        if at >= to {
            break;
        }
        if at > t {
            total += i128::from(value) * i128::from((at - t).num_milliseconds());
            t = at;
        }
        value = next;
    }
    total += i128::from(value) * i128::from((to - t).num_milliseconds());
    total as f64 / 3_600_000.0
}

/// The largest value within `[from, to)`: the one in force at `from` (0 for an empty series)
/// and every step after it, before `to`.
pub fn peak(steps: &Steps, from: DateTime<Utc>, to: DateTime<Utc>, before: Before) -> u32 {
    steps
        .iter()
        .filter(|s| s.0 > from && s.0 < to)
        .map(|s| s.1)
        .fold(value_at(steps, from, before).unwrap_or(0), u32::max)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    pub(crate) const FROM: &str = "2026-03-02T00:00:00Z";
    pub(crate) const TO: &str = "2026-03-02T03:00:00Z";

    /// 1 until 01:00, 4 until 01:30, 2 to the end.
    pub(crate) fn example() -> Vec<(DateTime<Utc>, u32)> {
        vec![
            (at(FROM), 1),
            (at("2026-03-02T01:00:00Z"), 4),
            (at("2026-03-02T01:30:00Z"), 2),
        ]
    }

    #[test]
    fn dyno_hours_integrate_the_steps_exactly_within_the_span() {
        let s = example();
        for before in [Before::Nothing, Before::First] {
            assert_eq!(dyno_hours(&s, at(FROM), at(TO), before), 1.0 + 2.0 + 3.0);
            // Clipped at both ends: 00:30-01:00 at 1, 01:00-01:30 at 4, 01:30-01:45 at 2.
            let h = dyno_hours(
                &s,
                at("2026-03-02T00:30:00Z"),
                at("2026-03-02T01:45:00Z"),
                before,
            );
            assert_eq!(h, 0.5 + 2.0 + 0.5);
            // Within one step; a step exactly at the end counts nothing.
            let h = dyno_hours(
                &s,
                at("2026-03-02T01:10:00Z"),
                at("2026-03-02T01:30:00Z"),
                before,
            );
            assert_eq!(h, 4.0 / 3.0);
            // After the last step its value goes on.
            let h = dyno_hours(
                &s,
                at("2026-03-02T05:00:00Z"),
                at("2026-03-02T06:00:00Z"),
                before,
            );
            assert_eq!(h, 2.0);
            assert_eq!(
                dyno_hours(&s, at(TO), at(FROM), before),
                0.0,
                "an empty span"
            );
            assert_eq!(dyno_hours(&s, at(TO), at(TO), before), 0.0, "an empty span");
            assert_eq!(dyno_hours(&[], at(FROM), at(TO), before), 0.0);
        }
    }

    #[test]
    fn before_the_first_step_holds_nothing_or_the_first_value() {
        let one = [(at("2026-03-02T00:00:10Z"), 4)];
        let to = at("2026-03-02T00:00:11Z");
        assert_eq!(
            dyno_hours(&one, at(FROM), to, Before::Nothing),
            4.0 / 3600.0
        );
        assert_eq!(dyno_hours(&one, at(FROM), to, Before::First), 44.0 / 3600.0);
        // A span wholly before the series.
        let early = at("2026-03-01T23:00:00Z");
        assert_eq!(dyno_hours(&one, early, at(FROM), Before::Nothing), 0.0);
        assert_eq!(dyno_hours(&one, early, at(FROM), Before::First), 4.0);
    }

    #[test]
    fn the_value_at_an_instant_is_the_latest_step_at_or_before_it() {
        let s = example();
        let early = at("2026-03-01T23:59:59Z");
        assert_eq!(value_at(&s, early, Before::Nothing), Some(0));
        assert_eq!(value_at(&s, early, Before::First), Some(1));
        assert_eq!(value_at(&s[1..], early, Before::First), Some(4));
        for before in [Before::Nothing, Before::First] {
            assert_eq!(value_at(&s, at(FROM), before), Some(1));
            assert_eq!(value_at(&s, at("2026-03-02T00:59:59Z"), before), Some(1));
            assert_eq!(value_at(&s, at("2026-03-02T01:00:00Z"), before), Some(4));
            assert_eq!(value_at(&s, at("2026-03-02T05:00:00Z"), before), Some(2));
            assert_eq!(value_at(&[], at(FROM), before), None);
        }
    }

    #[test]
    fn the_peak_is_the_largest_value_within_the_span() {
        let s = example();
        for before in [Before::Nothing, Before::First] {
            assert_eq!(peak(&s, at(FROM), at(TO), before), 4);
            // A step at the span's end is not in it; the value in force at its start is.
            assert_eq!(peak(&s, at(FROM), at("2026-03-02T01:00:00Z"), before), 1);
            assert_eq!(peak(&s, at("2026-03-02T01:10:00Z"), at(TO), before), 4);
            assert_eq!(peak(&s, at("2026-03-02T01:40:00Z"), at(TO), before), 2);
            let later = [(at(FROM), 3), (at("2026-03-02T02:00:00Z"), 1)];
            assert_eq!(peak(&later, at("2026-03-02T02:30:00Z"), at(TO), before), 1);
            assert_eq!(peak(&[], at(FROM), at(TO), before), 0);
            // Two steps at one instant: the later one is in force; the first held no time.
            let twice = [(at(FROM), 5), (at(FROM), 1)];
            assert_eq!(peak(&twice, at(FROM), at(TO), before), 1);
        }
        // Before the first step: nothing, or the first value.
        let early = at("2026-03-01T23:00:00Z");
        let one = [(at(FROM), 3)];
        assert_eq!(peak(&one, early, at(FROM), Before::Nothing), 0);
        assert_eq!(peak(&one, early, at(FROM), Before::First), 3);
        assert_eq!(peak(&one, early, at(TO), Before::Nothing), 3);
    }
}
