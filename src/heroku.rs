//! The one Heroku Platform API client: `app`, `account`, `formation`, `scale`.
//!
//! Cheap to clone (an `Arc` inside) so the scaler, the check loop and `check` share one connection
//! pool. Every request carries Heroku's version header and the key as HTTP Basic `:key`; 429, 5xx
//! and network failures are retried with exponential backoff and jitter (Retry-After honoured),
//! a bounded number of times; other 4xx are returned at once (retrying a wrong key helps nobody).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{
    HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, ETAG, IF_NONE_MATCH, RANGE,
    RETRY_AFTER,
};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::event::Event;

/// The media type that pins Heroku's API to version 3.
pub const ACCEPT_V3: &str = "application/vnd.heroku+json; version=3";
/// The variant the Heroku CLI asks for when it creates a log session for a Fir app.
pub const ACCEPT_V3_SDK: &str = "application/vnd.heroku+json; version=3.sdk";
pub use crate::http::USER_AGENT;
use crate::http::{error_chain, transport_kind};
use crate::size::Size;
/// The largest API answer read: a formation list or an app is a few KB; anything near this is
/// not Heroku, and reading it whole would let a broken proxy grow our memory without bound.
pub const API_BODY_CAP: usize = 1 << 20;
/// Below this many remaining requests a warning is logged (Heroku allows 4500 an hour).
pub const RATE_LIMIT_WARNING: u64 = 500;

/// The API token. Debug and Display never show it.
#[derive(Clone)]
pub struct ApiKey(SecretString);

impl ApiKey {
    pub fn new(key: String) -> Self {
        ApiKey(SecretString::from(key))
    }

    /// `Authorization: Basic base64(":" + key)`, marked sensitive so no layer below logs it.
    fn authorization(&self) -> HeaderValue {
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(format!(":{}", self.0.expose_secret()));
        let mut value =
            HeaderValue::from_str(&format!("Basic {encoded}")).expect("base64 is a valid header");
        value.set_sensitive(true);
        value
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(redacted)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

/// A formation (one process type of an app), as `GET /apps/{app}/formation/{type}` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Formation {
    pub id: String,
    #[serde(rename = "type")]
    pub process: String,
    pub quantity: u32,
    pub size: String,
    pub command: String,
    pub updated_at: String,
}

impl Formation {
    /// When the formation last changed (quantity or size, by anyone); None if unreadable.
    pub fn updated(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        chrono::DateTime::parse_from_rfc3339(&self.updated_at)
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc))
    }
}

/// The parts of an app we use. `web_url` is null for apps without a web process or domain.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct App {
    pub id: String,
    pub name: String,
    pub web_url: Option<String>,
    /// `{"id": ..., "name": "cedar" | "fir"}`; absent in older answers (then Cedar).
    #[serde(default)]
    pub generation: Option<AppGeneration>,
}

/// The app's `generation` object.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct AppGeneration {
    pub name: String,
}

/// Heroku's platform generation of an app: Cedar (Logplex, `web.1`) or Fir (Kubernetes,
/// `web-6f9d8c7b5-x2k4q`, log streams that end after about 15 minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Generation {
    #[default]
    Cedar,
    Fir,
}

impl App {
    /// The app's generation; an answer without one (or an unknown name) is Cedar's.
    pub fn generation(&self) -> Generation {
        match &self.generation {
            Some(g) if g.name.eq_ignore_ascii_case("fir") => Generation::Fir,
            _ => Generation::Cedar,
        }
    }
}

/// The account the token belongs to (`GET /account`): proves the token works.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Account {
    pub id: String,
    pub email: String,
}

/// Heroku's error body.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    id: String,
    message: String,
}

