//! Holiday feeds (iCalendar URLs): fetched at startup (the first round waits a little, never
//! long) and again whenever one is due; a failed fetch keeps the last good list.

use super::*;
use crate::event::Event;

/// Every distinct set of holiday feeds among the targets (targets with the same holidays and
/// zone share one).
pub(super) fn distinct_feeds(targets: &[Target]) -> Vec<Arc<HolidayFeeds>> {
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
pub(super) async fn refresh_holidays(
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

pub(super) fn log_feed(status: &FeedStatus) {
    let holidays = status.loaded.as_ref().map_or(0, |l| l.feed.holidays.len());
    let failed = status.failure.is_some();
    Event::HolidaysFeed {
        state: status.state().to_owned(),
        url: status.shown_url().to_string(),
        holidays: holidays as u64,
        reason: status.failure.as_ref().map(|f| f.error.to_string()),
        message: failed.then(|| {
            "the feed could not be read; its last good list (if any) stays in use".to_owned()
        }),
    }
    .emit(if failed { Level::WARN } else { Level::INFO });
}
