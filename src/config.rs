//! Configuration: every environment variable of the contract, its flag, its default, and the
//! validation that turns a bad value into one line naming the variable, the value and an example.
//!
//! clap reads flags and environment variables as plain strings; all parsing happens here so every
//! error has the same one-line shape (clap's own errors are multi-line and cannot name examples).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono_tz::Tz;
use clap::Args;
use url::Url;

use crate::heroku::ApiKey;
use crate::notify::{NotifyConfig, NotifySettings};
use crate::policy::Thresholds;
use crate::schedule::Schedule;

/// The raw settings, one per variable of the contract. Each is a long flag and an environment
/// variable (a flag wins); values stay strings until [`Settings::resolve`].
/// No Debug: it holds the key and alert secrets as plain strings.
#[derive(Args, Clone, Default)]
pub struct Settings {
    /// Heroku Platform API token (never printed).
    #[arg(long, env = "HEROKU_API_KEY", hide_env_values = true, global = true)]
    pub heroku_api_key: Option<String>,
    /// Target app, name or id [default: $HEROKU_APP_NAME].
    #[arg(long, env = "AUTOSCALE_APP", global = true)]
    pub app: Option<String>,
    /// Formation (process) type to scale [default: web].
    #[arg(long, env = "AUTOSCALE_PROCESS", global = true)]
    pub process: Option<String>,
    /// `;`-separated WHEN=QUANTITY entries [default: "07:00=3; 22:00=2; 03:00=1"].
    #[arg(long, env = "AUTOSCALE_SCHEDULE", global = true)]
    pub schedule: Option<String>,
    /// IANA zone the schedule is read in [default: UTC].
    #[arg(long, env = "AUTOSCALE_TZ", global = true)]
    pub tz: Option<String>,
    /// Quantity an unhealthy check scales out to [default: largest in the schedule].
    #[arg(long, env = "AUTOSCALE_MAX", global = true)]
    pub max: Option<String>,
    /// URL the check requests, or `off` [default: the app's web_url].
    #[arg(long, env = "AUTOSCALE_CHECK_URL", global = true)]
    pub check_url: Option<String>,
    /// Time between checks [default: 3m].
    #[arg(long, env = "AUTOSCALE_CHECK_INTERVAL", global = true)]
    pub check_interval: Option<String>,
    /// No complete answer within it = down [default: 10s].
    #[arg(long, env = "AUTOSCALE_CHECK_TIMEOUT", global = true)]
    pub check_timeout: Option<String>,
    /// An answer slower than this = slow [default: 5s].
    #[arg(long, env = "AUTOSCALE_SLOW", global = true)]
    pub slow: Option<String>,
    /// An answer faster than this = fast; `off` disables scale-in [default: 1s].
    #[arg(long, env = "AUTOSCALE_FAST", global = true)]
    pub fast: Option<String>,
    /// Consecutive unhealthy checks before scaling out [default: 1].
    #[arg(long, env = "AUTOSCALE_SCALE_OUT_AFTER", global = true)]
    pub scale_out_after: Option<String>,
    /// Consecutive fast checks since the last scale before scaling in [default: 3].
    #[arg(long, env = "AUTOSCALE_SCALE_IN_AFTER", global = true)]
    pub scale_in_after: Option<String>,
    /// Decide and log everything, never PATCH [default: false].
    #[arg(
        long,
        env = "AUTOSCALE_DRY_RUN",
        global = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub dry_run: Option<String>,
    /// Platform API base URL; plain http only for loopback [default: https://api.heroku.com].
    #[arg(long, env = "HEROKU_API_URL", global = true)]
    pub heroku_api_url: Option<String>,
    /// Log filter, RUST_LOG syntax [default: info,tokio_cron_scheduler=warn].
    #[arg(long, env = "AUTOSCALE_LOG", global = true)]
    pub log: Option<String>,
    #[command(flatten)]
    pub notify: NotifySettings,
}

/// Every variable this program reads, for the "did you mean" warning.
pub const KNOWN_VARIABLES: &[&str] = &[
    "AUTOSCALE_APP",
    "AUTOSCALE_PROCESS",
    "AUTOSCALE_SCHEDULE",
    "AUTOSCALE_TZ",
    "AUTOSCALE_MAX",
    "AUTOSCALE_CHECK_URL",
    "AUTOSCALE_CHECK_INTERVAL",
    "AUTOSCALE_CHECK_TIMEOUT",
    "AUTOSCALE_SLOW",
    "AUTOSCALE_FAST",
    "AUTOSCALE_SCALE_OUT_AFTER",
    "AUTOSCALE_SCALE_IN_AFTER",
    "AUTOSCALE_DRY_RUN",
    "AUTOSCALE_LOG",
];

