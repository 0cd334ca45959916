//! Traffic insight: what recorded traffic says about the schedule.
//!
//! - [`suggest`]: pure; a schedule written by the traffic (`autoscale suggest`), and what it
//!   costs next to the current one.

pub mod command;
pub mod suggest;
