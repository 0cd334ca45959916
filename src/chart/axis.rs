//! Axes: where a time or a value goes on the page, which ticks to draw and what to write under
//! them, so that no two labels touch.
//!
//! The SVG names a font family and the viewer's renderer draws the text, so a label's width is an
//! estimate ([`text_width`]): a generous average per character, which keeps it an upper bound for
//! the digits, capitals and short words axes are made of. Ticks are then chosen from round steps
//! (1, 2, 5, 10, 15, 30 seconds or minutes, 1, 2, 3, 6, 12 hours, days, weeks, months, years),
//! the finest whose labels fit between their neighbours; so labels are apart by construction,
//! whatever the span (a second or two centuries) and the width.
//!
//! Time ticks fall on round wall-clock times in the schedule's zone (07:00 in Berlin, not 06:00
//! UTC), DST-correct: a wall time the clocks skip has no tick, a repeated one has one.
//!
//! Pure: no I/O, no clock.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// Pixels between two labels of an axis, at least.
pub const LABEL_GAP: f64 = 8.0;
/// The most ticks an axis looks at for one step (a step that would need more is too fine).
const MAX_TICKS: i64 = 2000;

/// The estimated width of `text` at `font_px` (see the module docs).
pub fn text_width(text: &str, font_px: f64) -> f64 {
    text.chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' | ' ' => 0.32,
            'm' | 'w' | 'M' | 'W' | '@' | '%' => 0.9,
            c if c.is_ascii_uppercase() => 0.7,
            _ => 0.6,
        })
        .sum::<f64>()
        * font_px
}

/// One tick of the time axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub at: DateTime<Utc>,
    /// Pixels from the axis' left end.
    pub x: f64,
    pub label: String,
}

/// Round steps of a time axis, finest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Seconds(u32),
    Minutes(u32),
    Hours(u32),
    Days(u32),
    Week,
    Months(u32),
    Years(u32),
}

const STEPS: &[Step] = &[
    Step::Seconds(1),
    Step::Seconds(2),
    Step::Seconds(5),
    Step::Seconds(10),
    Step::Seconds(15),
    Step::Seconds(30),
    Step::Minutes(1),
    Step::Minutes(2),
    Step::Minutes(5),
    Step::Minutes(10),
    Step::Minutes(15),
    Step::Minutes(30),
    Step::Hours(1),
    Step::Hours(2),
    Step::Hours(3),
    Step::Hours(6),
    Step::Hours(12),
    Step::Days(1),
    Step::Days(2),
    Step::Week,
    Step::Months(1),
    Step::Months(3),
    Step::Months(6),
    Step::Years(1),
    Step::Years(2),
    Step::Years(5),
    Step::Years(10),
    Step::Years(25),
    Step::Years(50),
    Step::Years(100),
];

impl Step {
    /// About how long the step is, in seconds (months and years approximately).
    fn seconds(self) -> i64 {
        match self {
            Step::Seconds(n) => i64::from(n),
            Step::Minutes(n) => 60 * i64::from(n),
            Step::Hours(n) => 3600 * i64::from(n),
            Step::Days(n) => 86_400 * i64::from(n),
            Step::Week => 7 * 86_400,
            Step::Months(n) => 2_629_746 * i64::from(n),
            Step::Years(n) => 31_556_952 * i64::from(n),
        }
    }

