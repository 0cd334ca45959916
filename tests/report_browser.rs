//! The HTML report in a real browser: headless Chromium opens a generated report, runs its
//! scripts, and the test reads back the DOM (`--dump-dom`) to check what was drawn.
//!
//! Opened as `report.html#selftest`, the page also drives itself with real mouse events (hover,
//! legend toggle, brush, double-click) and writes what happened, with the boxes of every shown
//! axis label, into `<script id="selftest-result">`; this test judges those results. Errors are
//! caught twice: the page records uncaught errors and `console.error` in `<html data-errors>`,
//! and Chromium's own log (`--enable-logging=stderr`) must show no console line at all (the page
//! logs nothing when all is well).
//!
//! Needs Chromium: `/usr/bin/chromium` or `$CHROMIUM` (`.ci/install-chromium` installs it). Without
//! it the test fails and says how to install it.

mod report_support;

use std::time::Duration;

use autoscale::report::{
    render_html, AlertMark, Heatmap, MinutePoint, ProbePoint, QueuePoint, ReportData, ScaleMark,
    Step, Summary, TargetReport, Zone,
};
use chrono::{DateTime, Duration as Span, Utc};
use report_support::{chromium, week};

const PANELS: [&str; 6] = ["summary", "requests", "latency", "busy", "dynos", "heatmap"];

/// What the browser made of a report.
struct Page {
    dom: String,
    stderr: String,
}

impl Page {
    /// Renders `data`, opens it (with `#selftest`) in a window `width` pixels wide and returns the
    /// DOM after the scripts ran.
    fn open(data: &ReportData, width: u32) -> Page {
        if let Err(e) = chromium::binary() {
            panic!("{e}");
        }
        let dir = chromium::temp_dir("report");
        let html = dir.join("report.html");
        std::fs::write(&html, render_html(data)).expect("write the report");
        let url = format!("file://{}#selftest", html.display());
        let output = chromium::run(
            &[
                &format!("--window-size={width},1200"),
                "--virtual-time-budget=15000",
                "--dump-dom",
                &url,
            ],
            &dir.join("profile"),
            Duration::from_secs(120),
        );
        let _ = std::fs::remove_dir_all(&dir);
        let output = output.unwrap_or_else(|e| panic!("{e}"));
        Page {
            dom: output.stdout,
            stderr: output.stderr,
        }
    }

    /// The page ran to its end with no error anywhere, and nothing injected ran.
    fn assert_clean(&self) {
        let root = start_tags(&self.dom, "html")
            .next()
            .expect("an <html> element in the dump");
        assert_eq!(
            attr(root, "data-rendered"),
            Some("ok"),
            "the script ran to its end: {root}"
        );
        assert_eq!(
            attr(root, "data-errors"),
            Some("[]"),
            "errors recorded by the page"
        );
        assert_eq!(attr(root, "data-pwned"), None, "an injected script ran");
        let console: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE"))
            .collect();
        assert!(
            console.is_empty(),
            "the page wrote to the console:\n{}",
            console.join("\n")
        );
    }

    /// Each target's section: (`app/process`, its HTML).
    fn sections(&self) -> Vec<(String, &str)> {
        let mut parts: Vec<&str> = self
            .dom
            .split("<section class=\"target\"")
            .skip(1)
            .collect();
        if let Some(last) = parts.last_mut() {
            *last = last.split("</main>").next().unwrap_or(last);
        }
        parts
            .into_iter()
            .map(|part| {
                let head = &part[..part.find('>').expect("a section tag")];
                let name = attr(head, "data-target").expect("data-target").to_string();
                (unescape(&name), part)
            })
            .collect()
    }

    /// The JSON the page's self-test wrote.
    fn selftest(&self) -> serde_json::Value {
        let open = "<script type=\"application/json\" id=\"selftest-result\">";
        let start = self.dom.find(open).expect("the self-test wrote its result") + open.len();
        let end = start + self.dom[start..].find("</script>").expect("its end");
        serde_json::from_str(&self.dom[start..end]).expect("the self-test result is JSON")
    }
}

