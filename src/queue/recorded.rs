//! A worker's recorded queue minutes, and what `replay` and `suggest` make of them: the queue
//! policy run over the jobs a recording saw, and the job slots each minute needed.
//!
//! A worker's queue minutes (`event=queue` lines, or the history's) say what waited and ran, not
//! the jobs themselves, and what waited depended on the dynos that ran then: replaying the
//! figures as they were would only repeat the past. So the jobs are estimated first, then
//! simulated ([`crate::queue::sim::replay`]) second by second under the settings, with the same
//! jobs for every policy:
//!
//! - jobs arriving in a minute = jobs done in it + the growth of the waiting and of the running
//!   jobs since the minute before (the jobs of the first minute: those waiting and running);
//! - the time a job runs, `S` = 60 × Σ running ÷ Σ done over the minutes (Little's law: the
//!   jobs running on average are the jobs done a second times how long each runs);
//! - a dyno works [`BOOT`] after it is asked for.
//!
//! A store that counts no job done (GoodJob, Solid Queue) gives no arrivals: such a recording is
//! not replayed, and the reason is said. A minute without a line (the store lost, the daemon
//! stopped) counts as a minute without arrivals.
//!
//! Pure: no I/O, no clock.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::sim::{self, Limits, Outcome, Policy, Recorded};

/// One minute of a worker's job queue (`event=queue`, or the history's queue minute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueMinute {
    pub minute: DateTime<Utc>,
    /// Jobs ready to run.
    pub depth: u64,
    /// Age of the oldest ready job, in milliseconds.
    pub latency_ms: u64,
    /// Jobs running, where the store says.
    pub busy: Option<u64>,
    /// Jobs finished since the previous minute's line, where the store counts them.
    pub done: Option<u64>,
    /// Dynos running when it was read, and the jobs each runs at once.
    pub dynos: u32,
    pub concurrency: u32,
}

impl QueueMinute {
    /// The jobs the running dynos can run at once.
    pub fn capacity(&self) -> u64 {
        u64::from(self.dynos) * u64::from(self.concurrency)
    }
}

/// Seconds a new worker dyno takes to work, assumed (Heroku's boot and the library's start).
pub const BOOT: u32 = 20;
/// The longest recording replayed, in minutes (a year).
pub const MAX_MINUTES: usize = 366 * 1440;

/// What the recording says about the jobs.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// From the first minute's start, one count a minute.
    pub per_minute: Vec<u32>,
    /// Seconds a job runs on average.
    pub service_mean: f64,
    /// Minutes of the span without a line.
    pub missing: u64,
}

impl Estimate {
    pub fn jobs(&self) -> u64 {
        self.per_minute.iter().map(|n| u64::from(*n)).sum()
    }
}

/// Why a recording cannot be replayed (one line that may be printed).
pub type Unreplayable = String;

/// The jobs of `minutes` (sorted by time, each once; see the module docs).
pub fn estimate(minutes: &[QueueMinute]) -> Result<Estimate, Unreplayable> {
    let (Some(first), Some(last)) = (minutes.first(), minutes.last()) else {
        return Err("no queue minutes".to_owned());
    };
    let span = usize::try_from((last.minute - first.minute).num_minutes())
        .map_err(|_| "the queue minutes are not in order".to_owned())?
        + 1;
    if span > MAX_MINUTES {
        return Err(format!(
            "the queue minutes span {span} minutes; replay reads at most {MAX_MINUTES}"
        ));
    }
    if minutes.iter().all(|m| m.done.is_none()) {
        return Err("its store counts no job done (only Sidekiq's does): the jobs that arrived cannot be known".to_owned());
    }
    let mut per_minute = vec![0u32; span];
    let (mut busy_sum, mut done_sum) = (0u64, 0u64);
    let mut previous: Option<&QueueMinute> = None;
    for m in minutes {
        let i = (m.minute - first.minute).num_minutes();
        let Some(slot) = usize::try_from(i).ok().and_then(|i| per_minute.get_mut(i)) else {
            return Err("the queue minutes are not in order".to_owned());
        };
        let busy = m.busy.unwrap_or(0);
        let arrived = match previous {
            None => m.depth.saturating_add(busy),
            Some(p) => {
                let grown = i128::from(m.depth) - i128::from(p.depth) + i128::from(busy)
                    - i128::from(p.busy.unwrap_or(0));
                (i128::from(m.done.unwrap_or(0)) + grown).max(0) as u64
            }
        };
        *slot = u32::try_from(arrived).unwrap_or(u32::MAX);
        if let (Some(done), Some(busy), Some(_)) = (m.done, m.busy, previous) {
            done_sum = done_sum.saturating_add(done);
            busy_sum = busy_sum.saturating_add(busy);
        }
        previous = Some(m);
    }
    if done_sum == 0 {
        return Err("no job was seen done, so how long one runs is not known".to_owned());
    }
    Ok(Estimate {
        missing: (span - minutes.len()) as u64,
        service_mean: (60.0 * busy_sum as f64 / done_sum as f64).max(0.001),
        per_minute,
    })
}

