//! An event read back from its line (as printed, or after `heroku logs` cut its prefix).

use std::str::FromStr;

use super::*;
use crate::logfmt::Line;

/// Reads fields of a parsed line.
struct Read<'a>(&'a Line);

impl Read<'_> {
    fn s(&self, key: &str) -> Option<String> {
        self.0.get(key).map(str::to_owned)
    }

    fn n<T: FromStr>(&self, key: &str) -> Option<T> {
        self.0.get(key)?.parse().ok()
    }

    /// An absent field is `Some(None)`; one that does not parse makes the line unreadable.
    fn opt<T: FromStr>(&self, key: &str) -> Option<Option<T>> {
        match self.0.get(key) {
            None => Some(None),
            Some(v) => v.parse().ok().map(Some),
        }
    }

    /// A blank field is `Some(None)`; an absent one makes the line unreadable.
    fn blank<T: FromStr>(&self, key: &str) -> Option<Option<T>> {
        match self.0.get(key)? {
            "" => Some(None),
            v => v.parse().ok().map(Some),
        }
    }

    fn on_off(&self, key: &str) -> Option<bool> {
        match self.0.get(key)? {
            "on" => Some(true),
            "off" => Some(false),
            _ => None,
        }
    }
}

impl Event {
    /// Reads an event back from a whole log line (`ts=… level=… event=…`, as printed, or after
    /// the prefix `heroku logs` adds has been cut); `None` for another line, an unknown name or
    /// a line without the event's fields.
    pub fn parse(line: &str) -> Option<Event> {
        Event::from_line(&Line::parse(line)?)
    }

