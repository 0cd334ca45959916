//! The static SVG: per target a summary and its panels, one under the other, all on one time
//! axis: requests per minute by status class (router errors marked above), service time p50 and
//! p95 against the slow threshold, busy against capacity, dynos (quantity, the schedule's floor,
//! the maximum, scale events by reason, alerts sent), the health checks' latency when there are
//! any, and a week heatmap of requests by weekday and hour in the schedule's zone.
//!
//! Written by hand, not through a plotting library: every element is plain SVG with a class
//! (`<g class="panel" data-panel="requests">`, `<rect class="cell">`), the text names a font
//! family and the viewer draws it (no font file, no system library), and label placement is
//! [`super::axis`]'s: legends wrap, ticks are chosen to fit, so no two labels touch.
//!
//! A week has 10,080 minutes and a plot about a thousand pixels: minutes are drawn in buckets
//! (2 px or more each), their means, and the panel says so. Health checks are thinned to one
//! dot per 2 × 2 pixels and outcome. So the SVG's size depends on the width, not on the input.
//!
//! Pure: no I/O, no clock.

use std::collections::HashSet;
use std::fmt::Write as _;

use chrono::{DateTime, TimeDelta, Utc};

use super::axis::{text_width, TimeAxis, ValueAxis};
use super::summary::{format_ms, trim_float};
use super::View;
use crate::history::rows::ProbeSource;
use crate::probe::Outcome;

use super::buckets::{bucket_size, buckets, queue_buckets, Bucket, Grid, QueueBucket};
use super::draw::*;
use super::heatmap::heatmap_panel;

