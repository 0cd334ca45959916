//! `autoscale plan`: what each target's schedule does and what it saves. No token, no network.
//!
//! Savings are measured against the schedule's peak all week — what a team runs without a
//! schedule — not against AUTOSCALE_MAX (the fail-safe's ceiling, shown separately): measuring
//! against max would flatter the schedule.
//!
//! Costs: at `--price` per dyno-hour, or else at Heroku's list prices for the sizes the
//! schedule names ([`crate::price`]). An edge that changes the size is marked: Heroku restarts
//! every dyno of the process type then.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::{Target, Targets};

/// Weeks in an average month (365.25 / 12 / 7).
const WEEKS_PER_MONTH: f64 = 4.348;

/// The plan of every target, plus totals.
#[derive(Debug, Serialize)]
pub struct Plan {
    pub at: String,
    pub targets: Vec<TargetPlan>,
    pub totals: Totals,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_per_dyno_hour: Option<f64>,
    /// With one target, its plan is also at the top level (the contract's shape).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub single: Option<TargetPlan>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetPlan {
    pub app: String,
    pub process: String,
    pub shard: u32,
    /// None when nothing fired in the lookback window (e.g. only yearly entries).
    pub quantity: Option<u32>,
    pub next: Vec<PlanEdge>,
    pub dyno_hours_per_week: f64,
    /// The schedule's peak all week: the honest baseline.
    pub peak: u32,
    pub dyno_hours_per_week_at_peak: f64,
    pub dyno_hours_per_week_at_max: f64,
    /// Saved against the peak all week.
    pub saving_percent: f64,
    pub schedule: String,
    pub tz: String,
    pub max: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    /// The list prices the cost is at (without `--price`): each size the week runs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub list_prices: Vec<SizePrice>,
    pub warnings: Vec<String>,
    /// The schedule used on holidays.
    pub holiday_schedule: String,
    /// Upcoming holidays (local dates), the next few.
    pub holidays: Vec<String>,
    /// Dyno-hours over the next 7 days from `at`, holidays included (the typical week above
    /// has none).
    pub dyno_hours_next_7_days: f64,
}

/// Money, per week and per month, at a price per dyno-hour.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Cost {
    pub per_week: f64,
    pub per_month: f64,
    pub per_week_at_peak: f64,
    pub per_month_at_peak: f64,
    pub per_week_at_max: f64,
    pub saved_per_month: f64,
}

/// A size and Heroku's list price of its dyno-hour.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SizePrice {
    pub size: String,
    pub per_dyno_hour: f64,
}

impl Cost {
    fn new(price: f64, hours: f64, at_peak: f64, at_max: f64) -> Cost {
        Cost::of_week(price * hours, price * at_peak, price * at_max)
    }

