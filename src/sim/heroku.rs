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

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

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
        let router = Router::new()
            .route("/account", get(account))
            .route("/apps/{app}", get(app_info))
            .route(
                "/apps/{app}/formation",
                get(formation_list).patch(formation_batch_update),
            )
            .route("/apps/{app}/releases", get(release_list))
            .route(
                "/apps/{app}/log-sessions",
                axum::routing::post(log_session_create),
            )
            .route(
                "/apps/{app}/formation/{process}",
                get(formation_info).patch(formation_update),
            )
            .fallback(not_found_route)
            .layer(axum::middleware::from_fn_with_state(
                inner.clone(),
                gatekeeper,
            ))
            .with_state(inner.clone());
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
        });
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

type Shared = Arc<Mutex<Inner>>;

fn error(status: StatusCode, id: &str, message: &str) -> Response {
    (status, axum::Json(json!({ "id": id, "message": message }))).into_response()
}

fn fault_response(fault: &Fault) -> Response {
    match fault {
        Fault::RateLimited { retry_after } => {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit",
                "Your account reached the API rate limit\nPlease wait a few minutes before making new requests",
            );
            if let Some(s) = retry_after {
                r.headers_mut().insert("retry-after", HeaderValue::from(*s));
            }
            r
        }
        Fault::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_server_error",
            "Internal server error.",
        ),
        Fault::Unavailable => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service temporarily unavailable. Please try again later.",
        ),
        Fault::Unauthorized => unauthorized(),
        Fault::Forbidden => error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "You do not have access to the app.",
        ),
        Fault::NotFound => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that app.",
        ),
        Fault::Invalid(message) => {
            error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_params", message)
        }
        Fault::NonJson(status) => (
            StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY),
            [("content-type", "text/html")],
            "<html><body><h1>Application Error</h1></body></html>",
        )
            .into_response(),
        Fault::Huge(bytes) => (
            StatusCode::OK,
            [("content-type", "application/json")],
            format!("[{}]", " ".repeat(bytes.saturating_sub(2))),
        )
            .into_response(),
        Fault::Delay(_) => unreachable!("a delay is not an answer"),
    }
}

fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Invalid credentials provided.",
    )
}

/// The key from `Authorization: Basic base64(user:key)` or `Bearer key`.
fn presented_key(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?;
    if let Some(token) = value.strip_prefix("Bearer ") {
        return Some(token.trim().to_owned());
    }
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split_once(':')?.1.to_owned())
}

/// Records the request, applies faults, checks the version header and the key, and adds the
/// headers Heroku sends on every answer.
async fn gatekeeper(
    State(inner): State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let headers: HashMap<String, String> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let (fault, remaining, request_id, index) = {
        let mut inner = inner.lock().unwrap();
        let position = inner.faults.iter().position(|(m, p, _)| {
            m.as_ref().is_none_or(|m| *m == parts.method)
                && p.as_deref().is_none_or(|p| p == parts.uri.path())
        });
        let fault = position
            .and_then(|i| inner.faults.remove(i))
            .map(|(_, _, f)| f);
        inner.remaining = inner.remaining.saturating_sub(1);
        inner.serial += 1;
        let request_id = uuid_like(inner.serial);
        inner.requests.push(Recorded {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            at: tokio::time::Instant::now().into_std(),
            wall: SystemTime::now(),
            status: 0,
        });
        (fault, inner.remaining, request_id, inner.requests.len() - 1)
    };

    let mut response = match fault {
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            None
        }
        Some(f) => Some(fault_response(&f)),
        None => None,
    };
    if response.is_none() {
        let accept = parts
            .headers
            .get("accept")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let expected_key = inner.lock().unwrap().key.clone();
        response = if !accept.contains("application/vnd.heroku+json; version=3") {
            Some(error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Please specify a version along with Heroku's API MIME type. For example, `Accept: application/vnd.heroku+json; version=3`.",
            ))
        } else if presented_key(&parts.headers).as_deref() != Some(expected_key.as_str()) {
            Some(unauthorized())
        } else {
            None
        };
    }
    let mut response = match response {
        Some(r) => r,
        None => {
            let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(body));
            next.run(request).await
        }
    };
    let h = response.headers_mut();
    h.insert("ratelimit-remaining", HeaderValue::from(remaining));
    h.insert(
        "request-id",
        HeaderValue::from_str(&request_id).expect("ascii"),
    );
    inner.lock().unwrap().requests[index].status = response.status().as_u16();
    response
}

