//! Holidays: the schedule knows the calendar — dates, ranges and iCalendar feeds served on
//! loopback — in `plan`, `check` and the daemon.

mod common;

use std::time::Duration;

use common::*;

const FEED: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//holidays//EN\r\nBEGIN:VEVENT\r\nUID:christmas@test\r\nDTSTART;VALUE=DATE:20201225\r\nDTEND;VALUE=DATE:20201226\r\nRRULE:FREQ=YEARLY\r\nSUMMARY:Christmas Day\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:meeting@test\r\nDTSTART:20261228T090000Z\r\nDTEND:20261228T100000Z\r\nSUMMARY:A timed event is no holiday\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

/// Serves `FEED` at /holidays.ics and 404 elsewhere.
async fn feed_server() -> String {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new().route(
        "/holidays.ics",
        get(|| async { ([("content-type", "text/calendar")], FEED) }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn plan_shows_the_holiday_from_dates_and_from_a_feed_in_utc_and_in_berlin() {
    let base = feed_server().await;
    for holidays in ["2026-12-25".to_owned(), format!("{base}/holidays.ics")] {
        let env = vec![("AUTOSCALE_HOLIDAYS".to_string(), holidays.clone())];
        let (code, out, err) =
            output(&["plan", "--at", "2026-12-24T21:00:00Z", "--json"], &env).await;
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let next: Vec<(String, u64, bool)> = v["next"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["at"].as_str().unwrap().to_owned(),
                    e["quantity"].as_u64().unwrap(),
                    e["holiday"].as_bool().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            next[1],
            ("2026-12-25T00:00:00Z".into(), 1, true),
            "{holidays}"
        );
        assert_eq!(
            next[2],
            ("2026-12-26T00:00:00Z".into(), 2, false),
            "{holidays}"
        );
        assert_eq!(v["holidays"][0], "2026-12-25");
        assert!(
            v["dyno_hours_next_7_days"].as_f64().unwrap()
                < v["dyno_hours_per_week"].as_f64().unwrap()
        );
    }
    // Berlin: the same local dates, an hour earlier in UTC; a range.
    let env = vec![
        (
            "AUTOSCALE_HOLIDAYS".to_string(),
            "2026-12-24..2026-12-26".to_string(),
        ),
        ("AUTOSCALE_TZ".to_string(), "Europe/Berlin".to_string()),
    ];
    let (code, out, _) = output(&["plan", "--at", "2026-12-23T21:00:00Z"], &env).await;
    assert_eq!(code, 0);
    assert!(
        out.contains("2026-12-23T23:00:00Z  →   1   holiday starts"),
        "{out}"
    );
    assert!(
        out.contains("2026-12-26T23:00:00Z  →   2   holiday ends"),
        "{out}"
    );
    assert!(
        out.contains("holidays   2026-12-24, 2026-12-25, 2026-12-26"),
        "{out}"
    );
}

#[tokio::test]
async fn a_feed_that_fails_is_said_and_nothing_stops() {
    let base = feed_server().await;
    let w = World::new(1).await;
    let missing = format!("{base}/missing.ics?token=s3cret");
    let env = w.env_with(&[
        ("AUTOSCALE_HOLIDAYS", &format!("2026-12-25,{missing}")),
        ("AUTOSCALE_SCHEDULE", "00:00=1"),
        ("AUTOSCALE_MAX", "2"),
    ]);
    // plan: a warning, and the dates written out still count.
    let (code, out, err) = output(&["plan", "--at", "2026-12-24T21:00:00Z"], &env).await;
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("could not be read"), "{err}");
    assert!(out.contains("holidays   2026-12-25"), "{out}");
    // check: the feed failed, the token and app are fine.
    let (code, out, _) = output(&["check"], &env).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("failed") && l.contains("holidays") && l.contains("HTTP 404")),
        "{out}"
    );
    // The daemon says so once and runs.
    let mut d = Daemon::spawn(&[], &env);
    let line = d
        .wait_for("the feed's line", Duration::from_secs(20), |l| {
            l.event() == Some("holidays_feed")
        })
        .await;
    assert_eq!(line.get("state"), Some("failed"));
    d.wait_count("probe", 1, Duration::from_secs(200)).await;
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).await.code(), Some(0));
    for text in [out, err, d.dump()] {
        assert!(!text.contains("s3cret"), "{text}");
    }
}

