//! Every setting the program reads, in one table: its environment variable, its flag, its key in
//! the configuration file (for per-target settings), which subcommands take it, its help and a
//! valid example. The command line, the "did you mean" warnings for unknown variables and file
//! keys, and the error messages are all derived from this table, so a setting is added in one
//! place. A leaf module: it depends on nothing else in the crate.

/// Which subcommands take a setting (a bit set).
pub mod cmd {
    /// The daemon (`autoscale` and `autoscale run`).
    pub const RUN: u8 = 1;
    pub const CHECK: u8 = 1 << 1;
    pub const PLAN: u8 = 1 << 2;
    pub const CHART: u8 = 1 << 3;
    pub const NOTIFY_TEST: u8 = 1 << 4;
    pub const SUGGEST: u8 = 1 << 5;
    pub const REPLAY: u8 = 1 << 6;
    /// The dashboard (`autoscale serve`).
    pub const SERVE: u8 = 1 << 7;
    /// `chart`, `suggest` and `replay`: they need the schedules to draw or replay them.
    pub const INSIGHT: u8 = CHART | SUGGEST | REPLAY;
    /// The daemon and `check`, which validates what the daemon would run.
    pub const DAEMON: u8 = RUN | CHECK;
    /// Everything that reads the targets' schedules.
    pub const TARGETS: u8 = RUN | CHECK | PLAN | INSIGHT | SERVE;
}

/// One setting.
#[derive(Debug, PartialEq, Eq)]
pub struct Field {
    /// The environment variable (Heroku config var).
    pub var: &'static str,
    /// The long flag, without `--`.
    pub flag: &'static str,
    /// The key in a `[[target]]` or `[defaults]` table, for per-target settings.
    pub key: Option<&'static str>,
    /// Never printed: not in errors, not in `--help` (no env value shown).
    pub secret: bool,
    /// The subcommands that take it ([`cmd`] bits).
    pub commands: u8,
    /// One line for `--help`, with the default.
    pub help: &'static str,
    /// A valid value, for error messages.
    pub example: &'static str,
}

impl Field {
    /// `AUTOSCALE_MAX (--max)`, the way errors name a variable.
    pub fn label(&self) -> String {
        format!("{} (--{})", self.var, self.flag)
    }
}

/// A per-target setting (also a key of the configuration file), for the subcommands whose
/// output it changes.
const fn target(
    var: &'static str,
    flag: &'static str,
    key: &'static str,
    commands: u8,
    help: &'static str,
    example: &'static str,
) -> Field {
    Field {
        var,
        flag,
        key: Some(key),
        secret: false,
        commands,
        help,
        example,
    }
}

/// A per-target setting that carries a secret (a queue URL): never printed, a file key all the
/// same (`queue_url = "$NAME"` names a config var instead of holding the secret).
const fn secret_target(
    var: &'static str,
    flag: &'static str,
    key: &'static str,
    commands: u8,
    help: &'static str,
    example: &'static str,
) -> Field {
    Field {
        var,
        flag,
        key: Some(key),
        secret: true,
        commands,
        help,
        example,
    }
}

const fn global(
    var: &'static str,
    flag: &'static str,
    commands: u8,
    help: &'static str,
    example: &'static str,
) -> Field {
    Field {
        var,
        flag,
        key: None,
        secret: false,
        commands,
        help,
        example,
    }
}

const fn secret(
    var: &'static str,
    flag: &'static str,
    commands: u8,
    help: &'static str,
    example: &'static str,
) -> Field {
    Field {
        var,
        flag,
        key: None,
        secret: true,
        commands,
        help,
        example,
    }
}

