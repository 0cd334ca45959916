//! The settings of the contract's "Job queues" section, per target: AUTOSCALE_QUEUE,
//! AUTOSCALE_QUEUE_URL, AUTOSCALE_QUEUES, AUTOSCALE_QUEUE_LATENCY, AUTOSCALE_QUEUE_INTERVAL,
//! AUTOSCALE_DRAIN, AUTOSCALE_DRAIN_TIMEOUT (and their file keys), parsed with the usual
//! one-line errors. A queue URL is a secret: an error shows it redacted, never its password.

use std::fmt;
use std::time::Duration;

use super::field::{
    DRAIN, DRAIN_TIMEOUT, QUEUE, QUEUES, QUEUE_INTERVAL, QUEUE_LATENCY, QUEUE_TLS_VERIFY, QUEUE_URL,
};
use super::{duration, parse_bool, ConfigError, Value};

/// The job libraries of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Library {
    Sidekiq,
    Resque,
    Rq,
    Celery,
    Bullmq,
    GoodJob,
    SolidQueue,
    Que,
    DelayedJob,
}

/// Where a library keeps its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Redis,
    Postgres,
}

impl Library {
    pub const ALL: [Library; 9] = [
        Library::Sidekiq,
        Library::Resque,
        Library::Rq,
        Library::Celery,
        Library::Bullmq,
        Library::GoodJob,
        Library::SolidQueue,
        Library::Que,
        Library::DelayedJob,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Library::Sidekiq => "sidekiq",
            Library::Resque => "resque",
            Library::Rq => "rq",
            Library::Celery => "celery",
            Library::Bullmq => "bullmq",
            Library::GoodJob => "good_job",
            Library::SolidQueue => "solid_queue",
            Library::Que => "que",
            Library::DelayedJob => "delayed_job",
        }
    }

    pub fn store(self) -> Store {
        match self {
            Library::Sidekiq
            | Library::Resque
            | Library::Rq
            | Library::Celery
            | Library::Bullmq => Store::Redis,
            Library::GoodJob | Library::SolidQueue | Library::Que | Library::DelayedJob => {
                Store::Postgres
            }
        }
    }

    /// Whether its scale-ins can be drained: Sidekiq's processes can be asked to stop taking
    /// jobs, and the Postgres libraries say which host runs each job (a drain waits for the
    /// stopping dynos to run none); the other Redis libraries say neither.
    pub fn drains(self) -> bool {
        self == Library::Sidekiq || self.store() == Store::Postgres
    }

    /// Its reader.
    pub fn reader(self) -> crate::queue::Kind {
        use crate::queue::Kind;
        match self {
            Library::Sidekiq => Kind::Sidekiq,
            Library::Resque => Kind::Resque,
            Library::Rq => Kind::Rq,
            Library::Celery => Kind::Celery,
            Library::Bullmq => Kind::Bullmq,
            Library::GoodJob => Kind::GoodJob,
            Library::SolidQueue => Kind::SolidQueue,
            Library::Que => Kind::Que,
            Library::DelayedJob => Kind::DelayedJob,
        }
    }

    /// Whether its store says when a job was enqueued (Celery's Redis broker and Resque keep
    /// no such time: their readers give the depth only, no latency).
    pub fn keeps_enqueue_time(self) -> bool {
        !matches!(self, Library::Celery | Library::Resque)
    }
}

impl fmt::Display for Library {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the store is.
#[derive(Clone, PartialEq, Eq)]
pub enum QueueUrl {
    /// A `redis://`, `rediss://` or `postgres://` URL (a secret: Debug shows it redacted).
    Url(String),
    /// `$NAME`: the target app's config var NAME, read through the Platform API.
    ConfigVar(String),
}

impl fmt::Debug for QueueUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueUrl::Url(url) => write!(f, "Url({})", crate::http::redact_secret(url)),
            QueueUrl::ConfigVar(name) => write!(f, "ConfigVar({name})"),
        }
    }
}

impl QueueUrl {
    /// As it may be printed.
    pub fn shown(&self) -> String {
        match self {
            QueueUrl::Url(url) => crate::http::redact_secret(url),
            QueueUrl::ConfigVar(name) => format!("${name}"),
        }
    }
}

