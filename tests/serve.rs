//! `autoscale serve`, the dashboard: the server in-process on 127.0.0.1 over a history the real
//! writer filled (SQLite in a temp dir; Postgres too when `AUTOSCALE_TEST_POSTGRES_URL` names a
//! cluster), asked with reqwest — login, headers, escaping of hostile names, `?since` bounds,
//! an unreachable history and its recovery — and the binary's own refusals. The pages drawn in
//! headless Chromium are in `serve_browser.rs`.

mod serve_support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serve_support::{fill, Server, HOSTILE, PASSWORD};

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The headers every answer carries, whatever its status.
fn assert_guarded(r: &reqwest::Response, what: &str) {
    assert_eq!(header(r, "cache-control"), "no-store", "{what}");
    assert_eq!(header(r, "x-frame-options"), "DENY", "{what}");
    assert_eq!(header(r, "x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header(r, "referrer-policy"), "no-referrer", "{what}");
    let csp = header(r, "content-security-policy");
    assert!(
        csp.starts_with("default-src 'none'; script-src 'self' 'sha256-"),
        "{what}: {csp}"
    );
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe"),
        "{what}: {csp}"
    );
}

#[tokio::test]
async fn every_page_but_healthz_needs_the_password_and_wrong_guesses_are_slowed() {
    let history = fill("login").await;
    let server = Server::start(&history, Some(PASSWORD)).await;

    let r = server.get("/healthz", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_guarded(&r, "/healthz");
    assert_eq!(r.text().await.unwrap(), "ok\n", "no data on /healthz");

    for path in [
        "/",
        "/api/targets",
        "/t/shop/web",
        "/t/shop/web/data.json",
        "/assets/dashboard.js",
        "/nowhere",
    ] {
        let r = server.get(path, None).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(
            header(&r, "www-authenticate"),
            "Basic realm=\"autoscale\", charset=\"UTF-8\""
        );
        assert_guarded(&r, path);
        let body = r.text().await.unwrap();
        assert!(
            !body.contains("shop"),
            "{path}: nothing of the history before the login"
        );
    }

    // Wrong passwords from one client: each answer later than the one before (250 ms, 500 ms).
    let started = Instant::now();
    let r = server
        .get_as("/", Some(("me", "wrong")), Some("9.9.9.9, 1.2.3.4"))
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let first = started.elapsed();
    let started = Instant::now();
    let r = server
        .get_as("/", Some(("me", "wrong again")), Some("1.2.3.4"))
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let second = started.elapsed();
    assert!(first >= Duration::from_millis(240), "{first:?}");
    assert!(
        second >= Duration::from_millis(490),
        "{second:?}: slower each time"
    );
    // Only the router's last hop counts: the same client behind a forged first address is
    // still slowed.
    let started = Instant::now();
    let r = server
        .get_as("/", Some(("me", "third")), Some("6.6.6.6, 1.2.3.4"))
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        started.elapsed() >= Duration::from_millis(990),
        "{:?}",
        started.elapsed()
    );

    // The password, with any user name.
    for user in ["", "anyone"] {
        let r = server
            .get_as("/", Some((user, PASSWORD)), Some("1.2.3.4"))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_guarded(&r, "/ with the password");
        assert_eq!(header(&r, "content-type"), "text/html; charset=utf-8");
    }
    server.stop().await;
    history.remove();
}

#[tokio::test]
async fn the_index_lists_every_target_worst_first_and_hostile_names_stay_text() {
    let history = fill("index").await;
    let server = Server::start(&history, Some(PASSWORD)).await;
    let auth = Some(("", PASSWORD));

    let r = server.get("/api/targets", auth).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-type"), "application/json");
    let text = r.text().await.unwrap();
    assert!(
        !text.contains("</script"),
        "escaped for a script element: {text}"
    );
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let rows = json["targets"].as_array().unwrap();
    let names: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["app"].as_str().unwrap(),
                r["process"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![
            format!("{HOSTILE}/web"),
            "shop/web".to_owned(),
            "shop/worker".to_owned()
        ],
        "trouble first, then by name"
    );
    let worker = &rows[2];
    assert_eq!(worker["queue"]["depth"], 600);
    assert_eq!(worker["queue"]["latency_ms"], 45_000);
    assert_eq!(worker["queue"]["capacity"], 20);
    assert_eq!(worker["quantity"], 2);
    let hostile = &rows[0];
    assert_eq!(hostile["level"], "trouble");
    assert_eq!(hostile["check"][0], "down");
    assert_eq!(hostile["last_scale"]["reason"], HOSTILE);
    let shop = &rows[1];
    assert_eq!(shop["quantity"], 3);
    assert_eq!(shop["stream"], "live");
    assert_eq!(shop["last_scale"]["reason"], "schedule");

    let page = server.get("/", auth).await.text().await.unwrap();
    assert!(
        !page.contains(HOSTILE),
        "the hostile name never appears raw"
    );
    assert!(
        page.contains("\\u003c/script\\u003e\\u003cscript\\u003e"),
        "it is there, escaped"
    );
    assert_eq!(
        page.matches("<script").count(),
        2,
        "the data and dashboard.js, nothing more"
    );

    let report = server.get("/t/shop/web", auth).await;
    assert_eq!(report.status(), StatusCode::OK);
    let html = report.text().await.unwrap();
    assert!(html.contains("data-live=\"/t/shop/web/data.json?since=7d\""));
    assert!(
        html.contains("<a href=\"/t/shop/web?since=1h\">1h</a>")
            && html.contains("<strong>7d</strong>")
    );
    assert!(html.contains("\"app\":\"shop\""));

    // The hostile target's own page: its name and reason are text in the page and in its URL.
    let path = format!("/t/{}/web", urlencode(HOSTILE));
    let page = server.get(&path, auth).await;
    assert_eq!(page.status(), StatusCode::OK, "{path}");
    let html = page.text().await.unwrap();
    assert!(!html.contains(HOSTILE), "raw in the target page");
    assert!(
        html.contains("&lt;/script&gt;&lt;script&gt;"),
        "escaped in the title"
    );
    server.stop().await;
    history.remove();
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_target_page_takes_a_bounded_range_and_unknown_targets_are_404() {
    let history = fill("since").await;
    let server = Server::start(&history, Some(PASSWORD)).await;
    let auth = Some(("", PASSWORD));
    for (query, status) in [
        ("", StatusCode::OK),
        ("?since=1h", StatusCode::OK),
        ("?since=1d", StatusCode::OK),
        ("?since=35d", StatusCode::OK),
        ("?since=36d", StatusCode::BAD_REQUEST),
        ("?since=10s", StatusCode::BAD_REQUEST),
        ("?since=soon", StatusCode::BAD_REQUEST),
    ] {
        let r = server.get(&format!("/t/shop/web{query}"), auth).await;
        assert_eq!(r.status(), status, "{query}");
        assert_guarded(&r, query);
        let data = server
            .get(&format!("/t/shop/web/data.json{query}"), auth)
            .await;
        assert_eq!(data.status(), status, "data.json{query}");
    }
    // An hour of data has an hour of minutes; the week has them all.
    let minutes = |json: serde_json::Value| {
        json["targets"][0]["minutes"]["requests"]
            .as_array()
            .unwrap()
            .len()
    };
    let hour = server
        .get("/t/shop/web/data.json?since=1h", auth)
        .await
        .json()
        .await
        .unwrap();
    let week = server
        .get("/t/shop/web/data.json", auth)
        .await
        .json()
        .await
        .unwrap();
    let (hour, week) = (minutes(hour), minutes(week));
    assert!((59..=61).contains(&hour), "{hour}");
    assert!(week > 10_000, "{week}");

    let r = server.get("/t/nobody/web", auth).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("nothing about nobody/web"));
    let r = server.get("/nowhere", auth).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = server.post("/", auth).await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    server.stop().await;
    history.remove();
}

#[tokio::test]
async fn an_unreachable_history_is_a_clear_503_and_the_dashboard_recovers() {
    let history = serve_support::Dir::new("unreachable");
    let server = Server::start(&history, Some(PASSWORD)).await;
    let auth = Some(("", PASSWORD));
    assert_eq!(
        server.get("/healthz", None).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    let r = server.get("/", auth).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_guarded(&r, "503");
    let page = r.text().await.unwrap();
    assert!(page.contains("The history cannot be read"), "{page}");
    assert!(
        page.contains("http-equiv=\"refresh\" content=\"30\""),
        "it tries again by itself"
    );
    let r = server.get("/api/targets", auth).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("the history cannot be read"));

    // The daemon starts writing: the same server answers, no restart.
    serve_support::write_week(&history.url()).await;
    assert_eq!(server.get("/healthz", None).await.status(), StatusCode::OK);
    let r = server.get("/api/targets", auth).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("\"shop\""));
    server.stop().await;
    history.remove();
}

