//! What a hostile tester and a first-time user found (issue "Hardening"), each as a test that
//! failed before the fix.

mod common;

use std::io::Read as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use autoscale::heroku::{ApiKey, Client, Retry};
use autoscale::probe::{Outcome, Prober};
use autoscale::sim::{Fault, Mode, Receiver};
use common::*;
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

/// A server that answers 200 with `Content-Length: 100000`, sends 10 bytes, then stalls (or
/// closes, when `close`).
async fn short_body_server(close: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buf).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-length: 100000\r\ncontent-type: text/plain\r\n\r\n0123456789";
                let _ = socket.write_all(head.as_bytes()).await;
                if !close {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
            });
        }
    });
    format!("http://{addr}/")
}

#[tokio::test]
async fn a_body_that_stalls_or_ends_short_is_down_not_fast() {
    for close in [false, true] {
        let url = short_body_server(close).await;
        let prober = Prober::new(
            autoscale::probe::shared_client(),
            url.parse().unwrap(),
            Duration::from_secs(1),
            Duration::from_millis(800),
            Some(Duration::from_millis(500)),
        );
        let started = Instant::now();
        let probe = prober.probe().await;
        assert_eq!(probe.outcome, Outcome::Down, "close={close}: {probe:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
        if !close {
            assert!(probe.error.contains("timeout"), "{probe:?}");
        }
    }
}

#[tokio::test]
async fn an_api_answer_larger_than_the_cap_is_refused_without_reading_it_all() {
    let w = World::new(1).await;
    let client = Client::new(
        w.api.url().parse().unwrap(),
        &ApiKey::new(KEY.into()),
        Retry::default(),
        CancellationToken::new(),
    );
    w.api.fail_next(Some("GET"), Fault::Huge(8 << 20));
    let e = client.account().await.unwrap_err();
    assert!(e.message().contains("larger than 1048576 bytes"), "{e}");
    // A normal answer still works.
    assert!(client.account().await.is_ok());
}

#[tokio::test]
async fn chart_treats_an_out_of_range_line_as_garbage_and_finishes() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hostile-chart");
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("log.txt");
    let mut text = String::new();
    for i in 0..20 {
        text.push_str(&format!(
            "ts=2026-11-30T10:{i:02}:00.000Z level=info event=probe app=a process=web status=200 latency_ms=120 outcome=fast error=\"\" current=2 floor=2\n"
        ));
    }
    text.push_str("ts=2026-11-30T10:30:00.000Z level=info event=probe app=a process=web status=200 latency_ms=1e308 outcome=fast error=\"\" current=2 floor=2\n");
    text.push_str("ts=2026-11-30T10:31:00.000Z level=info event=probe app=a process=web status=200 latency_ms=NaN outcome=fast error=\"\" current=2 floor=2\n");
    text.push_str("ts=2026-11-30T10:32:00.000Z level=info event=scale app=a process=web from=2 to=4294967295 reason=down result=ok\n");
    text.push_str("ts=9999-12-31T23:59:59.000Z level=info event=probe app=a process=web status=200 latency_ms=10 outcome=fast error=\"\" current=2 floor=2\n");
    std::fs::write(&input, text).unwrap();
    let out = dir.join("out.svg");
    let started = Instant::now();
    let (code, stdout, err) = output(
        &[
            "chart",
            "--input",
            input.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(err.contains("4 line(s)"), "{err}");
    assert!(stdout.contains("checks: 20,"), "{stdout}");
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.len() < 2_000_000, "{} bytes", svg.len());
}

#[tokio::test]
async fn a_web_url_that_is_not_http_turns_checks_off_with_a_warning() {
    let w = World::new(1).await;
    let api = autoscale::sim::FakeHeroku::start(KEY).await.unwrap();
    api.add_app("odd", Some("ftp://odd.example.com/"));
    api.add_formation("odd", "web", 1, "Standard-1X");
    let env: Vec<(String, String)> = vec![
        ("HEROKU_API_KEY".into(), KEY.into()),
        ("HEROKU_API_URL".into(), api.url()),
        ("AUTOSCALE_APP".into(), "odd".into()),
        ("AUTOSCALE_SCHEDULE".into(), "00:00=1".into()),
        ("AUTOSCALE_MAX".into(), "2".into()),
        ("AUTOSCALE_CHECK_INTERVAL".into(), "1s".into()),
    ];
    let mut d = Daemon::spawn(&[], &env);
    let off = d
        .wait_for("checks off", Duration::from_secs(15), |l| {
            l.event() == Some("checks_off")
        })
        .await;
    assert_eq!(off.get("reason"), Some("bad_web_url"));
    let start = d
        .wait_for("start", Duration::from_secs(5), |l| {
            l.event() == Some("start")
        })
        .await;
    assert_eq!(start.get("check_url"), Some("off"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(d.events_named("probe").is_empty(), "{}", d.dump());
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(10)).await;
    drop(w);
}

#[tokio::test]
async fn sighup_and_sigusr1_stop_the_daemon_cleanly() {
    for signal in ["HUP", "USR1"] {
        let w = World::new(1).await;
        let mut d = Daemon::spawn(&[], &w.failsafe_env(&[]));
        d.wait_count("probe", 1, Duration::from_secs(15)).await;
        d.signal(signal);
        let status = d.wait_exit(Duration::from_secs(10)).await;
        assert_eq!(status.code(), Some(0), "SIG{signal}\n{}", d.dump());
        let shutdown = &d.events_named("shutdown")[0];
        assert_eq!(
            shutdown.get("signal"),
            Some(format!("SIG{signal}").as_str())
        );
        assert_eq!(shutdown.get("clean"), Some("true"));
    }
}

#[tokio::test]
async fn with_stdout_closed_the_daemon_says_so_once_and_keeps_running() {
    let w = World::new(1).await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_autoscale"))
        .env_clear()
        .envs(w.failsafe_env(&[]))
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Nobody reads standard output any more: every write fails with a broken pipe.
    drop(child.stdout.take());
    until("several checks", Duration::from_secs(15), || {
        w.app.hits() >= 3
    })
    .await;
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("standard output failed"), "{stderr}");
}

#[tokio::test]
async fn urls_with_credentials_are_never_printed_in_clear() {
    let w = World::new(1).await;
    let url = w.app.url().replace("http://", "http://user:pa55word@") + "?key=s3cret";
    let env = w.env_with(&[
        ("AUTOSCALE_CHECK_URL", url.as_str()),
        ("AUTOSCALE_SCHEDULE", "00:00=1"),
        ("AUTOSCALE_MAX", "2"),
    ]);
    let (code, out, err) = output(&["check"], &env).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("?key=***"), "{out}");
    let mut d = Daemon::spawn(&[], &env);
    let start = d
        .wait_for("start", Duration::from_secs(15), |l| {
            l.event() == Some("start")
        })
        .await;
    assert_eq!(
        start.get("check_url"),
        Some(format!("{}?key=***", w.app.url().replace("http://", "http://***@")).as_str())
    );
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(10)).await;
    let (_, help, _) = output(&["run", "--help"], &env).await;
    for text in [out, err, d.dump(), help] {
        assert!(
            !text.contains("pa55word") && !text.contains("s3cret"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn check_runs_every_check_that_does_not_need_the_failed_token() {
    let w = World::new(1).await;
    let hooks = Receiver::start().await.unwrap();
    let env = w.env_with(&[
        ("HEROKU_API_KEY", "not-the-key"),
        ("AUTOSCALE_NOTIFY_WEBHOOK", hooks.url("/hook").as_str()),
    ]);
    let (code, out, err) = output(&["check"], &env).await;
    assert_eq!(code, 1, "{out}{err}");
    for (status, what) in [
        ("failed", "token"),
        ("skipped", "app"),
        ("skipped", "formation"),
        ("ok", "check_url"),
        ("ok", "webhook"),
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(status) && l.contains(what)),
            "no {status} {what} line in\n{out}"
        );
    }
    // Every stdout line is a line of the report: log lines go to stderr.
    for line in out.lines() {
        assert!(!line.starts_with("ts="), "{out}");
    }
    // Without a channel, the report says so.
    let (_, out, _) = output(&["check"], &w.env()).await;
    assert!(
        out.lines()
            .any(|l| l.starts_with("warn") && l.contains("no channel configured")),
        "{out}"
    );
}

#[tokio::test]
async fn small_first_run_things() {
    // plan --next 0 is refused rather than saying "no entry fires again".
    let (code, _, err) = output(&["plan", "--next", "0"], &[]).await;
    assert_eq!(code, 2);
    assert!(
        err.contains("--next") && err.contains("from 1 to 1000"),
        "{err}"
    );
    // demo --output to a place it cannot write fails before the run, not after a minute.
    let started = Instant::now();
    let (code, _, err) = output(&["demo", "--output", "/nonexistent/dir/demo.svg"], &[]).await;
    assert_eq!(code, 2);
    assert!(
        err.contains("--output") && err.contains("cannot write"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // Flags of other subcommands are refused, not ignored.
    let (code, _, err) = output(&["demo", "--max", "3"], &[]).await;
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = output(&["chart", "--heroku-api-key", "x"], &[]).await;
    assert_eq!(code, 2);
    // Hints for near misses.
    let env = vec![("AUTOSCALE_TZ".to_string(), "europe/berlin".to_string())];
    let (code, _, err) = output(&["plan"], &env).await;
    assert_eq!(code, 2);
    assert!(err.contains("did you mean Europe/Berlin?"), "{err}");
    let env = vec![(
        "AUTOSCALE_SCHEDULE".to_string(),
        "07:00=3,22:00=1".to_string(),
    )];
    let (_, _, err) = output(&["plan"], &env).await;
    assert!(err.contains("separated by `;`"), "{err}");
}

#[tokio::test]
async fn a_process_at_zero_on_purpose_does_not_flap() {
    // The schedule asks for 0, the process is at 0 and its check fails (an app with no web
    // dyno answers 503): no scale-out, no flapping.
    let w = World::new(0).await;
    w.app.set_mode(Mode::Status(503)).await.unwrap();
    let mut d = Daemon::spawn(
        &[],
        &w.failsafe_env(&[("AUTOSCALE_SCHEDULE", "00:00=0"), ("AUTOSCALE_MAX", "2")]),
    );
    d.wait_count("probe", 4, Duration::from_secs(15)).await;
    assert!(w.api.patches().is_empty(), "{}", d.dump());
    assert!(
        d.events_named("config_warning")
            .iter()
            .any(|l| l.get("message").is_some_and(|m| m.contains("0 dynos"))),
        "{}",
        d.dump()
    );
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn a_shutdown_during_api_retries_raises_no_alarm() {
    let w = World::new(1).await;
    let hooks = Receiver::start().await.unwrap();
    let mut d = Daemon::spawn(
        &[],
        &w.failsafe_env(&[("AUTOSCALE_NOTIFY_WEBHOOK", hooks.url("/hook").as_str())]),
    );
    d.wait_count("probe", 1, Duration::from_secs(15)).await;
    // The app fails and Heroku is down: the scale-out's read is being retried (the second
    // answer asks for 20 s, so the shutdown surely comes while the retry waits)...
    w.api.fail_next(None, Fault::Unavailable);
    w.api.fail_next(
        None,
        Fault::RateLimited {
            retry_after: Some(20),
        },
    );
    w.app.set_mode(Mode::Status(500)).await.unwrap();
    d.wait_for("a retry", Duration::from_secs(10), |l| {
        l.event() == Some("api_error") && l.get("status") == Some("503")
    })
    .await;
    // ... when the dyno is stopped.
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).await.code(), Some(0));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let kinds: Vec<String> = hooks
        .received()
        .iter()
        .filter_map(|r| serde_json::from_str::<serde_json::Value>(&r.body).ok())
        .map(|v| v["event"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(
        !kinds
            .iter()
            .any(|k| k == "api_failed" || k == "scale_failed"),
        "{kinds:?}\n{}",
        d.dump()
    );
    assert!(d
        .events_named("api_error")
        .iter()
        .any(|l| l.get("id") == Some("cancelled")));
}
