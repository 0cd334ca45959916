//! The simulator: a loopback Heroku Platform API ([`FakeHeroku`]) and a loopback web app
//! ([`FakeApp`]) that fail on demand, plus receivers for alerts ([`Receiver`] for webhooks and
//! Twilio, [`SmtpSink`] for email). One implementation, used by the integration tests and by
//! `autoscale demo`, so what the tests prove is what a newcomer watches.

pub mod app;
pub mod heroku;
pub mod logs;
pub mod receiver;
pub mod smtp;

pub use app::{FakeApp, Mode};
pub use heroku::{FakeHeroku, Fault, Recorded};
pub use logs::{Logplex, Request, RouterFeed, StreamMode};
pub use receiver::{Answer, Receiver};
pub use smtp::{Mail, SmtpSink};
