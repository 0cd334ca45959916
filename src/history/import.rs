//! `autoscale history import [--history URL] FILE…`: backfills the history from logs a team
//! already keeps (a log add-on's archive, `heroku logs` output): router lines, Logplex frames,
//! the daemon's `event=` lines, plain or `.gz`; `-` or no file reads standard input.
//!
//! Each input is read by `chart`'s reader (the same minutes, probes, scales, holds and alerts
//! `chart` would draw from it), then written in batches. Idempotent: a traffic minute already
//! stored with the same figures, and an event already stored, are left alone, so importing the
//! same file twice changes nothing. A progress bar goes to standard error when it is a terminal;
//! one summary line to standard output at the end. A SQLite file is compacted (`VACUUM`) at the
//! end, so its size is what the data takes.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use clap::{Arg, ArgAction, ArgMatches, Command};

use super::rows::{AlertRow, HoldReason, HoldRow, ProbeRow, Row, ScaleRow, TrafficRow};
use super::settings::{HistorySetting, StoreUrl};
use super::store::{Store, StoreError};
use super::{HistoryData, Options, MAX_READ_ROWS};
use crate::chart::dataset::Dataset;
use crate::chart::read::{Hints, Reader};
use crate::config::{field, Env, Raw};

/// Rows written per transaction.
const BATCH_ROWS: usize = 5_000;
/// Longest wait for the database: connecting, one batch.
const TIMEOUT: Duration = Duration::from_secs(60);

/// `history` and its `import` subcommand.
pub fn command() -> Command {
    Command::new("history")
        .about("The daemon's history database.")
        .subcommand_required(true)
        .subcommand(
            Command::new("import")
                .about("Backfill the history from logs you kept: router lines (heroku logs, a log add-on's archive), Logplex drain frames, the daemon's event= lines, plain or .gz. Importing a file twice changes nothing.")
                .arg(
                    Arg::new(field::HISTORY)
                        .long("history")
                        .env(field::HISTORY)
                        .hide_env_values(true)
                        .value_name("URL")
                        .help("Where to import: postgres://…, sqlite://PATH [default: AUTOSCALE_HISTORY, else DATABASE_URL, else sqlite://autoscale-history.sqlite]"),
                )
                .arg(
                    Arg::new("files")
                        .value_name("FILE")
                        .action(ArgAction::Append)
                        .help("Files to read (plain or gzip); - or none: standard input"),
                ),
        )
}

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

