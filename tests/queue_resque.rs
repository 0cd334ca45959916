//! The Resque reader against a real Redis (`AUTOSCALE_TEST_REDIS_URL`; `source .ci/redis`).
//! Jobs, workers, heartbeats and the counter are written as Resque 3.0 writes them in its
//! `resque` namespace (`lib/resque/data_store.rb`'s `push_to_queue`, `register_worker`,
//! `set_worker_payload`, `heartbeat!`, `worker_done_working`; `lib/resque/worker.rb`'s
//! `working_on`, `processed!`), then the reader's figures asserted exactly. Without the variable
//! every test is skipped loudly, unless `AUTOSCALE_REQUIRE_REDIS=1` (CI), where it fails.
//!
//! Each test owns one of Redis's numbered databases, 29 to 31.

use std::time::{Duration, Instant};

use autoscale::queue::resque::Resque;
use autoscale::queue::{Error, Queue, StoreRead, Totals};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use redis::aio::MultiplexedConnection;

mod sidekiq_support;

use sidekiq_support::{database, run};

const TIMEOUT: Duration = Duration::from_secs(5);

/// 2026-12-07 10:00:00.250 UTC: the instant every read is made at.
fn now() -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_796_637_600_250).unwrap()
}

/// `Time#iso8601` of the Redis server's time, `s` seconds before now (a UTC host).
fn iso(s: i64) -> String {
    (now() - TimeDelta::seconds(s))
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

fn job(class: &str) -> String {
    format!(r#"{{"class":"{class}","args":[42,"bob"]}}"#)
}

/// `Resque.enqueue` → `push_to_queue`: `SADD resque:queues NAME`, `RPUSH resque:queue:NAME`.
async fn push(c: &mut MultiplexedConnection, queue: &str, class: &str) {
    run(c, redis::cmd("SADD").arg("resque:queues").arg(queue)).await;
    run(
        c,
        redis::cmd("RPUSH")
            .arg(format!("resque:queue:{queue}"))
            .arg(job(class)),
    )
    .await;
}

/// A worker `HOST:PID:QUEUES`: `register_worker` (`SADD resque:workers`, `SET
/// worker:ID:started`), its heartbeat `beat` seconds ago, and `working_on` a job when `busy`.
async fn worker(c: &mut MultiplexedConnection, host: &str, pid: u32, beat: i64, busy: bool) {
    let id = format!("{host}:{pid}:critical,default");
    run(c, redis::cmd("SADD").arg("resque:workers").arg(&id)).await;
    run(
        c,
        redis::cmd("SET")
            .arg(format!("resque:worker:{id}:started"))
            .arg("2026-12-07 09:00:00 +0000"),
    )
    .await;
    run(
        c,
        redis::cmd("HSET")
            .arg("resque:workers:heartbeat")
            .arg(&id)
            .arg(iso(beat)),
    )
    .await;
    if busy {
        run(
            c,
            redis::cmd("SET")
                .arg(format!("resque:worker:{id}"))
                .arg(format!(
                    r#"{{"queue":"default","run_at":"{}","payload":{}}}"#,
                    iso(3).replace("+00:00", "Z"),
                    job("Archive")
                )),
        )
        .await;
    }
}

/// `done_working` → `processed!`: `INCRBY resque:stat:processed 1` (and the worker's own).
async fn processed(c: &mut MultiplexedConnection, n: u64) {
    run(c, redis::cmd("INCRBY").arg("resque:stat:processed").arg(n)).await;
}

fn reader(url: &str) -> Resque {
    Resque::new(url, true, TIMEOUT).unwrap()
}

#[tokio::test]
async fn resque_queues_workers_and_counter() {
    let Some((url, mut c)) = database(29).await else {
        return;
    };
    for class in ["Archive", "Archive", "Resize"] {
        push(&mut c, "default", class).await;
    }
    push(&mut c, "mailers", "Welcome").await;
    // `critical`: known, drained.
    push(&mut c, "critical", "Urgent").await;
    run(&mut c, redis::cmd("LPOP").arg("resque:queue:critical")).await;
    worker(&mut c, "worker.1", 4, 20, true).await;
    worker(&mut c, "worker.2", 5, 30, false).await;
    worker(&mut c, "worker.2", 6, 30, true).await;
    worker(&mut c, "urgent.1", 4, 10, true).await;
    // Its heartbeat 10 minutes old: dead (Resque would prune it), its job key left behind.
    worker(&mut c, "worker.3", 4, 600, true).await;
    processed(&mut c, 1_200).await;
    processed(&mut c, 34).await;

    let read = reader(&url).read(None, "worker", now()).await.unwrap();
    assert_eq!(
        read,
        StoreRead {
            queues: vec![
                Queue {
                    name: "critical".into(),
                    depth: 0,
                    latency: None,
                },
                Queue {
                    name: "default".into(),
                    depth: 3,
                    latency: None,
                },
                Queue {
                    name: "mailers".into(),
                    depth: 1,
                    latency: None,
                },
            ],
            totals: Totals {
                depth: 4,
                latency: Duration::ZERO,
                busy: Some(2),
                done_counter: Some(1_234),
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
async fn named_queues_what_resque_does_not_write_and_refusals() {
    let Some((url, mut c)) = database(30).await else {
        return;
    };
    push(&mut c, "default", "Archive").await;
    // Not Resque's: a worker id without a host, a heartbeat that is not a time, a counter
    // that is not a number.
    run(
        &mut c,
        redis::cmd("SADD").arg("resque:workers").arg("nohost"),
    )
    .await;
    worker(&mut c, "worker.1", 4, 0, true).await;
    run(
        &mut c,
        redis::cmd("HSET")
            .arg("resque:workers:heartbeat")
            .arg("worker.1:4:critical,default")
            .arg("yesterday"),
    )
    .await;
    run(
        &mut c,
        redis::cmd("SET").arg("resque:stat:processed").arg("many"),
    )
    .await;
    let named = ["default".to_owned(), "critical".to_owned()];
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
                latency: None,
            },
            Queue {
                name: "default".into(),
                depth: 1,
                latency: None,
            },
        ]
    );
    assert_eq!(read.unreadable, 3);
    assert_eq!(read.totals.busy, Some(0));
    assert_eq!(read.totals.done_counter, None);
    // A queue key of the wrong type fails the read, said once.
    run(
        &mut c,
        redis::cmd("SET").arg("resque:queue:critical").arg("x"),
    )
    .await;
    let e = reader(&url)
        .read(Some(&named), "worker", now())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Read { .. }), "{e}");
    let mut parsed = url::Url::parse(&url).unwrap();
    parsed.set_password(Some("wrong-pw-1234")).unwrap();
    let e = reader(parsed.as_str())
        .read(None, "worker", now())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Refused { .. }), "{e}");
    assert!(!e.to_string().contains("wrong-pw-1234"), "{e}");
}

/// 100 queues × 10,000 jobs (1 M), 20 workers: one read on an open connection (best of 5).
#[tokio::test]
async fn one_read_of_100_queues_and_a_million_jobs() {
    let Some((url, mut c)) = database(31).await else {
        return;
    };
    for _ in 0..10 {
        let jobs = vec![job("Archive"); 1_000];
        run(
            &mut c,
            redis::cmd("RPUSH").arg("resque:queue:q000").arg(&jobs),
        )
        .await;
    }
    for q in 0..100 {
        let name = format!("q{q:03}");
        run(&mut c, redis::cmd("SADD").arg("resque:queues").arg(&name)).await;
        if q > 0 {
            run(
                &mut c,
                redis::cmd("COPY")
                    .arg("resque:queue:q000")
                    .arg(format!("resque:queue:{name}")),
            )
            .await;
        }
    }
    for w in 1..=20 {
        worker(&mut c, &format!("worker.{w}"), 4, 10, true).await;
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
    assert_eq!(read.totals.busy, Some(20));
    {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "queue_resque: one read of 100 queues, 1,000,000 jobs, 20 workers: {} µs (best of 5)",
            best.as_micros()
        );
    }
    assert!(best < Duration::from_millis(250), "{best:?}");
}
