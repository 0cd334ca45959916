//! Fetching the holiday feeds: at startup and then daily, each request with a timeout and a
//! body cap. A failed fetch keeps that feed's last good list and is reported, never fatal.
//!
//! Scaling never waits for a feed: the reconciler takes [`HolidayFeeds::snapshot`] (an `Arc`
//! swapped under a lock held for a pointer copy), and [`HolidayFeeds::refresh`] runs in a task
//! of its own. Parsing runs on tokio's blocking pool, so a large feed does not stall the runtime
//! and a parser panic becomes a failed fetch instead of a dead daemon.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use reqwest::header::{ACCEPT, LOCATION};
use tokio::task::JoinSet;
use url::Url;

use super::ics::{self, FeedHolidays, IcsError, Window};
use super::{HolidaySources, Holidays};
use crate::http::{self, BodyError};

/// A feed that does not answer completely within this long has failed.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Connecting may take at most this long.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A loaded feed is fetched again this long after its last success.
pub const REFRESH_EVERY: chrono::Duration = chrono::Duration::hours(24);

/// A failed feed is tried again this long after the failure.
pub const RETRY_AFTER: chrono::Duration = chrono::Duration::hours(1);

/// How feeds are fetched; [`FetchSettings::default`] is what the daemon uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchSettings {
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Largest body read; a larger one fails without being read further.
    pub max_bytes: usize,
}

impl Default for FetchSettings {
    fn default() -> FetchSettings {
        FetchSettings {
            timeout: TIMEOUT,
            connect_timeout: CONNECT_TIMEOUT,
            max_bytes: ics::MAX_TEXT_BYTES,
        }
    }
}

/// Why one fetch failed. `Display` is one line without the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// An answer other than 2xx or a redirect.
    #[error("HTTP {status}")]
    Status { status: u16 },
    /// Redirects are reported, not followed (see [`crate::http`]).
    #[error("HTTP {status} redirect to {location}; set that URL instead")]
    Redirect { status: u16, location: String },
    /// No complete answer: timeout, connection refused, reset, ...
    #[error("{kind}: {message}")]
    Transport { kind: &'static str, message: String },
    /// The body is larger than the cap.
    #[error("the answer is larger than {cap} bytes")]
    TooLarge { cap: usize },
    /// The body is not a usable iCalendar feed.
    #[error("{0}")]
    Ics(IcsError),
    /// The parser failed in a way it should not (a bug in it, contained).
    #[error("the feed could not be parsed")]
    Parser,
}

/// A feed's last successful load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub at: DateTime<Utc>,
    /// What the feed gave (its holidays inside the window of that day).
    pub feed: FeedHolidays,
}

/// A feed's latest failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub at: DateTime<Utc>,
    pub error: FetchError,
}

/// One feed, as `check` lists it and the daemon logs it after a refresh.
#[derive(Clone, PartialEq, Eq)]
pub struct FeedStatus {
    /// May carry a secret: print [`FeedStatus::shown_url`].
    pub url: Url,
    /// The last good load; its holidays are in use even after a later failure.
    pub loaded: Option<Loaded>,
    /// Set when the latest attempt failed.
    pub failure: Option<Failure>,
}

impl fmt::Debug for FeedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FeedStatus")
            .field("url", &self.shown_url())
            .field("loaded", &self.loaded)
            .field("failure", &self.failure)
            .finish()
    }
}

impl FeedStatus {
    /// The URL as it may be printed (credentials and query values redacted).
    pub fn shown_url(&self) -> String {
        http::redact_url(&self.url)
    }

    /// `loaded`, `failed` or `pending` (not tried yet): the `state=` of the log line.
    pub fn state(&self) -> &'static str {
        match (&self.failure, &self.loaded) {
            (Some(_), _) => "failed",
            (None, Some(_)) => "loaded",
            (None, None) => "pending",
        }
    }

    /// When this feed should be fetched again: at once when never tried, [`RETRY_AFTER`] after
    /// a failure, [`REFRESH_EVERY`] after a success.
    pub fn due(&self) -> Option<DateTime<Utc>> {
        match (&self.failure, &self.loaded) {
            (Some(failure), _) => failure.at.checked_add_signed(RETRY_AFTER),
            (None, Some(loaded)) => loaded.at.checked_add_signed(REFRESH_EVERY),
            (None, None) => Some(DateTime::<Utc>::MIN_UTC),
        }
    }
}

/// The holidays of `AUTOSCALE_HOLIDAYS`: its dates, plus each feed's last good list.
pub struct HolidayFeeds {
    tz: Tz,
    fixed: Holidays,
    client: reqwest::Client,
    max_bytes: usize,
    state: RwLock<State>,
}

struct State {
    feeds: Vec<FeedStatus>,
    /// `fixed` and every feed's last good holidays.
    merged: Arc<Holidays>,
}

impl fmt::Debug for HolidayFeeds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HolidayFeeds")
            .field("tz", &self.tz)
            .field("fixed", &self.fixed)
            .field("feeds", &self.statuses())
            .finish()
    }
}