pub const HEROKU_API_KEY: &str = "HEROKU_API_KEY";
pub const HEROKU_API_URL: &str = "HEROKU_API_URL";
pub const CONFIG: &str = "AUTOSCALE_CONFIG";
pub const APP: &str = "AUTOSCALE_APP";
pub const PROCESS: &str = "AUTOSCALE_PROCESS";
pub const SCHEDULE: &str = "AUTOSCALE_SCHEDULE";
pub const TZ: &str = "AUTOSCALE_TZ";
pub const MAX: &str = "AUTOSCALE_MAX";
pub const CHECK_URL: &str = "AUTOSCALE_CHECK_URL";
pub const CHECK_INTERVAL: &str = "AUTOSCALE_CHECK_INTERVAL";
pub const CHECK_TIMEOUT: &str = "AUTOSCALE_CHECK_TIMEOUT";
pub const SLOW: &str = "AUTOSCALE_SLOW";
pub const FAST: &str = "AUTOSCALE_FAST";
pub const SCALE_OUT_AFTER: &str = "AUTOSCALE_SCALE_OUT_AFTER";
pub const SCALE_IN_AFTER: &str = "AUTOSCALE_SCALE_IN_AFTER";
pub const DRY_RUN: &str = "AUTOSCALE_DRY_RUN";
pub const MANUAL_HOLD: &str = "AUTOSCALE_MANUAL_HOLD";
pub const HOLIDAYS: &str = "AUTOSCALE_HOLIDAYS";
pub const HOLIDAY_SCHEDULE: &str = "AUTOSCALE_HOLIDAY_SCHEDULE";
pub const PAUSE_UNTIL: &str = "AUTOSCALE_PAUSE_UNTIL";
pub const DEPLOY_GRACE: &str = "AUTOSCALE_DEPLOY_GRACE";
pub const TRAFFIC: &str = "AUTOSCALE_TRAFFIC";
pub const CONCURRENCY: &str = "AUTOSCALE_CONCURRENCY";
pub const UTILIZATION: &str = "AUTOSCALE_UTILIZATION";
pub const ERROR_RATE: &str = "AUTOSCALE_ERROR_RATE";
pub const QUEUE: &str = "AUTOSCALE_QUEUE";
pub const QUEUE_URL: &str = "AUTOSCALE_QUEUE_URL";
pub const QUEUES: &str = "AUTOSCALE_QUEUES";
pub const QUEUE_LATENCY: &str = "AUTOSCALE_QUEUE_LATENCY";
pub const QUEUE_INTERVAL: &str = "AUTOSCALE_QUEUE_INTERVAL";
pub const QUEUE_TLS_VERIFY: &str = "AUTOSCALE_QUEUE_TLS_VERIFY";
pub const DRAIN: &str = "AUTOSCALE_DRAIN";
pub const DRAIN_TIMEOUT: &str = "AUTOSCALE_DRAIN_TIMEOUT";
pub const API_BUDGET: &str = "AUTOSCALE_API_BUDGET";
pub const CHECK_CONCURRENCY: &str = "AUTOSCALE_CHECK_CONCURRENCY";
pub const SHARDS: &str = "AUTOSCALE_SHARDS";
pub const SHARD: &str = "AUTOSCALE_SHARD";
pub const LOG: &str = "AUTOSCALE_LOG";
pub const HISTORY: &str = "AUTOSCALE_HISTORY";
pub const HISTORY_DAYS: &str = "AUTOSCALE_HISTORY_DAYS";
pub const NOTIFY_WEBHOOK: &str = "AUTOSCALE_NOTIFY_WEBHOOK";
pub const NOTIFY_SMTP_URL: &str = "AUTOSCALE_NOTIFY_SMTP_URL";
pub const NOTIFY_EMAIL_FROM: &str = "AUTOSCALE_NOTIFY_EMAIL_FROM";
pub const NOTIFY_EMAIL_TO: &str = "AUTOSCALE_NOTIFY_EMAIL_TO";
pub const NOTIFY_TWILIO_SID: &str = "AUTOSCALE_NOTIFY_TWILIO_SID";
pub const NOTIFY_TWILIO_TOKEN: &str = "AUTOSCALE_NOTIFY_TWILIO_TOKEN";
pub const NOTIFY_SMS_FROM: &str = "AUTOSCALE_NOTIFY_SMS_FROM";
pub const NOTIFY_SMS_TO: &str = "AUTOSCALE_NOTIFY_SMS_TO";
pub const NOTIFY_TWILIO_URL: &str = "AUTOSCALE_NOTIFY_TWILIO_URL";
pub const NOTIFY_ON: &str = "AUTOSCALE_NOTIFY_ON";
pub const NOTIFY_REPEAT: &str = "AUTOSCALE_NOTIFY_REPEAT";
pub const PORT: &str = "PORT";
pub const DASHBOARD_BIND: &str = "AUTOSCALE_DASHBOARD_BIND";
pub const DASHBOARD_PASSWORD: &str = "AUTOSCALE_DASHBOARD_PASSWORD";

