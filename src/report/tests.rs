use super::*;
use chrono_tz::Europe::Berlin;
use serde_json::{json, Value};

const HOSTILE: &str =
    "</script><script>alert(1)</script><!-- </SCRIPT > & \u{2028}\u{2029} {{data.json}} \"q' ";

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn target(app: &str) -> TargetReport {
    TargetReport {
        app: app.into(),
        process: "web".into(),
        ..TargetReport::default()
    }
}

fn report(targets: Vec<TargetReport>) -> ReportData {
    ReportData {
        title: "report".into(),
        generated_at: utc("2026-03-30T00:00:00Z"),
        zone: Zone::utc(),
        targets,
    }
}

/// The data element's text, parsed as the page parses it.
fn data_of(html: &str) -> Value {
    let open = "<script type=\"application/json\" id=\"report-data\">";
    let start = html.find(open).expect("the data element") + open.len();
    let end = start + html[start..].find("</script>").expect("its end");
    serde_json::from_str(&html[start..end]).expect("the data is JSON")
}

fn json(data: &ReportData) -> Value {
    serde_json::from_str(&script_json(data)).unwrap()
}

#[test]
fn hostile_strings_stay_inside_the_data_and_come_back_intact() {
    let mut t = target(HOSTILE);
    t.process = HOSTILE.into();
    t.alerts.push(AlertMark {
        t: utc("2026-03-25T10:00:00Z"),
        kind: HOSTILE.into(),
        message: HOSTILE.into(),
    });
    t.scales.push(ScaleMark {
        t: utc("2026-03-25T10:00:00Z"),
        from: Some(1),
        to: Some(2),
        reason: HOSTILE.into(),
        result: Some(HOSTILE.into()),
    });
    t.probes.push(ProbePoint {
        t: utc("2026-03-25T10:00:00Z"),
        latency_ms: Some(12.5),
        outcome: HOSTILE.into(),
    });
    t.summary.notes.push(HOSTILE.into());
    let mut data = report(vec![t]);
    data.title = HOSTILE.into();
    data.zone.name = HOSTILE.into();
    let html = render_html(&data);

    // Four scripts (errors, data, d3, the report), each closed once; no comment opens.
    assert_eq!(html.matches("<script").count(), 4);
    assert_eq!(html.to_ascii_lowercase().matches("</script").count(), 4);
    assert!(!html.contains("<!--"));
    let json = script_json(&data);
    assert!(!json.contains('\u{2028}') && !json.contains('\u{2029}'));
    assert!(html.contains(&json));
    let data = data_of(&html);
    let target = &data["targets"][0];
    for value in [
        &data["title"],
        &data["zone"]["name"],
        &target["app"],
        &target["process"],
        &target["alerts"][0]["kind"],
        &target["alerts"][0]["message"],
        &target["scales"][0]["reason"],
        &target["scales"][0]["result"],
        &target["probes"][0][2],
        &target["summary"]["notes"][0],
    ] {
        assert_eq!(value, HOSTILE);
    }
    // The title is also written as HTML text, escaped.
    let title =
        "<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!-- &lt;/SCRIPT &gt; \
                     &amp; \u{2028}\u{2029} {{data.json}} &quot;q&#39; </title>";
    assert!(html.contains(title), "{}", &html[..400]);
}

#[test]
fn the_template_gets_every_asset_once_and_values_are_not_scanned() {
    let html = render_html(&report(vec![]));
    assert!(!html.contains("{{"), "a slot left unfilled");
    assert!(html.contains(CSS) && html.contains(JS) && html.contains(D3));
    assert!(html.contains(D3_LICENSE), "d3's license travels with it");
    assert_eq!(html.matches(D3).count(), 1);
    assert!(html.starts_with("<!DOCTYPE html>"));

    let filled = fill(
        "a{{x}}b{{y}}c{{x}}{{",
        &[("{{x}}", "{{y}}"), ("{{y}}", "Y")],
    );
    assert_eq!(filled, "a{{y}}bYc{{y}}{{");
    assert_eq!(fill("no slots", &[("{{x}}", "X")]), "no slots");
    assert_eq!(fill("{{x", &[("{{x}}", "X")]), "{{x");
}

#[test]
fn inlined_assets_cannot_end_their_element() {
    for (name, asset) in [("d3.min.js", D3), ("report.js", JS), ("report.css", CSS)] {
        let lower = asset.to_ascii_lowercase();
        for bad in ["</script", "</style", "<!--"] {
            assert!(!lower.contains(bad), "{name} contains {bad}");
        }
    }
    assert!(
        !D3_LICENSE.contains("*/"),
        "the license sits in a /* */ comment"
    );
    assert!(
        D3.starts_with("// https://d3js.org v7.9.0 "),
        "the pinned version"
    );
}

