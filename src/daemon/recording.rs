//! The history as the daemon runs it: the writer started (never in the way of starting), and
//! closed at shutdown within a bound, saying what was kept and lost.

use super::*;
use crate::event::{Event, History as HistoryLine, HistoryState};

/// The history as the daemon runs it: the handle every sink records through, the writer task,
/// and how its first connection went.
pub(super) struct HistoryRun {
    pub(super) handle: HistoryHandle,
    pub(super) task: Option<tokio::task::JoinHandle<()>>,
    /// Answered when the first connection succeeded or failed (`None`: history off).
    startup: Option<tokio::sync::oneshot::Receiver<Startup>>,
    /// The store, safe to print.
    store: String,
}

/// Starts the writer when the history is on, connecting in the background: the start lines
/// and the first scaling never wait for the database. It never stops the daemon: an
/// unreachable database is a warning (logged by the writer) and a risky start
/// ([`HistoryRun::alert_when_unreachable`]), and the writer keeps trying; a dyno without a
/// database runs without history, with a warning.
pub(super) fn start_history(settings: &crate::history::Settings) -> HistoryRun {
    let url = match &settings.store {
        HistorySetting::On(url) => url.clone(),
        HistorySetting::Off { warning } => {
            let level = if warning.is_some() {
                Level::WARN
            } else {
                Level::INFO
            };
            Event::History(HistoryLine {
                message: warning.clone(),
                ..HistoryLine::new(HistoryState::Off)
            })
            .emit(level);
            return HistoryRun {
                handle: HistoryHandle::off(),
                task: None,
                startup: None,
                store: String::new(),
            };
        }
    };
    let store = url.to_string();
    let spawned = History::spawn(url, crate::history::Options::new(settings.retention_days));
    HistoryRun {
        handle: spawned.handle,
        task: Some(spawned.task),
        startup: Some(spawned.startup),
        store,
    }
}

impl HistoryRun {
    /// Tells a human (a `risky_start` alert per target) when the first connection fails; ends
    /// at the shutdown.
    pub(super) fn alert_when_unreachable(
        &mut self,
        targets: &[Target],
        notifier: &Notifier,
        cancel: &CancellationToken,
    ) {
        let Some(startup) = self.startup.take() else {
            return;
        };
        let store = self.store.clone();
        let targets: Vec<(String, String, bool)> = targets
            .iter()
            .map(|t| (t.app.clone(), t.process.clone(), t.dry_run))
            .collect();
        let notifier = notifier.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let startup = tokio::select! {
                startup = startup => startup,
                () = cancel.cancelled() => return,
            };
            let Ok(Startup::Unreachable { reason }) = startup else {
                return;
            };
            let message = format!(
                "the history database {store} cannot be reached ({reason}): traffic and decisions are not kept until it answers"
            );
            for (app, process, dry_run) in &targets {
                notifier.notify(Notice {
                    message: message.clone(),
                    dry_run: *dry_run,
                    ..Notice::new(Kind::RiskyStart, app, process)
                });
            }
        });
    }

    /// Writes what is queued (at most [`HISTORY_CLOSE`]) and says what was kept and lost;
    /// `false` when the writer did not finish in time.
    pub(super) async fn close(self) -> bool {
        let Some(task) = self.task else {
            return true;
        };
        let closed = self.handle.close(HISTORY_CLOSE).await;
        if closed {
            let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
        }
        let stats = self.handle.stats();
        Event::History(HistoryLine {
            written: Some(stats.written),
            dropped: Some(stats.dropped),
            invalid: Some(stats.invalid),
            clean: Some(closed),
            ..HistoryLine::new(HistoryState::Closed)
        })
        .emit(Level::INFO);
        closed
    }
}
