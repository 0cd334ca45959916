//! The interactive HTML report (`chart --output report.html`): one self-contained page drawn with
//! D3, that opens with no network at all.
//!
//! The page is made of plain files under `assets/` — `report/report.html`, `report.css`,
//! `report.js` and the vendored `vendor/d3.min.js` (see `assets/vendor/README.md`) — which
//! [`render_html`] inlines, together with the data as JSON, into one HTML string. The files stay
//! readable and editable as HTML, CSS and JavaScript; Rust only fills their slots.
//!
//! This module is pure: the caller hands it a [`ReportData`] (the readers compute it from router
//! lines, `event=traffic` lines, the daemon's own lines and the schedule) and gets the page back.
//! [`Zone::covering`] and [`Heatmap::from_minutes`] are here because their shape is the page's:
//! the page shows times in the schedule's zone from the UTC offsets the data carries (so what it
//! shows does not depend on the viewer's browser or time zone), and its heatmap is 7 × 24 cells.
//!
//! # The data is untrusted
//! App names, paths, alert messages and scale reasons come from log lines. So:
//! - the JSON is escaped for a `<script>` element: every `<`, `>` and `&` is written as a `\u`
//!   escape, so no string can close the element (`</script>`) or open a comment (`<!--`), and
//!   the page puts strings into the DOM only as text, never as markup;
//! - strings are cut at [`NAME_CAP`] or [`TEXT_CAP`] characters, and the lists of marks at
//!   [`MARKS_CAP`] (the latest kept, the number dropped written beside them);
//! - a number that is not finite, is negative or is above [`NUMBER_CAP`] is written as `null`
//!   (the page skips it), so one hostile value cannot stretch an axis to 1e300.
//!
//! # The JSON the page reads
//! Times are milliseconds since the Unix epoch (UTC); the page shows them in the zone.
//! ```text
//! { "title", "generated_at", "zone": { "name", "offsets": [[t, seconds east of UTC], ...] },
//!   "targets": [ { "app", "process", "concurrency", "slow_ms", "max",
//!     "minutes": { "t0", "dt": [...], "requests": [...], "s2xx", "s3xx", "s4xx", "s5xx",
//!                  "h10", "h12", "h13", "errors", "p50_ms", "p95_ms", "busy", "dynos" },
//!     "quantity": [[t, q], ...], "floor": [[t, q], ...],
//!     "scales": [{ "t", "from", "to", "reason", "result" }], "alerts": [{ "t", "kind", "message" }],
//!     "probes": [[t, latency_ms, outcome], ...], "dropped": { "scales", "alerts", "probes" },
//!     "heatmap": { "requests": [7][24], "minutes": [7][24] } | null,
//!     "summary": { "from", "to", "requests", "errors", "p95_ms", "dyno_hours",
//!                  "dyno_hours_schedule", "dyno_hours_max", "scale_events", "alerts", "notes" } } ] }
//! ```
//! Minutes are columns, their times as `t0` plus minute steps (`dt`), and step series and probes
//! are small arrays, because a week of minutes written as objects would repeat every key and
//! time 10,080 times. A week of one target at one point per minute, with a health check every 3
//! minutes, makes a page of about 0.92 MB: 0.58 MB of data and 0.34 MB of page and d3 (see the
//! tests).

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

/// Longest app, process, zone, reason or kind written, in characters.
pub const NAME_CAP: usize = 200;
/// Longest title or alert message written, in characters.
pub const TEXT_CAP: usize = 2000;
/// Most scale events and alerts written per target each (the latest are kept). Probes get ten
/// times as many: the daemon probes every few minutes, so a month of probes fits.
pub const MARKS_CAP: usize = 5000;
/// Largest number written; anything above is `null`. No real count, latency or dyno-hour total
/// of a report comes near it.
pub const NUMBER_CAP: f64 = 1e12;
/// How far back from its end [`Zone::covering`] looks for offset changes: ten years.
pub const ZONE_SPAN_CAP_DAYS: i64 = 3660;
const DAY: i64 = 86_400;

const TEMPLATE: &str = include_str!("../../assets/report/report.html");
const CSS: &str = include_str!("../../assets/report/report.css");
const JS: &str = include_str!("../../assets/report/report.js");
const D3: &str = include_str!("../../assets/vendor/d3.min.js");
const D3_LICENSE: &str = include_str!("../../assets/vendor/d3-LICENSE");

/// Everything one report page shows.
#[derive(Debug, Clone, Serialize)]
pub struct ReportData {
    /// The page's title and heading.
    #[serde(serialize_with = "text")]
    pub title: String,
    /// When the report was made (shown in the header).
    #[serde(serialize_with = "epoch_ms")]
    pub generated_at: DateTime<Utc>,
    /// The zone times are shown in: the schedule's.
    pub zone: Zone,
    /// One section of panels per app and process, in this order; all share one time axis.
    pub targets: Vec<TargetReport>,
}

/// A time zone as the page needs it: a name to show and the UTC offsets in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// IANA name, e.g. `Europe/Berlin`.
    pub name: String,
    /// `(from, seconds east of UTC)`, sorted by time: each offset holds from its instant until
    /// the next one. The first also holds before its instant. Written as `[[t, seconds], ...]`.
    pub offsets: Vec<(DateTime<Utc>, i32)>,
}

