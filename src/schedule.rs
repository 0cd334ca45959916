//! The scaling schedule: parsing `AUTOSCALE_SCHEDULE` and answering "what quantity applies
//! at instant T" and "when is the next change".
//!
//! This module is **pure**: no I/O, no clock reads (every "now" is an argument), no logging.
//!
//! # Syntax
//!
//! `;`-separated entries `WHEN=QUANTITY` or `WHEN=QUANTITY:SIZE`, e.g. `07:00=3:performance-m;
//! 22:00=1:standard-1x`, at most [`MAX_ENTRIES`]. WHEN is `HH:MM` (or `H:MM`), a 5-field cron
//! expression (minute first, second 0) or a 6-field one (second first). Cron uses Vixie
//! semantics: when both day-of-month and day-of-week are restricted, either one matching is
//! enough. QUANTITY is a whole number 0-10000. SIZE is a Heroku dyno size ([`crate::size`]),
//! in any case; an entry without one keeps the size the formation has.
//!
//! # Cost
//!
//! Listing edges merges the entries' firings through a heap: each edge costs one cron search
//! (of the entry that fired) and a log n step, so a week of a 1,000-entry daily schedule is
//! 7,000 searches, not 7 million.
//!
//! # Time zones and DST
//!
//! Cron patterns describe *wall-clock* times in the schedule's zone. We let croner search the
//! wall-clock timeline (handing it the wall-clock time dressed up as UTC, which has no DST) and
//! map each matching wall-clock time to an instant ourselves:
//!
//! * a wall-clock time that exists once fires at that instant;
//! * a wall-clock time repeated by a fall-back (02:30 in Berlin on 2026-10-25) fires **once**,
//!   at its first (summer-time) occurrence; nothing fires during the repeated hour's second pass;
//! * a wall-clock time skipped by a spring-forward (02:30 in Berlin on 2026-03-29) fires at the
//!   first instant after the gap (03:00 CEST = 01:00Z); several firings of one entry inside
//!   the gap collapse into that single instant.
//!
//! Instants are supported between years 1 and 5000 (croner's search range); outside it the
//! queries return `None` (or 0 dyno-hours) rather than panicking.
//!
//! We do not use croner's own zone handling because croner 3.0.1 gets the repeated hour wrong:
//! searching forward from its second pass can return an instant *before* the start, and
//! searching backward misses the day's firing or returns a time the pattern does not match.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

use crate::size::Size;

/// How far back `floor` looks for the latest firing.
pub const LOOKBACK_DAYS: i64 = 8;

/// Largest quantity an entry may ask for.
pub const MAX_QUANTITY: u32 = 10_000;

/// Most entries a schedule may have: far above any real schedule (a different quantity every
/// 15 minutes of a week is 672), low enough that parsing and planning stay instant.
pub const MAX_ENTRIES: usize = 1_000;

/// Upper bound on defensive re-search loops (they are not expected to iterate at all).
const MAX_RESEARCH: usize = 10_000;

/// Why a schedule could not be parsed. `Display` is a single line naming the bad entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// No entries at all (empty text, or only `;` and whitespace).
    #[error("the schedule is empty")]
    Empty,
    /// More than [`MAX_ENTRIES`] entries (counted before any is parsed).
    #[error("{count} entries; at most {MAX_ENTRIES}")]
    TooMany { count: usize },
    /// One entry is malformed.
    #[error("entry {position} {entry:?}: {problem}")]
    Entry {
        /// 1-based position among the non-empty entries (so `entry N` is `entries()[N - 1]`).
        position: usize,
        /// The entry as written (trimmed).
        entry: String,
        /// What is wrong with it.
        problem: String,
        /// The problem is the size (an unknown name).
        size: bool,
    },
}

impl ScheduleError {
    /// A valid schedule that shows what went wrong: with sizes when the size was wrong.
    pub fn example(&self) -> &'static str {
        match self {
            ScheduleError::Entry { size: true, .. } => crate::size::EXAMPLE,
            _ => "07:00=3; 22:00=2; 03:00=1",
        }
    }
}

/// A parsed schedule: its entries and the zone their wall-clock times are read in.
#[derive(Debug, Clone)]
pub struct Schedule {
    entries: Vec<Entry>,
    tz: Tz,
}

/// One `WHEN=QUANTITY[:SIZE]` entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// WHEN as written (trimmed).
    pub when: String,
    /// The quantity that applies from each firing on.
    pub quantity: u32,
    /// The dyno size each firing sets; None keeps the formation's.
    pub size: Option<Size>,
    /// WHEN in canonical form (`HH:MM` zero-padded, cron fields single-spaced).
    canonical: String,
    cron: Cron,
}

/// One firing of one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// When it fires.
    pub at: DateTime<Utc>,
    /// The quantity it sets.
    pub quantity: u32,
    /// The size it sets (None: the formation's stays).
    pub size: Option<Size>,
    /// 0-based index of the entry in the schedule.
    pub entry: usize,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.canonical, self.quantity)?;
        match self.size {
            Some(size) => write!(f, ":{size}"),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{entry}")?;
        }
        Ok(())
    }
}

impl Schedule {
    /// Parses `text` (see the module docs for the syntax); wall-clock times are read in `tz`.
    pub fn parse(text: &str, tz: Tz) -> Result<Schedule, ScheduleError> {
        // Counted first, so a huge value is refused before any cron expression is built.
        let count = text.split(';').filter(|e| !e.trim().is_empty()).count();
        if count > MAX_ENTRIES {
            return Err(ScheduleError::TooMany { count });
        }
        let mut entries = Vec::with_capacity(count);
        for raw in text.split(';') {
            let raw = raw.trim();
            if raw.is_empty() {
                continue;
            }
            let entry = parse_entry(raw).map_err(|(problem, size)| ScheduleError::Entry {
                position: entries.len() + 1,
                entry: raw.to_string(),
                problem,
                size,
            })?;
            entries.push(entry);
        }
        if entries.is_empty() {
            return Err(ScheduleError::Empty);
        }
        Ok(Schedule { entries, tz })
    }

    /// The entries, in the order written.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The zone wall-clock times are read in.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// Largest quantity of any entry.
    pub fn max_quantity(&self) -> u32 {
        self.entries.iter().map(|e| e.quantity).max().unwrap_or(0)
    }

    /// The schedule in canonical text form, entries joined by "; " (for logs).
    /// Parsing it again gives the same schedule.
    pub fn describe(&self) -> String {
        self.to_string()
    }

