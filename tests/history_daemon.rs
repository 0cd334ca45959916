//! The history wired into the daemon, end to end: the real binary with traffic from the
//! simulator's Logplex keeps its minutes, probes and scales in SQLite and in Postgres (when
//! `AUTOSCALE_TEST_POSTGRES_URL` names a cluster, `bash .ci/postgres`; required with
//! `AUTOSCALE_REQUIRE_POSTGRES=1`), goes on scaling while the database is away, and
//! `autoscale chart --history … --since 1h` draws what it kept without any `--input`.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use autoscale::clock::Clock;
use autoscale::history::{self, StoreUrl};
use autoscale::sim::Receiver;
use chrono::Utc;
use common::*;
use sqlx::{Connection, Executor};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const PG_VAR: &str = "AUTOSCALE_TEST_POSTGRES_URL";

fn postgres_admin_url() -> Option<String> {
    match std::env::var(PG_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("AUTOSCALE_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("AUTOSCALE_REQUIRE_POSTGRES=1 but {PG_VAR} is unset: run `source .ci/postgres`")
        }
        _ => {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "\n*** history_daemon: the Postgres test is SKIPPED: set {PG_VAR} (bash .ci/postgres) ***\n"
            );
            None
        }
    }
}

fn unique() -> String {
    format!(
        "{}_{}",
        std::process::id(),
        Utc::now().timestamp_micros() % 1_000_000_000
    )
}

/// A fresh store the test can take away and give back: a SQLite file (away = another
/// connection holds the write lock) or a Postgres database behind a loopback proxy (away =
/// every connection cut, new ones refused).
struct Store {
    /// What the daemon and `chart` are given.
    url: String,
    sqlite_dir: Option<PathBuf>,
    pg: Option<(String, String)>,
    proxy: Option<Proxy>,
    lock: Option<sqlx::SqliteConnection>,
}

impl Store {
    fn sqlite() -> Store {
        let dir = std::env::temp_dir().join(format!("autoscale-histwire-{}", unique()));
        std::fs::create_dir_all(&dir).unwrap();
        Store {
            url: format!("sqlite://{}", dir.join("history.sqlite").display()),
            sqlite_dir: Some(dir),
            pg: None,
            proxy: None,
            lock: None,
        }
    }

    async fn postgres() -> Option<Store> {
        let admin = postgres_admin_url()?;
        let name = format!("autoscale_hd_{}", unique());
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        conn.close().await.ok();
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&format!("/{name}"));
        let upstream: SocketAddr = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
            .parse()
            .unwrap();
        let proxy = Proxy::start(upstream).await;
        url.set_port(Some(proxy.addr.port())).unwrap();
        Some(Store {
            url: url.to_string(),
            sqlite_dir: None,
            pg: Some((admin, name)),
            proxy: Some(proxy),
            lock: None,
        })
    }

    fn store_url(&self) -> StoreUrl {
        history::settings::parse_store_url(&self.url).unwrap()
    }

    async fn cut(&mut self) {
        match &self.proxy {
            Some(proxy) => proxy.cut(),
            None => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                conn.execute("BEGIN IMMEDIATE").await.unwrap();
                self.lock = Some(conn);
            }
        }
    }

    async fn restore(&mut self) {
        match &self.proxy {
            Some(proxy) => proxy.restore(),
            None => {
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
        if let Some((admin, name)) = &self.pg {
            if let Ok(mut conn) = sqlx::PgConnection::connect(admin).await {
                let _ = conn
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await;
            }
        }
    }
}

/// A loopback TCP proxy that can be cut (connections closed, new ones refused) and restored.
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
                    continue;
                }
                l.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
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

fn history_lines(d: &Daemon, state: &str) -> usize {
    d.events_named("history")
        .iter()
        .filter(|l| l.get("state") == Some(state))
        .count()
}

