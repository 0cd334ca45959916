//! A synthetic week for the HTML report: two targets in Europe/Berlin with a daily and a weekly
//! shape, the schedule's floor, scale events, alerts and health checks — and, for the test,
//! hostile strings where log lines put text (alert messages, scale reasons, notes, the title).
//!
//! The week is Monday 2026-03-23 to Monday 2026-03-30, Berlin time, so it crosses the change to
//! summer time (Sunday 29 March, 02:00 → 03:00): the page must show wall-clock hours across it.
//! Deterministic: a small xorshift generator, seeded per target.

use autoscale::report::{
    AlertMark, Heatmap, MinutePoint, ProbePoint, ReportData, ScaleMark, Step, Summary,
    TargetReport, Zone,
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Europe::Berlin;
use chrono_tz::Tz;

/// A string that would end the data's `<script>` element and run code, were it not escaped.
pub const HOSTILE: &str =
    "</script><script>document.documentElement.setAttribute('data-pwned','1')</script><!-- <b>";

/// The week's first instant: Monday 2026-03-23 00:00 in Berlin.
pub fn week_start() -> DateTime<Utc> {
    local(NaiveDate::from_ymd_opt(2026, 3, 23).unwrap(), 0, 0)
}

/// The week's end: Monday 2026-03-30 00:00 in Berlin, 167 hours later (one hour was skipped).
pub fn week_end() -> DateTime<Utc> {
    local(NaiveDate::from_ymd_opt(2026, 3, 30).unwrap(), 0, 0)
}

fn local(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let wall = day.and_hms_opt(hour, minute, 0).unwrap();
    Berlin
        .from_local_datetime(&wall)
        .earliest()
        // 02:xx on the day the clocks go forward does not exist: it is 03:xx.
        .unwrap_or_else(|| {
            Berlin
                .from_local_datetime(&(wall + Duration::hours(1)))
                .unwrap()
        })
        .with_timezone(&Utc)
}

struct Rng(u64);

impl Rng {
    /// Uniform in [0, 1).
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Requests per minute at a local time: low at night, a peak mid-afternoon, weekends lighter.
fn rate(peak: f64, local: DateTime<Tz>) -> f64 {
    let hour = local.hour() as f64 + local.minute() as f64 / 60.0;
    let daily = 0.08 + 0.92 * (-((hour - 14.5) / 4.0).powi(2)).exp();
    let weekly = if local.weekday().number_from_monday() >= 6 {
        0.4
    } else {
        1.0
    };
    peak * daily * weekly
}

/// The schedule `07:00=3; 22:00=2; 03:00=1` as steps over the week (and the day before).
fn schedule_floor(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Step> {
    let mut steps = Vec::new();
    let first = from.with_timezone(&Berlin).date_naive() - Duration::days(1);
    for day in first.iter_days().take(9) {
        for (hour, quantity) in [(3, 1), (7, 3), (22, 2)] {
            let t = local(day, hour, 0);
            if t <= to {
                steps.push(Step { t, quantity });
            }
        }
    }
    // Keep the step in force at `from` and everything after it.
    let keep = steps.iter().rposition(|s| s.t <= from).unwrap_or(0);
    let mut steps = steps.split_off(keep);
    steps[0].t = steps[0].t.max(from);
    steps
}

struct Shape {
    app: &'static str,
    peak: f64,
    seed: u64,
    concurrency: Option<u32>,
    /// An incident: minutes of H12 timeouts and slow answers, from this local time.
    incident: (u32, u32, u32),
    /// Text from log lines: [`HOSTILE`] for the test, or plain.
    text: fn(&str) -> String,
}

fn target(shape: &Shape) -> TargetReport {
    let from = week_start();
    let to = week_end();
    let mut rng = Rng(shape.seed);
    let incident_start = local(
        NaiveDate::from_ymd_opt(2026, 3, 23 + shape.incident.0).unwrap(),
        shape.incident.1,
        shape.incident.2,
    );
    let incident_end = incident_start + Duration::minutes(25);

    let mut minutes = Vec::new();
    let mut t = from;
    while t < to {
        let at = t.with_timezone(&Berlin);
        let in_incident = t >= incident_start && t < incident_end;
        // One hour of the week has no data at all (the log session was down): a gap.
        let lost = at.weekday().number_from_monday() == 6 && at.hour() == 4;
        if !lost {
            let requests = (rate(shape.peak, at) * (0.85 + 0.3 * rng.next())).round() as u64;
            let h12 = if in_incident {
                requests / 12
            } else {
                u64::from(rng.next() < 0.002)
            };
            let h13 = u64::from(rng.next() < 0.004);
            let h10 = u64::from(in_incident && rng.next() < 0.2);
            let s5xx = h12 + h13 + h10 + u64::from(rng.next() < 0.05);
            let s3xx = requests / 20;
            let s4xx = requests / 25;
            let s2xx = requests.saturating_sub(s3xx + s4xx + s5xx);
            let load = requests as f64 / shape.peak;
            let p50 = 35.0 + 25.0 * load + 5.0 * rng.next();
            let p95 = if in_incident {
                5200.0 + 800.0 * rng.next()
            } else {
                140.0 + 160.0 * load + 40.0 * rng.next()
            };
            let mean_service = if in_incident { 900.0 } else { p50 * 1.3 };
            minutes.push(MinutePoint {
                t,
                requests: s2xx + s3xx + s4xx + s5xx,
                s2xx,
                s3xx,
                s4xx,
                s5xx,
                h10,
                h12,
                h13,
                errors: s5xx,
                p50_ms: (requests > 0).then_some(p50),
                p95_ms: (requests > 0).then_some(p95),
                busy: Some(requests as f64 * mean_service / 60_000.0),
                dynos: None,
            });
        }
        t += Duration::minutes(1);
    }

    let floor = schedule_floor(from, to);
    let max = 6;
    let scale_out = incident_start + Duration::minutes(2);
    let scale_in = incident_end + Duration::minutes(20);
    let floor_at = |t: DateTime<Utc>| {
        floor
            .iter()
            .rev()
            .find(|s| s.t <= t)
            .map_or(1, |s| s.quantity)
    };
    let mut quantity: Vec<Step> = Vec::new();
    let mut scales = vec![ScaleMark {
        t: from,
        from: Some(1),
        to: Some(floor_at(from)),
        reason: "startup".into(),
        result: Some("ok".into()),
    }];
    for step in &floor {
        if step.t > scale_out && step.t < scale_in {
            continue; // held at max during the incident
        }
        if step.t > from {
            scales.push(ScaleMark {
                t: step.t,
                from: quantity.last().map(|q| q.quantity),
                to: Some(step.quantity),
                reason: "schedule".into(),
                result: Some("ok".into()),
            });
        }
        quantity.push(*step);
    }
    quantity.push(Step {
        t: scale_out,
        quantity: max,
    });
    quantity.push(Step {
        t: scale_in,
        quantity: floor_at(scale_in),
    });
    quantity.sort_by_key(|s| s.t);
    scales.push(ScaleMark {
        t: scale_out,
        from: Some(floor_at(scale_out)),
        to: Some(max),
        reason: "slow".into(),
        result: Some("ok".into()),
    });
    scales.push(ScaleMark {
        t: scale_in,
        from: Some(max),
        to: Some(floor_at(scale_in)),
        reason: "scale_in".into(),
        result: Some("ok".into()),
    });
    // A reason never seen before (hostile, in the test): drawn in the "other" colour, as text.
    scales.push(ScaleMark {
        t: from + Duration::hours(100),
        from: Some(floor_at(from + Duration::hours(100))),
        to: Some(floor_at(from + Duration::hours(100))),
        reason: (shape.text)("manual"),
        result: None,
    });
    scales.sort_by_key(|s| s.t);

    let alerts = vec![
        AlertMark {
            t: scale_out,
            kind: "scale_out".into(),
            message: format!(
                "{}/web scaled out to {max}: p95 5,200 ms is slow",
                shape.app
            ),
        },
        AlertMark {
            t: scale_in,
            kind: "recovered".into(),
            message: (shape.text)(&format!("{}/web recovered: p95 210 ms", shape.app)),
        },
    ];

    let mut probes = Vec::new();
    let mut t = from;
    while t < to {
        let slow = t >= incident_start && t < incident_end;
        let latency = if slow {
            5400.0 + 500.0 * rng.next()
        } else {
            60.0 + 200.0 * rng.next()
        };
        let outcome = match latency {
            l if l > 5000.0 => "slow",
            l if l < 150.0 => "fast",
            _ => "ok",
        };
        probes.push(ProbePoint {
            t,
            latency_ms: Some(latency),
            outcome: outcome.into(),
        });
        t += Duration::minutes(3);
    }

    let heatmap = Heatmap::from_minutes(&minutes, Berlin);
    let hours = |steps: &[Step]| -> f64 {
        steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let end = steps.get(i + 1).map_or(to, |n| n.t);
                f64::from(s.quantity) * (end - s.t).num_seconds() as f64 / 3600.0
            })
            .sum()
    };
    let mut p95s: Vec<f64> = minutes.iter().filter_map(|m| m.p95_ms).collect();
    p95s.sort_by(f64::total_cmp);
    let summary = Summary {
        from: Some(from),
        to: Some(to),
        requests: Some(minutes.iter().map(|m| m.requests).sum()),
        errors: Some(minutes.iter().map(|m| m.errors).sum()),
        p95_ms: p95s.get(p95s.len() * 95 / 100).copied(),
        dyno_hours: Some(hours(&quantity)),
        dyno_hours_schedule: Some(hours(&floor)),
        dyno_hours_max: Some(f64::from(max) * (to - from).num_minutes() as f64 / 60.0),
        scale_events: Some(scales.len() as u64),
        alerts: Some(alerts.len() as u64),
        notes: vec![(shape.text)("12 lines skipped as garbage")],
    };

    TargetReport {
        app: shape.app.into(),
        process: "web".into(),
        concurrency: shape.concurrency,
        slow_ms: Some(5000.0),
        max: Some(max),
        queue_latency_ms: None,
        queue: Vec::new(),
        minutes,
        quantity,
        floor,
        scales,
        alerts,
        probes,
        heatmap: Some(heatmap),
        summary,
    }
}

/// The report of the synthetic week: `shop/web` (concurrency known) and `api/web` (not), with
/// [`HOSTILE`] in the title, a scale reason, an alert message and a note.
pub fn report() -> ReportData {
    week(|plain| format!("{plain} {HOSTILE}"))
}

/// The same week with plain text only (for the screenshot).
pub fn plain_report() -> ReportData {
    week(|plain| plain.to_string())
}

fn week(text: fn(&str) -> String) -> ReportData {
    let from = week_start();
    let to = week_end();
    ReportData {
        title: text("autoscale traffic report"),
        generated_at: to + Duration::minutes(5),
        zone: Zone::covering(Berlin, from, to),
        targets: vec![
            target(&Shape {
                app: "shop",
                peak: 1800.0,
                seed: 0x9e37_79b9_7f4a_7c15,
                concurrency: Some(2),
                incident: (2, 14, 5),
                text,
            }),
            target(&Shape {
                app: "api",
                peak: 600.0,
                seed: 0xd1b5_4a32_d192_ed03,
                concurrency: None,
                incident: (3, 9, 40),
                text,
            }),
        ],
    }
}
