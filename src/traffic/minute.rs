//! Per-minute traffic figures per (app, process), in memory that does not grow with the requests.
//!
//! Each minute of each (app, process) gets an [`Accumulator`]: counters, the sum of `service`
//! times and a fixed log-linear histogram of them, and the set of dynos that served. Finished, it
//! is a [`Minute`], the figures of one `event=traffic` line.
//!
//! Two users:
//! - the daemon streams one app's router lines, roughly in time order, through a
//!   [`StreamAggregator`]: a minute stays open until the clock has passed its end plus a grace (so
//!   lines a few seconds out of order still land in it), is emitted once by
//!   [`StreamAggregator::flush`], and a line for it that comes later is counted as late and
//!   dropped;
//! - `chart`, `suggest` and `replay` read files in any order into a [`BatchAggregator`]: one
//!   accumulator per minute seen, and merging two of the same minute is exact.
//!
//! # Quantiles and their error
//!
//! `service` times are whole milliseconds. The histogram keeps every value below 64 ms exactly;
//! above, each power of two is cut into 32 equal buckets, and a quantile is reported as the middle
//! of its bucket (`lo + w / 2`). A bucket `[lo, lo + w)` has `lo >= 32 w`, so the reported value
//! is within `w / 2 <= lo / 64` of the exact one: **at most 1.6 % relative error** (the nearest-rank
//! quantile: the smallest value with at least q of the samples at or below it). Up to
//! [`MAX_MS`] (one day) that is 715 buckets, kept sparse: 8 bytes per bucket a request fell in,
//! so a minute's memory grows with its requests (at most 715 buckets, 512 dynos), never with
//! how large a value is.
//!
//! # Memory
//!
//! An accumulator is about 150 bytes, plus 8 bytes per distinct bucket and 8 per distinct dyno
//! (each at most one per request); a [`BatchAggregator`] holds at most [`MAX_BATCH_MINUTES`] of
//! them and [`MAX_BATCH_KEYS`] names of at most `router::MAX_HOST_LEN` bytes.
//!
//! This module is **pure**: no I/O, no clock reads (every "now" is an argument).

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::counts::Counts;
use super::router::{RouterLine, MAX_MS};

/// Distinct dyno names counted per minute; more (only a hostile input has them: Heroku runs at
/// most 100 dynos of a process type) are reported as this many.
pub const MAX_DYNOS: usize = 512;

/// A grace that lets lines a few seconds out of order land in their minute.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// Longest grace accepted; a longer one is cut to this.
pub const MAX_GRACE: Duration = Duration::from_secs(600);

/// Minutes a [`StreamAggregator`] keeps open at once, over all its (app, process) pairs. A line
/// that would open one more is counted as overflow and dropped.
pub const MAX_OPEN_MINUTES: usize = 256;

/// An open minute starting more than this many minutes after `now` at a flush is dropped: its
/// lines carry timestamps from a wrong clock (or a hostile one), and would otherwise hold memory
/// until the real clock catches up.
pub const MAX_AHEAD_MINUTES: i64 = 5;

/// Minute accumulators a [`BatchAggregator`] holds (about 30 app-weeks; at worst about 3 KiB
/// each). Lines of further minutes are counted as overflow and dropped.
pub const MAX_BATCH_MINUTES: usize = 300_000;

/// (app, process) pairs a [`BatchAggregator`] tells apart; lines of further pairs are overflow.
pub const MAX_BATCH_KEYS: usize = 1024;

/// The traffic of one minute of one (app, process): the figures of an `event=traffic` line.
#[derive(Debug, Clone, PartialEq)]
pub struct Minute {
    pub app: String,
    pub process: String,
    /// The minute's start, UTC.
    pub minute: DateTime<Utc>,
    /// Router lines in the minute, errors included.
    pub requests: u64,
    /// Quantiles of `service` (see the module docs for their error); `None` when no request of
    /// the minute has a service time (all H10s, say).
    pub p50_ms: Option<u32>,
    pub p95_ms: Option<u32>,
    pub p99_ms: Option<u32>,
    /// Requests the router failed (`at=error`) or the app answered with a 5xx, each counted once.
    pub errors: u64,
    /// The errors with code H10 (app crashed), H12 (request timeout), H13 (connection closed
    /// without response); other codes count in `errors` only.
    pub h10: u64,
    pub h12: u64,
    pub h13: u64,
    /// Requests by status class; a request without a status, or a 1xx, is in none.
    pub s2xx: u64,
    pub s3xx: u64,
    pub s4xx: u64,
    pub s5xx: u64,
    /// The sum of `service` times / 60 s: the mean number of requests in service (Little's law),
    /// rounded to 2 decimals as the `event=traffic` line writes it, so that a replay from those
    /// lines sees exactly what the daemon saw.
    pub busy: f64,
    /// Distinct dynos that served a request (at most [`MAX_DYNOS`]).
    pub dynos: u32,
}

impl Minute {
    /// The minute's counters (its fields from `requests` to `s5xx`).
    pub fn counts(&self) -> Counts {
        Counts {
            requests: self.requests,
            errors: self.errors,
            h10: self.h10,
            h12: self.h12,
            h13: self.h13,
            s2xx: self.s2xx,
            s3xx: self.s3xx,
            s4xx: self.s4xx,
            s5xx: self.s5xx,
        }
    }
}

/// Values below `1 << EXACT_BITS` (64 ms) have a bucket each.
const EXACT_BITS: u32 = 6;
const EXACT: u32 = 1 << EXACT_BITS;
/// log2 of the buckets per power of two above [`EXACT`].
const SUB_BITS: u32 = 5;

/// The histogram bucket of a value (see the module docs).
fn bucket_of(ms: u32) -> usize {
    let octave = 31 - (ms | 1).leading_zeros(); // 0 for 0-1, ..., 6 for 64-127, ...
    if octave < EXACT_BITS {
        return ms as usize;
    }
    let sub = (ms >> (octave - SUB_BITS)) - (1 << SUB_BITS);
    (EXACT + ((octave - EXACT_BITS) << SUB_BITS) + sub) as usize
}

/// The largest quantile a histogram reports (the middle of [`MAX_MS`]'s bucket, a little over it).
pub(crate) fn max_quantile_ms() -> u32 {
    bucket_value(bucket_of(MAX_MS))
}

/// The value reported for a bucket: its middle (`low + width / 2`).
fn bucket_value(bucket: usize) -> u32 {
    let bucket = bucket as u32;
    if bucket < EXACT {
        return bucket;
    }
    let above = bucket - EXACT;
    let shift = (above >> SUB_BITS) + 1; // bucket width is 1 << shift
    let low = ((1 << SUB_BITS) + (above & ((1 << SUB_BITS) - 1))) << shift;
    low + (1 << shift) / 2
}

