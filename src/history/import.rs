//! The store's side of `autoscale history import` (the command is [`crate::import`]): a store
//! opened for importing (a schema 1 history converted first), batches written without what the
//! store already has, and the file compacted at the end.
//!
//! Idempotent: a traffic minute already stored with the same figures, and an event already
//! stored, are left alone, so importing the same file twice changes nothing. A SQLite file is
//! compacted (`VACUUM`) at the end, so its size is what the data takes.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::rows::{Row, TrafficRow};
use super::settings::StoreUrl;
use super::store::{Store, StoreError};
use super::{HistoryData, Options, MAX_READ_ROWS};

/// Rows written per transaction.
const BATCH_ROWS: usize = 5_000;
/// Longest wait for the database: connecting, one batch.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What an import did, for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub inputs: u64,
    pub lines: u64,
    pub skipped_lines: u64,
    pub targets: u64,
    /// Traffic minutes stored now that were not, or stored with other figures.
    pub minutes_new: u64,
    pub minutes_changed: u64,
    /// Traffic minutes already stored as they are.
    pub minutes_same: u64,
    /// Probes, scales, holds and alerts stored now.
    pub events_new: u64,
    /// Events already stored.
    pub events_same: u64,
}

/// A store open for importing.
pub struct Importer {
    store: Store,
    url: StoreUrl,
    known: std::collections::HashSet<i64>,
}

impl Importer {
    /// Opens `url` for writing (creating the history when it has none) and converts a schema 1
    /// history first.
    pub async fn open(url: &StoreUrl) -> Result<Importer, String> {
        let options = Options::new(super::settings::DEFAULT_DAYS);
        let (store, _) = tokio::time::timeout(TIMEOUT, super::writer::open(url, &options, TIMEOUT))
            .await
            .map_err(|_| format!("{url}: no connection within 60s"))?
            .map_err(|e| e.message)?;
        loop {
            match store.convert_step(BATCH_ROWS).await {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    store.close().await;
                    return Err(e.message);
                }
            }
        }
        Ok(Importer {
            store,
            url: url.clone(),
            known: std::collections::HashSet::new(),
        })
    }

    /// Writes what `data` has that the store has not, counted in `summary`; `progress` draws
    /// how far it got on standard error.
    pub async fn write(
        &mut self,
        data: HistoryData,
        summary: &mut Summary,
        progress: bool,
    ) -> Result<(), String> {
        write(&self.store, data, summary, &mut self.known, progress)
            .await
            .map_err(|e| e.message)
    }

    /// Compacts and closes the store; its size after.
    pub async fn finish(self) -> Result<Option<u64>, String> {
        let compacted = self.store.compact().await;
        self.store.close().await;
        compacted.map_err(|e| e.message)?;
        Ok(super::status(&self.url).await.size_bytes)
    }

    /// Closes the store after a failure.
    pub async fn abandon(self) {
        self.store.close().await;
    }
}

/// Writes `data` in batches, leaving out what the store already has.
async fn write(
    store: &Store,
    data: HistoryData,
    summary: &mut Summary,
    known: &mut std::collections::HashSet<i64>,
    progress: bool,
) -> Result<(), StoreError> {
    // Normalized as the writer stores them, so that they compare with what is stored.
    let rows: Vec<Row> = data
        .into_rows()
        .into_iter()
        .filter_map(|r| r.normalized().ok())
        .collect();
    let total = rows.len();
    let mut done = 0;
    for chunk in rows.chunks(BATCH_ROWS) {
        let batch = HistoryData::batch(chunk.to_vec());
        let stored = stored_for(store, &batch).await?;
        let mut fresh = without_stored(batch, &stored, summary);
        if !fresh.is_empty() {
            let written = tokio::time::timeout(TIMEOUT, store.write(&mut fresh, known))
                .await
                .map_err(|_| StoreError {
                    kind: "timeout",
                    message: "a batch was not written within 60s".to_owned(),
                })??;
            known.extend(written.registered);
        }
        done += chunk.len();
        if progress {
            eprint!("\r\x1b[2Kwriting {done} of {total} rows");
            let _ = std::io::stderr().flush();
        }
    }
    Ok(())
}