/// A failed API call, after retries.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// Heroku answered with an error status.
    #[error("{method} {path}: HTTP {status} {id}: {message}")]
    Status {
        method: Method,
        path: String,
        status: u16,
        /// Heroku's error id (`unauthorized`, `not_found`, `invalid_params`, `rate_limit`, ...),
        /// or `http_STATUS` when the body was not Heroku's JSON.
        id: String,
        message: String,
        request_id: Option<String>,
        /// Seconds from Retry-After, when sent.
        retry_after: Option<u64>,
        attempts: u32,
    },
    /// No HTTP answer: connection refused, DNS, TLS, timeout.
    #[error("{method} {path}: {kind}: {message}")]
    Transport {
        method: Method,
        path: String,
        kind: &'static str,
        message: String,
        attempts: u32,
    },
    /// Not sent, or its retries abandoned, because the daemon is shutting down: logged, never
    /// alerted (the shutdown cancelled the work, nothing failed).
    #[error("{method} {path}: cancelled by shutdown")]
    Cancelled { method: Method, path: String },
    /// A 2xx answer whose body was not what the schema says.
    #[error("{method} {path}: unexpected answer: {message}")]
    Decode {
        method: Method,
        path: String,
        message: String,
        attempts: u32,
    },
}

impl ApiError {
    /// Worth another attempt: rate limiting, Heroku trouble, network trouble.
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::Status { status, .. } => *status == 429 || *status >= 500,
            ApiError::Transport { .. } => true,
            ApiError::Decode { .. } | ApiError::Cancelled { .. } => false,
        }
    }

    /// The configuration is wrong (bad token, no access, unknown app or process).
    pub fn is_configuration(&self) -> bool {
        matches!(
            self,
            ApiError::Status {
                status: 401 | 403 | 404,
                ..
            }
        )
    }

    pub fn is_cancelled(&self) -> bool {
        matches!(self, ApiError::Cancelled { .. })
    }

    /// The app the failed call was about (`/apps/{app}/...`), for `app=` on the log line.
    pub fn app(&self) -> &str {
        let path = match self {
            ApiError::Status { path, .. }
            | ApiError::Transport { path, .. }
            | ApiError::Decode { path, .. }
            | ApiError::Cancelled { path, .. } => path,
        };
        path.strip_prefix("/apps/")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or("")
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Heroku's message (or the transport error) without the request line.
    pub fn message(&self) -> &str {
        match self {
            ApiError::Status { message, .. }
            | ApiError::Transport { message, .. }
            | ApiError::Decode { message, .. } => message,
            ApiError::Cancelled { .. } => "cancelled by shutdown",
        }
    }

    fn set_attempts(&mut self, n: u32) {
        match self {
            ApiError::Status { attempts, .. }
            | ApiError::Transport { attempts, .. }
            | ApiError::Decode { attempts, .. } => *attempts = n,
            ApiError::Cancelled { .. } => {}
        }
    }

    pub fn attempts(&self) -> u32 {
        match self {
            ApiError::Status { attempts, .. }
            | ApiError::Transport { attempts, .. }
            | ApiError::Decode { attempts, .. } => *attempts,
            ApiError::Cancelled { .. } => 0,
        }
    }

    /// This error as its `event=api_error` line says it.
    pub fn event(&self) -> Event {
        let (method, path, status, id, request_id) = match self {
            ApiError::Status {
                method,
                path,
                status,
                id,
                request_id,
                ..
            } => (
                method,
                path,
                Some(*status),
                id.as_str(),
                request_id.as_deref().unwrap_or(""),
            ),
            ApiError::Transport {
                method, path, kind, ..
            } => (method, path, None, *kind, ""),
            ApiError::Decode { method, path, .. } => (method, path, None, "decode", ""),
            ApiError::Cancelled { method, path } => (method, path, None, "cancelled", ""),
        };
        Event::ApiError {
            app: self.app().to_owned(),
            method: method.to_string(),
            path: path.clone(),
            status,
            id: id.to_owned(),
            attempt: self.attempts(),
            request_id: request_id.to_owned(),
            message: self.message().to_owned(),
        }
    }

    /// Logs this error as one `event=api_error` line.
    pub fn log(&self, level: tracing::Level) {
        // Work the shutdown cancelled is not an error.
        let level = if self.is_cancelled() {
            tracing::Level::INFO
        } else {
            level
        };
        self.event().emit(level);
    }
}

/// How often and how patiently a failing call is retried.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Delay before the second attempt; doubled each time, with jitter.
    pub base: Duration,
    /// Longest delay between attempts (also caps Retry-After).
    pub max: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 4,
            base: Duration::from_millis(500),
            max: Duration::from_secs(20),
        }
    }
}

