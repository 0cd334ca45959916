//! A generated day of bursty jobs under the daemon's queue policy and under "+1 a minute while
//! over" step policies (over the target, and earlier: over half, a sixth of it, 0 s), on the
//! very same jobs: the share of minutes within the latency target and the dyno-hours each paid
//! for; then other kinds of day (no bursts, bigger bursts, longer jobs), ten seeds each, under
//! the queue policy and the earliest step (docs/workers.md, "Measured").
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

    println!("\nten seeds of each kind of day, the mean (worst wait: the worst of the ten)");
    println!(
        "{:<36} {:<20} {:>11} {:>11} {:>10} {:>7}",
        "day", "policy", "within (%)", "dyno-hours", "worst (s)", "scales"
    );
    let kinds = [
        ("bursty (above)", Day::BURSTY),
        (
            "no bursts",
            Day {
                burst_every: 0,
                ..Day::BURSTY
            },
        ),
        (
            "bursts of 3,000",
            Day {
                burst_jobs: 3_000,
                ..Day::BURSTY
            },
        ),
        (
            "jobs of 20 s, 0.1-0.6 a second",
            Day {
                service_mean: 20.0,
                base_rate: 0.1,
                swell: 0.5,
                burst_jobs: 60,
                ..Day::BURSTY
            },
        ),
        (
            "jobs of 120 s, 0.02-0.12 a second",
            Day {
                service_mean: 120.0,
                base_rate: 0.02,
                swell: 0.1,
                burst_jobs: 20,
                ..Day::BURSTY
            },
        ),
    ];
    for (name, kind) in kinds {
        for (label, policy) in [
            ("queue", Policy::Queue),
            ("step from 0 s", Policy::Step { over: 0 }),
        ] {
            let seeds = 1..=10_u64;
            let n = seeds.clone().count() as f64;
            let (mut within, mut hours, mut worst, mut scales) = (0.0, 0.0, 0.0_f64, 0.0);
            for seed in seeds {
                let o = run(&Day { seed, ..kind }, &limits, policy);
                within += o.within_percent();
                hours += o.dyno_hours;
                worst = worst.max(o.worst_wait);
                scales += f64::from(o.scales);
            }
            println!(
                "{name:<36} {label:<20} {:>11.2} {:>11.2} {:>10.0} {:>7.0}",
                within / n,
                hours / n,
                worst,
                scales / n
            );
        }
    }
}
