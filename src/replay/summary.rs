//! What a replay run comes to, and how it is printed. Pure: no I/O, no clock.
//!
//! A run ([`super::run`]) observes three things: the quantity as a step series (each value
//! holds until the next step), the scale events with their reasons, and the alerts that would
//! have been sent. [`summarize`] turns them, with the traffic replayed, into the figures people
//! compare: dyno-hours (the step series integrated exactly over the span), cost, scale events by
//! reason, minutes under capacity and the peak. [`compare`] gives the difference of a run to
//! the first; [`render_text`] and [`render_json`] print a [`Report`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::steps::{dyno_hours, peak, value_at, Before, Steps};
use crate::traffic::minute::Minute;

/// Scale events listed one by one per run (all are counted).
pub const FIRST_EVENTS: usize = 5;

/// One scale the run made (`event=scale result=ok`), at its virtual instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleEvent {
    pub at: DateTime<Utc>,
    pub from: u32,
    pub to: u32,
    pub reason: String,
}

/// The settings a run used, as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shown {
    pub schedule: String,
    pub tz: String,
    pub max: u32,
    pub concurrency: Option<u32>,
    pub utilization: f64,
}

/// What one run saw (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub label: String,
    pub settings: Shown,
    /// Quantity steps in time order; the first is at the span's start.
    pub steps: Vec<(DateTime<Utc>, u32)>,
    pub scales: Vec<ScaleEvent>,
    /// The kinds (`scale_out`, `recovered`, ...) of the alerts sent, after throttling.
    pub alerts: Vec<String>,
}

/// A scale event as printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventShown {
    pub at: String,
    pub from: u32,
    pub to: u32,
    pub reason: String,
}

/// One run's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub label: String,
    #[serde(flatten)]
    pub settings: Shown,
    pub start_quantity: u32,
    pub dyno_hours: f64,
    /// `max` all the time over the same span.
    pub dyno_hours_at_max: f64,
    pub cost: Option<f64>,
    pub cost_at_max: Option<f64>,
    pub scale_events: u64,
    pub scale_events_by_reason: BTreeMap<String, u64>,
    pub first_scale_events: Vec<EventShown>,
    /// Minutes whose busy exceeded quantity × concurrency; None without a concurrency.
    pub minutes_under_capacity: Option<u64>,
    pub peak: u32,
    pub alerts: u64,
    pub alerts_by_kind: BTreeMap<String, u64>,
}

/// A run against the first run of its target: this run minus the first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    pub label: String,
    pub against: String,
    pub dyno_hours: f64,
    /// Relative to the first run's dyno-hours; None when those are 0.
    pub dyno_hours_percent: Option<f64>,
    pub cost: Option<f64>,
    pub scale_events: i64,
    pub minutes_under_capacity: Option<i64>,
    pub peak: i64,
    pub alerts: i64,
}

/// The replay of one target: its traffic, every run, and each run's difference to the first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetReport {
    pub app: String,
    pub process: String,
    pub from: String,
    pub to: String,
    /// Minutes replayed (the span; quiet minutes included).
    pub minutes: u64,
    /// Minutes with a recorded figure.
    pub minutes_with_traffic: u64,
    pub runs: Vec<RunSummary>,
    pub differences: Vec<Difference>,
}

/// How fast the runs went (wall time).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Speed {
    /// Minutes replayed, all runs together.
    pub minutes: u64,
    pub seconds: f64,
    pub minutes_per_second: f64,
}

/// Everything `replay` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub targets: Vec<TargetReport>,
    /// Workers on their queue (see [`super::queue`]).
    pub queue: Vec<super::queue::QueueReport>,
    pub price_per_dyno_hour: Option<f64>,
    pub notes: Vec<String>,
    pub speed: Speed,
}

/// The quantity in force at `t` (0 before the first step: nothing ran).
fn quantity_at(steps: &Steps, t: DateTime<Utc>) -> u32 {
    value_at(steps, t, Before::Nothing).unwrap_or(0)
}

/// Minutes whose busy (mean requests in service) exceeded what ran at the minute's start
/// times `concurrency`. A minute without a figure had no traffic: never under capacity.
pub fn minutes_under_capacity(
    minutes: &[Minute],
    steps: &[(DateTime<Utc>, u32)],
    concurrency: u32,
) -> u64 {
    minutes
        .iter()
        .filter(|m| m.busy > f64::from(quantity_at(steps, m.minute)) * f64::from(concurrency))
        .count() as u64
}

