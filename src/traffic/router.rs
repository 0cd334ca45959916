//! Heroku router lines: the one parser for what the router logs about each request.
//!
//! ```text
//! 2026-11-30T14:03:00.123456+00:00 heroku[router]: at=info method=GET path="/" host=shop.herokuapp.com
//!     request_id=8601b555-... fwd="203.0.113.7" dyno=web.2 connect=0ms service=87ms status=200 bytes=512 protocol=https
//! ```
//!
//! The same message arrives three ways: after a `heroku logs` prefix (a log session's stream, a
//! saved file), inside a Logplex drain frame (see [`super::logplex`]), and nowhere else. Both go
//! through [`parse_message`], so the two shapes give identical records.
//!
//! This module is **pure** (no I/O, no clock) and parses without copying: the record borrows from
//! the line, except a quoted path that holds `\"` escapes. It is a byte scanner, not a regex, because
//! it sits on the hot path of a daemon that reads every request of every app it scales.
//!
//! Input is untrusted. A line that is not `key=value` pairs, has an unterminated quote, or lacks
//! the keys every router line carries (`at`, `method`, `path`, `status`: a line cut short loses
//! its tail) is garbage. A known key with an unreadable or absurd value (`status=9999`,
//! `service=99999999999999ms`, a dyno name of 1000 bytes, a host of 60 KB) keeps the line and
//! drops that field, so one bad number can never become an infinite axis. Unknown keys (Heroku's newer router adds
//! some) are ignored.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

/// Largest `connect`/`service` time taken at face value: one day. Heroku ends a request that sends
/// nothing for 30 s (H12), but a streamed response may run for hours; a day is past any real one.
pub const MAX_MS: u32 = 86_400_000;

/// Longest dyno name accepted (`web.12`, `worker.3`); a longer one is dropped.
const MAX_DYNO_LEN: usize = 64;

/// Longest host accepted: a DNS name (253 bytes) and a port; a longer one is dropped (the line
/// counts as one without a host), so no reader keeps kilobytes per host name.
pub const MAX_HOST_LEN: usize = 253 + 6;

/// Longest method accepted; a longer one makes the line garbage.
const MAX_METHOD_LEN: usize = 32;

/// The router's `at=`: how it classifies its own line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// A request the router delivered (whatever the app answered).
    Info,
    /// A client-side problem the router noted (H28 "Client Connection Idle", status 499).
    Warning,
    /// A request the router failed (H10, H12, H13, ...): always an error.
    Error,
}

/// One request as the router logged it. Absent or unreadable values are `None` (or `""`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterLine<'a> {
    /// When the router logged the request (its end), UTC.
    pub timestamp: DateTime<Utc>,
    pub at: At,
    /// Heroku's error code (`H12`), on `at=error` and `at=warning` lines.
    pub code: Option<&'a str>,
    pub method: &'a str,
    /// Path and query string, unescaped.
    pub path: Cow<'a, str>,
    /// The request's Host header; `""` when absent.
    pub host: &'a str,
    /// The dyno that served the request (`web.2`); `""` when the router names none (H10, H13
    /// before a dyno was picked) or the name is unreadable.
    pub dyno: &'a str,
    pub connect_ms: Option<u32>,
    pub service_ms: Option<u32>,
    /// HTTP status, 100-599.
    pub status: Option<u16>,
    pub bytes: Option<u64>,
}

impl<'a> RouterLine<'a> {
    /// The process type that served the request: `web` for `web.2`. A line without a dyno counts
    /// as `web`, the only process type Heroku's router sends requests to.
    ///
    /// Fir names its dynos after Kubernetes pods, `TYPE-HASH-SUFFIX` (`web-6f9d8c7b5-x2k4q`):
    /// the type is what comes before the last two parts.
    pub fn process(&self) -> &'a str {
        match self.dyno.split_once('.') {
            Some((process, _)) if !process.is_empty() => process,
            _ if self.dyno.is_empty() => "web",
            _ => fir_process(self.dyno).unwrap_or(self.dyno),
        }
    }
}

