//! The `chart` subcommand: what happened to each target, as a static SVG or an interactive HTML
//! page, from whatever the user has: router lines (`heroku logs`, Logplex drain frames, `.gz`
//! files of either), the daemon's `event=traffic` lines and its own event lines.
//!
//! - [`read`]: every input into one [`Dataset`] (also the input of `suggest` and `replay`);
//! - [`dataset`]: what was read, per target, with its caps;
//! - [`axis`]: time and value axes whose labels never collide;
//! - [`panels`]: the SVG, per target a summary and its panels; under it `draw` (the SVG
//!   primitives, colours, a plot's frame), `buckets` (minutes grouped per pixel column) and
//!   `heatmap` (the week panel);
//! - [`summary`]: a target's figures in a few lines (printed, and in both outputs);
//! - this module: the options, one function per output ([`svg`], [`html`]) and the command's glue
//!   ([`run`]: inputs, configuration, output file, exit codes).
//!
//! The HTML page itself is [`crate::report`]'s; here its data is filled from the dataset.

pub mod axis;
mod buckets;
pub mod dataset;
mod draw;
mod heatmap;
pub mod panels;
pub mod read;
pub mod summary;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

pub use dataset::{Dataset, TargetData};
pub use read::{Hints, Reader};
pub use summary::Summary;

use crate::config::{field, Env, Raw, Target};
use crate::history::{HistorySetting, StoreError, StoreUrl};
use crate::report::{
    AlertMark, Heatmap, MinutePoint, ProbePoint, ReportData, ScaleMark, Step, TargetReport, Zone,
};
use dataset::FloorSteps;

/// The example every "nothing to read" message ends with.
pub const EXAMPLE: &str = "heroku logs -n 1500 --dyno clock -a my-app | autoscale chart";

/// How to draw.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The title; by default `autoscale: APP/PROCESS` (or the number of targets).
    pub title: Option<String>,
    /// Only this target (app, process); by default every target of the input, one set of
    /// panels each.
    pub target: Option<(String, String)>,
    /// Stretches of time to mark across every plot of the SVG, with their names: `autoscale
    /// demo`'s story (healthy, load, outage, ...). None for real logs.
    pub phases: Vec<Phase>,
}

/// A named stretch of time marked across every plot (a band), or an instant (`from == to`: a
/// line), such as a phase of the demo's story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub label: String,
    /// A fault (drawn in a red tint rather than grey).
    pub fault: bool,
}

/// Why no chart was drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChartError {
    #[error("nothing to chart: no router lines, no event=traffic lines and no autoscale event lines in the input ({skipped} lines skipped)")]
    Empty { skipped: u64 },
    #[error("no data for the target {wanted}; the input has {known}")]
    NoSuchTarget { wanted: String, known: String },
}

/// The output's kind, told by the file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Svg,
    Html,
}

impl Format {
    /// `.svg` or `.html` (`.htm`), any case; anything else is `None`.
    pub fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "svg" => Some(Format::Svg),
            "html" | "htm" => Some(Format::Html),
            _ => None,
        }
    }
}

/// What a target's panels are drawn from: its data, the settings in force, its summary.
#[derive(Debug, Clone)]
pub struct View<'a> {
    pub data: &'a TargetData,
    pub settings: Effective,
    /// The schedule's floor over the whole chart's span.
    pub floor: FloorSteps,
    /// The quantity as steps.
    pub quantity: Vec<(DateTime<Utc>, u32)>,
    pub summary: Summary,
}

/// The settings a target's panels show (the latest `start` line's, else the configuration's).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Effective {
    pub max: Option<u32>,
    pub slow_ms: Option<f64>,
    pub fast_ms: Option<f64>,
    pub concurrency: Option<u32>,
}

