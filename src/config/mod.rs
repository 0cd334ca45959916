//! Configuration: every setting of the contract, validated into the [`Target`]s the daemon runs.
//!
//! Values come from flags and environment variables (a flag wins; [`Raw`] holds them as text),
//! and per target from the configuration file ([`file`](mod@file)): a target's key, then `[defaults]`,
//! then the environment variable, then the built-in default. All parsing happens here so every
//! error has the same one-line shape: where the value came from (a variable, or the file, the
//! target and the key), the value (never a secret), the problem and a valid example.
//!
//! - [`field`]: the table of every setting (a leaf: the command line and the warnings use it).
//! - [`file`](mod@file): the TOML file of targets.
//! - [`notify`](mod@notify): the alert channels (AUTOSCALE_NOTIFY_*).
//! - [`queue`](mod@queue): a worker's job queue (AUTOSCALE_QUEUE and its settings).
//! - [`shard`]: which clock dyno runs which app.

pub mod field;
pub mod file;
pub mod notify;
pub mod queue;
pub mod shard;
mod values;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use values::{app_name, check_url, count, process_name, schedule, share, time_zone};
pub use values::{duration, is_app_name, is_process_name, parse_bool, secure_base_url};

use chrono_tz::Tz;
use url::Url;

use crate::calendar::feed::{FetchSettings, HolidayFeeds};
use crate::calendar::{Calendar, HolidaySources, Holidays};
use crate::heroku::ApiKey;
use crate::http::is_loopback_host;
use crate::notify::NotifyConfig;
use crate::policy::Thresholds;
pub use crate::probe::{CheckSettings, CheckUrl};
use crate::schedule::{Schedule, ScheduleError};
pub use field::unknown_variables;
use field::Field;
pub use file::Source;
pub use shard::Shards;

pub const DEFAULT_SCHEDULE: &str = "07:00=3; 22:00=2; 03:00=1";
pub const DEFAULT_API_URL: &str = "https://api.heroku.com";
pub const DEFAULT_LOG: &str = crate::logfmt::DEFAULT_FILTER;
pub const DEFAULT_API_BUDGET: u32 = 2000;
pub const DEFAULT_CHECK_CONCURRENCY: usize = 50;
/// Heroku runs at most 100 dynos per app unless support raised the limit: a larger MAX is
/// probably a typo and is warned about.
pub const HEROKU_APP_DYNO_LIMIT: u32 = 100;

/// The settings given as flags or environment variables (a flag wins), as text, by variable.
/// No Debug: it holds the key and alert secrets.
#[derive(Clone, Default)]
pub struct Raw {
    values: BTreeMap<&'static str, String>,
}

impl Raw {
    /// From (variable, value) pairs; variables must be in the settings table.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Raw {
        let mut raw = Raw::default();
        for (var, value) in pairs {
            raw.set(var, value);
        }
        raw
    }

    pub fn set(&mut self, var: &str, value: impl Into<String>) {
        self.values.insert(field::field(var).var, value.into());
    }

    pub fn remove(&mut self, var: &str) {
        self.values.remove(var);
    }

    /// The value, when given.
    pub fn get(&self, var: &str) -> Option<&str> {
        self.values.get(var).map(String::as_str)
    }

    /// The value with where it came from, for errors.
    pub fn value(&self, var: &str) -> Option<Value<'static>> {
        let text = self.values.get(var)?;
        Some(Value {
            text: text.clone(),
            place: Place::Var(field::field(var)),
        })
    }
}

/// Where a value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place<'a> {
    /// An environment variable or its flag.
    Var(&'static Field),
    /// A variable outside the table (HEROKU_APP_NAME, DYNO, DATABASE_URL).
    Env(&'static str),
    /// A key in the configuration file: `file`, `section` (`target 2 (shop/worker)` or
    /// `[defaults]`) and the key.
    File {
        file: &'a str,
        section: String,
        key: &'static str,
    },
}

impl Place<'_> {
    /// The error for a bad value here.
    pub fn err(
        &self,
        value: Option<&str>,
        problem: impl Into<String>,
        example: impl fmt::Display,
    ) -> ConfigError {
        let secret = matches!(self, Place::Var(f) if f.secret);
        let (place, example) = match self {
            Place::Var(f) => (f.label(), format!("{}={example}", f.var)),
            Place::Env(var) => (var.to_string(), format!("{var}={example}")),
            Place::File { file, section, key } => (
                format!("{file}: {section}: {key}"),
                format!("{key} = {}", toml_example(&example.to_string())),
            ),
        };
        ConfigError {
            place,
            variable: self.name(),
            value: value.map(|v| {
                if secret {
                    "(hidden)".to_owned()
                } else {
                    crate::http::redact_text(v)
                }
            }),
            problem: problem.into(),
            example,
        }
    }

    /// The variable or key.
    pub fn name(&self) -> &'static str {
        match self {
            Place::Var(f) => f.var,
            Place::Env(var) => var,
            Place::File { key, .. } => key,
        }
    }
}

/// An example value as TOML: numbers and booleans bare, anything else quoted.
fn toml_example(value: &str) -> String {
    if value.parse::<f64>().is_ok() || value == "true" || value == "false" {
        value.to_owned()
    } else {
        format!("{value:?}")
    }
}

/// A bad setting: printed as one line, exit code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// `AUTOSCALE_MAX (--max)`, or `autoscale.toml: target 2 (shop/worker): max`.
    pub place: String,
    /// The variable or key, for tests and callers.
    pub variable: &'static str,
    /// The offending value, already made safe to print (secrets are never put here).
    pub value: Option<String>,
    pub problem: String,
    /// A whole valid setting: `AUTOSCALE_MAX=4` or `max = 4`.
    pub example: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.place)?;
        match &self.value {
            Some(value) => write!(f, "={value:?}: {}", self.problem)?,
            None => write!(f, ": {}", self.problem)?,
        }
        write!(f, "; example: {}", self.example)
    }
}

impl std::error::Error for ConfigError {}

