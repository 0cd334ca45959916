use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use chrono::{NaiveDate, TimeZone};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::*;

const GOOGLE_DE: &str = include_str!("../fixtures/google-de.ics");

fn t(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// A loopback feed server; what it answers depends on the path.
struct Server {
    addr: SocketAddr,
    /// Whether `/flaky.ics` answers 200 (else 500).
    flaky_ok: Arc<AtomicBool>,
    requests: Arc<AtomicUsize>,
    accept: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Server {
    async fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let flaky_ok = Arc::new(AtomicBool::new(true));
        let requests = Arc::new(AtomicUsize::new(0));
        let (flaky, count) = (flaky_ok.clone(), requests.clone());
        let accept = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(answer(socket, flaky.load(Ordering::SeqCst)));
            }
        });
        Server {
            addr,
            flaky_ok,
            requests,
            accept,
        }
    }

    fn url(&self, path: &str) -> Url {
        Url::parse(&format!("http://{}{path}", self.addr)).unwrap()
    }
}

async fn answer(mut socket: TcpStream, flaky_ok: bool) {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&request).to_string();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let calendar = GOOGLE_DE.as_bytes().to_vec();
    let _ = match path.as_str() {
        "/ok.ics" => respond(&mut socket, "200 OK", &[], &calendar).await,
        "/flaky.ics" if flaky_ok => respond(&mut socket, "200 OK", &[], &calendar).await,
        "/flaky.ics" => respond(&mut socket, "500 Internal Server Error", &[], b"oops").await,
        "/latin1.ics" => {
            // "Zweiter Weihnachtstag (für alle)" in Latin-1: 0xFC is not UTF-8.
            let text = GOOGLE_DE.replace(
                "Zweiter Weihnachtstag",
                "Zweiter Weihnachtstag (f\u{0}r alle)",
            );
            let bytes: Vec<u8> = text
                .bytes()
                .map(|b| if b == 0 { 0xFC } else { b })
                .collect();
            respond(&mut socket, "200 OK", &[], &bytes).await
        }
        "/binary" => {
            let bytes: Vec<u8> = (0..4096u32).map(|i| (i * 151 % 256) as u8).collect();
            respond(&mut socket, "200 OK", &[], &bytes).await
        }
        "/moved.ics" => {
            let location = "Location: https://user:pw@elsewhere.example/x.ics?token=s3cret";
            respond(&mut socket, "301 Moved Permanently", &[location], b"").await
        }
        "/hang.ics" => {
            // Headers never come; the test's runtime ends this task.
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            Ok(())
        }
        "/huge-declared.ics" => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\nContent-Length: 100000000\r\nConnection: close\r\n\r\n";
            let _ = socket.write_all(head.as_bytes()).await;
            socket.write_all(&calendar).await
        }
        "/huge-stream.ics" => {
            // Chunked and endless (until 64 MiB or the client hangs up).
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
            let mut result = socket.write_all(head.as_bytes()).await;
            let chunk = vec![b' '; 65_536];
            for _ in 0..1024 {
                if result.is_err() {
                    break;
                }
                result = async {
                    socket.write_all(b"10000\r\n").await?;
                    socket.write_all(&chunk).await?;
                    socket.write_all(b"\r\n").await
                }
                .await;
            }
            result
        }
        _ => respond(&mut socket, "404 Not Found", &[], b"no such feed").await,
    };
}

async fn respond(
    socket: &mut TcpStream,
    status: &str,
    headers: &[&str],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/calendar; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    socket.write_all(head.as_bytes()).await?;
    socket.write_all(body).await?;
    socket.shutdown().await
}

fn settings(timeout_ms: u64) -> FetchSettings {
    FetchSettings {
        timeout: Duration::from_millis(timeout_ms),
        connect_timeout: Duration::from_millis(timeout_ms),
        ..FetchSettings::default()
    }
}

fn feeds(fixed: &str, urls: &[Url], tz: Tz, timeout_ms: u64) -> HolidayFeeds {
    let mut text = fixed.to_string();
    for url in urls {
        text.push(',');
        text.push_str(url.as_str());
    }
    let sources = HolidaySources::parse(&text).unwrap();
    HolidayFeeds::new(sources, tz, settings(timeout_ms))
}

#[test]
fn defaults_are_the_documented_ones() {
    assert_eq!(
        FetchSettings::default(),
        FetchSettings {
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_bytes: 2 * 1024 * 1024,
        }
    );
}

