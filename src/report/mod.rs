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
//!   "targets": [ { "app", "process", "concurrency", "slow_ms", "max", "queue_latency_ms",
//!     "queue": [[t, depth, latency_ms, busy, capacity], ...],
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
    /// A worker's AUTOSCALE_QUEUE_LATENCY, drawn on its queue latency panel.
    pub queue_latency_ms: Option<f64>,
    /// A worker's job queue, one point per minute, sorted by time (gaps allowed).
    pub queue: Vec<QueuePoint>,
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

/// A minute of a worker's job queue (`event=queue`). Written as
/// `[t, depth, latency_ms, busy, capacity]` (`busy` null where the store does not say).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueuePoint {
    pub t: DateTime<Utc>,
    pub depth: u64,
    pub latency_ms: u64,
    pub busy: Option<u64>,
    /// Dynos × the jobs each runs at once.
    pub capacity: u64,
}

impl Serialize for QueuePoint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (
            self.t.timestamp_millis(),
            self.depth,
            self.latency_ms,
            self.busy,
            self.capacity,
        )
            .serialize(s)
    }
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
    render_page(data, &Extras::default())
}

/// What a page served by `autoscale serve` has beyond the file `chart` writes.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// Where the page fetches its data again each minute (same origin), written as the
    /// `data-live` attribute of `<html>`.
    pub live: Option<String>,
    /// Markup put first in the header (links back and to other ranges); the caller escapes
    /// what it puts in.
    pub nav: String,
}

/// The page with `extras` (the dashboard's target page; [`render_html`] without them).
pub fn render_page(data: &ReportData, extras: &Extras) -> String {
    render_json_page(&data.title, &script_json(data), extras)
}

/// The page of `json`, already made by [`json`] (the dashboard keeps it for a while), titled
/// `title`.
pub fn render_json_page(title: &str, json: &str, extras: &Extras) -> String {
    let live = extras
        .live
        .as_deref()
        .map(|url| format!(" data-live=\"{}\"", html_text(url)))
        .unwrap_or_default();
    let title = html_text(&cut(title, TEXT_CAP));
    let d3 = format!("/*! d3 v7.9.0, https://d3js.org\n{D3_LICENSE}*/\n{D3}");
    fill(
        TEMPLATE,
        &[
            ("{{title}}", &title),
            ("{{report.css}}", CSS),
            ("{{d3.min.js}}", &d3),
            ("{{report.js}}", JS),
            ("{{data.json}}", json),
            ("{{live}}", &live),
            ("{{nav}}", &extras.nav),
        ],
    )
}

/// The page's data as JSON (what the served page fetches each minute), escaped as in the page.
pub fn json(data: &ReportData) -> String {
    script_json(data)
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
pub fn html_text(text: &str) -> String {
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
        let mut target = s.serialize_struct("TargetReport", 16)?;
        target.serialize_field("app", &cut(&self.app, NAME_CAP))?;
        target.serialize_field("process", &cut(&self.process, NAME_CAP))?;
        target.serialize_field("concurrency", &Drawn(self.concurrency.map(f64::from)))?;
        target.serialize_field("slow_ms", &Drawn(self.slow_ms))?;
        target.serialize_field("max", &Drawn(self.max.map(f64::from)))?;
        target.serialize_field("queue_latency_ms", &Drawn(self.queue_latency_ms))?;
        target.serialize_field("queue", &self.queue)?;
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
mod tests;
