//! What the Postgres readers ([`super::good_job`], [`super::solid_queue`], [`super::que`],
//! [`super::delayed_job`]) share: a small
//! read-only pool, errors in the readers' terms, and the pure arithmetic on what the database
//! answers (untrusted: a NULL, a negative count, an `infinity` timestamp are never a panic).
//!
//! Every session is read-only (`default_transaction_read_only=on`: the server refuses any
//! write), in UTC (`TimeZone=UTC`: the libraries write UTC into `timestamp without time zone`
//! columns, as Active Record does, and a `timestamptz` column compares right too), and no
//! statement of it runs longer than the reader's timeout (`statement_timeout`). One read is one
//! `REPEATABLE READ READ ONLY` transaction: its figures come from one snapshot of the tables.

use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::{ConnectOptions, Postgres, Transaction};

use super::sidekiq::{dyno_number, is_dyno_of, Error, Stopping, MAX_QUEUES};
use super::{Queue, StoreRead, Totals};
use crate::history::settings::{parse_store_url, StoreUrl, Tls};

/// The most processes one read takes (as Sidekiq's reader: [`super::sidekiq::MAX_PROCESSES`]).
pub(crate) use super::sidekiq::MAX_PROCESSES;

/// The longest queue name or hostname taken whole (longer ones are cut, by the server).
pub(crate) const MAX_NAME: usize = 512;

/// A Postgres store: a pool of at most 2 connections, made at the first read (inside the
/// runtime: the pool's upkeep is a task).
pub(crate) struct Pg {
    options: PgConnectOptions,
    pool: OnceLock<PgPool>,
    url: StoreUrl,
    shown: String,
    timeout: Duration,
}