fn counted<'a>(items: impl Iterator<Item = &'a str>) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for item in items {
        *counts.entry(item.to_owned()).or_insert(0) += 1;
    }
    counts
}

/// One run's figures over `[from, to)` with the traffic `minutes` it replayed.
pub fn summarize(
    observed: &Observed,
    minutes: &[Minute],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    price: Option<f64>,
) -> RunSummary {
    let hours = dyno_hours(&observed.steps, from, to, Before::Nothing);
    let span_hours = (to - from).num_milliseconds() as f64 / 3_600_000.0;
    let at_max = f64::from(observed.settings.max) * span_hours;
    RunSummary {
        label: observed.label.clone(),
        settings: observed.settings.clone(),
        start_quantity: quantity_at(&observed.steps, from),
        dyno_hours: round_to(hours, 10_000.0),
        dyno_hours_at_max: round_to(at_max, 10_000.0),
        cost: price.map(|p| round_to(p * hours, 100.0)),
        cost_at_max: price.map(|p| round_to(p * at_max, 100.0)),
        scale_events: observed.scales.len() as u64,
        scale_events_by_reason: counted(observed.scales.iter().map(|s| s.reason.as_str())),
        first_scale_events: observed
            .scales
            .iter()
            .take(FIRST_EVENTS)
            .map(|s| EventShown {
                at: rfc3339(s.at),
                from: s.from,
                to: s.to,
                reason: s.reason.clone(),
            })
            .collect(),
        minutes_under_capacity: observed
            .settings
            .concurrency
            .map(|c| minutes_under_capacity(minutes, &observed.steps, c)),
        peak: peak(&observed.steps, from, to, Before::Nothing),
        alerts: observed.alerts.len() as u64,
        alerts_by_kind: counted(observed.alerts.iter().map(String::as_str)),
    }
}

/// `run` minus `base`.
pub fn compare(base: &RunSummary, run: &RunSummary) -> Difference {
    let signed = |a: u64, b: u64| a as i64 - b as i64;
    let hours = run.dyno_hours - base.dyno_hours;
    Difference {
        label: run.label.clone(),
        against: base.label.clone(),
        dyno_hours: round_to(hours, 10_000.0),
        dyno_hours_percent: (base.dyno_hours > 0.0)
            .then(|| round_to(100.0 * hours / base.dyno_hours, 10.0)),
        cost: run.cost.zip(base.cost).map(|(a, b)| round_to(a - b, 100.0)),
        scale_events: signed(run.scale_events, base.scale_events),
        minutes_under_capacity: run
            .minutes_under_capacity
            .zip(base.minutes_under_capacity)
            .map(|(a, b)| signed(a, b)),
        peak: i64::from(run.peak) - i64::from(base.peak),
        alerts: signed(run.alerts, base.alerts),
    }
}

fn round_to(x: f64, per_unit: f64) -> f64 {
    (x * per_unit).round() / per_unit
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn signed(n: i64) -> String {
    if n > 0 {
        format!("+{n}")
    } else {
        n.to_string()
    }
}

fn signed_f(x: f64, decimals: usize) -> String {
    let text = format!("{x:.decimals$}");
    if x > 0.0 && !text.trim_start_matches(['0', '.']).is_empty() {
        format!("+{text}")
    } else {
        text
    }
}

/// The report for a person: per target, the settings of each run, a table with one column per
/// run (and the difference to the first), the first scale events of each run.
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    for (i, t) in report.targets.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        render_target(&mut out, t, report.price_per_dyno_hour);
    }
    for (i, q) in report.queue.iter().enumerate() {
        if i > 0 || !report.targets.is_empty() {
            out.push('\n');
        }
        render_queue(&mut out, q);
    }
    for note in &report.notes {
        let _ = writeln!(out, "note: {note}");
    }
    let s = &report.speed;
    let _ = writeln!(
        out,
        "replayed {} minutes in {:.2} s ({:.0} minutes per second)",
        s.minutes, s.seconds, s.minutes_per_second
    );
    out
}

