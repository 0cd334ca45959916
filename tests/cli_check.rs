//! `autoscale check`, configuration errors, `plan`, and the secret never printed.

mod common;

use std::time::Duration;

use autoscale::sim::Fault;
use common::*;

#[tokio::test]
async fn check_passes_against_a_healthy_setup() {
    let w = World::new(2).await;
    let (code, out, err) = output(&["check"], &w.env()).await;
    assert_eq!(code, 0, "{out}\n{err}");
    for (status, what) in [
        ("ok", "configuration"),
        ("ok", "token"),
        ("ok", "app"),
        ("ok", "formation"),
        ("ok", "check_url"),
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(status) && l.contains(what)),
            "no {status} {what} line in\n{out}"
        );
    }
    assert!(out.contains("web: 2 × Standard-1X"), "{out}");
    assert!(out.contains("answered 200"), "{out}");
    // It made real calls, with the contract's headers.
    let paths: Vec<String> = w.api.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        ["/account", "/apps/shop-app", "/apps/shop-app/formation"]
    );
    for r in w.api.requests() {
        assert_api_headers(&r);
    }
    assert!(w.app.hits() >= 1);
}

#[tokio::test]
async fn check_reports_a_bad_token_with_exit_1() {
    let w = World::new(1).await;
    let env = w.env_with(&[("HEROKU_API_KEY", "wrong-token")]);
    let (code, out, _) = output(&["check"], &env).await;
    assert_eq!(code, 1, "{out}");
    let line = out.lines().find(|l| l.starts_with("failed")).expect(&out);
    assert!(
        line.contains("token") && line.contains("401") && line.contains("unauthorized"),
        "{line}"
    );
    assert!(!out.contains("wrong-token"), "{out}");
}

#[tokio::test]
async fn check_names_an_unknown_app_and_a_missing_process() {
    let w = World::new(1).await;
    let (code, out, _) = output(&["check"], &w.env_with(&[("AUTOSCALE_APP", "no-such-app")])).await;
    assert_eq!(code, 1, "{out}");
    let line = out.lines().find(|l| l.starts_with("failed")).expect(&out);
    assert!(
        line.contains("no-such-app") && line.contains("404"),
        "{line}"
    );

    let (code, out, _) = output(
        &["check"],
        &w.env_with(&[("AUTOSCALE_PROCESS", "clockwork")]),
    )
    .await;
    assert_eq!(code, 1, "{out}");
    let line = out.lines().find(|l| l.starts_with("failed")).expect(&out);
    assert!(
        line.contains("formation") && line.contains("clockwork"),
        "{line}"
    );
}

#[tokio::test]
async fn check_fails_when_the_app_is_down() {
    let w = World::new(1).await;
    w.app
        .set_mode(autoscale::sim::Mode::Status(503))
        .await
        .unwrap();
    let (code, out, _) = output(&["check"], &w.env()).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("failed") && l.contains("HTTP 503")),
        "{out}"
    );
}

#[tokio::test]
async fn check_retries_a_503_once_then_passes() {
    let w = World::new(1).await;
    w.api.fail_next(Some("GET"), Fault::Unavailable);
    let (code, out, _) = output(&["check"], &w.env()).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(w.api.requests()[0].status, 503);
    assert_eq!(w.api.requests()[1].path, "/account");
}

#[tokio::test]
async fn every_configuration_error_exits_2_naming_the_variable() {
    let w = World::new(1).await;
    let cases: &[(&str, &str, &str)] = &[
        ("AUTOSCALE_SCHEDULE", "07:00=3; 25:00=1", "25:00"),
        ("AUTOSCALE_SCHEDULE", "0 7 * *=3", "fields"),
        ("AUTOSCALE_TZ", "Europe/Atlantis", "Europe/Atlantis"),
        ("AUTOSCALE_MAX", "2", "AUTOSCALE_MAX=3"),
        ("AUTOSCALE_CHECK_INTERVAL", "often", "often"),
        ("AUTOSCALE_CHECK_TIMEOUT", "-1s", "-1s"),
        ("AUTOSCALE_SLOW", "1s", "AUTOSCALE_FAST"),
        ("AUTOSCALE_FAST", "fast", "fast"),
        ("AUTOSCALE_SCALE_OUT_AFTER", "0", "at least 1"),
        ("AUTOSCALE_SCALE_IN_AFTER", "three", "three"),
        ("AUTOSCALE_DRY_RUN", "perhaps", "perhaps"),
        ("AUTOSCALE_CHECK_URL", "ftp://x", "ftp://x"),
        ("AUTOSCALE_PROCESS", "web/1", "web/1"),
        ("AUTOSCALE_APP", "a b", "a b"),
        ("AUTOSCALE_LOG", "info,=[", "AUTOSCALE_LOG"),
        ("HEROKU_API_URL", "http://api.heroku.com", "loopback"),
    ];
    for (variable, value, needle) in cases {
        for args in [&["run"][..], &["check"][..]] {
            let (code, out, err) = output(args, &w.env_with(&[(variable, value)])).await;
            let text = format!("{out}{err}");
            assert_eq!(code, 2, "{variable}={value} {args:?}: {text}");
            let line = text
                .lines()
                .find(|l| l.contains(variable))
                .unwrap_or_else(|| panic!("{text}"));
            assert!(line.contains(needle), "{line:?} lacks {needle:?}");
            assert!(line.contains("example: "), "{line}");
            assert_eq!(text.trim().lines().count(), 1, "one line: {text}");
        }
    }
    // Nothing reached the API: configuration is checked before any call.
    assert!(w.api.requests().is_empty());
    // A missing key, and the SLOW/FAST rule from the SLOW side.
    let mut env = w.env();
    env.retain(|(k, _)| k != "HEROKU_API_KEY");
    let (code, _, err) = output(&["run"], &env).await;
    assert_eq!(code, 2);
    assert!(
        err.contains("HEROKU_API_KEY") && err.contains("is not set"),
        "{err}"
    );
    // `check` says every problem at once: no app and no token, one line each (issue 19).
    env.retain(|(k, _)| k != "AUTOSCALE_APP");
    let (code, out, _) = output(&["check"], &env).await;
    assert_eq!(code, 2, "{out}");
    let failed: Vec<&str> = out.lines().filter(|l| l.starts_with("failed")).collect();
    assert_eq!(failed.len(), 2, "{out}");
    assert!(
        failed[0].contains("AUTOSCALE_APP") && failed[0].contains("is not set"),
        "{out}"
    );
    assert!(
        failed[1].contains("HEROKU_API_KEY") && failed[1].contains("is not set"),
        "{out}"
    );
}

