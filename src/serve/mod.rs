//! `autoscale serve`: the dashboard, a web process (`web: ./autoscale serve`) that reads the
//! history read-only and shows every target.
//!
//! - `/` — the index: a row per target ([`index::row`]), the worst first, refreshed every 30 s
//!   from `/api/targets` without a reload.
//! - `/t/{app}/{process}?since=7d` — the target's report: the page `chart --output X.html`
//!   writes, made by the same code ([`crate::chart::report_data`], [`crate::report`]), which
//!   fetches `/t/{app}/{process}/data.json` again each minute.
//! - `/healthz` — no login, no data: 200 when the history answers, else 503.
//!
//! Every answer carries `Cache-Control: no-store`, a Content-Security-Policy that allows only
//! the page's own scripts and styles (by their hashes) and no framing, `X-Content-Type-Options`
//! and `Referrer-Policy`. Every page but `/healthz` asks for the password (HTTP Basic, any user
//! name); failed attempts are answered ever more slowly per client ([`auth::Throttle`]).
//! Connections are bounded: headers within 10 s, at most [`MAX_CONNECTIONS`] at once, each
//! request answered within [`REQUEST_TIMEOUT`].

pub mod auth;
pub mod index;
mod pages;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, Request, State as Extract};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{TimeDelta, Utc};
use tokio::net::TcpListener;

use crate::chart::{Dataset, Hints, Reader};
use crate::config::Target;
use crate::history::{Reading, StoreError, StoreUrl};

/// Longest a request is worked on.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest wait for a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 256;
/// How long the index's figures are reused (20 viewers refreshing cost one read).
pub const INDEX_FRESH: Duration = Duration::from_secs(10);
/// The ranges a target page offers; any humantime duration from [`MIN_SINCE`] to
/// [`MAX_SINCE_DAYS`] days is taken.
pub const RANGES: [&str; 4] = ["1h", "1d", "7d", "35d"];
pub const DEFAULT_SINCE: &str = "7d";
pub const MIN_SINCE: Duration = Duration::from_secs(60);
pub const MAX_SINCE_DAYS: u64 = 35;

/// What `serve` runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: IpAddr,
    pub port: u16,
    /// None: no login (only allowed on a loopback address; the command line checks).
    pub password: Option<auth::Password>,
    pub history: StoreUrl,
    /// The configured targets: listed even before they have rows, and their schedules give
    /// the floor.
    pub targets: Vec<Target>,
}

/// The server's state, shared by every request.
pub struct State {
    history: Reading,
    targets: Vec<Target>,
    password: Option<auth::Password>,
    throttle: Mutex<auth::Throttle>,
    index: tokio::sync::Mutex<Option<(Instant, Arc<String>)>>,
    /// Target pages' data made in the last [`PAGE_FRESH`], at most [`PAGES_KEPT`]; the lock is
    /// held while one is made, so viewers of the same page wait for one read, not twenty.
    pages: tokio::sync::Mutex<Vec<(PageKey, Instant, Arc<Page>)>>,
    csp: String,
}

/// app, process, `?since`.
type PageKey = (String, String, String);

/// A target page's data: its title and the report's JSON.
pub struct Page {
    pub title: String,
    pub json: String,
}

/// How long a target page's data is reused; it is fetched again each minute.
pub const PAGE_FRESH: Duration = Duration::from_secs(30);
/// Target pages' data kept at once (about 0.6 MB for a week of one target).
pub const PAGES_KEPT: usize = 8;

impl State {
    pub fn new(settings: &Settings) -> State {
        State {
            history: Reading::new(settings.history.clone()),
            targets: settings.targets.clone(),
            password: settings.password.clone(),
            throttle: Mutex::new(auth::Throttle::default()),
            index: tokio::sync::Mutex::new(None),
            pages: tokio::sync::Mutex::new(Vec::new()),
            csp: pages::content_security_policy(),
        }
    }
}

impl State {
    /// Forgets the cached index: the next request reads the history again.
    pub async fn forget_index(&self) {
        *self.index.lock().await = None;
        self.pages.lock().await.clear();
    }
}