    fn format(self) -> &'static str {
        match self {
            Step::Seconds(_) => "%H:%M:%S",
            Step::Minutes(_) | Step::Hours(_) => "%H:%M",
            Step::Days(_) => "%a %d %b",
            Step::Week => "%d %b",
            Step::Months(_) => "%b %Y",
            Step::Years(_) => "%Y",
        }
    }

    /// The wall-clock times of its ticks from the one at or before `from` to `to`.
    fn walls(self, from: NaiveDateTime, to: NaiveDateTime) -> Vec<NaiveDateTime> {
        let day = from.date();
        let first = match self {
            Step::Seconds(n) => day.and_hms_opt(from.hour(), from.minute(), from.second() / n * n),
            Step::Minutes(n) => day.and_hms_opt(from.hour(), from.minute() / n * n, 0),
            Step::Hours(n) => day.and_hms_opt(from.hour() / n * n, 0, 0),
            Step::Days(_) => day.and_hms_opt(0, 0, 0),
            Step::Week => day
                .checked_sub_signed(Duration::days(i64::from(
                    day.weekday().num_days_from_monday(),
                )))
                .and_then(|d| d.and_hms_opt(0, 0, 0)),
            Step::Months(n) => NaiveDate::from_ymd_opt(day.year(), (day.month0() / n * n) + 1, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0)),
            Step::Years(n) => {
                let n = n as i32;
                NaiveDate::from_ymd_opt(day.year().div_euclid(n) * n, 1, 1)
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
            }
        };
        let mut walls = Vec::new();
        let mut wall = first;
        while let Some(w) = wall {
            if w > to || walls.len() as i64 > MAX_TICKS {
                break;
            }
            walls.push(w);
            wall = self.after(w);
        }
        walls
    }

    fn after(self, wall: NaiveDateTime) -> Option<NaiveDateTime> {
        match self {
            Step::Seconds(n) => wall.checked_add_signed(Duration::seconds(i64::from(n))),
            Step::Minutes(n) => wall.checked_add_signed(Duration::minutes(i64::from(n))),
            Step::Hours(n) => wall.checked_add_signed(Duration::hours(i64::from(n))),
            Step::Days(n) => wall.checked_add_signed(Duration::days(i64::from(n))),
            Step::Week => wall.checked_add_signed(Duration::days(7)),
            Step::Months(n) => wall.checked_add_months(chrono::Months::new(n)),
            Step::Years(n) => wall.checked_add_months(chrono::Months::new(12 * n)),
        }
    }
}

/// A time axis `width` pixels wide over `[start, end]`, labelled in `tz`.
#[derive(Debug, Clone)]
pub struct TimeAxis {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub width: f64,
    pub tz: Tz,
    /// Ticks with their labels, left to right.
    pub ticks: Vec<Tick>,
    /// A second row: the day under the first tick of each day, when ticks are finer than a day
    /// and the axis spans several (labels that would touch are left out).
    pub days: Vec<Tick>,
    /// Stretches of time every plot on this axis marks (see [`super::Options::phases`]).
    pub phases: Vec<super::Phase>,
    font_px: f64,
}

impl TimeAxis {
    /// The axis for data from `first` to `last`: a small margin each side (the span is at least
    /// a minute), and the finest round step whose labels fit.
    pub fn fit(
        first: DateTime<Utc>,
        last: DateTime<Utc>,
        tz: Tz,
        width: f64,
        font_px: f64,
    ) -> TimeAxis {
        TimeAxis::fit_at_least(first, last, tz, width, font_px, Duration::minutes(1))
    }

    /// As [`TimeAxis::fit`], spanning `least` at least (a run shorter than a minute, the demo's,
    /// is drawn over its own span: a 2 % margin each side, as for longer ones).
    pub fn fit_at_least(
        first: DateTime<Utc>,
        last: DateTime<Utc>,
        tz: Tz,
        width: f64,
        font_px: f64,
        least: Duration,
    ) -> TimeAxis {
        let (first, last) = (first.min(last), first.max(last));
        let span = (last - first).num_milliseconds();
        let least = least.num_milliseconds().max(1);
        let pad = if span < least {
            (least - span) / 2
        } else {
            span / 50
        };
        let start = first - Duration::milliseconds(pad);
        let end = last + Duration::milliseconds(pad);
        let mut axis = TimeAxis {
            start,
            end,
            width: width.max(1.0),
            tz,
            ticks: Vec::new(),
            days: Vec::new(),
            phases: Vec::new(),
            font_px,
        };
        axis.choose_ticks();
        axis
    }