    /// The latest firing of any entry at or before `at`, looking back LOOKBACK_DAYS days.
    /// Two entries firing at the same instant: the LATER one in the list wins.
    /// None when nothing fired in that window (e.g. a yearly entry).
    ///
    /// Each entry costs one backward croner search, so dense patterns (every few seconds)
    /// are as cheap as daily ones.
    pub fn floor(&self, at: DateTime<Utc>) -> Option<Edge> {
        let earliest = at
            .checked_sub_signed(Duration::days(LOOKBACK_DAYS))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let mut best: Option<Edge> = None;
        for (index, entry) in self.entries.iter().enumerate() {
            let Some(fired) = self.fired_at_or_before(entry, at) else {
                continue;
            };
            if fired < earliest {
                continue;
            }
            // `>=`: on a tie the later entry wins.
            if best.is_none_or(|b| fired >= b.at) {
                best = Some(Edge {
                    at: fired,
                    quantity: entry.quantity,
                    size: entry.size,
                    entry: index,
                });
            }
        }
        best
    }

    /// The next firing of entry `entry` strictly after `after` (None if it never fires again,
    /// or if there is no such entry).
    pub fn next_firing(&self, entry: usize, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.fires_after(self.entries.get(entry)?, after)
    }

    /// The next `n` firings of all entries strictly after `after`, in time order: every firing,
    /// whether or not it changes the quantity. When several entries fire at the same instant,
    /// list only the winning one (the later in the list) — its quantity is what applies.
    pub fn next_edges(&self, after: DateTime<Utc>, n: usize) -> Vec<Edge> {
        self.edges_after(after).take(n).collect()
    }

    /// Dyno-hours of the 7 days starting at `from` if the process ran at floor(t) all the time
    /// (integrate floor over [from, from+7d); time with no floor counts 0).
    ///
    /// Exact: walks the firings instead of sampling. Taken literally, floor(t) lapses
    /// LOOKBACK_DAYS after the last firing, so a quantity stops counting at that point.
    pub fn dyno_hours_per_week(&self, from: DateTime<Utc>) -> f64 {
        let Some(end) = from.checked_add_signed(Duration::days(7)) else {
            return 0.0;
        };
        let lookback = Duration::days(LOOKBACK_DAYS);
        // Quantity × nanoseconds; at most 10000 × 6.05e14, far below i128::MAX.
        let mut total: i128 = 0;
        let mut add = |current: Option<Edge>, start: DateTime<Utc>, stop: DateTime<Utc>| {
            if let Some(edge) = current {
                let lapses = edge.at.checked_add_signed(lookback).unwrap_or(stop);
                let stop = stop.min(lapses);
                if stop > start {
                    let nanos = (stop - start).num_nanoseconds().unwrap_or(0);
                    total += i128::from(edge.quantity) * i128::from(nanos);
                }
            }
        };
        let mut current = self.floor(from);
        let mut since = from;
        for edge in self.edges_after(from) {
            if edge.at >= end {
                break;
            }
            add(current, since, edge.at);
            current = Some(edge);
            since = edge.at;
        }
        add(current, since, end);
        total as f64 / 3_600_000_000_000.0
    }

    /// All firings strictly after `after`, merged across entries, ties resolved (as
    /// [`Schedule::next_edges`]), lazily: the first costs one search per entry, each next one
    /// a search of the entries that fired.
    pub fn edges_after(&self, after: DateTime<Utc>) -> Edges<'_> {
        let pending = self
            .entries
            .iter()
            .enumerate()
            .filter_map(|(index, e)| Some(Reverse((self.fires_after(e, after)?, index))))
            .collect();
        Edges {
            schedule: self,
            pending,
        }
    }

    /// Next firing of `entry` strictly after `after`.
    fn fires_after(&self, entry: &Entry, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut wall = wall_position(self.tz, after)?;
        // The mapping wall -> instant is monotone, so the first candidate is the answer;
        // the loop is only a guard against zone data we did not foresee.
        for _ in 0..MAX_RESEARCH {
            wall = croner_next(&entry.cron, wall)?;
            let at = instant_of(self.tz, wall)?;
            if at > after {
                return Some(at);
            }
        }
        None
    }

    /// Latest firing of `entry` at or before `at` (no lookback limit).
    fn fired_at_or_before(&self, entry: &Entry, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut wall = wall_position(self.tz, at)?;
        let mut inclusive = true;
        for _ in 0..MAX_RESEARCH {
            wall = croner_prev(&entry.cron, wall, inclusive)?;
            inclusive = false;
            let fired = instant_of(self.tz, wall)?;
            if fired <= at {
                return Some(fired);
            }
        }
        None
    }
}

/// Merges the entries' firings in time order (see [`Schedule::next_edges`]).
pub struct Edges<'a> {
    schedule: &'a Schedule,
    /// Each entry's next firing not yet yielded (entries that never fire again are left out),
    /// earliest first.
    pending: BinaryHeap<Reverse<(DateTime<Utc>, usize)>>,
}

impl Iterator for Edges<'_> {
    type Item = Edge;

    fn next(&mut self) -> Option<Edge> {
        let Reverse((at, first)) = self.pending.pop()?;
        // Every entry firing at `at` is used up; the later in the list wins.
        let mut fired = vec![first];
        while let Some(Reverse((next, index))) = self.pending.peek().copied() {
            if next != at {
                break;
            }
            self.pending.pop();
            fired.push(index);
        }
        let winner = fired.iter().copied().max().unwrap_or(first);
        for index in fired {
            let entry = &self.schedule.entries[index];
            if let Some(next) = self.schedule.fires_after(entry, at) {
                self.pending.push(Reverse((next, index)));
            }
        }
        let entry = &self.schedule.entries[winner];
        Some(Edge {
            at,
            quantity: entry.quantity,
            size: entry.size,
            entry: winner,
        })
    }
}

/// Parses one non-empty, trimmed entry; the error is the problem description, and whether it
/// is the size.
fn parse_entry(raw: &str) -> Result<Entry, (String, bool)> {
    let Some((when, quantity)) = raw.rsplit_once('=') else {
        return Err(("missing \"=QUANTITY\"".to_string(), false));
    };
    let when = when.trim();
    let (quantity, size) = match quantity.split_once(':') {
        Some((quantity, size)) => (quantity.trim(), Some(size.trim())),
        None => (quantity.trim(), None),
    };
    if when.is_empty() {
        return Err((
            "missing a time (HH:MM) or cron expression before \"=\"".to_string(),
            false,
        ));
    }
    let entry = parse_timing(when, quantity).map_err(|problem| (problem, false))?;
    let size = size
        .map(|name| Size::parse(name).map_err(|e| (e.to_string(), true)))
        .transpose()?;
    Ok(Entry { size, ..entry })
}