impl Pg {
    /// A pool for `url` (`postgres://` or `postgresql://`, `sslmode` as libpq's; without one,
    /// TLS is required but for a loopback host, as for the history store). Nothing is sent
    /// before the first read; every connect is bounded by `timeout` (the pool's acquire
    /// timeout) and every statement by the server's `statement_timeout` = `timeout`.
    pub(crate) fn new(url: &str, timeout: Duration) -> Result<Pg, Error> {
        let shown = crate::http::redact_secret(url);
        let scheme = url
            .trim()
            .split_once("://")
            .map(|(s, _)| s.to_ascii_lowercase());
        if !matches!(scheme.as_deref(), Some("postgres" | "postgresql")) {
            return Err(Error::Url(format!(
                "{shown} is not a postgres:// or postgresql:// URL"
            )));
        }
        let parsed = match parse_store_url(url) {
            Ok(StoreUrl::Postgres(parsed)) => parsed,
            Ok(StoreUrl::Sqlite(_)) => {
                return Err(Error::Url(format!("{shown} is not a postgres:// URL")))
            }
            Err(problem) => {
                return Err(Error::Url(format!("{shown}: {}", scrub_raw(url, &problem))))
            }
        };
        let store = StoreUrl::Postgres(parsed.clone());
        let options = PgConnectOptions::from_url(&parsed)
            .map_err(|e| Error::Url(format!("{shown}: {}", store.scrub(&e.to_string()))))?
            .ssl_mode(match Tls::for_url(&parsed) {
                Tls::Disable => PgSslMode::Disable,
                Tls::Allow => PgSslMode::Allow,
                Tls::Prefer => PgSslMode::Prefer,
                Tls::Require => PgSslMode::Require,
                Tls::VerifyCa => PgSslMode::VerifyCa,
                Tls::VerifyFull => PgSslMode::VerifyFull,
            })
            .application_name("autoscale-queue")
            .options([
                ("default_transaction_read_only", "on".to_owned()),
                (
                    "statement_timeout",
                    format!("{}ms", timeout.as_millis().max(1)),
                ),
                ("TimeZone", "UTC".to_owned()),
            ])
            .disable_statement_logging();
        Ok(Pg {
            options,
            pool: OnceLock::new(),
            url: store,
            shown,
            timeout,
        })
    }

    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// One read's transaction: read-only, repeatable read (every figure from one snapshot).
    /// A read-only transaction has nothing to keep: dropped, it rolls back.
    pub(crate) async fn begin(&self) -> Result<Transaction<'static, Postgres>, Error> {
        self.pool
            .get_or_init(|| {
                PgPoolOptions::new()
                    .max_connections(2)
                    .min_connections(0)
                    .acquire_timeout(self.timeout)
                    .idle_timeout(Some(Duration::from_secs(300)))
                    .connect_lazy_with(self.options.clone())
            })
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(|e| self.error(&e))
    }

    /// `read`, bounded by the timeout and a second (the server's statement timeout speaks
    /// first when a statement is what hangs; this bounds a server that answers nothing).
    pub(crate) async fn bounded<T>(
        &self,
        read: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let bound = self.timeout + Duration::from_secs(1);
        match tokio::time::timeout(bound, read).await {
            Ok(out) => out,
            Err(_) => Err(Error::Read {
                url: self.shown.clone(),
                reason: format!("no answer within {}", humantime::format_duration(bound)),
            }),
        }
    }

    /// `schema` (a statement answering one boolean: are the library's tables here?) run in
    /// `tx`; when they are not, a read error saying `missing`.
    pub(crate) async fn require(
        &self,
        tx: &mut sqlx::PgConnection,
        schema: &str,
        missing: &str,
    ) -> Result<(), Error> {
        let present: bool = sqlx::query_scalar(schema)
            .persistent(false)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| self.error(&e))?;
        if present {
            Ok(())
        } else {
            Err(self.missing(missing))
        }
    }

    /// The read error of a store without the library's tables.
    pub(crate) fn missing(&self, reason: &str) -> Error {
        Error::Read {
            url: self.shown().to_owned(),
            reason: reason.to_owned(),
        }
    }

    /// A sqlx error in the readers' terms, with nothing of the URL's password.
    pub(crate) fn error(&self, e: &sqlx::Error) -> Error {
        let url = self.shown.clone();
        let reason = self.url.scrub(&e.to_string());
        match kind(e) {
            Kind::Refused => Error::Refused { url, reason },
            Kind::Connect => Error::Connect {
                url,
                reason: if matches!(e, sqlx::Error::PoolTimedOut) {
                    format!(
                        "no connection within {}",
                        humantime::format_duration(self.timeout)
                    )
                } else {
                    reason
                },
            },
            Kind::Read => Error::Read { url, reason },
        }
    }
}

impl std::fmt::Debug for Pg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pg").field("url", &self.shown).finish()
    }
}

/// The password of `url` as written, replaced in `text` (for a URL too broken to parse).
fn scrub_raw(url: &str, text: &str) -> String {
    let Some((userinfo, _)) = url.split_once('@') else {
        return text.to_owned();
    };
    match userinfo.rsplit_once(':') {
        Some((_, password)) if !password.is_empty() && !password.ends_with('/') => {
            text.replace(password, "***")
        }
        _ => text.to_owned(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Refused,
    Connect,
    Read,
}

/// SQLSTATE class 28 is "invalid authorization specification": 28P01 a wrong password, 28000
/// no `pg_hba.conf` entry or a role that may not log in.
fn is_auth_code(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.starts_with("28"))
}

fn kind(e: &sqlx::Error) -> Kind {
    match e {
        sqlx::Error::Database(d) if is_auth_code(d.code().as_deref()) => Kind::Refused,
        // 3D000: the database does not exist — a URL that names nothing readable.
        sqlx::Error::Database(d) if d.code().as_deref() == Some("3D000") => Kind::Refused,
        sqlx::Error::PoolTimedOut
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_)
        | sqlx::Error::Configuration(_) => Kind::Connect,
        _ => Kind::Read,
    }
}

/// `now` as the server's `timestamp`: epoch seconds with the microseconds, bound as `float8`
/// and read with `to_timestamp($n) AT TIME ZONE 'UTC'`.
pub(crate) fn epoch_seconds(now: DateTime<Utc>) -> f64 {
    now.timestamp_micros() as f64 / 1e6
}

