//! The reconciler in-process, against the simulator, in paused time: a day of schedule passes
//! in milliseconds, and every assertion is on what the fake Heroku API received and what the
//! loop logged.

mod common;

use std::sync::Arc;
use std::time::Duration;

use autoscale::budget::{AppLoad, Budget};
use autoscale::clock::Clock;
use autoscale::config::field::*;
use autoscale::config::{Env, Raw, Target};
use autoscale::daemon::app::AppLoop;
use autoscale::heroku::{ApiKey, Client, Retry};
use autoscale::logfmt::Line;
use autoscale::notify::Notifier;
use autoscale::sim::{FakeApp, FakeHeroku, Fault, Mode, Recorded};
use chrono::{DateTime, Utc};
use common::Captured;
use tokio_util::sync::CancellationToken;

const KEY: &str = "hk-reconcile-test-secret";

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn targets(toml: &str) -> Vec<Target> {
    let raw = Raw::from_pairs([(CONFIG, toml)]);
    autoscale::config::targets(&raw, &Env::default())
        .unwrap()
        .all
}

fn client(api: &FakeHeroku) -> Client {
    Client::new(
        api.url().parse().unwrap(),
        &ApiKey::new(KEY.into()),
        Retry {
            attempts: 2,
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        },
        CancellationToken::new(),
    )
}

fn budget(client: &Client, per_hour: u32, targets: &[Target]) -> Arc<Budget> {
    let load = AppLoad {
        round: autoscale::daemon::app::round_of(targets),
        edges_per_hour: 0.0,
    };
    Arc::new(Budget::new(per_hour, &[load], client.calls()))
}