#[tokio::test]
async fn a_feed_that_loads_adds_its_holidays_to_the_dates_written_out() {
    let server = Server::start().await;
    let feeds = feeds("2026-12-28", &[server.url("/ok.ics")], chrono_tz::UTC, 5000);
    assert!(feeds.has_feeds());
    // Before the first refresh: the written dates only, and a refresh is due now.
    assert_eq!(
        feeds.snapshot().dates().collect::<Vec<_>>(),
        vec![d(2026, 12, 28)]
    );
    assert_eq!(feeds.statuses()[0].state(), "pending");
    assert_eq!(feeds.next_refresh(), Some(DateTime::<Utc>::MIN_UTC));

    let now = t(2026, 12, 20, 6, 0, 0);
    let statuses = feeds.refresh(now).await;
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].state(), "loaded");
    assert_eq!(statuses[0].failure, None);
    let loaded = statuses[0].loaded.as_ref().unwrap();
    assert_eq!(loaded.at, now);
    assert_eq!(loaded.feed.all_day_events, 21);
    assert_eq!(loaded.feed.holidays.len(), 17);
    assert_eq!(statuses, feeds.statuses());
    let snapshot = feeds.snapshot();
    assert_eq!(snapshot.len(), 18);
    assert!(snapshot.contains(d(2026, 12, 25)));
    assert!(snapshot.contains(d(2026, 12, 28)));
    assert_eq!(
        snapshot
            .upcoming(d(2026, 12, 26))
            .take(3)
            .collect::<Vec<_>>(),
        vec![d(2026, 12, 26), d(2026, 12, 28), d(2026, 12, 31)]
    );
    // Fetched again a day later.
    assert_eq!(feeds.next_refresh(), Some(t(2026, 12, 21, 6, 0, 0)));
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_404_is_a_failure_that_leaves_the_written_dates() {
    let server = Server::start().await;
    let feeds = feeds(
        "2026-12-28",
        &[server.url("/missing.ics")],
        chrono_tz::UTC,
        5000,
    );
    let now = t(2026, 12, 20, 6, 0, 0);
    let statuses = feeds.refresh(now).await;
    assert_eq!(statuses[0].state(), "failed");
    assert_eq!(
        statuses[0].failure,
        Some(Failure {
            at: now,
            error: FetchError::Status { status: 404 }
        })
    );
    assert_eq!(statuses[0].loaded, None);
    assert_eq!(feeds.snapshot().len(), 1);
    // Tried again within the hour, not tomorrow.
    assert_eq!(feeds.next_refresh(), Some(t(2026, 12, 20, 7, 0, 0)));
    assert_eq!(FetchError::Status { status: 404 }.to_string(), "HTTP 404");
}