/// A daemon run with traffic and an outage of the store in the middle, then `chart` and `check`
/// on what it kept.
async fn keeps_its_history(mut store: Store) {
    let w = World::new(1).await;
    let env = w.failsafe_env(&[("AUTOSCALE_HISTORY", &store.url)]);
    let mut d = Daemon::spawn(&[], &env);
    d.wait_for("history ok", Duration::from_secs(15), |l| {
        l.event() == Some("history") && l.get("state") == Some("ok")
    })
    .await;
    until("a log session", Duration::from_secs(15), || {
        w.api.logplex().sessions() >= 1
    })
    .await;
    let load = w
        .api
        .logplex()
        .feed(APP)
        .load(Clock::System, 600, 40, vec![], 2);
    d.wait_count("probe", 2, Duration::from_secs(15)).await;

    // The database goes away: the daemon says so once and goes on checking and scaling.
    store.cut().await;
    d.wait_for("history lost", Duration::from_secs(30), |l| {
        l.event() == Some("history") && l.get("state") == Some("lost")
    })
    .await;
    let scales = d.events_named("scale").len();
    d.one_failed_check(&w).await;
    d.wait_for(
        "a scale-out while the history is away",
        Duration::from_secs(10),
        |l| l.event() == Some("scale") && l.get("reason") == Some("down"),
    )
    .await;
    assert!(d.events_named("scale").len() > scales);
    assert_eq!(w.quantity(), 3, "scaling went on without the database");
    d.wait_more("probe", 2, Duration::from_secs(10)).await;

    // Back: rows are written again.
    store.restore().await;
    let back = Utc::now();
    d.wait_for("history ok again", Duration::from_secs(90), |l| {
        l.event() == Some("history")
            && l.get("state") == Some("ok")
            && l.get("dropped").is_some_and(|n| n != "0")
    })
    .await;
    // A minute of traffic closed after the store is back.
    let minute = d
        .wait_more("traffic", 1, Duration::from_secs(90))
        .await
        .last()
        .and_then(|l| l.get("minute").map(str::to_owned))
        .unwrap();
    d.wait_more("probe", 2, Duration::from_secs(10)).await;
    load.abort();
    d.signal("TERM");
    let status = d.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "{}", d.dump());
    assert_eq!(
        history_lines(&d, "lost"),
        1,
        "one outage, one line\n{}",
        d.dump()
    );
    let closed = d
        .events_named("history")
        .into_iter()
        .find(|l| l.get("state") == Some("closed"))
        .unwrap_or_else(|| panic!("no state=closed\n{}", d.dump()));
    assert_eq!(closed.get("clean"), Some("true"), "{}", d.dump());
    assert!(closed.get("written").is_some_and(|n| n != "0"));
    let all = d.lines().join("\n") + &d.stderr().join("\n");
    if let Some((_, name)) = &store.pg {
        let password = url::Url::parse(&store.url)
            .unwrap()
            .password()
            .unwrap()
            .to_owned();
        assert!(
            !all.contains(&password),
            "the password never appears\n{all}"
        );
        assert!(all.contains(name.as_str()), "the store is named (redacted)");
    }

    // Rows resumed after the outage.
    let after = history::read(&store.store_url(), APP, Some("web"), back, Utc::now())
        .await
        .unwrap();
    assert!(
        !after.probes.is_empty(),
        "probes after the outage: {after:?}"
    );
    let whole = history::read(
        &store.store_url(),
        APP,
        Some("web"),
        Utc::now() - chrono::Duration::hours(1),
        Utc::now(),
    )
    .await
    .unwrap();
    let minute: chrono::DateTime<Utc> = minute.parse().unwrap();
    assert!(
        whole
            .traffic
            .iter()
            .any(|t| t.minute == minute && t.requests > 0),
        "the minute {minute} logged after the outage was kept: {:?}",
        whole.traffic
    );
    // `chart` draws it without any --input; `check` reports it.
    let out = std::env::temp_dir().join(format!("autoscale-histwire-{}.svg", unique()));
    let out_text = out.display().to_string();
    let chart_env = vec![];
    let (code, stdout, stderr) = output(
        &[
            "chart",
            "--history",
            &store.url,
            "--since",
            "1h",
            "--output",
            &out_text,
        ],
        &chart_env,
    )
    .await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let requests: u64 = whole.traffic.iter().map(|t| u64::from(t.requests)).sum();
    assert!(
        stdout.contains(&format!(
            "traffic: {requests} requests in {} minute",
            whole.traffic.len()
        )),
        "the summary counts the stored minutes ({requests} requests)\n{stdout}"
    );
    assert!(stdout.contains(" history rows"), "{stdout}");
    assert!(stderr.contains("row(s) of history from"), "{stderr}");
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.contains("requests"), "the traffic panel is drawn");
    assert!(svg.contains("shop-app"), "the target is named");
    let _ = std::fs::remove_file(&out);
    let (_, check_out, _) = output(&["check"], &env).await;
    let line = check_out
        .lines()
        .find(|l| l.contains("history"))
        .unwrap_or_else(|| panic!("no history line\n{check_out}"));
    assert!(line.starts_with("ok"), "{line}");
    assert!(
        line.contains(&format!(
            "schema version {}",
            autoscale::history::SCHEMA_VERSION
        )) && line.contains("traffic ")
            && line.contains("queue 0"),
        "{line}"
    );
    if store.pg.is_some() {
        let password = url::Url::parse(&store.url)
            .unwrap()
            .password()
            .unwrap()
            .to_owned();
        assert!(!check_out.contains(&password), "{check_out}");
    }
    // What the index must say of the last scale: the latest one the history kept (a scale made
    // while the store was away is not in it).
    let kept = history::read(
        &store.store_url(),
        APP,
        Some("web"),
        Utc::now() - chrono::Duration::hours(1),
        Utc::now(),
    )
    .await
    .unwrap();
    let last = kept.scales.last().map(|s| (s.to, s.reason.clone()));
    serves_what_it_kept(&store, last).await;
    store.drop_all().await;
}

