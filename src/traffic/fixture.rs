//! Recorded traffic made up on demand: router lines with a daily and weekly shape, for tests,
//! the benchmark and the demo.
//!
//! A [`Fixture`] is a span of days in a zone and a rate (requests per minute for each local
//! weekday and hour: [`office_hours`] is busy on weekday afternoons, quiet at night and on
//! weekends). From a seed it draws the same requests every time (`fastrand`), and writes them
//! in each shape `chart` reads:
//! - [`Fixture::write_heroku_logs`]: what `heroku logs` prints (router lines, a few lines of the
//!   app's own, H10/H12/H13 errors, 3xx/4xx/5xx answers);
//! - [`Fixture::write_logplex`]: the same lines as Logplex drain bodies;
//! - [`Fixture::write_traffic`]: the daemon's `event=traffic` lines for the same minutes.
//!
//! [`Fixture::minutes`] gives the figures all three must read back to.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc, Weekday};
use chrono_tz::Tz;

use super::event::traffic_line;
use super::minute::{Accumulator, Minute};
use super::router::{At, RouterLine};

/// Most requests drawn for one minute, whatever the rate says.
const MAX_PER_MINUTE: f64 = 1_000_000.0;

/// Frames per Logplex body (Logplex sends up to a few hundred per POST).
const FRAMES_PER_BODY: u64 = 50;

/// A rate shaped like an office's web app: busy on weekday afternoons, quiet at night, a quarter
/// of it on weekends. Requests per minute.
pub fn office_hours(weekday: Weekday, hour: u32) -> f64 {
    const WEEKDAY: [f64; 24] = [
        4.0, 4.0, 4.0, 4.0, 4.0, 6.0, 15.0, 40.0, 80.0, 110.0, 120.0, 125.0, 110.0, 130.0, 150.0,
        160.0, 150.0, 120.0, 80.0, 60.0, 45.0, 30.0, 15.0, 8.0,
    ];
    let weekday_rate = WEEKDAY[hour as usize % 24];
    match weekday {
        Weekday::Sat | Weekday::Sun => (weekday_rate / 4.0).max(3.0),
        _ => weekday_rate,
    }
}

/// A deterministic span of router traffic (see the module docs).
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The first minute (rounded down to a minute).
    pub start: DateTime<Utc>,
    pub days: u32,
    /// The zone the rate's weekdays and hours are read in.
    pub tz: Tz,
    pub seed: u64,
    /// Requests per minute at a local weekday and hour.
    pub rate: fn(Weekday, u32) -> f64,
    /// Multiplies the rate (the benchmark's 50 requests a second is `office_hours` × 20 or so).
    pub scale: f64,
    /// The app named in `event=traffic` lines.
    pub app: String,
    /// The Host header in router lines.
    pub host: String,
    /// Whether some requests fail (about 0.2 % H12, 0.1 % H13, 0.05 % H10, 0.65 % app 500s).
    /// An H12 holds a dyno 30 s: in a quiet minute it alone makes p95 30 s and adds 0.5 to busy.
    pub errors: bool,
}

/// What a writer wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// Router lines (or frames).
    pub router: u64,
    /// The app's own lines (or frames).
    pub other: u64,
    /// `event=traffic` lines.
    pub traffic: u64,
}

impl Fixture {
    /// `days` of [`office_hours`] traffic from `start`, seed 1, for an app `shop`.
    pub fn new(start: DateTime<Utc>, days: u32, tz: Tz) -> Self {
        Fixture {
            start,
            days,
            tz,
            seed: 1,
            rate: office_hours,
            scale: 1.0,
            app: "shop".to_owned(),
            host: "shop-7f3a9c21d4e5.herokuapp.com".to_owned(),
            errors: true,
        }
    }

