//! Holidays: which local dates are holidays (`AUTOSCALE_HOLIDAYS`), and the [`Calendar`] that
//! combines the normal schedule, the holiday schedule and those dates into one answer to "what
//! quantity applies at T" and "when is the next change".
//!
//! This module and [`ics`] are **pure**: no I/O, no clock reads (every instant is an argument),
//! no logging. [`feed`] fetches the iCalendar feeds and keeps their last good lists.
//!
//! # Rules
//!
//! * A holiday is a local date in the schedule's zone. On a holiday the holiday schedule applies
//!   from local 00:00 to 24:00; on any other day the normal schedule.
//! * Consecutive holidays form one *run*. At its start (00:00 of its first day) the holiday
//!   schedule's quantity in force at that instant takes over; at its end (00:00 of the first day
//!   after it) the normal schedule's quantity in force at that instant comes back. Inside a run
//!   only the holiday schedule's own firings are edges; outside, only the normal schedule's.
//! * When several edges fall on one instant, one is listed, carrying the quantity that applies
//!   (as [`Schedule::next_edges`] does); a run's start or end wins over a firing at the same
//!   instant, whose quantity it already includes.
//! * "00:00" follows schedule.rs's DST rules: a midnight that a spring-forward skips (Havana,
//!   Santiago) starts the day at the first instant after the gap; a midnight that a fall-back
//!   repeats starts it at its first occurrence.
//!
//! # Syntax of `AUTOSCALE_HOLIDAYS`
//!
//! Comma-separated items: a local date `2026-12-25`, an inclusive range `2026-12-24..2026-12-26`
//! (at most [`MAX_RANGE_DAYS`] days), or the `https://` URL of an iCalendar feed whose all-day
//! events are holidays (plain `http://` only to a loopback host).

pub mod feed;
pub mod ics;

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Duration, LocalResult, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use url::Url;

use crate::schedule::{self, Schedule, ScheduleError, LOOKBACK_DAYS};
use crate::size::Size;

/// At most this many items (dates, ranges and feeds) in `AUTOSCALE_HOLIDAYS`.
pub const MAX_ITEMS: usize = 200;

/// At most this many feeds.
pub const MAX_FEEDS: usize = 10;

/// A range covers at most this many days (a year, leap day included).
pub const MAX_RANGE_DAYS: i64 = 366;

/// A valid `AUTOSCALE_HOLIDAYS` value, for error messages.
pub const EXAMPLE: &str = "2026-12-25,2026-12-31..2027-01-01,https://example.com/holidays.ics";

/// Why `AUTOSCALE_HOLIDAYS` could not be parsed. `Display` is one line naming the bad item
/// (a URL redacted) and a valid example; the caller adds the variable's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HolidaysError {
    /// One item is malformed.
    #[error("item {position} {item:?}: {problem}")]
    Item {
        /// 1-based position among the non-empty items.
        position: usize,
        /// The item as it may be printed (a URL's credentials and query values redacted).
        item: String,
        /// What is wrong with it, with an example of a valid item.
        problem: String,
    },
    /// Too many items.
    #[error(
        "{count} items; at most {MAX_ITEMS} (a range such as 2026-12-24..2026-12-26 counts once)"
    )]
    TooManyItems { count: usize },
    /// Too many feeds.
    #[error("{count} feed URLs; at most {MAX_FEEDS}")]
    TooManyFeeds { count: usize },
}

/// What `AUTOSCALE_HOLIDAYS` lists: the dates written out, and the feeds to fetch.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HolidaySources {
    /// The dates and ranges, as holidays.
    pub dates: Holidays,
    /// Feed URLs, each once, in the order written. They may carry a secret (a private calendar's
    /// token): print them with [`crate::http::redact_url`].
    pub feeds: Vec<Url>,
}

impl fmt::Debug for HolidaySources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let feeds: Vec<String> = self.feeds.iter().map(crate::http::redact_url).collect();
        f.debug_struct("HolidaySources")
            .field("dates", &self.dates)
            .field("feeds", &feeds)
            .finish()
    }
}

