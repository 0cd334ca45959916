//! Workers on their job queue, end to end: the daemon binary against the fake Heroku API and a
//! real Redis holding Sidekiq's keys, written byte for byte as Sidekiq 8.1 writes them. Without
//! `AUTOSCALE_TEST_REDIS_URL` (`source .ci/redis`) every test is skipped loudly, unless
//! `AUTOSCALE_REQUIRE_REDIS=1` (CI). Each test owns one of Redis's numbered databases (the reader
//! tests take 1 to 9).

mod common;
mod postgres_support;
mod sidekiq_support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use autoscale::sim::Receiver;
use common::*;
use sidekiq_support::*;

/// A worker scaled on its Sidekiq queue: read every second, a target of 5 s, 5 jobs a dyno,
/// scale-in after 3 calm reads, checks off.
fn worker_env(w: &World, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut settings = vec![
        ("AUTOSCALE_PROCESS", "worker"),
        ("AUTOSCALE_SCHEDULE", "00:00=1"),
        ("AUTOSCALE_MAX", "10"),
        ("AUTOSCALE_CHECK_URL", "off"),
        ("AUTOSCALE_QUEUE", "sidekiq"),
        ("AUTOSCALE_QUEUE_INTERVAL", "1s"),
        ("AUTOSCALE_QUEUE_LATENCY", "5s"),
        ("AUTOSCALE_CONCURRENCY", "5"),
        ("AUTOSCALE_SCALE_IN_AFTER", "3"),
    ];
    settings.extend_from_slice(extra);
    w.env_with(&settings)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// `count` Sidekiq 8.1 jobs pushed into `default`, enqueued `age_ms` ago.
async fn backlog(c: &mut redis::aio::MultiplexedConnection, count: usize, age_ms: i64) {
    let at = now_ms() - age_ms;
    let jobs: Vec<String> = (0..count)
        .map(|i| job8("default", "HardJob", &format!("j{i}"), at - 5, at))
        .collect();
    push(c, "default", &jobs).await;
}

fn worker_patches(w: &World) -> Vec<autoscale::sim::Recorded> {
    w.api
        .patches()
        .into_iter()
        .filter(|p| p.path == format!("/apps/{APP}/formation/worker"))
        .collect()
}

fn patched_quantity(p: &autoscale::sim::Recorded) -> u64 {
    let body: serde_json::Value = serde_json::from_str(&p.body).unwrap();
    body["quantity"].as_u64().unwrap()
}

/// Neither the store's password nor the token in anything the daemon printed.
fn assert_no_secret(d: &Daemon, url: &str) {
    let password = url::Url::parse(url)
        .unwrap()
        .password()
        .unwrap_or("")
        .to_owned();
    let out = d.dump();
    assert!(!out.contains(KEY), "the token was printed");
    if !password.is_empty() {
        assert!(
            !out.contains(&password),
            "the store's password was printed:\n{out}"
        );
    }
}

#[tokio::test]
async fn a_backlog_scales_the_worker_out_within_a_read_through_the_apps_config_var() {
    let Some((url, mut c)) = database(10).await else {
        return;
    };
    let w = World::new(2).await;
    // The default queue URL: the app's own $REDIS_URL, read through the Platform API.
    w.api.set_config_var(APP, "REDIS_URL", &url);
    w.api
        .set_config_var(APP, "SECRET_KEY_BASE", "not-for-autoscale-7f3a");
    heartbeat8(&mut c, "worker.1", 0).await;
    let dir = std::env::temp_dir().join(format!("autoscale-queue-history-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = format!("sqlite://{}", dir.join("history.sqlite").display());
    let mut d = Daemon::spawn(&[], &worker_env(&w, &[("AUTOSCALE_HISTORY", &store)]));
    // The queue task reads the config var, then the store, at once.
    until("the config var read", Duration::from_secs(20), || {
        w.api
            .requests()
            .iter()
            .any(|r| r.path == format!("/apps/{APP}/config-vars"))
    })
    .await;
    assert!(worker_patches(&w).is_empty(), "{}", d.dump());

    // A backlog over the target appears: 40 jobs waiting for 20 s.
    let appeared = SystemTime::now();
    backlog(&mut c, 40, 20_000).await;
    until("a PATCH of the worker", Duration::from_secs(15), || {
        !worker_patches(&w).is_empty()
    })
    .await;
    let patch = &worker_patches(&w)[0];
    let took = patch.wall.duration_since(appeared).unwrap();
    eprintln!(
        "backlog to PATCH: {} ms (QUEUE_INTERVAL 1s)",
        took.as_millis()
    );
    assert_api_headers(patch);
    assert_eq!(
        patch.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    // The first reads saw no job done yet, so no rate: one more dyno than runs.
    assert_eq!(patch.body, r#"{"quantity":2}"#);
    let scale = d
        .wait_for("the scale line", Duration::from_secs(5), |l| {
            l.event() == Some("scale") && l.get("process") == Some("worker")
        })
        .await;
    assert_eq!(scale.get("reason"), Some("queue"), "{}", d.dump());
    assert_eq!(scale.get("from"), Some("1"));
    assert_eq!(scale.get("result"), Some("ok"));
    // The config vars were read once, as the API expects to be asked; nothing else of them
    // was ever printed.
    let reads: Vec<_> = w
        .api
        .requests()
        .into_iter()
        .filter(|r| r.path == format!("/apps/{APP}/config-vars"))
        .collect();
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!(reads[0].method, "GET");
    assert_api_headers(&reads[0]);
    assert!(!d.dump().contains("not-for-autoscale-7f3a"));
    assert_no_secret(&d, &url);
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).await.code(), Some(0));
    // The minute under way is said at the exit: the worst its reads saw, the dynos at most.
    let lines = d.events_named("queue");
    let last = lines.last().expect("a queue line at the exit");
    assert_eq!(last.get("app"), Some(APP));
    assert_eq!(last.get("process"), Some("worker"));
    assert_eq!(last.get("depth"), Some("40"), "{}", d.dump());
    let latency: u64 = last.get("latency_ms").unwrap().parse().unwrap();
    assert!(latency >= 20_000, "{}", d.dump());
    assert_eq!(last.get("busy"), Some("0"));
    assert_eq!(last.get("concurrency"), Some("5"));
    let minute: chrono::DateTime<chrono::Utc> = last.get("minute").unwrap().parse().unwrap();
    assert_eq!(minute.timestamp() % 60, 0, "a whole minute");
    // Each minute is in the history, as its line said it (flushed at the exit).
    let lines: Vec<(String, String)> = d
        .events_named("queue")
        .iter()
        .map(|l| {
            (
                l.get("depth").unwrap().to_owned(),
                l.get("dynos").unwrap().to_owned(),
            )
        })
        .collect();
    let url = autoscale::history::settings::parse_store_url(&store).unwrap();
    let far = chrono::Utc::now() + chrono::TimeDelta::hours(1);
    let kept = autoscale::history::read(
        &url,
        APP,
        Some("worker"),
        far - chrono::TimeDelta::days(1),
        far,
    )
    .await
    .unwrap();
    let rows: Vec<(String, String)> = kept
        .queue
        .iter()
        .map(|r| (r.depth.to_string(), r.dynos.to_string()))
        .collect();
    assert_eq!(rows, lines, "{}", d.dump());
    assert!(kept
        .queue
        .iter()
        .all(|r| r.concurrency == 5 && r.busy.is_some()));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn idle_workers_stop_at_a_floor_of_0_and_start_when_a_job_comes() {
    let Some((url, mut c)) = database(11).await else {
        return;
    };
    let w = World::new(2).await;
    w.api.set_quantity(APP, "worker", 2);
    w.api
        .set_updated_at(APP, "worker", "2026-01-01T00:00:00Z".parse().unwrap());
    heartbeat8(&mut c, "worker.1", 0).await;
    heartbeat8(&mut c, "worker.2", 0).await;
    let env = worker_env(
        &w,
        &[
            ("AUTOSCALE_SCHEDULE", "00:00=0"),
            ("AUTOSCALE_QUEUE_URL", &url),
        ],
    );
    let mut d = Daemon::spawn(&[], &env);
    // Calm for 3 reads: the schedule's floor of 0.
    until("a scale-in to 0", Duration::from_secs(20), || {
        worker_patches(&w).first().map(patched_quantity) == Some(0)
    })
    .await;
    let scale = d
        .wait_for("the scale-in line", Duration::from_secs(5), |l| {
            l.event() == Some("scale") && l.get("to") == Some("0")
        })
        .await;
    assert_eq!(scale.get("reason"), Some("queue"), "{}", d.dump());
    assert_eq!(scale.get("from"), Some("2"));
    // No config var read: the URL was given.
    assert!(!w
        .api
        .requests()
        .iter()
        .any(|r| r.path.ends_with("/config-vars")));

    // One job, just enqueued (far under the target): waiting at 0 dynos is enough.
    backlog(&mut c, 1, 0).await;
    until("a scale-out to 1", Duration::from_secs(15), || {
        worker_patches(&w).get(1).map(patched_quantity) == Some(1)
    })
    .await;
    let up = d
        .wait_for("the scale-out line", Duration::from_secs(5), |l| {
            l.event() == Some("scale") && l.get("to") == Some("1")
        })
        .await;
    assert_eq!(up.get("reason"), Some("queue"));
    assert_eq!(up.get("from"), Some("0"));
    assert_eq!(worker_patches(&w).len(), 2, "{}", d.dump());
    assert_no_secret(&d, &url);
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).await.code(), Some(0));
}

#[tokio::test]
async fn a_store_refusing_rotated_credentials_is_lost_once_alerted_never_scaled_in_then_read_again()
{
    let Some((url, mut c)) = database(12).await else {
        return;
    };
    let w = World::new(2).await;
    w.api.set_quantity(APP, "worker", 3);
    w.api
        .set_updated_at(APP, "worker", "2026-01-01T00:00:00Z".parse().unwrap());
    heartbeat8(&mut c, "worker.1", 0).await;
    // Heroku rotated the credentials: the old password is refused.
    let mut stale = url::Url::parse(&url).unwrap();
    stale.set_password(Some("rotated-away-51c9")).unwrap();
    w.api.set_config_var(APP, "REDIS_URL", stale.as_str());
    let hooks = Receiver::start().await.unwrap();
    let hook = hooks.url("/hook");
    let env = worker_env(
        &w,
        &[
            ("AUTOSCALE_SCALE_IN_AFTER", "1"),
            ("AUTOSCALE_NOTIFY_WEBHOOK", &hook),
        ],
    );
    let mut d = Daemon::spawn(&[], &env);
    let lost = d
        .wait_for("queue_source lost", Duration::from_secs(20), |l| {
            l.event() == Some("queue_source")
        })
        .await;
    assert_eq!(lost.get("state"), Some("lost"), "{}", d.dump());
    assert_eq!(lost.get("level"), Some("warn"));
    assert_eq!(lost.get("library"), Some("sidekiq"));
    assert!(
        lost.get("reason")
            .unwrap()
            .contains("refused the credentials"),
        "{}",
        d.dump()
    );
    until("the queue_lost alert", Duration::from_secs(10), || {
        hooks
            .received()
            .iter()
            .any(|r| r.json().is_some_and(|j| j["event"] == "queue_lost"))
    })
    .await;
    // Reads go on failing (a read a second): said once, and nothing scaled in on missing data
    // although the floor is 1 and one calm read would do.
    until(
        "three more seconds of reads",
        Duration::from_secs(10),
        || lost_for(&d) >= Duration::from_secs(3),
    )
    .await;
    let sources = d.events_named("queue_source");
    assert_eq!(sources.len(), 1, "{}", d.dump());
    assert!(worker_patches(&w).is_empty(), "{}", d.dump());

    // The new credentials in the config var: read again (within 10 s of the refusal), the
    // store is back, and the calm queue scales in to the floor.
    w.api.set_config_var(APP, "REDIS_URL", &url);
    let ok = d
        .wait_for("queue_source ok", Duration::from_secs(25), |l| {
            l.event() == Some("queue_source") && l.get("state") == Some("ok")
        })
        .await;
    assert_eq!(ok.get("level"), Some("info"));
    until("a scale-in to the floor", Duration::from_secs(10), || {
        worker_patches(&w).first().map(patched_quantity) == Some(1)
    })
    .await;
    let config_reads = w
        .api
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/config-vars"))
        .count();
    assert!(
        (2..=3).contains(&config_reads),
        "read again on refusal, with a backoff: {config_reads}"
    );
    let out = d.dump();
    assert!(!out.contains("rotated-away-51c9"), "{out}");
    assert_no_secret(&d, &url);
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).await.code(), Some(0));
}

