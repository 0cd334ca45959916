//! The `chart` subcommand: reads the daemon's event lines back (raw, or as
//! `heroku logs` prints them) and draws one SVG image of what happened.
//!
//! The image stacks four panels: check latency over time, the dyno quantity
//! against the schedule's floor with each scale decision marked, latency by
//! hour of day against the floor (the "peak periods" view), and a summary.
//!
//! Drawing uses plotters' SVG backend without any font feature: the SVG
//! only names a font family (`sans-serif`) and the browser renders the text,
//! so no font file and no system library is needed; plotters' built-in
//! estimate of text widths is enough to lay out labels and legends.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use chrono::{DateTime, TimeZone, Timelike, Utc};
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use crate::logfmt::Line;

/// Size of the whole image, in pixels.
const WIDTH: u32 = 1200;
const HEIGHT: u32 = 1100;
/// Height of each band, top to bottom; they add up to [`HEIGHT`].
const TITLE_H: u32 = 40;
const LATENCY_H: u32 = 320;
const QUANTITY_H: u32 = 260;
const HOURLY_H: u32 = 300;
const FONT: &str = "sans-serif";
/// Room right of each panel for its legend, in pixels.
const LEGEND_W: u32 = 210;

const FAST_COLOUR: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
const OK_COLOUR: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const SLOW_COLOUR: RGBColor = RGBColor(0xff, 0x7f, 0x0e);
const DOWN_COLOUR: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const QUANTITY_COLOUR: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const FLOOR_COLOUR: RGBColor = RGBColor(0x7f, 0x7f, 0x7f);
const SCALE_COLOUR: RGBColor = RGBColor(0x94, 0x67, 0xbd);
const MEDIAN_COLOUR: RGBColor = RGBColor(0x6b, 0xae, 0xd6);
const P95_COLOUR: RGBColor = RGBColor(0x08, 0x51, 0x9c);
const GRID_COLOUR: RGBColor = RGBColor(0xe4, 0xe4, 0xe4);

/// How to draw the chart.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Title at the top of the image; by default `autoscale: <app>/<process>`
    /// from the log's `start` event.
    pub title: Option<String>,
    /// Only this target (app, process); by default every target in the log, one set of
    /// panels each.
    pub target: Option<(String, String)>,
}

/// What the log says happened, as counted while charting it.
#[derive(Debug)]
pub struct Summary {
    /// Time of the first event line.
    pub from: Option<DateTime<Utc>>,
    /// Time of the last event line.
    pub to: Option<DateTime<Utc>>,
    /// `probe` events.
    pub checks: usize,
    /// Checks whose outcome was `down` or `slow`.
    pub failures: usize,
    /// `scale` events, whatever their result.
    pub scale_events: usize,
    /// Integral of the dyno quantity over `[from, to]`, in dyno-hours.
    pub dyno_hours: f64,
    /// What running `max` dynos over `[from, to]` would have used (the
    /// highest quantity seen stands in when no `start` event gives `max`).
    pub dyno_hours_at_max: f64,
    /// The `max` of the last `start` event.
    pub max: Option<u32>,
    /// Lines that are neither event lines nor Heroku log lines.
    pub skipped_garbage: usize,
    /// Heroku log lines that are not ours (router, other processes).
    pub skipped_unrelated: usize,
    /// Whether the daemon ran with `dry_run=true` (or made dry-run decisions).
    pub dry_run: bool,
    /// Scale events by reason, most frequent first.
    pub scale_reasons: Vec<(String, usize)>,
    /// Scale events whose result was `error`.
    pub scale_errors: usize,
}

/// Why no chart could be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("no autoscale event lines in the input ({skipped} lines skipped)")]
    Empty { skipped: usize },
    #[error("drawing the chart: {0}")]
    Draw(String),
}

/// Parses the text and draws the SVG: one set of panels per target (stacked), or only the
/// target asked for. Returns the SVG document and each target's summary.
pub fn chart(input: &str, options: &Options) -> Result<(String, Vec<Summary>), ChartError> {
    let targets = match &options.target {
        Some(t) => vec![Some(t.clone())],
        None => {
            let found = targets_in(input);
            if found.len() > 1 {
                found.into_iter().map(Some).collect()
            } else {
                vec![None]
            }
        }
    };
    let mut parts = Vec::new();
    let mut summaries = Vec::new();
    for target in &targets {
        let log = Log::read(input, target.as_ref());
        if log.events == 0 {
            if targets.len() == 1 {
                return Err(ChartError::Empty {
                    skipped: log.garbage + log.unrelated,
                });
            }
            continue;
        }
        let summary = log.summary();
        let title = match (&options.title, targets.len()) {
            (Some(t), 1) => t.clone(),
            (Some(t), _) => format!("{t} — {}", log.default_title()),
            (None, _) => log.default_title(),
        };
        let svg = draw(&log, &summary, &clean_text(&title))
            .map_err(|e| ChartError::Draw(e.to_string()))?;
        parts.push(svg);
        summaries.push(summary);
    }
    if parts.len() == 1 {
        return Ok((parts.remove(0), summaries));
    }
    // Stacked: one image of the panel sets one under the other.
    let mut svg = format!(
        r#"<svg width="{WIDTH}" height="{}" viewBox="0 0 {WIDTH} {}" xmlns="http://www.w3.org/2000/svg">"#,
        HEIGHT as usize * parts.len(),
        HEIGHT as usize * parts.len()
    );
    for (i, part) in parts.iter().enumerate() {
        let body = part.find("<svg").map_or(part.as_str(), |at| &part[at..]);
        let body = body.replacen("<svg ", &format!(r#"<svg y="{}" "#, HEIGHT as usize * i), 1);
        svg.push_str(&body);
    }
    svg.push_str("</svg>\n");
    Ok((svg, summaries))
}

/// The targets (app, process) the log's lines name, in order of first appearance.
fn targets_in(input: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    for raw in input.lines() {
        if let Classified::Event(_, line) = classify(raw) {
            if let (Some(app), Some(process)) = (line.get("app"), line.get("process")) {
                if !found.iter().any(|(a, p)| a == app && p == process) {
                    found.push((app.to_owned(), process.to_owned()));
                }
            }
        }
    }
    found
}

// ---------------------------------------------------------------------------
// Reading the log

/// Outcome of one check, as the `probe` event's `outcome` field says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Fast,
    Ok,
    Slow,
    Down,
}

impl Outcome {
    fn parse(value: Option<&str>) -> Outcome {
        match value {
            Some("fast") => Outcome::Fast,
            Some("slow") => Outcome::Slow,
            Some("down") => Outcome::Down,
            _ => Outcome::Ok,
        }
    }
}

#[derive(Debug, Clone)]
struct Probe {
    /// Seconds since the Unix epoch.
    t: f64,
    hour: u32,
    latency_ms: Option<f64>,
    outcome: Outcome,
    current: Option<u32>,
    floor: Option<u32>,
}

#[derive(Debug, Clone)]
struct Scale {
    t: f64,
    from: Option<u32>,
    to: Option<u32>,
    reason: String,
    result: String,
}

/// Everything the chart needs from the input.
#[derive(Debug, Default)]
struct Log {
    /// Event lines read (of any event).
    events: usize,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    probes: Vec<Probe>,
    scales: Vec<Scale>,
    /// `(t, quantity)` known from `current`/`from`/`to` fields, by time.
    quantities: Vec<(f64, u32)>,
    /// `(t, floor)` from probes, by time.
    floors: Vec<(f64, u32)>,
    slow_ms: Option<f64>,
    fast_ms: Option<f64>,
    max: Option<u32>,
    /// AUTOSCALE_TZ from the `start` event: hours of day are the schedule's hours.
    tz: Option<chrono_tz::Tz>,
    dry_run: bool,
    app: Option<String>,
    process: Option<String>,
    garbage: usize,
    unrelated: usize,
}

/// One input line, classified.
enum Classified {
    Event(DateTime<Utc>, Line),
    Unrelated,
    Garbage,
    Blank,
}

fn classify(raw: &str) -> Classified {
    let text = raw.trim();
    if text.is_empty() {
        return Classified::Blank;
    }
    if let Some((ts, source, payload)) = heroku_prefix(text) {
        let ours = source.starts_with("app[");
        return match event_line(payload) {
            Some(line) if ours => Classified::Event(ts, line),
            // A payload of ours cut short (Heroku truncates long lines).
            None if ours && payload.starts_with("ts=") => Classified::Garbage,
            _ => Classified::Unrelated,
        };
    }
    match event_line(text) {
        Some(line) => match line.get("ts").and_then(parse_time) {
            Some(ts) => Classified::Event(ts, line),
            None => Classified::Garbage,
        },
        None => Classified::Garbage,
    }
}

/// Splits `2026-11-30T02:48:28.123456+00:00 app[clock.1]: payload`.
fn heroku_prefix(text: &str) -> Option<(DateTime<Utc>, &str, &str)> {
    let (ts, rest) = text.split_once(' ')?;
    let ts = parse_time(ts)?;
    let rest = rest.trim_start();
    let (source, payload) = match rest.split_once(char::is_whitespace) {
        Some((source, payload)) => (source, payload.trim_start()),
        None => (rest, ""),
    };
    let name = source.strip_suffix("]:")?;
    let (kind, dyno) = name.split_once('[')?;
    if kind.is_empty() || dyno.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some((ts, source, payload))
}

/// A logfmt line with the fields every event line of ours has.
fn event_line(text: &str) -> Option<Line> {
    let line = Line::parse(text)?;
    (line.event().is_some_and(|e| !e.is_empty())
        && line.get("ts").is_some()
        && line.get("level").is_some())
    .then_some(line)
}

/// Times before 2000 or after 2200 are not from a running daemon: such a line is garbage (a
/// hostile year 9999 would stretch the time axis over millennia).
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .filter(|t| (2000..=2200).contains(&chrono::Datelike::year(t)))
}

