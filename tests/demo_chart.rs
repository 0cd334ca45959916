//! `autoscale demo` end to end, and `autoscale chart` on the daemon's own output.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use autoscale::logfmt::Line;
use autoscale::sim::Mode;
use common::*;

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("charts");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// The SVG parses as XML and names every series of the daemon's own lines.
fn assert_chart(path: &PathBuf) {
    let svg = std::fs::read_to_string(path).expect("the chart was written");
    let doc = roxmltree::Document::parse(&svg).expect("the SVG is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    let all = texts.join("\n");
    for series in ["latency", "quantity", "floor", "slow", "fast"] {
        assert!(all.contains(series), "no {series:?} in the chart's text");
    }
    assert!(!svg.contains("href"), "self-contained");
}

#[tokio::test]
async fn the_demo_tells_the_whole_story_and_draws_it() {
    let svg = tmp("demo.svg");
    let _ = std::fs::remove_file(&svg);
    let out = svg.to_str().unwrap();
    let (code, stdout, stderr) = output(&["demo", "--seconds", "30", "--output", out], &[]).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let events: Vec<Line> = stdout
        .lines()
        .filter_map(Line::parse)
        .filter(|l| l.event().is_some())
        .collect();
    let has = |pred: &dyn Fn(&Line) -> bool| events.iter().any(pred);
    assert!(has(&|l| l.event() == Some("start")), "{stdout}");
    assert!(
        has(&|l| l.get("reason") == Some("schedule") || l.get("trigger") == Some("schedule")),
        "a schedule edge: {stdout}"
    );
    let scales: Vec<&Line> = events
        .iter()
        .filter(|l| l.event() == Some("scale"))
        .collect();
    let reason = |r: &str| scales.iter().position(|l| l.get("reason") == Some(r));
    reason("load").unwrap_or_else(|| panic!("a scale-out on load: {stdout}"));
    let down = reason("down").unwrap_or_else(|| panic!("a scale-out in the outage: {stdout}"));
    // The rise reaches 3 on load before the outage, in one step or, when a loaded machine
    // splits the ramp's first traffic minute, in two (1 → 2 → 3): the demo runs in real time.
    let reached = scales[..down]
        .iter()
        .filter(|l| l.get("reason") == Some("load"))
        .filter_map(|l| l.get("to").and_then(|v| v.parse::<u32>().ok()))
        .max();
    assert_eq!(reached, Some(3), "{stdout}");
    assert_eq!(
        scales[down].get("to"),
        Some("4"),
        "to the maximum: {stdout}"
    );
    let number = |l: &Line, k: &str| l.get(k).and_then(|v| v.parse::<u32>().ok()).unwrap();
    assert!(
        scales[down + 1..]
            .iter()
            .any(|l| l.get("process") == Some("web") && number(l, "to") < number(l, "from")),
        "a scale-in after the outage (calm traffic or a schedule edge): {stdout}"
    );
    assert!(has(&|l| l.event() == Some("shutdown")), "{stdout}");
    for banner in [
        "phase 2/8: traffic rises",
        "phase 4/8: outage",
        "phase 8/8: recovery",
    ] {
        assert!(stdout.contains(banner), "banners: {stdout}");
    }
    assert!(
        stdout.contains("traffic rose: scaled out on load to "),
        "{stdout}"
    );
    assert!(
        stdout.contains("outage: scaled out"),
        "reaction time: {stdout}"
    );
    // The worker's story: the burst met on the queue, each scale-in drained first, no job cut
    // short by a stopping dyno.
    let worker: Vec<&Line> = events
        .iter()
        .filter(|l| l.get("process") == Some("worker"))
        .collect();
    let out_on_queue = worker.iter().position(|l| {
        l.event() == Some("scale") && l.get("reason") == Some("queue") && number(l, "to") > 1
    });
    let out_on_queue =
        out_on_queue.unwrap_or_else(|| panic!("the burst scales the worker out: {stdout}"));
    for (i, l) in worker.iter().enumerate().skip(out_on_queue) {
        if l.event() == Some("scale") && number(l, "to") < number(l, "from") {
            let drained = worker[..i]
                .iter()
                .rev()
                .find(|d| d.event() == Some("drain"));
            assert!(
                drained.is_some_and(|d| matches!(d.get("state"), Some("done" | "timeout"))
                    && d.get("to") == l.get("to")),
                "a scale-in of the worker is drained first: {stdout}"
            );
        }
    }
    assert!(
        stdout.contains("worker: the burst of 150 jobs was met "),
        "{stdout}"
    );
    assert!(
        stdout.contains("cut short by a stopping dyno: 0"),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("chart: {out}")), "{stdout}");
    assert_chart(&svg);
    assert_demo_chart(&svg);
}