/// What the store holds of the batch's targets over the batch's span.
async fn stored_for(store: &Store, batch: &HistoryData) -> Result<HistoryData, StoreError> {
    let mut stored = HistoryData::default();
    let rows = batch.clone().into_rows();
    type Span = (DateTime<Utc>, DateTime<Utc>);
    let mut spans: BTreeMap<(&str, &str), Span> = BTreeMap::new();
    for row in &rows {
        let span = spans.entry(row.target()).or_insert((row.at(), row.at()));
        span.0 = span.0.min(row.at());
        span.1 = span.1.max(row.at());
    }
    for ((app, process), (from, to)) in spans {
        let until = to + TimeDelta::milliseconds(1);
        let data = store
            .read(app, Some(process), from, until, MAX_READ_ROWS)
            .await?;
        stored.traffic.extend(data.traffic);
        stored.probes.extend(data.probes);
        stored.scales.extend(data.scales);
        stored.holds.extend(data.holds);
        stored.alerts.extend(data.alerts);
    }
    Ok(stored)
}

/// `batch` without what `stored` has: a minute with the same figures, an event equal to one
/// stored (each stored one matches once: two equal probes imported where one is stored leave
/// one to write). Counted in `summary`.
pub fn without_stored(
    batch: HistoryData,
    stored: &HistoryData,
    summary: &mut Summary,
) -> HistoryData {
    let minutes: BTreeMap<(&str, &str, DateTime<Utc>), &TrafficRow> = stored
        .traffic
        .iter()
        .map(|r| ((r.app.as_str(), r.process.as_str(), r.minute), r))
        .collect();
    let mut fresh = HistoryData::default();
    for row in batch.traffic {
        match minutes.get(&(row.app.as_str(), row.process.as_str(), row.minute)) {
            Some(same) if **same == stored_form(&row) => summary.minutes_same += 1,
            Some(_) => {
                summary.minutes_changed += 1;
                fresh.traffic.push(row);
            }
            None => {
                summary.minutes_new += 1;
                fresh.traffic.push(row);
            }
        }
    }
    fresh.probes = new_events(batch.probes, &stored.probes, |r| r.at, summary);
    fresh.scales = new_events(batch.scales, &stored.scales, |r| r.at, summary);
    fresh.holds = new_events(batch.holds, &stored.holds, |r| r.at, summary);
    fresh.alerts = new_events(batch.alerts, &stored.alerts, |r| r.at, summary);
    fresh
}

/// A traffic row as it reads back (counts saturate at `i32::MAX`).
fn stored_form(row: &TrafficRow) -> TrafficRow {
    let (hour, minute) = super::pack::pack_minute(row);
    super::pack::unpack_minute(&row.app, &row.process, hour, &minute).unwrap_or_else(|| row.clone())
}

/// `new` without one equal stored event for each stored one (`at` tells their instant).
fn new_events<T: PartialEq>(
    new: Vec<T>,
    stored: &[T],
    at: impl Fn(&T) -> DateTime<Utc>,
    summary: &mut Summary,
) -> Vec<T> {
    let mut by_instant: BTreeMap<DateTime<Utc>, Vec<&T>> = BTreeMap::new();
    for s in stored {
        by_instant.entry(at(s)).or_default().push(s);
    }
    let mut fresh = Vec::new();
    for event in new {
        let same = by_instant.get_mut(&at(&event)).and_then(|list| {
            let i = list.iter().position(|s| **s == event)?;
            Some(list.swap_remove(i))
        });
        match same {
            Some(_) => summary.events_same += 1,
            None => {
                summary.events_new += 1;
                fresh.push(event);
            }
        }
    }
    fresh
}

