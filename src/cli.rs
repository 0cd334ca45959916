//! The command line: subcommands, `.env`, exit codes (0 ok, 1 failure, 2 configuration error).

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};

use crate::config::{unknown_variables, ConfigError, Settings};

#[derive(Parser)]
#[command(
    name = "autoscale",
    version,
    about = "Keeps a Heroku app at the right number of dynos: a schedule, plus a fail-safe that scales out when the app is down or slow.",
    after_help = "Every setting is also an environment variable (Heroku config var); a .env file in the working directory is read when present. See README.md."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the daemon (the default): schedule edges and health checks until SIGTERM.
    Run,
    /// Show the scheduled quantity, the next edges and the dyno-hours saved. No token needed.
    Plan {
        /// The instant to plan at (RFC 3339) [default: now].
        #[arg(long)]
        at: Option<String>,
        /// How many edges to list.
        #[arg(long, default_value_t = 6)]
        next: usize,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Price of one dyno-hour (e.g. 0.0347 for a $25/month Standard-1X), to show the cost.
        #[arg(long)]
        price: Option<String>,
    },
    /// Validate the configuration, the token, the app, the formation and the check URL.
    Check,
    /// Watch it work: the real daemon against a simulated Heroku and app, about a minute.
    Demo {
        /// How long the story runs (at least 20).
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Where to write the chart of the run.
        #[arg(long, default_value = "autoscale-demo.svg")]
        output: std::path::PathBuf,
    },
    /// Send one test message through every alert channel.
    NotifyTest,
    /// Draw an SVG chart from the daemon's log lines (raw, or `heroku logs` output).
    Chart {
        /// Read this file instead of standard input.
        #[arg(long)]
        input: Option<std::path::PathBuf>,
        /// Where to write the SVG.
        #[arg(long, default_value = "autoscale.svg")]
        output: std::path::PathBuf,
        /// A title for the chart [default: the app's name from the log].
        #[arg(long)]
        title: Option<String>,
    },
}

/// `.env` in the working directory (not its parents), for local runs; the real environment wins.
fn load_dotenv() -> Result<(), String> {
    let path = std::path::Path::new(".env");
    match dotenvy::from_path(path) {
        Ok(()) => Ok(()),
        Err(e) if e.not_found() => Ok(()),
        // The parser's message quotes the whole line, which may hold a secret: name only the
        // variable.
        Err(dotenvy::Error::LineParse(line, _)) => {
            let name = line.split('=').next().unwrap_or("").trim();
            let name: String = name.chars().take(64).collect();
            Err(format!(
                ".env: the line for {name:?} cannot be parsed (its value is not shown); quote values that contain spaces or quotes, e.g. AUTOSCALE_SCHEDULE=\"07:00=3; 22:00=2\""
            ))
        }
        Err(e) => Err(format!(".env: {e}")),
    }
}

fn config_error(e: &ConfigError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

fn usage_error(what: &str, value: &str, problem: &str, example: &str) -> ExitCode {
    eprintln!("error: {what}={value:?}: {problem}; example: {example}");
    ExitCode::from(2)
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
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => run(&cli.settings),
        Command::Plan {
            at,
            next,
            json,
            price,
        } => plan(&cli.settings, at, next, json, price),
        Command::Check => check(&cli.settings),
        Command::NotifyTest => notify_test(&cli.settings),
        Command::Demo { seconds, output } => {
            if seconds < crate::demo::MIN_SECONDS {
                return usage_error(
                    "--seconds",
                    &seconds.to_string(),
                    "too short for the whole story",
                    "--seconds 60",
                );
            }
            ExitCode::from(runtime().block_on(crate::demo::run(seconds, output)))
        }
        Command::Chart {
            input,
            output,
            title,
        } => chart(input, &output, title),
    }
}

fn notify_test(settings: &Settings) -> ExitCode {
    let notify = match settings.notify.resolve() {
        Ok(n) => n,
        Err(e) => return config_error(&e),
    };
    if notify.is_empty() {
        eprintln!("error: no alert channel is configured; example: AUTOSCALE_NOTIFY_WEBHOOK=https://hooks.slack.com/services/T000/B000/XXXX");
        return ExitCode::from(2);
    }
    let log = match settings.resolve_log() {
        Ok(l) => l,
        Err(e) => return config_error(&e),
    };
    if let Err(e) = crate::logfmt::init(&log) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let app = settings
        .app
        .clone()
        .or_else(|| std::env::var("HEROKU_APP_NAME").ok())
        .unwrap_or_else(|| "your app".into());
    let process = settings.process.clone().unwrap_or_else(|| "web".into());
    ExitCode::from(runtime().block_on(crate::check::notify_test(&notify, &app, &process)))
}

