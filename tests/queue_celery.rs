//! The Celery reader against a real Redis (`AUTOSCALE_TEST_REDIS_URL`; `source .ci/redis`).
//! Messages and bindings are written as kombu 5.6's Redis transport writes them
//! (`kombu/transport/redis.py`: `_put`'s `LPUSH` to the queue's list or its priority list
//! `NAME\x06\x16N`, `_queue_bind`'s `SADD _kombu.binding.EXCHANGE`), the message a Celery 5
//! protocol 2 task envelope; then the reader's figures asserted exactly. Without the variable
//! every test is skipped loudly, unless `AUTOSCALE_REQUIRE_REDIS=1` (CI), where it fails.
//!
//! Each test owns one of Redis's numbered databases, 26 to 28.

use std::time::{Duration, Instant};

use autoscale::queue::celery::Celery;
use autoscale::queue::{Error, Queue, StoreRead, Totals};
use redis::aio::MultiplexedConnection;

mod sidekiq_support;

use sidekiq_support::{database, run};

const TIMEOUT: Duration = Duration::from_secs(5);

/// `Celery.send_task("tasks.add", (1, 2))` as kombu puts it: the JSON envelope, the body
/// base64 (`[[1, 2], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]`).
fn message(queue: &str, id: &str, priority: u8) -> String {
    format!(
        r#"{{"body": "W1sxLCAyXSwge30sIHsiY2FsbGJhY2tzIjogbnVsbCwgImVycmJhY2tzIjogbnVsbCwgImNoYWluIjogbnVsbCwgImNob3JkIjogbnVsbH1d", "content-encoding": "utf-8", "content-type": "application/json", "headers": {{"lang": "py", "task": "tasks.add", "id": "{id}", "shadow": null, "eta": null, "expires": null, "group": null, "group_index": null, "retries": 0, "timelimit": [null, null], "root_id": "{id}", "parent_id": null, "argsrepr": "(1, 2)", "kwargsrepr": "{{}}", "origin": "gen4@web.1", "ignore_result": false, "replaced_task_nesting": 0, "stamped_headers": null, "stamps": {{}}}}, "properties": {{"correlation_id": "{id}", "reply_to": "9c3e7a1b-5d2f-3e4a-8b6c-0d1e2f3a4b5c", "delivery_mode": 2, "delivery_info": {{"exchange": "", "routing_key": "{queue}"}}, "priority": {priority}, "body_encoding": "base64", "delivery_tag": "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e"}}}}"#
    )
}

/// `_put`: `LPUSH` to the list of the message's priority step (`_q_for_pri`).
async fn put(c: &mut MultiplexedConnection, queue: &str, id: &str, priority: u8) {
    let step = [0u8, 3, 6, 9]
        .into_iter()
        .rev()
        .find(|s| *s <= priority)
        .unwrap();
    let key = if step == 0 {
        queue.to_owned()
    } else {
        format!("{queue}\x06\x16{step}")
    };
    run(
        c,
        redis::cmd("LPUSH")
            .arg(key)
            .arg(message(queue, id, priority)),
    )
    .await;
}

/// `_queue_bind`: `SADD _kombu.binding.EXCHANGE ROUTING_KEY\x06\x16PATTERN\x06\x16QUEUE`.
async fn bind(c: &mut MultiplexedConnection, exchange: &str, routing_key: &str, queue: &str) {
    run(
        c,
        redis::cmd("SADD")
            .arg(format!("_kombu.binding.{exchange}"))
            .arg(format!("{routing_key}\x06\x16\x06\x16{queue}")),
    )
    .await;
}

fn reader(url: &str) -> Celery {
    Celery::new(url, true, TIMEOUT).unwrap()
}

