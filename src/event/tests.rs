use std::collections::BTreeSet;

use chrono::TimeZone;
use tracing::Level;

use super::*;
use crate::logfmt::{captured, Line};

/// The line `event` writes at `level`, without its `ts=` pair.
fn written(event: &Event, level: Level) -> String {
    after_ts(&captured(|| event.emit(level)))
}

/// One line, its `ts=` cut off.
fn after_ts(out: &str) -> String {
    let line = out.strip_suffix('\n').expect("one line ending in \\n");
    assert!(!line.contains('\n'), "more than one line: {out:?}");
    let (ts, rest) = line.split_once(' ').expect("pairs after ts");
    assert!(ts.starts_with("ts="), "{line}");
    rest.to_owned()
}

fn s(text: &str) -> String {
    text.to_owned()
}

/// One event of each shape, with values that need quoting where a value may.
fn samples() -> Vec<Event> {
    vec![
        Event::Start {
            version: s("0.9.0"),
            app: s("shop"),
            process: s("web"),
            schedule: s("07:00=3; 22:00=2"),
            tz: s("Europe/Berlin"),
            max: 6,
            check_url: s("https://shop.example/health"),
            interval: s("3m"),
            timeout: s("10s"),
            slow: s("5s"),
            fast: s("off"),
            scale_out_after: 1,
            scale_in_after: s("3"),
            dry_run: false,
            next_edge: s("2026-12-01T07:00:00+00:00"),
            next_quantity: Some(3),
            shard: 1,
            traffic: true,
            concurrency: None,
            utilization: 0.7,
            error_rate: 0.05,
            queue: None,
            queue_latency: None,
        },
        Event::Start {
            version: s("0.9.0"),
            app: s("shop"),
            process: s("worker"),
            schedule: s("00:00=1"),
            tz: s("UTC"),
            max: 20,
            check_url: s("off"),
            interval: s("3m"),
            timeout: s("10s"),
            slow: s("5s"),
            fast: s("off"),
            scale_out_after: 1,
            scale_in_after: s("3"),
            dry_run: false,
            next_edge: s("2026-12-02T00:00:00+00:00"),
            next_quantity: Some(1),
            shard: 1,
            traffic: false,
            concurrency: Some(10),
            utilization: 0.7,
            error_rate: 0.05,
            queue: Some(s("sidekiq")),
            queue_latency: Some(s("30s")),
        },
        Event::StartIdle { shard: 2 },
        Event::Budget {
            apps: 2,
            targets: 3,
            calls_per_hour: 1200,
            reads_per_hour: 1200,
            budget: 2000,
            stretch: 1.25,
            shard: 0,
            shards: 1,
            message: None,
        },
        Event::BudgetRate {
            state: BudgetState::Halved,
            remaining: 420,
            reads_per_hour: 600,
            budget: 2000,
        },
        Event::Probe {
            app: s("shop"),
            process: s("web"),
            source: ProbeSource::Probe,
            status: None,
            latency_ms: 10000,
            outcome: Outcome::Down,
            error: s("timeout"),
            current: Some(2),
            floor: None,
            late_ms: Some(12),
            merged: Some(3),
        },
        Event::Probe {
            app: s("shop"),
            process: s("web"),
            source: ProbeSource::Traffic,
            status: Some(200),
            latency_ms: 404,
            outcome: Outcome::Fast,
            error: s(""),
            current: None,
            floor: Some(1),
            late_ms: None,
            merged: None,
        },
        Event::Scale {
            app: s("shop"),
            process: s("web"),
            from: 1,
            to: 3,
            reason: s("startup"),
            size: None,
            result: ScaleResult::Ok,
            status: None,
            message: None,
        },
        Event::Scale {
            app: s("shop"),
            process: s("worker"),
            from: 3,
            to: 1,
            reason: s("scale_in"),
            size: Some(s("standard-1x")),
            result: ScaleResult::Error,
            status: Some(s("")),
            message: Some(s("connection refused")),
        },
        Event::ScaleSkip {
            app: s("shop"),
            process: s("web"),
            reason: s("unhealthy"),
            current: 3,
            trigger: s("edge"),
        },
        Event::Hold {
            app: s("shop"),
            process: s("web"),
            reason: HoldReason::Manual,
            quantity: Some(8),
            until: s("2026-11-30T15:00:00Z"),
            release: None,
        },
        Event::Hold {
            app: s("shop"),
            process: s("web"),
            reason: HoldReason::Pause,
            quantity: None,
            until: s("forever"),
            release: None,
        },
        Event::Hold {
            app: s("shop"),
            process: s("web"),
            reason: HoldReason::Deploy,
            quantity: Some(2),
            until: s("2026-11-30T15:03:00Z"),
            release: Some(42),
        },
        Event::HoldEnd {
            app: s("shop"),
            process: s("web"),
            reason: HoldReason::Manual,
            quantity: Some(8),
            why: s("expired"),
        },
        Event::HoldEnd {
            app: s("shop"),
            process: s("web"),
            reason: HoldReason::Pause,
            quantity: None,
            why: s("expired"),
        },
        Event::TargetDisabled {
            app: s("shop"),
            process: s("wrker"),
            status: s("404"),
            message: s("Couldn't find that process type (wrker)."),
        },
        Event::ApiError {
            app: s("shop"),
            method: s("PATCH"),
            path: s("/apps/shop/formation/web"),
            status: Some(503),
            id: s("unavailable"),
            attempt: 4,
            request_id: s("b1c2"),
            message: s("Service \"unavailable\""),
        },
        Event::ApiError {
            app: s(""),
            method: s("GET"),
            path: s("/account"),
            status: None,
            id: s("connect"),
            attempt: 1,
            request_id: s(""),
            message: s("connection refused"),
        },
        Event::RateLimit { remaining: 499 },
        Event::Notify {
            channel: s("webhook"),
            kind: Some(s("scale_out")),
            result: NotifyResult::Ok,
            attempt: Some(1),
            message: None,
        },
        Event::Notify {
            channel: s("sms"),
            kind: Some(s("down_at_max")),
            result: NotifyResult::Error,
            attempt: Some(2),
            message: Some(s("HTTP 401: bad credentials")),
        },
        Event::Notify {
            channel: s("all"),
            kind: None,
            result: NotifyResult::Dropped,
            attempt: None,
            message: Some(s("the alert queue is full")),
        },
        Event::Notify {
            channel: s("all"),
            kind: Some(s("scale")),
            result: NotifyResult::Throttled,
            attempt: None,
            message: None,
        },
        Event::Shutdown {
            signal: s("SIGTERM"),
            clean: true,
            took_ms: 12,
            api_calls: 40,
        },
        Event::Traffic {
            app: s("shop"),
            process: s("web"),
            minute: Utc.with_ymd_and_hms(2026, 11, 30, 14, 3, 0).unwrap(),
            requests: 600,
            p50_ms: Some(404),
            p95_ms: Some(410),
            p99_ms: None,
            errors: 2,
            h10: 0,
            h12: 1,
            h13: 0,
            busy: 4.25,
            dynos: 2,
            s2xx: 598,
            s3xx: 0,
            s4xx: 0,
            s5xx: 1,
        },
        Event::Queue {
            app: s("shop"),
            process: s("worker"),
            minute: "2026-12-01T10:00:00Z".parse().unwrap(),
            depth: 600,
            latency_ms: 45_000,
            busy: Some(20),
            done: Some(240),
            dynos: 2,
            concurrency: 10,
        },
        Event::Queue {
            app: s("shop"),
            process: s("worker"),
            minute: "2026-12-01T10:00:00Z".parse().unwrap(),
            depth: 0,
            latency_ms: 0,
            busy: None,
            done: None,
            dynos: 0,
            concurrency: 5,
        },
        Event::QueueSource {
            app: s("shop"),
            process: s("worker"),
            state: QueueState::Lost,
            library: s("sidekiq"),
            url: s("rediss://h:***@ec2-1.compute-1.amazonaws.com:6380"),
            reason: Some(s("no answer within 5s")),
            message: Some(s(
                "the job queue cannot be read: nothing is scaled in on missing data",
            )),
        },
        Event::QueueSource {
            app: s("shop"),
            process: s("worker"),
            state: QueueState::Ok,
            library: s("sidekiq"),
            url: s("redis://127.0.0.1:6379"),
            reason: None,
            message: Some(s("the job queue can be read again")),
        },
        Event::Drain {
            app: s("shop"),
            process: s("worker"),
            state: DrainState::Started,
            from: 4,
            to: 2,
            busy: None,
            waited_ms: None,
            message: Some(s(
                "quieting the workers on worker.3 and up before the scale-in",
            )),
        },
        Event::Drain {
            app: s("shop"),
            process: s("worker"),
            state: DrainState::Timeout,
            from: 4,
            to: 2,
            busy: Some(3),
            waited_ms: Some(600_000),
            message: Some(s(
                "scaling in with jobs still running after AUTOSCALE_DRAIN_TIMEOUT",
            )),
        },
        Event::TrafficStream {
            app: s("shop"),
            state: StreamState::Connected,
            reason: None,
            status: None,
            lines: None,
            router: None,
            garbage: None,
            late: None,
            message: None,
        },
        Event::TrafficStream {
            app: s("shop"),
            state: StreamState::Lost,
            reason: Some(s("ended")),
            status: None,
            lines: Some(100),
            router: Some(90),
            garbage: Some(1),
            late: Some(0),
            message: Some(s("the router log stream ended; opening a new session")),
        },
        Event::TrafficStream {
            app: s("shop"),
            state: StreamState::Off,
            reason: Some(s("refused")),
            status: Some(422),
            lines: None,
            router: None,
            garbage: None,
            late: None,
            message: Some(s("no log sessions")),
        },
        Event::HolidaysFeed {
            state: s("failed"),
            url: s("https://calendar.example/x.ics?key=REDACTED"),
            holidays: 0,
            reason: Some(s("HTTP 500")),
            message: Some(s("the feed could not be read")),
        },
        Event::HolidaysFeed {
            state: s("loaded"),
            url: s("https://calendar.example/x.ics"),
            holidays: 12,
            reason: None,
            message: None,
        },
        history(HistoryState::Ok, |h| {
            h.dropped = Some(0);
            h.store = Some(s("sqlite://autoscale-history.sqlite"));
            h.schema_version = Some(1);
            h.retention_days = Some(35);
        }),
        history(HistoryState::Lost, |h| {
            h.reason = Some(s("connect"));
            h.dropped = Some(7);
            h.store = Some(s("postgres://u:***@db/x"));
            h.message = Some(s("connection refused"));
        }),
        history(HistoryState::Refused, |h| {
            h.target_id = Some(-3);
            h.stored_app = Some(s("other"));
            h.stored_process = Some(s("web"));
            h.message = Some(s("a target's id is taken"));
        }),
        history(HistoryState::Closed, |h| {
            h.written = Some(1000);
            h.dropped = Some(0);
            h.invalid = Some(1);
            h.clean = Some(true);
        }),
        history(HistoryState::Off, |_| {}),
        Event::HistoryBatch { rows: 12, ms: 3 },
        Event::Fatal {
            status: Some(401),
            hint: Some(s("check HEROKU_API_KEY")),
            message: s("Invalid credentials provided."),
        },
        Event::Fatal {
            status: None,
            hint: None,
            message: s("task panicked"),
        },
        Event::ChecksOff {
            app: s("shop"),
            process: s("worker"),
            reason: s("off"),
            message: s("AUTOSCALE_CHECK_URL=off"),
        },
        Event::ConfigWarning {
            app: None,
            process: None,
            message: s("unknown variable AUTOSCALE_SCHEDUL; did you mean AUTOSCALE_SCHEDULE?"),
        },
        Event::ConfigWarning {
            app: Some(s("shop")),
            process: Some(s("web")),
            message: s("max equals the schedule's largest quantity"),
        },
        Event::SchedulerError {
            message: s("job not added"),
        },
        Event::ScheduleDone,
    ]
}