fn chart(
    input: Option<std::path::PathBuf>,
    output: &std::path::Path,
    title: Option<String>,
) -> ExitCode {
    use std::io::Read as _;
    let text = match &input {
        Some(path) => std::fs::read(path).map_err(|e| format!("{}: {e}", path.display())),
        None => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map(|_| buf)
                .map_err(|e| format!("standard input: {e}"))
        }
    };
    let text = match text {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            eprintln!("error: cannot read the log: {e}");
            return ExitCode::from(2);
        }
    };
    let options = crate::chart::Options { title };
    match crate::chart::chart(&text, &options) {
        Ok((svg, summary)) => {
            if summary.skipped_garbage > 0 {
                eprintln!(
                    "warning: {} line(s) were not autoscale event lines and were skipped",
                    summary.skipped_garbage
                );
            }
            if let Err(e) = std::fs::write(output, svg) {
                eprintln!("error: cannot write {}: {e}", output.display());
                return ExitCode::from(1);
            }
            println!("{summary}");
            println!("chart written to {}", output.display());
            ExitCode::SUCCESS
        }
        Err(e @ crate::chart::ChartError::Empty { .. }) => {
            eprintln!("error: {e}; example: heroku logs -n 1500 -p clock | autoscale chart");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(settings: &Settings) -> ExitCode {
    let app_name = std::env::var("HEROKU_APP_NAME").ok();
    let config = match settings.resolve(app_name.as_deref()) {
        Ok(c) => c,
        Err(e) => return config_error(&e),
    };
    if let Err(e) = crate::logfmt::init(&config.log) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let warnings = env_warnings();
    for w in &warnings {
        tracing::warn!(event = "config_warning", "{w}");
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

/// SIGTERM (Heroku stopping the dyno) or SIGINT (Ctrl-C). The handlers are installed when this
/// is called, not when the future is first polled, so no signal is missed during startup.
fn shutdown_signal() -> impl std::future::Future<Output = &'static str> + Send + 'static {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("a SIGINT handler");
    async move {
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        }
    }
}

fn plan(
    settings: &Settings,
    at: Option<String>,
    next: usize,
    json: bool,
    price: Option<String>,
) -> ExitCode {
    let config = match settings.resolve_schedule() {
        Ok(c) => c,
        Err(e) => return config_error(&e),
    };
    let at: DateTime<Utc> = match at {
        None => Utc::now(),
        Some(text) => match DateTime::parse_from_rfc3339(text.trim()) {
            Ok(t) => t.with_timezone(&Utc),
            Err(e) => {
                return usage_error("--at", &text, &e.to_string(), "--at 2026-12-01T06:59:00Z")
            }
        },
    };
    if next > 1000 {
        return usage_error("--next", &next.to_string(), "at most 1000", "--next 6");
    }
    let price = match price {
        None => None,
        Some(text) => match text.trim().parse::<f64>() {
            Ok(p) if p.is_finite() && p >= 0.0 => Some(p),
            _ => {
                return usage_error(
                    "--price",
                    &text,
                    "not a price per dyno-hour",
                    "--price 0.0347",
                )
            }
        },
    };
    for w in env_warnings() {
        eprintln!("warning: {w}");
    }
    let plan = crate::plan::plan(&config, at, next, price);
    if json {
        println!(
            "{}",
            serde_json::to_string(&plan).expect("a plan serializes")
        );
    } else {
        print!("{}", crate::plan::render(&plan));
    }
    ExitCode::SUCCESS
}

fn check(settings: &Settings) -> ExitCode {
    let app_name = std::env::var("HEROKU_APP_NAME").ok();
    let config = match settings.resolve(app_name.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            println!("{:<8}{:<15}{e}", "failed", "configuration");
            return ExitCode::from(2);
        }
    };
    // `check` prints its own report; library logs go to the same filter, on stdout.
    if let Err(e) = crate::logfmt::init(&config.log) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let code = runtime().block_on(crate::check::run(&config, &env_warnings()));
    ExitCode::from(code)
}