impl Retry {
    /// Exponential backoff with "equal jitter": half fixed, half random, so two daemons that
    /// overlap during a restart don't retry in lockstep.
    pub fn delay(&self, failed_attempt: u32, retry_after: Option<u64>) -> Duration {
        if let Some(secs) = retry_after {
            return Duration::from_secs(secs).min(self.max);
        }
        let exp = self
            .base
            .saturating_mul(1u32 << failed_attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max);
        capped / 2 + capped.mul_f64(fastrand::f64() / 2.0)
    }
}

/// Every API call this process made, and what Heroku last said about the rate limit. Shared by
/// every clone of the [`Client`]; the budget reads it.
#[derive(Debug)]
pub struct Calls {
    /// Requests sent (every attempt: a retry is a call against the rate limit too).
    sent: AtomicU64,
    /// The last `RateLimit-Remaining` seen; u64::MAX before any answer.
    remaining: AtomicU64,
}

impl Default for Calls {
    fn default() -> Calls {
        Calls {
            sent: AtomicU64::new(0),
            remaining: AtomicU64::new(u64::MAX),
        }
    }
}

impl Calls {
    /// Records Heroku's `RateLimit-Remaining`.
    pub fn set_remaining(&self, remaining: u64) {
        self.remaining
            .store(remaining.min(u64::MAX - 1), Ordering::Relaxed);
    }

    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Heroku's last `RateLimit-Remaining`, when one was seen.
    pub fn remaining(&self) -> Option<u64> {
        let r = self.remaining.load(Ordering::Relaxed);
        (r != u64::MAX).then_some(r)
    }
}

/// A list read with `If-None-Match`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing<T = Formation> {
    /// 200 (or 206, a range of it): the list and its ETag.
    Fresh { list: Vec<T>, etag: Option<String> },
    /// 304: what was cached is still the list.
    NotModified,
}

/// A log session: its `logplex_url` streams the app's log lines (it carries a token: never
/// printed).
#[derive(Clone, Deserialize)]
pub struct LogSession {
    pub id: String,
    pub logplex_url: String,
}

impl fmt::Debug for LogSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogSession")
            .field("id", &self.id)
            .field("logplex_url", &"(redacted)")
            .finish()
    }
}

/// A release, as `GET /apps/{app}/releases` lists it (the parts we use).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Release {
    pub id: String,
    pub version: u64,
    pub created_at: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub description: String,
}

impl Release {
    pub fn created(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        chrono::DateTime::parse_from_rfc3339(&self.created_at)
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc))
    }
}

/// One change of a batch PATCH.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Update {
    #[serde(rename = "type")]
    pub process: String,
    pub quantity: u32,
    /// A new dyno size (Heroku restarts the type's dynos); None keeps the formation's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<&'static str>,
}

/// The shared client.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    auth: HeaderValue,
    retry: Retry,
    /// Stops waiting between retries when the daemon shuts down.
    cancel: CancellationToken,
    calls: Arc<Calls>,
    /// Formation changes (PATCH) under way, with their retries: a shutdown waits for them.
    writes: Writes,
}

/// A count of calls under way, and a wake-up when it drops to 0.
#[derive(Debug, Default)]
struct Writes {
    count: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
}

/// Counts one write under way for as long as it lives.
struct Writing<'a>(&'a Writes);

impl<'a> Writing<'a> {
    fn new(writes: &'a Writes) -> Writing<'a> {
        writes.count.fetch_add(1, Ordering::SeqCst);
        Writing(writes)
    }
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base.as_str())
            .finish_non_exhaustive()
    }
}

