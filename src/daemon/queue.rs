//! A worker's job queue, read every AUTOSCALE_QUEUE_INTERVAL by a task of its own: each read's
//! figures go to the app's loop (which decides, says them once a minute with `event=queue` and
//! keeps that minute in the history), and a store that cannot be read is said once per outage (`event=queue_source`, alert
//! `queue_lost`) until it can again.
//!
//! - The store's URL is the setting's, or the target app's config var (`$REDIS_URL` by
//!   default), read through the Platform API once and again only when the store refuses the
//!   credentials (Heroku rotates them), at most once a minute.
//! - Every read is bounded ([`READ_TIMEOUT`], never above the interval): a slow store delays
//!   only its own target, never another one (each target has its own task).

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Level;

use crate::clock::Clock;
use crate::config::queue::{QueueSettings, QueueUrl};
use crate::config::Target;
use crate::daemon::app::{AppHandle, QueueNews, StoppingNews};
use crate::event::{Event, QueueState};
use crate::heroku::Client;
use crate::notify::{Kind, Notice, Notifier};
use crate::queue::{Error as StoreError, Store, Totals};

/// The longest one read of a store may take (connecting included).
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// A config var refused by its store is read again after this long, doubling at each refusal up
/// to [`CONFIG_VAR_REREAD_MAX`]: a rotation is picked up within seconds, and a store refusing
/// every credential costs a few calls an hour, not one per read.
const CONFIG_VAR_REREAD: Duration = Duration::from_secs(10);
const CONFIG_VAR_REREAD_MAX: Duration = Duration::from_secs(600);

/// One worker target's queue reads.
pub struct QueueTask {
    pub target: Target,
    /// The target's index in its app's loop.
    pub index: usize,
    pub handle: AppHandle,
    pub client: Client,
    pub notifier: Notifier,
    pub clock: Clock,
    /// When the first read is made (targets' reads are spread over the interval).
    pub start_after: Duration,
}

/// When the read after one made `now` is due: an interval after the one that was due (`next`)
/// when the timer woke the task — not sooner than now, so that a read that took long is not
/// followed by a burst of them. A read made at a drain's order (`timed` false) is an extra
/// one: the regular reads keep their times, and a burst of jobs landing meanwhile is still seen
/// within an interval.
fn next_read(next: Instant, interval: Duration, now: Instant, timed: bool) -> Instant {
    if timed {
        (next + interval).max(now)
    } else {
        next
    }
}

/// When a config var refused by its store may be read again.
#[derive(Debug)]
struct VarReads {
    next: Option<Instant>,
    wait: Duration,
}

impl Default for VarReads {
    fn default() -> VarReads {
        VarReads {
            next: None,
            wait: CONFIG_VAR_REREAD,
        }
    }
}

impl QueueTask {
    pub async fn run(self, cancel: CancellationToken) {
        let Some(settings) = self.target.queue.clone() else {
            return;
        };
        let timeout = READ_TIMEOUT.min(settings.interval);
        let mut store: Option<Store> = None;
        let mut var = VarReads::default();
        let mut lost: Option<String> = None;
        let mut orders = self.handle.drain_orders(self.index);
        let mut next = Instant::now() + self.start_after;
        loop {
            // A drain ordered is carried out at once (its first read quiets the stopping dynos).
            let timed = tokio::select! {
                biased;
                () = cancel.cancelled() => return,
                () = tokio::time::sleep_until(next) => true,
                Ok(()) = orders.changed() => false,
            };
            let keep = *orders.borrow_and_update();
            next = next_read(next, settings.interval, Instant::now(), timed);
            let read = tokio::select! {
                biased;
                () = cancel.cancelled() => return,
                read = self.read(&settings, &mut store, &mut var, timeout, keep) => read,
            };
            match read {
                Ok((totals, stopping, shown)) => {
                    var.wait = CONFIG_VAR_REREAD;
                    let at = self.clock.now();
                    if lost.take().is_some() {
                        self.said(QueueState::Ok, &settings, shown, None);
                    }
                    self.handle.queue(
                        self.index,
                        QueueNews::Read {
                            totals,
                            at,
                            stopping,
                        },
                    );
                }
                Err((reason, shown)) => {
                    if lost.is_none() {
                        self.said(QueueState::Lost, &settings, shown, Some(&reason));
                        self.notifier.notify(Notice {
                            reason: "queue_lost".to_owned(),
                            message: reason.clone(),
                            ..Notice::new(Kind::QueueLost, &self.target.app, &self.target.process)
                        });
                    }
                    lost = Some(reason);
                    self.handle.queue(self.index, QueueNews::Lost);
                }
            }
        }
    }

