//! Scaling on traffic, in-process and in paused time: the simulator's Logplex streams router
//! lines to a log session, the daemon's stream turns them into minutes, and the app's loop
//! scales on them. Every assertion is on what the fake API received and what was logged.

mod common;

use std::sync::Arc;
use std::time::Duration;

use autoscale::budget::{AppLoad, Budget};
use autoscale::clock::Clock;
use autoscale::config::field::*;
use autoscale::config::{Env, Raw, Target};
use autoscale::daemon::app::AppLoop;
use autoscale::daemon::stream::TrafficStream;
use autoscale::heroku::{ApiKey, Client, Retry};
use autoscale::notify::Notifier;
use autoscale::sim::{FakeHeroku, Fault, StreamMode};
use chrono::{DateTime, Utc};
use common::Captured;
use tokio_util::sync::CancellationToken;

const KEY: &str = "hk-traffic-test-secret";

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// The app `shop` (web at 1), a target with `extra` settings, and its loop and stream running
/// in paused time from 12:00:00.
struct Setup {
    api: FakeHeroku,
    clock: Clock,
    cancel: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    handle: autoscale::daemon::app::AppHandle,
}

async fn setup(extra: &str) -> Setup {
    setup_with(extra, |_| {}).await
}

/// [`setup`], with `prepare` run on the fake API before the loop and the stream start.
async fn setup_with(extra: &str, prepare: impl FnOnce(&FakeHeroku)) -> Setup {
    let api = FakeHeroku::start(KEY).await.unwrap();
    api.add_app("shop", None);
    api.add_formation("shop", "web", 1, "Standard-1X");
    prepare(&api);
    api.set_updated_at("shop", "web", at("2026-11-29T00:00:00Z"));
    let toml = format!(
        "[[target]]\napp = \"shop\"\nschedule = \"00:00=1\"\nmax = 6\ncheck_url = \"off\"\nscale_in_after = 3\n{extra}"
    );
    let targets: Vec<Target> =
        autoscale::config::targets(&Raw::from_pairs([(CONFIG, toml.as_str())]), &Env::default())
            .unwrap()
            .all;
    let client = Client::new(
        api.url().parse().unwrap(),
        &ApiKey::new(KEY.into()),
        Retry {
            attempts: 2,
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        },
        CancellationToken::new(),
    );
    let clock = Clock::virtual_at(at("2026-11-30T12:00:00Z"));
    let budget = Arc::new(Budget::new(
        2000,
        &[AppLoad {
            round: autoscale::daemon::app::round_of(&targets),
            edges_per_hour: 0.0,
        }],
        client.calls(),
    ));
    let mut app = AppLoop::new(targets, client.clone(), Notifier::disabled(), budget, clock);
    app.startup().await.unwrap();
    let handle = app.handle();
    let cancel = CancellationToken::new();
    let stream = TrafficStream {
        app: "shop".into(),
        client,
        http: autoscale::daemon::stream::stream_client(),
        handle: handle.clone(),
        clock,
        history: autoscale::history::HistoryHandle::off(),
        generation: None,
        start_after: Duration::ZERO,
    };
    let tasks = vec![
        tokio::spawn(app.run(cancel.clone())),
        tokio::spawn(stream.run(cancel.clone())),
    ];
    Setup {
        api,
        clock,
        cancel,
        tasks,
        handle,
    }
}

impl Setup {
    async fn stop(self) {
        self.cancel.cancel();
        for t in self.tasks {
            t.await.unwrap();
        }
    }

    fn quantity(&self) -> u32 {
        self.api.quantity("shop", "web").unwrap()
    }
}

