//! `autoscale replay`, the real binary as a process, on a week of traffic made by
//! `traffic::fixture` (Berlin, busy weekday afternoons, quiet nights and weekends).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

use autoscale::traffic::fixture::Fixture;
use chrono::{DateTime, Utc};

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("replay");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Monday 23 March 2026, 00:00 in Berlin (the week crosses the change to summer time), at 8
/// times the office rate: its busiest minutes keep 18 requests in service, several dynos of
/// concurrency 2. No router errors: this is about capacity, not the fail-safe.
fn week() -> Fixture {
    let mut f = Fixture::new(utc("2026-03-22T23:00:00Z"), 7, chrono_tz::Europe::Berlin);
    f.scale = 8.0;
    f.errors = false;
    f
}

/// The week as the daemon's `event=traffic` lines (`chart`'s tests show router lines and
/// Logplex frames of the same traffic read back to the same minutes).
fn week_file() -> &'static PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = dir().join("week-traffic.log");
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        week().write_traffic(&mut out).unwrap();
        out.flush().unwrap();
        path
    })
}

/// The first day of it, as router lines the way `heroku logs` prints them.
fn day_file() -> &'static PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = dir().join("day-heroku.log");
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut day = week();
        day.days = 1;
        day.write_heroku_logs(&mut out).unwrap();
        out.flush().unwrap();
        path
    })
}

const CURRENT: &str = "07:00=3; 22:00=2; 03:00=1";