impl HolidaySources {
    /// Parses `AUTOSCALE_HOLIDAYS` (see the module docs). Empty text means no holidays.
    pub fn parse(text: &str) -> Result<HolidaySources, HolidaysError> {
        let items: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if items.len() > MAX_ITEMS {
            return Err(HolidaysError::TooManyItems { count: items.len() });
        }
        let mut ranges = Vec::new();
        let mut feeds: Vec<Url> = Vec::new();
        for (index, raw) in items.iter().enumerate() {
            match parse_item(raw) {
                Ok(Item::Dates(first, last)) => ranges.push((first, last)),
                Ok(Item::Feed(url)) => {
                    if !feeds.contains(&url) {
                        feeds.push(url);
                    }
                }
                Err(problem) => {
                    return Err(HolidaysError::Item {
                        position: index + 1,
                        item: shown_item(raw),
                        problem,
                    })
                }
            }
        }
        if feeds.len() > MAX_FEEDS {
            return Err(HolidaysError::TooManyFeeds { count: feeds.len() });
        }
        Ok(HolidaySources {
            dates: Holidays::from_ranges(ranges),
            feeds,
        })
    }

    /// No dates and no feeds.
    pub fn is_empty(&self) -> bool {
        self.dates.is_empty() && self.feeds.is_empty()
    }
}

enum Item {
    Dates(NaiveDate, NaiveDate),
    Feed(Url),
}

/// Parses one non-empty, trimmed item; the error is the problem description.
fn parse_item(raw: &str) -> Result<Item, String> {
    if raw.contains("://") {
        return parse_feed_url(raw).map(Item::Feed);
    }
    if let Some((first, last)) = raw.split_once("..") {
        let bad = || "not a range of dates (FIRST..LAST, e.g. 2026-12-24..2026-12-26)".to_string();
        let first = parse_date(first.trim()).ok_or_else(bad)?;
        let last = parse_date(last.trim()).ok_or_else(bad)?;
        if last < first {
            return Err("ends before it starts (FIRST..LAST, e.g. 2026-12-24..2026-12-26)".into());
        }
        let days = (last - first).num_days() + 1;
        if days > MAX_RANGE_DAYS {
            return Err(format!(
                "covers {days} days; a range covers at most {MAX_RANGE_DAYS} (e.g. 2026-12-24..2026-12-26)"
            ));
        }
        return Ok(Item::Dates(first, last));
    }
    if let Some(date) = parse_date(raw) {
        return Ok(Item::Dates(date, date));
    }
    if raw.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("not a date (YYYY-MM-DD, e.g. 2026-12-25)".into());
    }
    Err("not a date (2026-12-25), a range (2026-12-24..2026-12-26) or the https:// URL of an iCalendar feed".into())
}

/// `YYYY-MM-DD` exactly (chrono alone would also take `2026-1-5`).
fn parse_date(text: &str) -> Option<NaiveDate> {
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// https anywhere; http only to a loopback host (tests, a local feed server).
fn parse_feed_url(raw: &str) -> Result<Url, String> {
    const EXAMPLE_URL: &str = "e.g. https://example.com/holidays.ics";
    let url = Url::parse(raw).map_err(|e| format!("not a URL ({e}; {EXAMPLE_URL})"))?;
    match url.scheme() {
        "https" => {}
        "http" if crate::http::is_loopback_host(&url) => {}
        "http" => {
            return Err(format!(
                "plain http is accepted only for loopback hosts (127.0.0.1, ::1, localhost); use https ({EXAMPLE_URL})"
            ))
        }
        "webcal" | "webcals" => {
            return Err(format!(
                "webcal:// is what calendar apps call https://; write the URL with https:// ({EXAMPLE_URL})"
            ))
        }
        other => return Err(format!("scheme {other:?} is not https ({EXAMPLE_URL})")),
    }
    // http(s) URLs always have a host: the url crate refuses them without one.
    Ok(url)
}

/// An item as it may appear in an error: anything that may be a URL is redacted.
fn shown_item(raw: &str) -> String {
    if raw.contains("://") || raw.contains('@') || raw.contains('?') {
        crate::http::redact_text(raw)
    } else {
        raw.to_string()
    }
}

// ---- holidays ---------------------------------------------------------------------------------

/// A set of local dates, kept as sorted runs of consecutive days.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Holidays {
    /// Sorted, disjoint and not adjacent: two runs are always separated by a working day.
    runs: Vec<Run>,
}

