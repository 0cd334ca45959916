//! Benchmark of the history store: storage per target-week, the writer's CPU for 1,000 targets,
//! and the time to read one target-week. Not a test; it prints numbers for the README.
//!
//! ```text
//! source .ci/postgres     # a local PostgreSQL; exports AUTOSCALE_TEST_POSTGRES_URL
//! cargo run --release --example history_bench [-- --targets 10 --cpu-seconds 120]
//! ```
//!
//! 1. Size: `--targets` targets each get one week of history — a traffic minute every minute
//!    (10,080), a probe every 3 minutes (3,360), 6 scales, 2 holds and 2 alerts a day —
//!    recorded as fast as the writer takes them (time-compressed: the rows carry last week's
//!    instants). Postgres: `pg_total_relation_size` of the history tables, before and after
//!    `VACUUM ANALYZE` (autovacuum's steady state), divided by the targets. SQLite: the file.
//! 2. Read: one target-week (`history::read`), warm, 5 times: min / median / max.
//! 3. CPU at real rate: 1,000 targets for `--cpu-seconds` of wall time, rows arriving as the
//!    daemon would send them (1,000 traffic minutes and 333 probes per minute, spread evenly), so
//!    the writer batches as in production (a transaction every 2 s). The process's utime +
//!    stime over the window (/proc/self/stat) is the writer's CPU plus the trivial row
//!    generation, as a % of one core.
//! 4. Migration (`-- --migrate-targets 100 --migrate-days 35`, instead of 1–3): that many
//!    targets and days written as schema 1 (a row per minute and probe), then converted in place
//!    (`history::convert`, as the writer does at start); sizes before and after, its time.

use std::time::{Duration, Instant};

use autoscale::history::{
    self, AlertRow, History, HistoryHandle, HoldReason, HoldRow, Options, Outcome, ProbeRow,
    ProbeSource, ScaleRow, StoreUrl, TrafficRow,
};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sqlx::{ConnectOptions, Connection, Executor};

