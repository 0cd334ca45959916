//! A generated day of bursty jobs under the daemon's queue policy and under "+1 a minute while
//! over" step policies (over the target, and earlier: over half, a sixth of it, 0 s), on the
//! very same jobs: the share of minutes within the latency target and the dyno-hours each paid
//! for (docs/workers.md, "Measured").
//!
//! cargo run --release --example queue_day

use std::time::Duration;

use autoscale::queue::sim::{run, Day, Limits, Policy};

fn main() {
    let limits = Limits {
        concurrency: 10,
        latency: Duration::from_secs(30),
        floor: 1,
        max: 20,
        read_every: 10,
        scale_in_after: 3,
        utilization: 0.7,
    };
    let day = Day::BURSTY;
    println!(
        "a day: {} job/s at night to {} at the peak, {} jobs at once every {} h, jobs of {} s on average, dynos working {} s after they are asked for; CONCURRENCY {}, QUEUE_LATENCY {} s, floor {}, max {}",
        day.base_rate,
        day.base_rate + day.swell,
        day.burst_jobs,
        day.burst_every / 3600,
        day.service_mean,
        day.boot,
        limits.concurrency,
        limits.latency.as_secs(),
        limits.floor,
        limits.max
    );
    println!(
        "{:<40} {:>11} {:>11} {:>10} {:>7} {:>7}",
        "policy", "within (%)", "dyno-hours", "worst (s)", "scales", "jobs"
    );
    let target = limits.latency.as_secs() as u32;
    let mut rows = vec![("queue (the daemon's)".to_owned(), Policy::Queue)];
    for over in [target, target / 2, target / 6, 0] {
        rows.push((
            format!("step: +1 a minute while over {over} s, -1"),
            Policy::Step { over },
        ));
    }
    for (name, policy) in rows {
        let o = run(&day, &limits, policy);
        println!(
            "{name:<40} {:>11.2} {:>11.1} {:>10.0} {:>7} {:>7}",
            o.within_percent(),
            o.dyno_hours,
            o.worst_wait,
            o.scales,
            o.jobs
        );
    }
}
