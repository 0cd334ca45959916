//! `autoscale check`: what a new user runs after `heroku config:set`. One line per check —
//! configuration, token, then per target its app, formation and check URL, then the alert
//! channels — and exit 0 when all pass, 1 when one fails. Every check that does not depend on a
//! failed one runs (an explicit check URL needs no token).

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use std::collections::HashMap;

use crate::config::{CheckUrl, Config, Target};
use crate::heroku::{ApiError, App, Client, Formation, Listing, Retry};
use crate::probe::{web_url_check, Outcome, Prober};

/// One line of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Warn,
    Failed,
    Skipped,
}

struct Report {
    failed: bool,
}

impl Report {
    fn line(&mut self, status: Status, what: &str, detail: impl AsRef<str>) {
        let label = match status {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        };
        self.failed |= status == Status::Failed;
        crate::say!("{label:<8}{what:<15}{}", detail.as_ref());
    }
}

fn api_failure(e: &ApiError) -> String {
    match e {
        ApiError::Status {
            status,
            id,
            message,
            ..
        } => format!("HTTP {status} {id}: {message}"),
        other => other.to_string(),
    }
}

/// Runs every check that does not depend on a failed one; returns the exit code (0 or 1).
/// Configuration errors (2) are the caller's.
pub async fn run(config: &Config, warnings: &[String]) -> u8 {
    let mut report = Report { failed: false };
    let targets = &config.targets;
    let shards = &targets.shards;
    report.line(
        Status::Ok,
        "configuration",
        format!(
            "{} target{} from {}, {} shard{}{}, API budget {} calls an hour",
            targets.all.len(),
            if targets.all.len() == 1 { "" } else { "s" },
            targets.source,
            shards.count,
            if shards.count == 1 { "" } else { "s" },
            shards
                .this
                .filter(|_| shards.count > 1)
                .map(|s| format!(" (this dyno: {s})"))
                .unwrap_or_default(),
            config.api_budget
        ),
    );
    for w in warnings {
        report.line(Status::Warn, "configuration", w);
    }

    // Fail fast: a person is waiting; two attempts are enough to ride out a blip.
    let retry = Retry {
        attempts: 2,
        ..Retry::default()
    };
    let client = Client::new(
        config.api_url.clone(),
        &config.api_key,
        retry,
        CancellationToken::new(),
    );
    let http = crate::probe::shared_client();

    let token_ok = match client.account().await {
        Ok(account) => {
            report.line(
                Status::Ok,
                "token",
                format!("accepted by {} (account {})", config.api_url, account.email),
            );
            true
        }
        Err(e) => {
            let hint = if e.status() == Some(401) {
                " — create one with `heroku authorizations:create -S -d autoscale`"
            } else {
                ""
            };
            report.line(
                Status::Failed,
                "token",
                format!("{}{hint}", api_failure(&e)),
            );
            false
        }
    };

    // One app read and one formation list per app, whatever its number of targets.
    let mut apps: HashMap<String, Option<App>> = HashMap::new();
    let mut lists: HashMap<String, Result<Vec<Formation>, String>> = HashMap::new();
    for t in &targets.all {
        if targets.all.len() > 1 {
            crate::say!("── {}   (shard {})", t.name(), t.shard);
        }
        report.line(
            Status::Ok,
            "target",
            format!(
                "app={} process={} schedule=\"{}\" tz={} max={} check_url={} dry_run={}",
                t.app,
                t.process,
                t.schedule.describe(),
                t.schedule.tz(),
                t.thresholds.max,
                t.check.url,
                t.dry_run
            ),
        );
        for w in &t.warnings {
            report.line(Status::Warn, "target", w);
        }
        if !token_ok {
            report.line(Status::Skipped, "app", "needs a working token");
            report.line(Status::Skipped, "formation", "needs a working token");
        } else {
            if !apps.contains_key(&t.app) {
                let app = match client.app(&t.app).await {
                    Ok(app) => Some(app),
                    Err(e) => {
                        report.line(
                            Status::Failed,
                            "app",
                            format!("app {:?}: {}", t.app, api_failure(&e)),
                        );
                        None
                    }
                };
                if let Some(app) = &app {
                    let web_url = app.web_url.as_deref().unwrap_or("null");
                    report.line(
                        Status::Ok,
                        "app",
                        format!("{} (id {}, web_url {web_url})", app.name, app.id),
                    );
                }
                apps.insert(t.app.clone(), app);
            }
            if apps.get(&t.app).is_some_and(Option::is_some) {
                if !lists.contains_key(&t.app) {
                    let list = match client.formations(&t.app, None).await {
                        Ok(Listing::Fresh { list, .. }) => Ok(list),
                        Ok(Listing::NotModified) => Err("HTTP 304 to a plain read".to_owned()),
                        Err(e) => Err(api_failure(&e)),
                    };
                    lists.insert(t.app.clone(), list);
                }
                check_formation(&mut report, t, &lists[&t.app]);
            } else {
                report.line(Status::Skipped, "formation", "needs the app");
            }
        }
        check_url(
            &mut report,
            t,
            apps.get(&t.app).and_then(Option::as_ref),
            token_ok,
            &http,
        )
        .await;
        if let Some(q) = &t.queue {
            check_queue(&mut report, t, q, &client, token_ok).await;
        }
    }
    // Holidays: the next ones known, and whether each feed loaded.
    for status in crate::plan::fetch_feeds(&targets.all, Utc::now()).await {
        match (&status.failure, &status.loaded) {
            (Some(failure), _) => report.line(
                Status::Failed,
                "holidays",
                format!("feed {}: {}", status.shown_url(), failure.error),
            ),
            (None, Some(loaded)) => report.line(
                Status::Ok,
                "holidays",
                format!(
                    "feed {}: {} holidays in the next 400 days ({} all-day events)",
                    status.shown_url(),
                    loaded.feed.holidays.len(),
                    loaded.feed.all_day_events
                ),
            ),
            (None, None) => {}
        }
    }
    for t in targets.all.iter().filter(|t| t.holidays.is_some()) {
        let calendar = t.calendar();
        let next: Vec<String> = calendar
            .holidays()
            .upcoming(calendar.local_date(Utc::now()))
            .take(5)
            .map(|d| d.to_string())
            .collect();
        report.line(
            Status::Ok,
            "holidays",
            format!(
                "{}: next {} (schedule on them: {})",
                t.name(),
                if next.is_empty() {
                    "none known".to_owned()
                } else {
                    next.join(", ")
                },
                calendar.holiday_schedule().describe()
            ),
        );
    }
    for channel in crate::notify::Channel::all(&config.notify) {
        report.line(
            Status::Ok,
            channel.name(),
            format!(
                "{} (configured; `autoscale notify-test` sends a test message)",
                channel.describe()
            ),
        );
    }
    if config.notify.is_empty() {
        report.line(
            Status::Warn,
            "alerts",
            "no channel configured: nobody is told when the app goes down (see docs/alerts.md)",
        );
    }
    check_history(&mut report, &config.history).await;
    u8::from(report.failed)
}