/// How long ago the first `queue_source state=lost` line was written (its `ts`).
fn lost_for(d: &Daemon) -> Duration {
    let Some(line) = d
        .events_named("queue_source")
        .into_iter()
        .find(|l| l.get("state") == Some("lost"))
    else {
        return Duration::ZERO;
    };
    let ts = chrono::DateTime::parse_from_rfc3339(line.get("ts").unwrap()).unwrap();
    (chrono::Utc::now() - ts.with_timezone(&chrono::Utc))
        .to_std()
        .unwrap_or_default()
}

/// The signals Sidekiq's "Quiet" leaves for a process: the list and its time to live.
async fn signals(c: &mut redis::aio::MultiplexedConnection, identity: &str) -> (Vec<String>, i64) {
    let key = format!("{identity}-signals");
    let list: Vec<String> = redis::cmd("LRANGE")
        .arg(&key)
        .arg(0)
        .arg(-1)
        .query_async(c)
        .await
        .unwrap();
    let ttl: i64 = redis::cmd("TTL").arg(&key).query_async(c).await.unwrap();
    (list, ttl)
}

/// worker.2 runs a job; worker.1 is idle: 2 dynos, a calm queue that needs 1.
async fn draining_world(
    db: u8,
    extra: &[(&str, &str)],
) -> Option<(World, Daemon, redis::aio::MultiplexedConnection, String)> {
    let (url, mut c) = database(db).await?;
    let w = World::new(2).await;
    w.api.set_quantity(APP, "worker", 2);
    w.api
        .set_updated_at(APP, "worker", "2026-01-01T00:00:00Z".parse().unwrap());
    heartbeat7(&mut c, "worker.1", 0, false).await;
    heartbeat7(&mut c, "worker.2", 1, false).await;
    let mut settings = vec![
        ("AUTOSCALE_QUEUE_URL", url.as_str()),
        ("AUTOSCALE_DRAIN", "on"),
    ];
    settings.extend_from_slice(extra);
    let d = Daemon::spawn(&[], &worker_env(&w, &settings));
    d.wait_for("the drain", Duration::from_secs(20), |l| {
        l.event() == Some("drain")
    })
    .await;
    Some((w, d, c, url))
}

