//! `autoscale suggest`: a schedule written by recorded traffic, and what it costs next to the
//! current one. Pure: no I/O, no clock; the caller reads the traffic and prints the result.
//!
//! # From traffic to a need per hour of the week
//!
//! The traffic is one target's [`Minute`]s, in any order, with gaps. Each minute belongs to the
//! local hour of the week it falls in (weekday × hour in the zone, so DST is respected: the
//! repeated hour of a fall-back night gets two hours of minutes, the skipped one none). An
//! hour's `busy` is the 95th percentile (nearest rank) of its minutes' `busy`, and the dynos it
//! needs are `ceil(busy × (1 + headroom) / (concurrency × utilization))` within `[min, max]`
//! ([`crate::policy::dynos_for`], the daemon's own arithmetic).
//!
//! "No traffic" and "no data" look the same in the input: the daemon writes a minute only when
//! it saw a request. So the traffic's span (its first minute to its last) is taken as recorded,
//! and every minute of it without a figure counts as quiet (`busy` 0). A stretch of a day or more
//! without a single request is warned about: if the recording stopped there, the need is too low.
//! Hours of the week the span does not cover (under 7 days of traffic) borrow the same hour of
//! the days it does.
//!
//! # From needs to a schedule
//!
//! One week of traffic gives each hour of the week 60 minutes, so its p95 is noisy: Tuesday's
//! 10:00 needs 7 where Monday's needs 6, and an exact schedule has an entry for every such
//! difference. So first the needs may be raised — never lowered — where that spares entries,
//! within a budget of extra dyno-hours (`simplify`, 10 % by default): days are aligned hour by
//! hour (so Monday to Friday share their entries, which also covers next week's Tuesday with
//! this week's Monday), and short steps and dips are filled. See `simplify`.
//!
//! The result becomes a quantity for every minute of the week, with the tutorial's wiggle room:
//! scale out `lead` before a rise, scale in `lag` after a fall. That is a running maximum — the
//! quantity at `t` is the largest need in `[t - lag, t + lead]` — so it is never below the need,
//! and a dip shorter than `lead + lag` disappears. Each change of that quantity is one firing;
//! firings at the same time of day with the same quantity share an entry, whose days become a
//! cron day-of-week list (`45 7 * * 1-5=4`), or an `HH:MM` entry when every day has it. Entries
//! are sorted by time of day, which also settles a spring-forward night: firings in the skipped
//! hour all fire when it ends, and the schedule lets the later entry of the list win.
//!
//! # What it costs
//!
//! Dyno-hours are integrated by [`Schedule::dyno_hours_per_week`] over the 7 days from the
//! traffic's start, for the suggestion and the current schedule alike; the baselines are the
//! suggestion's peak all week (what a team runs without a schedule, as `plan` measures) and
//! `max` all week. The current schedule is also compared hour by hour over the 14 days from the
//! traffic's start (so a DST change cannot hide an hour): its lowest floor in each hour of the
//! week against that hour's need.
//!
//! # Layout
//!
//! [`estimate`] turns the traffic into needs per hour (and reads the current schedule's floors),
//! [`optimize`] turns needs into a schedule, [`render`] writes the suggestion out; this file
//! holds the options, the result types and [`suggest`], which runs the three in order.

use std::time::Duration;

use chrono::TimeDelta;
use chrono_tz::Tz;
use serde::{Serialize, Serializer};

use crate::calendar::Calendar;
use crate::schedule::{Schedule, MAX_QUANTITY};
use crate::traffic::minute::Minute;

mod estimate;
mod optimize;
mod render;
#[cfg(test)]
mod tests;

use estimate::{dynos_wanted, lowest_by_hour, p95_by_hour, warnings, weekday_name, Recorded};
use optimize::{schedule_text, shape, simplify, whole_minutes};
use render::{plural, rfc3339, round_to};
pub use render::{render_json, render_text};

const DAY_MINUTES: i64 = 1_440;
const WEEK_MINUTES: i64 = 7 * DAY_MINUTES;
const HOURS_PER_WEEK: usize = 168;

/// Less traffic than a day gives no suggestion: a day is the least that shows a daily shape.
pub const MIN_SPAN: TimeDelta = TimeDelta::days(1);

/// Less traffic than a week is warned about: only a week shows the weekly shape.
pub const FULL_SPAN: TimeDelta = TimeDelta::days(7);

/// The longest span of traffic read (the work is one step a minute of it).
pub const MAX_SPAN: TimeDelta = TimeDelta::days(366);

/// A minute claiming more requests in service than this is damaged and ignored.
pub const MAX_BUSY: f64 = 1e9;

/// The largest headroom (10 = 1000 % on top of the need).
pub const MAX_HEADROOM: f64 = 10.0;

