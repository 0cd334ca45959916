//! What a round leaves behind besides the PATCH: its log lines and history rows.

use super::*;

/// The history's row of an `event=hold` (`ended` false) or `event=hold_end` line.
pub(super) fn hold_row(
    target: &Target,
    at: DateTime<Utc>,
    reason: HoldReason,
    quantity: u32,
    until: Option<DateTime<Utc>>,
    ended: bool,
) -> HoldRow {
    HoldRow {
        app: target.app.clone(),
        process: target.process.clone(),
        at,
        reason,
        quantity,
        until,
        ended,
    }
}

/// The history's row of an `event=scale` line.
pub(super) fn scale_row(
    target: &Target,
    at: DateTime<Utc>,
    from: u32,
    to: u32,
    reason: Reason,
    result: &str,
) -> ScaleRow {
    ScaleRow {
        app: target.app.clone(),
        process: target.process.clone(),
        at,
        from,
        to,
        reason: reason.as_str().to_owned(),
        result: result.to_owned(),
    }
}

pub(super) fn log_skip(target: &Target, skip: Skip, current: u32, wake: Wake) {
    // Nothing fired in the lookback window: worth a warning, the daemon holds nothing.
    let level = if skip == Skip::NoFloor {
        Level::WARN
    } else {
        Level::INFO
    };
    crate::event_at!(
        level,
        event = "scale_skip",
        app = %target.app,
        process = %target.process,
        reason = skip.as_str(),
        current,
        trigger = wake.as_str()
    );
}

/// One `event=probe` line: warn when unhealthy so a log alert can key on the level too.
pub(super) fn log_probe(
    target: &Target,
    check: &super::record::Check<'_>,
    current: Option<u32>,
    floor: Option<u32>,
) {
    let probe = &check.probe;
    let source = check.source.as_str();
    let status = probe.status.map(|s| s.to_string()).unwrap_or_default();
    let current = current.map(|c| c.to_string()).unwrap_or_default();
    let floor = floor.map(|f| f.to_string()).unwrap_or_default();
    let latency_ms = probe.latency_ms() as u64;
    let outcome = probe.outcome.as_str();
    let error = probe.error.as_str();
    let level = if probe.outcome.is_unhealthy() {
        Level::WARN
    } else {
        Level::INFO
    };
    // `merged` > 1 when a round was slow and several checks arrived: all were counted.
    let merged = check.outcomes.len();
    let merged = (merged > 1).then_some(merged as u64);
    let late_ms = (check.source == ProbeSource::Probe).then_some(check.late_ms);
    crate::event_at!(level, event = "probe", app = %target.app, process = %target.process, source, status = %status, latency_ms, outcome, error, current = %current, floor = %floor, late_ms, merged);
}
