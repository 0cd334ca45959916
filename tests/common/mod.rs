//! Shared harness: the real binary as a child process, against the crate's loopback simulator.
//! Every wait is a poll with a deadline; a timeout panics with everything the daemon printed.

#![allow(dead_code)] // each test file uses its own part of the harness

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use autoscale::logfmt::Line;
use autoscale::sim::{FakeApp, FakeHeroku};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The token the fake accepts. It must never appear in any output.
pub const KEY: &str = "hk-test-5b1e0c9a-7d42-secret-token";
pub const APP: &str = "shop-app";

/// A fake Heroku with one app (`shop-app`, web formation) and a fake app to check.
pub struct World {
    pub api: FakeHeroku,
    pub app: FakeApp,
}

impl World {
    pub async fn new(quantity: u32) -> World {
        Self::with_size(quantity, "Standard-1X").await
    }

    pub async fn with_size(quantity: u32, size: &str) -> World {
        let api = FakeHeroku::start(KEY).await.expect("fake API");
        let app = FakeApp::start().await.expect("fake app");
        api.add_app(APP, Some(&app.url()));
        api.add_formation(APP, "web", quantity, size);
        api.add_formation(APP, "worker", 1, size);
        // Last changed long before any schedule edge: not set by hand (a formation changed
        // after the latest edge is kept as a deliberate change).
        for process in ["web", "worker"] {
            api.set_updated_at(APP, process, "2026-01-01T00:00:00Z".parse().unwrap());
        }
        World { api, app }
    }

    pub fn quantity(&self) -> u32 {
        self.api.quantity(APP, "web").expect("web formation")
    }

    /// The environment of a daemon pointed at this world; tests add or override entries.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("HEROKU_API_KEY".into(), KEY.into()),
            ("HEROKU_API_URL".into(), self.api.url()),
            ("AUTOSCALE_APP".into(), APP.into()),
            ("AUTOSCALE_CHECK_URL".into(), self.app.url()),
            // Tests that keep a history name their own store; others share one working
            // directory and must not write a default SQLite file there.
            ("AUTOSCALE_HISTORY".into(), "off".into()),
        ]
    }

    /// Fast checks for tests: every second, down after 2 s without an answer, slow above 1 s,
    /// fast below 500 ms (far from what the loopback fake takes, even on a busy machine), scale
    /// in after 3 fast checks; floor 1 all day, max 3.
    pub fn failsafe_env(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut settings = vec![
            ("AUTOSCALE_SCHEDULE", "00:00=1"),
            ("AUTOSCALE_MAX", "3"),
            ("AUTOSCALE_CHECK_INTERVAL", "1s"),
            ("AUTOSCALE_CHECK_TIMEOUT", "2s"),
            ("AUTOSCALE_SLOW", "1s"),
            ("AUTOSCALE_FAST", "500ms"),
            ("AUTOSCALE_SCALE_IN_AFTER", "3"),
        ];
        settings.extend_from_slice(extra);
        self.env_with(&settings)
    }

    /// `env()` with overrides applied.
    pub fn env_with(&self, overrides: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env = self.env();
        for (k, v) in overrides {
            env.retain(|(key, _)| key != k);
            env.push((k.to_string(), v.to_string()));
        }
        env
    }
}

/// A directory without a `.env`, so a developer's file never leaks into a test.
fn workdir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("workdir");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    dir
}

fn command(args: &[&str], env: &[(String, String)]) -> Command {
    command_in(&workdir(), args, env)
}

