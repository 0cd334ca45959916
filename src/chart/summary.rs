//! The figures of one target in a few lines: what `chart` prints, what the SVG's summary block
//! and the HTML report's summary show.
//!
//! Everything here comes from the [`TargetData`] alone, so the same traffic read from router
//! lines, Logplex frames or `event=traffic` lines gives the same summary. Dyno-hours cover the
//! span of the daemon's own lines (the only time the quantity is known) and are set against the
//! schedule, the schedule's peak all the time (what a team runs without a schedule: the honest
//! baseline of a saving) and the maximum.
//!
//! Pure: no I/O, no clock.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::dataset::{FloorSteps, TargetData};
use crate::history::rows::ProbeSource;
use crate::probe::Outcome;
use crate::steps::{self, value_at, Before};
use crate::traffic::counts::Counts;

/// The traffic of a target, over all its minutes.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficSummary {
    /// Minutes with traffic.
    pub minutes: u64,
    /// The minutes' counters, added up.
    pub counts: Counts,
    /// The busiest minute: its start and requests.
    pub peak: (DateTime<Utc>, u64),
    /// Medians of the minutes' p50 and p95 (`None` without service times).
    pub p50_ms: Option<u32>,
    pub p95_ms: Option<u32>,
    /// The minute with the highest p95.
    pub worst_p95: Option<(DateTime<Utc>, u32)>,
    /// Mean requests in service over the minutes with traffic, and the busiest minute.
    pub busy_mean: f64,
    pub busy_peak: (DateTime<Utc>, f64),
    /// Minutes whose busy exceeded quantity × concurrency (when both are known).
    pub over_capacity: Option<u64>,
}

/// A worker's queue minutes, summed up.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSummary {
    pub minutes: u64,
    /// How long each of them lasted: a minute, or the time between reads when the chart was
    /// given reads (`autoscale demo`; see [`TargetData::period`]).
    pub period: chrono::TimeDelta,
    /// The latency the queue is held under (AUTOSCALE_QUEUE_LATENCY), when known, and the
    /// minutes whose oldest waiting job was not older.
    pub target_ms: Option<u64>,
    pub within: u64,
    /// The oldest waiting job, and the most jobs waiting, and when.
    pub worst_latency: (DateTime<Utc>, u64),
    pub most_waiting: (DateTime<Utc>, u64),
    /// Jobs done, over the minutes that counted them.
    pub done: Option<u64>,
}

/// One target's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub app: String,
    pub process: String,
    /// The schedule's zone: local times are shown in it.
    pub zone: Tz,
    /// The first and last instant anything is known about.
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub traffic: Option<TrafficSummary>,
    pub queue: Option<QueueSummary>,
    /// `probe` events, whatever their source; `traffic_checks` of them judged from traffic.
    pub checks: usize,
    pub traffic_checks: usize,
    /// Checks whose outcome was down or slow.
    pub failures: usize,
    pub scale_events: usize,
    /// Scale events by reason, most frequent first.
    pub scale_reasons: Vec<(String, usize)>,
    /// Scale events whose result was `error`.
    pub scale_errors: usize,
    /// The daemon ran dry (a `start` line says so, or a decision was a dry run).
    pub dry_run: bool,
    pub alerts: usize,
    pub holds: usize,
    /// Hours the dyno-hours below cover: the span of the daemon's lines (else of the traffic).
    pub hours: f64,
    /// Integral of the quantity: `None` when the input never says the quantity.
    pub dyno_hours: Option<f64>,
    /// Integral of the schedule's floor: `None` without a schedule.
    pub dyno_hours_schedule: Option<f64>,
    /// The schedule's largest quantity, and running it all the time.
    pub schedule_peak: Option<u32>,
    pub dyno_hours_peak: Option<f64>,
    pub max: Option<u32>,
    pub dyno_hours_max: Option<f64>,
    /// The list price of an average dyno-hour of the schedule's sizes ([`crate::price`]), when
    /// the schedule names any.
    pub list_price: Option<f64>,
}