/// The largest `simplify` (1 = up to twice the exact needs' dyno-hours).
pub const MAX_SIMPLIFY: f64 = 1.0;

/// The largest `lead` or `lag`.
pub const MAX_SHIFT: Duration = Duration::from_secs(86_400);

/// The largest concurrency (as AUTOSCALE_CONCURRENCY).
pub const MAX_CONCURRENCY: u32 = 10_000;

/// The largest price per dyno-hour.
pub use crate::args::MAX_PRICE;

/// A stretch without a single request this long is warned about.
const LONG_QUIET: TimeDelta = TimeDelta::days(1);

/// The current schedule is compared over this many days from the traffic's start: two weeks,
/// so that every hour of the week is met even when a spring-forward skips one.
const COMPARE_DAYS: i64 = 14;

/// Edges read from the current schedule at a time.
const EDGE_CHUNK: usize = 1024;

/// Weeks in an average month (365.25 / 12 / 7), as `plan` counts them.
const WEEKS_PER_MONTH: f64 = 4.348;

/// How the traffic becomes a schedule. [`Options::new`] has the defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Options {
    /// Requests one dyno serves at once (AUTOSCALE_CONCURRENCY).
    pub concurrency: u32,
    /// The busy share of that capacity to aim at (AUTOSCALE_UTILIZATION), above 0, at most 1.
    pub utilization: f64,
    /// An extra share on top of the need: 0.2 = 20 % more.
    pub headroom: f64,
    /// Scale out this long before a rise (rounded up to whole minutes).
    #[serde(serialize_with = "humantime_duration")]
    pub lead: Duration,
    /// Scale in this long after a fall (rounded up to whole minutes).
    #[serde(serialize_with = "humantime_duration")]
    pub lag: Duration,
    /// The share of extra dyno-hours the schedule may spend to have fewer entries: 0.1 lets it
    /// run up to 10 % more than the exact needs where that spares entries (noise in the traffic
    /// otherwise makes every day a little different); 0 follows the needs exactly.
    pub simplify: f64,
    /// Never fewer dynos than this.
    pub min: u32,
    /// Never more dynos than this; None = no limit but the schedule's own (10000).
    pub max: Option<u32>,
    /// Price of a dyno-hour, for costs.
    pub price: Option<f64>,
}

impl Options {
    /// The defaults for dynos serving `concurrency` requests at once: utilization 0.7, no
    /// headroom, lead 15 minutes, lag 30 minutes, simplify 0.1, min 1, no max, no price.
    pub fn new(concurrency: u32) -> Options {
        Options {
            concurrency,
            utilization: 0.7,
            headroom: 0.0,
            lead: Duration::from_secs(15 * 60),
            lag: Duration::from_secs(30 * 60),
            simplify: 0.1,
            min: 1,
            max: None,
            price: None,
        }
    }

    fn validate(&self) -> Result<(), SuggestError> {
        let bad = |name: &'static str, value: String, problem: String| {
            Err(SuggestError::BadOption {
                name,
                value,
                problem,
            })
        };
        if !(1..=MAX_CONCURRENCY).contains(&self.concurrency) {
            return bad(
                "concurrency",
                self.concurrency.to_string(),
                format!("must be a whole number from 1 to {MAX_CONCURRENCY}"),
            );
        }
        if !(self.utilization > 0.0 && self.utilization <= 1.0) {
            return bad(
                "utilization",
                self.utilization.to_string(),
                "must be a share above 0 and at most 1 (0.7)".to_owned(),
            );
        }
        if !(0.0..=MAX_HEADROOM).contains(&self.headroom) {
            return bad(
                "headroom",
                self.headroom.to_string(),
                format!("must be a share from 0 to {MAX_HEADROOM} (0.2 = 20 % more)"),
            );
        }
        if !(0.0..=MAX_SIMPLIFY).contains(&self.simplify) {
            return bad(
                "simplify",
                self.simplify.to_string(),
                format!("must be a share from 0 to {MAX_SIMPLIFY} (0.1 = up to 10 % more)"),
            );
        }
        for (name, shift) in [("lead", self.lead), ("lag", self.lag)] {
            if shift > MAX_SHIFT {
                return bad(
                    name,
                    humantime::format_duration(shift).to_string(),
                    "must be at most 1 day (15m)".to_owned(),
                );
            }
        }
        if self.min > MAX_QUANTITY {
            return bad(
                "min",
                self.min.to_string(),
                format!("must be a whole number from 0 to {MAX_QUANTITY}"),
            );
        }
        if let Some(max) = self.max {
            if max > MAX_QUANTITY || max < self.min {
                return bad(
                    "max",
                    max.to_string(),
                    format!(
                        "must be a whole number from min ({}) to {MAX_QUANTITY}",
                        self.min
                    ),
                );
            }
        }
        if let Some(price) = self.price {
            if !(0.0..=MAX_PRICE).contains(&price) {
                return bad(
                    "price",
                    price.to_string(),
                    format!("must be a number from 0 to {MAX_PRICE} (0.05)"),
                );
            }
        }
        Ok(())
    }
}

