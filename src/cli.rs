//! The command line: subcommands, `.env`, exit codes (0 ok, 1 failure, 2 configuration error).
//!
//! Each subcommand takes (and its `--help` shows) only its own options: the daemon's settings,
//! built from the one table in [`crate::config::field`], belong to `run`, `check` and `plan`;
//! `demo` takes only its own two.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::config::field::{self, cmd, FIELDS};
use crate::config::{unknown_variables, ConfigError, Env, Raw};
use crate::event::Event;

const ABOUT: &str = "Keeps Heroku apps at the right number of dynos: a schedule, plus a fail-safe that scales out when an app is down or slow.";
const AFTER: &str = "Every setting is also an environment variable (Heroku config var); a .env file in the working directory is read when present. See README.md.";

/// The settings of the table that `bit` takes, as arguments.
fn settings(bit: u8) -> Vec<Arg> {
    FIELDS
        .iter()
        .filter(|f| f.commands & bit != 0)
        .map(|f| {
            let arg = Arg::new(f.var)
                .long(f.flag)
                .env(f.var)
                // URL settings may carry credentials: no value from the environment is shown.
                .hide_env_values(true)
                .value_name("VALUE")
                .help_heading(field::heading(f.var))
                .help(f.help);
            if f.var == crate::config::field::DRY_RUN {
                arg.num_args(0..=1)
                    .require_equals(true)
                    .default_missing_value("true")
            } else {
                arg
            }
        })
        .collect()
}

fn target_arg() -> Arg {
    Arg::new("target")
        .long("target")
        .value_name("APP/PROCESS")
        .help("Only this target (e.g. shop/web)")
}

/// `--since DURATION`: how far back the history is read (`--history` itself is in the settings
/// table). For `chart`, `suggest` and `replay`.
pub fn history_args() -> Vec<Arg> {
    vec![Arg::new("since")
        .long("since")
        .value_name("DURATION")
        .default_value("7d")
        .help("How far back the history is read (humantime: 1h, 7d, 2weeks)")]
}

/// The history a reader subcommand reads (see [`crate::chart::history_source`]), from
/// `--history`/AUTOSCALE_HISTORY and `--since`; a bad value is a usage error (exit 2).
pub fn history_source(
    m: &ArgMatches,
    env: &Env,
) -> Result<Option<crate::chart::HistorySource>, ExitCode> {
    let text = m.get_one::<String>("since").expect("a default");
    let max_days = u64::from(crate::history::settings::MAX_DAYS);
    let since = match humantime::parse_duration(text.trim()) {
        Ok(d) if !d.is_zero() && d.as_secs() <= max_days * 86_400 => d,
        _ => {
            return Err(usage_error(
                "--since",
                text,
                &format!("not a duration from 1s to {max_days} days"),
                "--since 7d",
            ))
        }
    };
    let since = Utc::now() - chrono::Duration::from_std(since).expect("at most ten years");
    crate::chart::history_source(&raw(m), env, since).map_err(|e| config_error(&e))
}