/// The histogram: `(bucket, count)` for the buckets used, sorted by bucket. Sparse, so that a
/// minute costs 8 bytes per bucket its requests fell in (at most one per request), never the
/// whole range up to its slowest request: a minute of one 24 h request is 8 bytes, not 2.8 KiB.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Histogram {
    counts: Vec<(u16, u32)>,
    samples: u64,
}

impl Histogram {
    fn record(&mut self, ms: u32) {
        // At most 715 buckets: a u16 holds any of them.
        let bucket = bucket_of(ms.min(MAX_MS)) as u16;
        self.add(bucket, 1);
        self.samples += 1;
    }

    /// Adds `count` to `bucket` (saturating).
    fn add(&mut self, bucket: u16, count: u32) {
        match self.counts.binary_search_by_key(&bucket, |&(b, _)| b) {
            Ok(at) => self.counts[at].1 = self.counts[at].1.saturating_add(count),
            Err(at) => self.counts.insert(at, (bucket, count)),
        }
    }

    fn merge(&mut self, other: &Histogram) {
        for &(bucket, count) in &other.counts {
            self.add(bucket, count);
        }
        self.samples += other.samples;
    }

    /// The nearest-rank quantile `per_mille / 1000`; `None` without samples.
    fn quantile(&self, per_mille: u32) -> Option<u32> {
        if self.samples == 0 {
            return None;
        }
        let rank = (u128::from(self.samples) * u128::from(per_mille)).div_ceil(1000);
        let rank = rank.max(1);
        let mut seen = 0u128;
        let mut last = 0;
        for &(bucket, count) in &self.counts {
            seen += u128::from(count);
            last = bucket;
            if seen >= rank {
                break;
            }
        }
        // A bucket saturated at u32::MAX (4 billion requests in a minute) can leave `seen`
        // short of `rank`: then the highest value is the best answer left.
        Some(bucket_value(usize::from(last)))
    }

    /// The count of `bucket` (tests).
    #[cfg(test)]
    fn count(&self, bucket: usize) -> u32 {
        self.counts
            .iter()
            .find(|&&(b, _)| usize::from(b) == bucket)
            .map_or(0, |&(_, c)| c)
    }
}

/// The distinct dyno names of a minute, as 64-bit hashes (no allocation per name), sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct DynoSet {
    hashes: Vec<u64>,
}

impl DynoSet {
    fn insert(&mut self, dyno: &str) {
        if !dyno.is_empty() {
            self.insert_hash(fnv1a(dyno.as_bytes()));
        }
    }

    fn insert_hash(&mut self, hash: u64) {
        if let Err(at) = self.hashes.binary_search(&hash) {
            if self.hashes.len() < MAX_DYNOS {
                self.hashes.insert(at, hash);
            }
        }
    }

    fn merge(&mut self, other: &DynoSet) {
        for &hash in &other.hashes {
            self.insert_hash(hash);
        }
    }

    fn len(&self) -> u32 {
        self.hashes.len() as u32
    }
}

/// A hash of (app, process); 0xff, never in UTF-8, keeps `("ab", "c")` from `("a", "bc")`.
fn key_hash(app: &str, process: &str) -> u64 {
    fnv1a_from(
        fnv1a_from(fnv1a(app.as_bytes()), &[0xff]),
        process.as_bytes(),
    )
}

/// FNV-1a, 64 bits: two names colliding among a minute's few dozen is a 1-in-10^16 event.
fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_from(0xcbf2_9ce4_8422_2325, bytes)
}

/// FNV-1a continued from `hash`.
fn fnv1a_from(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The running figures of one minute of one (app, process).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Accumulator {
    counts: Counts,
    service_ms: u64,
    histogram: Histogram,
    dynos: DynoSet,
}

impl Accumulator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one request. The caller chose the minute; the line's timestamp is not looked at.
    pub fn add(&mut self, line: &RouterLine<'_>) {
        self.counts.count(line);
        if let Some(ms) = line.service_ms {
            self.service_ms += u64::from(ms);
            self.histogram.record(ms);
        }
        self.dynos.insert(line.dyno);
    }

    /// Adds another accumulator of the same minute: the result is what one accumulator fed
    /// both sets of lines would hold.
    pub fn merge(&mut self, other: &Accumulator) {
        self.counts.add(&other.counts);
        self.service_ms += other.service_ms;
        self.histogram.merge(&other.histogram);
        self.dynos.merge(&other.dynos);
    }

    /// Requests counted so far.
    pub fn requests(&self) -> u64 {
        self.counts.requests
    }

    /// The figures of the minute starting at `minute`.
    pub fn finish(&self, app: &str, process: &str, minute: DateTime<Utc>) -> Minute {
        let c = self.counts;
        Minute {
            app: app.to_owned(),
            process: process.to_owned(),
            minute,
            requests: c.requests,
            p50_ms: self.histogram.quantile(500),
            p95_ms: self.histogram.quantile(950),
            p99_ms: self.histogram.quantile(990),
            errors: c.errors,
            h10: c.h10,
            h12: c.h12,
            h13: c.h13,
            s2xx: c.s2xx,
            s3xx: c.s3xx,
            s4xx: c.s4xx,
            s5xx: c.s5xx,
            busy: busy(self.service_ms),
            dynos: self.dynos.len(),
        }
    }
}

/// Milliseconds of service in a minute → mean requests in service, to 2 decimals.
pub(crate) fn busy(service_ms: u64) -> f64 {
    // ms / 60 000, times 100 to round to hundredths: ms / 600.
    (service_ms as f64 / 600.0).round() / 100.0
}

/// Minutes since the epoch of the minute holding `t`.
fn minute_index(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(60)
}

/// The start of minute `index` (see [`minute_index`]).
fn minute_start(index: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(index * 60, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The minute a timestamp falls in: its start.
pub fn minute_of(t: DateTime<Utc>) -> DateTime<Utc> {
    minute_start(minute_index(t))
}

/// What [`StreamAggregator::add`] did with a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Counted,
    /// Its minute was already emitted.
    Late,
    /// At or before the instant given to [`StreamAggregator::skip_through`].
    Skipped,
    /// It would have opened more than [`MAX_OPEN_MINUTES`] minutes.
    Overflow,
}

/// Lines a [`StreamAggregator`] has seen, by fate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Lines counted into an open minute (including those later dropped as `future`).
    pub counted: u64,
    pub late: u64,
    pub skipped: u64,
    pub overflow: u64,
    /// Lines of minutes dropped for starting more than [`MAX_AHEAD_MINUTES`] after a flush's now.
    pub future: u64,
}