fn history(state: HistoryState, set: impl FnOnce(&mut History)) -> Event {
    let mut history = History::new(state);
    set(&mut history);
    Event::History(history)
}

#[test]
fn every_event_reads_back_what_it_writes() {
    for event in samples() {
        let out = captured(|| event.emit(Level::INFO));
        let line = out.trim_end();
        assert_eq!(Event::parse(line).as_ref(), Some(&event), "{line}");
        let parsed = Line::parse(line).unwrap();
        assert_eq!(parsed.event(), Some(event.name()), "{line}");
        assert_eq!(parsed.get("level"), Some("info"));
        assert_eq!(parsed.get("message"), event.message().as_deref(), "{line}");
        // The pairs are the line's, in order, between `event` and `message`.
        let keys: Vec<&str> = parsed.pairs().iter().map(|(k, _)| k.as_str()).collect();
        let mut expected = vec!["ts", "level", "event"];
        expected.extend(event.pairs().iter().map(|(k, _)| *k));
        if event.message().is_some() {
            expected.push("message");
        }
        assert_eq!(keys, expected, "{line}");
    }
}

#[test]
fn levels_are_the_callers() {
    let event = Event::RateLimit { remaining: 1 };
    for (level, name) in [
        (Level::ERROR, "error"),
        (Level::WARN, "warn"),
        (Level::INFO, "info"),
        (Level::DEBUG, "debug"),
        (Level::TRACE, "trace"),
    ] {
        assert!(written(&event, level).starts_with(&format!("level={name} event=rate_limit ")));
    }
}

