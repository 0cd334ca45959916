//! The queue policy: how many worker dynos a job queue needs. Pure — a function of one read of
//! the queue (summed over the target's queues), the settings, the current quantity, the
//! schedule's floor, the max and the calm streak; no I/O, no clock. Like [`crate::policy`], it is
//! level-triggered: asked at every read, it gives the same answer until something changes.
//!
//! # The formula
//!
//! Between two reads `T` seconds apart the store says: `done` jobs finished, the ready jobs went
//! from `depth₀` to `depth`, the running ones from `busy₀` to `busy`. No job is lost, so the jobs
//! that arrived are those that left plus those that stayed:
//!
//! ```text
//! arrived = done + (depth − depth₀) + (busy − busy₀)        (≥ 0; the busy term where known)
//! λ       = arrived / T                                      arrival rate, jobs/s
//! ```
//!
//! A job holds one of a dyno's `CONCURRENCY` slots for its service time `S`. Over the window the
//! slots were busy `(busy₀ + busy)/2 × T` slot-seconds (the two readings' mean); the jobs that
//! went through them are those that left (`done`) and those that came in (`done + busy − busy₀`:
//! a job running at the end and not at the start started in between), half each (Little's law,
//! `L = λW`, for the slots; counting only those that left misreads the window in which new
//! dynos start, fill their slots and have finished nothing yet):
//!
//! ```text
//! S = (busy₀ + busy)/2 × T / (done + (busy − busy₀)/2)      seconds per job
//! ```
//!
//! A window of 10 s sees few jobs when they are long (jobs of 20 s, a few a second: its own
//! ratio swung from 8 to 130 s on a simulated day, and each swing up asked for dynos the jobs
//! did not need), so the slot-seconds and the jobs through are summed over the windows of
//! about the last 100 jobs ([`Service`], [`REMEMBERED`]) and `S` is the ratio of the sums.
//! The mean of two readings stands for a window only while the running figure holds: one in
//! which it moved by more than a quarter of `busy₀ + busy` (a burst's new dynos took their
//! first jobs just before the read, or the backlog ran out) adds nothing — read right after a
//! burst's dynos start, the mean made `S` 2.5 times too long.
//!
//! One dyno, saturated, finishes `CONCURRENCY / S` jobs a second. To be back under the latency
//! target `W`, the `depth` jobs waiting must be gone within `W` while more keep coming: a
//! throughput of `λ' + depth/W` jobs a second, that is `(λ' + depth/W) × S` busy slots, where
//! `λ'` leaves out the backlog's growth — those jobs are in `depth` already; counted again as a
//! flow to come, a burst of jobs enqueued at once would be paid for twice:
//!
//! ```text
//! λ'                     = λ − max(0, depth − depth₀) / T
//! dynos to scale out to  = ⌈ (λ' + depth/W) × S / CONCURRENCY ⌉
//! ```
//!
//! (With `n` dynos the backlog shrinks at `n × CONCURRENCY / S − λ'` jobs a second, so it is
//! gone after `depth / (n × CONCURRENCY / S − λ')` seconds, which is `W` for the `n` above. If
//! the arrivals do keep up their pace, the next read sees the backlog still growing and asks
//! for more.)
//!
//! Once nothing waits, the jobs need the fewest slots `c` that keep a job's chance of waiting
//! past `W` under 1 % at their load `a = max(busy, λ × S)` ([`slots_for`]: in an M/M/c queue
//! that chance is `ErlangC(c, a) × e^(−(c − a) × W / S)`). Short jobs against a long target
//! need little room (jobs of 2 s, 30 s: 9 slots for a load of 8.4), long ones a lot (jobs of
//! 10 minutes: 66 for 50) — the latency target, not a fixed share, sets the headroom. A store
//! that counts no job done gives no `S`: there the running jobs and AUTOSCALE_UTILIZATION do.
//!
//! ```text
//! dynos the jobs need    = ⌈ c / CONCURRENCY ⌉                 (at least 1 while jobs arrive)
//!                          ⌈ busy / (CONCURRENCY × u) ⌉        without S
//! ```
//!
//! Worked example: `CONCURRENCY` 10, `QUEUE_LATENCY` 30 s, a read every 10 s. The last read saw
//! 540 jobs waiting and 20 running; this one 600 waiting, 20 running, 40 done, the oldest job
//! 45 s old (over the target), on 2 dynos.
//! `λ = (40 + 60 + 0) / 10 = 10` jobs/s; `S = (20 + 20)/2 × 10 / 40 = 5` s; the backlog grew by
//! 6 a second, so `λ' = 4`; `(4 + 600/30) × 5 = 120` slots, so **12 dynos** at once (not 3:
//! "+1" would take 10 reads to get there while the backlog grows). Check: 12 dynos finish 24
//! jobs/s; at 4 a second coming the backlog is gone in 30 s; should the 10 a second go on, the
//! next read sees 660 waiting and asks for 13. Once it is gone, the steady load is `λ × S = 50`
//! busy slots; 51 keep the chance of a 30 s wait under 1 %: after SCALE_IN_AFTER calm reads,
//! **6 dynos**.
//!
//! # The rules, in order
//! 1. No reading (the store could not be read): nothing, and the calm streak is broken —
//!    missing data never scales in.
//! 2. The oldest job waited longer than `QUEUE_LATENCY`, or jobs wait while 0 dynos run → scale
//!    out at once to the first formula; at least one more than now when over the target (also
//!    when the rates are unknown: the first read, no job done yet), at least 1 when jobs wait.
//!    The same, before the target is passed, when the backlog will not be gone in time at the
//!    dynos' full speed: `latency + depth × S / (n × CONCURRENCY) > W` → out at once to the
//!    first formula (a burst of jobs is met at the read that sees it, not once its oldest job
//!    is already late; on a simulated bursty day this took the minutes within the target from
//!    96 % to 100 %, `examples/queue_day.rs`).
//! 3. A calm read — no job waiting, the running figure known, and the jobs needing fewer dynos
//!    than run — extends the streak; SCALE_IN_AFTER of them in a row scale in to the most any
//!    of them needed (with the headroom above, so that the jobs' ups and downs do not push the
//!    oldest past the target right after). Anything else breaks the streak.
//! 4. A store that says neither what runs nor how long a job waited (Celery's broker): a slot
//!    for each waiting job, `⌈depth / CONCURRENCY⌉` dynos when more than run; a read with none
//!    waiting is calm, SCALE_IN_AFTER of them one dyno fewer ([`depth_only`]).
//!
//! Every quantity asked for is within the schedule's floor and the max (the floor wins if the
//! two cross, as in [`crate::policy`]); a floor of 0 lets idle workers stop.

use std::time::Duration;

use crate::schedule::MAX_QUANTITY;

/// One read of the target's queues: sums over its queues, the largest latency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// Jobs ready to run, waiting.
    pub depth: u64,
    /// How long the oldest ready job has waited (zero when none waits).
    pub latency: Duration,
    /// Jobs running on the target's dynos, where the store records it.
    pub busy: Option<u64>,
    /// What changed since the previous read, where there was one (and the store counts jobs
    /// done).
    pub since: Option<Since>,
}

