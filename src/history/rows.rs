//! What the history keeps: one plain row type per kind, as the daemon hands them over and as the
//! readers give them back.
//!
//! Pure: no I/O, no clock. The checks here are what makes a row safe to store (finite numbers,
//! bounded text) and what makes two shards agree on a target's key without asking anyone.

/// Where a health verdict came from, and why a quantity is held: the values the log lines
/// write, stored as they are written.
pub use crate::event::{HoldReason, ProbeSource};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

/// The probe's own verdict type: what is stored is what the probe decided.
pub use crate::probe::Outcome;
use crate::traffic::minute::Minute;

/// Longest app or process name kept (Heroku allows 30-character app names and 36-character ids).
pub const MAX_NAME_BYTES: usize = 100;
/// Longest reason, result or alert kind kept; longer text is cut.
pub const MAX_LABEL_BYTES: usize = 64;
/// Longest alert message kept; longer text is cut.
pub const MAX_MESSAGE_BYTES: usize = 1024;
/// Largest `busy` value accepted (mean requests in service): far above any real app.
pub const MAX_BUSY: f64 = 1.0e9;

/// One minute of an app's router traffic (the `event=traffic` fields).
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficRow {
    pub app: String,
    pub process: String,
    /// Start of the minute; stored truncated to the whole minute.
    pub minute: DateTime<Utc>,
    pub requests: u32,
    pub p50_ms: u32,
    pub p95_ms: u32,
    pub p99_ms: u32,
    pub errors: u32,
    pub h10: u32,
    pub h12: u32,
    pub h13: u32,
    pub s2xx: u32,
    pub s3xx: u32,
    pub s4xx: u32,
    pub s5xx: u32,
    /// Mean requests in service over the minute (Little's law); finite, 0 to [`MAX_BUSY`].
    pub busy: f64,
    pub dynos: u32,
}

/// One minute of a worker's job queue (the `event=queue` fields): what the minute's first read
/// saw, and the dynos and concurrency it was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRow {
    pub app: String,
    pub process: String,
    /// Start of the minute; stored truncated to the whole minute.
    pub minute: DateTime<Utc>,
    /// Jobs ready to run.
    pub depth: u64,
    /// Age of the oldest ready job, in milliseconds (0 when none waits).
    pub latency_ms: u64,
    /// Jobs running on the target's dynos, where the store says.
    pub busy: Option<u64>,
    /// Jobs finished since the previous minute's line, where the store counts them.
    pub done: Option<u64>,
    /// Dynos running when it was read.
    pub dynos: u32,
    /// Jobs one dyno runs at once (AUTOSCALE_CONCURRENCY, or as the processes report it).
    pub concurrency: u32,
}

/// One check of a target.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeRow {
    pub app: String,
    pub process: String,
    pub at: DateTime<Utc>,
    pub source: ProbeSource,
    pub outcome: Outcome,
    /// HTTP status, when an answer came.
    pub status: Option<u32>,
    pub latency_ms: Option<u32>,
}

/// One scale decision and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleRow {
    pub app: String,
    pub process: String,
    pub at: DateTime<Utc>,
    pub from: u32,
    pub to: u32,
    /// `startup`, `schedule`, `down`, ... (the `event=scale` reason; cut at [`MAX_LABEL_BYTES`]).
    pub reason: String,
    /// `ok`, `dry_run`, `error`, ... (cut at [`MAX_LABEL_BYTES`]).
    pub result: String,
}

/// A hold starting (`ended == false`) or ending (`ended == true`).
#[derive(Debug, Clone, PartialEq)]
pub struct HoldRow {
    pub app: String,
    pub process: String,
    pub at: DateTime<Utc>,
    pub reason: HoldReason,
    pub quantity: u32,
    /// `None`: until further notice (a pause `forever`).
    pub until: Option<DateTime<Utc>>,
    pub ended: bool,
}

/// An alert as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    pub app: String,
    pub process: String,
    pub at: DateTime<Utc>,
    /// `scale_out`, `risky_start`, ... (cut at [`MAX_LABEL_BYTES`]).
    pub kind: String,
    /// Cut at [`MAX_MESSAGE_BYTES`] on a character boundary.
    pub message: String,
}

