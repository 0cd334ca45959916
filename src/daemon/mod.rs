//! The daemon (`autoscale run`): wires every app's loop, the checks, the schedule edges and the
//! alerts together, and shuts them down in order.
//!
//! ```text
//! cron one-shot per app ─┐
//! check task per target ─┼─► app loop (one per app) ─► Heroku client (one, shared, counted)
//! read timer (budget) ───┘
//! ```

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_cron_scheduler::{Job, JobScheduler};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Level;

pub mod app;
pub mod checks;
pub mod stream;

use crate::budget::{AppLoad, Budget};
use crate::calendar::feed::{FeedStatus, HolidayFeeds};
use crate::clock::Clock;
use crate::config::{CheckUrl, Config, Target};
use crate::daemon::app::{AppLoop, Refused};
use crate::heroku::{ApiError, Client, Retry};
use crate::history::{History, HistoryHandle, HistorySetting, Startup};
use crate::notify::{Kind, Notice, Notifier};
use crate::schedule::Schedule;
use checks::{phase, CheckPlan, CheckTask};

/// Heroku sends SIGKILL 30 s after SIGTERM; everything must be done well before.
pub const SHUTDOWN_BUDGET: Duration = Duration::from_secs(20);
/// How long alerts still being sent may delay the exit.
pub const ALERT_GRACE: Duration = Duration::from_secs(3);
/// How long the history may take to write what is queued at exit (rows left then are dropped,
/// counted).
pub const HISTORY_CLOSE: Duration = Duration::from_secs(5);
/// Apps started at once (each startup is one or two API calls).
const STARTUP_CONCURRENCY: usize = 8;
/// How long startup waits for the holiday feeds' first fetch (each has its own 10 s timeout).
const HOLIDAY_WAIT: Duration = Duration::from_secs(5);

