//! The daemon by the clock: startup, cron edges, idempotence, dry run, shutdown, API retries.

mod common;

use std::time::{Duration, UNIX_EPOCH};

use autoscale::sim::Fault;
use common::*;

/// Two entries alternating every 5 s: 1 at :00, :10, ...; 2 at :05, :15, ...
const ALTERNATING: &str = "*/10 * * * * *=1; 5-55/10 * * * * *=2";

fn schedule_only(w: &World, schedule: &str) -> Vec<(String, String)> {
    w.env_with(&[
        ("AUTOSCALE_SCHEDULE", schedule),
        ("AUTOSCALE_CHECK_URL", "off"),
    ])
}

#[tokio::test]
async fn edges_patch_the_entry_quantity_on_time_with_exact_headers_and_body() {
    let w = World::new(2).await;
    // Set just now (after the latest edge) and holds off: every PATCH after the start lines
    // comes from an edge. (An edge that falls between this instant and the startup read is
    // still pending for startup, which may then PATCH it: such PATCHes are left out.)
    w.api.set_updated_at(APP, "web", chrono::Utc::now());
    let mut env = schedule_only(&w, ALTERNATING);
    env.push(("AUTOSCALE_MANUAL_HOLD".into(), "0".into()));
    let mut d = Daemon::spawn(&[], &env);
    d.wait_for("start", Duration::from_secs(15), |l| {
        l.event() == Some("start")
    })
    .await;
    let before = w.api.patches().len();
    until("two PATCHes from edges", Duration::from_secs(25), || {
        w.api.patches().len() >= before + 2
    })
    .await;
    let patches = w.api.patches();
    for p in &patches[before..before + 2] {
        // Never early: the PATCH lands after the edge's whole second (a multiple of 5 s), and
        // promptly (the scheduler ticks twice a second); with the quantity of that edge.
        let ms = p.wall.duration_since(UNIX_EPOCH).unwrap().as_millis() % 10_000;
        assert!(
            ms % 5000 < 1500,
            "PATCH {ms} ms after the edge\n{}",
            d.dump()
        );
        assert_scale_request(p, if ms < 5000 { 1 } else { 2 });
    }
    // A GET of the formation precedes every PATCH.
    let requests = w.api.requests();
    for (i, r) in requests.iter().enumerate() {
        assert_api_headers(r);
        if r.method == "PATCH" {
            assert_eq!(requests[i - 1].method, "GET", "{requests:?}");
            assert_eq!(requests[i - 1].path, "/apps/shop-app/formation");
        }
    }
    let scales = d
        .wait_count("scale", before + 2, Duration::from_secs(5))
        .await;
    for (scale, patch) in scales[before..].iter().zip(&patches[before..before + 2]) {
        assert_eq!(scale.get("reason"), Some("schedule"));
        assert_eq!(scale.get("result"), Some("ok"));
        let to: serde_json::Value = serde_json::from_str(&patch.body).unwrap();
        assert_eq!(
            scale.get("to"),
            Some(to["quantity"].to_string().as_str()),
            "{}",
            d.dump()
        );
    }
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).await.code(), Some(0));
}