/// Any row, as [`crate::history::HistoryHandle::record`] takes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    Traffic(TrafficRow),
    Queue(QueueRow),
    Probe(ProbeRow),
    Scale(ScaleRow),
    Hold(HoldRow),
    Alert(AlertRow),
}

/// Why a row was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRow {
    #[error("the {0} name is empty or longer than {MAX_NAME_BYTES} bytes")]
    Name(&'static str),
    #[error("busy is not a finite number between 0 and {MAX_BUSY}")]
    Busy,
}

impl Row {
    /// The target the row belongs to: (app, process).
    pub fn target(&self) -> (&str, &str) {
        let (app, process) = match self {
            Row::Traffic(r) => (&r.app, &r.process),
            Row::Queue(r) => (&r.app, &r.process),
            Row::Probe(r) => (&r.app, &r.process),
            Row::Scale(r) => (&r.app, &r.process),
            Row::Hold(r) => (&r.app, &r.process),
            Row::Alert(r) => (&r.app, &r.process),
        };
        (app, process)
    }

    /// When it happened (a traffic row: the start of its minute).
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Row::Traffic(r) => r.minute,
            Row::Queue(r) => r.minute,
            Row::Probe(r) => r.at,
            Row::Scale(r) => r.at,
            Row::Hold(r) => r.at,
            Row::Alert(r) => r.at,
        }
    }

    /// The row as it is stored: names checked, numbers checked, text cut to its cap, a traffic
    /// minute truncated to the whole minute (so that the same minute from two shards or a
    /// restart is one row).
    pub fn normalized(self) -> Result<Row, InvalidRow> {
        let (app, process) = self.target();
        check_name("app", app)?;
        check_name("process", process)?;
        Ok(match self {
            Row::Traffic(mut r) => {
                if !(r.busy.is_finite() && (0.0..=MAX_BUSY).contains(&r.busy)) {
                    return Err(InvalidRow::Busy);
                }
                r.minute = whole_minute(r.minute);
                Row::Traffic(r)
            }
            Row::Queue(mut r) => {
                r.minute = whole_minute(r.minute);
                Row::Queue(r)
            }
            Row::Probe(r) => Row::Probe(r),
            Row::Scale(mut r) => {
                cut(&mut r.reason, MAX_LABEL_BYTES);
                cut(&mut r.result, MAX_LABEL_BYTES);
                Row::Scale(r)
            }
            Row::Hold(r) => Row::Hold(r),
            Row::Alert(mut r) => {
                cut(&mut r.kind, MAX_LABEL_BYTES);
                cut(&mut r.message, MAX_MESSAGE_BYTES);
                Row::Alert(r)
            }
        })
    }
}

impl TrafficRow {
    /// The row of an `event=traffic` minute. Counts beyond `u32` saturate; a quantile the
    /// minute does not have (no request had a service time) is stored as 0.
    pub fn of_minute(m: &Minute) -> TrafficRow {
        let count = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        TrafficRow {
            app: m.app.clone(),
            process: m.process.clone(),
            minute: m.minute,
            requests: count(m.requests),
            p50_ms: m.p50_ms.unwrap_or(0),
            p95_ms: m.p95_ms.unwrap_or(0),
            p99_ms: m.p99_ms.unwrap_or(0),
            errors: count(m.errors),
            h10: count(m.h10),
            h12: count(m.h12),
            h13: count(m.h13),
            s2xx: count(m.s2xx),
            s3xx: count(m.s3xx),
            s4xx: count(m.s4xx),
            s5xx: count(m.s5xx),
            busy: m.busy,
            dynos: m.dynos,
        }
    }

    /// The minute back, as the readers (`chart`, `suggest`, `replay`) take it. Quantiles that
    /// are all 0 read as unknown: that is how a minute without service times was stored (a
    /// minute of only 0 ms requests reads the same, and charts the same).
    pub fn to_minute(&self) -> Minute {
        let measured = self.p50_ms != 0 || self.p95_ms != 0 || self.p99_ms != 0;
        let quantile = |q: u32| measured.then_some(q);
        Minute {
            app: self.app.clone(),
            process: self.process.clone(),
            minute: self.minute,
            requests: u64::from(self.requests),
            p50_ms: quantile(self.p50_ms),
            p95_ms: quantile(self.p95_ms),
            p99_ms: quantile(self.p99_ms),
            errors: u64::from(self.errors),
            h10: u64::from(self.h10),
            h12: u64::from(self.h12),
            h13: u64::from(self.h13),
            s2xx: u64::from(self.s2xx),
            s3xx: u64::from(self.s3xx),
            s4xx: u64::from(self.s4xx),
            s5xx: u64::from(self.s5xx),
            busy: self.busy,
            dynos: self.dynos,
        }
    }
}