/// One target's panels: the traffic of one process type of one app, and what the daemon did.
/// Written with its lists of marks cut to the latest [`MARKS_CAP`] (probes: ten times as many)
/// and a `dropped` object counting what was left out.
#[derive(Debug, Clone, Default)]
pub struct TargetReport {
    pub app: String,
    pub process: String,
    /// Requests one dyno serves at once, when configured: capacity = quantity × concurrency.
    pub concurrency: Option<u32>,
    /// The slow threshold (AUTOSCALE_SLOW), drawn on the service-time panel.
    pub slow_ms: Option<f64>,
    /// AUTOSCALE_MAX, drawn on the dyno panel.
    pub max: Option<u32>,
    /// Router traffic, one point per minute, sorted by time (gaps allowed).
    pub minutes: Vec<MinutePoint>,
    /// The formation's quantity: each value holds until the next, sorted by time.
    pub quantity: Vec<Step>,
    /// The schedule's floor, computed from the schedule: each value holds until the next.
    pub floor: Vec<Step>,
    /// Scale decisions, sorted by time.
    pub scales: Vec<ScaleMark>,
    /// Alerts sent, sorted by time.
    pub alerts: Vec<AlertMark>,
    /// The daemon's health checks, sorted by time.
    pub probes: Vec<ProbePoint>,
    /// Requests by hour of the week in the zone; `None` draws "no data".
    pub heatmap: Option<Heatmap>,
    pub summary: Summary,
}

/// One minute of router traffic (the figures of an `event=traffic` line).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MinutePoint {
    /// Start of the minute.
    pub t: DateTime<Utc>,
    pub requests: u64,
    pub s2xx: u64,
    pub s3xx: u64,
    pub s4xx: u64,
    pub s5xx: u64,
    /// Router errors: app crashed, request timeout, connection closed without response.
    pub h10: u64,
    pub h12: u64,
    pub h13: u64,
    /// Requests that failed (router errors and 5xx), each counted once.
    pub errors: u64,
    /// Service time quantiles; `None` in a minute without requests.
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    /// Mean requests in service over the minute (sum of service times / 60 s).
    pub busy: Option<f64>,
    /// Distinct dynos that served in the minute.
    pub dynos: Option<u32>,
}

/// A value of a step series from `t` on. Written as `[t, quantity]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub t: DateTime<Utc>,
    pub quantity: u32,
}

/// A scale decision (`event=scale`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScaleMark {
    #[serde(serialize_with = "epoch_ms")]
    pub t: DateTime<Utc>,
    #[serde(serialize_with = "opt_number")]
    pub from: Option<u32>,
    #[serde(serialize_with = "opt_number")]
    pub to: Option<u32>,
    /// startup, schedule, down, slow, floor, scale_in, load, ...
    #[serde(serialize_with = "name")]
    pub reason: String,
    /// ok, dry_run, error, paused, ...
    #[serde(serialize_with = "opt_name")]
    pub result: Option<String>,
}

/// An alert sent (`event=notify`), or one that would have been.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertMark {
    #[serde(serialize_with = "epoch_ms")]
    pub t: DateTime<Utc>,
    #[serde(serialize_with = "name")]
    pub kind: String,
    #[serde(serialize_with = "text")]
    pub message: String,
}

/// A health check of the daemon (`event=probe`). Written as `[t, latency_ms, outcome]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbePoint {
    pub t: DateTime<Utc>,
    pub latency_ms: Option<f64>,
    /// down, slow, ok or fast.
    pub outcome: String,
}

/// Requests by weekday (Monday first) and hour of day in the report's zone.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Heatmap {
    /// Requests counted in each hour of the week.
    pub requests: [[u64; 24]; 7],
    /// Minutes with data in each hour of the week (the page colours by requests per minute, so
    /// an hour seen twice in a ten-day report does not look twice as busy).
    pub minutes: [[u32; 24]; 7],
}

/// The figures of the summary block; the page shows those that are `Some`, and every note.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Summary {
    #[serde(serialize_with = "opt_epoch_ms")]
    pub from: Option<DateTime<Utc>>,
    #[serde(serialize_with = "opt_epoch_ms")]
    pub to: Option<DateTime<Utc>>,
    #[serde(serialize_with = "opt_count")]
    pub requests: Option<u64>,
    #[serde(serialize_with = "opt_count")]
    pub errors: Option<u64>,
    /// Service time p95 over the whole range.
    #[serde(serialize_with = "opt_number")]
    pub p95_ms: Option<f64>,
    /// Dyno-hours the formation ran.
    #[serde(serialize_with = "opt_number")]
    pub dyno_hours: Option<f64>,
    /// Dyno-hours the schedule alone would have run.
    #[serde(serialize_with = "opt_number")]
    pub dyno_hours_schedule: Option<f64>,
    /// Dyno-hours of always running the maximum.
    #[serde(serialize_with = "opt_number")]
    pub dyno_hours_max: Option<f64>,
    #[serde(serialize_with = "opt_count")]
    pub scale_events: Option<u64>,
    #[serde(serialize_with = "opt_count")]
    pub alerts: Option<u64>,
    /// Anything else worth a line (lines skipped, a short range), shown as written.
    #[serde(serialize_with = "texts")]
    pub notes: Vec<String>,
}

