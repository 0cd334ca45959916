//! The GoodJob and Solid Queue readers against a real PostgreSQL (`AUTOSCALE_TEST_POSTGRES_URL`;
//! start one with `source .ci/postgres`). Each test owns a database of its own
//! (`queue_<test>`, dropped and created again at its start). The tables are created as the
//! libraries' own migrations create them (GoodJob v3.0.0's and v4's install migration, Solid
//! Queue's `queue_schema.rb`, as Rails writes them for Postgres), the rows inserted as the
//! libraries write them, and the readers' figures asserted exactly. Without the variable every
//! test is skipped loudly, unless `AUTOSCALE_REQUIRE_POSTGRES=1` (CI), where it fails.

mod postgres_support;

use std::time::{Duration, Instant};

use autoscale::queue::good_job::{self, GoodJob};
use autoscale::queue::solid_queue::{self, SolidQueue};
use autoscale::queue::{Error, Queue, Totals};
use postgres_support::*;
use sqlx::Executor;

const TIMEOUT: Duration = Duration::from_secs(5);

fn queue(name: &str, depth: u64, latency_ms: u64) -> Queue {
    Queue {
        name: name.into(),
        depth,
        latency: Some(Duration::from_millis(latency_ms)),
    }
}

// ---------------------------------------------------------------------------------------------
// GoodJob

#[tokio::test]
async fn good_job_4_queues_running_jobs_and_threads() {
    let Some((url, mut c)) = database("goodjob_4").await else {
        return;
    };
    c.execute(GOOD_JOB_4_TABLES).await.unwrap();
    c.execute(GOOD_JOB_4_INDEXES).await.unwrap();
    let w1 = gj_process(&mut c, "worker.1", &[2, 5], 10_000).await;
    let w2 = gj_process(&mut c, "worker.2", &[5], 20_000).await;
    let u1 = gj_process(&mut c, "urgent.1", &[10], 5_000).await;
    // SIGKILLed 10 minutes ago: its row not refreshed since (GoodJob's EXPIRED_INTERVAL is 5).
    let dead = gj_process(&mut c, "worker.3", &[50], 600_000).await;
    // `default`: three jobs enqueued to run at once, the oldest 42.5 s ago.
    for age in [42_500, 20_000, 1_000] {
        gj_enqueue(&mut c, "default", age, age).await;
    }
    // A retried job, due again 5 s ago (retry_on: scheduled_at in the future, then due).
    gj_retried(&mut c, "default", 120_000, 5_000).await;
    // Scheduled for in an hour: not waiting.
    gj_enqueue(&mut c, "default", 1_000, -3_600_000).await;
    // Running: two on worker.1, one on worker.2, one on urgent.1, one locked by the dead.
    for (process, age) in [
        (&w1, 9_000),
        (&w1, 8_000),
        (&w2, 7_000),
        (&u1, 6_000),
        (&dead, 700_000),
    ] {
        gj_running(&mut c, "default", age, process).await;
    }
    for _ in 0..3 {
        gj_finished(&mut c, "default", 300_000).await;
    }
    // `mailers`: enqueued 3.75 s ago, and one scheduled an hour ago for 10 s ago.
    gj_enqueue(&mut c, "mailers", 3_750, 3_750).await;
    gj_enqueue(&mut c, "mailers", 3_600_000, 10_000).await;
    // `critical`: only a job for later.
    gj_enqueue(&mut c, "critical", 1_000, -60_000).await;

    let reader = GoodJob::new(&url, TIMEOUT).unwrap();
    let (queues, totals) = reader.read(None, "worker", now()).await.unwrap();
    assert_eq!(
        queues,
        vec![queue("default", 4, 42_500), queue("mailers", 2, 10_000)]
    );
    assert_eq!(
        totals,
        Totals {
            depth: 6,
            latency: Duration::from_millis(42_500),
            busy: Some(3),
            done_counter: None,
            concurrency: Some(7),
        }
    );
    let (_, urgent) = reader.read(None, "urgent", now()).await.unwrap();
    assert_eq!((urgent.busy, urgent.concurrency), (Some(1), Some(10)));
    let (_, web) = reader.read(None, "web", now()).await.unwrap();
    assert_eq!((web.busy, web.concurrency), (Some(0), None));

    // Named queues: each listed, a drained one with nothing waiting.
    let named = ["critical".to_owned(), "mailers".to_owned()];
    let (queues, totals) = reader.read(Some(&named), "worker", now()).await.unwrap();
    assert_eq!(
        queues,
        vec![queue("critical", 0, 0), queue("mailers", 2, 10_000)]
    );
    assert_eq!((totals.depth, totals.latency), (2, Duration::from_secs(10)));
    drop_database(c, "goodjob_4").await;
}

