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
queue_interval = "1s"
concurrency = {WORKER_CONCURRENCY}
drain = "on"
drain_timeout = "20s"
"#
    )
}

/// One step of the story.
struct Phase {
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
            share: 0.08,
            mode: Mode::Healthy,
            load: 60,
            banner: "the app is healthy and quiet: checks are fast, the schedule sets the quantity",
            fault: false,
        },
        Phase {
            share: 0.16,
            mode: Mode::Healthy,
            load: LOAD,
            banner: "traffic rises to 600 requests a minute at 400 ms (busy 4; 2 at once per dyno at 75 %) — expect a scale-out on load to 3 before anything fails (traffic minutes run 30× faster in the demo)",
            fault: false,
        },
        Phase {
            share: 0.13,
            mode: Mode::Healthy,
            load: 0,
            banner: "the traffic stops — expect a scale-in on load after 3 quiet minutes",
            fault: false,
        },
        Phase {
            share: 0.15,
            mode: Mode::Status(500),
            load: 0,
            banner: "outage: the app answers HTTP 500 — expect a scale-out to the maximum at once",
            fault: true,
        },
        Phase {
            share: 0.14,
            mode: Mode::Healthy,
            load: 0,
            banner: "recovery: the app is fast again — expect a scale-in once the traffic has been calm for 3 minutes",
            fault: false,
        },
        Phase {
            share: 0.12,
            mode: Mode::Slow(Duration::from_millis(900)),
            load: 0,
            banner: "slow phase: answers take 0.9 s (slow above 0.6 s) — expect a scale-out",
            fault: true,
        },
        Phase {
            share: 0.09,
            mode: Mode::Hang,
            load: 0,
            banner: "hang: the app accepts connections and never answers (timeout 1.5 s)",
            fault: true,
        },
        Phase {
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
    let mut burst_at: Option<DateTime<Utc>> = None;
    let total = Duration::from_secs(seconds);
    let mut interrupted = false;
    let phases = story();
    for (i, phase) in phases.iter().enumerate() {
        banner(
            started,
            &format!("phase {}/{}: {}", i + 1, phases.len(), phase.banner),
        );
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
    banner(started, "the end: SIGTERM to the daemon");
    let _ = stop_tx.send("SIGTERM");
    let result = daemon.await;
    follow.abort();
    let tally = jobs.tally();
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
    };
    let drawn = chart_from_history(&history, &targets, demo_start, &options).await;
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

/// The chart of the run, read back from the daemon's history through the same reader as
/// `chart --history`, with the configuration's settings (schedule, max, thresholds).
async fn chart_from_history(
    history: &crate::history::Settings,
    targets: &[crate::config::Target],
    since: DateTime<Utc>,
    options: &crate::chart::Options,
) -> Result<(String, Vec<crate::chart::Summary>), String> {
    let crate::history::HistorySetting::On(url) = &history.store else {
        return Err("the demo's history is off".to_owned());
    };
    let until = Utc::now() + chrono::Duration::seconds(1);
    let mut reader = crate::chart::Reader::new();
    for t in targets {
        let mut data = crate::history::read(url, &t.app, Some(&t.process), since, until)
            .await
            .map_err(|e| format!("cannot read the demo's history: {e}"))?;
        // Traffic minutes ran on the demo's faster clock: they would not line up with the rest.
        data.traffic.clear();
        reader.read_history(data);
    }
    let dataset = reader.finish(&crate::chart::Hints {
        target: None,
        configured: targets,
    });
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
