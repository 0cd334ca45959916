//! Benchmark: the release binary against the loopback simulator. Not a test (nothing is timed
//! against a limit); it prints numbers for the README.
//!
//! ```text
//! cargo build --release --locked && cargo run --release --locked --example bench \
//!     [-- --idle-seconds 60 --rounds 5 --scale-seconds 60 --compress 30]
//! ```
//!
//! Measures, on Linux (/proc):
//! - one target: resident memory (VmRSS, VmHWM) after 10 s of running with a check every
//!   second; CPU seconds (user + system) over the idle window; seconds from the app failing
//!   (500, hang, slow) to the PATCH that scales out;
//! - 1, 100 and 1,000 targets (500 apps × web + worker), time compressed (`--compress 30`: a
//!   6 s check interval stands for the default 3 minutes, and the API budget is 30 × 2000 an
//!   hour): API calls per target-hour at steady state, how late the latest check started after
//!   its slot, resident memory, CPU per check.

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

/// Resident memory by kind from /proc/PID/smaps_rollup: anonymous (heap, stacks) and
/// file-backed (the binary's code and data the process touched), in KiB.
fn rss_split(pid: u32) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let field = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    let anonymous = field("Anonymous:");
    format!(
        "anonymous {:.1} MiB, file-backed {:.1} MiB",
        anonymous / 1024.0,
        (field("Rss:") - anonymous) / 1024.0
    )
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

/// The daemon keeps its history as it would by default (a local SQLite file), in a temporary
/// file rather than the working directory.
fn history_url() -> String {
    let path = std::env::temp_dir().join(format!("autoscale-bench-{}.sqlite", std::process::id()));
    format!("sqlite://{}", path.display())
}

fn binary() -> std::path::PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_owned());
    let binary = std::env::current_dir()
        .unwrap()
        .join(target)
        .join("release/autoscale");
    assert!(
        binary.exists(),
        "build the release binary first: cargo build --release --locked"
    );
    binary
}

#[tokio::main]
async fn main() {
    // `--one 0` skips the single-target measurements (the many-target ones take their own time).
    if arg("--one", 1) == 1 {
        one_target().await;
    }
    let seconds = arg("--scale-seconds", 60);
    let compress = arg("--compress", 30);
    for targets in [1, 100, 1000] {
        many_targets(targets, seconds, compress).await;
    }
    let history =
        std::env::temp_dir().join(format!("autoscale-bench-{}.sqlite", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", history.display()));
    }
}

/// 1, 100 or 1,000 targets: `targets / 2` apps with a web (checked) and a worker (not).
async fn many_targets(targets: usize, seconds: u64, compress: u64) {
    let api = FakeHeroku::start(KEY).await.unwrap();
    let app = FakeApp::start().await.unwrap();
    let apps = targets.div_ceil(2);
    let interval = Duration::from_secs(180 / compress);
    let mut file = format!(
        "[defaults]\ncheck_interval = \"{}s\"\ncheck_timeout = \"2s\"\nslow = \"1s\"\nfast = \"500ms\"\nmax = 4\n",
        interval.as_secs()
    );
    let mut made = 0;
    for i in 0..apps {
        let name = format!("app-{i:04}");
        api.add_app(&name, Some(&app.url()));
        for process in ["web", "worker"] {
            if made == targets {
                break;
            }
            api.add_formation(&name, process, 1, "Standard-1X");
            api.set_updated_at(&name, process, "2026-01-01T00:00:00Z".parse().unwrap());
            file.push_str(&format!(
                "[[target]]\napp = \"{name}\"\nprocess = \"{process}\"\nschedule = \"00:00=1\"\n"
            ));
            made += 1;
        }
    }
    let budget = 2000 * compress;
    let mut child = tokio::process::Command::new(binary())
        .env_clear()
        // To try glibc's arena setting: MALLOC_ARENA_MAX=2 cargo run --example bench.
        .envs(std::env::var("MALLOC_ARENA_MAX").map(|v| ("MALLOC_ARENA_MAX", v)))
        .env("AUTOSCALE_HISTORY", history_url())
        .env("HEROKU_API_KEY", KEY)
        .env("HEROKU_API_URL", api.url())
        .env("AUTOSCALE_CONFIG", &file)
        .env("AUTOSCALE_API_BUDGET", budget.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    // Collect how late each check started after its slot.
    let late = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u64>::new()));
    let stdout = child.stdout.take().unwrap();
    let collect = late.clone();
    let reader = tokio::spawn(async move {
        use tokio::io::AsyncBufReadExt as _;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(l) = autoscale::logfmt::Line::parse(&line) {
                if l.event() == Some("probe") {
                    if let Some(ms) = l.get("late_ms").and_then(|v| v.parse().ok()) {
                        collect.lock().unwrap().push(ms);
                    }
                }
            }
        }
    });
    // Startup (every app read) and one whole interval for the phases to settle.
    let started = Instant::now();
    while api
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/formation"))
        .count()
        < apps
    {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "startup did not finish"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let startup = started.elapsed();
    tokio::time::sleep(interval * 2).await;
    late.lock().unwrap().clear();
    let calls0 = api.requests().len();
    let cpu0 = cpu_seconds(pid).unwrap_or(0.0);
    let hits0 = app.hits();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let calls = api.requests().len() - calls0;
    let cpu = cpu_seconds(pid).unwrap_or(0.0) - cpu0;
    let checks = app.hits() - hits0;
    let rss = proc_status(pid, "VmRSS:").unwrap_or(0);
    let hwm = proc_status(pid, "VmHWM:").unwrap_or(0);
    let split = rss_split(pid);
    let _ = child.start_kill();
    let _ = child.wait().await;
    let _ = reader.await;
    let late = late.lock().unwrap().clone();
    let worst = late.iter().copied().max().unwrap_or(0);
    let virtual_hours = (seconds * compress) as f64 / 3600.0;
    println!(
        "{targets:>5} targets ({apps} apps): startup {:.1} s; {calls} API calls in {seconds} s = {:.2} per target-hour (budget {} an hour, compressed ×{compress}); \
         latest check start {worst} ms after its slot ({:.1} % of the {} s interval, {} checks); RSS {:.1} MiB (peak {:.1}; {split}); CPU {:.3} ms per check",
        startup.as_secs_f64(),
        calls as f64 / targets as f64 / virtual_hours,
        2000,
        100.0 * worst as f64 / interval.as_millis() as f64,
        interval.as_secs(),
        late.len(),
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0,
        1000.0 * cpu / checks.max(1) as f64,
    );
}

async fn one_target() {
    let idle_seconds = arg("--idle-seconds", 60);
    let rounds = arg("--rounds", 5);
    let binary = binary();

    let api = FakeHeroku::start(KEY).await.unwrap();
    let app = FakeApp::start().await.unwrap();
    api.add_app(APP, Some(&app.url()));
    api.add_formation(APP, "web", 1, "Standard-1X");
    api.set_updated_at(APP, "web", "2026-01-01T00:00:00Z".parse().unwrap());

    let timeout = Duration::from_secs(2);
    let mut child = tokio::process::Command::new(&binary)
        .env_clear()
        // To try glibc's arena setting: MALLOC_ARENA_MAX=2 cargo run --example bench.
        .envs(std::env::var("MALLOC_ARENA_MAX").map(|v| ("MALLOC_ARENA_MAX", v)))
        .env("AUTOSCALE_HISTORY", history_url())
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
        .env("AUTOSCALE_MANUAL_HOLD", "0")
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
        "memory after 10 s: RSS {:.1} MiB (peak {:.1} MiB; {})",
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0,
        rss_split(pid)
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
