//! Alerts over real protocols on loopback: webhook (Slack and JSON), SMTP, Twilio's REST API.

mod common;

use std::time::{Duration, Instant};

use autoscale::sim::{Answer, Mode, Receiver, SmtpSink};
use common::*;

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TWILIO_TOKEN: &str = "twilio-secret-7f3a";
const SMTP_PASSWORD: &str = "smtp-secret-91b2";
const SLACK_PATH: &str = "/services/T0001/B0002/slack-secret-c3d4";

async fn wait_received(r: &Receiver, count: usize, timeout: Duration) {
    until("webhook deliveries", timeout, || {
        r.received().len() >= count
    })
    .await;
}

#[tokio::test]
async fn an_outage_and_its_recovery_reach_slack_and_json_webhooks() {
    let w = World::new(1).await;
    let hooks = Receiver::start().await.unwrap();
    let urls = format!("{},{}", hooks.url(SLACK_PATH), hooks.url("/hooks/ops"));
    let mut d = Daemon::spawn(&[], &w.failsafe_env(&[("AUTOSCALE_NOTIFY_WEBHOOK", &urls)]));
    d.wait_count("probe", 1, Duration::from_secs(15)).await;
    w.app.set_mode(Mode::Status(500)).await.unwrap();
    wait_received(&hooks, 2, Duration::from_secs(10)).await;
    let got = hooks.received();
    let slack = got.iter().find(|r| r.path == SLACK_PATH).expect("slack");
    let json = got.iter().find(|r| r.path == "/hooks/ops").expect("json");
    // Every send happens after the PATCH, never before it.
    let patch = &w.api.patches()[0];
    assert!(slack.at >= patch.at && json.at >= patch.at);

    let body = slack.json().unwrap();
    assert_eq!(
        body.as_object().unwrap().len(),
        1,
        "Slack gets only text: {body}"
    );
    let text = body["text"].as_str().unwrap();
    assert!(
        text.contains("shop-app is down")
            && text.contains("from 1 to 3 dynos")
            && text.contains("HTTP 500"),
        "{text}"
    );
    assert_eq!(slack.header("content-type"), Some("application/json"));

    let body = json.json().unwrap();
    assert_eq!(body["event"], "scale_out");
    assert_eq!(body["app"], "shop-app");
    assert_eq!(body["process"], "web");
    assert_eq!(body["reason"], "down");
    assert_eq!(
        (body["from"].as_u64(), body["to"].as_u64()),
        (Some(1), Some(3))
    );
    assert_eq!(body["status"], "500");
    assert!(body["latency_ms"].is_u64() && body["at"].is_string());
    assert!(body["text"].as_str().unwrap().contains("scaled web out"));

    // Back: one recovery message per hook, then the scale-in (not sent: AUTOSCALE_NOTIFY_ON=trouble).
    w.app.set_mode(Mode::Healthy).await.unwrap();
    d.wait_for("the scale-in", Duration::from_secs(15), |l| {
        l.get("reason") == Some("scale_in")
    })
    .await;
    wait_received(&hooks, 4, Duration::from_secs(5)).await;
    d.wait_more("probe", 2, Duration::from_secs(10)).await;
    let got = hooks.received();
    let events: Vec<String> = got
        .iter()
        .filter(|r| r.path == "/hooks/ops")
        .map(|r| r.json().unwrap()["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(events, ["scale_out", "recovered"], "{}", d.dump());
    assert_eq!(got.len(), 4);
    let notify = d.events_named("notify");
    assert!(notify
        .iter()
        .all(|n| n.get("channel") == Some("webhook") && n.get("result") == Some("ok")));
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).await.code(), Some(0));
}

