//! Many targets through the binary: a configuration file, shards over clock dynos, `plan` and
//! `check` per target.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use autoscale::sim::FakeHeroku;
use common::*;

const APPS: [&str; 6] = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];

fn file() -> String {
    let mut text =
        String::from("[defaults]\ncheck_url = \"off\"\nschedule = \"00:00=1\"\nmax = 2\n");
    for app in APPS {
        text.push_str(&format!("[[target]]\napp = \"{app}\"\n"));
    }
    text
}

async fn api() -> FakeHeroku {
    let api = FakeHeroku::start(KEY).await.unwrap();
    for app in APPS {
        api.add_app(app, None);
        api.add_formation(app, "web", 1, "Standard-1X");
        api.set_updated_at(app, "web", "2026-01-01T00:00:00Z".parse().unwrap());
    }
    api
}

#[tokio::test]
async fn two_shards_split_the_apps_with_none_in_both_and_none_in_neither() {
    let api = api().await;
    let config = file();
    let mut daemons = Vec::new();
    for dyno in ["clock.1", "clock.2"] {
        let env: Vec<(String, String)> = vec![
            ("HEROKU_API_KEY".into(), KEY.into()),
            ("HEROKU_API_URL".into(), api.url()),
            ("AUTOSCALE_CONFIG".into(), config.clone()),
            ("AUTOSCALE_SHARDS".into(), "2".into()),
            ("DYNO".into(), dyno.into()),
        ];
        daemons.push(Daemon::spawn(&[], &env));
    }
    let mut seen: Vec<BTreeSet<String>> = Vec::new();
    for d in &daemons {
        let budget = d
            .wait_for("the budget line", Duration::from_secs(15), |l| {
                l.event() == Some("budget")
            })
            .await;
        let n: usize = budget.get("apps").unwrap().parse().unwrap();
        let starts = d.wait_count("start", n, Duration::from_secs(15)).await;
        let apps: BTreeSet<String> = starts
            .iter()
            .map(|l| l.get("app").unwrap().to_owned())
            .collect();
        assert_eq!(apps.len(), n);
        seen.push(apps);
    }
    assert!(seen[0].is_disjoint(&seen[1]), "{seen:?}");
    let all: BTreeSet<String> = seen[0].union(&seen[1]).cloned().collect();
    assert_eq!(all, APPS.iter().map(|a| a.to_string()).collect());
    // Each dyno read only its own apps' formations.
    for (d, mine) in daemons.iter().zip(&seen) {
        for l in d.events_named("start") {
            assert_eq!(
                l.get("shard"),
                Some(if mine == &seen[0] { "1" } else { "2" })
            );
        }
    }
    for mut d in daemons {
        d.signal("TERM");
        assert_eq!(d.wait_exit(Duration::from_secs(10)).await.code(), Some(0));
    }
}

#[tokio::test]
async fn plan_and_check_show_every_target_and_its_shard() {
    let api = api().await;
    let env: Vec<(String, String)> = vec![
        ("HEROKU_API_KEY".into(), KEY.into()),
        ("HEROKU_API_URL".into(), api.url()),
        ("AUTOSCALE_CONFIG".into(), file()),
        ("AUTOSCALE_SHARDS".into(), "2".into()),
    ];
    let (code, out, err) = output(&["plan", "--json", "--at", "2026-12-01T12:00:00Z"], &env).await;
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let targets = v["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 6);
    for t in targets {
        let shard = t["shard"].as_u64().unwrap();
        let app = t["app"].as_str().unwrap();
        assert_eq!(shard, u64::from(autoscale::config::shard::shard_of(app, 2)));
    }
    assert_eq!(v["totals"]["targets"], 6);
    assert_eq!(v["totals"]["dyno_hours_per_week"], 6.0 * 168.0);

    let (code, out, _) = output(&["plan", "--target", "charlie/web"], &env).await;
    assert_eq!(code, 0);
    assert!(!out.contains("alpha"), "{out}");
    let (code, _, err) = output(&["plan", "--target", "zulu/web"], &env).await;
    assert_eq!(code, 2);
    assert!(
        err.contains("no such target") && err.contains("alpha/web"),
        "{err}"
    );
    // A name no target can have is refused as such, in the same one line.
    let (code, _, err) = output(&["plan", "--target", "zulu/web worker"], &env).await;
    assert_eq!(code, 2);
    assert_eq!(
        err.trim(),
        "error: --target=\"zulu/web worker\": not APP/PROCESS (an app name, then a process type; \
         /web if left out); example: --target shop/web"
    );

    // check: one block per target, one formation list per app.
    let (code, out, err) = output(&["check"], &env).await;
    assert_eq!(code, 0, "{out}\n{err}");
    for app in APPS {
        assert!(out.contains(&format!("── {app}/web   (shard ")), "{out}");
    }
    assert!(
        out.contains("6 targets from AUTOSCALE_CONFIG, 2 shards"),
        "{out}"
    );
    let lists = api
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/formation"))
        .count();
    assert_eq!(lists, 6);
}

#[tokio::test]
async fn a_bad_file_exits_2_naming_the_file_the_target_and_the_key() {
    let api = api().await;
    let text = "[[target]]\napp = \"shop\"\n[[target]]\napp = \"shop\"\nprocess = \"worker\"\nmax = \"lots\"\n";
    let env: Vec<(String, String)> = vec![
        ("HEROKU_API_KEY".into(), KEY.into()),
        ("HEROKU_API_URL".into(), api.url()),
        ("AUTOSCALE_CONFIG".into(), text.into()),
    ];
    for args in [&[][..], &["check"][..], &["plan"][..]] {
        let (code, out, err) = output(args, &env).await;
        assert_eq!(code, 2, "{args:?}");
        let said = format!("{out}{err}");
        assert!(
            said.contains(r#"AUTOSCALE_CONFIG: target 2 (shop/worker): max="lots": must be a whole number of at least 1; example: max = 4"#),
            "{said}"
        );
    }
    // Several shards and no way to know this dyno's: the daemon refuses, naming the fix.
    let env: Vec<(String, String)> = vec![
        ("HEROKU_API_KEY".into(), KEY.into()),
        ("HEROKU_API_URL".into(), api.url()),
        ("AUTOSCALE_CONFIG".into(), file()),
        ("AUTOSCALE_SHARDS".into(), "3".into()),
        ("DYNO".into(), "run.1234".into()),
    ];
    let (code, _, err) = output(&[], &env).await;
    assert_eq!(code, 2);
    assert!(
        err.contains("AUTOSCALE_SHARDS") && err.contains("set AUTOSCALE_SHARD"),
        "{err}"
    );
}
