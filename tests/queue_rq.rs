//! The RQ reader against a real Redis (`AUTOSCALE_TEST_REDIS_URL`; `source .ci/redis`). Jobs,
//! scheduled jobs and workers are written byte for byte as RQ 2.10 writes them
//! (`rq/queue.py`'s `enqueue_job` and `schedule_job`, `rq/job.py`'s `to_dict`,
//! `rq/worker/base.py`'s `register_birth` and `set_state`), then the reader's figures are
//! asserted exactly. Without the variable every test is skipped loudly, unless
//! `AUTOSCALE_REQUIRE_REDIS=1` (CI), where it fails.
//!
//! Each test owns one of Redis's numbered databases, 17 to 21 (Sidekiq's tests use 1–9, the
//! daemon's 10–16).

use std::time::{Duration, Instant};

use autoscale::queue::rq::Rq;
use autoscale::queue::{Error, Queue, StoreRead, Totals};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use redis::aio::MultiplexedConnection;

mod sidekiq_support;

use sidekiq_support::{database, run, tls_server};

const TIMEOUT: Duration = Duration::from_secs(5);

/// 2026-12-07 10:00:00.250 UTC: the instant every read is made at.
fn now() -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_796_637_600_250).unwrap()
}

/// `utcformat(now() - ms)`: `%Y-%m-%dT%H:%M:%S.%fZ`.
fn utc(ms_before: i64) -> String {
    (now() - TimeDelta::milliseconds(ms_before))
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// A job's `data`: `zlib.compress(pickle.dumps(("app.tasks.count_words_at_url", None,
/// ("https://example.com",), {}), protocol=HIGHEST_PROTOCOL))`, as Python 3.12 writes it.
const DATA: &str = "789c6b609d6ac700011a3d328905057a2589c5d9c57ac9f9a57925f1e5f94529c5f18925f1a5453953fc7a84334a4a0a8aadf4f5532b12730b725281aa72a7b44ea99d5232450f0055411a22";

fn data() -> Vec<u8> {
    (0..DATA.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&DATA[i..i + 2], 16).unwrap())
        .collect()
}

/// `Job.save`: `HSET rq:job:ID` with `to_dict()` (`status` set alongside).
fn job_hash(
    id: &str,
    queue: &str,
    created: i64,
    enqueued: Option<i64>,
    status: &str,
) -> redis::Cmd {
    let mut cmd = redis::cmd("HSET");
    cmd.arg(format!("rq:job:{id}"))
        .arg("created_at")
        .arg(utc(created))
        .arg("data")
        .arg(data())
        .arg("success_callback_name")
        .arg("")
        .arg("failure_callback_name")
        .arg("")
        .arg("stopped_callback_name")
        .arg("")
        .arg("started_at")
        .arg("")
        .arg("ended_at")
        .arg("")
        .arg("last_heartbeat")
        .arg("")
        .arg("worker_name")
        .arg("")
        .arg("group_id")
        .arg("")
        .arg("origin")
        .arg(queue)
        .arg("description")
        .arg("app.tasks.count_words_at_url('https://example.com')");
    if let Some(enqueued) = enqueued {
        cmd.arg("enqueued_at").arg(utc(enqueued));
    }
    cmd.arg("timeout").arg(180).arg("status").arg(status);
    cmd
}

/// `Queue.enqueue`: `SADD rq:queues rq:queue:NAME`, the job's hash, `RPUSH rq:queue:NAME ID`
/// (`LPUSH` with `at_front`).
async fn enqueue(c: &mut MultiplexedConnection, queue: &str, id: &str, age: i64, at_front: bool) {
    run(
        c,
        redis::cmd("SADD")
            .arg("rq:queues")
            .arg(format!("rq:queue:{queue}")),
    )
    .await;
    run(c, &mut job_hash(id, queue, age + 5, Some(age), "queued")).await;
    run(
        c,
        redis::cmd(if at_front { "LPUSH" } else { "RPUSH" })
            .arg(format!("rq:queue:{queue}"))
            .arg(id),
    )
    .await;
}

