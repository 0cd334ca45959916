//! Logplex HTTPS drain bodies: octet-counted RFC 5424 frames.
//!
//! ```text
//! 289 <158>1 2026-11-30T14:03:00.123456+00:00 host heroku router - at=info method=GET path="/" ...
//! ```
//!
//! Each frame is `LENGTH SP SYSLOG-MESSAGE`, LENGTH counting the bytes of the message (Heroku's
//! include a final newline). The message is `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID MSG`:
//! Heroku writes no structured-data field, puts `heroku` or `app` in APP-NAME and the dyno or
//! component (`router`, `web.1`) in PROCID, so `heroku router` here is `heroku[router]` in
//! `heroku logs`. A drain POST holds several frames back to back; a saved file may hold many POST
//! bodies, with newlines between them.
//!
//! Lengths are untrusted. A frame is only taken when its length lands on a plausible boundary
//! (the end, a line break, or the next frame's `123 <`) and its bytes start like a syslog message;
//! otherwise the reader skips forward to the next place a frame can start and counts the bytes it
//! skipped. Nothing is ever read out of bounds, and a frame longer than [`MAX_FRAME`] is refused.
//!
//! This module is **pure** (no I/O, no clock) and borrows from the buffer it is given.

use chrono::{DateTime, Utc};

use super::router::parse_timestamp;

/// Longest frame accepted (Logplex splits app lines at 10 000 bytes; this leaves room).
pub const MAX_FRAME: usize = 64 * 1024;

/// Most digits a frame length can have (`65536`).
const MAX_LENGTH_DIGITS: usize = 5;

/// One syslog message from a drain body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    pub timestamp: DateTime<Utc>,
    /// HOSTNAME: `host` from Heroku's drains.
    pub host: &'a str,
    /// APP-NAME: `heroku` for the platform (the router), `app` for the app's own dynos.
    pub source: &'a str,
    /// PROCID: `router`, `web.1`, `clock.1`, ...
    pub process: &'a str,
    /// MSG, without its final newline.
    pub message: &'a str,
}

/// What the start of a buffer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next<'a> {
    /// A frame, `used` bytes long with its length prefix.
    Frame { frame: Frame<'a>, used: usize },
    /// A frame whose length and syslog header check out but whose content is unreadable (a
    /// message that is not UTF-8, a timestamp that is not one): skip its `used` bytes.
    Unreadable { used: usize },
    /// The start of a frame that is not all there yet: read more and ask again.
    Incomplete,
    /// Not a frame.
    NotFrame,
}

/// Looks at the start of `buf` for a frame. `at_end` says `buf` holds all there is (a whole body,
/// or the last bytes of a stream): a frame cut short is then not a frame.
pub fn next_frame(buf: &[u8], at_end: bool) -> Next<'_> {
    let digits = buf.iter().take_while(|b| b.is_ascii_digit()).count();
    let wait = if at_end {
        Next::NotFrame
    } else {
        Next::Incomplete
    };
    if digits == 0 || digits > MAX_LENGTH_DIGITS || buf[0] == b'0' {
        return Next::NotFrame;
    }
    let Some(&after_digits) = buf.get(digits) else {
        return wait;
    };
    if after_digits != b' ' {
        return Next::NotFrame;
    }
    let start = digits + 1;
    match buf.get(start) {
        None => return wait,
        Some(b'<') => {}
        Some(_) => return Next::NotFrame,
    }
    let length = buf[..digits]
        .iter()
        .fold(0usize, |n, b| n * 10 + usize::from(b - b'0'));
    if length > MAX_FRAME {
        return Next::NotFrame;
    }
    let end = start + length;
    if buf.len() < end {
        return wait;
    }
    match boundary(&buf[end..]) {
        Boundary::Yes => {}
        Boundary::Unknown if at_end => {}
        Boundary::Unknown => return Next::Incomplete,
        Boundary::No => return Next::NotFrame,
    }
    let bytes = &buf[start..end];
    let Some(rest) = syslog_start(bytes) else {
        return Next::NotFrame;
    };
    match frame(rest) {
        Some(frame) => Next::Frame { frame, used: end },
        None => Next::Unreadable { used: end },
    }
}

