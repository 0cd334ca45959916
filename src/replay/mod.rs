//! `autoscale replay`: the daemon's own policy run over recorded traffic, in virtual time, at
//! full speed — "what would these settings (or this change) have done last week?".
//!
//! Nothing is re-implemented: a run is the real [`AppLoop`] (schedule edges, holidays, traffic
//! minutes as checks, load scaling, scale-in streaks, alerts) against the simulator's
//! [`FakeHeroku`] on 127.0.0.1, in a current-thread runtime with tokio's time paused, on a
//! [`Clock::virtual_at`] the traffic's first minute. Paused time jumps to the next timer
//! whenever every task waits, so a week passes in as long as its rounds take to compute.
//!
//! The recorded traffic is fed as the daemon's log stream would feed it: each minute at its
//! end, followed by "minutes up to this one are closed" ([`TrafficState::Through`]). A minute
//! of the span without a recorded figure is a minute without a request, as it is for the daemon
//! with its stream connected: it needs no dynos and is no check (fewer than 20 requests). So a
//! gap in a recording reads as a quiet stretch: load scaling comes down through it.
//! Schedule edges fire at their instants (the calendar's, holidays included).
//!
//! A run starts as a daemon started at the traffic's first minute: the formation holds the
//! quantity the daemon's own lines in the input say ran then (else the schedule's floor), last
//! changed long before, so the schedule's latest edge counts as not yet handled and applies in
//! the first round (a quantity above the floor comes down at once: there is no probe to wait
//! for). A quiet minute is no check, so after an outage the app counts as unhealthy until a
//! minute of at least 20 requests says otherwise, exactly as in the daemon.
//!
//! What a run did is read from what it sent and said: the quantity step series from its
//! `event=scale result=ok` lines (stamped with the virtual time, and checked against the
//! fake's PATCHes and final quantity), the alerts from a collecting [`Notifier`] throttled as
//! the dispatcher would. The inner daemon's log lines go to that capture, never to stdout.
//! [`summary`] turns the observations into figures and prints them.

pub mod summary;

/// A worker's queue replayed ([`crate::queue::recorded`]).
pub use crate::queue::recorded as queue;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::Layer;

use crate::args::UsageError;
use crate::budget::{AppLoad, Budget};
use crate::chart::dataset::TargetData;
use crate::clock::Clock;
use crate::config::{CheckUrl, Env, Raw, Target};
use crate::daemon::app::{AppLoop, TrafficState};
use crate::daemon::edges::next_edge as next_edge_of;
use crate::event::{names, Event, ScaleResult};
use crate::heroku::{ApiKey, Client, Retry};
use crate::notify::{Notifier, NotifyOn, Throttle};
use crate::schedule::Schedule;
use crate::sim::FakeHeroku;
use crate::traffic::minute::{minute_of, Minute};

pub use summary::{Observed, Report, RunSummary, ScaleEvent, Shown, TargetReport};

/// The longest span replayed (as `suggest` reads at most).
pub const MAX_SPAN: TimeDelta = crate::insight::suggest::MAX_SPAN;

/// How long the alert dispatcher would keep a condition quiet (AUTOSCALE_NOTIFY_REPEAT's
/// default); the replay counts alerts as the default AUTOSCALE_NOTIFY_ON=trouble sends them.
const ALERT_REPEAT: Duration = Duration::from_secs(30 * 60);

/// Example for the usage errors.
pub const EXAMPLE: &str =
    "autoscale replay --input router.log --concurrency 8 --compare-schedule \"08:00=4; 20:00=1\"";

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("no traffic to replay")]
    NoTraffic,
    #[error("the traffic spans {days} days; replay reads at most 366 (narrow the inputs)")]
    TooLong { days: i64 },
    #[error("the simulator could not start: {0}")]
    Simulator(std::io::Error),
    #[error("the simulated API refused the token: {0}")]
    Refused(String),
}

/// One setting replayed: its label (`current`, `--compare-schedule`, ...) and the target.
#[derive(Debug, Clone)]
pub struct Setting {
    pub label: String,
    pub target: Target,
}

/// The target as a replay runs it: the traffic's minutes are its checks (no probe is sent),
/// every decision is carried out (no dry run, no pause), and the stream reads its process.
fn replayed(target: &Target) -> Target {
    let mut t = target.clone();
    t.check.url = CheckUrl::Off;
    t.traffic.on = true;
    t.dry_run = false;
    t.pause = None;
    t
}

