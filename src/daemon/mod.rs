//! The daemon (`autoscale run`): the runtime, wired here and shut down in order.
//!
//! ```text
//!  edges.rs   one wake-up per app at its next edge ─┐
//!  checks.rs  each target's check at its phase ─────┼─► app/ (one loop per app) ─► Heroku client
//!  stream.rs  the app's router lines, per minute ───┘     inbox → observe → decide → apply
//!                                                         (formation, holds, record, apply)
//!                        alerts (notify) and history rows are sinks beside the loops
//! ```
//!
//! - `mod.rs`: [`run_with`] — the history and alerts first, every app's startup a few at a time
//!   (`startup.rs`), its loop and edges as soon as it is up, then the start lines, checks and
//!   streams; at a signal, the PATCH in flight finishes, alerts get a short grace, the history
//!   writes what is queued.
//! - `holidays.rs`: the holiday feeds' refresh; `recording.rs`: the history writer's run.
//!
//! Everything reads one [`Clock`]: the system's in production, a virtual one under paused time
//! in tests and `replay`, so a whole week of the daemon runs in well under a second.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Level;

pub mod app;
pub mod checks;
pub mod edges;
mod holidays;
pub mod queue;
mod recording;
mod startup;
pub mod stream;

use crate::budget::{AppLoad, Budget};
use crate::calendar::feed::{FeedStatus, HolidayFeeds};
use crate::clock::Clock;
use crate::config::{CheckUrl, Config, Target};
use crate::daemon::app::{AppLoop, Refused};
use crate::event::Event;
use crate::heroku::{ApiError, Client, Retry};
use crate::history::{History, HistoryHandle, HistorySetting, Startup};
use crate::notify::{Kind, Notice, Notifier};
use crate::schedule::Schedule;
use checks::{phase, CheckPlan, CheckTask};
use edges::Edges;
use holidays::{distinct_feeds, refresh_holidays};
use recording::start_history;
use startup::{edges_per_hour, fatal, group_by_app, log_start, risky_start, start_app, Started};

