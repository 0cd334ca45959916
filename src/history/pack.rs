//! The packed storage format: one database row per target and hour holds that hour's traffic
//! minutes (or probes) as one small binary value, instead of a row per minute (issue "Lean": a
//! Postgres row costs ~28 bytes of header and line pointer and ~28 of index entry before its
//! data; a minute packed here costs ~10–20 bytes).
//!
//! Pure: no I/O, no clock. Every value starts with a format version ([`VERSION`]) and a flags
//! byte; a reader refuses a version it does not know (the row is skipped, never misread), and a
//! value that does not decode (truncated, hostile) is refused the same way, never a panic.
//!
//! Traffic minutes, column by column (values of one column change little from minute to
//! minute): an 8-byte bitmap of the minutes present (bit `i` = minute `i` of the hour), then
//! for each of the [`COUNTS`] counts either one value (the whole hour the same, e.g. H13 = 0) or
//! the zigzag LEB128 deltas from the previous minute's value; then `busy` as whole hundredths
//! (how the daemon computes it: `round(ms / 600) / 100`) the same two ways, or its 8 raw bytes
//! per minute when any of the hour's values is not a whole hundredth (exactness first).
//!
//! Probes, in the order recorded: the milliseconds into the hour (a zigzag delta from the
//! previous probe), a flags byte (source, outcome, which optional fields follow), the status
//! and the latency.
//!
//! Queue minutes (schema 3) like traffic minutes: the bitmap, then [`QUEUE_COLUMNS`] columns
//! (depth, latency, busy, done, dynos, concurrency); `busy` and `done` stored one above their
//! value, 0 meaning the store did not say.
//!
//! When it is smaller, the body after the two header bytes is deflated (flags bit 0).

use std::io::{Read, Write};

use super::rows::{from_sql, to_sql, Outcome, ProbeRow, ProbeSource, QueueRow, TrafficRow};

/// The format this build writes and reads.
pub const VERSION: u8 = 1;
/// Flags bit: the body is deflated.
const DEFLATED: u8 = 1;
/// One hour in milliseconds: the span of one packed value.
pub const HOUR_MS: i64 = 3_600_000;
/// Minutes in an hour.
pub const MINUTES: usize = 60;
/// The counts of a traffic minute, in stored order: requests, p50, p95, p99, errors, h10,
/// h12, h13, s2xx, s3xx, s4xx, s5xx, dynos.
pub const COUNTS: usize = 13;
/// Largest body a value may inflate to: a full hour of minutes needs < 2 KiB; far more is a
/// hostile value.
const MAX_BODY: u64 = 1 << 20;
/// Most probes one hour holds (one a second; more is refused on decode as hostile).
pub const MAX_PROBES: usize = 36_000;

/// Column tags.
const SAME: u8 = 0;
const DELTAS: u8 = 1;
/// `busy` tags: hundredths (then a column), or raw f64 bits.
const HUNDREDTHS: u8 = 0;
const RAW: u8 = 1;

/// The start of the hour holding `ms` (milliseconds since the epoch).
pub fn hour_of(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS) * HOUR_MS
}

/// One traffic minute of an hour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PackedMinute {
    /// The minute of the hour, 0 to 59.
    pub minute: u8,
    /// See [`COUNTS`].
    pub counts: [u32; COUNTS],
    pub busy: f64,
}

/// One queue minute of an hour, its values in stored order (see [`QUEUE_COLUMNS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackedQueueMinute {
    /// The minute of the hour, 0 to 59.
    pub minute: u8,
    pub values: [u64; QUEUE_COLUMNS],
}

/// The values of a queue minute, in stored order: depth, latency (ms), busy + 1, done + 1
/// (0: not known), dynos, concurrency.
pub const QUEUE_COLUMNS: usize = 6;

/// One probe of an hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackedProbe {
    /// Milliseconds into the hour, below [`HOUR_MS`].
    pub offset_ms: u32,
    /// 0: probe, 1: traffic.
    pub source: u8,
    /// 0 to 3: down, slow, ok, fast.
    pub outcome: u8,
    pub status: Option<u32>,
    pub latency_ms: Option<u32>,
}

/// Why a stored value was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unreadable {
    #[error("format version {0} is not known to this build")]
    Version(u8),
    #[error("the value is truncated or malformed")]
    Malformed,
}

/// `minutes` (sorted by minute, each once, minute < 60) as one value.
pub fn encode_minutes(minutes: &[PackedMinute]) -> Vec<u8> {
    let mut body = Vec::with_capacity(16 + minutes.len() * 16);
    body.extend_from_slice(&minutes_bitmap(minutes.iter().map(|m| m.minute)).to_le_bytes());
    for column in 0..COUNTS {
        put_column(
            &mut body,
            minutes.iter().map(|m| stored_count(&m.counts, column)),
        );
    }
    let hundredths: Option<Vec<u64>> = minutes.iter().map(|m| as_hundredths(m.busy)).collect();
    match hundredths {
        Some(values) => {
            body.push(HUNDREDTHS);
            put_column(&mut body, values.into_iter());
        }
        None => {
            body.push(RAW);
            for m in minutes {
                body.extend_from_slice(&m.busy.to_bits().to_le_bytes());
            }
        }
    }
    seal(body)
}

