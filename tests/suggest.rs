//! `autoscale suggest`, the real binary as a process, on a generated week of traffic (Berlin
//! office hours: busy weekday afternoons, quiet nights and weekends), as the daemon's
//! `event=traffic` lines (router lines give the same minutes: tests/chart_traffic.rs).

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use autoscale::schedule::Schedule;
use autoscale::traffic::fixture::Fixture;
use chrono::{DateTime, Utc};
use common::output;
use serde_json::Value;

fn dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("suggest");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A week of `event=traffic` lines at six times the fixture's traffic (weekday peaks of about
/// 10 requests in service).
fn week() -> &'static PathBuf {
    static WEEK: OnceLock<PathBuf> = OnceLock::new();
    WEEK.get_or_init(|| {
        let start: DateTime<Utc> = "2026-11-22T23:00:00Z".parse().unwrap();
        let fixture = Fixture {
            scale: 6.0,
            ..Fixture::new(start, 7, chrono_tz::Europe::Berlin)
        };
        let path = dir().join("week-traffic.log");
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        fixture.write_traffic(&mut file).unwrap();
        drop(file);
        path
    })
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const CURRENT: &str = "07:00=2; 20:00=1";

async fn suggest(args: &[&str]) -> (i32, String, String) {
    let input = week().to_str().unwrap();
    let mut all = vec!["suggest", "--input", input];
    all.extend_from_slice(args);
    let env = env(&[
        ("AUTOSCALE_APP", "shop"),
        ("AUTOSCALE_TZ", "Europe/Berlin"),
        ("AUTOSCALE_SCHEDULE", CURRENT),
        ("AUTOSCALE_CONCURRENCY", "4"),
        ("AUTOSCALE_UTILIZATION", "0.5"),
        ("AUTOSCALE_MAX", "8"),
    ]);
    output(&all, &env).await
}