/// Every number the chart reads is validated: a line whose latency or quantity is not a
/// number in range is garbage, never an infinite axis.
fn plausible(line: &Line) -> bool {
    let within = |key: &str, max: f64| {
        line.get(key).filter(|v| !v.is_empty()).is_none_or(|v| {
            v.trim()
                .parse::<f64>()
                .is_ok_and(|x| x.is_finite() && (0.0..=max).contains(&x))
        })
    };
    within("latency_ms", 86_400_000.0)
        && ["current", "floor", "from", "to", "max"]
            .iter()
            .all(|k| within(k, f64::from(crate::schedule::MAX_QUANTITY)))
}

fn epoch_secs(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

fn number<T: std::str::FromStr>(line: &Line, key: &str) -> Option<T> {
    line.get(key).and_then(|v| v.trim().parse().ok())
}

/// The daemon's humantime durations (`5s`, `300ms`, `1s 500ms`) in milliseconds; `None` for
/// `off`, empty or unreadable values.
fn duration_ms(text: &str) -> Option<f64> {
    humantime::parse_duration(text.trim())
        .ok()
        .map(|d| d.as_secs_f64() * 1000.0)
}

fn format_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{}s", trim_float(ms / 1000.0))
    } else {
        format!("{}ms", trim_float(ms))
    }
}

