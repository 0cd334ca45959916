//! How fast one core parses and aggregates router lines, and how much memory it takes.
//!
//! ```text
//! cargo run --release --example traffic_bench -- [MILLIONS_OF_LINES]   # default 4
//! ```
//!
//! Writes MILLIONS of router lines of a steady 50-requests-a-second app (the fixture writer's
//! `heroku logs` shape) to a temporary file, plain and gzip, then times three readers, each on one
//! thread:
//! - the daemon's path: line by line through `router::parse_line` into a `StreamAggregator`,
//!   flushed every second of log time, as the log-session reader does;
//! - `chart`'s path: `input::read` of the plain file into a `BatchAggregator`;
//! - the same of the gzip file.
//!
//! Peak memory is the kernel's VmHWM, reset before each reader (`/proc/self/clear_refs`), so each
//! figure is that reader's own peak. Run it with two sizes to see that memory does not grow with
//! the number of lines.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use autoscale::traffic::fixture::Fixture;
use autoscale::traffic::input::{self, Record};
use autoscale::traffic::minute::{BatchAggregator, StreamAggregator, DEFAULT_GRACE};
use autoscale::traffic::router::{self, Parsed};
use chrono::{DateTime, TimeDelta, Utc};

/// 50 requests a second.
const PER_MINUTE: f64 = 3_000.0;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let millions: f64 = match std::env::args().nth(1) {
        Some(arg) => arg
            .parse()
            .map_err(|_| format!("MILLIONS_OF_LINES must be a number, not {arg:?}"))?,
        None => 4.0,
    };
    if !(millions > 0.0 && millions <= 1_000.0) {
        return Err("MILLIONS_OF_LINES must be between 0 and 1000".into());
    }
    let lines = millions * 1e6;
    let days = (lines / (PER_MINUTE * 1440.0)).ceil() as u32;
    let start = DateTime::parse_from_rfc3339("2026-11-30T00:00:00Z")?.with_timezone(&Utc);
    let fixture = Fixture {
        rate: |_, _| 1.0,
        // Spread the lines over whole days at an even rate.
        scale: lines / (f64::from(days) * 1440.0),
        ..Fixture::new(start, days, chrono_tz::UTC)
    };

    let dir = std::env::temp_dir().join(format!("traffic-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let plain = dir.join("router.log");
    let gz = dir.join("router.log.gz");
    let generated = Instant::now();
    let written = fixture.write_heroku_logs(&mut BufWriter::new(File::create(&plain)?))?;
    let mut encoder = flate2::write::GzEncoder::new(
        BufWriter::new(File::create(&gz)?),
        flate2::Compression::fast(),
    );
    std::io::copy(&mut File::open(&plain)?, &mut encoder)?;
    encoder.finish()?.flush()?;
    let size = std::fs::metadata(&plain)?.len();
    println!(
        "input: {} router lines + {} app lines over {days} day(s), {:.0} MiB plain, {:.0} MiB gzip \
         (written in {:.1} s)",
        written.router,
        written.other,
        size as f64 / 1048576.0,
        std::fs::metadata(&gz)?.len() as f64 / 1048576.0,
        generated.elapsed().as_secs_f64()
    );

    let total = written.router + written.other;
    let (elapsed, minutes) = measure(|| daemon_path(&plain))?;
    report(
        "daemon (parse_line + StreamAggregator)",
        total,
        size,
        elapsed,
        minutes,
    );
    let (elapsed, minutes) = measure(|| batch_path(&plain))?;
    report(
        "chart, plain (input::read + BatchAggregator)",
        total,
        size,
        elapsed,
        minutes,
    );
    let (elapsed, minutes) = measure(|| batch_path(&gz))?;
    report(
        "chart, gzip (input::read + BatchAggregator)",
        total,
        size,
        elapsed,
        minutes,
    );

    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

type Outcome = Result<usize, Box<dyn std::error::Error>>;

/// How long a reader took: on the wall clock, and on the CPU (the figure that counts on a
/// shared machine, where the wall clock also counts the time other processes had the core).
struct Took {
    wall: Duration,
    cpu: Option<Duration>,
}

/// Runs `f` after resetting the peak RSS; returns its times and result.
fn measure(f: impl FnOnce() -> Outcome) -> Result<(Took, usize), Box<dyn std::error::Error>> {
    // "5" resets VmHWM to the current RSS (Linux 4.0+); without it the figure is the process's.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let cpu_before = thread_cpu();
    let started = Instant::now();
    let minutes = f()?;
    let wall = started.elapsed();
    let cpu = thread_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    Ok((Took { wall, cpu }, minutes))
}

fn report(name: &str, lines: u64, bytes: u64, took: Took, minutes: usize) {
    let wall = took.wall.as_secs_f64();
    let cpu = took.cpu.map_or(wall, |cpu| cpu.as_secs_f64());
    println!(
        "{name}: {cpu:.2} s CPU ({wall:.2} s wall), {:.0} lines/s, {:.0} MiB/s per CPU second, \
         {minutes} minutes, peak RSS {}",
        lines as f64 / cpu,
        bytes as f64 / 1048576.0 / cpu,
        peak_rss().unwrap_or_else(|| "unknown".to_owned()),
    );
}

/// CPU time of this thread, from /proc/thread-self/schedstat (nanoseconds on the CPU).
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// The daemon's path: one line at a time, flushed every second of log time.
fn daemon_path(path: &Path) -> Outcome {
    let mut reader = BufReader::new(File::open(path)?);
    let mut line = String::new();
    let mut aggregator: Option<StreamAggregator> = None;
    let mut next_flush: Option<DateTime<Utc>> = None;
    let mut minutes = 0;
    let mut last = None;
    while reader.read_line(&mut line)? > 0 {
        if let Parsed::Router(record) = router::parse_line(&line) {
            let now = record.timestamp;
            let stream =
                aggregator.get_or_insert_with(|| StreamAggregator::new(DEFAULT_GRACE, now));
            stream.add("shop", &record);
            if next_flush.is_none_or(|t| now >= t) {
                minutes += stream.flush(now).len();
                next_flush = Some(now + TimeDelta::seconds(1));
            }
            last = Some(now);
        }
        line.clear();
    }
    if let (Some(stream), Some(last)) = (aggregator.as_mut(), last) {
        minutes += stream.flush(last + TimeDelta::minutes(2)).len();
    }
    Ok(minutes)
}

/// `chart`'s path: a file of any shape into per-minute accumulators.
fn batch_path(path: &Path) -> Outcome {
    let mut batch = BatchAggregator::new();
    input::read_path(path, |record| {
        if let Record::Router(line) = record {
            batch.add("shop", &line);
        }
    })?;
    Ok(batch.minutes().len())
}

/// VmHWM from /proc/self/status, e.g. `5123 kB`.
fn peak_rss() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.trim_start_matches("VmHWM:").trim().to_owned())
}
