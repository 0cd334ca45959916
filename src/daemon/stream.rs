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
//! - The app's generation (`GET /apps/{app}`, once) says how to ask: Cedar's session in the v3
//!   schema's words; Fir's as the Heroku CLI asks for it (`version=3.sdk`). A Fir session ends
//!   after about 15 minutes: at [`FIR_RENEW`] a new one is opened while the old one is still
//!   read, so no minute is lost (`event=traffic_stream state=connected reason=renewed`); one
//!   that ends by itself after [`FIR_MIN_LIFE`] has expired and is replaced at once, quietly.
//! - A refused session (403/404/422) turns traffic off for the app: one warning,
//!   `event=traffic_stream state=off`, and the session is asked for again at most once an hour.
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
use crate::heroku::{ApiError, Client, Generation};
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
/// A Fir session is replaced by a new one this long after it opened: Fir ends its sessions
/// after about 15 minutes (the Heroku CLI opens a new one at 15).
pub const FIR_RENEW: Duration = Duration::from_secs(14 * 60);
/// After a renewal, the old stream is still read this long: what it holds that the new one
/// does not is kept, what both carry is counted once.
pub const RENEW_DRAIN: Duration = Duration::from_secs(2);
/// A Fir stream that ends after at least this long has expired (not lost): a new session is
/// opened at once and said at info level.
pub const FIR_MIN_LIFE: Duration = Duration::from_secs(10 * 60);
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
    /// The app's generation when already known (startup read the app); else asked once.
    pub generation: Option<Generation>,
    /// The first session is asked for this long after the start: many apps' streams are spread
    /// within the API budget, not opened all at once.
    pub start_after: Duration,
}

/// How reading a stream stopped.
enum Ended {
    Cancelled,
    Lost(&'static str),
    /// The deadline given to [`TrafficStream::pump`] passed (the stream is still open).
    Deadline,
}

/// What asking for a new stream gave.
enum Connect {
    Open(Box<Open>),
    /// Nothing to read: wait this long, then ask again (already said why).
    Wait(Duration),
    Cancelled,
}

/// An open stream and where its reading stands.
struct Open {
    response: reqwest::Response,
    /// Server-Sent Events (by the response's content type), or plain lines.
    sse: Option<SseDecoder>,
    /// The line being assembled across chunks: it grows to the longest line seen (a router line
    /// is ~300 bytes), not a fixed 8 KiB per stream (4 MiB at 500 streams).
    buffer: Vec<u8>,
    /// Inside a line longer than MAX_LINE: skipped up to its end.
    skipping: bool,
}

/// What one app's stream keeps across its sessions.
struct Reading {
    aggregator: StreamAggregator,
    /// The latest router line's timestamp (at most [`MAX_SKEW`] ahead of our clock).
    last_seen: Option<DateTime<Utc>>,
    counts: Counts,
    /// The first minute this stream watched whole, since it last connected.
    watched_from: DateTime<Utc>,
}

impl Reading {
    /// Lines a new session repeats (at or before the latest one seen) are skipped.
    fn skip_seen(&mut self) {
        if let Some(t) = self.last_seen {
            self.aggregator.skip_through(t);
        }
    }
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
        let now = self.clock.now();
        let mut reading = Reading {
            aggregator: StreamAggregator::new(GRACE, now),
            last_seen: None,
            counts: Counts::default(),
            watched_from: now,
        };
        let mut backoff = Duration::from_secs(1);
        // Asked once (unless startup knew it); again after a failed answer.
        let mut generation = self.generation;
        if !self.start_after.is_zero() && !self.away(self.start_after, &mut reading, &cancel).await
        {
            return;
        }
        loop {
            let gen = match generation {
                Some(g) => g,
                None => match self.generation(&cancel).await {
                    Some(Ok(g)) => *generation.insert(g),
                    // Cedar's session is tried; the app is read again before the next one.
                    Some(Err(())) => Generation::Cedar,
                    None => return,
                },
            };
            let mut current = match self.connect(gen, &mut backoff, &cancel).await {
                Connect::Open(open) => open,
                Connect::Cancelled => return,
                Connect::Wait(wait) => {
                    if self.away(wait, &mut reading, &cancel).await {
                        continue;
                    }
                    return;
                }
            };
            self.connected(None);
            // Minutes before this one were not watched: only those from here on say "no traffic".
            reading.watched_from =
                crate::traffic::minute::minute_of(self.clock.now()) + chrono::Duration::minutes(1);
            let mut started = Instant::now();
            // Fir ends a session after about 15 minutes: the next one is opened before.
            let mut renew_at = (gen == Generation::Fir).then(|| started + FIR_RENEW);
            let reason = loop {
                match self
                    .pump(&mut current, renew_at, &mut reading, &cancel)
                    .await
                {
                    Ended::Cancelled => return,
                    Ended::Lost(reason) => break reason,
                    Ended::Deadline => match self.connect(gen, &mut backoff, &cancel).await {
                        Connect::Cancelled => return,
                        Connect::Open(next) => {
                            // What the old stream still holds is read, then the new one takes
                            // over; lines both carry are counted once.
                            let drain = Some(Instant::now() + RENEW_DRAIN);
                            if let Ended::Cancelled =
                                self.pump(&mut current, drain, &mut reading, &cancel).await
                            {
                                return;
                            }
                            reading.skip_seen();
                            current = next;
                            started = Instant::now();
                            renew_at = Some(started + FIR_RENEW);
                            self.connected(Some("renewed"));
                        }
                        // No new session now (already said why): the old one is read to its end.
                        Connect::Wait(_) => renew_at = None,
                    },
                }
            };
            drop(current);
            // A Fir session that lived its length and ended: a new one at once, said quietly.
            let expired =
                gen == Generation::Fir && reason == "ended" && started.elapsed() >= FIR_MIN_LIFE;
            if !expired {
                self.handle.traffic_state(TrafficState::Away);
            }
            Event::TrafficStream {
                app: self.app.clone(),
                state: StreamState::Lost,
                reason: Some(if expired { "expired" } else { reason }.to_owned()),
                status: None,
                lines: Some(reading.counts.lines),
                router: Some(reading.counts.router),
                garbage: Some(reading.counts.garbage),
                late: Some(reading.aggregator.stats().late),
                message: Some("the router log stream ended; opening a new session".to_owned()),
            }
            .emit(if expired { Level::INFO } else { Level::WARN });
            reading.skip_seen();
            if started.elapsed() > Duration::from_secs(60) {
                backoff = Duration::from_secs(1);
            }
            if expired {
                continue;
            }
            let wait = next_backoff(&mut backoff);
            if !self.away(wait, &mut reading, &cancel).await {
                return;
            }
        }
    }

