//! The history as the daemon runs it: the writer started (never in the way of starting), and
//! closed at shutdown within a bound, saying what was kept and lost.

use super::*;
use crate::event::{Event, History as HistoryLine, HistoryState};

/// The history as the daemon runs it: the handle every sink records through, the writer task,
/// and what to tell a human when it cannot be kept.
pub(super) struct HistoryRun {
    pub(super) handle: HistoryHandle,
    pub(super) task: Option<tokio::task::JoinHandle<()>>,
    /// Why the history is not kept, for the `risky_start` alert.
    pub(super) risk: Option<String>,
}

/// Starts the writer when the history is on. It never stops the daemon: an unreachable
/// database is a warning (logged by [`History::start`]) and a risky start, and the writer keeps
/// trying; a dyno without a database runs without history, with a warning.
pub(super) async fn start_history(settings: &crate::history::Settings) -> HistoryRun {
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
