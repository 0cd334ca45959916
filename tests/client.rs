//! The Heroku client against the loopback fake: each error class, retries, exact requests.

mod common;

use std::time::{Duration, Instant};

use autoscale::heroku::{ApiError, ApiKey, Client, Retry, Update};
use autoscale::sim::Fault;
use autoscale::size::Size;
use common::*;
use tokio_util::sync::CancellationToken;

fn client(w: &World, key: &str) -> Client {
    let retry = Retry {
        attempts: 3,
        base: Duration::from_millis(50),
        max: Duration::from_secs(2),
    };
    Client::new(
        w.api.url().parse().unwrap(),
        &ApiKey::new(key.into()),
        retry,
        CancellationToken::new(),
    )
}

#[tokio::test]
async fn reads_the_app_and_the_formation_of_the_process_not_the_first() {
    let w = World::new(2).await;
    let c = client(&w, KEY);
    let app = c.app(APP).await.unwrap();
    assert_eq!(app.name, APP);
    assert_eq!(app.web_url.as_deref(), Some(w.app.url().as_str()));
    let worker = c.formation(APP, "worker").await.unwrap();
    assert_eq!((worker.process.as_str(), worker.quantity), ("worker", 1));
    let web = c.formation(APP, "web").await.unwrap();
    assert_eq!(
        (web.process.as_str(), web.quantity, web.size.as_str()),
        ("web", 2, "Standard-1X")
    );
    let r = &w.api.requests()[2];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("GET", "/apps/shop-app/formation/web")
    );
    assert_api_headers(r);
    assert_eq!(r.body, "");
}

#[tokio::test]
async fn scale_sends_the_exact_patch() {
    let w = World::new(1).await;
    let f = client(&w, KEY).scale(APP, "web", 4, None).await.unwrap();
    assert_eq!(f.quantity, 4);
    assert_eq!(w.quantity(), 4);
    assert_eq!(w.api.requests().len(), 1);
    assert_scale_request(&w.api.requests()[0], 4);
}

#[tokio::test]
async fn a_size_goes_into_the_patch_single_and_batch_and_heroku_checks_it() {
    let w = World::new(1).await;
    let c = client(&w, KEY);
    let size = |name: &str| Size::parse(name).unwrap();
    let f = c
        .scale(APP, "web", 3, Some(size("performance-m")))
        .await
        .unwrap();
    assert_eq!((f.quantity, f.size.as_str()), (3, "Performance-M"));
    let body: serde_json::Value = serde_json::from_str(&w.api.patches()[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"quantity":3,"size":"performance-m"})
    );
    let updates = [
        Update {
            process: "web".into(),
            quantity: 1,
            size: Some("standard-1x"),
        },
        Update {
            process: "worker".into(),
            quantity: 2,
            size: None,
        },
    ];
    let list = c.scale_batch(APP, &updates).await.unwrap();
    let body: serde_json::Value = serde_json::from_str(&w.api.patches()[1].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"updates":[{"type":"web","quantity":1,"size":"standard-1x"},{"type":"worker","quantity":2}]})
    );
    let sizes: Vec<(&str, u32, &str)> = list
        .iter()
        .map(|f| (f.process.as_str(), f.quantity, f.size.as_str()))
        .collect();
    assert_eq!(
        sizes,
        [("web", 1, "Standard-1X"), ("worker", 2, "Standard-1X")]
    );
    // Eco and Basic run one dyno per process type: refused as Heroku does, nothing changed.
    let e = c.scale(APP, "web", 2, Some(size("eco"))).await.unwrap_err();
    assert_eq!(e.status(), Some(422));
    assert_eq!(
        e.message(),
        "Cannot update to more than 1 Eco size dynos per process type."
    );
    let basic = [Update {
        process: "worker".into(),
        quantity: 3,
        size: Some("basic"),
    }];
    let e = c.scale_batch(APP, &basic).await.unwrap_err();
    assert_eq!(e.status(), Some(422));
    assert!(e.message().contains("more than 1 Basic size"), "{e}");
    assert_eq!(w.api.size(APP, "web").as_deref(), Some("Standard-1X"));
    assert_eq!(w.api.quantity(APP, "worker"), Some(2));
    // An unknown size (only a hand-made request can send one) is refused too.
    let typo = [Update {
        process: "web".into(),
        quantity: 1,
        size: Some("performance-q"),
    }];
    let e = c.scale_batch(APP, &typo).await.unwrap_err();
    assert_eq!(e.status(), Some(422));
    assert_eq!(w.api.size(APP, "web").as_deref(), Some("Standard-1X"));
}

