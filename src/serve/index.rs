//! The dashboard's index: one row per target, what it runs now and whether anything is wrong,
//! computed from the same [`TargetData`] the charts are drawn from. Pure: the caller passes the
//! instant.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::chart::TargetData;
use crate::probe::Outcome;

/// How far back the index reads: the alerts of the last day, and what ran.
pub const WINDOW: TimeDelta = TimeDelta::days(1);
/// A stream whose last minute is older than this is silent (a minute is written after it ends,
/// with a few seconds of delay).
pub const SILENT_AFTER: TimeDelta = TimeDelta::minutes(5);
/// A check older than this says nothing about now.
pub const CHECK_FRESH: TimeDelta = TimeDelta::minutes(15);
/// Alerts this recent are trouble; older ones in the day are only counted.
pub const ALERT_FRESH: TimeDelta = TimeDelta::hours(1);

/// How bad a target looks; the index lists the worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Calm,
    Notice,
    Trouble,
}

/// One target's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub app: String,
    pub process: String,
    /// What runs, as last seen or set (None: nothing seen in the window).
    pub quantity: Option<u32>,
    /// The schedule's floor now (None: no schedule known).
    pub floor: Option<u32>,
    /// An active hold or pause.
    pub hold: Option<HoldNow>,
    pub last_scale: Option<ScaleNow>,
    /// The router log stream: `live`, `silent` (minutes stopped coming) or `none` (no minute in
    /// the window).
    pub stream: &'static str,
    /// The last traffic minute (epoch ms).
    pub last_minute: Option<i64>,
    /// A worker on its job queue: its latest queue minute.
    pub queue: Option<QueueNow>,
    /// The latest check: `down`, `slow`, `ok`, `fast`, and when (epoch ms).
    pub check: Option<(String, i64)>,
    pub alerts_day: usize,
    pub last_alert: Option<(String, i64)>,
    pub level: Level,
    /// Why the level, in words (empty when calm).
    pub why: Vec<String>,
}

