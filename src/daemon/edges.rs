//! Schedule edges: when an app's next edge comes, and what wakes its loop then.
//!
//! The next edge of an app is the earliest next firing of any of its targets' calendars
//! (holidays included), computed DST-correctly by [`crate::schedule`]; [`next_edge`] is that one
//! rule, used by the daemon and by `replay`. The loop is level-triggered: an edge only says
//! "look now", and a missed one is healed by the loop's next read.
//!
//! Two wake-ups arm the same instants:
//! - `Wakeup::Cron` (production): one tokio-cron-scheduler one-shot job per edge, at the exact
//!   UTC instant, which re-arms the following one when it fires. Its own timezone jobs freeze the
//!   UTC offset when created (an hour off after a DST change) and its cron flavour differs from
//!   ours (seconds required, day-of-month AND day-of-week): one-shots at instants we compute
//!   avoid both, and firing and `floor` cannot disagree.
//! - `Wakeup::Clock` (a virtual clock: tests, the demo's paused runs): a task per app that
//!   sleeps on the daemon's clock until each edge, so a week of edges runs under paused time.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio_cron_scheduler::{Job, JobScheduler};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::app::AppHandle;
use crate::clock::Clock;
use crate::config::Target;
use crate::event::Event;
use tracing::Level;

/// The app's next edge after `after`: the earliest next firing of its targets' calendars.
pub fn next_edge(targets: &[Target], after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    targets
        .iter()
        .filter_map(|t| t.calendar().next_edge_after(after).map(|e| e.at))
        .min()
}

/// What wakes a loop at an edge.
enum Wakeup {
    Cron(JobScheduler),
    Clock {
        tasks: TaskTracker,
        cancel: CancellationToken,
    },
}

/// Every app's edges, armed on one wake-up.
pub struct Edges {
    wakeup: Wakeup,
    clock: Clock,
}

impl Edges {
    /// The cron scheduler on the system clock; a task per app on a virtual one.
    pub async fn start(clock: Clock) -> Result<Edges, String> {
        let wakeup = if clock.is_virtual() {
            Wakeup::Clock {
                tasks: TaskTracker::new(),
                cancel: CancellationToken::new(),
            }
        } else {
            let scheduler = JobScheduler::new().await.map_err(|e| e.to_string())?;
            scheduler.start().await.map_err(|e| e.to_string())?;
            Wakeup::Cron(scheduler)
        };
        Ok(Edges { wakeup, clock })
    }

    /// Wakes `app` at every edge of `targets` after `after`, until [`Edges::shutdown`].
    pub async fn arm(&self, targets: Arc<Vec<Target>>, after: DateTime<Utc>, app: AppHandle) {
        match &self.wakeup {
            Wakeup::Cron(scheduler) => {
                arm_cron(scheduler.clone(), targets, after, app, self.clock).await
            }
            Wakeup::Clock { tasks, cancel } => {
                tasks.spawn(follow(targets, after, app, self.clock, cancel.clone()));
            }
        }
    }

    /// Stops arming. Neither wake-up waits for a loop: an edge only wakes one, and what must
    /// finish (a PATCH in flight) belongs to the loop.
    pub async fn shutdown(&self) {
        match &self.wakeup {
            Wakeup::Cron(scheduler) => {
                if let Err(e) = scheduler.clone().shutdown().await {
                    Event::SchedulerError {
                        message: e.to_string(),
                    }
                    .emit(Level::WARN);
                }
            }
            Wakeup::Clock { tasks, cancel } => {
                cancel.cancel();
                tasks.close();
                tasks.wait().await;
            }
        }
    }
}

fn no_more_edges() {
    Event::ScheduleDone.emit(Level::INFO);
}

/// The clock's wake-up: sleeps until each edge, wakes the loop, looks for the next.
async fn follow(
    targets: Arc<Vec<Target>>,
    mut after: DateTime<Utc>,
    app: AppHandle,
    clock: Clock,
    cancel: CancellationToken,
) {
    loop {
        // The calendars as known now (holidays included): a feed that changes later is seen
        // at the next round anyway, level-triggered.
        let Some(at) = next_edge(&targets, after) else {
            no_more_edges();
            return;
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = clock.sleep_until(at) => {}
        }
        app.edge();
        after = at;
    }
}

/// The cron wake-up: the next edge as a one-shot job that, when it fires, wakes the loop and
/// registers the following one.
fn arm_cron(
    scheduler: JobScheduler,
    targets: Arc<Vec<Target>>,
    after: DateTime<Utc>,
    app: AppHandle,
    clock: Clock,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        let Some(at) = next_edge(&targets, after) else {
            no_more_edges();
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
                clock.sleep_until(at).await;
                app.edge();
                arm_cron(scheduler, targets, at, app, clock).await;
            })
        });
        let added = match job {
            Ok(job) => scheduler.add(job).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = added {
            // The loop's own reads still heal a missed edge within one round.
            Event::SchedulerError {
                message: e.to_string(),
            }
            .emit(Level::ERROR);
        }
    })
}