async fn until(what: &str, limit: Duration, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn steady_load_scales_out_to_what_it_needs_and_back_after_calm_minutes() {
    let logs = Captured::default();
    let _guard = logs.install("info");
    let s = setup("concurrency = 2\nutilization = 0.5\n").await;
    until("the stream", Duration::from_secs(5), || {
        s.api.logplex().sessions() == 1
    })
    .await;
    // 600 requests a minute at 400 ms: busy 4; 2 at once per dyno, at half: 4 dynos.
    let started = tokio::time::Instant::now();
    let load = s
        .api
        .logplex()
        .feed("shop")
        .load(s.clock, 600, 400, vec![], 2);
    until("4 dynos", Duration::from_secs(300), || s.quantity() == 4).await;
    let took = started.elapsed();
    assert!(took <= Duration::from_secs(130), "{took:?}");
    let scale = &logs.events("scale")[0];
    assert_eq!(scale.get("reason"), Some("load"));
    assert_eq!((scale.get("from"), scale.get("to")), (Some("1"), Some("4")));
    let minute = logs
        .events("traffic")
        .into_iter()
        .find(|l| l.get("requests") == Some("600"))
        .unwrap();
    assert_eq!(minute.get("busy"), Some("4.00"));
    // The quantiles come from a fixed histogram (within 3 %).
    let p95: u32 = minute.get("p95_ms").unwrap().parse().unwrap();
    assert!((388..=412).contains(&p95), "{p95}");
    assert_eq!(minute.get("dynos"), Some("2"));
    // Steady: no flapping while it lasts.
    tokio::time::sleep(Duration::from_secs(300)).await;
    assert_eq!(s.api.patches().len(), 1, "{:?}", s.api.patches());
    // The load stops; three quiet minutes later (SCALE_IN_AFTER), back to the floor.
    load.abort();
    let stopped = tokio::time::Instant::now();
    until("back to the floor", Duration::from_secs(400), || {
        s.quantity() == 1
    })
    .await;
    let took = stopped.elapsed();
    assert!(
        (Duration::from_secs(180)..=Duration::from_secs(270)).contains(&took),
        "{took:?}\n{}",
        logs.text()
    );
    let scales = logs.events("scale");
    assert_eq!(scales.last().unwrap().get("reason"), Some("load"));
    // Every traffic minute was also a check.
    assert!(logs
        .events("probe")
        .iter()
        .all(|l| l.get("source") == Some("traffic")));
    s.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_minute_with_10_percent_h12s_scales_out_and_one_with_1_percent_does_not() {
    for (share, out) in [(0.01, false), (0.10, true)] {
        let logs = Captured::default();
        let _guard = logs.install("info");
        let s = setup("").await;
        until("the stream", Duration::from_secs(5), || {
            s.api.logplex().sessions() == 1
        })
        .await;
        let load = s
            .api
            .logplex()
            .feed("shop")
            .load(s.clock, 300, 120, vec![("H12", share)], 1);
        tokio::time::sleep(Duration::from_secs(200)).await;
        load.abort();
        let traffic = logs.events("traffic");
        assert!(
            traffic.iter().any(|l| l.get("h12").unwrap() != "0"),
            "{traffic:?}"
        );
        if out {
            assert_eq!(s.quantity(), 6, "share {share}");
            let scale = &logs.events("scale")[0];
            assert_eq!(scale.get("reason"), Some("down"));
            let probe = logs
                .events("probe")
                .into_iter()
                .find(|l| l.get("outcome") == Some("down"))
                .unwrap();
            assert_eq!(probe.get("source"), Some("traffic"));
            assert!(probe.get("error").unwrap().contains("h12="), "{probe:?}");
        } else {
            assert_eq!(s.quantity(), 1, "share {share}");
            assert!(s.api.patches().is_empty());
        }
        s.stop().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_stream_that_ends_stalls_or_sends_garbage_is_opened_again_and_the_schedule_goes_on() {
    let logs = Captured::default();
    let _guard = logs.install("info");
    let s = setup("concurrency = 2\nutilization = 0.5\n").await;
    until("the stream", Duration::from_secs(5), || {
        s.api.logplex().sessions() == 1
    })
    .await;
    let feed = s.api.logplex().feed("shop");
    let load = feed.load(s.clock, 60, 100, vec![], 1);
    // It ends after 5 lines: a new session follows (each one an API call).
    s.api.logplex().set_mode("shop", StreamMode::EndAfter(5));
    until("a second session", Duration::from_secs(60), || {
        s.api.logplex().sessions() >= 2
    })
    .await;
    let lost = logs.events("traffic_stream");
    assert!(
        lost.iter()
            .any(|l| l.get("state") == Some("lost") && l.get("reason") == Some("ended")),
        "{lost:?}"
    );
    // Garbage: counted, no minute, no panic.
    s.api.logplex().set_mode("shop", StreamMode::Garbage);
    tokio::time::sleep(Duration::from_secs(120)).await;
    // It stalls: after 30 minutes of nothing, a new session.
    s.api.logplex().set_mode("shop", StreamMode::Stall);
    let sessions = s.api.logplex().sessions();
    until(
        "a session after the stall",
        Duration::from_secs(31 * 60),
        || s.api.logplex().sessions() > sessions,
    )
    .await;
    assert!(logs
        .events("traffic_stream")
        .iter()
        .any(|l| l.get("reason") == Some("stalled")));
    load.abort();
    // Meanwhile the loop is at its floor, untouched by garbage; a manual edge still works.
    s.api.set_quantity("shop", "web", 1);
    s.handle.edge();
    let sessions_created = s
        .api
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/apps/shop/log-sessions")
        .count();
    assert!(sessions_created >= 3);
    let post = s
        .api
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&post.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"source": "heroku", "dyno_name": "router", "tail": true})
    );
    // The session's URL carries a token: never printed.
    let all = logs.text();
    assert!(!all.contains("s3cret-session-token"));
    s.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_refused_session_turns_traffic_off_and_is_asked_again_no_more_than_hourly() {
    let logs = Captured::default();
    let _guard = logs.install("info");
    let api_fault = |api: &FakeHeroku| {
        for _ in 0..5 {
            api.fail_path(
                "POST",
                "/apps/shop/log-sessions",
                Fault::Invalid("Log sessions are not available for Fir apps".into()),
            );
        }
    };
    let s = setup("").await;
    // The first session was asked for already; refuse the next ones.
    api_fault(&s.api);
    s.api.logplex().set_mode("shop", StreamMode::EndAfter(0));
    until("the refusal", Duration::from_secs(60), || {
        logs.events("traffic_stream")
            .iter()
            .any(|l| l.get("state") == Some("off"))
    })
    .await;
    let asked = || {
        s.api
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path == "/apps/shop/log-sessions")
            .count()
    };
    let after_refusal = asked();
    tokio::time::sleep(Duration::from_secs(59 * 60)).await;
    assert_eq!(asked(), after_refusal, "not asked again within the hour");
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(asked(), after_refusal + 1);
    let off = logs
        .events("traffic_stream")
        .into_iter()
        .find(|l| l.get("state") == Some("off"))
        .unwrap();
    assert_eq!(off.get("reason"), Some("refused"));
    assert_eq!(off.get("status"), Some("422"));
    s.stop().await;
}

/// A router line's clock is trusted only within a small skew of ours: one line dated 2099 once
/// made every later line look like a repeat after the next reconnect, the stream fell silent,
/// and the daemon scaled in on a load that had not changed.
#[tokio::test(start_paused = true)]
async fn a_future_dated_line_does_not_silence_the_stream_after_a_reconnect() {
    let logs = Captured::default();
    let _guard = logs.install("info");
    let s = setup("concurrency = 2\nutilization = 0.5\n").await;
    until("the stream", Duration::from_secs(5), || {
        s.api.logplex().sessions() == 1
    })
    .await;
    let feed = s.api.logplex().feed("shop");
    let _load = feed.load(s.clock, 600, 400, vec![], 2);
    until("4 dynos", Duration::from_secs(300), || s.quantity() == 4).await;
    // One line from the future, then the session ends and a new one begins.
    feed.emit(
        at("2099-01-01T00:00:00Z"),
        1,
        autoscale::sim::Request {
            service_ms: 10,
            status: 200,
            code: None,
        },
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    s.api.logplex().set_mode("shop", StreamMode::EndAfter(0));
    until("a new session", Duration::from_secs(60), || {
        s.api.logplex().sessions() >= 2
    })
    .await;
    s.api.logplex().set_mode("shop", StreamMode::Normal);
    let reconnected = logs.events("traffic").len();
    // The same load, five more minutes: still measured, still 4 dynos.
    tokio::time::sleep(Duration::from_secs(300)).await;
    let after: Vec<_> = logs
        .events("traffic")
        .into_iter()
        .skip(reconnected)
        .collect();
    assert!(
        after
            .iter()
            .filter(|l| l.get("requests").and_then(|r| r.parse::<u32>().ok()) >= Some(500))
            .count()
            >= 3,
        "the stream went silent after the reconnect: {after:?}"
    );
    assert_eq!(s.quantity(), 4, "{}", logs.text());
    assert!(
        !logs
            .events("scale")
            .iter()
            .any(|l| l.get("to") == Some("1")),
        "scaled in on an unchanged load"
    );
    s.stop().await;
}

/// A stream of Server-Sent Events (Fir's log streams; what the Heroku CLI asks for) reads as
/// well as plain lines: the stream asks for events, and the response's content type decides.
#[tokio::test(start_paused = true)]
async fn a_stream_of_server_sent_events_scales_on_load_like_plain_lines() {
    let logs = Captured::default();
    let _guard = logs.install("info");
    let s = setup("concurrency = 2\nutilization = 0.5\n").await;
    until("the first stream", Duration::from_secs(5), || {
        s.api.logplex().sessions() == 1
    })
    .await;
    // From the next session on, events: end the plain one.
    s.api.logplex().set_sse("shop", true);
    s.api.logplex().set_mode("shop", StreamMode::EndAfter(0));
    let feed = s.api.logplex().feed("shop");
    let _load = feed.load(s.clock, 600, 400, vec![], 2);
    until("an event stream", Duration::from_secs(60), || {
        s.api.logplex().sessions() >= 2
    })
    .await;
    s.api.logplex().set_mode("shop", StreamMode::Normal);
    until("4 dynos", Duration::from_secs(400), || s.quantity() == 4).await;
    let minute = logs
        .events("traffic")
        .into_iter()
        .find(|l| l.get("requests") == Some("600"))
        .expect("a whole minute read from events");
    assert_eq!(minute.get("busy"), Some("4.00"));
    assert_eq!(minute.get("dynos"), Some("2"));
    // The keep-alive comments and ids are framing, never garbage.
    let lost: Vec<_> = logs
        .events("traffic_stream")
        .into_iter()
        .filter(|l| l.get("garbage").is_some_and(|g| g != "0"))
        .collect();
    assert!(lost.is_empty(), "{lost:?}");
    assert!(s
        .api
        .logplex()
        .accepts()
        .iter()
        .all(|a| a.starts_with("text/event-stream")));
    s.stop().await;
}

/// A log session whose URL is plain http to another host is never opened: its token would
/// cross a network in clear text. Traffic is off for the app (said once), asked again hourly.
#[tokio::test(start_paused = true)]
async fn a_plain_http_session_url_to_another_host_is_not_opened() {
    let logs = Captured::default();
    let _guard = logs.install("info");
    let s = setup("").await;
    until("the first stream", Duration::from_secs(5), || {
        s.api.logplex().sessions() == 1
    })
    .await;
    // `.invalid` never resolves: nothing could leave this machine even if it were opened.
    s.api.set_logplex_url(Some(
        "http://logplex.invalid/sessions/shop/1?sig=s3cret-session-token",
    ));
    s.api.logplex().set_mode("shop", StreamMode::EndAfter(0));
    // The open stream ends at its next line.
    s.api.logplex().feed("shop").emit(
        s.clock.now(),
        1,
        autoscale::sim::Request {
            service_ms: 10,
            status: 200,
            code: None,
        },
    );
    until("traffic off", Duration::from_secs(120), || {
        logs.events("traffic_stream")
            .iter()
            .any(|l| l.get("state") == Some("off"))
    })
    .await;
    let off = logs
        .events("traffic_stream")
        .into_iter()
        .find(|l| l.get("state") == Some("off"))
        .unwrap();
    assert_eq!(off.get("reason"), Some("insecure"));
    // Not asked again for an hour, and the URL's token never printed.
    let asked = || {
        s.api
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path == "/apps/shop/log-sessions")
            .count()
    };
    let now = asked();
    tokio::time::sleep(Duration::from_secs(50 * 60)).await;
    assert_eq!(asked(), now);
    assert!(!logs.text().contains("s3cret-session-token"));
    assert!(!logs.text().contains("logplex.invalid"));
    assert!(!logs
        .events("traffic_stream")
        .iter()
        .any(|l| l.get("reason") == Some("connect")));
    s.stop().await;
}

/// A Fir app: its generation read once, its sessions created as the Heroku CLI creates a Fir
/// app's (`version=3.sdk`, `{source, dyno, type}`), its Server-Sent Events of `heroku-router`
/// lines with pod-named dynos read, and each session replaced before Fir ends it (15 minutes)
/// without losing or doubling a minute.
#[tokio::test(start_paused = true)]
async fn a_fir_app_s_sessions_are_renewed_before_they_end_without_losing_a_minute() {
    let logs = Captured::default();
    let _guard = logs.install("info");
    let s = setup_with("concurrency = 2\nutilization = 0.5\n", |api| {
        api.set_fir("shop", Duration::from_secs(15 * 60));
    })
    .await;
    until("the stream", Duration::from_secs(5), || {
        s.api.logplex().sessions() == 1
    })
    .await;
    let _load = s
        .api
        .logplex()
        .feed("shop")
        .load(s.clock, 600, 400, vec![], 2);
    // 46 minutes: three renewals (at 14, 28 and 42 minutes).
    tokio::time::sleep(Duration::from_secs(46 * 60)).await;
    assert_eq!(s.quantity(), 4, "{}", logs.text());
    let requests = s.api.requests();
    let sessions: Vec<_> = requests
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/apps/shop/log-sessions")
        .collect();
    assert_eq!(sessions.len(), 4, "{sessions:?}");
    for r in &sessions {
        assert_eq!(
            r.header("accept"),
            Some("application/vnd.heroku+json; version=3.sdk")
        );
        assert_eq!(r.body, "{}");
        assert_eq!(r.status, 201);
    }
    let app_reads = requests
        .iter()
        .filter(|r| r.method == "GET" && r.path == "/apps/shop")
        .count();
    assert_eq!(app_reads, 1);
    assert_eq!(s.api.logplex().sessions(), 4);
    let renewed = logs
        .events("traffic_stream")
        .into_iter()
        .filter(|l| l.get("state") == Some("connected") && l.get("reason") == Some("renewed"))
        .count();
    assert_eq!(renewed, 3, "{}", logs.text());
    let warned: Vec<_> = logs
        .events("traffic_stream")
        .into_iter()
        .filter(|l| l.get("level") != Some("info"))
        .collect();
    assert!(warned.is_empty(), "{warned:?}");
    // Every whole minute has its 600 requests, from 2 dynos named like Fir's pods: none lost
    // to a renewal, none counted twice.
    let minutes = logs.events("traffic");
    assert!(minutes.len() >= 44, "{}", minutes.len());
    for m in &minutes[1..minutes.len() - 1] {
        assert_eq!(
            (m.get("requests"), m.get("dynos"), m.get("process")),
            (Some("600"), Some("2"), Some("web")),
            "{m:?}"
        );
    }
    s.stop().await;
}

/// A Fir stream that ends by itself after living its length has expired: a new session at
/// once, said at info level, and no minute read as a lost stream.
#[tokio::test(start_paused = true)]
async fn a_fir_stream_that_expires_is_replaced_at_once_and_quietly() {
    let logs = Captured::default();
    let _guard = logs.install("info");
    let s = setup_with("", |api| {
        api.set_fir("shop", Duration::from_secs(11 * 60));
    })
    .await;
    let _load = s
        .api
        .logplex()
        .feed("shop")
        .load(s.clock, 60, 100, vec![], 1);
    tokio::time::sleep(Duration::from_secs(25 * 60)).await;
    assert_eq!(s.api.logplex().sessions(), 3, "{}", logs.text());
    let stream = logs.events("traffic_stream");
    let expired: Vec<_> = stream
        .iter()
        .filter(|l| l.get("reason") == Some("expired"))
        .collect();
    assert_eq!(expired.len(), 2, "{}", logs.text());
    assert!(
        stream.iter().all(|l| l.get("level") == Some("info")),
        "{stream:?}"
    );
    s.stop().await;
}