/// Consecutive holidays, `first` to `last` inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Run {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl fmt::Debug for Holidays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let runs: Vec<String> = self
            .runs
            .iter()
            .map(|r| {
                if r.first == r.last {
                    r.first.to_string()
                } else {
                    format!("{}..{}", r.first, r.last)
                }
            })
            .collect();
        write!(f, "Holidays[{}]", runs.join(", "))
    }
}

impl FromIterator<NaiveDate> for Holidays {
    fn from_iter<I: IntoIterator<Item = NaiveDate>>(dates: I) -> Holidays {
        Holidays::from_ranges(dates.into_iter().map(|d| (d, d)))
    }
}

impl Holidays {
    /// The union of inclusive ranges `(first, last)`; a reversed range counts as its two ends'
    /// span.
    pub fn from_ranges(ranges: impl IntoIterator<Item = (NaiveDate, NaiveDate)>) -> Holidays {
        let mut runs: Vec<Run> = ranges
            .into_iter()
            .map(|(a, b)| Run {
                first: a.min(b),
                last: a.max(b),
            })
            .collect();
        runs.sort_unstable();
        let mut merged: Vec<Run> = Vec::with_capacity(runs.len());
        for run in runs {
            match merged.last_mut() {
                // Overlapping or adjacent (the day after `last` is `run.first`): one run.
                Some(prev) if prev.last.succ_opt().is_none_or(|next| run.first <= next) => {
                    prev.last = prev.last.max(run.last);
                }
                _ => merged.push(run),
            }
        }
        Holidays { runs: merged }
    }

    /// Every date of both sets.
    pub fn union(&self, other: &Holidays) -> Holidays {
        let ranges = self.runs.iter().chain(&other.runs);
        Holidays::from_ranges(ranges.map(|r| (r.first, r.last)))
    }

    /// Whether `date` is a holiday.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.run_containing(date).is_some()
    }

    /// The runs of consecutive holidays, in date order.
    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    /// No holidays at all.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The number of holidays (days).
    pub fn len(&self) -> usize {
        self.runs
            .iter()
            .map(|r| (r.last - r.first).num_days() as usize + 1)
            .sum()
    }

    /// Every holiday, in order.
    pub fn dates(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.runs.iter().flat_map(|r| days(r.first, r.last))
    }

    /// The holidays on or after `from`, in order (`check` lists the next few).
    pub fn upcoming(&self, from: NaiveDate) -> impl Iterator<Item = NaiveDate> + '_ {
        let index = self.runs.partition_point(|r| r.last < from);
        self.runs[index..]
            .iter()
            .flat_map(move |r| days(r.first.max(from), r.last))
    }

    /// The run that `date` belongs to.
    fn run_containing(&self, date: NaiveDate) -> Option<Run> {
        let index = self.runs.partition_point(|r| r.last < date);
        self.runs.get(index).copied().filter(|r| r.first <= date)
    }

    /// The latest run that ends before `date`.
    fn last_run_before(&self, date: NaiveDate) -> Option<Run> {
        let index = self.runs.partition_point(|r| r.last < date);
        index.checked_sub(1).map(|i| self.runs[i])
    }

    /// The first run that starts after `date`.
    fn first_run_after(&self, date: NaiveDate) -> Option<Run> {
        let index = self.runs.partition_point(|r| r.first <= date);
        self.runs.get(index).copied()
    }
}

/// `first` to `last` inclusive (chrono's `iter_days` never yields `NaiveDate::MAX`).
fn days(first: NaiveDate, last: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    std::iter::successors(Some(first), |d| d.succ_opt()).take_while(move |d| *d <= last)
}

// ---- the calendar -----------------------------------------------------------------------------