impl Summary {
    /// The summary of `target`; `floor` is its floor over the summary's span (see
    /// [`Summary::span_of`]).
    pub fn of(target: &TargetData, floor: &FloorSteps) -> Summary {
        let settings = target.settings();
        let span = target.span();
        let (start, end) = Summary::span_of(target).unzip();
        let hours = match (start, end) {
            (Some(a), Some(b)) => seconds(b - a) / 3600.0,
            _ => 0.0,
        };
        let quantity = target.quantity_steps();
        let dyno_hours = match (start, end, quantity.is_empty()) {
            (Some(a), Some(b), false) => Some(steps::dyno_hours(&quantity, a, b, Before::First)),
            _ => None,
        };
        let dyno_hours_schedule = match (start, end, floor.steps.is_empty()) {
            (Some(a), Some(b), false) => Some(steps::dyno_hours(&floor.steps, a, b, Before::First)),
            _ => None,
        };
        let schedule_peak = settings
            .and_then(|s| s.schedule.as_ref())
            .map(|s| s.max_quantity());
        let max = settings.and_then(|s| s.max);
        let concurrency = settings.and_then(|s| s.concurrency);
        let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
        for scale in &target.scales {
            *reasons.entry(scale.reason.as_str()).or_default() += 1;
        }
        let mut scale_reasons: Vec<(String, usize)> = reasons
            .into_iter()
            .map(|(reason, n)| (reason.to_owned(), n))
            .collect();
        scale_reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Summary {
            app: target.app.clone(),
            process: target.process.clone(),
            zone: target.zone(),
            from: span.map(|s| s.0),
            to: span.map(|s| s.1),
            traffic: traffic(target, &quantity, concurrency),
            queue: queue(target),
            checks: target.probes.len(),
            traffic_checks: target
                .probes
                .iter()
                .filter(|p| p.source == ProbeSource::Traffic)
                .count(),
            failures: target
                .probes
                .iter()
                .filter(|p| matches!(p.outcome, Outcome::Down | Outcome::Slow))
                .count(),
            scale_events: target.scales.len(),
            scale_reasons,
            scale_errors: target.scales.iter().filter(|s| s.result == "error").count(),
            dry_run: target.starts.iter().any(|s| s.dry_run)
                || target.scales.iter().any(|s| s.result == "dry_run"),
            alerts: target.alerts.len(),
            holds: target.holds.iter().filter(|h| !h.ended).count(),
            hours,
            dyno_hours,
            dyno_hours_schedule,
            schedule_peak,
            dyno_hours_peak: schedule_peak.map(|p| f64::from(p) * hours),
            max,
            dyno_hours_max: max.map(|m| f64::from(m) * hours),
            list_price: settings
                .and_then(|s| s.schedule.as_ref())
                .zip(start)
                .and_then(|(schedule, start)| crate::price::average_hourly(schedule, start)),
        }
    }

    /// The span dyno-hours cover: the daemon's lines (the quantity is known only there), else
    /// the traffic's.
    pub fn span_of(target: &TargetData) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        target.first_event.zip(target.last_event).or(target.span())
    }

    /// `app/process`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.app, self.process)
    }
}

fn seconds(d: chrono::TimeDelta) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

fn queue(target: &TargetData) -> Option<QueueSummary> {
    let first = target.queue_minutes().next()?;
    let target_ms = target
        .settings()
        .and_then(|s| s.queue_latency_ms)
        .map(|ms| ms.round() as u64);
    let mut s = QueueSummary {
        minutes: 0,
        period: target.period(),
        target_ms,
        within: 0,
        worst_latency: (first.minute, first.latency_ms),
        most_waiting: (first.minute, first.depth),
        done: None,
    };
    for m in target.queue_minutes() {
        s.minutes += 1;
        if target_ms.is_some_and(|t| m.latency_ms <= t) {
            s.within += 1;
        }
        if m.latency_ms > s.worst_latency.1 {
            s.worst_latency = (m.minute, m.latency_ms);
        }
        if m.depth > s.most_waiting.1 {
            s.most_waiting = (m.minute, m.depth);
        }
        if let Some(done) = m.done {
            s.done = Some(s.done.unwrap_or(0).saturating_add(done));
        }
    }
    Some(s)
}