/// The numbers of a path's `d` as (x, y) points (`M`, `L` and `Z` only).
fn points(d: &str) -> Vec<(f64, f64)> {
    d.split(['M', 'L', 'Z'])
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (x, y) = p.split_once(',')?;
            Some((x.parse().ok()?, y.parse().ok()?))
        })
        .collect()
}

/// The demo's chart shows what drove each scale: web's traffic (its load inside the load
/// phase, and the scale on load there too), the worker's waiting jobs rising at the burst and
/// its scale-out on the queue right after, and the story's phases, named in order.
fn assert_demo_chart(path: &PathBuf) {
    let svg = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let target = |name: &str| {
        doc.descendants()
            .find(|n| n.attribute("data-target") == Some(name))
            .unwrap_or_else(|| panic!("no section for {name}"))
    };
    type Node<'a, 'i> = roxmltree::Node<'a, 'i>;
    fn panel<'a, 'i>(target: Node<'a, 'i>, key: &str) -> Node<'a, 'i> {
        target
            .descendants()
            .find(|n| n.attribute("data-panel") == Some(key))
            .unwrap_or_else(|| panic!("no {key} panel"))
    }
    fn class<'a, 'i>(node: Node<'a, 'i>, class: &str) -> Vec<Node<'a, 'i>> {
        node.descendants()
            .filter(|n| n.attribute("class") == Some(class))
            .collect()
    }
    let (web, worker) = (target("demo-shop/web"), target("demo-shop/worker"));
    assert!(
        !svg.contains("traffic: none in the input"),
        "web's traffic is drawn"
    );

    // The phases, in the order of the story, each starting right of the one before.
    let requests = panel(web, "requests");
    let starts: Vec<(String, f64)> = class(requests, "phase-start")
        .iter()
        .map(|n| {
            let x = points(n.attribute("d").unwrap().split('V').next().unwrap())[0].0;
            (n.attribute("data-phase").unwrap().to_owned(), x)
        })
        .collect();
    let names: Vec<&str> = starts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "healthy",
            "load",
            "quiet",
            "outage",
            "recovery",
            "slow",
            "hang",
            "recovery",
            "burst: 150 jobs"
        ]
    );
    assert!(
        starts[..8].windows(2).all(|w| w[0].1 < w[1].1),
        "{starts:?}"
    );
    let labels: Vec<&str> = class(requests, "phase-label")
        .iter()
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(labels, names, "each phase named in every plot");
    for key in ["service", "busy", "dynos", "checks"] {
        assert_eq!(class(panel(web, key), "phase-label").len(), 9, "{key}");
    }
    for key in ["queue_latency", "queue_jobs", "dynos"] {
        assert_eq!(class(panel(worker, key), "phase-label").len(), 9, "{key}");
    }
    let x = |name: &str| starts.iter().find(|(n, _)| n == name).unwrap().1;

    // Web's requests: the busiest traffic minute is drawn inside the load phase, and no more
    // than a sixth of that outside it (the quiet minutes before it).
    let area = points(
        class(requests, "series s2xx")[0]
            .attribute("d")
            .expect("the requests are drawn"),
    );
    let bottom = area.iter().map(|p| p.1).fold(f64::MIN, f64::max);
    let top = area.iter().map(|p| p.1).fold(f64::MAX, f64::min);
    assert!(top < bottom - 50.0, "requests above zero: {area:?}");
    let peak_x = area.iter().find(|p| p.1 == top).unwrap().0;
    assert!(
        x("load") <= peak_x && peak_x <= x("quiet") + 40.0,
        "the load is drawn in its phase: {peak_x} vs {starts:?}"
    );
    // A minute is drawn from its start over its 2 s: the one the load began in (a share of
    // its requests the load's) is not a quiet one.
    let mut xs: Vec<f64> = area.iter().map(|p| p.0).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let minute = xs.windows(2).map(|w| w[1] - w[0]).fold(f64::MAX, f64::min);
    let before_load = area
        .iter()
        .filter(|p| p.0 + minute <= x("load") + 0.5)
        .map(|p| bottom - p.1)
        .fold(0.0, f64::max);
    assert!(before_load <= (bottom - top) / 6.0, "{area:?}");
    assert!(class(panel(web, "busy"), "series busy").len() == 1);

    // The scales marked where their causes are.
    let scales = |target: Node<'_, '_>| -> Vec<(f64, String)> {
        class(panel(target, "dynos"), "series scale")
            .iter()
            .map(|n| {
                let x = points(n.attribute("d").unwrap())[0].0;
                let title = n
                    .children()
                    .find(|c| c.has_tag_name("title"))
                    .and_then(|t| t.text())
                    .unwrap_or_default()
                    .to_owned();
                (x, title)
            })
            .collect()
    };
    let web_scales = scales(web);
    let first = |scales: &[(f64, String)], what: &str| {
        scales
            .iter()
            .find(|(_, t)| t.contains(what))
            .unwrap_or_else(|| panic!("no {what} in {scales:?}"))
            .0
    };
    let load = first(&web_scales, "(load, ok)");
    assert!(
        x("load") < load && load < x("outage"),
        "the scale on load in the load (or just after): {load} vs {starts:?}"
    );
    let down = first(&web_scales, "(down, ok)");
    assert!(
        x("outage") < down && down < starts[4].1,
        "the scale on the outage in it: {down} vs {starts:?}"
    );

    // The worker: no job waits before the burst; the most waiting are drawn after it, in the
    // quiet phase, and the scale-out on the queue comes with them.
    let jobs = panel(worker, "queue_jobs");
    let waiting = points(class(jobs, "series waiting")[0].attribute("d").unwrap());
    let bottom = waiting.iter().map(|p| p.1).fold(f64::MIN, f64::max);
    let top = waiting.iter().map(|p| p.1).fold(f64::MAX, f64::min);
    assert!(top < bottom - 50.0, "jobs waited: {waiting:?}");
    let burst = x("burst: 150 jobs");
    assert!(
        waiting
            .iter()
            .filter(|p| p.0 < burst - 1.0)
            .all(|p| p.1 > bottom - 5.0),
        "hardly a job waits before the burst: {waiting:?}"
    );
    let rose = waiting.iter().find(|p| p.1 < bottom - 50.0).unwrap().0;
    assert!(
        burst - 1.0 <= rose && rose < x("outage"),
        "the waiting jobs rise at the burst: {rose} vs {burst}"
    );
    let worker_scales = scales(worker);
    let out = first(&worker_scales, "→ 6 (queue, ok)");
    assert!(
        burst - 1.0 <= out && out < x("outage"),
        "the scale-out on the queue at the burst: {out} vs {burst}"
    );
    let drained = worker_scales
        .iter()
        .filter(|(_, t)| t.contains("(queue, ok)"))
        .map(|s| s.0)
        .fold(f64::MIN, f64::max);
    assert!(
        drained > out,
        "the drained scale-in comes after: {worker_scales:?}"
    );
    let last_waiting = waiting
        .iter()
        .filter(|p| p.1 < bottom - 5.0)
        .map(|p| p.0)
        .fold(f64::MIN, f64::max);
    assert!(
        last_waiting <= drained,
        "the scale-in once the queue is drained: {last_waiting} vs {drained}"
    );
}