    /// Writes the traffic as `heroku logs` prints it.
    pub fn write_heroku_logs(&self, out: &mut impl Write) -> io::Result<Written> {
        let mut written = Written::default();
        let mut line = String::with_capacity(512);
        self.try_for_each(|item| -> io::Result<()> {
            line.clear();
            match item {
                Item::Request(req) => {
                    line.push_str(&timestamp(req.at));
                    line.push_str(" heroku[router]: ");
                    req.write_message(&self.host, &mut line);
                    written.router += 1;
                }
                Item::AppLine { at, dyno, status } => {
                    let _ = write!(
                        line,
                        "{} app[web.{dyno}]: Completed {status} in 12ms",
                        timestamp(at)
                    );
                    written.other += 1;
                }
                Item::MinuteEnd(_) => return Ok(()),
            }
            line.push('\n');
            out.write_all(line.as_bytes())
        })?;
        Ok(written)
    }

    /// Writes the traffic as Logplex drain bodies: octet-counted frames, a newline after every
    /// 50 (as if the bodies of several POSTs were saved one after the other).
    pub fn write_logplex(&self, out: &mut impl Write) -> io::Result<Written> {
        let mut written = Written::default();
        let mut frame = String::with_capacity(512);
        self.try_for_each(|item| -> io::Result<()> {
            frame.clear();
            match item {
                Item::Request(req) => {
                    let _ = write!(frame, "<158>1 {} host heroku router - ", timestamp(req.at));
                    req.write_message(&self.host, &mut frame);
                    written.router += 1;
                }
                Item::AppLine { at, dyno, status } => {
                    let _ = write!(
                        frame,
                        "<190>1 {} host app web.{dyno} - Completed {status} in 12ms",
                        timestamp(at)
                    );
                    written.other += 1;
                }
                Item::MinuteEnd(_) => return Ok(()),
            }
            frame.push('\n');
            write!(out, "{} {frame}", frame.len())?;
            if (written.router + written.other) % FRAMES_PER_BODY == 0 {
                out.write_all(b"\n")?;
            }
            Ok(())
        })?;
        Ok(written)
    }

    /// Writes the daemon's `event=traffic` lines for the same traffic, each stamped 5 s after
    /// its minute ended (when the daemon would emit it).
    pub fn write_traffic(&self, out: &mut impl Write) -> io::Result<Written> {
        let mut written = Written::default();
        for minute in self.minutes() {
            let ts = minute.minute + TimeDelta::seconds(65);
            writeln!(out, "{}", traffic_line(&minute, ts))?;
            written.traffic += 1;
        }
        Ok(written)
    }

    /// The per-minute figures of the traffic: what each writer's output reads back to.
    pub fn minutes(&self) -> Vec<Minute> {
        let mut minutes = Vec::new();
        let mut acc = Accumulator::new();
        let _ = self.try_for_each(|item| {
            match item {
                Item::Request(req) => acc.add(&req.record()),
                Item::AppLine { .. } => {}
                Item::MinuteEnd(start) => {
                    if acc.requests() > 0 {
                        minutes.push(acc.finish(&self.app, "web", start));
                    }
                    acc = Accumulator::new();
                }
            }
            Ok::<(), io::Error>(())
        });
        minutes
    }

    /// Draws every request (and the app's own lines) in time order, minute by minute.
    fn try_for_each<E>(&self, mut f: impl FnMut(Item) -> Result<(), E>) -> Result<(), E> {
        let mut rng = fastrand::Rng::with_seed(self.seed);
        let first = self.start.timestamp().div_euclid(60) * 60;
        let mut offsets: Vec<i64> = Vec::new();
        for m in 0..i64::from(self.days) * 1440 {
            let start = DateTime::from_timestamp(first + m * 60, 0).unwrap_or(self.start);
            let local = start.with_timezone(&self.tz);
            let rate = bounded((self.rate)(local.weekday(), local.hour()) * self.scale);
            let count = (rate * (0.8 + 0.4 * rng.f64())).round() as usize;
            // Busier minutes are slower and spread over more dynos.
            let slowdown = 1.0 + rate / 400.0;
            let dynos = (rate / 60.0).ceil().clamp(1.0, 8.0) as u32;
            offsets.clear();
            offsets.extend((0..count).map(|_| rng.i64(0..60_000_000)));
            offsets.sort_unstable();
            for &offset in &offsets {
                let at = start + TimeDelta::microseconds(offset);
                let req = Request::draw(&mut rng, at, slowdown, dynos, self.errors);
                let app_line = rng.u32(0..200) == 0;
                let (dyno, status) = (req.dyno, req.status);
                f(Item::Request(req))?;
                if app_line && dyno > 0 {
                    let at = at + TimeDelta::microseconds(1);
                    f(Item::AppLine { at, dyno, status })?;
                }
            }
            f(Item::MinuteEnd(start))?;
        }
        Ok(())
    }
}