/// The one line printed at the end.
pub fn summary_line(s: &Summary, url: &StoreUrl, size: Option<u64>) -> String {
    let size = size
        .map(|b| format!("{:.2} MB", b as f64 / 1e6))
        .unwrap_or_else(|| "unknown size".to_owned());
    format!(
        "imported {} input(s), {} line(s) ({} skipped), {} target(s): traffic minutes {} new, {} changed, {} already there; events {} new, {} already there; {url} is {size}",
        s.inputs,
        s.lines,
        s.skipped_lines,
        s.targets,
        s.minutes_new,
        s.minutes_changed,
        s.minutes_same,
        s.events_new,
        s.events_same,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::rows::{AlertRow, Outcome, ProbeRow, ProbeSource};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn minute(m: &str, requests: u32) -> TrafficRow {
        TrafficRow {
            app: "shop".into(),
            process: "web".into(),
            minute: at(m),
            requests,
            p50_ms: 1,
            p95_ms: 2,
            p99_ms: 3,
            errors: 0,
            h10: 0,
            h12: 0,
            h13: 0,
            s2xx: requests,
            s3xx: 0,
            s4xx: 0,
            s5xx: 0,
            busy: 0.5,
            dynos: 1,
        }
    }

    fn probe(when: &str) -> ProbeRow {
        ProbeRow {
            app: "shop".into(),
            process: "web".into(),
            at: at(when),
            source: ProbeSource::Probe,
            outcome: Outcome::Ok,
            status: Some(200),
            latency_ms: Some(80),
        }
    }

    #[test]
    fn what_is_stored_is_left_out_and_counted() {
        let stored = HistoryData {
            traffic: vec![
                minute("2026-11-30T10:00:00Z", 5),
                minute("2026-11-30T10:01:00Z", 5),
            ],
            probes: vec![probe("2026-11-30T10:00:10Z")],
            ..HistoryData::default()
        };
        let mut saturated = minute("2026-11-30T10:02:00Z", u32::MAX);
        saturated.s2xx = 0;
        let mut stored_saturated = saturated.clone();
        stored_saturated.requests = i32::MAX as u32;
        let stored = HistoryData {
            traffic: [stored.traffic, vec![stored_saturated]].concat(),
            ..stored
        };
        let batch = HistoryData {
            traffic: vec![
                minute("2026-11-30T10:00:00Z", 5),
                minute("2026-11-30T10:01:00Z", 6),
                saturated,
                minute("2026-11-30T10:03:00Z", 7),
            ],
            probes: vec![
                probe("2026-11-30T10:00:10Z"),
                probe("2026-11-30T10:00:10Z"),
                probe("2026-11-30T10:00:20Z"),
            ],
            alerts: vec![AlertRow {
                app: "shop".into(),
                process: "web".into(),
                at: at("2026-11-30T10:00:00Z"),
                kind: "scale_out".into(),
                message: String::new(),
            }],
            ..HistoryData::default()
        };
        let mut summary = Summary::default();
        let fresh = without_stored(batch, &stored, &mut summary);
        assert_eq!(
            fresh.traffic.iter().map(|r| r.requests).collect::<Vec<_>>(),
            [6, 7]
        );
        // One equal probe is stored: one of the two equal ones is new.
        assert_eq!(fresh.probes.len(), 2);
        assert_eq!(fresh.alerts.len(), 1);
        assert_eq!(
            summary,
            Summary {
                minutes_new: 1,
                minutes_changed: 1,
                minutes_same: 2,
                events_new: 3,
                events_same: 1,
                ..Summary::default()
            }
        );
    }

    #[test]
    fn the_summary_is_one_line() {
        let s = Summary {
            inputs: 2,
            lines: 100,
            skipped_lines: 3,
            targets: 1,
            minutes_new: 4,
            minutes_changed: 5,
            minutes_same: 6,
            events_new: 7,
            events_same: 8,
        };
        let url = StoreUrl::Sqlite("h.sqlite".into());
        assert_eq!(
            summary_line(&s, &url, Some(1_250_000)),
            format!("imported 2 input(s), 100 line(s) (3 skipped), 1 target(s): traffic minutes 4 new, 5 changed, 6 already there; events 7 new, 8 already there; {url} is 1.25 MB")
        );
        assert!(summary_line(&s, &url, None).ends_with("is unknown size"));
    }
}