#[test]
fn numbers_the_page_cannot_draw_are_null() {
    let summary = Summary {
        requests: Some(u64::MAX),
        errors: Some(1_000_000_000_000),
        p95_ms: Some(f64::NAN),
        dyno_hours: Some(f64::INFINITY),
        dyno_hours_schedule: Some(-1.0),
        dyno_hours_max: Some(1e300),
        scale_events: Some(0),
        alerts: Some(1_000_000_000_001),
        ..Summary::default()
    };
    let value = serde_json::to_value(&summary).unwrap();
    assert_eq!(
        value,
        json!({"from": null, "to": null, "requests": null, "errors": 1_000_000_000_000u64,
                   "p95_ms": null, "dyno_hours": null, "dyno_hours_schedule": null,
                   "dyno_hours_max": null, "scale_events": 0, "alerts": null, "notes": []})
    );
    let rounded = Summary {
        from: Some(utc("2026-03-23T00:00:00.5Z")),
        to: Some(utc("2026-03-30T00:00:00Z")),
        p95_ms: Some(123.456),
        dyno_hours: Some(2.0),
        dyno_hours_schedule: Some(0.005),
        dyno_hours_max: Some(0.004),
        ..Summary::default()
    };
    let text = serde_json::to_string(&rounded).unwrap();
    assert!(text.contains("\"p95_ms\":123.46,"), "{text}");
    let times = "{\"from\":1774224000500,\"to\":1774828800000,";
    assert!(text.starts_with(times), "{text}");
    assert!(
        text.contains("\"dyno_hours\":2,"),
        "whole numbers without .0: {text}"
    );
    assert!(text.contains("\"dyno_hours_schedule\":0.01,"), "{text}");
    assert!(text.contains("\"dyno_hours_max\":0,"), "{text}");
    assert_eq!(drawable(NUMBER_CAP), Some(NUMBER_CAP));
    assert_eq!(drawable(NUMBER_CAP * 1.000_001), None);
    assert_eq!(drawable(0.0), Some(0.0));
    assert_eq!(drawable(-0.001), None);
}

fn minute(t: &str, requests: u64) -> MinutePoint {
    MinutePoint {
        t: utc(t),
        requests,
        s2xx: requests,
        p50_ms: Some(40.25),
        ..MinutePoint::default()
    }
}

#[test]
fn minutes_are_columns_with_minute_deltas() {
    let mut t = target("shop");
    t.concurrency = Some(4);
    t.slow_ms = Some(5000.0);
    t.max = Some(6);
    t.minutes = vec![
        minute("2026-03-25T10:00:00Z", 10),
        minute("2026-03-25T10:01:30Z", 11), // inside 10:01: written as that minute
        minute("2026-03-25T10:05:00Z", 12),
        minute("2026-03-25T10:04:00Z", 13), // out of order: a negative step
    ];
    t.minutes[2].busy = Some(f64::NAN);
    t.minutes[2].dynos = Some(3);
    t.quantity = vec![Step {
        t: utc("2026-03-25T10:00:00Z"),
        quantity: 2,
    }];
    let value = json(&report(vec![t]));
    let target = &value["targets"][0];
    assert_eq!(target["concurrency"], 4);
    assert_eq!(target["slow_ms"], 5000);
    assert_eq!(target["max"], 6);
    let minutes = &target["minutes"];
    assert_eq!(
        minutes["t0"],
        utc("2026-03-25T10:00:00Z").timestamp_millis()
    );
    assert_eq!(minutes["dt"], json!([0, 1, 4, -1]));
    assert_eq!(minutes["requests"], json!([10, 11, 12, 13]));
    assert_eq!(minutes["s2xx"], json!([10, 11, 12, 13]));
    assert_eq!(minutes["p50_ms"], json!([40.25, 40.25, 40.25, 40.25]));
    assert_eq!(minutes["dynos"], json!([null, null, 3, null]));
    // Columns with no value at all cost nothing; a zero is a value.
    for empty in ["busy", "p95_ms"] {
        assert_eq!(minutes[empty], json!([]), "{empty}");
    }
    assert_eq!(minutes["s4xx"], json!([0, 0, 0, 0]));
    assert_eq!(
        target["quantity"],
        json!([[utc("2026-03-25T10:00:00Z").timestamp_millis(), 2]])
    );
    assert_eq!(
        target["dropped"],
        json!({"scales": 0, "alerts": 0, "probes": 0})
    );
    assert_eq!(target["heatmap"], Value::Null);

    let none = json(&report(vec![target_with_nothing()]));
    assert_eq!(none["targets"][0]["minutes"]["t0"], Value::Null);
    assert_eq!(none["targets"][0]["minutes"]["dt"], json!([]));
}