/// The routes, with the headers, the login and the time limit around them.
pub fn router(state: Arc<State>) -> Router {
    let pages = Router::new()
        .route("/", get(index_page))
        .route("/api/targets", get(index_json))
        .route("/t/{app}/{process}", get(target_page))
        .route("/t/{app}/{process}/data.json", get(target_json))
        .route(
            "/assets/dashboard.js",
            get(|| async { pages::asset(pages::Asset::Js) }),
        )
        .route(
            "/assets/dashboard.css",
            get(|| async { pages::asset(pages::Asset::Css) }),
        )
        .fallback(|| async {
            pages::message(StatusCode::NOT_FOUND, "Not found", "There is no such page.")
        })
        .layer(middleware::from_fn_with_state(state.clone(), login));
    Router::new()
        .route("/healthz", get(healthz))
        .merge(pages)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// The client's address, as the accept loop saw it.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// Headers on every answer, and the time limit.
async fn guard(Extract(state): Extract<Arc<State>>, req: Request, next: Next) -> Response {
    let mut response = match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(response) => response,
        Err(_) => pages::message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too slow",
            "The history took too long to answer. This page tries again in 30 seconds.",
        ),
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Ok(csp) = HeaderValue::from_str(&state.csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

/// HTTP Basic, any user name; a wrong password is answered after the client's delay.
async fn login(Extract(state): Extract<Arc<State>>, req: Request, next: Next) -> Response {
    let Some(password) = &state.password else {
        return next.run(req).await;
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    let peer = req.extensions().get::<Peer>().map(|p| p.0.ip());
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .map(HeaderValue::as_bytes);
    let client = auth::client(forwarded, peer);
    if password.admits(given) {
        if let Some(client) = client {
            lock(&state.throttle).succeed(client);
        }
        return next.run(req).await;
    }
    // A first visit carries no credentials: the browser is asked for them at once.
    if given.is_some() {
        if let Some(client) = client {
            let wait = lock(&state.throttle).fail(client, Instant::now());
            tokio::time::sleep(wait).await;
        }
    }
    let mut response = pages::message(
        StatusCode::UNAUTHORIZED,
        "Password needed",
        "This dashboard needs the password in AUTOSCALE_DASHBOARD_PASSWORD (any user name).",
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"autoscale\", charset=\"UTF-8\""),
    );
    response
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn healthz(Extract(state): Extract<Arc<State>>) -> Response {
    match state.history.ping().await {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the history does not answer\n",
        )
            .into_response(),
    }
}

/// The index's JSON (cached for [`INDEX_FRESH`]), or why it cannot be made.
async fn index_data(state: &State) -> Result<Arc<String>, StoreError> {
    let mut cache = state.index.lock().await;
    if let Some((at, json)) = cache.as_ref() {
        if at.elapsed() < INDEX_FRESH {
            return Ok(json.clone());
        }
    }
    let now = Utc::now();
    let mut names: Vec<(String, String)> = state
        .targets
        .iter()
        .map(|t| (t.app.clone(), t.process.clone()))
        .collect();
    for name in state.history.targets().await? {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names.truncate(crate::history::MAX_TARGETS);
    // One target at a time: memory holds one target's day, whatever the number of targets.
    let mut rows = Vec::with_capacity(names.len());
    for (app, process) in &names {
        let data = state
            .history
            .read(app, Some(process), now - index::WINDOW, now)
            .await?;
        let configured: Vec<Target> = state
            .targets
            .iter()
            .filter(|t| &t.app == app && &t.process == process)
            .cloned()
            .collect();
        let mut reader = Reader::new();
        reader.read_history(data);
        let mut dataset = reader.finish(&Hints {
            target: None,
            configured: &configured,
        });
        dataset.include(app, process);
        dataset.configure(&configured);
        if let Some(t) = dataset.target(app, process) {
            rows.push(index::row(t, now));
        }
    }
    index::sort(&mut rows);
    let json = Arc::new(pages::index_json(now, &rows));
    *cache = Some((Instant::now(), json.clone()));
    Ok(json)
}

async fn index_page(Extract(state): Extract<Arc<State>>) -> Response {
    match index_data(&state).await {
        Ok(json) => pages::index(&json),
        Err(e) => pages::unreachable(&e),
    }
}

async fn index_json(Extract(state): Extract<Arc<State>>) -> Response {
    match index_data(&state).await {
        Ok(json) => pages::json(StatusCode::OK, json.to_string()),
        Err(e) => pages::json(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({ "error": format!("the history cannot be read: {}", e.message) })
                .to_string(),
        ),
    }
}

/// `?since=` of a target page: a duration from [`MIN_SINCE`] to [`MAX_SINCE_DAYS`] days.
pub fn since(query: Option<&str>) -> Result<(String, Duration), String> {
    let value = query
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "since")
        .map(|(_, v)| v)
        .unwrap_or(DEFAULT_SINCE);
    let max = Duration::from_secs(MAX_SINCE_DAYS * 86_400);
    match humantime::parse_duration(value) {
        Ok(d) if (MIN_SINCE..=max).contains(&d) && value.len() <= 32 => Ok((value.to_owned(), d)),
        _ => Err(format!(
            "?since={} is not a range from 1m to {MAX_SINCE_DAYS}d; example: ?since=7d",
            value.chars().take(40).collect::<String>()
        )),
    }
}

/// A target's report data (kept for [`PAGE_FRESH`]), or the page that says why not.
async fn target_data(
    state: &State,
    app: &str,
    process: &str,
    query: Option<&str>,
) -> Result<(String, Arc<Page>), Response> {
    let (since_text, since) =
        since(query).map_err(|e| pages::message(StatusCode::BAD_REQUEST, "Not a range", &e))?;
    let key: PageKey = (app.to_owned(), process.to_owned(), since_text.clone());
    let mut kept = state.pages.lock().await;
    kept.retain(|(_, at, _)| at.elapsed() < PAGE_FRESH);
    if let Some((_, _, page)) = kept.iter().find(|(k, _, _)| *k == key) {
        return Ok((since_text, page.clone()));
    }
    let now = Utc::now();
    let from = now - TimeDelta::from_std(since).unwrap_or(TimeDelta::days(7));
    let data = state
        .history
        .read(app, Some(process), from, now)
        .await
        .map_err(|e| pages::unreachable(&e))?;
    let configured = state
        .targets
        .iter()
        .any(|t| t.app == app && t.process == process);
    if data.is_empty() && !configured {
        return Err(pages::message(
            StatusCode::NOT_FOUND,
            "No such target",
            &format!("The history has nothing about {app}/{process} in the last {since_text}."),
        ));
    }
    let mut reader = Reader::new();
    reader.read_history(data);
    let dataset: Dataset = reader.finish(&Hints {
        target: Some((app, process)),
        configured: &state.targets,
    });
    let options = crate::chart::Options {
        title: Some(format!("{app}/{process}: the last {since_text}")),
        target: Some((app.to_owned(), process.to_owned())),
        phases: Vec::new(),
    };
    let report = match crate::chart::report_data(&dataset, &options, now) {
        Ok((report, _)) => report,
        Err(_) => {
            return Err(pages::message(
                StatusCode::OK,
                &format!("{app}/{process}"),
                &format!(
                    "Nothing was recorded about {app}/{process} in the last {since_text} yet."
                ),
            ))
        }
    };
    let page = Arc::new(Page {
        title: report.title.clone(),
        json: crate::report::json(&report),
    });
    drop(report);
    if kept.len() >= PAGES_KEPT {
        kept.remove(0);
    }
    kept.push((key, Instant::now(), page.clone()));
    Ok((since_text, page))
}

async fn target_page(
    Extract(state): Extract<Arc<State>>,
    Path((app, process)): Path<(String, String)>,
    req: Request,
) -> Response {
    match target_data(&state, &app, &process, req.uri().query()).await {
        Ok((since, page)) => pages::target(&app, &process, &since, &page),
        Err(page) => page,
    }
}

async fn target_json(
    Extract(state): Extract<Arc<State>>,
    Path((app, process)): Path<(String, String)>,
    req: Request,
) -> Response {
    match target_data(&state, &app, &process, req.uri().query()).await {
        Ok((_, page)) => pages::json(StatusCode::OK, page.json.clone()),
        Err(page) => {
            let status = page.status();
            pages::json(
                status,
                serde_json::json!({ "error": status.canonical_reason() }).to_string(),
            )
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves: headers within [`HEADER_TIMEOUT`],
/// at most [`MAX_CONNECTIONS`] at once.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use tower::ServiceExt as _;

    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit { Ok(p) => p, Err(_) => return },
            () = &mut shutdown => return,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: wait a little, then go on.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        let router = router.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(Peer(peer));
                    router.clone().oneshot(req.map(Body::new))
                },
            );
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(64 * 1024);
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(permit);
        });
    }
}

