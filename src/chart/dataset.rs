//! A [`Dataset`]: per target (app, process) its traffic minutes, queue minutes (a worker on its
//! job queue), health checks, scale events,
//! holds, alerts sent and the settings its `start` lines (or the configuration) give; what
//! `chart`, `suggest` and `replay` look at, however it was read (see [`super::read`]).
//!
//! The same minute can come twice: from router lines and from the daemon's `event=traffic` line
//! of it, or from two overlapping files. Two equal copies are one minute; two that differ keep
//! the one that counted more requests (a tail session or a `heroku logs -n` window loses lines,
//! it never invents them), and the dataset says how many disagreed. Lists are capped
//! ([`MAX_TARGETS`], [`MAX_EVENTS`], [`MAX_MINUTES`]) and what a cap left out is counted.
//!
//! Pure: no I/O, no clock.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::calendar::Calendar;
use crate::config::Target;
use crate::history::rows::ProbeSource;
use crate::probe::Outcome;
use crate::schedule::Schedule;
use crate::traffic::minute::{Minute, MAX_BATCH_MINUTES};

/// Targets a dataset tells apart; events of further ones are counted as overflow.
pub const MAX_TARGETS: usize = 1024;
/// Probes, scale events, holds and alerts a dataset keeps, all targets together (a week of a
/// check every second is 604,800); further ones are counted as overflow.
pub const MAX_EVENTS: usize = 2_000_000;
/// Traffic minutes a dataset keeps, all targets together (about 30 target-weeks).
pub const MAX_MINUTES: usize = MAX_BATCH_MINUTES;

/// One minute of a worker's job queue (its home is the queue module, which reads it).
pub use crate::queue::recorded::QueueMinute;

/// One health check (`event=probe`).
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub at: DateTime<Utc>,
    /// A request to the check URL, or a minute of router traffic judged as a check.
    pub source: ProbeSource,
    pub outcome: Outcome,
    pub status: Option<u16>,
    pub latency_ms: Option<f64>,
    /// The formation's quantity the daemon saw.
    pub current: Option<u32>,
}

/// One scale decision (`event=scale`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scale {
    pub at: DateTime<Utc>,
    pub from: Option<u32>,
    pub to: Option<u32>,
    /// `startup`, `schedule`, `down`, `slow`, `floor`, `scale_in`, `load`, ...
    pub reason: String,
    /// `ok`, `dry_run`, `error`, `paused`, `cancelled`, ...
    pub result: String,
}

impl Scale {
    /// Whether the formation changed (a dry run or a failure leaves it).
    pub fn applied(&self) -> bool {
        self.result == "ok"
    }
}

/// A hold starting (`event=hold`) or ending (`event=hold_end`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub at: DateTime<Utc>,
    /// `manual`, `pause`, `deploy`.
    pub reason: String,
    pub quantity: Option<u32>,
    pub until: Option<DateTime<Utc>>,
    pub ended: bool,
}

/// An alert sent (`event=notify result=ok`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub at: DateTime<Utc>,
    /// `webhook`, `email`, `sms`.
    pub channel: String,
    /// `scale_out`, `still_unhealthy`, `recovered`, ...
    pub kind: String,
}

/// What a target ran with, from a `start` line (or the configuration).
#[derive(Debug, Clone)]
pub struct Settings {
    /// From when these settings hold (the `start` line's time).
    pub at: DateTime<Utc>,
    pub schedule: Option<Arc<Schedule>>,
    /// The schedule with its holidays, when known (a configured target's).
    pub calendar: Option<Calendar>,
    /// The zone of the schedule (also when the schedule itself could not be read).
    pub tz: Option<Tz>,
    pub max: Option<u32>,
    pub slow_ms: Option<f64>,
    pub fast_ms: Option<f64>,
    pub concurrency: Option<u32>,
    pub utilization: Option<f64>,
    pub dry_run: bool,
    /// A worker on its job queue: its library and the latency it is held under.
    pub queue: Option<String>,
    pub queue_latency_ms: Option<f64>,
    /// Calm reads (or minutes) in a row before a scale-in; `None`: off.
    pub scale_in_after: Option<u32>,
}

