//! Reading recorded traffic for `chart`, `suggest` and `replay`: stdin or files, plain or gzip,
//! holding any mix of
//! - `heroku logs` lines: router lines, the daemon's own `app[clock.1]: ts=... event=...` lines,
//!   and everything else an app logs;
//! - the daemon's raw stdout lines (`ts=... level=info event=...`);
//! - Logplex drain bodies (octet-counted syslog frames, see [`super::logplex`]);
//! - `event=traffic` lines, raw or after a `heroku logs` prefix.
//!
//! Each record goes to the caller's visitor as a [`Record`]. Input is streamed through one fixed
//! buffer: memory does not grow with the input, a line longer than [`MAX_LINE`] is counted as
//! garbage (and skipped without being held), and gzip is recognised by its magic bytes, not by
//! the file's name, and decompressed on the fly (several members, as `cat a.gz b.gz` makes, are
//! read one after the other) up to [`MAX_DECOMPRESSED`] per input.
//!
//! This is the one module of `traffic` that does I/O; it reads, and never looks at the clock.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use chrono::{DateTime, Utc};
use flate2::read::MultiGzDecoder;

use super::event::parse_traffic;
use super::logplex::{self, Next};
use super::minute::Minute;
use super::router::{self, parse_timestamp, RouterLine};
use crate::logfmt::Line;

/// Longest line read; a longer one is garbage.
pub const MAX_LINE: usize = 64 * 1024;

/// Most bytes one gzip input may decompress to (a decompression bomb stops there with an error).
pub const MAX_DECOMPRESSED: u64 = 8 << 30;

/// The read buffer: room for the longest line or frame, and then some.
const BUFFER: usize = 4 * MAX_LINE;

/// One record of an input.
#[derive(Debug, Clone, PartialEq)]
pub enum Record<'a> {
    /// A router line (from `heroku logs` or a drain frame).
    Router(RouterLine<'a>),
    /// An `event=traffic` line of the daemon.
    Traffic(Minute),
    /// Another event line of the daemon, with its time (the `heroku logs` prefix's, else its `ts`).
    Daemon(Line, DateTime<Utc>),
    /// A well-formed line or frame of something else (the app's own output, dyno state changes).
    Other,
    /// Anything unreadable: not a known shape, a router or daemon line cut short, a bad frame.
    Garbage,
}

/// What an input held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub router: u64,
    pub traffic: u64,
    pub daemon: u64,
    pub other: u64,
    /// Garbage records, including the too long lines and unreadable frames.
    pub garbage: u64,
    /// Lines over [`MAX_LINE`].
    pub too_long: u64,
    /// Bytes of garbage.
    pub bad_bytes: u64,
    /// Bytes read, after decompression.
    pub bytes: u64,
}

impl Counts {
    fn count(&mut self, record: &Record<'_>, len: usize) {
        let counter = match record {
            Record::Router(_) => &mut self.router,
            Record::Traffic(_) => &mut self.traffic,
            Record::Daemon(..) => &mut self.daemon,
            Record::Other => &mut self.other,
            Record::Garbage => {
                self.bad_bytes += len as u64;
                &mut self.garbage
            }
        };
        *counter += 1;
    }
}

/// Why an input could not be read to its end. `Display` is one line naming the input.
#[derive(Debug, thiserror::Error)]
#[error("{input}: {source}")]
pub struct InputError {
    /// The file's path, or `stdin`.
    pub input: String,
    #[source]
    pub source: io::Error,
}