#[derive(Debug)]
struct OpenMinute {
    app: String,
    process: String,
    minute: i64,
    acc: Accumulator,
}

/// The daemon's per-minute aggregation of a stream of router lines (see the module docs).
#[derive(Debug)]
pub struct StreamAggregator {
    grace: TimeDelta,
    open: Vec<OpenMinute>,
    /// Minutes before this index are closed: emitted, or never seen.
    closed_before: i64,
    skip_through: Option<DateTime<Utc>>,
    stats: StreamStats,
}

impl StreamAggregator {
    /// An aggregator whose first flush can be at `now` or later. Lines of minutes that were
    /// already closed at `now` (a tail session begins with lines from the past) are late.
    /// `grace` is cut to [`MAX_GRACE`].
    pub fn new(grace: Duration, now: DateTime<Utc>) -> Self {
        let grace = TimeDelta::from_std(grace.min(MAX_GRACE)).unwrap_or(TimeDelta::zero());
        StreamAggregator {
            grace,
            open: Vec::new(),
            closed_before: closed_before(now, grace),
            skip_through: None,
            stats: StreamStats::default(),
        }
    }

    /// Lines at or before `t` are dropped from now on (as `skipped`). After a reconnect, the
    /// new session repeats lines the old one already delivered; pass the latest timestamp seen.
    pub fn skip_through(&mut self, t: DateTime<Utc>) {
        self.skip_through = Some(self.skip_through.map_or(t, |old| old.max(t)));
    }

    /// Counts one router line of `app` into its minute.
    pub fn add(&mut self, app: &str, line: &RouterLine<'_>) -> Admission {
        let admission = self.admit(app, line);
        let counter = match admission {
            Admission::Counted => &mut self.stats.counted,
            Admission::Late => &mut self.stats.late,
            Admission::Skipped => &mut self.stats.skipped,
            Admission::Overflow => &mut self.stats.overflow,
        };
        *counter += 1;
        admission
    }

    fn admit(&mut self, app: &str, line: &RouterLine<'_>) -> Admission {
        if self.skip_through.is_some_and(|t| line.timestamp <= t) {
            return Admission::Skipped;
        }
        let minute = minute_index(line.timestamp);
        if minute < self.closed_before {
            return Admission::Late;
        }
        let process = line.process();
        // Newest first: lines mostly belong to the latest minute.
        let open = self
            .open
            .iter_mut()
            .rev()
            .find(|o| o.minute == minute && o.process == process && o.app == app);
        if let Some(open) = open {
            open.acc.add(line);
            return Admission::Counted;
        }
        if self.open.len() >= MAX_OPEN_MINUTES {
            return Admission::Overflow;
        }
        let mut acc = Accumulator::new();
        acc.add(line);
        self.open.push(OpenMinute {
            app: app.to_owned(),
            process: process.to_owned(),
            minute,
            acc,
        });
        Admission::Counted
    }

    /// Emits every minute closed at `now` (its end plus the grace has passed), oldest first, and
    /// never again; later lines of those minutes are late.
    pub fn flush(&mut self, now: DateTime<Utc>) -> Vec<Minute> {
        self.closed_before = self.closed_before.max(closed_before(now, self.grace));
        let ahead = minute_index(now).saturating_add(MAX_AHEAD_MINUTES);
        let mut closed = Vec::new();
        let mut i = 0;
        while i < self.open.len() {
            let minute = self.open[i].minute;
            if minute < self.closed_before {
                closed.push(self.open.swap_remove(i));
            } else if minute > ahead {
                self.stats.future += self.open.swap_remove(i).acc.requests();
            } else {
                i += 1;
            }
        }
        closed.sort_by(|a, b| (a.minute, &a.app, &a.process).cmp(&(b.minute, &b.app, &b.process)));
        closed
            .iter()
            .map(|o| o.acc.finish(&o.app, &o.process, minute_start(o.minute)))
            .collect()
    }

    pub fn stats(&self) -> StreamStats {
        self.stats
    }

    /// Minutes open now (bounded by [`MAX_OPEN_MINUTES`]).
    pub fn open_minutes(&self) -> usize {
        self.open.len()
    }
}

/// Every minute before the returned index is closed at `now`: its end plus `grace` has passed.
fn closed_before(now: DateTime<Utc>, grace: TimeDelta) -> i64 {
    let edge = now
        .checked_sub_signed(grace)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    // Minute m ends at (m + 1) * 60 s; it is closed when that is at or before `edge`.
    minute_index(edge)
}

/// Per-minute aggregation of files read in any order (see the module docs).
#[derive(Debug, Default, Clone)]
pub struct BatchAggregator {
    keys: Vec<(String, String)>,
    /// The keys by a hash of (app, process): a line finds its key in constant time (1,024 hosts
    /// once took 7.3 s to chart, looked up one by one).
    key_index: HashMap<u64, Vec<u32>>,
    index: HashMap<(u32, i64), usize>,
    slots: Vec<(u32, i64, Accumulator)>,
    /// The slot the previous line went to: consecutive lines mostly share a minute.
    last: Option<(u32, i64, usize)>,
    overflow: u64,
}