/// A rate as drawn: 0 for nonsense (NaN, infinite, negative), at most [`MAX_PER_MINUTE`].
fn bounded(rate: f64) -> f64 {
    if rate.is_finite() {
        rate.clamp(0.0, MAX_PER_MINUTE)
    } else {
        0.0
    }
}

enum Item {
    Request(Request),
    /// A line of the app's own, from dyno `web.{dyno}`.
    AppLine {
        at: DateTime<Utc>,
        dyno: u32,
        status: u16,
    },
    /// Every request of the minute starting here was drawn.
    MinuteEnd(DateTime<Utc>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ok,
    AppError,
    H10,
    H12,
    H13,
}

/// One drawn request.
struct Request {
    at: DateTime<Utc>,
    kind: Kind,
    method: &'static str,
    path: &'static str,
    /// `web.{dyno}`; 0 for none (H10).
    dyno: u32,
    connect_ms: Option<u32>,
    service_ms: Option<u32>,
    status: u16,
    bytes: Option<u64>,
    request_id: u128,
    fwd: String,
}

/// Paths with their typical service time in ms.
const PATHS: [(&str, &str, f64); 6] = [
    ("GET", "/", 80.0),
    ("GET", "/products/42", 120.0),
    ("POST", "/api/cart", 200.0),
    ("GET", "/assets/app-3f2a.css", 4.0),
    ("GET", "/search?q=\\\"warm socks\\\"", 350.0),
    ("GET", "/health", 2.0),
];

impl Request {
    fn draw(
        rng: &mut fastrand::Rng,
        at: DateTime<Utc>,
        slowdown: f64,
        dynos: u32,
        errors: bool,
    ) -> Request {
        let (method, path, typical) = PATHS[rng.usize(0..PATHS.len())];
        // About log-normal around the typical time.
        let normal: f64 = (0..4).map(|_| rng.f64()).sum::<f64>() * 1.7 - 3.4;
        let service = (typical * slowdown * (normal * 0.5).exp()).round() as u32;
        let dyno = 1 + rng.u32(0..dynos);
        let roll = rng.u32(0..10_000);
        let (kind, status) = match roll {
            0..=19 => (Kind::H12, 503),
            20..=29 => (Kind::H13, 503),
            30..=34 => (Kind::H10, 503),
            35..=99 => (Kind::AppError, 500),
            100..=399 => (Kind::Ok, 404),
            400..=1199 => (Kind::Ok, 302),
            _ => (Kind::Ok, 200),
        };
        let (kind, status) = match kind {
            Kind::H10 | Kind::H12 | Kind::H13 | Kind::AppError if !errors => (Kind::Ok, 200),
            _ => (kind, status),
        };
        // The same draws whatever the kind, so that `errors: false` changes nothing else.
        let (connect, timeout, closed, bytes) = (
            rng.u32(0..3),
            30_000 + rng.u32(0..12),
            rng.u32(1..3_000),
            rng.u64(100..60_000),
        );
        let (dyno, connect_ms, service_ms, bytes) = match kind {
            Kind::H10 => (0, None, None, None),
            Kind::H12 => (dyno, Some(1), Some(timeout), Some(0)),
            Kind::H13 => (dyno, Some(0), Some(closed), Some(0)),
            Kind::Ok | Kind::AppError => (dyno, Some(connect), Some(service), Some(bytes)),
        };
        let fwd = match rng.u8(0..10) {
            0 => format!("2001:db8::{:x}", rng.u16(..)),
            1 => format!(
                "203.0.113.{}, 198.51.100.{}",
                rng.u8(1..255),
                rng.u8(1..255)
            ),
            _ => format!("203.0.113.{}", rng.u8(1..255)),
        };
        Request {
            at,
            kind,
            method,
            path,
            dyno,
            connect_ms,
            service_ms,
            status,
            bytes,
            request_id: rng.u128(..),
            fwd,
        }
    }