/// A value and where it came from.
#[derive(Debug, Clone)]
pub struct Value<'a> {
    pub text: String,
    pub place: Place<'a>,
}

impl Value<'_> {
    pub fn err(&self, problem: impl Into<String>, example: impl fmt::Display) -> ConfigError {
        self.place.err(Some(&self.text), problem, example)
    }

    pub fn trimmed(&self) -> &str {
        self.text.trim()
    }
}

/// Scaling on the app's traffic (its router log lines, streamed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrafficSettings {
    /// Stream the router logs (each finished minute is also a check).
    pub on: bool,
    /// Requests one dyno serves at once; set → scale on load.
    pub concurrency: Option<u32>,
    /// Target busy fraction of that capacity (0 < u ≤ 1).
    pub utilization: f64,
    /// Share of router errors in a minute (of at least
    /// [`MIN_REQUESTS`](crate::policy::MIN_REQUESTS) requests) that is unhealthy.
    pub error_rate: f64,
}

/// A pause: until an instant, or until someone removes the setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pause {
    Until(chrono::DateTime<chrono::Utc>),
    Forever,
}

impl Pause {
    /// Whether it is in force at `now`.
    pub fn covers(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        match self {
            Pause::Until(until) => now < *until,
            Pause::Forever => true,
        }
    }

    pub fn until_text(&self) -> String {
        match self {
            Pause::Until(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            Pause::Forever => "forever".to_owned(),
        }
    }
}

/// One app + one process type + its schedule and thresholds: what the daemon looks after.
#[derive(Debug, Clone)]
pub struct Target {
    pub app: String,
    pub process: String,
    pub schedule: Arc<Schedule>,
    /// The schedule of a holiday (default: the schedule's smallest quantity all day).
    pub holiday_schedule: Arc<Schedule>,
    /// The holidays: the dates written out, and the feeds' (shared by targets with the same
    /// AUTOSCALE_HOLIDAYS and zone). None: no holidays.
    pub holidays: Option<Arc<HolidayFeeds>>,
    pub thresholds: Thresholds,
    pub check: CheckSettings,
    pub dry_run: bool,
    /// How long a quantity set by someone else is kept (zero: holds off).
    pub manual_hold: Duration,
    /// Decide and log, never PATCH, while this is in force.
    pub pause: Option<Pause>,
    /// Unhealthy checks this soon after a new release do not count (zero: off).
    pub deploy_grace: Duration,
    /// How the app's router logs are read and used.
    pub traffic: TrafficSettings,
    /// The job queue a worker scales on (AUTOSCALE_QUEUE and its settings).
    pub queue: Option<queue::QueueSettings>,
    /// The clock dyno (1-based) whose daemon runs this target's app.
    pub shard: u32,
    /// Settings that are valid but will not do what a user may expect (the start line and
    /// `check` say them).
    pub warnings: Vec<String>,
}

impl Target {
    /// `app/process`, the way `--target` and messages name a target.
    pub fn name(&self) -> String {
        format!("{}/{}", self.app, self.process)
    }

    /// The schedule with its holidays as they are known now (the feeds' latest lists).
    pub fn calendar(&self) -> Calendar {
        let holidays = self
            .holidays
            .as_ref()
            .map_or_else(|| Arc::new(Holidays::default()), |h| h.snapshot());
        Calendar::new(
            self.schedule.clone(),
            self.holiday_schedule.clone(),
            holidays,
        )
    }

    /// The latest edge at or before `at`: the quantity in force, holidays included.
    pub fn floor(&self, at: chrono::DateTime<chrono::Utc>) -> Option<crate::calendar::Edge> {
        self.calendar().floor(at)
    }
}

/// The targets and where they came from: all that `plan` needs (no token).
#[derive(Debug, Clone)]
pub struct Targets {
    /// Every target of the configuration, in the order written.
    pub all: Vec<Target>,
    pub source: Source,
    pub shards: Shards,
}

impl Targets {
    /// The targets this dyno runs.
    pub fn mine(&self) -> Vec<Target> {
        self.all
            .iter()
            .filter(|t| self.shards.this.is_none_or(|s| s == t.shard))
            .cloned()
            .collect()
    }

    /// The distinct apps, in order of first appearance.
    pub fn apps(targets: &[Target]) -> Vec<String> {
        let mut apps: Vec<String> = Vec::new();
        for t in targets {
            if !apps.contains(&t.app) {
                apps.push(t.app.clone());
            }
        }
        apps
    }
}

/// Everything the daemon and `check` need.
#[derive(Debug, Clone)]
pub struct Config {
    pub api_key: ApiKey,
    pub api_url: Url,
    pub targets: Targets,
    pub log: String,
    pub notify: NotifyConfig,
    /// API calls per hour this daemon may spend.
    pub api_budget: u32,
    /// Checks in flight at once.
    pub check_concurrency: usize,
    /// Where the history is kept (AUTOSCALE_HISTORY, AUTOSCALE_HISTORY_DAYS).
    pub history: crate::history::Settings,
}

/// The process environment the configuration reads besides the table's variables.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// HEROKU_APP_NAME (dyno metadata): the default app.
    pub heroku_app_name: Option<String>,
    /// DYNO (`clock.2`): the default shard, and whether this runs on a dyno.
    pub dyno: Option<String>,
    /// DATABASE_URL (Heroku Postgres): the default history store.
    pub database_url: Option<String>,
}

impl Env {
    pub fn from_process() -> Env {
        Env {
            heroku_app_name: std::env::var("HEROKU_APP_NAME").ok(),
            dyno: std::env::var("DYNO").ok(),
            database_url: std::env::var(crate::history::settings::DATABASE_URL_VAR).ok(),
        }
    }
}

