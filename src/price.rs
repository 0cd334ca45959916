//! What a schedule costs at Heroku's list prices ([`crate::size`]): each span between two edges
//! priced at the quantity and the size in force, for `plan`, `suggest`, `replay` and `chart`
//! (`--price` replaces the table with one price per dyno-hour).
//!
//! This module is **pure**: no I/O, no clock reads.
//!
//! An entry without a size keeps the size that runs, which only Heroku knows; offline, the size
//! in force is the one the latest entry naming a size set. A schedule repeats week after week,
//! so at the start of a week that is the last size named in the week. A schedule that names no
//! size has no list price: only `--price` prices it.

use chrono::{DateTime, Duration, Utc};

use crate::schedule::{Schedule, LOOKBACK_DAYS};
use crate::size::Size;

/// Hours in a week.
const WEEK_HOURS: f64 = 168.0;

/// A week of a schedule at list prices, in US dollars.
#[derive(Debug, Clone, PartialEq)]
pub struct Week {
    /// The schedule's week.
    pub cost: f64,
    /// The schedule's peak all week, on the dearest size it runs.
    pub at_peak: f64,
    /// AUTOSCALE_MAX all week, on the dearest size it runs.
    pub at_max: f64,
    /// The sizes the week runs, in the order they first apply.
    pub sizes: Vec<Size>,
}

/// The size in force right after each of the week's edges, and at its start: `sized` lists
/// the week's edges (instant, size named) in time order.
fn size_at_start(at_from: Option<Size>, sized: &[Option<Size>]) -> Option<Size> {
    at_from.or_else(|| sized.iter().rev().find_map(|s| *s))
}

/// The 7 days from `from` of `schedule` at list prices, AUTOSCALE_MAX `max`. None when the
/// schedule names no size (the formation's is unknown offline).
pub fn week(schedule: &Schedule, from: DateTime<Utc>, max: u32) -> Option<Week> {
    let end = from.checked_add_signed(Duration::days(7))?;
    let first = schedule.floor(from);
    let edges: Vec<_> = schedule
        .edges_after(from)
        .take_while(|e| e.at < end)
        .collect();
    let named: Vec<Option<Size>> = edges.iter().map(|e| e.size).collect();
    let mut size = size_at_start(first.and_then(|e| e.size), &named)?;
    let mut sizes = vec![size];
    let lookback = Duration::days(LOOKBACK_DAYS);
    let mut cost = 0.0;
    let mut add = |fired: Option<(DateTime<Utc>, u32)>, size: Size, start: DateTime<Utc>, stop| {
        if let Some((at, quantity)) = fired {
            // floor(t) lapses LOOKBACK_DAYS after a firing, as in the schedule's dyno-hours.
            let stop: DateTime<Utc> = at
                .checked_add_signed(lookback)
                .map_or(stop, |l| l.min(stop));
            if stop > start {
                let hours = (stop - start).num_seconds() as f64 / 3600.0;
                cost += f64::from(quantity) * hours * size.hourly();
            }
        }
    };
    let mut fired = first.map(|e| (e.at, e.quantity));
    let mut since = from;
    for edge in &edges {
        add(fired, size, since, edge.at);
        if let Some(named) = edge.size {
            size = named;
            if !sizes.contains(&named) {
                sizes.push(named);
            }
        }
        fired = Some((edge.at, edge.quantity));
        since = edge.at;
    }
    add(fired, size, since, end);
    let dearest = sizes.iter().map(|s| s.hourly()).fold(0.0_f64, f64::max);
    Some(Week {
        cost,
        at_peak: f64::from(schedule.max_quantity()) * WEEK_HOURS * dearest,
        at_max: f64::from(max) * WEEK_HOURS * dearest,
        sizes,
    })
}

/// The list price of an average dyno-hour of the 7 days from `from` of `schedule`: its week's
/// cost over its dyno-hours (a schedule of Performance-M by day and Standard-1X by night costs
/// between the two). None when it names no size or runs no dyno.
pub fn average_hourly(schedule: &Schedule, from: DateTime<Utc>) -> Option<f64> {
    let hours = schedule.dyno_hours_per_week(from);
    let week = week(schedule, from, 0)?;
    (hours > 0.0).then(|| (week.cost / hours * 10_000.0).round() / 10_000.0)
}

