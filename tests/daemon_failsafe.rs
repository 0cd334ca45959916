//! The daemon by health: scale out at once when the app is down or slow, back in calmly.

mod common;

use std::time::Duration;

use autoscale::sim::{Fault, Mode};
use common::*;

/// interval + timeout + slack for the API round trips.
const REACT: Duration = Duration::from_secs(6);

async fn scales_out_once(mode: Mode, reason: &str, error_needle: &str) {
    // A slow answer (1.5 s) is far from the timeout, so a busy machine cannot make it `down`.
    let timeout = if reason == "slow" { "4s" } else { "2s" };
    let w = World::new(1).await;
    let mut d = Daemon::spawn(
        &[],
        &w.failsafe_env(&[("AUTOSCALE_CHECK_TIMEOUT", timeout)]),
    );
    d.wait_for("a healthy check", Duration::from_secs(15), |l| {
        l.event() == Some("probe") && l.get("outcome") == Some("fast")
    })
    .await;
    let probes_before = d.events_named("probe").len();
    w.app.set_mode(mode).await.unwrap();
    let scale = d
        .wait_for("the scale-out", REACT, |l| l.event() == Some("scale"))
        .await;
    assert_eq!(scale.get("reason"), Some(reason), "{}", d.dump());
    assert_eq!((scale.get("from"), scale.get("to")), (Some("1"), Some("3")));
    assert_eq!(w.quantity(), 3);
    let unhealthy = &d.events_named("probe")[probes_before..];
    let first = unhealthy
        .iter()
        .find(|p| p.get("outcome") == Some(reason))
        .unwrap_or_else(|| panic!("no {reason} probe\n{}", d.dump()));
    assert!(
        first.get("error").unwrap_or("").contains(error_needle),
        "{}",
        d.dump()
    );
    assert_eq!(first.get("current"), Some("1"));
    assert_eq!(first.get("floor"), Some("1"));
    // Three more unhealthy checks at max: no more PATCHes.
    d.wait_more("probe", 3, Duration::from_secs(15)).await;
    assert_eq!(w.api.patches().len(), 1, "{}", d.dump());
    assert_scale_request(&w.api.patches()[0], 3);
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).await.code(), Some(0));
}

#[tokio::test]
async fn a_500_scales_out_once() {
    scales_out_once(Mode::Status(500), "down", "HTTP 500").await;
}

#[tokio::test]
async fn a_hang_scales_out_once() {
    scales_out_once(Mode::Hang, "down", "timeout").await;
}

#[tokio::test]
async fn a_refused_connection_scales_out_once() {
    scales_out_once(Mode::Closed, "down", "connect").await;
}

#[tokio::test]
async fn a_slow_answer_scales_out_once() {
    scales_out_once(Mode::Slow(Duration::from_millis(1500)), "slow", "").await;
}

#[tokio::test]
async fn a_redirect_is_reported_not_followed() {
    scales_out_once(Mode::Status(302), "down", "HTTP 302 redirect to").await;
}