/// The whole SVG: a title, the notes, then each target's summary and panels.
pub fn render(title: &str, views: &[View<'_>], axis: &TimeAxis, notes: &[String]) -> String {
    let mut body = Svg::default();
    let mut y = 44.0;
    for note in notes {
        for line in wrap(&format!("note: {note}"), FONT, WIDTH - LEFT - RIGHT) {
            body.text(LEFT, y, "start", FONT, MUTED, r#" class="note""#, &line);
            y += 16.0;
        }
    }
    y += 8.0;
    let size = bucket_size(axis);
    for view in views {
        y = target(&mut body, view, axis, size, y) + 24.0;
    }
    let height = y.ceil();
    format!(
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif"><title>{t}</title><rect width="100%" height="100%" fill="#ffffff"/><text x="{LEFT}" y="28" font-size="22" font-weight="bold" fill="{INK}" class="title">{t}</text>{}</svg>
"##,
        body.out,
        t = escape(title)
    )
}

/// A bucket's length for a note: `5-minute`, `2-second`.
fn length(d: TimeDelta) -> String {
    let s = d.num_seconds();
    if s >= 60 && s % 60 == 0 {
        format!("{}-minute", s / 60)
    } else if d.num_milliseconds() % 1000 == 0 {
        format!("{s}-second")
    } else {
        format!(
            "{}-second",
            trim_float(d.num_milliseconds() as f64 / 1000.0)
        )
    }
}

/// Greedy word wrap at an estimated width.
fn wrap(text: &str, font: f64, width: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if !line.is_empty() && text_width(&candidate, font) > width {
            lines.push(std::mem::take(&mut line));
            line = word.to_owned();
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// One target's section from `y` down; returns where it ends.
fn target(svg: &mut Svg, view: &View<'_>, axis: &TimeAxis, size: TimeDelta, mut y: f64) -> f64 {
    let _ = write!(
        svg.out,
        r#"<g class="target" data-target="{}">"#,
        escape(&view.data.name())
    );
    svg.text(
        LEFT,
        y + 20.0,
        "start",
        19.0,
        INK,
        r#" font-weight="bold" class="target-title""#,
        &view.data.name(),
    );
    y += 32.0;
    y = summary_block(svg, view, y);
    let buckets = buckets(view, size);
    let period = view.data.period();
    // Buckets of the whole period are the minutes themselves.
    let drawn = Grid::new(size, period, DateTime::UNIX_EPOCH).size();
    let note = if drawn > period {
        format!("drawn as {} means", length(drawn))
    } else {
        String::new()
    };
    // A target without traffic (a worker, or the daemon's lines alone) gets no empty traffic
    // panels: its summary says "traffic: none in the input".
    let traffic = view.data.minute_count() > 0;
    if traffic {
        y = requests_panel(svg, axis, &buckets, &note, y);
        y = service_panel(svg, view, axis, &buckets, &note, y);
        y = busy_panel(svg, view, axis, &buckets, &note, y);
    }
    if view.data.queue_minute_count() > 0 {
        let queue = queue_buckets(view, size);
        let note = if drawn > period {
            format!("drawn as the worst of each {}", length(drawn))
        } else {
            String::new()
        };
        y = queue_latency_panel(svg, view, axis, &queue, &note, y);
        y = queue_jobs_panel(svg, axis, &queue, &note, y);
    }
    y = dynos_panel(svg, view, axis, &buckets, y);
    if view
        .data
        .probes
        .iter()
        .any(|p| p.source == ProbeSource::Probe)
    {
        y = checks_panel(svg, view, axis, y);
    }
    // The heatmap's weekdays and hours mean nothing for minutes that lasted less than a minute.
    if traffic && period == TimeDelta::minutes(1) {
        y = heatmap_panel(svg, view, y);
    }
    svg.out.push_str("</g>");
    y
}

fn summary_block(svg: &mut Svg, view: &View<'_>, y: f64) -> f64 {
    let text = view.summary.to_string();
    let lines: Vec<String> = text
        .lines()
        .skip(1)
        .flat_map(|l| wrap(l, FONT + 1.0, WIDTH - LEFT - RIGHT - 24.0))
        .collect();
    let h = 34.0 + lines.len() as f64 * 19.0;
    let _ = write!(
        svg.out,
        r##"<g class="panel" data-panel="summary" transform="translate(0,{y:.1})"><rect x="{LEFT}" y="0" width="{PLOT_W:.1}" height="{h:.1}" fill="#f6f8fa" stroke="{GRID}"/>"##
    );
    svg.text(
        LEFT + 12.0,
        20.0,
        "start",
        TITLE_FONT,
        INK,
        r#" font-weight="bold" class="panel-title""#,
        "Summary",
    );
    for (i, line) in lines.iter().enumerate() {
        svg.text(
            LEFT + 12.0,
            42.0 + i as f64 * 19.0,
            "start",
            FONT + 1.0,
            INK,
            "",
            line,
        );
    }
    svg.out.push_str("</g>");
    y + h + 18.0
}

/// Opens a panel at `y`: head, then a group at the plot's origin. Returns the plot's top.
pub(super) fn open_panel(svg: &mut Svg, head: &Head, y: f64, strip: f64) -> f64 {
    let _ = write!(
        svg.out,
        r#"<g class="panel" data-panel="{}" transform="translate(0,{y:.1})">"#,
        head.key
    );
    head.draw(svg);
    let top = head.height() + strip;
    let _ = write!(svg.out, r#"<g transform="translate({LEFT},{top:.1})">"#);
    top
}

pub(super) fn close_panel(svg: &mut Svg, y: f64, top: f64, plot_h: f64) -> f64 {
    let on_top = std::mem::take(&mut svg.on_top);
    svg.out.push_str(&on_top);
    svg.out.push_str("</g></g>");
    y + top + plot_h + X_AXIS_H + 14.0
}

/// A path through points, broken where a point is `None` or where buckets are not neighbours
/// (a gap in the data).
fn polyline(points: impl Iterator<Item = Option<(f64, f64)>>) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for p in points {
        match p {
            Some((x, y)) => {
                let _ = write!(d, "{}{x:.1},{y:.1}", if pen_down { "L" } else { "M" });
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    d
}

/// Something drawn per bucket of minutes: where its bucket starts.
trait Starts {
    fn start(&self) -> DateTime<Utc>;
    fn size(&self) -> TimeDelta;
}

impl Starts for Bucket {
    fn start(&self) -> DateTime<Utc> {
        self.start
    }

    fn size(&self) -> TimeDelta {
        self.size
    }
}

impl Starts for QueueBucket {
    fn start(&self) -> DateTime<Utc> {
        self.start
    }

    fn size(&self) -> TimeDelta {
        self.size
    }
}

/// The x of each bucket's middle, or `None` after a gap (so lines break across missing data).
fn bucket_xs<'b, B: Starts>(
    plot: &'b Plot<'_>,
    buckets: &'b [B],
    step: TimeDelta,
) -> impl Iterator<Item = (Option<f64>, &'b B)> + 'b {
    let mut previous: Option<DateTime<Utc>> = None;
    buckets.iter().flat_map(move |b| {
        let gap = previous.is_some_and(|p| b.start() - p > step);
        previous = Some(b.start());
        let x = plot.px(b.start() + step / 2);
        let mut out = Vec::with_capacity(2);
        if gap {
            out.push((None, b));
        }
        out.push((Some(x), b));
        out
    })
}

/// How long the buckets are (a minute when there are none).
fn size_of<B: Starts>(buckets: &[B]) -> TimeDelta {
    buckets.first().map_or(TimeDelta::minutes(1), Starts::size)
}

/// A filled area under the points of each run of neighbouring buckets (a gap ends a run).
fn area(points: impl Iterator<Item = Option<(f64, f64)>>, bottom: f64) -> String {
    let mut d = String::new();
    let mut run: Vec<(f64, f64)> = Vec::new();
    let flush = |run: &mut Vec<(f64, f64)>, d: &mut String| {
        if let (Some(first), Some(last)) = (run.first(), run.last()) {
            let _ = write!(d, "M{:.1},{bottom:.1}", first.0);
            for (x, y) in run.iter() {
                let _ = write!(d, "L{x:.1},{y:.1}");
            }
            let _ = write!(d, "L{:.1},{bottom:.1}Z", last.0);
        }
        run.clear();
    };
    for p in points {
        match p {
            None => flush(&mut run, &mut d),
            Some(p) => run.push(p),
        }
    }
    flush(&mut run, &mut d);
    d
}

/// A worker's oldest waiting job against the latency it is held under.
fn queue_latency_panel(
    svg: &mut Svg,
    view: &View<'_>,
    axis: &TimeAxis,
    buckets: &[QueueBucket],
    note: &str,
    y: f64,
) -> f64 {
    let target = view.data.settings().and_then(|s| s.queue_latency_ms);
    let mut legend = vec![(Mark::Line(LATENCY), "oldest waiting job".to_owned())];
    if let Some(ms) = target {
        legend.push((Mark::Dashed(SLOW), format!("target {}", format_ms(ms))));
    }
    let head = Head {
        key: "queue_latency",
        title: "Queue latency vs target".to_owned(),
        legend,
        note: note.to_owned(),
    };
    let top = open_panel(svg, &head, y, 0.0);
    let highest = buckets
        .iter()
        .map(|b| b.latency_ms as f64 / 1000.0)
        .chain(target.map(|ms| ms / 1000.0))
        .fold(0.0, f64::max);
    let plot = Plot {
        x: axis,
        y: ValueAxis::linear(highest.max(1.0) * 1.05, 140.0, FONT, false),
    };
    plot.axes(svg, "seconds");
    let size = size_of(buckets);
    let d = polyline(
        bucket_xs(&plot, buckets, size)
            .map(|(x, b)| Some((x?, plot.y.y(b.latency_ms as f64 / 1000.0)))),
    );
    svg.path("latency", &d, LATENCY, 1.8, "", "none");
    if let Some(ms) = target {
        let y = plot.y.y(ms / 1000.0);
        svg.path(
            "target",
            &format!("M0,{y:.1}H{PLOT_W:.1}"),
            SLOW,
            1.5,
            "6 4",
            "none",
        );
    }
    close_panel(svg, y, top, plot.h())
}

/// A worker's jobs: waiting (area), running, and what the running dynos can run at once.
fn queue_jobs_panel(
    svg: &mut Svg,
    axis: &TimeAxis,
    buckets: &[QueueBucket],
    note: &str,
    y: f64,
) -> f64 {
    let head = Head {
        key: "queue_jobs",
        title: "Jobs: waiting, running vs capacity".to_owned(),
        legend: vec![
            (Mark::Area(WAITING), "waiting".to_owned()),
            (Mark::Line(BUSY), "running".to_owned()),
            (
                Mark::Dashed(CAPACITY),
                "capacity (dynos × concurrency)".to_owned(),
            ),
        ],
        note: note.to_owned(),
    };
    let top = open_panel(svg, &head, y, 0.0);
    let highest = buckets
        .iter()
        .flat_map(|b| [b.depth, b.busy.unwrap_or(0), b.capacity])
        .max()
        .unwrap_or(0);
    let plot = Plot {
        x: axis,
        y: ValueAxis::linear((highest.max(1) as f64) * 1.05, 140.0, FONT, true),
    };
    plot.axes(svg, "jobs");
    let size = size_of(buckets);
    let d = area(
        bucket_xs(&plot, buckets, size).map(|(x, b)| Some((x?, plot.y.y(b.depth as f64)))),
        plot.h(),
    );
    let _ = write!(
        svg.out,
        r#"<path class="series waiting" d="{d}" fill="{WAITING}" fill-opacity="0.35" stroke="{WAITING}" stroke-width="1.2"/>"#
    );
    let d = polyline(
        bucket_xs(&plot, buckets, size).map(|(x, b)| Some((x?, plot.y.y(b.busy? as f64)))),
    );
    svg.path("running", &d, BUSY, 1.8, "", "none");
    let d = polyline(
        bucket_xs(&plot, buckets, size).map(|(x, b)| Some((x?, plot.y.y(b.capacity as f64)))),
    );
    svg.path("capacity", &d, CAPACITY, 2.0, "6 3", "none");
    close_panel(svg, y, top, plot.h())
}

fn requests_panel(svg: &mut Svg, axis: &TimeAxis, buckets: &[Bucket], note: &str, y: f64) -> f64 {
    const CLASSES: [(&str, &str); 4] = [("2xx", S2XX), ("3xx", S3XX), ("4xx", S4XX), ("5xx", S5XX)];
    const CODES: [(&str, &str, &str); 3] = [
        ("H10", "app crashed", H10),
        ("H12", "request timeout", H12),
        ("H13", "connection closed", H13),
    ];
    let mut legend: Vec<(Mark, String)> = CLASSES
        .iter()
        .map(|(label, c)| (Mark::Area(c), (*label).to_owned()))
        .collect();
    legend.extend(
        CODES
            .iter()
            .map(|(code, what, c)| (Mark::Area(c), format!("{code} {what}"))),
    );
    let head = Head {
        key: "requests",
        title: "Requests per minute by status class, and router errors".to_owned(),
        legend,
        note: note.to_owned(),
    };
    let strip = 3.0 * 12.0 + 4.0;
    let top = open_panel(svg, &head, y, strip);
    let classes = |b: &Bucket| {
        let c = &b.counts;
        [c.s2xx, c.s3xx, c.s4xx, c.s5xx]
    };
    let highest = buckets
        .iter()
        .map(|b| b.rate(classes(b).iter().sum()))
        .fold(0.0, f64::max);
    let plot = Plot {
        x: axis,
        y: ValueAxis::linear(highest * 1.05, 180.0, FONT, false),
    };
    plot.axes(svg, "requests / min");
    if buckets.is_empty() {
        plot.no_data(svg, "no router traffic in the input");
    } else {
        let size = size_of(buckets);
        // Stacked areas: each class from the sum of those below it to the sum with it.
        for (k, (label, colour)) in CLASSES.iter().enumerate() {
            let mut d = String::new();
            let mut run: Vec<(f64, f64, f64)> = Vec::new();
            let flush = |run: &mut Vec<(f64, f64, f64)>, d: &mut String| {
                if run.is_empty() {
                    return;
                }
                for (i, (x, _, hi)) in run.iter().enumerate() {
                    let _ = write!(
                        d,
                        "{}{x:.1},{:.1}",
                        if i == 0 { "M" } else { "L" },
                        plot.y.y(*hi)
                    );
                }
                for (x, lo, _) in run.iter().rev() {
                    let _ = write!(d, "L{x:.1},{:.1}", plot.y.y(*lo));
                }
                d.push('Z');
                run.clear();
            };
            for (x, b) in bucket_xs(&plot, buckets, size) {
                match x {
                    None => flush(&mut run, &mut d),
                    Some(x) => {
                        let below: u64 = classes(b)[..k].iter().sum();
                        let lo = b.rate(below);
                        let hi = b.rate(below + classes(b)[k]);
                        run.push((x, lo, hi));
                    }
                }
            }
            flush(&mut run, &mut d);
            let _ = write!(
                svg.out,
                r#"<path class="series s{}" d="{d}" fill="{colour}" fill-opacity="0.85" stroke="none"/>"#,
                label
            );
        }
        // Router errors: a mark per bucket with any, one row per code above the plot.
        let w = (axis.x(buckets[0].start + size) - axis.x(buckets[0].start)).max(2.0);
        for (i, (code, _, colour)) in CODES.iter().enumerate() {
            let row = -strip + 2.0 + i as f64 * 12.0;
            svg.text(-8.0, row + 9.0, "end", 10.0, MUTED, "", code);
            let mut d = String::new();
            for b in buckets {
                let n = match i {
                    0 => b.counts.h10,
                    1 => b.counts.h12,
                    _ => b.counts.h13,
                };
                if n > 0 {
                    let _ = write!(d, "M{:.1},{row:.1}h{w:.1}v9h{:.1}Z", plot.px(b.start), -w);
                }
            }
            svg.path(&code.to_ascii_lowercase(), &d, "none", 0.0, "", colour);
        }
    }
    close_panel(svg, y, top, plot.h())
}

fn service_panel(
    svg: &mut Svg,
    view: &View<'_>,
    axis: &TimeAxis,
    buckets: &[Bucket],
    note: &str,
    y: f64,
) -> f64 {
    let slow = view.settings.slow_ms;
    let mut legend = vec![
        (Mark::Line(P50), "p50 (median)".to_owned()),
        (Mark::Line(P95), "p95".to_owned()),
    ];
    if let Some(ms) = slow {
        legend.push((
            Mark::Dashed(SLOW),
            format!("slow threshold {}", format_ms(ms)),
        ));
    }
    let head = Head {
        key: "service",
        title: "Service time (router): p50 and p95".to_owned(),
        legend,
        note: note.to_owned(),
    };
    let top = open_panel(svg, &head, y, 0.0);
    let values: Vec<f64> = buckets
        .iter()
        .flat_map(|b| [b.p50(), b.p95()])
        .flatten()
        .chain(slow)
        .collect();
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(0.0, f64::max);
    let plot = Plot {
        x: axis,
        y: ValueAxis::log_ms(low.max(1.0), high.max(10.0), 160.0, FONT),
    };
    plot.axes(svg, "ms (log scale)");
    if buckets.iter().all(|b| b.p95().is_none()) {
        plot.no_data(svg, "no service times in the input");
    } else {
        let size = size_of(buckets);
        for (class, colour, f) in [
            ("p50", P50, Bucket::p50 as fn(&Bucket) -> Option<f64>),
            ("p95", P95, Bucket::p95),
        ] {
            let d =
                polyline(bucket_xs(&plot, buckets, size).map(|(x, b)| Some((x?, plot.y.y(f(b)?)))));
            svg.path(class, &d, colour, 1.6, "", "none");
        }
    }
    if let Some(ms) = slow {
        let y = plot.y.y(ms);
        svg.path(
            "slow",
            &format!("M0,{y:.1}H{PLOT_W:.1}"),
            SLOW,
            1.5,
            "6 4",
            "none",
        );
    }
    close_panel(svg, y, top, plot.h())
}

fn busy_panel(
    svg: &mut Svg,
    view: &View<'_>,
    axis: &TimeAxis,
    buckets: &[Bucket],
    note: &str,
    y: f64,
) -> f64 {
    let concurrency = view.settings.concurrency;
    let mut legend = vec![(Mark::Area(BUSY), "busy (requests in service)".to_owned())];
    let capacity: Vec<(DateTime<Utc>, f64)> = match concurrency {
        Some(c) => view
            .quantity
            .iter()
            .map(|&(t, q)| (t, f64::from(q) * f64::from(c)))
            .collect(),
        None => Vec::new(),
    };
    if let Some(c) = concurrency {
        legend.push((Mark::Dashed(CAPACITY), format!("capacity (quantity × {c})")));
    }
    let note = match (concurrency, capacity.is_empty()) {
        (None, _) => [note, "capacity unknown: set concurrency"].join(if note.is_empty() {
            ""
        } else {
            " · "
        }),
        (Some(_), true) => [note, "capacity unknown: no quantity in the input"]
            .join(if note.is_empty() { "" } else { " · " }),
        _ => note.to_owned(),
    };
    let head = Head {
        key: "busy",
        title: "Busy vs capacity".to_owned(),
        legend,
        note,
    };
    let top = open_panel(svg, &head, y, 0.0);
    let highest = buckets
        .iter()
        .map(Bucket::busy)
        .chain(capacity.iter().map(|c| c.1))
        .fold(0.0, f64::max);
    let plot = Plot {
        x: axis,
        y: ValueAxis::linear(highest * 1.05, 140.0, FONT, false),
    };
    plot.axes(svg, "requests in service");
    if buckets.is_empty() && capacity.is_empty() {
        plot.no_data(svg, "no router traffic in the input");
    } else {
        let size = size_of(buckets);
        let d = area(
            bucket_xs(&plot, buckets, size).map(|(x, b)| Some((x?, plot.y.y(b.busy())))),
            plot.h(),
        );
        let _ = write!(
            svg.out,
            r#"<path class="series busy" d="{d}" fill="{BUSY}" fill-opacity="0.3" stroke="{BUSY}" stroke-width="1.2"/>"#
        );
        let d = steps_path(&plot, capacity.iter().copied());
        svg.path("capacity", &d, CAPACITY, 2.0, "6 3", "none");
        if buckets.is_empty() {
            plot.no_data(svg, "no router traffic in the input");
        }
    }
    close_panel(svg, y, top, plot.h())
}

/// A step line (each value until the next, the last until the axis' end).
fn steps_path(plot: &Plot<'_>, steps: impl Iterator<Item = (DateTime<Utc>, f64)>) -> String {
    let mut d = String::new();
    let mut last_y = None;
    for (t, v) in steps {
        let (x, y) = (plot.px(t), plot.y.y(v));
        match last_y {
            None => {
                let _ = write!(d, "M{x:.1},{y:.1}");
            }
            Some(prev) => {
                let _ = write!(d, "L{x:.1},{prev:.1}L{x:.1},{y:.1}");
            }
        }
        last_y = Some(y);
    }
    if let Some(y) = last_y {
        let _ = write!(d, "L{:.1},{y:.1}", plot.px(plot.x.end));
    }
    d
}

fn dynos_panel(svg: &mut Svg, view: &View<'_>, axis: &TimeAxis, buckets: &[Bucket], y: f64) -> f64 {
    let data = view.data;
    let max = view.settings.max;
    let mut legend = vec![
        (Mark::Line(QUANTITY), "quantity".to_owned()),
        (Mark::Dashed(FLOOR), "schedule floor".to_owned()),
    ];
    if let Some(m) = max {
        legend.push((Mark::Dashed(MAX), format!("max {m}")));
    }
    let serving = buckets.iter().any(|b| b.dynos.is_some());
    if serving {
        legend.push((Mark::Line(SERVING), "dynos serving (router)".to_owned()));
    }
    let mut reasons: Vec<&str> = Vec::new();
    for s in &data.scales {
        if !reasons.contains(&s.reason.as_str()) {
            reasons.push(&s.reason);
        }
    }
    for r in &reasons {
        legend.push((Mark::Triangle(reason_colour(r)), format!("scale: {r}")));
    }
    if data.scales.iter().any(|s| s.result != "ok") {
        legend.push((
            Mark::Triangle(MUTED),
            "scale not applied (dry run, error, ...)".to_owned(),
        ));
    }
    legend.push((Mark::Alert, format!("alerts sent ({})", data.alerts.len())));
    let mut note = String::new();
    if view.floor.capped {
        note = "the schedule fires too often to draw all of it".to_owned();
    } else if view.floor.steps.is_empty() {
        note = "floor unknown: no start line or configuration gives the schedule".to_owned();
    }
    let head = Head {
        key: "dynos",
        title: "Dynos: quantity vs the schedule's floor, scale events, alerts".to_owned(),
        legend,
        note,
    };
    let strip = 14.0;
    let top = open_panel(svg, &head, y, strip);
    let highest = view
        .quantity
        .iter()
        .map(|q| q.1)
        .chain(view.floor.steps.iter().map(|f| f.1))
        .chain(max)
        .chain(buckets.iter().filter_map(|b| b.dynos))
        .chain(data.scales.iter().filter_map(|s| s.to))
        .max()
        .unwrap_or(1)
        .max(1);
    let plot = Plot {
        x: axis,
        y: ValueAxis::linear(f64::from(highest) * 1.15, 170.0, FONT, true),
    };
    plot.axes(svg, "dynos");
    let nothing = view.quantity.is_empty()
        && view.floor.steps.is_empty()
        && data.scales.is_empty()
        && !serving;
    if nothing {
        plot.no_data(svg, "no dyno quantity or schedule in the input");
    }
    if serving {
        let size = size_of(buckets);
        let d = polyline(
            bucket_xs(&plot, buckets, size).map(|(x, b)| Some((x?, plot.y.y(f64::from(b.dynos?))))),
        );
        svg.path("serving", &d, SERVING, 1.2, "", "none");
    }
    let d = steps_path(
        &plot,
        view.floor.steps.iter().map(|&(t, q)| (t, f64::from(q))),
    );
    svg.path("floor", &d, FLOOR, 2.0, "7 5", "none");
    let d = steps_path(&plot, view.quantity.iter().map(|&(t, q)| (t, f64::from(q))));
    svg.path("quantity", &d, QUANTITY, 2.5, "", "none");
    if let Some(m) = max {
        let y = plot.y.y(f64::from(m));
        svg.path(
            "max",
            &format!("M0,{y:.1}H{PLOT_W:.1}"),
            MAX,
            1.5,
            "2 3",
            "none",
        );
    }
    let mut d = String::new();
    for s in &data.scales {
        let q = s.to.or(s.from).unwrap_or(0);
        let (x, y) = (plot.px(s.at), plot.y.y(f64::from(q)));
        let colour = if s.applied() {
            reason_colour(&s.reason)
        } else {
            MUTED
        };
        let _ = write!(
            svg.out,
            r##"<path class="series scale" d="{}" fill="{colour}" stroke="#ffffff" stroke-width="0.8"><title>{}</title></path>"##,
            triangle(x, y, 6.0, false),
            escape(&format!(
                "{} scale {} → {} ({}, {})",
                s.at.with_timezone(&view.summary.zone)
                    .format("%a %d %b %H:%M:%S"),
                s.from.map_or("?".to_owned(), |v| v.to_string()),
                s.to.map_or("?".to_owned(), |v| v.to_string()),
                s.reason,
                s.result
            ))
        );
    }
    for a in &data.alerts {
        let _ = write!(d, "{}", triangle(plot.px(a.at), -strip / 2.0, 5.0, true));
    }
    svg.path("alerts", &d, "none", 0.0, "", ALERT);
    close_panel(svg, y, top, plot.h())
}

fn checks_panel(svg: &mut Svg, view: &View<'_>, axis: &TimeAxis, y: f64) -> f64 {
    let probes: Vec<&super::dataset::Probe> = view
        .data
        .probes
        .iter()
        .filter(|p| p.source == ProbeSource::Probe)
        .collect();
    let (slow, fast) = (view.settings.slow_ms, view.settings.fast_ms);
    let mut legend: Vec<(Mark, String)> = [Outcome::Fast, Outcome::Ok, Outcome::Slow]
        .into_iter()
        .map(|o| {
            (
                Mark::Dot(outcome_colour(o)),
                format!("latency ({})", o.as_str()),
            )
        })
        .collect();
    legend.push((
        Mark::Cross(outcome_colour(Outcome::Down)),
        "down (no answer in time, or not 2xx)".to_owned(),
    ));
    if let Some(ms) = slow {
        legend.push((
            Mark::Dashed(SLOW),
            format!("slow threshold {}", format_ms(ms)),
        ));
    }
    if let Some(ms) = fast {
        legend.push((
            Mark::Dashed(FAST),
            format!("fast threshold {}", format_ms(ms)),
        ));
    }
    let head = Head {
        key: "checks",
        title: "Health checks: latency by outcome".to_owned(),
        legend,
        note: String::new(),
    };
    let strip = 12.0;
    let top = open_panel(svg, &head, y, strip);
    let values: Vec<f64> = probes
        .iter()
        .filter(|p| p.outcome != Outcome::Down)
        .filter_map(|p| p.latency_ms)
        .chain(slow)
        .chain(fast)
        .collect();
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(0.0, f64::max);
    let plot = Plot {
        x: axis,
        y: ValueAxis::log_ms(low.max(1.0), high.max(10.0), 160.0, FONT),
    };
    plot.axes(svg, "latency, ms (log scale)");
    if values.is_empty() && !probes.iter().any(|p| p.outcome == Outcome::Down) {
        plot.no_data(svg, "no answered checks in the input");
    }
    for (name, ms, colour) in [("slow", slow, SLOW), ("fast", fast, FAST)] {
        if let Some(ms) = ms {
            let y = plot.y.y(ms);
            svg.path(
                name,
                &format!("M0,{y:.1}H{PLOT_W:.1}"),
                colour,
                1.5,
                "6 4",
                "none",
            );
        }
    }
    // One dot per 2 × 2 pixels and outcome: the SVG's size does not grow with the checks.
    const ORDER: [Outcome; 4] = [Outcome::Fast, Outcome::Ok, Outcome::Slow, Outcome::Down];
    let slot_of = |o: Outcome| ORDER.iter().position(|x| *x == o).unwrap_or(3);
    let mut seen: HashSet<(i64, i64, usize)> = HashSet::new();
    let mut paths: [String; 4] = Default::default();
    for p in &probes {
        let x = plot.px(p.at);
        let y = match (p.outcome, p.latency_ms) {
            (Outcome::Down, _) => -strip / 2.0,
            (_, Some(ms)) => plot.y.y(ms),
            (_, None) => continue,
        };
        let slot = slot_of(p.outcome);
        if !seen.insert(((x / 2.0) as i64, (y / 2.0) as i64, slot)) {
            continue;
        }
        let d = &mut paths[slot];
        if p.outcome == Outcome::Down {
            let _ = write!(d, "M{:.1},{:.1}l7,7m0,-7l-7,7", x - 3.5, y - 3.5);
        } else {
            let _ = write!(
                d,
                "M{:.1},{y:.1}a2.5,2.5 0 1,0 5,0a2.5,2.5 0 1,0 -5,0",
                x - 2.5
            );
        }
    }
    for (outcome, d) in ORDER.into_iter().zip(paths) {
        let colour = outcome_colour(outcome);
        if outcome == Outcome::Down {
            svg.path("down", &d, colour, 2.0, "", "none");
        } else {
            svg.path(outcome.as_str(), &d, "none", 0.0, "", colour);
        }
    }
    close_panel(svg, y, top, plot.h())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::heatmap::heat;
    use crate::chart::read::tests::{read, ts, RAW};
    use crate::chart::read::Hints;
    use crate::chart::{svg, Options};
    use crate::traffic::fixture::Fixture;

    fn doc_check(svg: &str) -> Vec<String> {
        let doc = roxmltree::Document::parse(svg).expect("well-formed XML");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        assert!(
            !svg.contains("href") && !svg.contains("url("),
            "self-contained"
        );
        doc.descendants()
            .filter(|n| n.attribute("data-panel").is_some())
            .map(|n| n.attribute("data-panel").unwrap().to_owned())
            .collect()
    }

    fn with_traffic() -> String {
        let fixture = Fixture {
            scale: 0.2,
            ..Fixture::new(ts("2026-11-30T06:00:00Z"), 1, chrono_tz::UTC)
        };
        let mut logs = Vec::new();
        fixture.write_heroku_logs(&mut logs).unwrap();
        format!("{RAW}{}", String::from_utf8(logs).unwrap())
    }

    #[test]
    fn every_panel_of_a_target_with_traffic_and_checks() {
        let d = read(&with_traffic(), &Hints::default());
        let (svg, summaries) = svg(&d, &Options::default()).unwrap();
        assert_eq!(summaries.len(), 1);
        assert_eq!(
            doc_check(&svg),
            ["summary", "requests", "service", "busy", "dynos", "checks", "heatmap"]
        );
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let count = |class: &str| {
            doc.descendants()
                .filter(|n| n.attribute("class") == Some(class))
                .count()
        };
        assert_eq!(count("cell"), 168);
        assert_eq!(count("nodata"), 0);
        for series in [
            "series s2xx",
            "series p50",
            "series p95",
            "series busy",
            "series quantity",
            "series floor",
            "series max",
            "series slow",
            "series down",
        ] {
            assert!(count(series) >= 1, "{series}");
        }
        assert!(svg.contains("scale: scale_in") && svg.contains("alerts sent (1)"));
        assert!(svg.contains("autoscale: shop/web"));
        assert!(
            svg.contains("drawn as 5-minute means"),
            "a day at 2 px a bucket"
        );
    }

    /// Ten minutes of a worker: calm, a backlog at minute 4 (45 s old, 600 waiting, 2 dynos
    /// running 20 jobs), then calm again at 7 dynos.
    const WORKER: &str = "ts=2026-12-07T10:00:00.000Z level=info event=start app=shop process=worker schedule=\"00:00=1\" tz=UTC max=20 scale_in_after=3 concurrency=10 queue=sidekiq queue_latency=30s\n";

    fn worker_lines() -> String {
        let mut text = WORKER.to_owned();
        for m in 0..10 {
            let (depth, latency, busy, dynos) = match m {
                4 => (600, 45_000, 20, 2),
                0..=3 => (3, 800, 4, 2),
                _ => (0, 0, 9, 7),
            };
            text.push_str(&format!(
                "ts=2026-12-07T10:{:02}:01.000Z level=info event=queue app=shop process=worker minute=2026-12-07T10:{m:02}:00Z depth={depth} latency_ms={latency} busy={busy} done=100 dynos={dynos} concurrency=10\n",
                m + 1
            ));
        }
        text
    }

    /// The numbers of a path's `d` as (x, y) points.
    fn points(d: &str) -> Vec<(f64, f64)> {
        d.split(['M', 'L', 'Z'])
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                // `M0,yHx`: a horizontal line from its start.
                let y = y.split('H').next().unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect()
    }

    #[test]
    fn a_workers_queue_panels_draw_latency_against_its_target_and_jobs_against_capacity() {
        let d = read(&worker_lines(), &Hints::default());
        let (svg, summaries) = svg(&d, &Options::default()).unwrap();
        assert_eq!(
            doc_check(&svg),
            ["summary", "queue_latency", "queue_jobs", "dynos"],
            "no traffic panels for a worker"
        );
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let path = |class: &str| -> Vec<(f64, f64)> {
            let node = doc
                .descendants()
                .find(|n| n.attribute("class") == Some(class))
                .unwrap_or_else(|| panic!("{class}"));
            points(node.attribute("d").unwrap())
        };
        let latency = path("series latency");
        let target = path("series target");
        assert_eq!(latency.len(), 10, "a point a minute");
        // Only minute 4 is above the target line (a smaller y is higher).
        let above: Vec<usize> = latency
            .iter()
            .enumerate()
            .filter(|(_, p)| p.1 < target[0].1)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(above, [4]);
        // The calm minutes' 0.8 s sit near the bottom, the backlog's 45 s at 1.5× the target's
        // height above it.
        let bottom = latency[5].1;
        let ratio = (bottom - latency[4].1) / (bottom - target[0].1);
        assert!((ratio - 1.5).abs() < 0.01, "{ratio}");
        let capacity = path("series capacity");
        let running = path("series running");
        assert_eq!((capacity.len(), running.len()), (10, 10));
        // Capacity 20 then 70; running 20 at minute 4: on the capacity line.
        assert!((running[4].1 - capacity[4].1).abs() < 0.01);
        assert!(capacity[5].1 < capacity[4].1);
        let waiting = path("series waiting");
        let peak = waiting.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        assert_eq!(
            waiting.iter().position(|p| p.1 == peak),
            Some(5),
            "after the area's start"
        );
        assert!(svg.contains("target 30 s"));
        let text = summaries[0].to_string();
        assert!(
            text.contains("queue: 10 minutes, the oldest job within the 30 s target in 90.0% of them; the oldest 45 s at"),
            "{text}"
        );
        assert!(
            text.contains("the most waiting 600") && text.contains("jobs done 1,000"),
            "{text}"
        );
        assert!(!text.contains("traffic: none"), "{text}");
    }

    /// The demo's shape: web's traffic minutes lasting 2 s each (600 requests in the six from
    /// 10:00:10, 60 in the rest), a scale on load at 10:00:14; a worker read every second, 150
    /// jobs waiting from 10:00:30; the story's phases.
    fn demo_like() -> (crate::chart::Dataset, Options) {
        let t0 = ts("2026-12-07T10:00:00.300Z");
        let at = |ms: i64| t0 + TimeDelta::milliseconds(ms);
        let mut d = crate::chart::Dataset::new();
        for i in 0..15 {
            let requests = if (5..11).contains(&i) { 600 } else { 60 };
            d.add_minute(crate::traffic::minute::Minute {
                app: "shop".into(),
                process: "web".into(),
                minute: at(2_000 * i),
                requests,
                p50_ms: Some(400),
                p95_ms: Some(400),
                p99_ms: Some(400),
                errors: 0,
                h10: 0,
                h12: 0,
                h13: 0,
                s2xx: requests,
                s3xx: 0,
                s4xx: 0,
                s5xx: 0,
                busy: requests as f64 * 0.4 / 60.0,
                dynos: 1,
            });
        }
        d.add_scale(
            "shop",
            "web",
            crate::chart::dataset::Scale {
                at: at(14_000),
                from: Some(1),
                to: Some(3),
                reason: "load".into(),
                result: "ok".into(),
            },
        );
        for i in 0..40 {
            let depth = if (30..36).contains(&i) { 150 } else { 0 };
            d.add_queue_minute(
                "shop",
                "worker",
                crate::chart::dataset::QueueMinute {
                    minute: at(1_000 * i - 500),
                    depth,
                    latency_ms: depth * 20,
                    busy: Some(3),
                    done: Some(2),
                    dynos: 1,
                    concurrency: 5,
                },
            );
        }
        assert!(d.set_period("shop", "web", TimeDelta::seconds(2)));
        assert!(d.set_period("shop", "worker", TimeDelta::seconds(1)));
        d.sort();
        let phase = |from: i64, to: i64, label: &str, fault: bool| crate::chart::Phase {
            from: at(from),
            to: at(to),
            label: label.to_owned(),
            fault,
        };
        let options = Options {
            phases: vec![
                phase(0, 10_000, "healthy", false),
                phase(10_000, 22_000, "load", false),
                phase(22_000, 30_000, "quiet", false),
                phase(30_000, 40_000, "outage", true),
                phase(30_000, 30_000, "burst", false),
            ],
            ..Options::default()
        };
        (d, options)
    }

    /// The x of each phase's start line, by name, in the first plot of the SVG.
    fn phase_xs(doc: &roxmltree::Document<'_>) -> Vec<(String, f64)> {
        let plot = doc
            .descendants()
            .find(|n| n.attribute("class") == Some("phases"))
            .expect("phases drawn");
        plot.children()
            .filter(|n| n.attribute("class") == Some("phase-start"))
            .map(|n| {
                let d = n.attribute("d").unwrap();
                let x = d[1..].split(',').next().unwrap().parse().unwrap();
                (n.attribute("data-phase").unwrap().to_owned(), x)
            })
            .collect()
    }

    #[test]
    fn minutes_shorter_than_a_minute_are_drawn_over_the_time_they_lasted_with_the_phases() {
        let (d, options) = demo_like();
        let (svg, summaries) = svg(&d, &options).unwrap();
        assert_eq!(
            doc_check(&svg),
            [
                "summary",
                "requests",
                "service",
                "busy",
                "dynos",
                "summary",
                "queue_latency",
                "queue_jobs",
                "dynos"
            ],
            "no heatmap of minutes that are not minutes"
        );
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let phases = phase_xs(&doc);
        let names: Vec<&str> = phases.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["healthy", "load", "quiet", "outage", "burst"]);
        let x = |name: &str| phases.iter().find(|(n, _)| n == name).unwrap().1;
        // The story fills the plot: from 09:59:59.8 (the first read's row) to 10:00:40.3 (the
        // phases' end), 2 % more each side.
        let per_second = PLOT_W / (40.5 * 1.04);
        assert!(((x("outage") - x("load")) - 20.0 * per_second).abs() < 0.2);
        assert!(((x("load") - x("healthy")) - 10.0 * per_second).abs() < 0.2);
        assert!((x("healthy") - 1.31 * per_second).abs() < 0.2);
        assert_eq!(x("burst"), x("outage"));
        // Every plot marks them: 7 plots, the bands of the 3 grey or red phases in each.
        let count = |class: &str| {
            doc.descendants()
                .filter(|n| n.attribute("class") == Some(class))
                .count()
        };
        assert_eq!(count("phases"), 7);
        assert_eq!(count("phase-band"), 7 * 3);
        assert_eq!(count("phase-label"), 7 * 5);
        // The requests: a point a traffic minute, in its middle; the 600s inside the load.
        let series = |class: &str, nth: usize| -> Vec<(f64, f64)> {
            let node = doc
                .descendants()
                .filter(|n| n.attribute("class") == Some(class))
                .nth(nth)
                .unwrap_or_else(|| panic!("{class}"));
            points(node.attribute("d").unwrap())
        };
        let top: Vec<(f64, f64)> = series("series s2xx", 0)[..15].to_vec();
        let high = top.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let loaded: Vec<f64> = top.iter().filter(|p| p.1 == high).map(|p| p.0).collect();
        assert_eq!(loaded.len(), 6);
        assert!(
            (loaded[0] - (x("load") + per_second)).abs() < 0.2,
            "{loaded:?}"
        );
        assert!(loaded.iter().all(|&px| px > x("load") && px < x("quiet")));
        // The scale on load, marked inside the load phase.
        let scale = doc
            .descendants()
            .find(|n| n.attribute("class") == Some("series scale"))
            .unwrap();
        let sx: f64 = scale.attribute("d").unwrap()[1..]
            .split(',')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(sx > x("load") && sx < x("quiet"), "{sx}");
        // The worker's waiting jobs: a point a read, drawn at the read; 150 from the burst on.
        let waiting = series("series waiting", 0);
        let peak = waiting.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let first_high = waiting.iter().find(|p| p.1 == peak).unwrap().0;
        assert!((first_high - x("burst")).abs() < 0.2, "{first_high}");
        assert!(!svg.contains("drawn as"), "each minute is its own bucket");
        assert!(summaries[1]
            .to_string()
            .contains("queue: 40 reads (one every 1 s)"));
    }

    #[test]
    fn minutes_shorter_than_a_minute_in_wider_buckets_say_so() {
        let (d, options) = demo_like();
        let t = ts("2026-12-07T10:00:00Z");
        // Half an hour's axis: 5 s buckets; for the web's 2 s minutes, 6 s (whole minutes).
        let mut options = options;
        options.phases.push(crate::chart::Phase {
            from: t + TimeDelta::minutes(30),
            to: t + TimeDelta::minutes(30),
            label: "later".into(),
            fault: false,
        });
        let (svg, _) = svg(&d, &options).unwrap();
        assert!(svg.contains("drawn as 6-second means"), "web");
        assert!(
            svg.contains("drawn as the worst of each 5-second"),
            "worker"
        );
    }

    #[test]
    fn a_target_without_traffic_gets_no_traffic_panels_and_says_what_is_missing() {
        let d = read(
            "ts=2026-11-30T06:00:01.123Z level=info event=shutdown signal=SIGTERM\n",
            &Hints::default(),
        );
        let (svg, _) = svg(&d, &Options::default()).unwrap();
        assert_eq!(doc_check(&svg), ["summary", "dynos"]);
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let nodata: Vec<&str> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("nodata"))
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(nodata, ["no dyno quantity or schedule in the input"]);
        assert!(svg.contains("floor unknown: no start line or configuration gives the schedule"));
        assert!(
            svg.contains("traffic: none in the input"),
            "the summary says it"
        );
        assert!(
            !svg.contains("capacity unknown"),
            "no busy panel to say it in"
        );
    }

    #[test]
    fn hostile_text_stays_text() {
        let text = "ts=2026-11-30T06:00:00.000Z level=info event=scale app=\"<b>&x\" process=\"'web'\" from=1 to=2 reason=\"</text><script>\" result=ok\n";
        let d = read(text, &Hints::default());
        let options = Options {
            title: Some("Shop <prod> & \"friends\"\u{7}".to_owned()),
            ..Options::default()
        };
        let (svg, _) = svg(&d, &options).unwrap();
        doc_check(&svg);
        assert!(svg.contains("Shop &lt;prod&gt; &amp; &quot;friends&quot; "));
        assert!(svg.contains("&lt;b&gt;&amp;x/&apos;web&apos;"));
        assert!(!svg.contains("<script"));
        assert_eq!(escape("a\u{1}<>&\"'"), "a &lt;&gt;&amp;&quot;&apos;");
    }

    #[test]
    fn many_checks_make_a_bounded_svg() {
        let mut text = String::from("ts=2026-11-01T00:00:00.000Z level=info event=start app=a process=web schedule=\"07:00=3; 22:00=1\" slow=2s fast=off max=4\n");
        let start = ts("2026-11-01T00:00:00Z");
        for i in 0..200_000 {
            let t = start + TimeDelta::seconds(3 * i);
            let outcome = ["fast", "ok", "slow", "down"][i as usize % 4];
            text.push_str(&format!(
                "ts={} level=info event=probe app=a process=web latency_ms={} outcome={outcome} current=2\n",
                t.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
                50 + i % 3000
            ));
        }
        let d = read(&text, &Hints::default());
        let (svg, summaries) = svg(&d, &Options::default()).unwrap();
        assert_eq!(summaries[0].checks, 200_000);
        assert!(svg.len() < 2_500_000, "{} bytes", svg.len());
        doc_check(&svg);
    }

    #[test]
    fn buckets_are_per_minute_means_with_gaps() {
        let fixture = Fixture {
            scale: 0.5,
            errors: false,
            ..Fixture::new(ts("2026-11-30T10:00:00Z"), 1, chrono_tz::UTC)
        };
        let mut d = crate::chart::Dataset::new();
        for m in fixture.minutes().into_iter().filter(|m| {
            m.minute < ts("2026-11-30T10:10:00Z") || m.minute >= ts("2026-11-30T11:00:00Z")
        }) {
            d.add_minute(m);
        }
        let t = &d.targets()[0];
        let view = View::of(t, t.span().unwrap());
        let b = buckets(&view, TimeDelta::minutes(5));
        assert_eq!(b[0].start, ts("2026-11-30T10:00:00Z"));
        assert_eq!((b[0].minutes, b[0].covered), (5, 5.0));
        let first_five: u64 = t.minutes().take(5).map(|m| m.requests).sum();
        assert_eq!(b[0].counts.requests, first_five);
        assert!((b[0].rate(first_five) - first_five as f64 / 5.0).abs() < 1e-9);
        assert_eq!(
            b[2].start,
            ts("2026-11-30T11:00:00Z"),
            "the hour without data is no bucket"
        );
        let axis = TimeAxis::fit(
            ts("2026-11-30T10:00:00Z"),
            ts("2026-11-30T12:00:00Z"),
            chrono_tz::UTC,
            1000.0,
            12.0,
        );
        let plot = Plot {
            x: &axis,
            y: ValueAxis::linear(1.0, 100.0, 12.0, false),
        };
        let xs: Vec<bool> = bucket_xs(&plot, &b, TimeDelta::minutes(5))
            .map(|(x, _)| x.is_some())
            .collect();
        assert_eq!(xs[..4], [true, true, false, true], "a gap breaks the line");
        let mean_p95 = t
            .minutes()
            .take(5)
            .map(|m| f64::from(m.p95_ms.unwrap()))
            .sum::<f64>()
            / 5.0;
        assert!((b[0].p95().unwrap() - mean_p95).abs() < 1e-9);
        assert_eq!(Bucket::default().p50(), None);
        assert_eq!(size_of(&b), TimeDelta::minutes(5));
        assert_eq!(size_of(&b[..1]), TimeDelta::minutes(5));
        assert_eq!(size_of::<Bucket>(&[]), TimeDelta::minutes(1));
    }

    #[test]
    fn bucket_sizes_give_each_two_pixels() {
        let a = ts("2026-11-30T00:00:00Z");
        let axis = |days: i64, width: f64| {
            TimeAxis::fit(a, a + TimeDelta::days(days), chrono_tz::UTC, width, 12.0)
        };
        // Minutes drawn per bucket, for minutes of a minute: whole minutes.
        let at = |days: i64, width: f64| {
            Grid::new(bucket_size(&axis(days, width)), TimeDelta::minutes(1), a)
                .size()
                .num_minutes()
        };
        // A minute's axis: 1 s buckets (for minutes that last less, as the demo's), 1 minute for
        // real minutes.
        assert_eq!(bucket_size(&axis(0, 1000.0)), TimeDelta::seconds(1));
        assert_eq!(at(0, 1000.0), 1);
        assert_eq!(at(1, 1000.0), 5);
        assert_eq!(at(7, 1088.0), 20);
        assert_eq!(at(7, 100.0), 360);
        assert_eq!(at(1500, 1000.0), 10080);
        // Past a week a bucket: whatever gives 2 px.
        let span = 36500 * 86400 * 104 / 100;
        assert_eq!(at(36500, 1000.0), (span / 500 + 1 + 59) / 60);
    }

    #[test]
    fn heat_runs_from_pale_yellow_to_dark_red() {
        assert_eq!(heat(0.0), "#ffffcc");
        assert_eq!(heat(1.0), "#bd0026");
        assert_eq!(heat(0.35), "#fed976");
        assert_eq!(heat(f64::NAN), "#ffffcc");
        assert_eq!(heat(7.0), "#bd0026");
        assert_eq!(heat(-1.0), "#ffffcc");
    }

    #[test]
    fn long_text_wraps_at_words() {
        let text = "one two three four five six seven eight nine ten";
        let lines = wrap(text, 12.0, 100.0);
        assert!(lines.len() > 2, "{lines:?}");
        assert!(lines
            .iter()
            .all(|l| text_width(l, 12.0) <= 100.0 || !l.contains(' ')));
        assert_eq!(lines.join(" "), text);
        assert_eq!(wrap("", 12.0, 100.0), Vec::<String>::new());
    }
}