/// How many signals wait for `identity` (a plain blocking read, for `until`).
fn signals_len(url: &str, identity: &str) -> usize {
    let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
    redis::cmd("LLEN")
        .arg(format!("{identity}-signals"))
        .query(&mut c)
        .unwrap()
}

fn quiet_for(since: SystemTime) -> Duration {
    SystemTime::now().duration_since(since).unwrap_or_default()
}

const WORKER_2: &str = "worker.2:4:0f1e2d3c4b5a";
const WORKER_1: &str = "worker.1:4:0f1e2d3c4b5a";

#[tokio::test]
async fn a_drain_quiets_the_stopping_dyno_and_scales_in_once_its_job_is_done() {
    let Some((w, mut d, mut c, url)) = draining_world(13, &[]).await else {
        return;
    };
    let started = d.events_named("drain")[0].clone();
    assert_eq!(started.get("state"), Some("started"), "{}", d.dump());
    assert_eq!(started.get("from"), Some("2"));
    assert_eq!(started.get("to"), Some("1"));
    // Quiet, as Sidekiq's Web UI sends it: TSTP on worker.2's signals, for 60 s; worker.1 kept.
    until("a TSTP for worker.2", Duration::from_secs(5), || {
        signals_len(&url, WORKER_2) >= 1
    })
    .await;
    let (list, ttl) = signals(&mut c, WORKER_2).await;
    assert!(list.iter().all(|s| s == "TSTP"), "{list:?}");
    assert!((1..=60).contains(&ttl), "{ttl}");
    assert_eq!(signals(&mut c, WORKER_1).await.0, Vec::<String>::new());
    // Reads go on (a TSTP again while it is not quiet yet): no PATCH while its job runs.
    until(
        "three reads into the drain",
        Duration::from_secs(10),
        || signals_len(&url, WORKER_2) >= 3,
    )
    .await;
    assert!(worker_patches(&w).is_empty(), "{}", d.dump());
    // Sidekiq read the signal: quiet, still running its job.
    heartbeat7(&mut c, "worker.2", 1, true).await;
    let quiet_at = SystemTime::now();
    let before = signals_len(&url, WORKER_2);
    until(
        "two reads of the quiet process",
        Duration::from_secs(10),
        || {
            signals_len(&url, WORKER_2) == before
                && quiet_for(quiet_at) >= Duration::from_millis(2_500)
        },
    )
    .await;
    assert!(worker_patches(&w).is_empty(), "{}", d.dump());
    // Its job is done: the scale-in goes.
    let idle_at = SystemTime::now();
    heartbeat7(&mut c, "worker.2", 0, true).await;
    until("the scale-in", Duration::from_secs(10), || {
        !worker_patches(&w).is_empty()
    })
    .await;
    let patch = &worker_patches(&w)[0];
    assert_eq!(patch.body, r#"{"quantity":1}"#);
    assert!(patch.wall >= idle_at, "PATCHed before the job was done");
    let done = d
        .wait_for("drain done", Duration::from_secs(5), |l| {
            l.event() == Some("drain") && l.get("state") == Some("done")
        })
        .await;
    assert_eq!(done.get("busy"), Some("0"));
    assert!(done.get("waited_ms").unwrap().parse::<u64>().unwrap() >= 2_500);
    let scale = d
        .wait_for("the scale line", Duration::from_secs(5), |l| {
            l.event() == Some("scale")
        })
        .await;
    assert_eq!(scale.get("reason"), Some("queue"));
    assert_eq!(scale.get("to"), Some("1"));
    assert_no_secret(&d, &url);
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).await.code(), Some(0));
}