pub const DEFAULT_SCHEDULE: &str = "07:00=3; 22:00=2; 03:00=1";
pub const DEFAULT_API_URL: &str = "https://api.heroku.com";
pub const DEFAULT_LOG: &str = crate::logfmt::DEFAULT_FILTER;

/// A bad setting: printed as one line, exit code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub flag: &'static str,
    /// The offending value, already made safe to print (the key is never put here).
    pub value: Option<String>,
    pub problem: String,
    pub example: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (--{})", self.variable, self.flag)?;
        match &self.value {
            Some(value) => write!(f, "={value:?}: {}", self.problem)?,
            None => write!(f, ": {}", self.problem)?,
        }
        write!(f, "; example: {}", self.example)
    }
}

impl std::error::Error for ConfigError {}

/// Where the health check goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckUrl {
    /// AUTOSCALE_CHECK_URL=off.
    Off,
    /// Not set: use the app's `web_url` from the API (checks are off with a warning if it is null).
    FromApp,
    Url(Url),
}

impl fmt::Display for CheckUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckUrl::Off => f.write_str("off"),
            CheckUrl::FromApp => f.write_str("web_url"),
            CheckUrl::Url(url) => f.write_str(url.as_str()),
        }
    }
}

/// How the app is checked and what the answers mean.
#[derive(Debug, Clone)]
pub struct CheckSettings {
    pub url: CheckUrl,
    pub interval: Duration,
    pub timeout: Duration,
    pub slow: Duration,
    /// None when AUTOSCALE_FAST=off (no scale-in).
    pub fast: Option<Duration>,
}

/// One app + one process type + its schedule and thresholds: what one scaler looks after.
#[derive(Debug, Clone)]
pub struct Target {
    pub app: String,
    pub process: String,
    pub schedule: Arc<Schedule>,
    pub thresholds: Thresholds,
    pub check: CheckSettings,
    pub dry_run: bool,
}

/// The schedule part of the configuration, which `plan` needs without a token.
#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    pub schedule: Arc<Schedule>,
    pub max: u32,
}

/// Everything the daemon and `check` need.
#[derive(Debug, Clone)]
pub struct Config {
    pub api_key: ApiKey,
    pub api_url: Url,
    pub target: Target,
    pub log: String,
    pub notify: NotifyConfig,
}

fn err(
    variable: &'static str,
    flag: &'static str,
    value: Option<&str>,
    problem: impl Into<String>,
    example: impl Into<String>,
) -> ConfigError {
    ConfigError {
        variable,
        flag,
        value: value.map(str::to_owned),
        problem: problem.into(),
        example: example.into(),
    }
}

fn duration(
    variable: &'static str,
    flag: &'static str,
    value: Option<&str>,
    default: Duration,
    example: &str,
) -> Result<Duration, ConfigError> {
    let Some(text) = value else {
        return Ok(default);
    };
    match humantime::parse_duration(text.trim()) {
        Ok(d) if d.is_zero() => Err(err(
            variable,
            flag,
            value,
            "must be more than zero",
            example,
        )),
        Ok(d) => Ok(d),
        Err(e) => Err(err(
            variable,
            flag,
            value,
            format!("not a duration ({e})"),
            example,
        )),
    }
}

fn count(
    variable: &'static str,
    flag: &'static str,
    value: Option<&str>,
    default: u32,
    example: &str,
) -> Result<u32, ConfigError> {
    let Some(text) = value else {
        return Ok(default);
    };
    match text.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(err(
            variable,
            flag,
            value,
            "must be a whole number of at least 1",
            example,
        )),
    }
}

/// true/false/1/0/yes/no, any case.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// Plain http may only go to this machine: the API key must never cross a network in clear text.
pub fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        // Non-special schemes (smtp://) keep IP hosts as opaque domain text.
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost")
                || d.trim_matches(['[', ']'])
                    .parse::<IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Parses an API base URL that will carry a secret: https anywhere, http only to loopback.