/// The holiday schedule when `AUTOSCALE_HOLIDAY_SCHEDULE` is not set: the normal schedule's
/// smallest quantity, all day (`00:00=N`), in the normal schedule's zone.
pub fn default_holiday_schedule(normal: &Schedule) -> Schedule {
    let smallest = normal
        .entries()
        .iter()
        .map(|e| e.quantity)
        .min()
        .unwrap_or(0);
    Schedule::parse(&format!("00:00={smallest}"), normal.tz())
        .expect("00:00=N with N taken from a parsed schedule is a valid schedule")
}

/// The holiday schedule: `text` (`AUTOSCALE_HOLIDAY_SCHEDULE`) read in the normal schedule's
/// zone, or [`default_holiday_schedule`] when it is not set.
pub fn holiday_schedule(text: Option<&str>, normal: &Schedule) -> Result<Schedule, ScheduleError> {
    match text {
        Some(text) => Schedule::parse(text, normal.tz()),
        None => Ok(default_holiday_schedule(normal)),
    }
}

/// The normal schedule, the holiday schedule and the holidays: what applies when.
///
/// Cheap to build (three `Arc`s), so the reconciler can build one per round from the feeds'
/// latest snapshot.
#[derive(Debug, Clone)]
pub struct Calendar {
    normal: Arc<Schedule>,
    holiday: Arc<Schedule>,
    holidays: Arc<Holidays>,
}

/// What an edge is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// An entry of the normal schedule fired on a working day (0-based index of the entry).
    Normal { entry: usize },
    /// An entry of the holiday schedule fired on a holiday.
    Holiday { entry: usize },
    /// 00:00 of a run's first holiday: the holiday schedule takes over.
    HolidayStart,
    /// 00:00 of the first working day after a run: the normal schedule comes back.
    HolidayEnd,
}

/// An instant at which the calendar sets a quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub at: DateTime<Utc>,
    /// The quantity that applies from `at` on.
    pub quantity: u32,
    /// The size the schedule names from `at` on (None: the formation's stays).
    pub size: Option<Size>,
    pub kind: EdgeKind,
}

impl Edge {
    /// Whether the edge sets a holiday's quantity (a holiday schedule's firing or a run's start).
    pub fn holiday(&self) -> bool {
        matches!(self.kind, EdgeKind::Holiday { .. } | EdgeKind::HolidayStart)
    }
}

impl Calendar {
    /// `holiday` should be read in `normal`'s zone (as [`holiday_schedule`] does): holidays are
    /// local dates in `normal`'s zone.
    pub fn new(normal: Arc<Schedule>, holiday: Arc<Schedule>, holidays: Arc<Holidays>) -> Calendar {
        Calendar {
            normal,
            holiday,
            holidays,
        }
    }

    /// `normal` with no holidays: its floor is the schedule's.
    pub fn without_holidays(normal: Arc<Schedule>) -> Calendar {
        let holiday = Arc::new(default_holiday_schedule(&normal));
        Calendar::new(normal, holiday, Arc::new(Holidays::default()))
    }

    /// These holidays and this holiday schedule under another normal schedule (one a `start`
    /// line gives for a configured target).
    pub fn with_normal(&self, normal: Arc<Schedule>) -> Calendar {
        Calendar::new(normal, self.holiday.clone(), self.holidays.clone())
    }

    /// The zone holidays are local dates in.
    pub fn tz(&self) -> Tz {
        self.normal.tz()
    }

    pub fn normal_schedule(&self) -> &Schedule {
        &self.normal
    }

    pub fn holiday_schedule(&self) -> &Schedule {
        &self.holiday
    }

    pub fn holidays(&self) -> &Holidays {
        &self.holidays
    }