fn humantime_duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_duration(*d))
}

/// Why there is no suggestion. `Display` is one line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SuggestError {
    #[error("no usable traffic for this target{}: suggest needs at least a day of it", ignored_note(*.ignored))]
    NoTraffic {
        /// Minutes ignored for a damaged `busy`.
        ignored: usize,
    },
    #[error("suggest needs at least a day of traffic; this traffic spans {span} ({from} to {to})")]
    TooShort {
        span: String,
        from: String,
        to: String,
    },
    #[error("this traffic spans {span} ({from} to {to}); suggest reads at most 366 days (narrow the inputs or --since)")]
    TooLong {
        span: String,
        from: String,
        to: String,
    },
    #[error("{name} {value}: {problem}")]
    BadOption {
        name: &'static str,
        value: String,
        problem: String,
    },
    /// A suggestion that does not parse as a schedule: a bug, reported rather than panicked on.
    #[error("the suggested schedule {schedule:?} does not parse ({problem}); this is a bug, please report it")]
    Unparsable { schedule: String, problem: String },
}

fn ignored_note(ignored: usize) -> String {
    match ignored {
        0 => String::new(),
        n => format!(
            " ({n} minute{} with a damaged busy figure ignored)",
            plural(n)
        ),
    }
}

/// A schedule suggested by the traffic, with the figures it came from and what it costs.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    /// The suggested schedule (AUTOSCALE_SCHEDULE), in canonical form.
    pub schedule: String,
    /// The zone it is read in (AUTOSCALE_TZ), also the zone of the hours below.
    pub tz: String,
    /// The current schedule, canonical, when one was given.
    pub current: Option<String>,
    pub traffic: TrafficSpan,
    pub options: Options,
    /// The most dynos the suggestion runs.
    pub peak: u32,
    pub dyno_hours_per_week: DynoHours,
    pub cost: Option<Costs>,
    /// The 168 hours of the week, Monday 00:00 first, in the zone.
    pub hours: Vec<HourNeed>,
    /// The hours where the current schedule runs fewer dynos than the traffic needed.
    pub short: Vec<ShortHour>,
    pub warnings: Vec<String>,
    /// What the busy figures count, as the table says it: "requests in service" for a web's
    /// traffic, "job slots" for a worker's queue minutes.
    #[serde(skip)]
    pub busy_of: &'static str,
    #[serde(skip)]
    parsed: Schedule,
}

/// The traffic a suggestion was made from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrafficSpan {
    /// The first minute's start, RFC 3339 UTC.
    pub from: String,
    /// The last minute's end.
    pub to: String,
    /// Minutes in the span, quiet ones included.
    pub minutes: u64,
    /// Minutes with a figure (at least one request).
    pub minutes_with_traffic: u64,
    /// Minutes ignored for a damaged `busy` (not a number, negative, above [`MAX_BUSY`]).
    pub ignored: u64,
}

/// One hour of the week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HourNeed {
    /// `Mon` … `Sun`.
    pub weekday: String,
    /// 0-23, local.
    pub hour: u32,
    /// Minutes of the traffic in this hour; 0 = none, the figures are borrowed from the same
    /// hour of the other days.
    pub minutes: u64,
    /// The 95th percentile of the minutes' busy (requests in service), quiet minutes as 0.
    pub busy_p95: f64,
    /// Dynos needed, within [min, max].
    pub needed: u32,
    /// The fewest dynos the current schedule runs in this hour (when one was given).
    pub current: Option<u32>,
}

/// An hour where the current schedule runs fewer dynos than needed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShortHour {
    pub weekday: String,
    pub hour: u32,
    pub needed: u32,
    pub current: u32,
}

/// Dyno-hours of a week.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DynoHours {
    pub suggested: f64,
    pub current: Option<f64>,
    /// The suggestion's peak all week.
    pub at_peak: f64,
    /// `max` all week, when a max was given.
    pub at_max: Option<f64>,
}

/// Money at a price per dyno-hour.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Costs {
    pub price_per_dyno_hour: f64,
    /// The price is the current schedule's average list price per dyno-hour (its sizes at
    /// Heroku's list prices), not `--price`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub list_prices: bool,
    pub suggested: Money,
    pub current: Option<Money>,
    pub at_peak: Money,
    pub at_max: Option<Money>,
}