/// The command line.
pub fn command() -> Command {
    Command::new("autoscale")
        .version(env!("CARGO_PKG_VERSION"))
        .about(ABOUT)
        .after_help(AFTER)
        .args(settings(cmd::RUN))
        .subcommand(
            Command::new("run")
                .about("Run the daemon (the default): schedule edges and health checks until SIGTERM.")
                .args(settings(cmd::RUN)),
        )
        .subcommand(
            Command::new("plan")
                .about("Show each target's scheduled quantity, its next edges and the dyno-hours saved. No token needed.")
                .args(settings(cmd::PLAN))
                .arg(Arg::new("at").long("at").value_name("RFC3339").help("The instant to plan at [default: now]"))
                .arg(Arg::new("next").long("next").value_name("N").default_value("6").help("How many edges to list (1-1000)"))
                .arg(Arg::new("json").long("json").action(ArgAction::SetTrue).help("Print JSON instead of text"))
                .arg(Arg::new("price").long("price").value_name("PRICE").help("Price of one dyno-hour (e.g. 0.0347 for a $25/month Standard-1X), to show the cost"))
                .arg(target_arg()),
        )
        .subcommand(
            Command::new("check")
                .about("Validate the configuration, the token, each app, formation and check URL, and the alert channels.")
                .args(settings(cmd::CHECK))
                .arg(target_arg()),
        )
        .subcommand(
            Command::new("demo")
                .about("Watch it work: the real daemon against a simulated Heroku and app, about a minute. No account needed.")
                .arg(Arg::new("seconds").long("seconds").value_name("N").default_value("60").help("How long the story runs (at least 20)"))
                .arg(Arg::new("output").long("output").value_name("FILE").default_value("autoscale-demo.svg").help("Where to write the chart of the run")),
        )
        .subcommand(
            Command::new("notify-test")
                .about("Send one test message through every alert channel.")
                .args(settings(cmd::NOTIFY_TEST))
                .arg(Arg::new("app").long("app").value_name("APP").help("The app named in the message [default: $AUTOSCALE_APP]")),
        )
        .subcommand(
            Command::new("chart")
                .about("Chart traffic and what the daemon did: router lines (heroku logs, Logplex drain frames, .gz), event=traffic lines and the daemon's own lines, as an SVG or an interactive HTML page.")
                .args(settings(cmd::CHART))
                .arg(Arg::new("input").long("input").value_name("FILE").action(ArgAction::Append).help("Read this file (plain or gzip) instead of standard input; repeatable, in any order"))
                .arg(Arg::new("output").long("output").value_name("FILE").default_value("autoscale.svg").help("Where to write: FILE.svg (static image) or FILE.html (interactive page)"))
                .arg(Arg::new("title").long("title").value_name("TEXT").help("A title for the chart [default: the target's name]"))
                .args(history_args())
                .arg(target_arg()),
        )
        .subcommand(
            Command::new("suggest")
                .about("A schedule written by recorded traffic (a day at least, a week or more is better): the dynos each hour of the week needed, with wiggle room, its cost next to the current schedule's, and the hours the current schedule ran short.")
                .args(settings(cmd::SUGGEST))
                .arg(Arg::new("input").long("input").value_name("FILE").action(ArgAction::Append).help("Read this file (plain or gzip) instead of standard input; repeatable, in any order"))
                .args(history_args())
                .arg(target_arg())
                .arg(Arg::new("headroom").long("headroom").value_name("SHARE").default_value("0").help("Extra capacity on top of the need: 0.2 = 20 % more"))
                .arg(Arg::new("lead").long("lead").value_name("DURATION").default_value("15m").help("Scale out this long before a rise"))
                .arg(Arg::new("lag").long("lag").value_name("DURATION").default_value("30m").help("Scale in this long after a fall"))
                .arg(Arg::new("simplify").long("simplify").value_name("SHARE").default_value("0.1").help("Extra dyno-hours the schedule may spend to have fewer entries: 0.1 = up to 10 % more; 0 = follow the need exactly"))
                .arg(Arg::new("min").long("min").value_name("N").default_value("1").help("Never fewer dynos than this"))
                .arg(Arg::new("price").long("price").value_name("PRICE").help("Price of one dyno-hour (e.g. 0.0347 for a $25/month Standard-1X), to show the cost"))
                .arg(Arg::new("json").long("json").action(ArgAction::SetTrue).help("Print JSON"))
                .arg(Arg::new("toml").long("toml").action(ArgAction::SetTrue).help("Also print the [[target]] block for the configuration file")),
        )
        .subcommand(replay_command())
        .subcommand(
            Command::new("serve")
                .about("The dashboard: a web process (web: ./autoscale serve) that shows every target from the history, behind a password.")
                .args(settings(cmd::SERVE)),
        )
        .subcommand(crate::import::command())
}