/// The minutes of a value, sorted by minute.
pub fn decode_minutes(value: &[u8]) -> Result<Vec<PackedMinute>, Unreadable> {
    let body = open(value)?;
    let mut r = Reader::new(&body);
    let present = present_minutes(&mut r)?;
    let n = present.len();
    let mut minutes: Vec<PackedMinute> = present
        .iter()
        .map(|&minute| PackedMinute {
            minute,
            counts: [0; COUNTS],
            busy: 0.0,
        })
        .collect();
    let mut columns = Vec::with_capacity(COUNTS);
    for _ in 0..COUNTS {
        columns.push(r.column(n)?);
    }
    for (i, m) in minutes.iter_mut().enumerate() {
        let stored: [u64; COUNTS] = std::array::from_fn(|c| columns[c][i]);
        m.counts = read_counts(&stored).ok_or(Unreadable::Malformed)?;
    }
    match r.byte()? {
        HUNDREDTHS => {
            for (m, value) in minutes.iter_mut().zip(r.column(n)?) {
                m.busy = value as f64 / 100.0;
            }
        }
        RAW => {
            for m in &mut minutes {
                let bytes = r.take(8)?.try_into().map_err(|_| Unreadable::Malformed)?;
                m.busy = f64::from_bits(u64::from_le_bytes(bytes));
            }
        }
        _ => return Err(Unreadable::Malformed),
    }
    r.end()?;
    Ok(minutes)
}

/// The bitmap of the minutes present.
fn minutes_bitmap(minutes: impl Iterator<Item = u8>) -> u64 {
    minutes.fold(0u64, |map, m| map | 1u64 << (m % 64))
}

/// The minutes a bitmap says are present (refused when it names a minute past 59).
fn present_minutes(r: &mut Reader) -> Result<Vec<u8>, Unreadable> {
    let bitmap = u64::from_le_bytes(r.take(8)?.try_into().map_err(|_| Unreadable::Malformed)?);
    if bitmap >> MINUTES != 0 {
        return Err(Unreadable::Malformed);
    }
    Ok((0..MINUTES as u8)
        .filter(|i| bitmap & (1u64 << i) != 0)
        .collect())
}

/// Queue `minutes` (sorted by minute, each once, minute < 60) as one value.
pub fn encode_queue_minutes(minutes: &[PackedQueueMinute]) -> Vec<u8> {
    let mut body = Vec::with_capacity(8 + QUEUE_COLUMNS * 2 + minutes.len() * 8);
    body.extend_from_slice(&minutes_bitmap(minutes.iter().map(|m| m.minute)).to_le_bytes());
    for column in 0..QUEUE_COLUMNS {
        put_column(&mut body, minutes.iter().map(|m| m.values[column]));
    }
    seal(body)
}

/// The queue minutes of a value, sorted by minute.
pub fn decode_queue_minutes(value: &[u8]) -> Result<Vec<PackedQueueMinute>, Unreadable> {
    let body = open(value)?;
    let mut r = Reader::new(&body);
    let present = present_minutes(&mut r)?;
    let mut columns = Vec::with_capacity(QUEUE_COLUMNS);
    for _ in 0..QUEUE_COLUMNS {
        columns.push(r.column(present.len())?);
    }
    r.end()?;
    Ok(present
        .iter()
        .enumerate()
        .map(|(i, &minute)| PackedQueueMinute {
            minute,
            values: std::array::from_fn(|c| columns[c][i]),
        })
        .collect())
}

/// `probes` (in the order recorded) as one value.
pub fn encode_probes(probes: &[PackedProbe]) -> Vec<u8> {
    let mut body = Vec::with_capacity(4 + probes.len() * 6);
    put_varint(&mut body, probes.len() as u64);
    let mut previous = 0i64;
    for p in probes {
        let offset = i64::from(p.offset_ms);
        put_varint(&mut body, zigzag(offset - previous));
        previous = offset;
        let flags = (p.source & 1)
            | (p.outcome & 3) << 1
            | u8::from(p.status.is_some()) << 3
            | u8::from(p.latency_ms.is_some()) << 4;
        body.push(flags);
        if let Some(status) = p.status {
            put_varint(&mut body, u64::from(status));
        }
        if let Some(latency) = p.latency_ms {
            put_varint(&mut body, u64::from(latency));
        }
    }
    seal(body)
}

/// The probes of a value, in the order recorded.
pub fn decode_probes(value: &[u8]) -> Result<Vec<PackedProbe>, Unreadable> {
    let body = open(value)?;
    let mut r = Reader::new(&body);
    let n = usize::try_from(r.varint()?).map_err(|_| Unreadable::Malformed)?;
    if n > MAX_PROBES {
        return Err(Unreadable::Malformed);
    }
    let mut probes = Vec::with_capacity(n);
    let mut offset = 0i64;
    for _ in 0..n {
        offset += unzigzag(r.varint()?);
        let offset_ms = u32::try_from(offset)
            .ok()
            .filter(|&o| i64::from(o) < HOUR_MS)
            .ok_or(Unreadable::Malformed)?;
        let flags = r.byte()?;
        if flags >> 5 != 0 {
            return Err(Unreadable::Malformed);
        }
        let mut small = |present: bool| -> Result<Option<u32>, Unreadable> {
            if !present {
                return Ok(None);
            }
            let v = r.varint()?;
            u32::try_from(v)
                .map(Some)
                .map_err(|_| Unreadable::Malformed)
        };
        let status = small(flags & 8 != 0)?;
        let latency_ms = small(flags & 16 != 0)?;
        probes.push(PackedProbe {
            offset_ms,
            source: flags & 1,
            outcome: (flags >> 1) & 3,
            status,
            latency_ms,
        });
    }
    r.end()?;
    Ok(probes)
}

/// What a stored hour is merged with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// The new entries are newer (the writer): a traffic minute given again is replaced, new
    /// probes come after the stored ones.
    NewWins,
    /// The new entries are older (converting schema 1's rows): a stored minute is kept, the
    /// converted probes come before the stored ones.
    OldWins,
}