/// A `count(*)` or a sum from the database: never below 0.
pub(crate) fn count(n: Option<i64>) -> u64 {
    n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0)
}

/// How long a job due at `oldest` (epoch seconds, as `extract(epoch from …)` answers) has
/// waited at `now`: zero when none waits (None) or when it is due in the future (clocks apart);
/// None when the time is not a time (`infinity`, NaN, before 1970).
pub(crate) fn waited(oldest: Option<f64>, now: DateTime<Utc>) -> Option<Duration> {
    let Some(oldest) = oldest else {
        return Some(Duration::ZERO);
    };
    if !oldest.is_finite() || oldest < 0.0 {
        return None;
    }
    let ms = (epoch_seconds(now) - oldest) * 1000.0;
    Some(Duration::from_millis(ms.max(0.0).round() as u64))
}

/// One queue's ready jobs: how many, and since when the oldest is due.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Ready {
    pub depth: u64,
    /// Epoch seconds; None when none waits.
    pub oldest: Option<f64>,
}

impl Ready {
    /// Two parts of one queue's ready jobs together (Solid Queue's ready and due scheduled).
    pub(crate) fn merge(self, other: Ready) -> Ready {
        Ready {
            depth: self.depth.saturating_add(other.depth),
            oldest: match (self.oldest, other.oldest) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        }
    }
}

/// One live process of the library, as its row says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Worker {
    pub hostname: Option<String>,
    /// Jobs it runs now.
    pub running: u64,
    /// Jobs it runs at once, where its row says.
    pub concurrency: Option<u32>,
}

/// Whether `hostname` is a Heroku dyno name of some type (`worker.3`): what `$DYNO` looks like.
/// A process type starts with a letter (an address such as `10.0.0.1` is no dyno name).
pub(crate) fn is_dyno_name(hostname: &str) -> bool {
    hostname.rsplit_once('.').is_some_and(|(kind, _)| {
        kind.starts_with(|c: char| c.is_ascii_alphabetic()) && is_dyno_of(hostname, kind)
    })
}

/// Busy and concurrency for `process_type` from the live processes. The libraries record the
/// host's name (`Socket.gethostname`), not `$DYNO`: when some process's hostname is a dyno name
/// (`worker.3`, where the app or the platform names hosts so), only the type's dynos count and
/// the concurrency is the most any one of them runs at once (its processes together); when
/// none is, the jobs cannot be told apart by type: busy counts every live process's jobs and
/// the concurrency is not known.
pub(crate) fn busy(workers: &[Worker], process_type: &str) -> (u64, Option<u32>) {
    let by_dyno = workers
        .iter()
        .any(|w| w.hostname.as_deref().is_some_and(is_dyno_name));
    if !by_dyno {
        let all = workers
            .iter()
            .fold(0u64, |sum, w| sum.saturating_add(w.running));
        return (all, None);
    }
    let mine: Vec<&Worker> = workers
        .iter()
        .filter(|w| {
            w.hostname
                .as_deref()
                .is_some_and(|h| is_dyno_of(h, process_type))
        })
        .collect();
    let busy = mine
        .iter()
        .fold(0u64, |sum, w| sum.saturating_add(w.running));
    let mut per_host: std::collections::BTreeMap<&str, u32> = std::collections::BTreeMap::new();
    for w in &mine {
        if let (Some(h), Some(c)) = (w.hostname.as_deref(), w.concurrency) {
            let slot = per_host.entry(h).or_insert(0);
            *slot = slot.saturating_add(c);
        }
    }
    (busy, per_host.into_values().max())
}

