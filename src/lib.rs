//! `autoscale` keeps a Heroku app at the right number of dynos, as the app's `clock` process:
//! a schedule sets the quantity by the clock, and a health check scales out at once when the app
//! is down or slow, and back in calmly when it is fast again.
//!
//! Layout — measure → decide → apply, with one owner of state:
//! - [`config`]: every setting (env var + flag), validated into a [`config::Target`].
//! - [`schedule`]: pure; parses `WHEN=QUANTITY`, `floor(at)`, next edges, dyno-hours.
//! - [`calendar`]: holidays (dates, ranges, iCalendar feeds) and the calendar that switches
//!   between the normal and the holiday schedule; pure but for [`calendar::feed`].
//! - [`probe`]: measure; requests the app once and classifies the answer.
//! - [`policy`]: decide; a pure function from trigger, quantity, floor and streaks to an action.
//! - [`scaler`]: apply; the one task that owns the state and calls the API.
//! - [`heroku`]: the shared Platform API client (retries, backoff, error decoding).
//! - [`http`]: the one reqwest builder, capped body reads, URL redaction.
//! - [`daemon`]: wires cron edges, the check loop and the scaler; shutdown.
//! - [`demo`]: the real daemon against the simulator, with a scripted story and a chart.
//! - [`plan`], [`check`]: the `plan` and `check` subcommands; [`cli`]: the command line.
//! - [`notify`]: alerts by webhook, email and SMS, throttled, never in the way of scaling.
//! - [`chart`]: reads event lines back (raw or `heroku logs`) and draws an SVG.
//! - [`logfmt`]: one logfmt event line per log event, and its parser.
//! - [`sim`]: loopback fakes of the Heroku API and of an app, for tests and the demo.

pub mod chart;
/// A tracing event at a level chosen at run time (tracing's macros need it at compile time).
macro_rules! event_at {
    ($level:expr, $($fields:tt)*) => {
        match $level {
            tracing::Level::ERROR => tracing::error!($($fields)*),
            tracing::Level::WARN => tracing::warn!($($fields)*),
            tracing::Level::INFO => tracing::info!($($fields)*),
            tracing::Level::DEBUG => tracing::debug!($($fields)*),
            _ => tracing::trace!($($fields)*),
        }
    };
}
pub(crate) use event_at;

pub mod calendar;
pub mod check;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod heroku;
pub mod http;
pub mod logfmt;
pub mod notify;
pub mod plan;
pub mod policy;
pub mod probe;
pub mod scaler;
pub mod schedule;
pub mod sim;