#[tokio::test]
async fn good_job_3_without_process_records_counts_every_running_job() {
    let Some((url, mut c)) = database("goodjob_3").await else {
        return;
    };
    c.execute(GOOD_JOB_3_0_SCHEMA).await.unwrap();
    // v3.0 `Execution.enqueue`: scheduled_at NULL for a job to run at once.
    for (queue, age) in [("default", 30_000), ("default", 2_000), ("low", 61_000)] {
        c.execute(
            format!(
                "INSERT INTO good_jobs (id, queue_name, priority, serialized_params, \
                 scheduled_at, created_at, updated_at, active_job_id, concurrency_key, cron_key) \
                 VALUES (gen_random_uuid(), '{queue}', 0, '{params}', NULL, '{t}', '{t}', \
                 gen_random_uuid(), NULL, NULL)",
                params = active_job_params("ExampleJob", queue),
                t = ts(age),
            )
            .as_str(),
        )
        .await
        .unwrap();
    }
    // Scheduled: due 12 s ago, and one for later.
    for due in [12_000, -60_000] {
        c.execute(
            format!(
                "INSERT INTO good_jobs (id, queue_name, priority, serialized_params, \
                 scheduled_at, created_at, updated_at, active_job_id) \
                 VALUES (gen_random_uuid(), 'default', 0, '{params}', '{due}', '{t}', '{t}', \
                 gen_random_uuid())",
                params = active_job_params("ExampleJob", "default"),
                due = ts(due),
                t = ts(3_600_000),
            )
            .as_str(),
        )
        .await
        .unwrap();
    }
    // Running (`perform`: performed_at saved first), and one finished.
    for (performed, finished) in [
        (Some(5_000), None),
        (Some(4_000), None),
        (Some(9_000), Some(8_000)),
    ] {
        c.execute(
            format!(
                "INSERT INTO good_jobs (id, queue_name, priority, serialized_params, \
                 performed_at, finished_at, created_at, updated_at, active_job_id) \
                 VALUES (gen_random_uuid(), 'default', 0, '{params}', {p}, {f}, '{t}', '{t}', \
                 gen_random_uuid())",
                params = active_job_params("ExampleJob", "default"),
                p = performed.map_or("NULL".to_owned(), |a| format!("'{}'", ts(a))),
                f = finished.map_or("NULL".to_owned(), |a| format!("'{}'", ts(a))),
                t = ts(10_000),
            )
            .as_str(),
        )
        .await
        .unwrap();
    }
    // v3.0's `Process.current_state`: schedulers by name only.
    c.execute(
        format!(
            "INSERT INTO good_job_processes (id, created_at, updated_at, state) VALUES \
             (gen_random_uuid(), '{t}', '{t}', '{{\"id\":\"2f4c\",\"hostname\":\"worker.1\",\"pid\":4,\
             \"proctitle\":\"bin/good_job\",\"schedulers\":[\"GoodJob::Scheduler(queues=* max_threads=5)\"]}}')",
            t = ts(3_600_000),
        )
        .as_str(),
    )
    .await
    .unwrap();

    let (queues, totals) = GoodJob::new(&url, TIMEOUT)
        .unwrap()
        .read(None, "worker", now())
        .await
        .unwrap();
    assert_eq!(
        queues,
        vec![queue("default", 3, 30_000), queue("low", 1, 61_000)]
    );
    assert_eq!(
        totals,
        Totals {
            depth: 4,
            latency: Duration::from_secs(61),
            busy: Some(2),
            done_counter: None,
            concurrency: None,
        }
    );
    drop_database(c, "goodjob_3").await;
}