#[tokio::test]
async fn a_scale_out_cancels_a_drain_and_a_drain_that_never_ends_times_out() {
    let Some((w, mut d, mut c, url)) = draining_world(14, &[]).await else {
        return;
    };
    // A backlog while draining: out at once, the drain cancelled.
    backlog(&mut c, 40, 20_000).await;
    let cancelled = d
        .wait_for("drain cancelled", Duration::from_secs(10), |l| {
            l.event() == Some("drain") && l.get("state") == Some("cancelled")
        })
        .await;
    assert_eq!(cancelled.get("to"), Some("1"));
    until("the scale-out", Duration::from_secs(10), || {
        !worker_patches(&w).is_empty()
    })
    .await;
    assert_eq!(worker_patches(&w)[0].body, r#"{"quantity":3}"#);
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).await.code(), Some(0));
    drop((w, c, url));

    // worker.2's job never ends: after DRAIN_TIMEOUT, in anyway, said at warn.
    let Some((w, mut d, _c, url)) = draining_world(15, &[("AUTOSCALE_DRAIN_TIMEOUT", "2s")]).await
    else {
        return;
    };
    let timeout = d
        .wait_for("drain timeout", Duration::from_secs(10), |l| {
            l.event() == Some("drain") && l.get("state") == Some("timeout")
        })
        .await;
    assert_eq!(timeout.get("level"), Some("warn"));
    assert_eq!(timeout.get("busy"), Some("1"));
    assert!(timeout.get("waited_ms").unwrap().parse::<u64>().unwrap() >= 2_000);
    until("the scale-in", Duration::from_secs(10), || {
        !worker_patches(&w).is_empty()
    })
    .await;
    assert_eq!(worker_patches(&w)[0].body, r#"{"quantity":1}"#);
    assert_no_secret(&d, &url);
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).await.code(), Some(0));
}

