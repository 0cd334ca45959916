//! RQ (Python), read straight from its Redis: what `rq info` shows, in three pipelined round
//! trips, no full scan of anything.
//!
//! The keys, from RQ's own source (rq/rq 2.10, `rq/queue.py`, `rq/job.py`, `rq/registry.py`,
//! `rq/worker/base.py`, `rq/worker_registration.py`, `rq/utils.py`; the same in 1.x):
//! - set `rq:queues` (`Queue.redis_queues_keys`): the queues' keys, `rq:queue:NAME` (`SADD` at
//!   every enqueue; `Queue.all` strips the prefix);
//! - list `rq:queue:NAME`: the ready jobs' ids, pushed with `RPUSH` (`push_job_id`; `LPUSH` for
//!   `at_front`) and taken from the left (`LMOVE`/`BLMOVE`, `lpop`): the oldest is at index 0
//!   (`LINDEX rq:queue:NAME 0`); `Queue.count` is its `LLEN`;
//! - hash `rq:job:ID`: field `enqueued_at`, `utcformat(now())` at the enqueue
//!   (`_prepare_for_queue`): `%Y-%m-%dT%H:%M:%S.%fZ`, UTC (`utcparse` also takes the older
//!   `%Y-%m-%dT%H:%M:%SZ`). A job id whose hash is gone (a deleted or expired job: RQ leaves
//!   its id in the list and skips it) gives that queue no latency, counted unreadable;
//! - ZSET `rq:scheduled:NAME` (`ScheduledJobRegistry`): jobs for later, scored by their epoch
//!   second (`calendar.timegm`). The scheduler (in a worker started `--with-scheduler`) moves
//!   those due to the queue; those due and not moved yet — no worker runs, or it is late —
//!   wait too: counted as ready, waiting since their score (`ZCOUNT key 0 NOW`, and the
//!   earliest with `ZRANGE key 0 0 WITHSCORES`);
//! - set `rq:workers` (`REDIS_WORKER_KEYS`): the workers' keys `rq:worker:NAME`; hash
//!   `rq:worker:NAME` (`serialize`, `set_state`): `state` (`busy` while it runs a job — one at
//!   a time), `hostname` (`socket.gethostname()`), `death` once it stopped; it expires
//!   `worker_ttl + 60` s after the last heartbeat: a key that expired is a dead worker, skipped.
//!
//! Busy and concurrency per dyno as for the Postgres libraries ([`super::pg::busy`]): RQ records
//! the host's name, which is `$DYNO` only where the app makes it so; a worker's `name` given as
//! `$DYNO` (`rq worker --name $DYNO`) counts too. Each live worker runs at most one job: a
//! dyno's concurrency is its live workers. RQ keeps no counter of jobs finished (the finished
//! registry expires its ids): no `done_counter`.
//!
//! Untrusted input: the sets are read with `SRANDMEMBER key N+1` (more than [`MAX_QUEUES`]
//! queues is refused: name them in AUTOSCALE_QUEUES); a job id or a time longer than
//! [`MAX_VALUE`] bytes, a time that is not RQ's, a worker hash that is not RQ's are counted
//! ([`StoreRead::unreadable`]), never a panic.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use redis::Value;

use super::pg::{self, Worker};
use super::redis::Redis;
use super::sidekiq::{names, text, whole, MAX_PROCESSES, MAX_QUEUES};
use super::{Error, Queue, StoreRead, Totals};

/// The longest job id or time taken (RQ's ids are 32 hex digits or the app's own).
pub const MAX_VALUE: usize = 512;

const QUEUES: &str = "rq:queues";
const QUEUE_PREFIX: &str = "rq:queue:";
const WORKERS: &str = "rq:workers";
const WORKER_PREFIX: &str = "rq:worker:";

/// An RQ store.
#[derive(Debug)]
pub struct Rq {
    redis: Redis,
}

