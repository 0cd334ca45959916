//! One app's startup (its web_url when a check needs it, then the first round), the start lines
//! and risky-start alerts, and what makes a start fatal.

use super::*;
use crate::event::Event;
use crate::heroku::Generation;

/// The targets by app, in the order the apps first appear.
pub(super) fn group_by_app(targets: &[Target]) -> BTreeMap<usize, Vec<Target>> {
    let mut first: Vec<&str> = Vec::new();
    let mut groups: BTreeMap<usize, Vec<Target>> = BTreeMap::new();
    for t in targets {
        let i = match first.iter().position(|a| *a == t.app) {
            Some(i) => i,
            None => {
                first.push(&t.app);
                first.len() - 1
            }
        };
        groups.entry(i).or_default().push(t.clone());
    }
    groups
}

/// Edges an hour on average over the coming week.
pub(super) fn edges_per_hour(schedule: &Schedule, from: DateTime<Utc>) -> f64 {
    // Counted over a week, but at most EDGES_COUNTED of them: a schedule that fires every
    // second is then measured over the span they cover (an hour's worth is 3,600 an hour,
    // not 20,000 spread over a week).
    const EDGES_COUNTED: usize = 20_000;
    let week = from + chrono::Duration::days(7);
    let mut n = 0usize;
    let mut after = from;
    while n < EDGES_COUNTED {
        match schedule.next_edges(after, 1).first() {
            Some(e) if e.at <= week => {
                n += 1;
                after = e.at;
            }
            _ => return n as f64 / 168.0,
        }
    }
    let hours = (after - from).num_milliseconds() as f64 / 3_600_000.0;
    n as f64 / hours.max(1.0 / 3600.0)
}

/// One app's startup: its web_url when a target needs it, then the first round.
pub(super) async fn start_app(
    mut app_loop: AppLoop,
    targets: Vec<Target>,
    client: &Client,
    http: &reqwest::Client,
) -> Result<(AppLoop, Vec<CheckPlan>, Option<Generation>), Refused> {
    let needs_app = targets.iter().any(|t| t.check.url == CheckUrl::FromApp);
    // The app's generation, when the app was read anyway (its stream need not ask again).
    let mut generation = None;
    let plans: Vec<CheckPlan> = if needs_app {
        match client.app(app_loop.app()).await {
            Ok(app) => {
                generation = Some(app.generation());
                targets
                    .iter()
                    .map(|t| CheckPlan::from_web_url(t, app.web_url.as_deref(), http))
                    .collect()
            }
            Err(e) if e.status() == Some(401) => return Err(Refused(e)),
            Err(e) if matches!(e.status(), Some(403 | 404)) => {
                e.log(Level::ERROR);
                app_loop.disable_all(&e);
                targets.iter().map(|_| CheckPlan::Off).collect()
            }
            Err(e) => {
                e.log(Level::ERROR);
                targets
                    .iter()
                    .map(|t| CheckPlan::without_app(t, http))
                    .collect()
            }
        }
    } else {
        targets
            .iter()
            .map(|t| CheckPlan::without_app(t, http))
            .collect()
    };
    let handle = app_loop.handle();
    for (i, plan) in plans.iter().enumerate() {
        if matches!(plan, CheckPlan::Off) {
            handle.checks_off(i);
        }
    }
    if !app_loop.all_disabled() {
        app_loop.startup().await?;
    }
    Ok((app_loop, plans, generation))
}

/// An app whose startup is done and whose loop runs.
pub(super) struct Started {
    pub(super) app: String,
    pub(super) handle: crate::daemon::app::AppHandle,
    pub(super) all_disabled: bool,
    /// The app's generation, when startup read the app.
    pub(super) generation: Option<Generation>,
}

/// A startup refusal no retry can fix: logged, told to a human (within a short grace), exit 1.
pub(super) async fn fatal(
    e: ApiError,
    targets: &[Target],
    notifier: Notifier,
    alerts: &TaskTracker,
) -> Fatal {
    e.log(Level::ERROR);
    let hint = match e.status() {
        Some(401) => "HEROKU_API_KEY is not a valid token (heroku authorizations:create)",
        Some(403) => "the token may not read or scale this app (it needs the 'write' scope and access to the app)",
        _ => "check AUTOSCALE_APP and AUTOSCALE_PROCESS (heroku ps -a APP lists the process types)",
    };
    Event::Fatal {
        status: Some(e.status().unwrap_or(0)),
        hint: Some(hint.to_owned()),
        message: e.message().to_owned(),
    }
    .emit(Level::ERROR);
    let (app, process) = targets
        .first()
        .map(|t| (t.app.as_str(), t.process.as_str()))
        .unwrap_or(("", ""));
    notifier.notify(Notice {
        status: e.status().map(|s| s.to_string()).unwrap_or_default(),
        message: format!("{} ({hint})", e.message()),
        ..Notice::new(Kind::ApiFailed, app, process)
    });
    drop(notifier);
    alerts.close();
    let _ = tokio::time::timeout(ALERT_GRACE, alerts.wait()).await;
    Fatal::Api(e)
}