fn traffic(
    target: &TargetData,
    quantity: &[(DateTime<Utc>, u32)],
    concurrency: Option<u32>,
) -> Option<TrafficSummary> {
    let first = target.minutes().next()?;
    let mut s = TrafficSummary {
        minutes: 0,
        counts: Counts::default(),
        peak: (first.minute, first.requests),
        p50_ms: None,
        p95_ms: None,
        worst_p95: None,
        busy_mean: 0.0,
        busy_peak: (first.minute, first.busy),
        over_capacity: None,
    };
    let (mut p50s, mut p95s) = (Vec::new(), Vec::new());
    let mut busy = 0.0;
    let mut over = 0u64;
    for m in target.minutes() {
        s.minutes += 1;
        s.counts.add(&m.counts());
        if m.requests > s.peak.1 {
            s.peak = (m.minute, m.requests);
        }
        if m.busy > s.busy_peak.1 {
            s.busy_peak = (m.minute, m.busy);
        }
        busy += m.busy;
        p50s.extend(m.p50_ms);
        if let Some(p95) = m.p95_ms {
            p95s.push(p95);
            if s.worst_p95.is_none_or(|(_, worst)| p95 > worst) {
                s.worst_p95 = Some((m.minute, p95));
            }
        }
        if let (Some(c), Some(q)) = (concurrency, value_at(quantity, m.minute, Before::First)) {
            if m.busy > f64::from(q) * f64::from(c) {
                over += 1;
            }
        }
    }
    s.busy_mean = busy / s.minutes as f64;
    s.p50_ms = median(&mut p50s);
    s.p95_ms = median(&mut p95s);
    s.over_capacity = (concurrency.is_some() && !quantity.is_empty()).then_some(over);
    Some(s)
}

/// The lower median of whole numbers.
fn median(values: &mut [u32]) -> Option<u32> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    Some(values[(values.len() - 1) / 2])
}

/// `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `87 ms`, `1.5 s`, `30 s`.
pub fn format_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{} s", trim_float(ms / 1000.0))
    } else {
        format!("{} ms", trim_float(ms))
    }
}