#[tokio::test]
async fn recovery_scales_back_in_to_the_floor_after_the_calm_and_no_further() {
    let w = World::new(1).await;
    let mut d = Daemon::spawn(&[], &w.failsafe_env(&[]));
    d.wait_for("start", Duration::from_secs(15), |l| {
        l.event() == Some("start")
    })
    .await;
    w.app.set_mode(Mode::Closed).await.unwrap();
    d.wait_for("the scale-out", REACT, |l| l.event() == Some("scale"))
        .await;
    w.app.set_mode(Mode::Healthy).await.unwrap();
    let scale_in = d
        .wait_for("the scale-in", Duration::from_secs(15), |l| {
            l.event() == Some("scale") && l.get("reason") == Some("scale_in")
        })
        .await;
    assert_eq!(
        (scale_in.get("from"), scale_in.get("to")),
        (Some("3"), Some("1"))
    );
    // It waited for three fast checks after the app came back.
    let events = d.events();
    let out = events
        .iter()
        .position(|l| l.event() == Some("scale"))
        .unwrap();
    let back = events
        .iter()
        .rposition(|l| l.get("reason") == Some("scale_in"))
        .unwrap();
    let fast_between = events[out..back]
        .iter()
        .filter(|l| l.event() == Some("probe") && l.get("outcome") == Some("fast"))
        .count();
    assert!(fast_between >= 3, "{}", d.dump());
    // Calm: no flapping, never below the floor.
    d.wait_more("probe", 3, Duration::from_secs(15)).await;
    let patches = w.api.patches();
    assert_eq!(patches.len(), 2, "{}", d.dump());
    assert_scale_request(&patches[0], 3);
    assert_scale_request(&patches[1], 1);
    assert_eq!(w.quantity(), 1);
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn scale_out_after_2_ignores_a_single_failure() {
    let w = World::new(1).await;
    let mut d = Daemon::spawn(&[], &w.failsafe_env(&[("AUTOSCALE_SCALE_OUT_AFTER", "2")]));
    d.wait_for("a healthy check", Duration::from_secs(15), |l| {
        l.event() == Some("probe")
    })
    .await;
    // Exactly one check sees a 500.
    d.one_failed_check(&w).await;
    d.wait_more("probe", 3, Duration::from_secs(15)).await;
    assert!(w.api.patches().is_empty(), "{}", d.dump());
    // Two in a row do scale out.
    w.app.set_mode(Mode::Status(500)).await.unwrap();
    let scale = d
        .wait_for("the scale-out", Duration::from_secs(10), |l| {
            l.event() == Some("scale")
        })
        .await;
    assert_eq!(scale.get("reason"), Some("down"));
    let downs = d
        .events_named("probe")
        .iter()
        .filter(|p| p.get("outcome") == Some("down"))
        .count();
    assert!(downs >= 3, "{}", d.dump());
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn a_quantity_below_the_floor_is_healed_within_one_interval() {
    let w = World::new(2).await;
    let mut d = Daemon::spawn(
        &[],
        &w.failsafe_env(&[
            ("AUTOSCALE_SCHEDULE", "00:00=2"),
            ("AUTOSCALE_MANUAL_HOLD", "0"),
        ]),
    );
    d.wait_count("probe", 1, Duration::from_secs(15)).await;
    assert!(w.api.patches().is_empty());
    // Someone scaled down by hand, and holds are off.
    w.api.set_quantity(APP, "web", 0);
    let heal = d
        .wait_for("the floor healed", Duration::from_secs(8), |l| {
            l.event() == Some("scale")
        })
        .await;
    assert_eq!(heal.get("reason"), Some("floor"));
    assert_eq!((heal.get("from"), heal.get("to")), (Some("0"), Some("2")));
    assert_eq!(w.quantity(), 2);
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn a_429_during_a_scale_out_is_retried_and_checks_go_on() {
    let w = World::new(1).await;
    let mut d = Daemon::spawn(&[], &w.failsafe_env(&[]));
    d.wait_count("probe", 1, Duration::from_secs(15)).await;
    w.api.fail_next(
        Some("PATCH"),
        Fault::RateLimited {
            retry_after: Some(1),
        },
    );
    w.app.set_mode(Mode::Status(503)).await.unwrap();
    let scale = d
        .wait_for("the scale-out", Duration::from_secs(10), |l| {
            l.event() == Some("scale")
        })
        .await;
    assert_eq!(scale.get("result"), Some("ok"), "{}", d.dump());
    let patches = w.api.patches();
    assert_eq!(patches.len(), 2);
    assert_eq!((patches[0].status, patches[1].status), (429, 200));
    // Retry-After: 1 was honoured.
    let gap = patches[1].at - patches[0].at;
    assert!(gap >= Duration::from_millis(950), "{gap:?}");
    let err = &d.events_named("api_error")[0];
    assert_eq!(
        (err.get("status"), err.get("id")),
        (Some("429"), Some("rate_limit"))
    );
    d.wait_more("probe", 2, Duration::from_secs(10)).await;
    assert_eq!(w.quantity(), 3);
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn a_422_is_logged_once_per_message_and_checks_go_on() {
    // Eco dynos cannot go above 1: Heroku refuses every scale-out.
    let w = World::with_size(1, "Eco").await;
    let mut d = Daemon::spawn(&[], &w.failsafe_env(&[]));
    d.wait_count("probe", 1, Duration::from_secs(15)).await;
    w.app.set_mode(Mode::Status(500)).await.unwrap();
    until("three refused PATCHes", Duration::from_secs(15), || {
        w.api.patches().len() >= 3
    })
    .await;
    let failures: Vec<_> = d
        .events_named("scale")
        .into_iter()
        .filter(|l| l.get("result") == Some("error"))
        .collect();
    assert_eq!(
        failures.len(),
        1,
        "logged once, not at every check\n{}",
        d.dump()
    );
    assert_eq!(failures[0].get("status"), Some("422"));
    assert_eq!(
        failures[0].get("message"),
        Some("Cannot update to more than 1 Eco size dynos per process type.")
    );
    assert!(
        w.api.patches().iter().all(|p| p.status == 422),
        "not retried in a loop"
    );
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).await.code(), Some(0));
}

#[tokio::test]
async fn checks_default_to_the_apps_web_url_and_are_off_when_it_is_null() {
    let w = World::new(1).await;
    let mut env = w.failsafe_env(&[]);
    env.retain(|(k, _)| k != "AUTOSCALE_CHECK_URL");
    let mut d = Daemon::spawn(&[], &env);
    d.wait_count("probe", 1, Duration::from_secs(15)).await;
    assert_eq!(
        d.events_named("start")[0].get("check_url"),
        Some(w.app.url().as_str())
    );
    assert!(w.app.hits() >= 1);
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(10)).await;

    // An app with a null web_url: checks are off, with a warning; the schedule still runs.
    w.api.add_app("worker-only", None);
    w.api.add_formation("worker-only", "web", 1, "Basic");
    let env: Vec<(String, String)> = env
        .into_iter()
        .map(|(k, v)| {
            if k == "AUTOSCALE_APP" {
                (k, "worker-only".into())
            } else {
                (k, v)
            }
        })
        .collect();
    let mut d = Daemon::spawn(&[], &env);
    let off = d
        .wait_for("checks_off", Duration::from_secs(15), |l| {
            l.event() == Some("checks_off")
        })
        .await;
    assert_eq!(off.get("reason"), Some("no_web_url"));
    d.wait_for("start", Duration::from_secs(5), |l| {
        l.event() == Some("start")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await; // a check would have run by now
    assert!(d.events_named("probe").is_empty(), "{}", d.dump());
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(10)).await;
}