/// Why the daemon could not run: exit 1.
#[derive(Debug, thiserror::Error)]
pub enum Fatal {
    #[error("the Heroku API refused the configuration: {0}")]
    Api(#[from] ApiError),
    #[error("no target can be scaled: every app or process type was refused")]
    NoTarget,
    #[error("the cron scheduler failed: {0}")]
    Scheduler(String),
}

/// Runs until `shutdown` resolves (with the signal's name). Returns Err only for a startup
/// failure that no retry can fix (a bad token, or every target refused).
pub async fn run(
    config: Config,
    warnings: &[String],
    shutdown: impl Future<Output = &'static str> + Send + 'static,
) -> Result<(), Fatal> {
    run_with(config, warnings, shutdown, Clocks::default()).await
}

/// The clocks the daemon runs on.
#[derive(Debug, Clone, Copy)]
pub struct Clocks {
    /// Schedules, holds, everything (tests run it in paused time).
    pub main: Clock,
    /// The traffic stream's minutes (the demo runs them faster, to show a minute every 2 s).
    pub traffic: Clock,
}

impl Default for Clocks {
    fn default() -> Clocks {
        Clocks {
            main: Clock::System,
            traffic: Clock::System,
        }
    }
}

impl Clocks {
    /// One clock for everything.
    pub fn one(clock: Clock) -> Clocks {
        Clocks {
            main: clock,
            traffic: clock,
        }
    }
}

/// [`run`] with chosen clocks.
pub async fn run_with(
    config: Config,
    warnings: &[String],
    shutdown: impl Future<Output = &'static str> + Send + 'static,
    clocks: Clocks,
) -> Result<(), Fatal> {
    let clock = clocks.main;
    // The signal is watched from the first instant: a SIGTERM during startup (a deploy right
    // after a restart) stops the retries' waiting and shuts down cleanly.
    let cancel = CancellationToken::new();
    let signal = tokio::spawn({
        let cancel = cancel.clone();
        async move {
            let name = shutdown.await;
            cancel.cancel();
            name
        }
    });
    let client = Client::new(
        config.api_url.clone(),
        &config.api_key,
        Retry::default(),
        cancel.clone(),
    );
    let probe_http = crate::probe::shared_client();
    let stream_http = crate::daemon::stream::stream_client();
    let targets = config.targets.mine();
    // Alerts run beside the loops, on their own tracker: at shutdown a hanging webhook gets a
    // short grace, never the loops' budget. Started first, so a refused token is reported.
    let alerts = TaskTracker::new();
    let history = start_history(&config.history).await;
    let notifier = crate::notify::start(&config.notify, &alerts, history.handle.clone());
    // A history that cannot be kept is a risky start: told to a human with the reason.
    let warnings: Vec<String> = warnings
        .iter()
        .cloned()
        .chain(history.risk.clone())
        .collect();
    let warnings = warnings.as_slice();

    let apps = group_by_app(&targets);
    let loads: Vec<AppLoad> = apps
        .values()
        .map(|ts| AppLoad {
            round: crate::daemon::app::round_of(ts),
            edges_per_hour: ts.iter().map(|t| edges_per_hour(&t.schedule)).sum(),
        })
        .collect();
    let budget = Arc::new(Budget::new(config.api_budget, &loads, client.calls()));
    tracing::info!(
        event = "budget",
        apps = apps.len(),
        targets = targets.len(),
        calls_per_hour = budget.plan.calls_per_hour.round() as u64,
        reads_per_hour = budget.plan.reads_per_hour.round() as u64,
        budget = config.api_budget,
        stretch = format!("{:.2}", budget.plan.stretch),
        shard = config.targets.shards.this.unwrap_or(0),
        shards = config.targets.shards.count,
    );
    if targets.is_empty() {
        tracing::warn!(
            event = "start",
            shard = config.targets.shards.this.unwrap_or(0),
            "no app of the configuration belongs to this shard: nothing to do"
        );
    }

    // Holiday feeds: fetched now (the first round waits a little for them, never long) and
    // refreshed daily; a failed fetch keeps the last good list.
    let holiday_tasks = TaskTracker::new();
    let mut first_refresh = Vec::new();
    for feeds in distinct_feeds(&targets) {
        let (done, first) = tokio::sync::oneshot::channel::<()>();
        first_refresh.push(first);
        holiday_tasks.spawn(refresh_holidays(feeds, clock, cancel.clone(), done));
    }
    holiday_tasks.close();
    let _ = tokio::time::timeout(HOLIDAY_WAIT, async {
        for first in first_refresh {
            let _ = first.await;
        }
    })
    .await;

    // Each app's loop runs, and its edges are armed, as soon as its own startup is done (from
    // the instant that startup began): an edge that passes while other apps are still starting
    // (a thousand apps take a while) is acted on when it passes, not at the app's next read.
    // Checks and log streams begin once every app has started, after the start lines.
    let tasks = TaskTracker::new();
    let mut scheduler = JobScheduler::new()
        .await
        .map_err(|e| Fatal::Scheduler(e.to_string()))?;
    scheduler
        .start()
        .await
        .map_err(|e| Fatal::Scheduler(e.to_string()))?;

    // Startup: every app read once, a few at a time; a bad token stops everything.
    let mut loops: Vec<(Started, Vec<CheckPlan>)> = Vec::new();
    let mut starting = JoinSet::new();
    let gate = Arc::new(Semaphore::new(STARTUP_CONCURRENCY));
    let app_count = apps.len();
    for (i, ts) in apps {
        let mut app_loop = AppLoop::new(
            ts.clone(),
            client.clone(),
            notifier.clone(),
            budget.clone(),
            clock,
        );
        app_loop.set_read_phase((i + 1) as f64 / app_count as f64);
        app_loop.set_history(history.handle.clone());
        let client = client.clone();
        let http = probe_http.clone();
        let gate = gate.clone();
        let scheduler = scheduler.clone();
        let tasks = tasks.clone();
        let cancel = cancel.clone();
        starting.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let began = clock.now();
            let (app_loop, plans) = start_app(app_loop, ts.clone(), &client, &http).await?;
            let started = Started {
                app: app_loop.app().to_owned(),
                handle: app_loop.handle(),
                all_disabled: app_loop.all_disabled(),
            };
            tasks.spawn(app_loop.run(cancel));
            arm(
                scheduler,
                Arc::new(ts),
                began,
                started.handle.clone(),
                clock,
            )
            .await;
            Ok::<_, Refused>((started, plans))
        });
    }
    // What stops the daemon before its start lines: the loops already running stop too.
    let stop_early = |mut scheduler: JobScheduler| {
        let tasks = tasks.clone();
        let cancel = cancel.clone();
        async move {
            cancel.cancel();
            let _ = scheduler.shutdown().await;
            tasks.close();
            let _ = tokio::time::timeout(SHUTDOWN_BUDGET, tasks.wait()).await;
        }
    };
    let mut refused: Option<ApiError> = None;
    while let Some(joined) = starting.join_next().await {
        match joined {
            Ok(Ok(started)) => loops.push(started),
            Ok(Err(Refused(e))) => refused = refused.or(Some(e)),
            Err(e) => tracing::error!(event = "fatal", message = %e, "an app's startup panicked"),
        }
    }
    if let Some(e) = refused {
        stop_early(scheduler).await;
        return Err(fatal(e, &targets, notifier, &alerts).await);
    }
    // Keep the order of the configuration.
    loops.sort_by_key(|(l, _)| targets.iter().position(|t| t.app == l.app));
    if !targets.is_empty() && loops.iter().all(|(l, _)| l.all_disabled) {
        tracing::error!(
            event = "fatal",
            status = 404,
            message = "every target was refused",
            hint = "check the apps and process types (heroku ps -a APP)"
        );
        stop_early(scheduler).await;
        drop(notifier);
        alerts.close();
        let _ = tokio::time::timeout(ALERT_GRACE, alerts.wait()).await;
        return Err(Fatal::NoTarget);
    }

    // Start lines, risky starts, then the checks and streams.
    let total = targets.len();
    let permits = Arc::new(Semaphore::new(config.check_concurrency));
    let mut k = 0usize;
    for (started, plans) in loops {
        let handle = started.handle;
        let app_targets: Vec<Target> = targets
            .iter()
            .filter(|t| t.app == started.app)
            .cloned()
            .collect();
        for (index, (target, plan)) in app_targets.iter().zip(plans).enumerate() {
            log_start(target, &plan, config.targets.shards.this);
            risky_start(target, &plan, warnings, &notifier);
            if !matches!(plan, CheckPlan::Off) {
                let task = CheckTask {
                    target: target.clone(),
                    index,
                    plan,
                    app: handle.clone(),
                    phase: phase(k, total, target.check.interval),
                };
                tasks.spawn(task.run(
                    client.clone(),
                    probe_http.clone(),
                    permits.clone(),
                    cancel.clone(),
                ));
            }
            k += 1;
        }
        if app_targets.iter().any(|t| t.traffic.on) && !started.all_disabled {
            let stream = crate::daemon::stream::TrafficStream {
                app: started.app,
                client: client.clone(),
                http: stream_http.clone(),
                handle: handle.clone(),
                clock: clocks.traffic,
                history: history.handle.clone(),
            };
            tasks.spawn(stream.run(cancel.clone()));
        }
    }
    tasks.close();
    // The loops hold the only handles left: when they stop, the alert dispatcher does too.
    drop(notifier);

    cancel.cancelled().await;
    let signal = signal.await.unwrap_or("unknown");
    let started = std::time::Instant::now();
    if let Err(e) = scheduler.shutdown().await {
        tracing::warn!(event = "scheduler_error", message = %e);
    }
    // The scheduler's shutdown does not wait for running jobs, and a job only wakes a loop;
    // what must finish is a PATCH in flight.
    let mut finished = tokio::time::timeout(SHUTDOWN_BUDGET, tasks.wait())
        .await
        .is_ok();
    alerts.close();
    finished &= tokio::time::timeout(ALERT_GRACE, alerts.wait())
        .await
        .is_ok();
    finished &= history.close().await;
    tracing::info!(
        event = "shutdown",
        signal,
        clean = finished,
        took_ms = started.elapsed().as_millis() as u64,
        api_calls = client.calls().sent()
    );
    Ok(())
}

