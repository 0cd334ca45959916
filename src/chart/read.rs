//! Everything `chart` (and `suggest` and `replay`) looks at, read into one [`Dataset`]: per
//! target (app, process) its traffic minutes, health checks, scale events, holds, alerts sent and
//! the settings its `start` lines (or the configuration) give.
//!
//! Two ways in:
//! - a [`Reader`] takes inputs (files, stdin: `heroku logs` lines, Logplex frames, `event=traffic`
//!   lines, the daemon's own lines, plain or gzip, in any order, several of them) record by record
//!   through [`crate::traffic::input`], and [`Reader::finish`] turns what it saw into a dataset;
//! - any other source (rows read back from the history database) fills a dataset directly with
//!   [`Dataset::add_minute`], [`Dataset::add_probe`], [`Dataset::add_scale`], ...
//!
//! Router lines carry no app name. While reading, the reader counts them per request host (in a
//! [`BatchAggregator`], so memory does not grow with the lines); once every input is read it knows
//! which apps the input names and gives each host's minutes to one app: the `--target`, else the
//! app a `*.herokuapp.com` host is named after when the input names it, else the one app the input
//! (or the configuration) names, else the app the host is named after. What it decided is written
//! into the dataset's [`Dataset::notes`], for the user to see.
//!
//! The same minute can come twice (router lines and the daemon's `event=traffic` line of it, or
//! two overlapping files): the [`Dataset`] keeps one (see [`super::dataset`]).
//!
//! Input is untrusted (issue "Hardening", point 6): every number read is checked (finite, in
//! range), every time lies in 2000-2200, names and labels are bounded; a line that fails is
//! counted as garbage, never drawn. The dataset's lists are capped and what a cap left out is
//! counted and noted.
//!
//! Pure but for [`Reader::read_path`] and [`Reader::read_stdin`]: no clock.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;

use crate::config::Target;
use crate::history::rows::ProbeSource;
use crate::history::{HistoryData, HoldReason};
use crate::logfmt::Line;
use crate::probe::Outcome;
use crate::schedule::{Schedule, MAX_QUANTITY};
use crate::traffic::input::{self, InputError, Record};
use crate::traffic::minute::BatchAggregator;
use crate::traffic::router::RouterLine;

use super::dataset::{
    Alert, Dataset, Hold, Probe, QueueMinute, Scale, Settings, MAX_EVENTS, MAX_MINUTES, MAX_TARGETS,
};

/// Entries a schedule read from a `start` line may have; a longer one is not used.
pub const MAX_SCHEDULE_ENTRIES: usize = 1000;
/// Longest app or process name (Heroku's are at most 30 characters).
pub const MAX_NAME: usize = 100;
/// Longest reason, result, channel or kind kept; longer text is cut.
pub const MAX_LABEL: usize = 64;
/// Longest latency or threshold taken at face value: one day, in milliseconds.
pub const MAX_MS: f64 = 86_400_000.0;
/// Jobs a queue line may count (waiting, running, done in a minute): far above any real queue.
pub const MAX_JOBS: u64 = 1_000_000_000_000;
/// The oldest waiting job a queue line may report: a year, in milliseconds (a stuck queue can
/// wait for days; a larger figure is not a real job's).
pub const MAX_QUEUE_MS: u64 = 366 * 86_400_000;
/// Requests one dyno serves at once, at most (as the configuration allows).
pub const MAX_CONCURRENCY: u32 = 10_000;
/// Times outside these years are not from a running daemon or router: such a line is garbage
/// (a hostile year 9999 would stretch the time axis over millennia).
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2200;
/// How many names a note lists before "and N more".
const NAMES_IN_A_NOTE: usize = 4;

/// What the reader is told besides the inputs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hints<'a> {
    /// `--target APP/PROCESS`: only this target; router lines are its app's.
    pub target: Option<(&'a str, &'a str)>,
    /// The configured targets (their apps can own router lines; their settings fill in what no
    /// `start` line says).
    pub configured: &'a [Target],
}

/// Reads inputs into a [`Dataset`] (see the module docs).
#[derive(Debug, Default)]
pub struct Reader {
    dataset: Dataset,
    /// Router minutes, keyed by (host, process) until the app is known.
    router: BatchAggregator,
    /// Router lines per host key (parallel to the aggregator's keys, by name).
    host_lines: BTreeMap<String, u64>,
}

impl Reader {
    pub fn new() -> Reader {
        Reader::default()
    }

    /// Reads one input (plain or gzip) to its end.
    pub fn read(&mut self, input: impl Read) -> std::io::Result<()> {
        let counts = input::read(input, |record| self.record(record))?;
        self.dataset.lines.bytes += counts.bytes;
        Ok(())
    }

    /// Reads a file (plain or gzip).
    pub fn read_path(&mut self, path: &Path) -> Result<(), InputError> {
        let counts = input::read_path(path, |record| self.record(record))?;
        self.dataset.lines.bytes += counts.bytes;
        Ok(())
    }

    /// Reads standard input (plain or gzip).
    pub fn read_stdin(&mut self) -> Result<(), InputError> {
        let counts = input::read_stdin(|record| self.record(record))?;
        self.dataset.lines.bytes += counts.bytes;
        Ok(())
    }

    /// Takes rows read back from the history database (`--history`): the one conversion from
    /// stored rows to what `chart`, `suggest` and `replay` draw and replay. A minute also given
    /// by an input is one minute (see the module docs); events repeated in an input are dropped
    /// by [`Dataset::sort`] when equal.
    pub fn read_history(&mut self, data: HistoryData) {
        let d = &mut self.dataset;
        d.lines.history += data.len() as u64;
        for row in data.traffic {
            d.add_minute(row.to_minute());
        }
        for row in data.queue {
            let minute = QueueMinute {
                minute: row.minute,
                depth: row.depth,
                latency_ms: row.latency_ms,
                busy: row.busy,
                done: row.done,
                dynos: row.dynos,
                concurrency: row.concurrency,
            };
            d.add_queue_minute(&row.app, &row.process, minute);
        }
        for row in data.probes {
            let probe = Probe {
                at: row.at,
                source: row.source,
                outcome: row.outcome,
                status: row.status.and_then(|s| u16::try_from(s).ok()),
                latency_ms: row.latency_ms.map(f64::from),
                current: None,
            };
            d.add_probe(&row.app, &row.process, probe);
        }
        for row in data.scales {
            let scale = Scale {
                at: row.at,
                from: Some(row.from),
                to: Some(row.to),
                reason: row.reason,
                result: row.result,
            };
            d.add_scale(&row.app, &row.process, scale);
        }
        for row in data.holds {
            // A pause holds whatever runs: its row's quantity is what was known, not a setting.
            let quantity = (row.reason != HoldReason::Pause).then_some(row.quantity);
            let hold = Hold {
                at: row.at,
                reason: row.reason.as_str().to_owned(),
                quantity,
                until: row.until,
                ended: row.ended,
            };
            d.add_hold(&row.app, &row.process, hold);
        }
        for row in data.alerts {
            let alert = Alert {
                at: row.at,
                channel: "history".to_owned(),
                kind: row.kind,
            };
            d.add_alert(&row.app, &row.process, alert);
        }
    }