#[tokio::test]
async fn good_job_on_hosts_that_are_not_dyno_names_counts_every_live_process() {
    let Some((url, mut c)) = database("goodjob_hosts").await else {
        return;
    };
    c.execute(GOOD_JOB_4_TABLES).await.unwrap();
    c.execute(GOOD_JOB_4_INDEXES).await.unwrap();
    // `Socket.gethostname` on a dyno is not `$DYNO`.
    let a = gj_process(&mut c, "5f1c2e6a-8b1d-4c3e-9f2a-1b2c3d4e5f60", &[5], 1_000).await;
    let b = gj_process(&mut c, "a9f8e7d6-c5b4-4a39-8281-706f5e4d3c2b", &[5], 1_000).await;
    gj_running(&mut c, "default", 1_000, &a).await;
    gj_running(&mut c, "default", 1_000, &b).await;
    gj_running(&mut c, "default", 1_000, &b).await;
    let (queues, totals) = GoodJob::new(&url, TIMEOUT)
        .unwrap()
        .read(None, "worker", now())
        .await
        .unwrap();
    assert_eq!(queues, vec![]);
    assert_eq!(
        totals,
        Totals {
            depth: 0,
            latency: Duration::ZERO,
            busy: Some(3),
            done_counter: None,
            concurrency: None,
        }
    );
    drop_database(c, "goodjob_hosts").await;
}

#[tokio::test]
async fn good_job_what_goodjob_does_not_write_is_never_a_panic() {
    let Some((url, mut c)) = database("goodjob_hostile").await else {
        return;
    };
    c.execute(GOOD_JOB_4_TABLES).await.unwrap();
    // A NULL queue name, a name of 600 bytes, an `infinity` time, a state that is no object.
    let long = "q".repeat(600);
    c.execute(
        format!(
            "INSERT INTO good_jobs (id, queue_name, scheduled_at, created_at, updated_at) VALUES \
             (gen_random_uuid(), NULL, '{t}', '{t}', '{t}'), \
             (gen_random_uuid(), '{long}', '{t}', '{t}', '{t}'), \
             (gen_random_uuid(), 'inf', '-infinity', '{t}', '{t}'); \
             INSERT INTO good_job_processes (id, created_at, updated_at, state) VALUES \
             (gen_random_uuid(), '{t}', '{t}', '[1,2]'), \
             (gen_random_uuid(), '{t}', '{t}', '{{\"hostname\":7,\"schedulers\":{{\"max_threads\":5}}}}'), \
             (gen_random_uuid(), '{t}', '{t}', NULL)",
            t = ts(1_000),
        )
        .as_str(),
    )
    .await
    .unwrap();
    let (queues, totals) = GoodJob::new(&url, TIMEOUT)
        .unwrap()
        .read(None, "worker", now())
        .await
        .unwrap();
    assert_eq!(
        queues,
        vec![
            queue("", 1, 1_000),
            Queue {
                name: "inf".into(),
                depth: 1,
                latency: None,
            },
            queue(&"q".repeat(512), 1, 1_000),
        ]
    );
    assert_eq!(
        totals,
        Totals {
            depth: 3,
            latency: Duration::from_secs(1),
            busy: Some(0),
            done_counter: None,
            concurrency: None,
        }
    );
    drop_database(c, "goodjob_hostile").await;
}

#[tokio::test]
async fn good_job_more_than_1000_queues_are_refused_unless_named() {
    let Some((url, mut c)) = database("goodjob_many").await else {
        return;
    };
    c.execute(GOOD_JOB_4_TABLES).await.unwrap();
    c.execute(GOOD_JOB_4_INDEXES).await.unwrap();
    c.execute(
        format!(
            "INSERT INTO good_jobs (id, queue_name, scheduled_at, created_at, updated_at) \
             SELECT gen_random_uuid(), 'q' || n, '{t}', '{t}', '{t}' FROM generate_series(1, 1001) n",
            t = ts(1_000),
        )
        .as_str(),
    )
    .await
    .unwrap();
    let reader = GoodJob::new(&url, TIMEOUT).unwrap();
    let e = reader.read(None, "worker", now()).await.unwrap_err();
    assert!(matches!(e, Error::TooMany { max: 1_000, .. }), "{e:?}");
    assert!(e.to_string().contains("AUTOSCALE_QUEUES"), "{e}");
    let named = ["q7".to_owned(), "q1001".to_owned()];
    let (queues, totals) = reader.read(Some(&named), "worker", now()).await.unwrap();
    assert_eq!(
        queues,
        vec![queue("q1001", 1, 1_000), queue("q7", 1, 1_000)]
    );
    assert_eq!(totals.depth, 2);
    drop_database(c, "goodjob_many").await;
}

