//! Sidekiq 7 and 8, read straight from their Redis: what the Web UI's "Queues" and "Busy" pages
//! show, in two pipelined round trips, no full scan of anything.
//!
//! The shapes, from Sidekiq's own source (`lib/sidekiq/client.rb`, `api.rb`, `launcher.rb`,
//! `fetch.rb`, `component.rb`; 7.3 and 8.1):
//! - set `queues`: the queue names (`SADD` at every push);
//! - list `queue:NAME`: the ready jobs as JSON, pushed with `LPUSH` and fetched with `BRPOP`, so
//!   the oldest is at index −1 (`LINDEX queue:NAME -1`, as `Queue#latency` reads it);
//! - a job's `enqueued_at`: `Time.now.to_f` (epoch seconds, a JSON float) up to 7.x, epoch
//!   milliseconds (a JSON integer) from 8.0; `created_at` likewise, the fallback when
//!   `enqueued_at` is missing. 8.x's `calculate_latency` tells them apart by the JSON type:
//!   a float is seconds, an integer milliseconds — so does this reader, per job, so a queue
//!   filled by 7.x clients and read during an upgrade to 8.x is right too;
//! - set `processes`: the process identities (`hostname:pid:nonce`); hash `IDENTITY` (expires
//!   60 s after the last heartbeat, every 5 s): `busy` (jobs running), `concurrency` (8.x; 7.x
//!   has it in `info`), `quiet`, and `info`, JSON with `hostname` — `$DYNO` on Heroku, so
//!   `worker.3` — and `queues`. An identity whose hash expired is a dead process: skipped, as
//!   `ProcessSet#each` does;
//! - string `stat:processed`: jobs finished, ever (every process adds its count at each
//!   heartbeat).
//!
//! Untrusted input: the sets are read with `SRANDMEMBER key N+1` — all of a set up to N members,
//! and a refusal beyond (a store with more than [`MAX_QUEUES`] queues needs AUTOSCALE_QUEUES);
//! every number is checked; a payload that is not what Sidekiq writes is counted
//! ([`Snapshot::unreadable`]), never a panic.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::aio::MultiplexedConnection;
use redis::Value;
use serde::Deserialize;

use super::Totals;

/// The most queues one read takes from the `queues` set.
pub const MAX_QUEUES: usize = 1_000;
/// The most Sidekiq processes one read takes from the `processes` set.
pub const MAX_PROCESSES: usize = 2_000;
/// The longest queue name or process identity taken.
const MAX_NAME: usize = 512;
/// The largest `info` JSON parsed (a few hundred bytes in Sidekiq).
const MAX_INFO: usize = 64 * 1024;

/// What went wrong reading the store. Never carries the URL's password.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("queue URL {0}")]
    Url(String),
    #[error("cannot reach {url}: {reason}")]
    Connect { url: String, reason: String },
    /// The store refused the credentials (Heroku rotates them: read the URL again).
    #[error("{url} refused the credentials: {reason}")]
    Refused { url: String, reason: String },
    #[error("reading {url}: {reason}")]
    Read { url: String, reason: String },
    #[error("{url}: the `{key}` set holds more than {max} names{hint}")]
    TooMany {
        url: String,
        key: &'static str,
        max: usize,
        hint: &'static str,
    },
}

/// One queue, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub name: String,
    /// `LLEN queue:NAME`.
    pub depth: u64,
    /// How long the oldest job has waited; zero when none waits; None when the oldest job
    /// carries no time this reader can read (counted in [`Snapshot::unreadable`]).
    pub latency: Option<Duration>,
}

/// One live Sidekiq process, as its heartbeat left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub identity: String,
    /// `$DYNO` on Heroku (`worker.3`), the host's name elsewhere.
    pub hostname: String,
    /// Jobs running.
    pub busy: u32,
    /// Jobs it runs at once, where its heartbeat says.
    pub concurrency: Option<u32>,
    /// Quieted (TSTP): it takes no new job.
    pub quiet: bool,
    pub queues: Vec<String>,
}

/// One read of a Sidekiq store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// By name.
    pub queues: Vec<Queue>,
    /// By identity.
    pub processes: Vec<Process>,
    /// `stat:processed` (0 when the key does not exist yet, as Sidekiq's `to_i` reads it); None
    /// when it holds no whole number.
    pub processed: Option<u64>,
    /// Values that were not what Sidekiq writes (a job without a readable time, a process's
    /// heartbeat that does not parse): left out of the figures, counted here.
    pub unreadable: u32,
}