impl Zone {
    /// The offsets of `tz` in force from `from` to `to`: the one at `from` and every change up
    /// to `to`, found to the second. Looks back at most [`ZONE_SPAN_CAP_DAYS`] from `to` (the
    /// earliest offset found then also holds before), so a hostile range stays cheap.
    pub fn covering(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Zone {
        // Whole seconds since the epoch: offsets change on whole seconds.
        let seconds_at = |t: i64| {
            DateTime::from_timestamp(t, 0).map_or(0, |t| {
                tz.offset_from_utc_datetime(&t.naive_utc())
                    .fix()
                    .local_minus_utc()
            })
        };
        let to = to.timestamp();
        let from = from
            .timestamp()
            .max(to.saturating_sub(ZONE_SPAN_CAP_DAYS * DAY));
        let mut offsets = vec![(from, seconds_at(from))];
        // Offsets change at most a few times a year and never back within a day: step a day
        // at a time, and bisect each day whose offset differs from the last one.
        let mut before = from;
        while before < to {
            let after = before.saturating_add(DAY).min(to);
            let last = offsets.last().map_or(0, |o| o.1);
            if seconds_at(after) != last {
                let (mut lo, mut hi) = (before, after);
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if seconds_at(mid) == last {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                offsets.push((hi, seconds_at(hi)));
            }
            before = after;
        }
        Zone {
            name: tz.name().to_string(),
            offsets: offsets
                .into_iter()
                .filter_map(|(t, offset)| Some((DateTime::from_timestamp(t, 0)?, offset)))
                .collect(),
        }
    }

    /// UTC: one offset, zero.
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".to_string(),
            offsets: vec![(DateTime::UNIX_EPOCH, 0)],
        }
    }
}

impl Heatmap {
    /// Adds up `minutes` by weekday and hour of their start in `tz`.
    pub fn from_minutes(minutes: &[MinutePoint], tz: Tz) -> Heatmap {
        let mut map = Heatmap::default();
        for minute in minutes {
            let local = minute.t.with_timezone(&tz);
            let day = local.weekday().num_days_from_monday() as usize;
            let hour = local.hour() as usize;
            map.requests[day][hour] = map.requests[day][hour].saturating_add(minute.requests);
            map.minutes[day][hour] = map.minutes[day][hour].saturating_add(1);
        }
        map
    }
}

/// The whole page: the template with the CSS, d3 (and its license), the report's script and
/// `data` as JSON inlined. Needs nothing else to open.
pub fn render_html(data: &ReportData) -> String {
    let json = script_json(data);
    let title = html_text(&cut(&data.title, TEXT_CAP));
    let d3 = format!("/*! d3 v7.9.0, https://d3js.org\n{D3_LICENSE}*/\n{D3}");
    fill(
        TEMPLATE,
        &[
            ("{{title}}", &title),
            ("{{report.css}}", CSS),
            ("{{d3.min.js}}", &d3),
            ("{{report.js}}", JS),
            ("{{data.json}}", &json),
        ],
    )
}

/// `data` as JSON that can sit inside a `<script>` element: `<`, `>` and `&` (which JSON only
/// has inside strings) become `\u` escapes, as do U+2028 and U+2029 for older parsers.
fn script_json(data: &ReportData) -> String {
    // Serializing plain structs to a String cannot fail: no map has non-string keys.
    let json = serde_json::to_string(data).unwrap_or_else(|_| "null".to_string());
    let mut out = String::with_capacity(json.len() + 64);
    for c in json.chars() {
        match c {
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            _ => out.push(c),
        }
    }
    out
}

/// Copies `template`, replacing each slot by its value. Only the template is scanned, so a value
/// that happens to contain a slot's name stays as it is.
fn fill(template: &str, slots: &[(&str, &str)]) -> String {
    let extra: usize = slots.iter().map(|(_, value)| value.len()).sum();
    let mut out = String::with_capacity(template.len() + extra);
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let slot = slots
            .iter()
            .find(|(name, _)| rest[open..].starts_with(name));
        let (name, value) = match slot {
            Some(slot) => *slot,
            None => ("{{", "{{"),
        };
        out.push_str(&rest[..open]);
        out.push_str(value);
        rest = &rest[open + name.len()..];
    }
    out.push_str(rest);
    out
}

/// Text for an HTML element's content or a quoted attribute.
fn html_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `text` cut to at most `cap` characters, with an ellipsis when cut.
fn cut(text: &str, cap: usize) -> String {
    match text.char_indices().nth(cap) {
        None => text.to_string(),
        Some((end, _)) => {
            let mut short = text[..end].to_string();
            short.pop();
            short.push('…');
            short
        }
    }
}

/// A number the page can draw, or `None` (written `null`): finite, not negative, at most
/// [`NUMBER_CAP`]; written with at most two decimals.
fn drawable(value: f64) -> Option<f64> {
    (value.is_finite() && (0.0..=NUMBER_CAP).contains(&value))
        .then(|| (value * 100.0).round() / 100.0)
}

