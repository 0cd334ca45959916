//! Benchmark of the dashboard (`autoscale serve`): answer times of the index and of a week of
//! one target, alone and with 20 viewers at once, and the process's memory while they look.
//! Not a test; it prints numbers for docs/dashboard.md.
//!
//! ```text
//! source .ci/postgres     # optional: also measures Postgres (AUTOSCALE_TEST_POSTGRES_URL)
//! cargo run --release --example serve_bench
//! ```
//!
//! The history is the tests' week (`tests/serve_support`): 10,080 traffic minutes and 3,360
//! checks of `shop/web`, and a second target, written by the daemon's own writer. The server
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

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sqlite = serve_support::fill("bench").await;
    measure("SQLite", &sqlite.url()).await;
    sqlite.remove();
    if let Some(pg) = serve_support::postgres("bench").await {
        serve_support::write_week(&pg.url()).await;
        measure("Postgres", &pg.url()).await;
        pg.remove().await;
    }
}