/// `autoscale serve` over the history the daemon wrote: the index shows the target as the
/// history has it (the last scale kept and the quantity it set, a live stream, the last check),
/// and its page draws it.
async fn serves_what_it_kept(store: &Store, last_scale: Option<(u32, String)>) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut serve = tokio::process::Command::new(env!("CARGO_BIN_EXE_autoscale"))
        .arg("serve")
        .env_clear()
        .env("AUTOSCALE_HISTORY", &store.url)
        .env("AUTOSCALE_DASHBOARD_BIND", "127.0.0.1")
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    until_async("serve answers", Duration::from_secs(20), || {
        let url = format!("{base}/healthz");
        let client = client.clone();
        async move {
            client
                .get(url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;
    let index: serde_json::Value = client
        .get(format!("{base}/api/targets"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let row = index["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["app"] == APP && r["process"] == "web")
        .unwrap_or_else(|| panic!("{index}"))
        .clone();
    match last_scale {
        Some((to, reason)) => {
            assert_eq!(row["quantity"], to, "{row}");
            assert_eq!(row["last_scale"]["reason"], reason.as_str(), "{row}");
        }
        None => assert!(row["last_scale"].is_null(), "{row}"),
    }
    assert_eq!(row["stream"], "live", "{row}");
    assert!(row["check"][0].is_string(), "the last check: {row}");
    let page = client
        .get(format!("{base}/t/{APP}/web?since=1h"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("\"app\":\"{APP}\"")),
        "the report's data"
    );
    let _ = serve.start_kill();
    let _ = serve.wait().await;
}

async fn until_async<F, Fut>(what: &str, limit: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !f().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_the_history_through_an_outage_and_chart_draws_it() {
    keeps_its_history(Store::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_the_history_through_an_outage_and_chart_draws_it() {
    if let Some(store) = Store::postgres().await {
        keeps_its_history(store).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_at_start_is_a_warning_and_a_risky_start() {
    let w = World::new(1).await;
    let hooks = Receiver::start().await.unwrap();
    // Nothing listens there: the connection is refused at once.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("postgres://autoscale:pa55-w0rd-x@127.0.0.1:{port}/nowhere");
    let webhook = hooks.url("/hook");
    let env = w.failsafe_env(&[
        ("AUTOSCALE_HISTORY", &url),
        ("AUTOSCALE_NOTIFY_WEBHOOK", &webhook),
    ]);
    let mut d = Daemon::spawn(&[], &env);
    let lost = d
        .wait_for("history lost", Duration::from_secs(15), |l| {
            l.event() == Some("history") && l.get("state") == Some("lost")
        })
        .await;
    assert_eq!(lost.get("level"), Some("warn"));
    d.wait_for("the risky start alert", Duration::from_secs(15), |l| {
        l.event() == Some("notify") && l.get("kind") == Some("risky_start")
    })
    .await;
    until("the webhook got it", Duration::from_secs(10), || {
        hooks
            .received()
            .iter()
            .any(|r| r.body.contains("history database"))
    })
    .await;
    // The daemon runs: it checks and scales as usual.
    d.wait_count("probe", 2, Duration::from_secs(15)).await;
    d.one_failed_check(&w).await;
    until("a scale-out", Duration::from_secs(10), || w.quantity() == 3).await;
    d.signal("TERM");
    assert!(d.wait_exit(Duration::from_secs(30)).await.success());
    let all = d.lines().join("\n") + &d.stderr().join("\n");
    let bodies: String = hooks.received().iter().map(|r| r.body.clone()).collect();
    assert!(!all.contains("pa55-w0rd-x") && !bodies.contains("pa55-w0rd-x"));
    let (code, check_out, _) = output(&["check"], &env).await;
    assert_eq!(code, 1, "an unreachable store fails the check\n{check_out}");
    let line = check_out.lines().find(|l| l.contains("history")).unwrap();
    assert!(
        line.starts_with("failed") && line.contains("unreachable"),
        "{line}"
    );
    assert!(!check_out.contains("pa55-w0rd-x"));
}