#[tokio::test]
async fn demo_refuses_a_run_too_short_for_the_story() {
    let (code, _, err) = output(&["demo", "--seconds", "5"], &[]).await;
    assert_eq!(code, 2);
    assert!(
        err.contains("--seconds") && err.contains("example"),
        "{err}"
    );
}

/// Runs the daemon through an outage and back; returns its stdout lines.
async fn daemon_log() -> Vec<String> {
    let w = World::new(1).await;
    let env = w.failsafe_env(&[("AUTOSCALE_SCALE_IN_AFTER", "2")]);
    let mut d = Daemon::spawn(&[], &env);
    d.wait_count("probe", 2, Duration::from_secs(15)).await;
    w.app.set_mode(Mode::Status(500)).await.unwrap();
    d.wait_for("scale-out", Duration::from_secs(6), |l| {
        l.get("reason") == Some("down")
    })
    .await;
    w.app.set_mode(Mode::Healthy).await.unwrap();
    d.wait_for("scale-in", Duration::from_secs(10), |l| {
        l.get("reason") == Some("scale_in")
    })
    .await;
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(10)).await;
    d.lines()
}

/// `autoscale chart --input IN --output OUT`.
async fn chart(input: &std::path::Path, out: &std::path::Path) -> (i32, String, String) {
    let (input, out) = (input.to_str().unwrap(), out.to_str().unwrap());
    output(&["chart", "--input", input, "--output", out], &[]).await
}

