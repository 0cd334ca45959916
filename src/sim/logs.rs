//! The simulator's Logplex: the router's log lines of the simulated apps, streamed to a log
//! session's `logplex_url` as `heroku logs --tail` would read them. It listens on a port of its
//! own (Logplex is another host than the API: no API key, no version header), and it can end,
//! stall or garble a stream on demand, and send plain lines (Cedar) or Server-Sent Events
//! (`text/event-stream`, as Fir's streams do: `id:`, `data:`, keep-alive comments).
//!
//! Lines come from a [`RouterFeed`]: the simulated app emits one for every request it serves,
//! and [`RouterFeed::load`] generates steady traffic (a rate, a service time, a share of errors)
//! for the demo and the tests.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::clock::Clock;

/// How a stream behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamMode {
    /// Every line, as it comes.
    Normal,
    /// The stream ends after this many lines (a session expiring, Logplex closing it).
    EndAfter(u64),
    /// The stream sends nothing more and stays open.
    Stall,
    /// Each line is replaced by garbage.
    Garbage,
}

struct Shared {
    feeds: Mutex<HashMap<String, broadcast::Sender<String>>>,
    modes: Mutex<HashMap<String, StreamMode>>,
    sessions: AtomicU64,
    lines: AtomicU64,
    /// Apps whose streams are Server-Sent Events.
    sse: Mutex<std::collections::HashSet<String>>,
    /// The Accept header of every stream request, in order.
    accepts: Mutex<Vec<String>>,
    /// Apps on Fir, and how long each of their streams lasts.
    fir: Mutex<HashMap<String, Duration>>,
    /// Fir sessions already streamed: a session is read once, then answers 404.
    used: Mutex<std::collections::HashSet<String>>,
}

/// The running Logplex. Dropping it stops the server.
pub struct Logplex {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Drop for Logplex {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Lines waiting for a slow reader; more are dropped (as Logplex drops for a slow tail).
const BACKLOG: usize = 4096;
/// The most requests a steady load sends at once to catch up after a stall.
const BURST: u64 = 256;

impl Logplex {
    pub async fn start() -> std::io::Result<Logplex> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            feeds: Mutex::new(HashMap::new()),
            modes: Mutex::new(HashMap::new()),
            sessions: AtomicU64::new(0),
            lines: AtomicU64::new(0),
            sse: Mutex::new(std::collections::HashSet::new()),
            accepts: Mutex::new(Vec::new()),
            fir: Mutex::new(HashMap::new()),
            used: Mutex::new(std::collections::HashSet::new()),
        });
        let router = Router::new()
            .route("/sessions/{app}/{id}", get(stream))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Logplex {
            addr,
            shared,
            server,
        })
    }

    /// A session's URL, with a token in its query as Logplex's have.
    pub fn session_url(&self, app: &str, id: &str) -> String {
        format!(
            "http://{}/sessions/{app}/{id}?srv=1&sig=s3cret-session-token",
            self.addr
        )
    }

    /// The feed of an app's router lines.
    pub fn feed(&self, app: &str) -> RouterFeed {
        RouterFeed {
            app: app.to_owned(),
            sender: sender(&self.shared, app),
        }
    }

    /// How this app's streams behave from now on (streams already open included).
    pub fn set_mode(&self, app: &str, mode: StreamMode) {
        self.shared
            .modes
            .lock()
            .unwrap()
            .insert(app.to_owned(), mode);
    }

    /// Whether this app's streams opened from now on are Server-Sent Events (Fir) or plain lines.
    pub fn set_sse(&self, app: &str, on: bool) {
        let mut sse = self.shared.sse.lock().unwrap();
        if on {
            sse.insert(app.to_owned());
        } else {
            sse.remove(app);
        }
    }

    /// This app's streams from now on are Fir's: Server-Sent Events of Fir-style router lines
    /// (`heroku-router`, pod-named dynos), each ending after `lifetime`, each session readable
    /// once (again: 404, as a timed-out Fir stream answers).
    pub fn set_fir(&self, app: &str, lifetime: Duration) {
        self.set_sse(app, true);
        self.shared
            .fir
            .lock()
            .unwrap()
            .insert(app.to_owned(), lifetime);
    }

    /// The `Accept` header of every stream request so far.
    pub fn accepts(&self) -> Vec<String> {
        self.shared.accepts.lock().unwrap().clone()
    }

    /// Streams opened so far.
    pub fn sessions(&self) -> u64 {
        self.shared.sessions.load(Ordering::SeqCst)
    }

    /// Lines sent to readers so far.
    pub fn lines_sent(&self) -> u64 {
        self.shared.lines.load(Ordering::SeqCst)
    }
}