fn trim_float(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

impl Log {
    /// Reads the lines of one target (those of another target are left out; lines about no
    /// target, like `shutdown`, belong to all).
    fn read(input: &str, target: Option<&(String, String)>) -> Log {
        let mut log = Log::default();
        let mut events: Vec<(DateTime<Utc>, Line)> = Vec::new();
        for raw in input.lines() {
            match classify(raw) {
                Classified::Event(_, line)
                    if target.is_some_and(|(app, process)| {
                        line.get("app").is_some_and(|a| a != app)
                            || line.get("process").is_some_and(|p| p != process)
                    }) => {}
                Classified::Event(ts, line) if !plausible(&line) => {
                    let _ = ts;
                    log.garbage += 1;
                }
                Classified::Event(ts, line) => events.push((ts, line)),
                Classified::Unrelated => log.unrelated += 1,
                Classified::Garbage => log.garbage += 1,
                Classified::Blank => {}
            }
        }
        // Lines from several dynos may interleave out of order.
        events.sort_by_key(|(ts, _)| *ts);
        log.events = events.len();
        log.first = events.first().map(|(ts, _)| *ts);
        log.last = events.last().map(|(ts, _)| *ts);
        for (ts, line) in &events {
            log.add(*ts, line);
        }
        log
    }

    fn add(&mut self, ts: DateTime<Utc>, line: &Line) {
        let t = epoch_secs(ts);
        match line.event() {
            Some("start") => {
                self.slow_ms = line.get("slow").and_then(duration_ms);
                self.fast_ms = line.get("fast").and_then(duration_ms);
                self.max = number(line, "max").or(self.max);
                self.tz = line.get("tz").and_then(|z| z.parse().ok()).or(self.tz);
                if line.get("dry_run") == Some("true") {
                    self.dry_run = true;
                }
                self.app = line.get("app").map(str::to_owned).or(self.app.take());
                self.process = line
                    .get("process")
                    .map(str::to_owned)
                    .or(self.process.take());
            }
            Some("probe") => {
                let probe = Probe {
                    t,
                    hour: self.tz.map_or(ts.hour(), |tz| ts.with_timezone(&tz).hour()),
                    latency_ms: number::<f64>(line, "latency_ms").filter(|v| v.is_finite()),
                    outcome: Outcome::parse(line.get("outcome")),
                    current: number(line, "current"),
                    floor: number(line, "floor"),
                };
                if let Some(current) = probe.current {
                    self.quantities.push((t, current));
                }
                if let Some(floor) = probe.floor {
                    self.floors.push((t, floor));
                }
                self.probes.push(probe);
            }
            Some("scale_skip") => {
                if let Some(current) = number(line, "current") {
                    self.quantities.push((t, current));
                }
            }
            Some("scale") => {
                let scale = Scale {
                    t,
                    from: number(line, "from"),
                    to: number(line, "to"),
                    reason: line.get("reason").unwrap_or("?").to_owned(),
                    result: line.get("result").unwrap_or("ok").to_owned(),
                };
                if let Some(from) = scale.from {
                    self.quantities.push((t, from));
                }
                match scale.result.as_str() {
                    "ok" => {
                        if let Some(to) = scale.to {
                            self.quantities.push((t, to));
                        }
                    }
                    "dry_run" => self.dry_run = true,
                    _ => {}
                }
                self.scales.push(scale);
            }
            _ => {}
        }
    }

    fn default_title(&self) -> String {
        match (&self.app, &self.process) {
            (Some(app), Some(process)) => format!("autoscale: {app}/{process}"),
            (Some(app), None) => format!("autoscale: {app}"),
            _ => "autoscale".to_owned(),
        }
    }

    /// `(start, end)` in epoch seconds; both exist when there are events.
    fn span(&self) -> (f64, f64) {
        match (self.first, self.last) {
            (Some(a), Some(b)) => (epoch_secs(a), epoch_secs(b)),
            _ => (0.0, 0.0),
        }
    }

    fn highest_quantity(&self) -> Option<u32> {
        self.quantities
            .iter()
            .map(|&(_, q)| q)
            .chain(self.scales.iter().filter_map(|s| s.to))
            .max()
    }

    fn summary(&self) -> Summary {
        let (start, end) = self.span();
        let hours = (end - start).max(0.0) / 3600.0;
        let at_max = self.max.or_else(|| self.highest_quantity()).unwrap_or(0);
        let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
        for scale in &self.scales {
            *reasons.entry(scale.reason.as_str()).or_default() += 1;
        }
        let mut scale_reasons: Vec<(String, usize)> = reasons
            .into_iter()
            .map(|(reason, n)| (reason.to_owned(), n))
            .collect();
        scale_reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Summary {
            from: self.first,
            to: self.last,
            checks: self.probes.len(),
            failures: self
                .probes
                .iter()
                .filter(|p| matches!(p.outcome, Outcome::Down | Outcome::Slow))
                .count(),
            scale_events: self.scales.len(),
            dyno_hours: integral(&self.quantities, start, end) / 3600.0,
            dyno_hours_at_max: f64::from(at_max) * hours,
            max: self.max,
            skipped_garbage: self.garbage,
            skipped_unrelated: self.unrelated,
            dry_run: self.dry_run,
            scale_reasons,
            scale_errors: self.scales.iter().filter(|s| s.result == "error").count(),
        }
    }
}

/// Integral over `[start, end]` of the step function through `points`
/// (sorted by time; each value holds until the next point). The first value
/// also stands for the moments before it, so that used and always-max
/// dyno-hours cover the same time.
fn integral(points: &[(f64, u32)], start: f64, end: f64) -> f64 {
    let Some(&(_, first)) = points.first() else {
        return 0.0;
    };
    let mut total = 0.0;
    let mut t = start;
    let mut value = first;
    for &(pt, pv) in points {
        let pt = pt.clamp(start, end);
        total += f64::from(value) * (pt - t);
        t = pt;
        value = pv;
    }
    total + f64::from(value) * (end - t)
}

/// Points of a step line through `points`, held until `end`.
fn step_points(points: &[(f64, u32)], end: f64) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2 + 1);
    let mut last: Option<u32> = None;
    for &(t, v) in points {
        if let Some(prev) = last {
            if prev == v {
                continue;
            }
            out.push((t, f64::from(prev)));
        }
        out.push((t, f64::from(v)));
        last = Some(v);
    }
    if let (Some(v), Some(&(t, _))) = (last, out.last()) {
        if end > t {
            out.push((end, f64::from(v)));
        }
    }
    out
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Nearest-rank percentile of a sorted, non-empty slice.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Text that is safe in the SVG: no control characters (invalid in XML).
fn clean_text(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.from, self.to) {
            (Some(from), Some(to)) => writeln!(
                f,
                "time range: {} to {} ({})",
                from.format("%Y-%m-%d %H:%M:%S UTC"),
                to.format("%Y-%m-%d %H:%M:%S UTC"),
                human_span((to - from).num_milliseconds() as f64 / 1000.0)
            )?,
            _ => writeln!(f, "time range: none")?,
        }
        writeln!(
            f,
            "checks: {}, failures (down or slow): {}{}",
            self.checks,
            self.failures,
            if self.checks > 0 {
                format!(
                    " ({:.1}%)",
                    100.0 * self.failures as f64 / self.checks as f64
                )
            } else {
                String::new()
            }
        )?;
        write!(f, "scale events: {}", self.scale_events)?;
        if !self.scale_reasons.is_empty() {
            let reasons: Vec<String> = self
                .scale_reasons
                .iter()
                .map(|(reason, n)| format!("{reason} {n}"))
                .collect();
            write!(f, " ({})", reasons.join(", "))?;
        }
        if self.scale_errors > 0 {
            write!(f, ", {} failed", self.scale_errors)?;
        }
        if self.dry_run {
            write!(f, "; dry run: decisions were not applied")?;
        }
        writeln!(f)?;
        let max = match self.max {
            Some(max) => format!("max {max}"),
            None => "highest quantity seen (no max in the log)".to_owned(),
        };
        // Short logs (a demo) would show only zeros with two decimals.
        let digits = if self.dyno_hours_at_max.max(self.dyno_hours) < 1.0 {
            4
        } else {
            2
        };
        write!(
            f,
            "dyno-hours: {:.digits$} used vs {:.digits$} at {max}",
            self.dyno_hours, self.dyno_hours_at_max
        )?;
        if self.dyno_hours_at_max > 0.0 {
            write!(
                f,
                " (saving {:.1}%)",
                100.0 * (1.0 - self.dyno_hours / self.dyno_hours_at_max)
            )?;
        }
        writeln!(f)?;
        write!(
            f,
            "skipped lines: {} garbage, {} unrelated",
            self.skipped_garbage, self.skipped_unrelated
        )
    }
}

fn human_span(secs: f64) -> String {
    let secs = secs.max(0.0);
    if secs < 60.0 {
        return format!("{}s", trim_float(secs));
    }
    let total = secs.round() as u64;
    let (d, h, m, s) = (
        total / 86400,
        total % 86400 / 3600,
        total % 3600 / 60,
        total % 60,
    );
    match (d, h) {
        (0, 0) => format!("{m}m {s}s"),
        (0, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h {m}m"),
    }
}

// ---------------------------------------------------------------------------
// Time axis

/// An x axis of epoch seconds whose ticks fall on round clock times.
#[derive(Debug, Clone)]
struct TimeAxis {
    start: f64,
    end: f64,
}

/// Tick spacings to choose from, in seconds.
const TICK_STEPS: &[f64] = &[
    0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0,
    3600.0, 7200.0, 10800.0, 21600.0, 43200.0, 86400.0, 172800.0, 604800.0,
];

impl TimeAxis {
    /// Axis covering `[start, end]` plus a margin, at least a minute wide.
    fn new(start: f64, end: f64) -> TimeAxis {
        let span = end - start;
        if span < 60.0 {
            let pad = (60.0 - span) / 2.0;
            TimeAxis {
                start: start - pad,
                end: end + pad,
            }
        } else {
            let pad = span * 0.02;
            TimeAxis {
                start: start - pad,
                end: end + pad,
            }
        }
    }

    fn label_format(&self) -> &'static str {
        let span = self.end - self.start;
        if span <= 10.0 {
            "%H:%M:%S%.1f"
        } else if span <= 600.0 {
            "%H:%M:%S"
        } else if span <= 86400.0 {
            "%H:%M"
        } else if span <= 7.0 * 86400.0 {
            "%m-%d %H:%M"
        } else {
            "%Y-%m-%d"
        }
    }

    fn label(&self, t: f64) -> String {
        let ms = (t * 1000.0).round() as i64;
        match Utc.timestamp_millis_opt(ms).single() {
            Some(dt) => dt.format(self.label_format()).to_string(),
            None => String::new(),
        }
    }

    /// Axis caption: the date too when all of it is on one day.
    fn description(&self) -> String {
        let day = |t: f64| {
            Utc.timestamp_millis_opt((t * 1000.0) as i64)
                .single()
                .map(|d| d.format("%Y-%m-%d").to_string())
        };
        match (day(self.start), day(self.end)) {
            (Some(a), Some(b)) if a == b => format!("time (UTC, {a})"),
            _ => "time (UTC)".to_owned(),
        }
    }
}