pub fn secure_base_url(
    variable: &'static str,
    flag: &'static str,
    value: Option<&str>,
    default: &str,
    example: &str,
) -> Result<Url, ConfigError> {
    let text = value.unwrap_or(default).trim();
    let url = Url::parse(text)
        .map_err(|e| err(variable, flag, value, format!("not a URL ({e})"), example))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(&url) => {}
        "http" => {
            return Err(err(
                variable,
                flag,
                value,
                "plain http is accepted only for loopback hosts (127.0.0.1, ::1, localhost): the credentials would travel in clear text",
                example,
            ))
        }
        other => {
            return Err(err(
                variable,
                flag,
                value,
                format!("scheme {other:?} is not http(s)"),
                example,
            ))
        }
    }
    if url.host().is_none() {
        return Err(err(variable, flag, value, "has no host", example));
    }
    Ok(url)
}

impl Settings {
    /// The schedule, zone and max: all that `plan` needs.
    pub fn resolve_schedule(&self) -> Result<ScheduleConfig, ConfigError> {
        let tz_text = self.tz.as_deref().unwrap_or("UTC").trim();
        let tz: Tz = tz_text.parse().map_err(|_| {
            err(
                "AUTOSCALE_TZ",
                "tz",
                self.tz.as_deref(),
                "not an IANA time zone name",
                "AUTOSCALE_TZ=Europe/Berlin",
            )
        })?;
        let text = self.schedule.as_deref().unwrap_or(DEFAULT_SCHEDULE);
        let schedule = Schedule::parse(text, tz).map_err(|e| {
            err(
                "AUTOSCALE_SCHEDULE",
                "schedule",
                self.schedule.as_deref(),
                e.to_string(),
                format!("AUTOSCALE_SCHEDULE=\"{DEFAULT_SCHEDULE}\" (HH:MM, 5- or 6-field cron)"),
            )
        })?;
        let largest = schedule.max_quantity();
        let max = match self.max.as_deref() {
            None => largest,
            Some(text) => match text.trim().parse::<u32>() {
                Ok(n) if n >= 1 && n >= largest => n,
                Ok(n) if n >= 1 => {
                    return Err(err(
                        "AUTOSCALE_MAX",
                        "max",
                        self.max.as_deref(),
                        format!("the schedule asks for {largest} dynos, more than the maximum {n}"),
                        format!("AUTOSCALE_MAX={largest}"),
                    ))
                }
                _ => {
                    return Err(err(
                        "AUTOSCALE_MAX",
                        "max",
                        self.max.as_deref(),
                        "must be a whole number of at least 1",
                        "AUTOSCALE_MAX=4",
                    ))
                }
            },
        };
        if max == 0 {
            return Err(err(
                "AUTOSCALE_MAX",
                "max",
                None,
                "the schedule never asks for a dyno, so there is nothing to scale out to",
                "AUTOSCALE_MAX=2",
            ));
        }
        Ok(ScheduleConfig {
            schedule: Arc::new(schedule),
            max,
        })
    }

    /// The log filter, validated.
    pub fn resolve_log(&self) -> Result<String, ConfigError> {
        let filter = self.log.as_deref().unwrap_or(DEFAULT_LOG).trim().to_owned();
        crate::logfmt::validate_filter(&filter).map_err(|why| {
            err(
                "AUTOSCALE_LOG",
                "log",
                self.log.as_deref(),
                why,
                "AUTOSCALE_LOG=info,autoscale=debug",
            )
        })?;
        Ok(filter)
    }

    /// Everything `run` and `check` need. `heroku_app_name` is the dyno-metadata fallback.
    pub fn resolve(&self, heroku_app_name: Option<&str>) -> Result<Config, ConfigError> {
        let ScheduleConfig { schedule, max } = self.resolve_schedule()?;
        let log = self.resolve_log()?;

        let key = match self.heroku_api_key.as_deref().map(str::trim) {
            None | Some("") => return Err(err(
                "HEROKU_API_KEY",
                "heroku-api-key",
                None,
                "is not set",
                "heroku config:set HEROKU_API_KEY=$(heroku authorizations:create -S -d autoscale)",
            )),
            Some(k) if k.chars().any(|c| c.is_whitespace() || c.is_control()) => {
                return Err(err(
                    "HEROKU_API_KEY",
                    "heroku-api-key",
                    Some("(hidden)"),
                    "contains whitespace or control characters",
                    "HEROKU_API_KEY=$(heroku authorizations:create -S -d autoscale)",
                ))
            }
            Some(k) => ApiKey::new(k.to_owned()),
        };

        let app = match (self.app.as_deref(), heroku_app_name) {
            (Some(a), _) => (a, "AUTOSCALE_APP", "app"),
            (None, Some(a)) => (a, "HEROKU_APP_NAME", "app"),
            (None, None) => {
                return Err(err(
                    "AUTOSCALE_APP",
                    "app",
                    None,
                    "is not set (and HEROKU_APP_NAME, set by `heroku labs:enable runtime-dyno-metadata`, is absent)",
                    "AUTOSCALE_APP=my-app",
                ))
            }
        };
        let (app_text, app_var, app_flag) = app;
        let app_name = app_text.trim();
        if app_name.is_empty()
            || !app_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err(err(
                app_var,
                app_flag,
                Some(app_text),
                "not an app name or id (letters, digits and dashes)",
                "AUTOSCALE_APP=my-app",
            ));
        }