    /// The local date of `at` in the calendar's zone.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        local_date(self.tz(), at)
    }

    /// Whether `at` falls on a holiday (the holiday schedule applies).
    pub fn is_holiday(&self, at: DateTime<Utc>) -> bool {
        self.holidays.contains(self.local_date(at))
    }

    /// The edge in force at `at`: its quantity is what should run now, its instant is when that
    /// was decided (a firing, or a run's start or end). None when the applicable schedule has
    /// not fired within [`LOOKBACK_DAYS`] (as [`Schedule::floor`]).
    pub fn floor(&self, at: DateTime<Utc>) -> Option<Edge> {
        let date = self.local_date(at);
        if let Some(run) = self.holidays.run_containing(date) {
            let fired = self.holiday.floor(at)?;
            return Some(match self.start_of_day(run.first) {
                Some(start) if fired.at <= start => Edge {
                    at: start,
                    quantity: fired.quantity,
                    size: fired.size,
                    kind: EdgeKind::HolidayStart,
                },
                _ => Edge {
                    at: fired.at,
                    quantity: fired.quantity,
                    size: fired.size,
                    kind: EdgeKind::Holiday { entry: fired.entry },
                },
            });
        }
        let fired = self.normal.floor(at)?;
        let end = self
            .holidays
            .last_run_before(date)
            .and_then(|run| run.last.succ_opt())
            .and_then(|day| self.start_of_day(day));
        Some(match end {
            Some(end) if fired.at <= end => Edge {
                at: end,
                quantity: fired.quantity,
                size: fired.size,
                kind: EdgeKind::HolidayEnd,
            },
            _ => Edge {
                at: fired.at,
                quantity: fired.quantity,
                size: fired.size,
                kind: EdgeKind::Normal { entry: fired.entry },
            },
        })
    }

    /// The next edge strictly after `at`: when the reconciler should wake next. Costs a few
    /// cron searches and a binary search over the holidays.
    pub fn next_edge_after(&self, at: DateTime<Utc>) -> Option<Edge> {
        self.breakpoints(at).find_map(|b| b.edge())
    }

    /// The next `n` edges strictly after `after`, in time order: every firing of the schedule
    /// that applies on its day, whether or not it changes the quantity, and each run's start and
    /// end (see the module docs for ties).
    pub fn next_edges(&self, after: DateTime<Utc>, n: usize) -> Vec<Edge> {
        self.breakpoints(after)
            .filter_map(|b| b.edge())
            .take(n)
            .collect()
    }

    /// Dyno-hours between `from` and `to` if the process ran at floor(t) all the time
    /// (integrate floor over [from, to); time with no floor counts 0). Exact: walks the edges.
    /// The typical week stays [`Schedule::dyno_hours_per_week`] of the normal schedule.
    pub fn dyno_hours(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
        let lookback = Duration::days(LOOKBACK_DAYS);
        // Quantity × nanoseconds: a span with a quantity lasts at most LOOKBACK_DAYS.
        let mut total: i128 = 0;
        let mut add = |fired: Option<schedule::Edge>, start: DateTime<Utc>, stop: DateTime<Utc>| {
            if let Some(fired) = fired {
                // floor(t) lapses LOOKBACK_DAYS after the firing, as in the schedule.
                let stop = fired
                    .at
                    .checked_add_signed(lookback)
                    .map_or(stop, |lapses| stop.min(lapses));
                let nanos = (stop - start).num_nanoseconds().unwrap_or(0).max(0);
                total += i128::from(fired.quantity) * i128::from(nanos);
            }
        };
        let mut fired = self.applicable_floor(from);
        let mut since = from;
        for point in self.breakpoints(from) {
            if point.at >= to {
                break;
            }
            add(fired, since, point.at);
            fired = point.fired;
            since = point.at;
        }
        add(fired, since, to);
        total as f64 / 3_600_000_000_000.0
    }

    /// The latest firing, at or before `at`, of the schedule that applies at `at`.
    fn applicable_floor(&self, at: DateTime<Utc>) -> Option<schedule::Edge> {
        if self.is_holiday(at) {
            self.holiday.floor(at)
        } else {
            self.normal.floor(at)
        }
    }

    fn breakpoints(&self, after: DateTime<Utc>) -> Breakpoints<'_> {
        Breakpoints {
            calendar: self,
            after,
            normal: None,
            holiday: None,
            boundary: None,
            normal_firings: None,
            holiday_firings: None,
        }
    }

    /// The first instant of local `date` (see the module docs for DST). None only at the ends
    /// of chrono's range.
    fn start_of_day(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        start_of_day(self.tz(), date)
    }

    /// The normal schedule's next firing on a working day, from `firings` (the normal
    /// schedule's firings after some instant, started again past a run of holidays).
    fn next_workday_firing<'a>(
        &'a self,
        firings: &mut schedule::Edges<'a>,
    ) -> Option<schedule::Edge> {
        // Each round skips one run, so this ends.
        for _ in 0..=self.holidays.runs.len() {
            let edge = firings.next()?;
            let Some(run) = self.holidays.run_containing(self.local_date(edge.at)) else {
                return Some(edge);
            };
            let end = self.start_of_day(run.last.succ_opt()?)?;
            *firings = self.normal.edges_after(just_before(end)?.max(edge.at));
        }
        None
    }

    /// The holiday schedule's next firing strictly after `after` on a holiday, from `firings`
    /// (the holiday schedule's firings after `after`, created at the first search).
    fn next_holiday_firing<'a>(
        &'a self,
        after: DateTime<Utc>,
        firings: &mut Option<schedule::Edges<'a>>,
    ) -> Option<schedule::Edge> {
        // The common case, holidays all past (or none): no search at all.
        let last = self.holidays.runs.last()?.last;
        if self.local_date(after) > last {
            return None;
        }
        let firings = firings.get_or_insert_with(|| self.holiday.edges_after(after));
        for _ in 0..=self.holidays.runs.len() {
            let edge = firings.next()?;
            let date = self.local_date(edge.at);
            if self.holidays.contains(date) {
                return Some(edge);
            }
            let run = self.holidays.first_run_after(date)?;
            let start = self.start_of_day(run.first)?;
            *firings = self.holiday.edges_after(just_before(start)?.max(edge.at));
        }
        None
    }

    /// The first start or end of a run strictly after `after`.
    fn next_boundary(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // A run that ended before `after`'s day has both boundaries at or before `after`.
        let date = self.local_date(after);
        let index = self.holidays.runs.partition_point(|r| r.last < date);
        self.holidays.runs[index..]
            .iter()
            .flat_map(|run| [Some(run.first), run.last.succ_opt()])
            .flatten()
            .filter_map(|day| self.start_of_day(day))
            .find(|at| *at > after)
    }
}