    /// Reads text already in memory (the demo's own log).
    pub fn read_text(&mut self, text: &str) {
        // Reading from memory cannot fail.
        let _ = self.read(text.as_bytes());
    }

    /// Takes one record of an input.
    pub fn record(&mut self, record: Record<'_>) {
        let lines = &mut self.dataset.lines;
        match record {
            Record::Router(line) => {
                if !in_years(line.timestamp) {
                    lines.garbage += 1;
                    lines.out_of_range += 1;
                    return;
                }
                lines.router += 1;
                self.router_line(&line);
            }
            Record::Traffic(minute) => {
                if !in_years(minute.minute) {
                    lines.garbage += 1;
                    lines.out_of_range += 1;
                    return;
                }
                lines.traffic += 1;
                self.dataset.add_minute(minute);
            }
            Record::Daemon(line, at) => match read_event(&line, at) {
                Ok(event) => {
                    self.dataset.lines.daemon += 1;
                    self.event(event);
                }
                Err(Invalid) => {
                    lines.garbage += 1;
                    lines.out_of_range += 1;
                }
            },
            Record::Other => lines.other += 1,
            Record::Garbage => lines.garbage += 1,
        }
    }

    fn router_line(&mut self, line: &RouterLine<'_>) {
        let host = host_key(line.host);
        // A line past the caps is counted in the aggregator's overflow (see `attribute_router`).
        if !self.router.add(&host, line) {
            return;
        }
        match self.host_lines.get_mut(host.as_str()) {
            Some(n) => *n += 1,
            None => {
                self.host_lines.insert(host, 1);
            }
        }
    }

    fn event(&mut self, event: Event) {
        let Event {
            app,
            process,
            at,
            kind,
        } = event;
        let d = &mut self.dataset;
        let (app, process) = (app.as_str(), process.as_str());
        match kind {
            EventKind::Start(settings) => d.add_settings(app, process, *settings),
            EventKind::Probe(probe) => d.add_probe(app, process, probe),
            EventKind::Scale(scale) => d.add_scale(app, process, scale),
            EventKind::Hold(hold) => d.add_hold(app, process, hold),
            EventKind::Alert(alert) => d.add_alert(app, process, alert),
            EventKind::Quantity(q) => d.add_quantity(app, process, at, q),
            EventKind::Queue(minute) => d.add_queue_minute(app, process, minute),
            EventKind::Seen => d.add_seen(app, process, at),
            EventKind::Ignored => true,
        };
    }

    /// The dataset: router minutes given to their apps, lines of no target given to the one
    /// target (or to every target), the configuration's settings filled in, `--target` alone
    /// kept, lists sorted.
    pub fn finish(self, hints: &Hints<'_>) -> Dataset {
        let Reader {
            mut dataset,
            router,
            host_lines,
        } = self;
        attribute_router(&mut dataset, router, &host_lines, hints);
        resolve_unnamed(&mut dataset);
        dataset.configure(hints.configured);
        if let Some((app, process)) = hints.target {
            dataset.keep_only(app, process);
        }
        dataset.sort();
        if dataset.differing_minutes > 0 {
            let n = dataset.differing_minutes;
            dataset.note(format!(
                "{n} minute(s) were given twice with different figures (router lines and event=traffic lines, or overlapping files); the copy with more requests was kept"
            ));
        }
        if dataset.lines.overflow > 0 {
            let n = dataset.lines.overflow;
            dataset.note(format!(
                "{n} line(s) or minute(s) were left out: past the caps of {MAX_TARGETS} targets, {MAX_MINUTES} minutes or {MAX_EVENTS} events"
            ));
        }
        dataset
    }
}

/// The key router lines are counted under while reading: the host, lower case, without a port.
fn host_key(host: &str) -> String {
    let host = host.rsplit_once(':').map_or(host, |(name, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            name
        } else {
            host
        }
    });
    host.to_ascii_lowercase()
}

/// The app a `*.herokuapp.com` host is named after: `shop` for `shop.herokuapp.com` and for
/// `shop-7f3a9c21d4e5.herokuapp.com` (newer apps get a random suffix).
pub fn app_of_host(host: &str) -> Option<&str> {
    let name = host.strip_suffix(".herokuapp.com")?;
    let name = match name.rsplit_once('-') {
        Some((app, suffix))
            if suffix.len() == 12
                && suffix
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
        {
            app
        }
        _ => name,
    };
    let valid = (3..=30).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    valid.then_some(name)
}

/// Gives each host's router minutes to an app (see the module docs) and notes what was decided.
fn attribute_router(
    dataset: &mut Dataset,
    router: BatchAggregator,
    host_lines: &BTreeMap<String, u64>,
    hints: &Hints<'_>,
) {
    if host_lines.is_empty() {
        return;
    }
    let mut named: Vec<String> = Vec::new();
    let names = dataset
        .targets
        .iter()
        .map(|t| t.app.as_str())
        .chain(hints.configured.iter().map(|t| t.app.as_str()))
        .filter(|a| !a.is_empty());
    for app in names {
        if !named.iter().any(|n| n == app) {
            named.push(app.to_owned());
        }
    }
    // Host key → app (or None: left out), and why.
    let mut owner: BTreeMap<&str, Option<String>> = BTreeMap::new();
    let mut by_reason: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for host in host_lines.keys() {
        let from_host = app_of_host(host);
        let (app, why) = if let Some((app, _)) = hints.target {
            (Some(app.to_owned()), format!("to {app} (--target)"))
        } else if let Some(app) = from_host.filter(|a| named.iter().any(|n| n == a)) {
            (
                Some(app.to_owned()),
                format!("to {app}, the app their host is named after"),
            )
        } else if named.len() == 1 {
            let app = &named[0];
            (
                Some(app.clone()),
                format!("to {app}, the one app the input names"),
            )
        } else if let (Some(app), true) = (from_host, named.is_empty()) {
            (
                Some(app.to_owned()),
                format!("to {app}, the app their host is named after (the input names no app)"),
            )
        } else if named.is_empty() {
            let app = if host.is_empty() {
                "router".to_owned()
            } else {
                host.clone()
            };
            (
                Some(app.clone()),
                format!("to {app}: the input names no app (say which with --target APP/web)"),
            )
        } else {
            (
                None,
                format!(
                    "to no app: the input names several ({}) and the host names none of them; say which with --target APP/web",
                    list(&named)
                ),
            )
        };
        owner.insert(host.as_str(), app);
        by_reason.entry(why).or_default().push(host.as_str());
    }
    // Every line a cap refused is in the aggregator's overflow (and nowhere else: it was once
    // also counted while reading, so said twice).
    dataset.lines.overflow += router.overflow();
    let (minutes, left_out) = router.into_minutes_renamed(|host, process| {
        owner
            .get(host)
            .cloned()
            .flatten()
            .map(|app| (app, process.to_owned()))
    });
    for minute in minutes {
        dataset.add_minute(minute);
    }
    for (why, hosts) in by_reason {
        let lines: u64 = hosts.iter().filter_map(|h| host_lines.get(*h)).sum();
        let hosts: Vec<String> = hosts
            .iter()
            .map(|h| {
                if h.is_empty() {
                    "(none)".to_owned()
                } else {
                    (*h).to_owned()
                }
            })
            .collect();
        dataset.note(format!(
            "router lines carry no app name: {lines} of them (host {}) were given {why}",
            list(&hosts)
        ));
    }
    if left_out > 0 {
        dataset.lines.unattributed += left_out;
    }
}