#[tokio::test]
async fn a_failing_or_hanging_receiver_never_delays_scaling() {
    for answer in [Answer::Hang, Answer::Status(500)] {
        let w = World::new(1).await;
        let hooks = Receiver::start().await.unwrap();
        hooks.set_answer(answer);
        let env = w.failsafe_env(&[("AUTOSCALE_NOTIFY_WEBHOOK", &hooks.url("/hook"))]);
        let mut d = Daemon::spawn(&[], &env);
        d.wait_count("probe", 1, Duration::from_secs(15)).await;
        w.app.set_mode(Mode::Status(500)).await.unwrap();
        until("the scale-out", Duration::from_secs(6), || {
            w.api.patches().len() == 1
        })
        .await;
        wait_received(&hooks, 1, Duration::from_secs(5)).await;
        // While the alert hangs (or fails and waits to retry), scaling goes on at full speed:
        // a hand scale-down is undone by the next check.
        w.api.set_quantity(APP, "web", 1);
        let set = Instant::now();
        until("the second scale-out", Duration::from_secs(10), || {
            w.api.patches().len() == 2
        })
        .await;
        // Within a read (2 s at this budget) and a check (1 s), not after the hook's timeout.
        assert!(
            set.elapsed() < Duration::from_secs(5),
            "{answer:?}: {:?}",
            set.elapsed()
        );
        let patches = w.api.patches();
        let get_before = w
            .api
            .requests()
            .into_iter()
            .rfind(|r| r.method == "GET" && r.at < patches[1].at)
            .unwrap();
        // Every PATCH follows a read under a second old.
        assert!(patches[1].at - get_before.at < Duration::from_millis(1500));
        if answer == Answer::Status(500) {
            d.wait_for("the failed send", Duration::from_secs(10), |l| {
                l.event() == Some("notify") && l.get("result") == Some("error")
            })
            .await;
            assert!(hooks.received().len() >= 2, "one retry");
        }
        d.signal("TERM");
        let sent = Instant::now();
        assert_eq!(d.wait_exit(Duration::from_secs(10)).await.code(), Some(0));
        // A hanging alert gets a short grace at shutdown, not the full budget.
        assert!(
            sent.elapsed() < Duration::from_secs(5),
            "{:?}",
            sent.elapsed()
        );
    }
}