impl Rq {
    /// A store at `url` (`redis://` or `rediss://`, `verify_tls` as for Sidekiq); nothing is
    /// sent before the first read, which is bounded by `timeout`.
    pub fn new(url: &str, verify_tls: bool, timeout: Duration) -> Result<Rq, Error> {
        Ok(Rq {
            redis: Redis::new(url, verify_tls, timeout)?,
        })
    }

    /// The URL as it may be printed.
    pub fn shown(&self) -> &str {
        self.redis.shown()
    }

    /// One read: `queues` (every queue of `rq:queues` when None), the jobs running on
    /// `process_type`'s dynos; latencies counted up to `now`.
    pub async fn read(
        &mut self,
        queues: Option<&[String]>,
        process_type: &str,
        now: DateTime<Utc>,
    ) -> Result<StoreRead, Error> {
        let timeout = self.redis.timeout();
        let out = tokio::time::timeout(timeout, read_once(&mut self.redis, queues, now)).await;
        let (queues, workers, unreadable) = self.redis.settle(out)?;
        let (busy, concurrency) = pg::busy(&workers, process_type);
        let (depth, latency) = pg::sums(&queues, &[]);
        Ok(StoreRead {
            queues,
            totals: Totals {
                depth,
                latency,
                busy: Some(busy),
                done_counter: None,
                concurrency,
            },
            stopping: None,
            unreadable,
        })
    }
}

async fn read_once(
    redis: &mut Redis,
    queues: Option<&[String]>,
    now: DateTime<Utc>,
) -> Result<(Vec<Queue>, Vec<Worker>, u32), Error> {
    let mut unreadable = 0u32;
    // Round trip 1: the names, bounded.
    let mut pipe = redis::pipe();
    pipe.cmd("SRANDMEMBER").arg(WORKERS).arg(MAX_PROCESSES + 1);
    if queues.is_none() {
        pipe.cmd("SRANDMEMBER").arg(QUEUES).arg(MAX_QUEUES + 1);
    }
    let first = redis.query(&pipe).await?;
    let worker_keys = names(first.first(), &mut unreadable);
    if worker_keys.len() > MAX_PROCESSES {
        return Err(Error::TooMany {
            url: redis.shown().to_owned(),
            key: WORKERS,
            max: MAX_PROCESSES,
            hint: "",
        });
    }
    let queue_names: Vec<String> = match queues {
        Some(given) => {
            let mut given = given.to_vec();
            given.sort();
            given.dedup();
            given
        }
        None => {
            let keys = names(first.get(1), &mut unreadable);
            if keys.len() > MAX_QUEUES {
                return Err(super::pg::too_many(redis.shown(), QUEUES));
            }
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                match key.strip_prefix(QUEUE_PREFIX) {
                    Some(name) if !name.is_empty() => out.push(name.to_owned()),
                    _ => unreadable += 1,
                }
            }
            out
        }
    };

    // Round trip 2: per queue its length, oldest id, due scheduled jobs; per worker its hash.
    let due_by = now.timestamp();
    let mut pipe = redis::pipe();
    for name in &queue_names {
        let key = format!("{QUEUE_PREFIX}{name}");
        let scheduled = format!("rq:scheduled:{name}");
        pipe.cmd("LLEN")
            .arg(&key)
            .cmd("LINDEX")
            .arg(&key)
            .arg(0)
            .cmd("ZCOUNT")
            .arg(&scheduled)
            .arg(0)
            .arg(due_by)
            .cmd("ZRANGE")
            .arg(&scheduled)
            .arg(0)
            .arg(0)
            .arg("WITHSCORES");
    }
    for key in &worker_keys {
        pipe.cmd("HMGET")
            .arg(key)
            .arg("state")
            .arg("hostname")
            .arg("death");
    }
    let second = redis.query(&pipe).await?;
    let (per_queue, per_worker) = second.split_at(queue_names.len() * 4);
    let mut parts: Vec<Parts> = per_queue
        .chunks_exact(4)
        .map(|a| parts(&a[0], &a[1], &a[2], &a[3], &mut unreadable))
        .collect();
    let mut workers = Vec::with_capacity(worker_keys.len());
    for (key, fields) in worker_keys.iter().zip(per_worker) {
        match worker(key, fields) {
            Heartbeat::Live(w) => workers.push(w),
            Heartbeat::Gone => {}
            Heartbeat::Unreadable => unreadable += 1,
        }
    }

    // Round trip 3: the oldest ready job's enqueue time, per queue with one.
    let mut pipe = redis::pipe();
    let mut asked = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if let Some(id) = &p.oldest_id {
            pipe.cmd("HGET")
                .arg(format!("rq:job:{id}"))
                .arg("enqueued_at");
            asked.push(i);
        }
    }
    let third = redis.query(&pipe).await?;
    for (i, answer) in asked.into_iter().zip(&third) {
        parts[i].enqueued_at = Some(match answer {
            Value::Nil => None,
            v => text(v).and_then(enqueued_at),
        });
    }
    let queues = queue_names
        .into_iter()
        .zip(parts)
        .map(|(name, p)| p.queue(name, now, &mut unreadable))
        .collect();
    Ok((queues, workers, unreadable))
}

