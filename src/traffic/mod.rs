//! Traffic: what Heroku's router says about every request, turned into per-minute figures.
//!
//! ```text
//!  log session stream ─┐                        ┌─► StreamAggregator ─► Minute ─► event=traffic
//!  (heroku logs lines)  ├─► router ─► RouterLine ┤    (daemon: grace, late lines)
//!  files, stdin, .gz ──┘   ▲                    └─► BatchAggregator ─► Minute  (chart, suggest,
//!   (input: lines and      │                         (any order, exact merges)    replay)
//!    logplex frames) ──────┘
//! ```
//!
//! - [`router`]: the one parser of router lines, for both shapes (`heroku logs`, drain frames).
//! - [`logplex`]: octet-counted RFC 5424 frames of Logplex HTTPS drain bodies.
//! - [`sse`]: Server-Sent Events, the framing of a log session's stream on Fir (and for the CLI).
//! - [`counts`]: how requests ended, counted (the counters a minute, a bucket, a summary share).
//! - [`minute`]: per-minute figures per (app, process) in bounded memory; streaming and batch.
//! - [`event`]: a [`minute::Minute`] as an `event=traffic` line, and back.
//! - [`input`]: files and stdin (plain or gzip) of any mix of the above, record by record.
//! - [`fixture`]: deterministic traffic with a daily and weekly shape, in every shape, for tests.
//!
//! The daemon's live stream of one app's router lines (a log session) is
//! [`crate::daemon::stream`]: it uses these, they never use it.
//!
//! Everything but `input` is pure: no I/O, no clock (every "now" is an argument).

pub mod counts;
pub mod event;
pub mod fixture;
pub mod input;
pub mod logplex;
pub mod minute;
pub mod router;
pub mod sse;
