//! `autoscale demo`: the real daemon — configuration, scaler, HTTP client, cron jobs, checks —
//! against the in-process simulator, with a compressed schedule and a scripted story: healthy, an
//! outage (HTTP 500), recovery, a slow phase, a hang, recovery. Beside it a worker scales on its
//! job queue, kept in this process ([`crate::queue::memory`], read through the same calls as
//! Redis): a burst of jobs, a scale-out, then a drained scale-in that interrupts no job. No
//! account, no network beyond loopback. It ends with a chart of the run and a summary of how fast
//! each fault and the burst were answered.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use crate::config::field::{CONFIG, HEROKU_API_KEY, HEROKU_API_URL, HISTORY, NOTIFY_WEBHOOK};
use crate::config::{Env, Raw};
use crate::event::{Event, Outcome};
use crate::logfmt::Line;
use crate::sim::{FakeApp, FakeHeroku, Mode, Receiver};

/// The shortest run that still tells the whole story.
pub const MIN_SECONDS: u64 = 20;
const APP: &str = "demo-shop";
const MAX: &str = "4";

/// A change every 15 s, the first 4 s after the start: 2 dynos, then 1, then 2, then 1, ...
fn schedule(start: DateTime<Utc>) -> String {
    use chrono::Timelike as _;
    let a = (start.second() + 4) % 60;
    let at = |offset: u32| (a + offset) % 60;
    format!(
        "{},{} * * * * *=2; {},{} * * * * *=1",
        at(0),
        at(30),
        at(15),
        at(45)
    )
}

/// The worker's queue: the URL it is registered under (never connected to), 5 jobs at once per
/// dyno, jobs of 1.5 s, dynos working 2 s after they are asked for.
const QUEUE_URL: &str = "redis://demo-queue.autoscale.invalid/0";
const WORKER_CONCURRENCY: u32 = 5;
const JOB: Duration = Duration::from_millis(1500);
const WORKER_BOOT: Duration = Duration::from_secs(2);
const WORKER_MAX: u32 = 6;
/// The worker's queue is read once a second: the chart draws each read (see [`queue_rows`]).
const QUEUE_INTERVAL_MS: i64 = 1000;
/// The burst: 150 jobs at once, 45 s of work for one dyno; the target is 5 s.
const BURST: u32 = 150;
/// Jobs a second all along (3 slots busy: one dyno is enough), so that the dynos a scale-in
/// stops are running jobs and the drain has something to wait for.
const TRICKLE_EVERY: Duration = Duration::from_millis(500);

/// The demo's configuration file: two targets of one app, the web checked and scaled by the
/// fail-safe, the worker on its job queue (1 dyno at least, drained before a scale-in).
fn config_file(web: &str) -> String {
    format!(
        r#"[defaults]
app = "{APP}"
check_interval = "1s"
check_timeout = "1500ms"
slow = "600ms"
fast = "200ms"
scale_in_after = 3

[[target]]
process = "web"
schedule = "{web}"
max = {MAX}
concurrency = 2
utilization = 0.75

[[target]]
process = "worker"
schedule = "00:00=1"
max = {WORKER_MAX}
queue = "sidekiq"
queue_url = "{QUEUE_URL}"
queue_latency = "5s"
queue_interval = "{QUEUE_INTERVAL_MS}ms"
concurrency = {WORKER_CONCURRENCY}
drain = "on"
drain_timeout = "20s"
"#
    )
}

/// One step of the story.
struct Phase {
    /// Its name on the chart.
    name: &'static str,
    /// Share of the run.
    share: f64,
    mode: Mode,
    /// Requests a minute the router logs during the phase (at 400 ms each).
    load: u32,
    banner: &'static str,
    /// Whether this phase injects a fault the daemon should answer.
    fault: bool,
}

/// Traffic minutes pass this much faster than real time in the demo: a minute every 2 s.
const TRAFFIC_SPEED: u32 = 30;
/// Requests a minute in the load phase: busy 4 at 400 ms; 2 at once per dyno at 75 % → 3 dynos,
/// one below the maximum, so the outage that follows still has somewhere to scale out to.
const LOAD: u32 = 600;