/// A stored hour of minutes (`None`: no row yet) merged with `new` (sorted, each minute once):
/// the number of minutes and the value to store. A stored value this build cannot read is
/// replaced.
pub fn merge_minutes(
    stored: Option<&[u8]>,
    new: &[PackedMinute],
    merge: Merge,
) -> (usize, Vec<u8>) {
    let mut all: Vec<PackedMinute> = stored
        .and_then(|v| decode_minutes(v).ok())
        .unwrap_or_default();
    for m in new {
        match all.binary_search_by_key(&m.minute, |s| s.minute) {
            Ok(i) if merge == Merge::NewWins => all[i] = *m,
            Ok(_) => {}
            Err(i) => all.insert(i, *m),
        }
    }
    (all.len(), encode_minutes(&all))
}

/// A stored hour of queue minutes merged with `new` (sorted, each minute once; the new win):
/// the number of minutes and the value to store. A stored value this build cannot read is
/// replaced.
pub fn merge_queue_minutes(
    stored: Option<&[u8]>,
    new: &[PackedQueueMinute],
    merge: Merge,
) -> (usize, Vec<u8>) {
    let mut all: Vec<PackedQueueMinute> = stored
        .and_then(|v| decode_queue_minutes(v).ok())
        .unwrap_or_default();
    for m in new {
        match all.binary_search_by_key(&m.minute, |s| s.minute) {
            Ok(i) if merge == Merge::NewWins => all[i] = *m,
            Ok(_) => {}
            Err(i) => all.insert(i, *m),
        }
    }
    (all.len(), encode_queue_minutes(&all))
}

/// A stored hour of probes merged with `new`: the number of probes and the value to store.
pub fn merge_probes(stored: Option<&[u8]>, new: &[PackedProbe], merge: Merge) -> (usize, Vec<u8>) {
    let stored = stored
        .and_then(|v| decode_probes(v).ok())
        .unwrap_or_default();
    let all = match merge {
        Merge::NewWins => [stored.as_slice(), new].concat(),
        Merge::OldWins => [new, stored.as_slice()].concat(),
    };
    (all.len(), encode_probes(&all))
}

/// A traffic row as packed: the hour it belongs to (epoch milliseconds) and its minute. Counts
/// saturate at `i32::MAX` as schema 1's `INTEGER` columns did, so both read the same.
pub fn pack_minute(row: &TrafficRow) -> (i64, PackedMinute) {
    let at = row.minute.timestamp_millis();
    let hour = hour_of(at);
    let stored = |v: u32| from_sql(to_sql(v));
    let counts = [
        row.requests,
        row.p50_ms,
        row.p95_ms,
        row.p99_ms,
        row.errors,
        row.h10,
        row.h12,
        row.h13,
        row.s2xx,
        row.s3xx,
        row.s4xx,
        row.s5xx,
        row.dynos,
    ]
    .map(stored);
    let minute = ((at - hour) / 60_000) as u8;
    (
        hour,
        PackedMinute {
            minute,
            counts,
            busy: row.busy,
        },
    )
}

/// A packed minute of the hour starting at `hour` back as a traffic row.
pub fn unpack_minute(app: &str, process: &str, hour: i64, m: &PackedMinute) -> Option<TrafficRow> {
    let at = hour.checked_add(i64::from(m.minute) * 60_000)?;
    let minute = chrono::DateTime::from_timestamp_millis(at)?;
    let [requests, p50_ms, p95_ms, p99_ms, errors, h10, h12, h13, s2xx, s3xx, s4xx, s5xx, dynos] =
        m.counts;
    Some(TrafficRow {
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
        busy: m.busy,
        dynos,
    })
}

/// A queue row as packed: the hour it belongs to and its minute.
pub fn pack_queue_minute(row: &QueueRow) -> (i64, PackedQueueMinute) {
    let at = row.minute.timestamp_millis();
    let hour = hour_of(at);
    let known = |v: Option<u64>| v.map_or(0, |v| v.saturating_add(1));
    (
        hour,
        PackedQueueMinute {
            minute: ((at - hour) / 60_000) as u8,
            values: [
                row.depth,
                row.latency_ms,
                known(row.busy),
                known(row.done),
                u64::from(row.dynos),
                u64::from(row.concurrency),
            ],
        },
    )
}

/// A packed queue minute of the hour starting at `hour` back as a row; `None` when a value is
/// out of range (a damaged value).
pub fn unpack_queue_minute(
    app: &str,
    process: &str,
    hour: i64,
    m: &PackedQueueMinute,
) -> Option<QueueRow> {
    let at = hour.checked_add(i64::from(m.minute) * 60_000)?;
    let [depth, latency_ms, busy, done, dynos, concurrency] = m.values;
    let known = |v: u64| v.checked_sub(1);
    Some(QueueRow {
        app: app.to_owned(),
        process: process.to_owned(),
        minute: chrono::DateTime::from_timestamp_millis(at)?,
        depth,
        latency_ms,
        busy: known(busy),
        done: known(done),
        dynos: u32::try_from(dynos).ok()?,
        concurrency: u32::try_from(concurrency).ok()?,
    })
}

const OUTCOMES: [Outcome; 4] = [Outcome::Down, Outcome::Slow, Outcome::Ok, Outcome::Fast];

/// A probe row as packed: its hour and the probe. Numbers saturate as in schema 1.
pub fn pack_probe(row: &ProbeRow) -> (i64, PackedProbe) {
    let at = row.at.timestamp_millis();
    let hour = hour_of(at);
    let stored = |v: u32| from_sql(to_sql(v));
    (
        hour,
        PackedProbe {
            offset_ms: (at - hour) as u32,
            source: u8::from(row.source == ProbeSource::Traffic),
            outcome: OUTCOMES.iter().position(|o| *o == row.outcome).unwrap_or(0) as u8,
            status: row.status.map(stored),
            latency_ms: row.latency_ms.map(stored),
        },
    )
}