    /// The router's message for this request, as Heroku writes it.
    fn write_message(&self, host: &str, out: &mut String) {
        let code = match self.kind {
            Kind::H10 => Some(("H10", "App crashed")),
            Kind::H12 => Some(("H12", "Request timeout")),
            Kind::H13 => Some(("H13", "Connection closed without response")),
            Kind::Ok | Kind::AppError => None,
        };
        match code {
            Some((code, desc)) => {
                let _ = write!(out, "at=error code={code} desc=\"{desc}\" ");
            }
            None => out.push_str("at=info "),
        }
        let id = self.request_id;
        let _ = write!(
            out,
            "method={} path=\"{}\" host={host} request_id={:08x}-{:04x}-{:04x}-{:04x}-{:012x} fwd=\"{}\" dyno=",
            self.method,
            self.path,
            (id >> 96) as u32,
            (id >> 80) as u16,
            (id >> 64) as u16,
            (id >> 48) as u16,
            id as u64 & 0xffff_ffff_ffff,
            self.fwd,
        );
        if self.dyno > 0 {
            let _ = write!(out, "web.{}", self.dyno);
        }
        out.push_str(" connect=");
        if let Some(ms) = self.connect_ms {
            let _ = write!(out, "{ms}ms");
        }
        out.push_str(" service=");
        if let Some(ms) = self.service_ms {
            let _ = write!(out, "{ms}ms");
        }
        let _ = write!(out, " status={} bytes=", self.status);
        if let Some(bytes) = self.bytes {
            let _ = write!(out, "{bytes}");
        }
        out.push_str(" protocol=https");
    }

    /// The record the router parser makes of this request's line.
    fn record(&self) -> RouterLine<'static> {
        RouterLine {
            timestamp: self.at,
            at: if self.kind == Kind::Ok || self.kind == Kind::AppError {
                At::Info
            } else {
                At::Error
            },
            code: match self.kind {
                Kind::H10 => Some("H10"),
                Kind::H12 => Some("H12"),
                Kind::H13 => Some("H13"),
                Kind::Ok | Kind::AppError => None,
            },
            method: self.method,
            path: Cow::Borrowed(self.path),
            host: "",
            dyno: match self.dyno {
                0 => "",
                // Only what aggregation looks at matters here: one name per dyno number.
                n => DYNO_NAMES[(n as usize - 1) % DYNO_NAMES.len()],
            },
            connect_ms: self.connect_ms,
            service_ms: self.service_ms,
            status: Some(self.status),
            bytes: self.bytes,
        }
    }
}

const DYNO_NAMES: [&str; 8] = [
    "web.1", "web.2", "web.3", "web.4", "web.5", "web.6", "web.7", "web.8",
];

/// `2026-11-30T14:03:00.123456+00:00`, as `heroku logs` and Logplex write times. By hand:
/// chrono's formatter is the slowest part of writing a fixture in a debug build.
fn timestamp(t: DateTime<Utc>) -> String {
    let secs = t.timestamp();
    let (days, second_of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
        t.timestamp_subsec_micros()
    )
}