impl Settings {
    /// The settings of a configured target (they hold for all time).
    pub fn of_target(target: &Target) -> Settings {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        Settings {
            at: DateTime::<Utc>::MIN_UTC,
            schedule: Some(target.schedule.clone()),
            calendar: Some(target.calendar()),
            tz: Some(target.schedule.tz()),
            max: Some(target.thresholds.max),
            slow_ms: Some(ms(target.check.slow)),
            fast_ms: target.check.fast.map(ms),
            concurrency: target.traffic.concurrency,
            utilization: Some(target.traffic.utilization),
            dry_run: target.dry_run,
            queue: target.queue.as_ref().map(|q| q.library.as_str().to_owned()),
            queue_latency_ms: target.queue.as_ref().map(|q| ms(q.latency)),
            scale_in_after: target.thresholds.scale_in_after,
        }
    }
}

/// What [`Dataset::add_minute`] did with a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MinuteAdded {
    /// The first copy of it.
    New,
    /// An equal copy was there already.
    Same,
    /// A copy that differed was there: the one with more requests is kept.
    Differed,
    /// Past [`MAX_MINUTES`] or [`MAX_TARGETS`]: left out.
    Overflow,
}

/// Lines read, by what they were.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lines {
    pub router: u64,
    pub traffic: u64,
    /// The daemon's other event lines.
    pub daemon: u64,
    /// Well-formed lines of something else (the app's own output, dyno state changes).
    pub other: u64,
    /// Unreadable lines, including those with a value out of range.
    pub garbage: u64,
    /// Of the garbage: lines of a known shape with a value out of range (a latency of 1e308, a
    /// year 9999, 4 billion dynos).
    pub out_of_range: u64,
    /// Router lines that could not be given to an app (see the module docs).
    pub unattributed: u64,
    /// Rows read from the history database.
    pub history: u64,
    /// Lines and events left out by a cap.
    pub overflow: u64,
    /// Bytes read, after decompression.
    pub bytes: u64,
}

impl Lines {
    /// Lines that were neither garbage nor something else's: what a chart is made of.
    pub fn useful(&self) -> u64 {
        self.router + self.traffic + self.daemon + self.history
    }
}

/// One target's data. Lists are sorted by time once the dataset is finished.
#[derive(Debug, Clone, Default)]
pub struct TargetData {
    pub app: String,
    pub process: String,
    minutes: BTreeMap<DateTime<Utc>, Minute>,
    queue: BTreeMap<DateTime<Utc>, QueueMinute>,
    pub probes: Vec<Probe>,
    pub scales: Vec<Scale>,
    pub holds: Vec<Hold>,
    pub alerts: Vec<Alert>,
    /// From each `start` line, by time.
    pub starts: Vec<Settings>,
    /// From the configuration, when it has this target.
    pub configured: Option<Settings>,
    /// Quantities the daemon saw or set, by time: each holds until the next.
    pub quantities: Vec<(DateTime<Utc>, u32)>,
    /// The first and last of the daemon's lines about this target.
    pub first_event: Option<DateTime<Utc>>,
    pub last_event: Option<DateTime<Utc>>,
    /// How long each of its traffic and queue minutes lasted, when not a minute (see
    /// [`Dataset::set_period`]).
    period: Option<TimeDelta>,
}

impl TargetData {
    fn new(app: &str, process: &str) -> TargetData {
        TargetData {
            app: app.to_owned(),
            process: process.to_owned(),
            ..TargetData::default()
        }
    }

