//! `autoscale suggest` as a command: which target, which settings, which inputs; the pure work is
//! [`super::suggest`].
//!
//! The settings of the target come from two places: what the daemon ran with (its `start` lines in
//! the input) and what the user gives now (variables, flags, the configuration file). A setting
//! given now wins — that is the question being asked ("with concurrency 8, what schedule?") — and
//! the recorded one fills in the rest, so `suggest` on a day of the daemon's own logs needs no
//! settings at all when the daemon ran with `AUTOSCALE_CONCURRENCY`.

use std::path::PathBuf;
use std::time::Duration;

use chrono_tz::Tz;

use crate::calendar::Calendar;
use crate::chart::dataset::{Dataset, Settings, TargetData};
use crate::config::Target;
use crate::schedule::Schedule;

use super::suggest::{self, Options};

/// Which of the target's settings the user gave now (they win over the recorded ones).
#[derive(Debug, Clone, Copy, Default)]
pub struct Given {
    pub schedule: bool,
    pub tz: bool,
    pub concurrency: bool,
    pub utilization: bool,
    pub max: bool,
}

impl Given {
    /// Everything, as a configuration file gives it.
    pub fn all() -> Given {
        Given {
            schedule: true,
            tz: true,
            concurrency: true,
            utilization: true,
            max: true,
        }
    }
}

/// What `autoscale suggest` was asked.
#[derive(Debug, Clone)]
pub struct SuggestCommand {
    pub inputs: Vec<PathBuf>,
    /// The daemon's history, read as `chart` reads it.
    pub history: Option<crate::chart::HistorySource>,
    pub target: Option<(String, String)>,
    pub configured: Vec<Target>,
    pub unnamed_configuration: bool,
    pub given: Given,
    /// The suggestion's own options; `concurrency`, `utilization` and `max` are filled in from
    /// the target's settings unless given.
    pub headroom: f64,
    pub lead: Duration,
    pub lag: Duration,
    pub simplify: f64,
    pub min: u32,
    pub price: Option<f64>,
    pub json: bool,
    /// Print the `[[target]]` block of the configuration file instead of the variables.
    pub toml: bool,
}

/// The settings a suggestion is made with, and where each came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub concurrency: u32,
    pub utilization: f64,
    pub max: Option<u32>,
    pub tz: Tz,
    /// The current schedule with its holidays (the configured target's, when known).
    pub current: Option<Calendar>,
}

/// Resolves the settings of `target`: a given setting (in `configured`) wins, then the latest
/// `start` line, then the configuration's default. `Err` when no concurrency is known.
pub fn resolve(target: &TargetData, given: Given) -> Result<Resolved, String> {
    let recorded: Option<&Settings> = target.starts.last();
    let configured: Option<&Settings> = target.configured.as_ref();
    let pick = |wanted: bool| -> [Option<&Settings>; 2] {
        if wanted {
            [configured, recorded]
        } else {
            [recorded, configured]
        }
    };
    let concurrency = pick(given.concurrency)
        .into_iter()
        .flatten()
        .find_map(|s| s.concurrency)
        // A worker on its queue: the concurrency its minutes were read at.
        .or_else(|| target.queue_minutes().next_back().map(|q| q.concurrency))
        .ok_or_else(|| {
            format!(
                "{}: suggest needs the requests one dyno serves at once, and neither the input's start lines nor the settings say it; example: --concurrency 8 (AUTOSCALE_CONCURRENCY=8)",
                target.name()
            )
        })?;
    let utilization = pick(given.utilization)
        .into_iter()
        .flatten()
        .find_map(|s| s.utilization)
        .unwrap_or(0.7);
    let schedule = pick(given.schedule)
        .into_iter()
        .flatten()
        .find_map(|s| s.schedule.clone());
    let tz = pick(given.tz)
        .into_iter()
        .flatten()
        .find_map(|s| s.tz.or_else(|| s.schedule.as_ref().map(|s| s.tz())))
        .unwrap_or(chrono_tz::UTC);
    // The current schedule is read in the zone the suggestion is made in.
    // Its floors are the calendar's (holidays included), the one floor the daemon runs.
    let holidays = configured.and_then(|s| s.calendar.as_ref());
    let current = schedule
        .and_then(|s| Schedule::parse(&s.to_string(), tz).ok())
        .map(|s| {
            let normal = std::sync::Arc::new(s);
            holidays.map_or_else(
                || Calendar::without_holidays(normal.clone()),
                |c| c.with_normal(normal.clone()),
            )
        });
    // A max limits the suggestion only when given now: the recorded one is the current
    // schedule's peak by default, which the traffic may well need more than.
    let max = if given.max {
        configured.and_then(|s| s.max)
    } else {
        None
    };
    Ok(Resolved {
        concurrency,
        utilization,
        max,
        tz,
        current,
    })
}

