//! Benchmark of the dashboard (`autoscale serve`): answer times of the index and of a week of
//! one target, alone and with 20 viewers at once, and the process's memory while they look.
//! Not a test; it prints numbers for docs/dashboard.md.
//!
//! ```text
//! source .ci/postgres     # optional: also measures Postgres (AUTOSCALE_TEST_POSTGRES_URL)
//! cargo run --release --example serve_bench [-- --targets 100]
//! ```
//!
//! The history is the tests' week (`tests/serve_support`): 10,080 traffic minutes and 3,360
//! checks of `shop/web`, and a second target, written by the daemon's own writer; `--targets N`
//! adds N more, each with a day of traffic minutes (the index reads each target's last day). The server
//! runs in this process, as `autoscale serve` runs it, on 127.0.0.1. Times are the best of 5
//! uncached answers (the server keeps an index for 10 s and a page for 30 s); "20 at once" is
//! the wall time for 20 concurrent requests of the same page, the cache emptied first. Memory
//! is VmRSS and VmHWM from /proc/self/status after 10 rounds of 20 viewers.

#[path = "../tests/serve_support/mod.rs"]
mod serve_support;

use std::time::{Duration, Instant};

use serve_support::{Server, PASSWORD};

fn status(key: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .map(|l| l[key.len()..].trim().to_owned())
        .unwrap_or_default()
}

async fn measure(name: &str, url: &autoscale::history::StoreUrl) {
    let server = Server::start(url, Some(PASSWORD)).await;
    let auth = Some(("", PASSWORD));
    for path in ["/", "/t/shop/web"] {
        let mut best = Duration::MAX;
        for _ in 0..5 {
            server.forget_index().await;
            let started = Instant::now();
            let r = server.get(path, auth).await;
            assert_eq!(r.status(), 200);
            let _ = r.bytes().await.unwrap();
            best = best.min(started.elapsed());
        }
        server.forget_index().await;
        let started = Instant::now();
        let all: Vec<_> = (0..20).map(|_| server.get(path, auth)).collect();
        for r in futures_util::future::join_all(all).await {
            assert_eq!(r.status(), 200);
            let _ = r.bytes().await.unwrap();
        }
        println!(
            "{name:<8} {path:<12} {:>5.1} ms alone, 20 at once in {:>6.1} ms",
            best.as_secs_f64() * 1000.0,
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    let before = status("VmRSS:");
    for _ in 0..10 {
        server.forget_index().await;
        let all: Vec<_> = (0..20)
            .map(|i| server.get(if i % 2 == 0 { "/t/shop/web" } else { "/" }, auth))
            .collect();
        for r in futures_util::future::join_all(all).await {
            let _ = r.bytes().await.unwrap();
        }
    }
    println!(
        "{name:<8} memory: RSS {before} before, {} after 10 rounds of 20 viewers (peak {})",
        status("VmRSS:"),
        status("VmHWM:")
    );
    server.stop().await;
}

/// `n` more targets (`app-000/web`, …), a day of traffic minutes each.
async fn more_targets(url: &autoscale::history::StoreUrl, n: usize) {
    use autoscale::history::{History, Options, TrafficRow};
    use chrono::{DurationRound, TimeDelta, Utc};
    if n == 0 {
        return;
    }
    let started = History::start(url.clone(), Options::new(35)).await;
    let now = Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap();
    for i in 0..n {
        for m in 1..=1440 {
            started.handle.record(TrafficRow {
                app: format!("app-{i:03}"),
                process: "web".into(),
                minute: now - TimeDelta::minutes(m),
                requests: 100,
                p50_ms: 30,
                p95_ms: 90,
                p99_ms: 150,
                errors: 0,
                h10: 0,
                h12: 0,
                h13: 0,
                s2xx: 100,
                s3xx: 0,
                s4xx: 0,
                s5xx: 0,
                busy: 0.5,
                dynos: 2,
            });
        }
        assert!(started.handle.flush(Duration::from_secs(60)).await);
    }
    assert!(started.handle.close(Duration::from_secs(60)).await);
    let _ = started.task.await;
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let extra = arg("--targets", 0);
    let sqlite = serve_support::fill("bench").await;
    more_targets(&sqlite.url(), extra).await;
    measure("SQLite", &sqlite.url()).await;
    sqlite.remove();
    if let Some(pg) = serve_support::postgres("bench").await {
        serve_support::write_week(&pg.url()).await;
        more_targets(&pg.url(), extra).await;
        measure("Postgres", &pg.url()).await;
        pg.remove().await;
    }
}