/// Every value given (variables, flags, and HEROKU_APP_NAME, DYNO, DATABASE_URL) within its
/// [`field::max_len`], checked before anything parses it. The error names the variable, says how
/// long the value is and shows a valid example; it never echoes the value.
pub fn check_lengths(raw: &Raw, env: &Env) -> Result<(), ConfigError> {
    for (var, text) in &raw.values {
        let max = field::max_len(var);
        if text.len() > max {
            let f = field::field(var);
            return Err(Place::Var(f).err(None, too_long(text.len(), max), f.example));
        }
    }
    let others = [
        (
            "HEROKU_APP_NAME",
            env.heroku_app_name.as_deref(),
            256,
            "my-app",
        ),
        ("DYNO", env.dyno.as_deref(), 256, "clock.1"),
        (
            crate::history::settings::DATABASE_URL_VAR,
            env.database_url.as_deref(),
            8 << 10,
            "postgres://USER:PASSWORD@HOST:5432/DATABASE",
        ),
    ];
    for (var, text, max, example) in others {
        if let Some(text) = text.filter(|t| t.len() > max) {
            return Err(Place::Env(var).err(None, too_long(text.len(), max), example));
        }
    }
    Ok(())
}

/// The problem of a value longer than `max` bytes.
pub(crate) fn too_long(len: usize, max: usize) -> String {
    format!("the value is too long ({len} bytes; at most {max}), not shown")
}

/// AUTOSCALE_HISTORY and AUTOSCALE_HISTORY_DAYS, with the contract's defaults (DATABASE_URL,
/// DYNO); a bad value is the same one-line error as any other setting, its password redacted.
pub fn history(raw: &Raw, env: &Env) -> Result<crate::history::Settings, ConfigError> {
    use crate::history::settings::{DATABASE_URL_VAR, DYNO_VAR};
    crate::history::resolve(|name| match name {
        DATABASE_URL_VAR => env.database_url.clone(),
        DYNO_VAR => env.dyno.clone(),
        _ => raw.get(name).map(str::to_owned),
    })
    .map_err(|e| {
        let place = field::FIELDS
            .iter()
            .find(|f| f.var == e.variable)
            .map_or_else(|| e.variable.to_owned(), |f| f.label());
        ConfigError {
            place,
            variable: e.variable,
            value: Some(e.value),
            problem: e.problem,
            example: e.example,
        }
    })
}

/// Looks a per-target setting up: the target's key, `[defaults]`, the variable, in that order.
pub trait Lookup {
    fn value(&self, var: &str) -> Option<Value<'_>>;
}

impl Lookup for Raw {
    fn value(&self, var: &str) -> Option<Value<'_>> {
        Raw::value(self, var)
    }
}

/// One target from its settings. `default_app` is HEROKU_APP_NAME (dyno metadata).
pub fn target(
    settings: &dyn Lookup,
    default_app: Option<&str>,
    shards: u32,
) -> Result<Target, ConfigError> {
    target_sharing(settings, default_app, shards, &mut FeedCache::default())
}