impl Snapshot {
    /// The figures for one process type: every queue read, and the jobs running on that type's
    /// dynos (processes whose hostname is `TYPE.N`, Heroku's `$DYNO`).
    pub fn totals(&self, process_type: &str) -> Totals {
        let busy = self
            .processes
            .iter()
            .filter(|p| is_dyno_of(&p.hostname, process_type))
            .map(|p| u64::from(p.busy))
            .sum();
        Totals {
            depth: self
                .queues
                .iter()
                .fold(0u64, |sum, q| sum.saturating_add(q.depth)),
            latency: self
                .queues
                .iter()
                .filter_map(|q| q.latency)
                .max()
                .unwrap_or(Duration::ZERO),
            busy: Some(busy),
            done_counter: self.processed,
            concurrency: self
                .processes
                .iter()
                .filter(|p| is_dyno_of(&p.hostname, process_type))
                .filter_map(|p| p.concurrency)
                .max(),
        }
    }
}

/// Whether `hostname` names a dyno of `process_type`: `worker.3` for `worker`.
pub fn is_dyno_of(hostname: &str, process_type: &str) -> bool {
    hostname
        .strip_prefix(process_type)
        .and_then(|rest| rest.strip_prefix('.'))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The dyno number of `hostname` for `process_type`: 3 for `worker.3`.
pub fn dyno_number(hostname: &str, process_type: &str) -> Option<u32> {
    if !is_dyno_of(hostname, process_type) {
        return None;
    }
    hostname[process_type.len() + 1..].parse().ok()
}

/// The processes on the dynos a scale-in to `keep` stops (Heroku stops the highest-numbered:
/// `TYPE.(keep+1)` and up).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stopping {
    /// Jobs they run.
    pub busy: u64,
    /// Those not quiet yet: their identities (a TSTP is sent to each).
    pub loud: Vec<String>,
    /// How many there are.
    pub processes: u32,
}

impl Snapshot {
    /// What runs on the dynos of `process_type` that a scale-in to `keep` stops.
    pub fn stopping(&self, process_type: &str, keep: u32) -> Stopping {
        let mut out = Stopping::default();
        for p in &self.processes {
            if dyno_number(&p.hostname, process_type).is_some_and(|n| n > keep) {
                out.busy = out.busy.saturating_add(u64::from(p.busy));
                out.processes += 1;
                if !p.quiet {
                    out.loud.push(p.identity.clone());
                }
            }
        }
        out
    }
}

/// How long Sidekiq keeps a signal for a process to read at its next heartbeat (`api.rb`'s
/// `signal`: `EXPIRE key 60`).
pub const SIGNAL_TTL_SECS: u64 = 60;

/// A Sidekiq store: a Redis URL and, once connected, the connection (reconnected at the next
/// read after a failure).
pub struct Sidekiq {
    client: redis::Client,
    connection: Option<MultiplexedConnection>,
    timeout: Duration,
    shown: String,
}

impl std::fmt::Debug for Sidekiq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sidekiq").field("url", &self.shown).finish()
    }
}

impl Sidekiq {
    /// A store at `url` (`redis://` or `rediss://`). `verify_tls` off is what Heroku documents for
    /// its Key-Value Store, whose `rediss://` certificates are self-signed. Every connect and
    /// every read is bounded by `timeout`. Nothing is sent before the first [`Sidekiq::read`].
    pub fn new(url: &str, verify_tls: bool, timeout: Duration) -> Result<Sidekiq, Error> {
        let shown = crate::http::redact_secret(url);
        let mut parsed = url::Url::parse(url.trim())
            .map_err(|e| Error::Url(format!("{shown} does not parse ({e})")))?;
        match parsed.scheme() {
            "redis" => {}
            "rediss" if !verify_tls => parsed.set_fragment(Some("insecure")),
            "rediss" => parsed.set_fragment(None),
            other => {
                return Err(Error::Url(format!(
                    "{shown}: the scheme {other:?} is not redis:// or rediss://"
                )))
            }
        }
        let client = redis::Client::open(parsed.as_str())
            .map_err(|e| Error::Url(format!("{shown}: {:?}", e.kind())))?;
        Ok(Sidekiq {
            client,
            connection: None,
            timeout,
            shown,
        })
    }