        let process = self.process.as_deref().unwrap_or("web").trim();
        if process.is_empty()
            || !process
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(err(
                "AUTOSCALE_PROCESS",
                "process",
                self.process.as_deref(),
                "not a process type (letters, digits, - and _)",
                "AUTOSCALE_PROCESS=web",
            ));
        }

        let check_url = match self.check_url.as_deref().map(str::trim) {
            None | Some("") => CheckUrl::FromApp,
            Some(t) if t.eq_ignore_ascii_case("off") => CheckUrl::Off,
            Some(t) => match Url::parse(t) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                    CheckUrl::Url(u)
                }
                Ok(_) => {
                    return Err(err(
                        "AUTOSCALE_CHECK_URL",
                        "check-url",
                        self.check_url.as_deref(),
                        "must be an http(s) URL or off",
                        "AUTOSCALE_CHECK_URL=https://my-app-1234.herokuapp.com/health",
                    ))
                }
                Err(e) => {
                    return Err(err(
                        "AUTOSCALE_CHECK_URL",
                        "check-url",
                        self.check_url.as_deref(),
                        format!("not a URL ({e})"),
                        "AUTOSCALE_CHECK_URL=https://my-app-1234.herokuapp.com/health",
                    ))
                }
            },
        };
        let interval = duration(
            "AUTOSCALE_CHECK_INTERVAL",
            "check-interval",
            self.check_interval.as_deref(),
            Duration::from_secs(180),
            "AUTOSCALE_CHECK_INTERVAL=3m",
        )?;
        if interval < Duration::from_secs(1) {
            return Err(err(
                "AUTOSCALE_CHECK_INTERVAL",
                "check-interval",
                self.check_interval.as_deref(),
                "must be at least 1s (a shorter one would load the app and the API for nothing)",
                "AUTOSCALE_CHECK_INTERVAL=3m",
            ));
        }
        let timeout = duration(
            "AUTOSCALE_CHECK_TIMEOUT",
            "check-timeout",
            self.check_timeout.as_deref(),
            Duration::from_secs(10),
            "AUTOSCALE_CHECK_TIMEOUT=10s",
        )?;
        let slow = duration(
            "AUTOSCALE_SLOW",
            "slow",
            self.slow.as_deref(),
            Duration::from_secs(5),
            "AUTOSCALE_SLOW=5s",
        )?;
        let fast = match self.fast.as_deref() {
            Some(t) if t.trim().eq_ignore_ascii_case("off") => None,
            other => Some(duration(
                "AUTOSCALE_FAST",
                "fast",
                other,
                Duration::from_secs(1),
                "AUTOSCALE_FAST=1s",
            )?),
        };
        if let Some(fast) = fast {
            if fast >= slow {
                // Blame the one the user set (both: FAST, the one that must be lower).
                let fast_text = humantime::format_duration(fast).to_string();
                let slow_text = humantime::format_duration(slow).to_string();
                return Err(if self.fast.is_none() {
                    err(
                        "AUTOSCALE_SLOW",
                        "slow",
                        self.slow.as_deref(),
                        format!("must be above AUTOSCALE_FAST ({fast_text})"),
                        "AUTOSCALE_SLOW=5s with AUTOSCALE_FAST=1s",
                    )
                } else {
                    err(
                        "AUTOSCALE_FAST",
                        "fast",
                        self.fast.as_deref(),
                        format!("must be below AUTOSCALE_SLOW ({slow_text})"),
                        "AUTOSCALE_FAST=1s with AUTOSCALE_SLOW=5s",
                    )
                });
            }
        }
        let scale_out_after = count(
            "AUTOSCALE_SCALE_OUT_AFTER",
            "scale-out-after",
            self.scale_out_after.as_deref(),
            1,
            "AUTOSCALE_SCALE_OUT_AFTER=1",
        )?;
        let scale_in_after = count(
            "AUTOSCALE_SCALE_IN_AFTER",
            "scale-in-after",
            self.scale_in_after.as_deref(),
            3,
            "AUTOSCALE_SCALE_IN_AFTER=3",
        )?;
        let dry_run = match self.dry_run.as_deref() {
            None => false,
            Some(t) => parse_bool(t).ok_or_else(|| {
                err(
                    "AUTOSCALE_DRY_RUN",
                    "dry-run",
                    Some(t),
                    "not a boolean (true/false/1/0/yes/no)",
                    "AUTOSCALE_DRY_RUN=true",
                )
            })?,
        };
        let api_url = secure_base_url(
            "HEROKU_API_URL",
            "heroku-api-url",
            self.heroku_api_url.as_deref(),
            DEFAULT_API_URL,
            "HEROKU_API_URL=https://api.heroku.com",
        )?;

        let notify = self.notify.resolve()?;

        Ok(Config {
            api_key: key,
            api_url,
            log,
            notify,
            target: Target {
                app: app_name.to_owned(),
                process: process.to_owned(),
                schedule,
                thresholds: Thresholds {
                    max,
                    scale_out_after,
                    scale_in_after: fast.map(|_| scale_in_after),
                },
                check: CheckSettings {
                    url: check_url,
                    interval,
                    timeout,
                    slow,
                    fast,
                },
                dry_run,
            },
        })
    }
}