/// One queue's answers, before its oldest job's time is read.
#[derive(Debug, Clone, PartialEq)]
struct Parts {
    /// `LLEN`.
    ready: u64,
    /// `LINDEX 0`: the oldest ready job's id.
    oldest_id: Option<String>,
    /// Its `enqueued_at` (epoch seconds), once read: Some(None) when it is gone or not a time.
    enqueued_at: Option<Option<f64>>,
    /// Due scheduled jobs.
    due: u64,
    /// The earliest scheduled job's score (epoch seconds).
    earliest: Option<f64>,
    /// The oldest id or a count was not what Redis answers for RQ's keys.
    broken: bool,
}

/// A queue's `LLEN`, `LINDEX 0`, `ZCOUNT` and `ZRANGE 0 0 WITHSCORES` answers.
fn parts(
    len: &Value,
    oldest: &Value,
    due: &Value,
    earliest: &Value,
    unreadable: &mut u32,
) -> Parts {
    let mut count = |v: &Value| {
        whole(v).unwrap_or_else(|| {
            *unreadable += 1;
            0
        })
    };
    let ready = count(len);
    let due = count(due);
    let mut broken = false;
    let oldest_id = match oldest {
        Value::Nil => None,
        v => match text(v) {
            Some(id) if !id.is_empty() && id.len() <= MAX_VALUE => Some(id.to_owned()),
            _ => {
                broken = true;
                None
            }
        },
    };
    let earliest = match earliest {
        Value::Array(pair) if pair.is_empty() => None,
        Value::Array(pair) => match pair.as_slice() {
            [_, score] => score_of(score).or_else(|| {
                broken = true;
                None
            }),
            _ => {
                broken = true;
                None
            }
        },
        Value::Map(pairs) => match pairs.as_slice() {
            [] => None,
            [(_, score)] => score_of(score).or_else(|| {
                broken = true;
                None
            }),
            _ => {
                broken = true;
                None
            }
        },
        _ => {
            broken = true;
            None
        }
    };
    Parts {
        ready,
        oldest_id,
        enqueued_at: None,
        due,
        earliest,
        broken,
    }
}

/// A ZSET score: a RESP2 string or a RESP3 double, finite and ≥ 0.
fn score_of(v: &Value) -> Option<f64> {
    let score = match v {
        Value::Double(d) => *d,
        v => text(v)?.parse::<f64>().ok()?,
    };
    (score.is_finite() && score >= 0.0).then_some(score)
}

impl Parts {
    /// The queue: ready and due jobs, waiting since the oldest's enqueue or due time. A
    /// latency that cannot be told (the oldest's hash gone, a time not RQ's) is None, counted.
    fn queue(self, name: String, now: DateTime<Utc>, unreadable: &mut u32) -> Queue {
        let due = if self.due > 0 { self.earliest } else { None };
        let ready = match (&self.oldest_id, self.enqueued_at) {
            (None, _) => Some(None),
            (Some(_), Some(Some(at))) => Some(Some(at)),
            (Some(_), _) => None,
        };
        let latency = if self.broken {
            None
        } else {
            ready.and_then(|ready| {
                let oldest = match (ready, due) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                pg::waited(oldest, now)
            })
        };
        if latency.is_none() {
            *unreadable += 1;
        }
        Queue {
            name,
            depth: self.ready.saturating_add(self.due),
            latency,
        }
    }
}

