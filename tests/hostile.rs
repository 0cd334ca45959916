//! What a hostile tester found (issue 20, "What a hostile tester found"), each as a test that
//! failed before the fix.

mod common;

use std::time::{Duration, Instant};

use common::*;

/// A history value that is not a URL still carries a password: no command echoes it.
#[tokio::test]
async fn a_history_password_is_never_echoed_whatever_the_shape_of_the_value() {
    let w = World::new(1).await;
    for (var, value) in [
        (
            "AUTOSCALE_HISTORY",
            "host=127.0.0.1 password=pgSECRET dbname=x",
        ),
        ("AUTOSCALE_HISTORY", "pgSECRET"),
        ("AUTOSCALE_HISTORY", "postgres://u:pgSECRET@[::1/x"),
        ("DATABASE_URL", "postgres://u:pgSECRET@h.example:99999/x"),
    ] {
        let mut env = w.env_with(&[(var, value)]);
        if var == "DATABASE_URL" {
            env.retain(|(k, _)| k != "AUTOSCALE_HISTORY");
        }
        for args in [
            &[][..],
            &["check"][..],
            &["chart", "--output", "x.svg"][..],
            &["suggest"][..],
            &["replay"][..],
        ] {
            let (code, out, err) = output(args, &env).await;
            let text = format!("{out}{err}");
            assert!(!text.contains("pgSECRET"), "{args:?} {var}={value}: {text}");
            assert_eq!(code, 2, "{args:?} {var}={value}: {text}");
            assert!(text.contains(var), "{args:?}: {text}");
        }
        if var == "AUTOSCALE_HISTORY" {
            let env = w.env_with(&[]);
            let (code, out, err) = output(&["chart", "--history", value], &env).await;
            let text = format!("{out}{err}");
            assert!(!text.contains("pgSECRET"), "--history {value}: {text}");
            assert_eq!(code, 2, "{text}");
        }
    }
}

/// A loopback listener that accepts connections and never answers (a database that hangs).
async fn silent_listener() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    addr
}

/// A history database that never answers delays neither the start line nor the first scaling;
/// the history says it is lost when the connect times out.
#[tokio::test]
async fn an_unreachable_history_database_delays_neither_the_start_nor_scaling() {
    let w = World::new(1).await;
    let db = silent_listener().await;
    let url = format!("postgres://u:pw@{db}/autoscale?sslmode=disable");
    let env = w.env_with(&[
        ("AUTOSCALE_HISTORY", url.as_str()),
        ("AUTOSCALE_SCHEDULE", "00:00=2"),
        ("AUTOSCALE_MAX", "3"),
    ]);
    let began = Instant::now();
    let mut d = Daemon::spawn(&[], &env);
    // The connect times out after 5 s: the start and the scale come well before.
    d.wait_for("start", Duration::from_secs(4), |l| {
        l.event() == Some("start")
    })
    .await;
    d.wait_for("the scale to the floor", Duration::from_secs(4), |l| {
        l.event() == Some("scale") && l.get("to") == Some("2")
    })
    .await;
    assert!(began.elapsed() < Duration::from_secs(4), "{}", d.dump());
    assert_eq!(w.quantity(), 2);
    assert!(d
        .events_named("history")
        .iter()
        .all(|l| l.get("state") != Some("lost")));
    let lost = d
        .wait_for("history lost", Duration::from_secs(15), |l| {
            l.event() == Some("history") && l.get("state") == Some("lost")
        })
        .await;
    assert_eq!(lost.get("reason"), Some("timeout"), "{}", d.dump());
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(10)).await;
    assert!(!d.dump().contains(":pw@"), "{}", d.dump());
}

/// SIGTERM while startup still waits (an API call that hangs, a history connect that hangs)
/// stops the daemon at once, with its shutdown line.
#[tokio::test]
async fn sigterm_during_a_slow_startup_is_honoured_at_once() {
    let w = World::new(1).await;
    let db = silent_listener().await;
    let url = format!("postgres://u:pw@{db}/autoscale?sslmode=disable");
    w.api.fail_next(
        Some("GET"),
        autoscale::sim::Fault::Delay(Duration::from_secs(60)),
    );
    let env = w.env_with(&[("AUTOSCALE_HISTORY", url.as_str())]);
    let mut d = Daemon::spawn(&[], &env);
    until("the first API call", Duration::from_secs(10), || {
        !w.api.requests().is_empty()
    })
    .await;
    let signalled = Instant::now();
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(3)).await;
    assert!(signalled.elapsed() < Duration::from_secs(3));
    assert!(d.events_named("start").is_empty(), "{}", d.dump());
    let shutdown = d.events_named("shutdown");
    assert_eq!(shutdown.len(), 1, "{}", d.dump());
    assert_eq!(shutdown[0].get("signal"), Some("SIGTERM"), "{}", d.dump());
}