/// The sizes each of `edges` changes to: `Some(size)` where an edge names a size other than the
/// one in force before it (Heroku then restarts every dyno of the type), None elsewhere.
/// `before` is the size in force before the first edge, when known.
pub fn size_changes(before: Option<Size>, edges: &[Option<Size>]) -> Vec<Option<Size>> {
    let mut current = size_at_start(before, edges);
    edges
        .iter()
        .map(|named| {
            let named = (*named)?;
            let changes = current != Some(named);
            current = Some(named);
            changes.then_some(named)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::UTC;

    fn t(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0).unwrap()
    }

    fn size(name: &str) -> Size {
        Size::parse(name).unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn a_week_is_priced_span_by_span_at_the_size_in_force() {
        // 3 Performance-M from 07:00 to 22:00, 1 Standard-1X overnight.
        let s = Schedule::parse("07:00=3:performance-m; 22:00=1:standard-1x", UTC).unwrap();
        let pm = 250.0 / 720.0;
        let s1 = 25.0 / 720.0;
        let w = week(&s, t(1, 0), 4).unwrap();
        assert!(close(w.cost, 7.0 * (3.0 * 15.0 * pm + 9.0 * s1)), "{w:?}");
        assert!(close(w.at_peak, 3.0 * 168.0 * pm), "{w:?}");
        assert!(close(w.at_max, 4.0 * 168.0 * pm), "{w:?}");
        // The week starts at night: Standard-1X first.
        assert_eq!(w.sizes, vec![size("standard-1x"), size("performance-m")]);
        // Starting at noon gives the same week.
        let noon = week(&s, t(1, 12), 4).unwrap();
        assert!(close(noon.cost, w.cost));
        assert_eq!(noon.sizes, vec![size("performance-m"), size("standard-1x")]);
    }

    #[test]
    fn an_entry_without_a_size_keeps_the_size_in_force() {
        // 12:00 names none: 2 Performance-M from 12:00 until 22:00, and the night's size
        // wraps around to the week's start (the floor at 00:00 names none).
        let s = Schedule::parse(
            "07:00=3:performance-m; 12:00=2; 22:00=1:standard-1x; 03:00=1",
            UTC,
        )
        .unwrap();
        let pm = 250.0 / 720.0;
        let s1 = 25.0 / 720.0;
        let w = week(&s, t(1, 0), 3).unwrap();
        let day = 3.0 * 5.0 * pm + 2.0 * 10.0 * pm + 9.0 * s1;
        assert!(close(w.cost, 7.0 * day), "{w:?}");
        assert_eq!(w.sizes, vec![size("standard-1x"), size("performance-m")]);
    }

    #[test]
    fn a_schedule_without_sizes_has_no_list_price() {
        let s = Schedule::parse("07:00=3; 22:00=1", UTC).unwrap();
        assert_eq!(week(&s, t(1, 0), 3), None);
        // One size is enough: the rest keep it.
        let s = Schedule::parse("07:00=3; 22:00=1:basic", UTC).unwrap();
        let w = week(&s, t(1, 0), 3).unwrap();
        assert!(
            close(w.cost, 7.0 * (3.0 * 15.0 + 9.0) * 7.0 / 720.0),
            "{w:?}"
        );
        // Eco costs nothing per hour (a flat fee for a pool of hours).
        let s = Schedule::parse("00:00=1:eco", UTC).unwrap();
        let w = week(&s, t(1, 0), 1).unwrap();
        assert_eq!((w.cost, w.at_peak, w.at_max), (0.0, 0.0, 0.0));
    }

    #[test]
    fn an_edge_at_the_end_of_the_week_is_the_next_week_s() {
        // Performance-L fires exactly 7 days after `from`: not this week's, its price unused.
        let s = Schedule::parse("00:00=1:standard-1x; 0 0 8 12 *=2:performance-l", UTC).unwrap();
        let w = week(&s, t(1, 0), 2).unwrap();
        assert_eq!(w.sizes, vec![size("standard-1x")]);
        assert!(close(w.cost, 168.0 * 25.0 / 720.0), "{w:?}");
        assert!(close(w.at_peak, 2.0 * 168.0 * 25.0 / 720.0), "{w:?}");
    }

    #[test]
    fn a_yearly_entry_lapses_as_the_floor_does() {
        // Fired Jan 1: counts 8 days, then nothing is in force.
        let s = Schedule::parse("0 0 1 1 *=2:standard-2x", UTC).unwrap();
        let from = Utc.with_ymd_and_hms(2027, 1, 5, 0, 0, 0).unwrap();
        let w = week(&s, from, 2).unwrap();
        assert!(close(w.cost, 2.0 * 96.0 * 50.0 / 720.0), "{w:?}");
        assert_eq!(week(&s, DateTime::<Utc>::MAX_UTC, 2), None);
    }

    #[test]
    fn an_average_dyno_hour_weighs_each_size_by_its_hours() {
        let s = Schedule::parse("07:00=3:performance-m; 22:00=1:standard-1x", UTC).unwrap();
        let day: f64 = 45.0 * 250.0 / 720.0 + 9.0 * 25.0 / 720.0;
        let want = ((day / 54.0) * 10_000.0).round() / 10_000.0;
        assert_eq!(average_hourly(&s, t(1, 0)), Some(want));
        assert_eq!(want, 0.2951);
        let one = Schedule::parse("00:00=2:standard-2x", UTC).unwrap();
        assert_eq!(average_hourly(&one, t(1, 0)), Some(0.0694));
        let none = Schedule::parse("07:00=3; 22:00=1", UTC).unwrap();
        assert_eq!(average_hourly(&none, t(1, 0)), None);
        let zero = Schedule::parse("00:00=0:performance-m", UTC).unwrap();
        assert_eq!(average_hourly(&zero, t(1, 0)), None);
    }

    #[test]
    fn size_changes_mark_edges_that_restart_dynos() {
        let (pm, s1) = (Some(size("performance-m")), Some(size("standard-1x")));
        // Known before: the first edge to the same size changes nothing.
        assert_eq!(
            size_changes(s1, &[s1, pm, None, pm, s1]),
            vec![None, pm, None, None, s1]
        );
        // Unknown before: the last size named stands in (the schedule repeats).
        assert_eq!(size_changes(None, &[pm, None, s1]), vec![pm, None, s1]);
        assert_eq!(size_changes(None, &[pm, None, pm]), vec![None, None, None]);
        assert_eq!(size_changes(None, &[None, None]), vec![None, None]);
        assert!(size_changes(pm, &[]).is_empty());
    }
}