/// One floor: `plan` and `check` say what the daemon runs, holidays included (they once used
/// the schedule's floor, which ignores them: 3 dynos at noon on Christmas, while the daemon ran 1).
#[tokio::test]
async fn plan_and_check_give_the_holiday_quantity_on_a_holiday() {
    let env = vec![("AUTOSCALE_HOLIDAYS".to_string(), "2026-12-25".to_string())];
    let at = ["plan", "--at", "2026-12-25T12:00:00Z"];
    // The default schedule (07:00=3) and the default holiday schedule (its smallest, 00:00=1).
    let (code, out, err) = output(&[&at[..], &["--json"]].concat(), &env).await;
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["quantity"], 1, "{out}");
    let (code, out, err) = output(&at, &env).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("at 2026-12-25T12:00:00Z   1 dyno\n"), "{out}");
    // The day after, the schedule again.
    let (_, out, _) = output(&["plan", "--at", "2026-12-26T12:00:00Z"], &env).await;
    assert!(out.contains("at 2026-12-26T12:00:00Z   3 dynos\n"), "{out}");

    // check reads the floor now: today is a holiday (with a day either side, whatever the hour).
    let today = chrono::Utc::now().date_naive();
    let days = format!(
        "{}..{}",
        today.pred_opt().unwrap(),
        today.succ_opt().unwrap()
    );
    let w = World::new(1).await;
    let env = w.env_with(&[
        ("AUTOSCALE_HOLIDAYS", &days),
        ("AUTOSCALE_SCHEDULE", "00:00=3"),
        ("AUTOSCALE_HOLIDAY_SCHEDULE", "00:00=2"),
    ]);
    let (_, out, err) = output(&["check"], &env).await;
    assert!(
        out.lines()
            .any(|l| l.contains("formation") && l.contains("(schedule now 2, max 3)")),
        "{out}\n{err}"
    );
}

/// The chart's floor line is the calendar's too: a configured target's holidays, also under the
/// schedule a `start` line gives.
#[test]
fn the_chart_floor_line_drops_to_the_holiday_quantity() {
    use autoscale::chart::dataset::Settings;
    use autoscale::chart::Dataset;
    use autoscale::config::{targets, Env, Raw};
    use autoscale::schedule::Schedule;
    let ts = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    let configured = targets(
        &Raw::from_pairs([
            ("AUTOSCALE_APP", "shop"),
            ("AUTOSCALE_HOLIDAYS", "2026-12-25"),
        ]),
        &Env::default(),
    )
    .unwrap()
    .all;
    let floor_at = |d: &Dataset, at: &str| {
        let steps =
            d.targets()[0].floor_steps(ts("2026-12-24T00:00:00Z"), ts("2026-12-27T00:00:00Z"));
        steps
            .steps
            .iter()
            .rev()
            .find(|s| s.0 <= ts(at))
            .map(|s| s.1)
    };
    let mut d = Dataset::new();
    d.add_quantity("shop", "web", ts("2026-12-24T00:00:00Z"), 1);
    d.configure(&configured);
    assert_eq!(floor_at(&d, "2026-12-24T12:00:00Z"), Some(3));
    assert_eq!(floor_at(&d, "2026-12-25T12:00:00Z"), Some(1), "a holiday");
    assert_eq!(floor_at(&d, "2026-12-26T12:00:00Z"), Some(3));
    // A start line's schedule, with the configured holidays and holiday schedule.
    let mut start = Settings::of_target(&configured[0]);
    start.at = ts("2026-12-24T00:00:00Z");
    start.calendar = None;
    start.schedule = Some(std::sync::Arc::new(
        Schedule::parse("07:00=4; 22:00=2", chrono_tz::UTC).unwrap(),
    ));
    d.add_settings("shop", "web", start);
    assert_eq!(floor_at(&d, "2026-12-24T12:00:00Z"), Some(4));
    assert_eq!(floor_at(&d, "2026-12-25T12:00:00Z"), Some(1), "a holiday");
    assert_eq!(floor_at(&d, "2026-12-26T12:00:00Z"), Some(4));
}