/// `Queue.enqueue_at`: `SADD rq:queues …`, the job's hash (`scheduled`, no `enqueued_at`),
/// `ZADD rq:scheduled:NAME {ID: epoch second}`.
async fn schedule(c: &mut MultiplexedConnection, queue: &str, id: &str, due_ms_before: i64) {
    run(
        c,
        redis::cmd("SADD")
            .arg("rq:queues")
            .arg(format!("rq:queue:{queue}")),
    )
    .await;
    run(
        c,
        &mut job_hash(id, queue, due_ms_before + 60_000, None, "scheduled"),
    )
    .await;
    let due = (now() - TimeDelta::milliseconds(due_ms_before)).timestamp();
    run(
        c,
        redis::cmd("ZADD")
            .arg(format!("rq:scheduled:{queue}"))
            .arg(due)
            .arg(id),
    )
    .await;
}

/// `register_birth` (the hash, `SADD rq:workers`, `SADD rq:workers:QUEUE`, `EXPIRE 480`), then
/// `set_state`.
async fn worker(c: &mut MultiplexedConnection, name: &str, hostname: &str, state: &str) {
    let key = format!("rq:worker:{name}");
    run(
        c,
        redis::cmd("HSET")
            .arg(&key)
            .arg("birth")
            .arg(utc(3_600_000))
            .arg("last_heartbeat")
            .arg(utc(2_000))
            .arg("queues")
            .arg("high,default")
            .arg("pid")
            .arg(4)
            .arg("hostname")
            .arg(hostname)
            .arg("ip_address")
            .arg("10.1.2.3:40112")
            .arg("version")
            .arg("2.10.0")
            .arg("python_version")
            .arg("3.12.8 (main, Dec  3 2024, 18:42:41) [GCC 12.2.0]"),
    )
    .await;
    run(c, redis::cmd("SADD").arg("rq:workers").arg(&key)).await;
    for q in ["high", "default"] {
        run(
            c,
            redis::cmd("SADD").arg(format!("rq:workers:{q}")).arg(&key),
        )
        .await;
    }
    run(c, redis::cmd("EXPIRE").arg(&key).arg(480)).await;
    run(c, redis::cmd("HSET").arg(&key).arg("state").arg(state)).await;
}

fn reader(url: &str) -> Rq {
    Rq::new(url, true, TIMEOUT).unwrap()
}

#[tokio::test]
async fn rq_queues_scheduled_jobs_and_workers() {
    let Some((url, mut c)) = database(17).await else {
        return;
    };
    // `default`: three jobs, the oldest 42.5 s ago (index 0), then one put at the front.
    enqueue(
        &mut c,
        "default",
        "5f0c1a2b3c4d4e5f8a9b0c1d2e3f4a5b",
        42_500,
        false,
    )
    .await;
    enqueue(
        &mut c,
        "default",
        "6a1b2c3d4e5f40718293a4b5c6d7e8f9",
        20_000,
        false,
    )
    .await;
    enqueue(
        &mut c,
        "default",
        "7b2c3d4e5f60718293a4b5c6d7e8f9a0",
        1_000,
        false,
    )
    .await;
    enqueue(&mut c, "default", "urgent-report-2026-12-07", 61_000, true).await;
    // `high`: drained; one job scheduled for in an hour.
    run(
        &mut c,
        redis::cmd("SADD").arg("rq:queues").arg("rq:queue:high"),
    )
    .await;
    schedule(
        &mut c,
        "high",
        "8c3d4e5f60718293a4b5c6d7e8f9a0b1",
        -3_600_000,
    )
    .await;
    // `reports`: nothing ready, two scheduled jobs due 90.25 s and 30.25 s ago that no
    // scheduler has moved (no worker runs `--with-scheduler`).
    schedule(
        &mut c,
        "reports",
        "9d4e5f60718293a4b5c6d7e8f9a0b1c2",
        90_250,
    )
    .await;
    schedule(
        &mut c,
        "reports",
        "ae5f60718293a4b5c6d7e8f9a0b1c2d3",
        30_250,
    )
    .await;
    // Workers: two on worker dynos (named by RQ, the host named after the dyno), one on
    // urgent.1, one that died without a word (its key expired), one that said it stopped.
    worker(&mut c, "3f2e1d0c", "worker.1", "busy").await;
    worker(&mut c, "4a3b2c1d", "worker.1", "idle").await;
    worker(&mut c, "5b4c3d2e", "worker.2", "busy").await;
    worker(&mut c, "6c5d4e3f", "urgent.1", "busy").await;
    run(
        &mut c,
        redis::cmd("SADD")
            .arg("rq:workers")
            .arg("rq:worker:dead0001"),
    )
    .await;
    worker(&mut c, "7d6e5f40", "worker.3", "idle").await;
    run(
        &mut c,
        redis::cmd("HSET")
            .arg("rq:worker:7d6e5f40")
            .arg("death")
            .arg(utc(5_000)),
    )
    .await;

    let read = reader(&url).read(None, "worker", now()).await.unwrap();
    assert_eq!(
        read,
        StoreRead {
            queues: vec![
                Queue {
                    name: "default".into(),
                    depth: 4,
                    latency: Some(Duration::from_millis(61_000)),
                },
                Queue {
                    name: "high".into(),
                    depth: 0,
                    latency: Some(Duration::ZERO),
                },
                Queue {
                    name: "reports".into(),
                    depth: 2,
                    // Due 09:58:30 (a whole second, `calendar.timegm`).
                    latency: Some(Duration::from_millis(90_250)),
                },
            ],
            totals: Totals {
                depth: 6,
                latency: Duration::from_millis(90_250),
                busy: Some(2),
                done_counter: None,
                concurrency: Some(2),
            },
            stopping: None,
            unreadable: 0,
        }
    );
    let urgent = reader(&url).read(None, "urgent", now()).await.unwrap();
    assert_eq!(
        (urgent.totals.busy, urgent.totals.concurrency),
        (Some(1), Some(1))
    );
}