impl HolidayFeeds {
    /// Nothing is fetched yet: until the first [`refresh`](Self::refresh) the holidays are the
    /// dates written out. `tz` is the schedule's zone ("today" for the feeds' window).
    pub fn new(sources: HolidaySources, tz: Tz, settings: FetchSettings) -> HolidayFeeds {
        let client = http::build(
            http::builder(http::USER_AGENT, settings.timeout, settings.connect_timeout)
                .pool_max_idle_per_host(0),
        );
        let feeds = sources
            .feeds
            .into_iter()
            .map(|url| FeedStatus {
                url,
                loaded: None,
                failure: None,
            })
            .collect();
        let merged = Arc::new(sources.dates.clone());
        HolidayFeeds {
            tz,
            fixed: sources.dates,
            client,
            max_bytes: settings.max_bytes,
            state: RwLock::new(State { feeds, merged }),
        }
    }

    /// Whether there are feeds to fetch at all.
    pub fn has_feeds(&self) -> bool {
        !self.read().feeds.is_empty()
    }

    /// The holidays in use now. Cheap: a pointer copy under a lock never held across a fetch.
    pub fn snapshot(&self) -> Arc<Holidays> {
        Arc::clone(&self.read().merged)
    }

    /// Every feed's status, in the order written.
    pub fn statuses(&self) -> Vec<FeedStatus> {
        self.read().feeds.clone()
    }

    /// When the next [`refresh`](Self::refresh) is due: the earliest [`FeedStatus::due`] (in
    /// the past while a feed was never tried; None without feeds).
    pub fn next_refresh(&self) -> Option<DateTime<Utc>> {
        self.read().feeds.iter().filter_map(FeedStatus::due).min()
    }

    /// Fetches every feed (concurrently), keeps each success, keeps the last good list of each
    /// failure, swaps in the new snapshot and returns every feed's status for logging.
    /// `now` dates the attempt and sets the window (yesterday to 400 days ahead, local dates).
    pub async fn refresh(&self, now: DateTime<Utc>) -> Vec<FeedStatus> {
        let urls: Vec<Url> = self.read().feeds.iter().map(|f| f.url.clone()).collect();
        let window = Window::around(super::local_date(self.tz, now));
        let mut fetches = JoinSet::new();
        for (index, url) in urls.into_iter().enumerate() {
            let client = self.client.clone();
            let max_bytes = self.max_bytes;
            fetches.spawn(async move { (index, fetch(&client, url, max_bytes, window).await) });
        }
        let mut results = Vec::new();
        while let Some(joined) = fetches.join_next().await {
            // A fetch task cannot panic (parsing is contained below); a cancelled one is lost.
            if let Ok(result) = joined {
                results.push(result);
            }
        }
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        for (index, result) in results {
            let Some(feed) = state.feeds.get_mut(index) else {
                continue;
            };
            match result {
                Ok(holidays) => {
                    feed.loaded = Some(Loaded {
                        at: now,
                        feed: holidays,
                    });
                    feed.failure = None;
                }
                Err(error) => feed.failure = Some(Failure { at: now, error }),
            }
        }
        let merged = state
            .feeds
            .iter()
            .filter_map(|f| f.loaded.as_ref())
            .fold(self.fixed.clone(), |all, loaded| {
                all.union(&loaded.feed.holidays)
            });
        state.merged = Arc::new(merged);
        state.feeds.clone()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One GET, capped, then parsed on the blocking pool.
async fn fetch(
    client: &reqwest::Client,
    url: Url,
    max_bytes: usize,
    window: Window,
) -> Result<FeedHolidays, FetchError> {
    let response = client
        .get(url)
        .header(ACCEPT, "text/calendar, */*;q=0.1")
        .send()
        .await
        .map_err(|e| transport(&e))?;
    let status = response.status();
    if status.is_redirection() {
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .map_or_else(|| "(no Location)".to_string(), http::redact_text);
        return Err(FetchError::Redirect {
            status: status.as_u16(),
            location: one_line(&location),
        });
    }
    if !status.is_success() {
        return Err(FetchError::Status {
            status: status.as_u16(),
        });
    }
    let body = http::read_capped(response, max_bytes)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge { cap } => FetchError::TooLarge { cap },
            BodyError::Transport { kind, message } => FetchError::Transport {
                kind,
                message: one_line(&message),
            },
        })?;
    let parsed = tokio::task::spawn_blocking(move || {
        // RFC 5545 says UTF-8; an old Latin-1 feed still has ASCII dates, so it is read
        // leniently rather than refused.
        let text = String::from_utf8_lossy(&body);
        ics::holidays_from_ics(&text, window)
    })
    .await;
    match parsed {
        Ok(result) => result.map_err(FetchError::Ics),
        Err(_) => Err(FetchError::Parser),
    }
}

fn transport(e: &reqwest::Error) -> FetchError {
    FetchError::Transport {
        kind: http::transport_kind(e),
        message: one_line(&http::error_chain(e)),
    }
}

/// Keeps a message on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests;
