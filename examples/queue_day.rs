//! A generated day of bursty jobs under the daemon's queue policy and under a "+1 a minute
//! while over" step policy, on the very same jobs: the share of minutes within the latency
//! target and the dyno-hours each paid for (docs/workers.md, "Measured").
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
        "{:<36} {:>11} {:>11} {:>10} {:>7} {:>7}",
        "policy", "within (%)", "dyno-hours", "worst (s)", "scales", "jobs"
    );
    let rows = [
        ("queue, UTILIZATION 0.7 (default)", Policy::Queue, 0.7),
        ("queue, UTILIZATION 1.0", Policy::Queue, 1.0),
        ("step: +1 a minute while over, -1", Policy::Step, 1.0),
    ];
    for (name, policy, utilization) in rows {
        let limits = Limits {
            utilization,
            ..limits
        };
        let o = run(&day, &limits, policy);
        println!(
            "{name:<36} {:>11.2} {:>11.1} {:>10.0} {:>7} {:>7}",
            o.within_percent(),
            o.dyno_hours,
            o.worst_wait,
            o.scales,
            o.jobs
        );
    }
}