use cmd::{CHECK, DAEMON, INSIGHT, NOTIFY_TEST, PLAN, REPLAY, RUN, SERVE, TARGETS};

/// Where alerts go: the daemon sends, `check` lists, `notify-test` tests.
const ALERTS: u8 = DAEMON | NOTIFY_TEST;

/// The table. Order is the order of `--help`.
pub const FIELDS: &[Field] = &[
    target(APP, "app", "app", TARGETS, "Target app, name or id [default: $HEROKU_APP_NAME]", "my-app"),
    target(PROCESS, "process", "process", TARGETS, "Formation (process) type to scale [default: web]", "web"),
    target(SCHEDULE, "schedule", "schedule", TARGETS, "`;`-separated WHEN=QUANTITY entries [default: \"07:00=3; 22:00=2; 03:00=1\"]", "07:00=3; 22:00=2; 03:00=1"),
    target(TZ, "tz", "tz", TARGETS, "IANA zone the schedule is read in [default: UTC]", "Europe/Berlin"),
    target(MAX, "max", "max", TARGETS, "Quantity an unhealthy check scales out to [default: largest in the schedule]", "4"),
    target(CHECK_URL, "check-url", "check_url", DAEMON, "URL the check requests, or `off` [default: the app's web_url for web, off for other processes]", "https://my-app-1234.herokuapp.com/health"),
    target(CHECK_INTERVAL, "check-interval", "check_interval", DAEMON | REPLAY, "Time between checks [default: 3m]", "3m"),
    target(CHECK_TIMEOUT, "check-timeout", "check_timeout", DAEMON, "No complete answer within it = down [default: 10s]", "10s"),
    target(SLOW, "slow", "slow", DAEMON | INSIGHT | SERVE, "An answer slower than this = slow [default: 5s]", "5s"),
    target(FAST, "fast", "fast", DAEMON | INSIGHT | SERVE, "An answer faster than this = fast; `off` disables scale-in [default: 1s]", "1s"),
    target(SCALE_OUT_AFTER, "scale-out-after", "scale_out_after", DAEMON | REPLAY, "Consecutive unhealthy checks before scaling out [default: 1]", "1"),
    target(SCALE_IN_AFTER, "scale-in-after", "scale_in_after", DAEMON | REPLAY, "Consecutive fast checks since the last scale before scaling in [default: 3]", "3"),
    target(DRY_RUN, "dry-run", "dry_run", DAEMON, "Decide and log everything, never PATCH [default: false]", "true"),
    target(HOLIDAYS, "holidays", "holidays", TARGETS, "Local dates (2026-12-25), ranges (2026-12-24..2026-12-26) and https URLs of iCalendar feeds, comma-separated [default: none]", "2026-12-25,2026-12-31..2027-01-01,https://example.com/holidays.ics"),
    target(HOLIDAY_SCHEDULE, "holiday-schedule", "holiday_schedule", TARGETS, "The schedule of a holiday, 00:00 to 24:00 local time [default: 00:00= the schedule's smallest quantity]", "00:00=1; 10:00=2; 18:00=1"),
    target(MANUAL_HOLD, "manual-hold", "manual_hold", DAEMON, "How long a quantity set by someone else is kept; 0 turns holds off [default: 1h]", "1h"),
    target(PAUSE_UNTIL, "pause-until", "pause_until", DAEMON, "Until this instant (RFC 3339) or `forever`: decide and log, never PATCH [default: not paused]", "2026-12-01T09:00:00Z"),
    target(DEPLOY_GRACE, "deploy-grace", "deploy_grace", DAEMON, "Unhealthy checks within this long after a new release do not scale out; 0 turns it off [default: 3m]", "3m"),
    target(TRAFFIC, "traffic", "traffic", DAEMON, "Stream the app's router logs and measure load: on or off [default: on for web, off for other processes]", "on"),
    target(CONCURRENCY, "concurrency", "concurrency", DAEMON | INSIGHT | SERVE, "Requests one dyno serves at once (Puma workers × threads, ...); set → scale on load [default: none]", "10"),
    target(UTILIZATION, "utilization", "utilization", DAEMON | INSIGHT | SERVE, "Target busy fraction of that capacity, above 0 and at most 1 [default: 0.7]", "0.7"),
    target(ERROR_RATE, "error-rate", "error_rate", DAEMON | REPLAY, "Share of router errors in a minute of at least 20 requests that counts as unhealthy [default: 5%]", "5%"),
    target(QUEUE, "queue", "queue", DAEMON | INSIGHT | SERVE, "Scale this process on its job queue, read from the queue's store: sidekiq, or off [default: off]", "sidekiq"),
    secret_target(QUEUE_URL, "queue-url", "queue_url", DAEMON, "redis://, rediss:// or postgres:// URL of the queue's store, or $NAME: the target app's config var NAME (password never printed) [default: $REDIS_URL, $DATABASE_URL for Postgres libraries]", "$REDIS_URL"),
    target(QUEUES, "queues", "queues", DAEMON, "Comma-separated queues this process works [default: every queue of the store]", "default,mailers"),
    target(QUEUE_LATENCY, "queue-latency", "queue_latency", DAEMON | INSIGHT | SERVE, "The longest a job should wait before a worker takes it [default: 30s]", "30s"),
    target(QUEUE_INTERVAL, "queue-interval", "queue_interval", DAEMON | REPLAY, "How often the queue's store is read [default: 10s]", "10s"),
    target(QUEUE_TLS_VERIFY, "queue-tls-verify", "queue_tls_verify", DAEMON | CHECK, "on: verify a rediss:// store's certificate (Heroku's Key-Value Store serves a self-signed one, so Heroku documents verification off) [default: off]", "on"),
    target(DRAIN, "drain", "drain", DAEMON | REPLAY, "on: before a scale-in, the dynos that will stop finish their running jobs first [default: off]", "on"),
    target(DRAIN_TIMEOUT, "drain-timeout", "drain_timeout", DAEMON | REPLAY, "The longest a scale-in waits for that [default: 10m]", "10m"),
    global(CONFIG, "config", TARGETS, "TOML file of targets, or the TOML text itself [default: ./autoscale.toml when it exists]", "autoscale.toml"),
    global(SHARDS, "shards", DAEMON | PLAN, "Clock dynos that split the apps between them [default: 1]", "3"),
    global(SHARD, "shard", DAEMON | PLAN, "This dyno's shard, 1-based [default: the number in $DYNO, clock.2 → 2]", "2"),
    global(API_BUDGET, "api-budget", DAEMON | PLAN, "Platform API calls per hour this daemon may spend [default: 2000]", "2000"),
    global(CHECK_CONCURRENCY, "check-concurrency", RUN, "Checks in flight at once [default: 50]", "50"),
    secret(HEROKU_API_KEY, "heroku-api-key", DAEMON, "Heroku Platform API token (never printed)", "$(heroku authorizations:create -S -d autoscale)"),
    global(HEROKU_API_URL, "heroku-api-url", DAEMON, "Platform API base URL; plain http only for loopback [default: https://api.heroku.com]", "https://api.heroku.com"),
    secret(HISTORY, "history", DAEMON | INSIGHT | SERVE, "Where the history is kept: postgres://… (Heroku Postgres), sqlite://PATH or off (password never printed) [default: $DATABASE_URL when postgres; else sqlite://autoscale-history.sqlite off a dyno; else off]", "sqlite://autoscale-history.sqlite"),
    global(HISTORY_DAYS, "history-days", DAEMON, "Days of history kept; older rows are deleted [default: 35]", "35"),
    global(LOG, "log", RUN | CHECK | NOTIFY_TEST, "Log filter, RUST_LOG syntax [default: info,tokio_cron_scheduler=warn]", "info,autoscale=debug"),
    secret(NOTIFY_WEBHOOK, "notify-webhook", ALERTS, "Webhook URL(s), comma-separated; Slack URLs get Slack's shape (never printed)", "https://hooks.slack.com/services/T000/B000/XXXX"),
    secret(NOTIFY_SMTP_URL, "notify-smtp-url", ALERTS, "smtp://user:pass@host:587 (STARTTLS) or smtps://user:pass@host:465 (password never printed)", "smtp://apikey:SECRET@smtp.sendgrid.net:587"),
    global(NOTIFY_EMAIL_FROM, "notify-email-from", ALERTS, "Sender address of alert emails", "autoscale@example.com"),
    global(NOTIFY_EMAIL_TO, "notify-email-to", ALERTS, "Recipients of alert emails, comma-separated", "oncall@example.com,cto@example.com"),
    global(NOTIFY_TWILIO_SID, "notify-twilio-sid", ALERTS, "Twilio account SID", "AC0123456789abcdef0123456789abcdef"),
    secret(NOTIFY_TWILIO_TOKEN, "notify-twilio-token", ALERTS, "Twilio auth token (never printed)", "(your auth token)"),
    global(NOTIFY_SMS_FROM, "notify-sms-from", ALERTS, "SMS sender number, E.164", "+15005550006"),
    global(NOTIFY_SMS_TO, "notify-sms-to", ALERTS, "SMS recipients, comma-separated, E.164", "+14155550100,+14155550101"),
    global(NOTIFY_TWILIO_URL, "notify-twilio-url", ALERTS, "Twilio API base URL [default: https://api.twilio.com]", "https://api.twilio.com"),
    global(NOTIFY_ON, "notify-on", ALERTS, "`trouble` or `all` (every scale too) [default: trouble]", "trouble"),
    global(NOTIFY_REPEAT, "notify-repeat", ALERTS, "The same condition is sent again at most this often [default: 30m]", "30m"),
    global(PORT, "port", SERVE, "Port the dashboard listens on (Heroku sets it) [default: 5000]", "5000"),
    global(DASHBOARD_BIND, "bind", SERVE, "Address the dashboard listens on; without a password only a loopback one is allowed [default: 0.0.0.0]", "127.0.0.1"),
    secret(DASHBOARD_PASSWORD, "password", SERVE, "Password of the dashboard: HTTP Basic, any user name (never printed)", "(a long random string: openssl rand -hex 24)"),
];