enum Boundary {
    Yes,
    /// The bytes end before it can be told.
    Unknown,
    No,
}

/// Whether a frame can end where `after` begins: at a line break or the next frame's length
/// (`123 <`). A wrong length seldom lands on either, so this is what catches it.
fn boundary(after: &[u8]) -> Boundary {
    let digits = after.iter().take_while(|b| b.is_ascii_digit()).count();
    match (after.first(), after.get(digits), after.get(digits + 1)) {
        (None, _, _) => Boundary::Unknown,
        (Some(b'\n' | b'\r'), _, _) => Boundary::Yes,
        _ if digits == 0 || digits > MAX_LENGTH_DIGITS => Boundary::No,
        (_, None, _) | (_, Some(b' '), None) => Boundary::Unknown,
        (_, Some(b' '), Some(b'<')) => Boundary::Yes,
        _ => Boundary::No,
    }
}

/// Checks `<PRI>1 ` (PRI up to 191) and returns what follows it.
fn syslog_start(bytes: &[u8]) -> Option<&[u8]> {
    let rest = bytes.strip_prefix(b"<")?;
    let close = rest.iter().take(4).position(|&b| b == b'>')?;
    let pri = &rest[..close];
    let pri_ok = !pri.is_empty()
        && pri.iter().all(u8::is_ascii_digit)
        && pri.iter().fold(0u32, |n, b| n * 10 + u32::from(b - b'0')) <= 191;
    if !pri_ok {
        return None;
    }
    rest[close + 1..].strip_prefix(b"1 ")
}

/// `TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [MSG]`, after `<PRI>1 `.
fn frame(bytes: &[u8]) -> Option<Frame<'_>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut parts = text.splitn(6, ' ');
    let timestamp = parse_timestamp(parts.next()?)?;
    let host = header_field(parts.next()?)?;
    let source = header_field(parts.next()?)?;
    let process = header_field(parts.next()?)?;
    header_field(parts.next()?.trim_end_matches(['\r', '\n']))?;
    let message = parts.next().unwrap_or("");
    let message = message.strip_suffix('\n').unwrap_or(message);
    let message = message.strip_suffix('\r').unwrap_or(message);
    Some(Frame {
        timestamp,
        host,
        source,
        process,
        message,
    })
}

/// A header field: printable ASCII, at least one character (RFC 5424's PRINTUSASCII).
fn header_field(field: &str) -> Option<&str> {
    let ok = !field.is_empty() && field.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(field)
}

/// The frames of a whole buffer: one drain body, or a file of many. See [`frames`].
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    buf: &'a [u8],
    at: usize,
    bad_bytes: u64,
}

/// Iterates over the frames in `buf`, skipping newlines and spaces between them. Bytes that are
/// not part of a readable frame are skipped and counted ([`Frames::bad_bytes`]).
pub fn frames(buf: &[u8]) -> Frames<'_> {
    Frames {
        buf,
        at: 0,
        bad_bytes: 0,
    }
}

impl Frames<'_> {
    /// Bytes skipped so far because no readable frame was there.
    pub fn bad_bytes(&self) -> u64 {
        self.bad_bytes
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Frame<'a>;

    fn next(&mut self) -> Option<Frame<'a>> {
        loop {
            while self
                .buf
                .get(self.at)
                .is_some_and(|b| matches!(b, b'\n' | b'\r' | b' '))
            {
                self.at += 1;
            }
            let rest = &self.buf[self.at..];
            if rest.is_empty() {
                return None;
            }
            let skip = match next_frame(rest, true) {
                Next::Frame { frame, used } => {
                    self.at += used;
                    return Some(frame);
                }
                Next::Unreadable { used } => used,
                Next::Incomplete | Next::NotFrame => resync(rest),
            };
            self.bad_bytes += skip as u64;
            self.at += skip;
        }
    }
}

