//! `app.json`, Heroku's app manifest (the "Deploy to Heroku" button and `heroku create
//! --manifest`): only the fields Heroku's schema defines, each of the right shape, and true to
//! the Procfile and to the settings the binary reads.

use std::collections::BTreeSet;

use serde_json::Value;

fn manifest() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/app.json")).unwrap();
    serde_json::from_str(&text).expect("app.json is JSON")
}

fn procfile() -> Vec<(String, String)> {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Procfile"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

#[test]
fn app_json_has_only_heroku_s_fields_in_their_shapes() {
    let m = manifest();
    // https://devcenter.heroku.com/articles/app-json-schema
    let known: BTreeSet<&str> = [
        "name",
        "description",
        "keywords",
        "website",
        "repository",
        "logo",
        "success_url",
        "scripts",
        "env",
        "formation",
        "image",
        "addons",
        "buildpacks",
        "environments",
        "stack",
    ]
    .into();
    for key in m.as_object().unwrap().keys() {
        assert!(known.contains(key.as_str()), "unknown field {key}");
    }
    let name = m["name"].as_str().unwrap();
    assert!((3..=30).contains(&name.len()), "Heroku's limit on name");
    assert!(
        m["description"].as_str().unwrap().len() <= 140,
        "the button shows 140 characters"
    );
    assert!(m["keywords"]
        .as_array()
        .unwrap()
        .iter()
        .all(Value::is_string));
    for url in ["website", "repository"] {
        assert!(m[url].as_str().unwrap().starts_with("https://"), "{url}");
    }
    assert!(m["success_url"].as_str().unwrap().starts_with('/'));
    for b in m["buildpacks"].as_array().unwrap() {
        assert_eq!(
            b.as_object().unwrap().keys().collect::<Vec<_>>(),
            vec!["url"]
        );
        assert!(b["url"].as_str().unwrap().starts_with("https://"));
    }
    for addon in m["addons"].as_array().unwrap() {
        let plan = addon["plan"].as_str().unwrap();
        assert!(plan.starts_with("heroku-postgresql:"), "{plan}");
        for key in addon.as_object().unwrap().keys() {
            assert!(["plan", "as", "options"].contains(&key.as_str()), "{key}");
        }
    }
    assert_eq!(
        m["addons"][0]["as"], "DATABASE",
        "its DATABASE_URL is the history"
    );
}

#[test]
fn the_formation_runs_the_procfile_s_clock_and_dashboard() {
    let m = manifest();
    let procfile = procfile();
    assert!(procfile.contains(&("clock".to_owned(), "./autoscale".to_owned())));
    assert!(procfile.contains(&("web".to_owned(), "./autoscale serve".to_owned())));
    let formation = m["formation"].as_object().unwrap();
    for (process, f) in formation {
        assert!(
            procfile.iter().any(|(p, _)| p == process),
            "{process} is in the Procfile"
        );
        assert_eq!(f["quantity"], 1, "{process}");
        let size = f["size"].as_str().unwrap();
        assert!(
            autoscale::size::Size::parse(size).is_ok(),
            "{process}: {size} is a Heroku size"
        );
        for key in f.as_object().unwrap().keys() {
            assert!(["quantity", "size"].contains(&key.as_str()), "{key}");
        }
    }
    assert_eq!(formation.len(), 2);
}

#[test]
fn every_config_var_is_one_the_binary_reads_and_the_password_is_generated() {
    let m = manifest();
    let env = m["env"].as_object().unwrap();
    for (var, spec) in env {
        assert!(
            autoscale::config::field::FIELDS
                .iter()
                .any(|f| f.var == var),
            "{var} is a setting"
        );
        let spec = spec.as_object().unwrap();
        for key in spec.keys() {
            assert!(
                ["description", "value", "required", "generator"].contains(&key.as_str()),
                "{var}: {key}"
            );
        }
        assert!(
            spec.get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| !d.is_empty()),
            "{var}"
        );
        if let Some(g) = spec.get("generator") {
            assert_eq!(g, "secret", "Heroku's only generator");
        }
    }
    assert_eq!(env["HEROKU_API_KEY"]["required"], true);
    assert!(env["HEROKU_API_KEY"]["description"]
        .as_str()
        .unwrap()
        .contains("heroku authorizations:create"));
    assert!(
        env["HEROKU_API_KEY"].get("value").is_none(),
        "no default token"
    );
    assert_eq!(env["AUTOSCALE_DASHBOARD_PASSWORD"]["generator"], "secret");
    // A default in app.json is a default of the binary too.
    let schedule = env["AUTOSCALE_SCHEDULE"]["value"].as_str().unwrap();
    assert!(autoscale::schedule::Schedule::parse(schedule, chrono_tz::UTC).is_ok());
}
