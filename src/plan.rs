//! `autoscale plan`: what the schedule does and what it saves. No token, no network.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::ScheduleConfig;

/// Hours in a week, and weeks in an average month (365.25 / 12 / 7).
const WEEKS_PER_MONTH: f64 = 4.348;

#[derive(Debug, Serialize)]
pub struct Plan {
    pub at: String,
    /// None when nothing fired in the lookback window (e.g. only yearly entries).
    pub quantity: Option<u32>,
    pub next: Vec<PlanEdge>,
    pub dyno_hours_per_week: f64,
    pub dyno_hours_per_week_at_max: f64,
    pub saving_percent: f64,
    pub schedule: String,
    pub tz: String,
    pub max: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_per_dyno_hour: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_per_week: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_per_week_at_max: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct PlanEdge {
    pub at: String,
    pub quantity: u32,
    /// The same instant in AUTOSCALE_TZ, when that is not UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<String>,
    /// The entry as written.
    pub entry: String,
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Computes the plan at `at`, with `n` next edges and an optional price per dyno-hour.
pub fn plan(config: &ScheduleConfig, at: DateTime<Utc>, n: usize, price: Option<f64>) -> Plan {
    let schedule = &config.schedule;
    let tz = schedule.tz();
    let local = tz != chrono_tz::UTC;
    let next = schedule
        .next_edges(at, n)
        .into_iter()
        .map(|e| PlanEdge {
            at: utc(e.at),
            quantity: e.quantity,
            local: local.then(|| e.at.with_timezone(&tz).to_rfc3339()),
            entry: schedule.entries()[e.entry].when.clone(),
        })
        .collect();
    let hours = schedule.dyno_hours_per_week(at);
    let at_max = f64::from(config.max) * 168.0;
    Plan {
        at: utc(at),
        quantity: schedule.floor(at).map(|e| e.quantity),
        next,
        dyno_hours_per_week: round1(hours),
        dyno_hours_per_week_at_max: round1(at_max),
        saving_percent: round1(100.0 * (at_max - hours) / at_max),
        schedule: schedule.describe(),
        tz: tz.to_string(),
        max: config.max,
        price_per_dyno_hour: price,
        cost_per_week: price.map(|p| round2(p * hours)),
        cost_per_week_at_max: price.map(|p| round2(p * at_max)),
    }
}

/// The plan for a person.
pub fn render(plan: &Plan) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "schedule   {}   (zone {}, max {})",
        plan.schedule, plan.tz, plan.max
    );
    match plan.quantity {
        Some(q) => {
            let _ = writeln!(out, "at {}   {q} dyno{}", plan.at, plural(q));
        }
        None => {
            let _ = writeln!(
                out,
                "at {}   no floor (nothing fired in the last 8 days): the daemon holds nothing",
                plan.at
            );
        }
    }
    let _ = writeln!(out, "next edges");
    for e in &plan.next {
        let local = e
            .local
            .as_deref()
            .map(|l| format!("   {l}"))
            .unwrap_or_default();
        let _ = writeln!(out, "  {}  → {:>3}   {}{local}", e.at, e.quantity, e.entry);
    }
    if plan.next.is_empty() {
        let _ = writeln!(out, "  (none: no entry fires again)");
    }
    let saved = plan.dyno_hours_per_week_at_max - plan.dyno_hours_per_week;
    let _ = writeln!(
        out,
        "dyno-hours per week   {:.1} with the schedule, {:.1} always at {}: {:.1} saved ({:.1} %)",
        plan.dyno_hours_per_week,
        plan.dyno_hours_per_week_at_max,
        plan.max,
        saved,
        plan.saving_percent
    );
    if let (Some(p), Some(week), Some(week_max)) = (
        plan.price_per_dyno_hour,
        plan.cost_per_week,
        plan.cost_per_week_at_max,
    ) {
        let _ = writeln!(
            out,
            "cost at {p} per dyno-hour   {:.2} a week ({:.2} a month), always at max {:.2} a week ({:.2} a month): {:.2} a month saved",
            week,
            week * WEEKS_PER_MONTH,
            week_max,
            week_max * WEEKS_PER_MONTH,
            (week_max - week) * WEEKS_PER_MONTH
        );
    }
    out
}

fn plural(n: u32) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn config(schedule: Option<&str>, tz: Option<&str>) -> ScheduleConfig {
        Settings {
            schedule: schedule.map(String::from),
            tz: tz.map(String::from),
            ..Settings::default()
        }
        .resolve_schedule()
        .unwrap()
    }

    #[test]
    fn the_default_schedule_saves_18_percent() {
        let at = "2026-12-01T06:59:00Z".parse().unwrap();
        let p = plan(&config(None, None), at, 6, Some(0.05));
        assert_eq!(p.quantity, Some(1));
        assert_eq!(p.next[0].at, "2026-12-01T07:00:00Z");
        assert_eq!(p.next[0].quantity, 3);
        assert_eq!(p.next.len(), 6);
        assert_eq!(p.dyno_hours_per_week, 413.0);
        assert_eq!(p.dyno_hours_per_week_at_max, 504.0);
        assert_eq!(p.saving_percent, 18.1);
        assert_eq!(p.cost_per_week, Some(20.65));
        let text = render(&p);
        assert!(text.contains("91.0 saved (18.1 %)"), "{text}");
    }

    #[test]
    fn a_zone_shows_local_times() {
        let at = "2026-12-01T00:00:00Z".parse().unwrap();
        let p = plan(
            &config(Some("07:00=3"), Some("America/New_York")),
            at,
            1,
            None,
        );
        assert_eq!(p.next[0].at, "2026-12-01T12:00:00Z");
        assert_eq!(
            p.next[0].local.as_deref(),
            Some("2026-12-01T07:00:00-05:00")
        );
    }
}