// ---------------------------------------------------------------------------------------------
// Solid Queue

#[tokio::test]
async fn solid_queue_ready_due_running_paused_and_done() {
    let Some((url, mut c)) = database("solidqueue_1").await else {
        return;
    };
    c.execute(SOLID_QUEUE_SCHEMA).await.unwrap();
    // Each dyno: a supervisor forking two workers (`processes: 2`, `threads: 3`) and a
    // dispatcher, heartbeats within the minute.
    let mut workers = Vec::new();
    for (host, n, threads) in [("worker.1", 2, 3), ("worker.2", 1, 3), ("urgent.1", 1, 5)] {
        let supervisor = sq_process(&mut c, "Supervisor", host, None, "{}", 20_000).await;
        for _ in 0..n {
            let meta =
                format!(r#"{{"polling_interval":0.1,"queues":"*","thread_pool_size":{threads}}}"#);
            workers.push(sq_process(&mut c, "Worker", host, Some(supervisor), &meta, 30_000).await);
        }
        sq_process(
            &mut c,
            "Dispatcher",
            host,
            Some(supervisor),
            r#"{"polling_interval":1,"batch_size":500,"concurrency_maintenance_interval":600}"#,
            30_000,
        )
        .await;
    }
    // A worker whose heartbeat stopped 10 minutes ago (not pruned yet).
    let dead = sq_process(
        &mut c,
        "Worker",
        "worker.3",
        None,
        r#"{"polling_interval":0.1,"queues":"*","thread_pool_size":30}"#,
        600_000,
    )
    .await;
    let (w1a, w1b, w2, u1) = (workers[0], workers[1], workers[2], workers[3]);
    // Ready: `default` 42.5 s, 20 s, 1 s; `mailers` 3.75 s; paused `low`: five, 100 s.
    for (queue, age) in [
        ("default", 42_500),
        ("default", 20_000),
        ("default", 1_000),
        ("mailers", 3_750),
    ] {
        sq_ready(&mut c, queue, age).await;
    }
    for _ in 0..5 {
        sq_ready(&mut c, "low", 100_000).await;
    }
    c.execute(
        format!(
            "INSERT INTO solid_queue_pauses (queue_name, created_at) VALUES ('low', '{}')",
            ts(200_000)
        )
        .as_str(),
    )
    .await
    .unwrap();
    // Scheduled: due 10 s ago in `mailers` (the dispatcher is late), and for later.
    sq_scheduled(&mut c, "mailers", 10_000).await;
    sq_scheduled(&mut c, "critical", -60_000).await;
    // Claimed: 2 + 1 on worker.1, 1 on worker.2, 1 on urgent.1, 1 by the dead worker.
    for process in [w1a, w1a, w1b, w2, u1, dead] {
        sq_claimed(&mut c, "default", process).await;
    }
    // Blocked by a concurrency limit: waiting for another job, not for a worker.
    sq_blocked(&mut c, "default").await;
    // Finished (preserved) and failed.
    for _ in 0..10 {
        sq_finished(&mut c, "default").await;
    }
    sq_failed(&mut c, "default").await;

    let reader = SolidQueue::new(&url, TIMEOUT).unwrap();
    let (queues, totals) = reader.read(None, "worker", now()).await.unwrap();
    assert_eq!(
        queues,
        vec![
            queue("default", 3, 42_500),
            queue("low", 5, 100_000),
            queue("mailers", 2, 10_000),
        ]
    );
    // 29 jobs took a number; 9 ready, 2 scheduled, 6 claimed, 1 blocked: 11 left the queue
    // (10 finished, 1 failed). `low` is paused: not in the totals.
    assert_eq!(
        totals,
        Totals {
            depth: 5,
            latency: Duration::from_millis(42_500),
            busy: Some(4),
            done_counter: Some(11),
            concurrency: Some(6),
        }
    );
    let (_, urgent) = reader.read(None, "urgent", now()).await.unwrap();
    assert_eq!((urgent.busy, urgent.concurrency), (Some(1), Some(5)));
    // A job finishes: the counter moves by one.
    c.execute("DELETE FROM solid_queue_claimed_executions WHERE id = (SELECT min(id) FROM solid_queue_claimed_executions)")
        .await
        .unwrap();
    let (_, after) = reader.read(None, "worker", now()).await.unwrap();
    assert_eq!(after.done_counter, Some(12));
    assert_eq!(after.busy, Some(3));
    // During a drain to 1 dyno: worker.2 stops, with its 1 claimed job (its supervisor, worker
    // and dispatcher: 3 processes); to 0, worker.1's 2 jobs as well.
    let mut store =
        autoscale::queue::Store::open(autoscale::queue::Kind::SolidQueue, &url, false, TIMEOUT)
            .unwrap();
    let draining = store.read(None, "worker", Some(1), now()).await.unwrap();
    assert_eq!(
        draining.stopping.map(|s| (s.busy, s.processes)),
        Some((1, 3))
    );
    assert_eq!(draining.totals, after);
    let all = store.read(None, "worker", Some(0), now()).await.unwrap();
    assert_eq!(all.stopping.map(|s| s.busy), Some(3));
    let plain = store.read(None, "worker", None, now()).await.unwrap();
    assert_eq!(plain.stopping, None);
    // Named queues: a paused one named still stays out of the totals.
    let named = [
        "critical".to_owned(),
        "low".to_owned(),
        "mailers".to_owned(),
    ];
    let (queues, totals) = reader.read(Some(&named), "worker", now()).await.unwrap();
    assert_eq!(
        queues,
        vec![
            queue("critical", 0, 0),
            queue("low", 5, 100_000),
            queue("mailers", 2, 10_000),
        ]
    );
    assert_eq!((totals.depth, totals.latency), (2, Duration::from_secs(10)));
    // The counter is the store's, whichever queues are named.
    assert_eq!(totals.done_counter, Some(12));
    drop_database(c, "solidqueue_1").await;
}

#[tokio::test]
async fn solid_queue_without_the_right_to_read_the_sequence_has_no_counter() {
    let Some((url, mut c)) = database("solidqueue_seq").await else {
        return;
    };
    c.execute(SOLID_QUEUE_SCHEMA).await.unwrap();
    sq_ready(&mut c, "default", 1_000).await;
    let reader = SolidQueue::new(&url, TIMEOUT).unwrap();
    let (_, totals) = reader.read(None, "worker", now()).await.unwrap();
    assert_eq!(totals.done_counter, Some(0));
    // The owner gives up reading the sequence (a role granted the tables only is the same).
    c.execute("REVOKE ALL ON SEQUENCE solid_queue_jobs_id_seq FROM CURRENT_USER")
        .await
        .unwrap();
    let (queues, totals) = reader.read(None, "worker", now()).await.unwrap();
    assert_eq!(queues, vec![queue("default", 1, 1_000)]);
    assert_eq!(totals.done_counter, None);
    drop_database(c, "solidqueue_seq").await;
}

// ---------------------------------------------------------------------------------------------
// Failures, both readers

#[tokio::test]
async fn a_wrong_password_is_refused_and_never_shown() {
    let Some((url, c)) = database("queue_refused").await else {
        return;
    };
    let mut wrong = url::Url::parse(&url).unwrap();
    let real = wrong.password().unwrap().to_owned();
    wrong.set_password(Some("hunter2-wrong")).unwrap();
    let good_job = GoodJob::new(wrong.as_str(), TIMEOUT).unwrap();
    let solid_queue = SolidQueue::new(wrong.as_str(), TIMEOUT).unwrap();
    for e in [
        good_job.read(None, "worker", now()).await.unwrap_err(),
        solid_queue.read(None, "worker", now()).await.unwrap_err(),
    ] {
        assert!(matches!(e, Error::Refused { .. }), "{e:?}");
        let text = format!("{e} {e:?}");
        assert!(!text.contains("hunter2-wrong"), "{text}");
        assert!(!text.contains(&real), "{text}");
        assert!(text.contains("***@127.0.0.1"), "{text}");
    }
    drop_database(c, "queue_refused").await;
}

#[tokio::test]
async fn nothing_listening_is_a_connect_error_within_the_timeout() {
    if admin_url().is_none() {
        return;
    }
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("postgres://u:hunter2@127.0.0.1:{port}/d");
    let timeout = Duration::from_secs(1);
    let started = Instant::now();
    let e = GoodJob::new(&url, timeout)
        .unwrap()
        .read(None, "worker", now())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    assert!(
        started.elapsed() < timeout + Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_server_that_answers_nothing_is_bounded() {
    if admin_url().is_none() {
        return;
    }
    // Accepts, then says nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            kept.push(s);
        }
    });
    let timeout = Duration::from_secs(1);
    for reader in ["good_job", "solid_queue"] {
        let url = format!("postgres://u:hunter2@127.0.0.1:{port}/d");
        let started = Instant::now();
        let e = match reader {
            "good_job" => {
                GoodJob::new(&url, timeout)
                    .unwrap()
                    .read(None, "worker", now())
                    .await
            }
            _ => {
                SolidQueue::new(&url, timeout)
                    .unwrap()
                    .read(None, "worker", now())
                    .await
            }
        }
        .unwrap_err();
        assert!(
            matches!(e, Error::Connect { .. } | Error::Read { .. }),
            "{e:?}"
        );
        assert!(
            started.elapsed() < timeout + Duration::from_millis(1_500),
            "{reader}: {:?}",
            started.elapsed()
        );
    }
    held.abort();
}