const MINUTES_PER_WEEK: i64 = 7 * 24 * 60;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// utime + stime of this process, in seconds (Linux).
fn cpu_seconds() -> f64 {
    let text = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let after = &text[text.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `after` starts at field 3.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0 // USER_HZ is 100 on Linux
}

fn traffic(app: &str, minute: DateTime<Utc>, n: u64) -> TrafficRow {
    let requests = 800 + (n % 400) as u32;
    TrafficRow {
        app: app.into(),
        process: "web".into(),
        minute,
        requests,
        p50_ms: 30 + (n % 20) as u32,
        p95_ms: 180 + (n % 90) as u32,
        p99_ms: 600 + (n % 700) as u32,
        errors: (n % 3) as u32,
        h10: 0,
        h12: n.is_multiple_of(7) as u32,
        h13: 0,
        s2xx: requests - 30,
        s3xx: 20,
        s4xx: 8,
        s5xx: 2,
        busy: 1.5 + (n % 10) as f64 / 10.0,
        dynos: 2 + (n % 3) as u32,
    }
}

fn probe(app: &str, at: DateTime<Utc>, n: u64) -> ProbeRow {
    ProbeRow {
        app: app.into(),
        process: "web".into(),
        at,
        source: ProbeSource::Probe,
        outcome: if n.is_multiple_of(11) {
            Outcome::Ok
        } else {
            Outcome::Fast
        },
        status: Some(200),
        latency_ms: Some(80 + (n % 200) as u32),
    }
}

/// Records without ever overflowing the queue (the size run must not drop rows).
async fn record(h: &HistoryHandle, row: impl Into<history::Row>, limit: u64) {
    loop {
        let s = h.stats();
        if s.queued - s.written - s.dropped - s.invalid < limit {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(h.record(row), "the queue refused a row");
}

async fn write_weeks(url: &StoreUrl, targets: u64, start: DateTime<Utc>) -> (u64, f64) {
    let options = Options {
        queue_rows: 20_000,
        ..Options::new(35)
    };
    let started = History::start(url.clone(), options).await;
    assert!(
        matches!(started.startup, history::Startup::Ready { .. }),
        "{:?}",
        started.startup
    );
    let h = started.handle.clone();
    let began = Instant::now();
    for m in 0..MINUTES_PER_WEEK {
        let minute = start + TimeDelta::minutes(m);
        for t in 0..targets {
            let app = format!("bench-app-{t}");
            let n = (m as u64) * targets + t;
            record(&h, traffic(&app, minute, n), 15_000).await;
            if m % 3 == t as i64 % 3 {
                record(&h, probe(&app, minute + TimeDelta::seconds(17), n), 15_000).await;
            }
            if m % 240 == 0 {
                record(
                    &h,
                    ScaleRow {
                        app: app.clone(),
                        process: "web".into(),
                        at: minute + TimeDelta::seconds(1),
                        from: 2,
                        to: 3,
                        reason: "schedule".into(),
                        result: "ok".into(),
                    },
                    15_000,
                )
                .await;
            }
            if m % 720 == 0 {
                record(
                    &h,
                    HoldRow {
                        app: app.clone(),
                        process: "web".into(),
                        at: minute,
                        reason: HoldReason::Manual,
                        quantity: 4,
                        until: Some(minute + TimeDelta::hours(1)),
                        ended: false,
                    },
                    15_000,
                )
                .await;
                record(
                    &h,
                    AlertRow {
                        app: app.clone(),
                        process: "web".into(),
                        at: minute,
                        kind: "scale_out".into(),
                        message: format!("{app}/web is slow: scaled out from 2 to 4"),
                    },
                    15_000,
                )
                .await;
            }
        }
    }
    assert!(h.close(Duration::from_secs(60)).await);
    let stats = h.stats();
    assert_eq!((stats.dropped, stats.invalid), (0, 0), "{stats:?}");
    (stats.written, began.elapsed().as_secs_f64())
}

async fn read_week(url: &StoreUrl, start: DateTime<Utc>) -> (usize, Vec<f64>) {
    let until = start + TimeDelta::minutes(MINUTES_PER_WEEK);
    let mut rows = 0;
    let mut times = Vec::new();
    for i in 0..6 {
        let began = Instant::now();
        let data = history::read(url, "bench-app-0", Some("web"), start, until)
            .await
            .expect("read");
        if i > 0 {
            times.push(began.elapsed().as_secs_f64() * 1000.0);
        }
        rows = data.len();
    }
    times.sort_by(f64::total_cmp);
    (rows, times)
}

/// `targets` targets × `days` days written as schema 1 did (rows per minute and probe), then
/// converted in place (`history::convert`, 5,000 rows a transaction, as the writer does):
/// prints the sizes before and after and the conversion's time.
async fn migrate(url: &StoreUrl, pg_text: &str, targets: u64, days: i64) {
    let start = Utc::now().duration_trunc(TimeDelta::hours(1)).unwrap() - TimeDelta::days(days);
    let began = Instant::now();
    for t in 0..targets {
        let app = format!("old-app-{t}");
        let mut data = history::HistoryData::default();
        for m in 0..days * 24 * 60 {
            let minute = start + TimeDelta::minutes(m);
            let n = (m as u64) * targets + t;
            data.traffic.push(traffic(&app, minute, n));
            if m % 3 == 0 {
                data.probes
                    .push(probe(&app, minute + TimeDelta::seconds(17), n));
            }
            if m % 240 == 0 {
                data.scales.push(ScaleRow {
                    app: app.clone(),
                    process: "web".into(),
                    at: minute + TimeDelta::seconds(1),
                    from: 2,
                    to: 3,
                    reason: "schedule".into(),
                    result: "ok".into(),
                });
            }
        }
        history::write_schema1(url, &data)
            .await
            .expect("schema 1 rows");
    }
    let size = |label: &str| {
        let label = label.to_owned();
        async move {
            let bytes = match url {
                StoreUrl::Postgres(_) => {
                    let mut conn = sqlx::PgConnection::connect(pg_text).await.unwrap();
                    let names: Vec<String> = postgres_sizes(pg_text)
                        .await
                        .into_iter()
                        .map(|(t, _)| t)
                        .collect();
                    conn.execute(format!("VACUUM ANALYZE {}", names.join(", ")).as_str())
                        .await
                        .unwrap();
                    postgres_sizes(pg_text)
                        .await
                        .iter()
                        .map(|(_, b)| b)
                        .sum::<i64>() as u64
                }
                StoreUrl::Sqlite(path) => {
                    let mut conn =
                        sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                            .await
                            .unwrap();
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE); VACUUM")
                        .await
                        .unwrap();
                    conn.close().await.unwrap();
                    std::fs::metadata(path).unwrap().len()
                }
            };
            let weeks = targets as f64 * days as f64 / 7.0;
            println!(
                "{}: {label}: {:.1} MB, {:.1} KB per target-week",
                url.kind(),
                bytes as f64 / 1e6,
                bytes as f64 / 1024.0 / weeks
            );
        }
    };
    println!(
        "{}: wrote {targets} targets x {days} days as schema 1 in {:.0} s",
        url.kind(),
        began.elapsed().as_secs_f64()
    );
    size("schema 1 (a row per minute), after VACUUM").await;
    let began = Instant::now();
    let steps = history::convert(url, 5_000).await.expect("convert");
    println!(
        "{}: converted in {:.1} s ({steps} transactions of at most ~5,000 rows, {:.0} ms each)",
        url.kind(),
        began.elapsed().as_secs_f64(),
        began.elapsed().as_secs_f64() * 1000.0 / steps.max(1) as f64
    );
    size("schema 2 (packed hours), after VACUUM").await;
    let began = Instant::now();
    let data = history::read(
        url,
        "old-app-0",
        Some("web"),
        start,
        start + TimeDelta::days(7),
    )
    .await
    .unwrap();
    println!(
        "{}: read one converted target-week ({} rows) in {:.0} ms",
        url.kind(),
        data.len(),
        began.elapsed().as_secs_f64() * 1000.0
    );
}

async fn postgres_sizes(url: &str) -> Vec<(String, i64)> {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_as(
        "SELECT relname::TEXT, pg_total_relation_size(oid) FROM pg_class \
         WHERE relkind = 'r' AND relname LIKE 'autoscale%' ORDER BY relname",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
}

async fn cpu_at_real_rate(url: &StoreUrl, seconds: u64) -> (f64, u64) {
    const TARGETS: u64 = 1_000;
    let started = History::start(url.clone(), Options::new(35)).await;
    let h = started.handle.clone();
    let apps: Vec<String> = (0..TARGETS).map(|t| format!("rate-app-{t}")).collect();
    let cpu0 = cpu_seconds();
    let began = Instant::now();
    let base = Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap();
    // Every 100 ms, the rows due in that tenth of a minute-slot: a minute's 1,000 traffic rows
    // and 333 probes spread over 60 s.
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut sent: u64 = 0;
    while began.elapsed() < Duration::from_secs(seconds) {
        tick.tick().await;
        let elapsed_ms = began.elapsed().as_millis() as u64;
        let due = elapsed_ms * (TARGETS + TARGETS / 3) / 60_000;
        while sent < due {
            let minute_index = sent / (TARGETS + TARGETS / 3);
            let slot = sent % (TARGETS + TARGETS / 3);
            let minute = base + TimeDelta::minutes(minute_index as i64);
            if slot < TARGETS {
                h.record(traffic(&apps[slot as usize], minute, sent));
            } else {
                let t = (slot - TARGETS) * 3 + minute_index % 3;
                h.record(probe(
                    &apps[t as usize],
                    minute + TimeDelta::seconds(5),
                    sent,
                ));
            }
            sent += 1;
        }
    }
    assert!(h.flush(Duration::from_secs(30)).await);
    let cpu = cpu_seconds() - cpu0;
    let wall = began.elapsed().as_secs_f64();
    let stats = h.stats();
    assert_eq!(stats.dropped, 0, "{stats:?}");
    assert!(h.close(Duration::from_secs(30)).await);
    (100.0 * cpu / wall, stats.written)
}

#[tokio::main]
async fn main() {
    autoscale::logfmt::init(&std::env::var("BENCH_LOG").unwrap_or("warn".into())).expect("logger");
    let targets = arg("--targets", 10);
    let cpu_window = arg("--cpu-seconds", 120);
    let admin = std::env::var("AUTOSCALE_TEST_POSTGRES_URL")
        .expect("AUTOSCALE_TEST_POSTGRES_URL (source .ci/postgres)");
    let name = format!("autoscale_bench_{}", std::process::id());
    let mut conn = admin
        .parse::<sqlx::postgres::PgConnectOptions>()
        .unwrap()
        .disable_statement_logging()
        .connect()
        .await
        .unwrap();
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let mut pg = url::Url::parse(&admin).unwrap();
    pg.set_path(&format!("/{name}"));
    let pg_text = pg.to_string();
    let pg_url = StoreUrl::Postgres(pg);
    let dir = std::env::temp_dir().join(format!("autoscale-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("history.sqlite");
    let sqlite_url =
        history::settings::parse_store_url(&format!("sqlite://{}", file.display())).unwrap();

    let start = Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap() - TimeDelta::days(8);
    println!("history benchmark: {targets} targets x one week, then 1,000 targets at real rate for {cpu_window} s");
    let only_sqlite = std::env::var("BENCH_ONLY_SQLITE").is_ok();
    let migrate_targets = arg("--migrate-targets", 0);
    if migrate_targets > 0 {
        let days = arg("--migrate-days", 35) as i64;
        for url in [&sqlite_url, &pg_url] {
            if only_sqlite && url.kind() == "postgres" {
                continue;
            }
            migrate(url, &pg_text, migrate_targets, days).await;
        }
        conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await
            .ok();
        let _ = std::fs::remove_dir_all(dir);
        return;
    }
    for url in [&pg_url, &sqlite_url] {
        if only_sqlite && url.kind() == "postgres" {
            continue;
        }
        let (written, secs) = write_weeks(url, targets, start).await;
        println!(
            "{}: wrote {written} rows in {secs:.1} s ({:.0} rows/s)",
            url.kind(),
            written as f64 / secs
        );
        match url {
            StoreUrl::Postgres(_) => {
                let sizes = postgres_sizes(&pg_text).await;
                let fresh: i64 = sizes.iter().map(|(_, b)| b).sum();
                let mut conn = sqlx::PgConnection::connect(&pg_text).await.unwrap();
                let names: Vec<&str> = sizes.iter().map(|(t, _)| t.as_str()).collect();
                conn.execute(format!("VACUUM ANALYZE {}", names.join(", ")).as_str())
                    .await
                    .unwrap();
                let vacuumed = postgres_sizes(&pg_text).await;
                let steady: i64 = vacuumed.iter().map(|(_, b)| b).sum();
                for (table, bytes) in &vacuumed {
                    println!(
                        "  {table:<20} {:>8.1} KB per target-week",
                        *bytes as f64 / 1024.0 / targets as f64
                    );
                }
                println!(
                    "postgres: {:.1} KB per target-week as written, {:.1} KB after VACUUM ANALYZE",
                    fresh as f64 / 1024.0 / targets as f64,
                    steady as f64 / 1024.0 / targets as f64
                );
            }
            StoreUrl::Sqlite(path) => {
                let bytes = std::fs::metadata(path).unwrap().len()
                    + std::fs::metadata(path.with_extension("sqlite-wal"))
                        .map(|m| m.len())
                        .unwrap_or(0);
                let mut conn =
                    sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                        .await
                        .unwrap();
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE); VACUUM")
                    .await
                    .unwrap();
                conn.close().await.unwrap();
                let vacuumed = std::fs::metadata(path).unwrap().len();
                println!(
                    "sqlite: {:.1} KB per target-week as written (file and WAL), {:.1} KB after VACUUM",
                    bytes as f64 / 1024.0 / targets as f64,
                    vacuumed as f64 / 1024.0 / targets as f64
                );
            }
        }
        let (rows, times) = read_week(url, start).await;
        println!(
            "{}: read one target-week ({rows} rows): min {:.0} ms, median {:.0} ms, max {:.0} ms",
            url.kind(),
            times[0],
            times[times.len() / 2],
            times[times.len() - 1]
        );
    }
    if cpu_window > 0 {
        let (percent, written) = cpu_at_real_rate(&pg_url, cpu_window).await;
        println!(
            "postgres: 1,000 targets at real rate for {cpu_window} s: {written} rows written, \
             process CPU {percent:.2} % of one core"
        );
    }
    conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
        .ok();
    let _ = std::fs::remove_dir_all(dir);
}
