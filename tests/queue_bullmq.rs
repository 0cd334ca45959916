//! The BullMQ reader against a real Redis (`AUTOSCALE_TEST_REDIS_URL`; `source .ci/redis`).
//! Jobs are written as BullMQ 6.2's scripts write them (`addStandardJob-9.lua`,
//! `addPrioritizedJob-9.lua`, `addDelayedJob-6.lua` with `includes/storeJob.lua`,
//! `getOrSetMaxEvents.lua`, `getPriorityScore.lua`, `getDelayedScore.lua`; a worker's fetch,
//! `fetchNextJob.lua`, `prepareJobForProcessing.lua`; `pause-7.lua`), then the reader's figures
//! asserted exactly. Without the variable every test is skipped loudly, unless
//! `AUTOSCALE_REQUIRE_REDIS=1` (CI), where it fails.
//!
//! Each test owns one of Redis's numbered databases, 22 to 25.

use std::time::{Duration, Instant};

use autoscale::queue::bullmq::Bullmq;
use autoscale::queue::{Error, Queue, StoreRead, Totals};
use chrono::{DateTime, TimeZone, Utc};
use redis::aio::MultiplexedConnection;

mod sidekiq_support;

use sidekiq_support::{database, run};

const TIMEOUT: Duration = Duration::from_secs(5);

/// 2026-12-07 10:00:00.250 UTC: the instant every read is made at.
fn now() -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_796_637_600_250).unwrap()
}

fn ms_before(ms: i64) -> i64 {
    now().timestamp_millis() - ms
}

