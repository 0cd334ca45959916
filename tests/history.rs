//! The history store against real databases: every case runs on SQLite (a temporary file) and
//! on Postgres (a fresh database in the cluster `AUTOSCALE_TEST_POSTGRES_URL` names; start one
//! with `bash .ci/postgres`). Without that variable the Postgres half is skipped loudly, unless
//! `AUTOSCALE_REQUIRE_POSTGRES=1` (CI), where it fails.
//!
//! Outages are real too: Postgres is reached through a loopback TCP proxy the test cuts and
//! restores; SQLite is locked by another connection holding its write lock.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use autoscale::history::{
    self, AlertRow, History, HistoryData, HistoryHandle, HoldReason, HoldRow, Options, Outcome,
    ProbeRow, ProbeSource, QueueRow, Row, ScaleRow, Startup, StoreUrl, TrafficRow, SCHEMA_VERSION,
};
use autoscale::logfmt::{Captured, Line};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sqlx::{Connection, Executor};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// One case, once per back end.
macro_rules! both {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test]
            async fn sqlite() {
                super::$case(super::Backend::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$case(super::Backend::Postgres).await
            }
        }
    )*};
}

both!(
    writes_then_reads_back,
    retention_prunes_old_rows_and_keeps_new_ones,
    two_shards_write_overlapping_minutes_without_conflict,
    an_outage_mid_run_drops_and_counts_then_rows_resume,
    an_unreachable_database_at_start_runs_and_warns,
    close_writes_what_is_queued_then_refuses,
    a_schema1_week_converts_in_place_and_reads_the_same,
    the_writer_converts_a_schema1_history_at_start,
    two_shards_converting_at_once_merge_each_row_once,
);

// ---------------------------------------------------------------------------------------------
// Databases

/// `record()` only hands a row to a bounded queue: it never waits for the database (a blocked
/// write takes seconds). The bound leaves room for a test thread preempted on a busy machine.
const RECORD_NEVER_WAITS: Duration = Duration::from_millis(250);

const PG_VAR: &str = "AUTOSCALE_TEST_POSTGRES_URL";

fn postgres_admin_url() -> Option<String> {
    match std::env::var(PG_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("AUTOSCALE_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("AUTOSCALE_REQUIRE_POSTGRES=1 but {PG_VAR} is unset: run `source .ci/postgres`")
        }
        _ => {
            // Straight to stderr: libtest captures `eprintln!` of passing tests, and a skip
            // must be seen.
            static ONCE: std::sync::Once = std::sync::Once::new();
            ONCE.call_once(|| {
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "\n*** history: the Postgres tests are SKIPPED: set {PG_VAR} (bash .ci/postgres) ***\n"
                );
            });
            None
        }
    }
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

fn unique() -> String {
    format!(
        "{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        Utc::now().timestamp_micros() % 1_000_000
    )
}

/// A fresh, empty database for one test; removed by `drop_all` at the end of a passing test.
struct Db {
    backend: Backend,
    /// The URL the history uses (through the proxy when there is one).
    url: StoreUrl,
    /// The database's own URL (no proxy), for inspection.
    direct: String,
    sqlite_dir: Option<PathBuf>,
    pg_name: Option<String>,
    proxy: Option<Proxy>,
    /// SQLite "outage": another connection holding the write lock.
    lock: Option<sqlx::SqliteConnection>,
}

impl Db {
    async fn fresh(backend: Backend) -> Option<Db> {
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("autoscale-history-{}", unique()));
                std::fs::create_dir_all(&dir).unwrap();
                let file = dir.join("history.sqlite");
                let direct = format!("sqlite://{}", file.display());
                Some(Db {
                    backend,
                    url: history::settings::parse_store_url(&direct).unwrap(),
                    direct,
                    sqlite_dir: Some(dir),
                    pg_name: None,
                    proxy: None,
                    lock: None,
                })
            }
            Backend::Postgres => {
                let admin = postgres_admin_url()?;
                let name = format!("autoscale_t_{}", unique());
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .expect("admin connection");
                conn.execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .expect("create a test database");
                conn.close().await.ok();
                let mut url = url::Url::parse(&admin).unwrap();
                url.set_path(&format!("/{name}"));
                Some(Db {
                    backend,
                    url: StoreUrl::Postgres(url.clone()),
                    direct: url.to_string(),
                    sqlite_dir: None,
                    pg_name: Some(name),
                    proxy: None,
                    lock: None,
                })
            }
        }
    }

    /// A fresh database that the test can take away and give back.
    async fn cuttable(backend: Backend) -> Option<Db> {
        let mut db = Db::fresh(backend).await?;
        if backend == Backend::Postgres {
            let StoreUrl::Postgres(url) = &db.url else {
                unreachable!()
            };
            let upstream: SocketAddr =
                format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432))
                    .parse()
                    .unwrap();
            let proxy = Proxy::start(upstream).await;
            let mut through = url.clone();
            through.set_port(Some(proxy.addr.port())).unwrap();
            db.url = StoreUrl::Postgres(through);
            db.proxy = Some(proxy);
        }
        Some(db)
    }

    /// The database stops answering: Postgres connections are cut and new ones refused; SQLite
    /// is write-locked by another connection.
    async fn cut(&mut self) {
        match self.backend {
            Backend::Postgres => self.proxy.as_ref().unwrap().cut(),
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.direct).await.unwrap();
                conn.execute("BEGIN IMMEDIATE").await.unwrap();
                self.lock = Some(conn);
            }
        }
    }

    async fn restore(&mut self) {
        match self.backend {
            Backend::Postgres => self.proxy.as_ref().unwrap().restore(),
            Backend::Sqlite => {
                let mut conn = self.lock.take().unwrap();
                conn.execute("ROLLBACK").await.unwrap();
                conn.close().await.unwrap();
            }
        }
    }

    async fn drop_all(self) {
        if let Some(dir) = &self.sqlite_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let (Some(name), Some(admin)) = (&self.pg_name, std::env::var(PG_VAR).ok()) {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                let _ = conn
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await;
            }
        }
    }
}