impl BatchAggregator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one router line of `app`; `false` (and counted as overflow) past
    /// [`MAX_BATCH_MINUTES`] or [`MAX_BATCH_KEYS`].
    pub fn add(&mut self, app: &str, line: &RouterLine<'_>) -> bool {
        let minute = minute_index(line.timestamp);
        let slot = self
            .key(app, line.process())
            .and_then(|key| self.slot(key, minute));
        match slot {
            Some(slot) => {
                self.slots[slot].2.add(line);
                true
            }
            None => {
                self.overflow += 1;
                false
            }
        }
    }

    /// Adds everything `other` holds; minutes both hold are merged exactly, and `overflow`
    /// carries over. `other`'s minutes are moved, not copied.
    pub fn merge(&mut self, other: BatchAggregator) {
        let BatchAggregator {
            keys,
            slots,
            overflow,
            ..
        } = other;
        self.overflow += overflow;
        for (key, minute, acc) in slots {
            let (app, process) = &keys[key as usize];
            match self.key(app, process).and_then(|k| self.slot(k, minute)) {
                Some(slot) => {
                    let mine = &mut self.slots[slot].2;
                    if mine.requests() == 0 {
                        *mine = acc;
                    } else {
                        mine.merge(&acc);
                    }
                }
                None => self.overflow += acc.requests(),
            }
        }
    }

    /// The (app, process) pairs held, in the order first seen.
    pub fn keys(&self) -> &[(String, String)] {
        &self.keys
    }

    /// The finished minutes, by minute, then app, then process.
    pub fn minutes(&self) -> Vec<Minute> {
        let mut minutes: Vec<Minute> = self
            .slots
            .iter()
            .map(|(key, minute, acc)| {
                let (app, process) = &self.keys[*key as usize];
                acc.finish(app, process, minute_start(*minute))
            })
            .collect();
        minutes.sort_by(|a, b| (a.minute, &a.app, &a.process).cmp(&(b.minute, &b.app, &b.process)));
        minutes
    }

    /// The finished minutes, by minute, then app, then process (as [`Self::minutes`]), each
    /// made as the previous is taken: no second copy of them all is ever held.
    pub fn into_minutes(self) -> impl Iterator<Item = Minute> {
        self.into_minutes_renamed(|app, process| Some((app.to_owned(), process.to_owned())))
            .0
    }

    /// [`Self::into_minutes`] under new names: `rename(app, process)` gives each (app, process)
    /// the pair its minutes are counted under, or `None` to leave them out. Minutes that end up
    /// under the same pair and minute are merged exactly (so a reader can key router lines by
    /// their host while reading and name the app once it knows it). Also returns the requests
    /// left out. The accumulators are renamed and merged in place: no second aggregator.
    pub fn into_minutes_renamed(
        self,
        mut rename: impl FnMut(&str, &str) -> Option<(String, String)>,
    ) -> (impl Iterator<Item = Minute>, u64) {
        let BatchAggregator {
            keys,
            key_index,
            index,
            mut slots,
            ..
        } = self;
        drop((key_index, index));
        // Each old key's new name, as an index into `names` (one entry per distinct pair).
        let mut names: Vec<(String, String)> = Vec::new();
        let renamed: Vec<Option<u32>> = keys
            .iter()
            .map(|(app, process)| {
                let pair = rename(app, process)?;
                let at = names.iter().position(|n| *n == pair).unwrap_or_else(|| {
                    names.push(pair);
                    names.len() - 1
                });
                Some(at as u32)
            })
            .collect();
        let mut left_out = 0;
        slots.retain_mut(|(key, _, acc)| match renamed[*key as usize] {
            Some(new) => {
                *key = new;
                true
            }
            None => {
                left_out += acc.requests();
                false
            }
        });
        // Last first: the minutes are taken from the end, and the list shrinks as they go, so
        // the accumulators and what the caller makes of their minutes are never all held at once.
        slots.sort_unstable_by(|(k1, m1, _), (k2, m2, _)| {
            (m2, &names[*k2 as usize]).cmp(&(m1, &names[*k1 as usize]))
        });
        slots.shrink_to_fit();
        let minutes = std::iter::from_fn(move || {
            let (key, minute, mut acc) = slots.pop()?;
            while slots
                .last()
                .is_some_and(|(k, m, _)| (*k, *m) == (key, minute))
            {
                if let Some((_, _, next)) = slots.pop() {
                    acc.merge(&next);
                }
            }
            if slots.capacity() > 2 * slots.len() + 4096 {
                slots.shrink_to_fit();
            }
            let (app, process) = &names[key as usize];
            Some(acc.finish(app, process, minute_start(minute)))
        });
        (minutes, left_out)
    }

    /// Minute accumulators held (bounded by [`MAX_BATCH_MINUTES`]).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Lines dropped for the caps.
    pub fn overflow(&self) -> u64 {
        self.overflow
    }

    fn key(&mut self, app: &str, process: &str) -> Option<u32> {
        if let Some((key, _, _)) = self.last {
            let (a, p) = &self.keys[key as usize];
            if a == app && p == process {
                return Some(key);
            }
        }
        let hash = key_hash(app, process);
        let found = self.key_index.get(&hash).and_then(|keys| {
            keys.iter().copied().find(|&k| {
                let (a, p) = &self.keys[k as usize];
                a == app && p == process
            })
        });
        if found.is_some() {
            return found;
        }
        if self.keys.len() >= MAX_BATCH_KEYS {
            return None;
        }
        self.keys.push((app.to_owned(), process.to_owned()));
        let key = self.keys.len() as u32 - 1;
        self.key_index.entry(hash).or_default().push(key);
        Some(key)
    }

    fn slot(&mut self, key: u32, minute: i64) -> Option<usize> {
        if let Some((k, m, slot)) = self.last {
            if (k, m) == (key, minute) {
                return Some(slot);
            }
        }
        let slot = match self.index.get(&(key, minute)) {
            Some(&slot) => slot,
            None if self.slots.len() >= MAX_BATCH_MINUTES => return None,
            None => {
                self.slots.push((key, minute, Accumulator::new()));
                self.index.insert((key, minute), self.slots.len() - 1);
                self.slots.len() - 1
            }
        };
        self.last = Some((key, minute, slot));
        Some(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::router::At;
    use std::borrow::Cow;

    fn ts(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    /// A router record with the fields aggregation looks at.
    fn req(
        t: &str,
        at: At,
        code: Option<&'static str>,
        dyno: &'static str,
        service_ms: Option<u32>,
        status: Option<u16>,
    ) -> RouterLine<'static> {
        RouterLine {
            timestamp: ts(t),
            at,
            code,
            method: "GET",
            path: Cow::Borrowed("/"),
            host: "shop.herokuapp.com",
            dyno,
            connect_ms: Some(0),
            service_ms,
            status,
            bytes: Some(0),
        }
    }

    fn ok(t: &str, dyno: &'static str, service_ms: u32) -> RouterLine<'static> {
        req(t, At::Info, None, dyno, Some(service_ms), Some(200))
    }

    /// Nearest-rank quantile of sorted values.
    fn exact_quantile(sorted: &[u32], per_mille: u32) -> u32 {
        let rank = (sorted.len() as u64 * u64::from(per_mille))
            .div_ceil(1000)
            .max(1);
        sorted[rank as usize - 1]
    }

    #[test]
    fn buckets() {
        for (ms, bucket) in [
            (0, 0),
            (1, 1),
            (63, 63),
            (64, 64),
            (65, 64),
            (66, 65),
            (127, 95),
            (128, 96),
            (131, 96),
            (132, 97),
            (255, 127),
            (256, 128),
            (MAX_MS, 713),
            (u32::MAX, 895),
        ] {
            assert_eq!(bucket_of(ms), bucket, "{ms}");
        }
        for (bucket, value) in [
            (0, 0),
            (63, 63),
            (64, 65),
            (95, 127),
            (96, 130),
            (713, 87_031_808),
            (895, 4_261_412_864),
        ] {
            assert_eq!(bucket_value(bucket), value, "{bucket}");
        }
        // Every value is within 1/64 of its bucket's reported value, buckets are ordered, and a
        // bucket's reported value lies in it.
        let mut previous = 0;
        let mut ms = 0u32;
        while ms <= MAX_MS {
            let bucket = bucket_of(ms);
            assert!(bucket == previous || bucket == previous + 1, "{ms}");
            previous = bucket;
            let value = bucket_value(bucket);
            assert!(
                f64::from(value.abs_diff(ms)) <= f64::from(ms) / 64.0,
                "{ms} → {value}"
            );
            assert_eq!(bucket_of(value), bucket, "{ms}");
            ms += 1 + ms / 1000;
        }
    }

    #[test]
    fn quantiles_of_small_sets_are_exact() {
        let mut h = Histogram::default();
        assert_eq!(h.quantile(500), None);
        h.record(7);
        assert_eq!((h.quantile(500), h.quantile(990)), (Some(7), Some(7)));
        let mut h = Histogram::default();
        for ms in [40, 10, 30, 20] {
            h.record(ms);
        }
        assert_eq!(h.quantile(0), Some(10));
        assert_eq!(h.quantile(250), Some(10));
        assert_eq!(h.quantile(251), Some(20));
        assert_eq!(h.quantile(500), Some(20));
        assert_eq!(h.quantile(950), Some(40));
        let mut h = Histogram::default();
        for ms in 1..=63 {
            h.record(ms);
        }
        assert_eq!(
            (h.quantile(500), h.quantile(950), h.quantile(990)),
            (Some(32), Some(60), Some(63))
        );
        // Values past a day are counted as a day.
        let mut h = Histogram::default();
        h.record(u32::MAX);
        assert_eq!(h.quantile(500), Some(max_quantile_ms()));
        // Sparse: one bucket held, however large the value (a dense one held 715).
        assert_eq!(h.counts.len(), 1);
        assert_eq!(max_quantile_ms(), 87_031_808);
    }

    #[test]
    fn quantiles_are_within_the_documented_error_on_random_data() {
        let mut rng = fastrand::Rng::with_seed(42);
        type Draw = fn(&mut fastrand::Rng) -> u32;
        let shapes: [(&str, Draw); 5] = [
            // Log-normal around 80 ms, as web requests are.
            ("lognormal", |r| {
                let normal: f64 = (0..12).map(|_| r.f64()).sum::<f64>() - 6.0;
                (80.0 * (normal * 0.9).exp()).round() as u32
            }),
            ("uniform", |r| r.u32(0..100_000)),
            ("fast", |r| r.u32(0..70)),
            ("bimodal", |r| {
                if r.u8(0..10) == 0 {
                    r.u32(29_000..30_002)
                } else {
                    r.u32(5..300)
                }
            }),
            ("huge", |r| r.u32(0..=MAX_MS)),
        ];
        for (name, draw) in shapes {
            for n in [1, 2, 3, 19, 20, 101, 1000, 50_000] {
                let mut values: Vec<u32> = (0..n).map(|_| draw(&mut rng)).collect();
                let mut h = Histogram::default();
                for &v in &values {
                    h.record(v);
                }
                values.sort_unstable();
                for per_mille in [1, 500, 950, 990, 1000] {
                    let exact = exact_quantile(&values, per_mille);
                    let estimate = h.quantile(per_mille).unwrap();
                    let error = f64::from(estimate.abs_diff(exact));
                    assert!(
                        error <= f64::from(exact) / 64.0,
                        "{name} n={n} q={per_mille}: {estimate} vs exact {exact}"
                    );
                }
            }
        }
    }

    #[test]
    fn saturated_bucket_still_answers() {
        let mut h = Histogram::default();
        h.record(5);
        h.counts[0].1 = u32::MAX;
        h.samples = u64::from(u32::MAX) + 10;
        h.record(5);
        assert_eq!(h.count(5), u32::MAX);
        assert_eq!(h.quantile(1000), Some(5));
    }

    #[test]
    fn histogram_merge_is_exact_whichever_is_longer() {
        let mut short = Histogram::default();
        short.record(3);
        let mut long = Histogram::default();
        long.record(30_000);
        long.record(3);
        let mut a = short.clone();
        a.merge(&long);
        let mut b = long.clone();
        b.merge(&short);
        assert_eq!(a, b);
        assert_eq!(a.samples, 3);
        assert_eq!(a.count(3), 2);
        assert_eq!(a.counts.len(), 2);
        assert_eq!(
            (a.quantile(500), a.quantile(1000)),
            (Some(3), Some(bucket_value(bucket_of(30_000))))
        );
    }

    #[test]
    fn one_minute_of_mixed_requests() {
        let lines = [
            ok("2026-11-30T14:03:00Z", "web.1", 87),
            ok("2026-11-30T14:03:01Z", "web.2", 113),
            req(
                "2026-11-30T14:03:02Z",
                At::Error,
                Some("H12"),
                "web.1",
                Some(30_000),
                Some(503),
            ),
            req(
                "2026-11-30T14:03:03Z",
                At::Error,
                Some("H10"),
                "",
                None,
                Some(503),
            ),
            req(
                "2026-11-30T14:03:04Z",
                At::Error,
                Some("H13"),
                "web.3",
                Some(2),
                None,
            ),
            req(
                "2026-11-30T14:03:05Z",
                At::Error,
                Some("H18"),
                "web.3",
                Some(9),
                Some(503),
            ),
            req(
                "2026-11-30T14:03:06Z",
                At::Info,
                None,
                "web.2",
                Some(20),
                Some(500),
            ),
            req(
                "2026-11-30T14:03:07Z",
                At::Warning,
                Some("H28"),
                "web.2",
                Some(55_449),
                Some(499),
            ),
            req(
                "2026-11-30T14:03:08Z",
                At::Info,
                Some("H12"),
                "web.2",
                Some(4),
                Some(302),
            ),
            req(
                "2026-11-30T14:03:09Z",
                At::Info,
                None,
                "web.2",
                Some(1),
                Some(101),
            ),
            req("2026-11-30T14:03:10Z", At::Info, None, "web.2", None, None),
            req(
                "2026-11-30T14:03:11Z",
                At::Info,
                None,
                "web.4",
                Some(6),
                Some(404),
            ),
        ];
        let mut acc = Accumulator::new();
        for line in &lines {
            acc.add(line);
        }
        assert_eq!(acc.requests(), 12);
        let start = ts("2026-11-30T14:03:00Z");
        let minute = acc.finish("shop", "web", start);
        let services = [87, 113, 30_000, 2, 9, 20, 55_449, 4, 1, 6];
        let mut sorted = services.to_vec();
        sorted.sort_unstable();
        let sum: u32 = services.iter().sum();
        assert_eq!(
            minute,
            Minute {
                app: "shop".into(),
                process: "web".into(),
                minute: start,
                requests: 12,
                p50_ms: Some(9),
                p95_ms: Some(bucket_value(bucket_of(55_449))),
                p99_ms: Some(bucket_value(bucket_of(55_449))),
                errors: 5,
                h10: 1,
                h12: 1,
                h13: 1,
                s2xx: 1 + 1,
                s3xx: 1,
                s4xx: 2,
                s5xx: 4,
                busy: 1.43,
                dynos: 4,
            }
        );
        assert_eq!(f64::from(sum) / 60_000.0, 85_691.0 / 60_000.0);
        assert_eq!(exact_quantile(&sorted, 500), 9);
    }

    #[test]
    fn busy_is_little_law_to_two_decimals() {
        assert_eq!(busy(0), 0.0);
        assert_eq!(busy(299), 0.0);
        assert_eq!(busy(300), 0.01);
        assert_eq!(busy(60_000), 1.0);
        assert_eq!(busy(240_000), 4.0);
        assert_eq!(busy(241_000), 4.02);
        assert_eq!(busy(244_200), 4.07);
        // 600 requests a minute of 400 ms each: 4 requests in service on average.
        let mut acc = Accumulator::new();
        for i in 0..600 {
            acc.add(&ok("2026-11-30T14:03:00Z", ["web.1", "web.2"][i % 2], 400));
        }
        let m = acc.finish("shop", "web", ts("2026-11-30T14:03:00Z"));
        assert_eq!(
            (m.busy, m.dynos, m.p50_ms, m.p99_ms),
            (4.0, 2, Some(404), Some(404))
        );
    }

    #[test]
    fn dynos_are_distinct_and_capped() {
        let mut set = DynoSet::default();
        for name in ["web.1", "web.2", "web.1", "", "web.10"] {
            set.insert(name);
        }
        assert_eq!(set.len(), 3);
        let mut other = DynoSet::default();
        other.insert("web.2");
        other.insert("web.3");
        set.merge(&other);
        assert_eq!(set.len(), 4);
        for i in 0..2 * MAX_DYNOS {
            set.insert(&format!("web.{i}"));
        }
        assert_eq!(set.len() as usize, MAX_DYNOS);
        let full = set.clone();
        set.merge(&other);
        set.insert("web.99999");
        assert_eq!(set, full);
        assert_ne!(fnv1a(b"web.1"), fnv1a(b"web.2"));
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    /// Random requests of one minute.
    fn random_lines(rng: &mut fastrand::Rng, n: usize) -> Vec<RouterLine<'static>> {
        const DYNOS: [&str; 5] = ["web.1", "web.2", "web.3", "", "web.4"];
        const CODES: [Option<&str>; 4] = [None, Some("H10"), Some("H12"), Some("H13")];
        (0..n)
            .map(|_| {
                let at = [At::Info, At::Info, At::Info, At::Error, At::Warning][rng.usize(0..5)];
                let status =
                    [None, Some(101), Some(200), Some(302), Some(404), Some(503)][rng.usize(0..6)];
                let service = rng.bool().then(|| rng.u32(0..40_000));
                req(
                    "2026-11-30T14:03:00Z",
                    at,
                    CODES[rng.usize(0..4)],
                    DYNOS[rng.usize(0..5)],
                    service,
                    status,
                )
            })
            .collect()
    }

    #[test]
    fn merging_accumulators_is_exact() {
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..50 {
            let n = rng.usize(0..400);
            let lines = random_lines(&mut rng, n);
            let mut whole = Accumulator::new();
            let (mut left, mut right) = (Accumulator::new(), Accumulator::new());
            for line in &lines {
                whole.add(line);
                if rng.bool() {
                    left.add(line)
                } else {
                    right.add(line)
                }
            }
            left.merge(&right);
            assert_eq!(left, whole);
            let start = ts("2026-11-30T14:03:00Z");
            assert_eq!(
                left.finish("a", "web", start),
                whole.finish("a", "web", start)
            );
        }
    }

    #[test]
    fn stream_emits_each_closed_minute_once_with_its_late_lines() {
        let grace = Duration::from_secs(5);
        let mut s = StreamAggregator::new(grace, ts("2026-11-30T14:02:30Z"));
        for t in [
            "2026-11-30T14:03:00Z",
            "2026-11-30T14:03:59.999Z",
            "2026-11-30T14:04:01Z",
        ] {
            assert_eq!(s.add("shop", &ok(t, "web.1", 100)), Admission::Counted);
        }
        // A line of 14:03 arriving after one of 14:04, within the grace: still counted.
        assert_eq!(
            s.add("shop", &ok("2026-11-30T14:03:58Z", "web.2", 200)),
            Admission::Counted
        );
        assert_eq!(s.open_minutes(), 2);
        assert!(s.flush(ts("2026-11-30T14:04:04.999999Z")).is_empty());
        assert_eq!(
            s.add("shop", &ok("2026-11-30T14:03:30Z", "web.1", 300)),
            Admission::Counted
        );
        let emitted = s.flush(ts("2026-11-30T14:04:05Z"));
        assert_eq!(emitted.len(), 1);
        let m = &emitted[0];
        assert_eq!(
            (m.minute, m.requests, m.dynos),
            (ts("2026-11-30T14:03:00Z"), 4, 2)
        );
        assert_eq!(m.busy, busy(700));
        // Never twice; a straggler of 14:03 is late now.
        assert!(s.flush(ts("2026-11-30T14:04:06Z")).is_empty());
        assert_eq!(
            s.add("shop", &ok("2026-11-30T14:03:59Z", "web.1", 1)),
            Admission::Late
        );
        assert_eq!(
            s.add("shop", &ok("2026-11-30T14:02:00Z", "web.1", 1)),
            Admission::Late
        );
        let emitted = s.flush(ts("2026-11-30T14:06:00Z"));
        assert_eq!(emitted.len(), 1);
        assert_eq!(
            (emitted[0].minute, emitted[0].requests),
            (ts("2026-11-30T14:04:00Z"), 1)
        );
        assert_eq!(
            s.stats(),
            StreamStats {
                counted: 5,
                late: 2,
                skipped: 0,
                overflow: 0,
                future: 0
            }
        );
        assert_eq!(s.open_minutes(), 0);
    }

    #[test]
    fn stream_starts_with_past_minutes_closed() {
        let mut s = StreamAggregator::new(Duration::from_secs(5), ts("2026-11-30T14:04:05Z"));
        assert_eq!(
            s.add("shop", &ok("2026-11-30T14:03:59Z", "web.1", 1)),
            Admission::Late
        );
        assert_eq!(
            s.add("shop", &ok("2026-11-30T14:04:00Z", "web.1", 1)),
            Admission::Counted
        );
        let mut s = StreamAggregator::new(Duration::from_secs(5), ts("2026-11-30T14:04:04Z"));
        assert_eq!(
            s.add("shop", &ok("2026-11-30T14:03:59Z", "web.1", 1)),
            Admission::Counted
        );
        // A flush with an older clock does not reopen closed minutes.
        let mut s = StreamAggregator::new(Duration::ZERO, ts("2026-11-30T14:10:00Z"));
        assert!(s.flush(ts("2026-11-30T14:00:00Z")).is_empty());
        assert_eq!(
            s.add("shop", &ok("2026-11-30T14:05:00Z", "web.1", 1)),
            Admission::Late
        );
    }

    #[test]
    fn stream_grace_is_bounded() {
        let mut s = StreamAggregator::new(Duration::from_secs(86_400), ts("2026-11-30T14:00:00Z"));
        s.add("shop", &ok("2026-11-30T14:00:00Z", "web.1", 1));
        assert!(s.flush(ts("2026-11-30T14:10:59Z")).is_empty());
        assert_eq!(s.flush(ts("2026-11-30T14:11:00Z")).len(), 1);
        let mut s = StreamAggregator::new(Duration::ZERO, ts("2026-11-30T14:00:00Z"));
        s.add("shop", &ok("2026-11-30T14:00:00Z", "web.1", 1));
        assert!(s.flush(ts("2026-11-30T14:00:59.999Z")).is_empty());
        assert_eq!(s.flush(ts("2026-11-30T14:01:00Z")).len(), 1);
    }

    #[test]
    fn stream_keeps_apps_and_processes_apart_in_order() {
        let mut s = StreamAggregator::new(DEFAULT_GRACE, ts("2026-11-30T14:00:00Z"));
        s.add("shop", &ok("2026-11-30T14:01:10Z", "web.1", 10));
        s.add("blog", &ok("2026-11-30T14:01:20Z", "web.1", 20));
        s.add("shop", &ok("2026-11-30T14:00:10Z", "api.1", 30));
        s.add("shop", &ok("2026-11-30T14:00:20Z", "web.1", 40));
        s.add("blog", &ok("2026-11-30T14:01:30Z", "web.2", 50));
        let emitted = s.flush(ts("2026-11-30T14:03:00Z"));
        let keys: Vec<(String, &str, &str, u64)> = emitted
            .iter()
            .map(|m| {
                (
                    m.minute.format("%H:%M").to_string(),
                    m.app.as_str(),
                    m.process.as_str(),
                    m.requests,
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                ("14:00".to_string(), "shop", "api", 1),
                ("14:00".to_string(), "shop", "web", 1),
                ("14:01".to_string(), "blog", "web", 2),
                ("14:01".to_string(), "shop", "web", 1),
            ]
        );
    }

    #[test]
    fn stream_drops_future_minutes_and_caps_open_ones() {
        let mut s = StreamAggregator::new(DEFAULT_GRACE, ts("2026-11-30T14:00:00Z"));
        s.add("shop", &ok("2099-01-01T00:00:00Z", "web.1", 1));
        s.add("shop", &ok("2099-01-01T00:00:01Z", "web.1", 1));
        s.add("shop", &ok("2026-11-30T14:05:59Z", "web.1", 1));
        s.add("shop", &ok("2026-11-30T14:06:00Z", "web.1", 1));
        assert!(s.flush(ts("2026-11-30T14:00:30Z")).is_empty());
        assert_eq!(s.stats().future, 3);
        assert_eq!(
            s.open_minutes(),
            1,
            "14:05 is within {MAX_AHEAD_MINUTES} minutes of 14:00"
        );

        let mut s = StreamAggregator::new(DEFAULT_GRACE, ts("2026-11-30T14:00:00Z"));
        for i in 0..MAX_OPEN_MINUTES {
            let t = ts("2026-11-30T14:00:00Z") + TimeDelta::minutes(i as i64);
            let line = RouterLine {
                timestamp: t,
                ..ok("2026-11-30T14:00:00Z", "web.1", 1)
            };
            assert_eq!(s.add("shop", &line), Admission::Counted);
        }
        assert_eq!(
            s.add("shop", &ok("2026-12-30T14:00:00Z", "web.1", 1)),
            Admission::Overflow
        );
        assert_eq!(
            s.add("shop", &ok("2026-11-30T14:00:00Z", "web.1", 1)),
            Admission::Counted
        );
        assert_eq!(s.stats().overflow, 1);
        let emitted = s.flush(ts("2026-11-30T14:03:00Z"));
        assert_eq!(emitted.len(), 2);
        assert_eq!(emitted[0].requests, 2);
        assert_eq!(
            s.open_minutes(),
            7,
            "14:02 to 14:08; the rest is over {MAX_AHEAD_MINUTES} minutes ahead"
        );
    }

    #[test]
    fn stream_skips_replayed_lines() {
        let mut s = StreamAggregator::new(DEFAULT_GRACE, ts("2026-11-30T14:00:00Z"));
        s.add("shop", &ok("2026-11-30T14:00:10Z", "web.1", 1));
        s.skip_through(ts("2026-11-30T14:00:20Z"));
        s.skip_through(ts("2026-11-30T14:00:15Z"));
        assert_eq!(
            s.add("shop", &ok("2026-11-30T14:00:10Z", "web.1", 1)),
            Admission::Skipped
        );
        assert_eq!(
            s.add("shop", &ok("2026-11-30T14:00:20Z", "web.1", 1)),
            Admission::Skipped
        );
        assert_eq!(
            s.add("shop", &ok("2026-11-30T14:00:20.000001Z", "web.1", 1)),
            Admission::Counted
        );
        assert_eq!(s.stats().skipped, 2);
        assert_eq!(s.flush(ts("2026-11-30T14:02:00Z"))[0].requests, 2);
    }

    #[test]
    fn batch_in_any_order_equals_stream_in_order() {
        let mut rng = fastrand::Rng::with_seed(11);
        let start = ts("2026-11-30T14:00:00Z");
        let mut lines: Vec<RouterLine<'static>> = (0..5_000)
            .map(|i| {
                let mut line = random_lines(&mut rng, 1).pop().unwrap();
                line.timestamp = start + TimeDelta::milliseconds(i * 37);
                line
            })
            .collect();
        let mut stream = StreamAggregator::new(DEFAULT_GRACE, start);
        for line in &lines {
            stream.add("shop", line);
        }
        let streamed = stream.flush(start + TimeDelta::hours(1));
        assert_eq!(streamed.len(), 4, "5000 × 37 ms spans 4 minutes");
        rng.shuffle(&mut lines);
        let mut whole = BatchAggregator::new();
        let (mut left, mut right) = (BatchAggregator::new(), BatchAggregator::new());
        for line in &lines {
            assert!(whole.add("shop", line));
            if rng.bool() {
                left.add("shop", line)
            } else {
                right.add("shop", line)
            };
        }
        assert_eq!(whole.minutes(), streamed);
        left.merge(right);
        assert_eq!(left.minutes(), streamed);
        assert_eq!(left.into_minutes().collect::<Vec<_>>(), streamed);
        assert_eq!(
            (whole.len(), whole.is_empty(), whole.overflow()),
            (4, false, 0)
        );
        assert!(BatchAggregator::new().is_empty());
    }

    #[test]
    fn batch_keeps_keys_apart() {
        let mut b = BatchAggregator::new();
        b.add("shop", &ok("2026-11-30T14:00:10Z", "web.1", 1));
        b.add("shop", &ok("2026-11-30T14:00:10Z", "api.1", 1));
        b.add("blog", &ok("2026-11-30T14:00:10Z", "web.1", 1));
        b.add("shop", &ok("2026-11-30T14:00:11Z", "web.1", 1));
        b.add("shop", &ok("2026-11-30T13:59:59Z", "web.1", 1));
        let minutes = b.minutes();
        let keys: Vec<(String, &str, &str, u64)> = minutes
            .iter()
            .map(|m| {
                (
                    m.minute.format("%H:%M").to_string(),
                    m.app.as_str(),
                    m.process.as_str(),
                    m.requests,
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                ("13:59".to_string(), "shop", "web", 1),
                ("14:00".to_string(), "blog", "web", 1),
                ("14:00".to_string(), "shop", "api", 1),
                ("14:00".to_string(), "shop", "web", 2),
            ]
        );
    }

    #[test]
    fn batch_merges_under_new_names_exactly() {
        let mut by_host = BatchAggregator::new();
        by_host.add("shop.example.com", &ok("2026-11-30T14:00:10Z", "web.1", 10));
        by_host.add(
            "www.shop.example.com",
            &ok("2026-11-30T14:00:20Z", "web.2", 30),
        );
        by_host.add("blog.example.com", &ok("2026-11-30T14:00:30Z", "web.1", 7));
        by_host.add("blog.example.com", &ok("2026-11-30T14:00:40Z", "web.1", 8));
        by_host.add("shop.example.com", &ok("2026-11-30T14:01:00Z", "api.1", 5));
        assert_eq!(
            by_host.keys(),
            [
                ("shop.example.com".to_owned(), "web".to_owned()),
                ("www.shop.example.com".to_owned(), "web".to_owned()),
                ("blog.example.com".to_owned(), "web".to_owned()),
                ("shop.example.com".to_owned(), "api".to_owned()),
            ]
        );
        let (shop, left_out) = by_host.into_minutes_renamed(|host, process| {
            host.contains("shop")
                .then(|| ("shop".to_owned(), process.to_owned()))
        });
        let shop: Vec<Minute> = shop.collect();
        assert_eq!(left_out, 2, "the blog's two requests");
        // The two hosts' minute is one minute, merged as if one aggregator had seen both lines.
        let mut direct = BatchAggregator::new();
        direct.add("shop", &ok("2026-11-30T14:00:10Z", "web.1", 10));
        direct.add("shop", &ok("2026-11-30T14:00:20Z", "web.2", 30));
        direct.add("shop", &ok("2026-11-30T14:01:00Z", "api.1", 5));
        assert_eq!(shop, direct.minutes());
        assert_eq!(shop[0].dynos, 2);
    }

    #[test]
    fn batch_caps_keys_and_minutes() {
        let mut b = BatchAggregator::new();
        let names: Vec<&'static str> = (0..=MAX_BATCH_KEYS)
            .map(|i| &*format!("p{i}.1").leak())
            .collect();
        for name in &names {
            b.add("shop", &ok("2026-11-30T14:00:10Z", name, 1));
        }
        assert_eq!((b.len(), b.overflow()), (MAX_BATCH_KEYS, 1));
        // A known key still counts.
        assert!(b.add("shop", &ok("2026-11-30T14:00:10Z", names[0], 1)));
        // What was dropped stays counted through a merge.
        let mut copy = BatchAggregator::new();
        copy.merge(b.clone());
        assert_eq!((copy.len(), copy.overflow()), (MAX_BATCH_KEYS, 1));

        let mut b = BatchAggregator::new();
        let start = ts("2000-01-01T00:00:00Z");
        let mut line = req(
            "2000-01-01T00:00:00Z",
            At::Info,
            None,
            "web.1",
            None,
            Some(200),
        );
        for i in 0..MAX_BATCH_MINUTES as i64 {
            line.timestamp = start + TimeDelta::minutes(i);
            assert!(b.add("shop", &line));
        }
        line.timestamp = start + TimeDelta::minutes(MAX_BATCH_MINUTES as i64);
        assert!(!b.add("shop", &line));
        line.timestamp = start;
        assert!(b.add("shop", &line));
        assert_eq!((b.len(), b.overflow()), (MAX_BATCH_MINUTES, 1));

        let mut other = BatchAggregator::new();
        other.add("shop", &ok("1999-01-01T00:00:00Z", "web.1", 1));
        other.add("shop", &ok("1999-01-01T00:00:01Z", "web.1", 1));
        other.add("shop", &ok("2000-01-01T00:00:01Z", "web.1", 1));
        b.merge(other);
        assert_eq!((b.len(), b.overflow()), (MAX_BATCH_MINUTES, 3));
        assert_eq!(b.minutes()[0].requests, 3);
    }

    #[test]
    fn minute_of_floors() {
        assert_eq!(
            minute_of(ts("2026-11-30T14:03:59.999999Z")),
            ts("2026-11-30T14:03:00Z")
        );
        assert_eq!(
            minute_of(ts("1969-12-31T23:59:30Z")),
            ts("1969-12-31T23:59:00Z")
        );
        assert_eq!(
            minute_of(ts("2026-11-30T14:03:00Z")),
            ts("2026-11-30T14:03:00Z")
        );
    }
}