/// One number as the page wants it: see [`drawable`]; whole numbers are written without ".0".
struct Drawn(Option<f64>);

impl Serialize for Drawn {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.and_then(drawable) {
            Some(v) if v.fract() == 0.0 => s.serialize_u64(v as u64),
            Some(v) => s.serialize_f64(v),
            None => s.serialize_none(),
        }
    }
}

fn opt_number<S: Serializer, N: Into<f64> + Copy>(
    value: &Option<N>,
    s: S,
) -> Result<S::Ok, S::Error> {
    Drawn(value.map(Into::into)).serialize(s)
}

/// Counts are `u64`; past 2^53 an `f64` loses units, but anything that large is above
/// [`NUMBER_CAP`] and written as `null` anyway.
fn opt_count<S: Serializer>(value: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    Drawn(value.map(|v| v as f64)).serialize(s)
}

fn epoch_ms<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(t.timestamp_millis())
}

fn opt_epoch_ms<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    t.map(|t| t.timestamp_millis()).serialize(s)
}

fn name<S: Serializer>(value: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&cut(value, NAME_CAP))
}

fn opt_name<S: Serializer>(value: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    value.as_deref().map(|v| cut(v, NAME_CAP)).serialize(s)
}

fn text<S: Serializer>(value: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&cut(value, TEXT_CAP))
}

fn texts<S: Serializer>(values: &[String], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(values.iter().take(MARKS_CAP).map(|v| cut(v, TEXT_CAP)))
}

impl Serialize for Zone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let offsets: Vec<(i64, i32)> = self
            .offsets
            .iter()
            .map(|(t, seconds)| (t.timestamp_millis(), *seconds))
            .collect();
        let mut zone = s.serialize_struct("Zone", 2)?;
        zone.serialize_field("name", &cut(&self.name, NAME_CAP))?;
        zone.serialize_field("offsets", &offsets)?;
        zone.end()
    }
}

impl Serialize for Step {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.t.timestamp_millis(), self.quantity).serialize(s)
    }
}

impl Serialize for ProbePoint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let outcome = cut(&self.outcome, NAME_CAP);
        (self.t.timestamp_millis(), Drawn(self.latency_ms), outcome).serialize(s)
    }
}

/// The last `cap` of `list`, and how many were left out before them.
fn latest<T>(list: &[T], cap: usize) -> (&[T], usize) {
    let dropped = list.len().saturating_sub(cap);
    (&list[dropped..], dropped)
}

impl Serialize for TargetReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (scales, scales_dropped) = latest(&self.scales, MARKS_CAP);
        let (alerts, alerts_dropped) = latest(&self.alerts, MARKS_CAP);
        let (probes, probes_dropped) = latest(&self.probes, 10 * MARKS_CAP);
        let mut target = s.serialize_struct("TargetReport", 14)?;
        target.serialize_field("app", &cut(&self.app, NAME_CAP))?;
        target.serialize_field("process", &cut(&self.process, NAME_CAP))?;
        target.serialize_field("concurrency", &Drawn(self.concurrency.map(f64::from)))?;
        target.serialize_field("slow_ms", &Drawn(self.slow_ms))?;
        target.serialize_field("max", &Drawn(self.max.map(f64::from)))?;
        target.serialize_field("minutes", &MinuteColumns(&self.minutes))?;
        target.serialize_field("quantity", &self.quantity)?;
        target.serialize_field("floor", &self.floor)?;
        target.serialize_field("scales", scales)?;
        target.serialize_field("alerts", alerts)?;
        target.serialize_field("probes", probes)?;
        target.serialize_field(
            "dropped",
            &Dropped {
                scales: scales_dropped,
                alerts: alerts_dropped,
                probes: probes_dropped,
            },
        )?;
        target.serialize_field("heatmap", &self.heatmap)?;
        target.serialize_field("summary", &self.summary)?;
        target.end()
    }
}

/// Marks left out by [`MARKS_CAP`]; the page says so in the summary.
#[derive(Serialize)]
struct Dropped {
    scales: usize,
    alerts: usize,
    probes: usize,
}

/// Minutes written column by column: `{"t0":...,"dt":[...],"requests":[...],...}`, where `t0`
/// is the first minute (epoch ms) and `dt` the minutes from each point's predecessor (the first
/// 0), so a week of consecutive minutes costs two bytes a minute, not fourteen. A column with no
/// value at all is written as `[]`.
struct MinuteColumns<'a>(&'a [MinutePoint]);

/// One column of [`MinuteColumns`].
struct Column<'a, F>(&'a [MinutePoint], F);

impl<F: Fn(&MinutePoint) -> Option<f64>> Serialize for Column<'_, F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let values = || self.0.iter().map(|m| Drawn((self.1)(m)));
        if values().all(|v| v.0.and_then(drawable).is_none()) {
            return s.collect_seq(std::iter::empty::<u8>());
        }
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for value in values() {
            seq.serialize_element(&value)?;
        }
        seq.end()
    }
}

