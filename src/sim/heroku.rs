//! A loopback Heroku Platform API that answers like the real one for what `autoscale` uses:
//! `GET /account`, `GET /apps/{app}`, `GET /apps/{app}/formation[/{type}]` (the list with an
//! `ETag`, and 304 to a matching `If-None-Match`), `PATCH /apps/{app}/formation/{type}` and the
//! batch `PATCH /apps/{app}/formation` — same paths, fields, headers (`RateLimit-Remaining`,
//! `Request-Id`) and error bodies `{"id", "message"}` as `shared/heroku/platform-api-schema.json`.
//!
//! It records every request (for tests to assert on) and fails on demand ([`Fault`]).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::http::Method;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

mod routes;

/// Heroku's hourly request allowance.
const RATE_LIMIT: u64 = 4500;

/// A failure to inject into the next matching request(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 rate_limit, with `Retry-After: N` when given.
    RateLimited { retry_after: Option<u64> },
    /// 500 internal_server_error.
    ServerError,
    /// 503 unavailable.
    Unavailable,
    /// 401 unauthorized (a revoked token).
    Unauthorized,
    /// 403 forbidden.
    Forbidden,
    /// 404 not_found.
    NotFound,
    /// 422 invalid_params with this message.
    Invalid(String),
    /// A non-JSON body with this status (a proxy's HTML page).
    NonJson(u16),
    /// Answer normally, but only after this delay (beyond a client's timeout = a hang).
    Delay(Duration),
    /// 200 with a body of this many bytes (a broken proxy, a hostile server).
    Huge(usize),
}

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Lower-case names.
    pub headers: HashMap<String, String>,
    pub body: String,
    /// When it arrived, on tokio's clock (so paused-time tests read virtual instants).
    pub at: Instant,
    pub wall: SystemTime,
    /// The status the fake answered.
    pub status: u16,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

#[derive(Debug, Clone)]
struct FakeApp {
    id: String,
    name: String,
    web_url: Option<String>,
    created_at: String,
    /// Runs on Heroku's Fir generation (else Cedar).
    fir: bool,
}

#[derive(Debug, Clone)]
struct FakeFormation {
    id: String,
    process: String,
    quantity: u32,
    size: String,
    command: String,
    created_at: String,
    updated_at: String,
}

#[derive(Debug, Clone)]
struct FakeRelease {
    app: String,
    id: String,
    version: u64,
    created_at: String,
    description: String,
}

#[derive(Default)]
struct Inner {
    logplex: Option<Arc<super::Logplex>>,
    /// A `logplex_url` given instead of the simulated Logplex's (a hostile or broken API).
    logplex_url: Option<String>,
    key: String,
    apps: Vec<FakeApp>,
    releases: Vec<FakeRelease>,
    /// (app name, process type) → formation.
    formations: Vec<(String, FakeFormation)>,
    /// (method filter, path filter, fault); consumed front first by the first matching request.
    faults: VecDeque<(Option<Method>, Option<String>, Fault)>,
    requests: Vec<Recorded>,
    remaining: u64,
    serial: u64,
    /// (app name, var name) → value: what `GET /apps/{app}/config-vars` answers.
    config_vars: Vec<(String, String, String)>,
}

/// The running fake. Dropping it stops the server.
pub struct FakeHeroku {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    server: JoinHandle<()>,
    logplex: Arc<super::Logplex>,
}

impl Drop for FakeHeroku {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn now_iso() -> String {
    iso(chrono::Utc::now())
}

fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Heroku's `updated_at` has whole seconds; it changes on every update, so an update within the
/// same second as the last one moves it on by a second.
fn next_updated_at(previous: &str) -> String {
    let now = chrono::Utc::now();
    let previous = chrono::DateTime::parse_from_rfc3339(previous)
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or(now);
    let now_secs = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    if now_secs.as_str() > iso(previous).as_str() {
        now_secs
    } else {
        iso(previous + chrono::Duration::seconds(1))
    }
}

fn uuid_like(seed: u64) -> String {
    let h = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (h >> 32) as u32,
        (h >> 16) as u16,
        h as u16 & 0xfff,
        (h >> 8) as u16 & 0xfff,
        h & 0xffff_ffff_ffff
    )
}

impl FakeHeroku {
    /// Starts on `127.0.0.1:0`, accepting `key`.
    pub async fn start(key: &str) -> std::io::Result<FakeHeroku> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let logplex = Arc::new(super::Logplex::start().await?);
        let inner = Arc::new(Mutex::new(Inner {
            key: key.to_owned(),
            remaining: RATE_LIMIT,
            ..Inner::default()
        }));
        let router = routes::router(inner.clone());
        inner.lock().unwrap().logplex = Some(logplex.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(FakeHeroku {
            addr,
            inner,
            server,
            logplex,
        })
    }

    /// Log sessions point to `url` instead of the simulated Logplex (None: back to it).
    pub fn set_logplex_url(&self, url: Option<&str>) {
        self.inner.lock().unwrap().logplex_url = url.map(str::to_owned);
    }

    /// The simulated Logplex the log sessions point to.
    pub fn logplex(&self) -> &super::Logplex {
        &self.logplex
    }