/// `autoscale serve`: binds, says where, serves until SIGTERM or SIGINT. Exit 0, or 1 when the
/// address cannot be bound.
pub async fn run(settings: Settings) -> u8 {
    let address = SocketAddr::new(settings.bind, settings.port);
    let listener = match TcpListener::bind(address).await {
        Ok(l) => l,
        Err(e) => {
            crate::say_err!("error: cannot listen on {address}: {e}");
            return 1;
        }
    };
    let state = Arc::new(State::new(&settings));
    let login = if settings.password.is_some() {
        "password (AUTOSCALE_DASHBOARD_PASSWORD)"
    } else {
        "none (loopback only)"
    };
    crate::say!(
        "autoscale serve: listening on http://{address} · history {} · {} configured target(s) · login: {login}",
        settings.history,
        settings.targets.len()
    );
    if let Err(e) = state.history.ping().await {
        crate::say_err!(
            "warning: the history cannot be read yet ({}); pages say so until it can",
            e.message
        );
    }
    serve(listener, router(state), shutdown_signal()).await;
    crate::say!("autoscale serve: stopped");
    0
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_bounded_duration_and_defaults_to_a_week() {
        assert_eq!(since(None).unwrap().0, "7d");
        assert_eq!(
            since(Some("x=1")).unwrap().1,
            Duration::from_secs(7 * 86_400)
        );
        assert_eq!(
            since(Some("since=1h")).unwrap().1,
            Duration::from_secs(3600)
        );
        assert_eq!(
            since(Some("a=b&since=35d")).unwrap().1,
            Duration::from_secs(35 * 86_400)
        );
        assert_eq!(since(Some("since=1m")).unwrap().1, MIN_SINCE);
        for bad in [
            "since=36d",
            "since=59s",
            "since=0",
            "since=forever",
            "since=",
            "since=-1d",
        ] {
            let e = since(Some(bad)).unwrap_err();
            assert!(e.contains("example: ?since=7d"), "{bad}: {e}");
        }
        let long = format!("since={}", "9".repeat(500));
        assert!(
            since(Some(&long)).unwrap_err().len() < 200,
            "the echo is cut"
        );
    }
}
