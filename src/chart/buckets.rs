//! Minutes grouped for drawing: a week has 10,080 minutes and a plot about a thousand pixels,
//! so the panels draw buckets of minutes (2 px or more each), their sums and means.
//!
//! Pure: no I/O, no clock.

use chrono::{DateTime, TimeDelta, Utc};

use super::axis::TimeAxis;
use super::draw::BUCKET_PX;
use super::View;
use crate::traffic::counts::Counts;

/// Minutes of a target grouped for drawing: each bucket's sums, means and maxima.
#[derive(Debug, Clone, Default)]
pub struct Bucket {
    pub start: DateTime<Utc>,
    /// How long the bucket is.
    pub size: TimeDelta,
    /// Minutes of the bucket that lie inside the data (the divisor of its per-minute means).
    pub covered: f64,
    /// Minutes with traffic in the bucket.
    pub minutes: u32,
    /// The minutes' counters, added up.
    pub counts: Counts,
    /// Sums of the minutes' p50 and p95 (and how many had one), busy, and the most dynos.
    p50_sum: f64,
    p95_sum: f64,
    quantiles: u32,
    busy_sum: f64,
    pub dynos: Option<u32>,
}

impl Bucket {
    /// Per-minute mean of a count (minutes without traffic count as 0).
    pub fn rate(&self, count: u64) -> f64 {
        count as f64 / self.covered.max(1.0)
    }

    pub fn p50(&self) -> Option<f64> {
        (self.quantiles > 0).then(|| self.p50_sum / f64::from(self.quantiles))
    }

    pub fn p95(&self) -> Option<f64> {
        (self.quantiles > 0).then(|| self.p95_sum / f64::from(self.quantiles))
    }

    pub fn busy(&self) -> f64 {
        self.busy_sum / self.covered.max(1.0)
    }
}

/// Bucket sizes to choose from, in seconds (below a minute only for targets whose minutes last
/// less: see [`TargetData::period`](super::TargetData::period)).
const BUCKETS: &[i64] = &[
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200,
    86400, 172800, 604800,
];

/// The smallest bucket that gives each at least `BUCKET_PX` pixels on `axis`.
pub fn bucket_size(axis: &TimeAxis) -> TimeDelta {
    let span = (axis.end - axis.start).num_seconds().max(1);
    let most = (axis.width / BUCKET_PX).max(1.0) as i64;
    TimeDelta::seconds(
        BUCKETS
            .iter()
            .copied()
            .find(|b| span / b <= most)
            .unwrap_or_else(|| span / most + 1),
    )
}

/// Where buckets of `size` fall for minutes that last `period` each, starting at `first`: a
/// whole number of periods (at least one, at least `size`), aligned to the epoch shifted by
/// where `first` falls in its period (no shift for whole minutes, so 5-minute buckets start at
/// :00, :05, ...). A minute a little early or late (less than half a period) still falls in
/// its own bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    /// An instant a bucket starts at, in milliseconds since the epoch.
    origin_ms: i64,
    /// The length of a bucket and of a minute, in milliseconds.
    pub size_ms: i64,
    period_ms: i64,
}

impl Grid {
    pub fn new(size: TimeDelta, period: TimeDelta, first: DateTime<Utc>) -> Grid {
        let period_ms = period.num_milliseconds().max(1);
        let periods = ((size.num_milliseconds().max(1) + period_ms - 1) / period_ms).max(1);
        Grid {
            origin_ms: first.timestamp_millis().rem_euclid(period_ms),
            size_ms: periods * period_ms,
            period_ms,
        }
    }

    /// The bucket `t` falls in.
    pub fn index(&self, t: DateTime<Utc>) -> i64 {
        (t.timestamp_millis() - self.origin_ms + self.period_ms / 2).div_euclid(self.size_ms)
    }

    /// Where bucket `i` starts.
    pub fn start(&self, i: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.origin_ms + i * self.size_ms).unwrap_or_default()
    }

    /// Minutes (periods) in a bucket.
    pub fn periods(&self) -> i64 {
        self.size_ms / self.period_ms
    }

    /// The length of a bucket.
    pub fn size(&self) -> TimeDelta {
        TimeDelta::milliseconds(self.size_ms)
    }
}