#[tokio::test]
async fn a_statement_that_hangs_is_cancelled_by_the_statement_timeout() {
    let Some((url, mut c)) = database("queue_hung").await else {
        return;
    };
    c.execute(GOOD_JOB_4_TABLES).await.unwrap();
    c.execute(SOLID_QUEUE_SCHEMA).await.unwrap();
    // Another session holds the tables (a migration's ACCESS EXCLUSIVE lock, say).
    let mut holder = connect(&url).await;
    holder
        .execute(
            "BEGIN; LOCK TABLE good_jobs, solid_queue_ready_executions IN ACCESS EXCLUSIVE MODE",
        )
        .await
        .unwrap();
    let timeout = Duration::from_millis(800);
    for reader in ["good_job", "solid_queue"] {
        let started = Instant::now();
        let e = match reader {
            "good_job" => {
                GoodJob::new(&url, timeout)
                    .unwrap()
                    .read(None, "worker", now())
                    .await
            }
            _ => {
                SolidQueue::new(&url, timeout)
                    .unwrap()
                    .read(None, "worker", now())
                    .await
            }
        }
        .unwrap_err();
        let elapsed = started.elapsed();
        assert!(
            matches!(&e, Error::Read { reason, .. } if reason.contains("statement timeout")),
            "{reader}: {e:?}"
        );
        assert!(elapsed >= timeout, "{reader}: {elapsed:?}");
        assert!(
            elapsed < timeout + Duration::from_secs(1),
            "{reader}: {elapsed:?}"
        );
    }
    holder.execute("ROLLBACK").await.unwrap();
    drop(holder);
    drop_database(c, "queue_hung").await;
}