/// `autoscale history import`; `raw` holds `--history` as the settings table reads it.
pub fn main(m: &ArgMatches, raw: &Raw, env: &Env) -> ExitCode {
    let settings = match crate::config::history(raw, env) {
        Ok(s) => s,
        Err(e) => {
            crate::say_err!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let url = match settings.store {
        HistorySetting::On(url) => url,
        HistorySetting::Off { .. } => {
            crate::say_err!(
                "error: AUTOSCALE_HISTORY=off: there is no history to import into; example: --history sqlite://autoscale-history.sqlite"
            );
            return ExitCode::from(2);
        }
    };
    let files: Vec<PathBuf> = m
        .get_many::<String>("files")
        .map(|v| v.map(PathBuf::from).collect())
        .unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(import(&url, &files, std::io::stderr().is_terminal())) {
        Ok((summary, size)) => {
            println!("{}", summary_line(&summary, &url, size));
            ExitCode::SUCCESS
        }
        Err(message) => {
            crate::say_err!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Imports `files` (none: standard input) into `url`; the summary and the store's size after.
pub async fn import(
    url: &StoreUrl,
    files: &[PathBuf],
    progress: bool,
) -> Result<(Summary, Option<u64>), String> {
    let options = Options::new(super::settings::DEFAULT_DAYS);
    let (store, _) = tokio::time::timeout(TIMEOUT, super::writer::open(url, &options, TIMEOUT))
        .await
        .map_err(|_| format!("{url}: no connection within 60s"))?
        .map_err(|e| e.message)?;
    // A history of the previous format is converted first (and its old tables dropped).
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
    let stdin = [PathBuf::from("-")];
    let inputs = if files.is_empty() { &stdin[..] } else { files };
    let mut summary = Summary::default();
    let mut targets = std::collections::BTreeSet::new();
    let result = async {
        for path in inputs {
            let dataset = read_input(path, progress)?;
            summary.inputs += 1;
            summary.lines += dataset.lines.useful() - dataset.lines.history;
            summary.skipped_lines += dataset.lines.garbage + dataset.lines.other;
            let data = rows_of(&dataset);
            targets.extend(
                dataset
                    .targets()
                    .iter()
                    .map(|t| (t.app.clone(), t.process.clone())),
            );
            summary.targets = targets.len() as u64;
            write(&store, data, &mut summary, progress)
                .await
                .map_err(|e| e.message)?;
        }
        if progress {
            eprint!("\r\x1b[2K");
        }
        store.compact().await.map_err(|e| e.message)?;
        Ok::<_, String>(())
    }
    .await;
    store.close().await;
    result?;
    Ok((summary, super::status(url).await.size_bytes))
}

/// One input through `chart`'s reader, with a progress bar on standard error.
fn read_input(path: &Path, progress: bool) -> Result<Dataset, String> {
    let mut reader = Reader::new();
    let name = path.display().to_string();
    let read = if name == "-" {
        let stdin = std::io::stdin().lock();
        reader.read(Progress::new("stdin", None, progress, stdin))
    } else {
        let file = std::fs::File::open(path).map_err(|e| format!("cannot read {name}: {e}"))?;
        let size = file.metadata().ok().map(|m| m.len());
        reader.read(Progress::new(&name, size, progress, file))
    };
    read.map_err(|e| format!("cannot read {name}: {e}"))?;
    Ok(reader.finish(&Hints::default()))
}

/// A reader that draws how far it got (bytes of the file, before decompression).
struct Progress<R> {
    inner: R,
    name: String,
    size: Option<u64>,
    done: u64,
    shown: Option<Instant>,
    on: bool,
}

impl<R: Read> Progress<R> {
    fn new(name: &str, size: Option<u64>, on: bool, inner: R) -> Progress<R> {
        Progress {
            inner,
            name: name.to_owned(),
            size,
            done: 0,
            shown: None,
            on,
        }
    }
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if self.on
            && self
                .shown
                .is_none_or(|t| t.elapsed() >= Duration::from_millis(200))
        {
            self.shown = Some(Instant::now());
            eprint!("\r\x1b[2K{}", bar(&self.name, self.done, self.size));
            let _ = std::io::stderr().flush();
        }
        Ok(n)
    }
}

/// `reading NAME [#####.....]  45 %  12.3 MB`, or without a size `reading NAME 12.3 MB`.
pub fn bar(name: &str, done: u64, size: Option<u64>) -> String {
    let mb = done as f64 / 1e6;
    match size.filter(|&s| s > 0) {
        Some(size) => {
            let share = (done.min(size) as f64 / size as f64).clamp(0.0, 1.0);
            let filled = (share * 20.0).round() as usize;
            format!(
                "reading {name} [{}{}] {:>3.0} % {mb:.1} MB",
                "#".repeat(filled),
                ".".repeat(20 - filled),
                share * 100.0
            )
        }
        None => format!("reading {name} {mb:.1} MB"),
    }
}

/// The rows a dataset holds, as the daemon would have recorded them.
pub fn rows_of(dataset: &Dataset) -> HistoryData {
    let mut data = HistoryData::default();
    for t in dataset.targets() {
        let (app, process) = (t.app.clone(), t.process.clone());
        data.traffic.extend(t.minutes().map(TrafficRow::of_minute));
        data.probes.extend(t.probes.iter().map(|p| {
            ProbeRow {
                app: app.clone(),
                process: process.clone(),
                at: p.at,
                source: p.source,
                outcome: p.outcome,
                status: p.status.map(u32::from),
                latency_ms: p
                    .latency_ms
                    .filter(|l| l.is_finite())
                    .map(|l| l.round().clamp(0.0, f64::from(u32::MAX)) as u32),
            }
        }));
        data.scales.extend(t.scales.iter().filter_map(|s| {
            Some(ScaleRow {
                app: app.clone(),
                process: process.clone(),
                at: s.at,
                from: s.from?,
                to: s.to?,
                reason: s.reason.clone(),
                result: s.result.clone(),
            })
        }));
        data.holds.extend(t.holds.iter().filter_map(|h| {
            Some(HoldRow {
                app: app.clone(),
                process: process.clone(),
                at: h.at,
                reason: HoldReason::parse(&h.reason)?,
                quantity: h.quantity.unwrap_or(0),
                until: h.until,
                ended: h.ended,
            })
        }));
        data.alerts.extend(t.alerts.iter().map(|a| AlertRow {
            app: app.clone(),
            process: process.clone(),
            at: a.at,
            kind: a.kind.clone(),
            message: String::new(),
        }));
    }
    data
}

/// Writes `data` in batches, leaving out what the store already has.
async fn write(
    store: &Store,
    data: HistoryData,
    summary: &mut Summary,
    progress: bool,
) -> Result<(), StoreError> {
    // Normalized as the writer stores them, so that they compare with what is stored.
    let rows: Vec<Row> = data
        .into_rows()
        .into_iter()
        .filter_map(|r| r.normalized().ok())
        .collect();
    let total = rows.len();
    let mut known = std::collections::HashSet::new();
    let mut done = 0;
    for chunk in rows.chunks(BATCH_ROWS) {
        let batch = HistoryData::batch(chunk.to_vec());
        let stored = stored_for(store, &batch).await?;
        let mut fresh = without_stored(batch, &stored, summary);
        if !fresh.is_empty() {
            let written = tokio::time::timeout(TIMEOUT, store.write(&mut fresh, &known))
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