/// The heading a setting is listed under in `--help`.
pub fn heading(var: &str) -> &'static str {
    match var {
        APP | PROCESS | SCHEDULE | TZ | MAX | HOLIDAYS | HOLIDAY_SCHEDULE | CONFIG | DRY_RUN => {
            "Targets and schedule"
        }
        CHECK_URL | CHECK_INTERVAL | CHECK_TIMEOUT | SLOW | FAST | SCALE_OUT_AFTER
        | SCALE_IN_AFTER | ERROR_RATE => "Health checks",
        TRAFFIC | CONCURRENCY | UTILIZATION => "Load (router traffic)",
        QUEUE | QUEUE_URL | QUEUES | QUEUE_LATENCY | QUEUE_INTERVAL | QUEUE_TLS_VERIFY | DRAIN
        | DRAIN_TIMEOUT => "Job queues (workers)",
        MANUAL_HOLD | PAUSE_UNTIL | DEPLOY_GRACE => "Holds",
        HEROKU_API_KEY | HEROKU_API_URL | API_BUDGET | CHECK_CONCURRENCY | SHARDS | SHARD => {
            "Heroku API and many targets"
        }
        HISTORY | HISTORY_DAYS => "History",
        PORT | DASHBOARD_BIND | DASHBOARD_PASSWORD => "Dashboard",
        LOG => "Logging",
        _ => "Alerts",
    }
}