#[tokio::test]
async fn a_database_without_the_tables_says_so() {
    let Some((url, c)) = database("queue_empty").await else {
        return;
    };
    let e = GoodJob::new(&url, TIMEOUT)
        .unwrap()
        .read(None, "worker", now())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Read { reason, .. } if reason.contains("good_jobs")),
        "{e:?}"
    );
    let e = SolidQueue::new(&url, TIMEOUT)
        .unwrap()
        .read(None, "worker", now())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Read { reason, .. } if reason.contains("solid_queue")),
        "{e:?}"
    );
    drop_database(c, "queue_empty").await;
}

// ---------------------------------------------------------------------------------------------
// Plans and a million jobs

/// The plans of the readers' statements on tables holding mostly finished (GoodJob) or later
/// (Solid Queue) jobs, as a busy app's do: each statement goes through the libraries' own
/// indexes, none reads a whole table of jobs (Solid Queue's ready executions are the ready jobs
/// themselves: read whole when no queue is named).
#[tokio::test]
async fn the_statements_use_the_libraries_indexes() {
    let Some((_, mut c)) = database("queue_plans").await else {
        return;
    };
    c.execute(GOOD_JOB_4_TABLES).await.unwrap();
    c.execute(SOLID_QUEUE_SCHEMA).await.unwrap();
    let t = ts(1_000);
    // GoodJob: 200,000 finished jobs kept (preserve_job_records), 2,000 unfinished.
    c.execute(format!(
        "INSERT INTO good_jobs (id, queue_name, priority, scheduled_at, performed_at, finished_at, created_at, updated_at) \
         SELECT gen_random_uuid(), 'q' || (n % 20), 0, '{t}', '{t}', '{t}', '{t}', '{t}' FROM generate_series(1, 200000) n; \
         INSERT INTO good_jobs (id, queue_name, priority, scheduled_at, created_at, updated_at) \
         SELECT gen_random_uuid(), 'q' || (n % 20), 0, '{t}', '{t}', '{t}' FROM generate_series(1, 2000) n; \
         INSERT INTO good_job_processes (id, created_at, updated_at, state) \
         SELECT gen_random_uuid(), '{t}', '{t}', '{{\"hostname\":\"worker.1\"}}' FROM generate_series(1, 5)").as_str())
        .await
        .unwrap();
    c.execute(GOOD_JOB_4_INDEXES).await.unwrap();
    // Solid Queue: 200,000 jobs for later, 1,000 due, 2,000 ready, 50 claimed.
    c.execute(format!(
        "INSERT INTO solid_queue_jobs (queue_name, class_name, priority, scheduled_at, created_at, updated_at) \
         SELECT 'q' || (n % 20), 'ExampleJob', 0, '{t}', '{t}', '{t}' FROM generate_series(1, 203050) n; \
         INSERT INTO solid_queue_scheduled_executions (job_id, queue_name, priority, scheduled_at, created_at) \
         SELECT id, queue_name, 0, CASE WHEN id <= 1000 THEN '{t}'::timestamp ELSE '{later}'::timestamp END, '{t}' \
         FROM solid_queue_jobs WHERE id <= 201000; \
         INSERT INTO solid_queue_ready_executions (job_id, queue_name, priority, created_at) \
         SELECT id, queue_name, 0, '{t}' FROM solid_queue_jobs WHERE id > 201000 AND id <= 203000; \
         INSERT INTO solid_queue_processes (kind, last_heartbeat_at, pid, hostname, metadata, created_at, name) \
         SELECT 'Worker', '{t}', n, 'worker.' || n, '{{}}', '{t}', 'worker-' || n FROM generate_series(1, 5) n; \
         INSERT INTO solid_queue_claimed_executions (job_id, process_id, created_at) \
         SELECT id, (SELECT min(id) FROM solid_queue_processes), '{t}' FROM solid_queue_jobs WHERE id > 203000",
        later = ts(-86_400_000)).as_str())
        .await
        .unwrap();
    c.execute("ANALYZE").await.unwrap();

    let good_job = plans(&mut c, &good_job::statements(true)).await;
    eprintln!("GoodJob plans:\n{good_job}");
    assert!(!good_job.contains("Seq Scan on good_jobs"), "{good_job}");
    assert!(
        good_job.contains("index_good_jobs_on_queue_name_and_scheduled_at")
            || good_job.contains("index_good_jobs_on_queue_name_priority_scheduled_at_unfinished")
            || good_job.contains("index_good_jobs_on_scheduled_at"),
        "{good_job}"
    );
    assert!(
        good_job.contains("index_good_jobs_on_locked_by_id"),
        "{good_job}"
    );
    let good_job_all = plans(&mut c, &good_job::statements(false)).await;
    assert!(
        !good_job_all.contains("Seq Scan on good_jobs"),
        "{good_job_all}"
    );

    // The done counter's statement counts the execution tables whole (a job is in one of them
    // until it leaves): left out here, its cost is in the million-job read's.
    let solid_queue = plans(&mut c, &solid_queue::statements(true)[1..]).await;
    eprintln!("Solid Queue plans:\n{solid_queue}");
    assert!(
        !solid_queue.contains("Seq Scan on solid_queue_scheduled_executions"),
        "{solid_queue}"
    );
    assert!(
        solid_queue.contains("index_solid_queue_dispatch_all"),
        "{solid_queue}"
    );
    // The claimed executions are the running jobs (at most the processes' threads): a scan of
    // them per process is what the planner picks at this size, and is small by nature.
    drop_database(c, "queue_plans").await;
}