/// Queues listed one per line, at most this many (then how many more).
const QUEUE_LINES: usize = 20;

/// A worker's job queue: its store read once, each queue's depth and latency, what the
/// process type's dynos run. An unreadable store fails the check.
async fn check_queue(
    report: &mut Report,
    t: &Target,
    q: &crate::config::queue::QueueSettings,
    client: &Client,
    token_ok: bool,
) {
    use crate::config::queue::QueueUrl;
    let url = match &q.url {
        QueueUrl::Url(url) => url.clone(),
        QueueUrl::ConfigVar(_) if !token_ok => {
            report.line(
                Status::Skipped,
                "queue",
                format!("{} needs a working token", q.url.shown()),
            );
            return;
        }
        QueueUrl::ConfigVar(name) => {
            match crate::queue::config_var_url(client, &t.app, name).await {
                Ok(url) => url,
                Err(reason) => {
                    report.line(Status::Failed, "queue", reason);
                    return;
                }
            }
        }
    };
    let mut store = match q.open(&url, crate::daemon::queue::READ_TIMEOUT) {
        Ok(store) => store,
        Err(reason) => {
            report.line(Status::Failed, "queue", reason);
            return;
        }
    };
    let read = store
        .read(q.queues.as_deref(), &t.process, None, Utc::now())
        .await;
    let read = match read {
        Ok(read) => read,
        Err(e) => {
            report.line(Status::Failed, "queue", format!("{}: {e}", q.library));
            return;
        }
    };
    let totals = &read.totals;
    report.line(
        Status::Ok,
        "queue",
        format!(
            "{} at {}: {} queue{}, {} job{} waiting, {}; {} running on {} dynos{}",
            q.library,
            store.shown(),
            read.queues.len(),
            if read.queues.len() == 1 { "" } else { "s" },
            totals.depth,
            if totals.depth == 1 { "" } else { "s" },
            if q.library.keeps_enqueue_time() {
                format!("the oldest for {}", age(totals.latency))
            } else {
                format!("their age not kept by {}", q.library)
            },
            totals
                .busy
                .map_or_else(|| "?".to_owned(), |b| b.to_string()),
            t.process,
            totals
                .concurrency
                .map(|c| format!(" ({c} at once each)"))
                .unwrap_or_default()
        ),
    );
    for queue in read.queues.iter().take(QUEUE_LINES) {
        let latency = match queue.latency {
            Some(l) => age(l),
            None if !q.library.keeps_enqueue_time() => "not kept (depth only)".to_owned(),
            None => "unreadable".to_owned(),
        };
        let over = queue.latency.is_some_and(|l| l > q.latency);
        report.line(
            if over { Status::Warn } else { Status::Ok },
            "queue",
            format!(
                "  {}: depth {}, latency {latency}{}",
                queue.name,
                queue.depth,
                if over { " (over the target)" } else { "" }
            ),
        );
    }
    if read.queues.len() > QUEUE_LINES {
        report.line(
            Status::Ok,
            "queue",
            format!("  … and {} more", read.queues.len() - QUEUE_LINES),
        );
    }
    if read.unreadable > 0 {
        report.line(
            Status::Warn,
            "queue",
            format!(
                "{} value{} not as {} writes them (left out)",
                read.unreadable,
                if read.unreadable == 1 {
                    " was"
                } else {
                    "s were"
                },
                q.library
            ),
        );
    }
}