    /// The base URL to give `HEROKU_API_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Adds an app (`web_url` may be None, as Heroku's may be null).
    pub fn add_app(&self, name: &str, web_url: Option<&str>) {
        let mut inner = self.inner.lock().unwrap();
        inner.serial += 1;
        let id = uuid_like(inner.serial);
        inner.apps.push(FakeApp {
            id,
            name: name.to_owned(),
            web_url: web_url.map(str::to_owned),
            created_at: now_iso(),
            fir: false,
        });
    }

    /// Moves an app to Heroku's Fir generation: its `generation` says `fir`, its log sessions
    /// are created the way the CLI asks for Fir's (`version=3.sdk`, `{source, dyno, type}`),
    /// and its streams are Server-Sent Events of Fir-style lines that end after `lifetime`.
    pub fn set_fir(&self, app: &str, lifetime: std::time::Duration) {
        if let Some(a) = self
            .inner
            .lock()
            .unwrap()
            .apps
            .iter_mut()
            .find(|a| a.name == app)
        {
            a.fir = true;
        }
        self.logplex.set_fir(app, lifetime);
    }

    /// Sets an app's config var (as `heroku config:set`; records no request).
    pub fn set_config_var(&self, app: &str, name: &str, value: &str) {
        let mut inner = self.inner.lock().unwrap();
        inner
            .config_vars
            .retain(|(a, n, _)| !(a == app && n == name));
        inner
            .config_vars
            .push((app.to_owned(), name.to_owned(), value.to_owned()));
    }

    /// Adds a process type to an app, at `quantity` dynos of `size` (e.g. "Standard-1X", "Eco").
    pub fn add_formation(&self, app: &str, process: &str, quantity: u32, size: &str) {
        let mut inner = self.inner.lock().unwrap();
        inner.serial += 1;
        let id = uuid_like(inner.serial);
        let command = if process == "web" {
            "bundle exec puma -C config/puma.rb".to_owned()
        } else {
            format!("./{process}")
        };
        inner.formations.push((
            app.to_owned(),
            FakeFormation {
                id,
                process: process.to_owned(),
                quantity,
                size: size.to_owned(),
                command,
                created_at: now_iso(),
                updated_at: now_iso(),
            },
        ));
    }

    /// Sets a quantity by hand, as `heroku ps:scale` would (records no request).
    pub fn set_quantity(&self, app: &str, process: &str, quantity: u32) {
        let mut inner = self.inner.lock().unwrap();
        if let Some((_, f)) = inner
            .formations
            .iter_mut()
            .find(|(a, f)| a == app && f.process == process)
        {
            f.quantity = quantity;
            f.updated_at = next_updated_at(&f.updated_at);
        }
    }

    /// Creates a release of `app` at `at` (a deploy, a config change, a restart with preboot);
    /// returns its version.
    pub fn add_release(
        &self,
        app: &str,
        at: chrono::DateTime<chrono::Utc>,
        description: &str,
    ) -> u64 {
        let mut inner = self.inner.lock().unwrap();
        inner.serial += 1;
        let id = uuid_like(inner.serial);
        let version = inner.releases.iter().filter(|r| r.app == app).count() as u64 + 1;
        inner.releases.push(FakeRelease {
            app: app.to_owned(),
            id,
            version,
            created_at: iso(at),
            description: description.to_owned(),
        });
        version
    }

    /// Sets a formation's `updated_at` (RFC 3339), as if its last change happened then.
    pub fn set_updated_at(&self, app: &str, process: &str, at: chrono::DateTime<chrono::Utc>) {
        let mut inner = self.inner.lock().unwrap();
        if let Some((_, f)) = inner
            .formations
            .iter_mut()
            .find(|(a, f)| a == app && f.process == process)
        {
            f.updated_at = iso(at);
        }
    }

    /// A formation's `updated_at`.
    pub fn updated_at(&self, app: &str, process: &str) -> Option<String> {
        let inner = self.inner.lock().unwrap();
        inner
            .formations
            .iter()
            .find(|(a, f)| a == app && f.process == process)
            .map(|(_, f)| f.updated_at.clone())
    }

    pub fn quantity(&self, app: &str, process: &str) -> Option<u32> {
        let inner = self.inner.lock().unwrap();
        inner
            .formations
            .iter()
            .find(|(a, f)| a == app && f.process == process)
            .map(|(_, f)| f.quantity)
    }

    /// A formation's `size`, as the fake answers it (`Performance-M`).
    pub fn size(&self, app: &str, process: &str) -> Option<String> {
        let inner = self.inner.lock().unwrap();
        inner
            .formations
            .iter()
            .find(|(a, f)| a == app && f.process == process)
            .map(|(_, f)| f.size.clone())
    }

    /// The next request (of `method`, or any when None) gets `fault`; queue several for a run.
    pub fn fail_next(&self, method: Option<&str>, fault: Fault) {
        self.queue_fault(method, None, fault);
    }

    /// The next `method` request to exactly `path` gets `fault`.
    pub fn fail_path(&self, method: &str, path: &str, fault: Fault) {
        self.queue_fault(Some(method), Some(path), fault);
    }

    fn queue_fault(&self, method: Option<&str>, path: Option<&str>, fault: Fault) {
        let method = method.map(|m| Method::from_bytes(m.as_bytes()).expect("an HTTP method"));
        let entry = (method, path.map(str::to_owned), fault);
        self.inner.lock().unwrap().faults.push_back(entry);
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// The PATCH requests so far.
    pub fn patches(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "PATCH")
            .collect()
    }
}
