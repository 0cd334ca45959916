//! `autoscale chart` on traffic, the real binary as a process: a week of router lines generated
//! by `traffic::fixture` (Berlin, a daily and weekly shape, across the change to summer time)
//! becomes an HTML report that headless Chromium draws with every panel and 168 heatmap cells,
//! and an SVG with the same; the same traffic as `heroku logs` lines, Logplex frames and
//! `event=traffic` lines reads back to the same minutes and the same printed summary; inputs in
//! any order, gzip or not; empty and garbage-only input exits 2.

mod common;
mod report_support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use autoscale::chart::{Dataset, Hints, Reader};
use autoscale::traffic::fixture::Fixture;
use chrono::{DateTime, Utc};
use common::output;
use report_support::chromium;

const SCHEDULE: &str = "07:00=3; 22:00=2; 03:00=1";

fn dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("chart-traffic");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// Monday 23 March 2026, 00:00 in Berlin: the week crosses the change to summer time.
/// A week at a tenth of the fixture's office traffic (about 140,000 router lines, 14 MB): the
/// whole shape at a size a debug build reads in seconds.
fn week() -> Fixture {
    Fixture {
        scale: 0.1,
        ..Fixture::new(utc("2026-03-22T23:00:00Z"), 7, chrono_tz::Europe::Berlin)
    }
}

fn gzip(path: &Path) -> PathBuf {
    let gz = path.with_extension("log.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    encoder.write_all(&std::fs::read(path).unwrap()).unwrap();
    encoder.finish().unwrap();
    gz
}

/// The week written once in each shape: (heroku logs, logplex frames, traffic lines).
fn week_files() -> &'static (PathBuf, PathBuf, PathBuf) {
    static FILES: OnceLock<(PathBuf, PathBuf, PathBuf)> = OnceLock::new();
    FILES.get_or_init(|| {
        let fixture = week();
        let write = |name: &str, f: &dyn Fn(&mut std::io::BufWriter<std::fs::File>)| {
            let path = dir().join(name);
            let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
            f(&mut out);
            out.flush().unwrap();
            path
        };
        let logs = write("week-heroku.log", &|out| {
            fixture.write_heroku_logs(out).unwrap();
        });
        let frames = write("week-logplex.log", &|out| {
            fixture.write_logplex(out).unwrap();
        });
        let traffic = write("week-traffic.log", &|out| {
            fixture.write_traffic(out).unwrap();
        });
        (logs, frames, traffic)
    })
}

/// The daemon's own lines over the week: a start line, a scale at every edge of the schedule,
/// a check every ten minutes at the floor, an alert.
fn week_daemon_log() -> PathBuf {
    let tz = chrono_tz::Europe::Berlin;
    let schedule = autoscale::schedule::Schedule::parse(SCHEDULE, tz).unwrap();
    let start = week().start;
    let end = start + chrono::Duration::days(7);
    let ts = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let mut log = format!(
        "ts={} level=info event=start version=0.1.0 app=shop process=web schedule=\"{SCHEDULE}\" tz=Europe/Berlin max=5 check_url=https://shop.example.com/ interval=10m timeout=10s slow=2s fast=200ms dry_run=false traffic=on concurrency=2 utilization=0.7 error_rate=0.05\n",
        ts(start)
    );
    let mut current = schedule.floor(start).unwrap().quantity;
    let mut edges = schedule
        .next_edges(start, 100)
        .into_iter()
        .filter(|e| e.at < end)
        .peekable();
    let mut t = start + chrono::Duration::seconds(30);
    while t < end {
        while let Some(edge) = edges.next_if(|e| e.at <= t) {
            if edge.quantity != current {
                log.push_str(&format!(
                    "ts={} level=info event=scale app=shop process=web from={current} to={} reason=schedule result=ok\n",
                    ts(edge.at + chrono::Duration::milliseconds(200)),
                    edge.quantity
                ));
                current = edge.quantity;
            }
        }
        log.push_str(&format!(
            "ts={} level=info event=probe app=shop process=web source=probe status=200 latency_ms=120 outcome=ok error=\"\" current={current} floor={current}\n",
            ts(t)
        ));
        t += chrono::Duration::minutes(10);
    }
    log.push_str(&format!(
        "ts={} level=info event=notify channel=webhook kind=scale_out result=ok attempt=1\n",
        ts(start + chrono::Duration::hours(40))
    ));
    let path = dir().join("week-daemon.log");
    std::fs::write(&path, log).unwrap();
    path
}