#[tokio::test]
async fn client_errors_are_decoded_and_not_retried() {
    let w = World::new(1).await;
    let e = client(&w, "bad-key").app(APP).await.unwrap_err();
    assert!(
        matches!(&e, ApiError::Status { status: 401, id, message, .. }
        if id == "unauthorized" && message == "Invalid credentials provided."),
        "{e}"
    );
    assert!(e.is_configuration());
    assert_eq!(w.api.requests().len(), 1);

    let c = client(&w, KEY);
    let e = c.app("nope").await.unwrap_err();
    assert!(
        matches!(&e, ApiError::Status { status: 404, id, .. } if id == "not_found"),
        "{e}"
    );
    let e = c.formation(APP, "clock").await.unwrap_err();
    assert_eq!(e.message(), "Couldn't find that formation.");
    w.api.fail_next(None, Fault::Forbidden);
    assert_eq!(c.app(APP).await.unwrap_err().status(), Some(403));
    w.api.fail_next(
        None,
        Fault::Invalid("Cannot update to more than 1 Free size dynos per process type.".into()),
    );
    let e = c.scale(APP, "web", 2, None).await.unwrap_err();
    assert_eq!((e.status(), e.attempts()), (Some(422), 1));
    assert!(!e.is_retryable());
    assert_eq!(
        e.message(),
        "Cannot update to more than 1 Free size dynos per process type."
    );
    // Each of those was one request.
    assert_eq!(w.api.requests().len(), 5);
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_with_backoff() {
    let w = World::new(1).await;
    let c = client(&w, KEY);
    w.api
        .fail_next(None, Fault::RateLimited { retry_after: None });
    w.api.fail_next(None, Fault::ServerError);
    let f = c.formation(APP, "web").await.unwrap();
    assert_eq!(f.quantity, 1);
    let statuses: Vec<u16> = w.api.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 500, 200]);

    // Retry-After is honoured.
    w.api.fail_next(
        None,
        Fault::RateLimited {
            retry_after: Some(1),
        },
    );
    let started = Instant::now();
    c.app(APP).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(950));

    // Bounded: three attempts, then the last error with its attempt count.
    for _ in 0..3 {
        w.api.fail_next(None, Fault::Unavailable);
    }
    let e = c.app(APP).await.unwrap_err();
    assert_eq!((e.status(), e.attempts()), (Some(503), 3));
    assert_eq!(
        e.message(),
        "Service temporarily unavailable. Please try again later."
    );
}

#[tokio::test]
async fn non_json_errors_and_timeouts_are_classified() {
    let w = World::new(1).await;
    let c = client(&w, KEY);
    for _ in 0..3 {
        w.api.fail_next(None, Fault::NonJson(502));
    }
    let e = c.app(APP).await.unwrap_err();
    assert!(
        matches!(&e, ApiError::Status { status: 502, id, .. } if id == "http_502"),
        "{e}"
    );
    assert!(e.message().contains("Application Error"));

    // A delay beyond the client's 20 s total timeout is a transport error, retried.
    let quick = Client::new(
        w.api.url().parse().unwrap(),
        &ApiKey::new(KEY.into()),
        Retry {
            attempts: 1,
            ..Retry::default()
        },
        CancellationToken::new(),
    );
    w.api.fail_next(None, Fault::Delay(Duration::from_secs(25)));
    let started = Instant::now();
    let e = quick.app(APP).await.unwrap_err();
    assert!(
        matches!(
            &e,
            ApiError::Transport {
                kind: "timeout",
                ..
            }
        ),
        "{e}"
    );
    assert!(started.elapsed() < Duration::from_secs(24));
}

#[tokio::test]
async fn connection_refused_is_a_retryable_transport_error() {
    let w = World::new(1).await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let c = Client::new(
        format!("http://{dead}").parse().unwrap(),
        &ApiKey::new(KEY.into()),
        Retry {
            attempts: 2,
            base: Duration::from_millis(10),
            max: Duration::from_millis(10),
        },
        CancellationToken::new(),
    );
    let e = c.app(APP).await.unwrap_err();
    assert!(
        matches!(
            &e,
            ApiError::Transport {
                kind: "connect",
                attempts: 2,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.is_retryable());
    drop(w);
}

#[tokio::test]
async fn cancellation_stops_waiting_between_retries() {
    let w = World::new(1).await;
    let cancel = CancellationToken::new();
    let c = Client::new(
        w.api.url().parse().unwrap(),
        &ApiKey::new(KEY.into()),
        Retry {
            attempts: 3,
            base: Duration::from_secs(30),
            max: Duration::from_secs(30),
        },
        cancel.clone(),
    );
    w.api.fail_next(None, Fault::Unavailable);
    let started = Instant::now();
    let call = tokio::spawn(async move { c.app(APP).await });
    until("the first attempt", Duration::from_secs(5), || {
        !w.api.requests().is_empty()
    })
    .await;
    cancel.cancel();
    let e = call.await.unwrap().unwrap_err();
    // The shutdown cancelled the retry: said as such, so nobody is alerted for it.
    assert!(e.is_cancelled(), "{e:?}");
    assert_eq!(w.api.requests().len(), 1);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn the_fake_requires_the_version_header_like_heroku() {
    let w = World::new(1).await;
    let r = reqwest::Client::new()
        .get(format!("{}/apps/{APP}", w.api.url()))
        .basic_auth("", Some(KEY))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().contains_key("request-id"));
    assert!(r.headers().contains_key("ratelimit-remaining"));
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["id"], "bad_request");
    // Bearer works too, as on Heroku.
    let r = reqwest::Client::new()
        .get(format!("{}/apps/{APP}", w.api.url()))
        .header("accept", "application/vnd.heroku+json; version=3")
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