/// The job slots each minute needed, for `suggest`: the jobs running, plus the work of those
/// waiting spread over the target (`busy + depth × S / W`: to be done within `W`, `depth` jobs
/// of `S` seconds each keep `depth × S / W` more slots busy). Without a job time (a store that
/// counts no job done) the waiting ones add nothing and `None` says so.
pub fn slot_demand(
    minutes: &[QueueMinute],
    target: Duration,
) -> (Vec<(DateTime<Utc>, f64)>, Option<f64>) {
    let service = estimate(minutes).ok().map(|e| e.service_mean);
    let w = target.as_secs_f64().max(1.0);
    let demand = minutes
        .iter()
        .map(|m| {
            let waiting = service.map_or(0.0, |s| m.depth as f64 * s / w);
            (m.minute, m.busy.unwrap_or(0) as f64 + waiting)
        })
        .collect();
    (demand, service)
}

/// What the recording itself shows, measured as the replays are.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Figures {
    pub minutes: u64,
    /// Minutes whose oldest waiting job was within the target.
    pub minutes_within: u64,
    pub within_percent: f64,
    pub dyno_hours: f64,
    /// The oldest job seen waiting (recorded) or the longest wait (replayed), in seconds.
    pub worst_wait_s: f64,
    pub scales: u64,
}

impl Figures {
    /// The recording's figures: each minute's dynos (the last known through a missing minute),
    /// its oldest job against `target`; `scales` the quantity changes seen.
    pub fn recorded(minutes: &[QueueMinute], target: Duration) -> Figures {
        let target_ms = target.as_millis();
        let mut f = Figures {
            minutes: 0,
            minutes_within: 0,
            within_percent: 100.0,
            dyno_hours: 0.0,
            worst_wait_s: 0.0,
            scales: 0,
        };
        let mut dyno_minutes = 0u64;
        for (i, m) in minutes.iter().enumerate() {
            f.minutes += 1;
            f.minutes_within += u64::from(u128::from(m.latency_ms) <= target_ms);
            f.worst_wait_s = f.worst_wait_s.max(m.latency_ms as f64 / 1000.0);
            let until = minutes
                .get(i + 1)
                .map_or(1, |next| (next.minute - m.minute).num_minutes().max(1));
            dyno_minutes += u64::from(m.dynos) * until as u64;
            if i > 0 && minutes[i - 1].dynos != m.dynos {
                f.scales += 1;
            }
        }
        f.dyno_hours = dyno_minutes as f64 / 60.0;
        f.within_percent = percent(f.minutes_within, f.minutes);
        f
    }

    fn of(o: &Outcome) -> Figures {
        Figures {
            minutes: u64::from(o.minutes),
            minutes_within: u64::from(o.minutes_within),
            within_percent: o.within_percent(),
            dyno_hours: o.dyno_hours,
            worst_wait_s: o.worst_wait,
            scales: u64::from(o.scales),
        }
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 100.0;
    }
    part as f64 * 100.0 / whole as f64
}

/// One run of the replay: its label and what it came to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub label: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// The settings of one replayed run, and the floor of each minute from the first.
pub struct Setting<'a> {
    pub label: String,
    pub limits: Limits,
    pub floor: &'a dyn Fn(u32) -> u32,
}

/// A worker's replay: what was recorded, then each setting's run under the queue policy and a
/// "+1 a minute while over" step policy under the first setting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueReport {
    pub app: String,
    pub process: String,
    /// The span, RFC 3339.
    pub from: String,
    pub to: String,
    pub target_s: f64,
    pub jobs: u64,
    pub service_mean_s: f64,
    pub missing_minutes: u64,
    pub runs: Vec<Run>,
}