#[test]
fn filtered_out_below_the_level() {
    let log = crate::logfmt::Captured::default();
    {
        let _guard = log.install("info");
        Event::HistoryBatch { rows: 1, ms: 1 }.emit(Level::DEBUG);
        Event::RateLimit { remaining: 2 }.emit(Level::WARN);
    }
    let text = log.text();
    assert!(!text.contains("history_batch"), "{text}");
    assert_eq!(log.events("rate_limit").len(), 1, "{text}");
}

#[test]
fn names_are_the_variants_and_known() {
    let names: BTreeSet<&str> = samples().iter().map(Event::name).collect();
    let listed: BTreeSet<&str> = NAMES.into_iter().collect();
    assert_eq!(names, listed);
    assert_eq!(listed.len(), NAMES.len(), "a name listed twice");
}

/// The "Logs" table (docs/logs.md, linked from the README) promises these names; `history_batch` (debug) is not promised.
#[test]
fn names_are_the_readmes() {
    let readme = include_str!("../../docs/logs.md");
    let table = readme
        .split("| event | fields |")
        .nth(1)
        .expect("the README's Logs table");
    let mut promised = BTreeSet::new();
    for row in table.lines().skip(2).take_while(|l| l.starts_with('|')) {
        let mut cells = row.split('|').skip(1);
        let (first, second) = (cells.next().unwrap().trim(), cells.next().unwrap());
        if first == "others" {
            // `fatal (startup refused: status, ...), checks_off (app, ...), config_warning`
            let mut depth = 0;
            let mut top = String::new();
            for c in second.chars() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    c if depth == 0 => top.push(c),
                    _ => {}
                }
            }
            promised.extend(top.split(',').map(|n| n.trim().to_owned()));
        } else {
            promised.extend(first.split(',').map(|n| n.trim().to_owned()));
        }
    }
    let ours: BTreeSet<String> = NAMES
        .iter()
        .filter(|n| **n != "history_batch")
        .map(|n| n.to_string())
        .collect();
    assert_eq!(promised, ours);
}