    /// One read: the store (made first, from the URL or its config var), then its figures for
    /// this target; during a drain (`keep`), the processes on the stopping dynos not quiet yet
    /// are quieted. The error's reason and the URL are as they may be printed.
    async fn read(
        &self,
        settings: &QueueSettings,
        store: &mut Option<Store>,
        var: &mut VarReads,
        timeout: Duration,
        keep: Option<u32>,
    ) -> Result<(Totals, Option<StoppingNews>, String), (String, String)> {
        let shown_setting = settings.url.shown();
        if store.is_none() {
            let url = match &settings.url {
                QueueUrl::Url(url) => url.clone(),
                QueueUrl::ConfigVar(name) => {
                    if let Some(at) = var.next.filter(|at| *at > Instant::now()) {
                        return Err((
                            format!(
                                "the store refused the credentials of ${name}; it is read again in {}",
                                humantime::format_duration(Duration::from_secs(
                                    at.saturating_duration_since(Instant::now()).as_secs() + 1
                                ))
                            ),
                            shown_setting,
                        ));
                    }
                    var.next = None;
                    crate::queue::config_var_url(&self.client, &self.target.app, name)
                        .await
                        .map_err(|reason| (reason, shown_setting.clone()))?
                }
            };
            *store = Some(
                settings
                    .open(&url, timeout)
                    .map_err(|reason| (reason, shown_setting.clone()))?,
            );
        }
        let Some(reader) = store.as_mut() else {
            return Err(("no store".to_owned(), shown_setting));
        };
        let shown = reader.shown().to_owned();
        match reader
            .read(
                settings.queues.as_deref(),
                &self.target.process,
                keep,
                self.clock.now(),
            )
            .await
        {
            Ok(read) => {
                let stopping = keep.zip(read.stopping).map(|(keep, s)| StoppingNews {
                    keep,
                    busy: s.busy,
                    loud: u32::try_from(s.loud.len()).unwrap_or(u32::MAX),
                });
                Ok((read.totals, stopping, shown))
            }
            Err(e) => {
                // Rotated credentials: the config var is read again (after a backoff).
                if matches!(e, StoreError::Refused { .. })
                    && matches!(settings.url, QueueUrl::ConfigVar(_))
                {
                    *store = None;
                    var.next = Some(Instant::now() + var.wait);
                    var.wait = (var.wait * 2).min(CONFIG_VAR_REREAD_MAX);
                }
                Err((e.to_string(), shown))
            }
        }
    }

    fn said(&self, state: QueueState, settings: &QueueSettings, url: String, reason: Option<&str>) {
        let (level, message) = match state {
            QueueState::Lost => (
                Level::WARN,
                "the job queue cannot be read: nothing is scaled in on missing data",
            ),
            QueueState::Ok => (Level::INFO, "the job queue can be read again"),
        };
        Event::QueueSource {
            app: self.target.app.clone(),
            process: self.target.process.clone(),
            state,
            library: settings.library.as_str().to_owned(),
            url,
            reason: reason.map(str::to_owned),
            message: Some(message.to_owned()),
        }
        .emit(level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keep_their_times_and_a_drain_s_read_is_an_extra_one() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        // On time: an interval on.
        assert_eq!(next_read(t0, s(10), t0, true), t0 + s(10));
        // A read that took 25 s: the next one now, not three at once.
        assert_eq!(next_read(t0, s(10), t0 + s(25), true), t0 + s(25));
        // A drain's order at 4 s into the wait: the regular read stays due at t0.
        assert_eq!(next_read(t0, s(10), t0 - s(6), false), t0);
    }
}
