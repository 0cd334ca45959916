//! Celery with its Redis broker (kombu's Redis transport), read straight from the Redis: how
//! many messages wait in each queue — depth only.
//!
//! The keys, from kombu's own source (celery/kombu 5.6.2, `kombu/transport/redis.py`):
//! - list `NAME`: a queue's messages (`_put`: `LPUSH`; `_get`/`BRPOP` take from the right), with
//!   one list per priority step besides: `NAME\x06\x16N` for the steps 3, 6 and 9
//!   (`PRIORITY_STEPS = [0, 3, 6, 9]`, `sep = '\x06\x16'`, `_q_for_pri`; step 0 is `NAME`
//!   itself). A queue's size is the four lengths summed (`_size`), as Celery's own
//!   `celery inspect`/Flower count it;
//! - set `_kombu.binding.EXCHANGE` (`keyprefix_queue`, `_queue_bind`): one member per queue
//!   bound to the exchange, `ROUTING_KEY\x06\x16PATTERN\x06\x16QUEUE`. The queues are found
//!   there (a bounded `SCAN` for `_kombu.binding.*`) when AUTOSCALE_QUEUES does not name them;
//!   the workers' control and event exchanges (`*.pidbox`, `celeryev`: fanout, their messages
//!   are published, never listed) are skipped.
//!
//! A message is kombu's JSON envelope (`body`, `headers`, `properties`): Celery's protocol 2
//! headers carry no time it was sent (`eta` is when it may run; a worker takes an ETA task at
//! once and holds it, unacknowledged, until then) — so no latency: each queue's latency is
//! None (not counted unreadable), the totals' latency zero, and the policy scales on the depth.
//! Running tasks are not in the broker (acknowledged when received, by default): no busy. No
//! counter of tasks done, no concurrency.
//!
//! Known limits: kombu's `global_keyprefix` and non-default `priority_steps` are not read.

use std::collections::BTreeSet;
use std::time::Duration;

use redis::Value;

use super::pg;
use super::redis::Redis;
use super::sidekiq::{names, whole, MAX_QUEUES};
use super::{Error, Queue, StoreRead, Totals};

/// kombu's separator of a priority list's suffix and of a binding's fields.
const SEP: &str = "\x06\x16";
/// kombu's default priority steps above 0 (`PRIORITY_STEPS`).
const STEPS: [u8; 3] = [3, 6, 9];

/// A Celery store (its Redis broker).
#[derive(Debug)]
pub struct Celery {
    redis: Redis,
}

impl Celery {
    /// A store at `url` (`redis://` or `rediss://`, `verify_tls` as for Sidekiq); nothing is
    /// sent before the first read, which is bounded by `timeout`.
    pub fn new(url: &str, verify_tls: bool, timeout: Duration) -> Result<Celery, Error> {
        Ok(Celery {
            redis: Redis::new(url, verify_tls, timeout)?,
        })
    }

    /// The URL as it may be printed.
    pub fn shown(&self) -> &str {
        self.redis.shown()
    }

    /// One read: `queues` (every queue bound in `_kombu.binding.*` when None).
    pub async fn read(&mut self, queues: Option<&[String]>) -> Result<StoreRead, Error> {
        let timeout = self.redis.timeout();
        let out = tokio::time::timeout(timeout, read_once(&mut self.redis, queues)).await;
        let (queues, unreadable) = self.redis.settle(out)?;
        let (depth, latency) = pg::sums(&queues, &[]);
        Ok(StoreRead {
            queues,
            totals: Totals {
                depth,
                latency,
                busy: None,
                done_counter: None,
                concurrency: None,
            },
            stopping: None,
            unreadable,
        })
    }
}

async fn read_once(
    redis: &mut Redis,
    queues: Option<&[String]>,
) -> Result<(Vec<Queue>, u32), Error> {
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
    let mut pipe = redis::pipe();
    for name in &names {
        pipe.cmd("LLEN").arg(name);
        for step in STEPS {
            pipe.cmd("LLEN").arg(format!("{name}{SEP}{step}"));
        }
    }
    let lengths = redis.query(&pipe).await?;
    let queues = names
        .into_iter()
        .zip(lengths.chunks_exact(1 + STEPS.len()))
        .map(|(name, lengths)| queue(name, lengths, &mut unreadable))
        .collect();
    Ok((queues, unreadable))
}