#[test]
fn contract_names_are_there() {
    // contract.md, "Logs" and the sections after it.
    for name in [
        "start",
        "probe",
        "scale",
        "scale_skip",
        "api_error",
        "shutdown",
        "notify",
        "budget",
        "hold",
        "hold_end",
        "traffic",
        "traffic_stream",
        "history",
    ] {
        assert!(NAMES.contains(&name), "{name}");
    }
}

#[test]
fn other_lines_are_not_events() {
    for line in [
        "",
        "hello",
        "ts=2026-11-30T14:03:00.000Z level=info event=log target=hyper message=x",
        "ts=2026-11-30T14:03:00.000Z level=info event=unknown a=1",
        "ts=2026-11-30T14:03:00.000Z level=info event=scale app=shop process=web from=1",
        "ts=2026-11-30T14:03:00.000Z level=info event=scale app=shop process=web from=x to=3 reason=floor result=ok",
        "ts=2026-11-30T14:03:00.000Z level=info event=scale app=shop process=web from=1 to=3 reason=floor result=maybe",
    ] {
        assert_eq!(Event::parse(line), None, "{line}");
    }
}

#[test]
fn newer_fields_are_ignored() {
    let line = "ts=2026-11-30T14:03:00.000Z level=info event=scale app=shop process=web from=1 to=3 reason=floor result=ok generation=fir";
    assert!(matches!(
        Event::parse(line),
        Some(Event::Scale { from: 1, to: 3, .. })
    ));
}

#[test]
fn event_line_reads_events_and_macros_alike() {
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::{Context, SubscriberExt};
    use tracing_subscriber::Layer;

    struct Keep(Arc<Mutex<Vec<Line>>>);
    impl<S: tracing::Subscriber> Layer<S> for Keep {
        fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
            if let Some(line) = crate::logfmt::event_line(event) {
                self.0.lock().unwrap().push(line);
            }
        }
    }
    let kept = Arc::new(Mutex::new(Vec::new()));
    let subscriber = tracing_subscriber::registry().with(Keep(kept.clone()));
    let samples = samples();
    let scale = samples
        .iter()
        .find(|e| matches!(e, Event::Scale { .. }))
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        scale.emit(Level::INFO);
        tracing::info!(
            event = "scale",
            app = "shop",
            process = "web",
            from = 1u32,
            to = 3u32,
            reason = "startup",
            result = "ok"
        );
        tracing::info!(target: "hyper", "not ours");
    });
    let kept = kept.lock().unwrap();
    assert_eq!(kept.len(), 2);
    for line in kept.iter() {
        assert_eq!(Event::from_line(line).as_ref(), Some(scale));
    }
}

/// Each variant writes exactly what the tracing macro at its site wrote before (the macros are
/// copied from the sites).
mod same_as_the_macros {
    use super::*;

    fn same(event: Event, level: Level, macro_line: String) {
        assert_eq!(written(&event, level), after_ts(&macro_line));
    }

    #[test]
    fn heroku() {
        let (app, method, path, status, id, message, attempt, request_id) = (
            "shop",
            "PATCH",
            "/apps/shop/formation/web",
            "503".to_owned(),
            "unavailable",
            "Service \"down\"",
            4u32,
            "b1c2",
        );
        same(
            Event::ApiError {
                app: s(app),
                method: s(method),
                path: s(path),
                status: Some(503),
                id: s(id),
                attempt,
                request_id: s(request_id),
                message: s(message),
            },
            Level::ERROR,
            captured(
                || tracing::error!(event = "api_error", app, method = %method, path = %path, status = %status, id = %id, message = %message, attempt, request_id = %request_id),
            ),
        );
        let remaining = 420u64;
        same(
            Event::RateLimit { remaining },
            Level::WARN,
            captured(|| {
                tracing::warn!(
                    event = "rate_limit",
                    remaining,
                    "few Heroku API requests left this hour"
                )
            }),
        );
    }