    /// From a week's money: the schedule's, at its peak, at max.
    fn of_week(week: f64, at_peak: f64, at_max: f64) -> Cost {
        Cost {
            per_week: round2(week),
            per_month: round2(week * WEEKS_PER_MONTH),
            per_week_at_peak: round2(at_peak),
            per_month_at_peak: round2(at_peak * WEEKS_PER_MONTH),
            per_week_at_max: round2(at_max),
            saved_per_month: round2((at_peak - week) * WEEKS_PER_MONTH),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Totals {
    pub targets: usize,
    pub dyno_hours_per_week: f64,
    pub dyno_hours_per_week_at_peak: f64,
    pub dyno_hours_per_week_at_max: f64,
    pub saving_percent: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlanEdge {
    pub at: String,
    pub quantity: u32,
    /// The same instant in AUTOSCALE_TZ, when that is not UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<String>,
    /// The entry as written, or `holiday starts` / `holiday ends`.
    pub entry: String,
    /// Set on a holiday (a holiday schedule's entry or a holiday's start).
    pub holiday: bool,
    /// The dyno size the edge names (None keeps the size that runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// The edge changes the size: Heroku restarts every dyno of the process type.
    pub size_change: bool,
}

/// Upcoming holidays listed.
const HOLIDAYS_SHOWN: usize = 10;

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn percent(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        round1(100.0 * part / whole)
    } else {
        0.0
    }
}

fn utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn target_plan(target: &Target, at: DateTime<Utc>, n: usize, price: Option<f64>) -> TargetPlan {
    use crate::calendar::EdgeKind;
    let schedule = &target.schedule;
    let calendar = target.calendar();
    let tz = schedule.tz();
    let local = tz != chrono_tz::UTC;
    let edges = calendar.next_edges(at, n);
    let named: Vec<_> = edges.iter().map(|e| e.size).collect();
    let before = calendar.floor(at).and_then(|e| e.size);
    let changes = crate::price::size_changes(before, &named);
    let next = edges
        .into_iter()
        .zip(changes)
        .map(|(e, change)| PlanEdge {
            at: utc(e.at),
            quantity: e.quantity,
            local: local.then(|| e.at.with_timezone(&tz).to_rfc3339()),
            entry: match e.kind {
                EdgeKind::Normal { entry } => schedule.entries()[entry].when.clone(),
                EdgeKind::Holiday { entry } => format!(
                    "holiday {}",
                    calendar.holiday_schedule().entries()[entry].when
                ),
                EdgeKind::HolidayStart => "holiday starts".to_owned(),
                EdgeKind::HolidayEnd => "holiday ends".to_owned(),
            },
            holiday: e.holiday(),
            size: e.size.map(|s| s.name().to_owned()),
            size_change: change.is_some(),
        })
        .collect();
    let holidays = calendar
        .holidays()
        .upcoming(calendar.local_date(at))
        .take(HOLIDAYS_SHOWN)
        .map(|d| d.to_string())
        .collect();
    let next_week = calendar.dyno_hours(at, at + chrono::Duration::days(7));
    let hours = schedule.dyno_hours_per_week(at);
    let peak = schedule.max_quantity();
    let at_peak = f64::from(peak) * 168.0;
    let at_max = f64::from(target.thresholds.max) * 168.0;
    let list = match price {
        Some(_) => None,
        None => crate::price::week(schedule, at, target.thresholds.max),
    };
    let cost = match (price, &list) {
        (Some(p), _) => Some(Cost::new(p, hours, at_peak, at_max)),
        (None, Some(w)) => Some(Cost::of_week(w.cost, w.at_peak, w.at_max)),
        (None, None) => None,
    };
    let list_prices = list.map_or_else(Vec::new, |w| {
        w.sizes
            .iter()
            .map(|s| SizePrice {
                size: s.name().to_owned(),
                per_dyno_hour: (s.hourly() * 10_000.0).round() / 10_000.0,
            })
            .collect()
    });
    TargetPlan {
        app: target.app.clone(),
        process: target.process.clone(),
        shard: target.shard,
        quantity: calendar.floor(at).map(|e| e.quantity),
        next,
        dyno_hours_per_week: round1(hours),
        peak,
        dyno_hours_per_week_at_peak: round1(at_peak),
        dyno_hours_per_week_at_max: round1(at_max),
        saving_percent: percent(at_peak - hours, at_peak),
        schedule: schedule.describe(),
        tz: tz.to_string(),
        max: target.thresholds.max,
        cost,
        list_prices,
        warnings: target.warnings.clone(),
        holiday_schedule: calendar.holiday_schedule().describe(),
        holidays,
        dyno_hours_next_7_days: round1(next_week),
    }
}

/// Fetches every holiday feed of the targets once (each with its own timeout), for a plan or
/// a check: returns every feed's status.
pub async fn fetch_feeds(
    targets: &[Target],
    now: DateTime<Utc>,
) -> Vec<crate::calendar::feed::FeedStatus> {
    let mut seen: Vec<std::sync::Arc<crate::calendar::feed::HolidayFeeds>> = Vec::new();
    for feeds in targets.iter().filter_map(|t| t.holidays.clone()) {
        if feeds.has_feeds() && !seen.iter().any(|f| std::sync::Arc::ptr_eq(f, &feeds)) {
            seen.push(feeds);
        }
    }
    let mut statuses = Vec::new();
    for feeds in seen {
        statuses.extend(feeds.refresh(now).await);
    }
    statuses
}

/// Computes the plan at `at`, with `n` next edges per target and an optional price per
/// dyno-hour.
pub fn plan(targets: &Targets, at: DateTime<Utc>, n: usize, price: Option<f64>) -> Plan {
    let plans: Vec<TargetPlan> = targets
        .all
        .iter()
        .map(|t| target_plan(t, at, n, price))
        .collect();
    let hours: f64 = plans.iter().map(|p| p.dyno_hours_per_week).sum();
    let at_peak: f64 = plans.iter().map(|p| p.dyno_hours_per_week_at_peak).sum();
    let at_max: f64 = plans.iter().map(|p| p.dyno_hours_per_week_at_max).sum();
    Plan {
        at: utc(at),
        totals: Totals {
            targets: plans.len(),
            dyno_hours_per_week: round1(hours),
            dyno_hours_per_week_at_peak: round1(at_peak),
            dyno_hours_per_week_at_max: round1(at_max),
            saving_percent: percent(at_peak - hours, at_peak),
            cost: match price {
                Some(p) => Some(Cost::new(p, hours, at_peak, at_max)),
                None => list_total(&plans),
            },
        },
        single: (plans.len() == 1).then(|| plans[0].clone()),
        targets: plans,
        price_per_dyno_hour: price,
    }
}

/// Every target's list-price cost added up, when each has one.
fn list_total(plans: &[TargetPlan]) -> Option<Cost> {
    let costs: Option<Vec<Cost>> = plans.iter().map(|p| p.cost).collect();
    let costs = costs.filter(|c| !c.is_empty())?;
    let sum = |f: fn(&Cost) -> f64| round2(costs.iter().map(f).sum::<f64>());
    Some(Cost {
        per_week: sum(|c| c.per_week),
        per_month: sum(|c| c.per_month),
        per_week_at_peak: sum(|c| c.per_week_at_peak),
        per_month_at_peak: sum(|c| c.per_month_at_peak),
        per_week_at_max: sum(|c| c.per_week_at_max),
        saved_per_month: sum(|c| c.saved_per_month),
    })
}

/// The plan for a person.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let many = plan.targets.len() > 1;
    for (i, t) in plan.targets.iter().enumerate() {
        if many {
            if i > 0 {
                out.push('\n');
            }
            let _ = writeln!(out, "── {}/{}   (shard {})", t.app, t.process, t.shard);
        }
        render_target(&mut out, plan, t);
    }
    if many {
        let total = &plan.totals;
        let _ = writeln!(
            out,
            "\ntotal, {} targets   {:.1} dyno-hours a week with the schedules, {:.1} at their peaks: {:.1} saved ({:.1} %); {:.1} always at max",
            total.targets,
            total.dyno_hours_per_week,
            total.dyno_hours_per_week_at_peak,
            total.dyno_hours_per_week_at_peak - total.dyno_hours_per_week,
            total.saving_percent,
            total.dyno_hours_per_week_at_max,
        );
        if let Some(c) = total.cost {
            let at = match plan.price_per_dyno_hour {
                Some(p) => format!("at {p} per dyno-hour"),
                None => "at Heroku's list prices".to_owned(),
            };
            let _ = writeln!(
                out,
                "total cost {at}   {:.2} a month, {:.2} at the peaks: {:.2} a month saved",
                c.per_month, c.per_month_at_peak, c.saved_per_month
            );
        }
    }
    out
}

fn render_target(out: &mut String, plan: &Plan, t: &TargetPlan) {
    let _ = writeln!(
        out,
        "schedule   {}   (zone {}, max {})",
        t.schedule, t.tz, t.max
    );
    match t.quantity {
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
    for e in &t.next {
        let local = e
            .local
            .as_deref()
            .map(|l| format!("   {l}"))
            .unwrap_or_default();
        let mark = if e.holiday { "  (holiday)" } else { "" };
        let size = e
            .size
            .as_deref()
            .map(|s| format!(" {s}"))
            .unwrap_or_default();
        let change = if e.size_change {
            format!("  (size change: Heroku restarts every {} dyno)", t.process)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {}  → {:>3}{size}   {}{local}{mark}{change}",
            e.at, e.quantity, e.entry
        );
    }
    if t.next.is_empty() {
        let _ = writeln!(out, "  (none: no entry fires again)");
    }
    let _ = writeln!(
        out,
        "dyno-hours per week   {:.1} with the schedule, {:.1} always at its peak of {}: {:.1} saved ({:.1} %); always at max {}: {:.1}",
        t.dyno_hours_per_week,
        t.dyno_hours_per_week_at_peak,
        t.peak,
        t.dyno_hours_per_week_at_peak - t.dyno_hours_per_week,
        t.saving_percent,
        t.max,
        t.dyno_hours_per_week_at_max,
    );
    if let Some(c) = t.cost {
        let at = match plan.price_per_dyno_hour {
            Some(p) => format!("at {p} per dyno-hour"),
            None => {
                let prices: Vec<String> = t
                    .list_prices
                    .iter()
                    .map(|p| format!("{} {:.4}", p.size, p.per_dyno_hour))
                    .collect();
                format!(
                    "at Heroku's list prices (USD per dyno-hour: {}; --price overrides)",
                    prices.join(", ")
                )
            }
        };
        let _ = writeln!(
            out,
            "cost {at}   {:.2} a week ({:.2} a month), always at the peak {:.2} a week ({:.2} a month): {:.2} a month saved",
            c.per_week, c.per_month, c.per_week_at_peak, c.per_month_at_peak, c.saved_per_month
        );
    }
    if !t.holidays.is_empty() {
        let _ = writeln!(
            out,
            "holidays   {}   (schedule {})",
            t.holidays.join(", "),
            t.holiday_schedule
        );
        let _ = writeln!(
            out,
            "dyno-hours in the next 7 days   {:.1} (holidays included)",
            t.dyno_hours_next_7_days
        );
    }
    for w in &t.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
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
    use crate::config::field::*;
    use crate::config::{Env, Raw};

    fn targets(pairs: &[(&str, &str)]) -> Targets {
        let mut raw = Raw::from_pairs([(APP, "my-app")]);
        for (k, v) in pairs {
            raw.set(k, *v);
        }
        crate::config::targets(&raw, &Env::default()).unwrap()
    }

    #[test]
    fn the_default_schedule_saves_18_percent_against_its_peak() {
        let at = "2026-12-01T06:59:00Z".parse().unwrap();
        let p = plan(&targets(&[(MAX, "5")]), at, 6, Some(0.05));
        let t = &p.targets[0];
        assert_eq!(t.quantity, Some(1));
        assert_eq!(t.next[0].at, "2026-12-01T07:00:00Z");
        assert_eq!(t.next[0].quantity, 3);
        assert_eq!(t.next.len(), 6);
        assert_eq!(t.dyno_hours_per_week, 413.0);
        assert_eq!(t.dyno_hours_per_week_at_peak, 504.0);
        // Max 5 does not inflate the saving (it would say 50.8 % against 840).
        assert_eq!(t.dyno_hours_per_week_at_max, 840.0);
        assert_eq!(t.saving_percent, 18.1);
        let c = t.cost.unwrap();
        assert_eq!(c.per_week, 20.65);
        assert_eq!(c.saved_per_month, round2(0.05 * 91.0 * WEEKS_PER_MONTH));
        let text = render(&p);
        assert!(text.contains("91.0 saved (18.1 %)"), "{text}");
        assert!(text.contains("always at max 5: 840.0"), "{text}");
        // One target: the contract's JSON shape at the top level too.
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["quantity"], 1);
        assert_eq!(json["dyno_hours_per_week"], 413.0);
        assert_eq!(json["dyno_hours_per_week_at_max"], 840.0);
        assert_eq!(json["next"][0]["at"], "2026-12-01T07:00:00Z");
        assert_eq!(json["cost"]["per_month"], c.per_month);
        assert_eq!(json["targets"][0]["app"], "my-app");
    }

    #[test]
    fn no_headroom_is_warned_about_only_when_max_was_set() {
        let at = "2026-12-01T06:59:00Z".parse().unwrap();
        let text = render(&plan(&targets(&[]), at, 1, None));
        assert!(!text.contains("warning"), "the defaults: {text}");
        let text = render(&plan(&targets(&[("AUTOSCALE_MAX", "3")]), at, 1, None));
        assert!(
            text.contains("warning: max 3 is the schedule's peak"),
            "{text}"
        );
    }

    #[test]
    fn a_zone_shows_local_times() {
        let at = "2026-12-01T00:00:00Z".parse().unwrap();
        let p = plan(
            &targets(&[(SCHEDULE, "07:00=3"), (TZ, "America/New_York")]),
            at,
            1,
            None,
        );
        assert_eq!(p.targets[0].next[0].at, "2026-12-01T12:00:00Z");
        assert_eq!(
            p.targets[0].next[0].local.as_deref(),
            Some("2026-12-01T07:00:00-05:00")
        );
    }

    #[test]
    fn a_holiday_drops_to_the_holiday_quantity_for_the_day() {
        let at = "2026-12-24T21:00:00Z".parse().unwrap();
        let p = plan(&targets(&[(HOLIDAYS, "2026-12-25")]), at, 6, None);
        let t = &p.targets[0];
        let edges: Vec<(&str, u32, bool)> = t
            .next
            .iter()
            .map(|e| (e.at.as_str(), e.quantity, e.holiday))
            .collect();
        assert_eq!(
            edges[..3],
            [
                ("2026-12-24T22:00:00Z", 2, false),
                ("2026-12-25T00:00:00Z", 1, true),
                ("2026-12-26T00:00:00Z", 2, false),
            ]
        );
        assert_eq!(t.next[1].entry, "holiday starts");
        assert_eq!(t.holidays, ["2026-12-25"]);
        // A typical week is 413 dyno-hours; Christmas runs 1 dyno for 24 hours instead of 59
        // dyno-hours (and the day after starts at 2 instead of 2): 35 fewer.
        assert_eq!(t.dyno_hours_next_7_days, 413.0 - 35.0);
        let text = render(&p);
        assert!(
            text.contains("2026-12-25T00:00:00Z  →   1   holiday starts  (holiday)"),
            "{text}"
        );
        assert!(
            text.contains("holidays   2026-12-25   (schedule 00:00=1)"),
            "{text}"
        );
        // In Berlin the same dates shift by the offset.
        let p = plan(
            &targets(&[(HOLIDAYS, "2026-12-25"), (TZ, "Europe/Berlin")]),
            at,
            3,
            None,
        );
        let ats: Vec<&str> = p.targets[0].next.iter().map(|e| e.at.as_str()).collect();
        assert_eq!(
            ats,
            [
                "2026-12-24T23:00:00Z",
                "2026-12-25T23:00:00Z",
                "2026-12-26T02:00:00Z"
            ]
        );
    }

    #[test]
    fn many_targets_have_totals_and_no_top_level_target() {
        let text = "[[target]]\napp = \"shop\"\n[[target]]\napp = \"shop\"\nprocess = \"worker\"\nschedule = \"00:00=1\"\n";
        let t = targets(&[(CONFIG, text)]);
        let at = "2026-12-01T06:59:00Z".parse().unwrap();
        let p = plan(&t, at, 2, Some(0.05));
        assert_eq!(p.totals.targets, 2);
        assert_eq!(p.totals.dyno_hours_per_week, 413.0 + 168.0);
        assert_eq!(p.totals.dyno_hours_per_week_at_peak, 504.0 + 168.0);
        let json = serde_json::to_value(&p).unwrap();
        assert!(json.get("quantity").is_none());
        let text = render(&p);
        assert!(text.contains("── shop/worker   (shard 1)"), "{text}");
        assert!(
            text.contains("total, 2 targets   581.0 dyno-hours"),
            "{text}"
        );
    }

    #[test]
    fn sizes_price_the_week_and_edges_that_change_one_are_marked() {
        let at = "2026-12-01T06:59:00Z".parse().unwrap();
        let t = targets(&[
            (
                SCHEDULE,
                "07:00=3:Performance-M; 12:00=2; 22:00=1:standard-1x",
            ),
            (MAX, "4"),
        ]);
        let p = plan(&t, at, 4, None);
        let tp = &p.targets[0];
        let marks: Vec<(u32, Option<&str>, bool)> = tp
            .next
            .iter()
            .map(|e| (e.quantity, e.size.as_deref(), e.size_change))
            .collect();
        assert_eq!(
            marks,
            [
                (3, Some("performance-m"), true),
                (2, None, false),
                (1, Some("standard-1x"), true),
                (3, Some("performance-m"), true),
            ]
        );
        // 3 × 5 h + 2 × 10 h of Performance-M, 9 h of 1 Standard-1X, a day.
        let week = 7.0 * ((15.0 + 20.0) * 250.0 + 9.0 * 25.0) / 720.0;
        let c = tp.cost.unwrap();
        assert_eq!(c.per_week, round2(week));
        assert_eq!(c.per_week_at_peak, round2(3.0 * 168.0 * 250.0 / 720.0));
        assert_eq!(c.per_week_at_max, round2(4.0 * 168.0 * 250.0 / 720.0));
        assert_eq!(p.totals.cost.unwrap().per_week, c.per_week);
        assert_eq!(
            tp.list_prices,
            [
                SizePrice {
                    size: "standard-1x".into(),
                    per_dyno_hour: 0.0347
                },
                SizePrice {
                    size: "performance-m".into(),
                    per_dyno_hour: 0.3472
                },
            ]
        );
        let text = render(&p);
        assert!(
            text.contains(
                "→   3 performance-m   07:00  (size change: Heroku restarts every web dyno)"
            ),
            "{text}"
        );
        assert!(text.contains("→   2   12:00\n"), "{text}");
        assert!(
            text.contains("cost at Heroku's list prices (USD per dyno-hour: standard-1x 0.0347, performance-m 0.3472; --price overrides)"),
            "{text}"
        );
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["next"][0]["size"], "performance-m");
        assert_eq!(json["next"][0]["size_change"], true);
        assert!(json["next"][1].get("size").is_none());
        // --price overrides the table.
        let flat = plan(&t, at, 4, Some(0.1));
        let hours = flat.targets[0].dyno_hours_per_week;
        assert_eq!(flat.targets[0].cost.unwrap().per_week, round2(0.1 * hours));
        assert!(flat.targets[0].list_prices.is_empty());
        assert!(render(&flat).contains("cost at 0.1 per dyno-hour"));
        // No size and no --price: no cost, as before.
        let plain = plan(&targets(&[]), at, 4, None);
        assert_eq!(plain.targets[0].cost, None);
        assert_eq!(plain.totals.cost, None);
        assert!(plain.targets[0].next.iter().all(|e| !e.size_change));
    }
}
