//! Resque, read straight from its Redis: what resque-web's overview shows — depth only (a
//! Resque job carries no enqueue time), the jobs running and the jobs processed, in two
//! pipelined round trips.
//!
//! The keys, from Resque's own source (resque/resque 3.0.0: `lib/resque.rb`,
//! `lib/resque/data_store.rb`, `lib/resque/worker.rb`, `lib/resque/job.rb`), all in the
//! `resque` namespace (`Redis::Namespace.new(:resque, …)`, the default of `Resque.redis=`):
//! - set `resque:queues` (`watch_queue`, at every push) and list `resque:queue:NAME`
//!   (`push_to_queue`: `RPUSH`; `pop_from_queue`: `LPOP`): a queue's size is its `LLEN`
//!   (`queue_size`). A job is `{"class":…,"args":[…]}` (`Job.create`): no time — each queue's
//!   latency is None (not counted unreadable), the totals' latency zero;
//! - set `resque:workers`: the workers' ids, `HOSTNAME:PID:QUEUES` (`Worker#to_s`, the host
//!   from `Socket.gethostname`); string `resque:worker:ID` while the worker runs a job
//!   (`working_on` sets it, `done_working` deletes it): busy. A worker runs one job at a time
//!   (a forked child per job): a dyno's concurrency is its live workers;
//! - hash `resque:workers:heartbeat` (`heartbeat!`, every `heartbeat_interval`, 60 s): a worker
//!   whose heartbeat is older than `prune_interval` (300 s, `DEFAULT_PRUNE_INTERVAL`) is dead
//!   (`all_workers_with_expired_heartbeats`) — left out here, before Resque prunes it; one
//!   without a heartbeat is taken as live, as Resque does;
//! - string `resque:stat:processed`: every job done (`done_working` → `processed!`, failed or
//!   not): the done counter.
//!
//! Untrusted input: the sets are read with `SRANDMEMBER key N+1` (more than [`MAX_QUEUES`]
//! queues is refused: name them in AUTOSCALE_QUEUES); values not Resque's are counted
//! ([`StoreRead::unreadable`]), never a panic. Known limit: a namespace other than `resque`
//! is not read.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::Value;

use super::pg::{self, Worker};
use super::redis::Redis;
use super::sidekiq::{names, text, whole, MAX_PROCESSES, MAX_QUEUES};
use super::{Error, Queue, StoreRead, Totals};

/// Resque's `DEFAULT_PRUNE_INTERVAL`: a heartbeat older than this is a dead worker's.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(300);

const QUEUES: &str = "resque:queues";
const WORKERS: &str = "resque:workers";
const HEARTBEATS: &str = "resque:workers:heartbeat";
const PROCESSED: &str = "resque:stat:processed";

/// A Resque store.
#[derive(Debug)]
pub struct Resque {
    redis: Redis,
}

impl Resque {
    /// A store at `url` (`redis://` or `rediss://`, `verify_tls` as for Sidekiq); nothing is
    /// sent before the first read, which is bounded by `timeout`.
    pub fn new(url: &str, verify_tls: bool, timeout: Duration) -> Result<Resque, Error> {
        Ok(Resque {
            redis: Redis::new(url, verify_tls, timeout)?,
        })
    }

    /// The URL as it may be printed.
    pub fn shown(&self) -> &str {
        self.redis.shown()
    }

    /// One read: `queues` (every queue of `resque:queues` when None), the jobs running on
    /// `process_type`'s dynos, `stat:processed`; workers judged live at `now`.
    pub async fn read(
        &mut self,
        queues: Option<&[String]>,
        process_type: &str,
        now: DateTime<Utc>,
    ) -> Result<StoreRead, Error> {
        let timeout = self.redis.timeout();
        let out = tokio::time::timeout(timeout, read_once(&mut self.redis, queues, now)).await;
        let (queues, workers, processed, unreadable) = self.redis.settle(out)?;
        let (busy, concurrency) = pg::busy(&workers, process_type);
        let (depth, latency) = pg::sums(&queues, &[]);
        Ok(StoreRead {
            queues,
            totals: Totals {
                depth,
                latency,
                busy: Some(busy),
                done_counter: processed,
                concurrency,
            },
            stopping: None,
            unreadable,
        })
    }
}

type Read = (Vec<Queue>, Vec<Worker>, Option<u64>, u32);