/// A worker's latest queue minute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueNow {
    /// The minute (epoch ms).
    pub at: i64,
    pub depth: u64,
    pub latency_ms: u64,
    pub busy: Option<u64>,
    /// Dynos × concurrency when it was read.
    pub capacity: u64,
    /// AUTOSCALE_QUEUE_LATENCY, when known.
    pub target_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HoldNow {
    pub reason: String,
    pub quantity: Option<u32>,
    /// Epoch ms; None: until further notice.
    pub until: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScaleNow {
    pub at: i64,
    pub from: Option<u32>,
    pub to: Option<u32>,
    pub reason: String,
    pub result: String,
}

/// The row of `t` at `now`, from what was read of the last [`WINDOW`].
pub fn row(t: &TargetData, now: DateTime<Utc>) -> Row {
    let ms = |d: DateTime<Utc>| d.timestamp_millis();
    let quantity = t.quantity_steps().last().map(|&(_, q)| q);
    let floor = t.floor_steps(now, now).steps.last().map(|&(_, q)| q);
    let hold = t
        .holds
        .last()
        .filter(|h| !h.ended && h.until.is_none_or(|u| u > now))
        .map(|h| HoldNow {
            reason: h.reason.clone(),
            quantity: h.quantity,
            until: h.until.map(ms),
        });
    let last_scale = t.scales.last().map(|s| ScaleNow {
        at: ms(s.at),
        from: s.from,
        to: s.to,
        reason: s.reason.clone(),
        result: s.result.clone(),
    });
    let last_minute = t.minutes().last().map(|m| m.minute);
    let stream = match last_minute {
        // A minute's row is written after the minute ends.
        Some(m) if now - (m + TimeDelta::minutes(1)) <= SILENT_AFTER => "live",
        Some(_) => "silent",
        None => "none",
    };
    let target_ms = t
        .settings()
        .and_then(|s| s.queue_latency_ms)
        .map(|ms| ms.round() as u64);
    let queue = t.queue_minutes().next_back().map(|q| QueueNow {
        at: ms(q.minute),
        depth: q.depth,
        latency_ms: q.latency_ms,
        busy: q.busy,
        capacity: q.capacity(),
        target_ms,
    });
    let check = t.probes.last().map(|p| (p.outcome, p.at));
    let day = now - WINDOW;
    let alerts: Vec<_> = t.alerts.iter().filter(|a| a.at > day).collect();
    let last_alert = alerts.last().map(|a| (a.kind.clone(), ms(a.at)));

    let mut level = Level::Calm;
    let mut why = Vec::new();
    let mut raise = |to: Level, reason: String| {
        level = level.max(to);
        why.push(reason);
    };
    if let Some((outcome @ (Outcome::Down | Outcome::Slow), at)) = check {
        if now - at <= CHECK_FRESH {
            raise(Level::Trouble, format!("the last check was {outcome}"));
        }
    }
    if let Some(a) = alerts.last().filter(|a| now - a.at <= ALERT_FRESH) {
        raise(Level::Trouble, format!("alert {} in the last hour", a.kind));
    }
    if let Some(s) = t.scales.last().filter(|s| s.result == "error") {
        raise(
            Level::Trouble,
            format!("the last scale ({}) failed", s.reason),
        );
    }
    if let (Some(q), Some(f)) = (quantity, floor) {
        if q > f {
            raise(
                Level::Notice,
                format!("{q} dynos, above the schedule's {f}"),
            );
        }
    }
    if stream == "silent" {
        raise(Level::Notice, "router minutes stopped coming".to_owned());
    }
    if let Some(q) = &queue {
        let minute = DateTime::from_timestamp_millis(q.at).unwrap_or(now);
        if now - (minute + TimeDelta::minutes(1)) > SILENT_AFTER {
            raise(Level::Notice, "queue minutes stopped coming".to_owned());
        } else if let Some(target) = q.target_ms.filter(|t| q.latency_ms > *t) {
            raise(
                Level::Trouble,
                format!(
                    "the oldest job waited {} s (target {} s)",
                    q.latency_ms / 1000,
                    target / 1000
                ),
            );
        }
    }
    if let Some(h) = &hold {
        raise(Level::Notice, format!("{} hold", h.reason));
    }
    if !t.has_data() {
        raise(Level::Notice, "nothing recorded in the last day".to_owned());
    }
    Row {
        app: t.app.clone(),
        process: t.process.clone(),
        quantity,
        floor,
        hold,
        last_scale,
        stream,
        last_minute: last_minute.map(ms),
        queue,
        check: check.map(|(o, at)| (o.as_str().to_owned(), ms(at))),
        alerts_day: alerts.len(),
        last_alert,
        level,
        why,
    }
}

/// Worst first, then by name.
pub fn sort(rows: &mut [Row]) {
    rows.sort_by(|a, b| {
        b.level
            .cmp(&a.level)
            .then_with(|| a.app.cmp(&b.app))
            .then_with(|| a.process.cmp(&b.process))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::read::tests::{read, ts};
    use crate::chart::Hints;
    use crate::config::{targets, Env, Raw};

    fn configured(schedule: &str) -> Vec<crate::config::Target> {
        let mut raw = Raw::default();
        raw.set("AUTOSCALE_APP", "shop");
        raw.set("AUTOSCALE_SCHEDULE", schedule);
        targets(&raw, &Env::default()).unwrap().all
    }

    fn one(text: &str, schedule: &str, now: &str) -> Row {
        let targets = configured(schedule);
        let d = read(
            text,
            &Hints {
                target: None,
                configured: &targets,
            },
        );
        let t = d.target("shop", "web").expect("the target");
        row(t, ts(now))
    }

    const CALM: &str = "ts=2026-12-01T10:00:00Z level=info event=scale app=shop process=web from=1 to=3 reason=schedule result=ok
ts=2026-12-01T10:30:00Z level=info event=probe app=shop process=web source=probe status=200 latency_ms=40 outcome=fast current=3
ts=2026-12-01T10:31:00Z level=info event=traffic app=shop process=web minute=2026-12-01T10:30:00Z requests=100 p50_ms=20 p95_ms=80 p99_ms=90 errors=0 h10=0 h12=0 h13=0 s2xx=100 s3xx=0 s4xx=0 s5xx=0 busy=0.5 dynos=3
";

    #[test]
    fn a_calm_target_says_what_runs_its_floor_and_its_last_scale() {
        let r = one(CALM, "07:00=3; 22:00=1", "2026-12-01T10:33:00Z");
        assert_eq!(r.quantity, Some(3));
        assert_eq!(r.floor, Some(3));
        assert_eq!(r.stream, "live");
        assert_eq!(
            r.check,
            Some(("fast".into(), ts("2026-12-01T10:30:00Z").timestamp_millis()))
        );
        let s = r.last_scale.as_ref().unwrap();
        assert_eq!(
            (s.from, s.to, s.reason.as_str()),
            (Some(1), Some(3), "schedule")
        );
        assert_eq!(r.level, Level::Calm, "{:?}", r.why);
        assert!(r.why.is_empty());
        assert_eq!(r.hold, None);
    }

    #[test]
    fn above_the_floor_silent_streams_and_holds_are_notices() {
        let r = one(CALM, "07:00=2; 22:00=1", "2026-12-01T10:33:00Z");
        assert_eq!(r.level, Level::Notice);
        assert_eq!(r.why, vec!["3 dynos, above the schedule's 2"]);

        // The minute 10:30 ends 10:31; silent after 5 more minutes.
        let r = one(CALM, "07:00=3", "2026-12-01T10:36:00Z");
        assert_eq!(r.stream, "live");
        let r = one(CALM, "07:00=3", "2026-12-01T10:36:01Z");
        assert_eq!(r.stream, "silent");
        assert_eq!(r.level, Level::Notice);

        let held = format!("{CALM}ts=2026-12-01T10:32:00Z level=info event=hold app=shop process=web reason=pause quantity=3 until=2026-12-01T12:00:00Z\n");
        let r = one(&held, "07:00=3", "2026-12-01T10:33:00Z");
        assert_eq!(r.hold.as_ref().map(|h| h.reason.as_str()), Some("pause"));
        assert_eq!(
            r.hold.as_ref().unwrap().until,
            Some(ts("2026-12-01T12:00:00Z").timestamp_millis())
        );
        assert_eq!(r.level, Level::Notice);
        let r = one(&held, "07:00=3", "2026-12-01T12:00:00Z");
        assert_eq!(r.hold, None, "it ended at its until");
    }

    #[test]
    fn a_failing_check_a_fresh_alert_or_a_failed_scale_is_trouble() {
        let down = format!("{CALM}ts=2026-12-01T10:32:00Z level=warn event=probe app=shop process=web source=probe status=503 latency_ms=40 outcome=down current=3\n");
        let r = one(&down, "07:00=3", "2026-12-01T10:33:00Z");
        assert_eq!(r.level, Level::Trouble);
        assert_eq!(r.why, vec!["the last check was down"]);
        let r = one(&down, "07:00=3", "2026-12-01T10:47:01Z");
        assert_ne!(
            r.why.first().map(String::as_str),
            Some("the last check was down"),
            "15 minutes later it is old news"
        );

        let alert = format!("{CALM}ts=2026-12-01T10:32:00Z level=info event=notify app=shop process=web kind=scale_out channel=webhook result=ok\n");
        let r = one(&alert, "07:00=3", "2026-12-01T10:33:00Z");
        assert_eq!(r.alerts_day, 1);
        assert_eq!(
            r.last_alert.as_ref().map(|a| a.0.as_str()),
            Some("scale_out")
        );
        assert_eq!(r.level, Level::Trouble);
        let r = one(&alert, "07:00=3", "2026-12-01T11:33:00Z");
        assert_eq!(
            (r.alerts_day, r.level),
            (1, Level::Notice),
            "an hour later: counted, not trouble"
        );
        let r = one(&alert, "07:00=3", "2026-12-02T10:32:00Z");
        assert_eq!(r.alerts_day, 0, "a day later: gone");

        let failed = CALM.replace("result=ok", "result=error");
        let r = one(&failed, "07:00=3", "2026-12-01T10:33:00Z");
        assert_eq!(r.level, Level::Trouble);
        assert_eq!(r.why, vec!["the last scale (schedule) failed"]);
    }

    #[test]
    fn a_workers_queue_is_shown_and_a_late_job_is_trouble() {
        let worker = |latency: u64| {
            format!("ts=2026-12-01T10:00:00Z level=info event=start app=shop process=worker schedule=\"00:00=2\" tz=UTC max=20 queue=sidekiq queue_latency=30s
ts=2026-12-01T10:32:02Z level=info event=queue app=shop process=worker minute=2026-12-01T10:31:00Z depth=600 latency_ms={latency} busy=20 done=40 dynos=2 concurrency=10
")
        };
        let worker_row = |text: &str, now: &str| {
            let d = read(text, &Hints::default());
            row(d.target("shop", "worker").unwrap(), ts(now))
        };
        let r = worker_row(&worker(12_000), "2026-12-01T10:32:30Z");
        assert_eq!(
            r.queue,
            Some(QueueNow {
                at: ts("2026-12-01T10:31:00Z").timestamp_millis(),
                depth: 600,
                latency_ms: 12_000,
                busy: Some(20),
                capacity: 20,
                target_ms: Some(30_000),
            })
        );
        assert_eq!(r.level, Level::Calm, "{:?}", r.why);
        let r = worker_row(&worker(45_000), "2026-12-01T10:32:30Z");
        assert_eq!(r.level, Level::Trouble);
        assert_eq!(r.why, vec!["the oldest job waited 45 s (target 30 s)"]);
        // Minutes stop: a notice, and the old latency is no longer trouble.
        let r = worker_row(&worker(45_000), "2026-12-01T10:37:01Z");
        assert_eq!(r.level, Level::Notice);
        assert_eq!(r.why, vec!["queue minutes stopped coming"]);
        assert_eq!(one(CALM, "07:00=3", "2026-12-01T10:33:00Z").queue, None);
    }

    #[test]
    fn trouble_sorts_first_then_names() {
        let mk = |app: &str, level| Row {
            app: app.into(),
            process: "web".into(),
            quantity: None,
            floor: None,
            hold: None,
            last_scale: None,
            stream: "none",
            last_minute: None,
            queue: None,
            check: None,
            alerts_day: 0,
            last_alert: None,
            level,
            why: vec![],
        };
        let mut rows = vec![
            mk("a", Level::Calm),
            mk("c", Level::Trouble),
            mk("b", Level::Notice),
            mk("b", Level::Trouble),
        ];
        sort(&mut rows);
        let order: Vec<_> = rows.iter().map(|r| (r.app.as_str(), r.level)).collect();
        assert_eq!(
            order,
            vec![
                ("b", Level::Trouble),
                ("c", Level::Trouble),
                ("b", Level::Notice),
                ("a", Level::Calm)
            ]
        );
    }
}