fn app_json(app: &FakeApp) -> Value {
    json!({
        "acm": false,
        "archived_at": null,
        "buildpack_provided_description": "Ruby",
        "build_stack": { "id": "69bee368-352b-4bd0-9b7c-819d860a2588", "name": "heroku-24" },
        "created_at": app.created_at,
        "generation": { "id": "17bc5d1d-5a08-47a2-ae04-8bd4e8f2ad54", "name": "cedar" },
        "git_url": format!("https://git.heroku.com/{}.git", app.name),
        "id": app.id,
        "internal_routing": null,
        "maintenance": false,
        "name": app.name,
        "owner": { "email": "owner@example.com", "id": "01234567-89ab-cdef-0123-456789abcdef" },
        "organization": null,
        "team": null,
        "region": { "id": "59accabd-516d-4f0e-83e6-6e3757701145", "name": "us" },
        "released_at": app.created_at,
        "repo_size": null,
        "slug_size": 48_000_000,
        "space": null,
        "stack": { "id": "69bee368-352b-4bd0-9b7c-819d860a2588", "name": "heroku-24" },
        "updated_at": app.created_at,
        "web_url": app.web_url,
    })
}

fn formation_json(app: &FakeApp, f: &FakeFormation) -> Value {
    json!({
        "app": { "name": app.name, "id": app.id },
        "command": f.command,
        "created_at": f.created_at,
        "dyno_size": { "id": "e66b7dd2-7b5b-4d1b-a4e4-3b26a42f6d5e", "name": f.size },
        "id": f.id,
        "quantity": f.quantity,
        "size": f.size,
        "type": f.process,
        "updated_at": f.updated_at,
    })
}

fn find_app<'a>(inner: &'a Inner, identity: &str) -> Option<&'a FakeApp> {
    inner
        .apps
        .iter()
        .find(|a| a.name == identity || a.id == identity)
}

async fn account() -> Response {
    axum::Json(json!({
        "id": "01234567-89ab-cdef-0123-456789abcdef",
        "email": "owner@example.com",
        "name": "Demo Owner",
        "verified": true,
    }))
    .into_response()
}

async fn app_info(State(inner): State<Shared>, Path(app): Path<String>) -> Response {
    let inner = inner.lock().unwrap();
    match find_app(&inner, &app) {
        Some(a) => axum::Json(app_json(a)).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that app.",
        ),
    }
}

async fn formation_list(
    State(inner): State<Shared>,
    Path(app): Path<String>,
    headers: HeaderMap,
) -> Response {
    let inner = inner.lock().unwrap();
    let Some(a) = find_app(&inner, &app) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that app.",
        );
    };
    let list: Vec<Value> = inner
        .formations
        .iter()
        .filter(|(name, _)| *name == a.name)
        .map(|(_, f)| formation_json(a, f))
        .collect();
    let total = list.len();
    list_answer(&headers, list, total)
}

/// A list answer as Heroku gives it: an `ETag`, 304 to a matching `If-None-Match`, and with a
/// `Range` header (`version ..; order=desc, max=1`) the requested slice — 206 Partial Content
/// with `Next-Range` when more remain.
fn list_answer(headers: &HeaderMap, items: Vec<Value>, total: usize) -> Response {
    let shown = items.len();
    let body = Value::Array(items).to_string();
    let etag = format!(
        "W/\"{:016x}\"",
        crate::config::shard::fnv1a64(body.as_bytes())
    );
    let matches = headers
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let partial = total > shown;
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let status = if partial {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        };
        (status, [("content-type", "application/json")], body).into_response()
    };
    response
        .headers_mut()
        .insert("etag", HeaderValue::from_str(&etag).expect("ascii"));
    if partial && !matches {
        response.headers_mut().insert(
            "next-range",
            HeaderValue::from_static("version ..; order=desc, max=1"),
        );
    }
    response
}

/// `Range: <attr> ..; order=desc, max=N` → (descending, max).
fn range_of(headers: &HeaderMap) -> (bool, usize) {
    let text = headers
        .get("range")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let desc = text.contains("order=desc");
    let max = text
        .split([';', ','])
        .filter_map(|part| part.trim().strip_prefix("max="))
        .find_map(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(200)
        .clamp(1, 1000);
    (desc, max)
}

async fn release_list(
    State(inner): State<Shared>,
    Path(app): Path<String>,
    headers: HeaderMap,
) -> Response {
    let inner = inner.lock().unwrap();
    let Some(a) = find_app(&inner, &app) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that app.",
        );
    };
    let mut releases: Vec<&FakeRelease> =
        inner.releases.iter().filter(|r| r.app == a.name).collect();
    let (desc, max) = range_of(&headers);
    if desc {
        releases.reverse();
    }
    let total = releases.len();
    let items: Vec<Value> = releases
        .into_iter()
        .take(max)
        .map(|r| {
            json!({
                "addon_plan_names": [],
                "app": { "name": a.name, "id": a.id },
                "created_at": r.created_at,
                "current": true,
                "description": r.description,
                "id": r.id,
                "slug": null,
                "status": "succeeded",
                "updated_at": r.created_at,
                "user": { "email": "owner@example.com", "id": "01234567-89ab-cdef-0123-456789abcdef" },
                "version": r.version,
            })
        })
        .collect();
    list_answer(&headers, items, total)
}