#[tokio::test]
async fn startup_below_the_floor_scales_up() {
    let w = World::new(1).await;
    let mut d = Daemon::spawn(&[], &schedule_only(&w, "00:00=3; 12:00=3"));
    let scale = d
        .wait_for("the startup scale", Duration::from_secs(15), |l| {
            l.event() == Some("scale")
        })
        .await;
    assert_eq!(scale.get("reason"), Some("startup"));
    assert_eq!((scale.get("from"), scale.get("to")), (Some("1"), Some("3")));
    assert_eq!(w.quantity(), 3);
    let patches = w.api.patches();
    assert_eq!(patches.len(), 1);
    assert_scale_request(&patches[0], 3);
    // The start line follows the startup round.
    let start = d
        .wait_for("the start line", Duration::from_secs(10), |l| {
            l.event() == Some("start")
        })
        .await;
    assert_eq!(start.get("app"), Some("shop-app"));
    assert_eq!(start.get("max"), Some("3"));
    assert_eq!(start.get("check_url"), Some("off"));
    assert_eq!(start.get("dry_run"), Some("false"));
    assert!(
        start
            .get("next_edge")
            .is_some_and(|e| e.ends_with(":00:00+00:00")),
        "{}",
        d.dump()
    );
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn startup_above_or_at_the_floor_does_not_patch() {
    for (quantity, reason) in [(5, "above_floor"), (3, "at_target")] {
        let w = World::new(quantity).await;
        // Set after the latest edge (00:00 today): on purpose, so kept.
        w.api.set_updated_at(APP, "web", chrono::Utc::now());
        let env = w.env_with(&[
            ("AUTOSCALE_SCHEDULE", "00:00=3"),
            ("AUTOSCALE_MAX", "5"),
            ("AUTOSCALE_CHECK_URL", "off"),
        ]);
        let mut d = Daemon::spawn(&[], &env);
        let skip = d
            .wait_for("scale_skip", Duration::from_secs(15), |l| {
                l.event() == Some("scale_skip")
            })
            .await;
        assert_eq!(skip.get("reason"), Some(reason));
        d.signal("TERM");
        d.wait_exit(Duration::from_secs(10)).await;
        assert!(w.api.patches().is_empty(), "{}", d.dump());
        assert_eq!(w.quantity(), quantity);
        // It did read the formation (the list: one read for all of an app's processes).
        assert!(w
            .api
            .requests()
            .iter()
            .any(|r| r.path == "/apps/shop-app/formation"));
        if quantity == 5 {
            let hold = &d.events_named("hold")[0];
            assert_eq!(hold.get("quantity"), Some("5"));
        }
    }
}

#[tokio::test]
async fn a_scale_in_edge_missed_while_stopped_is_applied_at_startup_with_checks_off() {
    // 5 dynos since before today's 00:00 edge (to 3): the daemon was down at the edge.
    let w = World::new(5).await;
    let env = w.env_with(&[
        ("AUTOSCALE_SCHEDULE", "00:00=3"),
        ("AUTOSCALE_MAX", "5"),
        ("AUTOSCALE_CHECK_URL", "off"),
    ]);
    let mut d = Daemon::spawn(&[], &env);
    let scale = d
        .wait_for("the missed edge", Duration::from_secs(15), |l| {
            l.event() == Some("scale")
        })
        .await;
    assert_eq!(scale.get("reason"), Some("schedule"));
    assert_eq!((scale.get("from"), scale.get("to")), (Some("5"), Some("3")));
    assert_scale_request(&w.api.patches()[0], 3);
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).await.code(), Some(0));
}

#[tokio::test]
async fn an_edge_at_the_target_quantity_sends_no_patch() {
    let w = World::new(2).await;
    let mut d = Daemon::spawn(&[], &schedule_only(&w, "*/2 * * * * *=2"));
    let skips = d.wait_count("scale_skip", 3, Duration::from_secs(15)).await;
    assert!(
        skips.iter().all(|s| s.get("reason") == Some("at_target")),
        "{}",
        d.dump()
    );
    assert!(skips
        .iter()
        .skip(1)
        .all(|s| s.get("trigger") == Some("schedule")));
    assert!(w.api.patches().is_empty());
    d.signal("INT");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).await.code(), Some(0));
}

#[tokio::test]
async fn dry_run_decides_and_logs_but_never_patches() {
    let w = World::new(1).await;
    let env = w.env_with(&[
        ("AUTOSCALE_SCHEDULE", ALTERNATING),
        ("AUTOSCALE_MAX", "4"),
        ("AUTOSCALE_DRY_RUN", "true"),
        ("AUTOSCALE_CHECK_INTERVAL", "1s"),
        ("AUTOSCALE_CHECK_TIMEOUT", "500ms"),
        ("AUTOSCALE_SLOW", "300ms"),
        ("AUTOSCALE_FAST", "100ms"),
    ]);
    w.app
        .set_mode(autoscale::sim::Mode::Status(500))
        .await
        .unwrap();
    let mut d = Daemon::spawn(&[], &env);
    // Edges and the fail-safe both decide; nothing is sent.
    d.wait_for("a dry-run scale-out", Duration::from_secs(15), |l| {
        l.event() == Some("scale")
            && l.get("reason") == Some("down")
            && l.get("result") == Some("dry_run")
    })
    .await;
    // It decides from what it would have set: healthy again, it scales in (as if), and the
    // edges move the quantity it would have.
    w.app.set_mode(autoscale::sim::Mode::Healthy).await.unwrap();
    d.wait_for("a dry-run edge", Duration::from_secs(15), |l| {
        l.event() == Some("scale")
            && l.get("reason") == Some("schedule")
            && l.get("result") == Some("dry_run")
    })
    .await;
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(10)).await;
    assert!(w.api.patches().is_empty(), "{:?}", w.api.patches());
    assert_eq!(w.quantity(), 1);
    assert_eq!(d.events_named("start")[0].get("dry_run"), Some("true"));
}