/// One target of several: its holiday feeds come from `feeds` when another target has the same.
pub fn target_sharing(
    settings: &dyn Lookup,
    default_app: Option<&str>,
    shards: u32,
    feeds: &mut FeedCache,
) -> Result<Target, ConfigError> {
    use field::*;
    let get = |var: &str| settings.value(var);
    let app = match (get(APP), default_app) {
        (Some(v), _) => app_name(&v)?,
        (None, Some(name)) => app_name(&Value {
            text: name.to_owned(),
            place: Place::Env("HEROKU_APP_NAME"),
        })?,
        (None, None) => {
            return Err(Place::Var(field::field(APP)).err(
                None,
                "is not set (and HEROKU_APP_NAME, set by `heroku labs:enable runtime-dyno-metadata`, is absent)",
                "my-app",
            ))
        }
    };
    let process = process_name(get(PROCESS).as_ref())?;
    let tz = time_zone(get(TZ).as_ref())?;
    let schedule = schedule(get(SCHEDULE).as_ref(), tz)?;
    let holiday_schedule = match get(HOLIDAY_SCHEDULE) {
        None => crate::calendar::default_holiday_schedule(&schedule),
        Some(v) => {
            crate::calendar::holiday_schedule(Some(v.trimmed()), &schedule).map_err(|e| {
                let example = match e {
                    ScheduleError::Entry { size: true, .. } => e.example(),
                    _ => "00:00=1; 10:00=2; 18:00=1",
                };
                values::schedule_error(&v, e.to_string(), &e, example)
            })?
        }
    };
    let holidays = match get(HOLIDAYS) {
        Some(v) if !v.trimmed().is_empty() => {
            let sources = HolidaySources::parse(v.trimmed())
                .map_err(|e| v.err(e.to_string(), crate::calendar::EXAMPLE))?;
            Some(feeds.feeds(v.trimmed(), sources, tz))
        }
        _ => None,
    };
    let largest = schedule.max_quantity().max(holiday_schedule.max_quantity());
    let mut warnings = Vec::new();
    let max = match get(MAX) {
        None => largest,
        Some(v) => match v.trimmed().parse::<u32>() {
            Ok(n) if n > crate::schedule::MAX_QUANTITY => {
                return Err(v.err(
                    format!(
                        "more than {} dynos is beyond anything Heroku runs",
                        crate::schedule::MAX_QUANTITY
                    ),
                    largest.max(1) * 2,
                ))
            }
            Ok(n) if n >= 1 && n >= largest => n,
            Ok(n) if n >= 1 => {
                return Err(v.err(
                    format!("the schedule asks for {largest} dynos, more than the maximum {n}"),
                    largest,
                ))
            }
            _ => return Err(v.err("must be a whole number of at least 1", "4")),
        },
    };
    if max == 0 {
        return Err(Place::Var(field::field(MAX)).err(
            None,
            "the schedule never asks for a dyno, so there is nothing to scale out to",
            "2",
        ));
    }
    if max > HEROKU_APP_DYNO_LIMIT {
        warnings.push(format!(
            "max {max} is above Heroku's default limit of {HEROKU_APP_DYNO_LIMIT} dynos per app: scaling past it fails unless Heroku raised your limit"
        ));
    }

    let check = CheckSettings {
        url: check_url(get(CHECK_URL).as_ref(), &process)?,
        interval: duration(get(CHECK_INTERVAL).as_ref(), Duration::from_secs(180))?,
        timeout: duration(get(CHECK_TIMEOUT).as_ref(), Duration::from_secs(10))?,
        slow: duration(get(SLOW).as_ref(), Duration::from_secs(5))?,
        fast: match get(FAST) {
            Some(v) if v.trimmed().eq_ignore_ascii_case("off") => None,
            other => Some(duration(other.as_ref(), Duration::from_secs(1))?),
        },
    };
    if check.interval < Duration::from_secs(1) {
        let v = get(CHECK_INTERVAL).expect("the default is 3m");
        return Err(v.err(
            "must be at least 1s (a shorter one would load the app and the API for nothing)",
            "3m",
        ));
    }
    if let Some(fast) = check.fast {
        if fast >= check.slow {
            // Blame the one the user set (both: FAST, the one that must be lower).
            let fast_text = humantime::format_duration(fast);
            let slow_text = humantime::format_duration(check.slow);
            return Err(match get(FAST) {
                None => get(SLOW)
                    .expect("the defaults are ordered")
                    .err(format!("must be above AUTOSCALE_FAST ({fast_text})"), "5s"),
                Some(v) => v.err(format!("must be below AUTOSCALE_SLOW ({slow_text})"), "1s"),
            });
        }
    }
    if check.url != CheckUrl::Off && check.slow >= check.timeout {
        warnings.push(format!(
            "AUTOSCALE_SLOW ({}) is not below AUTOSCALE_CHECK_TIMEOUT ({}): an answer that slow is already down (timeout), so slow never fires",
            humantime::format_duration(check.slow),
            humantime::format_duration(check.timeout)
        ));
    }
    let scale_out_after = count(get(SCALE_OUT_AFTER).as_ref(), 1, 1000)?;
    let scale_in_after = count(get(SCALE_IN_AFTER).as_ref(), 3, 1000)?;
    let dry_run = match get(DRY_RUN) {
        None => false,
        Some(v) => parse_bool(&v.text)
            .ok_or_else(|| v.err("not a boolean (true/false/1/0/yes/no)", "true"))?,
    };
    let manual_hold = match get(MANUAL_HOLD) {
        Some(v) if matches!(v.trimmed(), "0" | "off") => Duration::ZERO,
        other => duration(other.as_ref(), Duration::from_secs(3600))?,
    };
    let pause = match get(PAUSE_UNTIL) {
        None => None,
        Some(v) if v.trimmed().is_empty() => None,
        Some(v) if v.trimmed().eq_ignore_ascii_case("forever") => Some(Pause::Forever),
        Some(v) => match chrono::DateTime::parse_from_rfc3339(v.trimmed()) {
            Ok(t) => Some(Pause::Until(t.with_timezone(&chrono::Utc))),
            Err(e) => {
                return Err(v.err(
                    format!("not an RFC 3339 instant or `forever` ({e})"),
                    "2026-12-01T09:00:00Z",
                ))
            }
        },
    };
    let deploy_grace = match get(DEPLOY_GRACE) {
        Some(v) if matches!(v.trimmed(), "0" | "off") => Duration::ZERO,
        other => duration(other.as_ref(), Duration::from_secs(180))?,
    };
    let traffic = TrafficSettings {
        on: match get(TRAFFIC) {
            None => process == "web",
            Some(v) => match v.trimmed().to_ascii_lowercase().as_str() {
                "on" => true,
                "off" => false,
                other => parse_bool(other).ok_or_else(|| v.err("must be on or off", "on"))?,
            },
        },
        concurrency: match get(CONCURRENCY) {
            None => None,
            Some(v) if v.trimmed().is_empty() || v.trimmed().eq_ignore_ascii_case("off") => None,
            Some(v) => Some(count(Some(&v), 1, 10_000)?),
        },
        utilization: share(get(UTILIZATION).as_ref(), 0.7, "0.7")?,
        error_rate: share(get(ERROR_RATE).as_ref(), 0.05, "5%")?,
    };
    let queue = self::queue::resolve(get, &mut warnings)?;
    // A worker's CONCURRENCY is the jobs one dyno runs at once: no traffic needed.
    if traffic.concurrency.is_some() && !traffic.on && queue.is_none() {
        let v = get(CONCURRENCY).expect("set");
        return Err(v.err(
            "scaling on load needs the traffic stream, which is off for this target (set traffic = on)",
            "10 with AUTOSCALE_TRAFFIC=on",
        ));
    }
    // Only a max someone set is warned about: the default (the schedule's peak, as the contract
    // has it) is a choice this program made, and a warning on every default run would teach
    // users to ignore warnings. `plan` and the README say what the default means.
    if max <= largest && queue.is_some() {
        // A worker's queue scales within the max: at the schedule's peak it has no room.
        warnings.push(format!(
            "max {max} is the schedule's peak: the job queue can never ask for more dynos than the schedule; set max above {largest} (e.g. AUTOSCALE_MAX={})",
            largest.saturating_mul(2).max(largest + 1).max(4)
        ));
    } else if max <= largest && get(MAX).is_some() {
        warnings.push(format!(
            "max {max} is the schedule's peak: at peak an unhealthy app has nothing to scale out to; set max above {largest}"
        ));
    }
    warnings.extend(size_warnings(
        [
            ("schedule", &schedule),
            ("holiday schedule", &holiday_schedule),
        ],
        max,
    ));
    if check.url != CheckUrl::Off && schedule.entries().iter().any(|e| e.quantity == 0) {
        warnings.push(
            "the schedule asks for 0 dynos at times: while the process is at 0 on purpose the fail-safe does not scale it out (an app with no dynos cannot answer its check)"
                .to_owned(),
        );
    }
    Ok(Target {
        shard: shard::shard_of(&app, shards),
        app,
        process,
        schedule: Arc::new(schedule),
        holiday_schedule: Arc::new(holiday_schedule),
        holidays,
        thresholds: Thresholds {
            max,
            scale_out_after,
            scale_in_after: check.fast.map(|_| scale_in_after),
        },
        check,
        dry_run,
        manual_hold,
        pause,
        deploy_grace,
        traffic,
        queue,
        warnings,
    })
}