/// The process type of a Fir dyno name (`web-6f9d8c7b5-x2k4q` → `web`): a pod name's
/// ReplicaSet hash (1 to 10 lowercase letters or digits) and its 5-character suffix after the
/// type. `None` for any other shape.
pub fn fir_process(dyno: &str) -> Option<&str> {
    let mut parts = dyno.rsplitn(3, '-');
    let suffix = parts.next()?;
    let hash = parts.next()?;
    let process = parts.next()?;
    let pod_part = |s: &str, len: std::ops::RangeInclusive<usize>| {
        len.contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    (pod_part(suffix, 5..=5) && pod_part(hash, 1..=10) && !process.is_empty()).then_some(process)
}

/// Whether a line's `source[process]` is Heroku's router: `heroku[router]` on Cedar; on Fir,
/// where Heroku's own components are named with a `heroku-` prefix, `heroku-router[…]` or
/// `heroku[heroku-router]`.
pub fn is_router(source: &str, process: &str) -> bool {
    source == "heroku-router"
        || (source == "heroku" && (process == "router" || process == "heroku-router"))
}

/// What a `heroku logs` line turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed<'a> {
    Router(RouterLine<'a>),
    /// A well-formed line from another source (`app[web.1]`, `heroku[web.1]`, ...).
    NotRouter,
    /// Neither: no `heroku logs` prefix, or a `heroku[router]` line that does not parse.
    Garbage,
}

/// Parses one line as `heroku logs` prints it (`TIMESTAMP heroku[router]: MESSAGE`).
pub fn parse_line(line: &str) -> Parsed<'_> {
    let Some(prefix) = split_prefix(line) else {
        return Parsed::Garbage;
    };
    if !is_router(prefix.source, prefix.process) {
        return Parsed::NotRouter;
    }
    match parse_message(prefix.timestamp, prefix.message) {
        Some(record) => Parsed::Router(record),
        None => Parsed::Garbage,
    }
}

/// The parts of a `heroku logs` line: `2026-11-30T14:03:00.123456+00:00 app[web.1]: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix<'a> {
    pub timestamp: DateTime<Utc>,
    /// `heroku` or `app` (add-ons use their own names).
    pub source: &'a str,
    /// `router`, `web.1`, `clock.1`, ...
    pub process: &'a str,
    pub message: &'a str,
}

/// Splits a `heroku logs` line into its prefix and message; `None` when it has no such prefix.
pub fn split_prefix(line: &str) -> Option<Prefix<'_>> {
    let line = line.trim_end_matches(['\r', '\n']);
    let (ts, rest) = line.split_once(' ')?;
    let timestamp = parse_timestamp(ts)?;
    let (name, message) = match rest.split_once(' ') {
        Some((name, message)) => (name, message),
        None => (rest, ""),
    };
    let (source, process) = name.strip_suffix("]:")?.split_once('[')?;
    let valid_source = !source.is_empty()
        && source
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid_source || process.is_empty() || process.contains(['[', ']']) {
        return None;
    }
    Some(Prefix {
        timestamp,
        source,
        process,
        message,
    })
}

/// Parses a router message (what follows `heroku[router]: `), logged at `timestamp`.
/// `None` when it is not a router message (see the module docs for what is garbage).
pub fn parse_message(timestamp: DateTime<Utc>, message: &str) -> Option<RouterLine<'_>> {
    // Strict RFC 5424 senders write `-` (no structured data) before the message.
    let message = message.strip_prefix("- ").unwrap_or(message);
    let mut fields = Fields::default();
    for pair in Pairs::new(message) {
        let (key, value) = pair?;
        fields.set(key, value);
    }
    let at = match fields.at?.raw {
        "info" => At::Info,
        "warning" => At::Warning,
        "error" => At::Error,
        _ => return None,
    };
    let method = fields.method?.raw;
    let valid_method = !method.is_empty()
        && method.len() <= MAX_METHOD_LEN
        && method.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-');
    if !valid_method {
        return None;
    }
    let path = fields.path?.unescaped();
    let status = parse_status(fields.status?.raw);
    Some(RouterLine {
        timestamp,
        at,
        code: fields.code.map(|v| v.raw).filter(|c| is_code(c)),
        method,
        path,
        host: fields
            .host
            .map(|v| v.raw)
            .filter(|h| h.len() <= MAX_HOST_LEN)
            .unwrap_or(""),
        dyno: fields
            .dyno
            .map(|v| v.raw)
            .filter(|d| is_dyno(d))
            .unwrap_or(""),
        connect_ms: fields.connect.and_then(|v| parse_ms(v.raw)),
        service_ms: fields.service.and_then(|v| parse_ms(v.raw)),
        status,
        bytes: fields.bytes.and_then(|v| parse_u64(v.raw)),
    })
}