/// A worker's queue minutes as the minutes `suggest` reads: each one's `busy` the job slots it
/// needed ([`crate::queue::recorded::slot_demand`]), and a line saying how they were counted.
fn queue_demand(target: &TargetData) -> (Vec<crate::traffic::minute::Minute>, Option<String>) {
    let minutes: Vec<crate::chart::dataset::QueueMinute> =
        target.queue_minutes().copied().collect();
    let latency = target
        .settings()
        .and_then(|s| s.queue_latency_ms)
        .unwrap_or(30_000.0);
    let w = std::time::Duration::from_secs_f64(latency / 1000.0);
    let (demand, service) = crate::queue::recorded::slot_demand(&minutes, w);
    let how = match service {
        Some(s) => format!(
            "from its job queue: a minute needs the jobs running plus the waiting ones' work spread over the {} s target (jobs of {s:.2} s on average)",
            w.as_secs_f64()
        ),
        None => "from its job queue: a minute needs the jobs running (its store counts no job done, so the waiting ones' work is not known)".to_owned(),
    };
    let minutes = demand
        .into_iter()
        .map(|(minute, busy)| crate::traffic::minute::Minute {
            app: target.app.clone(),
            process: target.process.clone(),
            minute,
            requests: 0,
            p50_ms: None,
            p95_ms: None,
            p99_ms: None,
            errors: 0,
            h10: 0,
            h12: 0,
            h13: 0,
            s2xx: 0,
            s3xx: 0,
            s4xx: 0,
            s5xx: 0,
            busy: (busy * 100.0).round() / 100.0,
            dynos: 0,
        })
        .collect();
    (minutes, Some(how))
}

/// The one target to suggest for: `--target`, else the only one with traffic.
pub fn choose<'a>(
    dataset: &'a Dataset,
    target: Option<&(String, String)>,
) -> Result<&'a TargetData, String> {
    let with_traffic: Vec<&TargetData> = dataset
        .targets()
        .iter()
        .filter(|t| t.minute_count() > 0 || t.queue_minute_count() > 0)
        .collect();
    if let Some((app, process)) = target {
        return match dataset.target(app, process) {
            Some(t) if t.minute_count() > 0 || t.queue_minute_count() > 0 => Ok(t),
            _ => Err(format!(
                "--target {app}/{process}: no traffic for it in the input ({}); example: --target {}",
                names(&with_traffic),
                with_traffic
                    .first()
                    .map_or("shop/web".to_owned(), |t| t.name())
            )),
        };
    }
    match with_traffic.as_slice() {
        [] => Err("no traffic in the input: suggest reads router lines (heroku logs, Logplex frames, .gz), event=traffic lines or a worker's event=queue lines; example: heroku logs -n 1500 --source heroku --dyno router | autoscale suggest --concurrency 8".to_owned()),
        [one] => Ok(one),
        several => Err(format!(
            "the input has traffic for several targets ({}): name one; example: --target {}",
            names(several),
            several[0].name()
        )),
    }
}