/// The start tags `<name ...>` in `html`, without their `<` and `>`.
fn start_tags<'a>(html: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    html.match_indices('<')
        .map(|(at, _)| &html[at + 1..])
        .filter(move |rest| rest.starts_with(name) && rest[name.len()..].starts_with([' ', '>']))
        .map(|rest| &rest[..rest.find('>').unwrap_or(rest.len())])
}

/// The value of attribute `name` in a start tag (Chromium writes every value in double quotes).
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = start + tag[start..].find('"')?;
    Some(&tag[start..end])
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// The text of every `<text class="nodata" ...>` in `html` that says something.
fn no_data_texts(html: &str) -> Vec<String> {
    html.match_indices("<text class=\"nodata\"")
        .filter_map(|(at, _)| {
            let rest = &html[at..];
            let body = &rest[rest.find('>')? + 1..rest.find("</text>")?];
            (!body.is_empty()).then(|| body.to_string())
        })
        .collect()
}

/// The HTML of the panel `data-panel="name"` inside a section.
fn panel<'a>(section: &'a str, name: &str) -> &'a str {
    let marker = format!("data-panel=\"{name}\"");
    let start = section
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} panel"));
    let rest = &section[start..];
    let end = rest[1..]
        .find("data-panel=\"")
        .map_or(rest.len(), |e| e + 1);
    &rest[..end]
}

/// The `d` of the series path(s) with class `series`, in a panel.
fn series_paths<'a>(panel: &'a str, series: &str) -> Vec<&'a str> {
    start_tags(panel, "path")
        .filter(|tag| {
            attr(tag, "class").is_some_and(|c| {
                let classes: Vec<&str> = c.split(' ').collect();
                classes.contains(&"series") && classes.contains(&series)
            })
        })
        .filter_map(|tag| attr(tag, "d"))
        .collect()
}

/// The y axis tick labels of a panel.
fn y_ticks(panel: &str) -> Vec<String> {
    let Some(start) = panel.find("class=\"axis y-axis\"") else {
        return Vec::new();
    };
    let axis = &panel[start..];
    let axis = &axis[..axis.find("class=\"axis x-axis\"").unwrap_or(axis.len())];
    axis.match_indices("<text")
        .filter_map(|(at, _)| {
            let rest = &axis[at..];
            Some(rest[rest.find('>')? + 1..rest.find("</text>")?].to_string())
        })
        .filter(|t| !t.is_empty())
        .collect()
}

/// No two shown labels of one axis touch: the boxes the page measured after layout.
fn assert_labels_apart(labels: &serde_json::Value, when: &str) {
    let axes = labels.as_array().expect("label boxes");
    assert!(
        axes.len() >= 10,
        "{when}: too few axes measured: {}",
        axes.len()
    );
    for axis in axes {
        let boxes = axis["boxes"].as_array().expect("boxes");
        let f = |b: &serde_json::Value, k: &str| b[k].as_f64().expect("a number");
        for (i, a) in boxes.iter().enumerate() {
            assert!(
                f(a, "right") > f(a, "left"),
                "{when}: a label with no width: {a}"
            );
            for b in &boxes[i + 1..] {
                let apart = f(a, "right") <= f(b, "left")
                    || f(b, "right") <= f(a, "left")
                    || f(a, "bottom") <= f(b, "top")
                    || f(b, "bottom") <= f(a, "top");
                assert!(apart, "{when}: labels overlap in {}: {a} and {b}", axis);
            }
        }
    }
}