/// The local date of `at` in `tz`. At the ends of chrono's range, where the local time cannot
/// be represented (chrono's own conversion panics there), the UTC date.
pub(crate) fn local_date(tz: Tz, at: DateTime<Utc>) -> NaiveDate {
    let offset = tz.offset_from_utc_datetime(&at.naive_utc()).fix();
    at.naive_utc()
        .checked_add_offset(offset)
        .map_or_else(|| at.date_naive(), |local| local.date())
}

/// The instant 1 ns before `at`: "strictly after" it means "at or after `at`" for firings, which
/// fall on whole seconds.
fn just_before(at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    at.checked_sub_signed(Duration::nanoseconds(1))
}

/// The first instant of local `date` in `tz`: local 00:00, its first occurrence when a fall-back
/// repeats it, or the first instant after the gap when a spring-forward skips it. A date a zone
/// skipped entirely (Samoa's 2011-12-30) starts when the next one does.
fn start_of_day(tz: Tz, date: NaiveDate) -> Option<DateTime<Utc>> {
    let midnight = date.and_hms_opt(0, 0, 0)?;
    match tz.from_local_datetime(&midnight) {
        LocalResult::Single(at) => Some(at.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => first_instant_on_or_after(tz, date, midnight.and_utc().timestamp()),
    }
}

/// The first whole second whose local date is `date` or later, by bisection: UTC offsets are
/// within 26 hours, so it lies within 30 hours of `midnight_seconds` (local midnight read as
/// UTC): the local date 30 hours before is earlier and 30 hours after is later.
fn first_instant_on_or_after(
    tz: Tz,
    date: NaiveDate,
    midnight_seconds: i64,
) -> Option<DateTime<Utc>> {
    const REACH: i64 = 30 * 3600;
    let date_at = |seconds: i64| DateTime::from_timestamp(seconds, 0).map(|at| local_date(tz, at));
    let mut before = midnight_seconds.checked_sub(REACH)?;
    let mut on = midnight_seconds.checked_add(REACH)?;
    while on - before > 1 {
        let mid = before + (on - before) / 2;
        if date_at(mid)? >= date {
            on = mid;
        } else {
            before = mid;
        }
    }
    DateTime::from_timestamp(on, 0)
}

/// An instant at which the calendar's quantity may change.
#[derive(Debug, Clone, Copy)]
struct Breakpoint {
    at: DateTime<Utc>,
    kind: EdgeKind,
    /// The firing whose quantity applies from `at` on (for a run's start or end, the applicable
    /// schedule's floor then); None when nothing fired within LOOKBACK_DAYS.
    fired: Option<schedule::Edge>,
}

impl Breakpoint {
    fn edge(&self) -> Option<Edge> {
        self.fired.map(|fired| Edge {
            at: self.at,
            quantity: fired.quantity,
            size: fired.size,
            kind: self.kind,
        })
    }
}

/// Merges the three sources of breakpoints in time order. Each source's next candidate is
/// kept until it is used, and each schedule's firings are followed (not searched again from
/// scratch), so a step costs one search of the entry that fired.
struct Breakpoints<'a> {
    calendar: &'a Calendar,
    after: DateTime<Utc>,
    /// `Some(candidate)` once searched; the candidate is None when the source has no more.
    normal: Option<Option<schedule::Edge>>,
    holiday: Option<Option<schedule::Edge>>,
    boundary: Option<Option<DateTime<Utc>>>,
    /// Each schedule's firings, once the first candidate was searched.
    normal_firings: Option<schedule::Edges<'a>>,
    holiday_firings: Option<schedule::Edges<'a>>,
}

