//! A day of jobs, simulated second by second: jobs arrive (a steady flow, a daily swell and
//! bursts of batch enqueues), worker dynos take them `CONCURRENCY` at a time, new dynos start
//! after a boot delay, and a scaling policy is asked at its own pace. Deterministic (a seeded
//! generator), pure, no clock: the same inputs give the same figures, so two policies are
//! compared on the very same jobs.
//!
//! The jobs are generated ([`Day`]) or recorded ([`Recorded`]: how many arrived in each minute,
//! as `replay` estimates them from a worker's queue minutes, spread evenly over the minute).
//!
//! Two policies are built in: [`Policy::Queue`], the daemon's own ([`super::policy::decide`]
//! at every read, from the same figures a store read gives), and [`Policy::Step`], the way
//! threshold autoscalers step: once a minute, one dyno more while the oldest job waited longer
//! than its threshold (the target, or less to be early), one fewer while the queue is empty and
//! the running jobs fit in one dyno fewer.

use std::collections::VecDeque;
use std::time::Duration;

use super::policy::{self, Calm, Settings};
use super::Totals;

/// The day's jobs and the dynos' nature.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Day {
    /// Seconds simulated.
    pub seconds: u32,
    /// Jobs a second at the quiet of the night.
    pub base_rate: f64,
    /// Jobs a second added at the afternoon's peak (a sine over the day).
    pub swell: f64,
    /// A burst every so many seconds (a batch enqueue: `burst_jobs` at once).
    pub burst_every: u32,
    pub burst_jobs: u32,
    /// The mean time a job runs, in seconds (exponential).
    pub service_mean: f64,
    /// Seconds a new dyno takes before it works.
    pub boot: u32,
    pub seed: u64,
}

impl Day {
    /// A bursty working day: 1 job/s at night, up to 6 at the peak, 600 jobs at once every
    /// 2 hours, jobs of 2 s on average, dynos up 20 s after they are asked for.
    pub const BURSTY: Day = Day {
        seconds: 86_400,
        base_rate: 1.0,
        swell: 5.0,
        burst_every: 7_200,
        burst_jobs: 600,
        service_mean: 2.0,
        boot: 20,
        seed: 0x5eed_2026_1207,
    };
}

/// Jobs that were seen to arrive: a count per minute (spread evenly over its seconds), running
/// `service_mean` seconds on average (exponential), on dynos that boot in `boot` seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recorded<'a> {
    pub per_minute: &'a [u32],
    pub service_mean: f64,
    pub boot: u32,
    pub seed: u64,
}

/// Where a run's jobs come from.
#[derive(Debug, Clone, Copy)]
enum Jobs<'a> {
    Day(&'a Day),
    Recorded(&'a Recorded<'a>),
}

impl Jobs<'_> {
    fn seconds(&self) -> u32 {
        match self {
            Jobs::Day(day) => day.seconds,
            Jobs::Recorded(r) => u32::try_from(r.per_minute.len() * 60).unwrap_or(u32::MAX),
        }
    }

    fn seed(&self) -> u64 {
        match self {
            Jobs::Day(day) => day.seed,
            Jobs::Recorded(r) => r.seed,
        }
    }

    fn boot(&self) -> u32 {
        match self {
            Jobs::Day(day) => day.boot,
            Jobs::Recorded(r) => r.boot,
        }
    }

    fn service_mean(&self) -> f64 {
        match self {
            Jobs::Day(day) => day.service_mean,
            Jobs::Recorded(r) => r.service_mean,
        }
    }

    /// The jobs arriving at second `t`.
    fn arrivals(&self, t: u32, rng: &mut Rng) -> u32 {
        match self {
            Jobs::Day(day) => {
                let mut n = rng.poisson(rate(day, t));
                if day.burst_every > 0 && t % day.burst_every == day.burst_every / 2 {
                    n += day.burst_jobs;
                }
                n
            }
            Jobs::Recorded(r) => {
                let count = u64::from(r.per_minute.get((t / 60) as usize).copied().unwrap_or(0));
                let s = u64::from(t % 60);
                // The minute's jobs, spread evenly: the first `s + 1` sixtieths less the first `s`.
                ((s + 1) * count / 60 - s * count / 60) as u32
            }
        }
    }
}