/// A job's age as a person reads it: milliseconds under a second, whole seconds above.
fn age(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        humantime::format_duration(Duration::from_secs(d.as_secs_f64().round() as u64)).to_string()
    }
}

/// The history store: reachable, its schema version, rows per table, the oldest row and its
/// size. An unreachable store fails the check (the daemon would run without its history).
async fn check_history(report: &mut Report, settings: &crate::history::Settings) {
    use crate::history::{HistorySetting, StoreUrl};
    let url = match &settings.store {
        HistorySetting::Off { warning: Some(w) } => {
            return report.line(Status::Warn, "history", w);
        }
        HistorySetting::Off { warning: None } => {
            return report.line(Status::Ok, "history", "off (AUTOSCALE_HISTORY=off)");
        }
        HistorySetting::On(url) => url,
    };
    if let StoreUrl::Sqlite(path) = url {
        if !path.exists() {
            return report.line(
                Status::Ok,
                "history",
                format!("{url}: no file yet (the daemon creates it at start)"),
            );
        }
    }
    let status = crate::history::status(url).await;
    report.line(
        history_status(&status),
        "history",
        describe_history(&status, settings.retention_days),
    );
}

fn history_status(status: &crate::history::StoreStatus) -> Status {
    match (status.reachable, &status.error) {
        (true, None) => Status::Ok,
        _ => Status::Failed,
    }
}

/// One line about the store: where, its schema, its rows, how far back, how big.
fn describe_history(status: &crate::history::StoreStatus, retention_days: u32) -> String {
    let store = &status.store;
    if !status.reachable {
        let why = status.error.as_deref().unwrap_or("no answer");
        return format!("{store}: unreachable ({why}); the daemon would run without its history");
    }
    if let Some(why) = &status.error {
        return format!("{store}: reachable, but cannot be read ({why})");
    }
    let Some(version) = status.schema_version else {
        return format!(
            "{store}: reachable, no history tables yet (the daemon creates them at start)"
        );
    };
    let rows = status
        .rows
        .iter()
        .map(|(table, n)| format!("{} {n}", table.trim_start_matches("autoscale_")))
        .collect::<Vec<_>>()
        .join(", ");
    let oldest = status
        .oldest
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "none".to_owned());
    let size = status
        .size_bytes
        .map(|b| format!("{:.1} MB", b as f64 / 1e6))
        .unwrap_or_else(|| "unknown".to_owned());
    format!(
        "{store}: schema version {version}; rows: {rows}; oldest {oldest}; size {size}; kept {retention_days} days"
    )
}

