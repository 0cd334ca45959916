//! Estimate: what the traffic needs, hour by hour of the week, and what the current schedule
//! runs in those hours.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc, Weekday};
use chrono_tz::Tz;

use super::render::{humanize, plural, rfc3339};
use super::{
    Options, SuggestError, COMPARE_DAYS, DAY_MINUTES, EDGE_CHUNK, FULL_SPAN, HOURS_PER_WEEK,
    LONG_QUIET, MAX_BUSY, MAX_SPAN, MIN_SPAN,
};
use crate::calendar::Calendar;
use crate::calendar::Edge;
use crate::policy::dynos_for;
use crate::traffic::minute::{minute_of, Minute};

/// Dynos the traffic wants at `busy` requests in service, before `min` and `max`.
pub(super) fn dynos_wanted(busy: f64, options: &Options) -> u32 {
    dynos_for(
        busy * (1.0 + options.headroom),
        options.concurrency,
        options.utilization,
    )
}

/// What the reader should know about the traffic the suggestion comes from.
pub(super) fn warnings(
    traffic: &Recorded,
    seen: &[u64],
    wanted: &[u32],
    options: &Options,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let span = traffic.span();
    if span < FULL_SPAN {
        let unseen = seen.iter().filter(|&&n| n == 0).count();
        let mut warning = format!(
            "only {} of traffic: a week or more shows the weekly shape",
            humanize(span)
        );
        if unseen > 0 {
            let _ = write!(
                warning,
                "; {unseen} hours of the week are not in it and borrow the same hour of the days that are"
            );
        }
        warnings.push(warning);
    }
    if traffic.ignored > 0 {
        warnings.push(format!(
            "{} minute{} with a damaged busy figure (not a number from 0 to {MAX_BUSY}) ignored",
            traffic.ignored,
            plural(traffic.ignored)
        ));
    }
    if let Some((start, length)) = traffic.longest_quiet() {
        if length >= LONG_QUIET {
            warnings.push(format!(
                "no request at all for {} from {}: counted as quiet; if the recording stopped then, the suggestion is too low for those hours",
                humanize(length),
                rfc3339(start)
            ));
        }
    }
    if let Some(max) = options.max {
        let over: Vec<u32> = wanted.iter().copied().filter(|&w| w > max).collect();
        if let Some(most) = over.iter().max() {
            warnings.push(format!(
                "the traffic needed more than max {max} in {} hour{} of the week (up to {most}): the suggestion stops at {max}",
                over.len(),
                plural(over.len())
            ));
        }
    }

    warnings
}

/// The traffic as one figure a minute over its whole span.
pub(super) struct Recorded {
    /// The first minute's start.
    pub(super) first: DateTime<Utc>,
    /// Busy of every minute from `first` on; quiet minutes 0.
    pub(super) busy: Vec<f64>,
    /// Whether a minute had a figure.
    pub(super) present: Vec<bool>,
    /// Minutes ignored for a damaged busy.
    pub(super) ignored: usize,
}

impl Recorded {
    pub(super) fn read(minutes: &[Minute]) -> Result<Recorded, SuggestError> {
        let usable: Vec<(DateTime<Utc>, f64)> = minutes
            .iter()
            .filter(|m| (0.0..=MAX_BUSY).contains(&m.busy))
            .map(|m| (minute_of(m.minute), m.busy))
            .collect();
        let ignored = minutes.len() - usable.len();
        let (Some(first), Some(last)) = (
            usable.iter().map(|u| u.0).min(),
            usable.iter().map(|u| u.0).max(),
        ) else {
            return Err(SuggestError::NoTraffic { ignored });
        };
        let span = last - first + TimeDelta::minutes(1);
        let end = rfc3339(first.checked_add_signed(span).unwrap_or(last));
        if span < MIN_SPAN {
            return Err(SuggestError::TooShort {
                span: humanize(span),
                from: rfc3339(first),
                to: end,
            });
        }
        if span > MAX_SPAN {
            return Err(SuggestError::TooLong {
                span: humanize(span),
                from: rfc3339(first),
                to: end,
            });
        }
        let count = span.num_minutes() as usize;
        let mut busy = vec![0.0; count];
        let mut present = vec![false; count];
        for (at, b) in usable {
            let index = (at - first).num_minutes() as usize;
            busy[index] = f64::max(busy[index], b);
            present[index] = true;
        }
        Ok(Recorded {
            first,
            busy,
            present,
            ignored,
        })
    }

    pub(super) fn span(&self) -> TimeDelta {
        TimeDelta::minutes(self.busy.len() as i64)
    }

    pub(super) fn end(&self) -> DateTime<Utc> {
        self.first + self.span()
    }