/// The queues of one read, by name: those asked for (each, even without a job), or every one
/// the tables hold; their figures from `ready` (by name).
pub(crate) fn queues(
    asked: Option<&[String]>,
    ready: &std::collections::BTreeMap<String, Ready>,
    now: DateTime<Utc>,
) -> Vec<Queue> {
    let names: std::collections::BTreeSet<&str> = match asked {
        Some(asked) => asked.iter().map(String::as_str).collect(),
        None => ready.keys().map(String::as_str).collect(),
    };
    names
        .into_iter()
        .map(|name| {
            let r = ready.get(name).copied().unwrap_or_default();
            Queue {
                name: name.to_owned(),
                depth: r.depth,
                latency: waited(r.oldest, now),
            }
        })
        .collect()
}

/// The most ready jobs one read counts, the oldest first: a read of a million waiting jobs
/// costs what one of 10,000 does (a count of them all took 100–500 ms). With more waiting, the
/// depth says 10,000 — far past what any scale-out needs (10,000 jobs of 1 s over a 30 s target
/// are 333 busy slots) — and the oldest job is still the oldest; the queues with no job among
/// those 10,000 are not listed.
pub(crate) const COUNTED: u64 = 10_000;

/// One read of a Postgres library: the queues, the sums for the process type, and the live
/// processes (for a drain: which of them run on the dynos that stop).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Read {
    pub queues: Vec<Queue>,
    pub totals: Totals,
    pub workers: Vec<Worker>,
    /// Whether each worker's `running` is its own (GoodJob before v3.29 records no process
    /// for a running job: only the total is known).
    pub per_process: bool,
}

impl Read {
    /// The read as the daemon takes it; with `drain_to`, what runs on the dynos a scale-in to
    /// that many stops ([`stopping`]).
    pub(crate) fn store_read(self, process_type: &str, drain_to: Option<u32>) -> StoreRead {
        let stopping = drain_to.map(|keep| {
            stopping(
                &self.workers,
                process_type,
                keep,
                self.totals.busy.unwrap_or(0),
                self.per_process,
            )
        });
        StoreRead {
            queues: self.queues,
            totals: self.totals,
            stopping,
            unreadable: 0,
        }
    }
}

/// What runs on the dynos of `process_type` that a scale-in to `keep` stops. These libraries
/// cannot be asked to stop taking jobs: a drain waits for a read in which those dynos run
/// none. Their processes record the host's name: where it is the dyno's (`worker.3`), the
/// jobs of `worker.(keep+1)` and up count; where it is not (Heroku's hosts have names of their
/// own unless the app sets one), or where only the total is known (`per_process` false), the
/// stopping dynos cannot be told apart and every job of the type (`busy`) counts — the drain
/// then waits for a read in which the type runs none.
pub(crate) fn stopping(
    workers: &[Worker],
    process_type: &str,
    keep: u32,
    busy: u64,
    per_process: bool,
) -> Stopping {
    let by_dyno = per_process
        && workers
            .iter()
            .any(|w| w.hostname.as_deref().is_some_and(is_dyno_name));
    if !by_dyno {
        return Stopping {
            busy,
            loud: Vec::new(),
            processes: u32::try_from(workers.len()).unwrap_or(u32::MAX),
        };
    }
    let mut out = Stopping::default();
    for w in workers {
        let stops = w
            .hostname
            .as_deref()
            .and_then(|h| dyno_number(h, process_type))
            .is_some_and(|n| n > keep);
        if stops {
            out.busy = out.busy.saturating_add(w.running);
            out.processes = out.processes.saturating_add(1);
        }
    }
    out
}

/// More than [`MAX_QUEUES`] queues when none were named.
pub(crate) fn too_many(shown: &str, key: &'static str) -> Error {
    Error::TooMany {
        url: shown.to_owned(),
        key,
        max: MAX_QUEUES,
        hint: ": name this worker's queues in AUTOSCALE_QUEUES",
    }
}