/// One `HolidayFeeds` per distinct AUTOSCALE_HOLIDAYS text and zone among the targets resolved
/// together (one [`targets`] call): targets that share their holidays share the fetches too.
#[derive(Debug, Default)]
pub struct FeedCache(Vec<((String, Tz), Arc<HolidayFeeds>)>);

impl FeedCache {
    fn feeds(&mut self, text: &str, sources: HolidaySources, tz: Tz) -> Arc<HolidayFeeds> {
        let key = (text.to_owned(), tz);
        if let Some((_, feeds)) = self.0.iter().find(|(k, _)| *k == key) {
            return feeds.clone();
        }
        let feeds = Arc::new(HolidayFeeds::new(sources, tz, FetchSettings::default()));
        self.0.push((key, feeds.clone()));
        feeds
    }
}

/// The targets: from the file when there is one, else the one target the variables describe.
pub fn targets(raw: &Raw, env: &Env) -> Result<Targets, ConfigError> {
    let shards = Shards::resolve(raw, env)?;
    let source = file::Source::resolve(raw)?;
    let all = match &source {
        Source::Environment => vec![target(raw, env.heroku_app_name.as_deref(), shards.count)?],
        Source::File { name, text } => file::targets(
            name,
            text,
            raw,
            env.heroku_app_name.as_deref(),
            shards.count,
            &mut FeedCache::default(),
        )?,
    };
    Ok(Targets {
        all,
        source,
        shards,
    })
}

/// The log filter, validated.
pub fn log_filter(raw: &Raw) -> Result<String, ConfigError> {
    let filter = raw.get(field::LOG).unwrap_or(DEFAULT_LOG).trim().to_owned();
    crate::logfmt::validate_filter(&filter).map_err(|why| {
        raw.value(field::LOG)
            .expect("the default filter is valid")
            .err(why, "info,autoscale=debug")
    })?;
    Ok(filter)
}

/// Everything `run` and `check` need.
pub fn resolve(raw: &Raw, env: &Env) -> Result<Config, ConfigError> {
    resolve_all(raw, env).map_err(|mut errors| errors.remove(0))
}

/// As [`resolve`], with every error found, not only the first (`check` lists them all: a new
/// user with neither an app nor a token learns both at once). The parts are independent: the
/// targets, the log filter, the token, the API URL, the budget, the concurrency, the alerts,
/// the history.
pub fn resolve_all(raw: &Raw, env: &Env) -> Result<Config, Vec<ConfigError>> {
    use field::*;
    let mut errors = Vec::new();
    let mut keep = |e: ConfigError| errors.push(e);
    let targets = targets(raw, env).map_err(&mut keep).ok();
    let log = log_filter(raw).map_err(&mut keep).ok();
    let key_place = Place::Var(field::field(HEROKU_API_KEY));
    let api_key = match raw.get(HEROKU_API_KEY).map(str::trim) {
        None | Some("") => {
            keep(key_place.err(
                None,
                "is not set; create one with `heroku authorizations:create -S -d autoscale`",
                "$(heroku authorizations:create -S -d autoscale)",
            ));
            None
        }
        Some(k) if k.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            keep(key_place.err(
                Some(k),
                "contains whitespace or control characters",
                "$(heroku authorizations:create -S -d autoscale)",
            ));
            None
        }
        Some(k) => Some(ApiKey::new(k.to_owned())),
    };
    let api_url = secure_base_url(
        &Place::Var(field::field(HEROKU_API_URL)),
        raw.get(HEROKU_API_URL),
        DEFAULT_API_URL,
    )
    .map_err(&mut keep)
    .ok();
    let api_budget = match count(
        raw.value(API_BUDGET).as_ref(),
        DEFAULT_API_BUDGET,
        1_000_000,
    ) {
        Ok(b) if b < 10 => {
            keep(raw.value(API_BUDGET).expect("the default is 2000").err(
                "must be at least 10 calls an hour (startup alone needs some)",
                DEFAULT_API_BUDGET,
            ));
            None
        }
        Ok(b) => Some(b),
        Err(e) => {
            keep(e);
            None
        }
    };
    let check_concurrency = count(
        raw.value(CHECK_CONCURRENCY).as_ref(),
        DEFAULT_CHECK_CONCURRENCY as u32,
        10_000,
    )
    .map_err(&mut keep)
    .ok();
    let notify = notify::resolve(raw).map_err(&mut keep).ok();
    let history = history(raw, env).map_err(&mut keep).ok();
    match (
        api_key,
        api_url,
        targets,
        log,
        notify,
        api_budget,
        check_concurrency,
        history,
    ) {
        (
            Some(api_key),
            Some(api_url),
            Some(targets),
            Some(log),
            Some(notify),
            Some(api_budget),
            Some(check_concurrency),
            Some(history),
        ) if errors.is_empty() => Ok(Config {
            api_key,
            api_url,
            targets,
            log,
            notify,
            api_budget,
            check_concurrency: check_concurrency as usize,
            history,
        }),
        _ => Err(errors),
    }
}