#[test]
fn a_week_of_two_targets_draws_every_panel_and_answers_the_mouse() {
    let data = week::report();
    for width in [1400, 640] {
        let page = Page::open(&data, width);
        page.assert_clean();
        let sections = page.sections();
        let names: Vec<&str> = sections.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["shop/web", "api/web"],
            "one section per target, in order"
        );
        for (name, section) in &sections {
            for kind in PANELS {
                panel(section, kind);
            }
            let cells = start_tags(section, "rect")
                .filter(|t| attr(t, "class") == Some("cell"))
                .count();
            assert_eq!(cells, 168, "{name}: heatmap cells");
            assert!(
                no_data_texts(section).is_empty(),
                "{name}: {:?}",
                no_data_texts(section)
            );
            let mut expected = vec![
                ("requests", "s2xx"),
                ("requests", "s3xx"),
                ("requests", "s4xx"),
                ("requests", "s5xx"),
                ("latency", "p50"),
                ("latency", "p95"),
                ("latency", "slow"),
                ("busy", "busy"),
                ("dynos", "quantity"),
                ("dynos", "floor"),
                ("dynos", "max"),
            ];
            if name == "shop/web" {
                expected.push(("busy", "capacity"));
            }
            for (kind, series) in expected {
                let paths = series_paths(panel(section, kind), series);
                assert!(
                    paths.iter().any(|d| d.starts_with('M') && d.len() > 20),
                    "{name}: the {kind} panel's {series} path is empty: {paths:?}"
                );
            }
            assert!(
                series_paths(panel(section, "busy"), "capacity").is_empty() != (name == "shop/web"),
                "{name}: capacity is drawn only when concurrency is known"
            );
            // Hostile text shows as text: escaped in the DOM, never markup.
            assert!(
                section.contains("&lt;/script&gt;&lt;script&gt;document.documentElement"),
                "{name}"
            );
        }

        let result = page.selftest();
        let tooltips = result["tooltips"].as_array().expect("tooltips");
        assert_eq!(
            tooltips.len(),
            8,
            "one tooltip per time panel, none stuck: {tooltips:?}"
        );
        for tip in tooltips {
            let text = tip["text"]
                .as_str()
                .unwrap_or_else(|| panic!("no tooltip: {tip}"));
            let want = match tip["panel"].as_str().unwrap() {
                "requests" => "2xx",
                "latency" => "p95",
                "busy" => "busy",
                "dynos" => "schedule floor",
                other => panic!("unexpected panel {other}"),
            };
            assert!(
                text.contains(want) && text.contains("Europe/Berlin"),
                "{tip}"
            );
        }
        for tip in result["heatmap"].as_array().expect("heatmap tooltips") {
            let text = tip["text"]
                .as_str()
                .unwrap_or_else(|| panic!("no tooltip: {tip}"));
            assert!(text.starts_with("Wednesday 14:00–15:00requests"), "{text}");
        }
        let toggle = &result["toggle"];
        assert_eq!(toggle["before"], 1, "{toggle}");
        assert_eq!(toggle["hidden"], 0, "{toggle}");
        assert_eq!(toggle["pressedWhenHidden"], "false", "{toggle}");
        assert_eq!(toggle["after"], 1, "{toggle}");

        let zoom = &result["zoom"];
        let ms = |v: &serde_json::Value, i: usize| v[i].as_f64().expect("a time");
        let (full, zoomed, reset) = (&zoom["full"], &zoom["zoomed"], &zoom["reset"]);
        assert_eq!(
            ms(full, 0),
            week::week_start().timestamp_millis() as f64,
            "{zoom}"
        );
        assert_eq!(
            ms(full, 1),
            week::week_end().timestamp_millis() as f64,
            "{zoom}"
        );
        assert!(
            ms(zoomed, 0) > ms(full, 0) && ms(zoomed, 1) < ms(full, 1),
            "{zoom}"
        );
        let (full_span, zoomed_span) = (ms(full, 1) - ms(full, 0), ms(zoomed, 1) - ms(zoomed, 0));
        let share = zoomed_span / full_span;
        assert!(
            (0.12..0.18).contains(&share),
            "brushed 15 % of the width: {share} {zoom}"
        );
        assert_eq!(reset, full, "double-click resets: {zoom}");
        assert_ne!(zoom["ticksZoomed"], zoom["ticksBefore"], "{zoom}");
        assert_eq!(
            zoom["otherPanelFollowed"], true,
            "all panels share the axis: {zoom}"
        );
        assert_eq!(zoom["ticksAfterReset"], zoom["ticksBefore"], "{zoom}");
        assert_eq!(
            zoom["range"], "Showing Mon 23 Mar 2026 00:00 – Mon 30 Mar 2026 00:00 (6 d 23 h)",
            "times in Berlin, across the change to summer time"
        );

        assert_labels_apart(&result["labels"]["initial"], &format!("{width} px"));
        assert_labels_apart(&result["labels"]["zoomed"], &format!("{width} px, zoomed"));
    }
}