async fn formation_info(
    State(inner): State<Shared>,
    Path((app, process)): Path<(String, String)>,
) -> Response {
    let inner = inner.lock().unwrap();
    let Some(a) = find_app(&inner, &app) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that app.",
        );
    };
    match inner
        .formations
        .iter()
        .find(|(name, f)| *name == a.name && (f.process == process || f.id == process))
    {
        Some((_, f)) => axum::Json(formation_json(a, f)).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that formation.",
        ),
    }
}

async fn formation_update(
    State(inner): State<Shared>,
    Path((app, process)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let quantity = parsed
        .as_ref()
        .and_then(|v| v.get("quantity"))
        .and_then(Value::as_u64);
    let Some(quantity) = quantity.filter(|_| json_type) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_params",
            "Invalid params: quantity must be a non-negative integer in a JSON body.",
        );
    };
    let mut guard = inner.lock().unwrap();
    let inner = &mut *guard;
    let Some(a) = find_app(inner, &app).cloned() else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that app.",
        );
    };
    let Some((_, f)) = inner
        .formations
        .iter_mut()
        .find(|(name, f)| *name == a.name && (f.process == process || f.id == process))
    else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that formation.",
        );
    };
    if let Some(refusal) = size_refusal(&f.size, quantity) {
        return refusal;
    }
    f.quantity = quantity as u32;
    f.updated_at = next_updated_at(&f.updated_at);
    axum::Json(formation_json(&a, f)).into_response()
}

/// Heroku refuses more than one Free or Eco dyno per process type.
fn size_refusal(size: &str, quantity: u64) -> Option<Response> {
    let single = ["free", "eco"].iter().any(|s| size.eq_ignore_ascii_case(s));
    (single && quantity > 1).then(|| {
        let message = format!("Cannot update to more than 1 {size} size dynos per process type.");
        error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_params", &message)
    })
}

/// `PATCH /apps/{app}/formation` with `{"updates": [{"type", "quantity"}, ...]}`: all or nothing.
async fn formation_batch_update(
    State(inner): State<Shared>,
    Path(app): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let updates: Option<Vec<(String, u64)>> = serde_json::from_slice::<Value>(&body)
        .ok()
        .filter(|_| json_type)
        .and_then(|v| {
            v.get("updates")?
                .as_array()?
                .iter()
                .map(|u| {
                    Some((
                        u.get("type")?.as_str()?.to_owned(),
                        u.get("quantity")?.as_u64()?,
                    ))
                })
                .collect()
        });
    let Some(updates) = updates.filter(|u| !u.is_empty()) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_params",
            "Invalid params: updates must be a non-empty array of {type, quantity} in a JSON body.",
        );
    };
    let mut guard = inner.lock().unwrap();
    let inner = &mut *guard;
    let Some(a) = find_app(inner, &app).cloned() else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that app.",
        );
    };
    // Validate everything before changing anything.
    for (process, quantity) in &updates {
        let Some((_, f)) = inner
            .formations
            .iter()
            .find(|(name, f)| *name == a.name && f.process == *process)
        else {
            return error(
                StatusCode::NOT_FOUND,
                "not_found",
                "Couldn't find that formation.",
            );
        };
        if let Some(refusal) = size_refusal(&f.size, *quantity) {
            return refusal;
        }
    }
    let mut changed = Vec::new();
    for (process, quantity) in &updates {
        if let Some((_, f)) = inner
            .formations
            .iter_mut()
            .find(|(name, f)| *name == a.name && f.process == *process)
        {
            f.quantity = *quantity as u32;
            f.updated_at = next_updated_at(&f.updated_at);
            changed.push(formation_json(&a, f));
        }
    }
    axum::Json(Value::Array(changed)).into_response()
}

async fn not_found_route() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "The requested API endpoint was not found. Are you using the right HTTP verb (i.e. `GET` vs. `POST`), and did you specify your intended version with the `Accept` header?",
    )
}

/// `POST /apps/{app}/log-sessions` with `{"source": "heroku", "dyno_name": "router", "tail":
/// true}`: a session whose `logplex_url` streams the app's router lines.
async fn log_session_create(
    State(inner): State<Shared>,
    Path(app): Path<String>,
    body: Bytes,
) -> Response {
    let mut guard = inner.lock().unwrap();
    let Some(a) = find_app(&guard, &app).cloned() else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that app.",
        );
    };
    let params: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let valid = params.is_object()
        && params.get("tail").is_none_or(Value::is_boolean)
        && params.get("dyno_name").is_none_or(Value::is_string)
        && params.get("source").is_none_or(Value::is_string);
    if !valid {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_params",
            "Invalid params: expected an object with source, dyno_name, lines, tail.",
        );
    }
    guard.serial += 1;
    let id = uuid_like(guard.serial);
    let url = match &guard.logplex_url {
        Some(url) => url.clone(),
        None => guard
            .logplex
            .as_ref()
            .map(|l| l.session_url(&a.name, &id))
            .unwrap_or_default(),
    };
    let now = now_iso();
    (
        StatusCode::CREATED,
        axum::Json(json!({ "created_at": now, "id": id, "logplex_url": url, "updated_at": now })),
    )
        .into_response()
}
