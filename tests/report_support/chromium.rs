//! Headless Chromium as a child process: a fresh profile every run, no network services, every
//! wait bounded. `$CHROMIUM` names the binary, else `/usr/bin/chromium`.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What a run printed.
pub struct Output {
    pub stdout: String,
    pub stderr: String,
}

/// The Chromium binary, or why there is none and how to get it.
pub fn binary() -> Result<PathBuf, String> {
    let path = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if path.is_file() {
        Ok(path)
    } else {
        Err(missing_message(&path))
    }
}

/// What to say when `path` is not there.
pub fn missing_message(path: &Path) -> String {
    format!(
        "headless Chromium is needed and {} is missing: install it with \
         `apt-get install -y chromium` (Debian; `.ci/install-chromium` does it) \
         or point $CHROMIUM at a Chromium binary",
        path.display()
    )
}

/// A fresh, empty directory under the system's temp dir.
pub fn temp_dir(label: &str) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "autoscale-{label}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

/// Runs Chromium headless with `args` after the usual flags (fresh profile in `profile`, no GPU,
/// no background networking), waiting at most `deadline`; a run past it is killed and is an
/// error carrying what it printed.
pub fn run(args: &[&str], profile: &Path, deadline: Duration) -> Result<Output, String> {
    let binary = binary()?;
    let mut child = Command::new(&binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a run past the deadline ends with all its helpers.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    // Drain both pipes on their own threads so a full pipe never stalls the browser.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        let (send, receive) = mpsc::channel();
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            let _ = send.send(String::from_utf8_lossy(&bytes).into_owned());
        });
        receive
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > deadline => {
                let group = format!("-{}", child.id());
                let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(format!("waiting for Chromium: {e}")),
        }
    };
    // A helper process that outlived the browser could hold a pipe open: wait for it briefly.
    let collect = |pipe: mpsc::Receiver<String>| {
        pipe.recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| "(output not closed within 10 s)".to_string())
    };
    let output = Output {
        stdout: collect(stdout),
        stderr: collect(stderr),
    };
    match status {
        Some(status) if status.success() => Ok(output),
        Some(status) => Err(format!("Chromium exited with {status}:\n{}", output.stderr)),
        None => Err(format!(
            "Chromium did not finish within {deadline:?}; it printed:\n{}",
            output.stderr
        )),
    }
}