impl Serialize for MinuteColumns<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let rows = self.0;
        let minute = |m: &MinutePoint| m.t.timestamp().div_euclid(60);
        let t0 = rows.first().map(|m| minute(m) * 60_000);
        let deltas: Vec<i64> = rows
            .iter()
            .scan(rows.first().map_or(0, minute), |last, m| {
                let delta = minute(m) - *last;
                *last = minute(m);
                Some(delta)
            })
            .collect();
        let count =
            |f: fn(&MinutePoint) -> u64| Column(rows, move |m: &MinutePoint| Some(f(m) as f64));
        let mut cols = s.serialize_struct("Minutes", 15)?;
        cols.serialize_field("t0", &t0)?;
        cols.serialize_field("dt", &deltas)?;
        cols.serialize_field("requests", &count(|m| m.requests))?;
        cols.serialize_field("s2xx", &count(|m| m.s2xx))?;
        cols.serialize_field("s3xx", &count(|m| m.s3xx))?;
        cols.serialize_field("s4xx", &count(|m| m.s4xx))?;
        cols.serialize_field("s5xx", &count(|m| m.s5xx))?;
        cols.serialize_field("h10", &count(|m| m.h10))?;
        cols.serialize_field("h12", &count(|m| m.h12))?;
        cols.serialize_field("h13", &count(|m| m.h13))?;
        cols.serialize_field("errors", &count(|m| m.errors))?;
        cols.serialize_field("p50_ms", &Column(rows, |m: &MinutePoint| m.p50_ms))?;
        cols.serialize_field("p95_ms", &Column(rows, |m: &MinutePoint| m.p95_ms))?;
        cols.serialize_field("busy", &Column(rows, |m: &MinutePoint| m.busy))?;
        cols.serialize_field(
            "dynos",
            &Column(rows, |m: &MinutePoint| m.dynos.map(f64::from)),
        )?;
        cols.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Berlin;
    use serde_json::{json, Value};

    const HOSTILE: &str =
        "</script><script>alert(1)</script><!-- </SCRIPT > & \u{2028}\u{2029} {{data.json}} \"q' ";

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn target(app: &str) -> TargetReport {
        TargetReport {
            app: app.into(),
            process: "web".into(),
            ..TargetReport::default()
        }
    }

    fn report(targets: Vec<TargetReport>) -> ReportData {
        ReportData {
            title: "report".into(),
            generated_at: utc("2026-03-30T00:00:00Z"),
            zone: Zone::utc(),
            targets,
        }
    }

    /// The data element's text, parsed as the page parses it.
    fn data_of(html: &str) -> Value {
        let open = "<script type=\"application/json\" id=\"report-data\">";
        let start = html.find(open).expect("the data element") + open.len();
        let end = start + html[start..].find("</script>").expect("its end");
        serde_json::from_str(&html[start..end]).expect("the data is JSON")
    }

    fn json(data: &ReportData) -> Value {
        serde_json::from_str(&script_json(data)).unwrap()
    }

    #[test]
    fn hostile_strings_stay_inside_the_data_and_come_back_intact() {
        let mut t = target(HOSTILE);
        t.process = HOSTILE.into();
        t.alerts.push(AlertMark {
            t: utc("2026-03-25T10:00:00Z"),
            kind: HOSTILE.into(),
            message: HOSTILE.into(),
        });
        t.scales.push(ScaleMark {
            t: utc("2026-03-25T10:00:00Z"),
            from: Some(1),
            to: Some(2),
            reason: HOSTILE.into(),
            result: Some(HOSTILE.into()),
        });
        t.probes.push(ProbePoint {
            t: utc("2026-03-25T10:00:00Z"),
            latency_ms: Some(12.5),
            outcome: HOSTILE.into(),
        });
        t.summary.notes.push(HOSTILE.into());
        let mut data = report(vec![t]);
        data.title = HOSTILE.into();
        data.zone.name = HOSTILE.into();
        let html = render_html(&data);

        // Four scripts (errors, data, d3, the report), each closed once; no comment opens.
        assert_eq!(html.matches("<script").count(), 4);
        assert_eq!(html.to_ascii_lowercase().matches("</script").count(), 4);
        assert!(!html.contains("<!--"));
        let json = script_json(&data);
        assert!(!json.contains('\u{2028}') && !json.contains('\u{2029}'));
        assert!(html.contains(&json));
        let data = data_of(&html);
        let target = &data["targets"][0];
        for value in [
            &data["title"],
            &data["zone"]["name"],
            &target["app"],
            &target["process"],
            &target["alerts"][0]["kind"],
            &target["alerts"][0]["message"],
            &target["scales"][0]["reason"],
            &target["scales"][0]["result"],
            &target["probes"][0][2],
            &target["summary"]["notes"][0],
        ] {
            assert_eq!(value, HOSTILE);
        }
        // The title is also written as HTML text, escaped.
        let title =
            "<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!-- &lt;/SCRIPT &gt; \
                     &amp; \u{2028}\u{2029} {{data.json}} &quot;q&#39; </title>";
        assert!(html.contains(title), "{}", &html[..400]);
    }

    #[test]
    fn the_template_gets_every_asset_once_and_values_are_not_scanned() {
        let html = render_html(&report(vec![]));
        assert!(!html.contains("{{"), "a slot left unfilled");
        assert!(html.contains(CSS) && html.contains(JS) && html.contains(D3));
        assert!(html.contains(D3_LICENSE), "d3's license travels with it");
        assert_eq!(html.matches(D3).count(), 1);
        assert!(html.starts_with("<!DOCTYPE html>"));

        let filled = fill(
            "a{{x}}b{{y}}c{{x}}{{",
            &[("{{x}}", "{{y}}"), ("{{y}}", "Y")],
        );
        assert_eq!(filled, "a{{y}}bYc{{y}}{{");
        assert_eq!(fill("no slots", &[("{{x}}", "X")]), "no slots");
        assert_eq!(fill("{{x", &[("{{x}}", "X")]), "{{x");
    }

    #[test]
    fn inlined_assets_cannot_end_their_element() {
        for (name, asset) in [("d3.min.js", D3), ("report.js", JS), ("report.css", CSS)] {
            let lower = asset.to_ascii_lowercase();
            for bad in ["</script", "</style", "<!--"] {
                assert!(!lower.contains(bad), "{name} contains {bad}");
            }
        }
        assert!(
            !D3_LICENSE.contains("*/"),
            "the license sits in a /* */ comment"
        );
        assert!(
            D3.starts_with("// https://d3js.org v7.9.0 "),
            "the pinned version"
        );
    }

    #[test]
    fn numbers_the_page_cannot_draw_are_null() {
        let summary = Summary {
            requests: Some(u64::MAX),
            errors: Some(1_000_000_000_000),
            p95_ms: Some(f64::NAN),
            dyno_hours: Some(f64::INFINITY),
            dyno_hours_schedule: Some(-1.0),
            dyno_hours_max: Some(1e300),
            scale_events: Some(0),
            alerts: Some(1_000_000_000_001),
            ..Summary::default()
        };
        let value = serde_json::to_value(&summary).unwrap();
        assert_eq!(
            value,
            json!({"from": null, "to": null, "requests": null, "errors": 1_000_000_000_000u64,
                   "p95_ms": null, "dyno_hours": null, "dyno_hours_schedule": null,
                   "dyno_hours_max": null, "scale_events": 0, "alerts": null, "notes": []})
        );
        let rounded = Summary {
            from: Some(utc("2026-03-23T00:00:00.5Z")),
            to: Some(utc("2026-03-30T00:00:00Z")),
            p95_ms: Some(123.456),
            dyno_hours: Some(2.0),
            dyno_hours_schedule: Some(0.005),
            dyno_hours_max: Some(0.004),
            ..Summary::default()
        };
        let text = serde_json::to_string(&rounded).unwrap();
        assert!(text.contains("\"p95_ms\":123.46,"), "{text}");
        let times = "{\"from\":1774224000500,\"to\":1774828800000,";
        assert!(text.starts_with(times), "{text}");
        assert!(
            text.contains("\"dyno_hours\":2,"),
            "whole numbers without .0: {text}"
        );
        assert!(text.contains("\"dyno_hours_schedule\":0.01,"), "{text}");
        assert!(text.contains("\"dyno_hours_max\":0,"), "{text}");
        assert_eq!(drawable(NUMBER_CAP), Some(NUMBER_CAP));
        assert_eq!(drawable(NUMBER_CAP * 1.000_001), None);
        assert_eq!(drawable(0.0), Some(0.0));
        assert_eq!(drawable(-0.001), None);
    }

    fn minute(t: &str, requests: u64) -> MinutePoint {
        MinutePoint {
            t: utc(t),
            requests,
            s2xx: requests,
            p50_ms: Some(40.25),
            ..MinutePoint::default()
        }
    }

    #[test]
    fn minutes_are_columns_with_minute_deltas() {
        let mut t = target("shop");
        t.concurrency = Some(4);
        t.slow_ms = Some(5000.0);
        t.max = Some(6);
        t.minutes = vec![
            minute("2026-03-25T10:00:00Z", 10),
            minute("2026-03-25T10:01:30Z", 11), // inside 10:01: written as that minute
            minute("2026-03-25T10:05:00Z", 12),
            minute("2026-03-25T10:04:00Z", 13), // out of order: a negative step
        ];
        t.minutes[2].busy = Some(f64::NAN);
        t.minutes[2].dynos = Some(3);
        t.quantity = vec![Step {
            t: utc("2026-03-25T10:00:00Z"),
            quantity: 2,
        }];
        let value = json(&report(vec![t]));
        let target = &value["targets"][0];
        assert_eq!(target["concurrency"], 4);
        assert_eq!(target["slow_ms"], 5000);
        assert_eq!(target["max"], 6);
        let minutes = &target["minutes"];
        assert_eq!(
            minutes["t0"],
            utc("2026-03-25T10:00:00Z").timestamp_millis()
        );
        assert_eq!(minutes["dt"], json!([0, 1, 4, -1]));
        assert_eq!(minutes["requests"], json!([10, 11, 12, 13]));
        assert_eq!(minutes["s2xx"], json!([10, 11, 12, 13]));
        assert_eq!(minutes["p50_ms"], json!([40.25, 40.25, 40.25, 40.25]));
        assert_eq!(minutes["dynos"], json!([null, null, 3, null]));
        // Columns with no value at all cost nothing; a zero is a value.
        for empty in ["busy", "p95_ms"] {
            assert_eq!(minutes[empty], json!([]), "{empty}");
        }
        assert_eq!(minutes["s4xx"], json!([0, 0, 0, 0]));
        assert_eq!(
            target["quantity"],
            json!([[utc("2026-03-25T10:00:00Z").timestamp_millis(), 2]])
        );
        assert_eq!(
            target["dropped"],
            json!({"scales": 0, "alerts": 0, "probes": 0})
        );
        assert_eq!(target["heatmap"], Value::Null);

        let none = json(&report(vec![target_with_nothing()]));
        assert_eq!(none["targets"][0]["minutes"]["t0"], Value::Null);
        assert_eq!(none["targets"][0]["minutes"]["dt"], json!([]));
    }

    fn target_with_nothing() -> TargetReport {
        target("empty")
    }

    #[test]
    fn long_strings_are_cut_and_long_lists_keep_the_latest() {
        let long = "é".repeat(NAME_CAP + 1);
        assert_eq!(cut(&long, NAME_CAP).chars().count(), NAME_CAP);
        assert!(cut(&long, NAME_CAP).ends_with("é…"));
        assert_eq!(cut(&"é".repeat(NAME_CAP), NAME_CAP), "é".repeat(NAME_CAP));
        assert_eq!(cut("", 3), "");

        let at = |i: usize| utc("2026-03-25T00:00:00Z") + chrono::Duration::seconds(i as i64);
        let mut t = target(&long);
        t.alerts = (0..MARKS_CAP + 3)
            .map(|i| AlertMark {
                t: at(i),
                kind: "k".into(),
                message: "m".repeat(TEXT_CAP + 5),
            })
            .collect();
        t.scales = (0..MARKS_CAP)
            .map(|i| ScaleMark {
                t: at(i),
                from: None,
                to: Some(1),
                reason: "r".into(),
                result: None,
            })
            .collect();
        t.probes = (0..10 * MARKS_CAP + 1)
            .map(|i| ProbePoint {
                t: at(i),
                latency_ms: None,
                outcome: "ok".into(),
            })
            .collect();
        t.summary.notes = vec!["n".into(); MARKS_CAP + 1];
        let value = json(&report(vec![t]));
        let target = &value["targets"][0];
        assert_eq!(target["app"].as_str().unwrap().chars().count(), NAME_CAP);
        let alerts = target["alerts"].as_array().unwrap();
        assert_eq!(alerts.len(), MARKS_CAP);
        assert_eq!(
            alerts[0]["t"],
            at(3).timestamp_millis(),
            "the latest are kept"
        );
        assert_eq!(
            alerts[0]["message"].as_str().unwrap().chars().count(),
            TEXT_CAP
        );
        assert_eq!(target["scales"].as_array().unwrap().len(), MARKS_CAP);
        assert_eq!(target["probes"].as_array().unwrap().len(), 10 * MARKS_CAP);
        assert_eq!(
            target["probes"][0],
            json!([at(1).timestamp_millis(), null, "ok"])
        );
        assert_eq!(
            target["dropped"],
            json!({"scales": 0, "alerts": 3, "probes": 1})
        );
        assert_eq!(
            target["summary"]["notes"].as_array().unwrap().len(),
            MARKS_CAP
        );
    }

    #[test]
    fn zone_offsets_are_found_to_the_second() {
        let zone = Zone::covering(
            Berlin,
            utc("2026-03-23T10:00:00.750Z"),
            utc("2026-11-01T00:00:00Z"),
        );
        assert_eq!(zone.name, "Europe/Berlin");
        assert_eq!(
            zone.offsets,
            [
                (utc("2026-03-23T10:00:00Z"), 3600),
                (utc("2026-03-29T01:00:00Z"), 7200),
                (utc("2026-10-25T01:00:00Z"), 3600),
            ]
        );
        let value = serde_json::to_value(&zone).unwrap();
        assert_eq!(
            value["offsets"][1],
            json!([utc("2026-03-29T01:00:00Z").timestamp_millis(), 7200])
        );

        // A change in the last hour of the range, and one just after it.
        let edge = Zone::covering(
            Berlin,
            utc("2026-03-28T00:00:00Z"),
            utc("2026-03-29T01:00:00Z"),
        );
        assert_eq!(
            edge.offsets.last(),
            Some(&(utc("2026-03-29T01:00:00Z"), 7200))
        );
        let before = Zone::covering(
            Berlin,
            utc("2026-03-28T00:00:00Z"),
            utc("2026-03-29T00:59:59Z"),
        );
        assert_eq!(before.offsets, [(utc("2026-03-28T00:00:00Z"), 3600)]);

        // Backwards or empty ranges: the offset at the start only.
        let back = Zone::covering(
            Berlin,
            utc("2026-07-01T00:00:00Z"),
            utc("2026-01-01T00:00:00Z"),
        );
        assert_eq!(back.offsets, [(utc("2026-07-01T00:00:00Z"), 7200)]);
        assert_eq!(
            Zone::covering(
                chrono_tz::UTC,
                utc("2026-01-01T00:00:00Z"),
                utc("2027-01-01T00:00:00Z")
            )
            .offsets
            .len(),
            1
        );
        assert_eq!(Zone::utc().offsets, [(DateTime::UNIX_EPOCH, 0)]);
    }

    #[test]
    fn a_hostile_range_is_capped_to_ten_years() {
        let from = DateTime::<Utc>::MIN_UTC;
        let to = utc("2026-06-01T00:00:00Z");
        let started = std::time::Instant::now();
        let zone = Zone::covering(Berlin, from, to);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let first = zone.offsets[0].0;
        assert_eq!(first, to - chrono::Duration::days(ZONE_SPAN_CAP_DAYS));
        // Two changes a year over ten years.
        assert!(
            (19..=21).contains(&(zone.offsets.len() - 1)),
            "{}",
            zone.offsets.len()
        );
        let far = Zone::covering(Berlin, DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MIN_UTC);
        assert_eq!(far.offsets.len(), 1);
    }

    #[test]
    fn the_heatmap_counts_by_weekday_and_hour_in_the_zone() {
        let minutes = [
            minute("2026-03-22T23:00:00Z", 5), // Monday 00:00 in Berlin (Sunday in UTC)
            minute("2026-03-22T23:59:00Z", 7), // Monday 00:59
            minute("2026-03-29T00:30:00Z", 11), // Sunday 01:30 CET
            minute("2026-03-29T01:30:00Z", 13), // Sunday 03:30 CEST: 02:00 was skipped
            minute("2026-03-29T21:59:00Z", u64::MAX), // Sunday 23:59
            minute("2026-04-05T21:59:00Z", 1), // the next Sunday 23:59: saturates
        ];
        let map = Heatmap::from_minutes(&minutes, Berlin);
        assert_eq!(map.requests[0][0], 12);
        assert_eq!(map.minutes[0][0], 2);
        assert_eq!(map.requests[6][1], 11);
        assert_eq!(map.requests[6][2], 0);
        assert_eq!(map.minutes[6][2], 0);
        assert_eq!(map.requests[6][3], 13);
        assert_eq!(map.requests[6][23], u64::MAX);
        assert_eq!(map.minutes[6][23], 2);
        let total: u32 = map.minutes.iter().flatten().sum();
        assert_eq!(total, 6);
        let utc_map = Heatmap::from_minutes(&minutes[..1], chrono_tz::UTC);
        assert_eq!(utc_map.requests[6][23], 5, "Sunday 23:00 in UTC");
        let value = serde_json::to_value(&map).unwrap();
        assert_eq!(value["requests"].as_array().unwrap().len(), 7);
        assert_eq!(value["minutes"][6].as_array().unwrap().len(), 24);
        assert_eq!(value["requests"][6][3], 13);
    }

    /// A week of one target at one point per minute, probes every 3 minutes: the page's size.
    #[test]
    fn a_week_of_one_target_makes_a_page_under_a_megabyte() {
        let start = utc("2026-03-23T00:00:00Z");
        let mut t = target("shop");
        for i in 0..10_080_u64 {
            // Busy-looking figures with realistic digits: a daily wave and some noise.
            let wave = ((i % 1440) as f64 / 1440.0 * std::f64::consts::TAU)
                .sin()
                .abs();
            let requests = 200 + (1800.0 * wave) as u64 + i * 7 % 13;
            t.minutes.push(MinutePoint {
                t: start + chrono::Duration::minutes(i as i64),
                requests,
                s2xx: requests * 90 / 100,
                s3xx: requests * 5 / 100,
                s4xx: requests * 4 / 100,
                s5xx: requests / 100,
                h10: u64::from(i % 997 == 0),
                h12: u64::from(i % 503 == 0),
                h13: u64::from(i % 251 == 0),
                errors: requests / 100,
                p50_ms: Some(35.0 + 20.0 * wave + (i % 7) as f64 * 0.37),
                p95_ms: Some(180.0 + 150.0 * wave + (i % 11) as f64 * 1.13),
                busy: Some(requests as f64 * 0.06 / 60.0 + (i % 5) as f64 * 0.011),
                dynos: Some(2 + (wave * 3.0) as u32),
            });
            if i % 3 == 0 {
                t.probes.push(ProbePoint {
                    t: start + chrono::Duration::minutes(i as i64),
                    latency_ms: Some(80.0 + (i % 97) as f64 * 1.7),
                    outcome: "ok".into(),
                });
            }
        }
        t.heatmap = Some(Heatmap::from_minutes(&t.minutes, Berlin));
        let page = render_html(&report(vec![t]));
        let assets = TEMPLATE.len() + CSS.len() + JS.len() + D3.len() + D3_LICENSE.len();
        println!(
            "a week of one target: {} bytes in all, {} of them data, {} the page's own files",
            page.len(),
            page.len() - assets,
            assets
        );
        assert!(page.len() < 1_000_000, "{} bytes", page.len());
        assert!(page.len() - assets > 300_000, "the data is all there");
    }
}