/// A packed probe of the hour starting at `hour` back as a probe row.
pub fn unpack_probe(app: &str, process: &str, hour: i64, p: &PackedProbe) -> Option<ProbeRow> {
    Some(ProbeRow {
        app: app.to_owned(),
        process: process.to_owned(),
        at: chrono::DateTime::from_timestamp_millis(hour.checked_add(i64::from(p.offset_ms))?)?,
        source: if p.source == 1 {
            ProbeSource::Traffic
        } else {
            ProbeSource::Probe
        },
        outcome: OUTCOMES[usize::from(p.outcome & 3)],
        status: p.status,
        latency_ms: p.latency_ms,
    })
}

/// Indexes into the counts (see [`COUNTS`]).
const REQUESTS: usize = 0;
const ERRORS: usize = 4;
const S2XX: usize = 8;
const S3XX: usize = 9;
const S4XX: usize = 10;
const S5XX: usize = 11;

/// A count as stored: most are themselves; 2xx is stored as what the other classes leave of
/// the requests (`requests - 3xx - 4xx - 5xx - 2xx`: 0 but for requests without a status) and
/// errors as their difference from 5xx (the router's errors answer 503): both nearly always 0,
/// a column of one value, where the counts themselves would take two bytes a minute.
fn stored_count(counts: &[u32; COUNTS], column: usize) -> u64 {
    let c = |i: usize| i64::from(counts[i]);
    match column {
        S2XX => zigzag(c(REQUESTS) - c(S3XX) - c(S4XX) - c(S5XX) - c(S2XX)),
        ERRORS => zigzag(c(S5XX) - c(ERRORS)),
        _ => u64::from(counts[column]),
    }
}

/// The counts back from their stored form; `None` when one is out of range (a damaged value).
fn read_counts(stored: &[u64; COUNTS]) -> Option<[u32; COUNTS]> {
    let mut counts = [0u32; COUNTS];
    for (column, value) in stored.iter().enumerate() {
        if column != S2XX && column != ERRORS {
            counts[column] = u32::try_from(*value).ok()?;
        }
    }
    let c = |i: usize| i64::from(counts[i]);
    let s2xx = c(REQUESTS) - c(S3XX) - c(S4XX) - c(S5XX) - unzigzag(stored[S2XX]);
    let errors = c(S5XX) - unzigzag(stored[ERRORS]);
    counts[S2XX] = u32::try_from(s2xx).ok()?;
    counts[ERRORS] = u32::try_from(errors).ok()?;
    Some(counts)
}

/// `busy` as whole hundredths, when that is exactly what it is (bit for bit).
fn as_hundredths(busy: f64) -> Option<u64> {
    if !(0.0..=1e15).contains(&busy) {
        return None;
    }
    let n = (busy * 100.0).round() as u64;
    ((n as f64 / 100.0).to_bits() == busy.to_bits()).then_some(n)
}

/// A column: one value when they are all the same (or there are none), else deltas.
fn put_column(out: &mut Vec<u8>, values: impl Iterator<Item = u64> + Clone) {
    let mut all = values.clone();
    let first = all.next().unwrap_or(0);
    if all.all(|v| v == first) {
        out.push(SAME);
        put_varint(out, first);
        return;
    }
    out.push(DELTAS);
    let mut previous = 0u64;
    for v in values {
        put_varint(out, zigzag(v.wrapping_sub(previous) as i64));
        previous = v;
    }
}

/// The header and the body, deflated when that is smaller.
fn seal(body: Vec<u8>) -> Vec<u8> {
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    let deflated = encoder
        .write_all(&body)
        .and_then(|()| encoder.finish())
        .ok();
    match deflated {
        Some(d) if d.len() < body.len() => [&[VERSION, DEFLATED][..], &d].concat(),
        _ => [&[VERSION, 0][..], &body].concat(),
    }
}

