//! The router's lines of one app, streamed the way `heroku logs --tail` reads them: a log
//! session (`POST /apps/{app}/log-sessions`, counted in the API budget like every call), then a
//! GET of its `logplex_url` (asking for Server-Sent Events, as the Heroku CLI does), read as
//! plain lines or as events — the response's content type says which — for as long as it lasts.
//! A line's own timestamp is trusted only up to [`MAX_SKEW`] ahead of our clock.
//!
//! The stream never blocks or delays scaling: it runs in its own task, and what it finds — one
//! [`Minute`] per minute with traffic — reaches the app's loop through its inbox, merged, never
//! queued. Reading is sequential and bounded: one line buffer (longer lines are garbage), one
//! per-minute aggregator with a fixed number of open minutes; a reader slower than the stream
//! leaves the rest in the socket, where Logplex drops what a slow tail cannot take — so the
//! figures are a sample, never a count to bill on.
//!
//! - A refused session (403/404/422: an app on Heroku's Fir generation has no log sessions)
//!   turns traffic off for the app: one warning, `event=traffic_stream state=off`, and the
//!   session is asked for again at most once an hour.
//! - Network errors and 5xx are retried with backoff up to 5 minutes; a stream that ends or
//!   stalls (nothing for 30 minutes) is opened again, lines already seen are skipped. Silence is
//!   normal for a quiet app at night, and each new session is an API call, so a silent stream
//!   is trusted that long; a connection that died without a word is found sooner by TCP
//!   keepalive (every minute), which ends the read with an error.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Level;

use crate::clock::Clock;
use crate::daemon::app::{AppHandle, TrafficState};
use crate::event::{Event, StreamState};
use crate::heroku::{ApiError, Client};
use crate::history::{HistoryHandle, TrafficRow};
use crate::traffic::minute::{Minute, StreamAggregator};
use crate::traffic::router::{parse_line, Parsed};
use crate::traffic::sse::{is_event_stream, Sse, SseDecoder};

/// A minute is closed (and emitted) this long after its end: lines arrive a little late.
pub const GRACE: Duration = Duration::from_secs(5);
/// Nothing read for this long: the stream is stalled, and opened again (at most two API calls
/// an hour for an app without traffic).
pub const IDLE: Duration = Duration::from_secs(1800);
/// TCP keepalive on the stream's connection: a peer gone without a word is noticed.
pub const KEEPALIVE: Duration = Duration::from_secs(60);
/// A refused session is asked for again after this long.
pub const REFUSED_RETRY: Duration = Duration::from_secs(3600);
/// Longest wait between attempts after network errors or 5xx.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// What the stream asks for: events, as the Heroku CLI's EventSource does; plain lines too.
pub const ACCEPT: &str = "text/event-stream, text/plain;q=0.9";
/// Longest line kept; a longer one is garbage.
pub const MAX_LINE: usize = 64 * 1024;
/// How far ahead of our clock a router line's own timestamp may be. Its clock is Heroku's and
/// trusted only this far: a line from the future would make every later line look like one
/// already seen once the stream reconnects, and a silent stream would read as "no load".
pub const MAX_SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(2);

/// What the stream has read, for its log lines.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    lines: u64,
    router: u64,
    other: u64,
    /// Unreadable, too long, or dated beyond [`MAX_SKEW`] ahead of our clock.
    garbage: u64,
}

/// One app's stream.
pub struct TrafficStream {
    pub app: String,
    pub client: Client,
    /// The HTTP client that reads `logplex_url`s: one for all apps ([`stream_client`]), so a
    /// thousand streams share one TLS configuration and root store.
    pub http: reqwest::Client,
    pub handle: AppHandle,
    pub clock: Clock,
    /// Every minute is kept there too ([`HistoryHandle::off`] when there is no history).
    pub history: HistoryHandle,
}