    /// `app/process`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.app, self.process)
    }

    /// The traffic minutes, by time.
    pub fn minutes(&self) -> impl Iterator<Item = &Minute> + '_ {
        self.minutes.values()
    }

    /// The traffic minutes, by time, as `suggest` and `replay` take them.
    pub fn minute_list(&self) -> Vec<Minute> {
        self.minutes.values().cloned().collect()
    }

    pub fn minute_count(&self) -> usize {
        self.minutes.len()
    }

    /// The queue minutes, by time.
    pub fn queue_minutes(&self) -> impl DoubleEndedIterator<Item = &QueueMinute> + '_ {
        self.queue.values()
    }

    pub fn queue_minute_count(&self) -> usize {
        self.queue.len()
    }

    /// How long each of its traffic and queue minutes lasted in real time: a minute, except in
    /// `autoscale demo` (see [`Dataset::set_period`]).
    pub fn period(&self) -> TimeDelta {
        self.period.unwrap_or(TimeDelta::minutes(1))
    }

    /// Whether anything at all is known about the target.
    pub fn has_data(&self) -> bool {
        !self.minutes.is_empty() || !self.queue.is_empty() || self.first_event.is_some()
    }

    /// The settings in force: the latest `start` line's, else the configuration's.
    pub fn settings(&self) -> Option<&Settings> {
        self.starts.last().or(self.configured.as_ref())
    }

    /// The zone the schedule is read in (UTC when nothing says).
    pub fn zone(&self) -> Tz {
        self.settings()
            .and_then(|s| s.schedule.as_ref().map(|s| s.tz()).or(s.tz))
            .unwrap_or(chrono_tz::UTC)
    }

    /// The first and last instant anything is known about: traffic and queue minutes (to their
    /// end, a [`TargetData::period`] after their start) and the daemon's lines.
    pub fn span(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let period = self.period();
        let of = |keys: &mut dyn DoubleEndedIterator<Item = &DateTime<Utc>>| {
            let first = *keys.next()?;
            let last = keys.next_back().copied().unwrap_or(first);
            Some((first, last + period))
        };
        [
            of(&mut self.minutes.keys()),
            of(&mut self.queue.keys()),
            self.first_event.zip(self.last_event),
        ]
        .into_iter()
        .flatten()
        .reduce(|(a, b), (c, d)| (a.min(c), b.max(d)))
    }

    /// The quantity as a step series (each value until the next), equal neighbours merged; at
    /// one instant the last observation wins.
    pub fn quantity_steps(&self) -> Vec<(DateTime<Utc>, u32)> {
        let mut steps: Vec<(DateTime<Utc>, u32)> = Vec::new();
        for &(at, q) in &self.quantities {
            match steps.last_mut() {
                Some(last) if last.0 == at => last.1 = q,
                _ => steps.push((at, q)),
            }
        }
        steps.dedup_by(|b, a| a.1 == b.1);
        steps
    }

    /// The schedule's floor (holidays included) from `from` to `to` as a step series, computed
    /// from the schedule itself: each `start` line's schedule from its time until the next one's (the first also
    /// before it), else the configured one. Empty when no schedule is known. `capped` when the
    /// schedule fires more than [`MAX_FLOOR_EDGES`] times in the range (the rest is left out).
    pub fn floor_steps(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> FloorSteps {
        // Holidays included: a `start` line's schedule gets the configured target's holidays.
        let holidays = self.configured.as_ref().and_then(|c| c.calendar.as_ref());
        let calendar_of = |s: &Settings| match (&s.calendar, s.schedule.clone(), holidays) {
            (Some(c), _, _) => Some(c.clone()),
            (None, Some(normal), Some(c)) => Some(c.with_normal(normal)),
            (None, normal, None) => normal.map(Calendar::without_holidays),
            (None, None, Some(_)) => None,
        };
        let mut segments: Vec<(DateTime<Utc>, Calendar)> = self
            .starts
            .iter()
            .filter_map(|s| Some((s.at, calendar_of(s)?)))
            .collect();
        if segments.is_empty() {
            if let Some(c) = self.configured.as_ref().and_then(calendar_of) {
                segments.push((from, c));
            }
        }
        let mut out = FloorSteps::default();
        let mut examined = 0usize;
        for (i, (start, calendar)) in segments.iter().enumerate() {
            let start = *start;
            let seg_from = if i == 0 { from } else { start.max(from) };
            let seg_to = segments.get(i + 1).map_or(to, |next| next.0.min(to));
            if seg_from > seg_to || (seg_from == seg_to && i + 1 < segments.len()) {
                continue;
            }
            if let Some(edge) = calendar.floor(seg_from) {
                out.push(seg_from, edge.quantity);
            }
            let mut cursor = seg_from;
            'edges: loop {
                let edges = calendar.next_edges(cursor, 256);
                for edge in &edges {
                    if edge.at > seg_to {
                        break 'edges;
                    }
                    examined += 1;
                    if examined > MAX_FLOOR_EDGES {
                        out.capped = true;
                        return out;
                    }
                    out.push(edge.at, edge.quantity);
                    cursor = edge.at;
                }
                if edges.len() < 256 {
                    break;
                }
            }
        }
        out
    }
}