/// The figures of the README: the index and a week of one target, from SQLite and (when a
/// cluster is given) Postgres, each asked 20 times at once too. Printed, not asserted: speed is
/// measured in benchmarks (see README, "Speed and memory").
#[tokio::test]
async fn answer_times_of_the_index_and_a_week_are_measured() {
    let sqlite = fill("timing").await;
    measure("SQLite", &sqlite.url()).await;
    sqlite.remove();
    if let Some(pg) = serve_support::postgres("timing").await {
        serve_support::write_week(&pg.url()).await;
        measure("Postgres", &pg.url()).await;
        pg.remove().await;
    }
}

async fn measure(name: &str, url: &autoscale::history::StoreUrl) {
    let server = Server::start(url, Some(PASSWORD)).await;
    let auth = Some(("", PASSWORD));
    for path in ["/", "/t/shop/web"] {
        let mut best = Duration::MAX;
        for _ in 0..3 {
            // The index is cached for 10 s; measure it uncached.
            server.forget_index().await;
            let started = Instant::now();
            let r = server.get(path, auth).await;
            assert_eq!(r.status(), StatusCode::OK);
            let _ = r.bytes().await.unwrap();
            best = best.min(started.elapsed());
        }
        server.forget_index().await;
        let started = Instant::now();
        let all: Vec<_> = (0..20).map(|_| server.get(path, auth)).collect();
        for r in futures_util::future::join_all(all).await {
            assert_eq!(r.status(), StatusCode::OK);
            let _ = r.bytes().await.unwrap();
        }
        eprintln!(
            "serve timing: {name} {path}: {} ms alone, 20 at once in {} ms",
            best.as_millis(),
            started.elapsed().as_millis()
        );
    }
    server.stop().await;
}

