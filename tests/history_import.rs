//! `autoscale history import`: the binary on a fixture of router lines (gzip) and the daemon's
//! event lines, into a SQLite file; what the summary says and what the history then holds; and a
//! second import of the same files changes nothing.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use autoscale::history::{self, StoreUrl};
use autoscale::traffic::fixture::Fixture;
use chrono::{DateTime, TimeDelta, Utc};

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("history-import-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const EVENTS: &str = "\
ts=2026-03-23T08:00:00.000Z level=info event=probe app=shop process=web source=probe status=200 latency_ms=120 outcome=ok error=\"\" current=2 floor=2
ts=2026-03-23T08:03:00.000Z level=warn event=probe app=shop process=web source=probe status=500 latency_ms=12 outcome=down error=\"HTTP 500\" current=2 floor=2
ts=2026-03-23T08:03:00.100Z level=info event=scale app=shop process=web from=2 to=3 reason=down result=ok
ts=2026-03-23T08:03:01.000Z level=info event=notify app=shop process=web channel=webhook kind=scale_out result=ok attempt=1
this line is not for us
";

/// Runs the binary; its exit status, standard output and standard error.
fn import(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_autoscale"))
        .args(["history", "import"])
        .args(args)
        .env_remove("AUTOSCALE_HISTORY")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn gzip(from: &Path, to: &Path) {
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(to).unwrap(),
        flate2::Compression::fast(),
    );
    std::io::copy(&mut std::fs::File::open(from).unwrap(), &mut encoder).unwrap();
    encoder.finish().unwrap();
}

#[tokio::test]
async fn imports_router_and_event_lines_once_then_changes_nothing() {
    let dir = dir("twice");
    let plain = dir.join("router.log");
    let fixture = Fixture {
        scale: 0.1,
        ..Fixture::new(utc("2026-03-22T23:00:00Z"), 2, chrono_tz::Europe::Berlin)
    };
    let written = fixture
        .write_heroku_logs(&mut std::fs::File::create(&plain).unwrap())
        .unwrap();
    let gz = dir.join("router.log.gz");
    gzip(&plain, &gz);
    let events = dir.join("events.log");
    std::fs::write(&events, EVENTS).unwrap();
    let file = dir.join("history.sqlite");
    let url = format!("sqlite://{}", file.display());

    let (ok, out, err) = import(
        &[
            "--history",
            &url,
            gz.to_str().unwrap(),
            events.to_str().unwrap(),
        ],
        None,
    );
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 1, "one summary line: {out}");
    assert!(
        !err.contains("reading"),
        "no progress bar off a terminal: {err}"
    );

    let store = history::settings::parse_store_url(&url).unwrap();
    let since = utc("2026-03-22T00:00:00Z");
    let until = since + TimeDelta::days(4);
    let data = history::read(&store, "shop", None, since, until)
        .await
        .unwrap();
    let minutes = data.traffic.len();
    assert!(minutes > 2000, "{minutes} minutes");
    assert_eq!(
        data.traffic
            .iter()
            .map(|m| u64::from(m.requests))
            .sum::<u64>(),
        written.router,
        "every router line is in a minute"
    );
    assert_eq!(
        (data.probes.len(), data.scales.len(), data.alerts.len()),
        (2, 1, 1)
    );
    assert_eq!(data.scales[0].to, 3);
    let lines = written.router + written.other + 4;
    assert!(
        out.starts_with(&format!(
            "imported 2 input(s), {} line(s) ({} skipped), 1 target(s): traffic minutes {minutes} new, 0 changed, 0 already there; events 4 new, 0 already there; sqlite://",
            lines - written.other,
            written.other + 1
        )),
        "{out}"
    );
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(
        out.trim_end()
            .ends_with(&format!("is {:.2} MB", size as f64 / 1e6)),
        "{out}"
    );

    // Again, the events from standard input this time: nothing changes.
    let (ok, out, err) = import(
        &["--history", &url, gz.to_str().unwrap(), "-"],
        Some(EVENTS),
    );
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!(
            "traffic minutes 0 new, 0 changed, {minutes} already there; events 0 new, 4 already there"
        )),
        "{out}"
    );
    let again = history::read(&store, "shop", None, since, until)
        .await
        .unwrap();
    assert_eq!(again, data);
    assert_eq!(
        std::fs::metadata(&file).unwrap().len(),
        size,
        "compacted to the same size"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn history_off_or_a_missing_file_is_refused_in_one_line() {
    let (ok, _, err) = import(&["--history", "off"], None);
    assert!(!ok);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("AUTOSCALE_HISTORY=off"), "{err}");
    let dir = dir("refused");
    let url = format!("sqlite://{}", dir.join("h.sqlite").display());
    let (ok, _, err) = import(&["--history", &url, "/nonexistent/router.log"], None);
    assert!(!ok);
    assert!(err.contains("cannot read /nonexistent/router.log"), "{err}");
    let _ = StoreUrl::Sqlite(dir.join("h.sqlite"));
    let _ = std::fs::remove_dir_all(&dir);
}
