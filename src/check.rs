//! `autoscale check`: what a new user runs after `heroku config:set`. One line per check —
//! configuration, token, app, formation, check URL — and exit 0 when all pass, 1 when one fails.

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::config::{CheckUrl, Config};
use crate::heroku::{ApiError, Client, Retry};
use crate::probe::{Outcome, Prober};

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
        println!("{label:<8}{what:<15}{}", detail.as_ref());
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

/// Runs every check; returns the exit code (0 or 1). Configuration errors (2) are the caller's.
pub async fn run(config: &Config, warnings: &[String]) -> u8 {
    let mut report = Report { failed: false };
    let t = &config.target;
    report.line(
        Status::Ok,
        "configuration",
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

    match client.account().await {
        Ok(account) => report.line(
            Status::Ok,
            "token",
            format!("accepted by {} (account {})", config.api_url, account.email),
        ),
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
            for what in ["app", "formation", "check_url"] {
                report.line(Status::Skipped, what, "needs a working token");
            }
            return 1;
        }
    }

    let app = match client.app(&t.app).await {
        Ok(app) => {
            let web_url = app.web_url.as_deref().unwrap_or("null");
            report.line(
                Status::Ok,
                "app",
                format!("{} (id {}, web_url {web_url})", app.name, app.id),
            );
            Some(app)
        }
        Err(e) => {
            report.line(
                Status::Failed,
                "app",
                format!("app {:?}: {}", t.app, api_failure(&e)),
            );
            None
        }
    };

    if app.is_some() {
        match client.formation(&t.app, &t.process).await {
            Ok(f) => {
                let floor = t.schedule.floor(Utc::now()).map(|e| e.quantity);
                let floor = floor.map_or("none".to_owned(), |q| q.to_string());
                report.line(
                    Status::Ok,
                    "formation",
                    format!(
                        "{}: {} × {} (schedule now {floor}, max {})",
                        f.process, f.quantity, f.size, t.thresholds.max
                    ),
                );
            }
            Err(e) => report.line(
                Status::Failed,
                "formation",
                format!(
                    "process {:?} of {:?}: {} (heroku ps -a {} lists the process types)",
                    t.process,
                    t.app,
                    api_failure(&e),
                    t.app
                ),
            ),
        }
    } else {
        report.line(Status::Skipped, "formation", "needs the app");
    }

    let url = match (&t.check.url, &app) {
        (CheckUrl::Off, _) => {
            report.line(
                Status::Warn,
                "check_url",
                "off (AUTOSCALE_CHECK_URL=off): the fail-safe will not run",
            );
            None
        }
        (CheckUrl::Url(u), _) => Some(u.clone()),
        (CheckUrl::FromApp, Some(app)) => match app.web_url.as_deref().map(Url::parse) {
            Some(Ok(u)) => Some(u),
            Some(Err(_)) | None => {
                report.line(
                    Status::Warn,
                    "check_url",
                    "the app has no usable web_url: checks will be off; set AUTOSCALE_CHECK_URL",
                );
                None
            }
        },
        (CheckUrl::FromApp, None) => {
            report.line(Status::Skipped, "check_url", "needs the app's web_url");
            None
        }
    };
    if let Some(url) = url {
        let c = &t.check;
        let probe = Prober::for_settings(url.clone(), c).probe().await;
        let took = humantime::format_duration(Duration::from_millis(probe.latency_ms() as u64));
        match probe.outcome {
            Outcome::Down => report.line(
                Status::Failed,
                "check_url",
                format!(
                    "GET {url}: {} after {took}: the daemon would scale out",
                    probe.error
                ),
            ),
            Outcome::Slow => report.line(
                Status::Warn,
                "check_url",
                format!(
                    "GET {url} answered {} in {took}, slower than {}: the daemon would scale out",
                    probe.status.unwrap_or(0),
                    humantime::format_duration(c.slow)
                ),
            ),
            outcome => report.line(
                Status::Ok,
                "check_url",
                format!(
                    "GET {url} answered {} in {took} ({outcome})",
                    probe.status.unwrap_or(0)
                ),
            ),
        }
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
            "no channel configured: nobody is told when the app goes down (see README, Alerts)",
        );
    }
    u8::from(report.failed)
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