impl<'a> View<'a> {
    /// The view of `data` on a chart spanning `span`.
    pub fn of(data: &'a TargetData, span: (DateTime<Utc>, DateTime<Utc>)) -> View<'a> {
        let settings = data
            .settings()
            .map_or_else(Effective::default, |s| Effective {
                max: s.max,
                slow_ms: s.slow_ms,
                fast_ms: s.fast_ms,
                concurrency: s.concurrency,
            });
        let floor = data.floor_steps(span.0, span.1);
        let summary = Summary::of(data, &floor);
        View {
            data,
            settings,
            floor,
            quantity: data.quantity_steps(),
            summary,
        }
    }
}

/// A time range: from, to.
type Span = (DateTime<Utc>, DateTime<Utc>);

/// The views of the targets to draw, and the span they share.
fn views<'a>(dataset: &'a Dataset, options: &Options) -> Result<(Vec<View<'a>>, Span), ChartError> {
    let targets: Vec<&TargetData> = match &options.target {
        Some((app, process)) => match dataset.target(app, process) {
            Some(t) if t.has_data() => vec![t],
            _ => {
                return Err(ChartError::NoSuchTarget {
                    wanted: format!("{app}/{process}"),
                    known: known(dataset),
                })
            }
        },
        None => dataset.targets().iter().filter(|t| t.has_data()).collect(),
    };
    let span = targets
        .iter()
        .filter_map(|t| t.span())
        .reduce(|(a, b), (c, d)| (a.min(c), b.max(d)));
    let Some(span) = span else {
        return Err(ChartError::Empty {
            skipped: dataset.lines.garbage + dataset.lines.other,
        });
    };
    Ok((
        targets.into_iter().map(|t| View::of(t, span)).collect(),
        span,
    ))
}

fn known(dataset: &Dataset) -> String {
    let names: Vec<String> = dataset
        .targets()
        .iter()
        .filter(|t| t.has_data())
        .map(TargetData::name)
        .collect();
    if names.is_empty() {
        "no target at all".to_owned()
    } else {
        names.join(", ")
    }
}