/// The traffic's span: the first minute's start to the last one's end.
pub fn span_of(minutes: &[Minute]) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let first = minutes.iter().map(|m| minute_of(m.minute)).min()?;
    let last = minutes.iter().map(|m| minute_of(m.minute)).max()?;
    Some((first, last + TimeDelta::minutes(1)))
}

/// What the capture layer keeps of the inner daemon's log events.
#[derive(Debug, Default)]
struct Captured {
    scales: Vec<ScaleEvent>,
    /// Events by name (`api_error`, `probe`, ...), for notes and checks.
    events: BTreeMap<String, u64>,
}

/// A tracing layer that keeps the inner daemon's scale events (stamped with the virtual time)
/// and counts the others; nothing is printed.
struct Capture {
    clock: Clock,
    captured: Arc<Mutex<Captured>>,
}

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        // The line the daemon would print (an `Event`'s or a tracing macro's), read back.
        let Some(line) = crate::logfmt::event_line(event) else {
            return;
        };
        let Some(name) = line.event() else { return };
        let mut captured = self.captured.lock().expect("capture lock");
        if let Some(Event::Scale {
            from,
            to,
            reason,
            result: ScaleResult::Ok,
            ..
        }) = Event::from_line(&line)
        {
            captured.scales.push(ScaleEvent {
                at: self.clock.now(),
                from,
                to,
                reason,
            });
        }
        *captured.events.entry(name.to_owned()).or_insert(0) += 1;
    }
}

/// What one run observed, plus what the reader should know about it.
#[derive(Debug)]
pub struct RunOutput {
    pub observed: Observed,
    pub notes: Vec<String>,
}