/// The history as the daemon runs it: the handle every sink records through, the writer task,
/// and what to tell a human when it cannot be kept.
struct HistoryRun {
    handle: HistoryHandle,
    task: Option<tokio::task::JoinHandle<()>>,
    /// Why the history is not kept, for the `risky_start` alert.
    risk: Option<String>,
}

/// Starts the writer when the history is on. It never stops the daemon: an unreachable
/// database is a warning (logged by [`History::start`]) and a risky start, and the writer keeps
/// trying; a dyno without a database runs without history, with a warning.
async fn start_history(settings: &crate::history::Settings) -> HistoryRun {
    let url = match &settings.store {
        HistorySetting::On(url) => url.clone(),
        HistorySetting::Off { warning } => {
            match warning {
                Some(w) => tracing::warn!(event = "history", state = "off", "{w}"),
                None => tracing::info!(event = "history", state = "off"),
            }
            return HistoryRun {
                handle: HistoryHandle::off(),
                task: None,
                risk: None,
            };
        }
    };
    let store = url.to_string();
    let started = History::start(url, crate::history::Options::new(settings.retention_days)).await;
    let risk = match started.startup {
        Startup::Ready { .. } => None,
        Startup::Unreachable { reason } => Some(format!(
            "the history database {store} cannot be reached ({reason}): traffic and decisions are not kept until it answers"
        )),
    };
    HistoryRun {
        handle: started.handle,
        task: Some(started.task),
        risk,
    }
}