macro_rules! row_from {
    ($($variant:ident($row:ty)),*) => {$(
        impl From<$row> for Row {
            fn from(row: $row) -> Row {
                Row::$variant(row)
            }
        }
    )*};
}
row_from!(
    Traffic(TrafficRow),
    Queue(QueueRow),
    Probe(ProbeRow),
    Scale(ScaleRow),
    Hold(HoldRow),
    Alert(AlertRow)
);

fn check_name(which: &'static str, name: &str) -> Result<(), InvalidRow> {
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return Err(InvalidRow::Name(which));
    }
    Ok(())
}

/// Cuts `text` to at most `max` bytes, on a character boundary.
pub(crate) fn cut(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

fn whole_minute(at: DateTime<Utc>) -> DateTime<Utc> {
    // Only fails out of chrono's range, where the instant is kept as it is.
    at.duration_trunc(TimeDelta::minutes(1)).unwrap_or(at)
}

/// A target's key in the database: FNV-1a (64 bits) of `app`, a NUL byte and `process`.
///
/// Computed, not allocated: every shard and every restart derives the same key with no
/// sequence to share and no round trip. The writer checks the stored names behind a key before
/// using it, so a collision (about 1 in 10^11 for 10,000 targets) is refused, not merged.
pub fn target_id(app: &str, process: &str) -> i64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for byte in app.bytes().chain([0]).chain(process.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(PRIME);
    }
    hash as i64
}

/// A count as stored (SQL `INTEGER` is signed 32-bit): saturates instead of wrapping.
pub(crate) fn to_sql(count: u32) -> i32 {
    i32::try_from(count).unwrap_or(i32::MAX)
}

