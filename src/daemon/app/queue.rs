//! A worker's job queue in the loop: each read its queue task sends is turned, once, into what
//! it asks of the schedule's policy ([`crate::queue::policy::as_load`]); the calm streak is kept
//! between reads. A lost store forgets the ask: nothing is scaled in on missing data.

use super::*;
use crate::queue::policy::{self as queue_policy, Settings};

impl AppLoop {
    /// One read (or a failed one) of target `index`'s queue, at the quantity `current`.
    pub(super) fn queue_news(
        &mut self,
        index: usize,
        news: QueueNews,
        current: u32,
        now: DateTime<Utc>,
    ) {
        let t = &mut self.targets[index];
        let Some(q) = &t.target.queue else {
            return;
        };
        let QueueNews::Read { totals, at } = news else {
            t.queue.calm = queue_policy::Calm::default();
            t.queue.load = None;
            return;
        };
        let previous = t
            .queue
            .last
            .as_ref()
            .map(|(before, then)| (before, (at - *then).to_std().unwrap_or_default()));
        let reading = totals.reading(previous);
        let settings = Settings {
            concurrency: t
                .target
                .traffic
                .concurrency
                .or(totals.concurrency)
                .unwrap_or(crate::queue::DEFAULT_CONCURRENCY),
            latency: q.latency,
            scale_in_after: t.target.thresholds.scale_in_after,
        };
        let view = queue_policy::View {
            reading: Some(&reading),
            settings: &settings,
            current,
            floor: t.target.floor(now).map_or(0, |e| e.quantity),
            max: t.target.thresholds.max,
            calm: t.queue.calm,
        };
        let decision = queue_policy::decide(&view);
        t.queue.calm = decision.calm;
        t.queue.load = Some(queue_policy::as_load(
            &decision, &reading, &settings, current,
        ));
        t.queue.last = Some((totals, at));
    }
}