impl Ranged for TimeAxis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let ratio = (value - self.start) / (self.end - self.start);
        let pixels = ratio * f64::from(limit.1 - limit.0);
        limit.0 + pixels.clamp(-1e6, 1e6).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        let most = hint.max_num_points().max(2);
        let span = self.end - self.start;
        let step = TICK_STEPS
            .iter()
            .copied()
            .find(|step| span / step < most as f64)
            .unwrap_or_else(|| (span / most as f64 / 604800.0).ceil() * 604800.0);
        let mut points = Vec::new();
        let mut i = (self.start / step).ceil();
        while i * step <= self.end && points.len() <= most {
            points.push(i * step);
            i += 1.0;
        }
        points
    }

    fn range(&self) -> Range<f64> {
        self.start..self.end
    }
}

impl ValueFormatter<f64> for TimeAxis {
    fn format_ext(&self, value: &f64) -> String {
        self.label(*value)
    }
}

// ---------------------------------------------------------------------------
// Drawing

type DrawResult<T> = Result<T, Box<dyn std::error::Error>>;
type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn draw(log: &Log, summary: &Summary, title: &str) -> DrawResult<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let (title_area, rest) = root.split_vertically(TITLE_H);
        let (latency_area, rest) = rest.split_vertically(LATENCY_H);
        let (quantity_area, rest) = rest.split_vertically(QUANTITY_H);
        let (hourly_area, summary_area) = rest.split_vertically(HOURLY_H);

        title_area.titled(title, (FONT, 26).into_font().style(FontStyle::Bold))?;
        let (start, end) = log.span();
        let axis = TimeAxis::new(start, end);
        draw_latency(&latency_area, log, &axis)?;
        draw_quantity(&quantity_area, log, &axis, end)?;
        draw_hourly(&hourly_area, log)?;
        draw_summary(&summary_area, summary)?;
        root.present()?;
    }
    Ok(svg)
}

fn outcome_style(outcome: Outcome) -> (RGBColor, &'static str) {
    match outcome {
        Outcome::Fast => (FAST_COLOUR, "latency (fast)"),
        Outcome::Ok => (OK_COLOUR, "latency (ok)"),
        Outcome::Slow => (SLOW_COLOUR, "latency (slow)"),
        Outcome::Down => (DOWN_COLOUR, "down (no latency)"),
    }
}

fn panel_note(area: &Area<'_>, text: &str) -> DrawResult<()> {
    let (w, h) = area.dim_in_pixel();
    area.draw(&Text::new(
        text.to_owned(),
        (w as i32 / 2, h as i32 / 2),
        (FONT, 16)
            .into_font()
            .color(&FLOOR_COLOUR)
            .pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Center,
            )),
    ))?;
    Ok(())
}

/// How a legend entry shows its series.
#[derive(Clone, Copy)]
enum Mark {
    Dot(RGBColor),
    Cross(RGBColor),
    Line(RGBColor, u32),
    Dashed(RGBColor),
    Bar(RGBColor),
    Triangle(RGBColor),
}

/// Draws a legend (a mark and a label per series) in the column right of a
/// panel; plotters' own legend box would have to sit over the data.
fn draw_legend(area: &Area<'_>, entries: &[(Mark, String)]) -> DrawResult<()> {
    let area = area.margin(40, 0, 10, 0);
    let font = (FONT, 14).into_font();
    for (i, (mark, label)) in (0i32..).zip(entries) {
        let y = i * 22 + 8;
        let (x0, x1, xc) = (0, 24, 12);
        match *mark {
            Mark::Dot(c) => area.draw(&Circle::new((xc, y), 4, c.filled()))?,
            Mark::Cross(c) => area.draw(&Cross::new((xc, y), 5, c.stroke_width(2)))?,
            Mark::Line(c, w) => {
                area.draw(&PathElement::new([(x0, y), (x1, y)], c.stroke_width(w)))?
            }
            Mark::Dashed(c) => area.draw(&DashedPathElement::new(
                [(x0, y), (x1, y)],
                5,
                3,
                c.stroke_width(2),
            ))?,
            Mark::Bar(c) => area.draw(&Rectangle::new(
                [(x0 + 2, y - 5), (x1 - 2, y + 5)],
                c.filled(),
            ))?,
            Mark::Triangle(c) => area.draw(&TriangleMarker::new((xc, y), 6, c.filled()))?,
        }
        area.draw(&Text::new(
            label.clone(),
            (x1 + 8, y),
            font.color(&BLACK)
                .pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Left,
                    plotters::style::text_anchor::VPos::Center,
                )),
        ))?;
    }
    Ok(())
}