#[tokio::test]
async fn a_feed_that_never_answers_times_out() {
    let server = Server::start().await;
    let feeds = feeds("", &[server.url("/hang.ics")], chrono_tz::UTC, 300);
    let started = Instant::now();
    let statuses = feeds.refresh(t(2026, 12, 20, 6, 0, 0)).await;
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(250), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    let error = &statuses[0].failure.as_ref().unwrap().error;
    assert!(
        matches!(
            error,
            FetchError::Transport {
                kind: "timeout",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!error.to_string().contains('\n'));
    assert!(feeds.snapshot().is_empty());
}

#[tokio::test]
async fn a_huge_body_is_refused_without_reading_it_all() {
    let server = Server::start().await;
    let feeds = feeds(
        "",
        &[
            server.url("/huge-declared.ics"),
            server.url("/huge-stream.ics"),
        ],
        chrono_tz::UTC,
        10_000,
    );
    let started = Instant::now();
    let statuses = feeds.refresh(t(2026, 12, 20, 6, 0, 0)).await;
    assert!(started.elapsed() < Duration::from_secs(8));
    for status in &statuses {
        assert_eq!(
            status.failure.as_ref().map(|f| &f.error),
            Some(&FetchError::TooLarge {
                cap: ics::MAX_TEXT_BYTES
            }),
            "{status:?}"
        );
    }
    assert_eq!(
        FetchError::TooLarge { cap: 5 }.to_string(),
        "the answer is larger than 5 bytes"
    );
}

#[tokio::test]
async fn a_body_that_is_not_utf8_is_read_leniently_and_garbage_is_not_a_feed() {
    let server = Server::start().await;
    let feeds = feeds(
        "",
        &[server.url("/latin1.ics"), server.url("/binary")],
        chrono_tz::UTC,
        5000,
    );
    let statuses = feeds.refresh(t(2026, 12, 20, 6, 0, 0)).await;
    // The Latin-1 feed's dates are ASCII: all of them load.
    assert_eq!(statuses[0].state(), "loaded", "{:?}", statuses[0]);
    assert_eq!(statuses[0].loaded.as_ref().unwrap().feed.holidays.len(), 17);
    assert_eq!(
        statuses[1].failure.as_ref().unwrap().error,
        FetchError::Ics(IcsError::NotICalendar)
    );
    assert_eq!(
        FetchError::Ics(IcsError::NotICalendar).to_string(),
        "not an iCalendar feed (no BEGIN:VCALENDAR ... END:VCALENDAR)"
    );
    assert_eq!(feeds.snapshot().len(), 17);
}

#[tokio::test]
async fn a_failure_keeps_the_last_good_list_until_the_feed_loads_again() {
    let server = Server::start().await;
    let feeds = feeds("", &[server.url("/flaky.ics")], chrono_tz::UTC, 5000);
    let first = t(2026, 12, 20, 6, 0, 0);
    feeds.refresh(first).await;
    assert_eq!(feeds.snapshot().len(), 17);

    server.flaky_ok.store(false, Ordering::SeqCst);
    let second = t(2026, 12, 21, 6, 0, 0);
    let statuses = feeds.refresh(second).await;
    assert_eq!(statuses[0].state(), "failed");
    assert_eq!(
        statuses[0].failure.as_ref().unwrap().error,
        FetchError::Status { status: 500 }
    );
    // Still the list loaded the day before.
    assert_eq!(statuses[0].loaded.as_ref().unwrap().at, first);
    assert_eq!(feeds.snapshot().len(), 17);
    assert_eq!(feeds.next_refresh(), Some(t(2026, 12, 21, 7, 0, 0)));

    server.flaky_ok.store(true, Ordering::SeqCst);
    let third = t(2026, 12, 21, 7, 0, 0);
    let statuses = feeds.refresh(third).await;
    assert_eq!(statuses[0].state(), "loaded");
    assert_eq!(statuses[0].failure, None);
    assert_eq!(statuses[0].loaded.as_ref().unwrap().at, third);
    assert_eq!(server.requests.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn each_feed_is_kept_on_its_own_and_listed_in_order() {
    let server = Server::start().await;
    let feeds = feeds(
        "2026-12-28",
        &[server.url("/missing.ics"), server.url("/ok.ics")],
        chrono_tz::UTC,
        5000,
    );
    let statuses = feeds.refresh(t(2026, 12, 20, 6, 0, 0)).await;
    let states: Vec<&str> = statuses.iter().map(FeedStatus::state).collect();
    assert_eq!(states, vec!["failed", "loaded"]);
    assert_eq!(statuses[0].url, server.url("/missing.ics"));
    assert_eq!(feeds.snapshot().len(), 18);
    // The failed one is due first.
    assert_eq!(feeds.next_refresh(), Some(t(2026, 12, 20, 7, 0, 0)));
}

#[tokio::test]
async fn redirects_are_reported_with_the_target_redacted() {
    let server = Server::start().await;
    let feeds = feeds("", &[server.url("/moved.ics")], chrono_tz::UTC, 5000);
    let statuses = feeds.refresh(t(2026, 12, 20, 6, 0, 0)).await;
    let error = statuses[0].failure.as_ref().unwrap().error.to_string();
    assert_eq!(
        error,
        "HTTP 301 redirect to https://***@elsewhere.example/x.ics?token=***; set that URL instead"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_refused_connection_is_a_failure() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let url = Url::parse(&format!("http://{addr}/x.ics")).unwrap();
    let feeds = feeds("", &[url], chrono_tz::UTC, 2000);
    let statuses = feeds.refresh(t(2026, 12, 20, 6, 0, 0)).await;
    let error = &statuses[0].failure.as_ref().unwrap().error;
    assert!(
        matches!(
            error,
            FetchError::Transport {
                kind: "connect",
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_window_starts_the_day_before_the_schedules_local_today() {
    // 23:30Z on the 25th is already the 26th in Berlin: the window starts on the 25th there,
    // so the feed's 12-24 is dropped; in UTC it starts on the 24th and keeps it.
    let server = Server::start().await;
    let now = t(2026, 12, 25, 23, 30, 0);
    let berlin = feeds(
        "",
        &[server.url("/ok.ics")],
        chrono_tz::Europe::Berlin,
        5000,
    );
    berlin.refresh(now).await;
    let utc = feeds("", &[server.url("/ok.ics")], chrono_tz::UTC, 5000);
    utc.refresh(now).await;
    assert_eq!(berlin.snapshot().dates().next(), Some(d(2026, 12, 25)));
    assert_eq!(utc.snapshot().dates().next(), Some(d(2026, 12, 24)));
}

#[tokio::test]
async fn no_feeds_means_nothing_to_fetch() {
    let feeds = feeds("2026-12-25", &[], chrono_tz::UTC, 5000);
    assert!(!feeds.has_feeds());
    assert_eq!(feeds.next_refresh(), None);
    assert!(feeds.refresh(t(2026, 12, 20, 6, 0, 0)).await.is_empty());
    assert_eq!(feeds.snapshot().len(), 1);
}

#[tokio::test]
async fn secrets_in_feed_urls_do_not_show_in_debug_or_errors() {
    let server = Server::start().await;
    let mut url = server.url("/missing.ics");
    url.set_query(Some("token=s3cret"));
    url.set_username("user").unwrap();
    url.set_password(Some("s3cret")).unwrap();
    let feeds = feeds("", &[url], chrono_tz::UTC, 5000);
    let statuses = feeds.refresh(t(2026, 12, 20, 6, 0, 0)).await;
    let shown = format!("{feeds:?} {statuses:?} {}", statuses[0].shown_url());
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("/missing.ics"), "{shown}");
    assert_eq!(
        statuses[0].shown_url(),
        format!("http://***@{}/missing.ics?token=***", server.addr)
    );
}