fn at(minutes: i64) -> DateTime<Utc> {
    week::week_start() + Span::minutes(minutes)
}

/// A target with no data at all, and one whose every number is hostile but a few.
fn odd_report() -> ReportData {
    let minute = |t: i64, requests: u64, p: f64| MinutePoint {
        t: at(t),
        requests,
        s2xx: requests,
        p50_ms: Some(p),
        p95_ms: Some(p),
        busy: Some(p),
        dynos: Some(2),
        ..MinutePoint::default()
    };
    let minutes = vec![
        minute(0, 100, 50.0),
        minute(1, u64::MAX, f64::NAN),
        minute(2, 120, f64::INFINITY),
        minute(3, 1_000_000_000_000_000, 1e300),
        minute(4, 90, -5.0),
        minute(5, 110, 60.0),
    ];
    ReportData {
        title: "odd".into(),
        generated_at: at(60),
        zone: Zone::utc(),
        targets: vec![
            TargetReport {
                app: "empty".into(),
                process: "web".into(),
                ..TargetReport::default()
            },
            TargetReport {
                app: "odd".into(),
                process: "web".into(),
                concurrency: Some(0),
                slow_ms: Some(f64::NAN),
                max: Some(3),
                queue_latency_ms: None,
                queue: Vec::new(),
                heatmap: Some(Heatmap::from_minutes(&minutes, chrono_tz::UTC)),
                minutes,
                quantity: vec![Step {
                    t: at(0),
                    quantity: 2,
                }],
                floor: vec![],
                scales: vec![ScaleMark {
                    t: at(3),
                    from: None,
                    to: None,
                    reason: String::new(),
                    result: None,
                }],
                alerts: vec![AlertMark {
                    t: at(4),
                    kind: String::new(),
                    message: "\u{2028}<!--".into(),
                }],
                probes: vec![ProbePoint {
                    t: at(2),
                    latency_ms: Some(f64::NEG_INFINITY),
                    outcome: "?".into(),
                }],
                summary: Summary {
                    p95_ms: Some(f64::NAN),
                    requests: Some(u64::MAX),
                    ..Summary::default()
                },
            },
        ],
    }
}

#[test]
fn empty_panels_say_no_data_and_hostile_numbers_stretch_no_axis() {
    let page = Page::open(&odd_report(), 1000);
    page.assert_clean();
    let sections = page.sections();
    let (name, empty) = &sections[0];
    assert_eq!(name, "empty/web");
    assert_eq!(
        no_data_texts(empty),
        ["no data"; 5],
        "the four time panels and the heatmap"
    );
    assert!(empty.contains("no data for a summary"));
    for kind in PANELS {
        panel(empty, kind);
    }

    let (name, odd) = &sections[1];
    assert_eq!(name, "odd/web");
    assert!(no_data_texts(odd).is_empty(), "{:?}", no_data_texts(odd));
    for kind in ["requests", "latency", "busy", "dynos"] {
        let ticks = y_ticks(panel(odd, kind));
        assert!(!ticks.is_empty(), "{kind}: no y axis");
        for tick in &ticks {
            // d3's "~s" writes k, M, G, T, ... : nothing here reaches a thousand.
            assert!(
                tick.chars().all(|c| c.is_ascii_digit() || c == '.'),
                "{kind}: tick {tick:?} of {ticks:?}"
            );
        }
    }
    let cells = start_tags(odd, "rect")
        .filter(|t| attr(t, "class") == Some("cell"))
        .count();
    assert_eq!(cells, 168);
    let result = page.selftest();
    assert_eq!(result["tooltips"].as_array().map(Vec::len), Some(8));
}