/// `a, b, c and 2 more`.
fn list(names: &[String]) -> String {
    let shown: Vec<&str> = names
        .iter()
        .take(NAMES_IN_A_NOTE)
        .map(String::as_str)
        .collect();
    let more = names.len().saturating_sub(NAMES_IN_A_NOTE);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// Lines that name no target (a daemon from before "Many targets", `shutdown`, `notify`) belong
/// to the one target; with several, to each of them; with none, they are the target.
fn resolve_unnamed(dataset: &mut Dataset) {
    let Some(i) = dataset
        .targets
        .iter()
        .position(|t| t.app.is_empty() && t.process.is_empty())
    else {
        return;
    };
    let named = dataset.targets.len() - 1;
    if named == 0 {
        return;
    }
    let unnamed = dataset.targets.remove(i);
    let has_marks =
        !unnamed.alerts.is_empty() || !unnamed.probes.is_empty() || !unnamed.scales.is_empty();
    for t in &mut dataset.targets {
        t.absorb(&unnamed);
    }
    if named > 1 && has_marks {
        dataset.note(
            "some of the daemon's lines name no app (alerts sent, or a daemon from before \"Many targets\"): they are shown on every target",
        );
    }
}

/// A line of the daemon that fails validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Invalid;

struct Event {
    /// Empty for lines about no target.
    app: String,
    process: String,
    at: DateTime<Utc>,
    kind: EventKind,
}

enum EventKind {
    Start(Box<Settings>),
    Probe(Probe),
    Scale(Scale),
    Hold(Hold),
    Alert(Alert),
    Quantity(u32),
    Queue(QueueMinute),
    /// A line about the target that adds nothing but its time.
    Seen,
    /// A line of no interest (a `notify` that failed, ...).
    Ignored,
}

fn in_years(t: DateTime<Utc>) -> bool {
    YEARS.contains(&t.year())
}

/// Reads one of the daemon's event lines, logged at `at`; [`Invalid`] when a value is out of
/// range (see the module docs).
fn read_event(line: &Line, at: DateTime<Utc>) -> Result<Event, Invalid> {
    if !in_years(at) {
        return Err(Invalid);
    }
    let app = name(line.get("app"))?;
    let process = name(line.get("process"))?;
    // A line naming an app but no process (api_error, budget) is about no one target.
    let (app, process) = match (app, process) {
        (Some(a), Some(p)) => (a.to_owned(), p.to_owned()),
        _ => (String::new(), String::new()),
    };
    let kind = match line.event().unwrap_or_default() {
        "start" => EventKind::Start(Box::new(start(line, at)?)),
        "probe" => EventKind::Probe(Probe {
            at,
            source: match line.get("source").unwrap_or("probe") {
                "" | "probe" => ProbeSource::Probe,
                "traffic" => ProbeSource::Traffic,
                _ => return Err(Invalid),
            },
            outcome: match line.get("outcome") {
                Some("down") => Outcome::Down,
                Some("slow") => Outcome::Slow,
                Some("ok") => Outcome::Ok,
                Some("fast") => Outcome::Fast,
                _ => return Err(Invalid),
            },
            status: whole(line, "status", 599)?
                .map(|s| s as u16)
                .filter(|s| *s >= 100),
            latency_ms: real(line, "latency_ms", MAX_MS)?,
            current: quantity(line, "current")?,
        }),
        "scale" => EventKind::Scale(Scale {
            at,
            from: quantity(line, "from")?,
            to: quantity(line, "to")?,
            reason: label(line.get("reason").unwrap_or("?")),
            result: label(line.get("result").unwrap_or("ok")),
        }),
        "scale_skip" => match quantity(line, "current")? {
            Some(q) => EventKind::Quantity(q),
            None => EventKind::Seen,
        },
        event @ ("hold" | "hold_end") => EventKind::Hold(Hold {
            at,
            reason: label(line.get("reason").unwrap_or("?")),
            quantity: quantity(line, "quantity")?,
            until: match line.get("until") {
                None | Some("") | Some("forever") => None,
                Some(text) => Some(time(text)?),
            },
            ended: event == "hold_end",
        }),
        "notify" if line.get("result") == Some("ok") => EventKind::Alert(Alert {
            at,
            channel: label(line.get("channel").unwrap_or("?")),
            kind: label(line.get("kind").unwrap_or("?")),
        }),
        "notify" => EventKind::Ignored,
        // A line of an earlier build (no minute, no dynos): its time only.
        "queue" if line.get("minute").is_none() || line.get("dynos").is_none() => EventKind::Seen,
        "queue" => EventKind::Queue(QueueMinute {
            minute: match line.get("minute").map(time) {
                Some(Ok(t)) if in_years(t) => crate::traffic::minute::minute_of(t),
                _ => return Err(Invalid),
            },
            depth: count(line, "depth")?.ok_or(Invalid)?,
            latency_ms: whole(line, "latency_ms", MAX_QUEUE_MS)?.ok_or(Invalid)?,
            busy: count(line, "busy")?,
            done: count(line, "done")?,
            dynos: quantity(line, "dynos")?.ok_or(Invalid)?,
            concurrency: whole(line, "concurrency", u64::from(MAX_CONCURRENCY))?
                .filter(|c| *c > 0)
                .ok_or(Invalid)? as u32,
        }),
        // Lines of every target (shutdown) or of one (checks_off, config_warning, ...).
        _ => EventKind::Seen,
    };
    Ok(Event {
        app,
        process,
        at,
        kind,
    })
}

fn start(line: &Line, at: DateTime<Utc>) -> Result<Settings, Invalid> {
    let tz: Option<Tz> = match line.get("tz") {
        None | Some("") => None,
        Some(text) => Some(text.parse().map_err(|_| Invalid)?),
    };
    // A schedule this version cannot read (a newer daemon's syntax) leaves the floor unknown;
    // the rest of the line still counts.
    let schedule = line
        .get("schedule")
        .filter(|s| s.matches(';').count() < MAX_SCHEDULE_ENTRIES)
        .and_then(|s| Schedule::parse(s, tz.unwrap_or(chrono_tz::UTC)).ok())
        .map(Arc::new);
    let concurrency = whole(line, "concurrency", u64::from(MAX_CONCURRENCY))?;
    if concurrency == Some(0) {
        return Err(Invalid);
    }
    let utilization = real(line, "utilization", 1.0)?;
    if utilization == Some(0.0) {
        return Err(Invalid);
    }
    let scale_in_after = match line.get("scale_in_after") {
        None | Some("") | Some("off") => None,
        Some(_) => quantity(line, "scale_in_after")?,
    };
    Ok(Settings {
        at,
        schedule,
        calendar: None,
        tz,
        max: quantity(line, "max")?,
        slow_ms: duration_ms(line.get("slow"))?,
        fast_ms: duration_ms(line.get("fast"))?,
        concurrency: concurrency.map(|c| c as u32),
        utilization,
        dry_run: line.get("dry_run") == Some("true"),
        queue: line.get("queue").filter(|q| !q.is_empty()).map(label),
        queue_latency_ms: duration_ms(line.get("queue_latency"))?,
        scale_in_after,
    })
}

/// An app or process name: absent, or non-empty, short, printable, without spaces.
fn name(value: Option<&str>) -> Result<Option<&str>, Invalid> {
    match value {
        None | Some("") => Ok(None),
        Some(v)
            if v.len() <= MAX_NAME && v.chars().all(|c| !c.is_whitespace() && !c.is_control()) =>
        {
            Ok(Some(v))
        }
        Some(_) => Err(Invalid),
    }
}

/// Text for a reason, result, channel or kind: control characters out, cut at [`MAX_LABEL`].
fn label(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .scan(0, |bytes, c| {
            *bytes += c.len_utf8();
            (*bytes <= MAX_LABEL).then_some(c)
        })
        .collect()
}

/// A whole number field: absent or empty is `None`; anything but plain digits up to `max` is
/// [`Invalid`].
fn whole(line: &Line, key: &str, max: u64) -> Result<Option<u64>, Invalid> {
    match line.get(key).map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.len() <= 19 && v.bytes().all(|b| b.is_ascii_digit()) => {
            let n: u64 = v.parse().map_err(|_| Invalid)?;
            if n <= max {
                Ok(Some(n))
            } else {
                Err(Invalid)
            }
        }
        Some(_) => Err(Invalid),
    }
}