fn sender(shared: &Shared, app: &str) -> broadcast::Sender<String> {
    shared
        .feeds
        .lock()
        .unwrap()
        .entry(app.to_owned())
        .or_insert_with(|| broadcast::channel(BACKLOG).0)
        .clone()
}

async fn stream(
    State(shared): State<Arc<Shared>>,
    Path((app, id)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
) -> Response {
    let lifetime = shared.fir.lock().unwrap().get(&app).copied();
    if lifetime.is_some() && !shared.used.lock().unwrap().insert(id) {
        return (StatusCode::NOT_FOUND, "session expired").into_response();
    }
    let ends = lifetime.map(|l| tokio::time::Instant::now() + l);
    shared.sessions.fetch_add(1, Ordering::SeqCst);
    let accept = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    shared.accepts.lock().unwrap().push(accept);
    let sse = shared.sse.lock().unwrap().contains(&app);
    let receiver = sender(&shared, &app).subscribe();
    let state = (receiver, shared, app, 0u64);
    let body = futures_util::stream::unfold(state, move |(mut rx, shared, app, sent)| async move {
        loop {
            let mode = shared
                .modes
                .lock()
                .unwrap()
                .get(&app)
                .copied()
                .unwrap_or(StreamMode::Normal);
            match mode {
                StreamMode::EndAfter(n) if sent >= n => return None,
                StreamMode::Stall => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    continue;
                }
                _ => {}
            }
            let received = match ends {
                Some(at) => tokio::select! {
                    _ = tokio::time::sleep_until(at) => return None,
                    r = rx.recv() => r,
                },
                None => rx.recv().await,
            };
            let line = match received {
                Ok(line) if ends.is_some() => fir_line(&line),
                Ok(line) => line,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            let line = if mode == StreamMode::Garbage {
                "\u{1}\u{2}garbage ==== not a log line at all \"\n".to_owned()
            } else {
                line
            };
            let line = if sse {
                // One event per line, with its id; a keep-alive comment now and then.
                let comment = if sent % 5 == 0 { ": keep-alive\n" } else { "" };
                format!("{comment}id: {}\ndata: {}\n\n", sent + 1, line.trim_end())
            } else if line.ends_with('\n') {
                line
            } else {
                line + "\n"
            };
            shared.lines.fetch_add(1, Ordering::SeqCst);
            let chunk = Ok::<_, std::io::Error>(axum::body::Bytes::from(line));
            return Some((chunk, (rx, shared, app, sent + 1)));
        }
    });
    let content_type = if sse {
        "text/event-stream"
    } else {
        "text/plain; charset=utf-8"
    };
    (
        StatusCode::OK,
        [("content-type", content_type)],
        Body::from_stream(body),
    )
        .into_response()
}

/// A Cedar router line as Fir logs it: `heroku-router` for `heroku[router]`, and dynos named
/// after their pods (`web.2` → `web-6f9d8c7b5-x0002`).
pub fn fir_line(line: &str) -> String {
    let line = line.replacen(" heroku[router]: ", " heroku-router[web]: ", 1);
    match line.split_once(" dyno=") {
        Some((head, tail)) => {
            let (dyno, rest) = tail.split_once(' ').unwrap_or((tail, ""));
            let pod = match dyno.split_once('.') {
                Some((process, n)) => format!("{process}-6f9d8c7b5-x{:0>4}", n),
                None => dyno.to_owned(),
            };
            format!("{head} dyno={pod} {rest}")
        }
        None => line,
    }
}

/// Where an app's router lines go. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RouterFeed {
    app: String,
    sender: broadcast::Sender<String>,
}

/// One request as the router logs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub service_ms: u32,
    pub status: u16,
    /// H10, H12, H13: a router error.
    pub code: Option<&'static str>,
}

impl RouterFeed {
    /// Logs one request at `at`, as `heroku logs` prints it.
    pub fn emit(&self, at: DateTime<Utc>, dyno: u32, request: Request) {
        let _ = self.sender.send(router_line(&self.app, at, dyno, request));
    }