#[tokio::test]
async fn email_goes_through_a_real_smtp_conversation() {
    let w = World::new(1).await;
    let sink = SmtpSink::start().await.unwrap();
    let env = w.failsafe_env(&[
        (
            "AUTOSCALE_NOTIFY_SMTP_URL",
            &sink.url(Some(("apikey", SMTP_PASSWORD))),
        ),
        ("AUTOSCALE_NOTIFY_EMAIL_FROM", "autoscale@shop.example"),
        (
            "AUTOSCALE_NOTIFY_EMAIL_TO",
            "oncall@shop.example, cto@shop.example",
        ),
    ]);
    let mut d = Daemon::spawn(&[], &env);
    d.wait_count("probe", 1, Duration::from_secs(15)).await;
    w.app.set_mode(Mode::Closed).await.unwrap();
    until("an email", Duration::from_secs(10), || {
        !sink.mails().is_empty()
    })
    .await;
    let mail = &sink.mails()[0];
    assert_eq!(mail.from, "autoscale@shop.example");
    assert_eq!(mail.to, ["oncall@shop.example", "cto@shop.example"]);
    assert_eq!(
        mail.auth.as_deref(),
        Some(format!("apikey:{SMTP_PASSWORD}").as_str())
    );
    let subject = mail.header("subject").unwrap();
    assert_eq!(subject, "[autoscale] shop-app is down: scaled web out to 3");
    assert!(mail
        .header("from")
        .unwrap()
        .contains("autoscale@shop.example"));
    assert!(mail.header("to").unwrap().contains("cto@shop.example"));
    let body = mail.body();
    assert!(
        body.contains("autoscale scaled web out from 1 to 3 dynos"),
        "{body}"
    );
    assert!(body.contains("event: scale_out"), "{body}");
    let n = d
        .wait_for("notify", Duration::from_secs(5), |l| {
            l.event() == Some("notify")
        })
        .await;
    assert_eq!(
        (n.get("channel"), n.get("result")),
        (Some("email"), Some("ok"))
    );
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn sms_posts_the_twilio_form_with_basic_auth_to_every_recipient() {
    let w = World::new(1).await;
    let twilio = Receiver::start().await.unwrap();
    let env = w.failsafe_env(&[
        ("AUTOSCALE_NOTIFY_TWILIO_URL", &twilio.url("")),
        ("AUTOSCALE_NOTIFY_TWILIO_SID", SID),
        ("AUTOSCALE_NOTIFY_TWILIO_TOKEN", TWILIO_TOKEN),
        ("AUTOSCALE_NOTIFY_SMS_FROM", "+15005550006"),
        ("AUTOSCALE_NOTIFY_SMS_TO", "+14155550100,+14155550101"),
    ]);
    let mut d = Daemon::spawn(&[], &env);
    d.wait_count("probe", 1, Duration::from_secs(15)).await;
    w.app.set_mode(Mode::Hang).await.unwrap();
    until("two SMS", Duration::from_secs(10), || {
        twilio.received().len() >= 2
    })
    .await;
    use base64::Engine as _;
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TWILIO_TOKEN}"))
    );
    for (r, to) in twilio
        .received()
        .iter()
        .zip(["+14155550100", "+14155550101"])
    {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, format!("/2010-04-01/Accounts/{SID}/Messages.json"));
        assert_eq!(r.header("authorization"), Some(auth.as_str()));
        assert_eq!(
            r.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        let form = r.form();
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("To"), Some(to));
        assert_eq!(get("From"), Some("+15005550006"));
        let body = get("Body").unwrap();
        assert!(
            body.starts_with("[autoscale] shop-app is down (timeout"),
            "{body}"
        );
    }
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn one_outage_of_ten_failed_checks_sends_one_down_and_one_still_down() {
    let w = World::new(1).await;
    let hooks = Receiver::start().await.unwrap();
    let env = w.failsafe_env(&[("AUTOSCALE_NOTIFY_WEBHOOK", &hooks.url("/hook"))]);
    let mut d = Daemon::spawn(&[], &env);
    d.wait_count("probe", 1, Duration::from_secs(15)).await;
    w.app.set_mode(Mode::Status(503)).await.unwrap();
    d.wait_for("ten failed checks", Duration::from_secs(25), |_| {
        d_downs(&d) >= 10
    })
    .await;
    // Let any send still in flight land before counting.
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline && d.events_named("notify").len() < hooks.received().len() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let events: Vec<String> = hooks
        .received()
        .iter()
        .map(|r| r.json().unwrap()["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(events, ["scale_out", "still_unhealthy"], "{}", d.dump());
    let still = hooks.received()[1].json().unwrap();
    assert!(
        still["text"]
            .as_str()
            .unwrap()
            .contains("Scaling out did not help"),
        "{still}"
    );
    assert_eq!(still["to"], 3);
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(10)).await;
}

fn d_downs(d: &Daemon) -> usize {
    d.events_named("probe")
        .iter()
        .filter(|p| p.get("outcome") == Some("down"))
        .count()
}

#[tokio::test]
async fn alert_secrets_never_appear_in_output_at_trace() {
    let w = World::new(1).await;
    let hooks = Receiver::start().await.unwrap();
    hooks.set_answer(Answer::Status(500));
    let sink = SmtpSink::start().await.unwrap();
    let env = w.failsafe_env(&[
        ("AUTOSCALE_LOG", "trace"),
        ("AUTOSCALE_NOTIFY_WEBHOOK", &hooks.url(SLACK_PATH)),
        (
            "AUTOSCALE_NOTIFY_SMTP_URL",
            &sink.url(Some(("apikey", SMTP_PASSWORD))),
        ),
        ("AUTOSCALE_NOTIFY_EMAIL_FROM", "autoscale@shop.example"),
        ("AUTOSCALE_NOTIFY_EMAIL_TO", "oncall@shop.example"),
        ("AUTOSCALE_NOTIFY_TWILIO_URL", &hooks.url("")),
        ("AUTOSCALE_NOTIFY_TWILIO_SID", SID),
        ("AUTOSCALE_NOTIFY_TWILIO_TOKEN", TWILIO_TOKEN),
        ("AUTOSCALE_NOTIFY_SMS_FROM", "+15005550006"),
        ("AUTOSCALE_NOTIFY_SMS_TO", "+14155550100"),
    ]);
    let (code, out, err) = output(&["check"], &env).await;
    assert_eq!(code, 0, "{out}{err}");
    for channel in ["webhook", "email", "sms"] {
        assert!(
            out.lines()
                .any(|l| l.starts_with("ok") && l.contains(channel)),
            "{channel}: {out}"
        );
    }
    let (code, test_out, test_err) = output(&["notify-test"], &env).await;
    assert_eq!(code, 1, "the webhook answers 500: {test_out}{test_err}");
    assert!(
        test_out
            .lines()
            .any(|l| l.starts_with("ok") && l.contains("email")),
        "{test_out}"
    );
    assert!(
        test_out
            .lines()
            .any(|l| l.starts_with("failed") && l.contains("webhook")),
        "{test_out}"
    );

    let mut d = Daemon::spawn(&[], &env);
    d.wait_count("probe", 1, Duration::from_secs(15)).await;
    w.app.set_mode(Mode::Status(500)).await.unwrap();
    d.wait_for("failed sends", Duration::from_secs(15), |l| {
        l.event() == Some("notify") && l.get("result") == Some("error")
    })
    .await;
    until("the email", Duration::from_secs(10), || {
        sink.mails().len() >= 2
    })
    .await;
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(10)).await;
    let all = format!("{out}{err}{test_out}{test_err}{}", d.dump());
    for secret in [TWILIO_TOKEN, SMTP_PASSWORD, "slack-secret-c3d4", KEY] {
        assert!(!all.contains(secret), "{secret} leaked");
    }
}