    /// Pixels from the left end for `t` (outside the axis: beyond its ends, never farther than a
    /// million pixels).
    pub fn x(&self, t: DateTime<Utc>) -> f64 {
        let span = (self.end - self.start).num_milliseconds().max(1) as f64;
        let ratio = (t - self.start).num_milliseconds() as f64 / span;
        (ratio * self.width).clamp(-1e6, 1e6)
    }

    /// The caption under the axis: the zone, and the date when all of it is one day.
    pub fn caption(&self) -> String {
        let (a, b) = (
            self.start.with_timezone(&self.tz).date_naive(),
            self.end.with_timezone(&self.tz).date_naive(),
        );
        if a == b {
            format!("time ({}, {})", self.tz, a.format("%a %d %b %Y"))
        } else {
            format!("time ({})", self.tz)
        }
    }

    fn choose_ticks(&mut self) {
        let span = (self.end - self.start).num_seconds().max(1);
        let from = self.start.with_timezone(&self.tz).naive_local();
        let to = self.end.with_timezone(&self.tz).naive_local();
        // The finest step with two ticks or more whose labels fit; else the finest with one.
        let mut single: Option<Vec<Tick>> = None;
        for &step in STEPS {
            if span / step.seconds() > MAX_TICKS {
                continue;
            }
            let ticks = self.ticks_of(step, from, to);
            if !fits(&ticks, self.font_px) {
                continue;
            }
            if ticks.len() >= 2 {
                self.days = if step.seconds() < 86_400 && from.date() != to.date() {
                    self.day_ticks(&ticks)
                } else {
                    Vec::new()
                };
                self.ticks = ticks;
                return;
            }
            if single.is_none() && ticks.len() == 1 {
                single = Some(ticks);
            }
        }
        self.ticks = single.unwrap_or_default();
        self.days = Vec::new();
    }

    fn ticks_of(&self, step: Step, from: NaiveDateTime, to: NaiveDateTime) -> Vec<Tick> {
        let mut ticks: Vec<Tick> = Vec::new();
        for wall in step.walls(from, to) {
            // A wall time the clocks skip has no tick; a repeated one counts once (the first).
            let Some(at) = self.tz.from_local_datetime(&wall).earliest() else {
                continue;
            };
            let at = at.with_timezone(&Utc);
            if at < self.start || at > self.end || ticks.last().is_some_and(|t| t.at >= at) {
                continue;
            }
            ticks.push(Tick {
                at,
                x: self.x(at),
                label: wall.format(step.format()).to_string(),
            });
        }
        ticks
    }

    /// The day (`Mon 23 Mar`) under the first tick of each day; one that would touch the one
    /// before it is left out.
    fn day_ticks(&self, ticks: &[Tick]) -> Vec<Tick> {
        let mut days: Vec<Tick> = Vec::new();
        let mut last_day = None;
        for tick in ticks {
            let local = tick.at.with_timezone(&self.tz);
            let day = local.date_naive();
            if last_day == Some(day) {
                continue;
            }
            last_day = Some(day);
            let candidate = Tick {
                at: tick.at,
                x: tick.x,
                label: local.format("%a %d %b").to_string(),
            };
            let apart = days
                .last()
                .is_none_or(|prev| apart(prev, &candidate, self.font_px));
            if apart {
                days.push(candidate);
            }
        }
        days
    }
}

/// Whether two centred labels leave [`LABEL_GAP`] between them.
fn apart(a: &Tick, b: &Tick, font_px: f64) -> bool {
    let half = |t: &Tick| text_width(&t.label, font_px) / 2.0;
    (b.x - a.x).abs() >= half(a) + half(b) + LABEL_GAP
}

/// Whether each label leaves room to the next.
fn fits(ticks: &[Tick], font_px: f64) -> bool {
    ticks.windows(2).all(|w| apart(&w[0], &w[1], font_px))
}