/// An answer before decoding.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Client {
    /// `base` must already be validated (https, or http to loopback): see `config`.
    pub fn new(base: Url, key: &ApiKey, retry: Retry, cancel: CancellationToken) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_V3));
        let http = crate::http::build(
            crate::http::builder(USER_AGENT, Duration::from_secs(20), Duration::from_secs(5))
                .default_headers(headers),
        );
        Client {
            inner: Arc::new(Inner {
                http,
                base,
                auth: key.authorization(),
                retry,
                cancel,
                calls: Arc::new(Calls::default()),
                writes: Writes::default(),
            }),
        }
    }

    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// Formation changes (PATCH) under way now.
    pub fn writes_in_flight(&self) -> usize {
        self.inner.writes.count.load(Ordering::SeqCst)
    }

    /// Waits until no formation change (PATCH) is under way: what a shutdown must let finish.
    pub async fn writes_done(&self) {
        let writes = &self.inner.writes;
        loop {
            let idle = writes.idle.notified();
            if writes.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            idle.await;
        }
    }

    /// The calls counter every clone shares.
    pub fn calls(&self) -> Arc<Calls> {
        self.inner.calls.clone()
    }

    pub async fn account(&self) -> Result<Account, ApiError> {
        self.call(Method::GET, "/account", None).await
    }

    pub async fn app(&self, app: &str) -> Result<App, ApiError> {
        self.call(Method::GET, &format!("/apps/{}", segment(app)), None)
            .await
    }

    /// The formation of one process type: never "the first of the list".
    pub async fn formation(&self, app: &str, process: &str) -> Result<Formation, ApiError> {
        let path = format!("/apps/{}/formation/{}", segment(app), segment(process));
        self.call(Method::GET, &path, None).await
    }

    /// `GET /apps/{app}/formation`: every process type of an app in one call. With the last
    /// ETag, Heroku answers 304 when nothing changed.
    pub async fn formations(&self, app: &str, etag: Option<&str>) -> Result<Listing, ApiError> {
        let path = format!("/apps/{}/formation", segment(app));
        self.list(&path, etag, None).await
    }

    /// The app's latest release (`Range: version ..; order=desc, max=1`), ETag-cached: asked
    /// only when something looks wrong, to tell a deploy from an outage.
    pub async fn latest_release(
        &self,
        app: &str,
        etag: Option<&str>,
    ) -> Result<Listing<Release>, ApiError> {
        let path = format!("/apps/{}/releases", segment(app));
        self.list(&path, etag, Some("version ..; order=desc, max=1"))
            .await
    }

    async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        etag: Option<&str>,
        range: Option<&'static str>,
    ) -> Result<Listing<T>, ApiError> {
        let mut extra = HeaderMap::new();
        if let Some(tag) = etag.and_then(|t| HeaderValue::from_str(t).ok()) {
            extra.insert(IF_NONE_MATCH, tag);
        }
        if let Some(range) = range {
            extra.insert(RANGE, HeaderValue::from_static(range));
        }
        let answer = self.send(Method::GET, path, None, extra).await?;
        if answer.status == StatusCode::NOT_MODIFIED {
            return Ok(Listing::NotModified);
        }
        let etag = answer
            .headers
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let list = decode(&Method::GET, path, &answer.body)?;
        Ok(Listing::Fresh { list, etag })
    }

    /// `POST /apps/{app}/log-sessions` for the router's lines, tailing.
    ///
    /// - Cedar: what `heroku logs --tail --source heroku --dyno router` asks for, in the v3
    ///   schema's words (`{"source": "heroku", "dyno_name": "router", "tail": true}`).
    /// - Fir: what the Heroku CLI sends for a Fir app (`version=3.sdk`, body `{source, dyno,
    ///   type}`, every Fir session tails). No filter is set: Fir names Heroku's own lines
    ///   `heroku-router`, `heroku-api`, … and a filter that matched none of them would read as
    ///   an app without traffic; the parser keeps the router's lines and counts the rest.
    pub async fn log_session(
        &self,
        app: &str,
        generation: Generation,
    ) -> Result<LogSession, ApiError> {
        let path = format!("/apps/{}/log-sessions", segment(app));
        match generation {
            Generation::Cedar => {
                let body =
                    serde_json::json!({ "source": "heroku", "dyno_name": "router", "tail": true });
                self.call(Method::POST, &path, Some(body)).await
            }
            Generation::Fir => {
                let mut headers = HeaderMap::new();
                headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_V3_SDK));
                let answer = self
                    .send(Method::POST, &path, Some(serde_json::json!({})), headers)
                    .await?;
                decode(&Method::POST, &path, &answer.body)
            }
        }
    }

    /// `PATCH /apps/{app}/formation/{process}` with `{"quantity": N}`.
    pub async fn scale(
        &self,
        app: &str,
        process: &str,
        quantity: u32,
        size: Option<Size>,
    ) -> Result<Formation, ApiError> {
        let path = format!("/apps/{}/formation/{}", segment(app), segment(process));
        let body = match size {
            Some(size) => serde_json::json!({ "quantity": quantity, "size": size.name() }),
            None => serde_json::json!({ "quantity": quantity }),
        };
        self.call(Method::PATCH, &path, Some(body)).await
    }

    /// Several process types of one app in one call: `PATCH /apps/{app}/formation` with
    /// `{"updates": [{"type": "web", "quantity": N, "size": "performance-m"}, ...]}` (`size`
    /// only where it changes). Answers the updated formations.
    pub async fn scale_batch(
        &self,
        app: &str,
        updates: &[Update],
    ) -> Result<Vec<Formation>, ApiError> {
        let path = format!("/apps/{}/formation", segment(app));
        let body = serde_json::json!({ "updates": updates });
        self.call(Method::PATCH, &path, Some(body)).await
    }

    /// One config var of an app (`GET /apps/{app}/config-vars`): its value, or None when the
    /// app has no such var. The answer holds every secret of the app: only the one var asked
    /// for is kept, and nothing of the body is ever put in an error.
    pub async fn config_var(&self, app: &str, name: &str) -> Result<Option<String>, ApiError> {
        let path = format!("/apps/{}/config-vars", segment(app));
        let answer = self
            .send(Method::GET, &path, None, HeaderMap::new())
            .await?;
        let vars: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&answer.body)
            .map_err(|_| ApiError::Decode {
                method: Method::GET,
                path: path.clone(),
                message: "the config vars are not a JSON object".to_owned(),
                attempts: 1,
            })?;
        Ok(vars
            .get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned))
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T, ApiError> {
        let answer = self
            .send(method.clone(), path, body, HeaderMap::new())
            .await?;
        decode(&method, path, &answer.body)
    }

    /// One call with its retries: 429, 5xx and network failures are tried again; a 2xx or 304
    /// is the answer; any other status is the error.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        headers: HeaderMap,
    ) -> Result<Answer, ApiError> {
        let retry = self.inner.retry;
        let cancelled = || ApiError::Cancelled {
            method: method.clone(),
            path: path.to_owned(),
        };
        // Shutting down: a call already sent finishes, none is started.
        if self.inner.cancel.is_cancelled() {
            return Err(cancelled());
        }
        let _writing = (method == Method::PATCH).then(|| Writing::new(&self.inner.writes));
        let mut attempt = 1;
        loop {
            match self.attempt(&method, path, body.as_ref(), &headers).await {
                Ok(answer) => return Ok(answer),
                Err(mut e) => {
                    e.set_attempts(attempt);
                    if !e.is_retryable() || attempt >= retry.attempts {
                        return Err(e);
                    }
                    e.log(tracing::Level::WARN);
                    let retry_after = match &e {
                        ApiError::Status { retry_after, .. } => *retry_after,
                        _ => None,
                    };
                    let delay = retry.delay(attempt, retry_after);
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = self.inner.cancel.cancelled() => return Err(cancelled()),
                    }
                    attempt += 1;
                }
            }
        }
    }

    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        body: Option<&serde_json::Value>,
        headers: &HeaderMap,
    ) -> Result<Answer, ApiError> {
        let url = join(&self.inner.base, path);
        let mut request = self
            .inner
            .http
            .request(method.clone(), url)
            .headers(headers.clone())
            .header(AUTHORIZATION, self.inner.auth.clone());
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let transport = |e: reqwest::Error| ApiError::Transport {
            method: method.clone(),
            path: path.to_owned(),
            kind: transport_kind(&e),
            message: error_chain(&e),
            attempts: 1,
        };
        self.inner.calls.sent.fetch_add(1, Ordering::Relaxed);
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = crate::http::read_capped(response, API_BODY_CAP)
            .await
            .map_err(|e| match e {
                // Not Heroku's answer: asking again would read another one like it.
                crate::http::BodyError::TooLarge { .. } => ApiError::Decode {
                    method: method.clone(),
                    path: path.to_owned(),
                    message: e.to_string(),
                    attempts: 1,
                },
                crate::http::BodyError::Transport { kind, message } => ApiError::Transport {
                    method: method.clone(),
                    path: path.to_owned(),
                    kind,
                    message,
                    attempts: 1,
                },
            })?;

        if let Some(remaining) = header_u64(&headers, "ratelimit-remaining") {
            self.inner.calls.set_remaining(remaining);
            if remaining < RATE_LIMIT_WARNING {
                Event::RateLimit { remaining }.emit(tracing::Level::WARN);
            }
        }
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            return Ok(Answer {
                status,
                headers,
                body,
            });
        }
        Err(status_error(method, path, status, &headers, &body))
    }
}

