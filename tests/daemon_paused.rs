//! The whole daemon (`daemon::run_with`: startup, edge arming, checks, the app loop, alerts,
//! shutdown) in-process on one virtual clock, under paused time: a week of edges across a DST
//! change and a holiday, and the fail-safe, each in well under a second of wall time. What is
//! asserted is what the fake Heroku API received (method, path, body, and the virtual instant)
//! and what the daemon logged.

mod common;

use std::time::Duration;

use autoscale::clock::Clock;
use autoscale::config::{Env, Raw};
use autoscale::daemon::{run_with, Clocks};
use autoscale::sim::{FakeApp, FakeHeroku, Mode};
use chrono::{DateTime, Utc};
use common::Captured;
use tokio::time::Instant;

use common::KEY;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// The daemon's configuration from variables, as `autoscale run` resolves them.
fn config(api: &FakeHeroku, pairs: &[(&str, &str)]) -> autoscale::config::Config {
    let url = api.url();
    let mut all = vec![
        ("HEROKU_API_KEY", KEY),
        ("HEROKU_API_URL", url.as_str()),
        ("AUTOSCALE_APP", "shop"),
        ("AUTOSCALE_HISTORY", "off"),
    ];
    all.extend_from_slice(pairs);
    autoscale::config::resolve(&Raw::from_pairs(all), &Env::default()).expect("a valid config")
}

/// The daemon running in the background on `clock`, until the sender says stop (SIGTERM).
fn spawn(
    config: autoscale::config::Config,
    clock: Clock,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), autoscale::daemon::Fatal>>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(run_with(
        config,
        &[],
        async move {
            let _ = stopped.await;
            "SIGTERM"
        },
        Clocks::one(clock),
    ));
    (stop, daemon)
}