#[tokio::test]
async fn celery_queues_with_their_priority_lists() {
    let Some((url, mut c)) = database(26).await else {
        return;
    };
    // `celery`: 3 messages of priority 0, 2 of priority 4 (step 3), 1 of priority 9.
    bind(&mut c, "celery", "celery", "celery").await;
    for (n, priority) in [0, 0, 0, 4, 5, 9].into_iter().enumerate() {
        put(&mut c, "celery", &format!("c{n}"), priority).await;
    }
    // `video` (its own exchange), one message; `mail`, bound, empty.
    bind(&mut c, "video", "video", "video").await;
    put(&mut c, "video", "v1", 0).await;
    bind(&mut c, "mail", "mail", "mail").await;
    // The workers' control and event queues: not task queues.
    bind(&mut c, "celery.pidbox", "", "celery@worker.1.celery.pidbox").await;
    bind(
        &mut c,
        "reply.celery.pidbox",
        "",
        "3f2e1d0c.reply.celery.pidbox",
    )
    .await;
    bind(&mut c, "celeryev", "worker.#", "celeryev.1b2c3d4e").await;

    let read = reader(&url).read(None).await.unwrap();
    assert_eq!(
        read,
        StoreRead {
            queues: vec![
                Queue {
                    name: "celery".into(),
                    depth: 6,
                    latency: None,
                },
                Queue {
                    name: "mail".into(),
                    depth: 0,
                    latency: None,
                },
                Queue {
                    name: "video".into(),
                    depth: 1,
                    latency: None,
                },
            ],
            totals: Totals {
                depth: 7,
                latency: Duration::ZERO,
                busy: None,
                done_counter: None,
                concurrency: None,
            },
            stopping: None,
            unreadable: 0,
        }
    );
}

#[tokio::test]
async fn named_queues_odd_bindings_and_refusals() {
    let Some((url, mut c)) = database(27).await else {
        return;
    };
    put(&mut c, "celery", "c1", 0).await;
    put(&mut c, "celery", "c2", 6).await;
    bind(&mut c, "celery", "celery", "celery").await;
    // Not kombu's: a member with two fields.
    run(
        &mut c,
        redis::cmd("SADD")
            .arg("_kombu.binding.odd")
            .arg("odd\x06\x16odd"),
    )
    .await;
    let named = ["celery".to_owned(), "critical".to_owned()];
    let read = reader(&url).read(Some(&named)).await.unwrap();
    assert_eq!(
        read.queues,
        vec![
            Queue {
                name: "celery".into(),
                depth: 2,
                latency: None,
            },
            Queue {
                name: "critical".into(),
                depth: 0,
                latency: None,
            },
        ]
    );
    let read = reader(&url).read(None).await.unwrap();
    assert_eq!(read.queues.len(), 1);
    assert_eq!(read.unreadable, 1);
    // A queue key of the wrong type fails the read, said once.
    run(&mut c, redis::cmd("SET").arg("critical").arg("x")).await;
    let e = reader(&url).read(Some(&named)).await.unwrap_err();
    assert!(matches!(e, Error::Read { .. }), "{e}");
    let mut parsed = url::Url::parse(&url).unwrap();
    parsed.set_password(Some("wrong-pw-1234")).unwrap();
    let e = reader(parsed.as_str()).read(None).await.unwrap_err();
    assert!(matches!(e, Error::Refused { .. }), "{e}");
    assert!(!e.to_string().contains("wrong-pw-1234"), "{e}");
}

/// 100 queues × 10,000 messages (1 M), found through their bindings: one read on an open
/// connection (best of 5). The reader only asks the lists' lengths: the messages here are one
/// envelope and short fillers (a million envelopes of 900 bytes would be 900 MB of test data).
#[tokio::test]
async fn one_read_of_100_queues_and_a_million_jobs() {
    let Some((url, mut c)) = database(28).await else {
        return;
    };
    put(&mut c, "q000", "first", 0).await;
    for _ in 0..10 {
        let fillers = vec!["m"; 1_000];
        run(&mut c, redis::cmd("LPUSH").arg("q000").arg(&fillers)).await;
    }
    run(&mut c, redis::cmd("LPOP").arg("q000")).await;
    for q in 0..100 {
        let name = format!("q{q:03}");
        bind(&mut c, "celery", &name, &name).await;
        if q > 0 {
            run(&mut c, redis::cmd("COPY").arg("q000").arg(&name)).await;
        }
    }
    let mut reader = reader(&url);
    reader.read(None).await.unwrap();
    let mut best = Duration::MAX;
    let mut read = None;
    for _ in 0..5 {
        let started = Instant::now();
        read = Some(reader.read(None).await.unwrap());
        best = best.min(started.elapsed());
    }
    let read = read.unwrap();
    assert_eq!(read.queues.len(), 100);
    assert_eq!(read.totals.depth, 1_000_000);
    {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "queue_celery: one read of 100 queues, 1,000,000 messages: {} µs (best of 5)",
            best.as_micros()
        );
    }
    assert!(best < Duration::from_millis(250), "{best:?}");
}
