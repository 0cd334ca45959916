//! The dashboard as a person sees it: headless Chromium opens the index and a target's page of
//! a server running in-process over a week of history, and the test reads back the DOM.
//!
//! The browser reaches the server through a small loopback proxy that adds the Basic
//! credentials, as a browser does after its login dialog (a `user:pass@` URL would make the
//! pages' own `fetch` calls fail). Chromium runs in virtual time past the refreshes (30 s for
//! the index, a minute for a target page), so what is checked is what the page drew after
//! fetching its data again. Errors, and anything the Content-Security-Policy blocked, are
//! recorded by the pages in `<html data-errors>`.
//!
//! Screenshots: `SERVE_SCREENSHOTS=DIR cargo test --test serve_browser` writes index.png and
//! target.png there.

mod report_support;
mod serve_support;

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use base64::Engine as _;
use report_support::chromium;
use serve_support::{fill, Server, HOSTILE, PASSWORD};

/// A loopback proxy to `upstream` that adds the Basic credentials to every request.
async fn login_proxy(upstream: String) -> (String, tokio::task::JoinHandle<()>) {
    async fn forward(State(upstream): State<String>, req: Request) -> Response {
        let client = reqwest::Client::new();
        let path = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("me:{PASSWORD}"));
        let answer = client
            .request(req.method().clone(), format!("{upstream}{path}"))
            .header("Authorization", format!("Basic {credentials}"))
            .send()
            .await
            .expect("the dashboard answers");
        let mut response = Response::builder().status(answer.status().as_u16());
        for (name, value) in answer.headers() {
            if name != "content-length" && name != "transfer-encoding" && name != "connection" {
                response = response.header(name.as_str(), value.as_bytes());
            }
        }
        response
            .body(Body::from(answer.bytes().await.unwrap_or_default()))
            .unwrap()
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(forward).with_state(upstream);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, task)
}

/// Chromium's DOM of `url` after `budget_ms` of virtual time (and a screenshot when asked).
fn open(url: &str, budget_ms: u32, screenshot: Option<&str>) -> String {
    if let Err(e) = chromium::binary() {
        panic!("{e}");
    }
    let dir = chromium::temp_dir("serve");
    let budget = format!("--virtual-time-budget={budget_ms}");
    let output = chromium::run(
        &["--window-size=1400,1100", &budget, "--dump-dom", url],
        &dir.join("profile"),
        Duration::from_secs(150),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    if let (Some(name), Ok(out)) = (screenshot, std::env::var("SERVE_SCREENSHOTS")) {
        let file = std::path::Path::new(&out).join(name);
        let shot = format!("--screenshot={}", file.display());
        chromium::run(
            &["--window-size=1400,1100", &budget, &shot, url],
            &dir.join("profile-shot"),
            Duration::from_secs(150),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
    output.stdout
}

fn attribute<'a>(dom: &'a str, name: &str) -> &'a str {
    let key = format!("{name}=\"");
    let start = dom.find(&key).map(|i| i + key.len()).unwrap_or(0);
    let end = dom[start..].find('"').map_or(start, |e| start + e);
    &dom[start..end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_and_a_target_page_are_drawn_refreshed_and_nothing_is_blocked() {
    let history = fill("browser").await;
    let server = Server::start(&history, Some(PASSWORD)).await;
    let (proxy, proxy_task) = login_proxy(server.base.clone()).await;

    // The index, after its 30 s refresh.
    let url = format!("{proxy}/");
    let dom = tokio::task::spawn_blocking(move || open(&url, 35_000, Some("index.png")))
        .await
        .unwrap();
    assert_eq!(
        attribute(&dom, "data-errors"),
        "[]",
        "no error, nothing blocked:\n{dom}"
    );
    assert!(dom.contains("data-rendered=\"ok\""), "{dom}");
    let rows: Vec<&str> = dom
        .match_indices("<tr class=\"")
        .map(|(i, _)| &dom[i + 11..i + 18])
        .collect();
    assert_eq!(rows.len(), 3, "{dom}");
    // The worker's job queue, as text in its row.
    assert!(
        dom.contains("600 waiting, the oldest 45 s; 20 of 20 running; "),
        "{dom}"
    );
    assert!(
        rows[0].starts_with("trouble"),
        "the hostile target's failed check first: {rows:?}"
    );
    // The hostile name is drawn as text: escaped in the DOM, and no script of it ran.
    assert!(
        dom.contains("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;/web"),
        "{dom}"
    );
    assert!(!dom.contains(HOSTILE));
    assert!(dom.contains("href=\"/t/shop/web\""), "{dom}");
    assert!(dom.contains("Updated "), "{dom}");
    assert!(
        !dom.contains("Not updated"),
        "the refresh through the login worked: {dom}"
    );

    // A target's page: the report, refreshed after a minute through its own fetch.
    let url = format!("{proxy}/t/shop/web");
    let dom = tokio::task::spawn_blocking(move || open(&url, 65_000, Some("target.png")))
        .await
        .unwrap();
    assert_eq!(
        attribute(&dom, "data-errors"),
        "[]",
        "no error, nothing blocked by the CSP"
    );
    assert!(dom.contains("data-rendered=\"ok\""));
    for panel in ["summary", "requests", "latency", "busy", "dynos", "heatmap"] {
        assert!(dom.contains(&format!("data-panel=\"{panel}\"")), "{panel}");
    }
    let live = dom.split("id=\"live-state\"").nth(1).unwrap_or("");
    assert!(
        live.contains("updated ") && live.contains("UTC"),
        "the minute's refresh: {}",
        &live[..live.len().min(200)]
    );
    assert!(dom.contains("shop/web: the last 7d"));
    assert!(dom.contains("<a href=\"/\">← all targets</a>"));

    proxy_task.abort();
    server.stop().await;
    history.remove();
}