/// What the sizes a schedule names cannot do: Eco and Basic run one dyno per process type
/// (an entry above 1, or a max above 1 the fail-safe would ask for on them, is refused by
/// Heroku), and an app runs on one generation (Cedar or Fir), not both.
fn size_warnings(schedules: [(&str, &Schedule); 2], max: u32) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut single = Vec::new();
    let mut generations = Vec::new();
    for (name, schedule) in schedules {
        for (index, entry) in schedule.entries().iter().enumerate() {
            let Some(size) = entry.size else {
                continue;
            };
            if !generations.contains(&size.generation()) {
                generations.push(size.generation());
            }
            if !size.single_dyno() {
                continue;
            }
            if !single.contains(&size) {
                single.push(size);
            }
            if entry.quantity > 1 {
                warnings.push(format!(
                    "{name} entry {} \"{entry}\": {size} dynos run at most 1 per process type, so Heroku will refuse {}; use standard-1x or larger to run more",
                    index + 1,
                    entry.quantity
                ));
            }
        }
    }
    if max > 1 {
        for size in single {
            warnings.push(format!(
                "max {max} cannot run on {size} (the schedule sets it): Heroku refuses more than 1 {size} dyno per process type, so a scale-out while {size} runs fails"
            ));
        }
    }
    if generations.len() > 1 {
        warnings.push(
            "the schedules name both Cedar sizes and Fir's dyno-Nc-Mgb sizes: an app runs on one generation, and Heroku refuses the other's"
                .to_owned(),
        );
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::field::*;
    use super::*;

    #[test]
    fn every_value_is_checked_for_length_before_parsing_and_never_echoed() {
        let huge = "x".repeat(1_300_000);
        for var in [
            field::APP,
            field::TZ,
            field::SCHEDULE,
            field::HISTORY,
            field::HEROKU_API_KEY,
        ] {
            let e = check_lengths(&Raw::from_pairs([(var, huge.as_str())]), &Env::default())
                .unwrap_err();
            let line = e.to_string();
            assert_eq!(e.variable, var);
            assert!(line.contains("too long (1300000 bytes; at most"), "{line}");
            assert!(line.contains("; example: "), "{line}");
            assert!(line.len() < 300, "{line}");
        }
        // At the limit is fine; the limits leave room for real values.
        let at_limit = "x".repeat(field::max_len(field::TZ));
        assert!(check_lengths(
            &Raw::from_pairs([(field::TZ, at_limit.as_str())]),
            &Env::default()
        )
        .is_ok());
        assert!(field::max_len(field::SCHEDULE) >= 64 << 10);
        let env = Env {
            heroku_app_name: Some(huge.clone()),
            ..Env::default()
        };
        let line = check_lengths(&Raw::default(), &env)
            .unwrap_err()
            .to_string();
        assert!(
            line.starts_with("HEROKU_APP_NAME: the value is too long"),
            "{line}"
        );
    }

    fn base() -> Raw {
        Raw::from_pairs([(HEROKU_API_KEY, "k3y-abc"), (APP, "my-app")])
    }

    fn with(pairs: &[(&str, &str)]) -> Raw {
        let mut raw = base();
        for (k, v) in pairs {
            raw.set(k, *v);
        }
        raw
    }

    fn one(raw: &Raw) -> Result<Target, ConfigError> {
        resolve(raw, &Env::default()).map(|c| c.targets.all[0].clone())
    }

    #[test]
    fn defaults_follow_the_contract() {
        let c = resolve(&base(), &Env::default()).unwrap();
        let t = &c.targets.all[0];
        assert_eq!(c.targets.all.len(), 1);
        assert_eq!(t.process, "web");
        assert_eq!(t.thresholds.max, 3);
        assert_eq!(t.thresholds.scale_out_after, 1);
        assert_eq!(t.thresholds.scale_in_after, Some(3));
        assert_eq!(t.check.url, CheckUrl::FromApp);
        assert_eq!(t.check.interval, Duration::from_secs(180));
        assert_eq!(t.check.timeout, Duration::from_secs(10));
        assert_eq!(t.check.slow, Duration::from_secs(5));
        assert_eq!(t.check.fast, Some(Duration::from_secs(1)));
        assert!(!t.dry_run);
        assert_eq!(t.shard, 1);
        assert_eq!(c.api_url.as_str(), "https://api.heroku.com/");
        assert_eq!(c.log, "info,tokio_cron_scheduler=warn");
        assert_eq!(c.api_budget, 2000);
        assert_eq!(c.check_concurrency, 50);
        assert_eq!(c.targets.source, Source::Environment);
        assert!(
            t.warnings.is_empty(),
            "a default is not a warning: {:?}",
            t.warnings
        );
        let t = &one(&with(&[(MAX, "3")])).unwrap();
        assert!(
            t.warnings
                .iter()
                .any(|w| w.contains("max 3 is the schedule's peak")),
            "a max set to the peak leaves no headroom, and it is said: {:?}",
            t.warnings
        );
        // A worker on its queue with the default max has no room at all: said, with a value.
        let worker = &one(&with(&[
            (PROCESS, "worker"),
            (SCHEDULE, "00:00=0; 08:00=2"),
            (field::QUEUE, "sidekiq"),
        ]))
        .unwrap();
        assert_eq!(
            worker.warnings,
            ["max 2 is the schedule's peak: the job queue can never ask for more dynos than the schedule; set max above 2 (e.g. AUTOSCALE_MAX=4)"]
        );
        let roomy = &one(&with(&[
            (PROCESS, "worker"),
            (SCHEDULE, "00:00=0; 08:00=2"),
            (field::QUEUE, "sidekiq"),
            (MAX, "3"),
        ]))
        .unwrap();
        assert!(roomy.warnings.is_empty(), "{:?}", roomy.warnings);
    }

    #[test]
    fn other_processes_are_not_checked_by_default() {
        let t = one(&with(&[(PROCESS, "worker")])).unwrap();
        assert_eq!(t.check.url, CheckUrl::Off);
        assert!(!t.traffic.on, "the router serves web dynos only");
        let web = one(&base()).unwrap();
        assert!(web.traffic.on);
        assert_eq!(web.traffic.concurrency, None);
        assert_eq!(web.traffic.utilization, 0.7);
        assert_eq!(web.traffic.error_rate, 0.05);
    }

    #[test]
    fn traffic_settings_read_shares_as_fractions_or_percentages() {
        let t = one(&with(&[
            (CONCURRENCY, "8"),
            (UTILIZATION, "50%"),
            (ERROR_RATE, "0.1"),
        ]))
        .unwrap();
        assert_eq!(t.traffic.concurrency, Some(8));
        assert_eq!(t.traffic.utilization, 0.5);
        assert_eq!(t.traffic.error_rate, 0.1);
        let e = one(&with(&[(CONCURRENCY, "8"), (TRAFFIC, "off")])).unwrap_err();
        assert!(e.to_string().contains("needs the traffic stream"), "{e}");
    }

    #[test]
    fn app_falls_back_to_dyno_metadata() {
        let mut raw = base();
        raw.remove(APP);
        let env = Env {
            heroku_app_name: Some("meta-app".into()),
            ..Env::default()
        };
        assert_eq!(resolve(&raw, &env).unwrap().targets.all[0].app, "meta-app");
        let e = resolve(&raw, &Env::default()).unwrap_err();
        assert_eq!(e.variable, "AUTOSCALE_APP");
    }

    #[test]
    fn history_follows_the_contract_and_never_prints_a_password() {
        use crate::history::{HistorySetting, StoreUrl};
        let local = resolve(&base(), &Env::default()).unwrap().history;
        assert_eq!(local.retention_days, 35);
        assert!(
            matches!(&local.store, HistorySetting::On(StoreUrl::Sqlite(p)) if p.to_str() == Some("autoscale-history.sqlite")),
            "{local:?}"
        );
        let heroku = Env {
            dyno: Some("clock.1".into()),
            database_url: Some("postgres://u:pw@db.example.com:5432/d".into()),
            ..Env::default()
        };
        let on_heroku = resolve(&base(), &heroku).unwrap().history;
        assert!(matches!(
            on_heroku.store,
            HistorySetting::On(StoreUrl::Postgres(_))
        ));
        let bare_dyno = Env {
            dyno: Some("clock.1".into()),
            ..Env::default()
        };
        let off = resolve(&base(), &bare_dyno).unwrap().history;
        assert!(matches!(
            off.store,
            HistorySetting::Off { warning: Some(_) }
        ));
        let days = resolve(&with(&[(HISTORY, "off"), (HISTORY_DAYS, "7")]), &heroku)
            .unwrap()
            .history;
        assert_eq!(days.store, HistorySetting::Off { warning: None });
        assert_eq!(days.retention_days, 7);

        let e = resolve(&with(&[(HISTORY, "mysql://u:s3cr3t@h/d")]), &Env::default()).unwrap_err();
        let text = e.to_string();
        assert_eq!(e.variable, HISTORY);
        assert!(text.starts_with("AUTOSCALE_HISTORY (--history)="), "{text}");
        assert!(text.contains("example: AUTOSCALE_HISTORY="), "{text}");
        assert!(!text.contains("s3cr3t") && !text.contains('\n'), "{text}");
        let e = resolve(&with(&[(HISTORY_DAYS, "0")]), &Env::default()).unwrap_err();
        assert_eq!(e.variable, HISTORY_DAYS);
        assert!(
            e.to_string()
                .contains("AUTOSCALE_HISTORY_DAYS (--history-days)=\"0\""),
            "{e}"
        );
    }

    #[test]
    fn each_bad_value_names_its_variable_value_and_example() {
        let cases: Vec<(&str, &str, &str)> = vec![
            (MAX, "2", "AUTOSCALE_MAX=3"),
            (MAX, "lots", "\"lots\""),
            (MAX, "20000", "beyond anything Heroku runs"),
            (TZ, "Mars/Base", "not an IANA time zone"),
            (TZ, "europe/berlin", "did you mean Europe/Berlin?"),
            (SCHEDULE, "25:00=3", "25:00"),
            (SCHEDULE, "07:00=3,22:00=1", "separated by `;`, not `,`"),
            (CHECK_INTERVAL, "3 parsecs", "=3m"),
            (CHECK_INTERVAL, "500ms", "at least 1s"),
            (CHECK_INTERVAL, "400days", "at most a year"),
            (CHECK_TIMEOUT, "0s", "more than zero"),
            (SLOW, "x", "=5s"),
            (FAST, "6s", "below AUTOSCALE_SLOW"),
            (SCALE_OUT_AFTER, "0", "at least 1 (and at most 1000)"),
            (SCALE_IN_AFTER, "-1", "\"-1\""),
            (DRY_RUN, "maybe", "=true"),
            (HEROKU_API_URL, "http://api.example.com", "loopback"),
            (HEROKU_API_URL, "ftp://127.0.0.1", "ftp"),
            (HEROKU_API_URL, "https://api.heroku.com/?x=1", "query"),
            (HEROKU_API_URL, "https://api.heroku.com/#x", "fragment"),
            (
                HEROKU_API_URL,
                "https://u:pw@api.heroku.com",
                "user or password",
            ),
            (CHECK_URL, "nope", "\"nope\""),
            (PROCESS, "web worker", "web worker"),
            (APP, "my app", "my app"),
            (APP, ".", "not an app name"),
            (APP, "..", "not an app name"),
            (LOG, "info,[[", "example"),
            (API_BUDGET, "5", "at least 10"),
            (CHECK_CONCURRENCY, "0", "at least 1"),
            (PAUSE_UNTIL, "tomorrow", "RFC 3339 instant or `forever`"),
            (DEPLOY_GRACE, "soon", "=3m"),
            (MANUAL_HOLD, "-1h", "=1h"),
            (TRAFFIC, "sometimes", "on or off"),
            (CONCURRENCY, "0", "at least 1"),
            (UTILIZATION, "1.5", "above 0 and at most 1"),
            (UTILIZATION, "0", "above 0 and at most 1"),
            (ERROR_RATE, "lots", "=5%"),
            (HOLIDAYS, "2026-13-01", "not a date"),
            (HOLIDAY_SCHEDULE, "25:00=1", "25:00"),
        ];
        for (variable, value, needle) in cases {
            let e = resolve(&with(&[(variable, value)]), &Env::default()).unwrap_err();
            let line = e.to_string();
            assert_eq!(e.variable, variable, "{line}");
            assert!(line.contains(needle), "{line:?} lacks {needle:?}");
            assert!(line.contains("example: "), "{line}");
            assert!(!line.contains('\n'), "{line}");
        }
        let mut raw = base();
        raw.remove(HEROKU_API_KEY);
        let e = resolve(&raw, &Env::default()).unwrap_err();
        assert_eq!(e.variable, HEROKU_API_KEY);
        assert!(e.to_string().contains("is not set"));
    }

    #[test]
    fn the_key_and_url_credentials_are_never_echoed() {
        let line = resolve(&with(&[(HEROKU_API_KEY, "secret value")]), &Env::default())
            .unwrap_err()
            .to_string();
        assert!(line.starts_with("HEROKU_API_KEY"), "{line}");
        assert!(!line.contains("secret"), "{line}");
        let line = resolve(
            &with(&[(HEROKU_API_URL, "https://u:s3cret@api.heroku.com")]),
            &Env::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(!line.contains("s3cret"), "{line}");
        let t = one(&with(&[(CHECK_URL, "https://h.example/health?key=s3cret")])).unwrap();
        assert_eq!(t.check.url.to_string(), "https://h.example/health?key=***");
    }

    #[test]
    fn loopback_http_is_allowed_for_the_api() {
        for url in [
            "http://127.0.0.1:4000",
            "http://localhost:1",
            "http://[::1]:80",
        ] {
            assert!(
                resolve(&with(&[(HEROKU_API_URL, url)]), &Env::default()).is_ok(),
                "{url}"
            );
        }
    }

    #[test]
    fn fast_off_disables_scale_in_and_check_off_disables_checks() {
        let t = one(&with(&[
            (FAST, "off"),
            (CHECK_URL, "OFF"),
            (DRY_RUN, "yes"),
        ]))
        .unwrap();
        assert_eq!(t.thresholds.scale_in_after, None);
        assert_eq!(t.check.url, CheckUrl::Off);
        assert!(t.dry_run);
    }

    #[test]
    fn settings_that_cannot_take_effect_are_warned_about() {
        let t = one(&with(&[(SLOW, "15s"), (FAST, "1s"), (MAX, "150")])).unwrap();
        let all = t.warnings.join(" | ");
        assert!(all.contains("slow never fires"), "{all}");
        assert!(all.contains("above Heroku's default limit"), "{all}");
        assert!(!all.contains("schedule's peak"), "{all}");
        let zero = one(&with(&[(SCHEDULE, "07:00=2; 22:00=0"), (MAX, "4")])).unwrap();
        assert!(
            zero.warnings.iter().any(|w| w.contains("0 dynos")),
            "{:?}",
            zero.warnings
        );
    }

    #[test]
    fn sizes_that_cannot_run_the_schedule_or_the_max_are_warned_about() {
        let t = one(&with(&[
            (SCHEDULE, "07:00=3:eco; 22:00=1:basic; 12:00=2"),
            (MAX, "4"),
        ]))
        .unwrap();
        let all = t.warnings.join(" | ");
        assert!(
            all.contains(r#"schedule entry 1 "07:00=3:eco": eco dynos run at most 1 per process type, so Heroku will refuse 3"#),
            "{all}"
        );
        assert!(!all.contains("entry 2"), "{all}");
        assert!(all.contains("max 4 cannot run on eco"), "{all}");
        assert!(all.contains("max 4 cannot run on basic"), "{all}");
        assert!(!all.contains("generation"), "{all}");
        // One Basic dyno and a max of 1: nothing to say about sizes.
        let t = one(&with(&[(SCHEDULE, "07:00=1:basic"), (MAX, "1")])).unwrap();
        assert!(
            !t.warnings.iter().any(|w| w.contains("basic")),
            "{:?}",
            t.warnings
        );
        // The holiday schedule too, and generations do not mix.
        let t = one(&with(&[
            (SCHEDULE, "07:00=2:dyno-2c-4gb; 22:00=1:standard-1x"),
            (HOLIDAY_SCHEDULE, "00:00=2:Eco"),
        ]))
        .unwrap();
        let all = t.warnings.join(" | ");
        assert!(
            all.contains(r#"holiday schedule entry 1 "00:00=2:eco""#),
            "{all}"
        );
        assert!(all.contains("both Cedar sizes and Fir's"), "{all}");
    }

    #[test]
    fn a_size_typo_is_a_configuration_error_with_a_sized_example() {
        let e = one(&with(&[(SCHEDULE, "07:00=3:performance-q; 22:00=1")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(r#"AUTOSCALE_SCHEDULE (--schedule)="07:00=3:performance-q; 22:00=1": entry 1 "07:00=3:performance-q": unknown dyno size "performance-q"; known sizes: eco, basic, standard-1x"#),
            "{e}"
        );
        assert!(
            e.ends_with("; example: AUTOSCALE_SCHEDULE=07:00=3:performance-m; 22:00=1:standard-1x"),
            "{e}"
        );
        assert!(!e.contains('\n'));
        let e = one(&with(&[(HOLIDAY_SCHEDULE, "00:00=1:hobby")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("hobby dynos are called basic"), "{e}");
        assert!(e.ends_with(":standard-1x"), "{e}");
    }

    #[test]
    fn too_many_entries_is_one_short_line() {
        let entries: Vec<String> = (0..10_000)
            .map(|i| format!("{:02}:{:02}=1", (i / 60) % 24, i % 60))
            .collect();
        let text = entries.join("; ");
        let started = std::time::Instant::now();
        let e = one(&with(&[(SCHEDULE, text.as_str())]))
            .unwrap_err()
            .to_string();
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(
            e,
            format!(
                r#"AUTOSCALE_SCHEDULE (--schedule)="00:00=1; 00:01=1; 00:02=1; 00:03=1; 00:0… ({} characters)": 10000 entries; at most 1000; example: AUTOSCALE_SCHEDULE=07:00=3; 22:00=2; 03:00=1"#,
                text.chars().count()
            )
        );
    }
}