#[tokio::test]
async fn check_reads_each_queue_once_and_fails_on_a_store_it_cannot_read() {
    let Some((url, mut c)) = database(16).await else {
        return;
    };
    let w = World::new(2).await;
    w.api.set_config_var(APP, "REDIS_URL", &url);
    backlog(&mut c, 3, 12_000).await;
    redis::cmd("SADD")
        .arg("queues")
        .arg("mailers")
        .query_async::<()>(&mut c)
        .await
        .unwrap();
    heartbeat7(&mut c, "worker.1", 2, false).await;
    let env = worker_env(&w, &[]);
    let (code, out, err) = output(&["check"], &env).await;
    assert_eq!(code, 0, "{out}{err}");
    let queue_lines: Vec<&str> = out.lines().filter(|l| l.contains("queue  ")).collect();
    let port = url::Url::parse(&url).unwrap().port().unwrap();
    assert_eq!(
        queue_lines,
        [
            format!("ok      queue          sidekiq at redis://***@127.0.0.1:{port}/16: 2 queues, 3 jobs waiting, the oldest for 12s; 2 running on worker dynos (10 at once each)").as_str(),
            "warn    queue            default: depth 3, latency 12s (over the target)",
            "ok      queue            mailers: depth 0, latency 0ms",
        ],
        "{out}"
    );
    // The store read once, the config var once; nothing written to the store.
    let reads = w
        .api
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/config-vars"))
        .count();
    assert_eq!(reads, 1);
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(keys.len(), 4, "{keys:?}");

    // A store that refuses: exit 1, one failed line, the password unsaid.
    let mut wrong = url::Url::parse(&url).unwrap();
    wrong.set_password(Some("not-the-one-8d2f")).unwrap();
    w.api.set_config_var(APP, "REDIS_URL", wrong.as_str());
    let (code, out, err) = output(&["check"], &env).await;
    assert_eq!(code, 1, "{out}{err}");
    let failed: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("failed") && l.contains("queue"))
        .collect();
    assert_eq!(failed.len(), 1, "{out}");
    assert!(failed[0].contains("refused the credentials"), "{out}");
    assert!(!out.contains("not-the-one-8d2f") && !err.contains("not-the-one-8d2f"));
}