/// Schedule firings [`TargetData::floor_steps`] walks through at most.
pub const MAX_FLOOR_EDGES: usize = 100_000;

/// The schedule's floor as steps (see [`TargetData::floor_steps`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FloorSteps {
    pub steps: Vec<(DateTime<Utc>, u32)>,
    pub capped: bool,
}

impl FloorSteps {
    fn push(&mut self, at: DateTime<Utc>, quantity: u32) {
        match self.steps.last_mut() {
            Some(last) if last.0 == at => last.1 = quantity,
            Some(last) if last.1 == quantity => {}
            _ => self.steps.push((at, quantity)),
        }
    }
}

/// Everything read: the targets in the order they first appeared, the lines counted, notes.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    pub(super) targets: Vec<TargetData>,
    /// Where each target is in `targets`, by app then process: a line finds its target in
    /// constant time (1,024 targets once made `chart` look through them all for every minute).
    /// A cache, checked on use and rebuilt when `targets` changed under it.
    index: HashMap<String, HashMap<String, usize>>,
    pub lines: Lines,
    notes: Vec<String>,
    pub(super) events: usize,
    pub(super) minutes: usize,
    /// Minutes given twice that differed (see [`MinuteAdded::Differed`]).
    pub differing_minutes: u64,
}

impl Dataset {
    pub fn new() -> Dataset {
        Dataset::default()
    }

    pub fn targets(&self) -> &[TargetData] {
        &self.targets
    }

    pub fn target(&self, app: &str, process: &str) -> Option<&TargetData> {
        self.targets
            .iter()
            .find(|t| t.app == app && t.process == process)
    }

    /// What the reading decided or left out that the user should know (shown on stderr and in
    /// the report).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    /// Nothing to chart: no target has any data.
    pub fn is_empty(&self) -> bool {
        !self.targets.iter().any(TargetData::has_data)
    }

    /// The first and last instant of any target's data.
    pub fn span(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.targets
            .iter()
            .filter_map(TargetData::span)
            .reduce(|(a, b), (c, d)| (a.min(c), b.max(d)))
    }

    fn target_mut(&mut self, app: &str, process: &str) -> Option<&mut TargetData> {
        match self.position(app, process) {
            Some(i) => Some(&mut self.targets[i]),
            None if self.targets.len() >= MAX_TARGETS => None,
            None => {
                self.targets.push(TargetData::new(app, process));
                self.index
                    .entry(app.to_owned())
                    .or_default()
                    .insert(process.to_owned(), self.targets.len() - 1);
                self.targets.last_mut()
            }
        }
    }

    /// Where (app, process) is in `targets`, through the index (rebuilt when stale).
    fn position(&mut self, app: &str, process: &str) -> Option<usize> {
        let cached = |index: &HashMap<String, HashMap<String, usize>>, targets: &[TargetData]| {
            let i = *index.get(app)?.get(process)?;
            targets
                .get(i)
                .filter(|t| t.app == app && t.process == process)
                .map(|_| i)
        };
        if let Some(i) = cached(&self.index, &self.targets) {
            return Some(i);
        }
        let entries: usize = self.index.values().map(HashMap::len).sum();
        let stale = entries != self.targets.len()
            || self.index.get(app).is_some_and(|p| p.contains_key(process));
        if !stale {
            return None;
        }
        self.index.clear();
        for (i, t) in self.targets.iter().enumerate() {
            self.index
                .entry(t.app.clone())
                .or_default()
                .insert(t.process.clone(), i);
        }
        cached(&self.index, &self.targets)
    }

    /// A target's event list gets one more, unless the cap is reached.
    fn event_target(&mut self, app: &str, process: &str) -> Option<&mut TargetData> {
        if self.events >= MAX_EVENTS {
            self.lines.overflow += 1;
            return None;
        }
        let known = self.targets.len() < MAX_TARGETS || self.position(app, process).is_some();
        if !known {
            self.lines.overflow += 1;
            return None;
        }
        self.events += 1;
        self.target_mut(app, process)
    }