/// RQ's `utcformat` (`%Y-%m-%dT%H:%M:%S.%fZ`) or the older `%Y-%m-%dT%H:%M:%SZ`, as epoch
/// seconds.
pub fn enqueued_at(t: &str) -> Option<f64> {
    if t.len() > MAX_VALUE {
        return None;
    }
    let naive = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.fZ").ok()?;
    Some(naive.and_utc().timestamp_micros() as f64 / 1e6)
}

enum Heartbeat {
    Live(Worker),
    /// The hash expired, or the worker registered its death.
    Gone,
    Unreadable,
}

/// A worker from its key and `HMGET key state hostname death`.
fn worker(key: &str, fields: &Value) -> Heartbeat {
    let Value::Array(fields) = fields else {
        return Heartbeat::Unreadable;
    };
    let [state, hostname, death] = fields.as_slice() else {
        return Heartbeat::Unreadable;
    };
    if matches!((state, hostname), (Value::Nil, Value::Nil)) || !matches!(death, Value::Nil) {
        return Heartbeat::Gone;
    }
    let Some(name) = key.strip_prefix(WORKER_PREFIX).filter(|n| !n.is_empty()) else {
        return Heartbeat::Unreadable;
    };
    let state = match state {
        Value::Nil => "",
        v => match text(v) {
            Some(s) => s,
            None => return Heartbeat::Unreadable,
        },
    };
    let hostname = match hostname {
        Value::Nil => None,
        v => match text(v) {
            Some(h) if h.len() <= MAX_VALUE => Some(h),
            _ => return Heartbeat::Unreadable,
        },
    };
    // The dyno: the host's name where it is one, else the worker's name where it is one.
    let dyno = match hostname {
        Some(h) if pg::is_dyno_name(h) => Some(h.to_owned()),
        _ if pg::is_dyno_name(name) => Some(name.to_owned()),
        _ => hostname.map(str::to_owned),
    };
    Heartbeat::Live(Worker {
        hostname: dyno,
        running: u64::from(state == "busy"),
        concurrency: Some(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        // 2026-12-07 10:00:00.250 UTC.
        Utc.timestamp_millis_opt(1_796_637_600_250).unwrap()
    }

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn enqueue_times_as_rq_writes_them() {
        assert_eq!(
            enqueued_at("2026-12-07T09:59:15.250000Z"),
            Some(1_796_637_555.25)
        );
        assert_eq!(enqueued_at("2026-12-07T09:59:15Z"), Some(1_796_637_555.0));
        for bad in [
            "",
            "2026-12-07 09:59:15.250000",
            "2026-12-07T09:59:15.250000",
            "2026-12-07T09:59:15.250000+00:00",
            "1796637555",
            "2026-13-07T09:59:15Z",
        ] {
            assert_eq!(enqueued_at(bad), None, "{bad}");
        }
        let long = format!("2026-12-07T09:59:15.{}Z", "0".repeat(MAX_VALUE));
        assert_eq!(enqueued_at(&long), None);
    }

    #[test]
    fn a_queue_from_its_answers() {
        let mut unreadable = 0;
        let mut p = parts(
            &Value::Int(3),
            &bulk("4f1c0b5e6a7d4e8f9a0b1c2d3e4f5a6b"),
            &Value::Int(2),
            &Value::Array(vec![bulk("s1"), bulk("1796637590")]),
            &mut unreadable,
        );
        assert_eq!(
            p.oldest_id.as_deref(),
            Some("4f1c0b5e6a7d4e8f9a0b1c2d3e4f5a6b")
        );
        assert_eq!((p.ready, p.due, p.earliest), (3, 2, Some(1_796_637_590.0)));
        p.enqueued_at = Some(Some(1_796_637_580.25));
        // Ready jobs and due scheduled ones: 5, the oldest 20 s ago.
        assert_eq!(
            p.clone().queue("default".into(), now(), &mut unreadable),
            Queue {
                name: "default".into(),
                depth: 5,
                latency: Some(Duration::from_secs(20)),
            }
        );
        // The due one older than the ready one.
        p.enqueued_at = Some(Some(1_796_637_595.25));
        assert_eq!(
            p.clone().queue("q".into(), now(), &mut unreadable).latency,
            Some(Duration::from_millis(10_250))
        );
        // Scheduled but none due: the earliest does not count.
        let mut later = p.clone();
        later.due = 0;
        later.earliest = Some(1_796_637_000.0);
        assert_eq!(
            later.queue("q".into(), now(), &mut unreadable),
            Queue {
                name: "q".into(),
                depth: 3,
                latency: Some(Duration::from_secs(5)),
            }
        );
        assert_eq!(unreadable, 0);
        // The oldest job's hash is gone: no latency, counted.
        p.enqueued_at = Some(None);
        assert_eq!(p.queue("q".into(), now(), &mut unreadable).latency, None);
        assert_eq!(unreadable, 1);
        // Empty, nothing scheduled (RESP3 answers too).
        let empty = parts(
            &Value::Int(0),
            &Value::Nil,
            &Value::Int(0),
            &Value::Map(vec![]),
            &mut unreadable,
        );
        assert_eq!(
            empty.queue("e".into(), now(), &mut unreadable),
            Queue {
                name: "e".into(),
                depth: 0,
                latency: Some(Duration::ZERO),
            }
        );
        // Only due scheduled jobs (no worker moves them): waiting since their score.
        let due = parts(
            &Value::Int(0),
            &Value::Nil,
            &Value::Int(4),
            &Value::Map(vec![(bulk("s"), Value::Double(1_796_637_500.25))]),
            &mut unreadable,
        );
        assert_eq!(
            due.queue("d".into(), now(), &mut unreadable),
            Queue {
                name: "d".into(),
                depth: 4,
                latency: Some(Duration::from_secs(100)),
            }
        );
        assert_eq!(unreadable, 1);
    }

    #[test]
    fn answers_not_rq_s_are_counted() {
        let mut unreadable = 0;
        let p = parts(
            &bulk("many"),
            &Value::Int(1),
            &Value::Int(-1),
            &Value::Array(vec![bulk("s")]),
            &mut unreadable,
        );
        assert_eq!((p.ready, p.due, p.broken), (0, 0, true));
        assert_eq!(unreadable, 2);
        assert_eq!(p.queue("x".into(), now(), &mut unreadable).latency, None);
        assert_eq!(unreadable, 3);
        for earliest in [
            Value::Array(vec![bulk("s"), bulk("soon")]),
            Value::Array(vec![bulk("s"), bulk("-5")]),
            Value::Array(vec![bulk("s"), bulk("inf")]),
            Value::Map(vec![
                (bulk("a"), Value::Double(1.0)),
                (bulk("b"), Value::Double(2.0)),
            ]),
            Value::Map(vec![(bulk("a"), bulk("NaN"))]),
            Value::Int(3),
        ] {
            let p = parts(
                &Value::Int(1),
                &Value::Nil,
                &Value::Int(1),
                &earliest,
                &mut unreadable,
            );
            assert!(p.broken, "{earliest:?}");
        }
        let long = parts(
            &Value::Int(1),
            &bulk(&"i".repeat(MAX_VALUE + 1)),
            &Value::Int(0),
            &Value::Array(vec![]),
            &mut unreadable,
        );
        assert!(long.broken && long.oldest_id.is_none());
        let within = parts(
            &Value::Int(1),
            &bulk(&"i".repeat(MAX_VALUE)),
            &Value::Int(0),
            &Value::Array(vec![]),
            &mut unreadable,
        );
        assert!(!within.broken && within.oldest_id.is_some());
    }

    #[test]
    fn workers_as_rq_leaves_them() {
        let live = |fields: Vec<Value>| match worker("rq:worker:9f8e7d", &Value::Array(fields)) {
            Heartbeat::Live(w) => w,
            _ => panic!("not live"),
        };
        assert_eq!(
            live(vec![bulk("busy"), bulk("worker.2"), Value::Nil]),
            Worker {
                hostname: Some("worker.2".into()),
                running: 1,
                concurrency: Some(1),
            }
        );
        assert_eq!(
            live(vec![bulk("idle"), bulk("1b2c3d4e-5f60"), Value::Nil]),
            Worker {
                hostname: Some("1b2c3d4e-5f60".into()),
                running: 0,
                concurrency: Some(1),
            }
        );
        // Just born: no state yet.
        assert_eq!(live(vec![Value::Nil, bulk("h"), Value::Nil]).running, 0);
        // Named after its dyno (`rq worker --name $DYNO`), the host a UUID.
        let Heartbeat::Live(w) = worker(
            "rq:worker:worker.3",
            &Value::Array(vec![bulk("busy"), bulk("1b2c3d4e-5f60"), Value::Nil]),
        ) else {
            panic!("not live");
        };
        assert_eq!(w.hostname.as_deref(), Some("worker.3"));
        // Both named like dynos: the host is where it runs.
        let Heartbeat::Live(w) = worker(
            "rq:worker:worker.3",
            &Value::Array(vec![bulk("busy"), bulk("worker.2"), Value::Nil]),
        ) else {
            panic!("not live");
        };
        assert_eq!(w.hostname.as_deref(), Some("worker.2"));
        let gone = [
            Value::Array(vec![Value::Nil, Value::Nil, Value::Nil]),
            Value::Array(vec![
                bulk("idle"),
                bulk("h"),
                bulk("2026-12-07T09:00:00.000000Z"),
            ]),
        ];
        for g in gone {
            assert!(
                matches!(worker("rq:worker:a", &g), Heartbeat::Gone),
                "{g:?}"
            );
        }
        for (key, bad) in [
            ("rq:worker:a", Value::Int(1)),
            ("rq:worker:a", Value::Array(vec![bulk("busy")])),
            (
                "rq:worker:a",
                Value::Array(vec![Value::Int(1), bulk("h"), Value::Nil]),
            ),
            (
                "rq:worker:a",
                Value::Array(vec![bulk("busy"), Value::Int(1), Value::Nil]),
            ),
            (
                "rq:worker:a",
                Value::Array(vec![
                    bulk("busy"),
                    bulk(&"h".repeat(MAX_VALUE + 1)),
                    Value::Nil,
                ]),
            ),
            (
                "rq:worker:",
                Value::Array(vec![bulk("busy"), bulk("h"), Value::Nil]),
            ),
            (
                "worker:a",
                Value::Array(vec![bulk("busy"), bulk("h"), Value::Nil]),
            ),
        ] {
            assert!(
                matches!(worker(key, &bad), Heartbeat::Unreadable),
                "{key} {bad:?}"
            );
        }
    }

    #[test]
    fn a_database_select_refused_for_want_of_a_password_is_refused() {
        use super::super::sidekiq::refused;
        let select = redis::RedisError::from((
            redis::ErrorKind::Server(redis::ServerErrorKind::ResponseError),
            "Redis server refused to switch database",
            "Authentication required.".to_owned(),
        ));
        assert!(refused(&select));
        let other = redis::RedisError::from((
            redis::ErrorKind::Server(redis::ServerErrorKind::ResponseError),
            "Redis server refused to switch database",
            "DB index is out of range".to_owned(),
        ));
        assert!(!refused(&other));
    }

    #[test]
    fn urls_are_never_shown_with_their_password() {
        let rq = Rq::new(
            "rediss://:hunter2@example.com:6380",
            false,
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(rq.shown(), "rediss://***@example.com:6380");
        assert!(!format!("{rq:?}").contains("hunter2"));
        let e = Rq::new("http://:hunter2@x", true, Duration::from_secs(1)).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