#[tokio::test]
async fn sigterm_exits_0_quickly_with_a_shutdown_event() {
    let w = World::new(1).await;
    let mut d = Daemon::spawn(&[], &schedule_only(&w, "00:00=1"));
    d.wait_for("start", Duration::from_secs(15), |l| {
        l.event() == Some("start")
    })
    .await;
    d.wait_for("startup decision", Duration::from_secs(15), |l| {
        l.event() == Some("scale_skip")
    })
    .await;
    let sent = std::time::Instant::now();
    d.signal("TERM");
    let status = d.wait_exit(Duration::from_secs(10)).await;
    let took = sent.elapsed();
    assert_eq!(status.code(), Some(0), "{}", d.dump());
    let shutdown = d.events_named("shutdown");
    assert_eq!(shutdown.len(), 1, "{}", d.dump());
    assert_eq!(shutdown[0].get("signal"), Some("SIGTERM"));
    assert_eq!(shutdown[0].get("clean"), Some("true"));
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
}

#[tokio::test]
async fn sigterm_lets_the_patch_in_flight_finish() {
    sigterm_with_a_patch_in_flight(ALTERNATING).await;
}

/// An edge every second: the PATCH in flight is the startup round's own (before the start
/// lines), which a SIGTERM must let finish too.
#[tokio::test]
async fn sigterm_during_startup_lets_its_patch_finish() {
    sigterm_with_a_patch_in_flight("* * * * * *=1").await;
}

async fn sigterm_with_a_patch_in_flight(schedule: &str) {
    let w = World::new(2).await;
    // The first PATCH takes 5 s to answer; SIGTERM arrives while it is in flight.
    w.api
        .fail_next(Some("PATCH"), Fault::Delay(Duration::from_secs(5)));
    let mut d = Daemon::spawn(&[], &schedule_only(&w, schedule));
    until("the PATCH to arrive", Duration::from_secs(15), || {
        !w.api.patches().is_empty()
    })
    .await;
    d.signal("TERM");
    let status = d.wait_exit(Duration::from_secs(10)).await;
    assert_eq!(status.code(), Some(0));
    assert_eq!(w.quantity(), 1, "{}", d.dump());
    let events: Vec<String> = d
        .events()
        .iter()
        .filter_map(|l| l.event().map(String::from))
        .collect();
    let scale = events
        .iter()
        .position(|e| e == "scale")
        .expect("scale logged");
    let shutdown = events
        .iter()
        .position(|e| e == "shutdown")
        .expect("shutdown logged");
    assert!(scale < shutdown, "{events:?}");
    assert_eq!(d.events_named("scale")[0].get("result"), Some("ok"));
    assert_eq!(
        w.api.patches().len(),
        1,
        "nothing new is sent after SIGTERM"
    );
}

