//! Shared by the Redis tests: the test server (`AUTOSCALE_TEST_REDIS_URL`, skipped loudly
//! without it unless `AUTOSCALE_REQUIRE_REDIS=1`), and Sidekiq's writes byte for byte — jobs as
//! 7.3 and 8.1 push them, heartbeats, the processed counter.

#![allow(dead_code)] // each test file uses its own part

pub const VAR: &str = "AUTOSCALE_TEST_REDIS_URL";
pub const TLS_VAR: &str = "AUTOSCALE_TEST_REDIS_TLS_URL";

/// The server's URL, or None (skipped loudly) without one.
pub fn server() -> Option<String> {
    url_of(VAR)
}

/// The same server's TLS port (`rediss://`, a self-signed certificate, as Heroku's).
pub fn tls_server() -> Option<String> {
    url_of(TLS_VAR)
}

pub fn url_of(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_owned()),
        _ if std::env::var("AUTOSCALE_REQUIRE_REDIS").as_deref() == Ok("1") => {
            panic!("AUTOSCALE_REQUIRE_REDIS=1 but {var} is unset: run `source .ci/redis`")
        }
        _ => {
            // Straight to stderr: libtest captures `eprintln!` of passing tests, and a skip
            // must be seen.
            static ONCE: std::sync::Once = std::sync::Once::new();
            ONCE.call_once(|| {
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "\n*** queue_sidekiq: the Redis tests are SKIPPED: set {VAR} and {TLS_VAR} (source .ci/redis) ***\n"
                );
            });
            None
        }
    }
}

/// Database `db` of the test server, emptied, and a raw connection to it for writing.
pub async fn database(db: u8) -> Option<(String, redis::aio::MultiplexedConnection)> {
    let url = format!("{}/{db}", server()?.trim_end_matches('/'));
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("FLUSHDB").query_async(&mut c).await.unwrap();
    Some((url, c))
}

pub async fn run(c: &mut redis::aio::MultiplexedConnection, cmd: &mut redis::Cmd) {
    let _: redis::Value = cmd.query_async(c).await.unwrap();
}

/// Sidekiq 7.3's payload: `{"retry"=>true,"queue"=>…}.merge(item)`, then `jid`, `created_at`
/// (`Time.now.to_f`), and `enqueued_at` (`Time.now.to_f`) at the push, as Ruby's JSON writes
/// floats.
pub fn job7(queue: &str, class: &str, jid: &str, created_s: f64, enqueued_s: f64) -> String {
    format!(
        r#"{{"retry":true,"queue":"{queue}","class":"{class}","args":[1,"bob"],"jid":"{jid}","created_at":{created_s:?},"enqueued_at":{enqueued_s:?}}}"#
    )
}

/// Sidekiq 8.1's payload: the same keys, `created_at` and `enqueued_at` in epoch milliseconds
/// (`Process.clock_gettime(CLOCK_REALTIME, :millisecond)`).
pub fn job8(queue: &str, class: &str, jid: &str, created_ms: i64, enqueued_ms: i64) -> String {
    format!(
        r#"{{"retry":true,"queue":"{queue}","class":"{class}","args":[1,"bob"],"jid":"{jid}","created_at":{created_ms},"enqueued_at":{enqueued_ms}}}"#
    )
}

/// `atomic_push`: `SADD queues [queue]`, `LPUSH queue:NAME payloads…`.
pub async fn push(c: &mut redis::aio::MultiplexedConnection, queue: &str, payloads: &[String]) {
    run(c, redis::cmd("SADD").arg("queues").arg(queue)).await;
    run(
        c,
        redis::cmd("LPUSH")
            .arg(format!("queue:{queue}"))
            .arg(payloads),
    )
    .await;
}

/// One heartbeat of a 7.3 process (`launcher.rb`): info JSON with `concurrency`, and the hash's
/// `busy`, `beat`, `rtt_us`, `quiet`, `rss`; 60 s to live.
pub async fn heartbeat7(
    c: &mut redis::aio::MultiplexedConnection,
    dyno: &str,
    busy: u32,
    quiet: bool,
) {
    let identity = format!("{dyno}:4:0f1e2d3c4b5a");
    let info = format!(
        r#"{{"hostname":"{dyno}","started_at":1796637000.123456,"pid":4,"tag":"app","concurrency":10,"queues":["critical","default"],"weights":[{{"critical":0,"default":0}}],"labels":[],"identity":"{identity}","version":"7.3.10","embedded":false}}"#
    );
    run(c, redis::cmd("SADD").arg("processes").arg(&identity)).await;
    run(
        c,
        redis::cmd("HSET")
            .arg(&identity)
            .arg("info")
            .arg(info)
            .arg("busy")
            .arg(busy)
            .arg("beat")
            .arg("1796637598.2345")
            .arg("rtt_us")
            .arg(310)
            .arg("quiet")
            .arg(quiet.to_string())
            .arg("rss")
            .arg(123_456),
    )
    .await;
    run(c, redis::cmd("EXPIRE").arg(&identity).arg(60)).await;
}

/// One heartbeat of an 8.1 process: `concurrency` in the hash, capsules in info.
pub async fn heartbeat8(c: &mut redis::aio::MultiplexedConnection, dyno: &str, busy: u32) {
    let identity = format!("{dyno}:7:a1b2c3d4e5f6");
    let info = format!(
        r#"{{"hostname":"{dyno}","started_at":1796637000.123456,"pid":7,"tag":"app","capsules":{{"default":{{"concurrency":5,"mode":"weighted","weights":{{"default":0}}}}}},"queues":["default"],"weights":[{{"default":0}}],"labels":[],"identity":"{identity}","version":"8.1.7","embedded":false}}"#
    );
    run(c, redis::cmd("SADD").arg("processes").arg(&identity)).await;
    run(
        c,
        redis::cmd("HSET")
            .arg(&identity)
            .arg("info")
            .arg(info)
            .arg("concurrency")
            .arg(5)
            .arg("busy")
            .arg(busy)
            .arg("beat")
            .arg("1796637598.2345")
            .arg("rtt_us")
            .arg(310)
            .arg("quiet")
            .arg("false")
            .arg("rss")
            .arg(123_456),
    )
    .await;
    run(c, redis::cmd("EXPIRE").arg(&identity).arg(60)).await;
}

/// `flush_stats`: `INCRBY stat:processed N`.
pub async fn processed(c: &mut redis::aio::MultiplexedConnection, n: u64) {
    run(c, redis::cmd("INCRBY").arg("stat:processed").arg(n)).await;
}