fn title(options: &Options, views: &[View<'_>]) -> String {
    match (&options.title, views) {
        (Some(t), _) => t.clone(),
        (None, [one]) => format!("autoscale: {}", one.data.name()),
        (None, many) => format!("autoscale: {} targets", many.len()),
    }
}

/// The static SVG of the dataset, and each drawn target's summary.
pub fn svg(dataset: &Dataset, options: &Options) -> Result<(String, Vec<Summary>), ChartError> {
    let (views, span) = views(dataset, options)?;
    let zone = views.first().map_or(chrono_tz::UTC, |v| v.summary.zone);
    // The phases are part of what is shown: the axis covers them too, and a story shorter than
    // a minute fills the width rather than a minute's axis (5 s at least).
    let span = options
        .phases
        .iter()
        .fold(span, |(a, b), p| (a.min(p.from), b.max(p.to)));
    let least = if options.phases.is_empty() {
        chrono::TimeDelta::minutes(1)
    } else {
        chrono::TimeDelta::seconds(5)
    };
    let mut axis =
        axis::TimeAxis::fit_at_least(span.0, span.1, zone, draw::WIDTH - 112.0, 12.0, least);
    axis.phases = options.phases.clone();
    let mut notes = dataset.notes().to_vec();
    if let Some(other) = views.iter().find(|v| v.summary.zone != zone) {
        notes.push(format!(
            "times are shown in {zone}; the schedule of {} is in {}",
            other.data.name(),
            other.summary.zone
        ));
    }
    let svg = panels::render(&title(options, &views), &views, &axis, &notes);
    Ok((svg, views.into_iter().map(|v| v.summary).collect()))
}

/// The interactive HTML page of the dataset (see [`crate::report`]), made at `generated_at`,
/// and each target's summary.
pub fn html(
    dataset: &Dataset,
    options: &Options,
    generated_at: DateTime<Utc>,
) -> Result<(String, Vec<Summary>), ChartError> {
    let (data, summaries) = report_data(dataset, options, generated_at)?;
    Ok((crate::report::render_html(&data), summaries))
}

/// The report page's data: one section per target, times in the first target's zone.
pub fn report_data(
    dataset: &Dataset,
    options: &Options,
    generated_at: DateTime<Utc>,
) -> Result<(ReportData, Vec<Summary>), ChartError> {
    let (views, span) = views(dataset, options)?;
    let tz = views.first().map_or(chrono_tz::UTC, |v| v.summary.zone);
    let mut notes: Vec<String> = dataset.notes().to_vec();
    if let Some(other) = views.iter().find(|v| v.summary.zone != tz) {
        notes.push(format!(
            "times are shown in {tz}; the schedule of {} is in {}",
            other.data.name(),
            other.summary.zone
        ));
    }
    let targets = views
        .iter()
        .enumerate()
        .map(|(i, view)| target_report(view, tz, if i == 0 { &notes } else { &[] }))
        .collect();
    let data = ReportData {
        title: title(options, &views),
        generated_at,
        zone: Zone::covering(tz, span.0, span.1),
        targets,
    };
    Ok((data, views.into_iter().map(|v| v.summary).collect()))
}

fn target_report(view: &View<'_>, tz: chrono_tz::Tz, notes: &[String]) -> TargetReport {
    let data = view.data;
    let s = &view.summary;
    let minutes: Vec<MinutePoint> = data
        .minutes()
        .map(|m| MinutePoint {
            t: m.minute,
            requests: m.requests,
            s2xx: m.s2xx,
            s3xx: m.s3xx,
            s4xx: m.s4xx,
            s5xx: m.s5xx,
            h10: m.h10,
            h12: m.h12,
            h13: m.h13,
            errors: m.errors,
            p50_ms: m.p50_ms.map(f64::from),
            p95_ms: m.p95_ms.map(f64::from),
            busy: Some(m.busy),
            dynos: (m.dynos > 0).then_some(m.dynos),
        })
        .collect();
    let steps = |list: &[(DateTime<Utc>, u32)]| -> Vec<Step> {
        list.iter()
            .map(|&(t, quantity)| Step { t, quantity })
            .collect()
    };
    let mut all_notes: Vec<String> = notes.to_vec();
    if let (Some(h), Some(peak)) = (s.dyno_hours_peak, s.schedule_peak) {
        let saving = match s.dyno_hours {
            Some(used) if h > 0.0 => format!(", saving {:.1}%", 100.0 * (h - used) / h),
            _ => String::new(),
        };
        all_notes.push(format!(
            "the schedule's peak of {peak} all the time: {h:.1} dyno-hours{saving}"
        ));
    }
    if view.floor.steps.is_empty() {
        all_notes.push("floor unknown: no start line or configuration gives the schedule".into());
    }
    if view.floor.capped {
        all_notes.push("the schedule fires too often to draw all of its floor".into());
    }
    TargetReport {
        app: data.app.clone(),
        process: data.process.clone(),
        concurrency: view.settings.concurrency,
        slow_ms: view.settings.slow_ms,
        max: view.settings.max,
        queue_latency_ms: data.settings().and_then(|s| s.queue_latency_ms),
        queue: data
            .queue_minutes()
            .map(|q| crate::report::QueuePoint {
                t: q.minute,
                depth: q.depth,
                latency_ms: q.latency_ms,
                busy: q.busy,
                capacity: q.capacity(),
            })
            .collect(),
        heatmap: (!minutes.is_empty()).then(|| Heatmap::from_minutes(&minutes, tz)),
        minutes,
        quantity: steps(&view.quantity),
        floor: steps(&view.floor.steps),
        scales: data
            .scales
            .iter()
            .map(|x| ScaleMark {
                t: x.at,
                from: x.from,
                to: x.to,
                reason: x.reason.clone(),
                result: Some(x.result.clone()),
            })
            .collect(),
        alerts: data
            .alerts
            .iter()
            .map(|a| AlertMark {
                t: a.at,
                kind: a.kind.clone(),
                message: format!("sent by {}", a.channel),
            })
            .collect(),
        probes: data
            .probes
            .iter()
            .filter(|p| p.source == crate::history::rows::ProbeSource::Probe)
            .map(|p| ProbePoint {
                t: p.at,
                latency_ms: p.latency_ms,
                outcome: p.outcome.as_str().to_owned(),
            })
            .collect(),
        summary: crate::report::Summary {
            from: s.from,
            to: s.to,
            requests: s.traffic.as_ref().map(|t| t.counts.requests),
            errors: s.traffic.as_ref().map(|t| t.counts.errors),
            p95_ms: s.traffic.as_ref().and_then(|t| t.p95_ms).map(f64::from),
            dyno_hours: s.dyno_hours,
            dyno_hours_schedule: s.dyno_hours_schedule,
            dyno_hours_max: s.dyno_hours_max,
            scale_events: Some(s.scale_events as u64),
            alerts: Some(s.alerts as u64),
            notes: all_notes,
        },
    }
}

/// Reads text (the demo's own log) and draws its SVG: every target, or `options.target`.
pub fn chart(input: &str, options: &Options) -> Result<(String, Vec<Summary>), ChartError> {
    let mut reader = Reader::new();
    reader.read_text(input);
    let target = options
        .target
        .as_ref()
        .map(|(a, p)| (a.as_str(), p.as_str()));
    let dataset = reader.finish(&Hints {
        target,
        configured: &[],
    });
    if dataset.is_empty() {
        return Err(ChartError::Empty {
            skipped: dataset.lines.garbage + dataset.lines.other,
        });
    }
    svg(&dataset, options)
}

/// The configured targets `chart` and `suggest` fill in settings from: the file's, or the one
/// the variables describe when any of its settings is set (none otherwise). See
/// [`configured_always`].
pub fn configured(
    raw: &Raw,
    env: &Env,
    target: Option<&(String, String)>,
) -> Result<(Vec<Target>, bool), crate::config::ConfigError> {
    let file = !matches!(
        crate::config::file::Source::resolve(raw)?,
        crate::config::file::Source::Environment
    );
    let any_setting = field::FIELDS
        .iter()
        .filter(|f| f.commands & field::cmd::INSIGHT != 0 && f.key.is_some())
        .any(|f| raw.get(f.var).is_some());
    if !file && !any_setting && env.heroku_app_name.is_none() {
        return Ok((Vec::new(), false));
    }
    configured_always(raw, env, target)
}

/// The configured targets, always at least the one the variables describe (`replay` runs
/// settings, so it needs some). Without a file, `--target APP/PROCESS` names that target. With
/// no app named anywhere (AUTOSCALE_APP, HEROKU_APP_NAME, `--target`, a file) the target is
/// named `app` and `true` says it still takes the input's one target's name.
pub fn configured_always(
    raw: &Raw,
    env: &Env,
    target: Option<&(String, String)>,
) -> Result<(Vec<Target>, bool), crate::config::ConfigError> {
    use crate::config::file::Source;
    let file = !matches!(Source::resolve(raw)?, Source::Environment);
    let named = raw.get(field::APP).is_some() || env.heroku_app_name.is_some() || target.is_some();
    let env = Env {
        heroku_app_name: env
            .heroku_app_name
            .clone()
            .or_else(|| target.map(|t| t.0.clone()))
            .or_else(|| Some("app".to_owned())),
        ..env.clone()
    };
    let mut targets = crate::config::targets(raw, &env)?.all;
    if let (Some((app, process)), false) = (target, file) {
        for t in &mut targets {
            t.app = app.clone();
            t.process = process.clone();
        }
    }
    Ok((targets, !file && !named))
}

/// The history `chart`, `suggest` and `replay` read: where, and how far back.
#[derive(Debug, Clone)]
pub struct HistorySource {
    pub url: StoreUrl,
    /// Rows from here to now are read.
    pub since: DateTime<Utc>,
    /// Asked for (`--history` or AUTOSCALE_HISTORY): read besides any `--input`, and a failure
    /// is an error. Otherwise it is the default store, read only when there is nothing else
    /// to read (no `--input`, nothing piped in).
    pub explicit: bool,
}

/// The history to read, if any: `--history`/AUTOSCALE_HISTORY when set (`off`: none), else the
/// store the daemon would use by default (DATABASE_URL, or the local SQLite file when it
/// exists).
pub fn history_source(
    raw: &Raw,
    env: &Env,
    since: DateTime<Utc>,
) -> Result<Option<HistorySource>, crate::config::ConfigError> {
    let explicit = raw
        .get(field::HISTORY)
        .is_some_and(|v| !v.trim().is_empty());
    let url = match crate::config::history(raw, env)?.store {
        HistorySetting::Off { .. } => return Ok(None),
        HistorySetting::On(url) => url,
    };
    if let (StoreUrl::Sqlite(path), false) = (&url, explicit) {
        if !path.exists() {
            return Ok(None);
        }
    }
    Ok(Some(HistorySource {
        url,
        since,
        explicit,
    }))
}

/// Which targets to read from the history: `wanted` (`--target`), else the configured ones,
/// else every target the store has.
pub async fn history_targets(
    source: &HistorySource,
    wanted: Option<&(String, String)>,
    configured: &[Target],
) -> Result<Vec<(String, String)>, StoreError> {
    if let Some(wanted) = wanted {
        return Ok(vec![wanted.clone()]);
    }
    if !configured.is_empty() {
        return Ok(configured
            .iter()
            .map(|t| (t.app.clone(), t.process.clone()))
            .collect());
    }
    crate::history::targets(&source.url).await
}

/// Reads `targets`' rows from `source.since` to `until` into `reader`; returns the rows read.
pub async fn load_history(
    reader: &mut Reader,
    source: &HistorySource,
    targets: &[(String, String)],
    until: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut rows = 0;
    for (app, process) in targets {
        let data =
            crate::history::read(&source.url, app, Some(process), source.since, until).await?;
        rows += data.len();
        reader.read_history(data);
    }
    Ok(rows)
}

/// What `autoscale chart` was asked.
#[derive(Debug, Clone)]
pub struct Command {
    /// Files to read, in order; none: standard input (unless the history is read instead).
    pub inputs: Vec<PathBuf>,
    /// The history to read (see [`HistorySource::explicit`]).
    pub history: Option<HistorySource>,
    pub output: PathBuf,
    pub options: Options,
    /// From the configuration (see [`configured`]).
    pub configured: Vec<Target>,
    /// The configured target still needs the input's app for a name.
    pub unnamed_configuration: bool,
}

/// Runs `chart`: reads the inputs, writes the output, prints each target's summary; returns the
/// exit code (0, 1 when the output cannot be written, 2 for a usage error or nothing to chart).
pub fn run(command: &Command) -> u8 {
    let Some(format) = Format::of(&command.output) else {
        crate::say_err!(
            "error: --output {}: the file must end in .svg (a static image) or .html (an interactive page); example: --output week.html",
            command.output.display()
        );
        return 2;
    };
    if let Err(e) = crate::output::writable(&command.output) {
        crate::say_err!(
            "error: --output {}: cannot write there ({e}); example: --output week.svg",
            command.output.display()
        );
        return 2;
    }
    let target = command
        .options
        .target
        .as_ref()
        .map(|(a, p)| (a.as_str(), p.as_str()));
    let dataset = match load(
        &command.inputs,
        command.history.as_ref(),
        target,
        &command.configured,
        command.unnamed_configuration,
    ) {
        Ok(dataset) => dataset,
        Err((code, e)) => {
            crate::say_err!("error: {e}");
            return code;
        }
    };
    let lines = dataset.lines;
    if dataset.is_empty() {
        let e = ChartError::Empty {
            skipped: lines.garbage + lines.other,
        };
        crate::say_err!("error: {e}; example: {EXAMPLE}");
        return 2;
    }
    let drawn = match format {
        Format::Svg => svg(&dataset, &command.options),
        Format::Html => html(&dataset, &command.options, Utc::now()),
    };
    let (text, summaries) = match drawn {
        Ok(drawn) => drawn,
        Err(e) => {
            crate::say_err!("error: {e}; example: autoscale chart --target APP/web");
            return 2;
        }
    };
    if let Err(e) = std::fs::write(&command.output, text) {
        crate::say_err!("error: cannot write {}: {e}", command.output.display());
        return 1;
    }
    for summary in &summaries {
        crate::say!("{summary}");
        crate::say!();
    }
    crate::say!(
        "read: {} router lines, {} event=traffic lines, {} autoscale event lines, {} history rows; skipped lines: {} garbage, {} unrelated",
        lines.router, lines.traffic, lines.daemon, lines.history, lines.garbage, lines.other
    );
    crate::say!("chart written to {}", command.output.display());
    0
}

/// Reads the inputs into a [`Dataset`], the way `chart`, `suggest` and `replay` all read them:
/// the history (one asked for always; the default store only when nothing else is given), the
/// files in order, or standard input when there are neither. `target` keeps only that target
/// (and gives it the router lines), `configured` fills in settings (`unnamed`: the configured
/// target still needs the input's app). Warnings and notes go to standard error; `Err` is the
/// exit code (1: the history could not be read; 2: nothing to read or a file could not) and a
/// one-line reason.
pub fn load(
    inputs: &[PathBuf],
    history: Option<&HistorySource>,
    target: Option<(&str, &str)>,
    configured: &[Target],
    unnamed: bool,
) -> Result<Dataset, (u8, String)> {
    use std::io::IsTerminal as _;
    let terminal = std::io::stdin().is_terminal();
    let history = history.filter(|h| h.explicit || (inputs.is_empty() && terminal));
    let stdin = inputs.is_empty() && history.is_none();
    if stdin && terminal {
        return Err((2, format!("nothing to read: pipe logs in, name files with --input, or read the daemon's history with --history; example: {EXAMPLE} (or --input drain.log --input router.log.gz, or --history sqlite://autoscale-history.sqlite --since 7d)")));
    }
    let mut reader = Reader::new();
    if let Some(source) = history {
        let wanted = target.map(|(a, p)| (a.to_owned(), p.to_owned()));
        let configured = if unnamed { &[] } else { configured };
        match read_history(&mut reader, source, wanted.as_ref(), configured) {
            Ok(rows) => crate::say_err!(
                "note: read {rows} row(s) of history from {} since {}",
                source.url,
                source.since.format("%Y-%m-%d %H:%M UTC")
            ),
            Err(e) => return Err((1, format!("cannot read the history: {}", e.message))),
        }
    }
    let read = if stdin {
        reader.read_stdin()
    } else {
        inputs.iter().try_for_each(|path| reader.read_path(path))
    };
    if let Err(e) = read {
        return Err((2, format!("cannot read {e}")));
    }
    let hints = Hints {
        target,
        configured: if unnamed { &[] } else { configured },
    };
    let mut dataset = reader.finish(&hints);
    if unnamed {
        name_configuration(&mut dataset, configured);
    }
    let lines = dataset.lines;
    if lines.garbage > 0 {
        crate::say_err!(
            "warning: {} line(s) were not autoscale event lines, router lines or Logplex frames (or had values out of range) and were skipped",
            lines.garbage
        );
    }
    if lines.unattributed > 0 {
        crate::say_err!(
            "warning: {} router request(s) were not charted: no app to give them to",
            lines.unattributed
        );
    }
    for note in dataset.notes() {
        crate::say_err!("note: {note}");
    }
    Ok(dataset)
}

/// The history part of [`load`], on a runtime of its own (the rest of reading is synchronous).
fn read_history(
    reader: &mut Reader,
    source: &HistorySource,
    wanted: Option<&(String, String)>,
    configured: &[Target],
) -> Result<usize, StoreError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StoreError {
            kind: "runtime",
            message: e.to_string(),
        })?;
    runtime.block_on(async {
        let targets = history_targets(source, wanted, configured).await?;
        load_history(reader, source, &targets, Utc::now()).await
    })
}