/// A number with at most two decimals, without trailing zeros.
pub fn trim_float(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// `3d 4h 5m`, `2h 0m`, `12m 3s`, `4.5s`.
pub fn human_span(secs: f64) -> String {
    let secs = secs.max(0.0);
    if secs < 60.0 {
        return format!("{}s", trim_float(secs));
    }
    let total = secs.round() as u64;
    let (d, h, m, s) = (
        total / 86400,
        total % 86400 / 3600,
        total % 3600 / 60,
        total % 60,
    );
    match (d, h) {
        (0, 0) => format!("{m}m {s}s"),
        (0, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h {m}m"),
    }
}

fn percent(part: f64, whole: f64) -> String {
    format!("{:.1}%", 100.0 * part / whole)
}

impl Summary {
    fn local(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.zone)
            .format("%a %d %b %H:%M %Z")
            .to_string()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} (times in {})", self.name(), self.zone)?;
        match (self.from, self.to) {
            (Some(from), Some(to)) => writeln!(
                f,
                "time range: {} to {} ({})",
                from.format("%Y-%m-%d %H:%M:%S UTC"),
                to.format("%Y-%m-%d %H:%M:%S UTC"),
                human_span(seconds(to - from))
            )?,
            _ => writeln!(f, "time range: none")?,
        }
        if let Some(q) = &self.queue {
            if q.period == chrono::TimeDelta::minutes(1) {
                write!(f, "queue: {} minutes", thousands(q.minutes))?;
            } else {
                write!(
                    f,
                    "queue: {} reads (one every {})",
                    thousands(q.minutes),
                    format_ms(q.period.num_milliseconds() as f64)
                )?;
            }
            if let Some(target) = q.target_ms {
                write!(
                    f,
                    ", the oldest job within the {} target in {} of them",
                    format_ms(target as f64),
                    percent(q.within as f64, q.minutes as f64)
                )?;
            }
            write!(
                f,
                "; the oldest {} at {}; the most waiting {} at {}",
                format_ms(q.worst_latency.1 as f64),
                self.local(q.worst_latency.0),
                thousands(q.most_waiting.1),
                self.local(q.most_waiting.0)
            )?;
            match q.done {
                Some(done) => writeln!(f, "; jobs done {}", thousands(done))?,
                None => writeln!(f)?,
            }
        }
        match &self.traffic {
            // A worker on its queue has no router traffic to speak of.
            None if self.queue.is_some() => {}
            None => writeln!(f, "traffic: none in the input")?,
            Some(t) => {
                let c = &t.counts;
                write!(
                    f,
                    "traffic: {} requests in {} minutes, the busiest {} at {}; errors {}",
                    thousands(c.requests),
                    thousands(t.minutes),
                    thousands(t.peak.1),
                    self.local(t.peak.0),
                    thousands(c.errors)
                )?;
                if c.requests > 0 {
                    write!(f, " ({})", percent(c.errors as f64, c.requests as f64))?;
                }
                writeln!(
                    f,
                    ": H10 {}, H12 {}, H13 {}, 5xx {}",
                    c.h10, c.h12, c.h13, c.s5xx
                )?;
                match (t.p50_ms, t.p95_ms, t.worst_p95) {
                    (Some(p50), Some(p95), Some((at, worst))) => writeln!(
                        f,
                        "service time: p50 {}, p95 {} (medians of the minutes'), the worst minute's p95 {} at {}",
                        format_ms(f64::from(p50)),
                        format_ms(f64::from(p95)),
                        format_ms(f64::from(worst)),
                        self.local(at)
                    )?,
                    _ => writeln!(f, "service time: none in the input")?,
                }
                write!(
                    f,
                    "busy: mean {:.2}, peak {:.2} requests in service at {}",
                    t.busy_mean,
                    t.busy_peak.1,
                    self.local(t.busy_peak.0)
                )?;
                match t.over_capacity {
                    Some(n) => writeln!(f, "; over capacity in {} minute(s)", thousands(n))?,
                    None => writeln!(f, "; capacity unknown (set concurrency)")?,
                }
            }
        }
        write!(
            f,
            "checks: {}, failures (down or slow): {}",
            self.checks, self.failures
        )?;
        if self.checks > 0 {
            write!(
                f,
                " ({})",
                percent(self.failures as f64, self.checks as f64)
            )?;
        }
        if self.traffic_checks > 0 {
            write!(f, "; {} judged from traffic minutes", self.traffic_checks)?;
        }
        writeln!(f)?;
        write!(f, "scale events: {}", self.scale_events)?;
        if !self.scale_reasons.is_empty() {
            let reasons: Vec<String> = self
                .scale_reasons
                .iter()
                .map(|(reason, n)| format!("{reason} {n}"))
                .collect();
            write!(f, " ({})", reasons.join(", "))?;
        }
        if self.scale_errors > 0 {
            write!(f, ", {} failed", self.scale_errors)?;
        }
        if self.dry_run {
            write!(f, "; dry run: decisions were not applied")?;
        }
        writeln!(f)?;
        writeln!(f, "alerts sent: {}; holds: {}", self.alerts, self.holds)?;
        write!(f, "{}", self.dyno_hours_line())
    }
}