async fn read_once(
    redis: &mut Redis,
    queues: Option<&[String]>,
    now: DateTime<Utc>,
) -> Result<Read, Error> {
    let mut unreadable = 0u32;
    // Round trip 1: the names, bounded, and the counter.
    let mut pipe = redis::pipe();
    pipe.cmd("SRANDMEMBER")
        .arg(WORKERS)
        .arg(MAX_PROCESSES + 1)
        .cmd("GET")
        .arg(PROCESSED);
    if queues.is_none() {
        pipe.cmd("SRANDMEMBER").arg(QUEUES).arg(MAX_QUEUES + 1);
    }
    let first = redis.query(&pipe).await?;
    let ids: Vec<String> = names(first.first(), &mut unreadable).into_iter().collect();
    if ids.len() > MAX_PROCESSES {
        return Err(Error::TooMany {
            url: redis.shown().to_owned(),
            key: WORKERS,
            max: MAX_PROCESSES,
            hint: "",
        });
    }
    let processed = match first.get(1) {
        None | Some(Value::Nil) => Some(0),
        Some(v) => whole(v),
    };
    if processed.is_none() {
        unreadable += 1;
    }
    let queue_names: Vec<String> = match queues {
        Some(given) => given
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        None => {
            let found = names(first.get(2), &mut unreadable);
            if found.len() > MAX_QUEUES {
                return Err(pg::too_many(redis.shown(), QUEUES));
            }
            found.into_iter().collect()
        }
    };

    // Round trip 2: per queue its length; per worker whether it runs a job; the heartbeats.
    let mut pipe = redis::pipe();
    for name in &queue_names {
        pipe.cmd("LLEN").arg(format!("resque:queue:{name}"));
    }
    for id in &ids {
        pipe.cmd("EXISTS").arg(format!("resque:worker:{id}"));
    }
    if !ids.is_empty() {
        pipe.cmd("HMGET").arg(HEARTBEATS).arg(&ids);
    }
    let second = redis.query(&pipe).await?;
    let (lengths, rest) = second.split_at(queue_names.len());
    let (working, beats) = rest.split_at(ids.len());
    let beats: &[Value] = match beats.first() {
        Some(Value::Array(beats)) if beats.len() == ids.len() => beats,
        Some(_) => {
            unreadable += 1;
            &[]
        }
        None => &[],
    };
    let queues = queue_names
        .into_iter()
        .zip(lengths)
        .map(|(name, len)| Queue {
            name,
            depth: whole(len).unwrap_or_else(|| {
                unreadable += 1;
                0
            }),
            latency: None,
        })
        .collect();
    let mut workers = Vec::with_capacity(ids.len());
    for (i, (id, running)) in ids.iter().zip(working).enumerate() {
        match worker(id, running, beats.get(i).unwrap_or(&Value::Nil), now) {
            Heartbeat::Live(w) => workers.push(w),
            Heartbeat::Dead => {}
            Heartbeat::Unreadable => unreadable += 1,
        }
    }
    Ok((queues, workers, processed, unreadable))
}

enum Heartbeat {
    Live(Worker),
    /// Its heartbeat is older than [`PRUNE_INTERVAL`].
    Dead,
    Unreadable,
}

/// A worker from its id (`HOSTNAME:PID:QUEUES`), `EXISTS resque:worker:ID` and its heartbeat
/// (ISO 8601, or none).
fn worker(id: &str, running: &Value, beat: &Value, now: DateTime<Utc>) -> Heartbeat {
    let Some((host, _)) = id.split_once(':').filter(|(h, _)| !h.is_empty()) else {
        return Heartbeat::Unreadable;
    };
    let running = match whole(running) {
        Some(n @ (0 | 1)) => n,
        _ => return Heartbeat::Unreadable,
    };
    match beat {
        Value::Nil => {}
        v => match text(v).and_then(|t| DateTime::parse_from_rfc3339(t).ok()) {
            Some(at) => {
                let age = now.signed_duration_since(at.with_timezone(&Utc));
                if age.num_seconds() > PRUNE_INTERVAL.as_secs() as i64 {
                    return Heartbeat::Dead;
                }
            }
            None => return Heartbeat::Unreadable,
        },
    }
    Heartbeat::Live(Worker {
        hostname: Some(host.to_owned()),
        running,
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

    fn live(id: &str, running: i64, beat: Value) -> Worker {
        match worker(id, &Value::Int(running), &beat, now()) {
            Heartbeat::Live(w) => w,
            _ => panic!("not live"),
        }
    }

    #[test]
    fn workers_as_resque_leaves_them() {
        assert_eq!(
            live(
                "worker.1:4:critical,default",
                1,
                bulk("2026-12-07T09:59:30+00:00")
            ),
            Worker {
                hostname: Some("worker.1".into()),
                running: 1,
                concurrency: Some(1),
            }
        );
        // No heartbeat yet: live, as Resque takes it.
        assert_eq!(live("worker.2:5:*", 0, Value::Nil).running, 0);
        // A heartbeat 300 s old is still live; 301 s is dead.
        assert_eq!(
            live("w:1:q", 0, bulk("2026-12-07T09:55:00Z"))
                .hostname
                .as_deref(),
            Some("w")
        );
        assert!(matches!(
            worker(
                "w:1:q",
                &Value::Int(1),
                &bulk("2026-12-07T09:54:59Z"),
                now()
            ),
            Heartbeat::Dead
        ));
        for (id, running, beat) in [
            ("nocolon", Value::Int(0), Value::Nil),
            (":4:q", Value::Int(0), Value::Nil),
            ("w:1:q", Value::Int(2), Value::Nil),
            ("w:1:q", bulk("x"), Value::Nil),
            ("w:1:q", Value::Int(0), bulk("yesterday")),
            ("w:1:q", Value::Int(0), Value::Int(5)),
        ] {
            assert!(
                matches!(worker(id, &running, &beat, now()), Heartbeat::Unreadable),
                "{id} {running:?} {beat:?}"
            );
        }
    }

    #[test]
    fn urls_are_never_shown_with_their_password() {
        let r = Resque::new(
            "rediss://:hunter2@example.com:6380",
            false,
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(r.shown(), "rediss://***@example.com:6380");
        assert!(!format!("{r:?}").contains("hunter2"));
    }
}
