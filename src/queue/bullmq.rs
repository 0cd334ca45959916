//! BullMQ 5 and 6 (Node.js), read straight from its Redis: what `Queue.getJobCounts` and the
//! next jobs show, in pipelined round trips, no full scan of anything.
//!
//! The keys, from BullMQ's own source (taskforcesh/bullmq 6.2.0: `src/classes/queue-keys.ts`,
//! `src/commands/addStandardJob-9.lua`, `addPrioritizedJob-9.lua`, `addDelayedJob-6.lua`,
//! `moveToDelayed-12.lua`, `retryJob-11.lua`, `pause-7.lua`, and `includes/storeJob.lua`,
//! `getDelayedScore.lua`, `promoteDelayedJobs.lua`, `fetchNextJob.lua`,
//! `prepareJobForProcessing.lua`), with the default prefix `bull`:
//! - list `bull:Q:wait`: the ready job ids, `LPUSH`ed (`RPUSH` for `lifo`) and taken with
//!   `RPOPLPUSH` into `bull:Q:active`: the next to run is at index −1;
//! - ZSET `bull:Q:prioritized`: the ready jobs with a priority, scored `priority × 2³² +
//!   counter`: the next to run is the lowest score;
//! - ZSET `bull:Q:delayed`: jobs for later (and retries with a backoff), scored `due ms ×
//!   0x1000 + n`. A worker promotes those due when it fetches (`promoteDelayedJobs`, score below
//!   `(now + 1) × 0x1000`): with no worker running they stay there, due — counted as ready,
//!   waiting since their due time;
//! - list `bull:Q:active`: the jobs running (BullMQ records no worker per job: busy is every
//!   worker's, whatever its dyno);
//! - hash `bull:Q:meta`: `paused` set while the queue is paused (its jobs are not fetched:
//!   listed, left out of the totals, as for Solid Queue's pauses). Every queue that ever had a
//!   job has it (`getOrSetMaxEvents`): the queues are found by a bounded `SCAN` for
//!   `bull:*:meta` when AUTOSCALE_QUEUES does not name them;
//! - hash `bull:Q:ID` (`storeJob`): `timestamp` (epoch ms, the job's creation), `opts` (JSON,
//!   with `delay` in ms), `processedOn` (epoch ms, when its last attempt started,
//!   `prepareJobForProcessing`). A job is ready since `max(timestamp + opts.delay,
//!   processedOn)`: exact for a new or delayed job; for a retried one the start of the attempt
//!   that failed (its run time and backoff count as waiting — the store keeps no later time).
//!
//! BullMQ keeps no counter of jobs finished and no worker's concurrency in Redis: no
//! `done_counter`, no concurrency.
//!
//! Untrusted input: the `SCAN` is bounded ([`super::redis::SCAN_CALLS`] calls of
//! [`super::redis::SCAN_COUNT`]); a store
//! whose keys it does not cover, or more than [`MAX_QUEUES`] queues, is refused (name them in
//! AUTOSCALE_QUEUES); an `opts` longer than [`MAX_OPTS`] is not parsed; values not BullMQ's are
//! counted ([`StoreRead::unreadable`]), never a panic.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::Value;
use serde::Deserialize;

use super::pg;
use super::redis::Redis;
use super::sidekiq::{text, whole, MAX_QUEUES};
use super::{Error, Queue, StoreRead, Totals};

/// The longest job id or queue name taken.
pub const MAX_NAME: usize = 512;
/// The largest job `opts` JSON parsed (a few hundred bytes in BullMQ).
pub const MAX_OPTS: usize = 64 * 1024;
/// BullMQ's default key prefix (`QueueKeys`' `prefix = 'bull'`).
const PREFIX: &str = "bull";

/// A BullMQ store.
#[derive(Debug)]
pub struct Bullmq {
    redis: Redis,
}

impl Bullmq {
    /// A store at `url` (`redis://` or `rediss://`, `verify_tls` as for Sidekiq); nothing is
    /// sent before the first read, which is bounded by `timeout`.
    pub fn new(url: &str, verify_tls: bool, timeout: Duration) -> Result<Bullmq, Error> {
        Ok(Bullmq {
            redis: Redis::new(url, verify_tls, timeout)?,
        })
    }

    /// The URL as it may be printed.
    pub fn shown(&self) -> &str {
        self.redis.shown()
    }