impl Summary {
    /// `dyno-hours: 12.00 used, 10.00 by the schedule, 15.00 at its peak of 3 all the time
    /// (saving 20.0%), 30.00 at max 6`.
    fn dyno_hours_line(&self) -> String {
        // Short logs (a demo) would show only zeros with two decimals.
        let largest = [
            self.dyno_hours,
            self.dyno_hours_schedule,
            self.dyno_hours_peak,
            self.dyno_hours_max,
        ]
        .into_iter()
        .flatten()
        .fold(0.0, f64::max);
        let digits = if largest < 1.0 { 4 } else { 2 };
        let mut parts = Vec::new();
        match self.dyno_hours {
            Some(used) => parts.push(format!("{used:.digits$} used")),
            None => parts.push("used unknown (no quantity in the input)".to_owned()),
        }
        if let Some(h) = self.dyno_hours_schedule {
            parts.push(format!("{h:.digits$} by the schedule"));
        }
        if let (Some(h), Some(peak)) = (self.dyno_hours_peak, self.schedule_peak) {
            let saving = match self.dyno_hours {
                Some(used) if h > 0.0 && used <= h => {
                    format!(" (saving {})", percent(h - used, h))
                }
                // Outages ran above the peak: say so, not a negative saving.
                Some(used) if h > 0.0 => format!(" ({} more was used)", percent(used - h, h)),
                _ => String::new(),
            };
            parts.push(format!(
                "{h:.digits$} at its peak of {peak} all the time{saving}"
            ));
        }
        if let (Some(h), Some(max)) = (self.dyno_hours_max, self.max) {
            parts.push(format!("{h:.digits$} at max {max}"));
        }
        let mut line = format!(
            "dyno-hours over {}: {}",
            human_span(self.hours * 3600.0),
            parts.join(", ")
        );
        if let Some(price) = self.list_price {
            let mut money = Vec::new();
            if let Some(used) = self.dyno_hours {
                money.push(format!("{:.2} used", used * price));
            }
            if let Some(h) = self.dyno_hours_peak {
                money.push(format!("{:.2} at its peak all the time", h * price));
            }
            if !money.is_empty() {
                line.push_str(&format!(
                    "\ncost at Heroku's list prices ({price:.4} USD per dyno-hour, the schedule's sizes on average): {}",
                    money.join(", ")
                ));
            }
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::read::tests::{read, ts, RAW};
    use crate::chart::read::Hints;
    use crate::traffic::minute::Minute;

    fn summary_of(text: &str) -> Summary {
        let d = read(text, &Hints::default());
        let t = &d.targets()[0];
        let (a, b) = t.span().unwrap();
        Summary::of(t, &t.floor_steps(a, b))
    }

    fn secs(a: &str, b: &str) -> f64 {
        (ts(b) - ts(a)).num_milliseconds() as f64 / 1000.0
    }

    #[test]
    fn a_day_of_the_daemon() {
        let s = summary_of(RAW);
        assert_eq!((s.checks, s.failures, s.traffic_checks), (6, 3, 0));
        assert_eq!(
            (s.scale_events, s.scale_errors, s.alerts, s.holds),
            (3, 0, 1, 0)
        );
        assert_eq!(
            s.scale_reasons,
            [
                ("down".to_owned(), 1),
                ("scale_in".to_owned(), 1),
                ("schedule".to_owned(), 1)
            ]
        );
        assert!(!s.dry_run);
        assert_eq!(s.from, Some(ts("2026-11-30T06:00:01.123Z")));
        assert_eq!(s.to, Some(ts("2026-11-30T08:00:01.123Z")));
        assert!(s.traffic.is_none());
        // 1 dyno until 06:03:01.7 (the first value also before it), 3 until 06:30, 1 until
        // 07:00:00.2, then 3.
        let used = (secs("2026-11-30T06:00:01.123Z", "2026-11-30T06:03:01.700Z")
            + 3.0 * secs("2026-11-30T06:03:01.700Z", "2026-11-30T06:30:00Z")
            + secs("2026-11-30T06:30:00Z", "2026-11-30T07:00:00.200Z")
            + 3.0 * secs("2026-11-30T07:00:00.200Z", "2026-11-30T08:00:01.123Z"))
            / 3600.0;
        assert!((s.dyno_hours.unwrap() - used).abs() < 1e-9, "{s:?}");
        let scheduled = (secs("2026-11-30T06:00:01.123Z", "2026-11-30T07:00:00Z")
            + 3.0 * secs("2026-11-30T07:00:00Z", "2026-11-30T08:00:01.123Z"))
            / 3600.0;
        assert!(
            (s.dyno_hours_schedule.unwrap() - scheduled).abs() < 1e-9,
            "{s:?}"
        );
        assert!((s.hours - 2.0).abs() < 1e-9);
        assert_eq!((s.schedule_peak, s.max), (Some(3), Some(3)));
        assert!((s.dyno_hours_peak.unwrap() - 6.0).abs() < 1e-9);
        assert!((s.dyno_hours_max.unwrap() - 6.0).abs() < 1e-9);

        let text = s.to_string();
        for part in [
            "shop/web (times in UTC)",
            "time range: 2026-11-30 06:00:01 UTC to 2026-11-30 08:00:01 UTC (2h 0m)",
            "traffic: none in the input",
            "checks: 6, failures (down or slow): 3 (50.0%)\n",
            "scale events: 3 (down 1, scale_in 1, schedule 1)\n",
            "alerts sent: 1; holds: 0",
            &format!("dyno-hours over 2h 0m: {used:.2} used, {scheduled:.2} by the schedule, 6.00 at its peak of 3 all the time (saving {:.1}%), 6.00 at max 3", 100.0 * (6.0 - used) / 6.0),
        ] {
            assert!(text.contains(part), "{part:?} in\n{text}");
        }
        // Outages that ran above the peak are said as more used, not a negative saving.
        let mut more = s.clone();
        more.dyno_hours = Some(7.5);
        let text = more.to_string();
        assert!(
            text.contains("6.00 at its peak of 3 all the time (25.0% more was used)"),
            "{text}"
        );
    }

    #[test]
    fn checks_down_without_a_start_line() {
        let s = summary_of(
            "ts=2026-11-30T06:00:00.000Z level=warn event=probe status=500 latency_ms=12 outcome=down error=x current=1 floor=1\n\
             ts=2026-11-30T06:00:05.000Z level=warn event=probe source=traffic status=\"\" latency_ms=10000 outcome=slow current=\"\"\n\
             ts=2026-11-30T06:00:05.100Z level=info event=scale from=1 to=3 reason=down result=error\n\
             ts=2026-11-30T06:00:05.100Z level=info event=scale from=1 to=3 reason=slow result=dry_run\n",
        );
        assert_eq!(
            (s.checks, s.failures, s.traffic_checks, s.scale_errors),
            (2, 2, 1, 1)
        );
        assert!(s.dry_run);
        assert!(
            (s.dyno_hours.unwrap() - 5.1 / 3600.0).abs() < 1e-12,
            "a failed scale changes nothing"
        );
        assert_eq!(
            (s.dyno_hours_schedule, s.dyno_hours_peak, s.dyno_hours_max),
            (None, None, None)
        );
        let text = s.to_string();
        assert!(
            text.contains(
                "checks: 2, failures (down or slow): 2 (100.0%); 1 judged from traffic minutes"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "scale events: 2 (down 1, slow 1), 1 failed; dry run: decisions were not applied"
            ),
            "{text}"
        );
        assert!(text.contains("dyno-hours over 5.1s: 0.0014 used"), "{text}");
    }

    fn minute(t: &str, requests: u64, p50: Option<u32>, p95: Option<u32>, busy: f64) -> Minute {
        Minute {
            app: "shop".into(),
            process: "web".into(),
            minute: ts(t),
            requests,
            p50_ms: p50,
            p95_ms: p95,
            p99_ms: p95,
            errors: 2,
            h10: 1,
            h12: 0,
            h13: 1,
            s2xx: requests - 2,
            s3xx: 0,
            s4xx: 0,
            s5xx: 1,
            busy,
            dynos: 1,
        }
    }

    #[test]
    fn traffic_figures_come_from_the_minutes_alone() {
        let mut d = crate::chart::Dataset::new();
        d.add_minute(minute(
            "2026-11-30T10:00:00Z",
            100,
            Some(50),
            Some(200),
            1.5,
        ));
        d.add_minute(minute(
            "2026-11-30T10:01:00Z",
            300,
            Some(80),
            Some(900),
            4.5,
        ));
        d.add_minute(minute(
            "2026-11-30T10:02:00Z",
            200,
            Some(60),
            Some(300),
            2.0,
        ));
        d.add_minute(minute("2026-11-30T10:03:00Z", 10, None, None, 0.0));
        d.add_quantity("shop", "web", ts("2026-11-30T10:00:30Z"), 2);
        let mut settings = crate::chart::dataset::Settings::of_target(
            &crate::config::targets(
                &crate::config::Raw::from_pairs([
                    ("AUTOSCALE_APP", "shop"),
                    ("AUTOSCALE_CONCURRENCY", "1"),
                    ("AUTOSCALE_TZ", "Europe/Berlin"),
                ]),
                &crate::config::Env::default(),
            )
            .unwrap()
            .all[0],
        );
        settings.at = ts("2026-11-30T09:00:00Z");
        d.add_settings("shop", "web", settings);
        let t = &d.targets()[0];
        let s = Summary::of(
            t,
            &t.floor_steps(ts("2026-11-30T09:00:00Z"), ts("2026-11-30T10:04:00Z")),
        );
        let traffic = s.traffic.clone().unwrap();
        assert_eq!(
            traffic,
            TrafficSummary {
                minutes: 4,
                counts: Counts {
                    requests: 610,
                    errors: 8,
                    h10: 4,
                    h12: 0,
                    h13: 4,
                    s5xx: 4,
                    ..traffic.counts
                },
                peak: (ts("2026-11-30T10:01:00Z"), 300),
                p50_ms: Some(60),
                p95_ms: Some(300),
                worst_p95: Some((ts("2026-11-30T10:01:00Z"), 900)),
                busy_mean: 2.0,
                busy_peak: (ts("2026-11-30T10:01:00Z"), 4.5),
                // Capacity 2 dynos × 1: only the minute at 4.5 is over (2.0 is at it; the
                // minute at 1.5, before the quantity is known, is measured against the first).
                over_capacity: Some(1),
            }
        );
        let text = s.to_string();
        for part in [
            "traffic: 610 requests in 4 minutes, the busiest 300 at Mon 30 Nov 11:01 CET; errors 8 (1.3%): H10 4, H12 0, H13 4, 5xx 4",
            "service time: p50 60 ms, p95 300 ms (medians of the minutes'), the worst minute's p95 900 ms at Mon 30 Nov 11:01 CET",
            "busy: mean 2.00, peak 4.50 requests in service at Mon 30 Nov 11:01 CET; over capacity in 1 minute(s)",
        ] {
            assert!(text.contains(part), "{part:?} in\n{text}");
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3]), Some(3));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2));
        assert_eq!(median(&mut [5, 1, 3]), Some(3));
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(30_240_000), "30,240,000");
        assert_eq!(format_ms(87.0), "87 ms");
        assert_eq!(format_ms(999.0), "999 ms");
        assert_eq!(format_ms(1000.0), "1 s");
        assert_eq!(format_ms(1500.0), "1.5 s");
        assert_eq!(trim_float(2.50), "2.5");
        assert_eq!(trim_float(3.0), "3");
        assert_eq!(human_span(4.5), "4.5s");
        assert_eq!(human_span(-3.0), "0s");
        assert_eq!(human_span(60.0), "1m 0s");
        assert_eq!(human_span(3600.0), "1h 0m");
        assert_eq!(human_span(90061.0), "1d 1h 1m");
        assert_eq!(percent(1.0, 8.0), "12.5%");
    }

    #[test]
    fn a_schedule_with_sizes_prices_the_dyno_hours() {
        let sized = RAW.replacen(
            r#"schedule="07:00=3; 22:00=2; 03:00=1""#,
            r#"schedule="07:00=3:performance-m; 22:00=2:standard-1x; 03:00=1""#,
            1,
        );
        let s = summary_of(&sized);
        // 3 × 15 h of Performance-M, 2 × 5 h and 1 × 4 h of Standard-1X, over 59 a day.
        let average: f64 = (45.0 * 250.0 + 14.0 * 25.0) / 720.0 / 59.0;
        assert_eq!(s.list_price, Some((average * 10_000.0).round() / 10_000.0));
        let p = s.list_price.unwrap();
        let text = s.to_string();
        let want = format!(
            "\ncost at Heroku's list prices ({p:.4} USD per dyno-hour, the schedule's sizes on average): {:.2} used, {:.2} at its peak all the time",
            s.dyno_hours.unwrap() * p,
            6.0 * p
        );
        assert!(text.ends_with(&want), "{text}");
        // Without sizes: no cost line.
        assert_eq!(summary_of(RAW).list_price, None);
        assert!(!summary_of(RAW).to_string().contains("cost at"));
    }
}