#[test]
fn the_binary_refuses_to_serve_without_a_password_except_on_loopback() {
    let bin = env!("CARGO_BIN_EXE_autoscale");
    let dir = serve_support::Dir::new("binary");
    let run = |envs: &[(&str, &str)]| {
        let mut command = std::process::Command::new(bin);
        command.arg("serve").env_clear();
        if !envs.iter().any(|(k, _)| *k == "DYNO") {
            command.env("AUTOSCALE_HISTORY", dir.url_text());
        }
        command
            .envs(envs.iter().copied())
            .current_dir(&dir.path)
            .output()
            .unwrap()
    };
    let out = run(&[("PORT", "5999")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: AUTOSCALE_DASHBOARD_PASSWORD (--password): is not set, and the dashboard would listen on 0.0.0.0"), "{err}");
    assert!(
        err.contains("example: AUTOSCALE_DASHBOARD_PASSWORD="),
        "{err}"
    );

    let out = run(&[("PORT", "5999"), ("AUTOSCALE_DASHBOARD_PASSWORD", "short")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("shorter than 12 characters") && !err.contains("short\""),
        "{err}"
    );

    let out = run(&[("PORT", "70000"), ("AUTOSCALE_DASHBOARD_BIND", "127.0.0.1")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PORT (--port)=\"70000\": not a port"));

    let out = run(&[("AUTOSCALE_DASHBOARD_BIND", "localhost")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("AUTOSCALE_DASHBOARD_BIND (--bind)=\"localhost\": not an IP address"));

    // On a dyno without DATABASE_URL there is no history to show.
    let out = run(&[
        ("DYNO", "web.1"),
        ("AUTOSCALE_DASHBOARD_PASSWORD", PASSWORD),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: AUTOSCALE_HISTORY (--history): the dashboard shows the history"),
        "{err}"
    );
    dir.remove();
}

#[test]
fn the_binary_serves_on_loopback_without_a_password_and_stops_on_sigterm() {
    let dir = serve_support::Dir::new("loopback");
    let port = serve_support::free_port();
    let mut child = spawn_serve(&dir, port, &[]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        match serve_support::status_of(port, "/healthz") {
            Ok(status) => break status,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("serve never answered: {e}"),
        }
    };
    assert_eq!(status, 503, "no history file yet");
    assert_eq!(
        serve_support::status_of(port, "/").unwrap(),
        503,
        "no login asked on loopback"
    );
    kill_term(child.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code, Some(0));
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("listening on http://127.0.0.1:{port}")),
        "{stdout}"
    );
    assert!(stdout.contains("login: none (loopback only)"), "{stdout}");
    dir.remove();
}

#[test]
fn the_binary_never_prints_the_password() {
    let dir = serve_support::Dir::new("password");
    let port = serve_support::free_port();
    let mut child = spawn_serve(&dir, port, &[("AUTOSCALE_DASHBOARD_PASSWORD", PASSWORD)]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while serve_support::status_of(port, "/").is_err() {
        assert!(Instant::now() < deadline, "serve never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        serve_support::status_of(port, "/").unwrap(),
        401,
        "a password asks for it"
    );
    kill_term(child.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains("login: password (AUTOSCALE_DASHBOARD_PASSWORD)"),
        "{all}"
    );
    assert!(!all.contains(PASSWORD) && !all.contains("battery"), "{all}");
    dir.remove();
}

/// `autoscale serve` on 127.0.0.1:`port` over `dir`'s history, with `envs` besides.
fn spawn_serve(dir: &serve_support::Dir, port: u16, envs: &[(&str, &str)]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_autoscale"))
        .arg("serve")
        .env_clear()
        .env("AUTOSCALE_HISTORY", dir.url_text())
        .env("AUTOSCALE_DASHBOARD_BIND", "127.0.0.1")
        .env("PORT", port.to_string())
        .envs(envs.iter().copied())
        .current_dir(&dir.path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn kill_term(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
}