/// The previous read, and what happened since.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Since {
    /// Jobs finished since the previous read.
    pub done: u64,
    /// Time since the previous read.
    pub elapsed: Duration,
    /// The previous read's depth.
    pub depth: u64,
    /// The previous read's busy.
    pub busy: Option<u64>,
    /// What the reads before said of the service time ([`Rates::seen`] of the previous
    /// reading, kept by the caller): this window adds to it ([`rates`]).
    pub service: Option<Service>,
}

/// What the reads so far say of the jobs' service time: the slot-seconds the running jobs held
/// and the jobs that went through the slots, summed over the windows that tell them, about the
/// last [`REMEMBERED`] jobs' worth. `S` is their ratio: a window of 10 s sees a handful of
/// jobs of 20 s, and its own ratio swung from 8 to 130 s on a simulated day.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Service {
    pub slot_seconds: f64,
    pub jobs: f64,
}

impl Service {
    /// Seconds a job holds a slot; None before a job went through.
    pub fn seconds(&self) -> Option<f64> {
        (self.jobs > 0.0 && self.slot_seconds > 0.0).then(|| self.slot_seconds / self.jobs)
    }

    /// These figures and a window's, the older ones scaled down to keep [`REMEMBERED`] jobs.
    fn and(self, window: Service) -> Service {
        let sum = Service {
            slot_seconds: self.slot_seconds + window.slot_seconds,
            jobs: self.jobs + window.jobs,
        };
        if sum.jobs <= REMEMBERED {
            return sum;
        }
        let keep = REMEMBERED / sum.jobs;
        Service {
            slot_seconds: sum.slot_seconds * keep,
            jobs: REMEMBERED,
        }
    }
}

/// The jobs' worth of windows the service time is read over: 100 (a mean within about 10 %
/// for jobs of exponential length), a few reads when jobs are short and many, minutes when
/// they are long and few.
pub const REMEMBERED: f64 = 100.0;

/// The target's settings the policy needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Jobs one dyno runs at once (AUTOSCALE_CONCURRENCY); 0 counts as 1.
    pub concurrency: u32,
    /// The longest a job should wait (AUTOSCALE_QUEUE_LATENCY).
    pub latency: Duration,
    /// Calm reads in a row before scaling in (AUTOSCALE_SCALE_IN_AFTER); None: never.
    pub scale_in_after: Option<u32>,
    /// The share of the slots the running jobs may fill after a scale-in (AUTOSCALE_UTILIZATION),
    /// where the store counts no job done (no service time for [`slots_for`]): the rest absorbs
    /// the jobs' ups and downs. Outside (0, 1] counts as 1.
    pub utilization: f64,
}

/// Calm reads in a row, and the most dynos any of them needed. Kept by the caller between
/// reads; each [`Decision`] carries the next one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Calm {
    pub reads: u32,
    pub need: u32,
}

/// What the queue's figures say about the rates, when two reads allow it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// Jobs arriving per second.
    pub arrival: f64,
    /// Seconds one job holds a slot, when jobs went through and the running figure is known.
    pub service: Option<f64>,
    /// What the reads so far say of it, this window included where it tells: the caller keeps
    /// it for the next reading ([`Since::service`]).
    pub seen: Option<Service>,
}

/// What one round looks like.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// None when the store could not be read.
    pub reading: Option<&'a Reading>,
    pub settings: &'a Settings,
    /// The formation's quantity now.
    pub current: u32,
    /// The schedule's quantity in force (0 when it lets workers stop).
    pub floor: u32,
    pub max: u32,
    pub calm: Calm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Jobs wait too long: this many dynos, at once.
    Out {
        to: u32,
    },
    /// Calm for SCALE_IN_AFTER reads: down to this many.
    In {
        to: u32,
    },
    Stay,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    /// The streak to pass to the next round.
    pub calm: Calm,
}

/// The arrival and service rates between the previous read and this one (module docs). None
/// on a first read or when no time passed.
pub fn rates(reading: &Reading) -> Option<Rates> {
    let since = reading.since?;
    let elapsed = since.elapsed.as_secs_f64();
    if elapsed <= 0.0 {
        return None;
    }
    let mut arrived = since.done as f64 + delta(reading.depth, since.depth);
    if let (Some(now), Some(before)) = (reading.busy, since.busy) {
        arrived += delta(now, before);
    }
    let running = match (since.busy, reading.busy) {
        (Some(before), Some(now)) => Some((before as f64 + now as f64) / 2.0),
        (None, now) => now.map(|n| n as f64),
        (before, None) => before.map(|b| b as f64),
    };
    // The jobs through the slots: those done and those that took a slot (the done ones plus
    // the growth of the running ones), half each.
    let mut through = since.done as f64;
    if let (Some(now), Some(before)) = (reading.busy, since.busy) {
        through += delta(now, before) / 2.0;
    }
    // The two readings' mean stands for the slots' use in between only when the running
    // figure held: dynos that started (or stopped) just before a read moved it at once, and
    // the mean then misreads the window by up to half the change — read right after a burst's
    // dynos start, `S` came out 2.5 times too long and asked for 4 dynos more than the backlog
    // needed. Such a window adds nothing to what the earlier reads saw.
    let moved = match (since.busy, reading.busy) {
        (Some(before), Some(now)) => {
            delta(now, before).abs() > UNSTEADY * (before as f64 + now as f64)
        }
        _ => false,
    };
    let window = running
        .filter(|r| *r > 0.0 && through >= 0.0)
        .map(|r| Service {
            slot_seconds: r * elapsed,
            jobs: through,
        });
    let seen = match (since.service, window) {
        (earlier, Some(window)) if !moved => Some(earlier.unwrap_or_default().and(window)),
        (earlier, _) => earlier,
    };
    // With nothing seen before, a window that moved is all there is to go by.
    let service = seen
        .and_then(|s| s.seconds())
        .or_else(|| window.and_then(|w| w.seconds()));
    Some(Rates {
        arrival: arrived.max(0.0) / elapsed,
        service,
        seen,
    })
}

/// The share of the two readings' sum by which the running figure may move and the window
/// still tell its own service time: 0.25, that is at most ⅔ up or 40 % down from the earlier
/// read (30 → 50, 50 → 30; the mean of the two ends is then off by at most a quarter).
const UNSTEADY: f64 = 0.25;

/// `now − before` as a float (negative when it fell).
fn delta(now: u64, before: u64) -> f64 {
    now as f64 - before as f64
}

/// Dynos for `slots` busy slots at `concurrency` a dyno: ⌈slots / concurrency⌉, 0 for nothing
/// (or a NaN), at most [`MAX_QUANTITY`] (an infinity too).
fn dynos(slots: f64, concurrency: u32) -> u32 {
    // A hair under, so that float noise (150.00000000000003) is no extra dyno.
    let needed = (slots / f64::from(concurrency.max(1)) - 1e-9).ceil();
    // `as` saturates: a NaN or a negative is 0, an infinity u32::MAX.
    (needed as u32).min(MAX_QUANTITY)
}