/// An amount per week and per (average) month.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Money {
    pub per_week: f64,
    pub per_month: f64,
}

impl Money {
    fn of(price: f64, hours: f64) -> Money {
        Money {
            per_week: round_to(price * hours, 100.0),
            per_month: round_to(price * hours * WEEKS_PER_MONTH, 100.0),
        }
    }
}

impl Suggestion {
    /// The suggested schedule, parsed (for `replay`).
    pub fn parsed(&self) -> &Schedule {
        &self.parsed
    }
}

/// Suggests a schedule for one target from its traffic `minutes` (any order, gaps allowed;
/// a minute given twice counts once, with its larger busy), read in zone `tz`, compared with
/// the `current` schedule when given.
pub fn suggest(
    minutes: &[Minute],
    tz: Tz,
    current: Option<&Calendar>,
    options: &Options,
) -> Result<Suggestion, SuggestError> {
    options.validate()?;
    let traffic = Recorded::read(minutes)?;
    let mut by_hour = traffic.by_hour(tz);
    let seen: Vec<u64> = by_hour.iter().map(|v| v.len() as u64).collect();
    let busy = p95_by_hour(&mut by_hour);

    let wanted: Vec<u32> = busy.iter().map(|&b| dynos_wanted(b, options)).collect();
    let max = options.max.unwrap_or(MAX_QUANTITY);
    let needed: Vec<u32> = wanted
        .iter()
        .map(|&w| w.max(options.min).min(max))
        .collect();

    let needed_dyno_hours: u64 = needed.iter().map(|&n| u64::from(n)).sum();
    let budget = (needed_dyno_hours as f64 * options.simplify) as u64;
    let planned = simplify(&needed, budget);
    let week = shape(
        &planned,
        whole_minutes(options.lead),
        whole_minutes(options.lag),
    );
    let schedule = schedule_text(&week);
    let parsed = Schedule::parse(&schedule, tz).map_err(|e| SuggestError::Unparsable {
        schedule: schedule.clone(),
        problem: e.to_string(),
    })?;
    let peak = needed.iter().copied().max().unwrap_or(0);

    let from = traffic.first;
    let lowest = current.map(|c| lowest_by_hour(c, tz, from));
    let hours: Vec<HourNeed> = (0..HOURS_PER_WEEK)
        .map(|h| HourNeed {
            weekday: weekday_name(h),
            hour: (h % 24) as u32,
            minutes: seen[h],
            busy_p95: busy[h],
            needed: needed[h],
            current: lowest.as_ref().and_then(|l| l[h]),
        })
        .collect();
    let short = hours
        .iter()
        .filter_map(|h| {
            let current = h.current?;
            (current < h.needed).then(|| ShortHour {
                weekday: h.weekday.clone(),
                hour: h.hour,
                needed: h.needed,
                current,
            })
        })
        .collect();

    let hours_per_week = f64::from(HOURS_PER_WEEK as u32);
    let dyno_hours = DynoHours {
        suggested: round_to(parsed.dyno_hours_per_week(from), 10.0),
        current: current.map(|c| round_to(c.normal_schedule().dyno_hours_per_week(from), 10.0)),
        at_peak: f64::from(peak) * hours_per_week,
        at_max: options.max.map(|m| f64::from(m) * hours_per_week),
    };
    // Without --price: the current schedule's sizes at Heroku's list prices, when it names any.
    let list = options.price.is_none();
    let price = options
        .price
        .or_else(|| current.and_then(|c| crate::price::average_hourly(c.normal_schedule(), from)));
    let cost = price.map(|price| Costs {
        price_per_dyno_hour: price,
        list_prices: list,
        suggested: Money::of(price, dyno_hours.suggested),
        current: dyno_hours.current.map(|h| Money::of(price, h)),
        at_peak: Money::of(price, dyno_hours.at_peak),
        at_max: dyno_hours.at_max.map(|h| Money::of(price, h)),
    });

    let warnings = warnings(&traffic, &seen, &wanted, options);
    Ok(Suggestion {
        schedule: parsed.describe(),
        tz: tz.to_string(),
        current: current.map(|c| c.normal_schedule().describe()),
        traffic: TrafficSpan {
            from: rfc3339(from),
            to: rfc3339(traffic.end()),
            minutes: traffic.busy.len() as u64,
            minutes_with_traffic: traffic.present.iter().filter(|&&p| p).count() as u64,
            ignored: traffic.ignored as u64,
        },
        options: options.clone(),
        peak,
        dyno_hours_per_week: dyno_hours,
        cost,
        hours,
        short,
        warnings,
        busy_of: "requests in service",
        parsed,
    })
}