    /// [`Event::parse`] of an already parsed line. Extra fields are ignored (lines of a newer
    /// version); a missing field, or a value that does not read, makes it `None`.
    pub fn from_line(line: &Line) -> Option<Event> {
        let r = Read(line);
        let message = || r.s("message");
        Some(match line.event()? {
            names::START if line.get("app").is_none() => Event::StartIdle {
                shard: r.n("shard")?,
            },
            names::START => Event::Start {
                version: r.s("version")?,
                app: r.s("app")?,
                process: r.s("process")?,
                schedule: r.s("schedule")?,
                tz: r.s("tz")?,
                max: r.n("max")?,
                check_url: r.s("check_url")?,
                interval: r.s("interval")?,
                timeout: r.s("timeout")?,
                slow: r.s("slow")?,
                fast: r.s("fast")?,
                scale_out_after: r.n("scale_out_after")?,
                scale_in_after: r.s("scale_in_after")?,
                dry_run: r.n("dry_run")?,
                next_edge: r.s("next_edge")?,
                next_quantity: r.blank("next_quantity")?,
                shard: r.n("shard")?,
                traffic: r.on_off("traffic")?,
                concurrency: r.blank("concurrency")?,
                utilization: r.n("utilization")?,
                error_rate: r.n("error_rate")?,
                queue: r.opt("queue")?,
                queue_latency: r.opt("queue_latency")?,
            },
            names::BUDGET if line.get("state").is_some() => Event::BudgetRate {
                state: r.n("state")?,
                remaining: r.n("remaining")?,
                reads_per_hour: r.n("reads_per_hour")?,
                budget: r.n("budget")?,
            },
            names::BUDGET => Event::Budget {
                apps: r.n("apps")?,
                targets: r.n("targets")?,
                calls_per_hour: r.n("calls_per_hour")?,
                reads_per_hour: r.n("reads_per_hour")?,
                budget: r.n("budget")?,
                stretch: r.n("stretch")?,
                shard: r.n("shard")?,
                shards: r.n("shards")?,
                message: line.get("message").map(str::to_owned),
            },
            names::PROBE => Event::Probe {
                app: r.s("app")?,
                process: r.s("process")?,
                source: r.n("source")?,
                status: r.blank("status")?,
                latency_ms: r.n("latency_ms")?,
                outcome: r.n("outcome")?,
                error: r.s("error")?,
                current: r.blank("current")?,
                floor: r.blank("floor")?,
                late_ms: r.opt("late_ms")?,
                merged: r.opt("merged")?,
            },
            names::SCALE => Event::Scale {
                app: r.s("app")?,
                process: r.s("process")?,
                from: r.n("from")?,
                to: r.n("to")?,
                reason: r.s("reason")?,
                size: r.s("size"),
                result: r.n("result")?,
                status: r.s("status"),
                message: message(),
            },
            names::SCALE_SKIP => Event::ScaleSkip {
                app: r.s("app")?,
                process: r.s("process")?,
                reason: r.s("reason")?,
                current: r.n("current")?,
                trigger: r.s("trigger")?,
            },
            names::HOLD => Event::Hold {
                app: r.s("app")?,
                process: r.s("process")?,
                reason: r.n("reason")?,
                quantity: r.opt("quantity")?,
                until: r.s("until")?,
                release: r.opt("release")?,
            },
            names::HOLD_END => Event::HoldEnd {
                app: r.s("app")?,
                process: r.s("process")?,
                reason: r.n("reason")?,
                quantity: r.opt("quantity")?,
                why: r.s("why")?,
            },
            names::TARGET_DISABLED => Event::TargetDisabled {
                app: r.s("app")?,
                process: r.s("process")?,
                status: r.s("status")?,
                message: message()?,
            },
            names::API_ERROR => Event::ApiError {
                app: r.s("app")?,
                method: r.s("method")?,
                path: r.s("path")?,
                status: r.blank("status")?,
                id: r.s("id")?,
                attempt: r.n("attempt")?,
                request_id: r.s("request_id")?,
                message: message()?,
            },
            names::RATE_LIMIT => Event::RateLimit {
                remaining: r.n("remaining")?,
            },
            names::NOTIFY => Event::Notify {
                channel: r.s("channel")?,
                kind: r.s("kind"),
                result: r.n("result")?,
                attempt: r.opt("attempt")?,
                message: message(),
            },
            names::SHUTDOWN => Event::Shutdown {
                signal: r.s("signal")?,
                clean: r.n("clean")?,
                took_ms: r.n("took_ms")?,
                api_calls: r.n("api_calls")?,
            },
            names::TRAFFIC => Event::Traffic {
                app: r.s("app")?,
                process: r.s("process")?,
                minute: DateTime::parse_from_rfc3339(line.get("minute")?)
                    .ok()?
                    .with_timezone(&Utc),
                requests: r.n("requests")?,
                p50_ms: r.blank("p50_ms")?,
                p95_ms: r.blank("p95_ms")?,
                p99_ms: r.blank("p99_ms")?,
                errors: r.n("errors")?,
                h10: r.n("h10")?,
                h12: r.n("h12")?,
                h13: r.n("h13")?,
                busy: r.n("busy")?,
                dynos: r.n("dynos")?,
                s2xx: r.n("s2xx")?,
                s3xx: r.n("s3xx")?,
                s4xx: r.n("s4xx")?,
                s5xx: r.n("s5xx")?,
            },
            names::TRAFFIC_STREAM => Event::TrafficStream {
                app: r.s("app")?,
                state: r.n("state")?,
                reason: r.s("reason"),
                status: r.opt("status")?,
                lines: r.opt("lines")?,
                router: r.opt("router")?,
                garbage: r.opt("garbage")?,
                late: r.opt("late")?,
                message: message(),
            },
            names::QUEUE => Event::Queue {
                app: r.s("app")?,
                process: r.s("process")?,
                minute: DateTime::parse_from_rfc3339(line.get("minute")?)
                    .ok()?
                    .with_timezone(&Utc),
                depth: r.n("depth")?,
                latency_ms: r.n("latency_ms")?,
                busy: r.blank("busy")?,
                done: r.blank("done")?,
                dynos: r.n("dynos")?,
                concurrency: r.n("concurrency")?,
            },
            names::QUEUE_SOURCE => Event::QueueSource {
                app: r.s("app")?,
                process: r.s("process")?,
                state: r.n("state")?,
                library: r.s("library")?,
                url: r.s("url")?,
                reason: r.s("reason"),
                message: message(),
            },
            names::DRAIN => Event::Drain {
                app: r.s("app")?,
                process: r.s("process")?,
                state: r.n("state")?,
                from: r.n("from")?,
                to: r.n("to")?,
                busy: r.opt("busy")?,
                waited_ms: r.opt("waited_ms")?,
                message: message(),
            },
            names::HOLIDAYS_FEED => Event::HolidaysFeed {
                state: r.s("state")?,
                url: r.s("url")?,
                holidays: r.n("holidays")?,
                reason: r.s("reason"),
                message: message(),
            },
            names::HISTORY => Event::History(History {
                state: r.n("state")?,
                reason: r.s("reason"),
                target_id: r.opt("target_id")?,
                stored_app: r.s("stored_app"),
                stored_process: r.s("stored_process"),
                written: r.opt("written")?,
                dropped: r.opt("dropped")?,
                invalid: r.opt("invalid")?,
                store: r.s("store"),
                schema_version: r.opt("schema_version")?,
                retention_days: r.opt("retention_days")?,
                clean: r.opt("clean")?,
                message: message(),
            }),
            names::HISTORY_BATCH => Event::HistoryBatch {
                rows: r.n("rows")?,
                ms: r.n("ms")?,
            },
            names::FATAL => Event::Fatal {
                status: r.opt("status")?,
                hint: r.s("hint"),
                message: message()?,
            },
            names::CHECKS_OFF => Event::ChecksOff {
                app: r.s("app")?,
                process: r.s("process")?,
                reason: r.s("reason")?,
                message: message()?,
            },
            names::CONFIG_WARNING => Event::ConfigWarning {
                app: r.s("app"),
                process: r.s("process"),
                message: message()?,
            },
            names::SCHEDULER_ERROR => Event::SchedulerError {
                message: message()?,
            },
            names::SCHEDULE_DONE => Event::ScheduleDone,
            _ => return None,
        })
    }
}
