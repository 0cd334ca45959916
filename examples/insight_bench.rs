//! How fast `autoscale chart` and `autoscale suggest` read recorded traffic, and in how much
//! memory: the release binary as a process, on a week of router lines of a 50-requests-a-second
//! app (about 30 million lines).
//!
//! ```text
//! cargo build --release --locked && cargo run --release --locked --example insight_bench -- [DAYS] [PER_SECOND]
//! ```
//!
//! Writes DAYS (default 7) of PER_SECOND (default 50) requests a second as `heroku logs` prints
//! them (the fixture writer's shape: router lines, a few of the app's own lines, 1 % errors) to a
//! temporary file, and a gzip copy of it; then times `autoscale chart --input FILE --output
//! OUT.svg` and `OUT.html` on the plain file and the SVG on the gzip one, and `autoscale
//! suggest` on both, each under
//! `/usr/bin/time -v` (Debian package `time`) for the wall clock, the CPU and the peak resident
//! memory. Run it with 1 and 7 days to see that memory does not grow with the lines. The files
//! are removed at the end.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use autoscale::traffic::fixture::Fixture;
use chrono::{DateTime, Utc};

fn main() {
    if let Err(e) = run() {
        eprintln!("insight_bench: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let days: u32 = args.next().map_or(Ok(7), |a| a.parse())?;
    let per_second: f64 = args.next().map_or(Ok(50.0), |a| a.parse())?;
    if !((1..=31).contains(&days) && per_second > 0.0 && per_second <= 10_000.0) {
        return Err("DAYS must be 1-31 and PER_SECOND 0-10000".into());
    }
    let binary = binary()?;
    if !Path::new("/usr/bin/time").is_file() {
        return Err("/usr/bin/time is needed (apt-get install -y time)".into());
    }
    // A Monday in Berlin, so the heatmap has its weekdays.
    let start = DateTime::parse_from_rfc3339("2026-03-22T23:00:00Z")?.with_timezone(&Utc);
    let fixture = Fixture {
        rate: |_, _| 1.0,
        scale: per_second * 60.0,
        ..Fixture::new(start, days, chrono_tz::Europe::Berlin)
    };
    let dir = std::env::temp_dir().join(format!("insight-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = measure_all(&binary, &fixture, &dir);
    std::fs::remove_dir_all(&dir)?;
    result
}

fn measure_all(
    binary: &Path,
    fixture: &Fixture,
    dir: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let plain = dir.join("router.log");
    let gz = dir.join("router.log.gz");
    let written_at = Instant::now();
    let written = fixture.write_heroku_logs(&mut BufWriter::with_capacity(
        1 << 20,
        File::create(&plain)?,
    ))?;
    let written_secs = written_at.elapsed().as_secs_f64();
    let mut encoder = flate2::write::GzEncoder::new(
        BufWriter::new(File::create(&gz)?),
        flate2::Compression::fast(),
    );
    std::io::copy(&mut File::open(&plain)?, &mut encoder)?;
    encoder.finish()?.flush()?;
    let lines = written.router + written.other;
    println!(
        "input: {} days, {} router lines + {} app lines, {:.0} MiB plain, {:.0} MiB gzip (written in {written_secs:.0} s)",
        fixture.days,
        written.router,
        written.other,
        size(&plain)? / 1048576.0,
        size(&gz)? / 1048576.0,
    );
    for (input, output) in [
        (&plain, dir.join("week.svg")),
        (&plain, dir.join("week.html")),
        (&gz, dir.join("week-gz.svg")),
    ] {
        let m = measure(binary, &["chart", "--output", path(&output)?], input)?;
        println!(
            "chart {} → {}: {:.1} s wall, {:.1} s CPU, {:.2} million lines/s (wall), peak RSS {:.1} MiB, output {:.0} KiB",
            input.file_name().unwrap_or_default().to_string_lossy(),
            output.extension().unwrap_or_default().to_string_lossy(),
            m.wall,
            m.cpu,
            lines as f64 / m.wall / 1e6,
            m.peak_kib / 1024.0,
            size(&output)? / 1024.0,
        );
    }
    for input in [&plain, &gz] {
        let m = measure(binary, &["suggest", "--concurrency", "8"], input)?;
        println!(
            "suggest {}: {:.1} s wall, {:.1} s CPU, {:.2} million lines/s (wall), peak RSS {:.1} MiB",
            input.file_name().unwrap_or_default().to_string_lossy(),
            m.wall,
            m.cpu,
            lines as f64 / m.wall / 1e6,
            m.peak_kib / 1024.0,
        );
    }
    Ok(())
}

fn path(p: &Path) -> Result<&str, Box<dyn std::error::Error>> {
    p.to_str()
        .ok_or_else(|| "a temporary path that is not UTF-8".into())
}

/// The release binary beside this example (`target/release/examples/insight_bench` →
/// `target/release/autoscale`).
fn binary() -> Result<PathBuf, Box<dyn std::error::Error>> {
    let exe = std::env::current_exe()?;
    let binary = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("autoscale"))
        .filter(|b| b.is_file())
        .ok_or("build the binary first: cargo build --release --locked")?;
    Ok(binary)
}

fn size(path: &Path) -> std::io::Result<f64> {
    Ok(std::fs::metadata(path)?.len() as f64)
}

struct Measured {
    wall: f64,
    cpu: f64,
    peak_kib: f64,
}

/// Runs `autoscale ARGS --input INPUT` under `/usr/bin/time -v`.
fn measure(
    binary: &Path,
    args: &[&str],
    input: &Path,
) -> Result<Measured, Box<dyn std::error::Error>> {
    let started = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(binary)
        .args(args)
        .arg("--input")
        .arg(input)
        .env_clear()
        .env("AUTOSCALE_TZ", "Europe/Berlin")
        .env("AUTOSCALE_APP", "shop")
        .output()?;
    let wall = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("{} failed: {stderr}", args[0]).into());
    }
    let field = |name: &str| -> Option<f64> {
        stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
    };
    Ok(Measured {
        wall,
        cpu: field("User time (seconds):").unwrap_or(0.0)
            + field("System time (seconds):").unwrap_or(0.0),
        peak_kib: field("Maximum resident set size (kbytes):").unwrap_or(0.0),
    })
}