/// A worker on its queue: an hour of calm, a backlog at minute 30 (600 waiting, 45 s old) met by
/// 7 dynos, calm again.
fn worker_report() -> ReportData {
    let queue: Vec<QueuePoint> = (0..60)
        .map(|m| {
            let (depth, latency_ms, busy, dynos) = match m {
                30 => (600, 45_000, 20, 2),
                31..=35 => (100, 12_000, 70, 7),
                _ if m < 30 => (3, 800, 4, 2),
                _ => (0, 0, 9, 1),
            };
            QueuePoint {
                t: at(m),
                depth,
                latency_ms,
                busy: (m != 10).then_some(busy),
                capacity: dynos * 10,
            }
        })
        .collect();
    ReportData {
        title: "worker".into(),
        generated_at: at(60),
        zone: Zone::utc(),
        targets: vec![TargetReport {
            app: "shop".into(),
            process: "worker".into(),
            concurrency: Some(10),
            max: Some(20),
            queue_latency_ms: Some(30_000.0),
            queue,
            quantity: vec![
                Step {
                    t: at(0),
                    quantity: 2,
                },
                Step {
                    t: at(31),
                    quantity: 7,
                },
                Step {
                    t: at(36),
                    quantity: 1,
                },
            ],
            scales: vec![ScaleMark {
                t: at(31),
                from: Some(2),
                to: Some(7),
                reason: "queue".into(),
                result: Some("ok".into()),
            }],
            ..TargetReport::default()
        }],
    }
}

#[test]
fn a_workers_queue_panels_replace_the_traffic_panels() {
    let page = Page::open(&worker_report(), 1200);
    page.assert_clean();
    let sections = page.sections();
    let (name, worker) = &sections[0];
    assert_eq!(name, "shop/worker");
    let panels: Vec<&str> = start_tags(worker, "div")
        .filter_map(|t| attr(t, "data-panel"))
        .collect();
    assert_eq!(panels, ["summary", "queue_latency", "queue_jobs", "dynos"]);
    assert!(
        no_data_texts(worker).is_empty(),
        "{:?}",
        no_data_texts(worker)
    );
    let latency = panel(worker, "queue_latency");
    assert_eq!(series_paths(latency, "latency").len(), 1);
    assert_eq!(series_paths(latency, "target").len(), 1);
    // The y axis in seconds reaches past the 45 s backlog.
    let ticks = y_ticks(latency);
    assert!(ticks.iter().any(|t| t == "40"), "{ticks:?}");
    assert!(latency.contains("target 30 s"), "the target in the legend");
    let jobs = panel(worker, "queue_jobs");
    for series in ["waiting", "running", "capacity"] {
        assert_eq!(series_paths(jobs, series).len(), 1, "{series}");
    }
    // One minute without a busy figure breaks the running line in two.
    let running = series_paths(jobs, "running")[0];
    assert_eq!(running.matches('M').count(), 2, "{running}");
    let ticks = y_ticks(jobs);
    assert!(ticks.iter().any(|t| t == "600"), "{ticks:?}");
    let dynos = panel(worker, "dynos");
    assert!(!series_paths(dynos, "quantity").is_empty());
}

#[test]
fn without_chromium_the_message_says_how_to_install_it() {
    let message = chromium::missing_message(std::path::Path::new("/nonexistent/chromium"));
    assert!(message.contains("apt-get install -y chromium"), "{message}");
    assert!(message.contains("/nonexistent/chromium"), "{message}");
}