/// A queue from its lists' lengths (one not a length is counted, as 0).
fn queue(name: String, lengths: &[Value], unreadable: &mut u32) -> Queue {
    let depth = lengths.iter().fold(0u64, |sum, v| {
        sum.saturating_add(whole(v).unwrap_or_else(|| {
            *unreadable += 1;
            0
        }))
    });
    Queue {
        name,
        depth,
        latency: None,
    }
}

/// The queues bound to any exchange: `SCAN` for `_kombu.binding.*`, then each set's members;
/// the workers' control exchanges (`celery.pidbox`, `reply.celery.pidbox`) and the events one
/// (`celeryev`) are skipped: their queues are fanout, never listed.
async fn discover(redis: &mut Redis, unreadable: &mut u32) -> Result<Vec<String>, Error> {
    let keys = redis.scan("_kombu.binding.*", unreadable).await?;
    if keys.len() > MAX_QUEUES {
        return Err(pg::too_many(redis.shown(), "_kombu.binding.*"));
    }
    let mut pipe = redis::pipe();
    for key in &keys {
        pipe.cmd("SRANDMEMBER").arg(key).arg(MAX_QUEUES + 1);
    }
    let members = redis.query(&pipe).await?;
    let mut found = BTreeSet::new();
    for (key, answer) in keys.iter().zip(&members) {
        if key.ends_with(".pidbox") || key == "_kombu.binding.celeryev" {
            continue;
        }
        for member in names(Some(answer), unreadable) {
            match bound_queue(&member) {
                Some(q) => {
                    found.insert(q.to_owned());
                }
                None => *unreadable += 1,
            }
        }
        if found.len() > MAX_QUEUES {
            return Err(pg::too_many(redis.shown(), "_kombu.binding.*"));
        }
    }
    Ok(found.into_iter().collect())
}

/// The queue of a binding `ROUTING_KEY\x06\x16PATTERN\x06\x16QUEUE`.
fn bound_queue(member: &str) -> Option<&str> {
    let mut fields = member.split(SEP);
    let (_, _, queue) = (fields.next()?, fields.next()?, fields.next()?);
    (fields.next().is_none() && !queue.is_empty()).then_some(queue)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn bindings_name_queues() {
        assert_eq!(bound_queue("celery\x06\x16\x06\x16celery"), Some("celery"));
        assert_eq!(
            bound_queue("video.#\x06\x16video.#\x06\x16video"),
            Some("video")
        );
        assert_eq!(bound_queue("celery\x06\x16\x06\x16"), None);
        assert_eq!(bound_queue("celery"), None);
        assert_eq!(bound_queue("a\x06\x16b"), None);
        assert_eq!(bound_queue("a\x06\x16b\x06\x16c\x06\x16d"), None);
    }

    #[test]
    fn a_queue_is_its_four_lists() {
        let mut unreadable = 0;
        assert_eq!(
            queue(
                "celery".into(),
                &[Value::Int(5), Value::Int(0), Value::Int(2), Value::Int(1)],
                &mut unreadable
            ),
            Queue {
                name: "celery".into(),
                depth: 8,
                latency: None,
            }
        );
        assert_eq!(unreadable, 0);
        let q = queue(
            "x".into(),
            &[bulk("many"), Value::Int(3), Value::Int(-1), Value::Nil],
            &mut unreadable,
        );
        assert_eq!(q.depth, 3);
        assert_eq!(unreadable, 3);
        let full = queue(
            "x".into(),
            &[
                Value::Int(i64::MAX),
                Value::Int(i64::MAX),
                Value::Int(i64::MAX),
                Value::Int(0),
            ],
            &mut unreadable,
        );
        assert_eq!(full.depth, u64::MAX);
    }
}