/// What it takes to be back under the target: ⌈(λ + depth/W) × S / CONCURRENCY⌉. None
/// without a service time.
pub fn scale_out_need(reading: &Reading, rates: Option<Rates>, settings: &Settings) -> Option<u32> {
    let rates = rates?;
    let service = rates.service?;
    let target = settings.latency.as_secs_f64();
    // The backlog's growth is in `depth` already: counted again as arrivals to come, a burst
    // of jobs enqueued at once would be taken for a flow that goes on.
    let grown = reading.since.map_or(0.0, |since| {
        delta(reading.depth, since.depth).max(0.0) / since.elapsed.as_secs_f64()
    });
    let arriving = (rates.arrival - grown).max(0.0);
    let throughput = arriving + reading.depth as f64 / target;
    Some(dynos(throughput * service, settings.concurrency))
}

/// What the running and arriving jobs need, at least 1 while jobs arrive; None when the store
/// does not say what runs. With a service time `S` known: the fewest slots that keep a job's
/// chance of waiting past the target `W` under [`LATE_CHANCE`] at the load `max(busy, λ × S)`
/// ([`slots_for`]); without one (a store that counts no job done): `busy / UTILIZATION`.
pub fn steady_need(reading: &Reading, rates: Option<Rates>, settings: &Settings) -> Option<u32> {
    let busy = reading.busy? as f64;
    let service = rates.and_then(|r| r.service);
    let slots = match (rates, service) {
        (Some(r), Some(service)) => slots_for(
            busy.max(r.arrival * service),
            service,
            settings.latency.as_secs_f64(),
        ),
        _ => {
            let u = settings.utilization;
            busy / if u > 0.0 && u <= 1.0 { u } else { 1.0 }
        }
    };
    let need = dynos(slots, settings.concurrency);
    let arrive = rates.is_some_and(|r| r.arrival > 0.0);
    Some(if arrive { need.max(1) } else { need })
}

/// The chance of a job waiting past the target that a scale-in may leave: 1 %.
pub const LATE_CHANCE: f64 = 0.01;

/// The fewest slots `c` for an offered load of `load` busy slots (jobs of `service` seconds)
/// such that a job waits longer than `target` seconds with a chance under [`LATE_CHANCE`]: in
/// an M/M/c queue that chance is `ErlangC(c, load) × exp(−(c − load) × target / service)`.
/// Short jobs against a long target need hardly more than the load (jobs of 2 s, a 30 s
/// target: 9 slots for a load of 8.4, 88 % busy); long ones need room (jobs of 10 minutes:
/// 66 slots for 50). 0 for no load; an infinity for a load that is not a number.
pub fn slots_for(load: f64, service: f64, target: f64) -> f64 {
    if load.is_nan() || load.is_infinite() || service.is_nan() || target.is_nan() {
        return f64::INFINITY;
    }
    if load <= 0.0 {
        return 0.0;
    }
    // Past a million slots the margin is a rounding error: the load itself.
    if load > MAX_SLOTS {
        return load.ceil();
    }
    let ratio = if service > 0.0 {
        target / service
    } else {
        f64::INFINITY
    };
    // Erlang B by its recurrence, B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)), and from it
    // Erlang C(k) = k·B / (k − a·(1 − B)), for k past the load. C falls below 1 % within a
    // few √load slots past the load: the bound is never the answer but for a bug.
    let bound = 2.0 * load + 1_000.0;
    let mut blocked = 1.0_f64;
    let mut k = 0.0_f64;
    while k < bound {
        k += 1.0;
        blocked = load * blocked / (k + load * blocked);
        if k <= load {
            continue;
        }
        let waits = k * blocked / (k - load * (1.0 - blocked));
        if waits * (-(k - load) * ratio).exp() <= LATE_CHANCE {
            return k;
        }
    }
    bound
}

/// The largest load [`slots_for`] computes a margin for.
const MAX_SLOTS: f64 = 1_000_000.0;

/// Whether the oldest waiting job will have waited past the target before the backlog is
/// gone, at the `current` dynos' full speed: latency + depth × S / (current × CONCURRENCY) > W
/// (the arrivals meanwhile not even counted). False without a service time or dynos.
pub fn drains_late(
    reading: &Reading,
    rates: Option<Rates>,
    settings: &Settings,
    current: u32,
) -> bool {
    let Some(service) = rates.and_then(|r| r.service) else {
        return false;
    };
    if current == 0 || reading.depth == 0 {
        return false;
    }
    let speed = f64::from(current) * f64::from(settings.concurrency.max(1)) / service;
    let gone_in = reading.depth as f64 / speed;
    reading.latency.as_secs_f64() + gone_in > settings.latency.as_secs_f64()
}

/// The policy (module docs, "The rules").
pub fn decide(view: &View) -> Decision {
    let View {
        settings,
        current,
        floor,
        max,
        calm,
        ..
    } = *view;
    let stay = Decision {
        action: Action::Stay,
        calm: Calm::default(),
    };
    let Some(reading) = view.reading else {
        return stay;
    };
    let within = |n: u32| n.min(max).max(floor);
    if reading.busy.is_none() {
        if let Some(decision) = depth_only(reading, settings, current, &within, calm) {
            return decision;
        }
    }
    let rates = rates(reading);
    let over = reading.latency > settings.latency;
    let waiting_at_zero = current == 0 && reading.depth > 0;
    let need = scale_out_need(reading, rates, settings);
    // The backlog will not be gone in time at the capacity running: out now, to what it needs
    // (a burst of jobs is met at the read that sees it, not once its oldest job is late).
    if !over && drains_late(reading, rates, settings, current) {
        if let Some(to) = need.map(within).filter(|to| *to > current) {
            return Decision {
                action: Action::Out { to },
                calm: Calm::default(),
            };
        }
    }
    if over || waiting_at_zero {
        let mut to = need.unwrap_or(0);
        if over {
            to = to.max(current.saturating_add(1));
        }
        if waiting_at_zero {
            to = to.max(1);
        }
        let to = within(to);
        return if to > current {
            Decision {
                action: Action::Out { to },
                calm: Calm::default(),
            }
        } else {
            stay
        };
    }
    let Some(need) = steady_need(reading, rates, settings).map(within) else {
        return stay;
    };
    if reading.depth > 0 || need >= current {
        return stay;
    }
    let calm = Calm {
        reads: calm.reads + 1,
        need: calm.need.max(need),
    };
    match settings.scale_in_after {
        Some(after) if calm.reads >= after => Decision {
            action: Action::In { to: calm.need },
            calm: Calm::default(),
        },
        _ => Decision {
            action: Action::Stay,
            calm,
        },
    }
}