/// Control characters from logs, TOML or settings never reach the terminal raw: `chart`,
/// `suggest` and `replay` text, their notes, and configuration errors show them escaped.
#[tokio::test]
async fn control_characters_never_reach_the_terminal() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hostile-esc");
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("esc.log");
    let mut text = String::new();
    for minute in 0..90 {
        text.push_str(&format!(
            "2026-11-30T{:02}:{:02}:10Z heroku[router]: at=info method=GET path=/ host=a\u{1b}[2Jb.example.com dyno=web.1 service=5ms status=200\n",
            10 + minute / 60,
            minute % 60
        ));
    }
    text.push_str("2026-11-30T10:00:00Z app[clock.1]: ts=2026-11-30T10:00:00.000Z level=info event=start app=\"s\\u{1b}[31mhop\" process=web schedule=\"00:00=1\" tz=UTC\n");
    std::fs::write(&log, text).unwrap();
    let toml = dir.join("bad.toml");
    std::fs::write(
        &toml,
        "[[target]]\napp = \"a\\u001b[31mb\"\nprocess = \"w\\u001bb\"\nschedule = \"00:00=1\"\n",
    )
    .unwrap();
    let log = log.to_str().unwrap();
    let svg = dir.join("x.svg");
    let env = vec![("AUTOSCALE_HISTORY".to_owned(), "off".to_owned())];
    let mut with_toml = env.clone();
    with_toml.push(("AUTOSCALE_CONFIG".into(), toml.to_str().unwrap().into()));
    with_toml.push(("HEROKU_API_KEY".into(), KEY.into()));
    for (args, env) in [
        (
            vec!["chart", "--input", log, "--output", svg.to_str().unwrap()],
            &env,
        ),
        (vec!["suggest", "--input", log], &env),
        (vec!["replay", "--input", log], &env),
        (vec!["plan"], &with_toml),
        (vec!["check"], &with_toml),
        (vec!["chart", "--since", "\u{1b}[31m"], &env),
    ] {
        let (_, out, err) = output(&args, env).await;
        let text = format!("{out}{err}");
        assert!(!text.contains('\u{1b}'), "{args:?}: {text:?}");
        assert!(text.contains("\\u{1b}"), "{args:?}: {text:?}");
    }
}

/// A megabyte value (a 1 MB app name, a 1.3 MB `tz`) is refused before parsing: one short line
/// naming the setting, fast (a 1.3 MB `tz` once took 25 s of CPU and a 1 MB app name gave a
/// 2 MB error line).
#[tokio::test]
async fn megabyte_settings_are_refused_at_once_in_one_short_line() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hostile-long");
    std::fs::create_dir_all(&dir).unwrap();
    let app = "a".repeat(1 << 20);
    let tz = "Europe/Berlin".repeat(100_000);
    let cases = [
        (
            format!("[[target]]\napp = \"{app}\"\n"),
            "target 1: app: the value is too long",
        ),
        (
            format!("[[target]]\napp = \"shop\"\ntz = \"{tz}\"\n"),
            "target 1: tz: the value is too long",
        ),
    ];
    for (i, (text, needle)) in cases.into_iter().enumerate() {
        let file = dir.join(format!("long{i}.toml"));
        std::fs::write(&file, text).unwrap();
        let env = vec![
            (
                "AUTOSCALE_CONFIG".to_owned(),
                file.to_str().unwrap().to_owned(),
            ),
            ("AUTOSCALE_HISTORY".to_owned(), "off".to_owned()),
        ];
        for args in [&["plan"][..], &["check"][..], &[][..]] {
            let began = Instant::now();
            let (code, out, err) = output(args, &env).await;
            assert_eq!(code, 2, "{args:?}");
            let text = format!("{out}{err}");
            assert!(text.len() < 500, "{args:?}: {} bytes", text.len());
            assert!(text.contains(needle), "{args:?}: {text}");
            assert!(text.contains("example: "), "{args:?}: {text}");
            assert!(began.elapsed() < Duration::from_secs(5), "{args:?}");
        }
    }
    // Through the environment (a variable holds at most 128 KiB on Linux).
    let w = World::new(1).await;
    let env = w.env_with(&[("AUTOSCALE_TZ", &"Europe/Berlin".repeat(9_000))]);
    let (code, out, err) = output(&["plan"], &env).await;
    assert_eq!(code, 2);
    let text = format!("{out}{err}");
    assert!(text.len() < 500, "{} bytes", text.len());
    assert!(
        text.contains("AUTOSCALE_TZ (--tz): the value is too long"),
        "{text}"
    );
}