fn command_in(dir: &std::path::Path, args: &[&str], env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_autoscale"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// Runs a short command to completion (bounded) and returns (exit code, stdout, stderr).
pub async fn output(args: &[&str], env: &[(String, String)]) -> (i32, String, String) {
    output_in(&workdir(), args, env).await
}

/// [`output`] in another working directory (e.g. one with a `.env`).
pub async fn output_in(
    dir: &std::path::Path,
    args: &[&str],
    env: &[(String, String)],
) -> (i32, String, String) {
    let child = command_in(dir, args, env).spawn().expect("spawn autoscale");
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the command finished within 60 s")
        .expect("output");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A running daemon whose stdout and stderr are collected line by line.
pub struct Daemon {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Daemon {
    pub fn spawn(args: &[&str], env: &[(String, String)]) -> Daemon {
        let mut child = command(args, env).spawn().expect("spawn autoscale");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        collect(child.stdout.take().expect("stdout"), stdout.clone());
        collect(child.stderr.take().expect("stderr"), stderr.clone());
        Daemon {
            child,
            stdout,
            stderr,
        }
    }

    pub fn lines(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// Every stdout line parsed; panics on a line that is not a logfmt event line.
    pub fn events(&self) -> Vec<Line> {
        self.lines()
            .iter()
            .map(|l| {
                let line = Line::parse(l).unwrap_or_else(|| panic!("not logfmt: {l:?}"));
                assert!(
                    line.get("ts").is_some() && line.event().is_some(),
                    "not an event line: {l}"
                );
                line
            })
            .collect()
    }

    pub fn events_named(&self, name: &str) -> Vec<Line> {
        self.events()
            .into_iter()
            .filter(|l| l.event() == Some(name))
            .collect()
    }

    pub fn dump(&self) -> String {
        format!(
            "--- stdout\n{}\n--- stderr\n{}",
            self.lines().join("\n"),
            self.stderr().join("\n")
        )
    }

    /// Waits until an event line satisfies `pred`; returns it.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Line) -> bool,
    ) -> Line {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.events().into_iter().find(|l| pred(l)) {
                return line;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out after {timeout:?} waiting for {what}\n{}",
                    self.dump()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until `count` events named `name` were printed.
    pub async fn wait_count(&self, name: &str, count: usize, timeout: Duration) -> Vec<Line> {
        let deadline = Instant::now() + timeout;
        loop {
            let found = self.events_named(name);
            if found.len() >= count {
                return found;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out after {timeout:?} waiting for {count} event={name}\n{}",
                    self.dump()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until `more` further events named `name` were printed, counting from now.
    pub async fn wait_more(&self, name: &str, more: usize, timeout: Duration) -> Vec<Line> {
        let seen = self.events_named(name).len();
        self.wait_count(name, seen + more, timeout).await
    }

    /// Makes exactly one check fail (HTTP 500); returns once the daemon has logged it.
    pub async fn one_failed_check(&self, w: &World) {
        w.app.fail_next(500);
        self.wait_for("the failed check", Duration::from_secs(10), |l| {
            l.get("outcome") == Some("down")
        })
        .await;
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    pub fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([format!("-{signal}"), self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit (bounded), then for its output to be drained.
    pub async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let status = tokio::time::timeout(timeout, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("did not exit within {timeout:?}\n{}", self.dump()))
            .expect("wait");
        // The reader tasks see EOF right after exit.
        tokio::time::sleep(Duration::from_millis(50)).await;
        status
    }
}

fn collect(
    stream: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    into: Arc<Mutex<Vec<String>>>,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            into.lock().unwrap().push(line);
        }
    });
}

/// Polls `cond` until true or the deadline passes (then panics with `what`).
pub async fn until(what: &str, timeout: Duration, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asserts the request carries the headers the contract requires of every API call.
pub fn assert_api_headers(r: &autoscale::sim::Recorded) {
    assert_eq!(
        r.header("accept"),
        Some("application/vnd.heroku+json; version=3"),
        "{r:?}"
    );
    let auth = r.header("authorization").expect("authorization");
    use base64::Engine as _;
    let expected = base64::engine::general_purpose::STANDARD.encode(format!(":{KEY}"));
    assert_eq!(auth, format!("Basic {expected}"));
    let ua = r.header("user-agent").expect("user-agent");
    assert_eq!(ua, concat!("autoscale/", env!("CARGO_PKG_VERSION")));
}

/// Asserts a PATCH is exactly the contract's: path, JSON content type, `{"quantity": N}`.
pub fn assert_scale_request(r: &autoscale::sim::Recorded, quantity: u32) {
    assert_eq!(r.method, "PATCH");
    assert_eq!(r.path, format!("/apps/{APP}/formation/web"));
    assert_api_headers(r);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_str(&r.body).expect("JSON body");
    assert_eq!(body, serde_json::json!({ "quantity": quantity }));
}

/// Log lines written by the code under test on this thread (in-process tests install it as the
/// thread's default subscriber, at `info`).
#[allow(unused_imports)] // like the rest of the harness: each test file uses its own part
pub use autoscale::logfmt::Captured;