/// GoodJob 4 in the app's Postgres (`$DATABASE_URL`): a backlog scales the worker out as
/// Sidekiq's does. Skipped without `AUTOSCALE_TEST_POSTGRES_URL`.
#[tokio::test]
async fn a_good_job_backlog_in_the_apps_database_scales_the_worker_out() {
    use sqlx::Executor as _;
    let Some((url, mut c)) = postgres_support::database("daemon_good_job").await else {
        return;
    };
    c.execute(postgres_support::GOOD_JOB_4_TABLES)
        .await
        .unwrap();
    c.execute(postgres_support::GOOD_JOB_4_INDEXES)
        .await
        .unwrap();
    // 40 jobs enqueued before the support's fixed instant (2026-12-07 10:00 UTC): late by now.
    for _ in 0..40 {
        postgres_support::gj_enqueue(&mut c, "default", 20_000, 20_000).await;
    }
    let w = World::new(2).await;
    w.api.set_config_var(APP, "DATABASE_URL", &url);
    let mut d = Daemon::spawn(&[], &worker_env(&w, &[("AUTOSCALE_QUEUE", "good_job")]));
    until("a PATCH of the worker", Duration::from_secs(20), || {
        !worker_patches(&w).is_empty()
    })
    .await;
    assert_eq!(
        worker_patches(&w)[0].body,
        r#"{"quantity":2}"#,
        "{}",
        d.dump()
    );
    let scale = d
        .wait_for("the scale line", Duration::from_secs(5), |l| {
            l.event() == Some("scale")
        })
        .await;
    assert_eq!(scale.get("reason"), Some("queue"));
    assert_no_secret(&d, &url);
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).await.code(), Some(0));
    // The minute under way is said at the exit: the worst its reads saw.
    let lines = d.events_named("queue");
    let line = lines.last().expect("a queue line at the exit");
    assert_eq!(line.get("depth"), Some("40"), "{}", d.dump());
    assert_eq!(
        line.get("done"),
        Some(""),
        "GoodJob keeps no count of jobs done"
    );
    postgres_support::drop_database(c, "daemon_good_job").await;
}

