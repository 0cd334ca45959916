//! Support for the dashboard's tests: a history written by the real writer, the server
//! in-process on 127.0.0.1, and requests with or without the password.

#![allow(dead_code)] // serve.rs and serve_browser.rs each use their own part

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use autoscale::history::{
    AlertRow, History, Options, Outcome, ProbeRow, ProbeSource, QueueRow, ScaleRow, StoreUrl,
    TrafficRow,
};
use chrono::{DurationRound, TimeDelta, Utc};
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct horse battery staple";
/// An app name, a scale reason and an alert kind no page may run.
pub const HOSTILE: &str = "</script><script>alert(1)</script>";

/// A SQLite history in a fresh temp dir (the file does not exist until written).
pub struct Dir {
    pub path: PathBuf,
}

impl Dir {
    pub fn new(label: &str) -> Dir {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "autoscale-serve-{label}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Dir { path }
    }

    pub fn url_text(&self) -> String {
        format!("sqlite://{}", self.path.join("history.sqlite").display())
    }

    pub fn url(&self) -> StoreUrl {
        autoscale::history::settings::parse_store_url(&self.url_text()).unwrap()
    }

    pub fn remove(self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A fresh Postgres database in the cluster `AUTOSCALE_TEST_POSTGRES_URL` names, if any.
pub struct Pg {
    admin: String,
    name: String,
    url: url::Url,
}

pub async fn postgres(label: &str) -> Option<Pg> {
    use sqlx::{Connection, Executor};
    let admin = std::env::var("AUTOSCALE_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty());
    let Some(admin) = admin else {
        assert_ne!(
            std::env::var("AUTOSCALE_REQUIRE_POSTGRES").as_deref(),
            Ok("1"),
            "AUTOSCALE_REQUIRE_POSTGRES=1 but AUTOSCALE_TEST_POSTGRES_URL is unset"
        );
        eprintln!("serve: the Postgres half is SKIPPED: set AUTOSCALE_TEST_POSTGRES_URL (bash .ci/postgres)");
        return None;
    };
    let name = format!("autoscale_serve_{label}_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    let _ = conn
        .execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
        .await;
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    conn.close().await.ok();
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path(&format!("/{name}"));
    Some(Pg { admin, name, url })
}

impl Pg {
    pub fn url(&self) -> StoreUrl {
        StoreUrl::Postgres(self.url.clone())
    }

    pub async fn remove(self) {
        use sqlx::{Connection, Executor};
        if let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin).await {
            let _ = conn
                .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
                .await;
            conn.close().await.ok();
        }
    }
}

/// A SQLite history with [`write_week`] in it.
pub async fn fill(label: &str) -> Dir {
    let dir = Dir::new(label);
    write_week(&dir.url()).await;
    dir
}

/// A week of `shop/web` up to this minute — a minute of traffic each minute, a check every 3
/// minutes, a scale 2 h ago —, the last hour of `shop/worker`'s job queue (its last minute: 600
/// waiting, the oldest 45 s, 20 of 20 running), and a target whose name, scale reason and alert
/// are hostile markup, with a check that failed a minute ago. Written by the daemon's own writer.
pub async fn write_week(url: &StoreUrl) {
    let started = History::start(url.clone(), Options::new(35)).await;
    let h = &started.handle;
    let now = Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap();
    let week = 7 * 24 * 60;
    for m in (1..=week).rev() {
        let minute = now - TimeDelta::minutes(m);
        let requests = 200 + (m % 120) as u32;
        assert!(h.record(TrafficRow {
            app: "shop".into(),
            process: "web".into(),
            minute,
            requests,
            p50_ms: 40,
            p95_ms: 180,
            p99_ms: 400,
            errors: u32::from(m % 97 == 0),
            h10: 0,
            h12: 0,
            h13: 0,
            s2xx: requests - 5,
            s3xx: 2,
            s4xx: 3,
            s5xx: 0,
            busy: 1.5,
            dynos: 3,
        }));
        if m % 3 == 0 {
            h.record(ProbeRow {
                app: "shop".into(),
                process: "web".into(),
                at: minute,
                source: ProbeSource::Probe,
                outcome: Outcome::Fast,
                status: Some(200),
                latency_ms: Some(35),
            });
        }
        if m % 2_000 == 0 {
            // Let the writer keep up (its queue is bounded; a full one drops rows).
            assert!(
                h.flush(Duration::from_secs(30)).await,
                "the writer keeps up"
            );
        }
    }
    for m in (1..=60).rev() {
        let last = m == 1;
        h.record(QueueRow {
            app: "shop".into(),
            process: "worker".into(),
            minute: now - TimeDelta::minutes(m),
            depth: if last { 600 } else { 3 },
            latency_ms: if last { 45_000 } else { 800 },
            busy: Some(if last { 20 } else { 6 }),
            done: Some(300),
            dynos: 2,
            concurrency: 10,
        });
    }
    h.record(ScaleRow {
        app: "shop".into(),
        process: "web".into(),
        at: now - TimeDelta::hours(2),
        from: 1,
        to: 3,
        reason: "schedule".into(),
        result: "ok".into(),
    });
    h.record(ScaleRow {
        app: HOSTILE.into(),
        process: "web".into(),
        at: now - TimeDelta::minutes(30),
        from: 1,
        to: 2,
        reason: HOSTILE.into(),
        result: "ok".into(),
    });
    h.record(ProbeRow {
        app: HOSTILE.into(),
        process: "web".into(),
        at: now - TimeDelta::minutes(1),
        source: ProbeSource::Probe,
        outcome: Outcome::Down,
        status: Some(503),
        latency_ms: Some(20),
    });
    h.record(AlertRow {
        app: HOSTILE.into(),
        process: "web".into(),
        at: now - TimeDelta::minutes(2),
        kind: "scale_out".into(),
        message: HOSTILE.into(),
    });
    assert!(h.close(Duration::from_secs(30)).await, "everything written");
    let _ = started.task.await;
}

/// The configured targets the server is given: `shop/web` at 3 dynos all day.
pub fn configured() -> Vec<autoscale::config::Target> {
    let mut raw = autoscale::config::Raw::default();
    raw.set("AUTOSCALE_APP", "shop");
    raw.set("AUTOSCALE_SCHEDULE", "00:00=3");
    autoscale::config::targets(&raw, &autoscale::config::Env::default())
        .unwrap()
        .all
}

/// The dashboard in-process on 127.0.0.1.
pub struct Server {
    pub base: String,
    pub state: Arc<autoscale::serve::State>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    client: reqwest::Client,
}

pub trait HasUrl {
    fn store_url(&self) -> StoreUrl;
}

impl HasUrl for Dir {
    fn store_url(&self) -> StoreUrl {
        self.url()
    }
}

impl HasUrl for Pg {
    fn store_url(&self) -> StoreUrl {
        self.url()
    }
}

impl HasUrl for StoreUrl {
    fn store_url(&self) -> StoreUrl {
        self.clone()
    }
}

impl Server {
    pub async fn start(history: &impl HasUrl, password: Option<&str>) -> Server {
        let settings = autoscale::serve::Settings {
            bind: [127, 0, 0, 1].into(),
            port: 0,
            password: password.map(autoscale::serve::auth::Password::new),
            history: history.store_url(),
            targets: configured(),
        };
        let state = Arc::new(autoscale::serve::State::new(&settings));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let router = autoscale::serve::router(state.clone());
        let task = tokio::spawn(autoscale::serve::serve(listener, router, async move {
            let _ = stopped.await;
        }));
        Server {
            base,
            state,
            stop: Some(stop),
            task,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        }
    }

    pub async fn get(&self, path: &str, auth: Option<(&str, &str)>) -> reqwest::Response {
        self.get_as(path, auth, None).await
    }

    /// GET with Basic credentials and an `X-Forwarded-For` as Heroku's router writes it.
    pub async fn get_as(
        &self,
        path: &str,
        auth: Option<(&str, &str)>,
        forwarded_for: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some((user, password)) = auth {
            request = request.basic_auth(user, Some(password));
        }
        if let Some(f) = forwarded_for {
            request = request.header("X-Forwarded-For", f);
        }
        request.send().await.unwrap()
    }

    pub async fn post(&self, path: &str, auth: Option<(&str, &str)>) -> reqwest::Response {
        let mut request = self.client.post(format!("{}{path}", self.base));
        if let Some((user, password)) = auth {
            request = request.basic_auth(user, Some(password));
        }
        request.send().await.unwrap()
    }

    pub async fn forget_index(&self) {
        self.state.forget_index().await;
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut self.task).await;
    }
}

/// A port free right now on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The status of `GET path` on 127.0.0.1:`port` (plain HTTP/1.1, bounded waits).
pub fn status_of(port: u16, path: &str) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    let text = String::from_utf8_lossy(&head[9..12]).into_owned();
    text.parse()
        .map_err(|_| std::io::Error::other(format!("not an HTTP status: {text}")))
}
