//! Minutes grouped for drawing: a week has 10,080 minutes and a plot about a thousand pixels,
//! so the panels draw buckets of minutes (2 px or more each), their sums and means.
//!
//! Pure: no I/O, no clock.

use chrono::{DateTime, Utc};

use super::axis::TimeAxis;
use super::draw::BUCKET_PX;
use super::View;
use crate::traffic::counts::Counts;

/// Minutes of a target grouped for drawing: each bucket's sums, means and maxima.
#[derive(Debug, Clone, Default)]
pub struct Bucket {
    pub start: DateTime<Utc>,
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

/// Bucket sizes to choose from, in minutes.
const BUCKETS: &[i64] = &[
    1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080,
];

/// The smallest bucket (in minutes) that gives each at least `BUCKET_PX` pixels on `axis`.
pub fn bucket_minutes(axis: &TimeAxis) -> i64 {
    let span = (axis.end - axis.start).num_minutes().max(1);
    let most = (axis.width / BUCKET_PX).max(1.0) as i64;
    BUCKETS
        .iter()
        .copied()
        .find(|b| span / b <= most)
        .unwrap_or_else(|| span / most + 1)
}

/// The target's minutes in buckets of `size` minutes (aligned to the epoch), only those with
/// traffic; `covered` counts the minutes of each bucket between the first and the last minute.
pub fn buckets(view: &View<'_>, size: i64) -> Vec<Bucket> {
    let mut out: Vec<Bucket> = Vec::new();
    let minutes: Vec<&crate::traffic::minute::Minute> = view.data.minutes().collect();
    let (Some(first), Some(last)) = (minutes.first(), minutes.last()) else {
        return out;
    };
    let index = |t: DateTime<Utc>| t.timestamp().div_euclid(60);
    let (first, last) = (index(first.minute), index(last.minute));
    for m in minutes {
        let i = index(m.minute).div_euclid(size);
        if out
            .last()
            .is_none_or(|b| index(b.start).div_euclid(size) != i)
        {
            let start = i * size;
            let covered = (last.min(start + size - 1) - first.max(start) + 1).max(1);
            out.push(Bucket {
                start: DateTime::from_timestamp(start * 60, 0).unwrap_or_default(),
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
    /// The most jobs waiting, and the oldest waiting job (ms).
    pub depth: u64,
    pub latency_ms: u64,
    /// The most jobs running, where the store said.
    pub busy: Option<u64>,
    /// The most jobs the running dynos could run at once.
    pub capacity: u64,
}

/// The target's queue minutes in buckets of `size` minutes (aligned to the epoch), only those
/// with a minute.
pub fn queue_buckets(view: &View<'_>, size: i64) -> Vec<QueueBucket> {
    let mut out: Vec<QueueBucket> = Vec::new();
    let size = size.max(1);
    for m in view.data.queue_minutes() {
        let i = m.minute.timestamp().div_euclid(60).div_euclid(size);
        let start = DateTime::from_timestamp(i * size * 60, 0).unwrap_or_default();
        match out.last_mut() {
            Some(b) if b.start == start => {
                b.depth = b.depth.max(m.depth);
                b.latency_ms = b.latency_ms.max(m.latency_ms);
                b.busy = b.busy.max(m.busy);
                b.capacity = b.capacity.max(m.capacity());
            }
            _ => out.push(QueueBucket {
                start,
                depth: m.depth,
                latency_ms: m.latency_ms,
                busy: m.busy,
                capacity: m.capacity(),
            }),
        }
    }
    out
}