/// Reads a file (plain or gzip) and hands each record to `visit`.
pub fn read_path(path: &Path, visit: impl FnMut(Record<'_>)) -> Result<Counts, InputError> {
    let error = |source| InputError {
        input: path.display().to_string(),
        source,
    };
    let file = File::open(path).map_err(error)?;
    read(file, visit).map_err(error)
}

/// Reads standard input (plain or gzip) and hands each record to `visit`.
pub fn read_stdin(visit: impl FnMut(Record<'_>)) -> Result<Counts, InputError> {
    read(io::stdin().lock(), visit).map_err(|source| InputError {
        input: "stdin".to_owned(),
        source,
    })
}

/// Reads one input (plain or gzip, told by its first bytes) and hands each record to `visit`.
/// Records before an error have been visited when it is returned.
pub fn read(input: impl Read, visit: impl FnMut(Record<'_>)) -> io::Result<Counts> {
    read_capped(input, MAX_DECOMPRESSED, visit)
}

fn read_capped(
    mut input: impl Read,
    cap: u64,
    mut visit: impl FnMut(Record<'_>),
) -> io::Result<Counts> {
    let mut head = [0u8; 2];
    let mut got = 0;
    while got < head.len() {
        match input.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let input = io::Cursor::new(head[..got].to_vec()).chain(input);
    if head[..got] == [0x1f, 0x8b] {
        let decoded = Capped {
            inner: MultiGzDecoder::new(input),
            cap,
            left: cap,
        };
        scan(decoded, &mut visit)
    } else {
        scan(input, &mut visit)
    }
}

/// A reader that fails once more than `cap` bytes came through.
struct Capped<R> {
    inner: R,
    cap: u64,
    left: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Ask for one byte past the cap, so that reaching it exactly is not an error.
        let want = usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX);
        let len = buf.len().min(want);
        let n = self.inner.read(&mut buf[..len])?;
        if n as u64 > self.left {
            return Err(io::Error::other(format!(
                "decompresses to more than {} bytes; stopped there",
                self.cap
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// What to do after looking at the buffered bytes.
enum Step {
    /// Consume this many bytes.
    Advance(usize),
    /// Keep the bytes and read more.
    Refill,
    /// Drop the bytes: they are the start of a line too long to keep.
    Discard,
}

fn scan(mut input: impl Read, visit: &mut dyn FnMut(Record<'_>)) -> io::Result<Counts> {
    let mut counts = Counts::default();
    let mut buf = vec![0u8; BUFFER];
    let (mut start, mut end) = (0, 0);
    let mut eof = false;
    // Inside a line over MAX_LINE: skip to its end.
    let mut discarding = false;
    loop {
        let window = &buf[start..end];
        let step = if discarding {
            match memchr::memchr(b'\n', window) {
                Some(newline) => {
                    discarding = false;
                    counts.bad_bytes += newline as u64;
                    Step::Advance(newline + 1)
                }
                None => Step::Discard,
            }
        } else {
            next_record(window, eof, &mut counts, visit)
        };
        match step {
            Step::Advance(n) => start += n,
            Step::Discard => {
                if discarding {
                    counts.bad_bytes += (end - start) as u64;
                } else {
                    discarding = true;
                    counts.too_long += 1;
                    counts.count(&Record::Garbage, end - start);
                    visit(Record::Garbage);
                }
                start = end;
            }
            Step::Refill => {}
        }
        if start == end && eof {
            return Ok(counts);
        }
        if matches!(step, Step::Refill | Step::Discard) {
            if eof {
                // Nothing more will come; whatever is left was handled as a last line.
                return Ok(counts);
            }
            buf.copy_within(start..end, 0);
            end -= start;
            start = 0;
            let n = loop {
                match input.read(&mut buf[end..]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    other => break other?,
                }
            };
            eof = n == 0;
            end += n;
            counts.bytes += n as u64;
        }
    }
}

/// Looks for one record at the start of `window`.
fn next_record(
    window: &[u8],
    eof: bool,
    counts: &mut Counts,
    visit: &mut dyn FnMut(Record<'_>),
) -> Step {
    let separators = window
        .iter()
        .take_while(|&&b| b == b'\n' || b == b'\r')
        .count();
    if separators > 0 {
        return Step::Advance(separators);
    }
    if window.is_empty() {
        return Step::Refill;
    }
    if window[0].is_ascii_digit() {
        match logplex::next_frame(window, eof) {
            Next::Frame { frame, used } => {
                let record =
                    classify_sourced(frame.timestamp, frame.source, frame.process, frame.message);
                counts.count(&record, used);
                visit(record);
                return Step::Advance(used);
            }
            Next::Unreadable { used } => {
                counts.count(&Record::Garbage, used);
                visit(Record::Garbage);
                return Step::Advance(used);
            }
            Next::Incomplete => return Step::Refill,
            Next::NotFrame => {}
        }
    }
    let (line, used) = match memchr::memchr(b'\n', window) {
        Some(newline) => (&window[..newline], newline + 1),
        None if eof => (window, window.len()),
        None if window.len() > MAX_LINE => return Step::Discard,
        None => return Step::Refill,
    };
    let record = if line.len() > MAX_LINE {
        counts.too_long += 1;
        Record::Garbage
    } else {
        match std::str::from_utf8(line) {
            Ok(text) => classify_line(text),
            Err(_) => Record::Garbage,
        }
    };
    counts.count(&record, line.len());
    visit(record);
    Step::Advance(used)
}

/// Classifies one line: a `heroku logs` line or a raw daemon line (see [`Record`]).
pub fn classify_line(line: &str) -> Record<'_> {
    let line = line.trim_end_matches(['\r', '\n']);
    if let Some(prefix) = router::split_prefix(line) {
        return classify_sourced(
            prefix.timestamp,
            prefix.source,
            prefix.process,
            prefix.message,
        );
    }
    match event_line(line) {
        Some(event) => match event.get("ts").and_then(parse_timestamp) {
            Some(ts) => daemon_record(event, ts),
            None => Record::Garbage,
        },
        None => Record::Garbage,
    }
}

/// A message from `source[process]` (or a frame's APP-NAME and PROCID) logged at `ts`.
fn classify_sourced<'a>(
    ts: DateTime<Utc>,
    source: &str,
    process: &str,
    message: &'a str,
) -> Record<'a> {
    if router::is_router(source, process) {
        return match router::parse_message(ts, message) {
            Some(record) => Record::Router(record),
            None => Record::Garbage,
        };
    }
    if source != "app" {
        return Record::Other;
    }
    match event_line(message) {
        Some(event) => daemon_record(event, ts),
        // An event line of ours cut short (Heroku splits long lines).
        None if message.starts_with("ts=") => Record::Garbage,
        None => Record::Other,
    }
}

fn daemon_record(event: Line, ts: DateTime<Utc>) -> Record<'static> {
    if event.event() == Some(super::event::EVENT) {
        match parse_traffic(&event) {
            Some(minute) => Record::Traffic(minute),
            None => Record::Garbage,
        }
    } else {
        Record::Daemon(event, ts)
    }
}

/// A logfmt line with the fields every event line of ours has.
fn event_line(text: &str) -> Option<Line> {
    if !text.starts_with("ts=") {
        return None;
    }
    let line = Line::parse(text)?;
    (line.event().is_some_and(|e| !e.is_empty()) && line.get("level").is_some()).then_some(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::fixture::Fixture;
    use crate::traffic::minute::BatchAggregator;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn ts(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    /// What `chart` would do with an input: router lines aggregated, traffic lines kept.
    fn minutes_of(input: &[u8]) -> (Vec<Minute>, Counts) {
        let mut batch = BatchAggregator::new();
        let mut traffic = Vec::new();
        let counts = read(input, |record| match record {
            Record::Router(line) => {
                batch.add("shop", &line);
            }
            Record::Traffic(minute) => traffic.push(minute),
            _ => {}
        })
        .unwrap();
        let mut minutes = batch.minutes();
        minutes.extend(traffic);
        (minutes, counts)
    }

    /// The kinds of records, in order, as short names.
    fn kinds(input: &[u8]) -> (Vec<String>, Counts) {
        let mut kinds = Vec::new();
        let counts = read(input, |record| {
            kinds.push(match record {
                Record::Router(r) => format!("router {}", r.status.unwrap_or(0)),
                Record::Traffic(m) => format!("traffic {}", m.requests),
                Record::Daemon(line, ts) => {
                    format!("daemon {} {}", line.event().unwrap(), ts.format("%H:%M:%S"))
                }
                Record::Other => "other".to_owned(),
                Record::Garbage => "garbage".to_owned(),
            })
        })
        .unwrap();
        (kinds, counts)
    }

    #[test]
    fn the_same_traffic_in_three_shapes_gives_the_same_minutes() {
        let fixture = Fixture {
            scale: 0.1,
            ..Fixture::new(ts("2026-11-29T23:00:00Z"), 2, chrono_tz::Europe::Berlin)
        };
        let expected = fixture.minutes();
        assert!(expected.len() > 2_000, "{}", expected.len());
        let mut logs = Vec::new();
        let written = fixture.write_heroku_logs(&mut logs).unwrap();
        let mut frames = Vec::new();
        fixture.write_logplex(&mut frames).unwrap();
        let mut traffic = Vec::new();
        fixture.write_traffic(&mut traffic).unwrap();

        let (from_logs, counts) = minutes_of(&logs);
        assert_eq!(from_logs, expected);
        assert_eq!(
            (counts.router, counts.other, counts.garbage),
            (written.router, written.other, 0)
        );
        assert_eq!(counts.bytes, logs.len() as u64);
        let (from_frames, counts) = minutes_of(&frames);
        assert_eq!(from_frames, expected);
        assert_eq!(
            (counts.router, counts.garbage, counts.bad_bytes),
            (written.router, 0, 0)
        );
        let (from_traffic, counts) = minutes_of(&traffic);
        assert_eq!(from_traffic, expected);
        assert_eq!((counts.traffic, counts.garbage), (expected.len() as u64, 0));

        // Gzip, in two members (`cat a.gz b.gz`), is told by its magic bytes.
        let half = logs.len() / 2;
        let cut = half + logs[half..].iter().position(|&b| b == b'\n').unwrap() + 1;
        let mut gz = gzip(&logs[..cut]);
        gz.extend(gzip(&logs[cut..]));
        let (from_gz, counts) = minutes_of(&gz);
        assert_eq!(from_gz, expected);
        assert_eq!(counts.bytes, logs.len() as u64);
        let (from_gz_frames, _) = minutes_of(&gzip(&frames));
        assert_eq!(from_gz_frames, expected);
    }

    #[test]
    fn a_mixed_input() {
        let traffic = "ts=2026-11-30T14:04:05.000Z level=info event=traffic app=shop process=web \
            minute=2026-11-30T14:03:00Z requests=2 p50_ms=87 p95_ms=87 p99_ms=87 errors=0 h10=0 \
            h12=0 h13=0 busy=0.00 dynos=1 s2xx=2 s3xx=0 s4xx=0 s5xx=0";
        let router = "at=info method=GET path=/ host=h dyno=web.1 connect=0ms service=87ms status=200 bytes=1";
        let frame_body = format!("<158>1 2026-11-30T14:03:01Z host heroku router - {router}\n");
        let frame = format!("{} {frame_body}", frame_body.len());
        let app_body = "<190>1 2026-11-30T14:03:02Z host app web.1 - Completed 200 OK\n";
        let app_frame = format!("{} {app_body}", app_body.len());
        let clock_body = "<190>1 2026-11-30T14:03:03Z host app clock.1 - ts=2026-11-30T14:03:03.001Z level=info event=probe status=200";
        let clock_frame = format!("{} {clock_body}", clock_body.len());
        let input = [
            format!("2026-11-30T14:03:00.000001+00:00 heroku[router]: {router}"),
            // Cut short: no status.
            "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=/ host=h dyno=web.1 connect=0ms service=8".to_owned(),
            "2026-11-30T14:03:00Z app[web.1]: Started GET \"/\"".to_owned(),
            "2026-11-30T14:03:00Z heroku[web.1]: State changed from starting to up".to_owned(),
            "2026-11-30T14:02:50.5+00:00 app[clock.1]: ts=2026-11-30T14:02:50.400Z level=info event=probe status=200 latency_ms=80".to_owned(),
            "2026-11-30T14:02:51Z app[clock.1]: ts=2026-11-30T14:02:51.000Z level=info event=scale from=1 to=".to_owned(),
            "2026-11-30T14:02:51Z app[clock.1]: ts=2026-11-30T14:02:51.000Z level=info event=scale from=1 to=\"3".to_owned(),
            format!("2026-11-30T14:04:05Z app[clock.1]: {traffic}"),
            traffic.to_owned(),
            traffic.replace("requests=2", "requests=1"),
            "ts=2026-11-30T14:05:00.000Z level=warn event=probe outcome=slow".to_owned(),
            "ts=yesterday level=warn event=probe".to_owned(),
            "level=warn event=probe".to_owned(),
            "ts=2026-11-30T14:05:00.000Z event=probe".to_owned(),
            "just some text".to_owned(),
            "123 <not a frame>".to_owned(),
            String::new(),
            "\r".to_owned(),
            format!("{frame}{app_frame}{clock_frame}"),
            format!("{frame}\r"),
            "last line without a newline heroku[router]:".to_owned(),
        ]
        .join("\n");
        let (kinds, counts) = kinds(input.as_bytes());
        assert_eq!(
            kinds,
            [
                "router 200",
                "garbage",
                "other",
                "other",
                "daemon probe 14:02:50",
                "daemon scale 14:02:51",
                "garbage",
                "traffic 2",
                "traffic 2",
                "garbage",
                "daemon probe 14:05:00",
                "garbage",
                "garbage",
                "garbage",
                "garbage",
                "garbage",
                "router 200",
                "other",
                "daemon probe 14:03:03",
                "router 200",
                "garbage",
            ]
        );
        assert_eq!(
            counts,
            Counts {
                router: 3,
                traffic: 2,
                daemon: 4,
                other: 3,
                garbage: 9,
                too_long: 0,
                bad_bytes: [
                    "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=/ host=h dyno=web.1 connect=0ms service=8",
                    "2026-11-30T14:02:51Z app[clock.1]: ts=2026-11-30T14:02:51.000Z level=info event=scale from=1 to=\"3",
                    &traffic.replace("requests=2", "requests=1"),
                    "ts=yesterday level=warn event=probe",
                    "level=warn event=probe",
                    "ts=2026-11-30T14:05:00.000Z event=probe",
                    "just some text",
                    "123 <not a frame>",
                    "last line without a newline heroku[router]:",
                ]
                .iter()
                .map(|s| s.len() as u64)
                .sum(),
                bytes: input.len() as u64,
            }
        );
    }

    #[test]
    fn classify_line_alone() {
        assert!(matches!(
            classify_line(
                "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=/ status=200\r\n"
            ),
            Record::Router(_)
        ));
        assert_eq!(classify_line(""), Record::Garbage);
        assert_eq!(
            classify_line("2026-11-30T14:03:00Z heroku[router]: nonsense"),
            Record::Garbage
        );
        assert_eq!(
            classify_line("2026-11-30T14:03:00Z app[clock.1]: ts=x level=info event="),
            Record::Garbage
        );
        assert_eq!(
            classify_line("2026-11-30T14:03:00Z app[web.1]: level=info event=x"),
            Record::Other
        );
        assert_eq!(
            classify_line("2026-11-30T14:03:00Z heroku-redis[redis.1]: ts=x level=info event=y"),
            Record::Other
        );
        let Record::Daemon(line, at) =
            classify_line("ts=2026-11-30T14:03:00.250+01:00 level=info event=start app=shop")
        else {
            panic!()
        };
        assert_eq!(
            (line.get("app"), at),
            (Some("shop"), ts("2026-11-30T13:03:00.250Z"))
        );
    }

    /// Hands out its data a few bytes at a time.
    struct Trickle<'a> {
        data: &'a [u8],
        rng: fastrand::Rng,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.rng.u8(0..10) == 0 {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = self.data.len().min(buf.len()).min(self.rng.usize(1..40));
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn small_reads_give_the_same_records() {
        let fixture = Fixture {
            days: 1,
            scale: 0.05,
            ..Fixture::new(ts("2026-11-30T00:00:00Z"), 1, chrono_tz::UTC)
        };
        let mut logs = Vec::new();
        fixture.write_heroku_logs(&mut logs).unwrap();
        let mut frames = Vec::new();
        fixture.write_logplex(&mut frames).unwrap();
        for data in [logs, frames, b"12345".to_vec(), b"1".to_vec(), Vec::new()] {
            let whole = kinds(&data);
            for seed in 0..3 {
                let mut trickle = Trickle {
                    data: &data,
                    rng: fastrand::Rng::with_seed(seed),
                };
                let mut kinds_trickled = Vec::new();
                let counts = read(&mut trickle, |record| {
                    kinds_trickled.push(matches!(record, Record::Router(_)))
                })
                .unwrap();
                assert_eq!(counts, whole.1);
                assert_eq!(kinds_trickled.len(), whole.0.len());
            }
        }
        let gz =
            gzip(b"2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=/ status=200\n");
        let mut trickle = Trickle {
            data: &gz,
            rng: fastrand::Rng::with_seed(1),
        };
        assert_eq!(read(&mut trickle, |_| {}).unwrap().router, 1);
    }

    #[test]
    fn long_lines_are_garbage_and_skipped_in_bounded_memory() {
        let ok = "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=/ status=200";
        let longest = format!("{ok} x={}", "y".repeat(MAX_LINE - ok.len() - 3));
        assert_eq!(longest.len(), MAX_LINE);
        let too_long = format!("{longest}y");
        let huge = "z".repeat(3 * BUFFER + 17);
        let input = format!("{longest}\n{too_long}\n{ok}\n{huge}\n{ok}\n{huge}");
        let (seen, counts) = kinds(input.as_bytes());
        assert_eq!(
            seen,
            [
                "router 200",
                "garbage",
                "router 200",
                "garbage",
                "router 200",
                "garbage"
            ]
        );
        assert_eq!((counts.too_long, counts.garbage), (3, 3));
        assert_eq!(counts.bad_bytes, (too_long.len() + 2 * huge.len()) as u64);
        // A frame of the largest size is read whole.
        let head = "<190>1 2026-11-30T14:03:00Z h app web.1 - ";
        let body = format!("{head}{}", "x".repeat(logplex::MAX_FRAME - head.len()));
        let frame = format!("{} {body}\n{ok}", body.len());
        assert_eq!(kinds(frame.as_bytes()).0, ["other", "router 200"]);
    }

    #[test]
    fn lines_that_are_not_utf8_are_garbage() {
        let mut input = b"2026-11-30T14:03:00Z app[web.1]: caf\xe9\n".to_vec();
        input.extend_from_slice(
            b"2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=/ status=200",
        );
        assert_eq!(kinds(&input).0, ["garbage", "router 200"]);
    }

    #[test]
    fn decompressed_size_is_capped() {
        let data = vec![b'\n'; 10_000];
        let gz = gzip(&data);
        assert_eq!(read_capped(&gz[..], 10_000, |_| {}).unwrap().bytes, 10_000);
        let err = read_capped(&gz[..], 9_999, |_| {}).unwrap_err();
        assert_eq!(
            err.to_string(),
            "decompresses to more than 9999 bytes; stopped there"
        );
        // Plain input is not capped (it streams anyway).
        assert_eq!(read_capped(&data[..], 10, |_| {}).unwrap().bytes, 10_000);
    }

    #[test]
    fn broken_gzip_is_an_error_after_the_records_before_it() {
        let lines = "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=/ status=200\n"
            .repeat(1000);
        let gz = gzip(lines.as_bytes());
        let mut seen = 0;
        let err = read(&gz[..gz.len() - 30], |_| seen += 1).unwrap_err();
        assert!(seen > 0 && seen < 1000, "{seen}");
        assert!(!err.to_string().is_empty());
        let mut corrupt = gz.clone();
        corrupt[20] ^= 0xff;
        assert!(read(&corrupt[..], |_| {}).is_err());
    }

    #[test]
    fn files_and_their_errors() {
        let dir = std::env::temp_dir().join(format!("autoscale-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Gzip in a file named .log: told by its content.
        let path = dir.join("router.log");
        let line = "2026-11-30T14:03:00Z heroku[router]: at=info method=GET path=/ status=200\n";
        std::fs::write(&path, gzip(line.as_bytes())).unwrap();
        let mut routers = 0;
        let counts =
            read_path(&path, |r| routers += matches!(r, Record::Router(_)) as u32).unwrap();
        assert_eq!((routers, counts.router), (1, 1));
        let missing = dir.join("missing.log");
        let err = read_path(&missing, |_| {}).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("{}: ", missing.display())),
            "{err}"
        );
        assert!(!err.to_string().contains('\n'));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