/// The date of a day counted from 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::router::{parse_line, Parsed};

    fn ts(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn berlin_week() -> Fixture {
        // Monday 2026-11-30 00:00 in Berlin.
        Fixture::new(ts("2026-11-29T23:00:00Z"), 7, chrono_tz::Europe::Berlin)
    }

    #[test]
    fn timestamps_as_heroku_writes_them() {
        let mut rng = fastrand::Rng::with_seed(9);
        for _ in 0..10_000 {
            let t = DateTime::from_timestamp(rng.i64(0..4_102_444_800), rng.u32(0..1_000_000_000))
                .unwrap();
            assert_eq!(
                timestamp(t),
                t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
            );
        }
        assert_eq!(
            timestamp(ts("2024-02-29T23:59:59.9999999Z")),
            "2024-02-29T23:59:59.999999+00:00"
        );
    }

    #[test]
    fn office_hours_shape() {
        assert_eq!(office_hours(Weekday::Tue, 15), 160.0);
        assert_eq!(office_hours(Weekday::Tue, 3), 4.0);
        assert_eq!(office_hours(Weekday::Sat, 15), 40.0);
        assert_eq!(office_hours(Weekday::Sun, 3), 3.0);
        let weekday_peak = (0..24)
            .map(|h| office_hours(Weekday::Wed, h))
            .fold(0.0, f64::max);
        assert_eq!(weekday_peak, office_hours(Weekday::Wed, 15));
    }

    #[test]
    fn deterministic_by_seed() {
        let short = Fixture {
            days: 1,
            scale: 0.1,
            ..berlin_week()
        };
        let write = |f: &Fixture| {
            let mut out = Vec::new();
            f.write_heroku_logs(&mut out).unwrap();
            out
        };
        assert_eq!(write(&short), write(&short));
        assert_ne!(
            write(&short),
            write(&Fixture {
                seed: 2,
                ..short.clone()
            })
        );
    }

    #[test]
    fn a_week_in_berlin_follows_the_shape() {
        let week = berlin_week();
        let minutes = week.minutes();
        let mut by_day_hour = [[0u64; 24]; 7];
        for m in &minutes {
            let local = m.minute.with_timezone(&week.tz);
            by_day_hour[local.weekday().num_days_from_monday() as usize][local.hour() as usize] +=
                m.requests;
        }
        for (day, hours) in by_day_hour.iter().enumerate() {
            if day < 5 {
                // About 160 × 60 = 9600 requests at 15:00, about 240 at 03:00.
                assert!(
                    (7_500..11_500).contains(&hours[15]),
                    "day {day}: {}",
                    hours[15]
                );
                assert!(hours[3] < 400, "day {day}: {}", hours[3]);
            } else {
                assert!(hours[15] < 3_000, "day {day}: {}", hours[15]);
            }
        }
        // Every minute has traffic, the first is Monday 00:00 local, the last Sunday 23:59.
        assert_eq!(minutes.len(), 7 * 1440);
        assert_eq!(minutes[0].minute, ts("2026-11-29T23:00:00Z"));
        assert_eq!(minutes.last().unwrap().minute, ts("2026-12-06T22:59:00Z"));
        // Busy afternoons run on more dynos and are slower.
        let tuesday_3pm = minutes
            .iter()
            .find(|m| m.minute == ts("2026-12-01T14:00:00Z"))
            .unwrap();
        let tuesday_3am = minutes
            .iter()
            .find(|m| m.minute == ts("2026-12-01T02:00:00Z"))
            .unwrap();
        assert_eq!((tuesday_3pm.dynos, tuesday_3am.dynos), (3, 1));
        assert!(tuesday_3pm.busy > tuesday_3am.busy * 10.0);
        let errors: u64 = minutes.iter().map(|m| m.errors).sum();
        let requests: u64 = minutes.iter().map(|m| m.requests).sum();
        let h12: u64 = minutes.iter().map(|m| m.h12).sum();
        assert!(errors * 1000 / requests < 15, "{errors} of {requests}");
        assert!(h12 > 0 && minutes.iter().map(|m| m.h10).sum::<u64>() > 0);
    }

    #[test]
    fn errors_can_be_left_out() {
        let day = Fixture {
            days: 1,
            scale: 0.3,
            ..berlin_week()
        };
        let with = day.minutes();
        let without = Fixture {
            errors: false,
            ..day.clone()
        }
        .minutes();
        let total = |ms: &[Minute], f: fn(&Minute) -> u64| ms.iter().map(f).sum::<u64>();
        assert!(total(&with, |m| m.errors) > 0);
        assert_eq!(total(&without, |m| m.errors), 0);
        assert_eq!(total(&without, |m| m.s5xx), 0);
        // The same requests otherwise: the same count in every minute.
        let counts = |ms: &[Minute]| {
            ms.iter()
                .map(|m| (m.minute, m.requests))
                .collect::<Vec<_>>()
        };
        assert_eq!(counts(&with), counts(&without));
    }

    #[test]
    fn local_hours_follow_daylight_saving_time() {
        // Berlin leaves summer time on 2026-10-25: 15:00 local is 13:00Z before, 14:00Z after.
        let f = Fixture {
            rate: |_, hour| if hour == 15 { 100.0 } else { 0.0 },
            ..Fixture::new(ts("2026-10-24T00:00:00Z"), 2, chrono_tz::Europe::Berlin)
        };
        let minutes = f.minutes();
        assert_eq!(minutes.len(), 120);
        assert_eq!(minutes[0].minute, ts("2026-10-24T13:00:00Z"));
        assert_eq!(minutes[60].minute, ts("2026-10-25T14:00:00Z"));
    }

    #[test]
    fn odd_rates_are_bounded() {
        assert_eq!(bounded(f64::NAN), 0.0);
        assert_eq!(bounded(f64::INFINITY), 0.0);
        assert_eq!(bounded(-5.0), 0.0);
        assert_eq!(bounded(1e12), MAX_PER_MINUTE);
        assert_eq!(bounded(12.5), 12.5);
        let f = Fixture {
            rate: |_, hour| match hour {
                0 => f64::NAN,
                1 => f64::INFINITY,
                2 => -5.0,
                3 => 10.0,
                _ => 0.0,
            },
            ..Fixture::new(ts("2026-11-30T00:00:00Z"), 1, chrono_tz::UTC)
        };
        let minutes = f.minutes();
        assert_eq!(
            minutes.len(),
            60,
            "only the hour of a sane rate has traffic"
        );
        assert!(minutes.iter().all(|m| m.minute.hour() == 3));
    }

    #[test]
    fn heroku_logs_lines_are_router_lines_or_app_lines() {
        let f = Fixture {
            days: 1,
            scale: 0.25,
            ..berlin_week()
        };
        let mut out = Vec::new();
        let written = f.write_heroku_logs(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let (mut router, mut other) = (0, 0);
        for line in text.lines() {
            match parse_line(line) {
                Parsed::Router(_) => router += 1,
                Parsed::NotRouter => other += 1,
                Parsed::Garbage => panic!("{line}"),
            }
        }
        assert_eq!(
            written,
            Written {
                router,
                other,
                traffic: 0
            }
        );
        assert!(other > 0);
        let requests: u64 = f.minutes().iter().map(|m| m.requests).sum();
        assert_eq!(router, requests);
        // The shapes Heroku writes are all there.
        for needle in [
            "at=error code=H10 desc=\"App crashed\" ",
            " dyno= connect= service= status=503 bytes= ",
            "code=H12 desc=\"Request timeout\" ",
            "code=H13 ",
            " status=500 ",
            " status=404 ",
            " status=302 ",
            "fwd=\"2001:db8::",
            ", 198.51.100.",
            r#"path="/search?q=\"warm socks\"""#,
        ] {
            assert!(text.contains(needle), "{needle}");
        }
    }
}