#[tokio::test]
async fn named_queues_and_what_rq_does_not_write() {
    let Some((url, mut c)) = database(18).await else {
        return;
    };
    enqueue(&mut c, "default", "a1", 5_000, false).await;
    // A job deleted after its enqueue: its id stays in the list, its hash is gone.
    enqueue(&mut c, "mailers", "gone1", 9_000, false).await;
    enqueue(&mut c, "mailers", "m2", 2_000, false).await;
    run(&mut c, redis::cmd("DEL").arg("rq:job:gone1")).await;
    // A time that is not RQ's.
    enqueue(&mut c, "odd", "o1", 1_000, false).await;
    run(
        &mut c,
        redis::cmd("HSET")
            .arg("rq:job:o1")
            .arg("enqueued_at")
            .arg("yesterday"),
    )
    .await;
    // Not RQ's: a member without the prefix, a queue key holding a string.
    run(&mut c, redis::cmd("SADD").arg("rq:queues").arg("celery")).await;
    run(
        &mut c,
        redis::cmd("SADD").arg("rq:queues").arg("rq:queue:broken"),
    )
    .await;
    run(&mut c, redis::cmd("SET").arg("rq:queue:broken").arg("x")).await;

    let named: Vec<String> = ["default", "critical", "default"]
        .map(String::from)
        .to_vec();
    let read = reader(&url)
        .read(Some(&named), "worker", now())
        .await
        .unwrap();
    assert_eq!(
        read.queues,
        vec![
            Queue {
                name: "critical".into(),
                depth: 0,
                latency: Some(Duration::ZERO),
            },
            Queue {
                name: "default".into(),
                depth: 1,
                latency: Some(Duration::from_secs(5)),
            },
        ]
    );
    assert_eq!(read.totals.busy, Some(0));
    assert_eq!(read.totals.concurrency, None);

    // A worker hash that is a string.
    run(
        &mut c,
        redis::cmd("SADD").arg("rq:workers").arg("rq:worker:str"),
    )
    .await;
    run(&mut c, redis::cmd("SET").arg("rq:worker:str").arg("x")).await;
    let all = reader(&url).read(None, "worker", now()).await;
    // A key of the wrong type fails the whole pipeline (WRONGTYPE): a read error, said once.
    let e = all.unwrap_err();
    assert!(matches!(e, Error::Read { .. }), "{e}");
    run(&mut c, redis::cmd("DEL").arg("rq:queue:broken")).await;
    run(&mut c, redis::cmd("DEL").arg("rq:worker:str")).await;
    let read = reader(&url).read(None, "worker", now()).await.unwrap();
    assert_eq!(
        read.queues,
        vec![
            Queue {
                name: "broken".into(),
                depth: 0,
                latency: Some(Duration::ZERO),
            },
            Queue {
                name: "default".into(),
                depth: 1,
                latency: Some(Duration::from_secs(5)),
            },
            Queue {
                name: "mailers".into(),
                depth: 2,
                latency: None,
            },
            Queue {
                name: "odd".into(),
                depth: 1,
                latency: None,
            },
        ]
    );
    // The member without the prefix, the two times; the string key is gone (a dead worker).
    assert_eq!(read.unreadable, 3);
    assert_eq!(read.totals.depth, 4);
    assert_eq!(read.totals.latency, Duration::from_secs(5));
}