#[tokio::test]
async fn unknown_variables_are_warned_with_the_closest_name() {
    let w = World::new(3).await;
    let env = w.env_with(&[
        ("AUTOSCALE_SCHEDUEL", "07:00=3"),
        ("AUTOSCALE_CHECK_URL", "off"),
    ]);
    let (_, out, _) = output(&["check"], &env).await;
    assert!(
        out.contains(
            "unknown variable AUTOSCALE_SCHEDUEL is ignored; did you mean AUTOSCALE_SCHEDULE?"
        ),
        "{out}"
    );
}

#[tokio::test]
async fn the_token_never_appears_in_any_output_even_at_trace() {
    let w = World::new(1).await;
    let env = w.env_with(&[
        ("AUTOSCALE_LOG", "trace"),
        ("AUTOSCALE_CHECK_INTERVAL", "1s"),
        ("AUTOSCALE_SCHEDULE", "00:00=2"),
    ]);
    let (_, out, err) = output(&["check"], &env).await;
    assert!(out.contains("formation"), "{out}");
    assert!(!out.contains(KEY) && !err.contains(KEY));

    w.api.fail_next(Some("PATCH"), Fault::Unavailable);
    let mut d = Daemon::spawn(&[], &env);
    d.wait_for("the startup scale", Duration::from_secs(20), |l| {
        l.event() == Some("scale") && l.get("result") == Some("ok")
    })
    .await;
    d.wait_count("probe", 2, Duration::from_secs(20)).await;
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(10)).await;
    let all = d.dump();
    assert!(all.lines().count() > 20, "trace logging is on: {all}");
    assert!(!all.contains(KEY), "the key leaked");
    // Nor its Basic encoding.
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!(":{KEY}"));
    assert!(!all.contains(&encoded), "the encoded key leaked");
    // Every stdout line is an event line, dependency lines included.
    d.events();
}

#[tokio::test]
async fn the_daemon_exits_1_on_a_bad_token_or_unknown_app_at_startup() {
    let w = World::new(1).await;
    for (k, v, needle) in [
        ("HEROKU_API_KEY", "revoked", "401"),
        ("AUTOSCALE_APP", "ghost-app", "404"),
        ("AUTOSCALE_PROCESS", "clockwork", "404"),
    ] {
        let mut d = Daemon::spawn(&[], &w.env_with(&[(k, v)]));
        let status = d.wait_exit(Duration::from_secs(20)).await;
        assert_eq!(status.code(), Some(1), "{k}={v}\n{}", d.dump());
        let fatal = d.events_named("fatal");
        assert_eq!(fatal.len(), 1, "{}", d.dump());
        assert_eq!(fatal[0].get("status"), Some(needle));
    }
    assert!(w.api.patches().is_empty());
}