impl HistoryRun {
    /// Writes what is queued (at most [`HISTORY_CLOSE`]) and says what was kept and lost;
    /// `false` when the writer did not finish in time.
    async fn close(self) -> bool {
        let Some(task) = self.task else {
            return true;
        };
        let closed = self.handle.close(HISTORY_CLOSE).await;
        if closed {
            let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
        }
        let stats = self.handle.stats();
        tracing::info!(
            event = "history",
            state = "closed",
            written = stats.written,
            dropped = stats.dropped,
            invalid = stats.invalid,
            clean = closed,
        );
        closed
    }
}

/// Every distinct set of holiday feeds among the targets (targets with the same holidays and
/// zone share one).
fn distinct_feeds(targets: &[Target]) -> Vec<Arc<HolidayFeeds>> {
    let mut out: Vec<Arc<HolidayFeeds>> = Vec::new();
    for feeds in targets.iter().filter_map(|t| t.holidays.clone()) {
        if feeds.has_feeds() && !out.iter().any(|f| Arc::ptr_eq(f, &feeds)) {
            out.push(feeds);
        }
    }
    out
}

/// Fetches the feeds now and whenever one is due again, until `cancel`; every attempt is one
/// `event=holidays_feed` line per feed.
async fn refresh_holidays(
    feeds: Arc<HolidayFeeds>,
    clock: Clock,
    cancel: CancellationToken,
    first: tokio::sync::oneshot::Sender<()>,
) {
    let mut first = Some(first);
    loop {
        let statuses = tokio::select! {
            _ = cancel.cancelled() => return,
            s = feeds.refresh(clock.now()) => s,
        };
        for status in &statuses {
            log_feed(status);
        }
        if let Some(first) = first.take() {
            let _ = first.send(());
        }
        let next = feeds
            .next_refresh()
            .unwrap_or_else(|| clock.now() + chrono::Duration::hours(24));
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep_until(clock.instant_of(next)) => {}
        }
    }
}

fn log_feed(status: &FeedStatus) {
    let holidays = status.loaded.as_ref().map_or(0, |l| l.feed.holidays.len());
    match &status.failure {
        Some(failure) => tracing::warn!(
            event = "holidays_feed",
            state = status.state(),
            url = %status.shown_url(),
            holidays,
            reason = %failure.error,
            "the feed could not be read; its last good list (if any) stays in use"
        ),
        None => tracing::info!(
            event = "holidays_feed",
            state = status.state(),
            url = %status.shown_url(),
            holidays
        ),
    }
}