    /// Every minute's busy, by the local hour of the week it falls in.
    pub(super) fn by_hour(&self, tz: Tz) -> Vec<Vec<f64>> {
        let mut by_hour = vec![Vec::new(); HOURS_PER_WEEK];
        for (i, &busy) in self.busy.iter().enumerate() {
            let at = self.first + TimeDelta::minutes(i as i64);
            by_hour[hour_of_week(at, tz)].push(busy);
        }
        by_hour
    }

    /// The longest run of minutes without a figure: its start and length.
    pub(super) fn longest_quiet(&self) -> Option<(DateTime<Utc>, TimeDelta)> {
        let mut longest: Option<(usize, usize)> = None;
        let mut run_start = 0;
        for (i, &present) in self.present.iter().chain([&true]).enumerate() {
            if present {
                let length = i - run_start;
                if length > longest.map_or(0, |l| l.1) {
                    longest = Some((run_start, length));
                }
                run_start = i + 1;
            }
        }
        longest.map(|(start, length)| {
            (
                self.first + TimeDelta::minutes(start as i64),
                TimeDelta::minutes(length as i64),
            )
        })
    }
}

/// 0 for Monday 00:00-00:59 local, … 167 for Sunday 23:00-23:59.
pub(super) fn hour_of_week(at: DateTime<Utc>, tz: Tz) -> usize {
    let local = at.with_timezone(&tz);
    local.weekday().num_days_from_monday() as usize * 24 + local.hour() as usize
}

pub(super) fn weekday_name(hour_of_week: usize) -> String {
    const NAMES: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
    NAMES[hour_of_week / 24 % 7].to_string()
}

/// The 95th percentile of each hour's minutes. An hour without minutes borrows the minutes of
/// the same hour on the other days, or, when there are none either, of the whole span.
pub(super) fn p95_by_hour(by_hour: &mut [Vec<f64>]) -> Vec<f64> {
    (0..by_hour.len())
        .map(|h| {
            if !by_hour[h].is_empty() {
                return p95(&mut by_hour[h]);
            }
            let mut pool: Vec<f64> = (h % 24..by_hour.len())
                .step_by(24)
                .flat_map(|d| by_hour[d].iter().copied())
                .collect();
            if pool.is_empty() {
                pool = by_hour.iter().flatten().copied().collect();
            }
            p95(&mut pool)
        })
        .collect()
}

/// The 95th percentile, nearest rank: the smallest value at least 95 % of the values are at or
/// below. 0 for no values.
pub(super) fn p95(values: &mut [f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    let rank = (values.len() * 95).div_ceil(100);
    rank.checked_sub(1).map_or(0.0, |i| values[i])
}

/// The current schedule's lowest floor (holidays included: the one floor the daemon runs) in
/// each local hour of the week, over the
/// [`COMPARE_DAYS`] days from `from` (None for an hour those days do not contain). Exact: walks
/// the firings, so a dip of a second counts. No floor (nothing fired lately) counts as 0.
pub(super) fn lowest_by_hour(schedule: &Calendar, tz: Tz, from: DateTime<Utc>) -> Vec<Option<u32>> {
    let mut lowest: Vec<Option<u32>> = vec![None; HOURS_PER_WEEK];
    let Some(end) = from.checked_add_signed(TimeDelta::days(COMPARE_DAYS)) else {
        return lowest;
    };
    let mut edges = edges_from(schedule, from)
        .take_while(|e| e.at < end)
        .peekable();
    let mut quantity = schedule.floor(from).map_or(0, |e| e.quantity);
    for i in 0..COMPARE_DAYS * DAY_MINUTES {
        let start = from + TimeDelta::minutes(i);
        let stop = start + TimeDelta::minutes(1);
        while let Some(edge) = edges.next_if(|e| e.at <= start) {
            quantity = edge.quantity;
        }
        let mut least = quantity;
        while let Some(edge) = edges.next_if(|e| e.at < stop) {
            quantity = edge.quantity;
            least = least.min(quantity);
        }
        let slot = &mut lowest[hour_of_week(start, tz)];
        *slot = Some(slot.map_or(least, |l| l.min(least)));
    }
    lowest
}

/// Every firing of `schedule` after `from`, in order, read a chunk at a time.
pub(super) fn edges_from(
    schedule: &Calendar,
    from: DateTime<Utc>,
) -> impl Iterator<Item = Edge> + '_ {
    let mut after = Some(from);
    let mut chunk = Vec::new().into_iter();
    std::iter::from_fn(move || loop {
        if let Some(edge) = chunk.next() {
            return Some(edge);
        }
        let edges = schedule.next_edges(after?, EDGE_CHUNK);
        after = (edges.len() == EDGE_CHUNK)
            .then(|| edges.last().map(|e| e.at))
            .flatten();
        if edges.is_empty() {
            return None;
        }
        chunk = edges.into_iter();
    })
}
