//! Benchmark: the release binary against the loopback simulator. Not a test (nothing is timed
//! against a limit); it prints numbers for the README.
//!
//! ```text
//! cargo build --release --locked && cargo run --release --locked --example bench [-- --idle-seconds 60 --rounds 5]
//! ```
//!
//! Measures, on Linux (/proc):
//! - resident memory (VmRSS, VmHWM) after 10 s of running with a check every second;
//! - CPU seconds (user + system) used over the idle window at a 1 s check interval;
//! - seconds from the app failing (500, hang, slow) to the PATCH that scales out.

use std::process::Stdio;
use std::time::{Duration, Instant};

use autoscale::sim::{FakeApp, FakeHeroku, Mode};

const KEY: &str = "bench-key";
const APP: &str = "bench-app";

fn proc_status(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// utime + stime in seconds.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let ticks = 100.0; // USER_HZ on Linux
    Some((utime + stime) / ticks)
}

async fn wait_until(cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "the daemon stopped checking");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let idle_seconds = arg("--idle-seconds", 60);
    let rounds = arg("--rounds", 5);
    let binary = std::env::current_dir()
        .unwrap()
        .join("target/release/autoscale");
    assert!(
        binary.exists(),
        "build the release binary first: cargo build --release --locked"
    );

    let api = FakeHeroku::start(KEY).await.unwrap();
    let app = FakeApp::start().await.unwrap();
    api.add_app(APP, Some(&app.url()));
    api.add_formation(APP, "web", 1, "Standard-1X");

    let timeout = Duration::from_secs(2);
    let mut child = tokio::process::Command::new(&binary)
        .env_clear()
        .env("HEROKU_API_KEY", KEY)
        .env("HEROKU_API_URL", api.url())
        .env("AUTOSCALE_APP", APP)
        .env("AUTOSCALE_SCHEDULE", "00:00=1")
        .env("AUTOSCALE_MAX", "3")
        .env("AUTOSCALE_CHECK_INTERVAL", "1s")
        .env("AUTOSCALE_CHECK_TIMEOUT", "2s")
        .env("AUTOSCALE_SLOW", "500ms")
        .env("AUTOSCALE_FAST", "200ms")
        .env("AUTOSCALE_SCALE_IN_AFTER", "1000")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    println!(
        "autoscale {} (release) against loopback fakes; check interval 1s, timeout {}s",
        env!("CARGO_PKG_VERSION"),
        timeout.as_secs()
    );

    tokio::time::sleep(Duration::from_secs(10)).await;
    let rss = proc_status(pid, "VmRSS:").unwrap_or(0);
    let hwm = proc_status(pid, "VmHWM:").unwrap_or(0);
    println!(
        "memory after 10 s: RSS {:.1} MiB (peak {:.1} MiB)",
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );

    let cpu0 = cpu_seconds(pid).unwrap_or(0.0);
    let hits0 = app.hits();
    tokio::time::sleep(Duration::from_secs(idle_seconds)).await;
    let cpu = cpu_seconds(pid).unwrap_or(0.0) - cpu0;
    let checks = app.hits() - hits0;
    println!(
        "CPU over {idle_seconds} s idle: {cpu:.2} s ({:.2} %), {checks} checks, {:.1} ms CPU per check",
        100.0 * cpu / idle_seconds as f64,
        1000.0 * cpu / checks.max(1) as f64
    );

    for (name, mode) in [
        ("500", Mode::Status(500)),
        ("hang", Mode::Hang),
        ("slow (1.5 s)", Mode::Slow(Duration::from_millis(1500))),
    ] {
        let mut samples = Vec::new();
        for _ in 0..rounds {
            // Healthy again, and two healthy checks answered: the previous round's checks
            // (a hang lasts up to the timeout) are over and the unhealthy streak is reset.
            app.set_mode(Mode::Healthy).await.unwrap();
            let hits = app.hits();
            wait_until(|| app.hits() >= hits + 2).await;
            api.set_quantity(APP, "web", 1);
            let hits = app.hits();
            wait_until(|| app.hits() > hits).await;
            // Fail at a random phase of the check interval, as a real outage would.
            tokio::time::sleep(Duration::from_millis(fastrand::u64(0..1000))).await;
            let before = api.patches().len();
            let failed_at = Instant::now();
            app.set_mode(mode).await.unwrap();
            let deadline = failed_at + Duration::from_secs(30);
            loop {
                if let Some(p) = api.patches().get(before) {
                    samples.push((p.at - failed_at).as_secs_f64());
                    break;
                }
                assert!(Instant::now() < deadline, "no PATCH within 30 s for {name}");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        samples.sort_by(f64::total_cmp);
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        println!(
            "failure {name:>12} → PATCH: mean {mean:.2} s, min {:.2} s, max {:.2} s over {rounds} rounds",
            samples[0],
            samples[samples.len() - 1]
        );
    }
    let _ = child.start_kill();
}