/// A GoodJob process row refreshed now (by the server's clock, as the daemon reads it), on
/// `host`, running 5 threads; its id.
async fn gj_live_process(c: &mut sqlx::PgConnection, host: &str) -> String {
    sqlx::query_scalar(&format!(
        "INSERT INTO good_job_processes (id, created_at, updated_at, state, lock_type) \
         VALUES (gen_random_uuid(), now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', \
                 '{{\"hostname\":\"{host}\",\"schedulers\":[{{\"max_threads\":5}}]}}', 0) \
         RETURNING id::text"
    ))
    .fetch_one(c)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_good_job_drain_waits_until_the_stopping_dyno_runs_no_job() {
    use sqlx::Executor as _;
    let Some((url, mut c)) = postgres_support::database("daemon_good_job_drain").await else {
        return;
    };
    c.execute(postgres_support::GOOD_JOB_4_TABLES)
        .await
        .unwrap();
    c.execute(postgres_support::GOOD_JOB_4_INDEXES)
        .await
        .unwrap();
    // worker.1 idle, worker.2 running one job (locked by its process, as v3.29+ does); nothing
    // waits: 2 dynos where 1 is enough.
    gj_live_process(&mut c, "worker.1").await;
    let busy = gj_live_process(&mut c, "worker.2").await;
    c.execute(
        format!(
            "INSERT INTO good_jobs (id, active_job_id, job_class, queue_name, priority, \
               scheduled_at, performed_at, created_at, updated_at, locked_by_id, locked_at) \
             SELECT id, id, 'ExampleJob', 'default', 0, t, t, t, t, '{busy}', t \
             FROM (SELECT gen_random_uuid() AS id, now() AT TIME ZONE 'UTC' AS t) n"
        )
        .as_str(),
    )
    .await
    .unwrap();
    let w = World::new(2).await;
    w.api.set_quantity(APP, "worker", 2);
    w.api
        .set_updated_at(APP, "worker", "2026-01-01T00:00:00Z".parse().unwrap());
    let mut d = Daemon::spawn(
        &[],
        &worker_env(
            &w,
            &[
                ("AUTOSCALE_QUEUE", "good_job"),
                ("AUTOSCALE_QUEUE_URL", url.as_str()),
                ("AUTOSCALE_DRAIN", "on"),
            ],
        ),
    );
    let started = d
        .wait_for("the drain", Duration::from_secs(20), |l| {
            l.event() == Some("drain")
        })
        .await;
    assert_eq!(started.get("state"), Some("started"), "{}", d.dump());
    assert_eq!(
        (started.get("from"), started.get("to")),
        (Some("2"), Some("1"))
    );
    assert!(
        started
            .get("message")
            .is_some_and(|m| m.contains("good_job's cannot be asked to stop taking jobs")),
        "{}",
        d.dump()
    );
    // Reads go on while worker.2 runs its job: no PATCH (three reads at 1 s).
    let drain_at = SystemTime::now();
    until(
        "three reads into the drain",
        Duration::from_secs(10),
        || quiet_for(drain_at) >= Duration::from_millis(3_000),
    )
    .await;
    assert!(worker_patches(&w).is_empty(), "{}", d.dump());
    // Its job is done (GoodJob clears the lock and sets finished_at): the scale-in goes.
    let idle_at = SystemTime::now();
    c.execute(
        "UPDATE good_jobs SET finished_at = now() AT TIME ZONE 'UTC', locked_by_id = NULL, \
         locked_at = NULL",
    )
    .await
    .unwrap();
    until("the scale-in", Duration::from_secs(10), || {
        !worker_patches(&w).is_empty()
    })
    .await;
    let patch = &worker_patches(&w)[0];
    assert_eq!(patch.body, r#"{"quantity":1}"#);
    assert!(patch.wall >= idle_at, "PATCHed before the job was done");
    let done = d
        .wait_for("drain done", Duration::from_secs(5), |l| {
            l.event() == Some("drain") && l.get("state") == Some("done")
        })
        .await;
    assert_eq!(done.get("busy"), Some("0"));
    assert!(done.get("waited_ms").unwrap().parse::<u64>().unwrap() >= 3_000);
    assert_no_secret(&d, &url);
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).await.code(), Some(0));
    postgres_support::drop_database(c, "daemon_good_job_drain").await;
}