impl<'a> Iterator for Breakpoints<'a> {
    type Item = Breakpoint;

    fn next(&mut self) -> Option<Breakpoint> {
        let calendar: &'a Calendar = self.calendar;
        let after = self.after;
        let normal = match self.normal {
            Some(candidate) => candidate,
            None => {
                let firings = self
                    .normal_firings
                    .get_or_insert_with(|| calendar.normal.edges_after(after));
                *self.normal.insert(calendar.next_workday_firing(firings))
            }
        };
        let holiday = match self.holiday {
            Some(candidate) => candidate,
            None => *self
                .holiday
                .insert(calendar.next_holiday_firing(after, &mut self.holiday_firings)),
        };
        let boundary = *self
            .boundary
            .get_or_insert_with(|| calendar.next_boundary(after));
        let normal_at = normal.map(|e| e.at);
        let holiday_at = holiday.map(|e| e.at);
        let at = [normal_at, holiday_at, boundary]
            .into_iter()
            .flatten()
            .min()?;
        // Everything at `at` is used up; the next step searches again from `at`.
        if normal_at == Some(at) {
            self.normal = None;
        }
        if holiday_at == Some(at) {
            self.holiday = None;
        }
        if boundary == Some(at) {
            self.boundary = None;
        }
        self.after = at;
        let point = if boundary == Some(at) {
            // A run's start or end: which one is decided by the day it opens, so that a run
            // ending where the next starts (a skipped day) still gives the right quantity.
            if calendar.is_holiday(at) {
                Breakpoint {
                    at,
                    kind: EdgeKind::HolidayStart,
                    fired: calendar.holiday.floor(at),
                }
            } else {
                Breakpoint {
                    at,
                    kind: EdgeKind::HolidayEnd,
                    fired: calendar.normal.floor(at),
                }
            }
        } else if let Some(edge) = normal.filter(|e| e.at == at) {
            Breakpoint {
                at,
                kind: EdgeKind::Normal { entry: edge.entry },
                fired: Some(edge),
            }
        } else {
            let edge = holiday.filter(|e| e.at == at)?;
            Breakpoint {
                at,
                kind: EdgeKind::Holiday { entry: edge.entry },
                fired: Some(edge),
            }
        };
        Some(point)
    }
}

#[cfg(test)]
mod tests;