fn names(targets: &[&TargetData]) -> String {
    if targets.is_empty() {
        return "none has traffic".to_owned();
    }
    targets
        .iter()
        .map(|t| t.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `suggest`; returns the exit code (0; 1 when the history cannot be read; 2 for a usage
/// error, too little traffic or no concurrency).
pub fn run(command: &SuggestCommand) -> u8 {
    let target = command
        .target
        .as_ref()
        .map(|(a, p)| (a.as_str(), p.as_str()));
    let dataset = match crate::chart::load(
        &command.inputs,
        command.history.as_ref(),
        target,
        &command.configured,
        command.unnamed_configuration,
    ) {
        Ok(d) => d,
        Err((code, e)) => {
            crate::say_err!("error: {e}");
            return code;
        }
    };
    match suggest_for(&dataset, command) {
        Ok(out) => {
            crate::say_raw!("{out}");
            0
        }
        Err(e) => {
            crate::say_err!("error: {e}");
            2
        }
    }
}

/// The text (or JSON) `suggest` prints for `dataset`.
pub fn suggest_for(dataset: &Dataset, command: &SuggestCommand) -> Result<String, String> {
    let target = choose(dataset, command.target.as_ref())?;
    let resolved = resolve(target, command.given)?;
    let options = Options {
        concurrency: resolved.concurrency,
        utilization: resolved.utilization,
        headroom: command.headroom,
        lead: command.lead,
        lag: command.lag,
        simplify: command.simplify,
        min: command.min,
        max: resolved.max,
        price: command.price,
    };
    let (minutes, from_queue) = if target.minute_count() > 0 {
        (target.minute_list(), None)
    } else {
        queue_demand(target)
    };
    let mut suggestion =
        suggest::suggest(&minutes, resolved.tz, resolved.current.as_ref(), &options)
            .map_err(|e| format!("{}: {e}", target.name()))?;
    if from_queue.is_some() {
        suggestion.busy_of = "job slots";
    }
    if command.json {
        let mut value = suggest::render_json(&suggestion);
        if let Some(map) = value.as_object_mut() {
            map.insert("app".into(), target.app.clone().into());
            map.insert("process".into(), target.process.clone().into());
            if let Some(how) = &from_queue {
                map.insert("from_queue".into(), how.clone().into());
            }
        }
        return Ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        ));
    }
    let mut out = format!("{}: ", target.name());
    if let Some(how) = from_queue {
        out.push_str(&how);
        out.push('\n');
    }
    if command.toml {
        out.push_str("as a target of the configuration file:\n\n");
        out.push_str(&suggestion.toml(&target.app, &target.process));
        out.push('\n');
    }
    out.push_str(&suggest::render_text(&suggestion));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::read::{Hints, Reader};
    use crate::traffic::fixture::Fixture;

    fn fixture_log(days: u32) -> String {
        let start: chrono::DateTime<chrono::Utc> = "2026-11-23T00:00:00Z".parse().unwrap();
        let fixture = Fixture {
            days,
            scale: 6.0,
            ..Fixture::new(start, 7, chrono_tz::Europe::Berlin)
        };
        let mut out = Vec::new();
        fixture.write_traffic(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn dataset(text: &str) -> Dataset {
        let mut reader = Reader::new();
        reader.read_text(text);
        reader.finish(&Hints::default())
    }

    fn command() -> SuggestCommand {
        SuggestCommand {
            inputs: vec![],
            history: None,
            target: None,
            configured: vec![],
            unnamed_configuration: false,
            given: Given::default(),
            headroom: 0.0,
            lead: Duration::from_secs(900),
            lag: Duration::from_secs(1800),
            simplify: 0.1,
            min: 1,
            price: None,
            json: false,
            toml: false,
        }
    }

    fn start_line(concurrency: &str) -> String {
        format!("ts=2026-11-23T00:00:00.000Z level=info event=start app=shop process=web schedule=\"07:00=3; 22:00=1\" tz=Europe/Berlin max=6 concurrency={concurrency} utilization=0.5\n")
    }

    #[test]
    fn the_recorded_settings_are_enough() {
        let text = format!("{}{}", start_line("4"), fixture_log(7));
        let d = dataset(&text);
        let t = choose(&d, None).unwrap();
        let r = resolve(t, Given::default()).unwrap();
        assert_eq!((r.concurrency, r.utilization), (4, 0.5));
        assert_eq!(r.tz, chrono_tz::Europe::Berlin);
        assert_eq!(r.max, None, "a recorded max does not limit");
        assert_eq!(
            r.current.unwrap().normal_schedule().to_string(),
            "07:00=3; 22:00=1"
        );
        let out = suggest_for(&d, &command()).unwrap();
        assert!(out.starts_with("shop/web: suggested from 7 days"), "{out}");
        assert!(out.contains("AUTOSCALE_SCHEDULE=\""), "{out}");
        assert!(out.contains("with the current schedule"), "{out}");
    }

    #[test]
    fn a_setting_given_now_wins() {
        let text = format!("{}{}", start_line("4"), fixture_log(2));
        let mut d = dataset(&text);
        let raw = crate::config::Raw::from_pairs([
            ("AUTOSCALE_APP", "shop"),
            ("AUTOSCALE_CONCURRENCY", "40"),
            ("AUTOSCALE_MAX", "9"),
        ]);
        let targets = crate::config::targets(&raw, &crate::config::Env::default()).unwrap();
        d.configure(&targets.all);
        let t = choose(&d, None).unwrap();
        let given = Given {
            concurrency: true,
            max: true,
            ..Given::default()
        };
        let r = resolve(t, given).unwrap();
        assert_eq!(r.concurrency, 40);
        assert_eq!(r.utilization, 0.5, "not given: recorded");
        assert_eq!(r.max, Some(9));
        let r = resolve(t, Given::default()).unwrap();
        assert_eq!(r.concurrency, 4);
        let json = suggest_for(
            &d,
            &SuggestCommand {
                json: true,
                given,
                ..command()
            },
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["app"], "shop");
        assert_eq!(v["options"]["concurrency"], 40);
        assert!(
            !v["warnings"].as_array().unwrap().is_empty(),
            "under 7 days"
        );
    }

    #[test]
    fn without_concurrency_or_traffic_it_says_what_is_missing() {
        let d = dataset(&fixture_log(2));
        let e = suggest_for(&d, &command()).unwrap_err();
        assert!(e.contains("--concurrency 8"), "{e}");
        let d = dataset("hello\n");
        let e = suggest_for(&d, &command()).unwrap_err();
        assert!(e.starts_with("no traffic in the input"), "{e}");
        let d = dataset(&format!("{}{}", start_line("4"), fixture_log(2)));
        let e = suggest_for(
            &d,
            &SuggestCommand {
                target: Some(("blog".into(), "web".into())),
                ..command()
            },
        )
        .unwrap_err();
        assert!(
            e.contains("--target blog/web: no traffic") && e.contains("shop/web"),
            "{e}"
        );
        let short = format!("{}{}", start_line("4"), &fixture_log(1)[..2000]);
        let e = suggest_for(&dataset(&short), &command()).unwrap_err();
        assert!(
            e.starts_with("shop/web: suggest needs at least a day"),
            "{e}"
        );
    }

    #[test]
    fn toml_names_the_target() {
        let d = dataset(&format!("{}{}", start_line("4"), fixture_log(2)));
        let out = suggest_for(
            &d,
            &SuggestCommand {
                toml: true,
                ..command()
            },
        )
        .unwrap();
        assert!(
            out.contains("[[target]]\napp = \"shop\"\nprocess = \"web\"\nschedule = \""),
            "{out}"
        );
    }
}