#[tokio::test]
async fn a_start_without_checks_is_reported() {
    let w = World::new(1).await;
    let hooks = Receiver::start().await.unwrap();
    let env = w.failsafe_env(&[
        ("AUTOSCALE_NOTIFY_WEBHOOK", &hooks.url("/hook")),
        ("AUTOSCALE_CHECK_URL", "off"),
        ("AUTOSCALE_SCALE_IN_AFTR", "5"),
    ]);
    let mut d = Daemon::spawn(&[], &env);
    wait_received(&hooks, 1, Duration::from_secs(15)).await;
    let body = hooks.received()[0].json().unwrap();
    assert_eq!(body["event"], "risky_start");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("health checks are off"), "{message}");
    assert!(
        message.contains("AUTOSCALE_SCALE_IN_AFTR") && message.contains("AUTOSCALE_SCALE_IN_AFTER"),
        "{message}"
    );
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn notify_on_all_sends_every_scale() {
    let w = World::new(1).await;
    let hooks = Receiver::start().await.unwrap();
    let env = w.env_with(&[
        ("AUTOSCALE_SCHEDULE", "00:00=2"),
        ("AUTOSCALE_CHECK_URL", "off"),
        ("AUTOSCALE_NOTIFY_WEBHOOK", &hooks.url("/hook")),
        ("AUTOSCALE_NOTIFY_ON", "all"),
    ]);
    let mut d = Daemon::spawn(&[], &env);
    until("two alerts", Duration::from_secs(15), || {
        hooks.received().len() >= 2
    })
    .await;
    let events: Vec<String> = hooks
        .received()
        .iter()
        .map(|r| r.json().unwrap()["event"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        events.contains(&"scale".to_string()) && events.contains(&"risky_start".to_string()),
        "{events:?}"
    );
    let scale = hooks
        .received()
        .into_iter()
        .find(|r| r.json().unwrap()["event"] == "scale")
        .unwrap();
    assert_eq!(scale.json().unwrap()["reason"], "startup");
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn an_outage_already_at_the_maximum_is_reported_at_once_and_a_blip_is_not_news() {
    // The schedule's quantity is the maximum (the default AUTOSCALE_MAX): nothing to scale out to.
    let w = World::new(3).await;
    let hooks = Receiver::start().await.unwrap();
    let env = w.failsafe_env(&[
        ("AUTOSCALE_SCHEDULE", "00:00=3"),
        ("AUTOSCALE_SCALE_OUT_AFTER", "2"),
        ("AUTOSCALE_NOTIFY_WEBHOOK", &hooks.url("/hook")),
    ]);
    let mut d = Daemon::spawn(&[], &env);
    d.wait_count("probe", 1, Duration::from_secs(15)).await;
    // One failed check (below AUTOSCALE_SCALE_OUT_AFTER): no alert, and no "recovered" either.
    d.one_failed_check(&w).await;
    d.wait_more("probe", 2, Duration::from_secs(10)).await;
    assert!(hooks.received().is_empty(), "{:?}", hooks.received());
    // A real outage at the maximum: told at the second check, not three checks later.
    w.app.set_mode(Mode::Status(500)).await.unwrap();
    wait_received(&hooks, 1, Duration::from_secs(6)).await;
    let body = hooks.received()[0].json().unwrap();
    assert_eq!(body["event"], "down_at_max", "{body}");
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .contains("nothing to scale out to"),
        "{body}"
    );
    assert!(w.api.patches().is_empty());
    w.app.set_mode(Mode::Healthy).await.unwrap();
    wait_received(&hooks, 2, Duration::from_secs(6)).await;
    assert_eq!(hooks.received()[1].json().unwrap()["event"], "recovered");
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn a_revoked_token_is_reported() {
    let w = World::new(1).await;
    let hooks = Receiver::start().await.unwrap();
    let env = w.failsafe_env(&[("AUTOSCALE_NOTIFY_WEBHOOK", &hooks.url("/hook"))]);
    let mut d = Daemon::spawn(&[], &env);
    d.wait_count("probe", 1, Duration::from_secs(15)).await;
    // The token is revoked while the daemon runs: every call now gets 401.
    for _ in 0..50 {
        w.api.fail_next(None, autoscale::sim::Fault::Unauthorized);
    }
    wait_received(&hooks, 1, Duration::from_secs(6)).await;
    let body = hooks.received()[0].json().unwrap();
    assert_eq!(body["event"], "api_failed");
    assert_eq!(body["status"], "401");
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .contains("Invalid credentials provided."),
        "{body}"
    );
    // Throttled: further checks fail the same way without another alert.
    let seen = d.events_named("api_error").len();
    until("more failing checks", Duration::from_secs(6), || {
        d.events_named("api_error").len() >= seen + 2
    })
    .await;
    assert_eq!(hooks.received().len(), 1);
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).await.code(), Some(0));
}

#[tokio::test]
async fn a_bad_token_at_startup_exits_1_and_is_reported() {
    let w = World::new(1).await;
    let hooks = Receiver::start().await.unwrap();
    let env = w.failsafe_env(&[
        ("AUTOSCALE_NOTIFY_WEBHOOK", &hooks.url("/hook")),
        ("HEROKU_API_KEY", "revoked"),
    ]);
    let mut d = Daemon::spawn(&[], &env);
    assert_eq!(d.wait_exit(Duration::from_secs(15)).await.code(), Some(1));
    let got = hooks.received();
    assert_eq!(got.len(), 1, "{}", d.dump());
    assert_eq!(got[0].json().unwrap()["event"], "api_failed");
}