    /// Adds one minute of traffic (of `minute.app`, `minute.process`); see [`MinuteAdded`].
    pub fn add_minute(&mut self, minute: Minute) -> MinuteAdded {
        let full = self.minutes >= MAX_MINUTES;
        let Some(target) = self.target_mut(&minute.app, &minute.process) else {
            self.lines.overflow += 1;
            return MinuteAdded::Overflow;
        };
        let added = match target.minutes.get_mut(&minute.minute) {
            Some(kept) if *kept == minute => MinuteAdded::Same,
            Some(kept) => {
                if minute.requests > kept.requests {
                    *kept = minute;
                }
                MinuteAdded::Differed
            }
            None if full => MinuteAdded::Overflow,
            None => {
                target.minutes.insert(minute.minute, minute);
                MinuteAdded::New
            }
        };
        match added {
            MinuteAdded::New => self.minutes += 1,
            MinuteAdded::Differed => self.differing_minutes += 1,
            MinuteAdded::Overflow => self.lines.overflow += 1,
            MinuteAdded::Same => {}
        }
        added
    }

    /// Adds one minute of a worker's queue (a second copy of a minute is the same minute: the
    /// first is kept); the dynos it was read at are a quantity seen. `false` when a cap left it
    /// out.
    pub fn add_queue_minute(&mut self, app: &str, process: &str, minute: QueueMinute) -> bool {
        let full = self.minutes >= MAX_MINUTES;
        let Some(t) = self.target_mut(app, process) else {
            self.lines.overflow += 1;
            return false;
        };
        if t.queue.contains_key(&minute.minute) {
            return true;
        }
        if full {
            self.lines.overflow += 1;
            return false;
        }
        t.quantities.push((minute.minute, minute.dynos));
        t.touch(minute.minute);
        t.queue.insert(minute.minute, minute);
        self.minutes += 1;
        true
    }

    /// Adds a health check; `false` when a cap left it out.
    pub fn add_probe(&mut self, app: &str, process: &str, probe: Probe) -> bool {
        let Some(t) = self.event_target(app, process) else {
            return false;
        };
        if let Some(current) = probe.current {
            t.quantities.push((probe.at, current));
        }
        t.touch(probe.at);
        t.probes.push(probe);
        true
    }

    /// Adds a scale decision (its quantities too: `from` before it, `to` when it was applied).
    pub fn add_scale(&mut self, app: &str, process: &str, scale: Scale) -> bool {
        let Some(t) = self.event_target(app, process) else {
            return false;
        };
        if let Some(from) = scale.from {
            t.quantities.push((scale.at, from));
        }
        if let (Some(to), true) = (scale.to, scale.applied()) {
            t.quantities.push((scale.at, to));
        }
        t.touch(scale.at);
        t.scales.push(scale);
        true
    }

    pub fn add_hold(&mut self, app: &str, process: &str, hold: Hold) -> bool {
        let Some(t) = self.event_target(app, process) else {
            return false;
        };
        if let (Some(q), false) = (hold.quantity, hold.ended) {
            t.quantities.push((hold.at, q));
        }
        t.touch(hold.at);
        t.holds.push(hold);
        true
    }

    pub fn add_alert(&mut self, app: &str, process: &str, alert: Alert) -> bool {
        let Some(t) = self.event_target(app, process) else {
            return false;
        };
        t.touch(alert.at);
        t.alerts.push(alert);
        true
    }

    /// A quantity the daemon saw at `at` (a `scale_skip` line's `current`).
    pub fn add_quantity(&mut self, app: &str, process: &str, at: DateTime<Utc>, q: u32) -> bool {
        let Some(t) = self.event_target(app, process) else {
            return false;
        };
        t.quantities.push((at, q));
        t.touch(at);
        true
    }

    /// The settings of a `start` line.
    pub fn add_settings(&mut self, app: &str, process: &str, settings: Settings) -> bool {
        let Some(t) = self.event_target(app, process) else {
            return false;
        };
        t.touch(settings.at);
        t.starts.push(settings);
        true
    }

    /// Another line about the target (its time extends the target's span).
    pub fn add_seen(&mut self, app: &str, process: &str, at: DateTime<Utc>) -> bool {
        match self.target_mut(app, process) {
            Some(t) => {
                t.touch(at);
                true
            }
            None => false,
        }
    }