/// Warnings for `AUTOSCALE_*` variables nobody reads (a typo silently ignored is the worst kind
/// of misconfiguration), each naming the closest known variable.
pub fn unknown_variables(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut warnings: Vec<String> = names
        .into_iter()
        .filter(|n| {
            n.starts_with("AUTOSCALE_")
                && !KNOWN_VARIABLES.contains(&n.as_str())
                && !crate::notify::settings::VARIABLES.contains(&n.as_str())
        })
        .map(|name| {
            let closest = KNOWN_VARIABLES
                .iter()
                .chain(crate::notify::settings::VARIABLES)
                .min_by_key(|k| strsim::levenshtein(k, &name))
                .expect("the list is not empty");
            format!("unknown variable {name} is ignored; did you mean {closest}?")
        })
        .collect();
    warnings.sort();
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Settings {
        Settings {
            heroku_api_key: Some("k3y-abc".into()),
            app: Some("my-app".into()),
            ..Settings::default()
        }
    }

    #[test]
    fn defaults_follow_the_contract() {
        let c = base().resolve(None).unwrap();
        let t = &c.target;
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
        assert_eq!(c.api_url.as_str(), "https://api.heroku.com/");
        assert_eq!(c.log, "info,tokio_cron_scheduler=warn");
    }

    #[test]
    fn app_falls_back_to_dyno_metadata() {
        let s = Settings {
            app: None,
            ..base()
        };
        assert_eq!(s.resolve(Some("meta-app")).unwrap().target.app, "meta-app");
        let e = s.resolve(None).unwrap_err();
        assert_eq!(e.variable, "AUTOSCALE_APP");
    }

    #[test]
    fn each_bad_value_names_its_variable_value_and_example() {
        let cases: Vec<(Settings, &str, &str)> = vec![
            (
                Settings {
                    max: Some("2".into()),
                    ..base()
                },
                "AUTOSCALE_MAX",
                "AUTOSCALE_MAX=3",
            ),
            (
                Settings {
                    max: Some("lots".into()),
                    ..base()
                },
                "AUTOSCALE_MAX",
                "\"lots\"",
            ),
            (
                Settings {
                    tz: Some("Mars/Base".into()),
                    ..base()
                },
                "AUTOSCALE_TZ",
                "Europe/Berlin",
            ),
            (
                Settings {
                    schedule: Some("25:00=3".into()),
                    ..base()
                },
                "AUTOSCALE_SCHEDULE",
                "25:00",
            ),
            (
                Settings {
                    check_interval: Some("3 parsecs".into()),
                    ..base()
                },
                "AUTOSCALE_CHECK_INTERVAL",
                "=3m",
            ),
            (
                Settings {
                    check_interval: Some("500ms".into()),
                    ..base()
                },
                "AUTOSCALE_CHECK_INTERVAL",
                "at least 1s",
            ),
            (
                Settings {
                    check_timeout: Some("0s".into()),
                    ..base()
                },
                "AUTOSCALE_CHECK_TIMEOUT",
                "more than zero",
            ),
            (
                Settings {
                    slow: Some("x".into()),
                    ..base()
                },
                "AUTOSCALE_SLOW",
                "=5s",
            ),
            (
                Settings {
                    fast: Some("6s".into()),
                    ..base()
                },
                "AUTOSCALE_FAST",
                "below AUTOSCALE_SLOW",
            ),
            (
                Settings {
                    scale_out_after: Some("0".into()),
                    ..base()
                },
                "AUTOSCALE_SCALE_OUT_AFTER",
                "at least 1",
            ),
            (
                Settings {
                    scale_in_after: Some("-1".into()),
                    ..base()
                },
                "AUTOSCALE_SCALE_IN_AFTER",
                "\"-1\"",
            ),
            (
                Settings {
                    dry_run: Some("maybe".into()),
                    ..base()
                },
                "AUTOSCALE_DRY_RUN",
                "=true",
            ),
            (
                Settings {
                    heroku_api_url: Some("http://api.example.com".into()),
                    ..base()
                },
                "HEROKU_API_URL",
                "loopback",
            ),
            (
                Settings {
                    heroku_api_url: Some("ftp://127.0.0.1".into()),
                    ..base()
                },
                "HEROKU_API_URL",
                "ftp",
            ),
            (
                Settings {
                    check_url: Some("nope".into()),
                    ..base()
                },
                "AUTOSCALE_CHECK_URL",
                "\"nope\"",
            ),
            (
                Settings {
                    process: Some("web worker".into()),
                    ..base()
                },
                "AUTOSCALE_PROCESS",
                "web worker",
            ),
            (
                Settings {
                    app: Some("my app".into()),
                    ..base()
                },
                "AUTOSCALE_APP",
                "my app",
            ),
            (
                Settings {
                    log: Some("info,[[".into()),
                    ..base()
                },
                "AUTOSCALE_LOG",
                "example",
            ),
            (
                Settings {
                    heroku_api_key: None,
                    ..base()
                },
                "HEROKU_API_KEY",
                "is not set",
            ),
        ];
        for (settings, variable, needle) in cases {
            let e = settings.resolve(None).unwrap_err();
            let line = e.to_string();
            assert_eq!(e.variable, variable, "{line}");
            assert!(line.contains(needle), "{line:?} lacks {needle:?}");
            assert!(line.contains("example: "), "{line}");
            assert!(!line.contains('\n'), "{line}");
        }
    }

    #[test]
    fn the_key_is_never_echoed() {
        let s = Settings {
            heroku_api_key: Some("secret value".into()),
            ..base()
        };
        let line = s.resolve(None).unwrap_err().to_string();
        assert!(line.starts_with("HEROKU_API_KEY"), "{line}");
        assert!(!line.contains("secret"), "{line}");
    }

    #[test]
    fn loopback_http_is_allowed_for_the_api() {
        for url in [
            "http://127.0.0.1:4000",
            "http://localhost:1",
            "http://[::1]:80",
        ] {
            let s = Settings {
                heroku_api_url: Some(url.into()),
                ..base()
            };
            assert!(s.resolve(None).is_ok(), "{url}");
        }
    }

    #[test]
    fn fast_off_disables_scale_in_and_check_off_disables_checks() {
        let c = Settings {
            fast: Some("off".into()),
            check_url: Some("OFF".into()),
            dry_run: Some("yes".into()),
            ..base()
        }
        .resolve(None)
        .unwrap();
        assert_eq!(c.target.thresholds.scale_in_after, None);
        assert_eq!(c.target.check.url, CheckUrl::Off);
        assert!(c.target.dry_run);
    }

    #[test]
    fn unknown_variables_suggest_the_closest() {
        let w =
            unknown_variables(["AUTOSCALE_SCHEDUEL", "AUTOSCALE_MAX", "PATH"].map(String::from));
        assert_eq!(
            w,
            vec![
                "unknown variable AUTOSCALE_SCHEDUEL is ignored; did you mean AUTOSCALE_SCHEDULE?"
            ]
        );
    }
}