    /// Steady traffic until the returned handle is dropped or aborted: `per_minute` requests a
    /// minute, each taking `service_ms`, a share of them failing with `errors` (code, share),
    /// spread over `dynos` dynos; timestamps from `clock`.
    pub fn load(
        &self,
        clock: Clock,
        per_minute: u32,
        service_ms: u32,
        errors: Vec<(&'static str, f64)>,
        dynos: u32,
    ) -> JoinHandle<()> {
        let feed = self.clone();
        tokio::spawn(async move {
            if per_minute == 0 {
                return;
            }
            let every = clock.to_real(Duration::from_secs(60) / per_minute);
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let began = tokio::time::Instant::now();
            let mut n: u64 = 0;
            loop {
                ticker.tick().await;
                // The requests due by now, so a busy machine that skips ticks still sends
                // `per_minute` (at most a burst's worth at once, within the feed's backlog).
                let due = (began.elapsed().as_nanos() / every.as_nanos().max(1)) as u64 + 1;
                let upto = due.min(n + BURST);
                while n < upto {
                    n += 1;
                    // Deterministic spread of the errors: request n fails with code c when its place
                    // in each hundred falls in c's share.
                    let mut place = (n % 1000) as f64 / 1000.0;
                    let mut request = Request {
                        service_ms,
                        status: 200,
                        code: None,
                    };
                    for (code, share) in &errors {
                        if place < *share {
                            request = match *code {
                                "H12" => Request {
                                    service_ms: 30_000,
                                    status: 503,
                                    code: Some("H12"),
                                },
                                c => Request {
                                    service_ms: 0,
                                    status: 503,
                                    code: Some(c),
                                },
                            };
                            break;
                        }
                        place -= share;
                    }
                    feed.emit(
                        clock.now(),
                        1 + (n % u64::from(dynos.max(1))) as u32,
                        request,
                    );
                }
            }
        })
    }
}

/// A router line as `heroku logs` prints it.
pub fn router_line(app: &str, at: DateTime<Utc>, dyno: u32, r: Request) -> String {
    let ts = at.format("%Y-%m-%dT%H:%M:%S%.6f+00:00");
    let id = (at.timestamp_nanos_opt().unwrap_or(0) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    match r.code {
        Some(code) => {
            let desc = match code {
                "H10" => "App crashed",
                "H12" => "Request timeout",
                "H13" => "Connection closed without response",
                _ => "Router error",
            };
            let dyno = if code == "H12" {
                format!("web.{dyno}")
            } else {
                String::new()
            };
            format!(
                "{ts} heroku[router]: at=error code={code} desc=\"{desc}\" method=GET path=\"/\" host={app}.herokuapp.com request_id={id:016x} fwd=\"203.0.113.7\" dyno={dyno} connect=1ms service={}ms status={} bytes=0 protocol=https",
                r.service_ms, r.status
            )
        }
        None => format!(
            "{ts} heroku[router]: at=info method=GET path=\"/\" host={app}.herokuapp.com request_id={id:016x} fwd=\"203.0.113.7\" dyno=web.{dyno} connect=0ms service={}ms status={} bytes=512 protocol=https",
            r.service_ms, r.status
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::router::{parse_line, Parsed};

    #[test]
    fn lines_are_router_lines_the_parser_reads() {
        let at: DateTime<Utc> = "2026-11-30T14:03:00.123456Z".parse().unwrap();
        for r in [
            Request {
                service_ms: 87,
                status: 200,
                code: None,
            },
            Request {
                service_ms: 30_000,
                status: 503,
                code: Some("H12"),
            },
            Request {
                service_ms: 0,
                status: 503,
                code: Some("H13"),
            },
        ] {
            let line = router_line("shop", at, 2, r);
            let Parsed::Router(parsed) = parse_line(&line) else {
                panic!("not read back: {line}");
            };
            assert_eq!(parsed.timestamp, at);
            assert_eq!(parsed.status, Some(r.status));
            assert_eq!(parsed.service_ms, Some(r.service_ms));
        }
    }

    #[test]
    fn fir_lines_are_router_lines_of_pod_named_dynos() {
        let at: DateTime<Utc> = "2026-11-30T14:03:00.123456Z".parse().unwrap();
        let ok = Request {
            service_ms: 87,
            status: 200,
            code: None,
        };
        let line = fir_line(&router_line("shop", at, 12, ok));
        assert!(line.contains(" heroku-router[web]: "), "{line}");
        let Parsed::Router(parsed) = parse_line(&line) else {
            panic!("not read back: {line}");
        };
        assert_eq!(
            (parsed.dyno, parsed.process()),
            ("web-6f9d8c7b5-x0012", "web")
        );
        assert_eq!(parsed.service_ms, Some(87));
        // A router error without a dyno stays without one.
        let h13 = Request {
            service_ms: 0,
            status: 503,
            code: Some("H13"),
        };
        let line = fir_line(&router_line("shop", at, 1, h13));
        let Parsed::Router(parsed) = parse_line(&line) else {
            panic!("H13 not read back");
        };
        assert_eq!((parsed.dyno, parsed.status), ("", Some(503)));
    }
}
