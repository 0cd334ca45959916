//! How requests ended, counted: the one set of traffic counters that a minute, a chart's bucket
//! and a target's summary share, so that classifying a router line and adding two counts up are
//! each written once.
//!
//! Pure: no I/O, no clock.

use super::router::{At, RouterLine};

/// Requests counted by how they ended (the counters of an `event=traffic` line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Router lines, errors included.
    pub requests: u64,
    /// Requests the router failed (`at=error`) or the app answered with a 5xx, each counted once.
    pub errors: u64,
    /// The errors with code H10 (app crashed), H12 (request timeout), H13 (connection closed
    /// without response); other codes count in `errors` only.
    pub h10: u64,
    pub h12: u64,
    pub h13: u64,
    /// Requests by status class; a request without a status, or a 1xx, is in none.
    pub s2xx: u64,
    pub s3xx: u64,
    pub s4xx: u64,
    pub s5xx: u64,
}

impl Counts {
    /// Counts one request.
    pub fn count(&mut self, line: &RouterLine<'_>) {
        self.requests += 1;
        let status = line.status.unwrap_or(0);
        if line.at == At::Error || status >= 500 {
            self.errors += 1;
            match line.code {
                Some("H10") => self.h10 += 1,
                Some("H12") => self.h12 += 1,
                Some("H13") => self.h13 += 1,
                _ => {}
            }
        }
        match status {
            200..=299 => self.s2xx += 1,
            300..=399 => self.s3xx += 1,
            400..=499 => self.s4xx += 1,
            500..=599 => self.s5xx += 1,
            _ => {}
        }
    }

    /// Adds `other`, each counter saturating.
    pub fn add(&mut self, other: &Counts) {
        self.requests = self.requests.saturating_add(other.requests);
        self.errors = self.errors.saturating_add(other.errors);
        self.h10 = self.h10.saturating_add(other.h10);
        self.h12 = self.h12.saturating_add(other.h12);
        self.h13 = self.h13.saturating_add(other.h13);
        self.s2xx = self.s2xx.saturating_add(other.s2xx);
        self.s3xx = self.s3xx.saturating_add(other.s3xx);
        self.s4xx = self.s4xx.saturating_add(other.s4xx);
        self.s5xx = self.s5xx.saturating_add(other.s5xx);
    }
}