/// The scaling's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub concurrency: u32,
    pub latency: Duration,
    pub floor: u32,
    pub max: u32,
    /// How often the policy reads the queue (the daemon's AUTOSCALE_QUEUE_INTERVAL).
    pub read_every: u32,
    pub scale_in_after: u32,
    /// AUTOSCALE_UTILIZATION: the share of slots the steady jobs fill after a scale-in.
    pub utilization: f64,
}

/// Which policy scales.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Queue,
    /// +1 a minute while the oldest job waited more than `over` seconds, −1 when idle enough.
    Step {
        over: u32,
    },
}

/// What the day came to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    pub minutes: u32,
    /// Minutes in which no job waited longer than the target.
    pub minutes_within: u32,
    /// Dyno-hours paid for (booting dynos are paid for too).
    pub dyno_hours: f64,
    pub jobs: u64,
    /// The longest any job waited, in seconds.
    pub worst_wait: f64,
    /// Scales asked for.
    pub scales: u32,
}

impl Outcome {
    /// The share of minutes within the target, in percent.
    pub fn within_percent(&self) -> f64 {
        if self.minutes == 0 {
            return 100.0;
        }
        f64::from(self.minutes_within) * 100.0 / f64::from(self.minutes)
    }
}

/// splitmix64: small, seeded, good enough for arrivals.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    fn exponential(&mut self, mean: f64) -> f64 {
        -mean * self.unit().ln()
    }

    /// Poisson-distributed count of mean `mean` (Knuth's, fine for small means).
    fn poisson(&mut self, mean: f64) -> u32 {
        let limit = (-mean).exp();
        let mut k = 0;
        let mut p = self.unit();
        while p > limit && k < 10_000 {
            k += 1;
            p *= self.unit();
        }
        k
    }
}

/// The arrival rate at second `t` of the day: the base, and a swell peaking mid-afternoon.
fn rate(day: &Day, t: u32) -> f64 {
    let hours = f64::from(t) / 3600.0;
    let swell = (std::f64::consts::PI * (hours - 3.0) / 18.0).sin().max(0.0);
    day.base_rate + day.swell * swell
}

/// Simulates `day` under `policy`.
pub fn run(day: &Day, limits: &Limits, policy: Policy) -> Outcome {
    simulate(
        Jobs::Day(day),
        limits,
        &|_| limits.floor,
        limits.floor,
        policy,
    )
}

/// Simulates recorded jobs under `policy`, from `start` dynos, the floor of each minute given by
/// `floor` (the schedule's, from the recording's first minute).
pub fn replay(
    jobs: &Recorded<'_>,
    limits: &Limits,
    floor: &dyn Fn(u32) -> u32,
    start: u32,
    policy: Policy,
) -> Outcome {
    simulate(Jobs::Recorded(jobs), limits, floor, start, policy)
}