/// `replay`: the settings of the table (as `chart` reads them) and its own flags.
fn replay_command() -> Command {
    Command::new("replay")
        .about("Run the real policy over recorded traffic (router lines, Logplex frames, event=traffic lines, .gz) in virtual time: dyno-hours, cost, scale events, minutes under capacity, alerts; compare a second setting side by side.")
        .args(settings(cmd::REPLAY))
        .arg(Arg::new("input").long("input").value_name("FILE").action(ArgAction::Append).help("Read this file (plain or gzip) instead of standard input; repeatable, in any order"))
        .arg(Arg::new("price").long("price").value_name("PRICE").help("Price of one dyno-hour (e.g. 0.0347 for a $25/month Standard-1X), to show the cost"))
        .arg(Arg::new("compare-schedule").long("compare-schedule").value_name("SCHEDULE").help("Also replay this schedule (WHEN=QUANTITY; ...) and show the difference"))
        .arg(Arg::new("compare-config").long("compare-config").value_name("FILE").help("Also replay the same target from this configuration file (as AUTOSCALE_CONFIG) and show the difference"))
        .arg(Arg::new("json").long("json").action(ArgAction::SetTrue).help("Print JSON instead of text"))
        .args(history_args())
        .arg(target_arg())
}

/// The table's settings a subcommand was given (a flag wins over the environment). An empty
/// value is no value: a config var left blank (app.json's optional ones, `.env.example`'s
/// `NAME=`) means the default, not an error.
fn raw(matches: &ArgMatches) -> Raw {
    let mut raw = Raw::default();
    for f in FIELDS {
        if let Ok(Some(value)) = matches.try_get_one::<String>(f.var) {
            if !value.trim().is_empty() {
                raw.set(f.var, value.clone());
            }
        }
    }
    raw
}

/// `.env` in the working directory (not its parents), for local runs; the real environment wins.
/// A line that cannot be parsed is never echoed (it may hold a secret): only its number is.
fn load_dotenv() -> Result<(), String> {
    let path = std::path::Path::new(".env");
    match dotenvy::from_path(path) {
        Ok(()) => Ok(()),
        Err(e) if e.not_found() => Ok(()),
        Err(dotenvy::Error::LineParse(line, _)) => {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let number = text
                .lines()
                .position(|l| l.trim_end() == line.trim_end())
                .map(|i| format!("line {}", i + 1))
                .unwrap_or_else(|| "a line".to_owned());
            // The variable's name is said only when it is one: a line without `=` may be a
            // pasted secret.
            let name = line
                .split_once('=')
                .map(|(name, _)| name.trim().trim_start_matches("export ").trim())
                .filter(|n| {
                    !n.is_empty()
                        && n.len() <= 64
                        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                })
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            Err(format!(
                ".env: {number}{name} cannot be parsed (its value is not shown: it may hold a secret); quote values that contain spaces or quotes, e.g. AUTOSCALE_SCHEDULE=\"07:00=3; 22:00=2\""
            ))
        }
        Err(dotenvy::Error::Io(e)) => Err(format!(".env: cannot be read ({e})")),
        Err(_) => Err(".env: cannot be read (its content is not shown)".to_owned()),
    }
}

fn config_error(e: &ConfigError) -> ExitCode {
    crate::say_err!("error: {e}");
    ExitCode::from(2)
}