    #[test]
    fn budget() {
        for now in [true, false] {
            let (remaining, reads, per_hour) = (400u64, 600.4f64, 2000u64);
            same(
                Event::BudgetRate {
                    state: if now {
                        BudgetState::Halved
                    } else {
                        BudgetState::Normal
                    },
                    remaining,
                    reads_per_hour: reads.round() as u64,
                    budget: per_hour,
                },
                Level::WARN,
                captured(|| {
                    tracing::warn!(
                        event = "budget",
                        state = if now { "halved" } else { "normal" },
                        remaining,
                        reads_per_hour = reads.round() as u64,
                        budget = per_hour,
                        "Heroku's rate limit is {}: formation reads {}",
                        if now { "low" } else { "back" },
                        if now { "halved" } else { "as planned" }
                    )
                }),
            );
        }
        let (apps, targets, stretch) = (vec![1, 2], vec![1, 2, 3], 1.256f64);
        same(
            Event::Budget {
                apps: 2,
                targets: 3,
                calls_per_hour: 1200,
                reads_per_hour: 1100,
                budget: 2000,
                stretch,
                shard: 0,
                shards: 1,
                message: None,
            },
            Level::INFO,
            captured(|| {
                tracing::info!(
                    event = "budget",
                    apps = apps.len(),
                    targets = targets.len(),
                    calls_per_hour = 1200.2f64.round() as u64,
                    reads_per_hour = 1100.0f64.round() as u64,
                    budget = 2000u32,
                    stretch = format!("{:.2}", stretch),
                    shard = 0u32,
                    shards = 1u32,
                )
            }),
        );
    }

    #[test]
    fn notify() {
        let (channel, kind, attempt, last) = ("webhook", "scale_out", 2u32, s("HTTP 500"));
        same(
            Event::Notify {
                channel: s(channel),
                kind: Some(s(kind)),
                result: NotifyResult::Ok,
                attempt: Some(attempt),
                message: None,
            },
            Level::INFO,
            captured(|| {
                tracing::info!(
                    event = "notify",
                    channel = channel,
                    kind = kind,
                    result = "ok",
                    attempt
                )
            }),
        );
        same(
            Event::Notify {
                channel: s(channel),
                kind: Some(s(kind)),
                result: NotifyResult::Error,
                attempt: Some(3),
                message: Some(last.clone()),
            },
            Level::ERROR,
            captured(
                || tracing::error!(event = "notify", channel = channel, kind = kind, result = "error", attempt = 3u32, message = %last),
            ),
        );
        same(
            Event::Notify {
                channel: s("all"),
                kind: None,
                result: NotifyResult::Dropped,
                attempt: None,
                message: Some(s("the alert queue is full")),
            },
            Level::WARN,
            captured(|| {
                tracing::warn!(
                    event = "notify",
                    channel = "all",
                    result = "dropped",
                    "the alert queue is full"
                )
            }),
        );
        same(
            Event::Notify {
                channel: s("all"),
                kind: Some(s(kind)),
                result: NotifyResult::Throttled,
                attempt: None,
                message: None,
            },
            Level::DEBUG,
            captured(|| {
                tracing::debug!(
                    event = "notify",
                    channel = "all",
                    kind = kind,
                    result = "throttled"
                )
            }),
        );
    }

    #[test]
    fn history() {
        let (url, schema_version, retention_days) = ("sqlite://h.sqlite", 1i64, 35u32);
        same(
            super::history(HistoryState::Ok, |h| {
                h.dropped = Some(0);
                h.store = Some(s(url));
                h.schema_version = Some(schema_version);
                h.retention_days = Some(retention_days);
            }),
            Level::INFO,
            captured(|| {
                tracing::info!(
                    event = "history",
                    state = "ok",
                    dropped = 0,
                    store = %url,
                    schema_version,
                    retention_days = retention_days,
                )
            }),
        );
        let (kind, message) = ("connect", s("connection refused"));
        let lost = |dropped_n: u64| {
            super::history(HistoryState::Lost, |h| {
                h.reason = Some(s(kind));
                h.dropped = Some(dropped_n);
                h.store = Some(s(url));
                h.message = Some(message.clone());
            })
        };
        same(
            lost(0),
            Level::WARN,
            captured(|| {
                tracing::warn!(
                    event = "history",
                    state = "lost",
                    reason = kind,
                    dropped = 0,
                    store = %url,
                    message = %message,
                    "history is not kept until the database answers",
                )
            }),
        );
        let dropped = 5u64;
        same(
            lost(dropped),
            Level::WARN,
            captured(|| {
                tracing::warn!(
                    event = "history",
                    state = "lost",
                    reason = %kind,
                    dropped,
                    store = %url,
                    message = %message,
                )
            }),
        );
        same(
            super::history(HistoryState::Ok, |h| {
                h.dropped = Some(5);
                h.store = Some(s(url));
            }),
            Level::INFO,
            captured(|| tracing::info!(event = "history", state = "ok", dropped, store = %url)),
        );
        let (id, app, process) = (7i64, s("other"), s("web"));
        same(
            super::history(HistoryState::Refused, |h| {
                h.target_id = Some(id);
                h.stored_app = Some(app.clone());
                h.stored_process = Some(process.clone());
                h.message = Some(s(
                    "a target's id is taken by another target: its rows are not kept",
                ));
            }),
            Level::ERROR,
            captured(|| {
                tracing::error!(
                    event = "history",
                    state = "refused",
                    target_id = id,
                    stored_app = %app,
                    stored_process = %process,
                    "a target's id is taken by another target: its rows are not kept"
                )
            }),
        );
        let (rows, ms) = (12u64, 3u64);
        same(
            Event::HistoryBatch { rows, ms },
            Level::DEBUG,
            captured(|| tracing::debug!(event = "history_batch", rows = rows, ms = ms)),
        );
        // daemon.rs
        let w = "no database on this dyno";
        same(
            super::history(HistoryState::Off, |h| {
                h.message = Some(s(w));
            }),
            Level::WARN,
            captured(|| tracing::warn!(event = "history", state = "off", "{w}")),
        );
        same(
            super::history(HistoryState::Off, |_| {}),
            Level::INFO,
            captured(|| tracing::info!(event = "history", state = "off")),
        );
        same(
            super::history(HistoryState::Closed, |h| {
                h.written = Some(10);
                h.dropped = Some(1);
                h.invalid = Some(0);
                h.clean = Some(true);
            }),
            Level::INFO,
            captured(|| {
                tracing::info!(
                    event = "history",
                    state = "closed",
                    written = 10u64,
                    dropped = 1u64,
                    invalid = 0u64,
                    clean = true,
                )
            }),
        );
    }