    /// The URL as it may be printed.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Quiets the processes `identities` as Sidekiq's Web UI does ("Quiet", `Process#quiet!`):
    /// `MULTI`, `LPUSH IDENTITY-signals TSTP`, `EXPIRE IDENTITY-signals 60`, `EXEC` each. A
    /// process reads its signals at its next heartbeat (every few seconds), then takes no new
    /// job and finishes those it runs. Bounded by the read timeout.
    pub async fn quiet(&mut self, identities: &[String]) -> Result<(), Error> {
        if identities.is_empty() {
            return Ok(());
        }
        let shown = self.shown.clone();
        let timeout = self.timeout;
        let send = async {
            let mut c = self.connection().await?;
            let mut pipe = redis::pipe();
            pipe.atomic();
            for identity in identities {
                let key = format!("{identity}-signals");
                pipe.cmd("LPUSH")
                    .arg(&key)
                    .arg("TSTP")
                    .ignore()
                    .cmd("EXPIRE")
                    .arg(&key)
                    .arg(SIGNAL_TTL_SECS)
                    .ignore();
            }
            pipe.query_async::<()>(&mut c)
                .await
                .map_err(|e| Error::Read {
                    url: shown.clone(),
                    reason: describe(&e),
                })
        };
        match tokio::time::timeout(timeout, send).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.connection = None;
                Err(e)
            }
            Err(_) => {
                self.connection = None;
                Err(Error::Read {
                    url: self.shown.clone(),
                    reason: "no answer to the quiet signal".to_owned(),
                })
            }
        }
    }

    /// One read: `queues` (deduplicated), or every queue of the `queues` set when None; every
    /// live process; `stat:processed`. Latencies are counted up to `now`.
    pub async fn read(
        &mut self,
        queues: Option<&[String]>,
        now: DateTime<Utc>,
    ) -> Result<Snapshot, Error> {
        match tokio::time::timeout(self.timeout, self.read_once(queues, now)).await {
            Ok(Ok(snapshot)) => Ok(snapshot),
            Ok(Err(e)) => {
                self.connection = None;
                Err(e)
            }
            Err(_) => {
                self.connection = None;
                Err(Error::Read {
                    url: self.shown.clone(),
                    reason: format!(
                        "no answer within {}",
                        humantime::format_duration(self.timeout)
                    ),
                })
            }
        }
    }

    async fn connection(&mut self) -> Result<MultiplexedConnection, Error> {
        if let Some(c) = &self.connection {
            return Ok(c.clone());
        }
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let c = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| {
                let (url, reason) = (self.shown.clone(), describe(&e));
                if refused(&e) {
                    Error::Refused { url, reason }
                } else {
                    Error::Connect { url, reason }
                }
            })?;
        self.connection = Some(c.clone());
        Ok(c)
    }

    async fn read_once(
        &mut self,
        queues: Option<&[String]>,
        now: DateTime<Utc>,
    ) -> Result<Snapshot, Error> {
        let mut c = self.connection().await?;
        let shown = self.shown.clone();
        let failed = |e: redis::RedisError| {
            let (url, reason) = (shown.clone(), describe(&e));
            if refused(&e) {
                Error::Refused { url, reason }
            } else {
                Error::Read { url, reason }
            }
        };
        let mut unreadable = 0u32;

        // Round trip 1: the names, bounded, and the counter.
        let mut pipe = redis::pipe();
        pipe.cmd("SRANDMEMBER")
            .arg("processes")
            .arg(MAX_PROCESSES + 1)
            .cmd("GET")
            .arg("stat:processed");
        if queues.is_none() {
            pipe.cmd("SRANDMEMBER").arg("queues").arg(MAX_QUEUES + 1);
        }
        let first: Vec<Value> = pipe.query_async(&mut c).await.map_err(failed)?;
        let identities = names(first.first(), &mut unreadable);
        if identities.len() > MAX_PROCESSES {
            return Err(Error::TooMany {
                url: self.shown.clone(),
                key: "processes",
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
        let queue_names: BTreeSet<String> = match queues {
            Some(given) => given.iter().cloned().collect(),
            None => {
                let found = names(first.get(2), &mut unreadable);
                if found.len() > MAX_QUEUES {
                    return Err(Error::TooMany {
                        url: self.shown.clone(),
                        key: "queues",
                        max: MAX_QUEUES,
                        hint: ": name this worker's queues in AUTOSCALE_QUEUES",
                    });
                }
                found
            }
        };
        let identities: Vec<String> = identities.into_iter().collect();
        let queue_names: Vec<String> = queue_names.into_iter().collect();

        // Round trip 2: per queue its length and oldest job, per process its heartbeat.
        let mut pipe = redis::pipe();
        for name in &queue_names {
            let key = format!("queue:{name}");
            pipe.cmd("LLEN").arg(&key).cmd("LINDEX").arg(&key).arg(-1);
        }
        for identity in &identities {
            pipe.cmd("HMGET")
                .arg(identity)
                .arg("busy")
                .arg("concurrency")
                .arg("quiet")
                .arg("info");
        }
        let second: Vec<Value> = if queue_names.is_empty() && identities.is_empty() {
            Vec::new()
        } else {
            pipe.query_async(&mut c).await.map_err(failed)?
        };
        let mut answers = second.iter();
        let mut read_queues = Vec::with_capacity(queue_names.len());
        for name in queue_names {
            let (Some(len), Some(oldest)) = (answers.next(), answers.next()) else {
                return Err(short(&self.shown));
            };
            read_queues.push(queue(name, len, oldest, now, &mut unreadable));
        }
        let mut processes = Vec::with_capacity(identities.len());
        for identity in identities {
            let Some(fields) = answers.next() else {
                return Err(short(&self.shown));
            };
            match heartbeat(identity, fields) {
                Heartbeat::Live(p) => processes.push(p),
                Heartbeat::Gone => {}
                Heartbeat::Unreadable => unreadable += 1,
            }
        }
        Ok(Snapshot {
            queues: read_queues,
            processes,
            processed,
            unreadable,
        })
    }
}

/// One queue from its `LLEN` and `LINDEX -1` answers; what is not what Redis answers for a
/// list is counted unreadable.
fn queue(
    name: String,
    len: &Value,
    oldest: &Value,
    now: DateTime<Utc>,
    unreadable: &mut u32,
) -> Queue {
    let depth = whole(len).unwrap_or_else(|| {
        *unreadable += 1;
        0
    });
    let latency = match oldest {
        Value::Nil => Some(Duration::ZERO),
        Value::BulkString(job) => latency(job, now),
        _ => None,
    };
    if latency.is_none() {
        *unreadable += 1;
    }
    Queue {
        name,
        depth,
        latency,
    }
}

fn short(shown: &str) -> Error {
    Error::Read {
        url: shown.to_owned(),
        reason: "fewer answers than commands".to_owned(),
    }
}

/// A Redis error in words, with nothing from the URL (the client never puts the password in).
/// Whether the server refused the credentials: a wrong password (`WRONGPASS`, or a failed
/// `AUTH`), or none where one is needed (`NOAUTH`).
pub(super) fn refused(e: &redis::RedisError) -> bool {
    // A pipeline's refusal comes as its commands' errors, each `"NOAUTH": …`.
    let text = e.to_string();
    e.kind() == redis::ErrorKind::AuthenticationFailed
        || matches!(e.code(), Some("WRONGPASS" | "NOAUTH"))
        || text.contains("\"NOAUTH\"")
        || text.contains("\"WRONGPASS\"")
        // The `SELECT` of a URL's database answered `NOAUTH` (the client keeps its message).
        || (text.contains("refused to switch database") && text.contains("Authentication required"))
}

pub(super) fn describe(e: &redis::RedisError) -> String {
    e.to_string()
}

/// The members of a set answer: valid UTF-8 names of at most [`MAX_NAME`] bytes (others are
/// counted unreadable).
pub(super) fn names(answer: Option<&Value>, unreadable: &mut u32) -> BTreeSet<String> {
    let items: &[Value] = match answer {
        Some(Value::Array(items)) | Some(Value::Set(items)) => items,
        Some(Value::Nil) | None => &[],
        Some(_) => {
            *unreadable += 1;
            &[]
        }
    };
    let mut out = BTreeSet::new();
    for item in items {
        match text(item) {
            Some(name) if !name.is_empty() && name.len() <= MAX_NAME => {
                out.insert(name.to_owned());
            }
            _ => *unreadable += 1,
        }
    }
    out
}

/// A bulk string as UTF-8: how Redis answers with a member or a field.
pub(super) fn text(v: &Value) -> Option<&str> {
    match v {
        Value::BulkString(b) => std::str::from_utf8(b).ok(),
        _ => None,
    }
}

/// A whole number ≥ 0, as an integer reply or a string of digits.
pub(super) fn whole(v: &Value) -> Option<u64> {
    match v {
        Value::Int(n) => u64::try_from(*n).ok(),
        _ => {
            let t = text(v)?;
            if t.is_empty() || t.len() > 20 || !t.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            t.parse().ok()
        }
    }
}

/// The times a job carries; everything else in the payload is skipped unread.
#[derive(Deserialize)]
struct Stamps {
    enqueued_at: Option<serde_json::Number>,
    created_at: Option<serde_json::Number>,
}

/// How long the job (Sidekiq's JSON) has waited at `now`, from `enqueued_at` or else
/// `created_at`: a JSON float is epoch seconds (7.x), an integer epoch milliseconds (8.x). A
/// job from the future (clocks apart) has waited zero. None when neither time is readable.
pub fn latency(job: &[u8], now: DateTime<Utc>) -> Option<Duration> {
    // An object: serde would also take `[enqueued_at, created_at]` for the struct.
    if job.trim_ascii_start().first() != Some(&b'{') {
        return None;
    }
    let stamps: Stamps = serde_json::from_slice(job).ok()?;
    let stamp = stamps.enqueued_at.or(stamps.created_at)?;
    let waited_ms: f64 = if stamp.is_f64() {
        let secs = stamp.as_f64()?;
        // JSON has no NaN: a number is finite.
        if secs <= 0.0 {
            return None;
        }
        now.timestamp_micros() as f64 / 1000.0 - secs * 1000.0
    } else {
        let ms = stamp.as_i64()?;
        if ms <= 0 {
            return None;
        }
        now.timestamp_millis().saturating_sub(ms) as f64
    };
    // Float noise from a time written in seconds: whole milliseconds are plenty.
    Some(Duration::from_millis(waited_ms.max(0.0).round() as u64))
}

enum Heartbeat {
    Live(Process),
    /// The identity's hash expired: a process that stopped without saying so.
    Gone,
    Unreadable,
}

#[derive(Deserialize)]
struct Info {
    hostname: String,
    #[serde(default)]
    queues: Vec<String>,
    /// 7.x keeps it here; 8.x in the hash.
    concurrency: Option<u32>,
}

/// `HMGET IDENTITY busy concurrency quiet info`.
fn heartbeat(identity: String, fields: &Value) -> Heartbeat {
    let Value::Array(fields) = fields else {
        return Heartbeat::Unreadable;
    };
    let [busy, concurrency, quiet, info] = fields.as_slice() else {
        return Heartbeat::Unreadable;
    };
    let info = match info {
        Value::Nil => return Heartbeat::Gone,
        Value::BulkString(b) if b.len() <= MAX_INFO => match serde_json::from_slice::<Info>(b) {
            Ok(info) => info,
            Err(_) => return Heartbeat::Unreadable,
        },
        _ => return Heartbeat::Unreadable,
    };
    let Some(busy) = whole(busy).and_then(|b| u32::try_from(b).ok()) else {
        return Heartbeat::Unreadable;
    };
    let concurrency = whole(concurrency)
        .and_then(|c| u32::try_from(c).ok())
        .or(info.concurrency);
    Heartbeat::Live(Process {
        identity,
        hostname: info.hostname,
        busy,
        concurrency,
        quiet: text(quiet) == Some("true"),
        queues: info.queues,
    })
}

/// A queue URL as it may be printed: the password never.
pub fn redacted(url: &str) -> String {
    crate::http::redact_secret(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        // 2026-12-07 10:00:00.250 UTC.
        Utc.timestamp_millis_opt(1_796_637_600_250).unwrap()
    }

    #[test]
    fn latency_reads_seconds_as_7x_wrote_them_and_milliseconds_as_8x() {
        // 7.x: Time.now.to_f, 45.25 s before now.
        let job = br#"{"retry":true,"queue":"default","class":"HardJob","args":[1,"x"],"jid":"b4a577edbccf1d805744efa9","created_at":1796637554.5,"enqueued_at":1796637555.0}"#;
        assert_eq!(latency(job, now()), Some(Duration::from_millis(45_250)));
        // 8.x: integer milliseconds.
        let job = br#"{"retry":true,"queue":"default","class":"HardJob","args":[],"jid":"b4a577edbccf1d805744efa9","created_at":1796637554500,"enqueued_at":1796637555000}"#;
        assert_eq!(latency(job, now()), Some(Duration::from_millis(45_250)));
        // A float with no fraction is still seconds (Ruby writes 1796637555.0).
        let job = br#"{"enqueued_at":1796637600.0}"#;
        assert_eq!(latency(job, now()), Some(Duration::from_millis(250)));
        // No enqueued_at (ActiveJob strips it before a push to `schedule`): created_at.
        let job = br#"{"created_at":1796637500250}"#;
        assert_eq!(latency(job, now()), Some(Duration::from_secs(100)));
        // From the future: zero.
        let job = br#"{"enqueued_at":1796637700000}"#;
        assert_eq!(latency(job, now()), Some(Duration::ZERO));
    }

    #[test]
    fn latency_of_what_sidekiq_does_not_write_is_none() {
        for job in [
            &b"not json"[..],
            br#"{"enqueued_at":"1796637555"}"#,
            br#"{"enqueued_at":-5}"#,
            br#"{"enqueued_at":0.0}"#,
            br#"{"enqueued_at":1e400}"#,
            br#"{"class":"NoTime"}"#,
            br#"[1,2]"#,
            br#"{"enqueued_at":18446744073709551615}"#,
        ] {
            assert_eq!(
                latency(job, now()),
                None,
                "{}",
                String::from_utf8_lossy(job)
            );
        }
        // A date far back is a long wait, not a panic.
        let job = br#"{"enqueued_at":1.0e-3}"#;
        assert!(latency(job, now()).unwrap() > Duration::from_secs(1_700_000_000));
    }

    #[test]
    fn a_queue_from_its_two_answers() {
        let mut unreadable = 0;
        let job = Value::BulkString(br#"{"enqueued_at":1796637599250}"#.to_vec());
        assert_eq!(
            queue("a".into(), &Value::Int(4), &job, now(), &mut unreadable),
            Queue {
                name: "a".into(),
                depth: 4,
                latency: Some(Duration::from_secs(1)),
            }
        );
        assert_eq!(
            queue(
                "b".into(),
                &Value::Int(0),
                &Value::Nil,
                now(),
                &mut unreadable
            )
            .latency,
            Some(Duration::ZERO)
        );
        assert_eq!(unreadable, 0);
        // Not what Redis answers for a list: counted, never trusted.
        assert_eq!(
            queue(
                "c".into(),
                &bulk("many"),
                &Value::Int(3),
                now(),
                &mut unreadable
            ),
            Queue {
                name: "c".into(),
                depth: 0,
                latency: None,
            }
        );
        assert_eq!(unreadable, 2);
        let garbled = bulk("{");
        assert_eq!(
            queue("d".into(), &Value::Int(1), &garbled, now(), &mut unreadable).latency,
            None
        );
        assert_eq!(unreadable, 3);
    }

    #[test]
    fn whole_numbers_only() {
        assert_eq!(whole(&Value::Int(7)), Some(7));
        assert_eq!(whole(&Value::Int(-7)), None);
        assert_eq!(whole(&Value::BulkString(b"42".to_vec())), Some(42));
        assert_eq!(whole(&Value::BulkString(b"".to_vec())), None);
        assert_eq!(whole(&Value::BulkString(b"-1".to_vec())), None);
        assert_eq!(whole(&Value::BulkString(b"+1".to_vec())), None);
        assert_eq!(whole(&Value::BulkString(b"4.0".to_vec())), None);
        assert_eq!(
            whole(&Value::BulkString(b"18446744073709551615".to_vec())),
            Some(u64::MAX)
        );
        assert_eq!(
            whole(&Value::BulkString(b"99999999999999999999".to_vec())),
            None
        );
        assert_eq!(whole(&Value::SimpleString("7".into())), None);
        assert_eq!(
            whole(&Value::BulkString(b"000000000000000000001".to_vec())),
            None
        );
        assert_eq!(whole(&Value::Nil), None);
    }

    #[test]
    fn dynos_of_a_type() {
        assert!(is_dyno_of("worker.1", "worker"));
        assert!(is_dyno_of("worker.12", "worker"));
        assert!(!is_dyno_of("worker", "worker"));
        assert!(!is_dyno_of("worker.", "worker"));
        assert!(!is_dyno_of("worker.1a", "worker"));
        assert!(!is_dyno_of("workers.1", "worker"));
        assert!(!is_dyno_of("urgent_worker.1", "worker"));
        assert!(!is_dyno_of("web.1", "worker"));
    }

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn heartbeats_as_7x_and_8x_leave_them() {
        // 8.x: concurrency in the hash.
        let eight = Value::Array(vec![
            bulk("3"),
            bulk("5"),
            bulk("false"),
            bulk(
                r#"{"hostname":"worker.2","started_at":1796637000.1,"pid":4,"tag":"app","capsules":{"default":{"concurrency":5,"mode":"weighted","weights":{"default":0}}},"queues":["default"],"weights":[{"default":0}],"labels":[],"identity":"worker.2:4:0f1e2d3c4b5a","version":"8.1.7","embedded":false}"#,
            ),
        ]);
        let Heartbeat::Live(p) = heartbeat("worker.2:4:0f1e2d3c4b5a".into(), &eight) else {
            panic!("not live");
        };
        assert_eq!(
            p,
            Process {
                identity: "worker.2:4:0f1e2d3c4b5a".into(),
                hostname: "worker.2".into(),
                busy: 3,
                concurrency: Some(5),
                quiet: false,
                queues: vec!["default".into()],
            }
        );
        // 7.x: no concurrency field, it is in info; quiet.
        let seven = Value::Array(vec![
            bulk("0"),
            Value::Nil,
            bulk("true"),
            bulk(
                r#"{"hostname":"worker.1","started_at":1796637000.1,"pid":4,"tag":"","concurrency":10,"queues":["critical","default"],"weights":[{"critical":0,"default":0}],"labels":[],"identity":"worker.1:4:aa","version":"7.3.10","embedded":false}"#,
            ),
        ]);
        let Heartbeat::Live(p) = heartbeat("worker.1:4:aa".into(), &seven) else {
            panic!("not live");
        };
        assert_eq!((p.busy, p.concurrency, p.quiet), (0, Some(10), true));
        // A long heartbeat (many queues, labels) within the bound is taken.
        let long = Value::Array(vec![
            bulk("1"),
            Value::Nil,
            Value::Nil,
            bulk(&format!(
                r#"{{"hostname":"worker.9","labels":["{}"]}}"#,
                "l".repeat(60_000)
            )),
        ]);
        assert!(matches!(heartbeat("x".into(), &long), Heartbeat::Live(_)));
        // Expired: gone.
        let gone = Value::Array(vec![Value::Nil, Value::Nil, Value::Nil, Value::Nil]);
        assert!(matches!(heartbeat("x".into(), &gone), Heartbeat::Gone));
        // Not what Sidekiq writes.
        for bad in [
            Value::Array(vec![
                bulk("-1"),
                Value::Nil,
                Value::Nil,
                bulk(r#"{"hostname":"a"}"#),
            ]),
            Value::Array(vec![bulk("1"), Value::Nil, Value::Nil, bulk("{")]),
            Value::Array(vec![
                bulk("1"),
                Value::Nil,
                Value::Nil,
                bulk(r#"{"pid":1}"#),
            ]),
            Value::Array(vec![bulk("1"), Value::Nil, Value::Nil, Value::Int(3)]),
            Value::Array(vec![bulk("1")]),
            Value::Int(1),
            Value::Array(vec![
                bulk("1"),
                Value::Nil,
                Value::Nil,
                bulk(&format!(r#"{{"hostname":"{}"}}"#, "a".repeat(MAX_INFO))),
            ]),
        ] {
            assert!(
                matches!(heartbeat("x".into(), &bad), Heartbeat::Unreadable),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn set_members_are_bounded_names() {
        let mut unreadable = 0;
        let got = names(
            Some(&Value::Array(vec![
                bulk("default"),
                bulk("critical"),
                bulk(""),
                Value::BulkString(vec![0xff, 0xfe]),
                bulk(&"q".repeat(MAX_NAME + 1)),
                Value::Int(3),
            ])),
            &mut unreadable,
        );
        assert_eq!(
            got.into_iter().collect::<Vec<_>>(),
            vec!["critical".to_owned(), "default".to_owned()]
        );
        assert_eq!(unreadable, 4);
        assert!(names(None, &mut unreadable).is_empty());
        assert!(names(Some(&Value::Int(1)), &mut unreadable).is_empty());
        assert_eq!(unreadable, 5);
    }

    #[test]
    fn the_stopping_dynos_are_those_numbered_above_the_quantity_kept() {
        assert_eq!(dyno_number("worker.3", "worker"), Some(3));
        assert_eq!(dyno_number("worker.12", "worker"), Some(12));
        assert_eq!(dyno_number("worker.3", "work"), None);
        assert_eq!(dyno_number("urgent.3", "worker"), None);
        assert_eq!(dyno_number("worker.", "worker"), None);
        assert_eq!(dyno_number("worker.99999999999", "worker"), None);
        let process = |host: &str, busy, quiet| Process {
            identity: format!("{host}:1:ab"),
            hostname: host.into(),
            busy,
            concurrency: Some(10),
            quiet,
            queues: vec![],
        };
        let s = Snapshot {
            queues: vec![],
            processes: vec![
                process("worker.1", 4, false),
                process("worker.2", 2, false),
                process("worker.3", 3, true),
                process("worker.10", 1, false),
                process("urgent.3", 7, false),
                process("10.0.0.3", 5, false),
            ],
            processed: None,
            unreadable: 0,
        };
        // Keeping 2: worker.3 (quiet already) and worker.10 stop; other types and hosts stay.
        assert_eq!(
            s.stopping("worker", 2),
            Stopping {
                busy: 4,
                loud: vec!["worker.10:1:ab".into()],
                processes: 2,
            }
        );
        assert_eq!(s.stopping("worker", 10), Stopping::default());
        assert_eq!(s.stopping("worker", 0).processes, 4);
        assert_eq!(s.stopping("worker", 0).busy, 10);
    }

    #[test]
    fn totals_sum_the_queues_and_the_types_dynos() {
        let process = |host: &str, busy| Process {
            identity: format!("{host}:1:ab"),
            hostname: host.into(),
            busy,
            concurrency: Some(busy + 1),
            quiet: false,
            queues: vec![],
        };
        let s = Snapshot {
            queues: vec![
                Queue {
                    name: "a".into(),
                    depth: 10,
                    latency: Some(Duration::from_secs(3)),
                },
                Queue {
                    name: "b".into(),
                    depth: 5,
                    latency: None,
                },
                Queue {
                    name: "c".into(),
                    depth: 0,
                    latency: Some(Duration::ZERO),
                },
            ],
            processes: vec![
                process("worker.1", 4),
                process("worker.2", 5),
                process("urgent.1", 2),
            ],
            processed: Some(77),
            unreadable: 1,
        };
        assert_eq!(
            s.totals("worker"),
            Totals {
                depth: 15,
                latency: Duration::from_secs(3),
                busy: Some(9),
                done_counter: Some(77),
                concurrency: Some(6),
            }
        );
        assert_eq!(s.totals("urgent").busy, Some(2));
        assert_eq!(s.totals("urgent").concurrency, Some(3));
        assert_eq!(s.totals("web").busy, Some(0));
        assert_eq!(s.totals("web").concurrency, None);
    }

    #[test]
    fn urls_are_checked_and_never_shown_with_their_password() {
        let t = Duration::from_secs(1);
        let s = Sidekiq::new("rediss://:hunter2@example.com:6380", false, t).unwrap();
        assert_eq!(s.shown(), "rediss://***@example.com:6380");
        assert_eq!(
            format!("{s:?}"),
            r#"Sidekiq { url: "rediss://***@example.com:6380" }"#
        );
        for bad in [
            "http://:hunter2@example.com",
            "hunter2",
            "redis//:hunter2@x",
        ] {
            let e = Sidekiq::new(bad, true, t).unwrap_err().to_string();
            assert!(!e.contains("hunter2"), "{e}");
            assert!(e.starts_with("queue URL"), "{e}");
        }
        assert_eq!(
            redacted("redis://default:hunter2@10.0.0.1:6379/0"),
            "redis://***@10.0.0.1:6379/0"
        );
    }
}