/// A stored count read back: a negative value (written by someone else) reads as 0.
pub(crate) fn from_sql(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

/// An instant as stored: milliseconds since the Unix epoch.
pub(crate) fn to_millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// A stored instant read back; `None` when out of chrono's range.
pub(crate) fn from_millis(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// A stored health verdict read back (`down`, `slow`, `ok`, `fast`).
pub fn parse_outcome(text: &str) -> Option<Outcome> {
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minute_goes_in_and_comes_back_as_it_was() {
        let mut m = Minute {
            app: "shop".into(),
            process: "web".into(),
            minute: at("2026-11-30T12:00:00Z"),
            requests: 120,
            p50_ms: Some(0),
            p95_ms: Some(95),
            p99_ms: Some(99),
            errors: 3,
            h10: 1,
            h12: 2,
            h13: 4,
            s2xx: 100,
            s3xx: 5,
            s4xx: 6,
            s5xx: 7,
            busy: 1.25,
            dynos: 2,
        };
        let row = TrafficRow::of_minute(&m);
        assert_eq!((row.p50_ms, row.p95_ms, row.h13, row.s5xx), (0, 95, 4, 7));
        assert_eq!(row.to_minute(), m, "every field survives the round trip");
        m.p50_ms = None;
        m.p95_ms = None;
        m.p99_ms = None;
        m.requests = u64::MAX;
        let row = TrafficRow::of_minute(&m);
        assert_eq!(row.requests, u32::MAX, "counts saturate");
        let back = row.to_minute();
        assert_eq!((back.p50_ms, back.p95_ms, back.p99_ms), (None, None, None));
        assert_eq!(back.requests, u64::from(u32::MAX));
        for (p50, p95, p99) in [(1, 0, 0), (0, 1, 0), (0, 0, 1)] {
            let row = TrafficRow {
                p50_ms: p50,
                p95_ms: p95,
                p99_ms: p99,
                ..row.clone()
            };
            assert_eq!(
                row.to_minute().p50_ms,
                Some(p50),
                "one measured quantile: all known"
            );
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    pub(crate) fn traffic(app: &str, minute: &str) -> TrafficRow {
        TrafficRow {
            app: app.into(),
            process: "web".into(),
            minute: at(minute),
            requests: 1200,
            p50_ms: 40,
            p95_ms: 180,
            p99_ms: 900,
            errors: 3,
            h10: 0,
            h12: 1,
            h13: 2,
            s2xx: 1100,
            s3xx: 50,
            s4xx: 47,
            s5xx: 3,
            busy: 2.5,
            dynos: 2,
        }
    }

    fn alert(kind: &str, message: &str) -> Row {
        Row::Alert(AlertRow {
            app: "shop".into(),
            process: "web".into(),
            at: at("2026-11-30T10:00:00Z"),
            kind: kind.into(),
            message: message.into(),
        })
    }

    #[test]
    fn labels_round_trip_and_unknown_text_is_refused() {
        for s in [ProbeSource::Probe, ProbeSource::Traffic] {
            assert_eq!(ProbeSource::parse(s.as_str()), Some(s));
        }
        for o in [Outcome::Down, Outcome::Slow, Outcome::Ok, Outcome::Fast] {
            assert_eq!(parse_outcome(o.as_str()), Some(o));
        }
        for r in [HoldReason::Manual, HoldReason::Pause, HoldReason::Deploy] {
            assert_eq!(HoldReason::parse(r.as_str()), Some(r));
        }
        assert_eq!(
            ["probe", "traffic", "down", "slow", "ok", "fast"],
            [
                ProbeSource::Probe.as_str(),
                ProbeSource::Traffic.as_str(),
                Outcome::Down.as_str(),
                Outcome::Slow.as_str(),
                Outcome::Ok.as_str(),
                Outcome::Fast.as_str()
            ]
        );
        assert_eq!(
            ["manual", "pause", "deploy"],
            [
                HoldReason::Manual.as_str(),
                HoldReason::Pause.as_str(),
                HoldReason::Deploy.as_str()
            ]
        );
        assert_eq!(parse_outcome("DOWN"), None);
        assert_eq!(ProbeSource::parse(""), None);
        assert_eq!(HoldReason::parse("holiday"), None);
    }

    #[test]
    fn a_traffic_minute_is_truncated_to_the_whole_minute() {
        let row = Row::Traffic(traffic("shop", "2026-11-30T10:07:42.250Z"));
        let Row::Traffic(stored) = row.normalized().unwrap() else {
            panic!("kind changed")
        };
        assert_eq!(stored.minute, at("2026-11-30T10:07:00Z"));
        assert_eq!(stored.requests, 1200);
    }

    #[test]
    fn busy_must_be_finite_and_in_range() {
        for busy in [f64::NAN, f64::INFINITY, -0.5, MAX_BUSY * 2.0] {
            let mut row = traffic("shop", "2026-11-30T10:07:00Z");
            row.busy = busy;
            assert_eq!(
                Row::Traffic(row).normalized(),
                Err(InvalidRow::Busy),
                "{busy}"
            );
        }
        for busy in [0.0, MAX_BUSY] {
            let mut row = traffic("shop", "2026-11-30T10:07:00Z");
            row.busy = busy;
            assert!(Row::Traffic(row).normalized().is_ok(), "{busy}");
        }
    }

    #[test]
    fn names_must_be_present_and_bounded() {
        assert_eq!(
            Row::Traffic(traffic("", "2026-11-30T10:07:00Z")).normalized(),
            Err(InvalidRow::Name("app"))
        );
        let mut row = traffic("shop", "2026-11-30T10:07:00Z");
        row.process = "w".repeat(MAX_NAME_BYTES + 1);
        assert_eq!(
            Row::Traffic(row.clone()).normalized(),
            Err(InvalidRow::Name("process"))
        );
        row.process = "w".repeat(MAX_NAME_BYTES);
        assert!(Row::Traffic(row).normalized().is_ok());
        let mut probe = ProbeRow {
            app: "shop".into(),
            process: String::new(),
            at: at("2026-11-30T10:00:00Z"),
            source: ProbeSource::Probe,
            outcome: Outcome::Ok,
            status: Some(200),
            latency_ms: Some(80),
        };
        assert_eq!(
            Row::Probe(probe.clone()).normalized(),
            Err(InvalidRow::Name("process"))
        );
        probe.process = "web".into();
        assert_eq!(
            Row::Probe(probe.clone()).normalized(),
            Ok(Row::Probe(probe))
        );
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        // 'é' is two bytes: 1,023 ASCII bytes then 'é' cannot fit in 1,024.
        let message = format!("{}é and more", "x".repeat(MAX_MESSAGE_BYTES - 1));
        let kind = "k".repeat(MAX_LABEL_BYTES + 5);
        let Row::Alert(stored) = alert(&kind, &message).normalized().unwrap() else {
            panic!("kind changed")
        };
        assert_eq!(stored.message, "x".repeat(MAX_MESSAGE_BYTES - 1));
        assert_eq!(stored.kind.len(), MAX_LABEL_BYTES);
        let exact = "y".repeat(MAX_MESSAGE_BYTES);
        let Row::Alert(kept) = alert("scale_out", &exact).normalized().unwrap() else {
            panic!("kind changed")
        };
        assert_eq!(kept.message, exact);

        let scale = Row::Scale(ScaleRow {
            app: "shop".into(),
            process: "web".into(),
            at: at("2026-11-30T10:00:00Z"),
            from: 1,
            to: 3,
            reason: "r".repeat(200),
            result: "ok".repeat(100),
        });
        let Row::Scale(stored) = scale.normalized().unwrap() else {
            panic!("kind changed")
        };
        assert_eq!(stored.reason.len(), MAX_LABEL_BYTES);
        assert_eq!(stored.result.len(), MAX_LABEL_BYTES);
    }

    #[test]
    fn rows_tell_their_target_and_time() {
        let hold = Row::from(HoldRow {
            app: "shop".into(),
            process: "worker".into(),
            at: at("2026-11-30T09:00:00Z"),
            reason: HoldReason::Deploy,
            quantity: 2,
            until: None,
            ended: false,
        });
        assert_eq!(hold.target(), ("shop", "worker"));
        assert_eq!(hold.at(), at("2026-11-30T09:00:00Z"));
        let t = Row::from(traffic("cart", "2026-11-30T09:01:00Z"));
        assert_eq!(t.target(), ("cart", "web"));
        assert_eq!(t.at(), at("2026-11-30T09:01:00Z"));
        let a = alert("k", "m");
        assert_eq!(a.at(), at("2026-11-30T10:00:00Z"));
        let s = Row::from(ScaleRow {
            app: "s".into(),
            process: "p".into(),
            at: at("2026-11-30T11:00:00Z"),
            from: 1,
            to: 2,
            reason: "load".into(),
            result: "ok".into(),
        });
        assert_eq!(
            (s.target(), s.at()),
            (("s", "p"), at("2026-11-30T11:00:00Z"))
        );
        let p = Row::from(ProbeRow {
            app: "a".into(),
            process: "b".into(),
            at: at("2026-11-30T12:00:00Z"),
            source: ProbeSource::Traffic,
            outcome: Outcome::Slow,
            status: None,
            latency_ms: None,
        });
        assert_eq!(
            (p.target(), p.at()),
            (("a", "b"), at("2026-11-30T12:00:00Z"))
        );
    }

    #[test]
    fn target_ids_are_fnv1a_of_app_nul_process() {
        // FNV-1a 64 of the bytes "a", 0x00 (computed independently).
        assert_eq!(target_id("a", "") as u64, 0x089b_e207_b544_f1e4);
        assert_eq!(target_id("shop", "web"), target_id("shop", "web"), "stable");
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(target_id("ab", "c"), target_id("a", "bc"));
        assert_ne!(target_id("shop", "web"), target_id("shop", "worker"));
    }

    #[test]
    fn counts_saturate_into_sql_and_negative_values_read_as_zero() {
        assert_eq!(to_sql(7), 7);
        assert_eq!(to_sql(i32::MAX as u32), i32::MAX);
        assert_eq!(to_sql(u32::MAX), i32::MAX);
        assert_eq!(from_sql(7), 7);
        assert_eq!(from_sql(-1), 0);
        let t = at("2026-11-30T10:00:00.123Z");
        assert_eq!(to_millis(t), 1_796_032_800_123);
        assert_eq!(from_millis(1_796_032_800_123), Some(t));
        assert_eq!(from_millis(i64::MAX), None);
    }
}