#[tokio::test]
async fn a_503_on_the_edge_patch_is_retried_and_lands() {
    let w = World::new(2).await;
    // Set just now, holds off: startup sends nothing, the first PATCH is an edge's.
    w.api.set_updated_at(APP, "web", chrono::Utc::now());
    let mut env = schedule_only(&w, ALTERNATING);
    env.push(("AUTOSCALE_MANUAL_HOLD".into(), "0".into()));
    // Armed before the start: an edge (every 5 s) may come before the test sees `start`.
    w.api.fail_next(Some("PATCH"), Fault::Unavailable);
    let mut d = Daemon::spawn(&[], &env);
    let scale = d
        .wait_for("an edge scale", Duration::from_secs(20), |l| {
            l.event() == Some("scale") && l.get("reason") == Some("schedule")
        })
        .await;
    assert_eq!(scale.get("result"), Some("ok"), "{}", d.dump());
    let patches = w.api.patches();
    assert_eq!(patches[0].status, 503);
    assert_eq!(patches[1].status, 200);
    assert_eq!(patches[0].body, patches[1].body);
    let err = &d.events_named("api_error")[0];
    assert_eq!(err.get("status"), Some("503"));
    assert_eq!(err.get("id"), Some("unavailable"));
    assert_eq!(err.get("method"), Some("PATCH"));
    assert_eq!(err.get("path"), Some("/apps/shop-app/formation/web"));
    assert_eq!(err.get("attempt"), Some("1"));
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn an_api_outage_at_startup_is_logged_and_the_first_check_heals_the_floor() {
    let w = World::new(1).await;
    // Every attempt of the startup formation read fails (502 from a proxy, not JSON).
    for _ in 0..4 {
        w.api
            .fail_path("GET", "/apps/shop-app/formation", Fault::NonJson(502));
    }
    let env = w.env_with(&[
        ("AUTOSCALE_SCHEDULE", "00:00=2"),
        ("AUTOSCALE_CHECK_INTERVAL", "1s"),
    ]);
    let mut d = Daemon::spawn(&[], &env);
    let heal = d
        .wait_for(
            "the floor healed by a check",
            Duration::from_secs(30),
            |l| l.event() == Some("scale"),
        )
        .await;
    // The 00:00 edge was never applied: it is, at the first round that can read.
    assert_eq!(heal.get("reason"), Some("schedule"), "{}", d.dump());
    assert_eq!((heal.get("from"), heal.get("to")), (Some("1"), Some("2")));
    assert_eq!(w.quantity(), 2);
    let errors = d.events_named("api_error");
    assert_eq!(
        errors.len(),
        4,
        "three retries, then the final error: {}",
        d.dump()
    );
    assert!(errors
        .iter()
        .all(|e| e.get("status") == Some("502") && e.get("id") == Some("http_502")));
    assert_eq!(errors[3].get("attempt"), Some("4"));
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).await.code(), Some(0));
}

#[tokio::test]
async fn with_checks_off_the_floor_is_still_held_and_an_app_outage_does_not_turn_them_on() {
    let w = World::new(2).await;
    // The app cannot be read at startup; AUTOSCALE_CHECK_URL=off must still mean off.
    for _ in 0..4 {
        w.api.fail_path("GET", "/apps/shop-app", Fault::Unavailable);
    }
    let env = w.env_with(&[
        ("AUTOSCALE_SCHEDULE", "00:00=2"),
        ("AUTOSCALE_CHECK_URL", "off"),
        ("AUTOSCALE_CHECK_INTERVAL", "1s"),
        ("AUTOSCALE_MANUAL_HOLD", "0"),
    ]);
    let mut d = Daemon::spawn(&[], &env);
    d.wait_for("start", Duration::from_secs(20), |l| {
        l.event() == Some("start")
    })
    .await;
    d.wait_for("startup", Duration::from_secs(10), |l| {
        l.event() == Some("scale_skip")
    })
    .await;
    // A hand scale-down with holds off: healed within a read interval, without any check.
    w.api.set_quantity(APP, "web", 1);
    let heal = d
        .wait_for("the floor healed", Duration::from_secs(8), |l| {
            l.event() == Some("scale")
        })
        .await;
    assert_eq!(heal.get("reason"), Some("floor"));
    assert_eq!(w.quantity(), 2);
    assert!(d.events_named("probe").is_empty(), "{}", d.dump());
    assert_eq!(w.app.hits(), 0, "the app was never requested");
    assert_eq!(d.events_named("start")[0].get("check_url"), Some("off"));
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).await.code(), Some(0));
}

#[tokio::test]
async fn sigterm_during_startup_retries_exits_at_once() {
    let w = World::new(1).await;
    // Heroku is down: the startup calls are being retried when the dyno is stopped.
    for _ in 0..40 {
        w.api.fail_next(None, Fault::Unavailable);
    }
    let mut d = Daemon::spawn(&[], &schedule_only(&w, "00:00=2"));
    until("a retried call", Duration::from_secs(10), || {
        w.api.requests().len() >= 2
    })
    .await;
    let sent = std::time::Instant::now();
    d.signal("TERM");
    assert_eq!(
        d.wait_exit(Duration::from_secs(10)).await.code(),
        Some(0),
        "{}",
        d.dump()
    );
    assert!(
        sent.elapsed() < Duration::from_secs(3),
        "{:?}",
        sent.elapsed()
    );
    assert_eq!(d.events_named("shutdown").len(), 1, "{}", d.dump());
    assert!(w.api.patches().is_empty());
}