    /// One read: `queues` (every queue with a `bull:Q:meta` when None); latencies counted up
    /// to `now`.
    pub async fn read(
        &mut self,
        queues: Option<&[String]>,
        now: DateTime<Utc>,
    ) -> Result<StoreRead, Error> {
        let timeout = self.redis.timeout();
        let out = tokio::time::timeout(timeout, read_once(&mut self.redis, queues, now)).await;
        let (queues, paused, busy, unreadable) = self.redis.settle(out)?;
        let (depth, latency) = pg::sums(&queues, &paused);
        Ok(StoreRead {
            queues,
            totals: Totals {
                depth,
                latency,
                busy: Some(busy),
                done_counter: None,
                concurrency: None,
            },
            stopping: None,
            unreadable,
        })
    }
}

/// The queues' names from the `SCAN` for `bull:*:meta`, bounded.
async fn discover(redis: &mut Redis, unreadable: &mut u32) -> Result<Vec<String>, Error> {
    let keys = redis.scan("bull:*:meta", unreadable).await?;
    let mut found = BTreeSet::new();
    for key in &keys {
        match queue_of_meta(key) {
            Some(name) => {
                found.insert(name.to_owned());
            }
            None => *unreadable += 1,
        }
    }
    if found.len() > MAX_QUEUES {
        return Err(pg::too_many(redis.shown(), "bull:*:meta"));
    }
    Ok(found.into_iter().collect())
}

/// `bull:Q:meta` → `Q` (a name of at most [`MAX_NAME`] bytes).
fn queue_of_meta(key: &str) -> Option<&str> {
    let name = key.strip_prefix("bull:")?.strip_suffix(":meta")?;
    (!name.is_empty() && name.len() <= MAX_NAME).then_some(name)
}

/// The commands per queue in round trip 2.
const PER_QUEUE: usize = 8;

type Read = (Vec<Queue>, Vec<String>, u64, u32);

async fn read_once(
    redis: &mut Redis,
    queues: Option<&[String]>,
    now: DateTime<Utc>,
) -> Result<Read, Error> {
    let mut unreadable = 0u32;
    let names: Vec<String> = match queues {
        Some(given) => given
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        None => discover(redis, &mut unreadable).await?,
    };
    let now_ms = now.timestamp_millis();
    let due_below = now_ms.saturating_add(1).saturating_mul(0x1000) - 1;
    let mut pipe = redis::pipe();
    for name in &names {
        let key = |part: &str| format!("{PREFIX}:{name}:{part}");
        pipe.cmd("LLEN")
            .arg(key("wait"))
            .cmd("LINDEX")
            .arg(key("wait"))
            .arg(-1)
            .cmd("ZCARD")
            .arg(key("prioritized"))
            .cmd("ZRANGE")
            .arg(key("prioritized"))
            .arg(0)
            .arg(0)
            .cmd("ZCOUNT")
            .arg(key("delayed"))
            .arg(0)
            .arg(due_below)
            .cmd("ZRANGE")
            .arg(key("delayed"))
            .arg(0)
            .arg(0)
            .arg("WITHSCORES")
            .cmd("LLEN")
            .arg(key("active"))
            .cmd("HGET")
            .arg(key("meta"))
            .arg("paused");
    }
    let second = redis.query(&pipe).await?;
    let mut parts: Vec<Parts> = second
        .chunks_exact(PER_QUEUE)
        .map(|a| parts(a, &mut unreadable))
        .collect();
    // Round trip 3: the next jobs' times.
    let mut pipe = redis::pipe();
    let mut asked = Vec::new();
    for (i, (name, p)) in names.iter().zip(&parts).enumerate() {
        for (slot, id) in [(0, &p.next_waiting), (1, &p.next_prioritized)] {
            if let Some(id) = id {
                pipe.cmd("HMGET")
                    .arg(format!("{PREFIX}:{name}:{id}"))
                    .arg("timestamp")
                    .arg("processedOn")
                    .arg("opts");
                asked.push((i, slot));
            }
        }
    }
    let third = redis.query(&pipe).await?;
    for ((i, slot), answer) in asked.into_iter().zip(&third) {
        parts[i].since[slot] = Some(ready_since(answer));
    }
    let mut busy = 0u64;
    let mut paused = Vec::new();
    let mut out = Vec::with_capacity(names.len());
    for (name, p) in names.into_iter().zip(parts) {
        busy = busy.saturating_add(p.active);
        if p.paused {
            paused.push(name.clone());
        }
        out.push(p.queue(name, now, &mut unreadable));
    }
    Ok((out, paused, busy, unreadable))
}