/// Waits (in paused time, small steps) until `cond`, at most `limit` of virtual time.
async fn until(what: &str, limit: Duration, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn is_list_read(r: &Recorded, app: &str) -> bool {
    r.method == "GET" && r.path == format!("/apps/{app}/formation")
}

const TWO_TARGETS: &str = r#"
[defaults]
app = "shop"
check_url = "off"

[[target]]
process = "web"
schedule = "07:00=3; 22:00=2; 03:00=1"

[[target]]
process = "worker"
schedule = "07:30=4; 18:00=1"
"#;

fn shop(api: &FakeHeroku, web: u32, worker: u32) {
    api.add_app("shop", None);
    api.add_formation("shop", "web", web, "Standard-1X");
    api.add_formation("shop", "worker", worker, "Standard-1X");
    // Last changed long before the latest edges: nothing was set by hand.
    for p in ["web", "worker"] {
        api.set_updated_at("shop", p, at("2026-11-29T00:00:00Z"));
    }
}

#[tokio::test(start_paused = true)]
async fn two_targets_of_one_app_scale_at_their_own_edges_with_one_read_per_round() {
    let logs = Captured::default();
    let _guard = logs.install("info");
    let api = FakeHeroku::start(KEY).await.unwrap();
    shop(&api, 1, 1);
    let targets = targets(TWO_TARGETS);
    let client = client(&api);
    let clock = Clock::virtual_at(at("2026-12-01T06:59:00Z"));
    let mut app = AppLoop::new(
        targets.clone(),
        client.clone(),
        Notifier::disabled(),
        budget(&client, 2000, &targets),
        clock,
    );
    app.startup().await.unwrap();
    // At 06:59 both are at their floor (web 1 from 03:00, worker 1 from 18:00): one read,
    // nothing to change.
    let requests = api.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(is_list_read(&requests[0], "shop"));
    assert!(api.patches().is_empty());
    let skips = logs.events("scale_skip");
    assert_eq!(skips.len(), 2);
    assert!(skips.iter().all(|l| l.get("reason") == Some("at_target")));
    assert_eq!(skips[1].get("process"), Some("worker"));

    let handle = app.handle();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(app.run(cancel.clone()));

    // 07:00: the web's edge, and only the web moves.
    tokio::time::sleep_until(clock.instant_of(at("2026-12-01T07:00:00Z"))).await;
    handle.edge();
    until("the web's PATCH", Duration::from_secs(5), || {
        api.patches().len() == 1
    })
    .await;
    let p = &api.patches()[0];
    assert_eq!(p.path, "/apps/shop/formation/web");
    assert_eq!(p.body, r#"{"quantity":3}"#);
    assert_eq!(api.quantity("shop", "worker"), Some(1));

    // 07:30: the worker's.
    tokio::time::sleep_until(clock.instant_of(at("2026-12-01T07:30:00Z"))).await;
    handle.edge();
    until("the worker's PATCH", Duration::from_secs(5), || {
        api.patches().len() == 2
    })
    .await;
    let p = &api.patches()[1];
    assert_eq!(p.path, "/apps/shop/formation/worker");
    assert_eq!(p.body, r#"{"quantity":4}"#);
    assert_eq!(api.quantity("shop", "web"), Some(3));

    // Every request was the list (one per round, for both targets) or a PATCH, and every
    // PATCH came right after a read of the list.
    let requests = api.requests();
    for (i, r) in requests.iter().enumerate() {
        assert!(is_list_read(r, "shop") || r.method == "PATCH", "{r:?}");
        if r.method == "PATCH" {
            assert!(is_list_read(&requests[i - 1], "shop"), "{requests:?}");
        }
        assert_eq!(
            r.header("accept"),
            Some("application/vnd.heroku+json; version=3")
        );
    }
    // Reads between the edges follow the round (3 minutes, both targets' interval): about
    // ten in half an hour, one list each time, never one per target.
    let reads = requests.iter().filter(|r| is_list_read(r, "shop")).count();
    assert!((10..=14).contains(&reads), "{reads} reads in 31 minutes");
    let scales = logs.events("scale");
    assert_eq!(scales.len(), 2);
    assert_eq!(scales[0].get("reason"), Some("schedule"));
    assert_eq!(scales[1].get("process"), Some("worker"));
    cancel.cancel();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn reads_use_the_etag_and_a_304_serves_the_cached_list() {
    let api = FakeHeroku::start(KEY).await.unwrap();
    shop(&api, 1, 1);
    let targets = targets(TWO_TARGETS);
    let client = client(&api);
    let clock = Clock::virtual_at(at("2026-12-01T08:00:00Z"));
    let mut app = AppLoop::new(
        targets.clone(),
        client.clone(),
        Notifier::disabled(),
        budget(&client, 2000, &targets),
        clock,
    );
    app.startup().await.unwrap();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(app.run(cancel.clone()));
    // Startup scaled both up (web 3 from 07:00, worker 4 from 07:30) in one batch PATCH.
    until("four reads", Duration::from_secs(800), || {
        api.requests()
            .iter()
            .filter(|r| is_list_read(r, "shop"))
            .count()
            >= 5
    })
    .await;
    cancel.cancel();
    task.await.unwrap();
    let requests = api.requests();
    let batch: Vec<&Recorded> = requests.iter().filter(|r| r.method == "PATCH").collect();
    assert_eq!(batch.len(), 1, "{requests:?}");
    assert_eq!(batch[0].path, "/apps/shop/formation");
    let body: serde_json::Value = serde_json::from_str(&batch[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"updates": [{"type": "web", "quantity": 3}, {"type": "worker", "quantity": 4}]})
    );
    assert_eq!(batch[0].header("content-type"), Some("application/json"));
    let reads: Vec<&Recorded> = requests
        .iter()
        .filter(|r| is_list_read(r, "shop"))
        .collect();
    // The first read has no ETag; after the PATCH the cache's ETag is dropped (the list
    // changed), so the next read is plain too; the ones after send it and get 304.
    assert_eq!(reads[0].header("if-none-match"), None);
    assert!(reads[2].header("if-none-match").is_some(), "{reads:?}");
    assert!(reads[2..].iter().all(|r| r.status == 304), "{reads:?}");
}

const THREE_APPS: &str = r#"
[defaults]
check_url = "off"
schedule = "07:00=3; 22:00=1"

[[target]]
app = "alpha"
[[target]]
app = "alpha"
process = "worker"
[[target]]
app = "ghost"
[[target]]
app = "ghost"
process = "worker"
[[target]]
app = "gamma"
[[target]]
app = "gamma"
process = "worker"
schedule = "07:00=2; 22:00=1"
"#;

#[tokio::test(start_paused = true)]
async fn a_missing_app_disables_its_targets_and_the_others_go_on_with_batch_patches() {
    let logs = Captured::default();
    let _guard = logs.install("info");
    let api = FakeHeroku::start(KEY).await.unwrap();
    for app in ["alpha", "gamma"] {
        api.add_app(app, None);
        api.add_formation(app, "web", 1, "Standard-1X");
        api.add_formation(app, "worker", 1, "Standard-1X");
        for p in ["web", "worker"] {
            api.set_updated_at(app, p, at("2026-11-29T00:00:00Z"));
        }
    }
    let all = targets(THREE_APPS);
    let client = client(&api);
    let clock = Clock::virtual_at(at("2026-12-01T06:59:50Z"));
    let mut handles = Vec::new();
    let cancel = CancellationToken::new();
    let mut tasks = Vec::new();
    for app in ["alpha", "ghost", "gamma"] {
        let mine: Vec<Target> = all.iter().filter(|t| t.app == app).cloned().collect();
        let mut l = AppLoop::new(
            mine.clone(),
            client.clone(),
            Notifier::disabled(),
            budget(&client, 2000, &mine),
            clock,
        );
        l.startup().await.unwrap();
        assert_eq!(l.all_disabled(), app == "ghost", "{app}");
        handles.push(l.handle());
        tasks.push(tokio::spawn(l.run(cancel.clone())));
    }
    let disabled = logs.events("target_disabled");
    assert_eq!(disabled.len(), 2);
    assert!(disabled.iter().all(|l| l.get("app") == Some("ghost")));
    tokio::time::sleep_until(clock.instant_of(at("2026-12-01T07:00:00Z"))).await;
    for h in &handles {
        h.edge();
    }
    until("both apps scaled", Duration::from_secs(5), || {
        api.patches().len() == 2
    })
    .await;
    let patches = api.patches();
    for (p, app, web, worker) in [(&patches[0], "alpha", 3, 3), (&patches[1], "gamma", 3, 2)] {
        assert_eq!(p.path, format!("/apps/{app}/formation"));
        let body: serde_json::Value = serde_json::from_str(&p.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"updates": [{"type": "web", "quantity": web}, {"type": "worker", "quantity": worker}]})
        );
    }
    assert_eq!(api.quantity("gamma", "worker"), Some(2));
    // The missing app was asked once at startup, never again.
    let ghost = api
        .requests()
        .iter()
        .filter(|r| r.path.contains("ghost"))
        .count();
    assert_eq!(ghost, 1);
    cancel.cancel();
    for t in tasks {
        t.await.unwrap();
    }
}

const CHECKED: &str = r#"
[[target]]
app = "shop"
schedule = "07:00=3; 22:00=2; 03:00=1"
check_interval = "1m"
check_timeout = "2s"
slow = "1s"
fast = "500ms"
max = 5
"#;

fn checked_target(app: &FakeApp) -> Vec<Target> {
    let text = format!("{CHECKED}check_url = \"{}\"\n", app.url());
    targets(&text)
}

/// Runs checks for `target` 0 of `app_loop`'s handle every minute of virtual time.
async fn check_once(target: &Target, handle: &autoscale::daemon::app::AppHandle) {
    let prober = autoscale::probe::Prober::for_settings(
        autoscale::probe::shared_client(),
        match &target.check.url {
            autoscale::config::CheckUrl::Url(u) => u.clone(),
            other => panic!("{other:?}"),
        },
        &target.check,
    );
    let probe = prober.probe().await;
    handle.check(0, probe, 0);
}

#[tokio::test(start_paused = true)]
async fn a_scale_in_edge_missed_while_stopped_is_applied_once_the_app_is_healthy() {
    let logs = Captured::default();
    let _guard = logs.install("info");
    let api = FakeHeroku::start(KEY).await.unwrap();
    let fake = FakeApp::start().await.unwrap();
    api.add_app("shop", Some(&fake.url()));
    // 3 dynos since 21:00; the 22:00 edge (to 2) was missed: the daemon was stopped.
    api.add_formation("shop", "web", 3, "Standard-1X");
    api.set_updated_at("shop", "web", at("2026-11-30T21:00:00Z"));
    let targets = checked_target(&fake);
    let client = client(&api);
    let clock = Clock::virtual_at(at("2026-11-30T23:00:00Z"));
    let mut app = AppLoop::new(
        targets.clone(),
        client.clone(),
        Notifier::disabled(),
        budget(&client, 2000, &targets),
        clock,
    );
    app.startup().await.unwrap();
    // Nothing yet: a scale-in waits for a check to say the app is healthy.
    assert!(api.patches().is_empty());
    let handle = app.handle();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(app.run(cancel.clone()));
    check_once(&targets[0], &handle).await;
    until("the missed edge applied", Duration::from_secs(5), || {
        api.patches().len() == 1
    })
    .await;
    assert_eq!(api.patches()[0].body, r#"{"quantity":2}"#);
    let scale = &logs.events("scale")[0];
    assert_eq!(scale.get("reason"), Some("schedule"));
    assert_eq!((scale.get("from"), scale.get("to")), (Some("3"), Some("2")));
    cancel.cancel();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_quantity_set_after_the_latest_edge_is_held_and_the_schedule_resumes_after_the_hold() {
    let logs = Captured::default();
    let _guard = logs.install("info");
    let api = FakeHeroku::start(KEY).await.unwrap();
    let fake = FakeApp::start().await.unwrap();
    api.add_app("shop", Some(&fake.url()));
    // Set to 4 by hand at 22:30, after the 22:00 edge (to 2).
    api.add_formation("shop", "web", 4, "Standard-1X");
    api.set_updated_at("shop", "web", at("2026-11-30T22:30:00Z"));
    let targets = checked_target(&fake);
    let client = client(&api);
    let clock = Clock::virtual_at(at("2026-11-30T23:00:00Z"));
    let mut app = AppLoop::new(
        targets.clone(),
        client.clone(),
        Notifier::disabled(),
        budget(&client, 2000, &targets),
        clock,
    );
    app.startup().await.unwrap();
    let hold = &logs.events("hold")[0];
    assert_eq!(hold.get("reason"), Some("manual"));
    assert_eq!(hold.get("quantity"), Some("4"));
    assert_eq!(hold.get("until"), Some("2026-11-30T23:30:00Z"));
    let handle = app.handle();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(app.run(cancel.clone()));
    // Fast checks during the hold: nothing moves.
    for _ in 0..10 {
        check_once(&targets[0], &handle).await;
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    assert!(api.patches().is_empty(), "{:?}", api.patches());
    assert!(logs
        .events("scale_skip")
        .iter()
        .any(|l| l.get("reason") == Some("hold")));
    // 23:30: the hold ends and the schedule (2) resumes with the next healthy check.
    tokio::time::sleep_until(clock.instant_of(at("2026-11-30T23:30:01Z"))).await;
    check_once(&targets[0], &handle).await;
    until("the schedule resumed", Duration::from_secs(120), || {
        api.patches().len() == 1
    })
    .await;
    assert_eq!(api.patches()[0].body, r#"{"quantity":2}"#);
    assert_eq!(logs.events("hold_end").len(), 1);
    cancel.cancel();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn with_a_slow_api_checks_are_merged_and_a_failure_is_acted_on_at_the_next_round() {
    let logs = Captured::default();
    let _guard = logs.install("info");
    let api = FakeHeroku::start(KEY).await.unwrap();
    let fake = FakeApp::start().await.unwrap();
    api.add_app("shop", Some(&fake.url()));
    api.add_formation("shop", "web", 1, "Standard-1X");
    api.set_updated_at("shop", "web", at("2026-11-29T00:00:00Z"));
    let targets = checked_target(&fake);
    let client = client(&api);
    let clock = Clock::virtual_at(at("2026-11-30T05:00:00Z"));
    let mut app = AppLoop::new(
        targets.clone(),
        client.clone(),
        Notifier::disabled(),
        budget(&client, 2000, &targets),
        clock,
    );
    app.startup().await.unwrap();
    let handle = app.handle();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(app.run(cancel.clone()));
    // Every formation read now takes 15 s (the client's timeout is 20 s).
    for _ in 0..20 {
        api.fail_path(
            "GET",
            "/apps/shop/formation",
            Fault::Delay(Duration::from_secs(15)),
        );
    }
    // The next periodic read starts a minute after startup and hangs for 15 s...
    tokio::time::sleep(Duration::from_secs(61)).await;
    // ... while fast checks arrive every second...
    for _ in 0..10 {
        check_once(&targets[0], &handle).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // ... then the app fails.
    fake.set_mode(Mode::Status(500)).await.unwrap();
    let failed_at = tokio::time::Instant::now();
    check_once(&targets[0], &handle).await;
    until("the scale-out", Duration::from_secs(60), || {
        api.patches().len() == 1
    })
    .await;
    // Acted on within two slow reads (the one in flight, the one before the PATCH), not after
    // a queue of stale results each with its own read.
    assert!(
        failed_at.elapsed() <= Duration::from_secs(31),
        "{:?}",
        failed_at.elapsed()
    );
    assert_eq!(api.patches()[0].body, r#"{"quantity":5}"#);
    let probes = logs.events("probe");
    assert!(
        probes.iter().any(|l| l.get("merged").is_some()),
        "merged checks are said"
    );
    cancel.cancel();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_low_budget_stretches_reads_and_every_patch_still_follows_a_fresh_read() {
    let api = FakeHeroku::start(KEY).await.unwrap();
    // The apps are down from the start (nothing listens on port 1: each check is refused at
    // once, so an hour of checks every second costs little real time).
    let mut toml = String::from(
        "[defaults]\nschedule = \"00:00=1\"\nmax = 2\ncheck_interval = \"1s\"\ncheck_timeout = \"1s\"\nslow = \"500ms\"\nfast = \"100ms\"\ncheck_url = \"http://127.0.0.1:1/\"\n",
    );
    let apps: Vec<String> = (0..20).map(|i| format!("app-{i:02}")).collect();
    for app in &apps {
        api.add_app(app, None);
        api.add_formation(app, "web", 1, "Standard-1X");
        api.set_updated_at(app, "web", at("2026-11-29T00:00:00Z"));
        toml.push_str(&format!("[[target]]\napp = \"{app}\"\n"));
    }
    let raw = Raw::from_pairs([
        (HEROKU_API_KEY, KEY),
        (HEROKU_API_URL, api.url().as_str()),
        (API_BUDGET, "60"),
        (CONFIG, toml.as_str()),
        // Never the default history in the working directory: a test writes only to its own.
        (HISTORY, "off"),
    ]);
    let config = autoscale::config::resolve(&raw, &Env::default()).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<&'static str>();
    let clock = Clock::virtual_at(at("2026-12-01T12:00:00Z"));
    let daemon = tokio::spawn(autoscale::daemon::run_with(
        config,
        &[],
        async move { stopped.await.unwrap_or("SIGTERM") },
        autoscale::daemon::Clocks::one(clock),
    ));
    // Every app is down at its first check: 20 scale-outs, each PATCH right after a read of
    // its formation.
    until("20 scale-outs", Duration::from_secs(60), || {
        api.patches().len() == 20
    })
    .await;
    let requests = api.requests();
    for (i, r) in requests.iter().enumerate() {
        if r.method != "PATCH" {
            continue;
        }
        let app = r.path.split('/').nth(2).unwrap();
        // The last request about this app's formation (a release look-up may come between).
        let before = requests[..i]
            .iter()
            .rev()
            .find(|q| q.path.starts_with(&format!("/apps/{app}/formation")))
            .unwrap();
        assert!(is_list_read(before, app), "{r:?} after {before:?}");
    }
    let reads = || {
        api.requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path.ends_with("/formation"))
            .count()
    };
    let before = reads();
    // 25 minutes of checks every second on 20 apps. The budget allows 60 calls an hour, a
    // tenth kept for writes: 54 reads an hour, each app every ~22 minutes (a read per check
    // would be 72,000 an hour).
    tokio::time::sleep(Duration::from_secs(25 * 60)).await;
    let read = reads() - before;
    assert!(
        read <= 25,
        "{read} reads in 25 minutes with a budget of 60 an hour"
    );
    assert!(read >= 15, "{read}: every app is still read now and then");
    stop.send("SIGTERM").unwrap();
    daemon.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_pause_decides_and_logs_but_sends_nothing_until_it_ends() {
    let logs = Captured::default();
    let _guard = logs.install("info");
    let api = FakeHeroku::start(KEY).await.unwrap();
    shop(&api, 1, 1);
    let text = TWO_TARGETS.replace(
        "[defaults]\n",
        "[defaults]\npause_until = \"2026-12-01T07:10:00Z\"\n",
    );
    let targets = targets(&text);
    let client = client(&api);
    let clock = Clock::virtual_at(at("2026-12-01T06:59:00Z"));
    let mut app = AppLoop::new(
        targets.clone(),
        client.clone(),
        Notifier::disabled(),
        budget(&client, 2000, &targets),
        clock,
    );
    app.startup().await.unwrap();
    let holds = logs.events("hold");
    assert_eq!(holds.len(), 2);
    assert!(holds.iter().all(
        |h| h.get("reason") == Some("pause") && h.get("until") == Some("2026-12-01T07:10:00Z")
    ));
    let handle = app.handle();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(app.run(cancel.clone()));
    // The 07:00 edge is decided and logged as paused; nothing is sent.
    tokio::time::sleep_until(clock.instant_of(at("2026-12-01T07:00:00Z"))).await;
    handle.edge();
    until("the paused scale", Duration::from_secs(5), || {
        !logs.events("scale").is_empty()
    })
    .await;
    let scale = &logs.events("scale")[0];
    assert_eq!(scale.get("result"), Some("paused"));
    assert_eq!((scale.get("from"), scale.get("to")), (Some("1"), Some("3")));
    assert!(api.patches().is_empty());
    // 07:10: the pause ends, and what should run now is applied.
    until("the pause's end", Duration::from_secs(700), || {
        api.patches().len() == 1
    })
    .await;
    assert!(clock.now() >= at("2026-12-01T07:10:00Z"));
    assert_eq!(api.patches()[0].body, r#"{"quantity":3}"#);
    assert_eq!(logs.events("hold_end").len(), 2);
    cancel.cancel();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn unhealthy_checks_right_after_a_release_do_not_scale_out_until_the_grace_is_over() {
    let logs = Captured::default();
    let _guard = logs.install("info");
    let api = FakeHeroku::start(KEY).await.unwrap();
    let fake = FakeApp::start().await.unwrap();
    api.add_app("shop", Some(&fake.url()));
    api.add_formation("shop", "web", 1, "Standard-1X");
    api.set_updated_at("shop", "web", at("2026-11-29T00:00:00Z"));
    let targets = checked_target(&fake);
    let client = client(&api);
    let clock = Clock::virtual_at(at("2026-11-30T05:00:00Z"));
    let hooks = autoscale::sim::Receiver::start().await.unwrap();
    let alerts = tokio_util::task::TaskTracker::new();
    let notify = autoscale::config::notify::resolve(&Raw::from_pairs([(
        NOTIFY_WEBHOOK,
        hooks.url("/hook").as_str(),
    )]))
    .unwrap();
    let notifier = autoscale::notify::start(
        &notify,
        &alerts,
        autoscale::history::HistoryHandle::off(),
        clock,
    );
    let mut app = AppLoop::new(
        targets.clone(),
        client.clone(),
        notifier,
        budget(&client, 2000, &targets),
        clock,
    );
    app.startup().await.unwrap();
    let handle = app.handle();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(app.run(cancel.clone()));
    // A deploy seconds ago; the app answers 503 while its new dynos boot.
    api.add_release(
        "shop",
        clock.now() - chrono::Duration::seconds(5),
        "Deploy 4f2a9c1",
    );
    fake.set_mode(Mode::Status(503)).await.unwrap();
    for _ in 0..2 {
        check_once(&targets[0], &handle).await;
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    assert!(api.patches().is_empty(), "no scale-out within the grace");
    let skips = logs.events("scale_skip");
    assert!(
        skips.iter().any(|l| l.get("reason") == Some("deploy")),
        "{skips:?}"
    );
    let hold = logs.events("hold");
    assert_eq!(hold[0].get("reason"), Some("deploy"));
    assert_eq!(hold[0].get("until"), Some("2026-11-30T05:02:55Z"));
    // The release was asked for with a range and an ETag the second time.
    let asked: Vec<Recorded> = api
        .requests()
        .into_iter()
        .filter(|r| r.path == "/apps/shop/releases")
        .collect();
    assert_eq!(asked.len(), 2);
    assert_eq!(
        asked[0].header("range"),
        Some("version ..; order=desc, max=1")
    );
    assert!(asked[1].header("if-none-match").is_some());
    assert_eq!(asked[1].status, 304);
    // Still unhealthy past the grace: out, and it says it was a deploy.
    tokio::time::sleep_until(clock.instant_of(at("2026-11-30T05:03:00Z"))).await;
    check_once(&targets[0], &handle).await;
    until("the scale-out", Duration::from_secs(5), || {
        api.patches().len() == 1
    })
    .await;
    assert_eq!(api.patches()[0].body, r#"{"quantity":5}"#);
    until("the alert", Duration::from_secs(5), || {
        !hooks.received().is_empty()
    })
    .await;
    let alert: serde_json::Value = serde_json::from_str(&hooks.received()[0].body).unwrap();
    assert_eq!(alert["event"], "scale_out");
    let text = alert["message"].as_str().unwrap();
    assert!(
        text.contains("after release v1 (Deploy 4f2a9c1")
            && text.contains("past the deploy grace of 3m"),
        "{text}"
    );
    cancel.cancel();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_refusal_during_preboot_is_asked_again_every_15_seconds() {
    let logs = Captured::default();
    let _guard = logs.install("info");
    let api = FakeHeroku::start(KEY).await.unwrap();
    shop(&api, 1, 1);
    let targets = targets(TWO_TARGETS);
    let client = client(&api);
    let clock = Clock::virtual_at(at("2026-12-01T06:59:30Z"));
    let mut app = AppLoop::new(
        targets.clone(),
        client.clone(),
        Notifier::disabled(),
        budget(&client, 2000, &targets),
        clock,
    );
    app.startup().await.unwrap();
    let handle = app.handle();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(app.run(cancel.clone()));
    let refusal =
        "Cannot change formation for a preboot app until release phase and preboot complete";
    for _ in 0..2 {
        api.fail_path(
            "PATCH",
            "/apps/shop/formation/web",
            Fault::Invalid(refusal.into()),
        );
    }
    tokio::time::sleep_until(clock.instant_of(at("2026-12-01T07:00:00Z"))).await;
    let edge_at = tokio::time::Instant::now();
    handle.edge();
    until("the third PATCH", Duration::from_secs(60), || {
        api.patches().len() == 3
    })
    .await;
    let patches = api.patches();
    assert_eq!(
        patches.iter().map(|p| p.status).collect::<Vec<_>>(),
        [422, 422, 200]
    );
    // Two waits of 15 s, not a 3-minute round each.
    let took = edge_at.elapsed();
    assert!(
        (Duration::from_secs(30)..Duration::from_secs(40)).contains(&took),
        "{took:?}"
    );
    assert_eq!(api.quantity("shop", "web"), Some(3));
    // The same refusal is said once.
    let failed: Vec<Line> = logs
        .events("scale")
        .into_iter()
        .filter(|l| l.get("result") == Some("error"))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    cancel.cancel();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn at_a_holiday_s_start_the_daemon_patches_to_the_holiday_quantity() {
    let logs = Captured::default();
    let _guard = logs.install("info");
    let api = FakeHeroku::start(KEY).await.unwrap();
    api.add_app("shop", None);
    api.add_formation("shop", "web", 2, "Standard-1X");
    api.set_updated_at("shop", "web", at("2026-12-24T22:00:01Z"));
    let targets = targets(
        "[[target]]\napp = \"shop\"\ncheck_url = \"off\"\nschedule = \"07:00=3; 22:00=2; 03:00=1\"\nholidays = \"2026-12-25\"\n",
    );
    let client = client(&api);
    let clock = Clock::virtual_at(at("2026-12-24T23:59:00Z"));
    let mut app = AppLoop::new(
        targets.clone(),
        client.clone(),
        Notifier::disabled(),
        budget(&client, 2000, &targets),
        clock,
    );
    app.startup().await.unwrap();
    assert!(api.patches().is_empty());
    let handle = app.handle();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(app.run(cancel.clone()));
    tokio::time::sleep_until(clock.instant_of(at("2026-12-25T00:00:00Z"))).await;
    handle.edge();
    until("the holiday's PATCH", Duration::from_secs(5), || {
        api.patches().len() == 1
    })
    .await;
    assert_eq!(api.patches()[0].body, r#"{"quantity":1}"#);
    let scale = &logs.events("scale")[0];
    assert_eq!(scale.get("reason"), Some("schedule"));
    // The day after, the normal schedule's quantity at 00:00 (2, from 22:00) comes back.
    tokio::time::sleep_until(clock.instant_of(at("2026-12-26T00:00:00Z"))).await;
    handle.edge();
    until("the day after", Duration::from_secs(5), || {
        api.patches().len() == 2
    })
    .await;
    assert_eq!(api.patches()[1].body, r#"{"quantity":2}"#);
    // 07:00 on the 25th did nothing (a holiday), the 26th's 03:00 and 07:00 apply as usual.
    assert_eq!(api.patches().len(), 2);
    cancel.cancel();
    task.await.unwrap();
}