/// What the add scripts share: `INCR bull:Q:id` (the id when none is given),
/// `getOrSetMaxEvents`, `storeJob` (`HMSET bull:Q:ID name data opts timestamp delay
/// priority`, `XADD … added`).
async fn store(
    c: &mut MultiplexedConnection,
    q: &str,
    created_ms_before: i64,
    delay: i64,
    priority: u32,
) -> String {
    let id: i64 = redis::cmd("INCR")
        .arg(format!("bull:{q}:id"))
        .query_async(c)
        .await
        .unwrap();
    let meta = format!("bull:{q}:meta");
    let max: Option<String> = redis::cmd("HGET")
        .arg(&meta)
        .arg("opts.maxLenEvents")
        .query_async(c)
        .await
        .unwrap();
    if max.is_none() {
        run(
            c,
            redis::cmd("HSET")
                .arg(&meta)
                .arg("opts.maxLenEvents")
                .arg(10_000),
        )
        .await;
    }
    let mut opts = String::from(r#"{"attempts":3"#);
    if delay > 0 {
        opts.push_str(&format!(r#","delay":{delay}"#));
    }
    if priority > 0 {
        opts.push_str(&format!(r#","priority":{priority}"#));
    }
    opts.push('}');
    run(
        c,
        redis::cmd("HMSET")
            .arg(format!("bull:{q}:{id}"))
            .arg("name")
            .arg("send-welcome")
            .arg("data")
            .arg(r#"{"to":"ada@example.com","template":"welcome"}"#)
            .arg("opts")
            .arg(opts)
            .arg("timestamp")
            .arg(ms_before(created_ms_before))
            .arg("delay")
            .arg(delay)
            .arg("priority")
            .arg(priority),
    )
    .await;
    run(
        c,
        redis::cmd("XADD")
            .arg(format!("bull:{q}:events"))
            .arg("*")
            .arg("event")
            .arg("added")
            .arg("jobId")
            .arg(id)
            .arg("name")
            .arg("send-welcome"),
    )
    .await;
    id.to_string()
}

/// `addStandardJob`: stored, `LPUSH bull:Q:wait ID`, the marker, `XADD … waiting`.
async fn add(c: &mut MultiplexedConnection, q: &str, created_ms_before: i64) -> String {
    let id = store(c, q, created_ms_before, 0, 0).await;
    run(
        c,
        redis::cmd("LPUSH").arg(format!("bull:{q}:wait")).arg(&id),
    )
    .await;
    run(
        c,
        redis::cmd("ZADD")
            .arg(format!("bull:{q}:marker"))
            .arg(0)
            .arg("0"),
    )
    .await;
    run(
        c,
        redis::cmd("XADD")
            .arg(format!("bull:{q}:events"))
            .arg("*")
            .arg("event")
            .arg("waiting")
            .arg("jobId")
            .arg(&id),
    )
    .await;
    id
}

/// `addPrioritizedJob`: stored, `ZADD bull:Q:prioritized (priority × 2³² + INCR pc) ID`.
async fn add_prioritized(c: &mut MultiplexedConnection, q: &str, created: i64, priority: u32) {
    let id = store(c, q, created, 0, priority).await;
    let counter: i64 = redis::cmd("INCR")
        .arg(format!("bull:{q}:pc"))
        .query_async(c)
        .await
        .unwrap();
    let score = i64::from(priority) * 0x1_0000_0000 + counter % 0x1_0000_0000;
    run(
        c,
        redis::cmd("ZADD")
            .arg(format!("bull:{q}:prioritized"))
            .arg(score)
            .arg(&id),
    )
    .await;
}

/// `addDelayedJob`: stored, `ZADD bull:Q:delayed ((timestamp + delay) × 0x1000) ID`.
async fn add_delayed(c: &mut MultiplexedConnection, q: &str, created: i64, delay: i64) {
    let id = store(c, q, created, delay, 0).await;
    let score = (ms_before(created) + delay) * 0x1000;
    run(
        c,
        redis::cmd("ZADD")
            .arg(format!("bull:{q}:delayed"))
            .arg(score)
            .arg(&id),
    )
    .await;
}

/// A worker's fetch: `RPOPLPUSH wait active`, `HMSET processedOn`, `HINCRBY ats 1`.
async fn fetch(c: &mut MultiplexedConnection, q: &str, ms_before_now: i64) -> String {
    let id: String = redis::cmd("RPOPLPUSH")
        .arg(format!("bull:{q}:wait"))
        .arg(format!("bull:{q}:active"))
        .query_async(c)
        .await
        .unwrap();
    let key = format!("bull:{q}:{id}");
    run(
        c,
        redis::cmd("HMSET")
            .arg(&key)
            .arg("processedOn")
            .arg(ms_before(ms_before_now)),
    )
    .await;
    run(c, redis::cmd("HINCRBY").arg(&key).arg("ats").arg(1)).await;
    id
}

/// `retryJob` (no backoff): `LREM active`, `LPUSH wait`, `HINCRBY atm 1`.
async fn retry(c: &mut MultiplexedConnection, q: &str, id: &str) {
    run(
        c,
        redis::cmd("LREM")
            .arg(format!("bull:{q}:active"))
            .arg(-1)
            .arg(id),
    )
    .await;
    run(c, redis::cmd("LPUSH").arg(format!("bull:{q}:wait")).arg(id)).await;
    run(
        c,
        redis::cmd("HINCRBY")
            .arg(format!("bull:{q}:{id}"))
            .arg("atm")
            .arg(1),
    )
    .await;
}

fn reader(url: &str) -> Bullmq {
    Bullmq::new(url, true, TIMEOUT).unwrap()
}

#[tokio::test]
async fn bullmq_waiting_prioritized_delayed_active_and_paused() {
    let Some((url, mut c)) = database(22).await else {
        return;
    };
    // `email`: four jobs; a worker took the oldest; the next waits since 42.5 s. Two with a
    // priority (the next, priority 1, since 30 s; one of priority 5 since 60 s); one delayed
    // 10 s at its creation 100 s ago — due 90 s ago, no worker promoted it; one for in an hour.
    for age in [50_000, 42_500, 20_000, 1_000] {
        add(&mut c, "email", age).await;
    }
    fetch(&mut c, "email", 49_000).await;
    add_prioritized(&mut c, "email", 30_000, 1).await;
    add_prioritized(&mut c, "email", 60_000, 5).await;
    add_delayed(&mut c, "email", 100_000, 10_000).await;
    add_delayed(&mut c, "email", 1_000, 3_600_000).await;
    // `reports`: paused (`pause-7.lua`: `HSET meta paused 1`), two jobs 300 s old.
    add(&mut c, "reports", 300_000).await;
    add(&mut c, "reports", 300_000).await;
    run(
        &mut c,
        redis::cmd("HSET")
            .arg("bull:reports:meta")
            .arg("paused")
            .arg(1),
    )
    .await;
    // `video`: a job created 500 s ago whose attempt started 15 s ago failed and was retried.
    add(&mut c, "video", 500_000).await;
    let id = fetch(&mut c, "video", 15_000).await;
    retry(&mut c, "video", &id).await;
    // Not BullMQ's queue keys.
    run(&mut c, redis::cmd("SET").arg("bull:meta").arg("x")).await;

    let read = reader(&url).read(None, now()).await.unwrap();
    assert_eq!(
        read,
        StoreRead {
            queues: vec![
                Queue {
                    name: "email".into(),
                    depth: 6,
                    latency: Some(Duration::from_secs(90)),
                },
                Queue {
                    name: "reports".into(),
                    depth: 2,
                    latency: Some(Duration::from_secs(300)),
                },
                Queue {
                    name: "video".into(),
                    depth: 1,
                    latency: Some(Duration::from_secs(15)),
                },
            ],
            totals: Totals {
                depth: 7,
                latency: Duration::from_secs(90),
                busy: Some(1),
                done_counter: None,
                concurrency: None,
            },
            stopping: None,
            unreadable: 0,
        }
    );
}

#[tokio::test]
async fn named_queues_and_what_bullmq_does_not_write() {
    let Some((url, mut c)) = database(23).await else {
        return;
    };
    add(&mut c, "email", 5_000).await;
    // A job removed by hand: its id stays in the list, its hash is gone.
    let gone = add(&mut c, "odd", 8_000).await;
    run(&mut c, redis::cmd("DEL").arg(format!("bull:odd:{gone}"))).await;
    let named: Vec<String> = ["email", "critical", "email", "odd"]
        .map(String::from)
        .to_vec();
    let read = reader(&url).read(Some(&named), now()).await.unwrap();
    assert_eq!(
        read.queues,
        vec![
            Queue {
                name: "critical".into(),
                depth: 0,
                latency: Some(Duration::ZERO),
            },
            Queue {
                name: "email".into(),
                depth: 1,
                latency: Some(Duration::from_secs(5)),
            },
            Queue {
                name: "odd".into(),
                depth: 1,
                latency: None,
            },
        ]
    );
    assert_eq!(read.unreadable, 1);
    assert_eq!(read.totals.latency, Duration::from_secs(5));
    // A queue key of the wrong type fails the read (WRONGTYPE), said once.
    run(&mut c, redis::cmd("SET").arg("bull:critical:wait").arg("x")).await;
    let e = reader(&url).read(Some(&named), now()).await.unwrap_err();
    assert!(matches!(e, Error::Read { .. }), "{e}");
}

#[tokio::test]
async fn a_store_too_big_to_scan_asks_for_the_queues_and_refusals() {
    let Some((url, mut c)) = database(24).await else {
        return;
    };
    add(&mut c, "email", 5_000).await;
    // 110,000 other keys: more than the bounded SCAN looks at.
    for batch in 0..110 {
        let mut mset = redis::cmd("MSET");
        for i in 0..1_000 {
            mset.arg(format!("cache:{batch}:{i}")).arg(1);
        }
        run(&mut c, &mut mset).await;
    }
    let e = reader(&url).read(None, now()).await.unwrap_err();
    assert!(
        matches!(&e, Error::TooMany { .. }) && e.to_string().contains("AUTOSCALE_QUEUES"),
        "{e}"
    );
    let named = ["email".to_owned()];
    assert_eq!(
        reader(&url)
            .read(Some(&named), now())
            .await
            .unwrap()
            .totals
            .depth,
        1
    );
    let mut parsed = url::Url::parse(&url).unwrap();
    parsed.set_password(Some("wrong-pw-1234")).unwrap();
    let e = reader(parsed.as_str()).read(None, now()).await.unwrap_err();
    assert!(matches!(e, Error::Refused { .. }), "{e}");
    assert!(!e.to_string().contains("wrong-pw-1234"), "{e}");
}

/// 100 queues × 10,000 waiting job ids (1 M), named (a store this size is not scanned): one
/// read on an open connection (best of 5).
#[tokio::test]
async fn one_read_of_100_queues_and_a_million_jobs() {
    let Some((url, mut c)) = database(25).await else {
        return;
    };
    for batch in 0..10 {
        let ids: Vec<String> = (0..1_000)
            .map(|i| (1_000_000 + batch * 1_000 + i).to_string())
            .collect();
        run(&mut c, redis::cmd("LPUSH").arg("bull:q000:wait").arg(&ids)).await;
    }
    // The next job of every copy (index −1) is 1000000, 600 s old.
    run(
        &mut c,
        redis::cmd("HMSET")
            .arg("bull:q000:1000000")
            .arg("name")
            .arg("bulk")
            .arg("data")
            .arg("{}")
            .arg("opts")
            .arg(r#"{"attempts":0}"#)
            .arg("timestamp")
            .arg(ms_before(600_000))
            .arg("delay")
            .arg(0)
            .arg("priority")
            .arg(0),
    )
    .await;
    let mut names = Vec::new();
    for q in 0..100 {
        let name = format!("q{q:03}");
        if q > 0 {
            run(
                &mut c,
                redis::cmd("COPY")
                    .arg("bull:q000:wait")
                    .arg(format!("bull:{name}:wait")),
            )
            .await;
            run(
                &mut c,
                redis::cmd("COPY")
                    .arg("bull:q000:1000000")
                    .arg(format!("bull:{name}:1000000")),
            )
            .await;
        }
        names.push(name);
    }
    let mut reader = reader(&url);
    reader.read(Some(&names), now()).await.unwrap();
    let mut best = Duration::MAX;
    let mut read = None;
    for _ in 0..5 {
        let started = Instant::now();
        read = Some(reader.read(Some(&names), now()).await.unwrap());
        best = best.min(started.elapsed());
    }
    let read = read.unwrap();
    assert_eq!(read.queues.len(), 100);
    assert_eq!(read.totals.depth, 1_000_000);
    assert_eq!(read.totals.latency, Duration::from_secs(600));
    {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "queue_bullmq: one read of 100 queues, 1,000,000 jobs: {} µs (best of 5)",
            best.as_micros()
        );
    }
    assert!(best < Duration::from_millis(250), "{best:?}");
}