/// The longest value a setting may have, in bytes: checked before anything parses it, so that a
/// megabyte pasted by mistake (or by a hostile hand) costs neither CPU nor a megabyte-long error
/// line. Room to spare for every real value: a file of ten thousand targets, a schedule of a
/// thousand entries, a list of holidays for years, URLs with long tokens; names and numbers are
/// short.
pub fn max_len(var: &str) -> usize {
    match var {
        CONFIG => 4 << 20,
        SCHEDULE | HOLIDAY_SCHEDULE | HOLIDAYS => 256 << 10,
        QUEUES => 64 << 10,
        NOTIFY_WEBHOOK | NOTIFY_EMAIL_TO | NOTIFY_SMS_TO => 16 << 10,
        HISTORY | HEROKU_API_URL | CHECK_URL | NOTIFY_SMTP_URL | NOTIFY_TWILIO_URL | LOG
        | QUEUE_URL => 8 << 10,
        HEROKU_API_KEY | NOTIFY_TWILIO_TOKEN | NOTIFY_EMAIL_FROM | DASHBOARD_PASSWORD => 1024,
        _ => 256,
    }
}

/// The field of a variable. Panics on a name not in the table: a programming error, caught by
/// the tests that resolve every setting.
pub fn field(var: &str) -> &'static Field {
    FIELDS
        .iter()
        .find(|f| f.var == var)
        .unwrap_or_else(|| panic!("{var} is not in the settings table"))
}