/// One queue's answers, before its next jobs' times are read.
#[derive(Debug, Clone, PartialEq)]
struct Parts {
    waiting: u64,
    next_waiting: Option<String>,
    prioritized: u64,
    next_prioritized: Option<String>,
    due: u64,
    /// The earliest delayed job's due time (epoch ms).
    earliest_ms: Option<i64>,
    active: u64,
    paused: bool,
    /// The next waiting and next prioritized job's ready time (epoch ms), once read: Some(None)
    /// when it is gone or not BullMQ's.
    since: [Option<Option<i64>>; 2],
    /// An answer was not what Redis answers for BullMQ's keys.
    broken: bool,
}

/// A queue's eight answers: `LLEN wait`, `LINDEX wait -1`, `ZCARD prioritized`, `ZRANGE
/// prioritized 0 0`, `ZCOUNT delayed 0 DUE`, `ZRANGE delayed 0 0 WITHSCORES`, `LLEN active`,
/// `HGET meta paused`.
fn parts(a: &[Value], unreadable: &mut u32) -> Parts {
    let mut count = |v: &Value| {
        whole(v).unwrap_or_else(|| {
            *unreadable += 1;
            0
        })
    };
    let (waiting, prioritized, due, active) =
        (count(&a[0]), count(&a[2]), count(&a[4]), count(&a[6]));
    let mut broken = false;
    let mut id = |v: &Value| match v {
        Value::Nil => None,
        Value::Array(items) if items.is_empty() => None,
        Value::Array(items) if items.len() == 1 => job_id(&items[0]).or_else(|| {
            broken = true;
            None
        }),
        v => job_id(v).or_else(|| {
            broken = true;
            None
        }),
    };
    let next_waiting = id(&a[1]);
    let next_prioritized = id(&a[3]);
    let earliest_ms = match &a[5] {
        Value::Array(items) if items.is_empty() => None,
        Value::Map(items) if items.is_empty() => None,
        Value::Array(items) => match items.as_slice() {
            [_, score] => due_ms(score),
            _ => None,
        }
        .or_else(|| {
            broken = true;
            None
        }),
        Value::Map(items) => match items.as_slice() {
            [(_, score)] => due_ms(score),
            _ => None,
        }
        .or_else(|| {
            broken = true;
            None
        }),
        _ => {
            broken = true;
            None
        }
    };
    Parts {
        waiting,
        next_waiting,
        prioritized,
        next_prioritized,
        due,
        earliest_ms,
        active,
        paused: !matches!(a[7], Value::Nil),
        since: [None, None],
        broken,
    }
}

/// A job id as Redis answers it.
fn job_id(v: &Value) -> Option<String> {
    text(v)
        .filter(|id| !id.is_empty() && id.len() <= MAX_NAME)
        .map(str::to_owned)
}

/// A delayed job's due time (epoch ms) from its score (`due ms × 0x1000 + n`).
fn due_ms(score: &Value) -> Option<i64> {
    let score = match score {
        Value::Double(d) => *d,
        v => text(v)?.parse::<f64>().ok()?,
    };
    if !(0.0..9.0e18).contains(&score) {
        return None;
    }
    Some((score / 4096.0).floor() as i64)
}

#[derive(Deserialize)]
struct Opts {
    delay: Option<serde_json::Number>,
}

/// When a job became ready (epoch ms) from `HMGET bull:Q:ID timestamp processedOn opts`:
/// `max(timestamp + opts.delay, processedOn)`; None when the hash is gone or its `timestamp`
/// is not a time.
fn ready_since(answer: &Value) -> Option<i64> {
    let Value::Array(fields) = answer else {
        return None;
    };
    let [timestamp, processed_on, opts] = fields.as_slice() else {
        return None;
    };
    let millis = |v: &Value| -> Option<i64> { whole(v).and_then(|n| i64::try_from(n).ok()) };
    let created = millis(timestamp).filter(|&t| t > 0)?;
    let delay = match opts {
        Value::BulkString(b) if b.len() <= MAX_OPTS => serde_json::from_slice::<Opts>(b)
            .ok()
            .and_then(|o| o.delay)
            .and_then(|d| d.as_u64().or_else(|| d.as_f64().map(|f| f.max(0.0) as u64)))
            .and_then(|d| i64::try_from(d).ok())
            .unwrap_or(0),
        _ => 0,
    };
    let started = match processed_on {
        Value::Nil => None,
        v => millis(v),
    };
    Some(created.saturating_add(delay).max(started.unwrap_or(0)))
}