/// The known keys of a router message, first occurrence wins (as in [`crate::logfmt::Line`]).
#[derive(Default)]
struct Fields<'a> {
    at: Option<Value<'a>>,
    code: Option<Value<'a>>,
    method: Option<Value<'a>>,
    path: Option<Value<'a>>,
    host: Option<Value<'a>>,
    dyno: Option<Value<'a>>,
    connect: Option<Value<'a>>,
    service: Option<Value<'a>>,
    status: Option<Value<'a>>,
    bytes: Option<Value<'a>>,
}

impl<'a> Fields<'a> {
    fn set(&mut self, key: &str, value: Value<'a>) {
        let slot = match key {
            "at" => &mut self.at,
            "code" => &mut self.code,
            "method" => &mut self.method,
            "path" => &mut self.path,
            "host" => &mut self.host,
            "dyno" => &mut self.dyno,
            "connect" => &mut self.connect,
            "service" => &mut self.service,
            "status" => &mut self.status,
            "bytes" => &mut self.bytes,
            _ => return,
        };
        slot.get_or_insert(value);
    }
}

/// A value as written: bare, or the inside of a quoted one (escapes still in place).
#[derive(Clone, Copy)]
struct Value<'a> {
    raw: &'a str,
    escaped: bool,
}

impl<'a> Value<'a> {
    /// The value with `\"` and `\\` unescaped; other backslashes are kept as written.
    fn unescaped(self) -> Cow<'a, str> {
        if !self.escaped {
            return Cow::Borrowed(self.raw);
        }
        let mut out = String::with_capacity(self.raw.len());
        let mut chars = self.raw.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some(next @ ('"' | '\\')) => out.push(next),
                    Some(other) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => out.push('\\'),
                }
            } else {
                out.push(c);
            }
        }
        Cow::Owned(out)
    }
}

/// Iterates over the `key=value` pairs of a message; an item is `None` when the text there is
/// not a pair (a bare word, a stray quote, an unterminated quoted value).
struct Pairs<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Pairs<'a> {
    fn new(text: &'a str) -> Self {
        Pairs { text, at: 0 }
    }

    fn pair(&mut self) -> Option<(&'a str, Value<'a>)> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        let eq = start + memchr::memchr3(b'=', b' ', b'"', &bytes[start..])?;
        if eq == start || bytes[eq] != b'=' {
            return None;
        }
        let key = &self.text[start..eq];
        let mut i = eq + 1;
        let value = if bytes.get(i) == Some(&b'"') {
            i += 1;
            let open = i;
            let mut escaped = false;
            loop {
                // `get` fails when an escape was the last byte (no character after it).
                i += memchr::memchr2(b'"', b'\\', bytes.get(i..)?)?;
                if bytes[i] == b'"' {
                    break;
                }
                escaped = true;
                // Skip the backslash and the character it escapes.
                i += 2;
            }
            let raw = &self.text[open..i];
            i += 1;
            Value { raw, escaped }
        } else {
            let end = i + memchr::memchr2(b' ', b'"', &bytes[i..]).unwrap_or(bytes.len() - i);
            if bytes.get(end) == Some(&b'"') {
                return None;
            }
            let raw = &self.text[i..end];
            i = end;
            Value {
                raw,
                escaped: false,
            }
        };
        if i < bytes.len() && !is_space(bytes[i]) {
            return None;
        }
        self.at = i;
        Some((key, value))
    }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Option<(&'a str, Value<'a>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.text.as_bytes();
        while self.at < bytes.len() && is_space(bytes[self.at]) {
            self.at += 1;
        }
        if self.at == bytes.len() {
            return None;
        }
        let pair = self.pair();
        if pair.is_none() {
            // Stop after the first bad item: the caller rejects the whole message.
            self.at = bytes.len();
        }
        Some(pair)
    }
}

/// Heroku separates pairs with single spaces; runs of them are tolerated, tabs are not.
fn is_space(b: u8) -> bool {
    b == b' '
}

/// A Heroku error code: a capital letter and two digits (`H12`, `R14`).
fn is_code(code: &str) -> bool {
    matches!(code.as_bytes(), [letter, d1, d2]
        if letter.is_ascii_uppercase() && d1.is_ascii_digit() && d2.is_ascii_digit())
}

fn is_dyno(dyno: &str) -> bool {
    dyno.len() <= MAX_DYNO_LEN
        && dyno
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// `87ms`, `87` or `87.4ms` (rounded) → 87; `None` when empty, unreadable or over [`MAX_MS`].
fn parse_ms(raw: &str) -> Option<u32> {
    let number = raw.strip_suffix("ms").unwrap_or(raw);
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (number, None),
    };
    let mut ms = parse_u64(whole)?;
    if let Some(fraction) = fraction {
        let first = *fraction.as_bytes().first()?;
        if !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if first >= b'5' {
            ms += 1;
        }
    }
    u32::try_from(ms).ok().filter(|&ms| ms <= MAX_MS)
}