fn story() -> Vec<Phase> {
    vec![
        Phase {
            name: "healthy",
            share: 0.08,
            mode: Mode::Healthy,
            load: 60,
            banner: "the app is healthy and quiet: checks are fast, the schedule sets the quantity",
            fault: false,
        },
        Phase {
            name: "load",
            share: 0.16,
            mode: Mode::Healthy,
            load: LOAD,
            banner: "traffic rises to 600 requests a minute at 400 ms (busy 4; 2 at once per dyno at 75 %) — expect a scale-out on load to 3 before anything fails (traffic minutes run 30× faster in the demo)",
            fault: false,
        },
        Phase {
            name: "quiet",
            share: 0.13,
            mode: Mode::Healthy,
            load: 0,
            banner: "the traffic stops — expect a scale-in on load after 3 quiet minutes",
            fault: false,
        },
        Phase {
            name: "outage",
            share: 0.15,
            mode: Mode::Status(500),
            load: 0,
            banner: "outage: the app answers HTTP 500 — expect a scale-out to the maximum at once",
            fault: true,
        },
        Phase {
            name: "recovery",
            share: 0.14,
            mode: Mode::Healthy,
            load: 0,
            banner: "recovery: the app is fast again — expect a scale-in once the traffic has been calm for 3 minutes",
            fault: false,
        },
        Phase {
            name: "slow",
            share: 0.12,
            mode: Mode::Slow(Duration::from_millis(900)),
            load: 0,
            banner: "slow phase: answers take 0.9 s (slow above 0.6 s) — expect a scale-out",
            fault: true,
        },
        Phase {
            name: "hang",
            share: 0.09,
            mode: Mode::Hang,
            load: 0,
            banner: "hang: the app accepts connections and never answers (timeout 1.5 s)",
            fault: true,
        },
        Phase {
            name: "recovery",
            share: 0.13,
            mode: Mode::Healthy,
            load: 0,
            banner: "recovery: fast again — expect a calm scale-in, or sooner at a schedule edge (an edge applies its quantity at the first healthy check)",
            fault: false,
        },
    ]
}

