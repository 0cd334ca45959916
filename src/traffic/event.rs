//! The `event=traffic` line: one [`Minute`] as the daemon logs it, and the same line read back.
//!
//! ```text
//! ts=2026-11-30T14:04:05.002Z level=info event=traffic app=shop process=web minute=2026-11-30T14:03:00Z
//!     requests=600 p50_ms=404 p95_ms=404 p99_ms=404 errors=0 h10=0 h12=0 h13=0 busy=4.00 dynos=2
//!     s2xx=600 s3xx=0 s4xx=0 s5xx=0
//! ```
//!
//! These lines are an interface (charts, `suggest` and `replay` read them back from `heroku logs`
//! or the history), so the field names are stable. A minute without any service time writes its
//! quantiles empty (`p50_ms=""`). Reading is strict: every number must be a plain decimal in range
//! and the counts must agree with each other (errors within requests, H codes and 5xx within
//! errors, ...), so a hostile or damaged line is garbage rather than a point off every axis.

use chrono::{DateTime, SecondsFormat, Timelike, Utc};

use super::minute::{max_quantile_ms, Minute, MAX_DYNOS};
use super::router::{parse_timestamp, MAX_MS};
use crate::event::Event;
use crate::logfmt::{quote, Line};

/// The `event=` value of these lines.
pub const EVENT: &str = crate::event::names::TRAFFIC;

/// Longest app or process name read back (Heroku app names have at most 30 characters).
const MAX_NAME_LEN: usize = 100;

/// Most requests a line may claim for one minute (16 million a second).
const MAX_REQUESTS: u64 = 1_000_000_000;

/// A minute as the one typed [`Event`] its line is.
pub fn traffic_event(m: &Minute) -> Event {
    Event::Traffic {
        app: m.app.clone(),
        process: m.process.clone(),
        minute: m.minute,
        requests: m.requests,
        p50_ms: m.p50_ms,
        p95_ms: m.p95_ms,
        p99_ms: m.p99_ms,
        errors: m.errors,
        h10: m.h10,
        h12: m.h12,
        h13: m.h13,
        busy: m.busy,
        dynos: m.dynos,
        s2xx: m.s2xx,
        s3xx: m.s3xx,
        s4xx: m.s4xx,
        s5xx: m.s5xx,
    }
}

/// The fields of a minute's `event=traffic` line, in their stable order, `event` first.
pub fn traffic_fields(m: &Minute) -> Vec<(&'static str, String)> {
    let mut fields = vec![("event", EVENT.to_owned())];
    fields.extend(traffic_event(m).pairs());
    fields
}

/// A whole line as the daemon prints it on stdout (`ts=... level=info event=traffic ...`).
pub fn traffic_line(m: &Minute, ts: DateTime<Utc>) -> String {
    let mut line = format!(
        "ts={} level=info",
        ts.to_rfc3339_opts(SecondsFormat::Millis, true)
    );
    for (key, value) in traffic_fields(m) {
        line.push(' ');
        line.push_str(key);
        line.push('=');
        line.push_str(&quote(&value));
    }
    line
}

/// Reads a minute back from an `event=traffic` line; `None` unless every field is there, in
/// range and consistent (see the module docs).
pub fn parse_traffic(line: &Line) -> Option<Minute> {
    if line.event() != Some(EVENT) {
        return None;
    }
    let app = name(line.get("app")?)?;
    let process = name(line.get("process")?)?;
    let minute = parse_timestamp(line.get("minute")?)?;
    if minute.second() != 0 || minute.nanosecond() != 0 {
        return None;
    }
    let count = |key: &str| number(line.get(key)?).filter(|&n| n <= MAX_REQUESTS);
    let requests = count("requests")?;
    let errors = count("errors")?;
    let (h10, h12, h13) = (count("h10")?, count("h12")?, count("h13")?);
    let (s2xx, s3xx, s4xx, s5xx) = (
        count("s2xx")?,
        count("s3xx")?,
        count("s4xx")?,
        count("s5xx")?,
    );
    let dynos = count("dynos")?;
    let consistent = errors <= requests
        && h10 + h12 + h13 <= errors
        && s5xx <= errors
        && s2xx + s3xx + s4xx + s5xx <= requests
        && dynos <= requests.min(MAX_DYNOS as u64);
    if !consistent {
        return None;
    }
    let (p50_ms, p95_ms, p99_ms) = (
        quantile(line.get("p50_ms")?)?,
        quantile(line.get("p95_ms")?)?,
        quantile(line.get("p99_ms")?)?,
    );
    let quantiles_ok = match (p50_ms, p95_ms, p99_ms) {
        (None, None, None) => true,
        (Some(p50), Some(p95), Some(p99)) => requests > 0 && p50 <= p95 && p95 <= p99,
        _ => false,
    };
    if !quantiles_ok {
        return None;
    }
    let busy = busy(line.get("busy")?, requests)?;
    Some(Minute {
        app: app.to_owned(),
        process: process.to_owned(),
        minute,
        requests,
        p50_ms,
        p95_ms,
        p99_ms,
        errors,
        h10,
        h12,
        h13,
        s2xx,
        s3xx,
        s4xx,
        s5xx,
        busy,
        dynos: dynos as u32,
    })
}