/// Polls `cond` once a virtual second until true, at most `limit` of virtual time (a finer
/// step would only cost wall time: nothing here happens between seconds).
async fn until(what: &str, limit: Duration, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The virtual instant of a request: the clock's origin plus the paused time since then.
fn when(origin: DateTime<Utc>, started: Instant, r: &autoscale::sim::Recorded) -> DateTime<Utc> {
    origin + chrono::Duration::from_std(r.at - started.into_std()).unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_week_of_edges_across_a_dst_change_and_a_holiday_runs_in_paused_time() {
    let wall = std::time::Instant::now();
    let logs = Captured::default();
    let _guard = logs.install("info");
    let api = FakeHeroku::start(KEY).await.unwrap();
    api.add_app("shop", None);
    api.add_formation("shop", "web", 1, "Standard-1X");
    api.set_updated_at("shop", "web", at("2027-03-01T00:00:00Z"));
    // Berlin: CET (UTC+1) until Sunday 2027-03-28 02:00, CEST (UTC+2) after; Good Friday
    // 2027-03-26 is a holiday (the holiday schedule: the smallest quantity, 1, all day).
    let config = config(
        &api,
        &[
            ("AUTOSCALE_SCHEDULE", "07:00=3; 22:00=2; 03:00=1"),
            ("AUTOSCALE_TZ", "Europe/Berlin"),
            ("AUTOSCALE_HOLIDAYS", "2027-03-26"),
            ("AUTOSCALE_CHECK_URL", "off"),
            ("AUTOSCALE_CHECK_INTERVAL", "1h"),
            ("AUTOSCALE_TRAFFIC", "off"),
        ],
    );
    let origin = at("2027-03-24T00:00:00Z");
    let end = at("2027-03-31T00:00:00Z");
    let clock = Clock::virtual_at(origin);
    let started = Instant::now();
    run_with(
        config,
        &[],
        async move {
            clock.sleep_until(end).await;
            "SIGTERM"
        },
        Clocks::one(clock),
    )
    .await
    .expect("the daemon runs");

    let patches: Vec<(DateTime<Utc>, String)> = api
        .patches()
        .iter()
        .map(|r| (when(origin, started, r), r.body.clone()))
        .collect();
    let q = |n: u32| format!(r#"{{"quantity":{n}}}"#);
    let expected: Vec<(DateTime<Utc>, String)> = vec![
        // Startup at 01:00 CET: the latest edge is Tuesday's 22:00 (2).
        (origin, q(2)),
        // Wednesday and Thursday in CET: 03:00 = 02:00Z, 07:00 = 06:00Z, 22:00 = 21:00Z.
        (at("2027-03-24T02:00:00Z"), q(1)),
        (at("2027-03-24T06:00:00Z"), q(3)),
        (at("2027-03-24T21:00:00Z"), q(2)),
        (at("2027-03-25T02:00:00Z"), q(1)),
        (at("2027-03-25T06:00:00Z"), q(3)),
        (at("2027-03-25T21:00:00Z"), q(2)),
        // Good Friday: the holiday schedule from local midnight (23:00Z), 1 all day.
        (at("2027-03-25T23:00:00Z"), q(1)),
        // The holiday ends at local midnight: the normal schedule's latest edge (Friday's
        // 22:00, 2) applies again, then Saturday in CET.
        (at("2027-03-26T23:00:00Z"), q(2)),
        (at("2027-03-27T02:00:00Z"), q(1)),
        (at("2027-03-27T06:00:00Z"), q(3)),
        (at("2027-03-27T21:00:00Z"), q(2)),
        // Sunday: 03:00 CEST exists (02:00 CET is skipped) and is 01:00Z; then CEST.
        (at("2027-03-28T01:00:00Z"), q(1)),
        (at("2027-03-28T05:00:00Z"), q(3)),
        (at("2027-03-28T20:00:00Z"), q(2)),
        (at("2027-03-29T01:00:00Z"), q(1)),
        (at("2027-03-29T05:00:00Z"), q(3)),
        (at("2027-03-29T20:00:00Z"), q(2)),
        (at("2027-03-30T01:00:00Z"), q(1)),
        (at("2027-03-30T05:00:00Z"), q(3)),
        (at("2027-03-30T20:00:00Z"), q(2)),
    ];
    let got: Vec<(String, String)> = patches
        .iter()
        .map(|(t, b)| (t.to_rfc3339(), b.clone()))
        .collect();
    let want: Vec<(String, String)> = expected
        .iter()
        .map(|(t, b)| (t.to_rfc3339(), b.clone()))
        .collect();
    assert_eq!(got, want);
    for r in api.patches() {
        common::assert_api_headers(&r);
        assert_eq!(r.path, "/apps/shop/formation/web");
    }
    // Each edge is one PATCH right after a read, and the hourly round reads in between: a
    // week costs about 168 reads and 21 PATCHes, never a read per minute.
    let reads = api
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == "/apps/shop/formation")
        .count();
    assert!((150..=220).contains(&reads), "{reads} reads in a week");
    let scales = logs.events("scale");
    assert_eq!(scales.len(), expected.len());
    assert_eq!(scales[0].get("reason"), Some("startup"));
    assert!(scales[1..]
        .iter()
        .all(|l| l.get("reason") == Some("schedule") && l.get("result") == Some("ok")));
    let shutdown = logs.events("shutdown");
    assert_eq!(shutdown.len(), 1);
    assert_eq!(shutdown[0].get("signal"), Some("SIGTERM"));
    assert_eq!(shutdown[0].get("clean"), Some("true"));
    assert!(!logs.text().contains(KEY));
    // Measured, not asserted tightly: the bound only catches a test that waits on real time.
    assert!(
        wall.elapsed() < Duration::from_secs(20),
        "a simulated week took {:?}",
        wall.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn the_fail_safe_scales_out_at_once_and_back_in_after_calm_checks() {
    let wall = std::time::Instant::now();
    let logs = Captured::default();
    let _guard = logs.install("info");
    let api = FakeHeroku::start(KEY).await.unwrap();
    let app = FakeApp::start().await.unwrap();
    api.add_app("shop", None);
    api.add_formation("shop", "web", 1, "Standard-1X");
    api.set_updated_at("shop", "web", at("2026-12-01T00:00:00Z"));
    let app_url = app.url();
    let config = config(
        &api,
        &[
            ("AUTOSCALE_SCHEDULE", "00:00=1"),
            ("AUTOSCALE_MAX", "4"),
            ("AUTOSCALE_CHECK_URL", app_url.as_str()),
            ("AUTOSCALE_SCALE_IN_AFTER", "3"),
        ],
    );
    let origin = at("2026-12-07T12:00:00Z");
    let clock = Clock::virtual_at(origin);
    let started = Instant::now();
    let (stop, daemon) = spawn(config, clock);
    // Healthy for a while: checks every 3 minutes, nothing to change.
    until("two healthy checks", Duration::from_secs(900), || {
        logs.events("probe").len() >= 2
    })
    .await;
    assert!(api.patches().is_empty());
    // The app fails: the next check scales out to the maximum at once.
    app.set_mode(Mode::Status(503)).await.unwrap();
    let failed_at = clock.now();
    until("the scale-out", Duration::from_secs(600), || {
        !api.patches().is_empty()
    })
    .await;
    let out = &api.patches()[0];
    assert_eq!(out.body, r#"{"quantity":4}"#);
    let out_at = when(origin, started, out);
    assert!(
        out_at - failed_at <= chrono::Duration::minutes(3),
        "scaled out {} after the failure",
        out_at - failed_at
    );
    let scale = &logs.events("scale")[0];
    assert_eq!(scale.get("reason"), Some("down"));
    assert_eq!(scale.get("from"), Some("1"));
    // Healthy again: three calm checks, then back to the schedule's 1.
    app.set_mode(Mode::Healthy).await.unwrap();
    until("the scale-in", Duration::from_secs(1800), || {
        api.patches().len() >= 2
    })
    .await;
    let back = &api.patches()[1];
    assert_eq!(back.body, r#"{"quantity":1}"#);
    let calm = when(origin, started, back) - out_at;
    assert!(
        calm >= chrono::Duration::minutes(9) && calm <= chrono::Duration::minutes(15),
        "scaled in {calm} after the scale-out"
    );
    assert_eq!(logs.events("scale")[1].get("reason"), Some("scale_in"));
    let _ = stop.send(());
    daemon.await.unwrap().unwrap();
    assert_eq!(logs.events("shutdown").len(), 1);
    assert!(wall.elapsed() < Duration::from_secs(20));
}

#[tokio::test(start_paused = true)]
async fn an_edge_changes_the_dyno_size_and_the_fail_safe_never_does() {
    let logs = Captured::default();
    let _guard = logs.install("info");
    let api = FakeHeroku::start(KEY).await.unwrap();
    let app = FakeApp::start().await.unwrap();
    api.add_app("shop", None);
    api.add_formation("shop", "web", 1, "Standard-1X");
    api.set_updated_at("shop", "web", at("2026-12-01T00:00:00Z"));
    let app_url = app.url();
    let config = config(
        &api,
        &[
            (
                "AUTOSCALE_SCHEDULE",
                "07:00=2:Performance-M; 12:00=2; 19:00=1:standard-1x",
            ),
            ("AUTOSCALE_MAX", "4"),
            ("AUTOSCALE_CHECK_URL", app_url.as_str()),
            ("AUTOSCALE_SCALE_IN_AFTER", "3"),
            ("AUTOSCALE_TRAFFIC", "off"),
        ],
    );
    let origin = at("2026-12-07T06:00:00Z");
    let clock = Clock::virtual_at(origin);
    let started = Instant::now();
    let (stop, daemon) = spawn(config, clock);
    // Startup: yesterday's 19:00 asked for 1 Standard-1X, which runs: nothing is sent.
    until("the 07:00 edge", Duration::from_secs(7200), || {
        !api.patches().is_empty()
    })
    .await;
    let edge = &api.patches()[0];
    assert_eq!(edge.body, r#"{"quantity":2,"size":"performance-m"}"#);
    assert_eq!(when(origin, started, edge), at("2026-12-07T07:00:00Z"));
    assert_eq!(api.size("shop", "web").as_deref(), Some("Performance-M"));
    let scale = &logs.events("scale")[0];
    assert_eq!(scale.get("size"), Some("performance-m"));
    assert_eq!(scale.get("reason"), Some("schedule"));
    // The app fails: the fail-safe scales out without a size, and back in without one.
    app.set_mode(Mode::Status(503)).await.unwrap();
    until("the scale-out", Duration::from_secs(600), || {
        api.patches().len() >= 2
    })
    .await;
    assert_eq!(api.patches()[1].body, r#"{"quantity":4}"#);
    assert_eq!(logs.events("scale")[1].get("size"), None);
    app.set_mode(Mode::Healthy).await.unwrap();
    until("the scale-in", Duration::from_secs(1800), || {
        api.patches().len() >= 3
    })
    .await;
    assert_eq!(api.patches()[2].body, r#"{"quantity":2}"#);
    assert_eq!(api.size("shop", "web").as_deref(), Some("Performance-M"));
    // 12:00 names no size and 2 runs: nothing. 19:00 goes back to 1 Standard-1X.
    until("the 19:00 edge", Duration::from_secs(12 * 3600), || {
        api.patches().len() >= 4
    })
    .await;
    let night = &api.patches()[3];
    assert_eq!(night.body, r#"{"quantity":1,"size":"standard-1x"}"#);
    assert_eq!(when(origin, started, night), at("2026-12-07T19:00:00Z"));
    assert_eq!(api.size("shop", "web").as_deref(), Some("Standard-1X"));
    let _ = stop.send(());
    daemon.await.unwrap().unwrap();
    assert_eq!(api.patches().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_quantity_set_by_hand_is_held_over_an_edge_told_to_a_human_and_then_released() {
    let logs = Captured::default();
    let _guard = logs.install("info");
    let api = FakeHeroku::start(KEY).await.unwrap();
    let hooks = autoscale::sim::Receiver::start().await.unwrap();
    api.add_app("shop", None);
    api.add_formation("shop", "web", 1, "Standard-1X");
    api.set_updated_at("shop", "web", at("2026-12-01T00:00:00Z"));
    let hook = hooks.url("/hook");
    let config = config(
        &api,
        &[
            ("AUTOSCALE_CHECK_URL", "off"),
            ("AUTOSCALE_TRAFFIC", "off"),
            ("AUTOSCALE_MANUAL_HOLD", "2h"),
            ("AUTOSCALE_NOTIFY_WEBHOOK", hook.as_str()),
        ],
    );
    // The default schedule in UTC: 03:00=1, 07:00=3, 22:00=2.
    let origin = at("2026-12-07T05:00:00Z");
    let clock = Clock::virtual_at(origin);
    let started = Instant::now();
    let (stop, daemon) = spawn(config, clock);
    // 06:00: someone runs `heroku ps:scale web=5`.
    clock.sleep_until(at("2026-12-07T06:00:00Z")).await;
    api.set_quantity("shop", "web", 5);
    api.set_updated_at("shop", "web", clock.now());
    until("the hold", Duration::from_secs(600), || {
        !logs.events("hold").is_empty()
    })
    .await;
    let hold = &logs.events("hold")[0];
    assert_eq!(hold.get("reason"), Some("manual"));
    assert_eq!(hold.get("quantity"), Some("5"));
    assert_eq!(hold.get("until"), Some("2026-12-07T08:00:00Z"));
    // 07:00's edge (3) is held: nothing is sent.
    clock.sleep_until(at("2026-12-07T07:30:00Z")).await;
    assert!(api.patches().is_empty(), "{:?}", api.patches());
    assert_eq!(api.quantity("shop", "web"), Some(5));
    // 08:00: the hold ends and the schedule's 07:00 entry applies again, at once.
    until("the schedule's return", Duration::from_secs(3600), || {
        !api.patches().is_empty()
    })
    .await;
    let back = &api.patches()[0];
    assert_eq!(back.body, r#"{"quantity":3}"#);
    let back_at = when(origin, started, back);
    assert!(
        back_at >= at("2026-12-07T08:00:00Z") && back_at <= at("2026-12-07T08:00:05Z"),
        "{back_at}"
    );
    let end = &logs.events("hold_end")[0];
    assert_eq!(end.get("why"), Some("expired"));
    // A human was told: at the start that checks are off, then once of the hold, with what
    // was set and until when, each stamped with the daemon's clock.
    until("the alerts", Duration::from_secs(60), || {
        hooks.received().len() >= 2
    })
    .await;
    let alerts: Vec<serde_json::Value> =
        hooks.received().iter().map(|r| r.json().unwrap()).collect();
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert_eq!(alerts[0]["event"], "risky_start");
    assert_eq!(alerts[0]["at"], "2026-12-07T05:00:00Z");
    assert_eq!(alerts[1]["event"], "manual_hold");
    assert_eq!(alerts[1]["at"], "2026-12-07T06:00:00Z");
    let text = alerts[1]["text"].as_str().unwrap();
    assert!(text.contains("was set to 5 by someone else"), "{text}");
    assert!(text.contains("until 2026-12-07 08:00:00 UTC"), "{text}");
    let _ = stop.send(());
    daemon.await.unwrap().unwrap();
}

/// With many apps, startup takes a while. An edge that passes while another app is still
/// starting is acted on when it passes, not at the app's next read (minutes later): each app's
/// loop runs, and its edges are armed, as soon as its own startup is done.
#[tokio::test(start_paused = true)]
async fn an_edge_during_another_app_s_slow_startup_is_on_time() {
    let logs = Captured::default();
    let _guard = logs.install("info");
    let api = FakeHeroku::start(KEY).await.unwrap();
    for app in ["alpha", "bravo"] {
        api.add_app(app, None);
        api.add_formation(app, "web", 3, "Standard-1X");
        api.set_updated_at(app, "web", at("2026-12-01T00:00:00Z"));
    }
    // bravo's startup read takes 8 s (within the client's timeout); alpha's edge (22:00=2)
    // comes in the middle of it.
    api.fail_path(
        "GET",
        "/apps/bravo/formation",
        autoscale::sim::Fault::Delay(Duration::from_secs(8)),
    );
    let url = api.url();
    let file = "[defaults]\ncheck_url = \"off\"\ntraffic = \"off\"\nmanual_hold = \"0\"\n\
                [[target]]\napp = \"alpha\"\n[[target]]\napp = \"bravo\"\n";
    let config = autoscale::config::resolve(
        &Raw::from_pairs([
            ("HEROKU_API_KEY", KEY),
            ("HEROKU_API_URL", url.as_str()),
            ("AUTOSCALE_CONFIG", file),
            ("AUTOSCALE_HISTORY", "off"),
        ]),
        &Env::default(),
    )
    .expect("a valid config");
    let origin = at("2026-12-07T21:59:55Z");
    let clock = Clock::virtual_at(origin);
    let started = Instant::now();
    let (stop, daemon) = spawn(config, clock);
    until("alpha's edge", Duration::from_secs(900), || {
        api.patches()
            .iter()
            .any(|p| p.path == "/apps/alpha/formation/web")
    })
    .await;
    let patch = api
        .patches()
        .into_iter()
        .find(|p| p.path == "/apps/alpha/formation/web")
        .unwrap();
    assert_eq!(patch.body, r#"{"quantity":2}"#);
    let landed = when(origin, started, &patch);
    assert!(
        landed >= at("2026-12-07T22:00:00Z") && landed < at("2026-12-07T22:00:02Z"),
        "alpha's edge landed at {landed}, bravo still starting"
    );
    // bravo, once up, is brought to the floor by its own startup round.
    until("bravo's startup scale", Duration::from_secs(900), || {
        api.patches()
            .iter()
            .any(|p| p.path == "/apps/bravo/formation/web")
    })
    .await;
    let bravo = when(origin, started, &api.patches()[1]);
    assert!(bravo >= at("2026-12-07T22:00:03Z"), "{bravo}");
    assert!(landed < bravo);
    let _ = stop.send(());
    daemon.await.unwrap().unwrap();
}

/// Heroku's `updated_at` is trusted up to our clock: a change dated in the future is held for
/// AUTOSCALE_MANUAL_HOLD from now, not until that date (a hostile or broken value once held a
/// quantity until 9999).
#[tokio::test(start_paused = true)]
async fn a_future_updated_at_holds_for_the_manual_hold_from_now_only() {
    let logs = Captured::default();
    let _guard = logs.install("info");
    let api = FakeHeroku::start(KEY).await.unwrap();
    api.add_app("shop", None);
    api.add_formation("shop", "web", 1, "Standard-1X");
    api.set_updated_at("shop", "web", at("2026-12-01T00:00:00Z"));
    let config = config(
        &api,
        &[
            ("AUTOSCALE_CHECK_URL", "off"),
            ("AUTOSCALE_TRAFFIC", "off"),
            ("AUTOSCALE_MANUAL_HOLD", "1h"),
        ],
    );
    let origin = at("2026-12-07T08:00:00Z");
    let clock = Clock::virtual_at(origin);
    let (stop, daemon) = spawn(config, clock);
    until("the startup scale", Duration::from_secs(60), || {
        !api.patches().is_empty()
    })
    .await;
    clock.sleep_until(at("2026-12-07T09:00:00Z")).await;
    api.set_quantity("shop", "web", 7);
    api.set_updated_at("shop", "web", at("9999-12-31T00:00:00Z"));
    until("the hold", Duration::from_secs(600), || {
        !logs.events("hold").is_empty()
    })
    .await;
    let hold = &logs.events("hold")[0];
    let until_text = hold.get("until").unwrap().to_owned();
    let held_until: DateTime<Utc> = until_text.parse().unwrap();
    assert!(
        held_until <= clock.now() + chrono::Duration::hours(1),
        "held until {until_text}"
    );
    // An hour later the schedule (07:00=3) is back.
    until(
        "the schedule's return",
        Duration::from_secs(2 * 3600),
        || api.quantity("shop", "web") == Some(3),
    )
    .await;
    let _ = stop.send(());
    daemon.await.unwrap().unwrap();
}

/// A schedule that fires every second spends far more than the budget on edges alone: the
/// budget line says so at once, with the real figure (it once said 258 calls an hour for what
/// spent about 7,400).
#[tokio::test(start_paused = true)]
async fn a_schedule_firing_every_second_is_announced_as_over_the_budget() {
    let logs = Captured::default();
    let _guard = logs.install("info");
    let api = FakeHeroku::start(KEY).await.unwrap();
    api.add_app("shop", None);
    api.add_formation("shop", "web", 1, "Standard-1X");
    let config = config(
        &api,
        &[
            ("AUTOSCALE_SCHEDULE", "* * * * * *=2; */2 * * * * *=1"),
            ("AUTOSCALE_CHECK_URL", "off"),
            ("AUTOSCALE_TRAFFIC", "off"),
        ],
    );
    let clock = Clock::virtual_at(at("2026-12-07T12:00:00Z"));
    run_with(
        config,
        &[],
        async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "SIGTERM"
        },
        Clocks::one(clock),
    )
    .await
    .unwrap();
    let budget = &logs.events("budget")[0];
    assert_eq!(budget.get("level"), Some("warn"), "{budget:?}");
    let calls: u64 = budget.get("calls_per_hour").unwrap().parse().unwrap();
    assert!(calls >= 7000, "{budget:?}");
    assert!(budget
        .get("message")
        .unwrap()
        .contains("more API calls than AUTOSCALE_API_BUDGET"));
}

/// Twenty apps with traffic on and a budget of 60 calls an hour: their log sessions are asked
/// for one a minute (the budget's pace), not all at once (40 calls in 10 s before).
#[tokio::test(start_paused = true)]
async fn log_sessions_of_many_apps_are_spread_at_the_budget_s_pace() {
    let logs = Captured::default();
    let _guard = logs.install("info");
    let api = FakeHeroku::start(KEY).await.unwrap();
    let apps: Vec<String> = (0..20).map(|i| format!("app-{i:02}")).collect();
    let mut file = String::from(
        "[defaults]\ncheck_url = \"off\"\ntraffic = \"on\"\nmanual_hold = \"0\"\nschedule = \"00:00=1\"\n",
    );
    for app in &apps {
        api.add_app(app, None);
        api.add_formation(app, "web", 1, "Standard-1X");
        api.set_updated_at(app, "web", at("2026-12-01T00:00:00Z"));
        file.push_str(&format!("[[target]]\napp = \"{app}\"\n"));
    }
    let url = api.url();
    let config = autoscale::config::resolve(
        &Raw::from_pairs([
            ("HEROKU_API_KEY", KEY),
            ("HEROKU_API_URL", url.as_str()),
            ("AUTOSCALE_CONFIG", file.as_str()),
            ("AUTOSCALE_HISTORY", "off"),
            ("AUTOSCALE_API_BUDGET", "60"),
        ]),
        &Env::default(),
    )
    .expect("a valid config");
    let origin = at("2026-12-07T12:00:00Z");
    let clock = Clock::virtual_at(origin);
    let started = Instant::now();
    let (stop, daemon) = spawn(config, clock);
    let sessions = || -> Vec<autoscale::sim::Recorded> {
        api.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/log-sessions"))
            .collect()
    };
    until("every app's session", Duration::from_secs(1500), || {
        sessions().len() == 20
    })
    .await;
    let times: Vec<DateTime<Utc>> = sessions()
        .iter()
        .map(|r| when(origin, started, r))
        .collect();
    assert!(
        times[0] - origin < chrono::Duration::seconds(5),
        "{times:?}"
    );
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= chrono::Duration::seconds(59) && gap <= chrono::Duration::seconds(61),
            "{times:?}"
        );
    }
    // Every app got its own session, each asked once.
    let mut asked: Vec<String> = sessions().iter().map(|r| r.path.clone()).collect();
    asked.sort();
    asked.dedup();
    assert_eq!(asked.len(), 20);
    let _ = stop.send(());
    daemon.await.unwrap().unwrap();
}