    /// The app's generation (`GET /apps/{app}`, one counted call); `Err` when unreadable (said),
    /// `None` when cancelled.
    async fn generation(&self, cancel: &CancellationToken) -> Option<Result<Generation, ()>> {
        let answer = tokio::select! {
            _ = cancel.cancelled() => return None,
            a = self.client.app(&self.app) => a,
        };
        match answer {
            Ok(app) => Some(Ok(app.generation())),
            Err(e) if e.is_cancelled() => None,
            Err(e) => {
                e.log(Level::WARN);
                Some(Err(()))
            }
        }
    }

    /// A new log session and its stream opened, or why not (said here).
    async fn connect(
        &self,
        generation: Generation,
        backoff: &mut Duration,
        cancel: &CancellationToken,
    ) -> Connect {
        let session = tokio::select! {
            _ = cancel.cancelled() => return Connect::Cancelled,
            s = self.client.log_session(&self.app, generation) => s,
        };
        let session = match session {
            Ok(session) if !may_fetch(&session.logplex_url) => {
                // The session's URL carries its token: never fetched in clear text over a
                // network, and never printed.
                self.say(
                    StreamState::Off,
                    "insecure",
                    None,
                    "the log session's URL is not https (plain http only to this machine): traffic is off for this app; asked again in an hour",
                );
                return Connect::Wait(REFUSED_RETRY);
            }
            Ok(session) => session,
            Err(e) if is_refusal(&e) => {
                self.say(
                    StreamState::Off,
                    "refused",
                    Some(e.status().unwrap_or(0)),
                    e.message(),
                );
                return Connect::Wait(REFUSED_RETRY);
            }
            Err(e) if e.is_cancelled() => return Connect::Cancelled,
            Err(e) => {
                e.log(Level::WARN);
                self.say(
                    StreamState::Lost,
                    "session",
                    Some(e.status().unwrap_or(0)),
                    e.message(),
                );
                return Connect::Wait(next_backoff(backoff));
            }
        };
        let response = tokio::select! {
            _ = cancel.cancelled() => return Connect::Cancelled,
            // Plain lines or Server-Sent Events (what the CLI asks for, and what Fir sends):
            // the response's content type says which.
            r = tokio::time::timeout(
                Duration::from_secs(30),
                self.http.get(&session.logplex_url).header("accept", ACCEPT).send(),
            ) => r,
        };
        let (reason, status) = match response {
            Ok(Ok(r)) if r.status().is_success() => {
                let sse = r
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(is_event_stream)
                    .then(|| SseDecoder::new(MAX_LINE));
                return Connect::Open(Box::new(Open {
                    response: r,
                    sse,
                    buffer: Vec::new(),
                    skipping: false,
                }));
            }
            Ok(Ok(r)) => ("refused", Some(r.status().as_u16())),
            Ok(Err(_)) => ("connect", None),
            Err(_) => ("timeout", None),
        };
        self.say(
            StreamState::Lost,
            reason,
            status,
            "the log session's stream did not open; asking for a new session",
        );
        Connect::Wait(next_backoff(backoff))
    }