pub(super) fn risky_start(
    target: &Target,
    plan: &CheckPlan,
    warnings: &[String],
    notifier: &Notifier,
    now: DateTime<Utc>,
) {
    // Settings that will not do what one may expect are said in the log; what leaves the app
    // unprotected (checks off, an ignored variable) is also told to a human.
    let mut risks: Vec<String> = warnings.to_vec();
    if matches!(plan, CheckPlan::Off) && target.process == "web" {
        risks.push(
            "health checks are off, so the fail-safe will not scale out if the app goes down"
                .into(),
        );
    }
    for w in &target.warnings {
        Event::ConfigWarning {
            app: Some(target.app.clone()),
            process: Some(target.process.clone()),
            message: w.clone(),
        }
        .emit(Level::WARN);
    }
    if let Some(pause) = target.pause.filter(|p| p.covers(now)) {
        notifier.notify(Notice {
            message: format!(
                "autoscale started paused for {} {} until {}: it decides and logs every scale (result=paused) but sends none. Remove AUTOSCALE_PAUSE_UNTIL (or pause_until) to resume.",
                target.app,
                target.process,
                pause.until_text()
            ),
            ..Notice::new(Kind::Paused, &target.app, &target.process)
        });
    }
    if !risks.is_empty() {
        notifier.notify(Notice {
            message: risks.join("; "),
            dry_run: target.dry_run,
            ..Notice::new(Kind::RiskyStart, &target.app, &target.process)
        });
    }
}

pub(super) fn log_start(target: &Target, plan: &CheckPlan, shard: Option<u32>, now: DateTime<Utc>) {
    let next = target.calendar().next_edge_after(now);
    let c = &target.check;
    let duration = |d: std::time::Duration| humantime::format_duration(d).to_string();
    Event::Start {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        app: target.app.clone(),
        process: target.process.clone(),
        schedule: target.schedule.describe(),
        tz: target.schedule.tz().to_string(),
        max: target.thresholds.max,
        check_url: plan.describe(target),
        interval: duration(c.interval),
        timeout: duration(c.timeout),
        slow: duration(c.slow),
        fast: c.fast.map_or_else(|| "off".to_owned(), duration),
        scale_out_after: target.thresholds.scale_out_after,
        scale_in_after: target
            .thresholds
            .scale_in_after
            .map_or_else(|| "off".to_owned(), |n| n.to_string()),
        dry_run: target.dry_run,
        next_edge: next.map(|e| e.at.to_rfc3339()).unwrap_or_default(),
        next_quantity: next.map(|e| e.quantity),
        shard: shard.unwrap_or(target.shard),
        traffic: target.traffic.on,
        concurrency: target.traffic.concurrency,
        utilization: target.traffic.utilization,
        error_rate: target.traffic.error_rate,
        queue: target.queue.as_ref().map(|q| q.library.as_str().to_owned()),
        queue_latency: target.queue.as_ref().map(|q| duration(q.latency)),
    }
    .emit(Level::INFO);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn schedule(text: &str) -> Schedule {
        Schedule::parse(text, chrono_tz::UTC).unwrap()
    }

    #[test]
    fn edges_an_hour_are_counted_honestly_for_sparse_and_dense_schedules() {
        let from = at("2026-12-07T00:00:00Z");
        // Three a day: 21 a week.
        let daily = edges_per_hour(&schedule("07:00=3; 22:00=2; 03:00=1"), from);
        assert!((daily - 21.0 / 168.0).abs() < 1e-9, "{daily}");
        // Every second: 3,600 an hour (once said as 119, the 20,000 counted over a week).
        let every_second = edges_per_hour(&schedule("* * * * * *=2"), from);
        assert!((every_second - 3600.0).abs() < 1.0, "{every_second}");
        // Two entries, each every other second, together every second.
        let two = edges_per_hour(&schedule("*/2 * * * * *=1; 1-59/2 * * * * *=2"), from);
        assert!((two - 3600.0).abs() < 1.0, "{two}");
    }
}
