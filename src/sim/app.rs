//! A loopback web app that is healthy, broken, slow, hung or gone on demand: what the checks of
//! the tests and of `autoscale demo` request.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinHandle;

/// How the app answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 200 at once.
    Healthy,
    /// This status at once (e.g. 500, 503, 302).
    Status(u16),
    /// 200 after this delay.
    Slow(Duration),
    /// Accepts the connection and never answers.
    Hang,
    /// Not listening: connections are refused.
    Closed,
}

struct Shared {
    mode: Mutex<Mode>,
    hits: AtomicU64,
    /// Statuses the next requests get before the mode applies again, first first.
    next: Mutex<std::collections::VecDeque<u16>>,
}

/// The running app. Its address stays the same across `Closed` and back.
pub struct FakeApp {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for FakeApp {
    fn drop(&mut self) {
        if let Some(server) = self.server.lock().unwrap().take() {
            server.abort();
        }
    }
}

fn listener(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    // Rebinding the same port right after closing it must not wait for TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(128)
}

impl FakeApp {
    /// Starts healthy on `127.0.0.1:0`.
    pub async fn start() -> std::io::Result<FakeApp> {
        let listener = listener("127.0.0.1:0".parse().expect("an address"))?;
        let addr = listener.local_addr()?;
        let app = FakeApp {
            addr,
            shared: Arc::new(Shared {
                mode: Mutex::new(Mode::Healthy),
                hits: AtomicU64::new(0),
                next: Mutex::new(std::collections::VecDeque::new()),
            }),
            server: Mutex::new(None),
        };
        app.serve(listener);
        Ok(app)
    }

    fn serve(&self, listener: TcpListener) {
        let shared = self.shared.clone();
        let router = Router::new().fallback(move || answer(shared.clone()));
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        *self.server.lock().unwrap() = Some(handle);
    }

    /// The URL to check.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Requests answered or hung so far (refused connections are not counted).
    pub fn hits(&self) -> u64 {
        self.shared.hits.load(Ordering::SeqCst)
    }

    pub fn mode(&self) -> Mode {
        *self.shared.mode.lock().unwrap()
    }

    /// The next request (whenever it comes) gets `status` at once; the mode applies again after.
    pub fn fail_next(&self, status: u16) {
        self.shared.next.lock().unwrap().push_back(status);
    }

    /// Switches the behaviour; `Closed` stops listening, leaving it listens again on the same port.
    pub async fn set_mode(&self, mode: Mode) -> std::io::Result<()> {
        let previous = std::mem::replace(&mut *self.shared.mode.lock().unwrap(), mode);
        match (previous == Mode::Closed, mode == Mode::Closed) {
            (false, true) => {
                let server = self.server.lock().unwrap().take();
                if let Some(server) = server {
                    server.abort();
                    let _ = server.await;
                }
            }
            (true, false) => {
                // The aborted server's socket is released asynchronously: retry briefly.
                let mut last = None;
                for _ in 0..50 {
                    match listener(self.addr) {
                        Ok(l) => {
                            self.serve(l);
                            return Ok(());
                        }
                        Err(e) => last = Some(e),
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                return Err(last.expect("at least one attempt"));
            }
            _ => {}
        }
        Ok(())
    }
}

async fn answer(shared: Arc<Shared>) -> Response {
    shared.hits.fetch_add(1, Ordering::SeqCst);
    let next = shared.next.lock().unwrap().pop_front();
    let mode = next.map_or(*shared.mode.lock().unwrap(), Mode::Status);
    match mode {
        Mode::Healthy | Mode::Closed => (StatusCode::OK, "ok\n").into_response(),
        Mode::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut r = (status, "Application error\n").into_response();
            if status.is_redirection() {
                r.headers_mut().insert(
                    "location",
                    axum::http::HeaderValue::from_static("https://example.invalid/login"),
                );
            }
            r
        }
        Mode::Slow(delay) => {
            tokio::time::sleep(delay).await;
            (StatusCode::OK, "ok, slowly\n").into_response()
        }
        Mode::Hang => std::future::pending().await,
    }
}
