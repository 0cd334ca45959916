//! What a round leaves behind besides the PATCH: its log lines and history rows.

use super::apply::Change;
use super::*;
use crate::event::{Event, ScaleResult};

/// A hold as the loop tells it: its `event=hold` line when it starts, its `event=hold_end`
/// line when it ends, and the history's row of each, from one description.
pub(super) struct HoldNews<'a> {
    pub(super) target: &'a Target,
    pub(super) reason: HoldReason,
    /// What the line says is held (none for a pause).
    pub(super) quantity: Option<u32>,
    /// What the row keeps: the quantity held, or what ran when a pause began or ended.
    pub(super) kept: u32,
    /// None: a pause without end.
    pub(super) until: Option<DateTime<Utc>>,
    /// The release a deploy grace is for.
    pub(super) release: Option<u64>,
}

impl HoldNews<'_> {
    /// The hold starts: said in the log and kept in the history.
    pub(super) fn started(&self, history: &HistoryHandle, now: DateTime<Utc>) {
        let until = self.until.map_or_else(
            || "forever".to_owned(),
            |u| u.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
        Event::Hold {
            app: self.target.app.clone(),
            process: self.target.process.clone(),
            reason: self.reason,
            quantity: self.quantity,
            until,
            release: self.release,
        }
        .emit(Level::INFO);
        history.record(self.row(now, false));
    }

    /// The hold ends (`why`: expired, unhealthy): said in the log and kept in the history.
    pub(super) fn ended(&self, history: &HistoryHandle, now: DateTime<Utc>, why: &str) {
        Event::HoldEnd {
            app: self.target.app.clone(),
            process: self.target.process.clone(),
            reason: self.reason,
            quantity: self.quantity,
            why: why.to_owned(),
        }
        .emit(Level::INFO);
        history.record(self.row(now, true));
    }

    fn row(&self, at: DateTime<Utc>, ended: bool) -> HoldRow {
        HoldRow {
            app: self.target.app.clone(),
            process: self.target.process.clone(),
            at,
            reason: self.reason,
            quantity: self.kept,
            until: self.until,
            ended,
        }
    }
}

/// A scale as the loop tells it: its `event=scale` line at `level` (with Heroku's status and
/// message when it failed) and the history's row of the same.
pub(super) fn say_scale(
    history: &HistoryHandle,
    target: &Target,
    at: DateTime<Utc>,
    change: &Change,
    result: ScaleResult,
    failure: Option<(String, String)>,
    level: Level,
) {
    let (status, message) = failure.unzip();
    Event::Scale {
        app: target.app.clone(),
        process: target.process.clone(),
        from: change.from,
        to: change.to,
        reason: change.reason.as_str().to_owned(),
        size: change.size().map(|s| s.name().to_owned()),
        result,
        status,
        message,
    }
    .emit(level);
    history.record(ScaleRow {
        app: target.app.clone(),
        process: target.process.clone(),
        at,
        from: change.from,
        to: change.to,
        reason: change.reason.as_str().to_owned(),
        result: result.as_str().to_owned(),
    });
}

pub(super) fn log_skip(target: &Target, skip: Skip, current: u32, wake: Wake) {
    // Nothing fired in the lookback window: worth a warning, the daemon holds nothing.
    let level = if skip == Skip::NoFloor {
        Level::WARN
    } else {
        Level::INFO
    };
    Event::ScaleSkip {
        app: target.app.clone(),
        process: target.process.clone(),
        reason: skip.as_str().to_owned(),
        current,
        trigger: wake.as_str().to_owned(),
    }
    .emit(level);
}

/// One `event=probe` line: warn when unhealthy so a log alert can key on the level too.
pub(super) fn log_probe(
    target: &Target,
    check: &super::record::Check<'_>,
    current: Option<u32>,
    floor: Option<u32>,
) {
    let probe = &check.probe;
    let level = if probe.outcome.is_unhealthy() {
        Level::WARN
    } else {
        Level::INFO
    };
    // `merged` > 1 when a round was slow and several checks arrived: all were counted.
    let merged = check.outcomes.len();
    Event::Probe {
        app: target.app.clone(),
        process: target.process.clone(),
        source: check.source,
        status: probe.status,
        latency_ms: probe.latency_ms() as u64,
        outcome: probe.outcome,
        error: probe.error.clone(),
        current,
        floor,
        late_ms: (check.source == ProbeSource::Probe).then_some(check.late_ms),
        merged: (merged > 1).then_some(merged as u64),
    }
    .emit(level);
}