/// How reading one session ended.
enum Ended {
    Cancelled,
    Lost(&'static str),
}

/// The client every stream reads its session with.
pub fn stream_client() -> reqwest::Client {
    crate::http::build(
        crate::http::builder(
            crate::http::USER_AGENT,
            // No total timeout: a session lasts as long as it lasts; IDLE bounds silence.
            Duration::from_secs(24 * 3600),
            Duration::from_secs(10),
        )
        .pool_max_idle_per_host(0)
        .tcp_keepalive(KEEPALIVE),
    )
}

impl TrafficStream {
    /// Streams until `cancel`.
    pub async fn run(self, cancel: CancellationToken) {
        let http = self.http.clone();
        let mut aggregator = StreamAggregator::new(GRACE, self.clock.now());
        let mut backoff = Duration::from_secs(1);
        let mut last_seen: Option<DateTime<Utc>> = None;
        let mut counts = Counts::default();
        loop {
            let session = tokio::select! {
                _ = cancel.cancelled() => return,
                s = self.client.log_session(&self.app) => s,
            };
            let wait = match session {
                Ok(session) if !may_fetch(&session.logplex_url) => {
                    // The session's URL carries its token: never fetched in clear text over a
                    // network, and never printed.
                    self.say(
                        StreamState::Off,
                        "insecure",
                        None,
                        "the log session's URL is not https (plain http only to this machine): traffic is off for this app; asked again in an hour",
                    );
                    REFUSED_RETRY
                }
                Ok(session) => {
                    let started = Instant::now();
                    let ended = self
                        .read(
                            &http,
                            &session.logplex_url,
                            &mut aggregator,
                            &mut last_seen,
                            &mut counts,
                            &cancel,
                        )
                        .await;
                    let reason = match ended {
                        Ended::Cancelled => return,
                        Ended::Lost(reason) => reason,
                    };
                    self.handle.traffic_state(TrafficState::Away);
                    Event::TrafficStream {
                        app: self.app.clone(),
                        state: StreamState::Lost,
                        reason: Some(reason.to_owned()),
                        status: None,
                        lines: Some(counts.lines),
                        router: Some(counts.router),
                        garbage: Some(counts.garbage),
                        late: Some(aggregator.stats().late),
                        message: Some(
                            "the router log stream ended; opening a new session".to_owned(),
                        ),
                    }
                    .emit(Level::WARN);
                    // Lines a new session repeats are skipped.
                    if let Some(t) = last_seen {
                        aggregator.skip_through(t);
                    }
                    if started.elapsed() > Duration::from_secs(60) {
                        backoff = Duration::from_secs(1);
                    }
                    next_backoff(&mut backoff)
                }
                Err(e) if is_refusal(&e) => {
                    self.say(
                        StreamState::Off,
                        "refused",
                        Some(e.status().unwrap_or(0)),
                        e.message(),
                    );
                    REFUSED_RETRY
                }
                Err(e) if e.is_cancelled() => return,
                Err(e) => {
                    e.log(Level::WARN);
                    self.say(
                        StreamState::Lost,
                        "session",
                        Some(e.status().unwrap_or(0)),
                        e.message(),
                    );
                    next_backoff(&mut backoff)
                }
            };
            // Minutes still close on time while the stream is away.
            let until = Instant::now() + wait;
            loop {
                let tick = (Instant::now() + Duration::from_secs(1)).min(until);
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep_until(tick) => {}
                }
                self.emit(aggregator.flush(self.clock.now()));
                if Instant::now() >= until {
                    break;
                }
            }
        }
    }