    #[test]
    fn cli_and_checks() {
        let w = "unknown variable AUTOSCALE_SCHEDUL; did you mean AUTOSCALE_SCHEDULE?";
        same(
            Event::ConfigWarning {
                app: None,
                process: None,
                message: s(w),
            },
            Level::WARN,
            captured(|| tracing::warn!(event = "config_warning", "{w}")),
        );
        let (app, process) = (s("shop"), s("web"));
        same(
            Event::ConfigWarning {
                app: Some(app.clone()),
                process: Some(process.clone()),
                message: s(w),
            },
            Level::WARN,
            captured(
                || tracing::warn!(event = "config_warning", app = %app, process = %process, "{w}"),
            ),
        );
        let (reason, message) = ("no_web_url", s("the app has no web_url"));
        same(
            Event::ChecksOff {
                app: app.clone(),
                process: process.clone(),
                reason: s(reason),
                message: message.clone(),
            },
            Level::WARN,
            captured(|| {
                tracing::warn!(
                    event = "checks_off",
                    app = %app,
                    process = %process,
                    reason,
                    message = %message,
                    "checks are off; set AUTOSCALE_CHECK_URL (or check_url) to enable the fail-safe"
                )
            }),
        );
    }

    #[test]
    fn reconcile() {
        let (app, process) = (s("shop"), s("web"));
        let (from, to) = (1u32, 3u32);
        for result in ["ok", "dry_run", "paused", "cancelled"] {
            same(
                Event::Scale {
                    app: app.clone(),
                    process: process.clone(),
                    from,
                    to,
                    reason: s("down"),
                    size: None,
                    result: result.parse().unwrap(),
                    status: None,
                    message: None,
                },
                Level::INFO,
                captured(|| {
                    tracing::info!(
                        event = "scale",
                        app = %app,
                        process = %process,
                        from,
                        to,
                        reason = "down",
                        result
                    )
                }),
            );
        }
        let (status, message) = (s(""), "connection reset");
        same(
            Event::Scale {
                app: app.clone(),
                process: process.clone(),
                from,
                to,
                reason: s("floor"),
                size: None,
                result: ScaleResult::Error,
                status: Some(status.clone()),
                message: Some(s(message)),
            },
            Level::ERROR,
            captured(
                || tracing::error!(event = "scale", app = %app, process = %process, from, to, reason = "floor", result = "error", status = %status, message = %message),
            ),
        );
        let current = 3u32;
        same(
            Event::ScaleSkip {
                app: app.clone(),
                process: process.clone(),
                reason: s("hold"),
                current,
                trigger: s("round"),
            },
            Level::INFO,
            captured(|| {
                tracing::info!(
                    event = "scale_skip",
                    app = %app,
                    process = %process,
                    reason = "hold",
                    current,
                    trigger = "round"
                )
            }),
        );
        // log_probe
        let source = "probe";
        let (status, current, floor) = (s("500"), s("2"), s(""));
        let (latency_ms, outcome, error) = (80u64, "down", "HTTP 500");
        let (late_ms, merged) = (Some(12u64), None::<u64>);
        same(
            Event::Probe {
                app: app.clone(),
                process: process.clone(),
                source: ProbeSource::Probe,
                status: Some(500),
                latency_ms,
                outcome: Outcome::Down,
                error: s(error),
                current: Some(2),
                floor: None,
                late_ms,
                merged,
            },
            Level::WARN,
            captured(
                || tracing::warn!(event = "probe", app = %app, process = %process, source, status = %status, latency_ms, outcome, error, current = %current, floor = %floor, late_ms, merged),
            ),
        );
        let (quantity, until) = (8u32, "2026-11-30T15:00:00Z");
        same(
            Event::Hold {
                app: app.clone(),
                process: process.clone(),
                reason: HoldReason::Manual,
                quantity: Some(quantity),
                until: s(until),
                release: None,
            },
            Level::INFO,
            captured(|| {
                tracing::info!(
                    event = "hold",
                    app = %app,
                    process = %process,
                    reason = "manual",
                    quantity = quantity,
                    until = %until,
                    "a quantity set by someone else is kept"
                )
            }),
        );
        same(
            Event::Hold {
                app: app.clone(),
                process: process.clone(),
                reason: HoldReason::Pause,
                quantity: None,
                until: s("forever"),
                release: None,
            },
            Level::INFO,
            captured(|| {
                tracing::info!(
                    event = "hold",
                    app = %app,
                    process = %process,
                    reason = "pause",
                    until = %"forever",
                    "paused: every decision is logged (result=paused), nothing is sent"
                )
            }),
        );
        let version = 42u64;
        same(
            Event::Hold {
                app: app.clone(),
                process: process.clone(),
                reason: HoldReason::Deploy,
                quantity: Some(0),
                until: s(until),
                release: Some(version),
            },
            Level::INFO,
            captured(|| {
                tracing::info!(
                    event = "hold",
                    app = %app,
                    process = %process,
                    reason = "deploy",
                    quantity = 0u32,
                    until = %until,
                    release = version,
                    "unhealthy checks right after a release do not scale out"
                )
            }),
        );
        same(
            Event::HoldEnd {
                app: app.clone(),
                process: process.clone(),
                reason: HoldReason::Pause,
                quantity: None,
                why: s("expired"),
            },
            Level::INFO,
            captured(|| {
                tracing::info!(
                    event = "hold_end",
                    app = %app,
                    process = %process,
                    reason = "pause",
                    why = "expired"
                )
            }),
        );
        let why = "changed";
        same(
            Event::HoldEnd {
                app: app.clone(),
                process: process.clone(),
                reason: HoldReason::Manual,
                quantity: Some(quantity),
                why: s(why),
            },
            Level::INFO,
            captured(|| {
                tracing::info!(
                    event = "hold_end",
                    app = %app,
                    process = %process,
                    reason = "manual",
                    quantity = quantity,
                    why
                )
            }),
        );
        let message = "Couldn't find that process type.";
        same(
            Event::TargetDisabled {
                app: app.clone(),
                process: process.clone(),
                status: s("404"),
                message: s(message),
            },
            Level::ERROR,
            captured(|| {
                tracing::error!(
                    event = "target_disabled",
                    app = %app,
                    process = %process,
                    status = Some(404).map(|s: u16| s.to_string()).unwrap_or_default(),
                    message,
                    "this target is not scaled any more; the others go on (heroku ps -a {app} lists the process types)"
                )
            }),
        );
    }

