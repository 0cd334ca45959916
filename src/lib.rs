//! `autoscale` keeps a Heroku app at the right number of dynos, as the app's `clock` process:
//! a schedule sets the quantity by the clock, and a health check scales out at once when the app
//! is down or slow, and back in calmly when it is fast again.
//!
//! Layout — measure → decide → apply, one loop per app owning its targets' state:
//! - [`config`]: every setting (env var, flag, file key), validated into [`config::Target`]s;
//!   the file of many targets; sharding over clock dynos.
//! - [`schedule`]: pure; parses `WHEN=QUANTITY[:SIZE]`, `floor(at)`, next edges, dyno-hours.
//! - [`size`]: pure; Heroku's dyno sizes and list prices; [`price`]: pure; a schedule's week
//!   at those prices.
//! - [`calendar`]: holidays (dates, ranges, iCalendar feeds) and the calendar that switches
//!   between the normal and the holiday schedule; pure but for [`calendar::feed`].
//! - [`queue`]: job queues read from their own stores (Sidekiq in Redis) and the pure queue
//!   policy that scales workers on them.
//! - [`probe`]: measure; requests the app once and classifies the answer.
//! - [`policy`]: decide; a pure, level-triggered function from what a target looks like now
//!   (quantity, floor, pending edge, streaks, hold) to an action.
//! - [`daemon`]: the runtime, in one folder that shows the flow — the wiring and shutdown
//!   (`mod.rs`), each app's startup, the edges ([`daemon::edges`]), the checks
//!   ([`daemon::checks`]), the log stream ([`daemon::stream`]), and the app loop
//!   ([`daemon::app`]: inbox → observe → decide → apply), the only owner of its targets' state.
//! - [`clock`]: the daemon's one clock (system, or virtual in tests, `replay` and the demo).
//! - [`budget`]: pure; how often formations are re-read within the API budget.
//! - [`heroku`]: the shared Platform API client (retries, backoff, error decoding, ETags,
//!   every call counted).
//! - [`history`]: traffic, probes, scales, holds and alerts kept in Postgres or SQLite, never in
//!   the way of scaling.
//! - [`import`]: `autoscale history import`: kept logs (router lines, `event=` lines, `.gz`)
//!   read as `chart` reads them and written into the history, idempotently.
//! - [`http`]: the one reqwest builder, capped body reads, URL redaction.
//! - [`demo`]: the real daemon against the simulator, with a scripted story and a chart.
//! - [`serve`]: the dashboard (`autoscale serve`): the history read-only, behind a password.
//! - [`plan`], [`check`]: the `plan` and `check` subcommands; [`cli`]: the command line;
//!   [`args`]: the flags several subcommands share (`--price`, `--target`); [`output`]: the
//!   files subcommands write (checked before the work).
//! - [`steps`]: pure; a quantity over time (what ran, the floor): value at an instant,
//!   dyno-hours.
//! - [`notify`]: alerts by webhook, email and SMS, throttled, never in the way of scaling.
//! - [`chart`]: reads event lines back (raw or `heroku logs`) and draws an SVG.
//! - [`insight`]: pure; what recorded traffic says about the schedule (`suggest`).
//! - [`replay`]: the real policy (an app loop against the simulator) over recorded traffic,
//!   in paused time: what a setting, or a change of it, would have done.
//! - [`report`]: the interactive HTML report (D3, inlined): the page's data and its rendering.
//! - [`logfmt`]: one logfmt event line per log event, and its parser.
//! - [`terminal`]: what subcommands print, control characters escaped ([`say!`], [`say_err!`]).
//! - [`event`]: the daemon's events, typed (names and fields of the contract): each writes its
//!   line through tracing and reads it back.
//! - [`sim`]: loopback fakes of the Heroku API and of an app, for tests and the demo.
//! - [`traffic`]: pure; router lines and Logplex frames → per-minute traffic figures; input files.

pub mod args;
pub mod budget;
pub mod calendar;
pub mod chart;
pub mod check;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod event;
pub mod heroku;
pub mod history;
pub mod http;
pub mod import;
pub mod insight;
pub mod logfmt;
pub mod notify;
pub mod output;
pub mod plan;
pub mod policy;
pub mod price;
pub mod probe;
pub mod queue;
pub mod replay;
pub mod report;
pub mod schedule;
pub mod serve;
pub mod sim;
pub mod size;
pub mod steps;
pub mod terminal;
pub mod traffic;
