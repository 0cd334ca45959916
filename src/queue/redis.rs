//! What the Redis readers other than Sidekiq's ([`super::rq`], [`super::bullmq`],
//! [`super::celery`], [`super::resque`]) share: one connection to the store, its round trips
//! (pipelines) in the readers' errors, and the whole read bounded by the timeout. The parsing of
//! the answers (set members, whole numbers, refusals) is Sidekiq's reader's, shared.
//!
//! A `rediss://` store is read as [`super::sidekiq::Sidekiq`] reads it: verification off when
//! asked (what Heroku documents for its Key-Value Store's self-signed certificates).

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::Value;

use super::sidekiq::{describe, refused, text, Error};

/// The most `SCAN` calls one read makes to find a library's keys.
pub const SCAN_CALLS: usize = 20;
/// The `COUNT` of each of them: at most 20 × 5,000 = 100,000 keys looked at.
pub const SCAN_COUNT: usize = 5_000;
/// The longest key taken from a `SCAN`.
const MAX_KEY: usize = 1_024;

/// A Redis store: its URL and, once connected, the connection (made again at the next read
/// after a failure).
pub(crate) struct Redis {
    client: redis::Client,
    connection: Option<MultiplexedConnection>,
    timeout: Duration,
    shown: String,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis").field("url", &self.shown).finish()
    }
}

impl Redis {
    /// A store at `url` (`redis://` or `rediss://`); nothing is sent before the first round
    /// trip. Every connect and every read is bounded by `timeout`.
    pub(crate) fn new(url: &str, verify_tls: bool, timeout: Duration) -> Result<Redis, Error> {
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
        Ok(Redis {
            client,
            connection: None,
            timeout,
            shown,
        })
    }

    /// The URL as it may be printed.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
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
            .map_err(|e| self.failed(&e, true))?;
        self.connection = Some(c.clone());
        Ok(c)
    }

    /// A Redis error in the readers' terms: refused credentials, or (`connecting`) a store not
    /// reached, or a read that failed.
    fn failed(&self, e: &redis::RedisError, connecting: bool) -> Error {
        let (url, reason) = (self.shown.clone(), describe(e));
        if refused(e) {
            Error::Refused { url, reason }
        } else if connecting {
            Error::Connect { url, reason }
        } else {
            Error::Read { url, reason }
        }
    }

    /// One round trip: the pipeline's answers, one per command (none sent when it is empty).
    pub(crate) async fn query(&mut self, pipe: &redis::Pipeline) -> Result<Vec<Value>, Error> {
        if pipe.is_empty() {
            return Ok(Vec::new());
        }
        let mut c = self.connection().await?;
        let answers: Vec<Value> = pipe
            .query_async(&mut c)
            .await
            .map_err(|e| self.failed(&e, false))?;
        if answers.len() != pipe.len() {
            return Err(Error::Read {
                url: self.shown.clone(),
                reason: "fewer answers than commands".to_owned(),
            });
        }
        Ok(answers)
    }

    /// The keys matching `pattern`, by a `SCAN` bounded to [`SCAN_CALLS`] calls of
    /// [`SCAN_COUNT`]: a store whose keys it does not cover is refused (the reader's queues must
    /// be named in AUTOSCALE_QUEUES). Keys that are not UTF-8 or longer than 1 KiB are counted
    /// in `unreadable`.
    pub(crate) async fn scan(
        &mut self,
        pattern: &'static str,
        unreadable: &mut u32,
    ) -> Result<Vec<String>, Error> {
        let mut found = Vec::new();
        let mut cursor = "0".to_owned();
        for _ in 0..SCAN_CALLS {
            let mut pipe = redis::pipe();
            pipe.cmd("SCAN")
                .arg(&cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT);
            let answer = self.query(&pipe).await?;
            let Some(Value::Array(parts)) = answer.first() else {
                return Err(self.not_scan());
            };
            let [next, Value::Array(keys)] = parts.as_slice() else {
                return Err(self.not_scan());
            };
            for key in keys {
                match text(key) {
                    Some(k) if k.len() <= MAX_KEY => found.push(k.to_owned()),
                    _ => *unreadable += 1,
                }
            }
            match text(next) {
                Some("0") => return Ok(found),
                Some(c) if !c.is_empty() && c.len() <= 20 => cursor = c.to_owned(),
                _ => return Err(self.not_scan()),
            }
        }
        Err(Error::TooMany {
            url: self.shown.clone(),
            key: pattern,
            max: SCAN_CALLS * SCAN_COUNT,
            hint: " (keys looked at for the queues' names): name this worker's queues in AUTOSCALE_QUEUES",
        })
    }

    fn not_scan(&self) -> Error {
        Error::Read {
            url: self.shown.clone(),
            reason: "SCAN answered with something else than a cursor and keys".to_owned(),
        }
    }

    /// The read's bound (its round trips together).
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A read's outcome within [`Redis::timeout`] (`tokio::time::timeout` of it): a read that
    /// took longer is an error; after any failure the connection is dropped, and made again at
    /// the next read.
    pub(crate) fn settle<T>(
        &mut self,
        out: Result<Result<T, Error>, tokio::time::error::Elapsed>,
    ) -> Result<T, Error> {
        let out = out.unwrap_or_else(|_| {
            Err(Error::Read {
                url: self.shown.clone(),
                reason: format!(
                    "no answer within {}",
                    humantime::format_duration(self.timeout)
                ),
            })
        });
        if out.is_err() {
            self.connection = None;
        }
        out
    }
}