/// A loopback TCP proxy to Postgres that can be cut (every connection closed, new ones refused)
/// and restored.
struct Proxy {
    addr: SocketAddr,
    open: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let open = Arc::new(AtomicBool::new(true));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (o, l) = (open.clone(), links.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !o.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                l.lock().unwrap().push(link);
            }
        });
        Proxy {
            addr,
            open,
            links,
            accept,
        }
    }

    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

// ---------------------------------------------------------------------------------------------
// Logs: the crate's logfmt lines, captured per test (the tests run on a current-thread runtime,
// so the writer task logs on the test's thread).

/// The `event=history` lines with `state=<state>`.
fn history_lines(logs: &Captured, state: &str) -> Vec<Line> {
    logs.events("history")
        .into_iter()
        .filter(|l| l.get("state") == Some(state))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Rows

fn now_minute() -> DateTime<Utc> {
    Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap()
}

fn traffic(app: &str, process: &str, minute: DateTime<Utc>, requests: u32) -> TrafficRow {
    TrafficRow {
        app: app.into(),
        process: process.into(),
        minute,
        requests,
        p50_ms: 35,
        p95_ms: 240,
        p99_ms: 1_900,
        errors: 4,
        h10: 0,
        h12: 1,
        h13: 3,
        s2xx: requests.saturating_sub(20),
        s3xx: 10,
        s4xx: 6,
        s5xx: 4,
        busy: 3.25,
        dynos: 2,
    }
}

fn probe(app: &str, at: DateTime<Utc>, outcome: Outcome) -> ProbeRow {
    ProbeRow {
        app: app.into(),
        process: "web".into(),
        at,
        source: ProbeSource::Probe,
        outcome,
        status: Some(200),
        latency_ms: Some(420),
    }
}

fn options() -> Options {
    Options {
        batch_interval: Duration::from_millis(50),
        startup_timeout: Duration::from_secs(3),
        op_timeout: Duration::from_secs(2),
        busy_timeout: Duration::from_millis(200),
        retry_min: Duration::from_millis(100),
        retry_max: Duration::from_millis(400),
        ..Options::new(35)
    }
}

const FLUSH: Duration = Duration::from_secs(10);

async fn read_all(db: &Db, app: &str, process: Option<&str>) -> HistoryData {
    let far = Utc::now() + TimeDelta::days(1);
    history::read(&db.url, app, process, far - TimeDelta::days(400), far)
        .await
        .expect("read")
}

/// Polls `check` every 50 ms until it holds; panics after `limit`.
async fn until<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Cases

async fn writes_then_reads_back(backend: Backend) {
    let Some(db) = Db::fresh(backend).await else {
        return;
    };
    let logs = Captured::default();
    let _guard = logs.install("debug");
    let started = History::start(db.url.clone(), options()).await;
    assert_eq!(
        started.startup,
        Startup::Ready {
            schema_version: SCHEMA_VERSION
        }
    );
    let h = &started.handle;
    let t0 = now_minute() - TimeDelta::hours(2);
    let minute = |m: i64| t0 + TimeDelta::minutes(m);

    let mut expected = HistoryData::default();
    for m in 0..3 {
        let row = traffic("shop", "web", minute(m), 1_000 + m as u32);
        assert!(h.record(row.clone()));
        expected.traffic.push(row);
    }
    // A minute recorded twice (a restart re-sends it): the last one is kept.
    let mut again = traffic("shop", "web", minute(1), 5_555);
    again.busy = 9.5;
    assert!(h.record(again.clone()));
    expected.traffic[1] = again;
    // Seconds inside a minute are dropped: the same key as minute 2.
    let mut late = traffic("shop", "web", minute(2) + TimeDelta::seconds(59), u32::MAX);
    late.busy = 0.0;
    assert!(h.record(late.clone()));
    // Stored as the whole minute, counts saturated at SQL INTEGER's largest value.
    expected.traffic[2] = TrafficRow {
        minute: minute(2),
        requests: i32::MAX as u32,
        s2xx: i32::MAX as u32,
        ..late
    };

    let probes = [
        probe("shop", minute(0) + TimeDelta::seconds(10), Outcome::Fast),
        ProbeRow {
            source: ProbeSource::Traffic,
            status: None,
            latency_ms: None,
            ..probe(
                "shop",
                minute(1) + TimeDelta::milliseconds(250),
                Outcome::Down,
            )
        },
    ];
    for p in &probes {
        assert!(h.record(p.clone()));
    }
    expected.probes.extend(probes);
    let scale = ScaleRow {
        app: "shop".into(),
        process: "web".into(),
        at: minute(1) + TimeDelta::seconds(1),
        from: 1,
        to: 3,
        reason: "down".into(),
        result: "ok".into(),
    };
    let holds = [
        HoldRow {
            app: "shop".into(),
            process: "web".into(),
            at: minute(0),
            reason: HoldReason::Manual,
            quantity: 4,
            until: Some(minute(60)),
            ended: false,
        },
        HoldRow {
            app: "shop".into(),
            process: "web".into(),
            at: minute(2),
            reason: HoldReason::Pause,
            quantity: 4,
            until: None,
            ended: true,
        },
    ];
    let alert = AlertRow {
        app: "shop".into(),
        process: "web".into(),
        at: minute(1) + TimeDelta::seconds(2),
        kind: "scale_out".into(),
        message: format!("shop/web down: {}", "é".repeat(600)),
    };
    assert!(h.record(scale.clone()));
    for hold in &holds {
        assert!(h.record(hold.clone()));
    }
    assert!(h.record(alert.clone()));
    expected.scales.push(scale);
    expected.holds.extend(holds);
    let mut stored_alert = alert;
    stored_alert.message.truncate(1023); // 1 KiB: 15 ASCII bytes, then 2-byte characters
    expected.alerts.push(stored_alert);

    // A worker's queue minutes: one given twice (the last kept), one with blanks.
    let queue = |m: i64, depth: u64, busy: Option<u64>| QueueRow {
        app: "shop".into(),
        process: "web".into(),
        minute: minute(m),
        depth,
        latency_ms: depth * 250,
        busy,
        done: busy.map(|b| b * 30),
        dynos: 2,
        concurrency: 10,
    };
    assert!(h.record(queue(0, 400, Some(20))));
    assert!(h.record(queue(0, 410, Some(19))));
    let mut blank = queue(1, 0, None);
    blank.minute += TimeDelta::seconds(7);
    assert!(h.record(blank));
    expected.queue = vec![queue(0, 410, Some(19)), queue(1, 0, None)];

    // Other targets: a second process of the app, and another app.
    assert!(h.record(traffic("shop", "worker", minute(1), 7)));
    assert!(h.record(traffic("cart", "web", minute(1), 8)));
    // An invalid row is refused and counted, the others are not affected.
    let mut bad = traffic("shop", "web", minute(9), 1);
    bad.busy = f64::NAN;
    assert!(h.record(bad));

    assert!(h.flush(FLUSH).await);
    let stats = h.stats();
    assert_eq!(stats.queued, 17);
    assert_eq!(stats.invalid, 1);
    assert_eq!(stats.dropped, 0);
    // Two traffic rows and a queue minute landed on minutes already in the batch.
    assert_eq!(stats.written, 13, "{stats:?}");

    let web = read_all(&db, "shop", Some("web")).await;
    assert_eq!(web, expected);

    let app = read_all(&db, "shop", None).await;
    assert_eq!(app.traffic.len(), 4);
    assert_eq!(
        app.traffic
            .iter()
            .map(|r| (r.process.as_str(), r.minute))
            .collect::<Vec<_>>(),
        [
            ("web", minute(0)),
            ("web", minute(1)),
            ("worker", minute(1)),
            ("web", minute(2))
        ]
        .iter()
        .map(|(p, m)| (*p, *m))
        .collect::<Vec<_>>(),
        "time-ordered across processes"
    );
    assert_eq!(read_all(&db, "nobody", None).await, HistoryData::default());

    // [since, until): since is included, until is not.
    let window = history::read(&db.url, "shop", Some("web"), minute(1), minute(2))
        .await
        .unwrap();
    assert_eq!(
        window.traffic.iter().map(|r| r.minute).collect::<Vec<_>>(),
        [minute(1)]
    );
    assert_eq!(window.probes.len(), 1);
    assert_eq!(window.holds.len(), 0);
    assert_eq!(window.queue.len(), 1);
    let merged = window.into_rows();
    assert!(merged.windows(2).all(|w| w[0].at() <= w[1].at()));
    assert_eq!(merged.len(), 5);

    let status = history::status(&db.url).await;
    assert!(status.reachable, "{status:?}");
    assert_eq!(status.error, None);
    assert_eq!(status.schema_version, Some(SCHEMA_VERSION));
    assert_eq!(
        status.rows,
        vec![
            ("autoscale_traffic", 5),
            ("autoscale_queue", 2),
            ("autoscale_probes", 2),
            ("autoscale_scales", 1),
            ("autoscale_holds", 2),
            ("autoscale_alerts", 1)
        ]
    );
    assert_eq!(status.oldest, Some(minute(0)));
    assert!(status.size_bytes.unwrap() > 0);

    assert_eq!(history_lines(&logs, "ok").len(), 1, "{}", logs.text());
    assert!(history_lines(&logs, "lost").is_empty(), "{}", logs.text());
    assert!(h.close(FLUSH).await);
    started.task.await.unwrap();
    db.drop_all().await;
}

async fn retention_prunes_old_rows_and_keeps_new_ones(backend: Backend) {
    let Some(db) = Db::fresh(backend).await else {
        return;
    };
    let now = now_minute();
    // 40 days old (past 35 days of retention), 34 days old (kept), and recent.
    let old = now - TimeDelta::days(40);
    let kept = now - TimeDelta::days(34);
    let first = History::start(db.url.clone(), Options::new(3660)).await;
    for m in 0..30 {
        for (base, app) in [(old, "shop"), (kept, "shop"), (old, "cart"), (now, "cart")] {
            let at = base + TimeDelta::minutes(m);
            first.handle.record(traffic(app, "web", at, 1));
            first.handle.record(probe(app, at, Outcome::Ok));
            first.handle.record(QueueRow {
                app: app.into(),
                process: "web".into(),
                minute: at,
                depth: 3,
                latency_ms: 1_500,
                busy: Some(1),
                done: None,
                dynos: 1,
                concurrency: 5,
            });
            first.handle.record(AlertRow {
                app: app.into(),
                process: "web".into(),
                at,
                kind: "k".into(),
                message: "m".into(),
            });
        }
    }
    assert!(first.handle.close(FLUSH).await);
    assert_eq!(first.handle.stats().written, 480);

    // A writer with 35 days of retention prunes at start, 7 rows per statement.
    let pruning = History::start(
        db.url.clone(),
        Options {
            prune_batch: 7,
            ..options()
        },
    )
    .await;
    until(Duration::from_secs(20), "old rows to be pruned", || async {
        let status = history::status(&db.url).await;
        status.rows.iter().map(|(_, n)| n).sum::<u64>() == 240
    })
    .await;
    let shop = read_all(&db, "shop", Some("web")).await;
    assert_eq!(shop.traffic.len(), 30);
    assert!(shop.traffic.iter().all(|r| r.minute >= kept));
    assert_eq!(shop.queue.len(), 30);
    assert!(shop.queue.iter().all(|r| r.minute >= kept));
    assert_eq!(shop.probes.len(), 30);
    assert_eq!(shop.alerts.len(), 30);
    let cart = read_all(&db, "cart", None).await;
    assert!(cart.traffic.iter().all(|r| r.minute >= now));
    assert!(cart.queue.iter().all(|r| r.minute >= now));
    assert_eq!(cart.len(), 120);
    let status = history::status(&db.url).await;
    assert_eq!(status.oldest, Some(kept));
    assert!(pruning.handle.close(FLUSH).await);
    db.drop_all().await;
}

async fn two_shards_write_overlapping_minutes_without_conflict(backend: Backend) {
    let Some(db) = Db::fresh(backend).await else {
        return;
    };
    let logs = Captured::default();
    let _guard = logs.install("debug");
    // Both start at once on an empty database: the schema is applied once.
    let (a, b) = tokio::join!(
        History::start(db.url.clone(), options()),
        History::start(db.url.clone(), options())
    );
    assert_eq!(
        a.startup,
        Startup::Ready {
            schema_version: SCHEMA_VERSION
        }
    );
    assert_eq!(
        b.startup,
        Startup::Ready {
            schema_version: SCHEMA_VERSION
        }
    );
    let t0 = now_minute() - TimeDelta::hours(3);
    // Each shard writes 120 minutes of the same two targets, shifted by 60 minutes, in
    // opposite orders, flushing every 20 rows: the upserts interleave.
    let write = |h: HistoryHandle, offset: i64, value: u32, reverse: bool| async move {
        let mut minutes: Vec<i64> = (offset..offset + 120).collect();
        if reverse {
            minutes.reverse();
        }
        for (i, m) in minutes.into_iter().enumerate() {
            for app in ["shop", "cart"] {
                assert!(h.record(traffic(app, "web", t0 + TimeDelta::minutes(m), value)));
            }
            if i % 20 == 19 {
                assert!(h.flush(FLUSH).await);
            }
        }
        assert!(h.flush(FLUSH).await);
    };
    tokio::join!(
        write(a.handle.clone(), 0, 1, false),
        write(b.handle.clone(), 60, 2, true)
    );
    for app in ["shop", "cart"] {
        let data = read_all(&db, app, Some("web")).await;
        let minutes: Vec<DateTime<Utc>> = data.traffic.iter().map(|r| r.minute).collect();
        let expected: Vec<DateTime<Utc>> = (0..180).map(|m| t0 + TimeDelta::minutes(m)).collect();
        assert_eq!(minutes, expected, "one row per minute, none twice");
        assert!(data.traffic[..60].iter().all(|r| r.requests == 1));
        assert!(data.traffic[120..].iter().all(|r| r.requests == 2));
    }
    for shard in [&a, &b] {
        let stats = shard.handle.stats();
        assert_eq!((stats.written, stats.dropped), (240, 0), "{stats:?}");
    }
    assert!(history_lines(&logs, "lost").is_empty(), "{}", logs.text());
    // The second start found the schema applied; the server's "already exists" notices are
    // not passed on as log lines.
    assert!(!logs.text().contains("event=log"), "{}", logs.text());
    assert!(a.handle.close(FLUSH).await && b.handle.close(FLUSH).await);
    db.drop_all().await;
}

async fn an_outage_mid_run_drops_and_counts_then_rows_resume(backend: Backend) {
    let Some(mut db) = Db::cuttable(backend).await else {
        return;
    };
    let logs = Captured::default();
    let _guard = logs.install("debug");
    let started = History::start(db.url.clone(), options()).await;
    assert_eq!(
        started.startup,
        Startup::Ready {
            schema_version: SCHEMA_VERSION
        }
    );
    let h = started.handle.clone();
    let t0 = now_minute() - TimeDelta::hours(10);
    let mut m = 0;
    let mut next = |h: &HistoryHandle| {
        m += 1;
        let start = Instant::now();
        h.record(traffic("shop", "web", t0 + TimeDelta::minutes(m), m as u32));
        start.elapsed()
    };
    for _ in 0..5 {
        next(&h);
    }
    assert!(h.flush(FLUSH).await);
    assert_eq!(h.stats().written, 5);

    db.cut().await;
    // Rows keep coming for 3 s while the database is away; recording never waits.
    let mut slowest = Duration::ZERO;
    let outage = Instant::now();
    while outage.elapsed() < Duration::from_secs(3) {
        slowest = slowest.max(next(&h));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(h.flush(FLUSH).await);
    assert!(slowest < RECORD_NEVER_WAITS, "record() took {slowest:?}");
    let lost = history_lines(&logs, "lost");
    assert_eq!(
        lost.len(),
        1,
        "state=lost once per outage:\n{}",
        logs.text()
    );
    assert!(lost[0].get("reason").is_some_and(|r| !r.is_empty()));
    assert_eq!(lost[0].get("level"), Some("warn"));
    let during = h.stats();
    assert!(during.dropped > 0, "{during:?}");
    assert_eq!(during.written, 5);

    db.restore().await;
    // Rows resume once the backoff lets the writer try again.
    until(Duration::from_secs(20), "a write after the outage", || {
        let h = h.clone();
        let before = h.stats().written;
        let recorded = next(&h);
        async move {
            assert!(recorded < RECORD_NEVER_WAITS, "record() took {recorded:?}");
            h.flush(FLUSH).await;
            h.stats().written > before
        }
    })
    .await;
    let oks: Vec<Line> = history_lines(&logs, "ok")
        .into_iter()
        .filter(|l| l.get("schema_version").is_none())
        .collect();
    assert_eq!(oks.len(), 1, "state=ok once when back:\n{}", logs.text());
    let told: u64 = oks[0].get("dropped").unwrap().parse().unwrap();
    let after = h.stats();
    assert_eq!(told, after.dropped, "{}", logs.text());
    assert_eq!(history_lines(&logs, "lost").len(), 1, "{}", logs.text());
    assert_eq!(
        after.queued,
        after.written + after.dropped,
        "every row is written or counted: {after:?}"
    );
    let kept = read_all(&db, "shop", Some("web")).await;
    assert_eq!(kept.traffic.len() as u64, after.written);
    assert_eq!(kept.traffic.last().unwrap().requests, m as u32);
    assert!(h.close(FLUSH).await);
    db.drop_all().await;
}

async fn an_unreachable_database_at_start_runs_and_warns(backend: Backend) {
    let Some(mut db) = Db::cuttable(backend).await else {
        return;
    };
    let logs = Captured::default();
    let _guard = logs.install("debug");
    let url = match backend {
        // The proxy refuses every connection until restored.
        Backend::Postgres => {
            db.cut().await;
            db.url.clone()
        }
        // A file in a directory that does not exist cannot be created.
        Backend::Sqlite => history::settings::parse_store_url(&format!(
            "sqlite://{}/missing/dir/h.sqlite",
            db.sqlite_dir.as_ref().unwrap().display()
        ))
        .unwrap(),
    };
    let began = Instant::now();
    let started = History::start(url.clone(), options()).await;
    assert!(
        began.elapsed() < Duration::from_secs(4),
        "{:?}",
        began.elapsed()
    );
    let Startup::Unreachable { reason } = &started.startup else {
        panic!("expected unreachable, got {:?}", started.startup)
    };
    assert!(!reason.is_empty());
    let warned = history_lines(&logs, "lost");
    assert_eq!(warned.len(), 1, "{}", logs.text());
    assert_eq!(warned[0].get("level"), Some("warn"));
    assert_eq!(warned[0].get("dropped"), Some("0"));

    // The handle works: rows are taken, then dropped and counted.
    let h = started.handle.clone();
    let t0 = now_minute() - TimeDelta::hours(1);
    for m in 0..10 {
        let start = Instant::now();
        assert!(h.record(traffic("shop", "web", t0 + TimeDelta::minutes(m), 1)));
        assert!(start.elapsed() < RECORD_NEVER_WAITS);
    }
    assert!(h.flush(FLUSH).await);
    assert_eq!(h.stats().dropped, 10);
    assert_eq!(h.stats().written, 0);
    assert_eq!(history_lines(&logs, "lost").len(), 1, "{}", logs.text());

    if backend == Backend::Postgres {
        // The database comes up: the writer connects by itself and says so.
        db.restore().await;
        until(Duration::from_secs(20), "state=ok", || {
            let n = history_lines(&logs, "ok").len();
            async move { n == 1 }
        })
        .await;
        assert!(h.record(traffic("shop", "web", t0 + TimeDelta::minutes(30), 2)));
        assert!(h.flush(FLUSH).await);
        assert_eq!(h.stats().written, 1);
        assert_eq!(read_all(&db, "shop", None).await.traffic.len(), 1);
    }
    assert!(h.close(FLUSH).await);
    db.drop_all().await;
}

async fn close_writes_what_is_queued_then_refuses(backend: Backend) {
    let Some(db) = Db::fresh(backend).await else {
        return;
    };
    let started = History::start(
        db.url.clone(),
        Options {
            // Nothing is written by size or time before close.
            batch_interval: Duration::from_secs(600),
            ..options()
        },
    )
    .await;
    let h = started.handle.clone();
    let t0 = now_minute() - TimeDelta::hours(1);
    for m in 0..50 {
        assert!(h.record(Row::Traffic(traffic(
            "shop",
            "web",
            t0 + TimeDelta::minutes(m),
            1
        ))));
    }
    assert!(h.close(FLUSH).await);
    started.task.await.unwrap();
    assert_eq!(h.stats().written, 50);
    assert!(!h.record(traffic("shop", "web", t0, 1)), "closed");
    assert_eq!(h.stats().dropped, 1);
    assert_eq!(read_all(&db, "shop", None).await.traffic.len(), 50);
    // A handle for history off keeps nothing and counts nothing.
    let off = HistoryHandle::off();
    assert!(!off.record(traffic("shop", "web", t0, 1)));
    assert_eq!(off.stats(), history::Stats::default());
    assert!(off.flush(FLUSH).await && off.close(FLUSH).await);
    db.drop_all().await;
}

// ---------------------------------------------------------------------------------------------
// One back end only

#[tokio::test]
async fn sqlite_readers_never_create_a_file() {
    let dir = std::env::temp_dir().join(format!("autoscale-history-{}", unique()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("absent.sqlite");
    let url = history::settings::parse_store_url(&format!("sqlite://{}", file.display())).unwrap();
    let now = Utc::now();
    let e = history::read(&url, "shop", None, now - TimeDelta::days(1), now)
        .await
        .unwrap_err();
    assert_eq!(e.kind, "connect", "{e}");
    let status = history::status(&url).await;
    assert!(!status.reachable);
    assert!(status.error.is_some());
    assert!(!file.exists(), "a reader created the file");
    let _ = std::fs::remove_dir_all(dir);
}

/// The SQLite file deleted while the daemon writes to it: said (`state=lost reason=file_gone`),
/// a new file is created, and the rows recorded after the deletion are in it (they once went
/// into the deleted file with `state=ok`).
#[tokio::test]
async fn a_sqlite_file_deleted_while_in_use_is_said_and_created_again() {
    let db = Db::fresh(Backend::Sqlite).await.unwrap();
    let logs = Captured::default();
    let _guard = logs.install("info");
    let started = History::start(db.url.clone(), options()).await;
    assert_eq!(
        started.startup,
        Startup::Ready {
            schema_version: SCHEMA_VERSION
        }
    );
    let h = &started.handle;
    let t0 = now_minute() - TimeDelta::hours(1);
    assert!(h.record(traffic("shop", "web", t0, 100)));
    assert!(h.flush(FLUSH).await);
    assert_eq!(read_all(&db, "shop", None).await.traffic.len(), 1);
    let StoreUrl::Sqlite(path) = &db.url else {
        unreachable!()
    };
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let after = traffic("shop", "web", t0 + TimeDelta::minutes(1), 200);
    assert!(h.record(after.clone()));
    assert!(h.flush(FLUSH).await);
    let lost = history_lines(&logs, "lost");
    assert_eq!(lost.len(), 1, "{}", logs.text());
    assert_eq!(lost[0].get("reason"), Some("file_gone"));
    assert!(path.exists(), "the file was created again");
    assert_eq!(read_all(&db, "shop", None).await.traffic, vec![after]);
    // Written again: ok, with nothing dropped.
    let ok = history_lines(&logs, "ok");
    assert_eq!(
        ok.last().and_then(|l| l.get("dropped")),
        Some("0"),
        "{}",
        logs.text()
    );
    assert!(h.close(FLUSH).await);
    assert_eq!(h.stats().dropped, 0);
}

#[tokio::test]
async fn postgres_without_history_tables_says_so() {
    let Some(db) = Db::fresh(Backend::Postgres).await else {
        return;
    };
    let now = Utc::now();
    let e = history::read(&db.url, "shop", None, now - TimeDelta::days(1), now)
        .await
        .unwrap_err();
    assert_eq!(e.kind, "missing", "{e}");
    assert!(e.to_string().contains("has no autoscale history"), "{e}");
    let status = history::status(&db.url).await;
    assert!(status.reachable);
    assert_eq!(status.schema_version, None);
    assert!(status.error.unwrap().contains("has no autoscale history"));
    db.drop_all().await;
}

#[tokio::test]
async fn postgres_tls_require_accepts_a_self_signed_certificate_and_verify_full_refuses_it() {
    let Some(db) = Db::fresh(Backend::Postgres).await else {
        return;
    };
    let with_mode = |mode: &str| {
        let mut url = url::Url::parse(&db.direct).unwrap();
        url.query_pairs_mut().append_pair("sslmode", mode);
        StoreUrl::Postgres(url)
    };
    // Heroku Postgres certificates are not signed by a public authority: `require` encrypts
    // without verifying, as Heroku documents. The test cluster has a self-signed certificate.
    let required = History::start(with_mode("require"), options()).await;
    assert_eq!(
        required.startup,
        Startup::Ready {
            schema_version: SCHEMA_VERSION
        }
    );
    assert!(required.handle.close(FLUSH).await);
    let mut conn = sqlx::PgConnection::connect(&format!("{}?sslmode=require", db.direct))
        .await
        .unwrap();
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(ssl, "the test cluster must offer TLS");
    conn.close().await.ok();
    let verified = History::start(with_mode("verify-full"), options()).await;
    assert!(
        matches!(verified.startup, Startup::Unreachable { .. }),
        "{:?}",
        verified.startup
    );
    verified.handle.close(FLUSH).await;
    db.drop_all().await;
}

#[tokio::test]
async fn postgres_passwords_never_reach_output() {
    let Some(admin) = postgres_admin_url() else {
        return;
    };
    let logs = Captured::default();
    let _guard = logs.install("debug");
    const PASSWORD: &str = "hunter2-Sekr1t-pw";
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_password(Some(PASSWORD)).unwrap();
    let wrong_password = StoreUrl::Postgres(url.clone());
    url.set_port(Some(1)).unwrap();
    let closed_port = StoreUrl::Postgres(url.clone());
    url.set_query(Some("sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"));
    let bad_ca = StoreUrl::Postgres(url);
    let mut said: Vec<String> = Vec::new();
    for store in [&wrong_password, &closed_port, &bad_ca] {
        let started = History::start(store.clone(), options()).await;
        let Startup::Unreachable { reason } = &started.startup else {
            panic!("{store}: expected unreachable")
        };
        said.push(reason.clone());
        started.handle.close(FLUSH).await;
        let now = Utc::now();
        said.push(
            history::read(store, "shop", None, now - TimeDelta::days(1), now)
                .await
                .unwrap_err()
                .to_string(),
        );
        said.push(format!("{:?}", history::status(store).await));
        said.push(format!("{store} {store:?}"));
    }
    said.push(logs.text());
    let all = said.join("\n");
    assert!(!all.contains(PASSWORD), "a password leaked:\n{all}");
    assert!(!all.contains("Sekr1t"), "a password leaked:\n{all}");
    assert!(all.contains("password authentication failed"), "{all}");
}

// ---------------------------------------------------------------------------------------------
// Schema 1 (a row per minute and probe) to schema 2 (packed hours)

/// A week of one target as the daemon records it, with a second process, the extremes (counts
/// past `i32`, a `busy` that is not whole hundredths, probes without status or latency, two
/// probes at one instant) and events of every kind.
fn schema1_week(start: DateTime<Utc>) -> HistoryData {
    let mut data = HistoryData::default();
    for m in 0..7 * 24 * 60 {
        let at = start + TimeDelta::minutes(m);
        let n = m as u32;
        let mut row = traffic("shop", "web", at, 800 + n % 400);
        row.p50_ms = 30 + n % 20;
        row.p99_ms = 600 + (n * 37) % 900;
        row.errors = n % 3;
        row.busy = f64::from(n % 700) / 100.0;
        row.dynos = 2 + n % 3;
        if m == 100 {
            row.requests = u32::MAX;
            row.busy = 1.0 / 3.0;
        }
        // A quiet hour with gaps.
        if (2000..2060).contains(&m) && m % 7 != 0 {
            continue;
        }
        data.traffic.push(row);
        if m % 3 == 0 {
            let mut p = probe("shop", at + TimeDelta::milliseconds(17_250), Outcome::Fast);
            if m % 33 == 0 {
                p.outcome = Outcome::Down;
                p.status = None;
                p.latency_ms = None;
                p.source = ProbeSource::Traffic;
            }
            p.latency_ms = p.latency_ms.map(|l| l + n % 200);
            data.probes.push(p.clone());
            if m % 999 == 0 {
                data.probes.push(p);
            }
        }
        if m % 10 == 0 {
            data.traffic.push(traffic("shop", "worker", at, n));
        }
        if m % 240 == 0 {
            data.scales.push(ScaleRow {
                app: "shop".into(),
                process: "web".into(),
                at: at + TimeDelta::seconds(1),
                from: 2,
                to: 3,
                reason: "schedule".into(),
                result: "ok".into(),
            });
        }
        if m % 720 == 0 {
            data.holds.push(HoldRow {
                app: "shop".into(),
                process: "web".into(),
                at,
                reason: HoldReason::Manual,
                quantity: 4,
                until: Some(at + TimeDelta::hours(1)),
                ended: false,
            });
            data.alerts.push(AlertRow {
                app: "shop".into(),
                process: "web".into(),
                at,
                kind: "scale_out".into(),
                message: "shop/web: down".into(),
            });
        }
    }
    data
}

async fn tables(db: &Db) -> Vec<String> {
    let sql = match db.backend {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        Backend::Postgres => {
            "SELECT tablename::TEXT FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        }
    };
    match db.backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&db.direct).await.unwrap();
            sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.direct).await.unwrap();
            sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
        }
    }
}

/// Writes a week through schema 1's path, reads it (schema 1's tables), converts in batches,
/// reads again: the same rows, in the same order; schema 1's tables are gone.
async fn a_schema1_week_converts_in_place_and_reads_the_same(backend: Backend) {
    let Some(db) = Db::fresh(backend).await else {
        return;
    };
    let start = now_minute() - TimeDelta::days(8);
    let week = schema1_week(start);
    history::write_schema1(&db.url, &week).await.unwrap();
    assert!(tables(&db).await.contains(&"autoscale_traffic".to_string()));
    let (since, until) = (start - TimeDelta::hours(1), start + TimeDelta::days(8));
    let before = history::read(&db.url, "shop", None, since, until)
        .await
        .unwrap();
    assert_eq!(before.traffic.len(), week.traffic.len());
    assert!(before.traffic.len() > 11_000);
    let saturated = before
        .traffic
        .iter()
        .find(|r| r.minute == start + TimeDelta::minutes(100) && r.process == "web")
        .unwrap();
    assert_eq!(saturated.requests, i32::MAX as u32, "schema 1 saturated");
    assert_eq!(saturated.busy, 1.0 / 3.0);
    assert_eq!(before.probes.len(), week.probes.len());
    assert_eq!(before.len(), week.len());
    let steps = history::convert(&db.url, 1_000).await.unwrap();
    assert!(steps >= 14, "{steps} steps");
    let names = tables(&db).await;
    assert!(
        !names.contains(&"autoscale_traffic".to_string()),
        "{names:?}"
    );
    assert!(
        !names.contains(&"autoscale_probes".to_string()),
        "{names:?}"
    );
    let after = history::read(&db.url, "shop", None, since, until)
        .await
        .unwrap();
    assert_eq!(after, before);
    // A window cutting hours reads the same as well.
    let (from, to) = (
        start + TimeDelta::minutes(95),
        start + TimeDelta::minutes(3001),
    );
    let window = history::read(&db.url, "shop", Some("web"), from, to)
        .await
        .unwrap();
    let expected: Vec<&TrafficRow> = before
        .traffic
        .iter()
        .filter(|r| r.process == "web" && from <= r.minute && r.minute < to)
        .collect();
    assert_eq!(window.traffic.iter().collect::<Vec<_>>(), expected);
    let status = history::status(&db.url).await;
    assert_eq!(status.schema_version, Some(SCHEMA_VERSION));
    assert_eq!(status.oldest, Some(start));
    assert_eq!(
        status.rows[0],
        ("autoscale_traffic", before.traffic.len() as u64)
    );
    assert_eq!(status.rows[1], ("autoscale_queue", 0));
    assert_eq!(
        status.rows[2],
        ("autoscale_probes", before.probes.len() as u64)
    );
    // Nothing left: converting again does nothing.
    assert_eq!(history::convert(&db.url, 1_000).await.unwrap(), 0);
    db.drop_all().await;
}

/// A daemon started on a schema 1 history converts it between its batches, and what it records
/// meanwhile is kept: a minute it records again wins over the converted one.
async fn the_writer_converts_a_schema1_history_at_start(backend: Backend) {
    let Some(db) = Db::fresh(backend).await else {
        return;
    };
    let start = now_minute() - TimeDelta::days(2);
    let mut old = HistoryData::default();
    for m in 0..600 {
        old.traffic
            .push(traffic("shop", "web", start + TimeDelta::minutes(m), 10));
        old.probes
            .push(probe("shop", start + TimeDelta::minutes(m), Outcome::Ok));
    }
    history::write_schema1(&db.url, &old).await.unwrap();
    let started = History::start(
        db.url.clone(),
        Options {
            prune_batch: 50,
            ..options()
        },
    )
    .await;
    assert_eq!(
        started.startup,
        Startup::Ready {
            schema_version: SCHEMA_VERSION
        }
    );
    started
        .handle
        .record(traffic("shop", "web", start + TimeDelta::minutes(599), 77));
    assert!(started.handle.flush(FLUSH).await);
    until(
        Duration::from_secs(30),
        "schema 1 to be converted",
        || async { !tables(&db).await.contains(&"autoscale_probes".to_string()) },
    )
    .await;
    let read = read_all(&db, "shop", Some("web")).await;
    assert_eq!(read.traffic.len(), 600);
    assert_eq!(read.probes.len(), 600);
    assert_eq!(read.traffic[598].requests, 10);
    assert_eq!(
        read.traffic[599].requests, 77,
        "recorded after the start: kept"
    );
    assert!(started.handle.close(FLUSH).await);
    db.drop_all().await;
}

/// Shards starting together all convert: they take turns, and no probe is merged twice.
async fn two_shards_converting_at_once_merge_each_row_once(backend: Backend) {
    let Some(db) = Db::fresh(backend).await else {
        return;
    };
    let start = now_minute() - TimeDelta::days(3);
    let mut old = HistoryData::default();
    for app in ["shop", "cart", "blog"] {
        for m in 0..900 {
            let at = start + TimeDelta::minutes(m);
            old.traffic.push(traffic(app, "web", at, m as u32));
            old.probes
                .push(probe(app, at + TimeDelta::seconds(7), Outcome::Ok));
        }
    }
    history::write_schema1(&db.url, &old).await.unwrap();
    let since = start - TimeDelta::hours(1);
    let until = start + TimeDelta::days(1);
    let mut before = Vec::new();
    for app in ["shop", "cart", "blog"] {
        before.push(
            history::read(&db.url, app, None, since, until)
                .await
                .unwrap(),
        );
    }
    let (a, b, c) = tokio::join!(
        history::convert(&db.url, 100),
        history::convert(&db.url, 100),
        history::convert(&db.url, 100)
    );
    assert!(a.unwrap() + b.unwrap() + c.unwrap() >= 27);
    for (app, before) in ["shop", "cart", "blog"].into_iter().zip(before) {
        let after = history::read(&db.url, app, None, since, until)
            .await
            .unwrap();
        assert_eq!(after.probes.len(), 900, "{app}");
        assert_eq!(after, before, "{app}");
    }
    db.drop_all().await;
}