/// Replays `minutes` of `app/process` under `settings` (the first one also under the step
/// policy).
pub fn replay(
    (app, process): (&str, &str),
    minutes: &[QueueMinute],
    settings: &[Setting<'_>],
) -> Result<QueueReport, Unreplayable> {
    let estimate = estimate(minutes)?;
    let (first, last) = match (minutes.first(), minutes.last(), settings.first()) {
        (Some(a), Some(b), Some(_)) => (a, b),
        _ => return Err("nothing to replay".to_owned()),
    };
    let jobs = Recorded {
        per_minute: &estimate.per_minute,
        service_mean: estimate.service_mean,
        boot: BOOT,
        seed: SEED,
    };
    let target = settings[0].limits.latency;
    let mut runs = vec![Run {
        label: "recorded".to_owned(),
        figures: Figures::recorded(minutes, target),
    }];
    for (i, s) in settings.iter().enumerate() {
        let step = Policy::Step {
            over: u32::try_from(s.limits.latency.as_secs()).unwrap_or(u32::MAX),
        };
        let policies: &[(Policy, &str)] = if i == 0 {
            &[(Policy::Queue, ""), (step, "step +1/-1 a minute, ")]
        } else {
            &[(Policy::Queue, "")]
        };
        for (policy, prefix) in policies {
            let o = sim::replay(&jobs, &s.limits, s.floor, first.dynos, *policy);
            runs.push(Run {
                label: format!("{prefix}{}", s.label),
                figures: Figures::of(&o),
            });
        }
    }
    Ok(QueueReport {
        app: app.to_owned(),
        process: process.to_owned(),
        from: rfc3339(first.minute),
        to: rfc3339(last.minute + TimeDelta::minutes(1)),
        target_s: target.as_secs_f64(),
        jobs: estimate.jobs(),
        service_mean_s: (estimate.service_mean * 100.0).round() / 100.0,
        missing_minutes: estimate.missing,
        runs,
    })
}

/// The replays' seed: fixed, so two runs of `replay` print the same figures.
const SEED: u64 = 0x5eed_0f0b;

#[cfg(test)]
mod tests {
    use super::*;

    fn at(m: i64) -> DateTime<Utc> {
        "2026-12-07T08:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::minutes(m)
    }

    fn minute(m: i64, depth: u64, busy: u64, done: u64, dynos: u32) -> QueueMinute {
        QueueMinute {
            minute: at(m),
            depth,
            latency_ms: depth * 100,
            busy: Some(busy),
            done: Some(done),
            dynos,
            concurrency: 10,
        }
    }

    const LIMITS: Limits = Limits {
        concurrency: 10,
        latency: Duration::from_secs(30),
        floor: 0,
        max: 20,
        read_every: 10,
        scale_in_after: 3,
        utilization: 0.7,
    };

    /// An hour of 5 jobs a second running 2 s (10 busy, 300 done a minute), a burst of 600 at
    /// minute 30 taking 5 minutes to clear at the 2 dynos that ran.
    fn hour() -> Vec<QueueMinute> {
        (0..60)
            .map(|m| match m {
                30 => minute(m, 600, 20, 300, 2),
                31..=34 => minute(m, 600 - 120 * (m as u64 - 30), 20, 420, 2),
                _ => minute(m, 0, 10, 300, 2),
            })
            .collect()
    }

    #[test]
    fn arrivals_are_what_was_done_and_what_grew() {
        let e = estimate(&hour()).unwrap();
        assert_eq!(e.per_minute.len(), 60);
        // The first minute: what waited and ran.
        assert_eq!(e.per_minute[0], 10);
        assert_eq!(e.per_minute[1], 300);
        // The burst: 300 done + 600 more waiting + 10 more running.
        assert_eq!(e.per_minute[30], 910);
        // Clearing: 420 done, 120 fewer waiting.
        assert_eq!(e.per_minute[31], 300);
        // After it: 300 done, the last 120 waiting gone, 10 fewer running.
        assert_eq!(e.per_minute[35], 300 - 120 - 10);
        assert_eq!(e.missing, 0);
        // S = 60 × Σ busy / Σ done over the 59 minutes after the first.
        let busy: u64 = 54 * 10 + 5 * 20;
        let done: u64 = 55 * 300 + 4 * 420;
        assert!((e.service_mean - 60.0 * busy as f64 / done as f64).abs() < 1e-9);
        assert_eq!(
            e.jobs(),
            e.per_minute.iter().map(|n| u64::from(*n)).sum::<u64>()
        );
    }

    #[test]
    fn a_gap_counts_no_arrivals_and_a_store_without_counts_cannot_be_replayed() {
        let mut minutes = hour();
        minutes.retain(|m| m.minute != at(10) && m.minute != at(11));
        let e = estimate(&minutes).unwrap();
        assert_eq!((e.per_minute.len(), e.missing), (60, 2));
        assert_eq!((e.per_minute[10], e.per_minute[11]), (0, 0));
        assert_eq!(e.per_minute[12], 300);
        let blind: Vec<QueueMinute> = hour()
            .into_iter()
            .map(|m| QueueMinute { done: None, ..m })
            .collect();
        assert!(estimate(&blind).unwrap_err().contains("counts no job done"));
        let idle: Vec<QueueMinute> = (0..5).map(|m| minute(m, 0, 0, 0, 1)).collect();
        assert!(estimate(&idle)
            .unwrap_err()
            .contains("no job was seen done"));
        assert!(estimate(&[]).is_err());
        let backwards = [minute(5, 0, 1, 1, 1), minute(1, 0, 1, 1, 1)];
        assert!(estimate(&backwards).unwrap_err().contains("not in order"));
        // A shrinking queue with nothing done: no negative arrivals.
        let shrinking = [
            minute(0, 50, 0, 0, 1),
            minute(1, 10, 0, 0, 1),
            minute(2, 0, 5, 40, 1),
        ];
        let e = estimate(&shrinking).unwrap();
        assert_eq!(e.per_minute, [50, 0, 35]);
    }

    #[test]
    fn the_slots_a_minute_needs_count_the_waiting_jobs_work_over_the_target() {
        let (demand, service) = slot_demand(&hour(), Duration::from_secs(30));
        let s = service.unwrap();
        assert_eq!(demand.len(), 60);
        assert_eq!(demand[0], (at(0), 10.0));
        let (t, d) = demand[30];
        assert_eq!(t, at(30));
        assert!((d - (20.0 + 600.0 * s / 30.0)).abs() < 1e-9, "{d}");
        let blind: Vec<QueueMinute> = hour()
            .into_iter()
            .map(|m| QueueMinute { done: None, ..m })
            .collect();
        let (demand, service) = slot_demand(&blind, Duration::from_secs(30));
        assert_eq!(service, None);
        assert_eq!(
            demand[30].1, 20.0,
            "without a job time, the running jobs only"
        );
    }

    #[test]
    fn a_year_is_the_longest_span() {
        let far = |minutes: usize| {
            vec![
                minute(0, 0, 1, 1, 1),
                minute(minutes as i64 - 1, 0, 1, 1, 1),
            ]
        };
        let e = estimate(&far(MAX_MINUTES)).unwrap();
        assert_eq!(
            (e.per_minute.len(), e.missing),
            (MAX_MINUTES, MAX_MINUTES as u64 - 2)
        );
        assert!(estimate(&far(MAX_MINUTES + 1))
            .unwrap_err()
            .contains("replay reads at most 527040"));
        assert_eq!(estimate(&far(2 * 1440)).unwrap().per_minute.len(), 2880);
    }

    #[test]
    fn the_recording_is_measured_as_the_runs_are() {
        let f = Figures::recorded(&hour(), Duration::from_secs(30));
        assert_eq!(f.minutes, 60);
        // 60 s at minute 30, 48 s at 31, 36 s at 32: over; 24 s at 33 and 12 s at 34 within.
        assert_eq!(f.minutes_within, 57);
        assert!((f.within_percent - 95.0).abs() < 1e-9);
        assert!((f.dyno_hours - 2.0).abs() < 1e-9);
        assert_eq!(f.worst_wait_s, 60.0);
        assert_eq!(f.scales, 0);
        // A missing minute keeps the dynos before it; a change is a scale.
        let gap = [minute(0, 0, 1, 1, 3), minute(10, 0, 1, 1, 1)];
        let f = Figures::recorded(&gap, Duration::from_secs(30));
        assert!((f.dyno_hours - (3.0 * 10.0 + 1.0) / 60.0).abs() < 1e-9);
        assert_eq!(f.scales, 1);
        assert_eq!(
            Figures::recorded(&[], Duration::from_secs(1)).within_percent,
            100.0
        );
    }

    #[test]
    fn the_queue_policy_meets_the_burst_the_recording_missed_and_steps_do_not() {
        let floor = |_: u32| 1;
        let settings = [Setting {
            label: "current".into(),
            limits: LIMITS,
            floor: &floor,
        }];
        let r = replay(("shop", "worker"), &hour(), &settings).unwrap();
        assert_eq!(r.from, "2026-12-07T08:00:00Z");
        assert_eq!(r.to, "2026-12-07T09:00:00Z");
        assert_eq!(r.target_s, 30.0);
        let labels: Vec<&str> = r.runs.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(
            labels,
            ["recorded", "current", "step +1/-1 a minute, current"]
        );
        let (recorded, queue, step) = (&r.runs[0].figures, &r.runs[1].figures, &r.runs[2].figures);
        assert_eq!(queue.minutes, 60);
        assert!(queue.within_percent > recorded.within_percent, "{r:?}");
        assert!(queue.within_percent >= step.within_percent, "{r:?}");
        assert!(queue.worst_wait_s < step.worst_wait_s, "{r:?}");
        assert!(queue.scales >= 2, "out for the burst, then in: {r:?}");
        // The same jobs give the same figures.
        assert_eq!(replay(("shop", "worker"), &hour(), &settings).unwrap(), r);
        assert!(replay(("shop", "worker"), &hour(), &[]).is_err());
    }
}