fn render_queue(out: &mut String, q: &super::queue::QueueReport) {
    let _ = writeln!(
        out,
        "{}/{}: its job queue, {} to {}",
        q.app, q.process, q.from, q.to
    );
    let _ = write!(
        out,
        "jobs estimated from the queue lines: {} arrived, each running {} s on average (Little's law), dynos working {} s after they are asked for",
        crate::chart::summary::thousands(q.jobs),
        q.service_mean_s,
        super::queue::BOOT
    );
    if q.missing_minutes > 0 {
        let _ = write!(
            out,
            "; {} minute(s) without a line (no jobs counted)",
            q.missing_minutes
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  {:<36} {:>15} {:>11} {:>10} {:>7}",
        "run",
        format!("within {} s", q.target_s),
        "dyno-hours",
        "worst (s)",
        "scales"
    );
    for r in &q.runs {
        let f = &r.figures;
        let _ = writeln!(
            out,
            "  {:<36} {:>14.1}% {:>11.2} {:>10.0} {:>7}",
            r.label, f.within_percent, f.dyno_hours, f.worst_wait_s, f.scales
        );
    }
}

fn render_target(out: &mut String, t: &TargetReport, price: Option<f64>) {
    let _ = writeln!(
        out,
        "replay of {}/{}: {} to {} ({} minutes, {} with traffic)",
        t.app, t.process, t.from, t.to, t.minutes, t.minutes_with_traffic
    );
    for run in &t.runs {
        let s = &run.settings;
        let concurrency = s
            .concurrency
            .map_or("not set (no load scaling)".to_owned(), |c| {
                format!(
                    "{c} at {} % utilization",
                    round_to(s.utilization * 100.0, 10.0)
                )
            });
        let _ = writeln!(
            out,
            "  {:<20} AUTOSCALE_SCHEDULE=\"{}\" tz {} max {} concurrency {}",
            run.label, s.schedule, s.tz, s.max, concurrency
        );
    }
    out.push('\n');
    let width = t
        .runs
        .iter()
        .map(|r| r.label.len())
        .max()
        .unwrap_or(0)
        .max(12)
        + 2;
    let mut header = format!("  {:<28}", "");
    for run in &t.runs {
        let _ = write!(header, "{:>width$}", run.label);
    }
    for d in &t.differences {
        let _ = write!(
            header,
            "{:>width$}",
            format!("{} - {}", short(&d.label), short(&d.against))
        );
    }
    let _ = writeln!(out, "{}", header.trim_end());
    let rows: Vec<Row> = rows(t, price);
    for row in rows {
        let mut line = format!("  {:<28}", row.name);
        for cell in row.cells {
            let _ = write!(line, "{cell:>width$}");
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    for run in &t.runs {
        if run.first_scale_events.is_empty() {
            continue;
        }
        let more = run.scale_events - run.first_scale_events.len() as u64;
        let _ = writeln!(
            out,
            "\n  first scale events, {}{}:",
            run.label,
            if more > 0 {
                format!(" ({more} more)")
            } else {
                String::new()
            }
        );
        for e in &run.first_scale_events {
            let _ = writeln!(out, "    {}  {} -> {}  {}", e.at, e.from, e.to, e.reason);
        }
    }
}

/// A column label short enough for the table's header.
fn short(label: &str) -> &str {
    label.trim_start_matches("--compare-")
}

struct Row {
    name: String,
    cells: Vec<String>,
}

fn rows(t: &TargetReport, price: Option<f64>) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut row = |name: String, runs: Vec<String>, diffs: Vec<String>| {
        rows.push(Row {
            name,
            cells: runs.into_iter().chain(diffs).collect(),
        });
    };
    let runs = &t.runs;
    let diffs = &t.differences;
    let n_a = || "n/a".to_owned();
    row(
        "dyno-hours".to_owned(),
        runs.iter()
            .map(|r| format!("{:.1}", r.dyno_hours))
            .collect(),
        diffs
            .iter()
            .map(|d| match d.dyno_hours_percent {
                Some(p) => format!("{} ({} %)", signed_f(d.dyno_hours, 1), signed_f(p, 1)),
                None => signed_f(d.dyno_hours, 1),
            })
            .collect(),
    );
    row(
        "dyno-hours always at max".to_owned(),
        runs.iter()
            .map(|r| format!("{:.1}", r.dyno_hours_at_max))
            .collect(),
        diffs.iter().map(|_| String::new()).collect(),
    );
    if price.is_some() || runs.iter().any(|r| r.cost.is_some()) {
        row(
            match price {
                Some(p) => format!("cost at {p} per dyno-hour"),
                None => "cost at Heroku's list prices".to_owned(),
            },
            runs.iter()
                .map(|r| r.cost.map_or_else(n_a, |c| format!("{c:.2}")))
                .collect(),
            diffs
                .iter()
                .map(|d| d.cost.map_or_else(n_a, |c| signed_f(c, 2)))
                .collect(),
        );
    }
    row(
        "scale events".to_owned(),
        runs.iter().map(|r| r.scale_events.to_string()).collect(),
        diffs.iter().map(|d| signed(d.scale_events)).collect(),
    );
    let reasons: std::collections::BTreeSet<&String> = runs
        .iter()
        .flat_map(|r| r.scale_events_by_reason.keys())
        .collect();
    for reason in reasons {
        let count = |r: &RunSummary| r.scale_events_by_reason.get(reason).copied().unwrap_or(0);
        row(
            format!("  {reason}"),
            runs.iter().map(|r| count(r).to_string()).collect(),
            diffs
                .iter()
                .map(|d| {
                    let other = runs.iter().find(|r| r.label == d.label).map_or(0, count);
                    let base = runs.iter().find(|r| r.label == d.against).map_or(0, count);
                    signed(other as i64 - base as i64)
                })
                .collect(),
        );
    }
    row(
        "minutes under capacity".to_owned(),
        runs.iter()
            .map(|r| r.minutes_under_capacity.map_or_else(n_a, |m| m.to_string()))
            .collect(),
        diffs
            .iter()
            .map(|d| d.minutes_under_capacity.map_or_else(n_a, signed))
            .collect(),
    );
    row(
        "peak quantity".to_owned(),
        runs.iter().map(|r| r.peak.to_string()).collect(),
        diffs.iter().map(|d| signed(d.peak)).collect(),
    );
    row(
        "alerts".to_owned(),
        runs.iter().map(|r| r.alerts.to_string()).collect(),
        diffs.iter().map(|d| signed(d.alerts)).collect(),
    );
    rows
}

/// The report as JSON: the same content as the text.
pub fn render_json(report: &Report) -> serde_json::Value {
    serde_json::to_value(report).expect("a replay report serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn minute(start: &str, busy: f64) -> Minute {
        Minute {
            app: "shop".to_owned(),
            process: "web".to_owned(),
            minute: at(start),
            requests: 10,
            p50_ms: None,
            p95_ms: None,
            p99_ms: None,
            errors: 0,
            h10: 0,
            h12: 0,
            h13: 0,
            s2xx: 10,
            s3xx: 0,
            s4xx: 0,
            s5xx: 0,
            busy,
            dynos: 1,
        }
    }

    use crate::steps::tests::{example as steps, FROM, TO};

    #[test]
    fn a_minute_is_under_capacity_when_busy_exceeds_what_ran_at_its_start() {
        let s = steps();
        let minutes = [
            minute("2026-03-02T00:10:00Z", 2.0), // 1 × 2: at capacity, not under
            minute("2026-03-02T00:59:00Z", 2.01), // 1 × 2: under
            minute("2026-03-02T01:00:00Z", 7.9), // 4 × 2 from this very minute: fine
            minute("2026-03-02T01:30:00Z", 4.5), // 2 × 2: under
        ];
        assert_eq!(minutes_under_capacity(&minutes, &s, 2), 2);
        assert_eq!(minutes_under_capacity(&minutes, &s, 3), 0);
        assert_eq!(minutes_under_capacity(&minutes, &s, 1), 4);
        assert_eq!(minutes_under_capacity(&[], &s, 1), 0);
    }

    fn observed(label: &str, concurrency: Option<u32>) -> Observed {
        let scale = |t: &str, from, to, reason: &str| ScaleEvent {
            at: at(t),
            from,
            to,
            reason: reason.to_owned(),
        };
        Observed {
            label: label.to_owned(),
            settings: Shown {
                schedule: "00:00=1".to_owned(),
                tz: "Europe/Berlin".to_owned(),
                max: 5,
                concurrency,
                utilization: 0.7,
            },
            steps: steps(),
            scales: vec![
                scale("2026-03-02T01:00:00Z", 1, 4, "load"),
                scale("2026-03-02T01:30:00Z", 4, 2, "schedule"),
                scale("2026-03-02T01:40:00Z", 2, 2, "load"),
                scale("2026-03-02T01:50:00Z", 2, 2, "load"),
                scale("2026-03-02T02:00:00Z", 2, 2, "load"),
                scale("2026-03-02T02:10:00Z", 2, 2, "down"),
            ],
            alerts: vec!["scale_out".into(), "recovered".into(), "scale_out".into()],
        }
    }

    #[test]
    fn a_run_is_summarized_with_costs_counts_and_the_first_events() {
        let minutes = [minute("2026-03-02T00:59:00Z", 2.5)];
        let r = summarize(
            &observed("current", Some(2)),
            &minutes,
            at(FROM),
            at(TO),
            Some(0.05),
        );
        assert_eq!(r.start_quantity, 1);
        assert_eq!(r.dyno_hours, 6.0);
        assert_eq!(r.dyno_hours_at_max, 15.0);
        assert_eq!((r.cost, r.cost_at_max), (Some(0.3), Some(0.75)));
        assert_eq!(r.scale_events, 6);
        assert_eq!(
            r.scale_events_by_reason,
            BTreeMap::from([
                ("down".into(), 1),
                ("load".into(), 4),
                ("schedule".into(), 1)
            ])
        );
        assert_eq!(r.first_scale_events.len(), FIRST_EVENTS);
        assert_eq!(
            r.first_scale_events[0],
            EventShown {
                at: "2026-03-02T01:00:00Z".into(),
                from: 1,
                to: 4,
                reason: "load".into()
            }
        );
        assert_eq!(r.minutes_under_capacity, Some(1));
        assert_eq!(r.peak, 4);
        assert_eq!(r.alerts, 3);
        assert_eq!(r.alerts_by_kind["scale_out"], 2);
        let bare = summarize(&observed("x", None), &minutes, at(FROM), at(TO), None);
        assert_eq!(
            (bare.cost, bare.cost_at_max, bare.minutes_under_capacity),
            (None, None, None)
        );
        // Dyno-hours of a run over seconds keep four decimals.
        let mut odd = observed("odd", None);
        odd.steps = vec![(at(FROM), 1)];
        let r = summarize(&odd, &[], at(FROM), at("2026-03-02T00:00:01Z"), None);
        assert_eq!(r.dyno_hours, 0.0003);
    }

    #[test]
    fn a_difference_is_the_run_minus_the_first() {
        let minutes = [minute("2026-03-02T00:59:00Z", 2.5)];
        let base = summarize(
            &observed("current", Some(2)),
            &minutes,
            at(FROM),
            at(TO),
            Some(1.0),
        );
        let mut other_obs = observed("--compare-schedule", Some(2));
        other_obs.steps = vec![(at(FROM), 3)];
        other_obs.scales.truncate(2);
        other_obs.alerts.clear();
        let other = summarize(&other_obs, &minutes, at(FROM), at(TO), Some(1.0));
        let d = compare(&base, &other);
        assert_eq!(
            (d.label.as_str(), d.against.as_str()),
            ("--compare-schedule", "current")
        );
        assert_eq!(d.dyno_hours, 3.0);
        assert_eq!(d.dyno_hours_percent, Some(50.0));
        assert_eq!(d.cost, Some(3.0));
        assert_eq!(d.scale_events, -4);
        assert_eq!(d.minutes_under_capacity, Some(-1));
        assert_eq!(d.peak, -1);
        assert_eq!(d.alerts, -3);
        let mut zero = base.clone();
        zero.dyno_hours = 0.0;
        zero.cost = None;
        zero.minutes_under_capacity = None;
        let d = compare(&zero, &other);
        assert_eq!(
            (d.dyno_hours_percent, d.cost, d.minutes_under_capacity),
            (None, None, None)
        );
    }

    fn report() -> Report {
        let minutes = [minute("2026-03-02T00:59:00Z", 2.5)];
        let base = summarize(
            &observed("current", Some(2)),
            &minutes,
            at(FROM),
            at(TO),
            Some(0.05),
        );
        let mut o = observed("--compare-schedule", Some(2));
        o.steps = vec![(at(FROM), 1)];
        o.scales.clear();
        let other = summarize(&o, &minutes, at(FROM), at(TO), Some(0.05));
        Report {
            queue: Vec::new(),
            targets: vec![TargetReport {
                app: "shop".into(),
                process: "web".into(),
                from: FROM.into(),
                to: TO.into(),
                minutes: 180,
                minutes_with_traffic: 1,
                differences: vec![compare(&base, &other)],
                runs: vec![base, other],
            }],
            price_per_dyno_hour: Some(0.05),
            notes: vec!["a note".into()],
            speed: Speed {
                minutes: 360,
                seconds: 0.5,
                minutes_per_second: 720.0,
            },
        }
    }

    #[test]
    fn the_text_has_a_column_per_run_and_the_difference() {
        let text = render_text(&report());
        let line = |start: &str| {
            text.lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .find(|l| l.starts_with(start))
                .unwrap_or_else(|| panic!("no {start:?} in\n{text}"))
        };
        assert!(text.starts_with(
            "replay of shop/web: 2026-03-02T00:00:00Z to 2026-03-02T03:00:00Z (180 minutes, 1 with traffic)\n"
        ));
        assert_eq!(line("current "), "current AUTOSCALE_SCHEDULE=\"00:00=1\" tz Europe/Berlin max 5 concurrency 2 at 70 % utilization");
        assert_eq!(
            line("current --compare"),
            "current --compare-schedule schedule - current"
        );
        assert_eq!(line("dyno-hours "), "dyno-hours 6.0 3.0 -3.0 (-50.0 %)");
        assert_eq!(
            line("dyno-hours always"),
            "dyno-hours always at max 15.0 15.0"
        );
        assert_eq!(
            line("cost at 0.05"),
            "cost at 0.05 per dyno-hour 0.30 0.15 -0.15"
        );
        assert_eq!(line("scale events"), "scale events 6 0 -6");
        assert_eq!(line("load"), "load 4 0 -4");
        assert_eq!(line("minutes under"), "minutes under capacity 1 1 0");
        assert_eq!(line("peak"), "peak quantity 4 1 -3");
        assert_eq!(line("alerts"), "alerts 3 3 0");
        assert_eq!(
            line("first scale events"),
            "first scale events, current (1 more):"
        );
        assert_eq!(
            line("2026-03-02T01:00:00Z"),
            "2026-03-02T01:00:00Z 1 -> 4 load"
        );
        assert!(
            !text.contains("first scale events, --compare"),
            "none to list"
        );
        assert!(text.contains("\nnote: a note\n"));
        assert!(text.ends_with("replayed 360 minutes in 0.50 s (720 minutes per second)\n"));
    }

    #[test]
    fn the_text_says_what_is_unknown_and_signs_what_grew() {
        let mut r = report();
        r.price_per_dyno_hour = None;
        let t = &mut r.targets[0];
        for run in &mut t.runs {
            run.cost = None;
        }
        t.runs[0].settings.concurrency = None;
        t.runs[0].minutes_under_capacity = None;
        t.runs.swap(0, 1);
        t.differences = vec![compare(&t.runs[0], &t.runs[1])];
        let text = render_text(&r);
        assert!(!text.contains("cost at"), "{text}");
        assert!(
            text.contains("concurrency not set (no load scaling)"),
            "{text}"
        );
        let under = text.lines().find(|l| l.contains("minutes under")).unwrap();
        assert_eq!(
            under.split_whitespace().collect::<Vec<_>>(),
            ["minutes", "under", "capacity", "1", "n/a", "n/a"]
        );
        let hours = text
            .lines()
            .find(|l| l.trim_start().starts_with("dyno-hours "))
            .unwrap();
        assert!(hours.ends_with("+3.0 (+100.0 %)"), "{hours}");
        let events = text.lines().find(|l| l.contains("scale events ")).unwrap();
        assert!(events.ends_with("+6"), "{events}");
    }

    #[test]
    fn signs_are_shown_on_growth_only() {
        assert_eq!(signed(3), "+3");
        assert_eq!(signed(0), "0");
        assert_eq!(signed(-2), "-2");
        assert_eq!(signed_f(1.25, 1), "+1.2");
        assert_eq!(signed_f(0.01, 1), "0.0", "rounds to nothing: no sign");
        assert_eq!(signed_f(-0.5, 2), "-0.50");
        assert_eq!(signed_f(0.0, 2), "0.00");
    }

    #[test]
    fn the_json_has_the_same_content() {
        let v = render_json(&report());
        let run = &v["targets"][0]["runs"][0];
        assert_eq!(run["label"], "current");
        assert_eq!(run["schedule"], "00:00=1", "settings are flattened");
        assert_eq!(run["dyno_hours"], 6.0);
        assert_eq!(run["scale_events_by_reason"]["load"], 4);
        assert_eq!(run["minutes_under_capacity"], 1);
        assert_eq!(run["first_scale_events"][0]["reason"], "load");
        let d = &v["targets"][0]["differences"][0];
        assert_eq!(
            (d["dyno_hours"].as_f64(), d["peak"].as_i64()),
            (Some(-3.0), Some(-3))
        );
        assert_eq!(v["speed"]["minutes_per_second"], 720.0);
        assert_eq!(v["price_per_dyno_hour"], 0.05);
    }
}