/// 100 queues × 10,000 ready jobs (1 M) in each library's tables, read once (after one read to
/// warm the cache): the time is printed, not asserted.
#[tokio::test]
async fn one_read_of_100_queues_and_a_million_jobs() {
    let Some((url, mut c)) = database("queue_million").await else {
        return;
    };
    c.execute(GOOD_JOB_4_TABLES).await.unwrap();
    c.execute(SOLID_QUEUE_SCHEMA).await.unwrap();
    let t = ts(60_000);
    let fill = Instant::now();
    c.execute(format!(
        "INSERT INTO good_jobs (id, active_job_id, job_class, queue_name, priority, serialized_params, scheduled_at, created_at, updated_at) \
         SELECT id, id, 'ExampleJob', 'q' || (n % 100), 0, '{params}', \
                '{t}'::timestamp + n * interval '1 microsecond', '{t}', '{t}' \
         FROM (SELECT gen_random_uuid() AS id, n FROM generate_series(1, 1000000) n) s; \
         INSERT INTO good_job_processes (id, created_at, updated_at, state) \
         SELECT gen_random_uuid(), '{t}', '{now}', ('{{\"hostname\":\"worker.' || n || '\",\"schedulers\":[{{\"max_threads\":5}}]}}')::jsonb FROM generate_series(1, 20) n",
        params = active_job_params("ExampleJob", "q1"), now = ts(1_000)).as_str())
        .await
        .unwrap();
    c.execute(GOOD_JOB_4_INDEXES).await.unwrap();
    c.execute(format!(
        "INSERT INTO solid_queue_jobs (queue_name, class_name, arguments, priority, active_job_id, scheduled_at, created_at, updated_at) \
         SELECT 'q' || (n % 100), 'ExampleJob', '{params}', 0, md5(n::text), '{t}', '{t}', '{t}' FROM generate_series(1, 1000000) n; \
         INSERT INTO solid_queue_ready_executions (job_id, queue_name, priority, created_at) \
         SELECT id, queue_name, 0, created_at + id * interval '1 microsecond' FROM solid_queue_jobs; \
         INSERT INTO solid_queue_processes (kind, last_heartbeat_at, pid, hostname, metadata, created_at, name) \
         SELECT 'Worker', '{now}', n, 'worker.' || n, '{{\"thread_pool_size\":3}}', '{t}', 'worker-' || n FROM generate_series(1, 20) n",
        params = active_job_params("ExampleJob", "q1"), now = ts(1_000)).as_str())
        .await
        .unwrap();
    c.execute("ANALYZE").await.unwrap();
    eprintln!("filled 2 × 1 M jobs in {:?}", fill.elapsed());

    let good_job = GoodJob::new(&url, Duration::from_secs(30)).unwrap();
    let solid_queue = SolidQueue::new(&url, Duration::from_secs(30)).unwrap();
    let mut best = [Duration::MAX; 2];
    for _ in 0..3 {
        let started = Instant::now();
        let (queues, totals) = good_job.read(None, "worker", now()).await.unwrap();
        best[0] = best[0].min(started.elapsed());
        // The 10,000 oldest are counted (100 of each queue), the oldest is the oldest.
        assert_eq!((queues.len(), totals.depth), (100, 10_000));
        assert!(queues.iter().all(|q| q.depth == 100), "{queues:?}");
        assert_eq!(totals.latency, Duration::from_secs(60));
        assert_eq!(totals.concurrency, Some(5));
        let started = Instant::now();
        let (queues, totals) = solid_queue.read(None, "worker", now()).await.unwrap();
        best[1] = best[1].min(started.elapsed());
        assert_eq!((queues.len(), totals.depth), (100, 10_000));
        assert!(queues.iter().all(|q| q.depth == 100), "{queues:?}");
        // Every ready job is still counted for the counter: none has left.
        assert_eq!(totals.done_counter, Some(0));
        assert_eq!(totals.concurrency, Some(3));
    }
    eprintln!(
        "one read of 100 queues × 10,000 jobs: GoodJob {:.1} ms, Solid Queue {:.1} ms (best of 3)",
        best[0].as_secs_f64() * 1e3,
        best[1].as_secs_f64() * 1e3
    );
    let plans_good_job = analyze(&mut c, &good_job::statements(false)).await;
    let plans_solid_queue = analyze(&mut c, &solid_queue::statements(false)).await;
    eprintln!(
        "GoodJob, 1 M ready:\n{plans_good_job}\nSolid Queue, 1 M ready:\n{plans_solid_queue}"
    );
    drop_database(c, "queue_million").await;
}