fn need(v: &Value, weekday: &str, hour: u64) -> u64 {
    v["hours"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["weekday"] == weekday && h["hour"] == hour)
        .unwrap_or_else(|| panic!("no {weekday} {hour}"))["needed"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn a_week_of_traffic_gives_a_schedule_that_follows_its_shape() {
    let (code, out, err) = suggest(&["--json", "--min", "1", "--price", "0.05"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(
        (v["app"].as_str(), v["process"].as_str()),
        (Some("shop"), Some("web"))
    );
    assert_eq!(v["tz"], "Europe/Berlin");
    assert_eq!(v["current"], CURRENT);
    assert_eq!(v["hours"].as_array().unwrap().len(), 168);
    // The shape: weekday afternoons need the most, nights and weekends the least.
    for day in ["Mon", "Tue", "Wed", "Thu", "Fri"] {
        assert!(need(&v, day, 15) >= 3, "{day} 15:00: {}", need(&v, day, 15));
        assert_eq!(need(&v, day, 3), 1, "{day} 03:00");
        assert!(need(&v, day, 15) > need(&v, "Sat", 15));
    }
    let schedule = Schedule::parse(v["schedule"].as_str().unwrap(), chrono_tz::Europe::Berlin)
        .expect("the suggestion is a schedule");
    assert!(schedule.entries().len() <= 12, "few entries: {schedule}");
    // Never below the need (nor --min) at any hour of the week: the floor at the end of each
    // local hour is at least what that hour needed.
    let monday: DateTime<Utc> = "2026-11-22T23:00:00Z".parse().unwrap();
    for (i, hour) in v["hours"].as_array().unwrap().iter().enumerate() {
        for minute in [0, 30, 59] {
            let at = monday + chrono::Duration::minutes(i as i64 * 60 + minute);
            let floor = schedule.floor(at).expect("a floor").quantity;
            assert!(
                u64::from(floor) >= hour["needed"].as_u64().unwrap().max(1),
                "{} {}:{minute:02}: floor {floor} < need {}",
                hour["weekday"],
                hour["hour"],
                hour["needed"]
            );
        }
    }
    let hours = &v["dyno_hours_per_week"];
    let suggested = hours["suggested"].as_f64().unwrap();
    assert!(suggested < hours["at_max"].as_f64().unwrap(), "{hours}");
    assert!(suggested <= hours["at_peak"].as_f64().unwrap(), "{hours}");
    // The current schedule (2 by day) runs short on weekday afternoons.
    let short = v["short"].as_array().unwrap();
    assert!(
        short
            .iter()
            .any(|h| h["weekday"] == "Tue" && h["hour"] == 15 && h["current"] == 2),
        "{short:?}"
    );
    let cost = &v["cost"];
    assert_eq!(cost["price_per_dyno_hour"], 0.05);
    let week_cost = cost["suggested"]["per_week"].as_f64().unwrap();
    assert!((week_cost - suggested * 0.05).abs() < 0.01, "{cost}");
    assert_eq!(
        v["warnings"].as_array().unwrap().len(),
        0,
        "a whole week: no warning"
    );
}

#[tokio::test]
async fn the_text_names_the_setting_and_the_short_hours() {
    let (code, out, err) = suggest(&["--toml", "--headroom", "20%"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.starts_with("shop/web: as a target of the configuration file:"),
        "{out}"
    );
    assert!(
        out.contains("[[target]]\napp = \"shop\"\nprocess = \"web\"\nschedule = \""),
        "{out}"
    );
    assert!(out.contains("\nAUTOSCALE_SCHEDULE=\""), "{out}");
    assert!(out.contains("AUTOSCALE_TZ=Europe/Berlin"), "{out}");
    assert!(out.contains("headroom 20 %"), "{out}");
    assert!(out.contains("with the current schedule"), "{out}");
    assert!(
        out.contains("Tue 15:00"),
        "the short hours are listed: {out}"
    );
}

#[tokio::test]
async fn bad_flags_and_inputs_exit_2_with_one_line() {
    for (args, flag) in [
        (vec!["--headroom", "lots"], "--headroom"),
        (vec!["--lead", "2 days"], "--lead"),
        (vec!["--min=-1"], "--min"),
        (vec!["--price", "NaN"], "--price"),
        (vec!["--price", "1e7"], "--price"),
        (vec!["--target", "shop/web app"], "--target"),
        (vec!["--target", "/web"], "--target"),
    ] {
        let (code, out, err) = suggest(&args).await;
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains(flag) && err.contains("example:"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(out.is_empty());
    }
    let garbage = dir().join("garbage.log");
    std::fs::write(&garbage, "hello\nworld\n").unwrap();
    let (code, _, err) = output(
        &[
            "suggest",
            "--concurrency",
            "2",
            "--input",
            garbage.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(code, 2);
    assert!(err.contains("error: no traffic in the input"), "{err}");
    // Without a concurrency (none given, none recorded) it says how to give one.
    let (code, _, err) = output(&["suggest", "--input", week().to_str().unwrap()], &[]).await;
    assert_eq!(code, 2);
    assert!(err.contains("--concurrency 8"), "{err}");
}

/// Eight days of the fixture's minutes written to a SQLite history the way the daemon writes
/// them; `suggest --history` reads them without any input file.
#[tokio::test]
async fn suggest_reads_the_daemon_s_history() {
    use autoscale::history::{History, Options, StoreUrl, TrafficRow};
    let path = dir().join("history.sqlite");
    let _ = std::fs::remove_file(&path);
    let start = chrono::DurationRound::duration_trunc(
        Utc::now() - chrono::Duration::days(7) - chrono::Duration::hours(1),
        chrono::Duration::hours(1),
    )
    .unwrap();
    let fixture = Fixture {
        scale: 6.0,
        ..Fixture::new(start, 7, chrono_tz::Europe::Berlin)
    };
    let history = History::start(StoreUrl::Sqlite(path.clone()), Options::new(35)).await;
    for chunk in fixture.minutes().chunks(1000) {
        for minute in chunk {
            assert!(history.handle.record(TrafficRow::of_minute(minute)));
        }
        assert!(
            history.handle.flush(Duration::from_secs(30)).await,
            "written"
        );
    }
    assert!(history.handle.close(Duration::from_secs(30)).await);
    let url = format!("sqlite://{}", path.display());
    let (code, out, err) = output(
        &[
            "suggest",
            "--history",
            &url,
            "--since",
            "8d",
            "--target",
            "shop/web",
            "--concurrency",
            "4",
            "--utilization",
            "0.5",
            "--tz",
            "Europe/Berlin",
            "--json",
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.contains("note: read 10080 row(s) of history"), "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["traffic"]["minutes_with_traffic"], 10080);
    assert!(
        need(&v, "Wed", 15) > need(&v, "Wed", 3),
        "{}",
        v["schedule"]
    );
    // A history that is not there: exit 1, named, redacted.
    let (code, _, err) = output(
        &[
            "suggest",
            "--history",
            "postgres://user:secret@127.0.0.1:1/db",
            "--concurrency",
            "4",
        ],
        &[],
    )
    .await;
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cannot read the history") && !err.contains("secret"),
        "{err}"
    );
}

/// `--max 2` with no schedule set caps the suggestion; the default schedule (peak 3) the user
/// never set does not make it an error (issue 19, point 5).
#[tokio::test]
async fn max_without_a_schedule_caps_the_suggestion() {
    let input = week().to_str().unwrap();
    let env = env(&[
        ("AUTOSCALE_CONCURRENCY", "4"),
        ("AUTOSCALE_UTILIZATION", "0.5"),
    ]);
    let (code, out, err) = output(
        &[
            "suggest", "--input", input, "--json", "--target", "shop/web", "--max", "2",
        ],
        &env,
    )
    .await;
    assert_eq!(code, 0, "{out}\n{err}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let schedule = Schedule::parse(v["schedule"].as_str().unwrap(), chrono_tz::UTC).unwrap();
    assert!(
        schedule.entries().iter().all(|e| e.quantity <= 2),
        "capped at 2: {schedule}"
    );
    // A bad max is still refused, in one line.
    let (code, _, err) = output(
        &[
            "suggest", "--input", input, "--target", "shop/web", "--max", "lots",
        ],
        &env,
    )
    .await;
    assert_eq!(code, 2);
    assert!(err.contains("AUTOSCALE_MAX (--max)=\"lots\""), "{err}");
}

/// A day and two hours of a worker's `event=queue` lines: 5 jobs running at night, 30 from
/// 08:00 to 18:00 (jobs of 2 s: 30 done a minute per running job), and 600 waiting at noon.
fn worker_day() -> PathBuf {
    let mut text = String::from("ts=2026-12-07T00:00:00.000Z level=info event=start app=shop process=worker schedule=\"00:00=2\" tz=UTC max=20 concurrency=10 utilization=0.7 queue=sidekiq queue_latency=30s\n");
    let t0: DateTime<Utc> = "2026-12-07T00:00:01Z".parse().unwrap();
    for m in 0..26 * 60 {
        let at = t0 + chrono::TimeDelta::minutes(m);
        let hour = (m / 60) % 24;
        let busy = if (8..18).contains(&hour) { 30 } else { 5 };
        let depth = if m == 12 * 60 { 600 } else { 0 };
        text.push_str(&format!(
            "ts={} level=info event=queue app=shop process=worker minute={} depth={depth} latency_ms={} busy={busy} done={} dynos=2 concurrency=10\n",
            (at + chrono::TimeDelta::minutes(1)).format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            (at - chrono::TimeDelta::seconds(1)).format("%Y-%m-%dT%H:%M:%SZ"),
            depth * 50,
            busy * 30
        ));
    }
    let path = dir().join("worker-day.log");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn a_workers_schedule_is_suggested_from_its_job_queue() {
    let path = worker_day();
    let input = path.to_str().unwrap();
    let env = env(&[("AUTOSCALE_APP", "shop")]);
    let (code, out, err) = output(&["suggest", "--input", input], &env).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let first = out.lines().next().unwrap();
    assert_eq!(
        first,
        "shop/worker: from its job queue: a minute needs the jobs running plus the waiting ones' work spread over the 30 s target (jobs of 2.00 s on average)"
    );
    // 30 running at 10 a dyno and 70 %: 5 dynos by day (from 07:45, the lead), 1 at night; the
    // noon backlog (600 × 2 s / 30 s = 40 more slots for one minute) is left to the queue
    // policy by the hour's p95.
    assert!(
        out.contains("AUTOSCALE_SCHEDULE=\"07:45=5; 18:30=1\""),
        "{out}"
    );
    // The table counts job slots, not requests.
    assert!(
        out.contains("dynos needed and busy (p95 of the hour's minutes, job slots), by local hour"),
        "{out}"
    );
    assert!(!out.contains("requests in service"), "{out}");
    let (code, out, err) = output(&["suggest", "--input", input, "--json"], &env).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["process"], "worker");
    assert!(v["from_queue"]
        .as_str()
        .unwrap()
        .starts_with("from its job queue"));
    assert_eq!(need(&v, "Mon", 12), 5);
    assert_eq!(need(&v, "Mon", 3), 1);
}
