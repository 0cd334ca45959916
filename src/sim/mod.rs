//! The simulator: a loopback Heroku Platform API ([`FakeHeroku`]) and a loopback web app
//! ([`FakeApp`]) that fail on demand. One implementation, used by the integration tests and by
//! `autoscale demo`, so what the tests prove is what a newcomer watches.

pub mod app;
pub mod heroku;

pub use app::{FakeApp, Mode};
pub use heroku::{FakeHeroku, Fault, Recorded};
