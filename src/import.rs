//! `autoscale history import [--history URL] FILE…`: backfills the history from logs a team
//! already keeps (a log add-on's archive, `heroku logs` output): router lines, Logplex frames,
//! the daemon's `event=` lines, plain or `.gz`; `-` or no file reads standard input.
//!
//! Each input is read by `chart`'s reader (the same minutes, probes, scales, holds and alerts
//! `chart` would draw from it) and handed to [`crate::history::import`], which writes what the
//! store does not have yet (importing the same file twice changes nothing). A progress bar goes
//! to standard error when it is a terminal; one summary line to standard output at the end.

use std::collections::BTreeSet;
use std::io::{IsTerminal as _, Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::chart::dataset::Dataset;
use crate::chart::read::{Hints, Reader};
use crate::config::{field, Env, Raw};
use crate::history::import::{summary_line, Importer, Summary};
use crate::history::rows::{
    AlertRow, HoldReason, HoldRow, ProbeRow, QueueRow, ScaleRow, TrafficRow,
};
use crate::history::settings::{HistorySetting, StoreUrl};
use crate::history::HistoryData;

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
    let mut importer = Importer::open(url).await?;
    let stdin = [PathBuf::from("-")];
    let inputs = if files.is_empty() { &stdin[..] } else { files };
    let mut summary = Summary::default();
    let mut targets = BTreeSet::new();
    for path in inputs {
        let dataset = match read_input(path, progress) {
            Ok(d) => d,
            Err(e) => {
                importer.abandon().await;
                return Err(e);
            }
        };
        summary.inputs += 1;
        summary.lines += dataset.lines.useful() - dataset.lines.history;
        summary.skipped_lines += dataset.lines.garbage + dataset.lines.other;
        targets.extend(
            dataset
                .targets()
                .iter()
                .map(|t| (t.app.clone(), t.process.clone())),
        );
        summary.targets = targets.len() as u64;
        if let Err(e) = importer
            .write(rows_of(&dataset), &mut summary, progress)
            .await
        {
            importer.abandon().await;
            return Err(e);
        }
    }
    if progress {
        eprint!("\r\x1b[2K");
    }
    let size = importer.finish().await?;
    Ok((summary, size))
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
        data.queue.extend(t.queue_minutes().map(|q| QueueRow {
            app: app.clone(),
            process: process.clone(),
            minute: q.minute,
            depth: q.depth,
            latency_ms: q.latency_ms,
            busy: q.busy,
            done: q.done,
            dynos: q.dynos,
            concurrency: q.concurrency,
        }));
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

#[cfg(test)]
mod tests {
    use super::bar;

    #[test]
    fn the_bar_shows_the_share_read_or_the_bytes() {
        assert_eq!(
            bar("a.log", 5_000_000, Some(10_000_000)),
            "reading a.log [##########..........]  50 % 5.0 MB"
        );
        assert_eq!(
            bar("a.log", 12_000_000, Some(10_000_000)),
            "reading a.log [####################] 100 % 12.0 MB"
        );
        assert_eq!(bar("stdin", 1_500_000, None), "reading stdin 1.5 MB");
        assert_eq!(bar("e", 0, Some(0)), "reading e 0.0 MB");
    }
}