/// The figures of `queues` for the policy: depths summed, the largest latency (a queue whose
/// oldest job's time is unreadable counts as none waiting long), the queues in `skip` (paused)
/// left out.
pub(crate) fn sums(queues: &[Queue], skip: &[String]) -> (u64, Duration) {
    let counted = queues.iter().filter(|q| !skip.contains(&q.name));
    let mut depth = 0u64;
    let mut latency = Duration::ZERO;
    for q in counted {
        depth = depth.saturating_add(q.depth);
        latency = latency.max(q.latency.unwrap_or(Duration::ZERO));
    }
    (depth, latency)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::collections::BTreeMap;

    fn w(host: Option<&str>, running: u64) -> Worker {
        Worker {
            hostname: host.map(str::to_owned),
            running,
            concurrency: Some(5),
        }
    }

    #[test]
    fn a_drain_counts_the_jobs_of_the_dynos_that_stop() {
        let workers = [
            w(Some("worker.1"), 3),
            w(Some("worker.2"), 2),
            w(Some("worker.3"), 0),
            w(Some("worker.12"), 4),
            w(Some("web.3"), 7),
            w(Some("worker.x"), 9),
            w(None, 8),
        ];
        // A scale-in to 2 stops worker.3 and worker.12 (Heroku stops the highest-numbered).
        assert_eq!(
            stopping(&workers, "worker", 2, 99, true),
            Stopping {
                busy: 4,
                loud: vec![],
                processes: 2
            }
        );
        // To 1: worker.2 too.
        assert_eq!(stopping(&workers, "worker", 1, 99, true).busy, 6);
        // To 12: none stops.
        assert_eq!(
            stopping(&workers, "worker", 12, 99, true),
            Stopping::default()
        );
        // Hosts not named after dynos: the stopping ones cannot be told; every job of the type.
        let hosts = [w(Some("a1b2c3d4"), 2), w(Some("e5f6a7b8"), 0)];
        assert_eq!(
            stopping(&hosts, "worker", 1, 2, true),
            Stopping {
                busy: 2,
                loud: vec![],
                processes: 2
            }
        );
        // Only the total known (GoodJob before v3.29): the same.
        assert_eq!(stopping(&workers, "worker", 2, 5, false).busy, 5);
        assert_eq!(stopping(&workers, "worker", 2, 5, false).processes, 7);
    }

    #[test]
    fn a_read_says_what_stops_only_during_a_drain() {
        let read = Read {
            queues: vec![],
            totals: Totals {
                depth: 0,
                latency: Duration::ZERO,
                busy: Some(5),
                done_counter: None,
                concurrency: Some(5),
            },
            workers: vec![w(Some("worker.1"), 3), w(Some("worker.2"), 2)],
            per_process: true,
        };
        assert_eq!(read.clone().store_read("worker", None).stopping, None);
        let during = read.clone().store_read("worker", Some(1));
        assert_eq!(during.stopping.map(|s| s.busy), Some(2));
        assert_eq!(during.totals, read.totals);
        assert_eq!(during.unreadable, 0);
        // The type's busy stands for the stopping dynos' when they cannot be told apart.
        let blind = Read {
            per_process: false,
            ..read
        };
        assert_eq!(
            blind.store_read("worker", Some(1)).stopping.map(|s| s.busy),
            Some(5)
        );
    }

    fn now() -> DateTime<Utc> {
        // 2026-12-07 10:00:00.250 UTC.
        Utc.timestamp_millis_opt(1_796_637_600_250).unwrap()
    }

    #[test]
    fn waits_from_the_oldest_due_time() {
        assert_eq!(
            waited(Some(1_796_637_555.0), now()),
            Some(Duration::from_millis(45_250))
        );
        assert_eq!(
            waited(Some(1_796_637_600.249), now()),
            Some(Duration::from_millis(1))
        );
        assert_eq!(waited(None, now()), Some(Duration::ZERO));
        // Due in the future (clocks apart): zero.
        assert_eq!(waited(Some(1_796_637_700.0), now()), Some(Duration::ZERO));
        // The epoch itself is a time.
        assert_eq!(
            waited(Some(0.0), now()),
            Some(Duration::from_millis(1_796_637_600_250))
        );
        for bad in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN, -1.0] {
            assert_eq!(waited(Some(bad), now()), None, "{bad}");
        }
    }

    #[test]
    fn counts_are_never_negative() {
        assert_eq!(count(Some(7)), 7);
        assert_eq!(count(Some(0)), 0);
        assert_eq!(count(Some(-3)), 0);
        assert_eq!(count(None), 0);
        assert_eq!(count(Some(i64::MAX)), i64::MAX as u64);
    }

    #[test]
    fn now_in_epoch_seconds_keeps_the_microseconds() {
        let t = Utc.timestamp_micros(1_796_637_600_250_123).unwrap();
        assert!((epoch_seconds(t) - 1_796_637_600.250_123).abs() < 1e-6);
    }

    #[test]
    fn two_parts_of_a_queue_merge() {
        let a = Ready {
            depth: 3,
            oldest: Some(10.0),
        };
        let b = Ready {
            depth: 4,
            oldest: Some(5.0),
        };
        assert_eq!(
            a.merge(b),
            Ready {
                depth: 7,
                oldest: Some(5.0)
            }
        );
        assert_eq!(b.merge(a).oldest, Some(5.0));
        let none = Ready::default();
        assert_eq!(a.merge(none), a);
        assert_eq!(none.merge(a), a);
        let full = Ready {
            depth: u64::MAX,
            oldest: None,
        };
        assert_eq!(full.merge(a).depth, u64::MAX);
    }

    #[test]
    fn dyno_names() {
        assert!(is_dyno_name("worker.1"));
        assert!(is_dyno_name("urgent_worker.12"));
        assert!(!is_dyno_name("worker"));
        assert!(!is_dyno_name(".1"));
        assert!(!is_dyno_name("worker.x"));
        assert!(!is_dyno_name("1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901"));
        assert!(!is_dyno_name("ip-10-0-0-1.ec2.internal"));
        assert!(!is_dyno_name("10.0.0.1"));
        assert!(!is_dyno_name("_x.1"));
        assert!(is_dyno_name("w.1"));
    }

    fn worker(host: &str, running: u64, concurrency: Option<u32>) -> Worker {
        Worker {
            hostname: Some(host.to_owned()),
            running,
            concurrency,
        }
    }

    #[test]
    fn busy_on_the_types_dynos_and_its_largest_dyno() {
        let workers = [
            worker("worker.1", 3, Some(5)),
            // Two processes on one dyno (Solid Queue's `processes: 2`): 5 + 5 at once.
            worker("worker.2", 4, Some(5)),
            worker("worker.2", 1, Some(5)),
            worker("urgent.1", 7, Some(20)),
            worker("worker.3", 2, None),
            Worker {
                hostname: None,
                running: 9,
                concurrency: Some(50),
            },
        ];
        assert_eq!(busy(&workers, "worker"), (10, Some(10)));
        assert_eq!(busy(&workers, "urgent"), (7, Some(20)));
        assert_eq!(busy(&workers, "web"), (0, None));
    }

    #[test]
    fn busy_of_every_process_when_hosts_are_not_dynos() {
        let workers = [
            worker("1b2c3d4e-5f60", 3, Some(5)),
            worker("a9f8e7d6-c5b4", u64::MAX, Some(5)),
            Worker {
                hostname: None,
                running: 2,
                concurrency: None,
            },
        ];
        assert_eq!(busy(&workers, "worker"), (u64::MAX, None));
        assert_eq!(busy(&workers[..1], "worker"), (3, None));
        assert_eq!(busy(&[], "worker"), (0, None));
    }

    #[test]
    fn queues_asked_for_are_all_listed() {
        let mut ready = BTreeMap::new();
        ready.insert(
            "default".to_owned(),
            Ready {
                depth: 4,
                oldest: Some(1_796_637_590.25),
            },
        );
        ready.insert(
            "mailers".to_owned(),
            Ready {
                depth: 1,
                oldest: Some(f64::INFINITY),
            },
        );
        let all = queues(None, &ready, now());
        assert_eq!(
            all,
            vec![
                Queue {
                    name: "default".into(),
                    depth: 4,
                    latency: Some(Duration::from_secs(10)),
                },
                Queue {
                    name: "mailers".into(),
                    depth: 1,
                    latency: None,
                },
            ]
        );
        let asked = [
            "critical".to_owned(),
            "default".to_owned(),
            "critical".to_owned(),
        ];
        assert_eq!(
            queues(Some(&asked), &ready, now()),
            vec![
                Queue {
                    name: "critical".into(),
                    depth: 0,
                    latency: Some(Duration::ZERO),
                },
                all[0].clone(),
            ]
        );
        let (depth, latency) = sums(&all, &[]);
        assert_eq!((depth, latency), (5, Duration::from_secs(10)));
        assert_eq!(sums(&all, &["default".to_owned()]), (1, Duration::ZERO));
        let big = [
            Queue {
                name: "a".into(),
                depth: u64::MAX,
                latency: Some(Duration::from_secs(1)),
            },
            Queue {
                name: "b".into(),
                depth: 1,
                latency: Some(Duration::from_secs(3)),
            },
        ];
        assert_eq!(sums(&big, &[]), (u64::MAX, Duration::from_secs(3)));
    }

    #[test]
    fn errors_without_a_server_answer_are_connect_errors() {
        assert_eq!(kind(&sqlx::Error::PoolTimedOut), Kind::Connect);
        assert_eq!(
            kind(&sqlx::Error::Io(
                std::io::ErrorKind::ConnectionRefused.into()
            )),
            Kind::Connect
        );
        assert_eq!(kind(&sqlx::Error::Protocol("x".into())), Kind::Connect);
        assert_eq!(kind(&sqlx::Error::RowNotFound), Kind::Read);
        assert_eq!(kind(&sqlx::Error::ColumnNotFound("x".into())), Kind::Read);
    }

    #[test]
    fn authorization_codes() {
        assert!(is_auth_code(Some("28P01")));
        assert!(is_auth_code(Some("28000")));
        assert!(!is_auth_code(Some("57014")));
        assert!(!is_auth_code(Some("2")));
        assert!(!is_auth_code(None));
    }

    #[test]
    fn urls_are_checked_and_never_shown_with_their_password() {
        let t = Duration::from_secs(1);
        let pg = Pg::new("postgres://u:hunter2@db.example.com:5432/d", t).unwrap();
        assert_eq!(pg.shown(), "postgres://***@db.example.com:5432/d");
        assert_eq!(
            format!("{pg:?}"),
            r#"Pg { url: "postgres://***@db.example.com:5432/d" }"#
        );
        for bad in [
            "redis://u:hunter2@example.com",
            "hunter2",
            "postgres://u:hunter2@/d",
            "postgres://u:hunter2@h/d?sslmode=maybe",
            "postgres://u:hunter2@h:99999/d",
        ] {
            let e = Pg::new(bad, t).unwrap_err().to_string();
            assert!(!e.contains("hunter2"), "{e}");
            assert!(e.starts_with("queue URL"), "{e}");
        }
    }

    #[test]
    fn sessions_are_read_only_in_utc_with_the_statement_timeout() {
        let pg = Pg::new("postgres://u:p@127.0.0.1/d", Duration::from_millis(2_500)).unwrap();
        let options = pg.options.get_options().unwrap_or_default();
        for wanted in [
            "default_transaction_read_only=on",
            "statement_timeout=2500ms",
            "TimeZone=UTC",
        ] {
            assert!(options.contains(wanted), "{options}");
        }
        assert_eq!(pg.options.get_application_name(), Some("autoscale-queue"));
    }

    #[test]
    fn a_raw_password_is_scrubbed() {
        assert_eq!(
            scrub_raw("postgres://u:pw@h:99999/d", "bad pw here"),
            "bad *** here"
        );
        assert_eq!(scrub_raw("hunter2", "hunter2"), "hunter2");
        assert_eq!(scrub_raw("postgres://u@h", "u@h"), "u@h");
    }
}