    /// The configuration's settings for the targets it shares with the data (a `start` line,
    /// when there is one, says what actually ran and wins).
    pub fn configure(&mut self, targets: &[Target]) {
        for target in targets {
            if let Some(t) = self
                .targets
                .iter_mut()
                .find(|t| t.app == target.app && t.process == target.process)
            {
                t.configured = Some(Settings::of_target(target));
            }
        }
    }

    /// Says that each traffic and queue minute of `app/process` lasted `period` of real time, not
    /// a minute: `autoscale demo` runs its traffic minutes on a faster clock (a minute every 2 s)
    /// and gives its worker's queue as the reads the daemon made (one a second), each keyed by
    /// the instant it stands for. The chart then draws them over the time they lasted; what
    /// real logs give is never re-timed. `false` past [`MAX_TARGETS`] or for a period that is
    /// not positive.
    pub fn set_period(&mut self, app: &str, process: &str, period: TimeDelta) -> bool {
        if period <= TimeDelta::zero() {
            return false;
        }
        match self.target_mut(app, process) {
            Some(t) => {
                t.period = Some(period);
                true
            }
            None => false,
        }
    }

    /// Makes sure `app/process` is listed, with or without data (the dashboard lists every
    /// configured target); `false` past [`MAX_TARGETS`].
    pub fn include(&mut self, app: &str, process: &str) -> bool {
        self.target_mut(app, process).is_some()
    }

    /// Keeps only `app/process`; `false` when the data has no such target.
    pub fn keep_only(&mut self, app: &str, process: &str) -> bool {
        self.targets
            .retain(|t| t.app == app && t.process == process);
        !self.targets.is_empty()
    }

    /// Sorts every list by time and drops exact repeats (the same line in two files).
    pub fn sort(&mut self) {
        for t in &mut self.targets {
            t.probes.sort_by_key(|p| p.at);
            t.probes.dedup();
            t.scales.sort_by_key(|s| s.at);
            t.scales.dedup();
            t.holds.sort_by_key(|h| h.at);
            t.holds.dedup();
            t.alerts.sort_by_key(|a| a.at);
            t.alerts.dedup();
            t.starts.sort_by_key(|s| s.at);
            t.quantities.sort_by_key(|q| q.0);
        }
    }
}

impl TargetData {
    fn touch(&mut self, at: DateTime<Utc>) {
        self.first_event = Some(self.first_event.map_or(at, |t| t.min(at)));
        self.last_event = Some(self.last_event.map_or(at, |t| t.max(at)));
    }

    /// Adds everything of `other` (an unnamed target's data) to this one.
    pub(super) fn absorb(&mut self, other: &TargetData) {
        self.probes.extend(other.probes.iter().cloned());
        self.scales.extend(other.scales.iter().cloned());
        self.holds.extend(other.holds.iter().cloned());
        self.alerts.extend(other.alerts.iter().cloned());
        self.starts.extend(other.starts.iter().cloned());
        self.quantities.extend(other.quantities.iter().cloned());
        for at in [other.first_event, other.last_event].into_iter().flatten() {
            self.touch(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(d: &mut Dataset, app: &str) -> bool {
        d.add_seen(app, "web", "2026-11-30T10:00:00Z".parse().unwrap())
    }

    #[test]
    fn targets_are_found_through_the_index_even_after_one_is_removed() {
        let mut d = Dataset::new();
        for i in 0..5 {
            assert!(seen(&mut d, &format!("app{i}")));
        }
        assert_eq!(d.position("app3", "web"), Some(3));
        assert_eq!(d.position("app3", "worker"), None);
        // A target removed behind the index's back (as `read` does with the unnamed one).
        d.targets.remove(1);
        assert_eq!(d.position("app3", "web"), Some(2));
        assert_eq!(d.position("app1", "web"), None);
        assert!(seen(&mut d, "app1"));
        assert_eq!(d.targets.len(), 5);
        assert_eq!(d.position("app1", "web"), Some(4));
        for (i, t) in d.targets.clone().iter().enumerate() {
            assert_eq!(d.position(&t.app, &t.process), Some(i));
        }
    }
}