/// A store that does not say what runs (Celery's broker holds only the waiting tasks, with no
/// time they were sent): with jobs waiting and no age to go by, a slot for each of them —
/// `⌈depth / CONCURRENCY⌉` dynos when that is more than run, as a "jobs per worker" autoscaler
/// counts; with none waiting, a calm read, and SCALE_IN_AFTER of them one dyno fewer (what
/// runs is not known: a step at a time). None when the reading has an age to go by (the
/// rules of [`decide`] apply).
fn depth_only(
    reading: &Reading,
    settings: &Settings,
    current: u32,
    within: &dyn Fn(u32) -> u32,
    calm: Calm,
) -> Option<Decision> {
    let stay = Decision {
        action: Action::Stay,
        calm: Calm::default(),
    };
    if reading.depth > 0 {
        if !reading.latency.is_zero() {
            return None;
        }
        let to = within(dynos(reading.depth as f64, settings.concurrency).max(1));
        return Some(if to > current {
            Decision {
                action: Action::Out { to },
                calm: Calm::default(),
            }
        } else {
            stay
        });
    }
    let need = within(current.saturating_sub(1));
    if need >= current {
        return Some(stay);
    }
    let calm = Calm {
        reads: calm.reads + 1,
        need: need.max(calm.need),
    };
    Some(match settings.scale_in_after {
        Some(after) if calm.reads >= after => Decision {
            action: Action::In { to: calm.need },
            calm: Calm::default(),
        },
        _ => Decision {
            action: Action::Stay,
            calm,
        },
    })
}