/// A configuration without an app name is the input's one target's (else it is not used).
fn name_configuration(dataset: &mut Dataset, configured: &[Target]) {
    let [target] = configured else { return };
    let named: Vec<(String, String)> = dataset
        .targets()
        .iter()
        .filter(|t| t.has_data())
        .map(|t| (t.app.clone(), t.process.clone()))
        .collect();
    match named.as_slice() {
        [(app, process)] => {
            let mut target = target.clone();
            target.app = app.clone();
            target.process = process.clone();
            dataset.configure(&[target]);
        }
        _ => dataset.note(
            "the settings given (no AUTOSCALE_APP) were not used: the input has several targets; name one with --target APP/PROCESS",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::read::tests::{read, ts, RAW};

    #[test]
    fn outputs_are_told_by_their_extension() {
        assert_eq!(Format::of(Path::new("week.svg")), Some(Format::Svg));
        assert_eq!(Format::of(Path::new("out/WEEK.SVG")), Some(Format::Svg));
        assert_eq!(Format::of(Path::new("week.html")), Some(Format::Html));
        assert_eq!(Format::of(Path::new("week.htm")), Some(Format::Html));
        for other in ["week.png", "week", "svg", ".svg.txt"] {
            assert_eq!(Format::of(Path::new(other)), None, "{other}");
        }
    }

    #[test]
    fn nothing_to_chart() {
        for input in [
            "",
            "\n\n",
            "hello\nworld\n",
            "2026-11-30T06:00:00+00:00 heroku[router]: at=info\n",
        ] {
            let err = chart(input, &Options::default()).unwrap_err();
            assert!(matches!(err, ChartError::Empty { .. }), "{input:?}: {err}");
        }
        let err = chart("hello\nworld\n", &Options::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "nothing to chart: no router lines, no event=traffic lines and no autoscale event lines in the input (2 lines skipped)"
        );
        let options = Options {
            title: None,
            target: Some(("blog".into(), "web".into())),
            ..Options::default()
        };
        let d = read(RAW, &Hints::default());
        assert_eq!(
            svg(&d, &options).unwrap_err(),
            ChartError::NoSuchTarget {
                wanted: "blog/web".into(),
                known: "shop/web".into()
            }
        );
        assert_eq!(known(&Dataset::new()), "no target at all");
        assert_eq!(
            svg(&Dataset::new(), &Options::default()).unwrap_err(),
            ChartError::Empty { skipped: 0 }
        );
    }

    fn two_targets() -> Dataset {
        let named = RAW.replace(" event=", " app=shop process=web event=");
        let text = format!(
            "{named}ts=2026-11-30T07:00:00.000Z level=info event=start app=api process=web tz=Europe/Berlin schedule=\"00:00=2\" concurrency=4\n\
             ts=2026-11-30T07:01:00.000Z level=info event=traffic app=api process=web minute=2026-11-30T07:00:00Z requests=10 p50_ms=5 p95_ms=9 p99_ms=9 errors=0 h10=0 h12=0 h13=0 busy=0.50 dynos=2 s2xx=10 s3xx=0 s4xx=0 s5xx=0\n\
             ts=2026-11-30T07:02:00.000Z level=info event=probe app=api process=web source=traffic latency_ms=9 outcome=fast current=2\n"
        );
        read(&text, &Hints::default())
    }

    #[test]
    fn the_report_has_one_section_per_target() {
        let d = two_targets();
        let at = ts("2026-12-01T00:00:00Z");
        let (data, summaries) = report_data(&d, &Options::default(), at).unwrap();
        assert_eq!(data.title, "autoscale: 2 targets");
        assert_eq!(data.generated_at, at);
        assert_eq!(data.zone.name, "UTC", "the first target's zone");
        assert_eq!(summaries.len(), 2);
        let (shop, api) = (&data.targets[0], &data.targets[1]);
        assert_eq!((shop.app.as_str(), api.app.as_str()), ("shop", "api"));
        assert!(shop.heatmap.is_none() && shop.minutes.is_empty());
        let heat = api.heatmap.as_ref().unwrap();
        assert_eq!(heat.requests[0][7], 10, "Monday 07:00 UTC");
        assert_eq!(api.minutes[0].dynos, Some(2));
        assert_eq!((api.concurrency, api.max), (Some(4), None));
        assert_eq!((shop.slow_ms, shop.max), (Some(5000.0), Some(3)));
        assert_eq!(shop.probes.len(), 6);
        assert!(
            api.probes.is_empty(),
            "checks judged from traffic are not health checks"
        );
        assert_eq!(shop.scales.len(), 3);
        assert_eq!(shop.scales[0].result.as_deref(), Some("ok"));
        assert_eq!(shop.alerts[0].message, "sent by webhook");
        assert!(api.alerts.is_empty());
        assert_eq!(shop.quantity.len(), 4);
        assert_eq!(shop.floor[0].quantity, 1);
        assert_eq!(api.floor[0].quantity, 2);
        let notes = &shop.summary.notes;
        assert!(
            notes.iter().any(|n| n
                .contains("times are shown in UTC; the schedule of api/web is in Europe/Berlin")),
            "{notes:?}"
        );
        assert!(
            notes
                .iter()
                .any(|n| n
                    .starts_with("the schedule's peak of 3 all the time: 6.0 dyno-hours, saving")),
            "{notes:?}"
        );
        assert!(
            !api.summary
                .notes
                .iter()
                .any(|n| n.contains("times are shown")),
            "dataset notes once"
        );
        assert_eq!(shop.summary.requests, None);
        assert_eq!(
            (api.summary.requests, api.summary.p95_ms),
            (Some(10), Some(9.0))
        );
        assert_eq!(shop.summary.scale_events, Some(3));

        let one = Options {
            title: None,
            target: Some(("api".into(), "web".into())),
            ..Options::default()
        };
        let (data, _) = report_data(&d, &one, at).unwrap();
        assert_eq!(data.title, "autoscale: api/web");
        assert_eq!(data.zone.name, "Europe/Berlin");
        let html = html(&d, &one, at).unwrap().0;
        assert!(html.starts_with("<!DOCTYPE html>") && html.contains("autoscale: api/web"));
        let titled = Options {
            title: Some("Shop".into()),
            ..Options::default()
        };
        assert_eq!(report_data(&d, &titled, at).unwrap().0.title, "Shop");
    }

    #[test]
    fn the_svg_stacks_the_targets_and_notes_the_zones() {
        let d = two_targets();
        let (svg, summaries) = svg(&d, &Options::default()).unwrap();
        assert_eq!(summaries.len(), 2);
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let targets: Vec<&str> = doc
            .descendants()
            .filter_map(|n| n.attribute("data-target"))
            .collect();
        assert_eq!(targets, ["shop/web", "api/web"]);
        assert!(svg
            .contains("note: times are shown in UTC; the schedule of api/web is in Europe/Berlin"));
    }

    #[test]
    fn the_configuration_is_used_when_it_says_something() {
        let env = Env::default();
        let none = configured(&Raw::default(), &env, None).unwrap();
        assert!(none.0.is_empty() && !none.1);
        let named = configured(&Raw::from_pairs([("AUTOSCALE_APP", "shop")]), &env, None).unwrap();
        assert_eq!((named.0[0].app.as_str(), named.1), ("shop", false));
        let unnamed = configured(
            &Raw::from_pairs([("AUTOSCALE_SCHEDULE", "00:00=4")]),
            &env,
            None,
        )
        .unwrap();
        assert_eq!((unnamed.0[0].app.as_str(), unnamed.1), ("app", true));
        let target = ("blog".to_owned(), "web".to_owned());
        let by_target = configured(
            &Raw::from_pairs([("AUTOSCALE_SCHEDULE", "00:00=4")]),
            &env,
            Some(&target),
        )
        .unwrap();
        assert_eq!((by_target.0[0].app.as_str(), by_target.1), ("blog", false));
        let on_a_dyno = Env {
            heroku_app_name: Some("dyno-app".into()),
            ..Env::default()
        };
        let dyno = configured(&Raw::default(), &on_a_dyno, None).unwrap();
        assert_eq!((dyno.0[0].app.as_str(), dyno.1), ("dyno-app", false));
        let bad = configured(
            &Raw::from_pairs([("AUTOSCALE_TZ", "Mars/Base")]),
            &env,
            None,
        );
        assert!(bad.is_err());
        let file = Raw::from_pairs([(
            "AUTOSCALE_CONFIG",
            "[[target]]\napp = \"shop\"\nschedule = \"00:00=2\"\n[[target]]\napp = \"shop\"\nprocess = \"worker\"\n",
        )]);
        let (targets, unnamed) = configured(&file, &env, None).unwrap();
        assert_eq!((targets.len(), unnamed), (2, false));
    }

    #[test]
    fn a_configuration_without_an_app_is_the_inputs_one_target() {
        let (configured, _) = configured(
            &Raw::from_pairs([("AUTOSCALE_TZ", "Europe/Berlin")]),
            &Env::default(),
            None,
        )
        .unwrap();
        let mut d = read(
            "ts=2026-11-30T06:00:00.000Z level=info event=probe app=shop process=web outcome=ok\n",
            &Hints::default(),
        );
        name_configuration(&mut d, &configured);
        assert_eq!(d.targets()[0].zone(), chrono_tz::Europe::Berlin);
        let mut d = two_targets();
        name_configuration(&mut d, &configured);
        assert_eq!(d.targets()[0].zone(), chrono_tz::UTC);
        assert!(d
            .notes()
            .last()
            .unwrap()
            .contains("were not used: the input has several targets"));
    }
}