/// Heroku sends SIGKILL 30 s after SIGTERM; everything must be done well before.
pub const SHUTDOWN_BUDGET: Duration = Duration::from_secs(20);
/// How long alerts still being sent may delay the exit.
pub const ALERT_GRACE: Duration = Duration::from_secs(3);
/// How long the history may take to write what is queued at exit (rows left then are dropped,
/// counted).
pub const HISTORY_CLOSE: Duration = Duration::from_secs(5);
/// How long startups whose PATCH finished after a signal may take to log it.
const STARTUP_WRAP_UP: Duration = Duration::from_secs(1);
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
    let mut history = start_history(&config.history);
    let notifier = crate::notify::start(&config.notify, &alerts, history.handle.clone(), clock);
    // A history that cannot be kept is a risky start: told to a human with the reason, when
    // the connection fails (nothing waits for it).
    history.alert_when_unreachable(&targets, &notifier, &cancel);

    let apps = group_by_app(&targets);
    let loads: Vec<AppLoad> = apps
        .values()
        .map(|ts| AppLoad {
            round: crate::daemon::app::round_of(ts),
            edges_per_hour: ts
                .iter()
                .map(|t| edges_per_hour(&t.schedule, clock.now()))
                .sum(),
        })
        .collect();
    let budget = Arc::new(Budget::new(config.api_budget, &loads, client.calls()));
    // The schedules' edges are not rationed (each is a read and a PATCH): when they alone
    // spend more than the budget, it is said at once, not found out from a 429.
    let over = budget.plan.calls_per_hour > f64::from(config.api_budget);
    let level = if over { Level::WARN } else { Level::INFO };
    Event::Budget {
        apps: apps.len() as u64,
        targets: targets.len() as u64,
        calls_per_hour: budget.plan.calls_per_hour.round() as u64,
        reads_per_hour: budget.plan.reads_per_hour.round() as u64,
        budget: u64::from(config.api_budget),
        stretch: budget.plan.stretch,
        shard: config.targets.shards.this.unwrap_or(0),
        shards: config.targets.shards.count,
        message: over.then(|| {
            "the schedules' edges need more API calls than AUTOSCALE_API_BUDGET: fewer entries, or a larger budget (Heroku allows 4,500 an hour per account)".to_owned()
        }),
    }
    .emit(level);
    if targets.is_empty() {
        Event::StartIdle {
            shard: config.targets.shards.this.unwrap_or(0),
        }
        .emit(Level::WARN);
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
    let first_fetches = tokio::time::timeout(HOLIDAY_WAIT, async {
        for first in first_refresh {
            let _ = first.await;
        }
    });
    tokio::select! {
        _ = first_fetches => {}
        () = cancel.cancelled() => {}
    }

    // Each app's loop runs, and its edges are armed, as soon as its own startup is done (from
    // the instant that startup began): an edge that passes while other apps are still starting
    // (a thousand apps take a while) is acted on when it passes, not at the app's next read.
    // Checks and log streams begin once every app has started, after the start lines.
    let tasks = TaskTracker::new();
    let edges = Arc::new(Edges::start(clock).await.map_err(Fatal::Scheduler)?);

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
        let edges = edges.clone();
        let tasks = tasks.clone();
        let cancel = cancel.clone();
        starting.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let began = clock.now();
            let (app_loop, plans, generation) =
                start_app(app_loop, ts.clone(), &client, &http).await?;
            let started = Started {
                app: app_loop.app().to_owned(),
                handle: app_loop.handle(),
                all_disabled: app_loop.all_disabled(),
                generation,
            };
            tasks.spawn(app_loop.run(cancel));
            edges.arm(Arc::new(ts), began, started.handle.clone()).await;
            Ok::<_, Refused>((started, plans))
        });
    }
    // What stops the daemon before its start lines: the loops already running stop too.
    let stop_early = |edges: Arc<Edges>| {
        let tasks = tasks.clone();
        let cancel = cancel.clone();
        async move {
            cancel.cancel();
            edges.shutdown().await;
            tasks.close();
            tokio::time::timeout(SHUTDOWN_BUDGET, tasks.wait())
                .await
                .is_ok()
        }
    };
    let mut refused: Option<ApiError> = None;
    loop {
        // A signal while apps are still starting (a slow API) stops at once: the startups
        // are abandoned once no PATCH of theirs is under way; the loops already running
        // finish a PATCH in flight.
        let joined = tokio::select! {
            joined = starting.join_next() => joined,
            () = cancel.cancelled() => {
                let began = std::time::Instant::now();
                // A startup's PATCH under way (an edge the daemon restarted across) is let
                // finish, within the budget, and its startup a moment to say so; a startup
                // that only reads is abandoned at once.
                if client.writes_in_flight() > 0 {
                    let _ = tokio::time::timeout(SHUTDOWN_BUDGET, client.writes_done()).await;
                    let _ = tokio::time::timeout(STARTUP_WRAP_UP, async {
                        while starting.join_next().await.is_some() {}
                    })
                    .await;
                }
                starting.abort_all();
                let finished = stop_early(edges).await;
                drop(notifier);
                shut_down(signal, began, finished, &alerts, history, &client).await;
                return Ok(());
            }
        };
        let Some(joined) = joined else { break };
        match joined {
            Ok(Ok(started)) => loops.push(started),
            Ok(Err(Refused(e))) => refused = refused.or(Some(e)),
            Err(e) => Event::Fatal {
                status: None,
                hint: None,
                message: format!("an app's startup panicked: {e}"),
            }
            .emit(Level::ERROR),
        }
    }
    if let Some(e) = refused {
        stop_early(edges).await;
        return Err(fatal(e, &targets, notifier, &alerts).await);
    }
    // Keep the order of the configuration.
    loops.sort_by_key(|(l, _)| targets.iter().position(|t| t.app == l.app));
    if !targets.is_empty() && loops.iter().all(|(l, _)| l.all_disabled) {
        Event::Fatal {
            status: Some(404),
            hint: Some("check the apps and process types (heroku ps -a APP)".to_owned()),
            message: "every target was refused".to_owned(),
        }
        .emit(Level::ERROR);
        stop_early(edges).await;
        drop(notifier);
        alerts.close();
        let _ = tokio::time::timeout(ALERT_GRACE, alerts.wait()).await;
        return Err(Fatal::NoTarget);
    }

    // Start lines, risky starts, then the checks and streams.
    let total = targets.len();
    let permits = Arc::new(Semaphore::new(config.check_concurrency));
    let mut k = 0usize;
    // Streams open one after another, no faster than the budget's average pace (its calls
    // spread over the hour): 20 apps on a budget of 60 an hour take 20 minutes, not 10 s.
    let stream_spacing = Duration::from_secs_f64(3600.0 / f64::from(config.api_budget.max(1)));
    let mut streams = 0u32;
    for (started, plans) in loops {
        let handle = started.handle;
        let app_targets: Vec<Target> = targets
            .iter()
            .filter(|t| t.app == started.app)
            .cloned()
            .collect();
        for (index, (target, plan)) in app_targets.iter().zip(plans).enumerate() {
            log_start(target, &plan, config.targets.shards.this, clock.now());
            risky_start(target, &plan, warnings, &notifier, clock.now());
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
            if target.queue.is_some() && !started.all_disabled {
                let interval = target.queue.as_ref().map_or(Duration::ZERO, |q| q.interval);
                tasks.spawn(
                    queue::QueueTask {
                        target: target.clone(),
                        index,
                        handle: handle.clone(),
                        client: client.clone(),
                        notifier: notifier.clone(),
                        clock,
                        // Workers' reads spread over their interval, the first within a second.
                        start_after: interval
                            .mul_f64(k as f64 / total.max(1) as f64)
                            .min(Duration::from_secs(1)),
                    }
                    .run(cancel.clone()),
                );
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
                generation: started.generation,
                start_after: stream_spacing * streams,
            };
            streams += 1;
            tasks.spawn(stream.run(cancel.clone()));
        }
    }
    tasks.close();
    // The loops hold the only handles left: when they stop, the alert dispatcher does too.
    drop(notifier);

    cancel.cancelled().await;
    let began = std::time::Instant::now();
    edges.shutdown().await;
    // The scheduler's shutdown does not wait for running jobs, and a job only wakes a loop;
    // what must finish is a PATCH in flight.
    let finished = tokio::time::timeout(SHUTDOWN_BUDGET, tasks.wait())
        .await
        .is_ok();
    shut_down(signal, began, finished, &alerts, history, &client).await;
    Ok(())
}

/// The end of a shutdown once the loops have stopped: alerts get a short grace, the history
/// writes what is queued, and `event=shutdown` says how it went (`clean`: the loops, alerts and
/// history all finished in time; `finished`: the loops did).
async fn shut_down(
    signal: tokio::task::JoinHandle<&'static str>,
    began: std::time::Instant,
    mut finished: bool,
    alerts: &TaskTracker,
    history: recording::HistoryRun,
    client: &Client,
) {
    let signal = signal.await.unwrap_or("unknown");
    alerts.close();
    finished &= tokio::time::timeout(ALERT_GRACE, alerts.wait())
        .await
        .is_ok();
    finished &= history.close().await;
    Event::Shutdown {
        signal: signal.to_owned(),
        clean: finished,
        took_ms: began.elapsed().as_millis() as u64,
        api_calls: client.calls().sent(),
    }
    .emit(Level::INFO);
}