/// The simulation: `floor` of a minute (from the first), `start` dynos at first.
fn simulate(
    jobs: Jobs<'_>,
    limits: &Limits,
    floor: &dyn Fn(u32) -> u32,
    start: u32,
    policy: Policy,
) -> Outcome {
    let mut rng = Rng(jobs.seed());
    // Waiting jobs: (arrived at, service seconds); running: seconds left.
    let mut waiting: VecDeque<(u32, f64)> = VecDeque::new();
    let mut running: Vec<f64> = Vec::new();
    // Dynos asked for, and when each booting one starts working.
    let mut quantity = start.max(floor(0)).max(1);
    let mut ready = quantity;
    let mut booting: VecDeque<u32> = VecDeque::new();
    let mut done: u64 = 0;
    let mut arrived: u64 = 0;
    let mut dyno_seconds: u64 = 0;
    let mut worst_wait: f64 = 0.0;
    let mut scales = 0;
    let mut minutes = 0;
    let mut minutes_within = 0;
    let mut minute_ok = true;
    let mut previous: Option<Totals> = None;
    let mut service: Option<policy::Service> = None;
    let mut calm = Calm::default();
    let target = limits.latency.as_secs_f64();
    let settings = Settings {
        concurrency: limits.concurrency,
        latency: limits.latency,
        scale_in_after: Some(limits.scale_in_after),
        utilization: limits.utilization,
    };
    for t in 0..jobs.seconds() {
        let floor = floor(t / 60);
        // Dynos that finished booting start working.
        while booting.front().is_some_and(|at| *at <= t) {
            booting.pop_front();
            ready += 1;
        }
        // Arrivals.
        let arrivals = jobs.arrivals(t, &mut rng);
        for _ in 0..arrivals {
            waiting.push_back((t, rng.exponential(jobs.service_mean())));
        }
        arrived += u64::from(arrivals);
        // A second of work.
        for left in &mut running {
            *left -= 1.0;
        }
        let before = running.len();
        running.retain(|left| *left > 0.0);
        done += (before - running.len()) as u64;
        let slots = (ready as usize) * (limits.concurrency as usize);
        while running.len() < slots {
            let Some((arrived, service)) = waiting.pop_front() else {
                break;
            };
            worst_wait = worst_wait.max(f64::from(t - arrived));
            running.push(service);
        }
        let oldest = waiting
            .front()
            .map_or(0.0, |(arrived, _)| f64::from(t - arrived));
        if oldest > target {
            minute_ok = false;
        }
        dyno_seconds += u64::from(ready) + booting.len() as u64;
        if t % 60 == 59 {
            minutes += 1;
            minutes_within += u32::from(minute_ok);
            minute_ok = true;
        }
        // The policy.
        let wanted = match policy {
            Policy::Queue if t % limits.read_every == 0 => {
                let totals = Totals {
                    depth: waiting.len() as u64,
                    latency: Duration::from_secs_f64(oldest),
                    busy: Some(running.len() as u64),
                    done_counter: Some(done),
                    concurrency: Some(limits.concurrency),
                };
                let elapsed = Duration::from_secs(u64::from(limits.read_every));
                let reading = totals.reading(previous.as_ref().map(|p| (p, elapsed)), service);
                service = policy::rates(&reading).and_then(|r| r.seen).or(service);
                previous = Some(totals);
                let d = policy::decide(&policy::View {
                    reading: Some(&reading),
                    settings: &settings,
                    current: quantity,
                    floor,
                    max: limits.max,
                    calm,
                });
                calm = d.calm;
                match d.action {
                    policy::Action::Out { to } | policy::Action::In { to } => Some(to),
                    policy::Action::Stay => None,
                }
            }
            Policy::Step { over } if t % 60 == 0 => {
                let fits_fewer = running.len() as u64
                    <= u64::from(quantity.saturating_sub(1)) * u64::from(limits.concurrency);
                if quantity < floor {
                    Some(floor)
                } else if oldest > f64::from(over) && quantity < limits.max {
                    Some(quantity + 1)
                } else if waiting.is_empty() && fits_fewer && quantity > floor {
                    Some(quantity - 1)
                } else {
                    None
                }
            }
            _ => None,
        };
        if let Some(to) = wanted.filter(|to| *to != quantity) {
            scales += 1;
            if to > quantity {
                for _ in quantity..to {
                    booting.push_back(t + jobs.boot());
                }
            } else {
                // Booting dynos go first, then running ones; a job running on a stopped dyno
                // goes back to the queue's front with the time it had left (as an interrupted
                // job is retried).
                let mut drop = quantity - to;
                while drop > 0 && booting.pop_back().is_some() {
                    drop -= 1;
                }
                ready -= drop.min(ready);
                let slots = (ready as usize) * (limits.concurrency as usize);
                while running.len() > slots {
                    let left = running.pop().unwrap_or(0.0);
                    waiting.push_front((t, left));
                }
            }
            quantity = to;
        }
    }
    Outcome {
        minutes,
        minutes_within,
        dyno_hours: dyno_seconds as f64 / 3600.0,
        worst_wait,
        scales,
        jobs: arrived,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        concurrency: 10,
        latency: Duration::from_secs(30),
        floor: 1,
        max: 20,
        read_every: 10,
        scale_in_after: 3,
        utilization: 0.7,
    };

    fn hour() -> Day {
        Day {
            seconds: 3_600,
            ..Day::BURSTY
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_day() {
        let a = run(&hour(), &LIMITS, Policy::Queue);
        assert_eq!(a, run(&hour(), &LIMITS, Policy::Queue));
        let other = Day { seed: 7, ..hour() };
        assert_ne!(a.jobs, run(&other, &LIMITS, Policy::Queue).jobs);
    }

    #[test]
    fn a_quiet_hour_needs_one_dyno_and_no_job_waits() {
        let quiet = Day {
            swell: 0.0,
            burst_every: 0,
            ..hour()
        };
        for policy in [Policy::Queue, Policy::Step { over: 30 }] {
            let o = run(&quiet, &LIMITS, policy);
            assert_eq!(o.minutes, 60);
            assert_eq!(o.minutes_within, 60, "{policy:?}");
            assert!((o.dyno_hours - 1.0).abs() < 1e-9, "{policy:?} {o:?}");
            assert_eq!(o.scales, 0, "{policy:?}");
            // About one job a second.
            assert!((3_300..3_900).contains(&o.jobs), "{o:?}");
        }
    }

    #[test]
    fn a_burst_is_met_at_once_by_the_queue_policy_and_late_by_steps() {
        // One burst of 600 jobs at half past: the queue policy scales out at its next read.
        let burst = Day {
            swell: 0.0,
            burst_every: 3_600,
            ..hour()
        };
        let queue = run(&burst, &LIMITS, Policy::Queue);
        let step = run(&burst, &LIMITS, Policy::Step { over: 30 });
        assert!(queue.worst_wait < step.worst_wait, "{queue:?} {step:?}");
        assert!(
            queue.minutes_within > step.minutes_within,
            "{queue:?} {step:?}"
        );
        assert!(queue.scales >= 2, "out, then in: {queue:?}");
    }

    #[test]
    fn a_step_s_threshold_is_when_it_starts() {
        // 1 job/s of 2 s on dynos of one slot: one dyno falls behind at once. A step from 0 s
        // adds dynos before one from the 30 s target does: more minutes within the target,
        // more dyno-hours.
        let quiet = Day {
            swell: 0.0,
            burst_every: 0,
            ..hour()
        };
        let single = Limits {
            concurrency: 1,
            ..LIMITS
        };
        let late = run(&quiet, &single, Policy::Step { over: 30 });
        let eager = run(&quiet, &single, Policy::Step { over: 0 });
        assert!(
            eager.minutes_within > late.minutes_within,
            "{eager:?} {late:?}"
        );
        assert!(eager.dyno_hours > late.dyno_hours, "{eager:?} {late:?}");
    }

    #[test]
    fn the_rates_and_the_generator_are_sane() {
        assert_eq!(rate(&Day::BURSTY, 0), 1.0);
        // The swell peaks at 12:00 + 3 h.
        let peak = rate(&Day::BURSTY, 12 * 3600);
        assert!((peak - 6.0).abs() < 1e-9, "{peak}");
        let mut rng = Rng(1);
        let mean: f64 = (0..10_000).map(|_| rng.exponential(2.0)).sum::<f64>() / 10_000.0;
        assert!((mean - 2.0).abs() < 0.1, "{mean}");
        let count: u32 = (0..10_000).map(|_| rng.poisson(3.0)).sum();
        assert!((29_000..31_000).contains(&count), "{count}");
        assert!((0..1000).all(|_| {
            let u = rng.unit();
            u > 0.0 && u <= 1.0
        }));
        let empty = Outcome {
            minutes: 0,
            minutes_within: 0,
            dyno_hours: 0.0,
            jobs: 0,
            worst_wait: 0.0,
            scales: 0,
        };
        assert_eq!(empty.within_percent(), 100.0);
        assert_eq!(
            Outcome {
                minutes: 4,
                minutes_within: 3,
                ..empty
            }
            .within_percent(),
            75.0
        );
    }
}