#[tokio::test]
async fn a_refused_password_is_refused_and_never_shown() {
    let Some((url, _c)) = database(19).await else {
        return;
    };
    let mut parsed = url::Url::parse(&url).unwrap();
    let password = parsed.password().unwrap().to_owned();
    parsed.set_password(Some("wrong-pw-1234")).unwrap();
    let e = reader(parsed.as_str())
        .read(None, "worker", now())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Refused { .. }), "{e}");
    assert!(!e.to_string().contains("wrong-pw-1234"), "{e}");
    parsed.set_password(None).unwrap();
    let e = reader(parsed.as_str())
        .read(None, "worker", now())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Refused { .. }), "{e}");
    assert!(!e.to_string().contains(&password), "{e}");

    // A listener that never answers: the read gives up at its timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let started = Instant::now();
    let e = Rq::new(
        &format!("redis://:secret-pw-9876@127.0.0.1:{port}"),
        true,
        Duration::from_millis(300),
    )
    .unwrap()
    .read(None, "worker", now())
    .await
    .unwrap_err();
    assert!(!e.to_string().contains("secret-pw-9876"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(2), "{e}");
}

#[tokio::test]
async fn rediss_with_a_self_signed_certificate() {
    let (Some((_, mut c)), Some(tls)) = (database(21).await, tls_server()) else {
        return;
    };
    enqueue(&mut c, "default", "t1", 1_500, false).await;
    let url = format!("{}/21", tls.trim_end_matches('/'));
    let read = Rq::new(&url, false, TIMEOUT)
        .unwrap()
        .read(None, "worker", now())
        .await
        .unwrap();
    assert_eq!(read.totals.depth, 1);
    assert_eq!(read.totals.latency, Duration::from_millis(1_500));
    let e = Rq::new(&url, true, TIMEOUT)
        .unwrap()
        .read(None, "worker", now())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e}");
}

/// 100 queues × 10,000 job ids (1 M), 20 workers: one read on an open connection (best of 5).
#[tokio::test]
async fn one_read_of_100_queues_and_a_million_jobs() {
    let Some((url, mut c)) = database(20).await else {
        return;
    };
    for batch in 0..10 {
        let ids: Vec<String> = (0..1_000).map(|i| format!("{batch:02}{i:030}")).collect();
        run(&mut c, redis::cmd("RPUSH").arg("rq:queue:q000").arg(&ids)).await;
    }
    // The oldest id's hash (every queue's copy starts with it), 600 s ago.
    run(
        &mut c,
        &mut job_hash(
            &format!("{:032}", 0),
            "q000",
            600_005,
            Some(600_000),
            "queued",
        ),
    )
    .await;
    for q in 0..100 {
        let name = format!("q{q:03}");
        run(
            &mut c,
            redis::cmd("SADD")
                .arg("rq:queues")
                .arg(format!("rq:queue:{name}")),
        )
        .await;
        if q > 0 {
            run(
                &mut c,
                redis::cmd("COPY")
                    .arg("rq:queue:q000")
                    .arg(format!("rq:queue:{name}")),
            )
            .await;
        }
    }
    for w in 1..=20 {
        worker(&mut c, &format!("w{w:02}"), &format!("worker.{w}"), "busy").await;
    }
    let mut reader = reader(&url);
    reader.read(None, "worker", now()).await.unwrap();
    let mut best = Duration::MAX;
    let mut read = None;
    for _ in 0..5 {
        let started = Instant::now();
        read = Some(reader.read(None, "worker", now()).await.unwrap());
        best = best.min(started.elapsed());
    }
    let read = read.unwrap();
    assert_eq!(read.queues.len(), 100);
    assert_eq!(read.totals.depth, 1_000_000);
    assert_eq!(read.totals.latency, Duration::from_secs(600));
    assert_eq!(read.totals.busy, Some(20));
    {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "queue_rq: one read of 100 queues, 1,000,000 jobs, 20 workers: {} µs (best of 5)",
            best.as_micros()
        );
    }
    assert!(best < Duration::from_millis(250), "{best:?}");
}