/// The per-target field with this file key.
pub fn by_key(key: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.key == Some(key))
}

/// The file keys a `[[target]]` or `[defaults]` table may hold.
pub fn keys() -> impl Iterator<Item = &'static str> {
    FIELDS.iter().filter_map(|f| f.key)
}

/// The closest of `candidates` to `name`, for "did you mean".
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates.min_by_key(|c| strsim::levenshtein(c, name))
}

/// Warnings for `AUTOSCALE_*` variables nobody reads (a typo silently ignored is the worst kind
/// of misconfiguration), each naming the closest known variable.
pub fn unknown_variables(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut warnings: Vec<String> = names
        .into_iter()
        .filter(|n| n.starts_with("AUTOSCALE_") && !FIELDS.iter().any(|f| f.var == n))
        .map(|name| {
            let known = FIELDS.iter().map(|f| f.var);
            let closest = closest(&name, known).unwrap_or(APP);
            format!("unknown variable {name} is ignored; did you mean {closest}?")
        })
        .collect();
    warnings.sort();
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_no_duplicates_and_keys_follow_the_variable_names() {
        for (i, f) in FIELDS.iter().enumerate() {
            assert!(
                FIELDS[i + 1..]
                    .iter()
                    .all(|g| g.var != f.var && g.flag != f.flag),
                "{f:?}"
            );
            if let Some(key) = f.key {
                let expected = f.var.trim_start_matches("AUTOSCALE_").to_ascii_lowercase();
                assert_eq!(
                    key, expected,
                    "the contract: keys are the variable names without AUTOSCALE_, in lower case"
                );
            }
            assert!(f.commands != 0, "{f:?}");
            assert!(!f.example.is_empty() && !f.help.is_empty(), "{f:?}");
        }
        assert_eq!(field(MAX).label(), "AUTOSCALE_MAX (--max)");
        assert_eq!(by_key("check_url").map(|f| f.var), Some(CHECK_URL));
        assert_eq!(
            by_key("heroku_api_key"),
            None,
            "secrets stay in the environment"
        );
    }

    #[test]
    fn unknown_variables_suggest_the_closest() {
        let w = unknown_variables(
            [
                "AUTOSCALE_SCHEDUEL",
                "AUTOSCALE_MAX",
                "PATH",
                "AUTOSCALE_NOTIFY_WEBHOK",
            ]
            .map(String::from),
        );
        assert_eq!(
            w,
            vec![
                "unknown variable AUTOSCALE_NOTIFY_WEBHOK is ignored; did you mean AUTOSCALE_NOTIFY_WEBHOOK?",
                "unknown variable AUTOSCALE_SCHEDUEL is ignored; did you mean AUTOSCALE_SCHEDULE?",
            ]
        );
    }
}