/// A value axis from `low` to `high` (linear or log), `height` pixels tall, with round ticks
/// at least `2 × font` apart.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueAxis {
    pub low: f64,
    pub high: f64,
    pub log: bool,
    pub height: f64,
    /// (value, label), bottom to top.
    pub ticks: Vec<(f64, String)>,
}

impl ValueAxis {
    /// A linear axis from 0 to at least `max` (at least `1`), with round steps (1, 2, 2.5, 5 ×
    /// 10^k; whole numbers only when `whole`).
    pub fn linear(max: f64, height: f64, font_px: f64, whole: bool) -> ValueAxis {
        let max = if max.is_finite() && max > 0.0 {
            max.min(1e15)
        } else {
            1.0
        };
        let room = ((height / (2.2 * font_px)).floor() as usize).clamp(2, 8);
        let raw = max / room as f64;
        let power = 10f64.powf(raw.log10().floor());
        let mut step = [1.0, 2.0, 2.5, 5.0, 10.0]
            .into_iter()
            .map(|m| m * power)
            .find(|s| max / s <= room as f64)
            .unwrap_or(10.0 * power);
        if whole {
            step = step.ceil().max(1.0);
        }
        let count = (max / step).ceil().max(1.0) as usize;
        let high = step * count as f64;
        let ticks = (0..=count)
            .map(|i| {
                let v = step * i as f64;
                (v, compact(v))
            })
            .collect();
        ValueAxis {
            low: 0.0,
            high,
            log: false,
            height,
            ticks,
        }
    }

    /// A log axis in milliseconds covering `[min, max]`, decades labelled (`1 ms`, `10 ms`,
    /// `1 s`); 2× and 5× too when it spans under two decades.
    pub fn log_ms(min: f64, max: f64, height: f64, font_px: f64) -> ValueAxis {
        let clean = |v: f64| if v.is_finite() && v > 0.0 { v } else { 1.0 };
        let (min, max) = (clean(min).max(0.1), clean(max).max(clean(min)).min(1e9));
        let lo = min.log10().floor();
        let hi = max.log10().ceil().max(lo + 1.0);
        let mut values: Vec<f64> = Vec::new();
        let decades = (hi - lo) as i32;
        for d in 0..=decades {
            let base = 10f64.powi(lo as i32 + d);
            values.push(base);
            if decades < 2 && d < decades {
                values.push(2.0 * base);
                values.push(5.0 * base);
            }
        }
        let mut axis = ValueAxis {
            low: 10f64.powf(lo),
            high: 10f64.powf(hi),
            log: true,
            height,
            ticks: values.iter().map(|&v| (v, ms_label(v))).collect(),
        };
        // Thin out until labels are two fonts apart.
        let mut keep = 1;
        while axis.ticks.len() / keep > 1
            && height / ((axis.ticks.len() / keep) as f64) < 2.0 * font_px
        {
            keep += 1;
        }
        axis.ticks = axis
            .ticks
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % keep == 0)
            .map(|(_, t)| t)
            .collect();
        axis
    }

    /// Pixels from the top for `v` (clamped to the axis).
    pub fn y(&self, v: f64) -> f64 {
        let v = if v.is_finite() { v } else { self.low };
        let ratio = if self.log {
            let v = v.clamp(self.low, self.high);
            (v.log10() - self.low.log10()) / (self.high.log10() - self.low.log10())
        } else {
            ((v - self.low) / (self.high - self.low)).clamp(0.0, 1.0)
        };
        self.height * (1.0 - ratio)
    }
}

/// `0`, `2.5`, `40`, `1.2k`, `3M`.
pub fn compact(v: f64) -> String {
    let (scaled, suffix) = if v >= 1e9 {
        (v / 1e9, "G")
    } else if v >= 1e6 {
        (v / 1e6, "M")
    } else if v >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    format!("{}{suffix}", super::summary::trim_float(scaled))
}