/// WHEN and QUANTITY of an entry (its size None).
fn parse_timing(when: &str, quantity: &str) -> Result<Entry, String> {
    let (canonical, pattern) = parse_when(when)?;
    let quantity = parse_quantity(quantity)?;
    let cron = CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .build()
        .parse(&pattern)
        .map_err(|e| format!("{when:?} is not a valid cron expression: {}", one_line(&e)))?;
    // A pattern such as Feb 31 parses but never matches; croner's search gives up at its
    // year limit (5000), which is how we find out. The Gregorian calendar repeats every 400
    // years, so searching 4600-5000 answers "does it ever fire?" exactly like searching from
    // 2000 would, in an eighth of the time (a never-firing pattern walks every day).
    let probe = naive_as_utc(
        chrono::NaiveDate::from_ymd_opt(croner::YEAR_UPPER_LIMIT - 400, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0)),
    );
    if probe.is_none_or(|p| cron.find_next_occurrence(&p, true).is_err()) {
        return Err(format!("{when:?} never fires"));
    }
    Ok(Entry {
        when: when.to_string(),
        quantity,
        size: None,
        canonical,
        cron,
    })
}

/// Returns (canonical WHEN, 5/6-field pattern for croner).
fn parse_when(when: &str) -> Result<(String, String), String> {
    let fields: Vec<&str> = when.split_whitespace().collect();
    if fields.len() == 1 && when.contains(':') {
        let (hour, minute) = parse_time_of_day(when)
            .ok_or_else(|| format!("{when} is not a time of day (HH:MM, 00:00-23:59)"))?;
        return Ok((
            format!("{hour:02}:{minute:02}"),
            format!("0 {minute} {hour} * * *"),
        ));
    }
    match fields.len() {
        5 | 6 => {
            let canonical = fields.join(" ");
            Ok((canonical.clone(), canonical))
        }
        n => Err(format!(
            "{when:?} has {n} field{}; a cron expression has 5 (minute first) or 6 (second first)",
            if n == 1 { "" } else { "s" }
        )),
    }
}