#[tokio::test]
async fn plan_prints_the_quantity_the_next_edges_and_the_saving() {
    let (code, out, err) = output(&["plan", "--at", "2026-12-01T06:59:00Z", "--json"], &[]).await;
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect(&out);
    assert_eq!(v["at"], "2026-12-01T06:59:00Z");
    assert_eq!(v["quantity"], 1);
    assert_eq!(v["next"][0]["at"], "2026-12-01T07:00:00Z");
    assert_eq!(v["next"][0]["quantity"], 3);
    assert_eq!(v["next"].as_array().unwrap().len(), 6);
    assert_eq!(v["dyno_hours_per_week"], 413.0);
    assert_eq!(v["dyno_hours_per_week_at_max"], 504.0);

    let env = vec![
        ("AUTOSCALE_TZ".to_string(), "America/New_York".to_string()),
        ("AUTOSCALE_SCHEDULE".to_string(), "07:00=3".to_string()),
    ];
    let (code, out, _) = output(
        &[
            "plan",
            "--at",
            "2026-12-01T00:00:00Z",
            "--next",
            "1",
            "--json",
        ],
        &env,
    )
    .await;
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["next"][0]["at"], "2026-12-01T12:00:00Z");
    assert_eq!(v["next"][0]["local"], "2026-12-01T07:00:00-05:00");

    let (code, out, _) = output(
        &["plan", "--at", "2026-12-01T06:59:00Z", "--price", "0.05"],
        &[],
    )
    .await;
    assert_eq!(code, 0);
    assert!(
        out.contains("413.0 with the schedule, 504.0 always at its peak of 3: 91.0 saved (18.1 %)"),
        "{out}"
    );
    assert!(out.contains("20.65 a week"), "{out}");
    // A line that cannot be a variable is never echoed, not even as a name.
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dotenv-secret");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(".env"),
        "AUTOSCALE_APP=shop
smtp://u:s3cret@mail.example.com
",
    )
    .unwrap();
    let (code, _, err) = output_in(&dir, &["plan"], &[]).await;
    assert_eq!(code, 2);
    assert!(err.contains(".env: line 2 cannot be parsed"), "{err}");
    assert!(!err.contains("s3cret") && !err.contains("smtp"), "{err}");

    let (code, _, err) = output(&["plan", "--at", "tomorrow"], &[]).await;
    assert_eq!(code, 2);
    assert!(err.contains("--at") && err.contains("example"), "{err}");
}

#[tokio::test]
async fn version_and_help_work() {
    let (code, out, _) = output(&["--version"], &[]).await;
    assert_eq!(code, 0);
    assert_eq!(out.trim(), concat!("autoscale ", env!("CARGO_PKG_VERSION")));
    let (code, out, _) = output(&["--help"], &[]).await;
    assert_eq!(code, 0);
    for word in ["plan", "check", "--schedule", "AUTOSCALE_SCHEDULE"] {
        assert!(out.contains(word), "{word} in {out}");
    }
    // --help must not print the key from the environment.
    let env = vec![("HEROKU_API_KEY".to_string(), KEY.to_string())];
    let (_, out, _) = output(&["--help"], &env).await;
    assert!(!out.contains(KEY));
}

#[tokio::test]
async fn a_dotenv_file_is_read_and_the_environment_wins() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dotenv");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(".env"),
        "# local settings\nAUTOSCALE_SCHEDULE=\"07:00=5; 20:00=2\"\nAUTOSCALE_TZ=Europe/Berlin\n",
    )
    .unwrap();
    let args = ["plan", "--at", "2026-12-01T12:00:00Z", "--json"];
    let (code, out, err) = output_in(&dir, &args, &[]).await;
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["quantity"].as_u64(), v["max"].as_u64()),
        (Some(5), Some(5))
    );
    assert_eq!(v["tz"], "Europe/Berlin");
    let env = vec![("AUTOSCALE_SCHEDULE".to_string(), "00:00=7".to_string())];
    let (_, out, _) = output_in(&dir, &args, &env).await;
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["quantity"], 7, "the environment wins over .env");
    assert_eq!(v["tz"], "Europe/Berlin", "the rest of .env still applies");

    // A line that cannot be parsed names its variable, never its value (it may be the key).
    std::fs::write(dir.join(".env"), "HEROKU_API_KEY=sekrit'abc\n").unwrap();
    let (code, _, err) = output_in(&dir, &args, &[]).await;
    assert_eq!(code, 2);
    assert!(
        err.contains(".env") && err.contains("HEROKU_API_KEY"),
        "{err}"
    );
    assert!(!err.contains("sekrit"), "{err}");
    // Only the working directory's .env is read, not a parent's.
    let child = dir.join("child");
    std::fs::create_dir_all(&child).unwrap();
    let (code, _, err) = output_in(&child, &args, &[]).await;
    assert_eq!(code, 0, "{err}");
}

/// A config var left blank is no value (app.json's optional variables, `.env.example`'s
/// `NAME=`): the default holds, no error.
#[tokio::test]
async fn a_blank_setting_means_its_default() {
    let env: Vec<(String, String)> = [
        ("AUTOSCALE_APP", "shop"),
        ("AUTOSCALE_MAX", ""),
        ("AUTOSCALE_SCHEDULE", "  "),
        ("AUTOSCALE_CONFIG", ""),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let (code, out, err) = output(&["plan", "--at", "2026-12-01T06:59:00Z"], &env).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("07:00=3; 22:00=2; 03:00=1"),
        "the default schedule: {out}"
    );
    assert!(out.contains("max 3"), "the default max: {out}");
}