fn check_formation(report: &mut Report, t: &Target, list: &Result<Vec<Formation>, String>) {
    let list = match list {
        Ok(list) => list,
        Err(e) => {
            report.line(Status::Failed, "formation", format!("app {:?}: {e}", t.app));
            return;
        }
    };
    let Some(f) = list.iter().find(|f| f.process == t.process) else {
        let types: Vec<&str> = list.iter().map(|f| f.process.as_str()).collect();
        report.line(
            Status::Failed,
            "formation",
            format!(
                "the app {:?} has no process type {:?} (it has: {}; heroku ps -a {} lists them)",
                t.app,
                t.process,
                if types.is_empty() {
                    "none".to_owned()
                } else {
                    types.join(", ")
                },
                t.app
            ),
        );
        return;
    };
    let floor = t.floor(Utc::now()).map(|e| e.quantity);
    let floor = floor.map_or("none".to_owned(), |q| q.to_string());
    report.line(
        Status::Ok,
        "formation",
        format!(
            "{}: {} × {} (schedule now {floor}, max {})",
            f.process, f.quantity, f.size, t.thresholds.max
        ),
    );
    if crate::size::single_dyno(&f.size) && t.thresholds.max > 1 {
        report.line(
            Status::Warn,
            "formation",
            format!(
                "{} dynos run at most 1 per process type: a max of {} (or a schedule above 1) will be refused by Heroku; use Standard or Performance dynos to scale",
                f.size, t.thresholds.max
            ),
        );
    }
}

async fn check_url(
    report: &mut Report,
    t: &Target,
    app: Option<&App>,
    token_ok: bool,
    http: &reqwest::Client,
) {
    let url = match (&t.check.url, app) {
        (CheckUrl::Off, _) => {
            let why = if t.process == "web" {
                "off (AUTOSCALE_CHECK_URL=off): the fail-safe will not run"
            } else {
                "off (the default for processes other than web; set check_url to check one)"
            };
            report.line(Status::Warn, "check_url", why);
            None
        }
        (CheckUrl::Url(u), _) => Some(u.clone()),
        (CheckUrl::FromApp, Some(app)) => match web_url_check(app.web_url.as_deref()) {
            Ok(u) => Some(u),
            Err(bad) => {
                report.line(
                    Status::Warn,
                    "check_url",
                    format!("{bad}: checks will be off; set AUTOSCALE_CHECK_URL"),
                );
                None
            }
        },
        (CheckUrl::FromApp, None) => {
            let why = if token_ok {
                "needs the app's web_url"
            } else {
                "needs the app's web_url, which needs a working token"
            };
            report.line(Status::Skipped, "check_url", why);
            None
        }
    };
    let Some(url) = url else {
        return;
    };
    let c = &t.check;
    let shown = crate::http::redact_url(&url);
    let probe = Prober::for_settings(http.clone(), url, c).probe().await;
    let took = humantime::format_duration(Duration::from_millis(probe.latency_ms() as u64));
    match probe.outcome {
        Outcome::Down => report.line(
            Status::Failed,
            "check_url",
            format!(
                "GET {shown}: {} after {took}: the daemon would scale out",
                probe.error
            ),
        ),
        Outcome::Slow => report.line(
            Status::Warn,
            "check_url",
            format!(
                "GET {shown} answered {} in {took}, slower than {}: the daemon would scale out",
                probe.status.unwrap_or(0),
                humantime::format_duration(c.slow)
            ),
        ),
        outcome => report.line(
            Status::Ok,
            "check_url",
            format!(
                "GET {shown} answered {} in {took} ({outcome})",
                probe.status.unwrap_or(0)
            ),
        ),
    }
}

/// `autoscale notify-test`: one test message through every channel; exit 0 when all arrive.
pub async fn notify_test(config: &crate::notify::NotifyConfig, app: &str, process: &str) -> u8 {
    let mut report = Report { failed: false };
    let notice = crate::notify::Notice::new(crate::notify::Kind::Test, app, process);
    for channel in crate::notify::Channel::all(config) {
        if channel.send_logged(&notice).await {
            report.line(
                Status::Ok,
                channel.name(),
                format!("test message sent to {}", channel.describe()),
            );
        } else {
            report.line(
                Status::Failed,
                channel.name(),
                format!(
                    "sending to {} failed (see the notify line above)",
                    channel.describe()
                ),
            );
        }
    }
    u8::from(report.failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_a_person_reads_them() {
        assert_eq!(age(Duration::ZERO), "0ms");
        assert_eq!(age(Duration::from_millis(999)), "999ms");
        assert_eq!(age(Duration::from_millis(1_000)), "1s");
        assert_eq!(age(Duration::from_millis(12_499)), "12s");
        assert_eq!(age(Duration::from_millis(12_500)), "13s");
        assert_eq!(age(Duration::from_secs(3_725)), "1h 2m 5s");
    }
}