/// The body of a value (inflated when it was deflated).
fn open(value: &[u8]) -> Result<Vec<u8>, Unreadable> {
    let [version, flags, body @ ..] = value else {
        return Err(Unreadable::Malformed);
    };
    if *version != VERSION {
        return Err(Unreadable::Version(*version));
    }
    match *flags {
        0 => Ok(body.to_vec()),
        DEFLATED => {
            let mut out = Vec::new();
            flate2::read::DeflateDecoder::new(body)
                .take(MAX_BODY + 1)
                .read_to_end(&mut out)
                .map_err(|_| Unreadable::Malformed)?;
            if out.len() as u64 > MAX_BODY {
                return Err(Unreadable::Malformed);
            }
            Ok(out)
        }
        _ => Err(Unreadable::Malformed),
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Unreadable> {
        if self.bytes.len() < n {
            return Err(Unreadable::Malformed);
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, Unreadable> {
        Ok(self.take(1)?[0])
    }

    fn varint(&mut self) -> Result<u64, Unreadable> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                // The tenth byte may only carry the top bit.
                if shift == 63 && b > 1 {
                    return Err(Unreadable::Malformed);
                }
                return Ok(value);
            }
        }
        Err(Unreadable::Malformed)
    }

    /// A column of `n` values (see [`put_column`]).
    fn column(&mut self, n: usize) -> Result<Vec<u64>, Unreadable> {
        match self.byte()? {
            SAME => {
                let v = self.varint()?;
                Ok(vec![v; n])
            }
            DELTAS => {
                let mut previous = 0u64;
                let mut values = Vec::with_capacity(n);
                for _ in 0..n {
                    previous = previous.wrapping_add(unzigzag(self.varint()?) as u64);
                    values.push(previous);
                }
                Ok(values)
            }
            _ => Err(Unreadable::Malformed),
        }
    }

    fn end(&self) -> Result<(), Unreadable> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(Unreadable::Malformed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minute(i: u8, requests: u32, busy: f64) -> PackedMinute {
        let mut counts = [0; COUNTS];
        counts[0] = requests;
        counts[1] = 40 + u32::from(i % 3);
        counts[2] = 180;
        counts[3] = 900 + u32::from(i) * 7;
        counts[8] = requests.saturating_sub(3);
        counts[12] = 2;
        PackedMinute {
            minute: i,
            counts,
            busy,
        }
    }

    #[test]
    fn a_full_hour_round_trips_and_is_small() {
        let hour: Vec<PackedMinute> = (0..60)
            .map(|i| minute(i, 3000 + u32::from(i) * 13 % 200, f64::from(i) * 0.07))
            .collect();
        let value = encode_minutes(&hour);
        assert_eq!(decode_minutes(&value), Ok(hour.clone()));
        assert_eq!(value[0], VERSION);
        assert!(value.len() < 60 * 20, "{} bytes", value.len());
    }

    #[test]
    fn gaps_extremes_and_raw_busy_round_trip() {
        let mut odd = minute(59, u32::MAX, 1.0 / 3.0);
        odd.counts[5] = u32::MAX;
        let hour = vec![minute(0, 0, 0.0), minute(7, 12, 1e9), odd];
        let value = encode_minutes(&hour);
        let back = decode_minutes(&value).unwrap();
        assert_eq!(back, hour);
        assert_eq!(back[2].busy.to_bits(), (1.0f64 / 3.0).to_bits());
        // -0.0 is not a whole hundredth bit for bit: kept raw.
        let negative_zero = vec![minute(3, 1, -0.0)];
        let back = decode_minutes(&encode_minutes(&negative_zero)).unwrap();
        assert_eq!(back[0].busy.to_bits(), (-0.0f64).to_bits());
        assert_eq!(decode_minutes(&encode_minutes(&[])), Ok(vec![]));
    }

    #[test]
    fn constant_and_changing_columns_take_their_own_form() {
        let same = vec![minute(0, 5, 1.0), minute(1, 5, 1.0)];
        let changing = vec![minute(0, 5, 1.0), minute(1, 6, 1.0)];
        assert!(encode_minutes(&same).len() < encode_minutes(&changing).len());
        for hour in [same, changing] {
            assert_eq!(decode_minutes(&encode_minutes(&hour)), Ok(hour));
        }
    }

    #[test]
    fn two_xx_and_errors_are_stored_as_what_the_others_leave() {
        // requests, p50, p95, p99, errors, h10, h12, h13, 2xx, 3xx, 4xx, 5xx, dynos
        let usual = [3000, 40, 180, 900, 31, 1, 5, 2, 2900, 50, 19, 31, 3];
        assert_eq!(stored_count(&usual, S2XX), 0);
        assert_eq!(stored_count(&usual, ERRORS), 0);
        assert_eq!(stored_count(&usual, REQUESTS), 3000);
        assert_eq!(stored_count(&usual, 12), 3);
        let stored: [u64; COUNTS] = std::array::from_fn(|c| stored_count(&usual, c));
        assert_eq!(read_counts(&stored), Some(usual));
        // Counts that do not add up, both ways, and at the extremes.
        for counts in [
            [10, 0, 0, 0, 0, 0, 0, 0, 3, 1, 1, 1, 0],
            [
                0,
                0,
                0,
                0,
                u32::MAX,
                0,
                0,
                0,
                u32::MAX,
                u32::MAX,
                u32::MAX,
                u32::MAX,
                0,
            ],
            [u32::MAX, 1, 2, 3, 0, 4, 5, 6, 0, 0, 0, 0, 7],
            [5, 0, 0, 0, 9, 0, 0, 0, 1, 1, 1, 2, 0],
        ] {
            let stored: [u64; COUNTS] = std::array::from_fn(|c| stored_count(&counts, c));
            assert_eq!(read_counts(&stored), Some(counts), "{counts:?}");
            let hour = [PackedMinute {
                minute: 9,
                counts,
                busy: 0.5,
            }];
            assert_eq!(decode_minutes(&encode_minutes(&hour)), Ok(hour.to_vec()));
        }
        // A stored residual that leaves a negative or too large count is refused.
        let mut bad = [0u64; COUNTS];
        bad[S2XX] = zigzag(1);
        assert_eq!(read_counts(&bad), None);
        bad[S2XX] = zigzag(-(1i64 << 33));
        assert_eq!(read_counts(&bad), None);
        let mut bad = [0u64; COUNTS];
        bad[ERRORS] = zigzag(1);
        assert_eq!(read_counts(&bad), None);
        bad[ERRORS] = zigzag(-(1i64 << 33));
        assert_eq!(read_counts(&bad), None);
        let mut bad = [0u64; COUNTS];
        bad[3] = 1 << 32;
        assert_eq!(read_counts(&bad), None);
    }

    #[test]
    fn hundredths_are_exact_or_refused() {
        assert_eq!(as_hundredths(4.07), Some(407));
        assert_eq!(as_hundredths(0.0), Some(0));
        assert_eq!(as_hundredths(1e9), Some(100_000_000_000));
        assert_eq!(as_hundredths(0.001), None);
        assert_eq!(as_hundredths(-0.0), None);
        assert_eq!(as_hundredths(-1.0), None);
        assert_eq!(as_hundredths(f64::NAN), None);
        assert_eq!(as_hundredths(1e16), None);
    }

    #[test]
    fn probes_round_trip_in_recorded_order() {
        let probes = vec![
            PackedProbe {
                offset_ms: 17_000,
                source: 0,
                outcome: 3,
                status: Some(200),
                latency_ms: Some(81),
            },
            PackedProbe {
                offset_ms: 5,
                source: 1,
                outcome: 0,
                status: None,
                latency_ms: None,
            },
            PackedProbe {
                offset_ms: (HOUR_MS - 1) as u32,
                source: 0,
                outcome: 1,
                status: Some(u32::MAX),
                latency_ms: Some(0),
            },
            PackedProbe {
                offset_ms: 0,
                source: 0,
                outcome: 2,
                status: None,
                latency_ms: Some(7),
            },
        ];
        let value = encode_probes(&probes);
        assert_eq!(decode_probes(&value), Ok(probes));
        assert_eq!(decode_probes(&encode_probes(&[])), Ok(vec![]));
        let twenty: Vec<PackedProbe> = (0..20)
            .map(|i| PackedProbe {
                offset_ms: i * 180_000 + 17_000,
                source: 0,
                outcome: 3,
                status: Some(200),
                latency_ms: Some(80 + i * 7),
            })
            .collect();
        let value = encode_probes(&twenty);
        assert!(value.len() <= 20 * 7, "{} bytes", value.len());
        assert_eq!(decode_probes(&value), Ok(twenty));
    }

    #[test]
    fn bad_values_are_refused_never_a_panic() {
        let good = encode_minutes(&[minute(1, 10, 0.5), minute(2, 11, 0.5)]);
        assert_eq!(decode_minutes(&[]), Err(Unreadable::Malformed));
        assert_eq!(decode_minutes(&[VERSION]), Err(Unreadable::Malformed));
        assert_eq!(decode_minutes(&[2, 0]), Err(Unreadable::Version(2)));
        assert_eq!(decode_probes(&[9, 0, 0]), Err(Unreadable::Version(9)));
        assert_eq!(decode_minutes(&[VERSION, 7]), Err(Unreadable::Malformed));
        // Every truncation and every single-byte change decodes or is refused.
        for cut in 0..good.len() {
            assert!(decode_minutes(&good[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..good.len() {
            for b in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] = b;
                let _ = decode_minutes(&bad);
                let _ = decode_probes(&bad);
            }
        }
        // Trailing bytes, a bitmap past minute 59, unknown tags.
        let raw = |body: &[u8]| [&[VERSION, 0][..], body].concat();
        let mut trailing = raw(&[0; 8]);
        trailing.extend([SAME, 0].repeat(COUNTS));
        trailing.extend([HUNDREDTHS, SAME, 0]);
        assert_eq!(decode_minutes(&trailing), Ok(vec![]));
        trailing.push(0);
        assert_eq!(decode_minutes(&trailing), Err(Unreadable::Malformed));
        let mut beyond = raw(&(1u64 << 60).to_le_bytes());
        beyond.extend([SAME, 0].repeat(COUNTS));
        beyond.extend([HUNDREDTHS, SAME, 0]);
        assert_eq!(decode_minutes(&beyond), Err(Unreadable::Malformed));
        let mut tag = raw(&[0; 8]);
        tag.push(2);
        assert_eq!(decode_minutes(&tag), Err(Unreadable::Malformed));
        let mut busy_tag = raw(&[0; 8]);
        busy_tag.extend([SAME, 0].repeat(COUNTS));
        busy_tag.push(2);
        assert_eq!(decode_minutes(&busy_tag), Err(Unreadable::Malformed));
        // A count past u32, a probe offset past the hour, too many probes, unknown flags.
        let mut wide = raw(&1u64.to_le_bytes());
        wide.push(SAME);
        put_varint(&mut wide, u64::from(u32::MAX) + 1);
        assert_eq!(decode_minutes(&wide), Err(Unreadable::Malformed));
        let mut late = raw(&[1]);
        put_varint(&mut late, zigzag(HOUR_MS));
        late.push(0);
        assert_eq!(decode_probes(&late), Err(Unreadable::Malformed));
        let mut early = raw(&[1]);
        put_varint(&mut early, zigzag(-1));
        early.push(0);
        assert_eq!(decode_probes(&early), Err(Unreadable::Malformed));
        let mut many = raw(&[]);
        put_varint(&mut many, MAX_PROBES as u64 + 1);
        assert_eq!(decode_probes(&many), Err(Unreadable::Malformed));
        assert_eq!(
            decode_probes(&raw(&[1, 0, 0x20])),
            Err(Unreadable::Malformed)
        );
        assert_eq!(
            decode_probes(&raw(&[1, 0, 0x1f])),
            Err(Unreadable::Malformed)
        );
        assert_eq!(decode_probes(&raw(&[1, 0, 0x1f, 1, 1])).unwrap().len(), 1);
        // A varint longer than 64 bits; a deflate bomb is cut at the cap.
        let mut long = raw(&[]);
        long.extend([0xff; 10]);
        long.push(1);
        assert_eq!(decode_probes(&long), Err(Unreadable::Malformed));
        let zeros = vec![0u8; (MAX_BODY + 10) as usize];
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&zeros).unwrap();
        let bomb = [&[VERSION, DEFLATED][..], &e.finish().unwrap()].concat();
        assert_eq!(decode_probes(&bomb), Err(Unreadable::Malformed));
        assert_eq!(
            decode_probes(&[VERSION, DEFLATED, 1, 2, 3]),
            Err(Unreadable::Malformed)
        );
    }

    fn row(minute: &str, requests: u32) -> TrafficRow {
        TrafficRow {
            app: "shop".into(),
            process: "web".into(),
            minute: minute.parse().unwrap(),
            requests,
            p50_ms: 1,
            p95_ms: 2,
            p99_ms: 3,
            errors: 4,
            h10: 5,
            h12: 6,
            h13: 7,
            s2xx: 8,
            s3xx: 9,
            s4xx: 10,
            s5xx: 11,
            busy: 0.25,
            dynos: 12,
        }
    }

    #[test]
    fn rows_pack_into_their_hour_and_come_back_saturated_as_schema_1_stored_them() {
        let r = row("2026-11-30T10:07:00Z", 1200);
        let (hour, m) = pack_minute(&r);
        assert_eq!(hour, r.minute.timestamp_millis() - 7 * 60_000);
        assert_eq!(m.minute, 7);
        assert_eq!(m.counts, [1200, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        assert_eq!(unpack_minute("shop", "web", hour, &m), Some(r.clone()));
        let big = TrafficRow {
            requests: u32::MAX,
            dynos: i32::MAX as u32 + 1,
            ..r
        };
        let (hour, m) = pack_minute(&big);
        let back = unpack_minute("shop", "web", hour, &m).unwrap();
        assert_eq!(
            (back.requests, back.dynos),
            (i32::MAX as u32, i32::MAX as u32)
        );
        assert_eq!(unpack_minute("a", "b", i64::MAX, &m), None);

        let at: chrono::DateTime<chrono::Utc> = "2026-11-30T10:59:59.999Z".parse().unwrap();
        for (source, outcome, status, latency) in [
            (ProbeSource::Probe, Outcome::Down, None, None),
            (
                ProbeSource::Traffic,
                Outcome::Slow,
                Some(200),
                Some(u32::MAX),
            ),
            (ProbeSource::Probe, Outcome::Ok, Some(503), Some(0)),
            (ProbeSource::Traffic, Outcome::Fast, None, Some(7)),
        ] {
            let p = ProbeRow {
                app: "shop".into(),
                process: "web".into(),
                at,
                source,
                outcome,
                status,
                latency_ms: latency,
            };
            let (hour, packed) = pack_probe(&p);
            assert_eq!(packed.offset_ms, 3_599_999);
            let back = unpack_probe("shop", "web", hour, &packed).unwrap();
            let saturated = latency.map(|l| l.min(i32::MAX as u32));
            assert_eq!(
                back,
                ProbeRow {
                    latency_ms: saturated,
                    ..p
                }
            );
        }
        let (_, packed) = pack_probe(&ProbeRow {
            app: "a".into(),
            process: "b".into(),
            at,
            source: ProbeSource::Probe,
            outcome: Outcome::Ok,
            status: None,
            latency_ms: None,
        });
        assert_eq!(unpack_probe("a", "b", i64::MAX, &packed), None);
    }

    #[test]
    fn merging_replaces_or_keeps_minutes_and_orders_probes() {
        let a = minute(1, 10, 0.5);
        let b = minute(2, 20, 0.5);
        let b2 = minute(2, 99, 0.5);
        let c = minute(0, 5, 0.5);
        let stored = encode_minutes(&[a, b]);
        let (n, value) = merge_minutes(Some(&stored), &[b2, c], Merge::NewWins);
        assert_eq!(n, 3);
        assert_eq!(decode_minutes(&value), Ok(vec![c, a, b2]));
        let (n, value) = merge_minutes(Some(&stored), &[b2, c], Merge::OldWins);
        assert_eq!(n, 3);
        assert_eq!(decode_minutes(&value), Ok(vec![c, a, b]));
        let (n, value) = merge_minutes(None, &[a], Merge::NewWins);
        assert_eq!((n, decode_minutes(&value)), (1, Ok(vec![a])));
        // A stored value this build cannot read is replaced.
        let (n, _) = merge_minutes(Some(&[9, 0][..]), &[a], Merge::NewWins);
        assert_eq!(n, 1);

        let p = |offset_ms| PackedProbe {
            offset_ms,
            source: 0,
            outcome: 2,
            status: None,
            latency_ms: None,
        };
        let stored = encode_probes(&[p(5), p(1)]);
        let (n, value) = merge_probes(Some(&stored), &[p(3)], Merge::NewWins);
        assert_eq!((n, decode_probes(&value)), (3, Ok(vec![p(5), p(1), p(3)])));
        let (n, value) = merge_probes(Some(&stored), &[p(3)], Merge::OldWins);
        assert_eq!((n, decode_probes(&value)), (3, Ok(vec![p(3), p(5), p(1)])));
        let (n, value) = merge_probes(None, &[p(3)], Merge::NewWins);
        assert_eq!((n, decode_probes(&value)), (1, Ok(vec![p(3)])));
    }

    fn queue_row(minute: &str, depth: u64, busy: Option<u64>, done: Option<u64>) -> QueueRow {
        QueueRow {
            app: "shop".into(),
            process: "worker".into(),
            minute: minute.parse().unwrap(),
            depth,
            latency_ms: depth * 100,
            busy,
            done,
            dynos: 3,
            concurrency: 10,
        }
    }

    #[test]
    fn a_queue_hour_round_trips_small_with_unknowns_kept_apart_from_zero() {
        let hour: Vec<PackedQueueMinute> = (0..60u8)
            .map(|i| {
                let mut row = queue_row(
                    &format!("2026-12-07T10:{i:02}:00Z"),
                    u64::from(i) * 7 % 50,
                    Some(u64::from(i % 4)),
                    Some(120 + u64::from(i)),
                );
                if i == 5 {
                    (row.busy, row.done) = (None, None);
                }
                let (hour, packed) = pack_queue_minute(&row);
                assert_eq!(hour, 1_796_637_600_000);
                assert_eq!(packed.minute, i);
                packed
            })
            .collect();
        let value = encode_queue_minutes(&hour);
        eprintln!("a queue hour of changing figures: {} bytes", value.len());
        assert_eq!(value[0], VERSION);
        assert!(value.len() < 60 * 8, "{} bytes", value.len());
        let back = decode_queue_minutes(&value).unwrap();
        assert_eq!(back, hour);
        let rows: Vec<QueueRow> = back
            .iter()
            .map(|m| unpack_queue_minute("shop", "worker", 1_796_637_600_000, m).unwrap())
            .collect();
        assert_eq!(
            rows[0],
            queue_row("2026-12-07T10:00:00Z", 0, Some(0), Some(120))
        );
        assert_eq!(rows[5].busy, None);
        assert_eq!(rows[5].done, None);
        assert_eq!(rows[6].busy, Some(2));
        assert_eq!(rows[59].minute.to_rfc3339(), "2026-12-07T10:59:00+00:00");
        // The largest values saturate rather than wrap into "unknown".
        let huge = QueueRow {
            busy: Some(u64::MAX),
            done: Some(u64::MAX - 1),
            depth: u64::MAX,
            latency_ms: u64::MAX,
            dynos: u32::MAX,
            concurrency: u32::MAX,
            ..queue_row("2026-12-07T10:03:00Z", 0, None, None)
        };
        let (hour, packed) = pack_queue_minute(&huge);
        let value = encode_queue_minutes(&[packed]);
        let back = decode_queue_minutes(&value).unwrap();
        let row = unpack_queue_minute("shop", "worker", hour, &back[0]).unwrap();
        assert_eq!(row.busy, Some(u64::MAX - 1));
        assert_eq!(row.done, Some(u64::MAX - 1));
        assert_eq!((row.depth, row.dynos), (u64::MAX, u32::MAX));
        assert_eq!(decode_queue_minutes(&encode_queue_minutes(&[])), Ok(vec![]));
    }

    #[test]
    fn bad_queue_values_are_refused_never_a_panic() {
        let (_, a) = pack_queue_minute(&queue_row("2026-12-07T10:01:00Z", 4, Some(1), None));
        let (_, b) = pack_queue_minute(&queue_row("2026-12-07T10:02:00Z", 9, Some(2), Some(3)));
        let good = encode_queue_minutes(&[a, b]);
        for cut in 0..good.len() {
            assert!(decode_queue_minutes(&good[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..good.len() {
            for byte in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] = byte;
                let _ = decode_queue_minutes(&bad);
            }
        }
        let raw = |body: &[u8]| [&[VERSION, 0][..], body].concat();
        let mut empty = raw(&[0; 8]);
        empty.extend([SAME, 0].repeat(QUEUE_COLUMNS));
        assert_eq!(decode_queue_minutes(&empty), Ok(vec![]));
        let mut trailing = empty.clone();
        trailing.push(0);
        assert_eq!(decode_queue_minutes(&trailing), Err(Unreadable::Malformed));
        let mut short = raw(&[0; 8]);
        short.extend([SAME, 0].repeat(QUEUE_COLUMNS - 1));
        assert_eq!(decode_queue_minutes(&short), Err(Unreadable::Malformed));
        let mut beyond = raw(&(1u64 << 60).to_le_bytes());
        beyond.extend([SAME, 0].repeat(QUEUE_COLUMNS));
        assert_eq!(decode_queue_minutes(&beyond), Err(Unreadable::Malformed));
        assert_eq!(decode_queue_minutes(&[3, 0]), Err(Unreadable::Version(3)));
        // Dynos past u32 (a damaged value): the minute is not read back.
        let wide = PackedQueueMinute {
            minute: 0,
            values: [0, 0, 0, 0, u64::from(u32::MAX) + 1, 1],
        };
        assert_eq!(unpack_queue_minute("a", "w", 0, &wide), None);
        let wide = PackedQueueMinute {
            values: [0, 0, 0, 0, 1, u64::from(u32::MAX) + 1],
            ..wide
        };
        assert_eq!(unpack_queue_minute("a", "w", 0, &wide), None);
        assert_eq!(unpack_queue_minute("a", "w", i64::MAX, &wide), None);
    }

    #[test]
    fn merging_queue_minutes_replaces_or_keeps() {
        let at = |m: u8, depth: u64| PackedQueueMinute {
            minute: m,
            values: [depth, 0, 0, 0, 1, 5],
        };
        let stored = encode_queue_minutes(&[at(1, 10), at(3, 30)]);
        let (n, value) =
            merge_queue_minutes(Some(&stored), &[at(2, 20), at(3, 31)], Merge::NewWins);
        assert_eq!(n, 3);
        assert_eq!(
            decode_queue_minutes(&value),
            Ok(vec![at(1, 10), at(2, 20), at(3, 31)])
        );
        let (n, value) = merge_queue_minutes(Some(&stored), &[at(3, 31)], Merge::OldWins);
        assert_eq!(n, 2);
        assert_eq!(decode_queue_minutes(&value), Ok(vec![at(1, 10), at(3, 30)]));
        // A stored value this build cannot read is replaced.
        let (n, value) = merge_queue_minutes(Some(&[9, 9]), &[at(0, 1)], Merge::NewWins);
        assert_eq!((n, decode_queue_minutes(&value)), (1, Ok(vec![at(0, 1)])));
        assert_eq!(merge_queue_minutes(None, &[], Merge::NewWins).0, 0);
    }

    #[test]
    fn varints_zigzag_and_hours() {
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(Reader::new(&out).varint(), Ok(v), "{v}");
        }
        let mut out = Vec::new();
        put_varint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
        for v in [0, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
        assert_eq!((zigzag(0), zigzag(-1), zigzag(1), zigzag(-2)), (0, 1, 2, 3));
        assert_eq!(hour_of(3_600_000), 3_600_000);
        assert_eq!(hour_of(3_599_999), 0);
        assert_eq!(hour_of(7_199_999), 3_600_000);
        assert_eq!(hour_of(-1), -3_600_000);
    }
}