/// The targets by app, in the order the apps first appear.
fn group_by_app(targets: &[Target]) -> BTreeMap<usize, Vec<Target>> {
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
fn edges_per_hour(schedule: &Schedule) -> f64 {
    let from = Utc::now();
    let week = from + chrono::Duration::days(7);
    let mut n = 0usize;
    let mut after = from;
    // Capped: a schedule that fires every second would otherwise count for long.
    while n < 20_000 {
        match schedule.next_edges(after, 1).first() {
            Some(e) if e.at <= week => {
                n += 1;
                after = e.at;
            }
            _ => break,
        }
    }
    n as f64 / 168.0
}

/// One app's startup: its web_url when a target needs it, then the first round.
async fn start_app(
    mut app_loop: AppLoop,
    targets: Vec<Target>,
    client: &Client,
    http: &reqwest::Client,
) -> Result<(AppLoop, Vec<CheckPlan>), Refused> {
    let needs_app = targets.iter().any(|t| t.check.url == CheckUrl::FromApp);
    let plans: Vec<CheckPlan> = if needs_app {
        match client.app(app_loop.app()).await {
            Ok(app) => targets
                .iter()
                .map(|t| CheckPlan::from_web_url(t, app.web_url.as_deref(), http))
                .collect(),
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
    Ok((app_loop, plans))
}

/// An app whose startup is done and whose loop runs.
struct Started {
    app: String,
    handle: crate::daemon::app::AppHandle,
    all_disabled: bool,
}

/// A startup refusal no retry can fix: logged, told to a human (within a short grace), exit 1.
async fn fatal(e: ApiError, targets: &[Target], notifier: Notifier, alerts: &TaskTracker) -> Fatal {
    e.log(Level::ERROR);
    let hint = match e.status() {
        Some(401) => "HEROKU_API_KEY is not a valid token (heroku authorizations:create)",
        Some(403) => "the token may not read or scale this app (it needs the 'write' scope and access to the app)",
        _ => "check AUTOSCALE_APP and AUTOSCALE_PROCESS (heroku ps -a APP lists the process types)",
    };
    tracing::error!(event = "fatal", status = e.status().unwrap_or(0), message = %e.message(), hint);
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

fn risky_start(target: &Target, plan: &CheckPlan, warnings: &[String], notifier: &Notifier) {
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
        tracing::warn!(event = "config_warning", app = %target.app, process = %target.process, "{w}");
    }
    if let Some(pause) = target.pause.filter(|p| p.covers(Utc::now())) {
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

fn log_start(target: &Target, plan: &CheckPlan, shard: Option<u32>) {
    let next = target.calendar().next_edge_after(Utc::now());
    let next_edge = next.map(|e| e.at.to_rfc3339()).unwrap_or_default();
    let next_quantity = next.map(|e| e.quantity.to_string()).unwrap_or_default();
    let c = &target.check;
    tracing::info!(
        event = "start",
        version = env!("CARGO_PKG_VERSION"),
        app = %target.app,
        process = %target.process,
        schedule = %target.schedule.describe(),
        tz = %target.schedule.tz(),
        max = target.thresholds.max,
        check_url = %plan.describe(target),
        interval = %humantime::format_duration(c.interval),
        timeout = %humantime::format_duration(c.timeout),
        slow = %humantime::format_duration(c.slow),
        fast = %c.fast.map(|f| humantime::format_duration(f).to_string()).unwrap_or_else(|| "off".into()),
        scale_out_after = target.thresholds.scale_out_after,
        scale_in_after = target.thresholds.scale_in_after.map(|n| n.to_string()).unwrap_or_else(|| "off".into()),
        dry_run = target.dry_run,
        next_edge = %next_edge,
        next_quantity = %next_quantity,
        shard = shard.unwrap_or(target.shard),
        traffic = if target.traffic.on { "on" } else { "off" },
        concurrency = %target.traffic.concurrency.map(|c| c.to_string()).unwrap_or_default(),
        utilization = target.traffic.utilization,
        error_rate = target.traffic.error_rate,
    );
}

/// Registers the app's next edge (the earliest next firing of any of its targets' schedules)
/// as a one-shot job at its exact UTC instant, computed DST-correctly by [`Schedule`]; when it
/// fires it wakes the app's loop and registers the following one.
///
/// tokio-cron-scheduler's own timezone jobs freeze the UTC offset when created (an hour off after
/// a DST change) and its cron flavour differs from ours (seconds required, day-of-month AND
/// day-of-week): one-shot jobs at instants we compute avoid both, and firing and `floor` can never
/// disagree because both come from the same schedule. The loop is level-triggered: the job only
/// says "look now".
fn arm(
    scheduler: JobScheduler,
    targets: Arc<Vec<Target>>,
    after: DateTime<Utc>,
    app: crate::daemon::app::AppHandle,
    clock: Clock,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        // The calendars as known now (holidays included): a feed that changes later is seen
        // at the next round anyway, level-triggered.
        let Some(at) = targets
            .iter()
            .filter_map(|t| t.calendar().next_edge_after(after).map(|e| e.at))
            .min()
        else {
            tracing::info!(
                event = "schedule_done",
                "no entry of this app's schedules fires again"
            );
            return;
        };
        let wait = (at - clock.now()).to_std().unwrap_or_default();
        let instant = std::time::Instant::now() + wait;
        let job = Job::new_one_shot_at_instant_async(instant, move |_id, scheduler| {
            let targets = targets.clone();
            let app = app.clone();
            Box::pin(async move {
                // The scheduler ticks twice a second on whole-second timestamps: wait out the
                // remainder so the edge is never early.
                if let Ok(early) = (at - clock.now()).to_std() {
                    tokio::time::sleep(early).await;
                }
                app.edge();
                arm(scheduler, targets, at, app, clock).await;
            })
        });
        let added = match job {
            Ok(job) => scheduler.add(job).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = added {
            // The loop's own reads still heal a missed edge within one round.
            tracing::error!(event = "scheduler_error", message = %e);
        }
    })
}