    #[test]
    fn daemon() {
        same(
            Event::StartIdle { shard: 2 },
            Level::WARN,
            captured(|| {
                tracing::warn!(
                    event = "start",
                    shard = 2u32,
                    "no app of the configuration belongs to this shard: nothing to do"
                )
            }),
        );
        let e = "boom";
        same(
            Event::Fatal {
                status: None,
                hint: None,
                message: s(e),
            },
            Level::ERROR,
            captured(
                || tracing::error!(event = "fatal", message = %e, "an app's startup panicked"),
            ),
        );
        same(
            Event::Fatal {
                status: Some(404),
                hint: Some(s("check the apps and process types (heroku ps -a APP)")),
                message: s("every target was refused"),
            },
            Level::ERROR,
            captured(|| {
                tracing::error!(
                    event = "fatal",
                    status = 404,
                    message = "every target was refused",
                    hint = "check the apps and process types (heroku ps -a APP)"
                )
            }),
        );
        same(
            Event::SchedulerError { message: s(e) },
            Level::WARN,
            captured(|| tracing::warn!(event = "scheduler_error", message = %e)),
        );
        same(
            Event::ScheduleDone,
            Level::INFO,
            captured(|| {
                tracing::info!(
                    event = "schedule_done",
                    "no entry of this app's schedules fires again"
                )
            }),
        );
        let (signal, finished) = ("SIGTERM", true);
        same(
            Event::Shutdown {
                signal: s(signal),
                clean: finished,
                took_ms: 12,
                api_calls: 40,
            },
            Level::INFO,
            captured(|| {
                tracing::info!(
                    event = "shutdown",
                    signal,
                    clean = finished,
                    took_ms = 12u64,
                    api_calls = 40u64
                )
            }),
        );
        let (url, holidays, reason) = ("https://c.example/x.ics", 3usize, "HTTP 500");
        same(
            Event::HolidaysFeed {
                state: s("failed"),
                url: s(url),
                holidays: 3,
                reason: Some(s(reason)),
                message: Some(s(
                    "the feed could not be read; its last good list (if any) stays in use",
                )),
            },
            Level::WARN,
            captured(|| {
                tracing::warn!(
                    event = "holidays_feed",
                    state = "failed",
                    url = %url,
                    holidays,
                    reason = %reason,
                    "the feed could not be read; its last good list (if any) stays in use"
                )
            }),
        );
        same(
            Event::HolidaysFeed {
                state: s("loaded"),
                url: s(url),
                holidays: 3,
                reason: None,
                message: None,
            },
            Level::INFO,
            captured(|| {
                tracing::info!(
                    event = "holidays_feed",
                    state = "loaded",
                    url = %url,
                    holidays
                )
            }),
        );
        let start = match &samples()[0] {
            e @ Event::Start { .. } => e.clone(),
            _ => unreachable!(),
        };
        same(
            start,
            Level::INFO,
            captured(|| {
                tracing::info!(
                    event = "start",
                    version = "0.9.0",
                    app = %"shop",
                    process = %"web",
                    schedule = %"07:00=3; 22:00=2",
                    tz = %"Europe/Berlin",
                    max = 6u32,
                    check_url = %"https://shop.example/health",
                    interval = %humantime::format_duration(std::time::Duration::from_secs(180)),
                    timeout = %humantime::format_duration(std::time::Duration::from_secs(10)),
                    slow = %humantime::format_duration(std::time::Duration::from_secs(5)),
                    fast = %None::<std::time::Duration>.map(|f| humantime::format_duration(f).to_string()).unwrap_or_else(|| "off".into()),
                    scale_out_after = 1u32,
                    scale_in_after = Some(3u32).map(|n| n.to_string()).unwrap_or_else(|| "off".into()),
                    dry_run = false,
                    next_edge = %"2026-12-01T07:00:00+00:00",
                    next_quantity = %Some(3u32).map(|q| q.to_string()).unwrap_or_default(),
                    shard = 1u32,
                    traffic = "on",
                    concurrency = %None::<u32>.map(|c| c.to_string()).unwrap_or_default(),
                    utilization = 0.7f64,
                    error_rate = 0.05f64,
                )
            }),
        );
    }