/// A writer that prints each log line and keeps a copy for the chart.
#[derive(Clone)]
struct Tee(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Tee {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        std::io::stdout().write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Tee {
    type Writer = Tee;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn banner(started: std::time::Instant, text: &str) {
    let s = started.elapsed().as_secs();
    crate::say!("──── {:>2}:{:02}  {text}", s / 60, s % 60);
}

/// Runs the demo for `seconds`, writes the chart to `output`; returns the exit code.
pub async fn run(seconds: u64, output: PathBuf) -> u8 {
    let copy = Arc::new(Mutex::new(Vec::new()));
    if let Err(e) = crate::logfmt::init_with(crate::logfmt::DEFAULT_FILTER, Tee(copy.clone())) {
        crate::say_err!("error: {e}");
        return 1;
    }
    let key = format!("demo-{:016x}", fastrand::u64(..));
    let (api, app, hooks) = match (
        FakeHeroku::start(&key).await,
        FakeApp::start().await,
        Receiver::start().await,
    ) {
        (Ok(api), Ok(app), Ok(hooks)) => (api, app, hooks),
        _ => {
            crate::say_err!("error: cannot listen on 127.0.0.1");
            return 1;
        }
    };
    let api = Arc::new(api);
    api.add_app(APP, Some(&app.url()));
    api.add_formation(APP, "web", 1, "Standard-1X");
    api.add_formation(APP, "worker", 1, "Standard-1X");

    let now = Utc::now();
    let demo_start = now - chrono::Duration::seconds(1);
    let schedule = schedule(now);
    let file = config_file(&schedule);
    // The worker's queue: a trickle of jobs, and the worker dynos following the simulated
    // formation.
    let jobs = crate::queue::memory::Memory::new(WORKER_CONCURRENCY, JOB, WORKER_BOOT, 1);
    jobs.register(QUEUE_URL);
    let follow = {
        let (jobs, api) = (jobs.clone(), api.clone());
        tokio::spawn(async move {
            let mut trickle = tokio::time::interval(TRICKLE_EVERY);
            let mut follow = tokio::time::interval(Duration::from_millis(100));
            loop {
                tokio::select! {
                    _ = trickle.tick() => jobs.push(1),
                    _ = follow.tick() => {
                        if let Some(n) = api.quantity(APP, "worker") {
                            jobs.set_dynos(n);
                        }
                    }
                }
            }
        })
    };
    let webhook = hooks.url("/hooks/autoscale-demo");
    let api_url = api.url();
    // The daemon keeps its history in a temporary SQLite file; the chart is drawn from it.
    let history_file = std::env::temp_dir().join(format!(
        "autoscale-demo-{}-{:08x}.sqlite",
        std::process::id(),
        fastrand::u32(..)
    ));
    let history_url = format!("sqlite://{}", history_file.display());
    let raw = Raw::from_pairs([
        (HEROKU_API_KEY, key.as_str()),
        (HEROKU_API_URL, api_url.as_str()),
        (NOTIFY_WEBHOOK, webhook.as_str()),
        (CONFIG, file.as_str()),
        (HISTORY, history_url.as_str()),
    ]);
    let config = match crate::config::resolve(&raw, &Env::default()) {
        Ok(c) => c,
        Err(e) => {
            crate::say_err!("error: the demo's own configuration is invalid: {e}");
            return 1;
        }
    };

    crate::say!("autoscale demo: the real daemon against a simulated Heroku API and a simulated app on 127.0.0.1, for {seconds} s.");
    crate::say!("two targets of {APP}: web on \"{schedule}\" (a change every 15 s), max {MAX}, a check every second;");
    crate::say!("worker scaled on its job queue (kept in this process, read as Sidekiq's Redis would be): 1 dyno at least, max {WORKER_MAX}, {WORKER_CONCURRENCY} jobs at once per dyno, a target of 5 s, drained before a scale-in; alerts go to a local webhook.");
    crate::say!(
        "history: kept in the temporary file {} (deleted at the end); the chart is drawn from it.",
        history_file.display()
    );
    let targets = config.targets.all.clone();
    let history = config.history.clone();
    let started = std::time::Instant::now();
    let (stop_tx, stop_rx) = oneshot::channel::<&'static str>();
    let traffic_clock = crate::clock::Clock::faster(TRAFFIC_SPEED);
    let clocks = crate::daemon::Clocks {
        main: crate::clock::Clock::System,
        traffic: traffic_clock,
    };
    let daemon = tokio::spawn(async move {
        crate::daemon::run_with(
            config,
            &[],
            async move { stop_rx.await.unwrap_or("SIGTERM") },
            clocks,
        )
        .await
    });
    let feed = api.logplex().feed(APP);
    let mut load: Option<tokio::task::JoinHandle<()>> = None;
    let mut load_rose: Option<DateTime<Utc>> = None;

    let mut faults: Vec<(DateTime<Utc>, &'static str)> = Vec::new();
    // When each phase began, for the chart.
    let mut began: Vec<(DateTime<Utc>, &Phase)> = Vec::new();
    let mut burst_at: Option<DateTime<Utc>> = None;
    let total = Duration::from_secs(seconds);
    let mut interrupted = false;
    let phases = story();
    for (i, phase) in phases.iter().enumerate() {
        banner(
            started,
            &format!("phase {}/{}: {}", i + 1, phases.len(), phase.banner),
        );
        began.push((Utc::now(), phase));
        if app.set_mode(phase.mode).await.is_err() {
            crate::say_err!("error: the simulated app could not change its behaviour");
        }
        if let Some(previous) = load.take() {
            previous.abort();
        }
        if phase.load > 0 {
            load = Some(feed.load(traffic_clock, phase.load, 400, vec![], 2));
        }
        if phase.fault {
            faults.push((
                Utc::now(),
                phase.banner.split(':').next().unwrap_or("fault"),
            ));
        }
        if phase.load == LOAD {
            load_rose = Some(Utc::now());
        }
        // While the web's traffic is quiet, the worker gets its burst.
        if i == 2 {
            banner(
                started,
                &format!("worker: a burst of {BURST} jobs lands in its queue ({} s of work for one dyno, target 5 s) — expect a scale-out at the next read, then a drained scale-in once it is gone", BURST as f64 * JOB.as_secs_f64() / f64::from(WORKER_CONCURRENCY)),
            );
            jobs.push(BURST);
            burst_at = Some(Utc::now());
        }
        tokio::select! {
            _ = tokio::time::sleep(total.mul_f64(phase.share)) => {}
            _ = tokio::signal::ctrl_c() => { interrupted = true; }
        }
        if interrupted {
            banner(started, "interrupted: stopping early");
            break;
        }
    }
    if let Some(previous) = load.take() {
        previous.abort();
    }
    let ended = Utc::now();
    banner(started, "the end: SIGTERM to the daemon");
    let _ = stop_tx.send("SIGTERM");
    let result = daemon.await;
    follow.abort();
    let tally = jobs.tally();
    let reads = jobs.reads();
    crate::queue::memory::Memory::unregister(QUEUE_URL);
    // The app and the API stop with the demo.
    drop(app);

    let log = String::from_utf8_lossy(&copy.lock().unwrap()).into_owned();
    let code = match result {
        Ok(Ok(())) => 0,
        _ => 1,
    };
    crate::say!();
    summarize(
        &log,
        &faults,
        load_rose,
        api.patches().len(),
        hooks.received().len(),
    );
    summarize_worker(&log, burst_at, tally);
    let options = crate::chart::Options {
        title: Some("autoscale demo".to_owned()),
        target: None,
        phases: chart_phases(&began, ended, burst_at),
    };
    let drawn = chart_from_history(
        &history,
        &targets,
        demo_start,
        &options,
        traffic_clock,
        &reads,
    )
    .await;
    remove_sqlite(&history_file);
    match drawn {
        Ok((svg, summaries)) => match std::fs::write(&output, svg) {
            Ok(()) => {
                for summary in &summaries {
                    crate::say!("{summary}");
                }
                crate::say!("chart: {}", output.display());
            }
            Err(e) => {
                crate::say_err!("error: cannot write {}: {e}", output.display());
                return 1;
            }
        },
        Err(e) => {
            crate::say_err!("error: {e}");
            return 1;
        }
    }
    code
}

/// The story's phases as the chart marks them: each from when it began to when the next did
/// (the last to the end), faults tinted; the worker's burst as an instant.
fn chart_phases(
    began: &[(DateTime<Utc>, &Phase)],
    ended: DateTime<Utc>,
    burst_at: Option<DateTime<Utc>>,
) -> Vec<crate::chart::Phase> {
    let mut out: Vec<crate::chart::Phase> = began
        .iter()
        .enumerate()
        .map(|(i, (from, phase))| crate::chart::Phase {
            from: *from,
            to: began.get(i + 1).map_or(ended, |next| next.0).max(*from),
            label: phase.name.to_owned(),
            fault: phase.fault,
        })
        .collect();
    if let Some(at) = burst_at {
        out.push(crate::chart::Phase {
            from: at,
            to: at,
            label: format!("burst: {BURST} jobs"),
            fault: false,
        });
    }
    out
}

/// The wall-clock instant at which a clock started at `origin` (a wall-clock instant too) and
/// running `factor` times faster read `at`.
fn real_instant(origin: DateTime<Utc>, factor: u32, at: DateTime<Utc>) -> DateTime<Utc> {
    origin + (at - origin) / i32::try_from(factor.max(1)).unwrap_or(i32::MAX)
}

/// The worker's queue as the chart draws it: what the daemon read, second by second, rather
/// than the history's minutes (`event=queue`, the worst of a real minute: one or two in a run
/// of a minute or so, too coarse to show the burst and its drain).
///
/// The daemon reads every [`QUEUE_INTERVAL_MS`] from its first read on, and at once when a drain
/// begins or ends (the regular read that follows is then skipped). So the rows are a second
/// apart from the first read: each the worst of the reads nearest to it (their jobs done added
/// up), or, for a second without one, the latest read again (what the daemon knew then, no job
/// done). A row is keyed half an interval before its instant: the chart draws a row in the
/// middle of the time it stands for, so each is drawn at the instant of its read.
fn queue_rows(
    app: &str,
    process: &str,
    reads: &[crate::queue::memory::Seen],
) -> Vec<crate::history::rows::QueueRow> {
    let Some(first) = reads.first() else {
        return Vec::new();
    };
    let interval = chrono::Duration::milliseconds(QUEUE_INTERVAL_MS);
    let slot = |at: DateTime<Utc>| {
        ((at - first.at).num_milliseconds() as f64 / QUEUE_INTERVAL_MS as f64).round() as i64
    };
    let row = |k: i64, r: &crate::queue::memory::Seen, done: u64| crate::history::rows::QueueRow {
        app: app.to_owned(),
        process: process.to_owned(),
        minute: first.at + interval * i32::try_from(k).unwrap_or(i32::MAX) - interval / 2,
        depth: r.depth,
        latency_ms: u64::try_from(r.latency.as_millis()).unwrap_or(u64::MAX),
        busy: Some(r.busy),
        done: Some(done),
        dynos: r.dynos,
        concurrency: r.concurrency,
    };
    let mut rows: Vec<(i64, crate::history::rows::QueueRow)> = Vec::new();
    let mut counted = 0;
    for r in reads {
        let k = slot(r.at);
        let done = r.done.saturating_sub(counted);
        counted = counted.max(r.done);
        match rows.last_mut() {
            Some((last, kept)) if *last >= k => {
                kept.depth = kept.depth.max(r.depth);
                kept.latency_ms = kept.latency_ms.max(row(k, r, 0).latency_ms);
                kept.busy = kept.busy.max(Some(r.busy));
                kept.done = Some(kept.done.unwrap_or(0) + done);
                kept.dynos = kept.dynos.max(r.dynos);
            }
            _ => {
                if let Some((last, kept)) = rows.last().cloned() {
                    for gap in last + 1..k {
                        let mut again = kept.clone();
                        again.minute = row(gap, r, 0).minute;
                        again.done = Some(0);
                        rows.push((gap, again));
                    }
                }
                rows.push((k, row(k, r, done)));
            }
        }
    }
    rows.into_iter().map(|(_, r)| r).collect()
}

/// Each row's dynos become the formation's quantity at the instant it is drawn (`half_ms` after
/// its key), as the scale events set it, so that the capacity and the quantity drawn change
/// where the scales are marked (the in-process queue follows the formation a little later, and
/// a second without a read repeats the one before, dynos and all); rows before the first scale
/// keep theirs.
fn follow_scales(
    rows: &mut [crate::history::rows::QueueRow],
    scales: &[crate::history::rows::ScaleRow],
    half_ms: i64,
) {
    let applied: Vec<&crate::history::rows::ScaleRow> =
        scales.iter().filter(|s| s.result == "ok").collect();
    for row in rows {
        let at = row.minute + chrono::Duration::milliseconds(half_ms);
        if let Some(last) = applied.iter().filter(|s| s.at <= at).max_by_key(|s| s.at) {
            row.dynos = last.to;
        }
    }
}

/// The chart of the run, read back from the daemon's history through the same reader as
/// `chart --history`, with the configuration's settings (schedule, max, thresholds) — and two
/// changes so that it shows what drove each scale:
///
/// - the traffic minutes ran on `traffic_clock` (a minute every 2 s): each is moved back to the
///   wall-clock instant it began and drawn over the 2 s it lasted, so the load lines up with
///   the `reason=load` scales (its figures stay per traffic minute, as the daemon judged them);
/// - the worker's queue is drawn from `reads`, each read the daemon made (see [`queue_rows`]).
async fn chart_from_history(
    history: &crate::history::Settings,
    targets: &[crate::config::Target],
    since: DateTime<Utc>,
    options: &crate::chart::Options,
    traffic_clock: crate::clock::Clock,
    reads: &[crate::queue::memory::Seen],
) -> Result<(String, Vec<crate::chart::Summary>), String> {
    let crate::history::HistorySetting::On(url) = &history.store else {
        return Err("the demo's history is off".to_owned());
    };
    let (origin, factor) = match traffic_clock {
        crate::clock::Clock::Virtual { origin, factor, .. } => (origin, factor),
        crate::clock::Clock::System => (since, 1),
    };
    // The traffic clock's minutes run ahead of the wall clock; the first began before it.
    let until = Utc::now().max(traffic_clock.now()) + chrono::Duration::minutes(1);
    let since = since - chrono::Duration::minutes(1);
    let mut reader = crate::chart::Reader::new();
    let mut periods = Vec::new();
    for t in targets {
        let mut data = crate::history::read(url, &t.app, Some(&t.process), since, until)
            .await
            .map_err(|e| format!("cannot read the demo's history: {e}"))?;
        if !data.traffic.is_empty() {
            for row in &mut data.traffic {
                row.minute = real_instant(origin, factor, row.minute);
            }
            periods.push((t, chrono::Duration::seconds(60) / factor as i32));
        }
        if t.queue.is_some() {
            data.queue = queue_rows(&t.app, &t.process, reads);
            follow_scales(&mut data.queue, &data.scales, QUEUE_INTERVAL_MS / 2);
            periods.push((t, chrono::Duration::milliseconds(QUEUE_INTERVAL_MS)));
        }
        reader.read_history(data);
    }
    let mut dataset = reader.finish(&crate::chart::Hints {
        target: None,
        configured: targets,
    });
    for (t, period) in periods {
        dataset.set_period(&t.app, &t.process, period);
    }
    dataset.note(format!(
        "the traffic minutes ran {factor}× faster in the demo: each is drawn over the {} s it lasted; the worker's queue is drawn read by read (one a second)",
        60 / factor.max(1)
    ));
    if dataset.is_empty() {
        return Err("the demo's history is empty".to_owned());
    }
    crate::chart::svg(&dataset, options).map_err(|e| e.to_string())
}

/// Deletes a SQLite file and its journal files.
fn remove_sqlite(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(std::path::PathBuf::from(name));
    }
}

/// The worker's story in a few lines: how fast the burst was met, the drains, and whether any
/// job was cut short.
fn summarize_worker(
    log: &str,
    burst_at: Option<DateTime<Utc>>,
    tally: crate::queue::memory::Tally,
) {
    let events: Vec<(DateTime<Utc>, Event)> = log
        .lines()
        .filter_map(Line::parse)
        .filter_map(|l| {
            let ts = DateTime::parse_from_rfc3339(l.get("ts")?).ok()?;
            Some((ts.with_timezone(&Utc), Event::from_line(&l)?))
        })
        .collect();
    if let Some(at) = burst_at {
        let out = events.iter().find_map(|(t, e)| match e {
            Event::Scale {
                process,
                to,
                reason,
                ..
            } if process == "worker" && reason == "queue" && *t >= at => Some((*t - at, *to)),
            _ => None,
        });
        match out {
            Some((d, to)) => crate::say!(
                "  worker: the burst of {BURST} jobs was met {:.1} s after it landed, scaled out to {to} on the queue",
                d.num_milliseconds() as f64 / 1000.0
            ),
            None => crate::say!("  worker: no scale-out on the queue after the burst"),
        }
    }
    let drains: Vec<String> = events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Drain { state, .. } => Some(state.to_string()),
            _ => None,
        })
        .collect();
    crate::say!(
        "  worker: drains: {}; jobs done {}, cut short by a stopping dyno: {}",
        if drains.is_empty() {
            "none".to_owned()
        } else {
            drains.join(", ")
        },
        tally.done,
        tally.interrupted
    );
}

/// What happened, in a few lines: reaction time to each fault, scales, alerts.
fn summarize(
    log: &str,
    faults: &[(DateTime<Utc>, &str)],
    load_rose: Option<DateTime<Utc>>,
    patches: usize,
    alerts: usize,
) {
    // Each event with its instant, as the daemon wrote them.
    let events: Vec<(Option<DateTime<Utc>>, Event)> = log
        .lines()
        .filter_map(Line::parse)
        .filter_map(|l| {
            let ts = l
                .get("ts")
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc));
            Some((ts, Event::from_line(&l)?))
        })
        .collect();
    let unhealthy = |o: &Outcome| matches!(o, Outcome::Down | Outcome::Slow);
    let probes = events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Probe { .. }))
        .count();
    let failures = events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Probe { outcome, .. } if unhealthy(outcome)))
        .count();
    // (when, process, from, to, reason)
    type Scale<'a> = (Option<DateTime<Utc>>, &'a str, u32, u32, &'a str);
    let scales: Vec<Scale<'_>> = events
        .iter()
        .filter_map(|(ts, e)| match e {
            Event::Scale {
                process,
                from,
                to,
                reason,
                ..
            } => Some((*ts, process.as_str(), *from, *to, reason.as_str())),
            _ => None,
        })
        .collect();
    crate::say!("summary: {probes} checks, {failures} unhealthy, {} scale events ({patches} PATCHes), {alerts} alerts sent to the webhook", scales.len());
    for (ts, process, from, to, reason) in &scales {
        let at = ts.map_or_else(
            || "?".to_owned(),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        );
        crate::say!("  {process:<7} scale {from} → {to}  reason={reason}  at {at}");
    }
    if let Some(rose) = load_rose {
        let on_load = scales.iter().find_map(|(ts, _, _, to, reason)| {
            let t = (*ts)?;
            (t >= rose && *reason == "load").then(|| (t - rose, to))
        });
        match on_load {
            Some((d, to)) => crate::say!(
                "  traffic rose: scaled out on load to {to} {:.1} s after it began (a traffic minute is 2 s here)",
                d.num_milliseconds() as f64 / 1000.0
            ),
            None => crate::say!("  traffic rose: no scale on load"),
        }
    }
    for (at, name) in faults {
        let reaction = scales.iter().find_map(|(ts, _, _, _, reason)| {
            let t = (*ts)?;
            (t >= *at && matches!(*reason, "down" | "slow")).then(|| t - *at)
        });
        let answered_by_max = events.iter().any(|(ts, e)| {
            matches!(e, Event::Probe { current: Some(c), .. } if c.to_string() == MAX)
                && ts.is_some_and(|t| t >= *at)
        });
        match reaction {
            Some(d) => crate::say!(
                "  {name}: scaled out {:.1} s after the fault began",
                d.num_milliseconds() as f64 / 1000.0
            ),
            None if answered_by_max => {
                crate::say!("  {name}: already at the maximum, nothing more to do")
            }
            None => crate::say!("  {name}: no scale-out during the phase"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::rows::ScaleRow;
    use crate::queue::memory::Seen;

    fn ts(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_faster_clocks_minutes_go_back_to_the_instants_they_began() {
        let origin = ts("2026-12-07T10:00:00.500Z");
        // The clock read 10:00:00.500 at the start: its minute 10:01 came 59.5 s later on it,
        // 59.5 / 30 s later on the wall; its minute 10:00 began 0.5 / 30 s before the start.
        let near =
            |a: DateTime<Utc>, b: DateTime<Utc>| (a - b).num_microseconds().unwrap().abs() <= 1;
        assert!(near(
            real_instant(origin, 30, ts("2026-12-07T10:01:00Z")),
            origin + chrono::Duration::microseconds(1_983_333)
        ));
        assert!(near(
            real_instant(origin, 30, ts("2026-12-07T10:00:00Z")),
            origin - chrono::Duration::microseconds(16_667)
        ));
        // Minutes a minute apart on it: 2 s apart on the wall.
        let a = real_instant(origin, 30, ts("2026-12-07T10:05:00Z"));
        let b = real_instant(origin, 30, ts("2026-12-07T10:06:00Z"));
        assert_eq!(b - a, chrono::Duration::seconds(2));
        assert_eq!(real_instant(origin, 1, a), a);
        assert_eq!(real_instant(origin, 0, a), a, "a factor of 0 is 1");
    }

    fn seen(at: &str, depth: u64, done: u64, dynos: u32) -> Seen {
        Seen {
            at: ts(at),
            depth,
            latency: Duration::from_millis(depth * 10),
            busy: 5,
            done,
            dynos,
            concurrency: 5,
        }
    }

    #[test]
    fn the_queue_is_a_row_a_second_drawn_at_its_read_with_seconds_without_one_repeated() {
        let reads = [
            seen("2026-12-07T10:00:00.400Z", 0, 10, 1),
            seen("2026-12-07T10:00:01.403Z", 150, 12, 1),
            // A drain's order read at once after the regular one: the same second.
            seen("2026-12-07T10:00:01.410Z", 149, 13, 6),
            // The regular read of 10:00:02.4 was skipped; this one is a little early.
            seen("2026-12-07T10:00:03.390Z", 100, 20, 6),
        ];
        let rows = queue_rows("shop", "worker", &reads);
        let keys: Vec<DateTime<Utc>> = rows.iter().map(|r| r.minute).collect();
        assert_eq!(
            keys,
            [
                ts("2026-12-07T10:00:00.400Z") - chrono::Duration::milliseconds(500),
                ts("2026-12-07T10:00:00.900Z"),
                ts("2026-12-07T10:00:01.900Z"),
                ts("2026-12-07T10:00:02.900Z"),
            ]
        );
        let figures: Vec<(u64, u64, Option<u64>, u32)> = rows
            .iter()
            .map(|r| (r.depth, r.latency_ms, r.done, r.dynos))
            .collect();
        assert_eq!(
            figures,
            [
                (0, 0, Some(10), 1),
                (150, 1500, Some(3), 6),
                (150, 1500, Some(0), 6),
                (100, 1000, Some(7), 6),
            ]
        );
        assert!(rows
            .iter()
            .all(|r| r.app == "shop" && r.process == "worker" && r.busy == Some(5)));
        assert!(queue_rows("shop", "worker", &[]).is_empty());
    }

    #[test]
    fn the_queues_dynos_follow_the_applied_scales() {
        let reads = [
            seen("2026-12-07T10:00:00.400Z", 0, 0, 1),
            seen("2026-12-07T10:00:01.400Z", 150, 0, 1),
            seen("2026-12-07T10:00:02.400Z", 150, 0, 1),
            seen("2026-12-07T10:00:03.400Z", 150, 0, 6),
        ];
        let mut rows = queue_rows("shop", "worker", &reads);
        let scale = |at: &str, to: u32, result: &str| ScaleRow {
            app: "shop".into(),
            process: "worker".into(),
            at: ts(at),
            from: 1,
            to,
            reason: "queue".into(),
            result: result.into(),
        };
        // Listed out of order; one that failed changes nothing.
        let scales = [
            scale("2026-12-07T10:00:03.000Z", 9, "error"),
            scale("2026-12-07T10:00:03.400Z", 2, "ok"),
            scale("2026-12-07T10:00:01.403Z", 6, "ok"),
        ];
        follow_scales(&mut rows, &scales, QUEUE_INTERVAL_MS / 2);
        let dynos: Vec<u32> = rows.iter().map(|r| r.dynos).collect();
        // Before the first scale, what the read saw; the read at a scale's instant, its `to`.
        assert_eq!(dynos, [1, 1, 6, 2]);
    }

    #[test]
    fn the_phases_run_from_one_start_to_the_next_and_the_burst_is_an_instant() {
        let story = story();
        let t = |s: i64| ts("2026-12-07T10:00:00Z") + chrono::Duration::seconds(s);
        let began: Vec<(DateTime<Utc>, &Phase)> =
            (0..3).map(|i| (t(10 * i), &story[i as usize])).collect();
        let phases = chart_phases(&began, t(25), Some(t(20)));
        let got: Vec<(DateTime<Utc>, DateTime<Utc>, &str, bool)> = phases
            .iter()
            .map(|p| (p.from, p.to, p.label.as_str(), p.fault))
            .collect();
        assert_eq!(
            got,
            [
                (t(0), t(10), "healthy", false),
                (t(10), t(20), "load", false),
                (t(20), t(25), "quiet", false),
                (t(20), t(20), "burst: 150 jobs", false),
            ]
        );
        assert_eq!(chart_phases(&began, t(25), None).len(), 3);
        // An end before the last start (a clock step) is an instant, never a negative band.
        assert_eq!(chart_phases(&began, t(15), None)[2].to, t(20));
        let names: Vec<&str> = story.iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            ["healthy", "load", "quiet", "outage", "recovery", "slow", "hang", "recovery"]
        );
        let faults: Vec<&str> = story.iter().filter(|p| p.fault).map(|p| p.name).collect();
        assert_eq!(faults, ["outage", "slow", "hang"]);
    }
}