/// An app or process name: non-empty, short, printable, without spaces.
fn name(value: &str) -> Option<&str> {
    let ok = !value.is_empty()
        && value.len() <= MAX_NAME_LEN
        && value.chars().all(|c| !c.is_whitespace() && !c.is_control());
    ok.then_some(value)
}

/// Plain decimal digits (no sign, no exponent), at most 19 of them.
fn number(value: &str) -> Option<u64> {
    if value.is_empty() || value.len() > 19 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// A quantile: empty for none, else milliseconds a histogram can report.
fn quantile(value: &str) -> Option<Option<u32>> {
    if value.is_empty() {
        return Some(None);
    }
    let ms = number(value)?;
    (ms <= u64::from(max_quantile_ms())).then_some(Some(ms as u32))
}

/// `busy`: a finite, non-negative decimal no larger than every request taking [`MAX_MS`] would
/// make it, rounded to hundredths as [`Minute::busy`] is.
fn busy(value: &str, requests: u64) -> Option<f64> {
    let plain = !value.is_empty()
        && value.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && value.bytes().filter(|&b| b == b'.').count() <= 1;
    if !plain {
        return None;
    }
    let busy: f64 = value.parse().ok()?;
    let most = requests as f64 * f64::from(MAX_MS) / 60_000.0 + 0.005;
    (busy.is_finite() && busy <= most).then(|| (busy * 100.0).round() / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::minute::Accumulator;
    use crate::traffic::router::{At, RouterLine};
    use std::borrow::Cow;

    fn ts(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn sample() -> Minute {
        Minute {
            app: "shop".into(),
            process: "web".into(),
            minute: ts("2026-11-30T14:03:00Z"),
            requests: 600,
            p50_ms: Some(403),
            p95_ms: Some(1_000),
            p99_ms: Some(30_015),
            errors: 12,
            h10: 1,
            h12: 6,
            h13: 2,
            s2xx: 500,
            s3xx: 50,
            s4xx: 30,
            s5xx: 10,
            busy: 4.07,
            dynos: 2,
        }
    }

    #[test]
    fn fields_in_order() {
        let fields = traffic_fields(&sample());
        let text: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            text.join(" "),
            "event=traffic app=shop process=web minute=2026-11-30T14:03:00Z requests=600 \
             p50_ms=403 p95_ms=1000 p99_ms=30015 errors=12 h10=1 h12=6 h13=2 busy=4.07 dynos=2 \
             s2xx=500 s3xx=50 s4xx=30 s5xx=10"
        );
        let line = traffic_line(&sample(), ts("2026-11-30T14:04:05.002Z"));
        assert!(
            line.starts_with("ts=2026-11-30T14:04:05.002Z level=info event=traffic app=shop "),
            "{line}"
        );
        let whole = Minute {
            busy: 4.0,
            p50_ms: None,
            p95_ms: None,
            p99_ms: None,
            ..sample()
        };
        let line = traffic_line(&whole, ts("2026-11-30T14:04:05Z"));
        assert!(
            line.contains(r#" p50_ms="" p95_ms="" p99_ms="" "#),
            "{line}"
        );
        assert!(line.contains(" busy=4.00 "), "{line}");
    }

    #[test]
    fn round_trip() {
        for m in [
            sample(),
            Minute {
                p50_ms: None,
                p95_ms: None,
                p99_ms: None,
                busy: 0.0,
                ..sample()
            },
            Minute {
                app: "odd\"name\"=x\\".into(),
                busy: 1_234.56,
                ..sample()
            },
            Minute {
                app: "two words".into(),
                ..sample()
            },
        ] {
            let line = traffic_line(&m, ts("2026-11-30T14:04:05Z"));
            let parsed = parse_traffic(&Line::parse(&line).unwrap());
            if m.app.contains(' ') {
                assert_eq!(parsed, None, "names with spaces are refused: {line}");
            } else {
                assert_eq!(parsed, Some(m), "{line}");
            }
        }
    }

    #[test]
    fn router_lines_to_minute_to_line_and_back() {
        let mut rng = fastrand::Rng::with_seed(5);
        for n in [1, 2, 7, 100, 3_000] {
            let mut acc = Accumulator::new();
            for _ in 0..n {
                let status = [200, 200, 302, 404, 500, 503][rng.usize(0..6)];
                let error = status == 503 && rng.bool();
                acc.add(&RouterLine {
                    timestamp: ts("2026-11-30T14:03:10Z"),
                    at: if error { At::Error } else { At::Info },
                    code: error.then(|| ["H10", "H12", "H13", "H18"][rng.usize(0..4)]),
                    method: "GET",
                    path: Cow::Borrowed("/"),
                    host: "h",
                    dyno: ["web.1", "web.2", "web.3", ""][rng.usize(0..4)],
                    connect_ms: None,
                    service_ms: rng.bool().then(|| rng.u32(0..31_000)),
                    status: Some(status),
                    bytes: None,
                });
            }
            let m = acc.finish("shop", "web", ts("2026-11-30T14:03:00Z"));
            let line = traffic_line(&m, ts("2026-11-30T14:04:05Z"));
            assert_eq!(
                parse_traffic(&Line::parse(&line).unwrap()),
                Some(m),
                "{line}"
            );
        }
    }

    fn with(key: &str, value: &str) -> Option<Minute> {
        let mut fields = traffic_fields(&sample());
        let mut found = false;
        for (k, v) in &mut fields {
            if *k == key {
                *v = value.to_owned();
                found = true;
            }
        }
        assert!(found, "{key}");
        let text: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", quote(v)))
            .collect();
        parse_traffic(&Line::parse(&text.join(" ")).unwrap())
    }

    fn without(key: &str) -> Option<Minute> {
        let fields = traffic_fields(&sample());
        let text: Vec<String> = fields
            .iter()
            .filter(|(k, _)| *k != key)
            .map(|(k, v)| format!("{k}={}", quote(v)))
            .collect();
        parse_traffic(&Line::parse(&text.join(" ")).unwrap())
    }

    #[test]
    fn every_field_is_required() {
        for (key, _) in traffic_fields(&sample()) {
            assert_eq!(without(key), None, "{key}");
        }
    }

    #[test]
    fn hostile_values_are_garbage() {
        for (key, value) in [
            ("event", "probe"),
            ("app", ""),
            ("app", "two words"),
            ("app", "tab\there"),
            ("app", "bell\u{7}"),
            ("process", ""),
            ("minute", "2026-11-30T14:03:01Z"),
            ("minute", "2026-11-30T14:03:00.5Z"),
            ("minute", "yesterday"),
            ("requests", "-1"),
            ("requests", "+600"),
            ("requests", "6e2"),
            ("requests", "1000000001"),
            ("requests", "99999999999999999999"),
            ("requests", "11"),
            ("requests", ""),
            ("errors", "601"),
            ("errors", "8"),
            ("h12", "10"),
            ("s5xx", "13"),
            ("s2xx", "511"),
            ("dynos", "513"),
            ("p50_ms", "1001"),
            ("p95_ms", "30016"),
            ("p95_ms", "402"),
            ("p99_ms", "999"),
            ("p99_ms", "87031809"),
            ("p50_ms", ""),
            ("p99_ms", ""),
            ("p50_ms", "1.5"),
            ("busy", "NaN"),
            ("busy", "inf"),
            ("busy", "-1"),
            ("busy", "1e3"),
            ("busy", "1.2.3"),
            ("busy", ""),
            ("busy", "864000.01"),
        ] {
            assert_eq!(with(key, value), None, "{key}={value}");
        }
    }

    #[test]
    fn limits_are_inclusive() {
        assert_eq!(with("busy", "864000.00").map(|m| m.busy), Some(864_000.0));
        assert_eq!(with("busy", "4.071").map(|m| m.busy), Some(4.07));
        assert_eq!(with("busy", "4.079").map(|m| m.busy), Some(4.08));
        assert_eq!(with("busy", "4").map(|m| m.busy), Some(4.0));
        assert_eq!(with("busy", ".5").map(|m| m.busy), Some(0.5));
        assert_eq!(with("errors", "600").map(|m| m.errors), Some(600));
        assert!(with("p99_ms", "87031808").is_some());
        assert!(with("minute", "2026-11-30T15:03:00+01:00").is_some());
        assert!(with("app", &"a".repeat(MAX_NAME_LEN)).is_some());
        assert_eq!(with("app", &"a".repeat(MAX_NAME_LEN + 1)), None);
        assert_eq!(with("dynos", "600"), None, "more than MAX_DYNOS");
        let few = Minute {
            requests: 3,
            errors: 0,
            h10: 0,
            h12: 0,
            h13: 0,
            s2xx: 3,
            s3xx: 0,
            s4xx: 0,
            s5xx: 0,
            busy: 0.01,
            dynos: 3,
            ..sample()
        };
        let line = traffic_line(&few, ts("2026-11-30T14:04:05Z"));
        assert_eq!(
            parse_traffic(&Line::parse(&line).unwrap()),
            Some(few.clone())
        );
        let more = line.replace("dynos=3", "dynos=4");
        assert_eq!(parse_traffic(&Line::parse(&more).unwrap()), None);
        let zero = Minute {
            requests: 0,
            dynos: 0,
            s2xx: 0,
            busy: 0.0,
            p50_ms: None,
            p95_ms: None,
            p99_ms: None,
            ..few
        };
        let line = traffic_line(&zero, ts("2026-11-30T14:04:05Z"));
        assert_eq!(parse_traffic(&Line::parse(&line).unwrap()), Some(zero));
        let with_p = line.replace(
            r#"p50_ms="" p95_ms="" p99_ms="""#,
            "p50_ms=1 p95_ms=1 p99_ms=1",
        );
        assert_eq!(parse_traffic(&Line::parse(&with_p).unwrap()), None);
        let busy = line.replace("busy=0.00", "busy=0.01");
        assert_eq!(parse_traffic(&Line::parse(&busy).unwrap()), None);
    }
}