/// A worker's queue settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSettings {
    pub library: Library,
    pub url: QueueUrl,
    /// The queues this process type works; None: every queue of the store.
    pub queues: Option<Vec<String>>,
    /// The longest a job should wait before a worker takes it.
    pub latency: Duration,
    /// How often the store is read.
    pub interval: Duration,
    /// Verify a `rediss://` store's certificate (Heroku's are self-signed: off by default).
    pub verify_tls: bool,
    /// Quiet the stopping dynos' workers before a scale-in.
    pub drain: bool,
    /// The longest a scale-in waits for them.
    pub drain_timeout: Duration,
}

impl QueueSettings {
    /// The store at `url` (this setting's, or its config var's value), opened for this
    /// library's reader; the error is one line that may be printed.
    pub fn open(&self, url: &str, timeout: Duration) -> Result<crate::queue::Store, String> {
        crate::queue::Store::open(self.library.reader(), url, self.verify_tls, timeout)
            .map_err(|e| e.to_string())
    }
}

pub const DEFAULT_LATENCY: Duration = Duration::from_secs(30);
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(600);
/// The most queue names AUTOSCALE_QUEUES takes (the reader's own bound).
pub const MAX_QUEUES: usize = crate::queue::sidekiq::MAX_QUEUES;
/// The longest queue name.
const MAX_NAME: usize = 512;

/// The target's queue settings from `get` (its key, `[defaults]`, the variable). None when
/// AUTOSCALE_QUEUE is unset, blank or `off`; the other settings are then unused, and a warning
/// says so when one was set (but not from `[defaults]`, which every target shares).
pub fn resolve<'a>(
    get: impl Fn(&str) -> Option<Value<'a>>,
    warnings: &mut Vec<String>,
) -> Result<Option<QueueSettings>, ConfigError> {
    let library = match get(QUEUE) {
        None => None,
        Some(v) if v.trimmed().is_empty() || v.trimmed().eq_ignore_ascii_case("off") => None,
        Some(v) => Some(library(&v)?),
    };
    let Some(library) = library else {
        let unused: Vec<&str> = [
            QUEUE_URL,
            QUEUES,
            QUEUE_LATENCY,
            QUEUE_INTERVAL,
            QUEUE_TLS_VERIFY,
            DRAIN,
            DRAIN_TIMEOUT,
        ]
        .into_iter()
        .filter_map(|var| {
            get(var)
                .filter(|v| !from_defaults(v))
                .map(|v| v.place.name())
        })
        .collect();
        if !unused.is_empty() {
            warnings.push(format!(
                "{} set without AUTOSCALE_QUEUE: unused (set queue = \"sidekiq\" to scale this process on its job queue)",
                unused.join(", ")
            ));
        }
        return Ok(None);
    };
    let url = match get(QUEUE_URL) {
        None => QueueUrl::ConfigVar(
            match library.store() {
                Store::Redis => "REDIS_URL",
                Store::Postgres => "DATABASE_URL",
            }
            .to_owned(),
        ),
        Some(v) => queue_url(&v, library)?,
    };
    let queues = match get(QUEUES) {
        None => None,
        Some(v) if v.trimmed().is_empty() => None,
        Some(v) => Some(queue_names(&v)?),
    };
    let latency = duration(get(QUEUE_LATENCY).as_ref(), DEFAULT_LATENCY)?;
    at_least_a_second(get(QUEUE_LATENCY).as_ref(), latency, "30s")?;
    let interval = duration(get(QUEUE_INTERVAL).as_ref(), DEFAULT_INTERVAL)?;
    at_least_a_second(get(QUEUE_INTERVAL).as_ref(), interval, "10s")?;
    if let Some(v) = get(QUEUE_INTERVAL).filter(|_| interval > Duration::from_secs(3600)) {
        return Err(v.err(
            "must be at most 1h (a queue read that rarely cannot scale on it)",
            "10s",
        ));
    }
    let verify_tls = on_off(get(QUEUE_TLS_VERIFY))?;
    let drain = match get(DRAIN) {
        None => false,
        Some(v) => match v.trimmed().to_ascii_lowercase().as_str() {
            "on" => true,
            "off" => false,
            other => parse_bool(other).ok_or_else(|| v.err("must be on or off", "on"))?,
        },
    };
    let drain_timeout = duration(get(DRAIN_TIMEOUT).as_ref(), DEFAULT_DRAIN_TIMEOUT)?;
    at_least_a_second(get(DRAIN_TIMEOUT).as_ref(), drain_timeout, "10m")?;
    if let Some(v) = get(DRAIN_TIMEOUT).filter(|_| drain_timeout > Duration::from_secs(86_400)) {
        return Err(v.err(
            "must be at most 24h (a scale-in held longer is a scale-in that never happens)",
            "10m",
        ));
    }
    if drain && !library.drains() {
        warnings.push(format!(
            "AUTOSCALE_DRAIN=on: {library}'s scale-ins are not drained in this version (Sidekiq's and the Postgres libraries' are)"
        ));
    }
    if latency <= interval {
        warnings.push(format!(
            "AUTOSCALE_QUEUE_LATENCY ({}) is not above AUTOSCALE_QUEUE_INTERVAL ({}): a job may wait past the target before a read sees it",
            humantime::format_duration(latency),
            humantime::format_duration(interval)
        ));
    }
    Ok(Some(QueueSettings {
        library,
        url,
        queues,
        latency,
        interval,
        verify_tls,
        drain,
        drain_timeout,
    }))
}