/// Replays `minutes` (one target's, sorted or not) under `setting`, starting from
/// `start_quantity` (what ran when the recording began; None: the schedule's floor then).
/// Builds its own current-thread runtime with paused time: call it from outside any runtime.
pub fn run(
    setting: &Setting,
    minutes: &[Minute],
    start_quantity: Option<u32>,
) -> Result<RunOutput, ReplayError> {
    let (from, to) = span_of(minutes).ok_or(ReplayError::NoTraffic)?;
    if to - from > MAX_SPAN {
        return Err(ReplayError::TooLong {
            days: (to - from).num_days(),
        });
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .map_err(ReplayError::Simulator)?;
    runtime.block_on(run_in_virtual_time(
        setting,
        minutes,
        start_quantity,
        from,
        to,
    ))
}

async fn run_in_virtual_time(
    setting: &Setting,
    minutes: &[Minute],
    start_quantity: Option<u32>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<RunOutput, ReplayError> {
    let target = replayed(&setting.target);
    let (app, process) = (target.app.clone(), target.process.clone());
    let mut notes = Vec::new();
    if target.holidays.as_ref().is_some_and(|h| h.has_feeds()) {
        notes.push(format!(
            "{}: holiday feeds (iCalendar URLs) are not fetched by a replay; only the dates written out count",
            setting.label
        ));
    }
    let clock = Clock::virtual_at(from);
    let captured = Arc::new(Mutex::new(Captured::default()));
    let subscriber = tracing_subscriber::registry().with(Capture {
        clock,
        captured: captured.clone(),
    });
    let _guard = tracing::subscriber::set_default(subscriber);

    // A key of this run only: the fake accepts nothing else.
    let key = format!("replay-{:016x}", fastrand::u64(..));
    let api = FakeHeroku::start(&key)
        .await
        .map_err(ReplayError::Simulator)?;
    let first = start_quantity
        .or_else(|| target.floor(from).map(|e| e.quantity))
        .unwrap_or(0);
    api.add_app(&app, None);
    api.add_formation(&app, &process, first, "Standard-1X");
    // Set long before the span: nothing looks like a quantity set by hand.
    api.set_updated_at(
        &app,
        &process,
        from - TimeDelta::days(crate::schedule::LOOKBACK_DAYS + 1),
    );
    let cancel = CancellationToken::new();
    let client = Client::new(
        api.url().parse().expect("the simulator's URL"),
        &ApiKey::new(key),
        Retry {
            attempts: 3,
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        },
        cancel.clone(),
    );
    let targets = vec![target.clone()];
    let load = AppLoad {
        round: crate::daemon::app::round_of(&targets),
        edges_per_hour: 0.0,
    };
    let budget = Arc::new(Budget::new(
        crate::config::DEFAULT_API_BUDGET,
        &[load],
        client.calls(),
    ));
    let (notifier, mut alerts_rx) = Notifier::collecting(NotifyOn::Trouble, 4096);
    let mut app_loop = AppLoop::new(targets.clone(), client, notifier, budget, clock);
    app_loop
        .startup()
        .await
        .map_err(|r| ReplayError::Refused(r.0.message().to_owned()))?;
    let handle = app_loop.handle();
    let task = tokio::spawn(app_loop.run(cancel.clone()));

    let mut by_minute: BTreeMap<DateTime<Utc>, Minute> = BTreeMap::new();
    for m in minutes {
        let mut m = m.clone();
        m.minute = minute_of(m.minute);
        m.process = process.clone();
        m.app = app.clone();
        by_minute.insert(m.minute, m);
    }
    let mut throttle = Throttle::new(ALERT_REPEAT);
    let mut alerts: Vec<String> = Vec::new();
    let mut drain = |rx: &mut tokio::sync::mpsc::Receiver<crate::notify::Notice>,
                     now: DateTime<Utc>| {
        while let Ok(mut notice) = rx.try_recv() {
            notice.at = now;
            if throttle.allow(&notice, now) {
                alerts.push(notice.kind.as_str().to_owned());
            }
        }
    };
    drain(&mut alerts_rx, from);

    let mut minute_end = from + TimeDelta::minutes(1);
    // The daemon's own rule for the app's next edge; delivered here, in step with the minutes,
    // so an edge and a minute that end together are one round, as they would be live.
    let mut next_edge = next_edge_of(&targets, from);
    while minute_end <= to {
        let edge_now = next_edge.is_some_and(|e| e <= minute_end);
        let at = if edge_now {
            next_edge.unwrap_or(minute_end)
        } else {
            minute_end
        };
        clock.sleep_until(at).await;
        let before = handle.rounds();
        if edge_now {
            handle.edge();
            next_edge = next_edge_of(&targets, at);
        }
        if at == minute_end {
            let closed = minute_end - TimeDelta::minutes(1);
            if let Some(m) = by_minute.remove(&closed) {
                handle.traffic(m);
            }
            handle.traffic_state(TrafficState::Through(closed));
            minute_end += TimeDelta::minutes(1);
        }
        // Bounded: a round that never ends (it cannot: the fake answers at once) would stop
        // the replay after a virtual hour instead of hanging it.
        let _ = tokio::time::timeout(Duration::from_secs(3600), handle.round_after(before)).await;
        drain(&mut alerts_rx, at);
    }
    cancel.cancel();
    let _ = task.await;
    drain(&mut alerts_rx, to);

    let captured = std::mem::take(&mut *captured.lock().expect("capture lock"));
    let mut steps = vec![(from, first)];
    for s in &captured.scales {
        match steps.last_mut() {
            Some(last) if last.0 == s.at => last.1 = s.to,
            _ => steps.push((s.at, s.to)),
        }
    }
    let patches = api.patches().len();
    let last = steps.last().map_or(first, |s| s.1);
    if patches != captured.scales.len() || api.quantity(&app, &process) != Some(last) {
        notes.push(format!(
            "{}: the simulated API received {patches} PATCH(es) for {} scale event(s) and ends at {:?} dynos, the timeline at {last}: the figures may be off (please report this)",
            setting.label,
            captured.scales.len(),
            api.quantity(&app, &process)
        ));
    }
    if let Some(n) = captured.events.get(names::API_ERROR) {
        notes.push(format!(
            "{}: {n} call(s) to the simulated API failed and were retried",
            setting.label
        ));
    }
    let concurrency = target.traffic.concurrency;
    Ok(RunOutput {
        observed: Observed {
            label: setting.label.clone(),
            settings: Shown {
                schedule: target.schedule.describe(),
                tz: target.schedule.tz().to_string(),
                max: target.thresholds.max,
                concurrency,
                utilization: target.traffic.utilization,
            },
            steps,
            scales: captured.scales,
            alerts,
        },
        notes,
    })
}

// ---- the command ----------------------------------------------------------------------------

/// What `autoscale replay` was asked (flags validated).
#[derive(Debug, Clone)]
pub struct Command {
    /// Files to read, in order; none: standard input (unless the history is read instead).
    pub inputs: Vec<PathBuf>,
    /// The daemon's history, read as `chart` reads it.
    pub history: Option<crate::chart::HistorySource>,
    pub target: Option<(String, String)>,
    pub price: Option<f64>,
    pub compare_schedule: Option<String>,
    /// A path, or the TOML text itself (as AUTOSCALE_CONFIG).
    pub compare_config: Option<String>,
    pub json: bool,
}

/// A worker's queue minutes replayed under each setting ([`queue::replay`]). The target comes
/// from the setting's AUTOSCALE_QUEUE_LATENCY, else the recording's `start` line, else 30 s;
/// the concurrency from AUTOSCALE_CONCURRENCY, else what the recording read at.
fn queue_replay(data: &TargetData, settings: &[Setting]) -> Result<queue::QueueReport, String> {
    let minutes: Vec<crate::chart::dataset::QueueMinute> = data.queue_minutes().copied().collect();
    let (Some(first), Some(last)) = (minutes.first(), minutes.last()) else {
        return Err("no queue minutes".to_owned());
    };
    let span = (last.minute - first.minute).num_minutes().max(0) + 1;
    if span as usize > queue::MAX_MINUTES {
        return Err(format!(
            "the queue minutes span {span} minutes; replay reads at most {}",
            queue::MAX_MINUTES
        ));
    }
    let recorded_latency = data
        .settings()
        .and_then(|s| s.queue_latency_ms)
        .map(|ms| Duration::from_secs_f64(ms / 1000.0));
    let floors: Vec<Vec<u32>> = settings
        .iter()
        .map(|s| {
            let calendar = s.target.calendar();
            (0..span)
                .map(|m| {
                    calendar
                        .floor(first.minute + TimeDelta::minutes(m))
                        .map_or(0, |e| e.quantity)
                })
                .collect()
        })
        .collect();
    let floor_fns: Vec<Box<dyn Fn(u32) -> u32 + '_>> = floors
        .iter()
        .map(|f| {
            Box::new(move |m: u32| f.get(m as usize).or(f.last()).copied().unwrap_or(0))
                as Box<dyn Fn(u32) -> u32>
        })
        .collect();
    let runs: Vec<queue::Setting<'_>> = settings
        .iter()
        .zip(&floor_fns)
        .map(|(s, floor)| {
            let t = &s.target;
            let q = t.queue.as_ref();
            queue::Setting {
                label: s.label.clone(),
                limits: crate::queue::sim::Limits {
                    concurrency: t.traffic.concurrency.unwrap_or(last.concurrency).max(1),
                    latency: q
                        .map(|q| q.latency)
                        .or(recorded_latency)
                        .unwrap_or(Duration::from_secs(30)),
                    floor: 0,
                    max: t.thresholds.max,
                    read_every: q.map_or(10, |q| q.interval.as_secs()).clamp(1, 3600) as u32,
                    scale_in_after: t.thresholds.scale_in_after.unwrap_or(u32::MAX),
                    utilization: t.traffic.utilization,
                },
                floor: floor.as_ref(),
            }
        })
        .collect();
    queue::replay((&data.app, &data.process), &minutes, &runs)
}

/// The quantity the daemon's own lines say ran when the traffic begins, if they say.
fn recorded_start(data: &TargetData, from: DateTime<Utc>) -> Option<u32> {
    data.quantity_steps()
        .iter()
        .take_while(|s| s.0 <= from)
        .last()
        .map(|s| s.1)
}

/// `--compare-schedule`: the target with another schedule, read in its zone. Without a file
/// the variables are resolved again (so a max or holiday schedule taken from the schedule
/// follows it); with a file the target's own keys win, so the schedule is swapped in place.
fn with_schedule(base: &Target, text: &str, raw: &Raw, env: &Env) -> Result<Target, UsageError> {
    use crate::config::file::Source;
    let example = "--compare-schedule \"08:00=4; 20:00=1\"";
    let parsed = Schedule::parse(text, base.schedule.tz())
        .map_err(|e| UsageError::new("--compare-schedule", text, e.to_string(), example))?;
    if matches!(Source::resolve(raw), Ok(Source::Environment)) {
        let mut raw = raw.clone();
        raw.set(crate::config::field::SCHEDULE, text);
        let env = Env {
            heroku_app_name: Some(base.app.clone()),
            ..env.clone()
        };
        let mut target = crate::config::target(&raw, env.heroku_app_name.as_deref(), 1)
            .map_err(|e| UsageError::new("--compare-schedule", text, e.to_string(), example))?;
        target.app = base.app.clone();
        target.process = base.process.clone();
        return Ok(target);
    }
    if parsed.max_quantity() > base.thresholds.max {
        return Err(UsageError::new(
            "--compare-schedule",
            text,
            format!(
                "its largest quantity {} is above the target's max {}",
                parsed.max_quantity(),
                base.thresholds.max
            ),
            example,
        ));
    }
    let mut target = base.clone();
    let default_holidays = crate::calendar::default_holiday_schedule(&base.schedule);
    if target.holiday_schedule.describe() == default_holidays.describe() {
        target.holiday_schedule = Arc::new(crate::calendar::default_holiday_schedule(&parsed));
    }
    target.schedule = Arc::new(parsed);
    Ok(target)
}

/// `--compare-config`: the same target in another configuration (a file, or TOML text).
fn from_config(base: &Target, value: &str, raw: &Raw, env: &Env) -> Result<Target, UsageError> {
    let example = "--compare-config autoscale-new.toml";
    if !value.contains('\n') && !std::path::Path::new(value).is_file() {
        return Err(UsageError::new(
            "--compare-config",
            value,
            "no such file (a TOML file of targets, as AUTOSCALE_CONFIG)",
            example,
        ));
    }
    let mut raw = raw.clone();
    raw.set(crate::config::field::CONFIG, value);
    let env = Env {
        heroku_app_name: Some(base.app.clone()),
        ..env.clone()
    };
    let targets = crate::config::targets(&raw, &env)
        .map_err(|e| UsageError::new("--compare-config", value, e.to_string(), example))?
        .all;
    let found = targets
        .iter()
        .find(|t| t.app == base.app && t.process == base.process)
        .or(match targets.as_slice() {
            [one] if one.process == base.process => Some(one),
            _ => None,
        });
    match found {
        Some(t) => {
            let mut t = t.clone();
            t.app = base.app.clone();
            Ok(t)
        }
        None => Err(UsageError::new(
            "--compare-config",
            value,
            format!("has no target {}", base.name()),
            example,
        )),
    }
}

/// Runs `replay`; returns the exit code (0; 2 for a usage or configuration error or nothing to
/// replay). The report is the only thing on stdout; warnings and notes go to stderr.
pub fn main(command: &Command, raw: &Raw, env: &Env) -> u8 {
    let (mut configured, unnamed) =
        match crate::chart::configured_always(raw, env, command.target.as_ref()) {
            Ok(c) => c,
            Err(e) => {
                crate::say_err!("error: {e}");
                return 2;
            }
        };
    let target = command
        .target
        .as_ref()
        .map(|(a, p)| (a.as_str(), p.as_str()));
    let dataset = match crate::chart::load(
        &command.inputs,
        command.history.as_ref(),
        target,
        &configured,
        unnamed,
    ) {
        Ok(d) => d,
        Err((code, e)) => {
            crate::say_err!("error: {e}");
            return code;
        }
    };
    let lines = dataset.lines;
    let with_traffic: Vec<&TargetData> = dataset
        .targets()
        .iter()
        .filter(|t| t.minute_count() > 0)
        .collect();
    let with_queue: Vec<&TargetData> = dataset
        .targets()
        .iter()
        .filter(|t| t.queue_minute_count() > 0)
        .collect();
    if let (true, Some((app, process))) = (with_traffic.is_empty(), &command.target) {
        if lines.router + lines.traffic > 0 {
            crate::say_err!(
                "error: --target=\"{app}/{process}\": no traffic of this target in the input ({} router lines, {} event=traffic lines read); example: --target shop/web",
                lines.router, lines.traffic
            );
            return 2;
        }
    }
    if with_traffic.is_empty() && with_queue.is_empty() {
        crate::say_err!(
            "error: nothing to replay: no router lines, no event=traffic lines and no event=queue lines in the input ({} lines skipped); example: {EXAMPLE}",
            lines.garbage + lines.other
        );
        return 2;
    }
    let mut recorded: Vec<&TargetData> = with_traffic.clone();
    recorded.extend(
        with_queue
            .iter()
            .filter(|q| !with_traffic.iter().any(|t| std::ptr::eq(*t, **q))),
    );
    if unnamed {
        match recorded.as_slice() {
            [one] => {
                for t in &mut configured {
                    t.app = one.app.clone();
                    t.process = one.process.clone();
                }
            }
            many => {
                let names: Vec<String> = many.iter().map(|t| t.name()).collect();
                crate::say_err!(
                    "error: --target: the input has traffic of several targets ({}); name one; example: --target {}",
                    names.join(", "),
                    names[0]
                );
                return 2;
            }
        }
    }
    let mut report_targets = Vec::new();
    let mut queue_reports = Vec::new();
    let mut notes = Vec::new();
    let mut replayed_minutes = 0u64;
    let started = std::time::Instant::now();
    for base in &configured {
        let Some(data) = recorded
            .iter()
            .find(|d| d.app == base.app && d.process == base.process)
        else {
            continue;
        };
        let mut settings = vec![Setting {
            label: "current".to_owned(),
            target: base.clone(),
        }];
        if let Some(text) = &command.compare_schedule {
            match with_schedule(base, text, raw, env) {
                Ok(target) => settings.push(Setting {
                    label: "--compare-schedule".to_owned(),
                    target,
                }),
                Err(e) => {
                    crate::say_err!("error: {e}");
                    return 2;
                }
            }
        }
        if let Some(value) = &command.compare_config {
            match from_config(base, value, raw, env) {
                Ok(target) => settings.push(Setting {
                    label: "--compare-config".to_owned(),
                    target,
                }),
                Err(e) => {
                    crate::say_err!("error: {e}");
                    return 2;
                }
            }
        }
        if data.queue_minute_count() > 0 {
            match queue_replay(data, &settings) {
                Ok(report) => {
                    replayed_minutes += report
                        .runs
                        .iter()
                        .skip(1)
                        .map(|r| r.figures.minutes)
                        .sum::<u64>();
                    queue_reports.push(report);
                }
                Err(why) => {
                    notes.push(format!("{}: its queue is not replayed: {why}", base.name()))
                }
            }
        }
        let minutes = data.minute_list();
        let Some((from, to)) = span_of(&minutes) else {
            continue;
        };
        if base.traffic.concurrency.is_none() {
            notes.push(format!(
                "{}: AUTOSCALE_CONCURRENCY (--concurrency) is not set: no scaling on load, and minutes under capacity cannot be counted",
                base.name()
            ));
        }
        let start = recorded_start(data, from);
        let mut runs = Vec::new();
        for setting in &settings {
            let output = match run(setting, &minutes, start) {
                Ok(o) => o,
                Err(e) => {
                    crate::say_err!("error: {}: {e}", base.name());
                    return 2;
                }
            };
            notes.extend(output.notes);
            replayed_minutes += ((to - from).num_minutes()).max(0) as u64;
            // Without --price: the run's schedule's sizes at Heroku's list prices.
            let price = command
                .price
                .or_else(|| crate::price::average_hourly(&setting.target.schedule, from));
            runs.push(summary::summarize(
                &output.observed,
                &minutes,
                from,
                to,
                price,
            ));
        }
        let differences = runs[1..]
            .iter()
            .map(|r| summary::compare(&runs[0], r))
            .collect();
        report_targets.push(TargetReport {
            app: base.app.clone(),
            process: base.process.clone(),
            from: from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            to: to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            minutes: (to - from).num_minutes().max(0) as u64,
            minutes_with_traffic: minutes.len() as u64,
            runs,
            differences,
        });
    }
    if report_targets.is_empty() && queue_reports.is_empty() {
        let names: Vec<String> = recorded.iter().map(|t| t.name()).collect();
        let wanted: Vec<String> = configured.iter().map(Target::name).collect();
        crate::say_err!(
            "error: nothing to replay: the input has traffic of {} but the settings name {}; example: --target {}",
            names.join(", "),
            wanted.join(", "),
            names[0]
        );
        return 2;
    }
    let seconds = started.elapsed().as_secs_f64();
    let report = Report {
        targets: report_targets,
        queue: queue_reports,
        price_per_dyno_hour: command.price,
        notes,
        speed: summary::Speed {
            minutes: replayed_minutes,
            seconds: (seconds * 1000.0).round() / 1000.0,
            minutes_per_second: if seconds > 0.0 {
                (replayed_minutes as f64 / seconds).round()
            } else {
                0.0
            },
        },
    };
    if command.json {
        crate::say!("{}", summary::render_json(&report));
    } else {
        crate::say_raw!("{}", summary::render_text(&report));
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn minute(start: DateTime<Utc>, requests: u64, errors: u64, busy: f64) -> Minute {
        Minute {
            app: "shop".to_owned(),
            process: "web".to_owned(),
            minute: start,
            requests,
            p50_ms: Some(40),
            p95_ms: Some(80),
            p99_ms: Some(90),
            errors,
            h10: 0,
            h12: 0,
            h13: 0,
            s2xx: requests - errors,
            s3xx: 0,
            s4xx: 0,
            s5xx: errors,
            busy,
            dynos: 1,
        }
    }

    fn target(pairs: &[(&str, &str)]) -> Target {
        let raw = Raw::from_pairs(pairs.iter().copied());
        let env = Env {
            heroku_app_name: Some("shop".to_owned()),
            ..Env::default()
        };
        crate::config::targets(&raw, &env).unwrap().all.remove(0)
    }

    /// Four hours: a quiet start, five busy minutes at 01:00, the 02:00 edge, a minute of
    /// errors at 03:00, quiet to 04:00 (only the first and last minutes recorded in between:
    /// the gaps are quiet).
    fn four_hours() -> Vec<Minute> {
        let t0 = at("2026-03-02T00:00:00Z");
        let mut minutes = vec![minute(t0, 30, 0, 0.3)];
        for k in 0..5 {
            minutes.push(minute(t0 + TimeDelta::minutes(60 + k), 400, 0, 3.5));
        }
        minutes.push(minute(t0 + TimeDelta::minutes(180), 100, 50, 0.5));
        minutes.push(minute(t0 + TimeDelta::minutes(239), 30, 0, 0.3));
        minutes
    }

    #[test]
    fn the_real_policy_scales_on_load_at_edges_and_on_errors_in_virtual_time() {
        let setting = Setting {
            label: "current".to_owned(),
            target: target(&[
                ("AUTOSCALE_SCHEDULE", "00:00=1; 02:00=2"),
                ("AUTOSCALE_CONCURRENCY", "1"),
                ("AUTOSCALE_UTILIZATION", "1"),
                ("AUTOSCALE_MAX", "5"),
                ("AUTOSCALE_DRY_RUN", "true"),
            ]),
        };
        let started = std::time::Instant::now();
        let out = run(&setting, &four_hours(), None).unwrap();
        assert!(started.elapsed() < Duration::from_secs(60), "paused time");
        assert!(out.notes.is_empty(), "{:?}", out.notes);
        let o = out.observed;
        let events: Vec<(String, u32, u32, String)> = o
            .scales
            .iter()
            .map(|s| {
                (
                    s.at.format("%H:%M:%S").to_string(),
                    s.from,
                    s.to,
                    s.reason.clone(),
                )
            })
            .collect();
        let e = |t: &str, from, to, r: &str| (t.to_owned(), from, to, r.to_owned());
        assert_eq!(
            events,
            [
                // 01:00's minute needs ceil(3.5 / 1) = 4: at its end, at once.
                e("01:01:00", 1, 4, "load"),
                // 01:05, 01:06, 01:07 recorded nothing: three calm minutes (SCALE_IN_AFTER).
                e("01:08:00", 4, 1, "load"),
                e("02:00:00", 1, 2, "schedule"),
                // Half of 03:00's requests failed: down, to max.
                e("03:01:00", 2, 5, "down"),
                // Quiet minutes are no checks: the app counts as unhealthy until the next
                // minute of 20 requests or more (03:59, fast), and only then comes back down.
                e("04:00:00", 5, 2, "load"),
            ]
        );
        assert_eq!(
            o.steps[0],
            (at("2026-03-02T00:00:00Z"), 1),
            "the floor at the start"
        );
        assert_eq!(o.steps.len(), 6);
        assert_eq!(o.steps[5], (at("2026-03-02T04:00:00Z"), 2));
        assert_eq!(o.alerts, ["scale_out", "recovered"]);
        assert_eq!(o.settings.concurrency, Some(1));
        assert_eq!(o.settings.schedule, "00:00=1; 02:00=2");
    }

    #[test]
    fn a_run_starts_as_a_daemon_started_at_the_first_minute() {
        let setting = Setting {
            label: "current".to_owned(),
            target: target(&[("AUTOSCALE_SCHEDULE", "23:00=1")]),
        };
        let t0 = at("2026-03-02T00:00:00Z");
        let quiet: Vec<Minute> = (0..10)
            .map(|k| minute(t0 + TimeDelta::minutes(k), 5, 0, 0.1))
            .collect();
        // Three ran when the recording began: the latest edge (23:00, to 1) counts as not yet
        // handled, and with no probe to wait for it applies at once.
        let o = run(&setting, &quiet, Some(3)).unwrap().observed;
        let first: Vec<(DateTime<Utc>, u32, u32, &str)> = o
            .scales
            .iter()
            .map(|s| (s.at, s.from, s.to, s.reason.as_str()))
            .collect();
        assert_eq!(first, [(t0, 3, 1, "schedule")]);
        assert_eq!(o.steps, [(t0, 1)], "a step at the start replaces the start");
        // None ran: the startup brings it to the floor.
        let o = run(&setting, &quiet, Some(0)).unwrap().observed;
        assert_eq!(o.scales[0].reason, "startup");
        assert_eq!(o.steps, [(t0, 1)]);
        // Unknown: it starts at the floor, and nothing happens in ten quiet minutes.
        let o = run(&setting, &quiet, None).unwrap().observed;
        assert_eq!(o.steps, [(t0, 1)]);
        assert!(o.scales.is_empty() && o.alerts.is_empty());
        assert!(matches!(
            run(&setting, &[], None),
            Err(ReplayError::NoTraffic)
        ));
        let long = [
            minute(t0, 1, 0, 0.0),
            minute(t0 + TimeDelta::days(400), 1, 0, 0.0),
        ];
        assert!(matches!(
            run(&setting, &long, None),
            Err(ReplayError::TooLong { days: 400 })
        ));
    }

    #[test]
    fn a_compared_schedule_follows_the_variables_or_swaps_in_place_in_a_file() {
        let raw = Raw::from_pairs([("AUTOSCALE_SCHEDULE", "07:00=3; 22:00=1")]);
        let env = Env::default();
        let base = target(&[("AUTOSCALE_SCHEDULE", "07:00=3; 22:00=1")]);
        assert_eq!(base.thresholds.max, 3);
        // Without a file, max follows the schedule as the daemon's would.
        let t = with_schedule(&base, "08:00=6; 20:00=1", &raw, &env).unwrap();
        assert_eq!((t.thresholds.max, t.app.as_str()), (6, "shop"));
        assert_eq!(t.schedule.describe(), "08:00=6; 20:00=1");
        let e = with_schedule(&base, "25:00=1", &raw, &env).unwrap_err();
        assert_eq!(e.flag, "--compare-schedule");
        let file = Raw::from_pairs([(
            "AUTOSCALE_CONFIG",
            "[[target]]\napp = \"shop\"\nschedule = \"07:00=3; 22:00=1\"\nmax = 4\n",
        )]);
        let base = crate::config::targets(&file, &env).unwrap().all.remove(0);
        let t = with_schedule(&base, "08:00=4; 20:00=2", &file, &env).unwrap();
        assert_eq!(t.schedule.describe(), "08:00=4; 20:00=2");
        assert_eq!(
            t.holiday_schedule.describe(),
            "00:00=2",
            "the default follows"
        );
        let e = with_schedule(&base, "08:00=5", &file, &env).unwrap_err();
        assert!(e.problem.contains("above the target's max 4"), "{e}");
        let other = from_config(
            &base,
            "[[target]]\napp = \"shop\"\nschedule = \"00:00=2\"\n",
            &file,
            &env,
        )
        .unwrap();
        assert_eq!(other.schedule.describe(), "00:00=2");
        let e = from_config(&base, "no-such-file.toml", &file, &env).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--compare-config=\"no-such-file.toml\": no such file"),
            "{e}"
        );
        let e = from_config(
            &base,
            "[[target]]\napp = \"blog\"\nprocess = \"worker\"\n",
            &file,
            &env,
        )
        .unwrap_err();
        assert!(e.problem.contains("has no target shop/web"), "{e}");
    }
}