    /// Reads one session's stream until it ends, stalls, fails or the daemon stops.
    async fn read(
        &self,
        http: &reqwest::Client,
        url: &str,
        aggregator: &mut StreamAggregator,
        last_seen: &mut Option<DateTime<Utc>>,
        counts: &mut Counts,
        cancel: &CancellationToken,
    ) -> Ended {
        let response = tokio::select! {
            _ = cancel.cancelled() => return Ended::Cancelled,
            // Plain lines (Cedar) or Server-Sent Events (Fir, and what the CLI asks for): the
            // response's content type says which.
            r = tokio::time::timeout(
                Duration::from_secs(30),
                http.get(url).header("accept", ACCEPT).send(),
            ) => r,
        };
        let mut response = match response {
            Ok(Ok(r)) if r.status().is_success() => r,
            Ok(Ok(_)) => return Ended::Lost("refused"),
            Ok(Err(_)) => return Ended::Lost("connect"),
            Err(_) => return Ended::Lost("timeout"),
        };
        let mut sse = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_event_stream)
            .then(|| SseDecoder::new(MAX_LINE));
        Event::TrafficStream {
            app: self.app.clone(),
            state: StreamState::Connected,
            reason: None,
            status: None,
            lines: None,
            router: None,
            garbage: None,
            late: None,
            message: None,
        }
        .emit(Level::INFO);
        // Minutes before this one were not watched: only those from here on say "no traffic".
        let mut watched_from =
            crate::traffic::minute::minute_of(self.clock.now()) + chrono::Duration::minutes(1);
        let mut buffer: Vec<u8> = Vec::with_capacity(8192);
        // Inside a line longer than MAX_LINE: skipped up to its end.
        let mut skipping = false;
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        let mut idle_until = Instant::now() + IDLE;
        loop {
            let chunk = tokio::select! {
                _ = cancel.cancelled() => return Ended::Cancelled,
                _ = ticker.tick() => {
                    let now = self.clock.now();
                    self.emit(aggregator.flush(now));
                    // The latest minute closed now (its end plus the grace passed), once a whole
                    // watched minute is.
                    let closed = crate::traffic::minute::minute_of(now - chrono::Duration::from_std(GRACE).unwrap_or_default()) - chrono::Duration::minutes(1);
                    if closed >= watched_from {
                        self.handle.traffic_state(TrafficState::Through(closed));
                        watched_from = closed + chrono::Duration::minutes(1);
                    }
                    continue;
                }
                _ = tokio::time::sleep_until(idle_until) => return Ended::Lost("stalled"),
                c = response.chunk() => c,
            };
            let bytes = match chunk {
                Ok(Some(bytes)) => bytes,
                Ok(None) => return Ended::Lost("ended"),
                Err(_) => return Ended::Lost("error"),
            };
            idle_until = Instant::now() + IDLE;
            let mut rest: &[u8] = &bytes;
            while let Some(end) = memchr::memchr(b'\n', rest) {
                let (part, after) = rest.split_at(end);
                rest = &after[1..];
                if skipping {
                    skipping = false;
                    buffer.clear();
                    continue;
                }
                if buffer.len() + part.len() > MAX_LINE {
                    counts.garbage += 1;
                    buffer.clear();
                    continue;
                }
                buffer.extend_from_slice(part);
                match sse.as_mut() {
                    None => self.line(&buffer, aggregator, last_seen, counts),
                    Some(decoder) => match decoder.line(&String::from_utf8_lossy(&buffer)) {
                        Sse::Event(lines) => {
                            for line in lines {
                                self.line(line.as_bytes(), aggregator, last_seen, counts);
                            }
                        }
                        Sse::TooLong => counts.garbage += 1,
                        Sse::Pending => {}
                    },
                }
                buffer.clear();
            }
            if !skipping {
                if buffer.len() + rest.len() > MAX_LINE {
                    counts.garbage += 1;
                    buffer.clear();
                    skipping = true;
                } else {
                    buffer.extend_from_slice(rest);
                }
            }
        }
    }

    fn line(
        &self,
        bytes: &[u8],
        aggregator: &mut StreamAggregator,
        last_seen: &mut Option<DateTime<Utc>>,
        counts: &mut Counts,
    ) {
        counts.lines += 1;
        let text = String::from_utf8_lossy(bytes);
        match parse_line(text.trim_end_matches('\r')) {
            Parsed::Router(line) if line.timestamp > self.clock.now() + MAX_SKEW => {
                counts.garbage += 1;
            }
            Parsed::Router(line) => {
                counts.router += 1;
                *last_seen = Some(last_seen.map_or(line.timestamp, |t| t.max(line.timestamp)));
                aggregator.add(&self.app, &line);
            }
            Parsed::NotRouter => counts.other += 1,
            Parsed::Garbage => counts.garbage += 1,
        }
    }

    /// A `traffic_stream` line (warn) of a session refused, failed or not opened.
    fn say(&self, state: StreamState, reason: &str, status: Option<u16>, message: &str) {
        Event::TrafficStream {
            app: self.app.clone(),
            state,
            reason: Some(reason.to_owned()),
            status,
            lines: None,
            router: None,
            garbage: None,
            late: None,
            message: Some(message.to_owned()),
        }
        .emit(Level::WARN);
    }

    fn emit(&self, minutes: Vec<Minute>) {
        for minute in minutes {
            log_minute(&minute);
            self.history.record(TrafficRow::of_minute(&minute));
            self.handle.traffic(minute);
        }
    }
}