/// An on/off setting (true, yes, 1 ... too), off when unset.
fn on_off(v: Option<Value>) -> Result<bool, ConfigError> {
    let Some(v) = v else { return Ok(false) };
    match v.trimmed().to_ascii_lowercase().as_str() {
        "" | "off" => Ok(false),
        "on" => Ok(true),
        other => parse_bool(other).ok_or_else(|| v.err("must be on or off", "on")),
    }
}

/// Whether a value came from the file's `[defaults]` table.
fn from_defaults(v: &Value) -> bool {
    matches!(&v.place, crate::config::Place::File { section, .. } if section == "[defaults]")
}

fn at_least_a_second(v: Option<&Value>, d: Duration, example: &str) -> Result<(), ConfigError> {
    match v {
        Some(v) if d < Duration::from_secs(1) => Err(v.err("must be at least 1s", example)),
        _ => Ok(()),
    }
}

fn library(v: &Value) -> Result<Library, ConfigError> {
    let text = v.trimmed().to_ascii_lowercase().replace('-', "_");
    let names = || {
        Library::ALL
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(library) = Library::ALL.into_iter().find(|l| l.as_str() == text) else {
        return Err(v.err(format!("not a job library ({})", names()), "sidekiq"));
    };
    Ok(library)
}

/// A URL of the library's kind of store, or `$NAME`.
fn queue_url(v: &Value, library: Library) -> Result<QueueUrl, ConfigError> {
    let text = v.trimmed();
    let (schemes, example): (&[&str], &str) = match library.store() {
        Store::Redis => (&["redis", "rediss"], "$REDIS_URL"),
        Store::Postgres => (&["postgres", "postgresql"], "$DATABASE_URL"),
    };
    if let Some(name) = text.strip_prefix('$') {
        let valid = !name.is_empty()
            && name.len() <= 256
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        return if valid {
            Ok(QueueUrl::ConfigVar(name.to_owned()))
        } else {
            Err(v.err(
                "not a config var name after `$` (letters, digits and _)",
                example,
            ))
        };
    }
    let url = url::Url::parse(text).map_err(|e| {
        v.err(
            format!("neither a URL nor $NAME of a config var ({e})"),
            example,
        )
    })?;
    if !schemes.contains(&url.scheme()) {
        return Err(v.err(
            format!(
                "{library} keeps its jobs in {}: the URL must start with {}",
                match library.store() {
                    Store::Redis => "Redis",
                    Store::Postgres => "Postgres",
                },
                schemes
                    .iter()
                    .map(|s| format!("{s}://"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            example,
        ));
    }
    if !url.has_host() || url.host_str() == Some("") {
        return Err(v.err("the URL has no host", example));
    }
    Ok(QueueUrl::Url(text.to_owned()))
}

/// Comma-separated queue names, deduplicated in order.
fn queue_names(v: &Value) -> Result<Vec<String>, ConfigError> {
    let mut names: Vec<String> = Vec::new();
    for name in v.trimmed().split(',').map(str::trim) {
        if name.is_empty() {
            return Err(v.err(
                "an empty queue name (two commas, or one at an end)",
                "default,mailers",
            ));
        }
        if name.len() > MAX_NAME || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(v.err(
                format!("{name:?} is not a queue name (no spaces, at most {MAX_NAME} bytes)"),
                "default,mailers",
            ));
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    if names.len() > MAX_QUEUES {
        return Err(v.err(format!("more than {MAX_QUEUES} queues"), "default,mailers"));
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{field, Place};

    fn value(var: &str, text: &str) -> Value<'static> {
        Value {
            text: text.to_owned(),
            place: Place::Var(field::field(var)),
        }
    }

    fn resolve_pairs(
        pairs: &[(&str, &str)],
    ) -> (Result<Option<QueueSettings>, ConfigError>, Vec<String>) {
        let mut warnings = Vec::new();
        let got = resolve(
            |var| {
                pairs
                    .iter()
                    .find(|(v, _)| *v == var)
                    .map(|(v, t)| value(v, t))
            },
            &mut warnings,
        );
        (got, warnings)
    }

    fn ok(pairs: &[(&str, &str)]) -> QueueSettings {
        resolve_pairs(pairs).0.unwrap().unwrap()
    }

    fn err(pairs: &[(&str, &str)]) -> String {
        resolve_pairs(pairs).0.unwrap_err().to_string()
    }

    #[test]
    fn defaults_of_the_contract() {
        assert_eq!(
            ok(&[(QUEUE, "sidekiq")]),
            QueueSettings {
                library: Library::Sidekiq,
                url: QueueUrl::ConfigVar("REDIS_URL".into()),
                queues: None,
                latency: Duration::from_secs(30),
                interval: Duration::from_secs(10),
                verify_tls: false,
                drain: false,
                drain_timeout: Duration::from_secs(600),
            }
        );
        assert_eq!(Library::GoodJob.store(), Store::Postgres);
        assert_eq!(Library::Celery.store(), Store::Redis);
    }

    #[test]
    fn only_celery_and_resque_keep_no_enqueue_time() {
        let without: Vec<Library> = Library::ALL
            .into_iter()
            .filter(|l| !l.keeps_enqueue_time())
            .collect();
        assert_eq!(without, [Library::Resque, Library::Celery]);
    }

    #[test]
    fn the_postgres_libraries_with_a_reader_read_database_url() {
        for (given, library) in [
            ("good_job", Library::GoodJob),
            ("good-job", Library::GoodJob),
            ("solid_queue", Library::SolidQueue),
            ("que", Library::Que),
            ("delayed-job", Library::DelayedJob),
        ] {
            let got = ok(&[(QUEUE, given)]);
            assert_eq!(got.library, library);
            assert_eq!(got.url, QueueUrl::ConfigVar("DATABASE_URL".into()));
        }
        assert_eq!(
            ok(&[(QUEUE, "solid_queue"), (QUEUE_URL, "$QUEUE_DATABASE_URL")]).url,
            QueueUrl::ConfigVar("QUEUE_DATABASE_URL".into())
        );
    }

    #[test]
    fn every_library_of_the_contract_is_read() {
        use crate::queue::Kind;
        for library in Library::ALL {
            let got = ok(&[(QUEUE, &library.as_str().to_ascii_uppercase())]);
            assert_eq!(got.library, library);
            let var = match library.store() {
                Store::Redis => "REDIS_URL",
                Store::Postgres => "DATABASE_URL",
            };
            assert_eq!(got.url, QueueUrl::ConfigVar(var.into()));
        }
        let kinds: Vec<Kind> = Library::ALL.into_iter().map(Library::reader).collect();
        assert_eq!(
            kinds,
            [
                Kind::Sidekiq,
                Kind::Resque,
                Kind::Rq,
                Kind::Celery,
                Kind::Bullmq,
                Kind::GoodJob,
                Kind::SolidQueue,
                Kind::Que,
                Kind::DelayedJob,
            ]
        );
    }

    #[test]
    fn every_setting_given() {
        let (got, warnings) = resolve_pairs(&[
            (QUEUE, " Sidekiq "),
            (
                QUEUE_URL,
                "rediss://:p4ss@ec2-1-2-3-4.compute-1.amazonaws.com:6380",
            ),
            (QUEUES, "critical, default,mailers,default"),
            (QUEUE_LATENCY, "1m"),
            (QUEUE_INTERVAL, "5s"),
            (QUEUE_TLS_VERIFY, "on"),
            (DRAIN, "on"),
            (DRAIN_TIMEOUT, "15m"),
        ]);
        let got = got.unwrap().unwrap();
        assert_eq!(
            got,
            QueueSettings {
                library: Library::Sidekiq,
                url: QueueUrl::Url(
                    "rediss://:p4ss@ec2-1-2-3-4.compute-1.amazonaws.com:6380".into()
                ),
                queues: Some(vec!["critical".into(), "default".into(), "mailers".into()]),
                latency: Duration::from_secs(60),
                interval: Duration::from_secs(5),
                verify_tls: true,
                drain: true,
                drain_timeout: Duration::from_secs(900),
            }
        );
        assert_eq!(warnings, Vec::<String>::new());
        assert!(!format!("{got:?}").contains("p4ss"));
        assert_eq!(
            got.url.shown(),
            "rediss://***@ec2-1-2-3-4.compute-1.amazonaws.com:6380"
        );
        assert_eq!(
            ok(&[(QUEUE, "sidekiq"), (QUEUE_URL, "$HEROKU_REDIS_MAROON_URL")]).url,
            QueueUrl::ConfigVar("HEROKU_REDIS_MAROON_URL".into())
        );
        assert_eq!(
            QueueUrl::ConfigVar("REDIS_URL".into()).shown(),
            "$REDIS_URL"
        );
        assert!(!ok(&[(QUEUE, "sidekiq"), (DRAIN, "false")]).drain);
        assert!(ok(&[(QUEUE, "sidekiq"), (DRAIN, "yes")]).drain);
        assert_eq!(ok(&[(QUEUE, "sidekiq"), (QUEUES, " ")]).queues, None);
    }

    #[test]
    fn no_queue_no_settings_and_a_warning_for_the_strays() {
        assert_eq!(resolve_pairs(&[]), (Ok(None), vec![]));
        assert_eq!(resolve_pairs(&[(QUEUE, "off")]), (Ok(None), vec![]));
        assert_eq!(resolve_pairs(&[(QUEUE, "  ")]), (Ok(None), vec![]));
        let (got, warnings) = resolve_pairs(&[(QUEUE_LATENCY, "1m"), (DRAIN, "on")]);
        assert_eq!(got, Ok(None));
        assert_eq!(
            warnings,
            vec!["AUTOSCALE_QUEUE_LATENCY, AUTOSCALE_DRAIN set without AUTOSCALE_QUEUE: unused (set queue = \"sidekiq\" to scale this process on its job queue)".to_owned()]
        );
        // From [defaults], shared by every target: no warning for the web one.
        let mut warnings = Vec::new();
        let got = resolve(
            |var| {
                (var == QUEUE_LATENCY).then(|| Value {
                    text: "1m".into(),
                    place: Place::File {
                        file: "autoscale.toml",
                        section: "[defaults]".into(),
                        key: "queue_latency",
                    },
                })
            },
            &mut warnings,
        );
        assert_eq!((got, warnings), (Ok(None), vec![]));
    }

    #[test]
    fn drain_is_sidekiq_s_and_the_postgres_libraries_and_said_so_for_the_others() {
        let (got, warnings) = resolve_pairs(&[(QUEUE, "rq"), (DRAIN, "on")]);
        let got = got.unwrap().unwrap();
        assert_eq!(got.url, QueueUrl::ConfigVar("REDIS_URL".into()));
        assert_eq!(
            warnings,
            ["AUTOSCALE_DRAIN=on: rq's scale-ins are not drained in this version (Sidekiq's and the Postgres libraries' are)"]
        );
        for library in ["sidekiq", "good_job", "solid_queue", "que", "delayed_job"] {
            let (_, warnings) = resolve_pairs(&[(QUEUE, library), (DRAIN, "on")]);
            assert!(warnings.is_empty(), "{library}: {warnings:?}");
        }
        for library in ["resque", "celery", "bullmq"] {
            let (_, warnings) = resolve_pairs(&[(QUEUE, library), (DRAIN, "on")]);
            assert_eq!(warnings.len(), 1, "{library}: {warnings:?}");
        }
        let (_, warnings) = resolve_pairs(&[(QUEUE, "solid_queue")]);
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn bad_values_are_one_line_errors() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[(QUEUE, "sidekiqq")],
                "AUTOSCALE_QUEUE (--queue)=\"sidekiqq\": not a job library (sidekiq, resque, rq, celery, bullmq, good_job, solid_queue, que, delayed_job); example: AUTOSCALE_QUEUE=sidekiq",
            ),
            (
                &[(QUEUE, "sidekiq"), (QUEUE_URL, "postgres://u:hunter2@db.example.com/x")],
                "AUTOSCALE_QUEUE_URL (--queue-url)=\"(hidden)\": sidekiq keeps its jobs in Redis: the URL must start with redis:// or rediss://; example: AUTOSCALE_QUEUE_URL=$REDIS_URL",
            ),
            (
                &[(QUEUE, "sidekiq"), (QUEUE_URL, "hunter2")],
                "AUTOSCALE_QUEUE_URL (--queue-url)=\"(hidden)\": neither a URL nor $NAME of a config var (relative URL without a base); example: AUTOSCALE_QUEUE_URL=$REDIS_URL",
            ),
            (
                &[(QUEUE, "sidekiq"), (QUEUE_URL, "$1REDIS")],
                "AUTOSCALE_QUEUE_URL (--queue-url)=\"(hidden)\": not a config var name after `$` (letters, digits and _); example: AUTOSCALE_QUEUE_URL=$REDIS_URL",
            ),
            (
                &[(QUEUE, "sidekiq"), (QUEUE_URL, "$")],
                "not a config var name",
            ),
            (
                &[(QUEUE, "sidekiq"), (QUEUE_TLS_VERIFY, "sure")],
                "AUTOSCALE_QUEUE_TLS_VERIFY (--queue-tls-verify)=\"sure\": must be on or off; example: AUTOSCALE_QUEUE_TLS_VERIFY=on",
            ),
            (
                &[(QUEUE, "sidekiq"), (QUEUE_URL, "$REDIS-URL")],
                "not a config var name",
            ),
            (
                &[(QUEUE, "sidekiq"), (QUEUE_URL, "redis:hunter2")],
                "the URL has no host",
            ),
            (
                &[(QUEUE, "sidekiq"), (QUEUES, "default,,mailers")],
                "AUTOSCALE_QUEUES (--queues)=\"default,,mailers\": an empty queue name (two commas, or one at an end); example: AUTOSCALE_QUEUES=default,mailers",
            ),
            (
                &[(QUEUE, "sidekiq"), (QUEUES, "default,low priority")],
                "\"low priority\" is not a queue name",
            ),
            (
                &[(QUEUE, "sidekiq"), (QUEUE_LATENCY, "soon")],
                "AUTOSCALE_QUEUE_LATENCY (--queue-latency)=\"soon\": not a duration",
            ),
            (
                &[(QUEUE, "sidekiq"), (QUEUE_LATENCY, "500ms")],
                "AUTOSCALE_QUEUE_LATENCY (--queue-latency)=\"500ms\": must be at least 1s; example: AUTOSCALE_QUEUE_LATENCY=30s",
            ),
            (
                &[(QUEUE, "sidekiq"), (QUEUE_INTERVAL, "0s")],
                "AUTOSCALE_QUEUE_INTERVAL (--queue-interval)=\"0s\": must be more than zero",
            ),
            (
                &[(QUEUE, "sidekiq"), (QUEUE_INTERVAL, "999ms")],
                "must be at least 1s; example: AUTOSCALE_QUEUE_INTERVAL=10s",
            ),
            (
                &[(QUEUE, "sidekiq"), (QUEUE_INTERVAL, "61m")],
                "AUTOSCALE_QUEUE_INTERVAL (--queue-interval)=\"61m\": must be at most 1h",
            ),
            (
                &[(QUEUE, "sidekiq"), (DRAIN, "maybe")],
                "AUTOSCALE_DRAIN (--drain)=\"maybe\": must be on or off; example: AUTOSCALE_DRAIN=on",
            ),
            (
                &[(QUEUE, "sidekiq"), (DRAIN_TIMEOUT, "2d")],
                "AUTOSCALE_DRAIN_TIMEOUT (--drain-timeout)=\"2d\": must be at most 24h",
            ),
            (
                &[(QUEUE, "sidekiq"), (DRAIN_TIMEOUT, "10ms")],
                "must be at least 1s; example: AUTOSCALE_DRAIN_TIMEOUT=10m",
            ),
        ];
        for (pairs, expected) in cases {
            let e = err(pairs);
            assert!(e.contains(expected), "{e}\n  expected: {expected}");
            assert!(!e.contains("hunter2"), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
        // At the bounds.
        assert_eq!(
            ok(&[
                (QUEUE, "sidekiq"),
                (QUEUE_INTERVAL, "1h"),
                (QUEUE_LATENCY, "1s")
            ])
            .interval,
            Duration::from_secs(3600)
        );
        assert_eq!(
            ok(&[(QUEUE, "sidekiq"), (DRAIN_TIMEOUT, "24h")]).drain_timeout,
            Duration::from_secs(86_400)
        );
        let many: Vec<String> = (0..=MAX_QUEUES).map(|i| format!("q{i}")).collect();
        assert!(
            err(&[(QUEUE, "sidekiq"), (QUEUES, &many.join(","))]).contains("more than 1000 queues")
        );
        assert_eq!(
            ok(&[(QUEUE, "sidekiq"), (QUEUES, &many[..MAX_QUEUES].join(","))])
                .queues
                .map(|q| q.len()),
            Some(MAX_QUEUES)
        );
    }

    #[test]
    fn a_worker_target_takes_its_queue_from_the_environment_and_the_file() {
        use crate::config::{file, target, FeedCache, Raw};
        let raw = Raw::from_pairs([
            (field::APP, "shop"),
            (field::PROCESS, "worker"),
            (field::QUEUE, "sidekiq"),
            (field::CONCURRENCY, "10"),
        ]);
        let t = target(&raw, None, 1).unwrap();
        assert_eq!(t.queue.map(|q| q.library), Some(Library::Sidekiq));
        // A worker's CONCURRENCY needs no traffic stream.
        assert_eq!((t.traffic.on, t.traffic.concurrency), (false, Some(10)));
        // Without a queue it still does.
        let mut raw = raw;
        raw.remove(field::QUEUE);
        assert!(target(&raw, None, 1)
            .unwrap_err()
            .to_string()
            .contains("needs the traffic stream"));

        let text = r#"
[defaults]
queue_latency = "1m"

[[target]]
app = "shop"
process = "web"

[[target]]
app = "shop"
process = "worker"
queue = "sidekiq"
queue_url = "$HEROKU_REDIS_TEAL_URL"
queues = "critical,default"
drain = true
"#;
        let targets = file::targets(
            "autoscale.toml",
            text,
            &Raw::default(),
            None,
            1,
            &mut FeedCache::default(),
        )
        .unwrap();
        assert_eq!(targets[0].queue, None);
        assert_eq!(targets[0].warnings, Vec::<String>::new());
        let q = targets[1].queue.clone().unwrap();
        assert_eq!(q.url, QueueUrl::ConfigVar("HEROKU_REDIS_TEAL_URL".into()));
        assert_eq!(q.queues, Some(vec!["critical".into(), "default".into()]));
        assert_eq!((q.latency, q.drain), (Duration::from_secs(60), true));

        // A bad URL in the file: the place, the key, and no password.
        let bad = "[[target]]\napp = \"shop\"\nprocess = \"worker\"\nqueue = \"sidekiq\"\nqueue_url = \"postgres://u:hunter2@db.example.com/x\"\n";
        let e = file::targets(
            "autoscale.toml",
            bad,
            &Raw::default(),
            None,
            1,
            &mut FeedCache::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("autoscale.toml: target 1 (shop/worker): queue_url="),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn a_latency_not_above_the_interval_is_warned_about() {
        let (got, warnings) = resolve_pairs(&[(QUEUE, "sidekiq"), (QUEUE_LATENCY, "10s")]);
        assert!(got.unwrap().is_some());
        assert_eq!(
            warnings,
            vec!["AUTOSCALE_QUEUE_LATENCY (10s) is not above AUTOSCALE_QUEUE_INTERVAL (10s): a job may wait past the target before a read sees it".to_owned()]
        );
        let (_, warnings) = resolve_pairs(&[(QUEUE, "sidekiq"), (QUEUE_LATENCY, "11s")]);
        assert_eq!(warnings, Vec::<String>::new());
    }
}