    #[test]
    fn traffic_stream() {
        let app = s("shop");
        let samples = samples();
        let traffic = samples
            .iter()
            .find(|e| e.name() == "traffic")
            .unwrap()
            .clone();
        let Event::Traffic {
            minute,
            requests,
            errors,
            busy,
            ..
        } = traffic.clone()
        else {
            unreachable!()
        };
        let q = |x: Option<u32>| x.map(|v| v.to_string()).unwrap_or_default();
        same(
            traffic,
            Level::INFO,
            captured(|| {
                tracing::info!(
                    event = "traffic",
                    app = %app,
                    process = %"web",
                    minute = %minute.to_rfc3339_opts(SecondsFormat::Secs, true),
                    requests = requests,
                    p50_ms = %q(Some(404)),
                    p95_ms = %q(Some(410)),
                    p99_ms = %q(None),
                    errors = errors,
                    h10 = 0u64,
                    h12 = 1u64,
                    h13 = 0u64,
                    busy = %format!("{:.2}", busy),
                    dynos = 2u32,
                    s2xx = 598u64,
                    s3xx = 0u64,
                    s4xx = 0u64,
                    s5xx = 1u64,
                )
            }),
        );
        let (lines, router, garbage, late) = (100u64, 90u64, 1u64, 0u64);
        same(
            Event::TrafficStream {
                app: app.clone(),
                state: StreamState::Lost,
                reason: Some(s("ended")),
                status: None,
                lines: Some(lines),
                router: Some(router),
                garbage: Some(garbage),
                late: Some(late),
                message: Some(s("the router log stream ended; opening a new session")),
            },
            Level::WARN,
            captured(|| {
                tracing::warn!(
                    event = "traffic_stream",
                    app = %app,
                    state = "lost",
                    reason = "ended",
                    lines = lines,
                    router = router,
                    garbage = garbage,
                    late = late,
                    "the router log stream ended; opening a new session"
                )
            }),
        );
        let message = "no log sessions on Fir";
        same(
            Event::TrafficStream {
                app: app.clone(),
                state: StreamState::Off,
                reason: Some(s("refused")),
                status: Some(422),
                lines: None,
                router: None,
                garbage: None,
                late: None,
                message: Some(s(message)),
            },
            Level::WARN,
            captured(|| {
                tracing::warn!(
                    event = "traffic_stream",
                    app = %app,
                    state = "off",
                    reason = "refused",
                    status = 422u16,
                    message = %message,
                    "no log session for this app"
                )
            }),
        );
        same(
            Event::TrafficStream {
                app: app.clone(),
                state: StreamState::Connected,
                reason: None,
                status: None,
                lines: None,
                router: None,
                garbage: None,
                late: None,
                message: None,
            },
            Level::INFO,
            captured(|| tracing::info!(event = "traffic_stream", app = %app, state = "connected")),
        );
    }
}
