//! The daemon (`autoscale run`): wires the cron edges, the check loop and the scaler together and
//! shuts them down in order.
//!
//! ```text
//! cron edge ──┐
//! check tick ─┼──► mpsc ──► scaler task (owns all state) ──► Heroku client
//! startup  ───┘
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;
use tokio_cron_scheduler::{Job, JobScheduler};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Level;
use url::Url;

use crate::config::{CheckUrl, Config, Target};
use crate::heroku::{ApiError, Client, Retry};
use crate::notify::{Kind, Notice, Notifier};
use crate::probe::Prober;
use crate::scaler::{Message, Scaler};
use crate::schedule::Schedule;

/// Heroku sends SIGKILL 30 s after SIGTERM; everything must be done well before.
pub const SHUTDOWN_BUDGET: Duration = Duration::from_secs(20);
/// How long alerts still being sent may delay the exit.
pub const ALERT_GRACE: Duration = Duration::from_secs(3);

/// Why the daemon could not run: exit 1.
#[derive(Debug, thiserror::Error)]
pub enum Fatal {
    #[error("the Heroku API refused the configuration: {0}")]
    Api(#[from] ApiError),
    #[error("the cron scheduler failed: {0}")]
    Scheduler(String),
}

/// Runs until `shutdown` resolves (with the signal's name). Returns Err only for a startup
/// failure that no retry can fix (bad token, unknown app or process).
pub async fn run(
    config: Config,
    warnings: &[String],
    shutdown: impl Future<Output = &'static str> + Send + 'static,
) -> Result<(), Fatal> {
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
    let target = config.target.clone();
    // Alerts run beside the scaler, on their own tracker: at shutdown a hanging webhook gets a
    // short grace, never the scaler's budget. Started first, so a refused token is reported.
    let tasks = TaskTracker::new();
    let alerts = TaskTracker::new();
    let notifier = crate::notify::start(&config.notify, &alerts);
    // Edges are armed from this instant: one that fires while startup is still retrying is
    // queued, not lost.
    let armed_from = Utc::now();

    // The app answers three questions at once: is the token good, does the app exist, and
    // where does its web process live (web_url may be null; never guess APP.herokuapp.com).
    let plan = match resolve_check(&client, &target).await {
        Ok(plan) => plan,
        Err(e) if e.is_configuration() => return Err(fatal(e, &target, notifier, &alerts).await),
        Err(e) => {
            e.log(Level::ERROR);
            plan_without_app(&target)
        }
    };
    log_start(&target, &plan);

    let mut risks: Vec<String> = warnings.to_vec();
    if matches!(plan, CheckPlan::Off) {
        risks.push(
            "health checks are off, so the fail-safe will not scale out if the app goes down"
                .into(),
        );
    }
    if !risks.is_empty() {
        notifier.notify(Notice {
            message: risks.join("; "),
            ..Notice::new(Kind::RiskyStart, &target.app, &target.process)
        });
    }

    let mut scaler = Scaler::new(client.clone(), target.clone(), notifier.clone());
    if !cancel.is_cancelled() {
        if let Err(e) = scaler.startup().await {
            drop(scaler);
            return Err(fatal(e, &target, notifier, &alerts).await);
        }
    }
    // The scaler holds the only handle left: when it stops, the alert dispatcher does too.
    drop(notifier);

    let (tx, rx) = mpsc::channel(64);
    tasks.spawn(scaler.run(rx, cancel.clone()));
    tasks.spawn(check_loop(
        client.clone(),
        target.clone(),
        plan,
        tx.clone(),
        cancel.clone(),
    ));
    tasks.close();

    let mut scheduler = JobScheduler::new()
        .await
        .map_err(|e| Fatal::Scheduler(e.to_string()))?;
    for entry in 0..target.schedule.entries().len() {
        arm(
            scheduler.clone(),
            target.schedule.clone(),
            entry,
            armed_from,
            tx.clone(),
        )
        .await;
    }
    drop(tx);
    scheduler
        .start()
        .await
        .map_err(|e| Fatal::Scheduler(e.to_string()))?;

    cancel.cancelled().await;
    let signal = signal.await.unwrap_or("unknown");
    let started = std::time::Instant::now();
    if let Err(e) = scheduler.shutdown().await {
        tracing::warn!(event = "scheduler_error", message = %e);
    }
    // The scheduler's shutdown does not wait for running jobs, and a job only sends a message;
    // what must finish is the scaler's PATCH in flight.
    let mut finished = tokio::time::timeout(SHUTDOWN_BUDGET, tasks.wait())
        .await
        .is_ok();
    alerts.close();
    finished &= tokio::time::timeout(ALERT_GRACE, alerts.wait())
        .await
        .is_ok();
    tracing::info!(
        event = "shutdown",
        signal,
        clean = finished,
        took_ms = started.elapsed().as_millis() as u64
    );
    Ok(())
}

/// A startup refusal no retry can fix: logged, told to a human (within a short grace), exit 1.
async fn fatal(e: ApiError, target: &Target, notifier: Notifier, alerts: &TaskTracker) -> Fatal {
    e.log(Level::ERROR);
    let hint = match e.status() {
        Some(401) => "HEROKU_API_KEY is not a valid token (heroku authorizations:create)",
        Some(403) => "the token may not read or scale this app (it needs the 'write' scope and access to the app)",
        _ => "check AUTOSCALE_APP and AUTOSCALE_PROCESS (heroku ps -a APP lists the process types)",
    };
    tracing::error!(event = "fatal", status = e.status().unwrap_or(0), message = %e.message(), hint);
    notifier.notify(Notice {
        status: e.status().map(|s| s.to_string()).unwrap_or_default(),
        message: format!("{} ({hint})", e.message()),
        ..Notice::new(Kind::ApiFailed, &target.app, &target.process)
    });
    drop(notifier);
    alerts.close();
    let _ = tokio::time::timeout(ALERT_GRACE, alerts.wait()).await;
    Fatal::Api(e)
}

/// How checks will run.
enum CheckPlan {
    Off,
    /// The app's web_url is not known yet (the API failed at startup): asked again each tick.
    Pending,
    Ready(Prober),
}

async fn resolve_check(client: &Client, target: &Target) -> Result<CheckPlan, ApiError> {
    let app = client.app(&target.app).await?;
    Ok(match &target.check.url {
        CheckUrl::FromApp => web_url_plan(target, app.web_url.as_deref()),
        _ => plan_without_app(target),
    })
}

/// The plan when the app could not be read: a configured URL (or `off`) stands; only the
/// default, the app's web_url, has to wait.
fn plan_without_app(target: &Target) -> CheckPlan {
    match &target.check.url {
        CheckUrl::Off => CheckPlan::Off,
        CheckUrl::Url(url) => CheckPlan::Ready(Prober::for_settings(url.clone(), &target.check)),
        CheckUrl::FromApp => CheckPlan::Pending,
    }
}

fn web_url_plan(target: &Target, web_url: Option<&str>) -> CheckPlan {
    match web_url.map(Url::parse) {
        Some(Ok(url)) => CheckPlan::Ready(Prober::for_settings(url, &target.check)),
        Some(Err(e)) => {
            tracing::warn!(event = "checks_off", reason = "bad_web_url", message = %e, "the app's web_url is not a URL: checks are off; set AUTOSCALE_CHECK_URL");
            CheckPlan::Off
        }
        None => {
            tracing::warn!(event = "checks_off", reason = "no_web_url", "the app has no web_url: checks are off; set AUTOSCALE_CHECK_URL to enable the fail-safe");
            CheckPlan::Off
        }
    }
}

fn log_start(target: &Target, plan: &CheckPlan) {
    let check_url = match plan {
        CheckPlan::Off => "off".to_owned(),
        CheckPlan::Pending => target.check.url.to_string(),
        CheckPlan::Ready(p) => p.url().to_string(),
    };
    let next = target.schedule.next_edges(Utc::now(), 1);
    let next_edge = next.first().map(|e| e.at.to_rfc3339()).unwrap_or_default();
    let next_quantity = next
        .first()
        .map(|e| e.quantity.to_string())
        .unwrap_or_default();
    let c = &target.check;
    tracing::info!(
        event = "start",
        version = env!("CARGO_PKG_VERSION"),
        app = %target.app,
        process = %target.process,
        schedule = %target.schedule.describe(),
        tz = %target.schedule.tz(),
        max = target.thresholds.max,
        check_url = %check_url,
        interval = %humantime::format_duration(c.interval),
        timeout = %humantime::format_duration(c.timeout),
        slow = %humantime::format_duration(c.slow),
        fast = %c.fast.map(|f| humantime::format_duration(f).to_string()).unwrap_or_else(|| "off".into()),
        scale_out_after = target.thresholds.scale_out_after,
        scale_in_after = target.thresholds.scale_in_after.map(|n| n.to_string()).unwrap_or_else(|| "off".into()),
        dry_run = target.dry_run,
        next_edge = %next_edge,
        next_quantity = %next_quantity,
    );
}

/// Checks the app every interval; a long check delays the next one (they never overlap). With
/// checks off (or the web_url not known yet) it still wakes the scaler every interval to hold the
/// floor, so a failed edge heals either way.
async fn check_loop(
    client: Client,
    target: Target,
    mut plan: CheckPlan,
    tx: mpsc::Sender<Message>,
    cancel: CancellationToken,
) {
    let mut ticker = tokio::time::interval(target.check.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut first = true;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        if matches!(plan, CheckPlan::Pending) {
            match client.app(&target.app).await {
                Ok(app) => plan = web_url_plan(&target, app.web_url.as_deref()),
                Err(e) => e.log(Level::ERROR),
            }
        }
        let message = match &plan {
            CheckPlan::Ready(prober) => tokio::select! {
                _ = cancel.cancelled() => return,
                p = prober.probe() => Message::Check(p),
            },
            // Startup has just read the formation: the first tick has nothing to add.
            _ if first => {
                first = false;
                continue;
            }
            _ => Message::Tick,
        };
        first = false;
        if tx.send(message).await.is_err() {
            return;
        }
    }
}

/// Registers the next firing of one entry as a one-shot job at its exact UTC instant, computed
/// DST-correctly by [`Schedule`]; when it fires it sends the edge and registers the following one.
///
/// tokio-cron-scheduler's own timezone jobs freeze the UTC offset when created (an hour off after
/// a DST change) and its cron flavour differs from ours (seconds required, day-of-month AND
/// day-of-week): one-shot jobs at instants we compute avoid both, and firing and `floor` can never
/// disagree because both come from the same schedule.
fn arm(
    scheduler: JobScheduler,
    schedule: Arc<Schedule>,
    entry: usize,
    after: DateTime<Utc>,
    tx: mpsc::Sender<Message>,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        let Some(at) = schedule.next_firing(entry, after) else {
            tracing::info!(event = "schedule_done", entry = %schedule.entries()[entry].when, "this entry never fires again");
            return;
        };
        let when = schedule.entries()[entry].when.clone();
        let wait = (at - Utc::now()).to_std().unwrap_or_default();
        let instant = std::time::Instant::now() + wait;
        let job = Job::new_one_shot_at_instant_async(instant, move |_id, scheduler| {
            let schedule = schedule.clone();
            let tx = tx.clone();
            Box::pin(async move {
                // The scheduler ticks twice a second on whole-second timestamps: wait out the
                // remainder so the edge is never early.
                if let Ok(early) = (at - Utc::now()).to_std() {
                    tokio::time::sleep(early).await;
                }
                if tx.send(Message::Edge { at, entry }).await.is_ok() {
                    arm(scheduler, schedule, entry, at, tx).await;
                }
            })
        });
        let added = match job {
            Ok(job) => scheduler.add(job).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = added {
            // The check loop's floor rule still heals a missed scale-up within one interval.
            tracing::error!(event = "scheduler_error", entry = %when, message = %e);
        }
    })
}