/// The target's minutes in buckets of about `size` (see [`Grid`]), only those with traffic;
/// `covered` counts the minutes of each bucket between the first and the last minute.
pub fn buckets(view: &View<'_>, size: TimeDelta) -> Vec<Bucket> {
    let mut out: Vec<Bucket> = Vec::new();
    let minutes: Vec<&crate::traffic::minute::Minute> = view.data.minutes().collect();
    let (Some(first), Some(last)) = (minutes.first(), minutes.last()) else {
        return out;
    };
    let period = view.data.period();
    let grid = Grid::new(size, period, first.minute);
    let per = grid.periods();
    // Each minute's number on the grid, counted in periods.
    let slot = |t: DateTime<Utc>| {
        (t.timestamp_millis() - grid.origin_ms + grid.period_ms / 2).div_euclid(grid.period_ms)
    };
    let (first, last) = (slot(first.minute), slot(last.minute));
    for m in minutes {
        let i = grid.index(m.minute);
        if out.last().is_none_or(|b| grid.index(b.start) != i) {
            let start = i * per;
            let covered = (last.min(start + per - 1) - first.max(start) + 1).max(1);
            out.push(Bucket {
                start: grid.start(i),
                size: grid.size(),
                covered: covered as f64,
                ..Bucket::default()
            });
        }
        let b = out.last_mut().expect("pushed");
        b.minutes += 1;
        b.counts.add(&m.counts());
        if let (Some(p50), Some(p95)) = (m.p50_ms, m.p95_ms) {
            b.p50_sum += f64::from(p50);
            b.p95_sum += f64::from(p95);
            b.quantiles += 1;
        }
        b.busy_sum += m.busy;
        if m.dynos > 0 {
            b.dynos = Some(b.dynos.map_or(m.dynos, |d| d.max(m.dynos)));
        }
    }
    out
}

/// A worker's queue minutes grouped for drawing: each bucket's worst (its largest values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueBucket {
    pub start: DateTime<Utc>,
    /// How long the bucket is.
    pub size: TimeDelta,
    /// The most jobs waiting, and the oldest waiting job (ms).
    pub depth: u64,
    pub latency_ms: u64,
    /// The most jobs running, where the store said.
    pub busy: Option<u64>,
    /// The most jobs the running dynos could run at once.
    pub capacity: u64,
}

/// The target's queue minutes in buckets of about `size` (see [`Grid`]), only those with a
/// minute.
pub fn queue_buckets(view: &View<'_>, size: TimeDelta) -> Vec<QueueBucket> {
    let mut out: Vec<QueueBucket> = Vec::new();
    let Some(first) = view.data.queue_minutes().next() else {
        return out;
    };
    let grid = Grid::new(size, view.data.period(), first.minute);
    for m in view.data.queue_minutes() {
        let start = grid.start(grid.index(m.minute));
        match out.last_mut() {
            Some(b) if b.start == start => {
                b.depth = b.depth.max(m.depth);
                b.latency_ms = b.latency_ms.max(m.latency_ms);
                b.busy = b.busy.max(m.busy);
                b.capacity = b.capacity.max(m.capacity());
            }
            _ => out.push(QueueBucket {
                start,
                size: grid.size(),
                depth: m.depth,
                latency_ms: m.latency_ms,
                busy: m.busy,
                capacity: m.capacity(),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_grid_is_whole_periods_aligned_to_where_the_first_minute_falls() {
        // Whole minutes: on the epoch's grid, 5-minute buckets from :00.
        let g = Grid::new(
            TimeDelta::minutes(5),
            TimeDelta::minutes(1),
            ts("2026-12-07T10:03:00Z"),
        );
        assert_eq!(g.size(), TimeDelta::minutes(5));
        assert_eq!(g.periods(), 5);
        let i = g.index(ts("2026-12-07T10:03:00Z"));
        assert_eq!(g.start(i), ts("2026-12-07T10:00:00Z"));
        assert_eq!(g.index(ts("2026-12-07T10:04:00Z")), i);
        assert_eq!(g.index(ts("2026-12-07T10:05:00Z")), i + 1);
        // Minutes of 2 s from 10:00:00.300, 1 s buckets: a bucket a minute (2 s), from the
        // first minute on, a minute a little early or late still in its own.
        let first = ts("2026-12-07T10:00:00.300Z");
        let g = Grid::new(TimeDelta::seconds(1), TimeDelta::seconds(2), first);
        assert_eq!((g.size(), g.periods()), (TimeDelta::seconds(2), 1));
        let i = g.index(first);
        assert_eq!(g.start(i), first);
        for (at, bucket) in [
            ("2026-12-07T10:00:02.300Z", 1),
            ("2026-12-07T10:00:02.299Z", 1),
            ("2026-12-07T10:00:03.299Z", 1),
            ("2026-12-07T10:00:03.300Z", 2),
            ("2026-12-07T10:00:01.300Z", 1),
            ("2026-12-07T10:00:01.299Z", 0),
        ] {
            assert_eq!(g.index(ts(at)) - i, bucket, "{at}");
        }
        // 5 s buckets of 2 s minutes: 6 s (three of them).
        let g = Grid::new(TimeDelta::seconds(5), TimeDelta::seconds(2), first);
        assert_eq!((g.size(), g.periods()), (TimeDelta::seconds(6), 3));
        // Sizes and periods below a millisecond are a millisecond.
        let g = Grid::new(TimeDelta::zero(), TimeDelta::zero(), first);
        assert_eq!(g.size(), TimeDelta::milliseconds(1));
    }
}