    /// `event=traffic_stream state=connected` (`reason=renewed` when a new session took over).
    fn connected(&self, reason: Option<&str>) {
        Event::TrafficStream {
            app: self.app.clone(),
            state: StreamState::Connected,
            reason: reason.map(str::to_owned),
            status: None,
            lines: None,
            router: None,
            garbage: None,
            late: None,
            message: None,
        }
        .emit(Level::INFO);
    }

    /// Waits `wait` without a stream, closing minutes on time; false when cancelled.
    async fn away(
        &self,
        wait: Duration,
        reading: &mut Reading,
        cancel: &CancellationToken,
    ) -> bool {
        let until = Instant::now() + wait;
        loop {
            let tick = (Instant::now() + Duration::from_secs(1)).min(until);
            tokio::select! {
                _ = cancel.cancelled() => return false,
                _ = tokio::time::sleep_until(tick) => {}
            }
            self.emit(reading.aggregator.flush(self.clock.now()));
            if Instant::now() >= until {
                return true;
            }
        }
    }

    /// Reads a stream until it ends, stalls, fails, `deadline` passes or the daemon stops.
    async fn pump(
        &self,
        open: &mut Open,
        deadline: Option<Instant>,
        reading: &mut Reading,
        cancel: &CancellationToken,
    ) -> Ended {
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        let mut idle_until = Instant::now() + IDLE;
        loop {
            let chunk = tokio::select! {
                _ = cancel.cancelled() => return Ended::Cancelled,
                _ = ticker.tick() => {
                    let now = self.clock.now();
                    self.emit(reading.aggregator.flush(now));
                    // The latest minute closed now (its end plus the grace passed), once a whole
                    // watched minute is.
                    let closed = crate::traffic::minute::minute_of(now - chrono::Duration::from_std(GRACE).unwrap_or_default()) - chrono::Duration::minutes(1);
                    if closed >= reading.watched_from {
                        self.handle.traffic_state(TrafficState::Through(closed));
                        reading.watched_from = closed + chrono::Duration::minutes(1);
                    }
                    continue;
                }
                _ = sleep_until_some(deadline) => return Ended::Deadline,
                _ = tokio::time::sleep_until(idle_until) => return Ended::Lost("stalled"),
                c = open.response.chunk() => c,
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
                if open.skipping {
                    open.skipping = false;
                    open.buffer.clear();
                    continue;
                }
                if open.buffer.len() + part.len() > MAX_LINE {
                    reading.counts.garbage += 1;
                    open.buffer.clear();
                    continue;
                }
                open.buffer.extend_from_slice(part);
                match open.sse.as_mut() {
                    None => self.line(&open.buffer, reading),
                    Some(decoder) => match decoder.line(&String::from_utf8_lossy(&open.buffer)) {
                        Sse::Event(lines) => {
                            for line in lines {
                                self.line(line.as_bytes(), reading);
                            }
                        }
                        Sse::TooLong => reading.counts.garbage += 1,
                        Sse::Pending => {}
                    },
                }
                open.buffer.clear();
            }
            if !open.skipping {
                if open.buffer.len() + rest.len() > MAX_LINE {
                    reading.counts.garbage += 1;
                    open.buffer.clear();
                    open.skipping = true;
                } else {
                    open.buffer.extend_from_slice(rest);
                }
            }
        }
    }

    fn line(&self, bytes: &[u8], reading: &mut Reading) {
        let counts = &mut reading.counts;
        counts.lines += 1;
        let text = String::from_utf8_lossy(bytes);
        match parse_line(text.trim_end_matches('\r')) {
            Parsed::Router(line) if line.timestamp > self.clock.now() + MAX_SKEW => {
                counts.garbage += 1;
            }
            Parsed::Router(line) => {
                counts.router += 1;
                reading.last_seen = Some(
                    reading
                        .last_seen
                        .map_or(line.timestamp, |t| t.max(line.timestamp)),
                );
                reading.aggregator.add(&self.app, &line);
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

/// Sleeps until `deadline`; forever without one.
async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
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