/// A status from 100 to 599, written as three digits.
fn parse_status(raw: &str) -> Option<u16> {
    if raw.len() != 3 {
        return None;
    }
    let status = u16::try_from(parse_u64(raw)?).ok()?;
    (100..=599).contains(&status).then_some(status)
}

/// Plain decimal digits, at most 19 of them (so the value fits a `u64`).
fn parse_u64(raw: &str) -> Option<u64> {
    if raw.is_empty() || raw.len() > 19 {
        return None;
    }
    raw.bytes().try_fold(0u64, |n, b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

/// Parses an RFC 3339 timestamp as Heroku writes them (`2026-11-30T14:03:00.123456+00:00`, any
/// offset or `Z`, 0-9 fraction digits) without allocating; `None` for anything else, including
/// impossible dates (a 30 February) and leap seconds.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let s = text.as_bytes();
    if s.len() < 20
        || s[4] != b'-'
        || s[7] != b'-'
        || !matches!(s[10], b'T' | b't')
        || s[13] != b':'
        || s[16] != b':'
    {
        return None;
    }
    let year = digits(&s[0..4])?;
    let month = digits(&s[5..7])?;
    let day = digits(&s[8..10])?;
    let hour = digits(&s[11..13])?;
    let minute = digits(&s[14..16])?;
    let second = digits(&s[17..19])?;
    let mut i = 19;
    let mut nanos = 0u32;
    if s[i] == b'.' {
        i += 1;
        let start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(s[i] - b'0');
            }
            i += 1;
        }
        let written = i - start;
        if written == 0 {
            return None;
        }
        for _ in written..9 {
            nanos *= 10;
        }
    }
    let offset_secs = match &s[i..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = digits(&[*h1, *h2])?;
            let minutes = digits(&[*m1, *m2])?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let secs = i64::from(hours * 3600 + minutes * 60);
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return None,
    };
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_secs;
    DateTime::from_timestamp(secs, nanos)
}