fn usage_error(what: &str, value: &str, problem: &str, example: &str) -> ExitCode {
    usage_failed(&crate::args::UsageError::new(what, value, problem, example))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn env_warnings() -> Vec<String> {
    unknown_variables(std::env::vars_os().filter_map(|(k, _)| k.into_string().ok()))
}

/// The whole program.
pub fn main() -> ExitCode {
    if let Err(e) = load_dotenv() {
        crate::say_err!("error: {e}");
        return ExitCode::from(2);
    }
    let matches = match command().try_get_matches() {
        Ok(matches) => matches,
        // Help and version are our own text; a usage error may quote what was typed (made
        // printable: an argument can hold an ESC).
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            crate::say_err!("{}", e.render().to_string().trim_end());
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let env = Env::from_process();
    let given = matches.subcommand().map_or(&matches, |(_, m)| m);
    if let Err(e) = crate::config::check_lengths(&raw(given), &env) {
        crate::say_err!("error: {e}");
        return ExitCode::from(2);
    }
    match matches.subcommand() {
        None => run(&raw(&matches), &env),
        Some(("run", m)) => run(&raw(m), &env),
        Some(("plan", m)) => plan(m, &env),
        Some(("check", m)) => check(m, &env),
        Some(("notify-test", m)) => notify_test(m),
        Some(("demo", m)) => demo(m),
        Some(("chart", m)) => chart(m, &env),
        Some(("suggest", m)) => suggest(m, &env),
        Some(("replay", m)) => replay(m, &env),
        Some(("serve", m)) => serve(m, &env),
        Some(("history", m)) => match m.subcommand() {
            Some(("import", m)) => crate::import::main(m, &raw(m), &env),
            _ => unreachable!("clap requires a history subcommand"),
        },
        Some((other, _)) => unreachable!("clap knows no subcommand {other}"),
    }
}

fn demo(m: &ArgMatches) -> ExitCode {
    let seconds_text = m.get_one::<String>("seconds").expect("a default");
    let seconds = match seconds_text.trim().parse::<u64>() {
        Ok(s) if (crate::demo::MIN_SECONDS..=3600).contains(&s) => s,
        _ => {
            return usage_error(
                "--seconds",
                seconds_text,
                &format!(
                    "must be a whole number from {} to 3600 (the whole story needs at least {} s)",
                    crate::demo::MIN_SECONDS,
                    crate::demo::MIN_SECONDS
                ),
                "--seconds 60",
            )
        }
    };
    let output = PathBuf::from(m.get_one::<String>("output").expect("a default"));
    // Fail before the run, not after a minute of it.
    if let Err(e) = crate::output::writable(&output) {
        crate::say_err!(
            "error: --output {}: cannot write there ({e}); example: --output autoscale-demo.svg",
            output.display()
        );
        return ExitCode::from(2);
    }
    ExitCode::from(runtime().block_on(crate::demo::run(seconds, output)))
}

fn notify_test(m: &ArgMatches) -> ExitCode {
    let raw = raw(m);
    let notify = match crate::config::notify::resolve(&raw) {
        Ok(n) => n,
        Err(e) => return config_error(&e),
    };
    if notify.is_empty() {
        crate::say_err!("error: no alert channel is configured; example: AUTOSCALE_NOTIFY_WEBHOOK=https://hooks.slack.com/services/T000/B000/XXXX");
        return ExitCode::from(2);
    }
    let log = match crate::config::log_filter(&raw) {
        Ok(l) => l,
        Err(e) => return config_error(&e),
    };
    if let Err(e) = crate::logfmt::init(&log) {
        crate::say_err!("error: {e}");
        return ExitCode::from(2);
    }
    let app = m
        .get_one::<String>("app")
        .cloned()
        .or_else(|| std::env::var("AUTOSCALE_APP").ok())
        .or_else(|| std::env::var("HEROKU_APP_NAME").ok())
        .unwrap_or_else(|| "your app".into());
    ExitCode::from(runtime().block_on(crate::check::notify_test(&notify, &app, "web")))
}

/// `--target APP/PROCESS`, validated against the targets.
fn only_target(m: &ArgMatches, targets: &mut Vec<crate::config::Target>) -> Result<(), ExitCode> {
    let Some((app, process)) = target_of(m)? else {
        return Ok(());
    };
    let wanted = m.get_one::<String>("target").expect("a target was given");
    let known: Vec<String> = targets.iter().map(|t| t.name()).collect();
    targets.retain(|t| t.app == app && t.process == process);
    if targets.is_empty() {
        let example = known.first().cloned().unwrap_or_else(|| "shop/web".into());
        return Err(usage_error(
            "--target",
            wanted,
            &format!("no such target; the targets are {}", known.join(", ")),
            &format!("--target {example}"),
        ));
    }
    Ok(())
}

/// A share from a flag (`0.2`, or `20%`).
fn share_arg(m: &ArgMatches, name: &str, example: &str) -> Result<f64, ExitCode> {
    let text = m.get_one::<String>(name).expect("a default");
    let trimmed = text.trim();
    let parsed = match trimmed.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
        None => trimmed.parse::<f64>(),
    };
    match parsed {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(usage_error(
            &format!("--{name}"),
            text,
            "must be a share, 0 or more",
            &format!("--{name} {example}"),
        )),
    }
}

fn duration_arg(m: &ArgMatches, name: &str, example: &str) -> Result<Duration, ExitCode> {
    let text = m.get_one::<String>(name).expect("a default");
    match humantime::parse_duration(text.trim()) {
        Ok(d) if d <= crate::insight::suggest::MAX_SHIFT => Ok(d),
        _ => Err(usage_error(
            &format!("--{name}"),
            text,
            "must be a duration of at most 1 day",
            &format!("--{name} {example}"),
        )),
    }
}

fn price_arg(m: &ArgMatches) -> Result<Option<f64>, ExitCode> {
    m.get_one::<String>("price")
        .map(|p| crate::args::price(p))
        .transpose()
        .map_err(|e| usage_failed(&e))
}

/// `--target APP/PROCESS`, validated.
fn target_of(m: &ArgMatches) -> Result<Option<(String, String)>, ExitCode> {
    m.get_one::<String>("target")
        .map(|t| crate::args::target(t))
        .transpose()
        .map_err(|e| usage_failed(&e))
}

fn usage_failed(e: &crate::args::UsageError) -> ExitCode {
    crate::say_err!("error: {e}");
    ExitCode::from(2)
}

fn suggest(m: &ArgMatches, env: &Env) -> ExitCode {
    let target = match target_of(m) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let raw = raw(m);
    let file = !matches!(
        crate::config::file::Source::resolve(&raw),
        Ok(crate::config::file::Source::Environment)
    );
    // `--max` caps the suggestion. Without a schedule given, the current one is the default,
    // which `--max 2` must not be refused against (its peak is 3): the max is checked alone,
    // then set on the target resolved without it.
    let capped = match (file, raw.get(field::SCHEDULE), raw.get(field::MAX)) {
        (false, None, Some(_)) => {
            let mut alone = raw.clone();
            alone.set(field::SCHEDULE, "00:00=0");
            if alone.get(field::APP).is_none() {
                // Only the max is checked here; the target is named below.
                alone.set(field::APP, "app");
            }
            match crate::config::targets(&alone, env) {
                Ok(t) => t.all.first().map(|t| t.thresholds.max),
                Err(e) => return config_error(&e),
            }
        }
        _ => None,
    };
    let mut resolving = raw.clone();
    if capped.is_some() {
        resolving.remove(field::MAX);
    }
    let resolved = if capped.is_some() {
        crate::chart::configured_always(&resolving, env, target.as_ref())
    } else {
        crate::chart::configured(&resolving, env, target.as_ref())
    };
    let (mut configured, unnamed_configuration) = match resolved {
        Ok(c) => c,
        Err(e) => return config_error(&e),
    };
    if let Some(max) = capped {
        for t in &mut configured {
            t.thresholds.max = max;
        }
    }
    let given = if file {
        crate::insight::command::Given::all()
    } else {
        crate::insight::command::Given {
            schedule: raw.get(field::SCHEDULE).is_some(),
            tz: raw.get(field::TZ).is_some(),
            concurrency: raw.get(field::CONCURRENCY).is_some(),
            utilization: raw.get(field::UTILIZATION).is_some(),
            max: raw.get(field::MAX).is_some(),
        }
    };
    let parsed = (|| {
        let min_text = m.get_one::<String>("min").expect("a default");
        let min = match min_text.trim().parse::<u32>() {
            Ok(n) if n <= crate::schedule::MAX_QUANTITY => n,
            _ => {
                return Err(usage_error(
                    "--min",
                    min_text,
                    &format!(
                        "must be a whole number from 0 to {}",
                        crate::schedule::MAX_QUANTITY
                    ),
                    "--min 1",
                ))
            }
        };
        Ok(crate::insight::command::SuggestCommand {
            inputs: m
                .get_many::<String>("input")
                .map(|v| v.map(PathBuf::from).collect())
                .unwrap_or_default(),
            history: history_source(m, env)?,
            target: target.clone(),
            configured: configured.clone(),
            unnamed_configuration,
            given,
            headroom: share_arg(m, "headroom", "0.2")?,
            lead: duration_arg(m, "lead", "15m")?,
            lag: duration_arg(m, "lag", "30m")?,
            simplify: share_arg(m, "simplify", "0.1")?,
            min,
            price: price_arg(m)?,
            json: m.get_flag("json"),
            toml: m.get_flag("toml"),
        })
    })();
    match parsed {
        Ok(command) => ExitCode::from(crate::insight::command::run(&command)),
        Err(code) => code,
    }
}

fn chart(m: &ArgMatches, env: &Env) -> ExitCode {
    let target = match target_of(m) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let (configured, unnamed_configuration) =
        match crate::chart::configured(&raw(m), env, target.as_ref()) {
            Ok(c) => c,
            Err(e) => return config_error(&e),
        };
    let history = match history_source(m, env) {
        Ok(h) => h,
        Err(code) => return code,
    };
    let command = crate::chart::Command {
        history,
        inputs: m
            .get_many::<String>("input")
            .map(|v| v.map(PathBuf::from).collect())
            .unwrap_or_default(),
        output: PathBuf::from(m.get_one::<String>("output").expect("a default")),
        options: crate::chart::Options {
            title: m.get_one::<String>("title").cloned(),
            target,
            phases: Vec::new(),
        },
        configured,
        unnamed_configuration,
    };
    ExitCode::from(crate::chart::run(&command))
}

fn replay(m: &ArgMatches, env: &Env) -> ExitCode {
    let history = match history_source(m, env) {
        Ok(h) => h,
        Err(code) => return code,
    };
    let parsed = (|| {
        Ok::<_, crate::args::UsageError>(crate::replay::Command {
            inputs: m
                .get_many::<String>("input")
                .map(|v| v.map(PathBuf::from).collect())
                .unwrap_or_default(),
            history,
            target: m
                .get_one::<String>("target")
                .map(|t| crate::args::target(t))
                .transpose()?,
            price: m
                .get_one::<String>("price")
                .map(|p| crate::args::price(p))
                .transpose()?,
            compare_schedule: m.get_one::<String>("compare-schedule").cloned(),
            compare_config: m.get_one::<String>("compare-config").cloned(),
            json: m.get_flag("json"),
        })
    })();
    match parsed {
        Ok(command) => ExitCode::from(crate::replay::main(&command, &raw(m), env)),
        Err(e) => {
            crate::say_err!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// `serve`: the dashboard's settings (one line and exit 2 for a bad one), then the server.
fn serve(m: &ArgMatches, env: &Env) -> ExitCode {
    match serve_settings(&raw(m), env) {
        Ok(settings) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a tokio runtime");
            ExitCode::from(runtime.block_on(crate::serve::run(settings)))
        }
        Err(e) => config_error(&e),
    }
}

fn serve_settings(raw: &Raw, env: &Env) -> Result<crate::serve::Settings, ConfigError> {
    use crate::history::HistorySetting;
    let bad =
        |var: &'static str, value: Option<String>, problem: &str, example: &str| ConfigError {
            place: field::field(var).label(),
            variable: var,
            value,
            problem: problem.to_owned(),
            example: example.to_owned(),
        };
    let port = match raw.get(field::PORT) {
        None => 5000,
        Some(text) => match text.trim().parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => {
                return Err(bad(
                    field::PORT,
                    Some(text.to_owned()),
                    "not a port (1-65535)",
                    "PORT=5000",
                ))
            }
        },
    };
    let bind = match raw.get(field::DASHBOARD_BIND) {
        None => std::net::IpAddr::from([0, 0, 0, 0]),
        Some(text) => text.trim().parse().map_err(|_| {
            bad(
                field::DASHBOARD_BIND,
                Some(text.to_owned()),
                "not an IP address",
                "AUTOSCALE_DASHBOARD_BIND=127.0.0.1",
            )
        })?,
    };
    let password = match raw.get(field::DASHBOARD_PASSWORD) {
        None => None,
        Some("") => None,
        Some(p) if p.chars().count() < 12 => {
            return Err(bad(
                field::DASHBOARD_PASSWORD,
                None,
                "is shorter than 12 characters (its value is not shown)",
                "AUTOSCALE_DASHBOARD_PASSWORD=$(openssl rand -hex 24)",
            ))
        }
        Some(p) => Some(crate::serve::auth::Password::new(p)),
    };
    if password.is_none() && !bind.is_loopback() {
        return Err(bad(
            field::DASHBOARD_PASSWORD,
            None,
            &format!("is not set, and the dashboard would listen on {bind}, which is not a loopback address: set a password, or listen on 127.0.0.1 for local use"),
            "AUTOSCALE_DASHBOARD_PASSWORD=$(openssl rand -hex 24)",
        ));
    }
    let history = match crate::config::history(raw, env)?.store {
        HistorySetting::On(url) => url,
        HistorySetting::Off { .. } => {
            return Err(bad(
                field::HISTORY,
                raw.get(field::HISTORY).map(str::to_owned),
                "the dashboard shows the history, and there is none (no DATABASE_URL on this dyno, or off)",
                "AUTOSCALE_HISTORY=postgres://user:pass@host:5432/db",
            ))
        }
    };
    let (targets, _) = crate::chart::configured(raw, env, None)?;
    Ok(crate::serve::Settings {
        bind,
        port,
        password,
        history,
        targets,
    })
}

fn run(raw: &Raw, env: &Env) -> ExitCode {
    let config = match crate::config::resolve(raw, env) {
        Ok(c) => c,
        Err(e) => return config_error(&e),
    };
    if let Err(e) = config.targets.shards.require_this(env) {
        return config_error(&e);
    }
    if let Err(e) = crate::logfmt::init(&config.log) {
        crate::say_err!("error: {e}");
        return ExitCode::from(2);
    }
    let warnings = env_warnings();
    for w in &warnings {
        Event::ConfigWarning {
            app: None,
            process: None,
            message: w.clone(),
        }
        .emit(tracing::Level::WARN);
    }
    let runtime = runtime();
    let result = runtime.block_on(async {
        let shutdown = shutdown_signal();
        crate::daemon::run(config, &warnings, shutdown).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    }
}

/// SIGTERM (Heroku stopping the dyno), SIGINT (Ctrl-C), SIGHUP (a closed terminal) or SIGUSR1:
/// all stop the daemon cleanly, with a shutdown line. The handlers are installed when this is
/// called, not when the future is first polled, so no signal is missed during startup.
fn shutdown_signal() -> impl std::future::Future<Output = &'static str> + Send + 'static {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("a SIGINT handler");
    let mut hup = signal(SignalKind::hangup()).expect("a SIGHUP handler");
    let mut usr1 = signal(SignalKind::user_defined1()).expect("a SIGUSR1 handler");
    async move {
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
            _ = hup.recv() => "SIGHUP",
            _ = usr1.recv() => "SIGUSR1",
        }
    }
}

fn plan(m: &ArgMatches, env: &Env) -> ExitCode {
    let raw = raw(m);
    // The plan needs no app: without one it is the plan of "app".
    let env = Env {
        heroku_app_name: env
            .heroku_app_name
            .clone()
            .or_else(|| Some("app".to_owned())),
        ..env.clone()
    };
    let mut targets = match crate::config::targets(&raw, &env) {
        Ok(t) => t,
        Err(e) => return config_error(&e),
    };
    if let Err(code) = only_target(m, &mut targets.all) {
        return code;
    }
    let at: DateTime<Utc> = match m.get_one::<String>("at") {
        None => Utc::now(),
        Some(text) => match DateTime::parse_from_rfc3339(text.trim()) {
            Ok(t) => t.with_timezone(&Utc),
            Err(e) => {
                return usage_error("--at", text, &e.to_string(), "--at 2026-12-01T06:59:00Z")
            }
        },
    };
    let next_text = m.get_one::<String>("next").expect("a default");
    let next = match next_text.trim().parse::<usize>() {
        Ok(n) if (1..=1000).contains(&n) => n,
        _ => {
            return usage_error(
                "--next",
                next_text,
                "must be a whole number from 1 to 1000",
                "--next 6",
            )
        }
    };
    let price = match price_arg(m) {
        Ok(p) => p,
        Err(code) => return code,
    };
    for w in env_warnings() {
        crate::say_err!("warning: {w}");
    }
    // Holiday feeds are fetched (a plan without them would be wrong on their days); the dates
    // written out need nothing.
    for status in runtime().block_on(crate::plan::fetch_feeds(&targets.all, at)) {
        if let Some(failure) = &status.failure {
            crate::say_err!(
                "warning: holidays feed {} could not be read ({}): its holidays are not in this plan",
                status.shown_url(),
                failure.error
            );
        }
    }
    let plan = crate::plan::plan(&targets, at, next, price);
    if m.get_flag("json") {
        crate::say!(
            "{}",
            serde_json::to_string(&plan).expect("a plan serializes")
        );
    } else {
        crate::say_raw!("{}", crate::plan::render(&plan));
    }
    ExitCode::SUCCESS
}

fn check(m: &ArgMatches, env: &Env) -> ExitCode {
    let raw = raw(m);
    let mut config = match crate::config::resolve_all(&raw, env) {
        Ok(c) => c,
        Err(errors) => {
            for e in errors {
                crate::say!("{:<8}{:<15}{e}", "failed", "configuration");
            }
            return ExitCode::from(2);
        }
    };
    if let Err(code) = only_target(m, &mut config.targets.all) {
        return code;
    }
    // The report is stdout; the client's own log lines (retries) go to stderr, never into the
    // middle of the table.
    if let Err(e) = crate::logfmt::init_with(&config.log, std::io::stderr) {
        crate::say_err!("error: {e}");
        return ExitCode::from(2);
    }
    let code = runtime().block_on(crate::check::run(&config, &env_warnings()));
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn each_subcommand_takes_only_its_own_options() {
        let c = command();
        let names = |sub: &str| -> Vec<String> {
            c.find_subcommand(sub)
                .unwrap()
                .get_arguments()
                .filter_map(|a| a.get_long().map(str::to_owned))
                .collect()
        };
        assert_eq!(names("demo"), ["seconds", "output"]);
        assert!(!names("chart").contains(&"heroku-api-key".to_owned()));
        assert!(!names("plan").contains(&"heroku-api-key".to_owned()));
        assert!(names("plan").contains(&"schedule".to_owned()));
        assert!(names("check").contains(&"heroku-api-key".to_owned()));
        assert!(names("run").contains(&"check-concurrency".to_owned()));
        assert!(!names("notify-test").contains(&"schedule".to_owned()));
        // Settings that change nothing a subcommand prints are not its options (issue 19).
        for (sub, absent) in [
            ("suggest", "dry-run"),
            ("suggest", "pause-until"),
            ("suggest", "shards"),
            ("replay", "check-url"),
            ("replay", "dry-run"),
            ("plan", "pause-until"),
            ("plan", "check-url"),
            ("chart", "dry-run"),
            ("chart", "scale-in-after"),
            ("serve", "heroku-api-key"),
            ("serve", "dry-run"),
        ] {
            assert!(!names(sub).contains(&absent.to_owned()), "{sub} --{absent}");
        }
        for (sub, present) in [
            ("replay", "scale-in-after"),
            ("replay", "concurrency"),
            ("suggest", "concurrency"),
            ("chart", "slow"),
            ("serve", "password"),
            ("serve", "history"),
            ("serve", "schedule"),
        ] {
            assert!(
                names(sub).contains(&present.to_owned()),
                "{sub} --{present}"
            );
        }
    }

    #[test]
    fn help_is_grouped_under_headings_and_wrapped_to_the_terminal() {
        let help = command()
            .find_subcommand("run")
            .unwrap()
            .clone()
            .term_width(80)
            .render_help()
            .to_string();
        for heading in [
            "Targets and schedule:",
            "Health checks:",
            "Alerts:",
            "History:",
        ] {
            assert!(help.contains(heading), "{heading}\n{help}");
        }
        let widest = help.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(widest <= 80, "{widest} columns:\n{help}");
    }
}
