//! Alerts for the course of an outage: down at the maximum from the start, still unhealthy at
//! the maximum, recovered. (Scale notices are sent where the scale is applied.)

use super::*;

impl AppLoop {
    /// Alerts for the course of an outage: at max from the start, still unhealthy at max,
    /// recovery.
    pub(super) fn track_trouble(
        &mut self,
        index: usize,
        probe: &Probe,
        current: Option<u32>,
        floor: Option<u32>,
        now: DateTime<Utc>,
    ) {
        let t = &mut self.targets[index];
        let max = t.target.thresholds.max;
        let base = Notice {
            dry_run: t.target.dry_run,
            reason: probe.outcome.to_string(),
            status: probe.status.map(|s| s.to_string()).unwrap_or_default(),
            latency_ms: Some(probe.latency_ms() as u64),
            ..Notice::new(Kind::Recovered, &t.target.app, &t.target.process)
        };
        if probe.outcome.is_unhealthy() {
            let scale_out_after = t.target.thresholds.scale_out_after;
            let unhealthy = t.streaks.unhealthy;
            let trouble = t.trouble.get_or_insert(Trouble {
                since: now,
                checks: 0,
                at_max: 0,
                alerted: false,
            });
            trouble.checks += 1;
            let at_max = current.is_some_and(|c| c >= max);
            if at_max {
                trouble.at_max += 1;
            }
            // Already at the maximum when the outage counts: nothing to scale out to, so no
            // scale-out alert would come; say so at once.
            let kind = if at_max && unhealthy == scale_out_after {
                Some(Kind::DownAtMax)
            } else if trouble.at_max >= STILL_UNHEALTHY_AFTER {
                Some(Kind::StillUnhealthy)
            } else {
                None
            };
            if let Some(kind) = kind {
                trouble.alerted = true;
                self.notifier.notify(Notice {
                    kind,
                    to: current,
                    message: probe.error.clone(),
                    ..base
                });
            }
        } else if let Some(trouble) = t.trouble.take().filter(|t| t.alerted) {
            let minutes = (now - trouble.since).num_seconds() as f64 / 60.0;
            let calm = match (t.target.thresholds.scale_in_after, floor, current) {
                (Some(n), Some(f), Some(c)) if c > f => {
                    format!(" It runs {c} dynos and returns to the schedule's {f} after {n} fast checks.")
                }
                _ => String::new(),
            };
            self.notifier.notify(Notice {
                from: current,
                message: format!(
                    "The outage lasted {minutes:.1} minutes ({} failed checks).{calm}",
                    trouble.checks
                ),
                ..base
            });
        }
    }
}