/// `H:MM` or `HH:MM`, 00:00-23:59.
fn parse_time_of_day(text: &str) -> Option<(u32, u32)> {
    let (hour, minute) = text.split_once(':')?;
    let digits = |s: &str, lengths: &[usize]| {
        lengths.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(hour, &[1, 2]) || !digits(minute, &[2]) {
        return None;
    }
    let hour: u32 = hour.parse().ok()?;
    let minute: u32 = minute.parse().ok()?;
    (hour <= 23 && minute <= 59).then_some((hour, minute))
}

/// Digits only (no sign), 0-10000.
fn parse_quantity(text: &str) -> Result<u32, String> {
    let bad = || format!("quantity {text:?} is not a whole number 0-{MAX_QUANTITY}");
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match text.parse::<u32>() {
        Ok(q) if q <= MAX_QUANTITY => Ok(q),
        _ => Err(bad()),
    }
}

/// Keeps an error message on one line.
fn one_line(error: &dyn fmt::Display) -> String {
    error
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

// ---- wall clock <-> instants ----------------------------------------------------------------
//
// croner works on a "wall clock" NaiveDateTime dressed as DateTime<Utc>, where there is no DST;
// these helpers translate between that timeline and real instants in the schedule's zone.

fn naive_as_utc(wall: Option<NaiveDateTime>) -> Option<DateTime<Utc>> {
    wall.map(|w| Utc.from_utc_datetime(&w))
}

/// Next wall-clock time strictly after `wall` that the pattern matches.
fn croner_next(cron: &Cron, wall: NaiveDateTime) -> Option<NaiveDateTime> {
    let start = naive_as_utc(Some(wall))?;
    cron.find_next_occurrence(&start, false)
        .ok()
        .map(|d| d.naive_utc())
}

/// Latest wall-clock time at (if `inclusive`) or before `wall` that the pattern matches.
fn croner_prev(cron: &Cron, wall: NaiveDateTime, inclusive: bool) -> Option<NaiveDateTime> {
    let start = naive_as_utc(Some(wall))?;
    cron.find_previous_occurrence(&start, inclusive)
        .ok()
        .map(|d| d.naive_utc())
}

/// The position of instant `at` on the wall-clock timeline, to the whole second: every
/// wall-clock time `w <= position` has fired by `at` and every `w > position` has not.
///
/// Normally that is `at`'s local time. During the second pass of a repeated hour, though, all
/// repeated wall-clock times have already fired (in the first pass), so the position is the
/// last second of the repeated window.
fn wall_position(tz: Tz, at: DateTime<Utc>) -> Option<NaiveDateTime> {
    let offset = tz.offset_from_utc_datetime(&at.naive_utc()).fix();
    let wall = at
        .naive_utc()
        .checked_add_signed(Duration::seconds(i64::from(offset.local_minus_utc())))?
        .with_nanosecond(0)?;
    match tz.from_local_datetime(&wall) {
        LocalResult::Ambiguous(first, _) if first.offset().fix() != offset => {
            let after_window =
                first_wall_not(tz, wall, |r| matches!(r, LocalResult::Ambiguous(..)))?;
            after_window.checked_sub_signed(Duration::seconds(1))
        }
        _ => Some(wall),
    }
}

/// The instant a matching wall-clock time fires at (see the module docs for DST).
fn instant_of(tz: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => {
            let after_gap = first_wall_not(tz, wall, |r| matches!(r, LocalResult::None))?;
            tz.from_local_datetime(&after_gap)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        }
    }
}

/// The first whole-second wall-clock time after `wall` for which `inside` is false, assuming
/// `inside(wall)` holds and stays true up to a single boundary (a DST gap or overlap).
/// Gallops forward then bisects, so a 1-hour (or even a 24-hour) window costs ~30 lookups.
fn first_wall_not(
    tz: Tz,
    wall: NaiveDateTime,
    inside: impl Fn(&LocalResult<DateTime<Tz>>) -> bool,
) -> Option<NaiveDateTime> {
    let is_inside = |w: NaiveDateTime| inside(&tz.from_local_datetime(&w));
    let mut lo = wall;
    let mut step = Duration::minutes(15);
    let mut hi = lo.checked_add_signed(step)?;
    let mut gallops = 0;
    while is_inside(hi) {
        gallops += 1;
        if gallops > 16 {
            return None;
        }
        lo = hi;
        step = step * 2;
        hi = lo.checked_add_signed(step)?;
    }
    while (hi - lo).num_seconds() > 1 {
        let mid = lo.checked_add_signed(Duration::seconds((hi - lo).num_seconds() / 2))?;
        if is_inside(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Weekday};
    use chrono_tz::America::New_York;
    use chrono_tz::Europe::Berlin;
    use chrono_tz::UTC;

    const DEFAULT: &str = "07:00=3; 22:00=2; 03:00=1";

    fn t(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    fn sched(text: &str, tz: Tz) -> Schedule {
        Schedule::parse(text, tz).unwrap()
    }

    fn edge(at: DateTime<Utc>, quantity: u32, entry: usize) -> Edge {
        Edge {
            at,
            quantity,
            size: None,
            entry,
        }
    }

    fn err(text: &str) -> String {
        Schedule::parse(text, UTC).unwrap_err().to_string()
    }

    /// Every firing of `s` in (after, until], as (instant, quantity).
    fn firings(s: &Schedule, after: DateTime<Utc>, n: usize) -> Vec<(DateTime<Utc>, u32)> {
        s.next_edges(after, n)
            .into_iter()
            .map(|e| (e.at, e.quantity))
            .collect()
    }

    #[test]
    fn default_schedule_floor() {
        let s = sched(DEFAULT, UTC);
        assert_eq!(
            s.floor(t(2026, 12, 1, 6, 59, 0)),
            Some(edge(t(2026, 12, 1, 3, 0, 0), 1, 2))
        );
        assert_eq!(
            s.floor(t(2026, 12, 1, 7, 0, 0)),
            Some(edge(t(2026, 12, 1, 7, 0, 0), 3, 0))
        );
        assert_eq!(
            s.floor(t(2026, 12, 1, 6, 59, 59) + Duration::milliseconds(999)),
            Some(edge(t(2026, 12, 1, 3, 0, 0), 1, 2))
        );
        assert_eq!(
            s.floor(t(2026, 12, 1, 23, 0, 0)),
            Some(edge(t(2026, 12, 1, 22, 0, 0), 2, 1))
        );
        // Across midnight: yesterday's 22:00.
        assert_eq!(
            s.floor(t(2026, 12, 2, 2, 59, 0)),
            Some(edge(t(2026, 12, 1, 22, 0, 0), 2, 1))
        );
        assert_eq!(s.max_quantity(), 3);
        assert_eq!(s.tz(), UTC);
        assert_eq!(s.entries().len(), 3);
    }

    #[test]
    fn default_schedule_next_edges() {
        let s = sched(DEFAULT, UTC);
        assert_eq!(
            s.next_edges(t(2026, 12, 1, 6, 59, 0), 3),
            vec![
                edge(t(2026, 12, 1, 7, 0, 0), 3, 0),
                edge(t(2026, 12, 1, 22, 0, 0), 2, 1),
                edge(t(2026, 12, 2, 3, 0, 0), 1, 2),
            ]
        );
        // Strictly after: an edge exactly at `after` is not listed.
        assert_eq!(
            s.next_edges(t(2026, 12, 1, 7, 0, 0), 1),
            vec![edge(t(2026, 12, 1, 22, 0, 0), 2, 1)]
        );
        assert!(s.next_edges(t(2026, 12, 1, 7, 0, 0), 0).is_empty());
        assert_eq!(
            s.next_firing(2, t(2026, 12, 1, 3, 0, 0)),
            Some(t(2026, 12, 2, 3, 0, 0))
        );
        assert_eq!(s.next_firing(3, t(2026, 12, 1, 3, 0, 0)), None);
    }

    #[test]
    fn default_schedule_dyno_hours() {
        let s = sched(DEFAULT, UTC);
        // 3×15h + 2×5h + 1×4h = 59 per day.
        assert_eq!(s.dyno_hours_per_week(t(2026, 12, 1, 6, 59, 0)), 413.0);
        assert_eq!(s.dyno_hours_per_week(t(2026, 12, 1, 7, 0, 0)), 413.0);
        let odd = t(2026, 12, 1, 13, 17, 29) + Duration::nanoseconds(123_456_789);
        assert!((s.dyno_hours_per_week(odd) - 413.0).abs() < 1e-9);
        let b = sched(DEFAULT, Berlin);
        assert_eq!(b.tz(), Berlin);
        assert_eq!(b.dyno_hours_per_week(t(2026, 1, 5, 0, 0, 0)), 413.0);
        // Any 168 real hours contain 59 × 7 here, DST or not: the hour lost at night comes
        // back at the other end of the week.
        assert_eq!(b.dyno_hours_per_week(t(2026, 3, 26, 0, 0, 0)), 413.0);
    }

    #[test]
    fn dyno_hours_across_dst() {
        // One dyno from 00:00 to 04:00 local: that night is 3 real hours on the
        // spring-forward day and 5 on the fall-back day. Weeks start and end at quantity 0.
        let s = sched("00:00=1; 04:00=0", Berlin);
        assert_eq!(s.dyno_hours_per_week(t(2026, 1, 12, 12, 0, 0)), 28.0);
        assert_eq!(s.dyno_hours_per_week(t(2026, 3, 23, 12, 0, 0)), 27.0);
        assert_eq!(s.dyno_hours_per_week(t(2026, 10, 19, 12, 0, 0)), 29.0);
    }

    #[test]
    fn berlin_winter_and_summer() {
        let s = sched("07:00=3; 22:00=1", Berlin);
        assert_eq!(
            firings(&s, t(2026, 1, 15, 0, 0, 0), 2),
            vec![(t(2026, 1, 15, 6, 0, 0), 3), (t(2026, 1, 15, 21, 0, 0), 1)]
        );
        assert_eq!(
            firings(&s, t(2026, 7, 15, 0, 0, 0), 2),
            vec![(t(2026, 7, 15, 5, 0, 0), 3), (t(2026, 7, 15, 20, 0, 0), 1)]
        );
    }

    /// The edges around a DST change, and floor just before/after each.
    fn check_edges_and_floor(
        s: &Schedule,
        after: DateTime<Utc>,
        expected: &[(DateTime<Utc>, u32)],
    ) {
        let edges = s.next_edges(after, expected.len());
        let got: Vec<_> = edges.iter().map(|e| (e.at, e.quantity)).collect();
        assert_eq!(got, expected);
        for pair in edges.windows(2) {
            assert_eq!(s.floor(pair[1].at - Duration::seconds(1)), Some(pair[0]));
            assert_eq!(s.floor(pair[1].at), Some(pair[1]));
            assert_eq!(s.floor(pair[1].at + Duration::seconds(1)), Some(pair[1]));
        }
    }

    #[test]
    fn berlin_spring_forward_2026() {
        let s = sched("07:00=3; 22:00=1", Berlin);
        check_edges_and_floor(
            &s,
            t(2026, 3, 28, 0, 0, 0),
            &[
                (t(2026, 3, 28, 6, 0, 0), 3),
                (t(2026, 3, 28, 21, 0, 0), 1),
                (t(2026, 3, 29, 5, 0, 0), 3),
                (t(2026, 3, 29, 20, 0, 0), 1),
                (t(2026, 3, 30, 5, 0, 0), 3),
                (t(2026, 3, 30, 20, 0, 0), 1),
            ],
        );
    }

    #[test]
    fn berlin_fall_back_2026() {
        let s = sched("07:00=3; 22:00=1", Berlin);
        check_edges_and_floor(
            &s,
            t(2026, 10, 24, 0, 0, 0),
            &[
                (t(2026, 10, 24, 5, 0, 0), 3),
                (t(2026, 10, 24, 20, 0, 0), 1),
                (t(2026, 10, 25, 6, 0, 0), 3),
                (t(2026, 10, 25, 21, 0, 0), 1),
                (t(2026, 10, 26, 6, 0, 0), 3),
                (t(2026, 10, 26, 21, 0, 0), 1),
            ],
        );
    }

    #[test]
    fn berlin_gap_fires_at_end_of_gap() {
        // 02:30 does not exist on 2026-03-29: it fires at 03:00 CEST = 01:00Z, once.
        let s = sched("02:30=2; 12:00=1", Berlin);
        check_edges_and_floor(
            &s,
            t(2026, 3, 28, 0, 0, 0),
            &[
                (t(2026, 3, 28, 1, 30, 0), 2),
                (t(2026, 3, 28, 11, 0, 0), 1),
                (t(2026, 3, 29, 1, 0, 0), 2),
                (t(2026, 3, 29, 10, 0, 0), 1),
                (t(2026, 3, 30, 0, 30, 0), 2),
            ],
        );
        assert_eq!(
            s.floor(t(2026, 3, 29, 0, 59, 59)),
            Some(edge(t(2026, 3, 28, 11, 0, 0), 1, 1))
        );
        assert_eq!(
            s.next_firing(0, t(2026, 3, 29, 1, 0, 0)),
            Some(t(2026, 3, 30, 0, 30, 0))
        );
    }

    #[test]
    fn berlin_gap_collapses_dense_firings() {
        // 02:00..02:50 and 03:00 local all land on 01:00Z: one firing.
        let s = sched("*/10 * * * *=2", Berlin);
        assert_eq!(
            firings(&s, t(2026, 3, 29, 0, 45, 0), 3),
            vec![
                (t(2026, 3, 29, 0, 50, 0), 2),
                (t(2026, 3, 29, 1, 0, 0), 2),
                (t(2026, 3, 29, 1, 10, 0), 2),
            ]
        );
        // Two entries in the gap: same instant, the later entry wins.
        let s = sched("02:30=2; 03:00=5", Berlin);
        assert_eq!(
            s.next_edges(t(2026, 3, 29, 0, 0, 0), 2),
            vec![
                edge(t(2026, 3, 29, 1, 0, 0), 5, 1),
                edge(t(2026, 3, 30, 0, 30, 0), 2, 0),
            ]
        );
    }

    #[test]
    fn berlin_overlap_fires_once_in_first_pass() {
        // 02:00-03:00 happens twice on 2026-10-25: 00:00-01:00Z (CEST), 01:00-02:00Z (CET).
        let s = sched("02:30=2; 02:45=1; 12:00=3", Berlin);
        assert_eq!(
            s.next_edges(t(2026, 10, 24, 23, 0, 0), 4),
            vec![
                edge(t(2026, 10, 25, 0, 30, 0), 2, 0),
                edge(t(2026, 10, 25, 0, 45, 0), 1, 1),
                edge(t(2026, 10, 25, 11, 0, 0), 3, 2),
                edge(t(2026, 10, 26, 1, 30, 0), 2, 0),
            ]
        );
        // In the second pass (02:10 and 02:40 CET) everything repeated has already fired.
        assert_eq!(
            s.floor(t(2026, 10, 25, 1, 40, 0)),
            Some(edge(t(2026, 10, 25, 0, 45, 0), 1, 1))
        );
        assert_eq!(
            s.floor(t(2026, 10, 25, 1, 10, 0)),
            Some(edge(t(2026, 10, 25, 0, 45, 0), 1, 1))
        );
        // In the first pass, between the two.
        assert_eq!(
            s.floor(t(2026, 10, 25, 0, 40, 0)),
            Some(edge(t(2026, 10, 25, 0, 30, 0), 2, 0))
        );
        assert_eq!(
            s.next_firing(0, t(2026, 10, 25, 1, 10, 0)),
            Some(t(2026, 10, 26, 1, 30, 0))
        );
        assert_eq!(
            s.next_edges(t(2026, 10, 25, 1, 10, 0), 1),
            vec![edge(t(2026, 10, 25, 11, 0, 0), 3, 2)]
        );
    }

    #[test]
    fn berlin_overlap_dense_pattern() {
        let s = sched("*/30 * * * *=1", Berlin);
        assert_eq!(
            firings(&s, t(2026, 10, 25, 0, 0, 0), 3),
            vec![
                (t(2026, 10, 25, 0, 30, 0), 1),
                (t(2026, 10, 25, 2, 0, 0), 1),
                (t(2026, 10, 25, 2, 30, 0), 1),
            ]
        );
        assert_eq!(
            s.floor(t(2026, 10, 25, 1, 15, 0)).map(|e| e.at),
            Some(t(2026, 10, 25, 0, 30, 0))
        );
        assert_eq!(
            s.floor(t(2026, 10, 25, 1, 59, 59)).map(|e| e.at),
            Some(t(2026, 10, 25, 0, 30, 0))
        );
        assert_eq!(
            s.floor(t(2026, 10, 25, 2, 0, 0)).map(|e| e.at),
            Some(t(2026, 10, 25, 2, 0, 0))
        );
    }

    #[test]
    fn new_york() {
        let s = sched("07:00=3", New_York);
        assert_eq!(
            s.next_firing(0, t(2026, 12, 1, 0, 0, 0)),
            Some(t(2026, 12, 1, 12, 0, 0))
        );
        assert_eq!(
            s.next_firing(0, t(2026, 7, 1, 0, 0, 0)),
            Some(t(2026, 7, 1, 11, 0, 0))
        );
    }

    #[test]
    fn weekdays_only() {
        let s = sched("0 7 * * 1-5=3; 0 19 * * 1-5=1", UTC);
        let friday_evening = t(2026, 12, 4, 19, 0, 0);
        assert_eq!(friday_evening.weekday(), Weekday::Fri);
        let saturday_noon = t(2026, 12, 5, 12, 0, 0);
        assert_eq!(saturday_noon.weekday(), Weekday::Sat);
        assert_eq!(s.floor(saturday_noon), Some(edge(friday_evening, 1, 1)));
        // Monday 06:00 looks back across the weekend.
        assert_eq!(
            s.floor(t(2026, 12, 7, 6, 0, 0)),
            Some(edge(friday_evening, 1, 1))
        );
        assert_eq!(
            s.floor(t(2026, 12, 7, 7, 0, 0)),
            Some(edge(t(2026, 12, 7, 7, 0, 0), 3, 0))
        );
        assert_eq!(
            s.next_edges(saturday_noon, 1),
            vec![edge(t(2026, 12, 7, 7, 0, 0), 3, 0)]
        );
        // 07:00-19:00 on 5 weekdays at 3, the other 108 hours (weekend included) at 1.
        assert_eq!(s.dyno_hours_per_week(t(2026, 12, 7, 0, 0, 0)), 288.0);
    }

    #[test]
    fn vixie_dom_or_dow() {
        // Day 1 of the month OR a Monday.
        let s = sched("0 7 1 * 1=2", UTC);
        // 2026-12-01 is a Tuesday (the 1st), then Monday the 7th.
        assert_eq!(
            firings(&s, t(2026, 11, 30, 8, 0, 0), 2),
            vec![(t(2026, 12, 1, 7, 0, 0), 2), (t(2026, 12, 7, 7, 0, 0), 2)]
        );
    }

    #[test]
    fn equal_instants_later_entry_wins() {
        let s = sched("07:00=3; 0 7 * * *=5", UTC);
        assert_eq!(
            s.floor(t(2026, 12, 1, 7, 0, 0)),
            Some(edge(t(2026, 12, 1, 7, 0, 0), 5, 1))
        );
        assert_eq!(
            s.next_edges(t(2026, 12, 1, 6, 0, 0), 2),
            vec![
                edge(t(2026, 12, 1, 7, 0, 0), 5, 1),
                edge(t(2026, 12, 2, 7, 0, 0), 5, 1),
            ]
        );
        assert_eq!(s.dyno_hours_per_week(t(2026, 12, 1, 6, 0, 0)), 5.0 * 168.0);
    }

    #[test]
    fn five_and_six_fields() {
        let five = sched("30 7 * * *=1", UTC);
        assert_eq!(
            five.next_firing(0, t(2026, 12, 1, 7, 0, 0)),
            Some(t(2026, 12, 1, 7, 30, 0))
        );
        let six = sched("15 30 7 * * *=1", UTC);
        assert_eq!(
            six.next_firing(0, t(2026, 12, 1, 7, 0, 0)),
            Some(t(2026, 12, 1, 7, 30, 15))
        );
        let dense = sched("*/10 * * * * *=1", UTC);
        let at = t(2026, 12, 1, 12, 34, 56) + Duration::milliseconds(789);
        assert_eq!(
            dense.floor(at),
            Some(edge(t(2026, 12, 1, 12, 34, 50), 1, 0))
        );
        assert_eq!(
            firings(&dense, at, 2),
            vec![
                (t(2026, 12, 1, 12, 35, 0), 1),
                (t(2026, 12, 1, 12, 35, 10), 1)
            ]
        );
    }

    #[test]
    fn dense_schedule_is_exact() {
        // Every minute: :00 both fire (the later, 3, wins), :05 the first one resets to 2.
        let s = sched("*/5 * * * * *=2; 0 * * * * *=3", Berlin);
        assert_eq!(
            s.floor(t(2026, 12, 1, 12, 0, 3)),
            Some(edge(t(2026, 12, 1, 12, 0, 0), 3, 1))
        );
        // Per minute 5s × 3 + 55s × 2 = 125 dyno-seconds; 10080 minutes a week.
        assert_eq!(s.dyno_hours_per_week(t(2026, 12, 1, 0, 0, 0)), 350.0);
    }

    #[test]
    fn time_of_day_forms() {
        let s = sched("7:05=2", UTC);
        assert_eq!(s.entries()[0].when, "7:05");
        assert_eq!(s.entries()[0].quantity, 2);
        assert_eq!(
            s.next_firing(0, t(2026, 12, 1, 0, 0, 0)),
            Some(t(2026, 12, 1, 7, 5, 0))
        );
        assert_eq!(s.describe(), "07:05=2");
        assert!(Schedule::parse("00:00=0; 23:59=10000", UTC).is_ok());
    }

    #[test]
    fn describe_is_canonical_and_reparses() {
        let s = sched("  7:05 = 2 ;; 0   7 * * 1-5=3 ;", UTC);
        assert_eq!(s.entries()[1].when, "0   7 * * 1-5");
        assert_eq!(s.describe(), "07:05=2; 0 7 * * 1-5=3");
        assert_eq!(s.to_string(), s.describe());
        let again = sched(&s.describe(), UTC);
        assert_eq!(again.describe(), s.describe());
        assert_eq!(sched(DEFAULT, UTC).describe(), "07:00=3; 22:00=2; 03:00=1");
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            err("07:00=3; 25:00=3"),
            r#"entry 2 "25:00=3": 25:00 is not a time of day (HH:MM, 00:00-23:59)"#
        );
        // One or two digits of hour, exactly two of minute, each part checked on its own.
        for bad in [
            "7:5", "007:00", "07:000", "7:0", "1:2", "123:45", "0x7:00", "07:5a",
        ] {
            assert_eq!(
                err(&format!("{bad}=3")),
                format!(r#"entry 1 "{bad}=3": {bad} is not a time of day (HH:MM, 00:00-23:59)"#)
            );
        }
        assert_eq!(sched("7:05=3", UTC).describe(), "07:05=3");
        for bad in ["+5", "5x", "-0", "5.0"] {
            assert!(
                err(&format!("07:00={bad}")).ends_with("is not a whole number 0-10000"),
                "{bad:?}"
            );
        }
        // croner's own words, on one line.
        assert_eq!(
            err("0 7 * * xyz=3"),
            r#"entry 1 "0 7 * * xyz=3": "0 7 * * xyz" is not a valid cron expression: Pattern contains illegal characters: CronPattern contains illegal character 'X' in part 'XYZ'"#
        );
        assert_eq!(
            err("07:00=x"),
            r#"entry 1 "07:00=x": quantity "x" is not a whole number 0-10000"#
        );
        assert_eq!(
            err("07:00=1; 22:00=2; 0 7 * *=3"),
            r#"entry 3 "0 7 * *=3": "0 7 * *" has 4 fields; a cron expression has 5 (minute first) or 6 (second first)"#
        );
        assert_eq!(
            err("0 7 31 2 *=3"),
            r#"entry 1 "0 7 31 2 *=3": "0 7 31 2 *" never fires"#
        );
        assert_eq!(err("07:00"), r#"entry 1 "07:00": missing "=QUANTITY""#);
        assert_eq!(err(""), "the schedule is empty");
        assert_eq!(err(" ; ;; "), "the schedule is empty");
        assert_eq!(Schedule::parse("", UTC).unwrap_err(), ScheduleError::Empty);
        // Empty pieces are not counted.
        assert_eq!(
            err(";; 07:00=1 ;; 7:60=2"),
            r#"entry 2 "7:60=2": 7:60 is not a time of day (HH:MM, 00:00-23:59)"#
        );
        assert_eq!(
            err("0 0 7 * * * 2026=1"),
            r#"entry 1 "0 0 7 * * * 2026=1": "0 0 7 * * * 2026" has 7 fields; a cron expression has 5 (minute first) or 6 (second first)"#
        );
        assert_eq!(
            err("daily=1"),
            r#"entry 1 "daily=1": "daily" has 1 field; a cron expression has 5 (minute first) or 6 (second first)"#
        );
        assert_eq!(
            err("07:00=10001"),
            r#"entry 1 "07:00=10001": quantity "10001" is not a whole number 0-10000"#
        );
        assert_eq!(
            err("07:00=-1"),
            r#"entry 1 "07:00=-1": quantity "-1" is not a whole number 0-10000"#
        );
        assert_eq!(
            err("07:00="),
            r#"entry 1 "07:00=": quantity "" is not a whole number 0-10000"#
        );
        assert_eq!(
            err("=3"),
            r#"entry 1 "=3": missing a time (HH:MM) or cron expression before "=""#
        );
        // Split at the last "=".
        assert_eq!(
            err("07:00=1=2"),
            r#"entry 1 "07:00=1=2": 07:00=1 is not a time of day (HH:MM, 00:00-23:59)"#
        );
        // croner's own message is included.
        let bad = err("0 61 * * *=1");
        assert!(
            bad.starts_with(
                r#"entry 1 "0 61 * * *=1": "0 61 * * *" is not a valid cron expression: "#
            ),
            "{bad}"
        );
        assert!(bad.len() > 70, "{bad}");
        // One line, whatever the input.
        let multi = err("0 7\n* * *=x\ny");
        assert!(!multi.contains('\n'), "{multi}");
        assert!(Schedule::parse("07:00=0", UTC).is_ok());
        assert!(Schedule::parse("07:00=007", UTC).is_ok());
    }

    #[test]
    fn entries_may_name_a_size() {
        let s = sched(
            "07:00=3:Performance-M; 22:00=1:standard-1x; 0 12 * * 1-5=2",
            UTC,
        );
        let size = |name: &str| Some(crate::size::Size::parse(name).unwrap());
        assert_eq!(s.entries()[0].size, size("performance-m"));
        assert_eq!(s.entries()[0].quantity, 3);
        assert_eq!(s.entries()[2].size, None);
        assert_eq!(
            s.describe(),
            "07:00=3:performance-m; 22:00=1:standard-1x; 0 12 * * 1-5=2"
        );
        assert_eq!(sched(&s.describe(), UTC).describe(), s.describe());
        // Floors and edges carry the size of the entry that fired.
        let floor = s.floor(t(2026, 12, 1, 8, 0, 0)).unwrap();
        assert_eq!((floor.quantity, floor.size), (3, size("performance-m")));
        let edges = s.next_edges(t(2026, 12, 1, 8, 0, 0), 3);
        let got: Vec<_> = edges.iter().map(|e| (e.at, e.quantity, e.size)).collect();
        assert_eq!(
            got,
            vec![
                (t(2026, 12, 1, 12, 0, 0), 2, None),
                (t(2026, 12, 1, 22, 0, 0), 1, size("standard-1x")),
                (t(2026, 12, 2, 7, 0, 0), 3, size("performance-m")),
            ]
        );
        // Spaces around the parts, any case; Fir's names too.
        let fir = sched(" 0 7 * * * = 2 : DYNO-2C-4GB ", UTC);
        assert_eq!(fir.entries()[0].size, size("dyno-2c-4gb"));
        assert_eq!(fir.describe(), "0 7 * * *=2:dyno-2c-4gb");
    }

    #[test]
    fn a_size_typo_is_an_error_naming_the_known_sizes() {
        let e = Schedule::parse("07:00=3:performance-q; 22:00=1", UTC).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with(r#"entry 1 "07:00=3:performance-q": unknown dyno size "performance-q"; known sizes: eco, basic, standard-1x"#),
            "{text}"
        );
        assert_eq!(e.example(), crate::size::EXAMPLE);
        assert!(matches!(e, ScheduleError::Entry { size: true, .. }));
        for bad in ["07:00=3:", "07:00=3:hobby", "07:00=3:2x"] {
            let e = Schedule::parse(bad, UTC).unwrap_err();
            assert_eq!(e.example(), crate::size::EXAMPLE, "{bad}");
        }
        // The timing is checked first; other errors keep the plain example.
        let e = Schedule::parse("25:00=3:performance-q", UTC).unwrap_err();
        assert!(e.to_string().contains("25:00 is not a time of day"), "{e}");
        assert_eq!(e.example(), "07:00=3; 22:00=2; 03:00=1");
        let e = Schedule::parse("07:00=x:performance-m", UTC).unwrap_err();
        assert!(
            e.to_string()
                .ends_with(r#"quantity "x" is not a whole number 0-10000"#),
            "{e}"
        );
        assert_eq!(ScheduleError::Empty.example(), "07:00=3; 22:00=2; 03:00=1");
    }

    /// `n` distinct daily entries `HH:MM=q`.
    fn daily_entries(n: usize) -> String {
        (0..n)
            .map(|i| format!("{:02}:{:02}={}", (i / 60) % 24, i % 60, i % 5 + 1))
            .collect::<Vec<_>>()
            .join("; ")
    }

    #[test]
    fn entries_are_capped_before_any_is_parsed() {
        assert!(Schedule::parse(&daily_entries(MAX_ENTRIES), UTC).is_ok());
        let too_many = daily_entries(MAX_ENTRIES + 1);
        assert_eq!(
            Schedule::parse(&too_many, UTC).unwrap_err(),
            ScheduleError::TooMany {
                count: MAX_ENTRIES + 1
            }
        );
        assert_eq!(
            err(&too_many),
            format!("{} entries; at most {MAX_ENTRIES}", MAX_ENTRIES + 1)
        );
        // Empty pieces do not count; a bad entry past the cap is never looked at.
        let padded = format!("{};;;; ;", daily_entries(MAX_ENTRIES));
        assert!(Schedule::parse(&padded, UTC).is_ok());
        let huge = format!("{}; bad", daily_entries(10 * MAX_ENTRIES));
        let started = std::time::Instant::now();
        assert_eq!(
            Schedule::parse(&huge, UTC).unwrap_err(),
            ScheduleError::TooMany {
                count: 10 * MAX_ENTRIES + 1
            }
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn a_week_of_the_largest_schedule_is_linear() {
        // 1,000 daily entries: 7,000 edges a week. Merging them by scanning every entry per
        // edge took 98 s (debug build) in `plan`; through the heap it is one search per edge.
        let s = sched(&daily_entries(MAX_ENTRIES), Berlin);
        let started = std::time::Instant::now();
        let from = t(2026, 12, 1, 0, 0, 0);
        assert_eq!(s.next_edges(from, 7 * MAX_ENTRIES).len(), 7 * MAX_ENTRIES);
        let hours = s.dyno_hours_per_week(from);
        assert!(hours > 0.0);
        let calendar = crate::calendar::Calendar::without_holidays(std::sync::Arc::new(s));
        assert_eq!(
            calendar.next_edges(from, 7 * MAX_ENTRIES).len(),
            7 * MAX_ENTRIES
        );
        assert!((calendar.dyno_hours(from, from + Duration::days(7)) - hours).abs() < 1e-6);
        let took = started.elapsed();
        assert!(took < std::time::Duration::from_secs(10), "{took:?}");
    }

    #[test]
    fn ties_in_the_heap_resolve_to_the_later_entry() {
        // Three entries at one instant and one alone: the latest written wins, each fires once.
        let s = sched("0 7 * * *=1; 07:00=2; 07:30=4; 0 7 * * *=3", UTC);
        assert_eq!(
            s.next_edges(t(2026, 12, 1, 0, 0, 0), 4),
            vec![
                edge(t(2026, 12, 1, 7, 0, 0), 3, 3),
                edge(t(2026, 12, 1, 7, 30, 0), 4, 2),
                edge(t(2026, 12, 2, 7, 0, 0), 3, 3),
                edge(t(2026, 12, 2, 7, 30, 0), 4, 2),
            ]
        );
    }

    #[test]
    fn yearly_entry() {
        let s = sched("0 0 1 1 *=4", UTC);
        assert_eq!(s.floor(t(2026, 6, 15, 0, 0, 0)), None);
        assert_eq!(s.dyno_hours_per_week(t(2026, 6, 15, 0, 0, 0)), 0.0);
        assert!(s.next_edges(t(2026, 6, 15, 0, 0, 0), 0).is_empty());
        assert_eq!(
            s.next_edges(t(2026, 6, 15, 0, 0, 0), 2),
            vec![
                edge(t(2027, 1, 1, 0, 0, 0), 4, 0),
                edge(t(2028, 1, 1, 0, 0, 0), 4, 0),
            ]
        );
        // Fires 3 days into the week.
        assert_eq!(s.dyno_hours_per_week(t(2026, 12, 28, 0, 0, 0)), 4.0 * 72.0);
        // Fired 4 days before; floor lapses LOOKBACK_DAYS after the firing, on Jan 9.
        assert_eq!(
            s.floor(t(2027, 1, 9, 0, 0, 0)),
            Some(edge(t(2027, 1, 1, 0, 0, 0), 4, 0))
        );
        assert_eq!(s.floor(t(2027, 1, 9, 0, 0, 1)), None);
        assert_eq!(s.dyno_hours_per_week(t(2027, 1, 5, 0, 0, 0)), 4.0 * 96.0);
    }

    #[test]
    fn extreme_instants_do_not_panic() {
        let extremes = [
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
            t(1, 1, 1, 0, 0, 0),
            t(4999, 12, 31, 23, 59, 59),
            t(5000, 6, 1, 0, 0, 0),
            t(9999, 1, 1, 0, 0, 0),
        ];
        for tz in [UTC, Berlin, New_York, chrono_tz::Pacific::Kiritimati] {
            let s = sched("07:00=3; */7 * * * * *=2; 0 0 29 2 *=1", tz);
            for at in extremes {
                let _ = s.floor(at);
                let _ = s.next_edges(at, 3);
                let _ = s.next_firing(1, at);
                let _ = s.dyno_hours_per_week(at);
            }
        }
    }

    /// Deterministic xorshift, so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[(self.next() % items.len() as u64) as usize]
        }
    }

    #[test]
    fn garbage_does_not_panic() {
        let mut inputs: Vec<String> = [
            "",
            ";",
            ";;;",
            "=",
            "==",
            "=3",
            "3=",
            "a=b=c",
            "07:00=-1",
            "07:00=+1",
            "07:00=99999999999999999999999",
            "99:99=1",
            "7:0=1",
            "007:00=1",
            ":=1",
            ":00=1",
            "07:=1",
            "0 0 0 0 0=1",
            "* * * * * * *=1",
            "L L L L L=1",
            "0 0 L * *=1",
            "0 0 * * 5L=1",
            "0 0 * * 5#6=1",
            "0 0 * * 5#0=1",
            "0 0 32W * *=1",
            "/ / / / /=1",
            "*/0 * * * *=1",
            "1-0 * * * *=1",
            "59-0 * * * *=1",
            "０７:００=1",
            "07:00=３",
            "ö=1",
            "\u{0}=1",
            "\u{7f}\u{1b}[2J=1",
            "@daily=1",
            "@reboot=1",
            "@daily * * * *=1",
            "+ + + + +=1",
            "0 0 * * +=1",
            "0 0 * * #=1",
            "0 0 * * 1#=1",
            "0 0 * * #1=1",
            "-=1",
            "--=1",
            "0 0 W * *=1",
            "0 0 LW * *=1",
            "0 0 1W * *=1",
            "0 0 * * L=1",
            "0 0 * * 0L=1",
            "0 0 * * 7#5=1",
            "1,,2 * * * *=1",
            ",* * * * *=1",
            "*/ * * * *=1",
            "*/99999999999 * * * *=1",
            "4294967296 * * * *=1",
            "0 0 * * 1-7=1",
            "0 0 * * 7-1=1",
            "0 0 29 2 *=1",
            "0 0 29 2 +1=1",
            "0 0 31 2 +1=1",
            "? ? ? ? ?=1",
            "0 0 ? * ?=1",
            "0 0 * JAN-DEC SUN-SAT=1",
            "0 0 * FOO BAR=1",
            "-1 * * * *=1",
            "0-59/61 * * * * *=1",
            "*/1/2 * * * *=1",
            "0 0 L-3 * *=1",
            "0 0 * * L#2=1",
            "0 0 L/2 * *=1",
            "1-5-7 * * * *=1",
            "0 0 0W * *=1",
            "0 0 31W 2 *=1",
            "0 0 * * 6#5 =1",
            "0 0 * * 1,2,3,4,5,6,7,0=1",
            "\t\n\r=\t1",
            "💥=💥",
            "0 0 * * MONDAY=1",
            "0 0 * * SUNDAY-1=1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let atoms = [
            "*", "/", "-", ",", "L", "W", "#", "?", "+", "0", "1", "5", "7", "12", "23", "31",
            "59", "60", "99", "MON", "JAN", "@", ":", " ", " ", " ", "=", ";", "x",
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..3000 {
            let len = 1 + rng.next() % 24;
            let mut s: String = (0..len).map(|_| rng.pick(&atoms)).collect();
            if rng.next() & 1 == 0 {
                s.push_str("=2");
            }
            inputs.push(s);
        }
        // Well-formed shapes with random fields parse more often, and so get exercised.
        let field = [
            "*", "*/5", "0", "1-5", "L", "5L", "1#2", "15W", "LW", "0,30", "?", "7", "29", "2",
            "*/13", "3-1", "+1",
        ];
        for _ in 0..2000 {
            let n = 5 + rng.next() % 2;
            let fields: Vec<&str> = (0..n).map(|_| rng.pick(&field)).collect();
            inputs.push(format!("{}=1", fields.join(" ")));
        }
        let at = t(2026, 3, 29, 0, 30, 0);
        let mut parsed = 0;
        for input in &inputs {
            for tz in [UTC, Berlin] {
                match Schedule::parse(input, tz) {
                    Ok(s) => {
                        parsed += 1;
                        let _ = s.floor(at);
                        let _ = s.next_edges(at, 2);
                        let _ = s.describe();
                    }
                    Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
                }
            }
        }
        assert!(
            parsed > 100,
            "only {parsed} parsed; the generator is too weak"
        );
    }
}