fn target_with_nothing() -> TargetReport {
    target("empty")
}

#[test]
fn long_strings_are_cut_and_long_lists_keep_the_latest() {
    let long = "é".repeat(NAME_CAP + 1);
    assert_eq!(cut(&long, NAME_CAP).chars().count(), NAME_CAP);
    assert!(cut(&long, NAME_CAP).ends_with("é…"));
    assert_eq!(cut(&"é".repeat(NAME_CAP), NAME_CAP), "é".repeat(NAME_CAP));
    assert_eq!(cut("", 3), "");

    let at = |i: usize| utc("2026-03-25T00:00:00Z") + chrono::Duration::seconds(i as i64);
    let mut t = target(&long);
    t.alerts = (0..MARKS_CAP + 3)
        .map(|i| AlertMark {
            t: at(i),
            kind: "k".into(),
            message: "m".repeat(TEXT_CAP + 5),
        })
        .collect();
    t.scales = (0..MARKS_CAP)
        .map(|i| ScaleMark {
            t: at(i),
            from: None,
            to: Some(1),
            reason: "r".into(),
            result: None,
        })
        .collect();
    t.probes = (0..10 * MARKS_CAP + 1)
        .map(|i| ProbePoint {
            t: at(i),
            latency_ms: None,
            outcome: "ok".into(),
        })
        .collect();
    t.summary.notes = vec!["n".into(); MARKS_CAP + 1];
    let value = json(&report(vec![t]));
    let target = &value["targets"][0];
    assert_eq!(target["app"].as_str().unwrap().chars().count(), NAME_CAP);
    let alerts = target["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), MARKS_CAP);
    assert_eq!(
        alerts[0]["t"],
        at(3).timestamp_millis(),
        "the latest are kept"
    );
    assert_eq!(
        alerts[0]["message"].as_str().unwrap().chars().count(),
        TEXT_CAP
    );
    assert_eq!(target["scales"].as_array().unwrap().len(), MARKS_CAP);
    assert_eq!(target["probes"].as_array().unwrap().len(), 10 * MARKS_CAP);
    assert_eq!(
        target["probes"][0],
        json!([at(1).timestamp_millis(), null, "ok"])
    );
    assert_eq!(
        target["dropped"],
        json!({"scales": 0, "alerts": 3, "probes": 1})
    );
    assert_eq!(
        target["summary"]["notes"].as_array().unwrap().len(),
        MARKS_CAP
    );
}

#[test]
fn zone_offsets_are_found_to_the_second() {
    let zone = Zone::covering(
        Berlin,
        utc("2026-03-23T10:00:00.750Z"),
        utc("2026-11-01T00:00:00Z"),
    );
    assert_eq!(zone.name, "Europe/Berlin");
    assert_eq!(
        zone.offsets,
        [
            (utc("2026-03-23T10:00:00Z"), 3600),
            (utc("2026-03-29T01:00:00Z"), 7200),
            (utc("2026-10-25T01:00:00Z"), 3600),
        ]
    );
    let value = serde_json::to_value(&zone).unwrap();
    assert_eq!(
        value["offsets"][1],
        json!([utc("2026-03-29T01:00:00Z").timestamp_millis(), 7200])
    );

    // A change in the last hour of the range, and one just after it.
    let edge = Zone::covering(
        Berlin,
        utc("2026-03-28T00:00:00Z"),
        utc("2026-03-29T01:00:00Z"),
    );
    assert_eq!(
        edge.offsets.last(),
        Some(&(utc("2026-03-29T01:00:00Z"), 7200))
    );
    let before = Zone::covering(
        Berlin,
        utc("2026-03-28T00:00:00Z"),
        utc("2026-03-29T00:59:59Z"),
    );
    assert_eq!(before.offsets, [(utc("2026-03-28T00:00:00Z"), 3600)]);

    // Backwards or empty ranges: the offset at the start only.
    let back = Zone::covering(
        Berlin,
        utc("2026-07-01T00:00:00Z"),
        utc("2026-01-01T00:00:00Z"),
    );
    assert_eq!(back.offsets, [(utc("2026-07-01T00:00:00Z"), 7200)]);
    assert_eq!(
        Zone::covering(
            chrono_tz::UTC,
            utc("2026-01-01T00:00:00Z"),
            utc("2027-01-01T00:00:00Z")
        )
        .offsets
        .len(),
        1
    );
    assert_eq!(Zone::utc().offsets, [(DateTime::UNIX_EPOCH, 0)]);
}

#[test]
fn a_hostile_range_is_capped_to_ten_years() {
    let from = DateTime::<Utc>::MIN_UTC;
    let to = utc("2026-06-01T00:00:00Z");
    let started = std::time::Instant::now();
    let zone = Zone::covering(Berlin, from, to);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let first = zone.offsets[0].0;
    assert_eq!(first, to - chrono::Duration::days(ZONE_SPAN_CAP_DAYS));
    // Two changes a year over ten years.
    assert!(
        (19..=21).contains(&(zone.offsets.len() - 1)),
        "{}",
        zone.offsets.len()
    );
    let far = Zone::covering(Berlin, DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MIN_UTC);
    assert_eq!(far.offsets.len(), 1);
}

#[test]
fn the_heatmap_counts_by_weekday_and_hour_in_the_zone() {
    let minutes = [
        minute("2026-03-22T23:00:00Z", 5), // Monday 00:00 in Berlin (Sunday in UTC)
        minute("2026-03-22T23:59:00Z", 7), // Monday 00:59
        minute("2026-03-29T00:30:00Z", 11), // Sunday 01:30 CET
        minute("2026-03-29T01:30:00Z", 13), // Sunday 03:30 CEST: 02:00 was skipped
        minute("2026-03-29T21:59:00Z", u64::MAX), // Sunday 23:59
        minute("2026-04-05T21:59:00Z", 1), // the next Sunday 23:59: saturates
    ];
    let map = Heatmap::from_minutes(&minutes, Berlin);
    assert_eq!(map.requests[0][0], 12);
    assert_eq!(map.minutes[0][0], 2);
    assert_eq!(map.requests[6][1], 11);
    assert_eq!(map.requests[6][2], 0);
    assert_eq!(map.minutes[6][2], 0);
    assert_eq!(map.requests[6][3], 13);
    assert_eq!(map.requests[6][23], u64::MAX);
    assert_eq!(map.minutes[6][23], 2);
    let total: u32 = map.minutes.iter().flatten().sum();
    assert_eq!(total, 6);
    let utc_map = Heatmap::from_minutes(&minutes[..1], chrono_tz::UTC);
    assert_eq!(utc_map.requests[6][23], 5, "Sunday 23:00 in UTC");
    let value = serde_json::to_value(&map).unwrap();
    assert_eq!(value["requests"].as_array().unwrap().len(), 7);
    assert_eq!(value["minutes"][6].as_array().unwrap().len(), 24);
    assert_eq!(value["requests"][6][3], 13);
}

/// A week of one target at one point per minute, probes every 3 minutes: the page's size.
#[test]
fn a_week_of_one_target_makes_a_page_under_a_megabyte() {
    let start = utc("2026-03-23T00:00:00Z");
    let mut t = target("shop");
    for i in 0..10_080_u64 {
        // Busy-looking figures with realistic digits: a daily wave and some noise.
        let wave = ((i % 1440) as f64 / 1440.0 * std::f64::consts::TAU)
            .sin()
            .abs();
        let requests = 200 + (1800.0 * wave) as u64 + i * 7 % 13;
        t.minutes.push(MinutePoint {
            t: start + chrono::Duration::minutes(i as i64),
            requests,
            s2xx: requests * 90 / 100,
            s3xx: requests * 5 / 100,
            s4xx: requests * 4 / 100,
            s5xx: requests / 100,
            h10: u64::from(i % 997 == 0),
            h12: u64::from(i % 503 == 0),
            h13: u64::from(i % 251 == 0),
            errors: requests / 100,
            p50_ms: Some(35.0 + 20.0 * wave + (i % 7) as f64 * 0.37),
            p95_ms: Some(180.0 + 150.0 * wave + (i % 11) as f64 * 1.13),
            busy: Some(requests as f64 * 0.06 / 60.0 + (i % 5) as f64 * 0.011),
            dynos: Some(2 + (wave * 3.0) as u32),
        });
        if i % 3 == 0 {
            t.probes.push(ProbePoint {
                t: start + chrono::Duration::minutes(i as i64),
                latency_ms: Some(80.0 + (i % 97) as f64 * 1.7),
                outcome: "ok".into(),
            });
        }
    }
    t.heatmap = Some(Heatmap::from_minutes(&t.minutes, Berlin));
    let page = render_html(&report(vec![t]));
    let assets = TEMPLATE.len() + CSS.len() + JS.len() + D3.len() + D3_LICENSE.len();
    println!(
        "a week of one target: {} bytes in all, {} of them data, {} the page's own files",
        page.len(),
        page.len() - assets,
        assets
    );
    assert!(page.len() < 1_000_000, "{} bytes", page.len());
    assert!(page.len() - assets > 300_000, "the data is all there");
}