// The error is large, but it is made once per failed call, never on a hot path.
#[allow(clippy::result_large_err)]
fn decode<T: DeserializeOwned>(method: &Method, path: &str, body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::Decode {
        method: method.clone(),
        path: path.to_owned(),
        message: e.to_string(),
        attempts: 1,
    })
}

fn status_error(
    method: &Method,
    path: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiError {
    let (id, message) = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => (b.id, b.message),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text: String = text.trim().chars().take(200).collect();
            let message = if text.is_empty() {
                status.canonical_reason().unwrap_or("no body").to_owned()
            } else {
                text
            };
            (format!("http_{}", status.as_u16()), message)
        }
    };
    ApiError::Status {
        method: method.clone(),
        path: path.to_owned(),
        status: status.as_u16(),
        id,
        message: message.replace('\n', " "),
        request_id: headers
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        retry_after: retry_after(headers),
        attempts: 1,
    }
}

/// `Retry-After` as seconds from now: delta-seconds or an HTTP date (RFC 9110 allows both).
fn retry_after(headers: &HeaderMap) -> Option<u64> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse() {
        return Some(secs);
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .map_or(0, |d| d.as_secs_f64().ceil() as u64),
    )
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// Percent-encodes one path segment (app names are safe already; this is defence in depth).
fn segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// The base URL may carry a path prefix (a proxy); keep it.
fn join(base: &Url, path: &str) -> String {
    format!("{}{}", base.as_str().trim_end_matches('/'), path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_redacted_and_encoded_as_basic_colon_key() {
        let key = ApiKey::new("abc123".into());
        assert_eq!(format!("{key:?} {key}"), "ApiKey(redacted) (redacted)");
        let auth = key.authorization();
        assert!(auth.is_sensitive());
        // base64(":abc123")
        assert_eq!(auth.to_str().unwrap(), "Basic OmFiYzEyMw==");
    }

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let r = Retry {
            attempts: 5,
            base: Duration::from_millis(100),
            max: Duration::from_millis(1000),
        };
        for _ in 0..50 {
            let d1 = r.delay(1, None);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d3 = r.delay(3, None);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400));
            let d9 = r.delay(9, None);
            assert!(d9 >= Duration::from_millis(500) && d9 <= Duration::from_millis(1000));
        }
        assert_eq!(r.delay(1, Some(0)), Duration::ZERO);
        assert_eq!(r.delay(1, Some(60)), Duration::from_millis(1000));
    }

    #[test]
    fn error_bodies_are_decoded_and_non_json_survives() {
        let h = HeaderMap::new();
        let e = status_error(
            &Method::PATCH,
            "/apps/a/formation/web",
            StatusCode::UNPROCESSABLE_ENTITY,
            &h,
            br#"{"id":"invalid_params","message":"Cannot update to more than 1 Free size dynos per process type."}"#,
        );
        assert_eq!(e.status(), Some(422));
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("invalid_params: Cannot update"));
        let e = status_error(
            &Method::GET,
            "/x",
            StatusCode::BAD_GATEWAY,
            &h,
            b"<html>bad\ngateway</html>",
        );
        assert!(e.is_retryable());
        assert_eq!(e.message(), "<html>bad gateway</html>");
        assert!(e.to_string().contains("http_502"));
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(7));
        let in_ten = std::time::SystemTime::now() + Duration::from_secs(10);
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_str(&httpdate::fmt_http_date(in_ten)).unwrap(),
        );
        assert!(
            matches!(retry_after(&h), Some(9..=11)),
            "{:?}",
            retry_after(&h)
        );
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(0), "a date in the past: retry now");
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(segment("my-app"), "my-app");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
        let base = Url::parse("http://127.0.0.1:9/prefix/").unwrap();
        assert_eq!(join(&base, "/apps/x"), "http://127.0.0.1:9/prefix/apps/x");
    }
}