/// What a decision asks of the schedule's policy ([`crate::policy::Load`], `reason=queue`):
/// a scale-out or a calm scale-in as it is; otherwise no more dynos, and a schedule edge never
/// below what the jobs need now — what runs, while jobs wait (a calm figure needs an empty
/// queue).
pub fn as_load(
    decision: &Decision,
    reading: &Reading,
    settings: &Settings,
    current: u32,
) -> crate::policy::Load {
    let (desired, recent, scale_in_to) = match decision.action {
        Action::Out { to } => (to, to, None),
        Action::In { to } => (to, to, Some(to)),
        Action::Stay if reading.depth > 0 => (0, current, None),
        Action::Stay => (
            0,
            steady_need(reading, rates(reading), settings).unwrap_or(current),
            None,
        ),
    };
    crate::policy::Load {
        desired,
        recent,
        scale_in_to,
        reason: crate::policy::Reason::Queue,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: Settings = Settings {
        concurrency: 10,
        latency: Duration::from_secs(30),
        scale_in_after: Some(3),
        utilization: 1.0,
    };

    const fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// The module docs' worked example: 600 waiting (540 before), 20 running (20 before), 40
    /// done in 10 s, the oldest 45 s old.
    const EXAMPLE: Reading = Reading {
        depth: 600,
        latency: secs(45),
        busy: Some(20),
        since: Some(Since {
            done: 40,
            elapsed: secs(10),
            depth: 540,
            busy: Some(20),
            service: None,
        }),
    };

    fn view<'a>(reading: Option<&'a Reading>, current: u32, calm: Calm) -> View<'a> {
        View {
            reading,
            settings: &SETTINGS,
            current,
            floor: 1,
            max: 20,
            calm,
        }
    }

    fn idle(busy: Option<u64>) -> Reading {
        Reading {
            depth: 0,
            latency: Duration::ZERO,
            busy,
            since: Some(Since {
                done: 0,
                elapsed: secs(10),
                depth: 0,
                busy,
                service: None,
            }),
        }
    }

    #[test]
    fn rates_follow_the_conservation_of_jobs() {
        let r = rates(&EXAMPLE).unwrap();
        assert_eq!(r.arrival, 10.0);
        assert_eq!(r.service, Some(5.0));
        // Running went 10 → 30 in 4 s while 8 finished and the queue lost 4:
        // arrived 8 − 4 + 20 = 24, λ = 6; through the slots (8 done + 28 started)/2 = 18,
        // S = (10+30)/2 × 4 / 18.
        let r = rates(&Reading {
            depth: 96,
            latency: secs(1),
            busy: Some(30),
            since: Some(Since {
                done: 8,
                elapsed: secs(4),
                depth: 100,
                busy: Some(10),
                service: None,
            }),
        })
        .unwrap();
        assert_eq!(r.arrival, 6.0);
        assert_eq!(r.service, Some(20.0 * 4.0 / 18.0));
        // Without the running figure now, the earlier one stands for the window
        // (S = 10 × 4 / 8 = 5), and the busy term is left out of the arrivals (8 − 4 = 4).
        let r = rates(&Reading {
            depth: 96,
            latency: secs(1),
            busy: None,
            since: Some(Since {
                done: 8,
                elapsed: secs(4),
                depth: 100,
                busy: Some(10),
                service: None,
            }),
        })
        .unwrap();
        assert_eq!(r.arrival, 1.0);
        assert_eq!(r.service, Some(5.0));
        // Only the running figure now (a first busy reading): it stands for the window.
        let r = rates(&Reading {
            depth: 100,
            latency: secs(1),
            busy: Some(20),
            since: Some(Since {
                done: 8,
                elapsed: secs(4),
                depth: 100,
                busy: None,
                service: None,
            }),
        })
        .unwrap();
        assert_eq!(r.arrival, 2.0);
        assert_eq!(r.service, Some(10.0));
    }

    /// What the reads before saw: `jobs` jobs of `seconds` seconds.
    fn seen(jobs: f64, seconds: f64) -> Option<Service> {
        Some(Service {
            slot_seconds: jobs * seconds,
            jobs,
        })
    }

    #[test]
    fn the_service_time_is_read_over_the_last_hundred_jobs() {
        // Jobs of 20 s, a few a window: this one saw 10 running → 10, 5 done (its own ratio,
        // 10 × 10 / 5 = 20 s, could as well have been 8 or 130).
        let window = |service| Reading {
            depth: 0,
            latency: Duration::ZERO,
            busy: Some(10),
            since: Some(Since {
                done: 5,
                elapsed: secs(10),
                depth: 0,
                busy: Some(10),
                service,
            }),
        };
        // Alone: its own figures, carried on.
        let r = rates(&window(None)).unwrap();
        assert_eq!(r.service, Some(20.0));
        assert_eq!(r.seen, seen(5.0, 20.0));
        // After 50 jobs of 30 s: (1500 + 100) / 55.
        let r = rates(&window(seen(50.0, 30.0))).unwrap();
        assert_eq!(r.service, Some(1600.0 / 55.0));
        assert_eq!(r.seen, seen(55.0, 1600.0 / 55.0));
        // After 100 jobs of 30 s: the older scaled down to keep 100 jobs' worth.
        let r = rates(&window(seen(100.0, 30.0))).unwrap();
        assert!((r.service.unwrap() - 3100.0 / 105.0).abs() < 1e-9, "{r:?}");
        let kept = r.seen.unwrap();
        assert_eq!(kept.jobs, REMEMBERED);
        assert!(
            (kept.slot_seconds - 3100.0 * 100.0 / 105.0).abs() < 1e-9,
            "{kept:?}"
        );
        // Exactly 100 with the window: kept whole.
        let r = rates(&window(seen(95.0, 30.0))).unwrap();
        assert_eq!(
            r.seen,
            Some(Service {
                slot_seconds: 2950.0,
                jobs: 100.0
            })
        );
        // A window that finished nothing (long jobs) still held its slots: S grows.
        let mut none_done = window(seen(10.0, 600.0));
        none_done.since.as_mut().unwrap().done = 0;
        let r = rates(&none_done).unwrap();
        assert_eq!(r.service, Some(6100.0 / 10.0));
        // Nothing ever done: no service time, but the slot-seconds are kept for later.
        let r = rates(&{
            let mut w = window(None);
            w.since.as_mut().unwrap().done = 0;
            w
        })
        .unwrap();
        assert_eq!(r.service, None);
        assert_eq!(
            r.seen,
            Some(Service {
                slot_seconds: 100.0,
                jobs: 0.0
            })
        );
        // Jobs counted through slots that held no time say no service time (not 0 s).
        let hollow = Service {
            slot_seconds: 0.0,
            jobs: 5.0,
        };
        assert_eq!(hollow.seconds(), None);
        // Nothing running: the window tells nothing, the earlier figures stand.
        let mut idle = window(seen(10.0, 2.0));
        idle.busy = Some(0);
        idle.since.as_mut().unwrap().busy = Some(0);
        assert_eq!(rates(&idle).unwrap().seen, seen(10.0, 2.0));
        assert_eq!(rates(&idle).unwrap().service, Some(2.0));
        // More running gone than done (jobs lost, not finished): nothing learnt either.
        let mut lost = window(seen(10.0, 2.0));
        lost.busy = Some(36);
        lost.since.as_mut().unwrap().busy = Some(40);
        lost.since.as_mut().unwrap().done = 1;
        assert_eq!(rates(&lost).unwrap().seen, seen(10.0, 2.0));
    }

    #[test]
    fn a_window_whose_running_figure_jumped_adds_nothing_to_the_service_time() {
        // Jobs of 2 s on 10 slots: 50 done in 10 s. The burst's dynos start just before this
        // read: 10 running → 70. The two readings' mean (40) would make S = 40 × 10 / 80 = 5.
        let jumped = |service| Reading {
            depth: 500,
            latency: secs(20),
            busy: Some(70),
            since: Some(Since {
                done: 50,
                elapsed: secs(10),
                depth: 600,
                busy: Some(10),
                service,
            }),
        };
        let r = rates(&jumped(seen(100.0, 2.0))).unwrap();
        assert_eq!((r.service, r.seen), (Some(2.0), seen(100.0, 2.0)));
        // With nothing seen yet, the window's own is all there is, and it is not kept.
        let r = rates(&jumped(None)).unwrap();
        assert_eq!((r.service, r.seen), (Some(5.0), None));
        // Falling as much (the burst's dynos idle again): the same.
        let fell = Reading {
            busy: Some(10),
            since: Some(Since {
                busy: Some(70),
                ..jumped(seen(100.0, 2.0)).since.unwrap()
            }),
            ..jumped(seen(100.0, 2.0))
        };
        assert_eq!(rates(&fell).unwrap().service, Some(2.0));
        // A quarter of the two readings' sum is still steady (30 → 50: 20 of 80): the window
        // counts, 40 × 10 slot-seconds for 50 + 10 jobs; past it (30 → 51), it does not.
        let moved = |now| Reading {
            busy: Some(now),
            since: Some(Since {
                busy: Some(30),
                ..jumped(seen(40.0, 2.0)).since.unwrap()
            }),
            ..jumped(seen(40.0, 2.0))
        };
        assert_eq!(rates(&moved(50)).unwrap().service, Some(480.0 / 100.0));
        assert_eq!(rates(&moved(51)).unwrap().service, Some(2.0));
    }

    #[test]
    fn rates_need_two_reads_time_and_done_jobs() {
        // A first read.
        assert_eq!(
            rates(&Reading {
                since: None,
                ..EXAMPLE
            }),
            None
        );
        // No time passed.
        let mut r = EXAMPLE;
        r.since.as_mut().unwrap().elapsed = Duration::ZERO;
        assert_eq!(rates(&r), None);
        // No job done: an arrival rate, no service time (the slots' time kept for later).
        let mut r = EXAMPLE;
        r.since.as_mut().unwrap().done = 0;
        assert_eq!(
            rates(&r),
            Some(Rates {
                arrival: 6.0,
                service: None,
                seen: Some(Service {
                    slot_seconds: 200.0,
                    jobs: 0.0
                }),
            })
        );
        // Jobs done, nothing seen running: no service time either.
        let r = Reading {
            busy: Some(0),
            since: Some(Since {
                busy: Some(0),
                ..EXAMPLE.since.unwrap()
            }),
            ..EXAMPLE
        };
        assert_eq!(rates(&r).unwrap().service, None);
        // Nor without any running figure.
        let r = Reading {
            busy: None,
            since: Some(Since {
                busy: None,
                ..EXAMPLE.since.unwrap()
            }),
            ..EXAMPLE
        };
        assert_eq!(rates(&r).unwrap().service, None);
        assert_eq!(rates(&r).unwrap().arrival, 10.0);
        // A queue emptied by hand (more gone than done): no negative arrivals.
        let r = Reading {
            depth: 0,
            since: Some(Since {
                depth: 5000,
                ..EXAMPLE.since.unwrap()
            }),
            ..EXAMPLE
        };
        assert_eq!(rates(&r).unwrap().arrival, 0.0);
    }

    #[test]
    fn slots_keep_a_job_s_chance_of_waiting_past_the_target_under_one_percent() {
        // Short jobs against a long target: hardly more than the load.
        assert_eq!(slots_for(8.4, 2.0, 30.0), 9.0);
        assert_eq!(slots_for(9.6, 2.0, 30.0), 10.0);
        assert_eq!(slots_for(50.0, 5.0, 30.0), 51.0);
        // Long jobs: a job that waits, waits for one to finish; room is needed.
        assert_eq!(slots_for(50.0, 600.0, 30.0), 66.0);
        assert_eq!(slots_for(1.0, 60.0, 30.0), 4.0);
        // A load that is a whole number of slots still gets one more (all busy: every job waits).
        assert_eq!(slots_for(10.0, 1.0, 30.0), 11.0);
        assert_eq!(slots_for(0.5, 2.0, 30.0), 1.0);
        // Jobs of no measurable time: the load, rounded up, and one.
        assert_eq!(slots_for(3.0, 0.0, 30.0), 4.0);
        // (At 50 slots of 600 s jobs and 30 s the chance is ErlangC(66, 50) e^(−16/20) ≈ 0.89 %
        // at 66 slots, 1.29 % at 65.) A shorter target needs more room.
        assert_eq!(slots_for(50.0, 600.0, 25.0), 67.0);
        // Nothing to do: none; nonsense: all there is.
        assert_eq!(slots_for(0.0, 2.0, 30.0), 0.0);
        assert_eq!(slots_for(-1.0, 2.0, 30.0), 0.0);
        assert_eq!(slots_for(f64::NAN, 2.0, 30.0), f64::INFINITY);
        assert_eq!(slots_for(f64::INFINITY, 2.0, 30.0), f64::INFINITY);
        assert_eq!(slots_for(5.0, f64::NAN, 30.0), f64::INFINITY);
        assert_eq!(slots_for(5.0, 2.0, f64::NAN), f64::INFINITY);
        // Jobs of no time against no target: none waits, the load rounded up and one.
        assert_eq!(slots_for(8.4, 0.0, 0.0), 9.0);
        // Past a million slots, the load itself (even for long jobs, that would need room);
        // at a million, the margin is still worked out.
        assert_eq!(slots_for(2_000_000.5, 600.0, 30.0), 2_000_001.0);
        assert!(slots_for(1_000_000.0, 2.0, 30.0) > 1_000_000.0);
        assert!(slots_for(999_999.0, 2.0, 30.0) > 999_999.0);
    }

    #[test]
    fn without_a_service_time_the_running_jobs_and_utilization_set_the_need() {
        let half = Settings {
            utilization: 0.5,
            ..SETTINGS
        };
        // 20 running at half the slots: 40 → 4 dynos.
        assert_eq!(steady_need(&EXAMPLE, None, &half), Some(4));
        // A utilization outside (0, 1] counts as 1.
        for u in [0.0, -0.5, 1.5, f64::NAN] {
            let odd = Settings {
                utilization: u,
                ..SETTINGS
            };
            assert_eq!(steady_need(&EXAMPLE, None, &odd), Some(2), "{u}");
        }
        // With a service time, the utilization plays no part.
        assert_eq!(steady_need(&EXAMPLE, rates(&EXAMPLE), &half), Some(6));
    }

    #[test]
    fn dynos_round_up_and_cap() {
        assert_eq!(dynos(150.0, 10), 15);
        assert_eq!(dynos(150.00000000000003, 10), 15);
        assert_eq!(dynos(150.1, 10), 16);
        assert_eq!(dynos(0.3, 10), 1);
        assert_eq!(dynos(0.0, 10), 0);
        assert_eq!(dynos(-3.0, 10), 0);
        assert_eq!(dynos(f64::NAN, 10), 0);
        assert_eq!(dynos(7.0, 0), 7);
        assert_eq!(dynos(99_990.0, 10), 9_999);
        assert_eq!(dynos(100_000.0, 10), MAX_QUANTITY);
        assert_eq!(dynos(1e12, 10), MAX_QUANTITY);
        assert_eq!(dynos(f64::INFINITY, 10), MAX_QUANTITY);
    }

    #[test]
    fn needs_at_explicit_figures() {
        let r = rates(&EXAMPLE);
        // The backlog grew by 6 a second: in `depth` already, so 4 a second to come:
        // (4 + 600/30) × 5 / 10 = 12.
        assert_eq!(scale_out_need(&EXAMPLE, r, &SETTINGS), Some(12));
        // λ × S = 50 busy slots; 51 keep a job's chance of waiting 30 s under 1 %.
        assert_eq!(steady_need(&EXAMPLE, r, &SETTINGS), Some(6));
        // Without a service time, no scale-out figure; the running jobs alone set the need.
        let no_service = Some(Rates {
            arrival: 10.0,
            service: None,
            seen: None,
        });
        assert_eq!(scale_out_need(&EXAMPLE, no_service, &SETTINGS), None);
        assert_eq!(scale_out_need(&EXAMPLE, None, &SETTINGS), None);
        assert_eq!(steady_need(&EXAMPLE, no_service, &SETTINGS), Some(2));
        assert_eq!(steady_need(&EXAMPLE, None, &SETTINGS), Some(2));
        // More running than the rates explain: the running jobs count.
        let busy = Reading {
            busy: Some(61),
            ..EXAMPLE
        };
        assert_eq!(steady_need(&busy, r, &SETTINGS), Some(7));
        // Nothing known to run: no figure.
        let unknown = Reading {
            busy: None,
            ..EXAMPLE
        };
        assert_eq!(steady_need(&unknown, r, &SETTINGS), None);
        // Quick jobs arriving, never caught running: one dyno, not zero.
        let quick = Some(Rates {
            arrival: 0.5,
            service: None,
            seen: None,
        });
        assert_eq!(steady_need(&idle(Some(0)), quick, &SETTINGS), Some(1));
        // Nothing arriving, nothing running: none.
        let still = Some(Rates {
            arrival: 0.0,
            service: None,
            seen: None,
        });
        assert_eq!(steady_need(&idle(Some(0)), still, &SETTINGS), Some(0));
    }

    #[test]
    fn scale_out_to_what_the_backlog_and_arrivals_need() {
        let d = decide(&view(Some(&EXAMPLE), 2, Calm::default()));
        assert_eq!(d.action, Action::Out { to: 12 });
        assert_eq!(d.calm, Calm::default());
        // Already 12: at least one more while over the target.
        assert_eq!(
            decide(&view(Some(&EXAMPLE), 12, Calm::default())).action,
            Action::Out { to: 13 }
        );
        // Within the max.
        let capped = View {
            max: 8,
            ..view(Some(&EXAMPLE), 2, Calm::default())
        };
        assert_eq!(decide(&capped).action, Action::Out { to: 8 });
        // At the max: nothing more to do, and no calm either.
        let at_max = View {
            max: 8,
            ..view(Some(&EXAMPLE), 8, Calm { reads: 2, need: 1 })
        };
        assert_eq!(
            decide(&at_max),
            Decision {
                action: Action::Stay,
                calm: Calm::default()
            }
        );
    }

    #[test]
    fn a_backlog_under_the_target_is_no_reason_to_scale() {
        // 10 jobs waiting (10 before), the oldest 10 s old, 2 dynos finishing 4 a second: gone
        // in 2.5 s, the queue is kept up with.
        let under = Reading {
            depth: 10,
            latency: secs(10),
            since: Some(Since {
                depth: 10,
                ..EXAMPLE.since.unwrap()
            }),
            ..EXAMPLE
        };
        assert_eq!(
            decide(&view(Some(&under), 2, Calm { reads: 1, need: 1 })),
            Decision {
                action: Action::Stay,
                calm: Calm::default()
            }
        );
        // The worked example's 600 waiting, the oldest only 10 s old: at 4 a second they would
        // be gone in 150 s, so out now, to the same 12.
        let early = Reading {
            latency: secs(10),
            ..EXAMPLE
        };
        assert_eq!(
            decide(&view(Some(&early), 2, Calm::default())).action,
            Action::Out { to: 12 }
        );
        // Nothing waits at 0 dynos: they stay stopped.
        let r = idle(Some(0));
        let night = View {
            floor: 0,
            ..view(Some(&r), 0, Calm::default())
        };
        assert_eq!(
            decide(&night),
            Decision {
                action: Action::Stay,
                calm: Calm::default()
            }
        );
    }

    #[test]
    fn over_the_target_without_rates_is_one_more() {
        let first = Reading {
            since: None,
            ..EXAMPLE
        };
        assert_eq!(
            decide(&view(Some(&first), 2, Calm::default())).action,
            Action::Out { to: 3 }
        );
        // Exactly at the target is not over it.
        let at = Reading {
            latency: secs(30),
            since: None,
            ..EXAMPLE
        };
        assert_eq!(
            decide(&view(Some(&at), 2, Calm::default())).action,
            Action::Stay
        );
        let just_over = Reading {
            latency: Duration::from_millis(30_001),
            ..at
        };
        assert_eq!(
            decide(&view(Some(&just_over), 2, Calm::default())).action,
            Action::Out { to: 3 }
        );
        // Below the floor, the floor.
        let high_floor = View {
            floor: 6,
            ..view(Some(&first), 2, Calm::default())
        };
        assert_eq!(decide(&high_floor).action, Action::Out { to: 6 });
    }

    #[test]
    fn jobs_waiting_at_zero_dynos_start_one() {
        // Floor 0, nothing runs, two jobs just came (under the target): one dyno.
        let fresh = Reading {
            depth: 2,
            latency: secs(1),
            busy: Some(0),
            since: None,
        };
        let night = View {
            floor: 0,
            ..view(Some(&fresh), 0, Calm::default())
        };
        assert_eq!(decide(&night).action, Action::Out { to: 1 });
        // At 1 dyno, the same jobs are no reason for more.
        let one = View {
            current: 1,
            ..night
        };
        assert_eq!(decide(&one).action, Action::Stay);
        // A backlog at 0 with rates known: what it needs (S from the last jobs done).
        let backlog = Reading {
            depth: 300,
            latency: secs(5),
            busy: Some(0),
            since: Some(Since {
                done: 10,
                elapsed: secs(10),
                depth: 300,
                busy: Some(10),
                service: None,
            }),
        };
        // λ = (10 + 0 − 10)/10 = 0; the 10 running finished and none started: through the
        // slots (10 + 0)/2 = 5, S = 5 × 10 / 5 = 10 s; (0 + 300/30) × 10 = 100 → 10.
        let night = View {
            floor: 0,
            ..view(Some(&backlog), 0, Calm::default())
        };
        assert_eq!(decide(&night).action, Action::Out { to: 10 });
        // The max holds even then; a max of 0 keeps it stopped.
        let off = View { max: 0, ..night };
        assert_eq!(decide(&off).action, Action::Stay);
    }

    #[test]
    fn calm_reads_scale_in_to_the_most_they_needed() {
        // The backlog gone: 100 jobs done in 10 s, none waiting, the running figure steady.
        let calm_read = |busy: u64| Reading {
            depth: 0,
            latency: Duration::ZERO,
            busy: Some(busy),
            since: Some(Since {
                done: 100,
                elapsed: secs(10),
                depth: 0,
                busy: Some(busy),
                service: None,
            }),
        };
        // λ = 10, S = 50 × 10 / 100 = 5 → a load of 50 slots; 51 keep the chance of a
        // job waiting past 30 s under 1 % → 6.
        let r = calm_read(50);
        let d = decide(&view(Some(&r), 15, Calm::default()));
        assert_eq!(
            d,
            Decision {
                action: Action::Stay,
                calm: Calm { reads: 1, need: 6 }
            }
        );
        // A read needing 8 (70 running, S = 7 s: 72 slots) keeps the streak and raises its
        // need.
        let r7 = calm_read(70);
        let d = decide(&view(Some(&r7), 15, d.calm));
        assert_eq!(d.calm, Calm { reads: 2, need: 8 });
        assert_eq!(d.action, Action::Stay);
        // The third: down to the most any of them needed.
        let d = decide(&view(Some(&r), 15, d.calm));
        assert_eq!(
            d,
            Decision {
                action: Action::In { to: 8 },
                calm: Calm::default()
            }
        );
    }

    #[test]
    fn anything_but_calm_breaks_the_streak() {
        let streak = Calm { reads: 2, need: 3 };
        // Jobs waiting (under the target).
        let waiting = Reading {
            depth: 1,
            latency: secs(2),
            ..idle(Some(0))
        };
        assert_eq!(
            decide(&view(Some(&waiting), 5, streak)),
            Decision {
                action: Action::Stay,
                calm: Calm::default()
            }
        );
        // The jobs need what runs.
        let full = idle(Some(50));
        assert_eq!(
            decide(&view(Some(&full), 5, streak)),
            Decision {
                action: Action::Stay,
                calm: Calm::default()
            }
        );
        // One fewer is calm.
        let r = idle(Some(40));
        assert_eq!(
            decide(&view(Some(&r), 5, Calm::default())).calm,
            Calm { reads: 1, need: 4 }
        );
        // The store unread: no scale-in, the streak starts again.
        assert_eq!(
            decide(&view(None, 5, streak)),
            Decision {
                action: Action::Stay,
                calm: Calm::default()
            }
        );
        // The store does not say what runs: an empty queue is calm, one dyno at a time.
        let blind = idle(None);
        assert_eq!(
            decide(&view(Some(&blind), 5, streak)).action,
            Action::In { to: 4 }
        );
    }

    #[test]
    fn a_store_that_says_only_how_many_wait_gets_a_slot_for_each() {
        // Celery: 42 tasks waiting, no age, nothing on what runs: ⌈42 / 10⌉ = 5 dynos.
        let waiting = Reading {
            depth: 42,
            latency: Duration::ZERO,
            busy: None,
            since: None,
        };
        assert_eq!(
            decide(&view(Some(&waiting), 1, Calm::default())).action,
            Action::Out { to: 5 }
        );
        // From 0 (floor 0): the same 5, not 1 first.
        let night = View {
            floor: 0,
            ..view(Some(&waiting), 0, Calm::default())
        };
        assert_eq!(decide(&night).action, Action::Out { to: 5 });
        // A few waiting at 0: one.
        let few = Reading {
            depth: 3,
            ..waiting
        };
        let night = View {
            floor: 0,
            ..view(Some(&few), 0, Calm::default())
        };
        assert_eq!(decide(&night).action, Action::Out { to: 1 });
        // Already enough, or more: stay, and the streak breaks.
        for current in [5, 8] {
            assert_eq!(
                decide(&view(Some(&waiting), current, Calm { reads: 2, need: 4 })),
                Decision {
                    action: Action::Stay,
                    calm: Calm::default()
                }
            );
        }
        // Within the max.
        let capped = View {
            max: 3,
            ..view(Some(&waiting), 1, Calm::default())
        };
        assert_eq!(decide(&capped).action, Action::Out { to: 3 });
        // None waiting: calm reads, then one fewer; never below the floor.
        let empty = idle(None);
        let d = decide(&view(Some(&empty), 5, Calm::default()));
        assert_eq!(
            d,
            Decision {
                action: Action::Stay,
                calm: Calm { reads: 1, need: 4 }
            }
        );
        let d = decide(&view(Some(&empty), 5, d.calm));
        assert_eq!(d.calm, Calm { reads: 2, need: 4 });
        assert_eq!(
            decide(&view(Some(&empty), 5, d.calm)).action,
            Action::In { to: 4 }
        );
        assert_eq!(
            decide(&view(Some(&empty), 1, Calm { reads: 2, need: 0 })),
            Decision {
                action: Action::Stay,
                calm: Calm::default()
            }
        );
        // A floor of 0 lets the last one stop.
        let night = View {
            floor: 0,
            ..view(Some(&empty), 1, Calm { reads: 2, need: 0 })
        };
        assert_eq!(decide(&night).action, Action::In { to: 0 });
        // No SCALE_IN_AFTER: never in.
        let never = Settings {
            scale_in_after: None,
            ..SETTINGS
        };
        let v = View {
            settings: &never,
            ..view(Some(&empty), 5, Calm { reads: 9, need: 4 })
        };
        assert_eq!(decide(&v).action, Action::Stay);
        // A store with an age but nothing on what runs: the age rules (over the target: +1).
        let aged = Reading {
            latency: secs(45),
            ..waiting
        };
        assert_eq!(
            decide(&view(Some(&aged), 2, Calm::default())).action,
            Action::Out { to: 3 }
        );
    }

    #[test]
    fn the_floor_holds_and_zero_lets_idle_workers_stop() {
        let r = idle(Some(0));
        let last = Calm { reads: 2, need: 0 };
        // Floor 1: down to 1.
        assert_eq!(
            decide(&view(Some(&r), 4, last)).action,
            Action::In { to: 1 }
        );
        // Already at the floor: no calm to count.
        assert_eq!(
            decide(&view(Some(&r), 1, last)),
            Decision {
                action: Action::Stay,
                calm: Calm::default()
            }
        );
        // Floor 0: idle workers stop.
        let night = View {
            floor: 0,
            ..view(Some(&r), 4, last)
        };
        assert_eq!(decide(&night).action, Action::In { to: 0 });
        // A floor above the max wins, as in the load policy.
        let crossed = View {
            floor: 3,
            max: 2,
            ..view(Some(&r), 4, last)
        };
        assert_eq!(decide(&crossed).action, Action::In { to: 3 });
    }

    #[test]
    fn scale_in_waits_for_its_streak_or_never_comes() {
        let r = idle(Some(0));
        let one_short = Calm { reads: 1, need: 0 };
        assert_eq!(
            decide(&view(Some(&r), 4, one_short)),
            Decision {
                action: Action::Stay,
                calm: Calm { reads: 2, need: 1 }
            }
        );
        let never = Settings {
            scale_in_after: None,
            ..SETTINGS
        };
        let v = View {
            settings: &never,
            ..view(Some(&r), 4, Calm { reads: 99, need: 0 })
        };
        assert_eq!(
            decide(&v),
            Decision {
                action: Action::Stay,
                calm: Calm {
                    reads: 100,
                    need: 1
                }
            }
        );
        // SCALE_IN_AFTER 1: the first calm read.
        let at_once = Settings {
            scale_in_after: Some(1),
            ..SETTINGS
        };
        let v = View {
            settings: &at_once,
            ..view(Some(&r), 4, Calm::default())
        };
        assert_eq!(decide(&v).action, Action::In { to: 1 });
    }

    #[test]
    fn bad_figures_never_panic() {
        let huge = Reading {
            depth: u64::MAX,
            latency: Duration::MAX,
            busy: Some(u64::MAX),
            since: Some(Since {
                done: u64::MAX,
                elapsed: Duration::from_nanos(1),
                depth: 0,
                busy: Some(0),
                service: None,
            }),
        };
        let v = View {
            current: u32::MAX,
            max: u32::MAX,
            ..view(Some(&huge), 0, Calm::default())
        };
        assert_eq!(decide(&v).action, Action::Stay);
        let v = view(Some(&huge), 3, Calm::default());
        assert_eq!(decide(&v).action, Action::Out { to: 20 });
        let zero_target = Settings {
            latency: Duration::ZERO,
            ..SETTINGS
        };
        let v = View {
            settings: &zero_target,
            ..view(Some(&EXAMPLE), 2, Calm::default())
        };
        assert_eq!(decide(&v).action, Action::Out { to: 20 });
    }

    #[test]
    fn a_decision_as_the_schedule_policy_s_load() {
        use crate::policy::{Load, Reason};
        let load = |desired, recent, scale_in_to| Load {
            desired,
            recent,
            scale_in_to,
            reason: Reason::Queue,
        };
        let decision = |action| Decision {
            action,
            calm: Calm::default(),
        };
        let out = decision(Action::Out { to: 15 });
        assert_eq!(as_load(&out, &EXAMPLE, &SETTINGS, 2), load(15, 15, None));
        let calm = decision(Action::In { to: 5 });
        assert_eq!(
            as_load(&calm, &idle(Some(3)), &SETTINGS, 8),
            load(5, 5, Some(5))
        );
        let stay = decision(Action::Stay);
        // Jobs wait (under the target): an edge keeps what runs.
        let waiting = Reading {
            latency: secs(10),
            ..EXAMPLE
        };
        assert_eq!(as_load(&stay, &waiting, &SETTINGS, 7), load(0, 7, None));
        // None waits: an edge goes no lower than the running jobs need (25 at 10 a dyno).
        assert_eq!(
            as_load(&stay, &idle(Some(25)), &SETTINGS, 7),
            load(0, 3, None)
        );
        // ... and where the store does not say what runs, no lower than what runs.
        assert_eq!(as_load(&stay, &idle(None), &SETTINGS, 7), load(0, 7, None));
    }

    #[test]
    fn a_backlog_that_will_be_late_scales_out_before_its_oldest_job_is() {
        // 600 jobs just arrived (the oldest 2 s old), 2 s a job, 1 dyno of 10: gone in 120 s.
        let burst = Reading {
            depth: 600,
            latency: secs(2),
            busy: Some(10),
            since: Some(Since {
                done: 50,
                elapsed: secs(10),
                depth: 0,
                busy: Some(10),
                service: None,
            }),
        };
        let r = rates(&burst);
        assert!(drains_late(&burst, r, &SETTINGS, 1));
        // λ = 65/s, 60 of them the burst now waiting (counted once, in the backlog), S = 2 s:
        // (5 + 600/30) × 2 / 10 = 5 dynos, at once.
        assert_eq!(
            decide(&view(Some(&burst), 1, Calm::default())).action,
            Action::Out { to: 5 }
        );
        // 20 dynos clear it in 6 s: on time, nothing to do.
        assert!(!drains_late(&burst, r, &SETTINGS, 20));
        // Exactly on time is on time: 28 s old, 100 jobs, 5 dynos of 10 at 1 s a job → 2 s.
        let edge = Reading {
            depth: 100,
            latency: secs(28),
            busy: Some(50),
            since: Some(Since {
                done: 500,
                elapsed: secs(10),
                depth: 100,
                busy: Some(50),
                service: None,
            }),
        };
        assert!(!drains_late(&edge, rates(&edge), &SETTINGS, 5));
        assert!(drains_late(
            &Reading {
                latency: Duration::from_millis(28_001),
                ..edge
            },
            rates(&edge),
            &SETTINGS,
            5
        ));
        // Late, but already as many dynos as the formula asks: nothing.
        let d = decide(&View {
            current: 17,
            ..view(Some(&burst), 17, Calm::default())
        });
        assert_eq!(d.action, Action::Stay);
        // Late (29 s old, 7 s more at 17 dynos) but at what the formula asks: nothing to ask.
        let late_at_need = Reading {
            latency: secs(29),
            ..burst
        };
        assert!(drains_late(&late_at_need, r, &SETTINGS, 17));
        assert_eq!(
            decide(&View {
                max: 40,
                ..view(Some(&late_at_need), 17, Calm::default())
            })
            .action,
            Action::Stay
        );
        // No service time, no dynos, or no backlog: no prediction.
        assert!(!drains_late(&burst, None, &SETTINGS, 1));
        assert!(!drains_late(&burst, r, &SETTINGS, 0));
        assert!(!drains_late(
            &Reading { depth: 0, ..burst },
            r,
            &SETTINGS,
            1
        ));
    }
}