/// `100 ms`, `1 s`, `10 s`, `0.1 ms`.
fn ms_label(ms: f64) -> String {
    super::summary::format_ms(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Berlin;

    fn ts(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn labels(ticks: &[Tick]) -> Vec<&str> {
        ticks.iter().map(|t| t.label.as_str()).collect()
    }

    fn assert_apart(ticks: &[Tick], font: f64, what: &str) {
        for w in ticks.windows(2) {
            let room = (text_width(&w[0].label, font) + text_width(&w[1].label, font)) / 2.0;
            assert!(
                w[1].x - w[0].x >= room + LABEL_GAP,
                "{what}: {:?} and {:?} touch",
                w[0],
                w[1]
            );
            assert!(w[0].at < w[1].at, "{what}: in order");
        }
    }

    #[test]
    fn labels_never_touch_whatever_the_span_and_width() {
        let start = ts("2026-03-20T05:17:23.456Z");
        let spans = [
            0,
            1,
            30,
            300,
            3_600,
            6 * 3_600,
            86_400,
            3 * 86_400,
            7 * 86_400,
            31 * 86_400,
            365 * 86_400,
            5 * 365 * 86_400,
            200 * 365 * 86_400,
        ];
        for tz in [chrono_tz::UTC, Berlin, chrono_tz::America::St_Johns] {
            for &span in &spans {
                for width in [60.0, 400.0, 1088.0] {
                    let end = start + Duration::seconds(span);
                    let axis = TimeAxis::fit(start, end, tz, width, 12.0);
                    let what = format!("{tz} {span}s {width}px");
                    assert!(axis.start <= start && axis.end >= end, "{what}");
                    assert_apart(&axis.ticks, 12.0, &what);
                    assert_apart(&axis.days, 12.0, &what);
                    for tick in axis.ticks.iter().chain(&axis.days) {
                        assert!(
                            tick.at >= axis.start && tick.at <= axis.end,
                            "{what}: {tick:?}"
                        );
                        assert!((tick.x - axis.x(tick.at)).abs() < 1e-9);
                        assert!(
                            (-0.001..=width + 0.001).contains(&tick.x),
                            "{what}: {tick:?}"
                        );
                    }
                    if width >= 400.0 {
                        assert!(axis.ticks.len() >= 2, "{what}: {:?}", labels(&axis.ticks));
                    }
                }
            }
        }
    }

    #[test]
    fn ticks_are_round_wall_clock_times_in_the_zone() {
        // A day in Berlin, winter: ticks on the local hours, not on UTC's.
        let axis = TimeAxis::fit(
            ts("2026-11-29T23:00:00Z"),
            ts("2026-11-30T23:00:00Z"),
            Berlin,
            1088.0,
            12.0,
        );
        assert_eq!(
            labels(&axis.ticks),
            (0..=24)
                .map(|h| format!("{:02}:00", h % 24))
                .collect::<Vec<_>>()
        );
        let axis = TimeAxis::fit(
            ts("2026-11-29T23:00:00Z"),
            ts("2026-11-30T23:00:00Z"),
            Berlin,
            800.0,
            12.0,
        );
        assert_eq!(
            labels(&axis.ticks),
            [
                "00:00", "02:00", "04:00", "06:00", "08:00", "10:00", "12:00", "14:00", "16:00",
                "18:00", "20:00", "22:00", "00:00"
            ]
        );
        assert_eq!(labels(&axis.days), ["Mon 30 Nov", "Tue 01 Dec"]);
        assert_eq!(axis.caption(), "time (Europe/Berlin)");
        // The night the clocks go forward has no 02:00.
        let axis = TimeAxis::fit(
            ts("2026-03-28T23:00:00Z"),
            ts("2026-03-29T04:00:00Z"),
            Berlin,
            2000.0,
            12.0,
        );
        let hours: Vec<&str> = labels(&axis.ticks)
            .into_iter()
            .filter(|l| l.ends_with(":00"))
            .collect();
        assert!(
            hours.starts_with(&["00:00", "01:00", "03:00", "04:00"]),
            "{hours:?}"
        );
        // The night they go back has one 02:00.
        let axis = TimeAxis::fit(
            ts("2026-10-24T22:00:00Z"),
            ts("2026-10-25T04:00:00Z"),
            Berlin,
            1000.0,
            12.0,
        );
        assert_eq!(
            labels(&axis.ticks)
                .iter()
                .filter(|l| **l == "02:00")
                .count(),
            1,
            "{:?}",
            labels(&axis.ticks)
        );
        // A week: days.
        let axis = TimeAxis::fit(
            ts("2026-03-22T23:00:00Z"),
            ts("2026-03-29T22:00:00Z"),
            Berlin,
            1088.0,
            12.0,
        );
        assert_eq!(labels(&axis.ticks)[..2], ["00:00", "12:00"]);
        assert_eq!(axis.days[0].label, "Mon 23 Mar");
        let axis = TimeAxis::fit(
            ts("2026-03-22T23:00:00Z"),
            ts("2026-03-29T22:00:00Z"),
            Berlin,
            500.0,
            12.0,
        );
        assert_eq!(
            labels(&axis.ticks)[..2],
            ["Tue 24 Mar", "Thu 26 Mar"],
            "every other day"
        );
        assert!(axis.days.is_empty());
        // Months and years.
        let axis = TimeAxis::fit(
            ts("2026-01-01T00:00:00Z"),
            ts("2026-12-31T00:00:00Z"),
            chrono_tz::UTC,
            1088.0,
            12.0,
        );
        assert_eq!(labels(&axis.ticks)[..2], ["Jan 2026", "Feb 2026"]);
        let axis = TimeAxis::fit(
            ts("2000-01-01T00:00:00Z"),
            ts("2200-01-01T00:00:00Z"),
            chrono_tz::UTC,
            1088.0,
            12.0,
        );
        assert!(
            labels(&axis.ticks).contains(&"2100"),
            "{:?}",
            labels(&axis.ticks)
        );
        // Seconds.
        let axis = TimeAxis::fit(
            ts("2026-11-30T10:00:00Z"),
            ts("2026-11-30T10:00:20Z"),
            chrono_tz::UTC,
            1088.0,
            12.0,
        );
        assert!(
            labels(&axis.ticks).contains(&"10:00:10"),
            "{:?}",
            labels(&axis.ticks)
        );
        assert_eq!(axis.caption(), "time (UTC, Mon 30 Nov 2026)");
    }

    #[test]
    fn the_axis_fits_the_data_with_a_small_margin() {
        let a = ts("2026-11-30T10:00:00Z");
        let axis = TimeAxis::fit(a, a, chrono_tz::UTC, 1000.0, 12.0);
        assert_eq!(
            (axis.start, axis.end),
            (a - Duration::seconds(30), a + Duration::seconds(30))
        );
        let b = a + Duration::seconds(5000);
        let axis = TimeAxis::fit(b, a, chrono_tz::UTC, 1000.0, 12.0);
        assert_eq!(
            (axis.start, axis.end),
            (a - Duration::seconds(100), b + Duration::seconds(100))
        );
        assert_eq!(axis.x(axis.start), 0.0);
        assert_eq!(axis.x(axis.end), 1000.0);
        assert!((axis.x(a) - 1000.0 * 100.0 / 5200.0).abs() < 1e-9);
        assert_eq!(axis.x(ts("2200-01-01T00:00:00Z")), 1e6);
        assert_eq!(axis.x(ts("2000-01-01T00:00:00Z")), -1e6);
        assert_eq!(TimeAxis::fit(a, b, chrono_tz::UTC, 0.0, 12.0).width, 1.0);
    }

    #[test]
    fn value_axes_have_round_ticks_that_fit() {
        let axis = ValueAxis::linear(180.0, 180.0, 12.0, false);
        assert_eq!((axis.low, axis.high), (0.0, 200.0));
        let ticks: Vec<&str> = axis.ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(ticks, ["0", "50", "100", "150", "200"]);
        assert_eq!(axis.y(0.0), 180.0);
        assert_eq!(axis.y(200.0), 0.0);
        assert_eq!(axis.y(100.0), 90.0);
        assert_eq!(axis.y(1e9), 0.0);
        assert_eq!(axis.y(-5.0), 180.0);
        assert_eq!(axis.y(f64::NAN), 180.0);
        let axis = ValueAxis::linear(3.45, 170.0, 12.0, true);
        assert_eq!((axis.high, axis.ticks.len()), (4.0, 5));
        let axis = ValueAxis::linear(0.3, 170.0, 12.0, true);
        assert_eq!(axis.high, 1.0, "whole steps");
        let axis = ValueAxis::linear(0.3, 170.0, 12.0, false);
        assert_eq!(
            axis.ticks.iter().map(|t| t.1.as_str()).collect::<Vec<_>>(),
            ["0", "0.05", "0.1", "0.15", "0.2", "0.25", "0.3"]
        );
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(ValueAxis::linear(bad, 100.0, 12.0, false).high, 1.0);
        }
        assert!(ValueAxis::linear(1e300, 100.0, 12.0, false).high <= 1e16);
        for height in [40.0, 100.0, 400.0] {
            let axis = ValueAxis::linear(12345.0, height, 12.0, false);
            assert!(axis.ticks.len() >= 2);
            let gap = height / (axis.ticks.len() - 1) as f64;
            assert!(gap >= 12.0 || axis.ticks.len() <= 3, "{height}: {axis:?}");
        }
    }

    #[test]
    fn log_axes_are_labelled_in_decades() {
        let axis = ValueAxis::log_ms(50.0, 5000.0, 160.0, 12.0);
        assert_eq!((axis.low, axis.high), (10.0, 10000.0));
        let ticks: Vec<&str> = axis.ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(ticks, ["10 ms", "100 ms", "1 s", "10 s"]);
        assert_eq!(axis.y(10.0), 160.0);
        assert_eq!(axis.y(10000.0), 0.0);
        assert!((axis.y(100.0) - 160.0 * 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(axis.y(1.0), 160.0, "clamped");
        assert_eq!(axis.y(1e12), 0.0);
        let narrow = ValueAxis::log_ms(120.0, 900.0, 160.0, 12.0);
        let ticks: Vec<&str> = narrow.ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(ticks, ["100 ms", "200 ms", "500 ms", "1 s"]);
        let short = ValueAxis::log_ms(1.0, 1e8, 40.0, 12.0);
        assert!(short.ticks.len() < 9 && short.ticks.len() >= 2, "{short:?}");
        let odd = ValueAxis::log_ms(f64::NAN, -3.0, 160.0, 12.0);
        assert!(odd.low > 0.0 && odd.high > odd.low);
    }

    #[test]
    fn compact_numbers_and_widths() {
        assert_eq!(compact(0.0), "0");
        assert_eq!(compact(2.5), "2.5");
        assert_eq!(compact(999.0), "999");
        assert_eq!(compact(1500.0), "1.5k");
        assert_eq!(compact(3_000_000.0), "3M");
        assert_eq!(compact(2e9), "2G");
        assert_eq!(text_width("", 12.0), 0.0);
        assert!(text_width("Wed 25 Mar", 12.0) > text_width("12:00", 12.0));
        assert!((text_width("0", 10.0) - 6.0).abs() < 1e-9);
        assert!((text_width("M", 10.0) - 9.0).abs() < 1e-9);
        assert!((text_width("A", 10.0) - 7.0).abs() < 1e-9);
        assert!((text_width("i", 10.0) - 3.2).abs() < 1e-9);
    }
}