fn count(line: &Line, key: &str) -> Result<Option<u64>, Invalid> {
    whole(line, key, MAX_JOBS)
}

fn quantity(line: &Line, key: &str) -> Result<Option<u32>, Invalid> {
    Ok(whole(line, key, u64::from(MAX_QUANTITY))?.map(|q| q as u32))
}

/// A decimal field: absent or empty is `None`; not a finite number from 0 to `max`: [`Invalid`].
fn real(line: &Line, key: &str, max: f64) -> Result<Option<f64>, Invalid> {
    match line.get(key).map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => match v.parse::<f64>() {
            Ok(x) if x.is_finite() && (0.0..=max).contains(&x) => Ok(Some(x)),
            _ => Err(Invalid),
        },
    }
}

/// The daemon's humantime durations (`5s`, `300ms`, `1m 30s`) in milliseconds; `off` or absent
/// is `None`; unreadable or over a day is [`Invalid`].
fn duration_ms(text: Option<&str>) -> Result<Option<f64>, Invalid> {
    match text.map(str::trim) {
        None | Some("") | Some("off") => Ok(None),
        Some(text) => {
            let ms = humantime::parse_duration(text)
                .map_err(|_| Invalid)?
                .as_secs_f64()
                * 1000.0;
            if ms <= MAX_MS {
                Ok(Some(ms))
            } else {
                Err(Invalid)
            }
        }
    }
}