/// How many bytes to skip from the start of `buf` (which holds no frame) to the next place a
/// frame starts, or to the end.
fn resync(buf: &[u8]) -> usize {
    (1..buf.len())
        .find(|&at| {
            matches!(
                next_frame(&buf[at..], true),
                Next::Frame { .. } | Next::Unreadable { .. }
            )
        })
        .unwrap_or(buf.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::router::{parse_line, parse_message, Parsed};

    fn ts(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    /// Frames a syslog message the way Logplex does: its length, a space, the message.
    fn framed(message: &str) -> String {
        format!("{} {message}", message.len())
    }

    const ROUTER: &str = "<158>1 2026-11-30T14:03:00.123456+00:00 host heroku router - at=info \
        method=GET path=\"/\" host=shop.herokuapp.com request_id=8601b555-6a54-4f0b-a0ba-fd8ae1e5cc72 \
        fwd=\"203.0.113.7\" dyno=web.2 connect=0ms service=87ms status=200 bytes=512 protocol=https\n";

    #[test]
    fn heroku_documentation_example() {
        // The example body of Heroku's drain documentation, lengths and all.
        let body = "83 <40>1 2012-11-30T06:45:29+00:00 host app web.3 - State changed from starting to up\n\
                    119 <40>1 2012-11-30T06:45:26+00:00 host app web.3 - Starting process with command `bundle exec rackup config.ru -p 24405`\n";
        let mut it = frames(body.as_bytes());
        let first = it.next().unwrap();
        assert_eq!(
            first,
            Frame {
                timestamp: ts("2012-11-30T06:45:29Z"),
                host: "host",
                source: "app",
                process: "web.3",
                message: "State changed from starting to up",
            }
        );
        let second = it.next().unwrap();
        assert_eq!(
            second.message,
            "Starting process with command `bundle exec rackup config.ru -p 24405`"
        );
        assert_eq!(it.next(), None);
        assert_eq!(it.bad_bytes(), 0);
    }

    #[test]
    fn router_frame_gives_the_same_record_as_heroku_logs() {
        let body = framed(ROUTER);
        assert!(body.starts_with("251 <158>1 "), "{body}");
        let frame = frames(body.as_bytes()).next().unwrap();
        assert_eq!((frame.source, frame.process), ("heroku", "router"));
        let from_frame = parse_message(frame.timestamp, frame.message).unwrap();
        let logs_line = format!(
            "2026-11-30T14:03:00.123456+00:00 heroku[router]: {}",
            ROUTER.split_once(" - ").unwrap().1.trim_end()
        );
        let Parsed::Router(from_logs) = parse_line(&logs_line) else {
            panic!("{logs_line}");
        };
        assert_eq!(from_frame, from_logs);
    }

    #[test]
    fn frames_back_to_back_and_between_newlines() {
        let a = framed("<158>1 2026-11-30T14:03:00Z host heroku router - at=info method=GET path=/ status=200\n");
        let b = framed("<190>1 2026-11-30T14:03:01Z host app web.1 - no newline at the end");
        let c = framed("<158>1 2026-11-30T14:03:02Z host heroku router - - at=info method=GET path=/ status=204\r\n");
        let body = format!("{a}{b}{a}\n\n{c}\r\n{b}\n");
        let all: Vec<Frame<'_>> = frames(body.as_bytes()).collect();
        let processes: Vec<&str> = all.iter().map(|f| f.process).collect();
        assert_eq!(processes, ["router", "web.1", "router", "router", "web.1"]);
        assert_eq!(all[1].message, "no newline at the end");
        assert_eq!(all[3].message, "- at=info method=GET path=/ status=204");
        assert_eq!(
            parse_message(all[3].timestamp, all[3].message)
                .unwrap()
                .status,
            Some(204)
        );
    }

    #[test]
    fn empty_message_and_minimal_frames() {
        let body = framed("<0>1 2026-11-30T14:03:00Z h a p m");
        let frame = frames(body.as_bytes()).next().unwrap();
        assert_eq!(
            (frame.host, frame.source, frame.process, frame.message),
            ("h", "a", "p", "")
        );
        let body = framed("<191>1 2026-11-30T14:03:00Z h a p m \n");
        assert_eq!(frames(body.as_bytes()).next().unwrap().message, "");
        let body = framed("<191>1 2026-11-30T14:03:00Z h a p m\n");
        assert_eq!(frames(body.as_bytes()).next().unwrap().message, "");
    }

    #[test]
    fn wrong_lengths_resync_without_reading_out_of_bounds() {
        let good = framed(ROUTER);
        let frame_count = |body: &str| {
            let mut it = frames(body.as_bytes());
            let n = it.by_ref().count();
            (n, it.bad_bytes())
        };
        // Too long (it would end inside the next frame's header) or too short: the boundary
        // check refuses the frame, and the reader skips to the next one.
        let whole = good.len() as u64;
        let too_long = good.replacen("251 ", "262 ", 1);
        assert_eq!(frame_count(&format!("{too_long}{good}")), (1, whole));
        let too_short = good.replacen("251 ", "200 ", 1);
        assert_eq!(frame_count(&format!("{too_short}{good}")), (1, whole));
        // Longer than the buffer, longer than allowed, zero, too many digits.
        for bad in ["999", "65537", "0", "999999"] {
            let body = good.replacen("251", bad, 1);
            assert_eq!(frame_count(&format!("{body}{good}")).0, 1, "{bad}");
            assert_eq!(frame_count(&body), (0, body.len() as u64), "{bad}");
        }
        // A leading zero is not a length: the frame after it is found.
        assert_eq!(frame_count(&format!("0{good}")), (1, 1));
        assert_eq!(
            next_frame(format!("0{good}").as_bytes(), true),
            Next::NotFrame
        );
        // Garbage around frames.
        let body = format!("garbage {good}\nmore garbage\n{good}\ntrailing 12 <3");
        let (n, bad) = frame_count(&body);
        assert_eq!(n, 2);
        let garbage = ["garbage ", "more garbage\n", "trailing 12 <3"];
        assert_eq!(bad, garbage.concat().len() as u64);
        // A frame followed by anything but a line break or a frame is not taken.
        assert_eq!(
            frame_count(&format!("{good} x")),
            (0, good.len() as u64 + 2)
        );
        assert_eq!(frame_count(&format!("{good}x")).0, 0);
        assert_eq!(frame_count(&format!("{good}12x")).0, 0);
        assert_eq!(frame_count(&format!("{good}123456 <")).0, 0);
        assert_eq!(frame_count(&format!("{good}12 x")).0, 0);
        assert_eq!(
            frame_count(&format!("{good}12 ")).0,
            1,
            "cannot be told at the end"
        );
        assert_eq!(frame_count(&format!("{good}65536 <")).0, 1);
        assert_eq!(frame_count(&format!("{good}655360 <")).0, 0);
        // Garbage that ends in a digit right before a frame.
        assert_eq!(frame_count(&format!("x9{good}")), (1, 2));
        // Every truncation of a body: no panic, never more frames than were whole.
        let body = format!("{good}{good}");
        for cut in 0..body.len() {
            let (n, _) = frame_count(&body[..cut]);
            assert!(n <= cut / good.len(), "{cut}: {n}");
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_or_not_syslog() {
        // A frame whose message is not UTF-8 is skipped whole, and the next one is read.
        let mut body = b"20 <190>1 2026-11-30T14:03:00Z h app web.1 - \xff\xfe".to_vec();
        let head_len = body.len() - b"20 ".len();
        body.splice(0..2, head_len.to_string().bytes());
        body.extend_from_slice(framed(ROUTER).as_bytes());
        let mut it = frames(&body);
        assert_eq!(it.next().unwrap().process, "router");
        assert_eq!(it.next(), None);
        assert_eq!(it.bad_bytes(), (head_len + 3) as u64);

        for message in [
            "<192>1 2026-11-30T14:03:00Z h a p m x",
            "<1x>1 2026-11-30T14:03:00Z h a p m x",
            "<>1 2026-11-30T14:03:00Z h a p m x",
            "<1000>1 2026-11-30T14:03:00Z h a p m x",
            "<1>2 2026-11-30T14:03:00Z h a p m x",
            "<1>12026-11-30T14:03:00Z h a p m x",
            "<1 2026-11-30T14:03:00Z h a p m x",
        ] {
            let body = framed(message);
            assert_eq!(
                next_frame(body.as_bytes(), true),
                Next::NotFrame,
                "{message}"
            );
        }
        for message in [
            "<1>1 - h a p m x",
            "<1>1 2026-11-30T14:03:00Z h a p",
            "<1>1 2026-11-30T14:03:00Z h a  m x",
            "<1>1 2026-11-30T14:03:00Z h\u{e9} a p m x",
        ] {
            let body = framed(message);
            assert_eq!(
                next_frame(body.as_bytes(), true),
                Next::Unreadable { used: body.len() },
                "{message}"
            );
        }
    }

    #[test]
    fn streaming_asks_for_more_until_a_frame_is_whole() {
        let body = framed(ROUTER);
        let bytes = body.as_bytes();
        for cut in 1..bytes.len() {
            assert_eq!(next_frame(&bytes[..cut], false), Next::Incomplete, "{cut}");
        }
        // All there, but the byte after it is not known yet.
        assert_eq!(next_frame(bytes, false), Next::Incomplete);
        for undecided in ["2", "251", "251 "] {
            let more = format!("{body}{undecided}");
            assert_eq!(
                next_frame(more.as_bytes(), false),
                Next::Incomplete,
                "{undecided}"
            );
            assert!(matches!(
                next_frame(more.as_bytes(), true),
                Next::Frame { used: 255, .. }
            ));
        }
        for next in ["251 <", "\n", "\r\n"] {
            let more = format!("{body}{next}");
            assert!(matches!(
                next_frame(more.as_bytes(), false),
                Next::Frame { used: 255, .. }
            ));
        }
        assert!(matches!(
            next_frame(bytes, true),
            Next::Frame { used: 255, .. }
        ));
        assert_eq!(next_frame(&bytes[..100], true), Next::NotFrame);
        for not_frame in [
            "x",
            "12x",
            "12 x",
            "123456 <",
            "2026-11-30T14:03:00Z heroku[router]:",
        ] {
            assert_eq!(
                next_frame(not_frame.as_bytes(), false),
                Next::NotFrame,
                "{not_frame}"
            );
        }
        let followed_by_garbage = format!("{body}x");
        assert_eq!(
            next_frame(followed_by_garbage.as_bytes(), false),
            Next::NotFrame
        );
        assert_eq!(next_frame(b"", true), Next::NotFrame);
        assert_eq!(next_frame(b"", false), Next::NotFrame);
        assert_eq!(next_frame(b"12345", false), Next::Incomplete);
        assert_eq!(next_frame(b"12345", true), Next::NotFrame);
    }

    #[test]
    fn max_frame_is_accepted() {
        let head = "<190>1 2026-11-30T14:03:00Z h app web.1 - ";
        // Logplex's longest app line is 10 000 bytes.
        let message = format!("{head}{}\n", "x".repeat(10_000));
        let body = framed(&message);
        let Next::Frame { frame, .. } = next_frame(body.as_bytes(), true) else {
            panic!("a 10 kB frame is refused");
        };
        assert_eq!(frame.message.len(), 10_000);
        let message = format!("{head}{}", "x".repeat(MAX_FRAME - head.len()));
        let body = framed(&message);
        assert!(matches!(
            next_frame(body.as_bytes(), true),
            Next::Frame { .. }
        ));
        let message = format!("{message}x");
        let body = framed(&message);
        assert_eq!(next_frame(body.as_bytes(), true), Next::NotFrame);
    }
}