impl Parts {
    /// The queue: waiting, prioritized and due delayed jobs, waiting since the oldest of the
    /// next ones' ready times and the earliest due time. A time that cannot be told is None,
    /// counted.
    fn queue(self, name: String, now: DateTime<Utc>, unreadable: &mut u32) -> Queue {
        let mut oldest: Option<i64> = None;
        let mut known = !self.broken;
        for (id, since) in [&self.next_waiting, &self.next_prioritized]
            .into_iter()
            .zip(self.since)
        {
            if id.is_some() {
                match since {
                    Some(Some(t)) => oldest = Some(oldest.map_or(t, |o| o.min(t))),
                    _ => known = false,
                }
            }
        }
        if self.due > 0 {
            if let Some(t) = self.earliest_ms {
                oldest = Some(oldest.map_or(t, |o| o.min(t)));
            }
        }
        let latency = if known {
            Some(Duration::from_millis(
                oldest.map_or(0, |t| now.timestamp_millis().saturating_sub(t).max(0)) as u64,
            ))
        } else {
            None
        };
        if latency.is_none() {
            *unreadable += 1;
        }
        Queue {
            name,
            depth: self
                .waiting
                .saturating_add(self.prioritized)
                .saturating_add(self.due),
            latency,
        }
    }
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

    const NOW_MS: i64 = 1_796_637_600_250;

    #[test]
    fn meta_keys_name_queues() {
        assert_eq!(queue_of_meta("bull:mail:meta"), Some("mail"));
        assert_eq!(queue_of_meta("bull:a:b:meta"), Some("a:b"));
        assert_eq!(queue_of_meta("bull::meta"), None);
        assert_eq!(queue_of_meta("bull:mail:wait"), None);
        assert_eq!(queue_of_meta("other:mail:meta"), None);
        let long = format!("bull:{}:meta", "q".repeat(MAX_NAME + 1));
        assert_eq!(queue_of_meta(&long), None);
        let within = format!("bull:{}:meta", "q".repeat(MAX_NAME));
        assert!(queue_of_meta(&within).is_some());
    }