fn berlin_env() -> Vec<(String, String)> {
    [
        ("AUTOSCALE_APP", "shop"),
        ("AUTOSCALE_TZ", "Europe/Berlin"),
        ("AUTOSCALE_SCHEDULE", SCHEDULE),
        ("AUTOSCALE_MAX", "5"),
        ("AUTOSCALE_CONCURRENCY", "2"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

async fn chart(inputs: &[&Path], out: &Path, env: &[(String, String)]) -> (i32, String, String) {
    let mut args = vec!["chart".to_owned()];
    for input in inputs {
        args.push("--input".to_owned());
        args.push(input.to_str().unwrap().to_owned());
    }
    args.push("--output".to_owned());
    args.push(out.to_str().unwrap().to_owned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    output(&args, env).await
}

/// The start tags `<name ...>` in `html`, without their `<` and `>`.
fn start_tags<'a>(html: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    html.match_indices('<')
        .map(|(at, _)| &html[at + 1..])
        .filter(move |rest| rest.starts_with(name) && rest[name.len()..].starts_with([' ', '>']))
        .map(|rest| &rest[..rest.find('>').unwrap_or(rest.len())])
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = start + tag[start..].find('"')?;
    Some(&tag[start..end])
}

/// The per-target summary blocks `chart` printed (everything before the `read:` line).
fn summaries(stdout: &str) -> &str {
    &stdout[..stdout.find("\nread: ").expect("a read: line")]
}

#[tokio::test]
async fn a_week_of_router_lines_draws_every_panel_in_html_and_svg() {
    let (logs, _, _) = week_files();
    let daemon = week_daemon_log();
    let html = dir().join("week.html");
    // The settings come from the daemon's start line, not from the environment.
    let (code, stdout, stderr) = chart(&[&daemon, logs], &html, &[]).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("shop/web (times in Europe/Berlin)"),
        "{stdout}"
    );
    assert!(stdout.contains("chart written to"), "{stdout}");
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(
        stderr.contains("given to shop, the app their host is named after"),
        "the attribution is said: {stderr}"
    );
    assert!(
        stdout.contains("scale events: 21 (schedule 21)"),
        "{stdout}"
    );
    assert!(stdout.contains("alerts sent: 1"), "{stdout}");

    // The page in a real browser.
    chromium::binary().unwrap_or_else(|e| panic!("{e}"));
    let profile = chromium::temp_dir("chart-traffic");
    let url = format!("file://{}", html.display());
    let run = chromium::run(
        &[
            "--window-size=1400,1200",
            "--virtual-time-budget=15000",
            "--dump-dom",
            &url,
        ],
        &profile,
        Duration::from_secs(120),
    );
    let _ = std::fs::remove_dir_all(&profile);
    let dom = run.unwrap_or_else(|e| panic!("{e}"));
    let root = start_tags(&dom.stdout, "html").next().expect("an <html>");
    assert_eq!(attr(root, "data-rendered"), Some("ok"), "{root}");
    assert_eq!(attr(root, "data-errors"), Some("[]"), "{root}");
    assert!(
        !dom.stderr.lines().any(|l| l.contains(":CONSOLE")),
        "{}",
        dom.stderr
    );
    let sections: Vec<&str> = start_tags(&dom.stdout, "section")
        .filter_map(|t| attr(t, "data-target"))
        .collect();
    assert_eq!(sections, ["shop/web"]);
    let panels: Vec<&str> = start_tags(&dom.stdout, "div")
        .filter_map(|t| attr(t, "data-panel"))
        .collect();
    assert_eq!(
        panels,
        ["summary", "requests", "latency", "busy", "dynos", "heatmap"]
    );
    let cells = start_tags(&dom.stdout, "rect")
        .filter(|t| attr(t, "class") == Some("cell"))
        .count();
    assert_eq!(cells, 168);
    assert!(
        !dom.stdout.contains("class=\"nodata\">no data<"),
        "every panel has data"
    );
    for series in [
        "s2xx", "p95", "busy", "capacity", "quantity", "floor", "max",
    ] {
        assert!(
            start_tags(&dom.stdout, "path").any(|t| attr(t, "class")
                .is_some_and(|c| c.split(' ').any(|c| c == series))
                && attr(t, "d").is_some_and(|d| d.len() > 20)),
            "the {series} series is drawn"
        );
    }

    // The same as SVG.
    let svg_path = dir().join("week.svg");
    let (code, stdout_svg, stderr) = chart(&[logs, &daemon], &svg_path, &[]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(summaries(&stdout_svg), summaries(&stdout));
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
    let cells = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("class") == Some("cell"))
        .count();
    assert_eq!(cells, 168);
    let titles: Vec<String> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("panel-title"))
        .filter_map(|n| n.text().map(str::to_owned))
        .collect();
    for title in [
        "Summary",
        "Requests per minute by status class, and router errors",
        "Service time (router): p50 and p95",
        "Busy vs capacity",
        "Dynos: quantity vs the schedule's floor, scale events, alerts",
        "Requests per minute by hour of the week (Europe/Berlin)",
    ] {
        assert!(titles.iter().any(|t| t == title), "{title:?} in {titles:?}");
    }
    assert!(
        !doc.descendants()
            .any(|n| n.attribute("class") == Some("nodata")),
        "every panel has data"
    );
    assert!(svg.len() < 1_500_000, "{} bytes", svg.len());
}

fn dataset_of(path: &Path) -> Dataset {
    let mut reader = Reader::new();
    reader.read_path(path).unwrap();
    reader.finish(&Hints::default())
}

#[tokio::test]
async fn three_shapes_of_the_same_traffic_give_the_same_minutes_and_summary() {
    let (logs, frames, traffic) = week_files();
    let expected = week().minutes();
    let mut outs = Vec::new();
    for (i, path) in [logs, frames, traffic].into_iter().enumerate() {
        let dataset = dataset_of(path);
        let targets = dataset.targets();
        assert_eq!(targets.len(), 1, "{path:?}: {:?}", dataset.notes());
        assert_eq!(targets[0].name(), "shop/web");
        assert_eq!(targets[0].minute_list(), expected, "{path:?}");
        assert_eq!(dataset.lines.garbage, 0);
        let out = dir().join(format!("shape-{i}.svg"));
        let (code, stdout, stderr) = chart(&[path], &out, &berlin_env()).await;
        assert_eq!(code, 0, "{stderr}");
        outs.push(stdout);
    }
    assert!(outs[0].contains("traffic: "), "{}", outs[0]);
    assert_eq!(summaries(&outs[0]), summaries(&outs[1]));
    assert_eq!(summaries(&outs[0]), summaries(&outs[2]));
}

#[tokio::test]
async fn router_and_traffic_lines_of_the_same_minutes_count_once_in_any_order() {
    let (logs, frames, traffic) = week_files();
    let gz = gzip(frames);
    let alone = dataset_of(logs);
    for order in [[traffic, &gz], [&gz, traffic]] {
        let mut reader = Reader::new();
        for path in order {
            reader.read_path(path).unwrap();
        }
        let both = reader.finish(&Hints::default());
        assert_eq!(both.targets().len(), 1);
        assert!(
            both.targets()[0].minute_list() == alone.targets()[0].minute_list(),
            "router and traffic lines of the same minutes: each minute once"
        );
        assert_eq!(both.differing_minutes, 0, "{:?}", both.notes());
    }
    let out = dir().join("mixed.svg");
    let (code, mixed, stderr) = chart(&[traffic, &gz], &out, &berlin_env()).await;
    assert_eq!(code, 0, "{stderr}");
    let (code, single, _) = chart(&[logs], &dir().join("single.svg"), &berlin_env()).await;
    assert_eq!(code, 0);
    assert_eq!(summaries(&mixed), summaries(&single));
}

#[tokio::test]
async fn empty_or_garbage_only_input_exits_2_with_an_example() {
    let empty = dir().join("empty.log");
    std::fs::write(&empty, "").unwrap();
    let garbage = dir().join("garbage.log");
    std::fs::write(
        &garbage,
        "hello\n{\"json\": 1}\n2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=/ service=8\n\
         ts=2026-11-30T14:03:00.000Z level=info event=probe latency_ms=1e308 outcome=fast\n",
    )
    .unwrap();
    let gz = gzip(&garbage);
    for input in [&empty, &garbage, &gz] {
        let (code, stdout, stderr) = chart(&[input], &dir().join("nothing.svg"), &[]).await;
        assert_eq!(code, 2, "{input:?}: {stdout}{stderr}");
        assert!(
            stderr.contains("nothing to chart") && stderr.contains("example: heroku logs"),
            "{stderr}"
        );
    }
    let (code, _, stderr) = chart(&[&garbage], &dir().join("nothing.svg"), &[]).await;
    assert_eq!(code, 2);
    assert!(stderr.contains("4 line(s) were not"), "{stderr}");
    assert!(stderr.contains("(4 lines skipped)"), "{stderr}");
}

#[tokio::test]
async fn an_output_that_is_neither_svg_nor_html_exits_2_before_reading() {
    let (code, _, stderr) = output(
        &[
            "chart",
            "--input",
            "/nonexistent.log",
            "--output",
            "week.png",
        ],
        &[],
    )
    .await;
    assert_eq!(code, 2);
    assert!(
        stderr.contains(".svg")
            && stderr.contains(".html")
            && stderr.contains("example: --output week.html"),
        "{stderr}"
    );
    let (code, _, stderr) = output(
        &["chart", "--input", "/nonexistent.log", "--output", "x.svg"],
        &[],
    )
    .await;
    assert_eq!(code, 2);
    assert!(stderr.contains("/nonexistent.log"), "{stderr}");
}