/// A `logplex_url` worth opening: https, or plain http to this machine.
fn may_fetch(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| {
        u.scheme() == "https" || (u.scheme() == "http" && crate::http::is_loopback_host(&u))
    })
}

fn is_refusal(e: &ApiError) -> bool {
    matches!(e.status(), Some(403 | 404 | 422))
}

/// The wait before the next attempt, doubling up to MAX_BACKOFF, with ±25 % jitter.
fn next_backoff(backoff: &mut Duration) -> Duration {
    let wait = backoff.mul_f64(0.75 + fastrand::f64() / 2.0);
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
    wait
}

/// One `event=traffic` line: the fields of [`crate::traffic::event::traffic_fields`], in its order.
pub fn log_minute(m: &Minute) {
    crate::traffic::event::traffic_event(m).emit(Level::INFO);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_logged_minute_is_the_event_line_the_readers_parse() {
        let fixture = crate::traffic::fixture::Fixture::new(
            "2026-11-30T14:00:00Z".parse().unwrap(),
            1,
            chrono_tz::Europe::Berlin,
        );
        let minutes = fixture.minutes();
        let m = minutes.iter().find(|m| m.requests > 20).unwrap();
        let text = crate::logfmt::captured(|| log_minute(m));
        let logged = crate::logfmt::Line::parse(text.trim()).unwrap();
        let written = crate::logfmt::Line::parse(&crate::traffic::event::traffic_line(
            m,
            "2026-11-30T14:01:05Z".parse().unwrap(),
        ))
        .unwrap();
        // The same fields, in the same order, after ts and level.
        let fields = |l: &crate::logfmt::Line| -> Vec<(String, String)> {
            l.clone().into_pairs().into_iter().skip(2).collect()
        };
        assert_eq!(fields(&logged), fields(&written));
        assert_eq!(
            crate::traffic::event::parse_traffic(&logged).as_ref(),
            Some(m)
        );
    }

    #[test]
    fn only_https_or_loopback_http_session_urls_are_opened() {
        assert!(may_fetch("https://logs.heroku.com/sessions/x?srv=1&sig=t"));
        assert!(may_fetch("http://127.0.0.1:4000/sessions/x"));
        assert!(may_fetch("http://localhost/sessions/x"));
        assert!(may_fetch("http://[::1]:80/x"));
        assert!(!may_fetch("http://logs.example.com/sessions/x?sig=t"));
        assert!(!may_fetch("http://127.0.0.1.example.com/x"));
        assert!(!may_fetch("ftp://127.0.0.1/x"));
        assert!(!may_fetch("not a url"));
        assert!(!may_fetch(""));
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_five_minutes() {
        let mut b = Duration::from_secs(1);
        for _ in 0..20 {
            let wait = next_backoff(&mut b);
            assert!(wait <= MAX_BACKOFF.mul_f64(1.25));
        }
        assert_eq!(b, MAX_BACKOFF);
        let mut b = Duration::from_secs(4);
        let wait = next_backoff(&mut b);
        assert!(
            (Duration::from_secs(3)..=Duration::from_secs(5)).contains(&wait),
            "{wait:?}"
        );
        assert_eq!(b, Duration::from_secs(8));
    }
}