fn time(text: &str) -> Result<DateTime<Utc>, Invalid> {
    crate::traffic::router::parse_timestamp(text)
        .filter(|t| in_years(*t))
        .ok_or(Invalid)
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::chart::dataset::{FloorSteps, Lines, MinuteAdded, TargetData};
    use crate::config::{Env, Raw};
    use crate::traffic::minute::Minute;

    /// A short day of the daemon from before "Many targets": only the start line names the app.
    pub(crate) const RAW: &str = r#"ts=2026-11-30T06:00:01.123Z level=info event=start version=0.1.0 app=shop process=web schedule="07:00=3; 22:00=2; 03:00=1" tz=UTC max=3 check_url=https://shop.herokuapp.com/ interval=3m timeout=10s slow=5s fast=1s scale_out_after=1 scale_in_after=3 dry_run=false
ts=2026-11-30T06:00:01.300Z level=info event=scale_skip reason=at_target current=1 trigger=startup
ts=2026-11-30T06:00:01.500Z level=info event=probe status=200 latency_ms=87 outcome=fast error="" current=1 floor=1
ts=2026-11-30T06:03:01.500Z level=warn event=probe status=500 latency_ms=12 outcome=down error="HTTP 500" current=1 floor=1
ts=2026-11-30T06:03:01.700Z level=info event=scale from=1 to=3 reason=down result=ok
ts=2026-11-30T06:06:01.500Z level=warn event=probe status="" latency_ms=10000 outcome=down error="timeout" current=3 floor=1
ts=2026-11-30T06:09:01.500Z level=info event=probe status=200 latency_ms=1500 outcome=ok error="" current=3 floor=1
ts=2026-11-30T06:12:01.500Z level=info event=probe status=200 latency_ms=6200 outcome=slow error="" current="" floor=""
ts=2026-11-30T06:15:01.500Z level=info event=api_error status=429 message="rate limited"
ts=2026-11-30T06:30:00.000Z level=info event=scale from=3 to=1 reason=scale_in result=ok
ts=2026-11-30T07:00:00.200Z level=info event=scale from=1 to=3 reason=schedule result=ok
ts=2026-11-30T07:03:00.500Z level=info event=probe status=200 latency_ms=90 outcome=fast error="" current=3 floor=3
ts=2026-11-30T07:04:00.000Z level=info event=notify channel=webhook kind=scale_out result=ok attempt=1
ts=2026-11-30T07:05:00.000Z level=error event=notify channel=sms kind=scale_out result=error attempt=2 message="x"
ts=2026-11-30T08:00:01.123Z level=info event=shutdown signal=SIGTERM clean=true took_ms=3
"#;

    pub(crate) fn ts(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    pub(crate) fn read(text: &str, hints: &Hints<'_>) -> Dataset {
        let mut reader = Reader::new();
        reader.read_text(text);
        reader.finish(hints)
    }

    fn router(t: &str, host: &str, dyno: &str) -> String {
        format!("{t} heroku[router]: at=info method=GET path=\"/\" host={host} request_id=r fwd=\"1.2.3.4\" dyno={dyno} connect=0ms service=20ms status=200 bytes=5 protocol=https\n")
    }

    fn names(d: &Dataset) -> Vec<String> {
        d.targets().iter().map(TargetData::name).collect()
    }

    #[test]
    fn the_daemons_lines_of_one_target() {
        let d = read(RAW, &Hints::default());
        assert_eq!(names(&d), ["shop/web"]);
        let t = &d.targets()[0];
        assert_eq!(t.probes.len(), 6);
        assert_eq!(t.scales.len(), 3);
        assert_eq!(t.alerts.len(), 1, "only the alert that was sent");
        assert_eq!(
            t.alerts[0],
            Alert {
                at: ts("2026-11-30T07:04:00Z"),
                channel: "webhook".into(),
                kind: "scale_out".into()
            }
        );
        assert_eq!(t.first_event, Some(ts("2026-11-30T06:00:01.123Z")));
        assert_eq!(
            t.last_event,
            Some(ts("2026-11-30T08:00:01.123Z")),
            "the shutdown line"
        );
        assert_eq!(
            t.probes[1],
            Probe {
                at: ts("2026-11-30T06:03:01.500Z"),
                source: ProbeSource::Probe,
                outcome: Outcome::Down,
                status: Some(500),
                latency_ms: Some(12.0),
                current: Some(1),
            }
        );
        assert_eq!(t.probes[2].status, None);
        let s = t.settings().expect("the start line");
        assert_eq!(
            (s.max, s.slow_ms, s.fast_ms, s.concurrency, s.dry_run),
            (Some(3), Some(5000.0), Some(1000.0), None, false)
        );
        assert_eq!(
            s.schedule.as_ref().unwrap().describe(),
            "07:00=3; 22:00=2; 03:00=1"
        );
        assert_eq!(t.zone(), chrono_tz::UTC);
        let steps: Vec<(String, u32)> = t
            .quantity_steps()
            .iter()
            .map(|(at, q)| (at.format("%H:%M:%S%.3f").to_string(), *q))
            .collect();
        assert_eq!(
            steps,
            [
                ("06:00:01.300".into(), 1),
                ("06:03:01.700".into(), 3),
                ("06:30:00.000".into(), 1),
                ("07:00:00.200".into(), 3)
            ]
        );
        assert_eq!(
            d.lines,
            Lines {
                daemon: 15,
                bytes: RAW.len() as u64,
                ..Lines::default()
            }
        );
        assert!(d.notes().is_empty(), "{:?}", d.notes());
    }

    #[test]
    fn heroku_prefix_times_win_and_other_lines_are_counted() {
        let mut text = String::new();
        for line in RAW.lines() {
            let t = ts(line[3..].split(' ').next().unwrap()) + TimeDelta::milliseconds(2500);
            text.push_str(&format!(
                "{} app[clock.1]: {line}\n",
                t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
            ));
        }
        text.push_str("2026-11-30T08:00:02.000000+00:00 app[web.1]: Listening on 3000\n");
        let d = read(&text, &Hints::default());
        let t = &d.targets()[0];
        assert_eq!(t.first_event, Some(ts("2026-11-30T06:00:03.623Z")));
        assert_eq!((d.lines.daemon, d.lines.other), (15, 1));
    }

    #[test]
    fn every_number_is_checked_and_a_bad_line_is_garbage() {
        let ok = "ts=2026-11-30T10:00:00.000Z level=info event=probe app=a process=web status=200 latency_ms=120 outcome=fast current=2";
        let bad = [
            ok.replace("latency_ms=120", "latency_ms=1e308"),
            ok.replace("latency_ms=120", "latency_ms=NaN"),
            ok.replace("latency_ms=120", "latency_ms=-1"),
            ok.replace("latency_ms=120", "latency_ms=86400001"),
            ok.replace("current=2", "current=10001"),
            ok.replace("current=2", "current=2.5"),
            ok.replace("current=2", "current=-2"),
            ok.replace("status=200", "status=600"),
            ok.replace("status=200", "status=x"),
            ok.replace("outcome=fast", "outcome=great"),
            ok.replace(" outcome=fast", ""),
            ok.replace("event=probe", "event=probe source=dream"),
            ok.replace("2026-11-30", "9999-12-31"),
            ok.replace("2026-11-30", "1999-12-31"),
            ok.replace("app=a", "app=\"a b\""),
            ok.replace("app=a", &format!("app={}", "a".repeat(MAX_NAME + 1))),
            "ts=2026-11-30T10:00:00.000Z level=info event=scale app=a process=web from=2 to=4294967295 reason=down".to_owned(),
            "ts=2026-11-30T10:00:00.000Z level=info event=start app=a process=web tz=Mars/Base".to_owned(),
            "ts=2026-11-30T10:00:00.000Z level=info event=start app=a process=web slow=999999h".to_owned(),
            "ts=2026-11-30T10:00:00.000Z level=info event=start app=a process=web slow=soon".to_owned(),
            "ts=2026-11-30T10:00:00.000Z level=info event=start app=a process=web concurrency=0".to_owned(),
            "ts=2026-11-30T10:00:00.000Z level=info event=start app=a process=web concurrency=10001".to_owned(),
            "ts=2026-11-30T10:00:00.000Z level=info event=start app=a process=web utilization=0".to_owned(),
            "ts=2026-11-30T10:00:00.000Z level=info event=start app=a process=web utilization=1.5".to_owned(),
            "ts=2026-11-30T10:00:00.000Z level=info event=hold app=a process=web reason=manual until=later".to_owned(),
            "ts=2026-11-30T10:00:00.000Z level=info event=hold app=a process=web reason=manual until=9999-01-01T00:00:00Z".to_owned(),
            "2026-11-30T10:00:00Z heroku[router]: at=info method=GET path=/ host=h dyno=web.1 service=1ms status=200".replace("2026", "9999"),
        ];
        let mut text = format!("{ok}\n");
        for b in &bad {
            text.push_str(b);
            text.push('\n');
        }
        let d = read(&text, &Hints::default());
        assert_eq!(d.lines.garbage, bad.len() as u64, "{:?}", d.lines);
        assert_eq!(d.lines.out_of_range, bad.len() as u64);
        assert_eq!(d.lines.daemon, 1);
        assert_eq!(d.targets()[0].probes.len(), 1);
        // Limits themselves are fine.
        let edge = [
            ok.replace("latency_ms=120", "latency_ms=86400000"),
            ok.replace("current=2", "current=10000"),
            ok.replace("current=2", "current=\"\""),
            ok.replace("status=200", "status=\"\""),
            "ts=2026-11-30T10:00:00.000Z level=info event=start app=a process=web concurrency=10000 utilization=1 slow=24h fast=off".to_owned(),
        ];
        let d = read(&edge.join("\n"), &Hints::default());
        assert_eq!(d.lines.garbage, 0, "{:?}", d.lines);
        let t = &d.targets()[0];
        assert_eq!(t.probes[1].current, Some(10000));
        assert_eq!((t.probes[2].current, t.probes[3].status), (None, None));
        let s = t.settings().unwrap();
        assert_eq!(
            (s.concurrency, s.utilization, s.slow_ms, s.fast_ms),
            (Some(10000), Some(1.0), Some(MAX_MS), None)
        );
    }

    #[test]
    fn a_workers_queue_lines_and_its_start_line() {
        let text = "ts=2026-12-07T10:00:00.000Z level=info event=start app=a process=worker schedule=\"00:00=1\" tz=UTC max=20 scale_in_after=3 concurrency=10 queue=sidekiq queue_latency=30s\n\
            ts=2026-12-07T10:01:02.000Z level=info event=queue app=a process=worker minute=2026-12-07T10:00:00Z depth=600 latency_ms=45000 busy=20 done= dynos=2 concurrency=10\n\
            ts=2026-12-07T10:02:01.000Z level=info event=queue app=a process=worker minute=2026-12-07T10:01:00Z depth=0 latency_ms=0 busy= done=240 dynos=7 concurrency=10\n\
            ts=2026-12-07T10:02:30.000Z level=info event=queue app=a process=worker minute=2026-12-07T10:01:00Z depth=5 latency_ms=0 busy=1 done=1 dynos=7 concurrency=10\n\
            ts=2026-12-07T10:02:00.000Z level=info event=queue app=a process=worker depth=1 latency_ms=0 busy= done=";
        let d = read(text, &Hints::default());
        let t = &d.targets()[0];
        let s = t.settings().unwrap();
        assert_eq!(s.queue.as_deref(), Some("sidekiq"));
        assert_eq!(s.queue_latency_ms, Some(30_000.0));
        assert_eq!((s.scale_in_after, s.concurrency), (Some(3), Some(10)));
        let minutes: Vec<QueueMinute> = t.queue_minutes().copied().collect();
        assert_eq!(
            minutes,
            [
                QueueMinute {
                    minute: ts("2026-12-07T10:00:00Z"),
                    depth: 600,
                    latency_ms: 45_000,
                    busy: Some(20),
                    done: None,
                    dynos: 2,
                    concurrency: 10,
                },
                QueueMinute {
                    minute: ts("2026-12-07T10:01:00Z"),
                    depth: 0,
                    latency_ms: 0,
                    busy: None,
                    done: Some(240),
                    dynos: 7,
                    concurrency: 10,
                },
            ],
            "a second line of a minute is the same minute; a line of an earlier build (no minute, no dynos) counts only its time"
        );
        assert_eq!(minutes[0].capacity(), 20);
        assert_eq!(
            t.quantity_steps(),
            [
                (ts("2026-12-07T10:00:00Z"), 2),
                (ts("2026-12-07T10:01:00Z"), 7)
            ]
        );
        assert_eq!(t.span().unwrap().1, ts("2026-12-07T10:02:00Z"));
        assert_eq!(d.lines.garbage, 0);
        let ok = "ts=2026-12-07T10:01:00.000Z level=info event=queue app=a process=worker minute=2026-12-07T10:00:00Z depth=6 latency_ms=5 busy=1 done=2 dynos=2 concurrency=10";
        for bad in [
            ok.replace("depth=6", "depth=-6"),
            ok.replace("depth=6", "depth=1000000000001"),
            ok.replace("latency_ms=5", "latency_ms=31622400001"),
            ok.replace("latency_ms=5", "latency_ms="),
            ok.replace("busy=1", "busy=1.5"),
            ok.replace("dynos=2", "dynos=10001"),
            ok.replace("concurrency=10", "concurrency=0"),
            ok.replace("concurrency=10", "concurrency="),
            ok.replace("minute=2026-12-07T10:00:00Z", "minute=9999-12-07T10:00:00Z"),
            ok.replace("minute=2026-12-07T10:00:00Z", "minute=soon"),
        ] {
            let d = read(&bad, &Hints::default());
            assert_eq!(d.lines.garbage, 1, "{bad}");
            assert!(d.is_empty(), "{bad}");
        }
        assert_eq!(read(ok, &Hints::default()).lines.garbage, 0);
    }

    #[test]
    fn a_schedule_this_version_cannot_read_leaves_the_rest_of_the_start_line() {
        let many = vec!["07:00=1"; MAX_SCHEDULE_ENTRIES + 1].join(";");
        for schedule in ["every day at seven=3", many.as_str()] {
            let text = format!("ts=2026-11-30T10:00:00.000Z level=info event=start app=a process=web schedule=\"{schedule}\" tz=Europe/Berlin max=4");
            let d = read(&text, &Hints::default());
            let s = d.targets()[0].settings().unwrap();
            assert!(s.schedule.is_none());
            assert_eq!((s.max, s.tz), (Some(4), Some(chrono_tz::Europe::Berlin)));
            assert_eq!(d.targets()[0].zone(), chrono_tz::Europe::Berlin);
        }
        let fewer = vec!["07:00=1"; MAX_SCHEDULE_ENTRIES].join(";");
        let text = format!("ts=2026-11-30T10:00:00.000Z level=info event=start app=a process=web schedule=\"{fewer}\"");
        assert!(read(&text, &Hints::default()).targets()[0]
            .settings()
            .unwrap()
            .schedule
            .is_some());
    }

    #[test]
    fn holds_scale_skips_and_other_lines() {
        let text = "ts=2026-11-30T10:00:00.000Z level=info event=hold app=a process=web reason=manual quantity=4 until=2026-11-30T11:00:00Z\n\
            ts=2026-11-30T10:01:00.000Z level=info event=hold app=a process=web reason=pause until=forever\n\
            ts=2026-11-30T11:00:00.000Z level=info event=hold_end app=a process=web reason=manual why=expired\n\
            ts=2026-11-30T11:01:00.000Z level=info event=scale_skip app=a process=web reason=hold current=4\n\
            ts=2026-11-30T11:02:00.000Z level=info event=scale_skip app=a process=web reason=x\n\
            ts=2026-11-30T11:03:00.000Z level=info event=checks_off app=a process=web reason=bad_web_url\n\
            ts=2026-11-30T11:04:00.000Z level=info event=scale app=a process=web from=4 to=9 reason=slow result=dry_run\n\
            ts=2026-11-30T11:05:00.000Z level=info event=api_error app=a status=500\n";
        let d = read(text, &Hints::default());
        assert_eq!(names(&d), ["a/web"]);
        let t = &d.targets()[0];
        assert_eq!(
            t.holds,
            [
                Hold {
                    at: ts("2026-11-30T10:00:00Z"),
                    reason: "manual".into(),
                    quantity: Some(4),
                    until: Some(ts("2026-11-30T11:00:00Z")),
                    ended: false
                },
                Hold {
                    at: ts("2026-11-30T10:01:00Z"),
                    reason: "pause".into(),
                    quantity: None,
                    until: None,
                    ended: false
                },
                Hold {
                    at: ts("2026-11-30T11:00:00Z"),
                    reason: "manual".into(),
                    quantity: None,
                    until: None,
                    ended: true
                },
            ]
        );
        // A dry run's `to` is not a quantity; its `from` is.
        assert_eq!(t.quantity_steps(), [(ts("2026-11-30T10:00:00Z"), 4)]);
        assert_eq!(t.quantities.len(), 3);
        // The api_error names no process: it is about no one target, so the one target's.
        assert_eq!(t.last_event, Some(ts("2026-11-30T11:05:00Z")));
        assert!(!t.scales[0].applied());
    }

    #[test]
    fn labels_are_cut_and_cleaned() {
        assert_eq!(label("scale_in"), "scale_in");
        assert_eq!(label("a\u{7}b"), "ab");
        assert_eq!(label(&"x".repeat(100)).len(), MAX_LABEL);
        assert_eq!(label(&"é".repeat(40)), "é".repeat(32));
        assert_eq!(name(Some("shop")), Ok(Some("shop")));
        assert_eq!(name(Some("")), Ok(None));
        assert_eq!(name(None), Ok(None));
        assert_eq!(
            name(Some(&"a".repeat(MAX_NAME))),
            Ok(Some("a".repeat(MAX_NAME).as_str()))
        );
        assert_eq!(name(Some("a\u{1}")), Err(Invalid));
    }

    #[test]
    fn apps_named_by_their_hosts() {
        for (host, app) in [
            ("shop.herokuapp.com", Some("shop")),
            ("shop-7f3a9c21d4e5.herokuapp.com", Some("shop")),
            ("my-shop-7f3a9c21d4e5.herokuapp.com", Some("my-shop")),
            ("my-shop.herokuapp.com", Some("my-shop")),
            ("shop-7f3a9c21d4eg.herokuapp.com", Some("shop-7f3a9c21d4eg")),
            ("shop-7f3a9c21d4e.herokuapp.com", Some("shop-7f3a9c21d4e")),
            ("www.shop.herokuapp.com", None),
            ("Shop.herokuapp.com", None),
            ("ab.herokuapp.com", None),
            ("abc.herokuapp.com", Some("abc")),
            (
                &format!("{}.herokuapp.com", "a".repeat(30)),
                Some("a".repeat(30).leak() as &str),
            ),
            (&format!("{}.herokuapp.com", "a".repeat(31)), None),
            ("1shop.herokuapp.com", None),
            ("shop.example.com", None),
            ("herokuapp.com", None),
        ] {
            assert_eq!(app_of_host(host), app, "{host}");
        }
        assert_eq!(host_key("Shop.Example.com:443"), "shop.example.com");
        assert_eq!(host_key("shop.example.com:x"), "shop.example.com:x");
        assert_eq!(host_key("[::1]:8080"), "[::1]");
    }

    #[test]
    fn router_lines_go_to_the_one_app_the_input_names() {
        let mut text = String::new();
        text.push_str(&router("2026-11-30T10:00:01Z", "www.shop.example", "web.1"));
        text.push_str(&router("2026-11-30T10:00:02Z", "shop.example", "web.2"));
        text.push_str(
            "ts=2026-11-30T10:05:00.000Z level=info event=start app=shop process=web tz=UTC\n",
        );
        let d = read(&text, &Hints::default());
        assert_eq!(names(&d), ["shop/web"]);
        let m = d.targets()[0].minute_list();
        assert_eq!((m.len(), m[0].requests, m[0].dynos), (1, 2, 2));
        assert_eq!(d.notes().len(), 1, "one note per reason: {:?}", d.notes());
        assert!(d.notes()[0].contains("2 of them (host shop.example, www.shop.example) were given to shop, the one app the input names"), "{:?}", d.notes());
    }

    #[test]
    fn router_lines_with_several_apps_named_need_a_host_or_the_target() {
        let mut text = String::new();
        text.push_str(&router(
            "2026-11-30T10:00:01Z",
            "shop-7f3a9c21d4e5.herokuapp.com",
            "web.1",
        ));
        text.push_str(&router("2026-11-30T10:00:02Z", "www.example.com", "web.1"));
        text.push_str(&router("2026-11-30T10:00:03Z", "", "web.1"));
        text.push_str("ts=2026-11-30T10:05:00.000Z level=info event=start app=shop process=web\n");
        text.push_str("ts=2026-11-30T10:05:00.000Z level=info event=start app=blog process=web\n");
        let d = read(&text, &Hints::default());
        assert_eq!(names(&d), ["shop/web", "blog/web"]);
        assert_eq!(d.targets()[0].minute_list()[0].requests, 1);
        assert_eq!(d.lines.unattributed, 2);
        assert!(d.notes().iter().any(|n| n.contains("2 of them (host (none), www.example.com) were given to no app: the input names several (shop, blog)")), "{:?}", d.notes());

        // --target takes them all, and keeps only itself.
        let d = read(
            &text,
            &Hints {
                target: Some(("blog", "web")),
                configured: &[],
            },
        );
        assert_eq!(names(&d), ["blog/web"]);
        assert_eq!(d.targets()[0].minute_list()[0].requests, 3);
        assert_eq!(d.lines.unattributed, 0);
        assert!(d.notes()[0].contains("3 of them (host (none), shop-7f3a9c21d4e5.herokuapp.com, www.example.com) were given to blog (--target)"), "{:?}", d.notes());
    }

    #[test]
    fn router_lines_when_the_input_names_no_app() {
        let mut text = String::new();
        text.push_str(&router(
            "2026-11-30T10:00:01Z",
            "shop.herokuapp.com",
            "web.1",
        ));
        text.push_str(&router("2026-11-30T10:00:02Z", "www.example.com", "api.1"));
        text.push_str(&router("2026-11-30T10:00:03Z", "", "web.1"));
        let d = read(&text, &Hints::default());
        assert_eq!(names(&d), ["router/web", "shop/web", "www.example.com/api"]);
        let notes = d.notes().join("\n");
        assert!(
            notes.contains(
                "given to shop, the app their host is named after (the input names no app)"
            ),
            "{notes}"
        );
        assert!(notes.contains("given to www.example.com: the input names no app (say which with --target APP/web)"), "{notes}");

        // The configuration names the app.
        let raw = Raw::from_pairs([("AUTOSCALE_APP", "blog"), ("AUTOSCALE_TZ", "Europe/Berlin")]);
        let configured = crate::config::targets(&raw, &Env::default()).unwrap().all;
        let d = read(
            &text,
            &Hints {
                target: None,
                configured: &configured,
            },
        );
        assert_eq!(names(&d), ["blog/api", "blog/web"]);
        assert_eq!(
            d.targets()[1].zone(),
            chrono_tz::Europe::Berlin,
            "the configuration's settings"
        );
        assert!(
            d.targets()[0].configured.is_none(),
            "only blog/web is configured"
        );
    }

    #[test]
    fn unnamed_lines_go_to_every_target_when_there_are_several() {
        let text = "ts=2026-11-30T10:00:00.000Z level=info event=start app=shop process=web\n\
            ts=2026-11-30T10:00:00.000Z level=info event=start app=shop process=worker\n\
            ts=2026-11-30T10:01:00.000Z level=info event=notify channel=email kind=scale_out result=ok\n\
            ts=2026-11-30T10:09:00.000Z level=info event=shutdown\n";
        let d = read(text, &Hints::default());
        assert_eq!(names(&d), ["shop/web", "shop/worker"]);
        for t in d.targets() {
            assert_eq!(
                (t.alerts.len(), t.last_event),
                (1, Some(ts("2026-11-30T10:09:00Z")))
            );
        }
        assert!(
            d.notes()[0].contains("shown on every target"),
            "{:?}",
            d.notes()
        );
        // Only a shutdown line: nothing worth a note.
        let d = read(
            &text.replace(
                "event=notify channel=email kind=scale_out result=ok",
                "event=budget",
            ),
            &Hints::default(),
        );
        assert!(d.notes().is_empty());
        // No named target at all: the unnamed lines are the target.
        let d = read(
            "ts=2026-11-30T10:09:00.000Z level=info event=shutdown\n",
            &Hints::default(),
        );
        assert_eq!(names(&d), ["/"]);
        assert!(!d.is_empty());
    }

    fn minute(requests: u64) -> Minute {
        Minute {
            app: "shop".into(),
            process: "web".into(),
            minute: ts("2026-11-30T10:00:00Z"),
            requests,
            p50_ms: Some(10),
            p95_ms: Some(20),
            p99_ms: Some(30),
            errors: 0,
            h10: 0,
            h12: 0,
            h13: 0,
            s2xx: requests,
            s3xx: 0,
            s4xx: 0,
            s5xx: 0,
            busy: 0.5,
            dynos: 1,
        }
    }

    #[test]
    fn the_same_minute_twice_is_kept_once() {
        let mut d = Dataset::new();
        assert_eq!(d.add_minute(minute(5)), MinuteAdded::New);
        assert_eq!(d.add_minute(minute(5)), MinuteAdded::Same);
        assert_eq!(d.add_minute(minute(4)), MinuteAdded::Differed);
        assert_eq!(d.targets()[0].minute_list(), [minute(5)]);
        assert_eq!(d.add_minute(minute(6)), MinuteAdded::Differed);
        assert_eq!(d.targets()[0].minute_list(), [minute(6)]);
        assert_eq!(d.differing_minutes, 2);
        assert_eq!(d.lines.overflow, 0);
        assert_eq!(d.targets()[0].minute_count(), 1);
    }

    #[test]
    fn caps_are_counted() {
        let mut d = Dataset::new();
        for i in 0..MAX_TARGETS {
            assert!(d.add_seen(&format!("app{i}"), "web", ts("2026-11-30T10:00:00Z")));
        }
        assert!(!d.add_seen("one-more", "web", ts("2026-11-30T10:00:00Z")));
        let probe = Probe {
            at: ts("2026-11-30T10:00:00Z"),
            source: ProbeSource::Probe,
            outcome: Outcome::Ok,
            status: None,
            latency_ms: None,
            current: None,
        };
        assert!(!d.add_probe("one-more", "web", probe.clone()));
        assert!(d.add_probe("app0", "web", probe.clone()));
        let mut m = minute(1);
        m.app = "one-more".into();
        assert_eq!(d.add_minute(m), MinuteAdded::Overflow);
        assert_eq!(d.lines.overflow, 2);
        d.events = MAX_EVENTS;
        assert!(!d.add_probe("app0", "web", probe));
        assert_eq!(d.lines.overflow, 3);
        d.minutes = MAX_MINUTES;
        assert_eq!(d.add_minute(minute(1)).clone(), MinuteAdded::Overflow);
        assert_eq!(d.lines.overflow, 4);
    }

    #[test]
    fn a_router_line_past_the_caps_is_left_out_once() {
        // 1,025 hosts: the last one's two lines are past the 1,024 keys.
        let mut text = String::new();
        for i in 0..=crate::traffic::minute::MAX_BATCH_KEYS {
            let lines = if i == crate::traffic::minute::MAX_BATCH_KEYS {
                2
            } else {
                1
            };
            for _ in 0..lines {
                text.push_str(&format!(
                    "2026-11-30T14:00:10Z heroku[router]: at=info method=GET path=/ host=h{i}.example.com dyno=web.1 service=5ms status=200\n"
                ));
            }
        }
        let d = read(&text, &Hints::default());
        assert_eq!(d.lines.router, 1026);
        assert_eq!(d.lines.overflow, 2, "{:?}", d.notes());
        assert!(
            d.notes().iter().any(|n| n.starts_with("2 line(s)")),
            "{:?}",
            d.notes()
        );
    }

    #[test]
    fn the_floor_comes_from_each_start_lines_schedule() {
        let text = "ts=2026-03-28T12:00:00.000Z level=info event=start app=a process=web schedule=\"07:00=3; 22:00=1\" tz=Europe/Berlin\n\
            ts=2026-03-29T12:00:00.000Z level=info event=start app=a process=web schedule=\"00:00=5\" tz=UTC\n";
        let d = read(text, &Hints::default());
        let t = &d.targets()[0];
        let floor = t.floor_steps(ts("2026-03-28T00:00:00Z"), ts("2026-03-30T00:00:00Z"));
        assert!(!floor.capped);
        assert_eq!(
            floor.steps,
            [
                (ts("2026-03-28T00:00:00Z"), 1),
                (ts("2026-03-28T06:00:00Z"), 3),
                (ts("2026-03-28T21:00:00Z"), 1),
                // Summer time from the 29th: 07:00 in Berlin is 05:00 UTC.
                (ts("2026-03-29T05:00:00Z"), 3),
                (ts("2026-03-29T12:00:00Z"), 5),
            ]
        );
        // Without a start line: the configuration's schedule, for all time.
        let raw = Raw::from_pairs([
            ("AUTOSCALE_APP", "a"),
            ("AUTOSCALE_SCHEDULE", "07:00=2; 19:00=1"),
        ]);
        let configured = crate::config::targets(&raw, &Env::default()).unwrap().all;
        let d = read(
            "ts=2026-03-28T12:00:00.000Z level=info event=probe app=a process=web outcome=ok\n",
            &Hints {
                target: None,
                configured: &configured,
            },
        );
        let floor =
            d.targets()[0].floor_steps(ts("2026-03-28T00:00:00Z"), ts("2026-03-28T12:00:00Z"));
        assert_eq!(
            floor.steps,
            [
                (ts("2026-03-28T00:00:00Z"), 1),
                (ts("2026-03-28T07:00:00Z"), 2)
            ]
        );
        // Neither: no floor.
        let d = read(
            "ts=2026-03-28T12:00:00.000Z level=info event=probe app=a process=web outcome=ok\n",
            &Hints::default(),
        );
        assert_eq!(
            d.targets()[0].floor_steps(ts("2026-03-28T00:00:00Z"), ts("2026-03-29T00:00:00Z")),
            FloorSteps::default()
        );
    }

    #[test]
    fn a_schedule_that_fires_every_second_is_cut() {
        let text = "ts=2026-03-28T00:00:00.000Z level=info event=start app=a process=web schedule=\"* * * * * *=2\"\n";
        let d = read(text, &Hints::default());
        let t = &d.targets()[0];
        let short = t.floor_steps(ts("2026-03-28T00:00:00Z"), ts("2026-03-28T01:00:00Z"));
        assert_eq!((short.steps.len(), short.capped), (1, false));
        let long = t.floor_steps(ts("2026-03-28T00:00:00Z"), ts("2026-03-30T00:00:00Z"));
        assert_eq!((long.steps.len(), long.capped), (1, true));
    }

    #[test]
    fn duplicates_of_whole_lines_are_dropped() {
        let twice = format!("{RAW}{RAW}");
        let d = read(&twice, &Hints::default());
        let t = &d.targets()[0];
        assert_eq!((t.probes.len(), t.scales.len(), t.alerts.len()), (6, 3, 1));
        assert_eq!(d.lines.daemon, 30);
    }
}