    #[test]
    fn due_times_from_scores() {
        let score = (NOW_MS as f64) * 4096.0 + 7.0;
        assert_eq!(due_ms(&Value::Double(score)), Some(NOW_MS));
        assert_eq!(due_ms(&bulk(&format!("{}", NOW_MS * 4096))), Some(NOW_MS));
        for bad in [
            bulk("x"),
            bulk("-1"),
            bulk("inf"),
            Value::Double(f64::NAN),
            Value::Int(3),
        ] {
            assert_eq!(due_ms(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ready_since_a_job_s_times() {
        let job = |t: &str, p: Option<&str>, o: &str| {
            Value::Array(vec![bulk(t), p.map_or(Value::Nil, bulk), bulk(o)])
        };
        // New: its timestamp.
        assert_eq!(
            ready_since(&job("1796637555000", None, r#"{"attempts":3}"#)),
            Some(1_796_637_555_000)
        );
        // Delayed 5 s at its creation.
        assert_eq!(
            ready_since(&job(
                "1796637555000",
                None,
                r#"{"delay":5000,"attempts":0}"#
            )),
            Some(1_796_637_560_000)
        );
        // Retried: the start of the attempt that failed.
        assert_eq!(
            ready_since(&job(
                "1796637500000",
                Some("1796637590000"),
                r#"{"delay":0}"#
            )),
            Some(1_796_637_590_000)
        );
        // opts not parsed: no delay.
        let long = format!(r#"{{"delay":5000,"pad":"{}"}}"#, "x".repeat(MAX_OPTS));
        assert_eq!(
            ready_since(&job("1796637555000", None, &long)),
            Some(1_796_637_555_000)
        );
        assert_eq!(
            ready_since(&job("1796637555000", None, "{")),
            Some(1_796_637_555_000)
        );
        // Gone, or no time.
        for bad in [
            Value::Array(vec![Value::Nil, Value::Nil, Value::Nil]),
            job("soon", None, "{}"),
            job("0", None, "{}"),
            job("-5", None, "{}"),
            Value::Array(vec![bulk("1")]),
            Value::Int(1),
        ] {
            assert_eq!(ready_since(&bad), None, "{bad:?}");
        }
    }

    fn answers(wait_next: Value, prio_next: Value, earliest: Value, paused: Value) -> Vec<Value> {
        vec![
            Value::Int(3),
            wait_next,
            Value::Int(2),
            prio_next,
            Value::Int(1),
            earliest,
            Value::Int(4),
            paused,
        ]
    }

    #[test]
    fn a_queue_from_its_answers() {
        let mut unreadable = 0;
        let score = ((NOW_MS - 90_000) * 4096).to_string();
        let mut p = parts(
            &answers(
                bulk("17"),
                Value::Array(vec![bulk("12")]),
                Value::Array(vec![bulk("9"), bulk(&score)]),
                Value::Nil,
            ),
            &mut unreadable,
        );
        assert_eq!(
            (p.waiting, p.prioritized, p.due, p.active, p.paused),
            (3, 2, 1, 4, false)
        );
        assert_eq!(p.next_waiting.as_deref(), Some("17"));
        assert_eq!(p.next_prioritized.as_deref(), Some("12"));
        assert_eq!(p.earliest_ms, Some(NOW_MS - 90_000));
        p.since = [Some(Some(NOW_MS - 20_000)), Some(Some(NOW_MS - 45_000))];
        assert_eq!(
            p.clone().queue("q".into(), now(), &mut unreadable),
            Queue {
                name: "q".into(),
                depth: 6,
                latency: Some(Duration::from_secs(90)),
            }
        );
        // Nothing due: the prioritized one is the oldest.
        let mut later = p.clone();
        later.due = 0;
        assert_eq!(
            later.queue("q".into(), now(), &mut unreadable).latency,
            Some(Duration::from_secs(45))
        );
        assert_eq!(unreadable, 0);
        // A next job whose hash is gone: unknown, counted.
        p.since[1] = Some(None);
        assert_eq!(p.queue("q".into(), now(), &mut unreadable).latency, None);
        assert_eq!(unreadable, 1);
        // Empty and paused (RESP3 answers).
        let empty = parts(
            &[
                Value::Int(0),
                Value::Nil,
                Value::Int(0),
                Value::Array(vec![]),
                Value::Int(0),
                Value::Map(vec![]),
                Value::Int(0),
                bulk("1"),
            ],
            &mut unreadable,
        );
        assert!(empty.paused);
        assert_eq!(
            empty.queue("e".into(), now(), &mut unreadable),
            Queue {
                name: "e".into(),
                depth: 0,
                latency: Some(Duration::ZERO),
            }
        );
        // From the future (clocks apart): zero.
        let mut ahead = parts(
            &answers(
                bulk("1"),
                Value::Array(vec![]),
                Value::Array(vec![]),
                Value::Nil,
            ),
            &mut unreadable,
        );
        ahead.since[0] = Some(Some(NOW_MS + 5_000));
        assert_eq!(
            ahead.queue("a".into(), now(), &mut unreadable).latency,
            Some(Duration::ZERO)
        );
        assert_eq!(unreadable, 1);
    }

    #[test]
    fn answers_not_bullmq_s_are_counted() {
        let mut unreadable = 0;
        let p = parts(
            &[
                bulk("many"),
                Value::Int(5),
                Value::Int(-1),
                Value::Array(vec![bulk("a"), bulk("b")]),
                bulk("x"),
                Value::Array(vec![bulk("9")]),
                Value::Nil,
                Value::Nil,
            ],
            &mut unreadable,
        );
        assert_eq!((p.waiting, p.prioritized, p.due, p.active), (0, 0, 0, 0));
        assert_eq!(unreadable, 4);
        assert!(p.broken);
        assert_eq!(p.queue("x".into(), now(), &mut unreadable).latency, None);
        assert_eq!(unreadable, 5);
        // RESP3: WITHSCORES as a map.
        let map = parts(
            &answers(
                Value::Nil,
                Value::Array(vec![]),
                Value::Map(vec![(bulk("9"), Value::Double(NOW_MS as f64 * 4096.0))]),
                Value::Nil,
            ),
            &mut unreadable,
        );
        assert_eq!((map.earliest_ms, map.broken), (Some(NOW_MS), false));
        // ZRANGE 0 0 answers one member at most.
        let two = parts(
            &answers(
                Value::Nil,
                Value::Array(vec![bulk("a"), bulk("b")]),
                Value::Array(vec![]),
                Value::Nil,
            ),
            &mut unreadable,
        );
        assert!(two.broken && two.next_prioritized.is_none());
        let long = parts(
            &answers(
                bulk(&"i".repeat(MAX_NAME + 1)),
                Value::Array(vec![]),
                Value::Array(vec![]),
                Value::Nil,
            ),
            &mut unreadable,
        );
        assert!(long.broken && long.next_waiting.is_none());
    }

    #[test]
    fn urls_are_never_shown_with_their_password() {
        let b = Bullmq::new(
            "rediss://:hunter2@example.com:6380",
            false,
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(b.shown(), "rediss://***@example.com:6380");
        assert!(!format!("{b:?}").contains("hunter2"));
    }
}