fn summary_value<'a>(stdout: &'a str, label: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label} in {stdout}"))
}

#[tokio::test]
async fn chart_reads_raw_logs_and_heroku_logs_alike() {
    let lines = daemon_log().await;
    let probes = lines.iter().filter(|l| l.contains("event=probe")).count();
    let raw = tmp("raw.log");
    std::fs::write(&raw, lines.join("\n")).unwrap();
    let svg = tmp("raw.svg");
    let (code, out, err) = chart(&raw, &svg).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        summary_value(&out, "checks:").starts_with(&format!("checks: {probes},")),
        "{out}"
    );
    assert!(
        summary_value(&out, "scale events:").contains("down 1"),
        "{out}"
    );
    assert!(err.is_empty(), "no garbage: {err}");
    assert_chart(&svg);

    // The same lines as `heroku logs` shows them, with router and web lines around them.
    let mut heroku = String::new();
    for (i, line) in lines.iter().enumerate() {
        let ts = Line::parse(line)
            .and_then(|l| l.get("ts").map(str::to_owned))
            .unwrap();
        let prefix = ts.replace('Z', "000+00:00");
        heroku.push_str(&format!(
            "{prefix} heroku[router]: at=info method=GET path=\"/\" host=shop-app.herokuapp.com request_id=r{i} fwd=\"1.2.3.4\" dyno=web.1 connect=0ms service=3ms status=200 bytes=5 protocol=https\n"
        ));
        heroku.push_str(&format!("{prefix} app[clock.1]: {line}\n"));
        heroku.push_str(&format!("{prefix} app[web.1]: Completed 200 OK in 3ms\n"));
    }
    let heroku_file = tmp("heroku.log");
    std::fs::write(&heroku_file, heroku).unwrap();
    let svg2 = tmp("heroku.svg");
    let (code, out2, err2) = chart(&heroku_file, &svg2).await;
    assert_eq!(code, 0, "{out2}{err2}");
    assert_eq!(
        summary_value(&out2, "checks:"),
        summary_value(&out, "checks:")
    );
    assert_eq!(
        summary_value(&out2, "scale events:"),
        summary_value(&out, "scale events:")
    );
    // Router lines are traffic now (charted, and said to be given to the app); the web dyno's
    // lines are unrelated; neither is garbage.
    assert!(!err2.contains("warning"), "no garbage: {err2}");
    let n = lines.len();
    assert!(
        err2.contains(&format!(
            "{n} of them (host shop-app.herokuapp.com) were given to shop-app"
        )),
        "{err2}"
    );
    assert!(out2.contains(&format!("traffic: {n} requests")), "{out2}");
    assert_chart(&svg2);
}

#[tokio::test]
async fn chart_rejects_empty_input_and_counts_garbage() {
    let empty = tmp("empty.log");
    std::fs::write(&empty, "").unwrap();
    let (code, _, err) = chart(&empty, &tmp("e.svg")).await;
    assert_eq!(code, 2);
    assert!(err.contains("no autoscale event lines"), "{err}");

    let mixed = tmp("mixed.log");
    std::fs::write(
        &mixed,
        "this is not a log line\n\
         ts=2026-11-30T10:00:00.000Z level=info event=probe status=200 latency_ms=80 outcome=fast error=\"\" current=2 floor=2\n\
         ts=2026-11-30T10:03:00.000Z level=warn event=probe status=500 latency_ms=12 outcome=down error=\"HTTP 500\" current=2 floor=2\n\
         ts=2026-11-30T10:03:00.100Z level=info event=scale from=2 to=3 reason=down result=ok\n\
         {\"json\": true}\n\
         ts=2026-11-30T10:06:00.000Z level=info event=probe status=200 latency_ms=70 outcome=\"fa\n",
    )
    .unwrap();
    let svg = tmp("mixed.svg");
    let (code, out, err) = chart(&mixed, &svg).await;
    assert_eq!(code, 0, "{out}{err}");
    // A prose line, a JSON line and a truncated event line.
    assert!(
        err.contains("3 line(s) were not autoscale event lines"),
        "{err}"
    );
    assert!(
        summary_value(&out, "checks:").starts_with("checks: 2,"),
        "{out}"
    );
    assert_chart(&svg);
}