fn draw_latency(area: &Area<'_>, log: &Log, axis: &TimeAxis) -> DrawResult<()> {
    let (area, legend_area) = area.split_horizontally(WIDTH - LEGEND_W);
    let latencies = log
        .probes
        .iter()
        .filter(|p| p.outcome != Outcome::Down)
        .filter_map(|p| p.latency_ms);
    let thresholds = log.slow_ms.iter().chain(log.fast_ms.iter()).copied();
    let values: Vec<f64> = latencies.chain(thresholds).map(|v| v.max(1.0)).collect();
    let lowest = values.iter().copied().fold(f64::INFINITY, f64::min);
    let highest = values.iter().copied().fold(0.0, f64::max);
    let (low, high) = if values.is_empty() {
        (1.0, 1000.0)
    } else {
        ((lowest / 2.0).max(1.0), (highest * 2.0).max(10.0))
    };
    // A down check has no meaningful latency: its cross goes at the top.
    let top = high / 1.25;

    let mut chart = ChartBuilder::on(&area)
        .caption("Check latency", (FONT, 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(70)
        .build_cartesian_2d(axis.clone(), (low..high).log_scale())?;
    chart
        .configure_mesh()
        .x_desc(axis.description())
        .y_desc("latency (ms, log scale)")
        .y_label_formatter(&|v| trim_float(*v))
        .bold_line_style(GRID_COLOUR)
        .light_line_style(TRANSPARENT)
        .x_labels(10)
        .draw()?;

    let mut legend = Vec::new();
    for outcome in [Outcome::Fast, Outcome::Ok, Outcome::Slow] {
        let (colour, label) = outcome_style(outcome);
        chart.draw_series(
            log.probes
                .iter()
                .filter(|p| p.outcome == outcome)
                .filter_map(|p| p.latency_ms.map(|l| (p.t, l.clamp(low, high))))
                .map(|point| Circle::new(point, 3, colour.filled())),
        )?;
        legend.push((Mark::Dot(colour), label.to_owned()));
    }
    let (colour, label) = outcome_style(Outcome::Down);
    chart.draw_series(
        log.probes
            .iter()
            .filter(|p| p.outcome == Outcome::Down)
            .map(|p| Cross::new((p.t, top), 5, colour.stroke_width(2))),
    )?;
    legend.push((Mark::Cross(colour), label.to_owned()));

    for (name, ms, colour) in [
        ("slow", log.slow_ms, SLOW_COLOUR),
        ("fast", log.fast_ms, FAST_COLOUR),
    ] {
        let Some(ms) = ms else { continue };
        let y = ms.clamp(low, high);
        chart.draw_series(DashedLineSeries::new(
            [(axis.start, y), (axis.end, y)],
            8,
            5,
            colour.stroke_width(2),
        ))?;
        chart.draw_series(std::iter::once(
            EmptyElement::at((axis.start, y))
                + Text::new(
                    format!("{name} {}", format_ms(ms)),
                    (4, -16),
                    (FONT, 13).into_font().color(&colour),
                ),
        ))?;
        legend.push((
            Mark::Dashed(colour),
            format!("{name} threshold ({})", format_ms(ms)),
        ));
    }
    draw_legend(&legend_area, &legend)?;
    if log.probes.is_empty() {
        panel_note(&area, "no checks in this log")?;
    }
    Ok(())
}

fn draw_quantity(area: &Area<'_>, log: &Log, axis: &TimeAxis, end: f64) -> DrawResult<()> {
    let (area, legend_area) = area.split_horizontally(WIDTH - LEGEND_W);
    let highest = log
        .highest_quantity()
        .into_iter()
        .chain(log.floors.iter().map(|&(_, f)| f))
        .chain(log.max)
        .max()
        .unwrap_or(1)
        .max(1);
    // Head room for the decision labels above the highest step.
    let top = f64::from(highest) * 1.3 + 0.8;

    let mut chart = ChartBuilder::on(&area)
        .caption("Dyno quantity", (FONT, 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(70)
        .build_cartesian_2d(axis.clone(), 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc(axis.description())
        .y_desc("dynos")
        .y_label_formatter(&|v| {
            if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                String::new()
            }
        })
        .bold_line_style(GRID_COLOUR)
        .light_line_style(TRANSPARENT)
        .x_labels(10)
        .draw()?;

    chart.draw_series(LineSeries::new(
        step_points(&log.quantities, end),
        QUANTITY_COLOUR.stroke_width(3),
    ))?;
    // Dashed and on top: the quantity often sits exactly on the floor.
    chart.draw_series(DashedLineSeries::new(
        step_points(&log.floors, end),
        7,
        5,
        FLOOR_COLOUR.stroke_width(2),
    ))?;

    // Too many labels would only overlap: past this, markers alone.
    let labelled = log.scales.len() <= 60;
    let font = (FONT, 12).into_font();
    chart.draw_series(log.scales.iter().enumerate().map(|(i, s)| {
        let y = f64::from(s.to.or(s.from).unwrap_or(0));
        let (colour, filled, suffix) = match s.result.as_str() {
            "ok" => (SCALE_COLOUR, true, ""),
            "dry_run" => (SCALE_COLOUR, false, " (dry run)"),
            _ => (DOWN_COLOUR, true, " (error)"),
        };
        let style = if filled {
            colour.filled()
        } else {
            colour.stroke_width(2)
        };
        let text = if labelled {
            clean_text(&format!("{}{suffix}", s.reason))
        } else {
            String::new()
        };
        let dy = if i % 2 == 0 { -22 } else { -36 };
        EmptyElement::at((s.t, y))
            + TriangleMarker::new((0, 0), 6, style)
            + Text::new(text, (-10, dy), font.clone().color(&colour))
    }))?;

    draw_legend(
        &legend_area,
        &[
            (Mark::Line(QUANTITY_COLOUR, 3), "quantity".to_owned()),
            (Mark::Dashed(FLOOR_COLOUR), "floor (schedule)".to_owned()),
            (Mark::Triangle(SCALE_COLOUR), "scale (reason)".to_owned()),
            (Mark::Triangle(DOWN_COLOUR), "scale failed".to_owned()),
        ],
    )?;
    if log.quantities.is_empty() && log.scales.is_empty() {
        panel_note(&area, "no dyno quantity in this log")?;
    }
    Ok(())
}

/// Per hour of day (in the schedule's zone): median and p95 latency of answered checks, mean floor.
struct Hourly {
    median: Vec<(u32, f64)>,
    p95: Vec<(u32, f64)>,
    floor: Vec<(u32, f64)>,
}

fn hourly(log: &Log) -> Hourly {
    let mut latencies: Vec<Vec<f64>> = vec![Vec::new(); 24];
    let mut floors: Vec<(f64, usize)> = vec![(0.0, 0); 24];
    for p in &log.probes {
        let h = p.hour as usize % 24;
        if p.outcome != Outcome::Down {
            if let Some(l) = p.latency_ms {
                latencies[h].push(l);
            }
        }
        if let Some(f) = p.floor {
            floors[h].0 += f64::from(f);
            floors[h].1 += 1;
        }
    }
    let mut out = Hourly {
        median: Vec::new(),
        p95: Vec::new(),
        floor: Vec::new(),
    };
    for (h, mut values) in (0u32..).zip(latencies) {
        if values.is_empty() {
            continue;
        }
        values.sort_by(f64::total_cmp);
        out.median.push((h, median(&values)));
        out.p95.push((h, percentile(&values, 95.0)));
    }
    for (h, (sum, n)) in (0u32..).zip(floors) {
        if n > 0 {
            out.floor.push((h, sum / n as f64));
        }
    }
    out
}

fn draw_hourly(area: &Area<'_>, log: &Log) -> DrawResult<()> {
    let (area, legend_area) = area.split_horizontally(WIDTH - LEGEND_W);
    let by_hour = hourly(log);
    let zone = log.tz.map_or_else(|| "UTC".to_owned(), |tz| tz.to_string());
    let highest = by_hour.p95.iter().map(|&(_, v)| v).fold(0.0, f64::max);
    let top = (highest * 1.2).max(10.0);
    let floor_top = by_hour
        .floor
        .iter()
        .map(|&(_, v)| v)
        .fold(0.0, f64::max)
        .max(f64::from(log.max.unwrap_or(1)))
        * 1.2
        + 0.5;

    let mut chart = ChartBuilder::on(&area)
        .caption(
            format!("Latency by hour of day ({zone}) vs the schedule's floor"),
            (FONT, 18),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(70)
        .right_y_label_area_size(60)
        .build_cartesian_2d(0f64..24f64, 0f64..top)?
        .set_secondary_coord(0f64..24f64, 0f64..floor_top);
    chart
        .configure_mesh()
        .x_labels(25)
        .x_label_formatter(&|h| format!("{h:.0}"))
        .x_desc(format!("hour of day ({zone})"))
        .y_desc("latency (ms)")
        .y_label_formatter(&|v| trim_float(*v))
        .bold_line_style(GRID_COLOUR)
        .light_line_style(TRANSPARENT)
        .draw()?;
    chart
        .configure_secondary_axes()
        .y_desc("floor (dynos)")
        .y_label_formatter(&|v| trim_float(*v))
        .draw()?;

    let bar = |h: u32, v: f64, left: f64, colour: RGBColor| {
        let x = f64::from(h);
        Rectangle::new([(x + left, 0.0), (x + left + 0.38, v)], colour.filled())
    };
    chart.draw_series(
        by_hour
            .median
            .iter()
            .map(|&(h, v)| bar(h, v, 0.1, MEDIAN_COLOUR)),
    )?;
    chart.draw_series(
        by_hour
            .p95
            .iter()
            .map(|&(h, v)| bar(h, v, 0.52, P95_COLOUR)),
    )?;
    // The floor as a step across each hour that saw checks.
    chart.draw_secondary_series(by_hour.floor.iter().map(|&(h, v)| {
        PathElement::new(
            [(f64::from(h), v), (f64::from(h) + 1.0, v)],
            FLOOR_COLOUR.stroke_width(3),
        )
    }))?;

    draw_legend(
        &legend_area,
        &[
            (Mark::Bar(MEDIAN_COLOUR), "median latency".to_owned()),
            (Mark::Bar(P95_COLOUR), "p95 latency".to_owned()),
            (
                Mark::Line(FLOOR_COLOUR, 3),
                "floor (mean, right axis)".to_owned(),
            ),
        ],
    )?;
    if by_hour.median.is_empty() {
        panel_note(&area, "no answered checks in this log")?;
    }
    Ok(())
}

fn draw_summary(area: &Area<'_>, summary: &Summary) -> DrawResult<()> {
    let area = area.margin(5, 10, 30, 30);
    area.draw(&Rectangle::new(
        [(0, 0), (WIDTH as i32 - 60, 170)],
        GRID_COLOUR.stroke_width(1),
    ))?;
    area.draw(&Text::new(
        "Summary",
        (12, 10),
        (FONT, 17).into_font().style(FontStyle::Bold),
    ))?;
    let text = summary.to_string();
    for (i, line) in (0i32..).zip(text.lines()) {
        area.draw(&Text::new(
            clean_text(line),
            (12, 38 + i * 24),
            (FONT, 15).into_font(),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A short day of the daemon: start, checks, a failure, scale out and in.
    const RAW: &str = r#"ts=2026-11-30T06:00:01.123Z level=info event=start version=0.1.0 app=shop process=web schedule="07:00=3; 22:00=2; 03:00=1" tz=UTC max=3 check_url=https://shop.herokuapp.com/ interval=3m timeout=10s slow=5s fast=1s scale_out_after=1 scale_in_after=3 dry_run=false next_edge=2026-11-30T07:00:00+00:00 next_quantity=3
ts=2026-11-30T06:00:01.300Z level=info event=scale_skip reason=at_target current=1 trigger=startup
ts=2026-11-30T06:00:01.500Z level=info event=probe status=200 latency_ms=87 outcome=fast error="" current=1 floor=1
ts=2026-11-30T06:03:01.500Z level=warn event=probe status=500 latency_ms=12 outcome=down error="HTTP 500" current=1 floor=1
ts=2026-11-30T06:03:01.700Z level=info event=scale from=1 to=3 reason=down result=ok
ts=2026-11-30T06:06:01.500Z level=warn event=probe status="" latency_ms=10000 outcome=down error="timeout: no complete answer within 10s" current=3 floor=1
ts=2026-11-30T06:09:01.500Z level=info event=probe status=200 latency_ms=1500 outcome=ok error="" current=3 floor=1
ts=2026-11-30T06:12:01.500Z level=info event=probe status=200 latency_ms=6200 outcome=slow error="" current="" floor=""
ts=2026-11-30T06:15:01.500Z level=info event=api_error status=429 message="rate limited"
ts=2026-11-30T06:30:00.000Z level=info event=scale from=3 to=1 reason=scale_in result=ok
ts=2026-11-30T07:00:00.200Z level=info event=scale from=1 to=3 reason=schedule result=ok
ts=2026-11-30T07:03:00.500Z level=info event=probe status=200 latency_ms=90 outcome=fast error="" current=3 floor=3
ts=2026-11-30T07:06:00.000Z level=info event=log target=hyper::proto message="x y"
ts=2026-11-30T08:00:01.123Z level=info event=shutdown signal=SIGTERM clean=true took_ms=3
"#;

    fn prefixed(raw: &str, offset_ms: i64) -> String {
        let mut out = String::new();
        for line in raw.lines() {
            let ts = line.strip_prefix("ts=").unwrap().split(' ').next().unwrap();
            let t = parse_time(ts).unwrap() + chrono::Duration::milliseconds(offset_ms);
            let prefix = t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00");
            out.push_str(&format!("{prefix} app[clock.1]: {line}\n"));
            out.push_str(&format!(
                "{prefix} heroku[router]: at=info method=GET path=\"/\" host=shop.herokuapp.com \
                 status=200 bytes=512 protocol=https\n"
            ));
        }
        out.push_str(
            "2026-11-30T08:00:02.000000+00:00 heroku[clock.1]: State changed from up to down\n",
        );
        out.push_str("2026-11-30T08:00:02.000000+00:00 app[web.1]: Listening on port 3000\n");
        out
    }

    fn svg_of(input: &str) -> (String, Summary) {
        let (svg, mut summaries) = chart(input, &Options::default()).expect("chart");
        assert_well_formed(&svg);
        assert!(svg.contains("<svg"), "no <svg");
        assert!(!svg.contains("href"), "external reference");
        assert!(!svg.contains("url("), "external reference");
        assert_eq!(summaries.len(), 1);
        (svg, summaries.remove(0))
    }

    fn assert_well_formed(xml: &str) {
        if let Err(e) = well_formed(xml) {
            panic!("SVG is not well-formed XML: {e}");
        }
    }

    /// Minimal XML well-formedness check: balanced, properly nested tags,
    /// quoted attributes, known entities, no stray `<` or `&` in text, and
    /// a single root element.
    fn well_formed(xml: &str) -> Result<(), String> {
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = xml;
        let mut roots = 0;
        while !rest.is_empty() {
            let Some(open) = rest.find('<') else {
                check_text(rest)?;
                break;
            };
            check_text(&rest[..open])?;
            rest = &rest[open..];
            if let Some(after) = rest.strip_prefix("<?") {
                let end = after.find("?>").ok_or("unterminated <?")?;
                rest = &after[end + 2..];
                continue;
            }
            if let Some(after) = rest.strip_prefix("<!--") {
                let end = after.find("-->").ok_or("unterminated comment")?;
                rest = &after[end + 3..];
                continue;
            }
            let close = tag_end(rest)?;
            let tag = &rest[1..close];
            rest = &rest[close + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                let name = name.trim();
                if stack.pop() != Some(name) {
                    return Err(format!("mismatched </{name}>"));
                }
                continue;
            }
            let self_closing = tag.ends_with('/');
            let body = tag.trim_end_matches('/');
            let name_end = body.find(char::is_whitespace).unwrap_or(body.len());
            let name = &body[..name_end];
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == ':')
            {
                return Err(format!("bad tag name {name:?}"));
            }
            check_attributes(&body[name_end..])?;
            if stack.is_empty() {
                roots += 1;
            }
            if !self_closing {
                stack.push(name);
            }
        }
        if !stack.is_empty() {
            return Err(format!("unclosed tags: {stack:?}"));
        }
        if roots != 1 {
            return Err(format!("{roots} root elements"));
        }
        Ok(())
    }

    /// Index of the `>` closing the tag at the start of `s`, outside quotes.
    fn tag_end(s: &str) -> Result<usize, String> {
        let mut quote = None;
        for (i, c) in s.char_indices().skip(1) {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '>') => return Ok(i),
                (None, '<') => return Err("'<' inside a tag".to_owned()),
                _ => {}
            }
        }
        Err("unterminated tag".to_owned())
    }

    fn check_attributes(mut s: &str) -> Result<(), String> {
        loop {
            s = s.trim_start();
            if s.is_empty() {
                return Ok(());
            }
            let eq = s.find('=').ok_or("attribute without value")?;
            let name = s[..eq].trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(format!("bad attribute {name:?}"));
            }
            s = s[eq + 1..].trim_start();
            let q = s.chars().next().ok_or("missing attribute value")?;
            if q != '"' && q != '\'' {
                return Err(format!("unquoted attribute {name}"));
            }
            let end = s[1..].find(q).ok_or("unterminated attribute")? + 1;
            check_text(&s[1..end])?;
            s = &s[end + 1..];
        }
    }

    fn check_text(s: &str) -> Result<(), String> {
        if s.contains('<') {
            return Err(format!("'<' in text: {s:?}"));
        }
        if s.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(format!("control character in {s:?}"));
        }
        let mut rest = s;
        while let Some(amp) = rest.find('&') {
            rest = &rest[amp + 1..];
            let end = rest.find(';').ok_or("unterminated entity")?;
            let entity = &rest[..end];
            let known = matches!(entity, "lt" | "gt" | "amp" | "quot" | "apos")
                || entity
                    .strip_prefix('#')
                    .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric()));
            if !known {
                return Err(format!("unknown entity &{entity};"));
            }
            rest = &rest[end + 1..];
        }
        Ok(())
    }

    #[test]
    fn checker_rejects_broken_xml() {
        for bad in [
            "<svg><g></svg>",
            "<svg>",
            "<svg a=1></svg>",
            "<svg>a < b</svg>",
            "<svg>&nbsp;</svg>",
            "<svg></svg><svg></svg>",
            "<svg a=\"x></svg>",
        ] {
            assert!(well_formed(bad).is_err(), "accepted {bad:?}");
        }
        assert_eq!(
            well_formed(
                "<?xml version=\"1.0\"?>\n<svg a=\"&lt;\"><g/><text>x &amp; y</text></svg>"
            ),
            Ok(())
        );
    }

    fn ts(s: &str) -> DateTime<Utc> {
        parse_time(s).unwrap()
    }

    #[test]
    fn raw_lines() {
        let (svg, summary) = svg_of(RAW);
        assert_eq!(summary.checks, 6);
        assert_eq!(summary.failures, 3);
        assert_eq!(summary.scale_events, 3);
        assert_eq!(summary.max, Some(3));
        assert_eq!(summary.skipped_garbage, 0);
        assert_eq!(summary.skipped_unrelated, 0);
        assert!(!summary.dry_run);
        assert_eq!(summary.from, Some(ts("2026-11-30T06:00:01.123Z")));
        assert_eq!(summary.to, Some(ts("2026-11-30T08:00:01.123Z")));
        assert_eq!(summary.scale_errors, 0);
        assert_eq!(
            summary.scale_reasons,
            vec![
                ("down".to_owned(), 1),
                ("scale_in".to_owned(), 1),
                ("schedule".to_owned(), 1)
            ]
        );
        // 1 dyno 06:00:01.123-06:03:01.7, 3 until 06:30, 1 until 07:00:00.2,
        // then 3 until 08:00:01.123.
        let secs = |a: &str, b: &str| (ts(b) - ts(a)).num_milliseconds() as f64 / 1000.0;
        let expected = (secs("2026-11-30T06:00:01.123Z", "2026-11-30T06:03:01.700Z")
            + 3.0 * secs("2026-11-30T06:03:01.700Z", "2026-11-30T06:30:00Z")
            + secs("2026-11-30T06:30:00Z", "2026-11-30T07:00:00.200Z")
            + 3.0 * secs("2026-11-30T07:00:00.200Z", "2026-11-30T08:00:01.123Z"))
            / 3600.0;
        assert!((summary.dyno_hours - expected).abs() < 1e-9, "{summary:?}");
        assert!(
            (summary.dyno_hours_at_max - 6.0).abs() < 1e-9,
            "{summary:?}"
        );
        for label in [
            "latency", "quantity", "floor", "median", "p95", "slow", "fast",
        ] {
            assert!(svg.contains(label), "no {label:?} in the SVG");
        }
        assert!(svg.contains("autoscale: shop/web"));
        assert!(svg.contains("scale_in"));
        assert!(svg.contains(&format!("{:.2} used", summary.dyno_hours)));

        let text = summary.to_string();
        assert!(text.contains("2026-11-30 06:00:01 UTC"), "{text}");
        assert!(text.contains("checks: 6"), "{text}");
        assert!(text.contains("down 1, scale_in 1, schedule 1"), "{text}");
        assert!(text.contains("saving"), "{text}");
        assert!(text.contains("0 garbage, 0 unrelated"), "{text}");
    }

    #[test]
    fn heroku_lines_use_the_prefix_time() {
        // Heroku's clock is 2.5 s ahead of the daemon's here.
        let input = prefixed(RAW, 2500);
        let (svg, summary) = svg_of(&input);
        assert_eq!(summary.checks, 6);
        assert_eq!(summary.failures, 3);
        assert_eq!(summary.scale_events, 3);
        assert_eq!(summary.skipped_garbage, 0);
        // One router line per event line, plus the two other dynos' lines.
        assert_eq!(summary.skipped_unrelated, RAW.lines().count() + 2);
        assert_eq!(summary.from, Some(ts("2026-11-30T06:00:03.623Z")));
        assert_eq!(summary.to, Some(ts("2026-11-30T08:00:03.623Z")));
        assert!(svg.contains("latency"));
    }

    #[test]
    fn garbage_is_counted() {
        let input = format!(
            "{RAW}\nthread 'main' panicked at src/main.rs:1:1:\nts=2026-11-30T09:00:00.000Z level=info event=probe error=\"cut sho\n\
             ts=not-a-time level=info event=probe\n\
             2026-11-30T09:00:00.000000+00:00 app[clock.1]: ts=2026-11-30T09:00:00.000Z level=info event=probe error=\"trunc\n\
             \n   \n"
        );
        let (_, summary) = svg_of(&input);
        assert_eq!(summary.skipped_garbage, 4);
        assert_eq!(summary.skipped_unrelated, 0);
        assert_eq!(summary.checks, 6);
        assert!(summary.to_string().contains("4 garbage"));
    }

    #[test]
    fn empty_input_is_an_error() {
        for input in [
            "",
            "\n\n",
            "hello\nworld\n",
            "2026-11-30T06:00:00+00:00 heroku[router]: at=info\n",
        ] {
            let err = chart(input, &Options::default()).unwrap_err();
            assert!(matches!(err, ChartError::Empty { .. }), "{input:?}: {err}");
        }
        let err = chart("hello\nworld\n", &Options::default()).unwrap_err();
        assert!(matches!(err, ChartError::Empty { skipped: 2 }), "{err}");
        assert_eq!(
            err.to_string(),
            "no autoscale event lines in the input (2 lines skipped)"
        );
    }

    #[test]
    fn single_event() {
        let (svg, summary) =
            svg_of("ts=2026-11-30T06:00:01.123Z level=info event=shutdown signal=SIGTERM\n");
        assert_eq!(summary.checks, 0);
        assert_eq!(summary.dyno_hours, 0.0);
        assert_eq!(summary.dyno_hours_at_max, 0.0);
        assert!(svg.contains("no checks in this log"));
        assert!(summary.to_string().contains("0s"));
    }

    #[test]
    fn all_checks_down_without_start() {
        let input = "ts=2026-11-30T06:00:00.000Z level=warn event=probe status=500 latency_ms=12 outcome=down error=x current=1 floor=1\n\
                     ts=2026-11-30T06:00:05.000Z level=warn event=probe status=\"\" latency_ms=10000 outcome=down error=y current=\"\" floor=\"\"\n\
                     ts=2026-11-30T06:00:05.100Z level=info event=scale from=1 to=3 reason=down result=error\n";
        let (svg, summary) = svg_of(input);
        assert_eq!(summary.checks, 2);
        assert_eq!(summary.failures, 2);
        assert_eq!(summary.scale_errors, 1);
        assert_eq!(summary.max, None);
        // Failed scale: still one dyno, for 5.1 s.
        assert!((summary.dyno_hours - 5.1 / 3600.0).abs() < 1e-9);
        // No max: the highest quantity seen (3, the failed target) stands in.
        assert!((summary.dyno_hours_at_max - 3.0 * 5.1 / 3600.0).abs() < 1e-9);
        assert!(!svg.contains("threshold"));
        assert!(svg.contains("down (error)"));
        assert!(svg.contains("no answered checks"));
    }

    #[test]
    fn dry_run_keeps_the_quantity() {
        let input = "ts=2026-11-30T06:00:00.000Z level=info event=start app=a process=web max=4 slow=300ms fast=off dry_run=true\n\
                     ts=2026-11-30T06:00:00.000Z level=info event=probe latency_ms=50 outcome=ok current=2 floor=2\n\
                     ts=2026-11-30T07:00:00.000Z level=info event=scale from=2 to=4 reason=schedule result=dry_run\n\
                     ts=2026-11-30T08:00:00.000Z level=info event=probe latency_ms=400 outcome=slow current=2 floor=4\n";
        let (svg, summary) = svg_of(input);
        assert!(summary.dry_run);
        assert!((summary.dyno_hours - 4.0).abs() < 1e-9, "{summary:?}");
        assert!(
            (summary.dyno_hours_at_max - 8.0).abs() < 1e-9,
            "{summary:?}"
        );
        assert!(summary.to_string().contains("dry run"));
        assert!(summary.to_string().contains("saving 50.0%"));
        assert!(svg.contains("slow threshold (300ms)"));
        assert!(!svg.contains("fast threshold"));
        assert!(svg.contains("schedule (dry run)"));
    }

    #[test]
    fn scale_events_without_probes() {
        let input = "ts=2026-11-30T06:00:00.000Z level=info event=scale from=1 to=2 reason=schedule result=ok\n\
                     ts=2026-11-30T06:00:02.000Z level=info event=scale from=2 to=1 reason=scale_in result=ok\n";
        let (_, summary) = svg_of(input);
        assert_eq!(summary.checks, 0);
        assert_eq!(summary.scale_events, 2);
        assert!((summary.dyno_hours - 4.0 / 3600.0).abs() < 1e-9);
    }

    #[test]
    fn many_days_and_a_custom_title() {
        let mut input = String::new();
        let start = ts("2026-11-01T00:00:00Z");
        for i in 0..(10 * 24 * 20) {
            let t = start + chrono::Duration::minutes(3 * i);
            let hour = t.hour();
            let floor = if (7..22).contains(&hour) { 3 } else { 1 };
            let latency = 50 + (hour * 7) + (i as u32 % 13) * 3;
            input.push_str(&format!(
                "ts={} level=info event=probe status=200 latency_ms={latency} outcome=fast error=\"\" current={floor} floor={floor}\n",
                t.format("%Y-%m-%dT%H:%M:%S%.3fZ")
            ));
        }
        let options = Options {
            title: Some("Shop <prod> & \"friends\"\u{7}".to_owned()),
            target: None,
        };
        let (svg, summaries) = chart(&input, &options).unwrap();
        let summary = &summaries[0];
        assert_well_formed(&svg);
        assert_eq!(summary.checks, 4800);
        assert!(svg.contains("Shop &lt;prod&gt; &amp;"));
        // Floors 3 from 07:00 to 22:00 and 1 otherwise: 10 × (15×3 + 9×1).
        assert!((summary.dyno_hours - 540.0).abs() < 0.2, "{summary:?}");
    }

    #[test]
    fn durations() {
        assert_eq!(duration_ms("5s"), Some(5000.0));
        assert_eq!(duration_ms("300ms"), Some(300.0));
        assert_eq!(duration_ms("1m 30s"), Some(90000.0));
        assert_eq!(duration_ms("1.5s"), Some(1500.0));
        assert_eq!(duration_ms("off"), None);
        assert_eq!(duration_ms(""), None);
        assert_eq!(duration_ms("5"), None);
    }

    #[test]
    fn hours_of_day_are_the_schedules_zone() {
        let text = "ts=2026-11-30T05:00:00.000Z level=info event=start app=a process=web tz=Europe/Berlin max=3 slow=5s fast=1s\n\
                    ts=2026-11-30T06:00:00.000Z level=info event=probe status=200 latency_ms=80 outcome=fast error=\"\" current=3 floor=3\n";
        let log = Log::read(text, None);
        let by_hour = hourly(&log);
        // 06:00Z is 07:00 in Berlin in winter.
        assert_eq!(by_hour.median, vec![(7, 80.0)]);
        let (svg, _) = chart(text, &Options::default()).unwrap();
        assert!(svg.contains("hour of day (Europe/Berlin)"));
    }

    #[test]
    fn statistics() {
        assert_eq!(median(&[1.0, 2.0, 3.0]), 2.0);
        assert_eq!(median(&[1.0, 2.0, 3.0, 4.0]), 2.5);
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 95.0), 95.0);
        assert_eq!(percentile(&[7.0], 95.0), 7.0);
        assert_eq!(integral(&[], 0.0, 10.0), 0.0);
        assert_eq!(integral(&[(2.0, 1), (4.0, 3)], 0.0, 10.0), 2.0 + 2.0 + 18.0);
        assert_eq!(
            step_points(&[(0.0, 1), (5.0, 1), (6.0, 2)], 10.0),
            vec![(0.0, 1.0), (6.0, 1.0), (6.0, 2.0), (10.0, 2.0)]
        );
    }

    #[test]
    fn time_axis_ticks_are_round() {
        let axis = TimeAxis::new(
            epoch_secs(ts("2026-11-30T06:00:01Z")),
            epoch_secs(ts("2026-11-30T08:00:01Z")),
        );
        let points = axis.key_points(12usize);
        assert!(!points.is_empty() && points.len() <= 12, "{points:?}");
        assert!(points.iter().all(|p| p % 900.0 == 0.0), "{points:?}");
        assert_eq!(axis.label(points[0]).len(), 5);
        let short = TimeAxis::new(100.0, 100.0);
        assert!(short.key_points(10usize).len() >= 2);
    }
}