fn digits(s: &[u8]) -> Option<u32> {
    s.iter().try_fold(0u32, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn router(line: &str) -> RouterLine<'_> {
        match parse_line(line) {
            Parsed::Router(record) => record,
            other => panic!("not a router record: {other:?} for {line:?}"),
        }
    }

    const INFO: &str = "2026-11-30T14:03:00.123456+00:00 heroku[router]: at=info method=GET path=\"/\" \
        host=shop.herokuapp.com request_id=8601b555-6a54-4f0b-a0ba-fd8ae1e5cc72 fwd=\"203.0.113.7\" \
        dyno=web.2 connect=0ms service=87ms status=200 bytes=512 protocol=https";

    #[test]
    fn info_line() {
        let r = router(INFO);
        assert_eq!(
            r,
            RouterLine {
                timestamp: ts("2026-11-30T14:03:00.123456Z"),
                at: At::Info,
                code: None,
                method: "GET",
                path: Cow::Borrowed("/"),
                host: "shop.herokuapp.com",
                dyno: "web.2",
                connect_ms: Some(0),
                service_ms: Some(87),
                status: Some(200),
                bytes: Some(512),
            }
        );
        assert_eq!(r.process(), "web");
        assert!(
            matches!(r.path, Cow::Borrowed(_)),
            "no copy without escapes"
        );
    }

    #[test]
    fn h12_line() {
        let r = router(
            "2026-11-30T14:03:31.000001+00:00 heroku[router]: at=error code=H12 desc=\"Request timeout\" \
             method=GET path=\"/slow\" host=shop.herokuapp.com request_id=a fwd=\"203.0.113.7\" dyno=web.1 \
             connect=1ms service=30000ms status=503 bytes=0 protocol=https",
        );
        assert_eq!(r.at, At::Error);
        assert_eq!(r.code, Some("H12"));
        assert_eq!(r.path, "/slow");
        assert_eq!(r.dyno, "web.1");
        assert_eq!(r.connect_ms, Some(1));
        assert_eq!(r.service_ms, Some(30_000));
        assert_eq!(r.status, Some(503));
        assert_eq!(r.bytes, Some(0));
    }

    #[test]
    fn h10_and_h13_with_empty_dyno_and_times() {
        let r = router(
            "2010-10-06T21:51:12-07:00 heroku[router]: at=error code=H10 desc=\"App crashed\" method=GET \
             path=/ host=myapp.herokuapp.com fwd=17.17.17.17 dyno= connect= service= status=503 bytes=",
        );
        assert_eq!(r.timestamp, ts("2010-10-07T04:51:12Z"));
        assert_eq!(r.code, Some("H10"));
        assert_eq!(r.dyno, "");
        assert_eq!(r.process(), "web");
        assert_eq!((r.connect_ms, r.service_ms, r.bytes), (None, None, None));
        assert_eq!(r.status, Some(503));
        let r = router(
            "2026-11-30T14:03:00Z heroku[router]: at=error code=H13 desc=\"Connection closed without response\" \
             method=POST path=\"/upload\" host=shop.herokuapp.com dyno= connect= service= status=503 bytes= \
             protocol=https",
        );
        assert_eq!((r.code, r.dyno, r.method), (Some("H13"), "", "POST"));
    }

    #[test]
    fn warning_line() {
        let r = router(
            "2010-10-06T21:51:37-07:00 heroku[router]: at=warning code=H28 desc=\"Client Connection Idle\" \
             method=GET path=\"/\" host=myapp.herokuapp.com fwd=17.17.17.17 dyno=web.1 connect=1ms \
             service=55449ms status=499 bytes=18",
        );
        assert_eq!(
            (r.at, r.code, r.status),
            (At::Warning, Some("H28"), Some(499))
        );
    }

    #[test]
    fn quoted_values_with_spaces_and_escapes() {
        let r = router(
            r#"2026-11-30T14:03:00Z heroku[router]: at=info method=GET path="/search?q=\"a b\"&x=\\" host=h desc="two words" dyno=web.1 service=5ms status=200"#,
        );
        assert_eq!(r.path, r#"/search?q="a b"&x=\"#);
        assert!(matches!(r.path, Cow::Owned(_)));
        assert_eq!(r.service_ms, Some(5));
        // An unknown escape keeps its backslash.
        let r = router(
            r#"2026-11-30T14:03:00Z heroku[router]: at=info method=GET path="/a\nb" status=200"#,
        );
        assert_eq!(r.path, r"/a\nb");
    }

    #[test]
    fn ipv6_and_multi_hop_fwd() {
        for fwd in [
            r#"fwd="2001:db8::1""#,
            r#"fwd="203.0.113.7, 198.51.100.2, 2001:db8::7""#,
            "fwd=2001:db8:0:0:0:0:2:1",
            r#"fwd="""#,
        ] {
            let line = format!(
                "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=/ host=h {fwd} dyno=web.3 connect=0ms service=12ms status=302 bytes=0"
            );
            let r = router(&line);
            assert_eq!(
                (r.dyno, r.service_ms, r.status),
                ("web.3", Some(12), Some(302))
            );
        }
    }

    #[test]
    fn missing_and_extra_fields() {
        // No connect=, no service=, no dyno=, no host=, and fields of a newer router.
        let r = router(
            "2026-11-30T14:03:00Z heroku[router]: at=info method=HEAD path=/health tls_version=tls1.3 \
             status=204 request_id=x new_field=\"with space\" protocol=http2",
        );
        assert_eq!(r.method, "HEAD");
        assert_eq!((r.connect_ms, r.service_ms, r.bytes), (None, None, None));
        assert_eq!((r.host, r.dyno, r.process()), ("", "", "web"));
        assert_eq!(r.status, Some(204));
    }

    #[test]
    fn first_of_duplicate_keys_wins() {
        let r = router(
            "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=/ service=5ms service=7ms status=200 status=500",
        );
        assert_eq!((r.service_ms, r.status), (Some(5), Some(200)));
    }

    #[test]
    fn a_host_longer_than_a_dns_name_is_dropped() {
        for (len, kept) in [(MAX_HOST_LEN, true), (MAX_HOST_LEN + 1, false)] {
            let host = "h".repeat(len);
            let line = format!(
                "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=/ host={host} status=200"
            );
            let r = router(&line);
            assert_eq!(r.host, if kept { host.as_str() } else { "" }, "{len}");
            assert_eq!(r.status, Some(200));
        }
    }

    #[test]
    fn absurd_numbers_become_absent() {
        let r = router(
            "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=/ dyno=web.1 \
             connect=99999999999999999999999ms service=99999999999999ms status=9999 bytes=99999999999999999999",
        );
        assert_eq!(
            (r.connect_ms, r.service_ms, r.status, r.bytes),
            (None, None, None, None)
        );
        for (service, expected) in [
            ("86400000ms", Some(MAX_MS)),
            ("86400001ms", None),
            ("87.5ms", Some(88)),
            ("87.4ms", Some(87)),
            ("87.ms", None),
            ("87.4xms", None),
            (".5ms", None),
            ("87", Some(87)),
            ("87s", None),
            ("-5ms", None),
            ("+5ms", None),
            ("NaNms", None),
            ("infms", None),
            ("ms", None),
            ("", None),
        ] {
            let line = format!(
                "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=/ service={service} status=200"
            );
            assert_eq!(router(&line).service_ms, expected, "{service}");
        }
        for (status, expected) in [
            ("100", Some(100)),
            ("599", Some(599)),
            ("099", None),
            ("600", None),
            ("20", None),
            ("2000", None),
            ("", None),
            ("2x0", None),
        ] {
            let line = format!(
                "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=/ status={status}"
            );
            assert_eq!(router(&line).status, expected, "{status}");
        }
        let r = router(
            "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=/ status=200 bytes=18446744073709551615",
        );
        assert_eq!(
            r.bytes, None,
            "20 digits are refused, even when they would fit"
        );
        let r = router(
            "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=/ status=200 bytes=9999999999999999999",
        );
        assert_eq!(r.bytes, Some(9_999_999_999_999_999_999));
    }

    #[test]
    fn odd_dyno_and_code_values_are_dropped() {
        let long = "w".repeat(MAX_DYNO_LEN + 1);
        let line = format!(
            "2026-11-30T14:03:00Z heroku[router]: at=error code=H1234 method=GET path=/ dyno={long} status=503"
        );
        let r = router(&line);
        assert_eq!((r.dyno, r.code), ("", None));
        let ok = "w".repeat(MAX_DYNO_LEN);
        let line = format!(
            "2026-11-30T14:03:00Z heroku[router]: at=error code=h12 method=GET path=/ dyno={ok} status=503"
        );
        let r = router(&line);
        assert_eq!((r.dyno, r.code), (ok.as_str(), None));
        for (dyno, process) in [
            ("web.2", "web"),
            ("worker_2.10", "worker_2"),
            ("web", "web"),
            (".1", ".1"),
            ("web/1", ""),
        ] {
            let line = format!(
                "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=/ dyno={dyno} status=200"
            );
            let r = router(&line);
            let expected = if process.is_empty() { "web" } else { process };
            assert_eq!(r.process(), expected, "{dyno}");
        }
        for code in ["H1", "HH2", "12H", "H1x"] {
            let line = format!(
                "2026-11-30T14:03:00Z heroku[router]: at=error code={code} method=GET path=/ status=503"
            );
            assert_eq!(router(&line).code, None, "{code}");
        }
    }

    #[test]
    fn methods() {
        for (method, ok) in [
            ("GET", true),
            ("M-SEARCH", true),
            ("get", true),
            ("", false),
            ("G3T", false),
            (&"A".repeat(MAX_METHOD_LEN), true),
            (&"A".repeat(MAX_METHOD_LEN + 1), false),
        ] {
            let line = format!(
                "2026-11-30T14:03:00Z heroku[router]: at=info method={method} path=/ status=200"
            );
            assert_eq!(
                matches!(parse_line(&line), Parsed::Router(_)),
                ok,
                "{method}"
            );
        }
    }

    #[test]
    fn not_router_lines() {
        for line in [
            "2026-11-30T14:03:00.1+00:00 app[web.1]: at=info method=GET path=/ status=200",
            "2026-11-30T14:03:00Z heroku[web.1]: State changed from starting to up",
            "2026-11-30T14:03:00Z app[clock.1]: ts=2026-11-30T14:03:00.000Z level=info event=probe",
            "2026-11-30T14:03:00Z heroku[router]x: at=info method=GET path=/ status=200",
            "2026-11-30T14:03:00Z heroku-redis[router]: at=info method=GET path=/ status=200",
            "2026-11-30T14:03:00Z heroku[routers]: at=info method=GET path=/ status=200",
        ] {
            let parsed = parse_line(line);
            let expected = if line.contains("]x:") {
                Parsed::Garbage
            } else {
                Parsed::NotRouter
            };
            assert_eq!(parsed, expected, "{line}");
        }
    }

    #[test]
    fn garbage_and_truncated_lines() {
        let full = INFO;
        // Every cut of the line either still parses (a cut inside the trailing optional fields)
        // or is garbage; none panics.
        for cut in 0..full.len() {
            let part = &full[..cut];
            match parse_line(part) {
                Parsed::Router(r) => {
                    assert!(part.contains(" status="), "{part}");
                    assert_eq!(r.method, "GET");
                }
                Parsed::Garbage => {}
                Parsed::NotRouter => panic!("{part}"),
            }
        }
        for line in [
            "",
            "garbage",
            "2026-11-30T14:03:00Z",
            "2026-11-30T14:03:00Z heroku[router]:",
            "2026-11-30T14:03:00Z heroku[router]: ",
            "2026-11-30T14:03:00Z heroku[router]: hello world",
            "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=\"/ status=200",
            "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=\"/\"x status=200",
            "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=\"/\"x=1 status=200",
            "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=/\" status=200",
            "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=\"/\\",
            "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=\"/\\\" status=200",
            "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=/ status=200 trailing",
            "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=/ =200 status=200",
            "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=/ st\"atus=200",
            "2026-11-30T14:03:00Z heroku[router]: at=debug method=GET path=/ status=200",
            "2026-11-30T14:03:00Z heroku[router]: method=GET path=/ status=200",
            "2026-11-30T14:03:00Z heroku[router]: at=info path=/ status=200",
            "2026-11-30T14:03:00Z heroku[router]: at=info method=GET status=200",
            "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=/",
            "2026-13-30T14:03:00Z heroku[router]: at=info method=GET path=/ status=200",
            "2026-11-30T14:03:00 heroku[router]: at=info method=GET path=/ status=200",
        ] {
            assert_eq!(parse_line(line), Parsed::Garbage, "{line:?}");
        }
    }

    #[test]
    fn message_with_nil_structured_data() {
        let t = ts("2026-11-30T14:03:00Z");
        let r = parse_message(t, "- at=info method=GET path=/ status=200").unwrap();
        assert_eq!(r.status, Some(200));
        let r = parse_message(t, "  at=info method=GET  path=/   status=200  ").unwrap();
        assert_eq!((r.method, r.status), ("GET", Some(200)));
        assert_eq!(
            parse_message(t, "at=info\tmethod=GET path=/ status=200"),
            None
        );
    }

    #[test]
    fn non_ascii_does_not_split_characters() {
        let r = router(
            "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=\"/caf\u{e9} \u{65e5}\u{672c}\" host=\u{e9}.example status=200",
        );
        assert_eq!(r.path, "/caf\u{e9} \u{65e5}\u{672c}");
        assert_eq!(r.host, "\u{e9}.example");
    }

    #[test]
    fn prefix() {
        let p = split_prefix(
            "2026-11-30T02:48:28.123456+00:00 app[clock.1]: ts=x level=info event=y\r\n",
        )
        .unwrap();
        assert_eq!(p.timestamp, ts("2026-11-30T02:48:28.123456Z"));
        assert_eq!((p.source, p.process), ("app", "clock.1"));
        assert_eq!(p.message, "ts=x level=info event=y");
        let p = split_prefix("2026-11-30T02:48:28Z heroku[router]:").unwrap();
        assert_eq!(p.message, "");
        for bad in [
            "2026-11-30T02:48:28Z app[clock.1] x",
            "2026-11-30T02:48:28Z [clock.1]: x",
            "2026-11-30T02:48:28Z app[]: x",
            "2026-11-30T02:48:28Z app[a]b]: x",
            "2026-11-30T02:48:28Z a.p[web.1]: x",
            "2026-11-30T02:48:28Z",
            "yesterday app[web.1]: x",
        ] {
            assert_eq!(split_prefix(bad), None, "{bad}");
        }
        let p = split_prefix("2026-11-30T02:48:28Z heroku-postgres_x[postgres.1]: m").unwrap();
        assert_eq!(p.source, "heroku-postgres_x");
    }

    #[test]
    fn timestamps_agree_with_chrono() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..20_000 {
            let secs = rng.i64(-62_104_060_800..253_370_764_800);
            let nanos = rng.u32(0..1_000_000_000);
            let offset = rng.i32(-23 * 60..=23 * 60) * 60;
            let zone = chrono::FixedOffset::east_opt(offset).unwrap();
            let t = DateTime::from_timestamp(secs, nanos)
                .unwrap()
                .with_timezone(&zone);
            for format in [
                chrono::SecondsFormat::Secs,
                chrono::SecondsFormat::Millis,
                chrono::SecondsFormat::Micros,
                chrono::SecondsFormat::Nanos,
            ] {
                let text = t.to_rfc3339_opts(format, rng.bool());
                let expected = DateTime::parse_from_rfc3339(&text)
                    .unwrap()
                    .with_timezone(&Utc);
                assert_eq!(parse_timestamp(&text), Some(expected), "{text}");
            }
        }
    }

    #[test]
    fn timestamp_edge_cases() {
        let cases = [
            ("2024-02-29T00:00:00Z", true),
            ("2023-02-29T00:00:00Z", false),
            ("2000-02-29T00:00:00Z", true),
            ("1900-02-29T00:00:00Z", false),
            ("2026-04-31T00:00:00Z", false),
            ("2026-04-30T00:00:00Z", true),
            ("2026-12-31T23:59:59Z", true),
            ("2026-12-31T23:59:60Z", false),
            ("2026-12-31T24:00:00Z", false),
            ("2026-12-31T23:60:00Z", false),
            ("2026-00-10T00:00:00Z", false),
            ("2026-01-00T00:00:00Z", false),
            ("2026-01-32T00:00:00Z", false),
            ("2026-01-01t00:00:00z", true),
            ("2026-01-01 00:00:00Z", false),
            ("2026-01-01T00:00:00.Z", false),
            ("2026-01-01T00:00:00.1234567891234Z", true),
            ("2026-01-01T00:00:00+24:00", false),
            ("2026-01-01T00:00:00+23:60", false),
            ("2026-01-01T00:00:00+2300", false),
            ("2026-01-01T00:00:00+23:00x", false),
            ("2026-01-01T00:00:00", false),
            ("2026-01-01T00:00:00ZZ", false),
            ("2026/01/01T00:00:00Z", false),
            ("2026/01-01T00:00:00Z", false),
            ("2026-01/01T00:00:00Z", false),
            ("2026-01-01T00:00:00.123", false),
            ("2026-01-01T00-00:00Z", false),
            ("2026-01-01T00:00-00Z", false),
            ("2026-01-01X00:00:00Z", false),
            ("+026-01-01T00:00:00Z", false),
            ("2026-01-01T00:00:00+0a:00", false),
        ];
        for (text, ok) in cases {
            assert_eq!(parse_timestamp(text).is_some(), ok, "{text}");
        }
        assert_eq!(
            parse_timestamp("2026-01-01T00:00:00.1234567891234Z"),
            Some(ts("2026-01-01T00:00:00.123456789Z"))
        );
        assert_eq!(
            parse_timestamp("2026-01-01T00:00:00.5-01:30"),
            Some(ts("2026-01-01T01:30:00.5Z"))
        );
    }

    #[test]
    fn fir_router_lines_and_dyno_names_are_read() {
        let message = "at=info method=GET path=/ host=shop.example.com dyno=web-6f9d8c7b5-x2k4q connect=0ms service=12ms status=200 bytes=5";
        for prefix in [
            "heroku-router[web]",
            "heroku[heroku-router]",
            "heroku[router]",
        ] {
            let line = format!("2026-11-30T14:03:00Z {prefix}: {message}");
            let r = router(&line);
            assert_eq!(
                (r.dyno, r.process()),
                ("web-6f9d8c7b5-x2k4q", "web"),
                "{prefix}"
            );
        }
        for prefix in [
            "heroku-runtime[web]",
            "heroku[api]",
            "app[heroku-router]",
            "heroku-routers[web]",
        ] {
            let line = format!("2026-11-30T14:03:00Z {prefix}: {message}");
            assert_eq!(parse_line(&line), Parsed::NotRouter, "{prefix}");
        }
        for (dyno, process) in [
            ("web-6f9d8c7b5-x2k4q", Some("web")),
            ("worker-7d4b9c-abcde", Some("worker")),
            ("api-v2-6f9d8c7b5-x2k4q", Some("api-v2")),
            ("web-1-a2345", Some("web")),
            ("web-6f9d8c7b5a-x2k4q", Some("web")),
            // A hash longer than a ReplicaSet's, a suffix not of 5, capitals, empty parts.
            ("web-6f9d8c7b5ab-x2k4q", None),
            ("web-6f9d8c7b5-x2k4", None),
            ("web-6f9d8c7b5-x2k4qq", None),
            ("web-6F9d8c7b5-x2k4q", None),
            ("web-6f9d8c7b5-X2k4q", None),
            ("-6f9d8c7b5-x2k4q", None),
            ("web--x2k4q", None),
            ("web-x2k4q", None),
            ("web", None),
        ] {
            assert_eq!(fir_process(dyno), process, "{dyno}");
        }
    }
}