/// The settings of both runs: Berlin, concurrency 2, max 10.
const ENV: &[(&str, &str)] = &[
    ("AUTOSCALE_APP", "shop"),
    ("AUTOSCALE_SCHEDULE", CURRENT),
    ("AUTOSCALE_TZ", "Europe/Berlin"),
    ("AUTOSCALE_CONCURRENCY", "2"),
    ("AUTOSCALE_MAX", "10"),
];

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn replay(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_autoscale"));
    c.arg("replay").args(args).current_dir(dir());
    for (k, _) in std::env::vars() {
        if k.starts_with("AUTOSCALE_") || k.starts_with("HEROKU_") {
            c.env_remove(k);
        }
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdin(std::process::Stdio::null());
    c.output().unwrap()
}

/// The schedule `suggest` writes for the week (min 1, max 10, concurrency 2).
fn suggestion() -> String {
    let tz = chrono_tz::Europe::Berlin;
    let current = autoscale::calendar::Calendar::without_holidays(std::sync::Arc::new(
        autoscale::schedule::Schedule::parse(CURRENT, tz).unwrap(),
    ));
    let mut options = autoscale::insight::suggest::Options::new(2);
    options.max = Some(10);
    let s = autoscale::insight::suggest::suggest(&week().minutes(), tz, Some(&current), &options)
        .unwrap();
    s.schedule
}

#[test]
fn the_suggestion_replayed_costs_less_than_always_max_and_runs_short_no_more_than_the_current_schedule(
) {
    let suggested = suggestion();
    let input = week_file().to_str().unwrap();
    let started = std::time::Instant::now();
    let out = replay(
        &[
            "--input",
            input,
            "--compare-schedule",
            &suggested,
            "--price",
            "0.05",
            "--json",
        ],
        ENV,
    );
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = &v["targets"][0];
    assert_eq!(
        (t["app"].as_str(), t["process"].as_str()),
        (Some("shop"), Some("web"))
    );
    assert_eq!(t["minutes"], 7 * 1440);
    let (current, suggested_run) = (&t["runs"][0], &t["runs"][1]);
    assert_eq!(current["label"], "current");
    assert_eq!(current["schedule"], CURRENT);
    assert_eq!(suggested_run["label"], "--compare-schedule");
    assert_eq!(suggested_run["schedule"].as_str(), Some(suggested.as_str()));
    let f = |run: &serde_json::Value, key: &str| run[key].as_f64().unwrap();
    assert!(
        f(suggested_run, "dyno_hours") < f(suggested_run, "dyno_hours_at_max"),
        "{suggested_run}"
    );
    assert!(
        f(suggested_run, "minutes_under_capacity") <= f(current, "minutes_under_capacity"),
        "{t}"
    );
    // The traffic's peak needs more than the current schedule's 3: load scaling took it there.
    assert!(current["peak"].as_u64().unwrap() > 3, "{current}");
    assert!(current["scale_events_by_reason"]["load"].as_u64().unwrap() > 0);
    assert!(
        current["scale_events_by_reason"]["schedule"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(
        current["alerts"], 0,
        "no errors, no slow minutes: nothing to alert"
    );
    let d = &t["differences"][0];
    let hours = f(suggested_run, "dyno_hours") - f(current, "dyno_hours");
    assert!(
        (d["dyno_hours"].as_f64().unwrap() - hours).abs() < 1e-3,
        "{d}"
    );
    let cost = f(suggested_run, "cost") - f(current, "cost");
    assert!((d["cost"].as_f64().unwrap() - cost).abs() < 0.011, "{d}");
    let replayed = v["speed"]["minutes"].as_u64().unwrap();
    assert_eq!(replayed, 2 * 7 * 1440);
    println!(
        "replayed {replayed} minutes: {} per second inside, {:.1} s for the whole command",
        v["speed"]["minutes_per_second"], seconds
    );
}

#[test]
fn without_a_price_each_run_is_priced_at_its_schedule_s_list_prices() {
    // Six hours of event=traffic lines: enough for two runs to cost something.
    let path = dir().join("six-hours-traffic.log");
    let mut lines = Vec::new();
    let mut fixture = week();
    fixture.days = 1;
    fixture.write_traffic(&mut lines).unwrap();
    let first: Vec<&str> = std::str::from_utf8(&lines)
        .unwrap()
        .lines()
        .take(360)
        .collect();
    std::fs::write(&path, first.join("\n")).unwrap();
    let input = path.to_str().unwrap();
    let env = [
        ("AUTOSCALE_APP", "shop"),
        ("AUTOSCALE_SCHEDULE", "00:00=2:standard-1x"),
        ("AUTOSCALE_TZ", "Europe/Berlin"),
        ("AUTOSCALE_MAX", "10"),
    ];
    let args = [
        "--input",
        input,
        "--compare-schedule",
        "00:00=2:performance-m",
    ];
    let out = replay(&[&args[..], &["--json"]].concat(), &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["price_per_dyno_hour"], serde_json::Value::Null);
    let runs = &v["targets"][0]["runs"];
    let f = |run: &serde_json::Value, key: &str| run[key].as_f64().unwrap();
    for (run, hourly) in [(&runs[0], 0.0347), (&runs[1], 0.3472)] {
        let want = (f(run, "dyno_hours") * hourly * 100.0).round() / 100.0;
        assert!((f(run, "cost") - want).abs() < 0.011, "{run}");
    }
    let out = replay(&args, &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(
        printed.contains("cost at Heroku's list prices"),
        "{printed}"
    );
    // No size, no --price: no cost, as before.
    let out = replay(&["--input", input, "--json"], ENV);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["targets"][0]["runs"][0]["cost"], serde_json::Value::Null);
    assert!(f(&v["targets"][0]["runs"][0], "dyno_hours") > 0.0);
}

#[test]
fn the_text_prints_both_settings_and_the_difference() {
    let input = day_file().to_str().unwrap();
    let out = replay(
        &[
            "--input",
            input,
            "--compare-schedule",
            "00:00=5",
            "--target",
            "shop/web",
        ],
        ENV,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let row = |name: &[&str]| {
        rows.iter()
            .find(|r| r.starts_with(name))
            .unwrap_or_else(|| panic!("no {name:?} in\n{stdout}"))
            .clone()
    };
    assert!(
        stdout.starts_with(
            "replay of shop/web: 2026-03-22T23:00:00Z to 2026-03-23T23:00:00Z (1440 minutes"
        ),
        "{stdout}"
    );
    assert_eq!(
        row(&["current", "--compare-schedule"]),
        ["current", "--compare-schedule", "schedule", "-", "current"]
    );
    let hours = row(&["dyno-hours"]);
    let (a, b): (f64, f64) = (hours[1].parse().unwrap(), hours[2].parse().unwrap());
    // Never fewer than five dynos: at least 120 dyno-hours, more than the current schedule
    // (load scaling takes both above five in the afternoon).
    assert!(b >= 120.0 && a < b, "{stdout}");
    assert!(
        (hours[3].parse::<f64>().unwrap() - (b - a)).abs() < 0.11,
        "{stdout}"
    );
    assert!(
        hours[3].starts_with('+') && hours[4].starts_with("(+"),
        "{stdout}"
    );
    assert_eq!(row(&["scale", "events"]).len(), 5);
    assert_eq!(
        row(&["peak", "quantity"])[2],
        "10",
        "load scaling up to max"
    );
    assert!(stdout.contains("first scale events, current"), "{stdout}");
    assert!(
        stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("replayed 2880 minutes in "),
        "{stdout}"
    );
    // Nothing of the inner daemon's log reaches stdout.
    assert!(!stdout.contains("event="), "{stdout}");
}

#[test]
fn garbage_empty_and_bad_flags_exit_2_with_one_line() {
    let garbage = dir().join("garbage.log");
    std::fs::write(&garbage, "hello\nworld\n\x00\x01 not a log\n").unwrap();
    let empty = dir().join("empty.log");
    std::fs::write(&empty, "").unwrap();
    let day = day_file().to_str().unwrap();
    // An hour of event=traffic lines: they name their app (router lines do not: --target
    // names it for them).
    let hour_path = dir().join("hour-traffic.log");
    let mut hour_fixture = week();
    hour_fixture.days = 1;
    let mut lines = Vec::new();
    hour_fixture.write_traffic(&mut lines).unwrap();
    let first_hour: Vec<&str> = std::str::from_utf8(&lines)
        .unwrap()
        .lines()
        .take(60)
        .collect();
    std::fs::write(&hour_path, first_hour.join("\n")).unwrap();
    let hour = hour_path.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--input", garbage.to_str().unwrap()],
            "error: nothing to replay: no router lines, no event=traffic lines and no event=queue lines",
        ),
        (
            vec!["--input", empty.to_str().unwrap()],
            "error: nothing to replay: no router lines, no event=traffic lines and no event=queue lines",
        ),
        (
            vec!["--input", "no-such-file.log"],
            "error: cannot read no-such-file.log",
        ),
        (
            vec!["--input", day, "--price", "cheap"],
            "error: --price=\"cheap\": not a price",
        ),
        (
            vec!["--input", day, "--target", "a b"],
            "error: --target=\"a b\": not APP/PROCESS",
        ),
        (
            vec!["--input", day, "--compare-schedule", "7am=3"],
            "error: --compare-schedule=\"7am=3\": ",
        ),
        (
            vec!["--input", day, "--compare-config", "none.toml"],
            "error: --compare-config=\"none.toml\": no such file",
        ),
        (
            vec!["--input", hour, "--target", "blog/web"],
            "error: --target=\"blog/web\": no traffic of this target in the input",
        ),
    ];
    for (args, expected) in cases {
        let out = replay(&args, ENV);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        assert_eq!(errors.len(), 1, "{args:?}: {stderr}");
        assert!(errors[0].starts_with(expected), "{args:?}: {stderr}");
        assert!(
            errors[0].contains("example: ") || expected.contains("cannot read"),
            "{stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // A bad setting is the configuration's one-line error.
    let out = replay(&["--input", day], &[("AUTOSCALE_CONCURRENCY", "lots")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("AUTOSCALE_CONCURRENCY"),
        "{}",
        text(&out.stderr)
    );
}

/// Two hours of a worker's `event=queue` lines as the daemon prints them: 5 jobs a second
/// running 2 s on 2 dynos, and a burst of 900 jobs at 01:00 that the 2 dynos took 3 minutes to
/// clear (its first minute 60 s over the 30 s target).
fn worker_lines() -> String {
    let t0 = utc("2026-12-07T00:00:00Z");
    let mut text = format!(
        "{} level=info event=start version=0.1.0 app=shop process=worker schedule=\"00:00=2\" tz=UTC max=20 check_url=off interval=3m timeout=10s slow=5s fast=off scale_out_after=1 scale_in_after=3 dry_run=false next_edge=2026-12-08T00:00:00+00:00 next_quantity=2 shard=1 traffic=off concurrency=10 utilization=0.7 error_rate=0.05 queue=sidekiq queue_latency=30s\n",
        "ts=2026-12-07T00:00:00.000Z"
    );
    let mut depth: u64 = 0;
    for m in 0..120 {
        let at = t0 + chrono::TimeDelta::minutes(m) + chrono::TimeDelta::seconds(1);
        let (arrived, done, busy) = if m == 60 {
            (900 + 300, 600, 20)
        } else if depth > 0 {
            (300, 600, 20)
        } else {
            (300, 300, 10)
        };
        depth = (depth + arrived).saturating_sub(done);
        // Jobs were waiting up to depth / 10 per second: 100 ms a job waiting.
        text.push_str(&format!(
            "ts={} level=info event=queue app=shop process=worker minute={} depth={depth} latency_ms={} busy={busy} done={} dynos=2 concurrency=10\n",
            (at + chrono::TimeDelta::minutes(1)).format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            (at - chrono::TimeDelta::seconds(1)).format("%Y-%m-%dT%H:%M:%SZ"),
            depth * 100,
            if m == 0 { String::new() } else { done.to_string() }
        ));
    }
    text
}

#[test]
fn a_workers_queue_is_replayed_on_the_jobs_its_lines_show() {
    let path = dir().join("worker-queue.log");
    std::fs::write(&path, worker_lines()).unwrap();
    let input = path.to_str().unwrap();
    // No queue settings at hand: the recording's start line gives the target and concurrency.
    let env = [
        ("HEROKU_APP_NAME", "shop"),
        ("AUTOSCALE_PROCESS", "worker"),
        ("AUTOSCALE_SCHEDULE", "00:00=2"),
        ("AUTOSCALE_MAX", "20"),
    ];
    let out = replay(&["--input", input], &env);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        "shop/worker: its job queue, 2026-12-07T00:00:00Z to 2026-12-07T02:00:00Z"
    );
    assert!(
        lines[1].starts_with("jobs estimated from the queue lines: 36,610 arrived, each running "),
        "{stdout}"
    );
    let row = |label: &str| -> Vec<String> {
        let line = lines
            .iter()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no {label} row:\n{stdout}"));
        line[2 + 36..]
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    // Recorded: 2 dynos for 2 hours; the burst's first minute over the 30 s target.
    let recorded = row("recorded");
    assert_eq!(recorded[1], "4.00", "{stdout}");
    let within: f64 = recorded[0].trim_end_matches('%').parse().unwrap();
    assert_eq!(recorded[0], "99.2%", "{stdout}");
    let current = row("current");
    let replayed: f64 = current[0].trim_end_matches('%').parse().unwrap();
    assert!(
        replayed > within,
        "the queue policy meets the burst:\n{stdout}"
    );
    let step = row("step +1/-1 a minute, current");
    let step_within: f64 = step[0].trim_end_matches('%').parse().unwrap();
    assert!(replayed >= step_within, "{stdout}");

    // The same as JSON, for a script.
    let out = replay(&["--input", input, "--json"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let q = &json["queue"][0];
    assert_eq!(q["app"], "shop");
    assert_eq!(q["jobs"], 36_610);
    assert_eq!(q["target_s"], 30.0);
    assert_eq!(q["runs"][0]["label"], "recorded");
    assert_eq!(q["runs"][0]["dyno_hours"], 4.0);
    assert_eq!(q["runs"].as_array().unwrap().len(), 3);
    assert_eq!(json["targets"].as_array().unwrap().len(), 0, "no traffic");
}