#[tokio::test]
async fn a_celery_backlog_gets_a_slot_for_each_waiting_task_and_an_empty_broker_steps_in() {
    let Some((url, mut c)) = database(0).await else {
        return;
    };
    // 42 tasks in kombu's list `celery` (LPUSH, as `_put` does): depth only.
    let tasks: Vec<String> = (0..42)
        .map(|i| format!(r#"{{"body":"W10=","headers":{{"id":"t{i}","task":"app.add"}},"properties":{{"delivery_tag":"d{i}"}}}}"#))
        .collect();
    run(&mut c, redis::cmd("LPUSH").arg("celery").arg(&tasks)).await;
    let w = World::new(2).await;
    let mut d = Daemon::spawn(
        &[],
        &worker_env(
            &w,
            &[
                ("AUTOSCALE_QUEUE", "celery"),
                ("AUTOSCALE_QUEUE_URL", url.as_str()),
                ("AUTOSCALE_QUEUES", "celery"),
            ],
        ),
    );
    // ⌈42 / 5⌉ = 9 dynos at once (not one at a time).
    until("a PATCH of the worker", Duration::from_secs(20), || {
        !worker_patches(&w).is_empty()
    })
    .await;
    assert_eq!(
        worker_patches(&w)[0].body,
        r#"{"quantity":9}"#,
        "{}",
        d.dump()
    );
    // The workers took them: after 3 empty reads, one fewer.
    run(&mut c, redis::cmd("DEL").arg("celery")).await;
    until("a scale-in", Duration::from_secs(20), || {
        worker_patches(&w).len() >= 2
    })
    .await;
    assert_eq!(
        worker_patches(&w)[1].body,
        r#"{"quantity":8}"#,
        "{}",
        d.dump()
    );
    assert_no_secret(&d, &url);
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).await.code(), Some(0));
}
